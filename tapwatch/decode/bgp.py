"""BGP (TCP 179), as tcpdump 4.99 prints it.

Without ``-v`` tcpdump says ``: BGP`` and no more.  With ``-v`` it finds each
message in the segment by its marker and prints it: an Open's version, AS, hold
time, identifier and capabilities; an Update's withdrawn routes, path attributes
(origin, AS path, next hop, MED, local preference, aggregator, communities,
originator, cluster list, multiprotocol reach/unreach for IPv4 and IPv6) and
routes; a Notification's error; a Route Refresh's address family.  A message the
segment cuts short ends ``[|BGP Update]``, as tcpdump's does.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    TCP_PORTS,
    Acc,
    PortHandler,
    Trunc,
    Walk,
    bind,
    ip4,
    need,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.names import AF_VALUES
from tapwatch.decode.verbose import hexdump

#: Wireshark's names of the message types (the Info column's)
WS_MESSAGES: Final = {
    1: "OPEN",
    2: "UPDATE",
    3: "NOTIFICATION",
    4: "KEEPALIVE",
    5: "ROUTE-REFRESH",
    6: "CAPABILITY",
}
_MSGS: Final = {1: "Open", 2: "Update", 3: "Notification", 4: "Keepalive", 5: "Route Refresh"}
_OPTS: Final = {1: "Authentication Information", 2: "Capabilities Advertisement"}
_CAPS: Final = {
    1: "Multiprotocol Extensions",
    2: "Route Refresh",
    3: "Cooperative Route Filtering",
    4: "Multiple Routes to a Destination",
    5: "Extended Next Hop Encoding",
    8: "Multiple Labels",
    64: "Graceful Restart",
    65: "32-Bit AS Number",
    67: "Dynamic Capability",
    68: "Multisession BGP",
    69: "Multiple Paths",
    70: "Enhanced Route Refresh",
    71: "Long-lived Graceful Restart",
    128: "Route Refresh (Cisco)",
}
_ATTRS: Final = {
    1: "Origin",
    2: "AS Path",
    17: "AS4 Path",
    3: "Next Hop",
    4: "Multi Exit Discriminator",
    5: "Local Preference",
    6: "Atomic Aggregate",
    7: "Aggregator",
    18: "Aggregator4",
    8: "Community",
    9: "Originator ID",
    10: "Cluster List",
    11: "DPA",
    12: "Advertisers",
    13: "RCID Path / Cluster ID",
    14: "Multi-Protocol Reach NLRI",
    15: "Multi-Protocol Unreach NLRI",
    16: "Extended Community",
    22: "PMSI Tunnel",
    23: "Tunnel Encapsulation",
    24: "Traffic Engineering",
    25: "IPv6 Extended Community",
    26: "Accumulated IGP Metric",
    27: "PE Distinguisher Label",
    28: "Entropy Label",
    32: "Large Community",
    128: "Attribute Set",
    255: "Reserved for development",
}
_SAFI: Final = {
    0: "Reserved",
    1: "Unicast",
    2: "Multicast",
    3: "Unicast+Multicast",
    4: "labeled Unicast",
    64: "Tunnel",
    65: "VPLS",
    66: "MDT",
    70: "EVPN",
    128: "labeled VPN Unicast",
    129: "labeled VPN Multicast",
    130: "labeled VPN Unicast+Multicast",
    132: "Route Target Routing Information",
    5: "Multicast VPN",
}
_ORIGIN: Final = {0: "IGP", 1: "EGP", 2: "Incomplete"}
_SEG_OPEN: Final = {1: "{ ", 2: "", 3: "( ", 4: "({ "}
_SEG_CLOSE: Final = {1: "}", 2: "", 3: ")", 4: "})"}
#: the NOTIFICATION error codes, tcpdump's words (the tree's are tshark's, one differs)
NOTIFY: Final = {
    1: "Message Header Error",
    2: "OPEN Message Error",
    3: "UPDATE Message Error",
    4: "Hold Timer Expired",
    5: "Finite State Machine Error",
    6: "Cease",
    7: "Capability Message Error",
}
_CEASE: Final = {
    1: "Maximum Number of Prefixes Reached",
    2: "Administrative Shutdown",
    3: "Peer Unconfigured",
    4: "Administrative Reset",
    5: "Connection Rejected",
    6: "Other Configuration Change",
    7: "Connection Collision Resolution",
}
_MINOR: Final = {
    1: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
    2: {
        1: "Unsupported Version Number",
        2: "Bad Peer AS",
        3: "Bad BGP Identifier",
        4: "Unsupported Optional Parameter",
        5: "Authentication Failure",
        6: "Unacceptable Hold Time",
        7: "Capability Message Error",
    },
    3: {
        1: "Malformed Attribute List",
        2: "Unrecognized Well-known Attribute",
        3: "Missing Well-known Attribute",
        4: "Attribute Flags Error",
        5: "Attribute Length Error",
        6: "Invalid ORIGIN Attribute",
        7: "AS Routing Loop",
        8: "Invalid NEXT_HOP Attribute",
        9: "Optional Attribute Error",
        10: "Invalid Network Field",
        11: "Malformed AS_PATH",
    },
    5: {
        0: "Unspecified Error",
        1: "In OpenSent State",
        2: "In OpenConfirm State",
        3: "In Established State",
    },
    7: {
        1: "Invalid Action Value",
        2: "Invalid Capability Length",
        3: "Malformed Capability Value",
        4: "Unsupported Capability Code",
    },
}
_ADD_PATH: Final = {1: "Receive", 2: "Send", 3: "Both"}
#: the (AFI, SAFI) pairs whose next hop and routes are decoded here
_PLAIN4: Final = frozenset(((1, 1), (1, 2), (1, 3)))
_PLAIN6: Final = frozenset(((2, 1), (2, 2), (2, 3)))
#: the pairs tcpdump's ``bgp_mp_af_print`` accepts
_KNOWN_AF: Final = frozenset(
    [(1, s) for s in (1, 2, 3, 4, 132, 128, 129, 130, 5, 66)]
    + [(2, s) for s in (1, 2, 3, 4, 128, 129, 130)]
    + [(3, s) for s in (1, 2, 3, 128, 129, 130)]
    + [(196, s) for s in (128, 129, 130)]
    + [(25, 65)]
)


class _Stop(Exception):
    """tcpdump's ``nd_print_trunc`` inside a message: `` [|bgp]`` and the segment ends."""


