"""A read-only table of text rows for the analysis tools, drawn line by line.

Conversations of a large capture run into the tens of thousands; Textual's
DataTable measures and stores every row, this draws only the visible ones
(like the packet list). Columns share the width by their hints, the last one
taking the rest; a click on a header posts :class:`LineTable.HeaderClicked`
(the tool re-sorts), Enter or a double click posts :class:`LineTable.Chosen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tapwatch.analysis.conversations import Column
from tapwatch.sanitize import printable


def _fit(text: str, width: int, right: bool = False) -> str:
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


#: Rows measured for the columns' content widths (the table may hold tens of thousands).
NEED_SAMPLE = 2000


class LineTable(ScrollView, can_focus=True):
    """Rows of text cells with a pinned header, a cursor and sortable columns."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "First", show=False),
        Binding("end,G", "edge(1)", "Last", show=False),
        Binding("enter", "choose", "Filter the list to it", show=True),
        Binding("left,h", "sort_step(-1)", "Sort by the column left", show=False),
        Binding("right,l", "sort_step(1)", "Sort by the column right", show=False),
        Binding("r", "reverse", "Reverse the order", show=True),
        Binding("shift+left,H", "scroll_columns(-1)", "Columns left", show=False),
        Binding("shift+right,L", "scroll_columns(1)", "Columns right", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        "line-table--row",
        "line-table--sorted",
    }

    class HeaderClicked(Message):
        def __init__(self, table: LineTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

    class Chosen(Message):
        def __init__(self, table: LineTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.rows: Sequence[tuple[str, ...]] = ()
        self.cursor = 0
        self.sort_column = ""
        self.descending = True
        self._need: list[int] = []
        #: columns scrolled out of sight on the left (shift+left/right)
        self.col_offset = 0

    def set_rows(self, rows: Sequence[tuple[str, ...]], sort_column: str, descending: bool) -> None:
        self.rows = rows
        self._need = []
        self.sort_column = sort_column
        self.descending = descending
        self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.virtual_size = Size(self.scrollable_content_region.width, len(rows) + 1)
        titles = [c.title for c in self.columns]
        if sort_column in titles and titles.index(sort_column) < self.col_offset:
            self.col_offset = titles.index(sort_column)  # the sorted column in sight
        self.refresh()

    def _needs(self) -> list[int]:
        """Each column's width for its title (and sort arrow) and its longest cell among
        the first rows; measured once per set of rows."""
        if len(self._need) != len(self.columns):
            need = [len(c.title) + 2 for c in self.columns]
            for row in self.rows[:NEED_SAMPLE]:
                for i, cell in enumerate(row[: len(need)]):
                    if len(cell) > need[i]:
                        need[i] = len(cell)
            self._need = need
        return self._need

    def _layout(self, width: int) -> list[int]:
        """Column widths for ``width`` cells; 0 hides a column.

        Roomy: the width hints, widened to the content (a left-aligned last column takes
        the rest). Narrow: the columns from the horizontal scroll position on (shift+arrows),
        each as wide as its content, and the ones that give way first (``Column.keep``)
        hidden until the rest fit, so addresses stay whole while totals drop out; the sorted
        column is never the one hidden (its arrow stays in sight).
        """
        need = self._needs()
        hints = [max(c.width, n) for c, n in zip(self.columns, need, strict=False)]
        total = sum(hints) + len(hints) - 1
        if width >= total and self.col_offset == 0:
            widths = list(hints)
            if not self.columns[-1].right:  # numbers stay by their neighbours
                widths[-1] += width - total
            return widths
        widths = [0 if i < self.col_offset else n for i, n in enumerate(need)]
        order = sorted(
            (i for i in range(len(widths)) if widths[i]),
            key=lambda i: (-self.columns[i].keep, -i),
        )
        for i in order:
            shown = [w for w in widths if w]
            if sum(shown) + len(shown) - 1 <= width or self.columns[i].keep == 0:
                break
            if self.columns[i].title != self.sort_column:
                widths[i] = 0
        while sum(w for w in widths if w) + len([w for w in widths if w]) - 1 > width:
            last = max(i for i, w in enumerate(widths) if w)  # still too wide: cut at the right
            if last == min(i for i, w in enumerate(widths) if w):
                widths[last] = width
                break
            widths[last] = 0
        shown = [i for i, w in enumerate(widths) if w]
        spare = width - (sum(widths) + len(shown) - 1)
        if spare > 0 and shown and not self.columns[shown[-1]].right:
            widths[shown[-1]] += spare
        return widths

    def action_scroll_columns(self, step: int) -> None:
        """Shift+arrows: the columns shown start one further right or left."""
        self.col_offset = max(0, min(len(self.columns) - 1, self.col_offset + step))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width  # the scrollbar's column is not ours
        widths = self._layout(width)
        get = self.get_component_rich_style
        if y == 0:
            parts = []
            for col, w in zip(self.columns, widths, strict=False):
                if not w:
                    continue
                title = col.title
                if col.title == self.sort_column:
                    title += " ▼" if self.descending else " ▲"
                parts.append(_fit(title, w, col.right))
            head = _fit(" ".join(parts), width)
            shown = [i for i, w in enumerate(widths) if w]
            if shown and width > 2:  # columns out of sight: an arrow says which side
                if any(not w for w in widths[: shown[0]]):
                    head = "‹" + head[1:]
                if any(not w for w in widths[shown[-1] + 1 :]) or any(
                    not widths[i] for i in range(shown[0], shown[-1])
                ):
                    head = head[:-1] + "›"
            return Strip([Segment(head, get("line-table--header"))], width)
        index = self.scroll_offset.y + y - 1
        if not 0 <= index < len(self.rows):
            return Strip.blank(width)
        cells = self.rows[index]
        text = " ".join(
            _fit(printable(cell), w, col.right)
            for cell, col, w in zip(cells, self.columns, widths, strict=False)
            if w
        )
        style: Style = get("line-table--row")
        if index == self.cursor:
            style += get("line-table--cursor" if self.has_focus else "line-table--sorted")
        return Strip([Segment(_fit(text, width), style)], width)

    # ----- movement -----
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        old = self.cursor
        self.cursor = max(0, min(index, len(self.rows) - 1))
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + self.page_rows:
            self.scroll_to(y=self.cursor - self.page_rows + 1, animate=False, force=True)
        for i in (old, self.cursor):
            line = i - self.scroll_offset.y + 1
            if 0 < line < self.size.height:
                self.refresh(Region(0, line, self.size.width, 1))

    def action_move(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, step: int) -> None:
        self.move_to(self.cursor + step * self.page_rows)

    def action_edge(self, end: int) -> None:
        self.move_to(len(self.rows) - 1 if end else 0)

    def action_choose(self) -> None:
        if self.rows:
            self.post_message(self.Chosen(self, self.cursor))

    def action_sort_step(self, step: int) -> None:
        titles = [c.title for c in self.columns]
        at = titles.index(self.sort_column) if self.sort_column in titles else 0
        self.post_message(self.HeaderClicked(self, titles[(at + step) % len(titles)]))

    def action_reverse(self) -> None:
        if self.sort_column:
            self.post_message(self.HeaderClicked(self, self.sort_column))

    def on_click(self, event: events.Click) -> None:
        line = event.y - self.gutter.top
        if line == 0:
            widths = self._layout(self.scrollable_content_region.width)
            x = event.x - self.gutter.left
            for col, w in zip(self.columns, widths, strict=False):
                if not w:
                    continue
                if x <= w:
                    self.post_message(self.HeaderClicked(self, col.title))
                    return
                x -= w + 1
            return
        index = self.scroll_offset.y + line - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.post_message(self.Chosen(self, index))
            self.move_to(index)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.rows) + 1)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
