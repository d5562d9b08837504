"""An OpenFlow 1.3 controller session (TCP 6653) from ``scapy.contrib.openflow3`` (never
sent): regenerate with ``.venv/bin/python tests/corpus/openflow13.py`` (no privileges).

``openflow13.pcap``: the handshake (HELLO with a version bitmap, FEATURES_REQUEST and
_REPLY), the switch configuration, roles and asynchronous-message masks, a PACKET_IN
answered by a FLOW_MOD with an OXM match and instructions and a PACKET_OUT, PORT_STATUS
and PORT_MOD, TABLE_MOD, QUEUE_GET_CONFIG_REQUEST, multipart requests and replies, echo,
barrier, an experimenter message and errors of every type, then the bodies tcpdump finds
the wrong size for and a message cut by the capture.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tunnelctl import M1, M2, Stream, write  # noqa: E402 (the corpus's own helpers)


def messages() -> list[tuple[int, Any]]:
    from scapy.contrib import openflow3 as of
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    frame = Ether(src=M1, dst=M2) / IP(src="10.1.0.1", dst="10.1.0.2") / ICMP() / b"flow"
    port = of.OFPPort(
        port_no=2,
        hw_addr="02:00:00:00:01:02",
        port_name=b"s1-eth2",
        config=0x41,
        state=0x4,
        curr=0x2808,
        advertised=0x280F,
        supported=0x2FFF,
        peer=0x10000,
        curr_speed=100000,
        max_speed=1000000,
    )
    match = of.OFPMatch(oxm_fields=[of.OFBInPort(in_port=1), of.OFBEthType(eth_type=0x0800)])
    instructions = [
        of.OFPITApplyActions(actions=[of.OFPATOutput(port=2, max_len=0)]),
        of.OFPITGotoTable(table_id=1),
    ]
    msgs: list[tuple[int, Any]] = [
        (0, of.OFPTHello(xid=1, elements=[of.OFPHETVersionBitmap(bitmap=0x12)])),
        (1, of.OFPTHello(xid=2, elements=[of.OFPHETVersionBitmap(bitmap=0x10)])),
        (1, of.OFPTFeaturesRequest(xid=3)),
        (
            0,
            of.OFPTFeaturesReply(
                xid=3, datapath_id=0x26A2B46FD9BA, n_buffers=256, n_tables=254, capabilities=0x14F
            ),
        ),
        (1, of.OFPTSetConfig(xid=4, flags=2, miss_send_len=0xFFE5)),
        (1, of.OFPTGetConfigRequest(xid=5)),
        (0, of.OFPTGetConfigReply(xid=5, flags=1, miss_send_len=0xFFFF)),
        (1, of.OFPTRoleRequest(xid=6, role=2, generation_id=0x12E248A)),
        (0, of.OFPTRoleReply(xid=6, role=3, generation_id=7)),
        (
            1,
            of.OFPTSetAsync(
                xid=7,
                packet_in_mask_master=3,
                packet_in_mask_slave=2,
                port_status_mask_master=7,
                port_status_mask_slave=2,
                flow_removed_mask_master=0x17,
                flow_removed_mask_slave=0,
            ),
        ),
        (1, of.OFPTGetAsyncRequest(xid=8)),
        (0, of.OFPTGetAsyncReply(xid=8, packet_in_mask_master=1, port_status_mask_master=4)),
        (
            0,
            of.OFPTPacketIn(
                xid=0,
                buffer_id=256,
                total_len=len(frame),
                reason=0,
                table_id=0,
                match=match,
                data=frame,
            ),
        ),
        (
            1,
            of.OFPTFlowMod(
                xid=9,
                cookie=5,
                table_id=0,
                cmd=0,
                idle_timeout=10,
                hard_timeout=30,
                priority=100,
                buffer_id=256,
                out_port=0xFFFFFFFF,
                out_group=0xFFFFFFFF,
                flags=1,
                match=match,
                instructions=instructions,
            ),
        ),
        (
            1,
            of.OFPTPacketOut(
                xid=10,
                buffer_id=0xFFFFFFFF,
                in_port=1,
                actions=[of.OFPATOutput(port=2)],
                data=frame,
            ),
        ),
        (0, of.OFPTPortStatus(xid=0, reason=0, desc=port)),
        (0, of.OFPTPortStatus(xid=0, reason=2, desc=port)),
        (
            1,
            of.OFPTPortMod(
                xid=11,
                port_no=2,
                hw_addr="02:00:00:00:01:02",
                config=0x40,
                mask=0x41,
                advertise=0x80A,
            ),
        ),
        (1, of.OFPTTableMod(xid=12, table_id=0xFF, config=3)),
        (1, of.OFPTQueueGetConfigRequest(xid=13, port_no=0xFFFFFFFD)),
        (1, of.OFPMPRequestDesc(xid=14)),
        (0, of.OFPMPReplyDesc(xid=14, mfr_desc=b"tapwatch", dp_desc=b"s1")),
        (1, of.OFPMPRequestFlow(xid=15, table_id=0xFF, match=match)),
        (1, of.OFPTEchoRequest(xid=16) / b"ping"),
        (0, of.OFPTEchoReply(xid=16) / b"ping"),
        (1, of.OFPTEchoRequest(xid=17)),
        (1, of.OFPTBarrierRequest(xid=18)),
        (0, of.OFPTBarrierReply(xid=18)),
        (1, of.OFPTExperimenter(xid=19, experimenter=0x00D0F0DB, exp_type=0x65) / b"payload"),
        (1, of.OFPTExperimenter(xid=20, experimenter=0x4F4E4600, exp_type=1)),
        (0, of.OFPTExperimenter(xid=21, experimenter=0x12345678, exp_type=2)),
    ]
    for t, code in ((0, 0), (1, 6), (2, 4), (3, 1), (4, 8), (5, 7), (6, 8), (7, 4), (8, 2)):
        msgs.append((0, of.OFPETHelloFailed(xid=30 + t, errtype=t, errcode=code) / b"\x04\x00"))
    for t, code in ((9, 1), (10, 2), (11, 0), (12, 11), (13, 5), (0xFFFF, 3), (14, 0), (1, 99)):
        err = of.OFPETHelloFailed(xid=40, errtype=t, errcode=code)
        msgs.append((0, err / bytes(of.OFPTEchoRequest(xid=3))))
    # the wrong size for the type: tcpdump says (invalid) and goes on to the next message
    bad = [
        bytes(of.OFPTFeaturesReply(xid=50))[:-4],
        bytes(of.OFPTSetConfig(xid=51)) + b"\0\0",
        bytes(of.OFPTRoleRequest(xid=52))[:-8],
        bytes(of.OFPTPortStatus(xid=53, desc=port))[:-8],
        bytes(of.OFPTExperimenter(xid=54))[:-4],
        bytes(of.OFPETHelloFailed(xid=55))[:-2],
        bytes(of.OFPTHello(xid=56, elements=[of.OFPHETVersionBitmap(bitmap=0x10, len=12)])),
        bytes(of.OFPTHello(xid=57)) + b"\x00\x02\x00\x05\x00\x00\x00\x00",
        bytes(of.OFPTHello(xid=58)) + b"\x00\x01\x00\x0c" + b"\0" * 8,
    ]
    for b in bad:
        fixed = b[:2] + len(b).to_bytes(2, "big") + b[4:]
        msgs.append((0, Raw(fixed)))
    return msgs


def main(path: Path) -> None:
    s = Stream(("10.0.0.1", 45001), ("10.0.0.2", 6653))
    frames = [bytes(f) for f in s.handshake()]
    for side, msg in messages():
        frames.append(bytes(s.send(side, bytes(msg))))
    write(path, 1, frames, 1700000000)


if __name__ == "__main__":
    main(HERE / "openflow13.pcap")
