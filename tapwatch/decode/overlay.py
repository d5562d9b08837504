"""Service-function and overlay encapsulations as tcpdump 4.99 prints them: VXLAN-GPE
(UDP 4790, draft-ietf-nvo3-vxlan-gpe) and the Network Service Header it carries (NSH,
RFC 8300; also on Ethernet as ethertype 0x894F), and LISP's control messages (UDP 4342,
RFC 9301: Map-Register and Map-Notify with their records; the others by type alone, as
tcpdump).

Both print their header on the line and the carried packet after ``: `` (with ``-v``
on the next line, indented, as tcpdump does).  ``-vv`` adds NSH's version and next
protocol; ``-vvv`` its TTL, length, metadata type and context headers.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    ETHERTYPES,
    UDP_PORTS,
    Acc,
    EtherHandler,
    PortHandler,
    Trunc,
    Walk,
    bind,
    bits,
    ethertype_text,
    ethertype_walk,
    fresh,
    ip4,
    need,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.link import ether, ether_walk
from tapwatch.decode.verbose import hexdump

_NSH_NEXT: Final = {
    1: "IPv4",
    2: "IPv6",
    3: "Ethernet",
    4: "NSH",
    5: "MPLS",
    0xFE: "Experiment 1",
    0xFF: "Experiment 2",
}
_NSH_MD: Final = {0: "reserved", 1: "1", 2: "2", 0xF: "experimental"}


def _inner(d: bytes, off: int, end: int, proto: int, a: Acc) -> str | None:
    """The packet a header announces by its next-protocol number (1 IPv4, 2 IPv6,
    3 Ethernet); ``None`` for any other number."""
    data = d if end == len(d) else d[:end]
    if proto == 1 or proto == 2:
        return ethertype_text(data, off, 0x0800 if proto == 1 else 0x86DD, a) or ""
    if proto == 3:
        return ether(data, off, a)[1]
    return None


def _inner_walk(d: bytes, off: int, end: int, proto: int, out: Walk) -> None:
    data = d if end == len(d) else d[:end]
    if proto == 1 or proto == 2:
        ethertype_walk(data, off, 0x0800 if proto == 1 else 0x86DD, out)
    elif proto == 3:
        ether_walk(data, off, out)


def nsh(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """``NSH, flags [none], service-path-id 0x00002a, service-index 0xff: <inner>``."""
    if length < 8:
        a.bad = True
        return f" (packet length {length} < 8) (invalid)"
    if end - off < 4:
        a.bad = True
        return " [|nsh]"
    v = a.verbose
    base = u32(d, off)
    ver, hlen, md, nxt = base >> 30, (base >> 16) & 0x3F, (base >> 8) & 0xF, base & 0xFF
    out = "NSH, " + (f"ver {ver}, " if v > 1 else "")
    if ver:
        return out
    out += "flags [O], " if base & 0x20000000 else "flags [none], "
    if v > 2:
        out += f"TTL {(base >> 22) & 0x3F}, length {hlen}, "
        out += f"md type {_NSH_MD.get(md, f'unknown (0x{md:02x})')}, "
    if v > 1:
        out += f"next-protocol {_NSH_NEXT.get(nxt, f'unknown (0x{nxt:02x})')}, "
    if length < hlen * 4:
        a.bad = True
        return out + f" (too many headers for packet length {length}) (invalid)"
    if end - off < 8:
        a.bad = True
        return out + " [|nsh]"
    w = a.w
    if not w.has(off, "NSH"):
        w = fresh(off, a.w)
        _nsh_walk(d, off, end, w)
        a.adopt(w)
    head = w.header_end(off, "NSH")  # the walk's: the header's length, in words
    out += f"service-path-id 0x{u32(d, off + 4) >> 8:06x}, service-index 0x{d[off + 7]:x}"
    if hlen < 2:
        a.bad = True
        return out + " (less than two headers) (invalid)"
    p = off + 8
    if v > 2 and md in (1, 2):
        text, p = _context(d, p, end, hlen, md)
        out += text
        if p < 0:
            a.bad = True
            return out
    elif head > end:
        a.bad = True
        return out + " [|nsh]"
    else:
        p = head
    if w.full_before(off + 1):  # the walk's count with NSH: no further in
        return out
    inner = _inner(d, p, end, nxt, a)
    sep = "\n    " if v else ": "
    if inner is None:
        return out + sep + "ERROR: unknown-next-protocol"
    return out + sep + inner


def _context(d: bytes, p: int, end: int, hlen: int, md: int) -> tuple[str, int]:
    """-vvv's context headers (MD type 1: four words; 2: TLVs); ``(text, -1)`` when cut."""
    out = ""
    if md == 1:
        if hlen != 6:
            return " (length for the MD type) (invalid)", -1
        for n in range(4):
            if p + 4 > end:
                return out + " [|nsh]", -1
            out += f"\n        Context[{n:02d}]: 0x{u32(d, p):08x}"
            p += 4
        return out, p
    n = 0
    while n < hlen - 2:
        if p + 4 > end:
            return out + " [|nsh]", -1
        cls, typ, tl = d[p] << 8 | d[p + 1], d[p + 2], d[p + 3] & 0x7F
        p += 4
        padded = (tl + 3) & ~3
        out += f"\n        TLV Class {cls}, Type {typ}, Len {tl}"
        n += 1
        if hlen - 2 < n + padded // 4:
            return out + " (length too big) (invalid)", -1
        if tl:
            out += "\n            Value: "
            for i in range(tl):
                if p >= end:
                    return out + " [|nsh]", -1
                out += ("0x" if i == 0 else ":") + f"{d[p]:02x}"
                p += 1
            if p + padded - tl > end:
                return out + " [|nsh]", -1
            p += padded - tl
            n += padded // 4
    return out, p


