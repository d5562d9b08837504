"""What every decoder module shares: the result types, the scratch state and the dispatch tables.

The tables are the seams between layers, in the spirit of scapy's ``bind_layers``:
one table per layer boundary (link type, ethertype, IP protocol, UDP port, TCP
port, GRE protocol).  A protocol module registers one :class:`Handler` per key at
import time; the handler carries both jobs -- ``walk``, the one reader of its header's
layout (the layer's name, where its header and payload start and end: what
:func:`~tapwatch.decode.layers`, the counters, and every other consumer read), and
``text``, the tcpdump words for :func:`~tapwatch.decode.summarize`, which takes those
boundaries from the frame's walk (``Acc.w``).  Adding a protocol is one handler and one
:func:`bind` call.

Modules never import each other's decoders: they call through these tables, so
the dependency graph stays a star around this module (and IP-in-GRE-in-UDP-in-IP
recursion needs no import cycle).
"""

from __future__ import annotations

import struct
from socket import AF_INET6, inet_ntop
from typing import Any, Final, NamedTuple, TypeVar, final

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # installed without mypy: nothing is compiled, the attributes mean nothing

    def mypyc_attr(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        return lambda cls: cls


class Summary(NamedTuple):
    """What the packet list, the headless printer and the counters need of a packet.

    ``text`` is the tcpdump ``-nn`` body, ``link`` the ``-e`` prefix (empty for raw
    IP, and empty when ``text`` already had to describe the link header because the
    payload could not be decoded).
    """

    proto: str
    src: str
    dst: str
    info: str
    layers: tuple[str, ...]
    malformed: bool
    text: str
    link: str


class Trunc(Exception):
    """Internal: the data ended inside a structure (maps to a ``[|proto]`` marker)."""


class Bad(Exception):
    """Internal: a structure is present but invalid (maps to ``[malformed ...]``)."""


#: A connection: (lower side's address, other address, lower port << 16 | other port).
FlowKey = tuple[bytes, bytes, int]
#: What tcpdump keeps of a connection: the first sequence numbers of its two sides.
FlowBase = tuple[int, int]


class TcpFlows:
    """Per-connection initial sequence numbers, as tcpdump keeps them for relative numbers.

    Keyed like tcpdump's ``tcp_seq_hash``: one entry for both directions of a
    connection, the direction with the lower port (then the lower address) first.
    Bounded: a capture with more connections than ``limit`` starts forgetting the
    oldest, where tcpdump would grow without end.

    ``seeds`` makes it a table for one *chunk* of a capture decoded apart from
    the packets before it (:mod:`tapwatch.decode.parallel`): a connection not yet
    seen in the chunk takes its numbers from ``seeds`` (what the packets before
    the chunk left), and the table records what it needed -- ``used``, the seed
    each such connection found (``None``: none) -- and ``synced``, the
    connections a SYN re-based within the chunk.  No connection is forgotten in
    that mode: the caller keeps the bound across chunks.
    """

    def __init__(self, limit: int = 1 << 20, seeds: dict[FlowKey, FlowBase] | None = None) -> None:
        self.table: dict[FlowKey, FlowBase] = {}
        self.limit = limit
        self.seeds = seeds
        self.used: dict[FlowKey, FlowBase | None] = {}
        self.synced: set[FlowKey] = set()

    def relative(
        self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, syn: bool
    ) -> tuple[int, int, int, int]:
        """``(seq, ack, thseq, thack)`` as tcpdump prints them for a segment carrying ACK."""
        rev = sport > dport or (sport == dport and src > dst)
        key = (dst, src, dport << 16 | sport) if rev else (src, dst, sport << 16 | dport)
        table = self.table
        got = table.get(key)
        if got is None and self.seeds is not None:
            got = self._seed(key, syn)
        if got is None or syn:
            if got is None and len(table) >= self.limit and self.seeds is None:
                del table[next(iter(table))]
            if syn and self.seeds is not None:
                self.synced.add(key)
            got = ((ack - 1) & 0xFFFFFFFF, seq) if rev else (seq, (ack - 1) & 0xFFFFFFFF)
            table[key] = got
            return seq, ack, got[0], got[1]
        thseq, thack = got
        if rev:
            return (seq - thack) & 0xFFFFFFFF, (ack - thseq) & 0xFFFFFFFF, thseq, thack
        return (seq - thseq) & 0xFFFFFFFF, (ack - thack) & 0xFFFFFFFF, thseq, thack

    def _seed(self, key: FlowKey, syn: bool) -> FlowBase | None:
        """Chunk mode, first sight of a connection: its numbers from before the chunk."""
        if syn:  # re-based here whatever came before
            return None
        assert self.seeds is not None
        got = self.seeds.get(key)
        self.used[key] = got
        if got is not None:
            self.table[key] = got
        return got

    def clear(self) -> None:
        self.table.clear()


class Cookies:
    """tcpdump's IKEv1 initiator cache: who started each exchange, by initiator cookie.

    A packet whose responder cookie is zero starts an exchange; later packets print ``I``
    when they come from that packet's source, ``R`` from its destination.  Twenty
    exchanges are remembered, the oldest overwritten first, as tcpdump's table is.
    """

    def __init__(self) -> None:
        self.slots: list[tuple[bytes, str, str]] = []
        self.next = 0

    def side(self, ck: bytes, first: bool, src: str, dst: str) -> str:
        """``I``, ``R`` or ``?`` for a packet with initiator cookie ``ck`` from ``src``."""
        if len(self.slots) < 20 and not any(ck):
            return "?"  # tcpdump's unused slots hold a zero cookie of no address family
        for cookie, ini, resp in self.slots:
            if cookie == ck:
                if src == ini:
                    return "I"
                return "R" if src == resp else "?"
        if not first:
            return "?"
        entry = (ck, src, dst)
        if len(self.slots) < 20:
            self.slots.append(entry)
        else:
            self.slots[self.next] = entry
        self.next = (self.next + 1) % 20
        return "I"


#: Layers decoded in one packet before encapsulations (IP-in-IP, GRE, VXLAN, ...) are no
#: longer followed.  The walk alone counts them (:meth:`Walk.full`); a text goes into an
#: inner layer only where the walk did (:meth:`Walk.full_before`), so the line stops
#: where the counters' layers stop.
MAX_LAYERS: Final = 16


#: the ``starts`` of every walk that keeps no offsets (never appended to)
_NO_STARTS: Final[list[int]] = []


#: Compiled, a walk is made and dropped for every packet counted: ``free_list_len=1`` keeps
#: the last one dropped for the next (no allocation), ``acyclic`` leaves it out of the
#: garbage collector (it holds lists, bytes and a TcpFlows, none of which refers back),
#: ``final`` makes its methods direct calls.  Together they took back more than half of what the
#: walk object had cost :func:`~tapwatch.decode.layers` (bench/RESULTS.md).
@final
@mypyc_attr(free_list_len=1, acyclic=True)
class Walk:
    """The one header walk of a frame: what every consumer reads of its headers.

    Every handler's ``walk`` fills one of these (see the contract in
    :mod:`tapwatch.decode`): ``names`` are the layers, outermost first (what
    :func:`~tapwatch.decode.layers` returns), ``starts[i]`` the byte offset where
    layer ``i`` starts in the frame (``-1``: not known), and the fields below
    describe the *first* network header and what it carries.  A dispatch through a
    table sets ``at``, the offset of the layer the next handler names, so a
    handler that knows nothing of offsets still gets its span.

    ``flows``: number the TCP segments the walk passes as the line printer does
    (:func:`~tapwatch.decode.classify.walk_records`); ``deep=False`` stops at the
    first transport header (what analysis and replay need) instead of following what
    its ports carry.
    """

    # The fields with a constant start are declared here rather than set in __init__: the
    # same for the compiled class, and the Python one (no compiler at install) then stores
    # five values per walk instead of twenty.
    at: int = -1
    #: the raw addresses of the innermost IP header so far (TCP's per-connection state)
    src: bytes = b""
    dst: bytes = b""
    #: the first network layer: its ethertype (as a link header names it) and offset
    ethertype: int = -1
    net: int = -1
    #: the first IP header: version (0: none; -1: the fields are not wanted, the counters'
    #: walk), offset, the protocol it carries (after IPv6's extension headers), the end of
    #: its datagram in the frame
    version: int = 0
    ip: int = -1
    proto: int = -1
    ip_end: int = -1
    #: where the first IP header's payload starts (-1: a later fragment, or cut short),
    #: and if that is TCP or UDP: its ports, where its payload starts (-1: no ports
    #: read), TCP's sequence number and flags
    l4: int = -1
    sport: int = 0
    dport: int = 0
    payload: int = -1
    seq: int = 0
    flags: int = 0
    #: stop at the first IP header once its version, offset and datagram end are set (the
    #: crossing key's walk, :func:`~tapwatch.decode.classify.first_ip`): nothing after it is
    #: walked, so ``proto`` is that header's own field (before IPv6's extension headers)
    shallow: bool = False
    #: layers counted before this walk's first: a :func:`fresh` walk of a header inside the
    #: frame counts on from the frame's count there, so it stops where the frame's would
    base: int = 0
    #: flat ``first, shift`` pairs, one per walk taken in by :meth:`adopt`: layer ``i`` from
    #: ``first`` on was counted ``i + shift`` by its own walk (None: nothing taken in)
    shifts: list[int] | None = None

    def __init__(
        self, flows: TcpFlows | None = None, deep: bool = True, spans: bool = True
    ) -> None:
        self.names: list[str] = []
        #: ``spans=False`` (the counters, analysis): no offsets kept, ``starts`` stays empty
        #: -- a second list per packet costs the counters' walk a tenth of its time
        self.keep = spans
        self.starts: list[int] = [] if spans else _NO_STARTS
        #: ``heads[i]``: where layer ``i``'s header ends -- where its payload starts -- as the
        #: header's own length fields say (IPv4's IHL, TCP's data offset, the end of IPv6's
        #: extension headers or of an MPLS label stack); it may lie past the captured bytes
        #: (consumers clip it); -1: not read.  Kept with ``starts`` (``spans=True``) only.
        self.heads: list[int] = [] if spans else _NO_STARTS
        #: the headers inside a layer, as flat ``start, end, layer`` triples (``layer``: its
        #: index in ``names``): IPv6's extension headers (fragment and AH included), each
        #: label of an MPLS stack
        self.inner: list[int] = [] if spans else _NO_STARTS
        #: where a layer ends by a length of its own, as flat ``layer, end`` pairs (``layer``:
        #: its index in ``names``): UDP's length (clipped to what the IP header claims), the
        #: message length of an L2TP header with its Length bit, an OpenVPN record over TCP;
        #: it may lie past the captured bytes (consumers clip it)
        self.ends: list[int] = [] if spans else _NO_STARTS
        self.flows = flows
        self.deep = deep

    def append(self, name: str) -> None:
        """A layer named where a table dispatched to it (its offset: ``at``, else unknown)."""
        self.names.append(name)
        if self.keep:
            self.starts.append(self.at)
            self.heads.append(-1)
        self.at = -1

    def add(self, name: str, off: int, head: int = -1) -> None:
        """A layer whose offset its walk knows (and ``head``: where its header ends, when
        known before the layer is added: one call, for the walks that keep no offsets)."""
        self.names.append(name)
        if self.keep:
            self.starts.append(off)
            self.heads.append(head)
        self.at = -1

    def head(self, end: int) -> None:
        """The header of the layer added last ends at ``end`` (see ``heads``)."""
        if self.keep:
            self.heads[len(self.heads) - 1] = end

    def part(self, start: int, end: int) -> None:
        """A header inside the layer added last spans ``start:end`` (see ``inner``)."""
        if self.keep:
            self.inner.append(start)
            self.inner.append(end)
            self.inner.append(len(self.names) - 1)

    def extent(self, end: int) -> None:
        """The layer added last ends at ``end``, as its own length field says (see ``ends``)."""
        if self.keep:
            self.ends.append(len(self.names) - 1)
            self.ends.append(end)

    def layer_end(self, off: int, name: str) -> int:
        """Where the layer ``name`` that starts at ``off`` ends by its own length field
        (``ends``); -1 when the walk read no such length there."""
        ends = self.ends
        for i in range(0, len(ends), 2):
            k = ends[i]
            if self.starts[k] == off and self.names[k] == name:
                return ends[i + 1]
        return -1

    def header_end(self, off: int, name: str) -> int:
        """Where the header of the layer ``name`` that starts at ``off`` ends (its ``heads``
        entry); -1 when the walk read no such header."""
        starts = self.starts
        for i in range(len(starts) - 1, -1, -1):
            if starts[i] == off and self.heads[i] >= 0 and self.names[i] == name:
                return self.heads[i]
        return -1

    def has(self, off: int, name: str) -> bool:
        """The walk went into a layer ``name`` starting at ``off``."""
        starts = self.starts
        for i in range(len(starts) - 1, -1, -1):
            if starts[i] == off and self.names[i] == name:
                return True
        return False

    def full(self) -> bool:
        """The walk has counted MAX_LAYERS layers: it goes into nothing the layer it named
        last carries (every walk asks this before walking an encapsulated packet)."""
        return self.base + len(self.names) >= MAX_LAYERS

    def before(self, p: int) -> int:
        """The layers the walk had counted when it came to offset ``p``: the count with the
        last layer that starts before ``p`` (and any of unknown offset named right after it);
        ``base`` when none does."""
        starts = self.starts
        n = len(starts)
        for i in range(n - 1, -1, -1):
            s = starts[i]
            if 0 <= s < p:
                while i + 1 < n and starts[i + 1] < 0:
                    i += 1
                c = i + 1 + self.base
                sh = self.shifts
                if sh is not None:
                    for j in range(0, len(sh), 2):
                        if sh[j] <= i:
                            c = i + 1 + sh[j + 1]
                return c
        return self.base

    def full_before(self, p: int) -> bool:
        """The walk's :meth:`full` where it came to ``p``: what a text asks before going into
        the packet a layer carries at ``p``, so that it goes in exactly where the walk did
        (or, where the walk goes into no such packet by design -- an ICMP error's quoted
        packet -- where a walk from there would)."""
        return self.before(p) >= MAX_LAYERS

    def adopt(self, other: Walk) -> None:
        """Take in ``other``: a walk of a header this one did not reach (one an ICMP error
        quotes), made from there with the same handlers' ``walk``, so that lookups by
        offset find its layers too (its first-IP fields are not taken)."""
        if not self.keep:
            return
        base = len(self.names)
        if self.shifts is None:
            self.shifts = []
        self.shifts.append(base)
        self.shifts.append(other.base - base)
        self.names.extend(other.names)
        self.starts.extend(other.starts)
        self.heads.extend(other.heads)
        inner = other.inner
        for i in range(0, len(inner), 3):
            self.inner.append(inner[i])
            self.inner.append(inner[i + 1])
            self.inner.append(inner[i + 2] + base)
        ends = other.ends
        for i in range(0, len(ends), 2):
            self.ends.append(ends[i] + base)
            self.ends.append(ends[i + 1])

    def part_end(self, off: int, name: str) -> int:
        """Where the header that starts at ``off`` inside a layer ``name`` ends (``inner``:
        IPv6's extension headers, MPLS's labels); -1 when the walk read none there."""
        inner = self.inner
        for i in range(0, len(inner), 3):
            if inner[i] == off and self.names[inner[i + 2]] == name:
                return inner[i + 1]
        return -1

    def __len__(self) -> int:
        return len(self.names)

    def ethernet_ii(self) -> bool:
        """The first network layer's ethertype is a link header's own type field (after any
        VLAN tags), not one an 802.2 LLC/SNAP header carries: what a reply copies.  Needs
        a walk that kept its offsets (``spans=True``)."""
        if self.net < 0 or not self.keep:
            return False
        i = self.starts.index(self.net) if self.net in self.starts else 0
        return i == 0 or self.names[i - 1] != "LLC"

    def spans(self, size: int) -> list[tuple[str, int, int]]:
        """``(layer, start, end)`` per layer whose offset is known: a layer ends where the
        next one with a known offset starts (the last at ``size``, the frame's length)."""
        out: list[tuple[str, int, int]] = []
        nxt = size
        for i in range(len(self.names) - 1, -1, -1):
            st = self.starts[i]
            if st < 0:
                continue
            out.append((self.names[i], st, nxt if nxt >= st else st))
            nxt = st
        out.reverse()
        return out


#: An accumulator's walk until an entry point sets the frame's (no layer in it).
_UNWALKED: Final = Walk(None, True, False)


def fresh(off: int, frame: Walk | None = None) -> Walk:
    """A walk to run from a header the frame's walk did not reach (the packet an ICMP error
    quotes, a handler the text tried that the walk did not pick): a text reads that header's
    boundaries from the same handler's walk, run from there with this, never from a length
    field of its own (:meth:`Acc.adopt` takes it in).  It counts on from ``frame``'s count
    at ``off`` (:meth:`Walk.before`), so it stops at MAX_LAYERS where the frame's would
    (no ``frame``: from none, for a reader of that one header alone)."""
    sub = Walk(None, True, True)
    sub.at = off
    if frame is not None:
        sub.base = frame.before(off)
    return sub


class Acc:
    """Mutable scratch state of one summarize() call (cheaper than returning tuples).

    ``flows`` is set by the stateful line printer (relative TCP numbers);
    ``lean`` leaves out what only the packet list shows; ``verbose`` asks for
    tcpdump's ``-v``/``-vv`` text (several lines per packet); ``strict`` asks for
    tcpdump's exact text where tapwatch decodes more than tcpdump 4.99 does
    (WireGuard, OpenVPN, ERSPAN) or lays it out differently (VXLAN's inner frame
    on a second line).
    """

    def __init__(
        self,
        flows: TcpFlows | None = None,
        strict: bool = False,
        lean: bool = False,
        verbose: int = 0,
    ) -> None:
        #: the frame's one header walk (:func:`~tapwatch.decode.classify.walk`, offsets kept):
        #: where the text finds its layers (``Summary.layers``) and its headers' boundaries.
        #: Set by the entry points in :mod:`~tapwatch.decode.summary` before the link
        #: handler's ``text`` runs.
        self.w: Walk = _UNWALKED
        self.src = ""
        self.dst = ""
        self.info = ""
        self.bad = False
        self.flows = flows
        self.strict = strict
        #: only ``text`` is wanted (the line printer): skip the info column's wording and
        #: the ``-e`` link text where they cost most (Ethernet, TCP, DNS).
        self.lean = lean
        #: hand a TCP payload to its application's printer (False: TCP's words only, which
        #: Wireshark shows for a retransmitted or out-of-order segment)
        self.apps = True
        #: tcpdump's -v (1) or -vv (2): header fields, checksum verdicts, payload details
        self.verbose = verbose
        #: the TCP payload length the IP header claims (what tcpdump's text printers are
        #: given), when more than was captured; -1 otherwise
        self.claimed = -1
        #: bytes of the frame the capture left out (its snapshot length): headers may claim
        #: that much beyond the data without the packet being cut short on the wire
        self.cut = 0
        #: the capture's IKEv1 initiator cache (the line printer's); None: a packet alone
        self.cookies: Cookies | None = None
        #: the TTL or hop limit of the innermost IP header so far (VRRP prints it when not 255)
        self.ttl = -1
        #: a line for the packet list (:func:`~tapwatch.decode.summary.summarize`): a packet's
        #: run of repeated items (OpenFlow messages, L2TP AVPs) stops after MAX_BRIEF_ITEMS.
        #: A 64 KB segment of 8-byte OpenFlow messages made a 400 KB line in 150-210 ms, on
        #: the UI thread, kept twice (text and info) in the session's summary cache.
        self.brief = False

    def adopt(self, sub: Walk) -> Walk:
        """Take ``sub`` (a :func:`fresh` walk, run) into the frame's walk, so that a later
        lookup of what that header carries finds it there (the entry points took the line's
        layers before the text ran: these are no layers of the frame); returns ``sub``, for
        the text to read that header's boundaries from.  A text run without the frame's
        walk (no entry point: ``w`` keeps nothing) takes ``sub`` as its walk, so the walks it
        makes after count on from it and the nesting bound holds there too."""
        if self.w.keep:
            self.w.adopt(sub)
        else:
            self.w = sub
        return sub


#: The path of addresses a transport header is printed under:
#: (family word, truncation prefix, source, destination, extension-header text),
#: plus the raw source and destination addresses (for TCP's per-connection state).
Ctx = tuple[str, str, str, str, str, bytes, bytes]

#: Repeated items a packet-list line describes (see ``Acc.brief``); the printers say all.
MAX_BRIEF_ITEMS: Final = 32


class Handler:
    """What every handler has: a layer name, and its place (``prio``: tcpdump's precedence).

    One subclass per layer boundary fixes the signatures of its two jobs --
    ``walk``, the header's layout for every consumer, and ``text``, the words
    summarize prints, read at the boundaries the walk found -- and each protocol
    subclasses it with both methods.  Typed methods (rather than callables in a table) let
    the compiled decoder call the next layer directly instead of through
    Python's calling convention.  A ``text`` returns ``None`` to say "not mine
    after all" where the key alone is not proof (an application protocol on
    its well-known port).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.prio = 0  # set by bind(): its place in PRECEDENCE, lower first when both ports match


class LinkHandler(Handler):
    """A link type: the whole frame."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        """``(-e link text, body)``."""
        raise NotImplementedError

    def walk(self, d: bytes, out: Walk) -> None:
        raise NotImplementedError


class EtherHandler(Handler):
    """An ethertype: what follows a link header from ``off``."""

    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        raise NotImplementedError

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        raise NotImplementedError


class IpHandler(Handler):
    """An IP protocol: ``d[off:end]`` is what was captured of the payload, ``clen`` the
    length the IP header claims, ``ctx`` the addresses it is printed under, ``frag``
    true for the first fragment of a fragmented datagram."""

    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        raise NotImplementedError

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        raise NotImplementedError


class PortHandler(Handler):
    """What a UDP or TCP port carries: ``d[off:end]``, ``length`` bytes by the headers.

    ``tunnel``: it may carry packets (so TCP segments the printer numbers).
    """

    def __init__(self, name: str, tunnel: bool = False) -> None:
        super().__init__(name)
        self.tunnel = tunnel

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        raise NotImplementedError

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        raise NotImplementedError


class LayerOnly(PortHandler):
    """A protocol recognised by its port alone: the layer name and nothing to decode."""

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append(self.name)


LINKTYPES: Final[dict[int, LinkHandler]] = {}
ETHERTYPES: Final[dict[int, EtherHandler]] = {}
IP_PROTOS: Final[dict[int, IpHandler]] = {}
UDP_PORTS: Final[dict[int, PortHandler]] = {}
#: as UDP; ``length`` is the segment's payload length
TCP_PORTS: Final[dict[int, PortHandler]] = {}
#: UDP handlers tried, in order, on payloads no port handler claimed (WireGuard runs on any
#: port); their ``text`` returns ``None`` unless the payload has the protocol's shape.
UDP_HEURISTICS: Final[list[PortHandler]] = []
#: as UDP_HEURISTICS, for TCP segments whose ports no handler is bound to (TLS's record
#: header on any port, as Wireshark's TLS heuristic takes it)
TCP_HEURISTICS: Final[list[PortHandler]] = []

H = TypeVar("H", bound=Handler)


#: Which handler a segment is given first when both its ports are bound (and which keeps a
#: key two handlers are bound to): tcpdump's order of its ``udp_print``/``tcp_print``
#: tests.  A name's place here is its ``prio`` (lower first); a handler not named here
#: comes after all of them (``LAST``), and equal places are ordered by name, then the
#: lower port first -- never by which module was imported first.
PRECEDENCE: Final = (
    "DNS",
    "DHCP",
    "ISAKMP",
    "TFTP",
    "RIP",
    "SNMP",
    "RADIUS",
    "DHCPv6",
    "Telnet",
    "SMTP",
    "SSH",
    "FTP",
    "HTTP",
    "RTSP",
    "NTP",
    "Syslog",
    "VXLAN",
    "Geneve",
    "L2TP",
    "WireGuard",
    "OpenVPN",
    "BCM-LI",
    "BFD",
    "LDP",
    "BGP",
    "PPTP",
    "LISP",
    "VXLAN-GPE",
    "OpenFlow",
)
#: the place of a handler whose name :data:`PRECEDENCE` does not list
LAST: Final = len(PRECEDENCE)
#: the place of a stand-in that only names a layer: any decoding handler for its key wins
FALLBACK: Final = 1 << 30
_RANK: Final = {name: i for i, name in enumerate(PRECEDENCE)}


def first(a: Handler, b: Handler, ka: int, kb: int) -> bool:
    """Whether ``a`` (bound to key ``ka``) goes before ``b`` (key ``kb``): lower ``prio``,
    then name, then key; the same answer whatever order they were bound in."""
    if a.prio != b.prio:
        return a.prio < b.prio
    if a.name != b.name:
        return a.name < b.name
    if ka != kb:
        return ka < kb
    return f"{type(a).__module__}.{type(a).__qualname__}" < (
        f"{type(b).__module__}.{type(b).__qualname__}"
    )


def bind(table: dict[int, H], keys: tuple[int, ...], handler: H, prio: int = -1) -> H:
    """Register ``handler`` for every key (one protocol may own several ports or types).

    ``prio`` is its place (lower first); ``-1``: its name's place in :data:`PRECEDENCE`.
    A key already bound stays with the handler that goes :func:`first`; two handlers no
    rule tells apart (one name, place and class) on one key are a mistake, said at import.
    """
    handler.prio = prio if prio >= 0 else _RANK.get(handler.name, LAST)
    for k in keys:
        old = table.get(k)
        if old is None or old is handler or first(handler, old, k, k):
            table[k] = handler
        elif not first(old, handler, k, k):  # no rule tells them apart
            raise ValueError(f"{handler.name}: key {k} is bound twice to the same handler class")
    return handler


def by_port(
    table: dict[int, PortHandler], sport: int, dport: int
) -> tuple[PortHandler | None, PortHandler | None]:
    """The handlers for a segment's two ports, the one that goes :func:`first` first."""
    hs = table.get(sport)
    hd = table.get(dport)
    if hs is None:
        return hd, None
    if hd is None or hd is hs:
        return hs, None
    if hd.prio != hs.prio:
        return (hd, hs) if hd.prio < hs.prio else (hs, hd)
    return (hs, hd) if first(hs, hd, sport, dport) else (hd, hs)


# --------------------------------------------------------------------------- helpers

S_HH: Final = struct.Struct("!HH")
S_H: Final = struct.Struct("!H")
S_I: Final = struct.Struct("!I")
S_II: Final = struct.Struct("!II")


#: Address text by address bytes.  A capture names the same few addresses over and over,
#: and a dictionary hit costs a fraction of formatting them again.  Bounded: emptied when full.
_IP4_TEXT: Final[dict[bytes, str]] = {}
_IP6_TEXT: Final[dict[bytes, str]] = {}
_MAC_TEXT: Final[dict[bytes, str]] = {}
_TEXT_CACHE_MAX: Final = 4096


def ip4(b: bytes) -> str:
    """Dotted-quad text of a 4-byte IPv4 address."""
    s = _IP4_TEXT.get(b)
    if s is None:
        if len(_IP4_TEXT) >= _TEXT_CACHE_MAX:
            _IP4_TEXT.clear()
        s = f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"
        _IP4_TEXT[b] = s
    return s


def ntop6(b: bytes) -> str:
    """RFC 5952 text of a 16-byte IPv6 address."""
    s = _IP6_TEXT.get(b)
    if s is None:
        if len(_IP6_TEXT) >= _TEXT_CACHE_MAX:
            _IP6_TEXT.clear()
        s = inet_ntop(AF_INET6, b)
        _IP6_TEXT[b] = s
    return s


def mac(b: bytes) -> str:
    """``aa:bb:cc:dd:ee:ff`` (any length: hardware addresses of other sizes too)."""
    s = _MAC_TEXT.get(b)
    if s is None:
        if len(_MAC_TEXT) >= _TEXT_CACHE_MAX:
            _MAC_TEXT.clear()
        s = b.hex(":")
        _MAC_TEXT[b] = s
    return s


def printable_ascii(b: bytes) -> str:
    """Packet bytes as text with every byte outside ``' '..'~'`` shown as ``.``, as tcpdump."""
    s = b.decode("latin-1")
    if s.isascii() and s.isprintable():
        return s
    return "".join(c if " " <= c <= "~" else "." for c in s)


#: bytes of a data field Wireshark shows before its ellipsis
SHOWN_DATA: Final = 36
#: the escapes of Wireshark's ``format_text`` for the C control characters it names
_WS_ESCAPES: Final = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


def hex_value(b: bytes) -> str:
    """A bytes field's value as tshark shows it: hex, cut with an ellipsis past 36 bytes."""
    return b.hex() if len(b) <= SHOWN_DATA else b[:SHOWN_DATA].hex() + "…"


def ws_text(b: bytes) -> str:
    """A string from a packet as Wireshark's ``format_text`` shows it in the Info column: UTF-8
    (a byte that is not, U+FFFD), a control character escaped (``\\n``, ``\\033``).  The
    list escapes whatever it shows again; this is tshark's wording, not the safety."""
    s = b.decode("utf-8", "replace")
    if s.isprintable():
        return s
    return "".join(
        c if c.isprintable() or ord(c) > 0x7F else _WS_ESCAPES.get(ord(c)) or f"\\{ord(c):03o}"
        for c in s
    )


def head(ctx: Ctx, sport: int, dport: int) -> str:
    """``IP a.1 > b.2: `` -- or, after IPv6 extension headers, ``... HBH 1 > 2: `` like tcpdump."""
    if ctx[4]:
        return f"{ctx[0]} {ctx[1]}{ctx[2]} > {ctx[3]}: {ctx[4]}{sport} > {dport}: "
    return f"{ctx[0]} {ctx[1]}{ctx[2]}.{sport} > {ctx[3]}.{dport}: "


def head_noport(ctx: Ctx) -> str:
    """``IP a > b: `` (plus any IPv6 extension-header text)."""
    return f"{ctx[0]} {ctx[1]}{ctx[2]} > {ctx[3]}: {ctx[4]}"


def ethertype_text(d: bytes, off: int, t: int, a: Acc) -> str | None:
    """Decode what an ethertype announces; ``None`` means "unknown, show the link header"."""
    h = ETHERTYPES.get(t)
    if h is not None:
        return h.text(d, off, a)
    a.info = f"Ethertype 0x{t:04x}"
    return None


def ethertype_walk(d: bytes, off: int, t: int, out: Walk) -> None:
    if out.net < 0:
        out.ethertype = t
        out.net = off
    out.at = off
    h = ETHERTYPES.get(t)
    if h is not None:
        h.walk(d, off, out)
    else:
        out.append("other")


def bits(names: tuple[tuple[int, str], ...], v: int, none: str = "none") -> str:
    """tcpdump's ``bittok2str``: the names of the bits set in ``v`` (``none`` if no name fits)."""
    out = ", ".join(n for bit, n in names if v & bit == bit)
    return out or none


def need(p: int, n: int, end: int) -> None:
    """Raise :class:`Trunc` unless ``n`` bytes from ``p`` were captured (tcpdump's ``GET_*``)."""
    if p + n > end:
        raise Trunc


def u16(d: bytes, p: int) -> int:
    return d[p] << 8 | d[p + 1]


def u32(d: bytes, p: int) -> int:
    return d[p] << 24 | d[p + 1] << 16 | d[p + 2] << 8 | d[p + 3]


def ip_text(d: bytes, off: int, end: int, a: Acc) -> str:
    """A bare IP packet (version from its first nibble), as tun devices and tunnels carry."""
    v = d[off] >> 4 if off < end else -1
    if v == 4 or v == 6:
        h = ETHERTYPES[0x0800 if v == 4 else 0x86DD]
        return h.text(d if end == len(d) else d[:end], off, a) or ""
    a.bad = True
    return "[|ip]" if v < 0 else f"[malformed: not IP (version {v})], length {end - off}"


def ip_walk(d: bytes, off: int, end: int, out: Walk) -> None:
    v = d[off] >> 4 if off < end else -1
    out.at = off
    if v == 4 or v == 6:
        ETHERTYPES[0x0800 if v == 4 else 0x86DD].walk(d if end == len(d) else d[:end], off, out)
    else:
        out.append("other")
