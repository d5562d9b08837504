"""The core layers' subtrees in Wireshark's words, nesting and byte spans, read from the bytes.

Ethernet, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP, ARP, DNS and VXLAN are what an analyst reads
most; their tree is checked node by node against ``tshark -T pdml`` on the same packets
(tests/test_tree_tshark.py): every line here is a line of tshark's tree, over the bytes
tshark gives it.  tapwatch leaves out what needs the whole capture (stream indexes, times,
relative sequence numbers: the expert pass adds those) and nothing else is invented.

Each builder takes the frame, where its header starts and the innermost IP header seen so
far (:class:`~tapwatch.decode.fields.Net`, for the checksums), reads the fields with plain
indexing (never trusting a length past the captured bytes) and returns the layer's node,
or None when the header is cut short (the scapy-based fields are shown instead).  Work is
bounded: a fixed number of fields per header, at most :data:`MAX_ITEMS` options or records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from tapwatch.decode.depth import bits_line, mac_text
from tapwatch.decode.fields import Net, Where, _checksum
from tapwatch.decode.tree import Node, _clip

#: options, records or names read from one header at most
MAX_ITEMS: Final = 64
#: bytes of a data field shown before tshark's own ellipsis
SHOWN_DATA: Final = 36


def _n(label: str, start: int, end: int, kids: list[Node] | None = None) -> Node:
    return Node(_clip(label), start, end, kids or [])


def _ip4(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def _ip6(b: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(b))


def _u16(d: bytes, at: int) -> int:
    return d[at] << 8 | d[at + 1]


def _u32(d: bytes, at: int) -> int:
    return int.from_bytes(d[at : at + 4], "big")


def hex_value(b: bytes) -> str:
    """A bytes field's value as tshark shows it: hex, cut with an ellipsis past 36 bytes."""
    return b.hex() if len(b) <= SHOWN_DATA else b[:SHOWN_DATA].hex() + "…"


def data_node(data: bytes, start: int, end: int) -> Node:
    """``Data (N bytes)`` with its ``Data:`` and ``[Length: N]`` lines, as tshark's data."""
    n = end - start
    return _n(
        f"Data ({n} byte{'' if n == 1 else 's'})",
        start,
        end,
        [
            _n(f"Data: {hex_value(data[start:end])}", start, end),
            _n(f"[Length: {n}]", start, start),
        ],
    )


_OFFLOAD: Final = {
    "ip": '(may be caused by "IP checksum offload"?)',
    "tcp": '(maybe caused by "TCP checksum offload"?)',
    "udp": ' (maybe caused by "UDP checksum offload"?)',
}


def _verdict(field: int, start: int, net: Net, kind: str) -> str:
    """``0x1c46 [correct]``, ``[unverified]``, or tshark's ``0x1234 incorrect, should be
    0x66cc`` with the offload hint it gives IP, TCP and UDP."""
    got = _checksum(field, Where("", start, net, None), kind)
    at = got.find(" [incorrect, should be ")
    if at < 0:
        return got
    return f"{got[:at]} incorrect, should be {got[at + 23 : -1]}{_OFFLOAD.get(kind, '')}"


# ----------------------------------------------------------------------------- Ethernet

ETHERTYPES: Final = {
    0x0800: "IPv4",
    0x0806: "ARP",
    0x86DD: "IPv6",
    0x8100: "802.1Q Virtual LAN",
    0x88A8: "802.1ad Provider Bridge (Q-in-Q)",
    0x8035: "RARP",
    0x88CC: "802.1 Link Layer Discovery Protocol (LLDP)",
    0x888E: "802.1X Authentication",
    0x8863: "PPPoE Discovery",
    0x8864: "PPPoE Session",
    0x8847: "MPLS label switched packet",
    0x8848: "MPLS multicast label switched packet",
    0x88F7: "PTPv2 over Ethernet (IEEE1588)",
    0x8809: "Slow Protocols",
    0x8137: "Netware IPX/SPX",
    0x88E5: "802.1AE (MACsec)",
    0x894F: "Network Service Header",
    0x6558: "Transparent Ethernet bridging",
}


def ethertype(t: int) -> str:
    return f"{ETHERTYPES.get(t, 'Unknown')} (0x{t:04x})"


def _mac_node(what: str, data: bytes, at: int) -> Node:
    mac = data[at : at + 6]
    shown = mac_text(mac)
    lg, ig = mac[0] & 2, mac[0] & 1
    return _n(
        f"{what}: {shown}",
        at,
        at + 6,
        [
            _n(f"Address: {shown}", at, at + 6),
            _n(
                bits_line(
                    mac[0] << 16,
                    0x020000,
                    24,
                    "LG bit",
                    "Locally administered address (this is NOT the factory default)"
                    if lg
                    else "Globally unique address (factory default)",
                ),
                at,
                at + 3,
            ),
            _n(
                bits_line(
                    mac[0] << 16,
                    0x010000,
                    24,
                    "IG bit",
                    "Group address (multicast/broadcast)" if ig else "Individual address (unicast)",
                ),
                at,
                at + 3,
            ),
        ],
    )


