"""Modal screens: help, export to pcap, confirmations, go to, find, sort, and crafting a packet.

Each dialog reports problems inside itself or through a notification; none of
them lets an exception reach the user as a traceback. The help screen is
built from the bindings and the palette commands themselves (see
``widgets.keys``), so it lists exactly what the keys do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from tapwatch.analysis.find import FIND_KINDS, FindKind
from tapwatch.analysis.sorting import SortColumn
from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.sanitize import printable
from tapwatch.widgets.hexview import dump_line

if TYPE_CHECKING:
    from tapwatch.session import Session


def action_errors() -> tuple[type[Exception], ...]:
    """The exception types an action may raise with a message meant for the user."""
    from tapwatch import peer

    return (peer.PeerError,)


@dataclass(frozen=True)
class HelpEntry:
    """One line of the help: the key(s), what it does, and whether it can act now."""

    keys: str
    what: str
    available: bool = True


@dataclass(frozen=True)
class HelpSection:
    title: str
    entries: tuple[HelpEntry, ...]


#: Widest the help's key column gets (columns), whatever the longest command name.
KEY_COLUMN = 18


def help_table(sections: Iterable[HelpSection]) -> Group:
    """Every key, grouped: a heading and a two-column grid per group."""
    sections = list(sections)
    parts: list[Text | Table] = []
    for i, sec in enumerate(sections):
        parts.append(Text(("\n" if i else "") + sec.title, style="bold"))
        # the key column as wide as this group's keys, but never more than KEY_COLUMN: a
        # palette command's long name wraps rather than squeeze every description
        width = min(max((len(e.keys) for e in sec.entries), default=4), KEY_COLUMN)
        table = Table.grid(padding=(0, 2))
        table.add_column(min_width=width, max_width=width, style="bold")
        table.add_column()
        for e in sec.entries:
            what = Text(e.what)
            if not e.available:
                what.append("  (not available here)", style="italic")
                table.add_row(Text(e.keys, style="dim"), Text(what.plain, style="dim"))
            else:
                table.add_row(e.keys, what)
        parts.append(table)
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """All keys and palette commands; Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", show=True),
    ]

    def __init__(self, sections: Iterable[HelpSection]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        box = VerticalScroll(id="help-box")
        box.border_title = "tapwatch keys and commands"
        box.border_subtitle = "Escape closes"
        with box:
            yield Static(help_table(self.sections), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y or Enter on Yes says yes, n or Escape says no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(printable(self.question)), id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="warning", id="confirm-yes")
                yield Button(self.no, id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


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
            yield Input(id="goto-number", type="integer", placeholder=str(self.first))
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
            yield Input(
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


ExportWhat = Literal["all", "shown", "marked"]


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
            yield Input(self.default_path, id="export-path")
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


def preview_text(data: bytes, summary: str, max_lines: int = 24) -> Text:
    """A crafted packet as summary + hex dump, the way the hex pane shows bytes."""
    t = Text(no_wrap=True)
    t.append(f"{len(data)} bytes  ", "bold")
    t.append(printable(summary) + "\n")
    for n, off in enumerate(range(0, len(data), 16)):
        if n >= max_lines:
            t.append(f"… {len(data) - off} more bytes", "italic")
            break
        for seg in dump_line(data, off, 16, None):
            t.append(seg.text, seg.style)
        t.append("\n")
    return t


def _preview_job(
    expr: str, linktype: int, eth_src: str | None, eth_dst: str | None
) -> tuple[bytes, str] | str:
    """The preview, or an error message (never an exception)."""
    from tapwatch import craft

    try:
        return craft.preview(expr, linktype, eth_src=eth_src, eth_dst=eth_dst)
    except craft.CraftError as e:
        return str(e)
    except Exception as e:
        return f"{e.__class__.__name__}: {e}"


class CraftScreen(ModalScreen[int | None]):
    """Type a scapy expression, watch the bytes, Enter sends it (dismisses with the size)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    class Preview(Message):
        """A preview worker finished: the bytes and their summary, or an error."""

        def __init__(self, expr: str, result: tuple[bytes, str] | str) -> None:
            super().__init__()
            self.expr = expr
            self.result = result

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.linktype = session.linktype
        self.bytes: bytes | None = None
        self.error: str | None = None
        self._timer: Timer | None = None

    def _example(self) -> str:
        addrs = [a.split("/")[0] for a in self.session.info.addresses]
        v4 = next((a for a in addrs if ":" not in a), "192.168.3.11")
        if self.linktype == LINKTYPE_ETHERNET:
            return f'Ether()/IP(dst="{v4}")/ICMP()/b"hello"'
        return f'IP(dst="{v4}")/UDP(sport=4000, dport=9)/b"hello"'

    def compose(self) -> ComposeResult:
        box = Vertical(classes="dialog wide")
        box.border_title = f"Craft a packet to write into {printable(self.session.info.name)}"
        with box:
            yield Label(f"scapy expression, e.g.  {self._example()}", classes="hint", markup=False)
            yield Input(placeholder=self._example(), id="craft-expr")
            yield Static("", id="craft-error", classes="error")
            yield Static(
                Text("type an expression: the bytes show up here", style="italic"),
                id="craft-preview",
                classes="hint",
            )
            yield Label("Enter sends · Escape closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#craft-expr", Input).focus()

    @on(Input.Changed, "#craft-expr")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        expr = event.value.strip()
        if not expr:
            self.bytes = None
            self._show_error(None)
            return
        self._timer = self.set_timer(0.15, lambda: self._start_preview(expr))

    def _start_preview(self, expr: str) -> None:
        info = self.session.info
        self._preview(expr, self.linktype, info.peer_mac, info.mac)

    @work(thread=True, exclusive=True, group="craft-preview", exit_on_error=False)
    def _preview(self, expr: str, linktype: int, eth_src: str | None, eth_dst: str | None) -> None:
        self.post_message(self.Preview(expr, _preview_job(expr, linktype, eth_src, eth_dst)))

    def on_craft_screen_preview(self, message: CraftScreen.Preview) -> None:
        if message.expr != self.query_one("#craft-expr", Input).value.strip():
            return  # stale: the user typed on
        result = message.result
        if isinstance(result, str):
            self.bytes = None
            self._show_error(result)
        else:
            data, summary = result
            self.bytes = data
            self._show_error(None)
            self.query_one("#craft-preview", Static).update(preview_text(data, summary))

    def _show_error(self, message: str | None) -> None:
        self.error = message
        self.query_one("#craft-error", Static).update(Text(printable(message or "")))
        self.query_one("#craft-expr", Input).set_class(message is not None, "-invalid")

    @on(Input.Submitted, "#craft-expr")
    def _send(self, event: Input.Submitted) -> None:
        from tapwatch import craft

        expr = event.value.strip()
        if not expr:
            self._show_error("type a scapy expression first")
            return
        info = self.session.info
        refused: tuple[type[Exception], ...] = (craft.CraftError, *action_errors())
        try:
            data = craft.build(expr, self.linktype, eth_src=info.peer_mac, eth_dst=info.mac)
            self.session.inject(data)
        except refused as e:
            self._show_error(str(e))
            return
        except Exception as e:
            self._show_error(f"{e.__class__.__name__}: {e}")
            return
        self.dismiss(len(data))

    def action_cancel(self) -> None:
        self.dismiss(None)
