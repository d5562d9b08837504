"""Running ``-r FILE``: printed like ``tcpdump -r``, converted with ``-w``, or browsed in the UI."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from tapwatch.cli.memory import new_ring
from tapwatch.cli.messages import Failure, say, silence_stdout
from tapwatch.cli.outputs import close_quietly, lines_out, open_output
from tapwatch.cli.privileges import become_user
from tapwatch.cli.tunnels import linker_sink, tunnel_stats_lines, tunnel_view
from tapwatch.linktypes import LINKTYPE_NETLINK
from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from tapwatch.analysis.crossing import Crossings
    from tapwatch.cli.options import RunOptions
    from tapwatch.filters import PacketFilter
    from tapwatch.headless import Renderer
    from tapwatch.pcap import CaptureFile, CaptureWriter, Interface, PcapRecord
    from tapwatch.pcap.merge import MergedCapture, Pending
    from tapwatch.sinks import Sink

    Capture = CaptureFile | MergedCapture


def open_capture(
    opts: RunOptions,
    stdin: BinaryIO | None = None,
    on_trouble: Callable[[str], None] | None = say,
) -> Capture:
    """The -r input, or every -r input merged by time into one (see tapwatch.pcap.merge);
    ``on_trouble`` is told when one of several inputs fails (the others go on)."""
    from tapwatch import pcap
    from tapwatch.pcap.merge import MergedCapture, Pending, pipe_input, unique_labels

    reads = opts.reads
    stdin = stdin if stdin is not None else sys.stdin.buffer
    if len(reads) == 1:
        try:
            return pcap.read_capture(stdin if reads[0] == "-" else reads[0])
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
    inputs: list[CaptureFile | Pending] = []
    try:
        for path in reads:
            if path == "-":
                inputs.append(pipe_input("standard input", stdin))
            elif _regular(path):
                try:
                    inputs.append(pcap.read_capture(path))
                except pcap.PcapError as e:  # said, and the other inputs go on (if any is one)
                    inputs.append(_failed(path, e))
            else:  # a pipe (<(ssh host tapwatch -w -)): its header is read by its own thread
                inputs.append(pipe_input(path))
        return MergedCapture(inputs, unique_labels(reads), on_trouble=on_trouble)
    except pcap.PcapError as e:
        for cap in inputs:
            if not isinstance(cap, Pending):
                cap.close()
        raise Failure(str(e)) from None


def _failed(path: str, error: Exception) -> Pending:
    """An input that is no capture, as one whose opening fails in the merge (which says so
    and goes on with the others)."""
    from tapwatch.pcap.merge import Pending

    def fail() -> CaptureFile:
        raise error

    return Pending(path, fail)


def _regular(path: str) -> bool:
    """Whether ``path`` is a regular file (else a pipe or a device: perhaps live)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # opening it says what is wrong, in the reader's words


def crossings_for(cap: Capture) -> Crossings | None:
    """Several inputs: what pairs the packets seen by two of them (the delay across)."""
    from tapwatch.analysis.crossing import Crossings
    from tapwatch.pcap.merge import MergedCapture

    if not isinstance(cap, MergedCapture) or not cap.rename:
        return None
    return Crossings(cap.input_of, _Names(cap.interfaces))


class _Names(Sequence["str | None"]):
    """The interfaces' names, read as they are now (an input may describe one late)."""

    def __init__(self, interfaces: Sequence[Interface]) -> None:
        self.interfaces = interfaces

    def __len__(self) -> int:
        return len(self.interfaces)

    def __getitem__(self, n: int) -> str | None:  # type: ignore[override]
        return self.interfaces[n].name


def report_crossings(crossings: Crossings | None) -> None:
    """The delays across the inputs, one line per pair of interfaces, on stderr."""
    if crossings is None:
        return
    for line in crossings.summary():
        say(line)


def crossing_tail(
    crossings: Crossings, rec: PcapRecord, linktype: int, number: int, *, strict: bool
) -> str:
    """What a printed line says after the packet when another input saw it too ("" when
    none did, and always with --strict-tcpdump, whose lines are tcpdump's alone)."""
    c = crossings.see(rec.ts_ns, rec.data, linktype, rec.iface, number, rec.direction)
    if c is None or strict:
        return ""
    return " [" + printable(crossings.note(c)) + "]"


def is_live(cap: Capture) -> bool:
    """Whether the input may still grow as it is read (a pipe: perhaps a live capture)."""
    from tapwatch.pcap.merge import MergedCapture, is_live

    if isinstance(cap, MergedCapture):
        return any(inp.live for inp in cap.inputs)
    return is_live(cap)


