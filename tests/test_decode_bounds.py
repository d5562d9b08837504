"""The decoder's work and text on a frame built to make them grow: a stranger's packet of
64 KB may repeat a small part thousands of times, and each repetition must cost no more
than reading it (no text rebuilt per repetition, no list of every repetition kept)."""

from __future__ import annotations

import struct

from tapwatch.decode.core import Acc
from tapwatch.decode.ppp import pppoe


def pado(tags: bytes) -> bytes:
    """A PPPoE discovery offer (its header from the Ethernet payload on) carrying ``tags``."""
    return struct.pack("!BBHH", 0x11, 0x07, 0, len(tags)) + tags


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
