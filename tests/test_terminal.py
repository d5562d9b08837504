"""The real app in a real terminal (tmux), with a real device and ping, in a namespace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from netns import Netns, needs_netns
from waiting import wait_for

pytestmark = [
    needs_netns,
    pytest.mark.netns,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


# a tmux server of our own, so nobody else's sessions or settings change the window size
SOCKET = f"tapwatch-test-{uuid.uuid4().hex[:8]}"


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    # COLUMNS/LINES left over from the test run would override the real terminal size
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
    )


@pytest.fixture(autouse=True, scope="module")
def _own_tmux_server() -> Iterator[None]:
    yield
    tmux("kill-server")


def screen(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name).stdout


@contextmanager
def terminal(ns: Netns, args: str, width: int = 160, height: int = 45) -> Iterator[str]:
    """tapwatch ``args`` in a tmux window inside ``ns``; yields the tmux session name.

    The shell prints ``EXITED <status>`` when tapwatch ends, and keeps the window open.
    """
    name = f"tw-{uuid.uuid4().hex[:6]}"
    cmd = f"ip netns exec {ns.name} {args.format(python=sys.executable)}; echo EXITED $?; sleep 30"
    tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", name, cmd)
    try:
        yield name
    finally:
        tmux("kill-session", "-t", name)


def test_ping_rows_appear_on_screen_and_q_removes_the_device(ns: Netns) -> None:
    with terminal(ns, "{python} -m tapwatch --create tun1 --addr 192.168.3.11/24") as name:
        assert wait_for(lambda: "tun1" in screen(name) and "Packets" in screen(name)), screen(name)
        ping = ns.run(["ping", "-c", "3", "-i", "0.3", "-W", "1", "192.168.3.12"])
        assert "3 packets transmitted" in ping.stdout

        def three_rows() -> bool:
            rows = [
                ln
                for ln in screen(name).splitlines()
                if "192.168.3.12" in ln and "ICMP" in ln and "request" in ln
            ]
            return len(rows) == 3

        assert wait_for(three_rows), screen(name)
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)
        assert ns.wait_link("tun1", present=False)


def test_non_root_user_gets_one_clear_line(ns: Netns) -> None:
    args = "setpriv --reuid=65534 --regid=65534 --clear-groups {python} -m tapwatch --create tun1"
    with terminal(ns, args, width=250, height=20) as name:
        assert wait_for(lambda: "EXITED 1" in screen(name)), screen(name)
        lines = [ln for ln in screen(name).splitlines() if ln.strip()]
        assert lines[0].startswith("tapwatch: ") and lines[1] == "EXITED 1", lines
        assert "CAP_NET_ADMIN" in lines[0] and "sudo tapwatch --create tun1" in lines[0]


def test_sigterm_ends_the_ui_with_a_complete_pcap(ns: Netns, tmp_path: Path) -> None:
    out_file = tmp_path / "ui.pcapng"
    args = f"{{python}} -m tapwatch --create tun2 --addr 10.2.2.1/24 -w {out_file} icmp"
    with terminal(ns, args) as name:
        assert wait_for(lambda: "tun2" in screen(name) and "Packets" in screen(name))
        ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.2.2.2"])
        assert wait_for(lambda: screen(name).count("10.2.2.2") >= 2), screen(name)
        # tapwatch itself, not the tmux server or the shell whose command lines also name it
        pattern = f"^{sys.executable} -m tapwatch --create tun2 "
        pids = subprocess.run(
            ["pgrep", "-f", pattern], capture_output=True, text=True
        ).stdout.split()
        assert pids
        for pid in pids:
            os.kill(int(pid), signal.SIGTERM)
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)
        seqs = subprocess.run(
            ["tshark", "-r", str(out_file), "-T", "fields", "-e", "icmp.seq"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert seqs == ["1", "2"]
        assert ns.wait_link("tun2", present=False)


def _small_capture(path: Path, n: int = 40) -> None:
    from scapy.layers.inet import ICMP, IP
    from scapy.utils import wrpcap

    wrpcap(str(path), [IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(seq=i) for i in range(n)])


def test_ui_reads_keys_from_the_terminal_when_stdin_is_the_capture(
    ns: Netns, tmp_path: Path
) -> None:
    """``... -w - | tapwatch -r -``: the capture on stdin, the keys from the terminal."""
    cap = tmp_path / "piped.pcap"
    _small_capture(cap)
    with terminal(ns, f"cat {cap} | {{python}} -m tapwatch -r -", width=120, height=30) as name:
        assert wait_for(lambda: "stdin" in screen(name) and "Packets" in screen(name)), screen(name)
        assert wait_for(lambda: "packets 40" in screen(name)), screen(name)
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)


def test_ui_draws_when_stderr_is_redirected(ns: Netns, tmp_path: Path) -> None:
    cap = tmp_path / "quiet.pcap"
    _small_capture(cap)
    with terminal(ns, f"{{python}} -m tapwatch -r {cap} 2>/dev/null", width=120, height=30) as name:
        assert wait_for(lambda: "quiet.pcap" in screen(name) and "Packets" in screen(name)), screen(
            name
        )
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)


# ----- hostile input and hangups -----------------------------------------------------------

HOSTILE_BITS = ("\x1b]0;title\x07", "\x1b]52;c;cHduZWQ=\x07", "\r\x1b[2K", "\u202e")


def _hostile_capture(directory: Path) -> Path:
    """A pcapng whose file name, interface name and packet names hold terminal controls."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    from tapwatch import pcap

    name = "cap" + "".join(HOSTILE_BITS) + ".pcapng"
    path = directory / name
    w = pcap.open_writer(str(path), 101, ifname="if" + "".join(HOSTILE_BITS))
    evil = "".join(HOSTILE_BITS).encode()
    for i in range(4):
        w.write(
            1_700_000_000_000_000_000 + i * 1000,
            bytes(
                IP(src="10.0.0.1", dst="10.0.0.2")
                / UDP(sport=5353, dport=53)
                / DNS(id=i, qd=DNSQR(qname=b"a" + evil + b".example"))
            ),
        )
        w.write(
            1_700_000_000_000_001_000 + i * 1000,
            bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=4000, dport=9) / Raw(evil)),
        )
    w.close()
    return path


