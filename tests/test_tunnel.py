"""tapwatch as one end of a simpletun-style tunnel: framing, both roles, tun and tap, TCP, UDP."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, link_pair, needs_netns, netns
from test_live import stop, wait_addr
from waiting import wait_for

from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.tunnelwire import FrameDecoder, TunnelCounters, TunnelError, encode, parse_endpoint

PEER = [sys.executable, str(Path(__file__).with_name("simpletun_peer.py"))]
A_OUT, B_OUT = "10.200.0.1", "10.200.0.2"  # the veth pair the tunnel runs over
A_IN, B_IN = "10.0.0.1", "10.0.0.2"  # the addresses inside the tunnel


def ip4(payload: bytes = b"x" * 20, total: int | None = None) -> bytes:
    n = 20 + len(payload)
    return (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or n, 1, 0, 64, 17, 0, bytes(4), bytes(4))
        + payload
    )


# ----- framing, without a network -----------------------------------------------------------


def test_frames_are_reassembled_by_count_whatever_the_segments() -> None:
    c = TunnelCounters()
    d = FrameDecoder(c)
    a, b = ip4(b"a" * 30), ip4(b"b" * 5)
    stream = encode(a) + encode(b)
    got = []
    for i in range(len(stream)):  # one byte at a time: the worst a stream can do
        got += d.feed(stream[i : i + 1])
    assert got == [a, b] and c.framing_errors == 0
    # simpletun's two writes: the prefix alone, then the frame
    assert d.feed(struct.pack("!H", len(a))) == [] and d.feed(a) == [a]


def test_framing_problems_are_counted_and_the_stream_stays_in_step() -> None:
    c = TunnelCounters()
    d = FrameDecoder(c, max_frame=100)
    good = ip4()
    stream = (
        struct.pack("!H", 0)
        + encode(b"z" * 150)
        + encode(ip4(total=99))
        + encode(good)
        + struct.pack("!H", 40)
        + b"half"
    )
    frames = d.feed(stream)
    assert frames[-1] == good and len(frames) == 2  # the mismatched one is still delivered
    assert (c.zero_length, c.too_long_in, c.length_mismatch) == (1, 1, 1)
    d.end()
    assert c.cut_short == 1 and c.framing_errors == 4


def test_a_segment_holding_one_whole_frame_is_judged_as_any_other() -> None:
    """The one-frame segment is taken without the decoder's buffer: same frames, same counts."""
    c = TunnelCounters()
    d = FrameDecoder(c, max_frame=100)
    assert d.feed(encode(ip4(total=99))) == [ip4(total=99)] and c.length_mismatch == 1
    assert d.feed(struct.pack("!H", 150)) == [] and c.too_long_in == 1  # to be read past
    assert d.feed(b"z" * 150 + encode(ip4())) == [ip4()]  # the stream stayed in step
    assert d.feed(struct.pack("!H", 0)) == [] and c.zero_length == 1
    assert d.feed(encode(ip4())[:-1]) == [] and d.feed(b"x") == [ip4()]  # the buffered path
    assert c.framing_errors == 3


def test_ethernet_frames_are_not_checked_against_an_ip_length() -> None:
    c = TunnelCounters()
    frame = b"\x02" * 12 + b"\x08\x00" + ip4() + b"\0" * 6  # padded to the minimum
    assert FrameDecoder(c, linktype=LINKTYPE_ETHERNET).feed(encode(frame)) == [frame]
    assert c.length_mismatch == 0
    assert FrameDecoder(TunnelCounters(), linktype=LINKTYPE_RAW).feed(encode(ip4())) == [ip4()]


@pytest.mark.parametrize(
    "text, listen, host, port",
    [
        ("55555", True, "", 55555),
        ("10.0.0.1:6000", True, "10.0.0.1", 6000),
        ("10.0.0.1", False, "10.0.0.1", 55555),
        ("[fd00::1]:7000", False, "fd00::1", 7000),
        ("fd00::1", False, "fd00::1", 55555),
    ],
)
def test_endpoints(text: str, listen: bool, host: str, port: int) -> None:
    ep = parse_endpoint(text, listen=listen)
    assert (ep.host, ep.port) == (host, port)


