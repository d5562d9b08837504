"""The kernel's TPACKET_V3 receive ring of a packet socket, and the BPF programs it runs.

The kernel copies each packet into a ring it shares with tapwatch (32 MB) as
it passes the interface - for a device tapwatch owns, as the host transmits
it: in the sender's context, with the sender's timestamp, before the device
queue. A reader that is late loses nothing until the ring is full, and the
kernel counts what did not fit. Reading it costs no system call per packet,
only parsing a header; this is why it is the default path (bench/NOTES.md has
the measurements against the other paths).

The socket's classic BPF program decides what enters the ring, in the
kernel: for a device tapwatch owns, only what the host transmits (what
tapwatch itself writes is captured where it is written); with a capture
filter, also only what matches it - as libpcap attaches tcpdump's filter to
its own socket - so non-matching packets never cost tapwatch anything.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import mmap
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tapwatch.capture.base import INBOUND, OUTBOUND, Batch
from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.wire import ETH_P_8021Q, ETH_P_ALL

if TYPE_CHECKING:
    from tapwatch.filters import BpfFilter
    from tapwatch.ring import Ring

# AF_PACKET constants (linux/if_packet.h)
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
PACKET_OUTGOING = 4  # sll_pkttype of what the host transmits
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
TUNGETIFF = 0x800454D2

# The ring: 256 blocks of 128 KiB (32 MB). A partly filled block reaches the reader after
# at most BLOCK_TIMEOUT_MS: that is the latency reply mode adds to every answer, so it is
# short (bench/NOTES.md has the ping times it gave). Under a flood blocks fill before the
# timeout, and 256 blocks of 2 ms of a 200k packets/s flood (~400 packets each) still leave
# room for a reader stalled for half a second.
BLOCK_SIZE = 128 << 10
BLOCKS = 256
BLOCK_TIMEOUT_MS = 2
FRAME_SIZE = 2048  # the kernel's minimum frame unit in a V3 block; packets are packed tighter

# ----- classic BPF (linux/filter.h) -------------------------------------------------------------
#: one instruction: (code, jt, jf, k), jumps relative to the next instruction
Insn = tuple[int, int, int, int]

SO_ATTACH_FILTER = 26
BPF_MAXINSNS = 4096
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_SKF_AD_OFF = -0x1000  # loads at these offsets read the packet's metadata, not its bytes
_SKF_AD_PKTTYPE = 4
_SKF_AD_VLAN_TAG_PRESENT = 48
_WHOLE = 0x40000  # "keep 256 KiB": the whole packet, as libpcap's programs return
KEEP: Insn = (_RET_K, 0, 0, _WHOLE)
DROP: Insn = (_RET_K, 0, 0, 0)


def _load_meta(field: int) -> Insn:
    return (_LD_W_ABS, 0, 0, (_SKF_AD_OFF + field) & 0xFFFFFFFF)


#: what the host transmits goes on to the next instruction; anything else is dropped
OUTGOING_ONLY: tuple[Insn, ...] = (
    _load_meta(_SKF_AD_PKTTYPE),
    (_JEQ_K, 1, 0, PACKET_OUTGOING),
    DROP,
)

#: the same test the other way round: loopback shows every packet twice (as sent, then as
#: received); libpcap keeps the received copy, and so does tapwatch
RECEIVED_ONLY: tuple[Insn, ...] = (
    _load_meta(_SKF_AD_PKTTYPE),
    (_JEQ_K, 0, 1, PACKET_OUTGOING),
    DROP,
)

#: a frame whose 802.1Q tag the kernel holds beside it (not in its bytes) is kept as it is;
#: untagged frames go on to the next instruction. A filter compiled for the frame as the
#: wire has it would test the wrong bytes of a frame whose tag was taken out, so the reader
#: tests those frames itself once it has put the tag back.
TAGGED_PASS: tuple[Insn, ...] = (
    _load_meta(_SKF_AD_VLAN_TAG_PRESENT),
    (_JEQ_K, 1, 0, 0),
    KEEP,
)


def program(
    capture_filter: BpfFilter | None,
    *,
    outgoing_only: bool,
    received_only: bool = False,
    tagged_pass: bool = True,
) -> list[Insn]:
    """The program for a packet socket: the direction test, the tag test, the user's filter.

    Each prefix only jumps within itself or falls through to the next part,
    and classic BPF jumps are relative to the instruction that jumps, so the
    user's program (libpcap's output) runs unchanged after them: no offset in
    it needs adjusting, and its ``ret`` instructions still decide.
    """
    insns: list[Insn] = list(OUTGOING_ONLY) if outgoing_only else []
    if received_only:
        insns += RECEIVED_ONLY
    if capture_filter is None:
        return [*insns, KEEP]
    if tagged_pass and capture_filter.linktype == LINKTYPE_ETHERNET:
        insns += TAGGED_PASS
    return insns + capture_filter.program()


def attach_program(sock: socket.socket, insns: Sequence[Insn]) -> None:
    """SO_ATTACH_FILTER: from now on the kernel runs ``insns`` on every packet for ``sock``.

    OSError (EINVAL) when the kernel refuses the program, e.g. longer than
    BPF_MAXINSNS; the socket keeps the program it had.
    """
    if not insns or len(insns) > BPF_MAXINSNS:
        raise OSError(22, f"a socket filter has 1 to {BPF_MAXINSNS} instructions")
    code = b"".join(struct.pack("=HBBI", c, jt, jf, k) for c, jt, jf, k in insns)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)  # the kernel copies it


def with_vlan(frame: bytes, tci: int, tpid: int) -> bytes:
    """Put back the 802.1Q tag the kernel keeps beside an Ethernet frame, as the wire has it."""
    if len(frame) < 12:
        return frame
    return frame[:12] + struct.pack("!HH", tpid or ETH_P_8021Q, tci) + frame[12:]


class TpacketRing:
    """The TPACKET_V3 receive ring of one packet socket (one interface).

    ``outgoing_only`` rings see only what the host transmits (a device
    tapwatch owns); the others see both directions and mark each packet with
    the host's view of it.
    """

    _BLOCK_HDR = struct.Struct("<III")  # block_status, num_pkts, offset_to_first_pkt (at 8)
    _PKT_HDR = struct.Struct("<IIIIIIHHIIHH")  # tpacket3_hdr
    _PKTTYPE_AT = 48 + 10  # sockaddr_ll.sll_pkttype, after the aligned tpacket3_hdr

    def __init__(self, sock: socket.socket, *, outgoing_only: bool) -> None:
        """Give ``sock`` (an AF_PACKET socket, bound or not) a ring; the caller owns ``sock``."""
        self.outgoing_only = outgoing_only
        self._drops = 0
        self._drops_lock = threading.Lock()
        self._next = 0
        self.blocks = 0  # blocks handed back to the kernel so far
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        sock.setsockopt(
            SOL_PACKET,
            PACKET_RX_RING,
            struct.pack(
                "IIIIIII",
                BLOCK_SIZE,
                BLOCKS,
                FRAME_SIZE,
                BLOCK_SIZE // FRAME_SIZE * BLOCKS,
                BLOCK_TIMEOUT_MS,
                0,
                0,
            ),
        )
        self.mm = mmap.mmap(sock.fileno(), BLOCK_SIZE * BLOCKS)
        self.sock = sock

    @classmethod
    def for_device(
        cls, fd: int, capture_filter: BpfFilter | None = None
    ) -> tuple[TpacketRing, bool]:
        """The ring for what the host sends into the tun/tap device behind ``fd``.

        Returns the ring and whether ``capture_filter`` runs in the kernel
        (False when the kernel refused the combined program: the caller runs
        the filter itself). ValueError if ``fd`` is not a tun/tap descriptor,
        OSError without CAP_NET_RAW or ring memory.
        """
        try:
            res = fcntl.ioctl(fd, TUNGETIFF, bytes(40))
        except OSError:
            raise ValueError("not a tun/tap descriptor") from None
        name = res[:16].rstrip(b"\0").decode()
        # protocol 0: the socket receives nothing until it is bound, after its program is set
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        in_kernel = capture_filter is not None
        try:
            try:
                attach_program(sock, program(capture_filter, outgoing_only=True))
            except OSError:
                if capture_filter is None:
                    raise
                attach_program(sock, program(None, outgoing_only=True))
                in_kernel = False
            tring = cls(sock, outgoing_only=True)
        except BaseException:
            sock.close()
            raise
        try:
            sock.bind((name, ETH_P_ALL))
        except BaseException:
            tring.close()
            raise
        return tring, in_kernel

    def fileno(self) -> int:
        return self.sock.fileno()

    def take(
        self,
        ring: Ring,
        iface: int = 0,
        max_blocks: int = 8,
        *,
        tagged_match: Callable[[bytes], bool] | None = None,
        match: Callable[[bytes], bool] | None = None,
    ) -> int:
        """Move the packets of every block the kernel has handed over into ``ring``.

        ``tagged_match`` tests the frames that carried an out-of-band VLAN tag
        (the kernel program let them through untested), ``match`` every frame
        (a filter the kernel could not run). Returns how many entered the ring.
        """
        mm = self.mm
        block_hdr, pkt_hdr = self._BLOCK_HDR.unpack_from, self._PKT_HDR.unpack_from
        both = not self.outgoing_only
        pkttype_at = self._PKTTYPE_AT
        total = 0
        for _ in range(max_blocks):
            base = self._next * BLOCK_SIZE
            status, count, first = block_hdr(mm, base + 8)
            if not status & TP_STATUS_USER:
                break
            batch: Batch = []
            append = batch.append
            at = base + first
            for _ in range(count):
                nxt, sec, nsec, snap, _len, st, mac, net, _hash, tci, tpid, _pad = pkt_hdr(mm, at)
                data = mm[at + mac : at + mac + snap]
                if st & TP_STATUS_VLAN_VALID and net - mac >= 14:  # an Ethernet header
                    data = with_vlan(data, tci, tpid if st & TP_STATUS_VLAN_TPID_VALID else 0)
                    if tagged_match is not None and not tagged_match(data):
                        at += nxt
                        continue
                direction = OUTBOUND
                if both and mm[at + pkttype_at] != PACKET_OUTGOING:
                    direction = INBOUND
                append((sec * 1_000_000_000 + nsec, direction, data))
                at += nxt
            if match is not None:
                batch = [rec for rec in batch if match(rec[2])]
            if batch:
                ring.extend(batch, iface)
                total += len(batch)
            struct.pack_into("<I", mm, base + 8, 0)  # TP_STATUS_KERNEL: the block is free again
            self._next = (self._next + 1) % BLOCKS
            self.blocks += 1
        return total

    def take_all(
        self,
        ring: Ring,
        iface: int = 0,
        *,
        tagged_match: Callable[[bytes], bool] | None = None,
        match: Callable[[bytes], bool] | None = None,
    ) -> int:
        """Everything the kernel has handed over, however many blocks."""
        total = 0
        while True:
            before = self.blocks
            total += self.take(ring, iface, BLOCKS, tagged_match=tagged_match, match=match)
            if self.blocks == before:
                return total

    def clear_error(self) -> None:
        """Read and forget the socket's pending error (ENETDOWN while the link is down)."""
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
