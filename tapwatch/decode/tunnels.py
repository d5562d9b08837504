"""Tunnels, down to the inner packet: GRE (and Ethernet over GRE, ERSPAN I/II), VXLAN, Geneve,
MPLS, ESP and AH, WireGuard and OpenVPN (L2TP: :mod:`tapwatch.decode.l2tp`).

Where the inner packet is plaintext the line goes on with it, as tcpdump prints it:
``IP a > b: GREv0, length 36: IP c > d: ICMP echo request, ...``.  Two forms are
tapwatch's own (see the package docstring for the list): VXLAN's inner frame
follows ``: `` on the same line, where tcpdump starts a second line, so one packet
stays one line; and WireGuard, OpenVPN and ERSPAN, which tcpdump 4.99 does not
decode, show their fields.  ``Acc.strict`` restores tcpdump's exact text.
"""

from __future__ import annotations

import struct
from typing import Final

from tapwatch.decode.apps import tls_info
from tapwatch.decode.core import (
    ETHERTYPES,
    IP_PROTOS,
    S_H,
    S_HH,
    S_I,
    S_II,
    TCP_PORTS,
    UDP_HEURISTICS,
    UDP_PORTS,
    Acc,
    Ctx,
    EtherHandler,
    IpHandler,
    PortHandler,
    Walk,
    bind,
    ethertype_text,
    ethertype_walk,
    fresh,
    head_noport,
    ip4,
    ip_text,
    ip_walk,
)
from tapwatch.decode.ip import ah_header, upper, upper_walk
from tapwatch.decode.link import ether, ether_walk

_S_LE_I: Final = struct.Struct("<I")
_S_LE_II: Final = struct.Struct("<II")
_S_LE_IQ: Final = struct.Struct("<IQ")


def parts(w: Walk, off: int, name: str) -> list[int]:
    """The headers the walk read inside the layer ``name`` at ``off``, as flat ``start, end``
    pairs in the order read (MPLS's labels, GRE's source route entries, OpenVPN's records
    over TCP): what a text iterates instead of reading their length fields again."""
    names = w.names
    starts = w.starts
    k = -1
    for i in range(len(starts) - 1, -1, -1):
        if starts[i] == off and names[i] == name:
            k = i
            break
    out: list[int] = []
    if k < 0:
        return out
    inner = w.inner
    for i in range(0, len(inner), 3):
        if inner[i + 2] == k:
            out.append(inner[i])
            out.append(inner[i + 1])
    return out


def inner_ether(d: bytes, off: int, end: int, a: Acc) -> str:
    """An Ethernet frame carried in a tunnel, printed without its link header (no ``-e``)."""
    _link, text = ether(d if end == len(d) else d[:end], off, a)
    return text


def inner_ether_walk(d: bytes, off: int, end: int, out: Walk) -> None:
    ether_walk(d if end == len(d) else d[:end], off, out)


# --------------------------------------------------------------------------- GRE

_GRE_FLAGS: Final = (
    (0x8000, "checksum present"),
    (0x4000, "routing present"),
    (0x2000, "key present"),
    (0x1000, "sequence# present"),
    (0x0800, "strict source route"),
    (0x0080, "ack present"),
)


