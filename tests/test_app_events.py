"""Interface events in the UI: their own kind of row, hidden and shown with a key, found by
find, never hidden by a packet filter; the status bar says what happened to a source."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("textual")

from test_app import (
    OUTBOUND,
    SIZE,
    main,
    packet_list,
    ping,
    said,
    settle,
    status_text,
    syn,
    tun_records,
    ui,
)
from waiting import until

from tapwatch import threads
from tapwatch.app import TapwatchApp
from tapwatch.capture.links import cooked
from tapwatch.linktypes import LINKTYPE_NETLINK, LINKTYPE_RAW
from tapwatch.ring import Extra
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo
from tapwatch.widgets.dialogs.find import FindScreen

RTM_DELLINK = 17


def dellink(index: int) -> bytes:
    """A bare RTM_DELLINK message (nlmsghdr and ifinfomsg), as the kernel sends one."""
    body = struct.pack("=BxHiII", 0, 65534, index, 0, 0)
    return struct.pack("=IHHII", 16 + len(body), RTM_DELLINK, 0, 0, 0) + body


def with_events() -> Session:
    """Packets of tun1, then the events a VPN restart leaves, then more packets."""
    session = tun_records(4)
    info = InterfaceInfo("netlink", "events", linktype=LINKTYPE_NETLINK)
    session.add_interface(info)
    last = session.ring.get(session.ring.next_seq - 1)
    assert last is not None
    for n, text in enumerate(("tun1: link down", "tun1: link removed")):
        session.ring.extend(
            [(last.ts_ns + n + 1, 0, cooked(dellink(7)))], info.index, {0: Extra(comment=text)}
        )
    session.note("tun1 went away; capture goes on, and resumes on tun1 when it is back")
    session.pump()
    return session


@ui
async def test_events_are_rows_of_their_own_hidden_with_a_key_and_found() -> None:
    session = with_events()
    packets_only = len(session.ring) - 2
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        assert packets.rows == packets_only + 2
        assert session.events == 2 and session.stats.total_packets == packets_only
        row = session.summary(session.ring.get(packets_only + 2))  # type: ignore[arg-type]
        assert (row.proto, row.src, row.info) == ("event", "tun1", "link removed")
        assert "tun1 went away" in status_text(app)
        # its own look: the .tcss class of events, not a protocol's colour
        strip = packets._render_row(packets_only + 2, packets._cols, 0, None)  # type: ignore[arg-type]
        event_style = packets._style("event")
        assert strip._segments[0].style == event_style
        # a packet filter leaves events in view
        await pilot.press("slash", *"icmp", "enter")
        await settle(pilot, app)
        assert packets.filtered and packets.rows < packets_only + 2
        assert packets_only + 1 in packets.shown_seqs()
        assert packets_only + 2 in packets.shown_seqs()
        # L hides them, and shows them again (the filter stays)
        await pilot.press("L")
        await settle(pilot, app)
        assert packets_only + 2 not in packets.shown_seqs() and "hidden" in said(app)
        await pilot.press("L")
        await settle(pilot, app)
        assert packets_only + 2 in packets.shown_seqs()
        await pilot.press("escape")
        # find reaches them by their words
        packets.go_to_seq(1)
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, FindScreen)
        await pilot.press(*"link removed", "enter")
        await until(pilot, lambda: packets.cursor_seq == packets_only + 2, "find reaching it")
        await settle(pilot, app)  # the detail pane shows an event without failing


@ui
async def test_an_interface_found_after_the_start_is_analysed_as_the_first_ones() -> None:
    """``-i any`` numbers a link made after the UI started (a VPN's device made again): the
    TCP analysis behind the tree and the conversations read its packets with its own link
    type; they had kept the interfaces of the start, and every packet of the new one was an
    IndexError in the expert-tree worker, said again at each move of the cursor."""
    threads.reset()
    session = tun_records(4)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        info = InterfaceInfo("tun0", "observe", linktype=LINKTYPE_RAW)
        session.add_interface(info)
        last = session.ring.get(session.ring.next_seq - 1)
        assert last is not None
        session.ring.extend(
            [(last.ts_ns + 1, OUTBOUND, ping(90)), (last.ts_ns + 2, OUTBOUND, syn(91))], info.index
        )
        session.pump()
        await pilot.press("end")
        await settle(pilot, app)
        assert threads.failures() == []
        screen = main(app)
        newest = session.ring.next_seq - 1
        assert screen.shared_expert.caught_up_to() == newest
        with screen.shared_index.lock:
            index = screen.shared_index.catch_up(session.ring)
        assert index.packets == len(session.ring)
        assert index.not_ip == 0
