"""Per-protocol and per-interface counters: packets, bytes, rate, a sparkline of the last minute.

Protocol rows come from ``Stats.rows(now_ns)``, indented by layer depth so
the stack reads like a tree (Ethernet > IPv4 > UDP > DNS). The sparkline is
drawn with unicode block characters, one cell per second, scaled per row,
so a quiet protocol still shows its shape; a second with no packets is
blank. A session with several interfaces gets a table of them first: the
packets and bytes each carried, its arrival rate and what the kernel
dropped on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tapwatch.analysis.conversations import human_bytes
from tapwatch.sanitize import printable
from tapwatch.stats import HISTORY_SECONDS, ProtoRow
from tapwatch.widgets.theme import PROTO_CLASS_NAMES, proto_class

BLOCKS = " ▁▂▃▄▅▆▇█"
NAME_W = 12
NUM_W = 8
BYTES_W = 9
RATE_W = 6


@dataclass(frozen=True)
class InterfaceRow:
    """One interface of a several-interface session, for the counters table."""

    name: str
    kind: str
    packets: int
    bytes: int
    pps: float
    kernel_drops: int | None


def sparkline(history: Sequence[int], width: int, span: int = HISTORY_SECONDS) -> str:
    """The last ``span`` seconds in at most ``width`` cells, right-aligned.

    When the minute does not fit, each cell covers several seconds and shows
    their busiest one, so a one-second burst never disappears.
    """
    if width <= 0:
        return ""
    values = list(history)[-span:]
    values = [0] * (span - len(values)) + values
    per_cell = -(-span // width)  # ceil
    cells = [max(values[i : i + per_cell]) for i in range(0, span, per_cell)]
    top = max(cells)
    if top <= 0:
        return " " * width
    out = []
    for v in cells:
        if v <= 0:
            out.append(" ")
        else:
            out.append(BLOCKS[max(1, min(8, round(v / top * 8)))])
    return "".join(out).rjust(width)


def _default_style(name: str) -> Style:
    return Style()


def render_counters(
    rows: list[ProtoRow],
    width: int,
    interfaces: Sequence[InterfaceRow] = (),
    style: Callable[[str], Style | str] = _default_style,
    header: Style | str = "bold",
    muted: Style | str = "italic",
    body: Style | str = "",
) -> Text:
    """The tables as Text: interfaces (when several), then one line per protocol layer."""
    spark_w = max(0, width - NAME_W - NUM_W - BYTES_W - RATE_W - 4)
    t = Text(no_wrap=True, overflow="crop")
    if interfaces:
        t.append(
            f"{'Interface':<{NAME_W}}{'Packets':>{NUM_W}} {'Bytes':>{BYTES_W}} "
            f"{'/s':>{RATE_W}} {'kernel drops':>12}".rstrip()
            + "\n",
            header,
        )
        for iface in interfaces:
            drops = "?" if iface.kernel_drops is None else f"{iface.kernel_drops:,}"
            t.append(f"{printable(iface.name)[:NAME_W]:<{NAME_W}}", header)
            t.append(
                f"{iface.packets:>{NUM_W},} {human_bytes(iface.bytes):>{BYTES_W}} "
                f"{iface.pps:>{RATE_W},.0f} {drops:>12}\n",
                body,
            )
        t.append("\n")
    # one cell per second while the history fits, the whole minute squeezed once it does not
    longest = max((len(r.history) for r in rows), default=0)
    span = HISTORY_SECONDS if longest > spark_w else spark_w
    head = (
        f"{'Protocol':<{NAME_W}}{'Packets':>{NUM_W}} {'Bytes':>{BYTES_W}} "
        f"{'/s':>{RATE_W}} {f'last {span} s'[:spark_w]:<{spark_w}}"
    )
    t.append(head.rstrip() + "\n", header)
    if not rows:
        t.append("no packets yet", muted)
        return t
    for i, r in enumerate(rows):
        name = ("  " * r.depth + r.name)[:NAME_W]
        colour = style(proto_class(r.name))
        t.append(f"{name:<{NAME_W}}", colour)
        t.append(
            f"{r.packets:>{NUM_W},} {human_bytes(r.bytes):>{BYTES_W}} {r.pps:>{RATE_W},.0f} ", body
        )
        t.append(sparkline(r.history, spark_w, span), colour)
        if i + 1 < len(rows):
            t.append("\n")
    return t


class CountersPane(VerticalScroll):
    """Scrollable counters tables; the screen feeds them rows about twice a second."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"counters--{n}" for n in PROTO_CLASS_NAMES} | {
        "counters--header",
        "counters--muted",
        "counters--body",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._body = Static("", expand=True)
        self._key: tuple[object, ...] | None = None
        self._rows: list[ProtoRow] = []
        self._ifaces: Sequence[InterfaceRow] = ()
        self._styles: dict[str, Style] = {}

    def compose(self) -> ComposeResult:
        yield self._body

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        self._styles = {}
        self._key = None
        self.show(self._rows, self._ifaces)

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"counters--{name}")
        return style

    def on_resize(self) -> None:
        self.show(self._rows, self._ifaces)

    def show(self, rows: list[ProtoRow], interfaces: Sequence[InterfaceRow] = ()) -> None:
        self._rows = rows
        self._ifaces = interfaces
        width = max(20, self.scrollable_content_region.width)
        key = (width, tuple(rows), tuple(interfaces))
        if key == self._key:
            return
        self._key = key
        self._body.update(
            render_counters(
                rows,
                width,
                interfaces,
                self._style,
                self._style("header"),
                self._style("muted"),
                self._style("body"),
            )
        )
