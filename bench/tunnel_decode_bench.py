"""``--tunnel-decode`` against a hostile segment: 21,800 one-byte frames in one 64 KB segment.

For each segment the figures are what the UI does with it: the line (the stream
followed, the inner frames split out, :func:`tapwatch.tunnelview.describe`) and the
tree (the outer packet and the inner frames dissected, as the detail pane's worker
does, bounded to ``MAX_FRAMES_DISSECTED``), and the tree's node count. The reference
is a segment carrying one ordinary frame (an 84-byte ICMP echo), measured in the same
run; ratios are against it. "unbounded" is the per-frame dissection cost times the
frames, what the tree cost before the bound.
Run: ``python bench/tunnel_decode_bench.py [repetitions]``.
"""

from __future__ import annotations

import os
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

A, B = bytes([10, 200, 0, 1]), bytes([10, 200, 0, 2])


def _segment(payload: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0, 64, 6, 0, A, B)
    tcp = struct.pack("!HHIIBBHHH", 55555, 40000, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
    return ip + tcp + payload


def _icmp() -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, 7, 3) + b"z" * 56
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0, A, B) + body


def _count(nodes: list) -> int:  # type: ignore[type-arg]
    return sum(1 + _count(n.children) for n in nodes)


def measure(segment: bytes, reps: int) -> dict[str, float]:
    from tapwatch import decode
    from tapwatch.tunnelview import MAX_FRAMES_DISSECTED, TunnelView, describe

    lines, trees, nodes, frames_n = [], [], 0, 0
    per_frame = []
    for _ in range(reps):
        view = TunnelView([55555])
        t = time.perf_counter()
        frames = view.frames(segment, 101) or []
        describe(view, frames)
        lines.append(time.perf_counter() - t)
        t = time.perf_counter()
        tree = list(decode.detail(segment, 101))
        for f in frames[:MAX_FRAMES_DISSECTED]:
            tree.append(decode.Node("frame", 0, 0, list(decode.detail(f, view.linktype_of(f)))))
        trees.append(time.perf_counter() - t)
        nodes, frames_n = _count(tree), len(frames)
        t = time.perf_counter()
        for f in frames[:MAX_FRAMES_DISSECTED]:
            list(decode.detail(f, view.linktype_of(f)))
        per_frame.append((time.perf_counter() - t) / max(1, min(len(frames), MAX_FRAMES_DISSECTED)))
    return {
        "frames": frames_n,
        "line": statistics.median(lines),
        "tree": statistics.median(trees),
        "nodes": nodes,
        "unbounded": statistics.median(per_frame) * frames_n,
    }


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    from tapwatch import decode

    decode.detail(_segment(b""), 101)  # scapy's first use (1 s) out of the figures
    icmp = _icmp()
    ref = measure(_segment(struct.pack("!H", len(icmp)) + icmp), reps)
    hostile = measure(_segment(b"\x00\x01x" * 21_800), reps)
    print(f"median of {reps}")
    print("| segment | frames | line | tree | tree nodes | tree unbounded (est.) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in (("one ICMP frame (reference)", ref), ("21,800 one-byte frames", hostile)):
        print(
            f"| {name} | {r['frames']:,} | {r['line'] * 1e3:.2f} ms | {r['tree'] * 1e3:.1f} ms"
            f" | {r['nodes']:,} | {r['unbounded']:.1f} s |"
        )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"hostile/reference: line {hostile['line'] / ref['line']:.1f}x, "
        f"tree {hostile['tree'] / ref['tree']:.1f}x"
    )


if __name__ == "__main__":
    main()
