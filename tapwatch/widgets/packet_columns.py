"""The packet list's columns: which ones a list width shows, and how wide each is.

Columns grow with the width: the addresses take what the longest address seen needs (a
full IPv6 address on a wide screen), Info takes the rest and ends with an ellipsis when it
is cut. With several interfaces an interface column appears; a file without directions has
no Dir column. Computed once per change of width or content, never per row.
"""

from __future__ import annotations

from tapwatch.analysis.sorting import SortColumn

#: Widest an address column grows (a full IPv6 address), narrowest it shrinks.
ADDR_MAX = 39
ADDR_MIN = 12
#: a MAC address (ARP rows): the addresses get this much before Info's third is weighed
ADDR_MAC = 17
DIR_WIDTH = 5
#: Info's share before the addresses grow past ADDR_MIN ("Echo (ping) request id…")
INFO_FIRST = 22


def fit(text: str, width: int, right: bool = False) -> str:
    """Pad or truncate ``text`` to exactly ``width`` cells (ellipsis when cut)."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


#: The list width from which the Protocol column holds a whole "WireGuard" or "OpenVPN".
PROTO_WIDE_FROM = 150


class Columns:
    """Column widths for one list width, computed once per change of width or content."""

    __slots__ = ("addr", "dir", "iface", "info", "length", "no", "proto", "spans", "time", "width")

    def __init__(
        self,
        width: int,
        max_seq: int,
        *,
        time_width: int = 11,
        iface_width: int = 0,
        addr_seen: int = ADDR_MIN,
        directions: bool = True,
    ) -> None:
        self.width = width
        self.no = max(5, len(str(max_seq)) + 1)  # +1: room for the mark
        self.time = time_width
        self.iface = iface_width
        #: the Dir column, only where packets have a direction (not a file without any)
        self.dir = DIR_WIDTH if directions else 0
        #: Wireshark's protocol names run to 9 ("WireGuard"); a narrow list keeps 6 for Info
        self.proto = 9 if width >= PROTO_WIDE_FROM else 6
        self.length = 5 if width >= 100 else 4
        gaps = 6 + (1 if iface_width else 0) + (1 if directions else 0)
        fixed = self.no + self.time + self.iface + self.dir + self.proto + self.length + gaps
        rest = max(0, width - fixed)
        # Info gets the width first (INFO_FIRST: enough to tell a request from a reply), then
        # the addresses what the longest one seen needs, up to a full IPv6 address; Info
        # takes what is left
        want = max(ADDR_MIN, min(ADDR_MAX, addr_seen))
        share = max(ADDR_MIN, (rest - INFO_FIRST) // 2)
        self.addr = max(8, min(want, share, max(ADDR_MAC, rest // 3)))
        self.info = max(0, rest - 2 * self.addr)
        spans: dict[SortColumn, tuple[int, int]] = {}
        x = 0
        for col, w in self.layout():
            spans[col] = (x, x + w)
            x += w + 1
        self.spans = spans

    def layout(self) -> list[tuple[SortColumn, int]]:
        cols = [(SortColumn.NUMBER, self.no), (SortColumn.TIME, self.time)]
        if self.iface:
            cols.append((SortColumn.INTERFACE, self.iface))
        if self.dir:
            cols.append((SortColumn.DIRECTION, self.dir))
        cols += [
            (SortColumn.SOURCE, self.addr),
            (SortColumn.DESTINATION, self.addr),
            (SortColumn.PROTOCOL, self.proto),
            (SortColumn.LENGTH, self.length),
            (SortColumn.INFO, self.info),
        ]
        return cols

    def column_at(self, x: int) -> SortColumn | None:
        for col, (lo, hi) in self.spans.items():
            if lo <= x < hi + 1:
                return col
        return None

    def header(self, sort: tuple[SortColumn, bool] | None = None) -> str:
        right = {SortColumn.NUMBER, SortColumn.TIME, SortColumn.LENGTH}
        parts = []
        for col, w in self.layout():
            title = "Iface" if col is SortColumn.INTERFACE else col.value
            if sort is not None and sort[0] is col:
                title += " ▼" if sort[1] else " ▲"
            parts.append(fit(title, w, right=col in right))
        return fit(" ".join(parts), self.width)
