"""Packets to inject, built from a scapy expression in a limited process: the evaluation front.

The inject dialog previews an expression such as ``IP(dst="192.168.3.11")/UDP(dport=9)``
while it is typed and, on Enter, writes the previewed bytes into the device. That text is
a stranger's as much as a packet is (pasted from a ticket or a chat) and tapwatch runs as
root, so it is never evaluated in this process: one value of a few gigabytes made here
holds the interpreter, and with it the capture thread, for seconds (a flood lost a third
of its packets to one paste), and no check of known types catches every way to make one.

Instead a warm server process (:mod:`tapwatch.sandbox.server`) that imported scapy once
forks, per evaluation, a child confined by limits and walls (:mod:`tapwatch.sandbox.confine`)
and kills it at its time. This module starts that server, sends it requests, waits for the
answer in the caller's thread (a worker: the UI thread never waits here) and checks what
comes back: raw bytes and one line of text, bounded, never a Python object. A newer preview
cancels an older one still being evaluated (its child is killed), so a stale paste costs
nothing once the user types on.

Every failure is a one-line :class:`CraftError`: "too big", "took too long", a syntax error
with its column, a refused host name, the number of packets a range stands for.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from typing import Final, NamedTuple

from tapwatch.errors import TapwatchError
from tapwatch.keeper import PerProcess
from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.sandbox.confine import Limits
from tapwatch.sandbox.protocol import (
    BUILT,
    CANCEL,
    CANCELLED,
    EVALUATE,
    FAILED,
    MAX_EXPRESSION,
    MAX_FRAME,
    MAX_REPLY,
    READY,
    ProtocolError,
    Request,
    frame_message,
    parse_built,
    parse_failed,
    read_message,
    write_all,
)

__all__ = [
    "DEFAULT_ETH_DST",
    "DEFAULT_ETH_SRC",
    "MAX_EXPRESSION",
    "MAX_FRAME",
    "Builder",
    "Cancelled",
    "CraftError",
    "Crafted",
    "build",
    "cancel_previews",
    "preview",
    "warm",
]

#: Default Ethernet addresses for frames built for a tap. The source matches nothing in
#: particular (locally administered); the destination is broadcast, which Linux accepts
#: for unicast IP unless drop_unicast_in_l2_multicast is set. Callers that know better
#: pass the responder's MAC and the tap's own MAC.
DEFAULT_ETH_SRC = "02:00:00:00:00:01"
DEFAULT_ETH_DST = "ff:ff:ff:ff:ff:ff"

#: How long the server may take to import scapy and say it is ready (a loaded machine
#: gives a process at the lowest priority little time), and how much longer than a
#: child's wall time the server may take to answer.
START_SECONDS = 60.0
SLACK_SECONDS = 5.0

_SERVER = (
    "import sys; sys.path.append(sys.argv[1]); "
    "from tapwatch.sandbox.server import main; main(sys.argv[2:])"
)


class CraftError(TapwatchError):
    """The expression could not be turned into a frame for this device; one-line message."""


class Cancelled(CraftError):
    """A newer preview replaced this one before it was answered (its child was killed)."""


class Crafted(NamedTuple):
    """What an expression built: the frame for the device, and scapy's summary of it.

    The summary is text from an evaluation of untrusted input: sanitize it before display.
    """

    data: bytes
    summary: str


def _mac_text(mac: str | bytes | None, default: str) -> str:
    if mac is None:
        return default
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise CraftError(f"a MAC address has 6 bytes, not {len(mac)}")
        return ":".join(f"{b:02x}" for b in mac)
    return mac


def _check_frame(data: bytes, linktype: int) -> None:
    """The last look at the bytes before they may reach a device: the right kind of frame."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            raise CraftError(f"the sandbox gave {len(data)} bytes, not an Ethernet frame")
    elif data[0] >> 4 not in (4, 6):
        raise CraftError("the sandbox gave bytes that are not an IP packet")


