"""Crafting packets from scapy expressions: what they build, and that typing one never touches
the network, hangs or eats memory.

The inject dialog previews an expression on every keystroke, so evaluating one must be as
inert as reading it: no name lookup, no ARP, no socket, bounded memory and time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netns import Netns, needs_netns
from scapy.layers.inet import GRE, ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from tapwatch import craft
from tapwatch.craft import CraftError, build, preview
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
)

REPO = Path(__file__).resolve().parent.parent
PEER_MAC = "02:00:00:00:00:aa"
TAP_MAC = "52:54:00:00:00:01"
NAME = "tapwatch-test.invalid"


@pytest.fixture(autouse=True)
def no_scapy_network_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail, rather than ARP/NS on the host's network, if scapy tries to resolve a MAC.

    scapy fills a missing Ether ``dst`` by asking the network; every frame here
    must name its addresses, and craft.py must fill them in itself.
    """
    from scapy.config import conf

    def forbidden(*args: object) -> None:
        raise AssertionError("scapy tried to resolve a MAC address on the network")

    monkeypatch.setattr(conf.neighbor, "resolve", forbidden)


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
    # (the autouse fixture turns any MAC resolution into a failure)
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


# ---- nothing leaves the process ---------------------------------------------------------------


@pytest.fixture
def socket_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[object, ...]]]:
    """Every call into the resolver or to make a socket, recorded and refused (never made)."""
    craft._scapy_namespace()  # importing scapy reads routes over netlink: not what is tested
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
def test_preview_and_build_make_no_socket_call(
    socket_calls: list[tuple[str, tuple[object, ...]]],
    expr: str,
    linktype: int,
    error: str | None,
) -> None:
    for make in (preview, build):
        if error is None:
            assert make(expr, linktype, eth_src=PEER_MAC, eth_dst=TAP_MAC)
        else:
            with pytest.raises(CraftError, match=error) as info:
                make(expr, linktype, eth_src=PEER_MAC, eth_dst=TAP_MAC)
            assert "\n" not in str(info.value)
    assert socket_calls == []


def test_the_guard_refuses_at_the_c_boundary_whoever_asks() -> None:
    """Not one scapy helper patched: the thread evaluating may not resolve, open sockets,
    start programs or write files, whichever code asks; a swallowed refusal still fails."""
    craft._scapy_namespace()
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
            pytest.raises(CraftError) as info,
            craft.no_network(),
            contextlib.suppress(BaseException),
        ):
            attempt()
        assert "\n" not in str(info.value)
    with craft.no_network():  # an address literal needs no resolver: allowed
        assert socket.getaddrinfo("10.0.0.1", 53, flags=socket.AI_NUMERICHOST)
        open("/dev/null").close()  # reading is allowed (scapy reads its tables)


def test_the_guard_holds_only_in_the_thread_evaluating() -> None:
    """The pump and the UI go on with their sockets while a preview runs in a worker."""
    craft._scapy_namespace()
    inside = threading.Event()
    leave = threading.Event()
    refused: list[str] = []

    def worker() -> None:
        try:
            with craft.no_network():
                inside.set()
                leave.wait(10)
        except CraftError as e:
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


