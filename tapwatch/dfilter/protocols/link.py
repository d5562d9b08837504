"""The frame and the link layers: ``frame.*``, ``eth.*``, ``vlan.*``, ``llc.*``, ``stp.*``,
``sll.*``, ``arp.*``, ``macsec.*``."""

from __future__ import annotations

from typing import Any, Final

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import (
    ETHERTYPES,
    LINKTYPES,
    bind,
    both,
    ethertype,
    flag,
    frame_walk,
    header_end,
    ip_any,
    leaf,
    raw,
    u16,
    uint,
)
from tapwatch.dfilter.packet import Layer, Packet
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

# ----------------------------------------------------------------------------- frame

registry.register_protocol("frame", "Frame: every packet")


def _capture_get(fn: Any) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        cap = pkt.capture
        return None if cap is None else fn(pkt, cap)

    return get


registry.register_field(
    "frame.number", "FT_UINT32", "frame", lambda p, _l: p.number, desc="Frame number"
)
registry.register_field(
    "frame.len", "FT_UINT32", "frame", lambda p, _l: p.orig_len, desc="Frame length on the wire"
)
registry.register_field(
    "frame.cap_len", "FT_UINT32", "frame", lambda p, _l: len(p.data), desc="Captured length"
)
registry.register_field(
    "frame.time_epoch", "FT_RELATIVE_TIME", "frame", lambda p, _l: p.ts_ns, desc="Epoch time"
)
registry.register_field(
    "frame.time", "FT_ABSOLUTE_TIME", "frame", lambda p, _l: p.ts_ns, desc="Arrival time"
)
registry.register_field(
    "frame.time_relative",
    "FT_RELATIVE_TIME",
    "frame",
    _capture_get(lambda p, c: p.ts_ns - (c.first_ns if c.first_ns is not None else p.ts_ns)),
    desc="Time since the first frame",
)
registry.register_field(
    "frame.time_delta",
    "FT_RELATIVE_TIME",
    "frame",
    _capture_get(lambda p, c: p.delta_ns),
    desc="Time since the previous captured frame",
)
registry.register_field(
    "frame.interface_id",
    "FT_UINT32",
    "frame",
    _capture_get(lambda p, c: p.iface if c.numbered_interfaces else None),
    desc="Interface number (pcapng files and live sessions)",
)
registry.register_field(
    "frame.interface_name",
    "FT_STRING",
    "frame",
    _capture_get(lambda p, c: c.interface_name(p.iface)),
    desc="Interface name",
)
#: a record's Direction (pcapng epb_flags) -> tshark's p2p_dir: INBOUND is "received"
#: (1), OUTBOUND "sent" (0); unknown has no field. tshark 4.0 takes it from epb_flags
#: only (a Linux cooked capture's packet type does not give one).
_P2P_DIR = {1: 1, 2: 0}
registry.register_field(
    "frame.p2p_dir",
    "FT_INT8",
    "frame",
    lambda p, _l: _P2P_DIR.get(p.direction),
    desc="Point-to-point direction: 0 sent, 1 received",
)
registry.register_field(
    "frame.marked", "FT_BOOLEAN", "frame", lambda p, _l: 0, desc="Marked (always 0 in tapwatch)"
)
registry.register_field(
    "frame.ignored", "FT_BOOLEAN", "frame", lambda p, _l: 0, desc="Ignored (always 0)"
)

# ----------------------------------------------------------------------------- ethernet

registry.register_protocol("eth", "Ethernet II")
_dst = raw("eth.dst", "FT_ETHER", "eth", 0, 6, "Destination hardware address")
_src = raw("eth.src", "FT_ETHER", "eth", 6, 6, "Source hardware address")
both("eth.addr", _dst, _src, "Source or destination hardware address")
_dst_oui = uint("eth.dst.oui", "FT_UINT24", "eth", 0, 3)
_src_oui = uint("eth.src.oui", "FT_UINT24", "eth", 6, 3)
both("eth.addr.oui", _dst_oui, _src_oui)
_dst_lg = flag("eth.dst.lg", "eth", 0, 3, 0x020000, "Locally administered address")
_dst_ig = flag("eth.dst.ig", "eth", 0, 3, 0x010000, "Group address")
_src_lg = flag("eth.src.lg", "eth", 6, 3, 0x020000, "Locally administered address")
_src_ig = flag("eth.src.ig", "eth", 6, 3, 0x010000, "Group address")
both("eth.lg", _dst_lg, _src_lg)
both("eth.ig", _dst_ig, _src_ig)


