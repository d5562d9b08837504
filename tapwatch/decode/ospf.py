"""OSPFv2 (RFC 2328) and OSPFv3 (RFC 5340), IP protocol 89, as tcpdump 4.99 prints them.

Without ``-v`` one line: ``OSPFv2, Hello, length 44``.  With ``-v``: the router
and area, the authentication (v2), then each message's fields -- hello timers and
neighbours, database description flags and LSA headers, requests, the LSAs of an
update (router, network, summary and external LSAs spelled out), acknowledged
headers.  OSPFv3 prints the LSAs of updates, requests and acks only at ``-vv``, as
tcpdump does.

Reading stops where the capture does, as tcpdump's does: ``[|ospf2]``.  With MD5
authentication tcpdump takes the 16-byte digest off the end first, so an LS-Ack
(whose headers it reads until the data ends) always ends ``[|ospf2]``; so does this.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    IP_PROTOS,
    Acc,
    Ctx,
    IpHandler,
    Trunc,
    Walk,
    bind,
    bits,
    head_noport,
    ip4,
    need,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.verbose import hexdump

_TYPES: Final = {
    1: "Hello",
    2: "Database Description",
    3: "LS-Request",
    4: "LS-Update",
    5: "LS-Ack",
}
_INFO: Final = {
    1: "Hello Packet",
    2: "DB Description",
    3: "LS Request",
    4: "LS Update",
    5: "LS Acknowledge",
}

_OPTIONS: Final = (
    (0x01, "MultiTopology"),
    (0x02, "External"),
    (0x04, "Multicast"),
    (0x08, "NSSA"),
    (0x10, "LLS"),
    (0x20, "Demand Circuit"),
    (0x40, "Opaque"),
    (0x80, "Up/Down"),
)
_AUTH: Final = {0: "none", 1: "simple", 2: "MD5"}
_RLA_FLAGS: Final = (
    (0x01, "ABR"),
    (0x02, "ASBR"),
    (0x04, "Virtual"),
    (0x08, "Wildcard"),
    (0x10, "Nt"),
    (0x80, "Host"),
)
_LSA: Final = {
    1: "Router",
    2: "Network",
    3: "Summary",
    4: "ASBR Summary",
    5: "External",
    6: "Multicast Group",
    7: "NSSA",
    9: "Link Local Opaque",
    10: "Area Local Opaque",
    11: "Domain Wide Opaque",
}
_DD_FLAGS: Final = ((0x04, "Init"), (0x02, "More"), (0x01, "Master"), (0x08, "OOBResync"))
_OPAQUE: Final = {1: "Traffic Engineering", 3: "Graceful restart", 4: "Router Information"}
_TOPOLOGY: Final = {0: "default", 1: "multicast", 2: "management"}
_LLS_TLVS: Final = {1: "Extended Options", 2: "MD5 Authentication"}
_LLS_EO: Final = ((0x1, "LSDB resync"), (0x2, "Restart"))
_RI_CAPS: Final = (
    (1, "Reserved"),
    (2, "Reserved"),
    (4, "Reserved"),
    (8, "Reserved"),
    (16, "graceful restart capable"),
    (32, "graceful restart helper"),
    (64, "Stub router support"),
    (128, "Traffic engineering"),
    (256, "p2p over LAN"),
    (512, "path computation server"),
)
_GRACE_TLVS: Final = {1: "Grace Period", 2: "Graceful restart Reason", 3: "IPv4 interface address"}
_GRACE_REASONS: Final = {
    0: "Unknown",
    1: "Software Restart",
    2: "Software Reload/Upgrade",
    3: "Control Processor Switch",
}


def _a(d: bytes, p: int, end: int) -> str:
    need(p, 4, end)
    return ip4(d[p : p + 4])


def _lshdr(d: bytes, p: int, end: int) -> tuple[str, int]:
    """An LSA header: its text and the LSA's length (-1: bogus, the caller stops)."""
    need(p + 18, 2, end)
    ln = u16(d, p + 18)
    if ln < 20:
        return f"\n\t    Bogus length {ln} < header (20)", -1
    need(p, 20, end)
    out = (
        f"\n\t  Advertising Router {ip4(d[p + 8 : p + 12])}, seq 0x{u32(d, p + 12):08x}, "
        f"age {u16(d, p)}s, length {ln - 20}"
    )
    t = d[p + 3]
    if t in (9, 10, 11):
        out += (
            f"\n\t    {_LSA.get(t, 'unknown')} LSA ({t}), Opaque-Type "
            f"{_OPAQUE.get(d[p + 4], 'unknown')} LSA ({d[p + 4]}), "
            f"Opaque-ID {d[p + 5] << 16 | d[p + 6] << 8 | d[p + 7]}"
        )
    else:
        out += f"\n\t    {_LSA.get(t, 'unknown')} LSA ({t}), LSA-ID: {ip4(d[p + 4 : p + 8])}"
    return out + f"\n\t    Options: [{bits(_OPTIONS, d[p + 2])}]", ln


