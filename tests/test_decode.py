"""Tests for tapwatch.decode: tcpdump-style summaries, the layer classifier, the scapy tree.

Everything here is pure computation on packets built with scapy: no root, no
network.  The tcpdump comparison only *reads* a pcap file written to tmp_path.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.config import conf
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import ARP, LLC, SNAP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Dot3, Ether
from scapy.utils import wrpcap

from tapwatch import decode
from tapwatch.decode import Node, Summary, detail, format_line, layers, summarize, verbose_text
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

MAC_A = "aa:bb:cc:dd:ee:ff"
MAC_B = "11:22:33:44:55:66"
IP_A = "192.168.3.11"
IP_B = "192.168.3.12"
ALL_LINKTYPES = (
    LINKTYPE_NULL,
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL2,
)


# ----------------------------------------------------------------------------- helpers


def _refuse_neighbor_lookup(*_args: object, **_kwargs: object) -> None:
    """Stand-in for scapy's ``conf.neighbor.resolve``.

    An ``Ether()`` built without ``dst`` makes scapy *send* an ARP request (or an
    NDP solicitation) on the host's interface to find the next hop's MAC: real
    traffic outside any private namespace.  Every frame here names its MACs; this
    makes a forgotten ``dst`` fail the test instead of touching the network.
    """
    raise AssertionError("a test built Ether() without dst: scapy would ARP for it")


@contextmanager
def _no_neighbor_lookups() -> Iterator[None]:
    """Apply :func:`_refuse_neighbor_lookup` while building module-level packets."""
    saved = vars(conf.neighbor).get("resolve")
    conf.neighbor.resolve = _refuse_neighbor_lookup
    try:
        yield
    finally:
        if saved is None:
            del conf.neighbor.resolve
        else:
            conf.neighbor.resolve = saved


@pytest.fixture(autouse=True)
def _no_neighbor_lookups_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf.neighbor, "resolve", _refuse_neighbor_lookup)


def b(pkt: object) -> bytes:
    """Wire bytes of a scapy packet."""
    return bytes(pkt)  # type: ignore[call-overload]


def eth(payload: object, src: str = MAC_A, dst: str = MAC_B) -> bytes:
    return b(Ether(src=src, dst=dst) / payload)


def summ(data: bytes, lt: int = LINKTYPE_RAW) -> Summary:
    """summarize() plus the invariants every result must satisfy."""
    s = summarize(data, lt)
    assert isinstance(s, Summary)
    # The catch-all in summarize() is a last resort: bytes must be handled explicitly.
    assert "decoder error" not in s.text, (data.hex(), lt, s)
    assert layers(data, lt) == s.layers, (data.hex(), lt)
    for field in (s.proto, s.src, s.dst, s.info, s.text, s.link):
        assert isinstance(field, str)
    assert s.layers and all(isinstance(x, str) for x in s.layers)
    return s


def ping_req() -> IP:
    return IP(src=IP_A, dst=IP_B, id=1) / ICMP(type=8, id=24028, seq=1) / (b"x" * 56)


def ping_rep() -> IP:
    return IP(src=IP_B, dst=IP_A) / ICMP(type=0, id=24028, seq=1) / (b"x" * 56)


def syn() -> IP:
    opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]
    return IP(src=IP_A, dst=IP_B) / TCP(
        sport=41000, dport=80, flags="S", seq=12345, window=64240, options=opts
    )


def synack() -> IP:
    return IP(src=IP_B, dst=IP_A) / TCP(
        sport=80, dport=41000, flags="SA", seq=999, ack=12346, window=65160
    )


def udp() -> IP:
    return IP(src=IP_A, dst=IP_B) / UDP(sport=5000, dport=6000) / b"hello world!"


def dns_query() -> IP:
    return (
        IP(src=IP_A, dst=IP_B)
        / UDP(sport=33000, dport=53)
        / DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.com", qtype="A"))
    )


def dns_response() -> IP:
    return (
        IP(src=IP_B, dst=IP_A)
        / UDP(sport=53, dport=33000)
        / DNS(
            id=0x1234,
            qr=1,
            rd=1,
            ra=1,
            qd=DNSQR(qname="example.com"),
            an=[DNSRR(rrname="example.com", rdata="1.2.3.4", ttl=60)],
        )
    )


def arp_req() -> bytes:
    return eth(ARP(op=1, hwsrc=MAC_A, psrc=IP_A, pdst=IP_B), dst="ff:ff:ff:ff:ff:ff")


def arp_rep() -> bytes:
    return eth(ARP(op=2, hwsrc=MAC_B, psrc=IP_B, hwdst=MAC_A, pdst=IP_A), src=MAC_B, dst=MAC_A)


def dhcp_discover() -> IP:
    return (
        IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex("aabbccddeeff"), xid=0x1234)
        / DHCP(options=[("message-type", "discover"), "end"])
    )


# ----------------------------------------------------------------------------- ICMP / ping


def test_ping_request_reply_raw_ipv4() -> None:
    s = summ(b(ping_req()))
    assert s.text == "IP 192.168.3.11 > 192.168.3.12: ICMP echo request, id 24028, seq 1, length 64"
    assert (s.proto, s.src, s.dst) == ("ICMP", IP_A, IP_B)
    # Wireshark's words: the id in hex, the seq read both ways, the TTL (tshark's Info)
    assert s.info == "Echo (ping) request  id=0x5ddc, seq=1/256, ttl=64"
    assert s.layers == ("IPv4", "ICMP")
    assert not s.malformed
    assert s.link == ""
    r = summ(b(ping_rep()))
    assert r.text == "IP 192.168.3.12 > 192.168.3.11: ICMP echo reply, id 24028, seq 1, length 64"
    assert r.info == "Echo (ping) reply    id=0x5ddc, seq=1/256, ttl=64"


def test_ping_raw_ipv6() -> None:
    req = IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=0x1234, seq=7) / b"abcd"
    rep = IPv6(src="fd00::2", dst="fd00::1") / ICMPv6EchoReply(id=0x1234, seq=7) / b"abcd"
    s = summ(b(req))
    assert s.text == "IP6 fd00::1 > fd00::2: ICMP6, echo request, id 4660, seq 7, length 12"
    assert (s.proto, s.src, s.dst, s.layers) == ("ICMPv6", "fd00::1", "fd00::2", ("IPv6", "ICMPv6"))
    assert s.info == "Echo (ping) request id=0x1234, seq=7, hop limit=64"
    r = summ(b(rep))
    assert r.text == "IP6 fd00::2 > fd00::1: ICMP6, echo reply, id 4660, seq 7, length 12"


def test_ping_ethernet_and_link_text() -> None:
    s = summ(eth(ping_req()), LINKTYPE_ETHERNET)
    assert s.text == "IP 192.168.3.11 > 192.168.3.12: ICMP echo request, id 24028, seq 1, length 64"
    assert s.link == f"{MAC_A} > {MAC_B}, ethertype IPv4 (0x0800), length 98: "
    assert s.layers == ("Ethernet", "IPv4", "ICMP")
    assert (s.src, s.dst) == (IP_A, IP_B)


@pytest.mark.parametrize(
    ("pkt", "text"),
    [
        (
            IP(src=IP_A, dst=IP_B)
            / ICMP(type=3, code=3)
            / IP(src=IP_B, dst=IP_A)
            / UDP(sport=1234, dport=999),
            "ICMP 192.168.3.11 udp port 999 unreachable, length 36",
        ),
        (
            IP(src=IP_A, dst=IP_B) / ICMP(type=3, code=1) / IP(src=IP_B, dst=IP_A) / TCP(),
            "ICMP host 192.168.3.11 unreachable, length 48",
        ),
        (
            IP(src=IP_A, dst=IP_B)
            / ICMP(type=3, code=4, nexthopmtu=1400)
            / IP(dst="9.9.9.9")
            / UDP(),
            "ICMP 9.9.9.9 unreachable - need to frag (mtu 1400), length 36",
        ),
        (
            IP(src=IP_A, dst=IP_B) / ICMP(type=11, code=0) / IP(src=IP_B, dst=IP_A) / UDP(),
            "ICMP time exceeded in-transit, length 36",
        ),
        (
            IP(src=IP_A, dst=IP_B) / ICMP(type=5, gw="1.2.3.4") / IP(src=IP_B, dst=IP_A) / UDP(),
            "ICMP redirect 192.168.3.11 to net 1.2.3.4, length 36",
        ),
        (IP(src=IP_A, dst=IP_B) / ICMP(type=13), "ICMP time stamp query id 0 seq 0, length 20"),
    ],
)
def test_icmp_errors_and_others(pkt: IP, text: str) -> None:
    s = summ(b(pkt))
    assert s.text == f"IP {IP_A} > {IP_B}: {text}"
    assert not s.malformed


def test_icmp_unreachable_info() -> None:
    pkt = IP() / ICMP(type=3, code=3) / IP() / UDP()
    assert summ(b(pkt)).info == "Destination unreachable (Port unreachable)"


def test_icmpv6_errors() -> None:
    unreach = (
        IPv6(src="fd00::1", dst="fd00::2")
        / ICMPv6DestUnreach(code=4)
        / IPv6(src="fd00::2", dst="fd00::1")
        / UDP()
    )
    s = summ(b(unreach))
    assert s.text == (
        "IP6 fd00::1 > fd00::2: ICMP6, destination unreachable, unreachable port, "
        "fd00::1 udp port 53, length 56"
    )
    assert s.info == "Destination Unreachable (Port unreachable)"


# ----------------------------------------------------------------------------- ARP / NDP


def test_arp_request_reply() -> None:
    s = summ(arp_req(), LINKTYPE_ETHERNET)
    assert s.text == "ARP, Request who-has 192.168.3.12 tell 192.168.3.11, length 28"
    assert (s.proto, s.src, s.dst) == ("ARP", MAC_A, "ff:ff:ff:ff:ff:ff")
    assert s.info == "Who has 192.168.3.12? Tell 192.168.3.11"
    assert s.layers == ("Ethernet", "ARP")
    assert s.link == f"{MAC_A} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: "
    r = summ(arp_rep(), LINKTYPE_ETHERNET)
    assert r.text == f"ARP, Reply 192.168.3.12 is-at {MAC_B}, length 28"
    assert r.info == f"192.168.3.12 is at {MAC_B}"
    assert (r.src, r.dst) == (MAC_B, MAC_A)


def test_arp_padded_and_gratuitous() -> None:
    padded = arp_req() + b"\0" * 18  # what a real NIC puts on the wire: 60 bytes
    s = summ(padded, LINKTYPE_ETHERNET)
    assert s.text == "ARP, Request who-has 192.168.3.12 tell 192.168.3.11, length 46"
    assert not s.malformed
    grat = eth(ARP(op=1, hwsrc=MAC_A, psrc=IP_A, pdst=IP_A))
    assert summ(grat, LINKTYPE_ETHERNET).info == "Gratuitous ARP for 192.168.3.11 (Request)"


def test_neighbor_solicitation_advertisement() -> None:
    ns = (
        IPv6(src="fd00::1", dst="ff02::1:ff00:2")
        / ICMPv6ND_NS(tgt="fd00::2")
        / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A)
    )
    s = summ(b(ns))
    assert s.text == (
        "IP6 fd00::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fd00::2, length 32"
    )
    assert s.info == f"Neighbor Solicitation for fd00::2 from {MAC_A}"
    na = (
        IPv6(src="fd00::2", dst="fd00::1")
        / ICMPv6ND_NA(tgt="fd00::2", R=0, S=1, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr=MAC_B)
    )
    s = summ(b(na))
    assert s.text == (
        "IP6 fd00::2 > fd00::1: ICMP6, neighbor advertisement, tgt is fd00::2, length 32"
    )
    assert s.info == f"Neighbor Advertisement fd00::2 (sol, ovr) is at {MAC_B}"


def test_router_solicitation_advertisement() -> None:
    rs = IPv6(src="fe80::1", dst="ff02::2") / ICMPv6ND_RS()
    assert summ(b(rs)).text == "IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 8"
    ra = (
        IPv6(src="fe80::2", dst="ff02::1")
        / ICMPv6ND_RA()
        / ICMPv6NDOptPrefixInfo(prefix="fd00::", prefixlen=64)
        / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B)
    )
    s = summ(b(ra))
    assert s.text == "IP6 fe80::2 > ff02::1: ICMP6, router advertisement, length 56"
    assert s.info == f"Router Advertisement from {MAC_B}"


# ----------------------------------------------------------------------------- TCP / UDP


def test_tcp_syn_synack() -> None:
    s = summ(b(syn()))
    assert s.text == (
        "IP 192.168.3.11.41000 > 192.168.3.12.80: Flags [S], seq 12345, win 64240, "
        "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
    )
    assert s.info == (
        "41000 → 80 [SYN] Seq=12345 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=1 TSecr=0 WS=128"
    )
    assert (s.proto, s.src, s.dst, s.layers) == ("TCP", IP_A, IP_B, ("IPv4", "TCP"))
    r = summ(b(synack()))
    assert r.text == (
        "IP 192.168.3.12.80 > 192.168.3.11.41000: Flags [S.], seq 999, ack 12346, "
        "win 65160, length 0"
    )
    assert r.info == "80 → 41000 [SYN, ACK] Seq=999 Ack=12346 Win=65160 Len=0"


def test_tcp_data_and_http() -> None:
    pkt = (
        IP(src=IP_A, dst=IP_B)
        / TCP(sport=41000, dport=80, flags="PA", seq=100, ack=7, window=502)
        / b"GET / HTTP/1.0\r\n\r\n"
    )
    s = summ(b(pkt))
    assert s.text == (
        "IP 192.168.3.11.41000 > 192.168.3.12.80: Flags [P.], seq 100:118, ack 7, "
        "win 502, length 18: HTTP: GET / HTTP/1.0"
    )
    assert s.layers == ("IPv4", "TCP", "HTTP")
    ack = IP(src=IP_A, dst=IP_B) / TCP(
        sport=1,
        dport=2,
        flags="A",
        ack=5,
        window=9,
        options=[("NOP", None), ("NOP", None), ("Timestamp", (7, 8))],
    )
    assert summ(b(ack)).text.endswith(
        "Flags [.], ack 5, win 9, options [nop,nop,TS val 7 ecr 8], length 0"
    )


def test_udp() -> None:
    s = summ(b(udp()))
    assert s.text == "IP 192.168.3.11.5000 > 192.168.3.12.6000: UDP, length 12"
    assert s.info == "5000 → 6000 Len=12"
    assert (s.proto, s.layers) == ("UDP", ("IPv4", "UDP"))


def test_udp_bad_length_is_malformed() -> None:
    s = summ(b(IP() / UDP(sport=1, dport=2, len=50) / b"abc"))
    assert s.malformed and "bad length" in s.text
    s = summ(b(IP() / UDP(sport=1, dport=2, len=3) / b"abc"))
    assert s.malformed


# ----------------------------------------------------------------------------- DNS / DHCP


def test_dns_query_response() -> None:
    q = summ(b(dns_query()))
    assert q.text == "IP 192.168.3.11.33000 > 192.168.3.12.53: 4660+ A? example.com. (29)"
    assert q.info == "Standard query 0x1234 A example.com"
    assert (q.proto, q.layers) == ("DNS", ("IPv4", "UDP", "DNS"))
    r = summ(b(dns_response()))
    assert r.text == "IP 192.168.3.12.53 > 192.168.3.11.33000: 4660 1/0/0 A 1.2.3.4 (56)"
    assert r.info == "Standard query response 0x1234 A example.com A 1.2.3.4"


def test_dns_compressed_response_and_nxdomain() -> None:
    msg = DNS(
        id=7,
        qr=1,
        rd=1,
        ra=1,
        qd=DNSQR(qname="www.example.com"),
        an=[
            DNSRR(rrname="www.example.com", type="CNAME", rdata="example.com"),
            DNSRR(rrname="example.com", rdata="1.2.3.4"),
        ],
    ).compress()
    raw_msg = b(msg)
    assert b"\xc0" in raw_msg  # really compressed
    s = summ(b(IP() / UDP(sport=53, dport=999) / raw_msg))
    assert s.text.endswith(f"7 2/0/0 CNAME example.com., A 1.2.3.4 ({len(raw_msg)})")
    assert s.info == "Standard query response 0x0007 A www.example.com CNAME example.com A 1.2.3.4"
    nx = (
        IP()
        / UDP(sport=53, dport=999)
        / DNS(id=7, qr=1, ra=1, rcode=3, qd=DNSQR(qname="nx.example", qtype="AAAA"))
    )
    s = summ(b(nx))
    assert "7 NXDomain 0/0/0" in s.text
    assert s.info == "Standard query response 0x0007 No such name AAAA nx.example"


def test_dns_pointer_loop_is_malformed_not_hanging() -> None:
    header = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
    for name in (b"\xc0\x0c", b"\x03abc\xc0\x0c", b"\xc0\xff", b"\x03ab"):
        data = b(IP() / UDP(sport=1, dport=53) / (header + name + b"\x00\x01\x00\x01"))
        t0 = time.perf_counter()
        s = summ(data)
        assert time.perf_counter() - t0 < 0.05
        assert s.malformed, name
        assert "7+" in s.text
        assert "[malformed domain" in s.text or "[|domain]" in s.text


def test_mdns_and_dns_over_tcp() -> None:
    mdns = (
        IP(src=IP_A, dst=IP_B)
        / UDP(sport=5353, dport=5353)
        / DNS(qd=DNSQR(qname="_http._tcp.local", qtype="PTR"))
    )
    assert summ(b(mdns)).text.endswith("0+ PTR (QM)? _http._tcp.local. (34)")
    m = b(DNS(id=9, rd=1, qd=DNSQR(qname="a.example")))
    tcp = IP() / TCP(sport=5555, dport=53, flags="PA") / (struct.pack("!H", len(m)) + m)
    s = summ(b(tcp))
    assert s.layers == ("IPv4", "TCP", "DNS")
    assert s.text.endswith(f"length {len(m) + 2}: 9+ A? a.example. ({len(m)})")


def test_dhcp_discover() -> None:
    s = summ(b(dhcp_discover()))
    assert s.text == (
        "IP 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from aa:bb:cc:dd:ee:ff, length 244"
    )  # as tcpdump: the type is in the info
    assert s.info == "DHCP Discover - Transaction ID 0x1234"  # tshark's Info
    assert (s.proto, s.layers) == ("DHCP", ("IPv4", "UDP", "DHCP"))


# ----------------------------------------------------------------------------- VLAN, options,
# ----------------------------------------------------------------------------- fragments


def test_dot1q_and_qinq() -> None:
    one = b(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=10) / udp())
    s = summ(one, LINKTYPE_ETHERNET)
    assert s.layers == ("Ethernet", "802.1Q", "IPv4", "UDP")
    assert s.text == "IP 192.168.3.11.5000 > 192.168.3.12.6000: UDP, length 12"
    assert s.link == (
        f"{MAC_A} > {MAC_B}, ethertype 802.1Q (0x8100), length 58: vlan 10, p 0, "
        "ethertype IPv4 (0x0800), "
    )
    qinq = b(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=100, prio=3) / Dot1Q(vlan=10) / udp())
    s = summ(qinq, LINKTYPE_ETHERNET)
    assert s.layers == ("Ethernet", "802.1ad", "802.1Q", "IPv4", "UDP")
    assert "vlan 100, p 3, ethertype 802.1Q (0x8100), vlan 10, p 0" in s.link
    vlan_arp = b(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=10) / ARP(psrc="1.1.1.1", pdst="1.1.1.2"))
    assert summ(vlan_arp, LINKTYPE_ETHERNET).layers == ("Ethernet", "802.1Q", "ARP")


def test_unknown_ethertype_and_llc() -> None:
    s = summ(b(Ether(src=MAC_A, dst=MAC_B, type=0x1234) / (b"x" * 20)), LINKTYPE_ETHERNET)
    assert s.layers[-1] == "other"
    assert "ethertype Unknown" in s.text and s.link == ""  # the link header is the text
    snap = b(Dot3(src=MAC_A, dst=MAC_B) / LLC() / SNAP(code=0x0800) / ping_req())
    assert summ(snap, LINKTYPE_ETHERNET).layers == ("Ethernet", "LLC", "IPv4", "ICMP")


def test_ipv4_options() -> None:
    pkt = IP(src=IP_A, dst=IP_B, options=IPOption_RR()) / ICMP(id=1, seq=2)
    raw_pkt = b(pkt)
    assert raw_pkt[0] & 15 > 5
    s = summ(raw_pkt)
    assert s.text == "IP 192.168.3.11 > 192.168.3.12: ICMP echo request, id 1, seq 2, length 8"
    assert not s.malformed


def test_ipv4_fragments() -> None:
    first = IP(src=IP_A, dst=IP_B, id=777, flags="MF") / UDP(sport=1, dport=53) / (b"a" * 100)
    s = summ(b(first))
    assert s.text == "IP 192.168.3.11.1 > 192.168.3.12.53: UDP, length 100"  # as tcpdump
    assert s.layers == ("IPv4", "UDP")  # the DNS payload is incomplete: not decoded
    assert s.info.startswith("Fragmented IP protocol (proto=UDP 17, off=0, ID=0309)")
    assert not s.malformed
    later = IP(src=IP_A, dst=IP_B, id=777, frag=185, proto=17) / (b"a" * 100)
    s = summ(b(later))
    assert s.text == "IP 192.168.3.11 > 192.168.3.12: ip-proto-17"
    assert (s.proto, s.layers) == ("IPv4", ("IPv4",))
    assert s.info == "Fragmented IP protocol (proto=UDP 17, off=1480, ID=0309)"


def test_ipv6_fragment_header() -> None:
    first = (
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrFragment(id=0xABCD, m=1)
        / UDP(sport=1, dport=2)
        / (b"x" * 40)
    )
    s = summ(b(first))
    assert s.text == "IP6 fd00::1 > fd00::2: frag (0|48) 1 > 2: UDP, length 40"
    assert s.layers == ("IPv6", "UDP")
    # tshark's Info: what the first fragment starts is told once reassembled
    assert s.info == "IPv6 fragment (off=0 more=y ident=0x0000abcd nxt=17)"
    later = (
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrFragment(id=0xABCD, offset=6, nh=17)
        / (b"x" * 40)
    )
    s = summ(b(later))
    assert s.text == "IP6 fd00::1 > fd00::2: frag (48|40)"
    assert s.layers == ("IPv6",)
    assert not s.malformed


def test_ipv6_extension_headers_walked() -> None:
    pkt = (
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrDestOpt()
        / TCP(sport=1, dport=2, flags="S")
    )
    s = summ(b(pkt))
    assert s.text == "IP6 fd00::1 > fd00::2: HBH DSTOPT 1 > 2: Flags [S], seq 0, win 8192, length 0"
    assert s.layers == ("IPv6", "TCP")
    rt = (
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrRouting(addresses=["fd00::3"])
        / UDP(sport=1, dport=53)
        / DNS(id=5, qd=DNSQR(qname="example.org", qtype="AAAA"))
    )
    s = summ(b(rt))
    assert s.layers == ("IPv6", "UDP", "DNS")
    assert s.text.endswith("1 > 53: 5+ AAAA? example.org. (29)")


def test_tunnels() -> None:
    s = summ(b(IP(src=IP_A, dst=IP_B) / IPv6(src="fd00::3", dst="fd00::4") / ICMPv6EchoRequest()))
    assert s.layers == ("IPv4", "IPv6", "ICMPv6")
    assert s.text.startswith("IP 192.168.3.11 > 192.168.3.12: IP6 fd00::3 > fd00::4: ICMP6, echo")
    assert (s.src, s.dst) == ("fd00::3", "fd00::4")


# ----------------------------------------------------------------------------- link types


def _wrap(linktype: int, ip_pkt: bytes) -> bytes:
    """The same IP packet framed for each supported link type."""
    v6 = ip_pkt[0] >> 4 == 6
    if linktype == LINKTYPE_ETHERNET:
        return b(Ether(src=MAC_A, dst=MAC_B, type=0x86DD if v6 else 0x0800)) + ip_pkt
    if linktype == LINKTYPE_LINUX_SLL:
        return (
            b(
                CookedLinux(
                    pkttype=0,
                    lladdrtype=1,
                    lladdrlen=6,
                    src=bytes.fromhex("aabbccddeeff0000"),
                    proto=0x86DD if v6 else 0x0800,
                )
            )
            + ip_pkt
        )
    if linktype == LINKTYPE_LINUX_SLL2:
        return (
            b(
                CookedLinuxV2(
                    pkttype=4,
                    lladdrtype=1,
                    lladdrlen=6,
                    ifindex=3,
                    src=bytes.fromhex("aabbccddeeff0000"),
                    proto=0x86DD if v6 else 0x0800,
                )
            )
            + ip_pkt
        )
    if linktype == LINKTYPE_NULL:
        return struct.pack("<I", 24 if v6 else 2) + ip_pkt
    return ip_pkt


@pytest.mark.parametrize("linktype", ALL_LINKTYPES)
def test_every_linktype(linktype: int) -> None:
    v6 = linktype == LINKTYPE_IPV6
    ip_pkt = (
        b(IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=1, seq=2))
        if v6
        else b(ping_req())
    )
    s = summ(_wrap(linktype, ip_pkt), linktype)
    assert s.text == summ(ip_pkt, LINKTYPE_RAW).text
    assert not s.malformed
    assert s.layers[-1] == ("ICMPv6" if v6 else "ICMP")
    first = {
        LINKTYPE_ETHERNET: "Ethernet",
        LINKTYPE_LINUX_SLL: "SLL",
        LINKTYPE_LINUX_SLL2: "SLL2",
        LINKTYPE_NULL: "Null",
    }.get(linktype)
    if first:
        assert s.layers[0] == first and s.link.endswith(": ")
    else:
        assert s.link == ""


def test_link_texts() -> None:
    ip_pkt = b(ping_req())
    assert (
        summ(_wrap(LINKTYPE_LINUX_SLL, ip_pkt), LINKTYPE_LINUX_SLL).link
        == f" In {MAC_A} ethertype IPv4 (0x0800), length 100: "  # tcpdump -e pads to 3
    )
    assert (
        summ(_wrap(LINKTYPE_LINUX_SLL2, ip_pkt), LINKTYPE_LINUX_SLL2).link
        == f"Out ifindex 3 {MAC_A} ethertype IPv4 (0x0800), length 104: "
    )
    assert summ(_wrap(LINKTYPE_NULL, ip_pkt), LINKTYPE_NULL).link == "AF IPv4 (2), length 88: "
    # BSD loopback written on a big-endian host.
    big = struct.pack(">I", 2) + ip_pkt
    assert summ(big, LINKTYPE_NULL).layers == ("Null", "IPv4", "ICMP")


def test_raw_version_nibble_and_unknown_linktype() -> None:
    v6 = b(IPv6() / ICMPv6EchoRequest())
    assert summ(v6, LINKTYPE_RAW).layers == ("IPv6", "ICMPv6")
    s = summ(b"\x50" + b"\0" * 30, LINKTYPE_RAW)
    assert s.malformed and s.layers == ("other",) and "not IP" in s.text
    s = summ(b(ping_req()), 147)
    assert (s.proto, s.layers, s.malformed) == ("unknown", ("other",), False)


# ----------------------------------------------------------------------------- robustness


def _truncation_cases() -> list[tuple[str, bytes, int]]:
    return [
        ("ping", b(ping_req()), LINKTYPE_RAW),
        ("eth-ping", eth(ping_req()), LINKTYPE_ETHERNET),
        ("syn", b(syn()), LINKTYPE_RAW),
        ("dns-response", eth(dns_response()), LINKTYPE_ETHERNET),
        ("dhcp", b(dhcp_discover()), LINKTYPE_RAW),
        ("arp", arp_req(), LINKTYPE_ETHERNET),
        ("qinq", eth(Dot1AD(vlan=1) / Dot1Q(vlan=2) / udp()), LINKTYPE_ETHERNET),
        ("ns", b(IPv6() / ICMPv6ND_NS(tgt="fd00::2") / ICMPv6NDOptSrcLLAddr()), LINKTYPE_RAW),
        (
            "v6-ext",
            b(IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(m=1) / udp()[UDP]),
            LINKTYPE_RAW,
        ),
        ("sll", _wrap(LINKTYPE_LINUX_SLL, b(udp())), LINKTYPE_LINUX_SLL),
        ("sll2", _wrap(LINKTYPE_LINUX_SLL2, b(dns_query())), LINKTYPE_LINUX_SLL2),
        ("null", _wrap(LINKTYPE_NULL, b(syn())), LINKTYPE_NULL),
    ]


with _no_neighbor_lookups():
    TRUNCATION_CASES = _truncation_cases()


@pytest.mark.parametrize(
    ("name", "data", "linktype"), TRUNCATION_CASES, ids=[c[0] for c in TRUNCATION_CASES]
)
def test_truncated_at_every_offset(name: str, data: bytes, linktype: int) -> None:
    """Every byte of these frames is claimed by a header or a length field, so every cut
    is malformed; the whole frame is not.  Nothing raises, layers() agrees."""
    assert not summ(data, linktype).malformed
    for cut in range(len(data)):
        s = summ(data[:cut], linktype)
        assert s.malformed, (name, cut, s.text)
        assert "[|" in s.text or "malformed" in s.text or "truncated" in s.text, (name, cut, s)


def test_cut_inside_ethernet_padding_is_not_malformed() -> None:
    frame = eth(IP(src=IP_A, dst=IP_B) / ICMP()) + b"\0" * 18
    assert len(frame) == 60
    for cut in range(42, 61):
        assert not summ(frame[:cut], LINKTYPE_ETHERNET).malformed


def test_detail_on_truncations_never_raises() -> None:
    for _name, data, linktype in TRUNCATION_CASES[:4]:
        for cut in range(0, len(data), 3):
            _check_nodes(detail(data[:cut], linktype), cut)


with _no_neighbor_lookups():
    VALID = [
        (b(ping_req()), LINKTYPE_RAW),
        (eth(ping_rep()), LINKTYPE_ETHERNET),
        (b(syn()), LINKTYPE_RAW),
        (b(dns_query()), LINKTYPE_IPV4),
        (eth(dns_response()), LINKTYPE_ETHERNET),
        (b(dhcp_discover()), LINKTYPE_RAW),
        (arp_req(), LINKTYPE_ETHERNET),
        (b(IPv6() / ICMPv6ND_NA(tgt="fd00::2") / ICMPv6NDOptDstLLAddr()), LINKTYPE_IPV6),
        (eth(Dot1AD() / Dot1Q() / dns_query()), LINKTYPE_ETHERNET),
        (_wrap(LINKTYPE_LINUX_SLL2, b(synack())), LINKTYPE_LINUX_SLL2),
        (
            _wrap(LINKTYPE_NULL, b(IPv6() / IPv6ExtHdrHopByHop() / UDP(dport=53) / DNS())),
            LINKTYPE_NULL,
        ),
        (_wrap(LINKTYPE_LINUX_SLL, b(IP() / ICMP(type=3) / IP() / UDP())), LINKTYPE_LINUX_SLL),
    ]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if op < 0.6 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op < 0.8:
            del buf[rng.randrange(len(buf) + 1) :]
        else:
            buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


def test_many_seeded_mutations_never_raise() -> None:
    """A cheap, deterministic fuzz: 20k mutations of valid packets through the fast path."""
    rng = random.Random(20240611)
    for i in range(20_000):
        data, lt = VALID[i % len(VALID)]
        s = summ(_mutate(rng, data), lt)
        assert s.text


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200), linktype=st.sampled_from((*ALL_LINKTYPES, 12345)))
def test_fuzz_random_bytes(data: bytes, linktype: int) -> None:
    s = summ(data, linktype)
    assert format_line(1_700_000_000_000_000_000, s, link=True).endswith(s.text)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(VALID),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_fuzz_mutated_packets(
    base: tuple[bytes, int], edits: list[tuple[int, int]], cut: int | None
) -> None:
    data, lt = base
    summ(_edit(data, edits, cut), lt)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(VALID),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 400)),
    verbose=st.sampled_from((1, 2)),
)
def test_fuzz_verbose_lines(
    base: tuple[bytes, int], edits: list[tuple[int, int]], cut: int | None, verbose: int
) -> None:
    """tcpdump -v's text is decoded from hostile bytes too: never the last-resort line."""
    data, lt = base
    text = decode.line_text(_edit(data, edits, cut), lt, decode.TcpFlows(), False, verbose=verbose)
    assert "decoder error" not in text, (data.hex(), lt, text)


