"""The filter bar never makes the UI wait: checks run off the UI thread, bounded, newest first.

A pasted filter that libpcap's optimizer chews on for minutes must leave the
keys working, end with a clear message, and never be applied; a check that a
newer edit made stale is dropped; Enter before a check is through applies
the filter once it is (keys typed meanwhile go to the panes).
"""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from test_app import (
    SIZE,
    display_filter,
    filter_checked,
    filter_input,
    main,
    packet_list,
    settle,
    tun_records,
    ui,
)
from textual import events
from waiting import until

from tapwatch.app import TapwatchApp
from tapwatch.filtercheck import FilterJudge, FilterRequest
from tapwatch.widgets.filter_bar import FilterBar

#: 300 ``port`` terms: libpcap's optimizer takes minutes over them (tcpdump too)
SLOW_BPF = " or ".join(f"port {1000 + i}" for i in range(300))


@ui
async def test_a_pasted_filter_that_compiles_for_ever_leaves_the_keys_working() -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        total = packet_list(app).rows
        bar = main(app).query_one(FilterBar)
        await pilot.press("slash")
        flt = filter_input(app)
        flt.post_message(events.Paste(SLOW_BPF))
        await pilot.pause()
        assert flt.value == SLOW_BPF
        # libpcap works on it in the child process: a key is handled meanwhile
        await pilot.press("home")
        assert flt.cursor_position == 0
        assert bar.pending
        # given up, said, and Enter applies nothing
        await filter_checked(pilot, app)
        assert bar.error is not None and "gave up" in bar.error
        assert flt.has_class("-invalid")
        await pilot.press("enter")
        await settle(pilot, app)
        assert display_filter(app) == "" and packet_list(app).rows == total
        # a newer edit drops the check of the older text: the short one is read at once
        await pilot.press("end", "ctrl+u", *"icmp")
        await filter_checked(pilot, app)
        assert flt.has_class("-valid") and bar.error is None, (bar.error, flt.value, bar.pending)


@ui
async def test_enter_before_the_check_applies_once_it_is_through() -> None:
    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # typed and entered at once; the next key already moves in the list
        await pilot.press("slash", *"icmp", "enter", "home")
        assert packet_list(app).has_focus
        await filter_checked(pilot, app)
        await settle(pilot, app)
        assert display_filter(app) == "icmp"
        # an invalid one entered at once: refused, the input opens again with the error
        await pilot.press("slash", "ctrl+u", *"icmp and", "enter")
        await filter_checked(pilot, app)
        await until(  # the refusal reopens the input after the check's answer is handled
            pilot,
            lambda: filter_input(app).has_focus and filter_input(app).has_class("-invalid"),
            "the refused filter's input open again, marked invalid",
        )
        assert filter_input(app).value == "icmp and"  # every key typed after "/" reached it
        assert display_filter(app) == "icmp"


@ui
async def test_finding_by_a_filter_that_compiles_for_ever_gives_up_and_keys_work() -> None:
    from test_app import said

    app = TapwatchApp(tun_records(20))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        packets = packet_list(app)
        before = packets.cursor_seq
        await pilot.press("ctrl+f")
        app.screen.query_one("#find-kind-filter").value = True
        app.screen.query_one("#find-text").value = SLOW_BPF
        await pilot.press("enter")
        await pilot.press("home")  # handled while the child compiles
        assert packets.cursor_seq == packets.seq_at(0) != before
        await until(pilot, lambda: "gave up" in said(app))


def test_the_judge_gives_up_and_drops_stale_requests() -> None:
    import threading

    judge = FilterJudge(limit_s=0.5)
    try:
        assert judge.check(FilterRequest("tcp port 80", (1,))).ok
        bad = judge.check(FilterRequest("ip.src == nohost", (1,)))
        assert not bad.ok and bad.language == "wireshark" and bad.span == (10, 16)
        slow = judge.check(FilterRequest(SLOW_BPF, (1,)))
        assert slow.gave_up and "gave up" in slow.error
        # an older request still waiting is made stale by a newer one
        got = []
        older = threading.Thread(
            target=lambda: got.append(judge.check(FilterRequest(SLOW_BPF, (1,))))
        )
        older.start()
        while judge._ticket < 4:  # the older one has its ticket
            threading.Event().wait(0.01)
        assert judge.check(FilterRequest("udp", (1,))).ok
        older.join()
        assert got[0].stale
        assert not judge.check(FilterRequest("x" * 20000, (1,))).ok
    finally:
        judge.close()
