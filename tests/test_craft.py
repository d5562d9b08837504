"""Crafting packets from scapy expressions: what they build, and that nothing typed or pasted
into the inject dialog can stall capture or the UI, or reach anything, as root.

Expressions are evaluated in a limited process (tapwatch.sandbox), so most tests here go
through the same front the dialog uses (``craft.preview``/``craft.build``); the evaluator's
own guard is tested in this process, and the walls of the limited process as root in a
private network namespace, with the evaluator and the guard taken away.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netns import Netns, needs_netns
from scapy.layers.inet import GRE, ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether
from waiting import TIMEOUT, until

from tapwatch import craft
from tapwatch.craft import Builder, Cancelled, CraftError, build, preview
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
)
from tapwatch.sandbox import expression, frame, guard, protocol
from tapwatch.sandbox.confine import Limits
from tapwatch.sandbox.server import Sandbox

HERE = Path(__file__).resolve().parent
PEER_MAC = "02:00:00:00:00:aa"
TAP_MAC = "52:54:00:00:00:01"
NAME = "tapwatch-test.invalid"

#: Runs until the CPU limit kills it (a second or two of CPU), in little memory.
CPU_BOMB = "((1 << 60000000) - 1) * ((1 << 60000000) - 1)"


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---- what gets built ----------------------------------------------------------------------


def test_craft_ip_for_tun() -> None:
    data = build('IP(src="10.0.0.2", dst="192.168.3.11")/UDP(dport=9)/b"hi"', LINKTYPE_RAW)
    pkt = IP(data)
    assert pkt.dst == "192.168.3.11" and pkt[UDP].dport == 9 and bytes(pkt[UDP].payload) == b"hi"
    expr = 'IP(dst="10.0.0.1", ttl=-(-3))/UDP(sport=RandShort())/Raw(b"ab" * 4)'
    data = build(expr, LINKTYPE_RAW)
    assert IP(data).ttl == 3 and bytes(IP(data)[UDP].payload) == b"abababab"


def test_craft_strips_ethernet_for_tun() -> None:
    data = build('Ether()/IP(src="10.0.0.2", dst="10.0.0.1")/ICMP()', LINKTYPE_RAW)
    assert data[0] >> 4 == 4 and IP(data)[ICMP].type == 8
    data = build('Ether()/Dot1Q(vlan=3)/IPv6(src="fd00::2", dst="fd00::1")', LINKTYPE_RAW)
    assert data[0] >> 4 == 6 and len(data) == 40


def test_craft_wraps_ip_for_tap_and_never_resolves() -> None:
    data = build(
        'IP(src="10.0.0.2", dst="10.0.0.1")/ICMP()',
        LINKTYPE_ETHERNET,
        eth_src=PEER_MAC,
        eth_dst=b"\x52\x54\x00\x00\x00\x01",
    )
    frame = Ether(data)
    assert frame.src == PEER_MAC and frame.dst == TAP_MAC
    assert frame.type == 0x0800 and frame[ICMP].type == 8
    frame = Ether(build('Ether()/IPv6(src="fd00::2", dst="fd00::1")', LINKTYPE_ETHERNET))
    assert frame.dst == "ff:ff:ff:ff:ff:ff" and frame.type == 0x86DD
    frame = Ether(build('Ether(dst="52:54:00:00:00:09")/ARP(pdst="10.0.0.1")', LINKTYPE_ETHERNET))
    assert frame.dst == "52:54:00:00:00:09" and frame[ARP].pdst == "10.0.0.1"


def test_craft_preview() -> None:
    data, summary = preview('IP(src="10.0.0.2", dst="10.0.0.1")/ICMP()', LINKTYPE_RAW)
    assert len(data) == 28 and "ICMP" in summary and "10.0.0.1" in summary
    data, summary = preview('ARP(pdst="10.0.0.1", psrc="10.0.0.2")', LINKTYPE_ETHERNET)
    assert len(data) == 42 and "ARP" in summary


def test_every_link_address_is_explicit_inner_layers_too() -> None:
    """An Ether inside GRE (or any source MAC left out) gets the peer's addresses, not a lookup."""
    expr = 'IP(src="10.0.0.2", dst="10.0.0.1")/GRE()/Ether()/IP(src="10.9.0.2", dst="10.9.0.1")'
    inner = IP(build(expr, LINKTYPE_RAW, eth_src=PEER_MAC, eth_dst=TAP_MAC))[GRE][Ether]
    assert (inner.src, inner.dst) == (PEER_MAC, TAP_MAC)
    frame = Ether(
        build(
            'Ether()/IP(dst="10.0.0.1")/GRE()/Ether(src="02:00:00:00:00:77")'
            '/ARP(pdst="10.9.0.1", psrc="10.9.0.2")',
            LINKTYPE_ETHERNET,
            eth_src=PEER_MAC,
            eth_dst=TAP_MAC,
        )
    )
    assert (frame.src, frame.dst) == (PEER_MAC, TAP_MAC)
    inner = frame[GRE][Ether]
    assert (inner.src, inner.dst) == ("02:00:00:00:00:77", TAP_MAC)  # what the user gave stays
    assert frame[ARP].hwsrc == PEER_MAC  # not the MAC of one of the host's interfaces
    ns = 'IPv6(src="fd00::2", dst="fd00::1")/ICMPv6ND_NS(tgt="fd00::1")/ICMPv6NDOptSrcLLAddr()'
    assert IPv6(build(ns, LINKTYPE_RAW, eth_src=PEER_MAC))[ICMPv6NDOptSrcLLAddr].lladdr == PEER_MAC


