"""The analyst's tools in the UI, driven by Pilot: on fed "live" sessions and on a large capture.

Go to, find, follow stream, conversations and endpoints, sort, marks and
writing the marked packets, time formats, filter history and completion,
the palette and the help built from the bindings, several interfaces, the
layout at 80x24 / 120x40 / 220x60 (with SVG snapshots), and what reaches
the screen from hostile names.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")
scapy_all = pytest.importorskip("scapy.all")

from test_app import (  # noqa: E402
    INBOUND,
    OUTBOUND,
    T0,
    counters_pane,
    detail_tree,
    display_filter,
    filter_checked,
    filter_input,
    hex_view,
    main,
    offline,
    packet_list,
    ping,
    said,
    settle,
    status_text,
    traffic,
    tun_info,
    tun_records,
    ui,
    with_device,
    workers_done,
)
from waiting import until  # noqa: E402

from tapwatch.app import TapwatchApp  # noqa: E402
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW  # noqa: E402
from tapwatch.ring import Ring  # noqa: E402
from tapwatch.session import Session  # noqa: E402
from tapwatch.sinks import TunnelSink  # noqa: E402
from tapwatch.sources import InterfaceInfo, RecordSource  # noqa: E402
from tapwatch.widgets.conversations import ConversationsScreen  # noqa: E402
from tapwatch.widgets.dialogs.confirm import ConfirmScreen  # noqa: E402
from tapwatch.widgets.dialogs.export import ExportScreen  # noqa: E402
from tapwatch.widgets.dialogs.find import FindScreen  # noqa: E402
from tapwatch.widgets.dialogs.goto import GotoScreen  # noqa: E402
from tapwatch.widgets.dialogs.help import HelpScreen  # noqa: E402
from tapwatch.widgets.dialogs.sort import SortScreen  # noqa: E402
from tapwatch.widgets.follow import FollowScreen  # noqa: E402
from tapwatch.widgets.status import StatusBar  # noqa: E402

IP, IPv6, TCP, UDP = scapy_all.IP, scapy_all.IPv6, scapy_all.TCP, scapy_all.UDP
Ether, Raw = scapy_all.Ether, scapy_all.Raw
C, S = "10.0.0.1", "10.0.0.2"
V6A, V6B = "2001:db8:85a3:1111:2222:8a2e:370:7334", "2001:db8:85a3:1111:2222:8a2e:370:7335"
SIZE = (140, 40)


def seg(
    src: str, dst: str, sport: int, dport: int, seq: int, flags: str = "PA", data: bytes = b""
) -> bytes:
    pkt = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, flags=flags)
    return bytes(pkt / Raw(data)) if data else bytes(pkt)


def http_exchange(start: int = T0, port: int = 40000) -> list[tuple[int, int, bytes]]:
    """A TCP connection with a request and a two-segment response, plus unrelated DNS."""
    frames = [
        (OUTBOUND, seg(C, S, port, 80, 100, "S")),
        (INBOUND, seg(S, C, 80, port, 500, "SA")),
        (OUTBOUND, seg(C, S, port, 80, 101, "A")),
        (OUTBOUND, seg(C, S, port, 80, 101, data=b"GET /index.html HTTP/1.1\r\n\r\n")),
        (
            OUTBOUND,
            bytes(
                IP(src=C, dst="10.0.0.53")
                / UDP(sport=5353, dport=53)
                / Raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00")
            ),
        ),
        (INBOUND, seg(S, C, 80, port, 501, data=b"HTTP/1.1 200 OK\r\n")),
        (INBOUND, seg(S, C, 80, port, 518, data=b"\r\nhello")),
        (OUTBOUND, seg(C, S, port, 80, 129, "FA")),
    ]
    return [(start + i * 1_000_000, d, f) for i, (d, f) in enumerate(frames)]


def stream_session(**kw: Any) -> Session:
    info = InterfaceInfo(
        "web.pcap", "file", read_only_reason="this is a capture file, not a device"
    )
    return Session.from_records(LINKTYPE_RAW, http_exchange(), info=info, **kw)


def two_interfaces() -> Session:
    """A tun (raw IP) and the Ethernet interface its tunnel runs over, in one session."""
    tun = InterfaceInfo("tun0", "tun", addresses=["10.0.0.1/24"], index=0)
    eth = InterfaceInfo(
        "veth0",
        "observe",
        linktype=LINKTYPE_ETHERNET,
        read_only_reason="observer mode is read-only",
        index=1,
    )
    session = Session([RecordSource(tun), RecordSource(eth)])
    mac_a, mac_b = "02:00:00:00:00:01", "02:00:00:00:00:02"
    for i in range(12):
        t = T0 + i * 100_000_000
        inner = seg(C, S, 40000, 80, 100 + i, data=b"x" * 10)
        session.feed(t, OUTBOUND, inner, 0)
        outer = bytes(
            Ether(src=mac_a, dst=mac_b)
            / IPv6(src=V6A, dst=V6B)
            / TCP(sport=33000, dport=55555, seq=i * 100, flags="PA")
            / Raw(b"\x00\x32" + inner)
        )
        session.feed(t + 50_000, OUTBOUND, outer, 1)
        session.feed(
            t + 90_000,
            INBOUND,
            bytes(
                Ether(src=mac_b, dst=mac_a)
                / IPv6(src=V6B, dst=V6A)
                / TCP(sport=55555, dport=33000, flags="A")
            ),
            1,
        )
    session.pump()
    return session


def messages(app: TapwatchApp) -> list[str]:
    return [n.message for n in app._notifications]


# ----- go to, find ---------------------------------------------------------------------------


@ui
async def test_go_to_a_packet_and_say_why_not() -> None:
    session = tun_records(20)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+g")
        assert isinstance(app.screen, GotoScreen)
        await pilot.press(*"5", "enter")
        await settle(pilot, app)
        assert packet_list(app).cursor_seq == 5 and detail_tree(app).seq == 5
        main(app).apply_filter("icmp")
        await settle(pilot, app)
        await pilot.press("ctrl+g", *"5", "enter")  # a DNS packet: hidden by the filter
        await pilot.pause()
        assert "hidden by the display filter" in said(app)
        await pilot.press("ctrl+g", *"999", "enter")
        await pilot.pause()
        assert "there is no packet 999 yet" in said(app)


@ui
async def test_find_text_hex_and_filter_forward_and_back() -> None:
    session = stream_session()
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, FindScreen)
        await pilot.press(*"get /index", "enter")
        await until(pilot, lambda: packets.cursor_seq == 4)
        await pilot.press("ctrl+f")
        app.screen.query_one("#find-kind-hex").value = True
        app.screen.query_one("#find-text").value = "48 54 54 50"  # "HTTP": request, response
        await pilot.press("enter")
        await until(pilot, lambda: packets.cursor_seq == 6)
        await pilot.press("N")  # back to the request
        await until(pilot, lambda: packets.cursor_seq == 4)
        await pilot.press("n", "n")  # forward twice: the response, then around to the request
        await until(pilot, lambda: packets.cursor_seq == 4 and "wrapped" in said(app))
        await pilot.press("ctrl+f")
        app.screen.query_one("#find-kind-filter").value = True
        app.screen.query_one("#find-text").value = "udp port 53"
        await pilot.press("enter")
        await until(pilot, lambda: packets.cursor_seq == 5)
        await pilot.press("ctrl+f")
        app.screen.query_one("#find-text").value = "tcp and"  # invalid: said, nothing moves
        await pilot.press("enter")
        await until(pilot, lambda: "tcp and" in said(app))  # checked off the UI thread
        assert packets.cursor_seq == 5


# ----- follow stream ------------------------------------------------------------------------


@ui
async def test_follow_tcp_stream_both_ways_and_filter_to_it() -> None:
    app = TapwatchApp(stream_session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packet_list(app).go_to_seq(4)
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, FollowScreen)
        await until(pilot, lambda: screen.stream is not None)
        stream = screen.stream
        assert stream is not None
        assert (stream.client, stream.server) == (f"{C}:40000", f"{S}:80")
        view = screen.query_one("#follow-view")
        sides = {side for side, _ in view.lines}
        assert sides == {0, 1}  # both directions, coloured apart
        texts = [t for _, t in view.lines]
        assert texts[0] == "GET /index.html HTTP/1.1" and "hello" in texts
        client_style = view.render_line(0)
        server_line = next(i for i, (side, _) in enumerate(view.lines) if side == 1)
        assert {s.style for s in client_style} != {s.style for s in view.render_line(server_line)}
        await pilot.press("h")  # hex
        assert view.lines[0][1].startswith("00000000  47 45 54 20")
        await pilot.press("F")  # filter the list to this stream
        await settle(pilot, app)
        assert not isinstance(app.screen, FollowScreen)
        assert display_filter(app).startswith("tcp and ((src host 10.0.0.1")
        assert packet_list(app).shown_seqs() == [1, 2, 3, 4, 6, 7, 8]


@ui
@pytest.mark.parametrize("size", [(80, 24), (220, 60)])
async def test_follow_hex_fits_the_terminal(size: tuple[int, int]) -> None:
    """The hex rows, offsets, bytes and text, fit the view: 16 bytes a row when they can."""
    app = TapwatchApp(stream_session())
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        packet_list(app).go_to_seq(4)
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, FollowScreen)
        await until(pilot, lambda: screen.stream is not None)
        await pilot.press("h")
        await pilot.pause()
        view = screen.query_one("#follow-view")
        room = view.scrollable_content_region.width
        assert max(len(t) for _, t in view.lines) <= room
        first = view.lines[0][1]
        assert first.startswith("00000000  47 45 54 20")
        assert first.endswith("GET /ind" if size[0] < 100 else "GET /index.html ")


@ui
async def test_follow_refuses_what_is_not_tcp_or_udp() -> None:
    app = TapwatchApp(offline(3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)  # the first packet: an ICMP echo request
        await pilot.press("f")
        await pilot.pause()
        assert not isinstance(app.screen, FollowScreen)
        assert "not TCP or UDP" in said(app)


# ----- conversations and endpoints ----------------------------------------------------------


@ui
@pytest.mark.parametrize("key", ["C", "E"])
async def test_conversations_and_endpoints_keep_addresses_whole_at_80_columns(key: str) -> None:
    """On a narrow terminal the totals each way give way; the addresses never do."""
    app = TapwatchApp(stream_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press(key)
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        table = screen._table(screen.kind)
        await until(pilot, lambda: len(table.rows) >= 2)
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(3)]
        assert "…" not in "".join(lines) and len(lines[0]) == table.size.width
        assert "Packets" in lines[0] and "Bytes" in lines[0]
        assert "10.0.0.53" in "".join(lines) if key == "C" else "10.0.0.2" in lines[2]


@ui
async def test_conversations_sort_and_enter_filters_the_list() -> None:
    app = TapwatchApp(stream_session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("C")
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        await until(pilot, lambda: "flows" in screen.tables)
        table = screen.tables["flows"]
        assert table.total == 2
        assert table.cells[0][:5] == ("TCP", C, "40000", S, "80")  # most bytes first
        await pilot.press("r")  # reverse: the DNS flow first
        await until(
            pilot, lambda: "flows" in screen.tables and screen.tables["flows"].cells[0][0] == "UDP"
        )
        await pilot.press("1")  # IP pairs
        await until(pilot, lambda: "pairs" in screen.tables)
        assert {c[1] for c in screen.tables["pairs"].cells} == {C}
        await pilot.press("2", "enter")  # Enter on the first TCP/UDP row filters to it
        await settle(pilot, app)
        assert not isinstance(app.screen, ConversationsScreen)
        assert display_filter(app).startswith("udp and")
        assert packet_list(app).shown_seqs() == [5]


@ui
async def test_endpoints_and_filter_to_one_address() -> None:
    app = TapwatchApp(stream_session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("E")
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        await until(pilot, lambda: "endpoints" in screen.tables)
        cells = screen.tables["endpoints"].cells
        assert cells[0][0] == C and {c[0] for c in cells} == {C, S, "10.0.0.53"}
        await pilot.press("end", "enter")
        await settle(pilot, app)
        assert display_filter(app).startswith("host ")


@ui
async def test_conversations_follow_a_live_capture() -> None:
    session, _dev = with_device(0)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for ts, d, data in http_exchange():
            session.feed(ts, d, data)
        session.pump()
        main(app).tick()
        await pilot.press("C")
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        await until(pilot, lambda: "flows" in screen.tables)
        for ts, d, data in http_exchange(T0 + 10**9, port=41000):  # a second connection
            session.feed(ts, d, data)
        session.pump()
        screen.refresh_tables()
        await until(
            pilot,
            lambda: screen.tables.get("flows") is not None and screen.tables["flows"].total == 3,
        )


# ----- sort, marks, write -------------------------------------------------------------------


@ui
async def test_sort_by_a_column_reverse_and_back_to_arrival_order() -> None:
    session = tun_records(12)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        await pilot.press("o")
        assert isinstance(app.screen, SortScreen)
        option_list = app.screen.query_one("#sort-columns")
        option_list.highlighted = [o.id for o in option_list.options].index("LENGTH")
        await pilot.press("enter")
        await until(pilot, lambda: packets.sorted)
        lengths = [len(session.ring.get(packets.seq_at(i)).data) for i in range(packets.rows)]
        assert lengths == sorted(lengths)
        assert "Len ▲" in packets.render_line(0).text
        await pilot.press("o")
        option_list = app.screen.query_one("#sort-columns")
        option_list.highlighted = [o.id for o in option_list.options].index("LENGTH")
        await pilot.press("enter")  # the same column again: descending
        await until(pilot, lambda: packets.sort is not None and packets.sort[1])
        lengths = [len(session.ring.get(packets.seq_at(i)).data) for i in range(packets.rows)]
        assert lengths == sorted(lengths, reverse=True)
        # a packet arriving meanwhile shows below the sorted ones until they are sorted again
        session.feed(T0 + 60 * 10**9, OUTBOUND, b"\x45\x00\x00")
        session.pump()
        main(app).tick()
        assert packets.seq_at(packets.rows - 1) == session.ring.next_seq - 1
        await pilot.press("O")
        await settle(pilot, app)
        assert not packets.sorted
        assert [packets.seq_at(i) for i in range(packets.rows)] == list(
            range(1, session.ring.next_seq)
        )


@ui
async def test_click_on_a_header_sorts_by_it() -> None:
    app = TapwatchApp(offline(10))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        cols = packets._cols
        assert cols is not None
        from tapwatch.analysis.sorting import SortColumn

        x = cols.spans[SortColumn.PROTOCOL][0] + 1
        await pilot.click("#packets", offset=(x + 1, 1))
        await until(pilot, lambda: packets.sort == (SortColumn.PROTOCOL, False))
        protos = [
            app.session.summary(app.session.ring.get(packets.seq_at(i))).proto
            for i in range(packets.rows)
        ]
        assert protos == sorted(protos)


@ui
async def test_marks_and_writing_only_the_marked_packets(tmp_path: Path) -> None:
    from tapwatch.pcap import read_capture

    session = tun_records(10)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        await pilot.press("g", "m", "j", "j", "m")
        assert packets.marks == {1, 3}
        assert packets.render_line(1).text.split()[0] == "•1"
        await pilot.press("G", "right_square_bracket")
        assert packets.cursor_seq == 1  # wraps to the first mark
        await pilot.press("right_square_bracket")
        assert packets.cursor_seq == 3
        await pilot.press("left_square_bracket")
        assert packets.cursor_seq == 1
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert screen.query_one("#export-marked").value  # marked packets offered first
        path = tmp_path / "marked.pcap"
        screen.query_one("#export-path").value = str(path)
        await pilot.press("enter")
        await until(pilot, lambda: any("wrote 2 packets" in m for m in messages(app)))
        with read_capture(str(path)) as cap:
            got = [r.data for r in cap]
        assert got == [session.ring.get(1).data, session.ring.get(3).data]
        # w again onto the same file: it asks before overwriting
        await pilot.press("w")
        app.screen.query_one("#export-path").value = str(path)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await pilot.press("M")
        assert not packets.marks


# ----- time formats, filter history and completion, palette, help ------------------------


@ui
async def test_time_formats_from_a_key_and_from_the_palette(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        app = TapwatchApp(offline(6))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            packets = packet_list(app)

            def time_of(row: int) -> str:
                return packets.render_line(row + 1).text.split()[1]

            assert time_of(2) == "0.250000"  # relative to the file's first packet
            await pilot.press("t")  # absolute
            assert time_of(2) == "22:13:20.250000"
            await pilot.press("t")  # date and time
            assert packets.render_line(3).text.split()[1:3] == ["2023-11-14", "22:13:20.250000"]
            await pilot.press("t")  # delta to the previous shown packet
            assert time_of(2) == "0.249880"
            await app.run_action("time_format('epoch')", main(app))
            assert time_of(2) == "1700000000.250000"
            tree = detail_tree(app)
            frame = str(tree.root.children[0].data.children[2].label)
            assert frame.startswith("Arrival time: 1700000000.000000")
    finally:
        monkeypatch.undo()
        time.tzset()


@ui
async def test_filter_history_and_protocol_completion() -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"udp", "enter")
        await filter_checked(pilot, app)
        await pilot.press("slash", "ctrl+u", *"icmp", "enter")
        await settle(pilot, app)
        flt = filter_input(app)
        await pilot.press("slash", "ctrl+u", "up")
        assert flt.value == "icmp"
        await pilot.press("up")
        assert flt.value == "udp"
        await pilot.press("down", "down")
        assert flt.value == ""  # back to what was being typed
        await pilot.press(*"ic")
        await until(pilot, lambda: flt._suggestion == "icmp")
        await pilot.press("right")  # takes the completion
        assert flt.value == "icmp"
        await pilot.press(*" and po")
        await until(pilot, lambda: flt._suggestion == "icmp and port")
        await pilot.press("escape")


@ui
async def test_palette_offers_every_tool_by_name() -> None:
    session, _dev = with_device(5)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        names = {c.title for c in app.get_system_commands(main(app))}
        for tool in (
            "Filter",
            "Go to",
            "Find",
            "Follow stream",
            "Conversations",
            "Endpoints",
            "Sort",
            "Arrival order",
            "Mark",
            "Write",
            "Time format",
            "Echo",
            "Zoom",
            "Time format: epoch",
            "Sort by source",
            "Help",
        ):
            assert tool in names, tool
        # and a file session offers no peer command
        file_app = TapwatchApp(offline(3))
    async with file_app.run_test(size=SIZE) as pilot:
        await settle(pilot, file_app)
        names = {c.title for c in file_app.get_system_commands(main(file_app))}
        assert "Echo" not in names and "Inject" not in names and "Follow stream" in names
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"conversations")

        def found() -> bool:  # the palette's search has put its hit in the list
            from textual.command import CommandList

            lists = file_app.screen.query(CommandList)
            return bool(lists) and lists.first().option_count > 0

        await until(pilot, found)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(file_app.screen, ConversationsScreen))


@ui
async def test_help_lists_every_key_and_palette_command_from_the_bindings() -> None:
    from tapwatch.widgets import keys
    from tapwatch.widgets.detail import DetailTree
    from tapwatch.widgets.packet_list import PacketList

    app = TapwatchApp(offline(3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        entries = [e for sec in screen.sections for e in sec.entries]
        whats = " | ".join(e.what for e in entries)
        for tool in keys.TOOLS:
            assert f"{tool.name}: {tool.help}" in whats
        for widget in (PacketList, DetailTree):
            for b in widget.BINDINGS:
                assert (b.tooltip or b.description) in whats  # type: ignore[union-attr]
        for name, _help, _action in keys.PALETTE_ONLY:
            assert any(e.keys == name for e in entries)
        # in a file session the peer keys are listed as not available here
        echo = next(e for e in entries if e.what.startswith("Echo:"))
        assert not echo.available


@ui
async def test_peer_keys_are_hidden_where_they_cannot_act() -> None:
    app = TapwatchApp(offline(3))
    async with app.run_test(size=(220, 40)) as pilot:
        await settle(pilot, app)
        hints = main(app).query_one("#keys")
        await until(pilot, lambda: "filter" in hints.actions)
        assert not {"mode('echo')", "mode('reply')", "resend", "craft"} & set(hints.actions)
    session, _dev = with_device(3)
    live = TapwatchApp(session)
    async with live.run_test(size=(220, 40)) as pilot:
        await settle(pilot, live)
        hints = main(live).query_one("#keys")
        await until(pilot, lambda: "mode('echo')" in hints.actions)


@ui
async def test_clear_on_a_file_asks_first() -> None:
    session = offline(5)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert len(session.ring) == 7
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, app)
        assert len(session.ring) == 0


# ----- several interfaces, status lines ----------------------------------------------------


@ui
async def test_two_interfaces_column_counters_and_frame_layer() -> None:
    session = two_interfaces()
    app = TapwatchApp(session)
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        await pilot.press("g")
        assert packets.render_line(0).text.split()[:4] == ["No.", "Time", "Iface", "Dir"]
        row = packets.render_line(2).text
        assert " veth0 " in row and V6A in row  # a whole IPv6 address fits on a wide screen
        main(app).refresh_counters()
        await pilot.pause()
        counters = str(counters_pane(app)._body.render())
        assert "tun0" in counters and "veth0" in counters and "Interface" in counters
        packets.go_to_seq(2)
        await settle(pilot, app)
        frame = detail_tree(app).root.children[0].data
        assert "on interface veth0, id 1" in frame.label
        assert any("Interface: veth0 (id 1, observe, Ethernet)" in c.label for c in frame.children)
        assert "tun0 (tun) + veth0 (observe)" in status_text(app)


@ui
async def test_status_has_a_line_for_a_tunnel_when_the_session_has_one() -> None:
    session, _dev = with_device(3)

    from tapwatch.tunnelwire import TunnelCounters

    class Tunnel:
        counters = TunnelCounters()  # the status bar reads its unrecorded count

        def status_text(self) -> str:
            return "tunnel client → 10.200.0.1:55555 connected · 12 frames out, 9 in\x1b[2K"

    session.sinks.append(TunnelSink(Tunnel(), 0))  # type: ignore[arg-type]
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lines = status_text(app).split("\n")
        assert len(lines) == 3 and "connected · 12 frames out" in lines[2]
        assert "\x1b" not in lines[2]
        assert main(app).query_one(StatusBar).size.height == 3
        assert "mode tunnel" in lines[0] and "mode drop" not in lines[0]
        for key in ("d", "e", "r"):  # not silent, not the peer either: the far end is
            await pilot.press(key)
            await pilot.pause()
            assert session.peer_mode == "drop"
        assert "the tunnel's far end is the device's peer" in said(app)


@ui
async def test_echo_mode_says_why_ping_gets_no_reply() -> None:
    session, _dev = with_device(0)
    app = TapwatchApp(session)
    async with app.run_test(size=(220, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        main(app).tick()
        assert "echoed requests come back as requests" in status_text(app)


@ui
async def test_a_file_larger_than_the_ring_says_what_was_loaded(tmp_path: Path) -> None:
    import threading

    from tapwatch import pcap
    from tapwatch.filesource import open_file

    path = tmp_path / "big.pcap"
    w = pcap.open_writer(str(path), LINKTYPE_RAW)
    for i in range(50):
        w.write(T0 + i * 1000, ping(i))
    w.close()
    ring, wake = Ring(20), threading.Event()
    src = open_file(str(path), ring, wake)
    session = Session([src], ring=ring, wake=wake)
    session.start()
    try:
        assert src.wait_loaded(10)
        app = TapwatchApp(session)
        async with app.run_test(size=(220, 40)) as pilot:
            await settle(pilot, app)
            status = status_text(app)
            assert "loaded the first 20 packets" in status and "--ring-packets" in status
            assert packet_list(app).render_line(1).text.split()[:2] == ["1", "0.000000"]
    finally:
        session.close()


# ----- layout -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (220, 60)])
def test_every_pane_is_readable_at_every_size(size: tuple[int, int]) -> None:
    @ui
    async def run() -> None:
        app = TapwatchApp(offline(12))
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            for pane in (packet_list(app), detail_tree(app), hex_view(app)):
                assert pane.size.width >= 30 and pane.size.height >= 3, (pane, pane.size)
            assert packet_list(app).page_rows >= 5
            assert hex_view(app).per_line == (16 if size[0] in (80, 220) else 8)
            assert counters_pane(app).display == (size[0] >= 140)
            hints = main(app).query_one("#keys").text
            assert "? Help" in hints and "q Quit" in hints and len(hints.rstrip()) <= size[0]
            status = status_text(app).split("\n")
            assert all(len(line) <= size[0] for line in status)
            assert "evicted 0" in status[1] and "missed 0" in status[1]

    run()


@ui
async def test_zoom_resize_and_layout_keys() -> None:
    app = TapwatchApp(offline(12))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        before = packet_list(app).size.height
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert packet_list(app).size.height > before
        await pilot.press("less_than_sign", "less_than_sign")
        await pilot.pause()
        assert packet_list(app).size.height < before
        share = packet_list(app).size.height
        await pilot.press("backslash")  # the list, zoomed: every row between the top and the hints
        await pilot.pause()
        top, hints = main(app).query_one("#top"), main(app).query_one("#keys")
        assert main(app).maximized is packet_list(app)
        # the status and filter rows stay at the top, the key hints at the bottom
        assert top.region.y == 0 and hints.region.bottom == SIZE[1]
        region = packet_list(app).region
        assert region.y == top.region.bottom and region.bottom == hints.region.y
        await pilot.press("backslash")
        await pilot.pause()
        assert main(app).maximized is None and packet_list(app).size.height == share
        await pilot.press("tab", "backslash")
        await pilot.pause()
        assert main(app).maximized is detail_tree(app)
        await pilot.press("backslash")
        await pilot.pause()
        assert main(app).maximized is None
        hex_x = hex_view(app).region.x
        await pilot.press("vertical_line")
        await pilot.pause()
        assert hex_view(app).region.x != hex_x  # the bytes moved under the tree


# ----- the tree keeps up with the cursor ---------------------------------------------------


@ui
async def test_neighbours_are_dissected_ahead_so_the_tree_follows_at_once() -> None:
    app = TapwatchApp(offline(12))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await workers_done(app)
        # the next rows are dissected ahead, before they are asked for
        await until(pilot, lambda: {2, 3} <= set(main(app)._cache))
        await pilot.press("j")
        assert not main(app).detail_pending  # shown in the same keypress, no dissection waited for
        assert detail_tree(app).seq == 2 and not detail_tree(app).pending


# ----- hostile names ------------------------------------------------------------------------

HOSTILE = "evil\x1b]0;title\x07\x1b]52;c;aGk=\x07\r\x1b[2K\u202e"


@ui
async def test_no_control_byte_reaches_any_widget() -> None:
    tun = InterfaceInfo(HOSTILE, "file", read_only_reason="file", index=0)
    other = InterfaceInfo(HOSTILE + "2", "file", read_only_reason="file", index=1)
    session = Session([RecordSource(tun), RecordSource(other)], capture_filter=None)
    dns = bytes(
        IP(src=C, dst=S)
        / UDP(sport=5353, dport=53)
        / scapy_all.DNS(qd=scapy_all.DNSQR(qname=b"a\x1b]0;x\x07.example"))
    )
    session.feed(T0, OUTBOUND, dns, 0)
    session.feed(T0 + 1, OUTBOUND, dns, 1)
    session.pump()
    app = TapwatchApp(session)
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot, app)
        detail_tree(app).root.expand_all()
        await pilot.pause()
        svg = app.export_screenshot()
        for bad in ("\x1b", "\x07", "\r", "\u202e"):
            assert bad not in svg, repr(bad)
        assert "evil^[]0;title^G" in status_text(app)


# ----- signals ------------------------------------------------------------------------------


@ui
async def test_sigterm_and_sighup_end_the_ui() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        app = TapwatchApp(offline(3))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            app._on_signal(sig, None)
            await pilot.pause(0.1)
        assert app.return_code == 0 and app.signalled == signal.Signals(sig).name
        assert app.hung_up == (sig == signal.SIGHUP)


# ----- snapshots at the three sizes --------------------------------------------------------


def _snapshot(snap_compare, app: TapwatchApp, size: tuple[int, int], keys: list[str]) -> bool:  # type: ignore[no-untyped-def]
    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, app)
        await workers_done(app)
        await pilot.pause()

    return bool(snap_compare(app, terminal_size=size, run_before=ready))


def test_snapshot_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert _snapshot(snap_compare, TapwatchApp(offline(12)), (80, 24), ["j", "j", "j", "j"])


def test_snapshot_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    session, _dev = with_device(30)
    assert _snapshot(snap_compare, TapwatchApp(session), (120, 40), [])


def test_snapshot_220x60_two_interfaces(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TapwatchApp(two_interfaces())
    assert _snapshot(snap_compare, app, (220, 60), ["g", "j", "tab", "down", "down", "right"])


def test_snapshot_follow_stream(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TapwatchApp(stream_session())
    assert _snapshot(snap_compare, app, (120, 40), ["j", "j", "j", "f"])


def test_snapshot_conversations(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TapwatchApp(stream_session())
    assert _snapshot(snap_compare, app, (120, 40), ["C"])


def test_large_capture_tools_do_not_freeze() -> None:
    """100k packets: sort and conversations finish in workers while the UI keeps drawing."""

    @ui
    async def run() -> None:
        # 3,600 distinct packets built once (scapy's build is the slow part), 100k records
        segs = {k: seg(C, S, 40000 + k % 500, 80, k, data=b"q" * (k % 7)) for k in range(3500)}
        pings = {k: ping(k, reply=True) for k in range(100)}
        records = []
        for i in range(50_000):
            t = T0 + i * 10_000
            records.append((t, OUTBOUND, segs[i % 3500]))
            records.append((t + 1, INBOUND, pings[i % 100]))
        session = Session.from_records(LINKTYPE_RAW, records, info=tun_info("file"))
        app = TapwatchApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            main(app).sort_by(
                __import__("tapwatch.analysis.sorting", fromlist=["SortColumn"]).SortColumn.LENGTH,
                True,
            )
            ticks = 0
            while main(app).sorting:
                main(app).tick()  # the refresh keeps running while the worker sorts
                ticks += 1
                await pilot.pause(0.01)
            assert ticks > 0 and packet_list(app).sorted
            first = session.ring.get(packet_list(app).seq_at(0))
            assert first is not None and len(first.data) == max(len(d) for _, _, d in records)
            await pilot.press("C")
            screen = app.screen
            assert isinstance(screen, ConversationsScreen)
            await until(pilot, lambda: "flows" in screen.tables)
            assert screen.tables["flows"].total == 500  # TCP flows; the ICMP replies are none

    run()


# keep the imports the helpers above rely on visibly used
_ = (traffic,)


def test_the_readme_keys_table_names_every_tool() -> None:
    """The README's table is a copy for readers: it must not drift from the bindings."""
    from tapwatch.widgets import keys

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme[readme.index("### Keys") : readme.index("The layout follows the terminal")]
    for tool in keys.TOOLS:
        assert tool.name in table, tool.name