def _hex(d: bytes, p: int, n: int, end: int, prefix: str) -> str:
    """tcpdump's ``print_unknown_data``: what was captured of ``n`` bytes, in hex."""
    return hexdump(d[p : min(p + n, end)], prefix)


def _lsa(d: bytes, p: int, end: int, out: list[str], verbose: int) -> int:
    """One LSA of an update; returns where the next starts (-1: stop, as tcpdump)."""
    text, ln = _lshdr(d, p, end)
    out.append(text)
    if ln < 0:
        return -1
    lend = p + ln
    body = p + 20
    blen = ln - 20
    t = d[p + 3]
    if t == 1:
        need(body, 4, end)
        out.append(f"\n\t    Router LSA Options: [{bits(_RLA_FLAGS, d[body])}]")
        count = u16(d, body + 2)
        q = body + 4
        need(q, 12, end)
        for _ in range(count):
            need(q, 12, end)
            kind = d[q + 8]
            lid, ldata = ip4(d[q : q + 4]), ip4(d[q + 4 : q + 8])
            if kind == 4:
                out.append(
                    f"\n\t      Virtual Link: Neighbor Router-ID: {lid}, Interface Address: {ldata}"
                )
            elif kind == 1:
                out.append(f"\n\t      Neighbor Router-ID: {lid}, Interface Address: {ldata}")
            elif kind == 2:
                out.append(f"\n\t      Neighbor Network-ID: {lid}, Interface Address: {ldata}")
            elif kind == 3:
                out.append(f"\n\t      Stub Network: {lid}, Mask: {ldata}")
            else:
                out.append(f"\n\t      Unknown Router Link Type ({kind})")
                return lend
            tos = d[q + 9]
            m = q + 8
            for i in range(tos + 1):
                need(m, 4, end)
                topo = d[m] if i else 0
                out.append(
                    f"\n\t\ttopology {_TOPOLOGY.get(topo, 'Unknown')} ({topo}), "
                    f"metric {u16(d, m + 2)}"
                )
                m += 4
            q += 12 + 4 * tos
    elif t == 2:
        out.append(f"\n\t    Mask {_a(d, body, end)}\n\t    Connected Routers:")
        q = body + 4
        while q < lend:
            out.append(f"\n\t      {_a(d, q, end)}")
            q += 4
    elif t in (3, 4):
        if t == 3:
            out.append(f"\n\t    Mask {_a(d, body, end)}")
        q = body + 4
        need(q, 4, end)
        while q < lend:
            need(q, 4, end)
            v = u32(d, q)
            topo = (v & 0x7F000000) >> 24
            out.append(
                f"\n\t\ttopology {_TOPOLOGY.get(topo, 'Unknown')} ({topo}) metric {v & 0xFFFFFF}"
            )
            q += 4
    elif t in (5, 7):
        out.append(f"\n\t    Mask {_a(d, body, end)}")
        q = body + 4
        need(q, 4, end)
        while q < lend:
            need(q, 12, end)
            v = u32(d, q)
            topo = (v & 0x7F000000) >> 24
            metric = "infinite" if v & 0xFFFFFF == 0xFFFFFF else str(v & 0xFFFFFF)
            line = (
                f"\n\t\ttopology {_TOPOLOGY.get(topo, 'Unknown')} ({topo}), type "
                f"{2 if v & 0x80000000 else 1}, metric {metric}"
            )
            if u32(d, q + 4):
                line += f", forward {ip4(d[q + 4 : q + 8])}"
            if u32(d, q + 8):
                line += f", tag {ip4(d[q + 8 : q + 12])}"
            out.append(line)
            q += 12
    elif t == 6:
        q = body
        while q < lend:
            need(q, 8, end)
            vt = u32(d, q)
            if vt == 1:
                out.append(f"\n\t    Router Router-ID {ip4(d[q + 4 : q + 8])}")
            elif vt == 2:
                out.append(f"\n\t    Network Designated Router {ip4(d[q + 4 : q + 8])}")
            else:
                out.append(f"\n\t    unknown VertexType ({vt})")
            q += 8
    elif t in (9, 10, 11):
        opaque = d[p + 4]
        if opaque == 4:
            if not _ri(d, body, blen, end, out, verbose):
                return lend
        elif opaque == 3:
            if not _grace(d, body, blen, end, out):
                return lend
        elif (verbose <= 1 and opaque != 1) or (opaque == 1 and verbose <= 1):
            out.append(_hex(d, body, blen, end, "\n\t    "))
    if verbose > 1:
        out.append(_hex(d, body, blen, end, "\n\t    "))
    return lend