def test_rand_values_differ_between_evaluations() -> None:
    """Each evaluation is a fresh fork of one server: its random state must not repeat."""
    expr = 'IP(dst="10.0.0.1")/UDP(sport=4000, dport=9)/Raw(RandString(16))'
    payloads = {bytes(IP(build(expr, LINKTYPE_RAW))[UDP].payload) for _ in range(3)}
    assert len(payloads) == 3


@pytest.mark.parametrize(
    ("expr", "linktype", "message"),
    [
        ('Ether()/ARP(pdst="10.0.0.1")', LINKTYPE_RAW, "tun device takes IP packets, not Eth"),
        ('ARP(pdst="10.0.0.1")', LINKTYPE_RAW, "tun device takes IP packets, not Eth"),
        ("UDP(dport=9)", LINKTYPE_RAW, "tun device takes IP packets"),
        ("UDP(dport=9)", LINKTYPE_ETHERNET, "tap device takes Ethernet frames"),
        ("IP(", LINKTYPE_RAW, "syntax error"),
        ("Nonsense()", LINKTYPE_RAW, "unknown name 'Nonsense'"),
        ('open("/etc/passwd")', LINKTYPE_RAW, "unknown name 'open'"),
        ("IP().__class__", LINKTYPE_RAW, "not allowed"),
        ('IP().pdfdump("/tmp/x")', LINKTYPE_RAW, "not allowed"),
        ("__import__('os')", LINKTYPE_RAW, "not allowed"),
        ("[x for x in ()]", LINKTYPE_RAW, "ListComp is not allowed"),
        ("IP(ttl=9 ** 9 ** 9)", LINKTYPE_RAW, "Pow is not allowed"),
        ('IP()/Raw(b"x" * 10 ** 9)', LINKTYPE_RAW, "not allowed"),
        ('IP()/Raw(b"x" * 1000000)', LINKTYPE_RAW, "does not fit its field"),
        ('Ether()/Raw(b"x" * 1000000)', LINKTYPE_ETHERNET, "1000014 bytes; a device takes at most"),
        ('IP()/Raw(b"x" * 60000 * 60000)', LINKTYPE_RAW, "too big"),
        ("IP(dst=)", LINKTYPE_RAW, r"syntax error at column 8 \(near '\(dst=\)'\)"),
        ("  IP(dst=)", LINKTYPE_RAW, "syntax error at column 10"),
        ('IP(_pkt=b"E")', LINKTYPE_RAW, "argument '_pkt' is not allowed"),
        ('IP(**{"ttl": 1})', LINKTYPE_RAW, "not allowed"),
        ("IP(*[1])", LINKTYPE_RAW, "Starred is not allowed"),
        ('IP(ttl="abc")', LINKTYPE_RAW, "ttl"),
        ("1 + 1", LINKTYPE_RAW, "not a packet"),
        ('b"raw"', LINKTYPE_RAW, "not a packet"),
        ("", LINKTYPE_RAW, "empty expression"),
        ("   ", LINKTYPE_ETHERNET, "empty expression"),
        ('IP(dst="example.invalid")', LINKTYPE_RAW, "does not resolve host names"),
        ('IP(dst="10.0.0.0/30")', LINKTYPE_RAW, "makes 4 packets"),
        ('IP(dst="10.0.0.1")/Raw(b"xx" * 35000)', LINKTYPE_RAW, "does not fit its field"),
        ('Ether()/Raw(b"xx" * 35000)', LINKTYPE_ETHERNET, "at most"),
        ("IP(version=5)", LINKTYPE_RAW, "version 5"),
        ('IP(dst="10.0.0.1")', LINKTYPE_LINUX_SLL, "cannot inject"),
        ('Ether()/IPv6(dst="fd00::1")', LINKTYPE_IPV4, "takes IPv4 packets, not IPv6"),
        ("IP(ttl=1 // 0)", LINKTYPE_RAW, "ZeroDivisionError"),
        ('"\\x00" + IP', LINKTYPE_RAW, "TypeError"),
    ],
)
def test_craft_errors(expr: str, linktype: int, message: str) -> None:
    with pytest.raises(CraftError, match=message) as info:
        build(expr, linktype)
    assert "\n" not in str(info.value) and len(str(info.value)) <= 240


