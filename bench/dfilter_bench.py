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

``--ref DIR`` (another checkout, e.g. ``git archive main``): the stateful and deep filters
of :data:`OTHERS` only, each checkout in a child process of its own over the same file,
alternating (reference, this, reference, ...), each filter's time a ratio to the BPF pass
of the same child; medians of the repetitions.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(os.environ.get("TAPWATCH_BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(_ROOT))

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
    "tcp.analysis.ack_rtt > 0.5",
    "http.time > 1",
    "icmp.resptime > 10",
    "dns.time > 1",
    # TLS on any port: the heuristic looks at every TCP payload the reassembly pass is given
    "tls",
    'tls.handshake.extensions_server_name == "example.org"',
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


def _child_pass(path: str) -> dict:
    """In a child: the BPF pass and each filter of :data:`OTHERS` once over ``path``."""
    records = _records(path)
    gc.collect()
    gc.freeze()
    out: dict = {"bpf": _bpf_pass(records)[0]}
    for expr in OTHERS:
        out[expr] = _display_pass(records, expr)
    return out


def _in_child(root: Path, path: str) -> dict:
    import json
    import subprocess

    env = {**os.environ, "TAPWATCH_BENCH_ROOT": str(root), "PYTHONPATH": str(root)}
    r = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", path],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    got: dict = json.loads(r.stdout.splitlines()[-1])
    return got


def compare(ref: Path, packets: int, reps: int) -> list[str]:
    """Before (``ref``) and after (this checkout) on the same file, alternating."""
    from bench.ui_bench import _write_analyst_file

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "analyst.pcap")
        _write_analyst_file(path, packets)
        runs: dict[str, list[dict]] = {"ref": [], "this": []}
        for _ in range(reps):
            runs["ref"].append(_in_child(ref, path))
            runs["this"].append(_in_child(_ROOT, path))
    lines = [
        f"{packets:,} packets (the analyst file), {reps} alternating runs per checkout; "
        f"reference {ref}",
        "",
        "| filter | matched | before: vs BPF | after: time | after: vs BPF |",
        "|---|---:|---:|---:|---:|",
    ]
    for expr in OTHERS:
        before = statistics.median(r[expr][0] / r["bpf"] for r in runs["ref"])
        after = statistics.median(r[expr][0] / r["bpf"] for r in runs["this"])
        secs = statistics.median(r[expr][0] for r in runs["this"])
        n, was = runs["this"][0][expr][1], runs["ref"][0][expr][1]
        matched = f"{n:,}" if n == was else f"{was:,} -> {n:,}"
        lines.append(f"| `{expr}` | {matched} | {before:.2f}x | {secs:.2f} s | {after:.2f}x |")
    bpf = statistics.median(r["bpf"] for r in runs["this"])
    lines.append(f"| BPF `{BPF}` (reference pass) | | 1.00x | {bpf:.2f} s | 1.00x |")
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        import json

        print(json.dumps(_child_pass(sys.argv[2])))
        raise SystemExit(0)
    if "--ref" in sys.argv:
        at = sys.argv.index("--ref")
        ref = Path(sys.argv[at + 1]).resolve()
        rest = sys.argv[1:at] + sys.argv[at + 2 :]
        n = int(rest[0]) if rest else 100_000
        reps = int(rest[1]) if len(rest) > 1 else 3
        print("\n".join(compare(ref, n, reps)))
        print(f"load average: {os.getloadavg()[0]:.2f}", file=sys.stderr)
        raise SystemExit(0)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    res = run(n, reps)
    print("\n".join(markdown(res)))
    print(f"load average: {os.getloadavg()[0]:.2f}", file=sys.stderr)
