"""What tcpdump's ``-v`` adds to a line: header fields, checksum verdicts, option lists.

The protocol modules call these when :attr:`~tapwatch.decode.core.Acc.verbose` is
set; the wording is tcpdump 4.99's (``print-ip.c``, ``print-ip6.c``,
``print-ip6opts.c``, ``print-icmp6.c``), checked against tcpdump itself by
tests/test_tcpdump_parity.py.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import ip4, ntop6
from tapwatch.wire import checksum, pseudo_header4, pseudo_header6

#: tcpdump's ``ipproto_values``: the names ``proto``/``next-header`` print.
IPPROTO_TD: Final = {
    0: "Options",
    1: "ICMP",
    2: "IGMP",
    4: "IPIP",
    6: "TCP",
    8: "EGP",
    9: "IGRP",
    17: "UDP",
    33: "DCCP",
    41: "IPv6",
    43: "Routing",
    44: "Fragment",
    46: "RSVP",
    47: "GRE",
    50: "ESP",
    51: "AH",
    55: "Mobile IP",
    58: "ICMPv6",
    88: "EIGRP",
    89: "OSPF",
    103: "PIM",
    108: "Compressed IP",
    112: "VRRP",
    113: "PGM",
    132: "SCTP",
    135: "Mobility",
    143: "Ethernet",
}
_IPOPT_NAMES: Final = {
    0: "EOL",
    1: "NOP",
    68: "timestamp",
    130: "security",
    7: "RR",
    137: "SSRR",
    131: "LSRR",
    148: "RA",
    82: "traceroute",
}
_ECN: Final = ("", ",ECT(1)", ",ECT(0)", ",CE")


def safe_char(c: int) -> str:
    """tcpdump's ``fn_print_char``/``safeputchar``: a byte as printable ASCII, ``M-`` for the
    high bit and ``^X`` for a control character."""
    out = ""
    if c & 0x80:
        out = "M-"
        c &= 0x7F
    if c < 0x20 or c == 0x7F:
        return out + "^" + chr(c ^ 0x40)
    return out + chr(c)


def shouldbe(field: int, computed: int) -> int:
    """tcpdump's ``in_cksum_shouldbe``: the right checksum, from the field and the sum over the
    data with the field in place (0 when the field is right)."""
    s = field + computed
    s = (s & 0xFFFF) + (s >> 16)
    return (s & 0xFFFF) + (s >> 16) & 0xFFFF


def cksum(data: bytes) -> int:
    """The internet checksum over ``data`` as tcpdump's ``in_cksum`` returns it (0: correct)."""
    return checksum(data)


def pseudo_sum(src: bytes, dst: bytes, proto: int, seg: bytes) -> int:
    """``in_cksum`` of a TCP/UDP/ICMPv6 segment with the pseudo-header of its IP version."""
    n = len(seg)
    if len(src) == 16:
        head = pseudo_header6(src, dst, n, proto)
    else:
        head = pseudo_header4(src, dst, n & 0xFFFF, proto)
    return cksum(head + seg)


def ip4_header(d: bytes, off: int, hl: int, avail: int) -> str:
    """``(tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto ICMP (1), length 84)``.

    ``hl``: the header's length as the frame's walk read its IHL (the options and the
    checksum span it); the fields printed are read here, no boundary is."""
    tos = d[off + 1]
    ttl = d[off + 8]
    fo = d[off + 6] << 8 | d[off + 7]
    proto = d[off + 9]
    flags = (
        ", ".join(n for bit, n in ((0x2000, "+"), (0x4000, "DF"), (0x8000, "rsvd")) if fo & bit)
        or "none"
    )
    out = (
        f"(tos 0x{tos:x}{_ECN[tos & 3]}{f', ttl {ttl}' if ttl else ''}, "
        f"id {d[off + 4] << 8 | d[off + 5]}, offset {(fo & 0x1FFF) << 3}, flags [{flags}], "
        f"proto {IPPROTO_TD.get(proto, 'unknown')} ({proto}), "
        f"length {d[off + 2] << 8 | d[off + 3]}"
    )
    if hl > 20:
        out += f", options ({ip4_options(d, off + 20, off + hl)})"
    if avail >= hl:
        c = cksum(d[off : off + hl])
        if c:
            field = d[off + 10] << 8 | d[off + 11]
            out += f", bad cksum {field:x} (->{shouldbe(field, c):x})!"
    return out + ")"


