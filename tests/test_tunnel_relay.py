"""A TCP tunnel end moving frames through the compiled relay (tapwatch/_relay.c) and without it.

Each test runs a :class:`~tapwatch.tunnel.Tunnel` in its own namespace (its loopback) against a
bare TCP peer, the device stood in for by a datagram socket pair (one frame per read and per
write, as a tun gives them). Both ways are run: with the relay, when this install has it, and
with ``TAPWATCH_PURE_PYTHON=1`` (tunnel.py's own loops); what reaches each side and every counter
must be the same.
"""

from __future__ import annotations

import os
import sys

import pytest
from netns import Netns, needs_netns
from test_tunnel import ip4

from tapwatch.tunnelwire import native_relay

WAYS = [
    pytest.param(
        "native",
        marks=pytest.mark.skipif(native_relay() is None, reason="the relay is not built or not on"),
    ),
    "python",
]

#: What both scripts start with: the stand-in device, the tunnel's news, a bounded wait.
_COMMON = """
import os, socket, struct, sys, time
from tapwatch.tunnel import Tunnel
from tapwatch.tunnelwire import Endpoint, FrameDecoder, TunnelCounters, encode
host, dev = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
dev.setblocking(False)
host.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
recorded, events = [], []

class Device:
    def writable_fd(self):
        return dev.fileno()
    def written(self, records):
        recorded.extend(r[2] for r in records)

def deliver(frame):  # tunnel.py's own loop: into the device, then recorded
    dev.send(frame)
    recorded.append(frame)

def until(cond, what):
    deadline = time.monotonic() + 20
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)
"""