def test_no_control_byte_from_a_capture_reaches_the_terminal(ns: Netns, tmp_path: Path) -> None:
    """Selecting and expanding packets whose names retitle, write the clipboard, erase lines."""
    directory = tmp_path / "hostile"
    directory.mkdir()
    _hostile_capture(directory)
    # the detectors work: a raw OSC 0 retitles a pane and an OSC 52 makes a buffer
    control = f"ctl-{uuid.uuid4().hex[:6]}"
    tmux(
        "new-session",
        "-d",
        "-x",
        "80",
        "-y",
        "10",
        "-s",
        control,
        # prints once told to (tmux's wait-for; $TMUX names our server inside the pane)
        f"tmux wait-for {control}; printf '\\033]2;pwned\\007\\033]52;c;aGk=\\007'; sleep 30",
    )
    tmux("set-option", "-s", "set-clipboard", "on")  # OSC 52 would create a tmux buffer
    tmux("wait-for", "-S", control)
    assert wait_for(
        lambda: (
            tmux("display-message", "-p", "-t", control, "#{pane_title}").stdout.strip() == "pwned"
        )
    )
    assert wait_for(lambda: tmux("list-buffers").stdout.strip() != "")
    tmux("kill-session", "-t", control)
    for buf in tmux("list-buffers", "-F", "#{buffer_name}").stdout.split():
        tmux("delete-buffer", "-b", buf)
    with terminal(
        ns, f"{{python}} -m tapwatch -r {directory}/*.pcapng", width=160, height=45
    ) as name:
        tmux("select-pane", "-t", name, "-T", "untouched")
        assert wait_for(lambda: "Packets" in screen(name) and "^[]0;title^G" in screen(name)), (
            screen(name)
        )
        for keys in (["j"], ["Tab", "*"], ["BTab", "j"], ["Tab", "*"]):
            # each group's last key shows on the screen (a row selected, the tree expanded;
            # a focus move does not): keys are handled in order, so once the screen changed
            # the whole group was, the last one too before the screen is looked at
            before = screen(name)
            tmux("send-keys", "-t", name, *keys)
            assert wait_for(lambda: screen(name) != before), (keys, before)  # noqa: B023
        shown = screen(name)
        assert "^[]52;c;" in shown  # the escaped spelling is what shows
        title = tmux("display-message", "-p", "-t", name, "#{pane_title}").stdout.strip()
        assert title == "untouched"
        assert tmux("list-buffers").stdout.strip() == ""
        # what the terminal holds, cell by cell: every control from the file arrived spelled out
        for bad in ("\x1b", "\x07", "\u202e"):
            assert bad not in shown, repr(bad)
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)


def _big_capture(path: Path, n: int = 500_000) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    from tapwatch import pcap

    frames = [
        bytes(IP(src="10.0.0.1", dst=f"10.0.{i}.2") / UDP(sport=4000 + i, dport=9) / Raw(b"x" * 64))
        for i in range(16)
    ]
    w = pcap.open_writer(str(path), 101)
    for i in range(n):
        w.write(1_700_000_000_000_000_000 + i * 50_000, frames[i % 16])
    w.close()


def _tapwatch_pids(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("how", ["hangup", "sigterm"])
def test_a_hangup_or_sigterm_while_a_big_file_loads_ends_tapwatch(
    ns: Netns, tmp_path: Path, how: str
) -> None:
    cap = tmp_path / f"big-{how}.pcap"
    _big_capture(cap)
    pattern = f"^{sys.executable} -m tapwatch -r {cap}"
    with terminal(ns, f"{{python}} -m tapwatch -r {cap}", width=120, height=30) as name:
        assert wait_for(lambda: "Packets" in screen(name), every=0.05), screen(name)
        # the first screen shows while the file loads, and says so
        assert wait_for(
            lambda: "loading" in screen(name) or "packets 500,000" in screen(name), every=0.05
        )
        pids = _tapwatch_pids(pattern)
        assert pids
        if how == "hangup":
            tmux("kill-session", "-t", name)  # the terminal goes away: SIGHUP
        else:
            for pid in pids:
                os.kill(pid, signal.SIGTERM)
            assert wait_for(lambda: "EXITED 0" in screen(name), timeout=15), screen(name)
        assert wait_for(lambda: not _tapwatch_pids(pattern), timeout=15), (
            f"tapwatch still running after {how}"
        )
