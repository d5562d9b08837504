"""802.2 LLC behind an 802.1Q tag (a length where the ethertype would be) and behind
ethertype 0x8870, tagged or not: the line is tcpdump's (``-nn`` and ``-nne``), the display
filter selects what tshark -Y selects (``llc``, ``stp``, the IP packet SNAP carries), the
tree has the layers tshark has.  Crafted frames, never sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from capture_checks import tshark_fields
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import LLC, SNAP, STP, Dot1AD, Dot1Q, Dot3, Ether
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from test_dfilter import needs_tshark, selected, tshark_selected_many
from test_tcpdump_parity import tcpdump_packets

from tapwatch import decode, pcap
from tapwatch.linktypes import LINKTYPE_ETHERNET

M1, M2, BRIDGES = "02:00:00:00:00:01", "02:00:00:00:00:02", "01:80:c2:00:00:00"
PKT = IP(src="10.0.0.1", dst="10.0.0.2", ttl=9) / UDP(sport=1234, dport=5000) / Raw(b"abc")
STP_CONFIG = LLC(dsap=0x42, ssap=0x42, ctrl=3) / STP(
    rootid=0x8000, rootmac=M2, bridgeid=0x8000, bridgemac=M1, portid=0x8001, bpduflags=0x81
)
_RST = STP(version=2, bpdutype=2, bridgeid=0x1000, bridgemac=M1, portid=0x8002, bpduflags=0x3C)
RSTP = LLC(dsap=0x42, ssap=0x42, ctrl=3) / _RST / Raw(b"\x00")  # version 1 length: 36 bytes
RSTP_SHORT = LLC(dsap=0x42, ssap=0x42, ctrl=3) / _RST  # a byte short: tcpdump says invalid
TCN = LLC(dsap=0x42, ssap=0x42, ctrl=3) / Raw(b"\x00\x00\x00\x80")
SNAP_IP = LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / PKT


def tagged(inner: ScapyPacket, vlan: int = 7, dst: str = M2) -> ScapyPacket:
    """``inner`` behind an 802.1Q tag whose type field is its length (802.3)."""
    b = bytes(inner)
    return Ether(src=M1, dst=dst, type=0x8100) / Dot1Q(vlan=vlan, prio=5, type=len(b)) / Raw(b)


#: Frames whose lines tcpdump and tapwatch both print whole.
FRAMES = [
    tagged(STP_CONFIG, dst=BRIDGES),
    tagged(SNAP_IP),
    tagged(RSTP, vlan=100, dst=BRIDGES),
    tagged(TCN, dst=BRIDGES),
    Ether(src=M1, dst=M2, type=0x8100) / Dot1Q(vlan=9, type=0x8870) / STP_CONFIG,
    Ether(src=M1, dst=M2, type=0x8870) / SNAP_IP,
    Ether(src=M1, dst=BRIDGES, type=0x88A8)
    / Dot1AD(vlan=3, type=0x8100)
    / Dot1Q(vlan=7, type=len(bytes(STP_CONFIG)))
    / STP_CONFIG,
    Dot3(src=M1, dst=BRIDGES) / STP_CONFIG,
    Ether(src=M1, dst=M2, type=0x8870) / RSTP,
    tagged(RSTP_SHORT, vlan=4094),
    tagged(LLC(dsap=0x42, ssap=0x42, ctrl=3) / STP(bpdutype=0x33)),
    # SNAP with what the decoder does not name, and unnumbered frames of SAPs without a
    # printer: tcpdump's line and its dump of the bytes
    tagged(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0x123456, code=0x0101) / Raw(b"hello")),
    tagged(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x1234) / Raw(b"hello")),
    tagged(LLC(dsap=0x12, ssap=0x34, ctrl=3) / Raw(b"hello")),
    tagged(LLC(dsap=0x13, ssap=0x35, ctrl=0xE3) / Raw(b"hello")),
    Ether(src=M1, dst=M2, type=0x8100) / Dot1Q(vlan=9, type=0x8870) / LLC(dsap=0x12, ctrl=0x13),
    tagged(LLC(dsap=0x12, ssap=0x12, ctrl=0xAF) / Raw(b"\x81\x01\x00")),
    Dot3(src=M1, dst=M2) / LLC(dsap=0x12, ssap=0x34, ctrl=0xAF) / Raw(b"hello"),
]
#: Frames for the filter and the tree only: tcpdump decodes CDP, spells out supervisory
#: frames and NetBEUI, which the line printer does not (behind a tag or without one).
MORE = [
    tagged(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0x0C, code=0x2000) / Raw(b"\x02\xb4")),
    tagged(LLC(dsap=0x12, ssap=0x34, ctrl=1) / Raw(b"\x00hello")),  # a supervisory frame
    Ether(src=M1, dst=M2, type=0x8100) / Dot1Q(vlan=9, type=0x8870) / LLC(dsap=0xF0, ssap=0xF1),
]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llc") / "llc.pcap"
    w = pcap.open_writer(str(path), LINKTYPE_ETHERNET)
    for i, f in enumerate(FRAMES + MORE):
        w.write(10**18 + i * 1000, bytes(f), None, None, 0)
    w.close()
    return path


def ours(path: Path, link: bool) -> list[str]:
    with pcap.read_capture(str(path)) as reader:
        fmt = decode.LineFormatter(reader.linktype, strict=True, link=link)
        return [fmt.line(r.ts_ns, r.data, r.orig_len)[16:] for r in reader]


@pytest.mark.parametrize("link", [False, True], ids=["nn", "nne"])
def test_llc_behind_a_tag_prints_as_tcpdump(capture: Path, link: bool) -> None:
    theirs = tcpdump_packets(capture, *(["-e"] if link else []))[: len(FRAMES)]
    mine = ours(capture, link)[: len(FRAMES)]
    # what main printed for these: a length or 0x8870 taken for an unknown ethertype
    assert not any("Unknown (0x00" in t or "(0x8870)" in t for t in theirs), theirs
    diffs = [
        f"{n}\n  tapwatch: {o!r}\n  tcpdump:  {t!r}"
        for n, (o, t) in enumerate(zip(mine, theirs, strict=True), 1)
        if o != t
    ]
    assert not diffs, "\n".join(diffs)


FILTERS = [
    "llc",
    "stp",
    "vlan",
    "ip",
    "udp.dstport == 5000",
    "vlan.id == 7 && stp",
    "llc.dsap == 0x42",
    "llc.ssap == 0x34",
    "llc.control == 3",
    "llc.type == 0x0800",
    "llc.oui == 0x00000c",
    "stp.type == 2",
    "stp.flags.tc == 1",
    "stp.flags.forwarding",
    "stp.port == 0x8001",
    "stp.bridge.hw == 02:00:00:00:00:01",
    "stp.root.hw == 02:00:00:00:00:02",
    "eth.len",
    "!llc",
]


@needs_tshark
def test_llc_behind_a_tag_is_selected_as_tshark_selects_it(capture: Path, tmp_path: Path) -> None:
    theirs = tshark_selected_many(capture, FILTERS, tmp_path)
    assert theirs[0] == list(range(1, len(FRAMES + MORE) + 1))  # every frame is LLC there
    assert theirs[1] == [1, 3, 4, 5, 7, 8, 9, 10, 11]
    mine = [selected(capture, e) for e in FILTERS]
    wrong = [(e, o, t) for e, o, t in zip(FILTERS, mine, theirs, strict=True) if o != t]
    assert not wrong, wrong


@needs_tshark
def test_the_tree_has_tsharks_llc_and_stp_layers(capture: Path) -> None:
    out = [row[0] for row in tshark_fields(capture, "frame.protocols")]
    with pcap.read_capture(str(capture)) as cap:
        trees = [decode.detail(r.data, cap.interfaces[r.iface].linktype) for r in cap]
    assert len(trees) == len(out)
    for n, (nodes, protos) in enumerate(zip(trees, out, strict=True), 1):
        names = protos.split(":")
        labels = [x.label for x in nodes]
        has_llc = any(x.startswith(("LLC", "Logical-Link Control")) for x in labels)
        has_stp = any(x.startswith(("Spanning Tree Protocol", "STP")) for x in labels)
        assert has_llc == ("llc" in names), (n, labels, protos)
        assert has_stp == ("stp" in names), (n, labels, protos)
