"""Protocol tree of the selected packet (the frame layer, then one node per layer, fields below).

Built from :class:`tapwatch.decode.Node` trees, which carry byte offsets into the packet so
highlighting a node lets the hex view mark exactly those bytes. Which layers
are expanded is remembered by layer name across packets, the way Wireshark
keeps "Internet Protocol" open while you walk through a capture.

Every label passes :func:`tapwatch.sanitize.printable` on its way in: the
dissector's field texts can hold whatever bytes the packet held.

Space is deliberately *not* bound here: it pauses the display everywhere in
the app; Enter, right/left (l/h) and clicks expand and collapse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tapwatch.sanitize import printable
from tapwatch.widgets.styled_lines import FITS as STYLED_LINES_FIT
from tapwatch.widgets.styled_lines import StyledLines

if TYPE_CHECKING:
    from tapwatch.decode import Node


#: lines drawn kept across packets (a pane shows ~40; cleared whole when full)
STRIPS_KEPT = 1024


def layer_key(label: str) -> str:
    """Name a layer by what comes before its first comma ("Internet Protocol Version 4").

    A trailing number goes too: "Frame 12: ..." is the frame layer of every packet.
    """
    key = label.split(",", 1)[0].split(":", 1)[0].strip()
    head, _, tail = key.rpartition(" ")
    return head if head and tail.isdigit() else key


class DetailTree(Tree["Node | None"], inherit_bindings=False):
    """The dissection tree; NodeHighlighted carries the ``decode.Node`` as data."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Toggle", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("right,l", "expand", "Expand", show=False),
        Binding("left,h", "collapse", "Collapse", show=False),
        Binding("shift+left", "cursor_parent", "Parent", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
        Binding("asterisk", "expand_all", "Expand all", show=True, key_display="*"),
        Binding("minus", "collapse_all", "Collapse all", show=True, key_display="-"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "detail--layer",
        "detail--frame",
        "detail--field",
        "detail--note",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("packet", id=id, classes=classes)
        self.show_root = False
        self.guide_depth = 3
        self.expanded_layers: set[str] = set()
        self.seq: int | None = None
        self.pending = False  # the protocol layers are still being dissected
        self._base_style: Style | None = None  # the widget's style while a frame is drawn
        self._cut_width: int | None = None  # and the width its lines are cut to
        #: component styles as long as the stylesheet and the focus are the same
        self._style_memo: dict[tuple[tuple[str, ...], bool, bool], Style] = {}
        #: each label shown and the component class its style comes from, to restyle the
        #: labels when the theme changes (a label keeps the style it was made with)
        self._labelled: list[tuple[TreeNode[Node | None], str]] = []
        #: lines drawn, by what they show (see ``render_line``)
        self._strips: dict[tuple[object, ...], Strip] = {}
        if STYLED_LINES_FIT:  # a line drawn before is styled as before, at once
            self._styles_cache = StyledLines()

    def on_mount(self) -> None:
        # published once the new theme's stylesheet is applied (a watch of the app's theme
        # runs before it: the component styles would still be the old theme's)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        """The labels in the new theme's colours, the packet shown staying as it is."""
        self._style_memo.clear()
        self._strips.clear()
        get = self.get_component_rich_style
        styles: dict[str, Style] = {}
        for node, name in self._labelled:
            style = styles.get(name)
            if style is None:
                style = styles[name] = get(name)
            node._label.style = style
        self._clear_line_cache()
        self._updates += 1
        self.refresh()

    #: set while the tree changes in ways it redraws itself, line by line (``refresh`` ignored)
    _quiet = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> DetailTree:
        if self._quiet:
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def get_component_rich_style(self, *names: str, partial: bool = False, **kwargs: Any) -> Style:
        """Tree draws each line with ~7 component styles; textual forgets them on every
        refresh (a line redrawn is one), and each costs a walk of the styles: kept here until
        the stylesheet changes (a theme) or the focus does (the cursor's style follows it)."""
        if kwargs:  # textual's later ``default=``: as textual does it
            return super().get_component_rich_style(*names, partial=partial, **kwargs)
        key = (names, partial, self.has_focus)
        style = self._style_memo.get(key)
        if style is None:
            style = self._style_memo[key] = super().get_component_rich_style(
                *names, partial=partial
            )
        return style

    def notify_style_update(self) -> None:
        self._style_memo.clear()
        self._strips.clear()
        super().notify_style_update()

    def get_label_width(self, node: TreeNode[Node | None]) -> int:
        """The label's width and its toggle's, counted (textual renders the label to
        measure it; the line is measured on every draw for its ellipsis)."""
        label = node._label
        if not isinstance(label, Text):
            return super().get_label_width(node)
        icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        return label.cell_len + (cell_len(icon) if node._allow_expand else 0)

    def set_title(self, title: str) -> None:
        """The pane's title, redrawing only the frame's top line: setting ``border_title``
        repaints the whole pane, every line of it, on each cursor move."""
        if title == self.border_title:
            return
        self._quiet = True
        try:
            self.border_title = title
        finally:
            self._quiet = False
        top, _right, _bottom, left = self.styles.gutter
        if top:
            self.refresh(Region(-left, -top, self.outer_size.width, 1))
        else:
            self.refresh()

    def validate_virtual_size(self, size: Size) -> Size:
        """One size for every packet whose tree fits the pane: a new size asks for a layout
        of the whole screen. The width is the pane's: lines wider than it end with an
        ellipsis (the pane does not scroll sideways); the height is at least the pane's."""
        region = self.scrollable_content_region
        if not region:
            return size
        return Size(region.width, max(size.height, region.height))

    def _row_key(self, index: int) -> tuple[object, ...] | None:
        """What line ``index`` of the tree shows, as far as drawing it goes: two equal keys
        draw the same line (None: a blank line below the tree)."""
        lines = self._tree_lines
        if not 0 <= index < len(lines):
            return None
        line = lines[index]
        node = line.node
        label = node._label
        path = line.path
        return (
            label.plain,
            label.style,
            tuple(label.spans),
            node._allow_expand,
            node._expanded,
            line.last,
            tuple(n.is_last for n in path[:-1]),
            tuple(n._selected for n in path),
            tuple(n._hover for n in path),
            index == self.cursor_line,
            index == self.hover_line,
        )

    def _visible_keys(self) -> list[tuple[object, ...] | None]:
        top = self.scroll_offset.y
        return [self._row_key(top + y) for y in range(self.scrollable_content_region.height)]

    def show_nodes(
        self,
        seq: int | None,
        nodes: list[Node],
        note: str | None = None,
        *,
        frame: Node | None = None,
        pending: bool = False,
    ) -> None:
        """Replace the tree with the frame layer and the dissection of packet ``seq``.

        The nodes are put in place quietly and only the lines that differ from the last
        packet's are drawn again: Tree's ``add`` invalidates the whole tree (and asks for a
        layout) per node, 50 times a packet, and a whole tree drawn is every line of the pane,
        the blank ones too.
        """
        self.seq = seq
        self.pending = pending
        keep_line = self.cursor_line
        before = self._visible_keys() if self.is_mounted else []
        old_size = self.virtual_size
        _drop_nodes(self.root)
        self._labelled = []
        self._quiet = True
        try:
            self.clear()
        finally:
            self._quiet = False
        root = self.root
        if frame is not None:
            self._add_layer(frame, "detail--frame")
        if note:
            self._quiet_add(root, note, "detail--note", None, False)
        for node in nodes:
            self._add_layer(node, "detail--layer")
        if pending:
            self._quiet_add(root, "dissecting…", "detail--note", None, False)
        self._redraw_changed(before, old_size)
        self.cursor_line = keep_line if self.has_focus and keep_line < self.last_line else -1

    def _redraw_changed(self, before: list[tuple[object, ...] | None], old_size: Size) -> None:
        """Tell the tree its nodes changed (what ``_invalidate`` does) and draw again only
        the lines whose keys changed; all of it when the size or the scroll must change."""
        self._clear_line_cache()
        self._updates += 1
        self.root._reset()
        self._quiet = True
        try:
            self._build()  # the lines and the virtual size (a layout only if it changed)
        finally:
            self._quiet = False
        top = self.scroll_offset.y
        after = self._visible_keys()
        if len(after) != len(before) or self.virtual_size != old_size or top > self.max_scroll_y:
            if top > self.max_scroll_y:
                self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
            self.refresh(layout=True)
            return
        width = self.scrollable_content_region.width  # not the scrollbar's cells
        for y, (old, new) in enumerate(zip(before, after, strict=True)):
            if old != new:
                self.refresh(Region(0, y, width, 1))

    def _build(self) -> None:
        """Tree's, then the scrollbar decided again when the tree's height changed: textual
        decides it when a layout gives the widget a size or virtual size other than the one
        it has, and Tree sets its virtual size before that layout, so a tall tree's scrollbar
        stayed for a short one after it (lines cut a cell short) until the terminal was
        resized. Once more when the scrollbar came or went: the lines' width changed."""
        old = self.virtual_size
        super()._build()
        decide = getattr(self, "_refresh_scrollbars", None)
        if decide is None or self.virtual_size.height == old.height or not self.is_mounted:
            return
        had = self.show_vertical_scrollbar
        decide()
        if self.show_vertical_scrollbar != had:
            super()._build()

    def _quiet_add(
        self,
        parent: TreeNode[Node | None],
        text: str,
        component: str,
        data: Node | None,
        allow_expand: bool,
        expand: bool = False,
    ) -> TreeNode[Node | None]:
        """``parent.add`` without invalidating the tree (``show_nodes`` does that once); the
        label in ``component``'s style, remembered (a new theme restyles it)."""
        label = Text(printable(text), style=self.get_component_rich_style(component))
        node = self._add_node(parent, label, data)
        self._labelled.append((node, component))
        node._expanded = expand
        node._allow_expand = allow_expand
        parent._children.append(node)
        return node

    def process_label(self, label: str | Text) -> Text:
        """A label as it is: ours are one line of plain text already (``printable``)."""
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def _add_layer(self, node: Node, component: str) -> None:
        key = layer_key(node.label)
        branch = self._quiet_add(
            self.root,
            node.label,
            component,
            node,
            bool(node.children),
            key in self.expanded_layers,
        )
        self._add_fields(branch, node.children)

    def _add_fields(self, parent: TreeNode[Node | None], children: list[Node]) -> None:
        for child in children:
            sub = self._quiet_add(parent, child.label, "detail--field", child, bool(child.children))
            if child.children:
                self._add_fields(sub, child.children)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Node | None]) -> None:
        if event.node.parent is self.root and event.node.data is not None:
            self.expanded_layers.add(layer_key(event.node.data.label))

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed[Node | None]) -> None:
        if event.node.parent is self.root and event.node.data is not None:
            self.expanded_layers.discard(layer_key(event.node.data.label))

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.children:
            self.action_cursor_down()

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        else:
            self.action_cursor_parent()

    def render_lines(self, crop: Region) -> list[Strip]:
        # the widget's style once a frame, not once a line (it walks the DOM: ~1 ms a line
        # on a loaded machine, most of the tree's drawing time)
        self._base_style = self.rich_style
        self._cut_width = self._content_width()
        try:
            return super().render_lines(crop)
        finally:
            self._base_style = None
            self._cut_width = None

    def render_line(self, y: int) -> Strip:
        """A line wider than the pane ends with an ellipsis where it is cut (the pane does not
        scroll sideways: zoom it with ``\\`` to read long lines whole).

        Each line drawn is kept by what it shows (:meth:`_row_key`), across packets: walking
        the list, the lines a packet shares with one shown a few moves before (a layer of the
        same flow, a field) are that line's strip again, and textual's caches on the strip
        (styling, filters, terminal text) answer for it."""
        scroll_x, scroll_y = self.scroll_offset
        base = self._base_style if self._base_style is not None else self.rich_style
        index = y + scroll_y
        width = self.size.width
        # where the ellipsis goes: short of a scrollbar once the tree is taller than the pane
        cut = self._cut_width if self._cut_width is not None else self._content_width()
        key = (self._row_key(index), index, scroll_x, width, cut, base, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._draw_line(index, scroll_x, width, base)
            if len(self._strips) >= STRIPS_KEPT:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def _draw_line(self, index: int, scroll_x: int, width: int, base: Style) -> Strip:
        strip = self._render_line(index, scroll_x, scroll_x + width, base)
        width = self._content_width()
        lines = self._tree_lines
        if width <= 1 or not 0 <= index < len(lines):
            return strip
        line = lines[index]
        full = self.get_label_width(line.node) + line._get_guide_width(
            self.guide_depth, self.show_root
        )
        if full <= width:
            return strip.crop(0, width)
        cut = strip.crop(0, width - 1)
        segments = list(cut)
        style = segments[-1].style if segments else None
        return Strip([*segments, Segment("…", style)], width)

    def action_expand_all(self) -> None:
        self.root.expand_all()

    def action_collapse_all(self) -> None:
        for child in self.root.children:
            child.collapse_all()


def _drop_nodes(root: TreeNode[Node | None]) -> None:
    """Unlink the old nodes from each other before the tree lets them go: parent and child
    point at each other, so each packet shown left ~50 cycles for the garbage collector's
    full passes (which walk everything the process holds); unlinked, they go at once."""
    stack = [root]
    while stack:
        node = stack.pop()
        children = node._children
        stack.extend(children)
        node._children = []
        node._parent = None
