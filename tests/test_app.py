"""The Textual UI, driven by Pilot over deterministic sessions (no device, no root, no network).

Sessions are built with ``Session.from_records`` from scapy-made packets with
fixed timestamps; "live" updates are ``session.feed`` + ``session.pump`` +
``main(app).tick()``, exactly what the reader thread, the pump thread and the
refresh timer do in a real run. The app's clock for a non-live session is the
newest packet's timestamp, so nothing on screen depends on the wall clock and
the SVG snapshots are stable.
"""

from __future__ import annotations

import asyncio
import functools
import re
import shutil
import subprocess
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")
scapy_all = pytest.importorskip("scapy.all")

from textual.geometry import Region  # noqa: E402
from textual.widget import Widget  # noqa: E402
from waiting import until  # noqa: E402

from tapwatch.app import TapwatchApp  # noqa: E402
from tapwatch.device import LinkInfo  # noqa: E402
from tapwatch.kinds import Direction  # noqa: E402
from tapwatch.linktypes import LINKTYPE_RAW  # noqa: E402
from tapwatch.ring import Ring  # noqa: E402
from tapwatch.session import Session  # noqa: E402
from tapwatch.sources import InterfaceInfo  # noqa: E402
from tapwatch.widgets.counters import CountersPane  # noqa: E402
from tapwatch.widgets.detail import DetailTree  # noqa: E402
from tapwatch.widgets.dialogs.craft import CraftScreen  # noqa: E402
from tapwatch.widgets.dialogs.export import ExportScreen  # noqa: E402
from tapwatch.widgets.dialogs.help import HelpScreen  # noqa: E402
from tapwatch.widgets.filter_bar import FilterBar, FilterInput  # noqa: E402
from tapwatch.widgets.hexview import HexView  # noqa: E402
from tapwatch.widgets.keyhints import KeyHints  # noqa: E402
from tapwatch.widgets.main_screen import MainScreen  # noqa: E402
from tapwatch.widgets.packet_list import PacketList  # noqa: E402
from tapwatch.widgets.status import StatusBar  # noqa: E402

#: the host's view, as tcpdump's: what it sent into the device, what it received
OUTBOUND = Direction.OUTBOUND
INBOUND = Direction.INBOUND

IP, ICMP, UDP, TCP = scapy_all.IP, scapy_all.ICMP, scapy_all.UDP, scapy_all.TCP
DNS, DNSQR, Raw = scapy_all.DNS, scapy_all.DNSQR, scapy_all.Raw
IPv6, ICMPv6EchoRequest = scapy_all.IPv6, scapy_all.ICMPv6EchoRequest

T0 = 1_700_000_000_000_000_000  # fixed capture start (ns)
HOST, PEER, DNS_SERVER = "192.168.3.11", "192.168.3.12", "192.168.3.53"
SIZE = (140, 40)


def ping(seq: int, reply: bool = False) -> bytes:
    src, dst = (PEER, HOST) if reply else (HOST, PEER)
    pkt = (
        IP(src=src, dst=dst, id=1000 + seq)
        / ICMP(type=0 if reply else 8, id=0x7477, seq=seq)
        / Raw(bytes(range(56)))
    )
    return bytes(pkt)


def dns(seq: int) -> bytes:
    return bytes(
        IP(src=HOST, dst=DNS_SERVER, id=2000 + seq)
        / UDP(sport=40000 + seq, dport=53)
        / DNS(id=seq, qd=DNSQR(qname="example.com"))
    )


def syn(seq: int) -> bytes:
    return bytes(
        IP(src=HOST, dst=PEER, id=3000 + seq)
        / TCP(sport=50000 + seq, dport=80, flags="S", seq=1000, window=64240)
    )


def ping6(seq: int) -> bytes:
    return bytes(IPv6(src="fd00:3::11", dst="fd00:3::12") / ICMPv6EchoRequest(id=1, seq=seq))


def traffic(n: int = 20, start: int = T0) -> list[tuple[int, int, bytes]]:
    """A mix that exercises every colour: ping + reply (out), DNS, TCP, ICMPv6, malformed."""
    out: list[tuple[int, int, bytes]] = []
    t = start
    for i in range(n):
        kind = i % 6
        if kind in (0, 1):
            out.append((t, OUTBOUND, ping(i)))
            out.append((t + 120_000, INBOUND, ping(i, reply=True)))
        elif kind == 2:
            out.append((t, OUTBOUND, dns(i)))
        elif kind == 3:
            out.append((t, OUTBOUND, syn(i)))
        elif kind == 4:
            out.append((t, OUTBOUND, ping6(i)))
        else:
            out.append((t, OUTBOUND, b"\x45\x00\x00"))  # cut short: malformed
        t += 250_000_000
    return out


def tun_info(kind: str = "tun") -> InterfaceInfo:
    return InterfaceInfo("tun1", kind, addresses=["192.168.3.11/24"], mtu=1500)


