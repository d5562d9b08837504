"""What linking inner and outer packets costs the capture pass, with and without tunnels.

The pump is the ring's one consumer: it counts every record and hands it to the
sinks. The linker is one more sink, and every capture pays for it, also one
with no tunnel in it. Each case fills a ring with the same records, then times
the pump's pass over them (CPU time of the process: the machine is shared, and the pass
is one thread) twice in the same process: *reference* (the sinks a
plain capture has: none) and *linker* (a :class:`tapwatch.sinks.LinkSink`),
best of ``--repeat``. Cases:

* *no tunnel*: IPv4/IPv6 TCP, UDP (DNS, QUIC-like) and ICMP on a tun and on an
  Ethernet interface: what most captures are;
* *VXLAN*: each inner frame on vxlan0 and its outer packet on veth0 (exact links);
* *WireGuard*: each inner packet on wg0 and a WireGuard transport packet of the
  right length on veth0 (inferred links);
* *VXLAN in fragments*: each outer datagram in two IPv4 fragments, reassembled first;
* *OpenVPN over TCP*: each packet of the stream after its 2-byte length (inferred).

Nothing is sent anywhere: the records are built in memory.

    python bench/links_bench.py [--packets 200000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tapwatch.analysis.links import Linker
from tapwatch.ring import Ring
from tapwatch.session import Session
from tapwatch.sinks import LinkSink, Sink
from tapwatch.sources import InterfaceInfo, RecordSource

ETH = bytes.fromhex("020000000002020000000001")


def ipv4(proto: int, payload: bytes, src: bytes = b"\n\0\0\1", dst: bytes = b"\n\0\0\2") -> bytes:
    return (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
        + payload
    )


def udp(sport: int, dport: int, body: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def tcp(sport: int, dport: int, body: bytes) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, 0x18, 65535, 0, 0) + body


def plain(n: int) -> list[tuple[int, int, bytes, int]]:
    """Traffic without tunnels: (ts, direction, data, iface)."""
    kinds = [
        ipv4(6, tcp(40000, 443, b"x" * 1200)),
        ipv4(17, udp(5353, 53, b"q" * 40)),
        ipv4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"p" * 56),
        ipv4(17, udp(50000, 443, b"\x40" + b"u" * 1000)),
        bytes.fromhex("6000000000140640") + bytes(32) + tcp(40000, 80, b""),
    ]
    out = []
    for i in range(n):
        data = kinds[i % len(kinds)]
        iface = i & 1
        if iface:
            data = ETH + (b"\x86\xdd" if data[0] >> 4 == 6 else b"\x08\x00") + data
        out.append((1_000_000_000 + i * 10_000, 1 + (i & 1), data, iface))
    return out


def vxlan(n: int) -> list[tuple[int, int, bytes, int]]:
    out = []
    for i in range(n // 2):
        inner = (
            ETH
            + b"\x08\x00"
            + ipv4(
                1,
                bytes([8, 0, 0, 0, 0, 1]) + struct.pack("!H", i & 0xFFFF) + b"p" * 56,
                b"\n\x09\0\1",
                b"\n\x09\0\2",
            )
        )
        outer = (
            ETH
            + b"\x08\x00"
            + ipv4(
                17,
                udp(40000 + i % 7, 4789, bytes([8, 0, 0, 0, 0, 0, 42, 0]) + inner),
                b"\xc0\xa8\1\1",
                b"\xc0\xa8\1\2",
            )
        )
        t = 1_000_000_000 + i * 20_000
        out.append((t, 2, inner, 2))
        out.append((t + 50_000, 2, outer, 1))
    return out


def wireguard(n: int) -> list[tuple[int, int, bytes, int]]:
    out = []
    for i in range(n // 2):
        inner = ipv4(
            6, tcp(40000, 443, b"x" * (100 + (i * 37) % 1200)), b"\n\x09\0\1", b"\n\x09\0\2"
        )
        padded = (len(inner) + 15) & ~15
        wg = struct.pack("<BxxxIQ", 4, 7, i) + bytes(padded + 16)
        outer = (
            ETH + b"\x08\x00" + ipv4(17, udp(51820, 51820, wg), b"\xc0\xa8\1\1", b"\xc0\xa8\1\2")
        )
        t = 1_000_000_000 + i * 20_000
        out.append((t, 2, inner, 0))
        out.append((t + 50_000, 2, outer, 1))
    return out


def vxlan_fragmented(n: int) -> list[tuple[int, int, bytes, int]]:
    """VXLAN whose outer datagrams the outer path cut in two IPv4 fragments (a 1,300-byte
    ping): an inner frame, then two fragments (the link is made at the second)."""
    out = []
    for i in range(n // 3):
        inner = (
            ETH
            + b"\x08\x00"
            + ipv4(1, bytes([8, 0, 0, 0, 0, 1]) + struct.pack("!H", i & 0xFFFF) + b"p" * 1272,
                   b"\n\x09\0\1", b"\n\x09\0\2")
        )  # fmt: skip
        payload = udp(40000, 4789, bytes([8, 0, 0, 0, 0, 0, 42, 0]) + inner)
        cut = 976  # a multiple of 8: the first fragment's payload
        frags = []
        for lo, hi, flags in ((0, cut, 0x2000), (cut, len(payload), 0)):
            piece = payload[lo:hi]
            head = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(piece), i & 0xFFFF, flags | lo // 8, 64, 17,
                0, b"\xc0\xa8\1\1", b"\xc0\xa8\1\2",
            )  # fmt: skip
            frags.append(ETH + b"\x08\x00" + head + piece)
        t = 1_000_000_000 + i * 30_000
        out.append((t, 2, inner, 2))
        out.append((t + 50_000, 2, frags[0], 1))
        out.append((t + 51_000, 2, frags[1], 1))
    return out


def openvpn_tcp(n: int) -> list[tuple[int, int, bytes, int]]:
    """OpenVPN over TCP: each inner packet on tun0, then a segment on veth0 carrying its
    P_DATA_V2 packet (AES-GCM: 24 bytes more) after the stream's 2-byte length."""
    out = []
    seq = 1
    for i in range(n // 2):
        inner = ipv4(
            6, tcp(40000, 443, b"x" * (100 + (i * 37) % 1200)), b"\n\x09\0\1", b"\n\x09\0\2"
        )
        pkt = bytes([9 << 3, 0, 0, 1]) + struct.pack("!I", i + 1) + bytes(16 + len(inner))
        body = struct.pack("!H", len(pkt)) + pkt
        seg = struct.pack("!HHIIBBHHH", 1194, 50000, seq, 1, 0x50, 0x18, 65535, 0, 0) + body
        seq += len(body)
        outer = ETH + b"\x08\x00" + ipv4(6, seg, b"\xc0\xa8\1\1", b"\xc0\xa8\1\2")
        t = 1_000_000_000 + i * 20_000
        out.append((t, 2, inner, 0))
        out.append((t + 50_000, 2, outer, 1))
    return out


def session(records: list[tuple[int, int, bytes, int]], sinks: list[Sink]) -> Session:
    ifs = [
        InterfaceInfo("inner0", "observed", linktype=101, index=0, mtu=1420),
        InterfaceInfo("veth0", "observed", linktype=1, index=1, mtu=1500),
        InterfaceInfo("vxlan0", "observed", linktype=1, index=2, mtu=1450),
    ]
    ring = Ring(max_packets=len(records) + 1)
    s = Session([RecordSource(i) for i in ifs], ring=ring, sinks=sinks)
    for ts, d, data, iface in records:
        ring.append(ts, d, data, iface)
    return s


def timed(records: list[tuple[int, int, bytes, int]], with_linker: bool) -> tuple[float, int]:
    sinks: list[Sink] = [LinkSink(Linker())] if with_linker else []
    s = session(records, sinks)
    t0 = time.process_time()
    s.pump()
    dt = time.process_time() - t0
    linker = s.linker
    links = len(linker.links) if linker is not None else 0
    return dt, links


def alone(records: list[tuple[int, int, bytes, int]]) -> float:
    """The linker by itself (no pump, no decode, no counters): seconds for every record,
    handed over in the pump's batches of 4096."""
    from tapwatch.ring import Record

    recs = [Record(n + 1, ts, d, data, i) for n, (ts, d, data, i) in enumerate(records)]
    ifs = session(records, []).interfaces
    linker = Linker([i.linktype for i in ifs], ifs)
    t0 = time.process_time()
    for lo in range(0, len(recs), 4096):
        linker.take_batch(recs[lo : lo + 4096], linker.linktypes)
    return time.process_time() - t0


def held_bytes(records: list[tuple[int, int, bytes, int]]) -> int:
    """What the linker holds after the pass (tracemalloc), beyond the ring."""
    s = session(records, [LinkSink(Linker())])
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    s.pump()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = []
    for name, make in (
        ("no tunnel", plain),
        ("VXLAN (exact)", vxlan),
        ("WireGuard (inferred)", wireguard),
        ("VXLAN, outer in 2 IPv4 fragments (exact)", vxlan_fragmented),
        ("OpenVPN over TCP (inferred)", openvpn_tcp),
    ):
        records = make(args.packets)
        refs, runs = [], []
        rounds = args.repeat * (3 if make is plain else 1)  # the small difference: more rounds
        for _ in range(rounds):  # interleaved, so a burst of load hits both alike
            refs.append(timed(records, False)[0])
            runs.append(timed(records, True))
        ref = min(refs)
        lnk = min(r[0] for r in runs)
        own = min(alone(records) for _ in range(args.repeat))
        n = len(records)
        row = {
            "case": name,
            "packets": n,
            "reference_us": ref / n * 1e6,
            "linker_us": lnk / n * 1e6,
            "extra_us": (lnk - ref) / n * 1e6,
            "ratio": lnk / ref,
            "alone_us": own / n * 1e6,
            "linked_records": runs[0][1],
        }
        results.append(row)
    mem = held_bytes(wireguard(args.packets))
    if args.json:
        print(json.dumps({"results": results, "linker_bytes_after_wireguard": mem}))
        return 0
    print(
        "| case | packets | pass without linker | with linker | extra per packet | ratio "
        "| linker alone | records linked |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['packets']:,} | {r['reference_us']:.2f} µs "
            f"| {r['linker_us']:.2f} µs | {r['extra_us']:.2f} µs | {r['ratio']:.2f}x "
            f"| {r['alone_us']:.2f} µs | {r['linked_records']:,} |"
        )
    print(f"\nlinker memory after the WireGuard case: {mem / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
