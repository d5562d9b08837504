"""The analyst's tools without a UI: conversations, streams, find, sort, time, frame layer."""

from __future__ import annotations

import time

import pytest

scapy_all = pytest.importorskip("scapy.all")

from tapwatch.analysis import Cancelled, Progress  # noqa: E402
from tapwatch.analysis.conversations import (  # noqa: E402
    TrafficIndex,
    conversation_table,
    endpoint_table,
)
from tapwatch.analysis.find import FindError, find, matcher, parse_hex, parse_query  # noqa: E402
from tapwatch.analysis.frame import FrameInfo, frame_node  # noqa: E402
from tapwatch.analysis.headers import transport  # noqa: E402
from tapwatch.analysis.interfaces import InterfaceTally  # noqa: E402
from tapwatch.analysis.sorting import SortColumn, key_function, sort_rows  # noqa: E402
from tapwatch.analysis.streams import follow, hex_lines, text_lines  # noqa: E402
from tapwatch.analysis.timefmt import TimeFormat, format_time  # noqa: E402
from tapwatch.decode import summarize  # noqa: E402
from tapwatch.kinds import DIRECTION_ARROWS, Direction  # noqa: E402
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW  # noqa: E402
from tapwatch.ring import Record, Ring  # noqa: E402

IP, IPv6, TCP, UDP = scapy_all.IP, scapy_all.IPv6, scapy_all.TCP, scapy_all.UDP
ICMP = scapy_all.ICMP
Ether, Dot1Q, Raw = scapy_all.Ether, scapy_all.Dot1Q, scapy_all.Raw
T0 = 1_700_000_000_000_000_000
C, S = "10.0.0.1", "10.0.0.2"


def seg(
    src: str, dst: str, sport: int, dport: int, seq: int, flags: str = "PA", data: bytes = b""
) -> bytes:
    return (
        bytes(
            IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, flags=flags) / Raw(data)
        )
        if data
        else bytes(IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, flags=flags))
    )


def ring_of(frames: list[bytes], iface: int = 0) -> Ring:
    ring = Ring(10_000)
    for i, f in enumerate(frames):
        ring.append(T0 + i * 1_000_000, Direction.OUTBOUND, f, iface)
    return ring


def followed(frames: list[bytes]):  # type: ignore[no-untyped-def]
    ring = ring_of(frames)
    index = TrafficIndex([LINKTYPE_RAW])
    index.update(ring)
    first = ring.get(1)
    assert first is not None
    conv = index.flow_of(first.data, LINKTYPE_RAW)
    assert conv is not None
    return follow(conv, map(ring.get, conv.seqs), [LINKTYPE_RAW])


def client_server(stream) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    parts: list[bytearray] = [bytearray(), bytearray()]
    for c in stream.chunks:
        parts[c.side] += c.data
    return bytes(parts[0]), bytes(parts[1])


# ----- headers ---------------------------------------------------------------------------


def test_transport_through_vlan_tags_and_ipv6() -> None:
    frame = bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / Dot1Q(vlan=7)
        / IP(src=C, dst=S)
        / UDP(sport=1234, dport=53)
        / Raw(b"abc")
    )
    t = transport(frame, LINKTYPE_ETHERNET)
    assert t is not None and (t.sport, t.dport) == (1234, 53)
    assert frame[t.start : t.end] == b"abc"
    v6 = bytes(
        IPv6(src="fd00::1", dst="fd00::2")
        / scapy_all.IPv6ExtHdrHopByHop()
        / TCP(sport=5, dport=6, seq=9)
        / Raw(b"xy")
    )
    t6 = transport(v6, LINKTYPE_RAW)
    assert t6 is not None and t6.version == 6 and (t6.sport, t6.dport, t6.seq) == (5, 6, 9)
    assert v6[t6.start : t6.end] == b"xy"


