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