def _prefix(d: bytes, p: int, left: int, end: int, size: int) -> tuple[str | None, int]:
    """``decode_prefix4``/``6``: (text or None for an illegal length, bytes used); _Stop
    when the bytes left cannot hold it."""
    if left < 1:
        raise _Stop
    need(p, 1, end)
    plen = d[p]
    if plen > size * 8:
        return None, -1
    nb = (plen + 7) // 8
    if left - 1 < nb:
        raise _Stop
    need(p + 1, nb, end)
    raw = bytearray(d[p + 1 : p + 1 + nb] + bytes(size - nb))
    if plen % 8:
        raw[nb - 1] &= (0xFF00 >> (plen % 8)) & 0xFF
    addr = ip4(bytes(raw)) if size == 4 else ntop6(bytes(raw))
    return f"{addr}/{plen}", 1 + nb


def _add_path(d: bytes, p: int, length: int, end: int, maxlen: int) -> bool:
    """tcpdump's ``check_add_path``: do these routes carry path identifiers?"""
    if length < 5:
        return False
    off = 0
    while off < length:
        off += 4
        if p + off >= end:
            break
        pl = d[p + off]
        if pl > maxlen:
            return False
        off += 1 + (pl + 7) // 8
    if off > length:
        return False
    off = 0
    while off < length:
        if p + off >= end:
            break
        pl = d[p + off]
        if pl < 1 or pl > maxlen:
            return True
        off += 1 + (pl + 7) // 8
    return off > length


