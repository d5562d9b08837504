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
from scapy.contrib.erspan import ERSPAN_II
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
from scapy.layers.vxlan import VXLAN
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
_INNER = Ether(**_E) / IP(src="192.168.0.1", dst="192.168.0.2") / ICMP()
_PPP_IP = b"\xff\x03\x00\x21" + bytes(IP(src="192.168.7.1", dst="192.168.7.2") / ICMP())
#: an L2TP control message's first AVP: Message Type, Start-Control-Connection-Request
_AVP = b"\x80\x08\x00\x00\x00\x00\x00\x01"


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return bytes(
        Ether(**_E) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=sport, dport=dport) / payload
    )


def _ip(proto: int, payload: bytes) -> bytes:
    return bytes(Ether(**_E) / IP(src="10.0.0.1", dst="10.0.0.2", proto=proto) / payload)


def _openvpn_tcp(*records: bytes) -> bytes:
    body = b"".join(len(r).to_bytes(2, "big") + r for r in records)
    tcp = TCP(sport=40000, dport=1194, flags="PA")
    return bytes(Ether(**_E) / IP(src="10.0.0.1", dst="10.0.0.2") / tcp / body)


#: P_CONTROL_HARD_RESET_CLIENT_V2: session ID, no acks, packet-id
_OVPN_RESET = bytes([7 << 3]) + bytes(range(8)) + b"\x00" + b"\x00\x00\x00\x00"
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
    # L2TPv2 data: Length, Ns/Nr and an Offset Size of 4 (and its padding) before PPP
    "l2tpv2 data with length, sequence and offset": (
        LINKTYPE_ETHERNET,
        _udp(
            1701,
            1701,
            b"\x4a\x02\x00\x32\x00\x07\x00\x09\x00\x01\x00\x02\x00\x04\xee\xee\xee\xee" + _PPP_IP,
        ),
    ),
    "l2tpv2 data without optional fields": (
        LINKTYPE_ETHERNET,
        _udp(1701, 1701, b"\x00\x02\x00\x07\x00\x09" + _PPP_IP),
    ),
    # a control message: its Length says where the message ends (before 6 bytes of junk)
    "l2tpv2 control with length and sequence": (
        LINKTYPE_ETHERNET,
        _udp(1701, 1701, b"\xc8\x02\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00" + _AVP + b"\x00" * 6),
    ),
    "l2tpv3 over ip, data": (LINKTYPE_ETHERNET, _ip(115, b"\x00\x00\x12\x34" + bytes(_INNER))),
    "l2tpv3 over ip, control": (
        LINKTYPE_ETHERNET,
        _ip(115, b"\x00" * 4 + b"\xc8\x03\x00\x14\x00\x00\x00\x05\x00\x00\x00\x00" + _AVP),
    ),
    "l2tpv3 over udp, data": (
        LINKTYPE_ETHERNET,
        _udp(1701, 1701, b"\x00\x03\x00\x00\x00\x00\x12\x34" + bytes(_INNER)),
    ),
    "vxlan": (LINKTYPE_ETHERNET, _udp(40000, 4789, bytes(VXLAN(vni=42) / _INNER))),
    "erspan type i": (
        LINKTYPE_ETHERNET,
        bytes(Ether(**_E) / IP(src="10.0.0.1", dst="10.0.0.2") / GRE(proto=0x88BE) / _INNER),
    ),
    "erspan type ii": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / GRE(proto=0x88BE, seqnum_present=1, sequence_number=1)
            / ERSPAN_II(session_id=3)
            / _INNER
        ),
    ),
    "openvpn over udp": (
        LINKTYPE_ETHERNET,
        _udp(40000, 1194, bytes([9 << 3]) + b"\x00\x00\x05" + b"\xab" * 20),
    ),
    "openvpn over tcp, two records": (
        LINKTYPE_ETHERNET,
        _openvpn_tcp(_OVPN_RESET, bytes([6 << 3]) + b"\xcd" * 16),
    ),
    # the datagram's length says 12 bytes; IP carries 28 (the rest is not UDP's)
    "udp shorter than its ip payload": (
        LINKTYPE_ETHERNET,
        bytes(
            Ether(**_E)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / UDP(sport=5000, dport=5001, len=12)
            / (b"z" * 20)
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
    "Layer 2 Tunneling Protocol": "L2TP",
    "Virtual eXtensible Local Area Network": "VXLAN",
    "Encapsulated Remote Switch Packet ANalysis": "ERSPAN",
    "Encapsulating Security Payload": "ESP",
    "WireGuard Protocol": "WireGuard",
    "OpenVPN Protocol": "OpenVPN",
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
_WHOLE_HEADER = frozenset(
    {"Ethernet", "802.1Q", "802.1ad", "IPv4", "TCP", "GRE", "Geneve", "VXLAN"}
)
#: the tree's layers whose node spans more than the header (a message, what it carries): one
#: of its fields ends where the walk has the header end, and the walk must have one
_FIELDS_TO_HEADER = frozenset({"L2TP", "ERSPAN", "ESP", "WireGuard", "OpenVPN", "UDP"})
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
    "udp": ("UDP",),
    "vxlan": ("VXLAN",),
    "l2tp": ("L2TP",),
    "erspan": ("ERSPAN",),
    "openvpn": ("OpenVPN",),
    "esp": ("ESP",),
    "wg": ("WireGuard",),
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


def _layer_end(w: Walk, off: int, name: str) -> int:
    """Where the walk has the layer end by its own length (-1: none, or a walk that keeps
    no such ends: then the comparisons say what disagrees, not an AttributeError)."""
    get = getattr(w, "layer_end", None)
    return get(off, name) if get is not None else -1


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
        elif name in _FIELDS_TO_HEADER:
            bad += _spanning(node, name, head, w, n)
    return bad, checked


def _spanning(node: Node, name: str, head: int, w: Walk, n: int) -> list[str]:
    """A node spanning more than its header: the walk read where the header ends, a field
    (or the node) ends there, and UDP's payload ends where the walk has the datagram end."""
    if head < 0:
        return [f"tree {node.label!r} at {node.start}: the walk read no header end"]
    ends = {node.end} | {c.end for c in node.children}
    if name == "ERSPAN" and node.start == head:
        return []  # type I: no header of its own (tshark shows none)
    if min(n, head) not in ends:
        return [f"tree {node.label!r}: no field ends at the walk's header end {head}"]
    if name == "UDP":
        ext = _layer_end(w, node.start, "UDP")
        pay = [c for c in node.children if c.label.startswith("UDP payload")]
        if ext >= 0 and pay and (pay[0].start, pay[0].end) != (head, min(n, ext)):
            return [f"tree UDP payload spans {pay[0].start}:{pay[0].end}, the walk's {head}:{ext}"]
    return []


def _filter_disagreements(lt: int, data: bytes, w: Walk) -> tuple[list[str], int]:
    bad, checked = [], 0
    for layer in Packet(data, lt).layers():
        names = _FILTER_LAYERS.get(layer.name)
        if names is None or layer.data is not data:
            continue
        at = layer.off
        if layer.name == "openvpn" and w.header_end(at, "OpenVPN") < 0:
            at -= 2  # over TCP: the walk's layer starts at the record's length
        end = _expected(w, at, names)
        if end < 0:
            if (names[0], at) in set(zip(w.names, w.starts, strict=True)):
                bad.append(f"-Y {layer.name} at {at}: the walk read no header end")
            continue  # a header the frame's walk does not reach
        checked += 1
        end = min(end, len(data))  # a header cut short: the filter's ends with the bytes
        ext = _layer_end(w, at, "UDP") if layer.name == "udp" else -1
        if ext >= 0 and layer.end != min(ext, len(data)):
            bad.append(f"-Y udp at {at}: ends at {layer.end}, the walk's datagram at {ext}")
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
