"""PPP as the RFCs describe it, built with scapy (never sent): regenerate with
``.venv/bin/python tests/corpus/ppp.py`` (no privileges needed).

This kernel has no PPP driver, so pppd cannot run here; these are the exchanges of
RFC 1661 (LCP), RFC 1332 and RFC 1877 (IPCP), RFC 5072 (IPv6CP), RFC 1334 (PAP) and
RFC 1994 (CHAP), then IP over the link, on each carrier tcpdump knows: the PPP link
types (``ppp.pcap``, LINKTYPE_PPP), PPPoE discovery and session frames on Ethernet
(RFC 2516), PPTP's enhanced GRE (RFC 2637) and L2TP (RFC 2661) (``ppp-carriers.pcap``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def exchange() -> list[bytes]:
    """A link coming up: LCP, authentication, IPCP, IPv6CP, then a ping each way, an echo
    and the link going down; each a PPP frame from its protocol field."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
    from scapy.layers.ppp import (
        HDLC,
        PPP,
        PPP_CHAP,
        PPP_IPCP,
        PPP_CHAP_ChallengeResponse,
        PPP_IPCP_Option_DNS1,
        PPP_IPCP_Option_IPAddress,
        PPP_LCP_Auth_Protocol_Option,
        PPP_LCP_Configure,
        PPP_LCP_Echo,
        PPP_LCP_Magic_Number_Option,
        PPP_LCP_MRU_Option,
        PPP_LCP_Terminate,
        PPP_PAP_Request,
        PPP_PAP_Response,
    )

    del HDLC
    lcp_opts = [
        PPP_LCP_MRU_Option(max_recv_unit=1492),
        PPP_LCP_Magic_Number_Option(magic_number=0x12345678),
    ]
    frames: list[Any] = [
        PPP(proto=0xC021) / PPP_LCP_Configure(code=1, id=1, options=lcp_opts),
        PPP(proto=0xC021) / PPP_LCP_Configure(code=2, id=1, options=lcp_opts),
        PPP(proto=0xC021)
        / PPP_LCP_Configure(
            code=1, id=2, options=[PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=5)]
        ),
        PPP(proto=0xC021)
        / PPP_LCP_Configure(
            code=3, id=2, options=[PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023)]
        ),
        PPP(proto=0xC223)
        / PPP_CHAP_ChallengeResponse(code=1, id=1, value=bytes(range(16)), optional_name=b"server"),
        PPP(proto=0xC223)
        / PPP_CHAP_ChallengeResponse(
            code=2, id=1, value=bytes(range(16, 32)), optional_name=b"alice"
        ),
        PPP(proto=0xC223) / PPP_CHAP(code=3, id=1, data=b"Welcome"),
        PPP(proto=0xC023) / PPP_PAP_Request(id=2, username=b"alice", password=b"secret"),
        PPP(proto=0xC023) / PPP_PAP_Response(code=2, id=2, message=b"ok"),
        PPP(proto=0x8021)
        / PPP_IPCP(
            code=1,
            id=3,
            options=[
                PPP_IPCP_Option_IPAddress(data="0.0.0.0"),
                PPP_IPCP_Option_DNS1(data="0.0.0.0"),
            ],
        ),
        PPP(proto=0x8021)
        / PPP_IPCP(
            code=3,
            id=3,
            options=[
                PPP_IPCP_Option_IPAddress(data="10.90.0.10"),
                PPP_IPCP_Option_DNS1(data="10.90.0.1"),
            ],
        ),
        PPP(proto=0x8021)
        / PPP_IPCP(code=2, id=4, options=[PPP_IPCP_Option_IPAddress(data="10.90.0.10")]),
        # IPv6CP Configure-Request with an Interface-Identifier (RFC 5072)
        PPP(proto=0x8057) / bytes.fromhex("0105000e010a0211223344556677"),
        PPP(proto=0x8057) / bytes.fromhex("0205000e010a0211223344556677"),
        PPP(proto=0x0021) / IP(src="10.90.0.10", dst="10.90.0.1") / ICMP(id=1, seq=1) / b"ping",
        PPP(proto=0x0021)
        / IP(src="10.90.0.1", dst="10.90.0.10")
        / ICMP(type=0, id=1, seq=1)
        / b"ping",
        PPP(proto=0x0057)
        / IPv6(src="fe80::211:2233:4455:6677", dst="fe80::1")
        / ICMPv6EchoRequest(id=2, seq=1),
        PPP(proto=0xC021) / PPP_LCP_Echo(code=9, id=5, magic_number=0x12345678),
        PPP(proto=0xC021) / PPP_LCP_Echo(code=10, id=5, magic_number=0x9ABCDEF0),
        PPP(proto=0xC021) / PPP_LCP_Terminate(code=5, id=6, data=b"bye"),
        PPP(proto=0xC021) / PPP_LCP_Terminate(code=6, id=6),
    ]
    return [bytes(f) for f in frames]


