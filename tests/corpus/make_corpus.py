"""Regenerate the tcpdump comparison corpus: ``sudo .venv/bin/python tests/corpus/make_corpus.py``.

Three files:

* ``real.pcap``: traffic between two private network namespaces joined by a veth
  pair, captured by tcpdump on the underlay: pings (IPv4, IPv6, to an unreachable
  port), DNS queries answered by a small server, a DHCP exchange, HTTP sessions
  with curl against ``python -m http.server``, a refused connection, and the same
  over a real VXLAN link between the namespaces.  Everything stays inside the two
  namespaces, which are deleted afterwards.
* ``crafted.pcap``: packets built with scapy (explicit MACs, never sent) for what
  this kernel cannot make: GRE, IP-in-IP, Geneve, L2TP, MPLS, ESP/AH, WireGuard,
  OpenVPN, ICMPv6 types, application protocols on their ports, truncations.
* ``services.pcap``: the same for SNMP, RIP, TFTP, RADIUS, ISAKMP/IKE, DHCPv6,
  telnet's option negotiation and L2TPv3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=60)


def ns(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", name, *args, check=check)


def bg(name: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["ip", "netns", "exec", name, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


DNS_SERVER = r"""
from scapy.layers.dns import DNS, DNSRR, DNSQR
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.0.1", 53))
s.settimeout(20)
while True:
    try:
        data, peer = s.recvfrom(2048)
    except OSError:
        break
    q = DNS(data)
    name = q.qd[0].qname
    if name.startswith(b"missing"):
        r = DNS(id=q.id, qr=1, rd=1, ra=1, rcode=3, qd=q.qd)
    elif q.qd[0].qtype == 28:
        r = DNS(id=q.id, qr=1, aa=1, rd=1, ra=1, qd=q.qd,
                an=DNSRR(rrname=name, type="AAAA", rdata="fd99::1", ttl=60))
    elif q.qd[0].qtype == 15:
        r = DNS(id=q.id, qr=1, rd=1, ra=1, qd=q.qd,
                an=DNSRR(rrname=name, type="MX", rdata=b"\x00\x0a\x04mail\xc0\x0c", ttl=60))
    else:
        r = DNS(id=q.id, qr=1, rd=1, ra=1, qd=q.qd, an=[
            DNSRR(rrname=name, type="CNAME", rdata="www.example.org", ttl=300),
            DNSRR(rrname="www.example.org", type="A", rdata="10.99.0.1", ttl=60)])
    s.sendto(bytes(r), peer)
"""


def dns_queries(names: list[tuple[str, int]]) -> str:
    return (
        f"names = {names!r}\n"
        + r"""
import socket
from scapy.layers.dns import DNS, DNSQR
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i, (n, t) in enumerate(names):
    s.sendto(bytes(DNS(id=0x100 + i, rd=1, qd=DNSQR(qname=n, qtype=t))), ("10.99.0.1", 53))
    try:
        s.recvfrom(2048)
    except OSError:
        pass
"""
    )


DHCP_FRAMES = r"""
import socket, sys, time
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
role, dev, mymac, peermac = sys.argv[1:5]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
xid = 0x3903F326
chaddr = bytes.fromhex(mymac.replace(":", "") if role == "client" else peermac.replace(":", ""))
def send(frame):
    s.send(bytes(frame))
    time.sleep(0.2)
bcast = "ff:ff:ff:ff:ff:ff"
if role == "client":
    send(Ether(src=mymac, dst=bcast) / IP(src="0.0.0.0", dst="255.255.255.255") /
         UDP(sport=68, dport=67) / BOOTP(chaddr=chaddr, xid=xid, flags=0x8000) /
         DHCP(options=[("message-type", "discover"), ("hostname", "corpus"),
                       ("param_req_list", [1, 3, 6, 15]), "end"]))
    time.sleep(0.6)
    send(Ether(src=mymac, dst=bcast) / IP(src="0.0.0.0", dst="255.255.255.255") /
         UDP(sport=68, dport=67) / BOOTP(chaddr=chaddr, xid=xid, flags=0x8000) /
         DHCP(options=[("message-type", "request"), ("requested_addr", "10.99.0.50"),
                       ("server_id", "10.99.0.1"), "end"]))
else:
    time.sleep(0.4)
    for kind in ("offer", "ack"):
        send(Ether(src=mymac, dst=bcast) / IP(src="10.99.0.1", dst="255.255.255.255") /
             UDP(sport=67, dport=68) / BOOTP(op=2, chaddr=chaddr, xid=xid, yiaddr="10.99.0.50",
                                             siaddr="10.99.0.1", flags=0x8000) /
             DHCP(options=[("message-type", kind), ("server_id", "10.99.0.1"),
                           ("lease_time", 3600), ("subnet_mask", "255.255.255.0"),
                           ("router", "10.99.0.1"), "end"]))
        time.sleep(0.6)
