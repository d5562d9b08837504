"""The main screen: status, filter, the three linked panes, counters, key hints, and the tools.

Data flow: the session's reader and pump threads fill the ring and the
counters; this screen never receives a message per packet. One timer
(``refresh_hz``) asks the packet list to catch up with the ring, refreshes
the status bar (only when its text changed) and, twice a second, the
counters. Slow work runs in thread workers declared with ``@work`` that post
one typed message when done: dissecting the selected packet (and, when idle,
its neighbours, so walking the list finds them ready), sorting, finding,
writing a file. Their progress is read by the timer, never posted per chunk.

The layout adapts to the terminal: below 100 columns the tree and the bytes
stack under the list; the counters appear from 140 columns (they give way
first); the hex view shows 16 bytes a line from 190 columns (or when it
spans the width). Panes can be zoomed (``\\``), the list made taller or
shorter (``>`` ``<``) and the lower panes put side by side or stacked
(``|``).
"""

from __future__ import annotations

import os
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Tree

from tapwatch.analysis import Cancelled, Progress
from tapwatch.analysis.conversations import SharedIndex
from tapwatch.analysis.find import FindError, FindKind, Query, find, matcher, parse_query
from tapwatch.analysis.frame import FrameInfo, frame_node
from tapwatch.analysis.headers import transport
from tapwatch.analysis.interfaces import InterfaceTally
from tapwatch.analysis.sorting import SortColumn, key_function, positions, sort_rows
from tapwatch.analysis.timefmt import TimeFormat
from tapwatch.kinds import PEER_MODES
from tapwatch.sanitize import printable
from tapwatch.widgets import keys
from tapwatch.widgets.counters import CountersPane, InterfaceRow
from tapwatch.widgets.detail import DetailTree
from tapwatch.widgets.dialogs import (
    ConfirmScreen,
    CraftScreen,
    ExportRequest,
    ExportScreen,
    FindRequest,
    FindScreen,
    GotoScreen,
    HelpEntry,
    HelpScreen,
    HelpSection,
    SortScreen,
    action_errors,
)
from tapwatch.widgets.filter_bar import FilterBar, FilterInput
from tapwatch.widgets.hexview import HexView
from tapwatch.widgets.keyhints import KeyHints
from tapwatch.widgets.packet_list import PacketList
from tapwatch.widgets.status import StatusBar, ViewState, render_status
from tapwatch.widgets.tools import ConversationsScreen, FollowScreen

if TYPE_CHECKING:
    from tapwatch.decode import Node
    from tapwatch.filters import PacketFilter
    from tapwatch.ring import Record, Ring
    from tapwatch.session import Session

COUNTERS_EVERY = 10  # ticks between counter refreshes (0.5 s at 20 Hz)
DETAIL_CACHE = 256  # dissected packets kept
PREFETCH = (1, -1, 2, -2)  # rows around the cursor dissected ahead when idle
LIST_SHARES = (25, 35, 45, 55, 65, 75)
#: a sort that took this long is not redone by itself on a live capture
AUTO_RESORT_MAX_S = 0.5
PEER_ACTIONS = {"mode", "resend", "craft"}


