"""Sort the packet list by a column, the way an analyst expects each column to sort.

Numbers sort as numbers, addresses by their bytes (10.0.0.9 before
10.0.0.10, IPv4 before IPv6, MAC addresses after both), text by its text.
Sorting is stable: packets that tie keep their arrival order, in either
direction. Keys that need the one-line summary (addresses, protocol, info)
cost a decode per packet, so a sort over 500k packets runs in a worker with
progress; the list meanwhile stays in its old order.
"""

from __future__ import annotations

import heapq
import ipaddress
from array import array
from collections.abc import Callable, Sequence
from enum import Enum
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

from tapwatch.analysis import Progress

if TYPE_CHECKING:
    from tapwatch.decode import Summary
    from tapwatch.ring import Record, Ring

CHUNK = 4096
#: Keys sorted in one call at most. A sort of Python's holds the GIL from its first comparison
#: to its last (no Python code runs between them): 500k Info texts took 276-380 ms, a stall of
#: the UI thread; pieces of this size take a few ms each and are merged by Python code, which
#: lets the UI thread run every switch interval.
SORT_PIECE = 16384


class SortColumn(str, Enum):
    """A column of the packet list the rows can be sorted by."""

    NUMBER = "No."
    TIME = "Time"
    INTERFACE = "Interface"
    DIRECTION = "Dir"
    SOURCE = "Source"
    DESTINATION = "Destination"
    PROTOCOL = "Proto"
    LENGTH = "Len"
    INFO = "Info"


@lru_cache(maxsize=65536)
def address_key(text: str) -> tuple[int, bytes, str]:
    """IPv4 < IPv6 < anything else (MACs, names), each in its natural order."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return (2, b"", text)
    return (addr.version // 6, addr.packed, "")


def key_function(
    column: SortColumn,
    summary: Callable[[Record], Summary],
    ifnames: Sequence[str],
    shown_info: Callable[[Record, str], str] | None = None,
) -> Callable[[Record], object]:
    """The sort key of a record for ``column``; ``shown_info`` turns the decoder's Info into
    the one the row shows (the analysis's words with it), which Info then sorts by."""
    if column is SortColumn.NUMBER:
        return lambda r: r.seq
    if column is SortColumn.TIME:
        return lambda r: r.ts_ns
    if column is SortColumn.LENGTH:
        return lambda r: len(r.data)
    if column is SortColumn.DIRECTION:
        return lambda r: r.direction
    if column is SortColumn.INTERFACE:
        return lambda r: ifnames[r.iface] if r.iface < len(ifnames) else ""
    if column is SortColumn.SOURCE:
        return lambda r: address_key(summary(r).src)
    if column is SortColumn.DESTINATION:
        return lambda r: address_key(summary(r).dst)
    if column is SortColumn.PROTOCOL:
        return lambda r: summary(r).proto
    if shown_info is not None:
        shown = shown_info
        return lambda r: shown(r, summary(r).info)
    return lambda r: summary(r).info


def sort_rows(
    rows: Sequence[int],
    ring: Ring,
    key: Callable[[Record], object],
    *,
    descending: bool = False,
    progress: Progress | None = None,
) -> array[int]:
    """The seqs of ``rows`` (still held) ordered by ``key``; ties keep arrival order."""
    if progress is not None:
        progress.total = len(rows)
    keyed: list[tuple[object, int]] = []
    get = ring.get
    for i in range(0, len(rows), CHUNK):
        for seq in rows[i : i + CHUNK]:
            rec = get(seq)
            if rec is not None:
                keyed.append((key(rec), seq))
        if progress is not None:
            progress.advance(min(CHUNK, len(rows) - i))
    # sort on the key alone (stable), so equal keys keep the order they were listed in; in
    # pieces (SORT_PIECE), merged in order (heapq.merge takes equal keys from the earlier piece)
    first = itemgetter(0)
    pieces = [
        _sorted(keyed[i : i + SORT_PIECE], key=first, reverse=descending)
        for i in range(0, len(keyed), SORT_PIECE)
    ]
    merged = pieces[0] if len(pieces) == 1 else heapq.merge(*pieces, key=first, reverse=descending)
    return array("q", (seq for _, seq in merged))


#: The one sort call (a test counts what each is given).
_sorted = sorted


def positions(order: Sequence[int]) -> tuple[int, array[int]]:
    """(base, rows): ``rows[seq - base]`` is the row of ``seq`` in ``order``, -1 if absent."""
    if not order:
        return 0, array("i")
    base = min(order)
    rows = array("i", [-1]) * (max(order) - base + 1)
    for i, seq in enumerate(order):
        rows[seq - base] = i
    return base, rows
