"""UDP and TCP: headers, TCP options, and the port dispatch to what they carry.

The payload is found through the ``UDP_PORTS``/``TCP_PORTS`` tables of
:mod:`tapwatch.decode.core`, source port first, then destination port, as
tcpdump looks at both.  TCP sequence numbers are relative per connection when
the caller (the stateful line printer) hands a :class:`~tapwatch.decode.core.TcpFlows`.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    IP_PROTOS,
    S_II,
    TCP_HEURISTICS,
    TCP_PORTS,
    UDP_HEURISTICS,
    UDP_PORTS,
    Acc,
    Ctx,
    IpHandler,
    Walk,
    bind,
    by_port,
    fresh,
    head,
    head_noport,
)
from tapwatch.decode.names import TCP_TD, TCP_WS
from tapwatch.decode.verbose import pseudo_sum, shouldbe

# --------------------------------------------------------------------------- UDP


def udp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    """UDP header and what its ports carry, the datagram ending where the frame's walk read
    its length (``a.w``'s ``ends``); a header the walk did not reach is walked from here by
    :func:`udp_walk`, taken in (``Acc.adopt``)."""
    w = a.w
    stop = w.layer_end(off, "UDP")
    if stop >= 0 or end - off < 8 or w.has(off, "UDP"):
        return _udp(d, off, end, clen, a, ctx, frag, stop)
    sub = fresh(off, a.w)
    udp_walk(d, off, end, clen, sub, frag)
    a.adopt(sub)
    return _udp(d, off, end, clen, a, ctx, frag, sub.layer_end(off, "UDP"))


def _udp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool, stop: int) -> str:
    """:func:`udp`'s text; ``stop``: where the walk read the datagram to end (its length,
    within what IP claims; -1: no length of at least 8 read)."""
    avail = end - off
    if avail < 8:
        a.bad = True
        if avail >= 4:
            return head(ctx, d[off] << 8 | d[off + 1], d[off + 2] << 8 | d[off + 3]) + " [|udp]"
        return f"{head_noport(ctx)} [|udp]"
    sport = d[off] << 8 | d[off + 1]
    dport = d[off + 2] << 8 | d[off + 3]
    ulen = d[off + 4] << 8 | d[off + 5]
    hd = head(ctx, sport, dport)
    if frag:
        a.info = f"{sport} → {dport} Len={max(ulen - 8, 0)}"
        return f"{hd}UDP, length {max(ulen - 8, 0)}"
    if ulen < 8 or stop < 0:  # (the walk reads no length under 8)
        a.bad = True
        a.info = f"{sport} → {dport} [bad length {ulen}]"
        return f"{hd}UDP, [malformed: bad length {ulen} < 8]"
    if stop > end or ulen > clen:  # past the capture, or past what IP claims (then clipped)
        a.bad = True
        pend = end
        if ulen > clen:  # the UDP header lies about the size, not a short capture
            a.info = f"{sport} → {dport} [bad length {ulen} > IP payload length {clen}]"
            return f"{hd}UDP, [malformed: bad length {ulen} > {clen}]"
    else:
        pend = stop
    mlen = ulen - 8
    if a.verbose and (a.verbose > 1 or len(ctx[5]) == 16):
        # tcpdump checks UDP checksums at -v over IPv6, at -vv over IPv4
        hd += _udp_verdict(d, off, stop, ctx, end)
    h1 = h2 = None
    if sport in UDP_PORTS or dport in UDP_PORTS:
        h1, h2 = by_port(UDP_PORTS, sport, dport)
    if h1 is not None:
        text = h1.text(d, off + 8, pend, mlen, a, sport, dport)
        if text is None and h2 is not None:
            text = h2.text(d, off + 8, pend, mlen, a, sport, dport)
        if text is not None:
            return hd + text
    if not a.strict:
        for h in UDP_HEURISTICS:
            text = h.text(d, off + 8, pend, mlen, a, sport, dport)
            if text is not None:
                return hd + text
    if not a.lean:
        a.info = f"{sport} → {dport} Len={mlen}"
    return f"{hd}UDP, length {mlen}"


def udp_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    out.add("UDP", off, off + 8)
    if end - off < 8:
        return
    ulen = d[off + 4] << 8 | d[off + 5]
    if ulen >= 8 and out.keep:  # the datagram's end: its length, at most what IP claims
        out.extent(off + (ulen if ulen <= clen or clen < 8 else clen))
    sport = d[off] << 8 | d[off + 1]
    dport = d[off + 2] << 8 | d[off + 3]
    if off == out.l4 and out.payload < 0:  # the first IP header's: what analysis reads
        out.sport = sport
        out.dport = dport
        out.payload = off + 8
        if not out.deep:
            return
    if frag:
        return
    if ulen < 8 or (ulen > end - off and ulen > clen):
        return
    pend = off + ulen if ulen <= end - off else end
    n = len(out.names)
    if sport in UDP_PORTS or dport in UDP_PORTS:
        h1, h2 = by_port(UDP_PORTS, sport, dport)
        if out.flows is not None:  # only TCP segments are wanted: skip what holds none
            if h1 is not None and not h1.tunnel:
                h1 = None
            if h2 is not None and not h2.tunnel:
                h2 = None
        if h1 is not None:
            out.at = off + 8
            h1.walk(d, off + 8, pend, out, sport, dport)
            if len(out.names) == n and h2 is not None:
                out.at = off + 8
                h2.walk(d, off + 8, pend, out, sport, dport)
        elif h2 is not None:
            out.at = off + 8
            h2.walk(d, off + 8, pend, out, sport, dport)
    if out.flows is not None:
        return
    for h in UDP_HEURISTICS:
        if len(out.names) != n:
            return
        out.at = off + 8
        h.walk(d, off + 8, pend, out, sport, dport)
    out.at = -1


# --------------------------------------------------------------------------- TCP


def tcp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    """TCP header and what its ports carry, the header ending where the frame's walk read
    its data offset (``a.w``); a header the walk did not reach is walked from here by
    :func:`tcp_walk`, taken in (``Acc.adopt``)."""
    w = a.w
    he = w.header_end(off, "TCP")
    if he >= 0 or end - off < 20 or w.has(off, "TCP"):
        return _tcp(d, off, end, clen, a, ctx, frag, he)
    sub = fresh(off, a.w)
    tcp_walk(d, off, end, clen, sub, frag)
    a.adopt(sub)
    return _tcp(d, off, end, clen, a, ctx, frag, sub.header_end(off, "TCP"))


def _tcp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool, he: int) -> str:
    """:func:`tcp`'s text; ``he``: where the walk read the header to end (-1: none read)."""
    avail = end - off
    if avail < 20:
        a.bad = True
        if avail >= 4:
            return head(ctx, d[off] << 8 | d[off + 1], d[off + 2] << 8 | d[off + 3]) + " [|tcp]"
        return f"{head_noport(ctx)} [|tcp]"
    sport = d[off] << 8 | d[off + 1]
    dport = d[off + 2] << 8 | d[off + 3]
    seq = d[off + 4] << 24 | d[off + 5] << 16 | d[off + 6] << 8 | d[off + 7]
    ack = d[off + 8] << 24 | d[off + 9] << 16 | d[off + 10] << 8 | d[off + 11]
    offflags = d[off + 12] << 8 | d[off + 13]
    win = d[off + 14] << 8 | d[off + 15]
    urp = d[off + 18] << 8 | d[off + 19]
    hd = head(ctx, sport, dport)
    doff = he - off if he >= 0 else 0  # the walk's: the data offset (none read: malformed)
    flags = offflags & 0x1FF
    fl = TCP_TD[flags & 0xFF]
    aseq = seq
    aack = ack
    thseq = thack = 0
    rev = False
    flows = a.flows
    if flows is not None and flags & 0x10:
        seq, ack, thseq, thack = flows.relative(
            ctx[5], ctx[6], sport, dport, seq, ack, bool(flags & 2)
        )
        rev = sport > dport or (sport == dport and ctx[5] > ctx[6])
    if doff < 20:
        a.bad = True
        a.info = f"{sport} → {dport} [bad header length {doff}]"
        return f"{hd}Flags [{fl}], [malformed: bad header length {doff} < 20]"
    if doff > avail:
        a.bad = True
        a.info = f"{sport} → {dport} [{TCP_WS[flags]}] Seq={aseq} Win={win} [|tcp]"
        opts = _options(d, off + 20, end, a, True, 0)[0] if avail > 20 else ""
        opts = f"options [{opts}] " if opts else ""
        return f"{hd}Flags [{fl}], seq {seq}, win {win}, {opts}[|tcp]"
    cap = avail - doff  # payload bytes captured
    plen = clen - doff if clen >= doff else cap  # payload length the IP header claims
    if plen:
        seq_s = f", seq {seq}:{(seq + plen) & 0xFFFFFFFF}"
    elif flags & 7 or a.verbose > 1:
        seq_s = f", seq {seq}"
    else:
        seq_s = ""
    ack_td = ack_ws = urg_td = urg_ws = opt_td = opt_ws = ""
    lean = a.lean
    if flags & 0x10:
        ack_td = f", ack {ack}"
        ack_ws = f" Ack={aack}"
    if flags & 0x20:
        urg_td = f", urg {urp}"
        urg_ws = f" Urg={urp}"
    if doff > 20:
        p = off + 20
        if doff == 32 and d.startswith(b"\x01\x01\x08\x0a", p):  # nop,nop,TS: most segments
            val = d[p + 4] << 24 | d[p + 5] << 16 | d[p + 6] << 8 | d[p + 7]
            ecr = d[p + 8] << 24 | d[p + 9] << 16 | d[p + 10] << 8 | d[p + 11]
            opt_td = f", options [nop,nop,TS val {val} ecr {ecr}]"
            if not lean:
                opt_ws = f" TSval={val} TSecr={ecr}"
        else:
            sack_base = (thseq if rev else thack) if flows is not None and flags & 0x10 else 0
            o_td, o_ws = _options(d, p, off + doff, a, False, sack_base, flags)
            opt_td = f", options [{o_td}]"
            opt_ws = " " + o_ws if o_ws else ""
    ck = _tcp_verdict(d, off, clen, ctx, end) if a.verbose and not frag else ""
    if opt_td.endswith("[bad opt]]"):  # tcpdump stops printing the segment there
        a.bad = True
        if cap > 0 and not frag and (sport in TCP_PORTS or dport in TCP_PORTS):
            # the payload is still named, as layers() names it; its text is not printed
            h1, h2 = by_port(TCP_PORTS, sport, dport)
            named = h1 is not None and h1.text(d, off + doff, end, cap, a, sport, dport)
            if named is None and h2 is not None:
                h2.text(d, off + doff, end, cap, a, sport, dport)
        return f"{hd}Flags [{fl}]{ck}{seq_s}{ack_td}, win {win}{urg_td}{opt_td}"
    parts = f"Flags [{fl}]{ck}{seq_s}{ack_td}, win {win}{urg_td}{opt_td}, length {plen}"
    if not lean:
        a.info = (
            f"{sport} → {dport} [{TCP_WS[flags]}] Seq={aseq}{ack_ws} Win={win} "
            f"Len={plen}{urg_ws}{opt_ws}"
        )
    if cap > 0 and not frag and a.apps:
        p = off + doff
        a.claimed = plen if plen > cap else -1
        h1 = h2 = None
        if sport in TCP_PORTS or dport in TCP_PORTS:
            h1, h2 = by_port(TCP_PORTS, sport, dport)
        if h1 is not None:
            text = h1.text(d, p, end, cap, a, sport, dport)
            if text is None and h2 is not None:
                text = h2.text(d, p, end, cap, a, sport, dport)
            if text is not None:
                return f"{hd}{parts}{text}"
        else:
            for h in TCP_HEURISTICS:  # Info only: tcpdump names nothing on other ports
                h.text(d, p, end, cap, a, sport, dport)
    return hd + parts


