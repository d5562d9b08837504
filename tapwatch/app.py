"""The terminal UI: termshark's three linked panes, live, plus counters and the peer's actions.

Layout: a two-line status bar, the display filter, the packet list, and below
it the protocol tree, the hex dump and the per-protocol counters; the footer
names the main keys and ``?`` lists them all.

Data flow: the session's reader and pump threads fill the ring and the
counters; this app never receives a message per packet. A single timer
(``REFRESH_HZ``) asks the packet list to catch up with the ring, refreshes the
status bar (only when its text changed) and, twice a second, the counters. The
only slow work - scapy dissecting the selected packet, writing a pcap,
previewing a crafted packet - runs in thread workers, throttled so a cursor
held down on a busy list does not queue a dissection per row.

Everything time-dependent goes through ``TapwatchApp.now_ns``: wall time for a
live capture, the newest packet's timestamp otherwise, so offline views and
tests render identically every time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Tree
from textual.worker import Worker, WorkerState

from tapwatch.widgets.counters import CountersPane
from tapwatch.widgets.detail import DetailTree
from tapwatch.widgets.dialogs import (
    CraftScreen,
    ExportRequest,
    ExportScreen,
    HelpScreen,
    action_errors,
)
from tapwatch.widgets.hexview import HexView
from tapwatch.widgets.packet_list import PacketList
from tapwatch.widgets.status import StatusBar, ViewState, render_status

if TYPE_CHECKING:
    from tapwatch.decode import Node
    from tapwatch.filters import PacketFilter
    from tapwatch.ring import Record, Ring
    from tapwatch.session import Session

W = TypeVar("W", bound="Widget")

REFRESH_HZ = 20
COUNTERS_EVERY = 10  # ticks between counter refreshes (0.5 s at 20 Hz)
DETAIL_THROTTLE_S = 0.1


class FilterInput(Input):
    """The one-line display filter; focusable only while the user is editing it.

    Keeping it out of the focus chain otherwise means Tab moves between the
    panes and a stray key never lands in the filter. Leaving it any other way
    than Enter (Escape, Tab, a click elsewhere) restores the applied filter.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_filter", "Cancel", show=True),
    ]

    def action_cancel_filter(self) -> None:
        app = self.app
        if isinstance(app, TapwatchApp):
            app.cancel_filter()

    def on_blur(self) -> None:
        app = self.app
        self.can_focus = False
        if isinstance(app, TapwatchApp) and self.value != app.display_filter:
            self.value = app.display_filter

    def on_click(self) -> None:
        app = self.app
        if not self.has_focus and isinstance(app, TapwatchApp):
            app.action_filter()


