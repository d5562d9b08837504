"""tapwatch as one end of a tunnel: the device's frames over TCP or UDP to a far end.

The wire format is the classic simpletun's, so tapwatch can stand in for
either end of it: TCP (default port 55555), the server accepts one client at a
time, no handshake; each frame is a 2-byte big-endian length and then exactly
that many bytes, in both directions; a tun carries raw IP packets, a tap
Ethernet frames without FCS, and there is no packet-info header. With
``--tunnel-udp`` each datagram is one frame, without the prefix.

Three things about simpletun shape what is sent. It writes the prefix and the
frame with two ``write()`` calls, so what arrives is reassembled by byte count,
never by segment. It reads a frame into a 2000-byte buffer without checking
the length it was given, so tapwatch never sends a frame longer than
``max_frame`` (they are dropped and counted) and never a zero-length frame
(simpletun reads that as the end). And it exits when the peer goes away:
tapwatch's server goes back to listening for the next client, its client
retries with backoff, and capture goes on meanwhile.

Frames read from the device reach :meth:`Tunnel.send` from the session's pump;
frames from the socket go into the device through ``deliver`` (which also
records them, as what the host receives). tapwatch talks to no address but
the peer the user named (a client) or the first one that connected (a server).

A server's peer is whoever reaches it first, so who may take the slot is
guarded: ``allow`` (``--tunnel-allow``) names the networks a peer may come
from; a UDP server takes a new peer only on a well-formed frame (an empty or
malformed datagram never changes the peer) and only once the old peer has
been quiet for ``quiet_s``; a TCP client that sends no complete frame within
``silent_s`` of connecting is closed, so a silent connection cannot hold the
one slot. Each of these is counted, shown in the status line and said.

A TCP tunnel's frames are moved by the compiled relay when the install has it: a native
thread reads the device and the peer's connection and writes each frame to the other side,
never waiting for the GIL; its copies reach the ring through one recorder, in the order moved
(:mod:`tapwatch.tunnelrelay`). Every decision (peers, retries, what is said) stays here;
without the relay, or with ``TAPWATCH_PURE_PYTHON=1`` or ``TAPWATCH_NO_RELAY=1``, the Python
loops below move the frames the same way, only later. UDP tunnels always use them. What a
tunnel end says of its counters is :mod:`tapwatch.tunnelwords`.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from tapwatch.errors import TapwatchError
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.tunnelrelay import RELAY_COUNTERS, DeviceEnd, RelayEnd
from tapwatch.tunnelwire import (
    DEFAULT_MAX_FRAME,
    PREFIX,
    Endpoint,
    FrameDecoder,
    Network,
    Role,
    Transport,
    TunnelCounters,
    TunnelError,
    encode,
    ip_length,
    native_relay,
    well_formed,
)
from tapwatch.tunnelwords import (
    addr_text,
    framing_counts,
    framing_named,
    problems,
    summary_text,
    worded,
)

#: Frames waiting for a slow peer before new ones are dropped (and counted).
MAX_BACKLOG = 4 << 20
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 8.0
#: Once retrying at the longest interval, the same failure is said at most this often.
RETRY_QUIET_S = 60.0
#: A UDP server takes a well-formed frame from a new address as its new peer once the old peer
#: has been quiet this long (a client restarted from another port); until then it is ignored.
PEER_QUIET_S = 2.0
#: A TCP client that sends no complete frame this long after connecting is closed: a silent
#: connection must not hold the server's one slot (0: never).
SILENT_TIMEOUT_S = 10.0

#: Framing problems are said at most this often (a hostile peer must not flood stderr).
FRAMING_SAY_S = 1.0

TunnelState = Literal[
    "listening", "connecting", "connected", "unreachable", "retrying", "stopped", "failed"
]

#: What wakes the stream loop for its connection: data, the peer gone, an error.
_READ = select.POLLIN | select.POLLERR | select.POLLHUP


def _host_address(addr: tuple[object, ...]) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a socket gave, an IPv4-mapped IPv6 address as the IPv4 one it is."""
    try:
        ip = ipaddress.ip_address(str(addr[0]).split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class Tunnel(threading.Thread):
    """One end of a tunnel: a server that waits for its peer, or a client that reaches it."""

    def __init__(
        self,
        role: Role,
        endpoint: Endpoint,
        *,
        transport: Transport = "tcp",
        linktype: int = LINKTYPE_RAW,
        max_frame: int = DEFAULT_MAX_FRAME,
        deliver: Callable[[bytes], None],
        on_event: Callable[[str], None] | None = None,
        allow: tuple[Network, ...] = (),
        quiet_s: float = PEER_QUIET_S,
        silent_s: float = SILENT_TIMEOUT_S,
        device: DeviceEnd | None = None,
    ) -> None:
        super().__init__(name="tapwatch-tunnel", daemon=True)
        self.role = role
        self.endpoint = endpoint
        self.transport = transport
        self.linktype = linktype
        self.max_frame = max_frame
        self.deliver = deliver
        self.on_event = on_event
        self.allow = allow  # empty: any address may be the peer
        self.quiet_s = quiet_s
        self.silent_s = silent_s
        self._counters = TunnelCounters()
        self.state: TunnelState = "listening" if role == "server" else "connecting"
        self.peer: str | None = None
        self.error: str | None = None
        self.retry_in: float | None = None
        self._halt = threading.Event()
        self._lock = threading.Lock()  # the connection and its backlog
        self._conn: socket.socket | None = None
        self._peer_addr: Any = None  # (host, port[, flow, scope]) as recvfrom gives it
        self._backlog = bytearray()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._listener: socket.socket | None = None
        self._udp_client: socket.socket | None = None
        self._peer_heard = 0.0  # monotonic time of the UDP peer's last datagram
        self._told: set[str] = set()  # addresses already named in a warning (bounded)
        relay = native_relay() if transport == "tcp" and device is not None else None
        #: the compiled relay and the device it writes into (None: the Python loops move them)
        self._end = (
            RelayEnd(relay, device, max_frame, linktype == LINKTYPE_RAW, self._halt)
            if relay is not None and device is not None
            else None
        )
        self._framing_said = (0, 0.0)  # framing errors when last said, and when
        #: the framing counts when this peer came: what is said of a peer is its own
        self._framing_base = (0, 0, 0, 0)
        if role == "server":
            self._listener = self._listen()  # now: a port in use is an error at start
        elif transport == "udp":
            self._udp_client = self._udp_connect()  # an unreachable network: said at start

    # ----- set-up --------------------------------------------------------------------------
    def _listen(self) -> socket.socket:
        ep = self.endpoint
        kind = socket.SOCK_STREAM if self.transport == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(ep.family, kind)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ep.family == socket.AF_INET6 and not ep.host:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # v4 too
            sock.bind((ep.host or "::", ep.port))
            if kind == socket.SOCK_STREAM:
                sock.listen(1)
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                raise TunnelError(f"cannot listen on {ep}: the port is in use") from None
            raise TunnelError(f"cannot listen on {ep}: {e.strerror}") from None
        sock.setblocking(False)
        return sock

    # ----- what the pump calls -----------------------------------------------------------
    @property
    def counters(self) -> TunnelCounters:
        """Every count; those the compiled relay keeps are read from it as they are now."""
        c = self._counters
        relay = self._relay
        if relay is not None:
            for name, value in zip(RELAY_COUNTERS, relay.counters(), strict=True):
                setattr(c, name, value)
        return c

    def send(self, frame: bytes) -> None:
        """Send one frame the device gave (its reader's thread); never blocks that thread."""
        if self._relay is not None:  # the relay reads the device itself: never twice
            return
        n = len(frame)
        conn = self._conn
        # the usual case first, with as little Python as may be before the send: the device's
        # reader calls this the moment it read the frame (bench/tunnel_latency_bench.py)
        if (
            conn is not None
            and 0 < n <= self.max_frame
            and self.state == "connected"
            and self.transport == "tcp"
        ):
            with self._lock:
                if conn is self._conn and not self._backlog and self.state == "connected":
                    data = PREFIX.pack(n) + frame
                    try:
                        sent = conn.send(data)  # the prefix and the frame in one write
                    except BlockingIOError:
                        sent = 0
                    except OSError:  # the tunnel thread sees the broken connection and says so
                        sent = len(data)
                    c = self.counters
                    c.frames_out += 1
                    c.bytes_out += n
                    if sent < len(data):
                        self._queue(data[sent:])
                    return
        self._send_slowly(frame)

    def _send_slowly(self, frame: bytes) -> None:
        """Every case :meth:`send` does not take at once: counted, queued, or over UDP."""
        c = self.counters
        n = len(frame)
        if n == 0:
            c.empty_out += 1
            return
        if n > self.max_frame:
            c.too_long_out += 1
            return
        with self._lock:
            conn = self._conn
            # "unreachable": a UDP client keeps sending (the far end may come up)
            if conn is None or self.state not in ("connected", "unreachable"):
                c.no_peer += 1
                return
            if self.transport == "udp":
                try:
                    if self.role == "server":
                        conn.sendto(frame, self._peer_addr)
                    else:
                        conn.send(frame)
                except BlockingIOError:
                    c.backlog_full += 1
                    return
                except ConnectionRefusedError:  # an earlier datagram's port unreachable
                    c.unreachable += 1
                    return
                except OSError:
                    c.no_peer += 1
                    return
                c.frames_out += 1
                c.bytes_out += n
                return
            data = encode(frame)
            if len(self._backlog) + len(data) > MAX_BACKLOG:
                c.backlog_full += 1
                return
            c.frames_out += 1
            c.bytes_out += n
            if self._backlog:
                self._backlog += data
                return
            try:
                sent = conn.send(data)  # the prefix and the frame in one write
            except BlockingIOError:
                sent = 0
            except OSError:
                return  # the tunnel thread sees the broken connection and says so
            if sent < len(data):
                self._queue(data[sent:])

    def _queue(self, data: bytes) -> None:
        """Start the backlog (under the lock)."""
        self._backlog += data
        self._poke()

    @property
    def _relay(self) -> Any:
        """The compiled relay (``tapwatch._relay.Relay``), or None: the Python loops."""
        return self._end.relay if self._end is not None else None

    @property
    def relays(self) -> bool:
        """Whether the device's reader should hand the device over (:meth:`relay_device`)."""
        return self._end is not None

    def without_relay(self) -> None:
        """The Python loops move the frames: the device's reader cannot hand the device over
        (another capture path reads it), and frames must not reach the peer from two threads.
        Only before the tunnel starts."""
        assert self.ident is None
        self._end = None

    def relay_device(self, fd: int, wait_ms: int) -> tuple[int, bool]:
        """The device's reader hands its descriptor ``fd`` to the relay (see
        :meth:`RelayEnd.hand_device`)."""
        assert self._end is not None
        return self._end.hand_device(fd, wait_ms)

    def _udp_connect(self) -> socket.socket:
        ep = self.endpoint
        sock = socket.socket(ep.family, socket.SOCK_DGRAM)
        try:
            sock.connect((ep.host, ep.port))
        except OSError as e:
            sock.close()
            raise TunnelError(f"cannot reach {ep} (udp): {e.strerror or e}") from None
        sock.setblocking(False)
        return sock

    def _poke(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"!")

    # ----- the thread ----------------------------------------------------------------------
    def run(self) -> None:
        try:
            if self._end is not None:
                self._end.start()
            if self.role == "server":
                self._serve()
            else:
                self._connect_loop()
        except Exception as e:  # a bug must not pass silently: the status says it
            self._set_state("failed", f"tunnel failed: {type(e).__name__}: {e}")
        finally:
            self._close_conn()
            if self._end is not None:
                self._end.stop()
            if self._listener is not None:
                self._listener.close()
            self._sel.close()
            self._wake_r.close()
            self._wake_w.close()
            if self.state != "failed":
                self.state = "stopped"

    def stop(self) -> None:
        self._halt.set()
        self._poke()
        if self.is_alive():
            self.join(timeout=3)

    def _event(self, text: str) -> None:
        if self.on_event is not None:
            self.on_event(text)

    def _set_state(self, state: TunnelState, text: str | None = None) -> None:
        self.state = state
        if state == "failed":
            self.error = text
        if text:
            self._event(text)

    def _serve(self) -> None:
        listener = self._listener
        assert listener is not None
        ep = self.endpoint
        self._event(f"tunnel: listening on {ep} ({self.transport})")
        if self.transport == "udp":
            self._run_udp(listener)
            return
        while not self._halt.is_set():
            self.state = "listening"
            conn = self._accept(listener)
            if conn is None:
                return
            self._run_stream(conn)
            if not self._halt.is_set():
                self._event(f"tunnel: {self.peer} went away; listening on {ep} again")
                self.peer = None

    def _accept(self, listener: socket.socket) -> socket.socket | None:
        sel = self._sel
        sel.register(listener, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._halt.is_set():
                for key, _ in sel.select(0.5):
                    if key.fileobj is self._wake_r:
                        self._drain_wake()
                        continue
                    try:
                        conn, addr = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as e:
                        self._event(f"tunnel: accept failed: {e.strerror}")
                        time.sleep(0.1)
                        continue
                    if not self._allowed(addr):
                        with contextlib.suppress(OSError):
                            conn.close()
                        self._not_allowed(addr, "connection")
                        continue
                    self.peer = addr_text(addr)
                    return conn
            return None
        finally:
            sel.unregister(listener)
            sel.unregister(self._wake_r)

    def _connect_loop(self) -> None:
        ep = self.endpoint
        delay = RETRY_FIRST_S
        said = 0.0
        if self.transport == "udp":
            sock = self._udp_client
            assert sock is not None
            self.peer = str(ep)
            self._event(f"tunnel: sending to {ep} (udp)")
            self._run_udp(sock)
            return
        while not self._halt.is_set():
            self.state = "connecting"
            self.retry_in = None
            sock = socket.socket(ep.family, socket.SOCK_STREAM)
            sock.settimeout(5.0)
            try:
                sock.connect((ep.host, ep.port))
            except OSError as e:
                sock.close()
                why = e.strerror or ("timed out" if isinstance(e, TimeoutError) else str(e))
                self.state = "retrying"
                self.retry_in = delay
                self.error = why
                now = time.monotonic()
                if delay < RETRY_MAX_S or now - said >= RETRY_QUIET_S:  # not every 8 s
                    every = f" (then every {RETRY_MAX_S:g} s)" if delay >= RETRY_MAX_S else ""
                    self._event(f"tunnel: cannot reach {ep}: {why}; retrying in {delay:g} s{every}")
                    said = now
                if self._halt.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self.error = None
            self.peer = str(ep)
            delay = RETRY_FIRST_S
            self._run_stream(sock)
            if not self._halt.is_set():
                self.state = "retrying"
                self.retry_in = delay
                self._event(f"tunnel: {ep} went away; reconnecting in {delay:g} s")
                if self._halt.wait(delay):
                    return

    def _run_stream(self, conn: socket.socket) -> None:
        """Carry frames over one TCP connection until it ends or tapwatch stops."""
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stalls
        decoder = FrameDecoder(self.counters, self.max_frame, self.linktype)
        with self._lock:
            self._conn = conn
            self._backlog.clear()
            # before the relay takes the connection: its thread counts this peer's at once
            self._framing_base = framing_counts(self.counters)
            if self._relay is not None:
                self._relay.attach(conn.fileno())  # the relay's from now: sends, backlog
            self.state = "connected"
            self.counters.connections += 1
        self._event(f"tunnel: connected to {self.peer}")
        if self._relay is not None:
            self._relay_stream(conn)
            return
        # select.poll, not the selector: its modify is no system call, and what it returns
        # is (fd, events) with nothing built around it; the time from waking to writing
        # the frame into the device is this loop's (bench/tunnel_latency_bench.py)
        cfd = conn.fileno()
        poller, wfd, lfd, silent_until = self._stream_poller(cfd, _READ)
        listener = self._listener
        recv, feed, deliver = conn.recv, decoder.feed, self._deliver
        max_frame, raw = self.max_frame, self.linktype == LINKTYPE_RAW
        halt = self._halt
        writing = False
        try:
            while not halt.is_set():
                # read without the lock: send() pokes the wake pipe after it queues, so a
                # backlog that appears just after this look still wakes the loop
                if bool(self._backlog) is not writing:
                    writing = not writing
                    poller.modify(cfd, _READ | select.POLLOUT if writing else _READ)
                wait = self._silent_wait(silent_until)
                if wait < 0:
                    decoder.end()
                    return
                for fd, events in poller.poll(wait):
                    if fd == cfd:
                        if events & _READ:
                            try:
                                data = recv(65536)
                            except (BlockingIOError, InterruptedError):
                                data = None
                            except OSError:
                                data = b""
                            if data is not None:
                                if not data:
                                    decoder.end()
                                    return
                                n = len(data) - 2
                                if (
                                    not decoder._buf
                                    and not decoder._skip
                                    and 0 < n <= max_frame
                                    and (data[0] << 8 | data[1]) == n
                                ):  # the usual segment, one whole frame alone: into the
                                    # device at once, its IP length looked at afterwards
                                    silent_until = None
                                    frame = data[2:]
                                    deliver(frame)
                                    if raw and ip_length(frame) not in (None, n):
                                        self.counters.length_mismatch += 1
                                else:
                                    for frame in feed(data):
                                        silent_until = None  # a frame: a peer, not a squatter
                                        deliver(frame)
                                # ACK at once: simpletun writes the prefix and the frame apart,
                                # and with Nagle on its side the frame waits for this ACK, which
                                # a delayed ACK would hold back ~40 ms. After the frames are in
                                # the device: the system call is not in the way of what the
                                # peer sent.
                                with contextlib.suppress(OSError):
                                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                                self._say_framing()
                        if events & select.POLLOUT and not self._flush_backlog(conn):
                            decoder.end()
                            return
                    elif fd == wfd:
                        self._drain_wake()
                    elif fd == lfd:
                        self._turn_away(listener)  # type: ignore[arg-type]
        finally:
            self._say_framing(force=True)
            self._close_conn()

    def _relay_stream(self, conn: socket.socket) -> None:
        """:meth:`_run_stream`'s loop with the compiled relay: its thread moves the frames and
        keeps the backlog; this one waits for what it says (the peer left, its first frame,
        framing problems), a second client to turn away, a silent client's time, the stop."""
        relay = self._relay
        assert relay is not None
        poller, wfd, lfd, silent_until = self._stream_poller(relay.fileno(), select.POLLIN)
        listener = self._listener
        halt = self._halt
        try:
            while not halt.is_set():
                wait = self._silent_wait(silent_until)
                if wait < 0:
                    return
                for fd, _ in poller.poll(wait):
                    if fd == wfd:
                        self._drain_wake()
                    elif fd == lfd:
                        self._turn_away(listener)  # type: ignore[arg-type]
                ended, heard, _running = relay.state()
                if heard:
                    silent_until = None  # a frame: a peer, not a squatter
                self._say_framing()
                if ended:
                    return
        finally:
            self._say_framing(force=True)
            self._close_conn()

    def _stream_poller(self, fd: int, events: int) -> tuple[select.poll, int, int, float | None]:
        """A stream loop's poller: ``fd`` (the connection, or the relay's note) for
        ``events``, the wake pipe, and a server's listener (a second client is turned away, not
        left in the queue). Returns it with the wake pipe's and the listener's descriptors (-1:
        none) and when a server's silent client is closed (None: never)."""
        poller = select.poll()
        wfd = self._wake_r.fileno()
        poller.register(fd, events)
        poller.register(wfd, select.POLLIN)
        lfd = -1
        listener = self._listener
        if listener is not None:
            lfd = listener.fileno()
            poller.register(lfd, select.POLLIN)
        # a server's client must send a frame soon: a silent connection must not hold the slot
        silent_until = (
            time.monotonic() + self.silent_s if listener is not None and self.silent_s > 0 else None
        )
        return poller, wfd, lfd, silent_until

    def _silent_wait(self, silent_until: float | None) -> int:
        """How long a stream loop may wait (ms) before its client's silent time runs out; -1
        when it has run out: counted and said, the loop closes the connection."""
        if silent_until is None:
            return 500
        left = silent_until - time.monotonic()
        if left <= 0:
            self._counters.silent_closed += 1
            self._event(
                f"tunnel: {self.peer} sent no frame in {self.silent_s:g} s of "
                "connecting; closed it to free the slot"
            )
            return -1
        return min(500, int(left * 1000) + 1)

    def _turn_away(self, listener: socket.socket) -> None:
        try:
            extra, addr = listener.accept()
        except OSError:
            return
        with contextlib.suppress(OSError):
            extra.close()
        if not self._allowed(addr):
            self._not_allowed(addr, "connection")
            return
        self.counters.refused += 1
        self._warn_once(
            str(addr[0]),
            f"tunnel: turned away {addr_text(addr)}: {self.peer} is connected (one peer at a time)",
        )

    def _allowed(self, addr: tuple[object, ...]) -> bool:
        """Whether ``addr`` may be the peer (``--tunnel-allow``; anyone when none is given)."""
        if not self.allow:
            return True
        ip = _host_address(addr)
        return ip is not None and any(ip in net for net in self.allow)

    def _not_allowed(self, addr: tuple[object, ...], what: str) -> None:
        self.counters.not_allowed += 1
        self._warn_once(
            "allow " + str(addr[0]),
            f"tunnel: ignoring {what}s from {addr_text(addr)}: not in --tunnel-allow",
        )

    def _warn_once(self, key: str, text: str) -> None:
        """Say ``text`` the first time for ``key`` (an address); the counters keep the rest."""
        if key in self._told or len(self._told) >= 64:
            return
        self._told.add(key)
        self._event(text)

    def _say_framing(self, force: bool = False) -> None:
        """Framing problems as they happen (at most once a second), not only at exit."""
        c = self.counters
        said, when = self._framing_said
        if c.framing_errors == said:
            return
        now = time.monotonic()
        if not force and now - when < FRAMING_SAY_S:
            return
        self._framing_said = (c.framing_errors, now)
        framing = worded(framing_named(self.counters, self.max_frame, since=self._framing_base))
        if framing:  # (none: the counts went up before this peer came)
            self._event(f"tunnel: framing problems from {self.peer}: {'; '.join(framing)}")

    def _flush_backlog(self, conn: socket.socket) -> bool:
        with self._lock:
            if not self._backlog:
                return True
            try:
                sent = conn.send(self._backlog)
            except BlockingIOError:
                return True
            except OSError:
                return False
            del self._backlog[:sent]
            return True

    def _run_udp(self, sock: socket.socket) -> None:
        """One frame per datagram; a server learns its peer from the first datagram."""
        client = self.role == "client"
        with self._lock:
            self._conn = sock
            if client:
                self.state = "connected"
                self.counters.connections += 1
        sel = self._sel
        sel.register(sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        c = self.counters
        try:
            while not self._halt.is_set():
                for key, _ in sel.select(0.5):
                    if key.fileobj is self._wake_r:
                        self._drain_wake()
                        continue
                    try:
                        data, addr = sock.recvfrom(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except ConnectionRefusedError:  # ICMP port unreachable from the peer
                        c.unreachable += 1
                        if c.unreachable == 1 or self.state == "connected":
                            self.state = "unreachable"
                            self._event(
                                f"tunnel: {self.endpoint} refuses our datagrams (port "
                                "unreachable): is the far end listening?"
                            )
                        continue
                    except OSError:
                        continue
                    now = time.monotonic()
                    if client:
                        if self.state == "unreachable":
                            self.state = "connected"
                            self._event(f"tunnel: {self.endpoint} answers (udp)")
                    elif self._peer_addr is None or addr[:2] != self._peer_addr[:2]:
                        if not self._udp_newcomer(addr, data, now):
                            continue
                    elif well_formed(data, self.linktype, self.max_frame):
                        self._peer_heard = now  # only a frame keeps the peer's place
                    if not data:
                        c.zero_length += 1
                        continue
                    if len(data) > self.max_frame:
                        c.too_long_in += 1
                        continue
                    if self.linktype == LINKTYPE_RAW and ip_length(data) not in (None, len(data)):
                        c.length_mismatch += 1
                    self._deliver(data)
        finally:
            sel.unregister(sock)
            sel.unregister(self._wake_r)

    def _udp_newcomer(self, addr: Any, data: bytes, now: float) -> bool:
        """A datagram from an address that is not the peer: True when it becomes the peer.

        Only a well-formed frame from an allowed address may, and only when there is no
        peer yet or the peer has been quiet ``quiet_s``: a spoofed empty or malformed
        datagram never moves the tunnel (its device frames) to another address.
        """
        c = self.counters
        if not self._allowed(addr):
            self._not_allowed(addr, "datagram")
            return False
        if not well_formed(data, self.linktype, self.max_frame):
            c.unfit += 1
            self._warn_once(
                "unfit " + str(addr[0]),
                f"tunnel: ignoring a datagram from {addr_text(addr)} that is no frame "
                f"({len(data)} B): only a well-formed frame makes a peer",
            )
            return False
        if self._peer_addr is not None and now - self._peer_heard < self.quiet_s:
            c.foreign += 1
            self._warn_once(
                str(addr[0]),
                f"tunnel: ignoring datagrams from {addr_text(addr)}: "
                f"{self.peer} is the peer (another takes over once it is "
                f"quiet for {self.quiet_s:g} s)",
            )
            return False
        old = self.peer
        with self._lock:
            self._peer_addr = addr
            self.peer = addr_text(addr)
            self.state = "connected"
            c.connections += 1
            self._framing_base = framing_counts(self.counters)
        self._peer_heard = now
        self._event(
            f"tunnel: {self.peer} is the peer (udp)"
            + (f"; {old} was quiet for {self.quiet_s:g} s" if old else "")
        )
        return True

    def _deliver(self, frame: bytes) -> None:
        c = self.counters
        try:
            self.deliver(frame)
        except TapwatchError:
            c.write_errors += 1
            return
        except OSError:
            c.write_errors += 1
            return
        c.frames_in += 1
        c.bytes_in += len(frame)

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._wake_r.recv(4096):
                pass

    def _close_conn(self) -> None:
        with self._lock:
            conn = self._conn
            self._conn = None
            if self._relay is not None:
                self._relay.attach(-1)  # taken before the close: its descriptor is used no more
            self._backlog.clear()
            if self.state == "connected":
                self.state = "listening" if self.role == "server" else "retrying"
        if conn is not None and conn is not self._listener:
            with contextlib.suppress(OSError):
                conn.close()

    # ----- for the status bar and the summary ----------------------------------------------
    def status_text(self) -> str:
        """One line: role, peer, state, frames and bytes each way, framing problems."""
        c = self.counters
        who = self.peer or (str(self.endpoint) if self.role == "client" else "-")
        state: str = self.state
        if state == "retrying" and self.retry_in is not None:
            state = f"retrying ({self.retry_in:g} s)"
        if self.role == "server" and state == "listening":
            state = f"listening on {self.endpoint}"
        parts = [
            f"tunnel {self.role} ({self.transport})",
            f"peer {who}",
            state,
            f"out {c.frames_out:,} frames / {c.bytes_out:,} B",
            f"in {c.frames_in:,} frames / {c.bytes_in:,} B",
        ]
        problems = self.problems()
        if problems:
            parts.append("; ".join(problems))
        return "  ".join(parts)

    def problems(self) -> list[str]:
        """Every non-zero problem counter, in words."""
        return problems(self.counters, self.max_frame)

    def summary_text(self) -> str:
        return summary_text(self.counters, self.max_frame)
