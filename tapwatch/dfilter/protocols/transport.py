"""The transport layer: ``tcp.*`` and ``udp.*``, with TCP's stream numbers and relative
sequence numbers from an in-order pass, as Wireshark computes them.

What the header holds is read per layer (``tcp.flags.syn``, ``tcp.srcport``...).  What
needs the packets before -- ``tcp.stream``, the relative ``tcp.seq``/``tcp.ack``/``tcp.nxtseq``
and the scaled ``tcp.window_size`` -- comes from :class:`TcpStreams`, a pass registered
as ``tcp.stream``: other modules (TCP analysis, reassembly) run after it and find each
TCP layer's :class:`TcpInfo` in ``layer.extra``.

Wireshark's rules, checked against tshark 4.0 on crafted captures:

* a connection is its two addresses and ports; a SYN without ACK whose sequence
  number differs from the first one seen in that direction starts a new stream
  (a port reused), numbered from 0 in order of appearance;
* relative numbers count from the latest SYN's sequence number, or from one before the
  first sequence number seen when the SYN was not captured; an acknowledgment
  number is relative only when the ACK flag is set (the other side's base is then
  taken from it if that side was not seen yet);
* the window is scaled by the shift each side's SYN announced, once both SYNs were
  seen and both announced one (``tcp.window_size_scalefactor``: the multiplier, -1
  when the SYNs were not seen, -2 when a side does not scale); a SYN's own window
  is never scaled.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import (
    IP_PROTOS,
    TCP_PORTS,
    UDP_HEURISTICS,
    UDP_PORTS,
    bind,
    both,
    flag,
    header_end,
    u16,
    uint,
    walked,
)
from tapwatch.dfilter.packet import Layer, Packet, Pass

#: Connections remembered at once; the oldest is forgotten past this (a bounded table).
MAX_STREAMS: Final = 1 << 20


def claimed_end(pkt: Packet, d: bytes, off: int, end: int) -> int:
    """Where the payload ends by the IP header's length (past what was captured when the
    packet was cut short): the enclosing layer says so in ``extra`` when it knows."""
    layers = pkt._layers
    if not layers:
        return end
    parent = layers[-1]
    x = parent.extra
    named = parent.name in ("ip", "ipv6") or parent.name.startswith("ipv6.")
    if parent.data is d and named and isinstance(x, int) and x >= off:
        return x
    return end


# ----------------------------------------------------------------------------- TCP


class TcpInfo:
    """What the TCP pass works out for one TCP layer (``layer.extra``)."""

    __slots__ = (
        "ack",
        "analysis",
        "direction",
        "flow",
        "hdr",
        "length",
        "nxtseq",
        "scale",
        "seq",
        "stream",
        "window",
    )

    def __init__(self, length: int) -> None:
        self.length = length  # tcp.len
        #: (sport, dport, seq, ack, offset and flags, window) as the header says, and the
        #: direction in the connection (0: as its first packet): the stream pass reads them
        #: once for the passes after it
        self.hdr: tuple[int, int, int, int, int, int] | None = None
        self.direction = 0
        self.stream = -1
        self.seq = -1
        self.ack = -1
        self.nxtseq = -1
        self.window = -1
        self.scale: int | None = None  # the multiplier, -1, -2, or None (a SYN)
        #: the pass's per-connection state, for passes that follow (reassembly, analysis)
        self.flow: Any = None
        #: the TCP analysis's findings (tapwatch.dfilter.protocols.tcp_analysis), if any
        self.analysis: Any = None


registry.register_protocol("tcp", "Transmission Control Protocol")
_sp = uint("tcp.srcport", "FT_UINT16", "tcp", 0, 2, desc="Source port")
_dp = uint("tcp.dstport", "FT_UINT16", "tcp", 2, 2, desc="Destination port")
both("tcp.port", _sp, _dp, "Source or destination port")
uint("tcp.seq_raw", "FT_UINT32", "tcp", 4, 4, desc="Sequence number (raw)")
uint("tcp.ack_raw", "FT_UINT32", "tcp", 8, 4, desc="Acknowledgment number (raw)")
registry.register_field(
    "tcp.hdr_len",
    "FT_UINT8",
    "tcp",
    lambda p, layer: layer.hlen,
    desc="Header length in bytes",
)
uint("tcp.flags", "FT_UINT16", "tcp", 12, 2, 0x0FFF, "Flags")
flag("tcp.flags.res", "tcp", 12, 2, 0x0E00, "Reserved")
flag("tcp.flags.ae", "tcp", 12, 2, 0x0100, "Accurate ECN")
flag("tcp.flags.cwr", "tcp", 12, 2, 0x0080, "Congestion window reduced")
flag("tcp.flags.ece", "tcp", 12, 2, 0x0040, "ECN-Echo")
flag("tcp.flags.urg", "tcp", 12, 2, 0x0020, "Urgent")
flag("tcp.flags.ack", "tcp", 12, 2, 0x0010, "Acknowledgment")
flag("tcp.flags.push", "tcp", 12, 2, 0x0008, "Push")
flag("tcp.flags.reset", "tcp", 12, 2, 0x0004, "Reset")
flag("tcp.flags.syn", "tcp", 12, 2, 0x0002, "Syn")
flag("tcp.flags.fin", "tcp", 12, 2, 0x0001, "Fin")
_FLAG_LETTERS: Final = "FSRPAUECA"


def _flags_str(pkt: Packet, layer: Layer) -> Any:
    """Wireshark's ``tcp.flags.str``: twelve places, a letter for each bit set, else a dot."""
    bits = u16(layer.data, layer.off + 12) & 0x0FFF
    out = []
    for i in range(11, -1, -1):
        if bits >> i & 1:
            out.append(_FLAG_LETTERS[i] if i < 9 else "R")
        else:
            out.append("\u00b7")
    return "".join(out).encode("utf-8").decode("latin-1")