@pytest.mark.parametrize(
    "text, message",
    [
        ("vpn.example.com:55555", "not an IP address"),
        ("10.0.0.1:99999", "invalid port"),
        ("55555", "needs the peer's address"),
        ("10.0.0.1:", "a port after ':'"),
        ("[fd00::1]:", "a port after ':'"),
    ],
)
def test_bad_endpoints_say_why(text: str, message: str) -> None:
    with pytest.raises(TunnelError, match=message):
        parse_endpoint(text, listen=False)


@pytest.mark.parametrize("text", ["-1", "0", "99999", "+5"])
def test_a_listening_port_out_of_range_is_called_a_port(text: str) -> None:
    with pytest.raises(TunnelError, match="invalid port"):
        parse_endpoint(text, listen=True)


# ----- two namespaces joined by a veth pair ------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[Netns, Netns]]:
    with netns("twa") as a, netns("twb") as b:
        link_pair(a, b, f"{A_OUT}/24", f"{B_OUT}/24")
        yield a, b


def received(ping: str) -> int:
    for line in ping.splitlines():
        if "received" in line:
            return int(line.split(",")[1].split()[0])
    return -1


def peer_process(ns: Netns, args: list[str], dev: str, addr: str) -> subprocess.Popen[str]:
    proc = ns.popen([*PEER, "--dev", dev, *args])
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "device ready"
    ns.run(["ip", "addr", "add", addr, "dev", dev], check=True)
    ns.run(["ip", "link", "set", dev, "up"], check=True)
    return proc


def wait_connected(ns: Netns, port: int = 55555, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f":{port} " in ns.run(["ss", "-Htn", "state", "established"]).stdout:
            return
        time.sleep(0.05)
    raise AssertionError("the tunnel never connected")


def wait_listening(ns: Netns, port: int = 55555, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f":{port} " in ns.run(["ss", "-Hltn"]).stdout:
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize("split", [True, False], ids=["two-writes", "one-write"])
def test_server_with_a_simpletun_style_client(pair: tuple[Netns, Netns], split: bool) -> None:
    a, b = pair
    tw = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "--headless",
            "icmp",
        ]
    )
    client = None
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        client = peer_process(
            b,
            ["--connect", f"{A_OUT}:55555", *(["--split"] if split else [])],
            "tun0",
            f"{B_IN}/24",
        )
        wait_connected(a)
        there = a.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", B_IN])
        back = b.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", A_IN])
    finally:
        out, err = stop(tw)
        if client is not None:
            client.kill()
            client.wait()
    assert received(there.stdout) == 5, there.stdout + err
    assert received(back.stdout) == 5, back.stdout + err
    assert tw.returncode == 0, err
    # both directions captured on the device, with the host's words
    assert out.count(f"Out IP {A_IN} > {B_IN}: ICMP echo request") == 5
    assert out.count(f"In  IP {B_IN} > {A_IN}: ICMP echo reply") == 5
    assert out.count(f"In  IP {B_IN} > {A_IN}: ICMP echo request") == 5
    assert "tunnel: connected to" in err and "0 framing errors" in err


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize(
    "tap, udp",
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["tun-tcp", "tap-tcp", "tun-udp", "tap-udp"],
)
def test_two_tapwatch_ends(pair: tuple[Netns, Netns], tap: bool, udp: bool) -> None:
    a, b = pair
    extra = (["--tap"] if tap else []) + (["--tunnel-udp"] if udp else [])
    server = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "-q",
            *extra,
        ]
    )
    client = b.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{B_IN}/24",
            "--tunnel-connect",
            f"{A_OUT}:55555",
            "-q",
            *extra,
        ]
    )
    try:
        wait_addr(a, "tun0", A_IN)
        wait_addr(b, "tun0", B_IN)
        if not udp:
            wait_connected(a)
        else:  # the server learns its peer from the first datagram that reaches it
            assert wait_for(
                lambda: received(b.run(["ping", "-c", "1", "-W", "1", A_IN]).stdout) == 1,
                timeout=30,
            ), "the server never answered through the tunnel"
        there = a.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", B_IN])
        back = b.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", A_IN])
    finally:
        _, err_s = stop(server)
        _, err_c = stop(client)
    assert received(there.stdout) == 5, there.stdout + err_s + err_c
    assert received(back.stdout) == 5, back.stdout + err_s + err_c
    assert server.returncode == 0 and client.returncode == 0, err_s + err_c


