"""ICMP and ICMPv6, as tcpdump names their types (errors quote the packet they answer).

ICMP identifiers and sequence numbers are decimal everywhere, in the tcpdump text
and in the info column alike.
"""

from __future__ import annotations

from socket import inet_ntoa
from typing import Final

from tapwatch.decode.core import (
    IP_PROTOS,
    S_HH,
    S_I,
    Acc,
    Ctx,
    IpHandler,
    Walk,
    bind,
    fresh,
    head_noport,
    ntop6,
)
from tapwatch.decode.ip import ipv4
from tapwatch.decode.names import (
    ICMP6_NAMES,
    ICMP6_UNREACH,
    ICMP_SIMPLE,
    ICMP_UNREACH,
    MAX_EXT_HEADERS,
)
from tapwatch.decode.verbose import cksum, hexdump, pseudo_sum, shouldbe


def _icmp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    if end <= off:  # not even the type: tcpdump has printed nothing of ICMP yet
        a.bad = True
        return f"{head_noport(ctx)} [|icmp]"
    text = _icmp_text(d, off, end, clen, a, f"{head_noport(ctx)}ICMP ")
    if not a.verbose or text.endswith("[|icmp]"):
        return text
    # tcpdump -v: a wrong checksum is said, and an error's quoted packet printed in full
    if not frag and end - off >= clen:
        c = cksum(d[off : off + clen])
        if c:
            field = d[off + 2] << 8 | d[off + 3]
            text += f" (wrong icmp cksum {field:x} (->{shouldbe(field, c):x})!)"
    # the walk goes into no quoted packet: it is walked from there (ipv4), counting on
    # from the frame's walk, and printed unless that count is already at the bound
    if d[off] in (3, 4, 5, 11, 12) and end - off >= 12 and not a.w.full_before(off + 8):
        text += "\n\t" + ipv4(d, off + 8, a, end, quoted=True)
    return text


def _icmp_text(d: bytes, off: int, end: int, clen: int, a: Acc, head: str) -> str:
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
            a.info = _ws_echo(f"Echo (ping) {what[5:]}", ident, seq, a.ttl)
        return f"{head}{what}, id {ident}, seq {seq}, length {clen}"
    if typ == 3 or typ == 5 or typ == 11 or typ == 12:
        return head + _icmp_error(d, off, end, typ, code, clen, a)
    if typ == 13 or typ == 14:
        if avail < 8:
            a.bad = True
            return head + "time stamp [|icmp]"
        ident, seq = S_HH.unpack_from(d, off + 4)
        what = "query" if typ == 13 else "reply"
        a.info = _ws_echo(f"Timestamp {'request' if typ == 13 else 'reply'}", ident, seq, a.ttl)
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


def hex4(v: int) -> str:
    """``v`` (0-65535) in four hex digits; per echo packet, without a format spec (which
    compiled code hands to the generic ``format``: 0.4 us)."""
    h = hex(v)[2:]
    return "0" * (4 - len(h)) + h if len(h) < 4 else h


def _ws_echo(name: str, ident: int, seq: int, ttl: int) -> str:
    """Wireshark's Info for an ICMP echo or timestamp: the type name in 20 columns, the id in
    hex, the sequence number read both ways (big- and little-endian) and the IP header's TTL."""
    swapped = (seq & 0xFF) << 8 | seq >> 8
    pad = " " * (20 - len(name)) if len(name) < 20 else ""
    info = f"{name}{pad} id=0x{hex4(ident)}, seq={seq}/{swapped}"
    return f"{info}, ttl={ttl}" if ttl >= 0 else info


