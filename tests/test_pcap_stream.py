"""Reading a capture from a live pipe: each record as soon as its last byte has arrived.

``ssh host tapwatch -w - | tapwatch -r -`` must show packets as they come, so
the reader may never wait for more input than the record it is reading. A
child process reads standard input (as ``-r -`` does) and reports each record;
the test writes the next record only after the previous one was reported,
each split in pieces with pauses between them.
"""

from __future__ import annotations

import io
import itertools
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.pcap import open_writer

ROOT = str(Path(__file__).resolve().parents[1])
TS0 = 1_700_000_000_000_000_000

READER = r"""
import sys
from tapwatch.pcap import read_capture
cap = read_capture("-")
for rec in cap:
    name = cap.interfaces[rec.iface].name
    print(rec.iface, name, len(rec.data), rec.data[-1], flush=True)
print("end", cap.count, cap.truncated, flush=True)
"""


def capture_pieces(fmt: str) -> tuple[bytes, list[bytes]]:
    """The file header (with its interfaces) and each later block or record, apart."""
    out = io.BytesIO()
    pieces: list[bytes] = []
    with open_writer(out, LINKTYPE_RAW, ifname="tun0", fmt=fmt) as w:
        w.flush()
        header = out.getvalue()
        for i in range(6):
            before = len(out.getvalue())
            if i == 3 and fmt == "pcapng":
                w.add_interface(LINKTYPE_ETHERNET, "veth0")  # an IDB between packets
            size = 40 + 300 * i
            w.write(
                TS0 + i,
                bytes([0x45]) + bytes(size - 2) + bytes([i]),
                Direction.INBOUND,
                iface=1 if i >= 3 and fmt == "pcapng" else 0,
            )
            w.flush()
            pieces.append(out.getvalue()[before:])
    return header, pieces


def read_line(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> list[str]:
    """The reader's next line, or a failure if it does not come (a reader waiting for more)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the record was not read although all its bytes were written"
    return proc.stdout.readline().decode().split()


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_each_record_is_read_before_the_next_is_written(fmt: str) -> None:
    header, pieces = capture_pieces(fmt)
    proc = subprocess.Popen(
        [sys.executable, "-c", READER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for k, piece in enumerate(pieces):
            data = (header if k == 0 else b"") + piece
            # in three parts, cut inside the header and inside the packet
            cuts = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
            for a, b in itertools.pairwise(cuts):
                proc.stdin.write(data[a:b])
                proc.stdin.flush()
                time.sleep(0.02)
            line = read_line(proc)
            iface = 1 if k >= 3 and fmt == "pcapng" else 0
            name = ("veth0" if iface else "tun0") if fmt == "pcapng" else "None"
            assert line == [str(iface), name, str(40 + 300 * k), str(k)], (k, line)
        proc.stdin.close()
        assert read_line(proc) == ["end", "6", "False"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode in (0, -9), proc.stderr.read() if proc.stderr else ""
