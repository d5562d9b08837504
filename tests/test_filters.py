"""Filters are libpcap's own tcpdump language, on raw IP and on Ethernet."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

from tapwatch.filters import FilterError, compile_filter
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

ICMP4 = bytes(IP(src="192.168.3.11", dst="192.168.3.12") / ICMP())
DNS4 = bytes(IP(src="10.0.0.1", dst="10.0.0.53") / UDP(sport=5000, dport=53))
SYN = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(dport=80, flags="S"))
PING6 = bytes(IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest())


@pytest.mark.parametrize(
    "expr, packet, expected",
    [
        ("icmp", ICMP4, True),
        ("icmp", DNS4, False),
        ("udp port 53", DNS4, True),
        ("host 192.168.3.12", ICMP4, True),
        ("tcp[tcpflags] & tcp-syn != 0", SYN, True),
        ("ip6", PING6, True),
        ("icmp6", PING6, True),
        ("ip", PING6, False),
        ("not icmp and not udp", SYN, True),
    ],
)
def test_raw_ip_filters(expr: str, packet: bytes, expected: bool) -> None:
    flt = compile_filter(expr, LINKTYPE_RAW)
    assert flt is not None and flt.match(packet) is expected


def test_ethernet_filters_see_arp_and_vlans() -> None:
    arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="192.168.4.2"))
    tagged = bytes(Ether() / Dot1Q(vlan=7) / IP(dst="10.0.0.2") / ICMP())
    assert compile_filter("arp", LINKTYPE_ETHERNET).match(arp)
    assert not compile_filter("icmp", LINKTYPE_ETHERNET).match(arp)
    assert compile_filter("vlan 7 and icmp", LINKTYPE_ETHERNET).match(tagged)


def test_empty_expression_means_everything() -> None:
    assert compile_filter("", LINKTYPE_RAW) is None
    assert compile_filter("   ", LINKTYPE_RAW) is None


@pytest.mark.parametrize("expr", ["udp prt 53", "host 999.1.1.1", "(icmp", "tcp port"])
def test_invalid_expression_is_a_clear_error(expr: str) -> None:
    with pytest.raises(FilterError, match="invalid filter"):
        compile_filter(expr, LINKTYPE_RAW)


def test_one_filter_from_two_threads_gives_no_wrong_answer() -> None:
    """libpcap runs without the interpreter lock: a shared header mixed up lengths."""
    import threading

    from scapy.layers.inet import IP as IP4
    from scapy.packet import Raw

    small = bytes(IP4(src="10.0.0.1", dst="10.0.0.2") / UDP() / Raw(b"x" * 72))  # 100 bytes
    big = bytes(IP4(src="10.0.0.1", dst="10.0.0.2") / UDP() / Raw(b"x" * 1400))
    flt = compile_filter("greater 1000", LINKTYPE_RAW)
    assert flt is not None
    wrong = [0, 0]

    def run(i: int, data: bytes, expected: bool) -> None:
        for _ in range(20_000):
            if flt.match(data) is not expected:
                wrong[i] += 1

    threads = [
        threading.Thread(target=run, args=(0, small, False)),
        threading.Thread(target=run, args=(1, big, True)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [0, 0]


def test_packet_filter_means_the_same_on_raw_ip_and_ethernet() -> None:
    from tapwatch.filters import compile_packet_filter

    flt = compile_packet_filter("icmp", [LINKTYPE_RAW, LINKTYPE_ETHERNET])
    assert flt is not None
    framed = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x0800)) + ICMP4
    assert flt.match(ICMP4, LINKTYPE_RAW) and flt.match(framed, LINKTYPE_ETHERNET)
    assert not flt.match(DNS4, LINKTYPE_RAW)
    with pytest.raises(FilterError):
        compile_packet_filter("tcp port", [LINKTYPE_RAW])


def test_compiled_program_is_classic_bpf_for_the_kernel() -> None:
    flt = compile_filter("udp port 53", LINKTYPE_RAW)
    assert flt is not None
    prog = flt.program()
    assert prog and all(len(insn) == 4 for insn in prog)
    assert prog[-1][0] == 0x06  # ends in a return
