"""Readers of a tun/tap descriptor tapwatch holds: what the host sends into the device.

Where the reading happens matters more than how it reads. A reader *thread*
doing ``os.read`` shares the interpreter lock with the pump and the UI:
whenever it gives the lock up for a system call, a busy pump or a screen
refresh keeps it waiting, and the device queue (1000 packets: 10 ms at 100k
packets/s) overflows. So ``Reader(fd, ring)`` takes the first of these this
process can use (bench/NOTES.md has the figures behind the order):

``tpacket`` (:class:`TpacketReader`): the kernel's TPACKET_V3 ring on a
    packet socket bound to the device, filtered in the kernel to what the
    host transmits. The kernel fills it before the device queue, so a late
    reader loses nothing until the ring is full. A draining child keeps the
    device queue empty meanwhile (or this thread does, if the child cannot
    run). Needs CAP_NET_RAW: the socket is opened by the constructor, while
    tapwatch may still hold the privilege (``-Z`` drops it later); without
    it the reader quietly takes the next path.
``process`` (:class:`ProcessReader`): a child process reads the device
    into a shared buffer, outside this interpreter's lock, and this thread
    copies batches into the ring. Start-up is seamless: this thread reads
    until the child is ready, then hands over (the child reads only after
    the thread's last read), so order and timestamps stay monotonic; if the
    child cannot start or dies, this thread reads again.
``thread`` (:class:`ThreadReader`): ``os.read`` in this thread; the last resort.

``TAPWATCH_CAPTURE=tpacket|process|thread`` forces a path (``ring`` is the
old name of ``tpacket``); the benchmark compares them that way.

Tried and not kept (figures in bench/NOTES.md): a shorter interpreter switch
interval for the thread (the UI still starves it), an ``os.read``+copy child
(more CPU per packet than reading into the buffer), draining from the reader
thread (the lock again), multi-queue devices (the kernel steers one flow to
one queue), io_uring (the ring path needs no system call per packet at all).
"""

from __future__ import annotations

import fcntl
import os
import select
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tapwatch.capture.base import (
    BATCH,
    DEAD,
    OUTBOUND,
    POLL_MS,
    READ_SIZE,
    Batch,
    CaptureReader,
    DeviceGone,
    requested_path,
)
from tapwatch.capture.child import ST_ERROR, ST_READY, ST_STARTING, Channel, Drainer, can_spawn
from tapwatch.capture.tpacket import (
    BLOCK_TIMEOUT_MS,
    TUNGETIFF,
    TpacketRing,
    attach_program,
    program,
)

if TYPE_CHECKING:
    from tapwatch.filters import BpfFilter
    from tapwatch.ring import Ring

CHILD_READY_S = 10.0  # give up on the reading child (and keep reading here) after this long
DRAIN_MAX = 256  # device reads discarded per round while the ring has work (no drainer)
_QUEUE_DROPS_EVERY_S = 0.25  # how stale the device queue's drop count may be


def device_name(fd: int) -> str | None:
    """The name of the tun/tap device behind ``fd`` (None if it is not one)."""
    try:
        res = fcntl.ioctl(fd, TUNGETIFF, bytes(40))
    except OSError:
        return None
    return res[:16].rstrip(b"\0").decode(errors="replace")


def queue_drops(name: str) -> int | None:
    """The device's ``tx_dropped`` (what its queue had no room for), None if it is gone.

    Read from /proc/thread-self/net/dev: the calling thread's own network
    namespace (where tapwatch opened the device), any thread may read it,
    and no netlink socket is needed (pyroute2 refuses to run inside the UI's
    event loop).
    """
    for path in ("/proc/thread-self/net/dev", "/proc/self/net/dev"):
        try:
            with open(path, "rb") as f:
                text = f.read()
            break
        except OSError:
            continue
    else:
        return None
    want = name.encode() + b":"
    for line in text.splitlines()[2:]:
        line = line.strip()
        if line.startswith(want):
            fields = line[len(want) :].split()
            try:
                return int(fields[11])  # receive: 8 columns, then tx bytes packets errs drop
            except (IndexError, ValueError):
                return None
    return None