def offline(n: int = 20, **kw: object) -> Session:
    """A capture-file-like session: no device, actions disabled."""
    info = InterfaceInfo(
        "ping.pcapng", "file", read_only_reason="this is a capture file, not a device"
    )
    return Session.from_records(LINKTYPE_RAW, traffic(n), info=info, **kw)


def tun_records(n: int = 20, **kw: object) -> Session:
    """A tun-like session without a device (what the pump sees in tests)."""
    return Session.from_records(LINKTYPE_RAW, traffic(n), info=tun_info(), **kw)


class FakeDevice:
    """Just enough of tapwatch.device.Device for the session: fd, name, write, link_info."""

    def __init__(self, state: str = "up") -> None:
        self.fd = 99
        self.name = "tun1"
        self.state = state
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def link_info(self) -> LinkInfo:
        if self.state == "gone":
            return LinkInfo("gone")
        return LinkInfo(self.state, mtu=1500, addresses=["192.168.3.11/24"], tx_dropped=0)

    def close(self) -> None:
        self.fd = -1


def with_device(n: int = 20, state: str = "up", **kw: object) -> tuple[Session, FakeDevice]:
    dev = FakeDevice(state)
    s = Session.from_records(LINKTYPE_RAW, traffic(n), info=tun_info(), device=dev, **kw)
    return s, dev