def _caps(d: bytes, p: int, n: int, end: int, out: list[str], verbose: int) -> None:
    i = 0
    while i < n:
        need(p + i, 2, end)
        ct, cl = d[p + i], d[p + i + 1]
        out.append(f"\n\t      {_CAPS.get(ct, 'Unknown')} ({ct}), length: {cl}")
        need(p + i + 2, cl, end)
        c = p + i + 2
        if ct == 1:
            if cl < 4:
                out.append(" (too short, < 4)")
                return
            af = u16(d, c)
            out.append(
                f"\n\t\tAFI {AF_VALUES.get(af, 'Unknown')} ({af}), "
                f"SAFI {_SAFI.get(d[c + 3], 'Unknown')} ({d[c + 3]})"
            )
        elif ct == 8:
            q, left = c, cl
            while left >= 4:
                af = u16(d, q)
                out.append(
                    f"\n\t\tAFI {AF_VALUES.get(af, 'Unknown')} ({af}), SAFI "
                    f"{_SAFI.get(d[q + 2], 'Unknown')} ({d[q + 2]}), Count: {d[q + 3]}"
                )
                q += 4
                left -= 4
        elif ct == 64:
            if cl < 2:
                out.append(" (too short, < 2)")
                return
            out.append(
                f"\n\t\tRestart Flags: [{'R' if d[c] & 0x80 else 'none'}], "
                f"Restart Time {u16(d, c) & 0xFFF}s"
            )
            q, left = c + 2, cl - 2
            while left >= 4:
                af = u16(d, q)
                out.append(
                    f"\n\t\t  AFI {AF_VALUES.get(af, 'Unknown')} ({af}), SAFI "
                    f"{_SAFI.get(d[q + 2], 'Unknown')} ({d[q + 2]}), Forwarding state preserved: "
                    f"{'yes' if d[q + 3] & 0x80 else 'no'}"
                )
                q += 4
                left -= 4
        elif ct in (2, 71, 128):
            pass
        elif ct == 65:
            if cl < 4:
                out.append(" (too short, < 4)")
                return
            out.append(f"\n\t\t 4 Byte AS {u32(d, c)}")
        elif ct == 69:
            if cl == 0:
                out.append(" (bogus)")
            q, left = c, cl
            while left:
                if left < 4:
                    out.append(" (invalid)")
                    break
                af = u16(d, q)
                sr = d[q + 3]
                out.append(
                    f"\n\t\tAFI {AF_VALUES.get(af, 'Unknown')} ({af}), SAFI "
                    f"{_SAFI.get(d[q + 2], 'Unknown')} ({d[q + 2]}), Send/Receive: "
                    f"{_ADD_PATH.get(sr, f'Bogus (0x{sr:02x})')}"
                )
                q += 4
                left -= 4
        else:
            out.append(f"\n\t\tno decoder for Capability {ct}")
            if verbose <= 1:
                out.append(hexdump(d[c : c + cl], "\n\t\t"))
        if verbose > 1 and cl:
            out.append(hexdump(d[c : c + cl], "\n\t\t"))
        i += 2 + cl


def _open(d: bytes, p: int, length: int, end: int, out: list[str], verbose: int) -> None:
    need(p, 29, end)
    if length < 29:
        raise _Stop
    out.append(
        f"\n\t  Version {d[p + 19]}, my AS {u16(d, p + 20)}, Holdtime {u16(d, p + 22)}s, "
        f"ID {ip4(d[p + 24 : p + 28])}"
    )
    optslen = d[p + 28]
    out.append(f"\n\t  Optional parameters, length: {optslen}")
    o = p + 29
    left = length - 29
    i = 0
    while i < optslen:
        need(o + i, 2, end)
        if left < 2 + i:
            raise _Stop
        ot, ol = d[o + i], d[o + i + 1]
        if 2 + i + ol > optslen:
            out.append(f"\n\t     Option {ot}, length: {ol}, goes past the end of the options")
            break
        out.append(f"\n\t    Option {_OPTS.get(ot, 'Unknown')} ({ot}), length: {ol}")
        if ot == 2:
            try:
                _caps(d, o + i + 2, ol, end, out, verbose)
            except Trunc:
                out.append(" [|bgp]")
        else:
            out.append(f"\n\t      no decoder for option {ot}")
        i += 2 + ol


def _mp_af(d: bytes, p: int, tlen: int, end: int, out: list[str], verbose: int) -> tuple[int, int]:
    need(p, 3, end)
    af, safi = u16(d, p), d[p + 2]
    out.append(
        f"\n\t    AFI: {AF_VALUES.get(af, 'Unknown AFI')} ({af}), "
        f"{'vendor specific ' if safi > 128 else ''}SAFI: "
        f"{_SAFI.get(safi, 'Unknown SAFI')} ({safi})"
    )
    if (af, safi) not in _KNOWN_AF:
        need(p, tlen, end)
        out.append(f"\n\t    no AFI {af} / SAFI {safi} decoder")
        if verbose <= 1:
            out.append(hexdump(d[p : p + tlen], "\n\t    "))
        return -1, -1
    return af, safi


class _NoDecoder(Exception):
    """An (AFI, SAFI) whose next hops or routes this printer does not spell out."""


