"""Inner and outer packets linked: exact for cleartext encapsulations and framed streams,
inferred (and said so) for WireGuard, OpenVPN and ESP; the per-tunnel figures.

Packets are crafted with scapy (explicit MAC addresses: scapy never resolves one) and fed
to a session with the linker, as the pump would see them from several interfaces.
"""

from __future__ import annotations

import itertools
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import GRE, ICMP, IP, TCP, UDP, Ether, IPv6, Raw
from scapy.config import conf
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.l2tp import L2TP
from scapy.layers.ppp import PPP
from scapy.layers.vxlan import VXLAN

from tapwatch.analysis.encap import decapsulate, outer_hint
from tapwatch.analysis.links import Linker
from tapwatch.analysis.tunnelstats import link_lines, summary_lines
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.ring import Ring
from tapwatch.session import Session
from tapwatch.sinks import LinkSink
from tapwatch.sources import InterfaceInfo, RecordSource
from tests.pcapng_build import ng_epb, ng_flags, ng_idb, ng_opt, ng_shb

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
OUT, IN = int(Direction.OUTBOUND), int(Direction.INBOUND)
MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


@pytest.fixture(autouse=True)
def _no_resolving(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("scapy tried to resolve an address")

    monkeypatch.setattr(conf.neighbor, "resolve", refuse)


def eth(p: object) -> bytes:
    if isinstance(p, bytes):  # an IP packet already built
        p = Raw(p)
        kind = 0x86DD if p.load[0] >> 4 == 6 else 0x0800
        return bytes(Ether(src=MAC_A, dst=MAC_B, type=kind) / p)
    return bytes(Ether(src=MAC_A, dst=MAC_B) / p)  # type: ignore[operator]


def inner_ip(n: int = 0, size: int = 56) -> bytes:
    return bytes(IP(src="10.9.0.1", dst="10.9.0.2", id=n) / ICMP(seq=n) / Raw(b"p" * size))


def outer_ip() -> IP:
    return IP(src="192.168.7.1", dst="192.168.7.2")


def wg(inner_len: int, counter: int, receiver: int = 7) -> bytes:
    padded = (inner_len + 15) & ~15
    return struct.pack("<BxxxIQ", 4, receiver, counter) + bytes(padded + 16)


class Capture:
    """A session of named interfaces with the linker, fed record by record."""

    def __init__(self, *ifaces: tuple[str, int, int | None]) -> None:
        self.infos = [
            InterfaceInfo(name, "observe", linktype=lt, index=i, mtu=mtu)
            for i, (name, lt, mtu) in enumerate(ifaces)
        ]
        self.session = Session(
            [RecordSource(i) for i in self.infos], ring=Ring(), sinks=[LinkSink(Linker())]
        )
        self.ts = T0

    @property
    def linker(self) -> Linker:
        linker = self.session.linker
        assert linker is not None
        return linker

    def add(self, iface: int, data: bytes, direction: int = OUT, after_ms: float = 0.1) -> int:
        self.ts += int(after_ms * MS)
        seq = self.session.feed(self.ts, direction, data, iface)
        self.session.pump()
        return seq

    def summary(self) -> str:
        return "\n".join(
            summary_lines(
                self.linker.snapshot(),
                self.linker.unattributed_too_big(),
                lambda i: self.infos[i].name,
            )
        )


def only_link(cap: Capture, seq: int) -> object:
    links = cap.linker.links_of(seq)
    assert len(links) == 1, links
    return links[0]


# ----- exact: cleartext encapsulations ------------------------------------------------------


@pytest.mark.parametrize("inner_first", [True, False])
def test_vxlan_links_exactly_both_ways_and_in_either_order(inner_first: bool) -> None:
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("veth0", LINKTYPE_ETHERNET, 1500))
    inner = eth(inner_ip(1))
    outer = eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(inner))
    if inner_first:
        i, o = cap.add(0, inner), cap.add(1, outer, after_ms=0.2)
    else:
        o, i = cap.add(1, outer), cap.add(0, inner, after_ms=0.2)
    link = cap.linker.links_of(i)
    assert link and link == cap.linker.links_of(o)
    first = link[0]
    assert (first.inner, first.outer, first.exact, first.kind) == (i, o, True, "VXLAN")
    assert first.overhead == 50  # outer IP + UDP + VXLAN + the inner Ethernet header
    assert cap.linker.has_links(i) == 1 and cap.linker.has_links(o) == 2
    text = link_lines(i, link, lambda n: cap.infos[n].name)[0][0]
    delay = "0.200" if inner_first else "-0.200"  # stamped out of order: said as it is
    assert text == f"Carried by: packet {o} on veth0, VXLAN, {delay} ms inside, +50 bytes, exact"
    assert "VXLAN 192.168.7.1 <> 192.168.7.2 vni 42 on veth0 (inside: vxlan0" in cap.summary()


def test_an_unrelated_packet_is_not_linked() -> None:
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("veth0", LINKTYPE_ETHERNET, 1500))
    other = cap.add(0, eth(inner_ip(2)))
    outer = eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(eth(inner_ip(1))))
    cap.add(1, outer)
    assert cap.linker.links_of(other) == []


@pytest.mark.parametrize(
    ("kind", "outer", "inner_lt"),
    [
        ("GRE", lambda inner: outer_ip() / GRE(proto=0x0800) / Raw(inner), LINKTYPE_RAW),
        (
            "GRE",
            lambda inner: outer_ip() / GRE(key_present=1, key=9, proto=0x0800) / Raw(inner),
            LINKTYPE_RAW,
        ),
        (
            "IPIP",
            lambda inner: IP(src="192.168.7.1", dst="192.168.7.2", proto=4) / Raw(inner),
            LINKTYPE_RAW,
        ),
        (
            "IPIP",
            lambda inner: IPv6(src="fd00::1", dst="fd00::2", nh=4) / Raw(inner),
            LINKTYPE_RAW,
        ),
        (
            "Geneve",
            lambda inner: (
                outer_ip() / UDP(sport=5000, dport=6081) / GENEVE(vni=5, proto=0x0800) / Raw(inner)
            ),
            LINKTYPE_RAW,
        ),
        (
            "L2TP",
            lambda inner: (
                outer_ip()
                / UDP(sport=1701, dport=1701)
                / L2TP(tunnel_id=3, session_id=4)
                / PPP(proto=0x21)
                / Raw(inner)
            ),
            LINKTYPE_RAW,
        ),
        (
            "MPLS over GRE",
            lambda inner: outer_ip() / GRE(proto=0x8847) / MPLS(label=100, s=1) / Raw(inner),
            LINKTYPE_RAW,
        ),
    ],
)
def test_cleartext_encapsulations_link_exactly(kind: str, outer, inner_lt: int) -> None:  # type: ignore[no-untyped-def]
    cap = Capture(("tun0", inner_lt, 1476), ("eth0", LINKTYPE_ETHERNET, 1500))
    inner = inner_ip(3)
    i = cap.add(0, inner)
    o = cap.add(1, eth(outer(inner)))
    link = only_link(cap, i)
    assert (link.outer, link.exact, link.kind) == (o, True, kind)  # type: ignore[attr-defined]


