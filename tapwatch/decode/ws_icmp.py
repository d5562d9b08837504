"""ICMP and ICMPv6 messages in tshark's words and spans (echo, errors, neighbour discovery,
router advertisements, MLDv2 reports).
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import (
    MAX_ITEMS,
    data_node,
    ip4,
    ip6,
    node,
    set_word,
    u16,
    u32,
    verdict,
)

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
        node(f"Type: {t} ({name})" if name else f"Type: {t}", s, s + 1),
        node(f"Code: {c} ({cname})" if cname else f"Code: {c}", s + 1, s + 2),
        node(f"Checksum: {verdict(u16(d, s + 2), s, net, 'icmp')}", s + 2, s + 4),
    ]
    if t in (0, 8, 13, 14, 15, 16, 17, 18):
        ident, seq = u16(d, s + 4), u16(d, s + 6)
        le_id, le_seq = d[s + 5] << 8 | d[s + 4], d[s + 7] << 8 | d[s + 6]
        kids += [
            node(f"Identifier (BE): {ident} (0x{ident:04x})", s + 4, s + 6),
            node(f"Identifier (LE): {le_id} (0x{le_id:04x})", s + 4, s + 6),
            node(f"Sequence Number (BE): {seq} (0x{seq:04x})", s + 6, s + 8),
            node(f"Sequence Number (LE): {le_seq} (0x{le_seq:04x})", s + 6, s + 8),
        ]
    elif t == 5:
        kids.append(node(f"Gateway Address: {ip4(d[s + 4 : s + 8])}", s + 4, s + 8))
    elif t == 3 and c == 4:
        kids.append(node(f"Unused: {d[s + 4 : s + 6].hex()}", s + 4, s + 6))
        kids.append(node(f"MTU of next hop: {u16(d, s + 6)}", s + 6, s + 8))
    elif t in (3, 11):
        kids.append(node(f"Unused: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
    return node("Internet Control Message Protocol", s, max(end, s + 8), kids)


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
        node(f"Type: {ICMP6_TYPES.get(t, 'Unknown')} ({t})", s, s + 1),
        node(f"Code: {c} ({cname})" if cname else f"Code: {c}", s + 1, s + 2),
        node(f"Checksum: {verdict(u16(d, s + 2), s, net, 'icmp6')}", s + 2, s + 4),
    ]
    if t in (1, 3) and s + 8 <= len(d):
        kids.append(node(f"Reserved: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
    elif t == 2 and s + 8 <= len(d):
        kids.append(node(f"MTU: {u32(d, s + 4)}", s + 4, s + 8))
    elif t in (128, 129) and s + 8 <= end:
        kids += [
            node(f"Identifier: 0x{u16(d, s + 4):04x}", s + 4, s + 6),
            node(f"Sequence: {u16(d, s + 6)}", s + 6, s + 8),
        ]
        if end > s + 8:
            kids.append(data_node(d, s + 8, end))
    elif t in (135, 136) and s + 24 <= end:
        if t == 135:
            kids.append(node(f"Reserved: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
        else:
            f = u32(d, s + 4)
            names = [
                w
                for bit, w in ((1 << 31, "Router"), (1 << 30, "Solicited"), (1 << 29, "Override"))
                if f & bit
            ]
            kids.append(
                node(
                    f"Flags: 0x{f:08x}" + (f", {', '.join(names)}" if names else ""),
                    s + 4,
                    s + 8,
                    [
                        node(
                            bits_line(f, 1 << 31, 32, "Router", set_word(f & 1 << 31)), s + 4, s + 8
                        ),
                        node(
                            bits_line(f, 1 << 30, 32, "Solicited", set_word(f & 1 << 30)),
                            s + 4,
                            s + 8,
                        ),
                        node(
                            bits_line(f, 1 << 29, 32, "Override", set_word(f & 1 << 29)),
                            s + 4,
                            s + 8,
                        ),
                        node(
                            bits_line(f, 0x1FFFFFFF, 32, "Reserved", str(f & 0x1FFFFFFF)),
                            s + 4,
                            s + 8,
                        ),
                    ],
                )
            )
        kids.append(node(f"Target Address: {ip6(d[s + 8 : s + 24])}", s + 8, s + 24))
    elif t == 133 and s + 8 <= end:
        kids.append(node(f"Reserved: {d[s + 4 : s + 8].hex()}", s + 4, s + 8))
    elif t == 134 and s + 16 <= end:
        kids += _router_advertisement(d, s)
    elif t == 143 and s + 8 <= end:
        kids += _mld2_report(d, s, end)
    return node("Internet Control Message Protocol v6", s, max(end, s + 4), kids)


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
        node(
            bits_line(f, 0x80, 8, "Managed address configuration", set_word(f & 0x80)), at, at + 1
        ),
        node(bits_line(f, 0x40, 8, "Other configuration", set_word(f & 0x40)), at, at + 1),
        node(bits_line(f, 0x20, 8, "Home Agent", set_word(f & 0x20)), at, at + 1),
        node(
            bits_line(f, 0x18, 8, "Prf (Default Router Preference)", f"{prf} ({f >> 3 & 3})"),
            at,
            at + 1,
        ),
        node(bits_line(f, 0x04, 8, "Proxy", set_word(f & 0x04)), at, at + 1),
        node(bits_line(f, 0x03, 8, "Reserved", str(f & 3)), at, at + 1),
    ]
    return [
        node(f"Cur hop limit: {d[s + 4]}", s + 4, s + 5),
        node(f"Flags: 0x{f:02x}, {', '.join(words)}", at, at + 1, bits),
        node(f"Router lifetime (s): {u16(d, s + 6)}", s + 6, s + 8),
        node(f"Reachable time (ms): {u32(d, s + 8)}", s + 8, s + 12),
        node(f"Retrans timer (ms): {u32(d, s + 12)}", s + 12, s + 16),
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
    count = u16(d, s + 6)
    out = [
        node(f"Reserved: {d[s + 4 : s + 6].hex()}", s + 4, s + 6),
        node(f"Number of Multicast Address Records: {count}", s + 6, s + 8),
    ]
    at = s + 8
    for _ in range(min(count, MAX_ITEMS)):
        if at + 20 > end:
            break
        kind, aux, nsrc = d[at], d[at + 1], u16(d, at + 2)
        stop = at + 20 + 16 * nsrc + 4 * aux
        if stop > end:
            break
        name = _MLD_RECORDS.get(kind, "Unknown")
        group = ip6(d[at + 4 : at + 20])
        out.append(
            node(
                f"Multicast Address Record {name}: {group}",
                at,
                stop,
                [
                    node(f"Record Type: {name} ({kind})", at, at + 1),
                    node(f"Aux Data Len: {aux}", at + 1, at + 2),
                    node(f"Number of Sources: {nsrc}", at + 2, at + 4),
                    node(f"Multicast Address: {group}", at + 4, at + 20),
                ],
            )
        )
        at = stop
    return out
