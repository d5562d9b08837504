"""The routing and redundancy protocols in Wireshark's words, nesting and byte spans.

OSPFv2 (with RFC 5613's LLS data block), OSPFv3, RIPv1/v2, IGMPv1/v2/v3 and mtrace, BGP,
VRRP, BFD (with its authentication section), PIMv2 (hello, register, register-stop,
join/prune, bootstrap, assert, candidate-RP advertisement) and LDP are what a tunnel host's
daemons say; each builder reads the whole message (scapy splits most of them into several
layers: OSPF's header and its packet, RIP's entries, BGP's header and its body; the tree
passes over those, :data:`tapwatch.decode.wstree.WHOLE_MESSAGES`) and returns tshark's one
layer for it.  Where tshark 4.0 places a line oddly (a bootstrap RP's priority in its group,
a join/prune group spanning to the message's end, an LLS block summed into OSPF's checksum),
the tree places it the same way.

What tshark words from tables tapwatch does not carry (OSPF's opaque LSAs and TE TLVs, BGP's
path attributes beyond the common ones, vendor extensions) is left out rather than worded
otherwise: tapwatch shows fewer lines, never other words.  A header cut short, or a length
that points past the captured bytes, returns None (scapy's fields are shown instead).
Every loop is bounded by the message's bytes and by ``MAX_ITEMS``.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.tree import Node
from tapwatch.decode.verbose import cksum, pseudo_sum, shouldbe
from tapwatch.decode.ws_common import (
    MAX_ITEMS,
    hex_value,
    ip4,
    ip6,
    node,
    set_word,
    u16,
    u32,
    verdict,
)

# ----------------------------------------------------------------------------- OSPFv2

_OSPF_TYPES: Final = {
    1: "Hello Packet",
    2: "DB Description",
    3: "LS Request",
    4: "LS Update",
    5: "LS Acknowledge",
}
_OSPF_AUTH: Final = {0: "Null", 1: "Simple password", 2: "Cryptographic"}
LSA_TYPES: Final = {
    1: "Router-LSA",
    2: "Network-LSA",
    3: "Summary-LSA (IP network)",
    4: "Summary-LSA (ASBR)",
    5: "AS-External-LSA (ASBR)",
    7: "NSSA AS-External-LSA",
}
#: OSPFv2's option bits: (bit, name, word when set, word when not)
_OPTIONS: Final = (
    (0x80, "DN", "Set", "Not set"),
    (0x40, "O", "Set", "Not set"),
    (0x20, "(DC) Demand Circuits", "Supported", "Not supported"),
    (0x10, "(L) LLS Data block", "Present", "Not Present"),
    (0x08, "(N) NSSA", "Supported", "Not supported"),
    (0x04, "(MC) Multicast", "Capable", "Not capable"),
    (0x02, "(E) External Routing", "Capable", "Not capable"),
    (0x01, "(MT) Multi-Topology Routing", "Yes", "No"),
)
_NSSA_OPTIONS: Final = tuple(
    (0x08, "(P) Propagate", "Set", "Not set") if bit == 0x08 else (bit, n, y, no)
    for bit, n, y, no in _OPTIONS
)
_DBD_BITS: Final = (
    (0x08, "(R) OOBResync", "Set", "Not set"),
    (0x04, "(I) Init", "Set", "Not set"),
    (0x02, "(M) More", "Set", "Not set"),
    (0x01, "(MS) Master", "Yes", "No"),
)
_ROUTER_FLAGS: Final = (
    (0x80, "(H) flag", "Yes", "No"),
    (0x10, "(N) flag", "Yes", "No"),
    (0x08, "(W) Wild-card multicast receiver", "Yes", "No"),
    (0x04, "(V) Virtual link endpoint", "Yes", "No"),
    (0x02, "(E) AS boundary router", "Yes", "No"),
    (0x01, "(B) Area border router", "Yes", "No"),
)
_LINK_TYPES: Final = {
    1: ("PTP", "Neighboring router's Router ID", "Point-to-point connection to another router"),
    2: ("Transit", "IP address of Designated Router", "Connection to a transit network"),
    3: ("Stub", "IP network/subnet number", "Connection to a stub network"),
    4: ("Virtual", "Neighboring router's Router ID", "Virtual link"),
}


def bit_flags(
    title: str, v: int, at: int, width: int, bits: tuple[tuple[int, str, str, str], ...]
) -> Node:
    """A flags byte (or word) as Wireshark's bitmask: ``Options: 0x02, (E) External Routing``
    and one line a bit."""
    size = width // 8
    names = [name for bit, name, _y, _n in bits if v & bit]
    return node(
        f"{title}: 0x{v:0{size * 2}x}" + "".join(f", {n}" for n in names),
        at,
        at + size,
        [
            node(bits_line(v, bit, width, name, yes if v & bit else no), at, at + size)
            for bit, name, yes, no in bits
        ],
    )


def _lsa_header(d: bytes, p: int, end: int) -> Node | None:
    """An LSA's 20-byte header (its node spans ``p:end``); None for a type tapwatch does not
    word (its name alone would be a guess)."""
    t = d[p + 3]
    if t not in LSA_TYPES:
        return None
    age = u16(d, p)
    length = u16(d, p + 18)
    kids = [
        node(bits_line(age, 0x7FFF, 16, "LS Age (seconds)", str(age & 0x7FFF)), p, p + 2),
        node(bits_line(age, 0x8000, 16, "Do Not Age Flag", str(age >> 15)), p, p + 2),
        bit_flags("Options", d[p + 2], p + 2, 8, _NSSA_OPTIONS if t == 7 else _OPTIONS),
        node(f"LS Type: {LSA_TYPES[t]} ({t})", p + 3, p + 4),
        node(f"Link State ID: {ip4(d[p + 4 : p + 8])}", p + 4, p + 8),
        node(f"Advertising Router: {ip4(d[p + 8 : p + 12])}", p + 8, p + 12),
        node(f"Sequence Number: 0x{u32(d, p + 12):08x}", p + 12, p + 16),
        node(f"Checksum: 0x{u16(d, p + 16):04x}", p + 16, p + 18),
        node(f"Length: {length}", p + 18, p + 20),
    ]
    return node(f"LSA-type {t} ({LSA_TYPES[t]}), len {length}", p, end, kids)


def _lsa_body(d: bytes, t: int, p: int, end: int) -> list[Node]:
    """The nodes of an LSA's body (``p`` past its header, ``end`` its end)."""
    out: list[Node] = []
    if t == 1 and p + 4 <= end:
        out.append(bit_flags("Flags", d[p], p, 8, _ROUTER_FLAGS))
        out.append(node(f"Number of Links: {u16(d, p + 2)}", p + 2, p + 4))
        q = p + 4
        while q + 12 <= end and len(out) < MAX_ITEMS:
            lt, tos = d[q + 8], d[q + 9]
            if lt not in _LINK_TYPES or tos:
                break
            short, what, long = _LINK_TYPES[lt]
            lid, ldata, metric = ip4(d[q : q + 4]), ip4(d[q + 4 : q + 8]), u16(d, q + 10)
            out.append(
                node(
                    f"Type: {short:<8} ID: {lid:<15} Data: {ldata:<15} Metric: {metric}",
                    q,
                    q + 12,
                    [
                        node(f"Link ID: {lid} - {what}", q, q + 4),
                        node(f"Link Data: {ldata}", q + 4, q + 8),
                        node(f"Link Type: {lt} - {long}", q + 8, q + 9),
                        node("Number of Metrics: 0 - TOS", q + 9, q + 10),
                        node(f"0 Metric: {metric}", q + 10, q + 12),
                    ],
                )
            )
            q += 12
    elif t == 2 and p + 4 <= end:
        out.append(node(f"Netmask: {ip4(d[p : p + 4])}", p, p + 4))
        for q in range(p + 4, end - 3, 4):
            if len(out) >= MAX_ITEMS:
                break
            out.append(node(f"Attached Router: {ip4(d[q : q + 4])}", q, q + 4))
    elif t in (3, 4) and p + 8 <= end:
        out += [
            node(f"Netmask: {ip4(d[p : p + 4])}", p, p + 4),
            node(f"TOS: {d[p + 4]}", p + 4, p + 5),
            node(f"Metric: {int.from_bytes(d[p + 5 : p + 8], 'big')}", p + 5, p + 8),
        ]
    elif t in (5, 7) and p + 16 <= end:
        e = d[p + 4]
        kind = (
            "Type 2 (metric is larger than any other link state path)"
            if e & 0x80
            else "Type 1 (metric is specified in the same units as interface cost)"
        )
        out += [
            node(f"Netmask: {ip4(d[p : p + 4])}", p, p + 4),
            node(bits_line(e, 0x80, 8, "External Type", kind), p + 4, p + 5),
            node(bits_line(e, 0x7F, 8, "TOS", str(e & 0x7F)), p + 4, p + 5),
            node(f"Metric: {int.from_bytes(d[p + 5 : p + 8], 'big')}", p + 5, p + 8),
            node(f"Forwarding Address: {ip4(d[p + 8 : p + 12])}", p + 8, p + 12),
            node(f"External Route Tag: {u32(d, p + 12)}", p + 12, p + 16),
        ]
    return out


def _ospf_checksum(d: bytes, s: int, end: int, field: int) -> str:
    """OSPFv2's checksum: over the packet without its 8 authentication bytes."""
    c = cksum(d[s : s + 16] + d[s + 24 : end])
    if c == 0:
        return f"0x{field:04x} [correct]"
    return f"0x{field:04x} [incorrect, should be 0x{shouldbe(field, c):04x}]"


