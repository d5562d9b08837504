"""ICMP and ICMPv6, as tcpdump names their types (errors quote the packet they answer).

ICMP identifiers and sequence numbers are decimal everywhere, in the tcpdump text
and in the info column alike.
"""

from __future__ import annotations

from socket import inet_ntoa

from tapwatch.decode.core import (
    IP_PROTOS,
    S_HH,
    S_I,
    Acc,
    Ctx,
    IpHandler,
    bind,
    head_noport,
    ntop6,
)
from tapwatch.decode.names import (
    ICMP6_NAMES,
    ICMP6_UNREACH,
    ICMP_SIMPLE,
    ICMP_UNREACH,
    MAX_EXT_HEADERS,
)


def _icmp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    a.layers.append("ICMP")
    head = f"{head_noport(ctx)}ICMP "
    avail = end - off
    if avail < 4:
        a.bad = True
        return head + "[|icmp]"
    typ = d[off]
    code = d[off + 1]
    if typ == 0 or typ == 8:
        what = "echo reply" if typ == 0 else "echo request"
        if avail < 8:
            a.bad = True
            a.info = f"Echo (ping) {what[5:]}"
            return f"{head}{what} [|icmp]"
        ident = d[off + 4] << 8 | d[off + 5]
        seq = d[off + 6] << 8 | d[off + 7]
        if not a.lean:
            a.info = f"Echo (ping) {what[5:]} id={ident}, seq={seq}"
        return f"{head}{what}, id {ident}, seq {seq}, length {clen}"
    if typ == 3 or typ == 5 or typ == 11 or typ == 12:
        return head + _icmp_error(d, off, end, typ, code, clen, a)
    if typ == 13 or typ == 14:
        if avail < 8:
            a.bad = True
            return head + "time stamp [|icmp]"
        ident, seq = S_HH.unpack_from(d, off + 4)
        what = "query" if typ == 13 else "reply"
        a.info = f"Timestamp {'request' if typ == 13 else 'reply'} id={ident}, seq={seq}"
        return f"{head}time stamp {what} id {ident} seq {seq}, length {clen}"
    if typ == 18:
        if avail < 12:
            a.bad = True
            return head + "address mask reply [|icmp]"
        mask = S_I.unpack_from(d, off + 8)[0]
        a.info = "Address mask reply"
        return f"{head}address mask is 0x{mask:08x}, length {clen}"
    simple = ICMP_SIMPLE.get(typ)
    if simple is not None:
        a.info = simple[1]
        return f"{head}{simple[0]}, length {clen}"
    a.info = f"Unknown ICMP type {typ} code {code}"
    return f"{head}type-#{typ}, length {clen}"


