"""tapwatch as the peer: reply, echo and replay against real ping and sockets, in a namespace."""

from __future__ import annotations

import re
import signal
import sys
import time
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, needs_netns
from test_live import stop, tshark_fields, wait_addr

from tapwatch import pcap
from tapwatch.kinds import Direction

pytestmark = [needs_netns, pytest.mark.netns]


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
def test_reply_mode_answers_ping(ns: Netns, tmp_path: Path, device: str, flags: list[str],
                                 addr: str, target: str, ping6: bool) -> None:
    out_file = tmp_path / "reply.pcapng"
    tw = ns.popen([*TAPWATCH, "--create", device, *flags, "--addr", addr, "--reply",
                   "--headless", "-w", str(out_file)])
    try:
        wait_addr(ns, device, addr.split("/")[0])
        time.sleep(0.3)
        ping = ns.run(["ping", *(["-6"] if ping6 else []), "-c", "5", "-i", "0.2", "-W", "2",
                       target])
    finally:
        out, err = stop(tw)
    assert received(ping.stdout) == 5, ping.stdout + err
    assert tw.returncode == 0, err
    if ping6:
        replies = tshark_fields(out_file, "icmpv6.echo.sequence_number",
                                display="icmpv6.type==129")
    else:
        replies = tshark_fields(out_file, "icmp.seq", display="icmp.type==0")
    assert [r[0] for r in replies] == ["1", "2", "3", "4", "5"]
    # what tapwatch wrote reaches the host: inbound in the capture, "In" in the lines
    assert sum(1 for ln in out.splitlines() if " In  " in ln and "echo reply" in ln) == 5
    cap = pcap.read_capture(str(out_file))
    directions = {r.direction for r in cap}
    assert directions == {Direction.OUTBOUND, Direction.INBOUND}
    if flags and not ping6:
        arp = tshark_fields(out_file, "arp.src.proto_ipv4", display="arp.opcode==2")
        assert ["192.168.4.2"] in arp
    assert "frames written" in err


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
    tw = ns.popen([*TAPWATCH, "--create", "tun1", "--addr", "10.2.0.1/24", "--echo", "-q",
                   "-w", str(out_file), "icmp"])
    try:
        wait_addr(ns, "tun1", "10.2.0.1")
        ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.2.0.2"])
        time.sleep(0.2)
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
    pkts = [IP(src="10.9.0.2", dst="10.9.0.1") / UDP(sport=4000, dport=9999) / f"hello {i}"
            .encode() for i in range(3)]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i * 0.1
    wrpcap(str(capfile), pkts)
    listener = ns.popen([sys.executable, "-c", (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "s.bind(('0.0.0.0',9999)); s.settimeout(15); print('ready',flush=True)\n"
        "for _ in range(3): print(s.recv(100).decode(),flush=True)\n")])
    assert listener.stdout is not None
    assert listener.stdout.readline().strip() == "ready"
    tw = ns.popen([*TAPWATCH, "--create", "tun9", "--addr", "10.9.0.1/24", "--replay",
                   str(capfile), "--headless", "udp"])
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
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import wrpcap

    capfile = tmp_path / "arp.pcap"
    wrpcap(str(capfile), [Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:09") /
                          ARP(pdst="10.9.0.1")])
    tw = ns.popen([*TAPWATCH, "--create", "tun9", "--addr", "10.9.0.1/24", "--replay",
                   str(capfile), "--headless", "-c", "1"])
    try:
        time.sleep(1.0)
    finally:
        out, err = stop(tw)
    assert "Traceback" not in err
    assert " In  " not in out  # an ARP frame cannot enter a tun device


def test_reply_mode_answers_what_the_capture_filter_hides(ns: Netns) -> None:
    """'icmp' hides ARP from the lines and the counters, not from the peer: ping works."""
    tw = ns.popen([*TAPWATCH, "--create", "tap0", "--tap", "--addr", "192.168.4.1/24",
                   "--reply", "--headless", "icmp"])
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

    from tapwatch.peer import Responder, stable_mac
    from tapwatch.ring import Ring
    from tapwatch.sources import DeviceSource

    info = InterfaceInfo("tap0", "tap", addresses=["192.168.4.1/24"],
                         linktype=LINKTYPE_ETHERNET)
    ring, wake = Ring(), threading.Event()
    src = DeviceSource(info, Dev(), None, ring, wake)  # type: ignore[arg-type]
    reader = Reader()
    src.reader = reader  # type: ignore[assignment]
    flt = compile_packet_filter("icmp", [LINKTYPE_ETHERNET])
    responder = Responder(LINKTYPE_ETHERNET, [ipaddress.ip_interface("192.168.4.1/24")], None,
                          stable_mac("tap0"))
    s = Session([src], ring=ring, wake=wake, capture_filter=flt, responder=responder)
    s.set_mode("reply")
    s.set_mode("drop")
    assert reader.filters[0] is None  # the responder must see ARP
    assert reader.filters[1] is not None and reader.filters[1].expr == "icmp"
