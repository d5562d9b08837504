"""Link-type conversion and timed replay, with a fake clock (no root, no device).

The replay into a real tun inside a private network namespace is part of
``tests/test_actions.py::test_real_device_reply_and_replay``, which shares that
namespace with the ping test instead of building a second one.
"""

from __future__ import annotations

import errno
import struct
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1Q, Ether

from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)
from tapwatch.replay import ReplayError, ReplayResult, check_convertible, convert, replay

SRC = b"\x02\x00\x00\x00\x00\xaa"
DST = b"\x52\x54\x00\x00\x00\x01"
E4 = DST + SRC + b"\x08\x00"  # the Ethernet header convert() puts before IPv4
E6 = DST + SRC + b"\x86\xdd"
IP4 = bytes(IP(src="10.0.0.2", dst="10.0.0.1") / UDP(sport=1, dport=2) / b"four")
IP6 = bytes(IPv6(src="fd00::2", dst="fd00::1") / UDP(sport=1, dport=2) / b"six")
ARP_FRAME = bytes(Ether(src="52:54:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.1"))
ETH4 = bytes(Ether(src="52:54:00:00:00:01", dst="02:00:00:00:00:aa") / IP(IP4))
ETH6 = bytes(Ether(src="52:54:00:00:00:01", dst="02:00:00:00:00:aa") / IPv6(IP6))


@pytest.fixture(autouse=True)
def no_scapy_network_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail, rather than ARP on the host's network, if scapy tries to resolve a MAC."""
    from scapy.config import conf

    def forbidden(*args: object) -> None:
        raise AssertionError("scapy tried to resolve a MAC address on the network")

    monkeypatch.setattr(conf.neighbor, "resolve", forbidden)


def _null(family: int, payload: bytes) -> bytes:
    return struct.pack("=I", family) + payload


# ---- conversion -----------------------------------------------------------------------

CASES = [
    # (from, to, input, expected output)
    pytest.param(LINKTYPE_RAW, LINKTYPE_ETHERNET, IP4, E4 + IP4, id="raw4>eth"),
    pytest.param(LINKTYPE_RAW, LINKTYPE_ETHERNET, IP6, E6 + IP6, id="raw6>eth"),
    pytest.param(LINKTYPE_RAW, LINKTYPE_ETHERNET, b"\x00junk", None, id="raw?>eth"),
    pytest.param(LINKTYPE_RAW, LINKTYPE_ETHERNET, b"", None, id="raw-empty>eth"),
    pytest.param(LINKTYPE_IPV4, LINKTYPE_ETHERNET, IP4, E4 + IP4, id="ipv4>eth"),
    pytest.param(LINKTYPE_IPV6, LINKTYPE_RAW, IP6, IP6, id="ipv6>raw"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_RAW, ETH4, IP4, id="eth4>raw"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_RAW, ETH6, IP6, id="eth6>raw"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_RAW, ETH4 + bytes(20), IP4, id="eth-padded>raw"),
    pytest.param(
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        bytes(Ether(src=SRC, dst=DST) / Dot1Q(vlan=5) / Dot1Q(vlan=6) / IP(IP4)),
        IP4,
        id="qinq>raw",
    ),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_RAW, ARP_FRAME, None, id="arp>raw"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_RAW, ETH4[:13], None, id="short-eth>raw"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_IPV4, ETH6, None, id="eth6>ipv4"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_IPV6, ETH6, IP6, id="eth6>ipv6"),
    pytest.param(LINKTYPE_ETHERNET, LINKTYPE_ETHERNET, ARP_FRAME, ARP_FRAME, id="eth>eth"),
    pytest.param(LINKTYPE_RAW, LINKTYPE_RAW, b"anything", b"anything", id="same"),
    pytest.param(
        LINKTYPE_LINUX_SLL,
        LINKTYPE_RAW,
        bytes(CookedLinux(proto=0x0800) / IP(IP4)),
        IP4,
        id="sll>raw",
    ),
    pytest.param(
        LINKTYPE_LINUX_SLL,
        LINKTYPE_RAW,
        bytes(CookedLinux(proto=0x0806) / ARP()),
        None,
        id="sll-arp>raw",
    ),
    pytest.param(
        LINKTYPE_LINUX_SLL,
        LINKTYPE_ETHERNET,
        bytes(CookedLinux(proto=0x86DD) / IP6),
        E6 + IP6,
        id="sll6>eth",
    ),
    pytest.param(
        LINKTYPE_LINUX_SLL2,
        LINKTYPE_RAW,
        bytes(CookedLinuxV2(proto=0x86DD) / IP6),
        IP6,
        id="sll2>raw",
    ),
    pytest.param(
        LINKTYPE_LINUX_SLL2,
        LINKTYPE_ETHERNET,
        bytes(CookedLinuxV2(proto=0x0800) / IP4),
        E4 + IP4,
        id="sll2>eth",
    ),
    pytest.param(LINKTYPE_NULL, LINKTYPE_RAW, _null(2, IP4), IP4, id="null4>raw"),
    pytest.param(LINKTYPE_NULL, LINKTYPE_RAW, _null(30, IP6), IP6, id="null6>raw"),
    pytest.param(
        LINKTYPE_NULL,
        LINKTYPE_RAW,
        struct.pack(">I" if struct.pack("=I", 1)[0] else "<I", 2) + IP4,
        IP4,
        id="null-foreign-order>raw",
    ),
    pytest.param(LINKTYPE_NULL, LINKTYPE_RAW, _null(7, IP4), None, id="null-unknown>raw"),
]


