"""Responder (ARP / NDP / ICMP echo), echo/drop and the echo-loop guard.

Replies are checked by dissecting them with scapy and comparing every checksum
with the one scapy computes when the field is deleted and the packet rebuilt.
The one device test runs in a private network namespace (see tests/test_replay.py
for the replay half of the same idea); everything else is pure unit testing.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.utils import checksum as scapy_checksum

from tapwatch import peer
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
)
from tapwatch.peer import MODES, PeerError, Responder, stable_mac
from tapwatch.wire import checksum

REPO = Path(__file__).resolve().parent.parent

OWN4 = "192.168.3.11"
PEER4 = "192.168.3.12"
OWN6 = "fd00:3::11"
PEER6 = "fd00:3::12"
HOST_MAC = "52:54:00:12:34:56"
OWN = [ipaddress.ip_interface(f"{OWN4}/24"), ipaddress.ip_interface(f"{OWN6}/64")]
PAYLOAD = bytes(range(56))


@pytest.fixture(autouse=True)
def no_scapy_network_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail, rather than ARP/NS on the host's network, if scapy tries to resolve a MAC.

    scapy fills a missing Ether ``dst`` by asking the network; every frame here
    must name its addresses.
    """
    from scapy.config import conf

    def forbidden(*args: object) -> None:
        raise AssertionError("scapy tried to resolve a MAC address on the network")

    monkeypatch.setattr(conf.neighbor, "resolve", forbidden)


@pytest.fixture
def tun() -> Responder:
    return Responder(LINKTYPE_RAW, OWN)


@pytest.fixture
def tap() -> Responder:
    return Responder(LINKTYPE_ETHERNET, OWN, mac=stable_mac("tap0"))


def only(replies: list[bytes]) -> bytes:
    assert len(replies) == 1, replies
    return replies[0]


def assert_checksums(pkt):  # type: ignore[no-untyped-def]
    """Every checksum in ``pkt`` equals what scapy computes from scratch."""
    fields = [(IP, "chksum"), (ICMP, "chksum"), (ICMPv6EchoReply, "cksum"), (ICMPv6ND_NA, "cksum")]
    rebuilt = pkt.copy()
    present = []
    for cls, name in fields:
        if cls in rebuilt:
            delattr(rebuilt[cls], name)
            present.append((cls, name))
    assert present, "no checksummed layer in the reply"
    again = pkt.__class__(bytes(rebuilt))
    for cls, name in present:
        assert getattr(pkt[cls], name) == getattr(again[cls], name), f"{cls.__name__}.{name}"


def echo4(dst: str = PEER4, src: str = OWN4, **ip):  # type: ignore[no-untyped-def]
    return IP(src=src, dst=dst, **ip) / ICMP(id=0x1234, seq=7) / PAYLOAD


def echo6(dst: str = PEER6, src: str = OWN6):  # type: ignore[no-untyped-def]
    return IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=0x4321, seq=9, data=PAYLOAD)


# ---- tun: IPv4 / IPv6 echo ------------------------------------------------------------


def test_tun_ipv4_echo_reply(tun: Responder) -> None:
    reply = IP(only(tun.respond(bytes(echo4(flags="DF", tos=0x10, ttl=3)))))
    assert (reply.src, reply.dst) == (PEER4, OWN4)
    assert reply.ttl == 64 and reply.proto == 1 and reply.ihl == 5
    assert reply.flags == "DF" and reply.frag == 0 and reply.tos == 0x10
    assert reply.len == 20 + 8 + len(PAYLOAD)
    icmp = reply[ICMP]
    assert (icmp.type, icmp.code, icmp.id, icmp.seq) == (0, 0, 0x1234, 7)
    assert bytes(icmp.payload) == PAYLOAD
    assert_checksums(reply)
    assert tun.replies == 1


def test_tun_ipv4_reply_without_df_and_with_options(tun: Responder) -> None:
    req = IP(src=OWN4, dst=PEER4, options=[b"\x01\x01\x01\x00"]) / ICMP(id=1, seq=2) / b"odd"
    reply = IP(only(tun.respond(bytes(req))))
    assert reply.flags == 0 and reply.ihl == 5
    assert bytes(reply[ICMP].payload) == b"odd"  # odd length exercises checksum padding
    assert_checksums(reply)


