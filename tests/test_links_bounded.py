"""Hostile tunnel streams given to the linker: what it holds and does per record is bounded.

A framed (simpletun) or OpenVPN-over-TCP segment of 64 KB can carry thousands of tiny
frames, each an outer packet to link; built by hand, never sent.
"""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, TCP
from scapy.packet import Raw

from tapwatch.analysis import links
from tapwatch.analysis.links import Linker
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.ring import Ring
from tapwatch.session import Session
from tapwatch.sinks import LinkSink
from tapwatch.sources import InterfaceInfo, RecordSource
from tapwatch.tunnelview import TunnelView

T0 = 1_700_000_000 * 1_000_000_000
PORT = 55555


class _Feed:
    """tun0 and eth0 (raw IP both), the linker following a framed tunnel on PORT."""

    def __init__(self) -> None:
        infos = [
            InterfaceInfo(name, "observe", linktype=LINKTYPE_RAW, index=i, mtu=1500)
            for i, name in enumerate(("tun0", "eth0"))
        ]
        self.linker = Linker(view=TunnelView((PORT,), LINKTYPE_RAW))
        self.session = Session(
            [RecordSource(i) for i in infos], ring=Ring(), sinks=[LinkSink(self.linker)]
        )
        self.seq = {PORT: 1000, 1194: 1000}
        self.ts = T0

    def segment(self, payload: bytes, port: int = PORT) -> None:
        pkt = IP(src="192.168.7.1", dst="192.168.7.2") / TCP(
            sport=40000, dport=port, seq=self.seq[port], flags="A"
        )
        self.seq[port] += len(payload)
        self.ts += 100_000
        self.session.feed(self.ts, Direction.OUTBOUND, bytes(pkt / Raw(payload)), 1)
        self.session.pump()


def _frames(n: int, start: int) -> bytes:
    """``n`` framed 'IP packets' of 4 bytes each, all different."""
    return b"".join(b"\x00\x04" + struct.pack("!I", start + i) for i in range(n))


def test_framed_frames_waiting_for_their_inner_packets_are_bounded() -> None:
    feed = _Feed()
    per = 200
    for k in range(2 * links.MAX_CANDIDATES // per + 5):
        feed.segment(_frames(per, k * per))
    held = sum(len(v) for v in feed.linker._exact_outer.values())
    assert len(feed.linker._exact_order) <= 2 * links.MAX_CANDIDATES
    assert held <= 2 * links.MAX_CANDIDATES


def test_a_segment_of_thousands_of_frames_links_a_bounded_number() -> None:
    """Framed and OpenVPN-over-TCP: the frames past MAX_FRAMES_LINKED are counted, not
    taken apart and linked one by one (1.3-3.6 s of the pump's time per segment)."""
    feed = _Feed()
    feed.segment(_frames(10000, 0))
    feed.segment((b"\x00\x02" + bytes([9 << 3, 0])) * 15000, port=1194)  # OpenVPN P_DATA_V2
    packets = sum(d.packets for t in feed.linker.tunnels.values() for d in t.dirs.values())
    assert packets <= 2 * links.MAX_FRAMES_LINKED
    assert feed.linker.frames_skipped == 10000 + 15000 - 2 * links.MAX_FRAMES_LINKED
