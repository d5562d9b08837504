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

``--src DIR`` (repeatable) runs tapwatch from each source tree in turn, ``--rounds``
times, each round with its own reference (another checkout against this one, alternating
in the same minutes). ``--probe`` runs each tree a second time inside the probe
(:func:`_install_probe`): timestamps and counts taken inside tapwatch for each press, from
the key read to the terminal write (key read, cursor move, tree and bytes updated, frame
composed, bytes written), with the lines textual rendered and composited per widget, the
layout passes and the CPU time of the UI thread: figures that do not move with the load.
The probe's wrappers cost time of their own: its latencies are for the stages' shares, the
plain runs' for the total.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the source tree under test (``--src``: another checkout, run alternately with this one)
sys.path.insert(0, os.environ.get("TAPWATCH_SRC") or str(Path(__file__).resolve().parent.parent))

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
        time.sleep(0.5)  # the probe's log is written as tapwatch exits


def _tapwatch_cmd(src: str | None, path: str, probe: str | None = None) -> str:
    """The command line that runs tapwatch from source tree ``src`` (None: this one),
    inside the probe when ``probe`` names its log."""
    env = f"env TAPWATCH_SRC={shlex.quote(src)} " if src else ""
    if probe is None:
        where = f"cd {shlex.quote(src)} && " if src else ""
        return f"{where}{env}{sys.executable} -m tapwatch -r {shlex.quote(path)}"
    env = f"{env}TAPWATCH_PROBE={shlex.quote(probe)} "
    me = shlex.quote(str(Path(__file__).resolve()))
    return f"{env}{sys.executable} {me} --app -r {shlex.quote(path)}"


def _ms(v: list[float], q: float) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] * 1e3 if v else float("nan")


def _load() -> float:
    return os.getloadavg()[0]


def run(packets: int, presses: int) -> dict[str, object]:
    """One reference run and one of this tree (the bench as it was)."""
    return run_rounds(packets, presses, [None], 1, probe=False)["rounds"][0]  # type: ignore[index, no-any-return]


def _vary(path: str) -> None:
    """Every packet's bytes made its own: the IP identification and the payload after the
    transport header drawn at random (fixed seed). The analyst file repeats a few templates,
    so the bytes pane meets lines it drew before at every cycle; real traffic seldom does.
    Checksums are left as they were (wrong now: the same for every tree compared)."""
    import random

    from tapwatch import pcap

    rng = random.Random(20)
    frames = [(r.ts_ns, bytes(r.data)) for r in pcap.read_capture(path)]
    w = pcap.open_writer(path, 101)
    for ts, data in frames:
        b = bytearray(data)
        if len(b) >= 20 and b[0] >> 4 == 4:
            ihl = (b[0] & 15) * 4
            b[4:6] = rng.randbytes(2)
            proto = b[9]
            if proto == 6 and len(b) >= ihl + 13:
                start = ihl + (b[ihl + 12] >> 4) * 4
            elif proto in (1, 17):
                start = ihl + 8
            else:
                start = len(b)
            b[start:] = rng.randbytes(max(0, len(b) - start))
        w.write(ts, bytes(b))
    w.close()


def run_rounds(
    packets: int,
    presses: int,
    srcs: list[str | None],
    rounds: int,
    *,
    probe: bool,
    varied: bool = False,
) -> dict[str, object]:
    from bench.ui_bench import _write_analyst_file

    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    tmp = tempfile.mkdtemp(prefix="tapwatch-cursor-")
    out: list[dict[str, object]] = []
    try:
        path = os.path.join(tmp, "analyst.pcap")
        _write_analyst_file(path, packets)
        if varied:
            _vary(path)
        echo = os.path.join(tmp, "echo.py")
        Path(echo).write_text(ECHO)
        for r in range(rounds):
            load0 = _load()
            ref = _run(f"{sys.executable} {echo}", "ready", presses, 0)
            med_ref = statistics.median(ref) * 1e3 if ref else float("nan")
            row: dict[str, object] = {
                "round": r + 1,
                "packets": packets,
                "presses": presses,
                "reference_seen": len(ref),
                "reference_median_ms": med_ref,
                "reference_p90_ms": _ms(ref, 0.9),
            }
            order = srcs if r % 2 == 0 else srcs[::-1]  # neither side always goes first
            for src in order:
                name = src or "this"
                tw = _run(_tapwatch_cmd(src, path), "Frame 1:", presses, 0)
                med = statistics.median(tw) * 1e3 if tw else float("nan")
                res: dict[str, object] = {
                    "seen": len(tw),
                    "median_ms": med,
                    "p90_ms": _ms(tw, 0.9),
                    "scrolling_median_ms": statistics.median(tw[12:]) * 1e3
                    if len(tw) > 12
                    else None,
                    "ratio": med / med_ref if med_ref else None,
                    "own_ms": med - med_ref,
                }
                if probe:
                    log = os.path.join(tmp, "probe.json")
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(log)
                    _run(_tapwatch_cmd(src, path, log), "Frame 1:", presses, 0)
                    res["probe"] = _probe_summary(log)
                row[name] = res
            row["load"] = [round(load0, 1), round(_load(), 1)]
            out.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"rounds": out}


