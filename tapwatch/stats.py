"""Per-protocol packet and byte counters with a per-second history.

Counters are fed by the consumer ("pump") thread, never by the reader, so
keeping them costs capture nothing. Each packet counts once at every layer it
carries (an Ethernet/IPv4/UDP/DNS frame bumps all four rows), which is what the
per-layer view needs.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import NamedTuple

HISTORY_SECONDS = 60

#: Display order of layers; anything else sorts after these, by name.
LAYER_ORDER = (
    "Ethernet",
    "Linux cooked",
    "802.1Q",
    "802.1ad",
    "MPLS",
    "ARP",
    "IPv4",
    "IPv6",
    "ICMP",
    "ICMPv6",
    "GRE",
    "ESP",
    "AH",
    "TCP",
    "UDP",
    "VXLAN",
    "Geneve",
    "L2TP",
    "ERSPAN",
    "WireGuard",
    "OpenVPN",
    "DNS",
    "DHCP",
    "HTTP",
    "other",
    "malformed",
)
_RANK = {name: i for i, name in enumerate(LAYER_ORDER)}


class ProtoRow(NamedTuple):
    """One counter row, as the UI and summaries show it."""

    name: str
    depth: int
    packets: int
    bytes: int
    pps: float
    history: list[int]


class _Counter:
    __slots__ = ("bytes", "current", "depth", "history", "packets", "parent", "second")

    def __init__(self, depth: int, parent: str | None = None) -> None:
        self.packets = 0
        self.bytes = 0
        self.depth = depth
        # the layer under this one in the first packet that carried it: the rows' depths are
        # worked out from these, so one session's link types (a tun's raw IP beside an
        # Ethernet interface) still make one tree
        self.parent = parent
        self.history: deque[int] = deque(maxlen=HISTORY_SECONDS)
        self.second = -1  # the wall-clock second `current` counts
        self.current = 0

    def roll(self, second: int) -> None:
        """Close finished seconds so the history has one slot per second, gaps as 0."""
        if self.second < 0:
            self.second = second
            return
        gap = second - self.second
        if gap <= 0:
            return
        self.history.append(self.current)
        for _ in range(min(gap - 1, HISTORY_SECONDS)):
            self.history.append(0)
        self.current = 0
        self.second = second


class Stats:
    """Packets, bytes and rate per protocol layer, plus totals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self.total_packets = 0
        self.total_bytes = 0
        self._total = _Counter(0)

    def add(self, layers: tuple[str, ...], length: int, ts_ns: int) -> None:
        """Count one packet at every layer it carries."""
        second = ts_ns // 1_000_000_000
        with self._lock:
            self.total_packets += 1
            self.total_bytes += length
            total = self._total
            if second != total.second:
                total.roll(second)
            total.current += 1
            counters = self._counters
            for depth, name in enumerate(layers):
                c = counters.get(name)
                if c is None:
                    c = counters[name] = _Counter(depth, layers[depth - 1] if depth else None)
                if second != c.second:
                    c.roll(second)
                c.packets += 1
                c.bytes += length
                c.current += 1

    def _rate(self, c: _Counter, now_s: int) -> float:
        """Packets in the last complete second (0 when that second saw nothing)."""
        if c.second < 0:
            return 0.0
        if now_s == c.second:
            return float(c.history[-1]) if c.history else float(c.current)
        if now_s == c.second + 1:
            return float(c.current)
        return 0.0

    def pps(self, now_ns: int) -> float:
        """Packets per second over the last complete second."""
        with self._lock:
            return self._rate(self._total, now_ns // 1_000_000_000)

    def rows(self, now_ns: int) -> list[ProtoRow]:
        """Snapshot of every counter, ordered by layer, for display."""
        now_s = now_ns // 1_000_000_000
        with self._lock:
            depths = self._depths()
            out = []
            for name, c in self._counters.items():
                c.roll(now_s)
                out.append(
                    ProtoRow(
                        name,
                        depths[name],
                        c.packets,
                        c.bytes,
                        self._rate(c, now_s),
                        list(c.history),
                    )
                )
        out.sort(key=lambda r: (_RANK.get(r.name, len(_RANK)), r.name))
        return out

    def _depths(self) -> dict[str, int]:
        """Each row one step under its parent's row. A counter's parent was counted before
        it (earlier in the same packet), so following parents always ends."""
        counters = self._counters
        depths: dict[str, int] = {}
        for name in counters:
            chain = []
            at: str | None = name
            while at is not None and at not in depths:
                chain.append(at)
                parent = counters[at].parent
                at = parent if parent in counters else None
            base = -1 if at is None else depths[at]
            for n in reversed(chain):
                base += 1
                depths[n] = base
        return depths

    def reset(self) -> None:
        """Start counting from zero (the UI's clear)."""
        with self._lock:
            self._counters.clear()
            self.total_packets = 0
            self.total_bytes = 0
            self._total = _Counter(0)
