"""Wireshark display filters: what tapwatch selects is what tshark -Y selects on the same file.

The oracle is tshark itself, run on the project's corpus (real traffic between two
namespaces, crafted tunnels and services) and on a capture made here with scapy
(explicit addresses, never sent) for TCP's stateful fields and the tricky semantics.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tapwatch import pcap
from tapwatch.dfilter import DisplayFilterError, compile_filter
from tapwatch.dfilter.language import compile_any, detect
from tapwatch.dfilter.syntax import parse

CORPUS = Path(__file__).parent / "corpus"
HAVE_TSHARK = shutil.which("tshark") is not None
needs_tshark = pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed")


def selected(path: Path, expr: str) -> list[int]:
    """Frame numbers tapwatch's filter selects, read in order as -r does."""
    flt = compile_filter(expr)
    assert flt is not None
    out = []
    with pcap.read_capture(str(path)) as cap:
        flt.set_interfaces([i.name for i in cap.interfaces], cap.format == "pcapng")
        for n, rec in enumerate(cap, 1):
            lt = cap.interfaces[rec.iface].linktype
            if flt.match_packet(
                rec.data, lt, n, rec.ts_ns, rec.iface, rec.orig_len, rec.direction or 0
            ):
                out.append(n)
    return out


# One tshark run for many filters: a Lua listener per filter, each given the filter as its
# tap filter, prints the numbers of the frames it selects. tshark's own filter engine is
# still the oracle; the run pays tshark's start-up (most of a run on these files) once.
_SELECT_LUA = """
local n = 0
for line in io.lines(os.getenv("TAPWATCH_FILTERS")) do
  n = n + 1
  local i = n
  local tap = Listener.new("frame", line)
  function tap.packet(pinfo) print(i .. " " .. pinfo.number) end
end
"""


def tshark_selected_many(path: Path, exprs: list[str], tmp: Path) -> list[list[int]]:
    """For each filter, the frame numbers tshark selects in ``path`` (one pass, as ``-Y``)."""
    script, listing = tmp / "select.lua", tmp / "filters.txt"
    script.write_text(_SELECT_LUA)
    listing.write_text("".join(e + "\n" for e in exprs))
    r = subprocess.run(
        ["tshark", "-q", "-r", str(path), "-X", f"lua_script:{script}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TAPWATCH_FILTERS": str(listing)},
    )
    assert r.returncode == 0, r.stderr
    out: list[list[int]] = [[] for _ in exprs]
    for line in r.stdout.splitlines():
        i, frame = line.split()
        out[int(i) - 1].append(int(frame))
    return [sorted(f) for f in out]


