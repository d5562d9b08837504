"""The header fast path: a filter on link, IP and transport fields without the generic walk.

Most filters an analyst types (``ip.src == 10.0.0.1``, ``tcp.port == 80``, ``udp &&
ip.ttl < 64``, ``frame.len > 100``, ``icmp.type == 8``) read fields of the outer
headers only.  The generic walk (:mod:`tapwatch.dfilter.dissect`) makes a new
:class:`~tapwatch.dfilter.packet.Packet` and a :class:`~tapwatch.dfilter.packet.Layer`
per protocol for every packet, through a dispatch per layer: most of a header
filter's time.  Here one straight-line function walks the usual stacks (a link header,
at most one 802.1Q tag, IPv4 or IPv6, TCP/UDP/ICMP/ICMPv6, or ARP) into layer objects
made once per filter and reused, and the filter's compiled test runs on them
unchanged: the same field getters read the same spans.

It gives up -- the packet then goes through the generic walk, with the same capture --
whenever the generic walk could find something it does not model: a second
occurrence of a protocol (VLAN stacks, tunnels, the datagram inside an ICMP error),
IPv6 extension headers, IP fragments (their reassembly keeps state across packets),
or a payload handed to a walker not marked a leaf (:data:`~tapwatch.dfilter.dissect.LEAVES`).
So it is taken only by filters whose every field belongs to :data:`HEADERS` (or to what
reassembly adds: HTTP, TLS) and needs no in-order pass but those of :data:`PASSES`
(streams, TCP analysis, reassembly, transactions: the passes then read the fast walk's
layers, one header unpack feeding the TCP analysis); and only while the dispatch tables
still hold the walkers it mirrors (a module that rebinds one turns it off).
tests/test_dfilter_fastpath.py checks it against the generic walk and tshark.

Unlike the generic walk, it reads where each header ends itself (IHL, TCP's data offset,
UDP's length, a tag's four bytes) instead of asking the decoder's header walk
(:func:`tapwatch.decode.walk`), deliberately: the walk per packet would cost more than the
whole of this path.  The test above holds the two to the same spans.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any, Final

from tapwatch.dfilter import dissect, registry
from tapwatch.dfilter.packet import Capture, Layer, Packet
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

#: The protocols whose layers the fast walk makes.
HEADERS: Final = frozenset(
    {"frame", "raw", "null", "sll", "eth", "vlan", "ip", "ipv6", "tcp", "udp", "icmp"}
    | {"icmpv6", "arp"}
)

_U16: Final = struct.Struct("!H").unpack_from
_IP4: Final = struct.Struct("!BxHxxHxB").unpack_from
#: The stack order of the layers the fast walk makes (one of each at most).
ORDER: Final = ("frame", "raw", "null", "sll", "eth", "vlan", "ip", "ipv6", "arp", "tcp", "udp")
ORDER2: Final = ("icmp", "icmpv6")
_VLAN: Final = frozenset({0x8100, 0x88A8, 0x9100})
_IPV6_EXT: Final = frozenset({0, 43, 44, 60})
_ICMP_ERRORS: Final = frozenset({3, 4, 5, 11, 12})


def _expected() -> list[tuple[dict[int, Any], int, Any]]:
    """(table, key, walker) for every dispatch the fast walk mirrors."""
    from tapwatch.dfilter.protocols import ip, link, transport

    d = dissect
    out: list[tuple[dict[int, Any], int, Any]] = [
        (d.LINKTYPES, LINKTYPE_ETHERNET, link.ether),
        (d.LINKTYPES, LINKTYPE_RAW, link.raw_ip),
        (d.LINKTYPES, 12, link.raw_ip),
        (d.LINKTYPES, LINKTYPE_IPV4, d.ip_any),
        (d.LINKTYPES, LINKTYPE_IPV6, d.ip_any),
        (d.LINKTYPES, LINKTYPE_NULL, link.null),
        (d.LINKTYPES, LINKTYPE_LINUX_SLL, link.sll),
        (d.LINKTYPES, LINKTYPE_LINUX_SLL2, link.sll2),
        (d.ETHERTYPES, 0x0800, ip.ipv4),
        (d.ETHERTYPES, 0x86DD, ip.ipv6),
        (d.ETHERTYPES, 0x0806, link.arp),
        (d.IP_PROTOS, 6, transport.tcp),
        (d.IP_PROTOS, 17, transport.udp),
        (d.IP_PROTOS, 1, ip.icmp),
        (d.IP_PROTOS, 58, ip.icmpv6),
    ]
    out += [(d.ETHERTYPES, t, link.vlan) for t in _VLAN]
    return out


#: In-order passes that may run on the fast walk's layers: they read the layers and note
#: what they find in ``layer.extra`` (reset by the walk for every packet); those of
#: :data:`ADDING` also add layers (a packet then gets its own copy of the stack).
PASSES: Final = frozenset(
    {"tcp.stream", "tcp.analysis", "udp.stream", "transactions", "transactions.http"}
    | {"tcp.reassembly"}
)
ADDING: Final = frozenset({"tcp.reassembly"})
#: What the passes of :data:`ADDING` add: the protocols of reassembled TCP payloads.
ADDED: Final = frozenset({"http", "tls"})


def eligible(fields: Iterable[registry.Field]) -> bool:
    """Whether a filter reading ``fields`` may take the fast path: header fields, and the
    fields of the passes in :data:`PASSES` (stream numbers, TCP analysis, reassembled HTTP
    and TLS, transactions), over the header protocols."""
    for f in fields:
        if not PASSES.issuperset(f.needs):
            return False
        if f.protocol not in HEADERS and f.protocol not in ADDED:
            return False
        if f.cost != registry.FAST and not f.needs:
            return False
        if any(p not in HEADERS and p not in ADDED for p in f.also):
            return False
    return all(table.get(key) is fn for table, key, fn in _expected())


class FastPath:
    """The fast walk for one filter, with the packet and layers it reuses.

    ``headers=False`` (a filter on ``frame.*`` alone): no walk, the frame layer only.
    """

    def __init__(
        self, headers: bool = True, fresh: bool = False, generic: frozenset[str] = frozenset()
    ) -> None:
        from tapwatch.dfilter.protocols.transport import TcpInfo

        self.headers = headers
        #: a pass adds layers: each packet gets its own list and index of the stack
        self.fresh = fresh
        #: packets with these layers go to the generic walk (it reads their payloads: DNS
        #: over UDP for a caller that needs it)
        self._generic = sum(1 << i for i, n in enumerate(ORDER + ORDER2) if n in generic)
        self.pkt = Packet(b"", -1)
        self._layers = {n: Layer(n, b"", 0, 0) for n in HEADERS}
        self._tcpinfo = TcpInfo(0)
        self._stacks: dict[int, tuple[list[Layer], dict[str, list[Layer]]]] = {}
        #: the layers the generic walk would find (bits of ORDER), or 0 where it would
        #: find more
        self.walk = _make_walk(self._layers, self._tcpinfo)

    def packet(
        self,
        cap: Capture,
        data: bytes,
        linktype: int,
        number: int,
        ts_ns: int,
        iface: int,
        direction: int,
        orig_len: int | None,
    ) -> Packet | None:
        """The packet with its layers, or None: the generic walk must take it."""
        if self.headers:
            try:
                found = self.walk(data, linktype)
            except Exception:  # hostile bytes: the generic walk decides what stands
                return None
        else:
            frame = self._layers["frame"]
            frame.data, frame.end, frame.extra = data, len(data), None
            found = 1
        if found & self._generic:
            return None
        got = self._stacks.get(found)
        if got is None:
            if not found:
                return None
            got = self._stack(found)
        p = self.pkt
        p.data = data
        p.orig_len = len(data) if orig_len is None else orig_len
        p.linktype = linktype
        p.number = number
        p.ts_ns = ts_ns
        p.iface = iface
        p.capture = cap
        p.direction = direction
        p.delta_ns = cap.stamp(ts_ns)
        if self.fresh:
            layers = got[0][:]
            p._layers, p._index = layers, {x.name: [x] for x in layers}
        else:
            p._layers, p._index = got
        for ps in cap.passes:
            ps.feed(p)
        return p

    def _stack(self, found: int) -> tuple[list[Layer], dict[str, list[Layer]]]:
        """The layers and index of one set of layers: the same objects for every packet
        with that stack (nothing changes them: the passes a filter on this path runs add
        no layer)."""
        layers = [self._layers[n] for i, n in enumerate(ORDER + ORDER2) if found >> i & 1]
        got = self._stacks[found] = (layers, {x.name: [x] for x in layers})
        return got

    def layers(self, d: bytes, lt: int) -> list[Layer] | None:
        """The layers the generic walk would find, or None where it would find more."""
        found = self.walk(d, lt)
        return self._stack(found)[0] if found else None


def _make_walk(layers: dict[str, Layer], info_: Any) -> Callable[[bytes, int], int]:
    """``FastPath.walk`` for one filter's layers: they are the closure's own names (no
    lookup per packet)."""
    from tapwatch.dfilter.protocols.link import VIA_WALK

    via_walk = VIA_WALK
    frame_ = layers["frame"]
    raw_ = layers["raw"]
    null_ = layers["null"]
    sll_ = layers["sll"]
    eth_ = layers["eth"]
    vlan_ = layers["vlan"]
    ip_ = layers["ip"]
    ipv6_ = layers["ipv6"]
    arp_ = layers["arp"]
    tcp_ = layers["tcp"]
    udp_ = layers["udp"]
    icmp_ = layers["icmp"]
    icmpv6_ = layers["icmpv6"]

    def walk(d: bytes, lt: int) -> int:
        """The layers the generic walk would find (bits of :data:`ORDER`), or 0 where it would
        find more."""
        end = len(d)
        frame = frame_
        frame.data, frame.end, frame.extra = d, end, None
        m = 1  # the layers found, a bit each (ORDER): one of each, so their order is known
        off = 0
        et = -1  # the ethertype to dispatch at ``off``; -1: nothing more
        if lt == 101 or lt == 12:
            x = raw_
            x.data, x.off, x.end, x.hlen, x.extra = d, 0, end, 0, None
            m |= 2  # raw
            et = -2
        elif lt == 1:
            if end < 14:
                return m
            t = _U16(d, 12)[0]
            x = eth_
            x.data, x.off, x.end, x.hlen, x.extra = d, 0, 14, 14, t
            m |= 16  # eth
            if t < 0x600 or t in via_walk:  # LLC, PPPoE: the generic walk asks the decoder's
                return 0 if end > 14 else m
            et, off = t, 14
        elif lt in (LINKTYPE_IPV4, LINKTYPE_IPV6):
            et = -2
        elif lt in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
            size = 16 if lt == LINKTYPE_LINUX_SLL else 20
            if end < size:
                return m
            x = sll_
            x.data, x.off, x.end, x.hlen, x.extra = d, 0, size, size, None
            m |= 8  # sll
            et, off = _U16(d, 14 if size == 16 else 0)[0], size
        elif lt == LINKTYPE_NULL:
            if end < 4:
                return m
            x = null_
            x.data, x.off, x.end, x.hlen, x.extra = d, 0, 4, 4, None
            m |= 4  # null
            et, off = -2, 4
        else:  # the generic walk's (a link type without a walker: where the decoder finds IP)
            return 0
        if et == -2:  # a bare IP packet: its version from the first nibble
            if off >= end:
                return m
            v = d[off] >> 4
            et = 0x0800 if v == 4 else 0x86DD if v == 6 else -1
        if et in _VLAN:
            if off >= end or off + 4 > end:
                return m
            x = vlan_
            x.data, x.off, x.end, x.hlen, x.extra = d, off, off + 4, 4, None
            m |= 32  # vlan
            et = _U16(d, off + 2)[0]
            off += 4
            if et in _VLAN:
                return 0  # stacked tags: several vlan layers
            if (et < 0x600 or et in via_walk) and m & 16 and off < end:
                return 0  # LLC, PPPoE after a tag: the generic walk asks the decoder's
        if off >= end or et < 0:
            return m
        if et == 0x0800:
            if off + 20 > end:
                return m
            vhl, total, fo, proto = _IP4(d, off)
            ihl = (vhl & 15) * 4
            if ihl < 20 or off + ihl > end:
                return m
            if fo & 0x3FFF:
                return 0  # a fragment: reassembly keeps state
            if total >= ihl:
                stop = off + total if off + total < end else end
                claimed = off + total
            else:
                stop = claimed = end
            x = ip_
            x.data, x.off, x.end, x.hlen, x.extra = d, off, stop, ihl, claimed
            m |= 64  # ip
            off += ihl
        elif et == 0x86DD:
            if off + 40 > end:
                return m
            plen = _U16(d, off + 4)[0]
            if plen:
                stop = off + 40 + plen if off + 40 + plen < end else end
                claimed = off + 40 + plen
            else:
                stop = claimed = end
            x = ipv6_
            x.data, x.off, x.end, x.hlen, x.extra = d, off, stop, 40, claimed
            m |= 128  # ipv6
            proto = d[off + 6]
            if proto in _IPV6_EXT:
                return 0
            off += 40
        elif et == 0x0806:
            if off + 8 > end:
                return m
            size = 8 + 2 * (d[off + 4] + d[off + 5])
            x = arp_
            x.data, x.off, x.end, x.hlen, x.extra = d, off, min(end, off + size), size, None
            m |= 256  # arp
            return m
        else:
            fn = dissect.ETHERTYPES.get(et)
            return m if fn is None or fn in dissect.LEAVES else 0
        # the transport, from ``off`` to the datagram's end ``stop``
        if proto == 6:
            if off >= stop:
                return m
            x = tcp_
            info = info_
            # what the passes noted on the last packet's TCP (they note this one's anew)
            info.stream = info.seq = info.ack = info.nxtseq = info.window = -1
            info.scale = info.flow = info.analysis = None
            if off + 20 > stop:
                x.data, x.off, x.end, x.hlen = d, off, stop, stop - off
                info.length = 0
            else:
                thl = (d[off + 12] >> 4) * 4
                if thl < 20:
                    return m
                x.data, x.off, x.end, x.hlen = (
                    d,
                    off,
                    stop,
                    thl if off + thl <= stop else stop - off,
                )
                length = (claimed if claimed >= off else stop) - off - thl
                info.length = length if length > 0 else 0
            x.extra = info
            m |= 512  # tcp
            return m
        if proto == 17:
            if off >= stop:
                return m
            x = udp_
            x.extra = None
            if off + 8 > stop:
                x.data, x.off, x.end, x.hlen = d, off, stop, stop - off
                m |= 1024  # udp
                return m
            ulen = _U16(d, off + 4)[0]
            ustop = off + ulen if ulen >= 8 and off + ulen < stop else stop
            x.data, x.off, x.end, x.hlen = d, off, ustop, 8
            m |= 1024  # udp
            if off + 8 >= ustop:
                return m
            sport, dport = _U16(d, off)[0], _U16(d, off + 2)[0]
            lo, hi = (sport, dport) if sport <= dport else (dport, sport)
            ports = dissect.UDP_PORTS
            leaves = dissect.LEAVES
            for port in (lo, hi):
                if port:
                    fn = ports.get(port)
                    if fn is not None:
                        return m if fn in leaves else 0
            for h in dissect.UDP_HEURISTICS:
                if h not in leaves:
                    return 0
            return m
        if proto == 1 or proto == 58:
            if off + 4 > stop:
                return m
            t = d[off]
            if off + 8 < stop and (t in _ICMP_ERRORS if proto == 1 else t < 128):
                return 0  # an error: the datagram that caused it follows, as IP
            x = icmp_ if proto == 1 else icmpv6_
            x.data, x.off, x.end, x.hlen, x.extra = d, off, stop, 8, None
            m |= 2048 if proto == 1 else 4096
            return m
        fn = dissect.IP_PROTOS.get(proto)
        return m if fn is None or fn in dissect.LEAVES else 0

    return walk