def ospf(data: bytes, s: int, net: Net) -> Node | None:
    """An OSPFv2 packet and the LLS data block after a hello or database description that
    says it has one (None for OSPFv3 or a length past the bytes)."""
    d = data
    if s + 24 > len(d) or d[s] != 2:
        return None
    t, length, auth = d[s + 1], u16(d, s + 2), u16(d, s + 14)
    end = s + length
    if t not in _OSPF_TYPES or length < 24 or end > len(d) or auth not in _OSPF_AUTH:
        return None
    stop = end
    area = ip4(d[s + 8 : s + 12])
    head = [
        node("Version: 2", s, s + 1),
        node(f"Message Type: {_OSPF_TYPES[t]} ({t})", s + 1, s + 2),
        node(f"Packet Length: {length}", s + 2, s + 4),
        node(f"Source OSPF Router: {ip4(d[s + 4 : s + 8])}", s + 4, s + 8),
        node(f"Area ID: {area}{' (Backbone)' if area == '0.0.0.0' else ''}", s + 8, s + 12),
    ]
    field = u16(d, s + 12)
    if auth == 2:
        head.append(node(f"Checksum: 0x{field:04x} (None)", s + 12, s + 14))
    else:
        # tshark 4.0 sums an LLS data block in too (RFC 5613 leaves it out): so does this
        summed = end
        opts_at = s + 30 if t == 1 else s + 26 if t == 2 else end
        if opts_at < end and d[opts_at] & 0x10:
            summed = min(len(d), net.end) if net.end > s else len(d)
        head.append(node(f"Checksum: {_ospf_checksum(d, s, summed, field)}", s + 12, s + 14))
    head.append(node(f"Auth Type: {_OSPF_AUTH[auth]} ({auth})", s + 14, s + 16))
    if auth == 0:
        head.append(node(f"Auth Data (none): {d[s + 16 : s + 24].hex()}", s + 16, s + 24))
    elif auth == 1:
        text = d[s + 16 : s + 24].split(b"\0", 1)[0]
        if all(0x20 <= c < 0x7F for c in text):
            head.append(node(f"Auth Data (Simple): {text.decode()}", s + 16, s + 24))
    else:
        n = d[s + 19]
        stop = end + n
        if stop > len(d):
            return None
        head += [
            node(f"Auth Crypt Key id: {d[s + 18]}", s + 18, s + 19),
            node(f"Auth Crypt Data Length: {n}", s + 19, s + 20),
            node(f"Auth Crypt Sequence Number: {u32(d, s + 20)}", s + 20, s + 24),
        ]
        if n:
            head.append(node(f"Auth Crypt Data: {hex_value(d[end:stop])}", end, stop))
    kids = [node("OSPF Header", s, s + 24, head)]
    p = s + 24
    if t == 1:
        if p + 20 > end:
            return None
        lls = d[p + 6] & 0x10
        hello = [
            node(f"Network Mask: {ip4(d[p : p + 4])}", p, p + 4),
            node(f"Hello Interval [sec]: {u16(d, p + 4)}", p + 4, p + 6),
            bit_flags("Options", d[p + 6], p + 6, 8, _OPTIONS),
            node(f"Router Priority: {d[p + 7]}", p + 7, p + 8),
            node(f"Router Dead Interval [sec]: {u32(d, p + 8)}", p + 8, p + 12),
            node(f"Designated Router: {ip4(d[p + 12 : p + 16])}", p + 12, p + 16),
            node(f"Backup Designated Router: {ip4(d[p + 16 : p + 20])}", p + 16, p + 20),
        ]
        for q in range(p + 20, end - 3, 4):
            if len(hello) >= MAX_ITEMS:
                break
            hello.append(node(f"Active Neighbor: {ip4(d[q : q + 4])}", q, q + 4))
        kids.append(node("OSPF Hello Packet", p, end, hello))
    elif t == 2:
        if p + 8 > end:
            return None
        lls = d[p + 2] & 0x10
        kids.append(
            node(
                "OSPF DB Description",
                p,
                end,
                [
                    node(f"Interface MTU: {u16(d, p)}", p, p + 2),
                    bit_flags("Options", d[p + 2], p + 2, 8, _OPTIONS),
                    bit_flags("DB Description", d[p + 3], p + 3, 8, _DBD_BITS),
                    node(f"DD Sequence: {u32(d, p + 4)}", p + 4, p + 8),
                ],
            )
        )
        kids += _lsa_headers(d, p + 8, end)
    elif t == 3:
        for q in range(p, end - 11, 12):
            if len(kids) >= MAX_ITEMS:
                break
            lt = u32(d, q)
            if lt not in LSA_TYPES:
                continue
            kids.append(
                node(
                    "Link State Request",
                    q,
                    q + 12,
                    [
                        node(f"LS Type: {LSA_TYPES[lt]} ({lt})", q, q + 4),
                        node(f"Link State ID: {ip4(d[q + 4 : q + 8])}", q + 4, q + 8),
                        node(f"Advertising Router: {ip4(d[q + 8 : q + 12])}", q + 8, q + 12),
                    ],
                )
            )
    elif t == 4:
        if p + 4 > end:
            return None
        upd = [node(f"Number of LSAs: {u32(d, p)}", p, p + 4)]
        q = p + 4
        while q + 20 <= end and len(upd) < MAX_ITEMS:
            n = u16(d, q + 18)
            if n < 20 or q + n > end:
                break
            lsa = _lsa_header(d, q, q + n)
            if lsa is not None:
                body = _lsa_body(d, d[q + 3], q + 20, q + n)
                upd.append(node(lsa.label, lsa.start, lsa.end, [*lsa.children, *body]))
            q += n
        kids.append(node("LS Update Packet", p, end, upd))
    else:
        kids += _lsa_headers(d, p, end)
    if t in (1, 2) and lls:
        block = _lls(d, stop, min(len(d), net.end) if net.end > s else len(d))
        if block is None:
            return None
        kids.append(block)
        stop = block.end
    return node("Open Shortest Path First", s, stop, kids)


_LLS_OPTIONS: Final = (
    (0x2, "(RS) Restart Signal", "Set", "Not set"),
    (0x1, "(LR) LSDB Resynchronization", "Set", "Not set"),
)


def _lls(d: bytes, at: int, limit: int) -> Node | None:
    """RFC 5613's LLS data block from ``at``: its checksum, length and TLVs (extended
    options, cryptographic authentication, others by type and length), at most
    ``MAX_ITEMS``; None when it runs past ``limit`` or a TLV is not padded to 4 bytes."""
    if at + 4 > limit:
        return None
    size = u16(d, at + 2) * 4
    end = at + size
    if size < 4 or end > limit:
        return None
    kids = [
        node(f"Checksum: 0x{u16(d, at):04x}", at, at + 2),
        node(f"LLS Data Length: {size} bytes", at + 2, at + 4),
    ]
    q = at + 4
    while q < end:
        if len(kids) > MAX_ITEMS or q + 4 > end:
            return None
        t, n = u16(d, q), u16(d, q + 2)
        v = q + 4
        if n % 4 or v + n > end:
            return None
        head = [node(f"TLV Type: {t}", q, q + 2), node(f"TLV Length: {n}", q + 2, v)]
        if t == 1 and n == 4:
            opts = u32(d, v)
            head.append(bit_flags("Options", opts, v, 32, _LLS_OPTIONS))
            kids.append(node("Extended options TLV", q, v + n, head))
        elif t == 2 and n >= 4:
            head += [
                node(f"Sequence number: 0x{u32(d, v):08x}", v, v + 4),
                node(f"Auth Data: {hex_value(d[v + 4 : v + n])}", v + 4, v + n),
            ]
            kids.append(node("Crypto Authentication TLV", q, v + n, head))
        elif t in (1, 2):
            return None
        else:
            kids.append(node("Unknown LLS TLV", q, v + n, head))
        q = v + n
    return node("OSPF LLS Data Block", at, end, kids)


def _lsa_headers(d: bytes, p: int, end: int) -> list[Node]:
    out: list[Node] = []
    for q in range(p, end - 19, 20):
        if len(out) >= MAX_ITEMS:
            break
        lsa = _lsa_header(d, q, q + 20)
        if lsa is not None:
            out.append(lsa)
    return out


# ----------------------------------------------------------------------------- IGMP

_IGMP_TYPES: Final = {
    0x11: "Membership Query",
    0x12: "Membership Report",
    0x16: "Membership Report",
    0x17: "Leave Group",
    0x22: "Membership Report",
}
_RECORD_TYPES: Final = {
    1: "Mode Is Include",
    2: "Mode Is Exclude",
    3: "Change To Include Mode",
    4: "Change To Exclude Mode",
    5: "Allow New Sources",
    6: "Block Old Sources",
}


def _max_resp(d: bytes, at: int, v3: bool) -> Node:
    """IGMP's maximum response time in tenths of a second; past 127, IGMPv3's floating
    point code (``exp`` and ``mant``) with its two parts under it."""
    code = d[at]
    if not v3 or code < 128:
        return node(f"Max Resp Time: {code / 10:.1f} sec (0x{code:02x})", at, at + 1)
    exp, mant = (code >> 4) & 7, code & 15
    tenths = (mant | 0x10) << (exp + 3)
    return node(
        f"Max Resp Time: {tenths / 10:.1f} sec (0x{code:02x})",
        at,
        at + 1,
        [
            node(bits_line(code, 0x70, 8, "Exponent", f"0x{exp:x}"), at, at + 1),
            node(bits_line(code, 0x0F, 8, "Mantissa", f"0x{mant:x}"), at, at + 1),
        ],
    )


#: mtrace's routing protocols and forwarding codes, as tshark names them
_MTRACE_PROTOCOLS: Final = {
    1: "DVMRP",
    2: "MOSPF",
    3: "PIM",
    4: "CBT",
    5: "PIM using special routing table",
    6: "PIM using a static route",
    7: "DVMRP using a static route",
    8: "PIM using MBGP (aka BGP4+) route",
    9: "CBT using special routing table",
    10: "CBT using a static route",
    11: "PIM using state created by Assert processing",
}
_MTRACE_CODES: Final = {
    0x00: "NO_ERROR",
    0x01: "WRONG_IF",
    0x02: "PRUNE_SENT",
    0x03: "PRUNE_RCVD",
    0x04: "SCOPED",
    0x05: "NO_ROUTE",
    0x06: "WRONG_LAST_HOP",
    0x07: "NOT_FORWARDING",
    0x08: "REACHED_RP",
    0x09: "RPF_IF",
    0x0A: "NO_MULTICAST",
    0x0B: "INFO_HIDDEN",
    0x81: "NO_SPACE",
    0x82: "OLD_ROUTER",
    0x83: "ADMIN_PROHIB",
}
#: an mtrace query's size, and a response data block's
_MTRACE_QUERY: Final = 24
_MTRACE_BLOCK: Final = 32


def mtrace(d: bytes, s: int, end: int, net: Net) -> Node | None:
    """A multicast traceroute query or response (IGMP types 0x1f and 0x1e): the query's
    fields, then each hop's response data block (at most ``MAX_ITEMS``); None for a length
    that is not the query plus whole blocks, or a block's protocol or code tshark names
    from no table here."""
    t = d[s]
    blocks = (end - s - _MTRACE_QUERY) // _MTRACE_BLOCK
    if end - s < _MTRACE_QUERY or (end - s - _MTRACE_QUERY) % _MTRACE_BLOCK or blocks > MAX_ITEMS:
        return None
    if t == 0x1F and blocks:
        return None
    kids = [
        node(f"Type: Traceroute {'Query' if t == 0x1F else 'Response'} (0x{t:02x})", s, s + 1),
        node(f"# hops: {d[s + 1]}", s + 1, s + 2),
        node(f"Checksum: {verdict(u16(d, s + 2), s, net, 'icmp')}", s + 2, s + 4),
    ]
    for i, what in enumerate(("Multicast", "Source", "Receiver", "Response")):
        at = s + 4 + 4 * i
        kids.append(node(f"{what} Address: {ip4(d[at : at + 4])}", at, at + 4))
    kids += [
        node(f"Response TTL: {d[s + 20]}", s + 20, s + 21),
        node(f"Query ID: {int.from_bytes(d[s + 21 : s + 24], 'big')}", s + 21, s + 24),
    ]
    for b in range(s + _MTRACE_QUERY, end, _MTRACE_BLOCK):
        block = _mtrace_block(d, b)
        if block is None:
            return None
        kids.append(block)
    return node("Internet Group Management Protocol", s, end, kids)


def _mtrace_block(d: bytes, b: int) -> Node | None:
    proto, code, m = d[b + 28], d[b + 31], d[b + 30]
    if proto not in _MTRACE_PROTOCOLS or code not in _MTRACE_CODES:
        return None
    into, out = ip4(d[b + 4 : b + 8]), ip4(d[b + 8 : b + 12])
    pname, cname = _MTRACE_PROTOCOLS[proto], _MTRACE_CODES[code]
    return node(
        f"Response data block: {into} -> {out},  Proto: {pname},  Forwarding Code: {cname}",
        b,
        b + _MTRACE_BLOCK,
        [
            node(f"Query Arrival: {u32(d, b)}", b, b + 4),
            node(f"In itf addr: {into}", b + 4, b + 8),
            node(f"Out itf addr: {out}", b + 8, b + 12),
            node(f"Previous rtr addr: {ip4(d[b + 12 : b + 16])}", b + 12, b + 16),
            node(f"In pkts: {u32(d, b + 16)}", b + 16, b + 20),
            node(f"Out pkts: {u32(d, b + 20)}", b + 20, b + 24),
            node(f"S,G pkt count: {u32(d, b + 24)}", b + 24, b + 28),
            node(f"Rtg Protocol: {pname} ({proto})", b + 28, b + 29),
            node(f"FwdTTL: {d[b + 29]}", b + 29, b + 30),
            node(bits_line(m, 0x80, 8, "MBZ", f"0x{m >> 7:x}"), b + 30, b + 31),
            node(bits_line(m, 0x40, 8, "S", f"0x{m >> 6 & 1:x}"), b + 30, b + 31),
            node(bits_line(m, 0x3F, 8, "Src Mask", f"0x{m & 0x3F:x}"), b + 30, b + 31),
            node(f"Forwarding Code: {cname} (0x{code:02x})", b + 31, b + 32),
        ],
    )


