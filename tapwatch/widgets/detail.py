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

from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from tapwatch.decode import Node


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

        The nodes are put in place quietly and the tree is told once at the end: Tree's
        ``add`` invalidates the whole tree (and asks for a layout) per node, 50 times a packet.
        """
        self.seq = seq
        self.pending = pending
        keep_line = self.cursor_line
        _drop_nodes(self.root)
        self.clear()
        root = self.root
        get = self.get_component_rich_style
        layer, field = get("detail--layer"), get("detail--field")
        if frame is not None:
            self._add_layer(frame, get("detail--frame"), field)
        if note:
            self._quiet_add(root, Text(printable(note), style=get("detail--note")), None, False)
        for node in nodes:
            self._add_layer(node, layer, field)
        if pending:
            self._quiet_add(root, Text("dissecting…", style=get("detail--note")), None, False)
        self._invalidate()
        self.cursor_line = keep_line if self.has_focus and keep_line < self.last_line else -1

    def _quiet_add(
        self,
        parent: TreeNode[Node | None],
        label: Text,
        data: Node | None,
        allow_expand: bool,
        expand: bool = False,
    ) -> TreeNode[Node | None]:
        """``parent.add`` without invalidating the tree (``show_nodes`` does that once)."""
        node = self._add_node(parent, label, data)
        node._expanded = expand
        node._allow_expand = allow_expand
        parent._children.append(node)
        return node

    def process_label(self, label: str | Text) -> Text:
        """A label as it is: ours are one line of plain text already (``printable``)."""
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def _add_layer(self, node: Node, style: Style, field: Style) -> None:
        key = layer_key(node.label)
        branch = self._quiet_add(
            self.root,
            Text(printable(node.label), style=style),
            node,
            bool(node.children),
            key in self.expanded_layers,
        )
        self._add_fields(branch, node.children, field)

    def _add_fields(
        self, parent: TreeNode[Node | None], children: list[Node], style: Style
    ) -> None:
        for child in children:
            label = Text(printable(child.label), style=style)
            sub = self._quiet_add(parent, label, child, bool(child.children))
            if child.children:
                self._add_fields(sub, child.children, style)

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
        try:
            return super().render_lines(crop)
        finally:
            self._base_style = None

    def render_line(self, y: int) -> Strip:
        """A line wider than the pane ends with an ellipsis where it is cut (the pane does not
        scroll sideways: zoom it with ``\\`` to read long lines whole)."""
        scroll_x, scroll_y = self.scroll_offset
        base = self._base_style if self._base_style is not None else self.rich_style
        strip = self._render_line(y + scroll_y, scroll_x, scroll_x + self.size.width, base)
        width = self.scrollable_content_region.width
        index = y + self.scroll_offset.y
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