def test_mpls_on_ethernet_links_exactly() -> None:
    cap = Capture(("inner", LINKTYPE_RAW, None), ("eth0", LINKTYPE_ETHERNET, 1500))
    inner = inner_ip(4)
    i = cap.add(0, inner)
    o = cap.add(
        1, bytes(Ether(src=MAC_A, dst=MAC_B, type=0x8847) / MPLS(label=16, s=1) / Raw(inner))
    )
    assert only_link(cap, o).inner == i  # type: ignore[attr-defined]


def test_the_look_back_finds_the_inner_packet_seen_before_the_first_outer_one() -> None:
    """The linker keeps no candidates while no tunnel is in sight; the first outer
    packet looks back into the ring for its inner one."""
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("veth0", LINKTYPE_ETHERNET, 1500))
    for n in range(20):
        cap.add(0, eth(inner_ip(100 + n)))
    assert cap.linker.active_until < 0
    inner = eth(inner_ip(1))
    i = cap.add(0, inner)
    o = cap.add(1, eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(inner)))
    assert only_link(cap, i).outer == o  # type: ignore[attr-defined]


def test_no_tunnel_costs_nothing_held() -> None:
    cap = Capture(("tun0", LINKTYPE_RAW, 1500), ("eth0", LINKTYPE_ETHERNET, 1500))
    for n in range(50):
        cap.add(
            n & 1, inner_ip(n) if n & 1 == 0 else eth(IP(src="10.0.0.1", dst="10.0.0.2") / TCP())
        )
        cap.add(
            0, bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5353, dport=53) / Raw(b"q"))
        )
    linker = cap.linker
    assert linker.active_until < 0 and not linker.tunnels and not linker.links
    assert not linker._inf_inner and not linker._exact_inner


def test_outer_hint_and_decapsulate_refuse_hostile_bytes() -> None:
    good = eth(outer_ip() / UDP(sport=1, dport=4789) / VXLAN(vni=1) / Raw(eth(inner_ip())))
    for cut in range(len(good)):
        data = good[:cut]
        outer_hint(data, LINKTYPE_ETHERNET)
        decapsulate(data, LINKTYPE_ETHERNET)
        outer_hint(data[14:], LINKTYPE_RAW)
        decapsulate(data[14:], LINKTYPE_RAW)


# ----- inferred: encrypted tunnels ----------------------------------------------------------


def wg_capture() -> Capture:
    return Capture(("wg0", LINKTYPE_RAW, 1420), ("veth0", LINKTYPE_ETHERNET, 1500))


def wg_outer(payload: bytes, direction_out: bool = True) -> bytes:
    src, dst = ("192.168.7.1", "192.168.7.2") if direction_out else ("192.168.7.2", "192.168.7.1")
    return eth(IP(src=src, dst=dst) / UDP(sport=51820, dport=51820) / Raw(payload))


def test_wireguard_is_inferred_by_direction_time_and_length() -> None:
    cap = wg_capture()
    sizes = [56, 300, 1000]
    seqs = []
    for n, size in enumerate(sizes):
        inner = inner_ip(n, size)
        seqs.append((cap.add(0, inner), cap.add(1, wg_outer(wg(len(inner), n)), after_ms=0.3)))
    # inbound: the outer packet arrives first, the inner one comes out of wg0 after it
    reply = inner_ip(9, 120)
    o = cap.add(1, wg_outer(wg(len(reply), 0, receiver=8), False), direction=IN)
    i = cap.add(0, reply, direction=IN, after_ms=0.2)
    for inner_seq, outer_seq in [*seqs, (i, o)]:
        link = only_link(cap, inner_seq)
        assert (link.outer, link.exact, link.kind) == (outer_seq, False, "WireGuard")  # type: ignore[attr-defined]
    text = link_lines(i, cap.linker.links_of(i), lambda n: cap.infos[n].name)[0]
    assert "inferred" in text[0] and any("not certain" in d for d in text[2])
    assert only_link(cap, i).delay_ns == 200_000  # type: ignore[attr-defined]
    summary = cap.summary()
    assert "links inferred" in summary and "Out: 3 outer, 3 linked" in summary
    assert "In: 1 outer, 1 linked" in summary


def test_pings_lost_while_the_vpn_was_down_do_not_shift_every_later_link() -> None:
    """A ping every 200 ms; the VPN is down for two of them (they go into wg0 and never
    out). Every later ping must link to its own outer packet, 0.1 ms after it, not to the
    lost one before it (the oldest of equal length), 200 ms "inside"."""
    cap = wg_capture()
    pairs = []
    for n in range(6):
        inner = inner_ip(n)  # all of one length, as a ping's
        i = cap.add(0, inner, after_ms=200)
        if n in (1, 2):
            continue  # the VPN was restarting: the packet never left
        pairs.append((i, cap.add(1, wg_outer(wg(len(inner), n)), after_ms=0.1)))
    for inner_seq, outer_seq in pairs:
        link = only_link(cap, outer_seq)
        assert link.inner == inner_seq  # type: ignore[attr-defined]
        assert link.delay_ns == 100_000  # type: ignore[attr-defined]


