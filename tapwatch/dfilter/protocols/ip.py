"""The network layer: ``ip.*``, ``ipv6.*`` (with its extension headers), ``icmp.*``, ``icmpv6.*``.

As Wireshark does by default, fragments are put back together: a fragment's payload
is not dissected, and the datagram is, in the frame whose fragment completes it (so
``icmp`` selects the last fragment of a big ping, not the first).  That needs the
fragments before, so it happens only when the packet comes with its capture
(:class:`~tapwatch.dfilter.packet.Capture`), which holds the pieces, bounded.
ICMP errors carry the start of the datagram that caused them, dissected as IP, as
Wireshark's: ``ip.addr`` then has four values.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import (
    ETHERTYPES,
    IP_PROTOS,
    bind,
    both,
    flag,
    header_end,
    ip_any,
    ip_proto,
    raw,
    room,
    u16,
    uint,
    walked,
)
from tapwatch.dfilter.packet import Capture, Layer, Packet

# ----------------------------------------------------------------------------- reassembly

#: Datagrams being put together at once, and the most bytes one may have.
MAX_PENDING: Final = 1024
MAX_DATAGRAM: Final = 65535 + 8


class Reassembly:
    """Fragments by datagram (addresses, identification, protocol), bounded: the oldest
    datagram is forgotten when too many are pending."""

    def __init__(self) -> None:
        self.pending: dict[tuple[Any, ...], dict[int, bytes]] = {}
        self.total: dict[tuple[Any, ...], int] = {}

    def add(self, key: tuple[Any, ...], offset: int, data: bytes, last: bool) -> bytes | None:
        """The whole payload once ``data`` completes it, else None."""
        if offset + len(data) > MAX_DATAGRAM:
            return None
        pieces = self.pending.get(key)
        if pieces is None:
            if len(self.pending) >= MAX_PENDING:
                old = next(iter(self.pending))
                del self.pending[old]
                self.total.pop(old, None)
            pieces = self.pending[key] = {}
        pieces[offset] = data
        if last:
            self.total[key] = offset + len(data)
        total = self.total.get(key)
        if total is None:
            return None
        at = 0
        out = []
        for off in sorted(pieces):
            if off > at:
                return None
            chunk = pieces[off]
            if off + len(chunk) > at:
                out.append(chunk[at - off :])
                at = off + len(chunk)
        if at < total:
            return None
        del self.pending[key]
        del self.total[key]
        return b"".join(out)[:total]


def _reassembly(cap: Capture) -> Reassembly:
    got = cap.state.get("ip.reassembly")
    if not isinstance(got, Reassembly):
        got = cap.state["ip.reassembly"] = Reassembly()
    return got


# ----------------------------------------------------------------------------- IPv4

registry.register_protocol("ip", "Internet Protocol Version 4")
uint("ip.version", "FT_UINT8", "ip", 0, 1, 0xF0, "Version")
registry.register_field(
    "ip.hdr_len",
    "FT_UINT8",
    "ip",
    lambda p, layer: (layer.data[layer.off] & 15) * 4,
    desc="Header length in bytes",
)
uint("ip.dsfield", "FT_UINT8", "ip", 1, 1, desc="Differentiated services field")
uint("ip.dsfield.dscp", "FT_UINT8", "ip", 1, 1, 0xFC, "DSCP")
uint("ip.dsfield.ecn", "FT_UINT8", "ip", 1, 1, 0x03, "ECN")
uint("ip.len", "FT_UINT16", "ip", 2, 2, desc="Total length")
uint("ip.id", "FT_UINT16", "ip", 4, 2, desc="Identification")
uint("ip.flags", "FT_UINT8", "ip", 6, 1, 0xE0, "Flags")
flag("ip.flags.rb", "ip", 6, 1, 0x80, "Reserved bit")
flag("ip.flags.df", "ip", 6, 1, 0x40, "Don't fragment")
flag("ip.flags.mf", "ip", 6, 1, 0x20, "More fragments")
uint("ip.frag_offset", "FT_UINT16", "ip", 6, 2, 0x1FFF, "Fragment offset (8-byte units)")
uint("ip.ttl", "FT_UINT8", "ip", 8, 1, desc="Time to live")
uint("ip.proto", "FT_UINT8", "ip", 9, 1, desc="Protocol")
uint("ip.checksum", "FT_UINT16", "ip", 10, 2, desc="Header checksum")
registry.register_field(
    "ip.checksum.status", "FT_UINT8", "ip", lambda p, _l: 2, desc="2: not verified"
)
_src = raw("ip.src", "FT_IPv4", "ip", 12, 4, "Source address")
_dst = raw("ip.dst", "FT_IPv4", "ip", 16, 4, "Destination address")
both("ip.addr", _src, _dst, "Source or destination address")


def _host(at: int) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        o = layer.off + at
        if o + 4 > layer.end:
            return None
        b = layer.data[o : o + 4]
        return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"

    return get


_src_host = registry.register_field("ip.src_host", "FT_STRING", "ip", _host(12))
_dst_host = registry.register_field("ip.dst_host", "FT_STRING", "ip", _host(16))
both("ip.host", _src_host, _dst_host, "Source or destination host (never resolved)")


_IP4_HEAD: Final = struct.Struct("!BxHxxHxB").unpack_from


def ipv4(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 20 > end:
        return
    _vhl, total, fo, proto = _IP4_HEAD(d, off)
    head = header_end(pkt, d, off, end, "IPv4", 0x0800)  # IHL's, as the walk read it
    ihl = head - off
    if head < 0 or ihl < 20 or head > end:
        return
    stop = min(end, off + total) if total >= ihl else end
    pkt.add(Layer("ip", d, off, stop, ihl)).extra = off + total if total >= ihl else end
    more, offset = fo & 0x2000, (fo & 0x1FFF) * 8
    if more or offset:
        cap = pkt.capture
        if cap is None:
            return
        key = (4, d[off + 12 : off + 20], u16(d, off + 4), proto)
        whole = _reassembly(cap).add(key, offset, d[off + ihl : stop], not more)
        if whole is not None:
            ip_proto(pkt, whole, 0, len(whole), proto)
        return
    ip_proto(pkt, d, off + ihl, stop, proto)


bind(ETHERTYPES, (0x0800,), ipv4)
bind(IP_PROTOS, (4,), ipv4)  # IP in IP

# ----------------------------------------------------------------------------- IPv6

registry.register_protocol("ipv6", "Internet Protocol Version 6")
uint("ipv6.version", "FT_UINT8", "ipv6", 0, 1, 0xF0, "Version")
uint("ipv6.tclass", "FT_UINT32", "ipv6", 0, 4, 0x0FF00000, "Traffic class")
uint("ipv6.tclass.dscp", "FT_UINT32", "ipv6", 0, 4, 0x0FC00000, "DSCP")
uint("ipv6.tclass.ecn", "FT_UINT32", "ipv6", 0, 4, 0x00300000, "ECN")
uint("ipv6.flow", "FT_UINT24", "ipv6", 1, 3, 0x0FFFFF, "Flow label")
uint("ipv6.plen", "FT_UINT16", "ipv6", 4, 2, desc="Payload length")
uint("ipv6.nxt", "FT_UINT8", "ipv6", 6, 1, desc="Next header")
uint("ipv6.hlim", "FT_UINT8", "ipv6", 7, 1, desc="Hop limit")
_src6 = raw("ipv6.src", "FT_IPv6", "ipv6", 8, 16, "Source address")
_dst6 = raw("ipv6.dst", "FT_IPv6", "ipv6", 24, 16, "Destination address")
both("ipv6.addr", _src6, _dst6, "Source or destination address")

#: extension headers: next-header number -> the protocol Wireshark names it
_EXT: Final = {0: "ipv6.hopopts", 43: "ipv6.routing", 60: "ipv6.dstopts", 44: "ipv6.fraghdr"}
for _num, _name in _EXT.items():
    registry.register_protocol(_name, f"IPv6 extension header {_num}")
    uint(f"{_name}.nxt", "FT_UINT8", _name, 0, 1, desc="Next header")
    if _num != 44:
        uint(f"{_name}.len", "FT_UINT8", _name, 1, 1, desc="Length")
uint("ipv6.fraghdr.offset", "FT_UINT16", "ipv6.fraghdr", 2, 2, 0xFFF8, "Offset (8-byte units)")
flag("ipv6.fraghdr.more", "ipv6.fraghdr", 2, 2, 0x0001, "More fragments")
uint("ipv6.fraghdr.ident", "FT_UINT32", "ipv6.fraghdr", 4, 4, desc="Identification")
uint("ipv6.routing.type", "FT_UINT8", "ipv6.routing", 2, 1, desc="Type")
uint("ipv6.routing.segleft", "FT_UINT8", "ipv6.routing", 3, 1, desc="Segments left")


def ipv6(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 40 > end:
        return
    plen = u16(d, off + 4)
    stop = min(end, off + 40 + plen) if plen else end
    claimed = off + 40 + plen if plen else end
    pkt.add(Layer("ipv6", d, off, stop, 40)).extra = claimed
    nh = d[off + 6]
    at = off + 40
    # the extension headers' ends are the walk's (it passed over them to the payload)
    w = walked(pkt, d, off, end, "IPv6", 0x86DD)
    for _ in range(8):  # a bounded chain of extension headers
        name = _EXT.get(nh)
        if name is None or not room(pkt):
            break
        nxt = w.part_end(at, "IPv6")
        if nh == 44:
            if nxt < 0 or nxt > stop:
                return
            pkt.add(Layer(name, d, at, nxt, nxt - at))
            fo = u16(d, at + 2)
            proto = d[at]
            more, offset = fo & 1, fo & 0xFFF8
            cap = pkt.capture
            if cap is None:
                return
            key = (6, d[off + 8 : off + 40], d[at + 4 : at + 8], proto)
            whole = _reassembly(cap).add(key, offset, d[nxt:stop], not more)
            if whole is not None:
                ip_proto(pkt, whole, 0, len(whole), proto)
            return
        if nxt < 0 or nxt > stop:
            return
        pkt.add(Layer(name, d, at, nxt, nxt - at)).extra = claimed
        nh = d[at]
        at = nxt
    ip_proto(pkt, d, at, stop, nh)


bind(ETHERTYPES, (0x86DD,), ipv6)
bind(IP_PROTOS, (41,), ipv6)  # IPv6 in IP

# ----------------------------------------------------------------------------- ICMP

registry.register_protocol("icmp", "Internet Control Message Protocol")
uint("icmp.type", "FT_UINT8", "icmp", 0, 1, desc="Type")
uint("icmp.code", "FT_UINT8", "icmp", 1, 1, desc="Code")
uint("icmp.checksum", "FT_UINT16", "icmp", 2, 2, desc="Checksum")
registry.register_field("icmp.checksum.status", "FT_UINT8", "icmp", lambda p, _l: 2)

#: types with an identifier and sequence number (echo, timestamp, information, mask)
_ICMP_IDENT: Final = frozenset({0, 8, 13, 14, 15, 16, 17, 18})
#: error types: the datagram that caused them follows
_ICMP_ERRORS: Final = frozenset({3, 4, 5, 11, 12})


def _icmp_when(types: frozenset[int], at: int, size: int, little: bool = False) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        if d[o] not in types or o + at + size > layer.end:
            return None
        return int.from_bytes(d[o + at : o + at + size], "little" if little else "big")

    return get


registry.register_field(
    "icmp.ident", "FT_UINT16", "icmp", _icmp_when(_ICMP_IDENT, 4, 2), desc="Identifier"
)
registry.register_field(
    "icmp.seq", "FT_UINT16", "icmp", _icmp_when(_ICMP_IDENT, 6, 2), desc="Sequence number"
)
registry.register_field(
    "icmp.ident_le",
    "FT_UINT16",
    "icmp",
    _icmp_when(_ICMP_IDENT, 4, 2, True),
    desc="Identifier (LE)",
)
registry.register_field(
    "icmp.seq_le", "FT_UINT16", "icmp", _icmp_when(_ICMP_IDENT, 6, 2, True), desc="Sequence (LE)"
)


def _icmp_mtu(pkt: Packet, layer: Layer) -> Any:
    d, o = layer.data, layer.off
    if d[o] == 3 and d[o + 1] == 4 and o + 8 <= layer.end:
        return u16(d, o + 6)
    return None


def _icmp_gw(pkt: Packet, layer: Layer) -> Any:
    d, o = layer.data, layer.off
    if d[o] == 5 and o + 8 <= layer.end:
        return int.from_bytes(d[o + 4 : o + 8], "big")
    return None


registry.register_field("icmp.mtu", "FT_UINT16", "icmp", _icmp_mtu, desc="MTU of next hop")
registry.register_field("icmp.redir_gw", "FT_IPv4", "icmp", _icmp_gw, desc="Gateway address")


def icmp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 4 > end:
        return
    pkt.add(Layer("icmp", d, off, end, 8))
    if d[off] in _ICMP_ERRORS and off + 8 < end:
        ip_any(pkt, d, off + 8, end)


bind(IP_PROTOS, (1,), icmp)

# ----------------------------------------------------------------------------- ICMPv6

registry.register_protocol("icmpv6", "Internet Control Message Protocol v6")
uint("icmpv6.type", "FT_UINT8", "icmpv6", 0, 1, desc="Type")
uint("icmpv6.code", "FT_UINT8", "icmpv6", 1, 1, desc="Code")
uint("icmpv6.checksum", "FT_UINT16", "icmpv6", 2, 2, desc="Checksum")
registry.register_field("icmpv6.checksum.status", "FT_UINT8", "icmpv6", lambda p, _l: 2)


def _v6_when(types: tuple[int, ...], at: int, size: int, as_bytes: bool = False) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        if d[o] not in types or o + at + size > layer.end:
            return None
        b = d[o + at : o + at + size]
        return b if as_bytes else int.from_bytes(b, "big")

    return get


registry.register_field("icmpv6.echo.identifier", "FT_UINT16", "icmpv6", _v6_when((128, 129), 4, 2))
registry.register_field(
    "icmpv6.echo.sequence_number", "FT_UINT16", "icmpv6", _v6_when((128, 129), 6, 2)
)
registry.register_field("icmpv6.mtu", "FT_UINT32", "icmpv6", _v6_when((2,), 4, 4))
registry.register_field("icmpv6.nd.ns.target_address", "FT_IPv6", "icmpv6", _v6_when((135,), 8, 16))
registry.register_field("icmpv6.nd.na.target_address", "FT_IPv6", "icmpv6", _v6_when((136,), 8, 16))
registry.register_field("icmpv6.nd.na.flag", "FT_UINT32", "icmpv6", _v6_when((136,), 4, 4))
for _bit, _letter in ((0x80, "r"), (0x40, "s"), (0x20, "o")):

    def _na_flag(pkt: Packet, layer: Layer, bit: int = _bit) -> Any:
        d, o = layer.data, layer.off
        if d[o] != 136 or o + 5 > layer.end:
            return None
        return 1 if d[o + 4] & bit else 0

    registry.register_field(f"icmpv6.nd.na.flag.{_letter}", "FT_BOOLEAN", "icmpv6", _na_flag)

#: where options start, by ND type (router/neighbor solicitation/advertisement, redirect)
_ND_OPTS: Final = {133: 8, 134: 16, 135: 24, 136: 24, 137: 40}


def _options(layer: Layer) -> list[tuple[int, int, bytes]]:
    """``(type, length in 8-byte units, body)`` of each ND option, read once."""
    got = layer.extra
    if got is not None:
        return got  # type: ignore[no-any-return]
    d, o, end = layer.data, layer.off, layer.end
    out: list[tuple[int, int, bytes]] = []
    start = _ND_OPTS.get(d[o])
    if start is not None:
        at = o + start
        while at + 2 <= end and len(out) < 64:
            t, n = d[at], d[at + 1]
            if n == 0:
                break
            out.append((t, n, d[at + 2 : min(end, at + n * 8)]))
            at += n * 8
    layer.extra = out
    return out


registry.register_field(
    "icmpv6.opt.type",
    "FT_UINT8",
    "icmpv6",
    lambda p, layer: [t for t, _n, _b in _options(layer)],
    multi=True,
)
registry.register_field(
    "icmpv6.opt.length",
    "FT_UINT8",
    "icmpv6",
    lambda p, layer: [n for _t, n, _b in _options(layer)],
    multi=True,
)
registry.register_field(
    "icmpv6.opt.linkaddr",
    "FT_BYTES",
    "icmpv6",
    lambda p, layer: [b[:6] for t, _n, b in _options(layer) if t in (1, 2) and len(b) >= 6],
    multi=True,
)
registry.register_field(
    "icmpv6.opt.src_linkaddr",
    "FT_BYTES",
    "icmpv6",
    lambda p, layer: [b[:6] for t, _n, b in _options(layer) if t == 1 and len(b) >= 6],
    multi=True,
)
registry.register_field(
    "icmpv6.opt.target_linkaddr",
    "FT_BYTES",
    "icmpv6",
    lambda p, layer: [b[:6] for t, _n, b in _options(layer) if t == 2 and len(b) >= 6],
    multi=True,
)


def icmpv6(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 4 > end:
        return
    pkt.add(Layer("icmpv6", d, off, end, 8))
    if d[off] < 128 and off + 8 < end:
        ip_any(pkt, d, off + 8, end)


bind(IP_PROTOS, (58,), icmpv6)
