"""tcpdump-style output: one line per packet, for pipes, scripts and `--headless`.

Lines are produced in the pump thread (never the reader) and flushed once per
batch, so a `| grep` downstream sees packets as they come without paying a
system call per packet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Protocol, TextIO

from tapwatch import decode
from tapwatch.kinds import DIRECTION_WORDS, Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.ring import Record
from tapwatch.sanitize import printable, printable_lines
from tapwatch.session import Session


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
           words: bool = False, formatter: decode.LineFormatter | None = None) -> str:
    """One packet as tcpdump would print it, plus a dissection with ``verbose``.

    ``ifname``: the ``tcpdump -i any`` layout (``TIME IFNAME In  body``), for
    sessions with several interfaces. ``words``: the direction word alone
    after the time (one live interface). Neither: ``tcpdump -r``'s layout.
    ``formatter``: the capture's :class:`decode.LineFormatter` (relative TCP numbers,
    as tcpdump); without one each packet is printed on its own (absolute numbers).
    """
    if formatter is not None:
        line = formatter.line(ts_ns, data)  # escaped by the formatter
    else:
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
    def match(self, data: bytes) -> bool: ...


class _FileRecord(Protocol):
    ts_ns: int
    data: bytes
    direction: int | None


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
) -> int:
    """Stream a capture file as lines, returning how many packets matched.

    This is the `-r` path: no ring, no counters, nothing kept, because reading a
    200k-packet file should cost what decoding and printing cost and no more.
    Lines go out in blocks of 2048 to spare a write per packet.
    """
    pending: list[str] = []
    n = 0
    fmt = decode.LineFormatter(linktype, link=link)
    line = fmt.line
    for rec in records:
        data = rec.data
        if flt is not None and not flt.match(data):
            continue
        n += 1
        if not quiet:
            pending.append(render(rec.ts_ns, rec.direction, data, linktype, verbose=verbose,
                                  formatter=fmt) if verbose else line(rec.ts_ns, data))
            if len(pending) >= 2048:
                out.write("\n".join(pending) + "\n")
                pending.clear()
        if count is not None and n >= count:
            break
    if pending:
        out.write("\n".join(pending) + "\n")
    out.flush()
    return n


class LinePrinter:
    """Formats records from a session and writes them to a text stream."""

    def __init__(
        self,
        session: Session,
        out: TextIO | None = None,
        *,
        quiet: bool = False,
        verbose: bool = False,
        link: bool = False,
    ) -> None:
        self.session = session
        self.out = out if out is not None else sys.stdout
        self.quiet = quiet
        self.verbose = verbose
        self.link = link
        self.printed = 0
        self.broken = False
        self._pending: list[str] = []
        self._formatter = decode.LineFormatter(session.linktype, link=link)

    def __call__(self, rec: Record) -> None:
        if self.quiet or self.broken:
            return
        self._pending.append(render(rec.ts_ns, rec.direction, rec.data, self.session.linktype,
                                    link=self.link, verbose=self.verbose, words=True,
                                    formatter=self._formatter))
        self.printed += 1

    def flush(self) -> None:
        """Write what the last batch produced; a closed pipe ends capture, not in a traceback."""
        if not self._pending or self.broken:
            self._pending.clear()
            return
        text = "\n".join(self._pending) + "\n"
        self._pending.clear()
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self.broken = True
            self.session.request_stop("output closed")
        except OSError as e:
            self.broken = True
            self.session.request_stop(f"cannot write output: {e.strerror}")
