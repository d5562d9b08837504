"""Pick a column to sort the packet list by."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tapwatch.analysis.sorting import SortColumn


class SortScreen(ModalScreen["tuple[SortColumn, bool] | None"]):
    """Pick a column to sort by; the current one again reverses it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, columns: Iterable[SortColumn], current: tuple[SortColumn, bool] | None
    ) -> None:
        super().__init__()
        self.columns = list(columns)
        self.current = current

    def compose(self) -> ComposeResult:
        box = Vertical(classes="dialog small")
        box.border_title = "Sort the list by"
        box.border_subtitle = "Enter sorts · again reverses · O: arrival order"
        options = []
        for col in self.columns:
            label = col.value
            if self.current is not None and self.current[0] is col:
                label += "  (now " + ("descending" if self.current[1] else "ascending") + ")"
            options.append(Option(label, id=col.name))
        with box:
            yield OptionList(*options, id="sort-columns")

    def on_mount(self) -> None:
        self.query_one("#sort-columns", OptionList).focus()

    @on(OptionList.OptionSelected, "#sort-columns")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        col = SortColumn[event.option.id or "NUMBER"]
        descending = self.current is not None and self.current[0] is col and not self.current[1]
        self.dismiss((col, descending))

    def action_cancel(self) -> None:
        self.dismiss(None)