def test_arithmetic_and_formatting_that_fit_still_work() -> None:
    data = build(
        'IP(dst="10.0.0.1", id=0x1234 ^ 0xff, ttl=(7 + 1) // 2, tos=1 << 2)'
        '/Raw(f"seq {3:04d} {\'x\'!r:>5}" + "%s-%x" % ("a", 255))',
        LINKTYPE_RAW,
    )
    pkt = IP(data)
    assert (pkt.id, pkt.ttl, pkt.tos) == (0x1234 ^ 0xFF, 4, 4)
    assert bytes(pkt.payload) == b"seq 0003   'x'a-ff"


# ---- bounded: what the sandbox limits --------------------------------------------------------

HOSTILE = [
    # the three that reached gigabytes and tens of seconds in the evaluating process
    ('b"x" * RandNum(3000000000, 3000000000)', "too big"),
    ('"%(a(b)c)2000000000d" % {"a(b)c": 1}', "too big"),
    ("RandNum(1, 1) << 26000000000", "too big"),
    # little memory, much CPU: the CPU limit
    (CPU_BOMB, "took too long"),
    # ranges whose count has more digits than Python will print: was a raw ValueError
    (
        'IP(dst="10.0.0.1", id=(0, 1 << 8000), ttl=(0, 1 << 8000))/UDP(dport=(0, 1 << 8000))',
        r"makes about 10\^7225 packets; build one at a time",
    ),
]


@pytest.mark.parametrize(("expr", "message"), HOSTILE)
def test_hostile_expressions_are_bounded(expr: str, message: str) -> None:
    """One line, and this process never held the value (its peak memory barely moves)."""
    preview('IP(dst="10.0.0.1")', LINKTYPE_RAW)  # the sandbox is warm, as in the dialog
    before = peak_rss()
    with pytest.raises(CraftError, match=message) as info:
        preview(expr, LINKTYPE_RAW)
    assert "\n" not in str(info.value) and len(str(info.value)) <= 240
    assert peak_rss() - before < 64 << 20


@pytest.mark.parametrize(
    "expr",
    [
        '"%300000000d" % 0',
        'IP()/Raw(b"%300000000d" % 0)',
        'IP()/Raw("%.300000000f" % 1.5)',
        'IP()/Raw("%*d" % (300000000, 0))',
        "1 << 2000000000",
        "IP(ttl=1 << 2000000000)",
        "IP(ttl=0x" + "f" * 10000 + ")",
        'f"{0:300000000}"',
        "IP()/Raw(f\"{'x':>{300000000}}\")",
        'IP()/Raw(f"{1.5:.300000000f}")',
        'IP()/Raw(b"x" * (65535 << 12))',
        'IP()/Raw([b"x" * 65535] * 65535)',
        " + ".join(['IP()/Raw(b"x" * 65535'] + ['b"x" * 65535'] * 4) + ")",
        "IP()/Raw(RandString(size=100000000))",
        "IP()/Raw(RandBin(100000000))",
        "IP()/" * 5000 + "IP()",
        "-" * 100000 + "1",
        "(" * 300 + "1" + ")" * 300,
        "IP(ttl=" + "+".join(["1"] * 100000) + ")",
        'IP()/Raw(b"' + "x" * 1_000_000 + '")',
        'IP(dst="10.0.0.0/8")',
        'IPv6(dst="fd00::/64")/UDP(dport=(1, 65535))',
    ],
    ids=lambda value: value if len(value) < 50 else f"{value[:30]}...({len(value)} chars)",
)
def test_resource_bombs_give_one_line(expr: str) -> None:
    before = peak_rss()
    with pytest.raises(CraftError) as info:
        preview(expr, LINKTYPE_RAW)
    assert "\n" not in str(info.value) and 0 < len(str(info.value)) <= 240
    assert peak_rss() - before < 64 << 20


