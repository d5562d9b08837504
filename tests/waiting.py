"""Waiting for a condition, never for a fixed time: the tests' one way to synchronise.

A busy machine makes everything slower, so the bounds are generous; they only decide
how long a test that is going to fail takes to say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: How long a condition may take to come true on a loaded 2-core machine.
TIMEOUT = 30.0


def wait_for(cond: Callable[[], object], timeout: float = TIMEOUT, every: float = 0.01) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` passes; its last answer, as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return bool(cond())


async def until(
    pilot: Any, cond: Callable[[], object], what: str = "the condition", timeout: float = TIMEOUT
) -> None:
    """Let a Textual app run until ``cond()`` is true; fail naming ``what`` if it never is."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(0.02)
