"""Tunnels decoded to the inner packet, tcpdump's relative TCP numbers, the framing decoder,
and hostile text in the scapy tree.  Pure computation on packets built with scapy."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6NIReplyName, IPv6
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN

from tapwatch import decode
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
INNER = IP(src="192.168.1.1", dst="192.168.1.2") / ICMP(id=5, seq=9) / b"abcd"
INNER_TEXT = "IP 192.168.1.1 > 192.168.1.2: ICMP echo request, id 5, seq 9, length 12"


def summ(pkt: object, lt: int = LINKTYPE_RAW) -> decode.Summary:
    data = bytes(pkt)  # type: ignore[call-overload]
    s = decode.summarize(data, lt)
    assert decode.layers(data, lt) == s.layers
    assert "decoder error" not in s.text
    return s


def test_gre_and_ethernet_over_gre_show_the_inner_packet() -> None:
    s = summ(IP(src="10.0.0.1", dst="10.0.0.2") / GRE(key_present=1, key=0x1234) / INNER)
    assert s.text == f"IP 10.0.0.1 > 10.0.0.2: GREv0, key=0x1234, length 40: {INNER_TEXT}"
    assert s.layers == ("IPv4", "GRE", "IPv4", "ICMP")
    teb = summ(
        IP(src="10.0.0.1", dst="10.0.0.2") / GRE(proto=0x6558) / Ether(src=M1, dst=M2) / INNER
    )
    assert teb.text.endswith(f"GREv0, length 50: {INNER_TEXT}")
    assert teb.layers == ("IPv4", "GRE", "Ethernet", "IPv4", "ICMP")


def test_vxlan_one_line_by_default_two_in_strict_mode() -> None:
    frame = bytes(
        IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=1, dport=4789)
        / VXLAN(vni=42)
        / Ether(src=M1, dst=M2)
        / INNER
    )
    s = summ(IP(frame))
    assert s.text.endswith(f"VXLAN, flags [I] (0x0c), vni 42: {INNER_TEXT}")
    assert s.layers == ("IPv4", "UDP", "VXLAN", "Ethernet", "IPv4", "ICMP")
    strict = decode.LineFormatter(LINKTYPE_RAW, strict=True).line(0, frame)
    assert strict.split("\n")[1] == INNER_TEXT


def test_wireguard_by_shape_on_any_port_and_strict_mode() -> None:
    data = b"\x04\x00\x00\x00" + struct.pack("<IQ", 0x44332211, 7) + b"\x55" * 32
    pkt = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=40000, dport=40001) / data
    s = summ(pkt)
    assert s.text.endswith("WireGuard transport data, receiver 0x44332211, counter 7, length 48")
    assert s.layers[-1] == "WireGuard"
    strict = decode.LineFormatter(LINKTYPE_RAW, strict=True).line(0, bytes(pkt))
    assert strict.endswith("UDP, length 48")


def test_full_size_wireguard_transport_on_its_port() -> None:
    """A full-size packet through wg (``ping -s 1392``: 1420 bytes inside) is not padded to
    16, so its 1452-byte message is transport data on 51820; on another port the odd size
    is not taken for WireGuard."""
    data = b"\x04\x00\x00\x00" + struct.pack("<IQ", 0x44332211, 9) + b"\x55" * (1452 - 16)
    on_port = summ(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=51820, dport=51820) / data)
    assert on_port.text.endswith(
        "WireGuard transport data, receiver 0x44332211, counter 9, length 1452"
    )
    assert on_port.layers == ("IPv4", "UDP", "WireGuard")
    elsewhere = summ(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=40000, dport=40001) / data)
    assert elsewhere.text.endswith("UDP, length 1452")
    assert elsewhere.layers == ("IPv4", "UDP")


def test_esp_spi_and_sequence_as_tcpdump() -> None:
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", proto=50) / (struct.pack("!II", 0x1001, 5) + b"x" * 8)
    assert summ(pkt).text == "IP 10.0.0.1 > 10.0.0.2: ESP(spi=0x00001001,seq=0x5), length 16"


def test_ip_in_ip_all_four() -> None:
    v6 = IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=5, seq=9)
    for outer in (IP(src="10.0.0.1", dst="10.0.0.2"), IPv6(src="fd01::1", dst="fd01::2")):
        for inner in (INNER, v6):
            s = summ(outer / inner)
            assert s.layers[-1] in ("ICMP", "ICMPv6") and len(s.layers) == 3


def test_relative_tcp_numbers_per_connection_and_absolute_flag() -> None:
    a, b = "10.0.0.1", "10.0.0.2"
    pkts = [
        IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags="S", seq=1000),
        IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags="SA", seq=5000, ack=1001),
        IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001),
        IP(src=a, dst=b) / TCP(sport=40000, dport=80, flags="PA", seq=1001, ack=5001) / b"x",
    ]
    fmt = decode.LineFormatter(LINKTYPE_RAW)
    lines = [fmt.line(0, bytes(p)) for p in pkts]
    assert "seq 1000," in lines[0] and "seq 5000, ack 1001," in lines[1]
    assert "Flags [.], ack 1, win" in lines[2]
    assert "seq 1:2, ack 1," in lines[3]
    absolute = decode.LineFormatter(LINKTYPE_RAW, absolute=True)
    assert "seq 1001:1002, ack 5001," in [absolute.line(0, bytes(p)) for p in pkts][3]
    assert "seq 1001:1002" in decode.summarize(bytes(pkts[3]), LINKTYPE_RAW).text  # stateless


def test_framed_stream_reassembles_frames_across_segments() -> None:
    frames = [bytes(INNER), bytes(IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=1, dport=2))]
    stream = b"".join(struct.pack("!H", len(f)) + f for f in frames)
    got, used = decode.split_frames(stream)
    assert got == frames and used == len(stream)
    fs = decode.FramedStream(LINKTYPE_RAW)
    first = fs.feed(stream[:10])
    assert first == [] and fs.pending == 10
    rest = fs.feed(stream[10:])
    assert [s.text for s in rest] == [INNER_TEXT, "IP 10.9.0.1.1 > 10.9.0.2.2: UDP, length 0"]
    tap = decode.FramedStream(LINKTYPE_ETHERNET)
    eth = bytes(Ether(src=M1, dst=M2) / INNER)
    assert tap.feed(struct.pack("!H", len(eth)) + eth)[0].layers[0] == "Ethernet"


def test_framed_stream_is_bounded() -> None:
    fs = decode.FramedStream(LINKTYPE_RAW, max_buffer=100)
    assert fs.feed(b"\xff\xff" + b"x" * 200) == []
    assert fs.pending == 0 and fs.dropped == 202


HOSTILE = ["\x1b]0;title\x07", "\x1b]52;c;aGVsbG8=\x07", "\r\x1b[2K", "\u202egnp.exe"]


def _no_raw_controls(text: str) -> None:
    for ch in ("\x1b", "\x07", "\r", "\u202e"):
        assert ch not in text, repr(text)


@pytest.mark.parametrize("name", HOSTILE)
def test_tree_and_verbose_text_escape_hostile_names(name: str) -> None:
    raw = name.encode()
    dns = (
        IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=1, dport=53)
        / DNS(qd=DNSQR(qname=raw + b".example"))
    )
    ni = IPv6(src="fd00::2", dst="fd00::1") / ICMPv6NIReplyName(data=raw.decode("latin-1"))
    for pkt in (dns, ni):
        data = bytes(pkt)
        stack = list(decode.detail(data, LINKTYPE_RAW))
        while stack:
            node = stack.pop()
            _no_raw_controls(node.label)
            stack.extend(node.children)
        _no_raw_controls(decode.verbose_text(data, LINKTYPE_RAW))
        _no_raw_controls(decode.LineFormatter(LINKTYPE_RAW).line(0, data))


def test_radius_user_name_escaped_with_all_of_scapy_loaded() -> None:
    from scapy.layers.radius import Radius, RadiusAttribute

    pkt = (
        IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=1812, dport=1812)
        / Radius(attributes=[RadiusAttribute(type=1, value=HOSTILE[0].encode())])
    )
    data = bytes(pkt)
    stack = list(decode.detail(data, LINKTYPE_RAW))
    while stack:
        node = stack.pop()
        _no_raw_controls(node.label)
        stack.extend(node.children)
    _no_raw_controls(decode.verbose_text(data, LINKTYPE_RAW))


def test_large_frames_are_dissected_only_up_to_a_bound() -> None:
    # a DNS message of compression pointers: scapy's cost on the whole of it is seconds
    body = b"\xc0\x0c" * 30000
    pkt = bytes(
        IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=53, dport=9)
        / (b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00" + body)
    )
    nodes = decode.detail(pkt, LINKTYPE_RAW)
    assert nodes[-1].label.startswith("Not dissected:") and nodes[-1].end == len(pkt)
    assert "not dissected" in decode.verbose_text(pkt, LINKTYPE_RAW)


def test_openvpn_lines_carry_tsharks_packet_ids_and_acks() -> None:
    """OpenVPN's control messages from a real session (UDP and TCP, tests/corpus/vpn.pcap):
    the session, the acknowledged packet-ids, the remote session and the message's own
    packet-id are the ones tshark decodes from the same packets."""
    import re
    import shutil
    import subprocess
    from pathlib import Path

    from tapwatch import pcap

    exe = shutil.which("tshark")
    if exe is None:
        pytest.skip("tshark not installed")
    path = Path(__file__).resolve().parent / "corpus" / "vpn.pcap"
    rows = subprocess.run(
        [exe, "-r", str(path), "-Y", "openvpn.opcode != 0x09", "-T", "fields", "-E",
         "separator=|", "-e", "frame.number", "-e", "openvpn.sessionid", "-e",
         "openvpn.mpidarrayelement", "-e", "openvpn.rsessionid", "-e", "openvpn.mpid"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    theirs = {int(r.split("|")[0]): r.split("|")[1:] for r in rows}
    assert len(theirs) >= 20
    with pcap.read_capture(str(path)) as reader:
        lines = [decode.summarize(rec.data, reader.linktype).text for rec in reader]
    for number, (session, acks, remote, mpid) in theirs.items():
        line = lines[number - 1]
        got = re.search(
            r"session 0x(\w+)(?:, acks \[([\d,]*)\], remote session 0x(\w+))?"
            r"(?:, packet-id (\d+))?",
            line,
        )
        assert got is not None, line
        assert int(got[1], 16) == int(session), line
        assert (got[2] or "") == acks, line
        assert (str(int(got[3], 16)) if got[3] else "") == remote, line
        assert (got[4] or "") == mpid, line
