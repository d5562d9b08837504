"""Control protocols and overlays of the hosts that end tunnels, built with scapy's layers
(never sent): regenerate with ``.venv/bin/python tests/corpus/tunnelctl.py`` (no privileges needed).

``pptp.pcap``: a PPTP control connection as RFC 2637 describes it, built with
``scapy.layers.pptp`` (every message type, in the order a PAC and a PNS exchange them,
over one TCP connection on port 1723, then a short read and a bad magic cookie).
``isakmp1.pcap``: IKEv1 main and aggressive mode with ``scapy.layers.isakmp``'s payloads
(SA with proposals and transforms, key exchange, nonce, identification, hash, vendor ID,
notification, delete; RFC 2408/2409), over UDP 500 and NAT-T 4500.
``overlay.pcap``: NSH over VXLAN-GPE (``scapy.contrib.nsh`` and ``scapy.layers.vxlan``,
RFC 8300) with MD types 1 and 2 carrying IPv4, IPv6 and Ethernet, VXLAN-GPE carrying them
directly, NSH on Ethernet, and the malformed cases tcpdump names (unknown next protocol,
short packet, too many headers, version 1).
``lisp.pcap``: LISP control messages (UDP 4342) laid out as RFC 9301's figures draw them.
``ikev2.pcap``: IKEv2 from ``scapy.contrib.ikev2`` (init with a cookie, auth and
informational exchanges encrypted, a child SA in the clear).
``openflow.pcap``: an OpenFlow 1.0 controller session from ``scapy.contrib.openflow``,
OpenFlow 1.3 hellos, and malformed messages tcpdump's length rules catch.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def write(path: Path, linktype: int, frames: list[bytes], start: int) -> None:
    """A classic pcap file, one second between frames."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", start + i, 0, len(frame), len(frame)) + frame)


class Stream:
    """Both sides of one TCP connection: each segment numbered after the ones before."""

    def __init__(self, client: tuple[str, int], server: tuple[str, int]) -> None:
        self.ends = (client, server)
        self.seq = [1000, 5000]

    def handshake(self) -> list[Any]:
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether

        (ca, cp), (sa, sp) = self.ends
        out = [
            Ether(src=M1, dst=M2)
            / IP(src=ca, dst=sa)
            / TCP(sport=cp, dport=sp, flags="S", seq=999),
            Ether(src=M2, dst=M1)
            / IP(src=sa, dst=ca)
            / TCP(sport=sp, dport=cp, flags="SA", seq=4999, ack=1000),
            Ether(src=M1, dst=M2)
            / IP(src=ca, dst=sa)
            / TCP(sport=cp, dport=sp, flags="A", seq=1000, ack=5000),
        ]
        return out

    def send(self, side: int, payload: bytes) -> Any:
        """A segment from the client (0) or the server (1) carrying ``payload``."""
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether

        (sa, sp), (da, dp) = self.ends[side], self.ends[1 - side]
        macs = (M1, M2) if side == 0 else (M2, M1)
        seg = (
            Ether(src=macs[0], dst=macs[1])
            / IP(src=sa, dst=da)
            / TCP(sport=sp, dport=dp, flags="PA", seq=self.seq[side], ack=self.seq[1 - side])
            / payload
        )
        self.seq[side] += len(payload)
        return seg