# filters over the corpus: every protocol tapwatch knows, the semantics of several values
CORPUS_FILTERS = [
    "ip",
    "tcp",
    "udp",
    "icmp",
    "icmpv6",
    "arp",
    "http",
    "tls",
    "vxlan",
    "gre",
    "wg",
    "openvpn",
    "esp",
    "geneve",
    "mpls",
    "ah",
    "l2tp",
    "eth",
    "ipv6",
    "dhcp",
    "ip.addr == 10.99.0.1",
    "ip.addr != 10.99.0.1",
    "ip.addr !== 10.99.0.1",
    "ip.addr ~= 10.99.0.1",
    "ip.addr === 10.99.0.1",
    "!(ip.addr == 10.99.0.1)",
    "all ip.addr == 10.99.0.1",
    "any ip.addr != 10.99.0.1",
    "ip.src == 10.99.0.1 && ip.dst == 10.99.0.2",
    "ip.addr == 10.99.0.0/24",
    "ip.addr eq 10.98.0.0/16 and not ip.src#1 == 10.98.0.1",
    "ip.src#2 == 10.98.0.1",
    "ip.dst#[2-3] == 10.99.0.2",
    "count(ip.addr) == 4",
    "tcp.flags.syn == 1",
    "tcp.flags.syn == True && tcp.flags.ack == 0",
    "tcp.flags.syn",
    "tcp.flags & 0x02",
    "tcp.flags & 0x12 == 0x12",
    "tcp.port in {80, 1000..2000}",
    "tcp.port not in {80}",
    "tcp.stream == 1",
    "tcp.stream in {0, 2}",
    "tcp.seq == 1",
    "tcp.ack == 1",
    "tcp.nxtseq > 100",
    "tcp.len > 0",
    "tcp.window_size > 65000",
    "tcp.window_size_scalefactor == 1024",
    "tcp.hdr_len == 32",
    "tcp.options.mss_val == 1460",
    "tcp.option_kind == 8",
    'tcp.payload contains "GET"',
    'tcp contains "HTTP"',
    "udp.port == 53",
    "udp.length > 100",
    "udp.dstport >= udp.srcport + 1",
    "udp.payload[0:1] == 08",
    'dns.qry.name == "www.example.com"',
    'dns.qry.name contains "example"',
    'dns.qry.name matches "EXAMPLE"',
    'dns.qry.name matches "(?-i)EXAMPLE"',
    "dns.flags.response == 1",
    "dns.flags.rcode == 3",
    "dns.a",
    "dns.aaaa",
    "dns.qry.type == 28",
    'http.request.method == "GET"',
    "http.request.method == GET",
    'http.request.method in {"GET", "POST"}',
    "http.response.code == 200",
    "http.response.code >= 400",
    'http.host contains "10.99"',
    'http.request.uri matches "^/missing"',
    "http.content_length > 300",
    "http.request",
    "http.response",
    "len(http.host) > 3",
    "frame.len > 100",
    "frame.len < 80",
    "frame.number <= 10",
    "frame.time_relative > 1.5",
    "frame.time_delta > 0.1",
    "frame.time_delta in {0 .. 0.001}",
    "frame.cap_len == frame.len",
    'string(frame.number) matches "[13579]$"',
    'frame contains "GET"',
    "frame[0:2] == 02:00",
    "eth.src == 02:00:00:00:00:01",
    "eth.addr == 02-00-00-00-00-02",
    "eth.src[0:3] == 02:00:00",
    "eth.dst[0] & 1",
    "eth.type == 0x86dd",
    "eth.ig == 1",
    "ipv6.addr == fd00::1",
    "ipv6.nxt == 58",
    "ipv6.hopopts",
    "icmpv6.type == 135",
    "icmpv6.nd.ns.target_address",
    "icmpv6.echo.sequence_number > 1",
    "icmp.type == 8",
    "icmp.type == 3",
    "icmp.ident == 0x1234 or icmp.seq == 1",
    "ip.ttl == 64",
    "ip.ttl == 0100",
    "ip.flags.df == 1",
    "ip.flags.mf == 1",
    "ip.flags == 0x02",
    "ip.frag_offset > 0",
    "ip.hdr_len == 20",
    "ip.proto == 17 and not dns",
    "vxlan.vni == 42",
    "gre.proto == 0x0800",
    "wg.type == 1",
    "openvpn.opcode == 7",
    "esp.spi == 0x1001",
    "geneve.vni == 7",
    "tcp.srcport == 80 || tcp.dstport == 80",
    "not ip",
    "ip.dsfield.dscp == 0",
    "ipv6.hlim == 255",
    "arp.opcode == 1",
    "arp.src.proto_ipv4 == 10.99.0.1",
    "tls.handshake.type == 1",
    "tls.record.content_type == 22",
    "dhcp.option.dhcp == 1",
    "frame.len > 10 and frame.len < 0xa0 or icmp",
    "max(tcp.srcport, tcp.dstport) == 80",
]


@needs_tshark
@pytest.mark.parametrize("name", ["real.pcap", "crafted.pcap"])
def test_corpus_selections_match_tshark(name: str, tmp_path: Path) -> None:
    path = CORPUS / name
    oracle = tshark_selected_many(path, CORPUS_FILTERS, tmp_path)
    wrong = []
    for expr, theirs in zip(CORPUS_FILTERS, oracle, strict=True):
        ours = selected(path, expr)
        if ours != theirs:
            wrong.append((expr, sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))))
    assert not wrong, wrong