def test_a_newer_preview_kills_an_older_one() -> None:
    """A paste that runs to its limit is killed as soon as the next preview starts."""
    builder = Builder()
    try:
        builder.evaluate('IP(dst="10.0.0.1")', LINKTYPE_RAW)  # started and warm
        outcome: list[BaseException] = []

        def slow() -> None:
            try:
                builder.evaluate(CPU_BOMB, LINKTYPE_RAW, supersede=True)
            except CraftError as e:
                outcome.append(e)

        worker = threading.Thread(target=slow)
        worker.start()
        deadline = time.monotonic() + 30
        while not builder.evaluating and time.monotonic() < deadline:
            time.sleep(0.005)
        assert builder.evaluating
        data, _ = builder.evaluate('IP(dst="10.0.0.2")', LINKTYPE_RAW, supersede=True)
        worker.join(30)
        assert IP(data).dst == "10.0.0.2"
        assert len(outcome) == 1 and isinstance(outcome[0], Cancelled), outcome
        assert builder.cancelled == 1  # the server killed and reaped it before saying so
    finally:
        builder.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with the default limits but a wall clock of the tests' own patience: a child
    at the lowest priority on a machine loaded 15-18 took more than the 5 s a user gets.
    (The wall itself is tested with ``short_wall``; the processor limit stays the user's.)"""
    box = Sandbox(Limits(wall=TIMEOUT))
    yield box
    box.close()


@pytest.fixture
def short_wall() -> Iterator[Sandbox]:
    box = Sandbox(Limits(wall=0.5))
    yield box
    box.close()


def test_the_wall_time_kills_a_child_that_waits(short_wall: Sandbox) -> None:
    """Waiting costs no CPU, so only the wall clock ends it."""
    sandbox = short_wall

    def wait() -> tuple[bytes, bytes]:
        time.sleep(3600)
        return protocol.FAILED, b"woke up"

    kind, payload = sandbox.run(wait)
    assert kind == protocol.FAILED
    assert protocol.parse_failed(payload) == "took too long: stopped after 0.5 s"


def test_a_child_that_says_too_much_is_cut_off(sandbox: Sandbox) -> None:
    kind, payload = sandbox.run(lambda: (protocol.BUILT, b"\0\0" + b"x" * (protocol.MAX_REPLY + 9)))
    assert kind == protocol.FAILED and "more than a frame" in protocol.parse_failed(payload)


def test_a_child_answer_is_checked_before_it_is_passed_on(sandbox: Sandbox) -> None:
    """The server re-reads what the child said: bounds, one line, a known kind."""
    answers = {
        b"Z" + b"nonsense": "without an answer",
        protocol.BUILT + b"\x00\x05ab": "invalid answer",
        protocol.BUILT + b"\x00\x00": "invalid answer",  # an empty frame
        protocol.FAILED + b"first\nsecond\x1b[2J": "first second\x1b[2J",
    }
    for said, expected in answers.items():
        kind, payload = sandbox.run(lambda said=said: (said[:1], said[1:]))
        assert kind == protocol.FAILED and expected in protocol.parse_failed(payload), said


def test_the_front_reads_only_bounded_bytes_and_text() -> None:
    """What crosses from the sandbox is parsed as bytes and text, with every size checked."""
    frame_bytes, summary = protocol.parse_built(protocol.built_payload(b"E" * 20, "a\nb"))
    assert (frame_bytes, summary) == (b"E" * 20, "a b")
    for bad in (
        b"",
        b"\x00",
        b"\xff\xff" + b"x" * 10,
        b"\x00\x00" + b"x" * (protocol.MAX_FRAME + 1),
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_built(bad)
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_failed(b"x" * 10_000)
    with pytest.raises(protocol.ProtocolError):
        protocol.Request.decode(b'{"expr": 1}')


# ---- the guard inside the child, tested in this process ------------------------------------


@pytest.fixture(scope="module")
def names() -> dict[str, Any]:
    return expression.scapy_names()


def evaluate_here(names: dict[str, Any], expr: str, linktype: int) -> bytes:
    """What the child does, in this process: evaluation, frame and summary under the guard."""
    data, summary = frame.build(protocol.Request(expr, linktype, PEER_MAC, TAP_MAC), names)
    assert "\n" not in summary
    return data


@pytest.fixture
def socket_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[object, ...]]]:
    """Every call into the resolver or to make a socket or resolve a MAC, recorded and refused."""
    import socket

    from scapy.config import conf

    calls: list[tuple[str, tuple[object, ...]]] = []

    def recorder(name: str) -> Callable[..., object]:
        def record(*args: object, **kwargs: object) -> object:
            calls.append((name, args))
            raise OSError(f"test: {name} is not allowed here")

        return record

    for name in (
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "gethostbyaddr",
        "getnameinfo",
        "socket",
        "create_connection",
    ):
        monkeypatch.setattr(socket, name, recorder(name))
    monkeypatch.setattr(conf.neighbor, "resolve", recorder("neighbor.resolve"))
    return calls