def reading_line(path: str, interfaces: Sequence[Interface]) -> str:
    """tcpdump's "reading from file F, link-type T" - every link type the file holds."""
    from tapwatch.filters import link_type_label

    kinds = list(dict.fromkeys(i.linktype for i in interfaces))
    if len(kinds) <= 1:
        lt = kinds[0] if kinds else 0
        snap = f", snapshot length {interfaces[0].snaplen}" if interfaces else ""
        return f"reading from file {path}, link-type {link_type_label(lt)}{snap}"
    return f"reading from file {path}, link-types {', '.join(link_type_label(k) for k in kinds)}"


def run_file(opts: RunOptions) -> int:
    become_user(opts, opts.wants_ui and not opts.write)  # before a byte of the file is read
    assert opts.reads
    if not opts.wants_ui or opts.write:
        cap = open_capture(opts)
        try:
            with cap:
                if opts.write:
                    return _Converter(opts, cap).run()
                return _print_file(opts, cap)
        except KeyboardInterrupt:  # the lines (and records) read so far are out already
            return 130
    return _browse_file(opts)


def packet_filter(opts: RunOptions, linktypes: Sequence[int]) -> PacketFilter | None:
    from tapwatch.filters import compile_packet_filter

    return compile_packet_filter(opts.expression, linktypes)


def shown_filter(opts: RunOptions, linktypes: Sequence[int]) -> Any:
    """What decides which packets are printed or written: the tcpdump expression and -Y."""
    from tapwatch.dfilter.language import combine

    return combine(packet_filter(opts, linktypes), opts.display_filter)


def _regular_size(reads: Sequence[str]) -> int | None:
    """The bytes the inputs that are regular files hold (None: none is), to size the ring."""
    size = None
    for path in reads:
        if path != "-":
            with contextlib.suppress(OSError):
                st = os.stat(path)
                if stat.S_ISREG(st.st_mode):
                    size = (size or 0) + st.st_size
    return size


def _browse_file(opts: RunOptions) -> int:
    """-r into the UI: the file loads in the background while the first screen shows."""
    import threading

    from tapwatch import terminal
    from tapwatch.filesource import FileSource
    from tapwatch.pcap.merge import MergedCapture
    from tapwatch.session import Session
    from tapwatch.sinks import InnerFrames

    ring = new_ring(opts, _regular_size(opts.reads))
    wake = threading.Event()
    stdin = None
    if "-" in opts.reads:  # the capture keeps its pipe; the UI gets the terminal as fd 0
        stdin = os.fdopen(terminal.take_stdin(), "rb")
    cap = open_capture(opts, stdin, on_trouble=None)  # told after the UI (it owns the screen)
    if not isinstance(cap, MergedCapture) and is_live(cap):
        # read through a thread of its own, so the loader knows when the next record is not
        # there yet and hands over what it has: a live pipe's packets show as they arrive
        cap = MergedCapture([cap])
    label = "stdin" if opts.reads == ["-"] else os.path.basename(opts.reads[0])
    src = FileSource(cap, label, ring, wake, follows_pipe=is_live(cap))  # type: ignore[arg-type]
    src.capture_filter = packet_filter(opts, [i.linktype for i in src.interfaces])
    src.crossings = crossings_for(cap)
    src.screen_wait = 15.0  # the UI says when its first rows are drawn
    view = tunnel_view(opts, None)
    sinks: list[Sink] = [InnerFrames(view)] if view is not None else []
    sinks.append(linker_sink(opts, None))
    session = Session(
        [src],
        ring=ring,
        wake=wake,
        capture_filter=src.capture_filter,
        sinks=sinks,
    )
    _troubles_to(cap, session.note)
    try:
        session.start()
        from tapwatch.app import run_ui

        with terminal.for_ui():
            outcome = run_ui(session, display_filter=opts.display_filter)
    finally:
        session.close()
    if not outcome.hung_up:
        say(session.exit_line())
    report_crossings(src.crossings)
    troubled = _tell_troubles(cap)
    if src.truncated_at is not None:
        say(
            f"{', '.join(opts.reads)}: loaded the first {src.truncated_at:,} packets (the ring "
            "holds no more); raise --ring-packets / --ring-bytes to load more"
        )
    if src.error:
        raise Failure(src.error)
    return outcome.status or int(troubled)


def _troubles_to(cap: Capture, note: Callable[[str], None]) -> None:
    """One input's trouble in the UI's status bar, as it comes (those said so far first)."""
    from tapwatch.pcap.merge import MergedCapture

    if isinstance(cap, MergedCapture):
        for line in cap.troubles:
            note(line)
        cap.on_trouble = note


def _tell_troubles(cap: Capture) -> bool:
    """After the UI: the inputs that failed while it showed, and what happened to each
    input (several inputs, when any failed). Whether any failed."""
    from tapwatch.pcap.merge import MergedCapture

    if not isinstance(cap, MergedCapture) or not cap.failed:
        return False
    for line in cap.troubles + cap.summary():
        say(line)
    return True


