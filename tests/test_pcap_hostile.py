"""Hostile capture files: bounded memory and time, one clear error naming the offset.

libpcap's bounds: a record over 256 KiB and a pcapng block over 16 MiB are
corruption. Nothing is read or allocated from a length field before it is
checked; interfaces (at most 256: the ring numbers them with one byte) and
options (64 a block) are bounded too.
"""

from __future__ import annotations

import struct

import pytest
from capture_checks import WatchedStream, survive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapng_build import ng_block, ng_end, ng_epb, ng_flags, ng_idb, ng_opt, ng_shb, pcap_header

from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.pcap import MAX_BLOCK, MAX_CAPLEN, MAX_INTERFACES, PcapError, read_capture

PKT = bytes.fromhex("4500001c00010000400100000a0000010a000002") + bytes(8)


def read_all(data: bytes) -> tuple[list, object, WatchedStream]:
    stream = WatchedStream(data)
    with read_capture(stream) as cap:
        return list(cap), cap, stream


def test_classic_record_over_256k_is_corrupt() -> None:
    ok = struct.pack("<IIII", 1, 0, len(PKT), len(PKT)) + PKT
    big = struct.pack("<IIII", 2, 0, MAX_CAPLEN + 1, MAX_CAPLEN + 1)
    data = pcap_header("<", 0xA1B2C3D4, snaplen=65535) + ok + big + bytes(MAX_CAPLEN + 1)
    with pytest.raises(PcapError) as exc:
        read_all(data)
    assert str(exc.value) == (
        f"input stream: record 2 at offset {24 + len(ok)} claims 262145 captured bytes, "
        "over the 262144-byte limit (corrupt file)"
    )
    # exactly at the limit is a packet (libpcap's largest snapshot)
    at_limit = struct.pack("<IIII", 2, 0, MAX_CAPLEN, MAX_CAPLEN) + bytes(MAX_CAPLEN)
    recs, _, _stream = read_all(pcap_header("<", 0xA1B2C3D4) + ok + at_limit)
    assert [len(r.data) for r in recs] == [len(PKT), MAX_CAPLEN]


def test_classic_huge_length_is_refused_before_reading_it() -> None:
    data = pcap_header("<", 0xA1B2C3D4) + struct.pack("<IIII", 0, 0, 0xFFFFFFF0, 60)
    stream = WatchedStream(data)
    with pytest.raises(PcapError, match="claims 4294967280 captured bytes"):
        list(read_capture(stream))
    assert stream.largest <= MAX_CAPLEN


def test_pcapng_block_over_16m_is_corrupt_and_not_read() -> None:
    head = ng_shb() + ng_idb(LINKTYPE_RAW) + ng_epb(0, 1, PKT)
    huge = struct.pack("<II", 6, MAX_BLOCK + 4) + bytes(64)
    with pytest.raises(PcapError) as exc:
        read_all(head + huge)
    assert str(exc.value) == (
        f"input stream: block at offset {len(head)} has impossible length {MAX_BLOCK + 4}, "
        f"over the {MAX_BLOCK}-byte limit (corrupt file)"
    )
    stream = WatchedStream(head + huge)
    with pytest.raises(PcapError):
        list(read_capture(stream))
    assert stream.largest <= 1024 * 1024  # one window refill, never the claimed length


def test_pcapng_section_header_over_16m_is_corrupt() -> None:
    shb = bytearray(ng_shb())
    shb[4:8] = struct.pack("<I", MAX_BLOCK + 8)
    with pytest.raises(PcapError, match="section header at offset 0 has impossible length"):
        read_all(bytes(shb) + bytes(100))


def test_pcapng_packet_over_256k_is_corrupt() -> None:
    head = ng_shb() + ng_idb(LINKTYPE_RAW)
    big = ng_epb(0, 1, bytes(MAX_CAPLEN + 4))
    with pytest.raises(PcapError) as exc:
        read_all(head + ng_epb(0, 0, PKT) + big)
    offset = len(head) + len(ng_epb(0, 0, PKT))
    assert str(exc.value) == (
        f"input stream: packet block at offset {offset} claims {MAX_CAPLEN + 4} captured "
        f"bytes, over the {MAX_CAPLEN}-byte limit (corrupt file)"
    )
    recs, _, _ = read_all(head + ng_epb(0, 1, bytes(MAX_CAPLEN)))
    assert len(recs[0].data) == MAX_CAPLEN


def test_simple_packet_over_256k_is_corrupt() -> None:
    spb = ng_block(3, struct.pack("<I", MAX_CAPLEN + 100) + bytes(MAX_CAPLEN + 100))
    with pytest.raises(
        PcapError,
        match=r"simple packet block at offset \d+ claims \d+ captured bytes, over the 262144",
    ):
        read_all(ng_shb() + ng_idb(LINKTYPE_RAW) + spb)


