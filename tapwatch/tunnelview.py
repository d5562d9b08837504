"""What a simpletun-style tunnel carries, seen on the interface its TCP stream crosses.

The session's own tunnel (and, with ``--tunnel-decode PORT``, anyone's) sends
each frame as a 2-byte length and the bytes over TCP, or one frame per UDP
datagram. On the outer interface those are just TCP segments; this module
follows each connection's byte stream in order (a frame may span segments,
a segment may carry several) and says which inner frames each segment
completes, so a line or a list row can show them and the tree can dissect
them.

It sees packets in capture order, once each, as the pump or a printer does.
Retransmitted bytes are skipped, a gap in the stream (packets the capture
did not see) starts the connection's framing afresh, and everything held is
bounded.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Iterable

from tapwatch.decode import FramedStream
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_RAW
from tapwatch.wire import ETH_HLEN, ETH_P_IP, ETH_P_IPV6, IPPROTO_TCP, IPPROTO_UDP, VLAN_TPIDS

#: Connections followed at once; the least recently seen is forgotten past this.
MAX_CONNECTIONS = 1024

_S_TCP = struct.Struct("!HHIIB")
_S_UDP = struct.Struct("!HHH")


def _transport(data: bytes, linktype: int) -> tuple[int, bytes, bytes, int] | None:
    """``(ip protocol, addresses+ports key, payload, tcp seq)`` of a TCP/UDP packet, or None."""
    off = 0
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < ETH_HLEN:
            return None
        etype = data[12] << 8 | data[13]
        off = ETH_HLEN
        while etype in VLAN_TPIDS and len(data) >= off + 4:
            etype = data[off + 2] << 8 | data[off + 3]
            off += 4
        if etype not in (ETH_P_IP, ETH_P_IPV6):
            return None
    elif linktype not in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return None
    if len(data) < off + 20:
        return None
    version = data[off] >> 4
    if version == 4:
        hl = (data[off] & 15) * 4
        total = data[off + 2] << 8 | data[off + 3]
        if data[off + 6] & 0x3F or data[off + 7]:  # a fragment: not followed
            return None
        proto = data[off + 9]
        addrs = data[off + 12:off + 20]
        end = min(len(data), off + total)
        off += hl
    elif version == 6 and len(data) >= off + 40:
        proto = data[off + 6]
        plen = data[off + 4] << 8 | data[off + 5]
        addrs = data[off + 8:off + 40]
        end = min(len(data), off + 40 + plen)
        off += 40
    else:
        return None
    if proto == IPPROTO_TCP and end - off >= 20:
        sport, dport, seq, _ack, doff = _S_TCP.unpack_from(data, off)
        flags = data[off + 13]
        payload = data[off + (doff >> 4) * 4:end]
        if flags & 0x02:  # SYN: the stream starts after it
            seq = (seq + 1) & 0xFFFFFFFF
        return proto, addrs + struct.pack("!HH", sport, dport), payload, seq
    if proto == IPPROTO_UDP and end - off >= 8:
        sport, dport, _ulen = _S_UDP.unpack_from(data, off)
        return proto, addrs + struct.pack("!HH", sport, dport), data[off + 8:end], 0
    return None


def _ports(key: bytes) -> tuple[int, int]:
    sport, dport = struct.unpack_from("!HH", key, len(key) - 4)
    return sport, dport


def guess_linktype(frame: bytes) -> int:
    """Raw IP when the frame is an IP packet of its own length, else Ethernet (a tap)."""
    if frame:
        v = frame[0] >> 4
        if v == 4 and len(frame) >= 20 and (frame[2] << 8 | frame[3]) == len(frame):
            return LINKTYPE_RAW
        if v == 6 and len(frame) >= 40 and (frame[4] << 8 | frame[5]) + 40 == len(frame):
            return LINKTYPE_RAW
    return LINKTYPE_ETHERNET


class _Stream:
    __slots__ = ("framed", "next_seq")

    def __init__(self, framed: FramedStream, next_seq: int | None) -> None:
        self.framed = framed
        self.next_seq = next_seq


class TunnelView:
    """Follows the framed connections on ``ports`` and hands out the inner frames.

    ``inner_linktype``: the tunnel's (raw IP for a tun, Ethernet for a tap);
    None when not known (``--tunnel-decode`` of someone else's tunnel): each
    frame is then judged by its first bytes, see :func:`guess_linktype`.
    """

    def __init__(self, ports: Iterable[int], inner_linktype: int | None = None) -> None:
        self.ports = frozenset(ports)
        self.inner_linktype = inner_linktype
        self._streams: OrderedDict[bytes, _Stream] = OrderedDict()
        self.resyncs = 0  # gaps in a stream: its framing started afresh

    def frames(self, data: bytes, linktype: int) -> list[bytes] | None:
        """The inner frames this packet completes: [] for tunnel bytes that complete none
        (the start of a frame), None when it carries no tunnel bytes (another port, an ACK)."""
        t = _transport(data, linktype)
        if t is None:
            return None
        proto, key, payload, seq = t
        sport, dport = _ports(key)
        if sport not in self.ports and dport not in self.ports:
            return None
        if proto == IPPROTO_UDP:
            return [bytes(payload)] if payload else None
        streams = self._streams
        st = streams.get(key)
        if st is None:
            st = streams[key] = _Stream(FramedStream(self.inner_linktype or LINKTYPE_RAW),
                                        seq)
            if len(streams) > MAX_CONNECTIONS:
                streams.popitem(last=False)
        else:
            streams.move_to_end(key)
        if not payload:
            if st.next_seq is None:
                st.next_seq = seq
            return None
        expected = st.next_seq
        if expected is not None and seq != expected:
            ahead = (seq - expected) & 0xFFFFFFFF
            if ahead >= 0x80000000:  # old bytes again (a retransmission)
                behind = (expected - seq) & 0xFFFFFFFF
                if behind >= len(payload):
                    return None
                payload = payload[behind:]
                seq = expected
            else:  # bytes the capture never saw: the framing cannot be trusted across them
                self.resyncs += 1
                st.framed.reset()
        st.next_seq = (seq + len(payload)) & 0xFFFFFFFF
        return st.framed.feed_frames(payload)

    def linktype_of(self, frame: bytes) -> int:
        if self.inner_linktype is not None:
            return self.inner_linktype
        return guess_linktype(frame)

    def reset(self) -> None:
        self._streams.clear()


def describe(view: TunnelView, frames: list[bytes]) -> str:
    """What a line adds for a tunnel segment: ``tunnel 1 frame: IP ...`` (escaped text)."""
    from tapwatch.decode import summarize
    from tapwatch.sanitize import printable

    if not frames:
        return "tunnel, part of a frame"
    texts = [printable(summarize(f, view.linktype_of(f)).text) for f in frames]
    n = len(frames)
    return f"tunnel {n} frame{'s' if n > 1 else ''}: " + "; ".join(texts)
