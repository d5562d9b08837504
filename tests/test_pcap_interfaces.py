"""Captures with several interfaces and mixed link types: written, read, and read by others.

A session holding a tun (raw IP) and an observed veth (Ethernet) writes one
pcapng with an interface description per interface; tapwatch reads pcapng
files with several interfaces from Wireshark's tools and scapy, each record
naming its interface. Classic pcap holds one link type and says so.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from capture_checks import tshark_fields
from pcapng_build import ng_block, ng_end, ng_epb, ng_flags, ng_idb, ng_opt, ng_shb

from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_RAW
from tapwatch.pcap import (
    PcapError,
    PcapRecord,
    RecordDoesNotFit,
    copy_records,
    export,
    open_writer,
    read_capture,
    writer_like,
)
from tapwatch.ring import Record

OUT, IN = Direction.OUTBOUND, Direction.INBOUND
TS0 = 1_700_000_000_123_456_789
IP_PKT = bytes.fromhex("450000540001000040011f640a0000010a000002") + bytes(64)
MACS = bytes.fromhex("0200000000020200000000010800")
ETH_PKT = MACS + IP_PKT
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark missing")
needs_mergecap = pytest.mark.skipif(
    shutil.which("mergecap") is None, reason="wireshark tools missing"
)


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def two_interface_capture(path: Path) -> None:
    """tun0 (raw IP) from the start; veth0 (Ethernet) added after tun0's first packet."""
    with open_writer(str(path), LINKTYPE_RAW, ifname="tun0") as w:
        w.write(TS0, IP_PKT, OUT)
        assert w.add_interface(LINKTYPE_ETHERNET, "veth0") == 1
        w.write(TS0 + 1, ETH_PKT, IN, iface=1)
        w.write(TS0 + 2, IP_PKT, IN, iface=0)
        w.write(TS0 + 3, ETH_PKT, OUT, None, 1)


def test_pcapng_with_two_interfaces_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "both.pcapng"
    two_interface_capture(path)
    with read_capture(str(path)) as cap:
        recs = list(cap)
    assert [(i.linktype, i.name, i.units_per_second) for i in cap.interfaces] == [
        (LINKTYPE_RAW, "tun0", 10**9),
        (LINKTYPE_ETHERNET, "veth0", 10**9),
    ]
    assert recs == [
        PcapRecord(TS0, IP_PKT, len(IP_PKT), OUT, 0),
        PcapRecord(TS0 + 1, ETH_PKT, len(ETH_PKT), IN, 1),
        PcapRecord(TS0 + 2, IP_PKT, len(IP_PKT), IN, 0),
        PcapRecord(TS0 + 3, ETH_PKT, len(ETH_PKT), OUT, 1),
    ]
    # the second IDB follows the first packet, as pcapng allows
    raw = path.read_bytes()
    types = []
    off = 0
    while off < len(raw):
        btype, total = struct.unpack_from("<II", raw, off)
        types.append(btype)
        off += total
    assert types == [0x0A0D0D0A, 1, 6, 1, 6, 6, 6]


@needs_tshark
def test_tshark_reads_both_interface_names(tmp_path: Path) -> None:
    path = tmp_path / "both.pcapng"
    two_interface_capture(path)
    rows = tshark_fields(
        path, "frame.interface_name", "frame.packet_flags_direction", "frame.protocols"
    )
    assert [(r[0], int(r[1], 16)) for r in rows] == [
        ("tun0", 2),
        ("veth0", 1),
        ("tun0", 1),
        ("veth0", 2),
    ]
    assert [r[2].split(":")[0] for r in rows] == ["raw", "eth", "raw", "eth"]


def test_classic_pcap_refuses_a_second_link_type(tmp_path: Path) -> None:
    path = tmp_path / "both.pcap"
    with open_writer(str(path), LINKTYPE_RAW, ifname="tun0") as w:
        assert w.add_interface(LINKTYPE_RAW, "tun1") == 1  # same link type: one file holds it
        with pytest.raises(PcapError) as exc:
            w.add_interface(LINKTYPE_ETHERNET, "veth0")
        message = str(exc.value)
        assert "\n" not in message
        assert "classic pcap holds one link type" in message
        assert "veth0 is Ethernet while tun0 is raw IP" in message
        assert message.endswith(f"write pcapng instead (-w {tmp_path}/both.pcapng)")
        w.write(TS0, IP_PKT, OUT, iface=1)  # still usable after the refusal
        assert len(w.interfaces) == 2
    with read_capture(str(path)) as cap:
        assert [r.data for r in cap] == [IP_PKT]


