"""The UI thread under hostile input: the longest stall of pastes and packets built to hurt.

A heartbeat coroutine on the app's event loop wakes every 5 ms; how late it wakes is
how long the UI thread was blocked. Each case runs in a Textual app driven by
``run_test()``; the reference of each group runs in the same script, the same way:

* pastes into the filter bar (the reference: ``tcp``): 20,000 letters and a space (the
  completion's ``$`` search), 1 MB of filter text, 1.2 MB of control characters;
* selecting a packet (the reference: a 19-byte BGP KEEPALIVE): a 58 KB segment of
  3-byte BGP attributes (thousands of tree lines), a 64 KB segment of 8-byte OpenFlow
  messages (a long list line);
* the same selections with the tree built in the worker thread, as before
  :mod:`tapwatch.treechild` (group ``select in thread``): what the child saves.

Figures: the longest stall in ms and its ratio to the group's reference.
Run: ``python bench/hostile_ui_bench.py [repetitions]``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import filter_typing_bench as typing_bench

PASTES = {
    "tcp (reference)": "tcp",
    "20k letters and a space": "a" * 20_000 + " ",
    "1 MB of filter text": "ip.src == 1.2.3.4 or " * 50_000,
    "1.2 MB of control characters": "\x1b[31m\u202e" * 100_000,
}


def _tcp(sport: int, dport: int, payload: bytes) -> bytes:
    """An IPv4/TCP packet (hand-made: no scapy, nothing resolved or sent)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2)))  # fmt: skip
    return ip + tcp


def _packets() -> dict[str, bytes]:
    attrs = struct.pack("!BBB", 0x40, 200, 0) * 1300
    update = struct.pack("!HH", 0, len(attrs)) + attrs
    bgp = b"\xff" * 16 + struct.pack("!HB", 19 + len(update), 2) + update
    return {
        "BGP keepalive (reference)": _tcp(179, 40000, b"\xff" * 16 + struct.pack("!HB", 19, 4)),
        "58 KB of 3-byte BGP attributes": _tcp(179, 40000, bgp * 15),
        "64 KB of 8-byte OpenFlow messages": _tcp(
            40000, 6653, struct.pack("!BBHI", 4, 0, 8, 1) * 8000
        ),
    }


async def _select(packet: bytes) -> float:
    """The longest stall while the cursor moves onto ``packet`` and back (4 s each)."""
    from tapwatch.app import TapwatchApp
    from tapwatch.linktypes import LINKTYPE_RAW
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    records = [(1_700_000_000_000_000_000 + i * 1_000_000, 2, packet) for i in range(3)]
    info = InterfaceInfo("bench.pcap", "file", read_only_reason="a file")
    app = TapwatchApp(Session.from_records(LINKTYPE_RAW, records, info=info))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        worst = 0.0
        running = True

        async def heartbeat() -> None:
            nonlocal worst
            while running:
                t = time.perf_counter()
                await asyncio.sleep(typing_bench.TICK)
                worst = max(worst, time.perf_counter() - t - typing_bench.TICK)

        beat = asyncio.get_running_loop().create_task(heartbeat())
        await asyncio.sleep(0.05)
        for key in ("down", "down", "up"):
            await pilot.press(key)
            await pilot.pause(4.0)
        running = False
        await beat
    return worst * 1e3


class _InThread:
    """Stands in for the tree child: dissects in the calling (worker) thread, as before."""

    served = 0

    def detail(self, data: bytes, linktype: int, wire_len: int | None = None) -> object:
        from tapwatch import decode

        return decode.detail(data, linktype, wire_len)


def run(reps: int) -> dict[str, dict[str, float]]:
    import tapwatch.treechild as treechild

    child = treechild.tree_child
    out: dict[str, dict[str, float]] = {}
    groups = (("paste", PASTES), ("select", _packets()), ("select in thread", _packets()))
    for group, cases in groups:
        stalls: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(reps):  # interleaved: the load changes alike for every case
            for name, case in cases.items():
                if group == "paste":
                    stall = asyncio.run(typing_bench._stall(str(case), False))["stall_ms"]
                    stalls[name].append(float(stall))
                    continue
                if group == "select in thread":
                    treechild.tree_child = _InThread  # type: ignore[assignment]
                try:
                    stalls[name].append(asyncio.run(_select(bytes(case))))  # type: ignore[arg-type]
                finally:
                    treechild.tree_child = child
        ref = statistics.median(stalls[next(iter(cases))])
        for name, values in stalls.items():
            ms = statistics.median(values)
            out[f"{group}: {name}"] = {"stall_ms": ms, "ratio": ms / ref if ref else 0.0}
    return out


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(json.dumps(result, indent=1))
    print("| case | longest UI stall (median) | vs its reference |\n|---|---:|---:|")
    for name, r in result.items():
        print(f"| {name} | {r['stall_ms']:.0f} ms | {r['ratio']:.2f} |")
