"""Frames of the serial and other link types, built with scapy from the protocols' layouts
(never sent): regenerate with ``.venv/bin/python tests/corpus/links.py``.

One file per link type, as a capture holds one: Cisco HDLC with IP, IPv6 and SLARP
keepalives, requests and replies (``chdlc.pcap``); Frame Relay with RFC 2427
encapsulation (IP, IPv6 and PPP NLPIDs, 2- and 4-byte Q.922 addresses, FECN/BECN/DE) and
Cisco's ethertype encapsulation (``fr.pcap``); Solaris IPNET (``ipnet.pcap``); IP over
InfiniBand (``ipoib.pcap``); ARCNET, BSD's and Linux's framing (``arcnet.pcap``,
``arcnet-linux.pcap``); Marvell DSA and EDSA and Broadcom switch tags (``dsa.pcap``,
``edsa.pcap``, ``brcm.pcap``, ``brcm-prepend.pcap``).
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


def arcnet() -> None:
    """ARCNET as RFC 1201 frames it (BSD's link type 7: source, destination, system code,
    then the split flag and sequence number) and Linux's (129: an offset field before the
    system code), carrying IP, IPv6 and ARP, old RFC 1051 frames, fragments and exceptions."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

    ip = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(id=9, seq=1) / b"arcnet")
    ip_b = bytes(IP(src="192.0.2.2", dst="192.0.2.1") / ICMP(type=0, id=9, seq=1) / b"arcnet")
    udp = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=7, dport=7) / b"echo")
    ip6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=3, seq=4))
    # ARP with ARCNET hardware (type 7, 1-byte addresses, RFC 1201)
    arp = struct.pack("!HHBBH", 7, 0x0800, 1, 4, 1) + b"\x01" + bytes([192, 0, 2, 1])
    arp += b"\x00" + bytes([192, 0, 2, 2])
    arp_r = struct.pack("!HHBBH", 7, 0x0800, 1, 4, 2) + b"\x02" + bytes([192, 0, 2, 2])
    arp_r += b"\x01" + bytes([192, 0, 2, 1])

    def bsd(src: int, dst: int, code: int, body: bytes, flag: int = 0, seq: int = 1) -> bytes:
        return struct.pack("!BBBBH", src, dst, code, flag, seq) + body

    frames = [
        bsd(1, 2, 0xD4, ip),
        bsd(2, 1, 0xD4, ip_b, seq=2),
        bsd(1, 2, 0xD4, udp, seq=3),
        bsd(1, 2, 0xC4, ip6, seq=4),
        bsd(1, 0, 0xD5, arp, seq=5),
        bsd(2, 1, 0xD5, arp_r, seq=6),
        bytes([1, 2, 0xF0]) + ip,  # RFC 1051: no split flag
        bytes([1, 2, 0xF1]) + arp,
        bsd(1, 2, 0xD4, ip[:20], flag=3, seq=7),  # first of three fragments
        bsd(1, 2, 0xD4, ip[20:], flag=2, seq=7),  # a later fragment
        struct.pack("!BBBBHBBH", 1, 2, 0xD4, 0xFF, 0xFFFF, 0xD4, 0, 8) + ip,  # exception
        bsd(1, 2, 0x99, b"\x00" * 8, seq=10),
        bytes([1, 2, 0xD4, 0]),
        bytes([1, 2]),
    ]
    write(HERE / "arcnet.pcap", 7, frames, 1_700_005_000)

    def linux(src: int, dst: int, code: int, body: bytes) -> bytes:
        return struct.pack("!BBHBBH", src, dst, 0, code, 0, 1) + body

    write(
        HERE / "arcnet-linux.pcap",
        129,
        [
            linux(1, 2, 0xD4, ip),
            linux(2, 1, 0xD4, ip_b),
            linux(1, 2, 0xC4, ip6),
            linux(1, 0, 0xD5, arp),
            struct.pack("!BBHB", 1, 2, 0, 0xF0) + ip,
            linux(1, 2, 0x99, bytes(8)),
            linux(1, 2, 0xD4, b"")[:6],
        ],
        1_700_006_000,
    )


def switch_tags() -> None:
    """Ethernet frames with a switch's tag, as Linux's DSA drivers capture them on the CPU
    port: Marvell DSA (284) and EDSA (285) after the MAC addresses, Broadcom's tag after
    them (281) or before the frame (282); each in every mode the tag's format names."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import ARP

    macs = bytes.fromhex("020000000002020000000001")
    ip = b"\x08\x00" + bytes(IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(id=4, seq=1) / b"dsa")
    udp = b"\x08\x00" + bytes(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=9, dport=9))
    ip6 = b"\x86\xdd" + bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest())
    arp = b"\x08\x06" + bytes(
        ARP(
            hwsrc="02:00:00:00:00:01", psrc="192.0.2.1", hwdst="00:00:00:00:00:00", pdst="192.0.2.2"
        )
    )
    bodies = [ip, udp, ip6, arp]

    def dsa(mode: int, dev: int, port: int, tagged: bool, vid: int, extra: int = 0) -> bytes:
        b0 = mode << 6 | (0x20 if tagged else 0) | dev
        b1 = port << 3 | extra
        return bytes([b0, b1, (vid >> 8) & 0xF | 0xA0, vid & 0xFF])

    tags = [
        dsa(0, 1, 3, False, 1, 0x02),  # to CPU, code bits
        dsa(1, 0, 2, True, 100),  # from CPU
        dsa(2, 2, 5, False, 7, 0x04),  # to sniffer, rx
        dsa(3, 1, 4, True, 4094, 0x05),  # forward, trunk, CFI
    ]
    frames = [macs + t + bodies[i % 4] for i, t in enumerate(tags)] + [macs + tags[0][:2]]
    write(HERE / "dsa.pcap", 284, frames, 1_700_007_000)
    edsa = [macs + b"\xda\xda\x00\x00" + t + bodies[i % 4] for i, t in enumerate(tags)]
    edsa.append(macs + b"\xda\xda\x00\x00" + tags[1][:3])
    write(HERE / "edsa.pcap", 285, edsa, 1_700_008_000)

    def brcm(op: int, tc: int, port: int, extra: int = 0) -> bytes:
        return struct.pack("!I", op << 29 | tc << 26 | extra | port)

    btags = [brcm(0, 0, 1), brcm(1, 2, 4, 0x100), brcm(0, 7, 8), brcm(2, 0, 0)]
    write(
        HERE / "brcm.pcap",
        281,
        [macs + t + bodies[i % 4] for i, t in enumerate(btags)] + [macs + btags[0][:3]],
        1_700_009_000,
    )
    write(
        HERE / "brcm-prepend.pcap",
        282,
        [t + macs + bodies[i % 4] for i, t in enumerate(btags)] + [btags[0][:3]],
        1_700_009_500,
    )


if __name__ == "__main__":
    main()
    arcnet()
    switch_tags()