"""


def real(path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    a, b = f"twc-a-{tag}", f"twc-b-{tag}"
    sh("ip", "netns", "add", a)
    sh("ip", "netns", "add", b)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for n in (a, b):
            ns(n, "ip", "link", "set", "lo", "up")
        sh(
            "ip",
            "link",
            "add",
            "a0",
            "netns",
            a,
            "address",
            M1,
            "type",
            "veth",
            "peer",
            "name",
            "b0",
            "netns",
            b,
            "address",
            M2,
        )
        ns(a, "ip", "addr", "add", "10.99.0.1/24", "dev", "a0")
        ns(b, "ip", "addr", "add", "10.99.0.2/24", "dev", "b0")
        ns(a, "ip", "addr", "add", "fd99::1/64", "dev", "a0", "nodad")
        ns(b, "ip", "addr", "add", "fd99::2/64", "dev", "b0", "nodad")
        for n, dev in ((a, "a0"), (b, "b0")):
            ns(n, "ip", "link", "set", dev, "up")
        for n, local, remote, addr, mac in (
            (a, "10.99.0.1", "10.99.0.2", "10.98.0.1/24", M1),
            (b, "10.99.0.2", "10.99.0.1", "10.98.0.2/24", M2),
        ):
            ns(
                n,
                "ip",
                "link",
                "add",
                "vx0",
                "address",
                mac.replace("02:", "06:", 1),
                "type",
                "vxlan",
                "id",
                "42",
                "local",
                local,
                "remote",
                remote,
                "dstport",
                "4789",
            )
            ns(n, "ip", "addr", "add", addr, "dev", "vx0")
            ns(n, "ip", "link", "set", "vx0", "up")
        cap = bg(b, "tcpdump", "-i", "b0", "-U", "-w", str(path))
        time.sleep(1.5)
        py = sys.executable
        procs.append(bg(a, py, "-c", DNS_SERVER))
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", a, py, "-m", "http.server", "--bind", "10.99.0.1", "80"],
                cwd=HERE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", a, py, "-m", "http.server", "--bind", "10.98.0.1", "8080"],
                cwd=HERE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(1.5)
        ns(b, "ping", "-c", "3", "-i", "0.2", "10.99.0.1", check=False)
        ns(b, "ping", "-6", "-c", "3", "-i", "0.2", "fd99::1", check=False)
        ns(b, "ping", "-c", "2", "-i", "0.2", "-s", "2000", "10.99.0.1", check=False)
        ns(
            b,
            py,
            "-c",
            dns_queries(
                [
                    ("www.example.com", 1),
                    ("www.example.com", 28),
                    ("missing.example.com", 1),
                    ("example.com", 15),
                ]
            ),
            check=False,
        )
        ns(
            b,
            py,
            "-c",
            "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); "
            "s.sendto(b'x'*20, ('10.99.0.1', 9999))",
            check=False,
        )
        ns(
            b,
            py,
            "-c",
            "import socket; s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); "
            "s.sendto(b'y'*20, ('fd99::1', 9999))",
            check=False,
        )
        ns(b, "curl", "-s", "-o", "/dev/null", "http://10.99.0.1/", check=False)
        ns(b, "curl", "-s", "-o", "/dev/null", "http://10.99.0.1/missing", check=False)
        ns(
            b,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            "--data",
            "a=1",
            "http://10.99.0.1/",
            check=False,
        )
        ns(
            b,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "2",
            "http://10.99.0.1:81/",
            check=False,
        )
        ns(b, "ping", "-c", "2", "-i", "0.2", "10.98.0.1", check=False)
        ns(b, "curl", "-s", "-o", "/dev/null", "http://10.98.0.1:8080/", check=False)
        client = bg(b, py, "-c", DHCP_FRAMES, "client", "b0", M2, M1)
        server = bg(a, py, "-c", DHCP_FRAMES, "server", "a0", M1, M2)
        client.wait(timeout=30)
        server.wait(timeout=30)
        time.sleep(1.0)
        cap.terminate()
        cap.wait(timeout=10)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        sh("ip", "netns", "del", a, check=False)
        sh("ip", "netns", "del", b, check=False)


def crafted(path: Path, services: Path) -> None:
    sys.path.insert(0, str(HERE))
    from crafted import packets, service_packets
    from scapy.utils import wrpcap

    wrpcap(str(path), packets())
    wrpcap(str(services), service_packets())


def main() -> int:
    if os.geteuid() != 0:
        print("make_corpus.py: needs root (it creates two network namespaces)", file=sys.stderr)
        return 1
    crafted(HERE / "crafted.pcap", HERE / "services.pcap")
    real(HERE / "real.pcap")
    for name in ("crafted.pcap", "services.pcap", "real.pcap"):
        n = sh("tcpdump", "-nn", "-r", str(HERE / name)).stdout.count("\n")
        print(f"{name}: {n} lines from tcpdump")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
