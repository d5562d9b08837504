"""A short reordering window: what reaches the ring in arrival order goes out in time order.

Records reach the ring in the order they arrive, which is not quite the order
of their stamps: each interface's reader hands over its own batches (the
kernel's capture blocks come a little after their packets), and what tapwatch
writes into a device is stamped when written - so the inner packet a tunnel
end writes is in the ring before the outer packet that carried it, which the
packet socket stamped earlier. Lines and capture files are expected in time
order (capinfos' "Strict time order"), so both hold each record for
:data:`HOLD_S` and then let it go with everything stamped no later than it,
sorted by stamp.

The guarantee: among records that arrive within the window of each other,
time order; a record that arrives more than the window after records stamped
later than it went out comes out as soon as it may (late, never lost).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from typing import Generic, TypeVar

#: How long a record waits for records stamped before it.
HOLD_S = 0.05

T = TypeVar("T")


class Reorder(Generic[T]):
    """Holds items stamped ``ts_ns`` for ``hold`` seconds, then releases them in stamp order."""

    def __init__(self, hold: float = HOLD_S) -> None:
        self.hold = hold
        self._held: list[tuple[int, int, T]] = []  # (ts_ns, arrival order, item)
        self._since: list[float] = []  # when each held item arrived, same order (only grows)
        self._order = 0

    def __len__(self) -> int:
        return len(self._held)

    def add(self, ts_ns: int, item: T, now: float | None = None) -> None:
        self._held.append((ts_ns, self._order, item))
        self._order += 1
        self._since.append(time.monotonic() if now is None else now)

    def due(self, final: bool = False, now: float | None = None) -> list[T]:
        """What has waited long enough and everything stamped no later than it, in stamp
        order (``final``: everything held)."""
        held = self._held
        if not held:
            return []
        if final or self.hold <= 0:
            released = held
            self._held, self._since = [], []
        else:
            since = self._since
            cut = (time.monotonic() if now is None else now) - self.hold
            n = bisect_right(since, cut)
            if n == 0:
                return []
            newest = max(ts for ts, _, _ in held[:n])
            released = held[:n]
            keep: list[tuple[int, int, T]] = []
            keep_since: list[float] = []
            for item, t in zip(held[n:], since[n:], strict=True):
                if item[0] <= newest:
                    released.append(item)
                else:
                    keep.append(item)
                    keep_since.append(t)
            self._held, self._since = keep, keep_since
        released.sort(key=lambda x: (x[0], x[1]))
        return [item for _, _, item in released]
