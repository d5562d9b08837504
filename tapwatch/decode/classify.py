"""``layers``: the protocol stack of a frame, for the per-protocol counters.

A separate, leaner walk than :func:`~tapwatch.decode.summarize` (no strings
built), because the statistics see every captured packet, not just the visible
ones.  It goes through the same dispatch tables, so both agree on every frame.
"""

from __future__ import annotations

from typing import Any

from tapwatch.decode.core import LINKTYPES


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
