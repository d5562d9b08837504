"""The header fast path (tapwatch.dfilter.fastpath) against the generic walk and tshark.

Wherever the fast walk takes a packet, its layers must be the generic walk's for that
packet (same names, spans, header lengths, what fields read from ``extra``); where the
generic walk would find more (tunnels, ICMP errors, VLAN stacks, IPv6 extension
headers, fragments) it must give up.  The packets are built with scapy (never sent)
around the cases where the two could differ, and the corpus adds real traffic.  A
filter's selection on those packets is then compared with tshark's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN

from tapwatch import pcap
from tapwatch.dfilter import compile_filter, fastpath
from tapwatch.dfilter.packet import Capture, Packet
from tests.test_dfilter import CORPUS, needs_tshark, selected, tshark_selected_many

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
A, B = "10.0.0.1", "10.0.0.2"


def _frames(malformed: bool = True) -> list[bytes]:
    """Ethernet frames around the fast path's edges (``malformed``: with cut and lying ones)."""
    ip = IP(src=A, dst=B, ttl=50)
    out: list[Any] = [
        E / ip / TCP(sport=1234, dport=80, flags="S"),
        E / ip / TCP(sport=80, dport=1234, flags="PA") / (b"x" * 30),
        E / IP(src=A, dst=B, ttl=70) / UDP(sport=5000, dport=53) / (b"\0" * 12),
        E / ip / UDP(sport=5000, dport=5001) / b"hello",
        E / ip / UDP(sport=5000, dport=5001) / (b"\x01\0\0\0" + b"\0" * 144),  # WireGuard shape
        E / ip / ICMP(type=8) / b"ping",
        E / ip / ICMP(type=3, code=1) / IP(src=B, dst="10.9.9.9") / UDP(sport=1, dport=2),
        E / ip / ICMP(type=11) / IP(src="10.8.8.8", dst=A) / TCP(dport=80),
        E / Dot1Q(vlan=5) / ip / TCP(dport=80),
        E / Dot1Q(vlan=5) / Dot1Q(vlan=6) / ip / TCP(dport=80),  # QinQ: two vlan layers
        E / ip / UDP(sport=4789, dport=4789) / VXLAN(vni=42) / E / IP(src=B, dst=A) / TCP(),
        E / ip / GRE() / IP(src="192.168.0.1", dst="192.168.0.2") / ICMP(),
        E / IP(src=A, dst=B) / IP(src="172.16.0.1", dst="172.16.0.2") / UDP(dport=9),
        E / IP(src=A, dst=B, flags="MF", id=7) / UDP(sport=1, dport=2) / (b"a" * 40),
        E / IP(src=A, dst=B, frag=6, id=7, proto=17) / (b"b" * 20),
        E / IPv6(src="fd00::1", dst="fd00::2", hlim=40) / TCP(dport=80),
        E / IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrHopByHop() / UDP(dport=53),
        E / IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(m=1) / (b"c" * 16),
        E / ARP(psrc=A, pdst=B),
        E / IP(src=A, dst=B, options=b"\x01\x01\x01\x00") / TCP(dport=22),
        E / IP(src=A, dst=B, proto=50) / (b"\0\0\x10\x01" + b"\0" * 20),  # ESP
    ]
    frames = [bytes(p) for p in out]
    if not malformed:
        return frames
    # cut short at every place a header could end, and lengths that lie
    tcp = bytes(E / ip / TCP(sport=1, dport=80, options=[("MSS", 1460)]) / b"data")
    frames += [tcp[:n] for n in (10, 14, 20, 33, 34, 40, 47, 53, 54, 60)]
    lying = bytearray(tcp)
    lying[16:18] = (30).to_bytes(2, "big")  # IP total length inside the TCP header
    frames.append(bytes(lying))
    lying[16:18] = (9).to_bytes(2, "big")  # shorter than the header
    frames.append(bytes(lying))
    short_thl = bytearray(tcp)
    short_thl[14 + 20 + 12] = 0x40  # a TCP header length of 16
    frames.append(bytes(short_thl))
    udp = bytes(E / ip / UDP(sport=1, dport=53) / b"abc")
    frames += [udp[:n] for n in (36, 40, 41, 42)]
    bad_ulen = bytearray(udp)
    bad_ulen[14 + 20 + 4 : 14 + 20 + 6] = (4).to_bytes(2, "big")
    frames.append(bytes(bad_ulen))
    return frames


def _generic(data: bytes, linktype: int) -> Packet:
    cap = Capture(eager=True)
    return cap.packet(data, linktype, 1, 0)


