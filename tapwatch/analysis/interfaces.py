"""Counters per interface, for sessions that watch several at once.

The session counts packets and bytes in total and per protocol; a session
holding a tun and the Ethernet interface its tunnel runs over also needs
them per interface (is the inner traffic all making it out?). This tally
follows the ring from the UI's refresh, a bounded number of records per
call, so it costs the capture nothing and never stalls a frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tapwatch.ring import Ring

#: most records one ``update`` looks at (the rest waits for the next refresh)
BUDGET = 50_000


@dataclass
class IfaceCount:
    packets: int = 0
    bytes: int = 0
    pps: float = 0.0
    _window: tuple[float, int] = field(default=(0.0, 0), repr=False)


class InterfaceTally:
    """Packets, bytes and arrival rate per interface number, caught up incrementally."""

    def __init__(self, count: int) -> None:
        self.counts = [IfaceCount() for _ in range(count)]
        self.next_seq = 1
        self.cleared = 0
        self.skipped = 0  # evicted before the tally saw them

    def update(self, ring: Ring, budget: int = BUDGET, now: float | None = None) -> bool:
        """Count what arrived since the last call; True when it caught up with the ring."""
        if ring.cleared != self.cleared:
            self.cleared = ring.cleared
            for c in self.counts:
                c.packets = c.bytes = 0
            self.next_seq = ring.first_seq
        if self.next_seq < ring.first_seq:
            self.skipped += ring.first_seq - self.next_seq
            self.next_seq = ring.first_seq
        stop = min(ring.next_seq, self.next_seq + budget)
        counts = self.counts
        n = len(counts)
        while self.next_seq < stop:
            chunk = ring.range(self.next_seq, min(stop, self.next_seq + 8192))
            if not chunk:
                break
            for rec in chunk:
                if rec.iface < n:
                    c = counts[rec.iface]
                    c.packets += 1
                    c.bytes += len(rec.data)
            self.next_seq = chunk[-1].seq + 1
        now = time.monotonic() if now is None else now
        for c in counts:
            t0, p0 = c._window
            if not t0:
                c._window = (now, c.packets)
            elif now - t0 >= 1.0:
                c.pps = (c.packets - p0) / (now - t0)
                c._window = (now, c.packets)
        return self.next_seq >= ring.next_seq
