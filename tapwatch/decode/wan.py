"""Link types of serial lines and other networks, as tcpdump 4.99 prints them: Cisco HDLC
(104, with SLARP), Frame Relay (107, Q.922 with an NLPID or a Cisco ethertype), Solaris
IPNET (226) and IP over InfiniBand (242).

Without ``-e`` tcpdump prints only what the frame carries (``IP a > b: ...``); a
payload it cannot name gets the link header's own text instead.  Frame Relay's own
signalling (Q.933/LMI) and OSI payloads are not decoded: they print the Q.922 header.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    ETHERTYPES,
    LINKTYPES,
    Acc,
    LinkHandler,
    Trunc,
    Walk,
    bind,
    bits,
    ethertype_text,
    ethertype_walk,
    ip4,
    need,
    u16,
    u32,
)
from tapwatch.decode.link import link_walk, link_walked
from tapwatch.decode.names import ETHERTYPE_NAMES
from tapwatch.decode.verbose import hexdump

_CAST: Final = {0x0F: "unicast", 0x8F: "bcast"}

# --------------------------------------------------------------------------- Cisco HDLC


def _slarp(d: bytes, p: int, end: int, length: int, verbose: int) -> str:
    out = f"SLARP (length: {length}), "
    cp = p
    try:
        if length < 14:
            raise Trunc
        need(p, 14, end)
        code = u32(d, p)
        if code == 0:
            out += "request"
        elif code == 1:
            out += f"reply {ip4(d[p + 4 : p + 8])}/{ip4(d[p + 8 : p + 12])}"
        elif code == 2:
            out += (
                f"keepalive: mineseen=0x{u32(d, p + 4):08x}, yourseen=0x{u32(d, p + 8):08x}, "
                f"reliability=0x{u16(d, p + 12):04x}"
            )
            if length >= 18:  # tcpdump's pointer moves past the header here (so -vv's dump)
                cp = p + 14
                need(p + 14, 4, end)
                sec = u32(d, p + 14) // 1000
                mins, sec = divmod(sec, 60)
                hrs, mins = divmod(mins, 60)
                days, hrs = divmod(hrs, 24)
                out += f", link uptime={days}d{hrs}h{mins}m{sec}s"
        else:
            out += f"0x{code:02x} unknown"
            if verbose <= 1:
                out += hexdump(d[p + 4 : min(end, p + length)], "\n\t")
        if length > 18 and verbose:
            out += f", (trailing junk: {length - 18} bytes)"
        if verbose > 1:
            out += hexdump(d[cp + 4 : min(end, cp + length)], "\n\t")
        return out
    except Trunc:
        return out + " [|chdlc_slarp]"


def _etype_str(t: int) -> str:
    return ETHERTYPE_NAMES.get(t, "Unknown")


class _Chdlc(LinkHandler):
    """Cisco HDLC: address, control, an ethertype; where the header ends is the walk's."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        n = len(d)
        p = link_walked(d, a, "CHDLC", self)
        if p < 0 or n < p:
            a.bad = True
            return "", " [|chdlc]"
        proto = u16(d, p - 2)
        link = (
            f"{_CAST.get(d[0], f'0x{d[0]:02x}')}, ethertype {_etype_str(proto)} (0x{proto:04x}), "
            f"length {n}: "
        )
        if proto == 0x8035:
            return link, _slarp(d, p, n, n - p, a.verbose)
        if proto in (0x0800, 0x86DD, 0x8847, 0x8848):
            return link, ethertype_text(d, p, proto, a) or ""
        return link, f"unknown CHDLC protocol (0x{proto:04x})"

    def walk(self, d: bytes, out: Walk) -> None:
        out.add("CHDLC", 0, 4)
        if len(d) >= 4:
            proto = u16(d, 2)
            if proto == 0x8035:
                out.append("SLARP")
            elif proto in (0x0800, 0x86DD, 0x8847, 0x8848):
                ethertype_walk(d, 4, proto, out)


# --------------------------------------------------------------------------- Frame Relay

_FR_FLAGS: Final = (
    (0x02000000, "C!"),
    (0x00020000, "DE"),
    (0x00040000, "BECN"),
    (0x00080000, "FECN"),
    (0x00000002, "sdlcore"),
)
_NLPIDS: Final = {
    0x00: "NULL",
    0x08: "Q.933",
    0x09: "LMI",
    0x80: "SNAP",
    0x81: "CLNP",
    0x82: "ES-IS",
    0x83: "IS-IS",
    0x84: "CONS",
    0x85: "IDRP",
    0xC1: "ISIS_SPB",
    0xB1: "FRF.15",
    0xCC: "IPv4",
    0xCF: "PPP",
    0x8A: "X25 ES-IS",
    0x8E: "IPv6",
}


def _q922(d: bytes) -> tuple[int, int, int, int]:
    """(status: 1 good, 0 invalid, -1 short; DLCI; address length; flags)."""
    n = len(d)
    if n < 1:
        return -1, 0, 0, 0
    if d[0] & 1:
        return 0, 0, 0, 0
    if n < 2:
        return -1, 0, 0, 0
    dlci = ((d[0] & 0xFC) << 2) | ((d[1] & 0xF0) >> 4)
    flags = ((d[0] & 0x02) << 24) | ((d[1] & 0x0E) << 16)
    if d[1] & 1:
        return 1, dlci, 2, flags
    alen = 3
    p = 2
    if n < 3:
        return -1, 0, 0, 0
    if not d[p] & 1:
        dlci = (dlci << 7) | (d[p] >> 1)
        alen = 4
        p += 1
    if n <= p:
        return -1, 0, 0, 0
    if not d[p] & 1:
        return 0, 0, 0, 0
    flags |= d[p] & 0x02
    return 1, (dlci << 6) | (d[p] >> 2), alen, flags