def test_preview_writes_nothing_to_the_terminal(
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scapy's warnings (a DNS compression loop, a MAC it cannot find) would draw over the UI."""
    from scapy.config import conf

    craft._scapy_namespace()
    monkeypatch.setattr(conf, "warning_threshold", 0)  # scapy would hide repeats
    scapy_log = logging.getLogger("scapy")  # scapy's own handler does not propagate to pytest's
    monkeypatch.setattr(scapy_log, "level", logging.WARNING)
    scapy_log.addHandler(caplog.handler)
    loop = 'b"\\x00\\x00\\x01\\x00\\x00\\x01" + b"\\x00" * 6 + b"\\xc0\\x0c\\x00\\x01\\x00\\x01"'
    try:
        preview(f'IP(src="10.0.0.2", dst="10.0.0.1")/UDP(dport=53)/DNS({loop})', LINKTYPE_RAW)
    finally:
        scapy_log.removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("scapy")] == []
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# ---- bounded memory and time ------------------------------------------------------------------


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    craft._scapy_namespace()
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('"%300000000d" % 0', "width of 300000000"),
        ('IP()/Raw(b"%300000000d" % 0)', "width of 300000000"),
        ('IP()/Raw("%.300000000f" % 1.5)', "width of 300000000"),
        ('IP()/Raw("%*d" % (300000000, 0))', "'\\*' width"),
        ("1 << 2000000000", "more than 8192 bits"),
        ("IP(ttl=1 << 2000000000)", "more than 8192 bits"),
        ("IP(ttl=(1 << 8000) * (1 << 8000))", "more than 8192 bits"),
        ("IP(ttl=0x" + "f" * 10000 + ")", "more than 8192 bits"),
        ('f"{0:300000000}"', "width of 300000000"),
        ("IP()/Raw(f\"{'x':>{300000000}}\")", "width of 300000000"),
        ('IP()/Raw(f"{1.5:.300000000f}")', "width of 300000000"),
        ('IP()/Raw(b"x" * (65535 << 12))', "too large"),
        ('IP()/Raw([b"x" * 65535] * 65535)', "too large"),
        (" + ".join(['IP()/Raw(b"x" * 65535'] + ['b"x" * 65535'] * 4) + ")", "too large"),
        ("IP()/Raw(RandString(size=100000000))", "too large"),
        ("IP()/Raw(RandBin(100000000))", "too large"),
        ("IP()/" * 5000 + "IP()", "nested too deeply"),
        ("-" * 100000 + "1", "nested too deeply"),
        ("(" * 300 + "1" + ")" * 300, "syntax error"),
        ("IP(ttl=" + "+".join(["1"] * 100000) + ")", "nested too deeply"),
        ('IP()/Raw(b"' + "x" * 1_000_000 + '")', "characters; at most"),
        ('IP(dst="10.0.0.0/8")', "makes 16777216 packets"),
        ('IPv6(dst="fd00::/64")/UDP(dport=(1, 65535))', "makes more than one packet|packets"),
    ],
    ids=lambda value: value if len(value) < 50 else f"{value[:30]}...({len(value)} chars)",
)
def test_resource_bombs_fail_before_they_run(
    peak_memory: Callable[[], int], expr: str, message: str
) -> None:
    with pytest.raises(CraftError, match=message) as info:
        preview(expr, LINKTYPE_RAW)
    assert "\n" not in str(info.value) and len(str(info.value)) < 250
    assert peak_memory() < 100 * 2**20  # the 250-300 MB values were never made


