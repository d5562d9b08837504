"""The analysis tools' screens: follow a stream, conversations and endpoints, expert
information and transactions.

Each tool is a screen of its own (``widgets.follow``, ``widgets.conversations``)
that reads the shared flow index; this opens them on the selected packet and
applies the filter a tool dismisses with (Enter on a conversation, ``F`` on
a stream) as the display filter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from tapwatch.analysis.conversations import SharedIndex
from tapwatch.analysis.headers import transport
from tapwatch.widgets.conversations import ConversationsScreen
from tapwatch.widgets.expert import ExpertScreen
from tapwatch.widgets.follow import FollowScreen
from tapwatch.widgets.screen.filtering import DisplayFilter
from tapwatch.widgets.tunnels import TunnelsScreen

#: records indexed at a time while a file loads (the lock is held that long, ~20 ms)
INDEX_SLICE = 2048
INDEX_QUIET_S = 1.0  # the cursor has rested this long: index on

if TYPE_CHECKING:
    from tapwatch.analysis.expert import SharedExpert
    from tapwatch.session import Session


class AnalysisTools(DisplayFilter):
    """``f`` ``F``, ``C`` ``E``, ``X`` ``R``, ``T`` ``J``."""

    #: the TCP analysis and transactions (made by the detail panes, which show them too)
    shared_expert: SharedExpert

    def __init__(
        self,
        session: Session,
        *,
        refresh_hz: float = 20,
        clock: Callable[[], int] | None = None,
        display_filter: str = "",
    ) -> None:
        super().__init__(session, refresh_hz=refresh_hz, clock=clock)
        self.initial_filter = display_filter  # -Y
        self.shared_index = SharedIndex(session.linktypes)
        self._link_turn: dict[int, int] = {}  # which of a packet's links ``L`` follows next
        self._indexing = False

    def while_loading(self) -> None:
        super().while_loading()
        if not self._indexing and self.packet_list.rows:  # after the first rows are drawn
            self._indexing = True
            self._index_flows()

    @work(thread=True, exclusive=True, group="flow-index", exit_on_error=False)
    def _index_flows(self) -> None:
        """Index the flows as a file loads, so the first follow (or Conversations) finds the
        index made: it took 8 s after a 500k-packet file loaded. Slices of ``INDEX_SLICE``
        records under the index's lock; steps aside while the cursor moves; ends when the
        file is read and the index has caught up with it."""
        worker = get_current_worker()
        shared, ring = self.shared_index, self.session.ring
        while not worker.is_cancelled and self.app.is_running:
            if time.monotonic() - getattr(self, "_moved_at", 0.0) < INDEX_QUIET_S:
                time.sleep(0.05)  # the keys come first
                continue
            with shared.lock:
                index = shared.index
                n = index.update(ring, stop=min(ring.next_seq, index.next_seq + INDEX_SLICE))
            if n == 0:
                if not self.file_loading:
                    return
                time.sleep(0.1)  # caught up with the loader: wait for more

    def action_follow(self) -> None:
        rec = self.packet_list.selected_record()
        if rec is None:
            self.say("select a TCP or UDP packet first", "warning")
            return
        linktype = self.session.linktype_of(rec)
        t = transport(rec.data, linktype)
        if t is None or not (t.sport or t.dport):
            self.say("the selected packet is not TCP or UDP: nothing to follow", "warning")
            return
        self.open_tool(
            FollowScreen(
                self.shared_index,
                self.session.ring,
                self.session.linktypes,
                rec.data,
                linktype,
            ),
            self._tool_filter,
        )

    def action_filter_stream(self) -> None:
        rec = self.packet_list.selected_record()
        t = transport(rec.data, self.session.linktype_of(rec)) if rec is not None else None
        if rec is None or t is None or not (t.sport or t.dport):
            self.say("select a TCP or UDP packet first", "warning")
            return
        from tapwatch.analysis.conversations import Conversation

        conv = Conversation(t.proto, t.src, t.dst, t.sport, t.dport)
        self._tool_filter(conv.filter_expr())

    def action_conversations(self) -> None:
        self._open_conversations("flows")

    def action_endpoints(self) -> None:
        self._open_conversations("endpoints")

    def _open_conversations(self, start: str) -> None:
        first = self.packet_list.first_ns or 0
        self.open_tool(
            ConversationsScreen(
                self.shared_index, self.session.ring, first, live=self.session.live, start=start
            ),
            self._tool_filter,
        )

    def action_expert(self) -> None:
        self.open_tool(
            ExpertScreen(self.shared_expert, self.session.ring, live=self.session.live),
            self._tool_packet,
        )

    def action_transactions(self) -> None:
        from tapwatch.widgets.transactions import TransactionsScreen

        self.open_tool(
            TransactionsScreen(self.shared_expert, self.session.ring, live=self.session.live),
            self._tool_packet,
        )

    def _tool_packet(self, seq: int | None) -> None:
        """A tool chose a packet: select it in the list (clearing a filter that hides it)."""
        packets = self.packet_list
        packets.redraw()  # the analysis may have looked at more: the list's marks
        if seq is None:
            return
        if not packets.go_to_seq(seq):
            self.apply_filter("")
            if not packets.go_to_seq(seq):
                self.say(f"packet {seq:,} is no longer held", "warning")
                return
        packets.focus()

    def action_tunnels(self) -> None:
        linker = self.session.linker
        if linker is None:
            self.say("this session does not link inner and outer packets", "warning")
            return
        self.open_tool(
            TunnelsScreen(
                linker, [i.name for i in self.session.interfaces], live=self.session.live
            ),
            self._tool_filter,
        )

    def action_linked(self) -> None:
        """The packet linked to the selected one (an inner packet's carrier, an outer
        packet's cargo); pressed again on the same packet, the next of its links."""
        rec = self.packet_list.selected_record()
        linker = self.session.linker
        if rec is None or linker is None:
            self.say("select a packet first", "warning")
            return
        links = linker.links_of(rec.seq)
        if not links:
            self.say(f"packet {rec.seq:,} has no linked inner or outer packet", "warning")
            return
        turn = self._link_turn.get(rec.seq, 0) % len(links)
        link = links[turn]
        other = link.outer if link.inner == rec.seq else link.inner
        self._link_turn = {other: 0, rec.seq: turn + 1}
        if other != rec.seq:
            self._link_turn[other] = next(
                (n for n, k in enumerate(linker.links_of(other)) if k == link), 0
            )
        if self.packet_list.go_to_seq(other):
            self.packet_list.focus()
        else:
            self.say(
                f"packet {other:,} ({'outer' if other == link.outer else 'inner'}) is hidden "
                "by the display filter or no longer held",
                "warning",
            )

    def _tool_filter(self, expr: str | None) -> None:
        """A tool asked to see its subject in the list: apply it as the display filter."""
        if not expr:
            return
        self.apply_filter(expr)
        self.packet_list.focus()