class _Server:
    """One server process and its two pipes (the front's end)."""

    def __init__(self, limits: Limits) -> None:
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _SERVER, package_parent, json.dumps(asdict(limits))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
            cwd="/",
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.send_fd = self.proc.stdin.fileno()
        self.reply_fd = self.proc.stdout.fileno()
        self.ready = False
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Close its input (it leaves and kills any child), then make sure it is gone."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Builder:
    """Evaluates expressions in the sandbox server, one at a time, from any thread.

    ``evaluate`` blocks its caller until the answer (or the wall time) and is meant for
    worker threads. Previews (``supersede=True``) replace each other: a newer one cancels
    an older one that is still being evaluated or still waiting its turn.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._server: _Server | None = None
        self._exclusive = threading.Lock()  # one exchange with the server at a time
        self._state = threading.Lock()  # the fields below
        self._write = threading.Lock()  # one message on the server's input at a time
        self._ids = itertools.count(1)
        self._generation = 0  # of previews: a waiting preview with an older one gives up
        self._inflight: int | None = None  # the preview being evaluated now
        self._cancel_sent: set[int] = set()
        self._closed = False
        #: previews answered "cancelled": their child was killed for a newer one
        self.cancelled = 0

    @property
    def evaluating(self) -> bool:
        """Whether a preview is being evaluated now (a newer one would have it killed)."""
        return self._inflight is not None

    # ---- the server's life ----------------------------------------------------------------

    def warm(self) -> None:
        """Start the server now (it imports scapy while the user types); returns at once."""
        with self._state:
            self._server_locked()

    def _server_locked(self) -> _Server:
        if self._closed:
            raise CraftError("the packet builder is shut down")
        if self._server is None or not self._server.alive():
            if self._server is not None:
                self._server.stop()
            try:
                self._server = _Server(self.limits)
            except OSError as exc:
                raise CraftError(f"cannot start the packet builder: {exc}") from None
        return self._server

    def _discard(self, server: _Server) -> None:
        """A server that broke the protocol or stopped answering is never asked again."""
        with self._state:
            if self._server is server:
                self._server = None
        server.stop()

    def close(self) -> None:
        with self._state:
            self._closed = True
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    # ---- requests --------------------------------------------------------------------------

    def cancel(self) -> None:
        """Cancel every preview being evaluated or waiting (the dialog closed or moved on)."""
        with self._state:
            self._generation += 1
            request_id, server = self._inflight, self._server
        if request_id is not None and server is not None:
            self._send_cancel(server, request_id)

    def _send_cancel(self, server: _Server, request_id: int) -> None:
        with self._state:
            if request_id in self._cancel_sent:
                return
            self._cancel_sent.add(request_id)
        try:
            with self._write:
                write_all(server.send_fd, frame_message(CANCEL, request_id))
        except OSError:
            pass  # the server is gone: the evaluating thread finds out and says so

    def evaluate(
        self,
        expr: str,
        linktype: int,
        *,
        eth_src: str | bytes | None = None,
        eth_dst: str | bytes | None = None,
        summary: bool = True,
        supersede: bool = False,
    ) -> Crafted:
        """Evaluate ``expr`` for a device of ``linktype``; a one-line CraftError if it fails."""
        if not expr.strip():
            raise CraftError(
                'empty expression: type a scapy expression such as IP(dst="10.0.0.1")/ICMP()'
            )
        if len(expr) > MAX_EXPRESSION:
            raise CraftError(f"the expression is {len(expr)} characters; at most {MAX_EXPRESSION}")
        request = Request(
            expr,
            linktype,
            _mac_text(eth_src, DEFAULT_ETH_SRC),
            _mac_text(eth_dst, DEFAULT_ETH_DST),
            summary,
        )
        ticket = None
        if supersede:
            self.cancel()
            with self._state:
                ticket = self._generation
        with self._exclusive:
            for attempt in (1, 2):
                try:
                    crafted = self._exchange(request, ticket)
                except _Retry:
                    if attempt == 2:
                        raise CraftError("the packet builder keeps stopping") from None
                    continue
                _check_frame(crafted.data, linktype)
                return crafted
        raise AssertionError("unreachable")

    def _exchange(self, request: Request, ticket: int | None) -> Crafted:
        with self._state:
            server = self._server_locked()
        if not server.ready:
            self._wait_ready(server)
        with self._state:
            if ticket is not None and ticket != self._generation:
                raise Cancelled("a newer preview replaced this one")
            request_id = next(self._ids)
            if ticket is not None:
                self._inflight = request_id
        try:
            try:
                with self._write:
                    write_all(server.send_fd, frame_message(EVALUATE, request_id, request.encode()))
            except OSError:
                self._discard(server)  # e.g. it had just left after a long idle time
                raise _Retry from None
            return self._answer(server, request_id)
        finally:
            with self._state:
                self._inflight = None
                self._cancel_sent.discard(request_id)

    def _wait_ready(self, server: _Server) -> None:
        deadline = server.started + START_SECONDS
        try:
            kind, _, _ = read_message(server.reply_fd, 0, deadline)
        except TimeoutError:
            self._discard(server)
            raise CraftError(
                f"the packet builder did not start within {START_SECONDS:g} s"
            ) from None
        except (EOFError, ProtocolError, OSError):
            self._discard(server)
            raise CraftError("the packet builder could not start (is scapy installed?)") from None
        if kind != READY:
            self._discard(server)
            raise CraftError("the packet builder did not start properly")
        server.ready = True

    def _answer(self, server: _Server, request_id: int) -> Crafted:
        deadline = time.monotonic() + self.limits.wall + SLACK_SECONDS
        while True:
            try:
                kind, reply_id, payload = read_message(server.reply_fd, MAX_REPLY, deadline)
            except TimeoutError:
                self._discard(server)
                raise CraftError("the packet builder stopped answering") from None
            except EOFError:
                self._discard(server)
                raise _Retry from None
            except (ProtocolError, OSError) as exc:
                self._discard(server)
                raise CraftError(f"the packet builder broke its protocol ({exc})") from None
            if reply_id != request_id:
                continue  # the answer to a request whose thread has given up
            try:
                if kind == BUILT:
                    return Crafted(*parse_built(payload))
                if kind == FAILED:
                    raise CraftError(parse_failed(payload))
            except ProtocolError as exc:
                self._discard(server)
                raise CraftError(f"the packet builder gave an invalid answer ({exc})") from None
            if kind == CANCELLED:
                self.cancelled += 1
                raise Cancelled("a newer preview replaced this one")
            self._discard(server)
            raise CraftError(f"the packet builder gave an unknown answer {kind!r}")


class _Retry(Exception):
    """The server went away before answering: start another and ask once more."""


_BUILDER: Final = PerProcess(Builder)


def builder() -> Builder:
    """The process's one builder (and server), closed when the process exits."""
    return _BUILDER.get()


