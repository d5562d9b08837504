"""The live packet list: a Line-API view over the ring that formats only visible rows.

Textual's DataTable does O(n) work per added row and measures every row, which
cannot keep up with a live capture of 100k+ packets. This widget instead owns
no rows at all: its virtual height is the number of packets currently shown,
``render_line(y)`` maps a screen line to a ring sequence number, fetches that
one record and formats it (toolong's ``LogLines`` is the model). Rendered rows
are kept in a small LRU keyed by ``(seq, width, state)`` so scrolling and the
periodic refresh cost nothing for rows already drawn.

The app calls :meth:`PacketList.sync` on a timer (10-20 Hz). ``sync`` looks at
the ring's bounds, extends the list of matching seqs when a display filter is
active (running the compiled filter over the new records only, in time-boxed
chunks so rebuilding over a full ring never freezes the UI), drops what the
ring evicted off the top and keeps the cursor where the user left it - or at
the end while following.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tapwatch.kinds import DIRECTION_WORDS, Direction
from tapwatch.ring import Record

if TYPE_CHECKING:
    from tapwatch.filters import PacketFilter
    from tapwatch.session import Session

#: Foreground colour of a row by the summary's protocol label. Chosen to read on a
#: dark background and to echo Wireshark's colouring rules (ICMP pink, ARP yellow,
#: TCP blue, UDP green...) so people find their way at a glance.
PROTO_COLORS: dict[str, str] = {
    "ICMP": "#f2a0e6",
    "ICMPv6": "#c9a7ff",
    "ARP": "#f0d264",
    "TCP": "#86c5ff",
    "UDP": "#9ee29a",
    "DNS": "#6fe0d2",
    "MDNS": "#6fe0d2",
    "DHCP": "#c6e06f",
    "DHCPv6": "#c6e06f",
    "NTP": "#b5e0a0",
    "IPv4": "#d0d0d0",
    "IPv6": "#b8bfff",
    "Ethernet": "#a0a0a0",
    "802.1Q": "#a0a0a0",
    "unknown": "#909090",
}
DEFAULT_COLOR = "#c8c8c8"
MALFORMED_COLOR = "#ff5f5f"

IN_BG = "#1d2b3f"  # "In" rows: what the host received (replies, the far end), set apart
CURSOR_BG = "#3b5a86"
CURSOR_BG_BLUR = "#2e3c52"
HEADER_STYLE = Style(bold=True, color="#e6e6e6", bgcolor="#30343c")
FILTER_CHUNK = 4096
#: Longest the filter may run per sync before yielding back to the event loop.
FILTER_BUDGET_S = 0.025


def proto_style(proto: str, malformed: bool) -> Style:
    """Row style for a protocol; malformed packets are red whatever they claim to be."""
    if malformed:
        return Style(color=MALFORMED_COLOR, bold=True)
    return Style(color=PROTO_COLORS.get(proto, DEFAULT_COLOR))


def _fit(text: str, width: int, right: bool = False) -> str:
    """Pad or truncate ``text`` to exactly ``width`` cells (ellipsis when cut)."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


