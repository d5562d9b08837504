"""Read-only capture of any interface through a packet socket (``--observe``).

An observer takes nothing from the program that holds the interface: the
kernel gives the packet socket a copy of each packet, in both directions.
Packets the host sent out of the interface (PACKET_OUTGOING) are outbound,
the rest inbound: the host's view, as tcpdump's.

It reads through the same TPACKET_V3 ring as a device tapwatch owns (path
``tpacket``): a busy interface is read without a system call per packet, and
a late reader loses nothing until 32 MB are waiting. When the kernel gives
no ring, or ``TAPWATCH_CAPTURE`` forces another path, it reads with
``recvfrom`` (path ``socket``), the socket's 8 MB buffer absorbing its pauses.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import threading
import time
from typing import TYPE_CHECKING

from tapwatch.capture.base import (
    BATCH,
    DEAD,
    INBOUND,
    OUTBOUND,
    POLL_MS,
    READ_SIZE,
    Batch,
    CaptureReader,
    DeviceGone,
    requested_path,
)
from tapwatch.capture.tpacket import (
    BLOCK_TIMEOUT_MS,
    PACKET_OUTGOING,
    PACKET_STATISTICS,
    SOL_PACKET,
    TpacketRing,
    attach_program,
    program,
)
from tapwatch.wire import ETH_P_ALL

if TYPE_CHECKING:
    from tapwatch.filters import BpfFilter
    from tapwatch.ring import Ring

SOCKET_BUFFER = 8 * 1024 * 1024


def open_packet_socket(ifname: str) -> socket.socket:
    """An AF_PACKET socket for ``ifname`` that receives nothing yet (needs CAP_NET_RAW).

    Protocol 0: a socket made with ETH_P_ALL would receive every interface's
    packets until bound, and the kernel empties a socket's queue when its ring
    is set up. :class:`PacketSocketReader` starts it (binds it with ETH_P_ALL)
    once its filter and ring are in place, so nothing is missed or stray.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        sock.bind((ifname, 0))  # checks the name; protocol 0 still receives nothing
    except OSError:
        sock.close()
        raise
    return sock