def ui(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (no pytest-asyncio needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def main(app: TapwatchApp) -> MainScreen:
    """The main screen, whatever dialog is on top of it."""
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


def packet_list(app: TapwatchApp) -> PacketList:
    return main(app).query_one(PacketList)


def detail_tree(app: TapwatchApp) -> DetailTree:
    return main(app).query_one(DetailTree)


def hex_view(app: TapwatchApp) -> HexView:
    return main(app).query_one(HexView)


def counters_pane(app: TapwatchApp) -> CountersPane:
    return main(app).query_one(CountersPane)


def filter_input(app: TapwatchApp) -> FilterInput:
    return main(app).query_one(FilterInput)


def display_filter(app: TapwatchApp) -> str:
    """The applied display expression."""
    return main(app).query_one(FilterBar).applied


def status_text(app: TapwatchApp) -> str:
    return main(app).query_one(StatusBar).text


def said(app: TapwatchApp) -> str:
    """The short message the key hints line shows now ("" when none)."""
    return main(app).query_one(KeyHints).message or ""


async def workers_done(app: TapwatchApp) -> None:
    """Wait for the workers running now (one a newer request cancelled counts as done)."""
    from textual.worker import WorkerCancelled

    for _ in range(100):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


async def filter_checked(pilot, app: TapwatchApp) -> None:  # type: ignore[no-untyped-def]
    """Wait for the filter bar's check of what its input holds (it runs off the UI thread)."""
    bar = main(app).query_one(FilterBar)
    for _ in range(2000):
        if not bar.pending:
            break
        await pilot.pause(0.01)
    await pilot.pause()


async def settle(pilot, app: TapwatchApp) -> None:  # type: ignore[no-untyped-def]
    """Let the refresh, the detail throttle and any worker finish."""
    main(app).tick()
    await pilot.pause()
    for _ in range(200):
        await workers_done(app)
        await pilot.pause(0.02)
        if not main(app).detail_pending:
            break
    await pilot.pause()


# ----- the list ----------------------------------------------------------------------------


@ui
async def test_lists_every_packet_with_status() -> None:
    session = tun_records(20)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        assert packets.rows == len(session.ring) == 28
        # a tun session follows: the cursor sits on the newest packet
        assert packets.cursor_seq == 28
        status = status_text(app)
        assert "tun1" in status and "192.168.3.11/24" in status
        assert "packets 28" in status
        assert "evicted 0" in status and "missed 0" in status
        # the header and the first row, formatted from the ring on demand
        assert packets.render_line(0).text.split()[:3] == ["No.", "Time", "Dir"]
        first_visible = packets.scroll_offset.y
        row = packets.render_line(1).text
        assert row.split()[0] == str(first_visible + 1)


@ui
async def test_received_rows_and_colours_differ() -> None:
    app = TapwatchApp(offline(6))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        packets.action_first()
        packets.action_cursor_down()
        packets.action_cursor_down()  # cursor on row 2 so rows 0 and 1 render plainly
        await pilot.pause()
        row_sent, row_received = packets.render_line(1), packets.render_line(2)
        # the host's view in words that cannot be misread: it sent one, received the other
        assert " host→ " in row_sent.text and " →host " in row_received.text
        sent_bg = {seg.style.bgcolor for seg in row_sent if seg.style}
        received_bg = {seg.style.bgcolor for seg in row_received if seg.style}
        assert sent_bg != received_bg
        malformed = packets.render_line(8)
        assert "Malformed" in malformed.text
        assert any(
            seg.style and seg.style.color and seg.style.color.name == "#ff5f5f" for seg in malformed
        )


@ui
async def test_render_cost_is_per_visible_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """100k packets in the ring: a frame decodes only the rows on screen."""
    data = ping(1)
    records = [(T0 + i * 1000, OUTBOUND, data) for i in range(100_000)]
    session = Session.from_records(LINKTYPE_RAW, records, info=tun_info())
    calls = 0
    real = session.summary

    def counting(rec):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return real(rec)

    monkeypatch.setattr(session, "summary", counting)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        assert packets.rows == 100_000
        height = packets.size.height
        assert calls <= 2 * height
        calls = 0
        packets._cache.clear()
        for y in range(height):
            packets.render_line(y)
        assert calls <= height
        # a cached frame costs no decoding at all
        calls = 0
        for y in range(height):
            packets.render_line(y)
        assert calls == 0


@ui
async def test_follow_stops_when_moving_up_and_end_resumes() -> None:
    session = tun_records(10)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        last = session.ring.next_seq - 1
        assert packets.cursor_seq == last and packets.follow

        session.feed(T0 + 5_000_000_000, OUTBOUND, ping(100))
        session.pump()
        main(app).tick()
        assert packets.cursor_seq == last + 1  # followed the new packet

        await pilot.press("k")  # vim up
        assert not packets.follow
        where = packets.cursor_seq
        session.feed(T0 + 5_100_000_000, OUTBOUND, ping(101))
        session.pump()
        main(app).tick()
        assert packets.cursor_seq == where  # stayed put
        assert packets.rows == len(session.ring)

        await pilot.press("end")
        assert packets.follow and packets.cursor_seq == session.ring.next_seq - 1
        session.feed(T0 + 5_200_000_000, OUTBOUND, ping(102))
        session.pump()
        main(app).tick()
        assert packets.cursor_seq == session.ring.next_seq - 1

        await pilot.press("g")
        assert packets.cursor_seq == session.ring.first_seq
        await pilot.press("j", "down")
        assert packets.cursor_seq == session.ring.first_seq + 2
        await pilot.press("G")
        assert packets.follow


@ui
async def test_offline_file_opens_at_first_packet() -> None:
    app = TapwatchApp(offline(10))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert packet_list(app).cursor_seq == 1
        assert not packet_list(app).follow
        assert "offline" in status_text(app)
        await pilot.press("pagedown")
        assert packet_list(app).cursor_seq > 1


@ui
async def test_pause_freezes_the_list_and_counts_new_packets() -> None:
    session = tun_records(10)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        before = packets.rows
        await pilot.press("space")
        assert packets.paused
        for i in range(5):
            session.feed(T0 + 9_000_000_000 + i, OUTBOUND, ping(200 + i))
        session.pump()
        main(app).tick()
        assert packets.rows == before
        assert "PAUSED" in status_text(app) and "+5 new" in status_text(app)
        assert "packets " + str(before + 5) in status_text(app)  # capture went on
        await pilot.press("space")
        main(app).tick()
        assert not packets.paused
        assert packets.rows == before + 5
        assert packets.cursor_seq == session.ring.next_seq - 1


@ui
async def test_evicted_records_drop_off_the_top() -> None:
    session = Session.from_records(LINKTYPE_RAW, [], info=tun_info(), ring=Ring(8))
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for ts, d, data in traffic(10):
            session.feed(ts, d, data)
        session.pump()
        main(app).tick()
        packets = packet_list(app)
        assert packets.rows == 8
        assert packets.seq_at(0) == session.ring.first_seq == 7
        assert "evicted 6" in status_text(app)


@ui
async def test_clear_empties_list_counters_and_panes() -> None:
    session = tun_records(10)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert hex_view(app).data
        await pilot.press("c")
        await settle(pilot, app)
        assert packet_list(app).rows == 0
        assert len(session.ring) == 0
        assert "packets 0" in status_text(app)
        assert hex_view(app).data == b""
        assert not detail_tree(app).root.children
        # capture goes on after a clear, numbering continues
        session.feed(T0 + 20_000_000_000, OUTBOUND, ping(300))
        session.pump()
        main(app).tick()
        assert packet_list(app).rows == 1
        assert packet_list(app).seq_at(0) == 15


# ----- display filter ----------------------------------------------------------------------


@ui
async def test_valid_filter_shrinks_the_list() -> None:
    session = tun_records(20)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        total = packet_list(app).rows
        await pilot.press("slash", *"icmp")
        await filter_checked(pilot, app)
        flt = filter_input(app)
        assert flt.has_focus
        assert flt.has_class("-valid") and not flt.has_class("-invalid")
        await pilot.press("enter")
        await settle(pilot, app)
        packets = packet_list(app)
        icmp = sum(1 for _, _, d in traffic(20) if len(d) > 20 and d[9] == 1)
        assert packets.rows == icmp < total
        assert display_filter(app) == "icmp"
        assert packets.has_focus and not flt.can_focus
        assert all(
            session.summary(session.ring.get(s)).proto == "ICMP" for s in packets.shown_seqs()
        )
        # new packets are filtered incrementally
        session.feed(T0 + 30_000_000_000, OUTBOUND, dns(400))
        session.feed(T0 + 30_000_000_001, OUTBOUND, ping(400))
        session.pump()
        main(app).tick()
        assert packets.rows == icmp + 1
        assert "shown " + str(icmp + 1) in status_text(app)
        # an empty filter shows everything again
        await pilot.press("slash", "ctrl+u", "enter")
        await settle(pilot, app)
        assert packets.rows == len(session.ring)
        assert display_filter(app) == ""


@ui
async def test_invalid_filter_is_red_and_changes_nothing() -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        total = packet_list(app).rows
        await pilot.press("slash", *"icmp", "space", *"and")
        await filter_checked(pilot, app)
        flt = filter_input(app)
        assert flt.has_class("-invalid") and not flt.has_class("-valid")
        assert main(app).query_one(FilterBar).error
        await pilot.press("enter")  # refused: stays open, nothing applied
        await settle(pilot, app)
        assert flt.has_focus
        assert packet_list(app).rows == total
        assert display_filter(app) == ""
        await pilot.press("escape")
        assert packet_list(app).has_focus
        assert flt.value == "" and not flt.has_class("-invalid")


@ui
async def test_dash_y_opens_the_ui_with_its_filter_applied() -> None:
    """``tapwatch -r f -Y expr``: the list shows what tshark -Y would print, and the bar holds
    the expression in Wireshark's language, ready to edit."""
    session = tun_records(20)
    app = TapwatchApp(session, display_filter="icmp.type == 8")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await filter_checked(pilot, app)
        pings = sum(1 for _, _, d in traffic(20) if len(d) > 20 and d[9] == 1 and d[20] == 8)
        assert packet_list(app).rows == pings > 0
        assert display_filter(app) == "icmp.type == 8"
        assert main(app).query_one(FilterBar).language == "wireshark"


@ui
async def test_wireshark_filter_in_the_bar() -> None:
    """The bar reads Wireshark's language too, says so, and marks the token an error is at."""
    session = tun_records(20)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        bar = main(app).query_one(FilterBar)
        await pilot.press("slash", *"icmp.type == 8")
        await filter_checked(pilot, app)
        flt = filter_input(app)
        assert flt.has_class("-valid")
        assert "auto: Wireshark" in str(bar._label.render())
        await pilot.press("enter")
        await settle(pilot, app)
        packets = packet_list(app)
        pings = sum(1 for _, _, d in traffic(20) if len(d) > 20 and d[9] == 1 and d[20] == 8)
        assert packets.rows == pings > 0
        # an address that is not one: red, the message names the column, the token marked
        await pilot.press("slash", "ctrl+u", *"ip.src == nohost")
        await filter_checked(pilot, app)
        assert flt.has_class("-invalid")
        assert bar.error is not None and "column 11" in bar.error
        assert bar._marks.span == (10, 16)
        # Ctrl+T chooses the language: the same words read as BPF
        await pilot.press("ctrl+u", *"icmp", "ctrl+t")
        await filter_checked(pilot, app)
        assert str(bar._label.render()) == "BPF"
        await pilot.press("escape")


@ui
async def test_escape_keeps_the_applied_filter() -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"udp", "enter")
        await settle(pilot, app)
        rows = packet_list(app).rows
        await pilot.press("slash", "backspace", "backspace", "backspace", *"tcp", "escape")
        await settle(pilot, app)
        assert display_filter(app) == "udp"
        assert filter_input(app).value == "udp"
        assert packet_list(app).rows == rows


@ui
async def test_tabbing_out_of_the_filter_restores_it() -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"icmp and")
        await pilot.press("tab")
        await pilot.pause()
        flt = filter_input(app)
        assert not flt.has_focus and not flt.can_focus
        assert flt.value == "" and not flt.has_class("-invalid")
        assert packet_list(app).rows == len(app.session.ring)


