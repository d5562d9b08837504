"""IPv4 and IPv6 headers (with IPv6 extension headers) in tshark's words and spans."""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import IP_FLAG_WORDS, Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import MAX_ITEMS, ip4, ip6, node, set_word, u16, u32, verdict

# ----------------------------------------------------------------------------- IP

IP_PROTOCOLS: Final = {
    0: "IPv6 Hop-by-Hop Option",
    1: "ICMP",
    2: "IGMP",
    4: "IPIP",
    6: "TCP",
    8: "EGP",
    9: "IGRP",
    17: "UDP",
    33: "Datagram Congestion Control Protocol",
    41: "IPv6",
    43: "Routing Header for IPv6",
    44: "Fragment Header for IPv6",
    46: "Reservation Protocol",
    47: "Generic Routing Encapsulation",
    50: "Encap Security Payload",
    51: "Authentication Header",
    58: "ICMPv6",
    59: "No Next Header for IPv6",
    60: "Destination Options for IPv6",
    88: "EIGRP",
    89: "OSPF IGP",
    94: "IP in IP",
    97: "Ether in IP",
    103: "PIM",
    108: "IPComp",
    112: "VRRP",
    115: "Layer 2 Tunneling",
    132: "SCTP",
    135: "Mobile IPv6",
    136: "UDPLite",
    137: "MPLS in IP",
    139: "HIP",
    140: "Shim6 header",
    143: "Ethernet",
}


def ip_protocol(p: int) -> str:
    return f"{IP_PROTOCOLS.get(p, 'Unknown')} ({p})"


_DSCP_SHORT: Final = {
    0: "CS0",
    1: "LE",
    8: "CS1",
    10: "AF11",
    12: "AF12",
    14: "AF13",
    16: "CS2",
    18: "AF21",
    20: "AF22",
    22: "AF23",
    24: "CS3",
    26: "AF31",
    28: "AF32",
    30: "AF33",
    32: "CS4",
    34: "AF41",
    36: "AF42",
    38: "AF43",
    40: "CS5",
    44: "VOICE-ADMIT",
    46: "EF PHB",
    48: "CS6",
    56: "CS7",
}
_DSCP_LONG: Final = {
    0: "Default",
    1: "Lower Effort",
    44: "Voice Admit",
    46: "Expedited Forwarding",
    **{8 * k: f"Class Selector {k}" for k in range(1, 8)},
    **{8 * c + 2 * p: f"Assured Forwarding {c}{p}" for c in range(1, 5) for p in range(1, 4)},
}
_ECN_SHORT: Final = ("Not-ECT", "ECT(1)", "ECT(0)", "CE")
_ECN_LONG: Final = (
    "Not ECN-Capable Transport",
    "ECN-Capable Transport codepoint '01'",
    "ECN-Capable Transport codepoint '10'",
    "Congestion Experienced",
)


def _ds_words(v: int) -> str:
    dscp = v >> 2
    return f"0x{v:02x} (DSCP: {_DSCP_SHORT.get(dscp, 'Unknown')}, ECN: {_ECN_SHORT[v & 3]})"


def _ds_bits(v: int, shift: int, width: int, at: int, end: int) -> list[Node]:
    dscp, ecn = v >> 2, v & 3
    return [
        node(
            bits_line(
                v << shift,
                0xFC << shift,
                width,
                "Differentiated Services Codepoint",
                f"{_DSCP_LONG.get(dscp, 'Unknown')} ({dscp})",
            ),
            at,
            end,
        ),
        node(
            bits_line(
                v << shift,
                0x03 << shift,
                width,
                "Explicit Congestion Notification",
                f"{_ECN_LONG[ecn]} ({ecn})",
            ),
            at,
            end,
        ),
    ]


