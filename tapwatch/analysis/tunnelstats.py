"""What the links say about each tunnel, and how it is told.

The linker (:mod:`tapwatch.analysis.links`) decides which outer packet carried
which inner packet; this module holds what follows from each link and what is
shown of it: a :class:`Link` itself, per tunnel and direction the time inside
the tunnel, overhead, packets lost inside, outer packets over the MTU, ICMP
"too big" messages tied to their flow, WireGuard's handshakes and the
protocols' counters (:class:`TunnelStats`); then the text of the tree's
"Carried by" / "Carries" layers, the ``--tunnel-stats`` summary and the
Tunnels tool's rows. Everything here is plain data and text: no locks, no
matching, nothing on the per-packet path but :meth:`DirStats.add_link` and
:meth:`Counters.see`.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tapwatch.analysis.conversations import Column
from tapwatch.analysis.encap import ENCRYPTED, FRAMED
from tapwatch.analysis.headers import addr_text
from tapwatch.kinds import Direction

#: delays kept per tunnel direction for the median and p99
MAX_DELAYS = 65_536
#: ICMP "too big" messages kept
MAX_TOO_BIG = 256
#: recent counters remembered to tell a replay from a late packet
COUNTER_MEMORY = 4096


class Link(NamedTuple):
    """Inner packet ``inner`` was carried by outer packet ``outer``.

    ``delay_ns``: time inside the tunnel (outbound: outer stamp minus inner stamp;
    inbound: the inner packet comes out after the outer one arrived).
    ``overhead``: outer IP length minus inner IP length.
    """

    inner: int
    outer: int
    exact: bool
    kind: str
    tunnel: tuple[object, ...]
    inner_iface: int
    outer_iface: int
    direction: int
    delay_ns: int
    overhead: int


@dataclass
class Counters:
    """A sequence of counters (WireGuard's, OpenVPN's packet-id, ESP's): gaps and replays."""

    last: int = -1
    gaps: int = 0
    missing: int = 0
    replays: int = 0
    late: int = 0
    index_changes: int = 0
    index: int = -1
    _seen: deque[int] = field(default_factory=lambda: deque(maxlen=COUNTER_MEMORY))
    _set: set[int] = field(default_factory=set)

    def see(self, index: int, counter: int) -> None:
        if index != self.index:
            if self.index != -1:
                self.index_changes += 1
            self.index = index
            self.last = -1
            self._seen.clear()
            self._set.clear()
        if counter in self._set:
            self.replays += 1
            return
        if self.last >= 0:
            if counter > self.last + 1:
                self.gaps += 1
                self.missing += counter - self.last - 1
            elif counter < self.last:
                self.late += 1
        if counter > self.last:
            self.last = counter
        if len(self._seen) == self._seen.maxlen:
            self._set.discard(self._seen[0])
        self._seen.append(counter)
        self._set.add(counter)


@dataclass
class DirStats:
    """One direction of one tunnel."""

    label: str
    packets: int = 0  # outer packets
    linked: int = 0
    exact: int = 0
    inferred: int = 0
    lost: int = 0  # went in, never came out
    too_big: int = 0  # outer packet longer than the outer interface's MTU
    overhead_sum: int = 0
    overhead_min: int | None = None
    overhead_max: int = 0
    delays: deque[int] = field(default_factory=lambda: deque(maxlen=MAX_DELAYS))
    delay_max: int = 0
    counters: Counters = field(default_factory=Counters)

    def add_link(self, link: Link) -> None:
        self.linked += 1
        if link.exact:
            self.exact += 1
        else:
            self.inferred += 1
        self.overhead_sum += link.overhead
        self.overhead_max = max(self.overhead_max, link.overhead)
        if self.overhead_min is None or link.overhead < self.overhead_min:
            self.overhead_min = link.overhead
        d = max(0, link.delay_ns)
        self.delays.append(d)
        self.delay_max = max(self.delay_max, d)

    def copy(self) -> DirStats:
        c = self.counters
        counters = Counters(c.last, c.gaps, c.missing, c.replays, c.late, c.index_changes, c.index)
        return dataclasses.replace(self, delays=deque(self.delays), counters=counters)

    def delay_quantiles(self) -> tuple[int, int, int] | None:
        """(median, p99, max) of the time inside the tunnel, ns; None without links."""
        if not self.delays:
            return None
        ds = sorted(self.delays)
        return ds[len(ds) // 2], ds[min(len(ds) - 1, (len(ds) * 99) // 100)], self.delay_max

    @property
    def overhead_mean(self) -> float | None:
        return self.overhead_sum / self.linked if self.linked else None


@dataclass
class TooBig:
    """An ICMP "fragmentation needed" / "packet too big" and the flow it is about."""

    seq: int
    ts: int
    mtu: int
    flow: str
    tunnel: tuple[object, ...] | None


@dataclass
class TunnelStats:
    """What the links say about one tunnel (both directions)."""

    kind: str
    key: tuple[object, ...]
    name: str
    outer_iface: int
    inner_ifaces: set[int] = field(default_factory=set)
    dirs: dict[str, DirStats] = field(default_factory=dict)
    last_handshake_ns: int | None = None
    handshakes: int = 0
    last_ns: int = 0
    learned: int | None = None  # the overhead an OpenVPN/ESP tunnel's links agree on
    #: OpenVPN in static-key mode (--secret): its packets have no opcode, every one is data
    static_key: bool = False
    #: OpenVPN packets seen with a valid opcode while the mode is not known (see the linker)
    valid_ops: int = 0
    #: the last OpenVPN data-like packet's (opcode, peer-id), how many times in a row
    ovpn_last: tuple[int, int] = (-1, -1)
    ovpn_same: int = 0
    #: a static-key tunnel's HMAC and IV as its links agree (a block cipher's model; the
    #: constant overhead of one without a cipher is ``learned``)
    learned_base: int | None = None
    _bases: dict[int, int] = field(default_factory=dict)
    _deltas: dict[int, int] = field(default_factory=dict)
    too_big_icmp: list[TooBig] = field(default_factory=list)

    def copy(self) -> TunnelStats:
        t = dataclasses.replace(
            self,
            inner_ifaces=set(self.inner_ifaces),
            dirs={k: d.copy() for k, d in self.dirs.items()},
            _deltas={},
            _bases={},
            too_big_icmp=list(self.too_big_icmp),
        )
        return t

    def dir(self, label: str) -> DirStats:
        d = self.dirs.get(label)
        if d is None:
            d = self.dirs[label] = DirStats(label)
        return d

    @property
    def exact(self) -> bool:
        return self.kind not in ENCRYPTED

    def handshake_age_ns(self) -> int | None:
        """Time from the last handshake to the tunnel's last packet."""
        if self.last_handshake_ns is None:
            return None
        return max(0, self.last_ns - self.last_handshake_ns)

    def learn_base(self, base: int) -> None:
        """One more static-key link's HMAC and IV (``encap.static_key_base``): as ``learn``."""
        if self.learned_base is not None:
            return
        n = self._bases.get(base, 0) + 1
        self._bases[base] = n
        if n >= 3:
            self.learned_base = base

    def learn(self, delta: int) -> None:
        """One more inferred link's payload-minus-inner: the commonest becomes the model."""
        if self.learned is not None:
            return
        n = self._deltas.get(delta, 0) + 1
        self._deltas[delta] = n
        if n >= 3:
            self.learned = min(d for d, c in self._deltas.items() if c >= 3)


def dir_label(direction: int, forward: bool) -> str:
    if direction == Direction.OUTBOUND:
        return "Out"
    if direction == Direction.INBOUND:
        return "In"
    return "A>B" if forward else "B>A"


def tunnel_name(key: tuple[object, ...]) -> str:
    """``VXLAN 10.0.0.1 <> 10.0.0.2 vni 42`` (endpoints, then the key where there is one)."""
    kind = str(key[0])
    ends = []
    for end in (key[1], key[2]):
        addr, port = end if isinstance(end, tuple) else (b"", 0)
        text = addr_text(addr) if addr else "?"
        ends.append(f"{text}:{port}" if port else text)
    rest = ""
    if kind == "OpenVPN" and key[3:] == ("tcp",):
        rest = " over TCP"
    elif len(key) > 3:
        label = {"VXLAN": "vni", "Geneve": "vni", "GRE": "key", "ESP": "spi"}.get(kind, "id")
        val = key[3]
        rest = f" {label} {val:#x}" if kind == "ESP" and isinstance(val, int) else f" {label} {val}"
    return f"{kind} {ends[0]} <> {ends[1]}{rest}"


def about(
    tb: TooBig,
    tun: TunnelStats,
    src: bytes | None = None,
    sport: int = 0,
    dst: bytes | None = None,
    dport: int = 0,
) -> bool:
    """Whether an ICMP "too big" is about ``tun``'s outer flow (its endpoints)."""
    if src is None:
        return False
    ends = {tun.key[1], tun.key[2]}
    if (src, sport) in ends and (dst, dport) in ends:
        return True
    return (src, 0) in ends and (dst, 0) in ends


# ----- text: the tree's nodes and the exit summary -----------------------------------------


def ms(ns: int) -> str:
    """A duration for people: ``0.153 ms``."""
    return f"{ns / 1e6:.3f} ms"


def link_lines(
    seq: int, links: Sequence[Link], ifname: Callable[[int], str]
) -> list[tuple[str, int, list[str]]]:
    """The tree's "Carried by" / "Carries" nodes of record ``seq``: (label, the other
    packet's seq, the details); names pass through ``ifname`` (sanitized by the caller)."""
    out = []
    for link in links:
        how = "exact" if link.exact else "inferred (by direction, time and length; not certain)"
        if link.inner == seq:
            other, where, label = link.outer, ifname(link.outer_iface), "Carried by"
        else:
            other, where, label = link.inner, ifname(link.inner_iface), "Carries"
        details = [
            f"Packet: {other} on {where}",
            f"Tunnel: {tunnel_name(link.tunnel)}",
            f"Time inside the tunnel: {ms(link.delay_ns)}",
            f"Overhead: {link.overhead} bytes",
            f"Link: {how}",
        ]
        text = f"{label}: packet {other} on {where}, {link.kind}, {ms(link.delay_ns)} inside, "
        text += f"+{link.overhead} bytes, {'exact' if link.exact else 'inferred'}"
        out.append((text, other, details))
    return out


def summary_lines(
    tunnels: Sequence[TunnelStats], loose: Sequence[TooBig], ifname: Callable[[int], str]
) -> list[str]:
    """``--tunnel-stats``: per tunnel and direction, as the Tunnels tool shows it."""
    if not tunnels and not loose:
        return ["tunnels: none seen"]
    lines = []
    for t in tunnels:
        how = "exact" if t.exact else "inferred"
        inner = ", ".join(ifname(i) for i in sorted(t.inner_ifaces)) or "not seen"
        name = t.name + (" static key" if t.static_key else "")
        lines.append(f"tunnel {name} on {ifname(t.outer_iface)} (inside: {inner}; links {how})")
        for d in t.dirs.values():
            q = d.delay_quantiles()
            delay = f"inside median {ms(q[0])} p99 {ms(q[1])} max {ms(q[2])}" if q else "no links"
            mean = d.overhead_mean
            ovh = f"overhead {mean:.1f} B ({d.overhead_min}-{d.overhead_max})" if mean else ""
            parts = [
                f"  {d.label}: {d.packets} outer, {d.linked} linked",
                delay,
                ovh,
                f"lost inside {d.lost}",
                f"over MTU {d.too_big}",
            ]
            c = d.counters
            if c.index != -1:
                word = (
                    "counter"
                    if t.kind == "WireGuard"
                    else "packet-id"
                    if t.kind == "OpenVPN"
                    else "seq"
                )
                parts.append(
                    f"{word} gaps {c.gaps} ({c.missing} missing), replays {c.replays}, "
                    f"late {c.late}, index changes {c.index_changes}"
                )
            lines.append(", ".join(p for p in parts if p))
        age = t.handshake_age_ns()
        if t.kind == "WireGuard":
            lines.append(
                f"  handshakes {t.handshakes}"
                + (
                    f", last {age / 1e9:.1f} s before the tunnel's last packet"
                    if age is not None
                    else ""
                )
            )
        for tb in t.too_big_icmp:
            lines.append(f"  ICMP too big (MTU {tb.mtu}) packet {tb.seq}: {tb.flow}")
    for tb in loose:
        lines.append(f"ICMP too big (MTU {tb.mtu}) packet {tb.seq}: {tb.flow} (no tunnel seen)")
    return lines


def nearest(sorted_seqs: Sequence[int], seq: int) -> int:
    """Index of ``seq`` (or where it would go) in a sorted list."""
    return bisect.bisect_left(sorted_seqs, seq)


# ----- the Tunnels tool's table --------------------------------------------------------------

TUNNEL_COLUMNS = (
    Column("Tunnel", 34),
    Column("Dir", 4),
    Column("Links", 9),
    Column("Outer", 7, True),
    Column("Linked", 7, True),
    Column("Median", 10, True, 1),
    Column("p99", 10, True, 2),
    Column("Max", 10, True, 2),
    Column("Overhead", 9, True, 1),
    Column("Lost", 6, True),
    Column("Over MTU", 8, True, 1),
    Column("Counters", 30, False, 3),
)


def _counter_text(kind: str, c: Counters) -> str:
    if c.index == -1:
        return ""
    word = {"WireGuard": "ctr", "OpenVPN": "pid"}.get(kind, "seq")
    return (
        f"{word} gaps {c.gaps} ({c.missing} missing), replays {c.replays}, late {c.late}, "
        f"index changes {c.index_changes}"
    )


def tunnel_rows(tunnels: Sequence[TunnelStats]) -> list[tuple[str, ...]]:
    """One row per tunnel and direction, as the Tunnels tool shows them."""
    rows: list[tuple[str, ...]] = []
    for t in sorted(tunnels, key=lambda t: t.name):
        for d in t.dirs.values():
            q = d.delay_quantiles()
            mean = d.overhead_mean
            rows.append(
                (
                    t.name + (" static key" if t.static_key else ""),
                    d.label,
                    "exact" if t.exact else "inferred",
                    f"{d.packets:,}",
                    f"{d.linked:,}",
                    ms(q[0]) if q else "-",
                    ms(q[1]) if q else "-",
                    ms(q[2]) if q else "-",
                    f"{mean:.1f} B" if mean is not None else "-",
                    f"{d.lost:,}",
                    f"{d.too_big:,}",
                    _counter_text(t.kind, d.counters),
                )
            )
    return rows


def tunnel_notes(
    tunnels: Sequence[TunnelStats], loose: Sequence[TooBig], ifname: Callable[[int], str]
) -> list[str]:
    """What a table row cannot hold: where each tunnel runs, WireGuard's handshakes, the
    ICMP "too big" messages and the flows they are about."""
    out = []
    for t in sorted(tunnels, key=lambda t: t.name):
        inner = ", ".join(ifname(i) for i in sorted(t.inner_ifaces)) or "not seen"
        name = t.name + (" static key" if t.static_key else "")
        line = f"{name}: outer on {ifname(t.outer_iface)}, inside {inner}"
        if t.kind == "WireGuard":
            age = t.handshake_age_ns()
            line += f"; {t.handshakes} handshakes" + (
                f", the last {age / 1e9:.1f} s before its last packet" if age is not None else ""
            )
        if t.learned is not None:
            line += f"; overhead model {t.learned} B"
        out.append(line)
        for tb in t.too_big_icmp:
            out.append(f"  ICMP too big, MTU {tb.mtu} (packet {tb.seq}): {tb.flow}")
    for tb in loose:
        out.append(f"ICMP too big, MTU {tb.mtu} (packet {tb.seq}): {tb.flow} (no tunnel seen)")
    return out


def tunnel_filter(t: TunnelStats) -> str:
    """The tcpdump expression that shows a tunnel's outer packets."""
    ends = [e for e in (t.key[1], t.key[2]) if isinstance(e, tuple)]
    hosts = " and ".join(f"host {addr_text(a)}" for a, _p in ends if a)
    ports = {p for _a, p in ends if p}
    kind = t.kind
    base = {
        "VXLAN": "udp port 4789",
        "Geneve": "udp port 6081",
        "L2TP": "udp port 1701",
        "GRE": "proto 47",
        "MPLS over GRE": "proto 47",
        "IPIP": "(ip proto 4 or ip6 proto 4)",
        "IPv6-in-IP": "(ip proto 41 or ip6 proto 41)",
        "L2TPv3": "proto 115",
        "MPLS": "mpls",
    }.get(kind)
    if base is None:
        if ports:
            base = " or ".join(f"port {p}" for p in sorted(ports))
            if kind == FRAMED:
                base = f"({base})"
            else:
                base = f"{'tcp' if t.key[3:] == ('tcp',) else 'udp'} and ({base})"
        else:
            base = "proto 50" if kind == "ESP" else "ip"
    return f"{base} and {hosts}" if hosts else base
