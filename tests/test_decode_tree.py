"""The protocol tree reads as a protocol analyst expects, and every field still maps to its bytes.

The words, nesting and spans of the core layers are compared with tshark's on the same
packets in tests/test_tree_tshark.py (never with tapwatch's own earlier output); here the
spans select their bytes, the corpus carries no Python repr (``b'...'``, ``None``,
``0 items``) in a label, and every TCP layer says a checksum verdict.  Packets are built
with scapy and never sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from tapwatch import pcap
from tapwatch.decode import Node, detail
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

CORPUS = Path(__file__).resolve().parent / "corpus"


def test_spans_are_the_fields_bytes() -> None:
    """The words of these trees are tshark's (tests/test_tree_tshark.py compares every node
    with ``tshark -T pdml`` on the same packets); here, without tshark, the spans still
    select the bytes each field names."""
    frame = bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=50000, dport=80, flags="S", options=[("MSS", 1460), ("WScale", 7)])
    )
    nodes = detail(frame, LINKTYPE_ETHERNET)
    tcp = next(n for n in nodes if n.label.startswith("Transmission Control Protocol"))
    options = next(c for c in tcp.children if c.label.startswith("Options: "))
    mss = options.children[0]
    assert mss.label == "TCP Option - Maximum segment size: 1460 bytes"
    assert frame[mss.start : mss.end] == b"\x02\x04\x05\xb4"
    ip = next(n for n in nodes if n.label.startswith("Internet Protocol Version 4"))
    src = next(c for c in ip.children if c.label.startswith("Source Address"))
    assert frame[src.start : src.end] == bytes([10, 0, 0, 1])
    v6 = bytes(IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=1, seq=2))
    icmp6 = detail(v6, LINKTYPE_RAW)[-1]
    assert [c.label for c in icmp6.children][-2:] == ["Identifier: 0x0001", "Sequence: 2"]
    assert any("[correct]" in c.label for c in icmp6.children)
    cut = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP() / (b"x" * 100))[:80]
    assert "[unverified]" in " ".join(_labels(detail(cut, LINKTYPE_ETHERNET)))


def _labels(nodes: list[Node]) -> list[str]:
    out = []
    for n in nodes:
        out.append(n.label)
        out += _labels(n.children)
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.pcap")))
def test_corpus_trees_carry_no_python_reprs_and_agree_with_tcpdump(name: str) -> None:
    import re

    # ("(None)" is tshark's word for OSPF's checksum under cryptographic authentication)
    repr_like = re.compile(r"\bb'|\bb\"|(?<!\()\bNone\b| items\b|\[\]|<[A-Za-z_]+ ")
    with pcap.read_capture(str(CORPUS / name)) as cap:
        for rec in cap:
            nodes = detail(rec.data, cap.linktype)
            for label in _labels(nodes):
                assert not repr_like.search(label), label
            # a bad TCP checksum where tcpdump -v says "incorrect", and only there
            # (the corpus was captured where checksums are offloaded)
            text = " ".join(_labels(nodes))
            if "Transmission Control Protocol" in text and rec.data[:1]:
                assert (
                    "[correct]" in text or "incorrect, should be" in text or "[unverified]" in text
                )


def test_routing_daemons_packets_are_layers_of_the_tree() -> None:
    """What FRR and keepalived sent (the corpus) is dissected down to the protocol's own
    layer, not left as data after IP or UDP."""
    words = (  # Wireshark's titles where the tree words the layer as Wireshark does
        "Open Shortest Path First",
        "Protocol Independent Multicast",
        "Internet Group Management Protocol",
        "Label Distribution Protocol",
        "BFD",
        "Virtual Router Redundancy Protocol",
        "Border Gateway Protocol - OPEN Message",
    )
    corpus = Path(__file__).resolve().parent / "corpus"
    seen: dict[str, list[str]] = {}
    for name in ("routing.pcap", "vrrp.pcap"):
        with pcap.read_capture(str(corpus / name)) as reader:
            for rec in reader:
                labels = [n.label for n in detail(rec.data, reader.linktype)]
                for word in words:
                    if word not in seen and any(lab.startswith(word) for lab in labels):
                        seen[word] = labels
    assert set(seen) == set(words), sorted(seen)
    assert not any(lab.startswith("Data") for lab in seen[words[5]])


def test_openvpn_is_a_layer_of_the_tree_with_tsharks_fields() -> None:
    """A real OpenVPN handshake (tests/corpus/vpn.pcap): the server's hard reset shows its
    session, the packet-id it acknowledges, the client's session and its own packet-id, each
    over its own bytes, in tshark's words (tests/test_tree_tshark.py compares them all); over
    TCP the length prefix is the message's first field."""
    corpus = Path(__file__).resolve().parent / "corpus"
    with pcap.read_capture(str(corpus / "vpn.pcap")) as reader:
        frames = [rec.data for rec in reader]
    udp = next(
        f for f in frames if f[23] == 17 and f[42] >> 3 == 8
    )  # P_CONTROL_HARD_RESET_SERVER_V2 over UDP
    node = next(n for n in detail(udp, 1) if n.label.startswith("OpenVPN Protocol"))
    labels = {c.label.split(":")[0]: c for c in node.children}
    assert node.label == "OpenVPN Protocol"
    assert (
        labels["Type"].children[0].label.endswith("Opcode: P_CONTROL_HARD_RESET_SERVER_V2 (0x08)")
    )
    assert labels["Message Packet-ID Array Length"].label.endswith(": 1")
    assert [c.label for c in labels["Packet-ID Array"].children] == [
        "Message Packet-ID Array Element: 0"
    ]
    assert labels["Message Packet-ID"].label == "Message Packet-ID: 0"
    remote = labels["Remote Session ID"]
    assert udp[remote.start : remote.end] == udp[43 + 13 : 43 + 21]
    tcp = next(f for f in frames if f[23] == 6 and len(f) > 70 and f[68] >> 3 == 8)
    over_tcp = detail(tcp, 1)[3]
    assert over_tcp.label == "OpenVPN Protocol"
    assert over_tcp.children[0].label == f"Packet Length: {tcp[66] << 8 | tcp[67]}"


def test_ppp_link_type_frames_are_dissected() -> None:
    """A PPP link's frames (LINKTYPE_PPP) are dissected from the link layer on: LCP, and the IP
    packet a PPP frame carries, instead of one undissected block."""
    corpus = Path(__file__).resolve().parent / "corpus"
    with pcap.read_capture(str(corpus / "ppp.pcap")) as reader:
        frames = [rec.data for rec in reader]
        lt = reader.linktype
    assert any(n.label.startswith("PPP Link Control Protocol") for n in detail(frames[0], lt))
    ip = next(f for f in frames if f[2:4] == b"\x00\x21")
    assert any(n.label.startswith("Internet Protocol Version 4") for n in detail(ip, lt))
