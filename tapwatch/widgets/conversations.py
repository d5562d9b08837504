"""Conversations and endpoints: IP pairs, TCP/UDP conversations, addresses, sortable.

The tables are computed in a thread worker (``analysis.conversations``) over
the shared flow index; a progress bar shows how far it is, read by a timer.
A live capture's tables are computed again every few seconds. Enter on a
row dismisses with its filter expression (the main screen applies it),
Escape with None.
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
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane

from tapwatch.analysis import Cancelled, Progress
from tapwatch.analysis.conversations import (
    CONVERSATION_COLUMNS,
    ENDPOINT_COLUMNS,
    SharedIndex,
    Table,
    TrafficIndex,
    catch_up_showing,
    conversation_table,
    endpoint_table,
)
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.table import LineTable

if TYPE_CHECKING:
    from tapwatch.ring import Ring

#: how often the screen reads its worker's progress, and (live) computes the tables again
PROGRESS_S = 0.1
LIVE_REFRESH_S = 2.0
#: while a long catch-up goes on, the rows so far are shown this often
INTERIM_S = 1.0


class ConversationsScreen(ReportsWorkerFailures, ModalScreen["str | None"]):
    """IP pairs, TCP/UDP conversations and endpoints; Enter filters the list to one row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        Binding("1", "tab('pairs')", "IP pairs"),
        Binding("2", "tab('flows')", "TCP/UDP"),
        Binding("3", "tab('endpoints')", "Endpoints"),
    ]

    KINDS: ClassVar[tuple[str, ...]] = ("pairs", "flows", "endpoints")

    class Ready(Message):
        def __init__(self, kind: str, table: Table, *, final: bool = True) -> None:
            super().__init__()
            self.kind = kind
            self.table = table
            self.final = final  # False: the rows so far, more to come

    def __init__(
        self, shared: SharedIndex, ring: Ring, first_ns: int, *, live: bool, start: str = "flows"
    ) -> None:
        super().__init__()
        self.shared = shared
        self.ring = ring
        self.first_ns = first_ns
        self.live = live
        self.start = start
        self.sorts: dict[str, tuple[str, bool]] = {k: ("Bytes", True) for k in self.KINDS}
        self.tables: dict[str, Table] = {}
        self.progress = Progress()
        self._busy = False

    def compose(self) -> ComposeResult:
        box = Vertical(id="conversations-box", classes="tool")
        box.border_title = "Conversations and endpoints"
        box.border_subtitle = (
            "Enter filters the list to it · ← → or a click sorts, r reverses · "
            "shift+← → scrolls · 1 2 3 · Esc"
        )
        with box:
            yield Static("counting…", id="conversations-head")
            yield ProgressBar(id="conversations-progress", show_eta=False)
            with TabbedContent(initial=self.start, id="conversations-tabs"):
                with TabPane("IP pairs", id="pairs"):
                    yield LineTable(CONVERSATION_COLUMNS, id="table-pairs")
                with TabPane("TCP/UDP", id="flows"):
                    yield LineTable(CONVERSATION_COLUMNS, id="table-flows")
                with TabPane("Endpoints", id="endpoints"):
                    yield LineTable(ENDPOINT_COLUMNS, id="table-endpoints")

    def on_mount(self) -> None:
        self.set_interval(PROGRESS_S, self._show_progress)
        if self.live:
            self.set_interval(LIVE_REFRESH_S, self.refresh_tables)
        self.refresh_tables()
        self._table(self.start).focus()

    @property
    def kind(self) -> str:
        return self.query_one("#conversations-tabs", TabbedContent).active or "flows"

    def _table(self, kind: str) -> LineTable:
        return self.query_one(f"#table-{kind}", LineTable)

    def _show_progress(self) -> None:
        bar = self.query_one("#conversations-progress", ProgressBar)
        bar.display = self._busy and self.progress.total > 20_000
        if bar.display:
            bar.update(total=max(1, self.progress.total), progress=self.progress.done)

    def refresh_tables(self) -> None:
        if self._busy:
            return
        self._busy = True
        kind = self.kind
        column, descending = self.sorts[kind]
        self._build(kind, column, descending)

    @work(thread=True, exclusive=True, group="conversations", exit_on_error=False)
    def _build(self, kind: str, column: str, descending: bool) -> None:
        """Catch the index up and make the table; a long catch-up shows the rows so far
        every :data:`INTERIM_S` (the table appears at once, then fills in)."""
        try:
            with self.shared.lock:
                index = self.shared.index
                for done in catch_up_showing(index, self.ring, INTERIM_S, self.progress):
                    table = self._make(index, kind, column, descending, done)
                    self.post_message(self.Ready(kind, table, final=done))
        except Cancelled:
            return

    def _make(
        self, index: TrafficIndex, kind: str, column: str, descending: bool, done: bool
    ) -> Table:
        if kind == "pairs":
            table = conversation_table(
                list(index.pairs.values()), self.first_ns, sort=column, descending=descending
            )
        elif kind == "flows":
            table = conversation_table(
                list(index.flows.values()), self.first_ns, sort=column, descending=descending
            )
        else:
            table = endpoint_table(
                list(index.endpoints.values()), sort=column, descending=descending
            )
        table.note = (
            f"{index.packets:,} packets looked at"
            + ("" if done else " so far")
            + (f", {index.not_ip:,} not IP" if index.not_ip else "")
            + (f", {index.skipped:,} evicted before they were counted" if index.skipped else "")
        )
        return table

    def on_conversations_screen_ready(self, message: ConversationsScreen.Ready) -> None:
        if message.final:
            self._busy = False
        self.tables[message.kind] = message.table
        table = message.table
        self._table(message.kind).set_rows(table.cells, table.sort_column, table.descending)
        what = {"pairs": "IP pairs", "flows": "TCP/UDP conversations", "endpoints": "endpoints"}[
            message.kind
        ]
        self.query_one("#conversations-head", Static).update(
            Text(f"{table.total:,} {what} · {table.note}")
        )
        if message.final and message.kind != self.kind:
            self.refresh_tables()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        kind = self.kind
        self._table(kind).focus()
        if kind not in self.tables:
            self.refresh_tables()

    @on(LineTable.HeaderClicked)
    def _sort(self, event: LineTable.HeaderClicked) -> None:
        kind = self.kind
        column, descending = self.sorts[kind]
        if event.column == column:
            descending = not descending
        else:
            column, descending = (
                event.column,
                event.column
                not in ("Address", "Address A", "Address B", "Proto", "Port A", "Port B", "Start"),
            )
        self.sorts[kind] = (column, descending)
        self.tables.pop(kind, None)
        self.refresh_tables()

    @on(LineTable.Chosen)
    def _chosen(self, event: LineTable.Chosen) -> None:
        table = self.tables.get(self.kind)
        if table is not None and 0 <= event.index < len(table.filters):
            self.progress.cancel()
            self.dismiss(table.filters[event.index])

    def action_tab(self, kind: str) -> None:
        self.query_one("#conversations-tabs", TabbedContent).active = kind

    def action_close(self) -> None:
        self.progress.cancel()
        self.dismiss(None)