def test_packet_on_an_unknown_interface_is_refused(tmp_path: Path) -> None:
    for suffix in (".pcap", ".pcapng"):
        with open_writer(str(tmp_path / f"x{suffix}"), LINKTYPE_RAW) as w:
            with pytest.raises(PcapError, match="interface 1 was never added"):
                w.write(TS0, IP_PKT, OUT, iface=1)
            w.write(TS0, IP_PKT, OUT)
            assert w.count == 1


def test_export_keeps_each_records_interface(tmp_path: Path) -> None:
    records = [
        Record(1, TS0, OUT, IP_PKT, 0),
        Record(2, TS0 + 5, IN, ETH_PKT, 1),
    ]
    path = tmp_path / "e.pcapng"
    n = export(str(path), records, LINKTYPE_RAW, "tun0", interfaces=[(LINKTYPE_ETHERNET, "eth0")])
    assert n == 2
    with read_capture(str(path)) as cap:
        recs = list(cap)
    assert [(r.iface, cap.interfaces[r.iface].name, r.data) for r in recs] == [
        (0, "tun0", IP_PKT),
        (1, "eth0", ETH_PKT),
    ]


@needs_mergecap
def test_mergecap_of_raw_ip_and_ethernet(tmp_path: Path) -> None:
    """Wireshark's own writer: one raw-IP and one Ethernet capture merged into one file."""
    from scapy.all import ICMP, IP, Ether, wrpcap

    base = 1_700_000_000_000_000_000  # whole microseconds: exact in both files
    raw = tmp_path / "tun.pcap"
    with open_writer(str(raw), LINKTYPE_RAW, nanosecond=True) as w:
        for i in range(3):
            w.write(base + 2 * i * 1_000_000 + 7, IP_PKT, OUT)
    eth = tmp_path / "veth.pcap"
    frames = [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="10.1.0.1", dst="10.1.0.2")
        / ICMP(seq=i)
        for i in range(3)
    ]
    for i, f in enumerate(frames):
        f.time = (base + (2 * i + 1) * 1_000_000) / 1e9
    wrpcap(str(eth), frames)
    merged = tmp_path / "merged.pcapng"
    res = run(["mergecap", "-w", str(merged), str(raw), str(eth)])
    assert res.returncode == 0, res.stderr
    with read_capture(str(merged)) as cap:
        recs = list(cap)
    assert [(i.linktype, i.units_per_second) for i in cap.interfaces] == [
        (LINKTYPE_RAW, 10**9),
        (LINKTYPE_ETHERNET, 10**6),
    ]
    assert [r.iface for r in recs] == [0, 1, 0, 1, 0, 1]
    assert [r.data for r in recs[1::2]] == [bytes(f) for f in frames]
    assert [r.data for r in recs[0::2]] == [IP_PKT] * 3
    assert [r.ts_ns for r in recs] == [base + i * 1_000_000 + 7 * (i % 2 == 0) for i in range(6)]


@needs_mergecap
def test_wireshark_packet_comments(tmp_path: Path) -> None:
    """opt_comment on packet blocks (editcap -a) reaches the record, for the frame layer."""
    src = tmp_path / "a.pcapng"
    two_interface_capture(src)
    out = tmp_path / "c.pcapng"
    res = run(["editcap", "-a", "2:first note", "-a", "4:second \x1b]0;x\x07", str(src), str(out)])
    assert res.returncode == 0, res.stderr
    with read_capture(str(out)) as cap:
        recs = list(cap)
    assert [r.comment for r in recs] == [None, "first note", None, "second \x1b]0;x\x07"]
    assert [r.direction for r in recs] == [OUT, IN, IN, OUT]  # flags survive the comments
    assert [r.iface for r in recs] == [0, 1, 0, 1]


