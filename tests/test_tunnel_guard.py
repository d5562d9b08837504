"""Who may be a tunnel server's peer: spoofed and malformed datagrams, --tunnel-allow, silent
TCP clients. Each runs a real tapwatch server in one namespace and strangers in another."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from netns import TAPWATCH, Netns, link_pair, needs_netns, netns
from test_live import wait_addr
from test_tunnel import A_IN, A_OUT, B_IN, B_OUT, ip4, received, wait_listening

from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.tunnelwire import well_formed

B_OTHER = "10.200.0.3"  # a stranger on the same wire as the real peer

#: Sockets in the strangers' namespace, driven one command a line: ``udp NAME ADDR``,
#: ``send NAME HEX``, ``count NAME`` (datagrams received so far), ``tcp NAME ADDR`` (connect
#: and say nothing), ``closed NAME`` (1 once the server closed it), ``pings NAME`` (IPv4
#: ICMP among the datagrams: the tun may also send IPv6 of its own).
ACTOR = f"""
import socket, sys
socks = {{}}
got = {{}}
pings = {{}}
for line in sys.stdin:
    cmd, name, *rest = line.split()
    if cmd == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((rest[0], 0)); s.setblocking(False); socks[name] = s; got[name] = 0
        print("ok", flush=True)
    elif cmd == "send":
        socks[name].sendto(bytes.fromhex(rest[0]) if rest else b"", ("{A_OUT}", 55555))
        print("ok", flush=True)
    elif cmd in ("count", "pings"):
        try:
            while True:
                d = socks[name].recv(65536); got[name] += 1
                pings[name] = pings.get(name, 0) + (len(d) > 20 and d[0] == 0x45 and d[9] == 1)
        except BlockingIOError:
            pass
        print(got[name] if cmd == "count" else pings.get(name, 0), flush=True)
    elif cmd == "tcp":
        s = socket.socket(); s.bind((rest[0], 0)); s.connect(("{A_OUT}", 55555))
        s.setblocking(False); socks[name] = s
        print("ok", flush=True)
    elif cmd == "closed":
        try:
            while socks[name].recv(65536):
                pass
            print(1, flush=True)
        except BlockingIOError:
            print(0, flush=True)
        except OSError:
            print(1, flush=True)
