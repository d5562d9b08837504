"""How the command line speaks to its user: the two kinds of failure and the one-line message.

Every failure a user can cause ends as one line on stderr: :class:`UsageError`
(bad flags, exit status 2, reported as argparse reports its own) or any
:class:`~tapwatch.errors.TapwatchError` (exit status 1).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from tapwatch.errors import TapwatchError
from tapwatch.sanitize import printable

PROG = "tapwatch"


class UsageError(Exception):
    """Bad flags: reported like argparse does, exit status 2."""


class Failure(TapwatchError):
    """Anything else that stops tapwatch: one line on stderr, exit status 1."""


def say(message: str) -> None:
    """One line on stderr, as every message of tapwatch's: escaped, since file names,
    interface names and packet-derived text may hold anything (see tapwatch.sanitize)."""
    print(f"{PROG}: {printable(message)}", file=sys.stderr, flush=True)


def silence_stdout() -> None:
    """What is still buffered for a stdout that cannot take it goes nowhere (no second
    complaint from the interpreter at exit)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def quit_now(signum: int) -> None:
    """A second Ctrl-C (or SIGTERM) while winding down: leave at once, say what that costs."""
    with contextlib.suppress(OSError):
        os.write(
            2,
            f"\n{PROG}: {signal.Signals(signum).name} again: quitting now; the last "
            "half second of a capture file may be missing\n".encode(),
        )
    os._exit(128 + signum)