def pptp(path: Path) -> None:
    from scapy.layers import pptp as p

    s = Stream(("10.0.0.1", 40001), ("10.0.0.2", 1723))
    msgs: list[tuple[int, Any]] = [
        (
            0,
            p.PPTPStartControlConnectionRequest(
                framing_capabilities=3,
                bearer_capabilities=3,
                maximum_channels=0,
                firmware_revision=1,
                host_name=b"local",
                vendor_string=b"linux",
            ),
        ),
        (
            1,
            p.PPTPStartControlConnectionReply(
                result_code=1,
                framing_capabilities=1,
                bearer_capabilities=1,
                maximum_channels=1,
                firmware_revision=0x1234,
                host_name=b"pac.example",
                vendor_string=b"accel-ppp",
            ),
        ),
        (
            0,
            p.PPTPOutgoingCallRequest(
                call_id=0x2A,
                call_serial_number=1,
                minimum_bps=2400,
                maximum_bps=10000000,
                bearer_type=3,
                pkt_window_size=64,
                pkt_proc_delay=0,
                phone_number_len=0,
                phone_number=b"",
                subaddress=b"",
            ),
        ),
        (
            1,
            p.PPTPOutgoingCallReply(
                call_id=0x0700,
                peer_call_id=0x2A,
                result_code=1,
                cause_code=0,
                connect_speed=10000000,
                pkt_window_size=64,
                pkt_proc_delay=0,
                channel_id=0,
            ),
        ),
        (1, p.PPTPSetLinkInfo(peer_call_id=0x2A, send_accm=0xFFFFFFFF, receive_accm=0)),
        (0, p.PPTPSetLinkInfo(peer_call_id=0x0700, send_accm=0, receive_accm=0xFFFFFFFF)),
        (1, p.PPTPEchoRequest(identifier=7)),
        (0, p.PPTPEchoReply(identifier=7, result_code=1)),
        (
            1,
            p.PPTPIncomingCallRequest(
                call_id=0x0701,
                call_serial_number=2,
                bearer_type=1,
                channel_id=4,
                dialed_number_len=4,
                dialing_number_len=3,
                dialed_number=b"5551",
                dialing_number=b"123",
                subaddress=b"sub",
            ),
        ),
        (
            0,
            p.PPTPIncomingCallReply(
                call_id=0x2B, peer_call_id=0x0701, result_code=1, pkt_window_size=32
            ),
        ),
        (
            1,
            p.PPTPIncomingCallConnected(
                peer_call_id=0x2B, connect_speed=64000, pkt_window_size=16, framing_type=2
            ),
        ),
        (
            1,
            p.PPTPWANErrorNotify(
                peer_call_id=0x2B,
                crc_errors=1,
                framing_errors=2,
                hardware_overruns=3,
                buffer_overruns=4,
                time_out_errors=5,
                alignment_errors=6,
            ),
        ),
        (0, p.PPTPCallClearRequest(call_id=0x2B)),
        (1, p.PPTPCallDisconnectNotify(call_id=0x0701, result_code=4, cause_code=16)),
        (0, p.PPTPCallClearRequest(call_id=0x2A)),
        (
            1,
            p.PPTPCallDisconnectNotify(
                call_id=0x0700, result_code=3, error_code=0, call_statistic=b"idle 600s"
            ),
        ),
        (0, p.PPTPStopControlConnectionRequest(reason=1)),
        (1, p.PPTPStopControlConnectionReply(result_code=1)),
        # what the RFC forbids: a message type past SLI, a bad magic cookie, reserved bits,
        # an error code, and a reply result the tables do not know
        (0, p.PPTP(ctrl_msg_type=16, data=b"\0" * 4)),
        (0, p.PPTPEchoRequest(identifier=8, magic_cookie=0x1A2B3C4E)),
        (0, p.PPTPStopControlConnectionRequest(reason=9, reserved_1=1, reserved_2=2)),
        (1, p.PPTPEchoReply(identifier=8, result_code=2, error_code=6, reserved_1=5)),
        (1, p.PPTPStartControlConnectionReply(result_code=9, error_code=2, host_name=b"x")),
    ]
    frames = s.handshake()
    frames += [s.send(side, bytes(m)) for side, m in msgs]
    # a Start-Control-Connection-Request cut short in its host name (a 60-byte segment)
    frames.append(s.send(0, bytes(msgs[0][1])[:60]))
    write(path, 1, [bytes(f) for f in frames], 1_700_010_000)


