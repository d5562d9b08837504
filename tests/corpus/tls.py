"""TLS records on TCP 443, one segment a connection (so that tshark's record reassembly,
which runs within a connection, does not carry one segment's state to the next), built
byte by byte as RFC 8446 section 5.1 and RFC 5246 section 7.4 lay them out: regenerate
with ``.venv/bin/python tests/corpus/tls.py`` (no privileges needed).

``tls.pcap``: Client Hellos (with and without a server name), a Server Hello, Change
Cipher Spec, Application Data, an encrypted handshake message, several records in one
segment, a known record followed by an unknown one, a segment that starts no record,
text on the TLS port, alerts (plain and encrypted), heartbeats, the other handshake
messages, several messages in one record, fragments of a message, records cut by the
segment's end, and then what tshark words otherwise (a Client Hello cut inside its
record, empty records, content type 25, TLS on a port only the heuristic takes).
"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rec(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    """One record: content type, version, length, fragment."""
    return struct.pack("!BHH", ctype, version, len(body)) + body


def hs(htype: int, body: bytes) -> bytes:
    """One handshake message: type and 24-bit length."""
    return bytes([htype]) + len(body).to_bytes(3, "big") + body


def client_hello(sni: str | None) -> bytes:
    """A Client Hello offering one suite, with a server_name extension when ``sni``."""
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    ext = b""
    if sni:
        name = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        ext = struct.pack("!HHH", 0, len(entry) + 2, len(entry)) + entry
    return hs(1, body + struct.pack("!H", len(ext)) + ext)


SERVER_HELLO = hs(2, b"\x03\x03" + b"\x22" * 32 + b"\x00" + b"\x13\x01\x00" + b"\x00\x00")

PAYLOADS: list[bytes] = [
    rec(22, client_hello("example.com"), 0x0301),
    rec(22, client_hello(None), 0x0301),
    rec(22, SERVER_HELLO),
    rec(20, b"\x01"),
    rec(23, b"\xaa" * 40),
    rec(22, b"\x9f" * 40),
    rec(22, SERVER_HELLO) + rec(20, b"\x01") + rec(23, b"\xbb" * 30),
    rec(99, b"\x00" * 10),
    b"\x55" * 50,
    b"\x00" * 50,
    b"AB\tCD\x00\x00",
    rec(23, b"\xaa" * 10) + rec(99, b"\0" * 5),
    rec(21, b"\x02\x28"),
    rec(21, b"\x01\x00"),
    rec(21, b"\x02\x99"),
    rec(21, b"\xcc" * 26),
    rec(24, b"\x01\x00\x03abc" + b"\0" * 16),
    rec(24, b"\x02\x00\x01a" + b"\0" * 16),
    rec(24, b"\x07" * 5),
    *(rec(22, hs(t, b"\0" * 8)) for t in (0, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 21)),
    *(rec(22, hs(t, b"\0" * 8)) for t in (22, 23, 24, 25, 104)),
    rec(22, SERVER_HELLO + hs(11, b"\0\0\0") + hs(14, b"")),
    rec(22, hs(14, b"") + b"\x0b\x00"),
    rec(22, b"\x0f\x00\x01\x00" + b"\0" * 30),
    rec(22, b"\x68\x00\x01\x00" + b"\0" * 11),
    rec(22, b"\x01"),
    rec(23, b"\xaa" * 40) + rec(23, b"\xaa" * 100)[:20],
    b"\x16\x03\x03\x00\x30" + b"\x01" * 10,
    rec(23, b"ab", 0x0302),
    rec(22, SERVER_HELLO, 0x0300),
    # what tshark words otherwise (listed in tests/test_info_tshark.py)
    rec(22, hs(1, b"\x03\x03")),
    rec(23, b""),
    rec(25, b"\0" * 4),
]


def main(path: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import PcapWriter

    out = PcapWriter(str(path), linktype=1, sync=True)
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    ip = IP(src="10.0.0.1", dst="10.0.0.2")
    for i, payload in enumerate(PAYLOADS):
        seg = TCP(sport=41000 + i, dport=443, flags="PA", seq=1, ack=1, window=8192)
        out.write(eth / ip / seg / Raw(payload))
    heuristic = TCP(sport=42000, dport=4433, flags="PA", seq=1, ack=1, window=8192)
    out.write(eth / ip / heuristic / Raw(rec(22, client_hello("a.example"), 0x0301)))
    out.close()


if __name__ == "__main__":
    main(HERE / "tls.pcap")
