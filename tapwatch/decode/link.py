"""The link layer: Ethernet (VLAN tags, 802.2 LLC/SNAP), Linux cooked v1/v2, BSD loopback, ARP.

Each link type and ethertype is one :class:`~tapwatch.decode.core.Handler` bound
in the tables of :mod:`tapwatch.decode.core`; what follows the link header is
found through the ethertype table.
"""

from __future__ import annotations

import struct
from typing import Final

from tapwatch.decode.core import (
    ETHERTYPES,
    FALLBACK,
    LINKTYPES,
    S_HH,
    Acc,
    EtherHandler,
    LinkHandler,
    Walk,
    bind,
    ethertype_text,
    ethertype_walk,
    fresh,
    ip4,
    mac,
    ntop6,
)
from tapwatch.decode.names import (
    ARP_OPS,
    ETHER_OTHER_LAYERS,
    ETHERTYPE_NAMES,
    MAX_VLAN_TAGS,
    NULL_FAMILIES,
    SLL_PKTTYPES,
    VLAN_TYPES,
)
from tapwatch.decode.verbose import hex_ascii
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

_S_SLL: Final = struct.Struct("!HHH8sH")
_S_SLL2: Final = struct.Struct("!HHIHBB8s")

_ETYPE_STR: Final = {t: f"ethertype {n} (0x{t:04x})" for t, n in ETHERTYPE_NAMES.items()}

#: The ethertype that announces an 802.2 LLC header (jumbo frames' LLC, tcpdump's
#: ``ETHERTYPE_JUMBO``): what follows is read as after an 802.3 length.
ETHERTYPE_LLC: Final = 0x8870


def etype_str(t: int) -> str:
    """tcpdump's ``ethertype IPv4 (0x0800)``."""
    return _ETYPE_STR.get(t) or f"ethertype Unknown (0x{t:04x})"


# --------------------------------------------------------------------------- Ethernet


def ether(d: bytes, off: int, a: Acc) -> tuple[str, str]:
    """Ethernet II / 802.3 from ``off``, with any number (up to 8) of 802.1Q/802.1ad tags.

    Where the Ethernet header, each tag and an 802.3 length's LLC end is the frame's walk's
    (:func:`ether_walk`, the one reader of those boundaries): the text reads the fields."""
    w = a.w
    p = outer_end(w, off, "Ethernet")
    if p < 0:  # a frame the walk did not go into (one a tunnel carries past its reach)
        w = walked_from(d, off, a, _ETHER)
        p = w.header_end(off, "Ethernet")
    n = len(d) - off
    if p < 0 or len(d) < p:
        a.bad = True
        if n >= 12:
            a.dst = mac(d[off : off + 6])
            a.src = mac(d[off + 6 : off + 12])
            return "", f"{a.src} > {a.dst}, length {n}: [|ether]"
        return "", f"[|ether], length {n}"
    t = d[p - 2] << 8 | d[p - 1]
    if (
        a.lean and t > 1500 and t not in VLAN_TYPES and t != ETHERTYPE_LLC
    ):  # the -e text is not wanted
        text = ethertype_text(d, p, t, a)
        if text is None:
            return (
                "",
                f"{mac(d[off + 6 : off + 12])} > {mac(d[off : off + 6])}, {etype_str(t)}, "
                f"length {n}",
            )
        return "", text
    dst = mac(d[off : off + 6])
    src = mac(d[off + 6 : off + 12])
    a.src = src
    a.dst = dst
    if t <= 1500:
        return _llc(d, p, a, f"{src} > {dst}, 802.3, length {t}: ", w)
    if t == ETHERTYPE_LLC:
        return _llc(d, p, a, f"{src} > {dst}, ", w)
    link = f"{src} > {dst}, {etype_str(t)}, length {n}: "
    tags = 0
    while t in VLAN_TYPES and tags < MAX_VLAN_TAGS:
        tags += 1
        q = outer_end(w, p, VLAN_TYPES[t])  # the walk read every tag the text reads
        if q < 0 or len(d) < q:
            a.bad = True
            return "", f"{link}[|vlan]"
        tci, t = S_HH.unpack_from(d, p)
        p = q
        dei = ", DEI" if tci & 0x1000 else ""
        link += f"vlan {tci & 0xFFF}, p {tci >> 13}{dei}, "
        # after a tag as in front of it, a length (802.3) or 0x8870 announces 802.2 LLC;
        # tcpdump -e then writes "802.3" and the LLC header with no separator between
        if t <= 1500:
            return _llc(d, p, a, f"{link}802.3", w)
        if t == ETHERTYPE_LLC:
            return _llc(d, p, a, link, w)
        link += f"{etype_str(t)}, "
    text = ethertype_text(d, p, t, a)
    if text is None:
        return "", f"{link.rstrip(': ,')}, length {len(d) - p}" if tags else link.rstrip(": ")
    return link, text


