"""The flags tcpdump users type: each one's output compared with tcpdump's on the same file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.utils import wrpcap

TAPWATCH = [sys.executable, "-m", "tapwatch"]
needs_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="needs tcpdump")
ENV = {**os.environ, "TZ": "UTC"}


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    macs = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
    pkts = [
        Ether(**macs)
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / ICMP(seq=1)
        / b"hello world,\r\n this is a test payload!\x1b\x00",
        Ether(**macs) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=2000) / b"abc",
        Ether(**macs)
        / Dot1Q(vlan=7)
        / IP(src="10.0.0.3", dst="10.0.0.4")
        / TCP(sport=5000, dport=80, flags="S", seq=1000),
        Ether(**macs) / IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=0, seq=1) / (b"z" * 33),
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000.123456 + i * 0.75
    path = tmp_path_factory.mktemp("flags") / "flags.pcap"
    wrpcap(str(path), pkts)
    return path


def lines(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode == 0, r.stderr
    return r.stdout


@needs_tcpdump
@pytest.mark.parametrize(
    "flags",
    [
        ["-x"],
        ["-xx"],
        ["-X"],
        ["-XX"],
        ["-A"],
        ["-AA"],
        ["-t"],
        ["-tt"],
        ["-ttt"],
        ["-tttt"],
        ["-ttttt"],
        ["-s", "40", "-x"],
        ["-c", "2", "-X"],
        ["-tt", "-x", "icmp"],
    ],
    ids=lambda f: " ".join(f),
)
def test_same_output_as_tcpdump(capture: Path, flags: list[str]) -> None:
    ours = lines([*TAPWATCH, "-r", str(capture), *flags])
    theirs = lines(["tcpdump", "-nn", "-r", str(capture), *flags])
    assert ours.splitlines() == theirs.splitlines()


def test_print_writes_lines_while_writing_a_file(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.pcap"
    printed = lines([*TAPWATCH, "-r", str(capture), "-w", str(out), "--print"])
    assert len(printed.splitlines()) == 4 and out.stat().st_size > 24


def test_dumps_never_carry_control_bytes(capture: Path) -> None:
    for flag in ("-A", "-X", "-AA"):
        text = lines([*TAPWATCH, "-r", str(capture), flag])
        assert "\x1b" not in text and "\x00" not in text and "\r" not in text


@needs_tcpdump
@pytest.mark.parametrize("flags", [["-S"], []], ids=["absolute", "relative"])
def test_tcp_numbers_as_tcpdump_prints_them(flags: list[str]) -> None:
    corpus = Path(__file__).with_name("corpus") / "real.pcap"
    ours = [
        ln
        for ln in lines([*TAPWATCH, "-r", str(corpus), "--strict-tcpdump", *flags]).splitlines()
        if "Flags [" in ln
    ]
    theirs = [
        ln
        for ln in lines(["tcpdump", "-nn", "-r", str(corpus), *flags]).splitlines()
        if "Flags [" in ln
    ]
    assert ours and ours == theirs


@needs_tcpdump
def test_strict_tcpdump_prints_tunnels_as_tcpdump_does() -> None:
    corpus = Path(__file__).with_name("corpus") / "crafted.pcap"
    ours = lines([*TAPWATCH, "-r", str(corpus), "--strict-tcpdump"]).splitlines()
    theirs = lines(["tcpdump", "-nn", "-r", str(corpus)]).splitlines()
    for word in ("UDP, length", "VXLAN", "gre-proto-0x88be"):
        want = [ln for ln in theirs if word in ln]
        assert want and all(ln in ours for ln in want), word
