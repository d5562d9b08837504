"""Opening a big file and the first follow, in a real terminal (tmux at 120x40), from process start.

* First rows: the time from starting ``tapwatch -r FILE`` in a new tmux window to
  the first screen that shows packet 1's row, for the 500k-packet analyst file
  (the UI benchmark's traffic: TCP with payload both ways, DNS, pings) and,
  as the reference in the same run, a 10-packet file of the same traffic.
  Target: the big file within 1.5x of the small one.
* First follow: ``f`` on packet 1 (a TCP SYN) of the 500k-packet file, pressed
  as soon as the first rows show (the file still loading), and again once it
  has loaded; the time from the key to the follow screen's header (the
  stream's packet count). Target <= 2 s. Reference, when tshark is installed
  and ``--tshark`` given: ``tshark -r FILE -qz follow,tcp,ascii,0`` on the same file.

Runs are interleaved; figures are medians. The screen is read with ``tmux
capture-pane`` in a loop, so each time includes one polling interval (a few ms).
Run: ``python bench/terminal_open_bench.py [--packets 500000] [--runs 3] [--file PATH] [--tshark]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZE = (120, 40)
SESSION = "tapwatch-open-bench"
ROW_1 = re.compile(r"│ +1 0\.000000 ")  # packet 1's row in the list (No. is as wide as the count)
FOLLOW_HEAD = "packets · client"  # the follow screen's header, once the stream is there


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-p", "-t", SESSION)


def _until(text: str | re.Pattern[str], timeout: float) -> float | None:
    """Seconds until ``text`` is on the screen (None: not within ``timeout``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        screen = _screen()
        if text.search(screen) if isinstance(text, re.Pattern) else text in screen:
            return time.perf_counter() - start
    return None


def _start(path: str) -> float:
    _tmux("kill-session", "-t", SESSION)
    t0 = time.perf_counter()
    _tmux(
        "new-session", "-d", "-s", SESSION, "-x", str(SIZE[0]), "-y", str(SIZE[1]),
        f"{sys.executable} -m tapwatch -r {path}",
    )  # fmt: skip
    return t0


def _stop() -> None:
    subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"], check=False)
    time.sleep(0.5)
    _tmux("kill-session", "-t", SESSION)


def first_rows(path: str) -> float:
    t0 = _start(path)  # from just before tmux starts the process
    try:
        if _until(ROW_1, 120) is None:
            raise SystemExit(f"no first row for {path}:\n{_screen()}")
        return time.perf_counter() - t0
    finally:
        _stop()


def first_follow(path: str, loaded: bool) -> float:
    _start(path)
    try:
        if _until(ROW_1, 120) is None:
            raise SystemExit(f"no first row:\n{_screen()}")
        if loaded:  # the status line says "loading" until the file is read
            start = time.perf_counter()
            while "loading" in _screen() and time.perf_counter() - start < 300:
                time.sleep(0.1)
            time.sleep(0.5)
        t = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "f"], check=False)
        if _until(FOLLOW_HEAD, 120) is None:
            raise SystemExit(f"the follow screen never showed its stream:\n{_screen()}")
        return time.perf_counter() - t
    finally:
        _stop()


def tshark_follow(path: str) -> float | None:
    tshark = shutil.which("tshark")
    if tshark is None:
        return None
    t = time.perf_counter()
    subprocess.run(
        [tshark, "-n", "-r", path, "-qz", "follow,tcp,ascii,0"],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - t


def run(packets: int, runs: int, big: str | None, with_tshark: bool) -> dict[str, object]:
    from bench.ui_bench import _write_analyst_file

    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    tmp = tempfile.mkdtemp(prefix="tapwatch-open-")
    try:
        small = os.path.join(tmp, "small.pcap")
        _write_analyst_file(small, 10)
        if big is None:
            big = os.path.join(tmp, "big.pcap")
            _write_analyst_file(big, packets)
        rows_small, rows_big, follow_early, follow_loaded = [], [], [], []
        for _ in range(runs):
            rows_small.append(first_rows(small))
            rows_big.append(first_rows(big))
            follow_early.append(first_follow(big, loaded=False))
            follow_loaded.append(first_follow(big, loaded=True))
        ref = tshark_follow(big) if with_tshark else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    out: dict[str, object] = {
        "packets": packets,
        "runs": runs,
        "first_rows_small_s": med(rows_small),
        "first_rows_big_s": med(rows_big),
        "first_rows_ratio": med(rows_big) / med(rows_small),
        "first_follow_while_loading_s": med(follow_early),
        "first_follow_loaded_s": med(follow_loaded),
        "all": {
            "rows_small": rows_small,
            "rows_big": rows_big,
            "follow_early": follow_early,
            "follow_loaded": follow_loaded,
        },
    }
    if ref is not None:
        out["tshark_follow_s"] = ref
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", help="an analyst file already made (bench.ui_bench)")
    ap.add_argument("--tshark", action="store_true")
    a = ap.parse_args()
    print(json.dumps(run(a.packets, a.runs, a.file, a.tshark), indent=1))
