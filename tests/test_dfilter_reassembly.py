"""TCP reassembly as tshark's: which frames ``http`` and ``tls`` select when segments come
out of order, are retransmitted, or split a TLS record's header.

Each capture is crafted with scapy (explicit addresses, never sent) after the pattern of
one of Wireshark's own test captures (``http-ooo.pcap``, ``http-ooo2.pcap``,
``tls-fragmented-handshakes.pcap``, ``retrans-tls.pcap``), and tshark on the same file
is the reference.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

from test_dfilter import needs_tshark, selected, tshark_selected_many

A, B = "10.0.0.1", "10.0.0.2"
FILTERS = ["http", "tls", "http.request", 'http.request.method == "PUT"', "tls.record"]


def _write(path: Path, segments: list[tuple[int, bytes, str]], dport: int, snap: int = 0) -> None:
    """One direction's segments ``(relative seq, payload, flags)`` after a handshake, each
    10 us after the one before (out of order, never retransmitted, by tshark's rule)."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    r = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    isn, risn = 1000, 5000
    pkts = [
        e / IP(src=A, dst=B) / TCP(sport=32323, dport=dport, flags="S", seq=isn),
        r / IP(src=B, dst=A) / TCP(sport=dport, dport=32323, flags="SA", seq=risn, ack=isn + 1),
        e / IP(src=A, dst=B) / TCP(sport=32323, dport=dport, flags="A", seq=isn + 1, ack=risn + 1),
    ]
    for rel, data, flags in segments:
        if rel < 0:  # the other way, from the server (its relative sequence number negated)
            tcp = TCP(sport=dport, dport=32323, flags=flags, seq=risn - rel, ack=isn + 1)
            head = r / IP(src=B, dst=A) / tcp
        else:
            tcp = TCP(sport=32323, dport=dport, flags=flags, seq=isn + rel, ack=risn + 1)
            head = e / IP(src=A, dst=B) / tcp
        pkts.append(head / Raw(data) if data else head)
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i * 0.00001
    if not snap:
        wrpcap(str(path), pkts)
        return
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1)]  # records cut at snap
    for i, p in enumerate(pkts):
        raw = bytes(p)
        out.append(struct.pack("<IIII", 1_700_000_000, i * 10, min(snap, len(raw)), len(raw)))
        out.append(raw[:snap])
    path.write_bytes(b"".join(out))


def _http_out_of_order(path: Path) -> None:
    """A request whose last segment comes out of order (not HTTP to tshark), then one whose
    body completes in order after a gap an out-of-order segment fills, then a chunked
    request with a lost segment: its later segments are continuations."""
    put = b"PUT /%d HTTP/1.1\r\nContent-Length: %d\r\n\r\n"
    p3, p4 = put % (3, 6), put % (4, 5)
    chunked = b"PUT /5 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nDATA\r\n"
    segs = [
        (1, put % (1, 4), "A"),
        (39, b"1\n", "A"),
        (60, b"\r", "A"),
        (41, b"2\n", "A"),  # fills the request out of order: reassembled, not dissected
        (41, b"2\n", "A"),
        (43, b"GET /2 HTTP/1.1\r\n", "A"),
        (61, b"\n", "A"),
        (62, p3, "A"),
        (62 + len(p3) + 6, p4, "A"),  # after a gap
        (62 + len(p3), b"after\n", "A"),  # out of order: completes /3, not dissected
        (62 + len(p3) + 6 + len(p4), b"four\n", "A"),  # completes /4: HTTP
    ]
    at = 62 + len(p3) + 6 + len(p4) + 5
    segs += [
        (at, chunked[:-6], "A"),
        (at + len(chunked) - 5, b"ATA\r\n", "A"),  # one byte lost: a continuation
        (at + len(chunked), b"0\r\n\r\n", "A"),
        (at + len(chunked) - 6, b"D", "A"),  # out of order
        (at + len(chunked) + 5, b"", "F"),
    ]
    _write(path, segs, 80)


def _http_nothing_before(path: Path) -> None:
    """Out-of-order segments before any request was seen: no HTTP at all (tshark calls a
    line that is no request a continuation only once a request was seen)."""
    req = b"PUT /1 HTTP/1.1\r\nContent-Length: 4\r\n\r\n"
    segs = [
        (len(req) + 2, b"2\n", "A"),
        (1, req, "A"),
        (1, req, "A"),
        (len(req), b"1\n", "A"),
        (len(req) + 4, b"3\n", "A"),
        (1, req, "A"),
    ]
    _write(path, segs, 80)


