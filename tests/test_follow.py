"""Interfaces that come and go while tapwatch runs: -i any, --observe, --attach (namespaces).

tcpdump -i any runs beside tapwatch as the reference for what there was to capture. Every
wait is for a condition (a packet socket bound, a line written, a link gone), never a
fixed time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from capture_checks import tshark_fields
from netns import TAPWATCH, Netns, link_pair, needs_netns, netns
from test_live import stop, wait_addr

pytestmark = [needs_netns, pytest.mark.netns]

ANY_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{6} (\S+)\s+(In |Out|B  |M  |P  ) (.*)$")
EVENT_LINE = re.compile(r"^# \d\d:\d\d:\d\d\.\d{6} event (\S+): (.*)$")


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def lines(path: Path, dev: str, gone_too: bool = False) -> list[str]:
    """The packet lines of ``dev`` written to ``path`` so far (both tools' -i any layout).

    ``gone_too``: also tcpdump's lines of a packet whose interface was deleted before
    tcpdump printed it (it names interfaces when it prints, so it says "?"); the text
    is given as if tcpdump had named ``dev``.
    """
    out = []
    for ln in path.read_text(errors="replace").splitlines():
        m = ANY_LINE.match(ln)
        if m and m.group(1) == dev:
            out.append(ln)
        elif m and gone_too and m.group(1) == "?":
            stamp, rest = ln.split(" ", 1)
            out.append(f"{stamp} {dev:<5} {rest[1:].lstrip(' ')}")
    return out


def events(path: Path) -> list[tuple[str, str]]:
    return [
        (m.group(1), m.group(2))
        for ln in path.read_text(errors="replace").splitlines()
        if (m := EVENT_LINE.match(ln))
    ]


def events_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for ln in text.splitlines() if (m := EVENT_LINE.match(ln))]


def start(ns: Netns, args: list[str], out: Path) -> subprocess.Popen[str]:
    return ns.popen(args, stdout=out.open("w"))


def tcpdump(ns: Netns, out: Path, expr: list[str]) -> subprocess.Popen[str]:
    proc = ns.popen(["tcpdump", "-i", "any", "-nn", "-l", *expr], stdout=out.open("w"))
    assert proc.stderr is not None
    while "listening on" not in proc.stderr.readline():
        pass
    return proc


def sockets_on(ns: Netns, dev: str) -> int:
    return ns.packet_sockets(dev) if ns.link_exists(dev) else 0


def test_any_captures_interfaces_made_after_it_started_as_tcpdump_does(
    ns: Netns, tmp_path: Path
) -> None:
    ours, theirs = tmp_path / "tw.txt", tmp_path / "td.txt"
    td = tcpdump(ns, theirs, ["icmp"])
    tw = start(ns, [*TAPWATCH, "-i", "any", "-l", "-nn", "icmp"], ours)
    try:
        ns.wait_capturing("lo")  # tapwatch runs; veth0 does not exist yet
        with netns() as far:
            for round_ in (1, 2):  # made, deleted, made again under the same name
                link_pair(ns, far, "10.5.0.1/24", "10.5.0.2/24")
                # no wait for a socket of its own: -i any reads a new link from its first packet
                ping = ns.run(["ping", "-c", "3", "-i", "0.1", "-W", "2", "10.5.0.2"])
                assert "3 received" in ping.stdout
                want = 6 * round_
                wait_for(lambda w=want: len(lines(theirs, "veth0")) >= w, "tcpdump's lines")
                wait_for(lambda w=want: len(lines(ours, "veth0")) >= w, "tapwatch's lines")
                ns.run(["ip", "link", "del", "veth0"], check=True)
                wait_for(lambda: ("veth0", "link removed") in events(ours), "the removal")
    finally:
        _out, err = stop(tw)
        stop(td)
    assert tw.returncode == 0, err
    assert "Traceback" not in err
    # the same packet lines as tcpdump -i any, word for word but for the times
    mine = [ln.split(" ", 1)[1] for ln in lines(ours, "veth0")]
    assert mine == [ln.split(" ", 1)[1] for ln in lines(theirs, "veth0")]
    assert len(mine) == 12
    said = events(ours)
    assert said.count(("veth0", "link removed")) == 2
    assert sum(name == "veth0" and text.startswith("link added") for name, text in said) == 2
    assert ("veth0", "address added 10.5.0.1/24") in said
    assert ("veth0", "route added 10.5.0.0/24") in said
    # counted, and never counted as packets
    assert re.search(r"12 packets captured, .*, \d+ interface events", err), err
    assert "veth0: went away 2 times" in err


def test_observe_waits_for_a_tun_and_follows_it_through_a_vpn_style_restart(
    ns: Netns, tmp_path: Path
) -> None:
    """A program that makes tun0, answers pings on it and goes away, twice: a VPN restart."""
    ours, theirs, cap = tmp_path / "tw.txt", tmp_path / "td.txt", tmp_path / "tw.pcapng"
    td = tcpdump(ns, theirs, ["icmp"])
    tw = start(
        ns,
        [*TAPWATCH, "--observe", "tun0", "--observe", "lo", "-l", "-nn", "-w", str(cap), "icmp"],
        ours,
    )
    assert tw.stderr is not None
    first = tw.stderr.readline()
    assert first.strip() == "tapwatch: tun0 does not exist yet; waiting for it"
    ns.wait_capturing("lo")
    holder_args = [*TAPWATCH, "--create", "tun0", "--addr", "10.7.0.1/24", "--reply", "-q"]
    try:
        for round_ in (1, 2):
            holder = ns.popen(holder_args)
            wait_addr(ns, "tun0", "10.7.0.1")
            # the holder's own capture socket and tapwatch's observer
            wait_for(lambda: sockets_on(ns, "tun0") >= 2, "tapwatch on tun0")
            ping = ns.run(["ping", "-c", "3", "-i", "0.1", "-W", "2", "10.7.0.2"])
            assert "3 received" in ping.stdout
            want = 6 * round_
            wait_for(lambda w=want: len(lines(theirs, "tun0")) >= w, "tcpdump's lines")
            wait_for(lambda w=want: len(lines(ours, "tun0")) >= w, "tapwatch's lines")
            stop(holder)  # tun0 goes with it
            assert ns.wait_link("tun0", present=False)
            wait_for(lambda: ("tun0", "link removed") in events(ours), "the removal")
    finally:
        _out, err = stop(tw)
        stop(td)
    err = first + err
    assert tw.returncode == 0, err
    mine = [ln.split(" ", 1)[1] for ln in lines(ours, "tun0")]
    assert mine == [ln.split(" ", 1)[1] for ln in lines(theirs, "tun0")]
    assert len(mine) == 12
    assert "tapwatch: tun0 appeared: capturing on it" in err
    assert "tapwatch: tun0 went away; capture goes on" in err
    assert "tapwatch: tun0 is back: capturing on it again" in err
    assert (
        "tapwatch: tun0: appeared after the start, went away 2 times, came back once, "
        "away at the end; 12 packets captured from it"
    ) in err
    # the file holds the packets and the events; tshark decodes the events as netlink
    n_events = int(re.search(r"(\d+) interface events", err).group(1))  # type: ignore[union-attr]
    got = [row[0] for row in tshark_fields(cap, "frame.protocols")]
    assert got.count("netlink:netlink-route") == n_events > 0
    assert sum(p.startswith("raw:ip:icmp") for p in got) == 12
    # read back, the file's events say what they said live (here: no change that needs
    # the link's history, such as "mtu 1500 -> 1400", which a file says as "mtu 1400")
    back = subprocess.run(
        [*TAPWATCH, "-r", str(cap), "-nn"], capture_output=True, text=True, timeout=60
    ).stdout
    assert events_in(back) == events(ours)


def test_one_source_going_away_never_stops_the_others(ns: Netns) -> None:
    """A device tapwatch made is deleted: the observed interface goes on, the exit says so."""
    with netns() as far:
        link_pair(ns, far, "10.4.0.1/24", "10.4.0.2/24")
        tw = ns.popen([*TAPWATCH, "--create", "tun9", "--observe", "veth0", "-l", "-nn", "icmp"])
        try:
            ns.wait_capturing("veth0")
            ns.run(["ip", "link", "del", "tun9"], check=True)
            assert tw.stderr is not None
            note = tw.stderr.readline()
            assert note.strip() == ("tapwatch: tun9: device went away; capture goes on on veth0"), (
                note
            )
            ping = ns.run(["ping", "-c", "2", "-i", "0.1", "-W", "2", "10.4.0.2"])
            assert "2 received" in ping.stdout
            assert tw.stdout is not None
            got: list[str] = []
            while len(got) < 4:  # the packet lines; interface events ('# ...') may come between
                line = tw.stdout.readline()
                assert line, got
                if not line.startswith("# "):
                    got.append(line)
            assert all(" veth0 " in ln and "ICMP echo" in ln for ln in got), got
        finally:
            _out, err = stop(tw)
    assert tw.returncode == 1, err  # a source failed: the exit status says so
    assert "tapwatch: tun9: device went away\n" in err
    assert "lo:" not in err and "Traceback" not in err


needs_openvpn = pytest.mark.skipif(
    shutil.which("openvpn") is None, reason="needs openvpn (apt-get install openvpn)"
)


class OpenVpn:
    """A static-key OpenVPN end over UDP in a namespace (OpenVPN 2.6 still runs them)."""

    def __init__(self, ns: Netns, key: Path, log: Path, *args: str) -> None:
        self.ns, self.log = ns, log
        self.args = [
            "openvpn",
            "--dev",
            "tun0",
            "--secret",
            str(key),
            "--cipher",
            "AES-256-CBC",
            "--auth",
            "SHA256",
            "--disable-dco",
            "--proto",
            "udp",
            "--port",
            "1194",
            "--ping",
            "1",
            "--verb",
            "3",
            *args,
        ]
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.log.write_text("")
        self.proc = self.ns.popen(self.args, stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def wait_up(self) -> None:
        wait_for(
            lambda: "Initialization Sequence Completed" in self.log.read_text(),
            "openvpn's tunnel",
            timeout=30,
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


@needs_openvpn
def test_attach_follows_openvpns_tun0_through_a_restart(ns: Netns, tmp_path: Path) -> None:
    """--attach tun0 (held by OpenVPN: observed read-only) and --observe veth0 (the outer
    path); restarting OpenVPN deletes tun0 and makes it again: nothing is lost on veth0
    (the reconnect handshake), and capture resumes on the new tun0, as tcpdump -i any."""
    key = tmp_path / "static.key"
    subprocess.run(["openvpn", "--genkey", "secret", str(key)], check=True, capture_output=True)
    ours, theirs = tmp_path / "tw.txt", tmp_path / "td.txt"
    with netns() as far:
        link_pair(ns, far, "10.4.0.1/24", "10.4.0.2/24")
        server = OpenVpn(far, key, tmp_path / "server.log", "--ifconfig", "10.8.0.2", "10.8.0.1")
        client = OpenVpn(
            ns,
            key,
            tmp_path / "client.log",
            "--ifconfig",
            "10.8.0.1",
            "10.8.0.2",
            "--remote",
            "10.4.0.2",
        )
        expr = ["icmp", "or", "udp", "port", "1194"]
        tw = None
        td = tcpdump(ns, theirs, expr)
        try:
            server.start()
            client.start()
            client.wait_up()
            tw = start(
                ns,
                [
                    *TAPWATCH,
                    "--attach",
                    "tun0",
                    "--observe",
                    "veth0",
                    "--strict-tcpdump",
                    "-l",
                    "-nn",
                    *expr,
                ],
                ours,
            )
            ns.wait_capturing("veth0")
            wait_for(lambda: sockets_on(ns, "tun0") >= 1, "tapwatch on tun0")
            for _round in (1, 2):
                ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.8.0.2"])
                assert "3 received" in ping.stdout
                if _round == 1:  # the VPN restarts: tun0 is deleted and made again
                    client.stop()
                    assert ns.wait_link("tun0", present=False)
                    client.start()
                    wait_for(lambda: sockets_on(ns, "tun0") >= 1, "tapwatch on the new tun0")
                    client.wait_up()
            wait_for(lambda: len(lines(theirs, "tun0", True)) >= 12, "tcpdump's tun0 lines")
            wait_for(lambda: len(lines(ours, "tun0")) >= 12, "tapwatch's tun0 lines")
            tail = lines(theirs, "veth0")[-1].split(" ", 1)[1]
            wait_for(
                lambda: any(ln.endswith(tail) for ln in lines(ours, "veth0")), "the last veth0"
            )
        finally:
            client.stop()
            server.stop()
            if tw is not None:
                _out, err = stop(tw)
            stop(td)
    assert tw.returncode == 0, err
    for dev in ("tun0", "veth0"):
        mine = lines(ours, dev)
        # tcpdump ran from before OpenVPN started, tapwatch from after the first handshake:
        # tcpdump's lines from tapwatch's first on (stamps agree within microseconds), as
        # multisets (tcpdump prints in arrival order, tapwatch in time order)
        first = mine[0].split(" ", 1)[0][:-2]
        gone = dev == "tun0"  # (only tun0 is ever deleted)
        want = [ln for ln in lines(theirs, dev, gone) if ln[: len(first)] >= first]
        assert sorted(ln.split(" ", 1)[1] for ln in mine) == sorted(
            ln.split(" ", 1)[1] for ln in want
        ), (dev, mine, want)
    assert len(lines(ours, "tun0")) == 12
    assert not any(ln.startswith("#") for ln in ours.read_text().splitlines())  # strict
    assert "tapwatch: tun0 went away; capture goes on" in err
    # (OpenVPN stopped before tapwatch did: tun0 went away a second time)
    assert (
        "tapwatch: tun0: went away 2 times, came back once, away at the end; "
        "12 packets captured from it"
    ) in err


#: makes a veth pair and sends at once on it: no wait between the link's birth and its first
#: frames (the frames are whole Ethernet frames with their addresses: nothing is resolved)
_BORN_AND_SEND = r"""
import socket, struct, subprocess, sys
for cmd in (["ip", "link", "add", "nva", "type", "veth", "peer", "name", "nvb"],
            ["ip", "link", "set", "nvb", "up"], ["ip", "link", "set", "nva", "up"]):
    subprocess.run(cmd, check=True)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("nva", 0))
