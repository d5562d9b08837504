"""Write packets to a file: the name, and everything, what the filter shows or the marked ones."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from tapwatch.sanitize import printable
from tapwatch.widgets.dialogs.confirm import ConfirmScreen
from tapwatch.widgets.inputs import SafeInput

ExportWhat = Literal["all", "shown", "marked"]


def default_export_path(name: str) -> str:
    """Where the write dialog proposes to write ``name``: in the working directory, spelled
    out when its name can be shown as it is, else ``name`` alone (relative: the same file).

    The directory's name is the user's (or another's: tapwatch runs as root in whatever
    directory it was started) and may hold escapes; shown escaped, it would name another
    directory.
    """
    cwd = os.getcwd()
    return os.path.join(cwd, name) if printable(cwd) == cwd else name


@dataclass
class ExportRequest:
    """What the export dialog asks for."""

    path: str
    what: ExportWhat = "all"

    @property
    def only_shown(self) -> bool:
        return self.what == "shown"


class ExportScreen(ModalScreen["ExportRequest | None"]):
    """Propose a file name and what to write; asks before overwriting; the app writes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, default_path: str, total: int, shown: int, filtered: bool, marked: int = 0
    ) -> None:
        super().__init__()
        self.default_path = default_path
        self.total = total
        self.shown = shown
        self.filtered = filtered
        self.marked = marked

    def compose(self) -> ComposeResult:
        box = Vertical(classes="dialog wide")
        box.border_title = "Write packets to a file"
        with box:
            yield Label("File (.pcapng → pcapng, anything else → classic pcap):")
            yield SafeInput(self.default_path, id="export-path")
            with RadioSet(id="export-what"):
                yield RadioButton(
                    f"everything in the ring ({self.total:,} packets)",
                    value=not self.filtered and not self.marked,
                    id="export-all",
                )
                yield RadioButton(
                    f"only what the filter shows ({self.shown:,} packets)",
                    value=self.filtered and not self.marked,
                    id="export-shown",
                    disabled=not self.filtered,
                )
                yield RadioButton(
                    f"only the marked packets ({self.marked:,})",
                    value=bool(self.marked),
                    id="export-marked",
                    disabled=not self.marked,
                )
            with Horizontal(classes="buttons"):
                yield Button("Write", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def _what(self) -> ExportWhat:
        if self.marked and self.query_one("#export-marked", RadioButton).value:
            return "marked"
        if self.filtered and self.query_one("#export-shown", RadioButton).value:
            return "shown"
        return "all"

    def _submit(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.notify("give a file name", severity="error")
            return
        request = ExportRequest(path, self._what())
        full = os.path.abspath(os.path.expanduser(path))
        if os.path.exists(full):

            def answered(yes: bool | None) -> None:
                if yes:
                    self.dismiss(request)

            self.app.push_screen(
                ConfirmScreen(f"{full} exists. Overwrite it?", "Overwrite", "Keep it"), answered
            )
            return
        self.dismiss(request)

    @on(Input.Submitted, "#export-path")
    def _path_submitted(self) -> None:
        self._submit()

    @on(Button.Pressed, "#export-ok")
    def _ok(self) -> None:
        self._submit()

    @on(Button.Pressed, "#export-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
