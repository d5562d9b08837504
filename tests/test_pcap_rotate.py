"""File rotation as tcpdump's -C SIZE, -W N and -G SECONDS do it, names included.

Size rotation is checked against tcpdump itself: ``tcpdump -r IN -w NAME -C 1``
rotates offline, so the same packets give the same files, byte for byte. Time
rotation uses the wall clock (as tcpdump's ``time(NULL)``); the tests drive it
with a fake clock and check the strftime names and the -W limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from capture_checks import tshark_fields

from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.pcap import (
    FileLimitReached,
    PcapError,
    RotatingWriter,
    open_writer,
    parse_file_size,
    read_capture,
    rotation_name,
)
from tapwatch.pcap.rotate import count_digits

TS0 = 1_700_000_000_000_000_000
needs_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump missing")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark missing")


def packet(i: int) -> bytes:
    """Raw-IP packets of uneven sizes, numbered in their bytes."""
    return bytes([0x45]) + i.to_bytes(4, "big") + bytes(55 + (i * 397) % 1400)


def make_input(path: Path, count: int) -> None:
    with open_writer(str(path), LINKTYPE_RAW) as w:
        for i in range(count):
            w.write(TS0 + i * 1000, packet(i), Direction.OUTBOUND)


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_tcpdump_naming_rules() -> None:
    # -W N numbers with as many digits as N - 1 has (tcpdump's getWflagChars)
    assert [count_digits(n) for n in (1, 2, 10, 11, 100, 101, 1000)] == [0, 1, 1, 2, 2, 3, 3]
    assert rotation_name("cap.pcap", 0, 0, None) == "cap.pcap"
    assert rotation_name("cap.pcap", 3, 0, None) == "cap.pcap3"
    assert rotation_name("cap", 0, 2, None) == "cap00"
    assert rotation_name("cap", 7, 2, None) == "cap07"
    assert rotation_name("cap-%H", 0, 0, None) == "cap-%H"  # no -G: no strftime
    when = time.mktime((2024, 5, 6, 7, 8, 9, 0, 0, -1))
    assert rotation_name("cap-%Y%m%d-%H%M%S.pcapng", 0, 0, when) == "cap-20240506-070809.pcapng"
    assert rotation_name("cap-%H%M%S.pcap", 2, 1, when) == "cap-070809.pcap2"
    with pytest.raises(PcapError, match="empty string"):
        rotation_name("", 0, 0, None)


def test_file_size_argument() -> None:
    assert parse_file_size("1") == 1_000_000
    assert parse_file_size("25") == 25_000_000
    assert parse_file_size("512k") == 512 * 1024
    assert parse_file_size("2m") == 2 * 1024 * 1024
    assert parse_file_size("1g") == 1024**3
    for bad in ("0", "-1", "x", "1.5", "", "10K", "1e3"):
        with pytest.raises(PcapError, match="invalid file size"):
            parse_file_size(bad)


def run_tcpdump(args: list[str], cwd: Path) -> None:
    res = subprocess.run(
        ["tcpdump", "-Z", "root", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )
    assert res.returncode == 0, res.stderr


def rotate_like_tcpdump(src: Path, name: Path, **kw: object) -> RotatingWriter:
    with read_capture(str(src)) as cap:
        w = RotatingWriter(str(name), cap.linktype, snaplen=cap.snaplen, **kw)  # type: ignore[arg-type]
        with w:
            for rec in cap:
                w.write(rec.ts_ns, rec.data, rec.direction, rec.orig_len)
    return w


@needs_tcpdump
@pytest.mark.parametrize("count", [None, 3, 10, 11])
def test_size_rotation_matches_tcpdump(tmp_path: Path, count: int | None) -> None:
    """-C 1 (and -W N): the same file names as tcpdump, each file byte-identical."""
    src = tmp_path / "in.pcap"
    make_input(src, 5000)  # ~3.7 MB: four or five 1,000,000-byte files
    theirs, ours = tmp_path / "tcpdump", tmp_path / "tapwatch"
    theirs.mkdir()
    ours.mkdir()
    extra = ["-W", str(count)] if count else []
    run_tcpdump(["-r", str(src), "-w", "cap.pcap", "-C", "1", *extra], theirs)
    w = rotate_like_tcpdump(src, ours / "cap.pcap", file_size=1_000_000, file_count=count)
    names = sorted(os.listdir(theirs))
    assert sorted(os.listdir(ours)) == names
    assert len(w.files) == 4 and len(names) == (min(count, 4) if count else 4)
    expected = {
        None: ["cap.pcap", "cap.pcap1", "cap.pcap2", "cap.pcap3"],
        3: ["cap.pcap0", "cap.pcap1", "cap.pcap2", "cap.pcap0"],
        10: ["cap.pcap0", "cap.pcap1", "cap.pcap2", "cap.pcap3"],
        11: ["cap.pcap00", "cap.pcap01", "cap.pcap02", "cap.pcap03"],
    }[count]
    assert [os.path.basename(f) for f in w.files] == expected
    for name in names:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    assert w.count == 5000


def test_size_rotation_pcapng_files_are_whole_captures(tmp_path: Path) -> None:
    """Each pcapng file begins with its SHB and every IDB, also one added mid-capture."""
    base = tmp_path / "cap.pcapng"
    with RotatingWriter(str(base), LINKTYPE_RAW, ifname="tun0", file_size=100_000) as w:
        for i in range(200):
            w.write(TS0 + i, packet(i), Direction.INBOUND)
        assert w.add_interface(LINKTYPE_ETHERNET, "veth0") == 1
        for i in range(200, 400):
            iface = i % 2
            data = bytes(14) + packet(i) if iface else packet(i)
            w.write(TS0 + i, data, Direction.OUTBOUND, iface=iface)
    assert len(w.files) > 3 and w.files[0] == str(base) and w.files[1] == f"{base}1"
    seen = []
    for name in w.files:
        assert os.path.getsize(name) - 100_000 < 2000  # rotated once past the size
        with read_capture(name) as cap:
            recs = list(cap)
        assert cap.format == "pcapng" and recs
        if any(r.iface for r in recs):
            assert [i.name for i in cap.interfaces] == ["tun0", "veth0"]
        seen += [int.from_bytes(r.data[1 + 14 * r.iface :][:4], "big") for r in recs]
    assert seen == list(range(400))
    with read_capture(w.files[0]) as cap:
        assert [i.name for i in cap.interfaces] == ["tun0"]
    with read_capture(w.files[-1]) as cap:
        assert [i.name for i in cap.interfaces] == ["tun0", "veth0"]


@needs_tshark
def test_tshark_reads_rotated_pcapng(tmp_path: Path) -> None:
    w = RotatingWriter(str(tmp_path / "c.pcapng"), LINKTYPE_RAW, ifname="tun0", file_size=20_000)
    with w:
        w.add_interface(LINKTYPE_RAW, "tun1")
        for i in range(100):
            w.write(TS0 + i, packet(i), Direction.OUTBOUND, iface=i % 2)
    for name in w.files:
        assert {row[0] for row in tshark_fields(name, "frame.interface_name")} == {"tun0", "tun1"}


def test_time_rotation_names_and_limit(tmp_path: Path) -> None:
    """-G 60 -W 3: strftime names from each file's opening time, and the end after 3 files."""
    start = time.mktime((2024, 5, 6, 7, 8, 9, 0, 0, -1))
    clock = FakeClock(start)
    opened: list[str] = []
    w = RotatingWriter(
        str(tmp_path / "cap-%H%M%S.pcap"),
        LINKTYPE_RAW,
        seconds=60,
        file_count=3,
        clock=clock,
        on_new_file=opened.append,
    )
    w.write(TS0, packet(0))
    clock.now += 59.9  # same whole-second slot: tcpdump compares time(NULL) values
    w.write(TS0, packet(1))
    clock.now = start + 60
    w.write(TS0, packet(2))  # a new file, named for now
    clock.now = start + 200
    w.write(TS0, packet(3))
    clock.now = start + 300
    with pytest.raises(FileLimitReached, match="3"):
        w.write(TS0, packet(4))
    assert w.finished
    with pytest.raises(FileLimitReached):
        w.write(TS0, packet(5))
    w.close()
    names = [os.path.basename(f) for f in opened]
    assert names == ["cap-070809.pcap", "cap-070909.pcap", "cap-071129.pcap"]
    assert w.files == opened
    counts = []
    for name in opened:
        with read_capture(name) as cap:
            counts.append(len(list(cap)))
    assert counts == [2, 1, 1] and w.count == 4


