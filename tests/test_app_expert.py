"""The Expert and Transactions tools and the analysis in the tree, driven by Pilot.

A session holds one HTTP connection with a retransmitted request and a slow response, a
quick ping and a DNS query answered late; the tools must list them as tshark would flag
and pair them (the pairing itself is checked against tshark in test_tcp_analysis.py).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")
scapy_all = pytest.importorskip("scapy.all")

from test_app import INBOUND, OUTBOUND, T0, detail_tree, main, packet_list, settle, ui  # noqa: E402
from textual.widgets import Static  # noqa: E402
from waiting import until  # noqa: E402

from tapwatch.app import TapwatchApp  # noqa: E402
from tapwatch.linktypes import LINKTYPE_RAW  # noqa: E402
from tapwatch.session import Session  # noqa: E402
from tapwatch.sources import InterfaceInfo  # noqa: E402
from tapwatch.widgets.expert import ExpertScreen  # noqa: E402
from tapwatch.widgets.table import LineTable  # noqa: E402
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
        # SYN, SYN+ACK, the request, its retransmission, the response (see below)
        assert screen.seqs == [1, 2, 4, 5, 9]
        for _ in range(screen.seqs.index(5)):
            await pilot.press("down")
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
async def test_sort_by_info_orders_the_info_the_rows_show() -> None:
    """Sorted by Info, a retransmission sorts by the "[TCP Retransmission]" its row shows
    (after "Standard query response"), not by the decoder's "GET /slow" under it."""
    from tapwatch.analysis.sorting import SortColumn

    app = TapwatchApp(session())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        await until(pilot, lambda: main(app)._expert_words(5) == "[TCP Retransmission]")
        main(app).sort_by(SortColumn.INFO)
        await until(pilot, lambda: packets.sort == (SortColumn.INFO, False) and packets.sorted)
        cols = packets._cols
        assert cols is not None
        start, end = cols.spans[SortColumn.INFO]
        order = [packets.seq_at(i) for i in range(packets.rows)]
        shown = [
            "".join(seg.text for seg in packets._render_row(seq, cols, 0, None))[start:end]
            for seq in order
        ]
        assert shown == sorted(shown)
        assert order[-1] == 5 and shown[-1].startswith("[TCP Retransmission] ")


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


def _tshark_expert(records: list[tuple[int, int, bytes]], path: Path) -> Counter[tuple[str, ...]]:
    """``tshark -q -z expert`` on the records written as a raw-IP pcap: (severity, group,
    protocol, summary) -> how many."""
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for ts, _d, data in records:
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(data), len(data)) + data)
    r = subprocess.run(
        ["tshark", "-r", str(path), "-q", "-z", "expert"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    severities = {"Errors": "Error", "Warns": "Warning", "Notes": "Note", "Chats": "Chat"}
    out: Counter[tuple[str, ...]] = Counter()
    severity = None
    for line in r.stdout.splitlines():
        head = re.match(r"(\w+) \(\d+\)$", line)
        if head:
            severity = severities.get(head[1])
            continue
        row = re.match(r"\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$", line)
        if row and severity and row[1] != "Frequency":
            out[(severity, row[2], row[3], row[4])] += int(row[1])
    return out


@ui
@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
async def test_expert_lists_what_tshark_z_expert_lists(tmp_path: Path) -> None:
    """Every severity, Chat included: the connection's SYN and SYN+ACK, the HTTP request
    and response lines, the retransmission; same severity, group, protocol and summary."""
    sess = session()
    records = [(r.ts_ns, r.direction, r.data) for r in sess.ring.range(1, 11)]
    app = TapwatchApp(sess)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("X")
        screen = app.screen
        assert isinstance(screen, ExpertScreen)
        await until(pilot, lambda: bool(screen.seqs), "the tool's rows")
        rows = screen.query_one(LineTable).rows
        head = str(screen.query_one(".expert-head", Static).render())
    ours = Counter((sev, group, proto, summary) for _n, sev, group, proto, summary, _s in rows)
    assert ours == _tshark_expert(records, tmp_path / "web.pcap")
    assert ours[("Chat", "Sequence", "HTTP", "GET /slow HTTP/1.1\\r\\n")] == 1
    assert head.startswith("notes 1 · chats 4"), head
