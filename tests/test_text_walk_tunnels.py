"""The tunnel texts read their headers' boundaries from the frame's one walk.

Each test builds a frame, takes its walk (``decode.walk``) as the entry points do, moves one
layer's boundary in it, and shows the handler's text (or the tree's node, or the display
filter's layer) now decodes from the moved place: the walk is the only reader of the header's
length fields.  A text that read its own boundary would not move.  The last tests compare the
frames that show the walk's new records (two OpenVPN records in one TCP segment, VXLAN-GPE,
WireGuard) with tshark.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from capture_checks import tshark_fields
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from tapwatch import decode
from tapwatch.decode import core, ws_tunnel, wstree
from tapwatch.decode.core import Acc, Walk
from tapwatch.decode.fields import Net
from tapwatch.decode.tree import detail
from tapwatch.dfilter import compile_filter
from tapwatch.dfilter.packet import Packet
from tapwatch.linktypes import LINKTYPE_ETHERNET as ETH

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

_MAC = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
#: the packet a tunnel carries: its addresses show where the text decoded it from
_INNER = IP(src="192.168.1.1", dst="192.168.1.2") / ICMP(id=5, seq=9) / b"abcd"
_SEEN = "192.168.1.1 > 192.168.1.2"
#: bytes between a tunnel header and its packet, which only a moved boundary skips
_PAD = b"\xaa" * 4
_U = 14 + 20 + 8  # where a UDP payload starts in these frames


def _eth(p: object) -> bytes:
    return bytes(Ether(**_MAC) / p)  # type: ignore[operator]


def _udp(dport: int, body: bytes) -> bytes:
    return _eth(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=40000, dport=dport) / body)


def _acc(frame: bytes) -> Acc:
    a = core.Acc()
    a.w = decode.walk(frame, ETH)
    return a


def _text(frame: bytes, a: Acc) -> str:
    return core.LINKTYPES[ETH].text(frame, a)[1]


def _layer(w: Walk, name: str) -> int:
    """The index of the last layer ``name`` in ``w``."""
    return len(w.names) - 1 - w.names[::-1].index(name)


def _move_head(a: Acc, name: str, by: int) -> int:
    i = _layer(a.w, name)
    assert a.w.heads[i] >= 0
    a.w.heads[i] += by
    return a.w.heads[i]


def _follows(frame: bytes, name: str, by: int = len(_PAD)) -> tuple[str, str]:
    """The text from the walk as made, and with ``name``'s header end moved by ``by``."""
    return _text(frame, _acc(frame)), _moved(frame, name, by)


def _moved(frame: bytes, name: str, by: int) -> str:
    a = _acc(frame)
    _move_head(a, name, by)
    return _text(frame, a)


# ----------------------------------------------------------------------------- texts


def test_gre_text_takes_its_payload_from_the_walk() -> None:
    frame = _eth(
        IP(src="10.0.0.1", dst="10.0.0.2", proto=47)
        / (struct.pack(">HH", 0, 0x0800) + _PAD + bytes(_INNER))
    )
    before, after = _follows(frame, "GRE")
    assert "GREv0" in before and _SEEN not in before
    assert _SEEN in after


def test_gre_source_route_entries_are_the_walks() -> None:
    """The entries are worded from the walk's parts: without them, no entry is worded."""
    sre = struct.pack(">HBB", 0x0800, 0, 4) + bytes([1, 2, 3, 4]) + bytes(4)
    frame = _eth(
        IP(src="10.0.0.1", dst="10.0.0.2", proto=47)
        / (struct.pack(">HHHH", 0x4000, 0x0800, 0, 0) + sre + bytes(_INNER))
    )
    assert "(rtaf=ip *1.2.3.4)" in _text(frame, _acc(frame))
    a = _acc(frame)
    gre = _layer(a.w, "GRE")
    inner = a.w.inner
    kept = [inner[i : i + 3] for i in range(0, len(inner), 3) if inner[i + 2] != gre]
    null = 14 + 20 + 8 + 8  # the NULL entry alone is left
    a.w.inner = [x for t in kept for x in t] + [null, null + 4, gre]
    text = _text(frame, a)
    assert "rtaf" not in text and _SEEN in text


