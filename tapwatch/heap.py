"""Keep Python's full garbage collections short: move what is long-lived out of their way.

A full (generation 2) collection walks every tracked object the process holds:
scapy's and textual's modules, the decoders' tables, the indexes built over a
capture. With a 50k-packet file open that walk took 280-360 ms, and it came
every few seconds while the cursor moved (each tree shown leaves cyclic
garbage), freezing the screen mid-key. ``gc.freeze()`` moves every object
alive at that moment to a generation the collector never walks; objects that
die later are still freed by reference counting.

Frozen is forever, so it is done a bounded number of times: when the held
packets have grown by half since the last time (a logarithmic number of times
however long the capture) and once the dissector's modules are loaded. The
young generations are collected first, so only garbage already old at that
moment (small: what survived two collections and died since the last full
one) is kept for good.
"""

from __future__ import annotations

import gc

GROWTH = 1.5  # the held packets grew by this factor since the last freeze
MIN_STEP = 10_000  # ... and by at least this many records


class HeapFreezer:
    """Decides when to freeze the heap; ``freeze`` does it."""

    def __init__(self) -> None:
        self.frozen_at = 0  # the record count at the last freeze
        self.freezes = 0

    def grown(self, records: int) -> bool:
        """Freeze if ``records`` (packets seen so far) grew enough since the last freeze."""
        last = self.frozen_at
        if records - last >= MIN_STEP and records >= last * GROWTH:
            self.frozen_at = records
            self.freeze()
            return True
        return False

    def freeze(self) -> None:
        gc.collect(1)
        gc.freeze()
        self.freezes += 1

    def thaw(self) -> None:
        """Hand what was frozen back to the collector (the UI ends; the process may go on,
        as a test run's does)."""
        if self.freezes:
            gc.unfreeze()
            self.freezes = 0


class RestingCollector:
    """Young-generation collections when the UI is at rest, not in the middle of a key.

    Python collects when allocations pass a threshold (700), wherever that happens: a
    cursor move allocates a few thousand objects (strips, segments, tree nodes) and so met
    a collection most times, 1-12 ms each on this machine, more when one reached the older
    generations. While the UI runs, the automatic threshold is raised to ``hard`` (it still
    bounds memory, whatever the UI does) and the screen's tick (20 Hz) runs the usual
    young generations' schedule at 700, skipping it while the user is moving.
    """

    def __init__(self, hard: int = 100_000) -> None:
        self.hard = hard
        self.thresholds = gc.get_threshold()
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.thresholds = gc.get_threshold()
            t0, t1, t2 = self.thresholds
            gc.set_threshold(max(self.hard, t0), t1, t2)

    def stop(self) -> None:
        if self._started:
            self._started = False
            gc.set_threshold(*self.thresholds)

    def tick(self, busy: bool) -> int | None:
        """Collect the generation the automatic collector would have; returns it (None: none)."""
        if not self._started or busy or not gc.isenabled():
            return None
        c0, c1, _c2 = gc.get_count()
        t0, t1, _t2 = self.thresholds
        if c0 < max(t0, 1):
            return None
        # never the oldest generation from here: a forced full collection skips Python's
        # rule that waits until a quarter of the old objects are new (the automatic
        # collections, every ``hard`` allocations, still apply it)
        gen = 1 if c1 >= t1 else 0
        gc.collect(gen)
        return gen