def _eth_type(pkt: Packet, layer: Layer) -> Any:
    t = layer.extra
    return t if t is not None and t >= 0x600 else None


def _eth_len(pkt: Packet, layer: Layer) -> Any:
    t = layer.extra
    return t if t is not None and t < 0x600 else None


registry.register_field("eth.type", "FT_UINT16", "eth", _eth_type, desc="Type")
registry.register_field("eth.len", "FT_UINT16", "eth", _eth_len, desc="802.3 length")


#: Ethertypes the header fast path hands to the generic walk (as it hands an 802.3 length):
#: a PPPoE session, whose IP packet starts where the decoder's header walk finds it
#: (:func:`~tapwatch.decode.first_ip`; the PPPoE layers are not filterable here), and
#: 0x8870, which announces 802.2 LLC as an 802.3 length does.
VIA_WALK: Final = frozenset({0x8864, 0x8870})
PPPOE_SESSION: Final = 0x8864
#: The ethertype that announces an 802.2 LLC header (jumbo frames' LLC).
ETHERTYPE_LLC: Final = 0x8870


#: the ethertype announcing an Ethernet header (transparent Ethernet bridging): how the walk
#: from a header is asked for one (tapwatch.decode.classify.ETHERNET)
_BRIDGED: Final = 0x6558


