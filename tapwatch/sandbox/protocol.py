"""What the evaluation front and the sandbox server say to each other: framed raw bytes.

The front (:mod:`tapwatch.craft`) runs in the capturing process, as root; the server and
the children it forks evaluate text a stranger may have pasted. Nothing crosses the pipes
as a Python object (no pickle, no marshal, nothing the reader would execute): a request is
JSON the front made itself; a reply is a status, the frame's raw bytes and UTF-8 text.
Every message has a length the reader checks against a bound before reading it, and the
front checks a reply again (sizes, one line, decodable) however the child was confined:
a bug or an escape in the child can produce a wrong frame or an error, never a large
read, an object or a second line on the terminal.

A message is ``HEADER`` (kind, request id, payload length) then the payload:

* front -> server: ``EVALUATE`` (a :class:`Request` as JSON), ``CANCEL`` (empty: kill the
  child evaluating that request, if it is still running);
* server -> front: ``READY`` once scapy is imported, then exactly one of ``BUILT``
  (:func:`built_payload`), ``FAILED`` (one line of text) or ``CANCELLED`` per request.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from dataclasses import dataclass

#: Largest frame handed to a device: an IP datagram cannot exceed 65535 bytes, plus an
#: Ethernet header with two VLAN tags.
MAX_FRAME = 65535 + 22
#: Longest expression accepted: room for a whole frame written as ``\xNN`` escapes.
MAX_EXPRESSION = 4 * MAX_FRAME + 1024
#: Characters kept of scapy's one-line summary and of an error message.
MAX_SUMMARY = 240
MAX_MESSAGE = 240

HEADER = struct.Struct("!cII")
_SUMMARY_LEN = struct.Struct("!H")

EVALUATE = b"E"
CANCEL = b"C"
READY = b"R"
BUILT = b"O"
FAILED = b"F"
CANCELLED = b"X"

#: A request's JSON: the expression (each character at most 6 bytes once escaped) and a
#: few short fields.
MAX_REQUEST = 6 * MAX_EXPRESSION + 1024
#: A reply's payload: the summary's length, the summary (UTF-8, 4 bytes a character at
#: most), the frame.
MAX_REPLY = _SUMMARY_LEN.size + 4 * MAX_SUMMARY + MAX_FRAME


class ProtocolError(Exception):
    """A message that breaks the framing or its bounds: the other side is not trusted again."""


@dataclass(frozen=True)
class Request:
    """One expression to evaluate for a device of ``linktype``.

    ``eth_src``/``eth_dst`` are the link addresses every Ethernet layer left without one
    gets (so that scapy never resolves them); ``summary`` asks for scapy's one-line
    summary of the result as well (the preview).
    """

    expr: str
    linktype: int
    eth_src: str
    eth_dst: str
    summary: bool = True

    def encode(self) -> bytes:
        return json.dumps(
            {
                "expr": self.expr,
                "linktype": self.linktype,
                "eth_src": self.eth_src,
                "eth_dst": self.eth_dst,
                "summary": self.summary,
            }
        ).encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> Request:
        try:
            obj = json.loads(data)
            req = cls(
                str(obj["expr"]),
                int(obj["linktype"]),
                str(obj["eth_src"]),
                str(obj["eth_dst"]),
                bool(obj["summary"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"bad request: {exc}") from None
        return req


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` with every run of whitespace (newlines included) one space, cut at ``limit``."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def built_payload(frame: bytes, summary: str) -> bytes:
    """A ``BUILT`` reply: the summary's length, the summary, the frame's bytes."""
    text = one_line(summary, MAX_SUMMARY).encode("utf-8")
    return _SUMMARY_LEN.pack(len(text)) + text + frame


def parse_built(payload: bytes) -> tuple[bytes, str]:
    """The frame and summary of a ``BUILT`` reply, checked: a frame of 1..MAX_FRAME bytes."""
    if len(payload) < _SUMMARY_LEN.size:
        raise ProtocolError("a built reply without its summary length")
    (size,) = _SUMMARY_LEN.unpack_from(payload)
    if size > 4 * MAX_SUMMARY or _SUMMARY_LEN.size + size > len(payload):
        raise ProtocolError("a summary longer than allowed")
    start = _SUMMARY_LEN.size + size
    frame = payload[start:]
    if not frame or len(frame) > MAX_FRAME:
        raise ProtocolError(f"a frame of {len(frame)} bytes")
    summary = one_line(payload[_SUMMARY_LEN.size : start].decode("utf-8", "replace"), MAX_SUMMARY)
    return bytes(frame), summary


def parse_failed(payload: bytes) -> str:
    """The one-line message of a ``FAILED`` reply (never empty, never two lines)."""
    if len(payload) > 4 * MAX_MESSAGE:
        raise ProtocolError("an error message longer than allowed")
    return one_line(payload.decode("utf-8", "replace")) or "the expression could not be built"


def frame_message(kind: bytes, request_id: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, request_id, len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    """Exactly ``size`` bytes from ``fd``, waiting until ``deadline`` (monotonic) at most.

    Raises :class:`EOFError` when the other side closed, :class:`TimeoutError` when the
    deadline passed first.
    """
    parts: list[bytes] = []
    left = size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 16))
        if not chunk:
            raise EOFError
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_message(fd: int, limit: int, deadline: float | None = None) -> tuple[bytes, int, bytes]:
    """One message: kind, request id, payload; a payload over ``limit`` is a ProtocolError."""
    kind, request_id, size = HEADER.unpack(read_exact(fd, HEADER.size, deadline))
    if size > limit:
        raise ProtocolError(f"a message of {size} bytes (at most {limit})")
    return kind, request_id, read_exact(fd, size, deadline)
