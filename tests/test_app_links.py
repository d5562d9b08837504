"""Inner and outer packets linked, in the UI: the list's marks, the tree's "Carried by" and
"Carries" layers, ``J`` jumping between them, and the Tunnels tool (``T``), driven by Pilot."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("textual")
scapy_all = pytest.importorskip("scapy.all")

from test_app import (  # noqa: E402
    OUTBOUND,
    T0,
    detail_tree,
    display_filter,
    main,
    packet_list,
    settle,
    ui,
)
from waiting import until  # noqa: E402

from tapwatch.analysis.links import Linker  # noqa: E402
from tapwatch.app import TapwatchApp  # noqa: E402
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW  # noqa: E402
from tapwatch.session import Session  # noqa: E402
from tapwatch.sinks import LinkSink  # noqa: E402
from tapwatch.sources import InterfaceInfo, RecordSource  # noqa: E402
from tapwatch.widgets.tunnels import TunnelsScreen  # noqa: E402

IP, ICMP, UDP, Ether, Raw = (
    scapy_all.IP,
    scapy_all.ICMP,
    scapy_all.UDP,
    scapy_all.Ether,
    scapy_all.Raw,
)
SIZE = (140, 40)
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"


def linked_session() -> Session:
    """wg0 (raw IP) and veth0 under it: three pings, each carried by a WireGuard packet,
    then unrelated traffic on veth0."""
    wg0 = InterfaceInfo("wg0", "observe", linktype=LINKTYPE_RAW, index=0, mtu=1420)
    veth = InterfaceInfo("veth0", "observe", linktype=LINKTYPE_ETHERNET, index=1, mtu=1500)
    session = Session([RecordSource(wg0), RecordSource(veth)], sinks=[LinkSink(Linker())])
    ts = T0
    for n in range(3):
        inner = bytes(IP(src="10.9.0.1", dst="10.9.0.2", id=n) / ICMP(seq=n) / Raw(b"p" * 56))
        wg = struct.pack("<BxxxIQ", 4, 7, n) + bytes(((len(inner) + 15) & ~15) + 16)
        outer = bytes(
            Ether(src=MAC_A, dst=MAC_B)
            / IP(src="192.168.7.1", dst="192.168.7.2")
            / UDP(sport=51820, dport=51820)
            / Raw(wg)
        )
        session.feed(ts, OUTBOUND, inner, 0)
        session.feed(ts + 200_000, OUTBOUND, outer, 1)
        ts += 10_000_000
    other = Ether(src=MAC_A, dst=MAC_B) / IP(src="192.168.7.1", dst="192.168.7.9") / UDP(dport=53)
    session.feed(ts, OUTBOUND, bytes(other), 1)
    session.pump()
    return session


def row(app: TapwatchApp, seq: int) -> str:
    packets = packet_list(app)
    return packets._render_row(
        seq, packets._cols, 0, None, packets.session.linker.has_links(seq)
    ).text  # type: ignore[arg-type, union-attr]


def tree_labels(app: TapwatchApp) -> list[str]:
    return [str(node.label) for node in detail_tree(app).root.children]


@ui
async def test_marks_tree_and_the_jump_between_inner_and_outer() -> None:
    app = TapwatchApp(linked_session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        assert row(app, 1).lstrip().startswith("⊂1")
        assert row(app, 2).lstrip().startswith("⊃2")
        assert row(app, 7).lstrip().startswith("7")
        packets.go_to_seq(1)
        packets.focus()
        await settle(pilot, app)
        labels = tree_labels(app)
        assert any(
            label.startswith("Carried by: packet 2 on veth0, WireGuard, 0.200 ms inside")
            and label.endswith("inferred")
            for label in labels
        ), labels
        await pilot.press("J")
        await until(pilot, lambda: packets.cursor_seq == 2)
        await settle(pilot, app)
        assert any(label.startswith("Carries: packet 1 on wg0") for label in tree_labels(app))
        # the outer packet's own layers below the link, WireGuard's in tshark's words
        await until(pilot, lambda: "WireGuard Protocol" in tree_labels(app))
        await pilot.press("J")
        await until(pilot, lambda: packets.cursor_seq == 1)
        packets.go_to_seq(7)
        await settle(pilot, app)
        await pilot.press("J")
        await settle(pilot, app)
        assert packets.cursor_seq == 7
        assert "no linked" in (main(app).query_one("KeyHints").message or "")  # type: ignore[attr-defined]


@ui
async def test_the_tunnels_tool_and_enter_filters_to_the_outer_packets() -> None:
    app = TapwatchApp(linked_session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("T")
        screen = app.screen
        assert isinstance(screen, TunnelsScreen)
        from tapwatch.widgets.table import LineTable

        table = screen.query_one(LineTable)
        await until(pilot, lambda: len(table.rows) == 1)
        cells = table.rows[0]
        assert cells[:5] == (
            "WireGuard 192.168.7.1:51820 <> 192.168.7.2:51820",
            "Out",
            "inferred",
            "3",
            "3",
        )
        assert cells[5] == "0.200 ms" and cells[8] == "72.0 B"
        notes = str(screen.query_one("#tunnels-notes").render())
        assert "outer on veth0, inside wg0" in notes
        await pilot.press("enter")
        await settle(pilot, app)
        assert not isinstance(app.screen, TunnelsScreen)
        assert display_filter(app).startswith("udp and (port 51820)")
        assert packet_list(app).shown_seqs() == [2, 4, 6]


@ui
async def test_the_tree_shows_a_link_that_arrives_after_the_packet() -> None:
    """The selected inner packet's tree gains its "Carried by" layer once the outer packet
    that carried it comes, without moving the cursor."""
    wg0 = InterfaceInfo("wg0", "observe", linktype=LINKTYPE_RAW, index=0, mtu=1420)
    veth = InterfaceInfo("veth0", "observe", linktype=LINKTYPE_ETHERNET, index=1, mtu=1500)
    session = Session([RecordSource(wg0), RecordSource(veth)], sinks=[LinkSink(Linker())])
    inner = bytes(IP(src="10.9.0.1", dst="10.9.0.2") / ICMP(seq=1) / Raw(b"p" * 56))
    session.feed(T0, OUTBOUND, inner, 0)
    other = Ether(src=MAC_A, dst=MAC_B) / IP(src="192.168.7.1", dst="192.168.7.9") / UDP(dport=53)
    session.feed(T0 + 100_000, OUTBOUND, bytes(other), 1)
    session.pump()
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        packets.go_to_seq(1)
        packets.focus()
        await settle(pilot, app)
        assert not any(label.startswith("Carried by") for label in tree_labels(app))
        wg = struct.pack("<BxxxIQ", 4, 7, 0) + bytes(((len(inner) + 15) & ~15) + 16)
        outer = Ether(src=MAC_A, dst=MAC_B) / IP(src="192.168.7.1", dst="192.168.7.2")
        session.feed(T0 + 300_000, OUTBOUND, bytes(outer / UDP(sport=51820, dport=51820) / wg), 1)
        session.pump()
        await settle(pilot, app)
        await until(
            pilot,
            lambda: any(
                label.startswith("Carried by: packet 3 on veth0") for label in tree_labels(app)
            ),
        )
        assert packets.cursor_seq == 1