def test_scapy_mixed_link_types_and_late_interfaces(tmp_path: Path) -> None:
    """scapy writes an IDB when a packet first names an interface, after earlier packets."""
    from scapy.all import ICMP, IP, Ether
    from scapy.utils import PcapNgWriter

    a = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(dst="10.0.0.2") / ICMP()
    b = IP(src="10.0.0.1", dst="10.0.0.2") / ICMP()
    a.sniffed_on, b.sniffed_on = "veth0", "tun0"
    a.comment = b"from scapy"
    path = tmp_path / "scapy.pcapng"
    w = PcapNgWriter(str(path))
    w.write(a)
    w.write(b)
    w.close()
    with read_capture(str(path)) as cap:
        recs = list(cap)
        names = {i.name: i.linktype for i in cap.interfaces}
    assert names["veth0"] == LINKTYPE_ETHERNET and names["tun0"] == LINKTYPE_IPV4
    assert [cap.interfaces[r.iface].name for r in recs] == ["veth0", "tun0"]
    assert [r.data for r in recs] == [bytes(a), bytes(b)]
    assert recs[0].comment == "from scapy" and recs[1].comment is None


def test_concatenated_sections_keep_interface_numbers() -> None:
    """The same interface described again in a later section is the same interface."""
    section = (
        ng_shb()
        + ng_idb(LINKTYPE_RAW, opts=ng_opt(2, b"tun0") + ng_end())
        + ng_idb(LINKTYPE_ETHERNET, opts=ng_opt(2, b"eth0") + ng_end())
        + ng_epb(1, 1, ETH_PKT, ng_flags(1))
        + ng_epb(0, 2, IP_PKT)
    )
    other = ng_shb() + ng_idb(LINKTYPE_ETHERNET, opts=ng_opt(2, b"eth1") + ng_end())
    other += ng_epb(0, 3, ETH_PKT)
    recs = list(read_capture(io.BytesIO(section + section + other)))
    assert [r.iface for r in recs] == [1, 0, 1, 0, 2]
    cap = read_capture(io.BytesIO(section + other))
    list(cap)
    assert [i.name for i in cap.interfaces] == ["tun0", "eth0", "eth1"]
    # two identical descriptions inside one section stay two interfaces
    twice = ng_shb() + ng_idb(LINKTYPE_RAW) + ng_idb(LINKTYPE_RAW) + ng_epb(1, 0, IP_PKT)
    cap = read_capture(io.BytesIO(twice))
    assert [r.iface for r in cap] == [1] and len(cap.interfaces) == 2


def test_unknown_blocks_between_packets_are_skipped() -> None:
    data = (
        ng_shb()
        + ng_idb(LINKTYPE_RAW)
        + ng_block(4, b"\x01\x00\x08\x00" + bytes(4) + b"host\0\0\0\0" + ng_end())  # NRB
        + ng_epb(0, 1, IP_PKT)
        + ng_block(5, bytes(12) + ng_end())  # ISB
        + ng_block(10, struct.pack("<II", 0x544C534B, 4) + b"keys")  # DSB
        + ng_block(0x40000BAD, struct.pack("<I", 32473) + b"custom")  # custom block
        + ng_epb(0, 2, IP_PKT)
    )
    assert [r.ts_ns for r in read_capture(io.BytesIO(data))] == [1000, 2000]


# --------------------------------------------------------------------------- conversion


def late_and_out_of_range() -> bytes:
    """pcapng: tun0, a packet, then tun1 (described late), then a packet from before 1970."""
    return (
        ng_shb()
        + ng_idb(LINKTYPE_RAW, opts=ng_opt(2, b"tun0") + ng_opt(9, b"\x09") + ng_end())
        + ng_epb(0, TS0, IP_PKT, ng_flags(2))
        + ng_idb(
            LINKTYPE_RAW,
            opts=ng_opt(2, b"tun1") + ng_opt(14, struct.pack("<q", -100)) + ng_end(),
        )
        + ng_epb(1, 5, IP_PKT, ng_flags(1))  # 5 us after -100 s: before 1970
        + ng_epb(0, TS0 + 7, IP_PKT, ng_flags(1))
    )