registry.register_field("tcp.flags.str", "FT_STRING", "tcp", _flags_str, desc="Flags as text")
uint("tcp.window_size_value", "FT_UINT16", "tcp", 14, 2, desc="Window (unscaled)")
uint("tcp.checksum", "FT_UINT16", "tcp", 16, 2, desc="Checksum")
registry.register_field("tcp.checksum.status", "FT_UINT8", "tcp", lambda p, _l: 2)
uint("tcp.urgent_pointer", "FT_UINT16", "tcp", 18, 2, desc="Urgent pointer")
registry.register_field(
    "tcp.len", "FT_UINT32", "tcp", lambda p, layer: layer.extra.length, desc="Segment length"
)


def _payload(pkt: Packet, layer: Layer) -> Any:
    if layer.extra.length <= 0:
        return None
    start = layer.off + layer.hlen
    return layer.data[start : layer.end] if start < layer.end else None


registry.register_field("tcp.payload", "FT_BYTES", "tcp", _payload, desc="Payload")


def _options(pkt: Packet, layer: Layer) -> Any:
    if layer.hlen <= 20:
        return None
    return layer.data[layer.off + 20 : layer.off + layer.hlen]


registry.register_field("tcp.options", "FT_BYTES", "tcp", _options, desc="Options")


def tcp_options(layer: Layer) -> list[tuple[int, bytes]]:
    """``(kind, body)`` of each option (NOP and EOL with an empty body)."""
    d, at, end = layer.data, layer.off + 20, layer.off + layer.hlen
    out: list[tuple[int, bytes]] = []
    while at < end and len(out) < 40:
        kind = d[at]
        if kind == 0:
            out.append((0, b""))
            break
        if kind == 1:
            out.append((1, b""))
            at += 1
            continue
        if at + 1 >= end:
            break
        n = d[at + 1]
        if n < 2 or at + n > end:
            break
        out.append((kind, d[at + 2 : at + n]))
        at += n
    return out


def _option_values(fn: Any) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        if layer.hlen <= 20:
            return []
        return [v for v in (fn(k, b) for k, b in tcp_options(layer)) if v is not None]

    return get