class TapwatchApp(App[int]):
    """One session, shown live. ``run_test()`` works with any Session, including fed ones."""

    TITLE = "tapwatch"

    CSS = """
    Screen {
        layout: vertical;
        background: $background;
    }
    #filterbar {
        height: 1;
        background: #282c34;
    }
    #filterbar > Label {
        width: auto;
        padding: 0 1;
        color: #8a93a3;
    }
    #filterbar > #filter-label {
        color: #e5c07b;
        text-style: bold;
    }
    #filter {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: #1f2329;
    }
    #filter.-valid {
        background: #1e3a24;
        color: #b5f5b0;
    }
    #filter.-invalid {
        background: #4a1d1f;
        color: #ffb3b3;
    }
    #filter-msg {
        width: auto;
        max-width: 60%;
    }
    #filter-msg.-error {
        color: #ff7b72;
    }
    #main {
        height: 1fr;
    }
    .pane {
        border: round #3e4451;
        border-title-color: #8a93a3;
        border-title-style: bold;
    }
    .pane:focus, .pane:focus-within {
        border: round #61afef;
        border-title-color: #61afef;
    }
    #packets {
        height: 55%;
    }
    #lower {
        height: 1fr;
    }
    #detail {
        width: 1fr;
    }
    #hex {
        width: 46;
    }
    #counters {
        width: 50;
    }
    #counters.-hidden {
        display: none;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("space", "pause", "Pause"),
        Binding("w", "export", "Write pcap"),
        Binding("c", "clear", "Clear"),
        Binding("e", "mode('echo')", "Echo"),
        Binding("r", "mode('reply')", "Reply"),
        Binding("d", "mode('drop')", "Drop"),
        Binding("s", "resend", "Resend"),
        Binding("i", "craft", "Inject"),
        Binding("p", "toggle_counters", "Counters", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        session: Session,
        *,
        title: str | None = None,
        clock: Callable[[], int] | None = None,
        refresh_hz: float = REFRESH_HZ,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.session = session
        self.handle_signals = handle_signals
        self.title = title or f"tapwatch {session.info.name}"
        self._clock = clock
        self.refresh_hz = refresh_hz
        self.display_filter = ""  # the applied display expression
        self.filter_error: str | None = None
        self._ticks = 0
        self._notified_gone = False
        self._notified_stop = False
        self._want_detail: int | None = None
        self._shown_detail: int | None = -1
        self._detail_timer: Timer | None = None
        self._detail_busy = False
        self.paused = False
        self._panes: dict[str, Widget] = {}

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="filterbar"):
            yield Label("filter", id="filter-label")
            if self.session.capture_filter is not None:
                yield Label(Text(f"capture: {self.session.capture_filter.expr}  and"),
                            id="capture-label")
            flt = FilterInput(placeholder="press / to filter (tcpdump syntax, e.g. icmp or "
                              "udp port 53)", id="filter", compact=True)
            flt.can_focus = False
            yield flt
            yield Label("", id="filter-msg")
        with Vertical(id="main"):
            packets = PacketList(self.session, id="packets")
            packets.add_class("pane")
            packets.border_title = "Packets"
            yield packets
            with Horizontal(id="lower"):
                tree = DetailTree(id="detail")
                tree.add_class("pane")
                tree.border_title = "Details"
                yield tree
                hexv = HexView(id="hex")
                hexv.add_class("pane")
                hexv.border_title = "Bytes"
                yield hexv
                counters = CountersPane(id="counters")
                counters.add_class("pane")
                counters.border_title = "Protocols"
                yield counters
        yield Footer()

    # the panes live on the default screen: keep references so the timer can reach them
    # while a dialog is the active screen (app.query_one searches the active screen)
    @property
    def packet_list(self) -> PacketList:
        return self._pane("#packets", PacketList)

    @property
    def detail_tree(self) -> DetailTree:
        return self._pane("#detail", DetailTree)

    @property
    def hex_view(self) -> HexView:
        return self._pane("#hex", HexView)

    @property
    def counters(self) -> CountersPane:
        return self._pane("#counters", CountersPane)

    @property
    def status_bar(self) -> StatusBar:
        return self._pane("#status", StatusBar)

    @property
    def filter_input(self) -> FilterInput:
        return self._pane("#filter", FilterInput)

    def _pane(self, selector: str, kind: type[W]) -> W:
        widget = self._panes.get(selector)
        if widget is None:
            widget = self._panes[selector] = self.screen_stack[0].query_one(selector, kind)
        return widget  # type: ignore[return-value]

    def on_mount(self) -> None:
        packets = self.packet_list
        if self.session.info.kind == "file":
            packets.follow = False  # a file opens at its first packet, like Wireshark
        if self.session.capture_filter is not None:
            packets.set_filter(self.session.capture_filter)
        packets.focus()
        self.tick()
        self.set_interval(1 / self.refresh_hz, self.tick, name="tapwatch-refresh")
        if self.handle_signals:
            # SIGTERM/SIGHUP end the UI like q does, so cli.py flushes the pcap and cleans up
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.exit)

    def on_resize(self) -> None:
        # 16 bytes per hex line when the terminal is wide enough, else 8
        try:
            hexv = self.hex_view
        except NoMatches:  # not composed yet
            return
        hexv.styles.width = 76 if self.size.width >= 200 else 46

    # ----- the periodic refresh --------------------------------------------------------------
    def now_ns(self) -> int:
        """Wall time when live; otherwise the newest packet's time (stable renders)."""
        if self._clock is not None:
            return self._clock()
        if self.session.live:
            return time.time_ns()
        ring = self.session.ring
        rec = ring.get(ring.next_seq - 1)
        return rec.ts_ns if rec is not None else 0

    def tick(self) -> None:
        """Catch up with the session: list, status, counters, one-time notices."""
        self._ticks += 1
        packets = self.packet_list
        packets.sync()
        now = self.now_ns()
        st = self.session.status(now)
        scanning = None
        if packets.scanning:
            scanning = packets.scan_done / packets.scan_total if packets.scan_total else 0.0
        view = ViewState(
            paused=packets.paused,
            new_while_paused=packets.new_while_paused,
            shown=packets.rows,
            display_filter=self.display_filter,
            scanning=min(scanning, 0.99) if scanning is not None else None,
            pps=st.pps,
            title="tapwatch",
        )
        self.status_bar.show(render_status(self.session, st, view))
        packets.border_subtitle = self._list_subtitle(packets)
        if self._ticks % COUNTERS_EVERY == 1 or COUNTERS_EVERY <= 1:
            self.refresh_counters(now)
        if st.device_state == "gone" and not self._notified_gone:
            self._notified_gone = True
            self.notify(
                f"{self.session.info.name} is gone: what was captured stays here to browse "
                "and export", title="device disappeared", severity="warning", timeout=10,
                markup=False,
            )
        elif (self.session.stop_reason and not self._notified_stop
              and st.device_state != "gone" and self.session.info.kind != "file"):
            self._notified_stop = True
            self.notify(f"capture stopped: {self.session.stop_reason}", severity="warning",
                        markup=False)

    def _list_subtitle(self, packets: PacketList) -> str:
        parts = []
        if packets.filtered:
            parts.append(f"{packets.rows:,} shown")
        if packets.paused:
            parts.append("paused")
        elif not packets.follow and packets.rows:
            parts.append("End: follow")
        return " · ".join(parts)

    def refresh_counters(self, now: int | None = None) -> None:
        counters = self.counters
        if counters.display:
            counters.show(self.session.stats.rows(self.now_ns() if now is None else now))

    # ----- detail and hex ----------------------------------------------------------------------
    @on(PacketList.CursorMoved)
    def _cursor_moved(self, event: PacketList.CursorMoved) -> None:
        self._want_detail = event.seq
        if self._detail_timer is None and not self._detail_busy:
            self._detail_timer = self.set_timer(DETAIL_THROTTLE_S, self._load_detail)

    @property
    def detail_pending(self) -> bool:
        """True while the tree/hex panes have not caught up with the cursor yet."""
        return (self._detail_busy or self._detail_timer is not None
                or self._want_detail != self._shown_detail)

    def _load_detail(self) -> None:
        """Dissect the packet under the cursor in a thread (scapy: ms, 1 s on first use)."""
        self._detail_timer = None
        seq = self._want_detail
        if seq == self._shown_detail:
            return
        if seq is None:
            self._shown_detail = None
            self.detail_tree.show_nodes(None, [])
            self.hex_view.show(b"")
            return
        rec = self.session.ring.get(seq)
        if rec is None:
            self._shown_detail = seq
            self.detail_tree.show_nodes(seq, [], note=f"packet {seq} was evicted from the ring")
            self.hex_view.show(b"")
            return
        self._detail_busy = True
        linktype = self.session.linktype_of(rec)
        self.run_worker(lambda: _dissect(rec, linktype), thread=True, exclusive=True,
                        group="detail", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "detail" and event.state in (
            WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED
        ):
            self._detail_busy = False
            if event.state == WorkerState.SUCCESS:
                rec, nodes, note = worker.result  # type: ignore[misc]
                self._shown_detail = rec.seq
                self.detail_tree.show_nodes(rec.seq, nodes, note=note)
                self.hex_view.show(rec.data)
                self.detail_tree.border_title = f"Details · packet {rec.seq}"
            if self._want_detail != self._shown_detail and self._detail_timer is None:
                self._detail_timer = self.set_timer(DETAIL_THROTTLE_S, self._load_detail)
        elif worker.group == "export" and event.state == WorkerState.SUCCESS:
            ok, message = worker.result  # type: ignore[misc]
            self.notify(message, severity="information" if ok else "error",
                        title="export" if ok else "export failed", markup=False)
        elif worker.group == "export" and event.state == WorkerState.ERROR:
            self.notify(str(worker.error), severity="error", title="export failed",
                        markup=False)

    @on(Tree.NodeHighlighted, "#detail")
    def _node_highlighted(self, event: Tree.NodeHighlighted[Node | None]) -> None:
        node = event.node.data
        if node is not None:
            self.hex_view.highlight(node.start, node.end)

    # ----- display filter ------------------------------------------------------------------
    def action_filter(self) -> None:
        """Open the filter input (with the applied expression) for editing."""
        flt = self.filter_input
        flt.can_focus = True
        flt.focus()
        flt.cursor_position = len(flt.value)

    def compile_display(self, expr: str) -> PacketFilter | None:
        """The list's filter: capture filter and display filter combined (raises FilterError)."""
        from tapwatch.filters import compile_packet_filter

        capture = self.session.capture_filter
        expr = expr.strip()
        linktypes = sorted({i.linktype for i in self.session.interfaces})
        if capture is not None and expr:
            return compile_packet_filter(f"({capture.expr}) and ({expr})", linktypes)
        if capture is not None:
            return capture
        return compile_packet_filter(expr, linktypes)

    def _check_filter(self, expr: str) -> PacketFilter | None:
        """Compile and colour the input; returns the filter, or None with filter_error set."""
        from tapwatch.filters import FilterError

        flt = self.filter_input
        msg = self.query_one("#filter-msg", Label)
        try:
            compiled = self.compile_display(expr)
        except FilterError as e:
            self.filter_error = str(e)
            flt.set_class(True, "-invalid")
            flt.set_class(False, "-valid")
            msg.update(Text(str(e)))
            msg.set_class(True, "-error")
            return None
        self.filter_error = None
        flt.set_class(False, "-invalid")
        flt.set_class(bool(expr.strip()), "-valid")
        msg.update("")
        msg.set_class(False, "-error")
        return compiled

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._check_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        compiled = self._check_filter(event.value)
        if self.filter_error is not None:
            self.bell()
            return
        self.apply_filter(event.value.strip(), compiled)
        self._leave_filter()

    def apply_filter(self, expr: str, compiled: PacketFilter | None = None) -> None:
        """Show only what ``expr`` matches (with the capture filter); empty shows everything."""
        if compiled is None and (expr or self.session.capture_filter is not None):
            compiled = self.compile_display(expr)
        self.display_filter = expr
        self.packet_list.set_filter(compiled)
        self.filter_input.value = expr
        self._check_filter(expr)
        self.tick()

    def cancel_filter(self) -> None:
        """Escape: forget the edit, keep the filter that was applied."""
        self.filter_input.value = self.display_filter
        self._check_filter(self.display_filter)
        self._leave_filter()

    def _leave_filter(self) -> None:
        flt = self.filter_input
        self.packet_list.focus()
        flt.can_focus = False

    # ----- actions ---------------------------------------------------------------------------
    def action_pause(self) -> None:
        packets = self.packet_list
        packets.set_paused(not packets.paused)
        self.paused = packets.paused
        self.tick()

    def action_clear(self) -> None:
        self.session.clear()
        self.packet_list.reset()
        self._want_detail = None
        self._shown_detail = None
        self.detail_tree.show_nodes(None, [])
        self.detail_tree.border_title = "Details"
        self.hex_view.show(b"")
        self.tick()
        self.refresh_counters()
        self.notify("cleared: the ring is empty, capture goes on")

    def action_mode(self, mode: str) -> None:
        try:
            self.session.set_mode(mode)
        except action_errors() as e:
            self.notify(str(e), title=f"cannot switch to {mode}", severity="error",
                        markup=False)
            return
        what = {
            "drop": "drop: tapwatch stays silent",
            "echo": "echo: every frame the host sends is written back",
            "reply": "reply: answering ARP/NDP and pings",
        }[mode]
        self.notify(what, title="mode", markup=False)
        self.tick()

    def action_resend(self) -> None:
        rec = self.packet_list.selected_record()
        if rec is None:
            self.notify("no packet selected (or it was evicted)", severity="warning")
            return
        try:
            self.session.inject(rec.data)
        except action_errors() as e:
            self.notify(str(e), title="resend", severity="error", markup=False)
            return
        self.notify(f"sent packet {rec.seq} again ({len(rec.data)} bytes)", markup=False)

    def action_craft(self) -> None:
        problem = self.session.write_problem("injecting")
        if problem:
            self.notify(problem, severity="error", markup=False)
            return

        def sent(size: int | None) -> None:
            if size:
                self.notify(f"sent a crafted packet ({size} bytes)")

        self.push_screen(CraftScreen(self.session), sent)

    def action_export(self) -> None:
        packets = self.packet_list
        packets.sync()
        name = time.strftime("tapwatch-%Y%m%d-%H%M%S.pcapng", time.localtime())
        default = os.path.join(os.getcwd(), name)
        screen = ExportScreen(default, len(self.session.ring), packets.rows, packets.filtered)
        self.push_screen(screen, self._export)

    def _export(self, request: ExportRequest | None) -> None:
        if request is None:
            return
        path = os.path.abspath(os.path.expanduser(request.path))
        ring = self.session.ring
        records: Iterable[Record]
        if request.only_shown:
            seqs = self.packet_list.shown_seqs()
            records = (r for r in map(ring.get, seqs) if r is not None)
        else:
            records = _ring_slice(ring, ring.first_seq, ring.next_seq)
        linktype = self.session.linktype
        ifname = self.session.info.name
        # collecting and writing 100k+ records takes a while: off the event loop
        self.run_worker(lambda: _export(path, records, linktype, ifname), thread=True,
                        group="export", exit_on_error=False)

    def action_toggle_counters(self) -> None:
        counters = self.counters
        counters.toggle_class("-hidden")
        self.refresh_counters()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def _dissect(rec: Record, linktype: int) -> tuple[Record, list[Node], str | None]:
    """Worker body: the protocol tree of one record (decode.detail never raises; be sure)."""
    from tapwatch import decode

    try:
        return rec, list(decode.detail(rec.data, linktype)), None
    except Exception as e:
        return rec, [], f"could not dissect: {e.__class__.__name__}: {e}"


def _ring_slice(ring: Ring, start: int, stop: int) -> Iterator[Record]:
    """Records ``start <= seq < stop`` still held, read in chunks (safe from any thread)."""
    seq = start
    while seq < stop:
        chunk = ring.range(seq, min(stop, seq + 8192))
        if chunk:
            yield from chunk
            seq = chunk[-1].seq + 1
        else:
            seq = max(seq + 8192, ring.first_seq)


def _export(path: str, records: Iterable[Record], linktype: int,
            ifname: str | None) -> tuple[bool, str]:
    """Worker body: write the records; (ok, message) for the notification."""
    from tapwatch import pcap

    try:
        n = pcap.export(path, records, linktype, ifname)
    except pcap.PcapError as e:
        return False, str(e)
    except OSError as e:
        return False, f"cannot write {path}: {e.strerror}"
    return True, f"wrote {n} packets to {path}"


def run_app(session: Session, *, title: str | None = None) -> int:
    """Run the UI until the user quits; returns the exit status for cli.py."""
    app = TapwatchApp(session, title=title, handle_signals=True)
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return int(result or 0)