def outer_end(w: Walk, off: int, name: str) -> int:
    """``w.header_end(off, name)`` looked up from the outermost layer in: where Ethernet's
    text asks, the header is the walk's first layer (its tags the next ones), and this
    handler runs for nearly every frame (``header_end`` looks from the innermost out)."""
    starts = w.starts
    heads = w.heads
    for i in range(len(starts)):
        if starts[i] == off and heads[i] >= 0 and w.names[i] == name:
            return heads[i]
    return -1


def ether_walk(d: bytes, off: int, out: Walk) -> None:
    """Ethernet's walk: the header, each tag, and an 802.3 length's end of the LLC layer
    (what :func:`ether`'s text reads of them)."""
    out.add("Ethernet", off, off + 14)
    if len(d) >= off + 14:
        tags_walk(d, off + 14, d[off + 12] << 8 | d[off + 13], out)


def tags_walk(d: bytes, p: int, t: int, out: Walk) -> None:
    """From ``p``, what the type ``t`` after an Ethernet header's addresses announces: up to
    MAX_VLAN_TAGS 802.1Q/802.1ad tags (each a 4-byte header), then 802.2 LLC (a length, or
    0x8870) or the ethertype's layer.  :func:`ether_walk` goes on here; the tree's builder of
    a tag the frame's walk did not reach (after a cooked header's type, past MAX_VLAN_TAGS)
    walks from the tag with it."""
    n = len(d)
    tags = 0
    while t in VLAN_TYPES and tags < MAX_VLAN_TAGS:
        out.add(VLAN_TYPES[t], p, p + 4)
        tags += 1
        if n < p + 4:
            return
        t = d[p + 2] << 8 | d[p + 3]
        p += 4
    if t <= 1500:
        _llc_walk(d, p, out, p + t)
        return
    if t == ETHERTYPE_LLC:
        _llc_walk(d, p, out, -1)
        return
    ethertype_walk(d, p, t, out)


def walked_from(d: bytes, off: int, a: Acc, h: EtherHandler) -> Walk:
    """The walk of the header ``h`` reads at ``off``, where the frame's walk did not reach it
    (a frame a tunnel carries that the walk did not go into, a text called without the
    frame's walk): ``h``'s own walk from there, taken into the frame's (``Acc.adopt``).
    The text reads that header's boundaries, and those of the headers it carries, from the
    returned walk: never from a length field of its own."""
    sub = fresh(off, a.w)
    try:  # noqa: SIM105 (compiled, a try costs nothing; contextlib.suppress is a call)
        h.walk(d, off, sub)
    except Exception:  # hostile bytes: what was walked before stands (as the frame's walk)
        pass
    return a.adopt(sub)


def link_walk(d: bytes, a: Acc, name: str, h: LinkHandler, off: int = 0) -> Walk:
    """The walk that has the header ``name`` at ``off`` the link type ``h`` starts with (or
    leads to by its own walk): the frame's, or ``h``'s walk of the frame when the text runs
    without it, taken in (``Acc.adopt``)."""
    w = a.w
    if w.has(off, name):
        return w
    sub = fresh(0)
    try:  # noqa: SIM105 (compiled, a try costs nothing; contextlib.suppress is a call)
        h.walk(d, sub)
    except Exception:  # hostile bytes: what was walked before stands (as the frame's walk)
        pass
    return a.adopt(sub)


def link_walked(d: bytes, a: Acc, name: str, h: LinkHandler, off: int = 0) -> int:
    """Where the header ``name`` at ``off`` of :func:`link_walk` ends; -1: the walk went
    there and read no header (cut short)."""
    w = a.w
    end = w.header_end(off, name)
    if end >= 0:
        return end
    return link_walk(d, a, name, h, off).header_end(off, name)


class _EtherWalk(EtherHandler):
    """An Ethernet header as a header to walk from (:func:`walked_from`)."""

    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return ether(d, off, a)[1]

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        ether_walk(d, off, out)