def _icmp_error(d: bytes, off: int, end: int, typ: int, code: int, clen: int, a: Acc) -> str:
    """Unreachable / redirect / time exceeded / parameter problem, quoting the inner header."""
    if typ == 11:
        a.info = ("Time-to-live exceeded (Time to live exceeded in transit)" if code == 0 else
                  "Time-to-live exceeded (Fragment reassembly time exceeded)")
        what = {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(
            code, f"time exceeded-#{code}")
        return f"{what}, length {clen}"
    if typ == 12:
        a.info = "Parameter problem"
        if end - off < 5:
            a.bad = True
            return "parameter problem [|icmp]"
        return f"parameter problem - octet {d[off + 4]}, length {clen}"
    # 3 and 5 name the inner destination: need the quoted IP header.
    inner = off + 8
    if end - inner < 20 or d[inner] >> 4 != 4 or (d[inner] & 15) < 5:
        a.bad = True
        a.info = "Destination unreachable" if typ == 3 else "Redirect"
        return ("unreachable" if typ == 3 else "redirect") + " [|icmp]"
    idst = inet_ntoa(d[inner + 16:inner + 20])
    if typ == 5:
        gw = inet_ntoa(d[off + 4:off + 8])
        kind = "host" if code & 1 else "net"
        tos = "-tos" if code >= 2 else ""
        a.info = f"Redirect (Redirect for {'host' if code & 1 else 'network'})"
        return f"redirect{tos} {idst} to {kind} {gw}, length {clen}"
    td, ws = ICMP_UNREACH.get(code, ("{} unreachable - #" + str(code), f"code {code}"))
    a.info = f"Destination unreachable ({ws})"
    if code == 2:
        return td.format(idst, d[inner + 9]) + f", length {clen}"
    if code == 3:
        ihl = (d[inner] & 15) << 2
        iproto = d[inner + 9]
        tp = inner + ihl
        if end - tp < 4:
            a.bad = True
            return f"{idst} port unreachable [|icmp]"
        dport = d[tp + 2] << 8 | d[tp + 3]
        pname = {6: "tcp", 17: "udp"}.get(iproto)
        port = f"{pname} port {dport}" if pname else f"protocol {iproto} port {dport}"
        return f"{idst} {port} unreachable, length {clen}"
    if code == 4:
        mtu = d[off + 6] << 8 | d[off + 7]
        return (f"{idst} unreachable - need to frag (mtu {mtu}), length {clen}" if mtu
                else f"{idst} unreachable - need to frag, length {clen}")
    return td.format(idst) + f", length {clen}"


def _icmp6(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    a.layers.append("ICMPv6")
    head = f"{head_noport(ctx)}ICMP6, "
    avail = end - off
    if avail < 4:
        a.bad = True
        return head + "[|icmp6]"
    typ = d[off]
    code = d[off + 1]
    names = ICMP6_NAMES.get(typ)
    if names is None:
        a.info = f"Unknown ICMPv6 type {typ}"
        return f"{head}unknown icmp6 type ({typ}), length {clen}"
    td, ws = names
    a.info = ws
    if typ == 128 or typ == 129:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        ident = d[off + 4] << 8 | d[off + 5]
        seq = d[off + 6] << 8 | d[off + 7]
        if not a.lean:
            a.info = f"{ws} id={ident}, seq={seq}"
        return f"{head}{td}, id {ident}, seq {seq}, length {clen}"
    if typ == 135 or typ == 136:
        if avail < 24:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        tgt = ntop6(d[off + 8:off + 24])
        lla = _nd_lladdr(d, off + 24, end, 1 if typ == 135 else 2, a)
        if typ == 135:
            a.info = f"{ws} for {tgt}" + (f" from {lla}" if lla else "")
            return f"{head}{td}, who has {tgt}, length {clen}"
        fl = d[off + 4]
        names_fl = [n for bit, n in ((0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")) if fl & bit]
        a.info = (f"{ws} {tgt}" + (f" ({', '.join(names_fl)})" if names_fl else "")
                  + (f" is at {lla}" if lla else ""))
        return f"{head}{td}, tgt is {tgt}, length {clen}"
    if typ == 133 or typ == 134:
        hdr = 8 if typ == 133 else 16
        if avail < hdr:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        lla = _nd_lladdr(d, off + hdr, end, 1, a)
        if lla:
            a.info = f"{ws} from {lla}"
        return f"{head}{td}, length {clen}"
    if typ == 137:
        if avail < 40:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return (f"{head}{td}, {ntop6(d[off + 8:off + 24])} to {ntop6(d[off + 24:off + 40])}, "
                f"length {clen}")
    if 130 <= typ <= 132:
        if avail < 24:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        mrd = d[off + 4] << 8 | d[off + 5]
        # tcpdump 4.99 prints no separator between the type name and the fields
        return f"{head}{td}max resp delay: {mrd} addr: {ntop6(d[off + 8:off + 24])}, length {clen}"
    if typ == 143:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return f"{head}{td}, {d[off + 6] << 8 | d[off + 7]} group record(s), length {clen}"
    if typ == 2:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return f"{head}{td}, mtu {S_I.unpack_from(d, off + 4)[0]}, length {clen}"
    if typ == 4:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        ptr = S_I.unpack_from(d, off + 4)[0]
        what = {0: "errorneous", 1: "next header", 2: "option"}.get(code)
        a.info = f"{ws} ({what or 'code ' + str(code)})"
        detail_ = f"{what} - octet {ptr}" if what else f"code-#{code}"
        return f"{head}{td}, {detail_}, length {clen}"
    if typ == 1 or typ == 3:
        inner = off + 8
        if end - inner < 40:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        idst = ntop6(d[inner + 24:inner + 40])
        if typ == 3:
            a.info = ("Time Exceeded (hop limit exceeded in transit)" if code == 0 else
                      "Time Exceeded (fragment reassembly time exceeded)")
            if code == 0:
                return f"{head}{td} in-transit for {idst}, length {clen}"
            return f"{head}{td} reassembly, length {clen}"
        ctd, cws = ICMP6_UNREACH.get(code, (f"unknown unreach code ({code})", f"code {code}"))
        a.info = f"{ws} ({cws})"
        if code == 4:
            nh, tp = _ext_walk(d, inner, end)
            if tp < 0 or end - tp < 4:
                a.bad = True
                return f"{head}{td}, {ctd}, {idst} [|icmp6]"
            dport = d[tp + 2] << 8 | d[tp + 3]
            pname = {6: "tcp", 17: "udp"}.get(nh)
            if pname:
                return f"{head}{td}, {ctd}, {idst} {pname} port {dport}, length {clen}"
            return f"{head}{td}, {ctd}, {idst} protocol {nh} port {dport}, length {clen}"
        return f"{head}{td}, {ctd} {idst}, length {clen}"
    return f"{head}{td}, length {clen}"


def _ext_walk(d: bytes, ip6: int, end: int) -> tuple[int, int]:
    """Upper-layer protocol and offset of an IPv6 packet quoted in an ICMPv6 error (-1: cut)."""
    nh = d[ip6 + 6]
    pos = ip6 + 40
    for _ in range(MAX_EXT_HEADERS):
        if nh in (0, 60, 43):
            if pos + 2 > end:
                return nh, -1
            nh, pos = d[pos], pos + ((d[pos + 1] + 1) << 3)
        elif nh == 44:
            if pos + 8 > end:
                return nh, -1
            nh, pos = d[pos], pos + 8
        else:
            return nh, pos
    return nh, -1


def _nd_lladdr(d: bytes, p: int, end: int, want: int, a: Acc) -> str:
    """The source/target link-layer address option of an ND message, if any."""
    found = ""
    while p + 2 <= end:
        ln = d[p + 1] << 3
        if ln == 0 or p + ln > end:
            a.bad = True
            break
        if d[p] == want and ln >= 8 and not found:
            found = d[p + 2:p + ln].rstrip(b"\0").hex(":") if ln > 8 else d[p + 2:p + 8].hex(":")
        p += ln
    return found


class _Icmp(IpHandler):
    def text(self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx,
             frag: bool) -> str | None:
        return _icmp(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: list[str], frag: bool) -> None:
        out.append("ICMP")


class _Icmp6(IpHandler):
    def text(self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx,
             frag: bool) -> str | None:
        return _icmp6(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: list[str], frag: bool) -> None:
        out.append("ICMPv6")


bind(IP_PROTOS, (1,), _Icmp("ICMP"))
bind(IP_PROTOS, (58,), _Icmp6("ICMPv6"))