def test_tun_ipv6_echo_reply(tun: Responder) -> None:
    reply = IPv6(only(tun.respond(bytes(echo6()))))
    assert (reply.src, reply.dst) == (PEER6, OWN6)
    assert reply.hlim == 64 and reply.nh == 58 and reply.plen == 8 + len(PAYLOAD)
    er = reply[ICMPv6EchoReply]
    assert (er.type, er.code, er.id, er.seq, er.data) == (129, 0, 0x4321, 9, PAYLOAD)
    assert_checksums(reply)


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(echo4(dst=OWN4, src=PEER4), id="own address"),
        pytest.param(echo4(dst="192.168.4.1"), id="outside subnet"),
        pytest.param(echo4(dst="192.168.3.0"), id="network address"),
        pytest.param(echo4(dst="192.168.3.255"), id="broadcast address"),
        pytest.param(echo4(flags="MF"), id="first fragment"),
        pytest.param(echo4(frag=10), id="later fragment"),
        pytest.param(echo4(src="224.0.0.1"), id="multicast source"),
        pytest.param(IP(src=OWN4, dst=PEER4) / ICMP(type=0) / b"x", id="echo reply"),
        pytest.param(IP(src=OWN4, dst=PEER4) / UDP(dport=7) / b"x", id="udp"),
        pytest.param(IP(src=OWN4, dst=PEER4) / ICMP(chksum=0x1111) / b"x", id="bad icmp csum"),
        pytest.param(IP(src=OWN4, dst=PEER4, chksum=0x1111) / ICMP(), id="bad ip csum"),
        pytest.param(echo6(dst=OWN6, src=PEER6), id="own v6 address"),
        pytest.param(echo6(dst="fd00:4::12"), id="outside v6 prefix"),
        pytest.param(echo6(dst="fd00:3::"), id="subnet-router anycast"),
        pytest.param(echo6(src="ff02::1"), id="multicast v6 source"),
        pytest.param(
            IPv6(src=OWN6, dst=PEER6) / ICMPv6EchoRequest(cksum=0x1111), id="bad icmpv6 csum"
        ),
    ],
)
def test_tun_not_answered(tun: Responder, packet) -> None:  # type: ignore[no-untyped-def]
    assert tun.respond(bytes(packet)) == []
    assert tun.replies == 0


def test_tun_truncated_packet_not_answered(tun: Responder) -> None:
    raw = bytes(echo4())
    for cut in range(len(raw)):
        assert tun.respond(raw[:cut]) == []


def test_slash31_and_slash32() -> None:
    p2p = Responder(LINKTYPE_RAW, [ipaddress.ip_interface("10.0.0.0/31")])
    assert p2p.answers("10.0.0.1") and not p2p.answers("10.0.0.0")
    lone = Responder(LINKTYPE_RAW, [ipaddress.ip_interface("10.0.0.1/32")])
    assert lone.answers_nothing and "no address" in lone.describe()
    assert lone.respond(bytes(echo4(dst="10.0.0.2", src="10.0.0.1"))) == []


def test_peers_narrow_the_answered_addresses() -> None:
    peers = [ipaddress.ip_address(PEER4), ipaddress.ip_address("10.9.0.5")]
    r = Responder(LINKTYPE_RAW, OWN, peers)
    assert r.respond(bytes(echo4(dst=PEER4)))
    assert r.respond(bytes(echo4(dst="192.168.3.13"))) == []  # in the subnet, not a peer
    # outside every subnet but routed into the device by the user: allowed, answered
    assert r.respond(bytes(echo4(dst="10.9.0.5")))
    assert r.respond(bytes(echo6())) == []
    assert "10.9.0.5" in r.describe()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"peers": [ipaddress.ip_address(OWN4)]}, "own address"),
        ({"peers": [ipaddress.ip_address("224.0.0.5")]}, "not a unicast"),
        ({"peers": [ipaddress.ip_address("240.0.0.1")]}, "reserved \\(class E\\)"),
        ({"peers": [ipaddress.ip_address("192.168.3.255")]}, "broadcast address of"),
        ({"peers": ["not-an-ip"]}, "invalid peer"),
        ({"mac": b"\x01\x00\x5e\x00\x00\x01"}, "multicast"),
        ({"mac": "zz:00:00:00:00:00"}, "invalid MAC"),
        ({"mac": b"\x02\x00"}, "6 bytes"),
    ],
)
def test_responder_configuration_errors(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PeerError, match=message) as info:
        Responder(LINKTYPE_ETHERNET, OWN, **kwargs)
    assert "\n" not in str(info.value)


def test_responder_rejects_link_types_it_cannot_answer_on() -> None:
    with pytest.raises(PeerError, match="Linux cooked"):
        Responder(LINKTYPE_LINUX_SLL, OWN)


# ---- tap: ARP / NDP / echo in Ethernet --------------------------------------------------