def _edit(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """``data`` with bytes overwritten at (wrapped) positions, then cut at ``cut``."""
    buf = bytearray(data)
    for pos, val in edits:
        if buf:
            buf[pos % len(buf)] = val
    if cut is not None:
        del buf[cut:]
    return bytes(buf)


def _check_nodes(nodes: list[Node], n: int) -> None:
    assert isinstance(nodes, list) and nodes
    stack = list(nodes)
    while stack:
        node = stack.pop()
        assert isinstance(node, Node) and isinstance(node.label, str)
        assert 0 <= node.start <= node.end <= n, (node, n)
        stack.extend(node.children)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(VALID),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_fuzz_detail(
    base: tuple[bytes, int], edits: list[tuple[int, int]], cut: int | None
) -> None:
    data, lt = base
    buf = _edit(data, edits, cut)
    _check_nodes(detail(buf, lt), len(buf))
    assert isinstance(verbose_text(buf, lt), str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=120), linktype=st.sampled_from(ALL_LINKTYPES))
def test_fuzz_detail_random_bytes(data: bytes, linktype: int) -> None:
    _check_nodes(detail(data, linktype), len(data))


def test_last_resort_on_non_bytes() -> None:
    s = summarize("not bytes", LINKTYPE_ETHERNET)  # type: ignore[arg-type]
    assert s.malformed and s.layers == ("other",)
    assert layers(None, LINKTYPE_RAW) == ("other",)  # type: ignore[arg-type]
    assert summarize(bytearray(b(ping_req())), LINKTYPE_RAW).proto == "ICMP"
    assert summarize(memoryview(b(ping_req())), LINKTYPE_RAW).proto == "ICMP"
    assert detail("nope", LINKTYPE_RAW)[0].label.startswith("[Dissection failed")  # type: ignore