def _attr(d: bytes, t: int, p: int, ln: int, end: int, out: list[str], verbose: int) -> None:
    q = p
    if t == 1:
        if ln != 1:
            out.append("invalid len")
        else:
            need(q, 1, end)
            out.append(_ORIGIN.get(d[q], "Unknown Origin Typecode"))
    elif t in (2, 17):
        if ln % 2:
            out.append("invalid len")
        elif not ln:
            out.append("empty")
        else:
            size = 4 if t == 17 else _as_size(d, p, ln, end)
            while q < p + ln:
                need(q, 2, end)
                seg, count = d[q], d[q + 1]
                out.append(_SEG_OPEN.get(seg, "?"))
                for i in range(0, count * size, size):
                    need(q + 2 + i, size, end)
                    out.append(f"{u16(d, q + 2 + i) if size == 2 else u32(d, q + 2 + i)} ")
                out.append(_SEG_CLOSE.get(seg, "?"))
                q += 2 + count * size
    elif t in (3, 9):
        if ln != 4:
            out.append("invalid len")
        else:
            need(q, 4, end)
            out.append(ip4(d[q : q + 4]))
    elif t in (4, 5):
        if ln != 4:
            out.append("invalid len")
        else:
            need(q, 4, end)
            out.append(str(u32(d, q)))
    elif t == 6:
        if ln != 0:
            out.append("invalid len")
    elif t in (7, 18):
        if ln not in ((6, 8) if t == 7 else (8,)):
            out.append("invalid len")
        else:
            need(q, ln, end)
            asn = u16(d, q) if ln == 6 else u32(d, q)
            out.append(f" AS #{asn}, origin {ip4(d[q + ln - 4 : q + ln])}")
    elif t == 8:
        if ln % 4:
            out.append("invalid len")
        else:
            left = ln
            while left:
                need(q, 4, end)
                c = u32(d, q)
                word = {0xFFFFFF01: " NO_EXPORT", 0xFFFFFF02: " NO_ADVERTISE"}.get(c)
                if c == 0xFFFFFF03:
                    word = " NO_EXPORT_SUBCONFED"
                out.append(word or f"{c >> 16}:{c & 0xFFFF}{', ' if left > 4 else ''}")
                left -= 4
                q += 4
    elif t == 10:
        if ln % 4:
            out.append("invalid len")
        else:
            left = ln
            while left:
                need(q, 4, end)
                out.append(f"{ip4(d[q : q + 4])}{', ' if left > 4 else ''}")
                left -= 4
                q += 4
    elif t == 14:
        if ln < 3:
            raise _Stop
        af, safi = _mp_af(d, q, ln, end, out, verbose)
        if af >= 0:
            _mp_reach(d, p, ln, af, safi, end, out)
    elif t == 15:
        need(q, 3, end)
        af, safi = _mp_af(d, q, ln, end, out, verbose)
        if af >= 0:
            if ln == 3:
                out.append("\n\t      End-of-Rib Marker (empty NLRI)")
            _nlri(d, q + 3, p + ln, ln, af, safi, end, out)
    else:
        need(p, ln, end)
        out.append(f"\n\t    no Attribute {t} decoder")
        if verbose <= 1:
            out.append(hexdump(d[p : p + ln], "\n\t    "))
    if verbose > 1 and ln:
        need(p, ln, end)
        out.append(hexdump(d[p : p + ln], "\n\t    "))


def _as_size(d: bytes, p: int, ln: int, end: int) -> int:
    """tcpdump's ``bgp_attr_get_as_size``: 2-byte AS numbers if the segments add up so."""
    q = p
    while q < p + ln:
        need(q, 2, end)
        if d[q] < 1 or d[q] > 4:
            return 4
        q += 2 + d[q + 1] * 2
    return 2 if q == p + ln else 4


