"""tapwatch as the peer: reply, echo and replay against real ping and sockets, in a namespace."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, needs_netns, netns
from test_live import tshark_fields
from waiting import device_counter, stop, text_of, wait_addr, wait_for

from tapwatch import pcap
from tapwatch.kinds import Direction

pytestmark = [needs_netns, pytest.mark.netns]

REPO = Path(__file__).resolve().parent.parent


def received(ping_out: str) -> int:
    m = re.search(r"(\d+) received", ping_out)
    assert m, ping_out
    return int(m.group(1))


@pytest.mark.parametrize(
    "device, flags, addr, target, ping6",
    [
        ("tun1", [], "192.168.3.11/24", "192.168.3.12", False),
        ("tun1", [], "fd00:3::11/64", "fd00:3::12", True),
        ("tap0", ["--tap"], "192.168.4.1/24", "192.168.4.2", False),
        ("tap0", ["--tap"], "fd00:4::1/64", "fd00:4::2", True),
    ],
    ids=["tun-ipv4", "tun-ipv6", "tap-ipv4", "tap-ipv6"],
)
def test_reply_mode_answers_ping(
    ns: Netns, tmp_path: Path, device: str, flags: list[str], addr: str, target: str, ping6: bool
) -> None:
    out_file = tmp_path / "reply.pcapng"
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            device,
            *flags,
            "--addr",
            addr,
            "--reply",
            "--headless",
            "-w",
            str(out_file),
        ]
    )
    try:
        wait_addr(ns, device, addr.split("/")[0])
        ns.wait_capturing(device)  # the session has started: its ring reader is bound
        ping = ns.run(
            ["ping", *(["-6"] if ping6 else []), "-c", "5", "-i", "0.2", "-W", "2", target]
        )
    finally:
        out, err = stop(tw)
    assert received(ping.stdout) == 5, ping.stdout + err
    assert tw.returncode == 0, err
    if ping6:
        replies = tshark_fields(out_file, "icmpv6.echo.sequence_number", display="icmpv6.type==129")
    else:
        replies = tshark_fields(out_file, "icmp.seq", display="icmp.type==0")
    assert [r[0] for r in replies] == ["1", "2", "3", "4", "5"]
    # rows in time order, and no reply stamped before the request that caused it
    proto = "icmpv6" if ping6 else "icmp"
    seq = "icmpv6.echo.sequence_number" if ping6 else "icmp.seq"
    rows = tshark_fields(out_file, "frame.time_epoch", f"{proto}.type", seq, display=proto)
    stamps = [float(r[0]) for r in rows]
    assert stamps == sorted(stamps), rows
    request_type = "128" if ping6 else "8"
    asked = {r[2]: float(r[0]) for r in rows if r[1] == request_type}
    answered = {r[2]: float(r[0]) for r in rows if r[1] == ("129" if ping6 else "0")}
    assert answered.keys() == asked.keys() and all(answered[k] >= asked[k] for k in asked)
    # what tapwatch wrote reaches the host: inbound in the capture, "In" in the lines
    assert sum(1 for ln in out.splitlines() if " In  " in ln and "echo reply" in ln) == 5
    cap = pcap.read_capture(str(out_file))
    directions = {r.direction for r in cap}
    assert directions == {Direction.OUTBOUND, Direction.INBOUND}
    if flags and not ping6:
        arp = tshark_fields(out_file, "arp.src.proto_ipv4", display="arp.opcode==2")
        assert ["192.168.4.2"] in arp
    assert "frames written into the device" in err  # not "written" to a file


def test_default_mode_stays_silent(ns: Netns) -> None:
    tw = ns.popen([*TAPWATCH, "--create", "tun1", "--addr", "10.1.0.1/24", "--headless"])
    try:
        wait_addr(ns, "tun1", "10.1.0.1")
        ping = ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.1.0.2"])
    finally:
        out, _ = stop(tw)
    assert received(ping.stdout) == 0
    assert " Out " in out and " In  " not in out  # pings left the host, nothing came back


def test_echo_mode_writes_back_what_it_read(ns: Netns, tmp_path: Path) -> None:
    out_file = tmp_path / "echo.pcapng"
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "--addr",
            "10.2.0.1/24",
            "--echo",
            "-q",
            "-w",
            str(out_file),
            "icmp",
        ]
    )
    try:
        wait_addr(ns, "tun1", "10.2.0.1")
        ns.wait_capturing("tun1")
        ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.2.0.2"])
        # what tapwatch writes into its device the host receives: its rx counter
        assert wait_for(lambda: device_counter(ns, "tun1", "rx_packets") >= 3)
    finally:
        stop(tw, signal.SIGTERM)
    recs = list(pcap.read_capture(str(out_file)))
    sent = [r.data for r in recs if r.direction == Direction.OUTBOUND]
    echoed = [r.data for r in recs if r.direction == Direction.INBOUND]
    assert len(sent) == 3 and echoed == sent


def test_replay_arrives_in_the_namespace(ns: Netns, tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.utils import wrpcap

    capfile = tmp_path / "small.pcap"
    pkts = [
        IP(src="10.9.0.2", dst="10.9.0.1") / UDP(sport=4000, dport=9999) / f"hello {i}".encode()
        for i in range(3)
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i * 0.1
    wrpcap(str(capfile), pkts)
    listener = ns.popen(
        [
            sys.executable,
            "-c",
            (
                "import socket,sys\n"
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "s.bind(('0.0.0.0',9999)); s.settimeout(15); print('ready',flush=True)\n"
                "for _ in range(3): print(s.recv(100).decode(),flush=True)\n"
            ),
        ]
    )
    assert listener.stdout is not None
    assert listener.stdout.readline().strip() == "ready"
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun9",
            "--addr",
            "10.9.0.1/24",
            "--replay",
            str(capfile),
            "--headless",
            "udp",
        ]
    )
    try:
        got, _ = listener.communicate(timeout=20)
    finally:
        out, _ = stop(tw)
    assert got.split("\n")[:3] == ["hello 0", "hello 1", "hello 2"]
    assert out.count(" In  ") == 3, out  # replayed into the device: the host receives them


def test_reply_without_address_is_a_clear_error(ns: Netns) -> None:
    r = ns.run([*TAPWATCH, "--create", "tun1", "--reply", "--headless"])
    assert r.returncode == 1
    assert r.stderr.strip().startswith("tapwatch: --reply answers for addresses")
    assert not ns.link_exists("tun1")


def test_replay_of_arp_into_tun_is_refused_or_skipped(ns: Netns, tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import wrpcap

    capfile = tmp_path / "arp.pcap"
    wrpcap(
        str(capfile),
        [
            Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:09") / ARP(pdst="10.9.0.1"),
            # replayed after the ARP frame: once it arrives, the ARP frame's turn has passed
            Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:09")
            / IP(src="10.9.0.2", dst="10.9.0.1")
            / UDP(sport=4000, dport=4001)
            / b"after",
        ],
    )
    lines = tmp_path / "lines.txt"
    with lines.open("w") as out_fd:
        tw = ns.popen(
            [
                *TAPWATCH,
                "--create",
                "tun9",
                "--addr",
                "10.9.0.1/24",
                "--replay",
                str(capfile),
                "--headless",
            ],
            stdout=out_fd,
        )
        try:
            wait_for(lambda: " In  " in text_of(lines))
        finally:
            _, err = stop(tw)
    out = lines.read_text()
    assert "Traceback" not in err
    assert [ln for ln in out.splitlines() if " In  " in ln and "UDP" in ln], out
    assert "ARP" not in out  # an ARP frame cannot enter a tun device
    assert "replay: 1 packets written, 1 skipped" in err, err


def test_reply_mode_answers_what_the_capture_filter_hides(ns: Netns) -> None:
    """'icmp' hides ARP from the lines and the counters, not from the peer: ping works."""
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tap0",
            "--tap",
            "--addr",
            "192.168.4.1/24",
            "--reply",
            "--headless",
            "icmp",
        ]
    )
    try:
        wait_addr(ns, "tap0", "192.168.4.1")
        ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "192.168.4.2"])
    finally:
        out, err = stop(tw)
    assert received(ping.stdout) == 3, ping.stdout + err
    assert "ARP" not in out and out.count("ICMP echo request") == 3
    assert out.count("ICMP echo reply") == 3


def test_switching_modes_moves_the_capture_filter_in_and_out_of_the_reader() -> None:
    from tapwatch.filters import compile_packet_filter
    from tapwatch.linktypes import LINKTYPE_ETHERNET
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    class Reader:
        def __init__(self) -> None:
            self.filters: list[object] = []

        def set_capture_filter(self, flt: object) -> None:
            self.filters.append(flt)

    class Dev:
        fd, name = 5, "tap0"

        def write(self, data: bytes) -> None: ...

    import ipaddress
    import threading

    from tapwatch.peer import Peer, Responder, stable_mac
    from tapwatch.ring import Ring
    from tapwatch.sources import DeviceSource

    info = InterfaceInfo("tap0", "tap", addresses=["192.168.4.1/24"], linktype=LINKTYPE_ETHERNET)
    ring, wake = Ring(), threading.Event()
    src = DeviceSource(info, Dev(), None, ring, wake)  # type: ignore[arg-type]
    reader = Reader()
    src.reader = reader  # type: ignore[assignment]
    flt = compile_packet_filter("icmp", [LINKTYPE_ETHERNET])
    responder = Responder(
        LINKTYPE_ETHERNET, [ipaddress.ip_interface("192.168.4.1/24")], None, stable_mac("tap0")
    )
    peer = Peer(src.inject, LINKTYPE_ETHERNET, responder=responder)
    s = Session([src], ring=ring, wake=wake, capture_filter=flt, sinks=[peer])
    s.set_mode("reply")
    s.set_mode("drop")
    assert reader.filters[0] is None  # the responder must see ARP
    assert reader.filters[1] is not None and reader.filters[1].expr == "icmp"


# ---- a host that forwards: echo must not loop ----------------------------------------------


@pytest.fixture
def routed() -> Iterator[tuple[Netns, Netns]]:
    """Two namespaces: a pinger (10.9.0.2) and a router (10.9.0.1, ip_forward=1) that routes
    10.2.0.0/24 into a tun it will hold; the classic way an echoed packet comes back."""
    with netns("tw-pinger") as pinger, netns("tw-router") as router:
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "a0",
                "netns",
                pinger.name,
                "type",
                "veth",
                "peer",
                "name",
                "b0",
                "netns",
                router.name,
            ],
            check=True,
        )
        for cmd in (
            ["ip", "addr", "add", "10.9.0.2/24", "dev", "a0"],
            ["ip", "link", "set", "a0", "up"],
            ["ip", "route", "add", "10.2.0.0/24", "via", "10.9.0.1"],
        ):
            pinger.run(cmd, check=True)
        for cmd in (
            ["ip", "addr", "add", "10.9.0.1/24", "dev", "b0"],
            ["ip", "link", "set", "b0", "up"],
            ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ):
            router.run(cmd, check=True)
        yield pinger, router


_ECHO_HELPER = textwrap.dedent(
    """
    import fcntl, json, os, select, subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    from tapwatch import peer
    from tapwatch.linktypes import LINKTYPE_RAW

    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454CA, b"tun1".ljust(16, b"\\0") + (0x0001 | 0x1000).to_bytes(2, "little"))
    subprocess.run(["ip", "addr", "add", "10.2.0.1/24", "dev", "tun1"], check=True)
    subprocess.run(["ip", "link", "set", "tun1", "up"], check=True)
    guarded = sys.argv[2] == "guarded"
    echo = peer.Echo(LINKTYPE_RAW, ifname="tun1", on_loop=lambda m: print(m, file=sys.stderr))
    respond = echo.respond if guarded else peer.echo
    print("ready", flush=True)
    ttls, written = [], 0
    while True:
        ready = select.select([fd, sys.stdin], [], [], 5)[0]
        if not ready or sys.stdin in ready:
            break
        data = os.read(fd, 65536)
        if data[0] >> 4 == 4 and data[9] == 1 and data[20] == 8:  # the ping request
            ttls.append(data[8])
        for frame in respond(data):
            os.write(fd, frame)
            written += data[0] >> 4 == 4 and data[9] == 1 and data[20] == 8
    print(json.dumps({"ttls": ttls, "written": written, "loops": echo.loops,
                      "warning": echo.warning}), flush=True)
    """
)


def _echo_through_forwarding_host(pinger: Netns, router: Netns, mode: str) -> dict:  # type: ignore[type-arg]
    import json

    helper = router.popen(
        [sys.executable, "-c", _ECHO_HELPER, str(REPO), mode], stdin=subprocess.PIPE
    )
    try:
        assert helper.stdout is not None
        assert helper.stdout.readline().strip() == "ready"
        ping = pinger.run(["ping", "-c", "1", "-W", "1", "10.2.0.2"])
        first = ""
        if mode == "guarded":
            # the loop is seen when the echoed ping comes back one hop older: the warning
            # (or the helper's end, 5 s after the last packet, if it never comes)
            assert helper.stderr is not None
            first = helper.stderr.readline()
        else:
            # the loop ends where the TTL runs out: the router's "time exceeded" reaches
            # the pinger after the last bounce, and ping returns once it has it
            assert "+1 error" in ping.stdout, ping.stdout
        out, err = helper.communicate("", timeout=20)
        err = first + err
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait()
    assert helper.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    result["stderr"] = err
    return result  # type: ignore[no-any-return]


def test_echo_stops_a_forwarding_loop(routed: tuple[Netns, Netns]) -> None:
    """Through a host with ip_forward=1 a stateless echo bounces one ping until its TTL runs
    out; peer.Echo echoes it once, recognises it one hop older, and says why."""
    pinger, router = routed
    plain = _echo_through_forwarding_host(pinger, router, "plain")
    assert len(plain["ttls"]) > 30, plain  # the loop is real in this setup (63 on Linux 6.x)
    router.wait_link("tun1", present=False)
    guarded = _echo_through_forwarding_host(pinger, router, "guarded")
    assert guarded["written"] == 1, guarded  # echoed once
    assert guarded["ttls"] == [63, 62], guarded  # in once from the pinger, once bounced back
    assert guarded["loops"] == 1
    assert "ip_forward" in guarded["warning"] and "tun1" in guarded["warning"]
    assert guarded["warning"] in guarded["stderr"]


def test_echo_mode_stops_a_forwarding_loop(routed: tuple[Netns, Netns], tmp_path: Path) -> None:
    pinger, router = routed
    out_file = tmp_path / "loop.pcapng"
    errors = tmp_path / "stderr.txt"
    err_fd = errors.open("w")
    tw = router.popen(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "--addr",
            "10.2.0.1/24",
            "--echo",
            "--headless",
            "-q",
            "-w",
            str(out_file),
            "icmp",
        ],
        stderr=err_fd,
    )
    try:
        wait_addr(router, "tun1", "10.2.0.1")
        router.wait_capturing("tun1")
        pinger.run(["ping", "-c", "1", "-W", "1", "10.2.0.2"])
        # the echo sees its own ping come back, and says so: then both copies are in
        wait_for(lambda: "ip_forward" in text_of(errors))
    finally:
        stop(tw)
        err_fd.close()
    err = errors.read_text()
    recs = list(pcap.read_capture(str(out_file)))
    sent = [r for r in recs if r.direction == Direction.OUTBOUND]
    echoed = [r for r in recs if r.direction == Direction.INBOUND]
    assert len(echoed) == 1 and len(sent) == 2, (len(sent), len(echoed))
    assert "ip_forward" in err


# ---- reply mode against the real thing -------------------------------------------------------

_LINUX_ORACLE = textwrap.dedent(
    '''
    """In a namespace: each frame goes to a Linux host (v0, 10.7.0.2 and .3, fd07::2 and ::3)
    over a veth and to a Responder playing the same addresses; who answers what."""
    import json, select, socket, subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    import ipaddress
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                                    ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6)
    from scapy.layers.l2 import ARP, Ether
    from tapwatch.linktypes import LINKTYPE_ETHERNET
    from tapwatch.peer import Responder

    KMAC, MYMAC = "02:00:00:00:07:02", "02:00:00:00:07:01"
    def sh(*args):
        subprocess.run(args, check=True, capture_output=True)
    sh("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
    sh("ip", "link", "set", "v0", "address", KMAC)
    sh("ip", "link", "set", "v1", "address", MYMAC)
    sh("sysctl", "-qw", "net.ipv6.conf.v1.disable_ipv6=1")
    for addr in ("10.7.0.2/24", "10.7.0.3/24"):
        sh("ip", "addr", "add", addr, "dev", "v0")
    for addr in ("fd07::2/64", "fd07::3/64"):
        sh("ip", "-6", "addr", "add", addr, "dev", "v0", "nodad")
    sh("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2")  # Debian, Ubuntu, Fedora
    sh("sysctl", "-qw", "net.ipv4.conf.v0.rp_filter=2")
    sh("ip", "link", "set", "v0", "up")
    sh("ip", "link", "set", "v1", "up")
    sh("ip", "route", "add", "default", "via", "10.7.0.1", "dev", "v0")
    sh("ip", "-6", "route", "add", "default", "via", "fd07::1", "dev", "v0")
    deadline = time.monotonic() + 30  # both ends up: the veth has its carrier
    while time.monotonic() < deadline and any(
            open(f"/sys/class/net/{d}/operstate").read().strip() != "up" for d in ("v0", "v1")):
        time.sleep(0.01)
    responder = Responder(LINKTYPE_ETHERNET, [ipaddress.ip_interface("10.7.0.1/24"),
                                              ipaddress.ip_interface("fd07::1/64")], mac=KMAC)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    sock.bind(("v1", 0))

    def arp(sha=MYMAC, spa="10.7.0.1", tpa="10.7.0.2", esrc=MYMAC, edst="ff:ff:ff:ff:ff:ff"):
        return Ether(src=esrc, dst=edst) / ARP(hwsrc=sha, psrc=spa, pdst=tpa), spa
    def ping(src="10.7.0.1", esrc=MYMAC, edst=KMAC, dst="10.7.0.2"):
        return Ether(src=esrc, dst=edst) / IP(src=src, dst=dst) / ICMP(id=7) / b"probe", src
    def ping6(src="fd07::1", esrc=MYMAC, dst="fd07::2"):
        return (Ether(src=esrc, dst=KMAC) / IPv6(src=src, dst=dst)
                / ICMPv6EchoRequest(id=7, data=b"probe"), src)
    def ns(src="fd07::1", dst="ff02::1:ff00:2", esrc=MYMAC, edst="33:33:ff:00:00:02", opt=True,
           hlim=255, raw=b""):
        p = Ether(src=esrc, dst=edst) / IPv6(src=src, dst=dst, hlim=hlim)
        p = p / ICMPv6ND_NS(tgt="fd07::2")
        if opt:
            p = p / ICMPv6NDOptSrcLLAddr(lladdr=MYMAC)
        return p / raw, src

    cases = {name: frame for name, frame in [
        ("arp", arp()), ("arp probe", arp(spa="0.0.0.0")), ("arp gratuitous", arp(spa="10.7.0.2")),
        ("arp sha zero", arp(sha="00:00:00:00:00:00")),
        ("arp sha broadcast", arp(sha="ff:ff:ff:ff:ff:ff")),
        ("arp sha multicast", arp(sha="01:00:5e:00:00:01")),
        ("arp ether source multicast", arp(esrc="01:00:5e:00:00:01")),
        ("arp ether source zero", arp(esrc="00:00:00:00:00:00")),
        ("arp sip limited broadcast", arp(spa="255.255.255.255")),
        ("arp sip subnet broadcast", arp(spa="10.7.0.255")),
        ("arp sip network address", arp(spa="10.7.0.0")),
        ("arp sip 0/8", arp(spa="0.1.2.3")), ("arp sip loopback", arp(spa="127.0.0.1")),
        ("arp sip multicast", arp(spa="224.0.0.1")), ("arp sip class E", arp(spa="240.0.0.1")),
        ("arp sip off-subnet", arp(spa="10.9.9.9")), ("arp sip own other", arp(spa="10.7.0.3")),
        ("arp unicast", arp(edst=KMAC)), ("arp for broadcast", arp(tpa="10.7.0.255")),
        ("ping", ping()), ("ping src network address", ping(src="10.7.0.0")),
        ("ping src subnet broadcast", ping(src="10.7.0.255")), ("ping src 0", ping(src="0.0.0.0")),
        ("ping src 0/8", ping(src="0.1.2.3")), ("ping src loopback", ping(src="127.0.0.1")),
        ("ping src limited broadcast", ping(src="255.255.255.255")),
        ("ping src multicast", ping(src="224.0.0.1")), ("ping src class E", ping(src="240.0.0.1")),
        ("ping src itself", ping(src="10.7.0.2")), ("ping src own other", ping(src="10.7.0.3")),
        ("ping src off-subnet", ping(src="10.9.9.9")),
        ("ping src link-local", ping(src="169.254.1.1")),
        ("ping ether source multicast", ping(esrc="01:00:5e:00:00:01")),
        ("ping ether source zero", ping(esrc="00:00:00:00:00:00")),
        ("ping in a broadcast frame", ping(edst="ff:ff:ff:ff:ff:ff")),
        ("ping to subnet broadcast", ping(dst="10.7.0.255", edst="ff:ff:ff:ff:ff:ff")),
        ("ping6", ping6()), ("ping6 src loopback", ping6(src="::1")),
        ("ping6 src unspecified", ping6(src="::")),
        ("ping6 src v4-mapped", ping6(src="::ffff:10.7.0.1")),
        ("ping6 src multicast", ping6(src="ff02::1")), ("ping6 src itself", ping6(src="fd07::2")),
        ("ping6 src own other", ping6(src="fd07::3")),
        ("ping6 src link-local", ping6(src="fe80::1")),
        ("ping6 src off-prefix", ping6(src="fd09::9")),
        ("ping6 ether source multicast", ping6(esrc="33:33:00:00:00:01")),
        ("ns", ns()), ("ns unicast", ns(dst="fd07::2", edst=KMAC)),
        ("ns dad", ns(src="::", opt=False)),
        ("ns dad to the unicast target", ns(src="::", dst="fd07::2", edst=KMAC, opt=False)),
        ("ns dad with source address option", ns(src="::")),
        ("ns src loopback", ns(src="::1")), ("ns src multicast", ns(src="ff02::1")),
        ("ns src v4-mapped", ns(src="::ffff:10.7.0.1")), ("ns src link-local", ns(src="fe80::1")),
        ("ns src off-prefix", ns(src="fd09::9")), ("ns hop limit 64", ns(hlim=64)),
        ("ns ether source multicast", ns(esrc="33:33:00:00:00:01")),
        ("ns option of length zero", ns(opt=False, raw=b"\\x01\\x00" + bytes(6))),
    ]}

    def answered(data, src):
        """A reply to src, or the kernel resolving src's MAC to send one."""
        e = Ether(data)
        if ARP in e:
            return e[ARP].pdst == src or (e[ARP].op == 2 and src == "0.0.0.0")
        if ICMP in e:
            return e[ICMP].type == 0 and e[IP].dst == src
        if ICMPv6EchoReply in e:
            return e[IPv6].dst == src
        if ICMPv6ND_NA in e:
            return e[ICMPv6ND_NA].tgt == "fd07::2"
        if ICMPv6ND_NS in e:
            return e[ICMPv6ND_NS].tgt == src
        return False

    results = {}
    for name, (frame, src) in cases.items():
        subprocess.run(["ip", "neigh", "flush", "dev", "v0"], capture_output=True)
        subprocess.run(["ip", "-6", "neigh", "flush", "dev", "v0"], capture_output=True)
        for args in (["10.7.0.1"], ["-6", "fd07::1"]):  # the usual asker is known
            sh("ip", *args[:-1], "neigh", "replace", args[-1], "lladdr", MYMAC, "dev", "v0",
               "nud", "permanent")
        while select.select([sock], [], [], 0)[0]:
            sock.recv(65535)
        sock.send(bytes(frame))
        kernel, deadline = False, time.monotonic() + 0.3
        while not kernel and time.monotonic() < deadline:
            if select.select([sock], [], [], max(0, deadline - time.monotonic()))[0]:
                data, where = sock.recvfrom(65535)
                kernel = where[2] != socket.PACKET_OUTGOING and answered(data, src)
        results[name] = [kernel, bool(responder.respond(bytes(frame)))]
    print(json.dumps(results))
    '''
)

#: Where reply mode knowingly stays silent and Linux answers: a reply to a zero or group MAC
#: reaches no station or all of them (Linux takes the MAC from its neighbour cache, which
#: the responder does not keep); a reply to :: reaches nobody; an echo request for a unicast
#: address in a broadcast frame is not addressed to the peer at layer 2.
_SILENT_WHERE_LINUX_ANSWERS = {
    "arp sha zero",
    "arp sha broadcast",
    "arp sha multicast",
    "arp ether source multicast",
    "arp ether source zero",
    "ping ether source multicast",
    "ping ether source zero",
    "ping6 ether source multicast",
    "ns ether source multicast",
    "ping6 src unspecified",
    "ping in a broadcast frame",
}
#: Where kernels differ (recent ones take 0.0.0.0/8 and 240.0.0.0/4 as unicast and keep no
#: broadcast route for a subnet's network address): what reply mode does, whatever this
#: kernel does. Class E stays martian (RFC 1812; no host is given such an address).
_KERNEL_DEPENDENT = {
    "arp sip network address": False,
    "ping src network address": False,
    "arp sip 0/8": True,
    "ping src 0/8": True,
    "arp sip class E": False,
    "ping src class E": False,
}


@pytest.mark.slow
def test_reply_mode_agrees_with_linux(ns: Netns) -> None:
    """The same ARP, ping and neighbour solicitation frames, martian sources and all, sent to a
    Linux host over a veth and to the responder: both answer the same ones."""
    import json

    run = ns.run([sys.executable, "-c", _LINUX_ORACLE, str(REPO)], timeout=180)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(results) > 50
    assert results["arp"] == results["ping"] == results["ping6"] == results["ns"] == [True, True]
    disagree = {}
    for name, (kernel, ours) in results.items():
        if name in _SILENT_WHERE_LINUX_ANSWERS:
            expected = [True, False]
        elif name in _KERNEL_DEPENDENT:
            expected = [kernel, _KERNEL_DEPENDENT[name]]
        else:
            expected = [kernel, kernel]
        if [kernel, ours] != expected:
            disagree[name] = {"linux": kernel, "reply mode": ours}
    assert disagree == {}