registry.register_field(
    "tcp.option_kind", "FT_UINT8", "tcp", _option_values(lambda k, b: k), multi=True
)
registry.register_field(
    "tcp.option_len",
    "FT_UINT8",
    "tcp",
    _option_values(lambda k, b: len(b) + 2 if k > 1 else None),
    multi=True,
)
registry.register_field(
    "tcp.options.mss_val",
    "FT_UINT16",
    "tcp",
    _option_values(lambda k, b: int.from_bytes(b, "big") if k == 2 and len(b) == 2 else None),
    multi=True,
)
registry.register_field(
    "tcp.options.wscale.shift",
    "FT_UINT8",
    "tcp",
    _option_values(lambda k, b: b[0] if k == 3 and len(b) == 1 else None),
    multi=True,
)
registry.register_field(
    "tcp.options.wscale.multiplier",
    "FT_UINT16",
    "tcp",
    _option_values(lambda k, b: 1 << min(b[0], 14) if k == 3 and len(b) == 1 else None),
    multi=True,
)
registry.register_field(
    "tcp.options.timestamp.tsval",
    "FT_UINT32",
    "tcp",
    _option_values(lambda k, b: int.from_bytes(b[:4], "big") if k == 8 and len(b) == 8 else None),
    multi=True,
)
registry.register_field(
    "tcp.options.timestamp.tsecr",
    "FT_UINT32",
    "tcp",
    _option_values(lambda k, b: int.from_bytes(b[4:], "big") if k == 8 and len(b) == 8 else None),
    multi=True,
)


def _stateful(attr: str, *, skip_negative: bool = True) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        v = getattr(layer.extra, attr)
        if v is None or (skip_negative and isinstance(v, int) and v < 0 and attr != "scale"):
            return None
        return v

    return get


for _name, _attr, _ftype, _desc in (
    ("tcp.stream", "stream", "FT_UINT32", "Stream index"),
    ("tcp.seq", "seq", "FT_UINT32", "Sequence number (relative)"),
    ("tcp.ack", "ack", "FT_UINT32", "Acknowledgment number (relative)"),
    ("tcp.nxtseq", "nxtseq", "FT_UINT32", "Next sequence number (relative)"),
    ("tcp.window_size", "window", "FT_UINT32", "Calculated window size"),
    ("tcp.window_size_scalefactor", "scale", "FT_INT32", "Window size scaling factor"),
):
    registry.register_field(
        _name,
        _ftype,
        "tcp",
        _stateful(_attr),
        needs=("tcp.stream",),
        cost=registry.STATEFUL,
        desc=_desc,
    )


def tcp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off >= end:
        return
    if off + 20 > end:  # cut short: the layer is there (as Wireshark's), its fields as far as read
        pkt.add(Layer("tcp", d, off, end, end - off)).extra = TcpInfo(0)
        return
    head = header_end(pkt, d, off, end, "TCP", -1, 6)  # its data offset, as walked
    thl = head - off
    if head < 0 or thl < 20:
        return
    stop = claimed_end(pkt, d, off, end)
    length = stop - off - thl
    layer = pkt.add(Layer("tcp", d, off, end, min(thl, end - off)))
    layer.extra = TcpInfo(max(0, length))
    start, stop = off + thl, min(stop, end)
    if start < stop and TCP_PORTS:  # a protocol whose records each segment carries whole
        sport, dport = u16(d, off), u16(d, off + 2)
        for port in (sport, dport) if sport <= dport else (dport, sport):
            fn = TCP_PORTS.get(port)
            if fn is not None:
                fn(pkt, d, start, stop)
                return


bind(IP_PROTOS, (6,), tcp)


class _Side:
    __slots__ = ("base", "scale")

    def __init__(self) -> None:
        self.base: int | None = None
        self.scale = -1  # the shift its SYN announced; -1 not seen, -2 none


