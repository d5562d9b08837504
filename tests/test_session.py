"""The session: several interfaces, every loss counted, arrivals measured, lines in time order."""

from __future__ import annotations

import io
import threading
import time

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from waiting import wait_for

from tapwatch.headless import LinePrinter
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.ring import Ring
from tapwatch.session import Session
from tapwatch.sinks import PrinterSink
from tapwatch.sources import InterfaceInfo, RecordSource

T0 = 1_700_000_000_000_000_000
PING = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=7, seq=1))
FRAME = bytes(
    Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    / IP(src="10.200.0.2", dst="10.200.0.1")
    / UDP(sport=40000, dport=55555)
    / b"x"
)


def two_interfaces(**kw: object) -> Session:
    tun = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW, index=0)
    veth = InterfaceInfo(
        "veth0",
        "observe",
        linktype=LINKTYPE_ETHERNET,
        index=1,
        read_only_reason="observer mode is read-only",
    )
    return Session([RecordSource(tun), RecordSource(veth)], **kw)  # type: ignore[arg-type]


def test_each_record_is_decoded_with_its_own_interface_link_type() -> None:
    s = two_interfaces()
    s.feed(T0, Direction.OUTBOUND, PING, iface=0)
    s.feed(T0 + 1, Direction.OUTBOUND, FRAME, iface=1)
    s.pump()
    first, second = s.ring.range(1, 3)
    assert s.summary(first).text.startswith("IP 10.0.0.1 > 10.0.0.2: ICMP echo request")
    assert s.summary(second).text.startswith("IP 10.200.0.2.40000 > 10.200.0.1.55555: UDP")
    assert s.multi_interface and [i.name for i in s.interfaces] == ["tun0", "veth0"]


def test_capture_filter_means_the_same_on_both_link_types() -> None:
    from tapwatch.filters import compile_packet_filter

    s = two_interfaces(
        capture_filter=compile_packet_filter("udp", [LINKTYPE_RAW, LINKTYPE_ETHERNET])
    )
    s.feed(T0, Direction.OUTBOUND, PING, iface=0)
    s.feed(T0 + 1, Direction.OUTBOUND, FRAME, iface=1)
    s.pump()
    assert s.matched == 1 and s.processed == 2


def test_interfaces_must_be_numbered_in_order() -> None:
    import pytest

    a = InterfaceInfo("a", "tun", index=0)
    b = InterfaceInfo("b", "tun", index=5)
    with pytest.raises(ValueError, match="numbered"):
        Session([RecordSource(a), RecordSource(b)])


def test_every_record_is_processed_or_counted_missed_under_a_producer_thread() -> None:
    """What arrived = what the pump processed + what the ring evicted before it got there."""
    ring = Ring(64)
    s = Session([RecordSource(InterfaceInfo("tun0", "tun"))], ring=ring)
    stop = threading.Event()
    produced = [0]

    def produce() -> None:
        batch = [(T0 + i, int(Direction.OUTBOUND), PING) for i in range(50)]
        while not stop.is_set():
            ring.extend(batch)
            produced[0] += len(batch)

    t = threading.Thread(target=produce)
    t.start()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        s.pump()
    stop.set()
    t.join()
    s.pump()
    assert produced[0] > 10_000
    assert s.processed + s.missed == produced[0] == ring.next_seq - 1
    assert s.missed > 0  # the ring is tiny: the pump cannot have seen everything


def test_rate_counts_arrivals_even_when_the_pump_lags() -> None:
    """The rate is what arrives per second, not what the pump got through (it was 0/s)."""

    class Live(RecordSource):
        @property
        def live(self) -> bool:
            return True

    s = Session([Live(InterfaceInfo("tun0", "tun"))])
    s.arrival_rate()
    s.ring.extend([(T0, int(Direction.OUTBOUND), PING)] * 30_000)  # nobody pumps
    # the rate is measured once its window (about a second) has passed: ask until it is
    rates: list[float] = []
    assert wait_for(lambda: rates.append(s.status().pps) or rates[-1] > 0)
    assert rates[-1] > 10_000 and s.processed == 0


def test_lines_come_out_in_time_order_across_interfaces() -> None:
    out = io.StringIO()
    ifaces = [
        InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW, index=0),
        InterfaceInfo("veth0", "observe", linktype=LINKTYPE_ETHERNET, index=1),
    ]
    printer = LinePrinter(ifaces, out, hold=0.05)
    s = Session(
        [RecordSource(ifaces[0]), RecordSource(ifaces[1])],
        sinks=[PrinterSink(printer)],
    )
    # the veth reader hands over its batch after the tun's, though its packet came first
    s.feed(T0 + 2_000_000, Direction.OUTBOUND, PING, iface=0)
    s.feed(T0 + 1_000_000, Direction.OUTBOUND, FRAME, iface=1)
    s.pump()
    assert out.getvalue() == ""  # held for packets stamped earlier
    assert wait_for(lambda: s.pump() or out.getvalue())  # until the hold has passed
    lines = out.getvalue().splitlines()
    assert [ln.split()[1] for ln in lines] == ["veth0", "tun0"]
    assert lines[0].split()[2] == "Out" and " veth0 Out IP 10.200.0.2.40000 > " in lines[0]


def test_printer_says_why_output_ended_and_the_session_stops() -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError

    info = InterfaceInfo("tun0", "tun")
    printer = LinePrinter([info], Closed(), hold=0)
    s = Session([RecordSource(info)], sinks=[PrinterSink(printer)])
    s.feed(T0, Direction.OUTBOUND, PING)
    s.pump()
    assert s.stop_requested.is_set() and s.stop_reason == "output closed"


def test_the_exit_summary_counts_what_came_before_a_clear() -> None:
    """The UI's clear forgets what is held and restarts the counters; capture went on, and
    the exit line still tells everything captured."""
    info = InterfaceInfo("tun0", "tun")
    s = Session([RecordSource(info)])
    for i in range(3):
        s.feed(T0 + i, Direction.OUTBOUND, PING)
    s.pump()
    s.clear()
    for i in range(2):
        s.feed(T0 + 10 + i, Direction.OUTBOUND, PING)
    s.pump()
    assert s.status().captured == 2 and len(s.ring) == 2
    assert s.exit_line().startswith("5 packets captured, ")