def arp_request(
    tpa: str = PEER4,
    dst: str = "ff:ff:ff:ff:ff:ff",
    spa: str = OWN4,  # type: ignore[no-untyped-def]
    sha: str = HOST_MAC,
):
    return Ether(src=HOST_MAC, dst=dst) / ARP(hwsrc=sha, psrc=spa, pdst=tpa)


def test_arp_reply(tap: Responder) -> None:
    frame = Ether(only(tap.respond(bytes(arp_request()))))
    assert frame.dst == HOST_MAC and frame.src == tap.mac_str and frame.type == 0x0806
    arp = frame[ARP]
    assert arp.op == 2 and arp.hwtype == 1 and arp.ptype == 0x0800
    assert (arp.hwsrc, arp.psrc) == (tap.mac_str, PEER4)
    assert (arp.hwdst, arp.pdst) == (HOST_MAC, OWN4)


def test_arp_unicast_probe_to_our_mac_is_answered(tap: Responder) -> None:
    # Linux re-validates neighbour entries with unicast ARP to the cached MAC.
    assert tap.respond(bytes(arp_request(dst=tap.mac_str)))
    assert tap.respond(bytes(arp_request(dst="52:54:00:aa:bb:cc"))) == []


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(arp_request(tpa=OWN4), id="own address"),
        pytest.param(arp_request(tpa="10.1.1.1"), id="outside subnet"),
        pytest.param(arp_request(tpa=PEER4, spa=PEER4), id="gratuitous"),
        pytest.param(
            Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=2, hwsrc=HOST_MAC, psrc=OWN4, pdst=PEER4),
            id="reply",
        ),
    ],
)
def test_arp_not_answered(tap: Responder, frame) -> None:  # type: ignore[no-untyped-def]
    assert tap.respond(bytes(frame)) == []


def ns_frame(
    target: str = PEER6,
    src: str = OWN6,
    dst: str | None = None,
    hlim: int = 255,
    eth_dst: str = "33:33:ff:00:00:12",
):  # type: ignore[no-untyped-def]
    if dst is None:
        dst = "ff02::1:ff00:12"
    pkt = Ether(src=HOST_MAC, dst=eth_dst) / IPv6(src=src, dst=dst, hlim=hlim)
    pkt = pkt / ICMPv6ND_NS(tgt=target)
    if src != "::":
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC)
    return pkt


def test_neighbor_solicitation_to_solicited_node_multicast(tap: Responder) -> None:
    frame = Ether(only(tap.respond(bytes(ns_frame()))))
    assert frame.dst == HOST_MAC and frame.src == tap.mac_str and frame.type == 0x86DD
    ip6 = frame[IPv6]
    assert (ip6.src, ip6.dst, ip6.hlim) == (PEER6, OWN6, 255)
    na = frame[ICMPv6ND_NA]
    assert (na.R, na.S, na.O, na.tgt) == (0, 1, 1, PEER6)
    assert frame[ICMPv6NDOptDstLLAddr].lladdr == tap.mac_str
    assert_checksums(frame)


def test_neighbor_solicitation_unicast_probe(tap: Responder) -> None:
    frame = Ether(only(tap.respond(bytes(ns_frame(dst=PEER6, eth_dst=tap.mac_str)))))
    assert frame[ICMPv6ND_NA].S == 1 and frame[IPv6].dst == OWN6


def test_duplicate_address_detection_is_defended_to_all_nodes(tap: Responder) -> None:
    frame = Ether(only(tap.respond(bytes(ns_frame(src="::")))))
    assert frame.dst == "33:33:00:00:00:01" and frame[IPv6].dst == "ff02::1"
    na = frame[ICMPv6ND_NA]
    assert (na.S, na.O) == (0, 1)  # RFC 4861 7.2.4: unsolicited when the asker has no address
    assert_checksums(frame)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(ns_frame(target=OWN6, dst="ff02::1:ff00:11"), id="own address"),
        pytest.param(ns_frame(hlim=64), id="hop limit not 255"),
        pytest.param(ns_frame(dst="ff02::1:ff00:99"), id="wrong solicited-node group"),
        pytest.param(ns_frame(target="fd00:9::12", dst="ff02::1:ff00:12"), id="outside prefix"),
    ],
)
def test_neighbor_solicitation_not_answered(tap: Responder, frame) -> None:  # type: ignore[no-untyped-def]
    assert tap.respond(bytes(frame)) == []