def test_mpls_text_words_the_labels_the_walk_read() -> None:
    label = lambda n: struct.pack(">I", n << 12 | 1 << 8 | 64)  # noqa: E731 (bottom of stack)
    frame = bytes(Ether(**_MAC, type=0x8847)) + label(100) + label(200) + bytes(_INNER)
    before = _text(frame, _acc(frame))
    assert "label 100" in before and "label 200" not in before
    a = _acc(frame)
    i = _layer(a.w, "MPLS")
    a.w.inner += [18, 22, i]  # a second label, where the walk now says the stack ends
    a.w.heads[i] = 22
    after = _text(frame, a)
    assert "label 200" in after and _SEEN in after


def test_geneve_text_takes_its_options_length_from_the_walk() -> None:
    frame = _udp(6081, struct.pack(">BBHI", 0, 0, 0x0800, 7 << 8) + _PAD + bytes(_INNER))
    before, after = _follows(frame, "Geneve")
    assert "options" not in before and _SEEN not in before
    assert "options [4 bytes]" in after and _SEEN in after


def test_vxlan_text_takes_its_header_end_from_the_walk() -> None:
    inner = bytes(Ether(**_MAC) / _INNER)
    frame = _udp(4789, struct.pack(">II", 0x08000000, 7 << 8) + _PAD + inner)
    before, after = _follows(frame, "VXLAN")
    assert "vni 7" in before and _SEEN not in before
    assert _SEEN in after


def test_vxlan_gpe_text_takes_its_header_end_from_the_walk() -> None:
    frame = _udp(4790, struct.pack(">II", 0x0C000001, 7 << 8) + _PAD + bytes(_INNER))
    before, after = _follows(frame, "VXLAN-GPE")
    assert "VXLAN-GPE" in before and _SEEN not in before
    assert _SEEN in after


def test_l2tp_text_takes_its_header_end_from_the_walk() -> None:
    ppp = b"\xff\x03\x00\x21" + bytes(_INNER)
    frame = _udp(1701, struct.pack(">HHH", 0x0002, 1, 2) + _PAD + ppp)
    before, after = _follows(frame, "L2TP")
    assert "l2tp:[](1/2)" in before and _SEEN not in before
    assert _SEEN in after


def test_l2tp_text_takes_the_message_length_from_the_walk() -> None:
    ppp = b"\xff\x03\x00\x21" + bytes(_INNER)
    body = struct.pack(">HHHH", 0x4002, 8 + len(ppp), 1, 2) + ppp
    frame = _udp(1701, body)
    a = _acc(frame)
    ends = a.w.ends
    k = ends.index(_layer(a.w, "L2TP"))
    ends[k + 1] = _U + 1000  # the message claims more than the datagram has
    assert "Length 1000 larger than packet" in _text(frame, a)
    assert "larger" not in _text(frame, _acc(frame))


def test_l2tpv3_cookie_is_the_walks_guess() -> None:
    inner = bytes(Ether(**_MAC) / _INNER)
    frame = _eth(
        IP(src="10.0.0.1", dst="10.0.0.2", proto=115) / (struct.pack(">I", 0x1234) + _PAD + inner)
    )
    assert _SEEN in _text(frame, _acc(frame))
    a = _acc(frame)
    sess = 14 + 20 + 4
    assert a.w.part_end(sess, "L2TP") == sess + 4  # a 4-byte cookie, as guessed
    inner_at = a.w.inner
    for i in range(0, len(inner_at), 3):
        if inner_at[i] == sess:
            inner_at[i] = -1  # the walk found no frame after the session
    text = _text(frame, a)
    assert "L2TPv3, session 0x00001234, length" in text and _SEEN not in text


def test_openvpn_udp_text_is_the_walks_opcode() -> None:
    frame = _udp(1194, bytes([7 << 3]) + bytes(8) + b"\x00" + bytes(4))
    assert "OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2" in _text(frame, _acc(frame))
    a = _acc(frame)
    a.w.heads[_layer(a.w, "OpenVPN")] = -1  # the walk read no OpenVPN header there
    assert "OpenVPN" not in _text(frame, a)


def _ovpn_tcp(*records: bytes) -> bytes:
    body = b"".join(struct.pack(">H", len(r)) + r for r in records)
    return _eth(
        IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=40002, dport=1194, flags="PA", seq=1, ack=1)
        / body
    )


