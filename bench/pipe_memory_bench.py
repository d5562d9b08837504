"""Resident memory while an endless pipe is read into a small ring: flat, or growing?

A capture read from a pipe may never end (``ssh host tapwatch -w - | tapwatch
-r - --ring-packets 1000``). The ring holds the newest packets; everything kept
per record must leave with the record. Each run is a fresh process that builds
the path ``tapwatch -r -`` builds for the UI (the file source and its loader
thread, the ring, the session and its pump), fed through a pipe by a writer
process that makes pcapng records as fast as they are taken, and reads its own
VmRSS at fixed record counts. Two writers, same script, same ring:

* *reference*: plain records (nothing kept beside the packet);
* *side data*: every record cut short (its wire length is kept) and carrying a
  200-byte comment: what a leak of per-record side data grows with.

Nothing is sent anywhere: the records go through a pipe.

    python bench/pipe_memory_bench.py [--records 400000] [--tree PATH]

``--tree`` measures another checkout (an older commit, say) the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent("""
    import struct, sys
    kind = sys.argv[1]
    out = sys.stdout.buffer
    def block(btype, body):
        body += b"\\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out.write(block(1, struct.pack("<HHI", 101, 0, 0)))
    pkt = bytes.fromhex("4500005400010000400100000a0000010a000002") + bytes(64)
    comment = b"c" * 200
    opts = struct.pack("<HH", 1, len(comment)) + comment + struct.pack("<HH", 0, 0)
    t = 1_700_000_000_000_000
    try:
        while True:
            batch = []
            for _ in range(1000):
                t += 1
                if kind == "side":
                    body = struct.pack("<5I", 0, t >> 32, t & 0xFFFFFFFF, 60, len(pkt))
                    batch.append(block(6, body + pkt[:60] + opts))
                else:
                    body = struct.pack("<5I", 0, t >> 32, t & 0xFFFFFFFF, len(pkt), len(pkt))
                    batch.append(block(6, body + pkt))
            out.write(b"".join(batch))
    except (BrokenPipeError, OSError):
        pass
""")

CHILD = textwrap.dedent("""
    import json, os, subprocess, sys, threading, time
    kind, ring_packets, checkpoints, writer = (
        sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")], sys.argv[4])
    import tapwatch
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.filesource import open_file
    page = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page
    feed = subprocess.Popen([sys.executable, "-c", writer, kind], stdout=subprocess.PIPE)
    ring, wake = Ring(ring_packets), threading.Event()
    src = open_file("-", ring, wake, stdin=feed.stdout)
    session = Session([src], ring=ring, wake=wake)
    session.start()
    src.shown.set()  # no screen to wait for
    samples = []
    for n in checkpoints:
        while ring.next_seq <= n:
            time.sleep(0.02)
        samples.append([n, rss(), len(ring), tapwatch.__file__])
    feed.kill()
    session.close()
    print(json.dumps(samples))
""")


def measure(kind: str, checkpoints: list[int], tree: Path, ring: int) -> list[list[Any]]:
    """[records read, RSS, records held, tapwatch's path] at each checkpoint, in a fresh
    process."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            kind,
            str(ring),
            ",".join(map(str, checkpoints)),
            WRITER,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tree,  # python -c puts the working directory first on the import path
        timeout=1200,
    )
    samples: list[list[Any]] = json.loads(out.stdout)
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--records", type=int, default=400_000)
    ap.add_argument("--ring", type=int, default=1000)
    ap.add_argument("--tree", type=Path, default=REPO, help="checkout to measure")
    args = ap.parse_args()
    checkpoints = [args.records // 4 * k for k in (1, 2, 3, 4)]
    load = os.getloadavg()[0]
    runs = {kind: measure(kind, checkpoints, args.tree, args.ring) for kind in ("plain", "side")}
    growth = {kind: (s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0]) for kind, s in runs.items()}
    print(
        f"{args.tree} (tapwatch {runs['plain'][0][3]}): ring of {args.ring:,} packets, VmRSS after "
        + ", ".join(f"{n:,}" for n in checkpoints)
        + f" records (load {load:.1f} -> {os.getloadavg()[0]:.1f}):"
    )
    print()
    print(
        "| records | "
        + " | ".join(f"RSS at {n // 1000}k" for n in checkpoints)
        + " | growth per record | RSS at the end vs reference |"
    )
    print("|---|" + "---:|" * (len(checkpoints) + 2))
    names = {"plain": "reference: plain", "side": "cut + 200-byte comment"}
    last_ref = runs["plain"][-1][1]
    for kind, samples in runs.items():
        print(
            f"| {names[kind]} | "
            + " | ".join(f"{rss / 1e6:.1f} MB" for _n, rss, _held, _path in samples)
            + f" | {growth[kind]:.1f} B | {samples[-1][1] / last_ref:.2f}x |"
        )
    side, plain = runs["side"], runs["plain"]
    print()
    print(
        f"side data minus reference at {checkpoints[-1]:,} records: "
        f"{(side[-1][1] - plain[-1][1]) / 1e6:.1f} MB; records held at the end: "
        f"{side[-1][2]:,} and {plain[-1][2]:,}"
    )


if __name__ == "__main__":
    main()