def _icmp_error(d: bytes, off: int, end: int, typ: int, code: int, clen: int, a: Acc) -> str:
    """Unreachable / redirect / time exceeded / parameter problem, quoting the inner header."""
    if typ == 11:
        a.info = (
            "Time-to-live exceeded (Time to live exceeded in transit)"
            if code == 0
            else "Time-to-live exceeded (Fragment reassembly time exceeded)"
        )
        what = {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(
            code, f"time exceeded-#{code}"
        )
        return f"{what}, length {clen}"
    if typ == 12:
        a.info = "Parameter problem"
        if end - off < 5:
            a.bad = True
            return "parameter problem [|icmp]"
        return f"parameter problem - octet {d[off + 4]}, length {clen}"
    # 3 and 5 name the inner destination: need the quoted IP header, which ends where the
    # walk read its IHL (an ``inner`` header of the ICMP layer)
    inner = off + 8
    qend = _quoted(d, off, end, a, "ICMP").part_end(inner, "ICMP")
    if end - inner < 20 or d[inner] >> 4 != 4 or qend - inner < 20:
        a.bad = True
        a.info = "Destination unreachable" if typ == 3 else "Redirect"
        return ("unreachable" if typ == 3 else "redirect") + " [|icmp]"
    idst = inet_ntoa(d[inner + 16 : inner + 20])
    if typ == 5:
        gw = inet_ntoa(d[off + 4 : off + 8])
        kind = "host" if code & 1 else "net"
        tos = "-tos" if code >= 2 else ""
        a.info = f"{'Redirect':<20} (Redirect for {'host' if code & 1 else 'network'})"
        return f"redirect{tos} {idst} to {kind} {gw}, length {clen}"
    td, ws = ICMP_UNREACH.get(code, ("{} unreachable - #" + str(code), f"code {code}"))
    a.info = f"Destination unreachable ({ws})"
    if code == 2:
        return td.format(idst, d[inner + 9]) + f", length {clen}"
    if code == 3:
        iproto = d[inner + 9]
        tp = qend
        if end - tp < 4:
            a.bad = True
            return f"{idst} port unreachable [|icmp]"
        dport = d[tp + 2] << 8 | d[tp + 3]
        pname = {6: "tcp", 17: "udp"}.get(iproto)
        port = f"{pname} port {dport}" if pname else f"protocol {iproto} port {dport}"
        return f"{idst} {port} unreachable, length {clen}"
    if code == 4:
        mtu = d[off + 6] << 8 | d[off + 7]
        return (
            f"{idst} unreachable - need to frag (mtu {mtu}), length {clen}"
            if mtu
            else f"{idst} unreachable - need to frag, length {clen}"
        )
    return td.format(idst) + f", length {clen}"


def _icmp6(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    if a.verbose:
        return _icmp6_verbose(d, off, end, clen, a, ctx, frag)
    return _icmp6_text(d, off, end, clen, a, f"{head_noport(ctx)}ICMP6, ")


def _icmp6_text(d: bytes, off: int, end: int, clen: int, a: Acc, head: str) -> str:
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
    node = _NODE_INFO_CODES.get(typ << 8 | code)
    if node is not None:
        a.info = f"{ws} ({node})"
    if typ == 128 or typ == 129:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        ident = d[off + 4] << 8 | d[off + 5]
        seq = d[off + 6] << 8 | d[off + 7]
        if not a.lean:
            a.info = f"{ws} id=0x{hex4(ident)}, seq={seq}"
            if a.ttl >= 0:
                a.info += f", hop limit={a.ttl}"
        return f"{head}{td}, id {ident}, seq {seq}, length {clen}"
    if typ == 135 or typ == 136:
        if avail < 24:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        tgt = ntop6(d[off + 8 : off + 24])
        lla = _nd_lladdr(d, off + 24, end, 1 if typ == 135 else 2, a)
        if typ == 135:
            a.info = f"{ws} for {tgt}" + (f" from {lla}" if lla else "")
            return f"{head}{td}, who has {tgt}, length {clen}"
        fl = d[off + 4]
        names_fl = [n for bit, n in ((0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")) if fl & bit]
        a.info = (
            f"{ws} {tgt}"
            + (f" ({', '.join(names_fl)})" if names_fl else "")
            + (f" is at {lla}" if lla else "")
        )
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
        return (
            f"{head}{td}, {ntop6(d[off + 8 : off + 24])} to {ntop6(d[off + 24 : off + 40])}, "
            f"length {clen}"
        )
    if 130 <= typ <= 132:
        if avail < 24:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        mrd = d[off + 4] << 8 | d[off + 5]
        # tcpdump 4.99 prints no separator between the type name and the fields
        return (
            f"{head}{td}max resp delay: {mrd} addr: {ntop6(d[off + 8 : off + 24])}, length {clen}"
        )
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
        idst = ntop6(d[inner + 24 : inner + 40])
        if typ == 3:
            a.info = (
                "Time Exceeded (hop limit exceeded in transit)"
                if code == 0
                else "Time Exceeded (fragment reassembly time exceeded)"
            )
            if code == 0:
                return f"{head}{td} in-transit for {idst}, length {clen}"
            return f"{head}{td} reassembly, length {clen}"
        ctd, cws = ICMP6_UNREACH.get(code, (f"unknown unreach code ({code})", f"code {code}"))
        a.info = f"{ws} ({cws})"
        if code == 4:
            nh, tp = _upper(_quoted(d, off, end, a, "ICMPv6"), d, inner)
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


#: Wireshark's code names for ICMPv6 node information (type << 8 | code)
_NODE_INFO_CODES: Final = {
    139 << 8: "Query subject = IPv6 addresses",
    139 << 8 | 1: "Query subject = Name",
    139 << 8 | 2: "Query subject = IPv4 addresses",
    140 << 8: "Successful",
    140 << 8 | 1: "Refused",
    140 << 8 | 2: "Unknown query type",
}

_ND_OPTS: Final = {
    1: "source link-address",
    2: "destination link-address",
    3: "prefix info",
    4: "redirected header",
    5: "mtu",
    7: "advertisement interval",
    8: "homeagent information",
    24: "route info",
    25: "rdnss",
    31: "dnssl",
}
_MLD2_RECORDS: Final = {1: "is_in", 2: "is_ex", 3: "to_in", 4: "to_ex", 5: "allow", 6: "block"}
_RTPREF: Final = ("medium", "high", "rsv", "low")


def _icmp6_verbose(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    """tcpdump -v: the checksum verdict first; ND messages with their length and options on
    lines of their own; MLDv2 reports with their group records; no length at the end."""
    ck = ""
    if not frag and end - off >= clen >= 4:
        field = d[off + 2] << 8 | d[off + 3]
        c = pseudo_sum(ctx[5], ctx[6], 58, d[off : off + clen])
        ck = (
            f"[bad icmp6 cksum 0x{field:04x} -> 0x{shouldbe(field, c):04x}!] "
            if c
            else "[icmp6 sum ok] "
        )
    head = f"{head_noport(ctx)}{ck}ICMP6, "
    avail = end - off
    typ = d[off] if avail >= 4 else -1
    names = ICMP6_NAMES.get(typ)
    if names is None or (not 133 <= typ <= 137 and typ != 143 and typ != 128 and typ != 129):
        text = _icmp6_text(d, off, end, clen, a, head)
        tail = f", length {clen}"
        return text[: -len(tail)] if text.endswith(tail) else text
    td = names[0]
    if typ == 128 or typ == 129:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return f"{head}{td}, id {d[off + 4] << 8 | d[off + 5]}, seq {d[off + 6] << 8 | d[off + 7]}"
    if typ == 143:
        return head + td + _mld2_report(d, off, end, clen, a.verbose)
    hdr = {133: 8, 134: 16, 135: 24, 136: 24, 137: 40}[typ]
    if avail < hdr:
        a.bad = True
        return f"{head}{td}, length {clen} [|icmp6]"
    out = f"{head}{td}, length {clen}"
    if typ == 134:
        fl = d[off + 5]
        names_fl = (
            ", ".join(
                n
                for bit, n in ((0x80, "managed"), (0x40, "other stateful"), (0x20, "home agent"))
                if fl & bit
            )
            or "none"
        )
        out += (
            f"\n\thop limit {d[off + 4]}, Flags [{names_fl}], pref {_RTPREF[fl >> 3 & 3]}, "
            f"router lifetime {d[off + 6] << 8 | d[off + 7]}s, "
            f"reachable time {int.from_bytes(d[off + 8 : off + 12], 'big')}ms, "
            f"retrans timer {int.from_bytes(d[off + 12 : off + 16], 'big')}ms"
        )
    elif typ == 135:
        out += f", who has {ntop6(d[off + 8 : off + 24])}"
    elif typ == 136:
        fl = d[off + 4]
        names_fl = (
            ", ".join(
                n
                for bit, n in ((0x80, "router"), (0x40, "solicited"), (0x20, "override"))
                if fl & bit
            )
            or "none"
        )
        out += f", tgt is {ntop6(d[off + 8 : off + 24])}, Flags [{names_fl}]"
    elif typ == 137:
        out += f", {ntop6(d[off + 8 : off + 24])} to {ntop6(d[off + 24 : off + 40])}"
    opts = _nd_options(d, off + hdr, min(end, off + clen), off + clen, a.verbose)
    if opts is None:
        a.bad = True
        return out + "[|icmp6]"
    return out + opts


def _nd_options(d: bytes, p: int, end: int, claimed: int, verbose: int) -> str | None:
    """tcpdump's ``icmp6_opt_print`` at -v: one ``\n\t  NAME option (T), length L (N): ...``
    line per option; an unknown one ends the list with a hex dump (-vv: every option is
    followed by its hex dump); None: cut short."""
    out = ""
    while p < claimed:
        if p + 2 > end:
            return None
        t = d[p]
        n = d[p + 1]
        ln = n << 3
        if n == 0 or p + ln > end:
            return None
        name = _ND_OPTS.get(t)
        out += f"\n\t  {name or 'unknown'} option ({t}), length {ln} ({n}): "
        body = d[p + 2 : p + ln]
        if t == 1 or t == 2:
            out += body.hex(":")
        elif t == 3 and ln >= 32:
            fl = d[p + 3]
            names_fl = (
                ", ".join(
                    x for bit, x in ((0x80, "onlink"), (0x40, "auto"), (0x20, "router")) if fl & bit
                )
                or "none"
            )
            out += (
                f"{ntop6(d[p + 16 : p + 32])}/{d[p + 2]}{'' if n == 4 else 'badlen'}, "
                f"Flags [{names_fl}], valid time {_lifetime(d, p + 4)}, "
                f"pref. time {_lifetime(d, p + 8)}"
            )
        elif t == 5 and ln >= 8:
            mtu = int.from_bytes(d[p + 4 : p + 8], "big")
            out += f" {mtu}{'' if n == 1 else 'bad option length'}"
        elif t == 7 and ln >= 8:
            out += f" {int.from_bytes(d[p + 4 : p + 8], 'big')}ms"
        elif t == 25 and ln >= 8:
            out += f" lifetime {int.from_bytes(d[p + 4 : p + 8], 'big')}s,"
            out += "".join(f" addr: {ntop6(d[q : q + 16])}" for q in range(p + 8, p + ln - 15, 16))
        elif verbose < 2:
            return out + hexdump(body, "\n\t  ")
        if verbose > 1:
            out += hexdump(body, "\n\t    ")
        p += ln
    return out


def _lifetime(d: bytes, p: int) -> str:
    v = int.from_bytes(d[p : p + 4], "big")
    return "infinity" if v == 0xFFFFFFFF else f"{v}s"


def _mld2_report(d: bytes, off: int, end: int, clen: int, verbose: int) -> str:
    """``, 1 group record(s) [gaddr ff02::1:ff00:2 to_ex, 0 source(s)]`` (tcpdump -v)."""
    if clen < 8 or end - off < 8:
        return f" [invalid len {clen}]"
    n = d[off + 6] << 8 | d[off + 7]
    out = f", {n} group record(s)"
    g = 8
    for _ in range(n):
        if clen < g + 20 or end - off < g + 20:
            return out + " [invalid number of groups]"
        p = off + g
        nsrc = d[p + 2] << 8 | d[p + 3]
        rt = d[p]
        kind = _MLD2_RECORDS.get(rt, f" [v2-report-#{rt}]")
        out += f" [gaddr {ntop6(d[p + 4 : p + 20])} {kind}"
        if clen < g + 20 + 16 * nsrc:
            return out + f" [invalid number of sources {nsrc}]"
        if end - off < g + 20 + 16 * nsrc:
            return out + " [|icmp6]"
        if verbose > 1:
            srcs = "".join(
                f" {ntop6(d[q : q + 16])}" for q in range(p + 20, p + 20 + 16 * nsrc, 16)
            )
            out += f" {{{srcs} }}]"
        else:
            out += f", {nsrc} source(s)]"
        g += 20 + 16 * nsrc
    return out


def _quoted(d: bytes, off: int, end: int, a: Acc, name: str) -> Walk:
    """The walk that went through the ICMP(v6) message at ``off``: the frame's, or (a message
    it did not reach) the message's own walk from there -- read at once, for the headers
    its error quotes, and nothing the text goes on to call looks for them."""
    w = a.w
    if w.has(off, name):
        return w
    sub = fresh(off)
    if name == "ICMP":
        _icmp_walk(d, off, end, sub)
    else:
        _icmp6_walk(d, off, end, sub)
    return sub


def _icmp_walk(d: bytes, off: int, end: int, out: Walk) -> None:
    """ICMP; an error naming its quoted packet's destination (unreachable, redirect) has the
    quoted IPv4 header as an ``inner`` header, ending where its IHL says: what the text
    finds the quoted transport header's port after."""
    out.append("ICMP")
    q = off + 8
    if out.keep and end - q >= 20 and (d[off] == 3 or d[off] == 5) and d[q] >> 4 == 4:
        out.part(q, q + ((d[q] & 15) << 2))


def _icmp6_walk(d: bytes, off: int, end: int, out: Walk) -> None:
    """ICMPv6; a port unreachable has its quoted IPv6 header and the extension headers after
    it as ``inner`` headers, walked as tcpdump's ``get_upperlayer`` walks them (hop-by-hop,
    destination options, routing, fragment; a cut one ends the chain): the text follows
    them to the quoted transport header."""
    out.append("ICMPv6")
    q = off + 8
    if not out.keep or end - q < 40 or d[off] != 1 or d[off + 1] != 4:
        return
    out.part(q, q + 40)
    nh = d[q + 6]
    pos = q + 40
    for _ in range(MAX_EXT_HEADERS):
        if nh == 0 or nh == 60 or nh == 43:
            if pos + 2 > end:
                return
            nxt = pos + ((d[pos + 1] + 1) << 3)
        elif nh == 44:
            if pos + 8 > end:
                return
            nxt = pos + 8
        else:
            return
        out.part(pos, nxt)
        nh, pos = d[pos], nxt


def _upper(w: Walk, d: bytes, ip6: int) -> tuple[int, int]:
    """Upper-layer protocol and offset of an IPv6 packet quoted in an ICMPv6 error, following
    the headers ``w`` walked in it (:func:`_icmp6_walk`); -1: the chain was cut short."""
    nh = d[ip6 + 6]
    pos = w.part_end(ip6, "ICMPv6")
    if pos < 0:
        return nh, -1
    for _ in range(MAX_EXT_HEADERS):
        if nh == 0 or nh == 60 or nh == 43 or nh == 44:
            nxt = w.part_end(pos, "ICMPv6")
            if nxt < 0:
                return nh, -1
            nh, pos = d[pos], nxt
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
            found = (
                d[p + 2 : p + ln].rstrip(b"\0").hex(":") if ln > 8 else d[p + 2 : p + 8].hex(":")
            )
        p += ln
    return found


class _Icmp(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _icmp(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _icmp_walk(d, off, end, out)


class _Icmp6(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _icmp6(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _icmp6_walk(d, off, end, out)


bind(IP_PROTOS, (1,), _Icmp("ICMP"))
bind(IP_PROTOS, (58,), _Icmp6("ICMPv6"))
