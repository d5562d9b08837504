"""Helper processes started from one thread that lives as long as tapwatch.

The filter check's child and the protocol tree's child ask the kernel to kill them
when their parent goes (``PR_SET_PDEATHSIG``), so that a tapwatch killed outright
leaves none behind. The kernel reads "parent" as the *thread* that started the
child, though: started from a UI worker thread, a child was killed as soon as that
worker ended, and every check and every selected packet paid for a new child and its
imports (0.1 s a filter check, 0.5 s a tree). Started here, from one thread kept for
the life of the process, a child lives until tapwatch does.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TextIO, TypeVar


class _Closable(Protocol):
    def close(self) -> None: ...


_T = TypeVar("_T", bound=_Closable)


class PerProcess(Generic[_T]):
    """The process's one object of a kind (one per key), made on first use and closed at exit.

    The tree's child, the filter checks' children and the packet builder's server are each
    shared by every caller of the process: two threads asking at once must still make one,
    so the making happens under a lock, and what was made is closed when the process exits
    (a child left running would outlive tapwatch until its parent-death signal)."""

    def __init__(self, make: Callable[[], _T]) -> None:
        self._make = make
        self._made: dict[str, _T] = {}
        self._lock = threading.Lock()

    def get(self, key: str = "") -> _T:
        with self._lock:
            got = self._made.get(key)
            if got is None:
                got = self._made[key] = self._make()
                import atexit

                atexit.register(got.close)
            return got

    def made(self, key: str = "") -> _T | None:
        """The object for ``key`` if one was made (None: nobody asked for it yet)."""
        with self._lock:
            return self._made.get(key)


#: One thread, idle between starts, never ended before the interpreter is.
_KEEPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="child-keeper")


def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """:class:`subprocess.Popen` of ``args``, run on the keeper thread (its errors raised
    here, in the caller's thread)."""

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, **kwargs)

    return _KEEPER.submit(start).result()


def start_python(code: str) -> subprocess.Popen[bytes] | None:
    """``python -I -c CODE`` with this tapwatch importable (its package's parent as the
    argument), pipes for standard input and output, its own session, from the keeper thread;
    None when it cannot be started."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        return popen(
            [sys.executable, "-I", "-c", code, package_parent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
            cwd="/",
        )
    except OSError:
        return None


def answer_channel() -> TextIO:
    """In a child: where its answers go, a private copy of its standard output; descriptor
    1 then goes to /dev/null (and ``sys.stdout`` with it).

    Why: the parent takes each line on that pipe for the answer to its request. Anything
    else printed there (a library's ``print`` while it dissects a packet) was read as the
    answer ("answered nonsense"), and the real answer, left in the buffer, as the next
    request's: every tree after it was the one before's."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    return out


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child started by :func:`start_python`, reap it and close its pipes."""
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=2)
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()


def read_line(
    proc: subprocess.Popen[bytes],
    buf: bytes,
    deadline: float,
    stale: Callable[[], bool],
    limit: int,
) -> tuple[str | None, bytes, str]:
    """A child's next line of answer: ``(line, what is left of buf, "")``, or ``(None, buf,
    why)`` when ``stale()`` says the request is no longer wanted ("stale"), at ``deadline``
    ("time"), when the child closed its output ("ended") or the answer grew past ``limit``
    bytes ("size"). ``buf`` holds what an earlier read brought past its line."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        if stale():
            return None, buf, "stale"
        left = deadline - time.monotonic()
        if left <= 0:
            return None, buf, "time"
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return None, buf, "ended"
        buf += chunk
        if len(buf) > limit:
            return None, buf, "size"
    line, _, rest = buf.partition(b"\n")
    return line.decode("utf-8", "replace").strip(), rest, ""


class KeptChild:
    """The UI's end of a warm child that answers one line a request, one request at a time,
    the newest request making older ones stale (the tree's and the filter check's)."""

    #: the child's program (``python -I -c CODE``)
    CODE = ""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._lock = threading.Lock()  # one request in the child at a time
        self._ticket_lock = threading.Lock()
        self._ticket = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _new_ticket(self) -> int:
        """A ticket for a request: an older request is stale from now on."""
        with self._ticket_lock:
            self._ticket += 1
            return self._ticket

    # -- under the lock --
    def _running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _restart(self) -> bool:
        """A new child (its ready line still to be read); False when it cannot start."""
        self._buf = b""
        self._proc = start_python(self.CODE)
        return self._proc is not None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        self._buf = b""
        if proc is not None:
            stop(proc)
