"""A row's Info (tapwatch.rowinfo), which the list draws and the sort by Info compares, on
a stranger's text: escaped, and no longer than a line can show, however long the parts it
is made of (the decoder's Info, another input's note, a tunnel segment's inner frames)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from scapy.layers.inet import IP, UDP
from scapy.packet import Raw

from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.rowinfo import row_info, sort_info


def session(note: str | None, inner: list[bytes] | None) -> Any:
    view = SimpleNamespace(linktype_of=lambda frame: LINKTYPE_RAW)
    return SimpleNamespace(side_words=lambda rec: (note, inner), tunnel_view=view)


REC: Any = SimpleNamespace(seq=1)
HOSTILE = "[b]x[/b] [@click=app.quit] \x1b]0;owned\x07 \u202e"


def test_a_long_rows_info_is_cut_to_what_a_line_shows_and_escaped() -> None:
    """Every part at its longest (a tunnel segment's eight inner frames' lines, another
    input's note, the decoder's Info or a reassembled message's), alike up to their last
    characters in a stranger's capture: the row, and the key the sort compares, had them
    all (a sort holds the GIL for its comparisons)."""
    frame = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=9, dport=7) / Raw(b"x" * 30))
    s = session("tun1 0.1 ms before " + HOSTILE, [frame] * 8)
    info = row_info(s, REC, "Seq=1 " + HOSTILE * 500, None, "[TCP Retransmission]")
    assert info.startswith("[TCP Retransmission] tunnel 8 frames: IP 10.0.0.1.9 > 10.0.0.2.7")
    assert "| outer: [tun1 0.1 ms before [b]x[/b] [@click=app.quit] ^[]0;owned^G" in info
    assert len(info) == 2048 and info.isprintable()
    key = sort_info(s, None)(REC, "y" * 100_000)
    assert key == row_info(s, REC, "y" * 100_000, None, None) and len(key) == 2048


def test_a_plain_rows_info_is_its_decoders_escaped() -> None:
    info = row_info(session(None, None), REC, HOSTILE, None, None)
    assert info == "[b]x[/b] [@click=app.quit] ^[]0;owned^G \\u202e"  # markup stays text
