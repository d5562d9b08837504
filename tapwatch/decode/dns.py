"""DNS (and mDNS, and DNS over TCP) as tcpdump prints it; Wireshark's wording for the info column.

Names are read with every compression pointer bounded (64 hops, 255 octets), and
every label byte outside printable ASCII is escaped as ``\\DDD`` the way tcpdump
does, so nothing a name carries reaches a terminal raw.
"""

from __future__ import annotations

import struct
from typing import Final

from tapwatch.decode.core import (
    TCP_PORTS,
    UDP_PORTS,
    Acc,
    Bad,
    PortHandler,
    Trunc,
    Walk,
    bind,
    ip4,
    ntop6,
    printable_ascii,
)
from tapwatch.decode.names import (
    DNS_CLASSES,
    DNS_MAX_RECORDS,
    DNS_MAX_SHOWN,
    DNS_OPS_TD,
    DNS_OPS_WS,
    DNS_RCODES_TD,
    DNS_RCODES_WS,
    DNS_TYPES,
)

_S_HHH: Final = struct.Struct("!HHH")


def _dns_name(d: bytes, pos: int, base: int, end: int) -> tuple[str, int]:
    """Read a (possibly compressed) name; returns (name without trailing dot, next offset).

    Compression pointers are followed at most 64 times, and names are capped at
    255 octets, so a pointer loop or a pointer into garbage cannot spin or explode.
    """
    labels: list[str] = []
    nxt = -1
    hops = 0
    total = 0
    while True:
        if pos >= end:
            raise Trunc
        ln = d[pos]
        if ln == 0:
            pos += 1
            break
        if ln >= 0xC0:
            if pos + 1 >= end:
                raise Trunc
            if nxt < 0:
                nxt = pos + 2
            hops += 1
            if hops > 64:
                raise Bad("compression loop")
            pos = base + ((ln & 0x3F) << 8 | d[pos + 1])
            if pos >= end:
                raise Bad("compression pointer out of range")
            continue
        if ln > 63:
            raise Bad(f"bad label type 0x{ln:02x}")
        if pos + 1 + ln > end:
            raise Trunc
        total += ln + 1
        if total > 255:
            raise Bad("name too long")
        lab = d[pos + 1 : pos + 1 + ln].decode("latin-1")
        if not (lab.isascii() and lab.isprintable()) or "." in lab or " " in lab or "\\" in lab:
            lab = "".join(
                c if "!" <= c <= "~" and c not in ".\\" else f"\\{ord(c):03d}" for c in lab
            )
        labels.append(lab)
        pos += 1 + ln
    return ".".join(labels), (nxt if nxt >= 0 else pos)


def _dns(d: bytes, off: int, end: int, length: int, a: Acc, mdns: bool) -> str:
    """DNS message as tcpdump prints it (``1234+ A? example.com. (29)``), info as Wireshark."""
    if length < 12:
        a.bad = True
        a.info = f"DNS [length {length} < 12]"
        return f"domain [length {length} < 12] (invalid)"
    if end - off < 12:
        a.bad = True
        a.info = "DNS [|domain]"
        return "[|domain]"
    ident = d[off] << 8 | d[off + 1]
    flags = d[off + 2] << 8 | d[off + 3]
    qd = d[off + 4] << 8 | d[off + 5]
    an = d[off + 6] << 8 | d[off + 7]
    ns = d[off + 8] << 8 | d[off + 9]
    ar = d[off + 10] << 8 | d[off + 11]
    pos = off + 12
    questions: list[tuple[str, int, int]] = []
    records: list[tuple[int, str, int, int, str, str]] = []  # section, name, type, class, td, ws
    err = ""
    more = False
    try:
        for _ in range(qd):
            name, pos = _dns_name(d, pos, off, end)
            if pos + 4 > end:
                raise Trunc
            qt = d[pos] << 8 | d[pos + 1]
            qc = d[pos + 2] << 8 | d[pos + 3]
            pos += 4
            questions.append((name, qt, qc))
            if len(questions) >= DNS_MAX_RECORDS:
                more = qd > len(questions)
                break
        if not more:
            for section, count in ((1, an), (2, ns), (3, ar)):
                for _ in range(count):
                    if len(records) >= DNS_MAX_RECORDS:
                        more = True
                        break
                    name, pos = _dns_name(d, pos, off, end)
                    if pos + 10 > end:
                        raise Trunc
                    rt = d[pos] << 8 | d[pos + 1]
                    rc = d[pos + 2] << 8 | d[pos + 3]
                    rdlen = d[pos + 8] << 8 | d[pos + 9]
                    pos += 10
                    if pos + rdlen > end:
                        raise Trunc
                    if rt == 41:  # EDNS: the class is the UDP size, the TTL holds flags
                        td = f"UDPsize={rc}" + (" DO" if d[pos - 4] & 0x80 else "")
                        ws = ""
                    else:
                        td, ws = _dns_rdata(d, pos, pos + rdlen, rt, off, end)
                    records.append((section, name, rt, rc, td, ws))
                    pos += rdlen
    except Trunc:
        err = "[|domain]"
        a.bad = True
    except Bad as exc:
        err = f"[malformed domain: {exc}]"
        a.bad = True

    if not a.lean:
        a.info = _info(ident, flags, questions, records, err)
    return _td(ident, flags, qd, an, ns, ar, questions, records, err, more, length, mdns, a.verbose)


