"""Per-packet cost of the decoder's hot calls, on the offline benchmark's packet mix.

``summarize``, ``layers`` and ``LineFormatter.line`` over the raw-IP and Ethernet
templates of :mod:`bench.offline_bench` (each call on a fresh ``bytes`` copy),
best of N rounds of CPU time. Run it against two checkouts with ``PYTHONPATH``
to compare them in one sitting; the figures are only meaningful as ratios.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from bench.offline_bench import templates
    from tapwatch import decode
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    for lt, eth in ((LINKTYPE_RAW, False), (LINKTYPE_ETHERNET, True)):
        pkts = [bytes(p) for p in templates(eth)] * 2000
        calls = {
            "summarize": lambda d, lt=lt: decode.summarize(d, lt),
            "layers": lambda d, lt=lt: decode.layers(d, lt),
        }
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
            print(f"{'eth' if eth else 'raw'} {name:20s} {best / len(pkts) * 1e6:6.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
