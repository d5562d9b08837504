"""Addresses, ports and where the payload is: what the tools read of a frame's headers.

The one-line decoder (``decode.summarize``) formats text; conversations,
streams and sorting need numbers instead, for hundreds of thousands of
packets.  Both read the same header walk (:func:`tapwatch.decode.walk`, compiled
with the decoder): this module only shapes its fields for the tools.  It never
raises on hostile input: anything the walk cannot follow comes back as None or
as an IP-only result.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from tapwatch.decode import walk

#: TCP flag bits the stream reassembly looks at.
TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10


class Transport(NamedTuple):
    """What the tools need of one packet; ``src``/``dst`` are packed addresses.

    ``proto`` is the IP protocol number; ``sport``/``dport`` are 0 when the
    packet has no ports (ICMP, a later fragment, a header cut short).
    ``start``/``end`` delimit the TCP or UDP payload in the frame (equal when
    there is none); ``seq`` and ``flags`` are TCP's (0 otherwise).
    """

    version: int
    proto: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    start: int
    end: int
    seq: int
    flags: int


def network(data: bytes, linktype: int) -> tuple[int, int]:
    """(family 4/6 or 0, offset of the IP header) when the link header carries IP itself
    (after any VLAN tags or LLC/SNAP header, as the walk finds it)."""
    w = walk(data, linktype, False, False)
    if w.ethertype == 0x0800 and w.ip == w.net:
        return 4, w.net
    if w.ethertype == 0x86DD and w.ip == w.net:
        return 6, w.net
    return 0, 0


def transport(data: bytes, linktype: int) -> Transport | None:
    """Addresses, ports and payload span of the frame's first IP packet; None when it has none."""
    w = walk(data, linktype, False, False)
    v = w.version
    if v == 0:
        return None
    off = w.ip
    if v == 4:
        src = data[off + 12 : off + 16]
        dst = data[off + 16 : off + 20]
    else:
        src = data[off + 8 : off + 24]
        dst = data[off + 24 : off + 40]
    end = w.ip_end
    if w.payload < 0:
        return Transport(v, w.proto, src, dst, 0, 0, end, end, 0, 0)
    return Transport(v, w.proto, src, dst, w.sport, w.dport, w.payload, end, w.seq, w.flags)


def addr_text(packed: bytes) -> str:
    """An address as people write it (compressed IPv6)."""
    if len(packed) == 4:
        return ".".join(str(b) for b in packed)
    if len(packed) == 16:
        return str(ipaddress.IPv6Address(packed))
    return packed.hex(":")


def endpoint_text(packed: bytes, port: int) -> str:
    """``10.0.0.1:53`` / ``[fd00::1]:53`` (port 0: the address alone)."""
    text = addr_text(packed)
    if not port:
        return text
    return f"[{text}]:{port}" if len(packed) == 16 else f"{text}:{port}"
