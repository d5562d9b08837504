"""Capture's child processes: the shared-buffer protocol, both child mains, the parent's side.

Two children read a tun/tap descriptor outside tapwatch's interpreter, so
that the time the pump or the UI hold the interpreter lock is never time the
device queue overflows:

* the *reading* child (process path) reads each packet straight into a
  32 MB shared-memory buffer and rings a doorbell pipe per batch; the
  parent's reader thread copies the records into the ring (:class:`Channel`);
* the *draining* child (tpacket path) reads and discards: the packets are
  captured from the kernel's packet ring already, and emptying the device
  queue too keeps the device behaving as a consumed link, so its own
  counters mean what they say (:class:`Drainer`).

Children run ``python -m tapwatch.capture`` with the standard library only,
drop root for ``nobody`` at once (they only read a descriptor they
inherited), and die with tapwatch (PR_SET_PDEATHSIG, and end of file on
their control pipe), so a created device still vanishes when tapwatch does,
even on SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import io
import mmap
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable

from tapwatch.capture.base import BATCH, OUTBOUND, POLL_MS, READ_SIZE, Batch

# ----- the shared buffer between the reading child and the reader thread ------------------------
# Page 0 holds the positions, each on its own cache line; records follow it. Positions are
# byte counts since the start (they only grow); a record lives at ``pos % SHM_BYTES``.
SHM_BYTES = 32 << 20
HEADER = 4096
READ_POS = 0  # written by the parent: everything before it has been consumed
WRITE_POS = 64  # written by the child: everything before it is complete
STATUS = 128  # written by the child: one of ST_*
ERRNO = 136  # written by the child with ST_ERROR
ST_STARTING, ST_READY, ST_ERROR = 0, 1, 2
POS = struct.Struct("<Q")
REC = struct.Struct("<IIq")  # length, reserved, timestamp (ns)
WRAP = 0xFFFFFFFF  # record length that means "continue at the start of the buffer"
SLOT = REC.size + READ_SIZE  # contiguous room one read needs
MAP_BYTES = HEADER + SHM_BYTES + SLOT
TAKE_BATCH = 4096  # records per batch handed to the ring by the parent

DRAIN_NAP_MIN = 4  # a drain round this big: nap 1 ms rather than be woken per packet
PR_SET_PDEATHSIG = 1
NOBODY = 65534  # the uid and gid a child started as root continues as


# ----- the parent's side ------------------------------------------------------------------------


def can_spawn() -> bool:
    """Whether this process can run a reading child at all."""
    return bool(sys.executable) and hasattr(os, "memfd_create")


def _child_env() -> dict[str, str]:
    """The environment of a child: it must import this very tapwatch."""
    here = os.path.abspath(__file__)
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def spawn(args: list[str], fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
    """Start ``python -m tapwatch.capture ARGS PARENT_PID`` with ``fds`` inherited."""
    if not sys.executable:
        raise ValueError("no interpreter to run a child with")
    return subprocess.Popen(
        [sys.executable, "-m", "tapwatch.capture", *args, str(os.getpid())],
        pass_fds=fds,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C at the terminal is the parent's business
        env=_child_env(),
    )


def reap(child: subprocess.Popen[bytes]) -> None:
    """Wait for a child told to exit; kill it if it does not."""
    try:
        child.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):  # EPERM if tapwatch is no longer root (-Z)
            child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5.0)


class Drainer:
    """The draining child of a device, seen from the parent."""

    def __init__(self, fd: int) -> None:
        ctl_r, self.ctl = os.pipe2(os.O_CLOEXEC)
        try:
            self.child = spawn(["--drain", str(fd), str(ctl_r)], (fd, ctl_r))
        except BaseException:
            os.close(self.ctl)
            raise
        finally:
            os.close(ctl_r)

    def alive(self) -> bool:
        return self.child.poll() is None

    def close(self) -> None:
        if self.ctl >= 0:
            os.close(self.ctl)  # end of file on its control pipe: the child exits
            self.ctl = -1
        reap(self.child)


class Channel:
    """The reading child, its shared buffer and its two pipes, seen from the parent."""

    def __init__(self, fd: int) -> None:
        self.memfd = os.memfd_create("tapwatch-capture", os.MFD_CLOEXEC)
        self.mm: mmap.mmap | None = None
        self.bell = self.ctl = -1
        bell_w = ctl_r = -1
        try:
            os.ftruncate(self.memfd, MAP_BYTES)
            self.mm = mmap.mmap(self.memfd, MAP_BYTES)
            self.bell, bell_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            ctl_r, self.ctl = os.pipe2(os.O_CLOEXEC)
            self.child = spawn(
                ["--child", str(fd), str(self.memfd), str(bell_w), str(ctl_r)],
                (fd, self.memfd, bell_w, ctl_r),
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
        return int(POS.unpack_from(self.mm, STATUS)[0])

    def errno(self) -> int:
        assert self.mm is not None
        return int(POS.unpack_from(self.mm, ERRNO)[0]) or errno.EIO

    def start(self) -> bool:
        """Tell the ready child to read from now on; False if it cannot be told."""
        try:
            os.write(self.ctl, b"g")
        except OSError:
            return False
        return True

    def drain_bell(self) -> bool:
        """Empty the doorbell pipe; True at end of file (the child has exited)."""
        while True:
            try:
                chunk = os.read(self.bell, 4096)
            except BlockingIOError:
                return False
            if not chunk:
                return True

    def take(self, deliver: Callable[[Batch], None]) -> int:
        """Hand every complete record to ``deliver``, in batches; returns how many."""
        mm = self.mm
        assert mm is not None
        write_pos = POS.unpack_from(mm, WRITE_POS)[0]
        pos = self.read_pos
        if pos == write_pos:
            return 0
        unpack = REC.unpack_from
        rec_size = REC.size
        total = 0
        batch: Batch = []
        append = batch.append
        while pos < write_pos:
            off = pos % SHM_BYTES
            at = HEADER + off
            n, _flags, ts = unpack(mm, at)
            if n == WRAP:
                pos += SHM_BYTES - off
                continue
            append((ts, OUTBOUND, mm[at + rec_size : at + rec_size + n]))
            pos += (rec_size + n + 7) & ~7
            if len(batch) >= TAKE_BATCH:
                deliver(batch)
                total += len(batch)
                batch = []
                append = batch.append
        if batch:
            deliver(batch)
            total += len(batch)
        self.read_pos = pos
        POS.pack_into(mm, READ_POS, pos)  # the room can be reused
        return total

    def close_ctl(self) -> None:
        if self.ctl >= 0:
            os.close(self.ctl)
            self.ctl = -1

    def finish(self) -> None:
        """Make sure the child has ended (it holds the device open while it lives)."""
        self.close_ctl()
        reap(self.child)
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


# ----- the children -----------------------------------------------------------------------------


def _child_setup(parent: int) -> bool:
    """Privileges, signals and lifetime of a child; False if the parent is gone already.

    The child only reads a descriptor it inherited, which needs no privilege,
    so a child started as root becomes ``nobody`` at once: ``-Z`` (which drops
    the parent's privileges later) must not leave a root process behind.
    """
    import ctypes  # before setuid: as nobody, the interpreter's files may be out of reach

    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)
    if os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        except OSError:
            return False  # never go on as root
    # die with the parent even if it is SIGKILLed (set after setuid, which clears it)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getppid() == parent


def _pollers(fd: int, ctl: int) -> tuple[select.poll, select.poll]:
    """Waiting for the device or the parent, and for the parent alone."""
    both = select.poll()
    both.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    both.register(ctl, select.POLLIN | select.POLLHUP)
    ctl_only = select.poll()
    ctl_only.register(ctl, select.POLLIN | select.POLLHUP)
    return both, ctl_only


def drain_main(argv: list[str]) -> int:
    """The draining child: read the device and discard, until stopped or the device fails.

    While packets keep coming it naps a millisecond between rounds instead of
    waiting in poll(), so the sender is not made to wake it for every packet
    (the device queue holds far more than a millisecond of traffic).
    """
    fd, ctl, parent = (int(a) for a in argv[:3])
    if not _child_setup(parent):
        return 0
    scratch = memoryview(bytearray(READ_SIZE))
    readinto = io.FileIO(fd, "rb", closefd=False).readinto
    poller, ctl_only = _pollers(fd, ctl)
    while True:
        n = 0
        try:
            while readinto(scratch):  # None: nothing queued; 0: end of file
                n += 1
        except OSError:
            return 1  # the device is gone; the parent sees it on its own descriptor
        events = ctl_only.poll(1) if n >= DRAIN_NAP_MIN else poller.poll(POLL_MS)
        for efd, ev in events:
            if efd == ctl:
                return 0  # the parent closed the control pipe (stop) or died
            if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and not ev & select.POLLIN:
                return 1


def child_main(argv: list[str]) -> int:
    """The reading child: descriptor -> shared buffer, until told to stop or the device fails.

    Per packet it does only one ``read`` into the buffer (``FileIO.readinto``:
    one read(2), cheaper than ``os.readv``), a timestamp and a 16-byte record
    header; once per batch it publishes the write position and rings the
    doorbell pipe (a system call, which also orders the writes before it for
    the parent).
    """
    fd, memfd, bell, ctl, parent = (int(a) for a in argv[:5])
    if not _child_setup(parent):
        return 0
    mm = mmap.mmap(memfd, MAP_BYTES)
    mv = memoryview(mm)

    def ring_bell() -> None:
        with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
            os.write(bell, b"!")

    POS.pack_into(mm, STATUS, ST_READY)
    ring_bell()
    try:
        if os.read(ctl, 1) != b"g":  # the parent's thread has stopped reading
            return 0
    except OSError:
        return 0
    poller, ctl_only = _pollers(fd, ctl)
    readinto = io.FileIO(fd, "rb", closefd=False).readinto
    now, pack, pos_at = time.time_ns, REC.pack_into, POS.unpack_from
    rec_size = REC.size
    limit = SHM_BYTES - 2 * SLOT  # room for a wrap and one more read, always
    write_pos = 0

    def fail(code: int) -> int:
        POS.pack_into(mm, ERRNO, code)
        POS.pack_into(mm, STATUS, ST_ERROR)
        ring_bell()
        return 1

    while True:
        read_pos = pos_at(mm, READ_POS)[0]
        n = 0
        full = False
        while n < BATCH:
            if write_pos - read_pos > limit:
                full = True
                break
            off = write_pos % SHM_BYTES
            if SHM_BYTES - off < SLOT:
                pack(mm, HEADER + off, WRAP, 0, 0)
                write_pos += SHM_BYTES - off
                continue
            at = HEADER + off
            try:
                got = readinto(mv[at + rec_size : at + SLOT])
            except OSError as e:
                POS.pack_into(mm, WRITE_POS, write_pos)
                return fail(e.errno or errno.EIO)
            if got is None:  # nothing more queued now
                break
            if got == 0:  # end of file: nothing more will come
                POS.pack_into(mm, WRITE_POS, write_pos)
                return fail(errno.EBADFD)
            pack(mm, at, got, 0, now())
            write_pos += (rec_size + got + 7) & ~7
            n += 1
        if n:
            POS.pack_into(mm, WRITE_POS, write_pos)
            ring_bell()
        # full: the parent is behind; let the kernel queue (and count) the excess
        events = ctl_only.poll(1) if full else poller.poll(0 if n == BATCH else POLL_MS)
        for efd, ev in events:
            if efd == ctl:
                return 0  # the parent closed the control pipe (stop) or died
            if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and not ev & select.POLLIN:
                return fail(errno.EBADFD)


def main(argv: list[str]) -> int:
    """``--child ...`` or ``--drain ...``: which child this process is."""
    if argv and argv[0] == "--child":
        return child_main(argv[1:])
    if argv and argv[0] == "--drain":
        return drain_main(argv[1:])
    print("tapwatch.capture runs only as tapwatch's own child process", file=sys.stderr)
    return 2