_RESET = bytes([7 << 3]) + bytes(range(1, 9)) + b"\x00" + struct.pack(">I", 0)
_DATA = bytes([9 << 3]) + b"\x00\x00\x07" + b"d" * 6


def test_openvpn_tcp_text_takes_the_record_length_from_the_walk() -> None:
    frame = _ovpn_tcp(_RESET)
    assert f"length {len(_RESET)}" in _text(frame, _acc(frame))
    a = _acc(frame)
    ends = a.w.ends
    k = ends.index(_layer(a.w, "OpenVPN"))
    ends[k + 1] -= 4  # the walk says the record is 4 bytes shorter
    assert f"length {len(_RESET) - 4}" in _text(frame, a)


def test_wireguard_text_reads_its_fields_after_the_walks_header() -> None:
    body = bytes([1, 0, 0, 0]) + struct.pack("<II", 0x11111111, 0x22222222) + bytes(136)
    frame = _udp(51820, body)
    before, after = _follows(frame, "WireGuard")
    assert "sender 0x11111111" in before
    assert "sender 0x22222222" in after


def _erspan_frame() -> bytes:
    inner = bytes(Ether(**_MAC) / _INNER)
    erspan = struct.pack(">HHI", 0x1000 | 5, 9, 0)  # version 1 (type II), vlan 5, session 9
    gre = struct.pack(">HHI", 0x1000, 0x88BE, 1)
    return _eth(IP(src="10.0.0.1", dst="10.0.0.2", proto=47) / (gre + erspan + inner))


def test_erspan_text_takes_its_type_and_header_from_the_walk() -> None:
    frame = _erspan_frame()
    assert "ERSPAN II, session 9, vlan 5" in _text(frame, _acc(frame))
    assert "ERSPAN I: " in _moved(frame, "ERSPAN", -8)  # the walk read no header of its own


def test_esp_text_takes_its_header_end_from_the_walk() -> None:
    frame = _eth(IP(src="10.0.0.1", dst="10.0.0.2", proto=50) / (bytes(8) + b"q" * 8))
    assert "[|esp]" not in _text(frame, _acc(frame))
    assert "[|esp]" in _moved(frame, "ESP", 100)


# ----------------------------------------------------------------------------- tree, filter


def test_tree_reads_every_openvpn_record_from_the_walk() -> None:
    frame = _ovpn_tcp(_RESET, _DATA)
    w = decode.walk(frame, ETH)
    second = 14 + 20 + 20 + 2 + len(_RESET)
    node = ws_tunnel.openvpn_tcp(frame, second, Net(frame, walked=w))
    assert node is not None and f"Packet Length: {len(_DATA)}" in node.children[0].label
    inner = w.inner
    for i in range(0, len(inner), 3):
        if inner[i] == second:
            inner[i + 1] -= 2  # the walk says the second record is 2 bytes shorter
    node = ws_tunnel.openvpn_tcp(frame, second, Net(frame, walked=w))
    assert node is not None and f"Packet Length: {len(_DATA) - 2}" in node.children[0].label
    assert node.end == len(frame) - 2


def test_tree_vxlan_gpe_header_ends_where_the_walk_says() -> None:
    frame = _udp(4790, struct.pack(">II", 0x0C000001, 7 << 8) + _PAD + bytes(_INNER))
    w = decode.walk(frame, ETH)
    assert wstree.vxlan(frame, _U, Net(frame, walked=w)).end == _U + 8  # type: ignore[union-attr]
    w.heads[_layer(w, "VXLAN-GPE")] += 4
    assert wstree.vxlan(frame, _U, Net(frame, walked=w)).end == _U + 12  # type: ignore[union-attr]


def test_filter_wireguard_header_is_the_walks() -> None:
    body = bytes([1, 0, 0, 0]) + bytes(144)
    frame = _udp(51820, body)
    assert compile_filter("wg").match(frame, ETH)  # (the filter's dissectors, loaded)
    pkt = Packet(frame, ETH)
    wg = [x for x in pkt.layers() if x.name == "wg"]
    assert len(wg) == 1 and wg[0].hlen == 4
    pkt = Packet(frame, ETH)
    w = decode.walk(frame, ETH)
    w.heads[_layer(w, "WireGuard")] += 8
    pkt._walk, pkt._walk_of = w, frame
    wg = [x for x in pkt.layers() if x.name == "wg"]
    assert len(wg) == 1 and wg[0].hlen == 12


