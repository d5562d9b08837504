"""Build a packet to inject from a one-line scapy expression.

The TUI's inject box and ``--inject`` take expressions such as
``IP(dst="192.168.3.11")/UDP(dport=9)/b"hi"`` or ``Ether()/ARP(pdst="10.0.0.1")``.
They are evaluated with only scapy's layer classes (and a few ``Rand*`` value
generators) in scope and no builtins, and only a whitelist of syntax is
accepted (layer calls, ``/``, literals, simple arithmetic; no attribute access,
no ``**``, bounded ``*``). That keeps typos and stray expressions from doing
anything but building packets; it is *not* a security sandbox — the user
typing is the user running tapwatch, so there is no privilege boundary.

Two scapy behaviours are switched off because they would send traffic from a
tool that must never do so on its own: an ``Ether()`` without ``dst`` makes
scapy ARP / neighbour-solicit on a real interface to resolve it (we fill in
``eth_dst`` instead), and a host name in an address field is resolved through
DNS (refused: addresses only — the preview re-evaluates on every keystroke).

scapy is imported lazily: it costs over a second and only crafting needs it.
"""

from __future__ import annotations

import ast
import socket
import struct
import threading
from typing import Any

from tapwatch.errors import TapwatchError
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_RAW,
)
from tapwatch.linktypes import name as linktype_name

#: Default Ethernet addresses for frames built for a tap. The source matches
#: nothing in particular (locally administered); the destination is broadcast,
#: which Linux accepts for unicast IP unless drop_unicast_in_l2_multicast is set.
#: Callers that know better pass the responder's MAC and the tap's own MAC.
DEFAULT_ETH_SRC = "02:00:00:00:00:01"
DEFAULT_ETH_DST = "ff:ff:ff:ff:ff:ff"

#: Largest frame we hand to a device: an IP datagram cannot exceed 65535 bytes,
#: plus an Ethernet header with two VLAN tags.
MAX_FRAME = 65535 + 22

_RAND_NAMES = (
    "RandShort", "RandInt", "RandLong", "RandByte", "RandNum", "RandIP", "RandIP6",
    "RandMAC", "RandString", "RandBin", "RandChoice", "RandSShort", "RandSInt",
)

_lock = threading.Lock()
_namespace: dict[str, Any] | None = None


class CraftError(TapwatchError):
    """The expression could not be turned into a frame for this device; one-line message."""


def _literal_only(cls: Any, name: str) -> str:
    """Replacement for scapy's ``Net.name2addr`` that accepts address literals only."""
    try:
        socket.inet_pton(cls.family, str(name))
    except (OSError, ValueError):
        raise ValueError(
            f"{name!r} is not an IP address (tapwatch does not resolve host names)"
        ) from None
    return str(name)


def _scapy_namespace() -> dict[str, Any]:
    """Import scapy once and collect the names an expression may use."""
    global _namespace
    with _lock:
        if _namespace is not None:
            return _namespace
        import scapy.all as scapy_all
        from scapy.base_classes import Net
        from scapy.packet import Packet

        # Host names in address fields would be resolved through DNS; see the
        # module docstring. Net6 inherits name2addr, so this covers both.
        Net.name2addr = classmethod(_literal_only)  # type: ignore[method-assign,assignment]
        ns: dict[str, Any] = {
            name: obj
            for name, obj in vars(scapy_all).items()
            if isinstance(obj, type) and issubclass(obj, Packet) and not name.startswith("_")
        }
        for name in _RAND_NAMES:
            obj = getattr(scapy_all, name, None)
            if obj is not None:
                ns[name] = obj
        _namespace = ns
        return ns


_ALLOWED_NODES = (
    ast.Expression, ast.Call, ast.keyword, ast.Name, ast.Load, ast.Constant,
    ast.BinOp, ast.UnaryOp, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.JoinedStr, ast.FormattedValue,
    ast.Div, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod,
    ast.BitOr, ast.BitAnd, ast.BitXor, ast.LShift, ast.RShift,
    ast.USub, ast.UAdd, ast.Invert,
)  # fmt: skip
#: Largest constant allowed in a ``*`` repetition, so ``b"x" * 10**10`` cannot eat memory.
_MAX_REPEAT = 65535


