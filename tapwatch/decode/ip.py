"""IPv4 and IPv6 (with the extension-header chain), and the IP-protocol dispatch.

What an IP header announces is found in the ``IP_PROTOS`` table of
:mod:`tapwatch.decode.core`; IP-in-IP (4in4, 6in4, 4in6, 6in6) is two entries
of that table pointing back here.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    ETHERTYPES,
    IP_PROTOS,
    S_I,
    S_II,
    Acc,
    Ctx,
    EtherHandler,
    IpHandler,
    Walk,
    bind,
    fresh,
    head_noport,
    ip4,
    ntop6,
)
from tapwatch.decode.names import IPPROTO_NAMES, IPPROTO_WS, MAX_EXT_HEADERS
from tapwatch.decode.verbose import ip4_header, ip6_header, ip6_options

_EXT_HDRS: Final = {0: "HBH", 60: "DSTOPT", 43: "RT6", 135: "MOBILITY", 139: "HIP", 140: "SHIM6"}


def ipv4(d: bytes, off: int, a: Acc, lim: int = -1, quoted: bool = False) -> str:
    """IPv4 header; ``lim`` bounds the packet (end of frame, or of the outer IP payload).

    ``quoted``: the header an ICMP error quotes, whose packet was cut short on purpose
    (not "truncated-ip").  Where the header ends is the frame's walk's (``a.w``): a header
    the walk did not reach (the packet an ICMP error quotes, printed at -v) is walked from
    here by :func:`ipv4_walk` and that walk taken in (``Acc.adopt``).
    """
    if lim < 0:
        lim = len(d)
    w = a.w
    he = w.header_end(off, "IPv4")
    if he >= 0 or lim - off < 20 or w.has(off, "IPv4"):
        return _ipv4(d, off, a, lim, quoted, he, w.layer_end(off, "IPv4"))
    sub = fresh(off, a.w)
    ipv4_walk(d, off, sub, lim)
    a.adopt(sub)
    return _ipv4(d, off, a, lim, quoted, sub.header_end(off, "IPv4"), sub.layer_end(off, "IPv4"))


def _ipv4(d: bytes, off: int, a: Acc, lim: int, quoted: bool, he: int, te: int) -> str:
    """:func:`ipv4`'s text; ``he``: where the walk read the header to end (its IHL), ``te``
    the datagram (its total length), past the captured bytes if it says so (-1: no header
    read)."""
    avail = lim - off
    if avail < 20:
        a.bad = True
        return "IP  [|ip]"
    vhl = d[off]
    if vhl >> 4 != 4:
        a.bad = True
        return f"IP [malformed: version {vhl >> 4}], length {avail}"
    hl = he - off  # the walk's: where the header ends by its IHL
    tot = te - off  # and the datagram by its total length
    fo = d[off + 6] << 8 | d[off + 7]
    proto = d[off + 9]
    s = d[off + 12 : off + 16]
    t = d[off + 16 : off + 20]
    src = ip4(s)
    dst = ip4(t)
    a.src = src
    a.dst = dst
    if he < 0 or te < 0:  # the walk read no header here: cut short
        a.bad = True
        return f"IP {src} > {dst}: [|ip]"
    if hl < 20:
        a.bad = True
        return f"IP {src} > {dst}: [malformed: bad header length {hl}]"
    if avail < hl:
        a.bad = True
        return f"IP {src} > {dst}: [|ip]"
    if tot < hl:
        a.bad = True
        return f"IP {src} > {dst}: [malformed: total length {tot} < header length {hl}]"
    pre = ""
    if te > lim:
        # what the wire held beyond the capture does not count as missing (tcpdump
        # compares the header with the frame's length on the wire, not the captured one)
        missing = te - lim - (a.cut if lim >= len(d) else 0)
        if missing > 0 and not quoted:
            pre = f"truncated-ip - {missing} bytes missing! "
        a.bad = True
        end = lim
    else:
        end = te
    poff = he
    clen = te - he
    foff = (fo & 0x1FFF) << 3
    word = "IP"
    if a.verbose:  # "IP (tos 0x0, ttl 64, ...)" and the addresses on the next line
        word = f"IP {pre}{ip4_header(d, off, hl, avail)}\n   "
        pre = ""
    a.ttl = d[off + 8]
    ctx: Ctx = (word, pre, src, dst, "", s, t)
    if fo & 0x2000 or foff:  # more fragments follow, or not the first fragment
        pname = IPPROTO_WS.get(proto, "")
        if foff:
            a.info = (
                f"Fragmented IP protocol (proto={pname + ' ' if pname else ''}{proto}, "
                f"off={foff}, ID={d[off + 4] << 8 | d[off + 5]:04x})"
            )
            return f"{word} {pre}{src} > {dst}: ip-proto-{proto}"
        text = upper(d, poff, end, clen, proto, a, ctx, True)
        # Wireshark's words: what the first fragment starts is told once reassembled
        a.info = (
            f"Fragmented IP protocol (proto={pname + ' ' if pname else ''}{proto}, "
            f"off=0, ID={d[off + 4] << 8 | d[off + 5]:04x})"
        )
        return text
    return upper(d, poff, end, clen, proto, a, ctx, False)


def ipv4_walk(d: bytes, off: int, out: Walk, lim: int = -1) -> None:
    if lim < 0:
        lim = len(d)
    if lim - off < 20:
        out.add("IPv4", off)
        return
    vhl = d[off]
    hl = (vhl & 15) << 2  # the IHL: what the text and every consumer take from here
    out.add("IPv4", off, off + hl)  # what the header says, whatever its version (-Y reads it)
    tot = d[off + 2] << 8 | d[off + 3]
    if out.keep:  # the datagram's end by its total length (the text's; spans walks only)
        out.extent(off + tot)
    first = out.version == 0
    if first and vhl >> 4 == 4:  # the frame's first IP header: what analysis and replay read
        out.version = 4
        out.ip = off
        out.proto = d[off + 9]
        out.ip_end = off + tot if hl <= tot and off + tot <= lim else lim
        if out.shallow:
            return
    if vhl >> 4 != 4 or hl < 20 or lim - off < hl or tot < hl:
        return
    end = off + tot if off + tot <= lim else lim
    fo = d[off + 6] << 8 | d[off + 7]
    if fo & 0x1FFF:
        return
    if first:
        out.l4 = off + hl
    if out.flows is not None:
        out.src = d[off + 12 : off + 16]
        out.dst = d[off + 16 : off + 20]
    upper_walk(d, off + hl, end, tot - hl, d[off + 9], out, fo & 0x2000 != 0)


def ipv6(d: bytes, off: int, a: Acc, lim: int = -1) -> str:
    """IPv6 header, then the extension-header chain followed to the upper layer.

    Each extension header ends where the frame's walk read its length (its ``inner``); a
    chain the walk did not reach is walked from here by :func:`ipv6_walk` and that walk
    taken in (``Acc.adopt``), as :func:`ipv4` does.
    """
    if lim < 0:
        lim = len(d)
    w = a.w
    ce = w.layer_end(off, "IPv6")
    if ce >= 0 or lim - off < 40 or d[off] >> 4 != 6 or w.has(off, "IPv6"):
        return _ipv6(d, off, a, lim, w, ce)
    sub = fresh(off, a.w)
    ipv6_walk(d, off, sub, lim)
    a.adopt(sub)
    return _ipv6(d, off, a, lim, w if w.keep else sub, sub.layer_end(off, "IPv6"))


def _ipv6(d: bytes, off: int, a: Acc, lim: int, w: Walk, cend: int) -> str:
    """:func:`ipv6`'s text; ``w``: the walk that went through its extension headers, ``cend``
    where it read the packet to end (its payload length; a jumbogram's: the bytes'; -1: no
    header read)."""
    avail = lim - off
    if avail < 40:
        a.bad = True
        return "IP6  [|ip6]"
    if d[off] >> 4 != 6:
        a.bad = True
        return f"IP6 [malformed: version {d[off] >> 4}], length {avail}"
    nh = d[off + 6]
    s = d[off + 8 : off + 24]
    t = d[off + 24 : off + 40]
    src = ntop6(s)
    dst = ntop6(t)
    a.src = src
    a.dst = dst
    if cend < 0:  # the walk read no header here: cut short
        a.bad = True
        return "IP6  [|ip6]"
    pre = ""
    if cend > lim:
        a.bad = True
        missing = cend - lim - (a.cut if lim >= len(d) else 0)
        if missing > 0:
            pre = f"truncated-ip6 - {missing} bytes missing! "
        end = lim
    else:
        end = cend
    word = "IP6"
    a.ttl = d[off + 7]
    if a.verbose:  # "IP6 (hlim 64, next-header ICMPv6 (58) payload length: 64) "
        word = "IP6 " + ip6_header(d, off)[:-1]
    pos = off + 40
    exts: list[str] = []
    frag = False
    frag_info = ""
    # each extension header ends where the walk read its length (``inner``): the chain is
    # followed, never measured again here
    for _ in range(MAX_EXT_HEADERS):
        ext = _EXT_HDRS.get(nh)
        if ext is not None:
            nxt = w.part_end(pos, "IPv6")
            if pos + 8 > end or nxt < 0 or nxt > end:
                a.bad = True
                return f"{word} {pre}{src} > {dst}: {' '.join([*exts, ext])} [|{ext.lower()}]"
            if nh == 43:
                ext = f"RT6 (len={d[pos + 1]}, type={d[pos + 2]}, segleft={d[pos + 3]})"
            elif a.verbose and (nh == 0 or nh == 60):
                ext = f"{ext} {ip6_options(d, pos + 2, nxt)}".rstrip(" ")
            exts.append(ext)
            nh = d[pos]
            pos = nxt
        elif nh == 44:
            nxt = w.part_end(pos, "IPv6")
            if pos + 8 > end or nxt < 0:
                a.bad = True
                return f"{word} {pre}{src} > {dst}: {' '.join([*exts, 'frag'])} [|frag]"
            fo = d[pos + 2] << 8 | d[pos + 3]
            ident = S_I.unpack_from(d, pos + 4)[0]
            nh = d[pos]
            pos = nxt
            foff = fo & 0xFFF8
            exts.append(
                f"frag (0x{ident:08x}:{foff}|{cend - pos})"
                if a.verbose
                else f"frag ({foff}|{cend - pos})"
            )
            if foff or fo & 1:
                frag = True
                frag_info = (
                    f"IPv6 fragment (off={foff} more={'y' if fo & 1 else 'n'} "
                    f"ident=0x{ident:08x} nxt={nh})"
                )
                if foff:
                    a.info = frag_info
                    return f"{word} {pre}{src} > {dst}: {' '.join(exts)}"
        elif nh == 51:  # AH: where it ends, the walk read from its length
            nxt = w.part_end(pos, "IPv6")
            ah, ahnh, size = ah_header(d, pos, end, a.verbose > 0, nxt)
            if size < 0:
                a.bad = True
                return f"{word} {pre}{src} > {dst}: {' '.join([*exts, ah])}"
            exts.append(ah.rstrip())
            nh = ahnh
            pos = nxt
        else:
            break
    else:
        a.bad = True
        return (
            f"{word} {pre}{src} > {dst}: {' '.join(exts)} [malformed: too many extension headers]"
        )
    ext_s = " ".join(exts) + " " if exts else ""
    if nh == 59:
        if not a.info:
            a.info = "IPv6 no next header"
        return f"{word} {pre}{src} > {dst}: {ext_s}no next header"
    text = upper(d, pos, end, cend - pos, nh, a, (word, pre, src, dst, ext_s, s, t), frag)
    if frag:  # Wireshark's words: what the first fragment starts is told once reassembled
        a.info = frag_info
    return text


def ipv6_walk(d: bytes, off: int, out: Walk, lim: int = -1) -> None:
    out.add("IPv6", off)
    if lim < 0:
        lim = len(d)
    if lim - off < 40 or d[off] >> 4 != 6:
        return
    plen = d[off + 4] << 8 | d[off + 5]
    nh = d[off + 6]
    cend = off + 40 + plen
    if plen == 0 and nh == 0:  # jumbogram (RFC 2675): the length is in a HBH option
        cend = lim
    if out.keep:  # where the packet ends by its payload length (the text's; spans walks only)
        out.extent(cend)
    end = cend if cend <= lim else lim
    first = out.version == 0
    if first:  # the frame's first IP header: what analysis and replay read
        out.version = 6
        out.ip = off
        out.proto = nh
        out.ip_end = end
        if out.shallow:
            return
    pos = off + 40
    frag = False
    for _ in range(MAX_EXT_HEADERS):
        if nh in _EXT_HDRS:
            if pos + 8 > end:
                return
            hlen = (d[pos + 1] + 1) << 3
            out.part(pos, pos + hlen)
            if pos + hlen > end:
                return
            nh = d[pos]
            pos += hlen
        elif nh == 44:
            if pos + 8 > end:
                return
            fo = d[pos + 2] << 8 | d[pos + 3]
            out.part(pos, pos + 8)
            if first:
                out.proto = d[pos]
            if fo & 0xFFF8:
                return
            frag = frag or bool(fo & 1)
            nh = d[pos]
            pos += 8
        elif nh == 51:
            size = ah_size(d, pos, end)
            if size < 0:
                return
            out.part(pos, pos + size)  # cut short too: the text says how long it claims to be
            if pos + size > end:
                return
            nh, pos = d[pos], pos + size
        else:
            break
        if first:
            out.proto = nh
    else:
        return
    if out.keep:  # (a call the counters' walk, which keeps no offsets, need not pay)
        out.head(pos)
    if nh == 59:
        return
    if first:
        out.l4 = pos
    if out.flows is not None:
        out.src = d[off + 8 : off + 24]
        out.dst = d[off + 24 : off + 40]
    upper_walk(d, pos, end, cend - pos, nh, out, frag)


def ah_size(d: bytes, off: int, end: int) -> int:
    """The AH header's size by its length field (4-octet units, less 2): the walks' reader;
    -1 when not even its fixed part (12 bytes) was captured."""
    if end - off < 12:
        return -1
    return 8 + (d[off + 1] << 2)


def ah_header(d: bytes, off: int, end: int, verbose: bool, stop: int) -> tuple[str, int, int]:
    """tcpdump's ``AH(spi=..,seq=..,icv=0x..): `` text, the next header and the header size.

    ``stop``: where the header ends as the walk read its length (-1: it read none, fewer
    than 12 bytes).  The size is ``-1`` when the header is cut short.  ``verbose``: with
    tcpdump -v's ``length=N(M-bytes),`` first.
    """
    if stop < 0:
        return "AH [|ah]", 0, -1
    nxt = d[off]
    spi, seq = S_II.unpack_from(d, off + 4)
    ln = f"length={d[off + 1]}({stop - off}-bytes)," if verbose else ""
    if stop > end:
        return f"AH({ln}spi=0x{spi:08x},seq=0x{seq:x}[truncated]):", nxt, -1
    icv = d[off + 12 : stop].hex() if stop - off > 12 else ""
    return f"AH({ln}spi=0x{spi:08x},seq=0x{seq:x},icv=0x{icv}): ", nxt, stop - off


def upper(d: bytes, off: int, end: int, clen: int, proto: int, a: Acc, ctx: Ctx, frag: bool) -> str:
    """Dispatch on the IP protocol number.  ``clen`` is the length the IP header claims.

    ``frag``: this is the first fragment of a fragmented datagram, so only the
    transport header is decoded (the application data is incomplete by design).
    """
    h = IP_PROTOS.get(proto)
    if h is not None:
        text = h.text(d, off, end, clen, a, ctx, frag)
        if text is not None:
            return text
    name = IPPROTO_NAMES.get(proto)
    if name is not None:
        a.info = a.info or f"{name}, length {clen}"
        return f"{head_noport(ctx)}{name}, length {clen}"
    a.info = a.info or f"IP protocol {proto}, length {clen}"
    return f"{head_noport(ctx)} ip-proto-{proto} {clen}"  # two spaces, as tcpdump


def upper_walk(d: bytes, off: int, end: int, clen: int, proto: int, out: Walk, frag: bool) -> None:
    out.at = off
    h = IP_PROTOS.get(proto)
    if h is None or (not out.deep and off == out.l4 and proto != 6 and proto != 17):
        out.append(IPPROTO_NAMES.get(proto, "other"))
    else:
        h.walk(d, off, end, clen, out, frag)


# --------------------------------------------------------------------------- IP in IP


def _ip4in_text(
    d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
) -> str | None:
    if frag or a.w.full_before(off):  # the walk named the inner header and stopped there
        return None
    return head_noport(ctx) + ipv4(d, off, a, end)


def _ip6in_text(
    d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
) -> str | None:
    if frag or a.w.full_before(off):
        return None
    return head_noport(ctx) + ipv6(d, off, a, end)


def _ip4in_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    if frag or out.full():
        out.append("IPv4")
        return
    ipv4_walk(d, off, out, end)


def _ip6in_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    if frag or out.full():
        out.append("IPv6")
        return
    ipv6_walk(d, off, out, end)


class _Ip4(EtherHandler):
    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return ipv4(d, off, a)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        ipv4_walk(d, off, out)


class _Ip6(EtherHandler):
    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return ipv6(d, off, a)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        ipv6_walk(d, off, out)


class _Ip4in(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _ip4in_text(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _ip4in_walk(d, off, end, clen, out, frag)


class _Ip6in(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _ip6in_text(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _ip6in_walk(d, off, end, clen, out, frag)


bind(ETHERTYPES, (0x0800,), _Ip4("IPv4"))
bind(ETHERTYPES, (0x86DD,), _Ip6("IPv6"))
bind(IP_PROTOS, (4,), _Ip4in("IPv4"))
bind(IP_PROTOS, (41,), _Ip6in("IPv6"))
