"""Packets for the comparison corpus that no link on this machine can produce (built, never sent).

Every Ethernet header names both MACs, so scapy never looks one up.
"""

from __future__ import annotations

from typing import Any

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
A, B = "10.0.0.1", "10.0.0.2"


def packets() -> list[Any]:
    from scapy.contrib.erspan import ERSPAN_II
    from scapy.contrib.geneve import GENEVE
    from scapy.contrib.mpls import MPLS
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import (
        ICMPv6DestUnreach,
        ICMPv6EchoRequest,
        ICMPv6MLDone,
        ICMPv6MLQuery,
        ICMPv6MLReport,
        ICMPv6MLReport2,
        ICMPv6NIQueryName,
        ICMPv6NIReplyName,
        ICMPv6PacketTooBig,
        ICMPv6TimeExceeded,
        IPv6,
        IPv6ExtHdrFragment,
    )
    from scapy.layers.ipsec import AH, ESP
    from scapy.layers.l2 import GRE, Dot1Q, Ether
    from scapy.layers.l2tp import L2TP
    from scapy.layers.ntp import NTP
    from scapy.layers.vxlan import VXLAN
    from scapy.packet import Raw

    inner = IP(src="192.168.1.1", dst="192.168.1.2") / ICMP(id=5, seq=9) / b"abcd"
    inner6 = IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=5, seq=9)
    ieth = Ether(src=M1, dst=M2) / inner
    itcp = IP(src="192.168.1.1", dst="192.168.1.2") / TCP(sport=40000, dport=80, flags="S",
                                                          seq=1)

    def t(sp: int, dp: int, pl: bytes, fl: str = "PA") -> Any:
        return IP(src=A, dst=B) / TCP(sport=sp, dport=dp, flags=fl, seq=100, ack=200) / pl

    def u(sp: int, dp: int, pl: bytes) -> Any:
        return IP(src=A, dst=B) / UDP(sport=sp, dport=dp) / pl

    wg_data = b"\x04\x00\x00\x00" + b"\x11\x22\x33\x44" + (7).to_bytes(8, "little") + b"\x55" * 32
    ovpn = bytes([0x38]) + bytes(range(1, 9)) + b"\x00" + b"\0\0\0\0" + b"z" * 20
    ip_pkts = [
        # IP in IP, GRE, ESP/AH
        IP(src=A, dst=B) / inner,
        IP(src=A, dst=B) / inner6,
        IPv6(src="fd01::1", dst="fd01::2") / inner,
        IPv6(src="fd01::1", dst="fd01::2") / inner6,
        IP(src=A, dst=B) / GRE() / inner,
        IP(src=A, dst=B) / GRE(key_present=1, key=0x1234, seqnum_present=1,
                               seqence_number=77) / inner,
        IP(src=A, dst=B) / GRE(proto=0x6558) / ieth,
        IP(src=A, dst=B) / GRE(proto=0x86DD) / inner6,
        IP(src=A, dst=B) / GRE(proto=0x0800) / itcp,
        IP(src=A, dst=B) / GRE(proto=0x88BE) / ERSPAN_II(session_id=3) / ieth,
        IP(src=A, dst=B) / UDP(sport=12345, dport=4789) / VXLAN(vni=42) / ieth,
        IP(src=A, dst=B) / UDP(sport=12345, dport=6081) / GENEVE(vni=42, proto=0x6558) / ieth,
        IP(src=A, dst=B) / UDP(sport=12345, dport=6081) / GENEVE(vni=7, proto=0x0800) / inner,
        IP(src=A, dst=B) / UDP(sport=1701, dport=1701) / L2TP(tunnel_id=1, session_id=2) /
        b"\xff\x03\x00\x21" / inner,
        IP(src=A, dst=B) / ESP(spi=0x1001, seq=5) / (b"x" * 40),
        IPv6(src="fd01::1", dst="fd01::2") / ESP(spi=0x1002, seq=6) / (b"x" * 40),
        IP(src=A, dst=B) / AH(spi=0x2002, seq=6, nh=1, payloadlen=4, icv=b"\1" * 12) /
        ICMP(),
        # WireGuard and OpenVPN (tcpdump 4.99 prints them as UDP)
        u(51820, 51820, b"\x01\x00\x00\x00" + b"\x11" * 144),
        u(51820, 40000, b"\x02\x00\x00\x00" + b"\x11" * 88),
        u(40000, 51820, b"\x03\x00\x00\x00" + b"\x11" * 60),
        u(51820, 51820, wg_data),
        u(1194, 1194, ovpn),
        u(1194, 1194, bytes([0x48]) + b"\x00\x00\x01" + b"z" * 30),
        # application protocols on their ports
        t(40000, 80, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"),
        t(80, 40000, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
        t(40000, 8080, b"POST /x HTTP/1.0\r\n\r\n"),
        t(40000, 80, b"\x00\x01binary"),
        t(40000, 179, bytes.fromhex("ffffffffffffffffffffffffffffffff001304")),
        t(40000, 22, b"SSH-2.0-OpenSSH_9.2\r\n"),
        t(40000, 25, b"EHLO example.com\r\n"),
        t(25, 40000, b"220 mail.example.com ESMTP\r\n"),
        t(40000, 21, b"USER anonymous\r\n"),
        t(40000, 554, b"OPTIONS rtsp://x/ RTSP/1.0\r\n\r\n"),
        t(40000, 443, b"\x16\x03\x01\x00\x05hello"),
        u(123, 123, bytes(NTP())),
        u(123, 123, bytes(NTP(mode=4, version=3))),
        u(40000, 514, b"<13>Jan  1 00:00:00 host test: hello"),
        u(40000, 514, b"<190>Jan  1 00:00:00 host test: hello"),
        u(40000, 53, bytes(DNS(id=7, rd=1, qd=DNSQR(qname="example.com", qtype="TXT")))),
        u(40000, 67, bytes(BOOTP(chaddr=b"\x02\0\0\0\0\x09", xid=9) / DHCP(
            options=[("message-type", "inform"), "end"]))),
        # ICMP and ICMPv6 types
        IP(src=A, dst=B) / ICMP(type=3, code=3) / IP(src=B, dst=A) / UDP(sport=1, dport=2),
        IP(src=A, dst=B) / ICMP(type=3, code=1) / IP(src=B, dst="10.0.0.9") / ICMP(),
        IP(src=A, dst=B) / ICMP(type=3, code=4, nexthopmtu=1400) / IP(src=B, dst=A) / TCP(),
        IP(src=A, dst=B) / ICMP(type=11, code=0) / IP(src=B, dst=A) / UDP(),
        IP(src=A, dst=B) / ICMP(type=5, code=1, gw="10.0.0.254") / IP(src=B, dst="10.1.1.1"),
        IP(src=A, dst=B) / ICMP(type=13, id=3, seq=4),
        IPv6(src="fd00::1", dst="fd00::2") / ICMPv6DestUnreach(code=4) / IPv6(
            src="fd00::2", dst="fd00::1") / UDP(sport=3, dport=4),
        IPv6(src="fd00::1", dst="fd00::2") / ICMPv6PacketTooBig(mtu=1280) / IPv6(
            src="fd00::2", dst="fd00::1"),
        IPv6(src="fd00::1", dst="fd00::2") / ICMPv6TimeExceeded() / IPv6(
            src="fd00::2", dst="fd00::1"),
        IPv6(src="fe80::1", dst="ff02::1", hlim=1) / ICMPv6MLQuery(),
        IPv6(src="fe80::1", dst="ff02::fb", hlim=1) / ICMPv6MLReport(mladdr="ff02::fb"),
        IPv6(src="fe80::1", dst="ff02::2", hlim=1) / ICMPv6MLDone(mladdr="ff02::fb"),
        IPv6(src="fe80::1", dst="ff02::16", hlim=1) / ICMPv6MLReport2(),
        IPv6(src="fd00::1", dst="fd00::2") / ICMPv6NIQueryName(data="fd00::2"),
        IPv6(src="fd00::2", dst="fd00::1") / ICMPv6NIReplyName(data="host.example"),
        IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(id=5, m=1) / UDP(
            sport=1, dport=2) / (b"x" * 16),
    ]
    frames = [Ether(src=M1, dst=M2) / p for p in ip_pkts]
    frames += [
        Ether(src=M1, dst=M2) / MPLS(label=100, ttl=64) / inner,
        Ether(src=M1, dst=M2) / MPLS(label=100, s=0) / MPLS(label=200) / inner,
        Ether(src=M1, dst=M2) / Dot1Q(vlan=7) / inner,
    ]
    # truncated copies: cut inside the tunnel header, inside the inner packet
    cuts = []
    for f in (frames[4], frames[10], frames[14], frames[17], frames[23]):
        raw = bytes(f)
        for n in (len(raw) - 10, 40):
            cuts.append(Ether(raw[:n]))
    frames += cuts
    frames += [Ether(src=M1, dst=M2, type=0x0800) / Raw(bytes(inner)[:30])]
    return frames
