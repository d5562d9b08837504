"""Conversations over 200k flows: time until the table appears, memory, a column sort.

A ring holds ``flows`` TCP conversations of two packets each (a SYN and its
SYN-ACK, from 200k distinct client ports over 64 client addresses). Measured, as
the conversations screen does it (in its worker, then the visible rows drawn):

* reference: a plain pass over the same records (one header parse each), the least
  any index of them can cost;
* appear: the first table the screen shows: the index built as far as it got in
  1 s (the screen shows the rows so far every second while it catches up), sorted by
  bytes, and the first screenful of rows (40) formatted;
* complete: the same once every record is counted;
* each sort: the table sorted again by another column, and its first screenful;
* memory: what the index and the table hold (tracemalloc, in a separate pass).

Targets (200k flows): appear <= 3 s, a sort <= 0.5 s. Ratios are against the plain
pass. Run: ``python bench/conversations_bench.py [flows]``.
"""

from __future__ import annotations

import gc
import os
import statistics
import struct
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCREEN = 40
INTERIM_S = 1.0  # the conversations screen's INTERIM_S
SORTS = ("Packets", "Address A", "Port A", "Start", "bit/s", "Bytes")


def _packet(src: bytes, dst: bytes, sport: int, dport: int, flags: int) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, src, dst)
    return ip + struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)


def _ring(flows: int):  # type: ignore[no-untyped-def]
    from tapwatch.kinds import Direction
    from tapwatch.ring import Ring

    ring = Ring(2 * flows + 10, 1 << 34)
    server = bytes([10, 1, 0, 1])
    t = 1_700_000_000_000_000_000
    for i in range(flows):
        client = bytes([10, 2, i % 64, 1 + i // 64 % 250])
        sport = 1024 + i // 16_000 * 0 + i % 60_000
        ring.append(t + i * 1000, Direction.OUTBOUND, _packet(client, server, sport, 80, 0x02))
        ring.append(t + i * 1000 + 500, Direction.INBOUND, _packet(server, client, 80, sport, 0x12))
    return ring


def _screen(table) -> None:  # type: ignore[no-untyped-def]
    for i in range(min(SCREEN, len(table.cells))):
        table.cells[i]


def main() -> None:
    flows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    from tapwatch.analysis.conversations import (
        TrafficIndex,
        catch_up_showing,
        conversation_table,
    )
    from tapwatch.analysis.headers import transport

    ring = _ring(flows)
    t0 = ring.get(1).ts_ns  # type: ignore[union-attr]
    recs = ring.range(1, ring.next_seq)
    t = time.perf_counter()
    for r in recs:
        transport(r.data, 101)
    plain = time.perf_counter() - t
    del recs

    gc.collect()
    t = time.perf_counter()
    index = TrafficIndex([101])
    appear = 0.0
    done = False
    for done in catch_up_showing(index, ring, INTERIM_S):  # noqa: B007 (the screen's worker)
        table = conversation_table(list(index.flows.values()), t0)
        _screen(table)
        if not appear:
            appear = time.perf_counter() - t
    complete = time.perf_counter() - t
    assert done and table.total == flows, table.total
    sorts = []
    for col in SORTS:
        t = time.perf_counter()
        table = conversation_table(index.flows.values(), t0, sort=col, descending=True)
        _screen(table)
        sorts.append(time.perf_counter() - t)
    del table, index
    gc.collect()

    tracemalloc.start()
    index = TrafficIndex([101])
    index.update(ring)
    held_index = tracemalloc.get_traced_memory()[0]
    table = conversation_table(index.flows.values(), t0)
    _screen(table)
    held = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"{flows:,} TCP flows ({2 * flows:,} packets); plain pass {plain:.2f} s")
    print("| step | time | vs plain pass | target |")
    print("|---|---:|---:|---|")
    print(
        f"| table appears (rows so far after {INTERIM_S:g} s, sorted, a screenful) | "
        f"{appear:.2f} s | {appear / plain:.1f}x | <= 3 s: {'yes' if appear <= 3 else '**no**'} |"
    )
    print(
        f"| table complete (every flow counted, sorted, a screenful) | {complete:.2f} s | "
        f"{complete / plain:.1f}x | |"
    )
    med = statistics.median(sorts)
    print(
        f"| a sort (median of {len(SORTS)}: {', '.join(SORTS)}) | {med:.2f} s (max "
        f"{max(sorts):.2f}) | {med / plain:.1f}x | <= 0.5 s: "
        f"{'yes' if max(sorts) <= 0.5 else '**no**'} |"
    )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("sorts: " + ", ".join(f"{c} {x:.2f} s" for c, x in zip(SORTS, sorts, strict=True)))
    print(
        f"memory: index {held_index / 2**20:.0f} MiB, with the table {held[0] / 2**20:.0f} MiB"
        f" (peak {held[1] / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
