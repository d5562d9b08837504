"""Inject previews in a limited process: what the sandbox costs, and what it spares capture.

``sudo python bench/craft_bench.py`` prints a markdown section (``--json FILE`` keeps the raw
figures). Every figure has its reference measured in the same run:

1. *Latency*: the same expressions previewed through the warm sandbox (``craft.preview``:
   a request to the server, a confined fork, the answer) and evaluated in this process
   (``tapwatch.sandbox.frame.build``, the very evaluation the child runs, as craft did
   before it moved). Also what the process model costs: the server's start (a fresh
   interpreter importing scapy, until it says ready), which a process started per preview
   would pay every time.
2. *Capture* (root): tests/craft_flood.py in a private network namespace: the same paced
   UDP flood into a captured tun, alone and while the hostile expressions are previewed
   again and again in a thread of the capturing process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from tapwatch import craft
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

EXPRESSIONS = [
    ('IP(dst="10.0.0.1")/ICMP()', LINKTYPE_RAW),
    (
        'Ether()/IP(dst="10.0.0.1")/UDP(dport=53)/DNS(qd=DNSQR(qname="a.example"))',
        LINKTYPE_ETHERNET,
    ),
    ('IP(dst="10.0.0.1")/UDP(dport=9)/Raw(RandString(60000))', LINKTYPE_RAW),
]
HOSTILE = [
    'b"x" * RandNum(3000000000, 3000000000)',
    '"%(a(b)c)2000000000d" % {"a(b)c": 1}',
    "RandNum(1, 1) << 26000000000",
    "((1 << 60000000) - 1) * ((1 << 60000000) - 1)",
]
FLOOD = Path(__file__).resolve().parent.parent / "tests" / "craft_flood.py"


def latency(repeat: int) -> dict:
    from tapwatch.sandbox import expression, frame
    from tapwatch.sandbox.protocol import Request

    starts = []
    for _ in range(3):
        b = craft.Builder()
        t = time.perf_counter()
        b.evaluate(*EXPRESSIONS[0])
        starts.append(time.perf_counter() - t)
        b.close()
    names = expression.scapy_names()
    rows = []
    for expr, lt in EXPRESSIONS:
        craft.preview(expr, lt)  # warm
        sandboxed, here = [], []
        for _ in range(repeat):  # interleaved: the machine's load falls on both alike
            t = time.perf_counter()
            craft.preview(expr, lt)
            sandboxed.append(time.perf_counter() - t)
            t = time.perf_counter()
            frame.build(Request(expr, lt, craft.DEFAULT_ETH_SRC, craft.DEFAULT_ETH_DST), names)
            here.append(time.perf_counter() - t)
        rows.append(
            {
                "expr": expr,
                "sandbox_ms": round(common.median(sandboxed) * 1000, 1),
                "sandbox_p90_ms": round(common.pct(sandboxed, 90) * 1000, 1),
                "in_process_ms": round(common.median(here) * 1000, 2),
                "ratio": round(common.median(sandboxed) / common.median(here), 1),
            }
        )
    hostile = []
    for expr in HOSTILE:
        t = time.perf_counter()
        try:
            craft.preview(expr, LINKTYPE_RAW)
            said = "built"
        except craft.CraftError as e:
            said = str(e)
        hostile.append({"expr": expr, "ms": round((time.perf_counter() - t) * 1000), "said": said})
    return {
        "server_start_s": [round(s, 2) for s in starts],
        "rows": rows,
        "hostile": hostile,
    }


def flood(count: int, rate: int) -> dict:
    with common.private_netns() as ns:
        cmd = [sys.executable, str(FLOOD), "--count", str(count), "--rate", str(rate)]
        cmd += ["--previews", "sandbox,in-process", json.dumps(HOSTILE)]
        out = subprocess.run(
            common.in_netns(ns, cmd),
            capture_output=True,
            text=True,
            timeout=1800,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def markdown(res: dict) -> list[str]:
    lat = res["latency"]
    lines = [
        "Preview latency, warm sandbox against the same evaluation in the capturing process "
        f"(medians of {res['repeat']} interleaved runs; load average {res['loadavg'][0]} "
        f"before, {res['loadavg'][1]} after):",
        "",
        "| expression | sandbox | p90 | in process | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in lat["rows"]:
        lines.append(
            f"| `{r['expr']}` | {r['sandbox_ms']} ms | {r['sandbox_p90_ms']} ms "
            f"| {r['in_process_ms']} ms | {r['ratio']}x |"
        )
    starts = ", ".join(f"{s} s" for s in lat["server_start_s"])
    lines += [
        "",
        f"Starting the server and its first answer: {starts} (a process started per preview "
        "would pay this on every keystroke; the dialog starts the server when it opens).",
        "",
        "| hostile expression | answered in | says |",
        "|---|---:|---|",
    ]
    for h in lat["hostile"]:
        lines.append(f"| `{h['expr']}` | {h['ms']} ms | {h['said']} |")
    if "flood" in res:
        f = res["flood"]
        lines += [
            "",
            f"Capture (a tun in a private namespace, path `{f['capture_path']}`): the same flood "
            f"of {f['control']['sent']:,} UDP datagrams paced at {res['rate']:,}/s, alone, while "
            "the hostile expressions above were previewed round and round through the sandbox, "
            "and while the same evaluation ran in the capturing process (as before the sandbox):",
            "",
            "| flood | previews during it | kept | lost | kernel drops | device queue drops |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, label in (
            ("control", "alone"),
            ("sandbox", "hostile previews, sandbox"),
            ("in-process", "hostile previews, in process"),
        ):
            g = f[name]
            lines.append(
                f"| {label} | {g.get('previews_during_flood', '-')} | {g['kept']:,} "
                f"| {g['lost']:,} | {g['kernel_dropped']:,} | {g['device_queue_dropped']:,} |"
            )
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=50)
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--rate", type=int, default=50_000)
    p.add_argument("--json", help="write the raw figures here")
    a = p.parse_args()
    load0 = os.getloadavg()[0]
    res: dict = {"repeat": a.repeat, "rate": a.rate, "latency": latency(a.repeat)}
    if os.geteuid() == 0:
        res["flood"] = flood(a.count, a.rate)
    res["loadavg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    if a.json:
        common.dump(res, a.json)
    print("\n".join(markdown(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
