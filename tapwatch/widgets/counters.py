"""Per-protocol counters: packets, bytes, rate and a sparkline of the last minute.

Rows come from ``Stats.rows(now_ns)``, indented by layer depth so the stack
reads like a tree (Ethernet > IPv4 > UDP > DNS). The sparkline is drawn with
unicode block characters, one cell per second, scaled per row, so a quiet
protocol still shows its shape; a second with no packets is blank.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tapwatch.stats import HISTORY_SECONDS, ProtoRow
from tapwatch.widgets.packet_list import DEFAULT_COLOR, MALFORMED_COLOR, PROTO_COLORS
from tapwatch.widgets.status import human_bytes

BLOCKS = " ▁▂▃▄▅▆▇█"
NAME_W = 12
NUM_W = 8
BYTES_W = 9
RATE_W = 6


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


def render_counters(rows: list[ProtoRow], width: int) -> Text:
    """The table as Text: a header line, then one line per protocol layer."""
    spark_w = max(0, width - NAME_W - NUM_W - BYTES_W - RATE_W - 4)
    # one cell per second while the history fits, the whole minute squeezed once it does not
    longest = max((len(r.history) for r in rows), default=0)
    span = HISTORY_SECONDS if longest > spark_w else spark_w
    t = Text(no_wrap=True, overflow="crop")
    header = (f"{'Protocol':<{NAME_W}}{'Packets':>{NUM_W}} {'Bytes':>{BYTES_W}} "
              f"{'/s':>{RATE_W}} {f'last {span} s'[:spark_w]:<{spark_w}}")
    t.append(header.rstrip() + "\n", "bold #e6e6e6")
    if not rows:
        t.append("no packets yet", "italic #7f8c9d")
        return t
    for i, r in enumerate(rows):
        name = ("  " * r.depth + r.name)[:NAME_W]
        color = MALFORMED_COLOR if r.name == "malformed" else PROTO_COLORS.get(r.name,
                                                                                DEFAULT_COLOR)
        t.append(f"{name:<{NAME_W}}", f"bold {color}")
        t.append(f"{r.packets:>{NUM_W},} {human_bytes(r.bytes):>{BYTES_W}} "
                 f"{r.pps:>{RATE_W},.0f} ", "#d7dae0")
        t.append(sparkline(r.history, spark_w, span), color)
        if i + 1 < len(rows):
            t.append("\n")
    return t


class CountersPane(VerticalScroll):
    """Scrollable counters table; the app feeds it rows about twice a second."""

    DEFAULT_CSS = """
    CountersPane {
        background: $surface;
    }
    CountersPane > Static {
        width: 100%;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static("", expand=True)
        self._key: tuple[object, ...] | None = None
        self._rows: list[ProtoRow] = []

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._body

    def on_resize(self) -> None:
        self.show(self._rows)

    def show(self, rows: list[ProtoRow]) -> None:
        self._rows = rows
        width = max(20, self.scrollable_content_region.width)
        key = (width, tuple(rows))
        if key == self._key:
            return
        self._key = key
        self._body.update(render_counters(rows, width))
