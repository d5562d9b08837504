"""Tests for tapwatch.pcap: writers, reader, interop with scapy/tcpdump/tshark, robustness.

No root or network needed (a few checks about sudo ownership and permission
errors run only as root, through a subprocess that drops to ``nobody``).
pcapng test files are built here by a small independent block builder, so the
reader is not only checked against our own writer.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from capture_checks import survive, tshark_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapng_build import ng_block, ng_end, ng_epb, ng_flags, ng_idb, ng_opt, ng_shb, pcap_header
from waiting import records_on_disk, wait_for

from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.pcap import (
    FLUSH_INTERVAL,
    PcapError,
    PcapngWriter,
    PcapRecord,
    PcapWriter,
    copy_records,
    export,
    open_writer,
    read_capture,
    writer_like,
)
from tapwatch.ring import Record

#: the host's view, as tcpdump's: what it sent into the device, what it received
OUTBOUND = Direction.OUTBOUND
INBOUND = Direction.INBOUND

ROOT = str(Path(__file__).resolve().parents[1])
TS0 = 1_700_000_000_123_456_789
needs_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump missing")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark missing")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


# --------------------------------------------------------------------------- helpers


def raw_ip_packets() -> list[bytes]:
    """A few real IPv4/IPv6 packets (raw IP, as a tun device carries them), odd lengths too."""
    from scapy.all import ICMP, IP, TCP, UDP, ICMPv6EchoRequest, IPv6, Raw

    pkts = [
        IP(src="192.168.3.11", dst="192.168.3.12") / ICMP(id=7, seq=1) / Raw(b"x" * 56),
        IP(src="192.168.3.12", dst="192.168.3.11") / ICMP(type=0, id=7, seq=1) / Raw(b"x" * 56),
        IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5353, dport=53) / Raw(b"abc"),
        IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=80, flags="S"),
        IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=1, seq=2, data=b"hello"),
    ]
    return [bytes(p) for p in pkts]


@pytest.fixture(scope="module")
def packets() -> list[bytes]:
    return raw_ip_packets()


def read_all(source: object) -> tuple[list[PcapRecord], object]:
    with read_capture(source) as cap:  # type: ignore[arg-type]
        return list(cap), cap


def write_file(path: Path, packets: list[bytes], **kw: object) -> None:
    with open_writer(str(path), LINKTYPE_RAW, **kw) as w:  # type: ignore[arg-type]
        for i, data in enumerate(packets):
            w.write(TS0 + i * 1_000_001, data, OUTBOUND if i % 2 == 0 else INBOUND)


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, **kw)


# Independent pcapng/pcap builders: tests/pcapng_build.py


# --------------------------------------------------------------------------- writer basics


@pytest.mark.parametrize(
    ("suffix", "kw", "fmt", "ns"),
    [
        (".pcap", {}, "pcap", False),
        (".pcap", {"nanosecond": True}, "pcap", True),
        (".pcapng", {"ifname": "tun1"}, "pcapng", True),
    ],
)
def test_own_round_trip(
    tmp_path: Path, packets: list[bytes], suffix: str, kw: dict, fmt: str, ns: bool
) -> None:
    path = tmp_path / f"out{suffix}"
    write_file(path, packets, **kw)
    recs, cap = read_all(str(path))
    assert cap.format == fmt and cap.linktype == LINKTYPE_RAW and cap.nanosecond == ns
    assert cap.snaplen == 262144 and not cap.truncated
    assert [r.data for r in recs] == packets
    assert [r.orig_len for r in recs] == [len(p) for p in packets]
    expected_ts = [TS0 + i * 1_000_001 for i in range(len(packets))]
    if not ns:
        expected_ts = [t - t % 1000 for t in expected_ts]
    assert [r.ts_ns for r in recs] == expected_ts
    if fmt == "pcapng":
        assert cap.ifname == "tun1"
        assert [r.direction for r in recs] == [OUTBOUND, INBOUND, OUTBOUND, INBOUND, OUTBOUND]
    else:
        assert cap.ifname is None and {r.direction for r in recs} == {None}
    # writing it back with a writer configured from the reader: identical bytes for pcap
    copy = tmp_path / f"copy{suffix}"
    with read_capture(str(path)) as src, writer_like(src, str(copy)) as dst:
        for r in src:
            dst.write(r.ts_ns, r.data, r.direction, r.orig_len)
    if fmt == "pcap":
        assert copy.read_bytes() == path.read_bytes()
    else:
        recs2, cap2 = read_all(str(copy))
        assert recs2 == recs and cap2.ifname == "tun1"


def test_format_selection_and_header_bytes(tmp_path: Path) -> None:
    with open_writer(str(tmp_path / "a.PCAPNG"), LINKTYPE_ETHERNET) as w:
        assert isinstance(w, PcapngWriter) and w.format == "pcapng"
    with open_writer(str(tmp_path / "a.cap"), LINKTYPE_ETHERNET) as w:
        assert isinstance(w, PcapWriter)
    with open_writer(tmp_path / "b.pcap", LINKTYPE_ETHERNET, fmt="pcapng") as w:
        assert w.format == "pcapng" and w.path == str(tmp_path / "b.pcap")
    assert (tmp_path / "a.cap").read_bytes() == struct.pack(
        "<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1
    )
    with open_writer(tmp_path / "n.pcap", LINKTYPE_RAW, nanosecond=True, snaplen=1500):
        pass
    assert (tmp_path / "n.pcap").read_bytes()[:4] == struct.pack("<I", 0xA1B23C4D)
    with pytest.raises(PcapError, match="unknown capture format"):
        open_writer(tmp_path / "c", 1, fmt="erf")
    with pytest.raises(PcapError, match="link type"):
        open_writer(tmp_path / "c", 70000)


def test_pcapng_blocks_layout(tmp_path: Path) -> None:
    """SHB, IDB with if_name + if_tsresol=9, EPB with epb_flags and 4-byte padding."""
    path = tmp_path / "l.pcapng"
    with open_writer(str(path), LINKTYPE_RAW, ifname="tun7") as w:
        w.write(5_000_000_001, b"\x45" + b"\0" * 20, INBOUND)  # 21 bytes -> 3 pad bytes
    raw = path.read_bytes()
    off = 0
    blocks = []
    while off < len(raw):
        btype, total = struct.unpack_from("<II", raw, off)
        assert total % 4 == 0 and struct.unpack_from("<I", raw, off + total - 4)[0] == total
        blocks.append((btype, raw[off + 8 : off + total - 4]))
        off += total
    assert [b[0] for b in blocks] == [0x0A0D0D0A, 1, 6]
    idb = blocks[1][1]
    assert struct.unpack_from("<HHI", idb) == (LINKTYPE_RAW, 0, 262144)
    assert ng_opt(2, b"tun7") in idb and ng_opt(9, b"\x09") in idb and idb.endswith(ng_end())
    epb = blocks[2][1]
    assert struct.unpack_from("<5I", epb) == (0, 1, 5_000_000_001 - (1 << 32), 21, 21)
    assert epb[20:44] == b"\x45" + b"\0" * 20 + b"\0" * 3
    assert epb[44:] == ng_opt(2, struct.pack("<I", 1)) + ng_end()  # inbound


def test_snaplen_truncation_keeps_orig_len(tmp_path: Path) -> None:
    for suffix in (".pcap", ".pcapng"):
        path = tmp_path / f"s{suffix}"
        with open_writer(str(path), LINKTYPE_RAW, snaplen=64) as w:
            w.write(TS0, bytes(range(200)), OUTBOUND)
            w.write(TS0, bytes(10), OUTBOUND)
            w.write(TS0, bytes(10), OUTBOUND, orig_len=1400)
        recs, cap = read_all(str(path))
        assert cap.snaplen == 64
        assert [(len(r.data), r.orig_len) for r in recs] == [(64, 200), (10, 10), (10, 1400)]
        assert recs[0].data == bytes(range(64))


def test_flush_idempotent_and_closed_writer(tmp_path: Path, packets: list[bytes]) -> None:
    w = open_writer(str(tmp_path / "x.pcap"), LINKTYPE_RAW)
    w.write(TS0, packets[0])
    w.flush()
    w.flush()
    w.close()
    w.close()
    w.flush()  # harmless after close
    assert w.closed and w.count == 1
    with pytest.raises(PcapError, match="closed"):
        w.write(TS0, packets[0])
    with (
        pytest.raises(PcapError, match="pcap format"),
        open_writer(str(tmp_path / "y.pcap"), LINKTYPE_RAW) as w2,
    ):
        w2.write(-1, packets[0])


def test_stream_target_is_flushed_not_closed(packets: list[bytes]) -> None:
    buf = io.BytesIO()
    w = open_writer(buf, LINKTYPE_RAW, fmt="pcapng")
    for p in packets:
        w.write(TS0, p, INBOUND)
    w.close()
    assert not buf.closed
    recs, _ = read_all(io.BytesIO(buf.getvalue()))
    assert [r.data for r in recs] == packets and {r.direction for r in recs} == {INBOUND}
    # raw (unbuffered) streams get a buffer of ours, detached again on close
    raw = io.FileIO(os.open(os.devnull, os.O_WRONLY), "w")
    with open_writer(raw, LINKTYPE_RAW) as w:
        w.write(TS0, packets[0])
    assert not raw.closed
    raw.close()
    with pytest.raises(PcapError, match="binary"):
        open_writer(io.StringIO(), LINKTYPE_RAW)


def test_export_records(tmp_path: Path, packets: list[bytes]) -> None:
    records = [Record(i + 1, TS0 + i, (OUTBOUND, INBOUND)[i % 2], p) for i, p in enumerate(packets)]
    assert export(str(tmp_path / "e.pcapng"), records, LINKTYPE_RAW, ifname="tun0") == 5
    recs, cap = read_all(str(tmp_path / "e.pcapng"))
    assert [(r.ts_ns, r.direction, r.data) for r in recs] == [
        (rec.ts_ns, rec.direction, rec.data) for rec in records
    ]
    assert cap.ifname == "tun0"
    assert export(str(tmp_path / "e.pcap"), iter(records), LINKTYPE_RAW) == 5
    with pytest.raises(PcapError, match="does not exist"):
        export(str(tmp_path / "nodir" / "e.pcap"), records, LINKTYPE_RAW)


# --------------------------------------------------------------------------- durability


def test_flushes_by_itself_after_interval(tmp_path: Path, packets: list[bytes]) -> None:
    path = tmp_path / "live.pcap"
    w = open_writer(str(path), LINKTYPE_RAW)
    try:
        w.write(TS0, packets[0])
        time.sleep(FLUSH_INTERVAL + 0.1)  # the behaviour under test: a quiet time past the interval
        w.write(TS0 + 1000, packets[1])
        recs, cap = read_all(str(path))  # another handle, writer still open
        assert [r.data for r in recs] == packets[:2] and not cap.truncated
    finally:
        w.close()


KILL_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from tapwatch.pcap import open_writer
w = open_writer(sys.argv[2], 101)
pause = float(sys.argv[3])
data = bytes.fromhex("4500001c00010000400100000a0000010a0000020800f7ff00000000")
print("ready", flush=True)
i = 0
while True:
    w.write(time.time_ns(), data + bytes(i % 7), i & 1)
    i += 1
    if pause:
        time.sleep(pause)  # slow traffic, the case under test: never fills the buffer
"""


