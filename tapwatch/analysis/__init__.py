"""Computations the analyst's tools need, over the records held in the ring.

Conversations and endpoints, following a TCP or UDP stream, finding a
packet, sorting the list, time display formats, per-interface counters and
the frame layer of the protocol tree. Pure Python over ``Record``s: nothing
here imports textual or rich, so every tool can be tested (and benchmarked)
without a terminal, and the data flows one way, ring -> analysis -> UI.

Everything here is bounded and interruptible: long passes take a
``Progress`` that reports how far they got and can ask them to stop, so
the UI runs them in thread workers and never freezes on 500k packets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancelled(Exception):
    """A long pass was asked to stop (the user closed the tool or asked again)."""


class Progress:
    """How far a long pass is, and whether it should stop; shared with a worker thread.

    ``report`` is called every few thousand records with (done, total); it
    must be cheap and thread-safe (the UI passes one that stores the numbers
    for its next refresh, never one that posts a message per call).
    """

    __slots__ = ("_cancel", "done", "report", "total")

    def __init__(self, total: int = 0, report: Callable[[int, int], None] | None = None) -> None:
        self.total = total
        self.done = 0
        self.report = report
        self._cancel = threading.Event()

    def advance(self, n: int) -> None:
        """Count ``n`` more records; raises Cancelled when asked to stop."""
        self.done += n
        if self._cancel.is_set():
            raise Cancelled
        if self.report is not None:
            self.report(self.done, self.total)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0
