"""Links across several merged inputs: each input's interface events are its own host's.

Two captures of two hosts (``-r a.pcapng -r b.pcapng``) can each hold a tun0 and an eth0;
the merge names them ``a:tun0``, ``b:eth0``. An MTU change one host's events say belongs to
that host's interface only: the other host's outer packets are held against their own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import GRE, ICMP, IP, Raw
from scapy.config import conf

from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_NETLINK, LINKTYPE_RAW
from tests.test_links import IN, MS, OUT, T0, _mtu_event, _pcapng, eth


@pytest.fixture(autouse=True)
def _no_resolving(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("scapy tried to resolve an address")

    monkeypatch.setattr(conf.neighbor, "resolve", refuse)


def _host(path: Path, net: int, mtus: list[tuple[int, int]], pings: int) -> None:
    """A host's capture: tun0 (the inner side), eth0 (GRE underneath, 192.168.``net``.x)
    and its interface events (``mtus``: (ms from the start, eth0's MTU from then on));
    ``pings`` inner packets of 1,128 bytes, 2 ms apart, each carried in 1,152 bytes."""
    recs: list[tuple[int, int, bytes, int]] = []
    for at, mtu in mtus:
        recs.append((2, T0 + at * MS, _mtu_event(3, "eth0", mtu), IN))
        recs.append((2, T0 + at * MS, _mtu_event(9, "tun0", 1400 + net), IN))
    for n in range(pings):
        inner = bytes(
            IP(src=f"10.{net}.0.1", dst=f"10.{net}.0.2", id=n) / ICMP(seq=n) / Raw(b"p" * 1100)
        )
        outer = IP(src=f"192.168.{net}.1", dst=f"192.168.{net}.2") / GRE(proto=0x0800)
        ts = T0 + (10 + 2 * n) * MS
        recs.append((0, ts, inner, OUT))
        recs.append((1, ts + MS // 10, eth(outer / Raw(inner)), OUT))
    recs.sort(key=lambda r: r[1])
    _pcapng(
        path,
        recs,
        [(LINKTYPE_RAW, "tun0"), (LINKTYPE_ETHERNET, "eth0"), (LINKTYPE_NETLINK, "netlink")],
    )


def _over_mtu(err: str, host: str) -> int:
    """The "over MTU" figure of the Out direction of the tunnel whose outer side is on
    ``host``'s eth0, in ``--tunnel-stats``' lines."""
    lines = err.splitlines()
    for k, line in enumerate(lines):
        if re.search(rf"^tapwatch: tunnel GRE .* on {host}:eth0 ", line):
            for follow in lines[k + 1 : k + 4]:
                m = re.search(r"Out: .*over MTU (\d+)", follow)
                if m:
                    return int(m.group(1))
    raise AssertionError(f"no tunnel on {host}:eth0 in:\n{err}")


def _tunnel_stats(*paths: Path) -> str:
    args = [a for p in paths for a in ("-r", str(p))]
    done = subprocess.run(
        [sys.executable, "-m", "tapwatch", *args, "-nn", "-q", "--tunnel-stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_each_merged_input_holds_its_outer_packets_against_its_own_mtu(tmp_path: Path) -> None:
    """Host a lowered its eth0 to 1,000 (its 1,152-byte GRE packets are over it); host b
    raised its own to 9,000. Merged, each host's packets are judged by its own eth0."""
    a, b = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    _host(a, 7, [(1, 1000)], pings=3)
    _host(b, 8, [(1, 9000)], pings=4)
    alone_a, alone_b = _tunnel_stats(a), _tunnel_stats(b)
    assert re.search(r"Out: 3 outer, 3 linked.*over MTU 3\b", alone_a), alone_a
    assert re.search(r"Out: 4 outer, 4 linked.*over MTU 0\b", alone_b), alone_b
    err = _tunnel_stats(a, b)
    assert (_over_mtu(err, "a"), _over_mtu(err, "b")) == (3, 0), err
    # the other order: b's events come first and are stamped the same; nothing changes
    err = _tunnel_stats(b, a)
    assert (_over_mtu(err, "a"), _over_mtu(err, "b")) == (3, 0), err


def test_a_change_on_one_host_leaves_the_other_hosts_packets_alone(tmp_path: Path) -> None:
    """Both hosts start at 9,000; host b lowers its eth0 to 1,000 half-way. Host a's
    packets stay within their MTU, b's after its change are over it."""
    a, b = tmp_path / "hostA.pcapng", tmp_path / "hostB.pcapng"
    _host(a, 7, [(1, 9000)], pings=4)
    _host(b, 8, [(1, 9000), (15, 1000)], pings=4)  # pings at 10, 12, 14, 16 ms: one after
    err = _tunnel_stats(a, b)
    assert (_over_mtu(err, "hostA"), _over_mtu(err, "hostB")) == (0, 1), err


def test_the_link_an_event_names_is_named_as_the_session_names_it() -> None:
    from tapwatch.analysis.mtus import event_link_name

    assert event_link_name("netlink", "tun0") == "tun0"  # one input, a live session
    assert event_link_name("hostA:netlink", "tun0") == "hostA:tun0"
    assert event_link_name("a:b:netlink", "tun0") == "a:b:tun0"  # a label with a ':' in it
    assert event_link_name("", "eth0") == "eth0"


def test_a_session_of_merged_inputs_judges_each_hosts_packets_by_its_own_events() -> None:
    """The UI's path (the session's linker, the Tunnels tool's figures): interfaces named
    as the merge names them, each input's events on its own events interface."""
    from tests.test_links import Capture

    cap = Capture(
        ("a:tun0", LINKTYPE_RAW, None),
        ("a:eth0", LINKTYPE_ETHERNET, None),
        ("a:netlink", LINKTYPE_NETLINK, None),
        ("b:tun0", LINKTYPE_RAW, None),
        ("b:eth0", LINKTYPE_ETHERNET, None),
        ("b:netlink", LINKTYPE_NETLINK, None),
    )
    cap.add(2, _mtu_event(3, "eth0", 1000), direction=IN)  # host a
    cap.add(5, _mtu_event(3, "eth0", 9000), direction=IN)  # host b: same name, same index
    for n in range(3):
        for tun, eth0, net in ((0, 1, 7), (3, 4, 8)):
            inner = bytes(
                IP(src=f"10.{net}.0.1", dst=f"10.{net}.0.2", id=n) / ICMP() / Raw(b"p" * 1100)
            )
            cap.add(tun, inner)
            outer = IP(src=f"192.168.{net}.1", dst=f"192.168.{net}.2") / GRE(proto=0x0800)
            cap.add(eth0, eth(outer / Raw(inner)))
    over = {cap.infos[t.outer_iface].name: t.dirs["Out"].too_big for t in cap.linker.snapshot()}
    assert over == {"a:eth0": 3, "b:eth0": 0}


def _both_ends(path_a: Path, path_b: Path, pings: int) -> None:
    """One GRE tunnel captured at both ends: host a sends each ping into its tun0 and its
    GRE packet leaves eth0 0.1 ms later; host b's eth0 receives it and its tun0 gives it out
    0.1 ms after that. Host b's clock is 1 ms behind a's, so by the stamps b's GRE packet
    comes between a's inner and outer ones, and a's outer one before b's inner one."""
    recs_a: list[tuple[int, int, bytes, int]] = []
    recs_b: list[tuple[int, int, bytes, int]] = []
    for n in range(pings):
        inner = bytes(IP(src="10.7.0.1", dst="10.7.0.2", id=n) / ICMP(seq=n) / Raw(b"p" * 100))
        outer = eth(IP(src="192.168.7.1", dst="192.168.7.2") / GRE(proto=0x0800) / Raw(inner))
        t = T0 + 10 * n * MS
        recs_a += [(0, t, inner, OUT), (1, t + 100_000, outer, OUT)]
        recs_b += [(1, t + 50_000, outer, IN), (0, t + 150_000, inner, IN)]
    for path, recs in ((path_a, recs_a), (path_b, recs_b)):
        _pcapng(path, recs, [(LINKTYPE_RAW, "tun0"), (LINKTYPE_ETHERNET, "eth0")])


def test_the_two_ends_of_a_tunnel_link_within_each_host(tmp_path: Path) -> None:
    """Both ends of one tunnel hold the same inner bytes: a's inner packet was linked to
    b's outer one (and b's inner to a's outer: "inside" -0.05 ms) when b's clock was behind.
    Each host's packets are linked within that host: 0.1 ms inside, each way."""
    a, b = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    _both_ends(a, b, pings=3)
    err = _tunnel_stats(a, b)
    assert re.search(r"Out: 3 outer, 3 linked, inside median 0\.100 ms p99 0\.100 ms", err), err
    assert re.search(r"In: 3 outer, 3 linked, inside median 0\.100 ms p99 0\.100 ms", err), err


def test_a_session_of_merged_inputs_links_within_each_input() -> None:
    from tests.test_links import Capture

    cap = Capture(
        ("a:tun0", LINKTYPE_RAW, None),
        ("a:eth0", LINKTYPE_ETHERNET, None),
        ("b:tun0", LINKTYPE_RAW, None),
        ("b:eth0", LINKTYPE_ETHERNET, None),
    )
    cap.linker.inputs = [0, 0, 1, 1]  # as the merge numbers them
    for n in range(3):
        inner = bytes(IP(src="10.7.0.1", dst="10.7.0.2", id=n) / ICMP() / Raw(b"p" * 100))
        outer = eth(IP(src="192.168.7.1", dst="192.168.7.2") / GRE(proto=0x0800) / Raw(inner))
        a_in = cap.add(0, inner, OUT, after_ms=10)
        b_out = cap.add(3, outer, IN, after_ms=0.05)
        a_out = cap.add(1, outer, OUT, after_ms=0.05)
        b_in = cap.add(2, inner, IN, after_ms=0.05)
        got = {(lk.inner, lk.outer) for s in (a_in, b_in) for lk in cap.linker.links_of(s)}  # type: ignore[attr-defined]
        assert got == {(a_in, a_out), (b_in, b_out)}


def test_the_uis_session_of_two_files_links_within_each_file(tmp_path: Path) -> None:
    """The UI's path for ``-r a -r b``: one file source over the merge, the session's
    linker told each interface's input."""
    import threading

    from tapwatch import pcap
    from tapwatch.analysis.links import Linker
    from tapwatch.filesource import FileSource
    from tapwatch.pcap.merge import MergedCapture, unique_labels
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.sinks import LinkSink

    a, b = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    _both_ends(a, b, pings=3)
    cap = MergedCapture(
        [pcap.read_capture(str(a)), pcap.read_capture(str(b))], unique_labels([str(a), str(b)])
    )
    ring, wake = Ring(), threading.Event()
    src = FileSource(cap, "a.pcapng", ring, wake)  # type: ignore[arg-type]
    session = Session([src], ring=ring, wake=wake, sinks=[LinkSink(Linker())])
    session.start()
    try:
        assert src.wait_loaded(30) and src.error is None
        session.pump()
        linker = session.linker
        assert linker is not None
        names = [i.name for i in session.interfaces]
        pairs = set()
        for rec in ring.range(ring.first_seq, ring.next_seq):
            for lk in linker.links_of(rec.seq):
                pairs.add((names[lk.inner_iface], names[lk.outer_iface], lk.delay_ns))
        assert pairs == {("a:tun0", "a:eth0", 100_000), ("b:tun0", "b:eth0", 100_000)}
    finally:
        session.close()
