"""Craft a packet from a scapy expression, with a hex preview, and write it into the device."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.sanitize import printable
from tapwatch.widgets.dialogs import action_errors
from tapwatch.widgets.hexview import dump_line

if TYPE_CHECKING:
    from tapwatch.session import Session


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