class Reader(CaptureReader):
    """Reads what the host sends into a tun/tap device, from the descriptor tapwatch holds.

    ``Reader(fd, ring, ...)`` builds the subclass for the best path this
    process may use (see the module's description); the subclasses can be
    built directly to insist on one. ``capture_filter`` must be compiled for
    the device's link type (raw IP for tun, Ethernet for tap).
    """

    kernel_drops_meaning = "packets the device queue dropped before they were read"

    def __new__(
        cls,
        fd: int,
        ring: Ring,
        wake: threading.Event | None = None,
        *,
        iface: int = 0,
        capture_filter: BpfFilter | None = None,
    ) -> Reader:
        if cls is not Reader:
            return super().__new__(cls)
        forced = requested_path()
        if forced in (None, "tpacket", "socket"):
            try:
                opened = TpacketRing.for_device(fd, capture_filter)
            except (OSError, ValueError):
                pass  # no CAP_NET_RAW (or no ring memory): the next path, quietly
            else:
                reader = super().__new__(TpacketReader)
                reader._opened = opened
                return reader
        if forced != "thread" and can_spawn():
            return super().__new__(ProcessReader)
        return super().__new__(ThreadReader)

    _opened: tuple[TpacketRing, bool] | None = None  # what __new__ opened for TpacketReader

    def __init__(
        self,
        fd: int,
        ring: Ring,
        wake: threading.Event | None = None,
        *,
        iface: int = 0,
        capture_filter: BpfFilter | None = None,
    ) -> None:
        super().__init__(ring, wake, iface=iface, capture_filter=capture_filter)
        self.fd = fd
        self.ifname = device_name(fd) or ""

    def _capture(self) -> None:  # pragma: no cover - Reader() always builds a subclass
        raise NotImplementedError


class ThreadReader(Reader):
    """``os.read`` batches in this thread: the path that needs nothing, and keeps the least."""

    #: whether :attr:`forward` is honoured (this thread reads the device itself)
    forwards = True

    def __init__(
        self,
        fd: int,
        ring: Ring,
        wake: threading.Event | None = None,
        *,
        iface: int = 0,
        capture_filter: BpfFilter | None = None,
    ) -> None:
        super().__init__(fd, ring, wake, iface=iface, capture_filter=capture_filter)
        self.path = "thread"
        #: hands each frame on as it is read, in this thread (a tunnel's end: the tunnel's
        #: send), before the ring and the pump see it; set only where :attr:`forwards`
        self.forward: Callable[[bytes], None] | None = None
        #: a tunnel end's compiled relay, set instead of :attr:`forward`: its own thread reads
        #: the device, sends each frame and has them recorded; this thread hands the device
        #: over and watches it (``relay(fd, wait_ms)`` -> errno of a failed read, device gone;
        #: ``relay(-1, 0)`` takes it back before the device may close)
        self.relay: Callable[[int, int], tuple[int, bool]] | None = None
        self._drops_lock = threading.Lock()
        base = queue_drops(self.ifname) if self.ifname else None
        self._drops_base = base or 0
        self._drops_last = 0
        self._drops_at = time.monotonic()
        self._drops_final = False

    def kernel_drops(self) -> int | None:
        """What the device queue dropped since capture began (it is read only here).

        Asked of the kernel at most every quarter second while capture runs;
        the count taken when it ended stands after that (a created device
        vanishes when tapwatch closes it).
        """
        with self._drops_lock:
            now = time.monotonic()
            if (
                self.ifname
                and not self._drops_final
                and (now - self._drops_at >= _QUEUE_DROPS_EVERY_S)
            ):
                self._drops_at = now
                count = queue_drops(self.ifname)
                if count is not None:
                    self._drops_last = max(0, count - self._drops_base)
            return self._drops_last

    def _finish(self) -> None:
        self._drops_at = 0.0
        self.kernel_drops()  # the final count, while the device still exists
        self._drops_final = True

    def _capture(self) -> None:
        self.path = "thread"
        self._read_and_forward(self.fd)

    def _read_and_forward(self, fd: int) -> None:
        """Read batches until stopped; with :attr:`forward` set (a tunnel's end), each frame
        goes on the moment it is read, then to the ring.

        Like :meth:`_read_until_stopped`, with less work around each frame: a read that
        finds the queue empty sends the thread back to ``poll()`` at once (not a second
        read that fails too). On a machine with few cores every microsecond this thread
        spends around a frame, before the send or after it, is one the far end's receiver
        may wait for a processor (bench/tunnel_latency_bench.py). :attr:`forward` is
        looked at once per wake-up: the session sets it after this thread started.
        """
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        wait = poller.poll
        read, now, yield_cpu = os.read, time.time_ns, os.sched_yield
        stop = self.stop_event
        deliver = self._deliver
        while not stop.is_set() and self.failure is None:
            relay = self.relay
            if relay is not None:  # the relay's thread reads the device: watch it go
                try:
                    err, dead = relay(fd, POLL_MS)
                    if err:
                        self._fail(OSError(err, os.strerror(err)))
                    elif dead:
                        self.failure = DeviceGone()
                finally:
                    if stop.is_set() or self.failure is not None:
                        relay(-1, 0)  # before the device may close: the relay lets go of it
                continue
            batch: Batch = []
            append = batch.append
            forward = self.forward
            drained = False
            try:
                if forward is None:
                    for _ in range(BATCH):
                        append((now(), OUTBOUND, read(fd, READ_SIZE)))
                else:
                    ts, frame = now(), read(fd, READ_SIZE)
                    forward(frame)
                    append((ts, OUTBOUND, frame))
                    # what the send woke (the far end's receiver, on this machine) runs before
                    # this thread's bookkeeping and the pump it wakes; once per wake-up, not
                    # per frame, and at once when nothing else waits for this processor
                    yield_cpu()
                    for _ in range(BATCH - 1):
                        ts, frame = now(), read(fd, READ_SIZE)
                        forward(frame)
                        append((ts, OUTBOUND, frame))
            except BlockingIOError:
                drained = True
            except OSError as e:
                self._fail(e)  # what was read before it still goes to the ring
            if batch:
                deliver(batch)
            if drained:
                for _fd, ev in wait(POLL_MS):
                    if ev & DEAD and not ev & select.POLLIN:  # what is queued comes first
                        self.failure = DeviceGone()

    def _read_batch(self) -> Batch:
        read, now, fd = os.read, time.time_ns, self.fd
        batch: Batch = []
        append = batch.append
        forward = self.forward
        try:
            if forward is None:
                for _ in range(BATCH):
                    append((now(), OUTBOUND, read(fd, READ_SIZE)))
            else:  # a tunnel's end: each frame goes on the moment it is read
                for _ in range(BATCH):
                    ts, frame = now(), read(fd, READ_SIZE)
                    forward(frame)
                    append((ts, OUTBOUND, frame))
        except BlockingIOError:
            pass
        return batch