def tcp_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    if end - off < 20:
        out.add("TCP", off)
        return
    out.add("TCP", off, off + ((d[off + 12] >> 4) << 2))
    if off == out.l4 and out.payload < 0:  # the first IP header's: what analysis reads
        out.sport = d[off] << 8 | d[off + 1]
        out.dport = d[off + 2] << 8 | d[off + 3]
        out.seq = d[off + 4] << 24 | d[off + 5] << 16 | d[off + 6] << 8 | d[off + 7]
        out.flags = d[off + 13]
        p = off + ((d[off + 12] >> 4) << 2)
        out.payload = p if p <= end else end
        if not out.deep:
            return
    flows = out.flows
    if flows is not None:  # walk_records: number the segment as tcp() does, if it carries ACK
        if d[off + 13] & 0x10:
            flows.relative(
                out.src,
                out.dst,
                d[off] << 8 | d[off + 1],
                d[off + 2] << 8 | d[off + 3],
                d[off + 4] << 24 | d[off + 5] << 16 | d[off + 6] << 8 | d[off + 7],
                d[off + 8] << 24 | d[off + 9] << 16 | d[off + 10] << 8 | d[off + 11],
                bool(d[off + 13] & 2),
            )
        return  # no TCP payload this decoder knows carries packets
    if frag:
        return
    doff = (d[off + 12] >> 4) << 2
    plen = end - off - doff
    if doff < 20 or plen <= 0:
        return
    sport = d[off] << 8 | d[off + 1]
    dport = d[off + 2] << 8 | d[off + 3]
    if sport not in TCP_PORTS and dport not in TCP_PORTS:
        return
    h1, h2 = by_port(TCP_PORTS, sport, dport)
    if h1 is not None:
        n = len(out.names)
        out.at = off + doff
        h1.walk(d, off + doff, end, out, sport, dport)
        if len(out.names) == n and h2 is not None:
            out.at = off + doff
            h2.walk(d, off + doff, end, out, sport, dport)
        out.at = -1