def test_wireguard_has_no_learned_overhead_model_to_show() -> None:
    """WireGuard's overhead is fixed by its format (32 bytes and the padding to 16), so the
    Tunnels tool's note shows no "overhead model": it showed the padded delta of the first
    pings (44 B for 84-byte pings) beside the Overhead column's 72.0 B."""
    from tapwatch.analysis.tunnelstats import tunnel_notes

    cap = wg_capture()
    for n in range(4):
        inner = inner_ip(n, 56)
        cap.add(0, inner)
        cap.add(1, wg_outer(wg(len(inner), n)), after_ms=0.3)
    t = cap.linker.snapshot()[0]
    assert t.learned is None
    assert "overhead model" not in tunnel_notes([t], [], lambda n: cap.infos[n].name)[0]


def test_wireguard_counters_handshakes_and_replays() -> None:
    cap = wg_capture()
    cap.add(1, wg_outer(struct.pack("<BxxxI", 1, 5) + bytes(140)))  # handshake initiation
    for counter in (0, 1, 2, 5, 5, 6):  # 3 and 4 missing, 5 replayed
        cap.add(1, wg_outer(wg(84, counter)))
    cap.add(1, wg_outer(wg(84, 0, receiver=99)))  # a new session: the index changes
    t = cap.linker.snapshot()[0]
    c = t.dirs["Out"].counters
    assert (c.gaps, c.missing, c.replays, c.index_changes) == (1, 2, 1, 1)
    assert t.handshakes == 1 and t.handshake_age_ns() == 7 * 100_000
    assert "counter gaps 1 (2 missing), replays 1" in cap.summary()
    from tapwatch.analysis.tunnelstats import tunnel_rows

    # the Tunnels tool words the gaps as the summary does
    assert tunnel_rows([t])[0][-1].startswith("ctr gaps 1 (2 missing), replays 1")


def test_inferred_links_stay_within_the_time_window_and_the_direction() -> None:
    cap = wg_capture()
    inner = inner_ip(1, 100)
    i = cap.add(0, inner, direction=IN)  # the wrong direction for an outbound outer packet
    cap.add(1, wg_outer(wg(len(inner), 0)), after_ms=0.1)
    assert cap.linker.links_of(i) == []
    cap = wg_capture()
    late = cap.add(0, inner_ip(2, 100))
    cap.add(1, wg_outer(wg(len(inner), 1)), after_ms=900)  # far past the window
    assert cap.linker.links_of(late) == []


def openvpn(inner_len: int, pid: int) -> bytes:
    # P_DATA_V2 with AES-GCM: opcode/key, peer-id, packet-id, tag, then the ciphertext
    return bytes([9 << 3, 0, 0, 1]) + struct.pack("!I", pid) + bytes(16 + inner_len)


def test_openvpn_is_inferred_with_its_learned_overhead_and_packet_id_gaps() -> None:
    cap = Capture(("tun0", LINKTYPE_RAW, 1500), ("eth0", LINKTYPE_ETHERNET, 1500))
    pids = [1, 2, 3, 6, 7]
    for n, pid in enumerate(pids):
        inner = inner_ip(n, 50 + 40 * n)
        i = cap.add(0, inner)
        o = cap.add(
            1, eth(outer_ip() / UDP(sport=40000, dport=1194) / Raw(openvpn(len(inner), pid)))
        )
        assert only_link(cap, i).outer == o  # type: ignore[attr-defined]
    t = cap.linker.snapshot()[0]
    assert t.learned == 24
    assert "packet-id gaps 1 (2 missing)" in cap.summary()


