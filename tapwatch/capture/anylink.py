"""``-i any``'s links made after the start, read from their first packet (one unbound socket).

tcpdump ``-i any`` reads one packet socket bound to no interface, so a link
made while it runs is captured from its first packet. tapwatch reads each link
of the start through a socket of its own (its own link type, name and ring);
a link made later used to get its socket only once the netlink announcement
had been heard and handled, and a VPN's first packets on a new tun (sent the
moment the link is up) were missed.

:class:`NewLinkReader` is that unbound socket, for the links tapwatch has no
socket of its own on: the kernel program drops the packets of the links of the
start (by interface index), and each other packet is handed to the interface
the session numbered for its link (by the index the kernel gives with it, so
the name is the one the link had when the packet came). A packet of a link the
announcement of which has not been handled yet waits here (bounded) until the
link is adopted, or is dropped if the link is one tapwatch does not decode.
A link whose packets waited ``PENDING_S`` and that was never announced (netlink
drops messages when its socket overflows) is handed to ``on_unnamed`` with its
type (the packets' ARPHRD), which adopts it under its index as name, ``ifN``,
as tcpdump names a link it cannot name: the packets are kept, not lost.

What the holding queue lets go (full, or a link that waited and was never taken) is
tapwatch's own loss, not the kernel's: :meth:`NewLinkReader.held_drops` counts it apart
from :meth:`~NewLinkReader.kernel_drops` (the packet ring's overflow), so the exit summary
and the status say which of the two lost packets and what to change (the capture
buffer, or nothing the user can: netlink was slow to announce the link).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from tapwatch.capture.base import DEAD, INBOUND, OUTBOUND, POLL_MS, CaptureReader
from tapwatch.capture.observer import SOCKET_BUFFER
from tapwatch.capture.tpacket import (
    BLOCK_SIZE,
    BLOCK_TIMEOUT_MS,
    BLOCKS,
    KEEP,
    PACKET_OUTGOING,
    TP_STATUS_USER,
    TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID,
    TpacketRing,
    attach_program,
    with_vlan,
)
from tapwatch.wire import ETH_P_ALL

if TYPE_CHECKING:
    from tapwatch.ring import Ring

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_SKF_AD_IFINDEX = 8
_DROP = (0x06, 0, 0, 0)
_IFINDEX_AT = 48 + 4  # sockaddr_ll.sll_ifindex, after the aligned tpacket3_hdr
_HATYPE_AT = 48 + 8  # sockaddr_ll.sll_hatype: the link's ARPHRD type
_PKTTYPE_AT = 48 + 10
#: the most links of the start the kernel program tests (a jump reaches 255 ahead); with
#: more, the reader alone tests them
_MAX_IN_PROGRAM = 250
#: packets of links not adopted yet held here, at most (more are counted as dropped)
PENDING_MAX = 8192
#: and their bytes: 8192 packets of 64 KB (a loopback's, a GSO's) would be 512 MB
PENDING_BYTES = 16 << 20
#: how long a link's packets wait to be adopted before they are let go
PENDING_S = 5.0


class Adopted(NamedTuple):
    """Where one link's packets go: the session's interface number, whether it is a
    loopback (each packet shows twice: keep the received copy), the capture filter."""

    iface: int
    loopback: bool
    match: Callable[[bytes], bool] | None


def skip_program(ifindexes: Iterable[int]) -> list[tuple[int, int, int, int]]:
    """The kernel program that drops the packets of ``ifindexes`` and keeps the rest."""
    idx = sorted(set(ifindexes))[:_MAX_IN_PROGRAM]
    n = len(idx)
    insns = [(_LD_W_ABS, 0, 0, (-0x1000 + _SKF_AD_IFINDEX) & 0xFFFFFFFF)]
    insns += [(_JEQ_K, n - i, 0, k) for i, k in enumerate(idx)]
    return [*insns, KEEP, _DROP]


def bind_all(sock: socket.socket) -> None:
    """Bind an AF_PACKET socket to every interface (index 0) with ETH_P_ALL.

    Python's ``bind`` wants an interface name; the kernel's own bind takes index 0 for
    all of them (as libpcap's ``any``)."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    # sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
    addr = struct.pack("=HHiHBB8s", socket.AF_PACKET, socket.htons(ETH_P_ALL), 0, 0, 0, 0, b"")
    buf = ctypes.create_string_buffer(addr, len(addr))
    if libc.bind(sock.fileno(), buf, len(addr)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class NewLinkReader(CaptureReader):
    """The packets of every link not in ``skip`` (see the module's description)."""

    def __init__(self, ring: Ring, wake: threading.Event | None, skip: Iterable[int]) -> None:
        super().__init__(ring, wake, iface=-1)
        self.skip = set(skip)
        self.links: dict[int, Adopted] = {}
        self.ignored: set[int] = set()
        self.counts: dict[int, int] = {}  # packets per interface number
        self.pending: dict[int, list[tuple[int, int, bytes]]] = {}
        self.pending_since: dict[int, float] = {}
        self.pending_n = 0
        self.hatypes: dict[int, int] = {}  # ARPHRD of links with packets held
        self.pending_bytes = 0
        #: packets the holding queue let go: no room (``PENDING_MAX`` / ``PENDING_BYTES``),
        #: or their link waited and was never taken; tapwatch's loss, not the kernel's
        self.dropped = 0
        #: called (this thread, no lock held) with ``(ifindex, arphrd)`` of a link whose
        #: packets waited ``PENDING_S`` unannounced; it adopts or ignores the link
        self.on_unnamed: Callable[[int, int], None] | None = None
        self._asked: set[int] = set()  # links on_unnamed was called for
        self._lock = threading.Lock()
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # receives nothing yet
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
            attach_program(sock, skip_program(self.skip))
            self.tpacket = TpacketRing(sock, outgoing_only=False)
            bind_all(sock)  # every interface of the namespace, from now on
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.fd = sock.fileno()
        self.path = "tpacket"
        self.kernel_drops_meaning = "packets the capture ring had no room for"

    # ----- what the link watcher tells (its thread) ------------------------------------------
    def adopt(self, ifindex: int, link: Adopted) -> None:
        """``ifindex``'s packets go to ``link`` from now on, and those waiting for it too."""
        with self._lock:
            self.links[ifindex] = link
            self.ignored.discard(ifindex)
            if ifindex in self.skip:  # a link of the start met again (a rename): read it here
                self.skip.discard(ifindex)
                with contextlib.suppress(OSError):
                    attach_program(self.sock, skip_program(self.skip))
            held = self._unhold(ifindex)
            if held:
                self._put(ifindex, link, held)

    def forget(self, ifindex: int, *, lost: bool = True) -> None:
        """``ifindex`` went away: its packets still queued are dropped (counted, ``lost``)."""
        with self._lock:
            self.links.pop(ifindex, None)
            self.ignored.add(ifindex)
            held = self._unhold(ifindex)
            if lost:
                self.dropped += len(held)

    def _unhold(self, ifindex: int) -> list[tuple[int, int, bytes]]:
        """``ifindex``'s held packets, no longer held (lock held)."""
        held = self.pending.pop(ifindex, [])
        self.pending_since.pop(ifindex, None)
        self.hatypes.pop(ifindex, None)
        self.pending_n -= len(held)
        self.pending_bytes -= sum(len(r[2]) for r in held)
        return held

    def ignore(self, ifindex: int) -> None:
        """``ifindex`` is a link tapwatch does not capture (a type it does not decode): its
        packets are let go as announced, no loss."""
        self.forget(ifindex, lost=False)

    def packets_of(self, iface: int) -> int:
        return self.counts.get(iface, 0)

    def kernel_drops(self) -> int:
        """The packet ring's overflow only (the holding queue's losses: :meth:`held_drops`)."""
        return self.tpacket.drops()

    def held_drops(self) -> int:
        """Packets read from the kernel that the holding queue let go (see ``dropped``)."""
        return self.dropped

    # ----- the thread ------------------------------------------------------------------------
    def _put(self, ifindex: int, link: Adopted, batch: list[tuple[int, int, bytes]]) -> None:
        """Into the ring as ``link``'s (lock held)."""
        if link.loopback:
            batch = [r for r in batch if r[1] == INBOUND]
        if link.match is not None:
            match = link.match
            batch = [r for r in batch if match(r[2])]
        if batch:
            self.ring.extend(batch, link.iface)
            self.counts[link.iface] = self.counts.get(link.iface, 0) + len(batch)
            self.packets += len(batch)
            self.wake.set()

    def _take(self) -> int:
        """Every block the kernel handed over, each packet to its link's interface."""
        tring = self.tpacket
        mm = tring.mm
        block_hdr, pkt_hdr = tring._BLOCK_HDR.unpack_from, tring._PKT_HDR.unpack_from
        ifindex_of = struct.Struct("<i").unpack_from
        hatype_of = struct.Struct("<H").unpack_from
        blocks = 0
        while True:
            base = tring._next * BLOCK_SIZE
            status, count, first = block_hdr(mm, base + 8)
            if not status & TP_STATUS_USER:
                break
            by_link: dict[int, list[tuple[int, int, bytes]]] = {}
            hatypes: dict[int, int] = {}
            at = base + first
            for _ in range(count):
                nxt, sec, nsec, snap, _len, st, mac, net, _hash, tci, tpid, _pad = pkt_hdr(mm, at)
                data = mm[at + mac : at + mac + snap]
                if st & TP_STATUS_VLAN_VALID and net - mac >= 14:
                    data = with_vlan(data, tci, tpid if st & TP_STATUS_VLAN_TPID_VALID else 0)
                out = mm[at + _PKTTYPE_AT] == PACKET_OUTGOING
                rec = (sec * 1_000_000_000 + nsec, OUTBOUND if out else INBOUND, data)
                ifindex = ifindex_of(mm, at + _IFINDEX_AT)[0]
                recs = by_link.get(ifindex)
                if recs is None:
                    recs = by_link[ifindex] = []
                    hatypes[ifindex] = hatype_of(mm, at + _HATYPE_AT)[0]
                recs.append(rec)
                at += nxt
            struct.pack_into("<I", mm, base + 8, 0)  # the block is the kernel's again
            tring._next = (tring._next + 1) % BLOCKS
            tring.blocks += 1
            blocks += 1
            with self._lock:
                for ifindex, recs in by_link.items():
                    self._hand(ifindex, recs, hatypes[ifindex])
        if self.pending:
            self._expire()
        return blocks

    def _hand(self, ifindex: int, recs: list[tuple[int, int, bytes]], hatype: int = 0) -> None:
        """One link's records of a block: to its interface, or held until it is adopted."""
        if ifindex in self.skip or ifindex in self.ignored:
            return
        link = self.links.get(ifindex)
        if link is not None:
            self._put(ifindex, link, recs)
            return
        room = PENDING_MAX - self.pending_n
        if room < len(recs):
            self.dropped += len(recs) - max(room, 0)
            recs = recs[: max(room, 0)]
        size = 0
        for i, r in enumerate(recs):  # as many as the bytes allow
            if self.pending_bytes + size + len(r[2]) > PENDING_BYTES:
                self.dropped += len(recs) - i
                recs = recs[:i]
                break
            size += len(r[2])
        if recs:
            self.pending.setdefault(ifindex, []).extend(recs)
            self.pending_since.setdefault(ifindex, time.monotonic())
            self.hatypes.setdefault(ifindex, hatype)
            self.pending_n += len(recs)
            self.pending_bytes += size

    def _expire(self) -> None:
        """Links whose packets waited ``PENDING_S``: handed to ``on_unnamed`` (once), their
        packets kept waiting for it; dropped (counted) only if it did not take them."""
        now = time.monotonic()
        ask = []
        with self._lock:
            for ifindex, since in list(self.pending_since.items()):
                if now - since <= PENDING_S:
                    continue
                if self.on_unnamed is not None and ifindex not in self._asked:
                    self._asked.add(ifindex)
                    self.pending_since[ifindex] = now  # a while more for the answer
                    ask.append((ifindex, self.hatypes.get(ifindex, 0)))
                    continue
                self.dropped += len(self._unhold(ifindex))
        for ifindex, hatype in ask:
            assert self.on_unnamed is not None
            try:
                self.on_unnamed(ifindex, hatype)
            except Exception:  # a bug there: the packets go as before, counted
                continue

    def _capture(self) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLERR)
        stop = self.stop_event
        while not stop.is_set():
            if self._take():
                continue
            for _fd, ev in poller.poll(POLL_MS):
                if ev & DEAD:
                    self.tpacket.clear_error()
        time.sleep(2 * BLOCK_TIMEOUT_MS / 1000)
        self._take()

    def _finish(self) -> None:
        self.tpacket.close(socket_too=True)
