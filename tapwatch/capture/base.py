"""What every capture path shares: a thread that moves packets from a source into the ring.

Each path (the kernel's TPACKET_V3 ring, a reader process, a reader thread,
a plain packet socket) is a subclass of :class:`CaptureReader`, which holds
what the rest of tapwatch asks of a reader, whatever reads underneath: start
and stop, the interface number its records carry, how many packets it put in
the ring, why it stopped when nobody asked it to (a typed
:class:`CaptureFailure`, not a string to match), which path it is, the drops
the kernel counted before the packets reached it and what those drops are.

The capture filter belongs here too: a packet that fails it never reaches
the ring. Paths that read a packet socket run it in the kernel; the others
run it on each batch before it enters the ring (:meth:`CaptureReader._deliver`,
and for the few frames the kernel passes untested, ``TpacketRing.take``).
"""

from __future__ import annotations

import abc
import errno
import os
import select
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tapwatch.errors import TapwatchError
from tapwatch.kinds import CAPTURE_PATHS, CapturePath, Direction

if TYPE_CHECKING:
    from tapwatch.filters import BpfFilter
    from tapwatch.ring import Ring

#: Records carry a Direction's plain value (an int formats as one in every Python): what a
#: tun/tap device gives its reader is what the host sent into it, OUTBOUND.
OUTBOUND = Direction.OUTBOUND.value
INBOUND = Direction.INBOUND.value

BATCH = 512  # reads per batch handed to the ring (one lock hold)
READ_SIZE = 65536  # larger than any frame a tun/tap device or packet socket gives
POLL_MS = 200  # how long a reader sleeps before it looks at its stop flag again

#: ``(ts_ns, direction, data)``, what a reader hands the ring per packet
Batch = list[tuple[int, int, bytes]]

ENV_PATH = "TAPWATCH_CAPTURE"  # forces a path: tpacket (or its old name ring), process, thread
_ALIASES = {"ring": "tpacket"}

#: poll() events that mean the descriptor will give nothing more
DEAD = select.POLLERR | select.POLLHUP | select.POLLNVAL

#: errors a read gets once the device behind the descriptor or socket is gone
_GONE_ERRNOS = frozenset((errno.EBADFD, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.ENETDOWN))


def requested_path() -> CapturePath | None:
    """The path ``TAPWATCH_CAPTURE`` forces, None when it forces none (or names none we know).

    "ring", the name of the TPACKET_V3 path before it was called tpacket, is
    still accepted.
    """
    raw = os.environ.get(ENV_PATH, "").strip().lower()
    raw = _ALIASES.get(raw, raw)
    for path in CAPTURE_PATHS:
        if raw == path:
            return path
    return None


class CaptureFailure(TapwatchError):
    """Why a reader stopped before it was asked to; ``str()`` is the line to show.

    ``gone`` tells the device (or observed interface) vanished, which is an
    ending the user expects when they delete it, from a read that failed.
    """

    gone = False


class DeviceGone(CaptureFailure):
    """The device or interface was deleted (or its descriptor stopped working)."""

    gone = True

    def __init__(self) -> None:
        super().__init__("device went away")


class ReadFailed(CaptureFailure):
    """A read failed for another reason; ``errno`` is the system's."""

    def __init__(self, err: int) -> None:
        super().__init__(f"read failed: {os.strerror(err)}")
        self.errno = err


class ReaderCrashed(CaptureFailure):
    """The reader itself failed (a bug): said like any other failure, never a silent stop."""

    def __init__(self, error: str) -> None:
        super().__init__(f"capture stopped: internal error ({error})")


def failure_from(e: OSError) -> CaptureFailure:
    """The failure a read error means."""
    if e.errno in _GONE_ERRNOS:
        return DeviceGone()
    return ReadFailed(e.errno or errno.EIO)


