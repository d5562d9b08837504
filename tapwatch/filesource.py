"""A capture file (or a live pipe) as a session's source: loaded into the ring by a thread.

Why apart from :mod:`tapwatch.sources`: a file is read, not opened on a device or
a socket; its loader (first batch soon, so the UI opens before the file is read;
the ring's limits; the delay across several inputs) is a job of its own.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from tapwatch.kinds import Direction, SourceKind
from tapwatch.ring import Extra, Ring, extra_cost
from tapwatch.snapshot import LoadStatus
from tapwatch.sources import InterfaceInfo, Source, SourceError

if TYPE_CHECKING:
    from tapwatch.analysis.crossing import Crossings
    from tapwatch.filters import PacketFilter
    from tapwatch.pcap import CaptureFile, PcapRecord


class FileSource(Source):
    """A capture file loaded into the ring by a thread, so the UI opens before it is read.

    A regular file is a finished capture: loading stops when the ring is full
    (its start is what people open a file for) and ``truncated_at`` says how
    many packets were loaded. A pipe may be a live capture from elsewhere
    (``ssh host tapwatch -w - | tapwatch -r -``): then the ring keeps the
    newest packets, as for a device.
    """

    kind: SourceKind = "file"

    def __init__(
        self,
        capture: CaptureFile,
        label: str,
        ring: Ring,
        wake: threading.Event,
        first_index: int = 0,
        *,
        follows_pipe: bool = False,
        capture_filter: PacketFilter | None = None,
    ) -> None:
        ifaces = capture.interfaces or []
        infos: list[InterfaceInfo] = []
        reason = "this is a capture file, not a device"
        if ifaces and len(ifaces) > 1:
            for i, spec in enumerate(ifaces):
                infos.append(
                    InterfaceInfo(
                        spec.name or f"if{i}",
                        "file",
                        read_only_reason=reason,
                        linktype=spec.linktype,
                        index=first_index + i,
                    )
                )
        else:
            infos.append(
                InterfaceInfo(
                    label,
                    "file",
                    read_only_reason=reason,
                    linktype=capture.linktype,
                    index=first_index,
                )
            )
        super().__init__(infos)
        self.capture = capture
        self.label = label
        self.capture_filter = capture_filter  # applied before the ring: a capture filter
        self.follows_pipe = follows_pipe
        self.loader = _FileLoader(self, ring, wake, first_index)
        self.loaded = 0
        self.truncated_at: int | None = None  # packets loaded when the ring filled up
        self.filtered_out = 0  # packets the capture filter kept out of the ring
        self.error: str | None = None
        #: several inputs merged: pairs the packets two of them saw (the delay across)
        self.crossings: Crossings | None = None
        self.done = threading.Event()
        #: set by a front end once its first screen shows rows: the loader reads on then
        self.shown = threading.Event()
        #: how long the loader waits for that after the first rows (None: a short while); the
        #: UI, which always sets it, gives it its start-up time: a loader reading on while
        #: textual starts took half the interpreter and made a 500k-packet file's first rows
        #: 2-3x slower than a 10-packet file's
        self.screen_wait: float | None = None

    @property
    def live(self) -> bool:
        return self.follows_pipe and not self.done.is_set()

    def start(self) -> None:
        if self.loader.ident is None:
            self.loader.start()

    def stop(self) -> None:
        self.loader.stop_event.set()

    def failure(self) -> str | None:
        return self.error

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Wait until the whole file is in the ring (or loading stopped); False on timeout."""
        return self.done.wait(timeout)

    def load_status(self) -> LoadStatus:
        done = self.done.is_set()
        return LoadStatus(
            loaded=self.loaded,
            done=done,
            fraction=None if done else self.capture.progress(),
            follows_pipe=self.follows_pipe,
            truncated_at=self.truncated_at,
            error=self.error,
        )

    def close(self) -> None:
        self.stop()
        if self.loader.is_alive():
            self.loader.join(timeout=2)
        self.capture.close()


