"""DHCPv6 (RFC 8415) in tshark 4.0's words, nesting and byte spans, read from the bytes.

tshark shows one ``DHCPv6`` layer over the whole datagram: the message type and transaction
id (or a relay's hop count and addresses), then each option as a subtree titled by its name
holding ``Option: Name (N)``, ``Length`` and the value's fields; the options that carry
options (IA_NA, IA_TA, IA_PD, their addresses and prefixes) and the relay message (a whole
DHCPv6 message) nest them.  scapy splits the message into a layer per option: the builder
reads the whole datagram and the tree passes over those layers
(:data:`tapwatch.decode.wstree.WHOLE_MESSAGES`).

Only what tshark's words are known for is built: an option of another kind, a value of a
size tshark flags as malformed, a DUID of an unknown hardware type, an enterprise number
tshark names from its own table that this one lacks, or text that is not printable ASCII
leaves the whole layer to the plainer tree (never other words).  Work is bounded:
``MAX_ITEMS`` options a level, relay messages nested at most ``MAX_DEPTH`` deep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.names import ARP_HARDWARE, WS_DHCP6_TYPES
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import MAX_ITEMS, ip6, node, u16, u32
from tapwatch.decode.ws_dhcp import message_end
from tapwatch.decode.ws_dns import _dns_name

#: relay messages inside relay messages
MAX_DEPTH: Final = 8

#: tshark's option names (``opttype_vals``) for the options built here and the codes an
#: Option Request commonly asks for
OPTION_NAMES: Final = {
    1: "Client Identifier",
    2: "Server Identifier",
    3: "Identity Association for Non-temporary Address",
    4: "Identity Association for Temporary Address",
    5: "IA Address",
    6: "Option Request",
    7: "Preference",
    8: "Elapsed time",
    9: "Relay Message",
    11: "Authentication",
    12: "Server unicast",
    13: "Status code",
    14: "Rapid Commit",
    15: "User Class",
    16: "Vendor Class",
    17: "Vendor-specific Information",
    18: "Interface-Id",
    19: "Reconfigure Message",
    20: "Reconfigure Accept",
    21: "SIP Server Domain Name List",
    22: "SIP Servers IPv6 Address List",
    23: "DNS recursive name server",
    24: "Domain Search List",
    25: "Identity Association for Prefix Delegation",
    26: "IA Prefix",
    27: "Network Information Server",
    28: "Network Information Server V2",
    29: "Network Information Server Domain Name",
    30: "Network Information Server V2 Domain Name",
    31: "Simple Network Time Protocol Server",
    32: "Lifetime",
    37: "Remote Identifier",
    38: "Subscriber Identifier",
    39: "Client Fully Qualified Domain Name",
    56: "NTP Server",
    59: "Boot File URL",
    60: "Boot File Parameters",
    61: "Client System Architecture Type",
    64: "Dual-Stack Lite AFTR Name",
    79: "Client Link-Layer Address",
    82: "SOL_MAX_RT",
    83: "INF_MAX_RT",
}
_DUID_TYPES: Final = {
    1: "link-layer address plus time",
    2: "assigned by vendor based on Enterprise number",
    3: "link-layer address",
    4: "Universally Unique IDentifier (UUID)",
}
_STATUS: Final = {
    0: "Success",
    1: "UnspecFail",
    2: "NoAddrAvail",
    3: "NoBinding",
    4: "NotOnLink",
    5: "UseMulticast",
    6: "NoPrefixAvail",
}
#: the enterprise numbers tshark's table names that DHCPv6 options commonly carry
_ENTERPRISES: Final = {
    9: "ciscoSystems",
    311: "Microsoft",
    4491: "Cable Television Laboratories, Inc.",
}
#: seconds from the Unix epoch to a DUID's time base (January 1, 2000 UTC)
_Y2K: Final = 946684800

Values = list[Node] | None


def dhcp6(data: bytes, s: int, net: Net) -> Node | None:
    """The whole DHCPv6 datagram from its message type; None when tshark's words for some
    part of it are not known here."""
    end = message_end(data, s)
    kids = _message(data, s, end, 0)
    return None if kids is None else node("DHCPv6", s, end, kids)


def _message(d: bytes, s: int, end: int, depth: int) -> Values:
    if s >= end or d[s] not in WS_DHCP6_TYPES or depth > MAX_DEPTH:
        return None
    t = d[s]
    kids = [node(f"Message type: {WS_DHCP6_TYPES[t]} ({t})", s, s + 1)]
    if t in (12, 13):
        if s + 34 > end:
            return None
        kids += [
            node(f"Hopcount: {d[s + 1]}", s + 1, s + 2),
            node(f"Link address: {ip6(d[s + 2 : s + 18])}", s + 2, s + 18),
            node(f"Peer address: {ip6(d[s + 18 : s + 34])}", s + 18, s + 34),
        ]
        p = s + 34
    else:
        if s + 4 > end:
            return None
        kids.append(
            node(f"Transaction ID: 0x{int.from_bytes(d[s + 1 : s + 4], 'big'):06x}", s + 1, s + 4)
        )
        p = s + 4
    opts = _options(d, p, end, depth)
    return None if opts is None else kids + opts


def _options(d: bytes, p: int, end: int, depth: int) -> Values:
    out: list[Node] = []
    while p < end:
        if len(out) >= MAX_ITEMS or p + 4 > end:
            return None
        code, n = u16(d, p), u16(d, p + 2)
        v = p + 4
        if v + n > end or code not in OPTION_NAMES:
            return None
        value = _VALUES.get(code)
        got = value(d, v, n, depth) if value is not None else None
        if got is None:
            return None
        name = OPTION_NAMES[code]
        head = [node(f"Option: {name} ({code})", p, p + 2), node(f"Length: {n}", p + 2, v)]
        out.append(node(name, p, v + n, head + got))
        p = v + n
    return out


# ----------------------------------------------------------------------------- values


def _duid(d: bytes, v: int, n: int, depth: int) -> Values:
    if n < 2:
        return None
    t = u16(d, v)
    if t not in _DUID_TYPES:
        return None
    kids = [
        node(f"DUID: {d[v : v + n].hex()}", v, v + n),
        node(f"DUID Type: {_DUID_TYPES[t]} ({t})", v, v + 2),
    ]
    if t in (1, 3):
        hw_at = v + 2
        addr_at = v + (8 if t == 1 else 4)
        if addr_at > v + n or u16(d, hw_at) not in ARP_HARDWARE:
            return None
        hw = u16(d, hw_at)
        kids.append(node(f"Hardware type: {ARP_HARDWARE[hw]} ({hw})", hw_at, hw_at + 2))
        if t == 1:
            kids.append(node(f"DUID Time: {_duid_time(u32(d, v + 4))}", v + 4, v + 8))
        if addr_at == v + n or (hw == 1 and n - (addr_at - v) != 6):
            return None
        lla = d[addr_at : v + n]
        shown = ":".join(f"{b:02x}" for b in lla)
        kids.append(node(f"Link-layer address: {shown}", addr_at, v + n))
    elif t == 2:
        if n < 7 or u32(d, v + 2) not in _ENTERPRISES:
            return None
        kids.append(_enterprise(d, v + 2))
        kids.append(node(f"Identifier: {d[v + 6 : v + n].hex()}", v + 6, v + n))
    else:
        if n != 18:
            return None
        kids.append(node(f"UUID: {d[v + 2 : v + n].hex()}", v + 2, v + n))
    return kids


def _duid_time(secs: int) -> str:
    t = time.gmtime(_Y2K + secs)
    return (
        time.strftime("%b ", t)
        + f"{t.tm_mday:2d}, "
        + time.strftime("%Y %H:%M:%S", t)
        + ".000000000 UTC"
    )


def _enterprise(d: bytes, at: int) -> Node:
    e = u32(d, at)
    return node(f"Enterprise ID: {_ENTERPRISES[e]} ({e})", at, at + 4)


def _ia(first: str, fixed: int) -> Callable[[bytes, int, int, int], Values]:
    """IA_NA and IA_PD (IAID, T1, T2) or IA_TA (IATA), then the options they carry."""

    def value(d: bytes, v: int, n: int, depth: int) -> Values:
        if n < fixed:
            return None
        kids = [node(f"{first}: {d[v : v + 4].hex()}", v, v + 4)]
        if fixed == 12:
            kids += [
                node(f"T1: {_lifetime(u32(d, v + 4))}", v + 4, v + 8),
                node(f"T2: {_lifetime(u32(d, v + 8))}", v + 8, v + 12),
            ]
        inner = _options(d, v + fixed, v + n, depth)
        return None if inner is None else kids + inner

    return value


def _ia_address(d: bytes, v: int, n: int, depth: int) -> Values:
    if n < 24:
        return None
    kids = [
        node(f"IPv6 address: {ip6(d[v : v + 16])}", v, v + 16),
        node(f"Preferred lifetime: {_lifetime(u32(d, v + 16))}", v + 16, v + 20),
        node(f"Valid lifetime: {_lifetime(u32(d, v + 20))}", v + 20, v + 24),
    ]
    inner = _options(d, v + 24, v + n, depth)
    return None if inner is None else kids + inner


def _ia_prefix(d: bytes, v: int, n: int, depth: int) -> Values:
    if n < 25:
        return None
    kids = [
        node(f"Preferred lifetime: {_lifetime(u32(d, v))}", v, v + 4),
        node(f"Valid lifetime: {_lifetime(u32(d, v + 4))}", v + 4, v + 8),
        node(f"Prefix length: {d[v + 8]}", v + 8, v + 9),
        node(f"Prefix address: {ip6(d[v + 9 : v + 25])}", v + 9, v + 25),
    ]
    inner = _options(d, v + 25, v + n, depth)
    return None if inner is None else kids + inner


def _lifetime(v: int) -> str:
    return "infinity" if v == 0xFFFFFFFF else str(v)


def _requested(d: bytes, v: int, n: int, depth: int) -> Values:
    if n % 2:
        return None
    kids = []
    for at in range(v, v + min(n, 2 * MAX_ITEMS), 2):
        c = u16(d, at)
        if c not in OPTION_NAMES:
            return None
        kids.append(node(f"Requested Option code: {OPTION_NAMES[c]} ({c})", at, at + 2))
    return kids if n <= 2 * MAX_ITEMS else None


def _fixed(
    size: int, line: Callable[[bytes, int], str]
) -> Callable[[bytes, int, int, int], Values]:
    """An option whose value is one field of ``size`` bytes (0: no value)."""

    def value(d: bytes, v: int, n: int, depth: int) -> Values:
        if n != size:
            return None
        return [node(line(d, v), v, v + n)] if size else []

    return value


def _relayed(d: bytes, v: int, n: int, depth: int) -> Values:
    inner = _message(d, v, v + n, depth + 1)
    return None if inner is None else [node("DHCPv6", v, v + n, inner)]


def _status(d: bytes, v: int, n: int, depth: int) -> Values:
    if n < 2 or u16(d, v) not in _STATUS:
        return None
    c = u16(d, v)
    kids = [node(f"Status Code: {_STATUS[c]} ({c})", v, v + 2)]
    if n > 2:
        text = _ascii(d[v + 2 : v + n])
        if text is None:
            return None
        kids.append(node(f"Status Message: {text}", v + 2, v + n))
    return kids


def _ascii(b: bytes) -> str | None:
    """Text tshark shows as it is (printable ASCII), or None."""
    return b.decode("ascii") if all(0x20 <= c < 0x7F for c in b) else None


def _addresses(label: str, numbered: bool) -> Callable[[bytes, int, int, int], Values]:
    """A list of IPv6 addresses: tshark numbers the DNS and SNTP servers' lines."""

    def value(d: bytes, v: int, n: int, depth: int) -> Values:
        if n == 0 or n % 16 or n > 16 * MAX_ITEMS:
            return None
        out = []
        for i, at in enumerate(range(v, v + n, 16)):
            what = f" {i + 1} {label}" if numbered else label
            out.append(node(f"{what}: {ip6(d[at : at + 16])}", at, at + 16))
        return out

    return value