def igmp(data: bytes, s: int, net: Net) -> Node | None:
    """IGMPv1, v2 and v3 queries and reports, v2's leave and mtrace's queries and responses
    (None for the rest: DVMRP, ...)."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    t = d[s] if s < end else -1
    if t in (0x1E, 0x1F):
        return mtrace(d, s, end, net)
    if t not in _IGMP_TYPES or s + 8 > end:
        return None
    size = end - s
    if t == 0x11:
        version = 3 if size >= 12 else 2 if d[s + 1] else 1
    else:
        version = {0x12: 1, 0x16: 2, 0x17: 2, 0x22: 3}[t]
    kids = [
        node(f"[IGMP Version: {version}]", s, s),
        node(f"Type: {_IGMP_TYPES[t]} (0x{t:02x})", s, s + 1),
    ]
    if version == 1 or t == 0x22:
        kids.append(node(f"Reserved: {d[s + 1]:02x}", s + 1, s + 2))
    else:
        kids.append(_max_resp(d, s + 1, version == 3))
    kids.append(node(f"Checksum: {verdict(u16(d, s + 2), s, net, 'icmp')}", s + 2, s + 4))
    if t != 0x22:
        kids.append(node(f"Multicast Address: {ip4(d[s + 4 : s + 8])}", s + 4, s + 8))
        if version == 3:
            n = u16(d, s + 10)
            flags = d[s + 8]
            suppress = (
                "SUPPRESS router side processing"
                if flags & 8
                else "Do not suppress router side processing"
            )
            kids += [
                node(bits_line(flags, 0x08, 8, "S", suppress), s + 8, s + 9),
                node(bits_line(flags, 0x07, 8, "QRV", str(flags & 7)), s + 8, s + 9),
                node(f"QQIC: {d[s + 9]}", s + 9, s + 10),
                node(f"Num Src: {n}", s + 10, s + 12),
            ]
            p = s + 12
            for _ in range(min(n, MAX_ITEMS)):
                if p + 4 > end:
                    return None
                kids.append(node(f"Source Address: {ip4(d[p : p + 4])}", p, p + 4))
                p += 4
        return node("Internet Group Management Protocol", s, end, kids)
    n = u16(d, s + 6)
    kids += [
        node(f"Reserved: {d[s + 4 : s + 6].hex()}", s + 4, s + 6),
        node(f"Num Group Records: {n}", s + 6, s + 8),
    ]
    p = s + 8
    for _ in range(min(n, MAX_ITEMS)):
        if p + 8 > end or d[p] not in _RECORD_TYPES:
            return None
        rt, aux, ns = d[p], d[p + 1], u16(d, p + 2)
        stop = p + 8 + 4 * ns + 4 * aux
        if stop > end:
            return None
        what = _RECORD_TYPES[rt]
        maddr = ip4(d[p + 4 : p + 8])
        rec = [
            node(f"Record Type: {what} ({rt})", p, p + 1),
            node(f"Aux Data Len: {aux}", p + 1, p + 2),
            node(f"Num Src: {ns}", p + 2, p + 4),
            node(f"Multicast Address: {maddr}", p + 4, p + 8),
        ]
        q = p + 8
        for _ in range(min(ns, MAX_ITEMS)):
            rec.append(node(f"Source Address: {ip4(d[q : q + 4])}", q, q + 4))
            q += 4
        if aux:
            q = p + 8 + 4 * ns
            rec.append(node(f"Aux Data: {hex_value(d[q:stop])}", q, stop))
        kids.append(node(f"Group Record : {maddr}  {what}", p, stop, rec))
        p = stop
    return node("Internet Group Management Protocol", s, end, kids)


# ----------------------------------------------------------------------------- RIP

_RIP_COMMANDS: Final = {1: "Request", 2: "Response", 3: "Traceon", 4: "Traceoff"}


def rip(data: bytes, s: int, net: Net) -> Node | None:
    """RIPv1 and RIPv2: the header, simple-password authentication and the route entries."""
    d = data
    end = s + u16(d, s - 4) - 8 if s >= 8 and u16(d, s - 4) >= 8 else len(d)
    end = min(end, len(d))
    if s + 4 > end:
        return None
    cmd, version = d[s], d[s + 1]
    if cmd not in _RIP_COMMANDS or version not in (1, 2):
        return None
    kids = [
        node(f"Command: {_RIP_COMMANDS[cmd]} ({cmd})", s, s + 1),
        node(f"Version: RIPv{version} ({version})", s + 1, s + 2),
    ]
    p = s + 4
    while p + 20 <= end and len(kids) < MAX_ITEMS:
        af = u16(d, p)
        if af == 0xFFFF and version == 2:
            if u16(d, p + 2) != 2:
                break  # keyed digests: tshark words them from its own tables
            pw = d[p + 4 : p + 20].split(b"\0", 1)[0]
            if not all(0x20 <= c < 0x7F for c in pw):
                break
            kids.append(
                node(
                    "Authentication: Simple Password",
                    p,
                    p + 20,
                    [
                        node("Authentication type: Simple Password (2)", p + 2, p + 4),
                        node(f"Password: {pw.decode()}", p + 4, p + 20),
                    ],
                )
            )
            p += 20
            continue
        if af not in (0, 2):
            break
        addr, metric = ip4(d[p + 4 : p + 8]), u32(d, p + 16)
        entry = [node(f"Address Family: {'IP' if af else 'Unspecified'} ({af})", p, p + 2)]
        if version == 2:
            entry.append(node(f"Route Tag: {u16(d, p + 2)}", p + 2, p + 4))
        if af:
            entry.append(node(f"IP Address: {addr}", p + 4, p + 8))
        if version == 2:
            entry += [
                node(f"Netmask: {ip4(d[p + 8 : p + 12])}", p + 8, p + 12),
                node(f"Next Hop: {ip4(d[p + 12 : p + 16])}", p + 12, p + 16),
            ]
        entry.append(node(f"Metric: {metric}", p + 16, p + 20))
        title = f"IP Address: {addr}" if af else "Address not specified"
        kids.append(node(f"{title}, Metric: {metric}", p, p + 20, entry))
        p += 20
    return node("Routing Information Protocol", s, end, kids)


# ----------------------------------------------------------------------------- VRRP

_VRRP_AUTH: Final = {
    0: "No Authentication",
    1: "Simple Text Authentication [RFC 2338] / Reserved [RFC 3768]",
    2: "IP Authentication Header [RFC 2338] / Reserved [RFC 3768]",
}


def _vrrp_priority(p: int) -> str:
    if p == 0:
        return "Current Master has stopped participating in VRRP"
    if p == 100:
        return "Default priority for a backup VRRP router"
    if p == 255:
        return "This VRRP router owns the virtual router's IP address(es)"
    return "Non-default backup priority"


def vrrp(data: bytes, s: int, net: Net) -> Node | None:
    """VRRPv2 and VRRPv3 advertisements over IPv4 and IPv6."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s + 8 > end:
        return None
    version, t = d[s] >> 4, d[s] & 15
    six = len(net.src) == 16
    if version not in (2, 3) or t != 1 or (version == 2 and six):
        return None
    count = d[s + 3]
    size = 16 if six else 4
    stop = s + 8 + count * size + (8 if version == 2 else 0)
    if stop > end or (version == 2 and d[s + 4] not in _VRRP_AUTH):
        return None
    prio = d[s + 2]
    kids = [
        node(
            f"Version {version}, Packet type 1 (Advertisement)",
            s,
            s + 1,
            [
                node(bits_line(d[s], 0xF0, 8, "VRRP protocol version", str(version)), s, s + 1),
                node(bits_line(d[s], 0x0F, 8, "VRRP packet type", "Advertisement (1)"), s, s + 1),
            ],
        ),
        node(f"Virtual Rtr ID: {d[s + 1]}", s + 1, s + 2),
        node(f"Priority: {prio} ({_vrrp_priority(prio)})", s + 2, s + 3),
        node(f"Addr Count: {count}", s + 3, s + 4),
    ]
    if version == 2:
        auth = d[s + 4]
        kids += [
            node(f"Auth Type: {_VRRP_AUTH[auth]} ({auth})", s + 4, s + 5),
            node(f"Adver Int: {d[s + 5]}", s + 5, s + 6),
        ]
        c = cksum(d[s:end])
    else:
        adv = u16(d, s + 4)
        kids += [
            node(bits_line(d[s + 4], 0xF0, 8, "Reserved", str(d[s + 4] >> 4)), s + 4, s + 5),
            node(bits_line(adv, 0x0FFF, 16, "Adver Int", str(adv & 0x0FFF)), s + 4, s + 6),
        ]
        c = pseudo_sum(net.src, net.dst, 112, d[s:end]) if net.src else -1
    field = u16(d, s + 6)
    if c == 0:
        shown = f"0x{field:04x} [correct]"
    elif c > 0:
        shown = f"0x{field:04x} incorrect, should be 0x{shouldbe(field, c):04x}"
    else:
        shown = f"0x{field:04x} [unverified]"
    kids.append(node(f"Checksum: {shown}", s + 6, s + 8))
    p = s + 8
    for _ in range(min(count, MAX_ITEMS)):
        if six:
            kids.append(node(f"IPv6 Address: {ip6(d[p : p + 16])}", p, p + 16))
        else:
            kids.append(node(f"IP Address: {ip4(d[p : p + 4])}", p, p + 4))
        p += size
    if version == 2 and d[s + 4] == 1:
        text = d[p : p + 8].split(b"\0", 1)[0]
        if all(0x20 <= c < 0x7F for c in text):
            kids.append(node(f"Authentication String: {text.decode()}", p, p + 8))
    return node("Virtual Router Redundancy Protocol", s, end, kids)


# ----------------------------------------------------------------------------- BGP

