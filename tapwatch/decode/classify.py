"""``layers``: the protocol stack of a frame, for the per-protocol counters.

A separate, leaner walk than :func:`~tapwatch.decode.summarize` (no strings
built), because the statistics see every captured packet, not just the visible
ones.  It goes through the same dispatch tables, so both agree on every frame.
"""

from __future__ import annotations

from typing import Any

from tapwatch.decode.core import LINKTYPES, TAP, TcpFlows


def layers(data: Any, linktype: int) -> tuple[str, ...]:
    """Protocol stack names for the per-protocol counters; same names as ``Summary.layers``.

    Never raises.
    """
    try:
        out: list[str] = []
        d = data if type(data) is bytes else bytes(data)
        h = LINKTYPES.get(linktype)
        if h is not None:
            h.walk(d, out)
        else:
            out.append("other")
        return tuple(out)
    except Exception:  # never take the capture loop down
        return ("other",)


def walk_records(
    records: list[tuple[int, bytes, int]],
    linktype: int,
    flows: TcpFlows,
    keep: list[bool] | None = None,
    snaplen: int = -1,
) -> None:
    """Feed the TCP segments of ``(ts_ns, data)`` records (those ``keep`` marks, each cut to
    ``snaplen`` bytes when not negative) to ``flows`` as :meth:`LineFormatter.lines` would
    number them printing their lines, without the lines.

    What :mod:`~tapwatch.decode.parallel` runs over a chunk of a capture first, to
    learn which connections the chunk continues from the packets before it. Never
    raises.
    """
    h = LINKTYPES.get(linktype)
    if h is None:
        return
    out: list[str] = []
    TAP.flows = flows
    try:
        for i in range(len(records)):
            if keep is not None and not keep[i]:
                continue
            d = records[i][1]
            if 0 <= snaplen < len(d):
                d = d[:snaplen]
            out.clear()
            try:
                h.walk(d, out)
            except Exception:  # never take the printer down (the check after printing catches it)
                continue
    finally:
        TAP.flows = None
