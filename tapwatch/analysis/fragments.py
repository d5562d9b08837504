"""IP fragments of tunnels' outer packets put back together, within bounds.

A VXLAN or WireGuard datagram longer than the outer path's MTU leaves the host
in fragments: only the first holds the UDP header, none holds the whole inner
packet, so without reassembly the inner packet looks lost inside the tunnel.
The linker hands every fragment of a UDP or encapsulating IP protocol here
(IPv4's, and IPv6's: the fragment header found as tshark finds it, after the
fixed header and any Hop-by-Hop, Routing and Destination Options headers, at
most ``MAX_V6_EXT`` of them);
when the last missing piece arrives, the whole datagram comes back (its IP
header the first fragment's, no longer marked a fragment) and is taken apart
like any outer packet, linked to the record that completed it (where Wireshark
shows a reassembled datagram too).

Hostile bytes: fragments are attacker-controlled. What is held is bounded by
datagrams, by bytes (each piece also costs what holding it costs) and by time;
overlapping or inconsistent pieces drop the datagram (counted), never raise, and
its later pieces are dropped on arrival until the timeout (as Linux does, RFC 5722:
a teardrop's pieces never come together). Each piece is checked against its
neighbours when it arrives, so a flood of pieces costs the same per piece however
many are held.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field

#: datagrams waiting for pieces at once (the oldest is dropped past this)
MAX_PENDING = 64
#: bytes held for all of them together
MAX_HELD = 1 << 20
#: how long a datagram waits for its missing pieces (RFC 791's lower bound is 15 s; a
#: tunnel's fragments come within microseconds of each other)
TIMEOUT_NS = 2_000_000_000
#: an IPv4 datagram's largest total length
MAX_DATAGRAM = 65_535
#: what holding one piece costs besides its bytes (its bytes object, its place in the
#: dict and the list), counted against MAX_HELD: 8-byte pieces cannot hold 10x that
PIECE_COST = 96
#: datagrams remembered as dropped (their later pieces dropped on arrival)
MAX_DEAD = 1024
#: IPv6 extension headers walked over to what follows (Hop-by-Hop, Routing, Destination
#: Options: the unfragmentable part, which comes before a fragment header)
V6_EXT = frozenset((0, 43, 60))
#: IPv6 extension headers walked over at most (hostile chains are bounded)
MAX_V6_EXT = 8
#: the IPv6 Fragment header's protocol number
V6_FRAGMENT = 44


def v6_chain(data: bytes, off: int, end: int) -> tuple[int, int, int]:
    """``(protocol, its offset, offset of the byte naming it)`` after the IPv6 header at
    ``data[off]`` and the extension headers of ``V6_EXT`` behind it (the byte is the fixed
    header's next-header field or the last extension header's). The protocol is -1 when
    the chain runs past ``end`` or is longer than ``MAX_V6_EXT`` headers."""
    nxt = data[off + 6]
    at, named = off + 40, off + 6
    for _ in range(MAX_V6_EXT):
        if nxt not in V6_EXT:
            return (nxt if at <= end else -1), at, named
        if at + 8 > end:
            return -1, at, named
        named = at
        nxt = data[at]
        at += (data[at + 1] + 1) * 8
    if nxt in V6_EXT or at > end:
        return -1, at, named
    return nxt, at, named


@dataclass(slots=True)
class _Pending:
    started: int
    header: bytes = b""  # the first fragment's IP header, once it came
    total: int = -1  # the payload's length, once the last fragment came
    pieces: dict[int, bytes] = field(default_factory=dict)
    starts: list[int] = field(default_factory=list)  # the pieces' offsets, in order
    covered: int = 0  # payload bytes held (pieces never overlap)
    held: int = 0  # what they cost (bytes and PIECE_COST each)


@dataclass
class Reassembler:
    """Collects IPv4 fragments; :meth:`add` returns a datagram when one is whole."""

    pending: OrderedDict[tuple[bytes, int], _Pending] = field(default_factory=OrderedDict)
    held: int = 0
    reassembled: int = 0
    dropped: int = 0  # timed out, crowded out, overlapping or too long
    #: datagrams dropped for overlapping or inconsistent pieces: when (their later
    #: pieces are dropped on arrival until TIMEOUT_NS after)
    dead: OrderedDict[tuple[bytes, int], int] = field(default_factory=OrderedDict)

    def add(self, data: bytes, off: int, ts_ns: int) -> bytes | None:
        """One fragment (its IP header at ``data[off]``: IPv4, or IPv6 with a fragment
        header in its chain, see :func:`v6_chain`); the whole datagram (raw IP, from its
        header on, an IPv6 one with the extension headers of its first piece before the
        fragment header) when this was the last piece missing, else None."""
        self._expire(ts_ns)
        n = len(data)
        if n < off + 20:
            return None
        if data[off] >> 4 == 6:
            if n < off + 48:
                return None
            end = min(n, off + 40 + (data[off + 4] << 8 | data[off + 5]))
            proto, fh, named = v6_chain(data, off, end)
            if proto != V6_FRAGMENT or fh + 8 > end:
                return None
            word = data[fh + 2] << 8 | data[fh + 3]
            more = bool(word & 1)
            start = word & 0xFFF8
            piece = bytes(data[fh + 8 : end])
            # the unfragmentable part, the byte that named the fragment header naming what
            # follows it
            header = bytes(data[off:named]) + bytes(data[fh : fh + 1])
            header += bytes(data[named + 1 : fh])
            key = (
                b"6" + bytes(data[off + 8 : off + 40]),
                int.from_bytes(data[fh + 4 : fh + 8], "big"),
            )
        else:
            ihl = (data[off] & 15) * 4
            end = min(n, off + (data[off + 2] << 8 | data[off + 3]))
            if ihl < 20 or off + ihl > end:
                return None
            word = data[off + 6] << 8 | data[off + 7]
            more = bool(word & 0x2000)
            start = (word & 0x1FFF) * 8
            piece = bytes(data[off + ihl : end])
            header = bytes(data[off : off + ihl])
            # protocol, src, dst; identification
            key = (
                bytes(data[off + 9 : off + 10]) + bytes(data[off + 12 : off + 20]),
                data[off + 4] << 8 | data[off + 5],
            )
        # the whole, header included, must fit the 16-bit length (IPv6's counts no fixed
        # header): a "ping of death" whose last piece ends past it is dropped
        limit = MAX_DATAGRAM - (len(header) if header[0] >> 4 == 4 else 0)
        if start + len(piece) > limit or (more and len(piece) % 8):
            if key in self.pending:
                self._drop(key)  # the pieces already held go with it
            else:
                self.dropped += 1
            return None
        if not piece or key in self.dead:  # an empty piece; a datagram already dropped
            return None
        p = self.pending.get(key)
        if p is None:
            p = self.pending[key] = _Pending(ts_ns)
            while len(self.pending) > MAX_PENDING:
                self._drop(next(iter(self.pending)))
        pieces, starts = p.pieces, p.starts
        end = start + len(piece)
        i = bisect_left(starts, start)
        if i < len(starts) and starts[i] == start:  # a copy, or a different piece there
            if pieces[start] != piece:
                self._kill(key, ts_ns)
            return None
        if (
            (i and starts[i - 1] + len(pieces[starts[i - 1]]) > start)  # overlaps the one before
            or (i < len(starts) and starts[i] < end)  # or the one after
            or (0 <= p.total < end)  # ends past the last piece
            or (not more and (p.total >= 0 or (starts and i < len(starts))))  # a second end
        ):
            self._kill(key, ts_ns)
            return None
        pieces[start] = piece
        starts.insert(i, start)
        cost = len(piece) + PIECE_COST
        p.covered += len(piece)
        p.held += cost
        self.held += cost
        if start == 0:
            p.header = header
        if not more:
            p.total = end
        while self.held > MAX_HELD and self.pending:
            self._drop(next(iter(self.pending)))
        if key not in self.pending or not p.header or p.total < 0 or p.covered < p.total:
            return None
        return self._whole(key, p)

    def _whole(self, key: tuple[bytes, int], p: _Pending) -> bytes | None:
        """The datagram: its pieces, which never overlap, cover it exactly."""
        parts = [p.pieces[start] for start in p.starts]
        at = p.covered
        del self.pending[key]
        self.held -= p.held
        header = bytearray(p.header)
        v6 = header[0] >> 4 == 6
        # (the first piece's header, IPv4 options or IPv6 extension headers, may be longer
        # than the one the last piece was checked with)
        length = len(header) - 40 + at if v6 else len(header) + at
        if length > MAX_DATAGRAM:
            self.dropped += 1
            return None
        self.reassembled += 1
        if v6:
            header[4], header[5] = length >> 8, length & 0xFF
        else:
            header[2], header[3] = length >> 8, length & 0xFF
            header[6] &= 0x40  # DF stays; MF and the offset go
            header[7] = 0
        return bytes(header) + b"".join(parts)

    def _drop(self, key: tuple[bytes, int]) -> None:
        p = self.pending.pop(key, None)
        if p is not None:
            self.held -= p.held
            self.dropped += 1

    def _kill(self, key: tuple[bytes, int], now: int) -> None:
        """Overlapping or inconsistent pieces (a teardrop): the datagram is dropped, and
        its later pieces on arrival."""
        self._drop(key)
        self.dead[key] = now
        self.dead.move_to_end(key)
        while len(self.dead) > MAX_DEAD:
            self.dead.popitem(last=False)

    def _expire(self, now: int) -> None:
        dead = self.dead
        while dead:
            key = next(iter(dead))
            if now - dead[key] <= TIMEOUT_NS:
                break
            del dead[key]
        pending = self.pending
        while pending:
            key = next(iter(pending))
            if now - pending[key].started <= TIMEOUT_NS:
                break
            self._drop(key)

    def clear(self) -> None:
        self.pending.clear()
        self.dead.clear()
        self.held = 0