@needs_tshark
def test_openvpn_over_udp_and_tcp_selected_as_tshark_does(tmp_path: Path) -> None:
    """Real OpenVPN handshakes and data over UDP and over TCP (each record behind its
    length): the ``openvpn.*`` fields select what tshark's do, TCP included."""
    path = CORPUS / "vpn.pcap"
    exprs = [
        "openvpn",
        "tcp && openvpn",
        "openvpn.opcode == 9",
        "openvpn.opcode == 7",
        "openvpn.sessionid",
        "openvpn.peerid",
        "openvpn.keyid == 0",
    ]
    oracle = tshark_selected_many(path, exprs, tmp_path)
    assert oracle[1], "vpn.pcap has OpenVPN over TCP"
    for expr, theirs in zip(exprs, oracle, strict=True):
        assert selected(path, expr) == theirs, expr


@needs_tshark
def test_frame_p2p_dir_from_the_direction_selected_as_tshark_does(tmp_path: Path) -> None:
    """``frame.p2p_dir`` is the record's direction as tshark reads epb_flags: inbound 1,
    outbound 0, none when unknown; a Linux cooked capture's packet type gives none."""
    import struct

    from tapwatch.kinds import Direction
    from tapwatch.linktypes import LINKTYPE_LINUX_SLL, LINKTYPE_RAW

    ip = bytes.fromhex("4500001c000100004001f79c0a0000010a0000020800f7ff00000000")
    dirs = [Direction.INBOUND, Direction.OUTBOUND, Direction.UNKNOWN, None, Direction.INBOUND]
    path = tmp_path / "dir.pcapng"
    with pcap.PcapngWriter(path, LINKTYPE_RAW, ifname="tun0") as w:
        for i, d in enumerate(dirs, 1):
            w.write(i * 10**9, ip, d)
        sll = w.add_interface(LINKTYPE_LINUX_SLL, "any")
        for i, pkttype in enumerate((0, 4), 10):  # to us, outgoing: no direction recorded
            head = struct.pack(">HHH8sH", pkttype, 0xFFFE, 0, b"", 0x0800)
            w.write(i * 10**9, head + ip, None, iface=sll)
    exprs = ["frame.p2p_dir", "frame.p2p_dir == 1", "frame.p2p_dir == 0", "!frame.p2p_dir"]
    oracle = tshark_selected_many(path, exprs, tmp_path)
    assert oracle[1] == [1, 5] and oracle[2] == [2], oracle
    for expr, theirs in zip(exprs, oracle, strict=True):
        assert selected(path, expr) == theirs, expr


@needs_tshark
def test_openvpn_mpid_selected_as_tshark_does(tmp_path: Path) -> None:
    """``openvpn.mpid``, the message packet-id of control packets: on the real handshakes
    over UDP and TCP, and on crafted ones where tshark guesses a tls-auth HMAC, meets a
    tls-crypt opcode, or runs out of bytes in the header."""
    from scapy.layers.inet import IP, UDP
    from scapy.utils import wrpcap

    sid = bytes(range(1, 9))
    hmac = bytes(range(0x40, 0x54))  # 20 bytes, no zero: tshark takes it for tls-auth
    bodies = [
        bytes([4 << 3]) + sid + hmac + b"\0\0\0\x09\x5f\0\0\x01" + b"\0" + b"\0\0\0\x07",
        bytes([4 << 3]) + sid + hmac + b"\0" + b"\0\0\0\x08",  # no room for replay id
        bytes([4 << 3]) + sid + b"\x02" + b"\0\0\0\x01\0\0\0\x02" + sid + b"\0\0\0\x03",
        bytes([4 << 3]) + sid + b"\x02" + b"\0\0\0\x01\0\0",  # ack array cut short
        bytes([4 << 3]) + sid + b"\0" + b"\0\0\x01",  # packet-id cut short
        bytes([4 << 3]) + sid,
        bytes([4 << 3]) + sid[:4],
        bytes([4 << 3]) + sid + hmac[:10],  # HMAC cut short
        bytes([10 << 3]) + sid + b"\0" * 48,  # tls-crypt: encrypted header
        bytes([11 << 3]) + sid + b"\0" * 48,
        bytes([5 << 3]) + sid + b"\x01\0\0\0\x04" + sid,  # ack: no packet-id
        bytes([7 << 3]) + sid + b"\0" + b"\0\0\0\x01",
    ]
    crafted = tmp_path / "ovpn.pcap"
    wrpcap(
        str(crafted),
        [IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1194, dport=1194) / b for b in bodies],
    )
    exprs = ["openvpn.mpid", "openvpn.mpid == 1", "openvpn.mpid == 0", "openvpn.mpid > 2"]
    exprs += ["tcp && openvpn.mpid == 3", "openvpn.mpid == 7", "openvpn.mpid == 8"]
    for path in (CORPUS / "vpn.pcap", crafted):
        oracle = tshark_selected_many(path, exprs, tmp_path)
        assert oracle[0], path
        for expr, theirs in zip(exprs, oracle, strict=True):
            assert selected(path, expr) == theirs, (path.name, expr)


