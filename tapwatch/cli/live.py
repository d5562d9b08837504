"""Running a live capture: the session built from the options, then driven to its end.

:func:`open_live_session` builds a session exactly as the command line does
(scripts and benchmarks use it); :func:`run_live` also runs it, headless or in
the UI, and reports how it ended.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tapwatch.cli.memory import new_ring
from tapwatch.cli.messages import PROG, Failure, quit_now, say
from tapwatch.cli.outputs import close_quietly, lines_out, open_output
from tapwatch.cli.privileges import become_user
from tapwatch.cli.tunnels import linker_sink, make_tunnel, tunnel_stats_lines, tunnel_view
from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from types import FrameType

    from tapwatch.cli.options import RunOptions
    from tapwatch.demo import Traffic
    from tapwatch.headless import LinePrinter
    from tapwatch.pcap import CaptureWriter
    from tapwatch.replay import Replayer
    from tapwatch.session import Session
    from tapwatch.sinks import Sink
    from tapwatch.sources import InterfaceInfo, Source
    from tapwatch.tunnelview import TunnelView

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: A stop signal this soon after the one that stopped capture is the same stop delivered
#: twice (``timeout``, ``kill -- -PGID`` and service managers signal the process and then its
#: group), not a user's second Ctrl-C asking to quit at once.
SAME_STOP_S = 0.5


def open_live_session(argv: Sequence[str]) -> Session:
    """A live session built exactly as the command line builds it (scripts, benchmarks).

    The caller starts it (``session.start()``) and closes it; for ``--demo`` the
    caller also runs ``demo.Traffic``. Raises UsageError or a TapwatchError.
    """
    from tapwatch.cli.parser import build_parser
    from tapwatch.cli.validation import validate

    opts = validate(build_parser().parse_args(list(argv)))
    return open_live(opts)


def run_live(opts: RunOptions) -> int:
    if opts.replay and opts.replay != "-":  # a file that cannot be read: said before any device
        from tapwatch import pcap

        try:
            pcap.read_capture(opts.replay).close()
        except pcap.PcapError as e:
            raise Failure(f"--replay {e}") from None
    session = open_live(opts, printing=not opts.wants_ui)
    return LiveRun(session, opts).run()


def open_live(opts: RunOptions, *, printing: bool = False) -> Session:
    """The sources opened, the output file created, the session built around them."""
    import threading

    from tapwatch.filters import compile_packet_filter
    from tapwatch.session import Session
    from tapwatch.sources import close_all, open_live

    ring = new_ring(opts)
    wake = threading.Event()
    # compiled now (an invalid expression is an error before anything opens); each source
    # compiles it for its own link type
    flt = compile_packet_filter(opts.expression, [])
    sources = open_live(opts.source, ring, wake, flt)
    writer = None
    try:
        writer = open_output(opts, [(i.linktype, i.name) for s in sources for i in s.interfaces])
        session = Session(
            sources,
            ring=ring,
            wake=wake,
            capture_filter=flt,
            limit=opts.count,
            sinks=_sinks(opts, sources, writer, printing),
        )
        if opts.source.mode != "drop":
            session.set_mode(opts.source.mode)
        return session
    except BaseException:
        close_quietly(writer)
        close_all(sources)
        raise


def _sinks(
    opts: RunOptions, sources: list[Source], writer: CaptureWriter | None, printing: bool
) -> list[Sink]:
    """What the pump feeds, in order: the tunnel view (for the UI), the device's peer or
    tunnel, then the file and the lines."""
    from tapwatch.peer import Peer
    from tapwatch.sinks import FileSink, InnerFrames, PrinterSink, TunnelSink
    from tapwatch.sources import DeviceSource, responder_for

    first = sources[0]
    dev = first.interfaces[0]
    view = tunnel_view(opts, dev.linktype if first.device is not None else None)
    sinks: list[Sink] = []
    if view is not None and not printing:
        sinks.append(InnerFrames(view))
    if opts.tunnel is not None:
        sinks.append(TunnelSink(make_tunnel(opts, first, printing), dev.index))
    elif isinstance(first, DeviceSource):
        responder = responder_for(first, opts.source.mode, opts.source.peers)
        warn = (lambda text: say(f"warning: {text}")) if printing else None
        sinks.append(
            Peer(
                first.inject,
                dev.linktype,
                dev.index,
                ifname=first.name,
                responder=responder,
                on_warning=warn,
            )
        )
    if writer is not None:
        sinks.append(FileSink(writer, opts.snaplen))
    if printing:
        printer = _printer(opts, [i for s in sources for i in s.interfaces], view)
        sinks.append(PrinterSink(printer))
    if opts.tunnel_stats or not printing:  # the UI's tree, list and Tunnels tool use the links
        sinks.append(linker_sink(opts, dev.linktype if first.device is not None else None))
    return sinks


def _printer(
    opts: RunOptions, interfaces: list[InterfaceInfo], view: TunnelView | None
) -> LinePrinter:
    from tapwatch.dfilter.language import combine
    from tapwatch.headless import LinePrinter

    display = combine(None, opts.display_filter)  # -Y: what is printed
    if display is not None:
        display.set_interfaces([i.name for i in interfaces])
    return LinePrinter(
        interfaces,
        lines_out(opts),
        quiet=opts.printing.quiet or opts.write == "-",
        fmt=opts.fmt,
        line_buffered=opts.printing.line_buffered,
        any_layout="any" in opts.source.observe,
        tunnel_view=view,
        display=display,
    )


class LiveRun:
    """One live session run to its end, headless or in the UI, always cleaned up."""

    def __init__(self, session: Session, opts: RunOptions) -> None:
        from tapwatch.sinks import PrinterSink

        self.session = session
        self.opts = opts
        self.ui = opts.wants_ui
        printing = session.sink(PrinterSink)
        self.printer = printing.printer if printing is not None else None
        self.replayer: Replayer | None = None
        self.traffic: Traffic | None = None
        self.hung_up = False
        #: when a signal stopped capture (its twin to the process group is not a second one)
        self._signalled_at: float | None = None

    def run(self) -> int:
        if not self.ui:
            self._catch_signals()
        status = 0
        try:
            self._start()
            status = self._front_end()
        finally:
            self._wind_down()
        return self._report(status)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.session.stop_requested.is_set():
            first = self._signalled_at
            if first is not None and now - first < SAME_STOP_S:
                return  # the same stop again, to the group: wind down as asked
            quit_now(signum)
        self._signalled_at = now
        self.session.request_stop(signal.Signals(signum).name)
        if self.printer is not None:
            self.printer.hurry()

    def _catch_signals(self) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def _start(self) -> None:
        """Privileges given up, replay and capture started, the demo's traffic going."""
        opts, session = self.opts, self.session
        become_user(opts, self.ui)
        if opts.replay:
            from tapwatch.replay import start_replay

            self.replayer = start_replay(session, opts.replay, opts.replay_speed)
        session.start()
        if opts.source.demo:
            from tapwatch import demo

            self.traffic = demo.Traffic(session)
            self.traffic.start()

    def _front_end(self) -> int:
        """The UI until it quits, or lines until capture stops; the UI's exit status."""
        if self.ui:
            from tapwatch import terminal
            from tapwatch.app import run_ui

            with terminal.for_ui():
                outcome = run_ui(self.session, display_filter=self.opts.display_filter)
            self.hung_up = outcome.hung_up
            return outcome.status
        self._say_read_only()
        if sys.stderr.isatty() and not self.opts.printing.quiet:
            print(printable(listening(self.session)), file=sys.stderr)
        self._say_notices()
        while not self.session.stop_requested.wait(0.2):
            self._say_notices()
        self._say_notices()
        return 0

    def _say_notices(self) -> None:
        """What happened to sources while capture goes on (one went away, came back...)."""
        for text in self.session.take_notices():
            say(text)

    def _say_read_only(self) -> None:
        """Why an attached device is only observed (another program holds it)."""
        for s in self.session.sources:
            if (
                s.read_only_reason
                and s.kind == "observe"
                and s.device is None
                and s.interfaces[0].index == 0
                and self.opts.source.device_name
            ):
                say(s.read_only_reason)

    def _wind_down(self) -> None:
        # winding down (pump, pcap, device) takes a moment; a second signal ends it at once
        self.session.request_stop("UI closed" if self.ui else "stopped")
        self._catch_signals()
        if self.printer is not None:
            self.printer.hurry()
        if self.traffic is not None:
            self.traffic.stop()
        if self.replayer is not None:
            self.replayer.stop()
        self.session.close()
        if self.printer is not None:
            self.printer.flush(final=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _say_tunnel_stats(self) -> None:
        """``--tunnel-stats``: what the links say, per tunnel and direction."""
        linker = self.session.linker
        if self.opts.tunnel_stats and linker is not None:
            for line in tunnel_stats_lines(linker, [i.name for i in self.session.interfaces]):
                say(line)

    def _report(self, status: int) -> int:
        """How the run ended, one line each; the exit status."""
        session, replayer = self.session, self.replayer
        if session.write_error:
            say(session.write_error)
            status = status or 1
        if replayer is not None and replayer.error:
            say(f"replay: {replayer.error}")
            status = status or 1
        elif replayer is not None and replayer.result is not None:
            r = replayer.result
            skipped = f", {r.skipped} skipped (they cannot enter this device)" if r.skipped else ""
            say(f"replay: {r.sent} packets written{skipped}")
        if session.written_out and session.stop_reason:  # -G with -W wrote its last file
            say(session.stop_reason)
        if not self.hung_up:  # the UI's quit path says the same as headless does
            say(session.exit_line())
        outcomes = session.outcomes()
        for line in outcomes:  # what happened to each source that had something happen
            say(line)
        self._say_tunnel_stats()
        if session.stop_error and session.stop_reason:
            if session.stop_reason not in outcomes:  # it names its source already
                say(session.stop_reason)
            status = status or 1
        if session.sources_failed():
            status = status or 1
        return status


def listening(session: Session) -> str:
    from tapwatch.filters import link_type_label

    parts = []
    for src in session.sources:
        if src.follow is not None and src.state == "waiting":
            parts.append(f"waiting for {src.name} (it does not exist yet)")
    for iface in session.interfaces:
        if iface.kind == "events":
            continue
        if any(s.state == "waiting" and iface in s.interfaces for s in session.sources):
            continue
        what = "observing" if iface.kind == "observe" else "listening on"
        parts.append(f"{what} {iface.name}, link-type {link_type_label(iface.linktype)}")
    mode = f", mode {session.peer_mode}" if session.peer_mode != "drop" else ""
    return f"{PROG}: {'; '.join(parts)}{mode}, Ctrl-C to stop"
