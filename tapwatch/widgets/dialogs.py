"""Modal screens: help, export to pcap, and crafting a packet to inject.

Each dialog reports problems inside itself or through a notification; none of
them lets an exception reach the user as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState

from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.widgets.hexview import dump_line

if TYPE_CHECKING:
    from tapwatch.session import Session

#: (key, what it does) by group: the help screen and the README list the same keys.
KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Capture and view", (
        ("space", "pause / resume the display (capture continues; new packets are counted)"),
        ("/", "display filter, tcpdump syntax: red while invalid, green when valid; "
              "Enter applies, Escape cancels, empty clears"),
        ("c", "clear: forget every packet held (capture and pcap output go on)"),
        ("w", "write to a pcap/pcapng file: everything, or only what the filter shows"),
        ("p", "show / hide the protocol counters"),
    )),
    ("Moving around", (
        ("Tab / Shift+Tab", "next / previous pane (packets, tree, hex, counters)"),
        ("↑ ↓  k j", "previous / next packet (or tree node)"),
        ("PgUp PgDn", "a page up / down"),
        ("Home g", "first packet"),
        ("End G", "last packet, and follow new ones again"),
        ("Enter → ← l h", "in the tree: expand / collapse a layer; * all, - none"),
        ("mouse", "click a packet or a tree node; wheel scrolls"),
    )),
    ("Acting as the peer (live devices)", (
        ("e", "echo mode: every frame the host sends is written back"),
        ("r", "reply mode: answer ARP / neighbour solicitation and pings like a host"),
        ("d", "drop mode: stay silent (the default)"),
        ("s", "send the selected packet again into the device"),
        ("i", "craft a packet from a scapy expression (live hex preview), Enter sends it"),
    )),
    ("General", (
        ("?", "this help"),
        ("q", "quit"),
    )),
)


def action_errors() -> tuple[type[Exception], ...]:
    """The exception types an action may raise with a message meant for the user."""
    from tapwatch import peer

    return (peer.PeerError,)


def help_table() -> Group:
    """Every key, grouped: a heading and a two-column grid per group."""
    width = max(len(key) for _, keys in KEYS for key, _ in keys)
    parts: list[Text | Table] = []
    for i, (group, keys) in enumerate(KEYS):
        parts.append(Text(("\n" if i else "") + group, style="bold #61afef"))
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold #e5c07b", no_wrap=True, min_width=width)
        table.add_column(style="#d7dae0")
        for key, what in keys:
            table.add_row(key, what)
        parts.append(table)
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """All keys; Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", show=True),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 96;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        box = VerticalScroll()
        box.border_title = "tapwatch keys"
        box.border_subtitle = "Escape closes"
        with box:
            yield Static(help_table())

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


@dataclass
class ExportRequest:
    """What the export dialog asks for."""

    path: str
    only_shown: bool


class ExportScreen(ModalScreen["ExportRequest | None"]):
    """Propose a file name and what to write; the app does the writing."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
    }
    ExportScreen > Vertical {
        width: 80;
        max-width: 95%;
        height: auto;
        border: round $accent;
        background: $panel;
        padding: 0 1;
    }
    ExportScreen RadioSet {
        width: 100%;
        margin: 1 0 0 0;
    }
    ExportScreen Horizontal {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    ExportScreen Button {
        margin-left: 2;
    }
    """

    def __init__(self, default_path: str, total: int, shown: int, filtered: bool) -> None:
        super().__init__()
        self.default_path = default_path
        self.total = total
        self.shown = shown
        self.filtered = filtered

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = "Write packets to a file"
        with box:
            yield Label("File (.pcapng → pcapng, anything else → classic pcap):")
            yield Input(self.default_path, id="export-path")
            with RadioSet(id="export-what"):
                yield RadioButton(f"everything in the ring ({self.total:,} packets)",
                                  value=not self.filtered, id="export-all")
                yield RadioButton(f"only what the filter shows ({self.shown:,} packets)",
                                  value=self.filtered, id="export-shown",
                                  disabled=not self.filtered)
            with Horizontal():
                yield Button("Write", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def _submit(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.notify("give a file name", severity="error")
            return
        only = self.query_one("#export-shown", RadioButton).value
        self.dismiss(ExportRequest(path, bool(only and self.filtered)))

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
    t.append(f"{len(data)} bytes  ", "bold #98c379")
    t.append(summary + "\n", "#e6e6e6")
    for n, off in enumerate(range(0, len(data), 16)):
        if n >= max_lines:
            t.append(f"… {len(data) - off} more bytes", "italic #7f8c9d")
            break
        for seg in dump_line(data, off, 16, None):
            t.append(seg.text, seg.style)
        t.append("\n")
    return t


def _preview_job(expr: str, linktype: int, eth_src: str | None,
                 eth_dst: str | None) -> tuple[bytes, str] | str:
    """Worker body: the preview, or an error message (never an exception)."""
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

    DEFAULT_CSS = """
    CraftScreen {
        align: center middle;
    }
    CraftScreen > Vertical {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        background: $panel;
        padding: 0 1;
    }
    CraftScreen #craft-preview {
        height: auto;
        max-height: 20;
        margin-top: 1;
    }
    CraftScreen #craft-error {
        color: $text-error;
        height: auto;
    }
    CraftScreen .hint {
        color: $text-muted;
    }
    """

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
        box = Vertical()
        box.border_title = f"Craft a packet to write into {self.session.info.name}"
        with box:
            yield Label(f"scapy expression, e.g.  {self._example()}", classes="hint",
                        markup=False)
            yield Input(placeholder=self._example(), id="craft-expr")
            yield Static("", id="craft-error")
            yield Static(Text("type an expression: the bytes show up here", style="italic"),
                         id="craft-preview", classes="hint")
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
        self.run_worker(
            lambda: (expr, _preview_job(expr, self.linktype, info.peer_mac, info.mac)),
            thread=True, exclusive=True, group="craft-preview", exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "craft-preview" or event.state != WorkerState.SUCCESS:
            return
        expr, result = event.worker.result  # type: ignore[misc]
        if expr != self.query_one("#craft-expr", Input).value.strip():
            return  # stale: the user typed on
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
        self.query_one("#craft-error", Static).update(Text(message or ""))
        self.query_one("#craft-expr", Input).set_class(message is not None, "-invalid")

    @on(Input.Submitted, "#craft-expr")
    def _send(self, event: Input.Submitted) -> None:
        from tapwatch import craft

        expr = event.value.strip()
        if not expr:
            self._show_error("type a scapy expression first")
            return
        info = self.session.info
        try:
            data = craft.build(expr, self.linktype, eth_src=info.peer_mac, eth_dst=info.mac)
            self.session.inject(data)
        except (craft.CraftError, *action_errors()) as e:
            self._show_error(str(e))
            return
        except Exception as e:
            self._show_error(f"{e.__class__.__name__}: {e}")
            return
        self.dismiss(len(data))

    def action_cancel(self) -> None:
        self.dismiss(None)
