"""Printing a capture file's lines in worker processes, in capture order, as one process would.

Why: decoding is most of ``tapwatch -r FILE``'s time, and the packets of a file
are all there to be cut into chunks of whole records that several processes
decode at once.  The parent finds the chunks (walking the record headers, see
:meth:`tapwatch.pcap.CaptureFile.chunks`), hands them out, and writes each
chunk's lines as soon as every chunk before it is out; a worker reads its
chunk's bytes itself (``pread``), so no packet goes through a pipe.

What makes the lines identical to a single pass is tcpdump's relative TCP
numbering: a segment's numbers depend on the first segment of its connection,
possibly many chunks earlier.  So a chunk is done in two steps:

1. *walk*: the worker runs the decoder's cheap layer walk over the chunk
   (:func:`~tapwatch.decode.classify.walk_records`), which meets the same TCP
   segments the printer numbers, and reports which connections the chunk
   continues and what it leaves behind;
2. *render*: once the walks of all earlier chunks are in, the parent sends the
   numbers those connections had (``seeds``) and the worker prints the chunk.

The render's own record of what it looked up is then checked, in order, against
the numbers the chunks before really left; a chunk that took a wrong seed (the
walk and the printer disagreeing on some odd packet) is printed again in the
parent with the right ones.  More connections than the printer's bound, a worker
that fails or dies: the parent prints the rest of the file itself, in order,
from where the output stands.  Ctrl-C: the lines of every chunk finished in
order are out; the workers are killed.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TextIO

from tapwatch.decode.classify import walk_records
from tapwatch.decode.core import FlowBase, FlowKey, TcpFlows

#: Records per chunk: big enough that the messages per chunk cost nothing, small enough
#: that the first lines come out early and Ctrl-C loses little.
CHUNK_RECORDS = 8192
#: Records per chunk for the slow formats (scapy's dump, hex...): the same few milliseconds.
CHUNK_RECORDS_SLOW = 256
#: Records per chunk when one process prints (a count to reach, or no workers): what
#: Ctrl-C may leave decoded but unwritten.
CHUNK_RECORDS_HERE = 1024
#: Chunks a worker holds at once: it walks the next while the seeds of one are on their way.
IN_FLIGHT = 2
_LEN = struct.Struct("<I")

#: ``(ts_ns, data, orig_len)`` of each record of a chunk
Records = list[tuple[int, bytes, int]]
#: Prints a chunk's records (those ``keep`` marks, all when None) with the given flow table.
Render = Callable[[Records, "list[bool] | None", "TcpFlows | None"], list[str]]


class Job(NamedTuple):
    """How the records of a file become lines (shared with the workers by ``fork``)."""

    read_chunk: Callable[[Any], Records]
    linktype: int
    match: Callable[[bytes], bool] | None
    render: Render
    snaplen: int | None
    #: relative TCP numbers (tcpdump's default): False for ``-S``
    numbered: bool
    #: the printer's bound on connections (:class:`TcpFlows` ``limit``)
    limit: int


class WorkerFailed(Exception):
    """A worker reported an error or went away."""


#: Files smaller than this are printed in one process: starting workers would cost more.
MIN_BYTES = 4 << 20
#: ``TAPWATCH_WORKERS=N``: decode files in N processes whatever their size (1: in one).
WORKERS_ENV = "TAPWATCH_WORKERS"


def workers_for(path: str | None) -> int:
    """How many processes to decode the file at ``path`` with (1: this one alone).

    Workers pay off only on processors nobody else is using: one more than the
    processors idle right now (:func:`idle_processors`), at most 4, for a file of
    :data:`MIN_BYTES` or more.  ``TAPWATCH_WORKERS`` overrides all of it.
    """
    forced = os.environ.get(WORKERS_ENV, "")
    if forced.isdigit():
        return max(1, min(int(forced), 16))
    try:
        if path is None or os.path.getsize(path) < MIN_BYTES:
            return 1
    except OSError:
        return 1
    return max(1, min(idle_processors() + 1, 4))


def idle_processors() -> int:
    """Processors this process may use that no other runnable task holds, right now.

    The kernel's count of runnable tasks (``procs_running`` in /proc/stat, this
    process included), sampled five times a millisecond apart, the highest kept:
    a load average lags by a minute, while workers compete with what runs now.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    running = 0
    for i in range(5):
        if i:
            time.sleep(0.001)
        try:
            with open("/proc/stat", "rb") as fh:
                for line in fh:
                    if line.startswith(b"procs_running "):
                        running = max(running, int(line.split()[1]))
                        break
        except (OSError, ValueError):
            return 0
    if not running:
        return 0
    return max(0, cpus - running)


