"""``layers``: the protocol stack of a frame, for the per-protocol counters.

The walk alone (no strings built), because the statistics see every captured packet,
not just the visible ones; :func:`walk` is the same walk with its offsets kept, which
:func:`~tapwatch.decode.summarize` runs first and reads its layers and boundaries from.
"""

from __future__ import annotations

from typing import Any, Final

from tapwatch.decode.core import LINKTYPES, TcpFlows, Walk, ethertype_walk
from tapwatch.decode.ip import upper_walk
from tapwatch.decode.link import ether_walk


def layers(data: Any, linktype: int) -> tuple[str, ...]:
    """Protocol stack names for the per-protocol counters; same names as ``Summary.layers``.

    Never raises.
    """
    try:
        h = LINKTYPES.get(linktype)
        if h is None:
            return ("other",)
        w = Walk(None, True, False)  # names only: no offsets kept
        w.version = -1  # nor the first IP header's fields (their walks find them taken)
        w.at = 0
        h.walk(data if type(data) is bytes else bytes(data), w)
        return tuple(w.names)
    except Exception:  # never take the capture loop down
        return ("other",)


def walk(data: Any, linktype: int, deep: bool = True, spans: bool = True) -> Walk:
    """The one header walk of a frame (:class:`~tapwatch.decode.core.Walk`): its layers with
    their offsets and the first IP header's fields.  ``deep=False`` stops at the first
    transport header; ``spans=False`` keeps no offsets (cheaper, for the fields alone).
    Never raises: a frame that breaks a handler keeps what was walked before it.
    """
    w = Walk(None, deep, spans)
    try:
        _into(data, linktype, w)
    except Exception:  # hostile bytes: what was walked so far stands
        return w
    return w


#: the "ethertype" :func:`walk_from` takes for an Ethernet header (transparent Ethernet
#: bridging, as GRE and Geneve announce one)
ETHERNET: Final = 0x6558


def walk_from(
    data: Any, off: int, end: int, ethertype: int, proto: int = -1, claimed: int = -1
) -> Walk:
    """The walk from a header inside ``data``: the one ``ethertype`` announces at ``off``
    (:data:`ETHERNET`: an Ethernet header), or with ``proto`` set, the one that IP protocol
    number announces (GRE, AH ...); the bytes end at ``end``, the offsets are ``data``'s.
    What a consumer that follows a header the frame's walk did not reach (a datagram
    reassembled from fragments, one quoted in an ICMP error) reads that header's boundaries
    from.  ``claimed``: with ``proto``, the payload's length as its IP header claims it, when
    more than was captured (else the bytes to ``end``).  Never raises."""
    w = Walk(None, True, True)
    d = data if type(data) is bytes else bytes(data)
    if end < len(d):
        d = d[:end]
    try:
        if proto >= 0:
            clen = claimed if claimed > len(d) - off else len(d) - off
            upper_walk(d, off, len(d), clen, proto, w, False)
        elif ethertype == ETHERNET:
            ether_walk(d, off, w)
        else:
            ethertype_walk(d, off, ethertype, w)
    except Exception:  # hostile bytes: what was walked so far stands
        return w
    return w


#: :func:`first_ip`'s answer for a frame without one
_NO_IP: Final = (0, 0, 0)


def first_ip(data: Any, linktype: int) -> tuple[int, int, int]:
    """``(version, start, end)`` of the frame's first IP header as the walk finds it (after
    tags, LLC/SNAP, MPLS labels, PPPoE ...: wherever the link header's dispatch leads), its
    datagram ending where its length field says (within the frame); ``(0, 0, 0)``: none.

    The walk stops at that header (:attr:`~tapwatch.decode.core.Walk.shallow`): what
    :mod:`tapwatch.analysis.crossing` keys every packet of a merged capture by, at the
    cost of the link header's dispatch alone.  Never raises.
    """
    h = LINKTYPES.get(linktype)
    if h is None:
        return _NO_IP
    w = Walk(None, False, False)
    w.shallow = True
    w.at = 0
    try:  # noqa: SIM105 (compiled, a try costs nothing; contextlib.suppress is a call)
        h.walk(data if type(data) is bytes else bytes(data), w)
    except Exception:  # hostile bytes: a header found before it stands
        pass
    v = w.version
    if v <= 0:
        return _NO_IP
    return (v, w.ip, w.ip_end)


def _into(data: Any, linktype: int, w: Walk) -> None:
    d = data if type(data) is bytes else bytes(data)
    h = LINKTYPES.get(linktype)
    if h is not None:
        w.at = 0
        h.walk(d, w)
    else:
        w.add("other", 0)


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
    for i in range(len(records)):
        if keep is not None and not keep[i]:
            continue
        d = records[i][1]
        if 0 <= snaplen < len(d):
            d = d[:snaplen]
        try:
            h.walk(d, Walk(flows, True, False))
        except Exception:  # never take the printer down (the check after printing catches it)
            continue