def _domains(title: str, label: str) -> Callable[[bytes, int, int, int], Values]:
    """A list of uncompressed domain names, each of two labels or more (tshark warns about
    a lone top-level domain: not worded here)."""

    def value(d: bytes, v: int, n: int, depth: int) -> Values:
        if n == 0:
            return None
        out: list[Node] = []
        at = v
        while at < v + n:
            if len(out) >= MAX_ITEMS or d[at] & 0xC0:
                return None
            got = _dns_name(d, at, at, v + n)
            if got is None or got[1] < 2 or any(c & 0xC0 for c in _label_lengths(d, at, got[2])):
                return None
            name, _, stop = got
            text = _ascii(name.encode("latin-1"))
            if text is None:
                return None
            out.append(node(f"{label}: {text}.", at, stop))
            at = stop
        return [node(title, v, v + n, out)]

    return value


def _label_lengths(d: bytes, at: int, stop: int) -> list[int]:
    """The length bytes of a name read in place (a pointer among them is refused)."""
    out = []
    while at < stop and d[at]:
        out.append(d[at])
        at += 1 + (d[at] & 0x3F)
    return out


def _vendor_class(d: bytes, v: int, n: int, depth: int) -> Values:
    """The enterprise and the class data: tshark 4.0 shows the first entry's text over the
    bytes from it to the option's end (every entry after the first included)."""
    if n < 6 or u32(d, v) not in _ENTERPRISES:
        return None
    at, count = v + 4, 0
    while at < v + n:  # every entry must be whole and printable
        count += 1
        if count > MAX_ITEMS or at + 2 > v + n or at + 2 + u16(d, at) > v + n:
            return None
        if _ascii(d[at + 2 : at + 2 + u16(d, at)]) is None:
            return None
        at += 2 + u16(d, at)
    first = _ascii(d[v + 6 : v + 6 + u16(d, v + 4)])
    return [_enterprise(d, v), node(f"vendor-class-data: {first}", v + 6, v + n)]