@pytest.mark.parametrize(("from_lt", "to_lt", "data", "expected"), CASES)
def test_convert(from_lt: int, to_lt: int, data: bytes, expected: bytes | None) -> None:
    assert convert(data, from_lt, to_lt, SRC, DST) == expected


def test_convert_accepts_text_macs_and_defaults() -> None:
    out = convert(IP4, LINKTYPE_RAW, LINKTYPE_ETHERNET, "02:00:00:00:00:aa", "52-54-00-00-00-01")
    assert out == E4 + IP4
    out = convert(IP4, LINKTYPE_RAW, LINKTYPE_ETHERNET)
    assert out is not None and out[:6] == b"\xff" * 6 and out[6] & 0x02
    with pytest.raises(ReplayError, match="invalid MAC"):
        convert(IP4, LINKTYPE_RAW, LINKTYPE_ETHERNET, "nope", None)


def test_check_convertible() -> None:
    for src in (
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_LINUX_SLL2,
        LINKTYPE_NULL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
    ):
        for dst in (LINKTYPE_RAW, LINKTYPE_ETHERNET):
            check_convertible(src, dst)
    with pytest.raises(ReplayError, match="link type 147"):
        check_convertible(147, LINKTYPE_RAW)
    with pytest.raises(ReplayError, match="cannot replay into a Linux cooked device"):
        check_convertible(LINKTYPE_RAW, LINKTYPE_LINUX_SLL)
    with pytest.raises(ReplayError):
        convert(IP4, 147, LINKTYPE_RAW)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=120),
    st.sampled_from(
        [
            LINKTYPE_ETHERNET,
            LINKTYPE_RAW,
            LINKTYPE_LINUX_SLL,
            LINKTYPE_LINUX_SLL2,
            LINKTYPE_NULL,
            LINKTYPE_IPV4,
            LINKTYPE_IPV6,
        ]
    ),
)
def test_convert_never_raises_on_random_bytes(data: bytes, from_lt: int) -> None:
    for to_lt in (LINKTYPE_RAW, LINKTYPE_ETHERNET):
        out = convert(data, from_lt, to_lt, SRC, DST)
        assert out is None or isinstance(out, bytes)


# ---- timing -----------------------------------------------------------------------------


