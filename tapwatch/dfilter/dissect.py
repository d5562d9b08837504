"""The struct-level walk that finds a packet's layers, and the helpers protocols use to say
what their fields are.

Each protocol module (``tapwatch.dfilter.protocols``) binds a walker into one of the
dispatch tables below -- link type, ethertype, IP protocol, UDP and TCP port, UDP
heuristics -- and registers its fields.  A walker gets the packet and the span its
protocol owns, adds its :class:`~tapwatch.dfilter.packet.Layer` and hands the payload
on through the tables.  Which protocol a port or heuristic leads to follows Wireshark's
choices (not tcpdump's), since the reference for what a filter selects is tshark; those
choices are one explicit table here (:data:`PORT_CHOICES`, :data:`HEURISTIC_ORDER`), never
the order the protocol modules happen to be imported in: a module binds its walker by
the protocol's name (:func:`bind_ports`, :func:`bind_heuristic`) and gets the ports the
table gives that name.  Every other key (link type, ethertype, IP protocol) is bound
with :func:`bind`, once.

Nothing here may raise on hostile bytes: a walker that meets a short header stops,
and :func:`walk` catches whatever slips through.  Layers are bounded
(:data:`MAX_LAYERS`), so a packet of nested tunnels costs a bounded walk.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from tapwatch.dfilter import registry
from tapwatch.dfilter.packet import Layer, Packet

if TYPE_CHECKING:
    from tapwatch.decode.core import Walk

#: Layers one packet may have before encapsulations are no longer followed.
MAX_LAYERS: Final = 24

Walker = Callable[[Packet, bytes, int, int], None]

LINKTYPES: Final[dict[int, Walker]] = {}
ETHERTYPES: Final[dict[int, Walker]] = {}
IP_PROTOS: Final[dict[int, Walker]] = {}
UDP_PORTS: Final[dict[int, Walker]] = {}
TCP_PORTS: Final[dict[int, Walker]] = {}
#: Tried in order on UDP payloads no port claimed: a walker returning True took it.
UDP_HEURISTICS: Final[list[Callable[[Packet, bytes, int, int], bool]]] = []
#: Which protocol each UDP and TCP port leads to: Wireshark's choice (tshark 4.0's default
#: port preferences), written in this one place.  A segment whose two ports are both here
#: goes to the lower port's protocol first, as Wireshark tries the lower port first
#: (``decode_udp_ports``/``decode_tcp_ports``); tcpdump's choices, which the one-line
#: decoder follows, are :data:`tapwatch.decode.core.PRECEDENCE`.
PORT_CHOICES: Final[dict[str, dict[int, str]]] = {
    "udp": {
        53: "dns",
        67: "dhcp",
        68: "dhcp",
        1194: "openvpn",
        1701: "l2tp",
        4500: "udpencap",
        4789: "vxlan",
        5353: "mdns",
        6081: "geneve",
    },
    "tcp": {
        1194: "openvpn",
    },
}
#: The UDP heuristics, in the order they are tried on a payload no port claimed.
HEURISTIC_ORDER: Final = ("wg",)
_HEURISTIC_BY_NAME: Final[dict[str, Callable[[Packet, bytes, int, int], bool]]] = {}

#: Walkers (and heuristics) that add only their own layers and never hand a payload on
#: through the tables: nothing after them is a link, network or transport layer, so the
#: header fast path (:mod:`tapwatch.dfilter.fastpath`) need not follow them.
LEAVES: Final[set[Callable[..., Any]]] = set()

_F = TypeVar("_F", bound=Callable[..., Any])


def leaf(fn: _F) -> _F:
    """Mark ``fn`` a leaf walker (see :data:`LEAVES`); a walker not marked is assumed to nest."""
    LEAVES.add(fn)
    return fn


def walk(pkt: Packet) -> None:
    """Fill ``pkt``'s layers (after the frame layer :class:`Packet` adds itself)."""
    fn = LINKTYPES.get(pkt.linktype, _ip_where_the_decoder_finds_it)
    with contextlib.suppress(Exception):  # hostile bytes: keep the layers found, never raise
        fn(pkt, pkt.data, 0, len(pkt.data))