def openvpn_static(inner_len: int, first: int) -> bytes:
    """OpenVPN static-key (--secret, SHA1, AES-CBC): HMAC (its first byte ``first``), IV,
    then packet-id, time and the inner packet padded to the block by 1-16 bytes."""
    return bytes([first]) + bytes(35) + bytes(((inner_len + 8) // 16 + 1) * 16)


def test_openvpn_static_key_is_told_by_its_first_bytes_and_every_packet_linked() -> None:
    """The first packet's HMAC happens to begin like a control packet (held), the second's
    like no opcode: the tunnel is static-key, the first is linked after all; sizes vary, so
    does the CBC padding; the HMAC is never read as a packet-id."""
    cap = Capture(("tun0", LINKTYPE_RAW, 1500), ("eth0", LINKTYPE_ETHERNET, 1500))
    firsts = [0x21, 0x4A, 0xF3, 0x00, 0x30, 0x9C, 0x11]  # op 4, op 9, none, none, op 6...
    pairs = []
    for n, first in enumerate(firsts):
        inner = inner_ip(n, 50 + 37 * n)
        i = cap.add(0, inner)
        o = cap.add(
            1,
            eth(outer_ip() / UDP(sport=1194, dport=1194) / Raw(openvpn_static(len(inner), first))),
        )
        pairs.append((i, o))
    for i, o in pairs:
        assert only_link(cap, i).outer == o  # type: ignore[attr-defined]
    t = cap.linker.snapshot()[0]
    assert t.static_key and t.learned_base == 36
    assert "static key on eth0" in cap.summary() and "packet-id" not in cap.summary()
    from tapwatch.analysis.tunnelstats import tunnel_rows

    assert tunnel_rows([t])[0][0].endswith(" static key")  # the Tunnels tool says it too
    cap.linker.finish()
    assert "lost inside 0" in cap.summary()


@pytest.mark.parametrize("pings", [3, 1])
def test_openvpn_tls_seen_from_its_handshake_is_told_by_its_repeated_peer_id(pings: int) -> None:
    """A TLS tunnel seen from its start: control packets first (held while the mode is not
    known), then data packets with one peer-id; three in a row make it TLS mode and the
    held ones are linked in order; a capture that ends before that links them as they look."""
    cap = Capture(("tun0", LINKTYPE_RAW, 1500), ("eth0", LINKTYPE_ETHERNET, 1500))

    def outer(payload: bytes) -> bytes:
        return eth(outer_ip() / UDP(sport=1194, dport=1194) / Raw(payload))

    for op in (7, 8, 4, 5):  # hard resets, TLS records, an ACK
        cap.add(1, outer(bytes([op << 3]) + bytes(60)))
    pairs = []
    for n in range(pings):
        inner = inner_ip(n, 60 + 30 * n)
        i = cap.add(0, inner)
        pairs.append((i, cap.add(1, outer(openvpn(len(inner), n + 1)))))
    cap.linker.finish()
    for i, o in pairs:
        assert only_link(cap, i).outer == o  # type: ignore[attr-defined]
    t = cap.linker.snapshot()[0]
    assert not t.static_key and t.dirs["Out"].linked == pings
    assert "packet-id gaps 0 (0 missing)" in cap.summary()


def test_openvpn_over_tcp_links_each_packet_of_the_stream() -> None:
    """OpenVPN over TCP: a 2-byte length before each packet in the stream; a segment may
    carry two packets, a packet may span two segments; ACKs carry none."""
    cap = Capture(("tun0", LINKTYPE_RAW, 1500), ("eth0", LINKTYPE_ETHERNET, 1500))
    head = outer_ip()
    seq = 5000

    def segment(payload: bytes, flags: str = "PA") -> bytes:
        nonlocal seq
        tcp = TCP(sport=1194, dport=40000, seq=seq, ack=1, flags=flags)
        seq += len(payload)
        return eth(head / tcp / Raw(payload))

    inners = [inner_ip(n, 40 + 20 * n) for n in range(4)]
    packets = [
        struct.pack("!H", len(openvpn(len(i), n + 1))) + openvpn(len(i), n + 1)
        for n, i in enumerate(inners)
    ]
    seqs = [cap.add(0, i) for i in inners]
    cap.add(1, segment(b"", "A"))
    first = cap.add(1, segment(packets[0] + packets[1]))  # two in one segment
    cut = len(packets[2]) // 2
    cap.add(1, segment(packets[2][:cut]))  # the start of the third
    third = cap.add(1, segment(packets[2][cut:] + packets[3]))  # its end, and the fourth
    got = [only_link(cap, s) for s in seqs]
    assert [g.outer for g in got] == [first, first, third, third]  # type: ignore[attr-defined]
    assert {g.exact for g in got} == {False}  # type: ignore[attr-defined]
    t = cap.linker.snapshot()[0]
    assert t.name == "OpenVPN 192.168.7.1:1194 <> 192.168.7.2:40000 over TCP"
    assert t.learned == 24
    assert "Out: 4 outer, 4 linked" in cap.summary()
    from tapwatch.analysis.tunnelstats import tunnel_filter

    assert tunnel_filter(t).startswith("tcp and (port 1194 or port 40000)")


def test_a_restarted_openvpn_over_tcp_links_on_its_new_connection() -> None:
    """OpenVPN over TCP restarted: the client comes back on a new port, a new tunnel; once
    the old connection has gone quiet, tun0's packets link to the new one (they were all
    'lost inside' the old one, and the new one said 'inside: not seen')."""
    cap = Capture(("tun0", LINKTYPE_RAW, 1500), ("eth0", LINKTYPE_ETHERNET, 1500))
    head = outer_ip()

    def exchange(port: int, n: int, tcp_seq: int) -> tuple[int, int]:
        inner = inner_ip(n, 60)
        packet = openvpn(len(inner), n + 1)
        i = cap.add(0, inner, after_ms=200)
        tcp = TCP(sport=1194, dport=port, seq=tcp_seq, ack=1, flags="PA")
        o = cap.add(1, eth(head / tcp / Raw(struct.pack("!H", len(packet)) + packet)))
        return i, o

    for n in range(3):
        i, o = exchange(40000, n, 5000 + n * 200)
        assert only_link(cap, i).outer == o  # type: ignore[attr-defined]
    cap.add(1, eth(head / TCP(sport=1194, dport=40000, seq=5600, ack=1, flags="FA")))
    cap.ts += 1000 * MS  # the restart
    cap.add(1, eth(head / TCP(sport=1194, dport=40001, seq=9000, ack=1, flags="SA")))
    for n in range(3):
        i, o = exchange(40001, n, 9001 + n * 200)
        assert only_link(cap, i).outer == o  # type: ignore[attr-defined]
    _old, new = sorted(cap.linker.snapshot(), key=lambda t: t.name)
    assert new.name.endswith("192.168.7.2:40001 over TCP") and 0 in new.inner_ifaces
    assert "lost inside 0" in cap.summary() and "lost inside 3" not in cap.summary()


def test_esp_is_inferred() -> None:
    cap = Capture(("ipsec0", LINKTYPE_RAW, 1400), ("eth0", LINKTYPE_ETHERNET, 1500))
    for n in range(4):
        inner = inner_ip(n, 60 + 10 * n)
        pad = -(len(inner) + 2) % 4
        body = struct.pack("!II", 0x1234, n + 1) + bytes(8 + len(inner) + pad + 2 + 16)
        i = cap.add(0, inner)
        o = cap.add(1, eth(IP(src="192.168.7.1", dst="192.168.7.2", proto=50) / Raw(body)))
        link = only_link(cap, i)
        assert (link.outer, link.exact, link.kind) == (o, False, "ESP")  # type: ignore[attr-defined]


# ----- what the links say ---------------------------------------------------------------------


def test_lost_inside_over_mtu_and_icmp_too_big() -> None:
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1500), ("veth0", LINKTYPE_ETHERNET, 1500))
    inner = eth(inner_ip(1))
    cap.add(0, inner)
    cap.add(1, eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(inner)))
    big = eth(inner_ip(2, 1470))  # fits vxlan0's 1500, not veth0's 1500 once wrapped
    cap.add(0, big)
    too = eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(big))
    cap.add(1, too)
    cap.add(0, eth(inner_ip(3, 1470)))  # never comes out
    cap.add(
        1,
        eth(
            IP(src="192.168.7.254", dst="192.168.7.1")
            / ICMP(type=3, code=4, nexthopmtu=1400)
            / Raw(bytes(outer_ip() / UDP(sport=50000, dport=4789))[:28])
        ),
        direction=IN,
    )
    cap.add(0, eth(inner_ip(4)), after_ms=3000)  # time passes: the lost one expires
    t = cap.linker.snapshot()[0]
    out = t.dirs["Out"]
    assert out.linked == 2 and out.lost == 1
    assert out.too_big == 2  # one wrapped and sent, one that could not have fitted
    assert [tb.mtu for tb in t.too_big_icmp] == [1400]
    assert "UDP 192.168.7.1:50000 > 192.168.7.2:4789" in t.too_big_icmp[0].flow


