"""Frames of the serial and other link types, built with scapy from the protocols' layouts
(never sent): regenerate with ``.venv/bin/python tests/corpus/links.py``.

One file per link type, as a capture holds one: Cisco HDLC with IP, IPv6 and SLARP
keepalives, requests and replies (``chdlc.pcap``); Frame Relay with RFC 2427
encapsulation (IP, IPv6 and PPP NLPIDs, 2- and 4-byte Q.922 addresses, FECN/BECN/DE) and
Cisco's ethertype encapsulation (``fr.pcap``); Solaris IPNET (``ipnet.pcap``); IP over
InfiniBand (``ipoib.pcap``).
"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(path: Path, linktype: int, frames: list[bytes], start: int) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", start + i, 0, len(frame), len(frame)) + frame)


def main() -> None:
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

    ip = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(id=7, seq=1) / b"serial")
    ip_b = bytes(IP(src="192.0.2.2", dst="192.0.2.1") / ICMP(type=0, id=7, seq=1) / b"serial")
    tcp = bytes(
        IP(src="192.0.2.1", dst="192.0.2.2") / TCP(sport=40000, dport=179, flags="S", seq=5)
    )
    udp = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=5000, dport=5001) / (b"x" * 12))
    ip6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=3, seq=4))

    # Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control 0, then an ethertype
    chdlc = [
        b"\x0f\x00\x08\x00" + ip,
        b"\x0f\x00\x08\x00" + ip_b,
        b"\x0f\x00\x86\xdd" + ip6,
        b"\x0f\x00\x08\x00" + tcp,
        # SLARP (0x8035): keepalive with and without the uptime, request, reply
        b"\x8f\x00\x80\x35"
        + struct.pack("!IIIH", 2, 0x10, 0x0F, 0xFFFF)
        + struct.pack("!I", 3723000),
        b"\x8f\x00\x80\x35" + struct.pack("!IIIH", 2, 0x11, 0x10, 0xFFFF),
        b"\x8f\x00\x80\x35" + struct.pack("!I4s4sH", 0, bytes(4), bytes(4), 0xFFFF),
        b"\x8f\x00\x80\x35"
        + struct.pack("!I4s4sH", 1, bytes([192, 0, 2, 1]), bytes([255, 255, 255, 252]), 0xFFFF),
    ]
    write(HERE / "chdlc.pcap", 104, chdlc, 1_700_001_000)

    def q922(dlci: int, fecn: bool = False, becn: bool = False, de: bool = False) -> bytes:
        b1 = (dlci >> 4) << 2
        b2 = ((dlci & 0xF) << 4) | (8 if fecn else 0) | (4 if becn else 0) | (2 if de else 0) | 1
        return bytes([b1, b2])

    fr = [
        q922(100) + b"\x03\xcc" + ip,
        q922(100) + b"\x03\xcc" + ip_b,
        q922(200, fecn=True) + b"\x03\xcc" + udp,
        q922(200, becn=True, de=True) + b"\x03\x8e" + ip6,
        q922(300) + b"\x03\xcf" + b"\xc0\x21" + bytes.fromhex("0101000a0506a1b2c3d4"),
        # Cisco encapsulation: the ethertype right after the address
        q922(400) + b"\x08\x00" + ip,
        q922(400) + b"\x86\xdd" + ip6,
    ]
    write(HERE / "fr.pcap", 107, fr, 1_700_002_000)

    def ipnet(family: int, payload: bytes) -> bytes:
        return struct.pack("!BBHIIIII", 1, family, 0, len(payload), 2, 0, 0, 1) + payload

    write(
        HERE / "ipnet.pcap",
        226,
        [ipnet(2, ip), ipnet(2, ip_b), ipnet(26, ip6), ipnet(2, udp)],
        1_700_003_000,
    )

    def ipoib(etype: int, payload: bytes) -> bytes:
        return (
            bytes(20)
            + bytes.fromhex("80000048fe80000000000000")
            + bytes(8)
            + struct.pack("!HH", etype, 0)
            + payload
        )

    write(
        HERE / "ipoib.pcap",
        242,
        [ipoib(0x0800, ip), ipoib(0x0800, ip_b), ipoib(0x86DD, ip6), ipoib(0x0800, tcp)],
        1_700_004_000,
    )


if __name__ == "__main__":
    main()