def _report_truncation(opts: RunOptions, cap: Capture, n: int) -> int:
    """A file that ends inside a record: said, and the exit status is 1 as tcpdump's
    ("truncated dump file"), though everything before the cut was printed or written.
    Several inputs: when any had trouble, one line per input says what happened to it,
    and the status is 1."""
    troubled = getattr(cap, "failed", None)
    if troubled or (troubled is not None and cap.truncated):
        for line in cap.summary():  # type: ignore[union-attr]
            say(line)
        return 1
    if cap.truncated:
        say(f"{', '.join(opts.reads)}: the last packet is cut short; kept the {n} before it")
        return 1
    return 0


def _print_file(opts: RunOptions, cap: Capture) -> int:
    """-r without the UI: stream lines like tcpdump -r."""
    from tapwatch import pcap
    from tapwatch.headless import print_records

    flt = shown_filter(opts, [i.linktype for i in cap.interfaces])
    print(printable(reading_line(", ".join(opts.reads), cap.interfaces)), file=sys.stderr)
    crossings = crossings_for(cap)
    linked = _Linked(cap, opts) if opts.tunnel_stats else None
    try:
        n = print_records(
            linked if linked is not None else cap,
            cap.interfaces,
            lines_out(opts),
            flt=flt,
            tunnel_view=tunnel_view(opts, None),
            count=opts.count,
            quiet=opts.printing.quiet,
            fmt=opts.fmt,
            follow=is_live(cap) or opts.printing.line_buffered,
            crossings=crossings,
        )
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    except BrokenPipeError:
        # the reader of our output went away (| head): that is an ending, not an error
        silence_stdout()
        return 0
    except OSError as e:  # the lines could not be written (a full disk): read errors are PcapErrors
        silence_stdout()
        raise Failure(f"cannot write the lines: {e.strerror or e}") from None
    finally:
        report_crossings(crossings)
        if linked is not None:
            linked.report()
    return _report_truncation(opts, cap, n)


class _Linked:
    """``-r FILE --tunnel-stats``: the file's records, each shown to a linker on the way
    to the lines (numbered as the lines number them), and the summary at the end."""

    def __init__(self, cap: Capture, opts: RunOptions) -> None:
        from tapwatch.ring import Ring

        self.cap = cap
        self.format = getattr(cap, "format", "")
        self.ring = Ring(max_packets=1024)  # what the linker looks back at when a tunnel starts
        self.sink = linker_sink(opts, None)
        self.linker = self.sink.linker  # type: ignore[attr-defined]
        self.linktypes: list[int] = []
        # several inputs (two hosts): each packet is linked within its own input only
        inputs = getattr(cap, "input_of", ()) if getattr(cap, "rename", False) else ()
        self.linker.bind(self.linktypes, cap.interfaces, self.ring, inputs)

    def __iter__(self) -> Iterator[Any]:
        from tapwatch.ring import Record

        ring, linktypes, ifaces = self.ring, self.linktypes, self.cap.interfaces
        take = self.linker.take_batch
        for rec in self.cap:
            if len(linktypes) < len(ifaces):
                linktypes[:] = [i.linktype for i in ifaces]
            direction = rec.direction or 0
            seq = ring.append(rec.ts_ns, direction, rec.data, rec.iface)
            take([Record(seq, rec.ts_ns, direction, rec.data, rec.iface)], linktypes)
            if not seq % 4096:
                self.linker.prune(ring.first_seq)  # the summary needs no links, only counts
            yield rec

    def report(self) -> None:
        self.linker.finish()
        names = [i.name or f"if{n}" for n, i in enumerate(self.cap.interfaces)]
        for line in tunnel_stats_lines(self.linker, names):
            say(line)


def _stdin_has_more() -> bool:
    """Whether standard input has bytes waiting (a pipe that would not block)."""
    import select

    try:
        return bool(select.select([sys.stdin.fileno()], [], [], 0)[0])
    except (OSError, ValueError):
        return False


