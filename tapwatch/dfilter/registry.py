"""The field registry: every name a display filter can use, and how its values are read.

This is the plug-in point.  A module that works something out about packets (the
TCP analysis, request/response transactions...) makes it filterable by registering
here, at import time, and the filter bar, ``-Y``, completion and find all know it:

* :func:`register_protocol` -- a protocol name (``tcp``, ``http``): present when the
  packet has a layer of that name; its value is the layer's bytes.
* :func:`register_field` -- a field (``tcp.analysis.retransmission``): its Wireshark
  name and type (``tshark -G fields``), the protocol whose layers it is read from,
  and ``get(pkt, layer)``, called once per such layer, returning the value, ``None``
  when the field is not there, or (``multi=True``) a list of values.
* :func:`register_pass` -- something that must see the capture's packets in order
  before any field is read (stream numbers, reassembly, request/response pairing):
  a factory of :class:`~tapwatch.dfilter.packet.Pass`.  A field that reads what a
  pass leaves in ``layer.extra`` (or in layers the pass adds) lists the pass in
  ``needs``; a filter runs only the passes its fields need.

Example, a field a TCP analysis module would add::

    from tapwatch.dfilter import registry
    registry.register_pass("tcp.analysis", TcpAnalysisPass, after=("tcp.stream",))
    registry.register_field(
        "tcp.analysis.retransmission", "FT_NONE", "tcp",
        lambda pkt, layer: True if layer.extra.retransmission else None,
        needs=("tcp.analysis",), cost=registry.STATEFUL,
        desc="This frame is a (suspected) retransmission",
    )

``cost`` says how much work the field's values take, which the bar and ``-Y`` tell
the user: :data:`FAST` (header fields the struct-level walk reads), :data:`STATEFUL`
(needs an in-order pass over the capture, such as stream numbers), :data:`DEEP`
(parses payloads or reassembles them, such as HTTP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from tapwatch.dfilter.ftypes import PROTOCOL
from tapwatch.dfilter.packet import Layer, Packet, Pass

#: Costs, cheapest first.
FAST: Final = "fast"
STATEFUL: Final = "stateful"
DEEP: Final = "deep"
_COST_ORDER: Final = {FAST: 0, STATEFUL: 1, DEEP: 2}

Getter = Callable[[Packet, Layer], Any]


@dataclass(frozen=True)
class Field:
    """One filterable name.  ``get`` is None for a protocol (its value is its bytes)."""

    name: str
    ftype: str
    protocol: str
    get: Getter | None = None
    multi: bool = False
    needs: tuple[str, ...] = ()
    cost: str = FAST
    desc: str = ""
    #: other protocols whose layers carry this field too (DNS's fields in mDNS)
    also: tuple[str, ...] = ()
    #: a field that is either of these, single-valued, of the same layer (``ip.addr``):
    #: its values are theirs, in order, so a test may read them one by one
    parts: tuple[Field, ...] = ()

    @property
    def is_protocol(self) -> bool:
        return self.get is None


@dataclass(frozen=True)
class PassSpec:
    name: str
    factory: Callable[[], Pass]
    after: tuple[str, ...] = ()


_FIELDS: dict[str, Field] = {}
_PASSES: dict[str, PassSpec] = {}


def register_protocol(
    name: str, desc: str = "", *, needs: tuple[str, ...] = (), cost: str = FAST
) -> Field:
    """A protocol name: present when the packet has a layer called ``name``."""
    f = Field(name, PROTOCOL, name, None, needs=needs, cost=cost, desc=desc)
    _FIELDS[name] = f
    return f


def register_field(
    name: str,
    ftype: str,
    protocol: str,
    get: Getter,
    *,
    multi: bool = False,
    needs: tuple[str, ...] = (),
    cost: str = FAST,
    desc: str = "",
    also: tuple[str, ...] = (),
    parts: tuple[Field, ...] = (),
) -> Field:
    """A field read from each ``protocol`` layer by ``get`` (see the module's docstring)."""
    if cost not in _COST_ORDER:
        raise ValueError(f"unknown cost {cost!r}")
    f = Field(name, ftype, protocol, get, multi, needs, cost, desc, also, parts)
    _FIELDS[name] = f
    return f


def register_pass(name: str, factory: Callable[[], Pass], *, after: tuple[str, ...] = ()) -> None:
    """An in-order pass fields can name in ``needs``; ``after``: passes it reads from."""
    _PASSES[name] = PassSpec(name, factory, after)


def lookup(name: str) -> Field | None:
    _load()
    return _FIELDS.get(name)


def fields() -> Iterator[Field]:
    """Every registered field and protocol, by name."""
    _load()
    for name in sorted(_FIELDS):
        yield _FIELDS[name]


def passes_for(names: set[str]) -> list[Pass]:
    """New instances of the passes ``names`` need, with what they run after, in order."""
    _load()
    order: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in trail:
            raise ValueError(f"passes depend on each other in a circle: {' -> '.join(trail)}")
        spec = _PASSES.get(name)
        if spec is None:
            raise ValueError(f"no pass named {name!r} is registered")
        for dep in spec.after:
            visit(dep, (*trail, name))
        order.append(name)

    for name in sorted(names):
        visit(name, ())
    return [_PASSES[n].factory() for n in order]


def costliest(costs: list[str]) -> str:
    return max(costs, key=_COST_ORDER.__getitem__, default=FAST)


_loaded = False


def _load() -> None:
    """Import the modules that register tapwatch's own protocols (once, on first use)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from tapwatch.dfilter import protocols  # noqa: F401 (registers as it is imported)