def test_time_budget_stops_a_slow_build(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.gettrace() is not None:
        pytest.skip("a tracer (debugger or coverage) is active: the budget steps aside")
    budget = craft.TIME_BUDGET
    monkeypatch.setattr(craft, "TIME_BUDGET", 0.0)
    with pytest.raises(CraftError, match="takes more than 0 s"):
        preview('IP(dst="10.0.0.1")/UDP()/DNS(qd=DNSQR(qname="a.example"))', LINKTYPE_RAW)
    monkeypatch.setattr(craft, "TIME_BUDGET", budget)
    assert preview('IP(dst="10.0.0.1")/UDP()', LINKTYPE_RAW)  # and the next one works again


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
        ('IP()/Raw(b"x" * 1000000)', LINKTYPE_RAW, "too large"),
        ('IP()/Raw(b"x" * 60000 * 60000)', LINKTYPE_RAW, "nested repetition"),
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
    assert "\n" not in str(info.value)


def test_arithmetic_and_formatting_that_fit_still_work() -> None:
    data = build(
        'IP(dst="10.0.0.1", id=0x1234 ^ 0xff, ttl=(7 + 1) // 2, tos=1 << 2)'
        '/Raw(f"seq {3:04d} {\'x\'!r:>5}" + "%s-%x" % ("a", 255))',
        LINKTYPE_RAW,
    )
    pkt = IP(data)
    assert (pkt.id, pkt.ttl, pkt.tos) == (0x1234 ^ 0xFF, 4, 4)
    assert bytes(pkt.payload) == b"seq 0003   'x'a-ff"


# ---- the real thing: a fresh namespace, tcpdump listening -------------------------------------

_IN_NAMESPACE = textwrap.dedent(
    """
    import json, socket, sys
    sys.path.insert(0, sys.argv[1])
    from tapwatch import craft
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
    exprs = json.loads(sys.argv[2])
    craft._scapy_namespace()
    results = {}

    def run(tag):
        for expr, lt in exprs:
            try:
                data, summary = craft.preview(expr, lt)
                results[tag + expr] = "built %d bytes" % len(data)
            except craft.CraftError as e:
                results[tag + expr] = "error: " + str(e)

    run("")
    # Take away the checks that stop lookups early, to see the guard itself hold:
    # names reach scapy's resolvers, Ether layers their neighbour lookup.
    from scapy.base_classes import Net
    Net.name2addr = classmethod(lambda cls, name: socket.getaddrinfo(name, None, cls.family)
                                [0][-1][0])
    craft._check_addresses = lambda pkt: None
    craft._fill_links = lambda pkt, src, dst: None
    run("unguarded checks: ")
    for what, attempt in (
        ("getaddrinfo", lambda: socket.getaddrinfo("NAME_HERE", 53)),
        ("gethostbyname", lambda: socket.gethostbyname("NAME_HERE")),
        ("gethostbyaddr", lambda: socket.gethostbyaddr("10.77.9.53")),
        ("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
            b"x", ("10.77.9.53", 53))),
    ):
        try:
            with craft.no_network():
                attempt()
            results[what] = "went through"
        except craft.CraftError as e:
            results[what] = "error: " + str(e)
    # the control: the same kind of datagram, outside the guard, is seen by tcpdump
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"control", ("10.77.9.9", 9))
    print(json.dumps(results))
    """
).replace("NAME_HERE", NAME)


@needs_netns
@pytest.mark.netns
def test_preview_sends_nothing_from_a_fresh_namespace(ns: Netns, tmp_path: Path) -> None:
    """tcpdump on every interface of a namespace with a route everywhere sees only the control
    datagram: no DNS query, no ARP, nothing from the reviewed expressions, even with the early
    checks taken away."""
    if not (pytest.importorskip("shutil").which("tcpdump")):
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
    capture = tmp_path / "wire.pcap"
    dump = ns.popen(["tcpdump", "-i", "any", "-nn", "-U", "-w", str(capture)])
    try:
        assert dump.stderr is not None
        deadline = time.monotonic() + 20
        while "listening on" not in dump.stderr.readline() and time.monotonic() < deadline:
            pass
        exprs = [[e, lt] for e, lt, _ in REVIEWED]
        run = ns.run(
            [sys.executable, "-c", _IN_NAMESPACE, str(REPO), json.dumps(exprs)], timeout=120
        )
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.communicate(timeout=20)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for expr, _lt, error in REVIEWED:
        got = results[expr]
        if error is None:
            assert got.startswith("built"), (expr, got)
        else:
            assert got.startswith("error:") and error in got, (expr, got)
        # without the early checks, the guard refuses the lookup (or scapy's ARP socket)
        got = results["unguarded checks: " + expr]
        if error is None:
            assert got.startswith("built") or "network socket" in got, (expr, got)
        else:
            assert got.startswith("error:") and error in got, (expr, got)
    assert "network socket" in results["unguarded checks: " + REVIEWED[0][0]]
    for what in ("getaddrinfo", "gethostbyname", "gethostbyaddr", "udp"):
        assert results[what].startswith("error:"), (what, results[what])
    lines = subprocess.run(
        ["tcpdump", "-r", str(capture), "-nn"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # the control leaves v0 and arrives on v1; nothing else was on the wire
    assert lines and all("> 10.77.9.9.9: UDP, length 7" in line for line in lines), lines


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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_any_typed_text_gives_bytes_or_one_line(pieces: list[str]) -> None:
    """Whatever is half-typed: bytes, or a one-line CraftError; nothing else escapes."""
    expr = "".join(pieces)
    for linktype in (LINKTYPE_RAW, LINKTYPE_ETHERNET):
        try:
            data, summary = preview(expr, linktype, eth_src=PEER_MAC, eth_dst=TAP_MAC)
        except CraftError as e:
            assert "\n" not in str(e) and str(e)
        else:
            assert data and len(data) <= craft.MAX_FRAME and "\n" not in summary