def _http_header_lines_after_gaps(path: Path) -> None:
    """Headers of a request that never completes, some segments lost, swapped or sent
    again over others: a segment after a gap whose first line is a header (a colon) is
    HTTP to tshark though no request was seen yet; one whose first line is not, is not."""
    line = b"X-Header-%02d: value\r\n"  # 20 bytes a line
    segs = [
        (1, b"GET / HTTP/1.1\r\n", "A"),
        (17, line % 1, "A"),
        (57, line % 3, "A"),  # after a gap
        (37, line % 2, "A"),  # out of order
        (77, line % 4, "A"),
        (77, b"X-Overlap-IGNORE:\r\n", "A"),  # a retransmission
        (77, line % 4 + line % 5, "A"),  # out of order
        (137, b"not a header line\r\n", "A"),  # after a gap
        (157, b"X-Header-99\r\n", "A"),
        (200, b"\r\n", "A"),
        (230, line % 6, "A"),
        (250, b"\r\n", "A"),
    ]
    _write(path, segs, 80)


def _http_cut_heads(path: Path) -> None:
    """A capture cut at 84 bytes: a request cut in its first line and a response cut in
    its headers are HTTP as they are (nothing gathers after a cut segment), and the
    response's next segment a continuation."""
    request = b"GET /images/a-rather-long-name-for-an-image.png HTTP/1.1\r\nHost: x\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nDate: today\r\nContent-Length: 2000\r\n\r\n" + b"\x91" * 600
    segs = [
        (1, request, "PA"),
        (-1, response, "PA"),
        (-1 - len(response), b"\xf8" * 300, "PA"),
        (-1 - len(response) - 300, b"\xf8" * 20, "PA"),
    ]
    _write(path, segs, 80, snap=84)


def _tls_split_headers(path: Path) -> None:
    """Records whose five-byte header a segment boundary cuts (the frame that completes the
    header but not the record is TLS to tshark), and a retransmission that starts where a
    record began and brings the rest of it."""
    big = b"\x17\x03\x03\x00\x30" + b"3" * 48
    data = b"\x17\x03\x03\x00\x10" + b"d" * 16
    stream = big * 3 + data * 2
    segs = []
    cuts = [0, 55, 110, 117, 160, 175, len(stream)]
    for s, t in itertools.pairwise(cuts):
        segs.append((1 + s, stream[s:t], "PA"))
    _write(path, segs, 443)


def _tls_retransmitted_start(path: Path) -> None:
    record = b"\x17\x03\x03\x00\x10" + b"r" * 16
    _write(path, [(1, record[:1], "PA"), (1, record, "PA")], 443)


def _tls_after_a_gap(path: Path) -> None:
    """Once the Server Hello said TLS 1.2, a server segment after a gap that starts with a
    known content type is a record whatever its version field says (tshark then gathers
    the length it announces, so the segments after it are not TLS until it completes),
    and one that starts with an unknown type is an ignored record; before, a header
    with an unknown version is continuation data."""
    rnd = bytes(range(32))
    client = b"\x01\x00\x00\x29\x03\x03" + rnd + b"\x00\x00\x02\x00\x2f\x01\x00"
    server = b"\x02\x00\x00\x26\x03\x03" + rnd + b"\x00\x00\x2f\x00"
    app = b"\x17\x03\x03\x00\x20" + b"a" * 32
    segs = [
        (1, b"\x18\xe0\x1f\x00\x10" + b"c" * 30, "PA"),  # no version known yet
        (36, b"\x16\x03\x01\x00\x2d" + client, "PA"),
        (-1, b"\x16\x03\x03\x00\x2a" + server, "PA"),
        (-48, app, "PA"),
        (-85 - 37, b"\x99" + b"u" * 36, "PA"),  # after a gap: an unknown record
        (-85 - 74, b"\x18\xe0\x1f\x00\x60" + b"h" * 32, "PA"),  # a record to gather
        (-85 - 111, b"h" * 37, "PA"),
        (-85 - 148, b"h" * 37 + app, "PA"),
        (-85 - 148 - 37 - 37, app, "PA"),
    ]
    _write(path, segs, 443)


@needs_tshark
def test_reassembly_selects_what_tshark_selects(tmp_path: Path) -> None:
    """Out-of-order and retransmitted segments, split TLS headers: the frames ``http`` and
    ``tls`` select are tshark's (main took an out-of-order segment for new data, made
    every line after a gap HTTP, and missed TLS frames that extend a record)."""
    makers = [_http_out_of_order, _http_nothing_before, _http_header_lines_after_gaps]
    makers += [_http_cut_heads, _tls_split_headers]
    makers += [_tls_retransmitted_start, _tls_after_a_gap]
    for make in makers:
        path = tmp_path / f"{make.__name__}.pcap"
        make(path)
        oracle = tshark_selected_many(path, FILTERS, tmp_path)
        for expr, want in zip(FILTERS, oracle, strict=True):
            assert selected(path, expr) == want, (make.__name__, expr)