def ipv4(data: bytes, s: int, net: Net) -> Node | None:
    if s + 20 > len(data) or data[s] >> 4 != 4:
        return None
    d = data
    ihl = (d[s] & 15) * 4  # the field's value; where the header ends is the walk's
    end = min(len(d), max(net.header_end(s, "IPv4", ip=True), s + 20))
    src, dst = ip4(d[s + 12 : s + 16]), ip4(d[s + 16 : s + 20])
    ident = u16(d, s + 4)
    flags = d[s + 6] >> 5
    words = ", ".join(w for bit, w in IP_FLAG_WORDS if flags & bit)
    frag = u16(d, s + 6) & 0x1FFF
    kids = [
        node(bits_line(d[s], 0xF0, 8, "Version", "4"), s, s + 1),
        node(bits_line(d[s], 0x0F, 8, "Header Length", f"{ihl} bytes ({ihl // 4})"), s, s + 1),
        node(
            f"Differentiated Services Field: {_ds_words(d[s + 1])}",
            s + 1,
            s + 2,
            _ds_bits(d[s + 1], 0, 8, s + 1, s + 2),
        ),
        node(f"Total Length: {u16(d, s + 2)}", s + 2, s + 4),
        node(f"Identification: 0x{ident:04x} ({ident})", s + 4, s + 6),
        node(
            bits_line(d[s + 6], 0xE0, 8, "Flags", f"0x{flags:x}" + (f", {words}" if words else "")),
            s + 6,
            s + 7,
            [
                node(bits_line(d[s + 6], bit << 5, 8, w, set_word(flags & bit)), s + 6, s + 7)
                for bit, w in IP_FLAG_WORDS
            ],
        ),
        node(
            bits_line(u16(d, s + 6), 0x1FFF, 16, "Fragment Offset", str(frag * 8)),
            s + 6,
            s + 8,
        ),
        node(f"Time to Live: {d[s + 8]}", s + 8, s + 9),
        node(f"Protocol: {ip_protocol(d[s + 9])}", s + 9, s + 10),
        node(f"Header Checksum: {verdict(u16(d, s + 10), s, net, 'ip')}", s + 10, s + 12),
        node(f"Source Address: {src}", s + 12, s + 16),
        node(f"Destination Address: {dst}", s + 16, s + 20),
    ]
    if end > s + 20:
        options = _ipv4_options(d, s + 20, end)
        if options is not None:
            kids.append(options)
    return node(f"Internet Protocol Version 4, Src: {src}, Dst: {dst}", s, end, kids)


_ROUTER_ALERT_WORDS: Final = {0: "Router shall examine packet"}


def _ipv4_options(d: bytes, start: int, end: int) -> Node | None:
    """IPv4 options when they are all Router Alerts (what IGMP and RSVP carry); None (no
    node) when another option is there."""
    kids: list[Node] = []
    at = start
    while at < end:
        if d[at] != 0x94 or at + 4 > end or d[at + 1] != 4:
            return None
        v = u16(d, at + 2)
        what = _ROUTER_ALERT_WORDS.get(v, "Reserved")
        kids.append(node(f"IP Option - Router Alert (4 bytes): {what} ({v})", at, at + 4))
        at += 4
    words = ", Router Alert" * len(kids)
    return node(f"Options: ({end - start} bytes){words}", start, end, kids)


def ipv6(data: bytes, s: int, net: Net) -> Node | None:
    if s + 40 > len(data) or data[s] >> 4 != 6:
        return None
    # a quoted datagram: the walk enters it here (the ends of its extension headers)
    net.header_end(s, "IPv6", ip=True)
    d = data
    first = u32(d, s)
    tc = (first >> 20) & 0xFF
    flow = first & 0xFFFFF
    src, dst = ip6(d[s + 8 : s + 24]), ip6(d[s + 24 : s + 40])
    kids = [
        node(bits_line(d[s], 0xF0, 8, "Version", "6"), s, s + 1),
        node(
            bits_line(first, 0x0FF00000, 32, "Traffic Class", _ds_words(tc)),
            s,
            s + 4,
            _ds_bits(tc, 20, 32, s, s + 4),
        ),
        node(bits_line(first & 0xFFFFFF, 0xFFFFF, 24, "Flow Label", f"0x{flow:05x}"), s + 1, s + 4),
        node(f"Payload Length: {u16(d, s + 4)}", s + 4, s + 6),
        node(f"Next Header: {ip_protocol(d[s + 6])}", s + 6, s + 7),
        node(f"Hop Limit: {d[s + 7]}", s + 7, s + 8),
        node(f"Source Address: {src}", s + 8, s + 24),
        node(f"Destination Address: {dst}", s + 24, s + 40),
    ]
    return node(f"Internet Protocol Version 6, Src: {src}, Dst: {dst}", s, s + 40, kids)