def _tcp_capture(path: Path) -> None:
    """Connections that start mid-stream, reuse ports, scale windows or not; explicit MACs."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    a, b = "10.0.0.1", "10.0.0.2"
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    p = [
        e
        / IP(src=a, dst=b)
        / TCP(sport=1000, dport=2000, flags="PA", seq=5000, ack=9000)
        / Raw(b"x" * 10),
        e / IP(src=b, dst=a) / TCP(sport=2000, dport=1000, flags="A", seq=9000, ack=5010),
        e / IP(src=a, dst=b) / TCP(sport=1000, dport=2000, flags="S", seq=7, ack=0),
        e / IP(src=a, dst=b) / TCP(sport=1000, dport=2000, flags="S", seq=100, ack=55),
        e
        / IP(src=b, dst=a)
        / TCP(sport=2000, dport=1000, flags="SA", seq=300, ack=101, options=[("WScale", 3)]),
        e / IP(src=a, dst=b) / TCP(sport=1000, dport=2000, flags="A", seq=101, ack=301, window=100),
        e / IP(src=a, dst=b) / TCP(sport=1000, dport=2000, flags="F", seq=101, ack=999),
        e
        / IP(src=a, dst=b)
        / TCP(sport=3000, dport=4000, flags="S", seq=1, options=[("WScale", 2)]),
        e
        / IP(src=b, dst=a)
        / TCP(sport=4000, dport=3000, flags="SA", seq=1, ack=2, options=[("WScale", 5)]),
        e / IP(src=a, dst=b) / TCP(sport=3000, dport=4000, flags="A", seq=2, ack=2, window=10),
        e / IP(src=b, dst=a) / TCP(sport=4000, dport=3000, flags="A", seq=2, ack=2, window=10),
        e / IP(src=a, dst=b) / TCP(sport=5000, dport=6000, flags="R", seq=77, ack=0),
        e / IP(src=a, dst=b) / TCP(sport=5000, dport=6000, flags="S", seq=77, ack=0),
        e / IP(src=a, dst=b) / TCP(sport=5000, dport=6000, flags="S", seq=78, ack=0),
        e / IP(src=b, dst=a) / TCP(sport=6000, dport=5000, flags="SA", seq=1000, ack=79),
        e / IP(src=b, dst=a) / TCP(sport=6000, dport=5000, flags="SA", seq=2000, ack=79),
        # HTTP over several segments: the request completes in the second one
        e
        / IP(src=a, dst=b)
        / TCP(sport=7000, dport=80, flags="PA", seq=1, ack=1)
        / Raw(b"GET /slow HTTP/1.1\r\nHo"),
        e
        / IP(src=a, dst=b)
        / TCP(sport=7000, dport=80, flags="PA", seq=23, ack=1)
        / Raw(b"st: example.org\r\n\r\n"),
        e
        / IP(src=b, dst=a)
        / TCP(sport=80, dport=7000, flags="PA", seq=1, ack=42)
        / Raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"),
    ]
    wrpcap(str(path), p)


TCP_FILTERS = [
    "tcp.stream == 0",
    "tcp.stream == 2",
    "tcp.stream == 5",
    "tcp.stream == 6",
    "tcp.seq == 0",
    "tcp.seq == 1",
    "tcp.ack == 0",
    "tcp.ack == 1",
    "tcp.ack == 999",
    "tcp.ack == 55",
    "tcp.nxtseq == 2",
    "tcp.nxtseq == 11",
    "tcp.window_size == 40",
    "tcp.window_size == 320",
    "tcp.window_size == 100",
    "tcp.window_size_scalefactor == -1",
    "tcp.window_size_scalefactor == -2",
    "tcp.window_size_scalefactor == 4",
    "tcp.window_size_scalefactor",
    "tcp.len == 10",
    "http",
    'http.request.method == "GET"',
    'http.host == "example.org"',
    'http.request.full_uri contains "example.org/slow"',
    "http.response.code == 404",
    'http.file_data contains "nope"',
]


@needs_tshark
def test_tcp_state_matches_tshark(tmp_path: Path) -> None:
    path = tmp_path / "tcp.pcap"
    _tcp_capture(path)
    oracle = tshark_selected_many(path, TCP_FILTERS, tmp_path)
    wrong = [
        (e, selected(path, e), theirs)
        for e, theirs in zip(TCP_FILTERS, oracle, strict=True)
        if selected(path, e) != theirs
    ]
    assert not wrong, wrong


def _cooked_captures(tmp: Path) -> list[Path]:
    """The same packets in Linux cooked v1 (``-i any`` of old libpcap) and v2 (tcpdump 4.99's
    ``-i any``), whose headers put the packet type, address type and protocol in other places."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2
    from scapy.utils import wrpcap

    inner = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)
    mac = b"\x02\x00\x00\x00\x00\x07\x00\x00"
    v1 = [
        CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=mac, proto=0x0800) / inner,
        CookedLinux(pkttype=4, lladdrtype=772, lladdrlen=0, src=bytes(8), proto=0x0800) / inner,
    ]
    v2 = [
        CookedLinuxV2(proto=0x0800, ifindex=3, lladdrtype=1, pkttype=0, lladdrlen=6, src=mac)
        / inner,
        CookedLinuxV2(proto=0x0800, ifindex=7, lladdrtype=772, pkttype=4, lladdrlen=0) / inner,
        CookedLinuxV2(proto=0x0800, ifindex=7, lladdrtype=65534, pkttype=4, lladdrlen=0) / inner,
    ]
    paths = [tmp / "sll1.pcap", tmp / "sll2.pcap"]
    wrpcap(str(paths[0]), v1, linktype=113)
    wrpcap(str(paths[1]), v2, linktype=276)
    return paths


