"""The reader: device -> (timestamp_ns, direction, bytes) -> ring.

It does nothing else per packet: every extra step here costs capture.
Decoding, counting, filtering and writing all happen later, in the consumer
(the session's pump), and in the UI.

Where the reading happens matters more than how it reads. A reader *thread*
doing ``os.read`` shares the interpreter lock with the pump and the UI:
whenever it gives the lock up for a system call, a busy pump or a screen
refresh keeps it waiting, and the device queue (1000 packets = 10 ms at 100k
packets/s) overflows. Measured on a 2-core VM (bench/RESULTS.md, 200k UDP
datagrams): that thread kept 68% at 200k packets/s headless and 77% at 100k
packets/s with the UI, 17-28% of an unpaced flood, where a bare Python read
loop in its own process kept 100% and 95-98%.

So there are three ways to capture, tried in this order:

``ring`` (default): a packet socket bound to the device with a TPACKET_V3
    receive ring (32 MB), filtered in the kernel to what the host transmits.
    The kernel copies each packet into the shared ring as it hands it to the
    device - in the sender's context, with its own timestamp, before the
    device queue - so a reader that is late loses nothing until the ring is
    full, and the kernel counts what did not fit (``kernel_drops``). This
    thread only parses ring blocks (no system call per packet). Kept 100% in
    every trial: 50k-200k packets/s and unpaced (~450k-630k packets/s), headless
    and with the UI. A child process reads the device and discards (the
    packets are captured already) so the device queue stays drained and its
    own counters mean what they say; without it this thread drains in between.
    Needs CAP_NET_RAW (root has it); the socket is opened in ``__init__``,
    before ``-Z`` drops privileges.
``process``: without CAP_NET_RAW, a child process (``python -m
    tapwatch.capture --child``, standard library only) reads each packet
    straight into a 32 MB shared-memory buffer and rings a pipe per batch; this
    thread copies batches into the ring. The buffer, not the device queue,
    absorbs the time the pump or the UI hold the lock. 100% at 100k packets/s
    headless and with the UI (thread: 100% / 77%), 79% at 200k (thread: 68%),
    51% unpaced (thread: 28%). Start-up is seamless: this thread reads the
    device until the child is ready, then hands over (the child reads only
    after the thread's last read), so order and timestamps stay monotonic; if
    the child cannot start or dies, the thread reads again.
``thread``: ``os.read`` in this thread, the original design; the last resort.

Children die with tapwatch (PR_SET_PDEATHSIG, and end of file on their control
pipe), so a created device still vanishes when tapwatch does, even on SIGKILL.
``TAPWATCH_CAPTURE=ring|process|thread`` forces a path (the benchmark compares
them). Tried and not kept: sys.setswitchinterval(0.5 ms) for the thread (100%
at 100k headless but still 60% with the UI), an ``os.read``+copy child instead
of reading into the buffer (~20% more CPU per packet; ``FileIO.readinto`` is
~16% cheaper than ``os.readv``),
draining the device in this thread (86% of the device queue dropped with the
UI: the lock again), multi-queue devices (the kernel steers one flow to one
queue), io_uring (the bare ``read`` costs ~1 us per packet here; batching the
system calls would not beat the ring, which needs none).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
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

from tapwatch.kinds import Direction
from tapwatch.ring import Ring
from tapwatch.wire import ETH_P_8021Q, ETH_P_ALL

#: what a tun/tap device gives its reader is what the host sent: outbound
HOST_SENT = int(Direction.OUTBOUND)
HOST_RECEIVED = int(Direction.INBOUND)

BATCH = 512
READ_SIZE = 65536
POLL_MS = 200

# AF_PACKET constants (linux/if_packet.h, linux/filter.h)
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
SO_ATTACH_FILTER = 26
TUNGETIFF = 0x800454D2
IFF_TAP = 0x0002
# the kernel's receive ring for a device's own packet socket: 128 blocks of 256 KiB
# 256 blocks of 128 KiB (32 MB). A partly filled block reaches the reader after at most
# RING_BLOCK_TIMEOUT_MS: that is the latency reply mode adds to every answer (10 ms gave
# pings over a tap a 5.7 ms average RTT, 2 ms gives ~1.0 ms). Under a flood blocks fill
# before the timeout; at 200k packets/s a 2 ms block holds ~400 packets, so the ring still
# rides out a reader stalled for ~0.5 s.
RING_BLOCK = 128 << 10
RING_BLOCKS = 256
RING_BLOCK_TIMEOUT_MS = 2
DRAIN_MAX = 256  # device reads discarded per round while the ring has work (no drainer)
DRAIN_NAP_MIN = 4  # a drain round this big: nap 1 ms rather than be woken per packet

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
ENV_MODE = "TAPWATCH_CAPTURE"  # "ring", "process" or "thread" (see above); default: the best


def _forced_mode() -> str:
    """The capture path TAPWATCH_CAPTURE asks for, "" when it asks for none."""
    return os.environ.get(ENV_MODE, "").strip().lower()


PR_SET_PDEATHSIG = 1
NOBODY = 65534  # the uid and gid a child started as root continues as


class Reader(threading.Thread):
    """Pulls frames from a tun/tap descriptor until stopped or the device vanishes."""

    #: whether this reader may hand the reading to a child process (a plain descriptor can)
    use_process = True

    def __init__(self, fd: int, ring: Ring, wake: threading.Event | None = None,
                 iface: int = 0) -> None:
        super().__init__(name="tapwatch-reader", daemon=True)
        self.fd = fd
        self.ring = ring
        self.iface = iface
        self.wake = wake or threading.Event()
        self.stop_event = threading.Event()
        self.error: str | None = None  # set when the device went away or failed
        self.packets = 0
        self.mode = "thread"  # what is reading now: "ring", "process" or "thread"
        self.child_pid: int | None = None
        self._pring: _PacketRing | None = None
        if self.use_process and _forced_mode() in ("", "ring"):
            # opened now, while tapwatch may still hold the privileges (-Z drops them later)
            try:
                self._pring = _PacketRing.for_device(fd)
            except (OSError, ValueError):
                self._pring = None
            if self._pring is not None:
                # the session reports these as the kernel's drops: the device queue's own
                # counter no longer says whether a packet was captured
                self.kernel_drops = self._pring.drops

    def stop(self) -> None:
        self.stop_event.set()

    # ----- in this thread -------------------------------------------------------------------
    def _read_batch(self) -> list[tuple[int, int, bytes]]:
        read, now, fd = os.read, time.time_ns, self.fd
        batch: list[tuple[int, int, bytes]] = []
        append = batch.append
        try:
            for _ in range(BATCH):
                append((now(), HOST_SENT, read(fd, READ_SIZE)))
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
            self.ring.extend(batch, self.iface)
            self.packets += len(batch)
            self.wake.set()
        return True

    def run(self) -> None:
        try:
            if self._pring is not None:
                self._run_ring(self._pring)
                return
            if self._want_process() and self._run_process():
                return
            self._run_thread()
        finally:
            if self._pring is not None:
                self._pring.close()
            self.wake.set()

    # ----- through the kernel's packet ring -------------------------------------------------
    def _run_ring(self, pring: _PacketRing) -> None:
        """Capture from the packet ring; the device is read only to keep its queue drained.

        A child process does that draining (outside this interpreter's lock);
        if it cannot run, this thread drains between blocks, as far as it gets.
        """
        self.mode = "ring"
        drainer = None
        if self._want_process():
            try:
                drainer = _Drainer(self.fd)
                self.child_pid = drainer.child.pid
            except (OSError, ValueError):
                drainer = None
        poller = select.poll()
        poller.register(pring.fileno(), select.POLLIN | select.POLLERR)
        dev_events = select.POLLERR | select.POLLHUP
        poller.register(self.fd, dev_events if drainer else dev_events | select.POLLIN)
        scratch = [memoryview(bytearray(READ_SIZE))]
        readv, fd, stop = os.readv, self.fd, self.stop_event
        ring, wake = self.ring, self.wake
        try:
            while not stop.is_set() and self.error is None:
                taken = pring.take(ring, self.iface)
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
                        self.error = _describe(e)
                        break
                if taken or drained:
                    continue
                try:
                    events = poller.poll(POLL_MS)
                except InterruptedError:
                    continue
                for efd, ev in events:
                    if not ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                        continue
                    if efd == fd:
                        self.error = "device went away"
                    else:  # ENETDOWN while the link is down: the socket resumes when it is up
                        pring.clear_error()
                        time.sleep(0.05)
                if not events and drainer is not None and not drainer.alive():
                    drainer.close()  # it died: drain here from now on
                    drainer = None
                    self.child_pid = None
                    poller.modify(fd, dev_events | select.POLLIN)
            # what the kernel put in the ring before the end, including the block it was
            # filling, which it hands over when its timeout expires
            self.packets += pring.take_all(ring, self.iface)
            time.sleep(2 * RING_BLOCK_TIMEOUT_MS / 1000)
            self.packets += pring.take_all(ring, self.iface)
            wake.set()
        finally:
            if drainer is not None:
                drainer.close()
                self.child_pid = None

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
        if _forced_mode() == "thread" or not self.use_process:
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
        taken = chan.take(self.ring, self.iface)
        if taken:
            self.packets += taken
            self.wake.set()


class _PacketRing:
    """A TPACKET_V3 receive ring of a packet socket (one interface).

    The kernel copies each packet into this shared ring as it passes (for a
    device tapwatch owns: as the host transmits it - in the sender's context,
    with its own timestamp, before the device queue): nothing is lost to a
    reader that is late, as long as the ring (32 MB) has room, and the kernel
    counts what did not fit. Reading it costs no system call per packet, only
    parsing a header.
    """

    _BLOCK_HDR = struct.Struct("<III")  # block_status, num_pkts, offset_to_first_pkt (at 8)
    _PKT_HDR = struct.Struct("<IIIIIIHHIIHH")  # tpacket3_hdr
    _PKTTYPE_AT = 48 + 10  # sockaddr_ll.sll_pkttype, after the aligned tpacket3_hdr

    def __init__(self, sock: socket.socket, *, outgoing_only: bool) -> None:
        """Give ``sock`` (an AF_PACKET socket, bound or not) a ring; the caller owns it."""
        self.outgoing_only = outgoing_only
        self._drops = 0
        self._drops_lock = threading.Lock()
        self._next = 0
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, struct.pack(
            "IIIIIII", RING_BLOCK, RING_BLOCKS, 2048, RING_BLOCK // 2048 * RING_BLOCKS,
            RING_BLOCK_TIMEOUT_MS, 0, 0))
        self.mm = mmap.mmap(sock.fileno(), RING_BLOCK * RING_BLOCKS)
        self.sock = sock

    @classmethod
    def for_device(cls, fd: int) -> _PacketRing:
        """The ring for what the host sends into the tun/tap device behind ``fd``.

        ValueError if ``fd`` is not a tun/tap descriptor, OSError without
        CAP_NET_RAW or ring memory.
        """
        try:
            res = fcntl.ioctl(fd, TUNGETIFF, bytes(40))
        except OSError:
            raise ValueError("not a tun/tap descriptor") from None
        name = res[:16].rstrip(b"\0").decode()
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # receives nothing yet
        try:
            _attach_outgoing_only(sock)
            pring = cls(sock, outgoing_only=True)
        except BaseException:
            sock.close()
            raise
        try:
            sock.bind((name, ETH_P_ALL))
        except BaseException:
            pring.close()
            raise
        return pring

    def fileno(self) -> int:
        return self.sock.fileno()

    def take(self, ring: Ring, iface: int = 0, max_blocks: int = 8) -> int:
        """Move the packets of every block the kernel has handed over into ``ring``."""
        mm = self.mm
        block_hdr, pkt_hdr = self._BLOCK_HDR.unpack_from, self._PKT_HDR.unpack_from
        total = 0
        for _ in range(max_blocks):
            base = self._next * RING_BLOCK
            status, count, first = block_hdr(mm, base + 8)
            if not status & TP_STATUS_USER:
                break
            batch: list[tuple[int, int, bytes]] = []
            append = batch.append
            at = base + first
            both = not self.outgoing_only
            for _ in range(count):
                nxt, sec, nsec, snap, _len, st, mac, net, _hash, tci, tpid, _pad = pkt_hdr(
                    mm, at)
                data = mm[at + mac : at + mac + snap]
                if st & TP_STATUS_VLAN_VALID and net - mac >= 14:  # an Ethernet header
                    data = _with_vlan(data, tci, tpid if st & TP_STATUS_VLAN_TPID_VALID else 0)
                direction = HOST_SENT
                if both and mm[at + self._PKTTYPE_AT] != PACKET_OUTGOING:
                    direction = HOST_RECEIVED
                append((sec * 1_000_000_000 + nsec, direction, data))
                at += nxt
            ring.extend(batch, iface)
            total += count
            struct.pack_into("<I", mm, base + 8, 0)  # TP_STATUS_KERNEL: the block is free again
            self._next = (self._next + 1) % RING_BLOCKS
        return total

    def take_all(self, ring: Ring, iface: int = 0) -> int:
        total = 0
        while True:
            taken = self.take(ring, iface, RING_BLOCKS)
            if not taken:
                return total
            total += taken

    def clear_error(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def drops(self) -> int:
        """Packets the kernel could not put in the ring (it was full), since it was opened."""
        with self._drops_lock:
            try:
                raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
                self._drops += struct.unpack_from("<I", raw, 4)[0]  # reset by every read
            except OSError:
                pass
            return self._drops

    def close(self, *, socket_too: bool = True) -> None:
        self.drops()  # keep the final count
        with contextlib.suppress(BufferError, ValueError):
            self.mm.close()
        if socket_too:
            self.sock.close()


def _attach_outgoing_only(sock: socket.socket) -> None:
    """A classic BPF program: keep only what the host transmits (not what tapwatch writes)."""
    import ctypes

    skf_ad_pkttype = -0x1000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE
    prog = (ctypes.c_uint64 * 4)()
    for i, (code, jt, jf, k) in enumerate((
        (0x20, 0, 0, skf_ad_pkttype & 0xFFFFFFFF),  # ld [pkttype]
        (0x15, 0, 1, PACKET_OUTGOING),  # jeq #OUTGOING
        (0x06, 0, 0, 0x40000),  # ret #262144 (the whole packet)
        (0x06, 0, 0, 0),  # ret #0
    )):
        prog[i] = code | jt << 16 | jf << 24 | k << 32
    fprog = struct.pack("HxxxxxxQ", 4, ctypes.addressof(prog))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _with_vlan(frame: bytes, tci: int, tpid: int) -> bytes:
    """Put back the 802.1Q tag the kernel keeps beside an Ethernet frame, as the device has it."""
    if len(frame) < 12:
        return frame
    return frame[:12] + struct.pack("!HH", tpid or ETH_P_8021Q, tci) + frame[12:]


def _child_env() -> dict[str, str]:
    """The environment of a child: it must import this very tapwatch."""
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                    else "")
    return env


def _spawn(args: list[str], fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
    if not sys.executable:
        raise ValueError("no interpreter to run a child with")
    return subprocess.Popen(
        [sys.executable, "-m", "tapwatch.capture", *args, str(os.getpid())], pass_fds=fds,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C at the terminal is the parent's business
        env=_child_env(),
    )


class _Drainer:
    """A child process that reads the device and discards what it reads (ring mode).

    The packets are captured from the packet ring already; reading them from
    the device too keeps its queue empty, so the device behaves as a consumed
    link and its drop counter means what it says.
    """

    def __init__(self, fd: int) -> None:
        ctl_r, self.ctl = os.pipe2(os.O_CLOEXEC)
        try:
            self.child = _spawn(["--drain", str(fd), str(ctl_r)], (fd, ctl_r))
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
        _reap(self.child)


def _reap(child: subprocess.Popen[bytes]) -> None:
    """Wait for a child told to exit; kill it if it does not."""
    try:
        child.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):  # EPERM if tapwatch is no longer root (-Z)
            child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5.0)


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
            self.child = _spawn(["--child", str(fd), str(self.memfd), str(bell_w), str(ctl_r)],
                                (fd, self.memfd, bell_w, ctl_r))
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

    def take(self, ring: Ring, iface: int = 0) -> int:
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
            append((ts, HOST_SENT, mm[at + rec_size : at + rec_size + n]))
            pos += (rec_size + n + 7) & ~7
            if len(batch) >= 4096:
                ring.extend(batch, iface)
                total += len(batch)
                batch = []
                append = batch.append
        if batch:
            ring.extend(batch, iface)
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
        _reap(self.child)
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


def _child_setup(parent: int) -> bool:
    """Privileges, signals and lifetime of a child; False if the parent is gone already.

    The child only reads a descriptor it inherited, which needs no privilege,
    so a child started as root becomes ``nobody`` at once: ``-Z`` (which drops
    the parent's privileges later) must not leave a root process behind.
    """
    import ctypes  # now: as nobody, the interpreter's files may be out of reach

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


def _drain_main(argv: list[str]) -> int:
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
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    poller.register(ctl, select.POLLIN | select.POLLHUP)
    ctl_only = select.poll()
    ctl_only.register(ctl, select.POLLIN | select.POLLHUP)
    while True:
        n = 0
        try:
            while readinto(scratch):  # None: nothing queued; 0: end of file
                n += 1
        except OSError:
            return 1  # the device is gone; the parent sees it on its own descriptor
        try:
            events = ctl_only.poll(1) if n >= DRAIN_NAP_MIN else poller.poll(POLL_MS)
        except InterruptedError:
            continue
        for efd, ev in events:
            if efd == ctl:
                return 0  # the parent closed the control pipe (stop) or died
            if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and not ev & select.POLLIN:
                return 1


def _child_main(argv: list[str]) -> int:
    """The reading child: descriptor -> shared buffer, until told to stop or the device fails.

    Per packet it does only one ``read`` into the buffer, a timestamp and a
    16-byte record header; once per batch it publishes the write position and
    rings the doorbell pipe (a system call, which also orders the writes
    before it for the parent).
    """
    fd, memfd, bell, ctl, parent = (int(a) for a in argv[:5])
    if not _child_setup(parent):
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
    # FileIO.readinto: one read(2) into the buffer, ~16% cheaper per packet than os.readv
    readinto = io.FileIO(fd, "rb", closefd=False).readinto
    now, pack, pos_at = time.time_ns, _REC.pack_into, _POS.unpack_from
    rec_size = _REC.size
    limit = SHM_BYTES - 2 * _SLOT  # room for a wrap and one more read, always
    write_pos = 0

    def fail(code: int) -> int:
        _POS.pack_into(mm, _ERRNO, code)
        _POS.pack_into(mm, _STATUS, _ST_ERROR)
        ring_bell()
        return 1

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
                got = readinto(mv[at + rec_size : at + _SLOT])
            except OSError as e:
                _POS.pack_into(mm, _WRITE_POS, write_pos)
                return fail(e.errno or errno.EIO)
            if got is None:  # nothing more queued now
                break
            if got == 0:  # end of file: nothing more will come
                _POS.pack_into(mm, _WRITE_POS, write_pos)
                return fail(errno.EBADFD)
            pack(mm, at, got, 0, now())
            write_pos += (rec_size + got + 7) & ~7
            n += 1
        if n:
            _POS.pack_into(mm, _WRITE_POS, write_pos)
            ring_bell()
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

    Packets the host sent out of the interface (PACKET_OUTGOING) are
    outbound, the rest inbound: the host's view, as tcpdump's. Read through a packet ring
    when the kernel gives one, else with ``recvfrom`` (the socket's 8 MB buffer
    absorbing the reader's pauses).
    """

    use_process = False

    def __init__(self, sock: socket.socket, ring: Ring, wake: threading.Event | None = None,
                 iface: int = 0) -> None:
        super().__init__(sock.fileno(), ring, wake, iface)
        self.sock = sock
        self._drops = 0
        self._drops_lock = threading.Lock()
        sock.setblocking(False)
        self._oring: _PacketRing | None = None
        if _forced_mode() in ("", "ring"):
            # the same kernel ring as for owned devices, both directions: a busy interface
            # is read without a system call per packet, and a late reader loses nothing
            # until 32 MB are waiting (the socket buffer alone held 8 MB)
            try:
                self._oring = _PacketRing(sock, outgoing_only=False)
            except OSError:
                self._oring = None

    def run(self) -> None:
        if self._oring is None:
            super().run()
            return
        try:
            self._run_observer_ring(self._oring)
        finally:
            self._oring.close(socket_too=False)
            self.wake.set()

    def _run_observer_ring(self, pring: _PacketRing) -> None:
        self.mode = "ring"
        if not self._read_some():  # what was queued before the ring existed
            return
        try:
            name = self.sock.getsockname()[0]
        except OSError:
            name = ""
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        ring, wake, stop = self.ring, self.wake, self.stop_event
        while not stop.is_set() and self.error is None:
            taken = pring.take(ring, self.iface)
            if taken:
                self.packets += taken
                wake.set()
                continue
            try:
                events = poller.poll(POLL_MS)
            except InterruptedError:
                continue
            for _fd, ev in events:
                if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    pring.clear_error()
                    try:  # a link that went down comes back; a deleted one does not
                        socket.if_nametoindex(name)
                        time.sleep(0.05)
                    except OSError:
                        self.error = "device went away"
        self.packets += pring.take_all(ring, self.iface)
        time.sleep(2 * RING_BLOCK_TIMEOUT_MS / 1000)
        self.packets += pring.take_all(ring, self.iface)

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
                append((now(), HOST_SENT if addr[2] == PACKET_OUTGOING else HOST_RECEIVED, data))
        except BlockingIOError:
            pass
        return batch


def _describe(e: OSError) -> str:
    if e.errno in (errno.EBADFD, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.ENETDOWN):
        return "device went away"
    return f"read failed: {e.strerror}"


def open_packet_socket(ifname: str) -> socket.socket:
    """An AF_PACKET socket bound to ``ifname``, seeing both directions."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.bind((ifname, 0))
    except OSError:
        sock.close()
        raise
    return sock


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] in ("--child", "--drain"):
    sys.exit((_child_main if sys.argv[1] == "--child" else _drain_main)(sys.argv[2:]))
