"""Give the UI the terminal, whichever of the standard streams were redirected.

The terminal UI draws on standard error and reads keys from standard input
(Textual's Linux driver uses the process's file descriptors 2 and 0). A
monitor is often started with one of them redirected: ``... -w - | tapwatch
-r -`` feeds the capture on stdin, ``tapwatch -r x.pcap 2>/dev/null`` sends
stderr away. Like termshark, tapwatch then reads keys from the controlling
terminal and draws on the terminal stdout is connected to, for as long as
the UI runs, and puts the descriptors back afterwards, so the exit line
goes where the user sent stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def has_terminal() -> bool:
    """Whether a UI could run: stdout is a terminal and keys can be read from one."""
    if not sys.stdout.isatty():
        return False
    if sys.stdin.isatty():
        return True
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def take_stdin() -> int:
    """A private descriptor for what stdin carries (a capture), before fd 0 is given away."""
    return os.dup(sys.stdin.fileno())


@contextlib.contextmanager
def for_ui() -> Iterator[None]:
    """Point fds 0 (keys) and 2 (drawing) at the terminal while the UI runs."""
    saved: list[tuple[int, int]] = []
    try:
        if not os.isatty(0):
            tty = os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC)
            saved.append((0, os.dup(0)))
            os.dup2(tty, 0)
            os.close(tty)
        if not os.isatty(2) and os.isatty(1):
            sys.stderr.flush()
            saved.append((2, os.dup(2)))
            os.dup2(1, 2)
        yield
    finally:
        sys.stderr.flush()
        for fd, copy in reversed(saved):
            os.dup2(copy, fd)
            os.close(copy)
