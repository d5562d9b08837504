"""Wire vocabulary shared by every module that reads or builds frames.

Ethertypes, VLAN tag types, MAC address text and the internet checksum were
written out again in the peer, the replayer, the demo and the capture path;
this is their one home. Standard library only: the hot paths import it.
"""

from __future__ import annotations

import struct

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD
ETH_P_8021AD = 0x88A8
ETH_P_QINQ_OLD = 0x9100
#: VLAN tag protocol identifiers looked through (802.1Q, 802.1ad, the old QinQ value).
VLAN_TPIDS = frozenset((ETH_P_8021Q, ETH_P_8021AD, ETH_P_QINQ_OLD))
#: Ethernet header length without tags, and one VLAN tag's length.
ETH_HLEN = 14
VLAN_HLEN = 4

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ICMPV6 = 58


def mac_str(mac: bytes) -> str:
    """``02:ab:cd:ef:01:23`` text form of a 6-byte MAC (any length, in fact)."""
    return mac.hex(":")


def parse_mac(text: str | bytes) -> bytes:
    """A MAC as 6 raw bytes, or as ``aa:bb:cc:dd:ee:ff`` / ``aa-bb-...`` text.

    Raises ValueError with a message fit for the user; callers wrap it in
    their own error class.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) != 6:
            raise ValueError(f"a MAC address has 6 bytes, not {len(text)}")
        return bytes(text)
    parts = text.replace("-", ":").split(":")
    try:
        if len(parts) != 6 or any(not 1 <= len(p) <= 2 for p in parts):
            raise ValueError
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"invalid MAC address {text!r} (want aa:bb:cc:dd:ee:ff)") from None


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Internet checksum (RFC 1071) of ``data``, as the 16-bit value to pack with ``!H``.

    Since 2**16 == 1 (mod 0xFFFF), the one's complement sum of the 16-bit
    big-endian words is the whole buffer read as one big integer modulo
    0xFFFF; ``int.from_bytes`` and ``%`` do that in C, faster than summing an
    ``array('H')`` in Python (the responder's figures are in bench/NOTES.md).
    A residue of 0 stands for the one's complement sum 0xFFFF (checksum 0)
    unless the buffer is all zeros. A buffer that already holds a correct
    checksum yields 0.
    """
    n = int.from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8  # pad the odd byte into the high half of a last word
    s = n % 0xFFFF
    if s:
        return 0xFFFF - s
    return 0 if n else 0xFFFF


_PSEUDO6_TAIL = struct.Struct("!IxxxB")


def pseudo_header6(src: bytes, dst: bytes, length: int, next_header: int) -> bytes:
    """IPv6 pseudo-header (RFC 8200 section 8.1) that upper-layer checksums cover."""
    return src + dst + _PSEUDO6_TAIL.pack(length, next_header)


def pseudo_header4(src: bytes, dst: bytes, length: int, proto: int) -> bytes:
    """IPv4 pseudo-header (RFC 768/793) that UDP and TCP checksums cover."""
    return src + dst + struct.pack("!xBH", proto, length)
