"""L2TPv2 control connections (RFC 2661) over UDP 1701, headers built with scapy's
``scapy.layers.l2tp.L2TP`` (never sent) and AVPs laid out as RFC 2661 section 4.4 draws
them: regenerate with ``.venv/bin/python tests/corpus/l2tpctl.py`` (no privileges needed).

``l2tpctl.pcap``: a LAC and an LNS setting up a tunnel and a session and tearing them
down (SCCRQ, SCCRP, SCCCN, ZLB acknowledgements, HELLO, ICRQ, ICRP, ICCN with proxy LCP
and authentication AVPs, an outgoing call OCRQ/OCRP/OCCN, WEN, SLI, CDN with a result,
an error and a Q.931 cause, StopCCN), hidden and vendor AVPs, then the malformed cases
tcpdump names: an AVP shorter than its header or longer than the message, values too
short for their AVP, a control message without the L bit, a length larger than the
packet or smaller than the header, an offset past the data, messages cut short.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LAC, LNS = "192.168.3.11", "192.168.3.12"


def avp(t: int, value: bytes = b"", m: bool = True, hidden: bool = False, vendor: int = 0) -> bytes:
    """One AVP: flags and length, vendor ID, attribute type, value (RFC 2661 4.1)."""
    word = (0x8000 if m else 0) | (0x4000 if hidden else 0) | (6 + len(value))
    return struct.pack("!HHH", word, vendor, t) + value


def u16(v: int) -> bytes:
    return struct.pack("!H", v)


def u32(v: int) -> bytes:
    return struct.pack("!I", v)


def msg(kind: int) -> bytes:
    return avp(0, u16(kind))


def frames() -> list[Any]:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2tp import L2TP
    from scapy.packet import Raw

    out: list[Any] = []

    def ctl(src: str, tid: int, sid: int, ns: int, nr: int, body: bytes, **kw: Any) -> None:
        dst = LNS if src == LAC else LAC
        hdr = kw.pop("hdr", "control+length+sequence")
        out.append(
            IP(src=src, dst=dst)
            / UDP(sport=1701, dport=1701)
            / L2TP(hdr=hdr, tunnel_id=tid, session_id=sid, ns=ns, nr=nr, **kw)
            / Raw(body)
        )

    sccrq = (
        msg(1)
        + avp(2, b"\x01\x00")
        + avp(7, b"lac.example")
        + avp(3, u32(3))
        + avp(4, u32(3))
        + avp(5, bytes.fromhex("0123456789abcdef"), m=False)
        + avp(6, u16(0x0690), m=False)
        + avp(8, b"tapwatch\x01\xc3", m=False)
        + avp(9, u16(7))
        + avp(10, u16(4))
        + avp(11, bytes.fromhex("a1b2c3d4e5f60718"))
    )
    ctl(LAC, 0, 0, 0, 0, sccrq)
    sccrp = (
        msg(2)
        + avp(2, b"\x01\x00")
        + avp(3, u32(1))
        + avp(4, u32(2))
        + avp(7, b"lns.example")
        + avp(9, u16(21))
        + avp(13, bytes(range(16)))
        + avp(11, b"\x99" * 16)
    )
    ctl(LNS, 7, 0, 0, 1, sccrp)
    ctl(LAC, 21, 0, 1, 1, msg(3) + avp(13, bytes(range(16, 32))))
    ctl(LNS, 7, 0, 1, 2, b"")  # ZLB
    ctl(LAC, 21, 0, 2, 1, msg(6))
    icrq = (
        msg(10)
        + avp(14, u16(0x1234))
        + avp(15, u32(0xDEAD))
        + avp(18, u32(1))
        + avp(22, b"5551234")
        + avp(21, b"5556789")
        + avp(23, b"sub")
        + avp(25, u32(9), m=False)
    )
    ctl(LAC, 21, 0, 3, 1, icrq)
    ctl(LNS, 7, 0, 1, 4, msg(11) + avp(14, u16(0x0042)))
    iccn = (
        msg(12)
        + avp(24, u32(115200))
        + avp(38, u32(57600), m=False)
        + avp(19, u32(1))
        + avp(26, bytes.fromhex("0104 05dc 0506 1234 5678"), m=False)
        + avp(27, bytes.fromhex("0305c22305"), m=False)
        + avp(28, bytes.fromhex("0104 05dc"), m=False)
        + avp(29, u16(2), m=False)
        + avp(30, b"alice", m=False)
        + avp(31, b"\x55" * 8, m=False)
        + avp(32, u16(0x0107), m=False)
        + avp(33, b"\x66" * 16, m=False)
        + avp(39, b"")
        + avp(37, b"group-1", m=False)
        + avp(20, b"\x00\x01\x00\x02", m=False)
    )
    ctl(LAC, 21, 0x42, 4, 2, iccn)
    ctl(LNS, 7, 0x1234, 2, 5, b"")
    ocrq = (
        msg(7)
        + avp(14, u16(5))
        + avp(15, u32(77))
        + avp(16, u32(9600))
        + avp(17, u32(1000000))
        + avp(18, u32(2))
        + avp(19, u32(2))
        + avp(21, b"100")
    )
    ctl(LNS, 7, 0, 3, 5, ocrq)
    ctl(LAC, 21, 0, 5, 4, msg(8) + avp(14, u16(6)) + avp(25, u32(3), m=False))
    ctl(LAC, 21, 5, 6, 4, msg(9) + avp(24, u32(33600)) + avp(19, u32(2)))
    wen = msg(15) + avp(34, b"\x00\x00" + u32(1) + u32(2) + u32(3) + u32(4) + u32(5) + u32(6))
    ctl(LAC, 21, 0x1234, 7, 4, wen)
    ctl(LNS, 7, 0x42, 4, 8, msg(16) + avp(35, b"\x00\x00" + u32(0xFFFFFFFF) + u32(0x000A0000)))
    cdn = (
        msg(14)
        + avp(1, u16(3) + u16(6) + b"admin down")
        + avp(14, u16(0x0042))
        + avp(12, u16(16) + b"\x02" + b"normal")
        + avp(46, u16(0x0102) + u16(0xC021) + b"\x01" + b"peer left", m=False)
    )
    ctl(LAC, 21, 0x42, 8, 5, cdn)
    ctl(LNS, 7, 0x1234, 5, 9, msg(14) + avp(1, u16(1)) + avp(46, u16(0) + u16(0) + b"\x07"))
    stop = msg(4) + avp(9, u16(21)) + avp(1, u16(2) + u16(4))
    ctl(LAC, 21, 0, 9, 6, stop)
    ctl(LNS, 7, 0, 6, 10, b"")
    # hidden AVPs, a vendor's AVPs, unknown message and attribute types
    hidden = msg(1) + avp(7, b"\x13\x37\xbe\xef", hidden=True) + avp(36, b"\x42" * 12)
    ctl(LAC, 0, 0, 0, 0, hidden)
    vend = msg(6) + avp(1, b"\x01\x02\x03", m=False, vendor=9) + avp(200, b"\x01\x02", m=False)
    ctl(LAC, 21, 0, 10, 6, vend)
    ctl(LAC, 21, 0, 11, 6, avp(0, u16(99)) + avp(46, b"", m=False))
    # values too short for their AVP
    short = b"".join(avp(t, b"\x01") for t in (0, 1, 2, 3, 4, 5, 6, 9, 12, 13, 15, 29, 32))
    short += avp(1, b"\x00\x01\x00") + avp(34, b"\x00\x00" + u32(1) + u32(2)) + avp(35, b"\0")
    short += avp(35, b"\x00\x00" + u32(1)) + avp(46, b"\x00\x01")
    ctl(LAC, 21, 0, 12, 6, short)
    # malformed framing: an AVP shorter than its header, longer than the message
    ctl(LAC, 21, 0, 13, 6, msg(6) + b"\x80\x04\x00\x00")
    ctl(LAC, 21, 0, 13, 6, msg(6) + b"\x80\x40\x00\x00\x00\x07abc")
    ctl(LAC, 21, 0, 13, 6, msg(6), hdr="control+sequence")  # no L bit
    ctl(LAC, 21, 0, 13, 6, msg(6), len=200)  # longer than the datagram
    ctl(LAC, 21, 0, 13, 6, msg(6), len=6)  # shorter than the header
    ctl(LAC, 21, 0, 13, 6, msg(6), hdr="control+length+sequence+offset", offset=40)
    ctl(LAC, 21, 0, 13, 6, msg(6), hdr="control+length+sequence+offset+priority", offset=2)
    return out


def main(path: Path) -> None:
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapWriter

    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pkts = [bytes(eth / p) for p in frames()]
    with PcapWriter(str(path), linktype=1, sync=True) as w:
        w.write_header(pkts[0])
        for p in pkts:
            w.write_packet(p, sec=1700000000, usec=0)
        # the first SCCRQ as a capture with a small snapshot length keeps it: cut inside
        # the header (each field) and inside the AVPs
        for n in (1, 3, 5, 7, 9, 11, 13, 20, 40):
            w.write_packet(pkts[0][: 42 + n], sec=1700000001, usec=0, wirelen=len(pkts[0]))


if __name__ == "__main__":
    main(HERE / "l2tpctl.pcap")
