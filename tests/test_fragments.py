"""Hostile IP fragments given to the reassembler: bounded, never raising.

Fragments are attacker-controlled bytes read as root; these are the classic attacks
(ping of death, teardrop's overlaps, floods of tiny or empty pieces) built by hand.
"""

from __future__ import annotations

import struct

from tapwatch.analysis import fragments as fr

T0 = 1_700_000_000 * 1_000_000_000


def ip4(ident: int, off8: int, more: bool, payload: bytes, proto: int = 17) -> bytes:
    """An IPv4 fragment from 1.1.1.1 to 2.2.2.2 (offset in 8-byte units)."""
    word = (0x2000 if more else 0) | off8
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, word, 64, proto, 0,
        b"\x01\x01\x01\x01", b"\x02\x02\x02\x02",
    )  # fmt: skip
    return head + payload


def ip6(ident: int, off8: int, more: bool, payload: bytes, nh: int = 17) -> bytes:
    """An IPv6 fragment (fragment header right after the fixed one)."""
    frag = struct.pack("!BBHI", nh, 0, off8 << 3 | int(more), ident)
    fixed = struct.pack("!IHBB16s16s", 6 << 28, 8 + len(payload), 44, 64, b"\xfd" + bytes(15),
                        b"\xfd" + bytes(14) + b"\x02")  # fmt: skip
    return fixed + frag + payload


def test_ping_of_death_is_dropped_not_raised() -> None:
    """Pieces whose datagram would be longer than 65535 bytes with its header."""
    r = fr.Reassembler()
    for k in range(0, 65528, 1480):
        assert r.add(ip4(1, k // 8, True, b"x" * min(1480, 65528 - k)), 0, T0) is None
    assert r.add(ip4(1, 65528 // 8, False, b"y" * 7), 0, T0) is None
    assert r.dropped >= 1 and not r.pending and r.held == 0


def test_ping_of_death_with_a_longer_first_header_is_dropped() -> None:
    """The first piece has options (a 60-byte header); the last piece a plain one."""
    r = fr.Reassembler()
    first = bytearray(ip4(2, 0, True, bytes(40) + b"x" * 1440))
    first[0] = 0x4F  # 60-byte header: 40 bytes of options
    assert r.add(bytes(first), 0, T0) is None
    for k in range(1440, 65512, 1440):
        assert r.add(ip4(2, k // 8, True, b"x" * min(1440, 65512 - k)), 0, T0) is None
    assert r.add(ip4(2, 65512 // 8, False, b"y" * 16), 0, T0) is None  # 20 + 65528: fits
    assert r.dropped == 1 and not r.pending and r.held == 0
