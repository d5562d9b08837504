"""Real devices, real ping, real tshark — each test inside its own network namespace."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import capture_checks
import pytest
from netns import TAPWATCH, Netns, needs_netns
from waiting import records_on_disk, stop, wait_addr, wait_for

pytestmark = [needs_netns, pytest.mark.netns]


def is_icmp(data: bytes) -> bool:
    """An IPv4 ICMP packet (a tun's raw IP frame)."""
    return len(data) > 9 and data[0] >> 4 == 4 and data[9] == 1


def tshark_fields(path: Path, *fields: str, display: str = "") -> list[list[str]]:
    """tshark's field rows, the packets with none of the fields left out."""
    rows = capture_checks.tshark_fields(path, *fields, display=display)
    return [row for row in rows if "\t".join(row).strip()]


def test_ping_into_created_tun_prints_requests_and_writes_pcap(ns: Netns, tmp_path: Path) -> None:
    pcap = tmp_path / "cap.pcap"
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "--addr",
            "192.168.3.11/24",
            "--headless",
            "-w",
            str(pcap),
            "icmp",
        ]
    )
    try:
        wait_addr(ns, "tun1", "192.168.3.11")
        ping = ns.run(["ping", "-c", "4", "-i", "0.2", "-W", "1", "192.168.3.12"])
        assert "4 packets transmitted, 0 received" in ping.stdout  # nobody answers by default
    finally:
        out, err = stop(tw)
    assert tw.returncode == 0, err
    lines = [ln for ln in out.splitlines() if "ICMP echo request" in ln]
    assert len(lines) == 4, out
    assert re.match(
        r"^\d\d:\d\d:\d\d\.\d{6} Out IP 192\.168\.3\.11 > 192\.168\.3\.12: "
        r"ICMP echo request, id \d+, seq 1, length 64$",
        lines[0],
    ), lines[0]
    assert "4 packets captured" in err
    assert "dropped by kernel" in err
    rows = tshark_fields(pcap, "ip.src", "ip.dst", "icmp.type", "icmp.seq")
    assert rows == [["192.168.3.11", "192.168.3.12", "8", str(i)] for i in range(1, 5)]
    assert not ns.link_exists("tun1"), "a created device must vanish with tapwatch"


def test_tap_device_sees_arp_requests(ns: Netns, tmp_path: Path) -> None:
    pcap = tmp_path / "tap.pcapng"
    tw = ns.popen(
        [
            *TAPWATCH,
            "--create",
            "tap0",
            "--tap",
            "--addr",
            "192.168.4.1/24",
            "--addr",
            "fd00:4::1/64",
            "--headless",
            "-w",
            str(pcap),
        ]
    )
    try:
        wait_addr(ns, "tap0", "192.168.4.1")
        ns.run(["ping", "-c", "2", "-i", "0.3", "-W", "1", "192.168.4.2"])
    finally:
        out, err = stop(tw, signal.SIGTERM)
    assert tw.returncode == 0, err
    arp = [
        ln for ln in out.splitlines() if "ARP, Request who-has 192.168.4.2 tell 192.168.4.1" in ln
    ]
    assert arp, out
    rows = tshark_fields(pcap, "arp.opcode", "arp.dst.proto_ipv4", display="arp")
    assert ["1", "192.168.4.2"] in rows
    # pcapng carries the interface name and the direction of every packet
    names = tshark_fields(pcap, "frame.interface_name")
    assert names and all(r == ["tap0"] for r in names)
    assert not ns.link_exists("tap0")


def test_attach_to_persistent_device_leaves_it_in_place(ns: Netns) -> None:
    ns.run(["ip", "tuntap", "add", "dev", "tun7", "mode", "tun"], check=True)
    ns.run(["ip", "addr", "add", "10.7.0.1/24", "dev", "tun7"], check=True)
    ns.run(["ip", "link", "set", "tun7", "up"], check=True)
    tw = ns.popen([*TAPWATCH, "--attach", "tun7", "--headless", "-c", "2", "icmp"])
    try:
        ns.wait_capturing("tun7")  # the device is up already: wait for the reader instead
        ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.7.0.2"])
        out, err = tw.communicate(timeout=20)
    finally:
        if tw.poll() is None:
            stop(tw)
    assert tw.returncode == 0, err
    assert len([ln for ln in out.splitlines() if "ICMP echo request" in ln]) == 2, out
    assert ns.link_exists("tun7"), "an attached device must stay"


