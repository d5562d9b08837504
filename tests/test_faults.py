"""Observer mode, privileges and faults: busy devices, vanishing devices, full disks, sudo."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, needs_netns
from test_live import tshark_fields
from waiting import stop, text_of, wait_addr, wait_for

from tapwatch import pcap
from tapwatch.kinds import Direction

pytestmark = [needs_netns, pytest.mark.netns]


def test_attach_to_held_device_falls_back_to_observing_both_directions(
    ns: Netns, tmp_path: Path
) -> None:
    # another program (here: tapwatch itself, answering pings) holds tun1
    holder = ns.popen([*TAPWATCH, "--create", "tun1", "--addr", "10.6.0.1/24", "--reply", "-q"])
    out_file = tmp_path / "observed.pcapng"
    try:
        wait_addr(ns, "tun1", "10.6.0.1")
        before = ns.packet_sockets("tun1")
        obs = ns.popen([*TAPWATCH, "--attach", "tun1", "--headless", "-w", str(out_file), "icmp"])
        try:
            ns.wait_capturing("tun1", before)
            ping = ns.run(["ping", "-c", "2", "-i", "0.3", "-W", "2", "10.6.0.2"])
        finally:
            out, err = stop(obs)
    finally:
        stop(holder)
    assert "2 received" in ping.stdout
    assert obs.returncode == 0, err
    assert "read-only" in err or "held by another program" in err
    requests = [ln for ln in out.splitlines() if "echo request" in ln]
    replies = [ln for ln in out.splitlines() if "echo reply" in ln]
    assert len(requests) == 2 and len(replies) == 2, out
    # the host's view, as tcpdump -i any: the holder's replies reach the host ("In"), the
    # pings leave it ("Out")
    assert all(" In  " in ln for ln in replies) and all(" Out " in ln for ln in requests)
    dirs = [r.direction for r in pcap.read_capture(str(out_file))]
    assert dirs.count(Direction.OUTBOUND) == 2 and dirs.count(Direction.INBOUND) == 2


def test_observe_refuses_actions_with_a_reason(ns: Netns) -> None:
    r = ns.run([*TAPWATCH, "--observe", "lo", "--reply"])
    assert r.returncode == 2 and "read-only" in r.stderr


def test_device_deleted_mid_capture_keeps_what_was_captured(ns: Netns, tmp_path: Path) -> None:
    out_file = tmp_path / "gone.pcap"
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "--addr",
            "10.8.0.1/24",
            "--headless",
            "-w",
            str(out_file),
            "icmp",
        ]
    )
    wait_addr(ns, "tun1", "10.8.0.1")
    ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.8.0.2"])
    ns.run(["ip", "link", "del", "tun1"], check=True)
    _, err = tw.communicate(timeout=20)
    assert tw.returncode == 1
    assert "Traceback" not in err
    assert "tun1: device went away" in err
    assert "3 packets captured" in err
    assert len(tshark_fields(out_file, "icmp.seq")) == 3


def test_sighup_flushes_and_summarises(ns: Netns, tmp_path: Path) -> None:
    out_file = tmp_path / "hup.pcapng"
    tw = ns.popen(
        [*TAPWATCH, "--create", "tun1", "--addr", "10.8.1.1/24", "-q", "-w", str(out_file), "icmp"]
    )
    wait_addr(ns, "tun1", "10.8.1.1")
    ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.8.1.2"])
    _, err = stop(tw, signal.SIGHUP)
    assert tw.returncode == 0, err
    assert "2 packets captured" in err
    assert len(tshark_fields(out_file, "icmp.seq")) == 2


def test_full_disk_is_reported_and_capture_goes_on(ns: Netns, tmp_path: Path) -> None:
    # a 16 KiB tmpfs in a private mount namespace fills up after a few large pings
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = (
        f"mount -t tmpfs -o size=16k tmpfs {mnt} && exec {' '.join(TAPWATCH)} "
        f"--create tun1 --addr 10.8.2.1/24 --headless -w {mnt}/cap.pcap icmp"
    )
    lines = tmp_path / "lines.txt"
    with lines.open("w") as out_fd:
        tw = ns.popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script], stdout=out_fd
        )
        wait_addr(ns, "tun1", "10.8.2.1")
        ns.wait_capturing("tun1")
        ns.run(["ping", "-c", "20", "-s", "1400", "-i", "0.1", "-W", "1", "10.8.2.2"])
        wait_for(lambda: text_of(lines).count("echo request") >= 20)
        _, err = stop(tw)
    out = lines.read_text()
    assert tw.returncode == 1, err
    assert "Traceback" not in err
    assert "no space left on device" in err.lower()
    # every packet was still captured and printed: the failure cost the file, not the capture
    assert len([ln for ln in out.splitlines() if "echo request" in ln]) == 20
    assert "20 packets captured" in err


def test_unwritable_output_fails_before_making_the_device(ns: Netns) -> None:
    r = ns.run([*TAPWATCH, "--create", "tun1", "--headless", "-w", "/nonexistent/dir/x.pcap"])
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "/nonexistent/dir" in r.stderr
    assert not ns.link_exists("tun1")


def test_files_written_under_sudo_belong_to_the_invoking_user(tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP, IP
    from scapy.utils import wrpcap

    src = tmp_path / "in.pcap"
    wrpcap(str(src), [IP(dst="10.0.0.2") / ICMP()] * 3)
    dst = tmp_path / "out.pcap"
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
    r = subprocess.run(
        [*TAPWATCH, "-r", str(src), "-w", str(dst)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    st = dst.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert dst.read_bytes() == src.read_bytes()


def test_drop_privileges_keeps_capturing_and_replying(ns: Netns) -> None:
    # -Z's output is opened as that user (before the device is even read): a directory
    # nobody may reach and write, unlike pytest's 0700 tmp_path
    shared = Path(tempfile.mkdtemp(prefix="tw-z-"))
    shared.chmod(0o777)
    try:
        _drop_privileges_keeps_capturing_and_replying(ns, shared / "z.pcap")
    finally:
        shutil.rmtree(shared)


def _drop_privileges_keeps_capturing_and_replying(ns: Netns, out_file: Path) -> None:
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "--addr",
            "10.8.3.1/24",
            "--reply",
            "-Z",
            "nobody",
            "--headless",
            "-w",
            str(out_file),
            "icmp",
        ]
    )
    try:
        wait_addr(ns, "tun1", "10.8.3.1")
        ns.wait_capturing("tun1")  # privileges are given up before capture starts
        ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.8.3.2"])
        uid_line = ""
        for line in Path(f"/proc/{_child_pid(tw.pid)}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                uid_line = line
    finally:
        _, err = stop(tw)
    assert "3 received" in ping.stdout, err
    assert uid_line.split()[1:] == ["65534"] * 4
    assert out_file.stat().st_uid == 65534
    assert len(tshark_fields(out_file, "icmp.type", display="icmp.type==0")) == 3


def _child_pid(pid: int) -> int:
    """`ip netns exec` execs in place, so the pid is tapwatch's own."""
    return pid


@pytest.mark.parametrize("user", ["no-such-user-x"])
def test_unknown_user_for_Z_is_a_clear_error(ns: Netns, user: str) -> None:
    r = ns.run([*TAPWATCH, "--create", "tun1", "-Z", user, "--headless"])
    assert r.returncode == 1 and r.stderr.strip() == f"tapwatch: -Z {user}: no such user"
    assert not ns.link_exists("tun1")
