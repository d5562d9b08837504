"""Per-packet cost of the decoder's hot calls, on the offline benchmark's packet mix.

``summarize``, ``layers``, the header walk with its spans (``walk``), ``LineFormatter.line``,
the tools' plain header pass
(``analysis.headers.transport``) and the crossing key of a merged capture
(``analysis.crossing.network_key``, ``network_bytes`` before it, and ``Crossings.see``
around it) over the raw-IP and Ethernet templates of :mod:`bench.offline_bench` (each
call on a fresh ``bytes`` copy), best of N rounds of CPU time.  The figures are only
meaningful as ratios: ``--ref DIR`` measures the checkout at ``DIR`` (run from this
script in a child process, the two alternating) and prints each figure against it.

Run: ``python bench/decode_bench.py [rounds] [--ref DIR]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

_ROOT = Path(os.environ.get("TAPWATCH_BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(_ROOT))


def measure(rounds: int) -> dict[str, float]:
    """Microseconds per call, best of ``rounds``, for every hot call this checkout has."""
    from bench.offline_bench import templates
    from tapwatch import decode
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

    try:
        from tapwatch.analysis.headers import transport
    except ImportError:  # a checkout from before the tools' header pass
        transport = None

    try:
        from tapwatch.analysis import crossing
    except ImportError:  # a checkout from before merged inputs
        crossing = None  # type: ignore[assignment]
    # the key's function: network_key, network_bytes before it was a tuple
    network_key = getattr(crossing, "network_key", None) or getattr(crossing, "network_bytes", None)

    out: dict[str, float] = {}
    for lt, eth in ((LINKTYPE_RAW, False), (LINKTYPE_ETHERNET, True)):
        pkts = [bytes(p) for p in templates(eth)] * 2000
        calls: dict[str, Callable[[bytes], object]] = {
            "summarize": lambda d, lt=lt: decode.summarize(d, lt),
            "layers": lambda d, lt=lt: decode.layers(d, lt),
        }
        walk = getattr(decode, "walk", None)
        if walk is not None:  # with every layer's offsets and header ends (the tree's, -Y's)
            calls["walk (spans)"] = lambda d, lt=lt, w=walk: w(d, lt)
        if transport is not None:
            calls["header pass"] = lambda d, lt=lt: transport(d, lt)
        if network_key is not None:
            calls["crossing key"] = lambda d, lt=lt: network_key(d, lt)
            seen = crossing.Crossings([0, 1], ["a", "b"])
            n = iter(range(1 << 62))
            calls["Crossings.see"] = lambda d, lt=lt, c=seen, n=n: c.see(next(n), d, lt, 0, 1)
        fmt = getattr(decode, "LineFormatter", None)
        if fmt is not None:
            f = fmt(lt)
            calls["LineFormatter.line"] = lambda d, f=f: f.line(1_700_000_000_000_000_000, d)
        for name, fn in calls.items():
            best = float("inf")
            for _ in range(rounds):
                t0 = time.process_time()
                for d in pkts:
                    fn(d)
                best = min(best, time.process_time() - t0)
            out[f"{'eth' if eth else 'raw'} {name}"] = best / len(pkts) * 1e6
    return out


def _child(root: Path, rounds: int) -> dict[str, float]:
    env = {**os.environ, "TAPWATCH_BENCH_ROOT": str(root), "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, __file__, str(rounds), "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return result


def main() -> int:
    args = sys.argv[1:]
    rounds = int(args[0]) if args and args[0].isdigit() else 7
    if "--json" in args:
        print(json.dumps(measure(rounds)))
        return 0
    if "--ref" not in args:
        for name, us in measure(rounds).items():
            print(f"{name:24s} {us:6.2f} us")
        return 0
    ref_root = Path(args[args.index("--ref") + 1]).resolve()
    here: dict[str, float] = {}
    ref: dict[str, float] = {}
    for _ in range(3):  # alternate, so both see the same load
        for got, root in ((ref, ref_root), (here, _ROOT)):
            for k, v in _child(root, rounds).items():
                got[k] = min(v, got.get(k, float("inf")))
    print(f"load average {os.getloadavg()[0]:.1f}; this checkout {_ROOT}, reference {ref_root}")
    print("| call | reference | this | ratio |")
    print("|---|---:|---:|---:|")
    for name, us in here.items():
        r = ref.get(name)
        ratio = f"{us / r:.2f}x" if r else "-"
        rtext = f"{r:.2f} us" if r else "-"
        print(f"| {name} | {rtext} | {us:.2f} us | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