class TcpFlow:
    """One TCP connection as the pass tracks it; ``sides`` by direction (0: the side that
    was the source of the first packet seen)."""

    __slots__ = ("first", "key", "number", "sides", "state")

    def __init__(
        self, number: int, first: tuple[bytes, int], key: tuple[bytes, bytes, int, int]
    ) -> None:
        self.number = number
        self.first = first  # (source address, source port) of direction 0
        #: addresses and ports, the lower (address, port) first: the same both ways
        self.key = key
        self.sides = (_Side(), _Side())
        #: what later passes keep per connection (reassembly buffers...), by pass name
        self.state: dict[str, Any] = {}


class TcpStreams(Pass):
    """Numbers TCP connections and works out relative numbers and window scaling."""

    name = "tcp.stream"

    def __init__(self) -> None:
        self.flows: dict[tuple[bytes, bytes, int, int], TcpFlow] = {}
        self.count = 0

    def feed(self, pkt: Packet) -> None:
        index = pkt.index()
        tcps = index.get("tcp")
        if not tcps:
            return
        for layer in tcps:
            self._segment(pkt, layer)

    def _segment(self, pkt: Packet, layer: Layer) -> None:
        info: TcpInfo = layer.extra
        if layer.end - layer.off < 20:
            return
        d, o = layer.data, layer.off
        src, dst = _addresses(pkt, layer)
        hdr = info.hdr = _TCP_HEADER(d, o)
        sport, dport, seq, ack, flags, window = hdr
        flags &= 0x0FFF
        syn, has_ack, fin = flags & 2, flags & 0x10, flags & 1
        a, b = (src, sport), (dst, dport)
        key = (src, dst, sport, dport) if a <= b else (dst, src, dport, sport)
        flow = self.flows.get(key)
        if flow is not None and syn and not has_ack:
            fwd = flow.sides[0 if flow.first == a else 1]
            if fwd.base is not None and seq != fwd.base:
                flow = None  # a new connection on the same ports
        if flow is None:
            if len(self.flows) >= MAX_STREAMS:
                del self.flows[next(iter(self.flows))]
            flow = self.flows[key] = TcpFlow(self.count, a, key)
            self.count += 1
        direction = info.direction = 0 if flow.first == a else 1
        fwd, rev = flow.sides[direction], flow.sides[1 - direction]
        if syn:
            fwd.base = seq  # a SYN numbers its side from itself, even a second one
        elif fwd.base is None:
            fwd.base = (seq - 1) & 0xFFFFFFFF
        if syn:
            fwd.scale = -2
            for kind, body in tcp_options(layer):
                if kind == 3 and len(body) == 1:
                    fwd.scale = min(body[0], 14)
        if has_ack and rev.base is None:
            rev.base = (ack - 1) & 0xFFFFFFFF
        info.stream = flow.number
        info.flow = flow
        info.seq = (seq - fwd.base) & 0xFFFFFFFF
        if has_ack:
            assert rev.base is not None
            info.ack = (ack - rev.base) & 0xFFFFFFFF
        else:
            info.ack = ack
        info.nxtseq = (info.seq + info.length + (1 if syn else 0) + (1 if fin else 0)) & 0xFFFFFFFF
        if syn:
            info.window = window
            info.scale = None
        elif fwd.scale == -2 or rev.scale == -2:
            info.window, info.scale = window, -2
        elif fwd.scale < 0 or rev.scale < 0:
            info.window, info.scale = window, -1
        else:
            info.window, info.scale = window << fwd.scale, 1 << fwd.scale


_TCP_HEADER: Final = struct.Struct("!HHIIHH").unpack_from


