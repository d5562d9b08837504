"""Filters typed or pasted are compiled first in a child process that can be killed.

libpcap's optimizer is exponential on some expressions (a few hundred ``port N``
terms take seconds to minutes) and cannot be interrupted; a thread running it can
only be abandoned, still burning a core. So the filter bar hands each expression
to a warm child process first (:class:`FilterJudge`): the child compiles it
exactly as the UI would (BPF or Wireshark's language, with the capture filter) and
says whether it compiled, in which language, or what is wrong. The child gets
``LIMIT_S`` seconds; a compile that runs longer, or that a newer expression made
stale, is ended by killing the child (a new one starts for the next request).
Only an expression the child compiled in time is compiled again in the UI's
process, in a worker thread, where it is now known to finish quickly.

The child is started as ``python -I -c ...`` (no ``PYTHON*`` variables, nothing
imported from the working directory), in a session of its own, at low priority,
with an address-space limit, and dies with its parent (PDEATHSIG, end of file
on its standard input). It speaks JSON lines, one request and one answer each.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Final

from tapwatch import keeper

#: Longest a filter may take to compile before tapwatch gives up on it.
LIMIT_S = 3.0
#: Longest the child may take to start (imports under load), not counted in LIMIT_S.
START_S = 20.0
#: Longest filter text compiled at all: a longer paste is refused without compiling.
MAX_TEXT = 16384
#: The child's address space: a compile that wants more fails instead of swapping.
MEMORY_BYTES = 2 << 30
_READY = "ready"

_CHILD = "import sys; sys.path.append(sys.argv[1]); from tapwatch.filtercheck import serve; serve()"


@dataclass(frozen=True)
class FilterRequest:
    """Everything a compile depends on: the text, the link types, the language, the capture
    filter it is combined with."""

    text: str
    linktypes: tuple[int, ...]
    choice: str = "auto"
    capture: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What the child said: compiled (``ok``) and the language it was read in, or the error
    (``span``: the token a Wireshark-language error points at, in the stripped text).

    ``stale``: a newer request replaced this one before it was answered.
    ``gave_up``: the compile ran out of time (or memory) and the child was killed.
    """

    ok: bool
    language: str = "bpf"
    error: str = ""
    span: tuple[int, int] | None = None
    stale: bool = False
    gave_up: bool = False


def compile_request(req: FilterRequest) -> Any:
    """The filter ``req`` describes (a ``dfilter.language.Compiled``, or None: everything);
    raises a TapwatchError saying what is wrong. The child and the UI both call this."""
    from tapwatch.dfilter.language import compile_any

    return compile_any(req.text, req.linktypes, req.choice, req.capture)  # type: ignore[arg-type]


def judge_here(req: FilterRequest) -> Verdict:
    """Compile ``req`` in this process and say how it went (what the child runs)."""
    from tapwatch.dfilter.language import reading
    from tapwatch.dfilter.syntax import DisplayFilterError
    from tapwatch.errors import TapwatchError

    if len(req.text) > MAX_TEXT:
        return Verdict(
            False,
            error=f"a filter of {len(req.text):,} characters is too long (at most {MAX_TEXT:,})",
        )
    try:
        got = compile_request(req)
    except DisplayFilterError as e:
        return Verdict(False, "wireshark", str(e), (e.start, e.end))
    except TapwatchError as e:
        return Verdict(False, reading(req.text.strip(), req.choice).language, str(e))  # type: ignore[arg-type]
    except (MemoryError, RecursionError):
        return Verdict(False, error="the filter is too large to compile", gave_up=True)
    language = got.language if got is not None else "bpf"
    return Verdict(True, language)


