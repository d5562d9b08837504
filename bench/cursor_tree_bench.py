"""Cursor move to tree, in a real terminal: a key sent through tmux until the tree shows the packet.

tapwatch runs in a detached tmux session of 120x40 on a capture file (the UI
benchmark's analyst traffic: TCP with payload both ways, DNS, pings). Each
press sends ``j`` with ``tmux send-keys`` and reads the screen with ``tmux
capture-pane`` until the tree's frame line names the next packet ("Frame N:");
the time from sending to the first screen that shows it is the latency.
Presses are spaced so each starts from a settled screen.

Reference, in the same run and the same way: a 20-line Python program in the
same tmux size that redraws one line with a counter on each key (what reading
a key and drawing takes through tmux and the polling here, with no work).
The figure is tapwatch's median and p90, and the median minus the reference's
(the part that is tapwatch's). Target: <= 30 ms at 120x40.
Run: ``python bench/cursor_tree_bench.py [packets] [presses]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZE = (120, 40)
SESSION = "tapwatch-cursor-bench"

#: the reference: raw mode, one line redrawn per key
ECHO = r"""
import os, sys, termios, tty
fd = sys.stdin.fileno()
old = termios.tcgetattr(fd)
tty.setraw(fd)
n = 0
sys.stdout.write("\x1b[2J\x1b[Hready\r\n"); sys.stdout.flush()
try:
    while True:
        k = os.read(fd, 16)
        if k == b"q":
            break
        n += k.count(b"j")
        sys.stdout.write(f"\x1b[HFrame {n + 1}: key {n}      \r\n"); sys.stdout.flush()
finally:
    termios.tcsetattr(fd, termios.TCSADRAIN, old)
"""


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-p", "-t", SESSION)


def _wait(text: str, timeout: float) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if text in _screen():
            return time.perf_counter() - start
    return None


def _press_and_time(expected: str, timeout: float = 5.0) -> float | None:
    start = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", SESSION, "j"], check=False)
    while time.perf_counter() - start < timeout:
        if expected in _screen():
            return time.perf_counter() - start
    return None


def _run(cmd: str, ready: str, presses: int, first: int) -> list[float]:
    _tmux("kill-session", "-t", SESSION)
    _tmux("new-session", "-d", "-s", SESSION, "-x", str(SIZE[0]), "-y", str(SIZE[1]), cmd)
    try:
        if _wait(ready, 60) is None:
            raise SystemExit(f"never saw {ready!r}:\n{_screen()}")
        time.sleep(1.0)  # the prefetch of the first rows settles
        out = []
        for i in range(presses):
            got = _press_and_time(f"Frame {first + i + 2}:")  # from packet 1 down
            if got is not None:
                out.append(got)
            time.sleep(0.3)
        return out
    finally:
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"], check=False)
        time.sleep(0.5)
        _tmux("kill-session", "-t", SESSION)


def run(packets: int, presses: int) -> dict[str, object]:
    from bench.ui_bench import _write_analyst_file

    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    tmp = tempfile.mkdtemp(prefix="tapwatch-cursor-")
    try:
        path = os.path.join(tmp, "analyst.pcap")
        _write_analyst_file(path, packets)
        echo = os.path.join(tmp, "echo.py")
        Path(echo).write_text(ECHO)
        ref = _run(f"{sys.executable} {echo}", "ready", presses, 0)
        tw = _run(f"{sys.executable} -m tapwatch -r {path}", "Frame 1:", presses, 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def ms(v: list[float], q: float) -> float:
        v = sorted(v)
        return v[min(len(v) - 1, int(q * len(v)))] * 1e3 if v else float("nan")

    med_tw, med_ref = statistics.median(tw) * 1e3, statistics.median(ref) * 1e3
    return {
        "packets": packets,
        "presses": presses,
        "seen": len(tw),
        "reference_seen": len(ref),
        "tapwatch_median_ms": med_tw,
        "tapwatch_p90_ms": ms(tw, 0.9),
        "reference_median_ms": med_ref,
        "reference_p90_ms": ms(ref, 0.9),
        "ratio": med_tw / med_ref if med_ref else None,
        "tapwatch_own_ms": med_tw - med_ref,
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    print(json.dumps(run(n, k), indent=1))