# ----- the probe: inside tapwatch ------------------------------------------------------------
def _install_probe(log_path: str) -> None:
    """Wrap the stages of a key press in textual and tapwatch with timestamps and counters;
    the log is written as json when tapwatch exits."""
    import atexit
    import functools
    import gc
    import threading

    from textual import events
    from textual._compositor import Compositor
    from textual._styles_cache import StylesCache
    from textual.app import App
    from textual.drivers.linux_driver import LinuxDriver
    from textual.screen import Screen

    from tapwatch.widgets import driver as tw_driver
    from tapwatch.widgets.detail import DetailTree
    from tapwatch.widgets.hexview import HexView
    from tapwatch.widgets.packet_list import PacketList
    from tapwatch.widgets.screen.detail import DetailPanes

    log: list[dict[str, object]] = []
    main = threading.main_thread().ident
    pc, tt = time.perf_counter, time.thread_time
    counts: dict[str, int] = {}

    def dump() -> None:
        with open(log_path, "w") as f:
            json.dump(list(log), f)

    def mark(tag: str, **kw: object) -> None:
        kw["tag"], kw["t"] = tag, pc()
        if threading.get_ident() == main:
            kw["cpu"], kw["pcpu"] = tt(), time.process_time()
        log.append(kw)

    def count(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    def name(w: object) -> str:
        wid = getattr(w, "id", None)
        if wid is None and getattr(w, "parent", None) is not None:  # a scrollbar: whose
            return f"{type(w).__name__}@{name(w.parent)}"  # type: ignore[attr-defined]
        return type(w).__name__ + (f"#{wid}" if wid else "")

    def timed(cls: type, attr: str, tag: str, info=None) -> None:  # type: ignore[no-untyped-def]
        orig = getattr(cls, attr)

        @functools.wraps(orig)
        def wrapper(self, *a, **k):  # type: ignore[no-untyped-def]
            mark(tag + ">", **(info(self, *a) if info else {}))
            try:
                return orig(self, *a, **k)
            finally:
                mark(tag + "<", **(info(self, *a) if info else {}))

        setattr(cls, attr, wrapper)

    profile_path = os.environ.get("TAPWATCH_PROBE_PROFILE")
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()

    orig_pm = LinuxDriver.process_message

    def process_message(self, message):  # type: ignore[no-untyped-def]
        if isinstance(message, events.Key):
            mark("key_read", key=message.key)
            if message.key == "q":  # the bench is done: the log now (an exit may be a kill)
                dump()
        return orig_pm(self, message)

    LinuxDriver.process_message = process_message  # type: ignore[method-assign]

    timed(PacketList, "action_cursor_down", "move")
    moves = [0]
    if profiler is not None:  # the UI thread's profile from the first press on
        orig_down = PacketList.action_cursor_down

        def cursor_down(self):  # type: ignore[no-untyped-def]
            moves[0] += 1
            if moves[0] == 1:
                profiler.enable()
            return orig_down(self)

        PacketList.action_cursor_down = cursor_down  # type: ignore[method-assign]
    timed(
        DetailPanes,
        "update_detail",
        "update",
        lambda s: {"seq": s._want, "cached": s._want in s._cache},
    )
    timed(DetailTree, "show_nodes", "tree")
    timed(HexView, "show", "hex")
    timed(DetailPanes, "on_detail_panes_detail_ready", "ready", lambda s, m: {"seq": m.seq})

    # the frame: layout passes, composition, the text for the terminal
    orig_timer = Screen._on_timer_update

    def on_timer_update(self):  # type: ignore[no-untyped-def]
        mark("frame>")
        try:
            return orig_timer(self)
        finally:  # what was counted since the last frame (the key's work too) is this one's
            mark("frame<", counts=dict(counts))
            counts.clear()
            if profiler is not None and moves[0] >= int(os.environ.get("TAPWATCH_PROBE_N", "20")):
                profiler.disable()  # after the last press's frame: kept (this thread's)
                profiler.dump_stats(profile_path)
                profiler.enable()

    Screen._on_timer_update = on_timer_update  # type: ignore[method-assign]
    orig_layout = Screen._refresh_layout

    def refresh_layout(self, size=None, scroll=False):  # type: ignore[no-untyped-def]
        t = pc()
        try:
            return orig_layout(self, size, scroll)
        finally:
            count("layouts" if not scroll else "reflows")
            count("layout_us", int((pc() - t) * 1e6))

    Screen._refresh_layout = refresh_layout  # type: ignore[method-assign]
    for cls, attr, key in (
        (Compositor, "render_update", "compose_us"),
        (App, "_display", "display_us"),
    ):
        orig = getattr(cls, attr)

        def make(orig=orig, key=key):  # type: ignore[no-untyped-def]
            def wrapper(self, *a, **k):  # type: ignore[no-untyped-def]
                t, c = pc(), tt()
                try:
                    return orig(self, *a, **k)
                finally:
                    count(key, int((pc() - t) * 1e6))
                    count(key.replace("_us", "_cpu_us"), int((tt() - c) * 1e6))

            return wrapper

        setattr(cls, attr, make())

    current: list[str] = [""]
    orig_rw = StylesCache.render_widget

    def render_widget(self, widget, crop):  # type: ignore[no-untyped-def]
        prev, current[0] = current[0], name(widget)
        c = tt()
        try:
            count("composited:" + current[0], crop.height)
            return orig_rw(self, widget, crop)
        finally:
            count("composited_cpu_us:" + current[0], int((tt() - c) * 1e6))
            current[0] = prev

    StylesCache.render_widget = render_widget  # type: ignore[method-assign]
    orig_rl = StylesCache.render_line

    def render_line(self, *a, **k):  # type: ignore[no-untyped-def]
        count("drawn:" + current[0])
        c = tt()
        try:
            return orig_rl(self, *a, **k)
        finally:
            count("drawn_cpu_us:" + current[0], int((tt() - c) * 1e6))

    StylesCache.render_line = render_line  # type: ignore[method-assign]

    from textual.widget import Widget

    orig_refresh = Widget.refresh

    def refresh(self, *regions, **kw):  # type: ignore[no-untyped-def]
        if kw.get("layout"):  # who asked for a layout of the screen
            count("layout_asked:" + name(self))
        return orig_refresh(self, *regions, **kw)

    Widget.refresh = refresh  # type: ignore[method-assign]

    orig_write = LinuxDriver.write

    def write(self, data):  # type: ignore[no-untyped-def]
        count("bytes", len(data))
        return orig_write(self, data)

    LinuxDriver.write = write  # type: ignore[method-assign]
    orig_tty = tw_driver.HangupSafeStream.flush

    def flush(self):  # type: ignore[no-untyped-def]
        r = orig_tty(self)
        mark("tty_flush")
        return r

    tw_driver.HangupSafeStream.flush = flush  # type: ignore[method-assign]

    gc_start: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != main:
            return
        if phase == "start":
            gc_start[0] = pc()
        else:
            count(f"gc{info['generation']}_us", int((pc() - gc_start[0]) * 1e6))

    gc.callbacks.append(on_gc)

    atexit.register(dump)


def _probe_summary(log_path: str) -> dict[str, object]:
    """Each press's stages from the probe's log, then their medians.

    A press: its key read; the cursor's move (the list and, at once, the tree and the
    bytes); the first frame after the tree shows the packet's layers (``update`` with the
    packet cached, or the dissection's answer); the first flush of the terminal after it.
    """
    try:
        log = json.loads(Path(log_path).read_text())
    except (OSError, ValueError):
        return {"error": "no probe log"}
    keys = [i for i, e in enumerate(log) if e["tag"] == "key_read" and e.get("key") == "j"]
    presses = []
    for n, i in enumerate(keys):
        end = keys[n + 1] if n + 1 < len(keys) else len(log)
        ev = log[i:end]
        t0 = ev[0]["t"]
        first = {}
        for e in ev:
            first.setdefault(e["tag"], e)
        move0, move1 = first.get("move>"), first.get("move<")
        if move0 is None or move1 is None:
            continue
        # the tree final: an update that found the packet cached (or one after its answer)
        final = None
        for e in ev:
            if e["tag"] == "update<" and e.get("cached"):
                final = e
                break
        if final is None:
            continue
        frame0 = next((e for e in ev if e["tag"] == "frame>" and e["t"] > final["t"]), None)
        frame1 = next((e for e in ev if e["tag"] == "frame<" and e["t"] > final["t"]), None)
        if frame0 is None or frame1 is None:
            continue
        flush = next((e for e in ev if e["tag"] == "tty_flush" and e["t"] > frame1["t"]), None)
        # every frame from the key to the tree's: their counts summed
        frames = [e for e in ev if e["tag"] == "frame<" and e["t"] <= frame1["t"]]
        totals: dict[str, int] = {}
        for f in frames:
            for k, v in f["counts"].items():  # type: ignore[union-attr]
                totals[k] = totals.get(k, 0) + v
        tree = [e for e in ev if e["tag"] in ("tree>", "tree<") and e["t"] <= final["t"]]
        hexes = [e for e in ev if e["tag"] in ("hex>", "hex<") and e["t"] <= final["t"]]

        def span(pairs: list[dict[str, object]]) -> float:
            return sum(
                (b["t"] - a["t"]) * 1e3  # type: ignore[operator]
                for a, b in zip(pairs[::2], pairs[1::2], strict=False)
            )

        presses.append(
            {
                "key_to_move_ms": (move0["t"] - t0) * 1e3,
                "move_ms": (move1["t"] - move0["t"]) * 1e3,
                "tree_ms": span(tree),
                "hex_ms": span(hexes),
                "cached": bool(first.get("update<", {}).get("cached")),
                "move_to_frame_ms": (frame0["t"] - final["t"]) * 1e3,
                "frame_ms": (frame1["t"] - frame0["t"]) * 1e3,
                "frame_to_flush_ms": (flush["t"] - frame1["t"]) * 1e3 if flush else None,
                "key_to_flush_ms": (flush["t"] - t0) * 1e3 if flush else None,
                "cpu_ms": (frame1["cpu"] - move0["cpu"]) * 1e3,
                "frame_cpu_ms": (frame1["cpu"] - frame0["cpu"]) * 1e3,
                "move_cpu_ms": (move1["cpu"] - move0["cpu"]) * 1e3,
                # the process's other threads while the press was handled and drawn
                "others_cpu_ms": ((frame1["pcpu"] - move0["pcpu"]) - (frame1["cpu"] - move0["cpu"]))
                * 1e3,
                "frames": len(frames),
                **totals,
            }
        )
    if not presses:
        return {"error": "no press found in the probe's log"}
    med: dict[str, object] = {"presses": len(presses)}
    # each press's total, CPU and what it did that others did not (layouts, collections)
    med["each"] = [
        [
            round(p["key_to_flush_ms"] or -1, 1),
            round(p["cpu_ms"], 1),
            int(p.get("layouts", 0)) + int(p.get("reflows", 0)),
            int(sum(v for k, v in p.items() if k.startswith("gc"))) // 1000,
            int(p["cached"]),
            sorted(k.split(":", 1)[1] for k in p if k.startswith("layout_asked:")),
        ]
        for p in presses
    ]
    for k in sorted({k for p in presses for k in p}):
        vals = [p[k] for p in presses if isinstance(p.get(k), (int, float))]
        vals += [0] * sum(1 for p in presses if k not in p)  # a count absent is a zero
        if vals:
            med[k] = round(statistics.median(vals), 2)
            med[k + ":mean"] = round(statistics.fmean(vals), 2)
    return med


def _main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("packets", type=int, nargs="?", default=100_000)
    ap.add_argument("presses", type=int, nargs="?", default=30)
    ap.add_argument("--src", action="append", help="a source tree to run (repeatable)")
    ap.add_argument("--this", action="store_true", help="with --src: this tree too")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--probe", action="store_true", help="each tree once more in the probe")
    ap.add_argument("--varied", action="store_true", help="no two packets' bytes alike")
    a = ap.parse_args()
    if not a.src and a.rounds == 1 and not a.probe and not a.varied:
        r = run(a.packets, a.presses)
        print(json.dumps(r, indent=1))
        return
    srcs: list[str | None] = [os.path.abspath(s) for s in a.src or []]
    if a.this or not srcs:
        srcs.append(None)
    got = run_rounds(a.packets, a.presses, srcs, a.rounds, probe=a.probe, varied=a.varied)
    print(json.dumps(got, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--app"]:  # tapwatch itself, inside the probe
        _install_probe(os.environ["TAPWATCH_PROBE"])
        from tapwatch.cli import main

        raise SystemExit(main(sys.argv[2:]))
    _main()
