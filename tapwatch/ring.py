"""Bounded, monotonically numbered packet ring.

The ring is the only place captured packets live. It is bounded both by packet
count and by payload bytes, evicts the oldest record when either bound is hit,
and counts what it evicted so nothing is ever lost silently.

Storage is four parallel, preallocated columns (an ``array('q')`` of
timestamps, a ``bytearray`` of directions, a ``bytearray`` of interface
numbers, a list of ``bytes``) rather than a deque of tuples: that keeps the
per-packet overhead near the 33-byte header of the ``bytes`` object plus ~18
bytes of column slots, instead of the ~150 bytes a tuple-per-packet design
costs.

A record's interface is a small number the session hands out (see
``Session.interfaces``): a session may watch several interfaces at once, and
each of them has its own name and link type.

A few records carry side data (:class:`Extra`): the length on the wire of a
packet a capture file cut short, the file's comment on it, the tunnel frames
a segment completes. It lives here too,
in a dict by seq that only such records use, leaves with its record (eviction,
``clear``), and counts against ``max_bytes`` like the packet bytes do, so a
file or an endless pipe of commented packets holds what the ring holds and no
more.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

DEFAULT_MAX_PACKETS = 500_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


#: Most interfaces one session can number (the interface column is one byte).
MAX_INTERFACES = 256


class Record(NamedTuple):
    """One captured packet. ``seq`` starts at 1 and never repeats.

    ``direction`` is a :class:`~tapwatch.kinds.Direction` value, ``iface`` the
    session's number for the interface it crossed.
    """

    seq: int
    ts_ns: int
    direction: int
    data: bytes
    iface: int = 0


class Extra(NamedTuple):
    """What a record carries besides its packet: ``wire_len`` when the capture cut the
    packet (the length it had on the wire), ``comment`` when the file had one on it,
    ``inner`` the tunnel frames this segment completes (its stream reassembled), ``note``
    tapwatch's own word on it (another input saw the same packet: where, how long before)."""

    wire_len: int | None = None
    comment: str | None = None
    inner: tuple[bytes, ...] | None = None
    note: str | None = None


#: Bytes a record's side data is counted for, besides its comment's characters: the dict
#: slot, the tuple, the int (measured: about 180 bytes per entry in CPython 3.11).
EXTRA_BYTES = 192


def extra_cost(extra: Extra) -> int:
    """What ``extra`` counts for against the ring's byte bound."""
    cost = EXTRA_BYTES + (len(extra.comment) if extra.comment else 0)
    cost += len(extra.note) if extra.note else 0
    if extra.inner:
        cost += sum(_BYTES_HEADER + len(frame) for frame in extra.inner)
    return cost


_BYTES_HEADER = 33  # what a bytes object costs beyond its contents