class CaptureReader(threading.Thread, abc.ABC):
    """A thread that fills the ring from one source until stopped or the source fails.

    ``iface`` is the session's number for the interface (every record this
    reader appends carries it). ``capture_filter``, when given, keeps packets
    that fail it out of the ring; ``filter_in_kernel`` says whether the kernel
    runs it (no cost per packet here) or :meth:`_deliver` does.
    """

    #: what :meth:`kernel_drops` counts on this path, for the status bar and the summary
    kernel_drops_meaning = "packets the kernel dropped before tapwatch read them"

    def __init__(
        self,
        ring: Ring,
        wake: threading.Event | None = None,
        *,
        iface: int = 0,
        capture_filter: BpfFilter | None = None,
    ) -> None:
        super().__init__(name="tapwatch-reader", daemon=True)
        self.ring = ring
        self.wake = wake or threading.Event()
        self.iface = iface
        self.capture_filter = capture_filter
        self.filter_in_kernel = False
        self.stop_event = threading.Event()
        self.packets = 0  # put in the ring (so: matched the capture filter, if any)
        self.failure: CaptureFailure | None = None
        self.path: CapturePath = "thread"  # what reads now; each subclass sets its own
        # the filter this thread runs on every packet it delivers (None: everything passes)
        self._match: Callable[[bytes], bool] | None = (
            capture_filter.match if capture_filter is not None else None
        )

    @property
    def error(self) -> str | None:
        """The failure as text (None while capture runs or after a requested stop)."""
        return None if self.failure is None else str(self.failure)

    def stop(self) -> None:
        """Ask the thread to stop; it hands over what it still holds first."""
        self.stop_event.set()

    def set_capture_filter(self, capture_filter: BpfFilter | None) -> None:
        """Change the capture filter while capture runs (None: keep every packet).

        The peer needs every frame the host sends (an ARP request, when the
        filter says ``icmp``): in echo and reply mode and with a tunnel, the
        session keeps everything in the ring and filters what it counts, shows
        and writes; in drop mode the filter keeps the rest out of the ring.
        """
        self.capture_filter = capture_filter
        self._match = capture_filter.match if capture_filter is not None else None

    def kernel_drops(self) -> int | None:
        """Packets lost before this reader got them, by the kernel's count (None: unknown).

        :attr:`kernel_drops_meaning` says which counter that is on this path.
        """
        return None

    def run(self) -> None:
        try:
            self._capture()
        except Exception as e:  # a bug: the session sees a failure and says it, as any other
            from tapwatch.threads import one_line

            self.failure = ReaderCrashed(one_line(e))
        finally:
            self._finish()
            self.wake.set()

    @abc.abstractmethod
    def _capture(self) -> None:
        """Read until :attr:`stop_event` is set or :attr:`failure` is."""

    def _finish(self) -> None:
        """Release what the path holds, in this thread, once capture ended."""

    def _fail(self, e: OSError) -> None:
        self.failure = failure_from(e)

    # ----- paths that read with a system call per packet (thread, socket) ------------------------
    def _read_batch(self) -> Batch:
        """Up to BATCH packets that are queued now (subclasses that read this way say how)."""
        raise NotImplementedError

    def _read_some(self) -> int:
        """One batch into the ring; how many packets were read (0 also once a read failed)."""
        try:
            batch = self._read_batch()
        except OSError as e:
            self._fail(e)
            return 0
        if batch:
            self._deliver(batch)
        else:
            self._drained()
        return len(batch)

    def _drained(self) -> None:
        """A read found nothing queued."""

    def _read_until_stopped(self, fd: int) -> None:
        """Read batches while there are any, sleep in poll() when there are none."""
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        stop = self.stop_event
        while not stop.is_set() and self.failure is None:
            if self._read_some():
                continue
            for _fd, ev in poller.poll(POLL_MS):
                if ev & DEAD and not ev & select.POLLIN:  # what is still queued comes first
                    self.failure = DeviceGone()

    def _deliver(self, batch: Batch) -> None:
        """Put a batch in the ring, what fails the filter left out (TpacketRing.take does
        the same for the kernel's ring, block by block)."""
        match = self._match
        if match is not None:
            batch = [rec for rec in batch if match(rec[2])]
            if not batch:
                return
        self.ring.extend(batch, self.iface)
        self.packets += len(batch)
        self.wake.set()