_BGP_TYPES: Final = {
    1: "OPEN",
    2: "UPDATE",
    3: "NOTIFICATION",
    4: "KEEPALIVE",
    5: "ROUTE-REFRESH",
    6: "CAPABILITY",
    128: "Cisco ROUTE-REFRESH",
}
#: Wireshark's names of BGP capabilities
CAPABILITIES: Final = {
    0: "Reserved capability",
    1: "Multiprotocol extensions capability",
    2: "Route refresh capability",
    3: "Cooperative route filtering capability",
    4: "Multiple routes to a destination capability",
    5: "Extended Next Hop Encoding",
    6: "BGP-Extended Message",
    7: "BGPsec capability",
    8: "Multiple Labels capability",
    9: "BGP Role",
    64: "Graceful Restart capability",
    65: "Support for 4-octet AS number capability",
    66: "Deprecated Dynamic Capability (Cisco)",
    67: "Support for Dynamic capability",
    68: "Multisession BGP Capability",
    69: "Support for Additional Paths",
    70: "Enhanced route refresh capability",
    71: "Long-Lived Graceful Restart (LLGR) Capability",
    72: "CP-ORF Capability",
    73: "FQDN Capability",
    128: "Route refresh capability (Cisco)",
    130: "Cooperative route filtering capability (Cisco)",
    131: "Multisession BGP Capability (Cisco)",
}
_AFI: Final = {1: "IPv4", 2: "IPv6", 25: "Layer-2 VPN", 16388: "BGP-LS"}
_SAFI: Final = {
    1: "Unicast",
    2: "Multicast",
    4: "Labeled Unicast",
    5: "MCAST-VPN",
    65: "VPLS",
    70: "EVPN",
    71: "BGP-LS",
    128: "Labeled VPN Unicast",
    129: "Labeled VPN Multicast",
    132: "Route Target Filter",
    133: "Flow Spec Filter",
    134: "Flow Spec Filter VPN",
}
_MAJOR_ERRORS: Final = {
    1: "Message Header Error",
    2: "OPEN Message Error",
    3: "UPDATE Message Error",
    4: "Hold Timer Expired",
    5: "Finite State Machine Error",
    6: "Cease",
    7: "CAPABILITY Message Error",
}
_CEASE: Final = {
    1: "Maximum Number of Prefixes Reached",
    2: "Administratively Shutdown",
    3: "Peer De-configured",
    4: "Administratively Reset",
    5: "Connection Rejected",
    6: "Other Configuration Change",
    7: "Connection Collision Resolution",
    8: "Out of Resources",
    9: "Hard Reset",
}
_OPEN_ERRORS: Final = {
    1: "Unsupported Version Number",
    2: "Bad Peer AS",
    3: "Bad BGP Identifier",
    4: "Unsupported Optional Parameter",
    5: "Authentication Failure [Deprecated]",
    6: "Unacceptable Hold Time",
    7: "Unsupported Capability",
    8: "No supported AFI/SAFI (Cisco)",
}
_REFRESH: Final = {
    0: "Normal route refresh request [RFC2918] with/without ORF [RFC5291]",
    1: "Demarcation of the beginning of a route refresh",
    2: "Demarcation of the ending of a route refresh",
}
_ORIGINS: Final = {0: "IGP", 1: "EGP", 2: "INCOMPLETE"}
_SEGMENTS: Final = {1: "AS_SET", 2: "AS_SEQUENCE", 3: "AS_CONFED_SEQUENCE", 4: "AS_CONFED_SET"}
_WELL_KNOWN: Final = {
    0xFFFFFF01: "NO_EXPORT",
    0xFFFFFF02: "NO_ADVERTISE",
    0xFFFFFF03: "NO_EXPORT_SUBCONFED",
}
_ATTR_NAMES: Final = {
    1: "ORIGIN",
    2: "AS_PATH",
    3: "NEXT_HOP",
    4: "MULTI_EXIT_DISC",
    5: "LOCAL_PREF",
    6: "ATOMIC_AGGREGATE",
    7: "AGGREGATOR",
    8: "COMMUNITIES",
    9: "ORIGINATOR_ID",
    10: "CLUSTER_LIST",
    14: "MP_REACH_NLRI",
    15: "MP_UNREACH_NLRI",
    16: "EXTENDED_COMMUNITIES",
    32: "LARGE_COMMUNITY",
}
#: attributes whose title is their name alone (their values are not worded here)
_ATTR_NAMED_ONLY: Final = frozenset({14, 15, 16})
#: every attribute type Wireshark names (others are "Unknown (N)")
_ATTR_KNOWN: Final = frozenset([*range(1, 34), 36, 40, 99, 128, 129, 241, 242, 243])
_ATTR_FLAGS: Final = (
    (0x80, "Optional"),
    (0x40, "Transitive"),
    (0x20, "Partial"),
    (0x10, "Extended-Length"),
)


def _afi_safi(d: bytes, at: int, safi_at: int) -> list[Node] | None:
    afi, safi = u16(d, at), d[safi_at]
    if afi not in _AFI or safi not in _SAFI:
        return None
    return [
        node(f"AFI: {_AFI[afi]} ({afi})", at, at + 2),
        node(f"SAFI: {_SAFI[safi]} ({safi})", safi_at, safi_at + 1),
    ]


def _capability(d: bytes, p: int, end: int) -> Node | None:
    """One capability (``p``: its code, ``end``: its end)."""
    code, n = d[p], d[p + 1]
    v = p + 2
    if code not in CAPABILITIES:
        kids = [
            node(f"Type: Unknown ({code})", p, p + 1),
            node(f"Length: {n}", p + 1, p + 2),
        ]
        if n:
            kids.append(node(f"Unknown: {hex_value(d[v:end])}", v, end))
        return node(f"Capability: Unknown capability {code}", p, end, kids)
    name = CAPABILITIES[code]
    kids = [node(f"Type: {name} ({code})", p, p + 1), node(f"Length: {n}", p + 1, p + 2)]
    if code == 1 and n == 4:
        got = _afi_safi(d, v, v + 3)
        if got is not None:
            kids += [got[0], node(f"Reserved: {d[v + 2]:02x}", v + 2, v + 3), got[1]]
    elif code == 65 and n == 4:
        kids.append(node(f"AS Number: {u32(d, v)}", v, v + 4))
    elif code == 69 and n % 4 == 0:
        words = {1: "Receive", 2: "Send", 3: "Both"}
        for q in range(v, end, 4):
            got = _afi_safi(d, q, q + 2)
            if got is None or d[q + 3] not in words:
                break
            kids += [*got, node(f"Send/Receive: {words[d[q + 3]]} ({d[q + 3]})", q + 3, q + 4)]
    elif code == 64 and n == 2:
        t = u16(d, v)
        kids.append(
            bit_flags_16(
                "Restart Timers",
                t,
                v,
                (
                    (0x8000, "Restart state", "Yes", "No"),
                    (0x4000, "Graceful notification", "Yes", "No"),
                ),
                node(bits_line(t, 0x0FFF, 16, "Time", str(t & 0x0FFF)), v, v + 2),
            )
        )
    elif code == 73 and n >= 2:
        hn = d[v]
        if v + 1 + hn + 1 > end:
            return node(f"Capability: {name}", p, end, kids)
        q = v + 1 + hn
        dn = d[q]
        host, domain = d[v + 1 : q], d[q + 1 : q + 1 + dn]
        if q + 1 + dn == end and all(0x20 <= c < 0x7F for c in host + domain):
            kids += [
                node(f"Hostname Length: {hn}", v, v + 1),
                node(f"Hostname: {host.decode()}", v + 1, q),
                node(f"Domain Name Length: {dn}", q, q + 1),
                node(f"Domain Name: {domain.decode()}", q + 1, end),
            ]
    return node(f"Capability: {name}", p, end, kids)


def bit_flags_16(
    title: str, v: int, at: int, bits: tuple[tuple[int, str, str, str], ...], last: Node
) -> Node:
    """A 16-bit field whose title names its set flags, with a value line after them."""
    names = [name for bit, name, _y, _n in bits if v & bit]
    return node(
        f"{title}: 0x{v:04x}" + "".join(f", {n}" for n in names),
        at,
        at + 2,
        [
            *(
                node(bits_line(v, bit, 16, name, yes if v & bit else no), at, at + 2)
                for bit, name, yes, no in bits
            ),
            last,
        ],
    )


def _open(d: bytes, s: int, end: int) -> list[Node] | None:
    p = s + 19
    if p + 10 > end:
        return None
    n = d[p + 9]
    kids = [
        node(f"Version: {d[p]}", p, p + 1),
        node(f"My AS: {u16(d, p + 1)}", p + 1, p + 3),
        node(f"Hold Time: {u16(d, p + 3)}", p + 3, p + 5),
        node(f"BGP Identifier: {ip4(d[p + 5 : p + 9])}", p + 5, p + 9),
        node(f"Optional Parameters Length: {n}", p + 9, p + 10),
    ]
    q, stop = p + 10, p + 10 + n
    if stop > end or n == 0 or d[q] == 0xFF:
        return kids
    params: list[Node] = []
    while q + 2 <= stop and len(params) < MAX_ITEMS:
        t, ln = d[q], d[q + 1]
        if t != 2 or q + 2 + ln > stop:
            break
        caps: list[Node] = []
        c = q + 2
        while c + 2 <= q + 2 + ln and len(caps) < MAX_ITEMS:
            cend = c + 2 + d[c + 1]
            if cend > q + 2 + ln:
                break
            cap = _capability(d, c, cend)
            if cap is not None:
                caps.append(cap)
            c = cend
        params.append(
            node(
                "Optional Parameter: Capability",
                q,
                q + 2 + ln,
                [
                    node("Parameter Type: Capability (2)", q, q + 1),
                    node(f"Parameter Length: {ln}", q + 1, q + 2),
                    *caps,
                ],
            )
        )
        q += 2 + ln
    kids.append(node("Optional Parameters", p + 10, stop, params))
    return kids


def _add_path(d: bytes, p: int, end: int) -> bool:
    """Wireshark's guess that IPv4 prefixes carry path identifiers: they read well with them
    and not without."""

    def fits(o: int, skip: int) -> bool:
        while o < end:
            o += skip
            if o >= end and skip:
                return True
            width = d[o]
            if width == 0 and not skip and end - p > 1:
                return False
            if width > 32:
                return False
            o += 1 + (width + 7) // 8
            if o > end or (width % 8 and d[o - 1] & (0xFF >> (width % 8))):
                return False
        return True

    return p < end and fits(p, 4) and not fits(p, 0)


def _prefixes(d: bytes, p: int, end: int, withdrawn: bool) -> list[Node] | None:
    """IPv4 prefixes (withdrawn routes or NLRI), with path identifiers where Wireshark finds
    them; None where a prefix runs past ``end``."""
    add = _add_path(d, p, end)
    if add and withdrawn:
        return []
    out: list[Node] = []
    while p < end and len(out) < MAX_ITEMS:
        q = p + 4 if add else p
        if q >= end:
            break  # a path identifier without its prefix: tshark stops there too
        width = d[q]
        size = (width + 7) // 8
        if width > 32 or q + 1 + size > end:
            return None
        addr = ip4(d[q + 1 : q + 1 + size] + bytes(4 - size))
        stop = q + 1 + size
        if withdrawn:
            kids = [
                node(f"Withdrawn route prefix length: {width}", q, q + 1),
                node(f"Withdrawn prefix: {addr}", q + 1, stop),
            ]
            out.append(node(f"{addr}/{width}", p, stop, kids))
        elif add:
            pid = u32(d, p)
            kids = [
                node(f"NLRI path id: {pid}", p, p + 4),
                node(f"Prefix Length: {width}", q, q + 1),
                node(f"NLRI prefix: {addr}", q + 1, stop),
            ]
            out.append(node(f"{addr}/{width} PathId {pid} ", p, stop, kids))
        else:
            kids = [
                node(f"NLRI prefix length: {width}", q, q + 1),
                node(f"NLRI prefix: {addr}", q + 1, stop),
            ]
            out.append(node(f"{addr}/{width}", p, stop, kids))
        p = stop
    return out


def _as_size(d: bytes, p: int, end: int) -> int:
    """2 or 4: the size of the AS numbers of an AS_PATH (which the session's capabilities
    decide; read from the bytes as Wireshark guesses it), 0 when neither reads whole."""

    def reads(size: int) -> bool:
        o = p
        while o < end:
            if o + 2 > end or d[o] not in _SEGMENTS or d[o + 1] == 0:
                return False
            n = d[o + 1]
            if size == 2 and any(
                u16(d, o + 2 + 2 * i) == 0 for i in range(n) if o + 4 + 2 * i <= end
            ):
                return False
            o += 2 + n * size
        return o == end

    return 2 if reads(2) else 4 if reads(4) else 0


def _as_path(d: bytes, p: int, end: int) -> tuple[str, list[Node]] | None:
    size = _as_size(d, p, end)
    if not size:
        return None
    segs: list[Node] = []
    texts: list[str] = []
    while p < end and len(segs) < MAX_ITEMS:
        t, n = d[p], d[p + 1]
        asns = [
            int.from_bytes(d[q : q + size], "big") for q in range(p + 2, p + 2 + n * size, size)
        ]
        words = [str(a) for a in asns]
        text = {
            1: "{" + ", ".join(words) + "}",
            3: "(" + " ".join(words) + ")",
            4: "[" + ", ".join(words) + "]",
        }.get(t, " ".join(words))
        stop = p + 2 + n * size
        segs.append(
            node(
                f"AS Path segment: {text}",
                p,
                stop,
                [
                    node(f"Segment type: {_SEGMENTS[t]} ({t})", p, p + 1),
                    node(f"Segment length (number of ASN): {n}", p + 1, p + 2),
                    *(
                        node(f"AS{size}: {a}", q, q + size)
                        for a, q in zip(asns, range(p + 2, stop, size), strict=True)
                    ),
                ],
            )
        )
        texts.append(text)
        p = stop
    return "".join(f"{t} " for t in texts), segs


