"""Checks shared by the capture file tests: hostile input survived, tshark's and tcpdump's
view of a file."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from tapwatch.pcap import MAX_BLOCK, MAX_CAPLEN, MAX_INTERFACES, PcapError, read_capture


class WatchedStream(io.BytesIO):
    """A stream that remembers the largest read it was asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read(self, n: int | None = -1) -> bytes:  # type: ignore[override]
        self.largest = max(self.largest, n if n is not None and n >= 0 else 1 << 62)
        return super().read(n)

    def read1(self, n: int = -1) -> bytes:  # type: ignore[override]
        self.largest = max(self.largest, n if n >= 0 else 1 << 62)
        return super().read1(n)


def survive(data: bytes) -> None:
    """Reading arbitrary bytes works or raises one line of PcapError, nothing else, and never
    asks for more than a bounded block or yields more than a bounded record."""
    stream = WatchedStream(data)
    try:
        with read_capture(stream) as cap:
            for rec in cap:
                assert isinstance(rec.data, bytes) and isinstance(rec.ts_ns, int)
                assert len(rec.data) <= MAX_CAPLEN
                assert rec.direction in (1, 2, None)
                assert 0 <= rec.iface < len(cap.interfaces) <= MAX_INTERFACES
                assert rec.comment is None or isinstance(rec.comment, str)
    except PcapError as exc:
        assert str(exc) and "\n" not in str(exc)
    assert stream.largest <= MAX_BLOCK


def tshark_fields(path: Path | str, *fields: str, display: str = "") -> list[list[str]]:
    """``tshark -n -r PATH -T fields -e F ... [-Y DISPLAY]``: one row of field values per
    packet (no name is resolved)."""
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields"]
    for field in fields:
        cmd += ["-e", field]
    if display:
        cmd += ["-Y", display]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    return [line.split("\t") for line in res.stdout.splitlines()]


def tcpdump_packets(path: Path | str, *flags: str) -> list[str]:
    """``tcpdump -nn FLAGS -r PATH``: its text per packet, without the timestamp
    (continuation lines joined by \\n); skips the test where tcpdump is not installed."""
    exe = shutil.which("tcpdump")
    if exe is None:
        pytest.skip("tcpdump not installed")
    out = subprocess.run(
        [exe, "-nn", *flags, "-r", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    packets: list[str] = []
    for line in out.splitlines():
        if len(line) > 15 and line[2] == ":" and line[5] == ":" and line[8] == ".":
            packets.append(line[16:])
        elif packets:
            packets[-1] += "\n" + line
    return packets