class ProcessReader(ThreadReader):
    """A child process reads the device into shared memory; this thread fills the ring."""

    forwards = False

    def _capture(self) -> None:
        if not self._run_child():
            self.path = "thread"
            self._read_until_stopped(self.fd)

    def _run_child(self) -> bool:
        """Capture through the child; False if it never took over or died (read here then)."""
        try:
            chan = Channel(self.fd)
        except (OSError, ValueError):
            return False
        try:
            if not self._hand_over(chan):
                return self.failure is not None or self.stop_event.is_set()
            self.path = "process"
            return self._consume(chan)
        finally:
            chan.close()

    def _hand_over(self, chan: Channel) -> bool:
        """Read here until the child is ready, then let it start; False if it never is."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        poller.register(chan.bell, select.POLLIN | select.POLLHUP)
        deadline = time.monotonic() + CHILD_READY_S
        while not self.stop_event.is_set() and self.failure is None:
            status = chan.status()
            if status == ST_READY:
                return chan.start()  # the child reads from now on, this thread no more
            if status != ST_STARTING or chan.child.poll() is not None:
                return False
            if time.monotonic() > deadline:
                return False
            if self._read_some():
                continue
            if self.failure is not None:
                return False
            for fd, ev in poller.poll(50):
                if fd == chan.bell:
                    chan.drain_bell()
                elif ev & DEAD and not ev & select.POLLIN:
                    self.failure = DeviceGone()
        return False

    def _consume(self, chan: Channel) -> bool:
        """Move what the child wrote into the ring until it ends; False if it died."""
        poller = select.poll()
        poller.register(chan.bell, select.POLLIN | select.POLLHUP)
        deliver = self._deliver
        stopping = False
        stop_deadline = 0.0
        while True:
            poller.poll(POLL_MS)
            eof = chan.drain_bell()  # a system call: orders what the child wrote before it
            chan.take(deliver)
            if chan.status() == ST_ERROR:
                code = chan.errno()
                self._fail(OSError(code, os.strerror(code)))
                chan.finish()
                chan.take(deliver)
                return True
            if eof:
                chan.finish()
                chan.take(deliver)
                return stopping or self.stop_event.is_set()  # an unexpected end: read here
            if self.stop_event.is_set() and not stopping:
                stopping = True
                stop_deadline = time.monotonic() + 1.0
                chan.close_ctl()  # the child publishes what it has and exits
            if stopping and time.monotonic() > stop_deadline:
                chan.finish()
                chan.take(deliver)
                return True


class TpacketReader(Reader):
    """Capture from the kernel's TPACKET_V3 ring; the device is read only to keep it drained.

    A child process does the draining (outside this interpreter's lock); if
    it cannot run, this thread drains between blocks, as far as it gets.
    """

    kernel_drops_meaning = "packets the capture ring had no room for"

    def __init__(
        self,
        fd: int,
        ring: Ring,
        wake: threading.Event | None = None,
        *,
        iface: int = 0,
        capture_filter: BpfFilter | None = None,
    ) -> None:
        super().__init__(fd, ring, wake, iface=iface, capture_filter=capture_filter)
        opened = self._opened or TpacketRing.for_device(fd, capture_filter)
        self._opened = None
        self.tpacket, self.filter_in_kernel = opened
        self.path = "tpacket"
        # the kernel passes tagged frames untested (see TAGGED_PASS); all frames if it
        # could not take the filter at all
        self._tagged_match = self._match if self.filter_in_kernel else None
        if self.filter_in_kernel:
            self._match = None

    def kernel_drops(self) -> int:
        return self.tpacket.drops()

    def set_capture_filter(self, capture_filter: BpfFilter | None) -> None:
        """Give the kernel a new program (the direction test, then ``capture_filter``)."""
        sock = self.tpacket.sock
        in_kernel = capture_filter is not None
        try:
            attach_program(sock, program(capture_filter, outgoing_only=True))
        except OSError:
            attach_program(sock, program(None, outgoing_only=True))
            in_kernel = False
        self.capture_filter = capture_filter
        self.filter_in_kernel = in_kernel
        match = capture_filter.match if capture_filter is not None else None
        self._tagged_match = match if in_kernel else None
        self._match = None if in_kernel else match

    def _finish(self) -> None:
        self.tpacket.close()

    def _take_all(self) -> int:
        return self.tpacket.take_all(
            self.ring, self.iface, tagged_match=self._tagged_match, match=self._match
        )

    def _capture(self) -> None:
        tring = self.tpacket
        drainer = None
        if can_spawn():
            try:
                drainer = Drainer(self.fd)
            except (OSError, ValueError):
                drainer = None
        poller = select.poll()
        poller.register(tring.fileno(), select.POLLIN | select.POLLERR)
        dev_events = select.POLLERR | select.POLLHUP
        poller.register(self.fd, dev_events if drainer else dev_events | select.POLLIN)
        scratch = [memoryview(bytearray(READ_SIZE))]
        readv, fd, stop = os.readv, self.fd, self.stop_event
        take, ring, iface, wake = tring.take, self.ring, self.iface, self.wake
        try:
            while not stop.is_set() and self.failure is None:
                blocks = tring.blocks
                # read each round: set_capture_filter may change them while capture runs
                taken = take(ring, iface, tagged_match=self._tagged_match, match=self._match)
                if taken:
                    self.packets += taken
                    wake.set()
                drained = 0
                if drainer is None:
                    try:
                        while drained < DRAIN_MAX:
                            readv(fd, scratch)
                            drained += 1
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        self._fail(e)
                        break
                if tring.blocks != blocks or drained:
                    continue
                events = poller.poll(POLL_MS)
                for efd, ev in events:
                    if not ev & DEAD:
                        continue
                    if efd == fd:
                        self.failure = DeviceGone()
                    else:  # ENETDOWN while the link is down: the socket resumes when it is up
                        tring.clear_error()
                        time.sleep(0.05)
                if not events and drainer is not None and not drainer.alive():
                    drainer.close()  # it died: drain here from now on
                    drainer = None
                    poller.modify(fd, dev_events | select.POLLIN)
            # what the kernel put in the ring before the end, including the block it was
            # filling, which it hands over when its timeout expires
            self.packets += self._take_all()
            time.sleep(2 * BLOCK_TIMEOUT_MS / 1000)
            self.packets += self._take_all()
            wake.set()
        finally:
            if drainer is not None:
                drainer.close()