def print_chunks(
    chunks: Iterator[Any], job: Job, out: TextIO, workers: int, count: int | None = None
) -> int:
    """Print the records of ``chunks`` through ``job`` in ``workers`` processes; how many.

    ``chunks`` is a file's :meth:`~tapwatch.pcap.CaptureFile.chunks`; whatever it
    raises (a corrupt record) is raised after the lines of the chunks before it.
    ``workers`` below 2, or a ``count`` (print that many, then stop): in this
    process, a chunk at a time.
    """
    if workers < 2 or count is not None:
        return _print_here(chunks, job, out, count)
    run = _Run(chunks, job, out, workers)
    try:
        run.loop()
    finally:
        run.shutdown()
    return run.printed


def _print_here(chunks: Iterator[Any], job: Job, out: TextIO, count: int | None) -> int:
    """One process: each chunk read, printed and written in turn."""
    flows = TcpFlows(job.limit) if job.numbered else None
    printed = 0
    for chunk in chunks:
        recs = job.read_chunk(chunk)
        lines = job.render(recs, _keep(job, recs), flows)
        if count is not None and printed + len(lines) >= count:
            lines = lines[: count - printed]
            out.write("\n".join(lines) + "\n" if lines else "")
            return count
        if lines:
            out.write("\n".join(lines) + "\n")
        printed += len(lines)
    return printed


# --------------------------------------------------------------------------- messages


def _send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _frame(msg: Any) -> bytes:
    body = marshal.dumps(msg)
    return _LEN.pack(len(body)) + body


class _Inbox:
    """Length-prefixed marshal messages arriving on a pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.closed = False

    def feed(self) -> None:
        """Read what the pipe has (one ``read``; call when it is readable)."""
        data = os.read(self.fd, 1 << 20)
        if data:
            self.buf += data
        else:
            self.closed = True

    def messages(self) -> list[Any]:
        out: list[Any] = []
        buf = self.buf
        pos = 0
        while len(buf) - pos >= 4:
            n = _LEN.unpack_from(buf, pos)[0]
            if len(buf) - pos - 4 < n:
                break
            out.append(marshal.loads(bytes(buf[pos + 4 : pos + 4 + n])))
            pos += 4 + n
        if pos:
            del buf[:pos]
        return out


# --------------------------------------------------------------------------- the two steps


def _keep(job: Job, recs: Records) -> list[bool] | None:
    """Which records the filter lets through (None: no filter, all of them)."""
    match = job.match
    if match is None:
        return None
    snap = job.snaplen
    return [match(d if snap is None else d[:snap]) for _ts, d, _orig in recs]


def _walk(job: Job, recs: Records, keep: list[bool] | None) -> TcpFlows:
    """Step 1: the connections of a chunk, as a chunk-mode table seeded with nothing."""
    flows = TcpFlows(seeds={})
    walk_records(recs, job.linktype, flows, keep, -1 if job.snaplen is None else job.snaplen)
    return flows


def _render(
    job: Job, recs: Records, keep: list[bool] | None, seeds: dict[FlowKey, FlowBase] | None
) -> tuple[str, int, TcpFlows | None]:
    """Step 2: the chunk's text (lines, each ending in a newline), its count, its table."""
    flows = TcpFlows(seeds=seeds) if job.numbered else None
    lines = job.render(recs, keep, flows)
    return ("\n".join(lines) + "\n" if lines else ""), len(lines), flows


# --------------------------------------------------------------------------- worker


