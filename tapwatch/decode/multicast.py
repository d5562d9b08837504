"""Multicast routing: IGMP v1/v2/v3 (IP protocol 2) and PIM (IP protocol 103), as tcpdump 4.99
prints them.

IGMP is one line (``igmp v3 report, 2 group record(s)``; ``-v`` adds the group
records, ``-vv`` their sources, and a checksum only when it is wrong).  PIMv2
without ``-v`` is ``PIMv2, Hello, length 56``; with ``-v`` the checksum verdict and
the message: hello options, join/prune groups and sources, the packet a register
carries, bootstrap and candidate-RP contents, asserts.
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
    head_noport,
    ip4,
    ip_text,
    need,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.verbose import cksum, hexdump, pseudo_sum

_V3_RECORDS: Final = {1: "is_in", 2: "is_ex", 3: "to_in", 4: "to_ex", 5: "allow", 6: "block"}
_INFO: Final = {
    0x11: "Membership Query",
    0x12: "Membership Report",
    0x16: "Membership Report",
    0x17: "Leave Group",
    0x22: "Membership Report",
}


def relts(secs: int) -> str:
    """tcpdump's ``unsigned_relts_print``: ``1h5m3s``."""
    if secs == 0:
        return "0s"
    out = ""
    for n, unit in ((31536000, "y"), (604800, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if secs >= n:
            out += f"{secs // n}{unit}"
            secs -= secs // n * n
    return out


def _v3_report(d: bytes, p: int, end: int, length: int, verbose: int) -> str:
    if length < 16 or length & 3:
        return f" [invalid len {length}]"
    need(p + 6, 2, end)
    groups = u16(d, p + 6)
    out = f", {groups} group record(s)"
    if not verbose:
        return out
    g = 8
    for _ in range(groups):
        if length < g + 8:
            return out + " [invalid number of groups]"
        need(p + g, 8, end)
        kind = d[p + g]
        out += f" [gaddr {ip4(d[p + g + 4 : p + g + 8])} "
        out += _V3_RECORDS.get(kind, f" [v3-report-#{kind}]")
        n = u16(d, p + g + 2)
        if length < g + 8 + (n << 2):
            return out + f" [invalid number of sources {n}]"
        if verbose == 1:
            out += f", {n} source(s)"
        else:
            out += " {"
            for j in range(n):
                q = p + g + 8 + (j << 2)
                need(q, 4, end)
                out += " " + ip4(d[q : q + 4])
            out += " }"
        g += 8 + (n << 2)
        out += "]"
    return out


def _v3_query(d: bytes, p: int, end: int, length: int, verbose: int) -> str:
    out = " v3"
    if length < 12 or length & 3:
        return out + f" [invalid len {length}]"
    need(p + 1, 1, end)
    mrc = d[p + 1]
    mrt = mrc if mrc < 128 else ((mrc & 0x0F) | 0x10) << (((mrc & 0x70) >> 4) + 3)
    if mrc != 100:
        out += " [max resp time " + (f"{mrt * 0.1:.1f}s" if mrt < 600 else relts(mrt // 10)) + "]"
    need(p + 4, 4, end)
    if u32(d, p + 4) == 0:
        return out
    out += f" [gaddr {ip4(d[p + 4 : p + 8])}"
    need(p + 10, 2, end)
    n = u16(d, p + 10)
    if n > 0:
        if length < 12 + (n << 2):
            out += " [invalid number of sources]"
        elif verbose > 1:
            out += " {"
            for i in range(n):
                q = p + 12 + (i << 2)
                need(q, 4, end)
                out += " " + ip4(d[q : q + 4])
            out += " }"
        else:
            out += f", {n} source(s)"
    return out + "]"


def _mtrace(d: bytes, p: int, end: int, length: int, name: str) -> str:
    if length < 8 + 16:
        return f" [invalid len {length}]"
    need(p + 8, 16, end)
    out = (
        f"{name} {d[p + 21] << 16 | d[p + 22] << 8 | d[p + 23]}: {ip4(d[p + 8 : p + 12])} to "
        f"{ip4(d[p + 12 : p + 16])} reply-to {ip4(d[p + 16 : p + 20])}"
    )
    if d[p + 16] & 0xF0 == 0xE0:
        out += f" with-ttl {d[p + 20]}"
    return out


def igmp(d: bytes, p: int, end: int, length: int, a: Acc) -> str:
    need(p, 1, end)
    t = d[p]
    a.info = _INFO.get(t, f"Unknown Type:0x{t:02x}")
    if t == 0x11:
        out = "igmp query"
        if length >= 12:
            out += _v3_query(d, p, end, length, a.verbose)
        else:
            need(p + 1, 1, end)
            if d[p + 1]:
                out += " v2"
                if d[p + 1] != 100:
                    out += f" [max resp time {d[p + 1]}]"
            else:
                out += " v1"
            need(p + 4, 4, end)
            if u32(d, p + 4):
                out += f" [gaddr {ip4(d[p + 4 : p + 8])}]"
            if length != 8:
                out += f" [len {length}]"
    elif t in (0x12, 0x16, 0x17):
        need(p + 4, 4, end)
        word = {0x12: "v1 report", 0x16: "v2 report", 0x17: "leave"}[t]
        out = f"igmp {word} {ip4(d[p + 4 : p + 8])}"
        if t == 0x12 and length != 8:
            out += f" [len {length}]"
    elif t == 0x22:
        out = "igmp v3 report" + _v3_report(d, p, end, length, a.verbose)
    elif t == 0x1E:
        out = _mtrace(d, p, end, length, "mresp")
    elif t == 0x1F:
        out = _mtrace(d, p, end, length, "mtrace")
    elif t == 0x13:
        out = "igmp dvmrp" + (f" [len {length}]" if length < 8 else "")
    elif t == 0x14:
        out = "igmp pimv1"
    else:
        out = f"igmp-{t}"
    if a.verbose and length >= 4 and p + length <= end and cksum(d[p : p + length]):
        out += f" bad igmp cksum {u16(d, p + 2):x}!"
    return out


class _Igmp(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        hd = head_noport(ctx)
        if len(ctx[5]) == 16:
            a.bad = True
            return f"{hd}[IGMP requires IPv4] (invalid)"
        try:
            return hd + igmp(d, off, end, clen, a)
        except Trunc:
            a.bad = True
            return f"{hd} [|igmp]"

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        out.append("IGMP")


# --------------------------------------------------------------------------- PIM

_PIM_TYPES: Final = {
    0: "Hello",
    1: "Register",
    2: "Register Stop",
    3: "Join / Prune",
    4: "Bootstrap",
    5: "Assert",
    6: "Graft",
    7: "Graft Acknowledgement",
    8: "Candidate RP Advertisement",
    9: "Prune Refresh",
    10: "DF Election",
    11: "ECMP Redirect",
}
_HELLO_OPTS: Final = {
    1: "Hold Time",
    2: "LAN Prune Delay",
    18: "DR Priority (Old)",
    19: "DR Priority",
    20: "Generation ID",
    21: "State Refresh Capability",
    22: "Bi-Directional Capability",
    24: "Address List",
    65001: "Address List (Old)",
}
_DF: Final = {1: "Offer", 2: "Winner", 3: "Backoff", 4: "Pass"}


class _Invalid(Exception):
    """PIM: tcpdump printed its complaint and `` (invalid)``; the message ends there."""


def _addr(d: bytes, p: int, left: int, end: int, kind: int, alen: int) -> tuple[str, int]:
    """An encoded address (0 unicast, 1 group, 2 source): its text and size; Trunc when
    tcpdump's ``pimv2_addr_print`` fails."""
    hdr = 0
    if alen == 0:
        if left < 2:
            raise Trunc
        need(p, 2, end)
        fam = d[p]
        if fam == 1:
            alen = 4
        elif fam == 2:
            alen = 16
        else:
            raise Trunc
        if d[p + 1]:
            raise Trunc
        hdr = 2
    elif alen not in (4, 16):
        raise Trunc
    p += hdr
    left -= hdr
    if kind == 0:
        if left < alen:
            raise Trunc
        need(p, alen, end)
        text = ip4(d[p : p + 4]) if alen == 4 else ntop6(d[p : p + 16])
        return text, hdr + alen
    if left < alen + 2:
        raise Trunc
    need(p, alen + 2, end)
    text = ip4(d[p + 2 : p + 6]) if alen == 4 else ntop6(d[p + 2 : p + 18])
    if d[p + 1] != alen * 8:
        text += f"/{d[p + 1]}"
    flags = d[p]
    if flags:
        if kind == 1:
            text += f"(0x{flags:02x})"
        else:
            text += (
                "("
                + ("S" if flags & 4 else "")
                + ("W" if flags & 2 else "")
                + ("R" if flags & 1 else "")
                + (f"+0x{flags & 0xF8:02x}" if flags & 0xF8 else "")
                + ")"
            )
    return text, hdr + 2 + alen


def _pim_cksum(d: bytes, p: int, n: int, end: int, ctx: Ctx) -> str:
    if p + n > end:
        return "(unverified)"
    seg = d[p : p + n]
    c = pseudo_sum(ctx[5], ctx[6], 103, seg) if len(ctx[5]) == 16 else cksum(seg)
    return "(incorrect)" if c else "(correct)"


def _pimv2(d: bytes, p: int, end: int, length: int, a: Acc, ctx: Ctx, out: list[str]) -> None:
    if length < 2:
        out.append(f"[length {length} < 2] (invalid)")
        return
    t = d[p] & 0x0F
    need(p + 1, 1, end)
    alen = d[p + 1] & 0x0F
    if alen:
        out.append(", RFC2117-encoding")
    if length < 4:
        out.append(f"[length {length} < 4] (invalid)")
        return
    need(p + 2, 2, end)
    ck = u16(d, p + 2)
    out.append(f", cksum 0x{ck:04x} ")
    if ck == 0:
        out.append("(unverified)")
    elif t == 1:
        verdict = _pim_cksum(d, p, 8, end, ctx)
        if verdict == "(incorrect)":
            verdict = _pim_cksum(d, p, length, end, ctx)
        out.append(verdict)
    else:
        out.append(_pim_cksum(d, p, length, end, ctx))
    rsv = d[p + 1]
    p += 4
    left = length - 4
    if t == 0:
        while left > 0:
            if left < 4:
                raise Trunc
            need(p, 4, end)
            ot, ol = u16(d, p), u16(d, p + 2)
            out.append(
                f"\n\t  {_HELLO_OPTS.get(ot, 'Unknown')} Option ({ot}), length {ol}, Value: "
            )
            p += 4
            left -= 4
            if left < ol:
                raise Trunc
            need(p, ol, end)
            if ot == 1:
                if ol != 2:
                    raise _Invalid(f"[option length {ol} != 2]")
                out.append(relts(u16(d, p)))
            elif ot == 2:
                if ol != 4:
                    raise _Invalid(f"[option length {ol} != 4]")
                delay = u16(d, p)
                out.append(
                    f"\n\t    T-bit={1 if delay & 0x8000 else 0}, LAN delay {delay & 0x7FFF}ms, "
                    f"Override interval {u16(d, p + 2)}ms"
                )
            elif ot in (18, 19):
                if ol == 0:
                    out.append("Bi-Directional Capability (Old)")
                elif ol == 4:
                    out.append(str(u32(d, p)))
                else:
                    raise _Invalid(f"[option length {ol} != 4]")
            elif ot == 20:
                if ol != 4:
                    raise _Invalid(f"[option length {ol} != 4]")
                out.append(f"0x{u32(d, p):08x}")
            elif ot == 21:
                if ol != 4:
                    raise _Invalid(f"[option length {ol} != 4]")
                out.append(f"v{d[p]}")
                if d[p + 1]:
                    out.append(f", interval {relts(d[p + 1])}")
                if u16(d, p + 2):
                    out.append(f" ?0x{u16(d, p + 2):04x}?")
            elif ot == 22:
                pass
            elif ot in (24, 65001):
                if a.verbose > 1:
                    q = p
                    qleft = left
                    while q < p + ol:
                        out.append("\n\t    ")
                        text, n = _addr(d, q, qleft, end, 0, alen)
                        out.append(text)
                        q += n
                        qleft -= n
            elif a.verbose <= 1:
                out.append(hexdump(d[p : min(p + ol, end)], "\n\t    "))
            if a.verbose > 1:
                out.append(hexdump(d[p : min(p + ol, end)], "\n\t    "))
            p += ol
            left -= ol
    elif t == 1:
        if left < 4:
            raise Trunc
        need(p, 4, end)
        flags = u32(d, p)
        word = {0x80000000: "Border", 0x40000000: "Null"}.get(flags, "none")
        out.append(f", Flags [ {word} ]\n\t")
        p += 4
        left -= 4
        if left == 0:
            raise Trunc
        need(p, 1, end)
        v = d[p] >> 4
        if v == 0:
            need(p + 12, 8, end)
            out.append(f"IP-Null-header {ip4(d[p + 12 : p + 16])} > {ip4(d[p + 16 : p + 20])}")
        elif v in (4, 6):
            # the walk goes into no register's packet: the text walks it from here (counting
            # on from the frame's walk), and goes no further in where that walk would not --
            # registers nested in registers recursed until the interpreter's stack ran out
            if not a.w.full_before(p):
                out.append(ip_text(d, p, min(end, p + left), a))
        else:
            out.append(f"IP ver {v}")
    elif t == 2:
        out.append(" group=")
        text, n = _addr(d, p, left, end, 1, alen)
        out.append(text)
        out.append(" source=")
        text, _n = _addr(d, p + n, left - n, end, 0, alen)
        out.append(text)
    elif t in (3, 6, 7):
        if t != 7:
            out.append(", upstream-neighbor: ")
            text, n = _addr(d, p, left, end, 0, alen)
            out.append(text)
            p += n
            left -= n
        if left < 4:
            raise Trunc
        need(p, 4, end)
        groups = d[p + 1]
        hold = u16(d, p + 2)
        out.append(f"\n\t  {groups} group(s)")
        if t != 7:
            out.append(", holdtime: " + ("infinite" if hold == 0xFFFF else relts(hold)))
        p += 4
        left -= 4
        for i in range(groups):
            out.append(f"\n\t    group #{i + 1}: ")
            text, n = _addr(d, p, left, end, 1, alen)
            out.append(text)
            p += n
            left -= n
            if left < 4:
                raise Trunc
            need(p, 4, end)
            nj, np_ = u16(d, p), u16(d, p + 2)
            out.append(f", joined sources: {nj}, pruned sources: {np_}")
            p += 4
            left -= 4
            for word, count in (("joined", nj), ("pruned", np_)):
                for j in range(count):
                    out.append(f"\n\t      {word} source #{j + 1}: ")
                    text, n = _addr(d, p, left, end, 2, alen)
                    out.append(text)
                    p += n
                    left -= n
    elif t == 4:
        if left < 2:
            raise Trunc
        need(p, 2, end)
        out.append(f" tag={u16(d, p):x}")
        p += 2
        left -= 2
        if left < 1:
            raise Trunc
        need(p, 1, end)
        out.append(f" hashmlen={d[p]}")
        if left < 2:
            raise Trunc
        need(p + 2, 1, end)
        out.append(f" BSRprio={d[p + 1]}")
        p += 2
        left -= 2
        out.append(" BSR=")
        text, n = _addr(d, p, left, end, 0, alen)
        out.append(text)
        p += n
        left -= n
        i = 0
        while left > 0:
            out.append(f" (group{i}: ")
            text, n = _addr(d, p, left, end, 1, alen)
            out.append(text)
            p += n
            left -= n
            if left < 1:
                raise Trunc
            need(p, 1, end)
            out.append(f" RPcnt={d[p]}")
            if left < 2:
                raise Trunc
            need(p + 1, 1, end)
            frp = d[p + 1]
            out.append(f" FRPcnt={frp}")
            if left < 4:
                raise Trunc
            p += 4
            left -= 4
            j = 0
            while j < frp and left > 0:
                out.append(f" RP{j}=")
                text, n = _addr(d, p, left, end, 0, alen)
                out.append(text)
                p += n
                left -= n
                if left < 2:
                    raise Trunc
                need(p, 2, end)
                out.append(f",holdtime={relts(u16(d, p))}")
                if left < 3:
                    raise Trunc
                need(p + 2, 1, end)
                out.append(f",prio={d[p + 2]}")
                if left < 4:
                    raise Trunc
                p += 4
                left -= 4
                j += 1
            out.append(")")
            i += 1
    elif t == 5:
        out.append(" group=")
        text, n = _addr(d, p, left, end, 1, alen)
        out.append(text)
        p += n
        left -= n
        out.append(" src=")
        text, n = _addr(d, p, left, end, 0, alen)
        out.append(text)
        p += n
        left -= n
        if left < 8:
            raise Trunc
        need(p, 8, end)
        if d[p] & 0x80:
            out.append(" RPT")
        out.append(f" pref={u32(d, p) & 0x7FFFFFFF} metric={u32(d, p + 4)}")
    elif t == 8:
        if left < 1:
            raise Trunc
        need(p, 1, end)
        count = d[p]
        out.append(f" prefix-cnt={count}")
        if left < 2:
            raise Trunc
        need(p + 1, 1, end)
        out.append(f" prio={d[p + 1]}")
        if left < 4:
            raise Trunc
        need(p + 2, 2, end)
        out.append(f" holdtime={relts(u16(d, p + 2))}")
        p += 4
        left -= 4
        out.append(" RP=")
        text, n = _addr(d, p, left, end, 0, alen)
        out.append(text)
        p += n
        left -= n
        i = 0
        while i < count and left > 0:
            out.append(f" Group{i}=")
            text, n = _addr(d, p, left, end, 1, alen)
            out.append(text)
            p += n
            left -= n
            i += 1
    elif t == 9:
        out.append(" src=")
        text, n = _addr(d, p, left, end, 0, alen)
        out.append(text)
        p += n
        left -= n
        out.append(" grp=")
        text, n = _addr(d, p, left, end, 1, alen)
        out.append(text)
        p += n
        left -= n
        out.append(" forwarder=")
        text, n = _addr(d, p, left, end, 0, alen)
        out.append(text)
        p += n
        left -= n
        if left < 2:
            raise Trunc
        need(p, 2, end)
        out.append(f" TUNR {relts(u16(d, p))}")
    elif t == 10:
        sub = rsv >> 4
        out.append(f"\n\t  {_DF.get(sub, 'Unknown')},")
        out.append(" rpa=")
        text, n = _addr(d, p, left, end, 0, alen)
        out.append(text)
        p += n
        left -= n
        need(p, 8, end)
        out.append(f" sender pref={u32(d, p)} sender metric={u32(d, p + 4)}")
        p += 8
        left -= 8
        if sub in (3, 4):
            word = "offer" if sub == 3 else "new winner"
            out.append(f"\n\t  {word} addr=")
            text, n = _addr(d, p, left, end, 0, alen)
            out.append(text)
            p += n
            need(p, 8, end)
            out.append(f" {word} pref={u32(d, p)} {word} metric={u32(d, p + 4)}")
            p += 8
            if sub == 3:
                need(p, 2, end)
                out.append(f" interval {u16(d, p)}ms")
    else:
        out.append(f" [type {t}]")


class _Pim(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        hd = head_noport(ctx)
        if end - off < 1:
            a.bad = True
            return f"{hd} [|pim]"
        ver = d[off] >> 4
        t = d[off] & 0x0F
        name = _PIM_TYPES.get(t, "Unknown Type")
        a.info = name
        if ver != 2:
            return f"{hd}PIMv{ver}, length {clen}"
        if not a.verbose:
            return f"{hd}PIMv2, {name}, length {clen}"
        out = [f"{hd}PIMv2, length {clen}\n\t{name}"]
        try:
            _pimv2(d, off, end, clen, a, ctx, out)
        except _Invalid as exc:
            out.append(f"{exc.args[0]} (invalid)")
        except Trunc:
            a.bad = True
            out.append(" [|pimv2]")
        return "".join(out)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        out.append("PIM")


bind(IP_PROTOS, (2,), _Igmp("IGMP"))
bind(IP_PROTOS, (103,), _Pim("PIM"))