def ip4_options(d: bytes, p: int, end: int) -> str:
    """tcpdump's ``ip_optprint``: ``NOP,RR 10.0.0.1, 0.0.0.0,EOL``."""
    out: list[str] = []
    sep = ""
    while p < end:
        code = d[p]
        out.append(sep + _IPOPT_NAMES.get(code, f"unknown {code}"))
        sep = ","
        if code in (0, 1):
            ln = 1
        else:
            ln = d[p + 1] if p + 1 < end else 0
            if ln < 2:
                out.append(f" [bad length {ln}]")
                break
        if ln > end - p:
            out.append(f" [bad length {ln}]")
            break
        if code == 0:
            break
        if code in (7, 131, 137):
            out.append(_route(d, p, ln))
        elif code == 148:
            if ln < 4:
                out.append(f" [bad length {ln}]")
            elif d[p + 2] << 8 | d[p + 3]:
                out.append(f" value {d[p + 2] << 8 | d[p + 3]}")
        p += ln
    return "".join(out)


def _route(d: bytes, p: int, ln: int) -> str:
    """The addresses of a record-route option, a comma after those already recorded."""
    if ln < 3:
        return f" [bad length {ln}]"
    out = f" [bad length {ln}]" if (ln + 1) & 3 else ""
    ptr = d[p + 2] - 1
    if ptr < 3 or (ptr + 1) & 3 or ptr > ln + 1:
        out += f" [bad ptr {d[p + 2]}]"
    for i in range(3, ln - 3, 4):
        out += " " + ip4(d[p + i : p + i + 4]) + ("," if ptr > i else "")
    return out


def ip6_header(d: bytes, off: int) -> str:
    """``(flowlabel 0x55473, hlim 64, next-header ICMPv6 (58) payload length: 64) ``."""
    flow = d[off] << 24 | d[off + 1] << 16 | d[off + 2] << 8 | d[off + 3]
    nh = d[off + 6]
    out = "("
    if flow & 0x0FF00000:
        out += f"class 0x{(flow & 0x0FF00000) >> 20:02x}, "
    if flow & 0xFFFFF:
        out += f"flowlabel 0x{flow & 0xFFFFF:05x}, "
    return (
        f"{out}hlim {d[off + 7]}, next-header {IPPROTO_TD.get(nh, 'unknown')} ({nh}) "
        f"payload length: {d[off + 4] << 8 | d[off + 5]}) "
    )


def ip6_options(d: bytes, p: int, end: int) -> str:
    """tcpdump's ``ip6_opt_print`` of a hop-by-hop or destination options header's options,
    up to ``end``: where the walk read that header to end."""
    out = ""
    i = p
    while i < end:
        t = d[i]
        if t == 0:
            out += "(pad1)"
            i += 1
            continue
        if i + 1 >= end:
            return out + "[|ip6opt]"
        ln = d[i + 1] + 2
        if i + ln > end:
            return out + "[|ip6opt]"
        if t == 1:
            out += "(padn)"
        elif t == 5:
            if ln != 4:
                return out + f"(rtalert: invalid len {d[i + 1]})"
            out += f"(rtalert: 0x{d[i + 2] << 8 | d[i + 3]:04x}) "
        elif t == 0xC2:
            if ln != 6:
                return out + f"(jumbo: invalid len {d[i + 1]})"
            out += f"(jumbo: {int.from_bytes(d[i + 2 : i + 6], 'big')}) "
        elif t == 0xC9 and ln >= 18:
            out += f"(homeaddr: {ntop6(d[i + 2 : i + 18])}) "
        else:
            out += f"(opt_type 0x{t:02x}: len={d[i + 1]})"
        i += ln
    return out + " "


def hexdump(d: bytes, prefix: str) -> str:
    """tcpdump's ``hex_print``: ``{prefix}0x0000:  0102 0304 ...``, 16 bytes a line."""
    out = []
    for i in range(0, len(d), 16):
        chunk = d[i : i + 16]
        words = "".join(f" {chunk[j : j + 2].hex()}" for j in range(0, len(chunk), 2))
        out.append(f"{prefix}0x{i:04x}: {words}")
    return "".join(out)


def hex_ascii(d: bytes, prefix: str) -> str:
    """tcpdump's ``hex_and_ascii_print``: 16 bytes a line, their hex and their ASCII."""
    out = []
    for i in range(0, len(d), 16):
        chunk = d[i : i + 16]
        words = "".join(f" {chunk[j : j + 2].hex()}" for j in range(0, len(chunk), 2))
        text = "".join(chr(c) if 0x20 < c < 0x7F else "." for c in chunk)
        out.append(f"{prefix}0x{i:04x}: {words:<40}  {text}")
    return "".join(out)
