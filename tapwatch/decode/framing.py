"""A tunnel's own length-prefixed framing, as the simpletun tutorial program sends it over TCP.

Each frame is a 2-byte big-endian length, then that many bytes: a raw IP packet
for a tun tunnel, an Ethernet frame for a tap tunnel.  A TCP segment may hold
several frames, or part of one, so decoding a connection's stream needs a little
state per direction: :class:`FramedStream`.  The session makes one per direction
of each connection on the port it was told carries the tunnel
(``--tunnel-decode PORT``) and shows the inner frames' summaries.
"""

from __future__ import annotations

from tapwatch.decode.core import Summary
from tapwatch.decode.summary import summarize_with

#: A frame longer than this is taken as a sign the stream is not (or no longer) framed.
MAX_FRAME = 65535


def split_frames(buf: bytes) -> tuple[list[bytes], int]:
    """The whole frames at the start of ``buf`` and how many bytes they used.

    A zero length is a valid empty frame (skipped).  The caller keeps
    ``buf[used:]`` for the next segment.
    """
    frames: list[bytes] = []
    p = 0
    n = len(buf)
    while n - p >= 2:
        ln = buf[p] << 8 | buf[p + 1]
        if n - p - 2 < ln:
            break
        if ln:
            frames.append(buf[p + 2 : p + 2 + ln])
        p += 2 + ln
    return frames, p


class FramedStream:
    """One direction of a framed tunnel connection: feed it TCP payloads in order.

    ``inner_linktype``: ``LINKTYPE_RAW`` (101) for a tun tunnel, ``LINKTYPE_ETHERNET``
    (1) for a tap tunnel.  ``max_buffer`` bounds what is held while waiting for the
    rest of a frame; a stream that would exceed it is resynchronised (the partial
    frame is dropped and counted in ``dropped``).
    """

    def __init__(self, inner_linktype: int, *, max_buffer: int = 4 * (MAX_FRAME + 2)) -> None:
        self.inner_linktype = inner_linktype
        self.max_buffer = max_buffer
        self._buf = b""
        self.dropped = 0  # bytes discarded to resynchronise

    def feed_frames(self, payload: bytes) -> list[bytes]:
        """The inner frames completed by this payload (possibly none)."""
        buf = self._buf + bytes(payload) if self._buf else bytes(payload)
        frames, used = split_frames(buf)
        rest = buf[used:]
        if len(rest) > self.max_buffer:
            self.dropped += len(rest)
            rest = b""
        self._buf = rest
        return frames

    def feed(self, payload: bytes) -> list[Summary]:
        """The summaries of the inner frames completed by this payload."""
        return [
            summarize_with(f, self.inner_linktype, None, False) for f in self.feed_frames(payload)
        ]

    @property
    def pending(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf = b""
