"""Sorting the packet list by Info: by the Info the rows show against the decoder's Info.

The rows show the decoder's Info with what the analysis adds (relative TCP numbers, an echo
reply's request, "[TCP Retransmission]"...), escaped, after tapwatch's own words (another
input saw it, a tunnel segment's frames); the sort by Info orders by that text
(:func:`tapwatch.rowinfo.sort_info`, what the list's sort worker calls). The reference, in the
same run on the same ring, is the sort by the decoder's Info alone (what the sort read
before). Both sort every packet of the 500k-packet analyst file (``bench/ui_bench.py``'s
varied traffic: TCP connections with payload, DNS, pings), after the TCP analysis has
looked at all of it, alternately ``--runs`` times; reported: each median and their ratio.

Run: ``python bench/sort_info_bench.py [--packets N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.ui_bench import _write_analyst_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from tapwatch import decode, pcap
    from tapwatch.analysis.expert import ExpertIndex
    from tapwatch.analysis.sorting import SortColumn, key_function, sort_rows
    from tapwatch.linktypes import LINKTYPE_RAW
    from tapwatch.ring import Ring
    from tapwatch.rowinfo import sort_info
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    with tempfile.TemporaryDirectory(prefix="tw-sort-") as tmp:
        path = os.path.join(tmp, "analyst.pcap")
        _write_analyst_file(path, args.packets)
        with pcap.read_capture(path) as cap:
            records = [(r.ts_ns, 0, r.data) for r in cap]
    ring = Ring(max_packets=len(records) + 1, max_bytes=1 << 31)
    session = Session.from_records(
        LINKTYPE_RAW, records, InterfaceInfo("analyst.pcap", "file"), ring=ring
    )
    del records
    index = ExpertIndex([LINKTYPE_RAW])
    started = time.perf_counter()
    index.update(session.ring)
    analysis_s = time.perf_counter() - started
    rows = list(range(session.ring.first_seq, session.ring.next_seq))
    names = ["analyst.pcap"]

    def summary(r: object) -> decode.Summary:
        return decode.summarize(r.data, LINKTYPE_RAW)  # type: ignore[attr-defined]

    keys = {
        "decoder Info (reference)": key_function(SortColumn.INFO, summary, names),
        "shown Info": key_function(SortColumn.INFO, summary, names, sort_info(session, index)),
    }
    times: dict[str, list[float]] = {k: [] for k in keys}
    orders: dict[str, list[int]] = {}
    for _ in range(args.runs):
        for name, key in keys.items():
            started = time.perf_counter()
            order = sort_rows(rows, session.ring, key)
            times[name].append(time.perf_counter() - started)
            orders[name] = list(order[:5])
    ref = common.median(times["decoder Info (reference)"])
    new = common.median(times["shown Info"])
    load = os.getloadavg()[0]
    print(f"{len(rows):,} packets, analysis {analysis_s:.1f} s (not in the sorts), load {load:.1f}")
    for name, ts in times.items():
        each = ", ".join(f"{t:.2f}" for t in ts)
        print(f"  sort by {name}: median {common.median(ts):.2f} s ({each})")
    print(f"  ratio shown/reference: {new / ref:.2f}x")


if __name__ == "__main__":
    main()
