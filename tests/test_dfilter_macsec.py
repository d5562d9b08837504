"""MACsec (802.1AE): the SecTAG's fields, and what a frame carries in clear, selected as
tshark selects them (a capture crafted with scapy, explicit addresses, never sent; the
pattern of tcpdump's ``macsec-short-longer.pcap``, whose IPv4 tshark's ``ip`` selects)."""

from __future__ import annotations

from pathlib import Path

from test_dfilter import needs_tshark, selected, tshark_selected_many

FILTERS = [
    "ip || ipv6",
    "ip",
    "ipv6",
    "udp.dstport == 6666",
    "macsec",
    "macsec.TCI == 8",
    "macsec.TCI.SC",
    "macsec.TCI.E == 1",
    "macsec.TCI.C == 1",
    "macsec.AN == 1",
    "macsec.SL == 34",
    "macsec.PN == 66",
    "macsec.SCI.system_identifier == 02:00:00:00:00:01",
    "macsec.SCI.port_identifier == 100",
    "macsec.etype == 0x0800",
    "macsec.ICV[0:2] == 07:9d",
]


def _capture(path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import PcapWriter

    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x88E5)
    sci = bytes.fromhex("020000000001") + (100).to_bytes(2, "big")
    icv = bytes.fromhex("079d1505db571783ceb1aec143e4e374")
    ip4 = bytes(
        IP(src="192.168.114.1", dst="192.168.114.2") / UDP(sport=37459, dport=6666) / b"123\n"
    )
    ip6 = bytes(IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=6666) / b"x")

    def tag(tci: int, sl: int, pn: int, with_sci: bool) -> bytes:
        return bytes([tci, sl]) + pn.to_bytes(4, "big") + (sci if with_sci else b"")

    frames = [
        e / Raw(tag(0x20, 34, 66, True) + b"\x08\x00" + ip4 + icv),  # in clear, SCI
        e / Raw(tag(0x01, 0, 67, False) + b"\x86\xdd" + ip6 + icv),  # in clear, no SCI
        e / Raw(tag(0x2C, 0, 68, True) + b"\x08\x00" + ip4 + icv),  # encrypted
        e / Raw(tag(0x24, 0, 69, True) + b"\x08\x00" + ip4 + icv),  # changed
        e / Raw(tag(0xA0, 34, 70, True) + b"\x08\x00" + ip4 + icv),  # version 1
        e / Raw(tag(0x20, 0, 71, True) + icv),  # no room for data
        e / Raw(tag(0x20, 34, 72, True) + b"\x08\x00" + ip4 + icv + b"\x00" * 6),  # longer
    ]
    with PcapWriter(str(path), linktype=1) as w:
        for i, f in enumerate(frames):
            f.time = 1_700_000_000 + i
            w.write(f)
        cut = frames[0].copy()  # cut by the capture: the ICV is not all there
        cut.time = 1_700_000_010
        raw = bytes(cut)
        w.write_packet(raw[:-6], sec=1_700_000_010, usec=0, wirelen=len(raw))


@needs_tshark
def test_macsec_selected_as_tshark_does(tmp_path: Path) -> None:
    """tshark's MACsec hands a frame neither encrypted nor changed to its ethertype (main
    knew no MACsec: ``ip`` selected none of them)."""
    path = tmp_path / "macsec.pcap"
    _capture(path)
    oracle = tshark_selected_many(path, FILTERS, tmp_path)
    assert oracle[0], "tshark selects IP in MACsec frames"
    for expr, want in zip(FILTERS, oracle, strict=True):
        assert selected(path, expr) == want, expr