def _udp_verdict(d: bytes, off: int, stop: int, ctx: Ctx, end: int) -> str:
    """``[udp sum ok] `` / ``[bad udp cksum 0x1234 -> 0x5678!] `` / ``[no cksum] `` (IPv4),
    over the datagram to ``stop`` (where the walk read it to end)."""
    field = d[off + 6] << 8 | d[off + 7]
    if len(ctx[5]) == 4 and field == 0:
        return "[no cksum] "
    if end < stop:
        return ""
    c = pseudo_sum(ctx[5], ctx[6], 17, d[off:stop])
    if c:
        return f"[bad udp cksum 0x{field:04x} -> 0x{shouldbe(field, c):04x}!] "
    return "[udp sum ok] "


def _tcp_verdict(d: bytes, off: int, clen: int, ctx: Ctx, end: int) -> str:
    """``, cksum 0x1c46 (correct)`` / ``, cksum 0x1c46 (incorrect -> 0x1d00)``, as tcpdump -v."""
    if end - off < clen or clen < 20:
        return ""
    field = d[off + 16] << 8 | d[off + 17]
    c = pseudo_sum(ctx[5], ctx[6], 6, d[off : off + clen])
    if c:
        return f", cksum 0x{field:04x} (incorrect -> 0x{shouldbe(field, c):04x})"
    return f", cksum 0x{field:04x} (correct)"


