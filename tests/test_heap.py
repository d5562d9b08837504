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