# ----- the child ----------------------------------------------------------------------------
def serve() -> None:
    """The child's program: answer one JSON request per line until standard input closes."""
    import ctypes
    import resource

    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    with contextlib.suppress(Exception):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    with contextlib.suppress(Exception):
        os.nice(10)
    from tapwatch.dfilter import registry

    registry.fields()  # loaded once, before the first request is timed
    out = keeper.answer_channel()
    out.write(_READY + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            raw = json.loads(line)
            req = FilterRequest(
                str(raw["text"]),
                tuple(int(x) for x in raw["linktypes"]),
                str(raw["choice"]),
                None if raw["capture"] is None else str(raw["capture"]),
            )
            verdict = judge_here(req)
        except Exception as e:  # a bug here must not look like a hung compile
            verdict = Verdict(False, error=f"the filter could not be checked: {e}")
        out.write(json.dumps(asdict(verdict)) + "\n")
        out.flush()


# ----- the front ----------------------------------------------------------------------------
class FilterJudge(keeper.KeptChild):
    """The UI's end: one warm child, one request at a time, the newest request wins.

    :meth:`check` blocks (call it from a worker thread). A call made while an
    older one waits makes the older one stale: it kills the child and returns at once.
    """

    CODE = _CHILD

    def __init__(self, limit_s: float = LIMIT_S) -> None:
        super().__init__(limit_s)

    def start(self) -> None:
        """Start the child now (its imports take a moment), so the first check is quick."""
        with self._lock:
            self._ensure(-1)  # not abandoned for a request that comes meanwhile

    def check(self, req: FilterRequest) -> Verdict:
        if len(req.text) > MAX_TEXT:
            return judge_here(req)  # refused by its length alone
        ticket = self._new_ticket()
        with self._lock:
            if ticket != self._ticket:
                return Verdict(False, stale=True)
            if not self._ensure(ticket):
                if ticket != self._ticket:
                    return Verdict(False, stale=True)
                return Verdict(False, error="the filter checker did not start", gave_up=True)
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            try:
                proc.stdin.write((json.dumps(asdict(req)) + "\n").encode())
                proc.stdin.flush()
            except OSError:
                self._kill()
                return Verdict(False, error="the filter checker went away", gave_up=True)
            line = self._read_line(time.monotonic() + self.limit_s, ticket)
            if line is None:
                ended = proc.poll()
                self._kill()
                if ticket != self._ticket:
                    return Verdict(False, stale=True)
                if ended is not None:  # died at once (a crash, the memory limit): not slow
                    return Verdict(
                        False,
                        error=f"the filter checker ended (exit status {ended}) on this filter",
                        gave_up=True,
                    )
                return Verdict(
                    False,
                    error=f"gave up: compiling this filter took longer than {self.limit_s:g} s "
                    "(libpcap's optimizer; fewer terms compile faster)",
                    gave_up=True,
                )
        try:
            raw = json.loads(line)
            span = raw.get("span")
            return Verdict(
                bool(raw["ok"]),
                str(raw.get("language", "bpf")),
                str(raw.get("error", "")),
                (int(span[0]), int(span[1])) if span else None,
                gave_up=bool(raw.get("gave_up")),
            )
        except (ValueError, KeyError, TypeError, IndexError):
            return Verdict(False, error="the filter checker answered nonsense", gave_up=True)

    # -- under the lock --
    def _ensure(self, ticket: int) -> bool:
        if self._running():
            return True
        if not self._restart():
            return False
        if self._read_line(time.monotonic() + START_S, ticket) != _READY:
            self._kill()
            return False
        return True

    def _read_line(self, deadline: float, ticket: int) -> str | None:
        """The child's next line, or None at the deadline, when ``ticket`` went stale (-1: never)
        or the child died."""
        proc = self._proc
        assert proc is not None
        line, self._buf, why = keeper.read_line(
            proc, self._buf, deadline, lambda: ticket >= 0 and ticket != self._ticket, 1 << 20
        )
        if why == "ended":  # the child is gone: reaped, so that its status can be said
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        return line


_JUDGES: Final = keeper.PerProcess(FilterJudge)


def judge(purpose: str = "filter bar") -> FilterJudge:
    """The process's judge for ``purpose`` (every filter bar shares one child; finding by a
    filter has its own, so neither makes the other's request stale)."""
    return _JUDGES.get(purpose)