_FQDN_WISHES: Final = {
    0: "CLIENT wants to update its AAAA RRs and SERVER to update its PTR RRs",
    1: "CLIENT wants SERVER to update both its AAAA and PTR RRs",
    4: "CLIENT prefers that the server not perform *any* DNS updates",
}


def _client_fqdn(d: bytes, v: int, n: int, depth: int) -> Values:
    """RFC 4704's flags (N and S; the O bit tshark 4.0 does not show) and the name: a
    whole one of two labels or more, or a one-label partial name (the N-and-S error and
    other names are not worded here)."""
    if n < 2 or d[v] & 0xF8 or d[v] & 5 == 5:
        return None
    f = d[v]
    flags = node(
        f"Flags: 0x{f:02x}  [{_FQDN_WISHES[f & 5]}]",
        v,
        v + 1,
        [
            node(
                bits_line(
                    f,
                    4,
                    8,
                    "N bit",
                    f"Server SHOULD{' NOT' if f & 4 else ''} perform PTR RR updates",
                ),
                v,
                v + 1,
            ),
            node(
                bits_line(
                    f,
                    1,
                    8,
                    "S bit",
                    f"Server SHOULD{'' if f & 1 else ' NOT'} perform AAAA RR updates",
                ),
                v,
                v + 1,
            ),
        ],
    )
    at, stop = v + 1, v + n
    if stop - at == 1 + d[at] and d[at] and not d[at] & 0xC0:  # one label, no root
        text = _ascii(d[at + 1 : stop])
        return None if text is None else [flags, node(f"Partial domain name: {text}", at, stop)]
    got = _dns_name(d, at, at, stop)
    if (
        got is None
        or got[1] < 2
        or got[2] != stop
        or any(c & 0xC0 for c in _label_lengths(d, at, stop))
    ):
        return None
    text = _ascii(got[0].encode("latin-1"))
    return None if text is None else [flags, node(f"Client Domain Name: {text}.", at, stop)]


