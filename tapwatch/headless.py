"""tcpdump-style output: one line per packet, for pipes, scripts and `--headless`.

Lines are produced in the pump thread (never the reader) and flushed once per
batch, so a `| grep` downstream sees packets as they come without paying a
system call per packet.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TextIO

from tapwatch import decode
from tapwatch.decode.netlink import describe as describe_event
from tapwatch.kinds import DIRECTION_WORDS, Direction
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NETLINK,
    LINKTYPE_NULL,
)
from tapwatch.reorder import HOLD_S as REORDER_HOLD_S
from tapwatch.reorder import Reorder
from tapwatch.ring import Record
from tapwatch.sanitize import printable, printable_layout, printable_lines
from tapwatch.tunnelview import describe
from tapwatch.wire import ETH_HLEN, VLAN_HLEN

if TYPE_CHECKING:
    from tapwatch.analysis.crossing import Crossings
    from tapwatch.sources import InterfaceInfo
    from tapwatch.tunnelview import TunnelView

#: Longest a printed line waits in a block while a slow format (-vvv, hex) fills it.
_WRITE_EVERY = 0.2
_LINK_HEADER = {LINKTYPE_LINUX_SLL: 16, LINKTYPE_LINUX_SLL2: 20, LINKTYPE_NULL: 4}
#: the walk's names of link-level layers (what -x leaves out before the first other layer)
_TAGS = frozenset(("802.1Q", "802.1ad"))
_LINK_LAYERS = _TAGS | {"Ethernet", "LLC"}


def packet_type_word(direction: int | None, data: bytes, linktype: int) -> str:
    """tcpdump's word for a packet's direction: In, Out, or B/M for group frames received.

    ``tcpdump -i any`` takes it from the kernel's packet type; for an Ethernet
    frame the host received, the destination address tells the same.
    """
    if not direction:
        return ""
    if direction == Direction.INBOUND and linktype == LINKTYPE_ETHERNET and data and data[0] & 1:
        return "B" if data[:6] == b"\xff\xff\xff\xff\xff\xff" else "M"
    return DIRECTION_WORDS[direction]


#: ``-t`` counts as tcpdump reads them: the default wall-clock time, then -t ... -ttttt.
TIME_DEFAULT, TIME_NONE, TIME_EPOCH, TIME_DELTA, TIME_DATE, TIME_SINCE_FIRST = range(6)
#: ``-x``/``-xx``/``-X``/``-XX``/``-A``/``-AA``: what to dump after each line.
DUMPS = ("", "x", "xx", "X", "XX", "A", "AA")


@dataclass(frozen=True)
class LineFormat:
    """How a line looks: tcpdump's -t..-ttttt, -e, -v, -x..-XX/-A, -s, -S.

    ``strict``: tcpdump 4.99's exact text where tapwatch deliberately says
    more (tunnels it decodes further, VXLAN's inner frame on one line).
    """

    time: int = TIME_DEFAULT
    link: bool = False
    #: -v count: 1 and 2 are tcpdump's -v and -vv text, 3 and more add scapy's field dump
    verbose: int = 0
    dump: str = ""
    snaplen: int | None = None
    absolute: bool = False
    strict: bool = False


class Renderer:
    """Turns packets into tcpdump's lines, keeping what the time formats need between lines.

    ``names`` (several interfaces): the ``tcpdump -i any`` layout, ``TIME
    IFNAME In  body``. ``words``: the direction word alone after the time (one
    live interface). Neither: ``tcpdump -r``'s layout.
    """

    def __init__(
        self,
        fmt: LineFormat | None = None,
        *,
        names: Sequence[str] | None = None,
        words: bool = False,
        tunnel_view: TunnelView | None = None,
    ) -> None:
        self.fmt = fmt or LineFormat()
        self.tunnel_view = tunnel_view
        self.names = [printable(n) for n in names] if names is not None else None
        self.words = words
        self._first: int | None = None
        self._prev: int | None = None
        # tcpdump numbers TCP sequences relative to each connection's first ones (-S: not)
        self._flows = None if self.fmt.absolute else decode.TcpFlows()
        #: who started each IKEv1 exchange (tcpdump's I/R letters)
        self._cookies = decode.Cookies()

    def line(
        self,
        ts_ns: int,
        direction: int | None,
        data: bytes,
        linktype: int,
        iface: int = 0,
        orig_len: int = -1,
    ) -> str:
        """``orig_len``: the packet's length on the wire, when the capture kept less."""
        fmt = self.fmt
        if fmt.snaplen is not None and len(data) > fmt.snaplen:
            data = data[: fmt.snaplen]
        verbose = fmt.verbose
        text = decode.line_text(
            data,
            linktype,
            self._flows,
            fmt.strict,
            fmt.link,
            verbose if verbose < 2 else 2,
            orig_len,
            self._cookies,
        )
        # the decoder escapes what it quotes from the packet; printable() is the guard behind it
        if verbose:
            body = printable_layout(text)
        else:
            body = printable_layout(text) if fmt.strict else printable(text)  # tcpdump's tabs
        view = self.tunnel_view
        if view is not None and not fmt.strict:  # tcpdump knows no simpletun stream
            inner = view.frames(data, linktype)
            if inner is not None:
                body = with_inner(body, describe(view, inner))
        stamp = self._stamp(ts_ns)
        names = self.names
        if names is not None:
            word = packet_type_word(direction, data, linktype)
            head = f"{stamp}{names[iface]:<5} {word:<3} "
        elif self.words and direction:
            head = f"{stamp}{packet_type_word(direction, data, linktype):<3} "
        else:
            head = stamp
        line = head + body
        if verbose > 2:
            line += "\n" + printable_lines(decode.verbose_text(data, linktype))
        if fmt.dump:
            line += dump(data, linktype, fmt.dump)
        return line

    def _stamp(self, ts_ns: int) -> str:
        """The time column with its trailing space, as -t..-ttttt ask; "" for -t."""
        mode = self.fmt.time
        if mode == TIME_DEFAULT:
            return decode.stamp(ts_ns)
        if mode == TIME_NONE:
            return ""
        sec, ns = divmod(ts_ns, 1_000_000_000)
        us = ns // 1000
        if mode == TIME_EPOCH:
            return f"{sec}.{us:06d} "
        if mode == TIME_DATE:
            return f"{_strftime('%Y-%m-%d %H:%M:%S', sec)}.{us:06d} "
        ts_us = ts_ns // 1000  # tcpdump reads every stamp to the microsecond, then subtracts
        if self._first is None:
            self._first = ts_us
        base = self._prev if mode == TIME_DELTA and self._prev is not None else self._first
        self._prev = ts_us
        return _duration(ts_us - base) + " "


def _strftime(fmt: str, sec: int) -> str:
    try:
        return time.strftime(fmt, time.localtime(sec))
    except (OverflowError, OSError, ValueError):
        return "??"


def _duration(delta_us: int) -> str:
    """tcpdump's -ttt/-ttttt column: a sign slot, then HH:MM:SS.micro, the hours counted
    modulo 24 as tcpdump's (it formats the difference as a time of day)."""
    sign = "-" if delta_us < 0 else " "
    s, us = divmod(abs(delta_us), 1_000_000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{sign}{h % 24:02d}:{m:02d}:{s:02d}.{us:06d}"


def link_header_length(data: bytes, linktype: int) -> int:
    """Bytes of link-layer header before the network layer (what -x leaves out).

    On Ethernet that is what the decoder's header walk passed before the first layer of
    its own: the tags and an 802.2 LLC/SNAP header too, as tcpdump's ``ll_hdr_len``.
    """
    if linktype == LINKTYPE_ETHERNET:
        w = decode.walk(data, linktype, False)
        off = w.net
        if off < 0:  # no ethertype named a network layer: the first layer after the link's
            off = ETH_HLEN
            for name, start in zip(w.names, w.starts, strict=True):
                if name not in _LINK_LAYERS and start >= 0:
                    off = start
                    break
                if name in _TAGS and start + VLAN_HLEN <= len(data):
                    off = start + VLAN_HLEN  # after a whole tag (more than the walk follows)
        return min(off, len(data))
    return min(_LINK_HEADER.get(linktype, 0), len(data))


def dump(data: bytes, linktype: int, style: str) -> str:
    """tcpdump's -x/-xx (hex), -X/-XX (hex and ASCII), -A/-AA (ASCII) of one packet.

    The single-letter forms leave out the link-level header, as tcpdump does.
    Every line starts with a newline: the result follows the packet's line.
    """
    if style in ("x", "X", "A"):
        data = data[link_header_length(data, linktype) :]
    if style in ("A", "AA"):
        return "\n" + _ascii(data)
    out = []
    ascii_too = style in ("X", "XX")
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        words = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        if ascii_too:
            text = "".join(chr(b) if 0x21 <= b <= 0x7E else "." for b in chunk)
            out.append(f"\n\t0x{off:04x}: {' ' + words:<40}  {text}")
        else:
            out.append(f"\n\t0x{off:04x}:  {words}")
    return "".join(out)


def _ascii(data: bytes) -> str:
    """tcpdump -A: printable bytes, tabs, spaces and newlines as they are, the rest as dots.

    A carriage return is a dot only in the middle of a line, as tcpdump's: one right
    before a newline, or among the last two bytes, is left out.
    """
    out = []
    n = len(data)
    for i, b in enumerate(data):
        if b == 0x0D:
            if i + 2 < n and data[i + 1] != 0x0A:
                out.append(".")
        elif 0x21 <= b <= 0x7E or b in (0x09, 0x20, 0x0A):
            out.append(chr(b))
        else:
            out.append(".")
    return "".join(out)


def _names(interfaces: Sequence[_FileInterface]) -> list[str]:
    return [i.name or f"if{n}" for n, i in enumerate(interfaces)]


def render(
    ts_ns: int,
    direction: int | None,
    data: bytes,
    linktype: int,
    *,
    link: bool = False,
    verbose: int = 0,
    ifname: str | None = None,
    words: bool = False,
) -> str:
    """One packet as tcpdump would print it (a one-off: time formats that need the
    previous packet want a :class:`Renderer`)."""
    r = Renderer(
        LineFormat(link=link, verbose=verbose),
        names=[ifname] if ifname is not None else None,
        words=words,
    )
    return r.line(ts_ns, direction, data, linktype)


class _Matcher(Protocol):
    def match(self, data: bytes, linktype: int) -> bool: ...


class _RecordMatcher(Protocol):
    def match_record(self, rec: Record, linktype: int) -> bool: ...


class _FileRecord(Protocol):
    @property
    def ts_ns(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    @property
    def direction(self) -> int | None: ...
    @property
    def iface(self) -> int: ...
    @property
    def orig_len(self) -> int: ...


class _FileInterface(Protocol):
    @property
    def linktype(self) -> int: ...
    @property
    def name(self) -> str | None: ...


def print_records(
    records: Iterable[_FileRecord],
    interfaces: Sequence[_FileInterface],
    out: TextIO,
    *,
    flt: _Matcher | None = None,
    count: int | None = None,
    quiet: bool = False,
    fmt: LineFormat | None = None,
    follow: bool = False,
    tunnel_view: TunnelView | None = None,
    crossings: Crossings | None = None,
) -> int:
    """Stream a capture file as lines, returning how many packets matched.

    This is the `-r` path: no ring, no counters, nothing kept, because reading a
    200k-packet file should cost what decoding and printing cost and no more.
    ``interfaces`` are the file's (a list that grows when the file describes
    an interface after packets); with several of them, lines take ``tcpdump -i
    any``'s layout, with each interface's name. Lines go out in blocks
    of 2048 to spare a write per packet; ``follow`` (a pipe that may be a live
    capture, or -l) writes each line as its packet arrives. Whatever ends the
    loop - the count, a corrupt record, Ctrl-C - the lines of the packets read
    before it are written first. ``crossings`` (several inputs merged): a packet
    another input saw too says where and how long before, after its line.
    """
    # several interfaces: tcpdump -i any's column (tcpdump 4.99 -r prints none: --strict-tcpdump)
    strict = fmt is not None and fmt.strict
    # (several inputs merged: named even while only one of them has described its interfaces)
    named = (len(interfaces) > 1 or getattr(records, "rename", False)) and not strict
    renderer = Renderer(fmt, names=_names(interfaces) if named else None, tunnel_view=tunnel_view)
    # a display filter (-Y) reads frame numbers and times, and follows the capture in order:
    # one pass here, never chunks in workers
    match_packet = getattr(flt, "match_packet", None)
    if match_packet is not None:
        flt.set_interfaces(  # type: ignore[union-attr]
            [i.name for i in interfaces], getattr(records, "format", "") == "pcapng"
        )
    if not (
        match_packet is not None
        or quiet
        or follow
        or tunnel_view is not None
        or crossings is not None
        or renderer.fmt.time in (TIME_DELTA, TIME_SINCE_FIRST)
    ):
        n = _print_in_workers(records, interfaces, renderer, flt, out, count)
        if n is not None:
            return n
    line = renderer.line
    linktypes = [i.linktype for i in interfaces]
    pending: list[str] = []
    link_names: dict[int, str] = {}  # what the file's link events named, by index
    n = number = 0
    block = 1 if follow else 2048
    # a slow format (-vvv, hex) fills a block in seconds: lines also go out every
    # _WRITE_EVERY seconds, checked every 64 lines so the fast formats pay nothing
    due = time.monotonic() + _WRITE_EVERY
    try:
        for rec in records:
            data = rec.data
            iface = rec.iface
            if iface >= len(linktypes):  # an interface described after packets
                linktypes = [i.linktype for i in interfaces]
                if not strict:
                    renderer.names = [printable(n) for n in _names(interfaces)]
            lt = linktypes[iface]
            if lt == LINKTYPE_NETLINK:  # an interface event: said as one, never a packet
                if not (quiet or strict):
                    text = printable(
                        describe_event(data, link_names, getattr(rec, "comment", None))
                    )
                    pending.append(f"# {decode.stamp(rec.ts_ns)}event {text}")
                continue
            number += 1
            if match_packet is not None:
                if not match_packet(
                    data, lt, number, rec.ts_ns, iface, _orig_len(rec), rec.direction or 0
                ):
                    continue
            elif flt is not None and not flt.match(data, lt):
                continue
            n += 1
            tail = ""
            if crossings is not None:
                c = crossings.see(rec.ts_ns, data, lt, iface, number, rec.direction)
                if c is not None and not strict:
                    tail = " [" + printable(crossings.note(c)) + "]"
            if not quiet:
                pending.append(line(rec.ts_ns, rec.direction, data, lt, iface, rec.orig_len) + tail)
                if len(pending) >= block or (not len(pending) & 63 and time.monotonic() >= due):
                    out.write("\n".join(pending) + "\n")
                    pending.clear()
                    due = time.monotonic() + _WRITE_EVERY
                    if follow:
                        out.flush()
            if count is not None and n >= count:
                break
    finally:
        if pending:
            out.write("\n".join(pending) + "\n")
        out.flush()
    return n


def _orig_len(rec: _FileRecord) -> int | None:
    return getattr(rec, "orig_len", None)


def _print_in_workers(
    records: Iterable[_FileRecord],
    interfaces: Sequence[_FileInterface],
    renderer: Renderer,
    flt: _Matcher | None,
    out: TextIO,
    count: int | None,
) -> int | None:
    """print_records a run of records at a time (tapwatch.decode.parallel), in worker
    processes when the file is big and there are processors for them; None when the file
    cannot be read that way (only a regular classic pcap file can)."""
    from tapwatch.decode import parallel

    chunks_of = getattr(records, "chunks", None)
    if chunks_of is None or len(interfaces) != 1:
        return None
    fmt = renderer.fmt
    # the default layout is LineFormatter's: whole chunks at a time in compiled code
    simple = fmt.time == TIME_DEFAULT and fmt.verbose < 3 and not (fmt.dump or renderer.names)
    workers = parallel.workers_for(getattr(records, "path", None))
    chunks = chunks_of(
        parallel.CHUNK_RECORDS_SLOW  # scapy's dump, hex: lines must not wait seconds
        if not simple
        else parallel.CHUNK_RECORDS_HERE
        if workers < 2 or count is not None
        else parallel.CHUNK_RECORDS
    )
    if chunks is None:
        return None
    if fmt.verbose > 2 and workers > 1:
        decode.tree._load_scapy()  # once, before the workers are made
    lt = interfaces[0].linktype
    line = renderer.line
    lines = decode.LineFormatter(
        lt, absolute=fmt.absolute, link=fmt.link, strict=fmt.strict, verbose=fmt.verbose
    )
    snap = -1 if fmt.snaplen is None else fmt.snaplen

    def render(
        recs: list[tuple[int, bytes, int]],
        keep: list[bool] | None,
        flows: decode.TcpFlows | None,
    ) -> list[str]:
        if simple:
            lines.flows = flows
            return lines.lines(recs, keep, snap)
        renderer._flows = flows
        if keep is None:
            return [line(ts, None, d, lt, 0, orig) for ts, d, orig in recs]
        return [
            line(ts, None, d, lt, 0, orig) for (ts, d, orig), k in zip(recs, keep, strict=True) if k
        ]

    job = parallel.Job(
        read_chunk=records.read_chunk,  # type: ignore[attr-defined]
        linktype=lt,
        match=None if flt is None else (lambda d: flt.match(d, lt)),
        render=render,
        snaplen=renderer.fmt.snaplen,
        numbered=not renderer.fmt.absolute,
        limit=decode.TcpFlows().limit,
    )
    try:
        return parallel.print_chunks(chunks, job, out, workers, count)
    finally:
        out.flush()


#: How long a live line waits for packets stamped before it (other interfaces, the
#: kernel's capture blocks, a tunnel's outer packet) before it is printed: lines come out
#: in time order (see tapwatch.reorder), with -l too.
HOLD_S = REORDER_HOLD_S


class LinePrinter:
    """Formats a session's records and writes them to a text stream, in time order.

    Built before the session it prints for (the session feeds it through a
    :class:`~tapwatch.sinks.PrinterSink`), so it knows the interfaces rather
    than the session; ``flush`` returns why output ended, and the session
    stops on it.

    Records reach the ring in arrival order, which is not quite time order:
    each interface's reader hands over its own batches, and what tapwatch
    writes is stamped when written while the kernel's capture blocks arrive
    a little later, and a tunnel end's inner packet is in the ring before the
    outer packet that carried it. A line is therefore held ``hold`` seconds,
    then printed with everything stamped before it, sorted by time - with
    ``-l`` too, which writes each line out as soon as it is due.
    """

    def __init__(
        self,
        interfaces: Sequence[InterfaceInfo],
        out: TextIO | None = None,
        *,
        quiet: bool = False,
        fmt: LineFormat | None = None,
        hold: float = HOLD_S,
        line_buffered: bool = False,  # -l: every write is flushed anyway; kept for callers
        any_layout: bool = False,
        tunnel_view: TunnelView | None = None,
        display: _RecordMatcher | None = None,
    ) -> None:
        self.out = out if out is not None else sys.stdout
        #: -Y: only what it selects is printed (it sees every record, in order)
        self.display = display
        self.quiet = quiet
        self.hold = hold
        self.printed = 0
        self.broken = False
        self._linktypes = [i.linktype for i in interfaces]
        # several interfaces: tcpdump -i any's layout, so scripts written for it keep working
        names = [i.name for i in interfaces] if len(interfaces) > 1 or any_layout else None
        self._renderer = Renderer(fmt, names=names, words=True, tunnel_view=tunnel_view)
        self._held: Reorder[str] = Reorder(hold)

    def __call__(self, rec: Record) -> None:
        if self.quiet or self.broken:
            return
        display = self.display
        if display is not None and not display.match_record(rec, self._linktypes[rec.iface]):
            return
        self._held.add(
            rec.ts_ns,
            self._renderer.line(
                rec.ts_ns, rec.direction, rec.data, self._linktypes[rec.iface], rec.iface
            ),
        )
        self.printed += 1

    def interface_added(self, info: InterfaceInfo) -> None:
        """An interface numbered while capture runs (``-i any``: one made after the start)."""
        self._linktypes.append(info.linktype)
        names = self._renderer.names
        if names is not None:
            names.append(printable(info.name))

    def event(self, rec: Record, text: str) -> None:
        """An interface event: one line that no packet line looks like (``#`` first, as a
        comment), in time order with the packets; none with --strict-tcpdump."""
        if self.quiet or self.broken or self._renderer.fmt.strict:
            return
        stamp = "" if self._renderer.fmt.time == TIME_NONE else decode.stamp(rec.ts_ns)
        self._held.add(rec.ts_ns, f"# {stamp}event {printable(text)}")

    def hurry(self) -> None:
        """Capture is stopping: print what is left without the slow -v dissection.

        A stop must be prompt even when the pump is far behind a flood with -vvv
        (scapy dissects a few thousand packets a second); the lines themselves
        still come out, as the summary decoder writes them.
        """
        r = self._renderer
        if r.fmt.verbose > 2:
            r.fmt = replace(r.fmt, verbose=2)

    def flush(self, final: bool = False) -> str | None:
        """Write the lines that have waited long enough (``final``: all of them).

        Returns why output cannot go on (a closed pipe, a full disk: the session
        stops for it, never in a traceback), else None.
        """
        if self.broken:
            self._held.due(final=True)
            return None
        released = self._held.due(final)
        if not released:
            return None
        return self._write(released)

    def _write(self, released: list[str]) -> str | None:
        text = "\n".join(released) + "\n"
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


#: where tcpdump's text of a TCP segment or UDP datagram leaves its addresses for its details
_DETAILS = (": Flags [", ": UDP, length")


def with_inner(text: str, inner: str) -> str:
    """A tunnel segment's line: what it carries right after the outer addresses (where
    tcpdump itself puts what an encapsulation carries, and where the list's row shows
    it), tcpdump's TCP/UDP details after `` | `` (long with TCP's options: last);
    appended when the details are not where they are looked for (``-q``)."""
    for mark in _DETAILS:
        at = text.find(mark)
        if at >= 0:
            return f"{text[: at + 2]}{inner} | {text[at + 2 :]}"
    return f"{text}: {inner}"