@needs_netns
@pytest.mark.netns
def test_framing_errors_from_the_peer_are_counted(pair: tuple[Netns, Netns]) -> None:
    a, b = pair
    tw = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "--headless",
        ]
    )
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        code = (
            "import socket,struct,time\n"
            f"s=socket.create_connection(('{A_OUT}',55555))\n"
            "ip=lambda t: struct.pack('!BBHHHBBH4s4s',0x45,0,t,1,0,64,17,0,bytes(4),bytes(4))"
            "+b'x'*20\n"
            "s.sendall(struct.pack('!H',0))\n"  # zero length
            "s.sendall(struct.pack('!H',3000)+b'y'*3000)\n"  # over the 2000-byte limit
            "s.sendall(struct.pack('!H',40)+ip(99))\n"  # says 99, carries 40
            "s.sendall(struct.pack('!H',100)+b'cut')\n"  # and leaves mid-frame
            "time.sleep(0.5); s.close()\n"
        )
        r = b.run([sys.executable, "-c", code])
        assert r.returncode == 0, r.stderr
        time.sleep(0.5)
    finally:
        _, err = stop(tw)
    assert "went away; listening on" in err
    assert "4 framing errors" in err
    for words in (
        "1 zero-length frame",
        "1 frame over 2000 B from the peer",
        "1 frame whose IP length disagrees",
        "1 frame cut short",
    ):
        assert words in err, err
    # said as it happened, not only in the exit summary
    live = [ln for ln in err.splitlines() if "framing problems from 10.200.0.2:" in ln]
    assert live and "frame cut short" in live[-1], err


@needs_netns
@pytest.mark.netns
def test_one_peer_at_a_time_and_a_udp_server_takes_a_restarted_client(
    pair: tuple[Netns, Netns],
) -> None:
    """TCP: a second client is turned away at once (its bytes never reach the device). UDP:
    datagrams from another address are ignored, said once, until the peer has been quiet."""
    a, b = pair
    tcp = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "--headless",
            "-l",
        ]
    )
    intruder = struct.pack("!H", 40) + ip4(total=40)
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        code = (
            "import socket,time\n"
            f"one=socket.create_connection(('{A_OUT}',55555)); time.sleep(0.5)\n"
            f"two=socket.create_connection(('{A_OUT}',55555)); two.sendall({intruder!r})\n"
            "time.sleep(0.5); two.close(); time.sleep(0.3); one.close(); time.sleep(0.5)\n"
        )
        r = b.run([sys.executable, "-c", code])
        assert r.returncode == 0, r.stderr
    finally:
        out, err = stop(tcp)
    assert "turned away 10.200.0.2:" in err and "(one peer at a time)" in err, err
    assert err.count("connected to 10.200.0.2:") == 1, err
    assert "In " not in out  # nothing from the turned-away client reached tun0
    udp = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "--tunnel-udp",
            "-q",
        ]
    )
    frame = ip4()
    try:
        wait_addr(a, "tun0", A_IN)
        time.sleep(0.5)
        code = (
            "import socket,time\n"
            "def new():\n"
            "    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"    s.connect(('{A_OUT}',55555)); return s\n"
            f"first=new(); first.send({frame!r}); time.sleep(0.3)\n"
            f"other=new(); other.send({frame!r}); time.sleep(2.5)\n"  # first: quiet now
            f"later=new(); later.send({frame!r}); time.sleep(0.3)\n"
        )
        r = b.run([sys.executable, "-c", code])
        assert r.returncode == 0, r.stderr
    finally:
        _, err = stop(udp)
    peers = [ln for ln in err.splitlines() if "is the peer (udp)" in ln]
    assert len(peers) == 2 and "was quiet" in peers[1], err
    assert err.count("ignoring datagrams from 10.200.0.2:") == 1, err
    assert "1 datagram from other addresses ignored" in err, err