_ETHER: Final = _EtherWalk("Ethernet")


#: tcpdump's names of LLC service access points (``llc_values``).
LLC_SAPS: Final = {
    0x00: "Null",
    0xFF: "Global",
    0x02: "802.1B I",
    0x03: "802.1B G",
    0x06: "IP",
    0x0E: "ProWay NM",
    0x42: "STP",
    0x4E: "RS511",
    0x7E: "ISO8208",
    0x8E: "ProWay",
    0xAA: "SNAP",
    0xE0: "IPX",
    0xF0: "NetBeui",
    0xFE: "OSI",
}


def llc_e(d: bytes, off: int) -> str:
    """What tcpdump -e prints of the LLC header at ``off`` (3 bytes there), through the
    control field: ``LLC, dsap STP (0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: ``."""
    dsap, ssap = d[off] & 0xFE, d[off + 1] & 0xFE
    ig = "Group" if d[off] & 1 else "Individual"
    cr = "Response" if d[off + 1] & 1 else "Command"
    ctrl = d[off + 2]
    if ctrl & 3 == 3 or off + 4 > len(d):
        cfield = f"0x{ctrl:02x}"
    else:
        cfield = f"0x{ctrl | d[off + 3] << 8:04x}"  # I and S frames: two bytes, little-endian
    return (
        f"LLC, dsap {LLC_SAPS.get(dsap, 'Unknown')} (0x{dsap:02x}) {ig}, "
        f"ssap {LLC_SAPS.get(ssap, 'Unknown')} (0x{ssap:02x}) {cr}, ctrl {cfield}: "
    )


def _llc(d: bytes, off: int, a: Acc, link: str, w: Walk) -> tuple[str, str]:
    """802.2 LLC from ``off`` to its end (an 802.3 length's, or the frame's), with SNAP
    carrying an ethertype, and STP recognised by its SAP; ``link`` is what -e printed
    before it (after an 802.3 length, VLAN tags, or an 0x8870 ethertype).  Its end, its
    header's and SNAP's are those :func:`_llc_walk` read into ``w`` (the walk that read the
    Ethernet header before it)."""
    n = len(d)
    end = w.layer_end(off, "LLC")
    if 0 <= end < n:
        n = end
    h = w.header_end(off, "LLC")
    if h < 0 or n < h:
        a.bad = True
        return "", f"{link}[|llc]"
    dsap, ssap, ctrl = d[off], d[off + 1], d[off + 2]
    if dsap == 0xAA and ssap == 0xAA and ctrl == 3:
        s = w.part_end(h, "LLC")  # SNAP's header, inside LLC's layer
        if s < 0 or n < s:
            a.bad = True
            return "", f"{link}LLC/SNAP [|snap]"
        oui = d[h : h + 3]
        t = d[s - 2] << 8 | d[s - 1]
        if oui == b"\0\0\0":
            text = ethertype_text(d, s, t, a)
            if text is not None:
                snap = f"oui Ethernet (0x000000), {etype_str(t)}, length {n - s}: "
                return f"{link}{llc_e(d, off)}{snap}", text
        a.info = f"LLC/SNAP, oui 0x{oui.hex()}, type 0x{t:04x}"
        if oui == b"\0\0\0":
            what = f"ethertype {ETHERTYPE_NAMES.get(t, 'Unknown')} (0x{t:04x})"
        else:
            what = f"pid Unknown (0x{t:04x})"
        length = f"length {n - s}: {_dump(d[off:n], a)}"
        if a.lean:  # tcpdump without -e: the addresses, then SNAP's
            name = f"oui Unknown (0x{oui.hex()}), " if oui != b"\0\0\0" else ""
            return "", f"{a.src} > {a.dst} SNAP, {name}{what}, {length}"
        oname = "Ethernet" if oui == b"\0\0\0" else "Unknown"
        return f"{link}{llc_e(d, off)}oui {oname} (0x{oui.hex()}), {what}, ", length
    if dsap == 0x42:
        a.info = "Spanning Tree Protocol"
        return f"{link}{llc_e(d, off)}", stp_text(d, h, n)
    a.info = f"LLC, DSAP 0x{dsap:02x}, SSAP 0x{ssap:02x}"
    if ctrl & 3 == 3 and dsap & 0xFE not in _SAP_PRINTERS:
        return f"{link}{llc_e(d, off)}", _unnumbered(d, off, n, a)
    return link, f"LLC, dsap 0x{dsap:02x}, ssap 0x{ssap:02x}, ctrl 0x{ctrl:02x}, length {n - off}"


