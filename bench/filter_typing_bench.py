"""The filter bar while a slow filter is pasted: how long the UI thread stops, in one run.

A heartbeat coroutine on the app's event loop wakes every 5 ms and records how
late it woke; the longest delay is how long the UI thread was blocked (nothing
drawn, no key read). Cases, each in a Textual app driven by ``run_test()`` over a
20-packet session:

* reference: the same filter compiled on the UI thread, as the bar did before
  (``compile_display`` called from a handler), for a 1,348-character filter of
  104 ``port N`` terms (a few tenths of a second in libpcap's optimizer);
* the bar today: the same text pasted into the input (checked in the child
  process, compiled in a worker), the heartbeat running until the bar's check is
  through;
* the bar today with 300 ``port N`` terms (minutes in libpcap), given up at the
  child's limit; its reference is not run (it would block for minutes).

The figure is the longest stall in ms and its ratio to the reference's.
Run: ``python bench/filter_typing_bench.py [repetitions]``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MEDIUM = " or ".join(f"port {1000 + i}" for i in range(104))
SLOW = " or ".join(f"port {1000 + i}" for i in range(300))
TICK = 0.005


def _app():  # type: ignore[no-untyped-def]
    from tapwatch.app import TapwatchApp
    from tapwatch.linktypes import LINKTYPE_ETHERNET
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    frame = bytes.fromhex("ffffffffffff020000000001080045000054000040004001f9a80a0000010a000002")
    frame += bytes(100 - len(frame))
    records = [(1_700_000_000_000_000_000 + i * 1_000_000, 2, frame) for i in range(20)]
    info = InterfaceInfo("bench.pcap", "file", read_only_reason="a file")
    return TapwatchApp(Session.from_records(LINKTYPE_ETHERNET, records, info=info))


async def _stall(text: str, on_ui_thread: bool) -> dict[str, float | str]:
    from textual import events

    from tapwatch.widgets.filter_bar import FilterBar
    from tapwatch.widgets.main_screen import MainScreen

    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen_stack[0]
        assert isinstance(screen, MainScreen)
        bar = screen.query_one(FilterBar)
        await pilot.press("slash")
        while bar.pending:  # the bar's first, empty check
            await pilot.pause(0.01)
        worst = 0.0
        running = True

        async def heartbeat() -> None:
            nonlocal worst
            while running:
                t = time.perf_counter()
                await asyncio.sleep(TICK)
                worst = max(worst, time.perf_counter() - t - TICK)

        beat = asyncio.get_running_loop().create_task(heartbeat())
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        if on_ui_thread:
            try:
                screen.compile_display(text)
            except Exception as e:  # a refused filter is a result too
                print(f"reference: {e}", file=sys.stderr)
            await asyncio.sleep(0.05)
        else:
            bar.input.post_message(events.Paste(text))
            await pilot.pause()
            while bar.pending:
                await asyncio.sleep(0.01)
        took = time.perf_counter() - start
        running = False
        await beat
        return {"stall_ms": worst * 1e3, "took_s": took, "error": bar.error or ""}


def run(reps: int) -> dict[str, object]:
    ref, medium, slow = [], [], []
    for _ in range(reps):
        ref.append(asyncio.run(_stall(MEDIUM, True)))
        medium.append(asyncio.run(_stall(MEDIUM, False)))
        slow.append(asyncio.run(_stall(SLOW, False)))

    def med(rows: list[dict[str, float | str]], key: str) -> float:
        return statistics.median(float(r[key]) for r in rows)

    ref_ms = med(ref, "stall_ms")
    out = {
        "reference_stall_ms": ref_ms,
        "medium_stall_ms": med(medium, "stall_ms"),
        "medium_check_s": med(medium, "took_s"),
        "slow_stall_ms": med(slow, "stall_ms"),
        "slow_check_s": med(slow, "took_s"),
        "slow_error": str(slow[-1]["error"]),
        "reps": reps,
    }
    out["medium_ratio"] = out["medium_stall_ms"] / ref_ms if ref_ms else None  # type: ignore[operator]
    out["slow_ratio"] = out["slow_stall_ms"] / ref_ms if ref_ms else None  # type: ignore[operator]
    return out


def markdown(r: dict[str, object]) -> list[str]:
    return [
        "| case | longest UI stall | vs reference | check done after |",
        "|---|---|---|---|",
        f"| reference: 104 terms compiled on the UI thread | {r['reference_stall_ms']:.0f} ms "
        "| 1 | - |",
        f"| 104 terms pasted (1,348 chars) | {r['medium_stall_ms']:.0f} ms "
        f"| {r['medium_ratio']:.3f} | {r['medium_check_s']:.2f} s |",
        f"| 300 terms pasted (given up) | {r['slow_stall_ms']:.0f} ms "
        f"| {r['slow_ratio']:.3f} | {r['slow_check_s']:.2f} s |",
    ]


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(json.dumps(result, indent=1))
    print("\n".join(markdown(result)))
