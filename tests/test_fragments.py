"""Hostile IP fragments given to the reassembler: bounded, never raising.

Fragments are attacker-controlled bytes read as root; these are the classic attacks
(ping of death, teardrop's overlaps, floods of tiny or empty pieces) built by hand.
"""

from __future__ import annotations

import random
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


def test_teardrop_overlap_drops_the_datagram_when_it_arrives() -> None:
    """Overlapping pieces (teardrop) drop the datagram at once, before its end comes, and
    its later pieces are dropped on arrival (held nothing; a hole no longer hides them)."""
    r = fr.Reassembler()
    assert r.add(ip4(3, 0, True, b"a" * 8), 0, T0) is None
    assert r.add(ip4(3, 100, False, b"z" * 8), 0, T0) is None  # the end: a hole at 8..800
    assert r.add(ip4(3, 2, True, b"b" * 24), 0, T0) is None
    assert r.add(ip4(3, 3, True, b"c" * 24), 0, T0) is None  # overlaps the one before
    assert r.dropped == 1 and not r.pending and r.held == 0
    for k in range(5, 100):  # the rest of a datagram already dropped: nothing held
        assert r.add(ip4(3, k, True, b"d" * 8), 0, T0 + k) is None
    assert not r.pending and r.held == 0 and r.dropped == 1
    # past the timeout the same identification is a new datagram
    later = T0 + fr.TIMEOUT_NS + 1
    assert r.add(ip4(3, 1, False, b"e" * 8), 0, later) is None
    whole = r.add(ip4(3, 0, True, b"f" * 8), 0, later)
    assert whole is not None and whole[20:] == b"f" * 8 + b"e" * 8


def test_tiny_and_empty_pieces_are_bounded() -> None:
    """8-byte pieces cost what holding them costs; empty ones are not held at all."""
    r = fr.Reassembler()
    for ident in range(4):  # 16k pieces: past MAX_HELD with their cost
        for k in range(1, 8191, 2):  # every other 8 bytes: never whole
            r.add(ip4(ident, k, True, b"p" * 8), 0, T0)
    for k in range(1000):
        r.add(ip4(1000, k, True, b""), 0, T0)
    assert r.held <= fr.MAX_HELD
    assert sum(len(p.pieces) for p in r.pending.values()) <= fr.MAX_HELD // (8 + fr.PIECE_COST)
    assert all(p.pieces for p in r.pending.values())


def test_ipv6_overlap_and_ping_of_death() -> None:
    r = fr.Reassembler()
    assert r.add(ip6(9, 0, True, b"a" * 16), 0, T0) is None
    assert r.add(ip6(9, 1, False, b"b" * 16), 0, T0) is None  # overlaps
    assert r.dropped == 1 and not r.pending
    for k in range(0, 65528, 1448):
        r.add(ip6(10, k // 8, True, b"x" * min(1448, 65528 - k)), 0, T0)
    assert r.add(ip6(10, 65528 // 8, False, b"y" * 7), 0, T0) is not None  # 65535: fits
    r.add(ip6(11, 0, True, b"x" * 8), 0, T0)
    assert r.add(ip6(11, 65528 // 8, False, b"y" * 8), 0, T0) is None  # 65536: dropped
    assert not r.pending and r.held == 0


def test_fuzz_fragments_never_raise_and_stay_bounded() -> None:
    """Random pieces of a few datagrams (offsets, lengths, flags, headers cut short)."""
    rng = random.Random(20261207)
    r = fr.Reassembler()
    ts = T0
    for _ in range(5000):
        ts += rng.randrange(0, 5_000_000)
        ident = rng.randrange(8)
        payload = rng.randbytes(rng.choice((0, 8, 16, 24, 1480, 7)))
        make = ip6 if rng.random() < 0.3 else ip4
        data = bytearray(make(ident, rng.randrange(0, 8192, rng.choice((1, 3))), rng.random() < 0.8,
                              payload))  # fmt: skip
        for _ in range(rng.randrange(3)):  # a damaged byte here and there
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.1:
            data = data[: rng.randrange(len(data) + 1)]
        whole = r.add(bytes(data), 0, ts)
        if whole is not None:
            assert len(whole) <= fr.MAX_DATAGRAM + (40 if whole[0] >> 4 == 6 else 0)
        assert len(r.pending) <= fr.MAX_PENDING and 0 <= r.held <= fr.MAX_HELD
        assert r.held == sum(p.held for p in r.pending.values())