@ui
async def test_click_selects_a_row() -> None:
    app = TapwatchApp(offline(10))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # border (1) + header (1): the third list line is row 2 when scrolled to the top
        await pilot.click("#packets", offset=(10, 4))
        await settle(pilot, app)
        assert packet_list(app).cursor_seq == 3
        assert detail_tree(app).seq == 3


@ui
async def test_capture_filter_combines_with_display_filter() -> None:
    from tapwatch.filters import compile_packet_filter

    cap = compile_packet_filter("ip", [LINKTYPE_RAW])  # hides the IPv6 packets
    session = tun_records(12, capture_filter=cap)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        v4 = packet_list(app).rows
        assert v4 == len(session.ring) - 2
        await pilot.press("slash", *"icmp", "enter")
        await settle(pilot, app)
        assert 0 < packet_list(app).rows < v4


@ui
async def test_filter_rebuild_over_a_big_ring_is_chunked() -> None:
    data_icmp, data_udp = ping(1), dns(1)
    records = [(T0 + i, OUTBOUND, data_icmp if i % 2 else data_udp) for i in range(60_000)]
    session = Session.from_records(LINKTYPE_RAW, records, info=tun_info())
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        main(app).apply_filter("icmp")
        for _ in range(400):
            if not packet_list(app).scanning:
                break
            main(app).tick()
            await pilot.pause()
        assert packet_list(app).rows == 30_000