def test_ethernet_icmp_echo(tap: Responder) -> None:
    for request, layer in ((echo4(), IP), (echo6(), IPv6)):
        frame = Ether(only(tap.respond(bytes(Ether(src=HOST_MAC, dst=tap.mac) / request))))
        assert frame.dst == HOST_MAC and frame.src == tap.mac_str
        assert frame[layer].dst == request.src and frame[layer].src == request.dst
        assert_checksums(frame)
    # not addressed to us at layer 2: a real NIC would not even see it
    assert tap.respond(bytes(Ether(src=HOST_MAC, dst="52:54:00:aa:bb:cc") / echo4())) == []


def test_ethernet_padding_is_not_echoed(tap: Responder) -> None:
    frame = bytes(Ether(src=HOST_MAC, dst=tap.mac) / IP(src=OWN4, dst=PEER4) / ICMP())
    padded = frame + b"\x00" * (60 - len(frame))
    reply = Ether(only(tap.respond(padded)))
    assert reply[IP].len == 28 and len(bytes(reply)) == 14 + 28
    assert_checksums(reply)


def test_vlan_tag_is_kept(tap: Responder) -> None:
    arp = Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=7, prio=3)
    arp = arp / ARP(hwsrc=HOST_MAC, psrc=OWN4, pdst=PEER4)
    frame = Ether(only(tap.respond(bytes(arp))))
    assert frame[Dot1Q].vlan == 7 and frame[Dot1Q].prio == 3 and frame[ARP].op == 2
    ping = Ether(src=HOST_MAC, dst=tap.mac) / Dot1Q(vlan=7) / echo4()
    frame = Ether(only(tap.respond(bytes(ping))))
    assert frame[Dot1Q].vlan == 7 and frame[ICMP].type == 0
    assert_checksums(frame)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_respond_never_raises_on_random_bytes(data: bytes) -> None:
    for r in (Responder(LINKTYPE_RAW, OWN), Responder(LINKTYPE_ETHERNET, OWN)):
        out = r.respond(data)
        assert isinstance(out, list) and all(isinstance(f, bytes) for f in out)


_TEMPLATES = [
    bytes(echo4()),
    bytes(echo6()),
    bytes(arp_request()),
    bytes(ns_frame()),
    bytes(Ether(src=HOST_MAC, dst=stable_mac("tap0")) / echo4()),
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_TEMPLATES),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    st.integers(0, 200),
)
def test_respond_never_raises_on_mutated_requests(template: bytes, flips, cut: int) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(template)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    data = data[: len(data) - cut % 8] if cut % 3 == 0 else data
    tap = Responder(LINKTYPE_ETHERNET, OWN, mac=stable_mac("tap0"))
    for r in (Responder(LINKTYPE_RAW, OWN), tap):
        out = r.respond(bytes(data))
        assert isinstance(out, list) and all(isinstance(f, bytes) for f in out)


@given(st.binary(max_size=300))
def test_checksum_matches_scapy(data: bytes) -> None:
    assert checksum(data) == scapy_checksum(data)


# ---- small pieces -------------------------------------------------------------------------


def test_stable_mac_is_stable_unicast_and_local() -> None:
    mac = stable_mac("tun1")
    assert mac == stable_mac("tun1") and len(mac) == 6
    assert mac[0] & 0x02 and not mac[0] & 0x01
    assert stable_mac("tun2") != mac
    r = Responder(LINKTYPE_ETHERNET, OWN, mac=mac)
    assert r.mac_str == ":".join(f"{b:02x}" for b in mac)
    # without a MAC the responder still picks the same one every run
    assert Responder(LINKTYPE_ETHERNET, OWN).mac == Responder(LINKTYPE_ETHERNET, OWN).mac


def test_echo_drop_and_handler(tun: Responder) -> None:
    assert MODES == ("drop", "echo", "reply")
    assert peer.echo(b"abc") == [b"abc"]
    assert peer.drop(b"abc") == []
    assert peer.handler("echo")(b"x") == [b"x"]
    assert peer.handler("drop")(b"x") == []
    assert peer.handler("reply", tun)(bytes(echo4()))
    with pytest.raises(PeerError, match="needs addresses"):
        peer.handler("reply")
    with pytest.raises(PeerError, match="unknown mode"):
        peer.handler("bounce")


def test_peer_does_not_import_scapy() -> None:
    code = "import sys, tapwatch.peer; assert 'scapy' not in sys.modules, 'scapy imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ---- martian sources: what a Linux host does not answer ---------------------------------------
#
# Checked against Linux 6.18 with the rp_filter Debian, Ubuntu and Fedora set (2): see
# test_reply_mode_agrees_with_linux in test_peer.py, which sends the same frames to a kernel.

