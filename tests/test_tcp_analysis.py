"""Transactions (request/response pairs) and TCP analysis, checked against tshark.

The oracle is tshark 4.0 on the same file: a crafted capture that has each case once
(retransmitted DNS queries and answers, an unanswered ping, keep-alives, a zero window
and its probe, pipelined HTTP), the corpus, and real traffic between two private
namespaces that drop 3-5% of what they receive (iptables' random match: this kernel has
no netem), so the kernel's own TCP retransmits, sends duplicate ACKs and fills windows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from netns import link_pair, needs_netns, netns
from test_dfilter import CORPUS, needs_tshark, selected, tshark_selected_many
from waiting import device_counter, records_on_disk, wait_for

ANALYSIS = [
    "tcp.analysis.flags",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.duplicate_ack_num == 2",
    "tcp.analysis.duplicate_ack_num == 3",
    "tcp.analysis.zero_window",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.window_full",
    "tcp.analysis.window_update",
    "tcp.analysis.keep_alive",
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.reused_ports",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.ack_rtt > 0.01",
    "tcp.analysis.acks_frame",
]
TRANSACTIONS = [
    "http.time",
    "http.time > 0.2",
    "http.request_in",
    "dns.time",
    "dns.time > 1",
    "dns.response_to",
    "dns.retransmission",
    "dns.retransmit_request_in",
    "dns.retransmit_response_in",
    "icmp.resptime",
    "icmp.resptime > 100",
    "icmp.resp_to",
    "icmpv6.resptime",
]


def _differences(path: Path, exprs: list[str], tmp: Path) -> list[tuple[str, list[int], list[int]]]:
    """The filters whose selection differs from tshark's on ``path`` (one tshark run)."""
    theirs = tshark_selected_many(path, exprs, tmp)
    out = []
    for e, t in zip(exprs, theirs, strict=True):
        ours = selected(path, e)
        if ours != t:
            out.append((e, ours, t))
    return out