SLL_FILTERS = [
    "sll",
    "sll.pkttype == 0",
    "sll.pkttype == 4",
    "sll.hatype == 1",
    "sll.hatype == 772",
    "sll.hatype == 65534",
    "sll.halen == 6",
    "sll.halen == 0",
    "sll.etype == 0x0800",
    "sll.src.eth == 02:00:00:00:00:07",
    "sll.ifindex == 3",
    "sll.ifindex == 7",
    "sll.ifindex",
]


@needs_tshark
def test_linux_cooked_v1_and_v2_fields_match_tshark(tmp_path: Path) -> None:
    """``sll.*`` reads each version's own layout (v2: protocol first, then the interface index,
    address type, a one-byte packet type and address length), as tshark does."""
    for path in _cooked_captures(tmp_path):
        oracle = tshark_selected_many(path, SLL_FILTERS, tmp_path)
        wrong = [
            (e, selected(path, e), theirs)
            for e, theirs in zip(SLL_FILTERS, oracle, strict=True)
            if selected(path, e) != theirs
        ]
        assert not wrong, (path.name, wrong)


def test_several_values_follow_wireshark_4() -> None:
    """``!=`` is "no value equals" (as !(a == b) where present); ``!==`` is "some value differs"."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import Ether

    from tapwatch.linktypes import LINKTYPE_ETHERNET

    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    # an ICMP error quotes the datagram that caused it: four ip.addr values
    error = bytes(
        e
        / IP(src="10.0.0.2", dst="10.0.0.1")
        / ICMP(type=3, code=3)
        / IP(src="10.0.0.1", dst="10.0.0.9")
        / UDP(sport=1, dport=2)
    )

    def test(expr: str) -> bool:
        flt = compile_filter(expr)
        assert flt is not None
        return flt.match(error, LINKTYPE_ETHERNET)

    assert test("ip.addr == 10.0.0.9")
    assert not test("ip.addr != 10.0.0.9")
    assert test("ip.addr !== 10.0.0.9")
    assert test("ip.addr ~= 10.0.0.9")
    assert not test("ip.addr === 10.0.0.1")
    assert test("ip.src#2 == 10.0.0.1") and not test("ip.src#1 == 10.0.0.1")
    assert test("count(ip.addr) == 4")
    assert not test("tcp.port != 80")  # missing field: every comparison is false
    assert test("!(tcp.port == 80)")


@pytest.mark.parametrize(
    ("expr", "column", "words"),
    [
        ("ip.src == foo", 11, "not a valid IPv4 address"),
        ("ip.src = 1.2.3.4", 8, "unexpected"),
        ("tcp.port in {80 443}", 17, "separated by commas"),
        ('http.host == "abc', 14, "final quote"),
        ("ip.ttl == 300", 11, "too big"),
        ("nosuch.field == 1", 1, "neither a field nor a protocol"),
        ("ip.src contains 1", 1, "contains"),
        ("(tcp", 5, "end of filter"),
        ('dns.qry.name matches "(a)\\\\1"', 22, "back-references"),
        ("frame.len > 1 &&", 17, "end of filter"),
    ],
)
def test_errors_name_the_token_and_its_column(expr: str, column: int, words: str) -> None:
    with pytest.raises(DisplayFilterError) as err:
        compile_filter(expr)
    assert err.value.start + 1 == column, str(err.value)
    assert words in str(err.value)
    assert str(err.value).startswith(f"column {column}:")


def test_matches_cannot_be_made_to_hang() -> None:
    """A pattern that backtracks catastrophically in PCRE runs in linear time here."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, UDP

    from tapwatch.linktypes import LINKTYPE_RAW

    name = "a" * 60 + "!"
    pkt = bytes(
        IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5, dport=53) / DNS(qd=DNSQR(qname=name))
    )
    flt = compile_filter('dns.qry.name matches "^(a+)+$"')
    assert flt is not None
    assert not flt.match(pkt, LINKTYPE_RAW)  # returns at once (Python's re would not)


