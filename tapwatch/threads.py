"""Worker threads never die in silence: what one raises is kept here, said, and counted.

tapwatch does its work in threads: capture readers, the file loader, the
session's pump, the replay, the tunnel, the demo's traffic, and the UI's
workers (dissecting, exporting, finding, sorting, following). A thread that
raises ends alone: the others go on, the UI keeps showing "loading 100%", the
interpreter prints a traceback into the terminal after the UI is gone, and the
exit status is 0. So every failure ends up here instead:

* threads with a job of their own catch what they can describe (a corrupt
  file, a device that vanished) and report it where it belongs (the source's
  error, the status bar);
* everything else - a bug, by definition - is :func:`report`-ed, either by the
  thread's own last-resort handler or by :func:`install`'s
  ``threading.excepthook`` for threads that have none, and by the UI for its
  workers;
* the UI shows each failure as it comes (an error notification), the command
  line prints each as one line when the run ends and exits non-zero.

Only the thread's name and the exception's one-line text are kept: a
traceback is for developers, and goes to stderr only with ``TAPWATCH_DEBUG``
set.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from dataclasses import dataclass
from types import TracebackType

#: What the thread names tapwatch gives mean, for messages.
_JOBS = {
    "tapwatch-file": "the file loader",
    "tapwatch-reader": "a capture reader",
    "tapwatch-pump": "the packet pump",
    "tapwatch-replay": "the replay",
    "tapwatch-tunnel": "the tunnel",
    "tapwatch-demo": "the demo traffic",
}


@dataclass(frozen=True)
class ThreadFailure:
    """One failed thread: what it was doing, and what it raised (one line)."""

    job: str
    error: str

    def __str__(self) -> str:
        return f"internal error in {self.job}: {self.error} (please report it)"


_lock = threading.Lock()
_failures: list[ThreadFailure] = []


def job_of(thread_name: str | None) -> str:
    """Words for a thread's job, from its name."""
    if not thread_name:
        return "a worker thread"
    return _JOBS.get(thread_name, f"the {thread_name} thread")


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (messages can hold newlines)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def report(job: str, exc: BaseException, tb: TracebackType | None = None) -> ThreadFailure:
    """Keep a thread's failure; the UI and the exit status hear of it."""
    failure = ThreadFailure(job, one_line(exc))
    with _lock:
        _failures.append(failure)
    if os.environ.get("TAPWATCH_DEBUG"):
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)
    return failure


def failures() -> list[ThreadFailure]:
    """Every failure reported so far, oldest first."""
    with _lock:
        return list(_failures)


def reset() -> None:
    """Forget what was reported (a new run in the same process)."""
    with _lock:
        _failures.clear()


def _hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else None
    report(job_of(name), args.exc_value, args.exc_traceback)


def install() -> None:
    """Every thread without a handler of its own reports here instead of printing a traceback."""
    threading.excepthook = _hook
