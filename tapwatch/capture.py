"""The reader: descriptor -> (timestamp_ns, direction, bytes) -> ring.

It does nothing else per packet: every extra step here costs capture.
Decoding, counting, filtering and writing all happen later, in the consumer
(the session's pump), and in the UI.

Where the reading runs matters more than how it reads. A reader *thread*
shares the interpreter lock with the pump and the UI: whenever it gives up
the lock for a ``read`` system call, a busy pump or a screen refresh can keep
it waiting for a whole switch interval (5 ms), and the tun's queue (1000
packets, 10 ms at 100k packets/s) overflows. Measured on a 2-core VM
(bench/RESULTS.md): a bare Python read loop kept 100% of 100k packets/s, the
reader thread inside tapwatch only 71-87% headless and 45-65% with the UI.

So for a tun/tap descriptor the reading runs in a small child process of its
own (``python -m tapwatch.capture --child``, nothing imported but the standard
library) that ``readv``s each packet straight into a shared-memory buffer
(32 MB: about 0.3 s of a 1M packets/s flood of small packets) and rings a pipe
once per batch. The reader thread here only copies batches from that buffer
into the ring, which is not time critical any more: the buffer, not the
kernel's 1000-packet queue, absorbs the time the pump or the UI hold the lock.
The child is the only reader of the descriptor; the parent keeps it open to
write replies. Losses stay visible where they happen: if the buffer is full
the child stops reading and the kernel counts the drops on the device queue.

Start-up is seamless: the thread reads the descriptor itself until the child
reports ready, then hands over (the child starts reading only after the
thread's last read), so order and timestamps stay monotonic. If the child
cannot start or dies, the thread carries on reading by itself. The child dies
with its parent (PR_SET_PDEATHSIG, and end of file on the control pipe), so a
created device still vanishes when tapwatch does. ``TAPWATCH_CAPTURE=thread``
forces the in-process reader (the benchmark compares both).
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from tapwatch.ring import IN, OUT, Ring

BATCH = 512
READ_SIZE = 65536
POLL_MS = 200

# AF_PACKET constants (linux/if_packet.h)
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6

# ----- the shared buffer between the reading child and the reader thread -----------------------
# Page 0 holds the positions, each on its own cache line; records follow it. Positions
# are byte counts since the start (they only grow); a record lives at ``pos % SHM_BYTES``.
SHM_BYTES = 32 << 20
HEADER = 4096
_READ_POS = 0  # written by the parent: everything before it has been consumed
_WRITE_POS = 64  # written by the child: everything before it is complete
_STATUS = 128  # written by the child: see _ST_*
_ERRNO = 136  # written by the child with _ST_ERROR
_ST_STARTING, _ST_READY, _ST_ERROR = 0, 1, 2
_POS = struct.Struct("<Q")
_REC = struct.Struct("<IIq")  # length, reserved, timestamp (ns)
_WRAP = 0xFFFFFFFF  # record length that means "continue at the start of the buffer"
_SLOT = _REC.size + READ_SIZE  # contiguous room one read needs
CHILD_READY_S = 10.0  # give up on the child (and keep reading here) after this long
ENV_MODE = "TAPWATCH_CAPTURE"  # "thread" or "process"; default: process for tun/tap
PR_SET_PDEATHSIG = 1


class Reader(threading.Thread):
    """Pulls frames from a tun/tap descriptor until stopped or the device vanishes."""

    #: whether this reader may hand the reading to a child process (a plain descriptor can)
    use_process = True

    def __init__(self, fd: int, ring: Ring, wake: threading.Event | None = None) -> None:
        super().__init__(name="tapwatch-reader", daemon=True)
        self.fd = fd
        self.ring = ring
        self.wake = wake or threading.Event()
        self.stop_event = threading.Event()
        self.error: str | None = None  # set when the device went away or failed
        self.packets = 0
        self.mode = "thread"  # what is reading now: "thread" or "process"
        self.child_pid: int | None = None

    def stop(self) -> None:
        self.stop_event.set()

    # ----- in this thread -------------------------------------------------------------------
    def _read_batch(self) -> list[tuple[int, int, bytes]]:
        read, now, fd = os.read, time.time_ns, self.fd
        batch: list[tuple[int, int, bytes]] = []
        append = batch.append
        try:
            for _ in range(BATCH):
                append((now(), IN, read(fd, READ_SIZE)))
        except BlockingIOError:
            pass
        return batch

    def _read_some(self) -> bool:
        """One batch from the descriptor into the ring; False once the device failed."""
        try:
            batch = self._read_batch()
        except OSError as e:
            self.error = _describe(e)
            return False
        if batch:
            self.ring.extend(batch)
            self.packets += len(batch)
            self.wake.set()
        return True

    def run(self) -> None:
        try:
            if self._want_process() and self._run_process():
                return
            self._run_thread()
        finally:
            self.wake.set()

    def _run_thread(self) -> None:
        self.mode = "thread"
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        stop = self.stop_event
        while not stop.is_set() and self.error is None:
            before = self.packets
            if not self._read_some():
                break
            if self.packets != before:
                continue
            try:
                events = poller.poll(POLL_MS)
            except InterruptedError:
                continue
            for _fd, ev in events:
                if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    self.error = "device went away"

    # ----- through a child process -----------------------------------------------------------
    def _want_process(self) -> bool:
        mode = os.environ.get(ENV_MODE, "").strip().lower()
        if mode == "thread" or not self.use_process:
            return False
        return bool(sys.executable) and hasattr(os, "memfd_create")

    def _run_process(self) -> bool:
        """Capture through the child; False if it never took over or died (read here then)."""
        try:
            chan = _Channel(self.fd)
        except (OSError, ValueError):
            return False
        try:
            if not self._hand_over(chan):
                return self.error is not None or self.stop_event.is_set()
            self.mode = "process"
            return self._consume(chan)
        finally:
            chan.close()
            self.child_pid = None

    def _hand_over(self, chan: _Channel) -> bool:
        """Read here until the child is ready, then let it start; False if it never is."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        poller.register(chan.bell, select.POLLIN | select.POLLHUP)
        self.child_pid = chan.child.pid
        deadline = time.monotonic() + CHILD_READY_S
        while not self.stop_event.is_set() and self.error is None:
            status = chan.status()
            if status == _ST_READY:
                try:
                    os.write(chan.ctl, b"g")  # the child reads from now on, this thread no more
                except OSError:
                    return False
                return True
            if status != _ST_STARTING or chan.child.poll() is not None:
                return False
            if time.monotonic() > deadline:
                return False
            before = self.packets
            if not self._read_some():
                return False
            if self.packets != before:
                continue
            try:
                events = poller.poll(50)
            except InterruptedError:
                continue
            for fd, ev in events:
                if fd == chan.bell:
                    chan.drain_bell()
                elif ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    self.error = "device went away"
        return False

    def _consume(self, chan: _Channel) -> bool:
        """Move what the child wrote into the ring until it ends; False if it died."""
        poller = select.poll()
        poller.register(chan.bell, select.POLLIN | select.POLLHUP)
        stopping = False
        stop_deadline = 0.0
        while True:
            with contextlib.suppress(InterruptedError):
                poller.poll(POLL_MS)
            eof = chan.drain_bell()  # a system call: orders what the child wrote before it
            self._take(chan)
            if chan.status() == _ST_ERROR:
                self.error = _describe(OSError(chan.errno(), os.strerror(chan.errno())))
                chan.finish()
                self._take(chan)
                return True
            if eof:
                chan.finish()
                self._take(chan)
                return stopping or self.stop_event.is_set()  # an unexpected end: read here
            if self.stop_event.is_set() and not stopping:
                stopping = True
                stop_deadline = time.monotonic() + 1.0
                chan.close_ctl()  # the child publishes what it has and exits
            if stopping and time.monotonic() > stop_deadline:
                chan.finish()
                self._take(chan)
                return True

    def _take(self, chan: _Channel) -> None:
        taken = chan.take(self.ring)
        if taken:
            self.packets += taken
            self.wake.set()