@pytest.mark.parametrize(("suffix", "pause"), [(".pcapng", 0.02), (".pcap", 0.0)])
def test_sigkill_leaves_readable_file(tmp_path: Path, suffix: str, pause: float) -> None:
    path = tmp_path / f"killed{suffix}"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, ROOT, str(path), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        # killed once the file holds what the assertions below look for, whatever the load
        if pause:
            wait_for(lambda: records_on_disk(path) >= 10)
        else:  # a flood: the file's size, not a read that could never keep up
            wait_for(lambda: path.exists() and path.stat().st_size > 24 + 1001 * (16 + 34))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    recs, cap = read_all(str(path))
    if pause:
        # slow traffic never fills the buffer: only the timed flushes put packets on
        # disk, and they end on a record boundary
        assert len(recs) >= 10 and not cap.truncated
    else:
        assert len(recs) > 1000  # a full buffer may end mid-record: truncated is fine
    assert all(r.data[:1] == b"\x45" for r in recs)


# --------------------------------------------------------------------------- stdout


STDOUT_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tapwatch.pcap import open_writer
w = open_writer("-", 101)
w.write(1_000_000_000, bytes.fromhex("4500001400010000400000000a0000010a000002"))
w.close()
w.close()
sys.stdout.write("after")
"""

PIPE_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tapwatch.pcap import PcapError, open_writer
sys.stdin.read()  # the parent closes its end of the pipe, then our stdin
try:
    w = open_writer("-", 101)
    for _ in range(100000):
        w.write(1, bytes(100))
        w.flush()
except PcapError as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
"""


