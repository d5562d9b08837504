"""The list's filter pass yields the event loop once its time is spent, whatever one packet costs.

The pass runs on the event loop, FILTER_BUDGET_S at a time; the clock was read after each
chunk of FILTER_CHUNK (4096) records, so a filter that takes a millisecond a packet (a long
pattern, hundreds of terms) held the UI for seconds before the budget was looked at. A
clock of our own (each filter call advances it a millisecond): no timing in the test.
"""

from __future__ import annotations

from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo
from tapwatch.widgets import packet_rows
from tapwatch.widgets.packet_rows import FILTER_BUDGET_S, PacketRows

PKT = bytes.fromhex("4500001c00010000400100000a0000010a000002") + bytes(8)


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def perf_counter(self) -> float:
        return self.t


class _SlowFilter:
    """Matches every other record, a millisecond of the clock each."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.calls = 0

    def match(self, data: bytes, linktype: int) -> bool:
        self.calls += 1
        self.clock.t += 0.001
        return self.calls % 2 == 0


def test_the_filter_pass_looks_at_the_clock_after_each_packet(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = _Clock()
    monkeypatch.setattr(packet_rows.time, "perf_counter", clock.perf_counter)
    records = [(1_700_000_000_000_000_000 + i, Direction.OUTBOUND, PKT) for i in range(10_000)]
    session = Session.from_records(LINKTYPE_RAW, records, info=InterfaceInfo("tun1", "tun"))
    rows = PacketRows(session, file_mode=True)
    flt = _SlowFilter(clock)
    rows.set_filter(flt)  # type: ignore[arg-type]
    passes = 0
    while rows.scanning:
        before = flt.calls
        rows.catch_up(paused=False)
        passes += 1
        # a pass ends with the first packet past the budget
        assert flt.calls - before <= round(FILTER_BUDGET_S / 0.001) + 1
    assert flt.calls == 10_000  # every record looked at once, none twice or skipped
    assert rows.count == 5_000 and passes > 300
