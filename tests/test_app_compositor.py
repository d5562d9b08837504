"""The main screen's compositor (widgets/compositor.py): the same terminal output as textual's,
from fewer lines asked of the widgets.

Each check drives the real screen with Pilot (cursor moves that scroll the list or not, a
tree layer expanded, the panes zoomed), then composes the update the screen has pending
both ways: textual's own chops and the lean ones must write the same text to the terminal.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("textual")

from rich.console import Console
from test_app import (
    detail_tree,
    main,
    offline,
    packet_list,
    settle,
    ui,
)
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.widget import Widget

from tapwatch.app import TapwatchApp
from tapwatch.widgets.compositor import FITS, LeanCompositor

SIZE = (120, 40)

pytestmark = pytest.mark.skipif(not FITS, reason="this textual composes another way")


def _both_ways(app: TapwatchApp, *widgets: Widget) -> tuple[str, str, int]:
    """The update of what ``widgets`` asked to redraw, as textual writes it and as the lean
    compositor does, and how many widget lines the lean one asked for."""
    screen = main(app)
    compositor = screen._compositor
    assert isinstance(compositor, LeanCompositor)
    compositor.update_widgets({*screen._dirty_widgets, *widgets})
    regions = set(compositor._dirty_regions)
    assert regions, "nothing to update"
    crop = Region.from_union(list(regions)).intersection(compositor.size.region)
    spans = list(compositor._regions_to_spans(regions))
    rendered = {y for y, _, _ in spans}.__contains__
    ends = [cut_set[1:] for cut_set in compositor.cuts]
    console = Console(width=SIZE[0], height=SIZE[1], color_system="truecolor", force_terminal=True)
    theirs = Compositor._render_chops(compositor, crop, rendered)
    ours = compositor._lean_chops(crop, spans)
    asked = compositor.rendered_lines
    compositor._dirty_regions.clear()
    screen._dirty_widgets.clear()
    return (
        _drawn(ChopsUpdate(theirs, spans, ends).render_segments(console)),
        _drawn(ChopsUpdate(ours, spans, ends).render_segments(console)),
        asked,
    )


#: a cursor move that nothing is written after (textual moves to a piece that starts where a
#: span ends and writes none of it; the lean compositor has no such piece)
_IDLE_MOVE = re.compile(r"\x1b\[\d+;\d+H(?=\x1b\[\d+;\d+H|\n|$)")


def _drawn(text: str) -> str:
    """What a terminal shows of ``text``: the same whatever moves write nothing."""
    return _IDLE_MOVE.sub("", text)


def _counting_lines(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Lines asked of the widgets through ``render_lines``, counted."""
    asked = {"lines": 0}
    real = Widget.render_lines

    def counting(self: Widget, crop: Any) -> Any:
        asked["lines"] += crop.height
        return real(self, crop)

    monkeypatch.setattr(Widget, "render_lines", counting)
    return asked


@ui
async def test_lean_compositor_writes_what_textual_writes() -> None:
    app = TapwatchApp(offline(60))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        steps = ["j"] * 25 + ["k"] * 3 + ["G", "g"]
        for n, key in enumerate(steps):
            await pilot.press(key)
            await settle(pilot, app)
            screen = main(app)
            # what the next frame would draw: the last move's rows, tree and bytes
            if n % 5 == 0:  # the whole list too, once in a while (a scroll, a theme)
                packets.refresh()
            else:
                packets.refresh(Region(0, 3, packets.size.width, 1))
            detail_tree(app).refresh()
            hexes = screen.query_one("#hex")
            hexes.refresh()
            theirs, ours, _asked = _both_ways(app, packets, detail_tree(app), hexes)
            assert ours == theirs, f"after {steps[: n + 1]}"
        # a layer expanded: the tree grows under the bytes pane's lines
        tree = detail_tree(app)
        tree.focus()
        await pilot.press("enter")
        await settle(pilot, app)
        tree.refresh()
        theirs, ours, _asked = _both_ways(app, tree)
        assert ours == theirs


