"""The heap is frozen a bounded number of times: when what is held grew by half."""

from __future__ import annotations

import gc

from tapwatch.heap import MIN_STEP, HeapFreezer


def test_freezes_only_on_growth_by_half() -> None:
    heap = HeapFreezer()
    try:
        assert not heap.grown(MIN_STEP - 1)
        assert heap.grown(MIN_STEP)
        assert not heap.grown(MIN_STEP + MIN_STEP // 4)  # a quarter more: not yet
        assert heap.grown(3 * MIN_STEP)
        frozen = sum(heap.grown(n) for n in range(3 * MIN_STEP, 100 * MIN_STEP, 997))
        assert frozen <= 10  # 1.5x steps from 30k to 1M: logarithmic
        assert gc.get_freeze_count() > 0
    finally:
        heap.thaw()
    assert heap.freezes == 0


def test_resting_collector_collects_young_garbage_only_at_rest() -> None:
    from tapwatch.heap import RestingCollector

    before = gc.get_threshold()
    rc = RestingCollector(hard=50_000)
    rc.start()
    try:
        assert gc.get_threshold()[0] == 50_000  # the automatic collector still bounds memory
        for _ in range(2000):  # cyclic garbage, past the usual threshold
            a: list[object] = []
            a.append(a)
        assert rc.tick(busy=True) is None  # the user is moving: not now
        assert rc.tick(busy=False) in (0, 1)
        assert gc.get_count()[0] < before[0]
    finally:
        rc.stop()
    assert gc.get_threshold() == before
