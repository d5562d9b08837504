"""Capture file reading and writing speed: ``tapwatch.pcap`` against a reference implementation.

The offline printing path (``tapwatch -r``) reads every record through
``read_capture`` and live ``-w`` writes every packet through a writer, so both
are timed here on their own, without decoding:

* read: records per second over a 200k-packet file, classic pcap and pcapng,
  iterating ``read_capture(path)`` and touching each record's data;
* write: microseconds per ``write()`` of 98-byte and 1500-byte packets into a
  regular file, pcap and pcapng.

``--ref FILE`` loads another implementation of the same API from a file (for
instance an earlier ``tapwatch/pcap.py`` taken out of git) and times it in the
same process, round by round interleaved with the current one, so the ratio
holds when the shared machine's speed drifts. Figures go to bench/NOTES.md.

    python bench/pcap_bench.py                          # the current package alone
    git show OLDREV:tapwatch/pcap.py > /tmp/old_pcap.py
    python bench/pcap_bench.py --ref /tmp/old_pcap.py   # current / reference, same run
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TS0 = 1_700_000_000_000_000_000


def load_reference(path: str) -> ModuleType:
    """Import a module file under a name of its own, next to the current package."""
    spec = importlib.util.spec_from_file_location("tapwatch_pcap_reference", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def packet_mix() -> list[bytes]:
    """Raw-IP packets of the sizes a tun carries: pings, small UDP, TCP acks, full segments."""
    sizes = (84, 84, 92, 40, 52, 1500, 60, 1280, 120, 76)
    return [bytes([0x45]) + bytes(n - 1) for n in sizes]


def make_file(pcap: ModuleType, path: str, count: int) -> None:
    packets = packet_mix()
    with pcap.open_writer(path, 101, ifname="tun0") as w:
        write = w.write
        for i in range(count):
            write(TS0 + i * 1000, packets[i % len(packets)], 1 + (i & 1))


def time_read(pcap: ModuleType, path: str) -> float:
    """Seconds to read every record of ``path`` (data touched, as a printer would)."""
    t0 = time.perf_counter()
    n = 0
    with pcap.read_capture(path) as cap:
        for rec in cap:
            n += len(rec.data)
    elapsed = time.perf_counter() - t0
    if n <= 0:
        raise SystemExit(f"read nothing from {path}")
    return elapsed


def time_write(pcap: ModuleType, path: str, size: int, count: int) -> float:
    """Microseconds per write() of ``size``-byte packets into a regular file."""
    data = bytes(size)
    with pcap.open_writer(path, 101) as w:
        write = w.write
        t0 = time.perf_counter()
        for i in range(count):
            write(TS0 + i, data, 2)
        elapsed = time.perf_counter() - t0
    os.unlink(path)
    return elapsed / count * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", metavar="FILE", help="a reference implementation to compare with")
    ap.add_argument("--packets", type=int, default=200_000, help="records per file to read")
    ap.add_argument("--writes", type=int, default=100_000, help="packets per write trial")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median quoted)")
    args = ap.parse_args(argv)

    from tapwatch import pcap as current

    impls: dict[str, ModuleType] = {"current": current}
    if args.ref:
        impls["reference"] = load_reference(args.ref)
    with tempfile.TemporaryDirectory(prefix="tw-pcap-bench-") as tmp:
        files = {}
        for fmt in ("pcap", "pcapng"):
            files[fmt] = os.path.join(tmp, f"read.{fmt}")
            make_file(current, files[fmt], args.packets)
        cases = [("read", fmt) for fmt in files] + [
            ("write", f"{fmt} {size} B") for fmt in ("pcap", "pcapng") for size in (98, 1500)
        ]
        times: dict[tuple[str, str, str], list[float]] = {}
        for _ in range(args.rounds):
            for kind, case in cases:
                for name, impl in impls.items():
                    if kind == "read":
                        value = args.packets / time_read(impl, files[case]) / 1e6
                    else:
                        fmt, size = case.split()[0], int(case.split()[1])
                        value = time_write(impl, os.path.join(tmp, f"w.{fmt}"), size, args.writes)
                    times.setdefault((kind, case, name), []).append(value)
    print(
        f"{args.packets} records read, {args.writes} writes per trial, "
        f"median of {args.rounds} interleaved rounds"
    )
    header = f"{'what':<22}" + "".join(f"{name:>14}" for name in impls)
    if args.ref:
        header += f"{'current/ref':>14}"
    print(header)
    for kind, case in cases:
        unit = "M records/s" if kind == "read" else "us/write"
        medians = [statistics.median(times[(kind, case, name)]) for name in impls]
        row = f"{kind + ' ' + case:<22}" + "".join(f"{m:>14.3f}" for m in medians)
        if args.ref:
            row += f"{medians[0] / medians[1]:>14.2f}"
        print(row + f"  {unit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