def _addresses(pkt: Packet, layer: Layer) -> tuple[bytes, bytes]:
    """The addresses of the IP header a transport layer sits in (the nearest before it)."""
    index = pkt.index()
    ips, ip6s = index.get("ip"), index.get("ipv6")
    one = ips if ip6s is None else ip6s if ips is None else None
    if one is not None and len(one) == 1 and len(index.get(layer.name, ())) == 1:
        lay = one[0]  # the one IP header, before the one layer of this protocol
        if lay.data is layer.data and lay.off < layer.off:
            if ips is not None:
                return lay.data[lay.off + 12 : lay.off + 16], lay.data[lay.off + 16 : lay.off + 20]
            return lay.data[lay.off + 8 : lay.off + 24], lay.data[lay.off + 24 : lay.off + 40]
    layers = pkt.layers()
    at = layers.index(layer) if layer in layers else len(layers)
    for i in range(at - 1, -1, -1):
        lay = layers[i]
        if lay.name == "ip":
            return lay.data[lay.off + 12 : lay.off + 16], lay.data[lay.off + 16 : lay.off + 20]
        if lay.name == "ipv6":
            return lay.data[lay.off + 8 : lay.off + 24], lay.data[lay.off + 24 : lay.off + 40]
    return b"", b""


registry.register_pass("tcp.stream", TcpStreams)

# ----------------------------------------------------------------------------- UDP

registry.register_protocol("udp", "User Datagram Protocol")
_usp = uint("udp.srcport", "FT_UINT16", "udp", 0, 2, desc="Source port")
_udp = uint("udp.dstport", "FT_UINT16", "udp", 2, 2, desc="Destination port")
both("udp.port", _usp, _udp, "Source or destination port")
uint("udp.length", "FT_UINT16", "udp", 4, 2, desc="Length")
uint("udp.checksum", "FT_UINT16", "udp", 6, 2, desc="Checksum")
registry.register_field("udp.checksum.status", "FT_UINT8", "udp", lambda p, _l: 2)


def _udp_payload(pkt: Packet, layer: Layer) -> Any:
    start = layer.off + 8
    return layer.data[start : layer.end] if start < layer.end else None


registry.register_field("udp.payload", "FT_BYTES", "udp", _udp_payload, desc="Payload")
registry.register_field(
    "udp.stream",
    "FT_UINT32",
    "udp",
    lambda p, layer: layer.extra,
    needs=("udp.stream",),
    cost=registry.STATEFUL,
    desc="Stream index",
)


def udp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off >= end:
        return
    if off + 8 > end:  # cut short
        pkt.add(Layer("udp", d, off, end, end - off))
        return
    # its header's end and the datagram's (its length, within IP's), as the walk read them
    w = walked(pkt, d, off, end, "UDP", -1, 17)
    head = w.header_end(off, "UDP")
    if head < 0 or head > end:
        return
    ext = w.layer_end(off, "UDP")
    stop = min(end, ext) if ext >= 0 else end
    pkt.add(Layer("udp", d, off, stop, head - off))
    sport, dport = u16(d, off), u16(d, off + 2)
    lo, hi = (sport, dport) if sport <= dport else (dport, sport)
    start = head
    if start >= stop:
        return
    for port in (lo, hi):
        if port:
            fn = UDP_PORTS.get(port)
            if fn is not None:
                fn(pkt, d, start, stop)
                return
    for heuristic in UDP_HEURISTICS:
        if heuristic(pkt, d, start, stop):
            return


bind(IP_PROTOS, (17,), udp)


class UdpStreams(Pass):
    """Numbers UDP conversations (addresses and ports, both ways) in order of appearance."""

    name = "udp.stream"

    def __init__(self) -> None:
        self.flows: dict[tuple[bytes, bytes, int, int], int] = {}
        self.count = 0

    def feed(self, pkt: Packet) -> None:
        udps = pkt.index().get("udp")
        if not udps:
            return
        for layer in udps:
            d, o = layer.data, layer.off
            if layer.end - o < 4:
                continue
            src, dst = _addresses(pkt, layer)
            sport, dport = u16(d, o), u16(d, o + 2)
            key = (
                (src, dst, sport, dport)
                if (src, sport) <= (dst, dport)
                else (dst, src, dport, sport)
            )
            n = self.flows.get(key)
            if n is None:
                if len(self.flows) >= MAX_STREAMS:
                    del self.flows[next(iter(self.flows))]
                n = self.flows[key] = self.count
                self.count += 1
            layer.extra = n


registry.register_pass("udp.stream", UdpStreams)