#: SAPs tcpdump hands to a printer of their own (IP, IPX, NetBEUI, OSI, Novell's raw 802.3).
_SAP_PRINTERS: Final = frozenset({0x06, 0xE0, 0xF0, 0xFE})
#: tcpdump's names of unnumbered frames' commands (``llc_cmd_values``), by control & 0xef.
_U_COMMANDS: Final = {
    0x03: "ui",
    0xE3: "test",
    0xAF: "xid",
    0x63: "ua",
    0x43: "disc",
    0x0F: "dm",
    0x6F: "sabme",
    0x87: "frmr",
}
#: by the SSAP's command/response bit and the control's poll/final bit (``llc_flag_values``)
_U_FLAGS: Final = {0x00: "Command", 0x01: "Response", 0x10: "Poll", 0x11: "Final"}


def _unnumbered(d: bytes, off: int, end: int, a: Acc) -> str:
    """tcpdump's line for an unnumbered LLC frame of a SAP it has no printer for:
    ``Unnumbered, ui, Flags [Command], length 8`` and the frame's bytes from the LLC
    header on; without -e, the addresses and SAPs first."""
    dsap, ssap, ctrl = d[off] & 0xFE, d[off + 1] & 0xFE, d[off + 2]
    cmd = ctrl & 0xEF
    text = (
        f"Unnumbered, {_U_COMMANDS.get(cmd, f'{cmd:02x}')}, "
        f"Flags [{_U_FLAGS[(d[off + 1] & 1) | (ctrl & 0x10)]}], length {end - off}"
    )
    if cmd == 0xAF and end - off > 3 and d[off + 3] == 0x81:  # an XID's format identifier
        text += f": {d[off + 4]:02x} {d[off + 5]:02x}" if end - off >= 6 else " [|llc]"
    else:
        text += _dump(d[off:end], a)
    if not a.lean:
        return text
    dname = LLC_SAPS.get(dsap) or f"Unknown DSAP 0x{dsap:02x}"
    if dsap == ssap:
        return f"{a.src} > {a.dst} {dname} {text}"
    sname = LLC_SAPS.get(ssap) or f"Unknown SSAP 0x{ssap:02x}"
    return f"{a.src} {sname} > {a.dst} {dname} {text}"


def _dump(b: bytes, a: Acc) -> str:
    """tcpdump's hex and ASCII dump of what it cannot name (one line unless -v or strict)."""
    if not b:
        return ""
    if a.strict or a.verbose:
        return hex_ascii(b, "\n\t")
    return hex_ascii(b, "\n\t").replace("\n\t", " ")


#: tcpdump's names of a BPDU's flags (``stp_bpdu_flag_values``), in its order.
_STP_FLAGS: Final = (
    (0x01, "Topology change"),
    (0x02, "Proposal"),
    (0x10, "Learn"),
    (0x20, "Forward"),
    (0x40, "Agreement"),
    (0x80, "Topology change ACK"),
)
_STP_PROTOS: Final = {0: "802.1d", 2: "802.1w", 3: "802.1s", 4: "802.1aq"}
_BPDU_TYPES: Final = {0x00: "Config", 0x02: "Rapid STP", 0x80: "Topology Change"}


def stp_text(d: bytes, off: int, end: int) -> str:
    """tcpdump's line for a spanning tree BPDU at ``off`` (``stp_print`` without -v):
    ``STP 802.1d, Config, Flags [none], bridge-id 8000.02:00:00:00:00:01.8001, length 35``."""
    length = end - off
    if length < 4:
        return f"STP [|stp], length {length}" if length < 3 else "STP [|stp]"
    version, kind = d[off + 2], d[off + 3]
    proto = _STP_PROTOS.get(version)
    if proto is None:
        return f"STP Unknown STP protocol (0x{version:02x})"
    out = f"STP {proto}, " + _BPDU_TYPES.get(kind, f"Unknown BPDU Type (0x{kind:02x})")
    if kind == 0x00:
        need = 35
    elif kind == 0x02:
        need = 36 if version == 2 else 102
    else:
        return out
    if length < need:
        return f"{out} (invalid)"
    flags = d[off + 4]
    names = ", ".join(n for bit, n in _STP_FLAGS if flags & bit) or "none"
    if kind == 0x02 and version != 2:
        return f"{out}, CIST Flags [{names}], length {length}"
    bridge = d[off + 17 : off + 25]
    bid = f"{bridge[0]:02x}{bridge[1]:02x}.{':'.join(f'{b:02x}' for b in bridge[2:])}"
    port = d[off + 25] << 8 | d[off + 26]
    return f"{out}, Flags [{names}], bridge-id {bid}.{port:04x}, length {length}"