# ----- export ------------------------------------------------------------------------------


def tshark_count(path: Path) -> int:
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return len(out.stdout.split())


async def _export(pilot, app: TapwatchApp, path: Path, only_shown: bool) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("w")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ExportScreen)
    assert screen.query_one("#export-path").value.endswith(".pcapng")
    screen.query_one("#export-path").value = str(path)
    if only_shown:
        screen.query_one("#export-shown").value = True
    await pilot.press("enter")
    await settle(pilot, app)
    await until(pilot, lambda: path.exists() and app._notifications, f"{path} written and said")


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@ui
async def test_export_everything_reads_back_in_tshark(tmp_path: Path) -> None:
    session = tun_records(20)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        path = tmp_path / "all.pcapng"
        await _export(pilot, app, path, only_shown=False)
        assert tshark_count(path) == len(session.ring) == 28
        messages = [n.message for n in app._notifications]
        assert f"wrote 28 packets to {path}" in messages


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@ui
async def test_export_only_what_the_filter_shows(tmp_path: Path) -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"udp", "enter")
        await settle(pilot, app)
        shown = packet_list(app).rows
        path = tmp_path / "udp.pcap"
        await _export(pilot, app, path, only_shown=True)
        assert tshark_count(path) == shown


@ui
async def test_export_error_is_notified_not_raised(tmp_path: Path) -> None:
    app = TapwatchApp(tun_records(5))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("w")
        await pilot.pause()
        app.screen.query_one("#export-path").value = str(tmp_path / "missing" / "x.pcap")
        await pilot.press("enter")
        await settle(pilot, app)
        await until(pilot, lambda: app._notifications, "a notification")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "x.pcap" in errors[0].message


@ui
async def test_export_escape_cancels() -> None:
    app = TapwatchApp(tun_records(5))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)


# ----- actions -----------------------------------------------------------------------------


@ui
async def test_mode_keys_switch_the_session() -> None:
    session, _dev = with_device(5)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        assert session.peer_mode == "echo"
        main(app).tick()
        assert "mode echo" in status_text(app)
        await pilot.press("d")
        assert session.peer_mode == "drop"
        await pilot.press("r")  # no responder: refused with the session's message
        await pilot.pause()
        assert session.peer_mode == "drop"
        assert "reply mode needs" in said(app)
        assert not app._notifications  # said on the key hints line, not in a toast


@ui
async def test_echo_mode_answers_and_status_counts_replies() -> None:
    session, dev = with_device(0)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        session.feed(T0, OUTBOUND, ping(1))
        session.pump()
        main(app).tick()
        assert dev.written == [ping(1)]
        assert packet_list(app).rows == 2
        assert "(1 sent)" in status_text(app)


@ui
async def test_actions_offline_are_refused_with_a_message() -> None:
    app = TapwatchApp(offline(5))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for key in ("e", "s", "i", "e", "e", "e"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, CraftScreen)
            assert "capture file" in said(app)
        # one message on the key hints line, replaced by the next: no wall of toasts
        assert not app._notifications
        assert app.session.peer_mode == "drop"


@ui
async def test_resend_writes_the_selected_packet() -> None:
    session, dev = with_device(6)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        await pilot.press("s")
        first = session.ring.get(1)
        assert first is not None and dev.written == [first.data]
        session.pump()
        main(app).tick()
        last = session.ring.get(session.ring.next_seq - 1)
        assert last is not None and last.direction == INBOUND and last.data == first.data


@ui
async def test_craft_previews_and_sends() -> None:
    session, dev = with_device(2)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CraftScreen)
        expr = 'IP(dst="192.168.3.11")/UDP(sport=4000,dport=9)/b"hi"'
        screen.query_one("#craft-expr").value = expr
        for _ in range(200):
            await pilot.pause(0.02)
            await workers_done(app)
            if screen.bytes is not None:
                break
        assert screen.bytes is not None and len(screen.bytes) == 30
        assert "30 bytes" in str(screen.query_one("#craft-preview").render())
        await pilot.press("enter")
        await pilot.pause()
        assert dev.written and dev.written[-1] == screen.bytes
        assert not isinstance(app.screen, CraftScreen)


@ui
async def test_craft_errors_stay_in_the_dialog() -> None:
    session, dev = with_device(2)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CraftScreen)
        screen.query_one("#craft-expr").value = "IP(dst=)"
        await pilot.press("enter")
        for _ in range(1000):  # evaluated in the sandbox process: wait for its answer
            if screen.error:
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, CraftScreen)
        assert screen.error
        assert not dev.written
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CraftScreen)