def _ri(d: bytes, q: int, left: int, end: int, out: list[str], verbose: int) -> bool:
    while left:
        need(q, 4, end)
        if left < 4:
            out.append(f"\n\t    Remaining LS length {left} < 4")
            return False
        tt, tl = u16(d, q), u16(d, q + 2)
        q += 4
        left -= 4
        name = "Router Capabilities" if tt == 1 else "unknown"
        out.append(f"\n\t    {name} TLV ({tt}), length: {tl}, value: ")
        if tl > left:
            out.append(f"\n\t    Bogus length {tl} > remaining LS length {left}")
            return False
        need(q, tl, end)
        if tt == 1:
            if tl != 4:
                out.append(f"\n\t    Bogus length {tl} != 4")
                return False
            out.append(f"Capabilities: {bits(_RI_CAPS, u32(d, q), 'Unknown')}")
        elif verbose <= 1:
            out.append(_hex(d, q, tl, end, "\n\t      "))
        q += tl
        left -= tl
    return True


def _grace(d: bytes, q: int, left: int, end: int, out: list[str]) -> bool:
    while left > 0:
        need(q, 4, end)
        if left < 4:
            out.append(f"\n\t    Remaining LS length {left} < 4")
            return False
        tt, tl = u16(d, q), u16(d, q + 2)
        q += 4
        left -= 4
        if tl > left:
            out.append(f"\n\t    Bogus length {tl} > {left}")
            return False
        out.append(f"\n\t    {_GRACE_TLVS.get(tt, 'unknown')} TLV ({tt}), length {tl}, value: ")
        need(q, tl, end)
        if tt == 1:
            if tl != 4:
                out.append(f"\n\t    Bogus length {tl} != 4")
                return False
            out.append(f"{u32(d, q)}s")
        elif tt == 2:
            if tl != 1:
                out.append(f"\n\t    Bogus length {tl} != 1")
                return False
            out.append(f"{_GRACE_REASONS.get(d[q], 'Unknown')} ({d[q]})")
        elif tt == 3:
            if tl != 4:
                out.append(f"\n\t    Bogus length {tl} != 4")
                return False
            out.append(ip4(d[q : q + 4]))
        else:
            out.append(_hex(d, q, tl, end, "\n\t      "))
        pad = (4 - tl % 4) % 4
        q += tl + pad
        left -= tl + pad
    return True