def test_links_leave_with_their_records() -> None:
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("veth0", LINKTYPE_ETHERNET, 1500))
    cap.session.ring = ring = Ring(max_packets=4)
    cap.linker.ring = ring
    sink = cap.session.sink(LinkSink)
    assert sink is not None
    sink.first_seq = lambda: ring.first_seq
    cap.session._cursor = ring.first_seq
    inner = eth(inner_ip(1))
    i = cap.add(0, inner)
    cap.add(1, eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(inner)))
    assert cap.linker.links_of(i)
    for n in range(6):
        cap.add(0, eth(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=n)))
    assert cap.linker.links_of(i) == []


def test_a_framed_tunnel_stream_links_its_frames_exactly() -> None:
    from tapwatch.tunnelview import TunnelView

    infos = [
        InterfaceInfo("tun0", "device", linktype=LINKTYPE_RAW, index=0),
        InterfaceInfo("eth0", "observe", linktype=LINKTYPE_ETHERNET, index=1),
    ]
    session = Session(
        [RecordSource(i) for i in infos],
        sinks=[LinkSink(Linker(view=TunnelView([55555], LINKTYPE_RAW)))],
    )
    frame = inner_ip(1)
    seg = eth(
        IP(src="192.168.7.1", dst="192.168.7.2")
        / TCP(sport=40000, dport=55555, seq=1000, flags="PA")
        / Raw(struct.pack("!H", len(frame)) + frame)
    )
    i = session.feed(T0, OUT, frame, 0)
    o = session.feed(T0 + 300_000, OUT, seg, 1)
    session.pump()
    assert session.linker is not None
    link = session.linker.links_of(i)
    assert link and (link[0].outer, link[0].exact) == (o, True)


# ----- headless: --tunnel-stats on a file ----------------------------------------------------


def _pcapng(
    path: Path, records: list[tuple[int, int, bytes, int]], ifaces: list[tuple[int, str]]
) -> None:

    out = ng_shb()
    for lt, name in ifaces:
        out += ng_idb(lt, opts=ng_opt(2, name.encode()) + struct.pack("<HH", 0, 0))
    for iface, ts, data, direction in records:
        out += ng_epb(iface, ts // 1000, data, ng_flags(direction) + struct.pack("<HH", 0, 0))
    path.write_bytes(out)


FILE_CASES = {
    "GRE": (lambda inner: outer_ip() / GRE(proto=0x0800) / Raw(inner), 24, ""),
    "Geneve": (
        lambda inner: (
            outer_ip() / UDP(sport=5000, dport=6081) / GENEVE(vni=5, proto=0x0800) / Raw(inner)
        ),
        36,
        " vni 5",
    ),
    "IPIP": (lambda inner: IP(src="192.168.7.1", dst="192.168.7.2", proto=4) / Raw(inner), 20, ""),
}


@pytest.mark.parametrize("kind", sorted(FILE_CASES))
def test_tunnel_stats_at_the_end_of_a_file(tmp_path: Path, kind: str) -> None:
    """A pcapng of the inner interface and the one under it, crafted with scapy (this
    kernel makes no GRE, Geneve or IP-in-IP links), read with ``--tunnel-stats``."""
    wrap, overhead, key = FILE_CASES[kind]
    recs = []
    ts = T0
    for n in range(3):
        inner = inner_ip(n)
        recs.append((0, ts, inner, OUT))
        recs.append((1, ts + 150_000, eth(wrap(inner)), OUT))
        ts += 10 * MS
    path = tmp_path / f"{kind}.pcapng"
    _pcapng(path, recs, [(LINKTYPE_RAW, "gre1"), (LINKTYPE_ETHERNET, "eth0")])
    done = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "--tunnel-stats", "-nn"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 6
    err = done.stderr
    name = f"tunnel {kind} 192.168.7.1 <> 192.168.7.2{key} on eth0"
    assert f"{name} (inside: gre1; links exact)" in err
    assert "Out: 3 outer, 3 linked, inside median 0.150 ms p99 0.150 ms max 0.150 ms" in err
    assert f"overhead {overhead}.0 B" in err


def test_tunnel_stats_of_a_framed_stream_in_a_file(tmp_path: Path) -> None:
    """``-r FILE --tunnel-decode PORT --tunnel-stats``: a simpletun stream's frames (one
    spanning two segments) linked to the packets on the tun."""
    frames = [inner_ip(n, 40 + n) for n in range(3)]
    stream = b"".join(struct.pack("!H", len(f)) + f for f in frames)
    cut = [0, len(frames[0]) + 2 + 10, len(stream)]  # frame 2 ends in the second segment
    recs = []
    ts = T0
    for f in frames:
        recs.append((0, ts, f, OUT))
        ts += MS
    seq = 1000
    for lo, hi in itertools.pairwise(cut):
        seg = IP(src="192.168.7.1", dst="192.168.7.2") / TCP(
            sport=40000, dport=55555, seq=seq, flags="PA"
        )
        recs.append((1, ts, eth(seg / Raw(stream[lo:hi])), OUT))
        seq += hi - lo
        ts += MS
    path = tmp_path / "framed.pcapng"
    _pcapng(path, recs, [(LINKTYPE_RAW, "tun0"), (LINKTYPE_ETHERNET, "eth0")])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tapwatch",
            "-r",
            str(path),
            "--tunnel-decode",
            "55555",
            "--tunnel-stats",
            "-nn",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "tunnel simpletun 192.168.7.1:40000 <> 192.168.7.2:55555 on eth0" in done.stderr
    assert "(inside: tun0; links exact)" in done.stderr
    assert "Out: 3 outer, 3 linked" in done.stderr


def test_a_tcpdump_any_file_cooked_v2_links_too() -> None:
    """Linux cooked v2 (``tcpdump -i any -w``): the quick loop reads past its 20-byte header."""
    from tapwatch.linktypes import LINKTYPE_LINUX_SLL2

    def sll2(ip: bytes) -> bytes:
        return struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 4, 6, bytes(8)) + ip

    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("any", LINKTYPE_LINUX_SLL2, None))
    tcp = sll2(bytes(IP(src="10.0.0.1", dst="10.0.0.2") / TCP()))
    cap.add(1, tcp)
    assert cap.linker.active_until < 0
    inner = eth(inner_ip(1))
    i = cap.add(0, inner)
    wrapped = outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(inner)
    o = cap.add(1, sll2(bytes(wrapped)))
    assert only_link(cap, i).outer == o  # type: ignore[attr-defined]


