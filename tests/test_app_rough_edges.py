"""What an analyst met side by side with termshark, each driven by Pilot.

The selection across filter changes, the columns of the list (Dir only where
there are directions, Info first and cut with an ellipsis), the tree's long
lines, the conversations table at 120x40, tools that cover the panes, keys
and changes that do not stack toasts, the status line's bytes during a
filter, ``*`` and ``-`` in the help and the hints, and a palette that answers
to the words users type.
"""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from test_app import (
    INBOUND,
    SIZE,
    T0,
    detail_tree,
    filter_checked,
    main,
    offline,
    packet_list,
    ping,
    settle,
    status_text,
    traffic,
    ui,
)
from test_app_tools import stream_session
from waiting import until

from tapwatch.app import TapwatchApp
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo
from tapwatch.widgets.conversations import ConversationsScreen
from tapwatch.widgets.dialogs.help import HelpScreen, help_sections
from tapwatch.widgets.follow import FollowScreen
from tapwatch.widgets.keyhints import KeyHints
from tapwatch.widgets.table import LineTable


def row_text(app: TapwatchApp, y: int) -> str:
    return packet_list(app).render_line(y).text


def in_view(app: TapwatchApp, seq: int) -> bool:
    packets = packet_list(app)
    index = packets.index_of(seq)
    top = packets.scroll_offset.y
    return packets.seq_at(index) == seq and top <= index < top + packets.page_rows


def undirected_file(n: int = 12) -> Session:
    """A capture file whose records say no direction (a plain pcap)."""
    info = InterfaceInfo("plain.pcap", "file", read_only_reason="this is a capture file")
    records = [(t, int(Direction.UNKNOWN), d) for t, _, d in traffic(n)]
    return Session.from_records(LINKTYPE_RAW, records, info=info)


