"""Control protocols of the hosts that end tunnels, built with scapy's layers (never sent):
regenerate with ``.venv/bin/python tests/corpus/tunnelctl.py`` (no privileges needed).

``pptp.pcap``: a PPTP control connection as RFC 2637 describes it, built with
``scapy.layers.pptp`` (every message type, in the order a PAC and a PNS exchange them,
over one TCP connection on port 1723, then a short read and a bad magic cookie).
``isakmp1.pcap``: IKEv1 main and aggressive mode with ``scapy.layers.isakmp``'s payloads
(SA with proposals and transforms, key exchange, nonce, identification, hash, vendor ID,
notification, delete; RFC 2408/2409), over UDP 500 and NAT-T 4500.
``overlay.pcap``: NSH over VXLAN-GPE (``scapy.contrib.nsh``, RFC 8300) carrying Ethernet,
IPv4 and IPv6, and LISP control and data messages laid out as RFC 6830/9301 draw them.
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


if __name__ == "__main__":
    pptp(HERE / "pptp.pcap")
