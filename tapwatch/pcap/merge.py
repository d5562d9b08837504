"""Several captures read as one: files and live pipes merged by time (``-r A -r B``).

Why: the two ends of a tunnel are captured on two hosts
(``-r <(ssh a tapwatch -w -) -r <(ssh b tapwatch -w -)``); one session that
holds both shows a packet leaving one host's tun and arriving at the other's.

:class:`MergedCapture` looks like a :class:`~tapwatch.pcap.reader.CaptureFile`
to whoever reads it (interfaces, a single pass of records, ``truncated``,
``close``), so the printer, the converter and the UI's loader take it as they
take one file. Every input is read by a thread of its own into a short queue;
the merge is a k-way merge on the inputs' next records.

Interfaces are numbered across the inputs (the first input's first, in its
order; one an input describes late gets the next free number) and named with
their input's label in front (``hostA:tun0``), so two files' ``tun0`` stay
apart in lines, files and the UI.

The ordering guarantee (said in ``--help`` as well): each input's records come
out in that input's order; across inputs, a record comes out once every other
input has shown its next record, or has been silent for :data:`WAIT_S` - a
regular file is always waited for, a live pipe that has nothing yet is not, so
an idle pipe never holds the others back. A pipe's packet that arrives after
that wait, stamped before packets already given out, comes out late (out of
time order) rather than never.

One input's trouble never stops the others: an input that is no capture (a bad
header, a pipe that closes empty) or that fails part way is said in one line
naming it when the merge notices, the other inputs go on, and :meth:`MergedCapture.summary`
says at the end what happened to each. Only when no input at all is a capture
does opening fail.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from tapwatch.pcap.errors import PcapError
from tapwatch.pcap.reader import Interface, PcapRecord

if TYPE_CHECKING:
    from tapwatch.pcap.files import FileId
    from tapwatch.pcap.reader import CaptureFile

#: How long a live pipe with no record ready may hold back the other inputs' records.
WAIT_S = 0.2
#: How long the merge waits for a live pipe's header before it starts without it.
HEADER_WAIT_S = 3.0
#: Records an input's thread reads ahead (a regular file), at most.
_AHEAD = 2048
#: A regular file's records are handed over this many at a time (a pipe's one by one).
_CHUNK = 256


def label_for(path: str) -> str:
    """The short name an input's interfaces carry in front of theirs: the file's name
    without its extension; ``stdin`` for ``-``; ``fd63`` for a shell's ``<(...)``."""
    if path == "-":
        return "stdin"
    base = os.path.basename(path.rstrip("/")) or path
    if os.path.dirname(path) in ("/dev/fd", "/proc/self/fd") and base.isdigit():
        return f"fd{base}"
    stem, _ext = os.path.splitext(base)
    return stem or base


def unique_labels(paths: Sequence[str]) -> list[str]:
    """One label per input, made distinct (``a``, ``a#2``) when two inputs share a name."""
    out: list[str] = []
    for path in paths:
        label = label_for(path)
        n = 1
        candidate = label
        while candidate in out:
            n += 1
            candidate = f"{label}#{n}"
        out.append(candidate)
    return out


def is_live(capture: CaptureFile) -> bool:
    """Whether an input may still grow while it is read (a pipe, a terminal, a socket)."""
    fh = capture._fh  # the reader's stream: what kind of file it is decides the waiting
    try:
        return not stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return True


def prefixed(label: str, iface: Interface, n: int) -> Interface:
    """``iface`` named with its input's label in front (``label:tun0``; ``label`` alone for a
    classic pcap file, which names none)."""
    if iface.name:
        return iface._replace(name=f"{label}:{iface.name}")
    return iface._replace(name=label if n == 0 else f"{label}:if{n}")


class Pending(NamedTuple):
    """A live pipe not opened yet: its header is read by its own thread, so a pipe whose
    writer has not started (ssh still connecting, tcpdump -w - holding its header in a
    buffer) never holds the other inputs back."""

    path: str
    open: Callable[[], CaptureFile]


def pipe_input(path: str, stream: BinaryIO | None = None) -> Pending:
    """``path`` (or ``stream``, read as ``path``) as an input opened in its own thread."""
    from tapwatch.pcap.reader import read_capture

    return Pending(path, lambda: read_capture(stream if stream is not None else path))


