"""The live packet list: a Line-API view over the ring that formats only visible rows.

Textual's DataTable does O(n) work per added row and measures every row, which
cannot keep up with a live capture of 100k+ packets. This widget instead owns
no rows at all: its virtual height is the number of packets currently shown,
``render_line(y)`` maps a screen line to a ring sequence number, fetches that
one record and formats it (toolong's ``LogLines`` is the model). Rendered rows
are kept in a small LRU keyed by ``(seq, width, state)`` so scrolling and the
periodic refresh cost nothing for rows already drawn.

The screen calls :meth:`PacketList.sync` on a timer (10-20 Hz). ``sync`` looks
at the ring's bounds, extends the list of matching seqs when a display filter
is active (running the compiled filter over the new records only, in
time-boxed chunks so rebuilding over a full ring never freezes the UI), drops
what the ring evicted off the top and keeps the cursor where the user left it
- or at the end while following.

Rows can be sorted by a column: the order is computed in a worker over a
snapshot of the rows (``set_order``); packets that arrive afterwards show
below the sorted ones in arrival order until the next sort. Columns grow with
the width: the addresses take what the longest address seen needs (a full
IPv6 address on a wide screen), Info takes the rest and ends with an ellipsis
when it is cut. With several interfaces an interface column appears.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tapwatch.analysis.sorting import SortColumn
from tapwatch.analysis.sorting import positions as sorting_positions
from tapwatch.analysis.timefmt import WIDTHS, TimeFormat, format_time
from tapwatch.kinds import DIRECTION_ARROWS, Direction
from tapwatch.linktypes import LINKTYPE_NETLINK
from tapwatch.ring import Record
from tapwatch.sanitize import printable
from tapwatch.tunnelview import describe
from tapwatch.widgets.theme import PROTO_CLASS_NAMES, proto_class

if TYPE_CHECKING:
    from tapwatch.decode import Summary
    from tapwatch.filters import PacketFilter
    from tapwatch.session import Session

FILTER_CHUNK = 4096
#: Newest rows of a live list put in time order at each sync (records reach the ring in
#: arrival order: a tunnel end's inner packet before the outer one the kernel stamped first)
TIME_ORDER_ROWS = 256
#: Longest the filter may run per sync before yielding back to the event loop.
FILTER_BUDGET_S = 0.025
#: The number column's mark of a linked packet (``analysis.links``): carried by an outer
#: packet, carrying an inner one, both (a tunnel inside a tunnel)
LINK_MARKS = ("", "⊂", "⊃", "⊃")

#: Widest an address column grows (a full IPv6 address), narrowest it shrinks.
ADDR_MAX = 39
ADDR_MIN = 12
#: a MAC address (ARP rows): the addresses get this much before Info's third is weighed
ADDR_MAC = 17
DIR_WIDTH = 5
#: Info's share before the addresses grow past ADDR_MIN ("Echo (ping) request id…")
INFO_FIRST = 22


class _WithEvents:
    """A display filter that lets interface events through (or hides them all)."""

    def __init__(self, inner: PacketFilter | None, hidden: bool) -> None:
        self.inner = inner
        self.hidden = hidden
        record = getattr(inner, "match_record", None)
        if record is not None:
            self.match_record = self._match_record

    def match(self, data: bytes, linktype: int) -> bool:
        if linktype == LINKTYPE_NETLINK:
            return not self.hidden
        return self.inner is None or self.inner.match(data, linktype)

    def _match_record(self, rec: Record, linktype: int) -> bool:
        if linktype == LINKTYPE_NETLINK:
            return not self.hidden
        return bool(self.inner.match_record(rec, linktype))  # type: ignore[union-attr]


def with_events(flt: PacketFilter | None, *, hidden: bool) -> PacketFilter | None:
    """``flt`` as the list runs it: events shown unless ``hidden``, whatever it says."""
    if flt is None and not hidden:
        return None
    return _WithEvents(flt, hidden)  # type: ignore[return-value]


def _fit(text: str, width: int, right: bool = False) -> str:
    """Pad or truncate ``text`` to exactly ``width`` cells (ellipsis when cut)."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


