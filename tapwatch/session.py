"""A capture session: its sources, the ring, the counters, and the sinks the pump feeds.

The data flows one way: sources (device readers, packet sockets, a capture
file, records fed by a test) -> ring -> pump -> counters and the sinks (the
capture file, headless lines, the peer, a tunnel's far end, the tunnel view;
see :mod:`tapwatch.sinks`). The pump is the ring's single consumer; it runs in
its own thread for live sessions so readers only ever read, and tests call
``pump()`` directly for determinism. The UI reads the ring and ``status()``
(one :class:`~tapwatch.snapshot.Status`) on a timer.

A session numbers the interfaces of its sources (``interfaces``; records
carry the number as ``Record.iface``), so one session can hold a tun device
and the Ethernet interface its tunnel runs over, each decoded, filtered and
written with its own link type.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tapwatch import decode
from tapwatch.decode.netlink import describe as describe_event
from tapwatch.decode.netlink import link_mtu
from tapwatch.filesource import FileSource
from tapwatch.kinds import PEER_MODES, CaptureState, DeviceState, PeerMode, PeerRole
from tapwatch.linktypes import LINKTYPE_NETLINK
from tapwatch.peer import Peer, PeerError
from tapwatch.ring import Record, Ring
from tapwatch.sinks import FileSink, InnerFrames, LinkSink, Sink, TunnelSink
from tapwatch.snapshot import LoadStatus, Status
from tapwatch.sources import DeviceSource, InterfaceInfo, RecordSource, Source

if TYPE_CHECKING:
    from tapwatch.analysis.links import Linker
    from tapwatch.device import Device, LinkInfo
    from tapwatch.filters import PacketFilter
    from tapwatch.pcap import CaptureWriter
    from tapwatch.peer import Responder
    from tapwatch.tunnel import Tunnel
    from tapwatch.tunnelview import TunnelView

__all__ = ["MODES", "Session", "Status"]

MODES = PEER_MODES
_RATE_WINDOW_S = 1.0
_SinkT = TypeVar("_SinkT", bound=Sink)


class Session:
    """Everything one run of tapwatch watches, independent of how it is shown."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        ring: Ring | None = None,
        wake: threading.Event | None = None,
        capture_filter: PacketFilter | None = None,
        limit: int | None = None,
        sinks: Sequence[Sink] = (),
    ) -> None:
        """``limit``: stop after that many packets pass the filter (``-c``).

        ``sinks`` get the records in ring order from the pump (see
        :mod:`tapwatch.sinks`). A session whose sources include a device tapwatch
        holds always has a :class:`~tapwatch.peer.Peer` among them (a silent one,
        in drop mode, unless one is given), so echo mode can be switched on.
        """
        from tapwatch.stats import Stats

        if not sources:
            raise ValueError("a session needs at least one source")
        self.sources = list(sources)
        self.interfaces: list[InterfaceInfo] = [i for s in self.sources for i in s.interfaces]
        for n, iface in enumerate(self.interfaces):
            if iface.index != n:
                raise ValueError(f"interface {iface.name} is numbered {iface.index}, not {n}")
        self._linktypes = [i.linktype for i in self.interfaces]
        for s in self.sources:
            s.on_new_interface = self._interface_added  # a file may describe one late
        self.events = 0  # interface events recorded (links, addresses, routes): not packets
        #: the MTU the last interface event said, by interface name (the status bar's: an
        #: InterfaceInfo keeps the one read at the start, which the links' "over MTU" reads)
        self._mtu_now: dict[str, int] = {}
        #: what happened to sources while capture went on (one went away, came back...)
        self._notices: list[str] = []
        self.notice: str | None = None  # the latest, for the status bar
        self._notice_lock = threading.Lock()
        self.failed: list[str] = []  # sources that stopped for good, each "name: why"
        self._ended: set[int] = set()  # id() of those sources
        for s in self.sources:
            self._hook(s)
            if s.state == "waiting":
                self.note(f"{s.name} does not exist yet; waiting for it")
        self.ring = ring if ring is not None else Ring()
        self.stats = Stats()
        self.capture_filter = capture_filter
        self.limit = limit
        self.sinks: list[Sink] = list(sinks)
        self.peer = self.sink(Peer)
        src = self.device_source
        if self.peer is None and isinstance(src, DeviceSource):
            info = src.interfaces[0]
            self.peer = Peer(src.inject, info.linktype, info.index, ifname=src.name)
            self.sinks.append(self.peer)
        tunnel_sink = self.sink(TunnelSink)
        if tunnel_sink is not None and src is not None:
            tunnel_sink.read_by(src.reader)  # device -> far end without the pump between
        if self.peer is not None and self.peer.on_notice is None:
            self.peer.on_notice = self.note  # answering stopped for good: said once
        for sink in self.sinks:
            sink.stop = self.request_stop
            if isinstance(sink, InnerFrames):
                sink.keep = self.ring.set_inner
            elif isinstance(sink, LinkSink):
                sink.linker.bind(self._linktypes, self.interfaces, self.ring, self._inputs())
                sink.first_seq = lambda: self.ring.first_seq
        self.processed = 0  # records the pump went through (matching the filter or not)
        self.missed = 0  # records the ring evicted before the pump got to them
        self.matched = 0  # records that passed the capture filter
        self.pump_failures = 0  # pump rounds that raised (a bug; the first is reported)
        self.counted_before_clear = 0  # packets counted before the UI's clears
        self.wake = wake if wake is not None else threading.Event()
        self._cursor = self.ring.first_seq  # what a reader got before us counts too
        self._pump_lock = threading.Lock()
        self._pump_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._summaries: OrderedDict[int, decode.Summary] = OrderedDict()
        self._rate: tuple[float, int, float] = (time.monotonic(), self.ring.next_seq - 1, 0.0)
        self.stop_requested = threading.Event()  # -c reached, device gone, signal...
        self.stop_reason: str | None = None
        self.stop_error = False  # whether the stop was a failure (non-zero exit)

    # ----- construction helpers -------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        linktype: int,
        records: Iterable[tuple[int, int, bytes]],
        info: InterfaceInfo | None = None,
        *,
        device: Device | None = None,
        responder: Responder | None = None,
        **kw: Any,
    ) -> Session:
        """An offline session of one interface holding ``(ts_ns, direction, data)``, pumped.

        ``device`` (tests): something with ``fd``, ``name``, ``write`` and
        ``link_info`` that the peer actions write into, answering as
        ``responder`` in reply mode.
        """
        info = info or InterfaceInfo("records", "file")
        info.linktype = linktype
        info.index = 0
        ring = kw.pop("ring", None)
        if ring is None:  # (an empty Ring is falsy: no `or` here)
            ring = Ring()
        wake = threading.Event()
        source: Source = RecordSource(info)
        sinks = list(kw.pop("sinks", ()))
        if device is not None:
            dev = DeviceSource(info, device, None, ring, wake)
            sinks.append(Peer(dev.inject, linktype, 0, ifname=dev.name, responder=responder))
            source = dev
        s = cls([source], ring=ring, wake=wake, sinks=sinks, **kw)
        s.ring.extend(records)
        s.pump()
        return s

    def _interface_added(self, info: InterfaceInfo) -> None:
        """A source found another interface (a pcapng block after packets): number it."""
        info.index = len(self.interfaces)
        self._linktypes.append(info.linktype)
        self.interfaces.append(info)

    def _hook(self, source: Source) -> None:
        """Let a source that lives (tapwatch.follow) add interfaces, sources and notices."""
        from tapwatch.follow import LinkWatch

        if isinstance(source, LinkWatch):
            source.on_new_interface = self.add_interface
            source.on_new_source = self.add_source
            source.on_notice = self.note

    def add_interface(self, info: InterfaceInfo) -> None:
        """Number an interface found while capture runs, and tell every sink of it.

        Done under the pump's lock, before any record of it can enter the ring:
        the pump never meets a record of an interface a sink does not know.
        """
        from tapwatch.ring import MAX_INTERFACES

        with self._pump_lock:
            if len(self.interfaces) >= MAX_INTERFACES:
                raise ValueError(f"at most {MAX_INTERFACES} interfaces in one session")
            self._interface_added(info)
            for sink in self.sinks:
                sink.interface_added(info)

    def add_source(self, source: Source) -> None:
        """A source opened while capture runs (``-i any``: an interface made later)."""
        for info in source.interfaces:
            self.add_interface(info)
        self._hook(source)
        self.sources.append(source)

    def note(self, text: str) -> None:
        """Something happened to a source that the user should hear of (capture goes on)."""
        with self._notice_lock:
            self._notices.append(text)
            self.notice = text

    def take_notices(self) -> list[str]:
        """The notices since the last call (headless prints them on stderr)."""
        with self._notice_lock:
            out, self._notices = self._notices, []
            return out

    # ----- what the session holds -------------------------------------------------------
    @property
    def info(self) -> InterfaceInfo:
        """The first interface: the device when there is one (the status bar's headline)."""
        return self.interfaces[0]

    @property
    def linktype(self) -> int:
        """The first interface's link type (records carry their own: ``linktype_of``)."""
        return self._linktypes[0]

    def linktype_of(self, rec: Record) -> int:
        return self._linktypes[rec.iface]

    @property
    def linktypes(self) -> Sequence[int]:
        """Every interface's link type by its number, the session's own list: it grows as
        interfaces are found while capture runs (``-i any``, a VPN's device made again), so
        an index that reads the ring from a worker keeps this, never a copy of the start's."""
        return self._linktypes

    @property
    def multi_interface(self) -> bool:
        return sum(1 for i in self.interfaces if i.kind != "events") > 1

    @property
    def device_source(self) -> Source | None:
        """The source tapwatch can write into (the device it holds), if any."""
        for s in self.sources:
            if s.device is not None:
                return s
        return None

    @property
    def device(self) -> Device | None:
        src = self.device_source
        return src.device if src is not None else None

    @property
    def live(self) -> bool:
        """Whether a source is still read (a device, an interface, a pipe)."""
        return any(s.live for s in self.sources)

    @property
    def read_only(self) -> bool:
        return self.info.read_only_reason is not None

    @property
    def device_state(self) -> DeviceState | None:
        """The headline source's state: the device's when there is one."""
        src = self.device_source or self.sources[0]
        return src.state

    def sink(self, cls: type[_SinkT]) -> _SinkT | None:
        """The first of the session's sinks of that type, if it has one."""
        for sink in self.sinks:
            if isinstance(sink, cls):
                return sink
        return None

    @property
    def writer(self) -> CaptureWriter | None:
        """The -w file's writer, if the session writes one."""
        sink = self.sink(FileSink)
        return sink.writer if sink is not None else None

    @property
    def write_error(self) -> str | None:
        sink = self.sink(FileSink)
        return sink.write_error if sink is not None else None

    @property
    def written_out(self) -> bool:
        """-G with -W wrote its last file."""
        sink = self.sink(FileSink)
        return sink.written_out if sink is not None else False

    @property
    def tunnel(self) -> Tunnel | None:
        """The tunnel whose end this session is, if it is one."""
        sink = self.sink(TunnelSink)
        return sink.tunnel if sink is not None else None

    @property
    def tunnel_view(self) -> TunnelView | None:
        """What follows framed tunnel streams for display, if anything does."""
        sink = self.sink(InnerFrames)
        return sink.view if sink is not None else None

    @property
    def linker(self) -> Linker | None:
        """What links inner and outer packets (the Tunnels tool, the tree), if it runs."""
        sink = self.sink(LinkSink)
        return sink.linker if sink is not None else None

    @property
    def peer_mode(self) -> PeerMode:
        return self.peer.mode if self.peer is not None else "drop"

    # ----- live operation -------------------------------------------------------------
    def feed(self, ts_ns: int, direction: int, data: bytes, iface: int = 0) -> int:
        """Append a record as a reader would (tests and synthetic sources)."""
        seq = self.ring.append(ts_ns, direction, data, iface)
        self.wake.set()
        return seq

    def start(self) -> None:
        """Start the sources' readers, the sinks' threads (a tunnel) and the pump thread."""
        for s in self.sources:
            s.start()
        for sink in self.sinks:
            sink.start()
        if self._pump_thread is None:
            self._pump_thread = threading.Thread(
                target=self._pump_loop, name="tapwatch-pump", daemon=True
            )
            self._pump_thread.start()

    def _pump_loop(self) -> None:
        last_refresh = 0.0
        while not self._stopping.is_set():
            self.wake.wait(0.1)
            self.wake.clear()
            self._pump_guarded()
            now = time.monotonic()
            if now - last_refresh >= 1.0:
                last_refresh = now
                self.refresh_sources()  # netlink here, never on the UI thread
            for s in list(self.sources):
                reason = s.failure()
                if reason and id(s) not in self._ended and not self.stop_requested.is_set():
                    self._source_failed(s, reason)
        self._pump_guarded()

    def _source_failed(self, source: Source, reason: str) -> None:
        """One source stopped for good: the others go on; capture ends with the last one.

        Everything captured stays held and exportable.
        """
        self._ended.add(id(source))
        source.refresh()
        text = f"{source.name}: {reason}"
        self.failed.append(text)
        going = [
            s
            for s in self.sources
            if s.live and id(s) not in self._ended and s.kind != "events" and s is not source
        ]
        if going:
            self.note(f"{text}; capture goes on on {', '.join(s.name for s in going)}")
        else:
            self.request_stop(text, error=True)

    def _pump_guarded(self) -> None:
        """``pump`` in the pump thread: a failure (a bug) is reported once (the UI shows it,
        the exit status counts it: see tapwatch.threads), and capture, counting and writing go
        on with the next records rather than stopping in silence."""
        try:
            self.pump()
        except Exception as e:
            self.pump_failures += 1
            if self.pump_failures == 1:
                from tapwatch import threads

                threads.report(threads.job_of("tapwatch-pump"), e)

    def first_screen_shown(self) -> None:
        """A front end drew its first rows: sources that paused for it go on."""
        for s in self.sources:
            shown = getattr(s, "shown", None)
            if shown is not None:
                shown.set()

    def refresh_sources(self) -> None:
        for s in self.sources:
            s.refresh()

    def request_stop(self, reason: str, *, error: bool = False) -> None:
        """Tell the front end capture has ended: headless exits, the UI keeps browsing."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stop_error = error
        self.stop_requested.set()

    def pump(self) -> int:
        """Process every record the ring got since the last call; returns how many."""
        with self._pump_lock:
            return self._pump_locked()

    def _pump_locked(self) -> int:
        ring = self.ring
        done = 0
        while True:
            records, missed = ring.since(self._cursor, 4096)
            if missed:
                self.missed += missed
                self._cursor += missed
            if not records:
                break
            self._cursor = records[-1].seq + 1
            self._process(records)
            done += len(records)
        self.processed += done
        if self.limit is not None and self.matched >= self.limit:
            self.request_stop(f"{self.limit} packets captured")
        for sink in self.sinks:  # also when idle: held lines come due, the file is flushed
            sink.end_batch(done == 0)
        return done

    def _process(self, records: list[Record]) -> None:
        """Count what passes the capture filter (up to -c) and hand records to the sinks."""
        lts = self._linktypes
        flt = self.capture_filter
        match = flt.match if flt is not None else None
        layers = decode.layers
        add = self.stats.add
        for s in self.sinks:
            if s.batched:  # sees every record, a batch at a time: no call per record
                s.take_batch(records, lts)
        every = [s.take for s in self.sinks if s.sees_every_record and not s.batched]
        counted = [s.take for s in self.sinks if not s.sees_every_record]
        limit = self.limit
        for rec in records:
            data = rec.data
            lt = lts[rec.iface]
            if lt == LINKTYPE_NETLINK:  # an interface event: not a packet, never filtered
                self._event(rec)
                continue
            for take in every:
                take(rec, lt)
            if match is not None and not match(data, lt):
                continue
            if limit is not None and self.matched >= limit:
                continue
            self.matched += 1
            add(layers(data, lt), len(data), rec.ts_ns)
            for take in counted:
                take(rec, lt)

    def _event(self, rec: Record) -> None:
        self.events += 1
        said = link_mtu(rec.data)
        if said is not None and any(i.name == said[1] for i in self.interfaces):
            self._mtu_now[said[1]] = said[2]  # only the session's names: bounded
        text = self.event_text(rec)
        for sink in self.sinks:
            sink.event(rec, text)

    def event_text(self, rec: Record) -> str:
        """What an interface event record says, in words ("tun0: link removed")."""
        return self.event_text_at(rec.seq)

    def event_text_at(self, seq: int) -> str:
        """The words a live session gave the event; for one read from a file, what its
        rtnetlink message says."""
        extra = self.ring.extra(seq)
        if extra is not None and extra.comment:
            return extra.comment
        rec = self.ring.get(seq)
        return describe_event(rec.data) if rec is not None else "interface event"

    # ----- peer actions --------------------------------------------------------------
    def set_mode(self, mode: PeerMode) -> None:
        """Switch between drop, echo and reply while running."""
        if mode not in MODES:
            raise PeerError(f"unknown mode {mode!r}: choose drop, echo or reply")
        if self.tunnel is not None:  # not silent either: every frame crosses the tunnel
            raise PeerError(f"{mode} is not available: the tunnel's far end is the device's peer")
        if mode != "drop":
            self._require_writable(mode)
        peer = self.peer
        if peer is None:
            if mode == "drop":
                return
            raise PeerError(f"{mode} needs a device tapwatch holds")
        peer.check(mode)
        src = self.device_source
        if src is not None and mode != peer.mode:
            # the peer must see every frame the host sends; in drop mode only what matches
            # need enter the ring
            src.set_capture_filter(self.capture_filter if mode == "drop" else None)
        peer.mode = mode

    def inject(self, data: bytes) -> None:
        """Write one frame into the device (the UI's resend and crafted packets)."""
        self._require_writable("inject")
        if not data:
            raise PeerError("nothing to send: the packet is empty")
        src = self.device_source
        if not isinstance(src, DeviceSource):
            raise PeerError("no device to write to")
        src.inject(data)  # recorded too: the host receives it

    def write_problem(self, what: str) -> str | None:
        """Why ``what`` cannot write into the device now, or None when it can."""
        src = self.device_source
        if src is None:
            reason = self.info.read_only_reason
            if reason:
                return f"{what} is not available: {reason}"
            return f"{what} needs a live device ({self.info.name} is a {self.info.kind} source)"
        if src.read_only_reason:
            return f"{what} is not available: {src.read_only_reason}"
        if src.state == "gone":
            return f"{what} is not available: the device is gone"
        return None

    def _require_writable(self, what: str) -> None:
        problem = self.write_problem(what)
        if problem:
            raise PeerError(problem)

    # ----- views -----------------------------------------------------------------------
    def wire_length(self, rec: Record) -> int:
        """The packet's length on the wire: more than its bytes when the capture cut it."""
        extra = self.ring.extra(rec.seq)
        if extra is not None and extra.wire_len is not None:
            return extra.wire_len
        return len(rec.data)

    def comment(self, rec: Record) -> str | None:
        """The capture file's comment on this packet (and tapwatch's, when it had to change
        what the file said, such as a timestamp out of range), if there is one."""
        extra = self.ring.extra(rec.seq)
        return extra.comment if extra is not None else None

    def crossing(self, rec: Record) -> str | None:
        """tapwatch's word on this packet: another input saw it too (where, how long before)."""
        extra = self.ring.extra(rec.seq)
        return extra.note if extra is not None else None

    def inner_frames(self, rec: Record) -> list[bytes] | None:
        """The tunnel frames this segment completes (its stream reassembled), None if it
        carries none (or the ring no longer holds it)."""
        extra = self.ring.extra(rec.seq)
        if extra is None or extra.inner is None:
            return None
        return list(extra.inner)

    def side_words(self, rec: Record) -> tuple[str | None, list[bytes] | None]:
        """:meth:`crossing` and :meth:`inner_frames` in one look at the ring: what a row's
        Info adds to the decoder's (the list draws it and sorts every row by it)."""
        extra = self.ring.extra(rec.seq)
        if extra is None:
            return None, None
        return extra.note, list(extra.inner) if extra.inner is not None else None

    def summary(self, rec: Record) -> decode.Summary:
        """Decoded summary of a record, cached by seq (the UI asks for the same rows often).

        An interface event's: protocol "event", its interface as the source, its words as
        the info.
        """
        cache = self._summaries
        s = cache.get(rec.seq)
        if s is None:
            lt = self._linktypes[rec.iface]
            if lt == LINKTYPE_NETLINK:
                text = self.event_text(rec)
                name, _, what = text.partition(": ")
                s = decode.Summary("event", name, "", what, ("event",), False, text, "")
            else:
                s = decode.summarize(rec.data, lt)
            cache[rec.seq] = s
            if len(cache) > 4096:
                cache.popitem(last=False)
        return s

    def link_info(self, force: bool = False) -> LinkInfo | None:
        """The device's link info, asked of the kernel at most once a second (kept after close)."""
        src = self.device_source
        link_info = getattr(src, "link_info", None)
        return link_info(force) if link_info is not None else None

    def kernel_dropped(self) -> int | None:
        """Packets the kernel dropped before tapwatch could capture them, over every source.

        None when no source can tell (files, or a reader that cannot count).
        """
        total = None
        for s in self.sources:
            d = s.kernel_drops()
            if d is not None:
                total = (total or 0) + d
        return total

    def _inputs(self) -> Sequence[int]:
        """Each interface's input where the session is one file source merging several
        (``-r a -r b``: its interface numbers are the merge's), else empty: the linker
        links packets of one input (one host) only."""
        if len(self.sources) == 1 and isinstance(self.sources[0], FileSource):
            cap = self.sources[0].capture
            if getattr(cap, "rename", False):
                inputs: Sequence[int] = getattr(cap, "input_of", ())
                return inputs
        return ()

    def held_dropped(self) -> int:
        """Packets read from the kernel that ``-i any``'s holding queue let go (their link
        was not announced yet): tapwatch's loss, never counted as the kernel's."""
        return sum(s.held_drops() for s in self.sources)

    def arrival_rate(self) -> float:
        """Packets arriving per second, by the wall clock, over about the last second.

        Counted where packets arrive (the ring), not from their timestamps: a
        pump that lags behind must not make a flood look idle.
        """
        now = time.monotonic()
        t0, n0, rate = self._rate
        n = self.ring.next_seq - 1
        if now - t0 >= _RATE_WINDOW_S:
            rate = (n - n0) / (now - t0)
            self._rate = (now, n, rate)
        return rate

    # ----- the status snapshot ------------------------------------------------------------
    def status(self, now_ns: int | None = None) -> Status:
        """Everything the status bar shows, at once; ``now_ns`` pins the rate's clock."""
        if self._pump_thread is None:
            self.refresh_sources()  # no pump thread keeps them fresh (tests, scripts)
        ring = self.ring
        info = self.info
        peer = self.peer
        echo = peer.echo if peer is not None else None
        files = self.sink(FileSink)
        if self.live:
            pps = self.arrival_rate()
        else:
            pps = self.stats.pps(time.time_ns() if now_ns is None else now_ns)
        tunnel = self.tunnel
        return Status(
            interfaces=tuple((i.name, i.kind) for i in self.interfaces if i.kind != "events"),
            addresses=tuple(info.addresses),
            mtu=self._mtu_now.get(info.name, info.mtu) if info.mtu else info.mtu,
            mtu_of=info.name,
            device_state=self.device_state,
            capture=self.capture_state(),
            stop_reason=self.stop_reason,
            loading=self._loading(),
            peer=self.peer_role(),
            mode=self.peer_mode,
            peer_mac=info.peer_mac,
            replies_sent=peer.replies_sent if peer is not None else 0,
            action_error=peer.action_error if peer is not None else None,
            echo_warning=echo.warning if echo is not None else None,
            echo_loops=echo.loops if echo is not None else 0,
            tunnel=_tunnel_line(tunnel) if tunnel is not None else None,
            captured=self.stats.total_packets,
            bytes=self.stats.total_bytes,
            pps=pps,
            ring_len=len(ring),
            ring_max=ring.max_packets,
            filtering=self.capture_filter is not None,
            writing=files is not None,
            written=files.written if files is not None else 0,
            write_error=files.write_error if files is not None else None,
            evicted=ring.evicted,
            kernel_dropped=self.kernel_dropped(),
            kernel_drops_meaning=self.kernel_drops_meaning(),
            missed=self.missed,
            notice=self.notice,
            events=self.events,
            linktypes=self._linktype_names(),
            held_dropped=self.held_dropped(),
            unrecorded=tunnel.counters.unrecorded if tunnel is not None else 0,
        )

    def _linktype_names(self) -> tuple[str, ...]:
        """Each interface's link type in words, when a file (or several) holds more than one."""
        from tapwatch.linktypes import name

        if len(set(self._linktypes)) < 2 or not all(
            isinstance(s, FileSource) for s in self.sources
        ):
            return ()
        return tuple(name(lt) for lt in self._linktypes)

    def capture_state(self) -> CaptureState:
        """Whether packets can still arrive: stopped only when no source can bring any."""
        if not self.live and self.device is None:
            return "offline"
        if self.stop_requested.is_set():
            return "stopped"
        going = [
            s
            for s in self.sources
            if s.kind != "events" and id(s) not in self._ended and s.state not in ("gone", "error")
        ]
        if not going and any(s.state is not None for s in self.sources):
            return "stopped"
        return "live"

    def peer_role(self) -> PeerRole:
        """Who answers what the host sends into the headline interface."""
        kind = self.info.kind
        if kind == "observe":
            return "observing"
        if self.device is None:
            return "file" if kind == "file" else "no-device"
        if self.read_only:
            return "read-only"
        return "tunnel" if self.tunnel is not None else "tapwatch"

    def kernel_drops_meaning(self) -> str:
        """What the kernel-drop figure counts, in a few words, from how the sources read."""
        meanings = {s.kernel_drops_meaning for s in self.sources if s.kernel_drops_meaning}
        return " / ".join(sorted(meanings))

    def _loading(self) -> LoadStatus | None:
        """The first file still loading, or else the first cut short: the user must know."""
        cut = None
        for s in self.sources:
            load = s.load_status()
            if load is None:
                continue
            if not load.done or load.error:
                return load
            if cut is None and load.truncated_at is not None:
                cut = load
        return cut

    def outcomes(self) -> list[str]:
        """What happened to each source that had something happen to it, for the exit summary."""
        lines = list(self.failed)
        for s in self.sources:
            follow = s.follow
            if follow is not None:
                said = follow.outcome()
                if said:
                    lines.append(said)
        return lines

    def sources_failed(self) -> bool:
        """Whether a source stopped for good or never appeared (the exit status says so)."""
        return bool(self.failed) or any(
            s.follow is not None and not s.follow.seen for s in self.sources
        )

    # ----- the end -------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget what is held (the UI's clear); capture and the pcap go on."""
        with self._pump_lock:
            self._pump_locked()  # nothing read so far may miss the pcap or the replies
            self.ring.clear()
            self._cursor = self.ring.next_seq
            self.counted_before_clear += self.stats.total_packets
            self.stats.reset()
            self._summaries.clear()
            if self.linker is not None:
                self.linker.reset()

    def close(self) -> None:
        """Stop threads, process what is left, close output and release the sources."""
        for sink in self.sinks:
            sink.halt()
        for s in self.sources:
            s.stop()
        for s in self.sources:
            for reader in [s.reader, *s.retired]:  # (readers of links that went, too)
                if reader is not None and reader.is_alive():
                    reader.join(timeout=2)
        self._stopping.set()
        self.wake.set()
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=5)
            self._pump_thread = None
        self.pump()
        for sink in self.sinks:
            sink.close()
        for s in self.sources:
            s.close()

    def exit_line(self) -> str:
        """The exit line, tcpdump-like, with every loss named."""
        st = self.status()
        total = st.captured + self.counted_before_clear  # the counters restart at a clear
        live = not all(isinstance(src, FileSource) for src in self.sources)
        parts = [f"{total} packets {'captured' if live else 'read'}"]
        if self.capture_filter is not None:
            seen = self.processed + self.missed + sum(s.filtered_out for s in self.sources)
            parts.append(f"{seen} seen")
        parts.append(f"{st.evicted} evicted from ring")
        meaning = st.kernel_drops_meaning
        if live:  # a file has no kernel to drop anything
            parts.append(
                f"{st.kernel_dropped} dropped by kernel ({meaning})"
                if st.kernel_dropped is not None and meaning
                else f"{st.kernel_dropped} dropped by kernel"
                if st.kernel_dropped is not None
                else "kernel drops unknown"
            )
        if st.held_dropped:
            parts.append(
                f"{st.held_dropped} dropped waiting for their link's announcement "
                "(-i any's holding queue)"
            )
        if st.unrecorded:
            parts.append(
                f"{st.unrecorded} carried by the tunnel but not recorded "
                "(the relay's queue was full)"
            )
        if st.missed:
            parts.append(f"{st.missed} not processed (ring wrapped)")
        files = self.sink(FileSink)
        if files is not None and files.not_written:
            parts.append(f"{files.not_written} not written (the file's format cannot hold them)")
        if st.replies_sent:
            parts.append(f"{st.replies_sent} frames written into the device")
        if self.events:
            parts.append(f"{self.events} interface events")
        if files is not None and files.events_not_written:
            parts.append(
                f"{files.events_not_written} interface events not written "
                "(classic pcap holds one link type: write .pcapng)"
            )
        line = ", ".join(parts)
        if self.tunnel is not None:
            line += "; " + self.tunnel.summary_text()
        return line


def _tunnel_line(tunnel: Tunnel) -> str | None:
    """The tunnel's status line; a status line must never take the UI down."""
    try:
        text = tunnel.status_text()
    except Exception as e:
        return f"tunnel: status unavailable ({e.__class__.__name__})"
    return str(text) if text else None