def test_at_most_256_interfaces() -> None:
    idbs = ng_idb(LINKTYPE_RAW) * MAX_INTERFACES
    recs, cap, _ = read_all(ng_shb() + idbs + ng_epb(MAX_INTERFACES - 1, 0, PKT))
    assert len(cap.interfaces) == MAX_INTERFACES and recs[0].iface == MAX_INTERFACES - 1
    offset = len(ng_shb()) + len(idbs)
    with pytest.raises(PcapError) as exc:
        read_all(ng_shb() + idbs + ng_idb(LINKTYPE_ETHERNET) + ng_epb(0, 0, PKT))
    assert str(exc.value).startswith(
        f"input stream: interface block at offset {offset} is the file's 257th interface"
    )
    # sections repeating the same interfaces do not add up
    section = ng_shb() + ng_idb(LINKTYPE_RAW) * 200 + ng_epb(199, 0, PKT)
    recs, cap, _ = read_all(section * 3)
    assert len(cap.interfaces) == 200 and [r.iface for r in recs] == [199] * 3


def test_options_are_bounded() -> None:
    """An option list of 20,000 entries costs 64 entries of work; later options are ignored."""
    many = ng_opt(3, b"x") * 20_000
    idb = ng_idb(LINKTYPE_RAW, opts=many + ng_opt(2, b"late-name") + ng_end())
    comments = ng_opt(1, b"note") * 1000
    data = ng_shb() + idb + ng_epb(0, 0, PKT, comments + ng_flags(1))
    recs, cap, _ = read_all(data)
    assert cap.interfaces[0].name is None  # option 20,001: never reached
    assert recs[0].comment == "\n".join(["note"] * 64)
    assert recs[0].direction is None  # the flags come after the 64th option


def test_comments_and_names_are_raw_text_for_the_sanitizer() -> None:
    """The reader decodes, never interprets: escaping is tapwatch.sanitize's job at display."""
    hostile = b"\x1b]0;pwned\x07\xe2\x80\xae\xff"
    data = (
        ng_shb()
        + ng_idb(LINKTYPE_RAW, opts=ng_opt(2, hostile) + ng_end())
        + ng_epb(0, 0, PKT, ng_opt(1, hostile) + ng_end())
    )
    recs, cap, _ = read_all(data)
    text = hostile.decode("utf-8", "replace")
    assert cap.interfaces[0].name == text and recs[0].comment == text


# --------------------------------------------------------------------------- fuzz

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


SEED = (
    ng_shb()
    + ng_idb(LINKTYPE_RAW, opts=ng_opt(2, b"tun0") + ng_opt(9, b"\x09") + ng_end())
    + ng_epb(0, 1, PKT, ng_opt(1, b"c") + ng_flags(1))
    + ng_idb(LINKTYPE_ETHERNET, opts=ng_opt(2, b"eth0") + ng_end())
    + ng_epb(1, 2, bytes(14) + PKT, ng_flags(2))
    + ng_block(3, struct.pack("<I", len(PKT)) + PKT)
    + ng_shb(">")
    + ng_idb(LINKTYPE_RAW, e=">")
    + ng_epb(0, 3, PKT, e=">")
)


@FUZZ
@given(
    st.integers(0, len(SEED) - 4),
    st.sampled_from(
        [
            0,
            11,
            12,
            27,
            28,
            31,
            32,
            MAX_CAPLEN,
            MAX_CAPLEN + 1,
            MAX_BLOCK,
            MAX_BLOCK + 4,
            0xFFFFFFFC,
            0xFFFFFFFF,
        ]
    ),
    st.booleans(),
)
def test_fuzz_length_fields_at_the_bounds(where: int, value: int, big_endian: bool) -> None:
    """Every 32-bit field of a mixed multi-interface file set to a value at a bound."""
    raw = bytearray(SEED)
    where -= where % 4
    raw[where : where + 4] = struct.pack(">I" if big_endian else "<I", value)
    survive(bytes(raw))


@FUZZ
@given(st.binary(min_size=1, max_size=64), st.integers(0, len(SEED)))
def test_fuzz_inserted_bytes(junk: bytes, where: int) -> None:
    survive(SEED[:where] + junk + SEED[where:])


def test_seed_is_valid() -> None:
    recs, cap, _ = read_all(SEED)
    assert [r.iface for r in recs] == [0, 1, 0, 2]
    assert recs[0].comment == "c" and [i.name for i in cap.interfaces] == ["tun0", "eth0", None]