def _worker(job: Job, task_r: int, result_w: int) -> None:
    """A worker's life: chunks in, walks and lines out, until told to stop or orphaned."""
    inbox = _Inbox(task_r)
    held: dict[int, list[Any]] = {}  # chunk -> [records, keep, seeds or None, walked]
    order: list[int] = []
    while True:
        ready = [k for k in order if held[k][2] is not None]
        unwalked = [k for k in order if not held[k][3]]
        busy = bool(ready or unwalked)
        if not busy or select.select([task_r], [], [], 0)[0]:
            inbox.feed()
            if inbox.closed:
                return
            for msg in inbox.messages():
                if msg[0] == "chunk":
                    _kind, k, start, end, walk = msg
                    recs = job.read_chunk(_Span(start, end))
                    held[k] = [recs, _keep(job, recs), None if walk else {}, not walk]
                    order.append(k)
                elif msg[0] == "seeds":
                    held[msg[1]][2] = msg[2]
                else:  # "stop"
                    return
            continue
        if ready:
            k = ready[0]
            recs, keep, seeds, _walked = held.pop(k)
            order.remove(k)
            text, n, flows = _render(job, recs, keep, seeds)
            used = flows.used if flows is not None else {}
            table = flows.table if flows is not None else {}
            _send_all(result_w, _frame(("done", k, text, n, used, table)))
        else:
            k = unwalked[0]
            h = held[k]
            flows = _walk(job, h[0], h[1])
            h[3] = True
            _send_all(
                result_w, _frame(("walk", k, flows.table, list(flows.used), list(flows.synced)))
            )


class _Span(NamedTuple):
    start: int
    end: int


# --------------------------------------------------------------------------- parent


class _Worker:
    def __init__(self, pid: int, task_w: int, result_r: int) -> None:
        self.pid = pid
        self.task_w = task_w
        self.inbox = _Inbox(result_r)
        self.outgoing = bytearray()
        self.held: list[int] = []

    def send(self, msg: Any) -> None:
        self.outgoing += _frame(msg)
        self.flush()

    def flush(self) -> None:
        """Write what the pipe takes now (never blocks: a worker may be busy writing)."""
        if self.outgoing:
            try:
                n = os.write(self.task_w, self.outgoing)
            except BlockingIOError:
                return
            except OSError as exc:  # gone (its pipe is closed)
                raise WorkerFailed(f"worker {self.pid}: {exc.strerror}") from None
            del self.outgoing[:n]


class _Slot:
    """What the parent knows of one chunk."""

    def __init__(self, chunk: Any, worker: _Worker | None) -> None:
        self.chunk = chunk
        self.worker = worker
        self.walk: tuple[dict[FlowKey, FlowBase], list[FlowKey], list[FlowKey]] | None = None
        self.result: (
            tuple[str, int, dict[FlowKey, FlowBase | None], dict[FlowKey, FlowBase]] | None
        ) = None


