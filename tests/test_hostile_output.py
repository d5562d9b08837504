"""Hostile names through every output path: no control byte of a packet or file reaches a terminal.

A capture whose DNS names, HTTP request line, interface names and packet comments
hold terminal escapes (retitle the window, write the clipboard through OSC 52,
erase the line) and a bidi override is printed in every way tapwatch prints;
nothing but the newline between lines and tcpdump's tab before a dump line may
be a control character, and nothing of a bidi override or an escape survives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pcapng_build import ng_epb, ng_idb, ng_opt, ng_shb
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6NIQueryName, IPv6
from scapy.layers.l2 import Ether

from tapwatch.headless import DUMPS, LineFormat, Renderer
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

TAPWATCH = [sys.executable, "-m", "tapwatch"]
EVIL = ["\x1b]0;owned\x07", "\x1b]52;c;aGVsbG8=\x07", "\r\x1b[2K", "\u202etxt.exe", "\x9b2J"]
EVIL_BYTES = [e.encode("utf-8") for e in EVIL]
MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


def clean(text: str) -> bool:
    """No control character but newline and tab, no bidi control, no escape of any kind."""
    for ch in text:
        if ch in "\n\t":
            continue
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
            return False
    return True


def hostile_packets() -> list[bytes]:
    pkts: list[bytes] = []
    for e in EVIL_BYTES:
        pkts.append(
            bytes(
                IP(src="10.0.0.1", dst="10.0.0.53")
                / UDP(sport=5353, dport=53)
                / DNS(qd=DNSQR(qname=b"a" + e + b".example"))
            )
        )
        pkts.append(
            bytes(
                IP(src="10.0.0.1", dst="10.0.0.80")
                / TCP(sport=4000, dport=80, flags="PA")
                / (b"GET /" + e + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            )
        )
        pkts.append(bytes(IPv6(src="fd00::1", dst="fd00::2") / ICMPv6NIQueryName(data=b"n" + e)))
    return pkts


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pcapng with two hostile interface names, hostile comments and hostile packets."""
    out = ng_shb()
    out += ng_idb(LINKTYPE_RAW, 0, ng_opt(2, EVIL_BYTES[0]) + ng_opt(0, b""))
    out += ng_idb(LINKTYPE_ETHERNET, 0, ng_opt(2, EVIL_BYTES[3]) + ng_opt(0, b""))
    for i, p in enumerate(hostile_packets()):
        comment = ng_opt(1, EVIL_BYTES[i % len(EVIL_BYTES)]) + ng_opt(0, b"")
        out += ng_epb(0, 1_700_000_000_000_000 + i, p, comment)
        frame = bytes(Ether(**MACS, type=0x86DD if p[0] >> 4 == 6 else 0x0800)) + p
        out += ng_epb(1, 1_700_000_000_000_500 + i, frame)
    path = tmp_path_factory.mktemp("hostile") / "hostile.pcapng"
    path.write_bytes(out)
    return path


FLAGS = [
    [],
    ["-v"],
    ["-vvv"],
    ["-e"],
    ["-X"],
    ["-XX"],
    ["-A"],
    ["-AA"],
    ["-x"],
    ["-tttt"],
    ["--tunnel-decode", "80"],
    ["--tunnel-decode", "53"],
]


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: " ".join(f) or "plain")
def test_every_line_and_dump_is_escaped(hostile: Path, flags: list[str]) -> None:
    r = subprocess.run(
        [*TAPWATCH, "-r", str(hostile), *flags],
        capture_output=True,
        timeout=120,
        env={**os.environ, "LC_ALL": "C"},
    )
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, err
    assert out.count("\n") >= 30
    assert clean(out), [ln for ln in out.splitlines() if not clean(ln)][:3]
    assert clean(err), err


def test_conversion_and_its_lines_are_escaped(hostile: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [*TAPWATCH, "-r", str(hostile), "-w", str(tmp_path / "c.pcapng"), "--print"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and clean(r.stdout) and clean(r.stderr)


def test_a_hostile_file_name_is_escaped_in_messages(tmp_path: Path) -> None:
    evil = tmp_path / ("cap\x1b]0;owned\x07\u202e.pcap")
    evil.write_bytes(b"not a capture at all, but long enough to look at")
    r = subprocess.run([*TAPWATCH, "-r", str(evil)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and clean(r.stderr) and "^[]0;owned^G" in r.stderr


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=300),
    linktype=st.sampled_from([LINKTYPE_RAW, LINKTYPE_ETHERNET]),
    dump=st.sampled_from(DUMPS),
    link=st.booleans(),
)
def test_any_bytes_render_to_clean_lines(data: bytes, linktype: int, dump: str, link: bool) -> None:
    r = Renderer(LineFormat(dump=dump, link=link), names=["if\x1b0", "eth\u202e1"], words=True)
    assert clean(r.line(1_700_000_000_000_000_000, 1, data, linktype, 0))
    assert clean(r.line(1_700_000_000_000_000_000, 2, data, linktype, 1))
