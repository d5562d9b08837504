"""What every tool of the main screen reaches: the session, panes, message line, refresh.

Data flow: the session's reader and pump threads fill the ring and the
counters; the screen never receives a message per packet. One timer
(``refresh_hz``) runs :meth:`ScreenBase.tick`, which only catches up with
the ring: the packet list takes the new rows, the status bar the new counts
(redrawn only when its text changed), the counters twice a second. UI state
(paused, following, the time format, the layout, what is shown) lives in
reactives whose watchers act when it changes, never in the tick.

Slow work runs in thread workers declared with ``@work`` in the tools; a
worker that reports progress registers it in :attr:`ScreenBase.busy` and the
tick shows it in the status bar ("sorting 40%"), never a message per chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from tapwatch.analysis.interfaces import InterfaceTally
from tapwatch.heap import HeapFreezer, RestingCollector
from tapwatch.sanitize import printable
from tapwatch.widgets.compositor import FITS, LeanCompositor
from tapwatch.widgets.counters import CountersPane, InterfaceRow
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.filter_bar import FilterBar
from tapwatch.widgets.keyhints import KeyHints
from tapwatch.widgets.packet_list import PacketList
from tapwatch.widgets.status import StatusBar, ViewState, render_status

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tapwatch.analysis import Progress
    from tapwatch.filtercheck import FilterRequest
    from tapwatch.filters import PacketFilter
    from tapwatch.session import Session, Status

#: ticks between counter refreshes (0.5 s at 20 Hz)
COUNTERS_EVERY = 10
REST_S = 0.15  # the cursor has not moved for this long: garbage may be collected


class ScreenBase(ReportsWorkerFailures, Screen[None]):
    """The session, the panes every tool shares, and the refresh that catches up with the ring."""

    def __init__(
        self, session: Session, *, refresh_hz: float = 20, clock: Callable[[], int] | None = None
    ) -> None:
        super().__init__(id="main")
        if FITS:  # a cursor move composes the lines that show, not every widget's every line
            self._compositor = LeanCompositor()
        self.session = session
        #: -Y's filter (Wireshark's language), applied once the panes are up
        self.initial_filter = ""
        self.refresh_hz = refresh_hz
        self._clock = clock
        self._ticks = 0
        self.heap = HeapFreezer()  # keeps full garbage collections off the keys' path
        self.collector = RestingCollector()  # ... and the young ones too
        self.file_loading = False  # a capture file is still being read into the ring
        self._ready = False  # the panes are mounted and styled: the timer may draw
        self._shown_rows = False  # the first rows were drawn (a loading file may read on)
        self._notified_gone = False
        self._notified_stop = False
        self._writable: bool | None = None
        #: background work in progress, by what the status bar calls it ("sorting")
        self.busy: dict[str, Progress] = {}
        self.tally = InterfaceTally(len(session.interfaces)) if session.multi_interface else None
        # the panes are kept by reference: the timer and the tools reach them whatever
        # screen is on top, and before their containers have finished mounting
        self.status_bar = StatusBar(id="status")
        cap = session.capture_filter
        self.filter_bar = FilterBar(
            self.compile_display,
            self.filter_request,
            cap.expr if cap is not None else None,
            id="filterbar",
        )
        self.packet_list = PacketList(session, id="packets", classes="pane")
        self.packet_list.border_title = "Packets"
        self.counters = CountersPane(id="counters", classes="pane")
        self.counters.border_title = "Counters"
        self.key_hints = KeyHints(id="keys")

    @property
    def file_mode(self) -> bool:
        """A capture file (not a live interface): clearing it loses what cannot come back."""
        return all(s.kind == "file" for s in self.session.sources)

    def compile_display(self, expr: str) -> PacketFilter | None:
        """What the filter bar's text selects (the display filter tool says how)."""
        raise NotImplementedError

    def filter_request(self, expr: str) -> FilterRequest:
        """What compiling the filter bar's text takes (the display filter tool says)."""
        raise NotImplementedError

    def analysis_grew(self) -> None:
        """The TCP analysis has looked at more packets: what rows show may have changed (the
        sort tool sorts again by Info, which follows the words the rows show)."""

    def open_tool(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None) -> None:
        """Push a tool's screen or dialog, unless Esc was typed after the key that opens it.

        That Esc was read before the key was acted on: it went to this screen, where it does
        nothing, and the tool would have stayed open (the app tells, ``left_since_key``)."""
        left = getattr(self.app, "left_since_key", None)
        if left is not None and left():
            return
        self.app.push_screen(screen, callback)

    def say(
        self, text: str, severity: SeverityLevel = "information", *, timeout: float = 4
    ) -> None:
        """A short message on the key hints line, replacing the one before (never a toast:
        a key pressed ten times must not stack ten messages over the panes)."""
        self.key_hints.say(printable(text), severity, timeout)

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
        """Catch up with the session: new rows, the status counts, counters, one-time notices."""
        self.collector.tick(time.monotonic() - getattr(self, "_moved_at", 0.0) < REST_S)
        if not self._ready:
            return
        self._ticks += 1
        session = self.session
        packets = self.packet_list
        packets.sync()
        self.heap.grown(session.ring.next_seq - 1)
        if (packets.rows or session.ring.next_seq > 1) and not self._shown_rows:
            self._shown_rows = True
            # drawn on the next frame: a file's loader may read on at full speed now
            self.call_after_refresh(session.first_screen_shown)
        now = self.now_ns()
        st = session.status(now)
        load = st.loading
        self.file_loading = load is not None and not load.done and not load.follows_pipe
        if self.file_loading:
            self.while_loading()
        self._show_status(st, now)
        if session.multi_interface and (
            self.tally is None or len(self.tally.counts) < len(session.interfaces)
        ):  # interfaces numbered while capture runs (-i any: one made later)
            self.tally = InterfaceTally(len(session.interfaces))
        if self.tally is not None:
            self.tally.update(session.ring)
        if self._ticks % COUNTERS_EVERY == 1 or COUNTERS_EVERY <= 1:
            self.refresh_counters(now)
        writable = session.write_problem("x") is None
        if writable != self._writable:
            self._writable = writable
            self.refresh_bindings()
        self._notices(st.device_state)

    def on_mount(self) -> None:
        self.collector.start()

    def on_unmount(self) -> None:
        self.collector.stop()
        self.heap.thaw()

    def while_loading(self) -> None:
        """Called on each tick while a capture file loads (the tools start their indexes)."""

    def _show_status(self, st: Status, now: int) -> None:
        packets = self.packet_list
        scanning = None
        if packets.scanning:
            scanning = packets.scan_done / packets.scan_total if packets.scan_total else 0.0
        busy = next((f"{what} {p.fraction * 100:.0f}%" for what, p in self.busy.items()), None)
        view = ViewState(
            paused=packets.paused,
            new_while_paused=packets.new_while_paused,
            shown=packets.rows,
            display_filter=self.filter_bar.applied,
            scanning=min(scanning, 0.99) if scanning is not None else None,
            pps=st.pps,
            title="tapwatch",
            busy=busy,
        )
        bar = self.status_bar
        bar.show(render_status(st, view, bar.size.width or None, bar.styles_for_render()))

    def _notices(self, device_state: str | None) -> None:
        session = self.session
        if device_state == "gone" and not self._notified_gone:
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
            and device_state != "gone"
            and not self.file_mode
        ):
            self._notified_stop = True
            self.notify(
                f"capture stopped: {printable(session.stop_reason)}",
                severity="warning",
                markup=False,
            )

    def refresh_counters(self, now: int | None = None) -> None:
        """The counters pane's figures, now (it is refreshed twice a second while shown)."""
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