def test_tunnel_stats_when_converting_a_file(tmp_path: Path) -> None:
    """``-r A -w B --tunnel-stats``: the summary as ``-r A --tunnel-stats`` gives it, and
    every record written (tshark reads all of them back: tcpdump takes one link type)."""
    wrap, _overhead, _key = FILE_CASES["GRE"]
    recs = []
    ts = T0
    for n in range(3):
        inner = inner_ip(n)
        recs.append((0, ts, inner, OUT))
        recs.append((1, ts + 150_000, eth(wrap(inner)), OUT))
        ts += 10 * MS
    path = tmp_path / "gre.pcapng"
    _pcapng(path, recs, [(LINKTYPE_RAW, "gre1"), (LINKTYPE_ETHERNET, "eth0")])
    out = tmp_path / "copy.pcapng"
    done = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "-w", str(out), "--tunnel-stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "tunnel GRE 192.168.7.1 <> 192.168.7.2 on eth0 (inside: gre1; links exact)" in done.stderr
    )
    assert "Out: 3 outer, 3 linked, inside median 0.150 ms" in done.stderr
    assert "wrote 6 packets" in done.stderr
    ref = subprocess.run(["tshark", "-n", "-r", str(out)], capture_output=True, text=True)
    assert len(ref.stdout.splitlines()) == 6, ref.stderr


def _framed_pcap(path: Path) -> None:
    """A classic pcap (Ethernet: tcpdump reads it) of a simpletun stream: a SYN, three
    frames (the second spanning two segments), a bare ACK."""
    from scapy.utils import wrpcap

    frames = [inner_ip(n, 40 + n) for n in range(3)]
    stream = b"".join(struct.pack("!H", len(f)) + f for f in frames)
    cut = [0, len(frames[0]) + 2 + 10, len(stream)]
    head = Ether(src=MAC_A, dst=MAC_B) / IP(src="192.168.7.1", dst="192.168.7.2")
    pkts = [head / TCP(sport=40000, dport=55555, seq=999, flags="S")]
    seq = 1000
    for lo, hi in itertools.pairwise(cut):
        pkts.append(head / TCP(sport=40000, dport=55555, seq=seq, flags="PA") / Raw(stream[lo:hi]))
        seq += hi - lo
    pkts.append(head / TCP(sport=40000, dport=55555, seq=seq, flags="A"))
    for n, p in enumerate(pkts):
        p.time = 1_700_000_000 + n / 1000
    wrpcap(str(path), pkts)


def _lines(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tapwatch", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_framed_streams_line_shows_the_inner_packet_after_the_outer_addresses(
    tmp_path: Path,
) -> None:
    """``--tunnel-decode``: a segment's line is tcpdump's with what it carries put right
    after the outer addresses (where tcpdump puts what an encapsulation carries) and
    tcpdump's TCP details after ``|``; ``--strict-tcpdump`` prints tcpdump's lines only."""
    path = tmp_path / "framed.pcap"
    _framed_pcap(path)
    ref = subprocess.run(["tcpdump", "-nn", "-r", str(path)], capture_output=True, text=True)
    ref_lines = ref.stdout.splitlines()
    assert len(ref_lines) == 4, ref.stderr
    strict = _lines("-r", str(path), "-nn", "--tunnel-decode", "55555", "--strict-tcpdump")
    assert strict == ref_lines
    ours = _lines("-r", str(path), "-nn", "--tunnel-decode", "55555")
    assert len(ours) == 4
    carried = [
        "tunnel 1 frame: IP 10.9.0.1 > 10.9.0.2: ICMP echo request, id 0, seq 0, length 48",
        "tunnel 2 frames: IP 10.9.0.1 > 10.9.0.2: ICMP echo request, id 0, seq 1, length 49; "
        "IP 10.9.0.1 > 10.9.0.2: ICMP echo request, id 0, seq 2, length 50",
    ]
    for mine, theirs, inner in zip(ours, ref_lines, [None, *carried, None], strict=True):
        outer, _sep, details = theirs.partition(": ")
        if inner is None:
            assert mine == theirs  # a SYN, an ACK: nothing carried
        else:
            assert mine == f"{outer}: {inner} | {details}"


# ----- IPv4 fragments of outer packets -----------------------------------------------------


def _vxlan_fragments(n: int, size: int, mtu: int) -> tuple[bytes, list[bytes]]:
    """An inner Ethernet frame of a ping of ``size`` bytes and its VXLAN datagram cut into
    fragments for ``mtu`` by scapy's ``fragment()`` (each an Ethernet frame)."""
    from scapy.all import fragment

    inner = eth(inner_ip(n, size))
    outer = IP(src="192.168.7.1", dst="192.168.7.2", id=100 + n) / UDP(sport=50000, dport=4789)
    frags = fragment(outer / VXLAN(vni=42) / Raw(inner), fragsize=mtu - 20)
    return inner, [eth(bytes(f)) for f in frags]


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_a_fragmented_outer_packet_is_reassembled_and_linked(order: str) -> None:
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("eth0", LINKTYPE_ETHERNET, 1000))
    inner, frags = _vxlan_fragments(1, 1300, 1000)
    assert len(frags) == 2
    i = cap.add(0, inner)
    seqs = [cap.add(1, f) for f in (frags if order == "in order" else frags[::-1])]
    link = only_link(cap, i)
    assert (link.outer, link.exact) == (seqs[-1], True)  # type: ignore[attr-defined]
    summary = cap.summary()
    assert "Out: 1 outer, 1 linked" in summary and "over MTU 1" in summary, summary
    cap.linker.finish()
    assert "lost inside 0" in cap.summary()
    assert not cap.linker.fragments.pending


def test_an_ipv6_outer_packet_in_fragments_is_reassembled_and_linked() -> None:
    from scapy.layers.inet6 import IPv6ExtHdrFragment, fragment6

    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("eth0", LINKTYPE_ETHERNET, 1280))
    inner = eth(inner_ip(1, 1300))
    outer = (
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrFragment(id=77)
        / UDP(sport=50000, dport=4789)
        / VXLAN(vni=42)
        / Raw(inner)
    )
    frags = [eth(bytes(f)) for f in fragment6(outer, 1280)]
    assert len(frags) == 2
    i = cap.add(0, inner)
    seqs = [cap.add(1, f) for f in frags[::-1]]
    link = only_link(cap, i)
    assert (link.outer, link.exact) == (seqs[-1], True)  # type: ignore[attr-defined]
    assert "tunnel VXLAN fd00::1 <> fd00::2 vni 42" in cap.summary()


