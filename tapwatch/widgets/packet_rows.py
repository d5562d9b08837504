"""Which packets the packet list shows, and in which order: row index <-> ring seq.

The list owns no rows: its rows are a view over the ring. Unfiltered, row ``i`` is
seq ``first + i`` (the newest few rows of a live list put in time order); with a
display filter, the matching seqs are collected by running the compiled filter over
the new records only, in time-boxed chunks so rebuilding over a full ring never
freezes the UI. What the ring evicted drops off the top.

Rows can be sorted by a column: the order is computed in a worker over a snapshot of
the rows (``set_order``); packets that arrive afterwards show below the sorted ones in
arrival order until the next sort. Nothing here draws: the widget
(``widgets.packet_list``) asks this index what to draw where.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from tapwatch.analysis.sorting import SortColumn
from tapwatch.analysis.sorting import positions as sorting_positions
from tapwatch.linktypes import LINKTYPE_NETLINK
from tapwatch.ring import Record

if TYPE_CHECKING:
    from tapwatch.filters import PacketFilter
    from tapwatch.session import Session

FILTER_CHUNK = 4096
#: Newest rows of a live list put in time order at each sync (records reach the ring in
#: arrival order: a tunnel end's inner packet before the outer one the kernel stamped first)
TIME_ORDER_ROWS = 256
#: Longest the filter may run per sync before yielding back to the event loop.
FILTER_BUDGET_S = 0.025


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


class CatchUp(NamedTuple):
    """What one ``PacketRows.catch_up`` changed, for the widget to redraw and scroll."""

    #: the number of rows changed, or rows were evicted off the top
    changed: bool
    #: rows evicted off the top (the view scrolls up by as many to stay on its packets)
    dropped: int
    #: rows already shown moved (put in time order)
    reordered: bool


class PacketRows:
    """The list's rows over the ring: filter, time order, sort order and eviction."""

    def __init__(self, session: Session, *, file_mode: bool) -> None:
        self.session = session
        self.ring = session.ring
        #: a capture file keeps its own order (no time ordering of the newest rows)
        self.file_mode = file_mode
        self.filter: PacketFilter | None = None
        self._matches = array("q")
        self._mstart = 0  # matches before this index were evicted from the ring
        self.scanned = self.ring.first_seq  # next seq the filter has to look at
        self.limit = self.ring.next_seq  # rows end here (frozen while paused)
        self._first = self.ring.first_seq  # seq of row 0 when unfiltered
        self.count = 0
        # a live list in time order: row position (as a seq) -> the seq shown there, and back,
        # for the few newest rows whose stamps came out of arrival order
        self._shown_at: dict[int, int] = {}
        self._position_of: dict[int, int] = {}
        self._timed = self.ring.first_seq  # rows before this are in time order already
        self._cleared_seen = self.ring.cleared
        self.first_ns: int | None = None  # the first packet's time: relative times start here
        # sorted rows: a snapshot order, then what arrived since in arrival order
        self.sort: tuple[SortColumn, bool] | None = None
        self.order: array[int] | None = None
        self._order_limit = 0
        self._order_pos = array("i")
        self._order_base = 0
        self.scan_total = 0  # records the running filter pass has to look at
        self.scan_done = 0

    @property
    def scanning(self) -> bool:
        """True while the filter is still catching up with the ring (a rebuild in progress)."""
        return self.filter is not None and self.scanned < self.limit

    @property
    def cleared(self) -> bool:
        """The ring was cleared since the rows were last reset."""
        return self.ring.cleared != self._cleared_seen

    def _unsorted_rows(self) -> int:
        if self.filter is None:
            return max(0, self._limit_now() - self._first)
        return len(self._matches) - self._mstart

    def _limit_now(self) -> int:
        return max(self.limit, self.ring.first_seq)

    def _tail_start(self) -> int:
        """Index, among the unsorted rows, of the first one newer than the sorted snapshot."""
        if self.filter is None:
            return max(0, self._order_limit - self._first)
        return bisect_left(self._matches, self._order_limit, self._mstart) - self._mstart

    @property
    def unsorted_tail(self) -> int:
        """Rows that arrived after the last sort (shown below the sorted ones)."""
        if self.order is None:
            return 0
        return self.count - len(self.order)

    def _arrival_seq(self, index: int) -> int | None:
        if self.filter is None:
            at = self._first + index
            return self._shown_at.get(at, at)
        return self._matches[self._mstart + index]

    def seq_at(self, index: int) -> int | None:
        """The seq shown on row ``index``."""
        if not 0 <= index < self.count:
            return None
        order = self.order
        if order is not None:
            if index < len(order):
                return order[index]
            return self._arrival_seq(self._tail_start() + index - len(order))
        return self._arrival_seq(index)

    def index_of(self, seq: int) -> int:
        """Row of ``seq`` or of the first shown packet after it, clamped to the list."""
        order = self.order
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
        return max(0, min(idx, self.count - 1))

    def _arrival_index(self, seq: int) -> int:
        if self.filter is None:
            return self._position_of.get(seq, seq) - self._first
        return bisect_left(self._matches, seq, self._mstart) - self._mstart

    def contains(self, seq: int) -> bool:
        """Whether ``seq`` is one of the rows shown."""
        return self.count > 0 and self.seq_at(self.index_of(seq)) == seq

    def nearest(self, seq: int) -> int | None:
        """``seq`` if it is shown, else the shown packet nearest to it (the earlier on a tie)."""
        at = self.index_of(seq)
        after = self.seq_at(at)
        if after is None or after == seq or self.order is not None:
            return after
        before = self.seq_at(at - 1) if after > seq else None
        if before is not None and abs(seq - before) <= abs(after - seq):
            return before
        return after

    def arrival_rows(self) -> Sequence[int]:
        """The shown seqs in arrival order, as a snapshot safe to hand to a worker."""
        n = self._unsorted_rows()
        if self.filter is None:
            return range(self._first, self._first + n)
        return self._matches[self._mstart : self._mstart + n]

    def display_rows(self) -> Sequence[int]:
        """The shown seqs in display order (sorted or not), as a snapshot for a worker."""
        if self.order is None:
            return self.arrival_rows()
        tail = self.arrival_rows()[self._tail_start() :]
        return self.order + array("q", tail)

    def set_filter(self, flt: PacketFilter | None) -> None:
        """Show only what ``flt`` matches (None: everything): rebuilt over the ring by
        ``catch_up``; the sorted order goes."""
        self.filter = flt
        self._matches = array("q")
        self._mstart = 0
        self.scanned = self.ring.first_seq
        self.scan_total = max(0, self.limit - self.scanned)
        self.scan_done = 0
        self.count = 0
        self.drop_order()

    def set_order(
        self,
        order: array[int],
        sort: tuple[SortColumn, bool] | None,
        limit: int = 0,
        positions: tuple[int, array[int]] | None = None,
    ) -> None:
        """Show the rows in ``order`` (seqs below ``limit``), then newer ones.

        ``positions`` (from ``analysis.sorting.positions``, computed in the worker)
        maps a seq back to its row.
        """
        self.order = order
        self._order_limit = limit
        self._order_base, self._order_pos = positions or sorting_positions(order)
        self.sort = sort

    def drop_order(self) -> None:
        """Back to arrival order."""
        self.order = None
        self._order_pos = array("i")
        self._order_base = 0
        self._order_limit = 0
        self.sort = None

    def recount(self) -> None:
        """Have the next ``catch_up`` count the rows again (the order changed)."""
        self.count = -1

    def reset(self, paused: bool) -> None:
        """Forget every row (after the ring was cleared)."""
        ring = self.ring
        self._cleared_seen = ring.cleared
        self._matches = array("q")
        self._mstart = 0
        self.scanned = ring.first_seq
        self._first = ring.first_seq
        self.limit = ring.first_seq if paused else ring.next_seq
        self.count = 0
        self._shown_at.clear()
        self._position_of.clear()
        self._timed = ring.first_seq
        self.drop_order()

    def catch_up(self, paused: bool) -> CatchUp:
        """Catch up with the ring: new rows, evicted rows, filter progress.

        The caller resets first when ``cleared`` says the ring was cleared.
        """
        ring = self.ring
        first = ring.first_seq
        if not paused:
            self.limit = ring.next_seq
        limit = max(self.limit, first)
        old_rows = self.count
        dropped = 0
        reordered = False
        if self.filter is None:
            dropped = max(0, first - self._first)
            self._first = first
            if not self.file_mode and limit > self._timed:
                reordered = self._time_order(first, limit)
        if self.first_ns is None and limit > first:
            rec = ring.get(self._shown_at.get(first, first))  # the first row, in time order
            if rec is not None:
                self.first_ns = rec.ts_ns
        if self.filter is not None:
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
        if self.order is not None:
            rows = len(self.order) + max(0, rows - self._tail_start())
            dropped = 0  # evicted rows of a sorted view stay in place (drawn as evicted)
        self.count = rows
        return CatchUp(rows != old_rows or dropped > 0, dropped, reordered)

    def _time_order(self, first: int, limit: int) -> bool:
        """Show the newest rows of a live list in time order (a file keeps its own order);
        True when rows moved.

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
                return False  # evicted meanwhile: the next sync sees the ring as it is then
            stamps.append(rec.ts_ns)
        order = sorted(range(len(seqs)), key=lambda i: (stamps[i], seqs[i]))
        if all(i == n for n, i in enumerate(order)):
            return False
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
        return True

    def _scan(self, first: int, limit: int) -> None:
        """Run the filter over records not looked at yet, for at most FILTER_BUDGET_S."""
        flt = self.filter
        assert flt is not None
        start = max(self.scanned, first)
        if start >= limit:
            self.scanned = max(self.scanned, start)
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
            # the clock read after each record, not each chunk: a filter that takes a
            # millisecond a packet (a long pattern, many terms) held the event loop for the
            # whole chunk of 4096, seconds, before the budget was looked at
            now = time.perf_counter
            last = None
            if match_record is not None:
                for rec in chunk:
                    if match_record(rec, lts[rec.iface]):
                        append(rec.seq)
                    if now() > deadline:
                        last = rec
                        break
            else:
                for rec in chunk:
                    if match(rec.data, lts[rec.iface]):
                        append(rec.seq)
                    if now() > deadline:
                        last = rec
                        break
            end = (last if last is not None else chunk[-1]).seq + 1
            self.scan_done += end - start
            start = end
            if last is not None:
                break
        self.scanned = start