def _info(
    ident: int,
    flags: int,
    questions: list[tuple[str, int, int]],
    records: list[tuple[int, str, int, int, str, str]],
    err: str,
) -> str:
    """Wireshark-like info column."""
    resp = flags & 0x8000
    opcode = flags >> 11 & 15
    rcode = flags & 15
    opn = DNS_OPS_WS.get(opcode, f"Unknown operation ({opcode})")
    ws_parts = [f"{opn}{' response' if resp else ''} 0x{ident:04x}"]
    if resp and rcode:
        ws_parts.append(DNS_RCODES_WS.get(rcode, f"Unknown error ({rcode})"))
    for name, qt, _qc in questions[:DNS_MAX_SHOWN]:
        ws_parts.append(f"{DNS_TYPES.get(qt, f'Unknown ({qt})')} {name or '<Root>'}")
    shown = 0
    for section, _name, rt, _rc, _td, ws in records:
        if section == 3 and rt != 41:
            continue
        if shown >= DNS_MAX_SHOWN:
            ws_parts.append("...")
            break
        ws_parts.append(DNS_TYPES.get(rt, f"Unknown ({rt})") + (f" {ws}" if ws else ""))
        shown += 1
    if err:
        ws_parts.append(err)
    return " ".join(ws_parts)


def _rr(rec: tuple[int, str, int, int, str, str], mdns: bool, verbose: int) -> str:
    """One resource record as tcpdump prints it (-v: with its owner name first)."""
    _s, name, rt, rc, td, _ws = rec
    owner = f" {name}." if verbose and name else " ." if verbose else ""
    if rt == 41:
        return f"{owner} OPT {td}"
    return owner + " " + _dns_type_class(rt, rc, mdns, cache_flush=True) + (f" {td}" if td else "")


def _section(
    label: str, recs: list[tuple[int, str, int, int, str, str]], mdns: bool, verbose: int
) -> str:
    """``-vv``'s `` ns: ...``/`` ar: ...`` list of a section's records."""
    if not recs:
        return ""
    return f" {label}:" + ",".join(_rr(r, mdns, verbose) for r in recs)