PLAYED = "192.168.3.13"  # another address the responder plays (every one in the subnet is)
PLAYED6 = "fd00:3::13"


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(echo4(src="192.168.3.255"), id="subnet broadcast"),
        pytest.param(echo4(src="192.168.3.0"), id="subnet network address"),
        pytest.param(echo4(src="0.0.0.0"), id="unspecified"),
        pytest.param(echo4(src="127.0.0.1"), id="loopback"),
        pytest.param(echo4(src="127.9.8.7"), id="loopback 127/8"),
        pytest.param(echo4(src="224.0.0.1"), id="multicast"),
        pytest.param(echo4(src="239.255.255.250"), id="multicast 239"),
        pytest.param(echo4(src="255.255.255.255"), id="limited broadcast"),
        pytest.param(echo4(src="240.0.0.1"), id="class E"),
        pytest.param(echo4(src="254.1.2.3"), id="class E 254"),
        pytest.param(echo4(src=PLAYED), id="an address the peer plays"),
        pytest.param(echo4(src=PEER4), id="the destination itself"),
        pytest.param(echo6(src="::1"), id="IPv6 loopback"),
        pytest.param(echo6(src="::"), id="IPv6 unspecified"),
        pytest.param(echo6(src="ff02::1"), id="IPv6 multicast"),
        pytest.param(echo6(src="ff05::2"), id="IPv6 multicast site"),
        pytest.param(echo6(src=PLAYED6), id="an IPv6 address the peer plays"),
        pytest.param(echo6(src=PEER6), id="the IPv6 destination itself"),
    ],
)
@pytest.mark.parametrize("linktype", [LINKTYPE_RAW, LINKTYPE_ETHERNET], ids=["tun", "tap"])
def test_echo_request_from_martian_source_is_not_answered(linktype: int, packet) -> None:  # type: ignore[no-untyped-def]
    r = Responder(linktype, OWN, mac=stable_mac("tap0"))
    frame = packet if linktype == LINKTYPE_RAW else Ether(src=HOST_MAC, dst=r.mac) / packet
    assert r.respond(bytes(frame)) == []


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("0.1.2.3", id="0/8 beyond 0.0.0.0"),
        pytest.param("223.255.255.254", id="last unicast below multicast"),
        pytest.param("169.254.1.1", id="link-local"),
        pytest.param("10.9.9.9", id="outside the subnet"),
        pytest.param(OWN4, id="the device's own address"),
    ],
)
def test_echo_request_from_unusual_but_unicast_ipv4_source_is_answered(
    tun: Responder, src: str
) -> None:
    assert IP(only(tun.respond(bytes(echo4(src=src))))).dst == src


def test_slash31_has_no_network_or_broadcast_address() -> None:
    p2p = Responder(LINKTYPE_RAW, [ipaddress.ip_interface("10.0.0.1/31")])
    assert only(p2p.respond(bytes(echo4(src="10.0.0.1", dst="10.0.0.0"))))
    p2p = Responder(LINKTYPE_RAW, [ipaddress.ip_interface("10.0.0.0/31")])
    assert only(p2p.respond(bytes(echo4(src="10.0.0.0", dst="10.0.0.1"))))


@pytest.mark.parametrize(
    "src",
    ["fe80::1", "::ffff:192.168.3.11", "fd09::9"],
    ids=["link-local", "v4-mapped", "outside the prefix"],
)
def test_echo_request_from_unusual_but_unicast_ipv6_source_is_answered(
    tun: Responder, src: str
) -> None:
    assert IPv6(only(tun.respond(bytes(echo6(src=src))))).dst == src


