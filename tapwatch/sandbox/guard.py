"""The first wall inside the evaluating child: no name lookups, sockets, programs or writes.

The child is already in an empty network namespace, without privileges and without a
free file descriptor (:mod:`tapwatch.sandbox.confine`), so nothing it does can leave it.
This guard is what turns scapy's attempts into a sentence the user can act on, and what
holds where those walls cannot be built (tapwatch not running as root and no user
namespaces): a Python audit hook refuses, at the C boundary and whichever helper asks,
resolving a host name, making or using a socket, starting a program and opening a file
for writing. A refusal that scapy swallows (it turns a failed MAC lookup into broadcast)
still fails the evaluation.

The guard holds in the thread that evaluates and nowhere else: the child has one thread,
but tests and benchmarks evaluate in processes whose other threads capture and draw.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tapwatch.sandbox.protocol import MAX_MESSAGE, one_line


class BuildError(Exception):
    """The expression cannot be turned into a frame; ``str()`` is the one line to show."""


class Refused(BaseException):
    """An operation a packet expression may not cause.

    A BaseException, so that scapy's ``except Exception`` (and ``except socket.error``)
    cannot swallow it; :func:`no_network` turns it into a :class:`BuildError`.
    """


class _State(threading.local):
    """Per thread: inside an evaluation or not, and the first thing refused there."""

    active = 0
    refused: str | None = None


_state = _State()
_hook_installed = False
#: How many threads are evaluating now: the audit hook's fast way out (a module global is
#: cheaper to read than a thread-local, and every audited event of every thread pays it).
_evaluating = 0
_evaluating_lock = threading.Lock()

#: Audit events that send or receive, or create the means to.
_SOCKET_EVENTS = frozenset(
    {"socket.__new__", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"}
)
#: Audit events that run another program.
_PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_FAMILIES: dict[int, tuple[int, ...]] = {
    socket.AF_INET: (socket.AF_INET,),
    socket.AF_INET6: (socket.AF_INET6,),
}


def is_literal(host: object, family: int = socket.AF_UNSPEC) -> bool:
    """Whether ``host`` is an address literal of ``family`` (or absent): nothing to resolve.

    The family matters: glibc asked for an IPv4 address of ``fd00::1`` goes to DNS.
    """
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        try:
            host = bytes(host).decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(host, str):
        return False
    for fam in _FAMILIES.get(family, (socket.AF_INET, socket.AF_INET6)):
        try:
            socket.inet_pton(fam, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def name_message(host: object, version: str = "") -> str:
    text = host.decode("ascii", "replace") if isinstance(host, (bytes, bytearray)) else str(host)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text!r} is not an IP{version} address (tapwatch does not resolve host names)"


def why_refused(event: str, args: tuple[Any, ...]) -> str | None:
    """The user's message if ``event`` may not happen during an evaluation, else None."""
    if event == "socket.getaddrinfo":
        host = args[0] if args else None
        family = args[2] if len(args) > 2 and isinstance(args[2], int) else socket.AF_UNSPEC
        return None if is_literal(host, family) else name_message(host)
    if event == "socket.gethostbyname":
        host = args[0] if args else None
        return None if is_literal(host, socket.AF_INET) else name_message(host)
    if event in ("socket.gethostbyaddr", "socket.getnameinfo"):
        return "looking up the name of an address is refused (tapwatch does not resolve)"
    if event in _SOCKET_EVENTS:
        return (
            "building this packet would use a network socket; a packet expression "
            "only makes bytes (give every address, MACs included, explicitly)"
        )
    if event in _PROCESS_EVENTS:
        return "a packet expression cannot start programs"
    if event == "open" and len(args) >= 3:
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            return "a packet expression cannot write files"
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Process-wide audit hook; acts only in a thread whose evaluation is guarded."""
    if not _evaluating or not _state.active:
        return
    why = why_refused(event, args)
    if why is not None:
        if _state.refused is None:
            _state.refused = why
        raise Refused(why)


class _Quiet(logging.Filter):
    """Drops scapy's log records while guarded: they would draw over the UI (one line instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _state.active


def install() -> None:
    """Add the audit hook and the log filter once per process (audit hooks cannot be removed)."""
    global _hook_installed
    with _evaluating_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            quiet = _Quiet()
            for name in ("scapy", "scapy.runtime", "scapy.loading", "scapy.interactive"):
                logging.getLogger(name).addFilter(quiet)
            _hook_installed = True


@contextmanager
def no_network() -> Iterator[None]:
    """While inside, this thread may not resolve names, use sockets, start programs or write
    files.

    A refused operation raises :class:`BuildError` at the end of the block, even when the
    code that asked swallowed the refusal.
    """
    global _evaluating
    install()
    outer = _state.active == 0
    if outer:
        _state.refused = None
        with _evaluating_lock:
            _evaluating += 1
    _state.active += 1
    try:
        yield
    except Refused as exc:
        raise BuildError(_state.refused or str(exc)) from None
    except Exception:
        # what failed after a refusal (scapy swallowed it and went on) failed because of it
        if outer and _state.refused is not None:
            raise BuildError(_state.refused) from None
        raise
    finally:
        _state.active -= 1
        if outer:
            with _evaluating_lock:
                _evaluating -= 1
    if outer and _state.refused is not None:
        raise BuildError(_state.refused)


def describe(exc: BaseException) -> str:
    """``Kind: message`` on one line for an exception raised while evaluating or building."""
    if isinstance(exc, struct.error):
        # e.g. a payload too long for IP's 16-bit length field
        return f"a value does not fit its field ({one_line(str(exc), 160)})"
    text = one_line(str(exc), MAX_MESSAGE - 40)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