def test_the_language_is_detected_by_a_stated_rule() -> None:
    assert detect("tcp port 80") == "bpf"
    assert detect("icmp or arp") == "bpf"
    assert detect("ip[8] == 64") == "bpf"
    assert detect("tcp.port == 80") == "wireshark"
    assert detect('http.request.method == "GET"') == "wireshark"
    assert detect("udp contains 81:60:03") == "wireshark"
    assert detect("tcp.port in {80, 443}") == "wireshark"
    assert detect("host 10.0.0.1") == "bpf"
    # BPF cannot read it, Wireshark's language can: Wireshark's
    got = compile_any("http", [1])
    assert got is not None and got.language == "wireshark"
    got = compile_any("tcp port 80", [1])
    assert got is not None and got.language == "bpf"
    got = compile_any("tcp", [1], choice="wireshark")
    assert got is not None and got.language == "wireshark"


def test_every_field_is_named_and_typed_as_wiresharks() -> None:
    """Names and types as ``tshark -G fields`` lists them (protocols as ``tshark -G protocols``)."""
    if not HAVE_TSHARK:
        pytest.skip("tshark is not installed")
    from tapwatch.dfilter import registry

    out = subprocess.run(
        ["tshark", "-G", "fields"], capture_output=True, text=True, timeout=120
    ).stdout
    known: dict[str, str] = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if cols[0] == "F":
            known[cols[2]] = cols[3]
        elif cols[0] == "P":
            known[cols[2]] = "FT_PROTOCOL"
    wrong = [
        (f.name, f.ftype, known.get(f.name))
        for f in registry.fields()
        if known.get(f.name) != f.ftype
    ]
    assert not wrong, wrong


def test_parse_keeps_the_structure() -> None:
    tree = parse("a == 1 || b == 2 && !c")
    assert type(tree).__name__ == "Logic" and tree.op == "||"  # type: ignore[union-attr]