def _td(
    ident: int,
    flags: int,
    qd: int,
    an: int,
    ns: int,
    ar: int,
    questions: list[tuple[str, int, int]],
    records: list[tuple[int, str, int, int, str, str]],
    err: str,
    more: bool,
    length: int,
    mdns: bool,
    verbose: int = 0,
) -> str:
    """The tcpdump -nn body (``verbose``: its -v and -vv additions)."""
    resp = flags & 0x8000
    opcode = flags >> 11 & 15
    rcode = flags & 15
    if resp:
        out = (
            f"{ident}{DNS_OPS_TD[opcode]}{DNS_RCODES_TD[rcode]}{'*' if flags & 0x400 else ''}"
            f"{'' if flags & 0x80 else '-'}{'|' if flags & 0x200 else ''}"
            f"{'$' if flags & 0x20 else ''}"
        )
        if qd != 1:
            out += f" [{qd}q]"
        if verbose > 1:
            out += ",".join(
                f" q: {_dns_type_class(qt, qc, mdns, cache_flush=False)}? {name}."
                for name, qt, qc in questions[: DNS_MAX_SHOWN * 2]
            )
        out += f" {an}/{ns}/{ar}"
        answers = [r for r in records if r[0] == 1]
        rr_txt = [_rr(r, mdns, verbose) for r in answers[: DNS_MAX_SHOWN * 2]]
        if len(answers) > DNS_MAX_SHOWN * 2:
            rr_txt.append(" ...")
        out += ",".join(rr_txt)
        if verbose > 1:
            out += _section("ns", [r for r in records if r[0] == 2], mdns, verbose)
            out += _section("ar", [r for r in records if r[0] == 3], mdns, verbose)
    else:
        out = f"{ident}{DNS_OPS_TD[opcode]}{'+' if flags & 0x100 else ''}"
        out += "%" if flags & 0x10 else ""
        if flags & 0x6CF:
            out += f" [b2&3=0x{flags:x}]"
        if opcode == 1:
            if qd:
                out += f" [{qd}q]"
            if an != 1:
                out += f" [{an}a]"
        else:
            if an:
                out += f" [{an}a]"
            if qd != 1:
                out += f" [{qd}q]"
        if ns:
            out += f" [{ns}n]"
        if ar:
            out += f" [{ar}au]"
        for name, qt, qc in questions[: DNS_MAX_SHOWN * 2]:
            out += f" {_dns_type_class(qt, qc, mdns, cache_flush=False)}? {name}."
        if more or len(questions) > DNS_MAX_SHOWN * 2:
            out += " ..."
        if verbose > 1:
            for label, section in (("an", 1), ("ns", 2), ("ar", 3)):
                out += _section(label, [r for r in records if r[0] == section], mdns, verbose)
    if err:
        return f"{out} {err}"
    return f"{out} ({length})"


def _dns_type_class(t: int, c: int, mdns: bool, *, cache_flush: bool) -> str:
    """``A``, ``PTR (QM)``, ``TXT CHAOS`` ... the type/class part tcpdump prints."""
    s = DNS_TYPES.get(t) or f"Type{t}"
    cls = c & 0x7FFF if mdns else c
    if cls != 1:
        s += " " + (DNS_CLASSES.get(cls) or f"(Class {cls})")
    if mdns:
        if cache_flush:
            if c & 0x8000:
                s += " (Cache flush)"
        else:
            s += " (QU)" if c & 0x8000 else " (QM)"
    return s


def _dns_rdata(d: bytes, p: int, e: int, t: int, base: int, end: int) -> tuple[str, str]:
    """Resource data as (tcpdump text, Wireshark text); empty when neither shows it."""
    n = e - p
    if t == 1:
        if n != 4:
            raise Bad("bad A record length")
        s = ip4(d[p:e])
        return s, s
    if t == 28:
        if n != 16:
            raise Bad("bad AAAA record length")
        s = ntop6(d[p:e])
        return s, s
    if t in (2, 5, 12, 39):
        name = _dns_name(d, p, base, end)[0]
        return f"{name}.", name
    if t == 15:
        if n < 3:
            raise Bad("bad MX record")
        pref = d[p] << 8 | d[p + 1]
        name = _dns_name(d, p + 2, base, end)[0]
        return f"{name}. {pref}", f"{pref} {name}"
    if t == 33:
        if n < 7:
            raise Bad("bad SRV record")
        prio, weight, port = _S_HHH.unpack_from(d, p)
        name = _dns_name(d, p + 6, base, end)[0]
        return f"{name}.:{port} {prio} {weight}", f"{prio} {weight} {port} {name}"
    if t == 16:
        parts = []
        q = p
        while q < e:
            ln = d[q]
            if q + 1 + ln > e:
                raise Bad("bad TXT record")
            parts.append('"' + printable_ascii(d[q + 1 : q + 1 + ln]) + '"')
            q += 1 + ln
        return " ".join(parts), ""
    if t == 6:
        return "", _dns_name(d, p, base, end)[0]
    return "", ""


class _DnsUdp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        # tcpdump tries port 53 before 5353: mDNS only when neither port is DNS's
        mdns = (sport == 5353 or dport == 5353) and sport != 53 and dport != 53
        return _dns(d, off, end, length, a, mdns)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("DNS")


class _DnsTcp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if length >= 2 and (d[off] << 8 | d[off + 1]) == length - 2:
            return ": " + _dns(d, off + 2, end, length - 2, a, False)
        return None

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        if end - off >= 2 and (d[off] << 8 | d[off + 1]) == end - off - 2:
            out.append("DNS")


bind(UDP_PORTS, (53, 5353), _DnsUdp("DNS"))
bind(TCP_PORTS, (53,), _DnsTcp("DNS"))
