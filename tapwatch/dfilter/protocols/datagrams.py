"""Application protocols read from one UDP datagram: ``dns.*``, ``mdns.*`` and ``dhcp.*``.

Each message is read on first use of one of its fields, never for a packet no filter asks
about; names, records and options are bounded (``MAX_RECORDS``, ``MAX_JUMPS``).
"""

from __future__ import annotations

from typing import Any, Final

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import bind_ports, leaf, u16, u32
from tapwatch.dfilter.packet import Layer, Packet

# ----------------------------------------------------------------------------- DNS

registry.register_protocol("dns", "Domain Name System")
registry.register_protocol("mdns", "Multicast Domain Name System")

#: Names read from one message, and the most compression jumps followed in one name.
MAX_RECORDS: Final = 256
MAX_JUMPS: Final = 32


def _name(d: bytes, start: int, end: int, at: int) -> tuple[str, int]:
    """A (compressed) name at ``at`` in the message ``d[start:end]``: its text and where the
    name ends in place.  Raises IndexError/ValueError on a malformed name."""
    labels: list[str] = []
    after = -1
    jumps = 0
    total = 0
    while True:
        if at >= end:
            raise IndexError
        n = d[at]
        if n & 0xC0 == 0xC0:
            if at + 1 >= end:
                raise IndexError
            if after < 0:
                after = at + 2
            jumps += 1
            if jumps > MAX_JUMPS:
                raise ValueError("compression loop")
            at = start + (((n & 0x3F) << 8) | d[at + 1])
            continue
        if n == 0:
            if after < 0:
                after = at + 1
            break
        if at + 1 + n > end:
            raise IndexError
        labels.append(d[at + 1 : at + 1 + n].decode("latin-1"))
        total += n + 1
        if total > 255:
            raise ValueError("name too long")
        at += 1 + n
    return (".".join(labels) if labels else "<Root>"), after


class DnsMessage:
    __slots__ = ("answers", "queries")

    def __init__(self) -> None:
        self.queries: list[tuple[str, int, int]] = []  # name, type, class
        #: name, type, class, ttl, rdlength, rdata offset in the message bytes, data text
        self.answers: list[tuple[str, int, int, int, int, int, Any]] = []


def dns_message(layer: Layer) -> DnsMessage:
    """The questions and resource records of the message, read once (as far as they parse)."""
    got = layer.extra
    if got is not None:
        return got  # type: ignore[no-any-return]
    msg = DnsMessage()
    layer.extra = msg
    d, start, end = layer.data, layer.off, layer.end
    if start + 12 > end:
        return msg
    counts = [u16(d, start + 4 + 2 * i) for i in range(4)]
    at = start + 12
    try:
        for _ in range(min(counts[0], MAX_RECORDS)):
            name, at = _name(d, start, end, at)
            if at + 4 > end:
                return msg
            msg.queries.append((name, u16(d, at), u16(d, at + 2)))
            at += 4
        for _ in range(min(sum(counts[1:]), MAX_RECORDS)):
            name, at = _name(d, start, end, at)
            if at + 10 > end:
                return msg
            rtype, rclass, ttl, rdlen = u16(d, at), u16(d, at + 2), u32(d, at + 4), u16(d, at + 8)
            rd = at + 10
            if rd + rdlen > end:
                return msg
            value: Any = None
            if rtype == 1 and rdlen == 4:
                value = int.from_bytes(d[rd : rd + 4], "big")
            elif rtype == 28 and rdlen == 16:
                value = int.from_bytes(d[rd : rd + 16], "big")
            elif rtype in (2, 5, 12):
                value = _name(d, start, end, rd)[0]
            elif rtype == 15 and rdlen >= 3:
                value = _name(d, start, end, rd + 2)[0]
            msg.answers.append((name, rtype, rclass, ttl, rdlen, rd, value))
            at = rd + rdlen
    except (IndexError, ValueError):
        pass
    return msg