@needs_tshark
def test_dash_y_prints_what_tshark_selects(tmp_path: Path) -> None:
    """``tapwatch -r f -Y ...`` prints one line per packet tshark's -Y selects; a bad filter is
    one line on stderr naming the column, and exit status 1."""
    import sys

    path = CORPUS / "real.pcap"
    expr = "tcp.flags.syn == 1 && ip.src == 10.99.0.1"
    r = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "-Y", expr, "-tt"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    stamps = [line.split()[0] for line in r.stdout.splitlines()]
    theirs = subprocess.run(
        ["tshark", "-r", str(path), "-Y", expr, "-T", "fields", "-e", "frame.time_epoch"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert [f"{float(s):.6f}" for s in stamps] == [f"{float(s):.6f}" for s in theirs]
    assert len(stamps) == 4
    bad = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "-Y", "ip.src == foo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "column 11" in lines[0] and "Traceback" not in bad.stderr


def test_a_huge_bad_filter_is_said_in_one_short_line_around_the_fault() -> None:
    from tapwatch.dfilter.language import EXCERPT, OptionError, checked_option

    long = "ip.src == 1.2.3.4 and " * 300  # 6,600 characters
    with pytest.raises(OptionError) as e:
        checked_option("-Y", long + "ip.dst == foo")
    said = str(e.value)
    assert said.startswith(f"-Y: column {len(long) + 11}: ") and len(said) < 2 * EXCERPT + 80
    assert said.endswith("1.2.3.4 and ip.dst == foo") and ": …" in said
    with pytest.raises(OptionError) as e:
        checked_option("-Y", "ip.src == foo")  # short: repeated whole
    assert str(e.value).endswith(": ip.src == foo")
    with pytest.raises(OptionError) as e:
        checked_option("-Y", long * 2)  # past the length limit
    assert len(str(e.value)) < 2 * EXCERPT + 80


def test_a_dissection_key_is_bound_once_whatever_the_import_order() -> None:
    """Which walker dissects a port is never decided by which module was imported last."""
    from tapwatch.dfilter import dissect
    from tapwatch.dfilter.packet import Packet

    table: dict[int, dissect.Walker] = {}

    def first(pkt: Packet, d: bytes, off: int, end: int) -> None:
        return None

    def second(pkt: Packet, d: bytes, off: int, end: int) -> None:
        return None

    dissect.bind(table, (53, 5353), first)
    dissect.bind(table, (53,), first)  # the same walker again: fine
    with pytest.raises(ValueError, match="already bound"):
        dissect.bind(table, (5353,), second)
    assert table == {53: first, 5353: first}


def _serial_link_captures(tmp: Path) -> list[Path]:
    """The same IP packets on the serial links tcpdump's test captures hold: PPP, Cisco
    HDLC and Frame Relay (RFC 2427's NLPID framing), each a link type of its own."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import wrpcap

    inner = [
        bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5353, dport=53)),
        bytes(IP(src="10.0.0.2", dst="10.0.0.1") / TCP(sport=80, dport=40000, flags="SA")),
        bytes(IP(src="10.0.0.1", dst="10.0.0.3") / ICMP()),
        bytes(IPv6(src="fe80::1", dst="fe80::2") / UDP(sport=521, dport=521)),
    ]

    def ppp(p: bytes) -> bytes:
        return b"\xff\x03" + (b"\x00\x21" if p[0] >> 4 == 4 else b"\x00\x57") + p

    def chdlc(p: bytes) -> bytes:
        return b"\x0f\x00" + (b"\x08\x00" if p[0] >> 4 == 4 else b"\x86\xdd") + p

    def frelay(p: bytes) -> bytes:
        return b"\x18\x41\x03" + (b"\xcc" if p[0] >> 4 == 4 else b"\x8e") + p

    paths = []
    for name, frame, linktype in (("ppp", ppp, 9), ("chdlc", chdlc, 104), ("fr", frelay, 107)):
        path = tmp / f"{name}.pcap"
        wrpcap(str(path), [frame(p) for p in inner], linktype=linktype)
        paths.append(path)
    return paths


SERIAL_FILTERS = [
    "ip",
    "ipv6",
    "udp",
    "tcp",
    "icmp",
    "ip.src == 10.0.0.1",
    "ip.addr == 10.0.0.3",
    "ipv6.dst == fe80::2",
    "udp.dstport == 53",
    "tcp.flags.syn == 1",
    "frame.len > 40",
]


@needs_tshark
def test_ip_on_serial_links_selected_as_tshark_does(tmp_path: Path) -> None:
    """A link type the filter has no walker of its own for (PPP, Cisco HDLC, Frame Relay)
    has its IP packet where the decoder finds it: ``ip``, ``udp`` and the rest select what
    tshark selects; they had selected nothing there (every line showed the packet)."""
    for path in _serial_link_captures(tmp_path):
        oracle = tshark_selected_many(path, SERIAL_FILTERS, tmp_path)
        assert oracle[0] == [1, 2, 3], (path.name, oracle)  # tshark reads the framing
        wrong = [
            (e, selected(path, e), theirs)
            for e, theirs in zip(SERIAL_FILTERS, oracle, strict=True)
            if selected(path, e) != theirs
        ]
        assert not wrong, (path.name, wrong)


def _cut_http_capture(path: Path) -> None:
    """An HTTP exchange captured with a snapshot length of 200 bytes: the request whole,
    the response's first segment cut (its headers there, most of its body not), then the
    rest of the body, as tcpdump -s 200 records it."""
    import struct

    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    c, s = "10.0.0.1", "10.0.0.2"
    body = b"x" * 1800
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1800\r\nContent-Type: text/plain\r\n\r\n"
    get = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    first = head + body[: 1400 - len(head)]
    rest = body[1400 - len(head) :]

    def seg(
        src: str,
        dst: str,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: str,
        load: bytes = b"",
    ) -> bytes:
        return bytes(
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
            / IP(src=src, dst=dst)
            / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags)
            / load
        )

    frames = [
        seg(c, s, 40000, 80, 100, 0, "S"),
        seg(s, c, 80, 40000, 500, 101, "SA"),
        seg(c, s, 40000, 80, 101, 501, "A"),
        seg(c, s, 40000, 80, 101, 501, "PA", get),
        seg(s, c, 80, 40000, 501, 101 + len(get), "A", first),
        seg(s, c, 80, 40000, 501 + len(first), 101 + len(get), "PA", rest),
    ]
    snap = 200
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1)]
    for n, f in enumerate(frames):
        cap = f[:snap]
        out.append(struct.pack("<IIII", 1000, n, len(cap), len(f)) + cap)
    path.write_bytes(b"".join(out))


CUT_FILTERS = ["http", "http.response", "http.request", "http.response.code == 200", "tcp"]


@needs_tshark
def test_http_in_a_segment_the_capture_cut_selected_as_tshark_does(tmp_path: Path) -> None:
    """A segment cut by the snapshot length is HTTP as far as it goes (its headers), and the
    next segment continues after its real end; the response had waited for bytes that never
    come, so ``http`` missed it (tshark's test capture communityid.pcap, frame 95)."""
    path = tmp_path / "cut.pcap"
    _cut_http_capture(path)
    oracle = tshark_selected_many(path, CUT_FILTERS, tmp_path)
    assert oracle[1] == [5], oracle  # tshark: the cut segment is the response
    wrong = [
        (e, selected(path, e), theirs)
        for e, theirs in zip(CUT_FILTERS, oracle, strict=True)
        if selected(path, e) != theirs
    ]
    assert not wrong, wrong


def test_matches_takes_a_long_pattern_by_what_it_costs() -> None:
    """``(a*)*`` 800 times (4 KB, under the length limit): RE2 filled its groups without its
    DFA and took 6 s for each 1500-byte packet of "a"s; a test needs no groups, and without
    them RE2 makes it ``a*``. A pattern that stays large when compiled (``a?`` 2000 times)
    is refused with a message, before any packet waits on it."""
    from tapwatch.linktypes import LINKTYPE_RAW

    pkt = bytes.fromhex("450005dc00010000401100000a0000010a000002") + b"a" * 1480
    flt = compile_filter('frame matches "' + "(a*)*" * 800 + '$"')
    assert flt is not None and flt.match(pkt, LINKTYPE_RAW)
    other = compile_filter('frame matches "' + "(b*)*" * 800 + 'x$"')
    assert other is not None and not other.match(pkt, LINKTYPE_RAW)
    with pytest.raises(DisplayFilterError) as err:
        compile_filter('frame matches "' + "a?" * 2000 + '"')
    assert "the pattern is too complex" in str(err.value)
