"""The pump's sinks (the file, the lines, the peer, the tunnel) and the status snapshot.

The pump hands every record to the peer and the tunnel, before the capture
filter and -c, and the counted ones to the file and the lines; the status bar
reads one snapshot of all of it.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

from tapwatch import pcap
from tapwatch.filesource import FileSource
from tapwatch.filters import compile_packet_filter
from tapwatch.headless import LinePrinter
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.peer import Peer, PeerError
from tapwatch.ring import Ring
from tapwatch.session import Session
from tapwatch.sinks import FileSink, PrinterSink, Sink, TunnelSink
from tapwatch.sources import InterfaceInfo, RecordSource

T0 = 1_700_000_000_000_000_000
PING = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=7, seq=1) / (b"p" * 56))
DNS = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=4000, dport=53) / b"q")


class Taken(Sink):
    def __init__(self, every: bool) -> None:
        super().__init__()
        self.sees_every_record = every  # type: ignore[misc]
        self.seqs: list[int] = []

    def take(self, rec: object, linktype: int) -> None:
        self.seqs.append(rec.seq)  # type: ignore[attr-defined]


def tun_session(**kw: object) -> Session:
    info = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW, index=0)
    return Session([RecordSource(info)], **kw)  # type: ignore[arg-type]


def test_the_peer_sees_what_the_filter_hides_and_the_file_only_what_it_keeps() -> None:
    every, counted = Taken(every=True), Taken(every=False)
    s = tun_session(
        capture_filter=compile_packet_filter("udp", [LINKTYPE_RAW]),
        limit=2,
        sinks=[every, counted],
    )
    for i in range(4):
        s.feed(T0 + i, Direction.OUTBOUND, PING if i == 0 else DNS)
    s.pump()
    assert every.seqs == [1, 2, 3, 4]
    assert counted.seqs == [2, 3]  # the ping is filtered out, the fourth is past -c 2
    assert s.stop_reason == "2 packets captured"


def test_the_file_keeps_snaplen_bytes_and_each_packets_length(tmp_path: Path) -> None:
    path = tmp_path / "out.pcap"
    files = FileSink(pcap.open_writer(str(path), LINKTYPE_RAW), snaplen=40)
    s = tun_session(sinks=[files])
    s.feed(T0, Direction.OUTBOUND, PING)
    s.feed(T0 + 1, Direction.OUTBOUND, DNS)
    s.pump()
    s.close()
    with pcap.read_capture(str(path)) as cap:
        recs = list(cap)
    assert [(len(r.data), r.orig_len) for r in recs] == [(40, len(PING)), (len(DNS), len(DNS))]
    assert s.status().written == 2 and s.status().writing


def test_a_file_that_cannot_be_written_stops_writing_not_capture() -> None:
    class Full:
        count = 0

        def write(self, *a: object) -> None:
            raise OSError(28, "No space left on device")

        def flush(self) -> None: ...

        def close(self) -> None: ...

    s = tun_session(sinks=[FileSink(Full(), hold=0)])  # type: ignore[arg-type]
    s.feed(T0, Direction.OUTBOUND, PING)
    s.feed(T0 + 1, Direction.OUTBOUND, PING)
    s.pump()
    assert s.write_error is not None and "No space left" in s.write_error
    assert s.status().captured == 2 and not s.stop_requested.is_set()


def test_lines_whose_reader_went_away_end_capture() -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError

    info = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW)
    s = Session([RecordSource(info)], sinks=[PrinterSink(LinePrinter([info], Closed(), hold=0))])
    s.feed(T0, Direction.OUTBOUND, PING)
    s.pump()
    assert s.stop_reason == "output closed"


# ----- the peer ----------------------------------------------------------------------------


def test_the_peer_answers_only_what_the_host_sent_on_its_interface() -> None:
    written: list[bytes] = []
    peer = Peer(written.append, LINKTYPE_RAW, iface=1)
    peer.mode = "echo"
    tun = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW, index=0)
    tun1 = InterfaceInfo("tun1", "tun", linktype=LINKTYPE_RAW, index=1)
    s = Session([RecordSource(tun), RecordSource(tun1)], sinks=[peer])
    s.feed(T0, Direction.OUTBOUND, PING, iface=0)  # another interface
    s.feed(T0 + 1, Direction.INBOUND, PING, iface=1)  # what the host received
    s.feed(T0 + 2, Direction.OUTBOUND, DNS, iface=1)
    s.pump()
    assert written == [DNS] and peer.replies_sent == 1


def test_a_reply_that_cannot_be_written_is_said_in_the_status() -> None:
    def gone(frame: bytes) -> None:
        raise PeerError("writing to tap0 failed: No such device")

    responder_mac = "02:00:00:00:00:02"
    from ipaddress import ip_interface

    from tapwatch.peer import Responder, parse_mac

    responder = Responder(
        LINKTYPE_ETHERNET, [ip_interface("192.168.4.1/24")], None, parse_mac(responder_mac)
    )
    peer = Peer(gone, LINKTYPE_ETHERNET, responder=responder)
    peer.mode = "reply"
    info = InterfaceInfo("tap0", "tap", linktype=LINKTYPE_ETHERNET)
    s = Session([RecordSource(info)], sinks=[peer])
    who_has = Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(
        hwsrc="02:00:00:00:00:01", psrc="192.168.4.1", pdst="192.168.4.2"
    )
    s.feed(T0, Direction.OUTBOUND, bytes(who_has))
    s.pump()
    st = s.status()
    assert st.action_error == "writing to tap0 failed: No such device" and st.replies_sent == 0


def test_reply_mode_without_addresses_is_refused() -> None:
    peer = Peer(lambda frame: None, LINKTYPE_RAW)
    with pytest.raises(PeerError, match="reply mode needs the device's addresses"):
        peer.check("reply")
    peer.check("echo")


# ----- the tunnel --------------------------------------------------------------------------


def test_the_tunnel_carries_what_the_host_sent_and_starts_and_stops_with_the_session() -> None:
    class FakeTunnel:
        ident = None
        started = stopped = False

        def __init__(self) -> None:
            from tapwatch.tunnelwire import TunnelCounters

            self.sent: list[bytes] = []
            self.counters = TunnelCounters()  # the status bar reads its unrecorded count

        def send(self, frame: bytes) -> None:
            self.sent.append(frame)

        def start(self) -> None:
            self.started = True

        def stop(self) -> None:
            self.stopped = True

        def status_text(self) -> str:
            return "tunnel server :55555 listening"

        def summary_text(self) -> str:
            return "tunnel: 1 frame out"

    t = FakeTunnel()
    s = tun_session(sinks=[TunnelSink(t, 0)])  # type: ignore[arg-type]
    s.feed(T0, Direction.OUTBOUND, PING)
    s.feed(T0 + 1, Direction.INBOUND, DNS)  # from the far end: not sent back
    s.start()
    s.close()
    assert t.started and t.stopped and t.sent == [PING]
    assert s.tunnel is t and s.status().tunnel == "tunnel server :55555 listening"
    assert s.exit_line().endswith("; tunnel: 1 frame out")


# ----- the status snapshot -----------------------------------------------------------------


def test_a_file_still_loading_and_one_cut_short_are_in_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "ten.pcap"
    with pcap.open_writer(str(path), LINKTYPE_RAW) as w:
        for i in range(10):
            w.write(T0 + i, PING)
    ring, wake = Ring(4), threading.Event()  # holds 4 of the 10
    src = FileSource(pcap.read_capture(str(path)), "ten.pcap", ring, wake)
    s = Session([src], ring=ring, wake=wake)
    st = s.status()
    assert st.loading is not None and not st.loading.done and st.loading.loaded == 0
    assert st.device_state is None and st.peer == "file" and st.capture == "offline"
    src.shown.set()
    s.start()
    assert src.wait_loaded(10)
    s.close()
    load = s.status().loading
    assert load is not None and load.done and load.truncated_at == 4


def test_the_status_bar_draws_from_the_snapshot_alone() -> None:
    from dataclasses import replace

    from tapwatch.widgets.status import ViewState, render_status

    s = tun_session()
    st = replace(
        s.status(),
        interfaces=(("wg0", "observe"),),
        peer="observing",
        capture="stopped",
        stop_reason="wg0 is gone",
        kernel_dropped=7,
        kernel_drops_meaning="packet ring overflow",
        echo_warning=None,
    )
    text = render_status(st, ViewState()).plain
    assert "wg0 (observe)" in text and "read-only (observing)" in text
    assert "■ stopped (wg0 is gone)" in text
    assert "kernel drops 7" in text and "kernel drops = packet ring overflow" in text
