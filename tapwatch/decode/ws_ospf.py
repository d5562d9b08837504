"""OSPFv2 (with RFC 5613's LLS data block) and OSPFv3 in Wireshark's words, nesting and byte
spans.

Each builder reads the whole message (scapy splits OSPF into its header and its packet; the
tree passes over those, :data:`tapwatch.decode.wstree.WHOLE_MESSAGES`) and returns tshark's
one layer for it.  tshark 4.0 sums an LLS block into OSPF's checksum, and so does the tree.
Opaque LSAs and TE TLVs are not worded.

The builders' contract (fewer lines rather than other words, None for a header cut short,
loops bounded) is :mod:`tapwatch.decode.ws_common`'s.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.verbose import cksum, pseudo_sum, shouldbe
from tapwatch.decode.ws_common import (
    MAX_ITEMS,
    hex_value,
    ip4,
    node,
    set_word,
    u16,
    u32,
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