def _ip_where_the_decoder_finds_it(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """A link type no walker here knows (PPP, Cisco HDLC, Frame Relay, IPNET, ARCNET...):
    the IP packet where the one-line decoder's walk finds it, so ``ip``, ``tcp`` and the
    rest select in such a capture what tshark selects (the link's own header is not
    filterable); they had selected nothing, though every line showed the IP packet."""
    from tapwatch.decode import first_ip  # the decoder loads only for these frames

    version, start, _end = first_ip(d, pkt.linktype)
    if version:
        ethertype(pkt, d, off + start, end, 0x0800 if version == 4 else 0x86DD)


Packet.dissector = walk


def room(pkt: Packet) -> bool:
    """Whether another layer may be added (the nesting bound; the walk has begun)."""
    layers = pkt._layers
    return layers is None or len(layers) < MAX_LAYERS


def ethertype(pkt: Packet, d: bytes, off: int, end: int, etype: int) -> None:
    fn = ETHERTYPES.get(etype)
    if fn is not None and off < end and room(pkt):
        fn(pkt, d, off, end)


def ip_any(pkt: Packet, d: bytes, off: int, end: int) -> None:
    """A bare IP packet, its version from the first nibble."""
    if off < end:
        v = d[off] >> 4
        if v == 4:
            ethertype(pkt, d, off, end, 0x0800)
        elif v == 6:
            ethertype(pkt, d, off, end, 0x86DD)


def walked(
    pkt: Packet, d: bytes, off: int, end: int, name: str, etype: int, proto: int = -1
) -> Walk:
    """The decoder's header walk (:func:`tapwatch.decode.walk`) that read the header of the
    layer ``name`` (the decoder's names: ``Ethernet``, ``IPv4``, ``MPLS`` ...) at ``d[off]``.

    Where a link, IP or MPLS header ends and the next layer begins is read there, never
    again here: the frame's walk, made once a packet, when ``d`` is the frame and it reached
    that header; else the walk from that header on (``etype``: the ethertype announcing it,
    :data:`tapwatch.decode.classify.ETHERNET` for Ethernet; ``proto``: the IP protocol
    number, for what IP carries), for a datagram reassembled from fragments or a payload the
    decoder does not follow."""
    if d is pkt.data:
        w = frame_walk(pkt)
        if w.header_end(off, name) >= 0 or w.part_end(off, name) >= 0:
            return w
    got: Walk = _decoder().walk_from(d, off, end, etype, proto)
    return got


def header_end(
    pkt: Packet, d: bytes, off: int, end: int, name: str, etype: int, proto: int = -1
) -> int:
    """Where the header of the layer ``name`` at ``d[off]`` ends, as :func:`walked`'s walk
    read it (-1: it read none there); one lookup where the frame's walk has it."""
    if d is pkt.data:
        got = frame_walk(pkt).header_end(off, name)
        if got >= 0:
            return got
    w: Walk = _decoder().walk_from(d, off, end, etype, proto)
    return w.header_end(off, name)


#: the layers whose payload :func:`carried_end` walks from, by the IP protocol they are
_CARRIERS: Final = {"udp": 17, "tcp": 6, "gre": 47}


def carried_end(
    pkt: Packet, d: bytes, off: int, end: int, name: str, length: bool = False, at: int = -1
) -> int:
    """Where the header of the layer ``name`` at ``d[off]`` (``at``: where the walk has the
    layer start, when before its header, as an OpenVPN record's length) ends, which the
    UDP, TCP or GRE layer just added carries -- as the frame's walk read it, else the
    decoder's walk from that carrier's header (its ports dispatched as the decoder
    dispatches them); -1 when it read none there.  ``length``: where the layer ends by a
    length of its own (:meth:`~tapwatch.decode.core.Walk.layer_end`) instead."""
    start = off if at < 0 else at
    if d is pkt.data:
        fw = frame_walk(pkt)
        got = fw.layer_end(start, name) if length else fw.header_end(start, name)
        if got >= 0:
            return got
    w = _carrier_walk(pkt, d, start, end)
    if w is None:
        return -1
    return w.layer_end(start, name) if length else w.header_end(start, name)


def carried_walk(pkt: Packet, d: bytes, start: int, end: int, name: str) -> Walk | None:
    """The walk that has the layer ``name`` starting at ``d[start]``, which the UDP, TCP or
    GRE layer just added carries (see :func:`carried_end`): the frame's, else the decoder's
    walk from that carrier's header; None when neither can say.  What reads more of the
    layer than its header's end (the records of an OpenVPN segment, parts of the layer)."""
    if d is pkt.data:
        fw = frame_walk(pkt)
        if fw.has(start, name):
            return fw
    return _carrier_walk(pkt, d, start, end)


def _carrier_walk(pkt: Packet, d: bytes, start: int, end: int) -> Walk | None:
    """The decoder's walk from the header of the carrier layer just added (UDP, TCP, GRE)
    whose payload starts at ``start``; None: the last layer is no such carrier there."""
    layers = pkt._layers
    if not layers:
        return None
    last = layers[-1]
    if last.data is not d or last.off + last.hlen != start:
        return None
    proto = _CARRIERS.get(last.name, -1)
    if proto < 0:
        return None
    claimed = -1  # the carrier's length as its IP header claims it (a packet cut short)
    ip = layers[-2] if len(layers) >= 2 else None
    named = ip is not None and (ip.name in ("ip", "ipv6") or ip.name.startswith("ipv6."))
    if named and ip is not None and ip.data is d and type(ip.extra) is int:
        claimed = ip.extra - last.off
    w: Walk = _decoder().walk_from(d, last.off, end, -1, proto, claimed)
    return w


def frame_walk(pkt: Packet) -> Walk:
    """The decoder's header walk of the packet's frame, made on first use."""
    w: Walk | None = pkt._walk
    if w is None or pkt._walk_of is not pkt.data:
        # to the first transport header: what a tunnel carries is walked from its header
        # when a walker reaches it (walked), which costs the many packets that carry none
        # nothing
        w = _decoder().walk(pkt.data, pkt.linktype, False)
        pkt._walk = w
        pkt._walk_of = pkt.data
    return w


_DECODER: list[Any] = []


def _decoder() -> Any:
    """:mod:`tapwatch.decode`, imported on first use (a filter that is only compiled, as the
    filter bar's check does, never loads it; an import statement per call cost 1-3 us)."""
    if not _DECODER:
        import tapwatch.decode

        _DECODER.append(tapwatch.decode)
    return _DECODER[0]


def ip_proto(pkt: Packet, d: bytes, off: int, end: int, proto: int) -> None:
    fn = IP_PROTOS.get(proto)
    if fn is not None and room(pkt):
        fn(pkt, d, off, end)


def bind(table: dict[int, Walker], keys: tuple[int, ...], fn: Walker) -> Walker:
    """Give ``fn`` every key; a key one walker holds is not given to another (which walker
    dissects a port is then never the order the protocol modules were imported in)."""
    for k in keys:
        old = table.get(k)
        if old is not None and old is not fn:
            raise ValueError(f"{fn.__qualname__}: key {k} is already bound to {old.__qualname__}")
        table[k] = fn
    return fn


def bind_ports(transport: str, name: str, fn: Walker) -> Walker:
    """Give ``fn`` the ``transport`` ports :data:`PORT_CHOICES` gives the protocol ``name``;
    a name the table gives no port is a mistake, said at import."""
    table = UDP_PORTS if transport == "udp" else TCP_PORTS
    keys = tuple(sorted(p for p, n in PORT_CHOICES[transport].items() if n == name))
    if not keys:
        raise ValueError(f"{name}: PORT_CHOICES gives it no {transport} port")
    return bind(table, keys, fn)


def bind_heuristic(
    name: str, fn: Callable[[Packet, bytes, int, int], bool]
) -> Callable[[Packet, bytes, int, int], bool]:
    """Put the UDP heuristic ``name`` at its place in :data:`HEURISTIC_ORDER` (a name not
    listed there, or bound twice, is a mistake said at import)."""
    if name not in HEURISTIC_ORDER:
        raise ValueError(f"{name}: not in HEURISTIC_ORDER")
    old = _HEURISTIC_BY_NAME.get(name)
    if old is not None and old is not fn:
        raise ValueError(f"{name}: the heuristic is bound twice")
    _HEURISTIC_BY_NAME[name] = fn
    UDP_HEURISTICS[:] = [_HEURISTIC_BY_NAME[n] for n in HEURISTIC_ORDER if n in _HEURISTIC_BY_NAME]
    return fn


# ----------------------------------------------------------------------------- field helpers

_U16: Final = struct.Struct("!H").unpack_from
_U32: Final = struct.Struct("!I").unpack_from


def u8(d: bytes, at: int) -> int:
    return d[at]


def u16(d: bytes, at: int) -> int:
    return int(_U16(d, at)[0])


def u32(d: bytes, at: int) -> int:
    return int(_U32(d, at)[0])


def uint(
    name: str,
    ftype: str,
    proto: str,
    at: int,
    size: int,
    mask: int = 0,
    desc: str = "",
) -> registry.Field:
    """A big-endian unsigned field ``size`` bytes at ``at`` into the layer, masked and shifted
    down as Wireshark's bitmask fields are (``mask``: 0 for the whole value)."""
    shift = (mask & -mask).bit_length() - 1 if mask else 0

    if size == 1:

        def get(pkt: Packet, layer: Layer) -> Any:
            o = layer.off + at
            if o >= layer.end:
                return None
            v = layer.data[o]
            return (v & mask) >> shift if mask else v

    elif size == 2:

        def get(pkt: Packet, layer: Layer) -> Any:
            o = layer.off + at
            if o + 2 > layer.end:
                return None
            v: int = _U16(layer.data, o)[0]
            return (v & mask) >> shift if mask else v

    else:

        def get(pkt: Packet, layer: Layer) -> Any:
            o = layer.off + at
            if o + size > layer.end:
                return None
            v = int.from_bytes(layer.data[o : o + size], "big")
            return (v & mask) >> shift if mask else v

    return registry.register_field(name, ftype, proto, get, desc=desc)


def flag(name: str, proto: str, at: int, size: int, mask: int, desc: str = "") -> registry.Field:
    """A boolean bit (Wireshark's ``FT_BOOLEAN`` with a bitmask): 1 when set, 0 when not."""

    if size == 2:

        def get(pkt: Packet, layer: Layer) -> Any:
            o = layer.off + at
            if o + 2 > layer.end:
                return None
            return 1 if _U16(layer.data, o)[0] & mask else 0

    else:

        def get(pkt: Packet, layer: Layer) -> Any:
            o = layer.off + at
            if o + size > layer.end:
                return None
            return 1 if int.from_bytes(layer.data[o : o + size], "big") & mask else 0

    return registry.register_field(name, "FT_BOOLEAN", proto, get, desc=desc)


def raw(name: str, ftype: str, proto: str, at: int, size: int, desc: str = "") -> registry.Field:
    """Bytes at a fixed place (addresses: ``FT_ETHER`` as bytes; ``FT_IPv4``/``FT_IPv6``
    as the address's integer)."""
    as_int = ftype in ("FT_IPv4", "FT_IPv6")

    if as_int and size == 4:  # an IPv4 address: one unpack, no slice

        def get4(pkt: Packet, layer: Layer) -> Any:
            o = layer.off + at
            if o + 4 > layer.end:
                return None
            return _U32(layer.data, o)[0]

        return registry.register_field(name, ftype, proto, get4, desc=desc)

    def get(pkt: Packet, layer: Layer) -> Any:
        o = layer.off + at
        if o + size > layer.end:
            return None
        b = layer.data[o : o + size]
        return int.from_bytes(b, "big") if as_int else b

    return registry.register_field(name, ftype, proto, get, desc=desc)


def both(
    name: str, first: registry.Field, second: registry.Field, desc: str = ""
) -> registry.Field:
    """A field that is either of two (``ip.addr``: the source, then the destination)."""
    g1, g2 = first.get, second.get
    assert g1 is not None and g2 is not None

    def get(pkt: Packet, layer: Layer) -> Any:
        a = g1(pkt, layer)
        b = g2(pkt, layer)
        if a is None:
            return [] if b is None else [b]
        return [a] if b is None else [a, b]

    parts = (first, second) if not (first.multi or second.multi or first.also) else ()
    return registry.register_field(
        name,
        first.ftype,
        first.protocol,
        get,
        multi=True,
        needs=first.needs,
        desc=desc,
        parts=parts if second.protocol == first.protocol else (),
    )


def extra(
    name: str,
    ftype: str,
    proto: str,
    key: str,
    *,
    multi: bool = False,
    needs: tuple[str, ...] = (),
    cost: str = registry.FAST,
    desc: str = "",
) -> registry.Field:
    """A field a dissector or pass left in ``layer.extra`` (a dict) under ``key``."""

    def get(pkt: Packet, layer: Layer) -> Any:
        x = layer.extra
        if x is None:
            return None
        return x.get(key)

    return registry.register_field(
        name, ftype, proto, get, multi=multi, needs=needs, cost=cost, desc=desc
    )
