"""What to find: text, hex bytes or a filter expression, forward or back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RadioButton, RadioSet, Static

from tapwatch.analysis.find import FIND_KINDS, FindKind
from tapwatch.widgets.inputs import SafeInput


@dataclass
class FindRequest:
    kind: FindKind
    text: str
    forward: bool = True


class FindScreen(ModalScreen["FindRequest | None"]):
    """What to find: text, hex bytes or a filter; Enter finds forward, Shift+Enter back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+b", "back", "Find backwards"),
    ]

    LABELS: ClassVar[dict[FindKind, str]] = {
        "text": "text (in the bytes or the summary)",
        "hex": "hex bytes",
        "filter": "filter expression",
    }

    def __init__(self, kind: FindKind = "text", text: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.text = text

    def compose(self) -> ComposeResult:
        box = Vertical(classes="dialog")
        box.border_title = "Find a packet"
        box.border_subtitle = "Enter finds forward · ctrl+b backwards · n / N repeat"
        with box:
            with RadioSet(id="find-kind"):
                for kind in FIND_KINDS:
                    yield RadioButton(
                        self.LABELS[kind], value=kind == self.kind, id=f"find-kind-{kind}"
                    )
            yield SafeInput(
                self.text, id="find-text", placeholder="GET /   ·   de ad be ef   ·   tcp port 80"
            )
            yield Static("", id="find-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#find-text", Input).focus()

    def _kind(self) -> FindKind:
        for kind in FIND_KINDS:
            if self.query_one(f"#find-kind-{kind}", RadioButton).value:
                return kind
        return "text"

    def _request(self, forward: bool) -> None:
        text = self.query_one("#find-text", Input).value
        if not text.strip():
            self.query_one("#find-error", Static).update("type what to find")
            return
        self.dismiss(FindRequest(self._kind(), text, forward))

    @on(Input.Submitted, "#find-text")
    def _submit(self) -> None:
        self._request(True)

    def action_back(self) -> None:
        self._request(False)

    def action_cancel(self) -> None:
        self.dismiss(None)