class PacketSocketReader(CaptureReader):
    """Passive capture of the interface ``sock`` is bound to (see the module's description).

    ``capture_filter`` must be compiled for the interface's link type; it is
    attached to the socket, so the kernel drops what fails it. Packets that
    were queued before it was attached are tested here.
    """

    def __init__(
        self,
        sock: socket.socket,
        ring: Ring,
        wake: threading.Event | None = None,
        *,
        iface: int = 0,
        capture_filter: BpfFilter | None = None,
        loopback: bool = False,
    ) -> None:
        super().__init__(ring, wake, iface=iface, capture_filter=capture_filter)
        self.sock = sock
        #: loopback shows each packet as sent and again as received: keep one, as libpcap
        self.received_only = loopback
        self.fd = sock.fileno()
        self._close_socket = False
        self._drops = 0
        self._drops_lock = threading.Lock()
        sock.setblocking(False)
        try:
            self.ifname = str(sock.getsockname()[0])
        except OSError:
            self.ifname = ""
        try:  # a link made again under the same name is another link: this one is gone
            self.ifindex = socket.if_nametoindex(self.ifname)
        except OSError:
            self.ifindex = 0
        want_ring = requested_path() in (None, "tpacket")
        # the filter goes on before the ring exists, so nothing untested enters the ring;
        # frames whose VLAN tag the kernel holds apart pass untested for the ring's reader to
        # test with the tag back in place (recvfrom never sees such tags: the socket path
        # runs the user's program alone)
        if capture_filter is not None:
            self.filter_in_kernel = self._attach(capture_filter, with_tagged=want_ring)
        elif loopback:
            with contextlib.suppress(OSError):  # if refused, the reader skips the copies
                attach_program(sock, program(None, outgoing_only=False, received_only=True))
        self.tpacket: TpacketRing | None = None
        if want_ring:
            try:
                self.tpacket = TpacketRing(sock, outgoing_only=False)
            except OSError:
                self.tpacket = None
                if capture_filter is not None and self.filter_in_kernel:
                    self.filter_in_kernel = self._attach(capture_filter, with_tagged=False)
        self.path = "tpacket" if self.tpacket is not None else "socket"
        self.kernel_drops_meaning = (
            "packets the capture ring had no room for"
            if self.tpacket is not None
            else "packets the socket buffer had no room for"
        )
        self._tagged_match = None
        if self.filter_in_kernel and self.tpacket is not None and capture_filter is not None:
            self._tagged_match = capture_filter.match
        # what the socket queued before the filter was attached is tested here; once that
        # is read, the kernel's test is enough (see _drained)
        self._queued_untested = self.filter_in_kernel
        # now the socket starts receiving: filter and ring are in place
        sock.bind((self.ifname, ETH_P_ALL))  # (Python puts the protocol in network order)

    def _same_link(self) -> bool:
        """Whether the interface this reader was opened on still exists (by its index)."""
        try:
            return socket.if_nametoindex(self.ifname) == self.ifindex
        except OSError:
            return False

    def _fail(self, e: OSError) -> None:
        if e.errno == errno.ENETDOWN and self._same_link():
            return  # the link is down (or not up yet), not gone: packets come once it is up
        super()._fail(e)

    def _attach(self, capture_filter: BpfFilter, *, with_tagged: bool) -> bool:
        """Run the filter in the kernel; False if it refused the program (too long?)."""
        try:
            attach_program(
                self.sock,
                program(
                    capture_filter,
                    outgoing_only=False,
                    received_only=self.received_only,
                    tagged_pass=with_tagged,
                ),
            )
        except OSError:
            return False
        return True

    def kernel_drops(self) -> int:
        """Packets the kernel dropped because the ring or the socket buffer was full.

        PACKET_STATISTICS resets on every read, so the total is kept here.
        """
        if self.tpacket is not None:
            return self.tpacket.drops()
        with self._drops_lock:
            try:
                raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                self._drops += int.from_bytes(raw[4:8], "little")
            except OSError:
                pass
            return self._drops

    def close_at_end(self) -> None:
        """Close the socket too once capture ends (a reader of a link that went away)."""
        self._close_socket = True
        if self.ident is not None and not self.is_alive():
            self.sock.close()

    def _finish(self) -> None:
        if self.tpacket is not None:
            self.tpacket.close(socket_too=False)
        if self._close_socket:
            self.sock.close()

    def _capture(self) -> None:
        if self.tpacket is not None:
            self._capture_tpacket(self.tpacket)
        else:
            self._read_until_stopped(self.fd)

    def _read_batch(self) -> Batch:
        recv, now = self.sock.recvfrom, time.time_ns
        batch: Batch = []
        append = batch.append
        try:
            skip_sent = self.received_only
            for _ in range(BATCH):
                data, addr = recv(READ_SIZE)
                if addr[2] == PACKET_OUTGOING:
                    if skip_sent:
                        continue
                    append((now(), OUTBOUND, data))
                else:
                    append((now(), INBOUND, data))
        except BlockingIOError:
            pass
        return batch

    def _drained(self) -> None:
        if self._queued_untested:
            # what was queued before the filter was attached has all been read and tested:
            # everything after it passed the kernel's test
            self._queued_untested = False
            self._match = None

    def _capture_tpacket(self, tring: TpacketRing) -> None:
        while self._read_some():  # what the socket queued before its ring existed
            pass
        if self.failure is not None:
            return
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLERR)
        ring, iface, wake, stop = self.ring, self.iface, self.wake, self.stop_event
        take, tagged_match, match = tring.take, self._tagged_match, self._match
        while not stop.is_set() and self.failure is None:
            blocks = tring.blocks
            taken = take(ring, iface, tagged_match=tagged_match, match=match)
            if taken:
                self.packets += taken
                wake.set()
            if tring.blocks != blocks:
                continue
            for _fd, ev in poller.poll(POLL_MS):
                if ev & DEAD:
                    tring.clear_error()
                    if self._same_link():  # a link that went down comes back
                        time.sleep(0.05)
                    else:  # a deleted one does not (a new one of that name is another link)
                        self.failure = DeviceGone()
        self.packets += tring.take_all(ring, iface, tagged_match=tagged_match, match=match)
        time.sleep(2 * BLOCK_TIMEOUT_MS / 1000)
        self.packets += tring.take_all(ring, iface, tagged_match=tagged_match, match=match)