def test_sigterm_mid_capture_leaves_valid_pcap_and_no_device(ns: Netns, tmp_path: Path) -> None:
    pcap = tmp_path / "term.pcap"
    tw = ns.popen([*TAPWATCH, "--create", "tun3", "--addr", "10.3.0.1/24", "-q", "-w", str(pcap)])
    wait_addr(ns, "tun3", "10.3.0.1")
    ns.wait_capturing("tun3")
    ping = ns.popen(["ping", "-i", "0.05", "-W", "1", "10.3.0.2"])
    # mid-capture: once the timed flushes have put five pings in the file
    wait_for(lambda: records_on_disk(pcap, is_icmp) >= 5, every=0.1)
    _, err = stop(tw, signal.SIGTERM)
    ping.kill()
    ping.wait()
    assert tw.returncode == 0, err
    m = re.search(r"(\d+) packets captured", err)
    assert m and int(m.group(1)) >= 5, err
    rows = tshark_fields(pcap, "frame.number")  # the kernel's own IPv6 chatter counts too
    assert len(rows) == int(m.group(1))
    assert len(tshark_fields(pcap, "icmp.seq", display="icmp")) >= 5
    assert ns.wait_link("tun3", present=False)


def test_sigkill_leaves_readable_pcap_and_no_device(ns: Netns, tmp_path: Path) -> None:
    pcap = tmp_path / "kill.pcap"
    tw = ns.popen([*TAPWATCH, "--create", "tun4", "--addr", "10.4.0.1/24", "-q", "-w", str(pcap)])
    wait_addr(ns, "tun4", "10.4.0.1")
    ns.wait_capturing("tun4")
    ns.run(["ping", "-c", "5", "-i", "0.1", "-W", "1", "10.4.0.2"])
    # nothing stops tapwatch: only its timed flush can put the pings on disk before the kill
    wait_for(lambda: records_on_disk(pcap, is_icmp) >= 5, every=0.1)
    tw.kill()
    tw.wait()
    rows = tshark_fields(pcap, "icmp.seq", display="icmp")
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert ns.wait_link("tun4", present=False)


def test_netns_flag_puts_device_in_named_namespace(ns: Netns) -> None:
    tw = subprocess.Popen(
        [
            *TAPWATCH,
            "--netns",
            ns.name,
            "--create",
            "tun5",
            "--addr",
            "10.5.0.1/24",
            "--headless",
            "-c",
            "1",
            "icmp",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_addr(ns, "tun5", "10.5.0.1")
        ns.run(["ping", "-c", "1", "-W", "1", "10.5.0.2"])
        out, err = tw.communicate(timeout=20)
    finally:
        if tw.poll() is None:
            stop(tw)
    assert "ICMP echo request" in out, err
    assert not Path("/sys/class/net/tun5").exists(), "the host namespace must stay untouched"


def test_existing_name_and_missing_device_are_clear_errors(ns: Netns) -> None:
    ns.run(["ip", "tuntap", "add", "dev", "tun8", "mode", "tun"], check=True)
    r = ns.run([*TAPWATCH, "--create", "tun8", "--headless"])
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "tapwatch: device tun8 already exists: watch it with --attach "
        "tun8, or pick another name for --create"
    )
    r = ns.run([*TAPWATCH, "--attach", "nothere0", "--headless"])
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = ns.run([*TAPWATCH, "--attach", "lo", "--headless"])
    assert r.returncode == 1 and "--observe lo" in r.stderr


def test_a_replay_file_that_cannot_be_read_is_said_before_any_device_is_made(
    ns: Netns, tmp_path: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a capture\n")
    for path, why in ((str(tmp_path / "none.pcap"), "no such file"), (str(text), "not a pcap")):
        r = ns.run([*TAPWATCH, "--create", "tun3", "--replay", path, "--headless"])
        assert r.returncode == 1 and r.stdout == "", r.stdout
        assert r.stderr.startswith("tapwatch: --replay ") and why in r.stderr
        assert r.stderr.count(path) == 1 and r.stderr.count("\n") == 1, r.stderr
        assert ns.run(["ip", "link", "show", "tun3"]).returncode != 0


def test_without_privileges_names_the_capability(ns: Netns) -> None:
    r = ns.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            *TAPWATCH,
            "--create",
            "tun1",
            "--headless",
        ]
    )
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "CAP_NET_ADMIN" in r.stderr and "sudo" in r.stderr