def test_stdout_target_keeps_fd1_open() -> None:
    res = subprocess.run(
        [sys.executable, "-c", STDOUT_SCRIPT, ROOT], capture_output=True, timeout=30, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith(b"after")
    recs, cap = read_all(io.BytesIO(res.stdout[: -len("after")]))
    assert cap.format == "pcap" and len(recs) == 1 and recs[0].ts_ns == 1_000_000_000


def test_stdout_broken_pipe_is_one_clear_error() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PIPE_SCRIPT, ROOT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader of -w - went away
    proc.stdin.close()  # and now the writer may start
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 3
    assert "output pipe closed" in err
    assert "Traceback" not in err and "Exception ignored" not in err


# --------------------------------------------------------------------------- write errors


def test_write_error_messages(tmp_path: Path) -> None:
    with pytest.raises(PcapError) as exc:
        open_writer(str(tmp_path / "missing" / "x.pcap"), 1)
    assert str(exc.value) == (
        f"cannot write {tmp_path}/missing/x.pcap: directory "
        f"{tmp_path}/missing does not exist (create it first)"
    )
    with pytest.raises(PcapError, match="is a directory"):
        open_writer(str(tmp_path), 1)
    with pytest.raises(PcapError, match="not a directory"):
        (tmp_path / "f").write_bytes(b"")
        open_writer(str(tmp_path / "f" / "x.pcap"), 1)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_disk_full_is_pcap_error() -> None:
    with pytest.raises(PcapError) as exc:
        open_writer("/dev/full", 1)
    assert str(exc.value) == (
        "cannot write /dev/full: no space left on device (free some space or write elsewhere)"
    )


class FailingStream(io.BufferedIOBase):
    """A stream whose disk fails after the file header is written."""

    def __init__(self) -> None:
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls > 1:
            raise OSError(errno.EIO, "Input/output error")
        return len(data)


def test_io_error_mid_capture() -> None:
    w = open_writer(FailingStream(), LINKTYPE_RAW)
    with pytest.raises(PcapError, match="input/output error"):
        w.write(TS0, b"\x45" * 20)
    with pytest.raises(PcapError, match="input/output error"):  # stays failed
        w.write(TS0, b"\x45" * 20)
    with pytest.raises(PcapError, match="input/output error"):
        w.flush()
    w.close()  # already reported: releases quietly
    w.close()


@needs_root
def test_sudo_chowns_created_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_UID", "65534")
    monkeypatch.setenv("SUDO_GID", "65534")
    path = tmp_path / "mine.pcapng"
    with open_writer(str(path), LINKTYPE_RAW):
        pass
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    before = os.stat(os.devnull)
    with open_writer(os.devnull, LINKTYPE_RAW):  # never chown a device
        pass
    assert os.stat(os.devnull).st_uid == before.st_uid
    monkeypatch.delenv("SUDO_UID")
    with open_writer(str(tmp_path / "root.pcap"), LINKTYPE_RAW):
        pass
    assert (tmp_path / "root.pcap").stat().st_uid == 0


@needs_root
def test_permission_denied_messages() -> None:
    """EACCES for real: switch the effective uid to nobody (root bypasses file modes)."""
    base = tempfile.mkdtemp(prefix="tw-perm-")
    try:
        os.chmod(base, 0o755)
        locked = os.path.join(base, "ro")
        os.mkdir(locked, 0o555)
        secret = os.path.join(base, "secret.pcap")
        with open_writer(secret, 1):
            pass
        os.chmod(secret, 0o600)
        messages = []
        os.seteuid(65534)
        try:
            for attempt in (
                lambda: open_writer(os.path.join(locked, "x.pcap"), 1),
                lambda: read_capture(secret),
            ):
                with pytest.raises(PcapError) as exc:
                    attempt()
                messages.append(str(exc.value))
        finally:
            os.seteuid(0)
        assert messages == [
            f"cannot write {locked}/x.pcap: permission denied "
            "(choose a writable directory or fix its permissions)",
            f"cannot read {secret}: permission denied (fix its permissions or use sudo)",
        ]
    finally:
        shutil.rmtree(base)


# --------------------------------------------------------------------------- read errors


def test_read_error_messages(tmp_path: Path) -> None:
    cases = {
        "missing.pcap": (None, "cannot read {p}: no such file"),
        "empty.pcap": (b"", "{p} is empty (not a pcap or pcapng file)"),
        "short.pcap": (b"\xd4\xc3", "{p} is too short to be a pcap or pcapng file"),
        "text.pcap": (b"hello world\n", "{p}: not a pcap or pcapng file"),
        "gz.pcap": (b"\x1f\x8b\x08\x00rest", "{p} is gzip-compressed: decompress it first"),
        "hdr.pcap": (pcap_header("<", 0xA1B2C3D4)[:20], "{p}: truncated pcap file header"),
        "ng.pcapng": (ng_shb()[:20], "{p}: truncated pcapng header"),
        "noif.pcapng": (ng_shb(), "{p}: pcapng file has no interface description"),
    }
    for name, (content, message) in cases.items():
        p = tmp_path / name
        if content is not None:
            p.write_bytes(content)
        with pytest.raises(PcapError) as exc:
            read_capture(str(p))
        assert str(exc.value).startswith(message.format(p=p)), str(exc.value)
    with pytest.raises(PcapError, match="it is a directory"):
        read_capture(str(tmp_path))


def test_absurd_caplen_and_corrupt_blocks(tmp_path: Path, packets: list[bytes]) -> None:
    bad = pcap_header("<", 0xA1B2C3D4) + struct.pack("<IIII", 0, 0, 1 << 30, 60)
    with pytest.raises(PcapError, match="claims 1073741824 captured bytes"):
        read_all(io.BytesIO(bad))
    idb = ng_idb(LINKTYPE_RAW)
    with pytest.raises(PcapError, match="impossible length"):
        read_all(io.BytesIO(ng_shb() + idb + struct.pack("<II", 6, 1 << 30) + bytes(64)))
    with pytest.raises(PcapError, match="undefined interface 3"):
        read_all(io.BytesIO(ng_shb() + idb + ng_epb(3, 0, packets[0])))
    blk = bytearray(ng_epb(0, 0, packets[0]))
    blk[-4:] = struct.pack("<I", len(blk) + 4)
    with pytest.raises(PcapError, match="length mismatch"):
        read_all(io.BytesIO(ng_shb() + idb + bytes(blk)))


def test_truncated_final_record_keeps_earlier(tmp_path: Path, packets: list[bytes]) -> None:
    for suffix in (".pcap", ".pcapng"):
        path = tmp_path / f"t{suffix}"
        write_file(path, packets)
        raw = path.read_bytes()
        recs, cap = read_all(io.BytesIO(raw[:-7]))
        assert cap.truncated and [r.data for r in recs] == packets[:-1]
        assert cap.count == len(packets) - 1


def small_files(packets: list[bytes]) -> dict[str, bytes]:
    out = {}
    for fmt, kw in (("pcap", {}), ("pcapng", {"ifname": "tun0"})):
        buf = io.BytesIO()
        with open_writer(buf, LINKTYPE_RAW, fmt=fmt, **kw) as w:  # type: ignore[arg-type]
            for i, p in enumerate(packets[:3]):
                w.write(TS0 + i, p, i & 1)
        out[fmt] = buf.getvalue()
    return out


def test_truncation_at_every_offset(packets: list[bytes]) -> None:
    """Any prefix: PcapError (cut inside the header) or a prefix of the packets."""
    for fmt, raw in small_files(packets).items():
        full, _ = read_all(io.BytesIO(raw))
        header_len = 24
        if fmt == "pcapng":  # SHB + IDB: walk blocks up to the first EPB
            header_len = 0
            while struct.unpack_from("<I", raw, header_len)[0] != 6:
                header_len += struct.unpack_from("<I", raw, header_len + 4)[0]
        boundaries = set()
        for n in range(len(raw)):
            try:
                recs, cap = read_all(io.BytesIO(raw[:n]))
            except PcapError:
                assert n < header_len, (fmt, n)
                continue
            assert recs == full[: len(recs)], (fmt, n)
            if not cap.truncated:
                boundaries.add(len(recs))
        assert boundaries == {0, 1, 2}, fmt  # clean ends only between records


# --------------------------------------------------------------------------- pcapng reader


@pytest.mark.parametrize("e", ["<", ">"])
def test_pcapng_reader_features(e: str, packets: list[bytes]) -> None:
    p1, p2, p3, p4, p5 = packets
    unknown = ng_block(0x0BAD, b"whatever", e) + ng_block(5, b"\0" * 24, e)  # custom + ISB
    section1 = (
        ng_shb(e)
        + ng_idb(LINKTYPE_RAW, 65535, ng_opt(2, b"tun0", e) + ng_opt(9, b"\x06", e) + ng_end(e), e)
        + unknown
        + ng_idb(
            LINKTYPE_RAW,
            0,
            ng_opt(9, b"\x09", e) + ng_opt(14, struct.pack(e + "q", 10), e) + ng_end(e),
            e,
        )
        + ng_epb(0, 1_700_000_000_123_456, p1, ng_flags(1, e), e)  # us, inbound
        + ng_epb(1, 5, p2, ng_flags(2, e), e, orig=1000)  # ns + 10 s offset, outbound
        # SPB: data 3 bytes after 8 bytes of orig_len-limited padding semantics
        + ng_block(3, struct.pack(e + "I", len(p3)) + p3, e)
        # obsolete PB on interface 1 with pack_flags inbound
        + ng_block(
            2,
            struct.pack(e + "HH4I", 1, 0, 0, 7, len(p4), len(p4))
            + p4
            + b"\0" * (-len(p4) % 4)
            + ng_flags(1, e),
            e,
        )
    )
    section2 = (
        ng_shb(e)
        # binary resolution 2^-10 s, then decimal 10^-3 via a second interface
        + ng_idb(LINKTYPE_RAW, 0, ng_opt(9, b"\x8a", e) + ng_end(e), e)
        + ng_idb(LINKTYPE_RAW, 0, ng_opt(9, b"\x03", e) + ng_end(e), e)
        + ng_epb(0, 3 * 1024 + 512, p5, b"", e)  # 3.5 s, no options
        + ng_epb(1, 1500, p1, ng_opt(1, b"a comment", e) + ng_flags(2, e), e)
    )
    recs, cap = read_all(io.BytesIO(section1 + section2))
    assert cap.format == "pcapng" and cap.linktype == LINKTYPE_RAW and cap.ifname == "tun0"
    assert cap.snaplen == 65535 and cap.nanosecond is False and cap.byteorder == e
    assert len(cap.interfaces) == 4 and not cap.truncated
    # interfaces are numbered over the whole file: section 2's 0 and 1 are 2 and 3
    assert recs == [
        PcapRecord(1_700_000_000_123_456_000, p1, len(p1), INBOUND, 0),
        PcapRecord(10_000_000_005, p2, 1000, OUTBOUND, 1),
        PcapRecord(10_000_000_005, p3, len(p3), None, 0),  # SPB: previous timestamp
        PcapRecord(10_000_000_007, p4, len(p4), INBOUND, 1),
        PcapRecord(3_500_000_000, p5, len(p5), None, 2),
        PcapRecord(1_500_000_000, p1, len(p1), OUTBOUND, 3, "a comment"),
    ]
    assert [(i.name, i.units_per_second) for i in cap.interfaces] == [
        ("tun0", 10**6),
        (None, 10**9),
        (None, 1024),
        (None, 1000),
    ]


def test_pcapng_mixed_link_types_are_read(packets: list[bytes]) -> None:
    """Each interface keeps its own link type; each record names its interface."""
    eth = bytes.fromhex("020000000002020000000001 0800".replace(" ", "")) + packets[0]
    data = (
        ng_shb()
        + ng_idb(LINKTYPE_RAW, opts=ng_opt(2, b"tun0") + ng_end())
        + ng_idb(LINKTYPE_ETHERNET, opts=ng_opt(2, b"eth0") + ng_opt(9, b"\x09") + ng_end())
        + ng_epb(0, 7, packets[0])
        + ng_epb(1, 8, eth, ng_flags(1))
    )
    recs, cap = read_all(io.BytesIO(data))
    assert [(i.linktype, i.name, i.tsresol) for i in cap.interfaces] == [
        (LINKTYPE_RAW, "tun0", 6),
        (LINKTYPE_ETHERNET, "eth0", 9),
    ]
    assert cap.linktype == LINKTYPE_RAW and cap.ifname == "tun0"  # interface 0's
    assert recs == [
        PcapRecord(7000, packets[0], len(packets[0]), None, 0),
        PcapRecord(8, eth, len(eth), INBOUND, 1),
    ]
    # an interface described after packets is there before the first packet naming it
    late = (
        ng_shb()
        + ng_idb(LINKTYPE_RAW)
        + ng_epb(0, 0, packets[0])
        + ng_idb(LINKTYPE_ETHERNET, opts=ng_opt(2, b"tap9") + ng_end())
        + ng_epb(1, 0, eth)
    )
    cap = read_capture(io.BytesIO(late))
    assert len(cap.interfaces) == 1
    it = iter(cap)
    assert next(it).iface == 0 and len(cap.interfaces) == 1
    rec = next(it)
    assert rec.iface == 1 and cap.interfaces[1].linktype == LINKTYPE_ETHERNET
    assert cap.interfaces[1].name == "tap9"


def test_reader_accepts_raw_and_stdin_like_streams(tmp_path: Path, packets: list[bytes]) -> None:
    path = tmp_path / "r.pcapng"
    write_file(path, packets)
    raw = io.FileIO(str(path), "r")
    recs, _ = read_all(raw)
    assert [r.data for r in recs] == packets and not raw.closed
    raw.close()
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {ROOT!r}); from tapwatch.pcap import read_capture; "
            "print(sum(1 for _ in read_capture('-')))",
        ],
        stdin=path.open("rb"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert res.stdout.strip() == "5", res.stderr


# --------------------------------------------------------------------------- classic variants


@pytest.mark.parametrize("magic", [0xA1B2C3D4, 0xA1B23C4D])
def test_big_endian_pcap_rewrites_identically(
    tmp_path: Path, magic: int, packets: list[bytes]
) -> None:
    body = b"".join(
        struct.pack(">IIII", 1_700_000_000 + i, 999 * i, len(p), len(p) + i) + p
        for i, p in enumerate(packets)
    )
    raw = pcap_header(">", magic, snaplen=64) + body  # caplen > snaplen: kept as is
    src = tmp_path / "be.pcap"
    src.write_bytes(raw)
    recs, cap = read_all(str(src))
    assert cap.byteorder == ">" and cap.nanosecond == (magic == 0xA1B23C4D)
    mult = 1 if cap.nanosecond else 1000
    assert [r.ts_ns for r in recs] == [
        (1_700_000_000 + i) * 10**9 + 999 * i * mult for i in range(5)
    ]
    out = io.BytesIO()
    with read_capture(str(src)) as c, writer_like(c, out) as w:
        for r in c:
            w.write(r.ts_ns, r.data, r.direction, r.orig_len)
    assert out.getvalue() == raw


def test_odd_header_fields_rewrite_identically(packets: list[bytes]) -> None:
    """thiszone, sigfigs, snaplen 0xFFFFFFFF and FCS bits in the link type survive."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, -3600, 7, 0xFFFFFFFF, 0x14000001)
    raw = header + b"".join(
        struct.pack("<IIII", 5, 999_999, len(p), 2 * len(p)) + p for p in packets
    )
    recs, cap = read_all(io.BytesIO(raw))
    assert cap.linktype == LINKTYPE_ETHERNET and cap.snaplen == 0xFFFFFFFF
    out = io.BytesIO()
    with writer_like(cap, out) as w:
        for r in recs:
            w.write(r.ts_ns, r.data, r.direction, r.orig_len)
    assert out.getvalue() == raw


def test_modified_magic_pcap(packets: list[bytes]) -> None:
    body = b"".join(struct.pack("<IIII", 10, 5, len(p), len(p)) + bytes(8) + p for p in packets)
    raw = pcap_header("<", 0xA1B2CD34) + body
    recs, cap = read_all(io.BytesIO(raw))
    assert [r.data for r in recs] == packets and recs[0].ts_ns == 10_000_005_000
    out = io.BytesIO()
    with writer_like(cap, out) as w:
        for r in recs:
            w.write(r.ts_ns, r.data, r.direction, r.orig_len)
    assert out.getvalue()[:4] == struct.pack("<I", 0xA1B2C3D4)
    assert read_all(io.BytesIO(out.getvalue()))[0] == recs


# --------------------------------------------------------------------------- interop


def scapy_ether_packets() -> list:
    from scapy.all import ICMP, IP, UDP, Ether, Raw

    pkts = [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="10.1.0.1", dst="10.1.0.2")
        / ICMP(),
        Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
        / IP(src="10.1.0.2", dst="10.1.0.1")
        / ICMP(type=0),
        Ether() / IP(dst="10.1.0.9") / UDP(dport=9) / Raw(b"q" * 333),
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i + 0.25 * i  # exact in binary floating point
    return pkts


@needs_tcpdump
def test_scapy_and_tcpdump_files_rewrite_identically(tmp_path: Path) -> None:
    from scapy.all import wrpcap

    pkts = scapy_ether_packets()
    wrpcap(str(tmp_path / "scapy.pcap"), pkts)
    wrpcap(str(tmp_path / "scapy_ns.pcap"), pkts, nano=True)
    res = run(["tcpdump", "-r", str(tmp_path / "scapy.pcap"), "-w", str(tmp_path / "td.pcap")])
    assert res.returncode == 0, res.stderr
    res = run(
        [
            "tcpdump",
            "--time-stamp-precision=nano",
            "-r",
            str(tmp_path / "scapy_ns.pcap"),
            "-w",
            str(tmp_path / "td_ns.pcap"),
        ]
    )
    assert res.returncode == 0, res.stderr
    expected_ts = [int(Decimal(str(p.time)) * 10**9) for p in pkts]
    for name in ("scapy.pcap", "scapy_ns.pcap", "td.pcap", "td_ns.pcap"):
        src = tmp_path / name
        recs, cap = read_all(str(src))
        assert cap.linktype == LINKTYPE_ETHERNET and cap.nanosecond == ("ns" in name)
        assert [r.data for r in recs] == [bytes(p) for p in pkts]
        assert [r.ts_ns for r in recs] == expected_ts
        copy = tmp_path / f"copy-{name}"
        with read_capture(str(src)) as c, writer_like(c, str(copy)) as w:
            for r in c:
                w.write(r.ts_ns, r.data, r.direction, r.orig_len)
        assert copy.read_bytes() == src.read_bytes(), name


def test_scapy_pcapng_with_several_interfaces(tmp_path: Path) -> None:
    from scapy.utils import PcapNgWriter

    pkts = scapy_ether_packets()
    pkts[0].sniffed_on, pkts[0].direction = "tap0", 1
    pkts[1].sniffed_on, pkts[1].direction = "tap1", 2  # scapy adds a second IDB
    path = tmp_path / "scapy.pcapng"
    w = PcapNgWriter(str(path))
    for p in pkts:
        w.write(p)
    w.close()
    recs, cap = read_all(str(path))
    assert cap.format == "pcapng" and cap.linktype == LINKTYPE_ETHERNET
    assert len(cap.interfaces) == 3 and [i.name for i in cap.interfaces] == [None, "tap0", "tap1"]
    assert [r.data for r in recs] == [bytes(p) for p in pkts]
    assert [r.ts_ns for r in recs] == [int(Decimal(str(p.time)) * 10**9) for p in pkts]
    assert [r.direction for r in recs] == [INBOUND, OUTBOUND, None]
    # pcapng -> pcapng: packets, ns timestamps and directions survive
    assert [r.iface for r in recs] == [1, 2, 0]
    out = tmp_path / "copy.pcapng"
    with read_capture(str(path)) as c, writer_like(c, str(out)) as w2:
        assert copy_records(c, w2) == (3, 0)  # the IDB of tap1 comes after packets
    recs2, cap2 = read_all(str(out))
    assert recs2 == recs
    assert [(i.linktype, i.name) for i in cap2.interfaces] == [
        (i.linktype, i.name) for i in cap.interfaces
    ]


@needs_tshark
@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_tshark_reads_our_files(tmp_path: Path, packets: list[bytes], suffix: str) -> None:
    path = tmp_path / f"ts{suffix}"
    write_file(path, packets, nanosecond=True, ifname="tun3")
    rows = tshark_fields(
        path,
        "frame.number",
        "frame.time_epoch",
        "frame.packet_flags_direction",
        "frame.len",
        "ip.proto",
    )
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [Decimal(r[1]) for r in rows] == [Decimal(TS0 + i * 1_000_001) / 10**9 for i in range(5)]
    assert [int(r[3]) for r in rows] == [len(p) for p in packets]
    assert [r[4] for r in rows[:4]] == ["1", "1", "17", "6"]
    if suffix == ".pcapng":
        assert [int(r[2], 16) for r in rows] == [2, 1, 2, 1, 2]  # outbound / inbound
    else:
        assert {r[2] for r in rows} == {""}


@needs_tcpdump
@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_tcpdump_reads_our_files(tmp_path: Path, packets: list[bytes], suffix: str) -> None:
    path = tmp_path / f"td{suffix}"
    write_file(path, packets, ifname="tun3", snaplen=60)
    res = run(["tcpdump", "-nn", "-r", str(path)])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 5
    assert "IP 192.168.3.11 > 192.168.3.12: ICMP echo request, id 7, seq 1, length 64" in lines[0]
    assert "IP6 fd00::1 > fd00::2: ICMP6, echo request" in lines[4]
    assert "snapshot length 60" in res.stderr


@pytest.mark.skipif(shutil.which("mergecap") is None, reason="wireshark tools missing")
def test_wireshark_written_pcapng(tmp_path: Path, packets: list[bytes]) -> None:
    """editcap/mergecap output (Wireshark's own writer) reads back faithfully."""
    a, b = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    with open_writer(str(a), LINKTYPE_RAW, ifname="tun0") as w:
        for i, p in enumerate(packets):
            w.write(TS0 + 2 * i, p, OUTBOUND)
    with open_writer(str(b), LINKTYPE_RAW, ifname="tun1") as w:
        for i, p in enumerate(packets):
            w.write(TS0 + 2 * i + 1, p, INBOUND)
    merged = tmp_path / "m.pcapng"
    res = run(["mergecap", "-w", str(merged), str(a), str(b)])
    assert res.returncode == 0, res.stderr
    recs, cap = read_all(str(merged))
    assert [i.name for i in cap.interfaces] == ["tun0", "tun1"]
    assert [r.ts_ns for r in recs] == [TS0 + k for k in range(10)]
    assert [r.direction for r in recs] == [OUTBOUND, INBOUND] * 5
    assert [r.data for r in recs] == [p for p in packets for _ in (0, 1)]
    converted = tmp_path / "c.pcapng"
    write_file(tmp_path / "ns.pcap", packets, nanosecond=True)
    res = run(["editcap", "-F", "pcapng", str(tmp_path / "ns.pcap"), str(converted)])
    assert res.returncode == 0, res.stderr
    recs2, cap2 = read_all(str(converted))
    assert cap2.nanosecond and [r.ts_ns for r in recs2] == [TS0 + i * 1_000_001 for i in range(5)]
    eth = tmp_path / "eth.pcapng"
    with open_writer(str(eth), LINKTYPE_ETHERNET, ifname="tap0") as w:
        w.write(TS0, bytes(60))
    res = run(["mergecap", "-w", str(tmp_path / "mixed.pcapng"), str(a), str(eth)])
    assert res.returncode == 0, res.stderr
    recs3, cap3 = read_all(str(tmp_path / "mixed.pcapng"))
    assert [(i.linktype, i.name) for i in cap3.interfaces] == [
        (LINKTYPE_RAW, "tun0"),
        (LINKTYPE_ETHERNET, "tap0"),
    ]
    assert [(r.iface, r.data) for r in recs3] == [(1, bytes(60))] + [(0, p) for p in packets]


# --------------------------------------------------------------------------- fuzz

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(data: bytes) -> None:
    survive(data)


@FUZZ
@given(
    st.sampled_from(
        [b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x34\xcd\xb2\xa1"]
    ),
    st.binary(max_size=600),
)
def test_fuzz_random_bytes_after_magic(magic: bytes, data: bytes) -> None:
    survive(magic + data)


FUZZ_SEEDS = small_files(raw_ip_packets()[:3])
_BE_NG = (
    ng_shb(">")
    + ng_idb(1, 0, ng_opt(9, b"\x85", ">") + ng_end(">"), ">")
    + ng_block(3, struct.pack(">I", 9) + b"123456789", ">")
    + ng_block(2, struct.pack(">HH4I", 0, 0, 0, 3, 2, 2) + b"ab\0\0" + ng_flags(2, ">"), ">")
    + ng_epb(0, 99, b"xyz", ng_opt(14, struct.pack(">q", 3), ">") + ng_flags(1, ">"), ">")
)
FUZZ_SEEDS["pcapng-be"] = _BE_NG


@FUZZ
@given(
    st.sampled_from(sorted(FUZZ_SEEDS)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10_000),
)
def test_fuzz_mutated_valid_files(seed: str, mutations: list[tuple[int, int]], cut: int) -> None:
    raw = bytearray(FUZZ_SEEDS[seed])
    for where, value in mutations:
        raw[where % len(raw)] = value
    survive(bytes(raw))
    survive(bytes(raw[: cut % (len(raw) + 1)]))


def test_fuzz_seed_be_pcapng_is_valid() -> None:
    recs, cap = read_all(io.BytesIO(_BE_NG))
    assert cap.linktype == 1 and cap.byteorder == ">" and cap.nanosecond is False
    assert recs == [
        PcapRecord(0, b"123456789", 9, None),
        PcapRecord(3 * 10**9 // 32, b"ab", 2, OUTBOUND),
        PcapRecord(99 * 10**9 // 32, b"xyz", 3, INBOUND),  # option 14 means nothing in an EPB
    ]


# --------------------------------------------------------------------------- cost


def test_no_scapy_import_and_write_cost(tmp_path: Path) -> None:
    res = run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {ROOT!r}); "
            "import tapwatch.pcap; print('scapy' in sys.modules)",
        ]
    )
    assert res.stdout.strip() == "False", res.stderr
    # generous bound (the measured cost is ~1 us): catches an accidental slow path
    data = bytes(100)
    for suffix in (".pcap", ".pcapng"):
        with open_writer(str(tmp_path / f"c{suffix}"), LINKTYPE_RAW) as w:
            t0 = time.perf_counter()
            for i in range(20000):
                w.write(TS0 + i, data, OUTBOUND)
            per_write = (time.perf_counter() - t0) / 20000
        assert per_write < 20e-6, per_write


@pytest.mark.parametrize("magic", [0xA1B2C3D4, 0xA1B23C4D])
def test_extreme_timestamps_are_read_alike_by_every_loop(tmp_path: Path, magic: int) -> None:
    """Seconds up to 2**32-1 and any fraction (a hostile file's too) give the same
    nanoseconds whether the file is read record by record, in chunks or from a pipe."""
    mult = 1 if magic == 0xA1B23C4D else 1000
    stamps = [
        (0, 0),
        (1_700_000_000, 999_999),
        (1 << 30, 1),
        (0xFFFFFFFF, 999_999_999),
        (0x7FFF, 1 << 29),
        (0x8000, (1 << 29) - 1),
        (1_234_567_890, 0xFFFFFFFF),  # a fraction past a second: kept as the file says
    ]
    one = b"\x45" + bytes(19)
    body = b"".join(struct.pack("<IIII", s, f, len(one), len(one)) + one for s, f in stamps)
    src = tmp_path / "t.pcap"
    src.write_bytes(pcap_header("<", magic) + body)
    want = [s * 10**9 + f * mult for s, f in stamps]
    recs, _ = read_all(str(src))
    assert [r.ts_ns for r in recs] == want
    recs, _ = read_all(io.BytesIO(src.read_bytes()))  # the record-at-a-time loop
    assert [r.ts_ns for r in recs] == want
    with read_capture(str(src)) as cap:
        chunks = cap.chunks(3)
        assert chunks is not None
        assert [ts for c in list(chunks) for ts, _, _ in cap.read_chunk(c)] == want