# ----------------------------------------------------------------------------- tshark


@needs_tshark
def test_two_openvpn_records_in_a_segment_are_tsharks(tmp_path: Path) -> None:
    frame = _ovpn_tcp(_RESET, _DATA)
    path = tmp_path / "ovpn.pcap"
    wrpcap(str(path), [Ether(frame)])
    theirs = tshark_fields(path, "openvpn.plen", "openvpn.opcode")
    plens = [n.label for n in _walk_nodes(detail(frame, ETH)) if n.label.startswith("Packet Len")]
    assert theirs[0][0].split(",") == [x.split(": ")[1] for x in plens] == ["14", "10"]
    # the filter's layers: one per record, the second a data message (opcode 9)
    assert compile_filter("openvpn.opcode == 9").match(frame, ETH)
    assert tshark_fields(path, "frame.number", display="openvpn.opcode == 9") == [["1"]]


@needs_tshark
def test_vxlan_gpe_frame_is_tsharks(tmp_path: Path) -> None:
    frame = _udp(4790, struct.pack(">II", 0x0C000001, 7 << 8) + bytes(_INNER))
    path = tmp_path / "gpe.pcap"
    wrpcap(str(path), [Ether(frame)])
    (row,) = tshark_fields(path, "vxlan.vni", "ip.src")
    assert row == ["7", "10.0.0.1,192.168.1.1"]
    tree = detail(frame, ETH)
    gpe = [n for n in tree if n.label == "Virtual eXtensible Local Area Network"]
    assert len(gpe) == 1 and (gpe[0].start, gpe[0].end) == (_U, _U + 8)
    assert any("VNI): 7" in c.label for c in gpe[0].children)
    a = _acc(frame)
    assert _SEEN in _text(frame, a)


def _walk_nodes(nodes: list[decode.Node]) -> list[decode.Node]:
    out: list[decode.Node] = []
    for n in nodes:
        out.append(n)
        out += _walk_nodes(n.children)
    return out


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_a_network_service_header_and_what_it_carries_are_tsharks_layers_in_the_tree() -> None:
    """VXLAN-GPE carrying NSH carrying IPv4: scapy leaves the bytes undissected; the tree
    names each layer the walk found over tshark's bytes for it (it was one "Data" node)."""
    import subprocess

    path = Path(__file__).resolve().parent / "corpus" / "overlay.pcap"
    pdml = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-c", "1", "-T", "pdml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    theirs = []
    for line in pdml.splitlines():
        line = line.strip()
        if line.startswith("<proto name=") and 'pos="' in line and 'size="' in line:
            name = line.split('"')[1]
            pos = int(line.split('pos="')[1].split('"')[0])
            size = int(line.split('size="')[1].split('"')[0])
            theirs.append((name, pos, pos + size))
    inner = [t for t in theirs if t[1] >= 50]
    assert [t[0] for t in inner] == ["nsh", "ip", "icmp"]
    from tapwatch import pcap

    with pcap.read_capture(str(path)) as reader:
        data = bytes(next(iter(reader)).data)
    ours = [(n.start, n.end) for n in detail(data, ETH) if n.start >= 50]
    assert ours == [(s, e) for _n, s, e in inner]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_a_vxlan_gpe_payload_of_no_known_protocol_is_data_as_tshark_has_it() -> None:
    """Next protocol 0 (the P bit clear): tshark shows the payload as data; scapy's plain
    VXLAN binding took it for an Ethernet frame, and so did the tree."""
    from tapwatch import pcap

    path = Path(__file__).resolve().parent / "corpus" / "overlay.pcap"
    protocols = [row[0] for row in tshark_fields(path, "frame.protocols")]
    assert protocols[4] == "eth:ethertype:ip:udp:data"
    with pcap.read_capture(str(path)) as reader:
        data = [bytes(r.data) for r in reader][4]
    inner = [n for n in detail(data, ETH) if n.start >= 50]
    assert [(n.label, n.start, n.end) for n in inner] == [("Data (31 bytes)", 50, len(data))]