class _FileLoader(threading.Thread):
    """Reads a capture file into the ring in batches, waking the pump after each."""

    BATCH = 4096
    FIRST_BATCH = 256  # the first screen's rows go in at once
    FIRST_SCREEN_WAIT = 0.3  # longest the loader waits for the first screen to show them
    #: a pipe's records wait at most this long for their batch to fill (a live capture's
    #: packets show as they arrive, not when 256 of them have)
    PIPE_HANDOVER_S = 0.05

    def __init__(
        self, source: FileSource, ring: Ring, wake: threading.Event, first_index: int
    ) -> None:
        super().__init__(name="tapwatch-file", daemon=True)
        self.source = source
        self.ring = ring
        self.wake = wake
        self.first_index = first_index
        self.stop_event = threading.Event()

    def run(self) -> None:
        from tapwatch.pcap import PcapError

        src = self.source
        ring = self.ring
        keep_start = not src.follows_pipe
        room = ring.max_packets - len(ring) if keep_start else None
        used = ring.nbytes  # what the ring holds, side data included (a file keeps its start)
        batch: list[tuple[int, int, bytes]] = []
        extras: dict[int, Extra] = {}  # side data of the batch's records, by position
        batch_iface = self.first_index
        lts = [i.linktype for i in src.interfaces]
        flt = src.capture_filter
        crossings = src.crossings
        pipe = src.follows_pipe
        # what says whether the next record is there already (else reading it may block)
        pending = getattr(src.capture, "pending", None) if pipe else None
        handed = time.monotonic()
        try:
            for rec in src.capture:
                if self.stop_event.is_set():
                    break
                local = rec.iface
                if local >= len(lts):  # described after packets: a new interface
                    self._flush(batch, batch_iface, extras)
                    lts = self._learn_interfaces(lts)
                if flt is not None and not flt.match(rec.data, lts[local]):
                    src.filtered_out += 1
                    continue
                iface = self.first_index + local
                if iface != batch_iface and batch:
                    self._flush(batch, batch_iface, extras)
                batch_iface = iface
                direction = rec.direction if rec.direction is not None else Direction.UNKNOWN
                extra = None
                if rec.orig_len != len(rec.data) or rec.comment:
                    # kept with the record in the ring, and gone with it: the frame layer
                    # shows them
                    cut = rec.orig_len != len(rec.data)
                    extra = Extra(rec.orig_len if cut else None, rec.comment)
                if room is not None:
                    used += len(rec.data) + (extra_cost(extra) if extra is not None else 0)
                    if room <= 0 or used > ring.max_bytes:
                        self._flush(batch, batch_iface, extras)
                        src.truncated_at = src.loaded
                        break
                    room -= 1
                if crossings is not None:
                    number = ring.next_seq + len(batch)  # the number the record will have
                    extra = _crossed(crossings, rec, lts[local], number, direction, extra)
                if extra is not None:
                    extras[len(batch)] = extra
                batch.append((rec.ts_ns, direction, rec.data))
                if pipe:
                    now = time.monotonic()
                    if (
                        pending is None
                        or not pending()
                        or now - handed >= self.PIPE_HANDOVER_S
                        or len(batch) >= self.BATCH
                    ):
                        handed = now
                        self._flush(batch, batch_iface, extras)
                    continue
                if len(batch) >= (self.FIRST_BATCH if src.loaded == 0 else self.BATCH):
                    first = src.loaded == 0
                    self._flush(batch, batch_iface, extras)
                    if first:
                        # let the first screen draw before reading on: loading and drawing
                        # share one interpreter, and the screen is what the user waits for
                        deadline = time.monotonic() + (src.screen_wait or self.FIRST_SCREEN_WAIT)
                        while (
                            not src.shown.wait(0.05)
                            and time.monotonic() < deadline
                            and not self.stop_event.is_set()
                        ):
                            pass
            self._flush(batch, batch_iface, extras)
        except PcapError as e:
            self._keep(batch, batch_iface, extras)
            src.error = str(e)
        except Exception as e:  # a bug: said in the status bar and the exit status, never silent
            from tapwatch.threads import one_line

            self._keep(batch, batch_iface, extras)
            src.error = (
                f"{src.label}: loading stopped after {src.loaded:,} packets: "
                f"internal error ({one_line(e)})"
            )
        finally:
            src.done.set()
            self.wake.set()

    def _keep(
        self, batch: list[tuple[int, int, bytes]], iface: int, extras: dict[int, Extra]
    ) -> None:
        """After a failure: what was read before it goes in the ring, when it still can."""
        with contextlib.suppress(Exception):
            self._flush(batch, iface, extras)

    def _learn_interfaces(self, lts: list[int]) -> list[int]:
        """Interfaces the file described after its first packets, handed to the session."""
        src = self.source
        reason = src.interfaces[0].read_only_reason
        for n in range(len(lts), len(src.capture.interfaces)):
            spec = src.capture.interfaces[n]
            info = InterfaceInfo(
                spec.name or f"if{n}",
                "file",
                read_only_reason=reason,
                linktype=spec.linktype,
                index=self.first_index + n,
            )
            src.interfaces.append(info)
            if src.on_new_interface is not None:
                src.on_new_interface(info)
        return [i.linktype for i in src.interfaces]

    def _flush(
        self, batch: list[tuple[int, int, bytes]], iface: int, extras: dict[int, Extra]
    ) -> None:
        """Hand ``batch`` (and its side data) to the ring; both are emptied, even when the ring
        fails on one of the records, so nothing is ever handed over twice."""
        items, more = batch[:], dict(extras)
        batch.clear()
        extras.clear()
        if items:
            self.ring.extend(items, iface, more)
            self.source.loaded += len(items)
            self.wake.set()


def _crossed(
    crossings: Crossings,
    rec: PcapRecord,
    linktype: int,
    number: int,
    direction: int,
    extra: Extra | None,
) -> Extra | None:
    """``extra`` with a note when another input saw this packet before (where, how long)."""
    c = crossings.see(rec.ts_ns, rec.data, linktype, rec.iface, number, direction)
    if c is None:
        return extra
    return (extra or Extra())._replace(note=crossings.note(c))


def open_file(
    path: str,
    ring: Ring,
    wake: threading.Event,
    *,
    index: int = 0,
    stdin: BinaryIO | None = None,
    capture_filter: Callable[[list[int]], PacketFilter | None] | None = None,
) -> FileSource:
    """A capture file (or ``-``: standard input) as a source the UI can browse while it loads."""
    import stat as stat_mod

    from tapwatch.pcap import PcapError, read_capture

    try:
        if path == "-":
            if stdin is None:
                raise SourceError("-r -: there is no standard input to read")
            cap = read_capture(stdin)
            pipe = True
            try:
                mode = os.fstat(stdin.fileno()).st_mode
                pipe = not stat_mod.S_ISREG(mode)
            except (AttributeError, OSError, ValueError):
                pass
            label = "stdin"
        else:
            cap = read_capture(path)
            pipe = False
            label = os.path.basename(path)
    except PcapError as e:
        raise SourceError(str(e)) from None
    if pipe:
        from tapwatch.pcap.merge import MergedCapture

        # read in a thread of its own, so the loader knows when the next record has not
        # arrived and hands over what it holds: a live pipe's packets show as they come
        cap = MergedCapture([cap])  # type: ignore[assignment]
    src = FileSource(cap, label, ring, wake, index, follows_pipe=pipe)
    if capture_filter is not None:
        src.capture_filter = capture_filter([i.linktype for i in src.interfaces])
    return src
