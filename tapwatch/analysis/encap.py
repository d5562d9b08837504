"""What an outer packet carries: the encapsulation, its tunnel, and the inner packet's bytes.

The linker (:mod:`tapwatch.analysis.links`) asks two things of every record.
First, cheaply, whether it can be a tunnel's outer packet at all
(:func:`outer_hint`): a few byte reads, no allocation, because most captures
have no tunnel and that question is all they may cost. Only for the records
that pass, :func:`decapsulate` takes the encapsulation apart: where the inner
packet is cleartext (VXLAN, Geneve, GRE, IP-in-IP, L2TP, MPLS) it hands out
the inner bytes, which match the inner packet seen on the inner interface
exactly; where it is encrypted (WireGuard, OpenVPN, ESP) only the lengths and
the protocol's counters are known, and the link has to be inferred.

Hostile bytes: every read is bounds-checked; anything that does not add up is
"not an outer packet" (None), never an exception.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tapwatch.analysis.fragments import V6_EXT, V6_FRAGMENT, v6_chain
from tapwatch.analysis.headers import network
from tapwatch.decode import walk
from tapwatch.decode.tunnels import wireguard_type
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

_H = struct.Struct("!H")
_HH = struct.Struct("!HH")
_I = struct.Struct("!I")
_LE_IQ = struct.Struct("<IQ")

#: IP protocols that carry a packet: IPIP, IPv6-in-IP, GRE, ESP, L2TPv3, MPLS-in-IP
OUTER_PROTOS = frozenset((4, 41, 47, 50, 115, 137))
#: UDP ports of encapsulations: VXLAN, Geneve, L2TP, OpenVPN, ESP-in-UDP, MPLS-in-UDP, WireGuard
OUTER_PORTS = frozenset((4789, 6081, 1701, 1194, 4500, 6635, 51820))
#: OpenVPN's TCP port (``--proto tcp-server``): a stream of packets, each after a 2-byte length
OPENVPN_TCP = 1194
ETH_MPLS = frozenset((0x8847, 0x8848))

#: kinds whose inner packet is encrypted: links to them are inferred
ENCRYPTED = frozenset(("WireGuard", "OpenVPN", "ESP"))
#: OpenVPN's opcodes (the first byte's high five bits): control 1-5, 7, 8, 10, 11; data 6, 9
OPENVPN_OPS = frozenset(range(1, 12))
OPENVPN_DATA = frozenset((6, 9))

#: an inner packet carried by a framed TCP/UDP tunnel stream (tapwatch's own, --tunnel-decode)
FRAMED = "simpletun"


@dataclass(slots=True)
class Encap:
    """One outer packet taken apart.

    ``tunnel``: the tunnel it belongs to, the same for both directions (kind, the two
    endpoints ordered, and the key/VNI/SPI where the protocol has one). ``forward``:
    whether the packet goes from the tunnel's first endpoint to its second.
    ``inner``: the carried bytes (cleartext encapsulations), None when encrypted.
    ``inner_linktype``: how to read ``inner``. ``payload``: the encrypted payload's
    length (what the length model compares with the inner packet). ``ip_len``: the
    outer packet from its IP header on (what must fit the outer interface's MTU).
    ``message``: WireGuard's message type, OpenVPN's opcode (0 otherwise);
    ``index``/``counter``: WireGuard's receiver index and counter, OpenVPN's peer-id and
    packet-id, ESP's SPI and sequence number. ``stream``: a packet taken out of a TCP
    stream (``ip_len`` is then what it takes with its own IP and TCP headers).
    """

    kind: str
    tunnel: tuple[object, ...]
    forward: bool
    inner: bytes | None
    inner_linktype: int
    payload: int
    ip_len: int
    message: int = 0
    index: int = -1
    counter: int = -1
    stream: bool = False  # one packet of a TCP stream (OpenVPN over TCP): no MTU of its own


def outer_hint(data: bytes, linktype: int) -> int:
    """1 when ``data`` may be a tunnel's outer packet, 2 for an ICMP "too big", 3 for a
    TCP segment of OpenVPN's port (its stream carries the packets), 4 for an IP
    fragment of UDP or an encapsulating protocol (see :mod:`~tapwatch.analysis.fragments`),
    else 0.

    The cheap question every record is asked: the link header, the IP
    protocol, UDP's ports or WireGuard's first four bytes. Nothing allocated.
    """
    n = len(data)
    if linktype == LINKTYPE_RAW:
        off = 0
    elif linktype == LINKTYPE_ETHERNET:
        if n < 34:
            return 0
        et = data[12] << 8 | data[13]
        if et == 0x0800 or et == 0x86DD:
            off = 14
        elif et in ETH_MPLS:
            return 1
        elif et == 0x8100 or et == 0x88A8:
            _v, off = network(data, linktype)
            if not off:
                return 0
        else:
            return 0
    else:
        _v, off = network(data, linktype)
        if not _v:
            return 0
    if n < off + 20:
        return 0
    v = data[off] >> 4
    if v == 4 and (data[off + 6] & 0x3F or data[off + 7]):  # a fragment (MF, or an offset)
        proto = data[off + 9]
        return 4 if proto == 17 or proto in OUTER_PROTOS else 0
    if n < off + 28:
        return 0
    if v == 4:
        proto = data[off + 9]
        l4 = off + (data[off] & 15) * 4
    elif v == 6:
        if n < off + 48:
            return 0
        proto = data[off + 6]
        l4 = off + 40
        if proto in V6_EXT:  # Hop-by-Hop, Routing, Destination Options: what follows them
            proto, l4, _named = v6_chain(data, off, n)
            if proto < 0 or n < l4 + 8:
                return 0
        if proto == V6_FRAGMENT:  # a fragment: what it is a piece of
            nxt = data[l4]
            return 4 if nxt == 17 or nxt in OUTER_PROTOS else 0
    else:
        return 0
    if proto == 17:
        if n < l4 + 12:
            return 0
        sport = data[l4] << 8 | data[l4 + 1]
        dport = data[l4 + 2] << 8 | data[l4 + 3]
        if sport in OUTER_PORTS or dport in OUTER_PORTS:
            return 1
        # WireGuard on any port: a message type 1-4 then three zero bytes
        return (
            1
            if 0 < data[l4 + 8] < 5 and not (data[l4 + 9] or data[l4 + 10] or data[l4 + 11])
            else 0
        )
    if proto == 6:  # OpenVPN over TCP: its stream of length-prefixed packets
        sport = data[l4] << 8 | data[l4 + 1]
        dport = data[l4 + 2] << 8 | data[l4 + 3]
        return 3 if sport == OPENVPN_TCP or dport == OPENVPN_TCP else 0
    if proto in OUTER_PROTOS:
        return 1
    if (proto == 1 and data[l4] == 3 and data[l4 + 1] == 4) or (proto == 58 and data[l4] == 2):
        return 2
    return 0


def ip_view(data: bytes, linktype: int) -> tuple[int, int]:
    """(offset of the IP header, IP version) of a frame; (0, 0) when it is not IP."""
    v, off = network(data, linktype)
    return off, v


def inner_key(data: bytes, linktype: int) -> bytes:
    """What an inner packet is matched by: its bytes from the IP header on (a tun shows
    the IP packet, a VXLAN's Ethernet frame carries the same one), the whole frame when
    it is not IP."""
    v, off = network(data, linktype)
    if v and off:
        return data[off:]
    return data


def decapsulate(data: bytes, linktype: int) -> Encap | None:
    """The encapsulation of an outer packet, or None when it is not one (see ``outer_hint``).

    The IP header, its protocol and where its payload starts are the decoder's header
    walk's (:func:`tapwatch.decode.walk`), as every tool reads them.
    """
    w = walk(data, linktype, False, False)
    v, off, l4 = w.version, w.ip, w.l4
    if v == 0 or off != w.net:  # no IP header right after the link header
        n = len(data)
        if linktype == LINKTYPE_ETHERNET and n >= 18 and (data[12] << 8 | data[13]) in ETH_MPLS:
            return _mpls(data, 14, b"", b"", n - 14)
        return None
    if l4 < 0:  # no payload to read (a later fragment, a header that does not add up)
        return None
    proto = w.proto
    end = w.ip_end
    if v == 4:
        if data[off + 6] & 0x20:  # a first fragment: its carried packet is not whole here
            return None
        src, dst = data[off + 12 : off + 16], data[off + 16 : off + 20]
    else:
        # past those extension headers only that a reassembled datagram keeps of its first
        # piece (Hop-by-Hop, Routing, Destination Options, as tshark): no Fragment, no AH
        if l4 != off + 40 and v6_chain(data, off, end)[1] != l4:
            return None
        src, dst = data[off + 8 : off + 24], data[off + 24 : off + 40]
    ip_len = end - off
    if l4 > end:
        return None
    if proto == 17:
        if w.payload < 0:  # no whole UDP header
            return None
        return _udp(data, w.payload, end, src, dst, w.sport, w.dport, ip_len)
    if proto == 4 or proto == 41:
        return _mk(
            "IPIP" if proto == 4 else "IPv6-in-IP", src, dst, (), data[l4:end], LINKTYPE_RAW, ip_len
        )
    if proto == 47:
        return _gre(data, l4, end, src, dst, ip_len)
    if proto == 50:
        if end - l4 < 8:
            return None
        spi, seqno = struct.unpack_from("!II", data, l4)
        e = _mk("ESP", src, dst, (spi,), None, LINKTYPE_RAW, ip_len, end - l4)
        e.index, e.counter = spi, seqno
        return e
    if proto == 137:
        return _mpls(data, l4, src, dst, ip_len, end)
    if proto == 115:  # L2TPv3 over IP: session id, then (commonly) no cookie, Ethernet
        if end - l4 < 4:
            return None
        sid = _I.unpack_from(data, l4)[0]
        if sid == 0:
            return None  # control
        return _mk("L2TPv3", src, dst, (sid,), data[l4 + 4 : end], LINKTYPE_ETHERNET, ip_len)
    return None


def _mk(
    kind: str,
    src: bytes,
    dst: bytes,
    extra: tuple[object, ...],
    inner: bytes | None,
    lt: int,
    ip_len: int,
    payload: int = 0,
    sport: int = 0,
    dport: int = 0,
) -> Encap:
    forward = (src, sport) <= (dst, dport)
    a, b = ((src, sport), (dst, dport)) if forward else ((dst, dport), (src, sport))
    return Encap(kind, (kind, a, b, *extra), forward, inner, lt, payload, ip_len)


def _udp(
    d: bytes, p: int, end: int, src: bytes, dst: bytes, sport: int, dport: int, ip_len: int
) -> Encap | None:
    ports = (sport, dport)
    if 4789 in ports:
        if end - p < 8:
            return None
        vni = _I.unpack_from(d, p + 4)[0] >> 8
        return _mk("VXLAN", src, dst, (vni,), d[p + 8 : end], LINKTYPE_ETHERNET, ip_len)
    if 6081 in ports:
        if end - p < 8 or d[p] >> 6:
            return None
        q = p + 8 + (d[p] & 0x3F) * 4
        proto = _H.unpack_from(d, p + 2)[0]
        if q > end:
            return None
        vni = _I.unpack_from(d, p + 4)[0] >> 8
        lt = LINKTYPE_ETHERNET if proto == 0x6558 else LINKTYPE_RAW
        return _mk("Geneve", src, dst, (vni,), d[q:end], lt, ip_len)
    if 1701 in ports:
        return _l2tp(d, p, end, src, dst, ip_len)
    if 6635 in ports:
        return _mpls(d, p, src, dst, ip_len, end)
    t = wireguard_type(d, p, end, 51820 in ports)
    if t:
        e = _mk("WireGuard", src, dst, (), None, LINKTYPE_RAW, ip_len, end - p, sport, dport)
        e.message = t
        if t == 4 and end - p >= 16:
            e.index, e.counter = _LE_IQ.unpack_from(d, p + 4)
        elif t == 2 and end - p >= 12:
            e.index = struct.unpack_from("<I", d, p + 8)[0]
        return e
    if 1194 in ports and end - p >= 1:
        return openvpn(d, p, end, src, dst, sport, dport, ip_len)
    if 4500 in ports:
        if end - p < 8 or _I.unpack_from(d, p)[0] == 0:
            return None  # a NAT-keepalive or IKE (non-ESP marker)
        spi, seqno = struct.unpack_from("!II", d, p)
        e = _mk("ESP", src, dst, (spi,), None, LINKTYPE_RAW, ip_len, end - p, sport, dport)
        e.index, e.counter = spi, seqno
        return e
    return None


def openvpn(
    d: bytes,
    p: int,
    end: int,
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    ip_len: int,
    over_tcp: bool = False,
) -> Encap:
    """One OpenVPN packet in ``d[p:end]`` (a UDP datagram's payload, or one packet of a TCP
    stream, its 2-byte length taken off): the opcode, and the data channel's peer-id and
    packet-id. Over TCP the tunnel's key says so (``tcp``), its packets counted apart."""
    extra: tuple[object, ...] = ("tcp",) if over_tcp else ()
    e = _mk("OpenVPN", src, dst, extra, None, LINKTYPE_RAW, ip_len, end - p, sport, dport)
    e.stream = over_tcp
    op = d[p] >> 3
    e.message = op
    if op == 9 and end - p >= 8:  # P_DATA_V2: opcode/key, peer-id, then the packet-id
        e.index = d[p + 1] << 16 | d[p + 2] << 8 | d[p + 3]
        e.counter = _I.unpack_from(d, p + 4)[0]
    elif op == 6 and end - p >= 5:
        e.counter = _I.unpack_from(d, p + 1)[0]
    return e


def _gre(d: bytes, p: int, end: int, src: bytes, dst: bytes, ip_len: int) -> Encap | None:
    if end - p < 4:
        return None
    flags, proto = _HH.unpack_from(d, p)
    if flags & 0x7:  # version 1 (PPTP's enhanced GRE) is not a plain encapsulation
        return None
    q = p + 4
    key: tuple[object, ...] = ()
    if flags & 0x8000:
        q += 4
    if flags & 0x2000:
        if q + 4 > end:
            return None
        key = (_I.unpack_from(d, q)[0],)
        q += 4
    if flags & 0x1000:
        q += 4
    if q > end:
        return None
    if proto == 0x6558:
        lt = LINKTYPE_ETHERNET
    elif proto in (0x0800, 0x86DD):
        lt = LINKTYPE_RAW
    elif proto in ETH_MPLS:
        return _mpls(d, q, src, dst, ip_len, end, "GRE")
    else:
        return None
    return _mk("GRE", src, dst, key, d[q:end], lt, ip_len)


def _mpls(
    d: bytes, p: int, src: bytes, dst: bytes, ip_len: int, end: int | None = None, over: str = ""
) -> Encap | None:
    """An MPLS label stack: the labels make the tunnel, the packet after it is IP."""
    end = len(d) if end is None else end
    labels = []
    for _ in range(16):
        if p + 4 > end:
            return None
        word = _I.unpack_from(d, p)[0]
        labels.append(word >> 12)
        p += 4
        if word & 0x100:
            break
    else:
        return None
    if p >= end or d[p] >> 4 not in (4, 6):
        return None
    kind = "MPLS" if not over else f"MPLS over {over}"
    return _mk(kind, src, dst, (tuple(labels),), d[p:end], LINKTYPE_RAW, ip_len)


def _l2tp(d: bytes, p: int, end: int, src: bytes, dst: bytes, ip_len: int) -> Encap | None:
    """L2TPv2 data messages: the PPP frame they carry holds an IP packet."""
    if end - p < 6:
        return None
    flags = _H.unpack_from(d, p)[0]
    if flags & 0x8000 or flags & 0xF != 2:
        return None  # control message, or not version 2
    q = p + 2
    if flags & 0x4000:
        q += 2
    tunnel_id, session_id = _HH.unpack_from(d, q)
    q += 4
    if flags & 0x0800:
        q += 4
    if flags & 0x0200:
        if q + 2 > end:
            return None
        q += 2 + _H.unpack_from(d, q)[0]
    if q + 2 > end:
        return None
    if d[q] == 0xFF and d[q + 1] == 0x03:
        q += 2
    if q + 2 > end:
        return None
    ppp = _H.unpack_from(d, q)[0]
    if ppp not in (0x0021, 0x0057):
        return None
    return _mk("L2TP", src, dst, (tunnel_id, session_id), d[q + 2 : end], LINKTYPE_RAW, ip_len)


def wireguard_payload(inner_len: int) -> int:
    """The UDP payload that carries an inner packet of ``inner_len`` bytes: 16 bytes of
    header, the packet padded to 16, the 16-byte tag (the padding stops at the MTU, so
    the model is checked as a range, see ``fits``)."""
    return 32 + ((inner_len + 15) & ~15)


def static_key_base(payload: int, inner_len: int) -> int:
    """What an OpenVPN static-key (``--secret``) packet of ``payload`` bytes carrying
    ``inner_len`` has besides its CBC-encrypted plaintext (the packet-id and time, 8 bytes,
    and the inner packet, padded to the 16-byte block by 1-16 bytes): its HMAC and IV, the
    same for every packet of a tunnel (36 with SHA1 and AES-CBC, its defaults but the cipher)."""
    return payload - ((inner_len + 8) // 16 + 1) * 16


def fits(
    kind: str, payload: int, inner_len: int, learned: int | None, base: int | None = None
) -> bool:
    """Whether an encrypted payload of ``payload`` bytes can carry an inner packet of
    ``inner_len``: WireGuard's model exactly (with the padding that the MTU may cut),
    OpenVPN's and ESP's overhead as learned for this tunnel (with ESP's padding); for an
    OpenVPN static-key tunnel ("OpenVPN static") its HMAC and IV as learned (``base``,
    :func:`static_key_base`: a block cipher), or its constant overhead (``learned``: no
    cipher), with a compression byte or not."""
    delta = payload - inner_len
    if kind == "WireGuard":
        return 32 <= delta < 48
    if kind == "OpenVPN static":
        if learned is None and base is None:
            return 8 <= delta <= 128
        return (learned is not None and (delta == learned or delta == learned + 1)) or (
            base is not None
            and (
                static_key_base(payload, inner_len) == base
                or static_key_base(payload, inner_len + 1) == base
            )
        )
    if kind == "OpenVPN":
        if learned is None:
            return 4 < delta <= 96
        return delta == learned or delta == learned + 1  # a compression stub byte or not
    if learned is None:
        return 18 <= delta <= 96
    return learned <= delta < learned + 16  # the padding to the cipher's block
