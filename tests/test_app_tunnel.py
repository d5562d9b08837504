"""The tunnel's outer stream in the UI: rows name the inner frames, the tree dissects them."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether
from test_app import detail_tree, packet_list, settle, ui

from tapwatch.app import TapwatchApp
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.session import Session
from tapwatch.sinks import InnerFrames
from tapwatch.sources import InterfaceInfo, RecordSource
from tapwatch.tunnelview import TunnelView

T0 = 1_700_000_000_000_000_000
MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


def segment(payload: bytes, seq: int) -> bytes:
    return bytes(
        Ether(**MACS)
        / IP(src="10.200.0.1", dst="10.200.0.2")
        / TCP(sport=55555, dport=40000, seq=seq, flags="PA")
        / payload
    )


@ui
async def test_a_tunnel_segment_row_and_tree_show_the_inner_packet() -> None:
    inner = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=7, seq=3) / (b"z" * 56))
    stream = len(inner).to_bytes(2, "big") + inner
    tun = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW, index=0)
    veth = InterfaceInfo("veth0", "observe", linktype=LINKTYPE_ETHERNET, index=1)
    session = Session(
        [RecordSource(tun), RecordSource(veth)],
        sinks=[InnerFrames(TunnelView([55555], LINKTYPE_RAW))],
    )
    session.feed(T0, Direction.OUTBOUND, inner, iface=0)
    session.feed(T0 + 1000, Direction.OUTBOUND, segment(stream[:2], 1), iface=1)  # the prefix
    session.feed(T0 + 2000, Direction.OUTBOUND, segment(stream[2:], 3), iface=1)  # the frame
    session.pump()
    app = TapwatchApp(session)
    async with app.run_test(size=(220, 50)) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        rows = [packets.render_line(y).text for y in range(1, 4)]
        assert "tunnel, part of a frame" in rows[1]
        assert "tunnel 1 frame: IP 10.0.0.1 > 10.0.0.2: ICMP echo request" in rows[2]
        packets.move_cursor(2)
        await settle(pilot, app)
        labels = [str(n.label) for n in detail_tree(app).root.children]
        assert any(
            lab.startswith("Tunnel frame 1 of 1 (84 bytes, reassembled)") for lab in labels
        ), labels


@ui
async def test_the_inner_packet_is_in_the_row_however_long_the_outer_tcp_options() -> None:
    inner = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=7, seq=3) / (b"z" * 56))
    stream = len(inner).to_bytes(2, "big") + inner
    outer = bytes(
        Ether(**MACS)
        / IP(src="10.200.0.1", dst="10.200.0.2")
        / TCP(
            sport=55555,
            dport=40000,
            seq=1,
            flags="PA",
            options=[("NOP", None), ("NOP", None), ("Timestamp", (123456789, 987654321))],
        )
        / stream
    )
    veth = InterfaceInfo("veth0", "observe", linktype=LINKTYPE_ETHERNET, index=0)
    session = Session([RecordSource(veth)], sinks=[InnerFrames(TunnelView([55555], LINKTYPE_RAW))])
    session.feed(T0, Direction.OUTBOUND, outer)
    session.pump()
    app = TapwatchApp(session)
    async with app.run_test(size=(120, 30)) as pilot:  # a common terminal's width
        await settle(pilot, app)
        row = packet_list(app).render_line(1).text
        assert "tunnel 1 frame: IP 10.0.0.1 > 10.0.0.2: ICMP echo request" in row, row


@ui
async def test_a_segment_of_thousands_of_tiny_frames_is_bounded() -> None:
    """One 64 KB segment of 21,800 one-byte frames: the row names 8, the tree dissects 16,
    and both say how many more there are."""
    stream = b"\x00\x01x" * 21_800
    tun = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW, index=0)
    veth = InterfaceInfo("veth0", "observe", linktype=LINKTYPE_ETHERNET, index=1)
    session = Session(
        [RecordSource(tun), RecordSource(veth)],
        sinks=[InnerFrames(TunnelView([55555]))],
    )
    session.feed(T0, Direction.OUTBOUND, segment(stream, 1), iface=1)
    session.pump()
    app = TapwatchApp(session)
    async with app.run_test(size=(220, 50)) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        row = packets.render_line(1).text
        assert "tunnel 21,800 frames: [|ether], length 1;" in row, row
        packets.move_cursor(0)
        await settle(pilot, app)
        labels = [str(n.label) for n in detail_tree(app).root.children]
        assert sum(lab.startswith("Tunnel frame ") for lab in labels) == 16, labels
        assert "Tunnel frame 16 of 21,800 (1 bytes, reassembled)" in labels[-2], labels
        assert labels[-1] == "21,784 more frames not shown", labels
