"""Section 4: resident memory per packet held in the ring, beyond the packet's own bytes.

Each layout is filled in a fresh subprocess with 1M distinct 100-byte packets
and measured by the growth of its resident set (/proc/self/statm), minus the
payload bytes. References measured the same way: a plain ``list`` of the
``bytes`` objects (the least any Python design can hold them in) and a
``deque`` of ``(ts_ns, direction, data)`` tuples (the obvious design).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

CHILD = r"""
import gc, json, os, sys, time
from collections import deque
kind, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

from tapwatch.ring import Ring
gc.collect()
before = rss()
now = time.time_ns
pad = b"\0" * (size - 8)
if kind == "ring":
    held = Ring(n, 1 << 40)
    append = held.append
    for i in range(n):
        append(now(), 0, i.to_bytes(8, "little") + pad)
elif kind == "list":
    held = []
    append = held.append
    for i in range(n):
        append(i.to_bytes(8, "little") + pad)
elif kind == "deque":
    held = deque(maxlen=n)
    append = held.append
    for i in range(n):
        append((now(), 0, i.to_bytes(8, "little") + pad))
gc.collect()
after = rss()
print(json.dumps({"kind": kind, "n": n, "size": size, "delta": after - before,
                  "held": len(held)}))
"""


def _measure(kind: str, n: int, size: int) -> dict:
    out = subprocess.run(
        [common.PY, "-c", CHILD, kind, str(n), str(size)],
        capture_output=True,
        text=True,
        check=True,
        env=common.env(),
        timeout=600,
    )
    return json.loads(out.stdout)


def run(*, packets: int, size: int = 100) -> dict:
    res = {"packets": packets, "size": size, "layouts": []}
    for kind in ("ring", "list", "deque"):
        m = _measure(kind, packets, size)
        m["overhead"] = (m["delta"] - packets * size) / packets
        res["layouts"].append(m)
    return res


def markdown(res: dict) -> list[str]:
    ref = next(m for m in res["layouts"] if m["kind"] == "list")["overhead"]
    names = {
        "ring": "tapwatch `Ring` (preallocated columns)",
        "list": "reference: `list` of `bytes`",
        "deque": "reference: `deque` of `(ts, dir, bytes)` tuples",
    }
    out = [
        f"{res['packets']:,} packets of {res['size']} bytes each, RSS growth minus "
        f"{res['packets'] * res['size'] / 1e6:.0f} MB of payload:",
        "",
        "| layout | RSS growth | overhead per packet | vs list |",
        "|---|---:|---:|---:|",
    ]
    for m in res["layouts"]:
        out.append(
            f"| {names[m['kind']]} | {m['delta'] / 1e6:.1f} MB | "
            f"{m['overhead']:.1f} B | {m['overhead'] / ref:.2f}x |"
        )
    return out