def _fr_hdr(alen: int, dlci: int, flags: int, nlpid: int, length: int, cisco: bool) -> str:
    head = f"Q.922, hdr-len {alen}, DLCI {dlci}, Flags [{bits(_FR_FLAGS, flags)}], "
    if cisco:
        name = ETHERTYPE_NAMES.get(nlpid, "unknown")
        return f"{head}cisco-ethertype {name} (0x{nlpid:04x}), length {length}: "
    return f"{head}NLPID {_NLPIDS.get(nlpid, 'unknown')} (0x{nlpid:02x}), length {length}: "


class _FrameRelay(LinkHandler):
    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        n = len(d)
        ok, dlci, _alen, flags = _q922(d)  # its values; where the address ends: the walk's
        if ok < 0:
            a.bad = True
            return "", " [|fr]"
        if ok == 0:
            return "", "Q.922, invalid address"
        w = link_walk(d, a, "FR", self)
        alen = w.part_end(0, "FR")
        if n < alen + 1:
            a.bad = True
            return "", " [|fr]"
        pre = ""
        if d[alen] != 0x03 and dlci != 0:
            if n < alen + 2:
                pre = f"UI {d[alen]:02x}! "
            else:
                t = u16(d, alen)
                link = _fr_hdr(alen, dlci, flags, t, n, True)
                if t in ETHERTYPES:
                    return link, ethertype_text(d, w.header_end(0, "FR"), t, a) or ""
                pre = f"UI {d[alen]:02x}! "
        if n < alen + 2:
            a.bad = True
            return "", pre + " [|fr]"
        hlen = w.header_end(0, "FR")
        if hlen > alen + 2:
            if alen != 3:
                pre += "Pad! "
        elif alen == 3:
            pre += "No pad! "
        if hlen < 0 or n < hlen:
            a.bad = True
            return "", pre + " [|fr]"
        nlpid = d[hlen - 1]
        link = _fr_hdr(alen, dlci, flags, nlpid, n, False)
        body = n - hlen
        if nlpid == 0xCC:
            return link, pre + (ethertype_text(d, hlen, 0x0800, a) or "")
        if nlpid == 0x8E:
            return link, pre + (ethertype_text(d, hlen, 0x86DD, a) or "")
        if nlpid == 0xCF:
            return link, pre + (ethertype_text(d, hlen, 0x880B, a) or "")
        return link, pre + _fr_hdr(alen, dlci, flags, nlpid, body + hlen, False).rstrip(": ")

    def walk(self, d: bytes, out: Walk) -> None:
        """Frame Relay's walk: the Q.922 address (a header inside the layer, its length by its
        extension bits), and where the header ends: after a Cisco ethertype, or after the
        control byte, a pad byte if any and the NLPID -- what the text reads of them."""
        out.add("FR", 0)
        ok, dlci, alen, _flags = _q922(d)
        n = len(d)
        if ok != 1:
            return
        out.part(0, alen)
        if n < alen + 2:
            return
        cisco = d[alen] != 0x03 and dlci != 0
        if cisco and u16(d, alen) in ETHERTYPES:
            out.head(alen + 2)
            ethertype_walk(d, alen + 2, u16(d, alen), out)
            return
        hlen = alen + 3 if d[alen + 1] == 0 else alen + 2
        out.head(hlen)
        if cisco:
            return
        if n >= hlen:
            t = {0xCC: 0x0800, 0x8E: 0x86DD, 0xCF: 0x880B}.get(d[hlen - 1], -1)
            if t >= 0:
                ethertype_walk(d, hlen, t, out)


# --------------------------------------------------------------------------- IPNET, IPoIB


class _Ipnet(LinkHandler):
    """Solaris IPNET: a 24-byte header with the address family and the zones."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        n = len(d)
        p = link_walked(d, a, "IPNET", self)
        if p < 0 or n < p:
            a.bad = True
            return "", " [|ipnet]"
        fam = d[1]
        name = {2: "IPv4", 26: "IPv6"}.get(fam, "Unknown")
        link = f"{u32(d, 16)} > {u32(d, 20)}, family {name} ({fam}), length {n}: "
        if fam in (2, 26):
            return link, ethertype_text(d, p, 0x0800 if fam == 2 else 0x86DD, a) or ""
        return "", link.rstrip(": ")

    def walk(self, d: bytes, out: Walk) -> None:
        out.add("IPNET", 0, 24)
        if len(d) >= 24 and d[1] in (2, 26):
            ethertype_walk(d, 24, 0x0800 if d[1] == 2 else 0x86DD, out)


class _Ipoib(LinkHandler):
    """IP over InfiniBand: a 44-byte pseudo-header with the ethertype at offset 40."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        n = len(d)
        p = link_walked(d, a, "IPoIB", self)
        if p < 0 or n < p:
            a.bad = True
            return "", " [|ipoib]"
        t = u16(d, p - 4)
        link = f"IPOIB, ethertype {ETHERTYPE_NAMES.get(t, 'Unknown')} (0x{t:04x}), length {n}: "
        text = ethertype_text(d, p, t, a)
        if text is None:
            return "", link[7:].rstrip(": ")
        return link, text

    def walk(self, d: bytes, out: Walk) -> None:
        out.add("IPoIB", 0, 44)
        if len(d) >= 44:
            ethertype_walk(d, 44, u16(d, 40), out)


bind(LINKTYPES, (104,), _Chdlc("CHDLC"))
bind(LINKTYPES, (107,), _FrameRelay("FR"))
bind(LINKTYPES, (226,), _Ipnet("IPNET"))
bind(LINKTYPES, (242,), _Ipoib("IPoIB"))
