"""``-i any``: packets of links not adopted yet are held bounded, in count and in bytes,
and what the holding queue lets go is counted and said apart from the kernel's drops.

The reader's holding queue is driven directly (no socket: the object is made without
its ``__init__``), with records as the ring reader hands them over; one test runs
tapwatch -i any in a namespace with a link whose announcement never comes.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import pytest
from netns import Netns, needs_netns
from test_follow import _BORN_AND_SEND, _DEAF_TAPWATCH, lines, start, stop, tcpdump, wait_for

from tapwatch.capture import anylink
from tapwatch.capture.anylink import NewLinkReader


def _reader() -> NewLinkReader:
    r = object.__new__(NewLinkReader)
    r.skip, r.ignored, r.links, r.counts = set(), set(), {}, {}
    r.pending, r.pending_since = {}, {}
    r.pending_n = r.dropped = 0
    r.pending_bytes = 0
    r.hatypes, r.on_unnamed, r._asked = {}, None, set()
    r._lock = threading.Lock()
    return r


def test_a_flood_of_big_packets_for_unknown_links_is_held_within_bytes() -> None:
    r = _reader()
    big = bytes(65535)
    for ifindex in range(100, 140):  # links never adopted, 64 KB packets
        r._hand(ifindex, [(i, 0, big) for i in range(200)])
    held = sum(len(d) for recs in r.pending.values() for _ts, _dir, d in recs)
    assert held <= anylink.PENDING_BYTES and r.pending_n <= anylink.PENDING_MAX
    assert r.pending_bytes == held
    assert r.dropped == 40 * 200 - r.pending_n
    # a link that goes away lets its packets go, bytes and all
    r.forget(100)
    assert r.pending_bytes == sum(len(d) for recs in r.pending.values() for _t, _d, d in recs)
    assert r.pending_n == sum(len(v) for v in r.pending.values())


class _Ring:
    """The packet ring's overflow counter, as the reader asks it."""

    def __init__(self, drops: int) -> None:
        self._drops = drops

    def drops(self) -> int:
        return self._drops


def test_what_the_holding_queue_lets_go_is_counted_apart_from_the_kernels_drops() -> None:
    """The queue's losses (full, a link that went, one that waited and was never taken) are
    tapwatch's: ``held_drops``, never in ``kernel_drops`` (the packet ring's overflow)."""
    r = _reader()
    r.tpacket = _Ring(7)
    small = bytes(100)
    r._hand(5, [(i, 0, small) for i in range(anylink.PENDING_MAX + 30)])  # 30 too many
    assert (r.held_drops(), r.kernel_drops()) == (30, 7)
    r.forget(5)  # the link went before it was adopted: what it held is lost too
    assert (r.held_drops(), r.kernel_drops()) == (30 + anylink.PENDING_MAX, 7)
    r._hand(6, [(0, 0, small)] * 3)
    r.ignore(6)  # a link type tapwatch does not capture: let go as announced, no loss
    assert r.held_drops() == 30 + anylink.PENDING_MAX and r.pending_n == 0
    r._hand(8, [(0, 0, small)] * 2)  # waited PENDING_S and nobody took it
    r.pending_since[8] -= anylink.PENDING_S + 1
    r._expire()
    assert r.held_drops() == 32 + anylink.PENDING_MAX and r.kernel_drops() == 7


def test_the_exit_summary_says_the_holding_queues_losses_apart_from_the_kernels() -> None:
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo, RecordSource

    class Any(RecordSource):
        def kernel_drops(self) -> int | None:
            return 3

        def held_drops(self) -> int:
            return 41

    s = Session([Any(InterfaceInfo("eth0", "observe"))], ring=Ring())
    line = s.exit_line()
    assert "3 dropped by kernel" in line, line
    assert "41 dropped waiting for their link's announcement (-i any's holding queue)" in line
    assert s.status().held_dropped == 41 and s.status().kernel_dropped == 3
    quiet = Session([RecordSource(InterfaceInfo("eth0", "observe"))], ring=Ring())
    assert "announcement" not in quiet.exit_line()  # said only when something was let go


#: tapwatch with the nv* links' announcements lost, their packets held 1 s, and room for
#: 4 packets in the holding queue
_DEAF_SMALL_QUEUE = (
    "from tapwatch.capture import anylink as _a\n_a.PENDING_MAX = 4\n"
    + _DEAF_TAPWATCH.replace("anylink.PENDING_S = 0.5", "anylink.PENDING_S = 1.0")
)


@needs_netns
@pytest.mark.netns
def test_any_says_the_packets_its_holding_queue_dropped_apart_from_the_kernels(
    ns: Netns, tmp_path: Path
) -> None:
    """A namespace: a veth pair made after tapwatch -i any started, never announced to it,
    10 frames sent on it the moment it is up (20 packets: each end sees each). The queue
    holds 4; the rest are dropped by tapwatch, not by the kernel: the exit summary counts
    them apart and the notice says so, and what was kept plus what was dropped is what
    tcpdump -i any saw."""
    ns.run(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"])  # no ND/MLD of its own
    ours, theirs = tmp_path / "tw.txt", tmp_path / "td.txt"
    td = tcpdump(ns, theirs, [])
    tw = start(ns, [sys.executable, "-c", _DEAF_SMALL_QUEUE, "-i", "any", "-l", "-nn"], ours)
    try:
        ns.wait_capturing("lo")
        sent = ns.run([sys.executable, "-c", _BORN_AND_SEND, "10"])
        assert sent.returncode == 0, sent.stderr
        index = {
            dev: ns.run(["cat", f"/sys/class/net/{dev}/ifindex"]).stdout.strip()
            for dev in ("nva", "nvb")
        }
        wait_for(lambda: len(lines(theirs, "nva")) + len(lines(theirs, "nvb")) >= 20, "tcpdump")
        # the queue's 4 come out under the links' indexes once they waited
        wait_for(lambda: sum(len(lines(ours, f"if{i}")) for i in index.values()) >= 4, "kept")
    finally:
        _out, err = stop(tw)
        stop(td)
    assert tw.returncode == 0, err
    kept = sum(len(lines(ours, f"if{i}")) for i in index.values())
    seen = len(lines(theirs, "nva")) + len(lines(theirs, "nvb"))
    m = re.search(r"(\d+) dropped waiting for their link's announcement \(-i any's holding", err)
    assert m, err
    assert (kept, int(m.group(1))) == (4, seen - 4), err
    assert re.search(r"\b0 dropped by kernel", err), err
    assert "packets dropped while their link was not announced yet" in err, err
