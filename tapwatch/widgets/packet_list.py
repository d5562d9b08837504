"""The live packet list: a Line-API view over the ring that formats only visible rows.

Textual's DataTable does O(n) work per added row and measures every row, which
cannot keep up with a live capture of 100k+ packets. This widget instead owns
no rows at all: its virtual height is the number of packets currently shown,
``render_line(y)`` maps a screen line to a ring sequence number (through
``widgets.packet_rows``, which knows the filter, time and sort orders), fetches that
one record and formats it in the columns of ``widgets.packet_columns`` (toolong's
``LogLines`` is the model). Rendered rows are kept in a small LRU keyed by
``(seq, width, state)`` so scrolling and the periodic refresh cost nothing for rows
already drawn.

The screen calls :meth:`PacketList.sync` on a timer (10-20 Hz). ``sync`` has the rows
catch up with the ring and keeps the cursor where the user left it - or at the end
while following.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from math import ceil
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
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from tapwatch.analysis.sorting import SortColumn
from tapwatch.analysis.timefmt import WIDTHS, TimeFormat, format_time
from tapwatch.kinds import DIRECTION_ARROWS, Direction
from tapwatch.ring import Record
from tapwatch.rowinfo import row_info
from tapwatch.sanitize import printable
from tapwatch.widgets.packet_columns import ADDR_MAX, ADDR_MIN, Columns, fit
from tapwatch.widgets.packet_rows import PacketRows, with_events
from tapwatch.widgets.styled_lines import FITS as STYLED_LINES_FIT
from tapwatch.widgets.styled_lines import StyledLines
from tapwatch.widgets.theme import PROTO_CLASS_NAMES, proto_class

if TYPE_CHECKING:
    from tapwatch.decode import Summary
    from tapwatch.filters import PacketFilter
    from tapwatch.session import Session

#: The number column's mark of a linked packet (``analysis.links``): carried by an outer
#: packet, carrying an inner one, both (a tunnel inside a tunnel)
LINK_MARKS = ("", "⊂", "⊃", "⊃")


def thumb_cells(bar: ScrollBar, position: float) -> tuple[int, int] | None:
    """Where a vertical scrollbar draws its thumb at ``position``, in the eighths of a cell
    textual draws it in (``ScrollBarRender.render_bar``'s arithmetic, on the values
    ``ScrollBar._render_bar`` gives it); None: no thumb."""
    size = bar.size.height
    virtual = ceil(bar.window_virtual_size)
    window = ceil(bar.window_size) if bar.window_size < bar.window_virtual_size else 0
    if not (window and size and virtual and size != virtual):
        return None
    steps = len(bar.renderer.VERTICAL_BARS)
    thumb = max(1, window / (virtual / size))
    start = int((size - thumb) * (position / (virtual - window)) * steps)
    return start, start + ceil(thumb * steps)


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
        if STYLED_LINES_FIT:  # a scroll by one row styles the one new row, not all of them
            self._styles_cache = StyledLines()
        self.session = session
        self.ring = session.ring
        #: a capture file: nothing new arrives, so following is never offered
        self.file_mode = all(s.kind == "file" for s in session.sources)
        self.cursor_seq: int | None = None
        #: which packets the rows show, in which order
        self.shown = PacketRows(session, file_mode=self.file_mode)
        self.marks: set[int] = set()
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
        #: a packet's Info with what the analysis knows of the capture before it (relative
        #: TCP numbers, an echo reply's request), or None
        self.related_info: Callable[[int, str], str] | None = None
        #: told of a cursor move at once, before the move's frame is drawn, so the panes that
        #: follow the cursor draw in that same frame (the CursorMoved message, which is also
        #: posted, arrives a frame or two later: 30-50 ms more from key to tree)
        self.on_cursor: Callable[[int | None], None] | None = None
        self._reported: int | None = -1

    # ----- model (``self.shown``; what the screen and tools read) ---------------------------
    @property
    def rows(self) -> int:
        """How many packets the list shows now."""
        return self.shown.count

    @property
    def filtered(self) -> bool:
        return self.shown.filter is not None

    @property
    def sorted(self) -> bool:
        return self.shown.order is not None

    @property
    def sort(self) -> tuple[SortColumn, bool] | None:
        """The column and direction (descending) the rows are sorted by, or None."""
        return self.shown.sort

    @property
    def first_ns(self) -> int | None:
        """The first packet's time: relative times start here."""
        return self.shown.first_ns

    @property
    def scanning(self) -> bool:
        """True while the filter is still catching up with the ring (a rebuild in progress)."""
        return self.shown.scanning

    @property
    def scan_total(self) -> int:
        """Records the running filter pass has to look at."""
        return self.shown.scan_total

    @property
    def scan_done(self) -> int:
        return self.shown.scan_done

    @property
    def new_while_paused(self) -> int:
        """Packets that arrived since the display was paused."""
        return max(0, self.ring.next_seq - self.shown.limit) if self.paused else 0

    @property
    def unsorted_tail(self) -> int:
        """Rows that arrived after the last sort (shown below the sorted ones)."""
        return self.shown.unsorted_tail

    def seq_at(self, index: int) -> int | None:
        """The seq shown on row ``index``."""
        return self.shown.seq_at(index)

    def index_of(self, seq: int) -> int:
        """Row of ``seq`` or of the first shown packet after it, clamped to the list."""
        return self.shown.index_of(seq)

    def contains(self, seq: int) -> bool:
        """Whether ``seq`` is one of the rows shown."""
        return self.shown.contains(seq)

    @property
    def cursor_index(self) -> int | None:
        if self.cursor_seq is None or self.shown.count == 0:
            return None
        return self.shown.index_of(self.cursor_seq)

    def shown_seqs(self) -> list[int]:
        """Every seq the list shows now, in arrival order (for exporting what the filter shows)."""
        return list(self.shown.arrival_rows())

    def arrival_rows(self) -> Sequence[int]:
        """The shown seqs in arrival order, as a snapshot safe to hand to a worker."""
        return self.shown.arrival_rows()

    def display_rows(self) -> Sequence[int]:
        """The shown seqs in display order (sorted or not), as a snapshot for a worker."""
        return self.shown.display_rows()

    def selected_record(self) -> Record | None:
        return self.ring.get(self.cursor_seq) if self.cursor_seq is not None else None

    def set_filter(self, flt: PacketFilter | None) -> None:
        """Show only what ``flt`` matches (None: everything); rebuilt over the ring by sync.

        Interface events are no packets: a filter never hides them, ``hide_events`` does.
        """
        self._user_filter = flt
        keep = self.cursor_seq
        dropped = self.sort
        self.shown.set_filter(with_events(flt, hidden=self.events_hidden))
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
            self.shown.drop_order()
        else:
            self.shown.set_order(order, sort, limit, positions)
            self.follow = False
        self._cache.clear()
        self.shown.recount()
        self.sync()
        if self.cursor_seq is not None:
            self.scroll_to_index(self.index_of(self.cursor_seq), center=True)
        self.refresh()
        self._update_subtitle()

    def reset(self) -> None:
        """Forget everything shown (after the ring was cleared)."""
        self.shown.reset(self.paused)
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
        if self.shown.filter is not None:
            parts.append(f"{self.shown.count:,} shown")
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
        elif not self.follow and self.shown.count and not self.sorted and not self.file_mode:
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
        if self.shown.cleared:
            self.reset()
            return
        caught = self.shown.catch_up(self.paused)
        if caught.reordered:
            self.refresh()
        if caught.changed:
            self._set_virtual(self.shown.count)
            if caught.dropped and not self.follow:
                y = max(0, self.scroll_offset.y - caught.dropped)
                self.scroll_to(y=y, animate=False, force=True)
            self.refresh()
            self._update_subtitle()
        self._place_cursor()

    def _set_virtual(self, rows: int) -> None:
        # +1: the header row, which stays pinned at the top of the view
        self.virtual_size = Size(self.scrollable_content_region.width, rows + 1)

    def _place_cursor(self) -> None:
        rows = self.shown.count
        if rows == 0:
            new = None
        elif self.follow:
            new = self.seq_at(rows - 1)
        elif self.cursor_seq is None:
            new = self.seq_at(0)
        else:
            # the cursor's packet may have been evicted or filtered out: nearest shown one
            new = self.shown.nearest(self.cursor_seq)
            if self.scanning and self.shown.scanned <= self.cursor_seq and new != self.cursor_seq:
                new = self.cursor_seq  # keep the target until the rebuild reaches it
        self._move_to_seq(new)
        if self._reveal and not self.follow and new is not None and rows:
            target = self.cursor_seq
            if not self.scanning or (target is not None and self.shown.scanned > target):
                # the rebuild has passed the selected packet: its row is final, show it
                self._reveal = False
                self.scroll_to_index(self.index_of(new), center=True)
        elif self._reveal and (self.follow or rows == 0) and not self.scanning:
            self._reveal = False
        if self.follow and rows and self.scroll_offset.y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        self._report()

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
            if s is not None and self.shown.count:
                self._refresh_row(self.index_of(s))

    def _refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y + 1
        if 0 < y < self.size.height:
            # the row, not the scrollbar's cell beside it (a cursor move leaves the bar alone)
            self.refresh(Region(0, y, self.scrollable_content_region.width, 1))

    # ----- cursor movement -----------------------------------------------------------------
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped); following resumes on the last row."""
        rows = self.shown.count
        if rows == 0:
            return
        index = max(0, min(index, rows - 1))
        self.follow = index == rows - 1 and not self.sorted
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
        return self.shown.count - 1 if idx is None else idx

    def action_cursor_up(self) -> None:
        self.move_cursor(self._index() - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._index() + 1)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.follow = not self.sorted
        self.move_cursor(self.shown.count - 1)
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

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """ScrollView's, except that the scrollbar is drawn again only when its thumb moves.

        A scroll of one row over a long list moves the thumb by less than the eighth of a
        cell it is drawn in; redrawing the bar anyway made each scrolling cursor move
        composite and send every line of the bar beside every row of the list.
        """
        if self.show_vertical_scrollbar:
            bar = self.vertical_scrollbar
            # where textual keeps the position in eighths of a cell (validate_position), the
            # same; the oldest allowed textual keeps it as given
            validate = getattr(bar, "validate_position", None)
            position = validate(new_value) if validate is not None else new_value
            if thumb_cells(bar, position) == thumb_cells(bar, bar.position):
                bar.set_reactive(ScrollBar.position, position)  # the same drawing
            else:
                bar.position = new_value
        if round(old_value) != round(new_value):  # the rows, not the bar's cells beside them
            region = self.size.region
            self.refresh(region._replace(width=self.scrollable_content_region.width))

    def on_resize(self, _event: events.Resize) -> None:
        self._set_virtual(self.shown.count)

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
        for index in range(top, min(self.shown.count, top + self.size.height)):
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
        if y == 0:  # the header: drawn again with every scroll, made once
            head = (None, width, self.sort, self._version)
            strip = self._cache.get(head)
            if strip is None:
                strip = Strip([Segment(cols.header(self.sort), self._style("header"))], width)
                self._cache[head] = strip
            return strip
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
                [Segment(fit(f"{seq:>{cols.no}} (evicted)", width), self._style("evicted"))], width
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
            fit(("•" if marked else LINK_MARKS[linked]) + str(seq), cols.no, right=True),
            fit(when, cols.time, right=True),
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
            fields.append(fit(name, cols.iface))
        dir_at = sum(len(f) + 1 for f in fields)
        if cols.dir:
            fields.append(fit(DIRECTION_ARROWS[rec.direction], cols.dir))
        words = self.expert_words(seq) if self.expert_words is not None else None
        info = row_info(self.session, rec, s.info, self.related_info, words)
        fields += [
            fit(src, cols.addr),
            fit(dst, cols.addr),
            fit(s.proto, cols.proto),
            fit(str(len(rec.data)), cols.length, right=True),
            fit(info, cols.info),
        ]
        text = fit(" ".join(fields), width)
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