class _Converter:
    """-r A -w B: stream from reader to writer, keeping timestamps, lengths, interfaces.

    A packet the output format cannot hold (a pcapng timestamp before 1970 going
    to classic pcap) is skipped and counted; everything else goes through.
    """

    def __init__(self, opts: RunOptions, cap: Capture) -> None:
        self.opts = opts
        self.cap = cap
        self.ifaces: list[Interface] = cap.interfaces  # grows when the file adds one late
        self.flt = shown_filter(opts, [i.linktype for i in self.ifaces])
        self.piped = is_live(cap)  # perhaps a live capture (ssh host tapwatch -w -)
        self.lines: TextIO | None = None
        if opts.printing.headless and not opts.printing.quiet:
            self.lines = lines_out(opts)
        self.written = self.skipped = 0
        self.linked = _Linked(cap, opts) if opts.tunnel_stats else None

    def run(self) -> int:
        writer = self._open()
        try:
            self._copy(writer, self._renderer())
        except BaseException:  # a failure, or Ctrl-C: what was written so far is kept
            close_quietly(writer)
            raise
        finally:
            if self.lines is not None:
                with contextlib.suppress(OSError):
                    self.lines.flush()
            if self.linked is not None:
                self.linked.report()
        self._close(writer)
        return _report_truncation(self.opts, self.cap, self.written)

    def _open(self) -> CaptureWriter:
        from tapwatch import pcap

        opts, cap = self.opts, self.cap
        assert opts.write is not None
        same = (not opts.write.endswith(".pcapng")) == (cap.format == "pcap")
        merged = getattr(cap, "identities", None)  # several inputs: their interfaces, renamed
        try:
            writer = open_output(
                opts,
                [(i.linktype, i.name) for i in self.ifaces],
                like=cap if same and merged is None else None,  # type: ignore[arg-type]
                inputs=merged if merged is not None else [cap.identity],
            )
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
        assert writer is not None
        return writer

    def _renderer(self) -> Renderer:
        from tapwatch.headless import Renderer

        ifaces = self.ifaces
        several = len(ifaces) > 1 or getattr(self.cap, "rename", False)
        names = [i.name or f"if{n}" for n, i in enumerate(ifaces)] if several else None
        return Renderer(self.opts.fmt, names=names)

    def _copy(self, writer: CaptureWriter, renderer: Renderer) -> None:
        """Every matching record into ``writer`` (and its line out), up to -c."""
        from tapwatch import pcap

        count = self.opts.count
        crossings = crossings_for(self.cap)
        try:
            records = self.linked if self.linked is not None else self.cap
            for number, rec in enumerate(records, 1):
                lt = self.ifaces[rec.iface].linktype
                if self.flt is not None and not self.flt.match_file_record(rec, lt, number):
                    continue
                if not self._write(writer, rec):
                    continue
                tail = ""
                if crossings is not None:
                    quiet = self.lines is None or self.opts.fmt.strict
                    tail = crossing_tail(crossings, rec, lt, number, strict=quiet)
                if self.lines is not None:
                    self._print(self._line(renderer, rec, lt) + tail)
                if count and self.written >= count:
                    break
        except pcap.FileLimitReached as e:
            say(f"{e}")
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
        except OSError as e:  # the lines beside the file could not be written
            silence_stdout()
            raise Failure(f"cannot write the lines: {e.strerror or e}") from None
        finally:
            report_crossings(crossings)

    def _line(self, renderer: Renderer, rec: PcapRecord, linktype: int) -> str:
        if renderer.names is not None and rec.iface >= len(renderer.names):
            renderer.names = [  # an interface described late, or a late input's
                printable(i.name or f"if{n}") for n, i in enumerate(self.ifaces)
            ]
        return renderer.line(rec.ts_ns, None, rec.data, linktype, rec.iface, rec.orig_len)

    def _write(self, writer: CaptureWriter, rec: PcapRecord) -> bool:
        """One record into the file; False when its format cannot hold it (counted)."""
        from tapwatch import pcap

        if rec.iface >= len(writer.interfaces):
            pcap.add_missing_interfaces(writer, self.ifaces)
        try:
            commented = getattr(writer, "write_commented", None) if rec.comment else None
            if commented is not None and self.ifaces[rec.iface].linktype == LINKTYPE_NETLINK:
                # an interface event's words (the MTU before a change) stay with it
                commented(rec.ts_ns, rec.data, rec.direction, rec.iface, rec.comment)
            else:
                writer.write(rec.ts_ns, rec.data, rec.direction, rec.orig_len, rec.iface)
        except pcap.RecordDoesNotFit:
            self.skipped += 1
            return False
        self.written += 1
        if self.piped and not self._more_waiting():
            writer.flush()  # the input is live: what it gave so far goes out now
        return True

    def _more_waiting(self) -> bool:
        """Whether the input has more ready now (else what was written goes out first)."""
        pending = getattr(self.cap, "pending", None)
        if pending is not None:
            return bool(pending())
        return self.opts.read == "-" and _stdin_has_more()

    def _print(self, line: str) -> None:
        assert self.lines is not None
        try:
            self.lines.write(line + "\n")
            if self.opts.printing.line_buffered or self.piped:
                self.lines.flush()
        except BrokenPipeError:  # nobody reads the lines any more: the file goes on
            silence_stdout()
            self.lines = None

    def _close(self, writer: CaptureWriter) -> None:
        from tapwatch import pcap

        try:
            writer.close()
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
        if self.skipped:
            say(
                f"skipped {self.skipped} packets {self.opts.write}'s format cannot hold (their "
                "timestamps or lengths do not fit it)"
            )
        if self.opts.write != "-":
            say(f"wrote {self.written} packets to {self.opts.write}")