def _dns_field(name: str, ftype: str, fn: Any, multi: bool = False, desc: str = "") -> None:
    """A DNS field, read from mDNS messages too (Wireshark's mDNS uses DNS's fields)."""
    registry.register_field(
        name, ftype, "dns", fn, multi=multi, cost=registry.DEEP, desc=desc, also=("mdns",)
    )


def _hdr(at: int, mask: int = 0, response_only: bool = False) -> Any:
    shift = (mask & -mask).bit_length() - 1 if mask else 0

    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        if o + 12 > layer.end:
            return None
        if response_only and not d[o + 2] & 0x80:
            return None
        v = u16(d, o + at)
        return (v & mask) >> shift if mask else v

    return get


def _bit(mask: int, response_only: bool = False) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        if o + 12 > layer.end or (response_only and not d[o + 2] & 0x80):
            return None
        return 1 if u16(d, o + 2) & mask else 0

    return get


_dns_field("dns.id", "FT_UINT16", _hdr(0), desc="Transaction ID")
_dns_field("dns.flags", "FT_UINT16", _hdr(2), desc="Flags")
_dns_field("dns.flags.response", "FT_BOOLEAN", _bit(0x8000), desc="Response")
_dns_field("dns.flags.opcode", "FT_UINT16", _hdr(2, 0x7800), desc="Opcode")
_dns_field("dns.flags.authoritative", "FT_BOOLEAN", _bit(0x0400, True), desc="Authoritative")
_dns_field("dns.flags.truncated", "FT_BOOLEAN", _bit(0x0200), desc="Truncated")
_dns_field("dns.flags.recdesired", "FT_BOOLEAN", _bit(0x0100), desc="Recursion desired")
_dns_field("dns.flags.recavail", "FT_BOOLEAN", _bit(0x0080, True), desc="Recursion available")
_dns_field("dns.flags.z", "FT_BOOLEAN", _bit(0x0040), desc="Z (reserved)")
_dns_field("dns.flags.authenticated", "FT_BOOLEAN", _bit(0x0020, True), desc="Authentic data")
_dns_field("dns.flags.checkdisable", "FT_BOOLEAN", _bit(0x0010), desc="Checking disabled")
_dns_field("dns.flags.rcode", "FT_UINT16", _hdr(2, 0x000F, True), desc="Reply code")
_dns_field("dns.count.queries", "FT_UINT16", _hdr(4), desc="Questions")
_dns_field("dns.count.answers", "FT_UINT16", _hdr(6), desc="Answer RRs")
_dns_field("dns.count.auth_rr", "FT_UINT16", _hdr(8), desc="Authority RRs")
_dns_field("dns.count.add_rr", "FT_UINT16", _hdr(10), desc="Additional RRs")
_dns_field(
    "dns.qry.name",
    "FT_STRING",
    lambda p, layer: [q[0] for q in dns_message(layer).queries],
    True,
    "Query name",
)
_dns_field(
    "dns.qry.name.len",
    "FT_UINT16",
    lambda p, layer: [len(q[0]) if q[0] != "<Root>" else 0 for q in dns_message(layer).queries],
    True,
)
_dns_field(
    "dns.qry.type", "FT_UINT16", lambda p, layer: [q[1] for q in dns_message(layer).queries], True
)
_dns_field(
    "dns.qry.class",
    "FT_UINT16",
    lambda p, layer: [
        q[2] & 0x7FFF if p.index().get("mdns") else q[2] for q in dns_message(layer).queries
    ],
    True,
)
_dns_field(
    "dns.resp.name",
    "FT_STRING",
    lambda p, layer: [a[0] for a in dns_message(layer).answers],
    True,
)
_dns_field(
    "dns.resp.type", "FT_UINT16", lambda p, layer: [a[1] for a in dns_message(layer).answers], True
)
_dns_field(
    "dns.resp.ttl", "FT_UINT32", lambda p, layer: [a[3] for a in dns_message(layer).answers], True
)
_dns_field(
    "dns.resp.len", "FT_UINT16", lambda p, layer: [a[4] for a in dns_message(layer).answers], True
)


def _rdata(rtype: int) -> Any:
    return lambda p, layer: [
        a[6] for a in dns_message(layer).answers if a[1] == rtype and a[6] is not None
    ]


