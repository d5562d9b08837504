"""Just enough header parsing for the tools: addresses, ports and where the payload is.

The one-line decoder (``decode.summarize``) formats text; conversations,
streams and sorting need numbers instead, for hundreds of thousands of
packets, so this is a small struct-based walk of its own: link header
(Ethernet with VLAN tags, raw IP, Linux cooked v1/v2, BSD loopback), IPv4 or
IPv6 (extension headers skipped, fragments noted), then TCP or UDP. It never
raises on hostile input: anything it cannot follow comes back as None or as
an IP-only result.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)
from tapwatch.wire import (
    ETH_HLEN,
    ETH_P_IP,
    ETH_P_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    VLAN_HLEN,
    VLAN_TPIDS,
)

_H = struct.Struct("!H")
_HH = struct.Struct("!HH")
_TCP = struct.Struct("!HHIIBB")
_MAX_VLAN_TAGS = 8
_MAX_EXT_HEADERS = 16
#: IPv6 extension headers that are walked over to reach TCP/UDP (hop-by-hop, routing,
#: destination options; the fragment header is handled apart).
_IPV6_EXT = frozenset((0, 43, 60))
_IPV6_FRAGMENT = 44
_NULL_IPV4 = frozenset((2,))
_NULL_IPV6 = frozenset((10, 24, 28, 30))

#: TCP flag bits the stream reassembly looks at.
TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10


class Transport(NamedTuple):
    """What the tools need of one packet; ``src``/``dst`` are packed addresses.

    ``proto`` is the IP protocol number; ``sport``/``dport`` are 0 when the
    packet has no ports (ICMP, a later fragment, a header cut short).
    ``start``/``end`` delimit the TCP or UDP payload in the frame (equal when
    there is none); ``seq`` and ``flags`` are TCP's (0 otherwise).
    """

    version: int
    proto: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    start: int
    end: int
    seq: int
    flags: int


def _network(data: bytes, linktype: int) -> tuple[int, int]:
    """(ethertype-like family 4/6 or 0, offset of the IP header) for a frame."""
    n = len(data)
    if linktype == LINKTYPE_RAW:
        if not n:
            return 0, 0
        v = data[0] >> 4
        return (v, 0) if v in (4, 6) else (0, 0)
    if linktype == LINKTYPE_ETHERNET:
        off = ETH_HLEN
        if n < off:
            return 0, 0
        etype = _H.unpack_from(data, 12)[0]
        tags = 0
        while etype in VLAN_TPIDS and tags < _MAX_VLAN_TAGS:
            if n < off + VLAN_HLEN:
                return 0, 0
            etype = _H.unpack_from(data, off + 2)[0]
            off += VLAN_HLEN
            tags += 1
        if etype == ETH_P_IP:
            return 4, off
        if etype == ETH_P_IPV6:
            return 6, off
        return 0, 0
    if linktype == LINKTYPE_IPV4:
        return 4, 0
    if linktype == LINKTYPE_IPV6:
        return 6, 0
    if linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return 0, 0
        etype = _H.unpack_from(data, 14)[0]
        return (4, 16) if etype == ETH_P_IP else (6, 16) if etype == ETH_P_IPV6 else (0, 0)
    if linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return 0, 0
        etype = _H.unpack_from(data, 0)[0]
        return (4, 20) if etype == ETH_P_IP else (6, 20) if etype == ETH_P_IPV6 else (0, 0)
    if linktype == LINKTYPE_NULL:
        if n < 4:
            return 0, 0
        fam = data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24
        if fam & 0xFFFF0000:
            fam = data[3] | data[2] << 8 | data[1] << 16 | data[0] << 24
        return (4, 4) if fam in _NULL_IPV4 else (6, 4) if fam in _NULL_IPV6 else (0, 0)
    return 0, 0


def transport(data: bytes, linktype: int) -> Transport | None:
    """Addresses, ports and payload span of an IP packet; None when it is not IP."""
    version, off = _network(data, linktype)
    n = len(data)
    if version == 4:
        if n < off + 20 or data[off] >> 4 != 4:
            return None
        ihl = (data[off] & 0x0F) * 4
        total = _H.unpack_from(data, off + 2)[0]
        end = min(n, off + total) if total >= ihl else n
        proto = data[off + 9]
        src = data[off + 12 : off + 16]
        dst = data[off + 16 : off + 20]
        frag = _H.unpack_from(data, off + 6)[0] & 0x1FFF
        l4 = off + ihl
        if ihl < 20 or frag or l4 > end:
            return Transport(4, proto, src, dst, 0, 0, end, end, 0, 0)
    elif version == 6:
        if n < off + 40 or data[off] >> 4 != 6:
            return None
        plen = _H.unpack_from(data, off + 4)[0]
        end = min(n, off + 40 + plen) if plen else n
        proto = data[off + 6]
        src = data[off + 8 : off + 24]
        dst = data[off + 24 : off + 40]
        l4 = off + 40
        for _ in range(_MAX_EXT_HEADERS):
            if proto in _IPV6_EXT:
                if l4 + 2 > end:
                    return Transport(6, proto, src, dst, 0, 0, end, end, 0, 0)
                proto, length = data[l4], (data[l4 + 1] + 1) * 8
                l4 += length
            elif proto == _IPV6_FRAGMENT:
                if l4 + 8 > end:
                    return Transport(6, proto, src, dst, 0, 0, end, end, 0, 0)
                nxt = data[l4]
                offset = _H.unpack_from(data, l4 + 2)[0] >> 3
                if offset:
                    return Transport(6, nxt, src, dst, 0, 0, end, end, 0, 0)
                proto = nxt
                l4 += 8
            else:
                break
        if l4 > end:
            return Transport(6, proto, src, dst, 0, 0, end, end, 0, 0)
    else:
        return None
    if proto == IPPROTO_TCP:
        if l4 + 20 > end:
            return Transport(version, proto, src, dst, 0, 0, end, end, 0, 0)
        sport, dport, seq, _ack, doff, flags = _TCP.unpack_from(data, l4)
        start = l4 + (doff >> 4) * 4
        if start > end:
            start = end
        return Transport(version, proto, src, dst, sport, dport, start, end, seq, flags)
    if proto == IPPROTO_UDP:
        if l4 + 8 > end:
            return Transport(version, proto, src, dst, 0, 0, end, end, 0, 0)
        sport, dport = _HH.unpack_from(data, l4)
        return Transport(version, proto, src, dst, sport, dport, l4 + 8, end, 0, 0)
    return Transport(version, proto, src, dst, 0, 0, end, end, 0, 0)


def addr_text(packed: bytes) -> str:
    """An address as people write it (compressed IPv6)."""
    if len(packed) == 4:
        return ".".join(str(b) for b in packed)
    if len(packed) == 16:
        return str(ipaddress.IPv6Address(packed))
    return packed.hex(":")


def endpoint_text(packed: bytes, port: int) -> str:
    """``10.0.0.1:53`` / ``[fd00::1]:53`` (port 0: the address alone)."""
    text = addr_text(packed)
    if not port:
        return text
    return f"[{text}]:{port}" if len(packed) == 16 else f"{text}:{port}"
