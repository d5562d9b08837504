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

    def show_nodes(
        self,
        seq: int | None,
        nodes: list[Node],
        note: str | None = None,
        *,
        frame: Node | None = None,
        pending: bool = False,
    ) -> None:
        """Replace the tree with the frame layer and the dissection of packet ``seq``."""
        self.seq = seq
        self.pending = pending
        keep_line = self.cursor_line
        self.clear()
        root = self.root
        get = self.get_component_rich_style
        layer, field = get("detail--layer"), get("detail--field")
        if frame is not None:
            self._add_layer(frame, get("detail--frame"), field)
        if note:
            root.add_leaf(Text(printable(note), style=get("detail--note")), data=None)
        for node in nodes:
            self._add_layer(node, layer, field)
        if pending:
            root.add_leaf(Text("dissecting…", style=get("detail--note")), data=None)
        self.cursor_line = keep_line if self.has_focus and keep_line < self.last_line else -1

    def _add_layer(self, node: Node, style: Style, field: Style) -> None:
        key = layer_key(node.label)
        branch = self.root.add(
            Text(printable(node.label), style=style),
            data=node,
            expand=key in self.expanded_layers,
            allow_expand=bool(node.children),
        )
        self._add_fields(branch, node.children, field)

    def _add_fields(
        self, parent: TreeNode[Node | None], children: list[Node], style: Style
    ) -> None:
        for child in children:
            label = Text(printable(child.label), style=style)
            if child.children:
                sub = parent.add(label, data=child)
                self._add_fields(sub, child.children, style)
            else:
                parent.add_leaf(label, data=child)

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

    def render_line(self, y: int) -> Strip:
        """A line wider than the pane ends with an ellipsis where it is cut (the pane does not
        scroll sideways: zoom it with ``\\`` to read long lines whole)."""
        strip = super().render_line(y)
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
