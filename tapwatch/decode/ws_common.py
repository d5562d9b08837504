"""What the Wireshark-worded layer builders share: node making, reading, checksum verdicts.

The builders (:mod:`tapwatch.decode.wstree` and the ``ws_*`` modules) read a header with plain
indexing and return :class:`~tapwatch.decode.tree.Node` trees in tshark's words; every label
goes through the tree's sanitizer (:func:`~tapwatch.decode.node.clip`).

Their contract: what tshark words from tables tapwatch does not carry is left out rather than
worded otherwise (tapwatch shows fewer lines, never other words); a header cut short, or a
length that points past the captured bytes, returns None (scapy's fields are shown instead);
every loop is bounded by the message's bytes and by ``MAX_ITEMS``.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import SHOWN_DATA as SHOWN_DATA
from tapwatch.decode.core import hex_value as hex_value
from tapwatch.decode.fields import Net, Where, _checksum
from tapwatch.decode.node import Node, clip

MAX_ITEMS: Final = 64


def node(label: str, start: int, end: int, kids: list[Node] | None = None) -> Node:
    """A tree node with its label sanitized and bounded."""
    return Node(clip(label), start, end, kids or [])


def ip4(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def ip6(b: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(b))


def u16(d: bytes, at: int) -> int:
    return d[at] << 8 | d[at + 1]


def u32(d: bytes, at: int) -> int:
    return int.from_bytes(d[at : at + 4], "big")


def data_node(data: bytes, start: int, end: int) -> Node:
    """``Data (N bytes)`` with its ``Data:`` and ``[Length: N]`` lines, as tshark's data."""
    n = end - start
    return node(
        f"Data ({n} byte{'' if n == 1 else 's'})",
        start,
        end,
        [
            node(f"Data: {hex_value(data[start:end])}", start, end),
            node(f"[Length: {n}]", start, start),
        ],
    )


_OFFLOAD: Final = {
    "ip": '(may be caused by "IP checksum offload"?)',
    "tcp": '(maybe caused by "TCP checksum offload"?)',
    "udp": ' (maybe caused by "UDP checksum offload"?)',
}


def verdict(field: int, start: int, net: Net, kind: str) -> str:
    """``0x1c46 [correct]``, ``[unverified]``, or tshark's ``0x1234 incorrect, should be
    0x66cc`` with the offload hint it gives IP, TCP and UDP."""
    got = _checksum(field, Where("", start, net, None), kind)
    at = got.find(" [incorrect, should be ")
    if at < 0:
        return got
    return f"{got[:at]} incorrect, should be {got[at + 23 : -1]}{_OFFLOAD.get(kind, '')}"


def set_word(v: int) -> str:
    """Wireshark's word for a one-bit flag."""
    return "Set" if v else "Not set"