@pytest.mark.parametrize(
    "mac",
    ["01:00:5e:00:00:01", "33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"],
    ids=["IPv4 multicast", "IPv6 multicast", "broadcast", "zero"],
)
def test_nothing_is_answered_to_a_group_or_zero_ethernet_source(tap: Responder, mac: str) -> None:
    for frame in (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=HOST_MAC, psrc=OWN4, pdst=PEER4),
        Ether(src=mac, dst=tap.mac) / echo4(),
        Ether(src=mac, dst=tap.mac) / echo6(),
        Ether(src=mac, dst="33:33:ff:00:00:12")
        / IPv6(src=OWN6, dst="ff02::1:ff00:12", hlim=255)
        / ICMPv6ND_NS(tgt=PEER6)
        / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC),
    ):
        assert tap.respond(bytes(frame)) == [], frame.summary()


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(arp_request(sha="00:00:00:00:00:00"), id="sender MAC zero"),
        pytest.param(arp_request(sha="ff:ff:ff:ff:ff:ff"), id="sender MAC broadcast"),
        pytest.param(arp_request(sha="01:00:5e:00:00:01"), id="sender MAC multicast"),
        pytest.param(arp_request(spa="255.255.255.255"), id="sender IP limited broadcast"),
        pytest.param(arp_request(spa="192.168.3.255"), id="sender IP subnet broadcast"),
        pytest.param(arp_request(spa="192.168.3.0"), id="sender IP network address"),
        pytest.param(arp_request(spa="127.0.0.1"), id="sender IP loopback"),
        pytest.param(arp_request(spa="224.0.0.1"), id="sender IP multicast"),
        pytest.param(arp_request(spa="240.0.0.1"), id="sender IP class E"),
        pytest.param(arp_request(spa=PLAYED), id="sender IP one the peer plays"),
        pytest.param(arp_request(spa=PEER4), id="gratuitous (sender IP = target IP)"),
        pytest.param(arp_request(spa="0.0.0.0", sha="00:00:00:00:00:00"), id="probe from MAC zero"),
    ],
)
def test_arp_from_martian_sender_is_not_answered(tap: Responder, frame) -> None:  # type: ignore[no-untyped-def]
    assert tap.respond(bytes(frame)) == []


def test_arp_probe_is_answered_as_linux_does(tap: Responder) -> None:
    """RFC 5227 probe (sender IP 0.0.0.0): Linux answers to the sender MAC, target IP 0.0.0.0."""
    frame = Ether(only(tap.respond(bytes(arp_request(spa="0.0.0.0")))))
    assert frame.dst == HOST_MAC
    arp = frame[ARP]
    assert (arp.op, arp.psrc, arp.hwsrc, arp.pdst, arp.hwdst) == (
        2,
        PEER4,
        tap.mac_str,
        "0.0.0.0",
        HOST_MAC,
    )


@pytest.mark.parametrize("spa", ["10.9.9.9", "0.1.2.3"])
def test_arp_from_unusual_but_unicast_sender_is_answered(tap: Responder, spa: str) -> None:
    assert Ether(only(tap.respond(bytes(arp_request(spa=spa)))))[ARP].pdst == spa


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(
            ns_frame(src="::", dst=PEER6, eth_dst=stable_mac("tap0").hex(":")),
            id="DAD to the unicast target",
        ),
        pytest.param(
            Ether(src=HOST_MAC, dst="33:33:ff:00:00:12")
            / IPv6(src="::", dst="ff02::1:ff00:12", hlim=255)
            / ICMPv6ND_NS(tgt=PEER6)
            / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC),
            id="DAD with a source address",
        ),
        pytest.param(ns_frame(src="::1"), id="source loopback"),
        pytest.param(ns_frame(src="ff02::1"), id="source multicast"),
        pytest.param(
            Ether(src=HOST_MAC, dst="33:33:ff:00:00:12")
            / IPv6(src=OWN6, dst="ff02::1:ff00:12", hlim=255)
            / ICMPv6ND_NS(tgt=PEER6)
            / b"\x01\x00\x00\x00\x00\x00\x00\x00",
            id="option of length zero",
        ),
    ],
)
def test_neighbor_solicitation_malformed_or_martian_is_not_answered(tap: Responder, frame) -> None:  # type: ignore[no-untyped-def]
    assert tap.respond(bytes(frame)) == []


def test_neighbor_solicitation_from_link_local_is_answered(tap: Responder) -> None:
    frame = Ether(only(tap.respond(bytes(ns_frame(src="fe80::1")))))
    assert frame[IPv6].dst == "fe80::1" and frame[ICMPv6ND_NA].S == 1


# ---- echo mode and the forwarding loop ---------------------------------------------------------


def forwarded(data: bytes, hops: int = 1) -> bytes:
    """``data`` as the host sends it back after routing it: TTL/hop limit lower, checksum fixed."""
    if data[0] >> 4 == 6:
        pkt = IPv6(data)
        pkt.hlim -= hops
        return bytes(pkt)
    pkt = IP(data)
    pkt.ttl -= hops
    del pkt.chksum
    return bytes(pkt)


