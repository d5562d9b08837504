"""Several interfaces in one session, and directions as tcpdump -i any gives them (namespaces)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, needs_netns
from waiting import stop, text_of, wait_addr, wait_for

from tapwatch import pcap
from tapwatch.kinds import Direction

pytestmark = [needs_netns, pytest.mark.netns]

ANY_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{6} (\S+)\s+(In |Out|B  |M  |P  ) (.*)$")


def veth(ns: Netns) -> None:
    for cmd in (
        ["ip", "link", "add", "va", "type", "veth", "peer", "name", "vb"],
        ["ip", "link", "set", "va", "up"],
        ["ip", "link", "set", "vb", "up"],
        ["ip", "addr", "add", "10.8.0.1/24", "dev", "va"],
    ):
        ns.run(cmd, check=True)


def tcpdump_any(ns: Netns, expr: list[str], **kw: object) -> subprocess.Popen[str]:
    return tcpdump_started(ns.popen(["tcpdump", "-i", "any", "-nn", "-l", *expr], **kw))


def tcpdump_started(proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """``proc`` once tcpdump says "listening on" (it captures); fails if it ends first."""
    assert proc.stderr is not None
    said = ""
    while line := proc.stderr.readline():  # "" once tcpdump has ended
        said += line
        if "listening on" in line:
            return proc
    raise AssertionError(f"tcpdump never started: {said}")


def on_ours(text: str) -> list[str]:
    """tcpdump -i any's lines about the test's own interfaces (tun0, va, vb)."""
    return [
        ln
        for ln in text.splitlines()
        if (m := ANY_LINE.match(ln)) is not None and m.group(1) in ("tun0", "va", "vb")
    ]


def test_device_and_observed_interface_print_like_tcpdump_any(ns: Netns, tmp_path: Path) -> None:
    veth(ns)
    td_lines, tw_lines = tmp_path / "tcpdump.txt", tmp_path / "tapwatch.txt"
    td_out, tw_out = td_lines.open("w"), tw_lines.open("w")
    td = tcpdump_any(ns, ["icmp", "or", "arp"], stdout=td_out)
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            "10.9.0.1/24",
            "--reply",
            "--observe",
            "va",
            "--observe",
            "vb",
            "--headless",
            "icmp or arp",
        ],
        stdout=tw_out,
    )
    try:
        wait_addr(ns, "tun0", "10.9.0.1")
        ns.wait_capturing("vb")  # the observers are opened after tun0 is configured, vb last
        ns.run(["ping", "-c", "2", "-i", "0.3", "-W", "1", "10.9.0.2"])
        ns.run(["ping", "-c", "1", "-W", "1", "10.8.0.2"])  # ARP on the veth pair, no answer

        def ours_so_far() -> list[str]:
            return [ln for ln in text_of(tw_lines).splitlines() if ANY_LINE.match(ln)]

        # tapwatch has the lines looked for below, and tcpdump (whose ring hands over blocks
        # on a timer) as many on these interfaces: what differs then is a real difference
        wait_for(
            lambda: (
                sum("echo reply" in ln for ln in ours_so_far()) == 2
                and sum("who-has 10.8.0.2" in ln for ln in ours_so_far()) >= 2
            )
        )
        wait_for(lambda: len(on_ours(text_of(td_lines))) >= len(ours_so_far()))
    finally:
        _, err = stop(tw)
        stop(td)
        td_out.close()
        tw_out.close()
    out, tdout = tw_lines.read_text(), td_lines.read_text()
    assert tw.returncode == 0, err
    ours = [ln for ln in out.splitlines() if ANY_LINE.match(ln)]
    theirs = set(on_ours(tdout))
    # every line a packet line, but for interface events (an address va gets late)
    assert len(ours) == len([ln for ln in out.splitlines() if not ln.startswith("# ")]), out
    # the same lines, word for word, timestamps aside (tapwatch stamps its own replies)
    assert {ln.split(" ", 1)[1] for ln in ours} == {ln.split(" ", 1)[1] for ln in theirs}
    assert sum(" tun0  In  IP 10.9.0.2 > 10.9.0.1: ICMP echo reply" in ln for ln in ours) == 2
    assert any(" va    Out ARP, Request who-has 10.8.0.2" in ln for ln in ours)
    assert any(" vb    B   ARP, Request who-has 10.8.0.2" in ln for ln in ours)
    times = [ln.split(" ", 1)[0] for ln in ours]
    assert times == sorted(times)  # in time order across the three interfaces


def test_pcapng_directions_agree_with_tcpdump_any(ns: Netns, tmp_path: Path) -> None:
    ours = tmp_path / "tw.pcapng"
    theirs = tmp_path / "td.pcapng"
    td_lines = tmp_path / "tcpdump.txt"
    td_out = td_lines.open("w")
    td = ns.popen(
        ["tcpdump", "-i", "any", "-nn", "-w", str(theirs), "--print", "-l", "icmp"],
        stdout=td_out,
    )
    tcpdump_started(td)
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "--addr",
            "10.6.0.1/24",
            "--reply",
            "-q",
            "-w",
            str(ours),
            "icmp",
        ]
    )
    try:
        wait_addr(ns, "tun1", "10.6.0.1")
        ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.6.0.2"])
        # tcpdump's ring hands over blocks on a timer: until it has printed the 6 packets
        wait_for(lambda: text_of(td_lines).count("ICMP echo") >= 6)
    finally:
        stop(tw)
        stop(td)
        td_out.close()
    assert "3 received" in ping.stdout
    got = [(r.direction, r.data) for r in pcap.read_capture(str(ours))]
    # tcpdump -i any writes Linux cooked v2: protocol at 0, packet type at 10 (4: outgoing),
    # the IP packet after 20 bytes; tun1 is the namespace's only interface with ICMP on it
    want = []
    for r in pcap.read_capture(str(theirs)):
        data = r.data
        if data[0:2] == b"\x08\x00":
            want.append((Direction.OUTBOUND if data[10] == 4 else Direction.INBOUND, data[20:]))
    assert [d for d, _ in got] == [Direction.OUTBOUND, Direction.INBOUND] * 3
    assert got == want


def test_snaplen_and_i_alias_on_a_live_capture(ns: Netns, tmp_path: Path) -> None:
    out_file = tmp_path / "snap.pcap"
    tw = ns.popen(
        [*TAPWATCH, "-i", "lo", "-s", "40", "-w", str(out_file), "--print", "-tt", "icmp"]
    )
    try:
        ns.wait_capturing("lo")
        ns.run(["ping", "-c", "2", "-i", "0.2", "-s", "200", "127.0.0.1"])
    finally:
        out, err = stop(tw)
    assert tw.returncode == 0, err
    recs = list(pcap.read_capture(str(out_file)))
    assert recs and all(len(r.data) == 40 and r.orig_len == 14 + 20 + 8 + 200 for r in recs)
    assert all(re.match(r"^\d{10}\.\d{6} ", ln) for ln in out.splitlines()), out
    assert "[|icmp]" in out or "truncated" in out or "ICMP echo" in out


def test_rotation_by_size_keeps_a_ring_of_files(ns: Netns, tmp_path: Path) -> None:
    """-C 1 -W 2 as tcpdump: files of about a million bytes, NAME0/NAME1 reused in turn."""
    base = tmp_path / "rot.pcap"
    tw = ns.popen([*TAPWATCH, "-i", "lo", "-w", str(base), "-C", "1", "-W", "2", "-q", "udp"])
    try:
        ns.wait_capturing("lo")
        code = (
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for i in range(3000): s.sendto(b'x'*1000,('127.0.0.1',9))\n"
        )
        ns.run([sys.executable, "-c", code], check=True)
    finally:
        _, err = stop(tw)
    assert tw.returncode == 0, err
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == ["rot.pcap0", "rot.pcap1"], made
    total = sum(len(list(pcap.read_capture(str(tmp_path / n)))) for n in made)
    assert 0 < total < 3000 * 2  # the ring kept the newest files, not everything
    assert all((tmp_path / n).stat().st_size <= 1_100_000 for n in made)


def test_rotation_by_time_stops_after_w_files(ns: Netns, tmp_path: Path) -> None:
    tw = ns.popen(
        [*TAPWATCH, "-i", "lo", "-w", str(tmp_path / "t-%s.pcap"), "-G", "1", "-W", "2", "-q"]
    )
    try:
        deadline = time.monotonic() + 15
        while tw.poll() is None and time.monotonic() < deadline:
            ns.run(["ping", "-c", "1", "-W", "1", "127.0.0.1"])
        assert tw.poll() is not None, "-G 1 -W 2 should end the capture by itself"
    finally:
        _, err = stop(tw) if tw.poll() is None else tw.communicate()
    assert tw.returncode == 0, err
    assert "Maximum file limit reached: 2" in err
    assert len(list(tmp_path.glob("t-*.pcap"))) == 2


def test_loopback_shows_each_packet_once_as_tcpdump_does(ns: Netns, tmp_path: Path) -> None:
    """Loopback hands packet sockets every packet twice (sent, received): keep one, as libpcap."""
    td_lines = tmp_path / "tcpdump.txt"
    td_out = td_lines.open("w")
    td = tcpdump_started(ns.popen(["tcpdump", "-i", "lo", "-nn", "-l", "icmp"], stdout=td_out))
    tw = ns.popen([*TAPWATCH, "-i", "lo", "--headless", "icmp"])
    try:
        ns.wait_capturing("lo", before=1)  # tcpdump's socket is the first
        ns.run(["ping", "-c", "2", "-i", "0.2", "127.0.0.1"])
        # tcpdump's ring hands over blocks on a timer: until it has printed the 4 packets
        wait_for(lambda: text_of(td_lines).count("ICMP echo") >= 4)
    finally:
        out, _ = stop(tw)
        stop(td)
        td_out.close()
    theirs = td_lines.read_text()
    ours = [ln.split(" ", 1)[1].replace("In  ", "", 1) for ln in out.splitlines() if ln]
    assert ours == [ln.split(" ", 1)[1] for ln in theirs.splitlines() if ln], (out, theirs)
    assert len(ours) == 4


def test_any_observes_an_interface_with_an_odd_name_and_escapes_it(ns: Netns) -> None:
    """The kernel allows escapes in a name (not '/', ':' or whitespace): `-i any` watches that
    interface too, and every line shows its name escaped."""
    odd = "o\x1b[31mx"
    for cmd in (
        ["ip", "link", "add", odd, "type", "veth", "peer", "name", "vb"],
        ["ip", "link", "set", odd, "up"],
        ["ip", "link", "set", "vb", "up"],
        ["ip", "addr", "add", "10.8.0.1/24", "dev", odd],
    ):
        ns.run(cmd, check=True)
    tw = ns.popen([*TAPWATCH, "-i", "any", "--headless", "-c", "6", "arp"])
    ping = None
    try:
        ns.wait_capturing(odd)
        ns.wait_capturing("vb")
        ping = ns.popen(["ping", "-c", "30", "-i", "0.2", "10.8.0.2"])  # asks ARP, unanswered
        out, err = tw.communicate(timeout=30)
    finally:
        if ping is not None:
            ping.kill()
            ping.wait()
        if tw.poll() is None:
            stop(tw)
    assert tw.returncode == 0, err
    assert "\x1b" not in out + err
    names = {m.group(1) for m in map(ANY_LINE.match, out.splitlines()) if m}
    assert names == {"o^[[31mx", "vb"}, out