def _mp_reach(d: bytes, p: int, ln: int, af: int, safi: int, end: int, out: list[str]) -> None:
    q = p + 3
    left = ln - 3
    if left < 1:
        raise _Stop
    need(q, 1, end)
    nhlen = d[q]
    q += 1
    left -= 1
    if nhlen:
        if left < nhlen:
            raise _Stop
        out.append("\n\t    nexthop: ")
        n = nhlen
        first = True
        while n:
            if not first:
                out.append(", ")
            first = False
            size = 4 if (af, safi) in _PLAIN4 else 16 if (af, safi) in _PLAIN6 else 0
            if size == 0:
                raise _NoDecoder
            if n < size:
                out.append("invalid len")
                q += n
                left -= n
                break
            need(q, size, end)
            out.append(ip4(d[q : q + 4]) if size == 4 else ntop6(d[q : q + 16]))
            q += size
            n -= size
            left -= size
    out.append(f", nh-length: {nhlen}")
    if left < 1:
        raise _Stop
    need(q, 1, end)
    snpa = d[q]
    q += 1
    left -= 1
    if snpa:
        out.append(f"\n\t    {snpa} SNPA")
        for _ in range(snpa):
            if left < 1:
                raise _Stop
            need(q, 1, end)
            sl = d[q]
            out.append(f"\n\t      {sl} bytes")
            q += 1
            left -= 1
            if left < sl:
                raise _Stop
            need(q, sl, end)
            q += sl
            left -= sl
    else:
        out.append(", no SNPA")
    _nlri(d, q, p + ln, ln, af, safi, end, out)


def _nlri(
    d: bytes, q: int, stop: int, ln: int, af: int, safi: int, end: int, out: list[str]
) -> None:
    """The routes of an MP attribute (``bgp_nlri_print`` for IPv4 and IPv6 unicast)."""
    if q >= stop:
        return
    if (af, safi) not in _PLAIN4 and (af, safi) not in _PLAIN6:
        raise _NoDecoder
    size = 4 if (af, safi) in _PLAIN4 else 16
    add = _add_path(d, q, stop - q, end, size * 8)
    while q < stop:
        path = -1
        if add:
            need(q, 4, end)
            path = u32(d, q)
            q += 4
        try:
            text, n = _prefix(d, q, ln, end, size)
        except _Stop:
            return  # tcpdump: "bytes left, but not enough" ends the list quietly
        if text is None:
            out.append("\n\t    (illegal prefix length)")
            return
        out.append(f"\n\t      {text}")
        if add:
            out.append(f"   Path Id: {path}")
        q += n


def _update(d: bytes, p: int, length: int, end: int, out: list[str], verbose: int) -> None:
    q = p + 19
    length -= 19
    need(q, 2, end)
    if length < 2:
        raise _Stop
    wlen = u16(d, q)
    q += 2
    length -= 2
    if wlen > 1:
        need(q, wlen, end)
        if length < wlen:
            raise _Stop
        out.append("\n\t  Withdrawn routes:")
        add = _add_path(d, q, wlen, end, 32)
        while wlen:
            path = -1
            if add:
                if wlen < 4:
                    q += wlen
                    length -= wlen
                    break
                path = u32(d, q)
                q += 4
                length -= 4
                wlen -= 4
            text, n = _prefix(d, q, wlen, end, 4)
            if text is None:
                out.append("\n\t    (illegal prefix length)")
                break
            out.append(f"\n\t    {text}" + (f"   Path Id: {path}" if add else ""))
            q += n
            length -= n
            wlen -= n
    else:
        need(q, wlen, end)
        if length < wlen:
            raise _Stop
        q += wlen
        length -= wlen
    need(q, 2, end)
    if length < 2:
        raise _Stop
    alen = u16(d, q)
    q += 2
    length -= 2
    if wlen == 0 and alen == 0 and length == 0:
        out.append("\n\t  End-of-Rib Marker (empty NLRI)")
        return
    if alen:
        if length < alen:
            raise _Stop
        while alen:
            need(q, 2, end)
            if length < 2:
                raise _Stop
            if alen < 2:
                out.append("\n\t  [path attrs too short]")
                q += alen
                length -= alen
                break
            flags, t = d[q], d[q + 1]
            q += 2
            alen -= 2
            length -= 2
            ll = 2 if flags & 0x10 else 1
            need(q, ll, end)
            if length < ll:
                raise _Stop
            if alen < ll:
                out.append("\n\t  [path attrs too short]")
                q += alen
                length -= alen
                break
            ln = u16(d, q) if ll == 2 else d[q]
            q += ll
            alen -= ll
            length -= ll
            out.append(f"\n\t  {_ATTRS.get(t, 'Unknown Attribute')} ({t}), length: {ln}")
            if flags:
                out.append(
                    ", Flags ["
                    + ("O" if flags & 0x80 else "")
                    + ("T" if flags & 0x40 else "")
                    + ("P" if flags & 0x20 else "")
                    + ("E" if flags & 0x10 else "")
                    + (f"+{flags & 0xF:x}" if flags & 0xF else "")
                    + "]: "
                )
            if alen < ln:
                out.append(" [path attrs too short]")
                q += alen
                length -= alen
                break
            if length < ln:
                raise _Stop
            try:
                _attr(d, t, q, ln, end, out, verbose)
            except Trunc:
                raise _Stop from None
            q += ln
            alen -= ln
            length -= ln
    if length:
        add = _add_path(d, q, length, end, 32)
        out.append("\n\t  Updated routes:")
        while length:
            path = -1
            if add:
                need(q, 4, end)
                if length < 4:
                    raise _Stop
                path = u32(d, q)
                q += 4
                length -= 4
            text, n = _prefix(d, q, length, end, 4)
            if text is None:
                out.append("\n\t    (illegal prefix length)")
                break
            out.append(f"\n\t    {text}" + (f"   Path Id: {path}" if add else ""))
            q += n
            length -= n