REVIEWED = [
    # an Ether inside GRE made scapy ARP on another interface
    ('IP(src="10.0.0.2", dst="10.0.0.1")/GRE()/Ether()/IP(dst="10.9.0.1")', LINKTYPE_RAW, None),
    ('Ether()/IP(dst="10.0.0.1")/GRE()/Ether()/ARP(pdst="10.9.0.1")', LINKTYPE_ETHERNET, None),
    # names in address lists were resolved while building (10 s and a DNS query each)
    (
        f'IPv6(dst="fd00::1")/IPv6ExtHdrRouting(addresses=["{NAME}"])',
        LINKTYPE_RAW,
        "does not resolve host names",
    ),
    (
        f'IPv6(dst="fd00::1")/UDP()/DHCP6_Solicit()/DHCP6OptDNSServers(dnsservers=["{NAME}"])',
        LINKTYPE_RAW,
        "does not resolve host names",
    ),
    (
        f'IPv6(dst="fd00::1")/IPv6ExtHdrSegmentRouting(addresses=["fd00::5", "{NAME}"])',
        LINKTYPE_RAW,
        "does not resolve host names",
    ),
    (f'IP(dst="{NAME}")/ICMP()', LINKTYPE_RAW, "does not resolve host names"),
    (f'IPv6(src="{NAME}")', LINKTYPE_RAW, "does not resolve host names"),
    (f'Ether()/ARP(pdst="{NAME}")', LINKTYPE_ETHERNET, "does not resolve host names"),
    (f'IP(dst="10.0.0.1")/UDP()/DNS(qd=DNSQR(qname="{NAME}"))', LINKTYPE_RAW, None),  # a name
    (
        'IPv6(src="fd00::2", dst="fd00::1")/ICMPv6ND_NS(tgt="fd00::1")/ICMPv6NDOptSrcLLAddr()',
        LINKTYPE_RAW,
        None,
    ),
    (
        'IP(dst="10.0.0.1")/UDP()/DHCP(options=[("name_server", "10.0.0.53"), "end"])',
        LINKTYPE_RAW,
        None,
    ),
]


@pytest.mark.parametrize(("expr", "linktype", "error"), REVIEWED)
def test_the_child_makes_no_socket_call(
    names: dict[str, Any],
    socket_calls: list[tuple[str, tuple[object, ...]]],
    expr: str,
    linktype: int,
    error: str | None,
) -> None:
    if error is None:
        assert evaluate_here(names, expr, linktype)
    else:
        with pytest.raises(guard.BuildError, match=error) as info:
            evaluate_here(names, expr, linktype)
        assert "\n" not in str(info.value)
    assert socket_calls == []


def test_the_guard_refuses_at_the_c_boundary_whoever_asks() -> None:
    """Not one scapy helper patched: while guarded nothing may resolve, open sockets, start
    programs or write files, whichever code asks; a swallowed refusal still fails."""
    import contextlib
    import socket

    attempts: list[Callable[[], object]] = [
        # AI_NUMERICHOST: even if the guard failed, the lookup could not leave the machine
        lambda: socket.getaddrinfo(NAME, 53, flags=socket.AI_NUMERICHOST),
        lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM),
        lambda: subprocess.run(["true"], check=False),
        lambda: open("/dev/null", "w"),  # noqa: SIM115
    ]
    for attempt in attempts:
        # swallowed, as scapy swallows a failed lookup: the block still fails
        with (
            pytest.raises(guard.BuildError) as info,
            guard.no_network(),
            contextlib.suppress(BaseException),
        ):
            attempt()
        assert "\n" not in str(info.value)
    with guard.no_network():  # an address literal needs no resolver: allowed
        assert socket.getaddrinfo("10.0.0.1", 53, flags=socket.AI_NUMERICHOST)
        open("/dev/null").close()  # reading is allowed (scapy reads its tables)


def test_the_guard_holds_only_in_the_thread_evaluating() -> None:
    """Where an evaluation runs in a thread (tests, the benchmark's in-process reference),
    the other threads go on with their sockets."""
    import socket

    inside = threading.Event()
    leave = threading.Event()
    refused: list[str] = []

    def worker() -> None:
        try:
            with guard.no_network():
                inside.set()
                leave.wait(10)
        except guard.BuildError as e:
            refused.append(str(e))

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    try:
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()  # this thread is not guarded
    finally:
        leave.set()
        t.join(10)
    assert refused == []


