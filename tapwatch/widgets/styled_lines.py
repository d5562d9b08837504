"""A widget's styled lines kept by the line they style, not by where it is drawn.

textual styles each line of a widget (its border, padding, colours) into a
strip cached by its row on screen; when the list scrolls one row, every row
moves, so every row is styled again (and the strips made from it filtered,
cut up and turned into terminal text again) though the list's own rows come
from its cache unchanged. Here a styled content line is kept against the
content strip it was made from: the same row strip drawn one line higher is
the same styled strip, and textual's caches on that strip (filter, divide,
terminal text) answer the rest.

Only the content rows are kept this way (the border and padding rows depend on
where they are); everything textual clears its own cache for (a new size,
style or theme, a whole-widget refresh) clears this one too.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from textual._styles_cache import StylesCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.strip import Strip

#: styled lines kept at most (a list shows ~50 rows; cleared whole when full)
LIMIT = 512

_PARAMS = [
    "self",
    "styles",
    "y",
    "size",
    "content_size",
    "padding",
    "base_background",
    "background",
    "render_content_line",
    "border_title",
    "border_subtitle",
    "opacity",
    "ansi_theme",
    "native_ansi",
]


def _fits() -> bool:
    """textual's ``StylesCache.render_line`` takes what this one passes on (textual 8)."""
    try:
        return list(inspect.signature(StylesCache.render_line).parameters) == _PARAMS
    except (TypeError, ValueError):
        return False


FITS = _fits()


class StyledLines(StylesCache):
    """textual's styles cache, with content lines' styled strips kept by content strip."""

    def __init__(self) -> None:
        super().__init__()
        #: id of the content strip -> (the content strip, its styled strip)
        self._styled: dict[tuple[Any, ...], tuple[Strip, Strip]] = {}

        #: what the widget's styles draw around a content line, as of this frame
        self._frame_styles: tuple[Any, ...] = ()

    def clear(self) -> None:
        super().clear()
        self._styled.clear()

    def render(self, styles: Any, *args: Any, **kwargs: Any) -> list[Strip]:
        # a border's colour follows the focus: part of the key, read once a frame
        self._frame_styles = (
            styles.border,
            styles.outline,
            styles.tint,
            styles.text_opacity,
            styles.hatch if styles.has_rule("hatch") else None,
        )
        return super().render(styles, *args, **kwargs)

    def render_line(
        self,
        styles: Any,
        y: int,
        size: Any,
        content_size: Any,
        padding: Any,
        base_background: Any,
        background: Any,
        render_content_line: Callable[[int], Strip],
        border_title: Any,
        border_subtitle: Any,
        opacity: float,
        ansi_theme: Any,
        native_ansi: bool,
    ) -> Strip:
        gutter = styles.gutter
        top = gutter.top
        line = y - top
        if y < top or y >= size.height - gutter.bottom or line >= content_size.height:
            return super().render_line(
                styles,
                y,
                size,
                content_size,
                padding,
                base_background,
                background,
                render_content_line,
                border_title,
                border_subtitle,
                opacity,
                ansi_theme,
                native_ansi,
            )
        content = render_content_line(line)
        key = (
            id(content),
            size.width,
            base_background,
            background,
            opacity,
            id(ansi_theme),
            padding,
            self._frame_styles,
        )
        kept = self._styled.get(key)
        if kept is not None and kept[0] is content:
            return kept[1]
        styled = super().render_line(
            styles,
            y,
            size,
            content_size,
            padding,
            base_background,
            background,
            lambda _y: content,
            border_title,
            border_subtitle,
            opacity,
            ansi_theme,
            native_ansi,
        )
        if len(self._styled) >= LIMIT:
            self._styled.clear()
        self._styled[key] = (content, styled)  # the content kept: its id is not reused
        return styled
