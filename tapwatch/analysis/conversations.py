"""Conversations and endpoints: who talks to whom, how much, for how long.

One incremental pass over the ring feeds a :class:`TrafficIndex`: per IP
pair, per TCP/UDP 5-tuple (which also remembers the seqs of its packets, so
following a stream needs no second pass), and per address. The index
catches up with the ring from where it stopped, so on a live capture it
only ever looks at new packets; clearing the ring starts it again.

Rows are oriented the way Wireshark's are: address A is the side that sent
the first packet seen (for TCP, the side that sent the SYN when it is
seen), so "A -> B" reads as "from the initiator".
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, overload

from tapwatch.analysis import Progress
from tapwatch.analysis.headers import TCP_ACK, TCP_SYN, addr_text, transport
from tapwatch.wire import IPPROTO_TCP, IPPROTO_UDP

if TYPE_CHECKING:
    from tapwatch.ring import Record, Ring

CHUNK = 4096
_T = TypeVar("_T")
_I = TypeVar("_I")
PROTO_NAMES = {IPPROTO_TCP: "TCP", IPPROTO_UDP: "UDP"}

#: (proto, addr, port, addr, port) ordered so both directions give the same key
FlowKey = tuple[int, bytes, int, bytes, int]
PairKey = tuple[bytes, bytes]


@dataclass(slots=True)
class Conversation:
    """Traffic between two endpoints (an IP pair, or two address:port of one protocol)."""

    proto: int  # 0 for an IP pair
    a: bytes
    b: bytes
    port_a: int = 0
    port_b: int = 0
    packets_ab: int = 0
    bytes_ab: int = 0
    packets_ba: int = 0
    bytes_ba: int = 0
    first_ns: int = 0
    last_ns: int = 0
    seqs: array[int] = field(default_factory=lambda: array("q"))

    @property
    def packets(self) -> int:
        return self.packets_ab + self.packets_ba

    @property
    def bytes(self) -> int:
        return self.bytes_ab + self.bytes_ba

    @property
    def duration_s(self) -> float:
        return max(0, self.last_ns - self.first_ns) / 1e9

    @property
    def bits_per_s(self) -> float | None:
        """Average rate over the conversation; None for a single instant."""
        d = self.duration_s
        return self.bytes * 8 / d if d > 0 else None

    @property
    def proto_name(self) -> str:
        return PROTO_NAMES.get(self.proto, "IP")

    def filter_expr(self) -> str:
        """The tcpdump expression that shows exactly this conversation."""
        a, b = addr_text(self.a), addr_text(self.b)
        if not self.proto:
            return f"host {a} and host {b}"
        p = "tcp" if self.proto == IPPROTO_TCP else "udp"
        if a == b and self.port_a == self.port_b:
            return f"{p} and host {a} and port {self.port_a}"
        return (
            f"{p} and ((src host {a} and src port {self.port_a} and dst host {b} and "
            f"dst port {self.port_b}) or (src host {b} and src port {self.port_b} and "
            f"dst host {a} and dst port {self.port_a}))"
        )


@dataclass(slots=True)
class Endpoint:
    """One address: what it sent and what it received."""

    addr: bytes
    tx_packets: int = 0
    tx_bytes: int = 0
    rx_packets: int = 0
    rx_bytes: int = 0
    first_ns: int = 0
    last_ns: int = 0

    @property
    def packets(self) -> int:
        return self.tx_packets + self.rx_packets

    @property
    def bytes(self) -> int:
        return self.tx_bytes + self.rx_bytes

    def filter_expr(self) -> str:
        return f"host {addr_text(self.addr)}"


def flow_key(proto: int, src: bytes, sport: int, dst: bytes, dport: int) -> FlowKey:
    """The same key for both directions of a flow."""
    if (src, sport) <= (dst, dport):
        return (proto, src, sport, dst, dport)
    return (proto, dst, dport, src, sport)


class TrafficIndex:
    """Conversations, flows and endpoints of the records seen so far, caught up on demand.

    Not thread-safe: one worker at a time updates it (the UI runs updates in
    an exclusive worker group) and reads rows from it in that same worker.
    """

    def __init__(self, linktypes: Sequence[int]) -> None:
        #: kept, not copied: a live session's list grows as interfaces are found
        self.linktypes = linktypes
        self.reset()

    def reset(self, next_seq: int = 1, cleared: int = 0) -> None:
        self.next_seq = next_seq
        self.cleared = cleared
        self.pairs: dict[PairKey, Conversation] = {}
        self.flows: dict[FlowKey, Conversation] = {}
        self.endpoints: dict[bytes, Endpoint] = {}
        self.packets = 0
        self.not_ip = 0
        self.skipped = 0  # evicted before the index got to them
        self.first_seq: int | None = None

    def update(self, ring: Ring, progress: Progress | None = None, stop: int | None = None) -> int:
        """Look at every record from where the last update stopped; returns how many."""
        if ring.cleared != self.cleared:
            self.reset(ring.first_seq, ring.cleared)
        stop = ring.next_seq if stop is None else stop
        if self.next_seq < ring.first_seq:
            self.skipped += ring.first_seq - self.next_seq
            self.next_seq = ring.first_seq
        if progress is not None:
            progress.total = max(0, stop - self.next_seq)
        # the pass makes an object per new flow: with the cyclic collector on, each
        # generation fills and is scanned again and again (a fifth of the time at 200k
        # flows); nothing here makes cycles, so it waits until the pass is done
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._update(ring, progress, stop)
        finally:
            if collecting:
                gc.enable()

    def _update(self, ring: Ring, progress: Progress | None, stop: int) -> int:
        done = 0
        while self.next_seq < stop:
            chunk = ring.range(self.next_seq, min(stop, self.next_seq + CHUNK))
            if not chunk:
                if self.next_seq < ring.first_seq:  # evicted meanwhile
                    self.skipped += ring.first_seq - self.next_seq
                    self.next_seq = ring.first_seq
                    continue
                break
            if chunk[0].seq != self.next_seq:
                self.skipped += chunk[0].seq - self.next_seq
            self.feed(chunk)
            self.next_seq = chunk[-1].seq + 1
            done += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
        return done

    def feed(self, records: Sequence[Record]) -> None:
        """Count records (in seq order) into the pairs, flows and endpoints.

        The per-packet loop is written out flat (no helper calls but the header
        parse): it is what opening the conversations of a large capture waits for.
        """
        if not records:
            return
        if self.first_seq is None:
            self.first_seq = records[0].seq
        self.packets += len(records)
        lts = self.linktypes
        pairs, flows, endpoints = self.pairs, self.flows, self.endpoints
        not_ip = 0
        synack = TCP_SYN | TCP_ACK
        for rec in records:
            data = rec.data
            t = transport(data, lts[rec.iface])
            if t is None:
                not_ip += 1
                continue
            size = len(data)
            ts = rec.ts_ns
            src, dst = t.src, t.dst
            # the IP pair
            pkey = (src, dst) if src <= dst else (dst, src)
            conv = pairs.get(pkey)
            if conv is None:
                conv = pairs[pkey] = Conversation(0, src, dst, first_ns=ts, last_ns=ts)
            if src == conv.a:
                conv.packets_ab += 1
                conv.bytes_ab += size
            else:
                conv.packets_ba += 1
                conv.bytes_ba += size
            if ts > conv.last_ns:
                conv.last_ns = ts
            elif ts < conv.first_ns:
                conv.first_ns = ts
            # the 5-tuple
            sport, dport = t.sport, t.dport
            if sport or dport:
                proto = t.proto
                if (src, sport) <= (dst, dport):
                    fkey = (proto, src, sport, dst, dport)
                else:
                    fkey = (proto, dst, dport, src, sport)
                flow = flows.get(fkey)
                if flow is None:
                    if proto == IPPROTO_TCP and t.flags & synack == synack:
                        # a SYN-ACK: B opened it
                        flow = Conversation(proto, dst, src, dport, sport, first_ns=ts, last_ns=ts)
                    else:
                        flow = Conversation(proto, src, dst, sport, dport, first_ns=ts, last_ns=ts)
                    flows[fkey] = flow
                if sport == flow.port_a and src == flow.a:
                    flow.packets_ab += 1
                    flow.bytes_ab += size
                else:
                    flow.packets_ba += 1
                    flow.bytes_ba += size
                if ts > flow.last_ns:
                    flow.last_ns = ts
                elif ts < flow.first_ns:
                    flow.first_ns = ts
                flow.seqs.append(rec.seq)
            # the endpoints
            ep = endpoints.get(src)
            if ep is None:
                ep = endpoints[src] = Endpoint(src, first_ns=ts)
            ep.tx_packets += 1
            ep.tx_bytes += size
            if ts > ep.last_ns:
                ep.last_ns = ts
            if dst != src:
                ep = endpoints.get(dst)
                if ep is None:
                    ep = endpoints[dst] = Endpoint(dst, first_ns=ts)
                ep.rx_packets += 1
                ep.rx_bytes += size
                if ts > ep.last_ns:
                    ep.last_ns = ts
        self.not_ip += not_ip

    def flow_of(self, data: bytes, linktype: int) -> Conversation | None:
        """The TCP/UDP flow a packet belongs to, if the index has seen it."""
        t = transport(data, linktype)
        if t is None or not (t.sport or t.dport):
            return None
        return self.flows.get(flow_key(t.proto, t.src, t.sport, t.dst, t.dport))


# ----- rows for the tables -----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a tool's table: title, width hint, alignment, and ``keep``: on a
    narrow screen columns with a higher number give way first (0 never does)."""

    title: str
    width: int
    right: bool = False
    keep: int = 0