def _options(
    d: bytes, p: int, end: int, a: Acc, cut: bool, sack_base: int, flags: int = 0
) -> tuple[str, str]:
    """TCP options as tcpdump prints them, plus Wireshark's info-column suffix.

    ``cut``: the header is known to be truncated at ``end``, so an option running
    past it just ends the list instead of being reported as a bad option.
    ``sack_base``: subtracted from SACK edges, as tcpdump does with relative numbers.
    """
    td: list[str] = []
    ws: list[str] = []
    while p < end:
        kind = d[p]
        if kind == 0:
            td.append("eol")
            break
        if kind == 1:
            td.append("nop")
            p += 1
            continue
        if p + 1 >= end:
            if not cut:
                a.bad = True
                td.append("[bad opt]")
            break
        ln = d[p + 1]
        if cut and ln >= 2 and p + ln > end:
            break
        if ln < 2 or p + ln > end:
            a.bad = True
            td.append("[bad opt]")
            break
        body = d[p + 2 : p + ln]
        if kind == 2 and ln == 4:
            v = body[0] << 8 | body[1]
            td.append(f"mss {v}")
            ws.append(f"MSS={v}")
        elif kind == 3 and ln == 3:
            td.append(f"wscale {body[0]}")
            ws.append(f"WS={1 << min(body[0], 14)}")
        elif kind == 4 and ln == 2:
            td.append("sackOK")
            ws.append("SACK_PERM")
        elif kind == 5 and (ln - 2) % 8 == 0:
            blocks = [S_II.unpack_from(body, i) for i in range(0, ln - 2, 8)]
            td.append(
                f"sack {len(blocks)} "
                + "".join(
                    f"{{{(x - sack_base) & 0xFFFFFFFF}:{(y - sack_base) & 0xFFFFFFFF}}}"
                    for x, y in blocks
                )
            )
            ws.extend(f"SLE={x} SRE={y}" for x, y in blocks)
        elif kind == 8 and ln == 10:
            val, ecr = S_II.unpack_from(body)
            td.append(f"TS val {val} ecr {ecr}")
            ws.append(f"TSval={val} TSecr={ecr}")
        elif kind == 19:
            td.append("md5")
        elif kind == 28 and ln == 4:
            td.append(f"uto {body[0] << 8 | body[1]}")
        elif kind == 30:
            text = _mptcp(d, p, ln, flags)
            if text is None:
                a.bad = True
                td.append("mptcp" + _mptcp_head(d, p, ln) + "[bad opt]")
                break
            td.append("mptcp" + text)
        elif kind == 34:
            td.append(f"tfo cookie {body.hex()}" if body else "tfo cookiereq")
        else:
            td.append(f"unknown-{kind} 0x{body.hex()}" if body else f"unknown-{kind}")
        p += ln
    return ",".join(td), " ".join(ws)