def _attribute(d: bytes, p: int, end: int) -> tuple[Node | None, int] | None:
    """One path attribute and where it ends; its node is None for an attribute tapwatch does
    not word (MP_REACH_NLRI, extended communities...)."""
    if p + 3 > end:
        return None
    flags, code = d[p], d[p + 1]
    long = flags & 0x10
    head = 4 if long else 3
    if p + head > end:
        return None
    n = u16(d, p + 2) if long else d[p + 2]
    v, stop = p + head, p + head + n
    if stop > end:
        return None
    words = [w for bit, w in _ATTR_FLAGS if flags & bit]
    words += [
        w
        for bit, w in ((0x80, "Well-known"), (0x40, "Non-transitive"), (0x20, "Complete"))
        if not flags & bit
    ]
    flag_node = node(
        f"Flags: 0x{flags:02x}" + "".join(f", {w}" for w in words),
        p,
        p + 1,
        [
            *(
                node(bits_line(flags, bit, 8, w, set_word(flags & bit)), p, p + 1)
                for bit, w in _ATTR_FLAGS
            ),
            node(bits_line(flags, 0x0F, 8, "Unused", f"0x{flags & 15:x}"), p, p + 1),
        ],
    )
    value: list[Node] = []
    if code == 1 and n == 1 and d[v] in _ORIGINS:
        shown = _ORIGINS[d[v]]
        value = [node(f"Origin: {shown} ({d[v]})", v, stop)]
    elif code == 2 and not n:
        shown = "empty"
    elif code == 2:
        got = _as_path(d, v, stop)
        if got is None:
            return None, stop
        shown, value = got
    elif code == 3 and n == 4:
        shown = ip4(d[v:stop]) + " "
        value = [node(f"Next hop: {ip4(d[v:stop])}", v, stop)]
    elif code == 4 and n == 4:
        shown = str(u32(d, v))
        value = [node(f"Multiple exit discriminator: {shown}", v, stop)]
    elif code == 5 and n == 4:
        shown = str(u32(d, v))
        value = [node(f"Local preference: {shown}", v, stop)]
    elif code == 6 and n == 0:
        shown = ""
    elif code == 7 and n == 6:
        shown = f"AS: {u16(d, v)} origin: {ip4(d[v + 2 : stop])}"
        value = [
            node(f"Aggregator AS: {u16(d, v)}", v, v + 2),
            node(f"Aggregator origin: {ip4(d[v + 2 : stop])}", v + 2, stop),
        ]
    elif code == 8 and n and n % 4 == 0:
        comms, texts = [], []
        for q in range(v, stop, 4):
            c = u32(d, q)
            if c in _WELL_KNOWN:
                texts.append(_WELL_KNOWN[c])
                comms.append(node(f"Community Well-known: {_WELL_KNOWN[c]} (0x{c:08x})", q, q + 4))
            elif c >> 16 in (0, 0xFFFF):
                return None, stop
            else:
                text = f"{c >> 16}:{c & 0xFFFF}"
                texts.append(text)
                comms.append(
                    node(
                        f"Community: {text} ",
                        q,
                        q + 4,
                        [
                            node(f"Community AS: {c >> 16}", q, q + 2),
                            node(f"Community value: {c & 0xFFFF}", q + 2, q + 4),
                        ],
                    )
                )
        shown = "".join(f"{t} " for t in texts)
        value = [node(f"Communities: {shown}", v, stop, comms)]
    elif code == 9 and n == 4:
        shown = ip4(d[v:stop]) + " "
        value = [node(f"Originator identifier: {ip4(d[v:stop])}", v, stop)]
    elif code == 10 and n == 4:
        shown = ip4(d[v:stop])
        value = [node(f"Cluster List: {shown}", v, stop)]
    elif code == 32 and n == 12:
        shown = f"{u32(d, v)}:{u32(d, v + 4)}:{u32(d, v + 8)}"
        value = [node(f"Large communities: {shown}", v, stop)]
    elif code in _ATTR_NAMED_ONLY:
        shown = ""
    elif code not in _ATTR_KNOWN:
        shown = ""
        value = [node("Unknown Path attributes", v, stop)]
    else:
        return None, stop  # tshark words its value from tables tapwatch does not carry
    name = _ATTR_NAMES.get(code, f"Unknown ({code})")
    kids = [
        flag_node,
        node(
            f"Type Code: {name} ({code})" if code in _ATTR_NAMES else f"Type Code: {name}",
            p + 1,
            p + 2,
        ),
        node(f"Length: {n}", p + 2, p + head),
        *value,
    ]
    title = f"Path Attribute - {name}" + (f": {shown}" if shown else "")
    return node(title, p, stop, kids), stop


def _update(d: bytes, s: int, end: int) -> list[Node] | None:
    p = s + 19
    if p + 2 > end:
        return None
    wl = u16(d, p)
    kids = [node(f"Withdrawn Routes Length: {wl}", p, p + 2)]
    p += 2
    if p + wl + 2 > end:
        return None
    if wl:
        routes = _prefixes(d, p, p + wl, withdrawn=True)
        if routes is None:
            return None
        kids.append(node("Withdrawn Routes", p, p + wl, routes))
    p += wl
    al = u16(d, p)
    kids.append(node(f"Total Path Attribute Length: {al}", p, p + 2))
    p += 2
    if p + al > end:
        return None
    if al:
        attrs: list[Node] = []
        q = p
        while q < p + al and len(attrs) < MAX_ITEMS:
            got = _attribute(d, q, p + al)
            if got is None:
                return None
            attr, q = got
            if attr is not None:
                attrs.append(attr)
        kids.append(node("Path attributes", p, p + al, attrs))
    p += al
    if p < end:
        nlri = _prefixes(d, p, end, withdrawn=False)
        if nlri is None:
            return None
        kids.append(node("Network Layer Reachability Information (NLRI)", p, end, nlri))
    return kids


def bgp(data: bytes, s: int, net: Net) -> Node | None:
    """One BGP message (the tree builds the next one where it ends)."""
    d = data
    limit = min(len(d), net.end) if net.end > s else len(d)
    if s + 19 > limit or d[s : s + 16] != b"\xff" * 16:
        return None
    length, t = u16(d, s + 16), d[s + 18]
    end = s + length
    if length < 19 or end > limit or t not in _BGP_TYPES:
        return None
    kids = [
        node(f"Marker: {d[s : s + 16].hex()}", s, s + 16),
        node(f"Length: {length}", s + 16, s + 18),
        node(f"Type: {_BGP_TYPES[t]} Message ({t})", s + 18, s + 19),
    ]
    p = s + 19
    body: list[Node] | None = []
    if t == 1:
        body = _open(d, s, end)
    elif t == 2:
        body = _update(d, s, end)
    elif t == 3 and p + 2 <= end:
        major, minor = d[p], d[p + 1]
        body = []
        if major in _MAJOR_ERRORS:
            body.append(node(f"Major error Code: {_MAJOR_ERRORS[major]} ({major})", p, p + 1))
            if major == 6 and minor in _CEASE:
                body.append(
                    node(f"Minor error Code (Cease): {_CEASE[minor]} ({minor})", p + 1, p + 2)
                )
                if end > p + 2:
                    body.append(node(f"Data: {hex_value(d[p + 2 : end])}", p + 2, end))
            elif major == 2 and minor in _OPEN_ERRORS:
                body.append(
                    node(
                        f"Minor error Code (Open Message): {_OPEN_ERRORS[minor]} ({minor})",
                        p + 1,
                        p + 2,
                    )
                )
                if minor == 2 and end == p + 4:
                    body.append(node(f"Bad Peer AS: {u16(d, p + 2)}", p + 2, end))
    elif t == 5 and end == p + 4:
        afi, sub, safi = u16(d, p), d[p + 2], d[p + 3]
        if afi in _AFI and sub in _REFRESH and safi in _SAFI:
            body = [
                node(f"Address family identifier (AFI): {_AFI[afi]} ({afi})", p, p + 2),
                node(f"Subtype: {_REFRESH[sub]} ({sub})", p + 2, p + 3),
                node(
                    f"Subsequent address family identifier (SAFI): {_SAFI[safi]} ({safi})",
                    p + 3,
                    p + 4,
                ),
            ]
    if body is None:
        return None
    return node(f"Border Gateway Protocol - {_BGP_TYPES[t]} Message", s, end, kids + body)


# ----------------------------------------------------------------------------- BFD

_BFD_DIAGNOSTICS: Final = {
    0: "No Diagnostic",
    1: "Control Detection Time Expired",
    2: "Echo Function Failed",
    3: "Neighbor Signaled Session Down",
    4: "Forwarding Plane Reset",
    5: "Path Down",
    6: "Concatenated Path Down",
    7: "Administratively Down",
    8: "Reverse Concatenated Path Down",
    9: "Mis-Connectivity Defect",
}
_BFD_STATES: Final = {0: "AdminDown", 1: "Down", 2: "Init", 3: "Up"}
_BFD_FLAGS: Final = (
    (0x20, "Poll"),
    (0x10, "Final"),
    (0x08, "Control Plane Independent"),
    (0x04, "Authentication Present"),
    (0x02, "Demand"),
    (0x01, "Multipoint"),
)


def _six_bits(v: int, mask: int, name: str, word: str) -> str:
    """A bit of BFD's 6-bit flags field as Wireshark draws it: ``.1.. .. = Final: Set``."""
    chars = "".join(("1" if v & b else "0") if mask & b else "." for b in (32, 16, 8, 4, 2, 1))
    return f"{chars[:4]} {chars[4:]} = {name}: {word}"


