"""Frames nested past MAX_LAYERS: the line goes into an inner layer exactly where the frame's
walk did (``Walk.full_before``), so it stops where the counters' layers stop -- checked
against tcpdump's text for what tcpdump decodes and against :func:`decode.layers`; and a
text handed a walk that stops earlier stops there too.  Pure computation on scapy packets.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

import pytest
from capture_checks import tcpdump_packets
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import AH
from scapy.layers.l2 import GRE, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from tapwatch import decode
from tapwatch.decode.core import MAX_LAYERS, Acc
from tapwatch.decode.summary import line_text, summarize_with
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
ECHO = ICMP(id=5, seq=9) / b"abcd"


def _ip(i: int) -> IP:
    return IP(src=f"10.0.{i}.1", dst=f"10.0.{i}.2")


def ipip(n: int) -> Packet:
    """``n`` IPv4 headers, each in the one before, then an echo request."""
    pkt: Packet = ECHO
    for i in range(n - 1, -1, -1):
        pkt = _ip(i) / pkt
    return pkt


def gre_chain(n: int) -> Packet:
    """IPv4 / GRE, ``n`` times, then IPv4 / echo request."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = _ip(i) / GRE() / pkt
    return pkt


def vxlan_chain(n: int) -> Packet:
    """Ethernet / IPv4 / UDP / VXLAN, ``n`` times, then Ethernet / IPv4 / echo request."""
    pkt: Packet = Ether(src=M1, dst=M2) / _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = Ether(src=M1, dst=M2) / _ip(i) / UDP(sport=1000 + i, dport=4789) / VXLAN(vni=i) / pkt
    return pkt


def mpls_chain(n: int) -> Packet:
    """Ethernet, then (MPLS / IPv4 / GRE carrying MPLS) ``n`` times, then MPLS / IPv4 / echo."""
    pkt: Packet = MPLS(label=99, s=1, ttl=9) / _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = MPLS(label=16 + i, s=1, ttl=64) / _ip(i) / GRE(proto=0x8847) / pkt
    return Ether(src=M1, dst=M2, type=0x8847) / pkt


def geneve_chain(n: int) -> Packet:
    """IPv4 / UDP / Geneve carrying IPv4, ``n`` times, then IPv4 / echo request."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = _ip(i) / UDP(sport=2000 + i, dport=6081) / GENEVE(vni=i, proto=0x0800) / pkt
    return pkt


def ah_chain(n: int) -> Packet:
    """IPv4 / AH carrying IPv4, ``n`` times, then IPv4 / echo request."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = _ip(i) / AH(nh=4, payloadlen=4, spi=0x100 + i, seq=i + 1, icv=b"\0" * 12) / pkt
    return pkt


def six_in_four(n: int) -> Packet:
    """IPv4 and IPv6 headers in turn (protocols 41 and 4), ``n`` of them, then UDP."""
    pkt: Packet = UDP(sport=53, dport=53) / b"x"
    for i in range(n - 1, -1, -1):
        pkt = (_ip(i) if i % 2 == 0 else IPv6(src=f"fd00::{i}:1", dst=f"fd00::{i}:2")) / pkt
    return pkt


def icmp_quotes(n: int) -> Packet:
    """An ICMP error quoting an ICMP error ... ``n`` deep, the last quoting a UDP datagram."""
    pkt: Packet = _ip(n) / UDP(sport=33434, dport=33435) / b"q"
    for i in range(n - 1, -1, -1):
        pkt = _ip(i) / ICMP(type=3, code=3) / pkt
    return pkt


def l2tp_chain(n: int) -> Packet:
    """IPv4 / UDP / L2TP data / PPP carrying IPv4, ``n`` times, then IPv4 / echo request."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        l2tp = struct.pack("!HHH", 0x0002, 7, 100 + i) + b"\xff\x03\x00\x21"
        pkt = _ip(i) / UDP(sport=1701, dport=1701) / Raw(l2tp) / pkt
    return pkt


def gpe_chain(n: int) -> Packet:
    """IPv4 / UDP / VXLAN-GPE, every other one through NSH, carrying IPv4, ``n`` times."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        if i % 2:
            nsh = struct.pack("!II", 63 << 22 | 2 << 16 | 2 << 8 | 1, (0x100 + i) << 8 | 255)
            gpe = struct.pack("!BHBI", 0x0C, 0, 4, i << 8) + nsh
        else:
            gpe = struct.pack("!BHBI", 0x0C, 0, 1, i << 8)
        pkt = _ip(i) / UDP(sport=3000 + i, dport=4790) / Raw(gpe) / pkt
    return pkt