_MPTCP_SUBTYPES: Final = (
    "capable",
    "join",
    "dss",
    "add-addr",
    "rem-addr",
    "prio",
    "fail",
    "fast-close",
    "unknown",
)
_MPTCP_ADDR: Final = {0x6: "v0-ip6", 0x4: "v0-ip4", 0x1: "v1-echo", 0x0: "v1"}


def _mptcp_head(d: bytes, p: int, ln: int) -> str:
    """`` 12 capable``: the option's length and subtype, as tcpdump starts it."""
    if ln < 3:
        return ""
    return f" {ln} {_MPTCP_SUBTYPES[min(d[p + 2] >> 4, 8)]}"


def _mptcp(d: bytes, p: int, ln: int, flags: int) -> str | None:
    """An MPTCP option (RFC 8684) as tcpdump's ``mptcp_print``; None where tcpdump says
    ``[bad opt]`` (a length its subtype cannot have).  ``d[p]`` is the option's kind."""
    if ln < 3:
        return None
    sub = min(d[p + 2] >> 4, 8)
    out = _mptcp_head(d, p, ln)
    syn, ack = flags & 2, flags & 0x10
    o = p + 2
    if sub == 0:
        if not ((ln in (12, 4) and syn) or (ln in (20, 22) and flags & 0x12 == 0x10)):
            return None
        version = d[o] & 0xF
        if version > 1:
            return out + f" Unknown Version ({version})"
        out += f" v{version}"
        if ln > 3 and d[p + 3] & 0x80:
            out += " csum"
        if ln == 12 or ln >= 20:
            out += f" {{0x{int.from_bytes(d[p + 4 : p + 12], 'big'):x}"
            if ln >= 20:
                out += f",0x{int.from_bytes(d[p + 12 : p + 20], 'big'):x}"
            out += "}"
        return out
    if sub == 1:
        if not ((ln == 12 and syn) or (ln == 16 and flags & 0x12 == 0x12) or (ln == 24 and ack)):
            return None
        if ln != 24:
            out += (" backup" if d[o] & 1 else "") + f" id {d[p + 3]}"
        if ln == 12:
            token, nonce = S_II.unpack_from(d, p + 4)
            out += f" token 0x{token:x} nonce 0x{nonce:x}"
        elif ln == 16:
            out += (
                f" hmac 0x{int.from_bytes(d[p + 4 : p + 12], 'big'):x} "
                f"nonce 0x{int.from_bytes(d[p + 12 : p + 16], 'big'):x}"
            )
        else:
            out += f" hmac 0x{d[p + 4 : p + 24].hex()}"
        return out
    if sub == 2:
        if ln < 4 or syn:
            return None
        fl = d[p + 3]
        q = p + 4
        left = ln - 4
        if fl & 0x10:
            out += " fin"
        if fl & 0x01:
            size = 8 if fl & 0x02 else 4
            if left < size:
                return None
            out += f" ack {int.from_bytes(d[q : q + size], 'big')}"
            q += size
            left -= size
        if fl & 0x04:
            size = 8 if fl & 0x08 else 4
            if left < size:
                return None
            out += f" seq {int.from_bytes(d[q : q + size], 'big')}"
            q += size
            left -= size
            if left < 4:
                return None
            out += f" subseq {int.from_bytes(d[q : q + 4], 'big')}"
            q += 4
            left -= 4
            if left < 2:
                return None
            out += f" len {d[q] << 8 | d[q + 1]}"
            q += 2
            left -= 2
            if left >= 2:
                out += f" csum 0x{d[q] << 8 | d[q + 1]:x}"
                left -= 2
        return out if left == 0 else None
    if sub == 3:
        if ln not in (8, 10, 16, 18, 20, 22, 28, 30):
            return None
        out += " " + _MPTCP_ADDR.get(d[o] & 0xF, "[bad version/echo]") + f" id {d[p + 3]}"
        if ln in (8, 10, 16, 18):
            out += f" {d[p + 4]}.{d[p + 5]}.{d[p + 6]}.{d[p + 7]}"
            if ln in (10, 18):
                out += f":{d[p + 8] << 8 | d[p + 9]}"
            if ln == 16:
                out += f" hmac 0x{int.from_bytes(d[p + 8 : p + 16], 'big'):x}"
            if ln == 18:
                out += f" hmac 0x{int.from_bytes(d[p + 10 : p + 18], 'big'):x}"
        else:
            from socket import AF_INET6, inet_ntop

            out += " " + inet_ntop(AF_INET6, d[p + 4 : p + 20])
            if ln in (22, 30):
                out += f":{d[p + 20] << 8 | d[p + 21]}"
            if ln == 28:
                out += f" hmac 0x{int.from_bytes(d[p + 20 : p + 28], 'big'):x}"
            if ln == 30:
                out += f" hmac 0x{int.from_bytes(d[p + 22 : p + 30], 'big'):x}"
        return out
    if sub == 4:
        if ln < 4:
            return None
        return out + " id" + "".join(f" {d[p + 3 + i]}" for i in range(ln - 3))
    if sub == 5:
        if ln not in (3, 4):
            return None
        out += " backup" if d[o] & 1 else " non-backup"
        return out + (f" id {d[p + 3]}" if ln == 4 else "")
    if sub == 6:
        if ln != 12:
            return None
        return out + f" seq {int.from_bytes(d[p + 4 : p + 12], 'big')}"
    if sub == 7:
        if ln != 12:
            return None
        return out + f" key 0x{int.from_bytes(d[p + 4 : p + 12], 'big'):x}"
    return out


class _Udp(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return udp(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        udp_walk(d, off, end, clen, out, frag)


class _Tcp(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return tcp(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        tcp_walk(d, off, end, clen, out, frag)


bind(IP_PROTOS, (17,), _Udp("UDP"))
bind(IP_PROTOS, (6,), _Tcp("TCP"))
