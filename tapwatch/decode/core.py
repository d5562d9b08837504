"""What every decoder module shares: the result types, the scratch state and the dispatch tables.

The tables are the seams between layers, in the spirit of scapy's ``bind_layers``:
one table per layer boundary (link type, ethertype, IP protocol, UDP port, TCP
port, GRE protocol).  A protocol module registers one :class:`Handler` per key at
import time; the handler carries both jobs that walk a packet -- the tcpdump text
(for :func:`~tapwatch.decode.summarize`) and the bare layer names (for
:func:`~tapwatch.decode.layers`, which the counters call for every packet).  Adding
a protocol is one handler and one :func:`bind` call.

Modules never import each other's decoders: they call through these tables, so
the dependency graph stays a star around this module (and IP-in-GRE-in-UDP-in-IP
recursion needs no import cycle).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from socket import AF_INET6, inet_ntop
from typing import Any, Final, NamedTuple


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


class TcpFlows:
    """Per-connection initial sequence numbers, as tcpdump keeps them for relative numbers.

    Keyed like tcpdump's ``tcp_seq_hash``: one entry for both directions of a
    connection, the direction with the lower port (then the lower address) first.
    Bounded: a capture with more connections than ``limit`` starts forgetting the
    oldest, where tcpdump would grow without end.
    """

    def __init__(self, limit: int = 1 << 20) -> None:
        self.table: dict[bytes, tuple[int, int]] = {}
        self.limit = limit

    def relative(
        self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, syn: bool
    ) -> tuple[int, int, int, int]:
        """``(seq, ack, thseq, thack)`` as tcpdump prints them for a segment carrying ACK."""
        rev = sport > dport or (sport == dport and src > dst)
        if rev:
            key = dst + src + struct.pack("!HH", dport, sport)
        else:
            key = src + dst + struct.pack("!HH", sport, dport)
        table = self.table
        got = table.get(key)
        if got is None or syn:
            if got is None and len(table) >= self.limit:
                del table[next(iter(table))]
            got = ((ack - 1) & 0xFFFFFFFF, seq) if rev else (seq, (ack - 1) & 0xFFFFFFFF)
            table[key] = got
            return seq, ack, got[0], got[1]
        thseq, thack = got
        if rev:
            return (seq - thack) & 0xFFFFFFFF, (ack - thseq) & 0xFFFFFFFF, thseq, thack
        return (seq - thseq) & 0xFFFFFFFF, (ack - thack) & 0xFFFFFFFF, thseq, thack

    def clear(self) -> None:
        self.table.clear()


class Acc:
    """Mutable scratch state of one summarize() call (cheaper than returning tuples).

    ``flows`` is set by the stateful line printer (relative TCP numbers);
    ``lean`` leaves out what only the packet list shows; ``strict`` asks for
    tcpdump's exact text where tapwatch decodes more than tcpdump 4.99 does
    (WireGuard, OpenVPN, ERSPAN) or lays it out differently (VXLAN's inner frame
    on a second line).
    """

    def __init__(self, flows: TcpFlows | None = None, strict: bool = False,
                 lean: bool = False) -> None:
        self.layers: list[str] = []
        self.src = ""
        self.dst = ""
        self.info = ""
        self.bad = False
        self.flows = flows
        self.strict = strict
        #: only ``text`` is wanted (the line printer): skip the info column's wording and
        #: the ``-e`` link text where they cost most (Ethernet, TCP, DNS).
        self.lean = lean


#: The path of addresses a transport header is printed under:
#: (family word, truncation prefix, source, destination, extension-header text),
#: plus the raw source and destination addresses (for TCP's per-connection state).
Ctx = tuple[str, str, str, str, str, bytes, bytes]

#: Layers decoded in one packet before encapsulations (IP-in-IP, GRE, VXLAN, ...) are no
#: longer followed.  summarize and layers apply the same rule to the same list, so they agree.
MAX_LAYERS: Final = 16


class Handler:
    """One protocol's two walks: ``text`` for summarize, ``walk`` for layers.

    The signatures depend on the boundary (see the ``*Text``/``*Walk`` aliases);
    a handler's ``text`` returns ``None`` to say "not mine after all" where the key
    alone is not proof (an application protocol on its well-known port).
    """

    def __init__(self, name: str, text: Callable[..., Any],
                 walk: Callable[..., None]) -> None:
        self.name = name
        self.text = text
        self.walk = walk
        self.prio = 0  # set by bind(): the earlier bound wins when both ports match


_bound: list[int] = [0]


# link type -> text(d, a) -> (link, text); walk(d, out)
LINKTYPES: dict[int, Handler] = {}
# ethertype -> text(d, off, a) -> str | None; walk(d, off, out)
ETHERTYPES: dict[int, Handler] = {}
# IP protocol -> text(d, off, end, clen, a, ctx, frag) -> str | None;
#                walk(d, off, end, clen, out, frag)
IP_PROTOS: dict[int, Handler] = {}
# UDP port -> text(d, off, end, length, a, sport, dport) -> str | None;
#             walk(d, off, end, out, sport, dport)
UDP_PORTS: dict[int, Handler] = {}
# TCP port -> as UDP; ``length`` is the segment's payload length
TCP_PORTS: dict[int, Handler] = {}
#: UDP handlers tried, in order, on payloads no port handler claimed (WireGuard runs on any
#: port); their ``text`` returns ``None`` unless the payload has the protocol's shape.
UDP_HEURISTICS: list[Handler] = []


def bind(table: dict[int, Handler], keys: tuple[int, ...], handler: Handler) -> None:
    """Register ``handler`` for every key (one protocol may own several ports or types)."""
    _bound[0] += 1
    handler.prio = _bound[0]
    for k in keys:
        table[k] = handler


def by_port(table: dict[int, Handler], sport: int, dport: int) -> tuple[Handler | None,
                                                                          Handler | None]:
    """The handlers for a segment's two ports, the one bound first (tcpdump's order) first."""
    hs = table.get(sport)
    hd = table.get(dport)
    if hs is None:
        return hd, None
    if hd is None or hd is hs:
        return hs, None
    if hd.prio < hs.prio:
        return hd, hs
    return hs, hd


# --------------------------------------------------------------------------- helpers

S_IP4 = struct.Struct("!BBHHHBBH4s4s")
S_IP6 = struct.Struct("!HBB16s16s")
S_UDP = struct.Struct("!HHH")
S_TCP = struct.Struct("!HHIIHHHH")
S_HH = struct.Struct("!HH")
S_H = struct.Struct("!H")
S_I = struct.Struct("!I")
S_II = struct.Struct("!II")


def ntop6(b: bytes) -> str:
    return inet_ntop(AF_INET6, b)


def printable_ascii(b: bytes) -> str:
    """Packet bytes as text with every byte outside ``' '..'~'`` shown as ``.``, as tcpdump."""
    s = b.decode("latin-1")
    if s.isascii() and s.isprintable():
        return s
    return "".join(c if " " <= c <= "~" else "." for c in s)


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
    a.layers.append("other")
    a.info = f"Ethertype 0x{t:04x}"
    return None


def ethertype_walk(d: bytes, off: int, t: int, out: list[str]) -> None:
    h = ETHERTYPES.get(t)
    if h is not None:
        h.walk(d, off, out)
    else:
        out.append("other")


def ip_text(d: bytes, off: int, end: int, a: Acc) -> str:
    """A bare IP packet (version from its first nibble), as tun devices and tunnels carry."""
    v = d[off] >> 4 if off < end else -1
    if v == 4 or v == 6:
        h = ETHERTYPES[0x0800 if v == 4 else 0x86DD]
        return h.text(d if end == len(d) else d[:end], off, a) or ""
    a.layers.append("other")
    a.bad = True
    return "[|ip]" if v < 0 else f"[malformed: not IP (version {v})], length {end - off}"


def ip_walk(d: bytes, off: int, end: int, out: list[str]) -> None:
    v = d[off] >> 4 if off < end else -1
    if v == 4 or v == 6:
        ETHERTYPES[0x0800 if v == 4 else 0x86DD].walk(d if end == len(d) else d[:end], off, out)
    else:
        out.append("other")