def test_an_inner_fragment_is_still_an_inner_packet() -> None:
    """A UDP datagram cut by the inner path: each piece on vxlan0 is carried whole by a
    VXLAN packet of its own, and linked to it."""
    from scapy.all import fragment

    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("eth0", LINKTYPE_ETHERNET, 1500))
    big = IP(src="10.9.0.1", dst="10.9.0.2", id=7) / UDP(sport=5000, dport=5001) / Raw(b"d" * 2000)
    pieces = [eth(bytes(f)) for f in fragment(big, fragsize=1400)]
    assert len(pieces) == 2
    first = cap.add(
        1, eth(outer_ip() / UDP(sport=50001, dport=4789) / VXLAN(vni=42) / Raw(eth(inner_ip())))
    )
    assert cap.linker.active_until > 0 and first
    for piece in pieces:
        i = cap.add(0, piece)
        o = cap.add(1, eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(piece)))
        link = only_link(cap, i)
        assert (link.outer, link.exact) == (o, True)  # type: ignore[attr-defined]


def test_fragments_are_bounded_and_a_lost_piece_leaves_the_inner_packet_lost() -> None:
    from tapwatch.analysis import fragments as fr

    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("eth0", LINKTYPE_ETHERNET, 1000))
    small, whole = _vxlan_fragments(0, 100, 1000)  # one that fits: the tunnel is known
    cap.add(0, small)
    cap.add(1, whole[0])
    inner, frags = _vxlan_fragments(1, 1300, 1000)
    cap.add(0, inner)
    first = cap.add(1, frags[0])  # the first piece; the rest comes too late
    assert cap.linker.links_of(first) == []
    held = cap.linker.fragments
    assert len(held.pending) == 1
    for n in range(fr.MAX_PENDING + 10):  # first pieces of datagrams that never complete
        _i, more = _vxlan_fragments(1000 + n, 1300, 1000)
        cap.add(1, more[0], after_ms=0.01)
    assert len(held.pending) == fr.MAX_PENDING and held.held <= fr.MAX_HELD
    cap.add(1, frags[1], after_ms=3000)  # past the timeout: alone, it makes nothing
    assert held.reassembled == 0 and len(held.pending) == 1
    cap.linker.finish()
    assert "Out: 1 outer, 1 linked" in cap.summary()
    assert "lost inside 1" in cap.summary()
    # pieces that overlap drop their datagram
    r = fr.Reassembler()
    a = bytes(IP(src="1.1.1.1", dst="2.2.2.2", id=9, flags="MF", frag=0, proto=17) / Raw(b"a" * 16))
    b = bytes(IP(src="1.1.1.1", dst="2.2.2.2", id=9, flags="MF", frag=1, proto=17) / Raw(b"b" * 16))
    c = bytes(IP(src="1.1.1.1", dst="2.2.2.2", id=9, frag=3, proto=17) / Raw(b"c" * 8))
    assert r.add(a, 0, T0) is None and r.add(b, 0, T0) is None and r.add(c, 0, T0) is None
    assert r.dropped == 1 and not r.pending and r.held == 0
    for junk in (b"", b"\x45", bytes(19), a[:20] + b"\xff" * 3):  # hostile: never raises
        r.add(junk, 0, T0)


def test_a_fragmented_vxlan_file_links_with_tunnel_stats(tmp_path: Path) -> None:
    """A pcapng of vxlan0 and eth0 whose VXLAN datagrams were cut by scapy's fragment():
    ``--tunnel-stats`` links every ping, none lost; tshark reassembles the same datagrams."""
    recs = []
    ts = T0
    for n in range(3):
        inner, frags = _vxlan_fragments(n, 1300, 1000)
        recs.append((0, ts, inner, OUT))
        for k, f in enumerate(frags):
            recs.append((1, ts + 100_000 + k * 10_000, f, OUT))
        ts += 10 * MS
    path = tmp_path / "frag.pcapng"
    _pcapng(path, recs, [(LINKTYPE_ETHERNET, "vxlan0"), (LINKTYPE_ETHERNET, "eth0")])
    done = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "--tunnel-stats", "-nn"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "tunnel VXLAN 192.168.7.1 <> 192.168.7.2 vni 42 on eth0" in done.stderr
    assert "Out: 3 outer, 3 linked" in done.stderr and "lost inside 0" in done.stderr
    ref = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", "vxlan", "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
    )
    assert len(ref.stdout.split()) == 3, ref.stderr  # tshark: three reassembled VXLAN packets


def _mtu_event(index: int, name: str, mtu: int) -> bytes:
    """A LINKTYPE_NETLINK record: RTM_NEWLINK saying ``name``'s MTU (as the monitor keeps it)."""
    from tapwatch.capture.links import cooked

    def rta(t: int, value: bytes) -> bytes:
        return struct.pack("=HH", 4 + len(value), t) + value + b"\0" * (-len(value) & 3)

    attrs = rta(3, name.encode() + b"\0") + rta(4, struct.pack("=I", mtu))
    body = struct.pack("=BxHiII", 0, 1, index, 1, 0) + attrs
    return cooked(struct.pack("=IHHII", 16 + len(body), 16, 0, 0, 0) + body)


