"""The Expert and Transactions tools and the analysis in the tree, driven by Pilot.

A session holds one HTTP connection with a retransmitted request and a slow response, a
quick ping and a DNS query answered late; the tools must list them as tshark would flag
and pair them (the pairing itself is checked against tshark in test_tcp_analysis.py).
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("textual")
scapy_all = pytest.importorskip("scapy.all")

from test_app import INBOUND, OUTBOUND, T0, detail_tree, main, packet_list, settle, ui  # noqa: E402
from waiting import until  # noqa: E402

from tapwatch.app import TapwatchApp  # noqa: E402
from tapwatch.linktypes import LINKTYPE_RAW  # noqa: E402
from tapwatch.session import Session  # noqa: E402
from tapwatch.sources import InterfaceInfo  # noqa: E402
from tapwatch.widgets.expert import ExpertScreen  # noqa: E402
from tapwatch.widgets.transactions import TransactionsScreen  # noqa: E402

IP, TCP, UDP, ICMP, Raw = (
    scapy_all.IP,
    scapy_all.TCP,
    scapy_all.UDP,
    scapy_all.ICMP,
    scapy_all.Raw,
)
DNS, DNSQR = scapy_all.DNS, scapy_all.DNSQR
C, S = "10.0.0.1", "10.0.0.2"
SIZE = (140, 40)


def _seg(
    src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: str, data: bytes = b""
) -> bytes:
    p = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags)
    return bytes(p / Raw(data)) if data else bytes(p)


def session() -> Session:
    get = b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    frames: list[tuple[int, int, bytes]] = [
        (0, OUTBOUND, _seg(C, S, 40000, 80, 100, 0, "S")),  # 1
        (1, INBOUND, _seg(S, C, 80, 40000, 500, 101, "SA")),  # 2
        (2, OUTBOUND, _seg(C, S, 40000, 80, 101, 501, "A")),  # 3
        (3, OUTBOUND, _seg(C, S, 40000, 80, 101, 501, "PA", get)),  # 4
        (300, OUTBOUND, _seg(C, S, 40000, 80, 101, 501, "PA", get)),  # 5: retransmission
        (301, OUTBOUND, bytes(IP(src=C, dst=S) / ICMP(type=8, id=1, seq=1) / b"ping")),  # 6
        (302, INBOUND, bytes(IP(src=S, dst=C) / ICMP(type=0, id=1, seq=1) / b"ping")),  # 7
        (
            303,
            OUTBOUND,
            bytes(
                IP(src=C, dst=S)
                / UDP(sport=5000, dport=53)
                / DNS(id=9, qd=DNSQR(qname="a.example"))
            ),
        ),  # 8
        (2500, INBOUND, _seg(S, C, 80, 40000, 501, 132, "PA", ok)),  # 9: 2.5 s after the request
        (
            2600,
            INBOUND,
            bytes(
                IP(src=S, dst=C)
                / UDP(sport=53, dport=5000)
                / DNS(id=9, qr=1, qd=DNSQR(qname="a.example"))
            ),
        ),  # 10
    ]
    info = InterfaceInfo(
        "web.pcap", "file", read_only_reason="this is a capture file, not a device"
    )
    records = [(T0 + ms * 1_000_000, d, f) for ms, d, f in frames]
    return Session.from_records(LINKTYPE_RAW, records, info=info)


def _labels(node: Any) -> list[str]:
    out = []
    for child in node.children:
        out.append(str(child.label))
        out.extend(_labels(child))
    return out


@ui
async def test_expert_counts_flags_and_enter_goes_to_the_packet() -> None:
    app = TapwatchApp(session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("X")
        screen = app.screen
        assert isinstance(screen, ExpertScreen)
        await until(pilot, lambda: bool(screen.seqs), "the tool's rows")
        assert screen.seqs == [5]
        await pilot.press("enter")
        await settle(pilot, app)
        assert not isinstance(app.screen, ExpertScreen)
        rec = packet_list(app).selected_record()
        assert rec is not None and rec.seq == 5
        labels = _labels(detail_tree(app).root)
        assert "[SEQ/ACK analysis]" in labels
        assert any("This frame is a (suspected) retransmission" in s for s in labels)
        assert "[Stream index: 0]" in labels
        # and the list says so, as Wireshark's Info column does
        assert main(app)._expert_words(5) == "[TCP Retransmission]"
        strip = packet_list(app)._render_row(5, packet_list(app)._cols, 0, None)
        assert "[TCP Retransmission] " in "".join(seg.text for seg in strip)


@ui
async def test_transactions_slowest_first_and_the_tree_pairs_them() -> None:
    app = TapwatchApp(session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("R")
        screen = app.screen
        assert isinstance(screen, TransactionsScreen)
        await until(pilot, lambda: bool(screen.seqs), "the tool's rows")
        # slowest first: HTTP 2497 ms (from frame 4: the retransmission adds no bytes), DNS
        # 2297 ms, ping 1 ms
        assert screen.seqs == [9, 10, 7]
        await pilot.press("enter")
        await settle(pilot, app)
        rec = packet_list(app).selected_record()
        assert rec is not None and rec.seq == 9
        labels = _labels(detail_tree(app).root)
        assert "[Request in frame: 4]" in labels
        assert "[Time since request: 2.497000000 seconds]" in labels
        # the request points at its response
        assert packet_list(app).go_to_seq(4)
        await settle(pilot, app)
        assert "[Response in frame: 9]" in _labels(detail_tree(app).root)
        assert main(app).shared_expert.index.caught_up_to == 10
