"""TLS wherever tshark finds it: on its TLS ports, and on a port no other protocol takes when
a segment starts a record header its heuristic accepts (the connection is then TLS both
ways), never on a port another dissector takes, never for plaintext HTTP on port 443.

One rule (:mod:`tapwatch.decode.tcpapps`) serves the display filter and the protocol tree;
what ``-Y`` selects and where the tree shows a TLS layer are compared with tshark on the
same crafted segments (never sent).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from capture_checks import tshark_fields
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from test_dfilter import needs_tshark, selected, tshark_selected_many

from tapwatch import pcap
from tapwatch.decode import detail
from tapwatch.linktypes import LINKTYPE_ETHERNET

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def record(ctype: int, version: int, body: bytes) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def client_hello(name: bytes, version: int = 0x0301) -> bytes:
    """A Client Hello record with a server name."""
    sni = b"\x00\x00" + (len(name) + 5).to_bytes(2, "big") + (len(name) + 3).to_bytes(2, "big")
    sni += b"\x00" + len(name).to_bytes(2, "big") + name
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += len(sni).to_bytes(2, "big") + sni
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return record(22, version, hs)


def server_hello() -> bytes:
    """A Server Hello record (49 bytes)."""
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00" + b"\x00\x00"
    return record(22, 0x0303, b"\x02" + len(body).to_bytes(3, "big") + body)


HELLO_8443 = client_hello(b"a.example")
HELLO_4433 = client_hello(b"b.example")
#: (what the segment is, client port, server port, payload, seq, from the server)
SEGMENTS: list[tuple[str, int, int, bytes, int, bool]] = [
    ("hello to 8443", 40001, 8443, HELLO_8443, 1000, False),  # 1
    ("hello to 4433", 40002, 4433, HELLO_4433, 1000, False),  # 2
    ("application data to 12345", 40003, 12345, record(23, 0x0303, b"x" * 40), 1000, False),
    ("plaintext HTTP on 443", 40004, 443, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1000, False),
    ("bytes that are no record on 443", 40005, 443, bytes(range(8)), 1000, False),  # 5
    ("a change cipher spec alone", 40006, 12346, record(20, 0x0303, b"\x01"), 1000, False),
    ("a TLS 1.3 version in the header", 40007, 12348, record(22, 0x0304, b"\x01"), 1000, False),
    ("an empty record", 40008, 12349, record(22, 0x0303, b""), 1000, False),
    ("a record too long", 40009, 12354, struct.pack("!BHH", 23, 0x0303, 18432), 1000, False),
    ("a record continued later", 40010, 12353, struct.pack("!BHH", 23, 0x0303, 400), 1000, False),
    ("TLS on HTTP's port", 40011, 80, record(23, 0x0302, b"y" * 10), 1000, False),  # 11
    ("TLS on OpenVPN's port", 40012, 1194, record(23, 0x0303, b"y" * 10), 1000, False),
    ("TLS on SSH's port", 40013, 22, record(23, 0x0303, b"y" * 10), 1000, False),
    ("TLS on IMAPS's port", 40014, 993, server_hello(), 1000, False),
    ("the 8443 server answers", 40001, 8443, server_hello(), 5000, True),  # 15
    ("then a change cipher spec", 40001, 8443, record(20, 0x0303, b"\x01"), 5000 + 49, True),
    ("the 4433 client sends what is no record", 40002, 4433, b"\x00\x01\x02\x03\x04\x05", 0, False),
    ("a heartbeat on 443", 40015, 443, record(24, 0x0303, b"zz"), 1000, False),
    ("an SSL 3.0 record to 12351", 40016, 12351, record(23, 0x0300, b"q" * 10), 1000, False),
    ("four bytes of a header", 40017, 12355, b"\x16\x03\x01\x00", 1000, False),  # 20
    ("text to 12356", 40018, 12356, b"hello world\r\n", 1000, False),
]
#: The segments whose TLS tshark knows from an earlier segment of the connection: the tree,
#: which shows one packet, cannot know it.
CONVERSATION = {16, 17}


def _frames() -> list[bytes]:
    out = []
    for _what, client, server, payload, seq, back in SEGMENTS:
        if back:
            ip, tcp = IP(src="10.0.0.2", dst="10.0.0.1"), TCP(sport=server, dport=client)
        else:
            ip, tcp = IP(src="10.0.0.1", dst="10.0.0.2"), TCP(sport=client, dport=server)
        if seq == 0:  # follows the connection's first segment
            seq = 1000 + len(HELLO_4433)
        tcp.seq, tcp.flags = seq, "PA"
        out.append(bytes(Ether(src=M1, dst=M2) / ip / tcp / Raw(payload)))
    return out


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "tls.pcap"
    w = pcap.open_writer(str(path), LINKTYPE_ETHERNET)
    for i, f in enumerate(_frames()):
        w.write(10**18 + i * 1000, f, None, None, 0)
    w.close()
    return path


FILTERS = [
    "tls",
    "tls.record",
    "tls.record.content_type == 22",
    "tls.record.content_type == 23",
    "tls.record.content_type == 20",
    "tls.record.version == 0x0301",
    "tls.handshake",
    "tls.handshake.type == 1",
    "tls.handshake.type == 2",
    'tls.handshake.extensions_server_name == "b.example"',
    "tls.handshake.extensions_server_name",
    "tls.app_data",
    "tls.change_cipher_spec",
    "tcp && !tls",
    'http.request.method == "GET"',  # plaintext HTTP on 443 is HTTP
]


@needs_tshark
def test_tls_on_any_port_is_selected_as_tshark_selects_it(capture: Path, tmp_path: Path) -> None:
    theirs = tshark_selected_many(capture, FILTERS, tmp_path)
    # the segments are what they are meant to be
    assert theirs[0] == [1, 2, 3, 5, 10, 14, 15, 16, 17, 18, 19], theirs[0]
    ours = [selected(capture, e) for e in FILTERS]
    wrong = [(e, o, t) for e, o, t in zip(FILTERS, ours, theirs, strict=True) if o != t]
    assert not wrong, wrong


@needs_tshark
def test_the_tree_shows_tls_where_tshark_does(capture: Path) -> None:
    out = [row[0] for row in tshark_fields(capture, "frame.protocols")]
    theirs = ["tls" in line.split(":") for line in out]
    ours = []
    with pcap.read_capture(str(capture)) as cap:
        for rec in cap:
            nodes = detail(rec.data, cap.interfaces[rec.iface].linktype)
            ours.append(any(n.label == "Transport Layer Security" for n in nodes))
    assert len(ours) == len(theirs) == len(SEGMENTS)
    wrong = [
        (n, SEGMENTS[n - 1][0], o, t)
        for n, (o, t) in enumerate(zip(ours, theirs, strict=True), 1)
        if n not in CONVERSATION and o != t
    ]
    assert not wrong, wrong


def test_one_rule_for_the_filter_and_the_tree() -> None:
    """The display filter and the tree read the same ports and the same heuristic."""
    from tapwatch.decode import depth, tcpapps
    from tapwatch.dfilter.protocols import apps

    assert apps.TLS_PORTS is depth.TLS_PORTS is tcpapps.TLS_PORTS
    assert apps.HTTP_PORTS is depth.HTTP_PORTS is tcpapps.HTTP_PORTS
    hello = client_hello(b"x")
    assert tcpapps.app(40000, 8443, hello, 0, len(hello)) == "tls"
    assert tcpapps.app(40000, 80, hello, 0, len(hello)) == "http"  # HTTP's port: not TLS
    assert tcpapps.app(40000, 22, hello, 0, len(hello)) is None  # SSH's
    get = b"GET / HTTP/1.1\r\n\r\n"
    assert tcpapps.app(40000, 443, get, 0, len(get)) == "http"
    # a segment in the middle of a record on a connection already TLS
    assert tcpapps.app(40000, 443, get, 0, len(get), fresh=False) == "tls"
    assert tcpapps.app(40000, 12345, b"\x00" * 8, 0, 8, tls_before=True) == "tls"
