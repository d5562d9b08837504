"""The tcpdump line: ``format_line`` (stateless) and :class:`LineFormatter` (per capture).

tcpdump keeps state across packets for one thing a line shows: TCP sequence and
acknowledgement numbers relative to each connection's first numbers.  A
:class:`LineFormatter` holds that state for one capture (a file, a session's
interface), so headless output and ``-r`` print what ``tcpdump -nn`` prints;
the UI's packet list, which decodes rows in any order, uses the stateless
:func:`~tapwatch.decode.summarize` (absolute numbers, as ``tcpdump -S``).
"""

from __future__ import annotations

import time
from typing import Any

from tapwatch.decode.core import Summary, TcpFlows
from tapwatch.decode.summary import summarize_with
from tapwatch.sanitize import printable, printable_lines

_tcache: tuple[int, str] = (-1, "")


def _hms(sec: int) -> str:
    """Local ``HH:MM:SS`` of a second, cached: a capture prints thousands of lines per second."""
    global _tcache
    cached = _tcache
    if cached[0] == sec:
        return cached[1]
    try:
        hms = time.strftime("%H:%M:%S", time.localtime(sec))
    except (OverflowError, OSError, ValueError):
        hms = "??:??:??"
    _tcache = (sec, hms)
    return hms


def format_line(ts_ns: int, summary: Summary, *, link: bool = False) -> str:
    """``HH:MM:SS.ffffff `` (local time, like tcpdump) + optional ``-e`` link text + body.

    The H:M:S string is cached per second: ``time.localtime`` + ``strftime`` cost
    ~2 µs, while a capture prints thousands of lines within the same second.
    """
    sec, ns = divmod(ts_ns, 1_000_000_000)
    hms = _hms(sec)
    if link:
        return f"{hms}.{ns // 1000:06d} {summary.link}{summary.text}"
    return f"{hms}.{ns // 1000:06d} {summary.text}"


class LineFormatter:
    """tcpdump ``-nn`` lines for the packets of one capture, in order.

    ``absolute``: TCP sequence numbers as on the wire (tcpdump's ``-S``).
    ``link``: the ``-e`` link-level header before each line.
    ``strict``: tcpdump 4.99's exact text where tapwatch deliberately differs:
    WireGuard, OpenVPN and ERSPAN print as tcpdump prints them (``UDP, length N``,
    ``gre-proto-0x88be``), and VXLAN's inner frame goes on a second line.

    Feed it every packet of the capture once, in capture order; a packet it never
    saw cannot seed a connection's numbers.  Not thread-safe: one per printer.
    """

    def __init__(self, linktype: int, *, absolute: bool = False, link: bool = False,
                 strict: bool = False) -> None:
        self.linktype = linktype
        self.absolute = absolute
        self.link = link
        self.strict = strict
        self.flows: TcpFlows | None = None if absolute else TcpFlows()

    def summarize(self, data: Any) -> Summary:
        """The packet's :class:`Summary`, with this capture's TCP numbering."""
        return summarize_with(data, self.linktype, self.flows, self.strict)

    def line(self, ts_ns: int, data: Any) -> str:
        """The packet's line, escaped for a terminal (see :mod:`tapwatch.sanitize`)."""
        s = summarize_with(data, self.linktype, self.flows, self.strict, not self.link)
        sec, ns = divmod(ts_ns, 1_000_000_000)
        if self.link:
            text = f"{_hms(sec)}.{ns // 1000:06d} {s.link}{s.text}"
        else:
            text = f"{_hms(sec)}.{ns // 1000:06d} {s.text}"
        if self.strict:
            return printable_lines(text)
        return printable(text)

    def reset(self) -> None:
        """Forget every connection (the UI's clear, a new file)."""
        if self.flows is not None:
            self.flows.clear()
