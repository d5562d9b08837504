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
from typing import Any, Final

from tapwatch.decode.core import Cookies, Summary, TcpFlows
from tapwatch.decode.summary import line_text, summarize_with
from tapwatch.sanitize import printable, printable_layout


class _Clock:
    """The last second formatted and its text, as one value (threads may share it)."""

    def __init__(self) -> None:
        self.last: tuple[int, str] = (-1, "")


_CLOCK: Final = _Clock()


def _hms(sec: int) -> str:
    """Local ``HH:MM:SS`` of a second, cached: a capture prints thousands of lines a second."""
    last = _CLOCK.last
    if last[0] == sec:
        return last[1]
    try:
        hms = time.strftime("%H:%M:%S", time.localtime(sec))
    except (OverflowError, OSError, ValueError):
        hms = "??:??:??"
    _CLOCK.last = (sec, hms)
    return hms


def stamp(ts_ns: int) -> str:
    """tcpdump's default time column, ``HH:MM:SS.ffffff `` in local time, with its space.

    The H:M:S string is cached per second: ``time.localtime`` + ``strftime`` cost
    ~2 µs, while a capture prints thousands of lines within the same second.
    """
    sec = ts_ns // 1_000_000_000
    us = ts_ns // 1000 % 1_000_000  # (no multiplication: see pcap.records.stamp_ns)
    return f"{_hms(sec)}.{str(us + 1_000_000)[1:]} "


def format_line(ts_ns: int, summary: Summary, *, link: bool = False) -> str:
    """``HH:MM:SS.ffffff `` (local time, like tcpdump) + optional ``-e`` link text + body."""
    if link:
        return f"{stamp(ts_ns)}{summary.link}{summary.text}"
    return stamp(ts_ns) + summary.text


class LineFormatter:
    """tcpdump ``-nn`` lines for the packets of one capture, in order.

    ``absolute``: TCP sequence numbers as on the wire (tcpdump's ``-S``).
    ``link``: the ``-e`` link-level header before each line.
    ``verbose``: tcpdump's ``-v`` (1) or ``-vv`` (2) text, several lines a packet.
    ``strict``: tcpdump 4.99's exact text where tapwatch deliberately differs:
    WireGuard, OpenVPN and ERSPAN print as tcpdump prints them (``UDP, length N``,
    ``gre-proto-0x88be``), and VXLAN's inner frame goes on a second line.

    Feed it every packet of the capture once, in capture order; a packet it never
    saw cannot seed a connection's numbers.  Not thread-safe: one per printer.
    """

    def __init__(
        self,
        linktype: int,
        *,
        absolute: bool = False,
        link: bool = False,
        strict: bool = False,
        verbose: int = 0,
    ) -> None:
        self.linktype = linktype
        self.absolute = absolute
        self.link = link
        self.strict = strict
        self.verbose = verbose
        self.flows: TcpFlows | None = None if absolute else TcpFlows()
        #: who started each IKEv1 exchange (tcpdump's I/R letters need the packets before)
        self.cookies = Cookies()

    def summarize(self, data: Any) -> Summary:
        """The packet's :class:`Summary`, with this capture's TCP numbering."""
        return summarize_with(data, self.linktype, self.flows, self.strict)

    def line(self, ts_ns: int, data: Any, orig_len: int = -1) -> str:
        """The packet's line, escaped for a terminal (see :mod:`tapwatch.sanitize`).

        ``orig_len``: the frame's length on the wire (a record's), when it is more than
        was captured.
        """
        text = stamp(ts_ns) + line_text(
            data,
            self.linktype,
            self.flows,
            self.strict,
            self.link,
            self.verbose,
            orig_len,
            self.cookies,
        )
        if self.verbose:
            return printable_layout(text)
        if self.strict:
            return printable_layout(text)  # tcpdump's own tabs too (OpenFlow)
        return printable(text)

    def lines(
        self,
        records: list[tuple[int, bytes, int]],
        keep: list[bool] | None = None,
        snaplen: int = -1,
    ) -> list[str]:
        """:meth:`line` of each of ``records`` (``(ts_ns, data, orig_len)``, in capture order)
        at once.

        ``keep``: only the records it marks (a filter's verdicts); ``snaplen``: each
        packet cut to that many bytes first (tcpdump's ``-s``), when not negative.
        One call for a run of packets keeps the per-packet work in compiled code.
        """
        out: list[str] = []
        lt = self.linktype
        flows = self.flows
        strict = self.strict
        link = self.link
        verbose = self.verbose
        cookies = self.cookies
        for i in range(len(records)):
            if keep is not None and not keep[i]:
                continue
            ts, d, orig = records[i]
            if 0 <= snaplen < len(d):
                d = d[:snaplen]
            text = stamp(ts) + line_text(d, lt, flows, strict, link, verbose, orig, cookies)
            if verbose or strict:
                out.append(printable_layout(text))
            elif text.isprintable():  # printable()'s own first test, without the call
                out.append(text)
            else:
                out.append(printable(text))
        return out

    def reset(self) -> None:
        """Forget every connection (the UI's clear, a new file)."""
        if self.flows is not None:
            self.flows.clear()
        self.cookies = Cookies()
