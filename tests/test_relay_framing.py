"""The compiled relay's reading of a peer's stream, against the framing's rules, on any bytes.

A tunnel peer is a stranger and the relay (tapwatch/_relay.c) is C that parses what it
sends, as root: here random streams of frames (zero lengths, lengths past the limit, frames
of every size) cut into random segments reach the relay's thread through a socket pair and
come out of another (no device, no network): what it writes into the "device" and what it
counts must be what the 2-byte length framing says, whatever the segments, and nothing may
hang or crash. The queue of copies, its full case and stopping are here too.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import struct
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

relay_module = pytest.importorskip("tapwatch._relay", reason="the relay is not compiled here")

MAX_FRAME = 300


@contextlib.contextmanager
def _relay_between(**options: int) -> Iterator[tuple[Any, socket.socket, socket.socket]]:
    """A started relay between a peer's stream and a stand-in device (a packet socket pair),
    stopped and every socket closed after: ``(relay, the peer's end, the host's end)``."""
    peer, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    host, dev = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    dev.setblocking(False)
    relay = relay_module.Relay(MAX_FRAME, False, **options)
    relay.device(dev.fileno(), True)
    relay.attach(ours.fileno())
    relay.start()
    try:
        yield relay, peer, host
    finally:
        relay.stop()
        for s in (peer, ours, host, dev):
            s.close()


def expected(frames: list[bytes | int]) -> tuple[list[bytes], int, int]:
    """The frames the framing delivers, the zero lengths and the lengths past MAX_FRAME."""
    out: list[bytes] = []
    zero = too_long = 0
    for f in frames:
        if isinstance(f, int):  # a claimed length past the limit, its bytes following
            too_long += 1
        elif not f:
            zero += 1
        else:
            out.append(f)
    return out, zero, too_long


def stream_of(frames: list[bytes | int]) -> bytes:
    parts = []
    for f in frames:
        if isinstance(f, int):
            parts.append(struct.pack("!H", f) + bytes(f))
        else:
            parts.append(struct.pack("!H", len(f)) + f)
    return b"".join(parts)


frame = st.one_of(
    st.binary(min_size=0, max_size=MAX_FRAME),
    st.sampled_from([1, 2, MAX_FRAME - 1, MAX_FRAME]).map(lambda n: b"\xab" * n),  # the edges
    st.integers(min_value=MAX_FRAME + 1, max_value=2000),  # too long: read past
    st.just(MAX_FRAME + 1),
)


#: The relay's counters (``Relay.counters()``) this file reads, by position (tunnel.py's order).
FRAMES_IN, ZERO, TOO_LONG_IN, CUT, WRITE_ERRORS, UNRECORDED = 2, 4, 5, 7, 12, 13
TIMEOUT = 20.0


def until(cond: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def unread(sock: socket.socket) -> int:
    """Bytes queued on ``sock`` that the relay has not read yet."""
    return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, bytes(4)), sys.byteorder)


def received(dev: socket.socket, into: list[bytes]) -> int:
    while True:
        try:
            into.append(dev.recv(70000))
        except BlockingIOError:
            return len(into)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(frame, max_size=12),
    cuts=st.lists(st.integers(min_value=1, max_value=700), max_size=30),
)
def test_any_stream_in_any_segments_gives_the_framings_frames_and_counts(
    frames: list[bytes | int], cuts: list[int]
) -> None:
    data = stream_of(frames)
    want, zero, too_long = expected(frames)
    peer, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    dev_in, dev = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    relay = relay_module.Relay(MAX_FRAME, False, linger_us=0)
    relay.device(dev_in.fileno(), False)
    relay.attach(ours.fileno())
    relay.start()
    got: list[bytes] = []
    try:
        dev.setblocking(False)

        def take(segment: bytes) -> None:
            peer.sendall(segment)
            until(lambda: unread(ours) == 0, "the relay never read a segment")  # one at a time

        at = 0
        for cut in cuts:
            if at >= len(data):
                break
            take(data[at : at + cut])
            at += cut
        while at < len(data):
            take(data[at : at + 4096])
            at += 4096
        until(lambda: received(dev, got) >= len(want), "frames never reached the device")
        until(lambda: relay.counters()[FRAMES_IN] == len(want), "frames not counted")
        assert got == want
        recorded: list[bytes] = []
        until(lambda: recorded.extend(r[2] for r in relay.drain(0, 100)) or recorded == want, "")
        counts = relay.counters()
        assert (counts[ZERO], counts[TOO_LONG_IN], counts[WRITE_ERRORS]) == (zero, too_long, 0)
        peer.close()
        until(lambda: relay.state()[0], "the relay never saw the stream end")
        assert relay.counters()[CUT] == 0  # the stream ended between frames
    finally:
        relay.stop()
        for s in (peer, ours, dev_in, dev):
            s.close()


def test_a_stream_cut_inside_a_frame_is_said_to_end_cut_short() -> None:
    peer, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    r, w = os.pipe()
    relay = relay_module.Relay(MAX_FRAME, False)
    relay.device(w, False)
    relay.attach(ours.fileno())
    relay.start()
    try:
        peer.sendall(struct.pack("!H", 100) + b"x" * 40)  # 40 of the 100 bytes
        until(lambda: unread(ours) == 0, "the relay never read them")
        assert relay.drain(0, 10) == [] and not relay.state()[0]
        peer.close()
        until(lambda: relay.state()[0], "the relay never saw the stream end")
        assert relay.counters()[CUT] == 1
    finally:
        relay.stop()
        for fd in (r, w):
            os.close(fd)
        ours.close()


def test_a_full_queue_carries_every_frame_and_counts_the_copies_it_let_go() -> None:
    """The recorder is late (it drains nothing): every frame still reaches the device and the
    peer, whole and in order; the queue keeps the first copies and counts the rest."""
    with _relay_between(queue=4) as (relay, peer, host):
        inbound = [b"in %d" % i for i in range(10)]
        outbound = [b"out %d" % i for i in range(10)]
        peer.sendall(stream_of(list(inbound)))
        got: list[bytes] = []
        host.setblocking(False)
        until(lambda: received(host, got) == 10, "the peer's frames never all reached the device")
        assert got == inbound
        for f in outbound:
            host.send(f)
        peer.settimeout(TIMEOUT)
        want = stream_of(list(outbound))
        sent = b""
        while len(sent) < len(want):
            sent += peer.recv(65536)
        assert sent == want  # the device's frames all went to the peer, framed, in order
        until(lambda: relay.counters()[UNRECORDED] == 16, "the copies let go were not counted")
        assert [r[2] for r in relay.drain(0, 100)] == inbound[:4]  # the first, in order
        host.send(b"after")  # room again: copies are kept again
        later: list[bytes] = []
        until(lambda: later.extend(r[2] for r in relay.drain(10, 10)) or later, "no copy")
        assert later == [b"after"]


def test_copies_are_queued_in_the_order_the_frames_moved_with_rising_stamps() -> None:
    """A request read from the device, then its reply from the peer: the request's copy comes
    first and its stamp is no later (one thread moves both ways: the ring numbers them so)."""
    with _relay_between(out_dir=1, in_dir=0) as (relay, peer, host):
        peer.settimeout(TIMEOUT)
        moved: list[tuple[int, int, bytes]] = []
        for i in range(50):
            host.send(b"request %d" % i)
            framed = peer.recv(100)
            assert framed[2:] == b"request %d" % i
            peer.sendall(stream_of([b"reply %d" % i]))
            host.settimeout(TIMEOUT)
            assert host.recv(100) == b"reply %d" % i
        until(lambda: moved.extend(relay.drain(10, 1000)) or len(moved) == 100, "copies lost")
        assert [(d, f) for _ts, d, f in moved] == [
            x for i in range(50) for x in ((1, b"request %d" % i), (0, b"reply %d" % i))
        ]
        stamps = [ts for ts, _d, _f in moved]
        assert stamps == sorted(stamps)


def test_stop_ends_the_thread_while_frames_flow_and_after_the_peer_and_device_went() -> None:
    """Stopping never hangs: with the peer sending a stream and the device's other end gone,
    the thread is joined, and after it no descriptor is touched (closing them is safe)."""
    with _relay_between(queue=16) as (relay, peer, host):
        peer.setblocking(False)
        chunk = stream_of([b"f" * 200] * 50)
        for _ in range(50):  # the peer keeps the relay busy
            with contextlib.suppress(BlockingIOError):
                peer.send(chunk)
        host.close()  # the device goes away
        err, gone = relay.wait_device(int(TIMEOUT * 1000))
        assert gone
        # the stand-in's end closed with frames the relay wrote still unread: its next read
        # is a reset rather than an end of file, as the race goes (a tun device has neither)
        assert err in (0, errno.ECONNRESET)
        peer.close()  # and the peer
        until(lambda: relay.state()[0], "the relay never saw the peer leave")
        relay.attach(-1)  # taken: the descriptor may be closed
        relay.device(-1, False)
        relay.stop()
        assert relay.state()[2] is False  # not running
        relay.stop()  # twice is harmless
        counts = relay.counters()
        assert counts[FRAMES_IN] + counts[WRITE_ERRORS] > 0  # it was moving the peer's frames


def test_a_stop_beside_another_returns_only_once_the_thread_ended() -> None:
    """Two callers stop the relay while its thread is inside a write into the device (a
    full pipe): one joins the thread, and the other returned at once, the thread still
    running, free to close a descriptor the thread was about to use. Both now return only
    once the thread ended."""
    peer, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    r, w = os.pipe()
    os.set_blocking(w, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(w, b"\0" * 4096)
    os.set_blocking(w, True)
    relay = relay_module.Relay(MAX_FRAME, False)
    relay.device(w, False)
    relay.attach(ours.fileno())
    relay.start()
    running_after: list[bool] = []

    def stop() -> None:
        relay.stop()
        running_after.append(relay.state()[2])

    stoppers = [threading.Thread(target=stop) for _ in range(2)]
    try:
        peer.sendall(stream_of([b"x" * 200]))
        until(lambda: unread(ours) == 0, "the relay never read the frame")  # now in the write
        for t in stoppers:
            t.start()
        # neither may return while the write blocks (nothing to wait for: a bounded look)
        stoppers[0].join(timeout=0.5)
        stoppers[1].join(timeout=0.5)
        os.set_blocking(r, False)
        with contextlib.suppress(BlockingIOError):
            while os.read(r, 65536):
                pass
        for t in stoppers:
            t.join(timeout=TIMEOUT)
        assert running_after == [False, False]
    finally:
        os.set_blocking(r, False)
        with contextlib.suppress(BlockingIOError):
            while os.read(r, 65536):
                pass
        relay.stop()
        for fd in (r, w):
            os.close(fd)
        peer.close()
        ours.close()