async def apply(pilot, app: TapwatchApp, expr: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("slash", "ctrl+u", *expr, "enter")
    await filter_checked(pilot, app)
    await settle(pilot, app)


@ui
async def test_the_selected_packet_stays_selected_and_in_view_across_filters() -> None:
    session = offline(300)
    app = TapwatchApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        icmp = [
            s for s in packets.shown_seqs() if session.summary(session.ring.get(s)).proto == "ICMP"
        ]
        target = icmp[len(icmp) * 3 // 4]
        assert packets.go_to_seq(target)
        await settle(pilot, app)
        await apply(pilot, app, "icmp")
        assert packets.cursor_seq == target and in_view(app, target)
        assert detail_tree(app).seq == target
        # a filter it does not pass: the nearest packet that passes, in view, in the tree
        await apply(pilot, app, "udp")
        near = packets.cursor_seq
        assert near is not None and near != target and in_view(app, near)
        udp = packets.shown_seqs()
        assert abs(near - target) == min(abs(s - target) for s in udp)
        assert detail_tree(app).seq == near
        # clearing the filter keeps that packet, in view
        await apply(pilot, app, "")
        assert packets.cursor_seq == near and in_view(app, near)


@ui
async def test_no_dir_column_without_directions_and_info_cut_with_an_ellipsis() -> None:
    app = TapwatchApp(undirected_file(12))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        header = row_text(app, 0)
        assert "Dir" not in header and "Info" in header
        rows = [row_text(app, y) for y in range(1, 4)]
        # a ping and its reply tell themselves apart at 80 columns; a cut ends with "…"
        assert any("Echo (ping) request" in r for r in rows)
        assert any("Echo (ping) reply" in r for r in rows)
        assert any(r.rstrip().endswith("…") for r in rows)
        # every row fits the pane beside its scrollbar
        assert all(len(r) == packet_list(app).scrollable_content_region.width for r in rows)
    directed = TapwatchApp(offline(12))
    async with directed.run_test(size=(80, 24)) as pilot:
        await settle(pilot, directed)
        assert "Dir" in row_text(directed, 0)
        # the selected row's bar has no gap at the direction
        packet_list(directed).move_cursor(1)
        await pilot.pause()
        strip = packet_list(directed).render_line(2)
        assert len({seg.style.bgcolor for seg in strip if seg.style is not None}) == 1


@ui
async def test_addresses_do_not_widen_half_way_down_the_rows() -> None:
    session = offline(12)
    session.feed(T0 + 9_000_000_000, INBOUND, ping(99, reply=True))
    session.pump()
    app = TapwatchApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        lines = [row_text(app, y) for y in range(0, packets.rows + 1)]
        # the Proto column starts at the same place on every row
        at = lines[0].index("Proto")
        for line, seq in zip(lines[1:], packets.shown_seqs(), strict=False):
            assert line[at:].startswith(session.summary(session.ring.get(seq)).proto), line


@ui
async def test_the_tree_cuts_long_lines_with_an_ellipsis_and_does_not_scroll_sideways() -> None:
    app = TapwatchApp(offline(12))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        tree = detail_tree(app)
        assert not tree.show_horizontal_scrollbar
        width = tree.scrollable_content_region.width
        lines = [tree.render_line(y).text for y in range(tree.last_line + 1)]
        assert any(line.endswith("…") for line in lines)  # the frame line is longer
        assert all(len(line) <= width for line in lines)


@ui
async def test_conversations_at_120x40_keep_values_whole_and_scroll_by_keys() -> None:
    app = TapwatchApp(stream_session())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        await until(pilot, lambda: "flows" in screen.tables)
        table = screen.query_one("#table-flows", LineTable)
        await pilot.pause()
        head = table.render_line(0).text
        assert "bit/s" in head and "Bytes ▼" in head
        body = table.render_line(1).text
        assert "…" not in body
        # sorting to the right moves the arrow along, always in sight
        for _ in range(len(table.columns)):
            await pilot.press("right")
            await until(pilot, lambda: {"▼", "▲"} & set(table.render_line(0).text))
        # shift+right scrolls the columns: an arrow says more are on the left
        await pilot.press("shift+right", "shift+right")
        await pilot.pause()
        assert table.render_line(0).text.startswith("‹")
        assert not table.show_horizontal_scrollbar


@ui
async def test_tools_and_help_cover_the_panes_whole() -> None:
    for size in ((80, 24), (120, 40)):
        app = TapwatchApp(stream_session())
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            await pilot.press("j", "j", "j", "f")
            await until(pilot, lambda a=app: isinstance(a.screen, FollowScreen))
            await pilot.pause()
            box = app.screen.query_one(".tool")
            assert box.region.width == size[0] and box.region.height == size[1]
            await pilot.press("escape")
            await pilot.press("C")
            await until(pilot, lambda a=app: isinstance(a.screen, ConversationsScreen))
            await pilot.pause()
            box = app.screen.query_one(".tool")
            assert box.region.width == size[0] and box.region.height == size[1]
            await pilot.press("escape")
            await pilot.press("question_mark")
            await until(pilot, lambda a=app: isinstance(a.screen, HelpScreen))
            await pilot.pause()
            box = app.screen.query_one("#help-box")
            assert box.region.width == size[0] and box.region.height == size[1]


@ui
async def test_keys_that_do_not_apply_and_changes_say_it_once_without_toasts() -> None:
    app = TapwatchApp(offline(12))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("e", "e", "r", "s", "i", "e")
        await pilot.pause()
        hints = main(app).query_one(KeyHints)
        assert hints.message is not None and "capture file" in hints.message
        await pilot.press("t")
        await apply(pilot, app, "icmp")
        assert not app._notifications
        # the status line keeps the bytes beside the packets while a filter shows
        assert "bytes" in status_text(app) and "shown" in status_text(app)


@ui
async def test_expand_and_collapse_all_are_in_the_help_and_the_hints() -> None:
    app = TapwatchApp(offline(12))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        entries = {e.keys: e.what for sec in help_sections(main(app)) for e in sec.entries}
        assert "expand" in entries["*"].lower() and "collapse" in entries["-"].lower()
        await pilot.press("tab")
        await pilot.pause()
        hints = main(app).query_one(KeyHints)
        await until(pilot, lambda: "expand_all" in hints.actions)
        assert "collapse_all" in hints.actions


@ui
async def test_the_palette_finds_tools_by_the_words_users_type() -> None:
    from tapwatch.widgets.palette import ToolCommands

    app = TapwatchApp(offline(12))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        provider = ToolCommands(main(app))
        found = {}
        for query in ("go to packet", "save pcap", "search"):
            hits = [hit async for hit in provider.search(query)]
            found[query] = [str(h.text) for h in sorted(hits, key=lambda h: -h.score)]
        assert found["go to packet"][0] == "Go to"
        assert found["save pcap"][0] == "Write"
        assert "Find" in found["search"]


@ui
async def test_ctrl_c_says_how_to_quit_without_markup_brackets() -> None:
    """Ctrl+C in the UI showed Textual's hint as typed: "Press [b]q[/b] to quit the app"."""
    app = TapwatchApp(offline(5))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app._notifications, "a notification")
        messages = [n.message for n in app._notifications]
        assert messages == ["Press q to quit"], messages


@ui
async def test_a_short_tree_after_a_tall_one_has_no_scrollbar_and_whole_lines() -> None:
    """At 80x24 packet 2's tree is taller than the pane and packet 3's fits: the scrollbar
    goes with the tall tree, and the short one's lines use the column it took (they were cut
    a cell short until the terminal was resized); expanding and collapsing all, the same."""
    from pathlib import Path

    from tapwatch.pcap import read_capture

    with read_capture(str(Path(__file__).parent / "corpus" / "real.pcap")) as cap:
        recs = [(r.ts_ns, 0, bytes(r.data)) for r in cap]
        linktype = cap.linktype
    info = InterfaceInfo("real.pcap", "file", read_only_reason="a capture file")
    app = TapwatchApp(Session.from_records(linktype, recs, info=info))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        tree = detail_tree(app)
        await pilot.press("down")
        await until(pilot, lambda: tree.seq == 2 and tree.show_vertical_scrollbar)
        await pilot.press("down")
        await until(pilot, lambda: tree.seq == 3 and not tree.pending)
        await pilot.pause()
        assert not tree.show_vertical_scrollbar
        assert tree.scrollable_content_region.width == tree.size.width
        first = tree.render_line(0).text
        assert len(first) == tree.size.width and first.endswith("…"), first
        await pilot.press("tab", "asterisk")
        await until(pilot, lambda: tree.show_vertical_scrollbar)
        await pilot.press("minus")
        await until(pilot, lambda: not tree.show_vertical_scrollbar)
        assert len(tree.render_line(0).text) == tree.size.width


@ui
async def test_info_made_from_a_reassembled_message_reaches_the_row_escaped() -> None:
    """An HTTP request split over two segments: the row of the segment that completes it
    shows the request line the analysis took from the reassembled bytes, escape bytes and
    all escaped (it replaced the row's escaped Info with the raw line)."""
    from scapy.layers.inet import IP, TCP

    a, b = "10.0.0.1", "10.0.0.2"
    line = b"GET /\x1b[2J\x1b]0;owned\x07 HTTP/1.1\r\nHost: x\r\n"
    pkts = [
        IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags="S", seq=100),
        IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags="SA", seq=500, ack=101),
        IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags="A", seq=101, ack=501),
        IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags="PA", seq=101, ack=501) / line,
        IP(src=a, dst=b)
        / TCP(sport=40000, dport=80, flags="PA", seq=101 + len(line), ack=501)
        / b"\r\n",
    ]
    recs = [(T0 + i * 1_000_000, INBOUND, bytes(p)) for i, p in enumerate(pkts)]
    info = InterfaceInfo("http.pcap", "file", read_only_reason="a capture file")
    app = TapwatchApp(Session.from_records(LINKTYPE_RAW, recs, info=info))
    async with app.run_test(size=(220, 20)) as pilot:
        await settle(pilot, app)
        await until(pilot, lambda: "GET /" in row_text(app, 5), "the completing segment's row")
        rows = [row_text(app, y) for y in range(1, 6)]
        assert not any(c in r for r in rows for c in "\x1b\x07"), rows
        assert "GET /^[[2J^[]0;owned^G HTTP/1.1" in row_text(app, 5)  # escaped, not dropped
