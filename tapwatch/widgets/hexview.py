"""Hex and ASCII dump of the selected packet, with the selected field's bytes highlighted.

A Line-API view like the packet list: a jumbo frame is 4,000+ dump lines and
only the visible ones are formatted. The width decides 16 or 8 bytes per line
so the dump never wraps. Colours come from the theme through component
classes (``hex-view--offset`` ...); the module-level styles are the defaults
used outside the app (the craft dialog's preview, tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment, Segments
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip

from tapwatch.widgets.styled_lines import FITS as STYLED_LINES_FIT
from tapwatch.widgets.styled_lines import StyledLines

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

OFFSET_STYLE = Style(color="#7f8c9d")
HEX_STYLE = Style(color="#d7dae0")
ASCII_STYLE = Style(color="#98c379")
DOT_STYLE = Style(color="#5c6370")
MARK_STYLE = Style(color="#1e1e1e", bgcolor="#e5c07b", bold=True)
#: dump lines kept (a pane shows ~40; cleared whole when full)
LINES_KEPT = 1024
PRINTABLE = frozenset(range(0x20, 0x7F))


def bytes_per_line(width: int) -> int:
    """16 when ``offset  hex x16  ascii x16`` fits, else 8 (or 4 on tiny panes)."""
    for n in (16, 8):
        if 6 + 3 * n + (1 if n > 8 else 0) + 1 + n <= width:
            return n
    return 4


@dataclass(frozen=True)
class HexStyles:
    offset: Style = OFFSET_STYLE
    hex: Style = HEX_STYLE
    ascii: Style = ASCII_STYLE
    dot: Style = DOT_STYLE
    mark: Style = MARK_STYLE
    #: blank cells (a short line's missing bytes, the gaps): the pane's own colours
    blank: Style | None = None


DEFAULT_STYLES = HexStyles()


def dump_line(
    data: bytes,
    offset: int,
    per_line: int,
    mark: tuple[int, int] | None,
    styles: HexStyles = DEFAULT_STYLES,
) -> list[Segment]:
    """Segments of one dump line; bytes in ``mark`` (start, end) are highlighted.

    Every line has the same width whatever its length, so the ASCII column
    lines up on the short last line too. Neighbours of one style are one
    segment (a line is ~6 segments, not ~50: each segment costs the compositor).
    """
    chunk = data[offset : offset + per_line]
    n = len(chunk)
    lo, hi = mark if mark is not None else (0, 0)
    mark_style, hex_style = styles.mark, styles.hex
    hexes: list[tuple[str, Style | None]] = []
    chars: list[tuple[str, Style | None]] = []
    for i in range(per_line):
        pos = offset + i
        marked = i < n and lo <= pos < hi
        if i < n:
            b = chunk[i]
            hexes.append((f"{b:02x}", mark_style if marked else hex_style))
            printable = b in PRINTABLE
            chars.append(
                (
                    chr(b) if printable else ".",
                    mark_style if marked else (styles.ascii if printable else styles.dot),
                )
            )
        else:
            hexes.append(("  ", styles.blank))
        if i + 1 < per_line:
            sep = "  " if i == 7 and per_line > 8 else " "
            joined = marked and i + 1 < n and lo <= pos + 1 < hi
            hexes.append((sep, mark_style if joined else hex_style))
    return [
        Segment(f"{offset:04x}  ", styles.offset),
        *_merged(hexes),
        Segment("  ", styles.blank),
        *_merged(chars),
    ]


def _merged(parts: list[tuple[str, Style | None]]) -> list[Segment]:
    """One segment per run of parts of one style."""
    out: list[Segment] = []
    texts: list[str] = []
    style: Style | None = None
    for text, st in parts:
        if texts and st is not style:
            out.append(Segment("".join(texts), style))
            texts = []
        style = st
        texts.append(text)
    if texts:
        out.append(Segment("".join(texts), style))
    return out


class _TrackWhileScrolling(ScrollBarRender):
    """The pane's scrollbar, drawn as the pane's own background while the packet fits.

    The hex view keeps its scrollbar whatever the packet (``overflow-y: scroll``): one that
    came and went with the packet's length asked for a layout of the whole screen, twice,
    on every cursor move between a short and a long packet. Fitting, it looks as if there
    were none.
    """

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.window_size:
            yield from super().__rich_console__(console, options)
            return
        # nothing to scroll: blank, as the dump's own blank cells
        width = self.thickness if self.vertical else (options.max_width or console.width)
        height = (options.height or console.height) if self.vertical else self.thickness
        yield Segments([Segment(" " * width), Segment.line()] * height)


class HexView(ScrollView, can_focus=True):
    """Offset, hex, ASCII; ``highlight`` marks the bytes of the selected tree node."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hex-view--offset",
        "hex-view--hex",
        "hex-view--ascii",
        "hex-view--dot",
        "hex-view--mark",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data = b""
        self.mark: tuple[int, int] | None = None
        self._styles: HexStyles | None = None
        #: dump lines drawn, by what they show (see ``render_line``)
        self._lines: dict[tuple[object, ...], Strip] = {}
        if STYLED_LINES_FIT:  # a line drawn before is styled as before, at once
            self._styles_cache = StyledLines()

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)
        # the documented way to draw one scrollbar differently (ScrollBar.renderer)
        setattr(self.vertical_scrollbar, "renderer", _TrackWhileScrolling)  # noqa: B010

    def _theme_changed(self) -> None:
        self._styles = None
        self._lines.clear()
        self.refresh()

    @property
    def hex_styles(self) -> HexStyles:
        if self._styles is None:
            get = self.get_component_rich_style
            self._styles = HexStyles(
                get("hex-view--offset"),
                get("hex-view--hex"),
                get("hex-view--ascii"),
                get("hex-view--dot"),
                get("hex-view--mark"),
                Style(color=self.rich_style.color, bgcolor=self.rich_style.bgcolor),
            )
        return self._styles

    @property
    def per_line(self) -> int:
        return bytes_per_line(self.scrollable_content_region.width or self.size.width)

    def show(self, data: bytes) -> None:
        """Show a new packet, unhighlighted, from the top.

        Only the lines the old or the new packet covers are drawn again, and a new size asks
        for no layout: the scrollbar is always there (drawn as the pane while the packet fits)
        and only its thumb changes (each line drawn and each layout of the screen cost a
        frame, on every cursor move).
        """
        per = self.per_line
        before = (len(self.data) + per - 1) // per
        self.data = data
        self.mark = None
        after = (len(data) + per - 1) // per
        height = self.scrollable_content_region.height
        old, new = self.virtual_size, self._size_for(after)
        if new != old and self.show_vertical_scrollbar:
            # the scrollbar is there whatever the size: its thumb changes, not the layout
            self.set_reactive(HexView.virtual_size, new)
            self.vertical_scrollbar.window_virtual_size = new.height
        elif new != old:
            self.virtual_size = new
        if self.scroll_offset.y:
            self.scroll_to(y=0, animate=False, force=True)
            self.refresh()
            return
        rows = min(max(before, after), height)
        if rows:  # the dump's lines, not the scrollbar's cells beside them
            self.refresh(Region(0, 0, self.scrollable_content_region.width, rows))

    def highlight(self, start: int, end: int) -> None:
        """Mark bytes [start, end) and scroll them into view."""
        start = max(0, min(start, len(self.data)))
        end = max(start, min(end, len(self.data)))
        self.mark = (start, end) if end > start else None
        if self.mark is not None:
            per = self.per_line
            first, last = start // per, (end - 1) // per
            top = self.scroll_offset.y
            height = self.scrollable_content_region.height
            if first < top or last >= top + height:
                self.scroll_to(y=max(0, first - 1), animate=False, force=True)
        self.refresh()

    def marked_bytes(self) -> bytes:
        """The highlighted bytes (for tests and copy)."""
        return self.data[self.mark[0] : self.mark[1]] if self.mark else b""

    def _size_for(self, lines: int) -> Size:
        # a packet that fits the pane has the pane's height: one size for all of them
        return Size(self.size.width, max(lines, self.scrollable_content_region.height))

    def _resize(self) -> None:
        per = self.per_line
        self.virtual_size = self._size_for((len(self.data) + per - 1) // per)

    def on_resize(self, _event: events.Resize) -> None:
        self._resize()

    def render_line(self, y: int) -> Strip:
        """One dump line, kept by what it shows (its bytes, offset, marked part, width):
        a packet shown again, or bytes a packet shares with one shown before at the same
        offset, are the same strip again, which textual's caches on it then style, filter
        and turn into terminal text at once."""
        width = self.size.width
        per = self.per_line
        line = self.scroll_offset.y + y
        offset = line * per
        styles = self.hex_styles
        data = self.data
        if not data or offset >= len(data):
            return Strip.blank(width, styles.blank)
        mark = self.mark
        if mark is not None:  # the marked part of this line only
            lo, hi = max(mark[0], offset), min(mark[1], offset + per)
            mark = (lo, hi) if lo < hi else None
        key = (data[offset : offset + per], offset, mark, per, width, styles)
        strip = self._lines.get(key)
        if strip is None:
            strip = Strip(dump_line(data, offset, per, mark, styles)).adjust_cell_length(
                width, styles.blank
            )
            if len(self._lines) >= LINES_KEPT:
                self._lines.clear()
            self._lines[key] = strip
        return strip