def pptp_chain(n: int) -> Packet:
    """IPv4 / enhanced GRE (PPTP) / PPP carrying IPv4, ``n`` times, then IPv4 / echo."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        inner = bytes(pkt)
        gre = struct.pack("!HHHHI", 0x3001, 0x880B, len(inner) + 4, 40 + i, i + 1)
        pkt = _ip(i) / Raw(gre + b"\xff\x03\x00\x21" + inner)
        pkt[IP].proto = 47
    return pkt


def quoted_gre(n: int) -> Packet:
    """An ICMP error quoting a GRE chain ``n`` deep (its quote walked from there, at -v)."""
    return IP(src="10.9.9.1", dst="10.9.9.2") / ICMP(type=3, code=1) / gre_chain(n)


#: each builder's frames around the bound, with 0 to 3 VLAN tags before the outer header
#: (so the bound falls on every layer of a repeated unit)
BUILDERS = (ipip, gre_chain, vxlan_chain, mpls_chain, geneve_chain, ah_chain, six_in_four)
#: more, for the texts that walk a header the frame's walk did not reach
MORE = (l2tp_chain, gpe_chain, pptp_chain, quoted_gre)


def _vlans(pkt: Packet, tags: int) -> bytes:
    if isinstance(pkt, Ether):
        if not tags:
            return bytes(pkt)
        inner = pkt.payload
        head: Packet = Ether(src=M1, dst=M2)
        for t in range(tags):
            head = head / Dot1Q(vlan=10 + t)
        return bytes(head / inner)
    head = Ether(src=M1, dst=M2)
    for t in range(tags):
        head = head / Dot1Q(vlan=10 + t)
    return bytes(head / pkt)


@functools.cache
def deep_frames() -> list[tuple[str, bytes, int]]:
    """``(name, frame, linktype)``: every builder from shallow to well past the bound."""
    out: list[tuple[str, bytes, int]] = []
    for build in BUILDERS + MORE:
        for n in range(3, 22):
            pkt = build(n)
            if not isinstance(pkt, Ether):
                out.append((f"{build.__name__}({n}) raw", bytes(pkt), LINKTYPE_RAW))
            for tags in range(4):
                out.append(
                    (f"{build.__name__}({n}) vlan{tags}", _vlans(pkt, tags), LINKTYPE_ETHERNET)
                )
    for n in range(1, 20):
        out.append((f"icmp_quotes({n}) raw", bytes(icmp_quotes(n)), LINKTYPE_RAW))
        for tags in range(3):
            out.append(
                (f"icmp_quotes({n}) vlan{tags}", _vlans(icmp_quotes(n), tags), LINKTYPE_ETHERNET)
            )
    return out


def texts(frame: bytes, lt: int) -> list[object]:
    """Every text a frame has: summary, Info, strict, and the line at -nn, -e, -v, -vv."""
    row: list[object] = [
        tuple(decode.summarize(frame, lt)),
        tuple(summarize_with(frame, lt, None, True)),
    ]
    for link in (False, True):
        for vb in (0, 1, 2):
            row.append(line_text(frame, lt, None, False, link, vb))
    return row


#: per builder: (the words of a layer in the line, the layer's name) -- one each per header
WORDS = {
    "ipip": (("IP 10.", "IPv4"),),
    "gre_chain": (("IP 10.", "IPv4"), ("GREv0", "GRE")),
    "vxlan_chain": (("IP 10.", "IPv4"), ("VXLAN,", "VXLAN")),
    "mpls_chain": (("IP 10.", "IPv4"), ("GREv0", "GRE"), ("MPLS (", "MPLS")),
    "geneve_chain": (("IP 10.", "IPv4"), ("Geneve,", "Geneve")),
    "ah_chain": (("IP 10.", "IPv4"), ("AH(", "AH")),
    "six_in_four": (("IP 10.", "IPv4"), ("IP6 fd00", "IPv6")),
    "l2tp_chain": (("IP 10.", "IPv4"), ("l2tp:", "L2TP")),
    "gpe_chain": (("IP 10.", "IPv4"), ("VXLAN-GPE,", "VXLAN-GPE"), ("NSH,", "NSH")),
    "pptp_chain": (("IP 10.", "IPv4"), ("GREv1", "GRE")),
}


def _read(w: decode.Walk, name: str) -> int:
    """The layers ``name`` whose header the walk read (a layer it only named, past the
    bound, has none)."""
    return sum(1 for n, h in zip(w.names, w.heads, strict=True) if n == name and h >= 0)


@pytest.mark.parametrize("build", BUILDERS + MORE[:3], ids=lambda b: b.__name__)
def test_the_line_stops_where_the_walk_stops_and_agrees_with_tcpdump(
    tmp_path: Path, build: object
) -> None:
    name = getattr(build, "__name__", "")
    frames = [(n, f, lt) for n, f, lt in deep_frames() if n.startswith(name + "(")]
    ether = [(n, f) for n, f, lt in frames if lt == LINKTYPE_ETHERNET]
    path = tmp_path / "deep.pcap"
    wrpcap(str(path), [Ether(f) for _n, f in ether])
    theirs = tcpdump_packets(path)
    assert len(theirs) == len(ether)
    deep = 0
    for (label, frame), want in zip(ether, theirs, strict=True):
        ours = line_text(frame, LINKTYPE_ETHERNET, None, True)
        w = decode.walk(frame, LINKTYPE_ETHERNET)
        assert tuple(w.names) == decode.layers(frame, LINKTYPE_ETHERNET)
        for word, layer in WORDS[name]:
            assert ours.count(word) == _read(w, layer), (label, word, ours)
        if ours == want:
            continue
        deep += 1  # stopped short of tcpdump, which has no bound: at the walk's
        assert len(w.names) >= MAX_LAYERS, (label, ours)
        # up to the bound, tcpdump's words; then the stop's own ("gre-proto-0x800", ...)
        cut = ours if want.startswith(ours) else ours[: ours.rindex(": ") + 2]
        assert want.startswith(cut), (label, ours, want)
    assert deep >= 20


def test_an_icmp_error_quoting_icmp_errors_stops_at_the_bound_as_tcpdump_words_it(
    tmp_path: Path,
) -> None:
    """At -v the quoted packets are printed (the walk goes into none): walked from the
    quote on, counting on from the frame's walk, they stop at MAX_LAYERS layers."""
    frames = [(n, f, lt) for n, f, lt in deep_frames() if n.startswith("icmp_quotes(")]
    ether = [(n, f) for n, f, lt in frames if lt == LINKTYPE_ETHERNET]
    path = tmp_path / "quotes.pcap"
    wrpcap(str(path), [Ether(f) for _n, f in ether])
    theirs = tcpdump_packets(path, "-v")
    deep = 0
    for (label, frame), want in zip(ether, theirs, strict=True):
        n = int(label[label.index("(") + 1 : label.index(")")])
        link = len(decode.layers(frame, LINKTYPE_ETHERNET)) - 2  # before the outer IPv4, ICMP
        ours = line_text(frame, LINKTYPE_ETHERNET, None, True, False, 1)
        levels = min(n, (MAX_LAYERS + 1 - link) // 2)
        assert ours.count("ICMP 10.") == levels, (label, ours)
        assert want.startswith(ours), (label, ours, want)
        deep += levels < n
    assert deep >= 10


def test_the_text_goes_in_only_where_the_walk_it_is_handed_did() -> None:
    """A walk that had counted layers before the frame's first (as a walk from further in
    would have) stops earlier: the text handed it stops with it -- it keeps no count of
    its own."""
    from tapwatch.decode.core import LINKTYPES

    frame = bytes(gre_chain(6))
    assert decode.walk(frame, LINKTYPE_RAW).names.count("GRE") == 6
    for before in (MAX_LAYERS - 9, MAX_LAYERS - 5, MAX_LAYERS - 2):
        w = decode.Walk(None, True, True)
        w.names.extend(["-"] * before)  # counted, at no known offset
        w.starts.extend([-1] * before)
        w.heads.extend([-1] * before)
        LINKTYPES[LINKTYPE_RAW].walk(frame, w)
        gres = w.names.count("GRE")
        assert 0 < gres < 6
        a = Acc()
        a.w = w
        _link, text = LINKTYPES[LINKTYPE_RAW].text(frame, a)
        assert text.count("GREv0") == gres, (before, text)
        assert text.count("IP 10.") == w.names.count("IPv4"), (before, text)
        assert text.endswith("gre-proto-0x800"), (before, text)


def test_a_quoted_packet_is_printed_only_as_deep_as_the_walk_it_is_handed_allows() -> None:
    """The walk goes into no ICMP error's quoted packet; the -v text walks it from there,
    counting on from the walk it was handed, so fewer counted layers leave room for fewer
    quotes."""
    from tapwatch.decode.core import LINKTYPES

    frame = bytes(icmp_quotes(8))
    for before in (3, 6, 9):
        w = decode.Walk(None, True, True)
        w.names.extend(["-"] * before)
        w.starts.extend([-1] * before)
        w.heads.extend([-1] * before)
        LINKTYPES[LINKTYPE_RAW].walk(frame, w)
        a = Acc(None, False, False, 1)
        a.w = w
        _link, text = LINKTYPES[LINKTYPE_RAW].text(frame, a)
        assert text.count("ICMP 10.") == (MAX_LAYERS + 1 - before) // 2, (before, text)


def test_every_text_of_a_deep_frame_is_decoded_and_its_layers_are_the_walks() -> None:
    """Summary, Info, strict, -e, -v and -vv of every deep frame: no decoder error, and the
    summary's layers are the counters'."""
    for label, frame, lt in deep_frames():
        row = texts(frame, lt)
        assert all("decoder error" not in str(t) for t in row), label
        assert decode.summarize(frame, lt).layers == decode.layers(frame, lt), label


def test_a_text_run_without_the_frames_walk_still_stops_at_the_bound() -> None:
    """No entry point, no walk handed: the first walk the text makes becomes its walk, so
    a chain of 60 headers still stops where the counters' layers stop."""
    from tapwatch.decode.core import LINKTYPES

    for frame in (bytes(ipip(60)), bytes(gre_chain(30))):
        _link, text = LINKTYPES[LINKTYPE_RAW].text(frame, Acc())
        w = decode.walk(frame, LINKTYPE_RAW)
        assert text.count("IP 10.") == _read(w, "IPv4") < 20, text
        assert text.count("GREv0") == w.names.count("GRE"), text


def pim_registers(n: int) -> Packet:
    """IPv4 / PIMv2 Register, ``n`` times (each register carrying the next), then IPv4 /
    echo request: the walk goes into no register's packet, the -v text walks each."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = IP(src=f"10.0.{i}.1", dst=f"10.0.{i}.2", proto=103) / Raw(b"\x21\0\0\0\0\0\0\0") / pkt
    return pkt


def li_shims(n: int) -> Packet:
    """IPv4 / UDP from port 49152 / Broadcom LI shim (an IPv4 packet), ``n`` times."""
    pkt: Packet = _ip(n) / ECHO
    for i in range(n - 1, -1, -1):
        pkt = _ip(i) / UDP(sport=49152, dport=9) / Raw(b"\x0a\0\0\0") / pkt
    return pkt


def test_registers_and_li_shims_nested_in_themselves_stop_at_the_bound(tmp_path: Path) -> None:
    """A PIM register's and a Broadcom LI shim's packet, nested 60 deep, are printed at -v and
    -vv only as deep as the walk goes (a walk from there counting on from the frame's): they
    had recursed until Python's stack ran out (a decoder error), and the shim's walk had no
    bound (a layer per shim, 180 for this frame).  The lines agree with tcpdump's up to
    where they stop."""
    regs, shims = bytes(pim_registers(60)), bytes(li_shims(60))
    shim_layers = decode.layers(shims, LINKTYPE_RAW)
    assert len(shim_layers) <= MAX_LAYERS + 2  # (as UDP names its port)
    for vb in (1, 2):
        reg = line_text(regs, LINKTYPE_RAW, None, False, False, vb)
        shim = line_text(shims, LINKTYPE_RAW, None, False, False, vb)
        assert "decoder error" not in reg + shim, vb
        assert 2 <= reg.count("Register") <= MAX_LAYERS // 2, reg
        assert shim.count("BCM-LI-SHIM") == shim_layers.count("BCM-LI") > 2, shim
    path = tmp_path / "nested.pcap"
    wrpcap(str(path), [IP(regs), IP(shims)], linktype=LINKTYPE_RAW)
    theirs = tcpdump_packets(path, "-v")
    for frame, want in zip((regs, shims), theirs, strict=True):
        ours = line_text(frame, LINKTYPE_RAW, None, False, False, 1)
        assert want.startswith(ours), (ours, want[: len(ours) + 200])