def _notification(d: bytes, p: int, length: int, end: int, out: list[str]) -> None:
    need(p, 21, end)
    if length < 21:
        return
    major, minor = d[p + 19], d[p + 20]
    out.append(f", {NOTIFY.get(major, 'Unknown Error')} ({major})")
    if major == 6:
        out.append(f", subcode {_CEASE.get(minor, 'Unknown')} ({minor})")
        if minor == 1 and length >= 28:
            q = p + 21
            need(q, 7, end)
            af = u16(d, q)
            out.append(
                f", AFI {AF_VALUES.get(af, 'Unknown')} ({af}), SAFI "
                f"{_SAFI.get(d[q + 2], 'Unknown')} ({d[q + 2]}), Max Prefixes: {u32(d, q + 3)}"
            )
    elif major in _MINOR:
        sep = "," if major in (1, 2, 3) else ""
        out.append(f"{sep} subcode {_MINOR[major].get(minor, 'Unknown')} ({minor})")


def _message(d: bytes, p: int, length: int, end: int, out: list[str], verbose: int) -> bool:
    t = d[p + 18]
    out.append(f"\n\t{_MSGS.get(t, 'Unknown')} Message ({t}), length: {length}")
    try:
        if t == 1:
            _open(d, p, length, end, out, verbose)
        elif t == 2:
            _update(d, p, length, end, out, verbose)
        elif t == 3:
            _notification(d, p, length, end, out)
        elif t == 5:
            need(p, 23, end)
            if length >= 23:
                af = u16(d, p + 19)
                out.append(
                    f"\n\t  AFI {AF_VALUES.get(af, 'Unknown')} ({af}), SAFI "
                    f"{_SAFI.get(d[p + 22], 'Unknown')} ({d[p + 22]})"
                )
                if verbose > 1:
                    out.append(hexdump(d[p : p + length], "\n\t  "))
        elif t != 4:
            out.append(f"\n\t  no Message {t} decoder" + hexdump(d[p : p + length], "\n\t  "))
    except (_Stop, Trunc):
        out.append(" [|bgp]")
    return True


def bgp(d: bytes, off: int, end: int, verbose: int) -> str:
    """``: BGP`` (``-v``: each message the segment holds)."""
    if not verbose:
        return ": BGP"
    out = [": BGP"]
    p = off
    start = p
    marker = b"\xff" * 16
    while p < end:
        if d[p] != 0xFF:
            p += 1
            continue
        if p + 16 > end:
            break
        if d[p : p + 16] != marker:
            p += 1
            continue
        if p + 19 > end:
            out.append(" [|bgp]")
            break
        if start != p:
            out.append(" [|bgp]")
        hlen = u16(d, p + 16)
        if hlen < 19:
            out.append(f"\nmessage length {hlen} < 19 (invalid)")
            break
        if p + hlen <= end:
            try:
                _message(d, p, hlen, end, out, verbose)
            except _NoDecoder:
                return "".join(out)
            p += hlen
            start = p
        else:
            out.append(f"\n[|BGP {_MSGS.get(d[p + 18], 'Unknown Message Type')}]")
            break
    return "".join(out)


class _Bgp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if end - off >= 19 and not a.lean:
            a.info = f"{WS_MESSAGES.get(d[off + 18], 'Unknown')} Message"
        return bgp(d, off, end, a.verbose)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("BGP")


bind(TCP_PORTS, (179,), _Bgp("BGP"))
