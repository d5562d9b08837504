"""Section 2: offline decode and print, ``tapwatch -r`` against tcpdump and tshark.

Two captures of the same mixed traffic (ICMP, UDP, DNS, TCP, some IPv6; ARP on
Ethernet) are written with tapwatch's own pcap writer from packets built once
with scapy: one raw-IP (LINKTYPE_RAW, what a tun gives) and one Ethernet
(LINKTYPE_ETHERNET, what a tap gives). Each reader prints every packet to
/dev/null; best of N wall times. No network access at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def templates(ethernet: bool) -> list[bytes]:
    """A mix of packets, each a realistic size, varied a little per copy later."""
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Raw

    a, b = "10.77.0.1", "10.77.0.2"
    pkts = [
        IP(src=a, dst=b) / ICMP(type=8, id=0x1234, seq=1) / Raw(b"x" * 56),
        IP(src=b, dst=a) / ICMP(type=0, id=0x1234, seq=1) / Raw(b"x" * 56),
        IP(src=a, dst=b) / UDP(sport=40000, dport=9) / Raw(b"u" * 64),
        IP(src=a, dst=b) / UDP(sport=40001, dport=53) / DNS(id=7, rd=1, qd=DNSQR(
            qname="www.example.com", qtype="A")),
        IP(src=b, dst=a) / UDP(sport=53, dport=40001) / DNS(
            id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com", qtype="A"),
            an=DNSRR(rrname="www.example.com", type="A", ttl=300, rdata="93.184.216.34")),
        IP(src=a, dst=b) / TCP(sport=50000, dport=80, flags="S", seq=1000, window=64240,
                               options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]),
        IP(src=b, dst=a) / TCP(sport=80, dport=50000, flags="SA", seq=5000, ack=1001),
        IP(src=a, dst=b) / TCP(sport=50000, dport=80, flags="A", seq=1001, ack=5001),
        IP(src=a, dst=b) / TCP(sport=50000, dport=80, flags="PA", seq=1001, ack=5001) / Raw(
            b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"),
        IP(src=b, dst=a) / TCP(sport=80, dport=50000, flags="PA", seq=5001, ack=1042) / Raw(
            b"H" * 1200),
        IPv6(src="fd00:77::1", dst="fd00:77::2") / ICMPv6EchoRequest(id=1, seq=1),
        IPv6(src="fd00:77::1", dst="fd00:77::2") / UDP(sport=40002, dport=9) / Raw(b"v" * 32),
    ]
    raw = [bytes(p) for p in pkts]
    if not ethernet:
        return raw
    src, dst = "02:00:00:00:00:01", "02:00:00:00:00:02"
    out = []
    for p in pkts:
        out.append(bytes(Ether(src=src, dst=dst) / p))
    out.append(bytes(Ether(src=src, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc=a, pdst=b,
                                                                  hwsrc=src)))
    out.append(bytes(Ether(src=dst, dst=src) / ARP(op=2, psrc=b, pdst=a, hwsrc=dst,
                                                   hwdst=src)))
    return out


def make_pcap(path: str, count: int, ethernet: bool) -> None:
    from tapwatch import pcap
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

    tpl = templates(ethernet)
    ts = 1_700_000_000_000_000_000
    off = 14 if ethernet else 0
    with pcap.open_writer(path, LINKTYPE_ETHERNET if ethernet else LINKTYPE_RAW) as w:
        n = len(tpl)
        for i in range(count):
            data = tpl[i % n]
            # no two packets alike (IPv4 id / IPv6 flow label): a decoder cannot just
            # cache by content, as it could not on real traffic
            if len(data) > off + 8 and data[off] >> 4 in (4, 6):
                at = off + 4 if data[off] >> 4 == 4 else off + 2
                data = data[:at] + (i & 0xFFFF).to_bytes(2, "big") + data[at + 2:]
            w.write(ts + i * 10_000, data)


def run(*, packets: int, repeat: int) -> dict:
    results: dict = {"packets": packets, "repeat": repeat, "files": []}
    with common.tempdir() as tmp:
        for ethernet in (False, True):
            path = os.path.join(tmp, f"mixed-{'eth' if ethernet else 'raw'}.pcap")
            make_pcap(path, packets, ethernet)
            entry: dict = {"linktype": "Ethernet (1)" if ethernet else "raw IP (101)",
                           "size_mb": os.path.getsize(path) / 1e6}
            cmds = {"tapwatch": common.tapwatch_cmd("-r", path, "--headless")}
            if shutil.which("tcpdump"):
                cmds["tcpdump"] = ["tcpdump", "-nn", "-r", path]
            if shutil.which("tshark"):
                cmds["tshark"] = ["tshark", "-r", path]
            for name, cmd in cmds.items():
                try:
                    entry[name] = common.best_of(repeat, lambda c=cmd: common.wall(c))
                except (RuntimeError, subprocess.SubprocessError) as e:
                    entry[name] = None
                    entry[f"{name}_error"] = str(e)[:200]
            # sanity: tapwatch printed one line per packet
            out = subprocess.run(cmds["tapwatch"], capture_output=True, env=common.env())
            entry["tapwatch_lines"] = out.stdout.count(b"\n")
            results["files"].append(entry)
    return results


def markdown(res: dict) -> list[str]:
    out = [f"{res['packets']:,} packets per file, every packet printed to /dev/null; "
           f"best of {res['repeat']} wall times (process start to exit).", "",
           "| capture | tapwatch -r --headless | tcpdump -nn -r | tshark -r | "
           "tapwatch / tcpdump | tapwatch / tshark | tapwatch pkts/s |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for f in res["files"]:
        tw, td, ts = f.get("tapwatch"), f.get("tcpdump"), f.get("tshark")

        def s(x: float | None) -> str:
            return f"{x:.2f} s" if x else "n/a"

        out.append(
            f"| {f['linktype']}, {f['size_mb']:.1f} MB | {s(tw)} | {s(td)} | {s(ts)} | "
            f"{tw / td:.2f}x | {tw / ts:.2f}x | {res['packets'] / tw:,.0f} |"
            if tw and td and ts else f"| {f['linktype']} | {s(tw)} | {s(td)} | {s(ts)} | "
            "- | - | - |")
        if f.get("tapwatch_lines") != res["packets"]:
            out.append(f"\n(tapwatch printed {f.get('tapwatch_lines')} lines, expected "
                       f"{res['packets']})")
    return out
