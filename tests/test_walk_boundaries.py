"""Every consumer takes a header's boundaries from the decoder's one header walk (issue 22).

For each layer the protocol tree shows and each layer the display filter's generic walk
makes, on every packet of the corpus and on crafted frames (IPv4 and TCP options, VLAN
tags, IPv6 extension headers, an MPLS label stack, GRE with its optional fields and PPTP's
enhanced GRE, Geneve's options, AH), where the layer starts and where its header ends are
where :func:`tapwatch.decode.walk` has them.  A consumer that reads a header's length
fields itself (IHL, a data offset, an extension header's length, GRE's flags, the bottom
of an MPLS stack) and gets another answer fails here; so does one the walk cannot answer.
The crafted PPTP frame is also checked against tshark: the walk's end of its header is
where tshark finds the PPP frame.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import GRE, GRE_PPTP, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP
from scapy.utils import wrpcap

from tapwatch import decode, pcap
from tapwatch.decode.core import Walk
from tapwatch.decode.node import Node
from tapwatch.decode.tree import detail
from tapwatch.dfilter import compile_filter
from tapwatch.dfilter.packet import Packet
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

CORPUS = Path(__file__).resolve().parent / "corpus"

_E = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
#: frames whose headers have lengths of their own to read, each a link type and bytes
CRAFTED: dict[str, tuple[int, bytes]] = {
    "ipv4 and tcp options": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x94\x04\x00\x00")
            / TCP(sport=1234, dport=80, flags="S", options=[("MSS", 1460), ("NOP", None)])
        ),
    ),
    "vlan tags, ipv6 extension headers": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / Dot1AD(vlan=20)
            / Dot1Q(vlan=10)
            / IPv6(src="fd00::1", dst="fd00::2")
            / IPv6ExtHdrHopByHop()
            / IPv6ExtHdrRouting()
            / IPv6ExtHdrDestOpt()
            / UDP(sport=5000, dport=5001)
            / (b"x" * 12)
        ),
    ),
    "ipv6 first fragment": (
        LINKTYPE_RAW,
        bytes(
            IPv6(src="fd00::1", dst="fd00::2")
            / IPv6ExtHdrFragment(m=1, id=7)
            / UDP(sport=5000, dport=5001)
            / (b"y" * 40)
        ),
    ),
    "mpls stack": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E, type=0x8847)
            / MPLS(label=100, s=0)
            / MPLS(label=200, s=0)
            / MPLS(label=300, s=1)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / UDP(sport=1, dport=2)
        ),
    ),
    "gre key and sequence": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / GRE(key_present=1, key=7, seqnum_present=1, sequence_number=9)
            / IP(src="192.168.0.1", dst="192.168.0.2")
            / ICMP()
        ),
    ),
    "pptp gre with an acknowledgment": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / GRE_PPTP(seqnum_present=1, sequence_number=3, acknum_present=1, ack_number=2)
            / PPP(proto=0x0021)
            / IP(src="192.168.7.1", dst="192.168.7.2")
            / ICMP()
        ),
    ),
    "geneve options": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / UDP(sport=40000, dport=6081)
            / GENEVE(vni=5, optionlen=2, proto=0x6558, options=b"\x01\x02\x03\x04" * 2)
            / Ether(**_E)
            / IP(src="192.168.0.1", dst="192.168.0.2")
            / ICMP()
        ),
    ),
    "ah behind ipv4 and ipv6": (
        LINKTYPE_RAW,
        bytes(
            IP(src="10.0.0.1", dst="10.0.0.2")
            / AH(spi=1, seq=1, icv=b"\0" * 12, nh=41, payloadlen=4)
            / IPv6(src="fd00::1", dst="fd00::2")
            / AH(spi=2, seq=1, icv=b"\0" * 12, nh=6, payloadlen=4)
            / TCP(sport=1, dport=2)
        ),
    ),
}

#: the tree's layer titles, by the walk's name for the layer
_TITLES = {
    "Ethernet II,": "Ethernet",
    "802.1Q Virtual LAN,": "802.1Q",
    "IEEE 802.1ad,": "802.1ad",
    "Internet Protocol Version 4,": "IPv4",
    "Internet Protocol Version 6,": "IPv6",
    "Transmission Control Protocol,": "TCP",
    "User Datagram Protocol,": "UDP",
    "Generic Routing Encapsulation": "GRE",
    "Generic Network Virtualization Encapsulation": "Geneve",
}
#: the tree's nodes of headers inside a layer: IPv6's extension headers, MPLS's labels
_PARTS = {
    "IPv6 Hop-by-Hop Option": "IPv6",
    "Destination Options for IPv6": "IPv6",
    "Routing Header for IPv6": "IPv6",
    "Fragment Header for IPv6": "IPv6",
    "MultiProtocol Label Switching Header": "MPLS",
}
#: the tree's layers whose node spans exactly the header (IPv4 and TCP: at least the 20
#: bytes of the fixed part; IPv6 and UDP span what they carry, as tshark's)
_WHOLE_HEADER = frozenset({"Ethernet", "802.1Q", "802.1ad", "IPv4", "TCP", "GRE", "Geneve"})
#: the display filter's layers, by the walk's names for them (a layer inside a layer: the
#: layer's name after a slash)
_FILTER_LAYERS = {
    "eth": ("Ethernet",),
    "vlan": ("802.1Q", "802.1ad"),
    "sll": ("SLL", "SLL2"),
    "null": ("Null",),
    "ip": ("IPv4",),
    "gre": ("GRE",),
    "geneve": ("Geneve",),
    "ah": ("AH", "/IPv6"),
    "mpls": ("/MPLS",),
    "ipv6.hopopts": ("/IPv6",),
    "ipv6.routing": ("/IPv6",),
    "ipv6.dstopts": ("/IPv6",),
    "ipv6.fraghdr": ("/IPv6",),
}


def _frames() -> Iterator[tuple[str, int, bytes]]:
    for name, (lt, data) in CRAFTED.items():
        yield name, lt, data
    for path in sorted(CORPUS.glob("*.pcap")):
        with pcap.read_capture(str(path)) as reader:
            for i, rec in enumerate(reader):
                if i >= 300:
                    break
                yield f"{path.name}#{i + 1}", reader.linktype, bytes(rec.data)


def _nodes(nodes: list[Node]) -> Iterator[Node]:
    for n in nodes:
        yield n
        yield from _nodes(n.children)


def _expected(w: Walk, off: int, names: tuple[str, ...]) -> int:
    """Where the walk has the header ``names`` names (a layer, or ``/LAYER``: a header
    inside that layer) at ``off`` end; -1 when it has none there."""
    got = -1
    for name in names:
        if name.startswith("/"):
            got = max(got, w.part_end(off, name[1:]))
        else:
            got = max(got, w.header_end(off, name))
    return got


def _tree_disagreements(lt: int, data: bytes, w: Walk) -> tuple[list[str], int]:
    n, bad, checked = len(data), [], 0
    starts = set(zip(w.names, w.starts, strict=True))
    for node in _nodes(detail(data, lt)):
        part = next((v for k, v in _PARTS.items() if node.label.startswith(k)), None)
        if part is not None:
            end = w.part_end(node.start, part)
            if end < 0:
                continue
            checked += 1
            if node.end != min(n, end):
                bad.append(f"tree {node.label!r}: ends at {node.end}, the walk's at {end}")
            continue
        name = next((v for k, v in _TITLES.items() if node.label.startswith(k)), None)
        if name is None:
            continue
        head = w.header_end(node.start, name)
        if (name, node.start) not in starts and head < 0:
            continue  # a layer the frame's walk does not enter (quoted in an ICMP error)
        checked += 1
        if (name, node.start) not in starts:
            bad.append(f"tree {node.label!r}: starts at {node.start}, not where the walk has it")
        elif name in _WHOLE_HEADER and head >= 0:
            want = min(n, max(head, node.start + 20) if name in ("IPv4", "TCP") else head)
            if node.end != want:
                bad.append(f"tree {node.label!r}: ends at {node.end}, the walk's at {want}")
    return bad, checked


def _filter_disagreements(lt: int, data: bytes, w: Walk) -> tuple[list[str], int]:
    bad, checked = [], 0
    for layer in Packet(data, lt).layers():
        names = _FILTER_LAYERS.get(layer.name)
        if names is None or layer.data is not data:
            continue
        end = _expected(w, layer.off, names)
        if end < 0:
            continue  # a header the frame's walk does not reach
        checked += 1
        if layer.off + layer.hlen != end:
            bad.append(
                f"-Y {layer.name} at {layer.off}: header ends at {layer.off + layer.hlen}, "
                f"the walk's at {end}"
            )
    if w.names and w.starts and w.starts[0] == 0:  # the link header: the filter has it too
        link = {"Ethernet": "eth", "SLL": "sll", "SLL2": "sll", "Null": "null"}.get(w.names[0])
        if link and w.header_end(0, w.names[0]) <= len(data):
            got = [x for x in Packet(data, lt).layers() if x.name == link and x.off == 0]
            if not got:
                bad.append(f"-Y {link}: no layer where the walk has {w.names[0]}")
    return bad, checked


def test_every_consumer_takes_header_boundaries_from_the_walk() -> None:
    compile_filter("frame")  # the filter's protocols bound
    bad: list[str] = []
    checked = {"tree": 0, "filter": 0}
    for name, lt, data in _frames():
        w = decode.walk(data, lt)
        got, k = _tree_disagreements(lt, data, w)
        checked["tree"] += k
        bad += [f"{name}: {b}" for b in got]
        got, k = _filter_disagreements(lt, data, w)
        checked["filter"] += k
        bad += [f"{name}: {b}" for b in got]
    assert not bad, "\n".join(bad[:20])
    # the comparison is not empty: the corpus and the crafted frames give both many layers
    assert checked["tree"] > 500 and checked["filter"] > 500, checked


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_pptp_gre_header_ends_where_tshark_reads_ppp(tmp_path: Path) -> None:
    """PPTP's enhanced GRE with an acknowledgment number: 16 bytes of header, then PPP."""
    lt, data = CRAFTED["pptp gre with an acknowledgment"]
    w = decode.walk(data, lt)
    gre_at = w.starts[w.names.index("GRE")]
    path = tmp_path / "pptp.pcap"
    wrpcap(str(path), [Ether(data)])
    fields = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "ip.src"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert fields == ["10.0.0.1,192.168.7.1"]  # the inner IP is where tshark finds PPP's
    assert w.header_end(gre_at, "GRE") == gre_at + 16
    assert w.names[w.names.index("GRE") + 1 :] == ["PPP", "IPv4", "ICMP"]
    compile_filter("frame")
    (gre,) = [x for x in Packet(data, lt).layers() if x.name == "gre"]
    assert (gre.off, gre.hlen) == (gre_at, 16)
