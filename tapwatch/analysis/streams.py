"""Follow a TCP or UDP stream: the payload both ways, in order, as the applications saw it.

TCP is reassembled per direction by sequence number, the way Wireshark's
"Follow TCP Stream" does: retransmitted bytes are shown once, overlapping
segments are trimmed, segments that arrive early wait for the gap before
them, and bytes that never arrived are named as a gap rather than glued
over. SYN and FIN take one sequence number each. UDP datagrams are shown in
arrival order. Consecutive data in one direction forms one chunk; what is
shown is bounded (``limit`` bytes) so a multi-gigabyte transfer cannot eat
the memory the ring was sized for.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapwatch.analysis import Progress
from tapwatch.analysis.conversations import Conversation
from tapwatch.analysis.headers import TCP_FIN, TCP_RST, TCP_SYN, endpoint_text, transport
from tapwatch.sanitize import printable
from tapwatch.wire import IPPROTO_TCP

if TYPE_CHECKING:
    from tapwatch.ring import Record

#: most payload bytes one follow keeps (both directions together)
DEFAULT_LIMIT = 16 * 1024 * 1024
_MOD = 1 << 32
_HALF = 1 << 31
_NOTED = TCP_SYN | TCP_FIN | TCP_RST  # the flags a followed stream names


@dataclass
class Chunk:
    """Payload one side sent without the other sending in between.

    ``side`` 0 is the client (address A of the conversation), 1 the server;
    ``seq`` the first packet that carried it; ``gap`` bytes that were never
    captured just before this chunk.
    """

    side: int
    seq: int
    data: bytearray
    gap: int = 0


@dataclass
class Stream:
    """A followed stream: its two ends, its chunks and what could not be shown."""

    proto: int
    client: str
    server: str
    filter_expr: str
    chunks: list[Chunk] = field(default_factory=list)
    bytes_each_way: list[int] = field(default_factory=lambda: [0, 0])
    packets: int = 0
    missing: int = 0  # packets of the flow no longer held (evicted)
    gaps: int = 0  # bytes never captured
    truncated: bool = False
    flags_seen: set[str] = field(default_factory=set)

    @property
    def proto_name(self) -> str:
        return "TCP" if self.proto == IPPROTO_TCP else "UDP"


class _Direction:
    """Reassembly state of one direction of a TCP connection.

    Sequence numbers wrap at 2**32; ``pos`` unwraps them: the position of
    ``next`` counted from the direction's first byte, which only grows. Early
    segments wait in a heap by position, so whatever the arrival order each
    segment costs O(log n), never a scan of everything that waits.
    """

    __slots__ = ("heap", "next", "pending", "pending_bytes", "pos")

    def __init__(self) -> None:
        self.next: int | None = None  # seq of the next byte to show
        self.pos = 0  # ``next`` unwrapped (positions of early segments are on this scale)
        self.pending: dict[int, tuple[int, bytes]] = {}  # pos -> (packet seq, bytes)
        self.heap: list[int] = []  # the positions in ``pending``, smallest first
        self.pending_bytes = 0

    def wait(self, ahead: int, pkt: int, data: bytes, limit: int) -> None:
        """Keep a segment ``ahead`` bytes after ``next`` until the bytes before it come."""
        pos = self.pos + ahead
        if (
            pos in self.pending
            or len(self.pending) >= MAX_PENDING
            or self.pending_bytes + len(data) > limit
        ):
            return  # the first copy is kept; beyond the bounds they are dropped
        self.pending[pos] = (pkt, data)
        self.pending_bytes += len(data)
        heapq.heappush(self.heap, pos)

    def pop(self) -> tuple[int, int, bytes]:
        """The earliest waiting segment: (position, packet seq, bytes)."""
        pos = heapq.heappop(self.heap)
        pkt, data = self.pending.pop(pos)
        self.pending_bytes -= len(data)
        return pos, pkt, data

    def advance(self, n: int) -> None:
        assert self.next is not None
        self.next = (self.next + n) % _MOD
        self.pos += n


def _ahead(seq: int, ref: int) -> int:
    """How far ``seq`` is after ``ref`` in sequence space (negative: before it)."""
    return (seq - ref + _HALF) % _MOD - _HALF


#: early segments one direction keeps waiting for a gap (beyond that they are dropped); their
#: bytes are bounded by the follow's ``limit`` too
MAX_PENDING = 1 << 20


def follow(
    conv: Conversation,
    records: Iterable[Record | None],
    linktypes: Sequence[int],
    *,
    limit: int = DEFAULT_LIMIT,
    progress: Progress | None = None,
) -> Stream:
    """Reassemble the flow ``conv`` from its records (None: a record no longer held)."""
    stream = Stream(
        conv.proto,
        endpoint_text(conv.a, conv.port_a),
        endpoint_text(conv.b, conv.port_b),
        conv.filter_expr(),
    )
    tcp = conv.proto == IPPROTO_TCP
    dirs = (_Direction(), _Direction())
    out = _Out(stream, limit)
    n = 0
    for rec in records:
        n += 1
        if progress is not None and n % 1024 == 0:
            progress.advance(1024)
        if rec is None:
            stream.missing += 1
            continue
        t = transport(rec.data, linktypes[rec.iface])
        if t is None:
            continue
        side = 0 if (t.src, t.sport) == (conv.a, conv.port_a) else 1
        stream.packets += 1
        payload = rec.data[t.start : t.end]
        if not tcp:
            if payload:
                out.add(side, rec.seq, payload, 0)
            continue
        flags = t.flags
        if flags & _NOTED:
            for bit, name in ((TCP_SYN, "SYN"), (TCP_FIN, "FIN"), (TCP_RST, "RST")):
                if flags & bit:
                    stream.flags_seen.add(name)
        d = dirs[side]
        seq = (t.seq + 1) % _MOD if flags & TCP_SYN else t.seq  # SYN takes one number
        nxt = d.next
        if nxt is None:
            d.next = nxt = seq
        if not payload:
            if flags & TCP_FIN and seq == nxt:
                d.advance(1)
            continue
        ahead = (seq - nxt + _HALF) % _MOD - _HALF
        if ahead > 0:  # early: wait for the bytes before it
            d.wait(ahead, rec.seq, payload, limit)
        elif ahead == 0 and not d.heap:  # the common case: next in line, nothing waits
            out.add(side, rec.seq, payload, 0)
            d.next = (nxt + len(payload)) % _MOD
            d.pos += len(payload)
        else:
            _emit(out, side, d, rec.seq, -ahead, payload)
    # what still waits never had its gap filled: show it after the gap, named as such
    for side, d in enumerate(dirs):
        while d.heap:
            pos, pkt, data = d.pop()
            gap = pos - d.pos
            if gap > 0:
                stream.gaps += gap
                out.add(side, pkt, data, gap)
                d.advance(gap + len(data))
                _release(out, side, d)
            else:
                _emit(out, side, d, pkt, -gap, data)
    return stream


def _emit(out: _Out, side: int, d: _Direction, pkt: int, behind: int, data: bytes) -> None:
    """Show ``data`` (starting ``behind`` bytes before ``next``: those are trimmed as shown
    already), then the early segments it unblocks."""
    if behind >= len(data):
        return  # a retransmission of bytes already shown
    if behind > 0:
        data = data[behind:]
    out.add(side, pkt, data, 0)
    d.advance(len(data))
    _release(out, side, d)


def _release(out: _Out, side: int, d: _Direction) -> None:
    """The early segments that now fit (or overlap what was shown), in order."""
    heap = d.heap
    pending = d.pending
    while heap and heap[0] <= d.pos:
        pos = heapq.heappop(heap)
        pkt, data = pending.pop(pos)
        d.pending_bytes -= len(data)
        behind = d.pos - pos
        if behind >= len(data):
            continue
        if behind:
            data = data[behind:]
        out.add(side, pkt, data, 0)
        d.advance(len(data))


class _Out:
    """Appends shown bytes to the stream's chunks, up to the limit."""

    def __init__(self, stream: Stream, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.kept = 0

    def add(self, side: int, seq: int, data: bytes, gap: int) -> None:
        stream = self.stream
        stream.bytes_each_way[side] += len(data)
        room = self.limit - self.kept
        if room <= 0:
            stream.truncated = True
            return
        if len(data) > room:
            data = data[:room]
            stream.truncated = True
        chunks = stream.chunks
        if chunks and chunks[-1].side == side and not gap:
            chunks[-1].data += data
        else:
            chunks.append(Chunk(side, seq, bytearray(data), gap))
        self.kept += len(data)


# ----- display ----------------------------------------------------------------------------------


#: Printable ASCII as itself, every other byte a dot (Wireshark's ASCII view).
_SHOWN = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))