@ui
async def test_device_gone_keeps_everything_and_says_so_once() -> None:
    session, dev = with_device(5)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        dev.state = "gone"
        session.link_info(force=True)  # ask the (fake) kernel again now
        main(app).tick()
        main(app).tick()
        await pilot.pause()
        assert "GONE" in status_text(app)
        gone = [n for n in app._notifications if "gone" in n.message]
        assert len(gone) == 1
        assert packet_list(app).rows == len(session.ring) == 7
        await pilot.press("e")
        await pilot.pause()
        assert session.peer_mode == "drop"


# ----- detail tree and hex ---------------------------------------------------------------


@ui
async def test_detail_tree_and_hex_follow_the_selection() -> None:
    session = offline(6)
    app = TapwatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        rec = session.ring.get(1)
        assert rec is not None
        assert hex_view(app).data == rec.data
        tree = detail_tree(app)
        assert tree.seq == 1
        labels = [str(n.label) for n in tree.root.children]
        assert labels[0].startswith("Frame 1: 84 bytes on wire")  # the frame layer comes first
        assert labels[1].startswith("Internet Protocol Version 4")
        assert any("Internet Control Message Protocol" in lab for lab in labels)

        # walk into the tree: IPv4 > ttl highlights exactly the TTL byte
        await pilot.press("tab")
        assert isinstance(app.focused, DetailTree)
        await pilot.press("down", "right")  # past the frame layer, expand IPv4
        await pilot.pause()
        ttl_line = next(
            i
            for i in range(tree.last_line + 1)
            if str(tree.get_node_at_line(i).label).startswith("Time to Live")
        )
        for _ in range(ttl_line - 1):  # from the IPv4 line
            await pilot.press("down")
        await pilot.pause()
        assert hex_view(app).mark == (8, 9)
        assert hex_view(app).marked_bytes() == bytes([rec.data[8]])

        # the next packet replaces tree and hex; the expanded layer stays expanded
        await pilot.press("shift+tab")
        await pilot.press("j")
        await settle(pilot, app)
        rec2 = session.ring.get(2)
        assert rec2 is not None and hex_view(app).data == rec2.data
        assert tree.root.children[1].is_expanded


def drawn(pane: Widget) -> list[list[tuple[str, str]]]:
    """What a pane's lines hold now, frame included: the lines it did not draw again are
    those it drew before (text and style of each run; the mouse's metadata left out)."""
    lines = pane.render_lines(Region(0, 0, *pane.outer_size))
    return [[(s.text, str(s.style)) for s in line.simplify()] for line in lines]


@ui
async def test_panes_drawn_line_by_line_match_a_whole_redraw() -> None:
    """The tree, the bytes and the list draw again only the lines a cursor move changed;
    what they show must be what drawing them whole shows (pings, DNS, TCP, IPv6, a cut
    packet; the tree focused with a layer open, and not)."""
    app = TapwatchApp(offline(14))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        keys = ["j"] * 6 + ["tab", "down", "right", "shift+tab"] + ["j"] * 14 + ["k"] * 4
        # then the tree focused, its cursor on a field, while the list's cursor moves on (as
        # new packets move it when it follows them)
        keys += ["tab", "down", "down", *(f"row {i}" for i in (3, 4, 5, 2, 9))]
        for key in keys:
            if key.startswith("row "):
                packet_list(app).move_cursor(int(key[4:]))
            else:
                await pilot.press(key)
            await settle(pilot, app)
            for pane in (detail_tree(app), hex_view(app), packet_list(app)):
                shown = drawn(pane)
                pane.refresh()
                assert shown == drawn(pane), (key, type(pane).__name__)
        tree = detail_tree(app)
        assert tree.has_focus and tree.cursor_line == 1
        # another theme: the next packet's tree has its colours (the tree keeps its styles
        # while the theme and the focus are the same)
        layer = tree.get_component_rich_style("detail--layer")
        app.theme = "textual-light"
        await settle(pilot, app)
        assert tree.get_component_rich_style("detail--layer") != layer
        packet_list(app).move_cursor(4)
        await settle(pilot, app)
        frame = tree.get_component_rich_style("detail--frame")
        assert frame.color is not None and frame.color.triplet is not None
        assert any(frame.color.triplet.hex in style for _, style in drawn(tree)[1])


@ui
async def test_list_scrollbar_drawn_again_only_when_its_thumb_moves() -> None:
    """Scrolling the list a row at a time redraws its scrollbar only when the thumb moves
    (most one-row scrolls of a long list move it by less than the eighth of a cell it is
    drawn in): what the bar shows is at every step what drawing it whole shows."""
    app = TapwatchApp(offline(300))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        packets.move_cursor(0)
        await settle(pilot, app)
        bar = packets.vertical_scrollbar
        drawings = []
        for _ in range(60):
            await pilot.press("j")
            await pilot.pause()
            shown = drawn(bar)
            bar.refresh()
            assert shown == drawn(bar), packets.scroll_offset.y
            drawings.append(shown)
        assert packets.scroll_offset.y > 40  # it scrolled
        assert len({str(d) for d in drawings}) > 5  # and the thumb moved with it


