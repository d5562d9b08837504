"""A line of the protocol tree, and the bounds every tree and dump is held to.

Shared by the tree's two wordings (tshark's, :mod:`tapwatch.decode.wstree`, and scapy's
fields, :mod:`tapwatch.decode.scapy_fields`), the tree's child process and the detail pane,
which bounds what it puts in place on the UI thread.
"""

from __future__ import annotations

from typing import NamedTuple

from tapwatch.sanitize import printable


class Node(NamedTuple):
    """One line of the protocol tree; ``start``/``end`` are byte offsets into the frame."""

    label: str
    start: int
    end: int
    children: list[Node]


MAX_LABEL = 240  # Wireshark's own bound on a tree label (ITEM_LABEL_LENGTH)
#: Lines of one packet's tree, at most. The pane puts every node in place on the UI
#: thread: 4 KB of 3-byte BGP attributes made 9,150 nodes, a 780 ms stall.
MAX_NODES = 500


#: Characters of one packet's scapy dump (-vvv), at most (its lines: ``MAX_NODES``, as the
#: tree's): 500 tree lines of 240 characters come to 120 KB.
MAX_DUMP_CHARS = 128 << 10


def dump_bounded(text: str) -> str:
    """``text`` (lines) cut to ``MAX_NODES`` lines and ``MAX_DUMP_CHARS`` characters; where
    it is cut, one line says how many lines were left out (as the tree says it)."""
    lines = text.split("\n")
    size = 0
    for i, line in enumerate(lines):
        size += len(line) + 1
        if i >= MAX_NODES - 1 or size > MAX_DUMP_CHARS:
            if i == len(lines) - 1 and size <= MAX_DUMP_CHARS:
                return text  # the last line fits: nothing to say
            return "\n".join([*lines[:i], f"[{len(lines) - i:,} more lines not shown]"])
    return text


def bounded(nodes: list[Node], room: list[int]) -> list[Node]:
    """``nodes`` with at most ``room[0]`` lines in all (depth first, as the pane shows
    them); where the lines run out, one line says how many were left out."""
    out: list[Node] = []
    for i, node in enumerate(nodes):
        if room[0] <= 1 and i < len(nodes):
            left = sum(_count(n) for n in nodes[i:])
            if left > 1 or room[0] < 1:
                end = nodes[-1].end
                out.append(Node(f"[{left:,} more lines not shown]", node.start, end, []))
                room[0] = 0
                return out
        room[0] -= 1
        kids = bounded(node.children, room) if node.children else node.children
        out.append(node if kids is node.children else node._replace(children=kids))
    return out


def _count(node: Node) -> int:
    return 1 + sum(_count(c) for c in node.children)


def clip(s: str) -> str:
    """A label fit for the terminal: one line, escaped (scapy reprs carry raw bytes), bounded."""
    s = printable(s.replace("\n", " "))
    return s if len(s) <= MAX_LABEL else s[: MAX_LABEL - 1] + "…"
