"""The decoder's work and text on a frame built to make them grow: a stranger's packet of
64 KB may repeat a small part thousands of times, and each repetition must cost no more
than reading it (no text rebuilt per repetition, no list of every repetition kept)."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from test_tcpdump_parity import compare

from tapwatch.decode.core import Acc
from tapwatch.decode.ppp import pppoe


def pado(tags: bytes) -> bytes:
    """A PPPoE discovery offer (its header from the Ethernet payload on) carrying ``tags``."""
    return struct.pack("!BBHH", 0x11, 0x07, 0, len(tags)) + tags


def eth(ethertype: int, payload: bytes) -> bytes:
    return bytes.fromhex("020000000002020000000001") + struct.pack("!H", ethertype) + payload


def test_a_pado_of_16000_ac_names_says_them_within_tsharks_info_column() -> None:
    """tshark says every AC-Name, up to its Info column's 4096 characters; the decoder's Info
    had all 16,000 (192 KB, copied whole at each tag: 200 ms of one frame's decode)."""
    a = Acc()
    pppoe(pado(b"\x01\x02\x00\x00" * 16000), 0, a)
    assert a.info.startswith("Active Discovery Offer (PADO) AC-Name='' AC-Name=''")
    assert len(a.info) <= 4096 + len(" AC-Name=''")
    a = Acc()
    pppoe(pado(b"\x01\x02\x00\x03abc" * 3), 0, a)  # a few: every one, as tshark
    assert a.info == "Active Discovery Offer (PADO)" + " AC-Name='abc'" * 3


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_a_discovery_packet_of_thousands_of_tags_prints_as_tcpdump(tmp_path: Path) -> None:
    """Every tag said, joined once (the line grew at each tag: 16,000 tags of a 64 KB
    packet took 150-200 ms), as tcpdump says them, a list cut short too."""
    tags = b"".join(
        struct.pack("!HH", t, len(v)) + v
        for t, v in [(0x0101, b""), (0x0102, b"ac-\x1b[1m"), (0x0103, b"\x00\x01\x02")] * 1500
    )
    frames = [
        eth(0x8863, pado(tags)),
        eth(0x8863, pado(tags)[:-2]),  # the last tag cut short
        eth(0x8863, pado(b"\x01\x01\x00\x00" * 16000)[:1400]),
    ]
    path = tmp_path / "pppoe.pcap"
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 1, 0, len(fr), len(fr)) + fr)
    diffs, _per = compare(path, strict=True)
    assert not diffs