_dns_field("dns.a", "FT_IPv4", _rdata(1), True, "Address")
_dns_field("dns.aaaa", "FT_IPv6", _rdata(28), True, "AAAA address")
_dns_field("dns.cname", "FT_STRING", _rdata(5), True, "Canonical name")
_dns_field("dns.ns", "FT_STRING", _rdata(2), True, "Name server")
_dns_field("dns.ptr.domain_name", "FT_STRING", _rdata(12), True, "Domain name")
_dns_field("dns.mx.mail_exchange", "FT_STRING", _rdata(15), True, "Mail exchange")


@leaf
def dns(pkt: Packet, d: bytes, off: int, end: int) -> None:
    pkt.add(Layer("dns", d, off, end, 12))


@leaf
def mdns(pkt: Packet, d: bytes, off: int, end: int) -> None:
    pkt.add(Layer("mdns", d, off, end, 12))


bind_ports("udp", "dns", dns)
bind_ports("udp", "mdns", mdns)

# ----------------------------------------------------------------------------- DHCP

registry.register_protocol("dhcp", "Dynamic Host Configuration Protocol")


def _dhcp_u(at: int, size: int) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        o = layer.off + at
        if o + size > layer.end:
            return None
        return int.from_bytes(layer.data[o : o + size], "big")

    return get


for _n, _t, _at, _size in (
    ("dhcp.type", "FT_UINT8", 0, 1),
    ("dhcp.hw.type", "FT_UINT8", 1, 1),
    ("dhcp.hw.len", "FT_UINT8", 2, 1),
    ("dhcp.hops", "FT_UINT8", 3, 1),
    ("dhcp.id", "FT_UINT32", 4, 4),
    ("dhcp.secs", "FT_UINT16", 8, 2),
    ("dhcp.flags", "FT_UINT16", 10, 2),
    ("dhcp.ip.client", "FT_IPv4", 12, 4),
    ("dhcp.ip.your", "FT_IPv4", 16, 4),
    ("dhcp.ip.server", "FT_IPv4", 20, 4),
    ("dhcp.ip.relay", "FT_IPv4", 24, 4),
):
    registry.register_field(_n, _t, "dhcp", _dhcp_u(_at, _size), cost=registry.DEEP)


def _dhcp_mac(pkt: Packet, layer: Layer) -> Any:
    d, o = layer.data, layer.off
    if o + 34 > layer.end or d[o + 1] != 1 or d[o + 2] != 6:
        return None
    return d[o + 28 : o + 34]


registry.register_field("dhcp.hw.mac_addr", "FT_ETHER", "dhcp", _dhcp_mac, cost=registry.DEEP)


def _dhcp_options(layer: Layer) -> list[tuple[int, bytes]]:
    got = layer.extra
    if got is not None:
        return got  # type: ignore[no-any-return]
    out: list[tuple[int, bytes]] = []
    d, at, end = layer.data, layer.off + 240, layer.end
    if layer.off + 240 <= end and d[layer.off + 236 : layer.off + 240] == b"\x63\x82\x53\x63":
        while at < end and len(out) < 255:
            t = d[at]
            if t == 0:
                at += 1
                continue
            if t == 255:
                out.append((255, b""))
                break
            if at + 2 > end:
                break
            n = d[at + 1]
            out.append((t, d[at + 2 : at + 2 + n]))
            at += 2 + n
    layer.extra = out
    return out


registry.register_field(
    "dhcp.option.type",
    "FT_UINT8",
    "dhcp",
    lambda p, layer: [t for t, _b in _dhcp_options(layer)],
    multi=True,
    cost=registry.DEEP,
)
registry.register_field(
    "dhcp.option.dhcp",
    "FT_UINT8",
    "dhcp",
    lambda p, layer: [b[0] for t, b in _dhcp_options(layer) if t == 53 and b],
    multi=True,
    cost=registry.DEEP,
    desc="DHCP message type",
)


@leaf
def dhcp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    pkt.add(Layer("dhcp", d, off, end))


bind_ports("udp", "dhcp", dhcp)