def _check_syntax(expr: str) -> ast.Expression:
    """Parse ``expr`` and allow only what building a packet needs.

    Layer calls with arguments, ``/`` between layers, literals and a little
    arithmetic. Attribute access is refused: scapy packets have methods that
    write files or touch the network (``pdfdump``, ``sr1``-style helpers), and
    a packet expression has no use for them. Power is refused and repetition
    bounded, because ``9**9**9`` or ``b"x" * 10**10`` would hang the UI.
    """
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise CraftError(f"syntax error{where}: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            raise CraftError(
                f"attribute access (.{node.attr}) is not allowed in a packet expression"
            )
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise CraftError(f"name {node.id!r} is not allowed in a packet expression")
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise CraftError(
                'calls other than layers are not allowed in a packet expression (IP(dst="..."))'
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                if isinstance(side, ast.BinOp) and isinstance(side.op, ast.Mult):
                    raise CraftError("nested repetition (a * b * c) is not allowed")
                if isinstance(side, ast.Constant) and isinstance(side.value, int) \
                        and abs(side.value) > _MAX_REPEAT:
                    raise CraftError(f"repetition by {side.value} is too large (max {_MAX_REPEAT})")
        if not isinstance(node, _ALLOWED_NODES):
            what = type(node).__name__
            raise CraftError(f"{what} is not allowed in a packet expression")
    return tree


def _one_line(exc: BaseException) -> str:
    """scapy messages can span lines; the UI has room for one."""
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return text or type(exc).__name__


def _describe(exc: BaseException) -> str:
    """``Kind: message`` for an exception raised while evaluating or building."""
    if isinstance(exc, struct.error):
        # e.g. a payload too long for IP's 16-bit length field
        return f"a value does not fit its field ({_one_line(exc)})"
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _evaluate(expr: str) -> Any:
    if not expr or not expr.strip():
        raise CraftError(
            'empty expression: type a scapy expression such as IP(dst="10.0.0.1")/ICMP()'
        )
    tree = _check_syntax(expr.strip())
    ns = _scapy_namespace()
    try:
        code = compile(tree, "<packet expression>", "eval")
        return eval(code, {"__builtins__": {}}, dict(ns))
    except NameError as exc:
        name = getattr(exc, "name", None) or _one_line(exc)
        raise CraftError(f"unknown name {name!r}: only scapy layers like IP, UDP, Ether") from None
    except CraftError:
        raise
    except Exception as exc:
        raise CraftError(_describe(exc)) from None


def _fill_ether(pkt: Any, eth_src: str, eth_dst: str) -> None:
    """Give every Ether layer explicit addresses so scapy never resolves them on the network."""
    from scapy.layers.l2 import Dot3, Ether

    layer = pkt
    while layer:
        if isinstance(layer, (Ether, Dot3)):
            # Look at the raw field values: a None dst is what triggers resolution.
            if layer.fields.get("dst") is None:
                layer.dst = eth_dst
            if layer.fields.get("src") is None:
                layer.src = eth_src
        layer = layer.payload


def _mac_text(mac: str | bytes | None, default: str) -> str:
    if mac is None:
        return default
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise CraftError(f"a MAC address has 6 bytes, not {len(mac)}")
        return ":".join(f"{b:02x}" for b in mac)
    return mac


def _to_frame(pkt: Any, linktype: int, eth_src: str, eth_dst: str) -> bytes:
    """Turn the user's packet into exactly what the device takes, or explain why not."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Packet

    from tapwatch.replay import convert

    if not isinstance(pkt, Packet):
        what = type(pkt).__name__
        raise CraftError(
            f"the expression gives a value of type {what}, not a packet (try IP()/UDP()/Raw(...))"
        )
    top = pkt.__class__.__name__
    try:
        count = pkt.__iterlen__()
    except Exception:
        count = 1
    if count != 1:
        raise CraftError(f"the expression makes {count} packets; build one at a time")

    try:
        if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
            if isinstance(pkt, Ether):
                _fill_ether(pkt, eth_src, eth_dst)
                frame = convert(_build(pkt), LINKTYPE_ETHERNET, LINKTYPE_RAW)
                if frame is None:
                    raise CraftError("a tun device takes IP packets, not Ethernet/ARP")
            else:
                frame = _build(pkt)
            version = frame[0] >> 4 if frame else 0
            wanted = {LINKTYPE_RAW: (4, 6), LINKTYPE_IPV4: (4,), LINKTYPE_IPV6: (6,)}[linktype]
            if version not in wanted:
                if version in (4, 6):
                    raise CraftError(
                        f"a {linktype_name(linktype)} device takes "
                        f"IPv{wanted[0]} packets, not IPv{version}"
                    )
                if isinstance(pkt, ARP) or top in ("Dot3", "Dot1Q", "CookedLinux"):
                    raise CraftError("a tun device takes IP packets, not Ethernet/ARP")
                if isinstance(pkt, (IP, IPv6)):
                    raise CraftError(f"IP version {version} is neither IPv4 nor IPv6")
                raise CraftError(
                    f"a tun device takes IP packets; {top} is not one (start with IP() or IPv6())"
                )
            return frame
        if linktype == LINKTYPE_ETHERNET:
            if isinstance(pkt, (IP, IPv6, ARP)):
                pkt = Ether(src=eth_src, dst=eth_dst) / pkt
            elif not isinstance(pkt, Ether):
                if top in ("Dot3", "Dot1Q"):
                    pkt = Ether(src=eth_src, dst=eth_dst) / pkt
                else:
                    raise CraftError(
                        f"a tap device takes Ethernet frames; {top} is not one "
                        "(start with Ether(), IP(), IPv6() or ARP())"
                    )
            _fill_ether(pkt, eth_src, eth_dst)
            return _build(pkt)
    except CraftError:
        raise
    except Exception as exc:
        raise CraftError(_describe(exc)) from None
    raise CraftError(f"cannot inject into a {linktype_name(linktype)} device")


def _build(pkt: Any) -> bytes:
    data = bytes(pkt)
    if not data:
        raise CraftError("the expression builds an empty packet")
    if len(data) > MAX_FRAME:
        raise CraftError(f"the packet is {len(data)} bytes; a device takes at most {MAX_FRAME}")
    return data


def build(
    expr: str,
    linktype: int,
    *,
    eth_src: str | bytes | None = None,
    eth_dst: str | bytes | None = None,
) -> bytes:
    """Evaluate scapy expression ``expr`` and return the bytes to write into the device.

    For a tun (``LINKTYPE_RAW``) the result is an IPv4/IPv6 packet: an
    ``Ether()/IP()`` frame has its Ethernet header (and VLAN tags) stripped,
    anything that is not IP is a :class:`CraftError`. For a tap
    (``LINKTYPE_ETHERNET``) a bare ``IP``/``IPv6``/``ARP`` packet is wrapped in
    ``Ether(src=eth_src, dst=eth_dst)``; an ``Ether`` the user built keeps the
    addresses they gave and gets ``eth_src``/``eth_dst`` for the ones left out.
    """
    src = _mac_text(eth_src, DEFAULT_ETH_SRC)
    dst = _mac_text(eth_dst, DEFAULT_ETH_DST)
    pkt = _evaluate(expr)
    return _to_frame(pkt, linktype, src, dst)


def preview(
    expr: str,
    linktype: int,
    *,
    eth_src: str | bytes | None = None,
    eth_dst: str | bytes | None = None,
) -> tuple[bytes, str]:
    """Bytes :func:`build` would give plus scapy's one-line summary of them.

    The summary is taken from re-dissecting the final bytes, so it shows what
    will actually go into the device (checksums, stripped/added Ethernet).
    """
    data = build(expr, linktype, eth_src=eth_src, eth_dst=eth_dst)
    try:
        if linktype == LINKTYPE_ETHERNET:
            from scapy.layers.l2 import Ether

            summary = Ether(data).summary()
        elif data[0] >> 4 == 6:
            from scapy.layers.inet6 import IPv6

            summary = IPv6(data).summary()
        else:
            from scapy.layers.inet import IP

            summary = IP(data).summary()
    except Exception as exc:
        summary = f"{len(data)} bytes (no summary: {_one_line(exc)})"
    return data, summary