def _llc_walk(d: bytes, off: int, out: Walk, end: int) -> None:
    """802.2 LLC's walk: its 3-byte header (dsap, ssap, an unnumbered control byte), SNAP's
    5 bytes after it as a header inside the layer, and ``end`` (an 802.3 length's, -1:
    none) as the layer's end -- what :func:`_llc`'s text reads of them."""
    out.add("LLC", off, off + 3)
    if end >= 0:
        out.extent(end)
    n = len(d)
    if n < off + 3:
        return
    if d[off] == 0xAA and d[off + 1] == 0xAA and d[off + 2] == 3:
        out.part(off + 3, off + 8)
        if n >= off + 8 and d[off + 3 : off + 6] == b"\0\0\0":
            ethertype_walk(d, off + 8, d[off + 6] << 8 | d[off + 7], out)
        return
    if d[off] == 0x42:
        out.add("STP", off + 3)


# --------------------------------------------------------------------------- cooked, null


def _sll(d: bytes, a: Acc, h: LinkHandler) -> tuple[str, str]:
    """Linux cooked capture v1 (16-byte header), as tcpdump -i any writes it; where the header
    ends is the walk's (:func:`_sll_walk`)."""
    n = len(d)
    p = link_walked(d, a, "SLL", h)
    if p < 0 or n < p:
        a.bad = True
        return "", f"Linux cooked, length {n}: [|sll]"
    pkttype, _hatype, halen, addr, proto = _S_SLL.unpack_from(d, 0)
    # tcpdump -e right-aligns the packet type in three columns (" In", "Out")
    direction = f"{SLL_PKTTYPES.get(pkttype, f'pkttype {pkttype}'):>3}"
    return _cooked(d, p, a, direction, "", halen, addr, proto)


def _sll_walk(d: bytes, out: Walk) -> None:
    out.add("SLL", 0, 16)
    if len(d) >= 16:
        t = d[14] << 8 | d[15]
        if t > 1500:
            ethertype_walk(d, 16, t, out)
        else:
            out.append("other")


def _sll2(d: bytes, a: Acc, h: LinkHandler) -> tuple[str, str]:
    """Linux cooked capture v2 (20-byte header with the interface index); where the header
    ends is the walk's (:func:`_sll2_walk`)."""
    n = len(d)
    p = link_walked(d, a, "SLL2", h)
    if p < 0 or n < p:
        a.bad = True
        return "", f"Linux cooked v2, length {n}: [|sll2]"
    proto, _res, ifindex, _hatype, pkttype, halen, addr = _S_SLL2.unpack_from(d, 0)
    return _cooked(
        d,
        p,
        a,
        SLL_PKTTYPES.get(pkttype, f"pkttype {pkttype}"),
        f" ifindex {ifindex}",
        halen,
        addr,
        proto,
    )


def _sll2_walk(d: bytes, out: Walk) -> None:
    out.add("SLL2", 0, 20)
    if len(d) >= 20:
        t = d[0] << 8 | d[1]
        if t > 1500:
            ethertype_walk(d, 20, t, out)
        else:
            out.append("other")


def _cooked(
    d: bytes, off: int, a: Acc, direction: str, extra: str, halen: int, addr: bytes, proto: int
) -> tuple[str, str]:
    n = len(d)
    hw = addr[: min(halen, 8)].hex(":")
    a.src = hw
    link = f"{direction}{extra} {hw + ' ' if hw else ''}{etype_str(proto)}, length {n}: "
    text = ethertype_text(d, off, proto, a) if proto > 1500 else None
    if text is None:
        if proto <= 1500:
            a.info = f"Linux cooked, protocol 0x{proto:04x}"
        return "", link.rstrip(": ")
    return link, text


