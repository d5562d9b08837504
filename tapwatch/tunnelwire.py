"""The simpletun wire format a tunnel end speaks, and the addresses it is given.

A TCP tunnel carries each frame as a 2-byte big-endian length and then exactly that many
bytes; a UDP tunnel one frame per datagram. What is here knows the bytes only (framing,
what a well-formed frame is, how a peer's address is written); the thread that moves frames
between the device and the peer is :mod:`tapwatch.tunnel`.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

from tapwatch.errors import TapwatchError
from tapwatch.linktypes import LINKTYPE_RAW

DEFAULT_PORT = 55555
DEFAULT_MAX_FRAME = 2000
#: An Ethernet header: a tap frame shorter than this is no frame.
_ETHER_HEADER = 14

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Role = Literal["server", "client"]
Transport = Literal["tcp", "udp"]

PREFIX = struct.Struct("!H")


class TunnelError(TapwatchError):
    """The tunnel cannot be set up as asked; the message names the fix."""


@dataclass(frozen=True)
class Endpoint:
    """An IP address (never a name: tapwatch resolves nothing) and a port."""

    host: str
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        if not self.host:
            return socket.AF_INET6
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host or '*'}:{self.port}"


def parse_endpoint(text: str, *, listen: bool) -> Endpoint:
    """``PORT``, ``ADDR:PORT``, ``ADDR``, ``[V6ADDR]:PORT``; port 55555 when none is given.

    A listening end may leave the address out (every address); a connecting
    end must name one. Host names are refused: the user names the address.
    """
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise TunnelError(f"invalid address {text!r}: a bracket is not closed")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise TunnelError(f"invalid address {text!r}: want [ADDR]:PORT")
        port_text = rest[1:]
        if rest == ":":
            raise TunnelError(f"invalid address {text!r}: a port after ':' (1-65535)")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text:
            raise TunnelError(f"invalid address {text!r}: a port after ':' (1-65535)")
    elif text.isdigit() or text.lstrip("+-").isdigit():
        host, port_text = "", text
    if host:
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise TunnelError(
                f"{host!r} is not an IP address (tapwatch resolves no host "
                "names: give the peer's address)"
            ) from None
    elif not listen:
        raise TunnelError("--tunnel-connect needs the peer's address (HOST[:PORT])")
    port = DEFAULT_PORT
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise TunnelError(f"invalid port {port_text!r} (1-65535)")
        port = int(port_text)
    return Endpoint(host, port)


@dataclass
class TunnelCounters:
    """What crossed the tunnel and every framing problem, each counted."""

    frames_out: int = 0  # device -> peer
    bytes_out: int = 0
    frames_in: int = 0  # peer -> device
    bytes_in: int = 0
    zero_length: int = 0  # a zero length prefix from the peer
    too_long_in: int = 0  # a prefix above max_frame from the peer (skipped)
    length_mismatch: int = 0  # a frame whose IP total length says otherwise
    cut_short: int = 0  # the peer went away in the middle of a frame
    too_long_out: int = 0  # device frames too long for the peer's buffer (not sent)
    empty_out: int = 0  # zero-length device frames (never sent)
    no_peer: int = 0  # device frames while nobody was connected
    backlog_full: int = 0  # device frames dropped because the peer did not keep up
    foreign: int = 0  # UDP datagrams from an address that is not the peer
    refused: int = 0  # TCP clients turned away while another was connected
    not_allowed: int = 0  # connections or datagrams from addresses --tunnel-allow leaves out
    unfit: int = 0  # datagrams from a would-be peer that are no well-formed frame (ignored)
    silent_closed: int = 0  # TCP clients closed for sending no frame in time
    unreachable: int = 0  # ICMP port unreachable for our datagrams (nobody listening there)
    write_errors: int = 0  # frames the device refused
    unrecorded: int = 0  # frames the relay carried whose copies its full queue let go
    connections: int = 0

    @property
    def framing_errors(self) -> int:
        return self.zero_length + self.too_long_in + self.length_mismatch + self.cut_short


@dataclass
class FrameDecoder:
    """Reassembles simpletun frames from a byte stream, by count, whatever the segments.

    Problems are counted in ``counters`` and never stop decoding: a zero
    length is skipped, a length above ``max_frame`` is read past (the stream
    stays in step), a tun frame whose IP header disagrees with its length is
    still delivered (the kernel judges it; the capture shows it).
    """

    counters: TunnelCounters
    max_frame: int = DEFAULT_MAX_FRAME
    linktype: int = LINKTYPE_RAW
    _buf: bytearray = field(default_factory=bytearray)
    _skip: int = 0  # bytes of an oversized frame still to read past

    def feed(self, data: bytes) -> list[bytes]:
        if not self._buf and not self._skip:  # the usual segment: one whole frame, alone
            n = len(data) - 2
            if 0 < n <= self.max_frame and (data[0] << 8 | data[1]) == n:
                frame = data[2:]  # no copy into the buffer and out again: time before the write
                if self.linktype == LINKTYPE_RAW and ip_length(frame) not in (None, n):
                    self.counters.length_mismatch += 1
                return [frame]
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        pos = 0
        c = self.counters
        while True:
            if self._skip:
                n = min(self._skip, len(buf) - pos)
                pos += n
                self._skip -= n
                if self._skip:
                    break
            if len(buf) - pos < 2:
                break
            (n,) = PREFIX.unpack_from(buf, pos)
            if n == 0:
                c.zero_length += 1
                pos += 2
                continue
            if n > self.max_frame:
                c.too_long_in += 1
                pos += 2
                self._skip = n
                continue
            if len(buf) - pos - 2 < n:
                break
            frame = bytes(buf[pos + 2 : pos + 2 + n])
            pos += 2 + n
            if self.linktype == LINKTYPE_RAW and ip_length(frame) not in (None, n):
                c.length_mismatch += 1
            frames.append(frame)
        del buf[:pos]
        return frames

    def end(self) -> None:
        """The stream ended: a frame begun and not finished is counted as cut short."""
        if self._buf or self._skip:
            self.counters.cut_short += 1
        self._buf.clear()
        self._skip = 0


def ip_length(frame: bytes) -> int | None:
    """The length an IP packet says it has, None when it is no IP packet tapwatch can read."""
    if not frame:
        return None
    v = frame[0] >> 4
    if v == 4 and len(frame) >= 4:
        return frame[2] << 8 | frame[3]
    if v == 6 and len(frame) >= 6:
        plen = frame[4] << 8 | frame[5]
        return 40 + plen if plen else None  # 0: a jumbogram
    return None


def well_formed(frame: bytes, linktype: int, max_frame: int) -> bool:
    """Whether a datagram is a frame a peer would send: not empty, not over ``max_frame``, on a
    tun an IPv4 or IPv6 packet whose header says its length, on a tap a whole Ethernet header."""
    n = len(frame)
    if not n or n > max_frame:
        return False
    if linktype != LINKTYPE_RAW:
        return n >= _ETHER_HEADER
    v = frame[0] >> 4
    if v == 4:
        return n >= 20 and (frame[0] & 0x0F) >= 5 and ip_length(frame) == n
    if v == 6:
        return n >= 40 and ip_length(frame) == n
    return False


def encode(frame: bytes) -> bytes:
    """One frame as it goes on a TCP tunnel: length prefix and bytes, in one buffer."""
    return PREFIX.pack(len(frame)) + frame


#: At run time, the Python loops instead of the compiled relay (as for the decoder: CI runs both);
#: the second leaves the decoder compiled (a benchmark's before and after in one tree).
PURE_ENV = "TAPWATCH_PURE_PYTHON"
NO_RELAY_ENV = "TAPWATCH_NO_RELAY"


def native_relay() -> Any:
    """The compiled relay's class (``tapwatch._relay.Relay``), or None: not built, or not wanted.

    It moves a TCP tunnel's frames without the GIL (tapwatch/_relay.c); without it tunnel.py's
    own loops move them, with the same counters and the same behaviour, only later.
    """
    if os.environ.get(PURE_ENV) or os.environ.get(NO_RELAY_ENV):
        return None
    try:
        return importlib.import_module("tapwatch._relay").Relay
    except ImportError:
        return None


def describe_relay() -> str:
    """Which relay a TCP tunnel end uses, and why it is Python when it is (``--version``)."""
    if native_relay() is not None:
        return "compiled (a native thread moves the frames, never waiting for the GIL)"
    for name in (PURE_ENV, NO_RELAY_ENV):
        if os.environ.get(name):
            return f"Python ({name} is set)"
    return "Python (tapwatch._relay was not built when it was installed: pip install -v shows why)"
