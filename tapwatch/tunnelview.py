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

from tapwatch.analysis.headers import TCP_SYN, transport
from tapwatch.decode import FramedStream
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.wire import IPPROTO_TCP, IPPROTO_UDP

#: Connections followed at once; the least recently seen is forgotten past this.
MAX_CONNECTIONS = 1024
#: Inner frames a line names: a 64 KB segment may carry 20,000 one-byte frames, and a line
#: (or a list row, drawn again on every scroll) must cost the same whatever a peer sends.
MAX_FRAMES_SAID = 8
#: Inner frames the tree dissects (each a full dissection: milliseconds); the rest are counted.
MAX_FRAMES_DISSECTED = 16


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
        t = transport(data, linktype)
        if t is None or (t.sport not in self.ports and t.dport not in self.ports):
            return None
        payload = data[t.start : t.end]
        if t.proto == IPPROTO_UDP:
            return [bytes(payload)] if payload else None
        if t.proto != IPPROTO_TCP:
            return None
        seq = (t.seq + 1) & 0xFFFFFFFF if t.flags & TCP_SYN else t.seq  # the stream starts after
        key = t.src + t.dst + struct.pack("!HH", t.sport, t.dport)
        streams = self._streams
        st = streams.get(key)
        if st is None:
            st = streams[key] = _Stream(FramedStream(self.inner_linktype or LINKTYPE_RAW), seq)
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
    said = frames[:MAX_FRAMES_SAID]
    texts = [printable(summarize(f, view.linktype_of(f)).text) for f in said]
    n = len(frames)
    if n > len(said):
        texts.append(more_frames(n - len(said)))
    return f"tunnel {n:,} frame{'s' if n > 1 else ''}: " + "; ".join(texts)


def more_frames(n: int) -> str:
    """What stands for the inner frames past a bound."""
    return f"{n:,} more frame{'s' if n > 1 else ''} not shown"
