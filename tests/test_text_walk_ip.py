"""The IP, transport and ICMP texts take every header's boundary from the frame's one walk.

IPv4's header length, IPv6's extension headers and AH, TCP's data offset, UDP's length and
the header an ICMP error quotes were read twice: once by the walk (the counters, the tree,
the display filter) and again by the text.  Now the walk functions are their only reader:
each test moves one boundary in the walk the text is given and shows that the text decodes
from the moved place -- and that the real entry point still prints what tcpdump prints for
such frames.
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6, IPv6ExtHdrHopByHop, PadN
from scapy.layers.ipsec import AH
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from tapwatch import decode, pcap
from tapwatch.decode import core
from tapwatch.decode.ip import ipv4_walk
from tests.test_tcpdump_parity import tcpdump_packets

ETH = 1  # LINKTYPE_ETHERNET
MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


def _frame(pkt: object) -> bytes:
    return bytes(Ether(**MACS) / pkt)  # type: ignore[operator]


def _text(frame: bytes, w: core.Walk, verbose: int = 0) -> str:
    """The link handler's text of ``frame`` given the walk ``w`` (as the entry points give it)."""
    a = core.Acc(verbose=verbose)
    a.w = w
    return core.LINKTYPES[ETH].text(frame, a)[1]


def _as_tcpdump(tmp_path: Path, frame: bytes) -> None:
    """The line printer (the real entry point, its own walk) prints ``frame`` as tcpdump
    does, plain and at -v."""
    path = tmp_path / "walked.pcap"
    wrpcap(str(path), [Ether(frame)])
    for verbose in (0, 1):
        theirs = tcpdump_packets(path, *(["-v"] if verbose else []))
        with pcap.read_capture(str(path)) as reader:
            fmt = decode.LineFormatter(reader.linktype, strict=True, verbose=verbose)
            ours = [fmt.line(r.ts_ns, r.data, r.orig_len)[16:] for r in reader]
        assert len(ours) == 1 and ours == theirs


def _layer(w: core.Walk, name: str, nth: int = 0) -> int:
    return [i for i, n in enumerate(w.names) if n == name][nth]


def _move_part(w: core.Walk, start: int, by: int) -> None:
    """The ``inner`` header that starts at ``start`` ends ``by`` bytes later."""
    for k in range(0, len(w.inner), 3):
        if w.inner[k] == start:
            w.inner[k + 1] += by
            return
    raise AssertionError(f"no inner header at {start}")


V4_OPTS = _frame(
    IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption_NOP()] * 4)
    / UDP(sport=1111, dport=2222)
    / (b"x" * 8)
)
V6_HBH = _frame(
    IPv6(src="2001:db8::1", dst="2001:db8::2")
    / IPv6ExtHdrHopByHop(nh=17, options=[PadN(optdata=b"\0" * 12)])
    / UDP(sport=1111, dport=2222)
    / (b"x" * 8)
)
V6_AH = _frame(
    IPv6(src="2001:db8::1", dst="2001:db8::2")
    / AH(nh=17, payloadlen=4, spi=0x100, seq=7, icv=b"\xaa" * 12)
    / UDP(sport=1111, dport=2222)
    / (b"x" * 8)
)
TCP_TS = _frame(
    IP(src="10.0.0.1", dst="10.0.0.2")
    / TCP(
        sport=1111,
        dport=2222,
        flags="S",
        seq=5,
        options=[("NOP", None), ("NOP", None), ("Timestamp", (1, 2))],
    )
)
UDP_DNS = _frame(
    IP(src="10.0.0.1", dst="10.0.0.2")
    / UDP(sport=3333, dport=53)
    / DNS(id=7, rd=1, qd=DNSQR(qname="example.com"))
)


def _icmp_port(quoted_udp: UDP) -> bytes:
    return _frame(
        IP(src="10.0.0.2", dst="10.0.0.1")
        / ICMP(type=3, code=3)
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / quoted_udp
    )


def _icmp6_port(quoted_udp: UDP) -> bytes:
    return _frame(
        IPv6(src="2001:db8::2", dst="2001:db8::1")
        / ICMPv6DestUnreach(code=4)
        / IPv6(src="2001:db8::1", dst="2001:db8::2")
        / IPv6ExtHdrHopByHop(nh=17, len=0, options=[])
        / quoted_udp
    )


#: the quoted UDP header's length and checksum fields are what a moved boundary reads
ODD_UDP = UDP(sport=3333, dport=53, len=0x1234, chksum=0x4321)
ICMP_PORT = _icmp_port(ODD_UDP)
#: a quoted datagram as a host sends it back: what tcpdump's text is compared on
QUOTED = UDP(sport=3333, dport=53) / b"ab"
ICMP6_PORT = _icmp6_port(ODD_UDP)


def test_ipv4_text_takes_its_header_length_from_the_walk(tmp_path: Path) -> None:
    w = decode.walk(V4_OPTS, ETH)
    assert "1111 > 10.0.0.2.2222" in _text(V4_OPTS, w)
    w.heads[_layer(w, "IPv4")] -= 4  # the walk says: no options, UDP right after 20 bytes
    moved = _text(V4_OPTS, w)
    assert "10.0.0.1.257 > 10.0.0.2.257" in moved, moved  # the ports read from the NOPs
    _as_tcpdump(tmp_path, V4_OPTS)