def _null_family(d: bytes) -> int:
    fam = d[0] | d[1] << 8 | d[2] << 16 | d[3] << 24
    if fam & 0xFFFF0000:
        fam = d[3] | d[2] << 8 | d[1] << 16 | d[0] << 24
    return fam


def _null(d: bytes, a: Acc, h: LinkHandler) -> tuple[str, str]:
    """BSD loopback: a 4-byte address family in the *capturing* host's byte order; where it
    ends is the walk's (:func:`_null_walk`)."""
    n = len(d)
    p = link_walked(d, a, "Null", h)
    if p < 0 or n < p:
        a.bad = True
        return "", f"[|null], length {n}"
    fam = _null_family(d)
    name = NULL_FAMILIES.get(fam)
    link = f"AF {name or 'Unknown'} ({fam}), length {n}: "
    if name is not None:
        return link, ethertype_text(d, p, 0x0800 if name == "IPv4" else 0x86DD, a) or ""
    a.info = f"Null/Loopback, family {fam}"
    return "", link.rstrip(": ")


def _null_walk(d: bytes, out: Walk) -> None:
    out.add("Null", 0, 4)
    if len(d) >= 4:
        name = NULL_FAMILIES.get(_null_family(d))
        if name is not None:
            ethertype_walk(d, 4, 0x0800 if name == "IPv4" else 0x86DD, out)
        else:
            out.append("other")


def _raw(d: bytes, a: Acc) -> tuple[str, str]:
    v = d[0] >> 4 if d else -1
    if v == 4 or v == 6:
        return "", ETHERTYPES[0x0800 if v == 4 else 0x86DD].text(d, 0, a) or ""
    a.bad = True
    return "", "[|ip]" if v < 0 else f"[malformed: not IP (version {v})], length {len(d)}"


def _raw_walk(d: bytes, out: Walk) -> None:
    v = d[0] >> 4 if d else -1
    if v == 4 or v == 6:
        ethertype_walk(d, 0, 0x0800 if v == 4 else 0x86DD, out)
    else:
        out.add("other", 0)


# --------------------------------------------------------------------------- ARP


def _arp(d: bytes, off: int, a: Acc, h: EtherHandler) -> str:
    """ARP or RARP; where the packet's addresses end is the walk's (:func:`_arp_walk`)."""
    name = h.name
    n = len(d) - off
    if n < 8:
        a.bad = True
        return f"{name}, [|arp]"
    hrd = d[off] << 8 | d[off + 1]
    pro = d[off + 2] << 8 | d[off + 3]
    hln = d[off + 4]
    pln = d[off + 5]
    op = d[off + 6] << 8 | d[off + 7]
    opname = ARP_OPS.get(op, f"Unknown ({op})")
    p = off + 8
    end = a.w.header_end(off, name)
    if end < 0:
        end = walked_from(d, off, a, h).header_end(off, name)
    if end < 0 or len(d) < end:
        a.bad = True
        return f"{name}, {opname} [|arp]"
    sha = d[p : p + hln]
    spa = d[p + hln : p + hln + pln]
    p += hln + pln
    tha = d[p : p + hln]
    tpa = d[p + hln : p + hln + pln]
    sha_s = mac(sha)
    tha_s = mac(tha)
    spa_s = _proto_addr(pro, spa)
    tpa_s = _proto_addr(pro, tpa)
    if not a.src:
        a.src = sha_s
    if not a.dst:
        a.dst = tha_s
    if op == 1:
        paren = f" ({tha_s})" if any(tha) else ""
        body = f"Request who-has {tpa_s}{paren} tell {spa_s}"
        if spa == tpa:
            a.info = f"Gratuitous ARP for {spa_s} (Request)"
        elif not any(spa):
            a.info = f"Who has {tpa_s}? (ARP Probe)"
        else:
            a.info = f"Who has {tpa_s}? Tell {spa_s}"
    elif op == 2:
        body = f"Reply {spa_s} is-at {sha_s}"
        if spa == tpa:
            a.info = f"Gratuitous ARP for {spa_s} (Reply)"
        else:
            a.info = f"{spa_s} is at {sha_s}"
    elif op in (3, 8):
        body = f"{opname} who-is {tha_s} tell {sha_s}"
        a.info = f"Who is {tha_s}? Tell {sha_s}"
    elif op == 4:
        body = f"Reverse Reply {tha_s} at {tpa_s}"
        a.info = f"{tha_s} is at {tpa_s}"
    elif op == 9:
        body = f"Inverse Reply {sha_s} at {spa_s}"
        a.info = f"{sha_s} is at {spa_s}"
    else:
        body = opname
        a.info = f"ARP opcode {op}"
    if a.verbose and pro == 0x0800:  # tcpdump -v names the address formats
        hw = _ARP_HARDWARE.get(hrd) or f"Unknown Hardware ({hrd})"
        return f"{name}, {hw} (len {hln}), IPv4 (len {pln}), {body}, length {n}"
    return f"{name}, {body}, length {n}"


