"""The ring a run holds its packets in, sized by the flags, a file's size and free memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapwatch.cli.argtypes import MAX_RING_PACKETS
from tapwatch.cli.messages import Failure

if TYPE_CHECKING:
    from tapwatch.cli.options import RunOptions
    from tapwatch.ring import Ring


def new_ring(opts: RunOptions, file_size: int | None = None) -> Ring:
    """The ring sized by --ring-packets / --ring-bytes, or the defaults.

    ``file_size``: a capture file to browse. A file is no live capture whose
    oldest packets may go: unless told otherwise, the ring is made big enough
    for the whole file when memory allows (at most half of what is available).
    """
    from tapwatch.ring import DEFAULT_MAX_BYTES, DEFAULT_MAX_PACKETS, Ring

    packets = opts.ring_packets or DEFAULT_MAX_PACKETS
    size = opts.ring_bytes or DEFAULT_MAX_BYTES
    if file_size is not None:
        room = available_memory() // 2
        if not opts.ring_bytes:
            size = max(size, min(file_size, room))
        if not opts.ring_packets:
            # a record takes at least 16 bytes of header and, in practice, 40 of packet
            packets = max(packets, min(file_size // 56 + 1, MAX_RING_PACKETS, room // 80))
    try:
        return Ring(packets, size)
    except MemoryError:
        raise Failure(
            f"not enough memory for a ring of {packets:,} packets; "
            "ask for fewer with --ring-packets"
        ) from None


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes (1 GiB when it cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 30
