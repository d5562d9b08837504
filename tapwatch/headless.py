"""tcpdump-style output: one line per packet, for pipes, scripts and `--headless`.

Lines are produced in the pump thread (never the reader) and flushed once per
batch, so a `| grep` downstream sees packets as they come without paying a
system call per packet.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tapwatch import decode
from tapwatch.ring import OUT, Record
from tapwatch.session import Session


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
        show_direction: bool = True,
    ) -> None:
        self.session = session
        self.out = out if out is not None else sys.stdout
        self.quiet = quiet
        self.verbose = verbose
        self.link = link
        self.show_direction = show_direction
        self.printed = 0
        self.broken = False
        self._pending: list[str] = []

    def __call__(self, rec: Record) -> None:
        if self.quiet or self.broken:
            return
        s = decode.summarize(rec.data, self.session.linktype)
        line = decode.format_line(rec.ts_ns, s, link=self.link)
        if self.show_direction and rec.direction == OUT:
            # mark what tapwatch itself wrote, the way `tcpdump -i any` marks direction
            line = line.replace(" ", " Out ", 1)
        self._pending.append(line)
        if self.verbose:
            self._pending.append(decode.verbose_text(rec.data, self.session.linktype))
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