def _gre(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str | None:
    if frag:
        return None
    hd = head_noport(ctx)
    if end - off < 4:
        a.bad = True
        return f"{hd}GRE [|gre]"
    flags, proto = S_HH.unpack_from(d, off)
    ver = flags & 7
    # where the header ends (after the optional fields and the source route entries) and
    # where each entry ends: the walk's, which alone reads the entries' lengths
    w = a.w
    if not w.has(off, "GRE"):
        w = fresh(off, a.w)
        _gre_walk(d, off, end, clen, w, False)
        a.adopt(w)
    p = off + 4
    out = f"{hd}GREv{ver}"
    if a.verbose:
        out += ", Flags [" + (", ".join(n for bit, n in _GRE_FLAGS if flags & bit) or "none") + "]"
    if ver == 1:  # enhanced GRE (PPTP): key = payload length and call id
        if end - p < 4:
            a.bad = True
            return out + " [|gre]"
        _plen, call = S_HH.unpack_from(d, p)
        p += 4
        out += f", call {call}"
        if flags & 0x1000:
            if end - p < 4:
                a.bad = True
                return out + " [|gre]"
            out += f", seq {S_I.unpack_from(d, p)[0]}"
            p += 4
        if flags & 0x80:
            if end - p < 4:
                a.bad = True
                return out + " [|gre]"
            out += f", ack {S_I.unpack_from(d, p)[0]}"
            p += 4
        # Wireshark's GRE Info, which what the GRE carries then replaces
        a.info = "Encapsulated PPP" if proto == 0x880B else f"GRE v1 call {call}"
        if not flags & 0x1000:
            return f"{out}, no-payload, length {clen}"
        out += f", length {clen}" + ("\n\t" if a.verbose else ": ")
        if proto == 0x880B and not w.full_before(off + 1):  # the walk's count with GRE
            if flags & 0xE000 == 0x2000:  # the walk's header; else tcpdump's: it reads the
                p = w.header_end(off, "GRE")  # key whatever K says, the walk as tshark
            return out + (ethertype_text(d if end == len(d) else d[:end], p, 0x880B, a) or "")
        return out + f"gre-proto-0x{proto:x}"
    if ver != 0:
        a.info = f"GRE v{ver}"
        return f"{out} [|gre]"
    if flags & 0xC000:  # checksum or routing present: checksum + offset words
        if end - p < 4:
            a.bad = True
            return out + " [|gre]"
        if a.verbose:
            out += f", sum 0x{S_H.unpack_from(d, p)[0]:x}"
        out += f", off 0x{S_H.unpack_from(d, p + 2)[0]:x}"
        p += 4
    if flags & 0x2000:
        if end - p < 4:
            a.bad = True
            return out + " [|gre]"
        out += f", key=0x{S_I.unpack_from(d, p)[0]:x}"
        p += 4
    seq = -1
    if flags & 0x1000:
        if end - p < 4:
            a.bad = True
            return out + " [|gre]"
        seq = S_I.unpack_from(d, p)[0]
        out += f", seq {seq}"
        p += 4
    if flags & 0x4000:
        out += _gre_sres(d, parts(w, off, "GRE"), end)
    p = w.header_end(off, "GRE")
    if p < 0:  # the entries ran past the data
        a.bad = True
        return out
    out += f", length {clen}\n\t" if a.verbose else f", length {clen}: "
    a.info = f"Generic Routing Encapsulation (0x{proto:04x})"
    if w.full_before(p):  # the walk went (or would go) no further in
        return out + f"gre-proto-0x{proto:x}"
    if proto == 0x6558:
        return out + inner_ether(d, p, end, a)
    if proto == 0x88BE and not a.strict:
        return out + _erspan(d, p, end, a, seq >= 0)
    if proto in (0x0800, 0x86DD, 0x8847):
        text = ethertype_text(d if end == len(d) else d[:end], p, proto, a)
        if text is not None:
            return out + text
    return out + f"gre-proto-0x{proto:x}"


def _gre_sres(d: bytes, sres: list[int], end: int) -> str:
    """tcpdump's words for RFC 1701's source route entries, as flat ``start, end`` pairs
    from the walk: ``, (rtaf=ip *a b)`` (IPv4 hops, ``*`` at the entry's offset),
    ``, (rtaf=asn 64 *c8)`` (AS numbers in hex), ``, (rtaf=0x1234)``, an entry whose offset
    or length is wrong said so; `` [|gre]`` after them unless the NULL entry ends them
    (the walk read at most 64)."""
    out = ""
    for i in range(0, len(sres), 2):
        p, e = sres[i], sres[i + 1]
        af = d[p] << 8 | d[p + 1]
        if af == 0 and e == p + 4:
            return out
        if e > end:
            return out + " [|gre]"
        out += _gre_sre(d, af, d[p + 2], e - p - 4, p + 4)
    return out + " [|gre]"


def _gre_sre(d: bytes, af: int, off: int, n: int, p: int) -> str:
    if af not in (0x0800, 0xFFFE):
        return f", (rtaf=0x{af:x})"
    size, name = (4, "ip") if af == 0x0800 else (2, "asn")
    if off % size:
        return f", (rtaf={name}, badoffset={off})"
    if n % size:
        return f", (rtaf={name}, badlength={n})"
    if off >= n:
        return f", (rtaf={name}, badoff/len={off}/{n})"
    words = [
        ("*" if q - p == off else "")
        + (ip4(d[q : q + 4]) if size == 4 else f"{d[q] << 8 | d[q + 1]:x}")
        for q in range(p, p + n, size)
    ]
    return f", (rtaf={name} {' '.join(words)})"


def _gre_sres_end(d: bytes, p: int, end: int, out: Walk) -> int:
    """Where RFC 1701's source route entries from ``p`` end (after the NULL entry: address
    family 0, length 0), at most 64 of them; -1 when they run past ``end``.  Each entry
    whose length was read is a part of the layer (what the text words, entry by entry)."""
    for _ in range(64):
        if p + 4 > end:
            return -1
        n = d[p + 3]
        out.part(p, p + 4 + n)
        if d[p] == 0 and d[p + 1] == 0 and n == 0:
            return p + 4
        p += 4 + n
    return -1


def _gre_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    if frag:
        return
    out.append("GRE")
    if end - off < 4:
        return
    flags, proto = S_HH.unpack_from(d, off)
    version = flags & 7
    # each optional field a flag announces: checksum and offset (also for routing), key
    # (PPTP's payload length and call ID), sequence number, PPTP's acknowledgment
    p = (
        off
        + 4
        + (4 if flags & 0xC000 else 0)
        + (4 if flags & 0x2000 else 0)
        + (4 if flags & 0x1000 else 0)
        + (4 if version == 1 and flags & 0x0080 else 0)
    )
    if flags & 0x4000 and version == 0:  # RFC 1701's source route entries, to the NULL one
        p = _gre_sres_end(d, p, end, out)
    if p < 0:  # the entries run past the data: where the header ends is not known
        return
    out.head(p)
    if version > 1 or p > end or out.full():
        return
    if version:
        if proto == 0x880B and flags & 0x1000:
            ethertype_walk(d if end == len(d) else d[:end], p, proto, out)
        return
    if proto == 0x6558:
        inner_ether_walk(d, p, end, out)
    elif proto == 0x88BE:
        _erspan_walk(d, p, end, out, bool(flags & 0x1000))
    elif proto in (0x0800, 0x86DD, 0x8847):
        ethertype_walk(d if end == len(d) else d[:end], p, proto, out)


def _erspan(d: bytes, p: int, end: int, a: Acc, typ2: bool) -> str:
    """ERSPAN type I (no header: GRE without sequence) or type II (8-byte header)."""
    w = a.w
    if not w.has(p, "ERSPAN"):
        w = fresh(p, a.w)
        _erspan_walk(d, p, end, w, typ2)
        a.adopt(w)
    h = w.header_end(p, "ERSPAN")  # the walk's: type II's header, type I's none
    if h == p:
        return "ERSPAN I: " + inner_ether(d, p, end, a)
    if h > end:
        a.bad = True
        return "ERSPAN II [|erspan]"
    w1, _w2 = S_II.unpack_from(d, p)
    vlan = w1 >> 16 & 0xFFF
    session = w1 & 0x3FF
    return f"ERSPAN II, session {session}, vlan {vlan}: " + inner_ether(d, h, end, a)


def _erspan_walk(d: bytes, p: int, end: int, out: Walk, typ2: bool) -> None:
    out.add("ERSPAN", p, p + 8 if typ2 else p)
    inner_ether_walk(d, p + 8 if typ2 else p, end, out)


# --------------------------------------------------------------------------- ESP / AH


def _esp(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str | None:
    hd = head_noport(ctx)
    w = a.w
    if not w.has(off, "ESP"):
        w = fresh(off, a.w)
        _esp_walk(d, off, end, clen, w, frag)
        a.adopt(w)
    if w.header_end(off, "ESP") > end:  # the walk's: the SPI and sequence number
        a.bad = True
        return f"{hd} [|esp]"
    spi, seq = S_II.unpack_from(d, off)
    a.info = f"ESP (SPI=0x{spi:08x})"
    return f"{hd}ESP(spi=0x{spi:08x},seq=0x{seq:x}), length {clen}"


def _esp_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    out.append("ESP")
    out.head(off + 8)  # the SPI and sequence number; the rest is encrypted


def _ah(d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool) -> str | None:
    w = a.w
    if not w.has(off, "AH"):
        w = fresh(off, a.w)
        _ah_walk(d, off, end, clen, w, frag)
        a.adopt(w)
    p = w.header_end(off, "AH")  # the walk's: what its length says
    text, nxt, size = ah_header(d, off, end, a.verbose > 0, p if end - off >= 12 else -1)
    if size < 0:
        a.bad = True
        return head_noport(ctx) + text
    a.info = text.rstrip(": ")
    if w.full_before(p):
        return head_noport(ctx) + text
    inner: Ctx = (ctx[0], ctx[1], ctx[2], ctx[3], ctx[4] + text, ctx[5], ctx[6])
    return upper(d, p, end, clen - (p - off), nxt, a, inner, frag)


def _ah_walk(d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
    out.append("AH")
    if end - off < 2:
        return
    size = 8 + (d[off + 1] << 2)  # what its length says (in 32-bit words, less 2)
    out.head(off + size)  # cut short or not
    if end - off < 12 or off + size > end or out.full():
        return
    upper_walk(d, off + size, end, clen - size, d[off], out, frag)


# --------------------------------------------------------------------------- MPLS


def _mpls(d: bytes, off: int, a: Acc) -> str:
    n = len(d)
    w = a.w
    if not w.has(off, "MPLS"):
        w = fresh(off, a.w)
        _mpls_walk(d, off, w)
        a.adopt(w)
    # the labels the walk read (each a part), and where the stack ends: after the label
    # with the bottom-of-stack bit (-1: cut short, or 16 labels without it)
    labels = parts(w, off, "MPLS")
    p = w.header_end(off, "MPLS")
    words: list[str] = []
    label = -1
    for i in range(0, len(labels), 2):
        v = S_I.unpack_from(d, labels[i])[0]
        label = v >> 12
        bos = ", [S]" if v >> 8 & 1 else ""
        words.append(f"(label {label}, tc {v >> 9 & 7}{bos}, ttl {v & 0xFF})")
    if p < 0:
        a.bad = True
        if len(labels) < 32:  # cut short
            return "MPLS " + " ".join(words) + (" " if words else "") + "[|mpls]"
        return "MPLS " + " ".join(words)
    sep = "\n\t" if a.verbose else " "  # tcpdump -v: a line per label, and the packet
    out = "MPLS " + sep.join(words)
    a.info = f"MPLS label {label}"
    if p >= n or w.full_before(p):
        return out
    v = 4 if label == 0 else 6 if label == 2 else d[p] >> 4
    if v == 4 or v == 6:
        return f"{out}{sep}{ip_text(d, p, n, a)}"
    return out


def _mpls_walk(d: bytes, off: int, out: Walk) -> None:
    out.append("MPLS")
    n = len(d)
    p = off
    for _ in range(16):
        if n - p < 4:
            return
        out.part(p, p + 4)
        bos = d[p + 2] & 1
        p += 4
        if bos:
            break
    else:
        return
    out.head(p)
    if p < n and not out.full() and d[p] >> 4 in (4, 6):
        ip_walk(d, p, n, out)


# --------------------------------------------------------------------------- VXLAN / Geneve


def _vxlan(d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int) -> str | None:
    w = a.w
    if not w.has(off, "VXLAN"):
        w = fresh(off, a.w)
        _vxlan_walk(d, off, end, w, sport, dport)
        a.adopt(w)
    p = w.header_end(off, "VXLAN")  # the walk's: flags, reserved bits, VNI
    if p > end:
        a.bad = True
        return "VXLAN [|vxlan]"
    flags = d[off]
    vni = S_I.unpack_from(d, off + 4)[0] >> 8
    a.info = f"VXLAN, VNI {vni}"
    out = f"VXLAN, flags [{'I' if flags & 8 else '.'}] (0x{flags:02x}), vni {vni}"
    if w.full_before(p):
        return out
    return out + ("\n" if a.strict else ": ") + inner_ether(d, p, end, a)


def _vxlan_walk(d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
    out.append("VXLAN")
    out.head(off + 8)
    if end - off >= 8 and not out.full():
        inner_ether_walk(d, off + 8, end, out)


def _geneve(
    d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
) -> str | None:
    if end - off < 8:
        a.bad = True
        return "Geneve [|geneve]"
    vo = d[off]
    if vo >> 6:
        return f"Geneve ERROR: unknown-version {vo >> 6}"
    flags = d[off + 1]
    proto = S_H.unpack_from(d, off + 2)[0]
    vni = S_I.unpack_from(d, off + 4)[0]
    rsvd = vni & 0xFF
    vni >>= 8
    fl = ("O" if flags & 0x80 else "") + ("C" if flags & 0x40 else "")
    out = f"Geneve, Flags [{fl or 'none'}], vni 0x{vni:x}"
    if rsvd:
        out += f", rsvd 0x{rsvd:x}"
    a.info = f"Geneve, VNI 0x{vni:x}"
    w = a.w
    if not w.has(off, "Geneve"):
        w = fresh(off, a.w)
        _geneve_walk(d, off, end, w, sport, dport)
        a.adopt(w)
    p = w.header_end(off, "Geneve")  # the walk's: after the options its length announces
    if p > end:
        return f"{out} truncated-geneve - {p - end} bytes missing"
    if p > off + 8:
        out += f", options [{p - off - 8} bytes]"
    if w.full_before(p):
        return out
    sep = "\n\t" if a.verbose else ": "
    if proto == 0x6558:
        return out + sep + inner_ether(d, p, end, a)
    text = ethertype_text(d if end == len(d) else d[:end], p, proto, a)
    if text is None:
        return f"{out}{sep}geneve-proto-0x{proto:x}"
    return f"{out}{sep}{text}"


def _geneve_walk(d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
    out.append("Geneve")
    if end - off < 8:
        return
    proto = S_H.unpack_from(d, off + 2)[0]
    p = off + 8 + (d[off] & 0x3F) * 4
    out.head(p)
    if d[off] >> 6 or p > end or out.full():
        return
    if proto == 0x6558:
        inner_ether_walk(d, p, end, out)
    elif proto in ETHERTYPES:
        ethertype_walk(d if end == len(d) else d[:end], p, proto, out)


# --------------------------------------------------------------------------- WireGuard

_WG_SIZES: Final = {1: 148, 2: 92, 3: 64}


def wireguard_type(d: bytes, off: int, end: int, port: bool = False) -> int:
    """The WireGuard message type (1-4) if the payload has that message's shape, else 0.

    Transport data is padded to 16 bytes, except where the padding would pass the
    tunnel's MTU: a full-size packet (``ping -s 1392`` through a 1420-byte wg device)
    is not a multiple of 16.  On WireGuard's own port (``port``) any size from 32 is
    taken; elsewhere the multiple of 16 is what tells WireGuard from other traffic.
    """
    n = end - off
    if n < 4 or d[off + 1] or d[off + 2] or d[off + 3]:
        return 0
    t = d[off]
    if _WG_SIZES.get(t) == n or (t == 4 and n >= 32 and (port or n % 16 == 0)):
        return t
    return 0


def _wireguard(
    d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
) -> str | None:
    if a.strict:
        return None
    w = a.w
    if not w.has(off, "WireGuard"):
        # tried on every UDP payload no port claimed: its shape (not a boundary) first, a
        # walk made only for a message the frame's walk did not reach
        if not wireguard_type(d, off, end, sport == 51820 or dport == 51820):
            return None
        w = fresh(off, a.w)
        _wireguard_walk(d, off, end, w, sport, dport)
        a.adopt(w)
    p = w.header_end(off, "WireGuard")  # the walk's: the message has WireGuard's shape
    if p < 0:
        return None
    t = d[off]
    if t == 1:
        snd = _S_LE_I.unpack_from(d, p)[0]
        text = f"handshake initiation, sender 0x{snd:08x}"
        a.info = f"Handshake Initiation, sender=0x{snd:08X}"
    elif t == 2:
        snd, rcv = _S_LE_II.unpack_from(d, p)
        text = f"handshake response, sender 0x{snd:08x}, receiver 0x{rcv:08x}"
        a.info = f"Handshake Response, sender=0x{snd:08X}, receiver=0x{rcv:08X}"
    elif t == 3:
        rcv = _S_LE_I.unpack_from(d, p)[0]
        text = f"cookie reply, receiver 0x{rcv:08x}"
        a.info = f"Cookie Reply, receiver=0x{rcv:08X}"
    else:
        rcv, ctr = _S_LE_IQ.unpack_from(d, p)
        what = "keepalive" if end - off == 32 else "transport data"
        text = f"{what}, receiver 0x{rcv:08x}, counter {ctr}"
        # Wireshark's words: the data's length less the 16-byte header and 16-byte tag
        a.info = f"Transport Data, receiver=0x{rcv:08X}, counter={ctr}, datalen={end - off - 32}"
    return f"WireGuard {text}, length {length}"


def wireguard_head(d: bytes, off: int, end: int) -> int:
    """Where the header of the WireGuard message at ``off`` ends, as the walk reads it off
    WireGuard's port (-1: not a message's shape): for a reader the frame's walk gave no
    WireGuard layer there (the display filter's heuristic, on a port the decoder gives
    another protocol)."""
    w = fresh(off)
    _wireguard_walk(d, off, end, w, 0, 0)
    return w.header_end(off, "WireGuard")


def _wireguard_walk(d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
    if wireguard_type(d, off, end, sport == 51820 or dport == 51820):
        out.append("WireGuard")
        out.head(off + 4)  # the type and three reserved bytes


# --------------------------------------------------------------------------- OpenVPN

#: OpenVPN's opcodes, by number (the one table: the tree and scapy's layer read it too)
OPENVPN_OPCODES: Final = {
    1: "P_CONTROL_HARD_RESET_CLIENT_V1",
    2: "P_CONTROL_HARD_RESET_SERVER_V1",
    3: "P_CONTROL_SOFT_RESET_V1",
    4: "P_CONTROL_V1",
    5: "P_ACK_V1",
    6: "P_DATA_V1",
    7: "P_CONTROL_HARD_RESET_CLIENT_V2",
    8: "P_CONTROL_HARD_RESET_SERVER_V2",
    9: "P_DATA_V2",
    10: "P_CONTROL_HARD_RESET_CLIENT_V3",
    11: "P_CONTROL_WKC_V1",
}


def _openvpn_msg(d: bytes, p: int, end: int, length: int) -> str | None:
    if end - p < 1:
        return None
    op = d[p] >> 3
    name = OPENVPN_OPCODES.get(op)
    if name is None:
        return None
    out = f"OpenVPN {name}, key {d[p] & 7}"
    if op == 9:
        if end - p >= 4:
            out += f", peer {d[p + 1] << 16 | d[p + 2] << 8 | d[p + 3]}"
    elif op != 6 and end - p >= 9:
        out += f", session 0x{d[p + 1 : p + 9].hex()}" + _openvpn_reliable(d, p, end, op, length)
    return f"{out}, length {length}"


def _openvpn_reliable(d: bytes, p: int, end: int, op: int, length: int) -> str:
    """A control message's reliability layer, as tshark shows it: the packet-ids it
    acknowledges (and the peer's session they belong to) and its own packet-id.

    Only when the sizes add up to a plain control channel: with tls-auth or tls-crypt an
    HMAC (or ciphertext) follows the session, and nothing after it is printed.
    """
    q = p + 9
    if end - q < 1 or length > end - p:
        return ""
    n = d[q]
    q += 1
    need = 4 * n + (8 if n else 0) + (0 if op == 5 else 4)
    if n > 8 or end - q < need or (op == 5 and end - q != need):
        return ""
    out = ""
    if n:
        acks = ",".join(str(S_I.unpack_from(d, q + 4 * i)[0]) for i in range(n))
        q += 4 * n
        out += f", acks [{acks}], remote session 0x{d[q : q + 8].hex()}"
        q += 8
    if op != 5:
        out += f", packet-id {S_I.unpack_from(d, q)[0]}"
    return out


def _openvpn_udp(
    d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
) -> str | None:
    if a.strict:
        return None
    w = a.w
    if not w.has(off, "OpenVPN"):
        w = fresh(off, a.w)
        _openvpn_walk(d, off, end, w, sport, dport)
        a.adopt(w)
    if w.header_end(off, "OpenVPN") < 0:  # the walk's: an opcode OpenVPN has
        return None
    text = _openvpn_msg(d, off, end, length)
    if text is None:
        return None
    a.info = _openvpn_info(d, off, end)
    return text


def _openvpn_tcp(
    d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
) -> str | None:
    if a.strict or end - off < 3:
        return None
    w = a.w
    if not w.has(off, "OpenVPN"):
        # walked to the end the headers claim: a record the capture cut is still one
        w = fresh(off, a.w)
        _openvpn_tcp_walk(d, off, off + length if off + length > end else end, w, sport, dport)
        a.adopt(w)
    rec = w.layer_end(off, "OpenVPN")  # the walk's: the first record's end, by its length
    if rec < 0 or rec > off + length:
        return None
    text = _openvpn_msg(d, off + 2, end, rec - off - 2)
    if text is None:
        return None
    a.info = _openvpn_info(d, off + 2, end)
    return ": " + text


def _openvpn_info(d: bytes, p: int, end: int) -> str:
    """Wireshark's Info for an OpenVPN message: its type (checked by the caller), or for a
    control message that carries TLS, TLS's Info of its records (:func:`apps.tls_info`)."""
    if d[p] >> 3 == 4:  # P_CONTROL_V1: session ID, acks, remote session, packet ID, TLS
        q = p + 9
        if q < end:
            n = d[q]
            q += 1 + 4 * n + (8 if n else 0) + 4
            if q < end:
                info = tls_info(d, q, end)
                if info is not None:
                    return info
                if d[q] < 20 or d[q] > 24:  # the rest of a record an earlier message began
                    return "Continuation Data"
    return f"MessageType: {OPENVPN_OPCODES[d[p] >> 3]}"


def _openvpn_walk(d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
    if end - off >= 1 and d[off] >> 3 in OPENVPN_OPCODES:
        out.append("OpenVPN")
        out.head(off + 1)  # the opcode and key ID


def _openvpn_tcp_walk(d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
    if (
        end - off >= 3
        and S_H.unpack_from(d, off)[0] + 2 <= end - off
        and d[off + 2] >> 3 in OPENVPN_OPCODES
    ):
        out.append("OpenVPN")
        out.head(off + 3)  # the record's length, the opcode and key ID
        rec = off + 2 + S_H.unpack_from(d, off)[0]
        out.extent(rec)  # the first record's end
        if out.keep:
            _openvpn_records(d, off, rec, min(end, len(d)), out)


#: the records of one TCP segment the walk records: one more than the display filter gives
#: layers (its MAX_TCP_RECORDS; the tree shows fewer, MAX_ITEMS nodes)
_MAX_RECORDS: Final = 257


def _openvpn_records(d: bytes, off: int, rec: int, end: int, out: Walk) -> None:
    """Every record of an OpenVPN-over-TCP segment (from ``off``, the first ending at
    ``rec``) as a part of the layer, while their lengths lie in the segment's bytes: what
    the tree reads the further records' extents from.  A record of length 0 ends them."""
    out.part(off, rec)
    p = rec
    for _ in range(_MAX_RECORDS):
        if p + 2 > end:
            return
        n = S_H.unpack_from(d, p)[0]
        if n == 0:
            return
        out.part(p, p + 2 + n)
        p += 2 + n


class _Gre(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _gre(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _gre_walk(d, off, end, clen, out, frag)


class _Esp(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _esp(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _esp_walk(d, off, end, clen, out, frag)


class _Ah(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        return _ah(d, off, end, clen, a, ctx, frag)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        _ah_walk(d, off, end, clen, out, frag)


class _Mpls(EtherHandler):
    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return _mpls(d, off, a)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        _mpls_walk(d, off, out)


class _Vxlan(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _vxlan(d, off, end, length, a, sport, dport)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _vxlan_walk(d, off, end, out, sport, dport)


class _Geneve(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _geneve(d, off, end, length, a, sport, dport)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _geneve_walk(d, off, end, out, sport, dport)


class _WireGuard(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _wireguard(d, off, end, length, a, sport, dport)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _wireguard_walk(d, off, end, out, sport, dport)


class _OpenVpnUdp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _openvpn_udp(d, off, end, length, a, sport, dport)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _openvpn_walk(d, off, end, out, sport, dport)


class _OpenVpnTcp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _openvpn_tcp(d, off, end, length, a, sport, dport)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _openvpn_tcp_walk(d, off, end, out, sport, dport)


bind(IP_PROTOS, (47,), _Gre("GRE"))
bind(IP_PROTOS, (50,), _Esp("ESP"))
bind(IP_PROTOS, (51,), _Ah("AH"))
bind(ETHERTYPES, (0x8847, 0x8848), _Mpls("MPLS"))
bind(UDP_PORTS, (4789,), _Vxlan("VXLAN", tunnel=True))
bind(UDP_PORTS, (6081,), _Geneve("Geneve", tunnel=True))
UDP_HEURISTICS.append(bind(UDP_PORTS, (51820,), _WireGuard("WireGuard")))  # on any port
bind(UDP_PORTS, (1194,), _OpenVpnUdp("OpenVPN"))
bind(TCP_PORTS, (1194,), _OpenVpnTcp("OpenVPN"))
