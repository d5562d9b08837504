"""Finding packets, going to one by number, and sorting the list.

Finding and sorting read the ring in thread workers (``analysis.find``,
``analysis.sorting``), ``exclusive`` within their group: a new search or
sort makes the one running stale. Each registers its progress in
``busy`` (the status bar shows it) and posts one message when done.
A sort of a live capture is redone now and then by a timer, while a sort
is quick enough to repeat; a sort that a new display filter dropped is
redone once the filter has gone through the ring.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message

from tapwatch.analysis import Cancelled, Progress
from tapwatch.analysis.find import FindError, FindKind, Query, find, matcher, parse_query
from tapwatch.analysis.sorting import SortColumn, key_function, positions, sort_rows
from tapwatch.linktypes import LINKTYPE_NETLINK
from tapwatch.rowinfo import sort_info
from tapwatch.widgets.dialogs.find import FindRequest, FindScreen
from tapwatch.widgets.dialogs.goto import GotoScreen
from tapwatch.widgets.dialogs.sort import SortScreen
from tapwatch.widgets.packet_list import PacketList
from tapwatch.widgets.screen.base import ScreenBase

if TYPE_CHECKING:
    from tapwatch.analysis.expert import SharedExpert
    from tapwatch.session import Session

#: a sort that took this long is not redone by itself on a live capture
AUTO_RESORT_MAX_S = 0.5
#: how often a sorted live list checks whether to sort again
RESORT_CHECK_S = 0.5


class FindAndSort(ScreenBase):
    """ctrl+g, ctrl+f ``n`` ``N``, ``o`` ``O`` and the column headers."""

    #: the TCP analysis (made by the detail panes): the sort by Info reads its words
    shared_expert: SharedExpert

    class FindDone(Message):
        def __init__(self, query: Query, forward: bool, seq: int | None, wrapped: bool) -> None:
            super().__init__()
            self.query = query
            self.forward = forward
            self.seq = seq
            self.wrapped = wrapped

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

    def __init__(
        self, session: Session, *, refresh_hz: float = 20, clock: Callable[[], int] | None = None
    ) -> None:
        super().__init__(session, refresh_hz=refresh_hz, clock=clock)
        self.last_query: Query | None = None
        self._find_kind: FindKind = "text"
        self._find_text = ""
        self._sort_started = 0.0
        self._sort_took = 0.0
        self._sort_wanted: tuple[SortColumn, bool] | None = None
        #: the newest row the last sort ordered, and the newest the analysis had looked at
        #: when it ran: the analysis growing past the second re-sorts, once, rows it missed
        self._sort_rows_to = -1
        self._sort_analysed_to = -1

    def on_mount(self) -> None:
        self.set_interval(RESORT_CHECK_S, self._maybe_resort, name="tapwatch-resort")

    # ----- go to ---------------------------------------------------------------------------
    def action_goto(self) -> None:
        ring = self.session.ring
        if not len(ring):
            self.say("no packets held yet", "warning")
            return
        self.open_tool(GotoScreen(ring.first_seq, ring.next_seq - 1), self.go_to)

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
        self.say(why, "warning")

    # ----- find ------------------------------------------------------------------------------
    def action_find(self, kind: str = "") -> None:
        start: FindKind = kind if kind in ("text", "hex", "filter") else self._find_kind  # type: ignore[assignment]
        self.open_tool(
            FindScreen(start, self._find_text if start == self._find_kind else ""),
            self._find_requested,
        )

    def _find_requested(self, request: FindRequest | None, checked: bool = False) -> None:
        if request is None:
            return
        self._find_kind, self._find_text = request.kind, request.text
        if request.kind == "filter" and not checked:
            self._check_find_filter(request)  # compiled in the bounded child first
            return
        try:
            query = parse_query(
                request.kind, request.text, [i.linktype for i in self.session.interfaces]
            )
        except FindError as e:
            self.say(str(e), "error")
            return
        self.last_query = query
        self.start_find(query, request.forward)

    @work(thread=True, exclusive=True, group="find-check", exit_on_error=False)
    def _check_find_filter(self, request: FindRequest) -> None:
        """A filter typed to find by: libpcap may take minutes over it, so the child process of
        :mod:`tapwatch.filtercheck` compiles it first, within its time limit."""
        from tapwatch.filtercheck import FilterRequest, judge

        lts = tuple(sorted({i.linktype for i in self.session.interfaces}))
        verdict = judge("find").check(FilterRequest(request.text, lts))
        if verdict.stale:  # a newer find replaced it
            return
        if verdict.ok:
            self.app.call_from_thread(self._find_requested, request, True)
        else:
            self.app.call_from_thread(self.say, verdict.error, "error")

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
        progress = self._replace_busy("finding", Progress(len(rows)))
        self._find(query, forward, rows, start, progress)

    def _replace_busy(self, what: str, progress: Progress) -> Progress:
        old = self.busy.pop(what, None)
        if old is not None:
            old.cancel()
        self.busy[what] = progress
        return progress

    @work(thread=True, exclusive=True, group="find", exit_on_error=False)
    def _find(
        self, query: Query, forward: bool, rows: Sequence[int], start: int, progress: Progress
    ) -> None:
        from tapwatch import decode

        lts = self.session.linktypes  # grows while the find runs (-i any)

        event_text = self.session.event_text_at

        def summary(seq: int, data: bytes, iface: int) -> str:
            if lts[iface] == LINKTYPE_NETLINK:  # an interface event: found by its words
                return event_text(seq)
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

    def on_find_and_sort_find_done(self, message: FindAndSort.FindDone) -> None:
        self.busy.pop("finding", None)
        if message.seq is None:
            self.say(f"no packet matches {message.query.describe()}", "warning")
            return
        self.packet_list.go_to_seq(message.seq)
        if message.wrapped:
            self.say("find: wrapped around to the " + ("start" if message.forward else "end"))

    # ----- sort ------------------------------------------------------------------------------
    def sort_columns(self) -> list[SortColumn]:
        cols = list(SortColumn)
        if not self.session.multi_interface:
            cols.remove(SortColumn.INTERFACE)
        return cols

    def action_sort(self) -> None:
        self.open_tool(SortScreen(self.sort_columns(), self.packet_list.sort), self._sort_chosen)

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

    @on(PacketList.SortDropped)
    def _sort_dropped(self, event: PacketList.SortDropped) -> None:
        self._sort_wanted = event.sort  # sorted again once the filter has gone through the ring
        self._maybe_resort()

    def action_unsort(self) -> None:
        self._sort_wanted = None
        progress = self.busy.pop("sorting", None)
        if progress is not None:
            progress.cancel()
        self.packet_list.set_order(None, None)

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
        self._sort_rows_to = rows[-1] if len(rows) else -1
        self._sort_analysed_to = self.shared_expert.caught_up_to()
        limit = self.session.ring.next_seq if not packets.paused else packets.ring.next_seq
        progress = self._replace_busy("sorting", Progress(len(rows)))
        self._sort_started = time.monotonic()
        self._sort(rows, column, descending, limit, progress)

    @property
    def sorting(self) -> bool:
        """A sort is running in its worker."""
        return "sorting" in self.busy

    @work(thread=True, exclusive=True, group="sort", exit_on_error=False)
    def _sort(
        self,
        rows: Sequence[int],
        column: SortColumn,
        descending: bool,
        limit: int,
        progress: Progress,
    ) -> None:
        from tapwatch import decode

        lts = [i.linktype for i in self.session.interfaces]
        names = [i.name for i in self.session.interfaces]
        # Info sorts as the rows read it: with the analysis's words as far as it has looked
        shown = sort_info(self.session, self.shared_expert.existing)
        key = key_function(column, lambda r: decode.summarize(r.data, lts[r.iface]), names, shown)
        started = time.monotonic()
        try:
            order = sort_rows(
                rows, self.session.ring, key, descending=descending, progress=progress
            )
            progress.advance(0)  # cancelled while the keys were sorted: not shown
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

    def on_find_and_sort_sort_done(self, message: FindAndSort.SortDone) -> None:
        self.busy.pop("sorting", None)
        self._sort_took = message.took
        self.packet_list.set_order(message.order, message.sort, message.limit, message.where)

    def analysis_grew(self) -> None:
        """The analysis's words in the rows move them: sort by Info again, when the last sort
        ordered rows the analysis had not looked at yet. Rows newer than the sort are the
        timer's (:meth:`_maybe_resort`, while sorting is quick): a live capture whose
        analysis caught up now and then sorted all its packets again each time (5 s of a
        core for 500k packets, the rows moving under the cursor)."""
        sort = self.packet_list.sort
        if sort is None or sort[0] is not SortColumn.INFO or self.sorting:
            return
        if self._sort_analysed_to >= self._sort_rows_to:
            return  # the sort read the words of every row it ordered
        if self.shared_expert.caught_up_to() <= self._sort_analysed_to:
            return
        self.sort_by(*sort)

    def action_cancel_work(self) -> None:
        """Esc: stop a sort or a find that is running (the list keeps its order)."""
        for what in ("sorting", "finding"):
            progress = self.busy.pop(what, None)
            if progress is not None:
                progress.cancel()
                self.say(f"{what} cancelled")
        self._sort_wanted = None

    def _maybe_resort(self) -> None:
        """Sort again what a live capture added, when sorting is quick enough to repeat."""
        packets = self.packet_list
        if self._sort_wanted is not None and not packets.scanning and not self.sorting:
            self.sort_by(*self._sort_wanted)
            return
        if packets.sort is None or self.sorting:
            return
        if not packets.unsorted_tail or self._sort_took > AUTO_RESORT_MAX_S:
            return
        if time.monotonic() - self._sort_started < max(1.0, 4 * self._sort_took):
            return
        self.sort_by(*packets.sort)