def _shape(layers: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for x in layers:
        extra = x.extra
        if x.name == "tcp":
            extra = extra.length
        out.append((x.name, x.data is not None, x.off, x.end, x.hlen, extra))
    return out


def _check(frames: list[bytes], linktype: int) -> tuple[int, int]:
    fast = fastpath.FastPath()
    took = gave_up = 0
    for data in frames:
        # a leaf's own layers (dns...) are not the fast walk's: no filter taking it names them
        generic = [x for x in _generic(data, linktype).layers() if x.name in fastpath.HEADERS]
        got = fast.layers(data, linktype)
        if got is None:
            gave_up += 1
            continue
        took += 1
        assert _shape(got) == _shape(generic), data.hex()
    return took, gave_up


def test_the_fast_walk_finds_the_generic_walks_layers_or_gives_up() -> None:
    frames = _frames()
    took, gave_up = _check(frames, 1)
    assert took > 20 and gave_up >= 9
    raw = [f[14:] for f in frames if f[12:14] in (b"\x08\x00", b"\x86\xdd")]
    _check(raw, 101)
    _check(raw, 228)
    _check([f[12:] for f in frames], 276)  # SLL2-like: type first, then junk as address


def test_it_gives_up_where_the_generic_walk_finds_more() -> None:
    fast = fastpath.FastPath()
    for data in _frames():
        names = [x.name for x in _generic(data, 1).layers()]
        if len(set(names)) != len(names) or {"vxlan", "gre"} & set(names):
            assert fast.layers(data, 1) is None, names


def test_the_corpus_walks_agree() -> None:
    for path in sorted(CORPUS.glob("*.pcap*")):
        with pcap.read_capture(str(path)) as cap:
            groups: dict[int, list[bytes]] = {}
            for rec in cap:
                lt = cap.interfaces[rec.iface].linktype
                groups.setdefault(lt, []).append(rec.data)
        for lt, frames in groups.items():
            _check(frames, lt)


def test_header_and_pass_filters_take_it() -> None:
    """Header fields, and fields of the in-order passes that read the header layers
    (streams, TCP analysis, reassembled HTTP, transactions); not other protocols."""
    for expr in (
        "ip.src == 10.0.0.1",
        "tcp.port == 80",
        "udp && ip.ttl < 64",
        "frame.len > 1",
        "tcp.stream == 1",
        "tcp.analysis.flags",
        "http.request",
        "http.time > 1",
        "icmp.resptime > 1",
    ):
        flt = compile_filter(expr)
        assert flt is not None and flt._fast is not None, expr
    for expr in ("dns", "dns.time > 1", "vxlan.vni == 1", "tcp.analysis.flags || dns"):
        flt = compile_filter(expr)
        assert flt is not None and flt._fast is None, expr
    # a pass that adds layers gives each packet its own copy of the stack
    http, tcp = compile_filter("http.time > 1"), compile_filter("tcp.analysis.flags")
    assert http is not None and http._fast is not None and http._fast.fresh
    assert tcp is not None and tcp._fast is not None and not tcp._fast.fresh


FAST_FILTERS = [
    "ip.src == 10.0.0.1",
    "ip.addr == 10.0.0.2",
    "ip.dst == 10.9.9.9",
    "ip.src == 10.0.0.0/24",
    "ip.addr != 10.0.0.1",
    "tcp.port == 80",
    "tcp.port != 80",
    "tcp.flags.syn == 1",
    "udp && ip.ttl < 64",
    "udp.port == 53",
    "udp.length < 8",
    "frame.len > 60",
    "icmp.type == 8",
    "icmp",
    "tcp",
    "tcp.len > 0",
    "tcp.hdr_len == 24",
    "vlan.id == 5",
    "eth.type == 0x0800",
    "ipv6.hlim < 64",
    "ip.proto == 17",
    "arp.opcode == 1",
    "ip.ttl == 50 && !udp",
    # fields of in-order passes, run on the fast walk's layers
    "tcp.stream == 1",
    "tcp.seq == 1",
    "tcp.analysis.flags",
    "tcp.analysis.ack_rtt",
    "udp.stream == 1",
    "icmp.resptime",
    "http.request",
    "http.response.code == 200",
]


@needs_tshark
def test_fast_filters_select_what_tshark_selects(tmp_path: Path) -> None:
    """Well-formed frames: on cut and lying headers the generic walk itself still differs
    from tshark (a partial IP header, a total length below the header's), which the
    fast path copies (the test below)."""
    path = tmp_path / "edges.pcap"
    w = pcap.open_writer(str(path), 1)
    for i, data in enumerate(_frames(malformed=False)):
        w.write(1_700_000_000_000_000_000 + i * 1000, data)
    w.close()
    oracle = tshark_selected_many(path, FAST_FILTERS, tmp_path)
    wrong = []
    for expr, theirs in zip(FAST_FILTERS, oracle, strict=True):
        ours = selected(path, expr)
        if ours != theirs:
            wrong.append((expr, sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))))
    assert not wrong, wrong


@pytest.mark.parametrize("expr", FAST_FILTERS)
def test_fast_and_generic_select_the_same(expr: str) -> None:
    frames = _frames()
    flt = compile_filter(expr)
    assert flt is not None
    fast = [flt.match_packet(d, 1, n, n * 1000) for n, d in enumerate(frames, 1)]
    flt._fast = None
    flt.restart()
    generic = [flt.match_packet(d, 1, n, n * 1000) for n, d in enumerate(frames, 1)]
    assert fast == generic
