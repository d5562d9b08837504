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
