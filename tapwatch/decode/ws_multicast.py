"""IGMPv1/v2/v3 (and mtrace) and PIMv2 (hello, register, register-stop, join/prune,
bootstrap, assert, candidate-RP advertisement) in Wireshark's words, nesting and byte spans.

Where tshark 4.0 places a line oddly (a bootstrap RP's priority in its group, a join/prune
group spanning to the message's end), the tree places it the same way; the packet a
register carries is dissected after PIM's layer.

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
    ip6,
    node,
    set_word,
    u16,
    u32,
    verdict,
)

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