def _run(ns: Netns, way: str, code: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TAPWATCH_PURE_PYTHON"}
    if way == "python":
        env["TAPWATCH_PURE_PYTHON"] = "1"
    ns.run(["ip", "link", "set", "lo", "up"], check=True)
    r = ns.run([sys.executable, "-c", _COMMON + code], env=env, timeout=90)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize("way", WAYS)
def test_the_peer_s_frames_split_anyhow_bad_lengths_and_a_peer_leaving_mid_frame(
    ns: Netns, way: str
) -> None:
    """Peer -> device: a frame a byte per segment, a prefix apart from its frame, a zero
    length, a length over the limit read past across segments, an IP length that disagrees,
    and the peer leaving mid-frame: the same frames in the device, the same counts."""
    a, b, c, odd = ip4(b"a" * 30), ip4(b"b" * 5), ip4(b"c" * 200), ip4(total=99)
    code = f"""
t = Tunnel("server", Endpoint("127.0.0.1", 0), deliver=deliver, device=Device(),
           on_event=events.append)
assert t.relays == {way == "native"}, t.relays
port = t._listener.getsockname()[1]
t.start()
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def out(data):
    s.sendall(data)
    time.sleep(0.002)  # one segment each (the pacing of a slow peer)
for i, byte in enumerate(encode({a!r})):  # a byte at a time
    out(bytes([byte]))
out(struct.pack("!H", 0))  # zero length
out(struct.pack("!H", 3000) + b"y" * 1000)  # over the 2000-byte limit: read past
out(b"y" * 2000 + encode({odd!r})[:5])  # the rest of it, and a frame begun
out(encode({odd!r})[5:] + encode({b!r}))
out(struct.pack("!H", {len(c)}))  # simpletun's two writes
out({c!r})
out(struct.pack("!H", 100) + b"cut")  # and leaves mid-frame
until(lambda: len(recorded) == 4, "the frames never reached the device")
s.close()
until(lambda: any("went away" in e for e in events), "the end never saw the peer leave")
want = [{a!r}, {odd!r}, {b!r}, {c!r}]
got = []
host.setblocking(False)
while True:
    try:
        got.append(host.recv(65536))
    except BlockingIOError:
        break
assert got == want, got
assert recorded == want, recorded
k = t.counters
assert (k.zero_length, k.too_long_in, k.length_mismatch, k.cut_short) == (1, 1, 1, 1), k
assert (k.frames_in, k.bytes_in) == (4, sum(map(len, want))), k
until(lambda: t.state == "listening", "the server never listened again")
t.stop()
print("ok")
"""
    _run(ns, way, code)


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize("way", WAYS)
def test_device_frames_stay_whole_and_in_order_when_the_peer_lags_and_then_leaves(
    ns: Netns, way: str
) -> None:
    """Device -> peer: a peer that reads nothing for a while makes sends fall short (a frame
    cut by the socket's buffer, the rest queued); every frame it then reads is whole and in
    order, what could not be queued is counted, an empty or too-long frame is never sent, and
    once the peer is gone frames are counted as having no peer."""
    code = """
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
t = Tunnel("client", Endpoint("127.0.0.1", srv.getsockname()[1]), deliver=deliver,
           device=Device(), on_event=events.append)
assert t.relays == (os.environ.get("TAPWATCH_PURE_PYTHON") is None), t.relays
t.start()
conn, _ = srv.accept()
until(lambda: t.state == "connected", "the client never connected")

if t.relays:  # what the device's reader does: hands the device to the relay's thread
    assert t.relay_device(dev.fileno(), 0) == (0, False)

def move():
    # what the device's reader does without the relay: it reads and calls send
    if t.relays:
        return 0  # the relay's thread reads the device by itself
    n = 0
    while True:
        try:
            frame = dev.recv(65536)
        except BlockingIOError:
            return n
        t.send(frame)
        n += 1

N = 7000
sent = 0
for i in range(N):
    if i == 10:
        host.send(b"")  # never a zero-length frame
    if i == 20:
        host.send(b"q" * 2001)  # never more than simpletun's buffer
    host.send(struct.pack("!I", i) + bytes([i % 251]) * 1396)
    if i % 32 == 31:
        while move():
            pass
def settled():
    while move():
        pass
    k = t.counters
    return k.frames_out + k.backlog_full + k.empty_out + k.too_long_out == N + 2
until(settled, "not every device frame was read")
k = t.counters
assert (k.empty_out, k.too_long_out) == (1, 1), k
assert k.frames_out + k.backlog_full == N, k
assert k.backlog_full > 0, k  # the backlog filled: sends fell short and were queued
conn.settimeout(10)
dec = FrameDecoder(TunnelCounters(), max_frame=2000, linktype=1)
frames = []
while len(frames) < k.frames_out:
    data = conn.recv(1 << 16)
    assert data, "the stream ended early"
    frames += dec.feed(data)
assert len(frames) == k.frames_out
seqs = [struct.unpack_from("!I", f)[0] for f in frames]
assert seqs == sorted(set(seqs)), "out of order or repeated"
for f, i in zip(frames, seqs):
    assert f == struct.pack("!I", i) + bytes([i % 251]) * 1396, i
assert seqs[:2] == [0, 1]
conn.close()
until(lambda: t.state != "connected", "the client never saw the peer leave")
host.send(struct.pack("!I", N) + b"z" * 100)
until(lambda: move() or t.counters.no_peer, "the frame was never read")
until(lambda: t.counters.no_peer == 1, "a frame with no peer was not counted")
t.stop()
print("ok")
"""
    _run(ns, way, code)


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize("way", WAYS)
def test_framing_problems_said_are_the_connected_peer_s_own(ns: Netns, way: str) -> None:
    """The line that names a peer's framing problems counts that peer's only: a later peer
    was said to have sent the zero-length frame an earlier one sent (the counters are the
    session's, the exit summary gives the totals)."""
    a = ip4(b"a" * 30)
    code = f"""
t = Tunnel("server", Endpoint("127.0.0.1", 0), deliver=deliver, device=Device(),
           on_event=events.append)
port = t._listener.getsockname()[1]
t.start()
for n, bad in enumerate([struct.pack("!H", 0), struct.pack("!H", 3000) + b"y" * 3000]):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode({a!r}) + bad + encode({a!r}))
    until(lambda: len(recorded) == 2 * (n + 1), "the frames never reached the device")
    s.close()
    until(lambda: sum("went away" in e for e in events) == n + 1, "the peer never left")
said = [e for e in events if "framing problems" in e]
assert len(said) == 2, events
assert said[0].endswith(": 1 zero-length frame"), said
assert said[1].endswith(": 1 frame over 2000 B from the peer"), said
k = t.counters
assert (k.zero_length, k.too_long_in) == (1, 1), k
assert "1 zero-length frame; 1 frame over 2000 B" in t.summary_text(), t.summary_text()
t.stop()
print("ok")
"""
    _run(ns, way, code)


@needs_netns
@pytest.mark.netns
@pytest.mark.skipif(native_relay() is None, reason="the relay is not built or not on")
def test_each_reply_is_recorded_after_its_request(ns: Netns) -> None:
    """A request from the device, its reply from the peer at once: the records reach the ring
    (``written``) request first, every time. Two threads each recording what it moved had a
    reply numbered before its request about one time in ten."""
    code = """
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
moved = []

class Ring:
    def writable_fd(self):
        return dev.fileno()
    def written(self, records):
        moved.extend(records)

t = Tunnel("client", Endpoint("127.0.0.1", srv.getsockname()[1]), deliver=deliver,
           device=Ring(), on_event=events.append)
t.start()
conn, _ = srv.accept()
conn.settimeout(20)
host.settimeout(20)
until(lambda: t.state == "connected", "the client never connected")
assert t.relay_device(dev.fileno(), 0) == (0, False)  # what the device's reader does
N = 300
for i in range(N):
    host.send(b"request %d" % i)
    framed = b""
    while len(framed) < 2 or len(framed) < 2 + (framed[0] << 8 | framed[1]):
        framed += conn.recv(100)
    assert framed[2:] == b"request %d" % i, framed
    conn.sendall(encode(b"reply %d" % i))
    assert host.recv(100) == b"reply %d" % i
until(lambda: len(moved) == 2 * N, "not every frame was recorded")
from tapwatch.kinds import Direction
pairs = ((Direction.OUTBOUND, b"request"), (Direction.INBOUND, b"reply"))
want = [(d, b"%s %d" % (w, i)) for i in range(N) for d, w in pairs]
assert [(d, f) for _ts, d, f in moved] == want
stamps = [ts for ts, _d, _f in moved]
assert stamps == sorted(stamps)
t.stop()
print("ok")
"""
    _run(ns, "native", code)
