"""Expert information: what the TCP analysis flagged, counted by kind, one row per flag.

The rows come from the shared expert index (``analysis.expert``), caught up with the
ring in a thread worker with a progress bar (a 500k-packet file takes a while the first
time; after that only new packets are looked at, and the tree shows the analysis too).
Enter on a row dismisses with its packet number (the main screen goes to it), Escape
with None. :class:`IndexTableScreen` is also the Transactions view's base.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from tapwatch.analysis import Cancelled, Progress
from tapwatch.analysis.conversations import Column
from tapwatch.analysis.expert import (
    ExpertIndex,
    SharedExpert,
    expert_table_rows,
    sort_items,
)
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.table import LineTable

if TYPE_CHECKING:
    from tapwatch.ring import Ring

PROGRESS_S = 0.1
LIVE_REFRESH_S = 2.0

EXPERT_COLUMNS = (
    Column("No.", 8, True),
    Column("Severity", 8),
    Column("Group", 8, False, 2),
    Column("Protocol", 8, False, 1),
    Column("Summary", 50),
    Column("Stream", 6, True, 1),
)


class IndexTableScreen(ReportsWorkerFailures, ModalScreen["int | None"]):
    """A table over the expert index; Enter dismisses with the row's packet number."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    TITLE_TEXT = ""
    COLUMNS: tuple[Column, ...] = ()
    DEFAULT_SORT: tuple[str, bool] = ("No.", False)
    #: columns that sort ascending first (the rest: largest first)
    ASCENDING: frozenset[str] = frozenset()

    class Ready(Message):
        def __init__(self, rows: list[tuple[str, ...]], seqs: list[int], head: str) -> None:
            super().__init__()
            self.rows = rows
            self.seqs = seqs
            self.head = head

    def __init__(self, shared: SharedExpert, ring: Ring, *, live: bool) -> None:
        super().__init__()
        self.shared = shared
        self.ring = ring
        self.live = live
        self.sort = self.DEFAULT_SORT
        self.seqs: list[int] = []
        self.progress = Progress()
        self._busy = False

    def compose(self) -> ComposeResult:
        box = Vertical(classes="tool expert-box")
        box.border_title = self.TITLE_TEXT
        box.border_subtitle = (
            "Enter goes to the packet · click a header or ← → to sort, r reverses · Esc"
        )
        with box:
            yield Static("analysing…", classes="expert-head")
            yield ProgressBar(show_eta=False, classes="expert-progress")
            yield LineTable(self.COLUMNS, id="expert-table")

    def on_mount(self) -> None:
        self.set_interval(PROGRESS_S, self._show_progress)
        if self.live:
            self.set_interval(LIVE_REFRESH_S, self.refresh_rows)
        self.refresh_rows()
        self.query_one(LineTable).focus()

    def _show_progress(self) -> None:
        bar = self.query_one(ProgressBar)
        bar.display = self._busy and self.progress.total > 20_000
        if bar.display:
            bar.update(total=max(1, self.progress.total), progress=self.progress.done)

    def refresh_rows(self) -> None:
        if self._busy:
            return
        self._busy = True
        self._build(*self.sort)

    def rows(
        self, index: ExpertIndex, column: str, descending: bool
    ) -> tuple[list[tuple[str, ...]], list[int], str]:
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="expert", exit_on_error=False)
    def _build(self, column: str, descending: bool) -> None:
        try:
            with self.shared.lock:
                self.progress.done = 0
                index = self.shared.catch_up(self.ring, self.progress)
                rows, seqs, head = self.rows(index, column, descending)
                head += f" · {index.packets:,} packets looked at"
                if index.skipped:
                    head += f", {index.skipped:,} evicted before they were"
                if index.dropped:
                    head += f" · {index.dropped:,} rows not kept (over the cap)"
        except Cancelled:
            return
        self.post_message(self.Ready(rows, seqs, head))

    def on_index_table_screen_ready(self, message: IndexTableScreen.Ready) -> None:
        self._busy = False
        self.seqs = message.seqs
        self.query_one(LineTable).set_rows(message.rows, *self.sort)
        self.query_one(".expert-head", Static).update(Text(message.head))

    @on(LineTable.HeaderClicked)
    def _sorted(self, event: LineTable.HeaderClicked) -> None:
        column, descending = self.sort
        if event.column == column:
            descending = not descending
        else:
            column, descending = event.column, event.column not in self.ASCENDING
        self.sort = (column, descending)
        self.refresh_rows()

    @on(LineTable.Chosen)
    def _chosen(self, event: LineTable.Chosen) -> None:
        if 0 <= event.index < len(self.seqs):
            self.progress.cancel()
            self.dismiss(self.seqs[event.index])

    def action_close(self) -> None:
        self.progress.cancel()
        self.dismiss(None)


_SEVERITIES = (("Error", "errors"), ("Warning", "warnings"), ("Note", "notes"), ("Chat", "chats"))


class ExpertScreen(IndexTableScreen):
    """Wireshark's Expert Information for TCP and HTTP: each item (errors to chats, as
    Wireshark's severities), counts by kind."""

    TITLE_TEXT = "Expert information (TCP analysis, connections, HTTP)"
    COLUMNS = EXPERT_COLUMNS
    DEFAULT_SORT = ("No.", False)
    ASCENDING = frozenset({"No.", "Severity", "Group", "Protocol", "Summary", "Stream"})

    def rows(
        self, index: ExpertIndex, column: str, descending: bool
    ) -> tuple[list[tuple[str, ...]], list[int], str]:
        items = sort_items(index.items, column, descending)
        sev = index.severities
        by_severity = [f"{label} {sev[s]:,}" for s, label in _SEVERITIES if sev.get(s)]
        counts = sorted(index.counts.items(), key=lambda kv: -kv[1])
        head = (
            " · ".join(by_severity)
            + " — "
            + " · ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in counts)
            if counts
            else "nothing flagged"
        )
        return expert_table_rows(items), [i.seq for i in items], head
