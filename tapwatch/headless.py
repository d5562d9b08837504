"""tcpdump-style output: one line per packet, for pipes, scripts and `--headless`.

Lines are produced in the pump thread (never the reader) and flushed once per
batch, so a `| grep` downstream sees packets as they come without paying a
system call per packet.
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TextIO

from tapwatch import decode
from tapwatch.kinds import DIRECTION_WORDS, Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.ring import Record
from tapwatch.sanitize import printable, printable_lines

if TYPE_CHECKING:
    from tapwatch.sources import InterfaceInfo


def direction_word(direction: int | None, data: bytes, linktype: int) -> str:
    """tcpdump's word for a packet's direction: In, Out, or B/M for group frames received.

    ``tcpdump -i any`` takes it from the kernel's packet type; for an Ethernet
    frame the host received, the destination address tells the same.
    """
    if not direction:
        return ""
    if direction == Direction.INBOUND and linktype == LINKTYPE_ETHERNET and data and data[0] & 1:
        return "B" if data[:6] == b"\xff\xff\xff\xff\xff\xff" else "M"
    return DIRECTION_WORDS[direction]


def render(ts_ns: int, direction: int | None, data: bytes, linktype: int, *,
           link: bool = False, verbose: bool = False, ifname: str | None = None,
           words: bool = False) -> str:
    """One packet as tcpdump would print it, plus a dissection with ``verbose``.

    ``ifname``: the ``tcpdump -i any`` layout (``TIME IFNAME In  body``), for
    sessions with several interfaces. ``words``: the direction word alone
    after the time (one live interface). Neither: ``tcpdump -r``'s layout.
    """
    # the summary escapes what it quotes from the packet; this is the guard behind it
    line = printable(decode.format_line(ts_ns, decode.summarize(data, linktype), link=link))
    if ifname is not None:
        word = direction_word(direction, data, linktype)
        line = line.replace(" ", f" {ifname:<5} {word:<3} ", 1)
    elif words:
        word = direction_word(direction, data, linktype)
        if word:
            line = line.replace(" ", f" {word:<3} ", 1)
    if verbose:
        line += "\n" + printable_lines(decode.verbose_text(data, linktype))
    return line


class _Matcher(Protocol):
    def match(self, data: bytes, linktype: int) -> bool: ...


class _FileRecord(Protocol):
    @property
    def ts_ns(self) -> int: ...
    @property
    def data(self) -> bytes: ...


def print_records(
    records: Iterable[_FileRecord],
    linktype: int,
    out: TextIO,
    *,
    flt: _Matcher | None = None,
    count: int | None = None,
    quiet: bool = False,
    verbose: bool = False,
    link: bool = False,
    follow: bool = False,
) -> int:
    """Stream a capture file as lines, returning how many packets matched.

    This is the `-r` path: no ring, no counters, nothing kept, because reading a
    200k-packet file should cost what decoding and printing cost and no more.
    Lines go out in blocks of 2048 to spare a write per packet; ``follow``
    (a pipe that may be a live capture) writes each line as its packet
    arrives. Whatever ends the loop - the count, a corrupt record, Ctrl-C -
    the lines of the packets read before it are written first.
    """
    pending: list[str] = []
    n = 0
    block = 1 if follow else 2048
    try:
        for rec in records:
            data = rec.data
            if flt is not None and not flt.match(data, linktype):
                continue
            n += 1
            if not quiet:
                pending.append(render(rec.ts_ns, None, data, linktype, link=link,
                                      verbose=verbose))
                if len(pending) >= block:
                    out.write("\n".join(pending) + "\n")
                    pending.clear()
                    if follow:
                        out.flush()
            if count is not None and n >= count:
                break
    finally:
        if pending:
            out.write("\n".join(pending) + "\n")
        out.flush()
    return n


#: How long a live line waits for packets stamped before it (other interfaces, the
#: kernel's capture blocks) before it is printed: lines come out in time order.
HOLD_S = 0.05


class LinePrinter:
    """Formats a session's records and writes them to a text stream, in time order.

    Built before the session it prints for (the session takes it as its
    ``on_record`` and ``on_batch`` hooks), so it knows the interfaces rather
    than the session; ``flush`` returns why output ended, and the session
    stops on it.

    Records reach the ring in arrival order, which is not quite time order:
    each interface's reader hands over its own batches, and what tapwatch
    writes is stamped when written while the kernel's capture blocks arrive
    a little later. A line is therefore held ``hold`` seconds, then printed
    with everything stamped before it, sorted by time.
    """

    def __init__(
        self,
        interfaces: Sequence[InterfaceInfo],
        out: TextIO | None = None,
        *,
        quiet: bool = False,
        verbose: bool = False,
        link: bool = False,
        hold: float = HOLD_S,
    ) -> None:
        self.out = out if out is not None else sys.stdout
        self.quiet = quiet
        self.verbose = verbose
        self.link = link
        self.hold = hold
        self.printed = 0
        self.broken = False
        self._linktypes = [i.linktype for i in interfaces]
        # several interfaces: tcpdump -i any's layout, so scripts written for it keep working
        self._names: list[str] | None = (
            [printable(i.name) for i in interfaces] if len(interfaces) > 1 else None)
        self._held: list[tuple[int, int, str]] = []  # (ts_ns, seq, line)
        self._held_since: list[float] = []  # arrival time of each held line, same order

    def __call__(self, rec: Record) -> None:
        if self.quiet or self.broken:
            return
        names = self._names
        self._held.append((rec.ts_ns, rec.seq, render(
            rec.ts_ns, rec.direction, rec.data, self._linktypes[rec.iface], link=self.link,
            verbose=self.verbose, ifname=names[rec.iface] if names is not None else None,
            words=True)))
        self._held_since.append(time.monotonic())
        self.printed += 1

    def flush(self, final: bool = False) -> str | None:
        """Write the lines that have waited long enough (``final``: all of them).

        Returns why output cannot go on (a closed pipe, a full disk: the session
        stops for it, never in a traceback), else None.
        """
        held = self._held
        if not held or self.broken:
            held.clear()
            self._held_since.clear()
            return None
        if final or self.hold <= 0:
            released = held
            self._held, self._held_since = [], []
        else:
            since = self._held_since  # arrival times only grow
            n = bisect_right(since, time.monotonic() - self.hold)
            if n == 0:
                return None
            # what has waited long enough, and whatever is stamped no later than it
            newest = max(ts for ts, _, _ in held[:n])
            released = held[:n]
            keep: list[tuple[int, int, str]] = []
            keep_since: list[float] = []
            for item, t in zip(held[n:], since[n:], strict=True):
                if item[0] <= newest:
                    released.append(item)
                else:
                    keep.append(item)
                    keep_since.append(t)
            self._held, self._held_since = keep, keep_since
        return self._write(released)

    def _write(self, released: list[tuple[int, int, str]]) -> str | None:
        released.sort()
        text = "\n".join(line for _, _, line in released) + "\n"
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self.broken = True
            return "output closed"
        except OSError as e:
            self.broken = True
            return f"cannot write output: {e.strerror}"
        return None
