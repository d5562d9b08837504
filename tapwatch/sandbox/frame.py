"""From the user's scapy packet to exactly the bytes the device takes, sending nothing.

Runs in the evaluating child, inside :func:`tapwatch.sandbox.guard.no_network`. Every
Ethernet layer, inner ones included, gets explicit link addresses so that scapy never
ARPs or solicits a neighbour to fill one in; a tun gets an IP packet, a tap an Ethernet
frame; an expression that stands for several packets is refused with their number.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_RAW
from tapwatch.linktypes import name as linktype_name
from tapwatch.replay import convert
from tapwatch.sandbox.expression import evaluate
from tapwatch.sandbox.guard import BuildError, describe, no_network
from tapwatch.sandbox.protocol import MAX_FRAME, Request, one_line


def _layers(pkt: Any) -> Iterator[Any]:
    """Every layer of ``pkt``: the payload chain and packets held in fields, at any depth."""
    from scapy.packet import NoPayload, Packet

    stack = [pkt]
    seen = 0
    while stack:
        layer = stack.pop()
        while isinstance(layer, Packet) and not isinstance(layer, NoPayload):
            seen += 1
            if seen > 10000:
                raise BuildError("the packet has too many layers")
            yield layer
            for value in layer.fields.values():
                if isinstance(value, Packet):
                    stack.append(value)
                elif isinstance(value, list):
                    stack.extend(v for v in value if isinstance(v, Packet))
            layer = layer.payload


def _plain_field(fld: Any, layer: Any) -> Any:
    """The field that really encodes ``fld`` in ``layer``, through conditional/multi-type ones."""
    from scapy.fields import _FieldContainer

    for _ in range(16):
        find = getattr(fld, "_find_fld_pkt_val", None)
        if find is not None:
            # chooses as scapy does for the value held (ARP hwsrc is a MAC while hwlen is unset)
            fld = find(layer, layer.fields.get(fld.name))[0]
        elif isinstance(fld, _FieldContainer):
            fld = fld.fld
        else:
            break
    return fld


def fill_links(pkt: Any, eth_src: str, eth_dst: str) -> None:
    """Give every link address scapy would look up an explicit value.

    An Ether/Dot3 without ``dst`` makes scapy resolve it on the network (ARP or neighbour
    solicitation on whatever interface routes there, even for an Ether inside GRE); a
    source MAC left out (Ether, ARP ``hwsrc``, the NDP link-layer option...) takes one of
    the host's. The peer's addresses are what belongs there: ``eth_dst`` for
    destinations, ``eth_src`` for sources.
    """
    from scapy.layers.l2 import DestMACField, SourceMACField

    for layer in _layers(pkt):
        for fld in layer.fields_desc:
            # Look at the raw field values: a None dst is what triggers resolution.
            if layer.fields.get(fld.name) is not None:
                continue
            plain = _plain_field(fld, layer)
            if isinstance(plain, DestMACField):
                layer.setfieldval(fld.name, eth_dst)
            elif isinstance(plain, SourceMACField):
                layer.setfieldval(fld.name, eth_src)


def _more_than_one(pkt: Any) -> bool:
    """Whether ``pkt`` stands for several packets (``IP(dst="10.0.0.0/8")``, ``dport=(1, 9)``).

    Looks at the first two only: scapy's own count enumerates every packet.
    """
    try:
        return len(list(itertools.islice(iter(pkt), 2))) > 1
    except Exception:
        return False


def _count(pkt: Any) -> int:
    """How many packets ``pkt`` stands for, from its address ranges and value lists, cheaply."""
    from scapy.base_classes import Net

    total = 1
    for layer in _layers(pkt):
        for fld in layer.fields_desc:
            value = layer.fields.get(fld.name)
            if isinstance(value, Net):
                total *= max(int(value.count), 1)
            elif (
                isinstance(value, tuple)
                and len(value) == 2
                and all(isinstance(v, int) for v in value)
            ):
                total *= max(value[1] - value[0] + 1, 1)
            elif isinstance(value, list) and not fld.islist:
                total *= max(len(value), 1)
    return total


def count_words(count: int) -> str:
    """``4 packets``, or ``about 10^1234 packets`` where the digits would not fit a line.

    (Python refuses to turn an integer of more than 4300 digits into text: a ValueError
    where a few huge ranges multiply.)
    """
    if count <= 1:
        return "more than one packet"
    if count < 10**30:
        return f"{count} packets"
    return f"about 10^{int(count.bit_length() * 0.30103)} packets"


def _build(pkt: Any) -> bytes:
    data = bytes(pkt)
    if not data:
        raise BuildError("the expression builds an empty packet")
    if len(data) > MAX_FRAME:
        raise BuildError(f"the packet is {len(data)} bytes; a device takes at most {MAX_FRAME}")
    return data


def to_frame(pkt: Any, linktype: int, eth_src: str, eth_dst: str) -> bytes:
    """Turn the user's packet into exactly what the device takes, or explain why not.

    For a tun (``LINKTYPE_RAW``) the result is an IPv4/IPv6 packet: an ``Ether()/IP()``
    frame has its Ethernet header (and VLAN tags) stripped, anything that is not IP is
    refused. For a tap (``LINKTYPE_ETHERNET``) a bare ``IP``/``IPv6``/``ARP`` packet is
    wrapped in ``Ether(src=eth_src, dst=eth_dst)``.
    """
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Packet

    if not isinstance(pkt, Packet):
        what = type(pkt).__name__
        raise BuildError(
            f"the expression gives a value of type {what}, not a packet (try IP()/UDP()/Raw(...))"
        )
    top = pkt.__class__.__name__
    if _more_than_one(pkt):
        raise BuildError(f"the expression makes {count_words(_count(pkt))}; build one at a time")
    if linktype == LINKTYPE_ETHERNET:
        if isinstance(pkt, (IP, IPv6, ARP)) or top in ("Dot3", "Dot1Q"):
            pkt = Ether(src=eth_src, dst=eth_dst) / pkt
        elif not isinstance(pkt, Ether):
            raise BuildError(
                f"a tap device takes Ethernet frames; {top} is not one "
                "(start with Ether(), IP(), IPv6() or ARP())"
            )
        fill_links(pkt, eth_src, eth_dst)
        return _build(pkt)
    if linktype not in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        raise BuildError(f"cannot inject into a {linktype_name(linktype)} device")
    fill_links(pkt, eth_src, eth_dst)
    if isinstance(pkt, Ether):
        frame = convert(_build(pkt), LINKTYPE_ETHERNET, LINKTYPE_RAW)
        if frame is None:
            raise BuildError("a tun device takes IP packets, not Ethernet/ARP")
    elif isinstance(pkt, ARP) or top in ("Dot3", "Dot1Q", "CookedLinux"):
        raise BuildError("a tun device takes IP packets, not Ethernet/ARP")
    else:
        frame = _build(pkt)
    version = frame[0] >> 4 if frame else 0
    wanted = {LINKTYPE_RAW: (4, 6), LINKTYPE_IPV4: (4,), LINKTYPE_IPV6: (6,)}[linktype]
    if version in wanted:
        return frame
    if version in (4, 6):
        raise BuildError(
            f"a {linktype_name(linktype)} device takes IPv{wanted[0]} packets, not IPv{version}"
        )
    if isinstance(pkt, (IP, IPv6)):
        raise BuildError(f"IP version {version} is neither IPv4 nor IPv6")
    raise BuildError(f"a tun device takes IP packets; {top} is not one (start with IP() or IPv6())")


def summary(data: bytes, linktype: int) -> str:
    """scapy's one-line summary of the final bytes: what will really go into the device."""
    try:
        if linktype == LINKTYPE_ETHERNET:
            from scapy.layers.l2 import Ether

            return str(Ether(data).summary())
        if data[0] >> 4 == 6:
            from scapy.layers.inet6 import IPv6

            return str(IPv6(data).summary())
        from scapy.layers.inet import IP

        return str(IP(data).summary())
    except Exception as exc:
        return f"{len(data)} bytes (no summary: {one_line(str(exc), 120)})"


def build(request: Request, names: dict[str, Any]) -> tuple[bytes, str]:
    """Evaluate, build (and summarise, if asked) under the guard; a one-line BuildError else.

    Recursion running out is said here in words; a MemoryError goes up to the server,
    which knows the limit; a child that runs out of CPU or wall time is killed, and the
    server says that.
    """
    try:
        with no_network():
            pkt = evaluate(request.expr, names)
            frame = to_frame(pkt, request.linktype, request.eth_src, request.eth_dst)
            text = summary(frame, request.linktype) if request.summary else ""
    except (BuildError, MemoryError):
        raise
    except RecursionError:
        raise BuildError("the expression is nested too deeply") from None
    except Exception as exc:
        raise BuildError(describe(exc)) from None
    return frame, text
