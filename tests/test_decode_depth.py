"""The tree's Wireshark depth (HTTP and TLS layers, TCP flag bits and options, DNS flags,
ICMPv6 ND options, MAC vendors), compared line by line with ``tshark -V`` on the same packets.

Each line tapwatch shows under those nodes must be a line of tshark's tree for that
frame (indentation aside): the words are Wireshark's, not tapwatch's own earlier output.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("scapy")

from tapwatch import pcap
from tapwatch.decode import Node, detail
from tapwatch.decode.depth import mac_text, vendor

CORPUS = Path(__file__).parent / "corpus"
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def tshark_lines(path: Path, frame: int) -> set[str]:
    r = subprocess.run(
        ["tshark", "-r", str(path), "-V", "-Y", f"frame.number == {frame}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return {line.strip() for line in r.stdout.splitlines()}


def ours(path: Path, frame: int) -> list[Node]:
    with pcap.read_capture(str(path)) as cap:
        for n, rec in enumerate(cap, 1):
            if n == frame:
                return detail(rec.data, cap.interfaces[rec.iface].linktype)
    raise AssertionError(f"no frame {frame}")


def under(nodes: list[Node], prefix: str) -> list[str]:
    """Every label in the subtree of the first node whose label starts with ``prefix``."""
    for n in nodes:
        if n.label.startswith(prefix):
            out = [n.label]
            stack = list(n.children)
            while stack:
                c = stack.pop(0)
                out.append(c.label)
                stack[:0] = c.children
            return out
        got = under(n.children, prefix)
        if got:
            return got
    return []


@needs_tshark
@pytest.mark.parametrize(
    ("frame", "prefix"),
    [
        (67, "Hypertext Transfer Protocol"),  # a request, whole in one segment
        (44, "Flags: 0x0100"),  # a DNS query's flags
        (29, "ICMPv6 Option"),  # a neighbour advertisement's option
        (67, "Flags: 0x018"),  # TCP flag bits
    ],
)
def test_tree_lines_are_tsharks(frame: int, prefix: str) -> None:
    path = CORPUS / "real.pcap"
    lines = under(ours(path, frame), prefix)
    assert len(lines) > 1, prefix
    theirs = tshark_lines(path, frame)
    missing = [line for line in lines if line not in theirs]
    assert not missing, missing


@needs_tshark
def test_tcp_options_kind_and_length_are_tsharks() -> None:
    path = CORPUS / "real.pcap"
    lines = under(ours(path, 67), "Options")
    kinds = [line for line in lines if line.startswith(("Kind:", "Length:"))]
    assert kinds
    theirs = tshark_lines(path, 67)
    assert all(k in theirs for k in kinds), [k for k in kinds if k not in theirs]


@needs_tshark
def test_tls_client_hello_and_vendor_names(tmp_path: Path) -> None:
    """A Client Hello's record layer and server name; an Intel MAC named as tshark names it."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    name = b"example.org"
    sni = b"\x00\x00" + (len(name) + 5).to_bytes(2, "big") + (len(name) + 3).to_bytes(2, "big")
    sni += b"\x00" + len(name).to_bytes(2, "big") + name
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += len(sni).to_bytes(2, "big") + sni
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    hello = b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
    frame = (
        Ether(src="00:1b:21:12:34:56", dst="02:00:00:00:00:02")
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=40000, dport=443, flags="PA", seq=1, ack=1)
        / hello
    )
    path = tmp_path / "tls.pcap"
    wrpcap(str(path), [frame])
    nodes = ours(path, 1)
    theirs = tshark_lines(path, 1)
    tls = under(nodes, "Transport Layer Security")
    assert "Server Name: example.org" in tls
    shared = [line for line in tls if not line.startswith(("Server Name", "Handshake Protocol"))]
    assert all(line in theirs for line in shared), [x for x in shared if x not in theirs]
    assert vendor(bytes.fromhex("001b21123456")) is not None
    eth = under(nodes, "Ethernet II")
    assert eth[0] in theirs and f"Source: {mac_text(bytes.fromhex('001b21123456'))}" in theirs


@needs_tshark
@pytest.mark.parametrize("frame", [65, 67, 71, 72])
def test_tcp_with_the_analysis_is_tsharks(frame: int) -> None:
    """Relative numbers, stream, next seq, calculated window and the SEQ/ACK analysis the
    expert index adds to the TCP layer, against tshark -V for the same frame."""
    from tapwatch.analysis.expert import ExpertIndex, enrich
    from tapwatch.ring import Ring

    path = CORPUS / "real.pcap"
    ring = Ring()
    with pcap.read_capture(str(path)) as cap:
        lts = [i.linktype for i in cap.interfaces]
        for rec in cap:
            ring.append(rec.ts_ns, 0, rec.data, rec.iface)
    index = ExpertIndex(lts)
    index.update(ring)
    rec = ring.get(frame)
    assert rec is not None
    nodes = enrich(detail(rec.data, lts[rec.iface]), index, frame)
    lines = under(nodes, "Transmission Control Protocol")
    stateful = ("Transmission", "[Stream", "[TCP Segment", "Sequence", "[Next", "Ackn", "[Calc")
    shown = [x for x in lines if x.startswith((*stateful, "[This is", "[The RTT"))]
    assert len(shown) >= 8
    theirs = tshark_lines(path, frame)
    assert [x for x in shown if x not in theirs] == []


@needs_tshark
@pytest.mark.parametrize(
    ("frame", "layer"),
    [(71, "Data"), (23, "Internet Control Message"), (31, "Internet Control Message Protocol v6")],
)
def test_transaction_lines_are_tsharks(frame: int, layer: str) -> None:
    """What a response says of its request (tshark's one pass: responses only)."""
    from tapwatch.analysis.expert import ExpertIndex, transaction_lines
    from tapwatch.ring import Ring

    path = CORPUS / "real.pcap"
    ring = Ring()
    with pcap.read_capture(str(path)) as cap:
        lts = [i.linktype for i in cap.interfaces]
        for rec in cap:
            ring.append(rec.ts_ns, 0, rec.data, rec.iface)
    index = ExpertIndex(lts)
    index.update(ring)
    lines = transaction_lines(index, frame)
    assert len(lines) == 2
    theirs = tshark_lines(path, frame)
    assert [x for x in lines if x not in theirs] == []