def ethernet(data: bytes, s: int, net: Net) -> Node | None:
    if s + 14 > len(data):
        return None
    t = _u16(data, s + 12)
    return _n(
        f"Ethernet II, Src: {mac_text(data[s + 6 : s + 12])}, Dst: {mac_text(data[s : s + 6])}",
        s,
        s + 14,
        [
            _mac_node("Destination", data, s),
            _mac_node("Source", data, s + 6),
            _n(f"Type: {ethertype(t)}", s + 12, s + 14),
        ],
    )


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
        _n(
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
        _n(
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
    ihl = (d[s] & 15) * 4
    end = min(len(d), s + max(ihl, 20))
    src, dst = _ip4(d[s + 12 : s + 16]), _ip4(d[s + 16 : s + 20])
    ident = _u16(d, s + 4)
    flags = d[s + 6] >> 5
    words = ", ".join(
        w
        for bit, w in ((4, "Reserved bit"), (2, "Don't fragment"), (1, "More fragments"))
        if flags & bit
    )
    frag = _u16(d, s + 6) & 0x1FFF
    kids = [
        _n(bits_line(d[s], 0xF0, 8, "Version", "4"), s, s + 1),
        _n(bits_line(d[s], 0x0F, 8, "Header Length", f"{ihl} bytes ({ihl // 4})"), s, s + 1),
        _n(
            f"Differentiated Services Field: {_ds_words(d[s + 1])}",
            s + 1,
            s + 2,
            _ds_bits(d[s + 1], 0, 8, s + 1, s + 2),
        ),
        _n(f"Total Length: {_u16(d, s + 2)}", s + 2, s + 4),
        _n(f"Identification: 0x{ident:04x} ({ident})", s + 4, s + 6),
        _n(
            bits_line(d[s + 6], 0xE0, 8, "Flags", f"0x{flags:x}" + (f", {words}" if words else "")),
            s + 6,
            s + 7,
            [
                _n(bits_line(d[s + 6], 0x80, 8, "Reserved bit", _set(flags & 4)), s + 6, s + 7),
                _n(bits_line(d[s + 6], 0x40, 8, "Don't fragment", _set(flags & 2)), s + 6, s + 7),
                _n(bits_line(d[s + 6], 0x20, 8, "More fragments", _set(flags & 1)), s + 6, s + 7),
            ],
        ),
        _n(
            bits_line(_u16(d, s + 6), 0x1FFF, 16, "Fragment Offset", str(frag * 8)),
            s + 6,
            s + 8,
        ),
        _n(f"Time to Live: {d[s + 8]}", s + 8, s + 9),
        _n(f"Protocol: {ip_protocol(d[s + 9])}", s + 9, s + 10),
        _n(f"Header Checksum: {_verdict(_u16(d, s + 10), s, net, 'ip')}", s + 10, s + 12),
        _n(f"Source Address: {src}", s + 12, s + 16),
        _n(f"Destination Address: {dst}", s + 16, s + 20),
    ]
    return _n(f"Internet Protocol Version 4, Src: {src}, Dst: {dst}", s, end, kids)


def _set(v: int) -> str:
    return "Set" if v else "Not set"


def ipv6(data: bytes, s: int, net: Net) -> Node | None:
    if s + 40 > len(data) or data[s] >> 4 != 6:
        return None
    d = data
    first = _u32(d, s)
    tc = (first >> 20) & 0xFF
    flow = first & 0xFFFFF
    src, dst = _ip6(d[s + 8 : s + 24]), _ip6(d[s + 24 : s + 40])
    kids = [
        _n(bits_line(d[s], 0xF0, 8, "Version", "6"), s, s + 1),
        _n(
            bits_line(first, 0x0FF00000, 32, "Traffic Class", _ds_words(tc)),
            s,
            s + 4,
            _ds_bits(tc, 20, 32, s, s + 4),
        ),
        _n(bits_line(first & 0xFFFFFF, 0xFFFFF, 24, "Flow Label", f"0x{flow:05x}"), s + 1, s + 4),
        _n(f"Payload Length: {_u16(d, s + 4)}", s + 4, s + 6),
        _n(f"Next Header: {ip_protocol(d[s + 6])}", s + 6, s + 7),
        _n(f"Hop Limit: {d[s + 7]}", s + 7, s + 8),
        _n(f"Source Address: {src}", s + 8, s + 24),
        _n(f"Destination Address: {dst}", s + 24, s + 40),
    ]
    return _n(f"Internet Protocol Version 6, Src: {src}, Dst: {dst}", s, s + 40, kids)


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
    end = min(len(data), s + (8 if kind == "IPv6ExtHdrFragment" else (data[s + 1] + 1) * 8))
    if kind == "IPv6ExtHdrFragment":
        if s + 8 > len(data):
            return None
        off = _u16(data, s + 2)
        return _n(
            title,
            s,
            end,
            [
                _n(f"Next header: {ip_protocol(data[s])}", s, s + 1),
                _n(f"Reserved octet: 0x{data[s + 1]:02x}", s + 1, s + 2),
                _n(
                    bits_line(off, 0xFFF8, 16, "Offset", f"{off >> 3} ({off & 0xFFF8} bytes)"),
                    s + 2,
                    s + 4,
                ),
                _n(bits_line(off, 0x0006, 16, "Reserved bits", str(off >> 1 & 3)), s + 2, s + 4),
                _n(
                    bits_line(off, 0x0001, 16, "More Fragments", "Yes" if off & 1 else "No"),
                    s + 2,
                    s + 4,
                ),
                _n(f"Identification: 0x{_u32(data, s + 4):08x}", s + 4, s + 8),
            ],
        )
    n = data[s + 1]
    kids = [
        _n(f"Next Header: {ip_protocol(data[s])}", s, s + 1),
        _n(f"Length: {n}", s + 1, s + 2),
        _n(f"[Length: {(n + 1) * 8} bytes]", s + 1, s + 2),
    ]
    if kind in ("IPv6ExtHdrHopByHop", "IPv6ExtHdrDestOpt"):
        kids += _ipv6_options(data, s + 2, end)
    return _n(title, s, end, kids)


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
            _n(
                f"Type: {name} (0x{t:02x})",
                at,
                at + 1,
                [
                    _n(bits_line(t, 0xC0, 8, "Action", "Skip and continue (0)"), at, at + 1),
                    _n(bits_line(t, 0x20, 8, "May Change", "No"), at, at + 1),
                    _n(bits_line(t, 0x1F, 8, "Low-Order Bits", f"0x{t & 0x1F:02x}"), at, at + 1),
                ],
            ),
            _n(f"Length: {n}", at + 1, at + 2),
        ]
        if t == 5:
            v = _u16(d, at + 2)
            kids.append(_n(f"Router Alert: {_ROUTER_ALERTS.get(v, 'Unknown')} ({v})", at + 2, stop))
        elif n == 0:
            kids.append(_n("PadN: <none>", stop, stop))
        out.append(_n(name, at, stop, kids))
        at = stop
    return out


# ----------------------------------------------------------------------------- ICMP

ICMP_TYPES: Final = {
    0: "Echo (ping) reply",
    3: "Destination unreachable",
    4: "Source quench (flow control)",
    5: "Redirect",
    8: "Echo (ping) request",
    9: "Router advertisement",
    10: "Router solicitation",
    11: "Time-to-live exceeded",
    12: "Parameter problem",
    13: "Timestamp request",
    14: "Timestamp reply",
    17: "Address mask request",
    18: "Address mask reply",
}
_ICMP_CODES: Final = {
    3: {
        0: "Network unreachable",
        1: "Host unreachable",
        2: "Protocol unreachable",
        3: "Port unreachable",
        4: "Fragmentation needed",
        5: "Source route failed",
        6: "Destination network unknown",
        7: "Destination host unknown",
        8: "Source host isolated",
        9: "Network administratively prohibited",
        10: "Host administratively prohibited",
        11: "Network unreachable for TOS",
        12: "Host unreachable for TOS",
        13: "Communication administratively filtered",
        14: "Host precedence violation",
        15: "Precedence cutoff in effect",
    },
    5: {
        0: "Redirect for network",
        1: "Redirect for host",
        2: "Redirect for TOS and network",
        3: "Redirect for TOS and host",
    },
    11: {0: "Time to live exceeded in transit", 1: "Fragment reassembly time exceeded"},
}
#: ICMP messages that quote the IP header (and 8 bytes) of the packet they answer
ICMP_ERRORS: Final = frozenset({3, 4, 5, 11, 12})


def icmp(data: bytes, s: int, net: Net) -> Node | None:
    """The ICMP header; its span runs to the end of the IP payload, as tshark's does (the
    echo data and a quoted packet are nested in it by the tree)."""
    if s + 8 > len(data):
        return None
    d = data
    t, c = d[s], d[s + 1]
    end = min(len(d), net.end) if net.end > s else len(d)
    name = ICMP_TYPES.get(t)
    cname = _ICMP_CODES.get(t, {}).get(c)
    kids = [
        _n(f"Type: {t} ({name})" if name else f"Type: {t}", s, s + 1),
        _n(f"Code: {c} ({cname})" if cname else f"Code: {c}", s + 1, s + 2),
        _n(f"Checksum: {_verdict(_u16(d, s + 2), s, net, 'icmp')}", s + 2, s + 4),
    ]
    if t in (0, 8, 13, 14, 15, 16, 17, 18):
        ident, seq = _u16(d, s + 4), _u16(d, s + 6)
        le_id, le_seq = d[s + 5] << 8 | d[s + 4], d[s + 7] << 8 | d[s + 6]
        kids += [
            _n(f"Identifier (BE): {ident} (0x{ident:04x})", s + 4, s + 6),
            _n(f"Identifier (LE): {le_id} (0x{le_id:04x})", s + 4, s + 6),
            _n(f"Sequence Number (BE): {seq} (0x{seq:04x})", s + 6, s + 8),
            _n(f"Sequence Number (LE): {le_seq} (0x{le_seq:04x})", s + 6, s + 8),
        ]
    elif t == 5:
        kids.append(_n(f"Gateway Address: {_ip4(d[s + 4 : s + 8])}", s + 4, s + 8))
    elif t == 3 and c == 4:
        kids.append(_n(f"Unused: {d[s + 4 : s + 6].hex()}", s + 4, s + 6))
        kids.append(_n(f"MTU of next hop: {_u16(d, s + 6)}", s + 6, s + 8))
    elif t in (3, 11):
        kids.append(_n(f"Unused: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
    return _n("Internet Control Message Protocol", s, max(end, s + 8), kids)


ICMP6_TYPES: Final = {
    1: "Destination Unreachable",
    2: "Packet Too Big",
    3: "Time Exceeded",
    4: "Parameter Problem",
    100: "Private experimentation",
    101: "Private experimentation",
    127: "Reserved for expansion of ICMPv6 error messages",
    128: "Echo (ping) request",
    129: "Echo (ping) reply",
    130: "Multicast Listener Query",
    131: "Multicast Listener Report",
    132: "Multicast Listener Done",
    133: "Router Solicitation",
    134: "Router Advertisement",
    135: "Neighbor Solicitation",
    136: "Neighbor Advertisement",
    137: "Redirect",
    138: "Router Renumbering",
    139: "Node Information Query",
    140: "Node Information Reply",
    141: "Inverse Neighbor Discovery Solicitation",
    142: "Inverse Neighbor Discovery Advertisement",
    143: "Multicast Listener Report Message v2",
    144: "Home Agent Address Discovery Request",
    145: "Home Agent Address Discovery Reply",
    146: "Mobile Prefix Solicitation",
    147: "Mobile Prefix Advertisement",
    148: "Certification Path Solicitation",
    149: "Certification Path Advertisement",
    150: "Experimental Mobility",
    151: "Multicast Router Advertisement",
    152: "Multicast Router Solicitation",
    153: "Multicast Router Termination",
    154: "FMIPv6",
    155: "RPL Control",
    156: "Locator Update",
    157: "Duplicate Address Request",
    158: "Duplicate Address Confirmation",
    159: "MPL Control Message",
    160: "Extended Echo request",
    161: "Extended Echo reply",
}


_ICMP6_CODES: Final = {
    1: {
        0: "no route to destination",
        1: "Administratively prohibited",
        2: "Beyond scope of source address",
        3: "Address unreachable",
        4: "Port unreachable",
        5: "Source address failed ingress/egress policy",
        6: "Reject route to destination",
    },
    3: {0: "hop limit exceeded in transit", 1: "fragment reassembly time exceeded"},
    139: {0: "Query subject = IPv6 addresses"},
    140: {0: "Successful"},
}


def icmpv6(data: bytes, s: int, net: Net) -> Node | None:
    """ICMPv6's common header, echo and neighbour discovery bodies; its span runs to the end
    of the IPv6 payload (the ND options are nested by :func:`tapwatch.decode.depth.icmpv6_nd`)."""
    if s + 4 > len(data):
        return None
    d = data
    t, c = d[s], d[s + 1]
    end = min(len(d), net.end) if net.end > s else len(d)
    cname = _ICMP6_CODES.get(t, {}).get(c)
    kids = [
        _n(f"Type: {ICMP6_TYPES.get(t, 'Unknown')} ({t})", s, s + 1),
        _n(f"Code: {c} ({cname})" if cname else f"Code: {c}", s + 1, s + 2),
        _n(f"Checksum: {_verdict(_u16(d, s + 2), s, net, 'icmp6')}", s + 2, s + 4),
    ]
    if t in (1, 3) and s + 8 <= len(d):
        kids.append(_n(f"Reserved: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
    elif t == 2 and s + 8 <= len(d):
        kids.append(_n(f"MTU: {_u32(d, s + 4)}", s + 4, s + 8))
    elif t in (128, 129) and s + 8 <= end:
        kids += [
            _n(f"Identifier: 0x{_u16(d, s + 4):04x}", s + 4, s + 6),
            _n(f"Sequence: {_u16(d, s + 6)}", s + 6, s + 8),
        ]
        if end > s + 8:
            kids.append(data_node(d, s + 8, end))
    elif t in (135, 136) and s + 24 <= end:
        if t == 135:
            kids.append(_n(f"Reserved: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
        else:
            f = _u32(d, s + 4)
            names = [
                w
                for bit, w in ((1 << 31, "Router"), (1 << 30, "Solicited"), (1 << 29, "Override"))
                if f & bit
            ]
            kids.append(
                _n(
                    f"Flags: 0x{f:08x}" + (f", {', '.join(names)}" if names else ""),
                    s + 4,
                    s + 8,
                    [
                        _n(bits_line(f, 1 << 31, 32, "Router", _set(f & 1 << 31)), s + 4, s + 8),
                        _n(bits_line(f, 1 << 30, 32, "Solicited", _set(f & 1 << 30)), s + 4, s + 8),
                        _n(bits_line(f, 1 << 29, 32, "Override", _set(f & 1 << 29)), s + 4, s + 8),
                        _n(
                            bits_line(f, 0x1FFFFFFF, 32, "Reserved", str(f & 0x1FFFFFFF)),
                            s + 4,
                            s + 8,
                        ),
                    ],
                )
            )
        kids.append(_n(f"Target Address: {_ip6(d[s + 8 : s + 24])}", s + 8, s + 24))
    elif t == 133 and s + 8 <= end:
        kids.append(_n(f"Reserved: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
    elif t == 134 and s + 16 <= end:
        kids += _router_advertisement(d, s)
    elif t == 143 and s + 8 <= end:
        kids += _mld2_report(d, s, end)
    return _n("Internet Control Message Protocol v6", s, max(end, s + 4), kids)


_PREFERENCES: Final = ("Medium", "High", "Reserved", "Low")


def _router_advertisement(d: bytes, s: int) -> list[Node]:
    f = d[s + 5]
    prf = _PREFERENCES[f >> 3 & 3]
    words = [
        w
        for bit, w in (
            (0x80, "Managed address configuration"),
            (0x40, "Other configuration"),
            (0x20, "Home Agent"),
        )
        if f & bit
    ]
    words.append(f"Prf (Default Router Preference): {prf}")
    if f & 0x04:
        words.append("Proxy")
    at = s + 5
    bits = [
        _n(bits_line(f, 0x80, 8, "Managed address configuration", _set(f & 0x80)), at, at + 1),
        _n(bits_line(f, 0x40, 8, "Other configuration", _set(f & 0x40)), at, at + 1),
        _n(bits_line(f, 0x20, 8, "Home Agent", _set(f & 0x20)), at, at + 1),
        _n(
            bits_line(f, 0x18, 8, "Prf (Default Router Preference)", f"{prf} ({f >> 3 & 3})"),
            at,
            at + 1,
        ),
        _n(bits_line(f, 0x04, 8, "Proxy", _set(f & 0x04)), at, at + 1),
        _n(bits_line(f, 0x03, 8, "Reserved", str(f & 3)), at, at + 1),
    ]
    return [
        _n(f"Cur hop limit: {d[s + 4]}", s + 4, s + 5),
        _n(f"Flags: 0x{f:02x}, {', '.join(words)}", at, at + 1, bits),
        _n(f"Router lifetime (s): {_u16(d, s + 6)}", s + 6, s + 8),
        _n(f"Reachable time (ms): {_u32(d, s + 8)}", s + 8, s + 12),
        _n(f"Retrans timer (ms): {_u32(d, s + 12)}", s + 12, s + 16),
    ]


_MLD_RECORDS: Final = {
    1: "Include",
    2: "Exclude",
    3: "Changed to include",
    4: "Changed to exclude",
    5: "Allow new sources",
    6: "Block old sources",
}


def _mld2_report(d: bytes, s: int, end: int) -> list[Node]:
    """An MLDv2 report's body: the record count, then each multicast address record."""
    count = _u16(d, s + 6)
    out = [
        _n(f"Reserved: {d[s + 4 : s + 6].hex()}", s + 4, s + 6),
        _n(f"Number of Multicast Address Records: {count}", s + 6, s + 8),
    ]
    at = s + 8
    for _ in range(min(count, MAX_ITEMS)):
        if at + 20 > end:
            break
        kind, aux, nsrc = d[at], d[at + 1], _u16(d, at + 2)
        stop = at + 20 + 16 * nsrc + 4 * aux
        if stop > end:
            break
        name = _MLD_RECORDS.get(kind, "Unknown")
        group = _ip6(d[at + 4 : at + 20])
        out.append(
            _n(
                f"Multicast Address Record {name}: {group}",
                at,
                stop,
                [
                    _n(f"Record Type: {name} ({kind})", at, at + 1),
                    _n(f"Aux Data Len: {aux}", at + 1, at + 2),
                    _n(f"Number of Sources: {nsrc}", at + 2, at + 4),
                    _n(f"Multicast Address: {group}", at + 4, at + 20),
                ],
            )
        )
        at = stop
    return out


# ----------------------------------------------------------------------------- TCP

_TCP_BITS: Final = (
    (0xE00, "Reserved", 0),
    (0x100, "Accurate ECN", 0),
    (0x080, "Congestion Window Reduced", 1),
    (0x040, "ECN-Echo", 1),
    (0x020, "Urgent", 1),
    (0x010, "Acknowledgment", 1),
    (0x008, "Push", 1),
    (0x004, "Reset", 1),
    (0x002, "Syn", 1),
    (0x001, "Fin", 1),
)
_TCP_FLAG_WORDS: Final = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE")


def tcp(data: bytes, s: int, net: Net, quoted: bool = False) -> Node | None:
    """TCP's header; a quoted one (in an ICMP error) has no segment length, as in tshark."""
    if s + 20 > len(data):
        return None
    d = data
    sport, dport = _u16(d, s), _u16(d, s + 2)
    seq, ack = _u32(d, s + 4), _u32(d, s + 8)
    hlen = (d[s + 12] >> 4) * 4
    flags = _u16(d, s + 12) & 0x0FFF
    seg_end = net.end if net.end > s else len(d)  # the IP header's length, captured or not
    seglen = max(0, seg_end - s - hlen)
    words = ", ".join(w for i, w in enumerate(_TCP_FLAG_WORDS) if flags >> i & 1)
    bits = [
        _n(bits_line(flags, m, 12, name, _set(flags & m)), s + 12 + lo, s + 13 + lo)
        for m, name, lo in _TCP_BITS
    ]
    kids = [
        _n(f"Source Port: {sport}", s, s + 2),
        _n(f"Destination Port: {dport}", s + 2, s + 4),
        *([] if quoted else [_n(f"[TCP Segment Len: {seglen}]", s, s)]),
        _n(f"Sequence Number: {seq}", s + 4, s + 8),
        _n(f"Acknowledgment Number: {ack}", s + 8, s + 12),
        _n(
            bits_line(d[s + 12], 0xF0, 8, "Header Length", f"{hlen} bytes ({hlen // 4})"),
            s + 12,
            s + 13,
        ),
        _n(f"Flags: 0x{flags:03x}" + (f" ({words})" if words else ""), s + 12, s + 14, bits),
        _n(f"Window: {_u16(d, s + 14)}", s + 14, s + 16),
        _n(f"Checksum: {_verdict(_u16(d, s + 16), s, net, 'tcp')}", s + 16, s + 18),
        _n(f"Urgent Pointer: {_u16(d, s + 18)}", s + 18, s + 20),
    ]
    stop = min(len(d), s + hlen)
    if hlen > 20 and stop > s + 20:
        kids.append(_tcp_options(d, s + 20, stop))
    title = f"Transmission Control Protocol, Src Port: {sport}, Dst Port: {dport}, Seq: {seq}"
    if flags & 0x10:
        title += f", Ack: {ack}"
    if not quoted:
        title += f", Len: {seglen}"
    return _n(title, s, max(s + 20, stop), kids)


_OPTION_KINDS: Final = {
    0: "End of Option List",
    1: "No-Operation",
    2: "Maximum Segment Size",
    3: "Window Scale",
    4: "SACK Permitted",
    5: "SACK",
    8: "Time Stamp Option",
    19: "TCP MD5 Signature Option",
    28: "User Timeout",
    29: "TCP Authentication Option",
    30: "Multipath TCP",
    34: "TCP Fast Open Cookie",
}
_OPTION_SHORT: Final = {
    0: "End of Option List (EOL)",
    1: "No-Operation (NOP)",
    2: "Maximum segment size",
    3: "Window scale",
    4: "SACK permitted",
    5: "SACK",
    8: "Timestamps",
    19: "TCP MD5 signature",
    28: "User Timeout",
    30: "Multipath TCP",
    34: "TCP Fast Open",
}


def _tcp_options(d: bytes, start: int, end: int) -> Node:
    out: list[Node] = []
    names: list[str] = []
    p = start
    while p < end and len(out) < MAX_ITEMS:
        kind = d[p]
        ln = 1 if kind in (0, 1) else (d[p + 1] if p + 1 < end else 0)
        if (ln < 2 and kind not in (0, 1)) or p + ln > end:
            break
        names.append(_OPTION_SHORT.get(kind, "Unknown"))
        out.append(_tcp_option(d, p, ln))
        p += ln
        if kind == 0:
            break
    label = f"Options: ({end - start} bytes)" + "".join(f", {n}" for n in names)
    return _n(label, start, end, out)


def _tcp_option(d: bytes, p: int, ln: int) -> Node:
    kind = d[p]
    body = d[p + 2 : p + ln]
    kids = [_n(f"Kind: {_OPTION_KINDS.get(kind, 'Unknown')} ({kind})", p, p + 1)]
    if ln > 1:
        kids.append(_n(f"Length: {ln}", p + 1, p + 2))
    title = _OPTION_SHORT.get(kind, f"Unknown (0x{kind:02x})")
    if kind == 2 and ln == 4:
        mss = _u16(body, 0)
        title = f"Maximum segment size: {mss} bytes"
        kids.append(_n(f"MSS Value: {mss}", p + 2, p + 4))
    elif kind == 3 and ln == 3:
        shift = body[0]
        title = f"Window scale: {shift} (multiply by {1 << min(shift, 14)})"
        kids.append(_n(f"Shift count: {shift}", p + 2, p + 3))
        kids.append(_n(f"[Multiplier: {1 << min(shift, 14)}]", p + 2, p + 3))
    elif kind == 8 and ln == 10:
        tsval, tsecr = _u32(body, 0), _u32(body, 4)
        title = f"Timestamps: TSval {tsval}, TSecr {tsecr}"
        kids.append(_n(f"Timestamp value: {tsval}", p + 2, p + 6))
        kids.append(_n(f"Timestamp echo reply: {tsecr}", p + 6, p + 10))
    return _n(f"TCP Option - {title}", p, p + ln, kids)


# ----------------------------------------------------------------------------- UDP


def udp(data: bytes, s: int, net: Net) -> Node | None:
    if s + 8 > len(data):
        return None
    d = data
    sport, dport = _u16(d, s), _u16(d, s + 2)
    length = _u16(d, s + 4)
    csum = _u16(d, s + 6)
    avail = (net.end if net.end > s else len(d)) - s  # what the IP header says, as tshark
    bogus = length > avail
    if csum == 0 and len(net.src) == 4:
        shown = "0x0000 [zero-value ignored]"
    elif bogus:
        shown = f"0x{csum:04x} [unverified]"
    else:
        shown = _verdict(csum, s, net, "udp")
    kids = [
        _n(f"Source Port: {sport}", s, s + 2),
        _n(f"Destination Port: {dport}", s + 2, s + 4),
        _n(
            f"Length: {length}" + (f" (bogus, payload length {avail})" if bogus else ""),
            s + 4,
            s + 6,
        ),
        _n(f"Checksum: {shown}", s + 6, s + 8),
    ]
    end = min(len(d), s + avail if bogus else s + length if length >= 8 else len(d))
    if end > s + 8:
        size = end - s - 8
        kids.append(_n(f"UDP payload ({size} byte{'' if size == 1 else 's'})", s + 8, end))
    return _n(f"User Datagram Protocol, Src Port: {sport}, Dst Port: {dport}", s, s + 8, kids)


# ----------------------------------------------------------------------------- ARP

_ARP_OPS: Final = {1: "request", 2: "reply", 3: "reverse request", 4: "reverse reply"}
_ARP_HW: Final = {1: "Ethernet", 6: "IEEE 802", 32: "InfiniBand"}


def arp(data: bytes, s: int, net: Net) -> Node | None:
    if s + 8 > len(data):
        return None
    d = data
    hw, pt, hs, ps, op = _u16(d, s), _u16(d, s + 2), d[s + 4], d[s + 5], _u16(d, s + 6)
    kids = [
        _n(f"Hardware type: {_ARP_HW.get(hw, 'Unknown')} ({hw})", s, s + 2),
        _n(f"Protocol type: {ethertype(pt)}", s + 2, s + 4),
        _n(f"Hardware size: {hs}", s + 4, s + 5),
        _n(f"Protocol size: {ps}", s + 5, s + 6),
        _n(f"Opcode: {_ARP_OPS.get(op, 'Unknown')} ({op})", s + 6, s + 8),
    ]
    end = s + 8 + 2 * (hs + ps)
    if hs == 6 and ps == 4 and end <= len(d):
        p = s + 8
        kids += [
            _n(f"Sender MAC address: {mac_text(d[p : p + 6])}", p, p + 6),
            _n(f"Sender IP address: {_ip4(d[p + 6 : p + 10])}", p + 6, p + 10),
            _n(f"Target MAC address: {mac_text(d[p + 10 : p + 16])}", p + 10, p + 16),
            _n(f"Target IP address: {_ip4(d[p + 16 : p + 20])}", p + 16, p + 20),
        ]
    what = _ARP_OPS.get(op, "opcode {op}")
    return _n(f"Address Resolution Protocol ({what})", s, min(end, len(d)), kids)


# ----------------------------------------------------------------------------- VXLAN


def vxlan(data: bytes, s: int, net: Net) -> Node | None:
    """VXLAN's header; None for VXLAN-GPE (UDP port 4790), worded otherwise."""
    if s + 8 > len(data) or (s >= 8 and _u16(data, s - 6) == 4790):
        return None
    d = data
    f = _u16(d, s)
    words = [
        w for bit, w in ((0x8000, "GBP Extension"), (0x0800, "VXLAN Network ID (VNI)")) if f & bit
    ]
    flags = _n(
        f"Flags: 0x{f:04x}" + "".join(f", {w}" for w in words),
        s,
        s + 2,
        [
            _n(
                bits_line(
                    f, 0x8000, 16, "GBP Extension", "Defined" if f & 0x8000 else "Not defined"
                ),
                s,
                s + 2,
            ),
            _n(bits_line(f, 0x0800, 16, "VXLAN Network ID (VNI)", str(bool(f & 0x0800))), s, s + 2),
            _n(bits_line(f, 0x0040, 16, "Don't Learn", str(bool(f & 0x0040))), s, s + 2),
            _n(bits_line(f, 0x0008, 16, "Policy Applied", str(bool(f & 0x0008))), s, s + 2),
            _n(bits_line(f, 0x77B7, 16, "Reserved(R)", f"0x{f & 0x77B7:04x}"), s, s + 2),
        ],
    )
    kids = [
        flags,
        _n(f"Group Policy ID: {_u16(d, s + 2)}", s + 2, s + 4),
        _n(
            f"VXLAN Network Identifier (VNI): {int.from_bytes(d[s + 4 : s + 7], 'big')}",
            s + 4,
            s + 7,
        ),
        _n(f"Reserved: {d[s + 7]}", s + 7, s + 8),
    ]
    return _n("Virtual eXtensible Local Area Network", s, s + 8, kids)


Builder = Callable[[bytes, int, Net], "Node | None"]

#: scapy's layer class name -> the builder of its subtree
BUILDERS: Final[dict[str, Builder]] = {
    "Ether": ethernet,
    "IP": ipv4,
    "IPerror": ipv4,
    "IPv6": ipv6,
    "IPerror6": ipv6,
    "ICMP": icmp,
    "TCP": tcp,
    "TCPerror": lambda d, s, net: tcp(d, s, net, quoted=True),
    "UDP": udp,
    "UDPerror": udp,
    "ARP": arp,
    "VXLAN": vxlan,
}


# ----------------------------------------------------------------------------- DNS

DNS_TYPES: Final = {
    1: "A (Host Address)",
    2: "NS (authoritative Name Server)",
    5: "CNAME (Canonical NAME for an alias)",
    6: "SOA (Start Of a zone of Authority)",
    12: "PTR (domain name PoinTeR)",
    13: "HINFO (host information)",
    15: "MX (Mail eXchange)",
    16: "TXT (Text strings)",
    28: "AAAA (IPv6 Address)",
    33: "SRV (Server Selection)",
    35: "NAPTR (Naming Authority Pointer)",
    41: "OPT",
    43: "DS (Delegation Signer)",
    46: "RRSIG (Resource Record Signature)",
    47: "NSEC (Next Secure)",
    48: "DNSKEY (DNS Public Key)",
    64: "SVCB (General Purpose Service Endpoints)",
    65: "HTTPS (HTTPS Specific Service Endpoints)",
    255: "* (A request for all records the server/cache has available)",
}
_DNS_CLASSES: Final = {1: "IN", 2: "CS", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
_SECTIONS: Final = ("Queries", "Answers", "Authoritative nameservers", "Additional records")


def _dns_type_short(t: int) -> str:
    long = DNS_TYPES.get(t)
    return long.split(" ", 1)[0] if long else f"Unknown ({t})"


def _dns_name(d: bytes, msg: int, at: int, end: int) -> tuple[str, int, int] | None:
    """(name, labels, end of the name in place) of a DNS name at ``at`` in the message that
    starts at ``msg``, following at most :data:`MAX_ITEMS` compression pointers (offsets
    from ``msg``); None when it runs off the message (``end``)."""
    labels: list[str] = []
    here, stop, jumps = at, -1, 0
    while True:
        if here >= end:
            return None
        n = d[here]
        if n == 0:
            if stop < 0:
                stop = here + 1
            break
        if n & 0xC0 == 0xC0:
            if here + 2 > end or jumps >= MAX_ITEMS:
                return None
            if stop < 0:
                stop = here + 2
            here = msg + ((n & 0x3F) << 8 | d[here + 1])
            jumps += 1
            continue
        if n & 0xC0 or here + 1 + n > end:
            return None
        labels.append(d[here + 1 : here + 1 + n].decode("latin-1"))
        here += 1 + n
    return (".".join(labels) if labels else "<Root>"), len(labels), stop


def _ttl_words(v: int) -> str:
    """Wireshark's duration words: ``5 minutes``, ``1 hour, 1 minute, 5 seconds``."""
    parts = []
    for size, word in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        k, v = divmod(v, size)
        if k:
            parts.append(f"{k} {word}{'' if k == 1 else 's'}")
    return ", ".join(parts) if parts else "0 seconds"


def dns(data: bytes, s: int, net: Net) -> Node | None:
    """A DNS message over UDP: header, flags, and the A, AAAA, CNAME, NS and PTR records
    (other records keep their name, type and class lines only)."""
    from tapwatch.decode.depth import dns_flags

    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s >= 8 and _u16(d, s - 4) >= 8:  # the UDP datagram's own length bounds the message
        end = min(end, s - 8 + _u16(d, s - 4))
    if s + 12 > end:
        return None
    counts = [_u16(d, s + 4 + 2 * i) for i in range(4)]
    kids = [
        _n(f"Transaction ID: 0x{_u16(d, s):04x}", s, s + 2),
        dns_flags(_u16(d, s + 2), s + 2),
        _n(f"Questions: {counts[0]}", s + 4, s + 6),
        _n(f"Answer RRs: {counts[1]}", s + 6, s + 8),
        _n(f"Authority RRs: {counts[2]}", s + 8, s + 10),
        _n(f"Additional RRs: {counts[3]}", s + 10, s + 12),
    ]
    at = s + 12
    items = 0
    for section, count in zip(_SECTIONS, counts, strict=True):
        records: list[Node] = []
        first = at
        for _ in range(count):
            items += 1
            got = _dns_record(d, s, at, end, section == "Queries") if items <= MAX_ITEMS else None
            if got is None:
                break
            node, at = got
            if node is not None:
                records.append(node)
        else:
            if count and records:
                kids.append(_n(section, first, at, records))
            continue
        break
    what = "response" if d[s + 2] & 0x80 else "query"
    return _n(f"Domain Name System ({what})", s, end, kids)


def _dns_record(
    d: bytes, msg: int, at: int, end: int, question: bool
) -> tuple[Node | None, int] | None:
    """One question or resource record at ``at``: its node (None: shown by no line) and
    where the next one starts; None when it runs off the message."""
    got = _dns_name(d, msg, at, end)
    if got is None:
        return None
    name, labels, p = got
    if p + 4 > end:
        return None
    t, c = _u16(d, p), _u16(d, p + 2)
    cls = _DNS_CLASSES.get(c, f"Unknown (0x{c:04x})")
    title = f"{name}: type {_dns_type_short(t)}, class {cls}"
    kids = [_n(f"Name: {name}", at, p)]
    if question:
        kids += [
            _n(f"[Name Length: {len(name)}]", at, p),
            _n(f"[Label Count: {labels}]", at, p),
        ]
    kids += [
        _n(f"Type: {DNS_TYPES.get(t, 'Unknown')} ({t})", p, p + 2),
        _n(f"Class: {cls} (0x{c:04x})", p + 2, p + 4),
    ]
    if question:
        return _n(title, at, p + 4, kids), p + 4
    if p + 10 > end:
        return None
    ttl, rdlen = _u32(d, p + 4), _u16(d, p + 8)
    r, stop = p + 10, p + 10 + rdlen
    if stop > end:
        return None
    if t == 41 or c & 0x8000:  # EDNS's OPT and mDNS's cache-flush records: worded otherwise
        return None, stop
    kids += [
        _n(f"Time to live: {ttl} ({_ttl_words(ttl)})", p + 4, p + 8),
        _n(f"Data length: {rdlen}", p + 8, p + 10),
    ]
    if t == 1 and rdlen == 4:
        value = _ip4(d[r:stop])
        title += f", addr {value}"
        kids.append(_n(f"Address: {value}", r, stop))
    elif t == 28 and rdlen == 16:
        value = _ip6(d[r:stop])
        title += f", addr {value}"
        kids.append(_n(f"AAAA Address: {value}", r, stop))
    elif t in (2, 5, 12):
        target = _dns_name(d, msg, r, stop)
        if target is None:
            return None, stop
        word, field = {2: ("ns", "Name Server"), 5: ("cname", "CNAME"), 12: ("", "Domain Name")}[t]
        title += f", {word} {target[0]}" if word else f", {target[0]}"
        kids.append(_n(f"{field}: {target[0]}", r, stop))
    elif t == 15 and rdlen >= 3:
        target = _dns_name(d, msg, r + 2, stop)
        if target is None:
            return None, stop
        title += f", preference {_u16(d, r)}, mx {target[0]}"
        kids.append(_n(f"Preference: {_u16(d, r)}", r, r + 2))
        kids.append(_n(f"Mail Exchange: {target[0]}", r + 2, stop))
    else:
        return _n(title, at, stop, kids[:3]), stop
    return _n(title, at, stop, kids), stop
