"""Section 2: offline decode and print, ``tapwatch -r`` against tcpdump and tshark.

Two captures of the same mixed traffic (ICMP, UDP, DNS, TCP, some IPv6; ARP on
Ethernet) are written with tapwatch's own pcap writer from packets built once
with scapy: one raw-IP (LINKTYPE_RAW, what a tun gives) and one Ethernet
(LINKTYPE_ETHERNET, what a tap gives). Each reader prints every packet to
/dev/null; tapwatch and tcpdump run in turn and are compared pair by pair (see
:func:`run`). No network access at all.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
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
        IP(src=a, dst=b)
        / UDP(sport=40001, dport=53)
        / DNS(id=7, rd=1, qd=DNSQR(qname="www.example.com", qtype="A")),
        IP(src=b, dst=a)
        / UDP(sport=53, dport=40001)
        / DNS(
            id=7,
            qr=1,
            rd=1,
            ra=1,
            qd=DNSQR(qname="www.example.com", qtype="A"),
            an=DNSRR(rrname="www.example.com", type="A", ttl=300, rdata="93.184.216.34"),
        ),
        IP(src=a, dst=b)
        / TCP(
            sport=50000,
            dport=80,
            flags="S",
            seq=1000,
            window=64240,
            options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)],
        ),
        IP(src=b, dst=a) / TCP(sport=80, dport=50000, flags="SA", seq=5000, ack=1001),
        IP(src=a, dst=b) / TCP(sport=50000, dport=80, flags="A", seq=1001, ack=5001),
        IP(src=a, dst=b)
        / TCP(sport=50000, dport=80, flags="PA", seq=1001, ack=5001)
        / Raw(b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"),
        IP(src=b, dst=a)
        / TCP(sport=80, dport=50000, flags="PA", seq=5001, ack=1042)
        / Raw(b"H" * 1200),
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
    out.append(
        bytes(Ether(src=src, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc=a, pdst=b, hwsrc=src))
    )
    out.append(bytes(Ether(src=dst, dst=src) / ARP(op=2, psrc=b, pdst=a, hwsrc=dst, hwdst=src)))
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
                data = data[:at] + (i & 0xFFFF).to_bytes(2, "big") + data[at + 2 :]
            w.write(ts + i * 10_000, data)


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process, its output to /dev/null; CPU counts every
    process it waited for (tapwatch's workers too), from the kernel's own accounting."""
    t = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL, env=env)
        _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode})")
    return wall, ru.ru_utime + ru.ru_stime


def run(*, packets: int, repeat: int) -> dict:
    """Per file: tapwatch (as installed: workers on idle processors), tapwatch in one process
    (TAPWATCH_WORKERS=1) and tcpdump, run in turn ``repeat`` times so that each tapwatch run
    has a tcpdump run beside it; the ratio is taken pair by pair, the median reported.
    tshark: best of ``repeat``."""
    results: dict = {"packets": packets, "repeat": repeat, "files": []}
    env = common.env()
    one = dict(env, TAPWATCH_WORKERS="1")
    with common.tempdir() as tmp:
        for ethernet in (False, True):
            path = os.path.join(tmp, f"mixed-{'eth' if ethernet else 'raw'}.pcap")
            make_pcap(path, packets, ethernet)
            entry: dict = {
                "linktype": "Ethernet (1)" if ethernet else "raw IP (101)",
                "size_mb": os.path.getsize(path) / 1e6,
            }
            tw = common.tapwatch_cmd("-r", path)
            td = ["tcpdump", "-nn", "-r", path] if shutil.which("tcpdump") else None
            runs: dict[str, list[tuple[float, float]]] = {
                "tapwatch": [],
                "tapwatch_1": [],
                "tcpdump": [],
            }
            try:
                _timed(tw, env)  # warm the page cache and the compiled modules
                for _ in range(repeat):
                    runs["tapwatch"].append(_timed(tw, env))
                    if td:
                        runs["tcpdump"].append(_timed(td, env))
                    runs["tapwatch_1"].append(_timed(tw, one))
                    if td:
                        runs["tcpdump"].append(_timed(td, env))
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                entry["error"] = str(e)[:200]
            entry["runs"] = runs
            for name, rs in runs.items():
                if rs:
                    entry[name] = statistics.median(w for w, _c in rs)
                    entry[f"{name}_cpu"] = statistics.median(c for _w, c in rs)
            tds = runs["tcpdump"]
            for name in ("tapwatch", "tapwatch_1"):
                rs = runs[name]
                if rs and len(tds) == 2 * len(rs):
                    partner = tds[0::2] if name == "tapwatch" else tds[1::2]
                    entry[f"{name}_ratio"] = statistics.median(
                        a[0] / b[0] for a, b in zip(rs, partner, strict=True)
                    )
                    entry[f"{name}_cpu_ratio"] = statistics.median(
                        a[1] / b[1] for a, b in zip(rs, partner, strict=True)
                    )
            if shutil.which("tshark"):
                try:
                    entry["tshark"] = common.best_of(
                        repeat, lambda p=path: common.wall(["tshark", "-r", p])
                    )
                except (RuntimeError, subprocess.SubprocessError) as e:
                    entry["tshark_error"] = str(e)[:200]
            # sanity: tapwatch printed one line per packet
            out = subprocess.run(tw, capture_output=True, env=env)
            entry["tapwatch_lines"] = out.stdout.count(b"\n")
            results["files"].append(entry)
    results["load"] = os.getloadavg()[0]
    return results


def markdown(res: dict) -> list[str]:
    out = [
        f"{res['packets']:,} packets per file, every packet printed to /dev/null "
        f"(`tapwatch -r FILE`, `tcpdump -nn -r FILE`); whole processes, start to exit, "
        f"run in turn {res['repeat']} times: medians, and the median of the ratios pair by "
        "pair (each tapwatch run against the tcpdump run after it). *tapwatch* is the "
        "default (worker processes on idle processors), *one process* the same with "
        "`TAPWATCH_WORKERS=1`. CPU counts the workers too. tshark: best of "
        f"{res['repeat']}.",
        "",
        "| capture | tapwatch -r | one process | tcpdump -nn -r | tapwatch / tcpdump | "
        "one process / tcpdump | CPU: tapwatch / tcpdump | tshark -r | tapwatch pkts/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in res["files"]:

        def s(x: float | None) -> str:
            return f"{x:.2f} s" if x else "n/a"

        def r(x: float | None) -> str:
            return f"{x:.2f}x" if x else "-"

        tw = f.get("tapwatch")
        out.append(
            f"| {f['linktype']}, {f['size_mb']:.1f} MB | {s(tw)} | {s(f.get('tapwatch_1'))} | "
            f"{s(f.get('tcpdump'))} | {r(f.get('tapwatch_ratio'))} | "
            f"{r(f.get('tapwatch_1_ratio'))} | {r(f.get('tapwatch_cpu_ratio'))} | "
            f"{s(f.get('tshark'))} | {res['packets'] / tw:,.0f} |"
            if tw
            else f"| {f['linktype']} | n/a | | | | | | | |"
        )
        if f.get("tapwatch_lines") != res["packets"]:
            out.append(
                f"\n(tapwatch printed {f.get('tapwatch_lines')} lines, expected {res['packets']})"
            )
        if f.get("error"):
            out.append(f"\n({f['error']})")
    return out