class Ring:
    """Thread-safe ring: one or more producers append, any thread reads by seq."""

    def __init__(
        self, max_packets: int = DEFAULT_MAX_PACKETS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if max_packets < 1:
            raise ValueError("ring must hold at least one packet")
        if max_bytes < 1:
            raise ValueError("ring must hold at least one byte")
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        self._ts = array("q", bytes(8 * max_packets))
        self._dir = bytearray(max_packets)
        self._ifc = bytearray(max_packets)
        self._data: list[bytes | None] = [None] * max_packets
        self._extra: dict[int, Extra] = {}  # seq -> side data, for the few records with any
        self._lock = threading.Lock()
        self.first_seq = 1  # oldest seq still held
        self.next_seq = 1  # seq the next record gets
        self.nbytes = 0
        self.evicted = 0  # records pushed out by the bounds
        self.cleared = 0  # records dropped by clear()
        self.total_bytes = 0  # bytes ever appended

    def __len__(self) -> int:
        return self.next_seq - self.first_seq

    def _evict_one(self) -> None:
        slot = self.first_seq % self.max_packets
        old = self._data[slot]
        if old is not None:
            self.nbytes -= len(old)
        self._data[slot] = None
        if self._extra:
            extra = self._extra.pop(self.first_seq, None)
            if extra is not None:
                self.nbytes -= extra_cost(extra)
        self.first_seq += 1
        self.evicted += 1

    def append(self, ts_ns: int, direction: int, data: bytes, iface: int = 0) -> int:
        """Store one record and return its seq, evicting the oldest as needed."""
        with self._lock:
            return self._put(ts_ns, direction, data, iface)

    def _put(self, ts_ns: int, direction: int, data: bytes, iface: int) -> int:
        n = len(data)
        while self.next_seq - self.first_seq >= self.max_packets or (
            self.nbytes + n > self.max_bytes and self.next_seq > self.first_seq
        ):
            self._evict_one()
        seq = self.next_seq
        slot = seq % self.max_packets
        self._ts[slot] = ts_ns
        self._dir[slot] = direction
        self._ifc[slot] = iface
        self._data[slot] = data
        self.nbytes += n
        self.total_bytes += n
        self.next_seq = seq + 1
        return seq

    def append_written(
        self, write: Callable[[bytes], object], direction: int, data: bytes, iface: int = 0
    ) -> int:
        """``write(data)`` and store the record stamped as the write began, under one lock hold.

        What tapwatch writes into a device can make the kernel send packets at
        once (a neighbour advertisement releases the echo request queued behind
        it), and those are stamped by the kernel while ``write`` runs.  Stamping
        before the write and appending before any reader can, keeps the ring in
        time order and never stamps a packet after what it caused.  Nothing is
        stored when ``write`` raises.  ``write`` must not block: a tun/tap write
        never does.
        """
        with self._lock:
            ts_ns = time.time_ns()
            write(data)
            return self._put(ts_ns, direction, data, iface)

    def extend(
        self,
        records: Iterable[tuple[int, int, bytes]],
        iface: int = 0,
        extras: dict[int, Extra] | None = None,
    ) -> None:
        """Append a batch of ``(ts_ns, direction, data)`` of one interface under one lock hold.

        A reader hands over everything one wake-up produced, so the lock is
        taken once per batch rather than once per packet; every reader reads
        one interface, so the batch shares it. ``extras``: side data of some
        of the batch's records, by their position in it.
        """
        cap = self.max_packets
        maxb = self.max_bytes
        ts_col, dir_col, ifc_col, data_col = self._ts, self._dir, self._ifc, self._data
        with self._lock:
            start = self.next_seq
            for ts_ns, direction, data in records:
                n = len(data)
                while self.next_seq - self.first_seq >= cap or (
                    self.nbytes + n > maxb and self.next_seq > self.first_seq
                ):
                    self._evict_one()
                seq = self.next_seq
                slot = seq % cap
                ts_col[slot] = ts_ns
                dir_col[slot] = direction
                ifc_col[slot] = iface
                data_col[slot] = data
                self.nbytes += n
                self.total_bytes += n
                self.next_seq = seq + 1
            if extras:
                self._keep_extras(extras, start)

    def _keep_extras(self, extras: dict[int, Extra], first: int) -> None:
        """Store the batch's side data (its first record is seq ``first``), then evict the
        oldest records until the byte bound holds again (the newest record always stays)."""
        for index, extra in extras.items():
            seq = first + index
            if self.first_seq <= seq < self.next_seq:
                self._extra[seq] = extra
                self.nbytes += extra_cost(extra)
        while self.nbytes > self.max_bytes and self.next_seq - self.first_seq > 1:
            self._evict_one()

    def set_inner(self, seq: int, inner: tuple[bytes, ...]) -> bool:
        """Keep the tunnel frames record ``seq`` completes with it; False when it is gone.

        Counted against the byte bound at once: older records may leave for them.
        """
        with self._lock:
            if not self.first_seq <= seq < self.next_seq:
                return False
            old = self._extra.pop(seq, None)
            if old is not None:
                self.nbytes -= extra_cost(old)
            self._keep_extras({0: (old or Extra())._replace(inner=inner)}, seq)
            return seq >= self.first_seq

    def extra(self, seq: int) -> Extra | None:
        """The side data of record ``seq`` (None when it has none, or is gone)."""
        with self._lock:
            return self._extra.get(seq) if self.first_seq <= seq < self.next_seq else None

    def get(self, seq: int) -> Record | None:
        """The record numbered ``seq``, or None if evicted, cleared or not yet seen."""
        with self._lock:
            if not self.first_seq <= seq < self.next_seq:
                return None
            slot = seq % self.max_packets
            data = self._data[slot]
            assert data is not None
            return Record(seq, self._ts[slot], self._dir[slot], data, self._ifc[slot])

    def range(self, start: int, stop: int) -> list[Record]:
        """Records with ``start <= seq < stop`` that are still held, oldest first."""
        with self._lock:
            return self._range(start, stop)

    def _range(self, start: int, stop: int) -> list[Record]:
        lo = max(start, self.first_seq)
        hi = min(stop, self.next_seq)
        cap = self.max_packets
        ts_col, dir_col, ifc_col, data_col = self._ts, self._dir, self._ifc, self._data
        out = []
        new = tuple.__new__  # Record(...) goes through a Python-level __new__
        for seq in range(lo, hi):
            slot = seq % cap
            out.append(
                new(Record, (seq, ts_col[slot], dir_col[slot], data_col[slot], ifc_col[slot]))
            )
        return out

    def since(self, seq: int, limit: int = 4096) -> tuple[list[Record], int]:
        """Up to ``limit`` records from ``seq`` on, and how many were missed.

        A consumer keeps its own cursor; if the ring evicted records before the
        consumer got to them, ``missed`` says how many, so losses are counted
        rather than silently skipped. The bound and the records are read under
        one lock hold: a producer evicting in between would otherwise make
        records vanish from every counter.
        """
        with self._lock:
            first = self.first_seq
            missed = max(0, first - seq)
            start = max(seq, first)
            return self._range(start, start + limit), missed

    def __iter__(self) -> Iterator[Record]:
        """Iterate over a snapshot of the held records, in chunks."""
        seq = self.first_seq
        while True:
            chunk = self.range(seq, seq + 8192)
            if not chunk:
                return
            yield from chunk
            seq = chunk[-1].seq + 1

    def clear(self) -> None:
        """Forget every held record; numbering continues where it was."""
        with self._lock:
            for seq in range(self.first_seq, self.next_seq):
                self._data[seq % self.max_packets] = None
            self._extra.clear()
            self.cleared += self.next_seq - self.first_seq
            self.first_seq = self.next_seq
            self.nbytes = 0
