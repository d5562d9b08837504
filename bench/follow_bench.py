"""Follow stream over hostile arrival orders: reassembly must not scan what waits.

One TCP direction of ``segments`` segments (100 bytes each) is followed from
records in memory, in several arrival orders:

* reference: every segment in order (the plain pass: one transport parse and one
  append per segment);
* early-4096: 4,096 segments from the stream's end first, then the rest in order
  (the case that took 85 s of CPU when each segment scanned the waiting ones);
* reversed: the first segment, then all the others last to first (everything waits);
* shuffled: the first segment, then the others in random order.

Each figure is the median of the repetitions; the ratio is against the in-order
reference measured in the same run. The display lines (text and hex) of the in-order
stream are timed once each: the follow screen makes them in a worker.
Target: any order <= 2 s for 100k segments.
Run: ``python bench/follow_bench.py [segments] [repetitions]``.
"""

from __future__ import annotations

import os
import random
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

A, B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
PAYLOAD = 100


def _segment(seq: int, data: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(data), 0, 0, 64, 6, 0, A, B)
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, seq, 0, 5 << 4, 0x18, 65535, 0, 0)
    return ip + tcp + data


def _orders(n: int) -> dict[str, list[int]]:
    rest = list(range(1, n))
    shuffled = rest[:]
    random.Random(1).shuffle(shuffled)
    early = min(4096, n // 2)
    return {
        "in order (reference)": list(range(n)),
        "early-4096": [0, *rest[-early:], *rest[:-early]],
        "reversed": [0, *reversed(rest)],
        "shuffled": [0, *shuffled],
    }


def run(n: int, reps: int) -> dict[str, float]:
    from tapwatch.analysis.conversations import Conversation
    from tapwatch.analysis.streams import follow
    from tapwatch.kinds import Direction
    from tapwatch.ring import Record
    from tapwatch.wire import IPPROTO_TCP

    start = 0xFFFFFFFF - n * PAYLOAD // 2  # the sequence numbers wrap halfway
    segs = [
        _segment((start + i * PAYLOAD) % (1 << 32), bytes([i % 251]) * PAYLOAD) for i in range(n)
    ]
    conv = Conversation(IPPROTO_TCP, A, B, 40000, 80)
    out: dict[str, float] = {}
    for name, order in _orders(n).items():
        recs = [Record(k, 0, Direction.OUTBOUND, segs[i], 0) for k, i in enumerate(order)]
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            st = follow(conv, recs, [101], limit=1 << 30)
            times.append(time.perf_counter() - t)
            assert st.gaps == 0 and sum(len(c.data) for c in st.chunks) == n * PAYLOAD, name
        out[name] = statistics.median(times)
        if name.startswith("in order"):
            from tapwatch.widgets.follow import stream_lines

            for mode in ("text", "hex"):  # what the screen shows, made in its worker
                t = time.perf_counter()
                stream_lines(st, mode, (0, 1), 120)
                out[f"display lines, {mode} ({n * PAYLOAD / 1e6:.0f} MB)"] = time.perf_counter() - t
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    res = run(n, reps)
    ref = res["in order (reference)"]
    print(f"follow of {n:,} segments x {PAYLOAD} B, median of {reps}")
    print("| arrival order | time | vs in order | <= 2 s |")
    print("|---|---:|---:|:---:|")
    for name, t in res.items():
        met = "(worker)" if name.startswith("display") else "yes" if t <= 2 else "**no**"
        print(f"| {name} | {t:.3f} s | {t / ref:.2f}x | {met} |")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