_EXT_TITLES: Final = {
    "IPv6ExtHdrHopByHop": "IPv6 Hop-by-Hop Option",
    "IPv6ExtHdrDestOpt": "Destination Options for IPv6",
    "IPv6ExtHdrRouting": "Routing Header for IPv6",
    "IPv6ExtHdrFragment": "Fragment Header for IPv6",
}


IPV6_EXTENSIONS: Final = frozenset(_EXT_TITLES)


def ipv6_extension(kind: str, data: bytes, s: int, net: Net) -> Node | None:
    """An IPv6 extension header, nested in the IPv6 layer as Wireshark nests it."""
    title = _EXT_TITLES.get(kind)
    if title is None or s + 2 > len(data):
        return None
    claimed = net.part_end(s, "IPv6")  # the walk's: the extension headers it passed over
    if claimed < 0:
        return None
    end = min(len(data), claimed)
    if kind == "IPv6ExtHdrFragment":
        if s + 8 > len(data):
            return None
        off = u16(data, s + 2)
        return node(
            title,
            s,
            end,
            [
                node(f"Next header: {ip_protocol(data[s])}", s, s + 1),
                node(f"Reserved octet: 0x{data[s + 1]:02x}", s + 1, s + 2),
                node(
                    bits_line(off, 0xFFF8, 16, "Offset", f"{off >> 3} ({off & 0xFFF8} bytes)"),
                    s + 2,
                    s + 4,
                ),
                node(bits_line(off, 0x0006, 16, "Reserved bits", str(off >> 1 & 3)), s + 2, s + 4),
                node(
                    bits_line(off, 0x0001, 16, "More Fragments", "Yes" if off & 1 else "No"),
                    s + 2,
                    s + 4,
                ),
                node(f"Identification: 0x{u32(data, s + 4):08x}", s + 4, s + 8),
            ],
        )
    n = data[s + 1]
    kids = [
        node(f"Next Header: {ip_protocol(data[s])}", s, s + 1),
        node(f"Length: {n}", s + 1, s + 2),
        node(f"[Length: {(n + 1) * 8} bytes]", s + 1, s + 2),
    ]
    if kind in ("IPv6ExtHdrHopByHop", "IPv6ExtHdrDestOpt"):
        kids += _ipv6_options(data, s + 2, end)
    return node(title, s, end, kids)


_ROUTER_ALERTS: Final = {0: "MLD", 1: "RSVP", 2: "Active Networks"}


def _ipv6_options(d: bytes, at: int, end: int) -> list[Node]:
    """The Router Alert and PadN options of a hop-by-hop or destination options header
    (the first option of another kind ends the list shown)."""
    out: list[Node] = []
    while at + 2 <= end and len(out) < MAX_ITEMS:
        t, n = d[at], d[at + 1]
        stop = at + 2 + n
        if stop > end or t not in (1, 5) or (t == 5 and n != 2):
            break
        name = "PadN" if t == 1 else "Router Alert"
        kids = [
            node(
                f"Type: {name} (0x{t:02x})",
                at,
                at + 1,
                [
                    node(bits_line(t, 0xC0, 8, "Action", "Skip and continue (0)"), at, at + 1),
                    node(bits_line(t, 0x20, 8, "May Change", "No"), at, at + 1),
                    node(bits_line(t, 0x1F, 8, "Low-Order Bits", f"0x{t & 0x1F:02x}"), at, at + 1),
                ],
            ),
            node(f"Length: {n}", at + 1, at + 2),
        ]
        if t == 5:
            v = u16(d, at + 2)
            kids.append(
                node(f"Router Alert: {_ROUTER_ALERTS.get(v, 'Unknown')} ({v})", at + 2, stop)
            )
        elif n == 0:
            kids.append(node("PadN: <none>", stop, stop))
        out.append(node(name, at, stop, kids))
        at = stop
    return out