@needs_netns
@pytest.mark.netns
def test_server_takes_a_second_client_and_a_client_reconnects(pair: tuple[Netns, Netns]) -> None:
    a, b = pair
    server = a.popen(
        [*TAPWATCH, "--create", "tun0", "--addr", f"{A_IN}/24", "--tunnel-listen", "55555", "-q"]
    )
    try:
        wait_addr(a, "tun0", A_IN)
        for _ in range(2):  # one client, then another after the first went away
            client = b.popen(
                [
                    *TAPWATCH,
                    "--create",
                    "tun0",
                    "--addr",
                    f"{B_IN}/24",
                    "--tunnel-connect",
                    A_OUT,
                    "-q",
                ]
            )
            try:
                wait_addr(b, "tun0", B_IN)
                wait_connected(a)
                ping = a.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", B_IN])
            finally:
                stop(client)
            assert received(ping.stdout) == 2
            b.wait_link("tun0", present=False)
    finally:
        _, err = stop(server)
    assert err.count("tunnel: connected to") == 2

    # the client's server goes away and comes back: the client retries and carries on
    client = b.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{B_IN}/24",
            "--tunnel-connect",
            A_OUT,
            "--headless",
            "icmp",
        ]
    )
    try:
        wait_addr(b, "tun0", B_IN)
        assert client.stderr is not None
        while "retrying in" not in client.stderr.readline():  # at least one failed attempt
            pass
        a.wait_link("tun0", present=False)
        server = a.popen(
            [
                *TAPWATCH,
                "--create",
                "tun0",
                "--addr",
                f"{A_IN}/24",
                "--tunnel-listen",
                "55555",
                "-q",
            ]
        )
        try:
            wait_addr(a, "tun0", A_IN)
            wait_connected(a, timeout=20)
            ping = a.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", B_IN])
        finally:
            stop(server)
    finally:
        _, err = stop(client)
    assert received(ping.stdout) == 2
    assert "tunnel: connected to" in err  # (the retries were read above)


def test_tunnel_flags_are_checked() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*(["unshare", "--net"] if _root() else []), *TAPWATCH, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    r = run("--tunnel-listen", "55555")
    assert r.returncode == 2 and "add --create NAME" in r.stderr
    r = run("--create", "tun0", "--tunnel-connect", "10.0.0.1", "--reply")
    assert r.returncode == 2 and "give one of them" in r.stderr
    r = run("--create", "tun0", "--tunnel-udp")
    assert r.returncode == 2 and "goes with --tunnel-listen" in r.stderr
    r = run("--create", "tun0", "--tunnel-connect", "vpn.example.com")
    assert r.returncode == 1 and "resolves no host names" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if _root():  # a fresh namespace has no route anywhere: said at start, not a dead tunnel
        r = run("--create", "tun0", "--tunnel-connect", "10.200.0.1", "--tunnel-udp", "-q")
        assert r.returncode == 1 and r.stderr.strip().splitlines() == [
            "tapwatch: cannot reach 10.200.0.1:55555 (udp): Network is unreachable"
        ], r.stderr


def _root() -> bool:
    import os

    return os.geteuid() == 0


@needs_netns
@pytest.mark.netns
def test_sending_never_blocks_and_never_sends_what_simpletun_cannot_take(ns: Netns) -> None:
    """In the test's own namespace (its loopback): a Tunnel client and a bare TCP server."""
    code = f"""
import socket, time
from tapwatch.tunnel import Tunnel
from tapwatch.tunnelwire import Endpoint, encode
frame = {ip4()!r}
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
got = []
t = Tunnel("client", Endpoint("127.0.0.1", srv.getsockname()[1]), deliver=got.append,
           max_frame=100)
t.start()
conn, _ = srv.accept()
deadline = time.monotonic() + 5
while t.state != "connected" and time.monotonic() < deadline:
    time.sleep(0.01)
t.send(b"")  # never a zero-length frame: simpletun takes it for the end
t.send(b"q" * 101)  # never more than its buffer
t.send(frame)
conn.settimeout(5)
data = b""
while len(data) < 2 + len(frame):
    data += conn.recv(4096)
assert data == encode(frame), data
c = t.counters
assert (c.empty_out, c.too_long_out, c.frames_out) == (1, 1, 1), c
t.stop()
print("ok")
"""
    ns.run(["ip", "link", "set", "lo", "up"], check=True)
    r = ns.run([sys.executable, "-c", code])
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