"""


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class Actor:
    """The strangers' sockets, in their namespace."""

    def __init__(self, ns: Netns) -> None:
        self.proc = ns.popen([sys.executable, "-c", ACTOR], stdin=subprocess.PIPE)

    def __call__(self, *words: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(" ".join(words) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


class Lines:
    """A process's stderr, collected as it comes, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._t = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._t.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.lines.append(line)

    def has(self, text: str) -> bool:
        return any(text in ln for ln in list(self.lines))

    @property
    def text(self) -> str:
        self._t.join(timeout=10)
        return "".join(self.lines)


@pytest.fixture
def pair() -> Iterator[tuple[Netns, Netns]]:
    with netns("tga") as a, netns("tgb") as b:
        link_pair(a, b, f"{A_OUT}/24", f"{B_OUT}/24")
        b.run(["ip", "addr", "add", f"{B_OTHER}/24", "dev", "veth0"], check=True)
        yield a, b


def server(a: Netns, *flags: str) -> subprocess.Popen[str]:
    return a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "-q",
            *flags,
        ],
        stdout=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C, and wait (its stderr is read by :class:`Lines`)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    finally:
        if proc.stdout is not None:
            proc.stdout.close()


def wait_udp_bound(ns: Netns, port: int = 55555) -> None:
    """The server's UDP socket exists (datagrams before it would be refused, not ignored)."""
    assert wait_for(lambda: f":{port} " in ns.run(["ss", "-Hlun"]).stdout), "no UDP socket"


def into_tunnel(a: Netns) -> None:
    """One frame from the host into tun0, which the server sends to its peer."""
    a.run(["ping", "-c", "1", "-W", "0.2", B_IN])


def test_only_well_formed_frames_make_a_peer() -> None:
    frame = ip4()
    assert well_formed(frame, LINKTYPE_RAW, 2000)
    assert not well_formed(b"", LINKTYPE_RAW, 2000)
    assert not well_formed(b"\x45", LINKTYPE_RAW, 2000)
    assert not well_formed(ip4(total=99), LINKTYPE_RAW, 2000)  # its header disagrees
    assert not well_formed(b"\x00" * 40, LINKTYPE_RAW, 2000)  # no IP version
    assert not well_formed(frame, LINKTYPE_RAW, len(frame) - 1)
    assert well_formed(b"\xff" * 14, LINKTYPE_ETHERNET, 2000)
    assert not well_formed(b"\xff" * 13, LINKTYPE_ETHERNET, 2000)


@needs_netns
@pytest.mark.netns
def test_spoofed_empty_and_malformed_datagrams_never_take_the_udp_peer(
    pair: tuple[Netns, Netns],
) -> None:
    a, b = pair
    tw = server(a, "--tunnel-udp", "--tunnel-quiet", "0.5")
    err = Lines(tw)
    actor = Actor(b)
    try:
        wait_addr(a, "tun0", A_IN)
        wait_udp_bound(a)
        assert actor("udp", "spoof", B_OTHER) == "ok"
        assert actor("udp", "real", B_OUT) == "ok"
        # before any peer: neither an empty nor a malformed datagram becomes the peer
        actor("send", "spoof")
        actor("send", "spoof", "45" * 30)
        assert wait_for(lambda: err.has("that is no frame"))
        assert not err.has("is the peer")
        actor("send", "real", ip4().hex())
        assert wait_for(lambda: err.has(f"{B_OUT}:") and err.has("is the peer (udp)"))
        # the peer is quiet well past --tunnel-quiet: still only a frame may take over
        time.sleep(0.6)  # the quiet time itself is what is waited for
        actor("send", "spoof")
        actor("send", "spoof", "60" + "00" * 10)
        into_tunnel(a)
        assert wait_for(lambda: actor("pings", "real") == "1"), "the real peer lost its frames"
        assert actor("count", "spoof") == "0"
    finally:
        actor.close()
        stop(tw)
    text = err.text
    assert text.count("is the peer (udp)") == 1, text
    assert "malformed datagrams from others (never a peer)" in text, text


@needs_netns
@pytest.mark.netns
def test_only_allowed_addresses_become_the_peer(pair: tuple[Netns, Netns]) -> None:
    a, b = pair
    tw = server(a, "--tunnel-udp", "--tunnel-allow", f"{B_OUT}/32", "--tunnel-allow", "fd00::/8")
    err = Lines(tw)
    actor = Actor(b)
    try:
        wait_addr(a, "tun0", A_IN)
        wait_udp_bound(a)
        actor("udp", "stranger", B_OTHER)
        actor("udp", "real", B_OUT)
        actor("send", "stranger", ip4().hex())  # a well-formed frame, but not allowed
        assert wait_for(lambda: err.has("not in --tunnel-allow"))
        assert not err.has("is the peer")
        actor("send", "real", ip4().hex())
        assert wait_for(lambda: err.has("is the peer (udp)"))
        into_tunnel(a)
        assert wait_for(lambda: actor("pings", "real") == "1")
        assert actor("count", "stranger") == "0"
    finally:
        actor.close()
        stop(tw)
    text = err.text
    assert f"ignoring datagrams from {B_OTHER}:" in text, text
    assert "1 connection or datagram from addresses not allowed" in text, text

    # TCP: a connection from outside the list is closed at once; the allowed client works
    tw = server(a, "--tunnel-allow", B_OUT, "--headless")
    err = Lines(tw)
    actor = Actor(b)
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        actor("tcp", "stranger", B_OTHER)
        assert wait_for(lambda: actor("closed", "stranger") == "1")
        assert wait_for(lambda: err.has("not in --tunnel-allow"))
    finally:
        actor.close()
        stop(tw)
    assert "connected to" not in err.text, err.text


@needs_netns
@pytest.mark.netns
def test_a_silent_tcp_client_times_out_and_the_real_client_gets_in(
    pair: tuple[Netns, Netns],
) -> None:
    a, b = pair
    tw = server(a, "--tunnel-silent", "1", "--headless")
    err = Lines(tw)
    actor = Actor(b)
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        actor("tcp", "squatter", B_OTHER)
        assert wait_for(lambda: err.has(f"connected to {B_OTHER}:"))
        client = b.popen(
            [*TAPWATCH, "--create", "tun0", "--addr", f"{B_IN}/24", "--tunnel-connect", A_OUT, "-q"]
        )
        try:
            wait_addr(b, "tun0", B_IN)
            assert wait_for(lambda: actor("closed", "squatter") == "1")
            assert wait_for(lambda: err.has(f"connected to {B_OUT}:"), timeout=30)
            ping = a.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", B_IN])
        finally:
            stop(client)
        assert received(ping.stdout) == 2
    finally:
        actor.close()
        stop(tw)
    text = err.text
    assert "sent no frame in 1 s of connecting; closed it to free the slot" in text, text
    assert "1 silent client closed" in text, text


def test_guard_flags_are_checked() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*TAPWATCH, *args], capture_output=True, text=True, timeout=60)

    r = run("--create", "tun0", "--tunnel-connect", "10.0.0.1", "--tunnel-allow", "10.0.0.0/8")
    assert r.returncode == 2 and "--tunnel-allow goes with --tunnel-listen" in r.stderr
    r = run("--create", "tun0", "--tunnel-listen", "--tunnel-allow", "example.com")
    assert r.returncode == 2 and "is not an address or network" in r.stderr
    r = run("--create", "tun0", "--tunnel-listen", "--tunnel-quiet", "3")
    assert r.returncode == 2 and "--tunnel-quiet goes with --tunnel-udp" in r.stderr
    r = run("--create", "tun0", "--tunnel-listen", "--tunnel-udp", "--tunnel-silent", "3")
    assert r.returncode == 2 and "--tunnel-silent is for a TCP server" in r.stderr
    r = run("--create", "tun0", "--tunnel-listen", "--tunnel-silent", "nan")
    assert r.returncode == 2 and "want 0 to 86400 seconds" in r.stderr


def test_the_status_line_names_each_guard_and_mapped_addresses_are_ipv4() -> None:
    import ipaddress

    from tapwatch.tunnel import Tunnel
    from tapwatch.tunnelwire import Endpoint

    t = Tunnel(
        "client",
        Endpoint("127.0.0.1", 9),
        deliver=lambda frame: None,
        allow=(ipaddress.ip_network("10.200.0.0/24"), ipaddress.ip_network("fd00::/8")),
    )
    t.counters.not_allowed, t.counters.unfit, t.counters.silent_closed = 2, 1, 1
    line = t.status_text()
    assert "2 connections or datagrams from addresses not allowed" in line, line
    assert "1 malformed datagram from others (never a peer)" in line, line
    assert "1 silent client closed" in line, line
    assert t._allowed(("::ffff:10.200.0.9", 5, 0, 0))
    assert t._allowed(("fd00::1%veth0", 5, 0, 0))
    assert not t._allowed(("10.201.0.1", 5))
    assert not t._allowed(("::ffff:10.201.0.1", 5, 0, 0))
