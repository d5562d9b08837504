"""Tunnels: ``vxlan.*``, ``geneve.*``, ``gre.*``, ``wg.*``, ``openvpn.*``, ``esp.*``.

What a tunnel carries is dissected as the next layers of the same packet, so a field
occurs once per layer it is in: ``ip.src`` has the outer and the inner source
(``ip.src#2`` is the inner one).  WireGuard is found by the shape of its messages on
any UDP port, as Wireshark's heuristic does.
"""

from __future__ import annotations

from typing import Any

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import (
    ETHERTYPES,
    IP_PROTOS,
    LINKTYPES,
    bind,
    bind_heuristic,
    bind_ports,
    carried_end,
    carried_walk,
    ethertype,
    flag,
    header_end,
    ip_any,
    ip_proto,
    leaf,
    raw,
    room,
    u16,
    u32,
    uint,
    walked,
)
from tapwatch.dfilter.packet import Layer, Packet
from tapwatch.dfilter.protocols.link import ether

# ----------------------------------------------------------------------------- VXLAN

registry.register_protocol("vxlan", "Virtual eXtensible Local Area Network")
uint("vxlan.flags", "FT_UINT16", "vxlan", 0, 2, desc="Flags")
uint("vxlan.vni", "FT_UINT24", "vxlan", 4, 3, desc="VXLAN network identifier")


