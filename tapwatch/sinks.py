"""Where the pump sends records: the capture file, the printed lines, the tunnel, the tunnel view.

A session's pump is the ring's one consumer; it hands each record to its
sinks in ring order, from its one thread. A sink that ``sees_every_record``
(the peer, the tunnel, the view that reassembles tunnel streams) gets every
record, before the capture filter and ``-c``: the peer must see an ARP request
a filter of ``icmp`` would hide. The others (the file, the lines) get the
records the session counts. The peer is :class:`tapwatch.peer.Peer`.

After each pump cycle (also an idle one) every sink's ``end_batch`` runs: lines
held for time order come due, the file is flushed now and then. A sink ends
capture by calling ``stop`` with the reason (the session sets it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from tapwatch.kinds import Direction
from tapwatch.pcap.errors import FileLimitReached, RecordDoesNotFit
from tapwatch.reorder import HOLD_S, Reorder
from tapwatch.ring import Record

if TYPE_CHECKING:
    from tapwatch.analysis.links import Linker
    from tapwatch.headless import LinePrinter
    from tapwatch.pcap import CaptureWriter
    from tapwatch.sources import InterfaceInfo
    from tapwatch.tunnel import Tunnel
    from tapwatch.tunnelview import TunnelView

#: How often the capture file is flushed while packets keep coming (it is at once when idle).
FLUSH_EVERY_S = 0.5


def _no_stop(reason: str) -> None:
    return None


class Sink:
    """Something the pump hands records to; the base does nothing with them."""

    #: True: every record, before the capture filter and -c; False: the records counted
    sees_every_record: ClassVar[bool] = False
    #: True: every record, handed over a batch at a time (``take_batch``), not one by one
    batched: ClassVar[bool] = False

    def __init__(self) -> None:
        #: ends capture with a reason (the session that takes the sink sets it)
        self.stop: Callable[[str], None] = _no_stop

    def take(self, rec: Record, linktype: int) -> None:
        """One record (pump thread)."""

    def take_batch(self, records: list[Record], linktypes: Sequence[int]) -> None:
        """A batch of records in ring order (pump thread; ``batched`` sinks only)."""

    def end_batch(self, idle: bool) -> None:
        """After each pump cycle; ``idle``: it found nothing new."""

    def interface_added(self, info: InterfaceInfo) -> None:
        """The session numbered one more interface (``info.index``) while capture runs."""

    def event(self, rec: Record, text: str) -> None:
        """An interface event record (not a packet; ``text`` says it): none is counted,
        filtered or answered."""

    def start(self) -> None:
        """The session starts (threads of the sink's own start here)."""

    def halt(self) -> None:
        """The session is closing: nothing more goes out from here on."""

    def close(self) -> None:
        """The last records were taken: finish and release what the sink holds."""


class FileSink(Sink):
    """``-w``: the counted records into a capture file, cut to ``snaplen`` (``-s``).

    A record the file's format cannot hold is skipped and counted
    (``not_written``); a write that fails ends writing, not capture
    (``write_error``); ``-G`` with ``-W`` having written its last file ends
    capture, as tcpdump does, successfully (``written_out``).

    Records are written in time order: each waits ``hold`` seconds for records
    stamped before it that reach the ring after it (see :mod:`tapwatch.reorder`:
    a tunnel's outer packet, another interface's batch).
    """

    def __init__(
        self, writer: CaptureWriter, snaplen: int | None = None, hold: float = HOLD_S
    ) -> None:
        super().__init__()
        self.writer = writer
        self.snaplen = snaplen
        self._held: Reorder[Record] = Reorder(hold)
        self._taken: list[Record] = []  # this pump cycle's records, held at its end
        self.write_error: str | None = None
        self.not_written = 0
        self.written_out = False
        self._writing = True
        self._last_flush = time.monotonic()
        self.events_not_written = 0
        self._comments: dict[int, str] = {}  # interface events' words, by seq, until written
        #: the file's number of each interface added while capture ran (None: it cannot
        #: hold it - classic pcap has one link type); the first ones are the file's own
        known = getattr(writer, "interfaces", None)  # (a stand-in writer may not say)
        self._known = len(known) if known is not None else 1 << 16
        self._added: dict[int, int | None] = {}

    def interface_added(self, info: InterfaceInfo) -> None:
        from tapwatch.pcap import PcapError

        if not self._writing:
            self._added[info.index] = None
            return
        try:
            self._added[info.index] = self.writer.add_interface(info.linktype, info.name)
        except PcapError:
            self._added[info.index] = None

    def event(self, rec: Record, text: str) -> None:
        if self._file_iface(rec.iface) is None:
            self.events_not_written += 1
            return
        if len(self._comments) < 4096:  # its words go with it (a comment Wireshark shows)
            self._comments[rec.seq] = text
        self.take(rec, 0)

    def _file_iface(self, iface: int) -> int | None:
        return iface if iface < self._known else self._added.get(iface)

    @property
    def written(self) -> int:
        return self.writer.count

    def take(self, rec: Record, linktype: int) -> None:
        if self._writing:
            self._taken.append(rec)

    def _write_due(self, final: bool = False) -> None:
        taken = self._taken
        if taken:
            self._held.add_many([r.ts_ns for r in taken], taken)
            self._taken = []
        for rec in self._held.due(final):
            if not self._writing:
                break
            self._write(rec)

    def _write(self, rec: Record) -> None:
        data = rec.data
        snap = self.snaplen
        iface = rec.iface
        if iface >= self._known:
            mapped = self._added.get(iface)
            if mapped is None:  # an interface the file's format cannot hold
                self.not_written += 1
                return
            iface = mapped
        try:
            comment = self._comments.pop(rec.seq, None) if self._comments else None
            commented = getattr(self.writer, "write_commented", None)
            if comment is not None and commented is not None:
                commented(rec.ts_ns, data, rec.direction, iface, comment)
            elif snap is not None and len(data) > snap:
                self.writer.write(rec.ts_ns, data[:snap], rec.direction, len(data), iface)
            else:
                self.writer.write(rec.ts_ns, data, rec.direction, None, iface)
        except FileLimitReached as e:  # -G with -W: tcpdump ends here, successfully
            self.written_out = True
            self._writing = False
            self.stop(str(e))
        except RecordDoesNotFit:
            self.not_written += 1
        except Exception as e:
            self._failed(e)

    def end_batch(self, idle: bool) -> None:
        if self.write_error is not None:
            return
        self._write_due()
        now = time.monotonic()
        if idle or now - self._last_flush > FLUSH_EVERY_S:
            self._last_flush = now
            try:
                self.writer.flush()
            except Exception as e:
                self._failed(e)

    def close(self) -> None:
        if self.write_error is None and self._writing:
            self._write_due(final=True)
        if self.write_error is None:
            self._writing = False
            try:
                self.writer.close()
            except Exception as e:
                self.write_error = str(e)

    def _failed(self, e: Exception) -> None:
        self.write_error = str(e) or e.__class__.__name__
        self._writing = False
        with contextlib.suppress(Exception):  # the write error is what the user hears of
            self.writer.close()


class PrinterSink(Sink):
    """Headless lines: each counted record to a :class:`~tapwatch.headless.LinePrinter`,
    whose held lines come out after each cycle; output that went away ends capture."""

    def __init__(self, printer: LinePrinter) -> None:
        super().__init__()
        self.printer = printer

    def take(self, rec: Record, linktype: int) -> None:
        self.printer(rec)

    def interface_added(self, info: InterfaceInfo) -> None:
        self.printer.interface_added(info)

    def event(self, rec: Record, text: str) -> None:
        self.printer.event(rec, text)

    def end_batch(self, idle: bool) -> None:
        ended = self.printer.flush()
        if ended:
            self.stop(ended)


class TunnelSink(Sink):
    """Being a tunnel's end: what the host sends into the device goes to the far end.

    The far end is then the device's only peer (the session refuses echo and
    reply beside it).
    """

    sees_every_record = True

    def __init__(self, tunnel: Tunnel, iface: int) -> None:
        super().__init__()
        self.tunnel = tunnel
        self.iface = iface
        #: the device's reader sends each frame itself, as it reads it (no hand-over to
        #: the pump: bench/tunnel_latency_bench.py); this sink then sends nothing
        self.direct = False

    def read_by(self, reader: object) -> None:
        """Let ``reader`` (the device's) send each frame the moment it reads it, if it can."""
        if getattr(reader, "forwards", False):
            if self.tunnel.relays:  # the compiled relay's thread reads the device and sends
                reader.relay = self.tunnel.relay_device  # type: ignore[attr-defined]
            else:
                reader.forward = self.tunnel.send  # type: ignore[attr-defined]
            self.direct = True
        elif self.tunnel.relays:  # another capture path reads the device: frames come here
            self.tunnel.without_relay()

    def take(self, rec: Record, linktype: int) -> None:
        if not self.direct and rec.direction == Direction.OUTBOUND and rec.iface == self.iface:
            self.tunnel.send(rec.data)

    def start(self) -> None:
        if self.tunnel.ident is None:
            self.tunnel.start()

    def halt(self) -> None:
        self.tunnel.stop()


class InnerFrames(Sink):
    """Follows the framed tunnel streams a :class:`~tapwatch.tunnelview.TunnelView` names;
    the frames each segment completes are kept in the ring beside it (and go with it)."""

    sees_every_record = True

    def __init__(self, view: TunnelView) -> None:
        super().__init__()
        self.view = view
        #: where a segment's frames are kept (the session sets its ring's ``set_inner``)
        self.keep: Callable[[int, tuple[bytes, ...]], object] | None = None

    def take(self, rec: Record, linktype: int) -> None:
        frames = self.view.frames(rec.data, linktype)  # every segment, in order: frames span them
        if frames is not None and self.keep is not None:
            self.keep(rec.seq, tuple(frames))


class LinkSink(Sink):
    """Links inner and outer packets as they pass (see :mod:`tapwatch.analysis.links`);
    the session binds the linker to its ring and interfaces, and prunes its links as the
    ring evicts."""

    sees_every_record = True
    batched = True

    def __init__(self, linker: Linker) -> None:
        super().__init__()
        self.linker = linker
        #: the ring's oldest seq (the session sets it): links of evicted records go
        self.first_seq: Callable[[], int] | None = None

    def take(self, rec: Record, linktype: int) -> None:
        self.linker.take(rec, linktype)

    def take_batch(self, records: list[Record], linktypes: Sequence[int]) -> None:
        self.linker.take_batch(records, linktypes)

    def end_batch(self, idle: bool) -> None:
        if self.first_seq is not None:
            self.linker.prune(self.first_seq())

    def close(self) -> None:
        self.linker.finish()