class Columns:
    """Column widths for one list width, computed once per change of width or content."""

    __slots__ = ("addr", "dir", "iface", "info", "length", "no", "proto", "spans", "time", "width")

    def __init__(
        self,
        width: int,
        max_seq: int,
        *,
        time_width: int = 11,
        iface_width: int = 0,
        addr_seen: int = ADDR_MIN,
        directions: bool = True,
    ) -> None:
        self.width = width
        self.no = max(5, len(str(max_seq)) + 1)  # +1: room for the mark
        self.time = time_width
        self.iface = iface_width
        #: the Dir column, only where packets have a direction (not a file without any)
        self.dir = DIR_WIDTH if directions else 0
        self.proto = 6
        self.length = 5 if width >= 100 else 4
        gaps = 6 + (1 if iface_width else 0) + (1 if directions else 0)
        fixed = self.no + self.time + self.iface + self.dir + self.proto + self.length + gaps
        rest = max(0, width - fixed)
        # Info gets the width first (INFO_FIRST: enough to tell a request from a reply), then
        # the addresses what the longest one seen needs, up to a full IPv6 address; Info
        # takes what is left
        want = max(ADDR_MIN, min(ADDR_MAX, addr_seen))
        share = max(ADDR_MIN, (rest - INFO_FIRST) // 2)
        self.addr = max(8, min(want, share, max(ADDR_MAC, rest // 3)))
        self.info = max(0, rest - 2 * self.addr)
        spans: dict[SortColumn, tuple[int, int]] = {}
        x = 0
        for col, w in self.layout():
            spans[col] = (x, x + w)
            x += w + 1
        self.spans = spans

    def layout(self) -> list[tuple[SortColumn, int]]:
        cols = [(SortColumn.NUMBER, self.no), (SortColumn.TIME, self.time)]
        if self.iface:
            cols.append((SortColumn.INTERFACE, self.iface))
        if self.dir:
            cols.append((SortColumn.DIRECTION, self.dir))
        cols += [
            (SortColumn.SOURCE, self.addr),
            (SortColumn.DESTINATION, self.addr),
            (SortColumn.PROTOCOL, self.proto),
            (SortColumn.LENGTH, self.length),
            (SortColumn.INFO, self.info),
        ]
        return cols

    def column_at(self, x: int) -> SortColumn | None:
        for col, (lo, hi) in self.spans.items():
            if lo <= x < hi + 1:
                return col
        return None

    def header(self, sort: tuple[SortColumn, bool] | None = None) -> str:
        right = {SortColumn.NUMBER, SortColumn.TIME, SortColumn.LENGTH}
        parts = []
        for col, w in self.layout():
            title = "Iface" if col is SortColumn.INTERFACE else col.value
            if sort is not None and sort[0] is col:
                title += " ▼" if sort[1] else " ▲"
            parts.append(_fit(title, w, right=col in right))
        return _fit(" ".join(parts), self.width)


class PacketList(ScrollView, can_focus=True):
    """Packet rows of the ring (optionally filtered); the cursor selects the packet shown below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="previous packet"),
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="next packet"),
        Binding("home,g", "first", "First", show=False, tooltip="first packet"),
        Binding(
            "end,G",
            "last",
            "Last (follow)",
            show=False,
            tooltip="last packet, and follow new ones again",
        ),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="a page up"),
        Binding("pagedown", "page_down", "Page down", show=False, tooltip="a page down"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"packet-list--{n}" for n in PROTO_CLASS_NAMES} | {
        "packet-list--header",
        "packet-list--cursor",
        "packet-list--cursor-blur",
        "packet-list--inbound",
        "packet-list--dir-in",
        "packet-list--dir-out",
        "packet-list--marked",
        "packet-list--expert",
        "packet-list--evicted",
        "packet-list--event",  # an interface event: not a packet, and looks it
    }

    class CursorMoved(Message):
        """The selected packet changed (seq, or None when the list is empty)."""

        def __init__(self, seq: int | None) -> None:
            super().__init__()
            self.seq = seq

    class SortDropped(Message):
        """A new filter dropped the sorted order (the screen sorts again once it is through)."""

        def __init__(self, sort: tuple[SortColumn, bool]) -> None:
            super().__init__()
            self.sort = sort

    class HeaderClicked(Message):
        """A column header was clicked: sort by it."""

        def __init__(self, column: SortColumn) -> None:
            super().__init__()
            self.column = column

    #: the tail of the list is frozen (capture goes on underneath)
    paused = var(False, init=False)
    #: the cursor stays on the newest packet as packets arrive
    follow = var(True, init=False)
    #: how the Time column (and the frame layer) show times
    time_format = var(TimeFormat.RELATIVE, init=False)

    def __init__(
        self, session: Session, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.session = session
        self.ring = session.ring
        #: a capture file: nothing new arrives, so following is never offered
        self.file_mode = all(s.kind == "file" for s in session.sources)
        self.cursor_seq: int | None = None
        self._filter: PacketFilter | None = None
        self._matches = array("q")
        self._mstart = 0  # matches before this index were evicted from the ring
        self._scanned = self.ring.first_seq  # next seq the filter has to look at
        self._limit = self.ring.next_seq  # rows end here (frozen while paused)
        self._first = self.ring.first_seq  # seq of row 0 when unfiltered
        self._rows = 0
        # a live list in time order: row position (as a seq) -> the seq shown there, and back,
        # for the few newest rows whose stamps came out of arrival order
        self._shown_at: dict[int, int] = {}
        self._position_of: dict[int, int] = {}
        self._timed = self.ring.first_seq  # rows before this are in time order already
        self._cleared_seen = self.ring.cleared
        self.first_ns: int | None = None  # the first packet's time: relative times start here
        self.marks: set[int] = set()
        # sorted rows: a snapshot order, then what arrived since in arrival order
        self.sort: tuple[SortColumn, bool] | None = None
        self._order: array[int] | None = None
        self._order_limit = 0
        self._order_pos = array("i")
        self._order_base = 0
        self._cols: Columns | None = None
        self._addr_seen = ADDR_MIN
        #: a packet with a direction was seen (a live device has them from the start)
        self._directions = not self.file_mode
        self._reveal = False  # a new filter: bring the selected packet into view once placed
        #: rows measured for the columns (each once), and their summaries until drawn
        self._measured: dict[int, None] = {}
        self._summaries: dict[int, Summary] = {}
        self._ifnames = [printable(i.name) for i in session.interfaces]
        self._user_filter: PacketFilter | None = None
        self.events_hidden = False
        self._iface_width = (
            min(10, max(len(n) for n in self._ifnames)) if session.multi_interface else 0
        )
        self._frame: tuple[int, int] | None = None  # (scroll top - 1, cursor state)
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._version = 0  # bumped when every row must be drawn again
        #: the TCP analysis's words for a packet ("[TCP Retransmission]"), or None
        self.expert_words: Callable[[int], str | None] | None = None
        #: told of a cursor move at once, before the move's frame is drawn, so the panes that
        #: follow the cursor draw in that same frame (the CursorMoved message, which is also
        #: posted, arrives a frame or two later: 30-50 ms more from key to tree)
        self.on_cursor: Callable[[int | None], None] | None = None
        self._reported: int | None = -1
        self.scan_total = 0  # records the running filter pass has to look at
        self.scan_done = 0

    # ----- model -------------------------------------------------------------------------
    @property
    def rows(self) -> int:
        """How many packets the list shows now."""
        return self._rows

    @property
    def filtered(self) -> bool:
        return self._filter is not None

    @property
    def sorted(self) -> bool:
        return self._order is not None

    @property
    def scanning(self) -> bool:
        """True while the filter is still catching up with the ring (a rebuild in progress)."""
        return self._filter is not None and self._scanned < self._limit

    @property
    def new_while_paused(self) -> int:
        """Packets that arrived since the display was paused."""
        return max(0, self.ring.next_seq - self._limit) if self.paused else 0

    def _unsorted_rows(self) -> int:
        if self._filter is None:
            return max(0, self._limit_now() - self._first)
        return len(self._matches) - self._mstart

    def _limit_now(self) -> int:
        return max(self._limit, self.ring.first_seq)

    def _tail_start(self) -> int:
        """Index, among the unsorted rows, of the first one newer than the sorted snapshot."""
        if self._filter is None:
            return max(0, self._order_limit - self._first)
        return bisect_left(self._matches, self._order_limit, self._mstart) - self._mstart

    @property
    def unsorted_tail(self) -> int:
        """Rows that arrived after the last sort (shown below the sorted ones)."""
        if self._order is None:
            return 0
        return self._rows - len(self._order)

    def _arrival_seq(self, index: int) -> int | None:
        if self._filter is None:
            at = self._first + index
            return self._shown_at.get(at, at)
        return self._matches[self._mstart + index]

    def seq_at(self, index: int) -> int | None:
        """The seq shown on row ``index``."""
        if not 0 <= index < self._rows:
            return None
        order = self._order
        if order is not None:
            if index < len(order):
                return order[index]
            return self._arrival_seq(self._tail_start() + index - len(order))
        return self._arrival_seq(index)

    def index_of(self, seq: int) -> int:
        """Row of ``seq`` or of the first shown packet after it, clamped to the list."""
        order = self._order
        if order is not None:
            at = seq - self._order_base
            if 0 <= at < len(self._order_pos) and self._order_pos[at] >= 0:
                return self._order_pos[at]
            if seq >= self._order_limit:
                idx = len(order) + self._arrival_index(seq) - self._tail_start()
            else:
                idx = 0
        else:
            idx = self._arrival_index(seq)
        return max(0, min(idx, self._rows - 1))

    def _arrival_index(self, seq: int) -> int:
        if self._filter is None:
            return self._position_of.get(seq, seq) - self._first
        return bisect_left(self._matches, seq, self._mstart) - self._mstart

    def contains(self, seq: int) -> bool:
        """Whether ``seq`` is one of the rows shown."""
        return self._rows > 0 and self.seq_at(self.index_of(seq)) == seq

    @property
    def cursor_index(self) -> int | None:
        if self.cursor_seq is None or self._rows == 0:
            return None
        return self.index_of(self.cursor_seq)

    def shown_seqs(self) -> list[int]:
        """Every seq the list shows now, in arrival order (for exporting what the filter shows)."""
        return list(self.arrival_rows())

    def arrival_rows(self) -> Sequence[int]:
        """The shown seqs in arrival order, as a snapshot safe to hand to a worker."""
        n = self._unsorted_rows()
        if self._filter is None:
            return range(self._first, self._first + n)
        return self._matches[self._mstart : self._mstart + n]

    def display_rows(self) -> Sequence[int]:
        """The shown seqs in display order (sorted or not), as a snapshot for a worker."""
        if self._order is None:
            return self.arrival_rows()
        tail = self.arrival_rows()[self._tail_start() :]
        return self._order + array("q", tail)

    def selected_record(self) -> Record | None:
        return self.ring.get(self.cursor_seq) if self.cursor_seq is not None else None

    def set_filter(self, flt: PacketFilter | None) -> None:
        """Show only what ``flt`` matches (None: everything); rebuilt over the ring by sync.

        Interface events are no packets: a filter never hides them, ``hide_events`` does.
        """
        self._user_filter = flt
        keep = self.cursor_seq
        dropped = self.sort
        self._filter = with_events(flt, hidden=self.events_hidden)
        self._matches = array("q")
        self._mstart = 0
        self._scanned = self.ring.first_seq
        self.scan_total = max(0, self._limit - self._scanned)
        self.scan_done = 0
        self._rows = 0
        self._drop_order()
        self._cache.clear()
        self.cursor_seq = keep
        self._reveal = keep is not None  # the selected packet (or the nearest) in view again
        self.sync()
        self.refresh()
        self._update_subtitle()
        if dropped is not None:
            self.post_message(self.SortDropped(dropped))

    def hide_events(self, hidden: bool) -> None:
        """Hide (or show again) the interface events among the packets."""
        self.events_hidden = hidden
        self.set_filter(self._user_filter)

    def set_order(
        self,
        order: array[int] | None,
        sort: tuple[SortColumn, bool] | None,
        limit: int = 0,
        positions: tuple[int, array[int]] | None = None,
    ) -> None:
        """Show the rows in ``order`` (seqs below ``limit``), then newer ones; None: arrival.

        ``positions`` (from ``analysis.sorting.positions``, computed in the worker)
        maps a seq back to its row.
        """
        if order is None:
            self._drop_order()
        else:
            self._order = order
            self._order_limit = limit
            self._order_base, self._order_pos = positions or sorting_positions(order)
            self.sort = sort
            self.follow = False
        self._cache.clear()
        self._rows = -1  # recount
        self.sync()
        if self.cursor_seq is not None:
            self.scroll_to_index(self.index_of(self.cursor_seq), center=True)
        self.refresh()
        self._update_subtitle()

    def _drop_order(self) -> None:
        self._order = None
        self._order_pos = array("i")
        self._order_base = 0
        self._order_limit = 0
        self.sort = None

    def reset(self) -> None:
        """Forget everything shown (after the ring was cleared)."""
        ring = self.ring
        self._cleared_seen = ring.cleared
        self._matches = array("q")
        self._mstart = 0
        self._scanned = ring.first_seq
        self._first = ring.first_seq
        self._limit = ring.first_seq if self.paused else ring.next_seq
        self._rows = 0
        self._shown_at.clear()
        self._position_of.clear()
        self._timed = ring.first_seq
        self._drop_order()
        self.marks.clear()
        self.cursor_seq = None
        self.follow = True
        self._cache.clear()
        self.scroll_to(y=0, animate=False, force=True)
        self.sync()
        self.refresh()
        self._update_subtitle()

    def watch_paused(self, paused: bool) -> None:
        if not paused:
            self.sync()
        self._update_subtitle()

    def watch_follow(self) -> None:
        self._update_subtitle()

    def watch_time_format(self) -> None:
        self._cols = None
        self.redraw()
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        """The pane's subtitle: what the list shows beyond every packet in arrival order."""
        parts = []
        if self._filter is not None:
            parts.append(f"{self._rows:,} shown")
        if self.sort is not None:
            col, desc = self.sort
            parts.append(f"sorted by {col.value} {'▼' if desc else '▲'}")
            if self.unsorted_tail:
                parts.append(f"+{self.unsorted_tail:,} newer below")
        if self.marks:
            parts.append(f"{len(self.marks):,} marked")
        if self.time_format is not TimeFormat.RELATIVE:
            parts.append(f"time: {self.time_format.value}")
        if self.paused:
            parts.append("paused")
        elif not self.follow and self._rows and self._order is None and not self.file_mode:
            parts.append("End: follow")
        subtitle = " · ".join(parts)
        if subtitle != self.border_subtitle:
            self.border_subtitle = subtitle

    def redraw(self) -> None:
        """Draw every row again (marks, styles or formats changed)."""
        self._version += 1
        self._cache.clear()
        self.refresh()

    def toggle_mark(self, seq: int) -> bool:
        """Mark or unmark a packet; returns whether it is marked now."""
        if seq in self.marks:
            self.marks.discard(seq)
        else:
            self.marks.add(seq)
        self._version += 1
        self.refresh()
        self._update_subtitle()
        return seq in self.marks

    def clear_marks(self) -> None:
        self.marks.clear()
        self.redraw()
        self._update_subtitle()

    def sync(self) -> None:
        """Catch up with the ring: new rows, evicted rows, filter progress, cursor."""
        ring = self.ring
        if ring.cleared != self._cleared_seen:
            self.reset()
            return
        first = ring.first_seq
        if not self.paused:
            self._limit = ring.next_seq
        limit = max(self._limit, first)
        old_rows = self._rows
        dropped = 0
        if self._filter is None:
            dropped = max(0, first - self._first)
            self._first = first
            if not self.file_mode and limit > self._timed:
                self._time_order(first, limit)
        if self.first_ns is None and limit > first:
            rec = ring.get(self._shown_at.get(first, first))  # the first row, in time order
            if rec is not None:
                self.first_ns = rec.ts_ns
        if self._filter is not None:
            self._scan(first, limit)
            matches = self._matches
            old_mstart = self._mstart
            if self._mstart < len(matches) and matches[self._mstart] < first:
                self._mstart = bisect_left(matches, first, self._mstart)
            dropped = self._mstart - old_mstart
            if self._mstart > 65536 and self._mstart * 2 > len(matches):
                self._matches = matches[self._mstart :]
                self._mstart = 0
        rows = self._unsorted_rows()
        if self._order is not None:
            rows = len(self._order) + max(0, rows - self._tail_start())
            dropped = 0  # evicted rows of a sorted view stay in place (drawn as evicted)
        self._rows = rows
        if rows != old_rows or dropped:
            self._set_virtual(rows)
            if dropped and not self.follow:
                self.scroll_to(y=max(0, self.scroll_offset.y - dropped), animate=False, force=True)
            self.refresh()
            self._update_subtitle()
        self._place_cursor()

    def _time_order(self, first: int, limit: int) -> None:
        """Show the newest rows of a live list in time order (a file keeps its own order).

        Records reach the ring as they arrive, not quite as they were stamped; the rows
        from a little before the last sync's end to the ring's end are sorted by stamp
        (stable: arrival order among equal stamps). Older rows stay where they are; in
        a flood, only the newest few thousand rows of each sync are looked at.
        """
        shown_at, position_of = self._shown_at, self._position_of
        # bounded work per sync (a flood brings tens of thousands of rows between two)
        start = max(first, self._timed - TIME_ORDER_ROWS, limit - 16 * TIME_ORDER_ROWS)
        self._timed = limit
        seqs = [shown_at.get(at, at) for at in range(start, limit)]
        stamps = []
        for seq in seqs:
            rec = self.ring.get(seq)
            if rec is None:
                return  # evicted meanwhile: the next sync sees the ring as it is then
            stamps.append(rec.ts_ns)
        order = sorted(range(len(seqs)), key=lambda i: (stamps[i], seqs[i]))
        if all(i == n for n, i in enumerate(order)):
            return
        for offset, i in enumerate(order):
            at, seq = start + offset, seqs[i]
            if at == seq:
                shown_at.pop(at, None)
                position_of.pop(seq, None)
            else:
                shown_at[at] = seq
                position_of[seq] = at
        if len(shown_at) > 4 * TIME_ORDER_ROWS:  # what the ring evicted goes
            for at in [a for a in shown_at if a < first]:
                position_of.pop(shown_at.pop(at), None)
        self.refresh()

    def _scan(self, first: int, limit: int) -> None:
        """Run the filter over records not looked at yet, for at most FILTER_BUDGET_S."""
        flt = self._filter
        assert flt is not None
        start = max(self._scanned, first)
        if start >= limit:
            self._scanned = max(self._scanned, start)
            return
        # a Wireshark display filter reads each record's number and time too
        match_record = getattr(flt, "match_record", None)
        match = flt.match
        lts = [i.linktype for i in self.session.interfaces]
        append = self._matches.append
        deadline = time.perf_counter() + FILTER_BUDGET_S
        ring = self.ring
        while start < limit:
            chunk = ring.range(start, min(limit, start + FILTER_CHUNK))
            if not chunk:
                if start < ring.first_seq:  # evicted under our feet: go on from the oldest
                    start = ring.first_seq
                    continue
                start = limit
                break
            if match_record is not None:
                for rec in chunk:
                    if match_record(rec, lts[rec.iface]):
                        append(rec.seq)
            else:
                for rec in chunk:
                    if match(rec.data, lts[rec.iface]):
                        append(rec.seq)
            self.scan_done += chunk[-1].seq + 1 - start
            start = chunk[-1].seq + 1
            if time.perf_counter() > deadline:
                break
        self._scanned = start

    def _set_virtual(self, rows: int) -> None:
        # +1: the header row, which stays pinned at the top of the view
        self.virtual_size = Size(self.scrollable_content_region.width, rows + 1)

    def _place_cursor(self) -> None:
        rows = self._rows
        if rows == 0:
            new = None
        elif self.follow:
            new = self.seq_at(rows - 1)
        elif self.cursor_seq is None:
            new = self.seq_at(0)
        else:
            # the cursor's packet may have been evicted or filtered out: nearest shown one
            new = self._nearest(self.cursor_seq)
            if self.scanning and self._scanned <= self.cursor_seq and new != self.cursor_seq:
                new = self.cursor_seq  # keep the target until the rebuild reaches it
        self._move_to_seq(new)
        if self._reveal and not self.follow and new is not None and rows:
            target = self.cursor_seq
            if not self.scanning or (target is not None and self._scanned > target):
                # the rebuild has passed the selected packet: its row is final, show it
                self._reveal = False
                self.scroll_to_index(self.index_of(new), center=True)
        elif self._reveal and (self.follow or rows == 0) and not self.scanning:
            self._reveal = False
        if self.follow and rows and self.scroll_offset.y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        self._report()

    def _nearest(self, seq: int) -> int | None:
        """``seq`` if it is shown, else the shown packet nearest to it (the earlier on a tie)."""
        at = self.index_of(seq)
        after = self.seq_at(at)
        if after is None or after == seq or self._order is not None:
            return after
        before = self.seq_at(at - 1) if after > seq else None
        if before is not None and abs(seq - before) <= abs(after - seq):
            return before
        return after

    def _report(self) -> None:
        if self.cursor_seq != self._reported:
            self._reported = self.cursor_seq
            if self.on_cursor is not None:
                self.on_cursor(self.cursor_seq)
            self.post_message(self.CursorMoved(self.cursor_seq))

    def _move_to_seq(self, seq: int | None) -> None:
        old = self.cursor_seq
        if seq == old:
            return
        self.cursor_seq = seq
        for s in (old, seq):
            if s is not None and self._rows:
                self._refresh_row(self.index_of(s))

    def _refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y + 1
        if 0 < y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # ----- cursor movement -----------------------------------------------------------------
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped); following resumes on the last row."""
        rows = self._rows
        if rows == 0:
            return
        index = max(0, min(index, rows - 1))
        self.follow = index == rows - 1 and self._order is None
        self._move_to_seq(self.seq_at(index))
        self.scroll_to_index(index)
        self._report()

    def go_to_seq(self, seq: int) -> bool:
        """Select packet ``seq`` if the list shows it; False otherwise."""
        if not self.contains(seq):
            return False
        index = self.index_of(seq)
        self.follow = False
        self._move_to_seq(seq)
        self.scroll_to_index(index, center=True)
        self._report()
        return True

    def scroll_to_index(self, index: int, center: bool = False) -> None:
        top = self.scroll_offset.y
        page = self.page_rows
        if center and not top <= index < top + page:
            self.scroll_to(y=max(0, index - page // 2), animate=False, force=True)
        elif index < top:
            self.scroll_to(y=index, animate=False, force=True)
        elif index >= top + page:
            self.scroll_to(y=index - page + 1, animate=False, force=True)

    def _index(self) -> int:
        idx = self.cursor_index
        return self._rows - 1 if idx is None else idx

    def action_cursor_up(self) -> None:
        self.move_cursor(self._index() - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._index() + 1)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.follow = self._order is None
        self.move_cursor(self._rows - 1)
        self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def action_page_up(self) -> None:
        self.move_cursor(self._index() - self.page_rows)

    def action_page_down(self) -> None:
        self.move_cursor(self._index() + self.page_rows)

    def on_click(self, event: events.Click) -> None:
        line = event.y - self.gutter.top  # click offsets include the border
        if line >= 1:  # line 0 is the header
            self.move_cursor(self.scroll_offset.y + line - 1)
        elif line == 0 and self._cols is not None:
            column = self._cols.column_at(event.x - self.gutter.left)
            if column is not None:
                self.post_message(self.HeaderClicked(column))

    def on_mouse_scroll_up(self, _event: events.MouseScrollUp) -> None:
        # reading back through the list: stop dragging the view to the end
        self.follow = False

    def on_resize(self, _event: events.Resize) -> None:
        self._set_virtual(self._rows)

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        self._styles = {}
        self.redraw()

    # ----- rendering -------------------------------------------------------------------
    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            # the direction's colour goes over the row's style: without a background of its
            # own (the pane's would leave a gap in the selected row's bar)
            partial = name.startswith("dir-")
            style = self.get_component_rich_style(f"packet-list--{name}", partial=partial)
            self._styles[name] = style
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._prepare_frame()
        return super().render_lines(crop)

    def _prepare_frame(self) -> None:
        """Per-frame values, so each ``render_line`` is a dictionary lookup when cached."""
        width = self.scrollable_content_region.width  # the scrollbar's column is not ours
        last = self.ring.next_seq
        self._measure_visible()
        cols = self._cols
        tw = self._time_width()
        if (
            cols is None
            or cols.width != width
            or cols.no < len(str(last)) + 1
            or cols.time != tw
            or bool(cols.dir) != self._directions
        ):
            cols = self._cols = Columns(
                width,
                max(last, 99_999),
                time_width=tw,
                iface_width=self._iface_width,
                addr_seen=self._addr_seen,
                directions=self._directions,
            )
            self._cache.clear()
        self._frame = (self.scroll_offset.y - 1, 2 if self.has_focus else 1)

    def _measure_visible(self) -> None:
        """What the rows about to be drawn need (address width, a direction) before any is
        drawn: the columns are set once for the frame, never widened half-way down it."""
        top = self.scroll_offset.y
        ring = self.ring
        seen = self._addr_seen
        directions = self._directions
        measured = self._measured
        if len(measured) > 4096:
            measured.clear()
            self._summaries.clear()
        for index in range(top, min(self._rows, top + self.size.height)):
            seq = self.seq_at(index)
            if seq is None or seq in measured:
                continue
            rec = ring.get(seq)
            if rec is None:
                continue
            measured[seq] = None
            if not directions and rec.direction != Direction.UNKNOWN:
                directions = True
            if seen < ADDR_MAX:
                s = self._summaries[seq] = self.session.summary(rec)
                seen = max(seen, min(ADDR_MAX, max(len(printable(s.src)), len(printable(s.dst)))))
        self._addr_seen = seen
        self._directions = directions

    def _time_width(self) -> int:
        """What the time column needs: relative times as long as the capture's span."""
        if self.time_format is not TimeFormat.RELATIVE or self.first_ns is None:
            return WIDTHS[self.time_format]
        last = self.ring.get(self.ring.next_seq - 1)
        span = (last.ts_ns - self.first_ns) / 1e9 if last is not None else 0.0
        return max(8, len(f"{span:.6f}"))

    def render_line(self, y: int) -> Strip:
        cols = self._cols
        frame = self._frame
        if cols is None or frame is None or frame[0] != round(self.scroll_y) - 1:
            # called outside render_lines (tests, benchmarks) after a scroll
            self._prepare_frame()
            cols = self._cols
            assert cols is not None
        width = cols.width
        if width <= 0:
            return Strip.blank(0)
        if y == 0:
            return Strip([Segment(cols.header(self.sort), self._style("header"))], width)
        top, focus_state = self._frame  # type: ignore[misc]
        index = top + y
        seq = self.seq_at(index)
        if seq is None:
            return Strip.blank(width)
        state = focus_state if seq == self.cursor_seq else 0
        prev = self.seq_at(index - 1) if self.time_format is TimeFormat.DELTA else None
        linker = self.session.linker
        linked = linker.has_links(seq) if linker is not None else 0
        key = (seq, width, state, seq in self.marks, prev, self._version, linked)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(seq, cols, state, prev, linked)
            self._cache[key] = strip
        return strip

    def _render_row(
        self, seq: int, cols: Columns, state: int, prev: int | None, linked: int = 0
    ) -> Strip:
        rec = self.ring.get(seq)
        width = cols.width
        if rec is None:  # evicted between sync and paint, or below a sorted snapshot
            return Strip(
                [Segment(_fit(f"{seq:>{cols.no}} (evicted)", width), self._style("evicted"))], width
            )
        s = self._summaries.pop(seq, None) or self.session.summary(rec)
        first = self.first_ns if self.first_ns is not None else rec.ts_ns
        prev_ns = None
        if prev is not None:
            prev_rec = self.ring.get(prev)
            prev_ns = prev_rec.ts_ns if prev_rec is not None else None
        when = format_time(self.time_format, rec.ts_ns, first, prev_ns)
        inbound = rec.direction == Direction.INBOUND
        src, dst = printable(s.src), printable(s.dst)
        marked = seq in self.marks
        fields = [
            _fit(("•" if marked else LINK_MARKS[linked]) + str(seq), cols.no, right=True),
            _fit(when, cols.time, right=True),
        ]
        if rec.iface >= len(self._ifnames):  # numbered since (an interface made later)
            self._ifnames = [printable(i.name) for i in self.session.interfaces]
            if self.session.multi_interface:  # the interface column from the next frame on
                self._iface_width = min(10, max(len(n) for n in self._ifnames))
                self._cols = None
        if cols.iface:
            if rec.iface >= len(self._ifnames):  # described late (a file, a late input)
                self._ifnames = [printable(i.name) for i in self.session.interfaces]
            name = self._ifnames[rec.iface] if rec.iface < len(self._ifnames) else "?"
            fields.append(_fit(name, cols.iface))
        dir_at = sum(len(f) + 1 for f in fields)
        if cols.dir:
            fields.append(_fit(DIRECTION_ARROWS[rec.direction], cols.dir))
        info = printable(s.info)
        note = self.session.crossing(rec)
        if note:  # another input saw it too (both ends of a tunnel): where, how long before
            info = f"[{printable(note)}] {info}"
        inner = self.session.inner_frames(rec)
        view = self.session.tunnel_view
        if inner is not None and view is not None:
            # a tunnel segment: what it carries comes first, the outer TCP details (long
            # with their options) after it, where the column may cut them
            info = f"{describe(view, inner)} | outer: {info}"
        words = self.expert_words(seq) if self.expert_words is not None else None
        if words:
            info = f"{words} {info}"
        fields += [
            _fit(src, cols.addr),
            _fit(dst, cols.addr),
            _fit(s.proto, cols.proto),
            _fit(str(len(rec.data)), cols.length, right=True),
            _fit(info, cols.info),
        ]
        text = _fit(" ".join(fields), width)
        style = self._style("event" if s.proto == "event" else proto_class(s.proto, s.malformed))
        if state:
            style += self._style("cursor" if state == 2 else "cursor-blur")
        elif marked:
            style += self._style("marked")
        elif words:
            style += self._style("expert")
        elif inbound:
            style += self._style("inbound")
        # the direction column: a received row names itself in a contrasting colour
        dir_style = style + self._style("dir-in" if inbound else "dir-out")
        segs = [
            Segment(text[:dir_at], style),
            Segment(text[dir_at : dir_at + cols.dir], dir_style),
            Segment(text[dir_at + cols.dir :], style),
        ]
        return Strip(segs, width)