def _v2_body(d: bytes, off: int, dataend: int, end: int, out: list[str], verbose: int) -> None:
    t = d[off + 1]
    b = off + 24
    if t == 1:
        need(b, 20, end)
        out.append(
            f"\n\tOptions [{bits(_OPTIONS, d[b + 6])}]\n\t  Hello Timer {u16(d, b + 4)}s, "
            f"Dead Timer {u32(d, b + 8)}s, Mask {ip4(d[b : b + 4])}, Priority {d[b + 7]}"
        )
        if u32(d, b + 12):
            out.append(f"\n\t  Designated Router {ip4(d[b + 12 : b + 16])}")
        if u32(d, b + 16):
            out.append(f", Backup Designated Router {ip4(d[b + 16 : b + 20])}")
        q = b + 20
        if q < dataend:
            out.append("\n\t  Neighbor List:")
        while q < dataend:
            out.append(f"\n\t    {_a(d, q, end)}")
            q += 4
    elif t == 2:
        need(b, 8, end)
        out.append(
            f"\n\tOptions [{bits(_OPTIONS, d[b + 2])}], DD Flags [{bits(_DD_FLAGS, d[b + 3])}]"
        )
        if u16(d, b):
            out.append(f", MTU: {u16(d, b)}")
        out.append(f", Sequence: 0x{u32(d, b + 4):08x}")
        q = b + 8
        while q < dataend:
            text, ln = _lshdr(d, q, end)
            out.append(text)
            if ln < 0:
                break
            q += 20
    elif t == 3:
        q = b
        while q < dataend:
            need(q, 12, end)
            lt = u32(d, q)
            out.append(
                f"\n\t  Advertising Router: {ip4(d[q + 8 : q + 12])}, "
                f"{_LSA.get(lt, 'unknown')} LSA ({lt})"
            )
            if lt in (9, 10, 11):
                out.append(
                    f", Opaque-Type: {_OPAQUE.get(d[q + 4], 'unknown')} LSA ({d[q + 4]}), "
                    f"Opaque-ID: {d[q + 5] << 16 | d[q + 6] << 8 | d[q + 7]}"
                )
            else:
                out.append(f", LSA-ID: {ip4(d[q + 4 : q + 8])}")
            q += 12
    elif t == 4:
        need(b, 4, end)
        count = u32(d, b)
        out.append(f", {count} LSA{'' if count == 1 else 's'}")
        q = b + 4
        for i in range(1, count + 1):
            out.append(f"\n\t  LSA #{i}")
            q = _lsa(d, q, end, out, verbose)
            if q < 0:
                raise Trunc
    elif t == 5:
        q = b
        while True:  # tcpdump reads headers until one is bogus or the data ends
            text, ln = _lshdr(d, q, end)
            out.append(text)
            if ln < 0:
                break
            q += 20


def _lls(d: bytes, off: int, length: int, end: int, out: list[str]) -> None:
    """RFC 4813 link-local signalling after the OSPF packet (Hello and DD with the L bit)."""
    t = d[off + 1]
    opt = d[off + 30] if t == 1 else d[off + 26] if t == 2 else 0
    if t not in (1, 2) or not opt & 0x10:
        return
    length2 = u16(d, off + 2)
    q = off + length2
    dataend = off + length
    if u16(d, off + 14) == 2:
        q += d[off + 19]
        length2 += d[off + 19]
    if length2 >= length:
        out.append("\n\t[LLS truncated]")
        return
    need(q, 4, end)
    out.append(f"\n\t  LLS: checksum: 0x{u16(d, q):04x}, length: {u16(d, q + 2)}")
    q += 4
    while q < dataend:
        need(q, 4, end)
        lt, ll = u16(d, q), u16(d, q + 2)
        out.append(f"\n\t    {_LLS_TLVS.get(lt, 'Unknown TLV')} ({lt}), length: {ll}")
        q += 4
        if lt == 1:
            if ll != 4:
                out.append(" [should be 4]")
                ll = 4
            need(q, 4, end)
            v = u32(d, q)
            out.append(f"\n\t      Options: 0x{v:08x} [{bits(_LLS_EO, v, '?')}]")
        elif lt == 2:
            if ll != 20:
                out.append(" [should be 20]")
                ll = 20
            need(q, 4, end)
            out.append(f"\n\t      Sequence number: 0x{u32(d, q):08x}")
        q += ll


