"""Headless ``-vvv`` adds scapy's dump of each packet, built in tapwatch's own process:
hostile frames (deep nesting, many options, huge counts) must not make it print without
bound. Bounded as the tree is: 500 lines a packet (and 128 KB). Frames built by hand
(struct, scapy), never sent.

The worst frames found (4 KB each, the most scapy is given): 1,300 3-byte BGP attributes
made 9,136 lines (~0.4 s of scapy); 200 nested IP-in-IP headers 2,760 lines and 800 KB;
500 IPv6 Hop-by-Hop headers 1,775 lines; NTP extension fields 1,825; RIP entries 1,383;
LDP messages 1,197; a 1,000-tag 802.1Q stack 986. DNS with 65,535 claimed records and
chained compression pointers, 2,000 DHCP options, TCP and IP options, nested ICMP errors
stayed small (scapy keeps most of such a payload as one field).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import IP, TCP, UDP, IPv6, Raw

from tapwatch.decode import verbose_text
from tapwatch.decode.node import MAX_DUMP_CHARS, MAX_NODES, dump_bounded
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tests.pcapng_build import ng_epb, ng_idb, ng_shb


def _tcp(sport: int, dport: int, payload: bytes) -> bytes:
    ip = IP(src="10.0.0.1", dst="10.0.0.2")
    return bytes(ip / TCP(sport=sport, dport=dport, flags="PA") / Raw(payload))


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=sport, dport=dport) / Raw(payload))


def _bgp_attributes() -> bytes:
    attrs = struct.pack("!BBB", 0x40, 200, 0) * 1300
    update = struct.pack("!HH", 0, len(attrs)) + attrs
    return _tcp(179, 40000, b"\xff" * 16 + struct.pack("!HB", 19 + len(update), 2) + update)


def _ipip(depth: int) -> bytes:
    heads = []
    for i in range(depth):
        total = 20 * (depth - i) + 8
        heads.append(bytes(IP(src="1.1.1.1", dst="2.2.2.2", proto=4, len=total))[:20])
    return b"".join(heads) + bytes(8)


def _hop_by_hop(count: int) -> bytes:
    head = bytes(IPv6(nh=0, plen=8 * count, src="::1", dst="::2"))[:40]
    ext = (bytes([0 if i < count - 1 else 59, 0]) + b"\x01\x04" + bytes(4) for i in range(count))
    return head + b"".join(ext)


def _vlan_stack(tags: int) -> bytes:
    inner = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / UDP())
    return b"\xff" * 6 + b"\x02" * 6 + b"\x81\x00\x00\x01" * tags + b"\x08\x00" + inner


WORST: dict[str, tuple[bytes, int]] = {
    "BGP, 1,300 attributes": (_bgp_attributes(), LINKTYPE_RAW),
    "200 nested IP-in-IP headers": (_ipip(200), LINKTYPE_RAW),
    "500 IPv6 Hop-by-Hop headers": (_hop_by_hop(500), LINKTYPE_RAW),
    "1,000 802.1Q tags": (_vlan_stack(1000), LINKTYPE_ETHERNET),
    "NTP, 900 extension fields": (
        _udp(123, 123, b"\x23" + bytes(47) + struct.pack("!HH", 0x0104, 4) * 900),
        LINKTYPE_RAW,
    ),
    "RIP, 200 entries": (
        _udp(520, 520, b"\x02\x02\x00\x00" + (b"\x00\x02\x00\x00" + bytes(16)) * 200),
        LINKTYPE_RAW,
    ),
    "DNS claiming 65,535 of each record": (
        _udp(53, 53, struct.pack("!6H", 1, 0x8180, *[65535] * 4) + b"\xc0\x0c" * 2000),
        LINKTYPE_RAW,
    ),
    "DHCP, 1,900 options": (
        _udp(67, 68, bytes(236) + b"\x63\x82\x53\x63" + b"\x0c\x00" * 1900),
        LINKTYPE_RAW,
    ),
}


def _size(text: str) -> tuple[int, int]:
    return text.count("\n") + 1, len(text)


@pytest.mark.parametrize("name", sorted(WORST))
def test_scapys_dump_of_a_hostile_frame_is_bounded_like_the_tree(name: str) -> None:
    data, linktype = WORST[name]
    text = verbose_text(data, linktype)
    lines, chars = _size(text)
    assert lines <= MAX_NODES and chars <= MAX_DUMP_CHARS, (name, lines, chars)
    assert "[dissection failed" not in text, text[-300:]


def test_a_dump_past_the_bound_says_how_many_lines_it_left_out() -> None:
    text = verbose_text(*WORST["BGP, 1,300 attributes"])
    last = text.rsplit("\n", 1)[-1]
    assert last.startswith("[") and last.endswith(" more lines not shown]"), last
    assert int(last[1:].split()[0].replace(",", "")) > 8000  # 9,136 lines in all
    # a dump within the bound is left whole; one of long lines is cut by its characters
    small = "\n".join(f"line {i}" for i in range(MAX_NODES))
    assert dump_bounded(small) == small
    wide = dump_bounded("\n".join("x" * 1000 for _ in range(300)))
    assert len(wide) <= MAX_DUMP_CHARS and wide.endswith(" more lines not shown]")


def test_tapwatch_vvv_reads_a_file_of_the_worst_frames_within_its_bounds(tmp_path: Path) -> None:
    """``-r FILE -vvv`` on every worst frame: it ends, and prints no more than tcpdump's
    ``-vv`` lines for the same file plus one bounded dump a packet."""
    path = tmp_path / "worst.pcapng"
    out = ng_shb() + ng_idb(LINKTYPE_ETHERNET)  # one link type: tcpdump reads no mix
    for n, (data, linktype) in enumerate(WORST.values()):
        if linktype == LINKTYPE_RAW:
            kind = b"\x86\xdd" if data[0] >> 4 == 6 else b"\x08\x00"
            data = b"\xff" * 6 + b"\x02" * 6 + kind + data
        out += ng_epb(0, 1_700_000_000_000_000 + n, data)
    path.write_bytes(out)
    done = subprocess.run(
        [sys.executable, "-m", "tapwatch", "-r", str(path), "-nn", "-vvv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ref = subprocess.run(
        ["tcpdump", "-r", str(path), "-nn", "-vv"], capture_output=True, text=True, timeout=120
    )
    ref_lines = len(ref.stdout.splitlines())
    assert ref_lines >= len(WORST), ref.stderr
    lines = done.stdout.splitlines()
    assert len(lines) <= ref_lines + len(WORST) * MAX_NODES, len(lines)
    assert sum(1 for ln in lines if ln.endswith(" more lines not shown]")) >= 5