def bfd(data: bytes, s: int, net: Net) -> Node | None:
    """A BFD control message (RFC 5880), with its authentication section when the A bit
    says there is one."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s + 24 > end or d[s] >> 5 != 1 or d[s + 3] != end - s:
        return None
    diag, sta, flags = d[s] & 0x1F, d[s + 1] >> 6, d[s + 1] & 0x3F
    if diag not in _BFD_DIAGNOSTICS or (end != s + 24) != bool(flags & 0x04):
        return None
    auth = _bfd_auth(d, s + 24, end) if flags & 0x04 else None
    if flags & 0x04 and auth is None:
        return None
    tx, rx, echo = u32(d, s + 12), u32(d, s + 16), u32(d, s + 20)
    mult = d[s + 2]
    set_names = [name for bit, name in _BFD_FLAGS if flags & bit]

    def interval(what: str, v: int, at: int) -> Node:
        return node(f"{what}: {v // 1000:4d} ms ({v} us)", at, at + 4)

    kids = [
        node(bits_line(d[s], 0xE0, 8, "Protocol Version", "1"), s, s + 1),
        node(
            bits_line(d[s], 0x1F, 8, "Diagnostic Code", f"{_BFD_DIAGNOSTICS[diag]} (0x{diag:02x})"),
            s,
            s + 1,
        ),
        node(
            bits_line(d[s + 1], 0xC0, 8, "Session State", f"{_BFD_STATES[sta]} (0x{sta:x})"),
            s + 1,
            s + 2,
        ),
        node(
            f"Message Flags: 0x{d[s + 1]:02x}" + "".join(f", {n}: Set" for n in set_names),
            s + 1,
            s + 2,
            [
                node(_six_bits(flags, bit, name, set_word(flags & bit)), s + 1, s + 2)
                for bit, name in _BFD_FLAGS
            ],
        ),
        node(
            f"Detect Time Multiplier: {mult} (= {mult * (tx // 1000)} ms Detection time)",
            s + 2,
            s + 3,
        ),
        node(f"Message Length: {end - s} bytes", s + 3, s + 4),
        node(f"My Discriminator: 0x{u32(d, s + 4):08x}", s + 4, s + 8),
        node(f"Your Discriminator: 0x{u32(d, s + 8):08x}", s + 8, s + 12),
        interval("Desired Min TX Interval", tx, s + 12),
        interval("Required Min RX Interval", rx, s + 16),
        interval("Required Min Echo Interval", echo, s + 20),
    ]
    if auth is not None:
        kids.append(auth)
    return node("BFD Control message", s, end, kids)


#: BFD's authentication types: (tshark's name, the section's length, 0: 4 to 19 bytes)
_BFD_AUTH: Final = {
    1: ("Simple Password", 0),
    2: ("Keyed MD5", 24),
    3: ("Meticulous Keyed MD5", 24),
    4: ("Keyed SHA1", 28),
    5: ("Meticulous Keyed SHA1", 28),
}


def _bfd_auth(d: bytes, a: int, end: int) -> Node | None:
    """The authentication section from ``a`` to the message's ``end``: a password tshark
    shows as text (printable ASCII only here), or a sequence number and digest."""
    if a + 3 > end or d[a] not in _BFD_AUTH:
        return None
    t, n = d[a], d[a + 1]
    name, size = _BFD_AUTH[t]
    if a + n != end or (size and n != size) or (not size and not 4 <= n <= 19):
        return None
    kids = [
        node(f"Authentication Type: {name} ({t})", a, a + 1),
        node(f"Authentication Length: {n} bytes", a + 1, a + 2),
        node(f"Authentication Key ID: {d[a + 2]}", a + 2, a + 3),
    ]
    if size:
        kids += [
            node(f"Sequence Number: 0x{u32(d, a + 4):08x}", a + 4, a + 8),
            node(f"Checksum: {d[a + 8 : end].hex()}", a + 8, end),
        ]
    else:
        word = d[a + 3 : end]
        if not all(0x20 <= c < 0x7F for c in word):
            return None
        kids.append(node(f"Password: {word.decode('ascii')}", a + 3, end))
    return node(f"Authentication: {name}", a, end, kids)


# ----------------------------------------------------------------------------- OSPFv3

_V3_OPTIONS: Final = (
    (0x400, "AT"),
    (0x200, "L"),
    (0x100, "AF"),
    (0x020, "DC"),
    (0x010, "R"),
    (0x008, "N"),
    (0x004, "MC"),
    (0x002, "E"),
    (0x001, "V6"),
)
V3_LSA_TYPES: Final = {
    1: "Router-LSA",
    2: "Network-LSA",
    3: "Inter-Area-Prefix-LSA",
    4: "Inter-Area-Router-LSA",
    5: "AS-External-LSA",
    6: "Group-Membership-LSA",
    7: "NSSA-LSA",
    8: "Link-LSA",
    9: "Intra-Area-Prefix-LSA",
    12: "Router Information Opaque-LSA",
}
_V3_SCOPES: Final = (
    "Link-Local Scoping - Flooded only on originating link",
    "Area Scoping - Flooded only in originating area",
    "AS Scoping - Flooded throughout AS",
    "Reserved",
)


def _v3_options(d: bytes, at: int) -> Node:
    v = int.from_bytes(d[at : at + 3], "big")
    names = [n for bit, n in _V3_OPTIONS if v & bit]
    return node(
        f"Options: 0x{v:06x}" + "".join(f", {n}" for n in names),
        at,
        at + 3,
        [node(bits_line(v, bit, 24, n, set_word(v & bit)), at, at + 3) for bit, n in _V3_OPTIONS],
    )


def _v3_ls_type(d: bytes, at: int) -> Node | None:
    t = u16(d, at)
    fc = t & 0x1FFF
    if t & 0x8000 or fc not in V3_LSA_TYPES:
        return None
    return node(
        f"LS Type: 0x{t:04x}",
        at,
        at + 2,
        [
            node(
                bits_line(
                    t,
                    0x8000,
                    16,
                    "LSA Handling",
                    "Store and flood the LSA as if the type is understood",
                ),
                at,
                at + 2,
            ),
            node(
                bits_line(
                    t,
                    0x6000,
                    16,
                    "Flooding Scope",
                    f"{_V3_SCOPES[t >> 13 & 3]} (0x{t >> 13 & 3:x})",
                ),
                at,
                at + 2,
            ),
            node(
                bits_line(t, 0x1FFF, 16, "Function Code", f"{V3_LSA_TYPES[fc]} ({fc})"), at, at + 2
            ),
        ],
    )


def _v3_lsa_header(d: bytes, p: int, end: int) -> Node | None:
    ls_type = _v3_ls_type(d, p + 2)
    if ls_type is None:
        return None
    fc, age, length = u16(d, p + 2) & 0x1FFF, u16(d, p), u16(d, p + 18)
    kids = [
        node(bits_line(age, 0x7FFF, 16, "LS Age (seconds)", str(age & 0x7FFF)), p, p + 2),
        node(bits_line(age, 0x8000, 16, "Do Not Age", str(bool(age >> 15))), p, p + 2),
        ls_type,
        node(f"Link State ID: {ip4(d[p + 4 : p + 8])}", p + 4, p + 8),
        node(f"Advertising Router: {ip4(d[p + 8 : p + 12])}", p + 8, p + 12),
        node(f"Sequence Number: 0x{u32(d, p + 12):08x}", p + 12, p + 16),
        node(f"Checksum: 0x{u16(d, p + 16):04x}", p + 16, p + 18),
        node(f"Length: {length}", p + 18, p + 20),
    ]
    return node(f"LSA-type {fc} ({V3_LSA_TYPES[fc]}), len {length}", p, end, kids)


def ospf3(data: bytes, s: int, net: Net) -> Node | None:
    """An OSPFv3 packet: its header, hello, DB description, requests and the LSAs' headers
    (their bodies are left out)."""
    d = data
    if s + 16 > len(d) or d[s] != 3 or len(net.src) != 16:
        return None
    t, length, instance = d[s + 1], u16(d, s + 2), d[s + 14]
    end = s + length
    if t not in _OSPF_TYPES or length < 16 or end > len(d) or instance > 31:
        return None
    field = u16(d, s + 12)
    c = pseudo_sum(net.src, net.dst, 89, d[s:end])
    shown = (
        f"0x{field:04x} [correct]"
        if c == 0
        else f"0x{field:04x} [incorrect, should be 0x{shouldbe(field, c):04x}]"
    )
    area = ip4(d[s + 8 : s + 12])
    kids = [
        node(
            "OSPF Header",
            s,
            s + 16,
            [
                node("Version: 3", s, s + 1),
                node(f"Message Type: {_OSPF_TYPES[t]} ({t})", s + 1, s + 2),
                node(f"Packet Length: {length}", s + 2, s + 4),
                node(f"Source OSPF Router: {ip4(d[s + 4 : s + 8])}", s + 4, s + 8),
                node(f"Area ID: {area}{' (Backbone)' if area == '0.0.0.0' else ''}", s + 8, s + 12),
                node(f"Checksum: {shown}", s + 12, s + 14),
                node(f"Instance ID: IPv6 unicast AF ({instance})", s + 14, s + 15),
                node(f"Reserved: {d[s + 15]:02x}", s + 15, s + 16),
            ],
        )
    ]
    p = s + 16
    if t == 1:
        if p + 20 > end or d[p + 6] & 0x02:
            return None  # an LLS block follows
        hello = [
            node(f"Interface ID: {u32(d, p)}", p, p + 4),
            node(f"Router Priority: {d[p + 4]}", p + 4, p + 5),
            _v3_options(d, p + 5),
            node(f"Hello Interval [sec]: {u16(d, p + 8)}", p + 8, p + 10),
            node(f"Router Dead Interval [sec]: {u16(d, p + 10)}", p + 10, p + 12),
            node(f"Designated Router: {ip4(d[p + 12 : p + 16])}", p + 12, p + 16),
            node(f"Backup Designated Router: {ip4(d[p + 16 : p + 20])}", p + 16, p + 20),
        ]
        for q in range(p + 20, end - 3, 4):
            if len(hello) >= MAX_ITEMS:
                break
            hello.append(node(f"Active Neighbor: {ip4(d[q : q + 4])}", q, q + 4))
        kids.append(node("OSPF Hello Packet", p, end, hello))
    elif t == 2:
        if p + 12 > end or d[p + 2] & 0x02:
            return None
        kids.append(
            node(
                "OSPF DB Description",
                p,
                end,
                [
                    _v3_options(d, p + 1),
                    node(f"Interface MTU: {u16(d, p + 4)}", p + 4, p + 6),
                    bit_flags("DB Description", d[p + 7], p + 7, 8, _DBD_BITS),
                    node(f"DD Sequence: {u32(d, p + 8)}", p + 8, p + 12),
                ],
            )
        )
        kids += _v3_headers(d, p + 12, end)
    elif t == 3:
        for q in range(p, end - 11, 12):
            ls_type = _v3_ls_type(d, q + 2)
            if len(kids) >= MAX_ITEMS or ls_type is None:
                break
            kids.append(
                node(
                    "Link State Request",
                    q,
                    q + 12,
                    [
                        node(f"Reserved: {d[q : q + 2].hex()}", q, q + 2),
                        ls_type,
                        node(f"Link State ID: {ip4(d[q + 4 : q + 8])}", q + 4, q + 8),
                        node(f"Advertising Router: {ip4(d[q + 8 : q + 12])}", q + 8, q + 12),
                    ],
                )
            )
    elif t == 4:
        if p + 4 > end:
            return None
        upd = [node(f"Number of LSAs: {u32(d, p)}", p, p + 4)]
        q = p + 4
        while q + 20 <= end and len(upd) < MAX_ITEMS:
            n = u16(d, q + 18)
            if n < 20 or q + n > end:
                break
            lsa = _v3_lsa_header(d, q, q + n)
            if lsa is not None:
                upd.append(lsa)
            q += n
        kids.append(node("LS Update Packet", p, end, upd))
    else:
        kids += _v3_headers(d, p, end)
    return node("Open Shortest Path First", s, end, kids)


def _v3_headers(d: bytes, p: int, end: int) -> list[Node]:
    out: list[Node] = []
    for q in range(p, end - 19, 20):
        lsa = _v3_lsa_header(d, q, q + 20)
        if len(out) >= MAX_ITEMS or lsa is None:
            break
        out.append(lsa)
    return out


# ----------------------------------------------------------------------------- PIM


def _pim_option(d: bytes, p: int, t: int, n: int) -> Node | None:
    """One PIM hello option (type ``t``, ``n`` value bytes from ``p + 4``); None for one
    tshark words from tables tapwatch does not carry."""
    v, end = p + 4, p + 4 + n
    head = [node(f"Type: {t}", p, p + 2), node(f"Length: {n}", p + 2, p + 4)]
    if t == 1 and n == 2:
        hold = u16(d, v)
        if hold in (0, 0xFFFF):
            return None
        return node(
            f"Option 1: Hold Time: {hold}", p, end, [*head, node(f"Holdtime: {hold}", v, end)]
        )
    if t == 2 and n == 4:
        flag, delay, override = d[v] >> 7, u16(d, v) & 0x7FFF, u16(d, v + 2)
        return node(
            f"Option 2: LAN Prune Delay: T = {flag}, Propagation Delay = {delay}ms, "
            f"Override Interval = {override}ms",
            p,
            end,
            [
                *head,
                node(bits_line(d[v], 0x80, 8, "T", str(bool(flag))), v, v + 1),
                node(bits_line(u16(d, v), 0x7FFF, 16, "Propagation Delay", str(delay)), v, v + 2),
                node(f"Override Interval: {override}", v + 2, end),
            ],
        )
    if t == 19 and n == 4:
        prio = u32(d, v)
        return node(
            f"Option 19: DR Priority: {prio}", p, end, [*head, node(f"DR Priority: {prio}", v, end)]
        )
    if t == 20 and n == 4:
        gen = u32(d, v)
        return node(
            f"Option 20: Generation ID: {gen}",
            p,
            end,
            [*head, node(f"Generation ID: {gen}", v, end)],
        )
    if t == 24:
        addrs: list[Node] = []
        q = v
        while q + 2 <= end and len(addrs) < MAX_ITEMS:
            family, encoding = d[q], d[q + 1]
            size = {1: 4, 2: 16}.get(family, 0)
            if encoding != 0 or not size or q + 2 + size > end:
                return None
            raw = d[q + 2 : q + 2 + size]
            text = ip4(raw) if size == 4 else ip6(raw)
            addrs.append(
                node(
                    f"Address: {text}",
                    q,
                    q + 2 + size,
                    [
                        node(
                            f"Address Family: {'IPv4' if size == 4 else 'IPv6'} ({family})",
                            q,
                            q + 1,
                        ),
                        node("Encoding Type: Native (0)", q + 1, q + 2),
                        node(f"Unicast: {text}", q + 2, q + 2 + size),
                    ],
                )
            )
            q += 2 + size
        return node(
            "Option 24: Address List", p, end, [*head, node("Address List (24)", p, end, addrs)]
        )
    return None


#: tshark's names of the PIM messages worded here
_PIM_TYPES: Final = {
    0: "Hello",
    1: "Register",
    2: "Register-stop",
    3: "Join/Prune",
    4: "Bootstrap",
    5: "Assert",
    8: "Candidate-RP-Advertisement",
}
#: an encoded address's family: (tshark's name, address size)
_PIM_FAMILIES: Final = {1: ("IPv4", 4), 2: ("IPv6", 16)}
_GROUP_FLAGS: Final = ((0x80, "Bidirectional PIM"), (0x01, "Admin Scope Zone"))
_SOURCE_FLAGS: Final = (
    (0x04, "Sparse", "S"),
    (0x02, "WildCard", "W"),
    (0x01, "Rendezvous Point Tree", "R"),
)


def _pim_family(d: bytes, q: int, end: int, fixed: int) -> tuple[int, str, list[Node]] | None:
    """(size, address text, family and encoding lines) of an encoded address at ``q``
    whose address follows ``fixed`` bytes; None for another family or encoding, or one
    past ``end``."""
    if q + 2 > end or d[q] not in _PIM_FAMILIES or d[q + 1] != 0:
        return None
    name, size = _PIM_FAMILIES[d[q]]
    if q + fixed + size > end:
        return None
    raw = d[q + fixed : q + fixed + size]
    head = [
        node(f"Address Family: {name} ({d[q]})", q, q + 1),
        node("Encoding Type: Native (0)", q + 1, q + 2),
    ]
    return fixed + size, ip4(raw) if size == 4 else ip6(raw), head


def _pim_unicast(d: bytes, q: int, end: int, label: str) -> Node | None:
    got = _pim_family(d, q, end, 2)
    if got is None:
        return None
    size, text, head = got
    return node(f"{label}: {text}", q, q + size, [*head, node(f"Unicast: {text}", q + 2, q + size)])


def _pim_group(d: bytes, q: int, end: int, label: str) -> Node | None:
    got = _pim_family(d, q, end, 4)
    if got is None or d[q + 2] & 0x7E:
        return None
    size, text, head = got
    f = d[q + 2]
    words = "".join(f", {w}" for bit, w in _GROUP_FLAGS if f & bit)
    flags = node(
        f"Flags: 0x{f:02x}{words}",
        q + 2,
        q + 3,
        [
            node(bits_line(f, 0x80, 8, "Bidirectional PIM", set_word(f & 0x80)), q + 2, q + 3),
            node(bits_line(f, 0x7E, 8, "Reserved", "0x00"), q + 2, q + 3),
            node(bits_line(f, 0x01, 8, "Admin Scope Zone", set_word(f & 1)), q + 2, q + 3),
        ],
    )
    return node(
        f"{label}: {text}/{d[q + 3]}",
        q,
        q + size,
        [
            *head,
            flags,
            node(f"Masklen: {d[q + 3]}", q + 3, q + 4),
            node(f"Group: {text}", q + 4, q + size),
        ],
    )


def _pim_source(d: bytes, q: int, end: int) -> Node | None:
    got = _pim_family(d, q, end, 4)
    if got is None or d[q + 2] & 0xF8:
        return None
    size, text, head = got
    f = d[q + 2]
    words = "".join(f", {w}" for bit, w, _ in _SOURCE_FLAGS if f & bit)
    letters = "".join(c for bit, _, c in _SOURCE_FLAGS if f & bit)
    bits = [node(bits_line(f, 0xF8, 8, "Reserved", "0x00"), q + 2, q + 3)]
    bits += [
        node(bits_line(f, bit, 8, w, set_word(f & bit)), q + 2, q + 3)
        for bit, w, _ in _SOURCE_FLAGS
    ]
    return node(
        f"IP address: {text}/{d[q + 3]}" + (f" ({letters})" if letters else ""),
        q,
        q + size,
        [
            *head,
            node(f"Flags: 0x{f:02x}{words}", q + 2, q + 3, bits),
            node(f"Masklen: {d[q + 3]}", q + 3, q + 4),
            node(f"Source: {text}", q + 4, q + size),
        ],
    )


def _pim_holdtime(d: bytes, at: int) -> Node:
    h = u16(d, at)
    return node(f"Holdtime: {'Infinity (65535)' if h == 0xFFFF else h}", at, at + 2)


def pim(data: bytes, s: int, net: Net) -> Node | None:
    """A PIMv2 message: a hello and its common options, a register, register-stop,
    join/prune, bootstrap, assert or candidate-RP advertisement, as tshark 4.0 nests them
    (some of its bootstrap lines sit outside the group they belong to: so they sit here)."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s + 4 > end or d[s] >> 4 != 2 or d[s] & 15 not in _PIM_TYPES or not net.src:
        return None
    t = d[s] & 15
    six = len(net.src) == 16
    if t == 1 and six:
        return None  # a register's checksum over IPv6 is not read here
    field = u16(d, s + 2)
    summed = d[s : s + 8] if t == 1 else d[s:end]  # a register's covers its header only
    c = pseudo_sum(net.src, net.dst, 103, summed) if six else cksum(summed)
    shown = (
        f"0x{field:04x} [correct]"
        if c == 0
        else f"0x{field:04x} incorrect, should be 0x{shouldbe(field, c):04x}"
    )
    kids = [
        node(bits_line(d[s], 0xF0, 8, "Version", "2"), s, s + 1),
        node(bits_line(d[s], 0x0F, 8, "Type", f"{_PIM_TYPES[t]} ({t})"), s, s + 1),
        node(f"Reserved byte(s): {d[s + 1]:02x}", s + 1, s + 2),
        node(f"Checksum: {shown}", s + 2, s + 4),
    ]
    if t == 0:
        options = _pim_hello(d, s, end)
        if options is None:
            return None
        kids += options
    else:
        body = _PIM_BODIES[t](d, s + 4, end, kids)
        if body is None:
            return None
        kids.insert(4, node("PIM Options", s + 4, end, body))
    return node("Protocol Independent Multicast", s, end, kids)


