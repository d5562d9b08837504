"""Section 3: the Textual UI under load, driven by ``App.run_test()`` (no terminal, no device).

* Key -> screen: 100k packets in the ring, 20k packets/s arriving through
  ``session.feed`` from a thread (the pump thread running as in a live
  session), the cursor keys pressed at random moments; latency is the time
  from posting the key to the first screen update that contains the packet
  list row the cursor moved to (Textual's compositor output, turned into
  terminal escape sequences as a real terminal would need).
* Frame cost: rendering every visible line of the packet list
  (``PacketList.render_line``, row caches cleared) and one refresh tick, with
  1k, 100k and 500k packets in the ring: it should not grow with the ring.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.capture_bench import emulate_terminal

if TYPE_CHECKING:
    from textual.strip import Strip

    from tapwatch.session import Session

SIZE = (200, 50)


def _records(n: int, start_ns: int) -> list[tuple[int, int, bytes]]:
    from bench.offline_bench import templates

    tpl = templates(False)
    k = len(tpl)
    return [(start_ns + i * 50_000, 2, tpl[i % k]) for i in range(n)]  # 2: outbound


def _session(n: int, kind: str = "tun") -> Session:
    from tapwatch.linktypes import LINKTYPE_RAW
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    return Session.from_records(LINKTYPE_RAW, _records(n, time.time_ns() - n * 50_000),
                                info=InterfaceInfo("bench", kind))


class Feeder(threading.Thread):
    """Feeds ``rate`` packets/s into the session in 5 ms steps, like a reader would."""

    def __init__(self, session: object, rate: int) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.rate = rate
        self.stop = threading.Event()
        self.fed = 0

    def run(self) -> None:
        from bench.offline_bench import templates

        tpl = templates(False)
        feed = self.session.feed  # type: ignore[attr-defined]
        step = 0.005
        per = max(1, round(self.rate * step))
        start = time.monotonic()
        i = 0
        while not self.stop.is_set():
            due = start + i * step
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.time_ns()
            for j in range(per):
                feed(now, 0, tpl[(self.fed + j) % len(tpl)])
            self.fed += per
            i += 1


async def _key_latency(presses: int, backlog: int, rate: int) -> dict:
    from textual import events
    from textual._compositor import CompositorUpdate

    from tapwatch.app import TapwatchApp

    session = _session(backlog)
    session.start()  # the pump thread, as in a live session
    feeder = Feeder(session, rate)
    app = TapwatchApp(session)
    emulate_terminal(app)
    displays: list[float] = []
    inner = app._display

    def display(screen: object, renderable: object) -> None:
        inner(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            displays.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]
    lat: list[float] = []
    rng = random.Random(7)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            packets = app.packet_list
            rendered: dict[int, float] = {}
            render_line = packets.render_line

            def traced(y: int) -> Strip:
                strip = render_line(y)
                if y > 0:
                    seq = packets.seq_at(packets.scroll_offset.y + y - 1)
                    if seq is not None and seq == packets.cursor_seq:
                        rendered.setdefault(seq, time.perf_counter())
                return strip

            packets.render_line = traced  # type: ignore[method-assign]
            if rate:
                feeder.start()
            await pilot.pause(0.3)
            for i in range(presses):
                key = "k" if (i // 10) % 2 == 0 else "j"
                await asyncio.sleep(rng.uniform(0.02, 0.08))
                idx = packets.cursor_index
                if idx is None:
                    continue
                target = packets.seq_at(idx - 1 if key == "k" else idx + 1)
                if target is None:
                    continue
                rendered.pop(target, None)
                # post the key as the terminal driver would; pilot.press() would also wait
                # for the process to go idle, which it never does under this load
                event = events.Key(key, key)
                event.set_sender(app)
                t0 = time.perf_counter()
                app._driver.send_message(event)  # type: ignore[union-attr]
                deadline = time.perf_counter() + 2
                while time.perf_counter() < deadline:
                    tr = rendered.get(target)
                    if tr is not None:
                        shown = [d for d in displays if d >= tr]
                        if shown:
                            lat.append(shown[0] - t0)
                            break
                    await asyncio.sleep(0.001)
            missed = presses - len(lat)
            fed = feeder.fed
            ring_len = len(session.ring)
    finally:
        feeder.stop.set()
        session.close()
    return {"presses": len(lat), "median_ms": common.median(lat) * 1e3,
            "p95_ms": common.pct(lat, 95) * 1e3, "max_ms": max(lat) * 1e3 if lat else None,
            "missed": missed, "fed": fed, "ring_len": ring_len, "backlog": backlog, "rate": rate}


async def _frame_cost(n: int, reps: int) -> dict:
    from tapwatch.app import TapwatchApp

    session = _session(n)
    app = TapwatchApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            packets = app.packet_list
            height = packets.size.height
            frame: list[float] = []
            ticks: list[float] = []
            for _ in range(5):  # warm-up: style and segment caches of a fresh app
                for y in range(height):
                    packets.render_line(y)
            for _ in range(reps):
                packets._cache.clear()
                summaries = getattr(session, "_summaries", None)
                if summaries is not None:
                    summaries.clear()
                t = time.perf_counter()
                for y in range(height):
                    packets.render_line(y)
                frame.append(time.perf_counter() - t)
                t = time.perf_counter()
                app.tick()
                ticks.append(time.perf_counter() - t)
            rows = packets.rows
    finally:
        session.close()
    return {"ring": n, "rows": rows, "lines": height, "frame_ms": common.median(frame) * 1e3,
            "tick_ms": common.median(ticks) * 1e3}


def run(*, presses: int, sizes: list[int], reps: int) -> dict:
    return {
        "latency": asyncio.run(_key_latency(presses, 100_000, 20_000)),
        "latency_idle": asyncio.run(_key_latency(presses, 100_000, 0)),
        "frames": [asyncio.run(_frame_cost(n, reps)) for n in sizes],
    }


def markdown(res: dict) -> list[str]:
    lat = res["latency"]
    idle = res["latency_idle"]
    out = [
        f"Key -> screen: {lat['backlog']:,} packets in the ring, {lat['rate']:,} packets/s fed "
        f"through `session.feed` from a thread (pump thread running; {lat['fed']:,} fed during "
        f"the test, ring ended at {lat['ring_len']:,}), {lat['presses']} presses of k/j at random "
        "moments, terminal size 200x50.",
        "",
        "| key press -> screen update showing the moved cursor | median | p95 | max |",
        "|---|---:|---:|---:|",
        f"| under load | {lat['median_ms']:.1f} ms | "
        f"{lat['p95_ms']:.1f} ms | {lat['max_ms']:.1f} ms |",
        f"| reference: the same with nothing arriving | {idle['median_ms']:.1f} ms | "
        f"{idle['p95_ms']:.1f} ms | {idle['max_ms']:.1f} ms |",
        f"| under load / idle | {lat['median_ms'] / idle['median_ms']:.2f}x | "
        f"{lat['p95_ms'] / idle['p95_ms']:.2f}x | |",
        "",
        "Packet list frame cost (every visible line through `render_line`, row and summary "
        "caches cleared, so each row is decoded and formatted) and one refresh tick "
        "(`TapwatchApp.tick`: list sync, status bar, counters), median:",
        "",
        "| packets in ring | visible lines | frame | vs 1k | tick |",
        "|---:|---:|---:|---:|---:|",
    ]
    base = res["frames"][0]["frame_ms"] if res["frames"] else None
    for f in res["frames"]:
        out.append(f"| {f['ring']:,} | {f['lines']} | {f['frame_ms']:.2f} ms | "
                   f"{f['frame_ms'] / base:.2f}x | {f['tick_ms']:.2f} ms |")
    return out
