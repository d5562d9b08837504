"""Marking packets and writing them (or everything, or what the filter shows) to a file.

Collecting and writing 100k+ records takes a while, so the file is written
in a thread worker; the result comes back as one message and one
notification (a file written is worth a toast: it outlives the session).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from tapwatch.sanitize import printable
from tapwatch.widgets.dialogs.export import ExportRequest, ExportScreen, default_export_path
from tapwatch.widgets.screen.base import ScreenBase

if TYPE_CHECKING:
    from tapwatch.ring import Record, Ring


class ExportAndMarks(ScreenBase):
    """``w`` writes a file; ``m`` ``M`` ``]`` ``[`` mark packets and walk the marks."""

    class ExportDone(Message):
        def __init__(self, ok: bool, text: str) -> None:
            super().__init__()
            self.ok = ok
            self.text = text

    # ----- writing -------------------------------------------------------------------------
    def action_export(self) -> None:
        packets = self.packet_list
        packets.sync()
        name = time.strftime("tapwatch-%Y%m%d-%H%M%S.pcapng", time.localtime())
        default = default_export_path(name)
        marked = sum(1 for s in packets.marks if self.session.ring.get(s) is not None)
        screen = ExportScreen(
            default, len(self.session.ring), packets.rows, packets.filtered, marked
        )
        self.open_tool(screen, self._export)

    def _export(self, request: ExportRequest | None) -> None:
        if request is None:
            return
        path = os.path.abspath(os.path.expanduser(request.path))
        ring = self.session.ring
        records: Iterable[Record]
        if request.what == "shown":
            seqs = list(self.packet_list.arrival_rows())
            records = (r for r in map(ring.get, seqs) if r is not None)
        elif request.what == "marked":
            seqs = sorted(self.packet_list.marks)
            records = (r for r in map(ring.get, seqs) if r is not None)
        else:
            records = _ring_slice(ring, ring.first_seq, ring.next_seq)
        # every interface keeps its number, link type and name (pcapng: one block each;
        # classic pcap refuses mixed link types with a message that says to use pcapng)
        interfaces = [(i.linktype, printable(i.name)) for i in self.session.interfaces]
        self._write(path, records, interfaces)

    @work(thread=True, group="export", exit_on_error=False)
    def _write(
        self, path: str, records: Iterable[Record], interfaces: list[tuple[int, str]]
    ) -> None:
        from tapwatch import pcap

        (linktype, ifname), *more = interfaces
        try:
            n = pcap.export(path, records, linktype, ifname, interfaces=more)
        except pcap.PcapError as e:
            self.post_message(self.ExportDone(False, str(e)))
        except OSError as e:
            self.post_message(self.ExportDone(False, f"cannot write {path}: {e.strerror}"))
        else:
            self.post_message(self.ExportDone(True, f"wrote {n} packets to {path}"))

    def on_export_and_marks_export_done(self, message: ExportAndMarks.ExportDone) -> None:
        self.notify(
            printable(message.text),
            severity="information" if message.ok else "error",
            title="export" if message.ok else "export failed",
            markup=False,
        )

    # ----- marks ---------------------------------------------------------------------------
    def action_toggle_mark(self) -> None:
        seq = self.packet_list.cursor_seq
        if seq is not None:
            self.packet_list.toggle_mark(seq)

    def action_clear_marks(self) -> None:
        self.packet_list.clear_marks()

    def _step_mark(self, forward: bool) -> None:
        packets = self.packet_list
        rows = sorted(packets.index_of(s) for s in packets.marks if packets.contains(s))
        if not rows:
            self.say("no marked packet is shown (m marks the selected one)", "warning")
            return
        here = packets.cursor_index if packets.cursor_index is not None else -1
        if forward:
            target = next((r for r in rows if r > here), rows[0])
        else:
            target = next((r for r in reversed(rows) if r < here), rows[-1])
        packets.move_cursor(target)

    def action_next_mark(self) -> None:
        self._step_mark(True)

    def action_previous_mark(self) -> None:
        self._step_mark(False)


def _ring_slice(ring: Ring, start: int, stop: int) -> Iterator[Record]:
    """Records ``start <= seq < stop`` still held, read in chunks (safe from any thread)."""
    seq = start
    while seq < stop:
        chunk = ring.range(seq, min(stop, seq + 8192))
        if chunk:
            yield from chunk
            seq = chunk[-1].seq + 1
        else:
            seq = max(seq + 8192, ring.first_seq)