class FakeClock:
    """Monotonic clock that only moves when the replay sleeps (or a write takes time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def _records(times: list[float]) -> list[tuple[int, bytes]]:
    base = 1_700_000_000 * 10**9
    return [(base + int(t * 1e9), IP4) for t in times]


def _run(
    times: list[float], write_cost: float = 0.0, **kw: object
) -> tuple[list[float], ReplayResult]:
    clock = FakeClock()
    start = clock.now
    sent_at: list[float] = []

    def write(frame: bytes) -> None:
        sent_at.append(round(clock.now - start, 6))
        clock.now += write_cost

    result = replay(_records(times), write, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]
    return sent_at, result


def test_replay_keeps_original_timing() -> None:
    sent_at, result = _run([0, 1, 1.5, 3])
    assert sent_at == [0, 1, 1.5, 3]
    assert result == ReplayResult(4, 0, 3.0, False)


def test_replay_speed_scales_time() -> None:
    assert _run([0, 1, 1.5, 3], speed=2)[0] == [0, 0.5, 0.75, 1.5]
    assert _run([0, 1, 1.5, 3], speed=0.5)[0] == [0, 2, 3, 6]


def test_replay_speed_zero_never_sleeps() -> None:
    clock = FakeClock()
    result = replay(_records([0, 5, 10]), lambda f: None, speed=0, clock=clock, sleep=clock.sleep)
    assert result.sent == 3 and clock.sleeps == []


def test_replay_does_not_drift_when_writes_take_time() -> None:
    # each write costs 0.3 s; accumulating sleeps would send at 0, 1.3, 2.6, 3.9
    sent_at, _ = _run([0, 1, 2, 3], write_cost=0.3)
    assert sent_at == [0, 1, 2, 3]


def test_replay_catches_up_when_behind() -> None:
    # a 2 s write puts the replay behind: the late packets go out at once, then on schedule
    sent_at, _ = _run([0, 0.5, 1, 3], write_cost=2.0)
    assert sent_at == [0, 2, 4, 6]  # 3 s is already past when the third write ends (6 s)


def test_replay_out_of_order_timestamps_go_out_immediately() -> None:
    assert _run([0, 2, 1, 3])[0] == [0, 2, 2, 3]


def test_replay_max_gap_caps_idle_time() -> None:
    assert _run([0, 1, 3601, 3602], max_gap=2)[0] == [0, 1, 3, 4]
    assert _run([0, 1, 3601, 3602], max_gap=0.5)[0] == [0, 0.5, 1.0, 1.5]


def test_replay_converts_and_skips() -> None:
    records = [(0, ETH4), (1, ARP_FRAME), (2, ETH6)]
    out: list[bytes] = []
    result = replay(records, out.append, speed=0, from_lt=LINKTYPE_ETHERNET, to_lt=LINKTYPE_RAW)
    assert out == [IP4, IP6] and (result.sent, result.skipped) == (2, 1)


def test_replay_convert_hook() -> None:
    records = [(0, b"a"), (1, b"b"), (2, b"c")]
    out: list[bytes] = []

    def hook(rec: tuple[int, bytes]) -> tuple[int, bytes] | None:
        return None if rec[1] == b"b" else (rec[0], rec[1].upper())

    result = replay(records, out.append, speed=0, convert=hook)
    assert out == [b"A", b"C"] and result.skipped == 1


def test_replay_accepts_longer_records() -> None:
    out: list[bytes] = []
    records = [(0, IP4, len(IP4), 0), (1, IP6, len(IP6), None)]  # like pcap.PcapRecord
    assert replay(records, out.append, speed=0).sent == 2 and out == [IP4, IP6]


def test_replay_stop_from_write() -> None:
    stop = threading.Event()
    clock = FakeClock()
    out: list[bytes] = []

    def write(frame: bytes) -> None:
        out.append(frame)
        if len(out) == 2:
            stop.set()

    result = replay(_records([0, 1, 2, 3]), write, stop=stop, clock=clock, sleep=clock.sleep)
    assert result.sent == 2 and result.stopped


def test_replay_stop_interrupts_a_long_wait() -> None:
    stop = threading.Event()
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    began = time.monotonic()
    try:
        result = replay(_records([0, 60]), lambda f: None, stop=stop)
    finally:
        timer.cancel()
    assert time.monotonic() - began < 2
    assert result.sent == 1 and result.stopped


def test_replay_real_clock_is_roughly_right() -> None:
    result = replay(_records([0, 0.05, 0.1]), lambda f: None)
    assert result.sent == 3 and 0.09 <= result.elapsed < 0.5


def test_vanished_device_raises_replay_error() -> None:
    def write(frame: bytes) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(ReplayError, match=r"after 0 packets.*Input/output error") as info:
        replay(_records([0, 1]), write, speed=0)
    assert "\n" not in str(info.value)


def test_one_rejected_frame_is_skipped() -> None:
    calls: list[bytes] = []

    def write(frame: bytes) -> None:
        calls.append(frame)
        if len(calls) == 1:
            raise OSError(errno.EINVAL, "Invalid argument")

    result = replay(_records([0, 1, 2]), write, speed=0)
    assert (result.sent, result.skipped) == (2, 1)


@pytest.mark.parametrize("speed", [-1.0, float("nan")])
def test_bad_speed(speed: float) -> None:
    with pytest.raises(ReplayError, match="speed"):
        replay([], lambda f: None, speed=speed)


def test_empty_replay() -> None:
    assert replay([], lambda f: None).sent == 0
