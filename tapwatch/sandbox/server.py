"""The sandbox server: the program of the process that evaluates packet expressions.

The evaluation front (:mod:`tapwatch.craft`) starts it as ``python -I -c ...``: a fresh
interpreter that ignores ``PYTHON*`` variables and never imports from the working
directory (a stranger's directory could hold a ``scapy.py``), in a session of its own (the
terminal's Ctrl-C is a key for the UI, not a signal for this process), at the lowest
priority, with no descriptor of tapwatch's but its two pipes.

It imports scapy once (over a second of CPU: why it is kept warm rather than started per
keystroke), says ``READY``, and then, for each request, forks one child that confines
itself (:mod:`tapwatch.sandbox.confine`) and evaluates (:mod:`tapwatch.sandbox.frame`).
Meanwhile the server waits for the child's reply, a cancel of that request, or the wall
time, and kills the child for either of the last two; what the child says is read
bounded and checked before it is passed on. The server itself never evaluates anything;
it leaves when its standard input closes (the front went away) or after a long idle time.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import selectors
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from tapwatch.sandbox.confine import Limits, confine, empty_root
from tapwatch.sandbox.expression import scapy_names
from tapwatch.sandbox.frame import build
from tapwatch.sandbox.guard import BuildError, install
from tapwatch.sandbox.protocol import (
    BUILT,
    CANCEL,
    CANCELLED,
    EVALUATE,
    FAILED,
    MAX_REPLY,
    MAX_REQUEST,
    READY,
    ProtocolError,
    Request,
    built_payload,
    frame_message,
    one_line,
    parse_built,
    parse_failed,
    read_message,
    write_all,
)

#: The server leaves after this long without a request; the front starts a new one.
IDLE_SECONDS = 900.0

#: What a child's work returns: a reply kind (BUILT or FAILED) and its payload.
Reply = tuple[bytes, bytes]


def _failed(message: str) -> Reply:
    return FAILED, one_line(message).encode("utf-8")


def too_big(limits: Limits) -> Reply:
    return _failed(f"too big: the expression needs more than {limits.memory >> 20} MiB")


class Sandbox:
    """What every child is confined with: the limits, ``/dev/null`` and the empty root."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.root = empty_root()
        #: in a child, once confined: the walls that stand (what ``work`` may report)
        self.walls: tuple[str, ...] = ()

    def close(self) -> None:
        os.close(self.devnull)
        os.close(self.root)

    def run(
        self,
        work: Callable[[], Reply],
        watch_fd: int | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Reply:
        """Run ``work`` in a confined child and return its checked reply.

        While waiting, ``cancelled()`` is asked whenever ``watch_fd`` is readable; a true
        answer kills the child (``CANCELLED``). A child past the wall time is killed too
        (``FAILED``: took too long); so is one that says more than a reply may hold.
        """
        parent = os.getpid()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(r)
            os.dup2(w, 1)  # first: from here fd 1 is the reply pipe, not the server's stdout
            self._child(work, parent)
        os.close(w)
        try:
            return self._wait(pid, r, watch_fd, cancelled)
        finally:
            os.close(r)

    def _child(self, work: Callable[[], Reply], parent: int) -> None:
        code = 1
        try:
            self.walls = confine(self.devnull, self.root, self.limits)
        except BaseException as exc:
            kind, payload = _failed(f"the sandbox could not be built, nothing was evaluated: {exc}")
            write_all(1, kind + payload)
            os._exit(code)
        try:
            if os.getppid() != parent:  # the server died before the child could follow it
                os._exit(1)
            random.seed()  # a forked child would repeat its siblings' Rand* values
            kind, payload = work()
            write_all(1, kind + payload)
            code = 0
        except BaseException as exc:
            if isinstance(exc, MemoryError):
                kind, payload = too_big(self.limits)
            else:
                kind, payload = _failed(f"the evaluation failed: {type(exc).__name__}: {exc}")
            with contextlib.suppress(BaseException):
                write_all(1, kind + payload)
        finally:
            os._exit(code)

    def _wait(
        self, pid: int, r: int, watch_fd: int | None, cancelled: Callable[[], bool] | None
    ) -> Reply:
        pidfd = os.pidfd_open(pid)
        sel = selectors.DefaultSelector()
        sel.register(r, selectors.EVENT_READ)
        sel.register(pidfd, selectors.EVENT_READ)
        if watch_fd is not None:
            sel.register(watch_fd, selectors.EVENT_READ)
        deadline = time.monotonic() + self.limits.wall
        data = bytearray()
        reading, exited = True, False
        stop: Reply | None = None
        try:
            while stop is None and (reading or not exited):
                wait = deadline - time.monotonic()
                if wait <= 0:
                    stop = _failed(f"took too long: stopped after {self.limits.wall:g} s")
                    break
                for key, _ in sel.select(wait):
                    if key.fd == r:
                        chunk = os.read(r, 1 << 16)
                        if not chunk:
                            reading = False
                            sel.unregister(r)
                        data += chunk
                        if len(data) > 1 + MAX_REPLY:
                            stop = _failed("the evaluation said more than a frame can hold")
                    elif key.fd == pidfd:
                        exited = True
                        sel.unregister(pidfd)
                    elif cancelled is not None and cancelled():
                        stop = (CANCELLED, b"")
        finally:
            sel.close()
            if not exited:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            os.close(pidfd)
            _, status = os.waitpid(pid, 0)
        if stop is not None:
            return stop
        return _checked(bytes(data), status, self.limits)


def _checked(data: bytes, status: int, limits: Limits) -> Reply:
    """The child's reply, re-checked and re-encoded; or why there is none."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return _failed(f"took too long: more than {limits.cpu} s of CPU")
    kind, payload = data[:1], data[1:]
    try:
        if kind == BUILT:
            return BUILT, built_payload(*parse_built(payload))
        if kind == FAILED:
            return _failed(parse_failed(payload))
    except ProtocolError as exc:
        return _failed(f"the evaluation gave an invalid answer ({exc})")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return _failed(f"the evaluation died of {name} (too big?)")
    return _failed(f"the evaluation ended without an answer (status {status})")


def evaluate(request: Request, names: dict[str, Any], limits: Limits) -> Reply:
    """The child's work for one request: the frame and its summary, or one line why not."""
    try:
        frame, summary = build(request, names)
    except BuildError as exc:
        return _failed(str(exc))
    except MemoryError:
        return too_big(limits)
    return BUILT, built_payload(frame, summary)


def serve(sandbox: Sandbox, names: dict[str, Any], stdin: int = 0, stdout: int = 1) -> None:
    """Answer requests until stdin closes: each one evaluated in its own confined child."""
    queued: list[tuple[int, bytes]] = []
    while True:
        if queued:
            request_id, payload = queued.pop(0)
        else:
            try:
                kind, request_id, payload = read_message(
                    stdin, MAX_REQUEST, time.monotonic() + IDLE_SECONDS
                )
            except (EOFError, TimeoutError):
                return
            if kind == CANCEL:
                continue  # that request is answered already
            if kind != EVALUATE:
                raise ProtocolError(f"unknown request {kind!r}")
        request = Request.decode(payload)

        def cancelled(current: int = request_id) -> bool:
            kind, other, more = read_message(stdin, MAX_REQUEST)
            if kind == EVALUATE:
                queued.append((other, more))
            return kind == CANCEL and other == current

        def work(request: Request = request) -> Reply:
            return evaluate(request, names, sandbox.limits)

        kind, out = sandbox.run(work, stdin, cancelled)
        write_all(stdout, frame_message(kind, request_id, out))


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``argv[0]``, if given, is the limits as JSON (what the front asked for)."""
    argv = sys.argv[1:] if argv is None else argv
    limits = Limits(**json.loads(argv[0])) if argv else Limits()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setpriority(os.PRIO_PROCESS, 0, limits.nice)
    names = scapy_names()
    install()
    sandbox = Sandbox(limits)
    gc.freeze()  # the children share the server's objects instead of copying them to collect
    write_all(1, frame_message(READY, 0))
    try:
        serve(sandbox, names)
    except (BrokenPipeError, EOFError):
        pass
    finally:
        sandbox.close()