class _Run:
    def __init__(self, chunks: Iterator[Any], job: Job, out: TextIO, workers: int) -> None:
        self.chunks = chunks
        self.job = job
        self.out = out
        self.slots: list[_Slot] = []
        self.more = True  # chunks may remain in the file
        self.error: BaseException | None = None  # what the chunk iterator raised
        self.seeded = 0  # chunks whose seeds are out
        self.written = 0  # chunks whose lines are out
        self.printed = 0
        self.wstate: dict[FlowKey, FlowBase] = {}  # the walks' view, for seeds
        self.tstate: dict[FlowKey, FlowBase] = {}  # what the printed chunks really left
        self.workers: list[_Worker] = []
        out.flush()
        for _ in range(workers):
            self.workers.append(self._spawn())

    # -- processes -------------------------------------------------------------

    def _spawn(self) -> _Worker:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns, never runs the parent's clean-up
            status = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.close(task_w)
                os.close(result_r)
                for w in self.workers:
                    os.close(w.task_w)
                    os.close(w.inbox.fd)
                _worker(self.job, task_r, result_w)
            except BaseException as exc:  # reported to the parent, then gone
                status = 1
                with contextlib.suppress(BaseException):  # else the parent sees the pipe close
                    _send_all(result_w, _frame(("error", f"{type(exc).__name__}: {exc}")))
            finally:
                os._exit(status)
        os.close(task_r)
        os.close(result_w)
        os.set_blocking(task_w, False)
        return _Worker(pid, task_w, result_r)

    def shutdown(self) -> None:
        for w in self.workers:
            for fd in (w.task_w, w.inbox.fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(OSError):
                os.kill(w.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(w.pid, 0)
        self.workers = []

    # -- the loop ----------------------------------------------------------------

    def loop(self) -> None:
        try:
            while True:
                self._assign()
                if self.written == len(self.slots) and not self.more:
                    break
                self._wait()
        except WorkerFailed:
            self.shutdown()
            self._finish_here()
        except _Overflow:
            self.shutdown()
            self._finish_here()
        if self.error is not None:
            raise self.error

    def _assign(self) -> None:
        for w in self.workers:
            while self.more and len(w.held) < IN_FLIGHT:
                chunk = self._next_chunk()
                if chunk is None:
                    break
                k = len(self.slots)
                self.slots.append(_Slot(chunk, w))
                w.held.append(k)
                w.send(("chunk", k, chunk.start, chunk.end, self.job.numbered))

    def _next_chunk(self) -> Any:
        try:
            return next(self.chunks)
        except StopIteration:
            self.more = False
        except Exception as exc:  # a corrupt record: raised once the lines before it are out
            self.more = False
            self.error = exc
        return None

    def _wait(self) -> None:
        rfds = {w.inbox.fd: w for w in self.workers}
        wfds = [w.task_w for w in self.workers if w.outgoing]
        readable, writable, _ = select.select(list(rfds), wfds, [])
        for fd in writable:
            for w in self.workers:
                if w.task_w == fd:
                    w.flush()
        for fd in readable:
            w = rfds[fd]
            w.inbox.feed()
            for msg in w.inbox.messages():
                self._handle(w, msg)
            if w.inbox.closed:
                raise WorkerFailed(f"worker {w.pid} went away")

    def _handle(self, w: _Worker, msg: Any) -> None:
        kind = msg[0]
        if kind == "walk":
            _k, k, table, used, synced = msg
            self.slots[k].walk = (table, used, synced)
            self._seed()
        elif kind == "done":
            _k, k, text, n, used, table = msg
            self.slots[k].result = (text, n, used, table)
            w.held.remove(k)
            self._write()
        else:
            raise WorkerFailed(str(msg[1]))

    def _seed(self) -> None:
        """Send each chunk, in order, the numbers the walks of the chunks before it found."""
        slots = self.slots
        wstate = self.wstate
        while self.seeded < len(slots) and slots[self.seeded].walk is not None:
            slot = slots[self.seeded]
            assert slot.walk is not None and slot.worker is not None
            table, needs, synced = slot.walk
            seeds = {key: wstate[key] for key in needs if key in wstate}
            slot.worker.send(("seeds", self.seeded, seeds))
            _advance(wstate, table, set(needs), set(synced))
            slot.walk = None
            self.seeded += 1

    def _write(self) -> None:
        """Write, in order, every finished chunk whose predecessors are out; check its seeds."""
        slots = self.slots
        while self.written < len(slots) and slots[self.written].result is not None:
            slot = slots[self.written]
            assert slot.result is not None
            text, n, used, table = slot.result
            if self.job.numbered:
                tstate = self.tstate
                if len(tstate) + sum(key not in tstate for key in table) > self.job.limit:
                    raise _Overflow  # one process would start forgetting connections here
                if any(tstate.get(key) != base for key, base in used.items()):
                    # the walk and the printer disagreed: print it again, rightly seeded
                    recs = self.job.read_chunk(slot.chunk)
                    text, n, flows = _render(self.job, recs, _keep(self.job, recs), tstate)
                    assert flows is not None
                    table = flows.table
                for key, base in table.items():
                    tstate[key] = base
            slot.result = None
            if text:
                self.out.write(text)
            self.printed += n
            self.written += 1

    def _finish_here(self) -> None:
        """Print the rest of the file in this process, in order, from where the output stands."""
        flows: TcpFlows | None = None
        if self.job.numbered:
            flows = TcpFlows(self.job.limit)
            flows.table = self.tstate  # insertion order kept: the oldest is forgotten first
        pending = [s.chunk for s in self.slots[self.written :]]
        self.slots = self.slots[: self.written]
        while True:
            if pending:
                chunk = pending.pop(0)
            else:
                chunk = self._next_chunk() if self.more else None
                if chunk is None:
                    break
            recs = self.job.read_chunk(chunk)
            lines = self.job.render(recs, _keep(self.job, recs), flows)
            if lines:
                self.out.write("\n".join(lines) + "\n")
            self.printed += len(lines)
            self.written += 1


class _Overflow(Exception):
    """More connections than the printer keeps: the rest is printed in one process."""


def _advance(
    state: dict[FlowKey, FlowBase],
    table: dict[FlowKey, FlowBase],
    needs: set[FlowKey],
    synced: set[FlowKey],
) -> None:
    """``state`` after a chunk whose walk left ``table``.

    A connection the chunk continued (``needs``) without re-basing it (``synced``)
    keeps what it had before; every other one the chunk touched takes its value.
    """
    for key, base in table.items():
        if key in needs and key not in synced and key in state:
            continue
        state[key] = base