def test_ipv6_text_follows_the_walks_extension_headers(tmp_path: Path) -> None:
    w = decode.walk(V6_HBH, ETH)
    assert "HBH 1111 > 2222" in _text(V6_HBH, w)
    _move_part(w, 14 + 40, -8)  # the hop-by-hop header ends after its first 8 bytes
    moved = _text(V6_HBH, w)
    assert "HBH 0 > 0" in moved, moved  # UDP read from the header's padding
    _as_tcpdump(tmp_path, V6_HBH)


def test_ah_text_and_what_follows_it_end_where_the_walk_read_its_length(tmp_path: Path) -> None:
    w = decode.walk(V6_AH, ETH)
    before = _text(V6_AH, w)
    assert "icv=0x" + "aa" * 12 + "): 1111 > 2222" in before, before
    _move_part(w, 14 + 40, 4)  # four bytes more of AH: the ICV takes UDP's ports
    moved = _text(V6_AH, w)
    assert "icv=0x" + "aa" * 12 + "045708ae): " in moved, moved
    _as_tcpdump(tmp_path, V6_AH)


def test_tcp_text_takes_its_data_offset_from_the_walk(tmp_path: Path) -> None:
    w = decode.walk(TCP_TS, ETH)
    assert "options [nop,nop,TS val 1 ecr 2], length 0" in _text(TCP_TS, w)
    w.heads[_layer(w, "TCP")] -= 12  # the walk says: no options
    moved = _text(TCP_TS, w)
    assert "options" not in moved and moved.endswith("win 8192, length 12"), moved
    _as_tcpdump(tmp_path, TCP_TS)


def test_udp_text_ends_the_datagram_where_the_walk_read_its_length(tmp_path: Path) -> None:
    w = decode.walk(UDP_DNS, ETH)
    assert "A? example.com." in _text(UDP_DNS, w)
    udp = _layer(w, "UDP")
    k = w.ends.index(udp, 0)
    assert k % 2 == 0
    w.ends[k + 1] = w.starts[udp] + 8 + 12  # the datagram: the DNS header alone
    moved = _text(UDP_DNS, w)
    assert "example.com" not in moved and "[|domain]" in moved, moved
    _as_tcpdump(tmp_path, UDP_DNS)


def test_icmp_error_text_finds_the_quoted_port_after_the_walks_ip_header(tmp_path: Path) -> None:
    w = decode.walk(ICMP_PORT, ETH)
    assert "udp port 53 unreachable" in _text(ICMP_PORT, w)
    _move_part(w, 14 + 20 + 8, 4)  # the quoted IPv4 header four bytes longer
    moved = _text(ICMP_PORT, w)
    assert f"udp port {0x4321} unreachable" in moved, moved  # the quoted UDP checksum field
    _as_tcpdump(tmp_path, _icmp_port(QUOTED))


def test_icmp6_error_text_follows_the_walks_quoted_extension_headers(tmp_path: Path) -> None:
    w = decode.walk(ICMP6_PORT, ETH)
    assert "udp port 53, length" in _text(ICMP6_PORT, w)
    _move_part(w, 14 + 40 + 8 + 40, 4)  # the quoted hop-by-hop header four bytes longer
    moved = _text(ICMP6_PORT, w)
    assert f"udp port {0x4321}, length" in moved, moved  # the quoted UDP checksum field
    _as_tcpdump(tmp_path, _icmp6_port(QUOTED))


def test_verbose_quoted_packet_is_printed_from_the_walk_it_was_given(tmp_path: Path) -> None:
    """At -v the packet an ICMP error quotes is printed in full: a walk of it already in the
    frame's walk is read, not its header's length field."""
    q = 14 + 20 + 8
    w = decode.walk(ICMP_PORT, ETH)
    sub = core.Walk(None, True, True)
    ipv4_walk(ICMP_PORT, q, sub)
    sub.heads[0] += 4  # the quoted header said to end four bytes later
    w.adopt(sub)
    moved = _text(ICMP_PORT, w, verbose=1)
    assert "10.0.0.1.4660 > 10.0.0.2.17185" in moved, moved  # UDP read from its length on
    _as_tcpdump(tmp_path, _icmp_port(QUOTED))


def _move_end(w: core.Walk, layer: int, by: int) -> None:
    """The layer ``layer`` ends (by its own length field) ``by`` bytes later."""
    for k in range(0, len(w.ends), 2):
        if w.ends[k] == layer:
            w.ends[k + 1] += by
            return
    raise AssertionError(f"no end for layer {layer}")


def test_ip_texts_end_the_datagram_where_the_walk_read_its_length(tmp_path: Path) -> None:
    """IPv4's total length and IPv6's payload length: what the UDP inside is measured with."""
    for frame, name, claimed in ((UDP_DNS, "IPv4", 37), (V6_HBH, "IPv6", 16)):
        w = decode.walk(frame, ETH)
        assert "malformed" not in _text(frame, w)
        _move_end(w, _layer(w, name), -8)  # the datagram said to end eight bytes sooner
        moved = _text(frame, w)
        assert f"[malformed: bad length {claimed} > {claimed - 8}]" in moved, moved
        _as_tcpdump(tmp_path, frame)