def isakmp1(path: Path) -> None:
    """IKEv1 as RFC 2409's exchanges lay it out, each payload from scapy's ISAKMP layer."""
    import logging

    from scapy.layers import isakmp as k
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    logging.getLogger("scapy").setLevel(logging.ERROR)  # a long lifetime is TLV: said, meant
    ci, cr = bytes.fromhex("1122334455667788"), bytes.fromhex("99aabbccddeeff00")

    def tr(num: int, attrs: list[tuple[int, int]], tid: int = 1, nxt: int = 0) -> Any:
        return k.ISAKMP_payload_Transform(next_payload=nxt, num=num, id=tid, transforms=attrs)

    ike_attrs = [(1, 7), (14, 256), (2, 4), (4, 14), (3, 1), (11, 1), (12, 28800)]
    old_attrs = [(1, 5), (2, 1), (3, 3), (4, 2), (11, 2), (12, 0x10000)]
    sa_main = k.ISAKMP_payload_SA(
        next_payload=13,
        prop=k.ISAKMP_payload_Proposal(
            trans_nb=3,
            trans=tr(1, ike_attrs, nxt=3)
            / tr(2, old_attrs, nxt=3)
            / tr(3, [(1, 9), (4, 18), (5, 1), (12, 0x12345678), (20, 0)]),
        ),
    )
    esp_attrs = [(1, 1), (2, 3600), (4, 1), (5, 2), (6, 128), (3, 14)]
    sa_quick = k.ISAKMP_payload_SA(
        next_payload=10,
        prop=k.ISAKMP_payload_Proposal(
            next_payload=2,
            proto=3,
            SPI=b"\xc0\x01\x02\x03",
            trans_nb=2,
            trans=tr(1, esp_attrs, tid=12, nxt=3) / tr(2, esp_attrs[:3], tid=3),
        )
        / k.ISAKMP_payload_Proposal(
            proposal=2,
            proto=2,
            SPI=b"\xc0\x01\x02\x04",
            trans_nb=1,
            trans=tr(1, [(5, 2), (1, 1)], tid=3),
        ),
    )
    vid = k.ISAKMP_payload_VendorID(
        next_payload=0, VendorID=bytes.fromhex("afcad71368a1f1c96b8696fc77570100")
    )

    def msg(np: int, etype: int, payload: Any, resp: bool, msgid: int = 0, flags: int = 0) -> Any:
        return (
            k.ISAKMP(
                init_cookie=ci,
                resp_cookie=cr if resp else b"\0" * 8,
                next_payload=np,
                exch_type=etype,
                flags=flags,
                id=msgid,
            )
            / payload
        )

    ke = k.ISAKMP_payload_KE(next_payload=10, ke=bytes(range(128)))
    nonce = k.ISAKMP_payload_Nonce(next_payload=0, nonce=bytes(range(100, 132)))
    ids = [
        k.ISAKMP_payload_ID(next_payload=8, IDtype=1, IdentData="10.85.0.2"),
        k.ISAKMP_payload_ID(next_payload=8, IDtype=2, IdentData=b"vpn.example.org"),
        k.ISAKMP_payload_ID(next_payload=8, IDtype=3, IdentData=b"alice@example.org\x01"),
        k.ISAKMP_payload_ID(
            next_payload=5,
            IDtype=4,
            ProtoID=17,
            Port=500,
            IdentData=bytes([10, 1, 0, 0, 255, 255, 0, 0]),
        ),
        k.ISAKMP_payload_ID(
            next_payload=5, IDtype=5, IdentData=bytes.fromhex("20010db8" + "00" * 11 + "01")
        ),
        k.ISAKMP_payload_ID(
            next_payload=5,
            IDtype=6,
            IdentData=bytes.fromhex("20010db8" + "00" * 12 + "ff" * 8 + "00" * 8),
        ),
        k.ISAKMP_payload_ID(next_payload=5, IDtype=7, IdentData=bytes([10, 0, 0, 1, 10, 0, 0, 9])),
        k.ISAKMP_payload_ID(
            next_payload=5,
            IDtype=8,
            IdentData=bytes.fromhex("20010db8" + "00" * 11 + "01" + "20010db8" + "00" * 11 + "09"),
        ),
        k.ISAKMP_payload_ID(next_payload=0, IDtype=11, IdentData=b"key-17"),
        k.ISAKMP_payload_ID(next_payload=0, IDtype=9, IdentData=bytes(range(30))),
        k.ISAKMP_payload(next_payload=0, load=b"\x01\x00\x00\x00\x0a\x00"),  # IPv4, 2 bytes
    ]
    hash_ = k.ISAKMP_payload_Hash(next_payload=0, hash=bytes(range(20)))

    def notify(t: int, data: bytes = b"", doi: int = 1, spi: bytes = b"", nxt: int = 0) -> Any:
        return k.ISAKMP_payload_Notify(
            next_payload=nxt,
            doi=doi,
            proto=1 if not spi else 3,
            SPI=spi,
            notify_msg_type=t,
            notify_data=data,
        )

    lifetime = bytes.fromhex("800b0001") + bytes.fromhex("000c000400007080")
    messages: list[tuple[int, Any]] = [
        (0, msg(1, 2, sa_main / vid, False)),
        (1, msg(1, 2, sa_main / vid, True)),
        (0, msg(4, 2, ke / nonce, True)),
        (
            1,
            msg(
                4,
                2,
                ke
                / k.ISAKMP_payload_Nonce(next_payload=20, nonce=bytes(range(16)))
                / k.ISAKMP_payload(next_payload=20, load=bytes(20))
                / k.ISAKMP_payload(load=bytes(range(20))),
                True,
            ),
        ),
        # identities of every type the IPsec DOI names (RFC 2407 4.6.2.1)
        *[(0, msg(5, 2, i / hash_ if i.next_payload == 8 else i, True)) for i in ids],
        (0, msg(8, 32, hash_, True, msgid=0x1234, flags=1)),
        (
            0,
            msg(
                8,
                32,
                k.ISAKMP_payload_Hash(next_payload=1, hash=bytes(20)) / sa_quick / nonce,
                True,
                msgid=0x1234,
            ),
        ),
        (1, msg(11, 5, notify(24578, spi=b""), True, msgid=0x55)),
        (1, msg(11, 5, notify(24576, lifetime, spi=b"\xc0\x01\x02\x03"), True, msgid=0x56)),
        (1, msg(11, 5, notify(24577, b"\0\0\0\1"), True, msgid=0x57)),
        (
            1,
            msg(
                11,
                5,
                notify(14, b"no proposal matched", nxt=11)
                / notify(16384, nxt=11)
                / notify(40000, b"x"),
                True,
                msgid=0x58,
            ),
        ),
        (1, msg(11, 5, notify(9, doi=0, spi=b"\1\2\3\4"), True, msgid=0x59)),
        (
            0,
            msg(
                12,
                5,
                k.ISAKMP_payload_Delete(
                    proto=3, SPIsize=4, SPIs=[b"\xc0\x01\x02\x03", b"\xc0\x01\x02\x04"]
                ),
                True,
                msgid=0x5A,
            ),
        ),
        (
            0,
            msg(
                12,
                5,
                k.ISAKMP_payload_Delete(doi=1, proto=1, SPIsize=16, SPIs=[ci + cr]),
                True,
                msgid=0x5B,
            ),
        ),
        # aggressive mode: SA, KE, nonce and identity in one message; certificates and a signature
        (
            0,
            msg(
                1,
                4,
                k.ISAKMP_payload_SA(next_payload=4, prop=sa_main.prop)
                / ke
                / k.ISAKMP_payload_Nonce(next_payload=5, nonce=bytes(16))
                / k.ISAKMP_payload_ID(next_payload=7, IDtype=2, IdentData=b"peer")
                / k.ISAKMP_payload(next_payload=0, load=b"\x04" + bytes(8)),
                False,
            ),
        ),
        (
            1,
            msg(
                6,
                4,
                k.ISAKMP_payload(next_payload=9, load=b"\x04" + bytes(64))
                / k.ISAKMP_payload_SIG(next_payload=0, sig=bytes(48)),
                True,
                flags=2,
            ),
        ),
        # what does not fit: a situation beyond identity, another DOI, an unknown protocol,
        # a header whose length is not the datagram's, and a zero-length payload
        (0, msg(1, 2, k.ISAKMP_payload_SA(situation=3, prop=sa_main.prop), False)),
        (0, msg(1, 2, k.ISAKMP_payload_SA(doi=2, prop=sa_main.prop), False)),
        (
            0,
            msg(
                1,
                2,
                k.ISAKMP_payload_SA(
                    prop=k.ISAKMP_payload_Proposal(proto=9, trans=tr(1, [(1, 1), (2, 2)]))
                ),
                False,
            ),
        ),
        (0, bytes(msg(13, 2, vid, True))[:24] + (999).to_bytes(4, "big") + bytes(vid)),
        (0, bytes(msg(13, 2, vid, True))[:28] + bytes.fromhex("0d000000") + bytes(vid)),
        (0, msg(13, 2, vid, True, flags=4)),
    ]
    frames = []
    for side, m in messages:
        a, b = ("10.85.0.2", "10.85.0.1") if side == 0 else ("10.85.0.1", "10.85.0.2")
        frames.append(
            bytes(Ether(src=M1, dst=M2) / IP(src=a, dst=b) / UDP(sport=500, dport=500) / bytes(m))
        )
    # NAT traversal: the same exchange's later messages behind the non-ESP marker (RFC 3948)
    for side, m in messages[2:4]:
        a, b = ("10.85.0.2", "10.85.0.1") if side == 0 else ("10.85.0.1", "10.85.0.2")
        frames.append(
            bytes(
                Ether(src=M1, dst=M2)
                / IP(src=a, dst=b)
                / UDP(sport=4500, dport=4500)
                / (b"\0" * 4 + bytes(m))
            )
        )
    write(path, 1, frames, 1_700_011_000)