class _Channel:
    """The child process, its shared buffer and its two pipes, seen from the parent."""

    def __init__(self, fd: int) -> None:
        self.memfd = os.memfd_create("tapwatch-capture", os.MFD_CLOEXEC)
        self.mm: mmap.mmap | None = None
        self.bell = self.ctl = -1
        bell_w = ctl_r = -1
        try:
            os.ftruncate(self.memfd, HEADER + SHM_BYTES + _SLOT)
            self.mm = mmap.mmap(self.memfd, HEADER + SHM_BYTES + _SLOT)
            self.bell, bell_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            ctl_r, self.ctl = os.pipe2(os.O_CLOEXEC)
            pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env = dict(os.environ)
            env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"]
                                            if env.get("PYTHONPATH") else "")
            self.child = subprocess.Popen(
                [sys.executable, "-m", "tapwatch.capture", "--child", str(fd), str(self.memfd),
                 str(bell_w), str(ctl_r), str(os.getpid())],
                pass_fds=(fd, self.memfd, bell_w, ctl_r), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C at the terminal is the parent's business
                env=env,
            )
        except BaseException:
            self._close_fds()
            raise
        finally:
            for end in (bell_w, ctl_r):
                if end >= 0:
                    os.close(end)
        self.read_pos = 0

    def status(self) -> int:
        assert self.mm is not None
        return _POS.unpack_from(self.mm, _STATUS)[0]

    def errno(self) -> int:
        assert self.mm is not None
        return _POS.unpack_from(self.mm, _ERRNO)[0] or errno.EIO

    def drain_bell(self) -> bool:
        """Empty the doorbell pipe; True at end of file (the child has exited)."""
        while True:
            try:
                chunk = os.read(self.bell, 4096)
            except BlockingIOError:
                return False
            except InterruptedError:
                continue
            if not chunk:
                return True

    def take(self, ring: Ring) -> int:
        """Copy every complete record into the ring, in batches; returns how many."""
        mm = self.mm
        assert mm is not None
        write_pos = _POS.unpack_from(mm, _WRITE_POS)[0]
        pos = self.read_pos
        if pos == write_pos:
            return 0
        unpack = _REC.unpack_from
        rec_size = _REC.size
        total = 0
        batch: list[tuple[int, int, bytes]] = []
        append = batch.append
        while pos < write_pos:
            off = pos % SHM_BYTES
            at = HEADER + off
            n, _flags, ts = unpack(mm, at)
            if n == _WRAP:
                pos += SHM_BYTES - off
                continue
            append((ts, IN, mm[at + rec_size : at + rec_size + n]))
            pos += (rec_size + n + 7) & ~7
            if len(batch) >= 4096:
                ring.extend(batch)
                total += len(batch)
                batch = []
                append = batch.append
        if batch:
            ring.extend(batch)
            total += len(batch)
        self.read_pos = pos
        _POS.pack_into(mm, _READ_POS, pos)  # the room can be reused
        return total

    def close_ctl(self) -> None:
        if self.ctl >= 0:
            os.close(self.ctl)
            self.ctl = -1

    def finish(self) -> None:
        """Make sure the child has ended (it holds the device open while it lives)."""
        self.close_ctl()
        try:
            self.child.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        self.drain_bell()

    def close(self) -> None:
        self.finish()
        self._close_fds()

    def _close_fds(self) -> None:
        self.close_ctl()
        if self.bell >= 0:
            os.close(self.bell)
            self.bell = -1
        if self.mm is not None:
            self.mm.close()
            self.mm = None
        if self.memfd >= 0:
            os.close(self.memfd)
            self.memfd = -1