class Columns:
    """Column widths for one list width, computed once per width change."""

    __slots__ = ("addr", "info", "length", "no", "proto", "time", "width")

    def __init__(self, width: int, max_seq: int) -> None:
        self.width = width
        self.no = max(5, len(str(max_seq)))
        self.time = 12
        self.proto = 7
        self.length = 5
        fixed = self.no + self.time + 3 + self.proto + self.length + 7  # 7 gaps
        rest = max(0, width - fixed)
        # addresses take up to 2 x 26 cells but leave the info column at least as much
        self.addr = max(8, min(26, rest // 4))
        self.info = max(0, rest - 2 * self.addr)

    def header(self) -> str:
        parts = [
            _fit("No.", self.no, right=True), _fit("Time", self.time, right=True),
            _fit("Dir", 3), _fit("Source", self.addr), _fit("Destination", self.addr),
            _fit("Proto", self.proto), _fit("Len", self.length, right=True),
            _fit("Info", self.info),
        ]
        return _fit(" ".join(parts), self.width)


class PacketList(ScrollView, can_focus=True):
    """Packet rows of the ring (optionally filtered); the cursor selects the packet shown below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last (follow)", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    DEFAULT_CSS = """
    PacketList {
        overflow-x: hidden;
        overflow-y: scroll;
        background: $surface;
    }
    """

    class CursorMoved(Message):
        """The selected packet changed (seq, or None when the list is empty)."""

        def __init__(self, seq: int | None) -> None:
            super().__init__()
            self.seq = seq

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.ring = session.ring
        self.paused = False
        self.follow = True
        self.cursor_seq: int | None = None
        self._filter: PacketFilter | None = None
        self._matches = array("q")
        self._mstart = 0  # matches before this index were evicted from the ring
        self._scanned = self.ring.first_seq  # next seq the filter has to look at
        self._limit = self.ring.next_seq  # rows end here (frozen while paused)
        self._first = self.ring.first_seq  # seq of row 0 when unfiltered
        self._rows = 0
        self._cleared_seen = self.ring.cleared
        self._t0: int | None = None  # ts of the first packet: the Time column's origin
        self._cols: Columns | None = None
        self._frame: tuple[int, int] | None = None  # (scroll top - 1, cursor state)
        self._cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)
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
    def scanning(self) -> bool:
        """True while the filter is still catching up with the ring (a rebuild in progress)."""
        return self._filter is not None and self._scanned < self._limit

    @property
    def new_while_paused(self) -> int:
        """Packets that arrived since the display was paused."""
        return max(0, self.ring.next_seq - self._limit) if self.paused else 0

    def seq_at(self, index: int) -> int | None:
        """The seq shown on row ``index``."""
        if not 0 <= index < self._rows:
            return None
        if self._filter is None:
            return self._first + index
        return self._matches[self._mstart + index]

    def index_of(self, seq: int) -> int:
        """Row of ``seq`` or of the first shown packet after it, clamped to the list."""
        if self._filter is None:
            idx = seq - self._first
        else:
            idx = bisect_left(self._matches, seq, self._mstart) - self._mstart
        return max(0, min(idx, self._rows - 1))

    @property
    def cursor_index(self) -> int | None:
        if self.cursor_seq is None or self._rows == 0:
            return None
        return self.index_of(self.cursor_seq)

    def shown_seqs(self) -> list[int]:
        """Every seq the list shows now (for exporting only what the filter shows)."""
        if self._filter is None:
            return list(range(self._first, self._first + self._rows))
        return list(self._matches[self._mstart : self._mstart + self._rows])

    def selected_record(self) -> Record | None:
        return self.ring.get(self.cursor_seq) if self.cursor_seq is not None else None

    def set_filter(self, flt: PacketFilter | None) -> None:
        """Show only what ``flt`` matches (None: everything); rebuilt over the ring by sync."""
        keep = self.cursor_seq
        self._filter = flt
        self._matches = array("q")
        self._mstart = 0
        self._scanned = self.ring.first_seq
        self.scan_total = max(0, self._limit - self._scanned)
        self.scan_done = 0
        self._rows = 0
        self._cache.clear()
        self.cursor_seq = keep
        self.sync()
        self.refresh()

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
        self._t0 = None
        self.cursor_seq = None
        self.follow = True
        self._cache.clear()
        self.scroll_to(y=0, animate=False, force=True)
        self.sync()
        self.refresh()

    def set_paused(self, paused: bool) -> None:
        """Freeze (or thaw) the tail of the list; capture goes on underneath."""
        self.paused = paused
        if not paused:
            self.sync()

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
        if self._t0 is None and limit > first:
            rec = ring.get(first)
            if rec is not None:
                self._t0 = rec.ts_ns
        old_rows = self._rows
        if self._filter is None:
            dropped = max(0, first - self._first)
            self._first = first
            rows = limit - first
        else:
            self._scan(first, limit)
            matches = self._matches
            old_mstart = self._mstart
            if self._mstart < len(matches) and matches[self._mstart] < first:
                self._mstart = bisect_left(matches, first, self._mstart)
            dropped = self._mstart - old_mstart
            if self._mstart > 65536 and self._mstart * 2 > len(matches):
                self._matches = matches[self._mstart :]
                self._mstart = 0
            rows = len(self._matches) - self._mstart
        self._rows = rows
        if rows != old_rows or dropped:
            self._set_virtual(rows)
            if dropped and not self.follow:
                self.scroll_to(y=max(0, self.scroll_offset.y - dropped), animate=False, force=True)
            self.refresh()
        self._place_cursor()

    def _scan(self, first: int, limit: int) -> None:
        """Run the filter over records not looked at yet, for at most FILTER_BUDGET_S."""
        flt = self._filter
        assert flt is not None
        start = max(self._scanned, first)
        if start >= limit:
            self._scanned = max(self._scanned, start)
            return
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
        self.virtual_size = Size(self.size.width, rows + 1)

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
            new = self.seq_at(self.index_of(self.cursor_seq))
            if self.scanning and self.cursor_seq is not None and new != self.cursor_seq:
                new = self.cursor_seq  # keep the target until the rebuild reaches it
        self._move_to_seq(new)
        if self.follow and rows and self.scroll_offset.y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        if self.cursor_seq != self._reported:
            self._reported = self.cursor_seq
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
        self.follow = index == rows - 1
        self._move_to_seq(self.seq_at(index))
        top = self.scroll_offset.y
        page = self.page_rows
        if index < top:
            self.scroll_to(y=index, animate=False, force=True)
        elif index >= top + page:
            self.scroll_to(y=index - page + 1, animate=False, force=True)
        if self.cursor_seq != self._reported:
            self._reported = self.cursor_seq
            self.post_message(self.CursorMoved(self.cursor_seq))

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
        self.follow = True
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

    # ----- rendering -------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        self._prepare_frame()
        return super().render_lines(crop)

    def _prepare_frame(self) -> None:
        """Per-frame values, so each ``render_line`` is a dictionary lookup when cached."""
        width = self.size.width
        last = self.seq_at(self._rows - 1) if self._rows else 0
        cols = self._cols
        if cols is None or cols.width != width or cols.no < len(str(last or 0)):
            cols = self._cols = Columns(width, max(last or 0, 99_999))
            self._cache.clear()
        self._frame = (self.scroll_offset.y - 1, 2 if self.has_focus else 1)

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
            return Strip([Segment(cols.header(), HEADER_STYLE)], width)
        top, focus_state = self._frame  # type: ignore[misc]
        seq = self.seq_at(top + y)
        if seq is None:
            return Strip.blank(width)
        state = focus_state if seq == self.cursor_seq else 0
        key = (seq, width, state)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(seq, cols, state)
            self._cache[key] = strip
        return strip

    def _render_row(self, seq: int, cols: Columns, state: int) -> Strip:
        rec = self.ring.get(seq)
        width = cols.width
        if rec is None:  # evicted between sync and paint
            return Strip([Segment(_fit(f"{seq:>{cols.no}} (evicted)", width),
                                  Style(color="#707070", italic=True))], width)
        s = self.session.summary(rec)
        t0 = self._t0 if self._t0 is not None else rec.ts_ns
        rel = (rec.ts_ns - t0) / 1e9
        inbound = rec.direction == Direction.INBOUND
        text = " ".join((
            _fit(str(seq), cols.no, right=True),
            _fit(f"{rel:.6f}", cols.time, right=True),
            _fit(DIRECTION_WORDS[rec.direction] if rec.direction < 3 else "?", 3),
            _fit(s.src, cols.addr),
            _fit(s.dst, cols.addr),
            _fit(s.proto, cols.proto),
            _fit(str(len(rec.data)), cols.length, right=True),
            _fit(s.info, cols.info),
        ))
        style = proto_style(s.proto, s.malformed)
        if state:
            style += Style(bgcolor=CURSOR_BG if state == 2 else CURSOR_BG_BLUR, bold=True)
        elif inbound:
            style += Style(bgcolor=IN_BG, italic=True)
        text = _fit(text, width)
        # the direction column: an "In" row names itself in a contrasting colour
        dir_at = cols.no + cols.time + 2
        segs = [
            Segment(text[:dir_at], style),
            Segment(text[dir_at : dir_at + 3],
                    style + Style(color="#ffb86c" if inbound else "#7f8c9d", bold=inbound)),
            Segment(text[dir_at + 3 :], style),
        ]
        return Strip(segs, width)