def overlay(path: Path) -> None:
    """VXLAN-GPE (UDP 4790) carrying NSH, IPv4, IPv6 and Ethernet; NSH on Ethernet (0x894F)."""
    from scapy.contrib.nsh import NSH, NSHTLV
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import Ether
    from scapy.layers.vxlan import VXLAN

    inner4 = IP(src="192.168.10.1", dst="192.168.10.2") / ICMP(id=3, seq=1) / b"nsh"
    inner6 = IPv6(src="fd10::1", dst="fd10::2") / ICMPv6EchoRequest(id=3, seq=1)
    ieth = Ether(src=M1, dst=M2) / inner4

    def gpe(payload: Any, nxt: int, vni: int = 0x1234, flags: int = 0x0C) -> bytes:
        outer = (
            Ether(src=M1, dst=M2)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / UDP(sport=40000, dport=4790)
        )
        return bytes(outer / VXLAN(flags=flags, NextProtocol=nxt, vni=vni) / payload)

    md1 = NSH(mdtype=1, nextproto=1, spi=0x2A, si=255, context_header=bytes(range(16)))
    md2 = NSH(
        mdtype=2,
        nextproto=3,
        spi=0x10,
        si=254,
        vlch=[
            NSHTLV(class_=0x0102, type=3, metadata=[0xDEADBEEF]),
            NSHTLV(class_=7, type=1),
        ],
    )
    frames = [
        gpe(md1 / inner4, 4),
        gpe(md2 / ieth, 4),
        gpe(NSH(mdtype=1, nextproto=2, spi=0xFFFFFF, si=1, oam=1, ttl=5) / inner6, 4),
        gpe(NSH(mdtype=2, nextproto=1, spi=3, si=9) / inner4, 4),
        gpe(inner4, 1, flags=0x08),
        gpe(inner6, 2),
        gpe(ieth, 3, vni=7),
        gpe(b"\x00" * 8, 9, flags=0x0D),
        gpe(NSH(mdtype=1, nextproto=9, spi=1, si=2) / (b"\x00" * 8), 4),
        gpe(bytes(NSH(mdtype=1, nextproto=1, spi=1, si=2))[:6], 4),
        gpe(b"\x40" + bytes(NSH(mdtype=1, nextproto=1))[1:8], 4),
        gpe(NSH(mdtype=1, nextproto=1, spi=4, si=3, length=40) / inner4, 4),
        gpe(NSH(mdtype=2, nextproto=1, spi=4, si=3, length=1) / inner4, 4),
        bytes(
            Ether(src=M1, dst=M2)
            / IP(src="10.0.0.1", dst="10.0.0.2")
            / UDP(sport=40000, dport=4790)
            / b"\x0c\x00\x00\x04\x00"
        ),
        bytes(
            Ether(src=M1, dst=M2, type=0x894F) / NSH(mdtype=1, nextproto=1, spi=5, si=200) / inner4
        ),
        bytes(
            Ether(src=M1, dst=M2, type=0x894F) / NSH(mdtype=2, nextproto=3, spi=6, si=100) / ieth
        ),
    ]
    write(path, 1, frames, 1_700_012_000)