@ui
async def test_theme_change_recolours_the_tree_without_a_cursor_move() -> None:
    """A theme chosen (as the palette's theme picker does: it sets the app's theme) recolours
    the tree's labels at once: the frame layer, the protocol layers and their fields, not
    the next packet's tree only."""
    app = TapwatchApp(offline(6))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        tree = detail_tree(app)
        tree.root.children[1].expand()  # a layer open: its fields are drawn too
        await settle(pilot, app)

        def colours(*names: str) -> set[str]:
            found = set()
            for name in names:
                color = tree.get_component_rich_style(name).color
                assert color is not None and color.triplet is not None
                found.add(color.triplet.hex)
            return found

        def shown() -> set[str]:
            """The foreground colours the tree's label runs are drawn in now."""
            text = " ".join(style for line in drawn(tree)[1:-1] for _, style in line)
            return set(re.findall(r"#[0-9a-f]{6}", text))

        # (the frame layer's line is under the tree's cursor bar, in the bar's colours)
        names = ("detail--layer", "detail--field")
        old = colours(*names)
        assert old <= shown()
        app.theme = "textual-light"
        await settle(pilot, app)
        new = colours(*names)
        assert new != old
        drawn_now = shown()
        assert new <= drawn_now, (new, drawn_now)
        assert not (old - new) & drawn_now  # no label keeps the old theme's colour
        assert detail_tree(app).seq == packet_list(app).cursor_seq  # the cursor did not move