def warm() -> None:
    """Start the server so that the first preview does not wait for scapy's import."""
    builder().warm()


def cancel_previews() -> None:
    """Kill the preview being evaluated, if any (the dialog closed)."""
    made = _BUILDER.made()
    if made is not None:
        made.cancel()


def preview(
    expr: str,
    linktype: int,
    *,
    eth_src: str | bytes | None = None,
    eth_dst: str | bytes | None = None,
) -> Crafted:
    """The frame ``expr`` builds for the device and scapy's summary of those final bytes.

    A newer preview replaces this one (:class:`Cancelled`). The bytes are exactly what is
    to be written: a tun gets an IPv4/IPv6 packet (an ``Ether()/IP()`` frame loses its
    Ethernet header), a tap an Ethernet frame (a bare ``IP``/``IPv6``/``ARP`` is wrapped
    in ``Ether(src=eth_src, dst=eth_dst)``, and every Ethernet layer left without an
    address gets these instead of a lookup).
    """
    return builder().evaluate(
        expr, linktype, eth_src=eth_src, eth_dst=eth_dst, summary=True, supersede=True
    )


def build(
    expr: str,
    linktype: int,
    *,
    eth_src: str | bytes | None = None,
    eth_dst: str | bytes | None = None,
) -> bytes:
    """The frame ``expr`` builds for the device, as :func:`preview` but never replaced."""
    return builder().evaluate(expr, linktype, eth_src=eth_src, eth_dst=eth_dst, summary=False).data