# ----------------------------------------------------------------------------- format_line


def test_format_line_local_time_and_link() -> None:
    ts = 1_700_000_123_456_789_999
    s = summ(eth(ping_req()), LINKTYPE_ETHERNET)
    hms = time.strftime("%H:%M:%S", time.localtime(ts // 1_000_000_000))
    assert format_line(ts, s) == f"{hms}.456789 {s.text}"
    assert format_line(ts, s, link=True) == f"{hms}.456789 {s.link}{s.text}"
    # The per-second cache must not leak into the next second.
    nxt = ts + 1_000_000_000
    hms2 = time.strftime("%H:%M:%S", time.localtime(nxt // 1_000_000_000))
    assert format_line(nxt, s).startswith(f"{hms2}.456789 ")
    assert format_line(ts - 5, s).startswith(f"{hms}.456789 ")
    assert format_line(0, s).endswith(".000000 " + s.text)


# ----------------------------------------------------------------------------- tcpdump interop


@pytest.fixture(scope="module")
def tcpdump() -> str:
    path = shutil.which("tcpdump") or "/usr/bin/tcpdump"
    if not os.path.exists(path):
        pytest.skip("tcpdump not installed")
    return path


def _tcpdump_lines(tcpdump: str, path: str, *flags: str) -> list[str]:
    out = subprocess.run(
        [tcpdump, *flags, "-r", path], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines()]  # drop the timestamp


@pytest.mark.parametrize("linktype", [LINKTYPE_RAW, LINKTYPE_ETHERNET])
def test_matches_tcpdump(tmp_path, tcpdump: str, linktype: int) -> None:
    ip_packets = [ping_req(), ping_rep(), udp(), syn(), synack(), dns_query(), dns_response()]
    if linktype == LINKTYPE_ETHERNET:
        frames = [Ether(src=MAC_A, dst=MAC_B) / p for p in ip_packets]
        frames += [Ether(arp_req()), Ether(arp_rep())]
    else:
        frames = list(ip_packets)
    path = str(tmp_path / "t.pcap")
    wrpcap(path, frames, linktype=linktype)
    expected = _tcpdump_lines(tcpdump, path, "-nn")
    assert len(expected) == len(frames)
    for frame, line in zip(frames, expected, strict=True):
        assert summ(b(frame), linktype).text == line
    if linktype == LINKTYPE_ETHERNET:
        # With -e tcpdump prints our link prefix, then the body (minus the "IP " it
        # then considers redundant).
        with_e = _tcpdump_lines(tcpdump, path, "-nne")
        for frame, line in zip(frames, with_e, strict=True):
            assert line.startswith(summ(b(frame), linktype).link)


# ----------------------------------------------------------------------------- detail (scapy)


def _find(nodes: list[Node], prefix: str) -> Node:
    stack = list(nodes)
    while stack:
        node = stack.pop(0)
        if node.label.startswith(prefix):
            return node
        stack.extend(node.children)
    raise AssertionError(f"no node {prefix!r} in {[n.label for n in nodes]}")


def test_detail_layers_and_field_offsets() -> None:
    frame = b(
        Ether(src=MAC_A, dst=MAC_B)
        / Dot1Q(vlan=10)
        / IP(src=IP_A, dst=IP_B, ttl=61)
        / UDP(sport=33000, dport=53)
        / DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.com"))
    )
    nodes = detail(frame, LINKTYPE_ETHERNET)
    _check_nodes(nodes, len(frame))
    labels = [n.label for n in nodes]
    assert labels[0] == f"Ethernet II, Src: {MAC_A} ({MAC_A}), Dst: {MAC_B} ({MAC_B})"
    assert labels[1].startswith("802.1Q Virtual LAN") and "ID: 10" in labels[1]
    assert labels[2] == f"Internet Protocol Version 4, Src: {IP_A}, Dst: {IP_B}"
    assert labels[3].startswith("User Datagram Protocol, Src Port: 33000, Dst Port: 53")
    assert labels[4] == "Domain Name System (query)"
    assert [(n.start, n.end) for n in nodes] == [
        (0, 14),
        (14, 18),
        (18, 38),
        (38, 46),
        (46, len(frame)),
    ]
    ttl = _find(nodes, "Time to Live:")
    assert ttl.label == "Time to Live: 61" and (ttl.start, ttl.end) == (26, 27)
    assert frame[ttl.start] == 61
    src = _find(nodes[2].children, "Source Address:")
    assert frame[src.start : src.end] == bytes([192, 168, 3, 11])
    # Bit fields share their byte(s): version and ihl are both in byte 18.
    version = _find(nodes, "0100 .... = Version")
    assert (version.start, version.end) == (18, 19)
    hlen = _find(nodes, ".... 0101 = Header Length")
    assert hlen.label.endswith("Header Length: 20 bytes (5)") and (hlen.start, hlen.end) == (18, 19)
    vlan = _find(nodes[1].children, ".... 0000 0000 1010 = ID:")  # tshark's bits over the TCI
    assert vlan.label.endswith("= ID: 10") and (vlan.start, vlan.end) == (14, 16)
    qname = _find(_find(nodes, "Queries").children, "example.com: type A, class IN")
    name = _find(qname.children, "Name:")
    assert name.label == "Name: example.com"
    assert frame[name.start : name.end] == b"\x07example\x03com\x00"


def test_detail_compressed_dns_and_tcp_options_and_padding() -> None:
    msg = b(
        DNS(
            id=7,
            qr=1,
            qd=DNSQR(qname="www.example.com"),
            an=[
                DNSRR(rrname="www.example.com", type="CNAME", rdata="example.com"),
                DNSRR(rrname="example.com", rdata="1.2.3.4"),
            ],
        ).compress()
    )
    frame = b(IP() / UDP(sport=53, dport=9) / msg)
    nodes = detail(frame, LINKTYPE_RAW)
    an = _find(nodes, "Answers")
    assert len(an.children) == 2
    rec1, rec2 = an.children
    assert rec1.label == "www.example.com: type CNAME, class IN, cname example.com"
    assert rec2.label == "example.com: type A, class IN, addr 1.2.3.4"
    assert rec1.end == rec2.start and rec2.end == len(frame)
    rdlen = _find(rec1.children, "Data length")
    assert rdlen.label == "Data length: 2"  # the compressed pointer, as on the wire
    rdata = _find(rec2.children, "Address:")
    assert rdata.label == "Address: 1.2.3.4"
    assert frame[rdata.start : rdata.end] == bytes([1, 2, 3, 4])

    tcp = b(IP() / TCP(options=[("MSS", 1460), ("NOP", None), ("WScale", 7)]))
    opts = _find(detail(tcp, LINKTYPE_RAW), "Options: (")
    assert [c.label for c in opts.children][:3] == [
        "TCP Option - Maximum segment size: 1460 bytes",
        "TCP Option - No-Operation (NOP)",
        "TCP Option - Window scale: 7 (multiply by 128)",
    ]
    assert tcp[opts.children[0].start : opts.children[0].end] == b"\x02\x04\x05\xb4"

    padded = eth(IP() / ICMP()) + b"\0" * 18
    nodes = detail(padded, LINKTYPE_ETHERNET)
    padding = nodes[0].children[-1]  # in the Ethernet layer, over its own bytes, as tshark has it
    assert padding.label == "Padding: " + "00" * 18 and (padding.start, padding.end) == (42, 60)


@pytest.mark.parametrize("linktype", ALL_LINKTYPES)
def test_detail_every_linktype(linktype: int) -> None:
    v6 = linktype == LINKTYPE_IPV6
    ip_pkt = b(IPv6() / ICMPv6EchoRequest()) if v6 else b(ping_req())
    frame = _wrap(linktype, ip_pkt)
    nodes = detail(frame, linktype)
    _check_nodes(nodes, len(frame))
    ip_node = _find(nodes, "Internet Protocol Version 6" if v6 else "Internet Protocol Version 4")
    assert ip_node.start == len(frame) - len(ip_pkt)


def test_detail_errors_and_verbose_text() -> None:
    assert detail(b"", LINKTYPE_ETHERNET) == [Node("Empty frame (0 bytes)", 0, 0, [])]
    garbage = b"\x45\x00\x00"
    _check_nodes(detail(garbage, LINKTYPE_RAW), len(garbage))
    text = verbose_text(eth(ping_req()), LINKTYPE_ETHERNET)
    assert "###[ Ethernet ]###" in text and "###[ ICMP ]###" in text and "ttl" in text


def test_import_does_not_load_scapy() -> None:
    code = "import sys, tapwatch.decode; print('scapy' in sys.modules)"
    root = Path(decode.__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"
