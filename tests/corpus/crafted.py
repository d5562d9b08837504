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
    itcp = IP(src="192.168.1.1", dst="192.168.1.2") / TCP(sport=40000, dport=80, flags="S", seq=1)

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
        IP(src=A, dst=B)
        / GRE(key_present=1, key=0x1234, seqnum_present=1, seqence_number=77)
        / inner,
        IP(src=A, dst=B) / GRE(proto=0x6558) / ieth,
        IP(src=A, dst=B) / GRE(proto=0x86DD) / inner6,
        IP(src=A, dst=B) / GRE(proto=0x0800) / itcp,
        IP(src=A, dst=B) / GRE(proto=0x88BE) / ERSPAN_II(session_id=3) / ieth,
        IP(src=A, dst=B) / UDP(sport=12345, dport=4789) / VXLAN(vni=42) / ieth,
        IP(src=A, dst=B) / UDP(sport=12345, dport=6081) / GENEVE(vni=42, proto=0x6558) / ieth,
        IP(src=A, dst=B) / UDP(sport=12345, dport=6081) / GENEVE(vni=7, proto=0x0800) / inner,
        IP(src=A, dst=B)
        / UDP(sport=1701, dport=1701)
        / L2TP(tunnel_id=1, session_id=2)
        / b"\xff\x03\x00\x21"
        / inner,
        IP(src=A, dst=B) / ESP(spi=0x1001, seq=5) / (b"x" * 40),
        IPv6(src="fd01::1", dst="fd01::2") / ESP(spi=0x1002, seq=6) / (b"x" * 40),
        IP(src=A, dst=B) / AH(spi=0x2002, seq=6, nh=1, payloadlen=4, icv=b"\1" * 12) / ICMP(),
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
        u(
            40000,
            67,
            bytes(
                BOOTP(chaddr=b"\x02\0\0\0\0\x09", xid=9)
                / DHCP(options=[("message-type", "inform"), "end"])
            ),
        ),
        # ICMP and ICMPv6 types
        IP(src=A, dst=B) / ICMP(type=3, code=3) / IP(src=B, dst=A) / UDP(sport=1, dport=2),
        IP(src=A, dst=B) / ICMP(type=3, code=1) / IP(src=B, dst="10.0.0.9") / ICMP(),
        IP(src=A, dst=B) / ICMP(type=3, code=4, nexthopmtu=1400) / IP(src=B, dst=A) / TCP(),
        IP(src=A, dst=B) / ICMP(type=11, code=0) / IP(src=B, dst=A) / UDP(),
        IP(src=A, dst=B) / ICMP(type=5, code=1, gw="10.0.0.254") / IP(src=B, dst="10.1.1.1"),
        IP(src=A, dst=B) / ICMP(type=13, id=3, seq=4),
        IPv6(src="fd00::1", dst="fd00::2")
        / ICMPv6DestUnreach(code=4)
        / IPv6(src="fd00::2", dst="fd00::1")
        / UDP(sport=3, dport=4),
        IPv6(src="fd00::1", dst="fd00::2")
        / ICMPv6PacketTooBig(mtu=1280)
        / IPv6(src="fd00::2", dst="fd00::1"),
        IPv6(src="fd00::1", dst="fd00::2")
        / ICMPv6TimeExceeded()
        / IPv6(src="fd00::2", dst="fd00::1"),
        IPv6(src="fe80::1", dst="ff02::1", hlim=1) / ICMPv6MLQuery(),
        IPv6(src="fe80::1", dst="ff02::fb", hlim=1) / ICMPv6MLReport(mladdr="ff02::fb"),
        IPv6(src="fe80::1", dst="ff02::2", hlim=1) / ICMPv6MLDone(mladdr="ff02::fb"),
        IPv6(src="fe80::1", dst="ff02::16", hlim=1) / ICMPv6MLReport2(),
        IPv6(src="fd00::1", dst="fd00::2") / ICMPv6NIQueryName(data="fd00::2"),
        IPv6(src="fd00::2", dst="fd00::1") / ICMPv6NIReplyName(data="host.example"),
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrFragment(id=5, m=1)
        / UDP(sport=1, dport=2)
        / (b"x" * 16),
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


