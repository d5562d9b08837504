"""Running ``-r FILE``: printed like ``tcpdump -r``, converted with ``-w``, or browsed in the UI."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from tapwatch.cli.memory import new_ring
from tapwatch.cli.messages import Failure, say, silence_stdout
from tapwatch.cli.outputs import close_quietly, lines_out, open_output
from tapwatch.cli.privileges import become_user
from tapwatch.cli.tunnels import tunnel_view
from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from tapwatch.cli.options import RunOptions
    from tapwatch.filters import PacketFilter
    from tapwatch.headless import Renderer
    from tapwatch.pcap import CaptureFile, CaptureWriter, Interface, PcapRecord


def run_file(opts: RunOptions) -> int:
    from tapwatch import pcap

    become_user(opts, opts.wants_ui and not opts.write)  # before a byte of the file is read
    path = opts.read
    assert path is not None
    if not opts.wants_ui or opts.write:
        try:
            cap = pcap.read_capture(sys.stdin.buffer if path == "-" else path)
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
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


def _browse_file(opts: RunOptions) -> int:
    """-r into the UI: the file loads in the background while the first screen shows."""
    import threading

    from tapwatch import terminal
    from tapwatch.session import Session
    from tapwatch.sinks import InnerFrames
    from tapwatch.sources import open_file

    assert opts.read is not None
    size = None
    if opts.read != "-":
        with contextlib.suppress(OSError):
            size = os.stat(opts.read).st_size
    ring = new_ring(opts, size)
    wake = threading.Event()
    stdin = None
    if opts.read == "-":  # the capture keeps its pipe; the UI gets the terminal as fd 0
        stdin = os.fdopen(terminal.take_stdin(), "rb")
    src = open_file(
        opts.read, ring, wake, stdin=stdin, capture_filter=lambda lts: packet_filter(opts, lts)
    )
    view = tunnel_view(opts, None)
    session = Session(
        [src],
        ring=ring,
        wake=wake,
        capture_filter=src.capture_filter,
        sinks=[InnerFrames(view)] if view is not None else [],
    )
    try:
        session.start()
        from tapwatch.app import run_ui

        with terminal.for_ui():
            outcome = run_ui(session)
    finally:
        session.close()
    if not outcome.hung_up:
        say(session.exit_line())
    if src.truncated_at is not None:
        say(
            f"{opts.read}: loaded the first {src.truncated_at:,} packets (the ring "
            "holds no more); raise --ring-packets / --ring-bytes to load more"
        )
    if src.error:
        raise Failure(src.error)
    return outcome.status


def _report_truncation(opts: RunOptions, cap: CaptureFile, n: int) -> int:
    """A file that ends inside a record: said, and the exit status is 1 as tcpdump's
    ("truncated dump file"), though everything before the cut was printed or written."""
    if cap.truncated:
        say(f"{opts.read}: the last packet is cut short; kept the {n} before it")
        return 1
    return 0


def _print_file(opts: RunOptions, cap: CaptureFile) -> int:
    """-r without the UI: stream lines like tcpdump -r."""
    from tapwatch import pcap
    from tapwatch.headless import print_records
    from tapwatch.linktypes import header_name

    flt = shown_filter(opts, [i.linktype for i in cap.interfaces])
    print(
        printable(f"reading from file {opts.read}, link-type {header_name(cap.linktype)}"),
        file=sys.stderr,
    )
    try:
        n = print_records(
            cap,
            cap.interfaces,
            lines_out(opts),
            flt=flt,
            tunnel_view=tunnel_view(opts, None),
            count=opts.count,
            quiet=opts.printing.quiet,
            fmt=opts.fmt,
            follow=opts.read == "-" or opts.printing.line_buffered,
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
    return _report_truncation(opts, cap, n)


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

    def __init__(self, opts: RunOptions, cap: CaptureFile) -> None:
        self.opts = opts
        self.cap = cap
        self.ifaces: list[Interface] = cap.interfaces  # grows when the file adds one late
        self.flt = shown_filter(opts, [i.linktype for i in self.ifaces])
        self.piped = opts.read == "-"  # perhaps a live capture (ssh host tapwatch -w -)
        self.lines: TextIO | None = None
        if opts.printing.headless and not opts.printing.quiet:
            self.lines = lines_out(opts)
        self.written = self.skipped = 0

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
        self._close(writer)
        return _report_truncation(self.opts, self.cap, self.written)

    def _open(self) -> CaptureWriter:
        from tapwatch import pcap

        opts, cap = self.opts, self.cap
        assert opts.write is not None
        same = (not opts.write.endswith(".pcapng")) == (cap.format == "pcap")
        try:
            writer = open_output(
                opts,
                [(i.linktype, i.name) for i in self.ifaces],
                like=cap if same else None,
                inputs=[cap.identity],
            )
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
        assert writer is not None
        return writer

    def _renderer(self) -> Renderer:
        from tapwatch.headless import Renderer

        ifaces = self.ifaces
        names = [i.name or f"if{n}" for n, i in enumerate(ifaces)] if len(ifaces) > 1 else None
        return Renderer(self.opts.fmt, names=names)

    def _copy(self, writer: CaptureWriter, renderer: Renderer) -> None:
        """Every matching record into ``writer`` (and its line out), up to -c."""
        from tapwatch import pcap

        count = self.opts.count
        try:
            for number, rec in enumerate(self.cap, 1):
                lt = self.ifaces[rec.iface].linktype
                if self.flt is not None and not self.flt.match_file_record(rec, lt, number):
                    continue
                if not self._write(writer, rec):
                    continue
                if self.lines is not None:
                    self._print(
                        renderer.line(rec.ts_ns, None, rec.data, lt, rec.iface, rec.orig_len)
                    )
                if count and self.written >= count:
                    break
        except pcap.FileLimitReached as e:
            say(f"{e}")
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
        except OSError as e:  # the lines beside the file could not be written
            silence_stdout()
            raise Failure(f"cannot write the lines: {e.strerror or e}") from None

    def _write(self, writer: CaptureWriter, rec: PcapRecord) -> bool:
        """One record into the file; False when its format cannot hold it (counted)."""
        from tapwatch import pcap

        if rec.iface >= len(writer.interfaces):
            pcap.add_missing_interfaces(writer, self.ifaces)
        try:
            writer.write(rec.ts_ns, rec.data, rec.direction, rec.orig_len, rec.iface)
        except pcap.RecordDoesNotFit:
            self.skipped += 1
            return False
        self.written += 1
        if self.piped and not _stdin_has_more():
            writer.flush()  # the input is live: what it gave so far goes out now
        return True

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