def test_echo_writes_back_everything_in_a_normal_session() -> None:
    e = peer.Echo(LINKTYPE_RAW, ifname="tun1")
    frames = [bytes(echo4(id=i)) for i in range(50)] + [bytes(echo6())]
    frames += [bytes(IP(src=OWN4, dst=PEER4, ttl=1) / UDP() / b"x"), b"", b"\x45", b"\x60" * 30]
    for f in frames:
        assert e.respond(f) == [f]
    again = bytes(echo4(id=3))
    assert e.respond(again) == [again]  # the host sent it twice (same TTL): echoed twice
    assert e.loops == 0 and e.warning is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: echo4(),
        lambda: echo6(),
        lambda: IP(src="10.9.0.2", dst="10.2.0.2", ttl=63) / ICMP() / b"forwarded ping",
    ],
    ids=["IPv4", "IPv6", "routed from elsewhere"],
)
def test_echo_does_not_echo_its_own_frame_coming_back(make) -> None:  # type: ignore[no-untyped-def]
    told: list[str] = []
    e = peer.Echo(LINKTYPE_RAW, ifname="tun1", on_loop=told.append)
    first = bytes(make())
    assert e.respond(first) == [first]
    for hops in range(1, 5):  # each time round it would come back one hop older
        assert e.respond(forwarded(first, hops)) == []
    assert e.loops == 4
    assert e.warning is not None and "tun1" in e.warning
    assert (
        "net.ipv6.conf.all.forwarding=1" if first[0] >> 4 == 6 else "net.ipv4.ip_forward=1"
    ) in e.warning
    assert told == [e.warning]  # said once, when it first happened
    assert "\n" not in e.warning


def test_echo_loop_detection_on_a_tap_with_vlan_tags() -> None:
    e = peer.Echo(LINKTYPE_ETHERNET)
    first = bytes(Ether(src=HOST_MAC, dst="02:00:00:00:00:09") / Dot1Q(vlan=5) / echo4())
    back = bytes(
        Ether(src="02:00:00:00:00:09", dst=HOST_MAC) / Dot1Q(vlan=5) / IP(forwarded(bytes(echo4())))
    )  # the host rewrites the Ethernet header too
    arp = bytes(arp_request())
    assert e.respond(first) == [first]
    assert e.respond(back) == []
    assert e.respond(arp) == [arp] and e.respond(arp) == [arp]  # not IP: always echoed
    assert e.loops == 1


def test_echo_memory_is_bounded() -> None:
    e = peer.Echo(LINKTYPE_RAW, memory=8)
    first = bytes(echo4(id=1))
    e.respond(first)
    assert e.respond(forwarded(first)) == []  # still remembered
    for i in range(2, 30):
        e.respond(bytes(echo4(id=i)))
    assert len(e._recent) <= 8 and len(e._older) <= 8
    assert e.respond(forwarded(first, 2)) == [forwarded(first, 2)]  # forgotten long ago