@ui
async def test_bytes_scrollbar_follows_long_and_short_packets() -> None:
    """The bytes pane keeps its scrollbar (no layout when a packet needs one and the next
    does not): blank while the packet fits, its thumb sized by each long packet."""
    sizes = [40, 600, 1200, 60, 300, 40]
    records = [
        (T0 + i * 1000, OUTBOUND, bytes(IP(src=HOST, dst=PEER) / UDP() / Raw(b"x" * n)))
        for i, n in enumerate(sizes)
    ]
    info = InterfaceInfo("sizes.pcap", "file", read_only_reason="a capture file")
    app = TapwatchApp(Session.from_records(LINKTYPE_RAW, records, info=info))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        hv = hex_view(app)
        bar = hv.vertical_scrollbar
        for n in range(len(sizes)):
            if n:
                await pilot.press("j")
                await settle(pilot, app)
            rec = main(app).session.ring.get(n + 1)
            assert rec is not None and hv.data == rec.data
            lines = -(-len(rec.data) // hv.per_line)
            height = hv.scrollable_content_region.height
            assert hv.virtual_size.height == max(lines, height)
            assert hv.show_vertical_scrollbar and bar.window_virtual_size == max(lines, height)
            thumb = any(
                seg.style is not None and seg.style.reverse
                for line in bar.render_lines(Region(0, 0, *bar.outer_size))
                for seg in line
            )
            assert thumb == (lines > height), n
            assert hv.max_scroll_y == max(0, lines - height)
            shown = drawn(hv)
            hv.refresh()
            assert shown == drawn(hv)
        await pilot.press("k", "k", "k", "k")  # back to the 1200-byte packet: it scrolls
        await settle(pilot, app)
        hv.scroll_to(y=10, animate=False)
        await pilot.pause()
        assert hv.scroll_offset.y == 10


@ui
async def test_tab_cycles_the_panes() -> None:
    app = TapwatchApp(offline(3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        seen = []
        for _ in range(4):
            seen.append(app.focused.id if app.focused else None)
            await pilot.press("tab")
        assert seen == ["packets", "detail", "hex", "counters"]
        assert app.focused is not None and app.focused.id == "packets"


@ui
async def test_counters_toggle_and_help_screen() -> None:
    app = TapwatchApp(offline(6))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("p")
        assert not counters_pane(app).display
        await pilot.press("p")
        assert counters_pane(app).display
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


# ----- pure rendering helpers ------------------------------------------------------------


def test_sparkline_one_cell_per_second_then_squeezed() -> None:
    from tapwatch.widgets.counters import sparkline

    assert sparkline([1, 2, 4, 8], 6, 6) == "  ▁▂▄█"
    assert sparkline([0, 0, 0], 4, 4) == "    "
    squeezed = sparkline([0] * 50 + [9] + [0] * 9, 12, 60)  # a burst 10 s ago survives
    assert len(squeezed) == 12 and squeezed.count("█") == 1


def test_hex_lines_keep_their_columns() -> None:
    from tapwatch.widgets.hexview import bytes_per_line, dump_line

    data = bytes(range(0x41, 0x41 + 20))
    full = "".join(seg.text for seg in dump_line(data, 0, 16, None))
    short = "".join(seg.text for seg in dump_line(data, 16, 16, (17, 19)))
    assert full.startswith("0000  41 42 43 44 45 46 47 48  49 4a")
    assert full.endswith("ABCDEFGHIJKLMNOP")
    assert short.index("QRST") == full.index("ABCD")  # the ASCII column lines up
    assert len(short) == len(full) - 12
    marked = [
        seg.text for seg in dump_line(data, 16, 16, (17, 19)) if seg.style and seg.style.bgcolor
    ]
    assert marked == ["52 53", "RS"]  # one segment a run of marked cells
    assert bytes_per_line(80) == 16 and bytes_per_line(44) == 8


def test_status_shows_every_loss_prominently() -> None:
    from tapwatch.widgets.status import BAD, ViewState, render_status

    class DroppingDevice(FakeDevice):
        def link_info(self) -> LinkInfo:
            return LinkInfo("up", mtu=1500, tx_dropped=5)

    session = Session.from_records(
        LINKTYPE_RAW, traffic(10), info=tun_info(), ring=Ring(4), device=DroppingDevice()
    )
    session.missed = 3
    status = replace(session.status(), write_error="no space left on device")
    text = render_status(status, ViewState())
    plain = text.plain
    assert "evicted 10" in plain and "kernel drops 5" in plain and "missed 3" in plain
    assert "pcap write error: no space left on device" in plain
    bad = {plain[span.start : span.end] for span in text.spans if span.style == BAD}
    assert {"10", "5", "3"} <= bad
    assert "unannounced" not in plain  # -i any's holding queue: only once it let some go
    held = render_status(replace(status, held_dropped=7), ViewState())
    assert "kernel drops 5  unannounced 7  missed 3" in held.plain
    assert "unrecorded" not in plain  # the tunnel relay's queue: only once it let copies go
    unrecorded = render_status(replace(status, unrecorded=4), ViewState())
    assert "kernel drops 5  unrecorded 4  missed 3" in unrecorded.plain


def test_status_names_whose_mtu_it_shows_when_several_interfaces_are_watched() -> None:
    from tapwatch.widgets.status import ViewState, render_status

    one = replace(tun_records(3).status(), mtu=1500, mtu_of="tun1")
    assert " mtu 1500" in render_status(one, ViewState()).plain
    assert "tun1 mtu" not in render_status(one, ViewState()).plain  # one interface: plain
    two = replace(one, interfaces=(("tun1", "tun"), ("veth0", "observed")))
    assert "tun1 mtu 1500" in render_status(two, ViewState()).plain


# ----- snapshots ---------------------------------------------------------------------------


def snapshot_session() -> Session:
    return tun_records(30)


def test_snapshot_main_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    session, _dev = with_device(30)  # a "live" tun: device up, drop mode, kernel drops 0
    app = TapwatchApp(session)

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_snapshot_detail_with_highlighted_field(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TapwatchApp(offline(12))

    async def select_field(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, app)
        await pilot.press("j", "j", "j", "j")  # the DNS query
        await settle(pilot, app)
        # past the frame layer and IPv4: expand UDP, down to its fields
        await pilot.press("tab", "down", "down", "right", "down", "down", "down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=select_field)


def test_snapshot_counters(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TapwatchApp(snapshot_session())

    async def focus_counters(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, app)
        counters_pane(app).focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 40), run_before=focus_counters)


def test_snapshot_help(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TapwatchApp(offline(3))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, app)

    assert snap_compare(app, press=["question_mark"], terminal_size=SIZE, run_before=ready)


def test_run_app_returns_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    from tapwatch import app as app_module

    monkeypatch.setattr(app_module.TapwatchApp, "run", lambda self: None)
    assert app_module.run_app(offline(1), title="x") == 0


def test_textual_stays_out_of_the_core() -> None:
    """Only app.py and widgets/ may import textual (the core runs headless)."""
    root = Path(__file__).resolve().parent.parent / "tapwatch"
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] == "widgets" or rel.name == "app.py":
            continue
        text = path.read_text()
        if "import textual" in text or "from textual" in text:
            offenders.append(str(rel))
    assert offenders == []


@ui
async def test_theme_change_recolours_the_key_hints() -> None:
    """A theme chosen recolours the key hints line at once: it styled its text as the app's
    theme changed, before the new theme's stylesheet was applied, and kept the old theme's
    colours until something else redrew it."""
    app = TapwatchApp(offline(6))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        hints = main(app).key_hints

        def colour(pane: Widget, name: str) -> str:
            color = pane.get_component_rich_style(name).color
            assert color is not None and color.triplet is not None
            return color.triplet.hex

        def shown(pane: Widget) -> set[str]:
            text = " ".join(style for line in drawn(pane) for _, style in line)
            return set(re.findall(r"#[0-9a-f]{6}", text))

        old = colour(hints, "key-hints--key")
        assert old in shown(hints)
        app.theme = "textual-light"
        await settle(pilot, app)
        new = colour(hints, "key-hints--key")
        assert new != old
        assert new in shown(hints) and old not in shown(hints)