@ui
@pytest.mark.parametrize(("key", "tool"), [("f", FollowScreen), ("C", ConversationsScreen)])
async def test_esc_typed_right_after_a_tool_key_leaves_no_tool_open(key: str, tool: type) -> None:
    """Both keys come from the terminal before the first is acted on (a busy UI, a loading
    file): the Esc is read while the main screen is still on top. No tool is pushed."""
    from textual import events

    app = TapwatchApp(stream_session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packet_list(app).go_to_seq(4)
        pushed: list[str] = []
        push = app.push_screen

        def recording(screen: Any, *args: Any, **kw: Any) -> Any:
            pushed.append(type(screen).__name__)
            return push(screen, *args, **kw)

        app.push_screen = recording  # type: ignore[method-assign]
        app.post_message(events.Key(key, key))
        app.post_message(events.Key("escape", None))
        await settle(pilot, app)
        assert tool.__name__ not in pushed
        assert len(app.screen_stack) == 1
        # pressed one after the other, the tool opens and Esc closes it
        await pilot.press(key)
        assert isinstance(app.screen, tool)
        await pilot.press("escape")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1


@ui
async def test_esc_stops_a_running_sort_and_the_list_keeps_its_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sort of 500k packets by Info takes seconds with its progress in the status bar;
    Esc stops it as it stops a find (here the sort waits until stopped)."""
    import threading

    from tapwatch.analysis import Cancelled
    from tapwatch.analysis.sorting import SortColumn
    from tapwatch.widgets.screen import find_sort

    released = threading.Event()

    def slow_sort(rows: Any, ring: Any, key: Any, *, descending: bool, progress: Any) -> Any:
        while not released.wait(0.01):
            progress.advance(0)  # raises Cancelled once stopped
        raise Cancelled

    monkeypatch.setattr(find_sort, "sort_rows", slow_sort)
    app = TapwatchApp(offline(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = main(app)
        try:
            screen.sort_by(SortColumn.INFO)
            await until(pilot, lambda: "sorting" in status_text(app), "the sort's progress")
            await pilot.press("escape")
            await until(pilot, lambda: not screen.sorting, "the sort stopped")
        finally:
            released.set()  # a sort Esc did not stop ends here, as it would have
        await settle(pilot, app)
        assert packet_list(app).sort is None
        assert "sorting" not in status_text(app)


@ui
async def test_sorted_by_info_the_analysis_catching_up_sorts_again_only_rows_it_missed() -> None:
    """Sorted by Info after the analysis had read every row, the analysis catching up with
    newer packets does not sort them all again (on a live capture of 500k packets: 5 s of a
    core each time the tree looked at a new packet, the rows moving under the cursor)."""
    from tapwatch.analysis.sorting import SortColumn

    session = tun_records(30)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = main(app)
        packets = packet_list(app)
        newest = session.ring.next_seq - 1
        packets.go_to_seq(newest)
        await until(pilot, lambda: screen.shared_expert.caught_up_to() == newest, "analysis")
        screen.sort_by(SortColumn.INFO)
        await until(pilot, lambda: packets.sort == (SortColumn.INFO, False) and not screen.sorting)
        sorts: list[object] = []
        sort_by = screen.sort_by

        def counted(*args: Any) -> None:
            sorts.append(args)
            sort_by(*args)

        screen.sort_by = counted  # type: ignore[method-assign]
        screen._sort_took = 10.0  # as slow as 500k packets: the timer leaves it alone
        last = session.ring.get(newest)
        assert last is not None
        session.ring.extend([(last.ts_ns + 1, OUTBOUND, ping(90))], 0)
        session.pump()
        await settle(pilot, app)
        assert packets.go_to_seq(newest + 1)  # below the sorted rows
        await until(pilot, lambda: screen.shared_expert.caught_up_to() == newest + 1, "caught up")
        await settle(pilot, app)
        assert sorts == []
        assert packets.sort == (SortColumn.INFO, False)
