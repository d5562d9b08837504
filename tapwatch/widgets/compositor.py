"""The main screen's compositor: a partial update renders only the lines that show.

textual composes a partial update (a cursor move: two rows of the list, a few
lines of the tree and the bytes) by asking *every* widget under the bounding
box of the changed lines for *all* its visible lines, then keeping, front to
back, the first piece of each line between two cuts. On the main screen that
box runs from the list's row to the panes' bottom: the screen, the containers
and the panes themselves, ~210 lines a cursor move, each styled (from cache),
filtered and cut up, when ~40 pieces show. Here each widget is asked only for
the lines of the update that still have a piece nobody in front of it drew:
what ends up on the screen is the same (the same pieces win), the containers
hidden behind the panes are not asked at all.

The lines a widget is not asked for stay "dirty" in its own cache and are
drawn when they next show, as textual does for any line it has not drawn yet.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region

if TYPE_CHECKING:
    from textual.strip import Strip


def _fits() -> bool:
    """The textual here composes through ``_render_chops(crop, is_rendered_line)`` from
    ``cuts`` and ``visible_widgets`` (textual 3 to 8): else textual's own is used."""
    chops = getattr(Compositor, "_render_chops", None)
    needed = ("visible_widgets", "cuts", "_regions_to_spans")
    if chops is None or not all(hasattr(Compositor, n) for n in needed):
        return False
    if not hasattr(Compositor, "render_partial_update"):
        return False
    try:
        params = list(inspect.signature(chops).parameters)
    except (TypeError, ValueError):
        return False
    return params == ["self", "crop", "is_rendered_line"]


FITS = _fits()


class LeanCompositor(Compositor):
    """textual's compositor; its partial update asks each widget only for lines that show."""

    #: lines asked of the widgets by the last update (what the tests look at)
    rendered_lines = 0

    def render_partial_update(self) -> ChopsUpdate | None:
        """textual's, with the spans handed to the chops: what lies outside them is not
        written to the terminal, so it is not asked for either."""
        screen_region = self.size.region
        update_regions = self._dirty_regions.copy()
        self._dirty_regions.clear()
        if not update_regions:
            return None
        crop = Region.from_union(list(update_regions)).intersection(screen_region)
        spans = list(self._regions_to_spans(update_regions))
        chops = self._lean_chops(crop, spans)
        chop_ends = [cut_set[1:] for cut_set in self.cuts]
        return ChopsUpdate(chops, spans, chop_ends)

    def _render_chops(
        self,
        crop: Region,
        is_rendered_line: Callable[[int], bool],
    ) -> Sequence[Mapping[int, Strip]]:
        """A whole update (every line of ``crop`` that ``is_rendered_line``), composed the
        lean way."""
        spans = [(y, crop.x, crop.right) for y in crop.line_range if is_rendered_line(y)]
        return self._lean_chops(crop, spans)  # type: ignore[return-value]

    def _lean_chops(
        self, crop: Region, spans: list[tuple[int, int, int]]
    ) -> list[dict[int, Strip | None]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        self.rendered_lines = 0
        # per line of the update, the cuts whose piece is written (overlaps a span)
        wanted: dict[int, set[int]] = {}
        for y, x1, x2 in spans:
            line_cuts = cuts[y]
            want = wanted.setdefault(y, set())
            for cut, end in pairwise(line_cuts):
                if cut < x2 and end > x1:
                    want.add(cut)
        if not wanted:
            return chops
        rows = sorted(wanted)
        top, bottom = rows[0], rows[-1] + 1
        overlaps = crop.overlaps
        intersection = Region.intersection
        asked = 0
        # front to back (textual's render order): the first piece for a cut wins
        for widget, (region, clip) in self.visible_widgets.items():
            if not overlaps(clip):
                continue
            x, y0, width, height = intersection(region, clip)
            if not (width and height) or y0 >= bottom or y0 + height <= top:
                continue
            end = x + width
            # the update's lines of this widget with a wanted piece still to draw
            need: list[tuple[int, list[int]]] = []
            for y in rows:
                if y < y0:
                    continue
                if y >= y0 + height:
                    break
                line_cuts = [cut for cut in cuts[y] if end >= cut >= x]
                line, want = chops[y], wanted[y]
                if any(cut in want and line[cut] is None for cut in line_cuts[:-1]):
                    need.append((y, line_cuts))
            if not need:
                continue
            # one call from the first to the last such line (each call styles the widget
            # anew: its background, border title, filters)
            first, last = need[0][0], need[-1][0]
            strips = widget.render_lines(
                Region(x - region.x, first - region.y, width, last - first + 1)
            )
            asked += last - first + 1
            for y, line_cuts in need:
                line = chops[y]
                pieces = strips[y - first].divide([cut - x for cut in line_cuts[1:]])
                for cut, piece in zip(line_cuts, pieces, strict=False):
                    if line.get(cut, piece) is None:
                        line[cut] = piece
        self.rendered_lines = asked
        return chops