def service_packets() -> list[Any]:
    """Management and VPN-control services tcpdump names by port, L2TPv3 sessions, and DNS
    answers (the corpus's real DNS went unanswered)."""
    from scapy.asn1.asn1 import ASN1_COUNTER32, ASN1_IPADDRESS, ASN1_OID, ASN1_TIME_TICKS
    from scapy.layers.dhcp6 import (
        DUID_LLT,
        DHCP6_Advertise,
        DHCP6_Reply,
        DHCP6_Request,
        DHCP6_Solicit,
        DHCP6OptClientId,
        DHCP6OptElapsedTime,
    )
    from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.isakmp import ISAKMP, ISAKMP_payload_SA
    from scapy.layers.l2 import Ether
    from scapy.layers.radius import Radius, RadiusAttribute
    from scapy.layers.rip import RIP, RIPEntry
    from scapy.layers.snmp import (
        SNMP,
        SNMPbulk,
        SNMPget,
        SNMPinform,
        SNMPnext,
        SNMPresponse,
        SNMPset,
        SNMPtrapv1,
        SNMPtrapv2,
        SNMPvarbind,
    )
    from scapy.layers.tftp import TFTP, TFTP_ACK, TFTP_DATA, TFTP_ERROR, TFTP_RRQ, TFTP_WRQ

    def u(sp: int, dp: int, pl: Any) -> Any:
        return Ether(src=M1, dst=M2) / IP(src=A, dst=B) / UDP(sport=sp, dport=dp) / pl

    def t(sp: int, dp: int, pl: bytes) -> Any:
        return (
            Ether(src=M1, dst=M2)
            / IP(src=A, dst=B)
            / TCP(sport=sp, dport=dp, flags="PA", seq=1, ack=1)
            / pl
        )

    def u6(sp: int, dp: int, pl: Any) -> Any:
        return (
            Ether(src=M1, dst=M2)
            / IPv6(src="fe80::1", dst="ff02::1:2")
            / UDP(sport=sp, dport=dp)
            / pl
        )

    def oid(s: str) -> Any:
        return ASN1_OID(s)

    descr = oid("1.3.6.1.2.1.1.1.0")
    inner = Ether(src=M1, dst=M2) / IP(src="192.168.1.1", dst="192.168.1.2") / ICMP()
    return [
        u(
            40000,
            161,
            SNMP(community="public", PDU=SNMPget(id=1, varbindlist=[SNMPvarbind(oid=descr)])),
        ),
        u(
            161,
            40000,
            SNMP(
                community="public",
                PDU=SNMPresponse(id=1, varbindlist=[SNMPvarbind(oid=descr, value=b"Linux box")]),
            ),
        ),
        u(
            40000,
            161,
            SNMP(
                version=0,
                community="private",
                PDU=SNMPnext(id=2, varbindlist=[SNMPvarbind(oid=oid("1.3.6.1.2.1.1"))]),
            ),
        ),
        u(
            40000,
            161,
            SNMP(
                community="private",
                PDU=SNMPset(
                    id=3, varbindlist=[SNMPvarbind(oid=oid("1.3.6.1.2.1.1.5.0"), value=b"host")]
                ),
            ),
        ),
        u(
            40000,
            162,
            SNMP(
                community="public",
                PDU=SNMPtrapv2(
                    id=4, varbindlist=[SNMPvarbind(oid=oid("1.3.6.1.2.1.1.3.0"), value=123)]
                ),
            ),
        ),
        u(
            40000,
            162,
            SNMP(
                version=0,
                community="public",
                PDU=SNMPtrapv1(
                    enterprise=oid("1.3.6.1.4.1.8072"),
                    agent_addr=ASN1_IPADDRESS("10.0.0.1"),
                    generic_trap=6,
                    specific_trap=5,
                    time_stamp=ASN1_TIME_TICKS(1234),
                    varbindlist=[
                        SNMPvarbind(oid=oid("1.3.6.1.2.1.1.3.0"), value=ASN1_COUNTER32(7))
                    ],
                ),
            ),
        ),
        u(
            40000,
            161,
            SNMP(
                community="public",
                PDU=SNMPbulk(
                    id=9, max_repetitions=10, varbindlist=[SNMPvarbind(oid=oid("1.3.6.1.2.1.2"))]
                ),
            ),
        ),
        u(
            161,
            40000,
            SNMP(
                community="public",
                PDU=SNMPresponse(
                    id=1, error=2, error_index=1, varbindlist=[SNMPvarbind(oid=descr)]
                ),
            ),
        ),
        u(
            40000,
            162,
            SNMP(
                community="public",
                PDU=SNMPinform(
                    id=5,
                    varbindlist=[
                        SNMPvarbind(oid=oid("1.3.6.1.2.1.1.3.0"), value=ASN1_IPADDRESS("1.2.3.4"))
                    ],
                ),
            ),
        ),
        u(
            161,
            40000,
            bytes(
                SNMP(
                    community="public",
                    PDU=SNMPresponse(
                        id=1, varbindlist=[SNMPvarbind(oid=descr, value=b"Linux box")]
                    ),
                )
            )[:30],
        ),
        u(520, 520, RIP(cmd=1, version=2) / RIPEntry(AF=0, metric=16)),
        u(
            520,
            520,
            RIP(cmd=2, version=2) / RIPEntry(addr="192.168.1.0", mask="255.255.255.0", metric=1),
        ),
        u(40000, 69, TFTP() / TFTP_RRQ(filename=b"boot.img", mode=b"octet")),
        u(40000, 69, TFTP() / TFTP_WRQ(filename=b"up.txt", mode=b"netascii")),
        u(69, 40000, TFTP() / TFTP_DATA(block=1) / (b"d" * 512)),
        u(40000, 69, TFTP() / TFTP_ACK(block=1)),
        u(69, 40000, TFTP() / TFTP_ERROR(errorcode=1, errormsg=b"File not found")),
        u(
            40000,
            1812,
            Radius(
                code=1,
                id=1,
                authenticator=b"\x01" * 16,
                attributes=[RadiusAttribute(type=1, value=b"alice")],
            ),
        ),
        u(1812, 40000, Radius(code=2, id=1, authenticator=b"\x02" * 16)),
        u(40000, 1813, Radius(code=4, id=2, authenticator=b"\x03" * 16)),
        u(
            500,
            500,
            ISAKMP(init_cookie=b"\x11" * 8, exch_type=2, next_payload=1) / ISAKMP_payload_SA(),
        ),
        u(
            500,
            500,
            ISAKMP(
                init_cookie=b"\x11" * 8,
                resp_cookie=b"\x22" * 8,
                exch_type=34,
                next_payload=33,
                version=0x20,
            ),
        ),
        u(
            500,
            500,
            ISAKMP(
                init_cookie=b"\x11" * 8,
                resp_cookie=b"\x22" * 8,
                exch_type=35,
                version=0x20,
                id=1,
                flags=0x08,
            ),
        ),
        u(4500, 4500, b"\x00\x00\x00\x00" + bytes(ISAKMP(init_cookie=b"\x11" * 8, exch_type=2))),
        u(4500, 4500, b"\x00\x00\x10\x01\x00\x00\x00\x05" + b"x" * 40),
        u6(
            546,
            547,
            DHCP6_Solicit(trid=0x1234)
            / DHCP6OptClientId(duid=DUID_LLT(lladdr=M1))
            / DHCP6OptElapsedTime(),
        ),
        u6(547, 546, DHCP6_Advertise(trid=0x1234)),
        u6(546, 547, DHCP6_Request(trid=0x1235)),
        u6(547, 546, DHCP6_Reply(trid=0x1235)),
        t(40000, 23, b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01"),
        t(23, 40000, b"login: "),
        t(23, 40000, b"\xff\xfa\x18\x01\xff\xf0"),
        t(40000, 23, b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"),
        # L2TPv3 (tcpdump 4.99 does not decode it; tapwatch shows the session's frame)
        Ether(src=M1, dst=M2) / IP(src=A, dst=B, proto=115) / (b"\x00\x00\x12\x34" + bytes(inner)),
        Ether(src=M1, dst=M2)
        / IP(src=A, dst=B, proto=115)
        / (b"\x00\x00\x00\x00\xc8\x03\x00\x0c\x00\x00\x00\x05\x00\x01\x00\x02"),
        u(1701, 1701, b"\x00\x03\x00\x00\x00\x00\x12\x34" + b"\xaa\xbb\xcc\xdd" + bytes(inner)),
        u(1701, 1701, b"\xc8\x03\x00\x14\x00\x00\x00\x05\x00\x01\x00\x02" + b"\x00" * 8),
        # DNS answers, for what -v and -vv add (owner names, questions, other sections)
        u(
            53,
            40000,
            DNS(
                id=7,
                qr=1,
                rd=1,
                ra=1,
                qd=DNSQR(qname="www.example.com"),
                an=DNSRR(rrname="www.example.com", rdata="93.184.216.34", ttl=300),
            ),
        ),
        u(
            53,
            40000,
            DNS(
                id=8,
                qr=1,
                rd=1,
                ra=1,
                qd=DNSQR(qname="example.com", qtype="MX"),
                an=DNSRR(
                    rrname="example.com", type="MX", rdata=b"\x00\x0a\x04mail\xc0\x0c", ttl=3600
                ),
            ),
        ),
        u(53, 40000, DNS(id=9, qr=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname="missing.example.com"))),
        u(40000, 53, DNS(id=10, rd=1, qd=DNSQR(qname="example.com"), ar=DNSRROPT(rclass=4096))),
        u(
            53,
            40000,
            DNS(
                id=11,
                qr=1,
                aa=1,
                qd=DNSQR(qname="a.example.com", qtype="AAAA"),
                an=[
                    DNSRR(rrname="a.example.com", type="CNAME", rdata="b.example.com", ttl=86400),
                    DNSRR(rrname="b.example.com", type="AAAA", rdata="fd00::1", ttl=90061),
                ],
            ),
        ),
    ]
