"""A capture session: one source, the ring, counters, output and the peer actions.

The data flows one way: source (device reader, packet socket, pcap file, or
records fed by a test) -> ring -> pump -> counters / pcap / headless lines /
replies. The pump is the ring's single consumer; it runs in its own thread for
live sessions so the reader only ever reads, and tests call ``pump()``
directly for determinism. The UI reads the ring and ``status()`` on a timer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapwatch import decode
from tapwatch.kinds import Direction
from tapwatch.peer import PeerError
from tapwatch.ring import Record, Ring

if TYPE_CHECKING:
    from tapwatch.capture import Reader
    from tapwatch.device import Device
    from tapwatch.filters import BpfFilter
    from tapwatch.pcap import PacketWriter
    from tapwatch.peer import Responder


@dataclass
class SourceInfo:
    """What the status bar says about where the packets come from."""

    name: str
    kind: str  # "tun", "tap", "file", "observe", "demo"
    addresses: list[str] = field(default_factory=list)
    mtu: int | None = None
    mac: str | None = None
    peer_mac: str | None = None  # the MAC tapwatch answers with in reply mode (tap)
    read_only_reason: str | None = None


@dataclass
class Status:
    """A consistent snapshot for the status bar and the exit summary."""

    live: bool
    device_state: str
    captured: int
    bytes: int
    pps: float
    ring_len: int
    ring_max: int
    ring_bytes: int
    ring_max_bytes: int
    evicted: int
    kernel_dropped: int | None
    missed: int
    replies_sent: int
    mode: str
    write_error: str | None
    written: int


RecordHook = Callable[[Record], None]

MODES = ("drop", "echo", "reply")


class Session:
    """Everything one run of tapwatch watches, independent of how it is shown."""

    def __init__(
        self,
        linktype: int,
        info: SourceInfo,
        *,
        ring: Ring | None = None,
        device: Device | None = None,
        reader: Reader | None = None,
        capture_filter: BpfFilter | None = None,
        writer: PacketWriter | None = None,
        responder: Responder | None = None,
        mode: str = "drop",
    ) -> None:
        from tapwatch.stats import Stats

        self.linktype = linktype
        self.info = info
        self.ring = ring if ring is not None else Ring()
        self.stats = Stats()
        self.device = device
        self.reader = reader
        self.capture_filter = capture_filter
        self.writer = writer
        self.responder = responder
        self.mode = "drop"
        self.replies_sent = 0
        self.missed = 0
        self.write_error: str | None = None
        self.action_error: str | None = None  # last failed reply/echo write, for the status
        self.on_record: RecordHook | None = None  # headless printing hook, in pump thread
        self.on_batch: Callable[[], None] | None = None  # after each pump cycle (flush lines)
        self.limit: int | None = None  # -c N: stop after N packets pass the filter
        self.matched = 0  # records that passed the capture filter
        self.wake = reader.wake if reader is not None else threading.Event()
        self._cursor = self.ring.first_seq  # what the reader got before us counts too
        self._pump_lock = threading.Lock()
        self._pump_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._summaries: OrderedDict[int, decode.Summary] = OrderedDict()
        self._link_cache: tuple[float, object] | None = None
        self._device_state = "file" if device is None and reader is None else "up"
        self._last_flush = time.monotonic()
        self.stop_requested = threading.Event()  # -c reached, device gone, signal...
        self.stop_reason: str | None = None
        self.stop_error = False  # whether the stop was a failure (non-zero exit)
        if mode != "drop":
            self.set_mode(mode)

    # ----- construction helpers -------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        linktype: int,
        records: Iterable[tuple[int, int, bytes]],
        info: SourceInfo | None = None,
        **kw: object,
    ) -> Session:
        """An offline session holding ``(ts_ns, direction, data)`` records, already pumped."""
        s = cls(linktype, info or SourceInfo("records", "file"), **kw)  # type: ignore[arg-type]
        s.ring.extend(records)
        s.pump()
        return s

    # ----- live operation -------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.reader is not None

    @property
    def read_only(self) -> bool:
        return self.info.read_only_reason is not None

    def feed(self, ts_ns: int, direction: int, data: bytes) -> int:
        """Append a record as the reader would (tests and synthetic sources)."""
        seq = self.ring.append(ts_ns, direction, data)
        self.wake.set()
        return seq

    def start(self) -> None:
        """Start the reader and the pump threads."""
        if self.reader is not None and self.reader.ident is None:  # not started yet
            self.reader.start()
        if self._pump_thread is None:
            self._pump_thread = threading.Thread(
                target=self._pump_loop, name="tapwatch-pump", daemon=True
            )
            self._pump_thread.start()

    def _pump_loop(self) -> None:
        while not self._stopping.is_set():
            self.wake.wait(0.1)
            self.wake.clear()
            self.pump()
            self.link_info()  # netlink here, about once a second, never on the UI thread
            reader = self.reader
            if reader is not None and reader.error and not self.stop_requested.is_set():
                self._device_state = "gone" if "went away" in reader.error else "error"
                # the device vanished: everything captured stays held and exportable
                self.request_stop(reader.error, error=True)
        self.pump()

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
            if not records:
                if missed:
                    self._cursor = ring.first_seq
                break
            self._cursor = records[-1].seq + 1
            self._process(records)
            done += len(records)
        if self.limit is not None and self.matched >= self.limit:
            self.request_stop(f"{self.limit} packets captured")
        if done and self.on_batch is not None:
            self.on_batch()
        writer = self.writer
        if writer is not None and self.write_error is None:
            now = time.monotonic()
            if done == 0 or now - self._last_flush > 0.5:
                self._last_flush = now
                try:
                    writer.flush()
                except Exception as e:
                    self._writer_failed(e)
        return done

    def _process(self, records: list[Record]) -> None:
        linktype = self.linktype
        flt = self.capture_filter
        layers = decode.layers
        add = self.stats.add
        writer = self.writer if self.write_error is None else None
        hook = self.on_record
        answer = self._answer if self.mode != "drop" and self.device is not None else None
        for rec in records:
            data = rec.data
            if answer is not None and rec.direction == Direction.OUTBOUND:
                answer(data)
            if flt is not None and not flt.match(data):
                continue
            if self.limit is not None and self.matched >= self.limit:
                continue
            self.matched += 1
            add(layers(data, linktype), len(data), rec.ts_ns)
            if writer is not None:
                try:
                    writer.write(rec.ts_ns, data, rec.direction)
                except Exception as e:
                    self._writer_failed(e)
                    writer = None
            if hook is not None:
                hook(rec)

    def _writer_failed(self, e: Exception) -> None:
        self.write_error = str(e) or e.__class__.__name__
        try:
            if self.writer is not None:
                self.writer.close()
        except Exception:
            pass

    # ----- peer actions --------------------------------------------------------------
    def _answer(self, data: bytes) -> None:
        if self.mode == "echo":
            out = [data]
        elif self.responder is not None:
            out = self.responder.respond(data)
        else:
            return
        for frame in out:
            try:
                self._send(frame)
            except PeerError as e:
                self.action_error = str(e)
                return
            self.replies_sent += 1

    def _send(self, frame: bytes) -> None:
        device = self.device
        if device is None or device.fd < 0:
            raise PeerError("no device to write to")
        try:
            device.write(frame)
        except OSError as e:
            raise PeerError(f"writing to {device.name} failed: {e.strerror}") from None
        # what tapwatch writes is captured too: the host receives it
        self.ring.append(time.time_ns(), Direction.INBOUND, frame)

    def set_mode(self, mode: str) -> None:
        """Switch between drop, echo and reply while running."""
        if mode not in MODES:
            raise PeerError(f"unknown mode {mode!r}: choose drop, echo or reply")
        if mode != "drop":
            self._require_writable(mode)
            if mode == "reply" and self.responder is None:
                raise PeerError("reply mode needs the device's addresses (--addr)")
        self.mode = mode

    def inject(self, data: bytes) -> None:
        """Write one frame into the device (the UI's resend and crafted packets)."""
        self._require_writable("inject")
        if not data:
            raise PeerError("nothing to send: the packet is empty")
        self._send(data)
        self.wake.set()

    def write_problem(self, what: str) -> str | None:
        """Why ``what`` cannot write into the device now, or None when it can."""
        if self.info.read_only_reason:
            return f"{what} is not available: {self.info.read_only_reason}"
        if self.device is None:
            return f"{what} needs a live device ({self.info.name} is a {self.info.kind} source)"
        if self._device_state == "gone":
            return f"{what} is not available: the device is gone"
        return None

    def _require_writable(self, what: str) -> None:
        problem = self.write_problem(what)
        if problem:
            raise PeerError(problem)

    # ----- views -----------------------------------------------------------------------
    def summary(self, rec: Record) -> decode.Summary:
        """Decoded summary of a record, cached by seq (the UI asks for the same rows often)."""
        cache = self._summaries
        s = cache.get(rec.seq)
        if s is None:
            s = decode.summarize(rec.data, self.linktype)
            cache[rec.seq] = s
            if len(cache) > 4096:
                cache.popitem(last=False)
        return s

    def link_info(self, force: bool = False) -> object | None:
        """Device link info, asked of the kernel at most once a second (kept after close)."""
        if self.device is None:
            return None
        now = time.monotonic()
        closed = self.device.fd < 0 and self._link_cache is not None
        if not closed and (force or self._link_cache is None or now - self._link_cache[0] > 1.0):
            info = self.device.link_info()
            if info.state == "gone":
                self._device_state = "gone"
            elif self._device_state != "gone":
                self._device_state = info.state
                self.info.addresses = info.addresses or self.info.addresses
                self.info.mtu = info.mtu or self.info.mtu
            self._link_cache = (now, info)
        return self._link_cache[1]

    def kernel_dropped(self) -> int | None:
        """Packets the kernel dropped before tapwatch could capture them.

        With the packet-ring reader (the default, and observer mode) that is the
        ring's overflow counter; the device queue's own drops are then no capture
        loss. On the fallback readers it is the device queue's tx_dropped.
        """
        drops = getattr(self.reader, "kernel_drops", None)
        if drops is not None:
            return drops()
        if self._pump_thread is not None:
            # the pump thread keeps it fresh; netlink from here could be the UI's event loop,
            # where pyroute2's synchronous calls refuse to run
            info = self._link_cache[1] if self._link_cache is not None else None
        else:
            info = self.link_info()
        return getattr(info, "tx_dropped", None)

    def status(self, now_ns: int | None = None) -> Status:
        """Counters for the status bar; ``now_ns`` pins the rate's clock (tests, files)."""
        ring = self.ring
        w = self.writer
        return Status(
            live=self.live and self._device_state not in ("gone", "error"),
            device_state=self._device_state,
            captured=self.stats.total_packets,
            bytes=self.stats.total_bytes,
            pps=self.stats.pps(time.time_ns() if now_ns is None else now_ns),
            ring_len=len(ring),
            ring_max=ring.max_packets,
            ring_bytes=ring.nbytes,
            ring_max_bytes=ring.max_bytes,
            evicted=ring.evicted,
            kernel_dropped=self.kernel_dropped(),
            missed=self.missed,
            replies_sent=self.replies_sent,
            mode=self.mode,
            write_error=self.write_error,
            written=w.count if w is not None else 0,
        )

    def clear(self) -> None:
        """Forget what is held (the UI's clear); capture and the pcap go on."""
        with self._pump_lock:
            self._pump_locked()  # nothing read so far may miss the pcap or the replies
            self.ring.clear()
            self._cursor = self.ring.next_seq
            self.stats.reset()
            self._summaries.clear()

    def close(self) -> None:
        """Stop threads, process what is left, close output and release the device."""
        if self.reader is not None:
            self.reader.stop()
            if self.reader.is_alive():
                self.reader.join(timeout=2)
        self._stopping.set()
        self.wake.set()
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=5)
            self._pump_thread = None
        self.pump()
        if self.writer is not None and self.write_error is None:
            try:
                self.writer.close()
            except Exception as e:
                self.write_error = str(e)
        if self.device is not None:
            self.link_info(force=True)  # the kernel's final drop count, while the device exists
            self.device.close()

    def summary_line(self) -> str:
        """The exit summary, tcpdump-like, with every loss named."""
        st = self.status()
        parts = [f"{st.captured} packets captured"]
        if self.capture_filter is not None:
            parts.append(f"{len(self.ring) + st.evicted + self.ring.cleared} seen")
        parts.append(f"{st.evicted} evicted from ring")
        parts.append(
            f"{st.kernel_dropped} dropped by kernel" if st.kernel_dropped is not None
            else "kernel drops unknown"
        )
        if st.missed:
            parts.append(f"{st.missed} not processed (ring wrapped)")
        if self.replies_sent:
            parts.append(f"{self.replies_sent} frames written")
        return ", ".join(parts)