for seq in range(int(sys.argv[1])):
    payload = b"born%04d" % seq
    udp = struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq, 0, 64, 17, 0,
                     bytes([10, 66, 0, 1]), bytes([10, 66, 0, 2]))
    s.send(bytes.fromhex("ffffffffffff020000000001") + b"\x08\x00" + ip + udp)
"""


#: one more frame on the link made above, from another port (told apart in the lines)
_SEND_LATE = _BORN_AND_SEND.replace("40000", "40001").replace(
    "subprocess.run(cmd, check=True)", "pass"
)


def test_any_sees_the_first_frames_of_a_link_made_after_it_started(
    ns: Netns, tmp_path: Path
) -> None:
    """Frames sent on a new link the moment it is up: tcpdump -i any sees each (one unbound
    packet socket); tapwatch -i any must see the same, from the first."""
    ours, theirs = tmp_path / "tw.txt", tmp_path / "td.txt"
    td = tcpdump(ns, theirs, ["udp", "port", "9999"])
    tw = start(ns, [*TAPWATCH, "-i", "any", "-l", "-nn", "udp", "port", "9999"], ours)
    try:
        ns.wait_capturing("lo")
        sent = ns.run([sys.executable, "-c", _BORN_AND_SEND, "5"])
        assert sent.returncode == 0, sent.stderr
        wait_for(lambda: len(lines(theirs, "nva")) + len(lines(theirs, "nvb")) >= 10, "tcpdump")
        # a frame sent once tapwatch has heard of both links is seen whatever the way: when
        # it is printed, every frame before it was printed or missed
        wait_for(lambda: {"nva", "nvb"} <= {n for n, _t in events(ours)}, "tapwatch's events")
        late = ns.run([sys.executable, "-c", _SEND_LATE, "1"])
        assert late.returncode == 0, late.stderr
        wait_for(lambda: any(".40001 >" in ln for ln in lines(theirs, "nvb")), "tcpdump, late")
        wait_for(lambda: any(".40001 >" in ln for ln in lines(ours, "nvb")), "tapwatch, late")
    finally:
        _out, err = stop(tw)
        stop(td)
    assert tw.returncode == 0, err
    for dev in ("nva", "nvb"):
        mine = [ln.split(" ", 1)[1] for ln in lines(ours, dev)]
        assert mine == [ln.split(" ", 1)[1] for ln in lines(theirs, dev)], (dev, err)
        assert len(mine) == 6


#: a wireguard-go stand-in for the device's life: makes tun NAME (no packet-info header),
#: holds it down, says "held", and reads until its standard input closes
_HOLD_TUN = r"""
import fcntl, os, struct, sys, threading
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))
print("held", flush=True)
threading.Thread(target=lambda: [os.read(fd, 65536) for _ in iter(int, 1)], daemon=True).start()
sys.stdin.read()
"""


def bound_to(ns: Netns, dev: str) -> int:
    """Packet sockets bound to ``dev``, hooked in or not (/proc/net/packet's Iface column)."""
    index = ns.run(["cat", f"/sys/class/net/{dev}/ifindex"]).stdout.strip()
    rows = ns.run(["cat", "/proc/net/packet"]).stdout.splitlines()[1:]
    return sum(1 for row in rows if row.split()[4] == index)


def test_an_interface_down_at_the_start_and_brought_up_later_is_no_going_away(
    ns: Netns, tmp_path: Path
) -> None:
    """wireguard-go makes its tun, and is configured (address, up) after tapwatch started:
    nothing "went away"; the packets once it is up are tcpdump -i any's."""
    ours, theirs = tmp_path / "tw.txt", tmp_path / "td.txt"
    holder = ns.popen([sys.executable, "-c", _HOLD_TUN, "wg7"], stdin=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    td = tcpdump(ns, theirs, ["icmp"])
    tw = ns.popen([*TAPWATCH, "--observe", "wg7", "-l", "-nn", "icmp"], stdout=ours.open("w"))
    try:
        # a socket bound to a link that is down is not hooked in yet: count it bound at all
        wait_for(lambda: bound_to(ns, "wg7") >= 1, "tapwatch's socket on wg7")
        ns.run(["ip", "addr", "add", "10.97.0.1/24", "dev", "wg7"], check=True)
        ns.run(["ip", "link", "set", "wg7", "up"], check=True)
        wait_for(lambda: ("wg7", "link up") in events(ours), "tapwatch's event")
        ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.97.0.2"])
        assert "3 packets transmitted" in ping.stdout, ping.stdout + ping.stderr
        wait_for(lambda: len(lines(theirs, "wg7")) >= 3, "tcpdump's lines")
        wait_for(lambda: len(ours.read_text().splitlines()) >= 4, "tapwatch's lines")
        ns.run(["ip", "link", "set", "wg7", "down"], check=True)  # and down again: no going
        wait_for(lambda: ("wg7", "link down") in events(ours), "tapwatch's event")
    finally:
        _out, err = stop(tw)
        stop(td)
        holder.communicate(timeout=10)
    assert tw.returncode == 0, err
    assert "went away" not in err + ours.read_text(), err
    assert "Traceback" not in err
    mine = [ln.split(" ", 1)[1] for ln in ours.read_text().splitlines() if not ln.startswith("#")]
    assert mine == [ln.split(" ", 2)[2].lstrip() for ln in lines(theirs, "wg7")]
    assert len(mine) == 3


def test_reply_to_an_attached_device_made_again_by_another_program_says_once_it_stopped(
    ns: Netns, tmp_path: Path
) -> None:
    """--attach --reply, and a VPN deletes the device and makes it again (it owns the new
    one: tapwatch observes it read-only). Replies stop, said once; never one failed write
    after another on the dead descriptor."""
    ours = tmp_path / "tw.txt"
    ns.run(["ip", "tuntap", "add", "mode", "tun", "name", "tunr"], check=True)
    ns.run(["ip", "addr", "add", "10.98.0.1/24", "dev", "tunr"], check=True)
    tw = ns.popen(
        [*TAPWATCH, "--attach", "tunr", "--reply", "-l", "-nn", "icmp"], stdout=ours.open("w")
    )
    holder = None
    try:
        wait_for(lambda: "UP" in ns.run(["ip", "link", "show", "tunr"]).stdout, "tunr up")
        ping = ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.98.0.2"])
        assert "2 received" in ping.stdout, ping.stdout  # tapwatch answers
        ns.run(["ip", "link", "del", "tunr"], check=True)
        wait_for(lambda: ("tunr", "link removed") in events(ours), "the removal")
        holder = ns.popen([sys.executable, "-c", _HOLD_TUN, "tunr"], stdin=subprocess.PIPE)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        ns.run(["ip", "addr", "add", "10.98.0.1/24", "dev", "tunr"], check=True)
        ns.run(["ip", "link", "set", "tunr", "up"], check=True)
        wait_for(lambda: bound_to(ns, "tunr") >= 1, "tapwatch observing the new tunr")
        ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.98.0.2"])
        assert " 0 received" in ping.stdout, ping.stdout  # the new owner answers nothing
        wait_for(lambda: ours.read_text().count("echo request") >= 5, "tapwatch's lines")
    finally:
        _out, err = stop(tw)
        if holder is not None:
            holder.communicate(timeout=10)
    assert tw.returncode == 0, err
    said = [ln for ln in err.splitlines() if "stopped" in ln]
    assert said == [
        "tapwatch: replies and echoes stopped: tunr was made again by another program; "
        "observing read-only"
    ], err
    assert "failed" not in err, err
    assert ours.read_text().count("echo reply") == 2  # the two before, none after


def test_an_mtu_change_read_back_from_pcapng_says_old_and_new_as_live(
    ns: Netns, tmp_path: Path
) -> None:
    """The event lines of -r FILE are the live ones (the MTU before is the record's
    comment, which tshark shows too); converted again, the words stay."""
    ours, cap, again = tmp_path / "tw.txt", tmp_path / "tw.pcapng", tmp_path / "again.pcapng"
    ns.run(["ip", "link", "add", "va", "type", "veth", "peer", "name", "vb"], check=True)
    tw = ns.popen(
        [*TAPWATCH, "--observe", "va", "-l", "-nn", "-w", str(cap)], stdout=ours.open("w")
    )
    try:
        wait_for(lambda: bound_to(ns, "va") >= 1, "tapwatch's socket on va")
        ns.run(["ip", "link", "set", "va", "mtu", "1400"], check=True)
        ns.run(["ip", "link", "set", "va", "mtu", "1300", "up"], check=True)
        wait_for(lambda: ("va", "mtu 1400 -> 1300") in events(ours), "the live events")
    finally:
        _out, err = stop(tw)
    assert tw.returncode == 0, err
    live = [e for e in events(ours) if e[1].startswith("mtu")]
    assert live == [("va", "mtu 1500 -> 1400"), ("va", "mtu 1400 -> 1300")]
    read = subprocess.run([*TAPWATCH, "-r", str(cap)], capture_output=True, text=True, timeout=60)
    assert [e for e in events_in(read.stdout) if e[1].startswith("mtu")] == live, read.stdout
    conv = subprocess.run(
        [*TAPWATCH, "-r", str(cap), "-w", str(again)], capture_output=True, text=True, timeout=60
    )
    assert conv.returncode == 0, conv.stderr
    read = subprocess.run([*TAPWATCH, "-r", str(again)], capture_output=True, text=True, timeout=60)
    assert [e for e in events_in(read.stdout) if e[1].startswith("mtu")] == live, read.stdout
    if shutil.which("tshark"):
        shown = subprocess.run(
            ["tshark", "-r", str(cap), "-T", "fields", "-e", "frame.comment"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert "va: mtu 1500 -> 1400" in shown and "va: mtu 1400 -> 1300" in shown, shown


def _any_sockets(ns: Netns) -> int:
    """Packet sockets bound to no interface (-i any's shared one, tcpdump -i any's)."""
    rows = ns.run(["cat", "/proc/net/packet"]).stdout.splitlines()[1:]
    return sum(1 for row in rows if row.split()[4] == "0")


@pytest.mark.parametrize("forced", ["", "process"])
def test_any_honours_the_forced_capture_path_for_links_made_later(
    ns: Netns, tmp_path: Path, forced: str
) -> None:
    """TAPWATCH_CAPTURE forces the path of every reader; -i any's shared socket reads only
    by the packet ring, so with another path forced a link made later gets a socket of its
    own (on the forced path) once announced, and there is no shared one."""
    import os

    ours = tmp_path / "tw.txt"
    env = {k: v for k, v in os.environ.items() if k != "TAPWATCH_CAPTURE"}
    if forced:
        env["TAPWATCH_CAPTURE"] = forced
    tw = ns.popen([*TAPWATCH, "-i", "any", "-l", "-nn", "icmp"], stdout=ours.open("w"), env=env)
    try:
        ns.wait_capturing("lo")
        with netns() as far:
            link_pair(ns, far, "10.5.0.1/24", "10.5.0.2/24")
            wait_for(lambda: ("veth0", "link up") in events(ours), "the link's events")
            if forced:
                wait_for(lambda: bound_to(ns, "veth0") == 1, "a socket of its own")
            ping = ns.run(["ping", "-c", "3", "-i", "0.1", "-W", "2", "10.5.0.2"])
            assert "3 received" in ping.stdout
            wait_for(lambda: len(lines(ours, "veth0")) >= 6, "tapwatch's lines")
            assert _any_sockets(ns) == (0 if forced else 1)
            assert bound_to(ns, "veth0") == (1 if forced else 0)
    finally:
        _out, err = stop(tw)
    assert tw.returncode == 0, err
    assert len(lines(ours, "veth0")) == 6


#: tapwatch with the announcements of the links named nv* lost (as when netlink drops
#: messages), and packets held for 0.5 s instead of 5 before they are handed on
_DEAF_TAPWATCH = r"""
import sys
from tapwatch.capture import anylink, links
anylink.PENDING_S = 0.5
heard = links.LinkMonitor._link_change
def deaf(self, msg, event, raw, now):
    if str(msg.get_attr("IFLA_IFNAME") or "").startswith("nv"):
        return []
    return heard(self, msg, event, raw, now)
links.LinkMonitor._link_change = deaf
from tapwatch.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_any_keeps_the_packets_of_a_link_never_announced_under_its_index(
    ns: Netns, tmp_path: Path
) -> None:
    """Packets of a link whose announcement never came wait, then are kept as ``ifN`` (the
    link's index, as tcpdump names a link it cannot name), never dropped in silence: the
    lines are tcpdump -i any's but for the name, the exit summary says it."""
    ours, theirs = tmp_path / "tw.txt", tmp_path / "td.txt"
    td = tcpdump(ns, theirs, ["udp", "port", "9999"])
    args = ["-i", "any", "-l", "-nn", "udp", "port", "9999"]
    tw = start(ns, [sys.executable, "-c", _DEAF_TAPWATCH, *args], ours)
    try:
        ns.wait_capturing("lo")
        sent = ns.run([sys.executable, "-c", _BORN_AND_SEND, "5"])
        assert sent.returncode == 0, sent.stderr
        index = {
            dev: ns.run(["cat", f"/sys/class/net/{dev}/ifindex"]).stdout.strip()
            for dev in ("nva", "nvb")
        }
        wait_for(lambda: len(lines(theirs, "nva")) + len(lines(theirs, "nvb")) >= 10, "tcpdump")
        wait_for(lambda: all(len(lines(ours, f"if{i}")) >= 5 for i in index.values()), "tapwatch")
    finally:
        _out, err = stop(tw)
        stop(td)
    assert tw.returncode == 0, err
    for dev, i in index.items():
        mine = [ln.split(" ", 2)[2] for ln in lines(ours, f"if{i}")]
        assert mine == [ln.split(" ", 2)[2] for ln in lines(theirs, dev)], (dev, err)
        assert f"-i any: link index {i} was never announced; its packets are kept as if{i}" in err
        assert f"if{i}: never announced (named by its index); 5 packets captured" in err, err
    assert "dropped by kernel" not in err or " 0 dropped by kernel" in err, err


#: tapwatch, with each link named gone* deleted just before its socket is opened: a VPN
#: that restarts (its device deleted) while tapwatch starts, between the list of the
#: links and their sockets
_GONE_AT_START = r"""
import subprocess, sys
from tapwatch import sources
opened = sources.open_observer
def gone_first(name, *args, **kw):
    if name.startswith("gone"):
        subprocess.run(["ip", "link", "del", name])  # gone1 goes with gone0
    return opened(name, *args, **kw)
sources.open_observer = gone_first
from tapwatch.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("watch", [["-i", "any"], ["--observe", "gone0", "--observe", "lo"]])
def test_a_link_deleted_while_tapwatch_starts_is_one_that_is_not_there(
    ns: Netns, tmp_path: Path, watch: list[str]
) -> None:
    """The link went between the check that it exists and its socket: tapwatch started
    all the same (-i any: without it; --observe: waiting for it), where it had ended with
    "cannot observe gone0: No such device" and captured nothing."""
    ns.run(["ip", "link", "add", "gone0", "type", "veth", "peer", "name", "gone1"], check=True)
    ours = tmp_path / "tw.txt"
    tw = start(ns, [sys.executable, "-c", _GONE_AT_START, *watch, "-l", "-nn", "icmp"], ours)
    try:
        ns.wait_capturing("lo")
        ping = ns.run(["ping", "-c", "2", "-i", "0.1", "-W", "2", "127.0.0.1"])
        assert "2 received" in ping.stdout
        wait_for(lambda: len(lines(ours, "lo")) == 4, "tapwatch's lines of lo")
    finally:
        _out, err = stop(tw)
    assert not ns.link_exists("gone0")
    assert "cannot observe" not in err and "Traceback" not in err, err
    if "--observe" in watch:
        assert "gone0 does not exist yet; waiting for it" in err


def test_a_link_the_capture_filter_cannot_be_compiled_for_is_said_and_the_rest_goes_on(
    ns: Netns, tmp_path: Path
) -> None:
    """-i any with an expression libpcap compiles for Ethernet only (``ether host``), in a
    namespace with no raw link at the start: a tun made later cannot be read under it. The
    exit summary's line for the link says so with libpcap's reason, and lo is captured on;
    it had been an "internal error" of the link monitor."""
    ours = tmp_path / "tw.txt"
    tw = start(
        ns, [*TAPWATCH, "-i", "any", "-l", "-nn", "ether host 02:00:00:00:00:01 or icmp"], ours
    )
    try:
        ns.wait_capturing("lo")
        for cmd in (
            ["ip", "tuntap", "add", "tun5", "mode", "tun"],
            ["ip", "addr", "add", "10.90.0.1/24", "dev", "tun5"],
            ["ip", "link", "set", "tun5", "up"],
        ):
            ns.run(cmd, check=True)
        ping = ns.run(["ping", "-c", "2", "-i", "0.1", "-W", "2", "127.0.0.1"])
        assert "2 received" in ping.stdout
        wait_for(lambda: len(lines(ours, "lo")) == 4, "tapwatch's lines of lo")
    finally:
        _out, err = stop(tw)
        ns.run(["ip", "link", "del", "tun5"])
    assert "tun5: last time it could not be read (invalid filter" in err, err
    assert "ethernet addresses supported only on" in err
    assert "internal error" not in err and "Traceback" not in err