def test_the_child_writes_nothing_to_the_terminal(
    names: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scapy's warnings (a DNS compression loop, a MAC it cannot find) would draw over the UI
    (the server's stderr is /dev/null as well)."""
    from scapy.config import conf

    monkeypatch.setattr(conf, "warning_threshold", 0)  # scapy would hide repeats
    scapy_log = logging.getLogger("scapy")  # scapy's own handler does not propagate to pytest's
    monkeypatch.setattr(scapy_log, "level", logging.WARNING)
    scapy_log.addHandler(caplog.handler)
    loop = 'b"\\x00\\x00\\x01\\x00\\x00\\x01" + b"\\x00" * 6 + b"\\xc0\\x0c\\x00\\x01\\x00\\x01"'
    try:
        evaluate_here(
            names, f'IP(src="10.0.0.2", dst="10.0.0.1")/UDP(dport=53)/DNS({loop})', LINKTYPE_RAW
        )
    finally:
        scapy_log.removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("scapy")] == []
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# ---- the walls: nothing reachable even with the evaluator and the guard gone ------------------


DENIED = {"PermissionError EACCES", "FileNotFoundError ENOENT"}
#: What each escape from tests/craft_walls.py may end with (all of them fail).
ESCAPED = {
    "open a file": {"OSError EMFILE"},
    "make a socket": {"OSError EMFILE"},
    "start a process": {"BlockingIOError EAGAIN"},
    "run a program": {"BlockingIOError EAGAIN", "FileNotFoundError ENOENT"},
    # EINVAL: in a user namespace of its own uid 0 has no mapping
    "regain root": {"PermissionError EPERM", "OSError EINVAL"},
    "signal another process": {"PermissionError EPERM"},
    "allow more descriptors": {"ValueError"},
    "free a descriptor, then send": {"OSError ENETUNREACH"},
    "free a descriptor, then read a file": DENIED,
    "free a descriptor, then create a file": DENIED,
    "free a descriptor, then a raw socket": {"PermissionError EPERM"},
    "free a descriptor, then a UNIX socket": DENIED,
}


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize("user", ["root", "root without CAP_SYS_ADMIN", "nobody"])
def test_an_escaped_expression_reaches_nothing(ns: Netns, tmp_path: Path, user: str) -> None:
    """tcpdump on every interface of a namespace with a route everywhere sees only the
    control datagram: nothing from the reviewed expressions, previewed as the dialog does or
    evaluated without the early checks and even without the guard, and nothing from code
    that reached ``os`` by introspection; that code could not open, resolve, start, signal
    or regain anything either. As root; as root in a container (no CAP_SYS_ADMIN) and as a
    user tapwatch may run as (a tun it owns), where the namespaces are the child's own user
    namespace's."""
    from nobody import as_nobody

    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump not installed")
    for cmd in (
        ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
        ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
        ["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        ["ip", "addr", "add", "10.77.0.1/24", "dev", "v0"],
        ["ip", "link", "set", "v0", "up"],
        ["ip", "link", "set", "v1", "up"],
        ["ip", "route", "add", "default", "via", "10.77.0.254"],
        [
            "ip",
            "neigh",
            "replace",
            "10.77.0.254",
            "lladdr",
            "02:00:00:00:77:fe",
            "dev",
            "v0",
            "nud",
            "permanent",
        ],
    ):
        ns.run(cmd, check=True)
    exprs = [[e, lt] for e, lt, _ in REVIEWED]
    script = [sys.executable, str(HERE / "craft_walls.py"), json.dumps(exprs)]
    if user == "nobody":
        command = as_nobody(ns, script, tun_mode=None)
    elif user == "root":
        command = ns.cmd(script)
    else:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) not installed")
        drop = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]
        command = ns.cmd([*drop, *script])
    capture = tmp_path / "wire.pcap"
    dump = ns.popen(["tcpdump", "-i", "any", "-nn", "-U", "-w", str(capture)])
    try:
        assert dump.stderr is not None
        deadline = time.monotonic() + 20
        while "listening on" not in dump.stderr.readline() and time.monotonic() < deadline:
            pass
        run = subprocess.run(command, capture_output=True, text=True, timeout=180)
        # the control datagram, sent last, is on the wire: everything before it would be too
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and b"control" not in capture.read_bytes():
            time.sleep(0.05)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.communicate(timeout=20)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    escaped = result["escaped"]
    if "failed" in escaped:  # root that cannot make a namespace evaluates nothing
        assert user != "root" and "could not be built" in escaped["failed"], escaped
        pytest.skip("this kernel gives no user namespace to root without CAP_SYS_ADMIN")
    walls = set(escaped.pop("walls"))
    if user != "root" and "network namespace" not in walls:
        pytest.skip("this kernel gives users no namespaces: only the limits and the guard")
    expected = {"limits", "network namespace", "empty root", "no capabilities"}
    expected |= {"no new privileges", "no descriptors"}
    assert walls == expected | ({"unprivileged user"} if user != "nobody" else set())
    for expr, _lt, error in REVIEWED:
        got = result["previews"][expr]
        if error is None:
            assert got.startswith("built"), (expr, got)
        else:
            assert got.startswith("error:") and error in got, (expr, got)
        # without the early checks: the guard refuses scapy's lookups (an ARP name's letters
        # go into the packet as the field allows raw bytes)
        got = result["unguarded"][expr]
        refused = "network socket" in got or (error is not None and error in got)
        assert got.startswith("built") or refused, (expr, got)
    assert "network socket" in result["unguarded"][REVIEWED[0][0]]
    # without the guard too, scapy's lookups fail for want of a descriptor and a network
    assert set(result["no guard"]) == {e for e, _, _ in REVIEWED}
    assert escaped.pop("resolve a name").startswith("gaierror")
    assert {what: got for what, got in escaped.items() if got not in ESCAPED[what]} == {}
    assert set(escaped) == set(ESCAPED)
    assert result["control"] == {"open a file": "ok", "make a socket": "ok"}  # unconfined: works
    lines = subprocess.run(
        ["tcpdump", "-r", str(capture), "-nn"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # the control leaves v0 and arrives on v1; nothing else was on the wire
    assert lines and all("> 10.77.9.9.9: UDP, length 7" in line for line in lines), lines


# ---- capture keeps its flood -------------------------------------------------------------------


@needs_netns
@pytest.mark.netns
@pytest.mark.slow
def test_capture_keeps_a_paced_flood_while_hostile_pastes_are_previewed(ns: Netns) -> None:
    """The same paced flood twice into a captured tun: alone, then while the hostile
    expressions are previewed again and again in a worker thread of the capturing process.
    Every datagram is counted (kept, or dropped by the kernel or the device queue); the
    hostile run may lose no more than the control lost plus 0.5%."""
    exprs = [e for e, _ in HOSTILE[:4]]
    run = ns.run([sys.executable, str(HERE / "craft_flood.py"), json.dumps(exprs)], timeout=900)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    control, hostile = result["control"], result["sandbox"]
    for flood in (control, hostile):
        assert flood["sent"] > 0
        assert (
            flood["kept"] + flood["kernel_dropped"] + flood["device_queue_dropped"]
            >= (flood["sent"])
        ), flood  # nothing unaccounted for
    assert hostile["previews_during_flood"] > 0
    for expr, message in HOSTILE[:4]:
        outcome = hostile["outcomes"][expr]
        assert outcome.startswith("error: ") and message in outcome, hostile["outcomes"]
    assert hostile["lost"] <= control["lost"] + hostile["sent"] // 200, result


# ---- the dialog ---------------------------------------------------------------------------------


def ui(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (no pytest-asyncio needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


class FakeDevice:
    """Just enough of a device for the session: what is written into it is kept."""

    def __init__(self) -> None:
        self.fd = 99
        self.name = "tun1"
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def link_info(self) -> Any:
        from tapwatch.device import LinkInfo

        return LinkInfo("up", mtu=1500, addresses=["192.168.3.11/24"], tx_dropped=0)

    def close(self) -> None:
        self.fd = -1


def tun_session() -> tuple[Any, FakeDevice]:
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    dev = FakeDevice()
    info = InterfaceInfo("tun1", "tun", addresses=["192.168.3.11/24"], mtu=1500)
    return Session.from_records(LINKTYPE_RAW, [], info=info, device=dev), dev


async def open_dialog(pilot: Any, app: Any) -> Any:
    from tapwatch.widgets.dialogs.craft import CraftScreen

    await pilot.pause()
    await pilot.press("i")
    for _ in range(100):
        await pilot.pause(0.02)
        if isinstance(app.screen, CraftScreen):
            return app.screen
    raise AssertionError("the inject dialog did not open")


def shown(screen: Any) -> str:
    return str(screen.query_one("#craft-preview").render())


@ui
async def test_the_dialog_answers_keys_while_a_paste_is_evaluated() -> None:
    """A paste that runs until its CPU limit: meanwhile the dialog says so, keys are handled
    (the UI thread never waits for it), and the next text's preview kills it."""
    from textual import events

    from tapwatch.app import TapwatchApp

    craft.builder().evaluate('IP(dst="10.0.0.1")', LINKTYPE_RAW)  # warm, as once open
    killed = craft.builder().cancelled
    session, dev = tun_session()
    app = TapwatchApp(session)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        field = screen.query_one("#craft-expr")
        field.value = CPU_BOMB  # pasted
        await until(pilot, lambda: craft.builder().evaluating, "the paste being evaluated")
        assert "evaluating" in shown(screen)
        # a key, as the terminal sends it (Pilot's press would also wait for the app to idle)
        app.post_message(events.Key("backspace", None))
        await until(pilot, lambda: field.value == CPU_BOMB[:-1], "the key handled")
        assert craft.builder().evaluating  # ...while the sandbox still works on the paste
        await until(pilot, lambda: screen.error is not None, "the new text's answer")
        assert "syntax error" in screen.error and "bytes" not in shown(screen)
        assert craft.builder().cancelled == killed + 1  # the paste's child was killed
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen, "the dialog closed")
    assert dev.written == []


@ui
async def test_enter_sends_exactly_the_previewed_bytes() -> None:
    """Random values in the expression: what is written is what the preview showed."""
    from tapwatch.app import TapwatchApp

    session, dev = tun_session()
    app = TapwatchApp(session)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        screen.query_one(
            "#craft-expr"
        ).value = 'IP(dst="192.168.3.11")/UDP(sport=RandShort(), dport=9)/Raw(RandString(16))'
        await until(pilot, lambda: screen.bytes is not None, "the preview")
        previewed = screen.bytes
        assert "44 bytes" in shown(screen)
        await pilot.press("enter")
        await until(pilot, lambda: bool(dev.written), "the frame written")
    assert dev.written == [previewed]


@ui
async def test_enter_before_the_preview_sends_once_it_is_built() -> None:
    from tapwatch.app import TapwatchApp
    from tapwatch.widgets.dialogs.craft import CraftScreen

    session, dev = tun_session()
    app = TapwatchApp(session)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        screen.query_one("#craft-expr").value = 'IP(dst="192.168.3.11")/ICMP()'
        await pilot.press("enter")  # before the preview's short delay is over
        await until(pilot, lambda: bool(dev.written), "the frame written")
        await until(pilot, lambda: not isinstance(app.screen, CraftScreen), "the dialog closed")
    assert len(dev.written) == 1 and IP(dev.written[0]).dst == "192.168.3.11"


@ui
async def test_an_error_replaces_the_preview_of_the_text_before() -> None:
    """After a syntax error no stale bytes stay on show, and Enter sends nothing."""
    from tapwatch.app import TapwatchApp

    session, dev = tun_session()
    app = TapwatchApp(session)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        field = screen.query_one("#craft-expr")
        field.value = 'IP(dst="192.168.3.11")/ICMP()'
        await until(pilot, lambda: "28 bytes" in shown(screen), "the preview")
        field.value = 'IP(dst="192.168.3.11")/ICMP('
        await until(pilot, lambda: screen.error is not None, "the error")
        assert "syntax error at column" in screen.error
        assert "bytes" not in shown(screen) and screen.bytes is None
        await pilot.press("enter")  # handled by the time press returns
        await pilot.pause()
    assert dev.written == []


_PIECES = [
    "IP(",
    "IPv6(",
    "UDP(",
    "Ether(",
    "Raw(",
    "DNS(",
    "ARP(",
    "GRE()",
    ")",
    "/",
    "*",
    "%",
    "+",
    "<<",
    "-",
    "//",
    "(",
    "[",
    "]",
    ",",
    "dst=",
    "ttl=",
    "load=",
    '"10.0.0.1"',
    '"x"',
    'b"x"',
    '"%d"',
    '"%9999999d"',
    'f"{0:99999999}"',
    "0",
    "7",
    "65535",
    "99999999",
    "1 << 70000",
    "RandString(",
    "RandShort()",
    "{",
    "}",
    ":",
    '"name.invalid"',
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.booleans())
def test_any_typed_text_gives_bytes_or_one_line(pieces: list[str], tap: bool) -> None:
    """Whatever is half-typed: bytes, or a one-line CraftError; nothing else escapes."""
    expr = "".join(pieces)
    linktype = LINKTYPE_ETHERNET if tap else LINKTYPE_RAW
    try:
        data, summary = preview(expr, linktype, eth_src=PEER_MAC, eth_dst=TAP_MAC)
    except CraftError as e:
        assert "\n" not in str(e) and str(e)
    else:
        assert data and len(data) <= craft.MAX_FRAME and "\n" not in summary
