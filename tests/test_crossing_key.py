"""The crossing key (the IP packet two inputs both saw) against tshark on crafted frames.

:func:`tapwatch.analysis.crossing.network_key` keys a packet by its IP packet: where the
frame's first IP header starts and where its length says the datagram ends.  tshark's
first ``ip``/``ipv6`` layer (its ``pos`` in ``-T pdml``, and ``ip.len``/``ipv6.plen``) is
the reference for both, on frames whose link headers differ: VLAN tags, 802.3 with
LLC/SNAP, MPLS labels (the first one's top nibble a 4), PPPoE, cooked and null headers,
Ethernet padding.  Nothing is sent: the frames are built in memory and written to files.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from scapy.layers.inet import GRE, IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import (
    ARP,
    LLC,
    SNAP,
    CookedLinux,
    Dot1AD,
    Dot1Q,
    Dot3,
    Ether,
    Loopback,
)
from scapy.layers.ppp import PPP, PPPoE
from scapy.packet import Raw

from tapwatch.analysis.crossing import Crossings, network_key
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

needs_tshark = pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark is not installed: it is this test's oracle"
)

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
PKT = IP(src="10.0.0.1", dst="10.0.0.2", ttl=9) / UDP(sport=1234, dport=5000) / Raw(b"abc")
PKT6 = IPv6(src="fd00::1", dst="fd00::2", hlim=3) / UDP(sport=1, dport=5000) / Raw(b"xyz")


def _mpls(label: int, bos: bool, ttl: int = 64) -> bytes:
    return struct.pack("!I", label << 12 | (1 if bos else 0) << 8 | ttl)


def frames() -> dict[str, tuple[int, bytes]]:
    """name -> (link type, frame)."""
    eth = Ether(src=M1, dst=M2)
    ip, ip6 = bytes(PKT), bytes(PKT6)
    mac = bytes(eth)[:12]
    return {
        "raw IPv4": (LINKTYPE_RAW, ip),
        "raw IPv6": (LINKTYPE_RAW, ip6),
        "Ethernet": (LINKTYPE_ETHERNET, bytes(eth / PKT)),
        "Ethernet, IPv6": (LINKTYPE_ETHERNET, bytes(eth / PKT6)),
        "Ethernet padded to 60 bytes": (
            LINKTYPE_ETHERNET,
            bytes(eth / PKT).ljust(60, b"\0"),
        ),
        "802.1ad and 802.1Q tags": (
            LINKTYPE_ETHERNET,
            bytes(eth / Dot1AD(vlan=3) / Dot1Q(vlan=7) / PKT),
        ),
        "802.3 with LLC/SNAP": (
            LINKTYPE_ETHERNET,
            bytes(
                Dot3(src=M1, dst=M2)
                / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                / SNAP(OUI=0, code=0x0800)
                / PKT
            ),
        ),
        # the label's top nibble is 4: a parser that reads a version there takes it for IPv4
        "MPLS, label 0x40001": (
            LINKTYPE_ETHERNET,
            mac + b"\x88\x47" + _mpls(0x40001, True) + ip,
        ),
        "MPLS, two labels, IPv6": (
            LINKTYPE_ETHERNET,
            mac + b"\x88\x47" + _mpls(0x60002, False) + _mpls(0x40003, True) + ip6,
        ),
        "PPPoE session": (
            LINKTYPE_ETHERNET,
            bytes(
                Ether(src=M1, dst=M2, type=0x8864)
                / PPPoE(code=0, sessionid=5)
                / PPP(proto=0x0021)
                / PKT
            ),
        ),
        "GRE: the outer packet": (
            LINKTYPE_ETHERNET,
            bytes(eth / IP(src="192.0.2.1", dst="192.0.2.2", ttl=30) / GRE() / PKT),
        ),
        "Linux cooked": (LINKTYPE_LINUX_SLL, bytes(CookedLinux(proto=0x0800) / PKT)),
        "null (BSD loopback)": (LINKTYPE_NULL, bytes(Loopback(type=2) / PKT)),
        "ARP": (
            LINKTYPE_ETHERNET,
            bytes(eth / ARP(hwsrc=M1, psrc="10.0.0.1", hwdst=M2, pdst="10.0.0.2")),
        ),
    }


def write_pcapng(path: Path, frames: list[tuple[int, bytes]]) -> None:
    """One pcapng with an interface per link type (tshark dissects the file once)."""
    from tapwatch import pcap

    ifaces: dict[int, int] = {frames[0][0]: 0}
    w = pcap.open_writer(str(path), frames[0][0], ifname="if0")
    for i, (lt, data) in enumerate(frames):
        if lt not in ifaces:
            ifaces[lt] = len(ifaces)
            w.add_interface(lt, f"if{ifaces[lt]}")
        w.write(10**18 + i, data, None, None, ifaces[lt])
    w.close()


def tshark_ips(path: Path) -> list[tuple[int, int] | None]:
    """Per frame: where tshark's first ``ip``/``ipv6`` layer starts and where its datagram
    ends (None: no IP layer)."""
    r = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "pdml"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return [_first_ip(packet) for packet in ET.fromstring(r.stdout).iter("packet")]


def _first_ip(packet: ET.Element) -> tuple[int, int] | None:
    for proto in packet.iter("proto"):
        name = proto.get("name")
        if name not in ("ip", "ipv6"):
            continue
        pos = int(proto.get("pos", "-1"))
        size_field = "ip.len" if name == "ip" else "ipv6.plen"
        for f in proto.iter("field"):
            if f.get("name") == size_field:
                n = int(f.get("show", "0"))
                return pos, pos + n if name == "ip" else pos + 40 + n
        raise AssertionError(f"tshark's {name} layer without {size_field}")
    return None


@needs_tshark
def test_the_key_is_the_ip_packet_tshark_finds(tmp_path: Path) -> None:
    """The key is the bytes of tshark's first IP layer (but the hop limit and IPv4 checksum)
    on every frame: behind LLC/SNAP and PPPoE it is found, an MPLS label is never taken for
    an IPv4 header, Ethernet padding is not part of it; a frame without IP has no key."""
    made = frames()
    path = tmp_path / "frames.pcapng"
    write_pcapng(path, list(made.values()))
    theirs_all = tshark_ips(path)
    assert len(theirs_all) == len(made)
    wrong = []
    for (name, (lt, data)), theirs in zip(made.items(), theirs_all, strict=True):
        if theirs is None:
            expected = None
        else:
            start, end = theirs
            ip = data[start:end]
            expected = (ip[:8], ip[9], ip[12:]) if ip[0] >> 4 == 4 else (ip[:7], ip[8:])
        got = network_key(data, lt)
        if got != expected:
            wrong.append(f"{name}: tshark {theirs}, key {got}")
    assert not wrong, "\n".join(wrong)


def test_a_header_cut_short_or_a_link_type_without_ip_has_no_key() -> None:
    ip = bytes(PKT)
    assert network_key(ip[:19], LINKTYPE_RAW) is None
    assert network_key(bytes(PKT6)[:39], LINKTYPE_RAW) is None
    assert network_key(b"\x45" + bytes(40), 147) is None  # a user link type: not walked
    assert network_key(b"", LINKTYPE_ETHERNET) is None


def test_the_same_packet_from_a_tun_and_a_padded_ethernet_frame_crosses() -> None:
    """A small packet leaves one host's tun and arrives at the other's Ethernet interface,
    padded to Ethernet's 60 bytes and one hop lower: one crossing, 2 ms."""
    crossings = Crossings([0, 1], ["tun0", "eth0"])
    sent = bytes(PKT)
    pkt = PKT.copy()
    pkt.ttl = 8
    pkt.chksum = None
    got = bytes(Ether(src=M1, dst=M2) / pkt).ljust(60, b"\0")
    assert crossings.see(1_000_000_000, sent, LINKTYPE_RAW, 0, 1) is None
    c = crossings.see(1_002_000_000, got, LINKTYPE_ETHERNET, 1, 2)
    assert c is not None and c.delay_ns == 2_000_000 and c.other_iface == 0


def test_a_walk_after_the_shallow_one_is_whole() -> None:
    """The compiled walk object is reused from a free list: the stop at the first IP header
    is the shallow walk's own and never carries over to the next walk."""
    from tapwatch.decode import first_ip, layers, walk

    data = bytes(PKT)
    for _ in range(3):
        assert first_ip(data, LINKTYPE_RAW) == (4, 0, len(data))
        assert walk(data, LINKTYPE_RAW).names == ["IPv4", "UDP"]
        assert layers(data, LINKTYPE_RAW) == ("IPv4", "UDP")
