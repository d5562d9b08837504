"""The detail panes and their worker: the tree and the bytes of the packet under the cursor.

The bytes and the frame layer show at once (they need no dissection). The
protocol layers come from scapy, which takes milliseconds a packet (a second
on first use), so they are dissected in a thread worker, ``exclusive``: a
newer cursor position makes an older request stale and cancels it. What a
worker finished is kept in a small cache (a cancelled one's result too: it
is right, only late), and when the tree has caught up with the cursor the
rows around it are dissected ahead, so walking the list finds them ready.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.widgets import Tree
from textual.worker import get_current_worker

from tapwatch.analysis import Progress
from tapwatch.analysis.expert import SharedExpert, enrich, info_words, related_info
from tapwatch.analysis.frame import FrameInfo, frame_node
from tapwatch.analysis.tunnelstats import link_lines
from tapwatch.heap import HeapFreezer
from tapwatch.sanitize import printable
from tapwatch.tunnelview import MAX_FRAMES_DISSECTED, more_frames
from tapwatch.widgets.detail import DetailTree
from tapwatch.widgets.hexview import HexView
from tapwatch.widgets.packet_list import PacketList
from tapwatch.widgets.screen.base import ScreenBase

if TYPE_CHECKING:
    from collections.abc import Callable

    from tapwatch.decode import Node
    from tapwatch.ring import Record
    from tapwatch.session import Session

DETAIL_CACHE = 256  # dissected packets kept
PREFETCH = (1, -1, 2, -2)  # rows around the cursor dissected ahead when idle
#: packets the TCP analysis may still have to look at for the tree to start it by itself
#: (more waits for the Expert or Transactions tool, which show their progress)
EXPERT_AUTO = 50_000
#: the tree's own TCP analysis pass steps aside while the cursor moves: it holds the GIL
#: for whole chunks (about 50 µs a packet), which doubled the key-to-tree time on a
#: 50k-packet file in the seconds after it opened
EXPERT_CHUNK = 128  # records between looks at the keys (a few ms)
QUIET_S = 1.0  # the cursor has rested this long: go on


class DetailPanes(ScreenBase):
    """The tree and the bytes follow the cursor; dissection runs in an exclusive worker."""

    class DetailReady(Message):
        """A dissection finished: the protocol layers of packet ``seq``, or why there are none."""

        def __init__(self, seq: int, nodes: list[Node], note: str | None) -> None:
            super().__init__()
            self.seq = seq
            self.nodes = nodes
            self.note = note

    def __init__(
        self, session: Session, *, refresh_hz: float = 20, clock: Callable[[], int] | None = None
    ) -> None:
        super().__init__(session, refresh_hz=refresh_hz, clock=clock)
        self.detail_tree = DetailTree(id="detail", classes="pane")
        self.detail_tree.border_title = "Details"
        self.hex_view = HexView(id="hex", classes="pane")
        self.hex_view.border_title = "Bytes"
        self._want: int | None = None  # the packet under the cursor
        self._shown: int | None = -1  # the packet whose layers the tree shows
        self._frame_for: int | None = None  # the packet whose bytes the hex view shows
        self._cache: OrderedDict[int, tuple[list[Node], str | None]] = OrderedDict()
        #: the packet whose links the tree shows, and how many: a link found later (its
        #: outer packet came after the tree was drawn) redraws the tree on the next tick
        self._links_shown: tuple[int, int] | None = None
        #: TCP analysis and transactions, shared with the Expert and Transactions tools
        self.shared_expert = SharedExpert(session.linktypes)
        self._expert_busy = False
        self._moved_at = 0.0  # when the cursor last moved (monotonic)
        self._dissector_frozen = False
        self._analysis_heap = HeapFreezer()
        self.packet_list.expert_words = self._expert_words
        self.packet_list.related_info = self._related_info
        self.packet_list.on_cursor = self._follow_cursor

    @property
    def detail_pending(self) -> bool:
        """True while the tree/hex panes have not caught up with the cursor yet."""
        return self._want != self._shown

    def on_unmount(self) -> None:
        self._analysis_heap.thaw()

    def _follow_cursor(self, seq: int | None) -> None:
        """The list's cursor moved (called by the list at once: the tree and the bytes are
        drawn in the frame that shows the moved cursor)."""
        self._want = seq
        if not self.packet_list.follow:  # the user's keys, not the list following new packets
            self._moved_at = time.monotonic()
        self.update_detail()

    @on(PacketList.CursorMoved)
    def _cursor_moved(self, event: PacketList.CursorMoved) -> None:
        # the list told _follow_cursor already; a message arriving now may be stale
        if self.packet_list.on_cursor is None:
            self._follow_cursor(event.seq)

    @on(Tree.NodeHighlighted, "#detail")
    def _node_highlighted(self, event: Tree.NodeHighlighted[Node | None]) -> None:
        node = event.node.data
        if node is not None:
            self.hex_view.highlight(node.start, node.end)

    def refresh_frame(self) -> None:
        """The frame layer again (its times follow the time format)."""
        self._frame_for = None
        self.update_detail()

    def clear_detail(self) -> None:
        """Nothing selected, nothing cached (the ring was cleared)."""
        self._want = self._shown = self._frame_for = None
        self._cache.clear()
        self.update_detail()

    def _frame_info(self, rec: Record) -> FrameInfo:
        session = self.session
        iface = (
            session.interfaces[rec.iface] if rec.iface < len(session.interfaces) else session.info
        )
        packets = self.packet_list
        prev_ns = None
        if packets.rows:
            prev = packets.seq_at(packets.index_of(rec.seq) - 1)
            prev_rec = session.ring.get(prev) if prev is not None and prev != rec.seq else None
            prev_ns = prev_rec.ts_ns if prev_rec is not None else None
        wire = getattr(session, "wire_length", None)
        comment = getattr(session, "comment", None)
        note = getattr(session, "crossing", None)
        return FrameInfo(
            iface.name,
            iface.kind,
            iface.linktype,
            packets.first_ns if packets.first_ns is not None else rec.ts_ns,
            prev_ns,
            packets.time_format,
            wire(rec) if callable(wire) else None,
            comment(rec) if callable(comment) else None,
            note(rec) if callable(note) else None,
        )

    def tick(self) -> None:
        super().tick()
        shown = self._links_shown
        if shown is None or self._shown != self._want or shown[0] != self._shown:
            return
        linker = getattr(self.session, "linker", None)
        if linker is not None and len(linker.links.get(shown[0], ())) != shown[1]:
            self.update_detail()  # a link arrived (or left with its record): the tree again

    def _link_nodes(self, rec: Record) -> list[Node]:
        """ "Carried by" / "Carries": the packets linked to this one (``analysis.links``),
        shown as layers of their own after the frame layer."""
        from tapwatch.decode import Node

        session = self.session
        linker = getattr(session, "linker", None)
        links = linker.links_of(rec.seq) if linker is not None else []
        self._links_shown = (rec.seq, len(links))
        if not links:
            return []
        names = [printable(i.name) for i in session.interfaces]
        end = len(rec.data)
        return [
            Node(label, 0, end, [Node(d, 0, end, []) for d in details])
            for label, _other, details in link_lines(
                rec.seq, links, lambda i: names[i] if i < len(names) else f"if{i}"
            )
        ]

    def update_detail(self) -> None:
        """Show the packet under the cursor: at once from the cache, else dissect it."""
        seq = self._want
        tree, hexv = self.detail_tree, self.hex_view
        if seq is None:
            self._shown = self._frame_for = None
            tree.show_nodes(None, [])
            tree.set_title("Details")
            hexv.show(b"")
            return
        rec = self.session.ring.get(seq)
        if rec is None:
            self._shown = self._frame_for = seq
            tree.show_nodes(seq, [], note=f"packet {seq} was evicted from the ring")
            hexv.show(b"")
            return
        frame = frame_node(rec, self._frame_info(rec))
        if seq != self._frame_for:
            hexv.show(rec.data)
            self._frame_for = seq
        tree.set_title(f"Details · packet {seq}")
        cached = self._cache.get(seq)
        if cached is not None:
            self._cache.move_to_end(seq)
            nodes, note = cached
            tree.show_nodes(
                seq, self._link_nodes(rec) + self._with_analysis(seq, nodes), note=note, frame=frame
            )
            self._shown = seq
            # after the frame that shows this packet: the dissection ahead runs in a thread
            # that takes the interpreter from the drawing in 5 ms slices
            self.call_after_refresh(self._prefetch)
            return
        if not (tree.seq == seq and tree.pending):
            tree.show_nodes(seq, self._link_nodes(rec), frame=frame, pending=True)
        self._start_dissect(rec)

    def _with_analysis(self, seq: int, nodes: list[Node]) -> list[Node]:
        """The tree with the TCP analysis and transactions, once the index has seen ``seq``
        (else it is caught up in a worker, when that is not too long, and shown then)."""
        shared = self.shared_expert
        done = shared.caught_up_to()
        behind = self.session.ring.next_seq - 1 - done
        if seq > done and not self._expert_busy and behind <= EXPERT_AUTO:
            self._expert_busy = True
            self._expert_catch_up()
        index = shared.existing
        if index is None or seq > index.caught_up_to or seq < index.base:
            return nodes
        return enrich(nodes, index, seq)

    class ExpertCaughtUp(Message):
        """The TCP analysis has seen every packet held: the tree can show it."""

    @work(thread=True, exclusive=True, group="expert-tree", exit_on_error=False)
    def _expert_catch_up(self) -> None:
        shared = self.shared_expert
        worker = get_current_worker()

        def step_aside(_done: int, _total: int) -> None:
            """Between chunks: wait while the cursor is moving (the keys come first)."""
            while (
                time.monotonic() - self._moved_at < QUIET_S
                and not worker.is_cancelled
                and self.app.is_running
            ):
                time.sleep(0.05)

        try:
            with shared.lock:
                shared.catch_up(self.session.ring, Progress(report=step_aside), EXPERT_CHUNK)
        finally:
            self.post_message(self.ExpertCaughtUp())

    def _expert_words(self, seq: int) -> str | None:
        """The list's mark for a packet the TCP analysis flagged (once it has looked)."""
        index = self.shared_expert.existing
        return info_words(index, seq) if index is not None else None

    def _related_info(self, seq: int, info: str) -> str:
        """The list's Info with the analysis's relative TCP numbers and echo requests."""
        index = self.shared_expert.existing
        return related_info(index, seq, info) if index is not None else info

    def on_detail_panes_expert_caught_up(self, _message: DetailPanes.ExpertCaughtUp) -> None:
        self._expert_busy = False
        index = self.shared_expert.existing
        if index is not None:  # what the pass built is long-lived: out of the GC's way
            self._analysis_heap.grown(index.packets)
        self.packet_list.redraw()
        self.analysis_grew()
        if self._want is not None and self._want == self._shown:
            self.update_detail()

    def _start_dissect(self, rec: Record) -> None:
        view = self.session.tunnel_view
        inner = self.session.inner_frames(rec)
        shown = inner[:MAX_FRAMES_DISSECTED] if inner and view else []
        frames = [(f, view.linktype_of(f)) for f in shown] if view else []
        self._dissect(rec, self.session.linktype_of(rec), frames, len(inner or ()))

    @work(thread=True, exclusive=True, group="dissect", exit_on_error=False)
    def _dissect(
        self, rec: Record, linktype: int, frames: list[tuple[bytes, int]], total: int
    ) -> None:
        """Dissect one record off the event loop and out of this process (scapy: ms, 1 s
        on first use; :mod:`tapwatch.treechild`).

        ``frames``: what a tunnel segment carries (reassembled across segments), the
        first :data:`~tapwatch.tunnelview.MAX_FRAMES_DISSECTED` of ``total``: each is
        dissected too and shown as a layer after the segment's own; the rest are counted.
        """
        from tapwatch import decode
        from tapwatch.treechild import tree_child

        child = tree_child()  # scapy runs there: in a thread it held the UI's GIL
        try:
            wire = getattr(self.session, "wire_length", None)  # a cut frame's length on the wire
            wire_len = wire(rec) if wire is not None else None
            got = child.detail(rec.data, linktype, wire_len)
            if got is None:
                return  # a newer packet was selected meanwhile: nothing to keep
            nodes, note = list(got), None
            for n, (frame, lt) in enumerate(frames, 1):
                # reassembled bytes lie in no one place of this segment: no byte spans
                got = child.detail(frame, lt)
                if got is None:
                    return
                inner = [_without_spans(node) for node in got]
                nodes.append(
                    decode.Node(
                        f"Tunnel frame {n} of {total:,} ({len(frame)} bytes, reassembled)",
                        0,
                        0,
                        inner,
                    )
                )
            if total > len(frames):  # a peer's 20,000 tiny frames: bounded work
                nodes.append(decode.Node(more_frames(total - len(frames)), 0, 0, []))
            if frames:  # each frame's tree is bounded, not yet all of them together
                from tapwatch.decode.node import MAX_NODES, bounded

                nodes = bounded(nodes, [MAX_NODES])
        except Exception as e:  # decode.detail never raises; be sure
            nodes, note = [], f"could not dissect: {e.__class__.__name__}: {e}"
        # posted even when a newer request cancelled this one: stale for the cursor, but
        # right, and cached
        self.post_message(self.DetailReady(rec.seq, nodes, note))

    def on_detail_panes_detail_ready(self, message: DetailPanes.DetailReady) -> None:
        if not self._dissector_frozen:  # scapy's modules are loaded now: out of the GC's way
            self._dissector_frozen = True
            self.heap.freeze()
        self._cache[message.seq] = (message.nodes, message.note)
        while len(self._cache) > DETAIL_CACHE:
            self._cache.popitem(last=False)
        if message.seq == self._want:
            self.update_detail()
        elif self._shown == self._want:
            self._prefetch()  # the tree is up to date: go on dissecting ahead

    def _prefetch(self) -> None:
        """Dissect the nearest row around the cursor not dissected yet (one at a time:
        each result asks for the next)."""
        if self._want is None:
            return
        packets = self.packet_list
        if not packets.rows:
            return
        index = packets.index_of(self._want)
        for step in PREFETCH:
            seq = packets.seq_at(index + step)
            if seq is None or seq in self._cache:
                continue
            rec = self.session.ring.get(seq)
            if rec is not None:
                self._start_dissect(rec)
                return


def _without_spans(node: Node) -> Node:
    """A tree node (and its children) that highlights no bytes of the packet shown."""
    return type(node)(node.label, 0, 0, [_without_spans(c) for c in node.children])
