"""The Tunnels tool: per tunnel and direction, what the tunnel did between inner and outer.

The figures come from the session's linker (``analysis.links``), which the pump
keeps up to date; this screen only copies them (under the linker's lock, a
few dozen rows) and lays them out in a thread worker, again every second on a live
capture.
Enter on a row dismisses with the tunnel's filter expression (the main screen
applies it), Escape with None.
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
from textual.widgets import Static

from tapwatch.analysis.tunnelstats import (
    TUNNEL_COLUMNS,
    TunnelStats,
    tunnel_filter,
    tunnel_notes,
    tunnel_rows,
)
from tapwatch.sanitize import printable, printable_lines
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.table import LineTable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tapwatch.analysis.links import Linker

LIVE_REFRESH_S = 1.0
#: notes shown under the table at most (the ICMP messages of a long capture are many)
MAX_NOTES = 40


class TunnelsScreen(ReportsWorkerFailures, ModalScreen["str | None"]):
    """Time inside, overhead, lost packets, MTU trouble and counters, per tunnel and direction."""

    CSS_PATH = "tunnels.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    class Ready(Message):
        """A worker laid out the linker's figures."""

        def __init__(
            self, tunnels: list[TunnelStats], rows: list[tuple[str, ...]], notes: str
        ) -> None:
            super().__init__()
            self.tunnels = tunnels
            self.rows = rows
            self.notes = notes

    def __init__(self, linker: Linker, ifnames: Sequence[str], *, live: bool) -> None:
        super().__init__()
        self.linker = linker
        self.ifnames = [printable(n) for n in ifnames]
        self.live = live
        self.tunnels: list[TunnelStats] = []

    def compose(self) -> ComposeResult:
        box = Vertical(id="tunnels-box", classes="tool")
        box.border_title = "Tunnels"
        box.border_subtitle = "Enter filters the list to a tunnel's outer packets · Esc"
        with box:
            yield Static("", id="tunnels-head")
            yield LineTable(TUNNEL_COLUMNS, id="tunnels-table")
            yield Static("", id="tunnels-notes")

    def on_mount(self) -> None:
        if self.live:
            self.set_interval(LIVE_REFRESH_S, self.refresh_table)
        self.refresh_table()
        self.query_one(LineTable).focus()

    def _ifname(self, i: int) -> str:
        return self.ifnames[i] if i < len(self.ifnames) else f"if{i}"

    def refresh_table(self) -> None:
        """Copy the linker's figures and lay them out, in a worker (sorting the delays of a
        long capture takes milliseconds a direction)."""
        self._build()

    @work(thread=True, exclusive=True, group="tunnels", exit_on_error=False)
    def _build(self) -> None:
        tunnels = sorted(self.linker.snapshot(), key=lambda t: t.name)
        loose = self.linker.unattributed_too_big()
        rows = tunnel_rows(tunnels)
        notes = tunnel_notes(tunnels, loose, self._ifname)
        more = len(notes) - MAX_NOTES
        text = "\n".join(notes[:MAX_NOTES]) + (f"\n… {more} more" if more > 0 else "")
        self.post_message(self.Ready(tunnels, rows, printable_lines(text)))

    def on_tunnels_screen_ready(self, message: TunnelsScreen.Ready) -> None:
        self.tunnels = message.tunnels
        self.query_one(LineTable).set_rows(message.rows, "Tunnel", False)
        if self.tunnels:
            n = len(self.tunnels)
            head = (
                f"{n} tunnel{'s' if n > 1 else ''}; times are the outer packet's stamp minus "
                "the inner one's (inbound: the other way); inferred links are matched by "
                "direction, time and length, not certain"
            )
        else:
            head = (
                "no tunnel seen: VXLAN, Geneve, GRE, IP-in-IP, L2TP, MPLS, WireGuard, OpenVPN "
                "and ESP outer packets are linked to the inner packets seen on another interface"
            )
        self.query_one("#tunnels-head", Static).update(Text(head))
        self.query_one("#tunnels-notes", Static).update(Text(message.notes))

    def rows_tunnels(self) -> list[TunnelStats]:
        """The tunnel of each row, in the table's order."""
        return [t for t in self.tunnels for _d in t.dirs]

    @on(LineTable.Chosen)
    def _chosen(self, event: LineTable.Chosen) -> None:
        tunnels = self.rows_tunnels()
        if 0 <= event.index < len(tunnels):
            self.dismiss(tunnel_filter(tunnels[event.index]))

    def action_close(self) -> None:
        self.dismiss(None)