# ----- the tunnel's framing on the outer stream ---------------------------------------------------


def _segment(payload: bytes, seq: int, sport: int = 40000, dport: int = 55555) -> bytes:
    from scapy.layers.inet import IP, TCP

    return bytes(
        IP(src=B_OUT, dst=A_OUT) / TCP(sport=sport, dport=dport, seq=seq, flags="PA") / payload
    )


def test_outer_segments_show_the_frames_they_complete() -> None:
    from tapwatch.tunnelview import TunnelView, describe

    view = TunnelView([55555], LINKTYPE_RAW)
    inner = ip4(b"p" * 30)
    stream = encode(inner) + encode(inner)
    a, b, c = stream[:2], stream[2:40], stream[40:]  # a prefix alone, then the rest in two
    assert view.frames(_segment(a, 1000), LINKTYPE_RAW) == []
    assert view.frames(_segment(b, 1002), LINKTYPE_RAW) == []
    assert view.frames(_segment(b, 1002), LINKTYPE_RAW) is None  # a retransmission
    assert view.frames(_segment(c, 1040), LINKTYPE_RAW) == [inner, inner]
    assert describe(view, [inner, inner]).startswith("tunnel 2 frames: IP 0.0.0.0")
    # a gap (segments the capture missed) starts the framing afresh instead of misreading
    assert view.frames(_segment(encode(inner), 99_000), LINKTYPE_RAW) == [inner]
    assert view.resyncs == 1
    assert view.frames(_segment(b"x", 1, dport=80), LINKTYPE_RAW) is None  # another port


def test_a_line_names_a_bounded_number_of_inner_frames() -> None:
    from tapwatch.tunnelview import MAX_FRAMES_SAID, TunnelView, describe

    view = TunnelView([55555])
    frames = view.frames(_segment(b"\x00\x01x" * 21_800, 1), LINKTYPE_RAW)
    assert frames is not None and len(frames) == 21_800
    line = describe(view, frames)
    assert line.startswith("tunnel 21,800 frames: [|ether], length 1; ")
    assert line.count("[|ether]") == MAX_FRAMES_SAID
    assert line.endswith("; 21,792 more frames not shown"), line


@needs_netns
@pytest.mark.netns
def test_inner_and_outer_in_one_session_and_one_pcapng(
    pair: tuple[Netns, Netns], tmp_path: Path
) -> None:
    a, b = pair
    both = tmp_path / "both.pcapng"
    tw = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "--observe",
            "veth0",
            "-w",
            str(both),
            "--headless",
            "icmp or tcp port 55555",
        ]
    )
    client = None
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        client = peer_process(b, ["--connect", f"{A_OUT}:55555", "--split"], "tun0", f"{B_IN}/24")
        wait_connected(a)
        ping = a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", B_IN])
    finally:
        out, err = stop(tw)
        if client is not None:
            client.kill()
            client.wait()
    assert received(ping.stdout) == 3, ping.stdout + err
    requests = [
        ln
        for ln in out.splitlines()
        if " veth0 Out " in ln and f"tunnel 1 frame: IP {A_IN} > {B_IN}: ICMP echo request" in ln
    ]
    replies = [
        ln
        for ln in out.splitlines()
        if " veth0 In  " in ln and f"tunnel 1 frame: IP {B_IN} > {A_IN}: ICMP echo reply" in ln
    ]
    assert len(requests) == 3 and len(replies) == 3, out
    assert sum(" tun0  Out IP " in ln for ln in out.splitlines()) == 3
    # one pcapng, two interfaces with their own link types and names
    rows = subprocess.run(
        [
            "tshark",
            "-r",
            str(both),
            "-T",
            "fields",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.protocols",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    names = {r.split("\t")[0] for r in rows}
    assert names - {"netlink"} == {"tun0", "veth0"}  # and the interface events, if any
    assert any(r.startswith("tun0\traw:ip") for r in rows)
    assert any(r.startswith("veth0\teth:ethertype:ip:tcp") for r in rows)
    again = subprocess.run(
        [*TAPWATCH, "-r", str(both), "--tunnel-decode", "55555"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert (
        sum("tunnel 1 frame: IP" in ln and "ICMP echo" in ln for ln in again.stdout.splitlines())
        == 6
    )
