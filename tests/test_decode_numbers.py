"""Numbers a packet may make as large as it likes, printed as tcpdump prints them.

A field wider than the C type tcpdump reads it into (an SNMP INTEGER of thousands of
bytes, an OID subidentifier past 32 bits, BFD's multiplier times a 32-bit interval) is
where a decoder computing with Python's unbounded integers goes astray: a number too long
for ``str`` (the line became "[malformed: decoder error ValueError]"), quadratic work for
one packet, a value tcpdump does not print, and in the compiled decoder a product with a
factor of 2**30 or more, which goes through Python's long multiplication: that checks for
signals, and a Ctrl-C arriving there made mypyc abort the process. Each case against
tcpdump on the same file. Built by hand (struct), never sent.
"""

from __future__ import annotations

import struct
from pathlib import Path

from test_tcpdump_parity import tcpdump_packets

from tapwatch import decode, pcap
from tapwatch.decode import services
from tapwatch.linktypes import LINKTYPE_RAW

T0 = 1_700_000_000_000_000_000


def _udp(payload: bytes, sport: int, dport: int) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return (
        struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, b"\n\0\0\1", b"\n\0\0\2"
        )
        + udp
    )


def _bfd(mult: int, tx: int) -> bytes:
    """A BFD control packet (RFC 5880), state Up, to the single-hop port."""
    body = struct.pack("!BBBBIIIII", 0x20, 0xC0, mult, 24, 1, 2, tx, 1_000_000, 0)
    return _udp(body, 50000, 3784)


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def _snmp(*varbinds: tuple[bytes, int, bytes], request_id: bytes = b"\x01") -> bytes:
    """An SNMPv1 GetResponse with the given (OID body, value tag, value) varbinds."""
    vbs = b"".join(_tlv(0x30, _tlv(0x06, oid) + _tlv(tag, v)) for oid, tag, v in varbinds)
    pdu = _tlv(0x02, request_id) + _tlv(0x02, b"\0") + _tlv(0x02, b"\0") + _tlv(0x30, vbs)
    msg = _tlv(0x02, b"\0") + _tlv(0x04, b"public") + _tlv(0xA2, pdu)
    return _udp(_tlv(0x30, msg), 161, 1024)


OID = b"\x2b\x06\x01"
PACKETS = [
    _bfd(255, 0xFFFFFFFF),  # a product past 32 bits: tcpdump's u_int wraps
    _bfd(3, 0x6000_0000),
    _bfd(3, 300_000),
    _snmp((OID + b"\x8f\xff\xff\xff\x7f\x01", 0x05, b"")),  # a subidentifier of 35 bits
    _snmp((b"\xff\xff\xff\xff\xff\x7f\x01", 0x05, b"")),  # ... in the first (two in one)
    _snmp((b"\x2b" + b"\xff" * 3000 + b"\x7f", 0x05, b"")),  # of 21,000 bits
    _snmp(
        (OID, 0x02, b"\x00\xff\xff\xff\xff"),  # INTEGERs wider than tcpdump's int32_t
        (OID, 0x02, b"\x80" + bytes(7)),
        (OID, 0x02, b"\x7f" * 2000),
        (OID, 0x41, b"\x01" * 6),  # Counter, Gauge, TimeTicks: uint32_t
        (OID, 0x42, b"\xff" * 5),
        (OID, 0x43, b"\x12" * 3000),
        (OID, 0x46, b"\x01\x02" * 6),  # Counter64: uint64_t
        request_id=b"\x01" * 1500,
    ),
]


def test_wide_fields_print_as_tcpdump_prints_them(tmp_path: Path) -> None:
    path = tmp_path / "numbers.pcap"
    with pcap.open_writer(str(path), LINKTYPE_RAW) as w:
        for i, data in enumerate(PACKETS):
            w.write(T0 + i * 1000, data)
    theirs = tcpdump_packets(path, "-v")
    fmt = decode.LineFormatter(LINKTYPE_RAW, strict=True, verbose=1)
    ours = [fmt.line(T0 + i * 1000, data, len(data))[16:] for i, data in enumerate(PACKETS)]
    assert len(theirs) == len(ours)
    for mine, tcpdump in zip(ours, theirs, strict=True):
        assert mine == tcpdump


def test_a_subidentifier_of_a_whole_packet_is_one_32_bit_value() -> None:
    """64 KB of continuation bytes: the value tcpdump keeps, not a 420,000-bit number (built
    in 0.4 s, then refused by ``str``)."""
    big = b"\x2b" + b"\xff" * 60_000 + b"\x7f"
    assert services._oid(big, 0, len(big)) == ".1.3.4294967295"
