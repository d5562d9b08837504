"""The ring keeps the newest packets within both bounds and counts every eviction."""

from __future__ import annotations

import threading
import time

import pytest

from tapwatch.kinds import Direction
from tapwatch.ring import Ring

#: the host's view, as tcpdump's: what it sent into the device, what it received
OUTBOUND = Direction.OUTBOUND
INBOUND = Direction.INBOUND


def test_numbers_records_monotonically_from_one() -> None:
    r = Ring(10, 10_000)
    seqs = [r.append(i, OUTBOUND, bytes([i])) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert len(r) == 5
    assert r.get(3) is not None and r.get(3).data == b"\x02"
    assert r.get(0) is None and r.get(6) is None


def test_evicts_oldest_by_count_and_counts_it() -> None:
    r = Ring(3, 10_000)
    for i in range(7):
        r.append(i, OUTBOUND, b"x")
    assert len(r) == 3 and r.evicted == 4
    assert [rec.seq for rec in r] == [5, 6, 7]
    assert r.get(4) is None


def test_evicts_oldest_by_bytes() -> None:
    r = Ring(100, 25)
    for i in range(5):
        r.append(i, OUTBOUND, bytes(10))
    assert r.nbytes <= 25 and len(r) == 2 and r.evicted == 3
    # a packet larger than the byte bound is still kept, alone: nothing is silently dropped
    r.append(9, INBOUND, bytes(100))
    assert len(r) == 1 and r.get(r.next_seq - 1).direction == INBOUND


def test_since_reports_what_a_slow_consumer_missed() -> None:
    r = Ring(4, 1000)
    for i in range(10):
        r.append(i, OUTBOUND, b"p")
    records, missed = r.since(1)
    assert missed == 6 and [x.seq for x in records] == [7, 8, 9, 10]
    records, missed = r.since(9)
    assert missed == 0 and [x.seq for x in records] == [9, 10]


def test_extend_matches_append() -> None:
    a, b = Ring(5, 1000), Ring(5, 1000)
    batch = [(i, i % 2, bytes([i]) * i) for i in range(1, 12)]
    for rec in batch:
        a.append(*rec)
    b.extend(batch)
    assert list(a) == list(b) and a.evicted == b.evicted and a.nbytes == b.nbytes


def test_clear_keeps_numbering() -> None:
    r = Ring(5, 1000)
    for i in range(3):
        r.append(i, OUTBOUND, b"a")
    r.clear()
    assert len(r) == 0 and r.cleared == 3 and r.evicted == 0 and r.nbytes == 0
    assert r.append(0, OUTBOUND, b"b") == 4


def test_concurrent_producers_lose_nothing() -> None:
    r = Ring(100_000, 10**9)

    def produce(d: int) -> None:
        for i in range(20_000):
            r.append(i, d, b"z")

    threads = [threading.Thread(target=produce, args=(d,)) for d in (OUTBOUND, INBOUND)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(r) == 40_000 and r.evicted == 0
    assert sum(1 for rec in r if rec.direction == INBOUND) == 20_000


def test_rejects_empty_bounds() -> None:
    with pytest.raises(ValueError):
        Ring(0, 10)


def test_a_written_frame_is_stored_before_what_its_write_made_the_host_send() -> None:
    """A reply's write can release packets at once (a neighbour advertisement lets the
    queued echo request go): those are stamped during the write and must come after it."""
    ring = Ring(max_packets=10)
    caused: list[threading.Thread] = []

    def write(frame: bytes) -> None:  # the kernel sends, a reader stores, during our write
        t = threading.Thread(
            target=lambda: ring.append(time.time_ns(), int(Direction.OUTBOUND), b"request")
        )
        t.start()
        caused.append(t)
        # a fixed time, the case under test: the reader has every chance to store during the
        # write; a correct ring keeps it waiting on its lock, so there is no event to wait for
        time.sleep(0.02)

    seq = ring.append_written(write, int(Direction.INBOUND), b"advert")
    caused[0].join()
    records = ring.range(1, 3)
    assert seq == 1 and [r.data for r in records] == [b"advert", b"request"]
    assert records[0].ts_ns <= records[1].ts_ns


def test_a_failed_write_stores_nothing() -> None:
    ring = Ring(max_packets=10)

    def write(frame: bytes) -> None:
        raise OSError(5, "Input/output error")

    with pytest.raises(OSError):
        ring.append_written(write, int(Direction.INBOUND), b"frame")
    assert len(ring) == 0 and ring.next_seq == 1
