"""The same packet seen by two inputs: the time it took to cross from one host to the other.

With both ends of a tunnel read in one session (``-r hostA.pcapng -r
hostB.pcapng``), an inner packet that leaves host A's tun is the same packet
that arrives at host B's tun: the same IP bytes, but for the hop limit (and
the IPv4 checksum that covers it), which a router between may change. The
difference of the two stamps is the time the packet spent between the two
capture points - as far as the two hosts' clocks agree. A packet that
"arrives before it left" is the clocks' doing, never the network's: it is
said as such, and the summary says the clocks cannot be trusted.

Only sightings by different inputs pair up (one host's own copies of a
packet, a bridge's two ports, are not a crossing). Memory is bounded: the
newest :data:`KEEP` packets are remembered, for at most :data:`WINDOW_NS`.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tapwatch.decode import first_ip
from tapwatch.kinds import Direction

#: Packets remembered for pairing, at most.
KEEP = 65536
#: How far apart two sightings may be and still pair (clock offsets included).
WINDOW_NS = 10_000_000_000
#: Deltas kept per pair of interfaces for the summary's median (the newest).
_DELTAS = 100_000


#: A packet's identity across hops: its IP header but for the hop limit and the IPv4
#: checksum, then the rest of its datagram (see :func:`network_key`).
Key = tuple[bytes, int, bytes] | tuple[bytes, bytes]


def network_key(data: bytes, linktype: int) -> Key | None:
    """The IP packet of a frame without what a router changes; None when it is not IP.

    The packet is the frame's first IP header as the decoder's header walk finds it
    (:func:`~tapwatch.decode.first_ip`: after VLAN tags, LLC/SNAP, MPLS labels, a cooked or
    null header...), where tshark's first ``ip``/``ipv6`` layer starts, and it ends where
    its length says: an Ethernet frame's padding is not part of it, so the same packet
    from a tun and from a padded Ethernet frame is one key.  IPv4: ``(bytes 0-7, the
    protocol, bytes 12 to the end)``, the TTL and checksum left out; IPv6: ``(bytes 0-6,
    bytes 8 to the end)``, the hop limit left out.  A tuple of the parts rather than the
    bytes with those zeroed: the same key, made in half the time (no joined copy).
    """
    version, off, end = first_ip(data, linktype)
    if version == 4:
        return (data[off : off + 8], data[off + 9], data[off + 12 : end])
    if version == 6:
        return (data[off : off + 7], data[off + 8 : end])
    return None


@dataclass(frozen=True)
class Crossing:
    """This packet was seen before by another input: where, and the delay it makes.

    ``delay_ns`` is the arrival's stamp minus the departure's: the sighting the
    host sent out (Out) is the departure, the one a host received (In) the
    arrival; when the directions do not tell, the earlier sighting is the
    departure. Negative: the packet arrived before it left - the clocks disagree.
    """

    other_iface: int  # where the earlier sighting was
    other_number: int  # its packet number (1-based, in merged order)
    delay_ns: int
    arrival: bool  # this sighting is the arrival (else the departure, seen later)

    @property
    def trusted(self) -> bool:
        return self.delay_ns >= 0


@dataclass
class _Pair:
    count: int = 0
    negative: int = 0
    lowest: int | None = None
    highest: int | None = None
    deltas: list[int] = field(default_factory=list)


def ms(delta_ns: int) -> str:
    """A delay in milliseconds, signed when negative."""
    return f"{delta_ns / 1e6:.3f} ms"


class Crossings:
    """Pairs each packet with an earlier sighting of it by another input (see the module)."""

    def __init__(self, input_of: Sequence[int], names: Sequence[str | None]) -> None:
        """``input_of``: the input of each interface, ``names`` their names (both may grow as
        inputs describe interfaces late: they are read when needed)."""
        self.input_of = input_of
        self.names = names
        #: packet -> (ts, iface, number, direction) of its first sighting
        self._seen: OrderedDict[Key, tuple[int, int, int, int | None]] = OrderedDict()
        #: (departure interface, arrival interface) -> what their crossings took
        self.pairs: dict[tuple[int, int], _Pair] = {}

    def see(
        self,
        ts_ns: int,
        data: bytes,
        linktype: int,
        iface: int,
        number: int,
        direction: int | None = None,
    ) -> Crossing | None:
        """Record one packet (in merged order, ``number`` 1-based); its crossing, if it is one."""
        key = network_key(data, linktype)
        if key is None:
            return None
        seen = self._seen
        earlier = seen.get(key)
        if earlier is not None and abs(ts_ns - earlier[0]) <= WINDOW_NS:
            ts0, iface0, number0, dir0 = earlier
            if self._input(iface0) == self._input(iface):
                return None  # the same input again (a retransmission...): keep the first
            del seen[key]  # a crossing pairs once; a third sighting starts anew
            # the later sighting departs when it was sent and the earlier one received
            departs = direction == Direction.OUTBOUND and dir0 == Direction.INBOUND
            delay = ts0 - ts_ns if departs else ts_ns - ts0
            c = Crossing(iface0, number0, delay, arrival=not departs)
            return self._count(c, (iface, iface0) if departs else (iface0, iface))
        seen[key] = (ts_ns, iface, number, direction)
        seen.move_to_end(key)
        if len(seen) > KEEP:
            seen.popitem(last=False)
        return None

    def _count(self, c: Crossing, pair_key: tuple[int, int]) -> Crossing:
        pair = self.pairs.setdefault(pair_key, _Pair())
        pair.count += 1
        d = c.delay_ns
        if d < 0:
            pair.negative += 1
        pair.lowest = d if pair.lowest is None else min(pair.lowest, d)
        pair.highest = d if pair.highest is None else max(pair.highest, d)
        if len(pair.deltas) >= _DELTAS:
            del pair.deltas[: _DELTAS // 2]
        pair.deltas.append(d)
        return c

    def note(self, c: Crossing) -> str:
        """A crossing in words, for the packet seen second (its line, its comment)."""
        where = f"{self._name(c.other_iface)} (packet {c.other_number})"
        if c.arrival and c.trusted:
            return f"left {where} {ms(c.delay_ns)} before"
        if c.arrival:  # never: the arrival seen second came later by the merge's order
            return f"left {where} {ms(-c.delay_ns)} after it arrived here: the clocks disagree"
        return (
            f"arrived at {where} {ms(-c.delay_ns)} before it left here: the hosts' clocks disagree"
        )

    def _input(self, iface: int) -> int:
        return self.input_of[iface] if iface < len(self.input_of) else -1

    def _name(self, iface: int) -> str:
        name = self.names[iface] if iface < len(self.names) else None
        return name or f"if{iface}"

    def summary(self) -> list[str]:
        """One line per pair of interfaces, and a warning when the clocks cannot be trusted."""
        out = []
        for (a, b), p in sorted(self.pairs.items()):
            median = int(statistics.median(p.deltas)) if p.deltas else 0
            line = (
                f"{self._name(a)} -> {self._name(b)}: {p.count} packets seen at both, "
                f"delay median {ms(median)}, min {ms(p.lowest or 0)}, max {ms(p.highest or 0)}"
            )
            if p.negative:
                line += (
                    f"; {p.negative} arrived before they left: the hosts' clocks disagree, "
                    "these delays cannot be trusted"
                )
            out.append(line)
        return out
