"""Capture: a live source -> ``(timestamp_ns, direction, bytes)`` records -> the ring.

A reader does nothing else per packet: every extra step here costs capture.
Decoding, counting, writing and the display happen later, in the session's
pump and in the UI. Every reader is a :class:`CaptureReader` (a thread): one
interface, one path, one typed failure.

- :class:`Reader` reads a tun/tap device tapwatch holds (module ``tuntap``):
  the kernel's TPACKET_V3 ring, else a reading child process, else a thread.
- :class:`PacketSocketReader` observes any interface read-only (``observer``).
- ``tpacket`` holds the kernel's ring and its BPF programs, ``child`` the
  child processes and their shared-memory protocol.
"""

from tapwatch.capture.base import (
    ENV_PATH,
    CaptureFailure,
    CaptureReader,
    DeviceGone,
    ReadFailed,
    requested_path,
)
from tapwatch.capture.observer import PacketSocketReader, open_packet_socket
from tapwatch.capture.tuntap import ProcessReader, Reader, ThreadReader, TpacketReader

__all__ = [
    "ENV_PATH",
    "CaptureFailure",
    "CaptureReader",
    "DeviceGone",
    "PacketSocketReader",
    "ProcessReader",
    "ReadFailed",
    "Reader",
    "ThreadReader",
    "TpacketReader",
    "open_packet_socket",
    "requested_path",
]
