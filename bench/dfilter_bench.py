"""Wireshark display filters against BPF over the same 500k-packet capture, in one run.

The capture is the UI benchmark's analyst file (TCP connections with payload both
ways, DNS, pings; raw IP), read into memory once.  Each pass goes over every record
in order and counts what matches:

* reference: libpcap's BPF (``pcap_offline_filter`` through :mod:`tapwatch.filters`,
  what the filter bar runs today) for ``tcp[13] & 2 != 0 and src host 10.77.0.1``;
* the same selection in Wireshark's language, ``tcp.flags.syn == 1 && ip.src ==
  10.77.0.1``, fields the struct-level walk reads;
* for scale, a filter that needs the in-order TCP pass (``tcp.stream == 5``), one
  that reads payloads after TCP reassembly (``http.request.method == "GET"``), the TCP
  analysis (``tcp.analysis.flags``) and the transactions (``http.time``,
  ``icmp.resptime``), which also run reassembly.

Then each header filter of :data:`HEADER_PAIRS` (what the fast path takes) alternates with
the BPF expression that selects the same packets, each ratio against its own BPF pass.

Passes alternate (BPF, Wireshark, BPF, ...) and each figure is the median of the
repetitions; the ratio is Wireshark's time over BPF's, target <= 2 for header fields.
Run: ``python bench/dfilter_bench.py [packets] [repetitions]``
(``DFILTER_BENCH_HEADERS_ONLY=1``: leave out the stateful and deep filters).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BPF = "tcp[13] & 2 != 0 and src host 10.77.0.1"
SAME = "tcp.flags.syn == 1 && ip.src == 10.77.0.1"
#: header filters (the fast path's) with the BPF that selects the same on this file
HEADER_PAIRS = (
    ("ip.src == 10.0.0.1", "ip src host 10.0.0.1"),
    ("tcp.port == 80", "tcp port 80"),
    ("udp && ip.ttl < 64", "ip and udp and ip[8] < 64"),
    ("frame.len > 100", "greater 101"),
    ("icmp.type == 8", "icmp and icmp[0] == 8"),
)
OTHERS = (
    "tcp.stream == 5",
    'http.request.method == "GET"',
    "tcp.analysis.flags",
    "http.time > 1",
    "icmp.resptime > 10",
)


def _records(path: str) -> list[tuple[int, bytes]]:
    from tapwatch import pcap

    with pcap.read_capture(path) as cap:
        return [(rec.ts_ns, rec.data) for rec in cap]


def _bpf_pass(records: list[tuple[int, bytes]], expr: str = BPF) -> tuple[float, int]:
    from tapwatch.filters import compile_packet_filter

    flt = compile_packet_filter(expr, [101])
    assert flt is not None
    match = flt.match
    t = time.perf_counter()
    n = 0
    for _ts, data in records:
        if match(data, 101):
            n += 1
    return time.perf_counter() - t, n


def _display_pass(records: list[tuple[int, bytes]], expr: str) -> tuple[float, int]:
    from tapwatch.dfilter import compile_filter

    flt = compile_filter(expr)
    assert flt is not None
    match = flt.match_packet
    t = time.perf_counter()
    n = 0
    for i, (ts, data) in enumerate(records, 1):
        if match(data, 101, i, ts):
            n += 1
    return time.perf_counter() - t, n


def run(packets: int = 500_000, reps: int = 3) -> dict:
    from bench.ui_bench import _write_analyst_file

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "analyst.pcap")
        _write_analyst_file(path, packets)
        records = _records(path)
    # the records are read once and kept: out of the collector's sight, so a collection
    # of a million objects lands in no pass (it did in whichever pass came first)
    gc.collect()
    gc.freeze()
    bpf_times, ws_times = [], []
    bpf_n = ws_n = 0
    for _ in range(reps):
        t, bpf_n = _bpf_pass(records)
        bpf_times.append(t)
        t, ws_n = _display_pass(records, SAME)
        ws_times.append(t)
    bpf_s = statistics.median(bpf_times)
    out: dict = {
        "packets": len(records),
        "bpf_s": bpf_s,
        "bpf_matched": bpf_n,
        "wireshark_s": statistics.median(ws_times),
        "wireshark_matched": ws_n,
        "ratio": statistics.median(ws_times) / bpf_s,
        "others": {},
    }
    out["headers"] = {}
    for expr, bpf in HEADER_PAIRS:
        bt, wt = [], []
        for _ in range(reps):
            t, bn = _bpf_pass(records, bpf)
            bt.append(t)
            t, wn = _display_pass(records, expr)
            wt.append(t)
        b, w = statistics.median(bt), statistics.median(wt)
        out["headers"][expr] = {
            "bpf": bpf,
            "bpf_s": b,
            "bpf_n": bn,
            "s": w,
            "n": wn,
            "ratio": w / b,
        }
    if not os.environ.get("DFILTER_BENCH_HEADERS_ONLY"):
        for expr in OTHERS:
            t, n = _display_pass(records, expr)
            out["others"][expr] = {"s": t, "matched": n, "ratio": t / bpf_s}
    return out


def markdown(res: dict) -> list[str]:
    lines = [
        f"{res['packets']:,} packets in memory (the analyst file), every record in order; "
        "median of the alternating repetitions.",
        "",
        "| filter | language | time | matched | vs BPF |",
        "|---|---|---:|---:|---:|",
        f"| `{BPF}` | BPF (libpcap) | {res['bpf_s']:.2f} s | {res['bpf_matched']:,} | 1.00x |",
        f"| `{SAME}` | Wireshark | {res['wireshark_s']:.2f} s | {res['wireshark_matched']:,} "
        f"| {res['ratio']:.2f}x |",
    ]
    for expr, r in res.get("headers", {}).items():
        lines.append(
            f"| `{r['bpf']}` / `{expr}` | BPF / Wireshark | {r['bpf_s']:.2f} s / {r['s']:.2f} s "
            f"| {r['bpf_n']:,} / {r['n']:,} | {r['ratio']:.2f}x |"
        )
    for expr, r in res["others"].items():
        lines.append(
            f"| `{expr}` | Wireshark | {r['s']:.2f} s | {r['matched']:,} | {r['ratio']:.2f}x |"
        )
    return lines


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    res = run(n, reps)
    print("\n".join(markdown(res)))
    print(f"load average: {os.getloadavg()[0]:.2f}", file=sys.stderr)
