"""L2TP, down to the inner packet: L2TPv2 over UDP 1701 (control messages with their AVPs
as tcpdump words them, data sessions carrying PPP) and L2TPv3 (over UDP and straight over IP,
protocol 115: control messages, and data sessions carrying Ethernet or IP).

Printed as tcpdump 4.99 prints them; L2TPv3 data, which tcpdump does not decode past its
session id, shows the session and the frame it carries.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode import l2tpctl
from tapwatch.decode.core import (
    IP_PROTOS,
    MAX_BRIEF_ITEMS,
    S_H,
    S_HH,
    S_I,
    UDP_PORTS,
    Acc,
    Ctx,
    IpHandler,
    PortHandler,
    Walk,
    bind,
    ethertype_text,
    ethertype_walk,
    fresh,
    head_noport,
)
from tapwatch.decode.tunnels import inner_ether, inner_ether_walk

# --------------------------------------------------------------------------- L2TP


def _ppp_inner(d: bytes, p: int, end: int, a: Acc) -> str:
    """The PPP frame an L2TP data message carries, through the PPP handler (ethertype 0x880b)."""
    return ethertype_text(d if end == len(d) else d[:end], p, 0x880B, a) or ""


def _l2tp(d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int) -> str | None:
    if end - off < 2:
        a.bad = True
        return " [|l2tp]"  # tcpdump reads the flags whatever the length says
    flags = S_H.unpack_from(d, off)[0]
    ver = flags & 0xF
    # the message's end by its Length field, where its header ends (after the padding
    # the Offset Size announces), L2TPv3's cookie: the walk's
    w = a.w
    if not w.has(off, "L2TP"):
        w = fresh(off, a.w)
        _l2tp_walk(d, off, end, w, sport, dport)
        a.adopt(w)
    if ver == 3 and not a.strict:
        return " " + _l2tpv3_udp(d, off, end, a, w)
    if ver == 1:
        return " l2f:"
    if ver != 2:
        return " Unknown Version, neither L2F(1) nor L2TP(2)"
    p = off + 2
    t, lb, s, o = flags & 0x8000, flags & 0x4000, flags & 0x0800, flags & 0x0200
    fl = (
        ("T" if t else "")
        + ("L" if lb else "")
        + ("S" if s else "")
        + ("O" if o else "")
        + ("P" if flags & 0x0100 else "")
    )
    out = f" l2tp:[{fl}]"
    # tcpdump's l2tp_print: fields print as they are read, so a cut shows where it fell
    mlen = 0
    if lb:
        if end - p < 2:
            a.bad = True
            return out + " [|l2tp]"
        mlen = w.layer_end(off, "L2TP") - off
        p += 2
    if end - p < 2:
        a.bad = True
        return out + " [|l2tp]"
    tid = S_H.unpack_from(d, p)[0]
    out += f"({tid}/"
    if end - p < 4:
        a.bad = True
        return out + " [|l2tp]"
    sid = S_H.unpack_from(d, p + 2)[0]
    p += 4
    out += f"{sid})"
    a.info = f"L2TP tunnel {tid} session {sid}"
    if t and lb and s and not o:  # Wireshark's words for a control message
        who = f"(tunnel id={tid}, session id={sid})"
        if mlen <= 12:
            a.info = f"Control Message - ZLB      {who}"
        else:
            a.info = _l2tp_control_info(d, off, end, mlen, who)
    if s:
        if end - p < 2:
            a.bad = True
            return out + " [|l2tp]"
        out += f"Ns={S_H.unpack_from(d, p)[0]},"
        if end - p < 4:
            a.bad = True
            return out + " [|l2tp]"
        out += f"Nr={S_H.unpack_from(d, p + 2)[0]}"
        p += 4
    p = w.header_end(off, "L2TP")
    if p < 0 or p > end:  # cut in the Offset Size or the padding it announces
        a.bad = True
        return out + " [|l2tp]"
    if lb:
        if length < mlen:
            a.bad = True
            return out + f" Length {mlen} larger than packet"
        length = mlen
    if length < p - off:
        a.bad = True
        return out + f" Length {length} smaller than header length"
    if t:
        if not lb:
            a.bad = True
            return out + " No length"
        if length == p - off:
            return out + " ZLB"
        most = MAX_BRIEF_ITEMS if a.brief else -1
        text, clean = l2tpctl.avps(d, p, end, length - (p - off), most)
        if not clean:
            a.bad = True
        if len(text) > 6 and text[1:9] == "*MSGTYPE" and not a.info.startswith("Control"):
            a.info += " " + text[10 : text.find(")", 10)]
        return out + text
    if w.full_before(off + 1):  # the walk's count with L2TP: no further in
        return out
    end = min(end, off + length)
    return out + " {" + _ppp_inner(d, p, end, a) + "}"


def _l2tp_head(d: bytes, off: int, end: int, out: Walk) -> int:
    """Where the L2TP header at ``off`` (version 2, or 3 as UDP carries it) ends, as its
    flags say: the Length field, Ns and Nr, version 2's Offset Size and the padding it
    announces; recorded in the walk with the message's end by its Length field, if any.
    -1: not version 2 or 3, or cut before the Offset Size."""
    flags = S_H.unpack_from(d, off)[0]
    version = flags & 0xF
    if version != 2 and version != 3:
        return -1
    p = off + (4 if flags & 0x4000 else 2)
    if flags & 0x4000 and end - off >= 4:
        out.extent(off + S_H.unpack_from(d, off + 2)[0])
    if version == 3 and not flags & 0x8000:  # a data message: reserved bits, the session ID
        p += 6
    else:
        p += 4 + (4 if flags & 0x0800 else 0)
        if version == 2 and flags & 0x0200:
            if end - p < 2:
                return -1
            p += 2 + S_H.unpack_from(d, p)[0]
    out.head(p)
    return p


def _l2tp_walk(d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
    if end - off < 2:
        return
    out.append("L2TP")
    flags = S_H.unpack_from(d, off)[0]
    p = _l2tp_head(d, off, end, out)
    if flags & 0xF == 3 and not flags & 0x8000 and end - off >= 8:
        _l2tpv3_frame_walk(d, off + 8, end, out)
        return
    if flags & 0xF != 2 or flags & 0x8000 or out.full() or p < 0:
        return
    ethertype_walk(d if end == len(d) else d[:end], p, 0x880B, out)


# --------------------------------------------------------------------------- L2TPv3
#
# RFC 3931, over IP (protocol 115) or UDP 1701: a session's frames (Ethernet pseudowires,
# mostly) behind a session ID and a cookie whose length (0, 4 or 8 bytes) is agreed out
# of band -- so it is found by looking for the Ethernet frame after each.  tcpdump 4.99
# prints "ip-proto-115" and "Unknown Version" (strict mode does too).

_L2TP3_ETHERTYPES: Final = frozenset((0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x8847))


def _l2tpv3_frame(d: bytes, p: int, end: int) -> int:
    """Where the Ethernet frame after a data session header starts (-1: none found)."""
    for cookie in (0, 4, 8):
        q = p + cookie
        if end - q >= 14 and (d[q + 12] << 8 | d[q + 13]) in _L2TP3_ETHERTYPES:
            return q
    return -1


def _l2tpv3_frame_walk(d: bytes, p: int, end: int, out: Walk) -> None:
    """After a data session's ID (ending at ``p``): the cookie's length guessed once, here
    (recorded as a part spanning the cookie, 0 to 8 bytes, when an Ethernet frame follows
    it: what the text reads), and the frame walked unless past the nesting bound."""
    inner = _l2tpv3_frame(d, p, end)
    if inner < 0:
        return
    out.part(p, inner)
    if not out.full():
        inner_ether_walk(d, inner, end, out)


def _l2tpv3_data(d: bytes, p: int, end: int, a: Acc, w: Walk) -> str:
    """``L2TPv3, session 0x1234: <the Ethernet frame>`` from the session ID at ``p``; ``w``
    has the L2TP layer (its cookie, as the walk guessed it)."""
    if end - p < 4:
        a.bad = True
        return "L2TPv3 [|l2tp]"
    sid = S_I.unpack_from(d, p)[0]
    out = f"L2TPv3, session 0x{sid:08x}"
    inner = w.part_end(p + 4, "L2TP")
    if inner >= 0 and not w.full_before(inner):
        out += ": " + inner_ether(d, inner, end, a)
    else:
        out += f", length {end - p - 4}"
    # Wireshark's Info: the session, its payload left undecoded (no pseudowire type is
    # agreed in the packets), whatever the frame inside says
    a.info = f"D[S:0x{sid:08X}]"
    return out


#: Wireshark's short names of the L2TP control message types (the Info column's)
_WS_L2TP_MSGS: Final = (
    *("SCCRQ", "SCCRP", "SCCCN", "StopCCN", "Reserved", "Hello", "OCRQ", "OCRP", "OCCN"),
    *("ICRQ", "ICRP", "ICCN", "Reserved", "CDN", "WEN", "SLI", "MDMST", "SRRQ", "SRRP"),
    *("ACK", "FSQ", "FSR", "MSRQ", "MSRP", "MSE", "MSI", "MSEN", "CSUN", "CSURQ"),
)


def _l2tp_control_info(d: bytes, p: int, end: int, ln: int, who: str) -> str:
    """Wireshark's Info for a control message whose header (12 bytes) starts at ``p``: ZLB
    when it carries no AVP, else the type its first AVP (Message Type) says."""
    if ln <= 12:
        return f"Control Message - ZLB {who}"
    if end - p < 20:
        return f"Control Message {who}"
    t = S_H.unpack_from(d, p + 18)[0]
    name = _WS_L2TP_MSGS[t - 1] if 1 <= t <= len(_WS_L2TP_MSGS) else f"Unknown ({t})"
    return f"Control Message - {name} {who}"


def _l2tpv3_control(d: bytes, p: int, end: int, a: Acc) -> str:
    """A control message: flags, length, control connection ID, Ns/Nr."""
    if end - p < 12:
        a.bad = True
        return "L2TPv3 control [|l2tp]"
    ln = S_H.unpack_from(d, p + 2)[0]
    ccid = S_I.unpack_from(d, p + 4)[0]
    ns, nr = S_HH.unpack_from(d, p + 8)
    a.info = _l2tp_control_info(d, p, end, ln, f"(ccid=0x{ccid:08x})")
    what = " ZLB" if ln <= 12 else ""
    return f"L2TPv3 control, connection 0x{ccid:08x}, Ns={ns}, Nr={nr}{what}, length {ln}"


def _l2tpv3_udp(d: bytes, off: int, end: int, a: Acc, w: Walk) -> str:
    if d[off] & 0x80:
        return _l2tpv3_control(d, off, end, a)
    return _l2tpv3_data(d, off + 4, end, a, w)


def _l2tpv3_ip(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str | None:
    if a.strict or frag or end - off < 4:
        return None
    if d[off : off + 4] == b"\0\0\0\0":  # session 0: a control message follows
        return head_noport(ctx) + _l2tpv3_control(d, off + 4, end, a)
    w = a.w
    if not w.has(off, "L2TP"):
        w = fresh(off, a.w)
        _l2tpv3_ip_walk(d, off, end, clen, w, frag)
        a.adopt(w)
    return head_noport(ctx) + _l2tpv3_data(d, off, end, a, w)


def _l2tpv3_ip_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    if frag or end - off < 4:
        out.append("other")
        return
    out.append("L2TP")
    if d[off : off + 4] == b"\0\0\0\0":  # session 0: a control message's header follows
        if end - off >= 6:
            _l2tp_head(d, off + 4, end, out)
        return
    out.head(off + 4)  # the session ID (the cookie's length is agreed out of band)
    _l2tpv3_frame_walk(d, off + 4, end, out)


class _L2tp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _l2tp(d, off, end, length, a, sport, dport)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _l2tp_walk(d, off, end, out, sport, dport)


class _L2tpv3(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _l2tpv3_ip(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _l2tpv3_ip_walk(d, off, end, clen, out, frag)


bind(IP_PROTOS, (115,), _L2tpv3("L2TP"))
bind(UDP_PORTS, (1701,), _L2tp("L2TP", tunnel=True))
