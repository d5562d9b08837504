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

import operator
import time
from bisect import bisect_right
from typing import Generic, TypeVar

#: How long a record waits for records stamped before it.
HOLD_S = 0.05

T = TypeVar("T")


class Reorder(Generic[T]):
    """Holds items stamped ``ts_ns`` for ``hold`` seconds, then releases them in stamp order.

    Cheap when the items come in order (the usual case, per record on the pump's path):
    three appends to add one, slices to release them; sorting only when some came out
    of order.
    """

    def __init__(self, hold: float = HOLD_S) -> None:
        self.hold = hold
        self._items: list[T] = []
        self._stamps: list[int] = []
        self._since: list[float] = []  # when each held item arrived (only grows)
        self._sorted = True  # every held stamp is no earlier than the one before it

    def __len__(self) -> int:
        return len(self._items)

    def add(self, ts_ns: int, item: T, now: float | None = None) -> None:
        stamps = self._stamps
        if stamps and ts_ns < stamps[-1]:
            self._sorted = False
        stamps.append(ts_ns)
        self._items.append(item)
        self._since.append(time.monotonic() if now is None else now)

    def add_many(self, stamps: list[int], items: list[T], now: float | None = None) -> None:
        """Items that arrived together (one pump cycle's): the per-record path of a sink
        is then a list append, and this runs once per cycle."""
        if not items:
            return
        held = self._stamps
        if self._sorted and (
            (held and stamps[0] < held[-1]) or not all(map(operator.le, stamps, stamps[1:]))
        ):
            self._sorted = False
        held.extend(stamps)
        self._items.extend(items)
        self._since.extend([time.monotonic() if now is None else now] * len(items))

    def due(self, final: bool = False, now: float | None = None) -> list[T]:
        """What has waited long enough and everything stamped no later than it, in stamp
        order (``final``: everything held)."""
        items, stamps, since = self._items, self._stamps, self._since
        if not items:
            return []
        if final or self.hold <= 0:
            n = len(items)
        else:
            waited = bisect_right(since, (time.monotonic() if now is None else now) - self.hold)
            if waited == 0:
                return []
            if self._sorted:  # what waited, and what follows it stamped no later
                n = bisect_right(stamps, stamps[waited - 1], waited)
            else:
                return self._due_unsorted(waited)
        if self._sorted:
            released = items[:n]
        else:
            order = sorted(range(n), key=stamps.__getitem__)  # stable: arrival order on ties
            released = [items[i] for i in order]
        del items[:n], stamps[:n], since[:n]
        if not items:
            self._sorted = True
        return released

    def _due_unsorted(self, waited: int) -> list[T]:
        """``due`` when some stamps came out of order: the first ``waited`` items, and every
        later one stamped no later than the newest of them, sorted."""
        items, stamps, since = self._items, self._stamps, self._since
        newest = max(stamps[:waited])
        take = list(range(waited)) + [i for i in range(waited, len(items)) if stamps[i] <= newest]
        take.sort(key=stamps.__getitem__)  # stable: arrival order on equal stamps
        released = [items[i] for i in take]
        gone = set(take)
        keep = [i for i in range(len(items)) if i not in gone]
        self._items = [items[i] for i in keep]
        self._stamps = [stamps[i] for i in keep]
        self._since = [since[i] for i in keep]
        self._sorted = all(a <= b for a, b in zip(self._stamps, self._stamps[1:], strict=False))
        return released
