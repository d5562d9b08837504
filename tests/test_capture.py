"""Capture paths: every path captures everything, says which it is, fails typed, filters early.

The live tests run tests/capture_scenarios.py inside a private network
namespace made for each test; ``TAPWATCH_CAPTURE`` forces the path, as a
user would. The tests at the end need neither root nor a device.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from netns import Netns, needs_netns
from waiting import wait_for

from tapwatch.capture import (
    ENV_PATH,
    CaptureFailure,
    DeviceGone,
    ProcessReader,
    Reader,
    ReadFailed,
    ThreadReader,
    requested_path,
)
from tapwatch.capture.base import failure_from
from tapwatch.capture.tpacket import (
    BPF_MAXINSNS,
    KEEP,
    OUTGOING_ONLY,
    TAGGED_PASS,
    attach_program,
    program,
)
from tapwatch.filters import BpfFilter
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.ring import Ring

SCENARIOS = Path(__file__).with_name("capture_scenarios.py")


def scenario(ns: Netns, *args: str, forced: str | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != ENV_PATH}
    if forced:
        env[ENV_PATH] = forced
    r = ns.run([sys.executable, str(SCENARIOS), *args], env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    result: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


QUEUE = "packets the device queue dropped before they were read"
RING = "packets the capture ring had no room for"
SOCKET = "packets the socket buffer had no room for"
# (TAPWATCH_CAPTURE, the path the reader reports, observe?, what its drop count means)
DEVICE_PATHS = [
    ("tpacket", "tpacket", False, RING),
    ("ring", "tpacket", False, RING),
    ("process", "process", False, QUEUE),
    ("thread", "thread", False, QUEUE),
]
OBSERVER_PATHS = [("tpacket", "tpacket", True, RING), ("thread", "socket", True, SOCKET)]


def _args(path: str, observe: bool) -> list[str]:
    return ["--path", path, *(["--observe"] if observe else [])]


@pytest.mark.parametrize(("forced", "path", "observe", "meaning"), DEVICE_PATHS + OBSERVER_PATHS)
@pytest.mark.parametrize("kind", ["tun", "tap"])
@needs_netns
@pytest.mark.netns
def test_every_path_captures_every_packet_and_says_which_it_is(
    ns: Netns, forced: str, path: str, observe: bool, meaning: str, kind: str
) -> None:
    tap = ["--tap", "--dev", "tap1"] if kind == "tap" else []
    r = scenario(
        ns,
        "capture",
        *_args(path, observe),
        *tap,
        "--icmp",
        "3",
        "--udp",
        "5",
        "--expect",
        "8",
        forced=forced,
    )
    assert r["path"] == path
    assert r["kinds"] == {"icmp": 3, "udp": 5, "arp": 0, "other": 0}
    assert r["packets"] == 8 and r["failure"] is None
    assert r["ifaces"] == [3]  # the interface number the reader was given, on every record
    assert r["kernel_drops"] == 0 and r["meaning"] == meaning


@pytest.mark.parametrize(
    ("forced", "path", "observe", "meaning"), DEVICE_PATHS[:1] + DEVICE_PATHS[2:] + OBSERVER_PATHS
)
@needs_netns
@pytest.mark.netns
def test_a_vanishing_device_is_a_typed_gone_failure_on_every_path(
    ns: Netns, forced: str, path: str, observe: bool, meaning: str
) -> None:
    r = scenario(ns, "vanish", *_args(path, observe), forced=forced)
    assert r["path"] == path
    assert r["failure"] == "DeviceGone" and r["gone"] is True
    assert r["error"] == "device went away"
    assert r["packets"] == 2  # what was captured before stays captured
    assert r["alive"] is False


@pytest.mark.parametrize(
    ("forced", "path", "observe", "in_kernel"),
    [
        ("tpacket", "tpacket", False, True),
        ("process", "process", False, False),
        ("thread", "thread", False, False),
        ("tpacket", "tpacket", True, True),
        ("thread", "socket", True, True),
    ],
)
@pytest.mark.parametrize("kind", ["tun", "tap"])
@needs_netns
@pytest.mark.netns
def test_the_capture_filter_keeps_other_packets_out_of_the_ring(
    ns: Netns, forced: str, path: str, observe: bool, in_kernel: bool, kind: str
) -> None:
    tap = ["--tap", "--dev", "tap1"] if kind == "tap" else []
    r = scenario(
        ns,
        "capture",
        *_args(path, observe),
        *tap,
        "--filter",
        "icmp",
        "--icmp",
        "3",
        "--udp",
        "20",
        "--expect",
        "3",
        forced=forced,
    )
    assert r["path"] == path
    # the datagrams were sent before the pings: had they passed, they would be here
    assert r["kinds"] == {"icmp": 3, "udp": 0, "arp": 0, "other": 0}
    assert r["packets"] == 3
    assert r["filter_in_kernel"] is in_kernel


# ----- without root or devices --------------------------------------------------------------


def test_the_old_path_name_ring_still_means_tpacket(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, path in (
        ("ring", "tpacket"),
        ("TPACKET", "tpacket"),
        (" process ", "process"),
        ("thread", "thread"),
        ("", None),
        ("fastest", None),
    ):
        monkeypatch.setenv(ENV_PATH, value)
        assert requested_path() == path


def test_read_errors_become_typed_failures() -> None:
    for code in (errno.EBADFD, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.ENETDOWN):
        failure = failure_from(OSError(code, os.strerror(code)))
        assert isinstance(failure, DeviceGone) and failure.gone
        assert str(failure) == "device went away"
    failure = failure_from(OSError(errno.EIO, "I/O error"))
    assert isinstance(failure, ReadFailed) and isinstance(failure, CaptureFailure)
    assert not failure.gone and failure.errno == errno.EIO
    assert str(failure) == f"read failed: {os.strerror(errno.EIO)}"


def test_the_kernel_program_tests_direction_then_tags_then_runs_the_filter_unchanged() -> None:
    assert program(None, outgoing_only=True) == [*OUTGOING_ONLY, KEEP]
    assert program(None, outgoing_only=False) == [KEEP]
    raw = BpfFilter("icmp", LINKTYPE_RAW)
    eth = BpfFilter("icmp", LINKTYPE_ETHERNET)
    assert program(raw, outgoing_only=True) == [*OUTGOING_ONLY, *raw.program()]
    assert program(eth, outgoing_only=True) == [*OUTGOING_ONLY, *TAGGED_PASS, *eth.program()]
    assert program(eth, outgoing_only=False) == [*TAGGED_PASS, *eth.program()]
    # every jump of a prefix lands inside it or on the first instruction after it, so the
    # filter's own relative jumps need no adjusting
    for prefix in (OUTGOING_ONLY, TAGGED_PASS):
        for i, (code, jt, jf, _k) in enumerate(prefix):
            if code & 0x07 == 0x05:  # BPF_JMP
                assert i + 1 + max(jt, jf) <= len(prefix)


def test_a_program_too_long_for_the_kernel_is_refused_before_it_is_tried() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(OSError):
        attach_program(s, [KEEP] * (BPF_MAXINSNS + 1))


def _icmp() -> bytes:
    from scapy.layers.inet import ICMP, IP

    return bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP())


def _udp() -> bytes:
    from scapy.layers.inet import IP, UDP

    return bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=9))


@pytest.mark.parametrize(
    ("forced", "cls", "path"),
    [("thread", ThreadReader, "thread"), ("process", ProcessReader, "process")],
)
def test_the_fallback_paths_filter_in_the_reader_and_number_the_interface(
    monkeypatch: pytest.MonkeyPatch, forced: str, cls: type, path: str
) -> None:
    # a packet socket pair stands in for a device: one read gives one whole packet
    monkeypatch.setenv(ENV_PATH, forced)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    ring, wake = Ring(), threading.Event()
    reader = Reader(
        ours.fileno(), ring, wake, iface=7, capture_filter=BpfFilter("icmp", LINKTYPE_RAW)
    )
    assert type(reader) is cls and not reader.filter_in_kernel
    reader.start()
    try:
        assert wait_for(lambda: reader.path == path)
        for _ in range(5):
            theirs.send(_udp())
            theirs.send(_icmp())
        assert wait_for(lambda: reader.packets == 5)
    finally:
        reader.stop()
        reader.join(10)
        ours.close()
        theirs.close()
    records = list(ring)
    assert [r.data for r in records] == [_icmp()] * 5
    assert {r.iface for r in records} == {7}
    assert {r.direction for r in records} == {Direction.OUTBOUND}
    assert reader.failure is None and reader.error is None
    assert reader.kernel_drops() == 0  # not a device: no queue to count
    assert reader.kernel_drops_meaning == QUEUE


def test_the_reading_child_runs_as_tapwatch_own_module() -> None:
    # a child started by hand explains itself instead of reading anything
    r = subprocess.run(
        [sys.executable, "-m", "tapwatch.capture"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "child process" in r.stderr