def vxlan(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 8 > end:
        return
    p = carried_end(pkt, d, off, end, "VXLAN")  # its header's end, as the walk read it
    if p < 0 or p > end:
        return
    pkt.add(Layer("vxlan", d, off, p, p - off))
    ether(pkt, d, p, end)


bind_ports("udp", "vxlan", vxlan)

# ----------------------------------------------------------------------------- Geneve

registry.register_protocol("geneve", "Generic Network Virtualization Encapsulation")
uint("geneve.version", "FT_UINT8", "geneve", 0, 1, 0xC0, "Version")
flag("geneve.flags.oam", "geneve", 1, 1, 0x80, "Operations, administration and management")
flag("geneve.flags.critical", "geneve", 1, 1, 0x40, "Critical options present")
uint("geneve.proto_type", "FT_UINT16", "geneve", 2, 2, desc="Protocol type")
uint("geneve.vni", "FT_UINT24", "geneve", 4, 3, desc="Virtual network identifier")


def geneve(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 8 > end:
        return
    p = carried_end(pkt, d, off, end, "Geneve")  # its options' length, as the walk read it
    if p < 0 or p > end:
        return
    pkt.add(Layer("geneve", d, off, p, p - off))
    ethertype(pkt, d, p, end, u16(d, off + 2))


bind_ports("udp", "geneve", geneve)

# ----------------------------------------------------------------------------- GRE

registry.register_protocol("gre", "Generic Routing Encapsulation")
uint("gre.flags_and_version", "FT_UINT16", "gre", 0, 2, desc="Flags and version")
flag("gre.flags.checksum", "gre", 0, 2, 0x8000, "Checksum bit")
flag("gre.flags.routing", "gre", 0, 2, 0x4000, "Routing bit")
flag("gre.flags.key", "gre", 0, 2, 0x2000, "Key bit")
flag("gre.flags.sequence_number", "gre", 0, 2, 0x1000, "Sequence number bit")
uint("gre.flags.version", "FT_UINT16", "gre", 0, 2, 0x0007, "Version")
uint("gre.proto", "FT_UINT16", "gre", 2, 2, desc="Protocol type")


def _gre_optional(which: int) -> Any:
    """The checksum (0), key (1) or sequence number (2), when its flag says it is there."""
    bits = (0x8000, 0x2000, 0x1000)

    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        flags = u16(d, o)
        if not flags & bits[which]:
            return None
        at = o + 4
        if which >= 1 and flags & 0xC000:
            at += 4
        if which == 2 and flags & 0x2000:
            at += 4
        if which == 0:
            return u16(d, at) if at + 2 <= layer.end else None
        return u32(d, at) if at + 4 <= layer.end else None

    return get


registry.register_field("gre.checksum", "FT_UINT16", "gre", _gre_optional(0))
registry.register_field("gre.key", "FT_UINT32", "gre", _gre_optional(1))
registry.register_field("gre.sequence_number", "FT_UINT32", "gre", _gre_optional(2))


def gre(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 4 > end:
        return
    p = header_end(pkt, d, off, end, "GRE", -1, 47)  # the fields its flags announce
    if p < 0 or p > end:
        return
    pkt.add(Layer("gre", d, off, p, p - off))
    ethertype(pkt, d, p, end, u16(d, off + 2))


bind(IP_PROTOS, (47,), gre)


def erspan(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """ERSPAN: type II's 8-byte header (type I has none: GRE without a sequence number),
    then the mirrored frame; where the header ends is the walk's, from GRE's flags."""
    p = carried_end(pkt, d, off, end, "ERSPAN")
    if p < 0 or p > end:
        return
    pkt.add(Layer("erspan", d, off, p, p - off))
    ether(pkt, d, p, end)


registry.register_protocol("erspan", "Encapsulated Remote Switch Packet ANalysis")
bind(ETHERTYPES, (0x88BE,), erspan)

# ----------------------------------------------------------------------------- WireGuard

registry.register_protocol("wg", "WireGuard")
uint("wg.type", "FT_UINT8", "wg", 0, 1, desc="Message type")
raw("wg.reserved", "FT_BYTES", "wg", 1, 3, "Reserved")


def _wg_at(types: dict[int, int], size: int) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        at = types.get(d[o])
        if at is None or o + at + size > layer.end:
            return None
        return int.from_bytes(d[o + at : o + at + size], "little")

    return get


registry.register_field("wg.sender", "FT_UINT32", "wg", _wg_at({1: 4, 2: 4}, 4))
registry.register_field("wg.receiver", "FT_UINT32", "wg", _wg_at({2: 8, 3: 4, 4: 4}, 4))
registry.register_field("wg.counter", "FT_UINT64", "wg", _wg_at({4: 8}, 8))
#: message type -> exact length (data messages: at least 32, a multiple of 16)
_WG_SIZES = {1: 148, 2: 92, 3: 64}


@leaf
def wg_heuristic(pkt: Packet, d: bytes, off: int, end: int) -> bool:
    n = end - off
    if n < 4 or d[off + 1 : off + 4] != b"\0\0\0":
        return False
    t = d[off]
    if t in _WG_SIZES:
        ok = n == _WG_SIZES[t]
    elif t == 4:
        ok = n >= 32 and n % 16 == 0
    else:
        ok = False
    if ok:
        # the header's end (type and reserved bytes) as the decoder's walk read it: the
        # frame's, else its WireGuard walk from here (this shape is what it takes too)
        p = carried_end(pkt, d, off, end, "WireGuard")
        if p < 0:
            from tapwatch.decode.tunnels import wireguard_head

            p = wireguard_head(d, off, end)
        if p < 0:
            return False
        pkt.add(Layer("wg", d, off, end, p - off))
    return ok


bind_heuristic("wg", wg_heuristic)

# ----------------------------------------------------------------------------- OpenVPN

registry.register_protocol("openvpn", "OpenVPN Protocol")
uint("openvpn.type", "FT_UINT8", "openvpn", 0, 1, desc="Type")
uint("openvpn.opcode", "FT_UINT8", "openvpn", 0, 1, 0xF8, "Opcode")
uint("openvpn.keyid", "FT_UINT8", "openvpn", 0, 1, 0x07, "Key ID")


def _ovpn_session(pkt: Packet, layer: Layer) -> Any:
    d, o = layer.data, layer.off
    op = d[o] >> 3
    if op in (6, 9) or o + 9 > layer.end:  # data packets carry no session id
        return None
    return int.from_bytes(d[o + 1 : o + 9], "big")


def _ovpn_peer(pkt: Packet, layer: Layer) -> Any:
    d, o = layer.data, layer.off
    if d[o] >> 3 != 9 or o + 4 > layer.end:
        return None
    return int.from_bytes(d[o + 1 : o + 4], "big")


def _hmac_likely(d: bytes, o: int) -> bool:
    """tshark's guess that a control packet carries a tls-auth HMAC: at most one of the
    4 bytes after the session id is zero (an ack array length and ids have several)."""
    return sum(1 for b in d[o : o + 4] if b == 0) <= 1


def _ovpn_mpid(pkt: Packet, layer: Layer) -> Any:
    """The message packet-id of a control packet, found as tshark 4.0 finds it (default
    preferences): after the session id, a tls-auth HMAC (20 bytes) and replay id with
    time (8) when the guess says so, then the ack array (length, 4-byte ids, remote
    session id). Acks, data packets and tls-crypt opcodes (HARD_RESET_CLIENT_V3, WKC_V1:
    their header is encrypted) have none; so has a packet whose header runs past its end."""
    d, o, end = layer.data, layer.off, layer.end
    op = d[o] >> 3
    if op in (5, 6, 9, 10, 11):  # ACK_V1, DATA_V1, DATA_V2, HARD_RESET_CLIENT_V3, WKC_V1
        return None
    p = o + 9
    if p + 1 > end:
        return None
    if d[p] > 0:  # the would-be ack array length: tshark then tests for an HMAC
        if p + 4 > end:
            return None
        if _hmac_likely(d, p):
            p += 20
            if p > end:
                return None
            if end - p >= 8:
                p += 8
    if end - p >= 1:
        acks = d[p]
        p += 1 + 4 * acks
        if p > end:
            return None
        if acks and end - p >= 8:
            p += 8
    if end - p < 4:
        return None
    return int.from_bytes(d[p : p + 4], "big")


registry.register_field("openvpn.sessionid", "FT_UINT64", "openvpn", _ovpn_session)
registry.register_field("openvpn.peerid", "FT_UINT24", "openvpn", _ovpn_peer)
registry.register_field(
    "openvpn.mpid", "FT_UINT32", "openvpn", _ovpn_mpid, desc="Message packet-ID"
)


@leaf
def openvpn(pkt: Packet, d: bytes, off: int, end: int) -> None:
    p = carried_end(pkt, d, off, end, "OpenVPN")  # the opcode and key ID, as walked
    if off < p <= end:
        pkt.add(Layer("openvpn", d, off, end, p - off))


bind_ports("udp", "openvpn", openvpn)

#: OpenVPN records one TCP segment may carry that are given layers (a hostile segment of
#: tiny records must not make thousands).
MAX_TCP_RECORDS = 256


@leaf
def openvpn_tcp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """OpenVPN over TCP: each record a 2-byte length, then the packet. A layer for each
    record, as tshark's, when the segment holds whole records only; a segment that begins
    or ends inside a record (tshark reassembles it across segments) gets none, rather than
    layers read from the middle of a record."""
    # the first record's header, and every record's extent (the walk records each as a
    # part of its OpenVPN layer): where they end is the walk's, never read again here
    w = carried_walk(pkt, d, off, end, "OpenVPN")
    head = w.header_end(off, "OpenVPN") if w is not None else -1
    if w is None or head < 0:
        return
    spans: list[tuple[int, int]] = []
    pos = off
    while pos < end:
        if len(spans) == MAX_TCP_RECORDS:
            return
        stop = w.part_end(pos, "OpenVPN")  # (after the first, none of length 0)
        if stop < 0 or stop > end:  # cut by the segment's end
            return
        spans.append((pos + 2, stop))
        pos = stop
    for start, stop in spans:
        if not room(pkt):
            return
        pkt.add(Layer("openvpn", d, start, stop, head - off - 2))


bind_ports("tcp", "openvpn", openvpn_tcp)

# ----------------------------------------------------------------------------- ESP

registry.register_protocol("esp", "Encapsulating Security Payload")
uint("esp.spi", "FT_UINT32", "esp", 0, 4, desc="Security parameters index")
uint("esp.sequence", "FT_UINT32", "esp", 4, 4, desc="Sequence number")


@leaf
def esp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off < end:
        p = header_end(pkt, d, off, end, "ESP", -1, 50)  # SPI and sequence number, as walked
        pkt.add(Layer("esp", d, off, end, min(p, end) - off if p > off else 0))


bind(IP_PROTOS, (50,), esp)

registry.register_protocol("udpencap", "UDP encapsulation of IPsec packets")


@leaf
def udpencap(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """NAT traversal (UDP 4500): ESP unless the first four bytes are zero (IKE's marker)."""
    pkt.add(Layer("udpencap", d, off, off, 0))
    if end - off >= 4 and d[off : off + 4] != b"\0\0\0\0":
        esp(pkt, d, off, end)


bind_ports("udp", "udpencap", udpencap)

# ----------------------------------------------------------------------------- AH

registry.register_protocol("ah", "Authentication Header")
uint("ah.next_header", "FT_UINT8", "ah", 0, 1, desc="Next header")
uint("ah.length", "FT_UINT8", "ah", 1, 1, desc="Length")
uint("ah.spi", "FT_UINT32", "ah", 4, 4, desc="Security parameters index")
uint("ah.sequence", "FT_UINT32", "ah", 8, 4, desc="Sequence number")


def ah(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off + 12 > end:
        return
    w = walked(pkt, d, off, end, "AH", -1, 51)
    p = max(w.header_end(off, "AH"), w.part_end(off, "IPv6"))  # behind IPv6: one of its chain
    if p < 0:
        return
    pkt.add(Layer("ah", d, off, min(end, p), p - off))
    ip_proto(pkt, d, p, end, d[off])


bind(IP_PROTOS, (51,), ah)

# ----------------------------------------------------------------------------- MPLS

registry.register_protocol("mpls", "MultiProtocol Label Switching")
uint("mpls.label", "FT_UINT32", "mpls", 0, 4, 0xFFFFF000, "Label")
uint("mpls.exp", "FT_UINT32", "mpls", 0, 4, 0x00000E00, "Traffic class")
uint("mpls.bottom", "FT_UINT32", "mpls", 0, 4, 0x00000100, "Bottom of label stack")
uint("mpls.ttl", "FT_UINT32", "mpls", 0, 4, 0x000000FF, "Time to live")


def mpls(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """The label stack (one layer per label, as Wireshark's), then IP by its version: the
    labels and where the stack ends are the walk's (it stops at the bottom of the stack)."""
    w = walked(pkt, d, off, end, "MPLS", 0x8847)
    at = off
    for _ in range(16):
        nxt = w.part_end(at, "MPLS")
        if nxt < 0 or nxt > end:
            return
        pkt.add(Layer("mpls", d, at, nxt, nxt - at))
        at = nxt
        if at == w.header_end(off, "MPLS"):
            break
    else:
        return
    ip_any(pkt, d, at, end)


bind(ETHERTYPES, (0x8847,), mpls)

# ----------------------------------------------------------------------------- L2TP

registry.register_protocol("l2tp", "Layer 2 Tunneling Protocol")
registry.register_protocol("ppp", "Point-to-Point Protocol")
uint("ppp.protocol", "FT_UINT16", "ppp", 0, 2, desc="Protocol")


def _l2tp_version(pkt: Packet, layer: Layer) -> Any:
    x = layer.extra
    return x if isinstance(x, int) else None


registry.register_field("l2tp.version", "FT_UINT16", "l2tp", _l2tp_version, desc="Version")


def l2tp_udp(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """L2TPv2 (data messages carry PPP, then IP) and v3 over UDP."""
    if off + 2 > end:
        return
    flags = u16(d, off)
    version = flags & 0x000F
    at = carried_end(pkt, d, off, end, "L2TP")  # its optional fields' end, as walked
    # (cut short, or an Offset Size past the message: the header runs to the bytes' end)
    layer = pkt.add(Layer("l2tp", d, off, end, min(at, end) - off if at > off else 0))
    layer.extra = version
    if version != 2 or flags & 0x8000 or at < 0 or at > end:
        return
    ppp(pkt, d, at, end)


def ppp(pkt: Packet, d: bytes, at: int, end: int) -> None:
    """A PPP frame (its address and control bytes, if there) and the IP it carries: L2TPv2's
    data, enhanced GRE's (PPTP) and the PPP link types'."""
    if at + 2 <= end and d[at : at + 2] == b"\xff\x03":
        at += 2
    if at + 2 > end:
        return
    proto = u16(d, at)
    pkt.add(Layer("ppp", d, at, at + 2, 2))
    if proto == 0x0021:
        ethertype(pkt, d, at + 2, end, 0x0800)
    elif proto == 0x0057:
        ethertype(pkt, d, at + 2, end, 0x86DD)


def l2tp_ip(pkt: Packet, d: bytes, off: int, end: int) -> None:
    if off < end:
        p = header_end(pkt, d, off, end, "L2TP", -1, 115)  # the session ID or control header
        pkt.add(Layer("l2tp", d, off, end, min(p, end) - off if p > off else 0)).extra = 3


bind_ports("udp", "l2tp", l2tp_udp)
bind(IP_PROTOS, (115,), l2tp_ip)
bind(ETHERTYPES, (0x880B,), ppp)  # what GRE carries
bind(LINKTYPES, (9, 50), ppp)  # LINKTYPE_PPP, LINKTYPE_PPP_HDLC
