"""Files with several interfaces and link types: read, printed as tcpdump -i any, converted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, wrpcap

TAPWATCH = [sys.executable, "-m", "tapwatch"]
ENV = {**os.environ, "TZ": "UTC"}
needs_mergecap = pytest.mark.skipif(shutil.which("mergecap") is None, reason="needs mergecap")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAPWATCH, *args], capture_output=True, text=True, timeout=60, env=ENV)


@pytest.fixture
def merged(tmp_path: Path) -> Path:
    """A raw-IP capture and an Ethernet one, merged by mergecap: two interfaces, two types."""
    inner = [IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(seq=i) for i in range(3)]
    outer = [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="10.200.0.2", dst="10.200.0.1")
        / UDP(sport=40000, dport=55555)
        / b"x"
        for _ in range(3)
    ]
    for i, (a, b) in enumerate(zip(inner, outer, strict=True)):
        a.time = 1_700_000_000 + i
        b.time = 1_700_000_000 + i + 0.5
    wrpcap(str(tmp_path / "tun.pcap"), inner)
    wrpcap(str(tmp_path / "eth.pcap"), outer)
    out = tmp_path / "both.pcapng"
    if shutil.which("mergecap") is None:
        pytest.skip("needs mergecap")
    subprocess.run(
        ["mergecap", "-w", str(out), str(tmp_path / "tun.pcap"), str(tmp_path / "eth.pcap")],
        check=True,
    )
    return out


@needs_mergecap
def test_a_merged_file_prints_each_packet_with_its_own_interface(merged: Path) -> None:
    r = run("-r", str(merged))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 6
    assert "ICMP echo request" in lines[0] and "10.200.0.2.40000 > 10.200.0.1.55555" in lines[1]
    # two interfaces: tcpdump -i any's layout, interface names from the file's blocks
    assert all(len(ln.split()[1]) > 0 for ln in lines)
    assert lines[0].split()[1] != lines[1].split()[1]


@needs_mergecap
def test_a_filter_applies_to_each_packet_by_its_link_type(merged: Path) -> None:
    r = run("-r", str(merged), "udp")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3
    r = run("-r", str(merged), "icmp")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3


@needs_mergecap
def test_mixed_link_types_go_to_pcapng_and_classic_pcap_says_so(
    merged: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy.pcapng"
    r = run("-r", str(merged), "-w", str(out))
    assert r.returncode == 0, r.stderr
    again = run("-r", str(out))
    assert again.stdout == run("-r", str(merged)).stdout
    bad = run("-r", str(merged), "-w", str(tmp_path / "copy.pcap"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "pcapng" in bad.stderr


def test_an_interface_described_after_packets_is_read(tmp_path: Path) -> None:
    """scapy writes a second interface block when the first packet on it comes."""
    pkts = [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(dst="10.0.0.2") / ICMP(seq=i)
        for i in range(4)
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i
        p.sniffed_on = "eth0" if i < 2 else "eth1"
    path = tmp_path / "late.pcapng"
    w = PcapNgWriter(str(path))
    for p in pkts:
        w.write(p)
    w.close()
    r = run("-r", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ICMP echo request") == 4 and "malformed" not in r.stdout


def test_a_capture_is_never_written_over_itself(tmp_path: Path) -> None:
    src = tmp_path / "in.pcapng"
    w = PcapNgWriter(str(src))
    w.write(IP(dst="10.0.0.2") / ICMP())
    w.close()
    before = src.read_bytes()
    link = tmp_path / "link.pcap"
    link.symlink_to(src)
    hard = tmp_path / "hard.pcap"
    os.link(src, hard)
    for target in (link, hard):  # another format: the converting path, not a byte copy
        r = run("-r", str(src), "-w", str(target))
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert src.read_bytes() == before


def test_files_created_are_private_and_belong_to_the_z_user(tmp_path: Path) -> None:
    src = tmp_path / "in.pcap"
    wrpcap(str(src), [IP(dst="10.0.0.2") / ICMP()])
    out = tmp_path / "out.pcapng"
    r = run("-r", str(src), "-w", str(out))
    assert r.returncode == 0 and (out.stat().st_mode & 0o777) == 0o600
    if os.geteuid() != 0:
        return
    import pwd
    import tempfile

    # -Z drops root before the file is even opened: the directory must let nobody in
    shared = Path(tempfile.mkdtemp(prefix="tw-z-"))
    try:
        shared.chmod(0o777)
        shutil.copy(src, shared / "in.pcap")
        (shared / "in.pcap").chmod(0o644)
        r = run("-r", str(shared / "in.pcap"), "-w", str(shared / "out.pcapng"), "-Z", "nobody")
        assert r.returncode == 0, r.stderr
        made = (shared / "out.pcapng").stat()
        assert made.st_uid == pwd.getpwnam("nobody").pw_uid and made.st_mode & 0o777 == 0o600
    finally:
        shutil.rmtree(shared)
