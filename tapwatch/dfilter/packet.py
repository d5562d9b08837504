"""What a filter looks at: one packet, its layers, and the capture it belongs to.

A :class:`Packet` is made per packet tested and thrown away after.  Its layers are
found on first use (:mod:`tapwatch.dfilter.dissect` walks the headers with ``struct``,
never scapy), so a filter on ``frame.*`` alone never dissects.  A :class:`Layer` is
a span of bytes one protocol owns -- usually of the frame itself, but a layer made by
reassembly (an HTTP message over several TCP segments) carries its own buffer.

A :class:`Capture` is the state that outlives a packet: the first and previous
timestamps (``frame.time_relative``, ``frame.time_delta``) and the in-order passes
(TCP streams, reassembly, and whatever other modules register) that must see every
packet of a capture, in order, before any field of it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Layer:
    """One protocol's bytes in a packet: ``data[off:end]``; ``hlen`` is its header's length
    where that is known (the payload starts at ``off + hlen``).  ``extra`` is what a
    dissector or pass worked out and the fields read (TCP's stream number, a DNS
    message's parsed records...)."""

    __slots__ = ("data", "end", "extra", "hlen", "name", "off")

    def __init__(self, name: str, data: bytes, off: int, end: int, hlen: int = 0) -> None:
        self.name = name
        self.data = data
        self.off = off
        self.end = end
        self.hlen = hlen
        self.extra: Any = None

    @property
    def bytes(self) -> bytes:
        return self.data[self.off : self.end]

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {self.off}, {self.end})"


Dissector = Callable[["Packet"], None]


class Packet:
    """One packet as a filter sees it.

    ``number`` is its frame number in the capture (1 for the first), ``iface`` the
    session's number of the interface it crossed.  :meth:`layers` and :meth:`index`
    dissect on first use.
    """

    __slots__ = (
        "_index",
        "_layers",
        "_walk",
        "_walk_of",
        "capture",
        "data",
        "delta_ns",
        "direction",
        "iface",
        "linktype",
        "number",
        "orig_len",
        "ts_ns",
    )

    #: the walk that fills the layers (set by tapwatch.dfilter.dissect when imported)
    dissector: Dissector | None = None

    def __init__(
        self,
        data: bytes,
        linktype: int,
        number: int = 0,
        ts_ns: int = 0,
        iface: int = 0,
        capture: Capture | None = None,
        direction: int = 0,
        orig_len: int | None = None,
    ) -> None:
        self.data = data
        self.orig_len = len(data) if orig_len is None else orig_len
        self.delta_ns = 0
        self.linktype = linktype
        self.number = number
        self.ts_ns = ts_ns
        self.iface = iface
        self.capture = capture
        self.direction = direction
        self._layers: list[Layer] | None = None
        self._index: dict[str, list[Layer]] | None = None
        #: the decoder's header walk of ``data`` (tapwatch.dfilter.dissect.walked), and the
        #: bytes it is of (a packet object the fast path reuses gets new bytes)
        self._walk: Any = None
        self._walk_of: bytes | None = None

    def layers(self) -> list[Layer]:
        """Every layer, outermost first (the frame is the first)."""
        if self._layers is None:
            self._dissect()
        assert self._layers is not None
        return self._layers

    def index(self) -> dict[str, list[Layer]]:
        """The layers by protocol name, each list outermost first."""
        if self._index is None:
            self._dissect()
        assert self._index is not None
        return self._index

    def _dissect(self) -> None:
        frame = Layer("frame", self.data, 0, len(self.data))
        self._layers = [frame]
        self._index = {"frame": [frame]}
        walk = Packet.dissector
        if walk is not None:
            walk(self)

    def add(self, layer: Layer) -> Layer:
        """Append ``layer`` (dissectors and passes call this, once the walk has begun)."""
        layers = self._layers
        if layers is None:
            self._dissect()
            layers = self._layers
        assert layers is not None and self._index is not None
        layers.append(layer)
        got = self._index.get(layer.name)
        if got is None:
            self._index[layer.name] = [layer]
        else:
            got.append(layer)
        return layer

    def insert_after(self, anchor: Layer, layer: Layer) -> Layer:
        """Put ``layer`` right after ``anchor`` in the stack (a pass adding what a
        reassembled payload held), keeping the index in stack order."""
        layers = self.layers()
        index = self.index()
        pos = layers.index(anchor) + 1 if anchor in layers else len(layers)
        layers.insert(pos, layer)
        same = [x for x in layers if x.name == layer.name]
        index[layer.name] = same
        return layer


class Pass:
    """Something that must see every packet of a capture in order (TCP streams, reassembly).

    ``feed`` is called once per packet, before any field of it is read, with the
    packet's layers available; it annotates them (``layer.extra``) or adds layers.
    Register a pass with :func:`tapwatch.dfilter.registry.register_pass`; a field that
    reads what a pass leaves names it in ``needs``.
    """

    #: the name fields name in ``needs``
    name = ""
    #: other passes that must run first
    after: tuple[str, ...] = ()

    def feed(self, pkt: Packet) -> None:
        raise NotImplementedError


class Capture:
    """A capture seen in order: timestamps, interface names and the passes a filter needs.

    ``interfaces`` names the interfaces by the number records carry;
    ``passes`` are fed every packet given to :meth:`packet`.
    """

    def __init__(
        self,
        passes: list[Pass] | None = None,
        interfaces: list[str | None] | None = None,
        *,
        numbered_interfaces: bool = False,
        eager: bool = True,
    ) -> None:
        self.passes = passes or []
        self.interfaces = interfaces or []
        #: the capture numbers its interfaces (pcapng, a live session): frame.interface_id
        self.numbered_interfaces = numbered_interfaces
        #: dissect every packet as it comes, whatever the filter reads first: what one
        #: packet's dissection leaves (IP fragments) is there for the packets after it
        self.eager = eager
        self.first_ns: int | None = None
        self.prev_ns: int | None = None
        #: what protocol modules keep across packets (IP fragments...), by their name
        self.state: dict[str, object] = {}

    def packet(
        self,
        data: bytes,
        linktype: int,
        number: int,
        ts_ns: int,
        iface: int = 0,
        direction: int = 0,
        orig_len: int | None = None,
    ) -> Packet:
        """The next packet of the capture, after the passes have seen it."""
        pkt = Packet(data, linktype, number, ts_ns, iface, self, direction, orig_len)
        pkt.delta_ns = self.stamp(ts_ns)
        if self.eager:
            pkt.layers()
        for p in self.passes:
            p.feed(pkt)
        return pkt

    def stamp(self, ts_ns: int) -> int:
        """Take the next packet's time: its ``frame.time_delta`` (once per packet)."""
        if self.first_ns is None:
            self.first_ns = ts_ns
        prev = self.prev_ns
        self.prev_ns = ts_ns
        return 0 if prev is None else ts_ns - prev

    def interface_name(self, iface: int) -> str | None:
        """The interface's name, when the capture gives one (pcapng, a live session)."""
        names = self.interfaces
        return names[iface] if 0 <= iface < len(names) else None
