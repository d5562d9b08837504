"""The real app in a real terminal (tmux), with a real device and ping, in a namespace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from netns import Netns, needs_netns

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
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=20, env=env)


@pytest.fixture(autouse=True, scope="module")
def _own_tmux_server() -> Iterator[None]:
    yield
    tmux("kill-server")


def screen(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name).stdout


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@contextmanager
def terminal(ns: Netns, args: str, width: int = 160, height: int = 45) -> Iterator[str]:
    """tapwatch ``args`` in a tmux window inside ``ns``; yields the tmux session name.

    The shell prints ``EXITED <status>`` when tapwatch ends, and keeps the window open.
    """
    name = f"tw-{uuid.uuid4().hex[:6]}"
    cmd = (f"ip netns exec {ns.name} {args.format(python=sys.executable)}; "
           f"echo EXITED $?; sleep 30")
    tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", name, cmd)
    try:
        yield name
    finally:
        tmux("kill-session", "-t", name)


def test_ping_rows_appear_on_screen_and_q_removes_the_device(ns: Netns) -> None:
    with terminal(ns, "{python} -m tapwatch --create tun1 --addr 192.168.3.11/24") as name:
        assert wait_for(lambda: "tun1" in screen(name) and "Packets" in screen(name)), \
            screen(name)
        ping = ns.run(["ping", "-c", "3", "-i", "0.3", "-W", "1", "192.168.3.12"])
        assert "3 packets transmitted" in ping.stdout

        def three_rows() -> bool:
            rows = [ln for ln in screen(name).splitlines()
                    if "192.168.3.12" in ln and "ICMP" in ln and "request" in ln]
            return len(rows) == 3

        assert wait_for(three_rows), screen(name)
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)
        assert ns.wait_link("tun1", present=False)


def test_non_root_user_gets_one_clear_line(ns: Netns) -> None:
    args = ("setpriv --reuid=65534 --regid=65534 --clear-groups "
            "{python} -m tapwatch --create tun1")
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
        pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True,
                              text=True).stdout.split()
        assert pids
        for pid in pids:
            os.kill(int(pid), signal.SIGTERM)
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)
        seqs = subprocess.run(["tshark", "-r", str(out_file), "-T", "fields", "-e", "icmp.seq"],
                              capture_output=True, text=True, check=True).stdout.split()
        assert seqs == ["1", "2"]
        assert ns.wait_link("tun2", present=False)


def _small_capture(path: Path, n: int = 40) -> None:
    from scapy.layers.inet import ICMP, IP
    from scapy.utils import wrpcap

    wrpcap(str(path), [IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(seq=i) for i in range(n)])


def test_ui_reads_keys_from_the_terminal_when_stdin_is_the_capture(ns: Netns,
                                                                   tmp_path: Path) -> None:
    """``... -w - | tapwatch -r -``: the capture on stdin, the keys from the terminal."""
    cap = tmp_path / "piped.pcap"
    _small_capture(cap)
    with terminal(ns, f"cat {cap} | {{python}} -m tapwatch -r -", width=120, height=30) as name:
        assert wait_for(lambda: "stdin" in screen(name) and "Packets" in screen(name)), \
            screen(name)
        assert wait_for(lambda: "packets 40" in screen(name)), screen(name)
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)


def test_ui_draws_when_stderr_is_redirected(ns: Netns, tmp_path: Path) -> None:
    cap = tmp_path / "quiet.pcap"
    _small_capture(cap)
    with terminal(ns, f"{{python}} -m tapwatch -r {cap} 2>/dev/null", width=120,
                  height=30) as name:
        assert wait_for(lambda: "quiet.pcap" in screen(name) and "Packets" in screen(name)), \
            screen(name)
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: "EXITED 0" in screen(name)), screen(name)