def _remote_id(d: bytes, v: int, n: int, depth: int) -> Values:
    if n < 5 or u32(d, v) not in _ENTERPRISES:
        return None
    return [_enterprise(d, v), node(f"Remote-ID: {d[v + 4 : v + n].hex()}", v + 4, v + n)]


def _subscriber(d: bytes, v: int, n: int, depth: int) -> Values:
    text = _ascii(d[v : v + n])
    return None if text is None or n == 0 else [node(f"Subscriber-ID: {text}", v, v + n)]


def _reconfigure(d: bytes, v: int, n: int, depth: int) -> Values:
    if n != 1 or d[v] not in (5, 6, 11):
        return None
    return [node(f"Reconfigure message type: {WS_DHCP6_TYPES[d[v]]} ({d[v]})", v, v + 1)]


def _bare(d: bytes, v: int, n: int, depth: int) -> Values:
    """SOL_MAX_RT and INF_MAX_RT: tshark 4.0 shows their option and length, not their value."""
    return [] if n == 4 else None


_VALUES: Final[dict[int, Callable[[bytes, int, int, int], Values]]] = {
    1: _duid,
    2: _duid,
    3: _ia("IAID", 12),
    4: _ia("IATA", 4),
    25: _ia("IAID", 12),
    5: _ia_address,
    26: _ia_prefix,
    6: _requested,
    7: _fixed(1, lambda d, v: f"Pref-value: {d[v]}"),
    8: _fixed(2, lambda d, v: f"Elapsed time: {u16(d, v) * 10}ms"),
    9: _relayed,
    12: _fixed(16, lambda d, v: f"IPv6 address: {ip6(d[v : v + 16])}"),
    13: _status,
    14: _fixed(0, lambda d, v: ""),
    20: _fixed(0, lambda d, v: ""),
    16: _vendor_class,
    18: lambda d, v, n, depth: (
        [node(f"Interface-ID: {d[v : v + n].hex()}", v, v + n)] if n else None
    ),
    19: _reconfigure,
    21: _domains("SIP Servers Domain Search List", "SIP Server Domain Search FQDN"),
    22: _addresses("SIP server address", False),
    23: _addresses("DNS server address", True),
    24: _domains("Domain name suffix search list", "List entry"),
    31: _addresses("SNTP server address", True),
    32: _fixed(4, lambda d, v: f"Lifetime: {u32(d, v)}"),
    37: _remote_id,
    38: _subscriber,
    39: _client_fqdn,
    82: _bare,
    83: _bare,
}