def test_pcapng_to_pcap_skips_what_does_not_fit(tmp_path: Path) -> None:
    src = tmp_path / "in.pcapng"
    src.write_bytes(late_and_out_of_range())
    out = tmp_path / "out.pcap"
    with read_capture(str(src)) as cap, writer_like(cap, str(out), fmt="pcap") as w:
        assert copy_records(cap, w) == (2, 1)
        assert w.count == 2
    with read_capture(str(out)) as back:
        assert back.nanosecond  # interface 0 has ns timestamps: so has the copy
        assert [r.ts_ns for r in back] == [TS0, TS0 + 7]


def test_does_not_fit_leaves_the_writer_usable(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    with open_writer(str(path), LINKTYPE_RAW) as w:
        for bad in (-1, (1 << 32) * 10**9):  # before 1970, after 2106
            with pytest.raises(RecordDoesNotFit, match="does not fit the pcap format") as exc:
                w.write(bad, IP_PKT)
            assert isinstance(exc.value, PcapError) and exc.value.ts_ns == bad
        w.write(TS0, IP_PKT)
        assert w.count == 1
    with read_capture(str(path)) as cap:
        assert [r.data for r in cap] == [IP_PKT] and not cap.truncated
    with open_writer(str(tmp_path / "x.pcapng"), LINKTYPE_RAW) as w:
        with pytest.raises(RecordDoesNotFit, match="pcapng format"):
            w.write(-5, IP_PKT)
        w.write(TS0, IP_PKT)


def test_copy_with_filter_and_limit(tmp_path: Path) -> None:
    src = tmp_path / "in.pcapng"
    src.write_bytes(late_and_out_of_range())
    out = tmp_path / "out.pcapng"
    with read_capture(str(src)) as cap, writer_like(cap, str(out)) as w:
        # the inbound packet from before 1970 fits no format: skipped, counted
        result = copy_records(cap, w, keep=lambda r: r.direction == IN, limit=1)
        assert result == (1, 1)
    with read_capture(str(out)) as back:
        recs = list(back)
        assert [i.name for i in back.interfaces] == ["tun0", "tun1"]
    assert [(r.iface, r.direction, r.ts_ns) for r in recs] == [(0, IN, TS0 + 7)]


def test_mixed_link_types_to_classic_pcap_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "both.pcapng"
    two_interface_capture(src)
    with (
        read_capture(str(src)) as cap,
        writer_like(cap, tmp_path / "o.pcap", fmt="pcap") as w,
        pytest.raises(PcapError, match=r"classic pcap holds one link type.*\.pcapng\)$"),
    ):
        copy_records(cap, w)


def test_a_refused_classic_pcap_leaves_the_existing_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tapwatch -r both.pcapng -w old.pcap`` (or ``-i any -w old.pcap``) refused the mixed
    link types only after opening old.pcap: the user's 95,968-byte capture became a 24-byte
    header, and nothing was written. The refusal now comes first, for the UI's export too."""
    from tapwatch.cli import main

    src = tmp_path / "both.pcapng"
    with open_writer(str(src), LINKTYPE_RAW, ifname="tun0") as w:
        w.add_interface(LINKTYPE_ETHERNET, "veth0")  # both known before the first packet
        w.write(TS0, IP_PKT, OUT)
        w.write(TS0 + 1, ETH_PKT, IN, iface=1)
    old = tmp_path / "old.pcap"
    with open_writer(str(old), LINKTYPE_RAW) as w:
        w.write(TS0, IP_PKT, OUT)
    before = old.read_bytes()
    assert main(["-r", str(src), "-w", str(old)]) == 1
    assert "classic pcap holds one link type" in capsys.readouterr().err
    assert old.read_bytes() == before
    assert main(["-r", str(src), "-w", str(tmp_path / "new.pcap")]) == 1
    assert not (tmp_path / "new.pcap").exists()  # nothing left behind either
    recs = [Record(1, TS0, OUT, IP_PKT, 0), Record(2, TS0 + 1, IN, ETH_PKT, 1)]
    with pytest.raises(PcapError, match="classic pcap holds one link type"):
        export(old, recs, LINKTYPE_RAW, "tun0", interfaces=[(LINKTYPE_ETHERNET, "veth0")])
    assert old.read_bytes() == before
