"""Go to a packet by its number."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tapwatch.widgets.inputs import SafeInput


class GotoScreen(ModalScreen["int | None"]):
    """Ask for a packet number."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, first: int, last: int) -> None:
        super().__init__()
        self.first = first
        self.last = last

    def compose(self) -> ComposeResult:
        box = Vertical(classes="dialog small")
        box.border_title = "Go to packet"
        with box:
            yield Label(f"packet number ({self.first:,} to {self.last:,} are held)")
            yield SafeInput(id="goto-number", type="integer", placeholder=str(self.first))
            yield Static("", id="goto-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#goto-number", Input).focus()

    @on(Input.Submitted, "#goto-number")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            number = int(event.value.replace(",", "").strip())
        except ValueError:
            self.query_one("#goto-error", Static).update("type a packet number")
            return
        self.dismiss(number)

    def action_cancel(self) -> None:
        self.dismiss(None)