def lisp(path: Path) -> None:
    """LISP control messages (UDP 4342) laid out as RFC 9301's figures draw them: a
    Map-Register with SHA-1 and SHA-256 authentication, IPv4 and IPv6 EIDs and locators,
    the xTR-ID and site ID, a Map-Notify, and the messages tcpdump names only by type."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    def locator(afi: int, addr: bytes, prio: int = 1, weight: int = 100, flags: int = 5) -> bytes:
        return struct.pack("!BBBBHH", prio, weight, 255, 0, flags, afi) + addr

    def record(
        afi: int,
        eid: bytes,
        mask: int,
        locs: list[bytes],
        act: int = 0,
        auth: int = 1,
        ver: int = 0,
    ) -> bytes:
        head = struct.pack("!IBBBBHH", 1440, len(locs), mask, act << 5 | auth << 4, 0, ver, afi)
        return head + eid + b"".join(locs)

    v4 = (1, bytes([192, 0, 2, 0]))
    v6 = (2, bytes.fromhex("20010db8000100000000000000000000"))
    rloc4 = locator(1, bytes([203, 0, 113, 1]))
    rloc6 = locator(2, bytes.fromhex("20010db8ffff00000000000000000001"), 2, 50, 2)

    def register(
        flags: int,
        recs: list[bytes],
        key: int = 1,
        auth: bytes = bytes(20),
        typ: int = 3,
        tail: bytes = b"",
    ) -> bytes:
        head = struct.pack(
            "!IQHH", typ << 28 | flags | len(recs), 0x0102030405060708, key, len(auth)
        )
        return head + auth + b"".join(recs) + tail

    xtr = bytes(range(16)) + (42).to_bytes(8, "big")
    msgs = [
        register(0x100, [record(*v4, 24, [rloc4])]),
        register(0x100, [record(*v4, 24, [rloc4, rloc6]), record(*v6, 48, [rloc6], 2, 0, 7)]),
        register(
            0x08000000 | 0x02000000 | 0x100,
            [record(*v6, 64, [rloc4])],
            2,
            bytes(range(32)),
            tail=xtr,
        ),
        register(0x04000000 | 0x01000000, [record(*v4, 32, [rloc4], 3)], 0, b""),
        register(0, [record(*v4, 16, [rloc4])], typ=4),
        register(0x08000000, [record(*v4, 16, [rloc4])], typ=4, tail=xtr),
        register(0x100, [], tail=b""),
        register(0x100, [record(16387, b"\x00" * 8, 0, [])]),
        register(0x100, [record(*v4, 24, [locator(17, b"\x00" * 4)])], tail=b"\xaa\xbb\xcc"),
        register(0x100, [record(*v4, 24, [rloc4])], typ=1),
        register(0x100, [record(*v4, 24, [rloc4])], typ=2),
        bytes.fromhex("80000000")
        + bytes(IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=4342, dport=4342)),
        register(0, [], typ=7),
        register(0x100, [record(*v4, 24, [rloc4, rloc4])])[:70],
    ]
    frames = []
    for i, m in enumerate(msgs):
        src, dst = ("10.0.0.1", "10.0.0.2") if i % 2 == 0 else ("10.0.0.2", "10.0.0.1")
        frames.append(
            bytes(Ether(src=M1, dst=M2) / IP(src=src, dst=dst) / UDP(sport=4342, dport=4342) / m)
        )
    frames.append(
        bytes(
            Ether(src=M1, dst=M2)
            / IPv6(src="2001:db8::1", dst="2001:db8::2")
            / UDP(sport=4342, dport=4342)
            / msgs[1]
        )
    )
    write(path, 1, frames, 1_700_013_000)


def openflow(path: Path) -> None:
    """An OpenFlow 1.0 controller session (TCP 6653) from scapy's OpenFlow layer: the
    handshake, configuration, a packet-in answered by a flow-mod and a packet-out, port
    status, statistics, echo and barrier; then OpenFlow 1.3 messages (version 4)."""
    from scapy.contrib import openflow as of
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether

    s = Stream(("10.0.0.1", 45000), ("10.0.0.2", 6653))
    port = of.OFPPhyPort(
        port_no=1, hw_addr="02:00:00:00:01:01", port_name=b"s1-eth1", curr=0x2C0, supported=0x2FF
    )
    frame = Ether(src=M1, dst=M2) / IP(src="10.1.0.1", dst="10.1.0.2") / ICMP() / b"flow"
    match = of.OFPMatch(
        in_port=1,
        dl_src=M1,
        dl_dst=M2,
        dl_type=0x0800,
        nw_proto=1,
        nw_src="10.1.0.1",
        nw_dst="10.1.0.2",
    )
    actions = [of.OFPATOutput(port=2, max_len=0), of.OFPATSetVLANVID(vlan_vid=10)]
    msgs: list[tuple[int, Any]] = [
        (0, of.OFPTHello(xid=1)),
        (1, of.OFPTHello(xid=2)),
        (1, of.OFPTFeaturesRequest(xid=3)),
        (
            0,
            of.OFPTFeaturesReply(
                xid=3,
                datapath_id=0x1,
                n_buffers=256,
                n_tables=254,
                capabilities=0xC7,
                actions=0xFFF,
                ports=[port],
            ),
        ),
        (1, of.OFPTSetConfig(xid=4, flags=0, miss_send_len=128)),
        (1, of.OFPTGetConfigRequest(xid=5)),
        (0, of.OFPTGetConfigReply(xid=5, flags=0, miss_send_len=128)),
        (
            0,
            of.OFPTPacketIn(
                xid=0, buffer_id=256, total_len=len(frame), in_port=1, reason=0, data=frame
            ),
        ),
        (
            1,
            of.OFPTFlowMod(
                xid=6,
                match=match,
                cookie=0,
                cmd=0,
                idle_timeout=10,
                hard_timeout=30,
                priority=100,
                buffer_id=256,
                out_port=0xFFFF,
                flags=1,
                actions=actions,
            ),
        ),
        (
            1,
            of.OFPTPacketOut(
                xid=7, buffer_id=0xFFFFFFFF, in_port=1, actions=actions[:1], data=frame
            ),
        ),
        (0, of.OFPTPortStatus(xid=0, reason=2, desc=port)),
        (1, of.OFPTEchoRequest(xid=8) / b"ping"),
        (0, of.OFPTEchoReply(xid=8) / b"ping"),
        (1, of.OFPTBarrierRequest(xid=9)),
        (0, of.OFPTBarrierReply(xid=9)),
        (1, of.OFPTStatsRequestDesc(xid=10)),
        (
            0,
            of.OFPTStatsReplyDesc(
                xid=10,
                mfr_desc=b"Nicira, Inc.",
                hw_desc=b"Open vSwitch",
                sw_desc=b"2.17.0",
                serial_num=b"None",
                dp_desc=b"s1",
            ),
        ),
        (1, of.OFPTStatsRequestFlow(xid=11, match=match, table_id=0xFF, out_port=0xFFFF)),
        (1, of.OFPTStatsRequestPort(xid=12, port_no=0xFFFF)),
        (0, of.OFPETBadRequest(xid=13, errcode=1, data=bytes(of.OFPTHello(xid=13)))),
        (1, of.OFPTVendor(xid=14, vendor=0x2320) / b"\x00\x00\x00\x0a"),
        (1, bytes(of.OFPTHello(xid=15)) + bytes(of.OFPTBarrierRequest(xid=16))),
        # OpenFlow 1.3: hello with a version bitmap, and a header too short to be true
        (1, bytes.fromhex("04000010000000110001000800000010")),
        (0, bytes.fromhex("0105000400000012")),
    ]
    frames = s.handshake() + [s.send(side, bytes(m)) for side, m in msgs]
    # what tcpdump's length rules catch, on a second connection: bodies of the wrong size,
    # messages running past the segment or the capture, headers cut by the segment's end,
    # versions without a table, unassigned port-state and feature bits
    odd = Stream(("10.0.0.1", 45001), ("10.0.0.2", 6653))
    for h in (
        "0105000c00000001000000000100000800000002",
        "01090008000000030100000800000002",
        "0109000e000000030000008000000100000800000002",
        "0100002000000003",
        "0102000c00000003aabb",
        "010d001800000007000001000001001000000008000100000000",
        "010d001800000007000001000001000c0000000800010000",
        "010e0050000000070000010000010010",
        "0104000a000000070000",
        "0110000c0000000700090000",
        "0111000c0000000700000001",
        "0400000c000000070001000400000000",
        "02000008000000aa",
        "03050008000000ab",
        "05000008000000ac",
        "040a0008000000ad",
        "04120010000000ae0000000000000000",
        "0400001000000011000200080000001c",
        "04000010000000110001000c000000120000",
        "0116000800000001",
        "0100000800000001010000",
        "0405000c0000000100000000",
        "0414000c0000000100000000",
        "0409000800000001",
        "041e000800000001",
        "0410000800000001",
        "010e004800000001" + "00000000" * 16,
        "010c004000000001"
        + "02"
        + "00" * 7
        + "0001020000000101"
        + "00" * 16
        + "00000001000003010000100000000000"
        + "0000000000000000",
    ):
        frames.append(odd.send(0, bytes.fromhex(h)))
    write(path, 1, [bytes(f) for f in frames], 1_700_014_000)


def ikev2(path: Path) -> None:
    """IKEv2 (RFC 7296) as ``scapy.contrib.ikev2`` builds it: IKE_SA_INIT both ways (SA with
    proposals and transforms, KE, nonce, NAT detection, a cookie, vendor ID), IKE_AUTH and an
    informational exchange encrypted, and a CREATE_CHILD_SA in the clear."""
    import logging

    logging.getLogger("scapy").setLevel(logging.ERROR)
    from scapy.contrib import ikev2 as k
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    spi_i, spi_r = bytes.fromhex("0102030405060708"), bytes.fromhex("a1a2a3a4a5a6a7a8")

    def tr(t: int, tid: int, nxt: int = 3, keylen: int | None = None) -> Any:
        if keylen is None:
            return k.IKEv2_Transform(next_payload=nxt, transform_type=t, transform_id=tid)
        return k.IKEv2_Transform(
            next_payload=nxt, length=12, transform_type=t, transform_id=tid, key_length=keylen
        )

    prop = k.IKEv2_Proposal(
        next_payload=2,
        proposal=1,
        proto=1,
        trans_nb=4,
        trans=tr(1, 12, keylen=256) / tr(2, 2) / tr(3, 2) / tr(4, 14, nxt=0),
    ) / k.IKEv2_Proposal(
        proposal=2, proto=1, trans_nb=3, trans=tr(1, 3) / tr(3, 1) / tr(4, 2, nxt=0)
    )
    child = k.IKEv2_Proposal(
        proposal=1,
        proto=3,
        SPI=b"\xc1\xc2\xc3\xc4",
        trans_nb=3,
        trans=tr(1, 12, keylen=128) / tr(3, 12) / tr(5, 0, nxt=0),
    )

    def msg(np: int, etype: int, flags: int, payload: Any, resp: bool, mid: int = 0) -> bytes:
        head = k.IKEv2(
            init_SPI=spi_i,
            resp_SPI=spi_r if resp else bytes(8),
            next_payload=np,
            exch_type=etype,
            flags=flags,
            id=mid,
        )
        return bytes(head / payload)

    init = (
        k.IKEv2_SA(next_payload=34, prop=prop)
        / k.IKEv2_KE(next_payload=40, group=14, ke=bytes(range(256)))
        / k.IKEv2_Nonce(next_payload=41, nonce=bytes(range(32)))
        / k.IKEv2_Notify(next_payload=41, proto=0, type=16388, notify=bytes(20))
        / k.IKEv2_Notify(next_payload=43, proto=0, type=16389, notify=bytes(range(20)))
        / k.IKEv2_VendorID(next_payload=0, vendorID=b"strongSwan 5.9")
    )
    msgs = [
        (0, msg(41, 34, 0x08, k.IKEv2_Notify(proto=0, type=16390, notify=bytes(8)), False)),
        (0, msg(33, 34, 0x08, init, False)),
        (1, msg(33, 34, 0x20, init, True)),
        (0, msg(46, 35, 0x08, k.IKEv2_Encrypted(next_payload=35, load=bytes(96)), True, 1)),
        (1, msg(46, 35, 0x20, k.IKEv2_Encrypted(next_payload=36, load=bytes(80)), True, 1)),
        (
            0,
            msg(
                33,
                36,
                0x08,
                k.IKEv2_SA(next_payload=40, prop=child)
                / k.IKEv2_Nonce(next_payload=0, nonce=bytes(16)),
                True,
                2,
            ),
        ),
        (1, msg(41, 37, 0x20, k.IKEv2_Notify(proto=3, SPI=b"\x01\x02\x03\x04", type=11), True, 3)),
        (0, msg(46, 37, 0x08, k.IKEv2_Encrypted(next_payload=42, load=bytes(32)), True, 4)),
    ]
    frames = []
    for side, m in msgs:
        a, b = ("10.85.0.2", "10.85.0.1") if side == 0 else ("10.85.0.1", "10.85.0.2")
        frames.append(
            bytes(Ether(src=M1, dst=M2) / IP(src=a, dst=b) / UDP(sport=500, dport=500) / m)
        )
    write(path, 1, frames, 1_700_015_000)


if __name__ == "__main__":
    pptp(HERE / "pptp.pcap")
    isakmp1(HERE / "isakmp1.pcap")
    overlay(HERE / "overlay.pcap")
    lisp(HERE / "lisp.pcap")
    openflow(HERE / "openflow.pcap")
    ikev2(HERE / "ikev2.pcap")
