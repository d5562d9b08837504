"""The flags tcpdump users type: each one's output compared with tcpdump's on the same file."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
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
        ["-e"],
        ["-e", "-v"],
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


@needs_tcpdump
@pytest.mark.parametrize("flags", [["-ttt"], ["-ttttt"], ["-A"], ["-AA"], []])
def test_nanosecond_stamps_carriage_returns_and_dns_to_port_53_as_tcpdump(
    tmp_path: Path, flags: list[str]
) -> None:
    """Deltas of nanosecond stamps (tcpdump reads each to the microsecond first, and its
    hours wrap at 24), carriage returns near a payload's end, a DNS query from port 5353
    to 53 (DNS, not mDNS)."""
    from scapy.layers.dns import DNS, DNSQR

    ip = IP(src="10.0.0.1", dst="10.0.0.2")
    pkts = [
        ip / UDP(sport=1, dport=2) / b"x\r",
        ip / UDP(sport=1, dport=2) / b"A\n\rB",
        ip / UDP(sport=1, dport=2) / b"a\rbc\r\n\r",
        ip / UDP(sport=5353, dport=53) / DNS(id=1, qd=DNSQR(qname="a.example")),
        IP(src="10.0.0.1", dst="224.0.0.251")
        / UDP(sport=5353, dport=5353)
        / DNS(id=0, qd=DNSQR(qname="b.local")),
    ]
    stamps = [  # ns: .999999999, then 999999500 later, a past one, one 100 hours on
        (1_700_000_000, 999_999_999),
        (1_700_000_001, 999_999_500),
        (1_700_000_000, 500),
        (1_700_360_000, 123_456_789),
        (1_700_360_000, 123_457_000),
    ]
    path = tmp_path / "ns.pcap"  # nanosecond pcap, raw IP
    body = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 101)
    for p, (sec, ns) in zip(pkts, stamps, strict=True):
        data = bytes(p)
        body += struct.pack("<IIII", sec, ns, len(data), len(data)) + data
    path.write_bytes(body)
    mine = lines([*TAPWATCH, "-r", str(path), *flags])
    assert mine == lines(["tcpdump", "-nn", "-r", str(path), *flags])
    assert mine.count("\n") >= 5


@needs_tcpdump
@pytest.mark.parametrize("flags", [[], ["-e"], ["-e", "-v"]])
def test_raw_ip_and_cooked_v2_with_and_without_e_as_tcpdump(
    tmp_path: Path, flags: list[str]
) -> None:
    """A tun's raw IP (-e: "ip: ") and `tcpdump -i any`'s cooked v2 files (the interface
    and packet type before every line; tcpdump names the interface in its own namespace)."""
    ip = IP(src="10.0.0.1", dst="10.0.0.2")
    raw = [ip / ICMP(seq=1) / b"abc", IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=2)]
    path = tmp_path / "raw.pcap"
    wrpcap(str(path), raw, linktype=101)
    assert lines([*TAPWATCH, "-r", str(path), *flags]) == lines(
        ["tcpdump", "-nn", "-r", str(path), *flags]
    )
    cooked = tmp_path / "sll2.pcap"  # ifindex 1 (lo here), then one no interface has
    body = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 276)
    for i, (index, pkttype, pkt) in enumerate(
        [(1, 4, raw[0]), (1, 0, ip / UDP(sport=5, dport=6)), (999_999, 0, raw[1])]
    ):
        frame = bytes(pkt)
        proto = 0x86DD if frame[0] >> 4 == 6 else 0x0800
        head = struct.pack("!HHIHBB8s", proto, 0, index, 1, pkttype, 6, b"\x02" * 6)
        data = head + frame
        body += struct.pack("<IIII", 1_700_000_000 + i, 0, len(data), len(data)) + data
    cooked.write_bytes(body)
    mine = lines([*TAPWATCH, "-r", str(cooked), *flags])
    assert mine == lines(["tcpdump", "-nn", "-r", str(cooked), *flags])
    assert mine.count("\n") >= 3
