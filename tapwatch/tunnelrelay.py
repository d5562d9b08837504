"""The compiled relay's Python side: the device handed to its thread, and the recorder.

A TCP tunnel end's frames are moved by :mod:`tapwatch._relay` (hand-written C for a measured
hot path: bench/RESULTS.md) when the install has it: a native thread reads the device and the
peer's connection and writes each frame to the other side, never waiting for the GIL. This
module owns what Python does around it: the device's descriptor, set once by whichever of the
device's reader and the tunnel's thread comes first (under one lock, so a hand-over is never
undone), and the one recorder thread that drains the relay's copies into the ring, both
directions in the order they were moved (two recorders numbered a reply before its request).
Peers, retries and what is said stay in :mod:`tapwatch.tunnel`.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from tapwatch.kinds import Direction

#: The compiled relay wakes the recorder once the tunnel has been quiet this long (or once
#: many copies wait): what a frame woke runs first, not the recorder, the ring's lock and the
#: pump (bench/RESULTS.md). Well inside the reordering window (tapwatch.reorder).
RECORD_AFTER_US = 250
#: Copies of moved frames the relay keeps for the recorder; more are carried, counted, not kept.
RECORD_QUEUE = 8192
#: Longest the recorder waits for copies before it looks whether the tunnel stops.
RECORD_WAIT_MS = 200

#: The relay's counters (``Relay.counters()``), in its order: the TunnelCounters it owns.
RELAY_COUNTERS = (
    "frames_out",
    "bytes_out",
    "frames_in",
    "bytes_in",
    "zero_length",
    "too_long_in",
    "length_mismatch",
    "cut_short",
    "too_long_out",
    "empty_out",
    "no_peer",
    "backlog_full",
    "write_errors",
    "unrecorded",
)

#: What the relay returns for each frame it moved: (stamp in ns, direction, frame).
Moved = list[tuple[int, int, bytes]]


class DeviceEnd(Protocol):
    """The device a tunnel end writes into itself, with the compiled relay."""

    def writable_fd(self) -> int:
        """The descriptor to write the peer's frames into; -1 while it may not be written."""

    def written(self, records: Moved) -> None:
        """Record frames the relay moved, both directions, in the order it moved them
        (stamped as each was read from the device, or as its write into the device began)."""


class RelayEnd:
    """The relay (``relay_class``: ``tapwatch._relay.Relay``), its device and its recorder.

    ``halt``: the tunnel's stop, which ends the recorder's loop too."""

    def __init__(
        self,
        relay_class: Any,
        device: DeviceEnd,
        max_frame: int,
        raw: bool,
        halt: threading.Event,
    ) -> None:
        self.relay = relay_class(
            max_frame,
            raw,
            queue=RECORD_QUEUE,
            linger_us=RECORD_AFTER_US,
            out_dir=Direction.OUTBOUND,
            in_dir=Direction.INBOUND,
        )
        self.device = device
        self._halt = halt
        self._device_fd = -1  # the descriptor the device's reader handed the relay
        self._device_lock = threading.Lock()  # the reader and the tunnel set the relay's device
        self._recorder: threading.Thread | None = None

    def hand_device(self, fd: int, wait_ms: int) -> tuple[int, bool]:
        """The device's reader hands its descriptor ``fd`` to the relay (-1: takes it back, and
        the relay uses it no more once this returns) and watches it instead of reading it:
        waits up to ``wait_ms`` and returns the errno of a failed read (0: none) and whether the
        device is gone. The frames it reads reach the ring through the recorder."""
        relay = self.relay
        if fd != self._device_fd:
            with self._device_lock:
                self._device_fd = fd
                relay.device(fd, fd >= 0)
        if fd < 0:
            return 0, False
        err, dead = relay.wait_device(wait_ms)
        return int(err), bool(dead)

    def start(self) -> None:
        """The relay's thread, writing the peer's frames into the device (read once the
        device's reader hands it over), and the recorder that drains its copies."""
        relay = self.relay
        with self._device_lock:  # the reader may have handed it over already: it reads it too
            if self._device_fd < 0:
                relay.device(self.device.writable_fd(), False)
        relay.start()
        self._recorder = threading.Thread(
            target=self._record, name="tapwatch-tunnel-recorder", daemon=True
        )
        self._recorder.start()

    def _record(self) -> None:
        """Drain the relay's copies into the ring, in the order it moved the frames: the one
        thread that does (two would number a reply before its request)."""
        drain, written, halt = self.relay.drain, self.device.written, self._halt
        while not halt.is_set():
            moved = drain(RECORD_WAIT_MS, RECORD_QUEUE)
            if moved:
                written(moved)

    def stop(self) -> None:
        """The relay's thread ends (no descriptor is used after this), then what it queued is
        recorded."""
        self.relay.stop()
        self._halt.set()
        if self._recorder is not None:
            self._recorder.join(timeout=2)
        moved = self.relay.drain(0, RECORD_QUEUE)
        if moved:
            self.device.written(moved)