def write(path: Path, linktype: int, frames: list[bytes], start: int) -> None:
    """A classic pcap file, one second between frames."""
    import struct

    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", start + i, 0, len(frame), len(frame)) + frame)


def link(path: Path) -> None:
    """LINKTYPE_PPP: each frame with the HDLC-like address and control bytes (RFC 1662)."""
    write(path, 9, [b"\xff\x03" + f for f in exchange()], 1_700_000_000)


def carriers(path: Path) -> None:
    """PPPoE discovery and sessions, PPTP GRE and L2TP data messages carrying the exchange."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import GRE, Ether
    from scapy.layers.ppp import PPPoE, PPPoED, PPPoED_Tags, PPPoETag
    from scapy.packet import Raw

    frames = exchange()
    tags = PPPoED_Tags(
        tag_list=[
            PPPoETag(tag_type=0x0101, tag_value=b""),
            PPPoETag(tag_type=0x0103, tag_value=b"\x01\x02\x03\x04"),
        ]
    )
    ac = PPPoED_Tags(
        tag_list=[
            PPPoETag(tag_type=0x0101, tag_value=b""),
            PPPoETag(tag_type=0x0102, tag_value=b"corpus-ac"),
            PPPoETag(tag_type=0x0104, tag_value=bytes(range(16))),
        ]
    )
    out: list[Any] = [
        Ether(src=M2, dst="ff:ff:ff:ff:ff:ff", type=0x8863) / PPPoED(code=0x09) / tags,
        Ether(src=M1, dst=M2, type=0x8863) / PPPoED(code=0x07) / ac,
        Ether(src=M2, dst=M1, type=0x8863) / PPPoED(code=0x19) / ac,
        Ether(src=M1, dst=M2, type=0x8863) / PPPoED(code=0x65, sessionid=0x11) / tags,
    ]
    for f in frames:
        out.append(Ether(src=M2, dst=M1, type=0x8864) / PPPoE(sessionid=0x11) / Raw(f))
    out.append(Ether(src=M1, dst=M2, type=0x8863) / PPPoED(code=0xA7, sessionid=0x11))
    for seq, f in enumerate(frames, 1):
        # enhanced GRE (RFC 2637): key present (payload length, call id), sequence present
        gre = (
            bytes.fromhex("3001880b")
            + len(b"\xff\x03" + f).to_bytes(2, "big")
            + b"\x00\x07"
            + seq.to_bytes(4, "big")
        )
        out.append(
            Ether(src=M1, dst=M2)
            / IP(src="10.0.0.1", dst="10.0.0.2", proto=47)
            / Raw(gre + b"\xff\x03" + f)
        )
    out.append(
        Ether(src=M1, dst=M2)
        / IP(src="10.0.0.2", dst="10.0.0.1", proto=47)
        / Raw(bytes.fromhex("2081880b00000007") + (5).to_bytes(4, "big"))
    )
    for f in frames:
        # L2TP data message (RFC 2661): tunnel 1, session 2
        out.append(
            Ether(src=M1, dst=M2)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / UDP(sport=1701, dport=1701)
            / Raw(b"\x00\x02\x00\x01\x00\x02\xff\x03" + f)
        )
    del GRE
    write(path, 1, [bytes(pkt) for pkt in out], 1_700_000_100)


if __name__ == "__main__":
    link(HERE / "ppp.pcap")
    carriers(HERE / "ppp-carriers.pcap")