def _nsh_walk(d: bytes, off: int, end: int, out: Walk) -> None:
    out.add("NSH", off)  # (from VXLAN-GPE no table dispatched to it: its offset said here)
    if end - off < 8:
        return
    base = u32(d, off)
    hlen = (base >> 16) & 0x3F
    out.head(off + hlen * 4)  # its length (in 4-byte words) counts the base header
    if out.full() or base >> 30 or hlen < 2 or off + hlen * 4 > end:
        return
    _inner_walk(d, off + hlen * 4, end, base & 0xFF, out)


def vxlan_gpe(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """``VXLAN-GPE, flags [IP], vni 4660: <NSH or the packet>``."""
    out = "VXLAN-GPE, "
    if length < 8:
        a.bad = True
        return out + f" (len {length} < 8) (invalid)"
    if end - off < 1:
        a.bad = True
        return out + " [|vxlan_gpe]"
    fl = d[off]
    words = ("I" if fl & 8 else "") + ("P" if fl & 4 else "") + ("O" if fl & 1 else "")
    out += f"flags [{words or 'none'}], "
    if end - off < 7:
        a.bad = True
        return out + " [|vxlan_gpe]"
    nxt = d[off + 3]
    vni = (
        u32(d, off + 4) >> 8 if end - off >= 8 else d[off + 4] << 16 | d[off + 5] << 8 | d[off + 6]
    )
    out += f"vni {vni}"
    a.info = f"VXLAN-GPE, VNI {vni}"
    w = a.w
    if not w.has(off, "VXLAN-GPE"):
        w = fresh(off, a.w)
        _vxlan_gpe_walk(d, off, end, w)
        a.adopt(w)
    p = w.header_end(off, "VXLAN-GPE")  # the walk's: its fixed 8-byte header
    if w.full_before(p):
        return out
    sep = "\n    " if a.verbose else ": "
    if nxt == 4:
        return out + sep + nsh(d, p, end, length - (p - off), a)
    inner = _inner(d, p, end, nxt, a)
    if inner is None:
        a.bad = True
        return out + sep + "ERROR: unknown-next-protocol (invalid)"
    return out + sep + inner


class _VxlanGpe(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return vxlan_gpe(d, off, end, length, a)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        _vxlan_gpe_walk(d, off, end, out)


def _vxlan_gpe_walk(d: bytes, off: int, end: int, out: Walk) -> None:
    out.append("VXLAN-GPE")
    out.head(off + 8)  # flags, reserved bits, next protocol, VNI: a fixed size (the tree's)
    if end - off < 8 or out.full():
        return
    nxt = d[off + 3]
    if nxt == 4:
        _nsh_walk(d, off + 8, end, out)
    else:
        _inner_walk(d, off + 8, end, nxt, out)


class _Nsh(EtherHandler):
    """NSH straight on Ethernet (ethertype 0x894F)."""

    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return nsh(d, off, len(d), len(d) - off, a)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        _nsh_walk(d, off, len(d), out)


# --------------------------------------------------------------------------- LISP

_LISP_TYPES: Final = {
    0: "LISP-Reserved",
    1: "LISP-Map-Request",
    2: "LISP-Map-Reply",
    3: "LISP-Map-Register",
    4: "LISP-Map-Notify",
    8: "LISP-Encapsulated-Contol-Message",  # tcpdump's spelling
}
#: Wireshark's names of LISP's message types (the Info column's); 7 is Info-Request or -Reply
_WS_LISP_TYPES: Final = {
    1: "Map-Request",
    2: "Map-Reply",
    3: "Map-Register",
    4: "Map-Notify",
    6: "Map-Referral",
    8: "Encapsulated Control Message",
}
#: Wireshark's names of the LCAF types an EID is worded by when their body says no more
_WS_LCAF_TYPES: Final = {
    0: "Null Body",
    1: "AFI List",
    4: "Application Data",
    6: "Opaque Key",
    10: "Explicit Locator Path",
    11: "Security Key",
    13: "Replication List Entry",
    14: "JSON Data Model",
}
#: an EID whose LCAF type Wireshark words by its body (instance IDs, AS numbers...): no
#: ``for`` then
_WS_LCAF_WORDED: Final = frozenset((2, 3, 5, 7, 8, 9, 12, 15))
_REGISTER_FLAGS: Final = (
    (0x08000000, "P-Proxy-Map-Reply"),
    (0x04000000, "S-LISP-SEC-Capable"),
    (0x02000000, "I-xTR-ID-Present"),
    (0x01000000, "R-Build-For-RTR"),
    (0x00000100, "M-Want-Map-Notify"),
)
_NOTIFY_FLAGS: Final = ((0x08000000, "I-xTR-ID-Present"), (0x04000000, "R-Build-For-RTR"))
_LISP_AUTH: Final = {0: "None", 1: "SHA1", 2: "SHA256"}
_LISP_ACTIONS: Final = ("No-Action", "Natively-Forward", "Send-Map-Request", "Drop")
_LOC_FLAGS: Final = ((4, "Local-Locator"), (2, "RLoc-Probed"), (1, "Reachable"))


def _ws_eid(d: bytes, p: int, end: int) -> str | None:
    """An EID's words after ``for`` in Wireshark's Info (``p``: its AFI); None where tshark
    names none (an AFI it does not read), ``""`` when the address is cut short."""
    if p + 2 > end:
        return ""
    afi, p = u16(d, p), p + 2
    size = {0: 0, 1: 4, 2: 16, 16389: 6, 16387: 6}.get(afi)
    if size is None:
        return None
    if p + size > end:
        return ""
    if afi == 1:
        return ip4(d[p : p + 4])
    if afi == 2:
        return ntop6(d[p : p + 16])
    if afi == 16389:
        return d[p : p + 6].hex(":")
    if afi == 16387:
        lcaf = d[p + 2]
        if lcaf in _WS_LCAF_WORDED:
            return None
        return _WS_LCAF_TYPES.get(lcaf) or f"Unknown LCAF Type ({lcaf})"
    return "not set"


def _ws_lisp(d: bytes, off: int, end: int, a: Acc) -> str:
    """Wireshark's Info for the LISP control message at ``off``: its type, ``(RTR)`` for a
    Map-Register built for one, and the EID prefix of a message with one record."""
    t = d[off] >> 4
    if t == 7:
        word = "Info-Reply" if d[off] & 0x08 else "Info-Request"
    elif t == 8:
        return _ws_ecm(d, off + 4, end, a) or _WS_LISP_TYPES[8]
    else:
        word = _WS_LISP_TYPES.get(t) or f"Unknown LISP Control Packet ({t})"
    if t == 3 and d[off] & 0x01:
        word += " (RTR)"
    if t == 1:  # the records follow the source EID and the ITR-RLOCs
        p = off + 12
        for n in range(1 + (d[off + 2] & 0x1F) + 1):
            if p + 2 > end:
                return word + "[Malformed Packet]"
            # the source EID may be empty (AFI 0), an ITR-RLOC may not
            size = {0: 0 if n == 0 else None, 1: 4, 2: 16}.get(u16(d, p))
            if size is None:
                return word
            p += 2 + size
        mask_at, eid_at = p + 1, p + 2
    elif t in (3, 4, 7):  # after the key ID and the authentication data
        p = off + 16 + (u16(d, off + 14) if off + 16 <= end else 0)
        if t == 7:
            mask_at, eid_at = p + 5, p + 6
        else:
            mask_at, eid_at = p + 5, p + 10
    elif t in (2, 6):
        mask_at, eid_at = off + 17, off + 22
    else:
        return word
    if t != 7 and d[off + 3] != 1:
        return word
    if eid_at > end:
        return word + "[Malformed Packet]"
    eid = _ws_eid(d, eid_at, end)
    if eid is None:
        return word
    if not eid:
        return word + "[Malformed Packet]"
    return f"{word} for {eid}/{d[mask_at]}"


def _ws_ecm(d: bytes, p: int, end: int, a: Acc) -> str:
    """The Info of the IP packet an Encapsulated Control Message carries (Wireshark's Info is
    the inner packet's), read with an accumulator of its own: the line keeps tcpdump's
    words, which stop at the ECM."""
    if p >= end or d[p] >> 4 not in (4, 6) or a.w.full_before(p):
        return ""
    inner = Acc(None, False)
    inner.w = a.w  # the packet is walked from ``p`` on, counting on from the frame's walk
    ethertype_text(d if end == len(d) else d[:end], p, 0x0800 if d[p] >> 4 == 4 else 0x86DD, inner)
    return inner.info


def _lisp_dump(d: bytes, p: int, n: int, end: int, prefix: str, out: list[str]) -> bool:
    """tcpdump's ``hex_print`` of ``n`` bytes; False (after what was there) when cut short."""
    out.append(hexdump(d[p : min(p + n, end)], prefix) if p < end else "")
    return p + n <= end


def lisp(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """``LISP-Map-Register, 1 record(s),`` then one line per EID record (its locators)."""
    if end - off < 16:
        a.bad = True
        return " [|lisp]"
    v = a.verbose
    t = d[off] >> 4
    out = [_LISP_TYPES.get(t, f"unknown-type-{t}") + ","]
    if not a.lean:
        a.info = _ws_lisp(d, off, end, a)
    if t != 3 and t != 4:
        return out[0]
    if v:
        out.append(f" flags [{bits(_REGISTER_FLAGS if t == 3 else _NOTIFY_FLAGS, u32(d, off))}],")
    xtr = d[off] & (2 if t == 3 else 8)
    alen = u16(d, off + 14)
    count = d[off + 3]
    if v:
        key = u16(d, off + 12)
        out.append(
            f"\n    {count} record(s), Authentication {_LISP_AUTH.get(key, 'unknown-type')},"
        )
        if not _lisp_dump(d, off + 16, alen, end, "\n    Authentication-Data: ", out):
            a.bad = True
            return "".join(out) + " [|lisp]"
    else:
        out.append(f" {count} record(s),")
    po = off + 16 + alen
    if count == 0:
        return "".join(out) + " (invalid)"
    try:
        while length > po - off and count:
            count -= 1
            need(po, 12, end)
            out.append("\n")
            lc, mask, afi = d[po + 4], d[po + 5], u16(d, po + 10)
            if v:
                flags = d[po + 6]
                auth = " Authoritative," if flags & 0x10 else " Non-Authoritative,"
                act = _LISP_ACTIONS[flags >> 5] if flags >> 5 < 4 else "unknown"
                out.append(
                    f"      Record TTL {u32(d, po)},{auth} {act}, "
                    f"Map Version: {u16(d, po + 8) & 0xFFF},"
                )
            po += 12
            if afi == 1:
                need(po, 4, end)
                out.append(f" EID {ip4(d[po : po + 4])}/{mask},")
                po += 4
            elif afi == 2:
                need(po, 16, end)
                out.append(f" EID {ntop6(d[po : po + 16])}/{mask},")
                po += 16
            else:  # an LCAF address: tcpdump stops here
                return "".join(out)
            out.append(f" {lc} locator(s)")
            for _ in range(lc):
                need(po, 8, end)
                lp = po
                po += 8
                lafi = u16(d, lp + 6)
                if v:
                    out.append("\n       ")
                if lafi == 1:
                    need(po, 4, end)
                    out.append(f" LOC {ip4(d[po : po + 4])}")
                    po += 4
                elif lafi == 2:
                    need(po, 16, end)
                    out.append(f" LOC {ntop6(d[po : po + 16])}")
                    po += 16
                if v:
                    out.append(
                        f"\n          Priority/Weight {d[lp]}/{d[lp + 1]}, Multicast "
                        f"Priority/Weight {d[lp + 2]}/{d[lp + 3]}, "
                        f"flags [{bits(_LOC_FLAGS, u16(d, lp + 4))}],"
                    )
    except Trunc:
        a.bad = True
        return "".join(out) + " [|lisp]"
    if xtr:
        if po + 24 > end:
            return "".join(out) + " (invalid)"
        out.append(hexdump(d[po : po + 16], "\n    xTR-ID: "))
        out.append(f"\n    SITE-ID: {int.from_bytes(d[po + 16 : po + 24], 'big')}")
    elif po < end:
        out.append(hexdump(d[po:end], "\n    Data: "))
    return "".join(out)


class _Lisp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        text = lisp(d, off, end, length, a)
        if length == 0:  # Wireshark hands an empty payload to no protocol: UDP's words
            a.info = f"{sport} → {dport} Len=0"
        elif a.bad and a.info and not a.info.endswith("]"):
            a.info += "[Malformed Packet]"  # Wireshark's, right after its words
        if a.strict or a.verbose or "\n" not in text:
            return text
        # one packet, one line: the records follow on it (tcpdump starts a line for each)
        return " ".join(part.strip(" ") for part in text.split("\n"))

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("LISP")


bind(UDP_PORTS, (4342,), _Lisp("LISP"))
bind(UDP_PORTS, (4790,), _VxlanGpe("VXLAN-GPE", tunnel=True))
bind(ETHERTYPES, (0x894F,), _Nsh("NSH"))