def _pim_hello(d: bytes, s: int, end: int) -> list[Node] | None:
    options: list[Node] = []
    count, p = 0, s + 4
    while p + 4 <= end and count < MAX_ITEMS:
        t, n = u16(d, p), u16(d, p + 2)
        if p + 4 + n > end:
            return None
        count += 1
        got = _pim_option(d, p, t, n)
        if got is not None:
            options.append(got)
        p += 4 + n
    if p != end:
        return None
    return [node(f"PIM Options: {count}", s + 4, end, options)] if count else []


def _pim_register(d: bytes, p: int, end: int, top: list[Node]) -> list[Node] | None:
    """The flags, then the version of the packet it carries (the packet itself is shown
    after PIM's layer, as tshark shows it)."""
    if p + 4 > end:
        return None
    f = u32(d, p)
    out = [
        node(
            f"Flags: 0x{f:08x}",
            p,
            p + 4,
            [
                node(bits_line(f, 1 << 31, 32, "Border", "Yes" if f >> 31 else "No"), p, p + 4),
                node(
                    bits_line(f, 1 << 30, 32, "Null-Register", "Yes" if f >> 30 & 1 else "No"),
                    p,
                    p + 4,
                ),
            ],
        )
    ]
    if p + 4 < end:
        v = d[p + 4] >> 4
        if v not in (4, 6):
            return None
        shown = f"IPv{v} ({v})"
        out.append(node(bits_line(d[p + 4], 0xF0, 8, "IP Version", shown), p + 4, p + 5))
    return out


def _pim_register_stop(d: bytes, p: int, end: int, top: list[Node]) -> list[Node] | None:
    group = _pim_group(d, p, end, "Group")
    source = _pim_unicast(d, group.end, end, "Source") if group else None
    if group is None or source is None or source.end != end:
        return None
    return [group, source]


def _pim_join_prune(d: bytes, p: int, end: int, top: list[Node]) -> list[Node] | None:
    up = _pim_unicast(d, p, end, "Upstream-neighbor")
    if up is None or up.end + 4 > end:
        return None
    q = up.end
    groups = d[q + 1]
    out = [
        up,
        node(f"Reserved byte(s): {d[q]:02x}", q, q + 1),
        node(f"Num Groups: {groups}", q + 1, q + 2),
        _pim_holdtime(d, q + 2),
    ]
    q += 4
    for i in range(min(groups, MAX_ITEMS)):
        group = _pim_group(d, q, end, f"Group {i}")
        if group is None or group.end + 4 > end:
            return None
        g, q = q, group.end + 4
        lists = []
        for k, what in enumerate(("Joins", "Prunes")):
            count = u16(d, group.end + 2 * k)
            sources: list[Node] = []
            for _ in range(count):
                src = _pim_source(d, q, end) if len(sources) < MAX_ITEMS else None
                if src is None:
                    return None
                sources.append(src)
                q = src.end
            at = group.end + 2 * k
            lists.append(node(f"Num {what}: {count}", at, at + 2, sources))
        out.append(node(f"Group {i}", g, end, [group, *lists]))  # tshark's span: to the end
    return out if q == end else None


def _pim_bootstrap(d: bytes, p: int, end: int, top: list[Node]) -> list[Node] | None:
    """tshark 4.0 puts each RP's priority in its group's subtree, its address and holdtime
    among the options, and its reserved byte in PIM's own tree (``top``)."""
    bsr = _pim_unicast(d, p + 4, end, "BSR") if p + 4 <= end else None
    if bsr is None:
        return None
    out = [
        node(f"Fragment tag: 0x{u16(d, p):04x}", p, p + 2),
        node(f"Hash mask len: {d[p + 2]}", p + 2, p + 3),
        node(f"BSR priority: {d[p + 3]}", p + 3, p + 4),
        bsr,
    ]
    q = bsr.end
    reserved: list[Node] = []
    for i in range(MAX_ITEMS + 1):
        if q >= end:
            break
        group = _pim_group(d, q, end, f"Group {i}")
        if i == MAX_ITEMS or group is None or group.end + 4 > end:
            return None
        g = group.end
        inner = [
            *group.children,
            node(f"RP count: {d[g]}", g, g + 1),
            node(f"FRP count: {d[g + 1]}", g + 1, g + 2),
        ]
        rps: list[Node] = []
        q = g + 4
        for j in range(d[g + 1]):
            rp = _pim_unicast(d, q, end, f"RP {j}")
            if rp is None or rp.end + 4 > end:
                return None
            r = rp.end
            inner.append(node(f"Priority: {d[r + 2]}", r + 2, r + 3))
            rps += [rp, _pim_holdtime(d, r)]
            reserved.append(node(f"Reserved byte(s): {d[r + 3]:02x}", r + 3, r + 4))
            q = r + 4
        out += [node(group.label, group.start, group.end, inner), *rps]
    top += reserved
    return out