def ospf2(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """``OSPFv2, Hello, length 44`` (``-v``: the fields, one group a line)."""
    need(off + 14, 2, end)
    auth = u16(d, off + 14)
    if auth == 2:
        length -= 16
        end -= 16
    need(off, 2, end)
    t = d[off + 1]
    name = _TYPES.get(t)
    a.info = _INFO.get(t, f"Unknown ({t})")
    if name is None:
        return f"OSPFv{d[off]}, unknown LS-type {t}, length {length}"
    out = [f"OSPFv{d[off]}, {name}, length {length}"]
    if not a.verbose:
        return out[0]
    try:
        need(off + 2, 2, end)
        olen = u16(d, off + 2)
        if length != olen:
            out.append(f" [len {olen}]")
        dataend = off + (olen if length > olen else length)
        out.append(f"\n\tRouter-ID {_a(d, off + 4, end)}")
        area = _a(d, off + 8, end)
        out.append(f", Area {area}" if area != "0.0.0.0" else ", Backbone Area")
        need(off + 16, 8, end)
        out.append(f", Authentication Type: {_AUTH.get(auth, 'unknown')} ({auth})")
        if auth == 1:
            pw = d[off + 16 : off + 24].split(b"\0", 1)[0]
            out.append(
                "\n\tSimple text password: "
                + "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in pw)
            )
        elif auth == 2:
            out.append(
                f"\n\tKey-ID: {d[off + 18]}, Auth-Length: {d[off + 19]}, "
                f"Crypto Sequence Number: 0x{u32(d, off + 20):08x}"
            )
        elif auth != 0:
            return "".join(out)
        if d[off] == 2:
            _v2_body(d, off, dataend, end, out, a.verbose)
            if length > olen:
                _lls(d, off, length, end, out)
        else:
            out.append(f" ospf [version {d[off]}]")
    except Trunc:
        out.append(" [|ospf2]")
    return "".join(out)


# --------------------------------------------------------------------------- OSPFv3

_OPTIONS6: Final = (
    (0x01, "V6"),
    (0x02, "External"),
    (0x04, "Deprecated"),
    (0x08, "NSSA"),
    (0x10, "Router"),
    (0x20, "Demand Circuit"),
    (0x100, "AFs Support"),
    (0x200, "LLS"),
    (0x400, "Authentication Trailer"),
)
_RLA_FLAGS6: Final = (
    (0x01, "ABR"),
    (0x02, "External"),
    (0x04, "Virtual-Link Endpoint"),
    (0x08, "Deprecated"),
    (0x10, "NSSA Translator"),
)
_ASLA_FLAGS6: Final = (
    (0x80000000, "External Type 2"),
    (0x02000000, "Forwarding"),
    (0x01000000, "Tag"),
)
_LSA6: Final = {
    1: "Router",
    2: "Network",
    3: "Inter-Area Prefix",
    4: "Inter-Area Router",
    5: "External",
    6: "Deprecated",
    7: "NSSA",
    8: "Link",
    9: "Intra-Area Prefix",
    10: "Intra-Area TE",
    11: "Grace",
    12: "Router Information",
    13: "Inter-AS-TE",
    14: "Layer 1 VPN",
}
_SCOPE6: Final = {0x0000: "Link Local", 0x2000: "Area Local", 0x4000: "Domain Wide"}
_DD_FLAGS6: Final = ((0x04, "Init"), (0x02, "More"), (0x01, "Master"), (0x10, "IPv6 MTU"))
_PREFIX_OPTS6: Final = (
    (0x01, "No Unicast"),
    (0x02, "Local address"),
    (0x04, "Deprecated"),
    (0x08, "Propagate"),
    (0x10, "Down"),
    (0x20, "N-bit"),
)


class _Stop(Exception):
    """OSPFv3: a printer gave up (tcpdump's ``return (1)``): `` [|ospf3]``."""


def _ls_type6(d: bytes, t: int, p: int, end: int) -> str:
    return (
        f"\n\t    {_LSA6.get(t & 0x1FFF, 'Unknown')} LSA ({t & 0x1FFF}), "
        f"{_SCOPE6.get(t & 0x6000, 'Unknown')} Scope{', transitive' if t & 0x8000 else ''}, "
        f"LSA-ID {_a(d, p, end)}"
    )


def _lshdr6(d: bytes, p: int, dataend: int, end: int) -> str:
    if p + 20 > dataend:
        raise _Stop
    need(p, 20, end)
    return (
        f"\n\t  Advertising Router {ip4(d[p + 8 : p + 12])}, seq 0x{u32(d, p + 12):08x}, "
        f"age {u16(d, p)}s, length {u16(d, p + 18) - 20}" + _ls_type6(d, u16(d, p + 2), p + 4, end)
    )


def _prefix6(d: bytes, q: int, left: int, end: int, out: list[str]) -> int:
    if left < 4:
        raise _Stop
    left -= 4
    need(q, 4, end)
    plen = d[q]
    words = (plen + 31) // 32
    if words * 4 > 16:
        out.append(f" bogus prefixlen /{plen}")
        raise _Stop
    if left < words * 4:
        raise _Stop
    need(q + 4, words * 4, end)
    addr = ntop6(d[q + 4 : q + 4 + words * 4] + bytes(16 - words * 4))
    out.append(f"\n\t\t{addr}/{plen}")
    if d[q + 1]:
        out.append(f", Options [{bits(_PREFIX_OPTS6, d[q + 1])}]")
    out.append(f", metric {u16(d, q + 2)}")
    return 4 + words * 4


def _lsa6(d: bytes, p: int, dataend: int, end: int, out: list[str]) -> None:
    out.append(_lshdr6(d, p, dataend, end))
    ln = u16(d, p + 18)
    if ln < 20 or p + ln > dataend:
        raise _Stop
    left = ln - 20
    q = p + 20
    t = u16(d, p + 2)
    if t == 0x2001:
        if left < 4:
            raise _Stop
        left -= 4
        need(q, 4, end)
        out.append(
            f"\n\t      Options [{bits(_OPTIONS6, u32(d, q))}], "
            f"RLA-Flags [{bits(_RLA_FLAGS6, d[q])}]"
        )
        q += 4
        while left:
            if left < 16:
                raise _Stop
            left -= 16
            need(q, 16, end)
            kind = d[q]
            ids = (
                f"{ip4(d[q + 12 : q + 16])}\n\t      Neighbor Interface-ID "
                f"{ip4(d[q + 8 : q + 12])}, Interface {ip4(d[q + 4 : q + 8])}"
            )
            if kind == 4:
                out.append(f"\n\t      Virtual Link: Neighbor Router-ID {ids}")
            elif kind == 1:
                out.append(f"\n\t      Neighbor Router-ID {ids}")
            elif kind == 2:
                out.append(f"\n\t      Neighbor Network-ID {ids}")
            else:
                out.append(f"\n\t      Unknown Router Links Type 0x{kind:02x}")
                return
            out.append(f", metric {u16(d, q + 2)}")
            q += 16
    elif t == 0x2002:
        if left < 4:
            raise _Stop
        left -= 4
        need(q, 4, end)
        out.append(f"\n\t      Options [{bits(_OPTIONS6, u32(d, q))}]\n\t      Connected Routers:")
        q += 4
        while left:
            if left < 4:
                raise _Stop
            left -= 4
            out.append(f"\n\t\t{_a(d, q, end)}")
            q += 4
    elif t == 0x2003:
        if left < 4:
            raise _Stop
        left -= 4
        need(q, 4, end)
        out.append(f", metric {u32(d, q) & 0xFFFFFF}")
        q += 4
        while left:
            n = _prefix6(d, q, left, end, out)
            left -= n
            q += n
    elif t == 0x4005:
        if left < 4:
            raise _Stop
        left -= 4
        need(q, 4, end)
        f32 = u32(d, q)
        out.append(f"\n\t     Flags [{bits(_ASLA_FLAGS6, f32)}] metric {f32 & 0xFFFFFF}")
        pfx = q + 4
        n = _prefix6(d, pfx, left, end, out)
        left -= n
        q = pfx + n
        if f32 & 0x02000000:
            if left < 16:
                raise _Stop
            left -= 16
            need(q, 16, end)
            out.append(f" forward {ntop6(d[q : q + 16])}")
            q += 16
        if f32 & 0x01000000:
            if left < 4:
                raise _Stop
            left -= 4
            out.append(f" tag {_a(d, q, end)}")
            q += 4
        if d[pfx + 2]:
            if left < 4:
                raise _Stop
            left -= 4
            out.append(f" RefLSID: {_a(d, q, end)}")
    elif t == 8:
        if left < 4:
            raise _Stop
        left -= 4
        need(q, 4, end)
        out.append(f"\n\t      Options [{bits(_OPTIONS6, u32(d, q))}]")
        if left < 20:
            raise _Stop
        left -= 20
        need(q + 4, 20, end)
        prefixes = u32(d, q + 20)
        out.append(
            f"\n\t      Priority {d[q]}, Link-local address {ntop6(d[q + 4 : q + 20])}, "
            f"Prefixes {prefixes}:"
        )
        q += 24
        for _ in range(min(prefixes, 1 << 16)):
            n = _prefix6(d, q, left, end, out)
            left -= n
            q += n
    elif t == 0x2009:
        if left < 4:
            raise _Stop
        left -= 4
        need(q + 8, 4, end)
        out.append(_ls_type6(d, u16(d, q + 2), q + 4, end))
        if left < 2:
            raise _Stop
        left -= 2
        prefixes = u16(d, q)
        out.append(f"\n\t      Prefixes {prefixes}:")
        q += 12
        for _ in range(prefixes):
            n = _prefix6(d, q, left, end, out)
            left -= n
            q += n
    elif t == 0x000B:
        if not _grace(d, q, left, end, out):
            raise _Stop
    else:
        need(q, 0, end)
        out.append(_hex(d, q, left, end, "\n\t      "))


def _v3_body(d: bytes, off: int, dataend: int, end: int, out: list[str], verbose: int) -> None:
    t = d[off + 1]
    b = off + 16
    if t == 1:
        need(b, 20, end)
        out.append(
            f"\n\tOptions [{bits(_OPTIONS6, u32(d, b + 4))}]\n\t  Hello Timer {u16(d, b + 8)}s, "
            f"Dead Timer {u16(d, b + 10)}s, Interface-ID {ip4(d[b : b + 4])}, "
            f"Priority {d[b + 4]}"
        )
        if u32(d, b + 12):
            out.append(f"\n\t  Designated Router {ip4(d[b + 12 : b + 16])}")
        if u32(d, b + 16):
            out.append(f", Backup Designated Router {ip4(d[b + 16 : b + 20])}")
        if verbose > 1:
            out.append("\n\t  Neighbor List:")
            q = b + 20
            while q < dataend:
                out.append(f"\n\t    {_a(d, q, end)}")
                q += 4
    elif t == 2:
        need(b, 12, end)
        out.append(
            f"\n\tOptions [{bits(_OPTIONS6, u32(d, b))}], DD Flags "
            f"[{bits(_DD_FLAGS6, d[b + 7])}], MTU {u16(d, b + 4)}, "
            f"DD-Sequence 0x{u32(d, b + 8):08x}"
        )
        if verbose > 1:
            q = b + 12
            while q < dataend:
                out.append(_lshdr6(d, q, dataend, end))
                q += 20
    elif t == 3 and verbose > 1:
        q = b
        while q < dataend:
            need(q, 12, end)
            out.append(
                f"\n\t  Advertising Router {ip4(d[q + 8 : q + 12])}"
                + _ls_type6(d, u16(d, q + 2), q + 4, end)
            )
            q += 12
    elif t == 4 and verbose > 1:
        need(b, 4, end)
        count = u32(d, b)
        q = b + 4
        while q < dataend and count:
            count -= 1
            _lsa6(d, q, dataend, end, out)
            q += u16(d, q + 18)
    elif t == 5 and verbose > 1:
        q = b
        while q < dataend:
            out.append(_lshdr6(d, q, dataend, end))
            q += 20


def _trailer6(d: bytes, off: int, dataend: int, left: int, end: int, out: list[str]) -> None:
    """LLS (Hello and DD with the L bit) and the authentication trailer (RFC 6506)."""
    t = d[off + 1]
    lls = False
    if t == 1:
        lls = bool(u32(d, off + 20) & 0x200)
    elif t == 2:
        lls = bool(u32(d, off + 16) & 0x200)
    q = dataend
    if lls and left:
        if left < 4:
            raise _Stop
        need(q, 4, end)
        dl = u16(d, q + 2)
        out.append(f"\n\tLLS Checksum 0x{u16(d, q):04x}, Data Length {dl}")
        if dl < 4 or dl > left:
            raise _Stop
        need(q + 4, dl - 4, end)
        q += dl
        left -= dl
    if left == 0:
        return
    if left < 16:
        raise _Stop
    need(q, 4, end)
    at = u16(d, q)
    alen = u16(d, q + 2)
    out.append(
        "\n\tAuthentication Type "
        + ("HMAC" if at == 1 else f"unknown (0x{at:04x})")
        + f", Length {alen}"
    )
    if alen < 16 or alen > left:
        raise _Stop
    need(q + 6, 10, end)
    out.append(f", SAID {u16(d, q + 6)}, CSN 0x{u32(d, q + 8):08x}:{u32(d, q + 12):08x}")
    need(q + 16, alen - 16, end)


def ospf3(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """``OSPFv3, Hello, length 36`` (``-v``: the fields; ``-vv``: the LSAs too)."""
    need(off, 2, end)
    t = d[off + 1]
    name = _TYPES.get(t)
    a.info = _INFO.get(t, f"Unknown ({t})")
    if name is None:
        return f"OSPFv{d[off]}, unknown packet type ({t}), length {length}"
    out = [f"OSPFv{d[off]}, {name}, length {length}"]
    if not a.verbose:
        return out[0]
    try:
        need(off + 2, 2, end)
        dlen = u16(d, off + 2)
        if dlen > length:
            out.append(f" [len {dlen}]")
            return "".join(out)
        dataend = off + dlen
        out.append(f"\n\tRouter-ID {_a(d, off + 4, end)}")
        area = _a(d, off + 8, end)
        out.append(f", Area {area}" if area != "0.0.0.0" else ", Backbone Area")
        need(off + 14, 1, end)
        if d[off + 14]:
            out.append(f", Instance {d[off + 14]}")
        if d[off] == 3:
            _v3_body(d, off, dataend, end, out, a.verbose)
            _trailer6(d, off, dataend, length - dlen, end, out)
    except _Stop:
        out.append(" [|ospf3]")
    except Trunc:
        out.append(" [|ospf3]")
    return "".join(out)


class _Ospf(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        hd = head_noport(ctx)
        try:
            if len(ctx[5]) == 16:
                return hd + ospf3(d, off, end, clen, a)
            return hd + ospf2(d, off, end, clen, a)
        except Trunc:
            a.bad = True
            return f"{hd} [|ospf{3 if len(ctx[5]) == 16 else 2}]"

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        out.append("OSPF")


bind(IP_PROTOS, (89,), _Ospf("OSPF"))