class MainScreen(Screen[None]):
    """Everything one session shows; the app's default screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *keys.bindings(),
        # a key whose tool cannot act here says why instead of doing nothing
        *[
            Binding(t.key, f"unavailable({t.action!r})", t.name, show=False)
            for t in keys.TOOLS
            if t.section == keys.PEER and t.key
        ],
    ]

    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Screen declares it an instance variable)
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
        (190, "-huge"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    ALLOW_IN_MAXIMIZED_VIEW = "StatusBar, FilterBar, KeyHints"

    # ----- messages from the workers ---------------------------------------------------
    class DetailReady(Message):
        def __init__(self, seq: int, nodes: list[Node], note: str | None) -> None:
            super().__init__()
            self.seq = seq
            self.nodes = nodes
            self.note = note

    class ExportDone(Message):
        def __init__(self, ok: bool, text: str) -> None:
            super().__init__()
            self.ok = ok
            self.text = text

    class SortDone(Message):
        def __init__(
            self,
            order: array[int],
            where: tuple[int, array[int]],
            sort: tuple[SortColumn, bool],
            limit: int,
            took: float,
        ) -> None:
            super().__init__()
            self.order = order
            self.where = where
            self.sort = sort
            self.limit = limit
            self.took = took

    class FindDone(Message):
        def __init__(self, query: Query, forward: bool, seq: int | None, wrapped: bool) -> None:
            super().__init__()
            self.query = query
            self.forward = forward
            self.seq = seq
            self.wrapped = wrapped

    def __init__(
        self, session: Session, *, refresh_hz: float = 20, clock: Callable[[], int] | None = None
    ) -> None:
        super().__init__(id="main")
        self.session = session
        self.refresh_hz = refresh_hz
        self._clock = clock
        self._ticks = 0
        self._notified_gone = False
        self._notified_stop = False
        self._writable: bool | None = None
        self.time_format = TimeFormat.RELATIVE
        self.list_share = 45
        self.shared_index = SharedIndex([i.linktype for i in session.interfaces])
        self.tally = InterfaceTally(len(session.interfaces)) if session.multi_interface else None
        # the protocol tree: what the cursor is on, what is shown, what is being dissected
        self._want: int | None = None
        self._shown: int | None = -1
        self._frame_for: int | None = None
        self._inflight: int | None = None
        self._cache: OrderedDict[int, tuple[list[Node], str | None]] = OrderedDict()
        # background tools
        self._sort_progress: Progress | None = None
        self._sort_started = 0.0
        self._sort_took = 0.0
        self._sort_wanted: tuple[SortColumn, bool] | None = None
        self._find_progress: Progress | None = None
        self.last_query: Query | None = None
        self._find_kind: FindKind = "text"
        self._find_text = ""
        self._ready = False  # the panes are mounted and styled: the timer may draw
        self._shown_rows = False  # the first rows were drawn (a loading file may read on)

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # the panes are kept by reference: the timer and the tools reach them whatever
        # screen is on top, and before their containers have finished mounting
        cap = self.session.capture_filter
        self._status = StatusBar(id="status")
        self._filter_bar = FilterBar(
            self.compile_display, cap.expr if cap is not None else None, id="filterbar"
        )
        self._packets = PacketList(self.session, id="packets", classes="pane")
        self._packets.border_title = "Packets"
        self._tree = DetailTree(id="detail", classes="pane")
        self._tree.border_title = "Details"
        self._hex = HexView(id="hex", classes="pane")
        self._hex.border_title = "Bytes"
        self._counters = CountersPane(id="counters", classes="pane")
        self._counters.border_title = "Counters"
        yield self._status
        yield self._filter_bar
        with Container(id="panes"):
            yield self._packets
            with Container(id="lower"):
                yield self._tree
                with Vertical(id="side"):
                    yield self._hex
                    yield self._counters
        yield KeyHints(id="keys")

    @property
    def packet_list(self) -> PacketList:
        return self._packets

    @property
    def detail_tree(self) -> DetailTree:
        return self._tree

    @property
    def hex_view(self) -> HexView:
        return self._hex

    @property
    def counters(self) -> CountersPane:
        return self._counters

    @property
    def status_bar(self) -> StatusBar:
        return self._status

    @property
    def filter_bar(self) -> FilterBar:
        return self._filter_bar

    @property
    def filter_input(self) -> FilterInput:
        return self._filter_bar.input

    @property
    def file_mode(self) -> bool:
        """A capture file (not a live interface): clearing it loses what cannot come back."""
        return all(s.kind == "file" for s in self.session.sources)

    def on_mount(self) -> None:
        # the panes inside containers may mount after the screen: start once they have
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        packets = self.packet_list
        if self.file_mode:
            packets.follow = False  # a file opens at its first packet, like Wireshark
        if self.session.capture_filter is not None:
            packets.set_filter(self.session.capture_filter)
        self._apply_share()
        self.watch(self, "maximized", self._apply_share, init=False)
        packets.focus()
        self._ready = True
        self.tick()
        self.set_interval(1 / self.refresh_hz, self.tick, name="tapwatch-refresh")

    def on_resize(self) -> None:
        self._apply_share()

    def _apply_share(self, *_: object) -> None:
        """The list's share of the screen; all of it while zoomed (a share would leave a band)."""
        zoomed = self.maximized is self.packet_list
        self.packet_list.styles.height = "1fr" if zoomed else f"{self.list_share}%"

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
        if not self._ready:
            return
        self._ticks += 1
        session = self.session
        packets = self.packet_list
        packets.sync()
        if packets.rows and not self._shown_rows:
            self._shown_rows = True
            # drawn on the next frame: a file's loader may read on at full speed now
            self.call_after_refresh(session.first_screen_shown)
        now = self.now_ns()
        st = session.status(now)
        scanning = None
        if packets.scanning:
            scanning = packets.scan_done / packets.scan_total if packets.scan_total else 0.0
        view = ViewState(
            paused=packets.paused,
            new_while_paused=packets.new_while_paused,
            shown=packets.rows,
            display_filter=self.filter_bar.applied,
            scanning=min(scanning, 0.99) if scanning is not None else None,
            pps=st.pps,
            title="tapwatch",
            busy=self._busy_text(),
        )
        bar = self.status_bar
        bar.show(render_status(session, st, view, bar.size.width or None, bar.styles_for_render()))
        packets.border_subtitle = self._list_subtitle(packets)
        if self.tally is not None:
            self.tally.update(session.ring)
        if self._ticks % COUNTERS_EVERY == 1 or COUNTERS_EVERY <= 1:
            self.refresh_counters(now)
        self._maybe_resort(packets)
        writable = session.write_problem("x") is None
        if writable != self._writable:
            self._writable = writable
            self.refresh_bindings()
        if st.device_state == "gone" and not self._notified_gone:
            self._notified_gone = True
            self.notify(
                f"{printable(session.info.name)} is gone: what was captured stays here to "
                "browse and export",
                title="device disappeared",
                severity="warning",
                timeout=10,
                markup=False,
            )
        elif (
            session.stop_reason
            and not self._notified_stop
            and st.device_state != "gone"
            and not self.file_mode
        ):
            self._notified_stop = True
            self.notify(
                f"capture stopped: {printable(session.stop_reason)}",
                severity="warning",
                markup=False,
            )

    def _busy_text(self) -> str | None:
        for what, progress in (("sorting", self._sort_progress), ("finding", self._find_progress)):
            if progress is not None:
                return f"{what} {progress.fraction * 100:.0f}%"
        return None

    def _list_subtitle(self, packets: PacketList) -> str:
        parts = []
        if packets.filtered:
            parts.append(f"{packets.rows:,} shown")
        if packets.sort is not None:
            col, desc = packets.sort
            parts.append(f"sorted by {col.value} {'▼' if desc else '▲'}")
            if packets.unsorted_tail:
                parts.append(f"+{packets.unsorted_tail:,} newer below")
        if packets.marks:
            parts.append(f"{len(packets.marks):,} marked")
        if self.time_format is not TimeFormat.RELATIVE:
            parts.append(f"time: {self.time_format.value}")
        if packets.paused:
            parts.append("paused")
        elif not packets.follow and packets.rows and not packets.sorted and not self.file_mode:
            parts.append("End: follow")
        return " · ".join(parts)

    def refresh_counters(self, now: int | None = None) -> None:
        counters = self.counters
        if not counters.display:
            return
        rows = self.session.stats.rows(self.now_ns() if now is None else now)
        ifaces: list[InterfaceRow] = []
        if self.tally is not None:
            drops = {}
            for s in self.session.sources:
                d = s.kernel_drops()
                for i in s.interfaces:
                    drops[i.index] = d if len(s.interfaces) == 1 else None
            for iface, c in zip(self.session.interfaces, self.tally.counts, strict=False):
                ifaces.append(
                    InterfaceRow(
                        iface.name, iface.kind, c.packets, c.bytes, c.pps, drops.get(iface.index)
                    )
                )
        counters.show(rows, ifaces)

    # ----- detail and hex ----------------------------------------------------------------------
    @on(PacketList.CursorMoved)
    def _cursor_moved(self, event: PacketList.CursorMoved) -> None:
        self._want = event.seq
        self._update_detail()

    @property
    def detail_pending(self) -> bool:
        """True while the tree/hex panes have not caught up with the cursor yet."""
        return self._want != self._shown

    def _frame_info(self, rec: Record) -> FrameInfo:
        session = self.session
        iface = (
            session.interfaces[rec.iface] if rec.iface < len(session.interfaces) else session.info
        )
        packets = self.packet_list
        prev_ns = None
        if packets.rows:
            prev = packets.seq_at(packets.index_of(rec.seq) - 1)
            prev_rec = session.ring.get(prev) if prev is not None and prev != rec.seq else None
            prev_ns = prev_rec.ts_ns if prev_rec is not None else None
        wire = getattr(session, "wire_length", None)
        comment = getattr(session, "comment", None)
        return FrameInfo(
            iface.name,
            iface.kind,
            iface.linktype,
            packets.first_ns if packets.first_ns is not None else rec.ts_ns,
            prev_ns,
            self.time_format,
            wire(rec) if callable(wire) else None,
            comment(rec) if callable(comment) else None,
        )

    def _update_detail(self) -> None:
        """Show the packet under the cursor: at once from the cache, else dissect it."""
        seq = self._want
        tree, hexv = self.detail_tree, self.hex_view
        if seq is None:
            self._shown = self._frame_for = None
            tree.show_nodes(None, [])
            tree.border_title = "Details"
            hexv.show(b"")
            return
        rec = self.session.ring.get(seq)
        if rec is None:
            self._shown = self._frame_for = seq
            tree.show_nodes(seq, [], note=f"packet {seq} was evicted from the ring")
            hexv.show(b"")
            return
        frame = frame_node(rec, self._frame_info(rec))
        cached = self._cache.get(seq)
        if seq != self._frame_for:
            hexv.show(rec.data)
            self._frame_for = seq
        tree.border_title = f"Details · packet {seq}"
        if cached is not None:
            self._cache.move_to_end(seq)
            nodes, note = cached
            tree.show_nodes(seq, nodes, note=note, frame=frame)
            self._shown = seq
            self._prefetch()
            return
        if not (tree.seq == seq and tree.pending):
            tree.show_nodes(seq, [], frame=frame, pending=True)
        if self._inflight is None:
            self._start_dissect(rec)

    def _start_dissect(self, rec: Record) -> None:
        self._inflight = rec.seq
        view = self.session.tunnel_view
        inner = self.session.inner_frames(rec)
        frames = [(f, view.linktype_of(f)) for f in inner] if inner and view else []
        self._dissect(rec, self.session.linktype_of(rec), frames)

    @work(thread=True, group="dissect", exit_on_error=False)
    def _dissect(self, rec: Record, linktype: int, frames: list[tuple[bytes, int]]) -> None:
        """Dissect one record off the event loop (scapy: ms, 1 s on first use).

        ``frames``: what a tunnel segment carries (reassembled across segments):
        each is dissected too and shown as a layer after the segment's own.
        """
        from tapwatch import decode

        try:
            nodes, note = list(decode.detail(rec.data, linktype)), None
            for n, (frame, lt) in enumerate(frames, 1):
                # reassembled bytes lie in no one place of this segment: no byte spans
                inner = [_without_spans(node) for node in decode.detail(frame, lt)]
                nodes.append(
                    decode.Node(
                        f"Tunnel frame {n} of {len(frames)} ({len(frame)} bytes, reassembled)",
                        0,
                        0,
                        inner,
                    )
                )
        except Exception as e:  # decode.detail never raises; be sure
            nodes, note = [], f"could not dissect: {e.__class__.__name__}: {e}"
        self.post_message(self.DetailReady(rec.seq, nodes, note))

    def on_main_screen_detail_ready(self, message: MainScreen.DetailReady) -> None:
        self._inflight = None
        self._cache[message.seq] = (message.nodes, message.note)
        while len(self._cache) > DETAIL_CACHE:
            self._cache.popitem(last=False)
        if message.seq == self._want or self._want not in self._cache:
            self._update_detail()
        else:
            self._prefetch()

    def _prefetch(self) -> None:
        """When idle, dissect the rows around the cursor so walking the list finds them ready."""
        if self._inflight is not None or self._want is None:
            return
        packets = self.packet_list
        if not packets.rows:
            return
        index = packets.index_of(self._want)
        for step in PREFETCH:
            seq = packets.seq_at(index + step)
            if seq is None or seq in self._cache:
                continue
            rec = self.session.ring.get(seq)
            if rec is not None:
                self._start_dissect(rec)
                return

    @on(Tree.NodeHighlighted, "#detail")
    def _node_highlighted(self, event: Tree.NodeHighlighted[Node | None]) -> None:
        node = event.node.data
        if node is not None:
            self.hex_view.highlight(node.start, node.end)

    # ----- display filter ------------------------------------------------------------------
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

    def action_filter(self) -> None:
        """Open the filter input (with the applied expression) for editing."""
        self.filter_bar.edit()

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self._show_filter(event.expr, event.compiled)

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.packet_list.focus()

    def apply_filter(self, expr: str, compiled: PacketFilter | None = None) -> None:
        """Show only what ``expr`` matches (with the capture filter); empty shows everything."""
        if compiled is None and (expr or self.session.capture_filter is not None):
            compiled = self.compile_display(expr)
        self.filter_bar.set_applied(expr)
        self._show_filter(expr, compiled)

    def _show_filter(self, expr: str, compiled: PacketFilter | None) -> None:
        packets = self.packet_list
        sort = packets.sort
        packets.set_filter(compiled)
        if sort is not None:
            self._sort_wanted = sort  # sorted again once the filter has gone through the ring
        self.tick()

    def action_clear_filter(self) -> None:
        self.apply_filter("")

    # ----- peer actions ---------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Peer keys exist only where there is a device to write into."""
        if action in PEER_ACTIONS:
            return self.session.write_problem("x") is None
        if action == "unavailable":
            tool = keys.tool_for(str(parameters[0]) if parameters else "")
            return tool is not None and self.check_action(tool.action.split("(")[0], ()) is False
        return True

    def action_unavailable(self, action: str) -> None:
        what = {
            "mode('echo')": "echo",
            "mode('reply')": "reply",
            "mode('drop')": "drop mode",
            "resend": "resending",
            "craft": "injecting",
        }.get(action, action)
        problem = self.session.write_problem(what) or f"{what} is not available here"
        self.notify(printable(problem), severity="error", markup=False)

    def action_pause(self) -> None:
        packets = self.packet_list
        packets.set_paused(not packets.paused)
        self.tick()

    def action_clear(self) -> None:
        if not self.file_mode:
            self._clear()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._clear()

        self.app.push_screen(
            ConfirmScreen(
                "Clear every packet held? This is a file: they come back only by opening it again.",
                "Clear",
                "Keep them",
            ),
            answered,
        )

    def _clear(self) -> None:
        self.session.clear()
        self.packet_list.reset()
        self._want = None
        self._shown = None
        self._frame_for = None
        self._cache.clear()
        self.detail_tree.show_nodes(None, [])
        self.detail_tree.border_title = "Details"
        self.hex_view.show(b"")
        self.tick()
        self.refresh_counters()
        self.notify("cleared: the ring is empty, capture goes on")

    def action_mode(self, mode: str) -> None:
        if mode not in PEER_MODES:  # bindings name the mode as a string
            return
        try:
            self.session.set_mode(mode)
        except action_errors() as e:
            self.notify(str(e), title=f"cannot switch to {mode}", severity="error", markup=False)
            return
        what = {
            "drop": "drop: tapwatch stays silent",
            "echo": "echo: every frame the host sends is written back; echoed requests come "
            "back as requests, so the host drops them and ping sees no reply",
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

        self.app.push_screen(CraftScreen(self.session), sent)

    # ----- writing -------------------------------------------------------------------------
    def action_export(self) -> None:
        packets = self.packet_list
        packets.sync()
        name = time.strftime("tapwatch-%Y%m%d-%H%M%S.pcapng", time.localtime())
        default = os.path.join(os.getcwd(), name)
        marked = sum(1 for s in packets.marks if self.session.ring.get(s) is not None)
        screen = ExportScreen(
            default, len(self.session.ring), packets.rows, packets.filtered, marked
        )
        self.app.push_screen(screen, self._export)

    def _export(self, request: ExportRequest | None) -> None:
        if request is None:
            return
        path = os.path.abspath(os.path.expanduser(request.path))
        ring = self.session.ring
        records: Iterable[Record]
        if request.what == "shown":
            seqs = list(self.packet_list.arrival_rows())
            records = (r for r in map(ring.get, seqs) if r is not None)
        elif request.what == "marked":
            seqs = sorted(self.packet_list.marks)
            records = (r for r in map(ring.get, seqs) if r is not None)
        else:
            records = _ring_slice(ring, ring.first_seq, ring.next_seq)
        # every interface keeps its number, link type and name (pcapng: one block each;
        # classic pcap refuses mixed link types with a message that says to use pcapng)
        interfaces = [(i.linktype, printable(i.name)) for i in self.session.interfaces]
        self._write(path, records, interfaces)

    @work(thread=True, group="export", exit_on_error=False)
    def _write(
        self, path: str, records: Iterable[Record], interfaces: list[tuple[int, str]]
    ) -> None:
        """Collecting and writing 100k+ records takes a while: off the event loop."""
        from tapwatch import pcap

        (linktype, ifname), *more = interfaces
        try:
            n = pcap.export(path, records, linktype, ifname, interfaces=more)
        except pcap.PcapError as e:
            self.post_message(self.ExportDone(False, str(e)))
        except OSError as e:
            self.post_message(self.ExportDone(False, f"cannot write {path}: {e.strerror}"))
        else:
            self.post_message(self.ExportDone(True, f"wrote {n} packets to {path}"))

    def on_main_screen_export_done(self, message: MainScreen.ExportDone) -> None:
        self.notify(
            message.text,
            severity="information" if message.ok else "error",
            title="export" if message.ok else "export failed",
            markup=False,
        )

    # ----- going to packets, marks ----------------------------------------------------------
    def action_goto(self) -> None:
        ring = self.session.ring
        if not len(ring):
            self.notify("no packets held yet", severity="warning")
            return
        self.app.push_screen(GotoScreen(ring.first_seq, ring.next_seq - 1), self.go_to)

    def go_to(self, seq: int | None) -> None:
        if seq is None:
            return
        ring = self.session.ring
        packets = self.packet_list
        if packets.go_to_seq(seq):
            packets.focus()
            return
        if seq < ring.first_seq:
            why = (
                f"packet {seq:,} is no longer held (the ring holds {ring.first_seq:,} to "
                f"{ring.next_seq - 1:,})"
            )
        elif seq >= ring.next_seq:
            why = f"there is no packet {seq:,} yet (the newest is {ring.next_seq - 1:,})"
        else:
            why = f"packet {seq:,} is hidden by the display filter"
        self.notify(why, severity="warning", markup=False)

    def action_toggle_mark(self) -> None:
        seq = self.packet_list.cursor_seq
        if seq is None:
            return
        self.packet_list.toggle_mark(seq)
        self.tick()

    def action_clear_marks(self) -> None:
        self.packet_list.marks.clear()
        self.packet_list.redraw()
        self.tick()

    def _step_mark(self, forward: bool) -> None:
        packets = self.packet_list
        rows = sorted(packets.index_of(s) for s in packets.marks if packets.contains(s))
        if not rows:
            self.notify("no marked packet is shown (m marks the selected one)", severity="warning")
            return
        here = packets.cursor_index if packets.cursor_index is not None else -1
        if forward:
            target = next((r for r in rows if r > here), rows[0])
        else:
            target = next((r for r in reversed(rows) if r < here), rows[-1])
        packets.move_cursor(target)

    def action_next_mark(self) -> None:
        self._step_mark(True)

    def action_previous_mark(self) -> None:
        self._step_mark(False)

    # ----- time ------------------------------------------------------------------------------
    def action_cycle_time(self) -> None:
        self.set_time_format(self.time_format.next())

    def action_time_format(self, name: str) -> None:
        self.set_time_format(TimeFormat(name))

    def set_time_format(self, fmt: TimeFormat) -> None:
        self.time_format = fmt
        self.packet_list.set_time_format(fmt)
        self._frame_for = None
        self._update_detail()
        self.tick()
        self.notify(f"time: {fmt.description}", title="time format", timeout=3)

    # ----- find ------------------------------------------------------------------------------
    def action_find(self, kind: str = "") -> None:
        start: FindKind = kind if kind in ("text", "hex", "filter") else self._find_kind  # type: ignore[assignment]
        self.app.push_screen(
            FindScreen(start, self._find_text if start == self._find_kind else ""),
            self._find_requested,
        )

    def _find_requested(self, request: FindRequest | None) -> None:
        if request is None:
            return
        self._find_kind, self._find_text = request.kind, request.text
        try:
            query = parse_query(
                request.kind, request.text, [i.linktype for i in self.session.interfaces]
            )
        except FindError as e:
            self.notify(str(e), severity="error", title="find", markup=False)
            return
        self.last_query = query
        self.start_find(query, request.forward)

    def action_find_next(self) -> None:
        if self.last_query is None:
            self.action_find()
            return
        self.start_find(self.last_query, True)

    def action_find_previous(self) -> None:
        if self.last_query is None:
            self.action_find()
            return
        self.start_find(self.last_query, False)

    def start_find(self, query: Query, forward: bool) -> None:
        packets = self.packet_list
        packets.sync()
        rows = packets.display_rows()
        here = packets.cursor_index
        start = here if here is not None else (-1 if forward else len(rows))
        if self._find_progress is not None:
            self._find_progress.cancel()
        self._find_progress = Progress(len(rows))
        self._find(query, forward, rows, start, self._find_progress)

    @work(thread=True, exclusive=True, group="find", exit_on_error=False)
    def _find(
        self, query: Query, forward: bool, rows: array[int] | range, start: int, progress: Progress
    ) -> None:
        from tapwatch import decode

        lts = [i.linktype for i in self.session.interfaces]

        def summary(_seq: int, data: bytes, iface: int) -> str:
            s = decode.summarize(data, lts[iface])
            return f"{s.text} {s.info}"

        try:
            found = find(
                rows, start, forward, self.session.ring, matcher(query, lts, summary), progress
            )
        except Cancelled:
            return
        seq = rows[found[0]] if found is not None else None
        self.post_message(self.FindDone(query, forward, seq, bool(found and found[1])))

    def on_main_screen_find_done(self, message: MainScreen.FindDone) -> None:
        self._find_progress = None
        if message.seq is None:
            self.notify(
                f"no packet matches {message.query.describe()}",
                severity="warning",
                title="find",
                markup=False,
            )
            return
        self.packet_list.go_to_seq(message.seq)
        if message.wrapped:
            self.notify(
                "wrapped around to the " + ("start" if message.forward else "end"),
                title="find",
                timeout=2,
            )

    # ----- sort ------------------------------------------------------------------------------
    def sort_columns(self) -> list[SortColumn]:
        cols = list(SortColumn)
        if not self.session.multi_interface:
            cols.remove(SortColumn.INTERFACE)
        return cols

    def action_sort(self) -> None:
        self.app.push_screen(
            SortScreen(self.sort_columns(), self.packet_list.sort), self._sort_chosen
        )

    def action_sort_by(self, column: str) -> None:
        col = SortColumn(column)
        current = self.packet_list.sort
        desc = current is not None and current[0] is col and not current[1]
        self.sort_by(col, desc)

    def _sort_chosen(self, choice: tuple[SortColumn, bool] | None) -> None:
        if choice is not None:
            self.sort_by(*choice)

    @on(PacketList.HeaderClicked)
    def _header_clicked(self, event: PacketList.HeaderClicked) -> None:
        current = self.packet_list.sort
        if current is not None and current[0] is event.column:
            if current[1]:
                self.action_unsort()  # third click: back to arrival order
                return
            self.sort_by(event.column, True)
        elif event.column is SortColumn.NUMBER:
            self.action_unsort()
        else:
            self.sort_by(event.column, False)

    def action_unsort(self) -> None:
        self._sort_wanted = None
        if self._sort_progress is not None:
            self._sort_progress.cancel()
            self._sort_progress = None
        self.packet_list.set_order(None, None)
        self.tick()

    def sort_by(self, column: SortColumn, descending: bool = False) -> None:
        if column is SortColumn.NUMBER and not descending:
            self.action_unsort()
            return
        packets = self.packet_list
        packets.sync()
        if packets.scanning:
            self._sort_wanted = (column, descending)  # once the filter is through
            return
        self._sort_wanted = None
        rows = packets.arrival_rows()
        limit = self.session.ring.next_seq if not packets.paused else packets.ring.next_seq
        if self._sort_progress is not None:
            self._sort_progress.cancel()
        self._sort_progress = Progress(len(rows))
        self._sort_started = time.monotonic()
        self._sort(rows, column, descending, limit, self._sort_progress)

    @work(thread=True, exclusive=True, group="sort", exit_on_error=False)
    def _sort(
        self,
        rows: array[int] | range,
        column: SortColumn,
        descending: bool,
        limit: int,
        progress: Progress,
    ) -> None:
        from tapwatch import decode

        lts = [i.linktype for i in self.session.interfaces]
        names = [i.name for i in self.session.interfaces]
        key = key_function(column, lambda r: decode.summarize(r.data, lts[r.iface]), names)
        started = time.monotonic()
        try:
            order = sort_rows(
                rows, self.session.ring, key, descending=descending, progress=progress
            )
        except Cancelled:
            return
        last = rows[-1] + 1 if len(rows) else limit
        self.post_message(
            self.SortDone(
                order,
                positions(order),
                (column, descending),
                max(last, 0),
                time.monotonic() - started,
            )
        )

    def on_main_screen_sort_done(self, message: MainScreen.SortDone) -> None:
        self._sort_progress = None
        self._sort_took = message.took
        self.packet_list.set_order(message.order, message.sort, message.limit, message.where)
        self.tick()

    def _maybe_resort(self, packets: PacketList) -> None:
        """Sort again what a live capture added, when sorting is quick enough to repeat."""
        if self._sort_wanted is not None and not packets.scanning and self._sort_progress is None:
            self.sort_by(*self._sort_wanted)
            return
        if packets.sort is None or self._sort_progress is not None:
            return
        if not packets.unsorted_tail or self._sort_took > AUTO_RESORT_MAX_S:
            return
        if time.monotonic() - self._sort_started < max(1.0, 4 * self._sort_took):
            return
        self.sort_by(*packets.sort)

    # ----- analysis tools -------------------------------------------------------------------
    def action_follow(self) -> None:
        rec = self.packet_list.selected_record()
        if rec is None:
            self.notify("select a TCP or UDP packet first", severity="warning")
            return
        linktype = self.session.linktype_of(rec)
        t = transport(rec.data, linktype)
        if t is None or not (t.sport or t.dport):
            self.notify(
                "the selected packet is not TCP or UDP: nothing to follow", severity="warning"
            )
            return
        self.app.push_screen(
            FollowScreen(
                self.shared_index,
                self.session.ring,
                [i.linktype for i in self.session.interfaces],
                rec.data,
                linktype,
            ),
            self._tool_filter,
        )

    def action_filter_stream(self) -> None:
        rec = self.packet_list.selected_record()
        t = transport(rec.data, self.session.linktype_of(rec)) if rec is not None else None
        if rec is None or t is None or not (t.sport or t.dport):
            self.notify("select a TCP or UDP packet first", severity="warning")
            return
        from tapwatch.analysis.conversations import Conversation

        conv = Conversation(t.proto, t.src, t.dst, t.sport, t.dport)
        self._tool_filter(conv.filter_expr())

    def action_conversations(self) -> None:
        self._open_conversations("flows")

    def action_endpoints(self) -> None:
        self._open_conversations("endpoints")

    def _open_conversations(self, start: str) -> None:
        first = self.packet_list.first_ns or 0
        self.app.push_screen(
            ConversationsScreen(
                self.shared_index, self.session.ring, first, live=self.session.live, start=start
            ),
            self._tool_filter,
        )

    def _tool_filter(self, expr: str | None) -> None:
        """A tool asked to see its subject in the list: apply it as the display filter."""
        if not expr:
            return
        self.apply_filter(expr)
        self.packet_list.focus()
        self.notify(f"filter: {expr}", title="display filter", timeout=4, markup=False)

    # ----- layout ----------------------------------------------------------------------------
    def action_toggle_counters(self) -> None:
        counters = self.counters
        shown = counters.display
        self.set_class(shown, "-counters-off")
        self.set_class(not shown, "-counters-on")
        self.refresh_counters()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        pane = (
            focused
            if isinstance(focused, (PacketList, DetailTree, HexView, CountersPane))
            else self.packet_list
        )
        self.maximize(pane, container=False)

    def action_toggle_layout(self) -> None:
        lower = self.query_one("#lower")
        stacked = lower.styles.layout is not None and lower.styles.layout.name == "vertical"
        self.set_class(not stacked, "-stacked")
        self.set_class(stacked, "-side-by-side")

    def action_resize(self, step: int) -> None:
        shares = LIST_SHARES
        at = min(range(len(shares)), key=lambda i: abs(shares[i] - self.list_share))
        self.list_share = shares[max(0, min(len(shares) - 1, at + step))]
        self._apply_share()

    # ----- help ------------------------------------------------------------------------------
    def action_quit(self) -> None:
        self.app.exit(0)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[HelpSection]:
        """Every key and palette command, from the bindings and the tool table themselves."""
        app = self.app

        def shown(key: str) -> str:
            return " ".join(app.get_key_display(Binding(k.strip(), "")) for k in key.split(","))

        sections: list[HelpSection] = []
        by_section: dict[str, list[HelpEntry]] = {}
        for tool in keys.TOOLS:
            if tool.key is None:
                continue
            available = self.check_action(tool.action.split("(")[0], ()) is not False
            key = tool.key_display or shown(tool.key)
            by_section.setdefault(tool.section, []).append(
                HelpEntry(key, f"{tool.name}: {tool.help}", available)
            )
        for title, entries in by_section.items():
            sections.append(HelpSection(title, tuple(entries)))
        for title, widget in (
            ("In the packet list", PacketList),
            ("In the protocol tree", DetailTree),
            ("In the filter", FilterInput),
        ):
            entries = []
            for b in _bindings_of(widget):
                entries.append(HelpEntry(shown(b.key), b.tooltip or b.description))
            if widget is DetailTree:
                entries.append(HelpEntry("click", "select a field: its bytes light up"))
            sections.append(HelpSection(title, tuple(entries)))
        sections.append(
            HelpSection(
                "Everywhere",
                (
                    HelpEntry("Tab Shift+Tab", "next / previous pane"),
                    HelpEntry(
                        shown(app.COMMAND_PALETTE_BINDING),
                        "command palette: every tool below by its name",
                    ),
                    HelpEntry(
                        "mouse",
                        "click a packet, a column header (sorts), a tree node; the wheel scrolls",
                    ),
                ),
            )
        )
        palette = [HelpEntry(t.name, t.help) for t in keys.TOOLS]
        palette += [HelpEntry(name, help_) for name, help_, _ in keys.PALETTE_ONLY]
        sections.append(HelpSection("Command palette (Ctrl+P) commands", tuple(palette)))
        return sections

    def palette_commands(self) -> Iterator[tuple[str, str, str]]:
        """(name, help, action) of every palette command that can act now."""
        for tool in keys.TOOLS:
            if self.check_action(tool.action.split("(")[0], ()) is False:
                continue
            yield tool.name, tool.help, tool.action
        yield from keys.PALETTE_ONLY


def _bindings_of(widget: type[Widget]) -> list[Binding]:
    out = []
    for b in getattr(widget, "BINDINGS", []):
        if isinstance(b, Binding):
            out.append(b)
        elif isinstance(b, tuple):
            out.append(Binding(*b))
    return out


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


def _without_spans(node: Node) -> Node:
    """A tree node (and its children) that highlights no bytes of the packet shown."""
    return type(node)(node.label, 0, 0, [_without_spans(c) for c in node.children])