def _pim_assert(d: bytes, p: int, end: int, top: list[Node]) -> list[Node] | None:
    group = _pim_group(d, p, end, "Group")
    source = _pim_unicast(d, group.end, end, "Source") if group else None
    if group is None or source is None or source.end + 8 != end:
        return None
    q = source.end
    pref = u32(d, q)
    return [
        group,
        source,
        node(bits_line(d[q], 0x80, 8, "RP Tree", str(bool(d[q] & 0x80))), q, q + 1),
        node(
            bits_line(pref, 0x7FFFFFFF, 32, "Metric Preference", str(pref & 0x7FFFFFFF)), q, q + 4
        ),
        node(f"Metric: {u32(d, q + 4)}", q + 4, q + 8),
    ]


def _pim_candidate_rp(d: bytes, p: int, end: int, top: list[Node]) -> list[Node] | None:
    rp = _pim_unicast(d, p + 4, end, "RP") if p + 4 <= end else None
    if rp is None:
        return None
    out = [
        node(f"Prefix-count: {d[p]}", p, p + 1),
        node(f"Priority: {d[p + 1]}", p + 1, p + 2),
        _pim_holdtime(d, p + 2),
        rp,
    ]
    q = rp.end
    for i in range(d[p]):
        group = _pim_group(d, q, end, f"Group {i}")
        if group is None:
            return None
        out.append(group)
        q = group.end
    return out if q == end else None


_PIM_BODIES: Final = {
    1: _pim_register,
    2: _pim_register_stop,
    3: _pim_join_prune,
    4: _pim_bootstrap,
    5: _pim_assert,
    8: _pim_candidate_rp,
}


# ----------------------------------------------------------------------------- LDP

LDP_MESSAGES: Final = {
    0x1: "Notification Message",
    0x100: "Hello Message",
    0x200: "Initialization Message",
    0x201: "Keep Alive Message",
    0x202: "Capability Message",
    0x300: "Address Message",
    0x301: "Address Withdrawal Message",
    0x400: "Label Mapping Message",
    0x401: "Label Request Message",
    0x402: "Label Withdrawal Message",
    0x403: "Label Release Message",
    0x404: "Label Abort Request Message",
    0x500: "Call Setup Message",
    0x501: "Call Release Message",
    0x700: "RG Connect Message",
    0x701: "RG Disconnect Message",
    0x702: "RG Notification Message",
    0x703: "RG Application Data Message",
    0x3E00: "Vendor-Private Message",
    0x3F00: "Experimental Message",
}
#: Wireshark's names of LDP's TLVs
LDP_TLVS: Final = {
    0x1: "Sequence Number TLV",
    0x100: "FEC",
    0x101: "Address List",
    0x103: "Hop Count",
    0x104: "Path Vector",
    0x200: "Generic Label",
    0x201: "ATM Label",
    0x202: "Frame Relay Label",
    0x203: "FT Protection TLV",
    0x204: "LDP Upstream-Assigned Label TLV",
    0x205: "LDP Upstream-Assigned Label Request TLV",
    0x206: "Entropy Label Capability TLV",
    0x300: "Status",
    0x301: "Extended Status",
    0x302: "Returned PDU",
    0x303: "Returned Message",
    0x304: "Returned TLVs",
    0x400: "Common Hello Parameters",
    0x401: "IPv4 Transport Address",
    0x402: "Configuration Sequence Number",
    0x403: "IPv6 Transport Address",
    0x404: "MAC TLV",
    0x405: "Cryptographic Authentication TLV",
    0x406: "MAC Flush Parameters TLV",
    0x407: "PBB B-MAC List Sub-TLV",
    0x408: "PBB I-SID List Sub-TLV",
    0x500: "Common Session Parameters",
    0x501: "ATM Session Parameters",
    0x502: "Frame Relay Session Parameters",
    0x503: "FT Session TLV",
    0x504: "FT Ack TLV",
    0x505: "FT Cork TLV",
    0x506: "Dynamic Capability Announcement",
    0x507: "LDP Upstream Label Assignment Capability TLV",
    0x508: "P2MP Capability Parameter",
    0x509: "MP2MP Capability Parameter",
    0x50A: "MBB Capability Parameter",
    0x50B: "Typed Wildcard FEC Capability",
    0x50C: "Multi-Topology Capability",
    0x50D: "State Advertisement Control Capability",
    0x50F: "Targeted Application Capability",
    0x600: "Label Request Message ID",
    0x601: "MTU TLV",
    0x603: "Unrecognized Notification Capability",
    0x700: "ICCP capability TLV",
    0x701: "Dual-Stack capability",
    0x800: "Explicit Route TLV",
    0x801: "Ipv4 Prefix ER-Hop TLV",
    0x802: "Ipv6 Prefix ER-Hop TLV",
    0x803: "Autonomous System Number ER-Hop TLV",
    0x804: "LSP-ID ER-HOP TLV",
    0x805: "L2 PW Address of Switching Point",
    0x810: "Traffic Parameters TLV",
    0x820: "Preemption TLV",
    0x821: "LSPID TLV",
    0x822: "Resource Class TLV",
    0x823: "Route Pinning TLV",
    0x824: "Generalized Label Request TLV",
    0x825: "Generalized Label TLV",
    0x826: "Upstream Label TLV",
    0x827: "Label Set TLV",
    0x828: "Waveband Label TLV",
    0x829: "ER-Hop TLV",
    0x82A: "Acceptable Label Set TLV",
    0x82B: "Admin Status TLV",
    0x82C: "Interface ID TLV",
    0x82D: "IPV4 Interface ID TLV",
    0x82E: "IPV6 Interface ID TLV",
    0x82F: "IPv4 IF_ID Status TLV",
    0x830: "IPv6 IF_ID Status TLV",
    0x831: "Op-Sp Call ID TLV",
    0x832: "GU Call ID TLV",
    0x833: "Call Capability TLV",
    0x834: "Crankback TLV",
    0x835: "Protection TLV",
    0x836: "LSP_TUNNEL_INTERFACE_ID TLV",
    0x837: "Unnumbered Interface ID TLV",
    0x838: "SONET/SDH Traffic Parameters TLV",
    0x901: "Diff-Serv TLV",
    0x902: "HSMP LSP Capability Parameter",
    0x960: "IPv4 Source ID TLV",
    0x961: "IPv6 Source ID TLV",
    0x962: "NSAP Source ID TLV",
    0x963: "IPv4 Destination ID TLV",
    0x964: "IPv6 Destination ID TLV",
    0x965: "NSAP Destination ID TLV",
    0x966: "Egress Label TLV",
    0x967: "Local Connection ID TLV",
    0x968: "Diversity TLV",
    0x969: "Contract ID TLV",
    0x96A: "PW Status TLV",
    0x96B: "PW Interface Parameters TLV",
    0x96C: "PW Group ID TLV",
    0x96D: "Pseudowire Switching Point PE TLV",
    0x96E: "Bandwidth TLV",
    0x96F: "LDP MP Status TLV Type",
    0x970: "UNI Service Level TLV",
    0x971: "Queue Request TLV",
    0x972: "MP Node Protection Capability",
    0x973: "PSN Tunnel Binding TLV",
    0x974: "Egress Protection Capability",
    0x1C: "RSVP-TE P2MP LSP TLV",
    0x1D: "LDP P2MP LSP TLV",
    0x1E: "IP Multicast Tunnel TLV",
}
_TLV_UNKNOWN: Final = (
    "Known TLV, do not Forward",
    "Known TLV, do Forward",
    "Unknown TLV, do not Forward",
    "Unknown TLV, do Forward",
)


def _ldp_tlv(d: bytes, p: int, end: int) -> Node | None:
    """One TLV (its node spans ``p:end``); None for a type Wireshark does not name."""
    raw = u16(d, p)
    t, n = raw & 0x3FFF, u16(d, p + 2)
    if t not in LDP_TLVS:
        return None
    v = p + 4
    kids = [
        node(
            bits_line(
                d[p], 0xC0, 8, "TLV Unknown bits", f"{_TLV_UNKNOWN[d[p] >> 6]} (0x{d[p] >> 6:x})"
            ),
            p,
            p + 1,
        ),
        node(f"TLV Type: {LDP_TLVS[t]} (0x{t:X})", p, p + 2),
        node(f"TLV Length: {n}", p + 2, p + 4),
    ]
    if t == 0x400 and n == 4:
        flags = u16(d, v + 2)
        kids.append(node(f"Hold Time: {u16(d, v)}", v, v + 2))
        if not flags & 0xC000:
            kids += [
                node(bits_line(flags, 0x8000, 16, "Targeted Hello", "Link Hello"), v + 2, v + 4),
                node(
                    bits_line(
                        flags,
                        0x4000,
                        16,
                        "Hello Requested",
                        "Source does not request periodic hellos",
                    ),
                    v + 2,
                    v + 4,
                ),
                node(
                    bits_line(flags, 0x2000, 16, "GTSM Flag", set_word(flags & 0x2000)),
                    v + 2,
                    v + 4,
                ),
                node(
                    bits_line(flags, 0x1FFF, 16, "Reserved", f"0x{flags & 0x1FFF:04x}"),
                    v + 2,
                    v + 4,
                ),
            ]
    elif t == 0x401 and n == 4:
        kids.append(node(f"IPv4 Transport Address: {ip4(d[v : v + 4])}", v, v + 4))
    elif t == 0x402 and n == 4:
        kids.append(node(f"Configuration Sequence Number: {u32(d, v)}", v, v + 4))
    return node(LDP_TLVS[t], p, end, kids)


def ldp(data: bytes, s: int, net: Net) -> Node | None:
    """One LDP PDU: its header, its messages and their TLVs (the values of hello's)."""
    d = data
    limit = min(len(d), net.end) if net.end > s else len(d)
    if s + 10 > limit or u16(d, s) != 1:
        return None
    end = s + 4 + u16(d, s + 2)
    if end > limit or end < s + 10:
        return None
    kids = [
        node("Version: 1", s, s + 2),
        node(f"PDU Length: {u16(d, s + 2)}", s + 2, s + 4),
        node(f"LSR ID: {ip4(d[s + 4 : s + 8])}", s + 4, s + 8),
        node(f"Label Space ID: {u16(d, s + 8)}", s + 8, s + 10),
    ]
    p = s + 10
    while p + 8 <= end and len(kids) < MAX_ITEMS:
        t, n = u16(d, p) & 0x7FFF, u16(d, p + 2)
        stop = p + 4 + n
        if d[p] & 0x80 or t not in LDP_MESSAGES or stop > end or n < 4:
            return None
        msg = [
            node(bits_line(d[p], 0x80, 8, "U bit", "Unknown bit not set"), p, p + 1),
            node(f"Message Type: {LDP_MESSAGES[t]} (0x{t:x})", p, p + 2),
            node(f"Message Length: {n}", p + 2, p + 4),
            node(f"Message ID: 0x{u32(d, p + 4):08x}", p + 4, p + 8),
        ]
        q = p + 8
        while q + 4 <= stop and len(msg) < MAX_ITEMS:
            tend = q + 4 + u16(d, q + 2)
            if tend > stop:
                return None
            tlv = _ldp_tlv(d, q, tend)
            if tlv is not None:
                msg.append(tlv)
            q = tend
        kids.append(node(LDP_MESSAGES[t], p, stop, msg))
        p = stop
    return node("Label Distribution Protocol", s, end, kids)