def _child_main(argv: list[str]) -> int:
    """The reading child: descriptor -> shared buffer, until told to stop or the device fails.

    Per packet it does only ``readv`` into the buffer, a timestamp and a
    16-byte record header; once per batch it publishes the write position and
    rings the doorbell pipe (a system call, which also orders the writes
    before it for the parent).
    """
    fd, memfd, bell, ctl, parent = (int(a) for a in argv[:5])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)
    try:  # die with the parent even if it is SIGKILLed
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        return 0
    mm = mmap.mmap(memfd, HEADER + SHM_BYTES + _SLOT)
    mv = memoryview(mm)

    def ring_bell() -> None:
        with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
            os.write(bell, b"!")

    _POS.pack_into(mm, _STATUS, _ST_READY)
    ring_bell()
    try:
        if os.read(ctl, 1) != b"g":  # the parent's thread has stopped reading
            return 0
    except OSError:
        return 0
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    poller.register(ctl, select.POLLIN | select.POLLHUP)
    ctl_only = select.poll()
    ctl_only.register(ctl, select.POLLIN | select.POLLHUP)
    readv, now, pack, pos_at = os.readv, time.time_ns, _REC.pack_into, _POS.unpack_from
    rec_size = _REC.size
    limit = SHM_BYTES - 2 * _SLOT  # room for a wrap and one more read, always
    write_pos = 0

    def fail(code: int) -> int:
        _POS.pack_into(mm, _ERRNO, code)
        _POS.pack_into(mm, _STATUS, _ST_ERROR)
        ring_bell()
        return 1

    knobs = dict(kv.split("=") for kv in os.environ.get("TWX", "").split(",") if "=" in kv)
    nap = float(knobs.get("nap", 0))
    nap_min = int(knobs.get("napmin", 4))
    use_read = knobs.get("read") == "1"
    read = os.read
    while True:
        read_pos = pos_at(mm, _READ_POS)[0]
        n = 0
        full = False
        while n < BATCH:
            if write_pos - read_pos > limit:
                full = True
                break
            off = write_pos % SHM_BYTES
            if SHM_BYTES - off < _SLOT:
                pack(mm, HEADER + off, _WRAP, 0, 0)
                write_pos += SHM_BYTES - off
                continue
            at = HEADER + off
            try:
                if use_read:
                    data = read(fd, READ_SIZE)
                    got = len(data)
                    mm[at + rec_size : at + rec_size + got] = data
                else:
                    got = readv(fd, [mv[at + rec_size : at + _SLOT]])
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError as e:
                _POS.pack_into(mm, _WRITE_POS, write_pos)
                return fail(e.errno or errno.EIO)
            if got == 0:  # end of file: nothing more will come
                _POS.pack_into(mm, _WRITE_POS, write_pos)
                return fail(errno.EBADFD)
            pack(mm, at, got, 0, now())
            write_pos += (rec_size + got + 7) & ~7
            n += 1
        if n:
            _POS.pack_into(mm, _WRITE_POS, write_pos)
            ring_bell()
        if nap and n >= nap_min and n < BATCH and not full:
            time.sleep(nap)
            continue
        try:
            # full: the parent is behind; let the kernel queue (and count) the excess
            events = ctl_only.poll(1) if full else poller.poll(0 if n == BATCH else POLL_MS)
        except InterruptedError:
            continue
        for efd, ev in events:
            if efd == ctl:
                return 0  # the parent closed the control pipe (stop) or died
            if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and not ev & select.POLLIN:
                return fail(errno.EBADFD)