def tshark_selected(path: Path, expr: str) -> list[int]:
    """What ``tshark -Y`` itself selects (the command line, not a tap)."""
    r = subprocess.run(
        ["tshark", "-r", str(path), "-Y", expr, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def _crafted(path: Path) -> None:
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    a, b = "10.0.0.1", "10.0.0.2"
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pk = []
    t = [1000.0]

    def add(p: object, dt: float = 0.01) -> None:
        t[0] += dt
        p.time = t[0]  # type: ignore[attr-defined]
        pk.append(p)

    def q(i: int, n: str) -> object:
        return e / IP(src=a, dst=b) / UDP(sport=6353, dport=53) / DNS(id=i, rd=1, qd=DNSQR(qname=n))

    def r(i: int, n: str) -> object:
        rr = DNSRR(rrname=n, rdata="192.0.2.4")
        return (
            e
            / IP(src=b, dst=a)
            / UDP(sport=53, dport=6353)
            / DNS(id=i, qr=1, qd=DNSQR(qname=n), an=rr)
        )

    def tcp(s: str, d: str, sp: int, dp: int, **k: object) -> object:
        return e / IP(src=s, dst=d) / TCP(sport=sp, dport=dp, **k)

    # DNS: answered, retransmitted query, retransmitted answer, unsolicited, crossed answers
    add(q(1, "a.example"))
    add(r(1, "a.example"), 0.02)
    add(q(2, "b.example"))
    add(q(2, "b.example"), 1.0)
    add(r(2, "b.example"), 0.5)
    add(r(2, "b.example"), 0.1)
    add(r(9, "x.example"))
    add(q(3, "c.example"))
    add(q(4, "d.example"))
    add(r(4, "d.example"))
    add(r(3, "c.example"), 2)
    # ICMP: a slow reply, a duplicate reply, an unanswered request
    add(e / IP(src=a, dst=b) / ICMP(type=8, id=7, seq=1) / b"abc")
    add(e / IP(src=b, dst=a) / ICMP(type=0, id=7, seq=1) / b"abc", 0.3)
    add(e / IP(src=b, dst=a) / ICMP(type=0, id=7, seq=1) / b"abc")
    add(e / IP(src=a, dst=b) / ICMP(type=8, id=7, seq=2) / b"abc")
    # TCP: zero window and its probe, window update, keep-alive and its ACK, window full
    add(tcp(a, b, 4000, 5000, flags="S", seq=100, options=[("WScale", 2)]))
    add(tcp(b, a, 5000, 4000, flags="SA", seq=900, ack=101, options=[("WScale", 1)]))
    add(tcp(a, b, 4000, 5000, flags="A", seq=101, ack=901, window=100))
    add(tcp(a, b, 4000, 5000, flags="PA", seq=101, ack=901, window=100) / Raw(b"x" * 50))
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=151, window=0))
    add(tcp(a, b, 4000, 5000, flags="A", seq=151, ack=901, window=100) / Raw(b"y"))
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=151, window=0))
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=151, window=300))
    add(tcp(a, b, 4000, 5000, flags="A", seq=151, ack=901, window=100), 5)
    add(tcp(a, b, 4000, 5000, flags="A", seq=150, ack=901, window=100), 5)
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=151, window=300))
    add(tcp(a, b, 4000, 5000, flags="PA", seq=151, ack=901, window=100) / Raw(b"z" * 600))
    add(tcp(a, b, 4000, 5000, flags="PA", seq=751, ack=901, window=100) / Raw(b"z" * 10))
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=761, window=300))
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=761, window=300))
    add(tcp(b, a, 5000, 4000, flags="A", seq=901, ack=761, window=300))
    add(tcp(a, b, 4000, 5000, flags="PA", seq=751, ack=901, window=100) / Raw(b"z" * 10))
    add(tcp(a, b, 4000, 5000, flags="S", seq=5000))
    add(tcp(a, b, 4000, 5000, flags="S", seq=5000), 1)
    # ACKed unseen segments while the other side sends pure ACKs: said once for the same
    # loss; duplicate ACKs after it count from 1, and a FIN with the same ACK keeps counting
    add(tcp(a, b, 4200, 5200, flags="S", seq=1000))
    add(tcp(b, a, 5200, 4200, flags="SA", seq=2000, ack=1001))
    add(tcp(a, b, 4200, 5200, flags="A", seq=1001, ack=2001))
    add(tcp(a, b, 4200, 5200, flags="PA", seq=1001, ack=2001) / Raw(b"q" * 10))
    add(tcp(b, a, 5200, 4200, flags="A", seq=2001, ack=1031))
    add(tcp(b, a, 5200, 4200, flags="A", seq=2001, ack=1041))
    add(tcp(a, b, 4200, 5200, flags="A", seq=1011, ack=2001))
    add(tcp(a, b, 4200, 5200, flags="A", seq=1011, ack=2001))
    add(tcp(a, b, 4200, 5200, flags="FA", seq=1011, ack=2001))
    add(tcp(a, b, 4200, 5200, flags="A", seq=1012, ack=2001))
    # HTTP: two pipelined requests in one segment, then their two responses
    add(
        tcp(a, b, 4100, 80, flags="PA", seq=1, ack=1)
        / Raw(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    )
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"
    add(tcp(b, a, 80, 4100, flags="PA", seq=1, ack=55) / Raw(ok + b"A"), 1.5)
    add(tcp(b, a, 80, 4100, flags="PA", seq=40, ack=55) / Raw(ok + b"B"), 0.5)
    wrpcap(str(path), pk)


@needs_tshark
def test_crafted_cases_match_tshark(tmp_path: Path) -> None:
    path = tmp_path / "cases.pcap"
    _crafted(path)
    assert selected(path, "tcp.analysis.flags"), "the capture has no flagged segment"
    assert not _differences(path, ANALYSIS + TRANSACTIONS, tmp_path)
    # from the command line, as tshark -Y: the one slow HTTP response
    assert _dash_y_agrees(path, "http.time > 1") == 1


@needs_tshark
@pytest.mark.parametrize("name", ["real", "crafted", "services", "mptcp"])
def test_corpus_matches_tshark(name: str, tmp_path: Path) -> None:
    # (mptcp.pcap: Wireshark excuses a repeated ACK after an MPTCP operation on another
    # subflow of the same connection, frame 93, and counts on after a FIN, frame 100)
    exprs = [
        "tcp.analysis.retransmission",
        "tcp.analysis.ack_rtt",
        "tcp.analysis.window_update",
        "tcp.analysis.flags",
        "tcp.analysis.duplicate_ack",
        "tcp.analysis.duplicate_ack_num == 2",
    ]
    assert not _differences(CORPUS / f"{name}.pcap", exprs + TRANSACTIONS, tmp_path)


def _http_segments(path: Path) -> None:
    """HTTP/1.x whose requests and responses span several TCP segments."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    a, b = "10.0.0.1", "10.0.0.2"
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pk: list[object] = []
    t = [1000.0]

    def add(p: object, dt: float) -> None:
        t[0] += dt
        p.time = t[0]  # type: ignore[attr-defined]
        pk.append(p)

    def connection(port: int, exchanges: list[tuple[list[bytes], list[bytes]]]) -> None:
        def seg(cli: bool, seq: int, ack: int, data: bytes = b"", flags: str = "PA") -> object:
            ip = IP(src=a, dst=b) if cli else IP(src=b, dst=a)
            sp, dp = (port, 80) if cli else (80, port)
            p = e / ip / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
            return p / Raw(data) if data else p

        add(seg(True, 0, 0, flags="S"), 0.1)
        add(seg(False, 0, 1, flags="SA"), 0.01)
        add(seg(True, 1, 1, flags="A"), 0.01)
        cs = ss = 1
        for client, server in exchanges:
            for chunk in client:
                add(seg(True, cs, ss, chunk), 0.1)
                cs += len(chunk)
            for chunk in server:
                if chunk == b"FIN":
                    add(seg(False, ss, cs, flags="FA"), 0.1)
                    ss += 1
                else:
                    add(seg(False, ss, cs, chunk), 0.2)
                    ss += len(chunk)

    ok = b"HTTP/1.1 200 OK\r\n"
    connection(
        4300,
        [
            # a request in two segments, its response's body in three
            (
                [b"GET /big HTTP/1.1\r\nHost: h\r\n", b"User-Agent: x\r\n\r\n"],
                [ok + b"Content-Length: 30\r\n\r\n" + b"0" * 10, b"1" * 10, b"2" * 10],
            ),
            # response headers cut mid-line
            (
                [b"GET /two HTTP/1.1\r\nHost: h\r\n\r\n"],
                [b"HTTP/1.1 404", b" Not Found\r\nContent-Length: 0\r\n\r\n"],
            ),
            # a response to HEAD has no body whatever its Content-Length says
            (
                [b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"],
                [ok + b"Content-Length: 100\r\n\r\n"],
            ),
            # chunked, over three segments
            (
                [b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n"],
                [
                    ok + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                    b"3\r\nabc\r\n",
                    b"0\r\n\r\n",
                ],
            ),
            # a POST body over two segments
            (
                [
                    b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n",
                    b"0" * 10,
                    b"1" * 10,
                ],
                [b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"],
            ),
            # no length: the response runs until the server's FIN, in whose frame it ends
            (
                [b"GET /close HTTP/1.0\r\n\r\n"],
                [b"HTTP/1.0 200 OK\r\n\r\nbody part one ", b"body part two", b"FIN"],
            ),
        ],
    )
    wrpcap(str(path), pk)


def _tshark_two_pass_http(path: Path) -> dict[int, tuple[str, str, str]]:
    """Per frame, tshark -2's (request in, response in, time since request)."""
    fields = ["frame.number", "http.request_in", "http.response_in", "http.time"]
    r = subprocess.run(
        ["tshark", "-r", str(path), "-2", "-T", "fields", *(x for f in fields for x in ("-e", f))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        number, *rest = line.split("\t")
        row = (rest[0], rest[1], rest[2][:-6] if rest[2] else "")  # time: to the microsecond
        if any(row):
            out[int(number)] = row
    return out


def _expert_http(path: Path) -> dict[int, tuple[str, str, str]]:
    """The same from the expert index (what the tree and the Transactions view show)."""
    from tapwatch import pcap
    from tapwatch.analysis.expert import ExpertIndex
    from tapwatch.ring import Record

    with pcap.read_capture(str(path)) as cap:
        index = ExpertIndex([i.linktype for i in cap.interfaces])
        index.feed([Record(n, r.ts_ns, 0, r.data, r.iface) for n, r in enumerate(cap, 1)])
    out = {}
    for n in range(1, index.caught_up_to + 1):
        req, resp = index.request_of.get(n), index.response_of.get(n)
        row = (
            str(req[0]) if req else "",
            str(resp[0]) if resp else "",
            f"{req[1] / 1e9:.3f}" if req else "",
        )
        if any(row):
            out[n] = row
    return out


@needs_tshark
def test_multi_segment_http_pairs_match_tshark_two_pass(tmp_path: Path) -> None:
    path = tmp_path / "http.pcap"
    _http_segments(path)
    theirs = _tshark_two_pass_http(path)
    assert len(theirs) == 12, theirs  # six exchanges, each paired both ways
    assert _expert_http(path) == theirs
    # and one pass, as tshark -Y: what the response knows
    assert not _differences(path, ["http.time", "http.time > 0.5", "http.request_in"], tmp_path)


_SERVER = """
import socket, threading, time, http.server
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("10.77.0.2", 9000)); s.listen()
def slow():
    c, _ = s.accept()
    while c.recv(2048):
        time.sleep(0.002)
threading.Thread(target=slow, daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(0.3)
        body = b"x" * 20000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("ready", flush=True)
http.server.HTTPServer(("10.77.0.2", 80), H).serve_forever()
"""
_CLIENT = """
import socket, urllib.request
c = socket.create_connection(("10.77.0.2", 9000)); c.sendall(b"y" * 300000); c.close()
for p in ["/a", "/slow", "/b", "/c"]:
    urllib.request.urlopen("http://10.77.0.2" + p, timeout=20).read()
"""


@needs_netns
@needs_tshark
@pytest.mark.skipif(
    shutil.which("tcpdump") is None or shutil.which("iptables") is None,
    reason="needs tcpdump and iptables",
)
def test_lossy_real_traffic_matches_tshark(tmp_path: Path) -> None:
    """Real TCP, HTTP and ping between two namespaces that drop some of what they receive."""
    path = tmp_path / "lossy.pcap"
    with netns("twan") as a, netns("twan") as b:
        link_pair(a, b, "10.77.0.1/24", "10.77.0.2/24")
        for ns, p in ((a, "0.05"), (b, "0.03")):
            drop = ["-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP"]
            ns.run(["iptables", "-A", "INPUT", "-i", "veth0", *drop], check=True)
        dump = a.popen(["tcpdump", "-i", "veth0", "-U", "-s", "0", "-w", str(path)])
        srv = b.popen([sys.executable, "-c", _SERVER])
        try:
            a.wait_capturing("veth0")

            def carried() -> int:  # packets veth0 carried either way (tcpdump sees them all)
                return sum(device_counter(a, "veth0", c) for c in ("rx_packets", "tx_packets"))

            seen = carried()
            assert srv.stdout is not None and srv.stdout.readline().strip() == "ready"
            a.run(["ping", "-c", "5", "-i", "0.05", "10.77.0.2"], timeout=30)
            client = a.run([sys.executable, "-c", _CLIENT], timeout=120)
            assert client.returncode == 0, client.stderr
            # every packet veth0 carried since tcpdump started is in the file before it stops
            # (on a loaded machine tcpdump can be well behind the traffic)
            sent = carried() - seen
            wait_for(lambda: records_on_disk(path) >= sent, timeout=60)
        finally:
            dump.terminate()
            _, said = dump.communicate(timeout=10)
            srv.terminate()
            srv.wait(10)
    assert selected(path, "tcp.analysis.window_full")
    wrong = _differences(path, ANALYSIS + TRANSACTIONS, tmp_path)
    assert not wrong, [(e, sorted(set(o) ^ set(t))[:10]) for e, o, t in wrong]
    # the HTTP exchanges are whole in the file only when tcpdump kept every packet (on a
    # loaded machine the kernel may drop some of its copies; tshark then pairs fewer too)
    dropped = re.search(r"(\d+) packets? dropped by kernel", said)
    if dropped is None or dropped[1] == "0":
        assert selected(path, "http.time"), f"no HTTP response was paired; tcpdump: {said}"
    _dash_y_agrees(path, "http.time > 0.2")


def _dash_y_agrees(path: Path, expr: str) -> int:
    """``tapwatch -r path -Y expr`` prints one line per packet ``tshark -Y`` selects."""
    r = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "-Y", expr],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    n = len(r.stdout.splitlines())
    assert n == len(tshark_selected(path, expr))
    return n


@pytest.mark.parametrize("name", ["real", "crafted", "services", "mptcp", "overlay", "vpn"])
def test_expert_index_on_the_fast_walk_is_the_generic_walks(name: str) -> None:
    """The expert index feeds its passes from the header fast walk where it can: what it
    keeps is what the generic walk alone gives."""
    from tapwatch import pcap
    from tapwatch.analysis.expert import ExpertIndex
    from tapwatch.ring import Record

    with pcap.read_capture(str(CORPUS / f"{name}.pcap")) as cap:
        lts = [i.linktype for i in cap.interfaces]
        records = [Record(n, r.ts_ns, 0, r.data, r.iface) for n, r in enumerate(cap, 1)]
    kept = []
    for fast in (False, True):
        index = ExpertIndex(lts)
        index.fast = fast
        index.reset()
        index.feed(records)
        arrays = [list(a) for a in (index.stream, index.rel_seq, index.rel_ack, index.window)]
        pairs = (index.request_of, index.response_of)
        kept.append((index.items, index.flags, index.acks, arrays, pairs))
        assert (index._fast is not None) == fast
    assert kept[0] == kept[1]
