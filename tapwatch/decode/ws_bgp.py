"""BGP (open with its capabilities, update with the common path attributes, notification,
keepalive, route refresh) in Wireshark's words, nesting and byte spans.

The builder reads the whole message (scapy splits it into a header and a body; the tree
passes over those, :data:`tapwatch.decode.wstree.WHOLE_MESSAGES`); path attributes beyond the
common ones are named, not worded.

The builders' contract (fewer lines rather than other words, None for a header cut short,
loops bounded) is :mod:`tapwatch.decode.ws_common`'s.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.bgp import NOTIFY, WS_MESSAGES
from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import (
    MAX_ITEMS,
    hex_value,
    ip4,
    node,
    set_word,
    u16,
    u32,
)

# ----------------------------------------------------------------------------- BGP

_BGP_TYPES: Final = {**WS_MESSAGES, 128: "Cisco ROUTE-REFRESH"}  # the tree names one more
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
#: tshark's words for the error codes: tcpdump's, but for one
_MAJOR_ERRORS: Final = {**NOTIFY, 7: "CAPABILITY Message Error"}
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