def test_echo_rejects_link_types_and_sizes_it_cannot_work_with() -> None:
    with pytest.raises(PeerError, match="Linux cooked"):
        peer.Echo(LINKTYPE_LINUX_SLL)
    with pytest.raises(PeerError, match="at least one"):
        peer.Echo(LINKTYPE_RAW, memory=0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_echo_never_raises_and_echoes_non_loops(data: bytes) -> None:
    for lt in (LINKTYPE_RAW, LINKTYPE_ETHERNET):
        assert peer.Echo(lt).respond(data) == [data]


# ---- the real thing, inside a private network namespace ---------------------------------

_HELPER = textwrap.dedent(
    '''
    """Runs inside the test's namespace: a tun and a tap answered by Responder, pinged."""
    import fcntl, ipaddress, json, os, re, select, socket, struct, subprocess, sys, threading
    sys.path.insert(0, sys.argv[1])
    from tapwatch.peer import Responder, stable_mac
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
    from tapwatch.replay import replay

    TUNSETIFF, IFF_TUN, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0001, 0x0002, 0x1000

    def open_dev(name, kind):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        flags = (IFF_TUN if kind == "tun" else IFF_TAP) | IFF_NO_PI
        fcntl.ioctl(fd, TUNSETIFF, name.encode().ljust(16, b"\\0") + flags.to_bytes(2, "little"))
        return fd

    def ip(*args):
        subprocess.run(["ip", *args], check=True)

    def serve(fd, responder, stop):
        while not stop.is_set():
            if not select.select([fd], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            for frame in responder.respond(data):
                os.write(fd, frame)

    def read_pcap(path):
        """Classic pcap, either byte order, µs or ns: (linktype, [(ts_ns, data)])."""
        raw = open(path, "rb").read()
        magic = struct.unpack("<I", raw[:4])[0]
        order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        magic = struct.unpack(order + "I", raw[:4])[0]
        scale = 1 if magic == 0xA1B23C4D else 1000
        linktype = struct.unpack(order + "I", raw[20:24])[0] & 0x0FFFFFFF
        records, off = [], 24
        while off + 16 <= len(raw):
            sec, frac, incl, _ = struct.unpack(order + "IIII", raw[off:off + 16])
            records.append((sec * 10**9 + frac * scale, raw[off + 16:off + 16 + incl]))
            off += 16 + incl
        return linktype, records

    def ping(*args):
        p = subprocess.run(["ping", "-n", "-c", "3", "-W", "1", "-i", "0.2", *args],
                           capture_output=True, text=True, timeout=20)
        m = re.search(r"(\\d+) received", p.stdout)
        return int(m.group(1)) if m else -1

    results = {}
    stop = threading.Event()
    threads = []
    for kind, name, v4, v6 in (("tun", "twtun0", "10.77.0.1/24", "fd77::1/64"),
                               ("tap", "twtap0", "10.78.0.1/24", "fd78::1/64")):
        fd = open_dev(name, kind)
        ip("addr", "add", v4, "dev", name)
        ip("-6", "addr", "add", v6, "dev", name, "nodad")
        ip("link", "set", name, "up")
        lt = LINKTYPE_RAW if kind == "tun" else LINKTYPE_ETHERNET
        own = [ipaddress.ip_interface(v4), ipaddress.ip_interface(v6)]
        r = Responder(lt, own, mac=stable_mac(name))
        t = threading.Thread(target=serve, args=(fd, r, stop), daemon=True)
        t.start()
        threads.append(t)
        peer4 = str(own[0].ip + 1)
        peer6 = str(own[1].ip + 1)
        results[kind + "4"] = ping(peer4)
        results[kind + "6"] = ping("-6", peer6)
        results[kind + "_replies"] = r.replies
        if kind == "tun":
            # replay the capture (Ethernet frames) into the tun; a UDP socket receives it
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("10.77.0.1", 9999))
            sock.settimeout(2)
            linktype, records = read_pcap(sys.argv[2])
            result = replay(records, lambda frame: os.write(fd, frame), speed=1.0,
                            from_lt=linktype, to_lt=LINKTYPE_RAW)
            got = []
            try:
                while len(got) < 3:
                    got.append(sock.recv(100).decode())
            except OSError:
                pass
            results["replay"] = {"sent": result.sent, "skipped": result.skipped,
                                 "elapsed": result.elapsed, "received": got}
        if kind == "tap":
            neigh = subprocess.run(["ip", "neigh", "show", peer4, "dev", name],
                                   capture_output=True, text=True).stdout
            results["tap_neigh"] = neigh.strip()
    stop.set()
    for t in threads:
        t.join(2)
    print(json.dumps(results))
    '''
)


def _netns_usable() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    for tool in ("ip", "ping"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


def _write_capture(path: Path) -> None:
    """An Ethernet capture: three UDP datagrams 0.1 s apart with an ARP frame between."""
    from scapy.utils import wrpcap

    frames = []
    for i in range(3):
        udp = Ether(src=HOST_MAC, dst="02:00:00:00:00:01") / IP(src="10.77.0.2", dst="10.77.0.1")
        udp = udp / UDP(sport=4000, dport=9999) / f"replay-{i}".encode()
        udp.time = 1_700_000_000 + i * 0.1
        frames.append(udp)
    arp = Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.77.0.2", pdst="10.77.0.1")
    arp.time = 1_700_000_000.05
    frames.insert(1, arp)
    wrpcap(str(path), frames)


@pytest.mark.skipif(_netns_usable() is not None, reason=str(_netns_usable()))
def test_real_device_reply_and_replay(tmp_path: Path) -> None:
    """In a private namespace: ping over tun and tap is answered by Responder (IPv4 and
    IPv6: ICMP echo, ARP, NDP), and a pcap replayed into the tun reaches a UDP socket."""
    name = f"tw-act-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        helper = tmp_path / "helper.py"
        helper.write_text(_HELPER)
        capture = tmp_path / "udp.pcap"
        _write_capture(capture)
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        run = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, str(helper), str(REPO), str(capture)],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert run.returncode == 0, run.stderr
        import json

        results = json.loads(run.stdout.strip().splitlines()[-1])
        assert results["tun4"] == 3, results
        assert results["tun6"] == 3, results
        assert results["tap4"] == 3, results
        assert results["tap6"] == 3, results
        mac = ":".join(f"{b:02x}" for b in stable_mac("twtap0"))
        assert mac in results["tap_neigh"], results
        rep = results["replay"]
        assert rep["received"] == ["replay-0", "replay-1", "replay-2"], rep
        assert (rep["sent"], rep["skipped"]) == (3, 1), rep  # the ARP frame cannot enter a tun
        assert 0.18 <= rep["elapsed"] < 1.5, rep  # the capture spans 0.2 s at speed 1
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert name not in listed