class PacketSocketReader(Reader):
    """Passive capture of any interface through AF_PACKET (observer mode).

    Packets the host sent out of the interface (PACKET_OUTGOING) are "in", as
    if tapwatch were the far end; the rest are "out", matching what the
    direction means when tapwatch owns a device. The socket's own 8 MB buffer
    absorbs pauses of the reader thread, so it reads in this thread.
    """

    use_process = False

    def __init__(self, sock: socket.socket, ring: Ring, wake: threading.Event | None = None):
        super().__init__(sock.fileno(), ring, wake)
        self.sock = sock
        self._drops = 0
        self._drops_lock = threading.Lock()
        sock.setblocking(False)

    def kernel_drops(self) -> int:
        """Packets the kernel dropped because the socket buffer was full.

        PACKET_STATISTICS resets on every read, so the total is accumulated here.
        """
        with self._drops_lock:
            try:
                raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                self._drops += int.from_bytes(raw[4:8], "little")
            except OSError:
                pass
            return self._drops

    def _read_batch(self) -> list[tuple[int, int, bytes]]:
        recv, now = self.sock.recvfrom, time.time_ns
        batch: list[tuple[int, int, bytes]] = []
        append = batch.append
        try:
            for _ in range(BATCH):
                data, addr = recv(READ_SIZE)
                append((now(), IN if addr[2] == PACKET_OUTGOING else OUT, data))
        except BlockingIOError:
            pass
        return batch


def _describe(e: OSError) -> str:
    if e.errno in (errno.EBADFD, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.ENETDOWN):
        return "device went away"
    return f"read failed: {e.strerror}"


def open_packet_socket(ifname: str) -> socket.socket:
    """An AF_PACKET socket bound to ``ifname``, seeing both directions."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.bind((ifname, 0))
    except OSError:
        sock.close()
        raise
    return sock


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    sys.exit(_child_main(sys.argv[2:]))