def ether(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 14 > end:
        return
    p = header_end(pkt, d, off, end, "Ethernet", _BRIDGED)
    if p < 0 or p > end:
        return
    layer = pkt.add(Layer("eth", d, off, p, p - off))
    t = u16(d, off + 12)
    layer.extra = t
    if t < 0x600:
        if p < end:  # an 802.3 length: 802.2 LLC, bounded by it
            llc(pkt, d, p, min(end, p + t))
    elif t == PPPOE_SESSION:
        if p < end:
            _ip_by_walk(pkt, d, off, end)
    else:
        ethertype(pkt, d, p, end, t)


def _ip_by_walk(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """The IP packet behind the Ethernet header at ``off`` where the decoder's walk finds it
    (see :data:`VIA_WALK`)."""
    from tapwatch.decode import first_ip  # the decoder loads only for these frames

    frame = d if off == 0 and end == len(d) else d[off:end]
    version, start, _end = first_ip(frame, LINKTYPE_ETHERNET)
    if version:
        # the IP walker works on ``d``: the header at the same place in it
        ethertype(pkt, d, off + start, end, 0x0800 if version == 4 else 0x86DD)


bind(LINKTYPES, (LINKTYPE_ETHERNET,), ether)
bind(ETHERTYPES, (0x6558,), ether)  # transparent Ethernet bridging (GRE, Geneve)

# ----------------------------------------------------------------------------- 802.1Q

registry.register_protocol("vlan", "802.1Q Virtual LAN")
uint("vlan.priority", "FT_UINT16", "vlan", 0, 2, 0xE000, "Priority")
flag("vlan.dei", "vlan", 0, 2, 0x1000, "Drop eligible indicator")
uint("vlan.id", "FT_UINT16", "vlan", 0, 2, 0x0FFF, "VLAN identifier")
uint("vlan.etype", "FT_UINT16", "vlan", 2, 2, desc="Type")


def vlan(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 4 > end:
        return
    p = -1
    if d is pkt.data:
        w = frame_walk(pkt)
        p = max(w.header_end(off, "802.1Q"), w.header_end(off, "802.1ad"))
    if p < 0:  # a tag the walk does not read (past its MAX_VLAN_TAGS, after a cooked
        # header, in a reassembled payload): a tag's fixed size -- the decoder walks tags
        # only inside its Ethernet header, no walk starts at a tag alone
        p = off + 4
    if p > end:
        return
    pkt.add(Layer("vlan", d, off, p, p - off))
    t = u16(d, off + 2)
    if t < 0x600:
        if p < end:  # after a tag too, a length announces 802.2 LLC
            llc(pkt, d, p, min(end, p + t))
    elif t == PPPOE_SESSION:
        if p < end:
            start = _tagged_ether(pkt, d)
            if start >= 0:
                _ip_by_walk(pkt, d, start, end)
    else:
        ethertype(pkt, d, p, end, t)


def _tagged_ether(pkt: Packet, d: bytes) -> int:
    """Where the Ethernet header these VLAN tags follow starts in ``d`` (-1: they follow
    another link header, which the decoder's walk would not start from)."""
    for layer in reversed(pkt._layers or ()):
        if layer.data is not d:
            return -1
        if layer.name == "eth":
            return layer.off
        if layer.name != "vlan":
            return -1
    return -1


bind(ETHERTYPES, (0x8100, 0x88A8, 0x9100), vlan)

# ----------------------------------------------------------------------------- 802.2 LLC, STP

registry.register_protocol("llc", "Logical-Link Control")
uint("llc.dsap", "FT_UINT8", "llc", 0, 1, desc="DSAP")
uint("llc.dsap.sap", "FT_UINT8", "llc", 0, 1, 0xFE, "Service Access Point")
flag("llc.dsap.ig", "llc", 0, 1, 0x01, "Individual/Group")
uint("llc.ssap", "FT_UINT8", "llc", 1, 1, desc="SSAP")
uint("llc.ssap.sap", "FT_UINT8", "llc", 1, 1, 0xFE, "Service Access Point")
flag("llc.ssap.cr", "llc", 1, 1, 0x01, "Command/Response")


def _llc_control(pkt: Packet, layer: Layer) -> Any:
    """One byte for an unnumbered (U) frame, two (little-endian) for I and S frames."""
    o = layer.off + 2
    if o >= layer.end:
        return None
    c = layer.data[o]
    if c & 3 == 3:
        return c
    return c | layer.data[o + 1] << 8 if o + 1 < layer.end else None


def _snap(at: int, size: int, ether: bool | None) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        o = layer.off
        d = layer.data
        if layer.end - o < 8 or d[o] != 0xAA or d[o + 1] != 0xAA or d[o + 2] != 3:
            return None
        if ether is not None and (d[o + 3] | d[o + 4] | d[o + 5] == 0) != ether:
            return None
        return int.from_bytes(d[o + at : o + at + size], "big")

    return get


registry.register_field("llc.control", "FT_UINT16", "llc", _llc_control, desc="Control")
registry.register_field("llc.oui", "FT_UINT24", "llc", _snap(3, 3, None), desc="Organization Code")
registry.register_field("llc.type", "FT_UINT16", "llc", _snap(6, 2, True), desc="Type")


def llc(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """802.2 LLC (after an 802.3 length, a VLAN tag's length, or ethertype 0x8870): SNAP
    with Ethernet's OUI hands its ethertype on; SAP 0x42 is the spanning tree."""
    if off >= end:
        return
    if end - off >= 8 and d[off] == 0xAA and d[off + 1] == 0xAA and d[off + 2] == 3:
        pkt.add(Layer("llc", d, off, off + 8, 8))
        if d[off + 3] | d[off + 4] | d[off + 5] == 0:
            ethertype(pkt, d, off + 8, end, u16(d, off + 6))
        return
    hlen = 3 if end - off < 3 or d[off + 2] & 3 == 3 else 4
    pkt.add(Layer("llc", d, off, min(end, off + hlen), hlen))
    if d[off] == 0x42 and off + hlen < end:
        stp(pkt, d, off + hlen, end)


bind(ETHERTYPES, (ETHERTYPE_LLC,), llc)

registry.register_protocol("stp", "Spanning Tree Protocol")
uint("stp.protocol", "FT_UINT16", "stp", 0, 2, desc="Protocol Identifier")
uint("stp.version", "FT_UINT8", "stp", 2, 1, desc="Protocol Version Identifier")
uint("stp.type", "FT_UINT8", "stp", 3, 1, desc="BPDU Type")


def _bpdu(
    name: str, ftype: str, at: int, size: int, mask: int = 0, desc: str = "", rst: bool = False
) -> None:
    """A field of a configuration or RST BPDU (a topology change notification has none;
    ``rst``: of an RST BPDU only, as the flags only RSTP defines): big-endian, a one-bit
    ``mask`` makes it a boolean."""
    kinds = (0x02,) if rst else (0x00, 0x02)

    def get(pkt: Packet, layer: Layer) -> Any:
        o = layer.off
        d = layer.data
        if o + at + size > layer.end or d[o + 3] not in kinds:
            return None
        v = int.from_bytes(d[o + at : o + at + size], "big")
        if ftype == "FT_ETHER":
            return d[o + at : o + at + size]
        if ftype == "FT_BOOLEAN":
            return 1 if v & mask else 0
        return v

    registry.register_field(name, ftype, "stp", get, desc=desc)


_bpdu("stp.flags", "FT_UINT8", 4, 1, desc="BPDU flags")
_bpdu("stp.flags.tc", "FT_BOOLEAN", 4, 1, 0x01, "Topology Change")
_bpdu("stp.flags.proposal", "FT_BOOLEAN", 4, 1, 0x02, "Proposal", rst=True)
_bpdu("stp.flags.learning", "FT_BOOLEAN", 4, 1, 0x10, "Learning", rst=True)
_bpdu("stp.flags.forwarding", "FT_BOOLEAN", 4, 1, 0x20, "Forwarding", rst=True)
_bpdu("stp.flags.agreement", "FT_BOOLEAN", 4, 1, 0x40, "Agreement", rst=True)
_bpdu("stp.flags.tcack", "FT_BOOLEAN", 4, 1, 0x80, "Topology Change Acknowledgment")
_bpdu("stp.root.hw", "FT_ETHER", 7, 6, desc="Root Bridge System ID")
_bpdu("stp.root.cost", "FT_UINT32", 13, 4, desc="Root Path Cost")
_bpdu("stp.bridge.hw", "FT_ETHER", 19, 6, desc="Bridge System ID")
_bpdu("stp.port", "FT_UINT16", 25, 2, desc="Port identifier")


@leaf
def stp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    pkt.add(Layer("stp", d, off, end))


# ----------------------------------------------------------------------------- Linux cooked

registry.register_protocol("sll", "Linux cooked-mode capture")

# The two versions lay the same fields out differently: v1 (16 bytes) packet type, address
# type, address length (2 bytes each), 8 address bytes, protocol; v2 (20 bytes, tcpdump 4.99's
# ``-i any``) protocol, 2 reserved bytes, the interface index, address type, then a one-byte
# packet type and address length and 8 address bytes. A layer's ``hlen`` says which.
_SLL_V1, _SLL_V2 = 16, 20
# field: (offset, size) in v1, in v2; None where the version has no such field
_SLL_LAYOUT: dict[str, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    "pkttype": ((0, 2), (10, 1)),
    "hatype": ((2, 2), (8, 2)),
    "halen": ((4, 2), (11, 1)),
    "etype": ((14, 2), (0, 2)),
    "ifindex": (None, (4, 4)),
}


def _sll_uint(name: str, ftype: str, desc: str) -> None:
    v1, v2 = _SLL_LAYOUT[name]

    def get(pkt: Packet, layer: Layer) -> Any:
        place = v2 if layer.hlen == _SLL_V2 else v1
        if place is None:
            return None
        o = layer.off + place[0]
        if o + place[1] > layer.end:
            return None
        return int.from_bytes(layer.data[o : o + place[1]], "big")

    registry.register_field(f"sll.{name}", ftype, "sll", get, desc=desc)


_sll_uint("pkttype", "FT_UINT16", "Packet type")
_sll_uint("hatype", "FT_UINT16", "Link-layer address type")
_sll_uint("halen", "FT_UINT16", "Link-layer address length")
_sll_uint("etype", "FT_UINT16", "Protocol")
_sll_uint("ifindex", "FT_UINT32", "Interface index")


def _sll_src(pkt: Packet, layer: Layer) -> Any:
    """The source MAC where the address is an Ethernet one (type 1, length 6)."""
    d, o = layer.data, layer.off
    if layer.hlen == _SLL_V1 and o + 14 <= layer.end:
        hatype, halen, at = u16(d, o + 2), u16(d, o + 4), o + 6
    elif layer.hlen == _SLL_V2 and o + 18 <= layer.end:
        hatype, halen, at = u16(d, o + 8), d[o + 11], o + 12
    else:
        return None
    if hatype != 1 or halen != 6:
        return None
    return d[at : at + 6]


registry.register_field("sll.src.eth", "FT_ETHER", "sll", _sll_src, desc="Source")


def _link_end(pkt: Packet, d: bytes, name: str) -> int:
    """Where the frame's link header ``name`` (the decoder walk's name) ends: the walk's."""
    return frame_walk(pkt).header_end(0, name) if d is pkt.data else -1


def sll(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 16 > end:
        return
    p = _link_end(pkt, d, "SLL")
    if p < 0:
        return
    pkt.add(Layer("sll", d, off, p, p - off))
    ethertype(pkt, d, p, end, u16(d, off + 14))


def sll2(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 20 > end:
        return
    p = _link_end(pkt, d, "SLL2")
    if p < 0:
        return
    pkt.add(Layer("sll", d, off, p, p - off))
    ethertype(pkt, d, p, end, u16(d, off))


bind(LINKTYPES, (LINKTYPE_LINUX_SLL,), sll)
bind(LINKTYPES, (LINKTYPE_LINUX_SLL2,), sll2)

# ----------------------------------------------------------------------------- raw IP, loopback

registry.register_protocol("raw", "Raw packet data (a tun device's frames)")


def raw_ip(pkt: Packet, d: bytes, off: int, end: int) -> None:
    pkt.add(Layer("raw", d, off, end))
    ip_any(pkt, d, off, end)


def null(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 4 > end:
        return
    p = _link_end(pkt, d, "Null")
    if p < 0:
        return
    pkt.add(Layer("null", d, off, p, p - off))
    ip_any(pkt, d, p, end)


registry.register_protocol("null", "Null/Loopback")
bind(LINKTYPES, (LINKTYPE_RAW,), raw_ip)
bind(LINKTYPES, (12,), raw_ip)  # DLT_RAW as some systems number it
bind(LINKTYPES, (228,), ip_any)  # LINKTYPE_IPV4
bind(LINKTYPES, (229,), ip_any)  # LINKTYPE_IPV6
bind(LINKTYPES, (LINKTYPE_NULL,), null)

# ----------------------------------------------------------------------------- ARP

registry.register_protocol("arp", "Address Resolution Protocol")
uint("arp.hw.type", "FT_UINT16", "arp", 0, 2, desc="Hardware type")
uint("arp.proto.type", "FT_UINT16", "arp", 2, 2, desc="Protocol type")
uint("arp.hw.size", "FT_UINT8", "arp", 4, 1, desc="Hardware size")
uint("arp.proto.size", "FT_UINT8", "arp", 5, 1, desc="Protocol size")
uint("arp.opcode", "FT_UINT16", "arp", 6, 2, desc="Opcode")


def _arp_part(which: int, kind: str) -> Any:
    """Sender (0) or target (1) hardware (``hw``) or protocol (``proto``) address."""

    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        if o + 8 > layer.end:
            return None
        hl, pl = d[o + 4], d[o + 5]
        at = o + 8 + which * (hl + pl) + (hl if kind != "hw" else 0)
        size = hl if kind == "hw" else pl
        if at + size > layer.end:
            return None
        b = d[at : at + size]
        if kind == "mac":
            return b if hl == 6 and u16(d, o) in (1, 6) else None
        if kind == "ipv4":
            return int.from_bytes(b, "big") if pl == 4 and u16(d, o + 2) == 0x0800 else None
        return b

    return get


for _which, _side in ((0, "src"), (1, "dst")):
    registry.register_field(
        f"arp.{_side}.hw_mac", "FT_ETHER", "arp", _arp_part(_which, "mac"), desc="MAC address"
    )
    registry.register_field(
        f"arp.{_side}.proto_ipv4", "FT_IPv4", "arp", _arp_part(_which, "ipv4"), desc="IP address"
    )


def arp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 8 > end:
        return
    size = 8 + 2 * (d[off + 4] + d[off + 5])
    pkt.add(Layer("arp", d, off, min(end, off + size), size))


bind(ETHERTYPES, (0x0806,), arp)

# ----------------------------------------------------------------------------- MACsec

registry.register_protocol("macsec", "802.1AE Security tag")
uint("macsec.TCI", "FT_UINT8", "macsec", 0, 1, 0xFC, "TCI")
uint("macsec.TCI.V", "FT_UINT8", "macsec", 0, 1, 0x80, "VER")
flag("macsec.TCI.ES", "macsec", 0, 1, 0x40, "ES")
flag("macsec.TCI.SC", "macsec", 0, 1, 0x20, "SC")
flag("macsec.TCI.SCB", "macsec", 0, 1, 0x10, "SCB")
flag("macsec.TCI.E", "macsec", 0, 1, 0x08, "E")
flag("macsec.TCI.C", "macsec", 0, 1, 0x04, "C")
uint("macsec.AN", "FT_UINT8", "macsec", 0, 1, 0x03, "AN")
uint("macsec.SL", "FT_UINT8", "macsec", 1, 1, 0x3F, "Short length")
uint("macsec.PN", "FT_UINT32", "macsec", 2, 4, desc="Packet number")
#: The ICV's length (version 0) and the SecTAG's with and without the SCI.
MACSEC_ICV: Final = 16


def _sci(fn: Any) -> Any:
    """A field of the SCI, there only when the SC bit says it is."""

    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        return fn(d, o) if d[o] & 0x20 else None

    return get


registry.register_field(
    "macsec.SCI.system_identifier",
    "FT_ETHER",
    "macsec",
    _sci(lambda d, o: d[o + 6 : o + 12]),
    desc="System Identifier",
)
registry.register_field(
    "macsec.SCI.port_identifier",
    "FT_UINT16",
    "macsec",
    _sci(lambda d, o: u16(d, o + 12)),
    desc="Port Identifier",
)


def _macsec_etype(pkt: Packet, layer: Layer) -> Any:
    d, o = layer.data, layer.off
    return u16(d, o + layer.hlen) if not d[o] & 0x0C else None


def _macsec_icv(pkt: Packet, layer: Layer) -> Any:
    """The last 16 bytes captured of a frame encrypted or changed; of one in clear, as
    Wireshark's ethertype trailer, what follows the payload's own length (the walker
    leaves where that is in ``extra``)."""
    d, o, end = layer.data, layer.off, layer.end
    if d[o] & 0x0C:
        return d[end - MACSEC_ICV : end]
    at = layer.extra
    return d[at:end] if isinstance(at, int) and at < end else None


registry.register_field("macsec.etype", "FT_UINT16", "macsec", _macsec_etype, desc="Ethertype")
registry.register_field("macsec.ICV", "FT_BYTES", "macsec", _macsec_icv, desc="ICV")


def macsec(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """802.1AE, as Wireshark's dissector reads it: version 0 only, a SecTAG of 14 bytes
    with the SCI (6 without), a 16-byte ICV at the end of what was captured, and, when
    neither the E nor the C bit is set (the frame is neither encrypted nor changed), the
    ethertype and payload in clear: ``ip`` selects what such a frame carries.  The short
    length is not used to cut the payload (tshark's IP goes by its own total length)."""
    if off >= end or d[off] & 0x80:
        return
    tag = 14 if d[off] & 0x20 else 6
    if end - off <= tag + MACSEC_ICV:
        return
    layer = pkt.add(Layer("macsec", d, off, end, tag))
    if d[off] & 0x0C or end - off < tag + MACSEC_ICV + 2:
        return
    start = off + tag + 2
    ethertype(pkt, d, start, end, u16(d, off + tag))
    for inner in pkt._layers or ():
        if inner.data is d and inner.off == start:
            if inner.name in ("ip", "ipv6") and isinstance(inner.extra, int):
                layer.extra = inner.extra  # where the IP packet's own length ends
            break


bind(ETHERTYPES, (0x88E5,), macsec)
