"""Craft a packet from a scapy expression, with a hex preview, and write it into the device.

The expression is evaluated in the sandbox process (:mod:`tapwatch.craft`), from a worker:
the UI thread only starts workers and shows their answers, whatever was pasted. Enter
writes the bytes the preview shows (the same random values), or those of the preview
still coming for the text as it is.
"""

from __future__ import annotations

import contextlib
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
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.hexview import dump_line
from tapwatch.widgets.inputs import SafeInput

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
) -> tuple[bytes, str] | str | None:
    """The preview (evaluated in the sandbox process), an error message, or None when a
    newer preview replaced it (never an exception)."""
    from tapwatch import craft

    try:
        data, summary = craft.preview(expr, linktype, eth_src=eth_src, eth_dst=eth_dst)
    except craft.Cancelled:
        return None
    except craft.CraftError as e:
        return str(e)
    except Exception as e:
        return f"{e.__class__.__name__}: {e}"
    return data, summary


class CraftScreen(ReportsWorkerFailures, ModalScreen[int | None]):
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
        #: the frame of the preview that matches the input now (None while stale)
        self.bytes: bytes | None = None
        self.error: str | None = None
        self._timer: Timer | None = None
        self._send_when_ready: str | None = None  # Enter pressed before the preview came
        self._result_expr: str | None = None  # the text the preview or error shown is for

    def _example(self) -> str:
        addrs = [a.split("/")[0] for a in self.session.info.addresses]
        v4 = next((a for a in addrs if ":" not in a), "192.168.3.11")
        if self.linktype == LINKTYPE_ETHERNET:
            return f'Ether()/IP(dst="{v4}")/ICMP()/b"hello"'
        return f'IP(dst="{v4}")/UDP(sport=4000, dport=9)/b"hello"'

    def compose(self) -> ComposeResult:
        box = Vertical(classes="dialog wide")
        # Text, not a str: a str title is markup, and an interface's name is anyone's
        # choice of bytes ("[@click=app.quit]" is a valid name)
        box.border_title = Text(f"Craft a packet to write into {printable(self.session.info.name)}")
        with box:
            yield Label(f"scapy expression, e.g.  {self._example()}", classes="hint", markup=False)
            yield SafeInput(placeholder=self._example(), id="craft-expr")
            yield Static("", id="craft-error", classes="error")
            yield Static(
                Text("type an expression: the bytes show up here", style="italic"),
                id="craft-preview",
                classes="hint",
            )
            yield Label("Enter sends · Escape closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#craft-expr", Input).focus()
        self._warm()

    @work(thread=True, group="craft-warm", exit_on_error=False)
    def _warm(self) -> None:
        """Start the sandbox now: it imports scapy while the user types the first characters."""
        from tapwatch import craft

        with contextlib.suppress(craft.CraftError):
            craft.warm()

    @on(Input.Changed, "#craft-expr")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.bytes = None  # what was previewed is not what the input says any more
        self._send_when_ready = None  # Enter meant the text as it was
        expr = event.value
        if not expr.strip():
            self._show_error(None)
            self._show_preview(Text("type an expression: the bytes show up here", style="italic"))
            return
        self._show_preview(Text("evaluating…", style="italic"))
        self._timer = self.set_timer(0.15, lambda: self._start_preview(expr))

    def _start_preview(self, expr: str) -> None:
        self._timer = None
        info = self.session.info
        self._preview(expr, self.linktype, info.peer_mac, info.mac)

    @work(thread=True, exclusive=True, group="craft-preview", exit_on_error=False)
    def _preview(self, expr: str, linktype: int, eth_src: str | None, eth_dst: str | None) -> None:
        """In a worker, and the sandbox kills an older preview still evaluating."""
        result = _preview_job(expr, linktype, eth_src, eth_dst)
        if result is not None:
            self.post_message(self.Preview(expr, result))

    def on_craft_screen_preview(self, message: CraftScreen.Preview) -> None:
        if message.expr != self.query_one("#craft-expr", Input).value:
            return  # stale: the user typed on
        send = self._send_when_ready == message.expr
        self._send_when_ready = None
        self._result_expr = message.expr
        result = message.result
        if isinstance(result, str):
            self.bytes = None
            self._show_error(result)
            self._show_preview(Text("nothing to send", style="italic"))
            return
        data, summary = result
        self.bytes = data
        self._show_error(None)
        self._show_preview(preview_text(data, summary))
        if send:
            self._inject(data)

    def _show_preview(self, content: Text) -> None:
        self.query_one("#craft-preview", Static).update(content)

    def _show_error(self, message: str | None) -> None:
        self.error = message
        self.query_one("#craft-error", Static).update(Text(printable(message or "")))
        self.query_one("#craft-expr", Input).set_class(message is not None, "-invalid")

    @on(Input.Submitted, "#craft-expr")
    def _send(self, event: Input.Submitted) -> None:
        """Send the previewed bytes (the same Rand values); if not previewed yet, once it is."""
        expr = event.value
        if not expr.strip():
            self._show_error("type a scapy expression first")
            return
        if self.bytes is not None:
            self._inject(self.bytes)
            return
        if self.error is not None and self._result_expr == expr:
            return  # the preview of this very text failed: its error is showing
        self._send_when_ready = expr
        self._show_preview(Text("evaluating… (Enter: sends when built)", style="italic"))
        if self._timer is not None:
            self._timer.stop()
            self._start_preview(expr)

    def _inject(self, data: bytes) -> None:
        try:
            self.session.inject(data)
        except action_errors() as e:
            self._show_error(str(e))
            return
        except Exception as e:
            self._show_error(f"{e.__class__.__name__}: {e}")
            return
        self.dismiss(len(data))

    def on_unmount(self) -> None:
        """A preview still evaluating is for nobody now: kill it (off the UI thread)."""
        from tapwatch import craft

        self.app.run_worker(craft.cancel_previews, thread=True, exit_on_error=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