def test_transport_never_raises_on_garbage() -> None:
    import random

    rng = random.Random(3)
    base = seg(C, S, 1, 2, 3, data=b"hello")
    for _ in range(3000):
        data = bytearray(base[: rng.randrange(len(base) + 1)])
        for _ in range(rng.randrange(4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        for lt in (LINKTYPE_RAW, LINKTYPE_ETHERNET, 113, 276, 0, 228, 229):
            t = transport(bytes(data), lt)
            assert t is None or 0 <= t.start <= t.end <= len(data)


# ----- follow stream -------------------------------------------------------------------


def test_tcp_stream_in_order_with_handshake_both_ways() -> None:
    frames = [
        seg(C, S, 40000, 80, 100, "S"),
        seg(S, C, 80, 40000, 500, "SA"),
        seg(C, S, 40000, 80, 101, "A"),
        seg(C, S, 40000, 80, 101, data=b"GET / HTTP/1.1\r\n\r\n"),
        seg(S, C, 80, 40000, 501, data=b"HTTP/1.1 200 OK\r\n"),
        seg(S, C, 80, 40000, 518, data=b"\r\nbody"),
        seg(C, S, 40000, 80, 119, "FA"),
    ]
    st = followed(frames)
    assert (st.client, st.server) == ("10.0.0.1:40000", "10.0.0.2:80")
    client, server = client_server(st)
    assert client == b"GET / HTTP/1.1\r\n\r\n"
    assert server == b"HTTP/1.1 200 OK\r\n\r\nbody"
    assert [c.side for c in st.chunks] == [0, 1]  # consecutive data of one side is one chunk
    assert st.bytes_each_way == [18, 23] and st.gaps == 0
    assert "tcp" in st.filter_expr and "port 40000" in st.filter_expr


def test_tcp_retransmission_overlap_and_reordering() -> None:
    frames = [
        seg(C, S, 1, 2, 1000, data=b"AAAA"),
        seg(C, S, 1, 2, 1008, data=b"CCCC"),  # early: waits for 1004
        seg(C, S, 1, 2, 1000, data=b"AAAA"),  # retransmission: shown once
        seg(C, S, 1, 2, 1002, data=b"AABBBB"),  # overlaps two bytes already shown
        seg(C, S, 1, 2, 1012, data=b"DD"),
    ]
    client, _ = client_server(followed(frames))
    assert client == b"AAAABBBBCCCCDD"


def test_tcp_gap_is_named_not_glued() -> None:
    frames = [seg(C, S, 1, 2, 1, data=b"one"), seg(C, S, 1, 2, 14, data=b"two")]
    st = followed(frames)
    assert st.gaps == 10
    assert [bytes(c.data) for c in st.chunks] == [b"one", b"two"]
    assert st.chunks[1].gap == 10


def test_tcp_sequence_wraparound() -> None:
    top = 0xFFFFFFFE
    frames = [seg(C, S, 1, 2, top, data=b"ab"), seg(C, S, 1, 2, 0, data=b"cd")]
    client, _ = client_server(followed(frames))
    assert client == b"abcd"


@pytest.mark.parametrize("order", ["reversed", "shuffled", "early-first"])
def test_tcp_any_arrival_order_reassembles_across_the_wrap(order: str) -> None:
    """Early segments wait in order of position, whatever order they came in and however
    the sequence numbers wrap; overlapping resends of waiting bytes are shown once."""
    import random

    body = bytes(random.Random(5).randrange(256) for _ in range(3000))
    start = 0xFFFFFFFF - 1500  # the stream wraps halfway
    pieces = [(i, body[i : i + 30]) for i in range(0, len(body), 30)]
    first, rest = pieces[0], pieces[1:]
    if order == "reversed":
        rest.reverse()
    elif order == "shuffled":
        random.Random(7).shuffle(rest)
    else:
        rest = rest[20:] + rest[:20]
    rest += [(i + 10, body[i + 10 : i + 50]) for i, _ in pieces[5:40:7]]  # overlapping resends
    frames = [seg(C, S, 1, 2, (start + i) % (1 << 32), data=d) for i, d in [first, *rest]]
    st = followed(frames)
    client, _ = client_server(st)
    assert client == body and st.gaps == 0


def test_udp_stream_in_arrival_order_and_limit() -> None:
    def dgram(a: str, b: str, sp: int, dp: int, data: bytes) -> bytes:
        return bytes(IP(src=a, dst=b) / UDP(sport=sp, dport=dp) / Raw(data))

    frames = [
        dgram(C, S, 5000, 53, b"q1"),
        dgram(S, C, 53, 5000, b"r1"),
        dgram(C, S, 5000, 53, b"q2"),
    ]
    st = followed(frames)
    assert [(c.side, bytes(c.data)) for c in st.chunks] == [(0, b"q1"), (1, b"r1"), (0, b"q2")]
    ring = ring_of(frames)
    index = TrafficIndex([LINKTYPE_RAW])
    index.update(ring)
    conv = next(iter(index.flows.values()))
    small = follow(conv, map(ring.get, conv.seqs), [LINKTYPE_RAW], limit=3)
    assert small.truncated and sum(len(c.data) for c in small.chunks) == 3


def test_stream_text_is_display_safe() -> None:
    lines = list(text_lines(b"GET /\x1b]0;title\x07 HTTP/1.1\r\nHost: x\r\n\tend\x00"))
    assert lines[0] == "GET /.]0;title. HTTP/1.1"
    assert lines[1] == "Host: x"
    assert all("\x1b" not in ln and "\x07" not in ln for ln in lines)
    dump = list(hex_lines(b"\x1bABC"))
    assert dump[0].startswith("00000000  1b 41 42 43") and dump[0].endswith(".ABC")


# ----- conversations and endpoints -------------------------------------------------------


def test_conversations_pairs_flows_and_endpoints() -> None:
    frames = [
        seg(C, S, 40000, 80, 1, "S"),
        seg(S, C, 80, 40000, 9, "SA"),
        seg(C, S, 40000, 80, 2, data=b"x" * 100),
        bytes(IP(src=C, dst="10.0.0.3") / ICMP()),
        b"\x00\x01garbage",
    ]
    ring = ring_of(frames)
    index = TrafficIndex([LINKTYPE_RAW])
    index.update(ring)
    assert index.packets == 5 and index.not_ip == 1
    pair = index.pairs[(C.encode() and bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))]
    assert pair.packets == 3 and pair.packets_ab == 2 and pair.packets_ba == 1
    (flow,) = index.flows.values()
    assert flow.port_a == 40000 and list(flow.seqs) == [1, 2, 3]
    table = conversation_table(index.flows.values(), T0)
    assert table.cells[0][:5] == ("TCP", C, "40000", S, "80")
    pairs = conversation_table(index.pairs.values(), T0, sort="Packets")
    assert pairs.cells[0][1:4:2] == (C, S) and pairs.filters[0] == f"host {C} and host {S}"
    eps = endpoint_table(index.endpoints.values(), sort="Packets")
    assert eps.cells[0][0] == C and eps.filters[0] == f"host {C}"
    # incremental: only new records are looked at
    ring.append(T0 + 10**9, Direction.OUTBOUND, seg(C, S, 40000, 80, 102, data=b"y"))
    assert index.update(ring) == 1 and flow.packets == 4


def test_conversation_sorts_and_interim_tables() -> None:
    """Sorted by a key computed once per row (addresses: IPv4 before IPv6, by bytes, then
    port; ties keep their order either way); rows are formatted when read; a long
    catch-up yields the rows so far before the end."""
    from tapwatch.analysis.conversations import catch_up_showing

    frames = [
        seg("10.0.0.10", S, 5, 80, 1, data=b"a"),
        bytes(IPv6(src="fd00::1", dst="fd00::2") / TCP(sport=5, dport=80, seq=1) / Raw(b"a")),
        seg("10.0.0.9", S, 7, 80, 1, data=b"a"),
        seg("10.0.0.9", S, 6, 80, 1, data=b"a"),
    ]
    index = TrafficIndex([LINKTYPE_RAW])
    ring = ring_of(frames)
    steps = list(catch_up_showing(index, ring, 0.0))
    assert steps[-1] is True and index.packets == 4
    up = conversation_table(index.flows.values(), T0, sort="Address A", descending=False)
    assert [(r[1], r[2]) for r in up.cells[:]] == [
        ("10.0.0.9", "6"),
        ("10.0.0.9", "7"),
        ("10.0.0.10", "5"),
        ("fd00::1", "5"),
    ]
    same = conversation_table(index.flows.values(), T0, sort="Packets")  # all tie
    assert [r[2] for r in same.cells[:]] == ["5", "5", "7", "6"]  # arrival order
    assert len(same.filters) == 4 and same.filters[3].startswith("tcp and ")

    from tapwatch.analysis import conversations

    old = conversations.SLICE
    conversations.SLICE = 1
    try:
        fresh = TrafficIndex([LINKTYPE_RAW])
        steps = list(catch_up_showing(fresh, ring, 0.0))
    finally:
        conversations.SLICE = old
    assert steps == [False, False, False, True], steps


def test_conversation_filters_select_exactly_the_flow() -> None:
    from tapwatch.filters import compile_packet_filter

    frames = [
        seg(C, S, 40000, 80, 1, data=b"a"),
        seg(S, C, 80, 40000, 1, data=b"b"),
        seg(C, S, 40001, 80, 1, data=b"c"),
        seg(S, C, 40000, 80, 1, data=b"d"),
    ]
    ring = ring_of(frames)
    index = TrafficIndex([LINKTYPE_RAW])
    index.update(ring)
    flow = index.flow_of(frames[0], LINKTYPE_RAW)
    assert flow is not None
    flt = compile_packet_filter(flow.filter_expr(), [LINKTYPE_RAW])
    assert flt is not None
    assert [flt.match(f, LINKTYPE_RAW) for f in frames] == [True, True, False, False]


def test_index_restarts_after_a_clear_and_counts_evictions() -> None:
    ring = Ring(4)
    index = TrafficIndex([LINKTYPE_RAW])
    for i in range(3):
        ring.append(T0 + i, 2, seg(C, S, 1, 2, i, data=b"z"))
    index.update(ring)
    for i in range(6):
        ring.append(T0 + 10 + i, 2, seg(C, S, 1, 2, 10 + i, data=b"z"))
    index.update(ring)
    assert index.skipped == 2
    ring.clear()
    ring.append(T0 + 99, 2, seg(C, S, 1, 2, 99, data=b"z"))
    index.update(ring)
    assert index.packets == 1


def test_progress_can_cancel_a_long_pass() -> None:
    ring = ring_of([seg(C, S, 1, 2, 1, data=b"q")] * 10_000)  # one packet, 10k records
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        TrafficIndex([LINKTYPE_RAW]).update(ring, progress)


# ----- find --------------------------------------------------------------------------------


def test_find_text_hex_and_filter_forward_back_and_wrap() -> None:
    frames = [
        seg(C, S, 1, 80, 1, data=b"GET /index.html"),
        bytes(IP(src=C, dst=S) / ICMP()),
        seg(C, S, 1, 80, 20, data=b"\xde\xad\xbe\xef"),
    ]
    ring = ring_of(frames)
    rows = range(1, 4)
    lts = [LINKTYPE_RAW]

    def summary(seq: int, data: bytes, iface: int) -> str:
        return summarize(data, lts[iface]).text

    q = parse_query("text", "get /INDEX", lts)
    assert find(rows, -1, True, ring, matcher(q, lts, summary)) == (0, False)
    q = parse_query("hex", "de:ad be ef", lts)
    assert find(rows, 0, True, ring, matcher(q, lts, summary)) == (2, False)
    assert find(rows, 2, True, ring, matcher(q, lts, summary)) == (2, True)
    q = parse_query("filter", "icmp", lts)
    assert find(rows, 0, False, ring, matcher(q, lts, summary)) == (1, True)
    q = parse_query("text", "echo request", lts)  # in the summary, not the bytes
    assert find(rows, 0, True, ring, matcher(q, lts, summary)) == (1, False)
    assert (
        find(rows, 0, True, ring, matcher(parse_query("hex", "cafebabe01", lts), lts, summary))
        is None
    )
    assert parse_hex("0xDEAD") == b"\xde\xad"
    for bad in ("abc", "zz", ""):
        with pytest.raises(FindError):
            parse_hex(bad)
    with pytest.raises(FindError):
        parse_query("filter", "icmp and", lts)
    # Wireshark's language too, as the filter bar reads it
    q = parse_query("filter", 'tcp.payload contains "GET" || frame.number == 3', lts)
    assert find(rows, 0, True, ring, matcher(q, lts, summary)) == (2, False)
    assert find(rows, 2, True, ring, matcher(q, lts, summary)) == (0, True)
    with pytest.raises(FindError, match="column 11"):
        parse_query("filter", "ip.src == nohost", lts)
    # the packet's direction reaches the filter, as in the filter bar (the ring's packets
    # here all went out)
    q = parse_query("filter", "frame.p2p_dir == 0 && icmp", lts)
    assert find(rows, -1, True, ring, matcher(q, lts, summary)) == (1, False)


# ----- sorting -----------------------------------------------------------------------------


def test_sort_by_address_length_and_back_is_stable() -> None:
    frames = [bytes(IP(src=a, dst=S) / ICMP()) for a in ("10.0.0.10", "10.0.0.9", "10.0.0.10")]
    frames.append(bytes(IPv6(src="fd00::1", dst="fd00::2") / UDP()))
    ring = ring_of(frames)

    def summary(rec: Record):  # type: ignore[no-untyped-def]
        return summarize(rec.data, LINKTYPE_RAW)

    key = key_function(SortColumn.SOURCE, summary, ["tun0"])
    assert list(sort_rows(range(1, 5), ring, key)) == [2, 1, 3, 4]
    assert list(sort_rows(range(1, 5), ring, key, descending=True)) == [4, 1, 3, 2]
    length = key_function(SortColumn.LENGTH, summary, ["tun0"])
    assert list(sort_rows(range(1, 5), ring, length)) == [1, 2, 3, 4]  # ties keep order


def test_a_long_sort_is_sorted_in_pieces_merged_stably(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sort by Info runs in a worker, but one sort call holds the GIL to its end (500k Info
    texts: 276-380 ms without the UI thread): no call is given more than SORT_PIECE keys, and
    the pieces merged give one stable sort's order, either way."""
    from tapwatch.analysis import sorting

    sizes: list[int] = []

    def counted(items, **kw):  # type: ignore[no-untyped-def]
        sizes.append(len(items))
        return sorted(items, **kw)

    monkeypatch.setattr(sorting, "SORT_PIECE", 7, raising=False)
    monkeypatch.setattr(sorting, "_sorted", counted, raising=False)
    frames = [bytes(IP(src=S, dst=S, id=i % 5) / ICMP()) for i in range(40)]
    ring = ring_of(frames)
    key = lambda rec: rec.data[4:6]  # noqa: E731 -- ties in every piece
    rows = range(1, 41)
    for descending in (False, True):
        want = sorted(rows, key=lambda seq: frames[seq - 1][4:6], reverse=descending)
        assert list(sort_rows(rows, ring, key, descending=descending)) == want
    assert sizes and max(sizes) <= 7
    assert list(sort_rows(range(0), ring, key)) == []


# ----- time and the frame layer ------------------------------------------------------------


def test_time_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        ts = T0 + 1_500_000
        assert format_time(TimeFormat.RELATIVE, ts, T0, None) == "0.001500"
        assert format_time(TimeFormat.DELTA, ts, T0, T0 + 500_000) == "0.001000"
        assert format_time(TimeFormat.EPOCH, ts, T0, None) == "1700000000.001500"
        assert format_time(TimeFormat.ABSOLUTE, ts, T0, None) == "22:13:20.001500"
        assert format_time(TimeFormat.DATE, ts, T0, None) == "2023-11-14 22:13:20.001500"
        assert TimeFormat.EPOCH.next() is TimeFormat.RELATIVE
    finally:
        monkeypatch.undo()
        time.tzset()


def test_frame_layer_names_interface_direction_and_sanitizes() -> None:
    rec = Record(7, T0 + 2_000_000_000, Direction.INBOUND, b"\x45" + bytes(40), 1)
    info = FrameInfo(
        "eth\x1b]0;x\x07",
        "observe",
        LINKTYPE_ETHERNET,
        T0,
        T0,
        TimeFormat.RELATIVE,
        wire_length=100,
        comment="hi\r\x1b[2K",
    )
    node = frame_node(rec, info)
    assert node.label.startswith("Frame 7: 100 bytes on wire (800 bits), 41 bytes captured")
    text = "\n".join([node.label] + [c.label for c in node.children])
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "Direction: inbound: the host received it from eth^[]0;x^G" in text
    assert "Arrival time: 2.000000" in text and "Comment: hi^M^[[2K" in text
    arrows = [DIRECTION_ARROWS[d] for d in (Direction.OUTBOUND, Direction.INBOUND, 0)]
    assert arrows == ["host→", "→host", ""]


def test_interface_tally_counts_per_interface() -> None:
    ring = Ring(100)
    for i in range(10):
        ring.append(T0 + i, 2, b"x" * (i + 1), i % 2)
    tally = InterfaceTally(2)
    assert tally.update(ring, budget=4) is False
    assert tally.update(ring) is True
    assert [c.packets for c in tally.counts] == [5, 5]
    assert [c.bytes for c in tally.counts] == [25, 30]