def text_lines(data: bytes | bytearray, width: int = 0) -> Iterator[str]:
    """Payload as text lines the way Wireshark's ASCII view shows it.

    Printable ASCII is kept, line breaks (LF, CRLF) end lines, a tab becomes
    spaces, every other byte is a dot; lines longer than ``width`` (when
    given) are wrapped. The result is display-safe by construction and still
    passes :func:`tapwatch.sanitize.printable` as every display text does.
    The bytes are mapped by ``bytes.translate`` (C speed: a followed stream
    may hold 16 MB), never a character at a time.
    """
    for raw in bytes(data).split(b"\n"):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = printable(raw.replace(b"\t", b"    ").translate(_SHOWN).decode("ascii"))
        if width > 0 and len(line) > width:
            for i in range(0, len(line), width):
                yield line[i : i + width]
        else:
            yield line


#: Columns a hex_lines line takes, by bytes per row.
HEX_LINE_WIDTH = {16: 77, 8: 43}


def hex_lines(data: bytes | bytearray, base: int = 0, per_row: int = 16) -> Iterator[str]:
    """Payload as ``offset  hex  ascii`` dump lines, ``per_row`` (16 or 8) bytes each."""
    pad = 3 * per_row + (1 if per_row > 8 else 0)
    data = bytes(data)
    for off in range(0, len(data), per_row):
        chunk = data[off : off + per_row]
        hexes = chunk[:8].hex(" ")
        if len(chunk) > 8:
            hexes += "  " + chunk[8:].hex(" ")
        yield f"{base + off:08x}  {hexes:<{pad}}  {chunk.translate(_SHOWN).decode('ascii')}"