CONVERSATION_COLUMNS = (
    Column("Proto", 5),
    Column("Address A", 22),
    Column("Port A", 6, True, 1),
    Column("Address B", 22),
    Column("Port B", 6, True, 1),
    Column("Packets", 8, True, 2),
    Column("Bytes", 9, True, 2),
    Column("Pkts A→B", 8, True, 6),
    Column("Bytes A→B", 9, True, 6),
    Column("Pkts B→A", 8, True, 6),
    Column("Bytes B→A", 9, True, 6),
    Column("Start", 10, True, 5),
    Column("Duration", 9, True, 3),
    Column("bit/s", 9, True, 4),
)

ENDPOINT_COLUMNS = (
    Column("Address", 28),
    Column("Packets", 8, True, 1),
    Column("Bytes", 9, True, 1),
    Column("Tx packets", 10, True, 3),
    Column("Tx bytes", 9, True, 3),
    Column("Rx packets", 10, True, 3),
    Column("Rx bytes", 9, True, 3),
)


def human_bytes(n: float) -> str:
    """Byte counts the way people read them: 1.5 MB, not 1536000."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover - the loop always returns


def human_rate(bps: float | None) -> str:
    if bps is None:
        return "—"
    for unit in ("", "k", "M", "G"):
        if bps < 1000 or unit == "G":
            return f"{bps:.0f}" if not unit else f"{bps:.1f}{unit}"
        bps /= 1000
    return f"{bps:.1f}G"  # pragma: no cover


def _address_key(addr: bytes, port: int) -> int:
    """IPv4 before IPv6, then the address's bytes, then the port, as one integer: a sort
    of 200k rows compares integers far faster than (length, bytes, port) tuples."""
    return len(addr) << 160 | int.from_bytes(addr, "big") << 16 | port


def _rate_key(c: Conversation) -> float:
    d = c.last_ns - c.first_ns
    return (c.bytes_ab + c.bytes_ba) * 8e9 / d if d > 0 else 0.0


#: sort keys by column title (numbers sort numerically, addresses by their bytes)
def _conv_keys() -> dict[str, Callable[[Conversation], object]]:
    return {
        "Proto": lambda c: (c.proto,),
        "Address A": lambda c: _address_key(c.a, c.port_a),
        "Port A": lambda c: c.port_a,
        "Address B": lambda c: _address_key(c.b, c.port_b),
        "Port B": lambda c: c.port_b,
        "Packets": lambda c: c.packets,
        "Bytes": lambda c: c.bytes,
        "Pkts A→B": lambda c: c.packets_ab,
        "Bytes A→B": lambda c: c.bytes_ab,
        "Pkts B→A": lambda c: c.packets_ba,
        "Bytes B→A": lambda c: c.bytes_ba,
        "Start": lambda c: c.first_ns,
        "Duration": lambda c: c.last_ns - c.first_ns,
        "bit/s": _rate_key,
    }


def _endpoint_keys() -> dict[str, Callable[[Endpoint], object]]:
    return {
        "Address": lambda e: _address_key(e.addr, 0),
        "Packets": lambda e: e.packets,
        "Bytes": lambda e: e.bytes,
        "Tx packets": lambda e: e.tx_packets,
        "Tx bytes": lambda e: e.tx_bytes,
        "Rx packets": lambda e: e.rx_packets,
        "Rx bytes": lambda e: e.rx_bytes,
    }


CONV_KEYS = _conv_keys()
ENDPOINT_KEYS = _endpoint_keys()


@dataclass
class Table:
    """Rows ready to show: cells as text, each with the filter expression Enter applies.

    ``cells`` and ``filters`` are formatted when a row is read (the visible ones),
    never for every row: 200k conversations are 2.8 million cell strings.
    """

    columns: tuple[Column, ...]
    cells: Sequence[tuple[str, ...]]
    filters: Sequence[str]
    sort_column: str
    descending: bool
    total: int  # rows before any cap
    note: str = ""


class LazyRows(Sequence[_T]):
    """``items`` in ``order``, each made into what is shown when it is read."""

    def __init__(self, items: Sequence[_I], order: Sequence[int], make: Callable[[_I], _T]) -> None:
        self._items = items
        self._order = order
        self._make = make

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> _T: ...
    @overload
    def __getitem__(self, i: slice) -> list[_T]: ...
    def __getitem__(self, i: int | slice) -> _T | list[_T]:
        items, make = self._items, self._make
        if isinstance(i, slice):
            return [make(items[k]) for k in self._order[i]]
        return make(items[self._order[i]])


def sorted_order(items: Sequence[_I], key: Callable[[_I], object], descending: bool) -> list[int]:
    """Positions of ``items`` sorted by ``key`` (stable, ties keep their order either way):
    the keys are computed once into a list and the positions sorted by it."""
    keys = [key(x) for x in items]
    return sorted(range(len(keys)), key=keys.__getitem__, reverse=descending)  # type: ignore[arg-type]


def _conversation_cells(c: Conversation, t0_ns: int) -> tuple[str, ...]:
    start = (c.first_ns - t0_ns) / 1e9
    return (
        c.proto_name,
        addr_text(c.a),
        str(c.port_a) if c.proto else "",
        addr_text(c.b),
        str(c.port_b) if c.proto else "",
        f"{c.packets:,}",
        human_bytes(c.bytes),
        f"{c.packets_ab:,}",
        human_bytes(c.bytes_ab),
        f"{c.packets_ba:,}",
        human_bytes(c.bytes_ba),
        f"{start:.6f}",
        f"{c.duration_s:.4f}",
        human_rate(c.bits_per_s),
    )


def conversation_table(
    convs: Iterable[Conversation],
    t0_ns: int,
    *,
    sort: str = "Bytes",
    descending: bool = True,
    limit: int | None = None,
) -> Table:
    """The conversations as rows, sorted by a column title (rows formatted when read)."""
    items = convs if isinstance(convs, list) else list(convs)
    key = CONV_KEYS.get(sort, CONV_KEYS["Bytes"])
    order = sorted_order(items, key, descending)
    total = len(order)
    if limit is not None:
        order = order[:limit]
    return Table(
        CONVERSATION_COLUMNS,
        LazyRows(items, order, lambda c: _conversation_cells(c, t0_ns)),
        LazyRows(items, order, Conversation.filter_expr),
        sort,
        descending,
        total,
    )


def _endpoint_cells(e: Endpoint) -> tuple[str, ...]:
    return (
        addr_text(e.addr),
        f"{e.packets:,}",
        human_bytes(e.bytes),
        f"{e.tx_packets:,}",
        human_bytes(e.tx_bytes),
        f"{e.rx_packets:,}",
        human_bytes(e.rx_bytes),
    )


def endpoint_table(
    endpoints: Iterable[Endpoint],
    *,
    sort: str = "Bytes",
    descending: bool = True,
    limit: int | None = None,
) -> Table:
    items = endpoints if isinstance(endpoints, list) else list(endpoints)
    key = ENDPOINT_KEYS.get(sort, ENDPOINT_KEYS["Bytes"])
    order = sorted_order(items, key, descending)
    total = len(order)
    if limit is not None:
        order = order[:limit]
    return Table(
        ENDPOINT_COLUMNS,
        LazyRows(items, order, _endpoint_cells),
        LazyRows(items, order, Endpoint.filter_expr),
        sort,
        descending,
        total,
    )


#: records the index takes between looks at the clock (catch_up_showing)
SLICE = 16384


def catch_up_showing(
    index: TrafficIndex, ring: Ring, every_s: float, progress: Progress | None = None
) -> Iterator[bool]:
    """Bring ``index`` up to the ring's newest record, yielding when rows should be shown:
    every ``every_s`` while it goes on (False) and once at the end (True), so a table of
    200k flows appears after ``every_s`` and fills in, instead of after the whole pass."""
    stop = ring.next_seq
    if progress is not None:
        progress.done = 0
        progress.total = max(0, stop - max(index.next_seq, ring.first_seq))
    shown = time.monotonic()
    while True:
        n = index.update(ring, stop=min(stop, index.next_seq + SLICE))
        if progress is not None:
            progress.advance(n)
        done = n == 0 or index.next_seq >= stop
        if done:
            yield True
            return
        if time.monotonic() - shown >= every_s:
            yield False
            shown = time.monotonic()


class SharedIndex:
    """One :class:`TrafficIndex` for the tools that need it, caught up under a lock.

    Conversations, endpoints and following a stream all read the same index
    from worker threads; the lock makes their passes take turns, and each
    pass only looks at what arrived since the previous one.
    """

    def __init__(self, linktypes: Sequence[int]) -> None:
        import threading

        self.index = TrafficIndex(linktypes)
        self.lock = threading.Lock()

    def catch_up(self, ring: Ring, progress: Progress | None = None) -> TrafficIndex:
        """Bring the index up to the ring's newest record; call with ``lock`` held."""
        self.index.update(ring, progress)
        return self.index
