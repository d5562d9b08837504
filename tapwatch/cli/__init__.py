"""Command line: parse flags, validate them into typed options, run, report.

Every failure a user can cause (flags, addresses, privileges, devices, files)
ends as one line on stderr and a non-zero exit status, never a traceback, and
never before what was captured has been written out. The modules raise
:class:`~tapwatch.errors.TapwatchError` subclasses with whole-sentence
messages; :func:`main` prints them once. Heavy imports (scapy, textual,
pyroute2) happen only on the paths that need them, so ``--help`` stays fast.

The parts: :mod:`~tapwatch.cli.parser` (the flags, by area),
:mod:`~tapwatch.cli.validation` (flags to the typed options of
:mod:`~tapwatch.cli.options`, by area), :mod:`~tapwatch.cli.offline` (``-r``),
:mod:`~tapwatch.cli.live` (devices and observed interfaces).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from tapwatch.cli.messages import PROG, Failure, UsageError, say
from tapwatch.errors import TapwatchError

if TYPE_CHECKING:
    from tapwatch.cli.live import open_live_session
    from tapwatch.cli.options import RunOptions
    from tapwatch.cli.parser import build_parser
    from tapwatch.cli.validation import validate

#: The rest of the package loads once main() runs, inside its handling of Ctrl-C: a signal
#: that arrives while Python is still importing is then one line too, not a traceback.
_LAZY = {
    "open_live_session": "tapwatch.cli.live",
    "RunOptions": "tapwatch.cli.options",
    "build_parser": "tapwatch.cli.parser",
    "validate": "tapwatch.cli.validation",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "PROG",
    "Failure",
    "RunOptions",
    "UsageError",
    "build_parser",
    "main",
    "open_live_session",
    "run",
    "validate",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    try:
        from tapwatch.cli.parser import build_parser
        from tapwatch.cli.validation import validate

        opts = validate(build_parser().parse_args(argv))
    except UsageError as e:
        say(f"{e} (see tapwatch --help)")
        return 2
    except TapwatchError as e:
        say(f"{e}")
        return 1
    except KeyboardInterrupt:  # Ctrl-C while the options are checked (imports take a moment)
        say("interrupted before capture started")
        return 130
    # until capture runs, a signal interrupts set-up like Ctrl-C does; what was made is undone
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        return run(opts)
    except TapwatchError as e:
        say(f"{e}")
        return 1
    except KeyboardInterrupt:
        say("interrupted before capture started")
        return 130


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(opts: RunOptions) -> int:
    """Run what ``opts`` asks until it ends; returns the exit status."""
    from tapwatch import threads
    from tapwatch.pcap.files import start_run

    # which files are read (no output may be one) and whom outputs are written as (-Z)
    start_run([*opts.reads, opts.replay], opts.output.user)
    threads.reset()
    threads.install()  # a thread that fails is said below and counted, never silent
    try:
        if opts.read:
            from tapwatch.cli.offline import run_file

            status = run_file(opts)
        else:
            from tapwatch.cli.live import run_live

            status = run_live(opts)
    finally:
        failed = threads.failures()
        for failure in failed:
            say(str(failure))
    return status if status or not failed else 1