@ui
async def test_cursor_move_asks_only_the_lines_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cursor move asked every widget under the changed lines' bounding box for every
    visible line (the screen, three containers, the list, the tree, the bytes and the
    scrollbars: ~210 lines at 120x40); now the changed lines and the pieces beside them."""
    app = TapwatchApp(offline(60))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for _ in range(3):
            await pilot.press("j")
            await settle(pilot, app)
        asked = _counting_lines(monkeypatch)
        counts = []
        for _ in range(6):
            await pilot.press("j")
            await settle(pilot, app)
            counts.append(asked["lines"])
            asked["lines"] = 0
        # list rows, tree lines, bytes lines, their scrollbars' cells: well under a pane's
        # worth per widget; the whole-box way asked ~210 a move
        assert max(counts) < 90, counts


def _plain(strips: list[Any]) -> list[list[tuple[str, Any]]]:
    """Text and style of each piece (the tree's click data left out: a node's id differs
    from packet to packet, where it is drawn does not)."""
    return [
        [(seg.text, seg.style.clear_meta_and_links() if seg.style else None) for seg in strip]
        for strip in strips
    ]


@ui
async def test_lines_kept_by_content_are_what_textual_would_draw() -> None:
    """The list, tree and bytes keep styled lines by what they show (styled_lines.py and
    their own line caches): after moves, scrolls, focus going from pane to pane (the
    border's colour) and a layer expanded, each pane's lines are what a fresh styles cache
    draws from scratch."""
    from textual._styles_cache import StylesCache

    app = TapwatchApp(offline(60))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = main(app)
        panes = [packet_list(app), detail_tree(app), screen.query_one("#hex")]
        keys = ["j"] * 22 + ["tab", "enter", "j", "shift+tab", "k", "k", "tab", "tab"]
        # the tree taller than its pane (a scrollbar: lines cut a cell shorter), then not
        keys += ["tab", "tab", "asterisk", "j", "minus", "shift+tab", "j"]
        for key in keys:
            await pilot.press(key)
            await settle(pilot, app)
            for pane in panes:
                region = Region(0, 0, pane.outer_size.width, pane.outer_size.height)
                kept = _plain(pane.render_lines(region))
                # from scratch: textual's styles cache, and the pane's own lines forgotten
                own = "_strips" if hasattr(pane, "_strips") else "_lines"
                cache, pane._styles_cache = pane._styles_cache, StylesCache()
                lines = getattr(pane, own, None)
                if lines is not None:
                    setattr(pane, own, {})
                try:
                    fresh = _plain(pane.render_lines(region))
                finally:
                    pane._styles_cache = cache
                    if lines is not None:
                        setattr(pane, own, lines)
                assert kept == fresh, f"{pane.id} after {key!r}"


@ui
async def test_scrolling_move_styles_only_new_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cursor move that scrolls the list one row moved every row up: textual styled all
    14 again (border, background, filters, terminal text); the rows that only moved are
    the styled strips they were, so the row the cursor left, the one it took and the one
    scrolled in are styled."""
    from textual._styles_cache import StylesCache

    styled = {"list": 0}
    real = StylesCache.render_line

    def counting(self: StylesCache, styles: Any, *args: Any) -> Any:
        if styles.node is not None and styles.node.id == "packets":
            styled["list"] += 1
        return real(self, styles, *args)

    app = TapwatchApp(offline(60))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        while packets.scroll_offset.y == 0:  # down to where each move scrolls
            await pilot.press("j")
            await settle(pilot, app)
        monkeypatch.setattr(StylesCache, "render_line", counting)
        counts = []
        for _ in range(5):
            top = packets.scroll_offset.y
            await pilot.press("j")
            await settle(pilot, app)
            assert packets.scroll_offset.y == top + 1
            counts.append(styled["list"])
            styled["list"] = 0
        assert max(counts) <= 3, counts