class _Input:
    """One input: its capture, the thread reading it, what it has read ahead."""

    def __init__(
        self, source: CaptureFile | Pending, label: str, number: int, cond: threading.Condition
    ):
        self.pending = source if isinstance(source, Pending) else None
        self.capture: CaptureFile | None = None if isinstance(source, Pending) else source
        self.path = source.path
        self.label = label
        self.number = number
        self.live = True if isinstance(source, Pending) else is_live(source)
        self.queue: deque[PcapRecord] = deque()
        self.done = False  # the thread has read the last record (or failed)
        self.error: PcapError | None = None
        self.to_global: list[int] = []
        self.count = 0  # records given out
        self.said = False  # its trouble has been told
        self.empty_since: float | None = None  # when the merge began waiting for it
        self._cond = cond
        self.stop = False
        self.thread = threading.Thread(
            target=self._run, name=f"tapwatch-merge-{number}", daemon=True
        )

    def _run(self) -> None:
        cond = self._cond
        chunk: list[PcapRecord] = []
        size = 1 if self.live else _CHUNK
        try:
            if self.pending is not None:
                capture = self.pending.open()
                with cond:
                    self.capture = capture
                    cond.notify_all()
            assert self.capture is not None
            for rec in self.capture:
                chunk.append(rec)
                if len(chunk) >= size:
                    with cond:
                        while len(self.queue) >= _AHEAD and not self.stop:
                            cond.wait(0.5)
                        if self.stop:
                            return
                        self.queue.extend(chunk)
                        cond.notify_all()
                    chunk = []
        except PcapError as e:
            self.error = e
        except Exception as e:  # a bug: the merge reports it as this input's failure
            self.error = PcapError(f"{self.path}: reading stopped: {e!r}")
        finally:
            with cond:
                self.queue.extend(chunk)
                self.done = True
                cond.notify_all()


