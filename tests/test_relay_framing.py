"""The compiled relay's reading of a peer's stream, against the framing's rules, on any bytes.

A tunnel peer is a stranger and the relay (tapwatch/_relay.c) is C that parses what it
sends, as root: here random streams of frames (zero lengths, lengths past the limit, frames
of every size) cut into random segments go through ``Relay.inbound`` between two socket pairs
(no device, no network): what it writes into the "device" and what it counts must be what
the 2-byte length framing says, whatever the segments, and nothing may hang or crash.
"""

from __future__ import annotations

import os
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

relay_module = pytest.importorskip("tapwatch._relay", reason="the relay is not compiled here")

MAX_FRAME = 300


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
    relay = relay_module.Relay(MAX_FRAME, False)
    relay.attach(ours.fileno())
    got: list[bytes] = []
    recorded: list[bytes] = []
    counts = [0, 0]
    try:
        dev.setblocking(False)

        def take(segment: bytes) -> None:
            if segment:
                peer.sendall(segment)
            result = relay.inbound(ours.fileno(), dev_in.fileno(), [], False, 0, 0, 0)
            recs, _events, _revents, eof, _frames, z, long_, _mismatch, errors = result
            assert not eof and not errors
            counts[0] += z
            counts[1] += long_
            recorded.extend(r[2] for r in recs)
            while True:
                try:
                    got.append(dev.recv(70000))
                except BlockingIOError:
                    break

        at = 0
        for cut in cuts:
            if at >= len(data):
                break
            take(data[at : at + cut])
            at += cut
        while at < len(data):
            take(data[at : at + 4096])
            at += 4096
        for _ in range(3):  # whatever the last read left in the relay's buffer
            take(b"")
        assert got == want
        assert recorded == want
        assert counts == [zero, too_long]
        peer.close()
        _recs, _ev, _rev, eof, *_ = relay.inbound(
            ours.fileno(), dev_in.fileno(), [], False, 50, 0, 0
        )
        assert eof
        assert relay.end() is False  # the stream ended between frames
    finally:
        for s in (peer, ours, dev_in, dev):
            s.close()


def test_a_stream_cut_inside_a_frame_is_said_to_end_cut_short() -> None:
    peer, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    r, w = os.pipe()
    relay = relay_module.Relay(MAX_FRAME, False)
    relay.attach(ours.fileno())
    try:
        peer.sendall(struct.pack("!H", 100) + b"x" * 40)  # 40 of the 100 bytes
        recs, *_ = relay.inbound(ours.fileno(), w, [], False, 50, 0, 0)
        assert recs == []
        peer.close()
        _recs, _ev, _rev, eof, *_ = relay.inbound(ours.fileno(), w, [], False, 50, 0, 0)
        assert eof and relay.end() is True
    finally:
        for fd in (r, w):
            os.close(fd)
        ours.close()