def test_time_and_size_rotation_combined(tmp_path: Path) -> None:
    """-G with -C: size rotation inside each slot, numbered from 0 again in each slot."""
    start = time.mktime((2024, 5, 6, 7, 8, 9, 0, 0, -1))
    clock = FakeClock(start)
    w = RotatingWriter(
        str(tmp_path / "c-%M%S-"),
        LINKTYPE_RAW,
        seconds=10,
        file_size=3000,
        file_count=5,  # with -C: the ring of each slot, not a stop
        clock=clock,
    )
    with w:
        for _i in range(12):
            w.write(TS0, bytes(1000))
        clock.now += 10
        for _i in range(5):
            w.write(TS0, bytes(1000))
    names = [os.path.basename(f) for f in w.files]
    assert names == [
        "c-0809-0", "c-0809-1", "c-0809-2", "c-0809-3",
        "c-0819-0", "c-0819-1",
    ]  # fmt: skip
    assert not w.finished and w.count == 17


def test_without_time_no_strftime(tmp_path: Path) -> None:
    name = tmp_path / "cap-%H.pcap"
    with RotatingWriter(str(name), LINKTYPE_RAW, file_size=1000) as w:
        for _i in range(3):
            w.write(TS0, bytes(600))
    assert w.files == [str(name), f"{name}1"]


def test_rotation_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(PcapError, match="needs a file name"):
        RotatingWriter("-", LINKTYPE_RAW, file_size=10)
    with pytest.raises(PcapError, match="needs a size"):
        RotatingWriter(str(tmp_path / "x"), LINKTYPE_RAW)
    with pytest.raises(PcapError, match="invalid number of output files"):
        RotatingWriter(str(tmp_path / "x"), LINKTYPE_RAW, file_size=10, file_count=0)
    with pytest.raises(PcapError, match="does not exist"):
        RotatingWriter(str(tmp_path / "no" / "x"), LINKTYPE_RAW, seconds=10)