class MergedCapture:
    """Several open captures as one, merged by time (see the module's docstring)."""

    def __init__(
        self,
        captures: Sequence[CaptureFile | Pending],
        labels: Sequence[str] | None = None,
        wait_s: float = WAIT_S,
        header_wait_s: float = HEADER_WAIT_S,
        on_trouble: Callable[[str], None] | None = None,
    ) -> None:
        """``labels`` None: one capture read through a thread, its interfaces as they are
        (a live pipe whose reader wants to know whether the next record is there).

        A :class:`Pending` input is opened by its thread; the merge waits for its header
        ``header_wait_s`` at most (while no input has one: as long as it takes), and
        numbers its interfaces when its first packets come. ``on_trouble`` is told one
        line when an input fails (the others go on). Raises PcapError only when no input
        is a capture."""
        self.on_trouble = on_trouble
        #: the lines told about inputs that failed, in the order they were noticed
        self.troubles: list[str] = []
        self.rename = labels is not None
        if labels is None:
            labels = [""] * len(captures)
            if len(captures) != 1:
                raise ValueError("several captures need their labels")
        if len(captures) != len(labels) or not captures:
            raise ValueError("one label per capture, at least one capture")
        self._cond = threading.Condition()
        self.inputs = [
            _Input(c, lab, n, self._cond)
            for n, (c, lab) in enumerate(zip(captures, labels, strict=True))
        ]
        self.wait_s = wait_s
        self.interfaces: list[Interface] = []
        #: the input each interface comes from (by global interface number)
        self.input_of: list[int] = []
        self.path = ", ".join(inp.path for inp in self.inputs)
        self._headers(header_wait_s)
        opened = [inp.capture for inp in self.inputs if inp.capture is not None]
        first = opened[0]
        # several inputs' interfaces need pcapng to be kept apart
        self.format = "pcapng" if self.rename else first.format
        self.linktype = self.interfaces[0].linktype
        self.snaplen = first.snaplen
        self.nanosecond = any(c.nanosecond for c in opened)
        self.ifname = self.interfaces[0].name
        self.identity: FileId | None = first.identity
        self.identities = [c.identity for c in opened]
        self.truncated = False
        self.count = 0
        #: records that came out stamped before one already given out (a late pipe)
        self.out_of_order = 0
        self._heap: list[tuple[int, int, PcapRecord]] = []
        self._records = self._merge()

    def _headers(self, wait_s: float) -> None:
        """Start the inputs' threads; wait for the pipes' headers (bounded, see __init__);
        number the interfaces of every input opened, in input order."""
        for inp in self.inputs:
            inp.thread.start()
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                late = [i for i in self.inputs if i.capture is None and not i.done]
                opened = any(i.capture is not None for i in self.inputs)
                if not late or (opened and time.monotonic() >= deadline):
                    break
                self._cond.wait(max(0.01, deadline - time.monotonic()) if opened else 0.5)
            failed = [i for i in self.inputs if i.capture is None and i.done and i.error]
            if len(failed) == len(self.inputs):
                self.close()
                raise failed[0].error  # type: ignore[misc]  # no capture at all: said first
            for inp in self.inputs:
                if inp.capture is not None:
                    self._learn(inp)
            if not self.interfaces:
                self.close()
                raise PcapError(f"{self.path}: no input holds an interface")
            for inp in failed:  # the others go on: said before anything is shown
                self._tell(inp)

    def _tell(self, inp: _Input) -> None:
        """Say once that ``inp`` failed, naming it (the other inputs go on)."""
        if inp.said or inp.error is None or not self.rename:
            return
        inp.said = True
        msg = str(inp.error)
        if inp.path not in msg:
            msg = f"{inp.path}: {msg}"
        if inp.capture is None:
            line = f"{msg}; read the other inputs without it"
        else:
            line = f"{msg}; kept its {inp.count} packets before, the other inputs go on"
        self.troubles.append(line)
        if self.on_trouble is not None:
            self.on_trouble(line)

    @property
    def failed(self) -> list[str]:
        """The paths of the inputs that failed (no capture, or a read error part way)."""
        return [inp.path for inp in self.inputs if inp.error is not None]

    def summary(self) -> list[str]:
        """What happened to each input, one line each (several inputs only)."""
        if not self.rename:
            return []
        out = []
        for inp in self.inputs:
            if inp.capture is None and inp.error is not None:
                what = f"not read ({inp.error})"
            elif inp.error is not None:
                what = f"{inp.count} packets, then failed ({inp.error})"
            elif inp.capture is not None and inp.capture.truncated:
                what = f"{inp.count} packets, the last cut short"
            elif inp.done:
                what = f"{inp.count} packets, read to its end"
            else:
                what = f"{inp.count} packets, still open when the run ended"
            out.append(f"input {inp.path} ({inp.label}): {what}")
        return out

    def _learn(self, inp: _Input) -> None:
        """Number the interfaces ``inp``'s capture has described and this has not."""
        assert inp.capture is not None
        ifaces = inp.capture.interfaces
        for n in range(len(inp.to_global), len(ifaces)):
            inp.to_global.append(len(self.interfaces))
            self.interfaces.append(prefixed(inp.label, ifaces[n], n) if self.rename else ifaces[n])
            self.input_of.append(inp.number)

    @property
    def linktypes(self) -> list[int]:
        """Every link type the inputs hold, each once, in interface order."""
        return list(dict.fromkeys(i.linktype for i in self.interfaces))

    def progress(self) -> float | None:
        """How far through the regular files reading is (None when an input is a pipe)."""
        parts = [inp.capture.progress() if inp.capture else None for inp in self.inputs]
        if any(p is None for p in parts):
            return None
        return sum(p for p in parts if p is not None) / len(parts)

    def _take(self, inp: _Input) -> PcapRecord:
        """``inp``'s next record, its interface numbered across inputs (lock held)."""
        rec = inp.queue.popleft()
        if len(inp.queue) == _AHEAD - 1:
            self._cond.notify_all()
        if rec.iface >= len(inp.to_global):
            self._learn(inp)
        return rec._replace(iface=inp.to_global[rec.iface])

    def pending(self) -> bool:
        """Whether a record has arrived that is not given out yet (else the next may block)."""
        return any(inp.queue for inp in self.inputs) or bool(self._heap)

    def _merge(self) -> Iterator[PcapRecord]:
        cond = self._cond
        heap = self._heap  # (ts, input, record): one record per input at most
        waiting = list(self.inputs)  # inputs with no record in the heap that may have more
        errors: list[PcapError] = []  # one input's (no others: a single capture read)
        last_ts: int | None = None
        try:
            while True:
                with cond:
                    while True:
                        now = time.monotonic()
                        still: list[_Input] = []
                        for inp in waiting:
                            if inp.queue:
                                rec = self._take(inp)
                                heapq.heappush(heap, (rec.ts_ns, inp.number, rec))
                                inp.empty_since = None
                            elif inp.done:  # this input has given all it had
                                if inp.error is not None and self.rename:
                                    self._tell(inp)  # the others go on
                                elif inp.error is not None:
                                    errors.append(inp.error)
                                if inp.capture is not None and inp.capture.truncated:
                                    self.truncated = True
                            else:
                                if inp.empty_since is None:
                                    inp.empty_since = now
                                still.append(inp)
                        waiting = still
                        if not heap and not waiting:
                            break
                        # the heap's first goes once no input can still bring one before it:
                        # a file is always waited for, a pipe for WAIT_S at most
                        blocking = [
                            inp
                            for inp in waiting
                            if not inp.live
                            or (inp.empty_since is not None and now - inp.empty_since < self.wait_s)
                        ]
                        if heap and not blocking:
                            break
                        timeout = 0.5
                        if heap and all(inp.live for inp in blocking):
                            first = min(inp.empty_since or now for inp in blocking)
                            timeout = max(first + self.wait_s - now, 0.001)
                        cond.wait(timeout)
                if not heap:
                    break
                ts, number, rec = heapq.heappop(heap)
                waiting.append(self.inputs[number])
                self.inputs[number].count += 1
                if last_ts is not None and ts < last_ts:
                    self.out_of_order += 1
                else:
                    last_ts = ts
                self.count += 1
                yield rec
            if errors:  # every other input's records are out first: nothing read is lost
                raise errors[0]
        finally:
            self.close()

    def __iter__(self) -> Iterator[PcapRecord]:
        return self._records

    def close(self) -> None:
        """Stop the inputs' threads and close every input."""
        with self._cond:
            for inp in self.inputs:
                inp.stop = True
            self._cond.notify_all()
        for inp in self.inputs:
            if inp.thread.is_alive():
                inp.thread.join(timeout=0.5)
            if inp.thread.is_alive() or inp.capture is None:
                continue  # blocked in a pipe's read: closing under it could hang; exit ends it
            with contextlib.suppress(Exception):
                inp.capture.close()

    def __enter__(self) -> MergedCapture:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()
