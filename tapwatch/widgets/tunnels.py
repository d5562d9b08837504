"""The Tunnels tool: per tunnel and direction, what the tunnel did between inner and outer.

The figures come from the session's linker (``analysis.links``), which the pump
keeps up to date; this screen only copies them (under the linker's lock, a
few dozen rows) and lays them out, again every second on a live capture.
Enter on a row dismisses with the tunnel's filter expression (the main screen
applies it), Escape with None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tapwatch.analysis.links import (
    TUNNEL_COLUMNS,
    TunnelStats,
    tunnel_filter,
    tunnel_notes,
    tunnel_rows,
)
from tapwatch.sanitize import printable, printable_lines
from tapwatch.widgets.table import LineTable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tapwatch.analysis.links import Linker

LIVE_REFRESH_S = 1.0
#: notes shown under the table at most (the ICMP messages of a long capture are many)
MAX_NOTES = 40


class TunnelsScreen(ModalScreen["str | None"]):
    """Time inside, overhead, lost packets, MTU trouble and counters, per tunnel and direction."""

    CSS_PATH = "tunnels.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

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
        """Copy the linker's figures and show them."""
        self.tunnels = sorted(self.linker.snapshot(), key=lambda t: t.name)
        loose = self.linker.unattributed_too_big()
        rows = tunnel_rows(self.tunnels)
        self.query_one(LineTable).set_rows(rows, "Tunnel", False)
        if self.tunnels:
            head = (
                f"{len(self.tunnels)} tunnel{'s' if len(self.tunnels) > 1 else ''}; times are "
                "the outer packet's stamp minus the inner one's (inbound: the other way); "
                "inferred links are matched by direction, time and length, not certain"
            )
        else:
            head = (
                "no tunnel seen: VXLAN, Geneve, GRE, IP-in-IP, L2TP, MPLS, WireGuard, OpenVPN "
                "and ESP outer packets are linked to the inner packets seen on another interface"
            )
        self.query_one("#tunnels-head", Static).update(Text(head))
        notes = tunnel_notes(self.tunnels, loose, self._ifname)
        more = len(notes) - MAX_NOTES
        text = "\n".join(notes[:MAX_NOTES]) + (f"\n… {more} more" if more > 0 else "")
        self.query_one("#tunnels-notes", Static).update(Text(printable_lines(text)))

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