#: tcpdump's names of ARP hardware types (-v)
_ARP_HARDWARE: Final = {
    1: "Ethernet",
    6: "TokenRing",
    7: "ArcNet",
    15: "FrameRelay",
    19: "ATM (RFC 2225)",
    23: "STRIP",
    24: "IEEE 1394",
    32: "InfiniBand",
}


def _proto_addr(pro: int, b: bytes) -> str:
    if len(b) == 4 and pro == 0x0800:
        return ip4(b)
    if len(b) == 16 and pro == 0x86DD:
        return ntop6(b)
    return mac(b) if b else "<none>"


class _Ethernet(LinkHandler):
    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return ether(d, 0, a)

    def walk(self, d: bytes, out: Walk) -> None:
        ether_walk(d, 0, out)


class _Raw(LinkHandler):
    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return _raw(d, a)

    def walk(self, d: bytes, out: Walk) -> None:
        _raw_walk(d, out)


class _Fixed(LinkHandler):
    """A link type that is one network protocol (LINKTYPE_IPV4, LINKTYPE_IPV6)."""

    def __init__(self, name: str, ethertype: int) -> None:
        super().__init__(name)
        self.ethertype = ethertype

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return "", ethertype_text(d, 0, self.ethertype, a) or ""

    def walk(self, d: bytes, out: Walk) -> None:
        ethertype_walk(d, 0, self.ethertype, out)


class _Sll(LinkHandler):
    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return _sll(d, a, self)

    def walk(self, d: bytes, out: Walk) -> None:
        _sll_walk(d, out)


class _Sll2(LinkHandler):
    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return _sll2(d, a, self)

    def walk(self, d: bytes, out: Walk) -> None:
        _sll2_walk(d, out)


class _Null(LinkHandler):
    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return _null(d, a, self)

    def walk(self, d: bytes, out: Walk) -> None:
        _null_walk(d, out)


class _Arp(EtherHandler):
    """ARP, and RARP (the same packet under another ethertype and name)."""

    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return _arp(d, off, a, self)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        _arp_walk(d, off, out, self.name)


def _arp_walk(d: bytes, off: int, out: Walk, name: str) -> None:
    """ARP's walk: its header ends after the four addresses its two lengths announce (what
    :func:`_arp`'s text reads there; the counters' walk reads no lengths)."""
    out.append(name)
    if out.keep and len(d) >= off + 6:
        out.head(off + 8 + 2 * (d[off + 4] + d[off + 5]))


class _Named(EtherHandler):
    """An ethertype recognised by name but not decoded further."""

    def __init__(self, layer: str, wording: str) -> None:
        super().__init__(layer)
        self.wording = wording

    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        a.info = f"{self.wording}, length {len(d) - off}"
        return a.info

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        out.append(self.name)


bind(LINKTYPES, (LINKTYPE_ETHERNET,), _Ethernet("Ethernet"))
bind(LINKTYPES, (LINKTYPE_RAW,), _Raw("raw"))
bind(LINKTYPES, (LINKTYPE_IPV4,), _Fixed("IPv4", 0x0800))
bind(LINKTYPES, (LINKTYPE_IPV6,), _Fixed("IPv6", 0x86DD))
bind(LINKTYPES, (LINKTYPE_LINUX_SLL,), _Sll("SLL"))
bind(LINKTYPES, (LINKTYPE_LINUX_SLL2,), _Sll2("SLL2"))
bind(LINKTYPES, (LINKTYPE_NULL,), _Null("Null"))
bind(ETHERTYPES, (0x0806,), _Arp("ARP"))
bind(ETHERTYPES, (0x8035,), _Arp("RARP"))
for _t, _layer in ETHER_OTHER_LAYERS.items():  # a decoding module's handler replaces these
    bind(ETHERTYPES, (_t,), _Named(_layer, ETHERTYPE_NAMES[_t]), FALLBACK)