def test_over_mtu_uses_the_mtu_the_interface_had_when_the_packet_was_seen() -> None:
    """veth0's MTU read at the start is 1500; an interface event lowers it to 1000, then a
    later link (a name the session met after the start) says its own: each outer packet is
    held against the MTU of its moment, an event that comes late in the ring included."""
    from tapwatch.linktypes import LINKTYPE_NETLINK

    cap = Capture(
        ("vxlan0", LINKTYPE_ETHERNET, 1500),
        ("veth0", LINKTYPE_ETHERNET, 1500),
        ("netlink", LINKTYPE_NETLINK, None),
    )

    def carried(n: int) -> None:
        inner = eth(inner_ip(n, 1100))  # wrapped: 1,192 bytes of IP on veth0
        cap.add(0, inner)
        cap.add(1, eth(outer_ip() / UDP(sport=50000, dport=4789) / VXLAN(vni=42) / Raw(inner)))

    carried(1)
    assert cap.linker.snapshot()[0].dirs["Out"].too_big == 0  # 1,192 < 1,500
    cap.add(2, _mtu_event(5, "veth0", 1000), direction=0)
    carried(2)
    carried(3)
    assert cap.linker.snapshot()[0].dirs["Out"].too_big == 2  # 1,192 > 1,000 from the event on
    # the stamp decides, not the ring's order: an event stamped later than packets that
    # come after it in the ring (another reader's) leaves them to the MTU before it
    cap.session.feed(cap.ts + 5 * MS, 0, _mtu_event(5, "veth0", 9000), 2)
    cap.session.pump()
    carried(4)  # stamped before the raise to 9000: 1,192 > 1,000
    cap.ts += 10 * MS
    carried(5)  # after it: fits
    assert cap.linker.snapshot()[0].dirs["Out"].too_big == 3
    # an event that comes after packets stamped after it (the link watch's thread was
    # slower than the capture's): they are judged again by the MTU of their time
    carried(6)
    cap.ts += 5 * MS
    carried(7)
    assert cap.linker.snapshot()[0].dirs["Out"].too_big == 3  # 9000 still
    cap.session.feed(cap.ts - 1 * MS, 0, _mtu_event(5, "veth0", 1100), 2)
    cap.session.pump()
    assert cap.linker.snapshot()[0].dirs["Out"].too_big == 4  # the last one: over 1100


# ----- IPv6 fragments behind extension headers, reassembled as tshark does ----------------


def _v6_chain(names: str) -> list[object]:
    from scapy.layers.inet6 import IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting

    make = {
        "hbh": IPv6ExtHdrHopByHop,
        "dst": IPv6ExtHdrDestOpt,
        "rt": lambda: IPv6ExtHdrRouting(addresses=["fd00::9"], segleft=0),
    }
    return [make[n]() for n in names.split()]  # type: ignore[operator]


@pytest.mark.skipif(not __import__("shutil").which("tshark"), reason="tshark is not installed")
@pytest.mark.parametrize("chain", ["", "hbh", "dst", "hbh dst rt dst"])
@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_ipv6_fragments_behind_extension_headers_reassemble_as_tshark_does(
    tmp_path: Path, chain: str, order: str
) -> None:
    """A VXLAN datagram over IPv6 with Hop-by-Hop, Routing and Destination Options headers
    before its fragment header, cut by scapy's fragment6 (never sent): the frame that
    completes it, the reassembled bytes and what they carry are tshark's."""
    from scapy.all import wrpcap
    from scapy.layers.inet6 import IPv6ExtHdrFragment, fragment6

    from tapwatch.analysis.fragments import Reassembler, v6_chain

    inner = eth(inner_ip(7, 1300))
    outer = IPv6(src="fd00::1", dst="fd00::2")
    for ext in _v6_chain(chain):
        outer = outer / ext  # type: ignore[operator]
    outer = outer / IPv6ExtHdrFragment(id=77) / UDP(sport=50000, dport=4789) / VXLAN(vni=42)
    frags = [eth(bytes(f)) for f in fragment6(outer / Raw(inner), 1280)]
    assert len(frags) == 2
    if order == "reversed":
        frags.reverse()
    path = tmp_path / "v6.pcap"
    wrpcap(str(path), [Ether(f) for f in frags])
    fields = ["frame.number", "ipv6.reassembled.length", "ipv6.reassembled.data", "vxlan.vni"]
    run = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=,"]
        + [a for f in fields for a in ("-e", f)],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = {
        int(row[0]): (int(row[1]), bytes.fromhex(row[2]), int(row[3]))
        for row in (ln.split(",") for ln in run.stdout.splitlines())
        if row[1]
    }
    assert len(theirs) == 1, run.stdout
    r = Reassembler()
    mine = {}
    for n, f in enumerate(frags, 1):
        whole = r.add(f, 14, T0 + n)
        if whole is not None:
            mine[n] = whole
    assert list(mine) == list(theirs)
    frame, (length, data, vni) = next(iter(theirs.items()))
    whole = mine[frame]
    assert whole.endswith(data) and len(data) == length
    unfragmentable = len(whole) - length  # the fixed header and the chain before the fragment
    assert struct.unpack_from("!H", whole, 4)[0] == unfragmentable - 40 + length
    # the chain of the first piece kept, the fragment header gone: UDP follows it
    assert v6_chain(whole, 0, len(whole))[:2] == (17, unfragmentable)
    enc = decapsulate(whole, LINKTYPE_RAW)
    assert enc is not None and enc.kind == "VXLAN" and enc.tunnel[-1] == vni == 42
    assert enc.inner == inner
    # and linked, through the linker's own way in (the hint, then the reassembly)
    cap = Capture(("vxlan0", LINKTYPE_ETHERNET, 1450), ("eth0", LINKTYPE_ETHERNET, 1280))
    i = cap.add(0, inner)
    seqs = [cap.add(1, f) for f in frags]
    link = only_link(cap, i)
    assert (link.outer, link.exact) == (seqs[frame - 1], True)  # type: ignore[attr-defined]


def test_an_ipv6_chain_past_the_bound_or_the_packet_is_refused_quietly() -> None:
    from scapy.layers.inet6 import IPv6ExtHdrDestOpt, IPv6ExtHdrFragment

    from tapwatch.analysis.fragments import MAX_V6_EXT, Reassembler

    head = IPv6(src="fd00::1", dst="fd00::2")
    for _ in range(MAX_V6_EXT + 1):
        head = head / IPv6ExtHdrDestOpt()  # type: ignore[operator]
    pkt = bytes(head / IPv6ExtHdrFragment(id=1, m=1) / UDP(dport=4789) / Raw(b"x" * 64))
    r = Reassembler()
    assert r.add(pkt, 0, T0) is None and not r.pending
    assert outer_hint(pkt, LINKTYPE_RAW) == 0
    cut = bytes(IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment())
    for n in range(40, len(cut)):  # cut anywhere: refused, never raises
        assert r.add(cut[:n], 0, T0) is None
        outer_hint(cut[:n], LINKTYPE_RAW)
        decapsulate(cut[:n], LINKTYPE_RAW)
