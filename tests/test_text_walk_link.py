"""The link-layer and PPP texts take their headers' boundaries from the frame's one walk.

``decode.walk`` (the walk the counters, the tree and the display filter read) is the one
reader of where a link header ends: Ethernet's, each VLAN tag's, 802.2 LLC's and SNAP's, an
802.3 length's end, the cooked headers', PPPoE's (its header and its length field's end),
PPP's (address, control, protocol field), Cisco HDLC's, Frame Relay's, radiotap's and
802.11's.  Each test here moves one such boundary in the walk handed to the link type's
text (``Acc.w``, what the entry points set) over bytes put there on purpose, and shows the
text now decodes what follows from the moved place: a text that reads the length or size
itself decodes the bytes the walk stepped over and fails.  The tree's VLAN tag, where the
frame's walk does not reach it, is walked from the tag and matches tshark.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from capture_checks import tshark_fields
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.utils import PcapWriter

from tapwatch import decode
from tapwatch.decode import core, ws_tunnel
from tapwatch.decode.core import Walk
from tapwatch.decode.tree import detail
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL

_E = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
#: the packet every frame carries: its addresses in a text say it was decoded
_IP = bytes(IP(src="10.9.8.7", dst="10.9.8.6") / ICMP())
_SEEN = "10.9.8.7 > 10.9.8.6: ICMP echo request"


def _text(frame: bytes, lt: int, w: Walk, lean: bool = True) -> str:
    """The link type's text of ``frame`` given the walk ``w`` (as the entry points give it)."""
    a = core.Acc(None, False, lean)
    a.w = w
    link, body = core.LINKTYPES[lt].text(frame, a)
    return link + body


def _layer(w: Walk, name: str, off: int) -> int:
    for i, (n, s) in enumerate(zip(w.names, w.starts, strict=True)):
        if n == name and s == off:
            return i
    raise AssertionError(
        f"{name} at {off} not in the walk: {list(zip(w.names, w.starts, strict=True))}"
    )


def _move_head(w: Walk, name: str, off: int, to: int) -> None:
    w.heads[_layer(w, name, off)] = to


def _moved(frame: bytes, lt: int, name: str, off: int, to: int, lean: bool = True) -> str:
    """The text with the header ``name`` at ``off`` ending at ``to`` instead of the walk's."""
    w = decode.walk(frame, lt)
    _move_head(w, name, off, to)
    return _text(frame, lt, w, lean)


def test_ethernet_text_starts_its_payload_where_the_walk_ends_the_header() -> None:
    # four bytes between the header and the IP packet; the last two repeat the type
    frame = bytes(Ether(**_E, type=0x0800)) + b"\xde\xad\x08\x00" + _IP
    assert _SEEN not in _text(frame, LINKTYPE_ETHERNET, decode.walk(frame, LINKTYPE_ETHERNET))
    assert _SEEN in _moved(frame, LINKTYPE_ETHERNET, "Ethernet", 0, 18)
    assert _SEEN in _moved(frame, LINKTYPE_ETHERNET, "Ethernet", 0, 18, lean=False)


def test_vlan_tag_text_goes_on_where_the_walk_ends_the_tag() -> None:
    frame = bytes(Ether(**_E) / Dot1Q(vlan=7, type=0x0800)) + b"\xde\xad\xbe\xef" + _IP
    assert _SEEN not in _text(frame, LINKTYPE_ETHERNET, decode.walk(frame, LINKTYPE_ETHERNET))
    text = _moved(frame, LINKTYPE_ETHERNET, "802.1Q", 14, 22, lean=False)
    assert "vlan 7, p 0, ethertype IPv4 (0x0800), " in text
    assert _SEEN.removeprefix("IP ") in text


def _snap_frame(extra: bytes) -> bytes:
    """802.3 with LLC/SNAP carrying IPv4, ``extra`` between SNAP's header and the packet."""
    llc = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + extra + _IP
    return bytes(Ether(**_E, type=len(llc))) + llc


def test_snap_text_reads_the_packet_where_the_walk_ends_snaps_header() -> None:
    frame = _snap_frame(b"\x00\x00\x08\x00")
    w = decode.walk(frame, LINKTYPE_ETHERNET)
    assert _SEEN not in _text(frame, LINKTYPE_ETHERNET, w)
    llc = _layer(w, "LLC", 14)
    for i in range(0, len(w.inner), 3):  # SNAP: the header inside LLC's layer
        if w.inner[i + 2] == llc:
            assert (w.inner[i], w.inner[i + 1]) == (17, 22)
            w.inner[i + 1] = 26
    assert _SEEN in _text(frame, LINKTYPE_ETHERNET, w)


def test_llc_text_ends_where_the_walk_ends_the_8023_length() -> None:
    frame = _snap_frame(b"")
    w = decode.walk(frame, LINKTYPE_ETHERNET)
    assert f"length {len(_IP)}: " in _text(frame, LINKTYPE_ETHERNET, w, lean=False)
    llc = _layer(w, "LLC", 14)
    i = w.ends.index(llc, 0)  # (layer, end) pairs: the 802.3 length's end of LLC
    w.ends[i + 1] -= 5
    assert f"length {len(_IP) - 5}: " in _text(frame, LINKTYPE_ETHERNET, w, lean=False)
    # and an LLC header the moved length cuts short is cut short
    w.ends[i + 1] = 16
    assert _text(frame, LINKTYPE_ETHERNET, w, lean=False).endswith("[|llc]")


def test_llc_text_reads_stp_where_the_walk_ends_the_llc_header() -> None:
    bpdu = bytes(35)  # a config BPDU: protocol 0, version 0 (802.1d), type 0
    llc = b"\x42\x42\x03" + b"\x00\x00\x07" + bpdu  # three bytes: a version 7 before it
    frame = bytes(Ether(**_E, type=len(llc))) + llc
    w = decode.walk(frame, LINKTYPE_ETHERNET)
    assert "Unknown STP protocol (0x07)" in _text(frame, LINKTYPE_ETHERNET, w)
    _move_head(w, "LLC", 14, 20)
    assert "STP 802.1d, Config, Flags [none]" in _text(frame, LINKTYPE_ETHERNET, w)


def test_cooked_text_starts_its_payload_where_the_walk_ends_the_header() -> None:
    sll = struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\1\0\0", 0x0800)
    frame = sll + b"\xde\xad\xbe\xef" + _IP
    assert _SEEN not in _text(frame, LINKTYPE_LINUX_SLL, decode.walk(frame, LINKTYPE_LINUX_SLL))
    assert _SEEN in _moved(frame, LINKTYPE_LINUX_SLL, "SLL", 0, 20)


def test_ppp_text_reads_the_packet_where_the_walk_ends_the_protocol_field() -> None:
    frame = b"\xff\x03\x00\x21" + b"\xde\xad" + _IP  # LINKTYPE_PPP
    assert _SEEN not in _text(frame, 9, decode.walk(frame, 9))
    assert _SEEN in _moved(frame, 9, "PPP", 0, 6)


def test_pppoe_text_reads_ppp_where_the_walk_ends_its_header_and_payload() -> None:
    ppp = b"\x00\x00" + b"\x00\x21" + _IP  # two bytes the walk reads as a protocol field
    frame = b"\x11\x00\x00\x05" + struct.pack("!H", len(ppp)) + ppp  # LINKTYPE_PPP_ETHER
    w = decode.walk(frame, 51)
    assert _SEEN not in _text(frame, 51, w)
    _move_head(w, "PPPoE", 0, 8)  # PPP from there: a frame the walk did not reach there
    assert not w.has(8, "PPP")
    assert _SEEN in _text(frame, 51, w)
    assert w.header_end(8, "PPP") == 10  # walked from there, and taken into the frame's walk
    # the payload's end is the walk's (its length field's, as it read it)
    w = decode.walk(frame, 51)
    i = w.ends.index(_layer(w, "PPPoE", 0), 0)
    w.ends[i + 1] = len(frame) + 9
    assert f"[len {len(ppp) + 9} > {len(ppp)}!]" in _text(frame, 51, w)


def test_chdlc_text_reads_the_packet_where_the_walk_ends_the_header() -> None:
    frame = b"\x0f\x00\x08\x00" + b"\x00\x00\x08\x00" + _IP
    assert _SEEN not in _text(frame, 104, decode.walk(frame, 104))
    assert _SEEN.removeprefix("IP ") in _moved(frame, 104, "CHDLC", 0, 8)


def test_frame_relay_text_reads_the_packet_where_the_walk_ends_the_header() -> None:
    q922 = b"\x18\x41"  # DLCI 100
    frame = q922 + b"\x03\xcc" + b"\x00\xcc" + _IP
    assert _SEEN not in _text(frame, 107, decode.walk(frame, 107))
    assert _SEEN.removeprefix("IP ") in _moved(frame, 107, "FR", 0, 6)


def _dot11_data(extra: bytes) -> bytes:
    """An 802.11 data frame (24-byte header), ``extra`` before its LLC/SNAP and IPv4."""
    hdr = struct.pack("<HH", 0x0008, 0) + bytes.fromhex("020000000002020000000001020000000003")
    return hdr + b"\x00\x00" + extra + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + _IP


def test_dot11_text_reads_the_body_where_the_walk_ends_the_mac_header() -> None:
    # four bytes that start as an LLC/SNAP header too (the walk reads one there, of an
    # unknown OUI): the headers after the moved end are where the walk has them, moved
    frame = _dot11_data(b"\xaa\xaa\x03\x00")
    w = decode.walk(frame, 105)
    assert _SEEN not in _text(frame, 105, w)
    _move_head(w, "802.11", 0, 28)
    for i in range(0, len(w.inner), 3):  # its LLC and SNAP headers follow the MAC header's end
        w.inner[i] += 4
        w.inner[i + 1] += 4
    assert _SEEN in _text(frame, 105, w)


def test_dot11_text_reads_snaps_packet_where_the_walk_ends_snaps_header() -> None:
    hdr = _dot11_data(b"")[:24]
    frame = hdr + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + b"\xde\xad\x08\x00" + _IP
    w = decode.walk(frame, 105)
    assert _SEEN not in _text(frame, 105, w)
    for i in range(0, len(w.inner), 3):  # SNAP: a header inside the frame's layer
        if w.inner[i] == 27:
            assert w.inner[i + 1] == 32
            w.inner[i + 1] = 36
    assert _SEEN in _text(frame, 105, w)


def test_radiotap_text_reads_the_frame_where_the_walk_ends_the_radio_header() -> None:
    radio = b"\x00\x00\x08\x00\x00\x00\x00\x00"  # version 0, length 8, no fields
    frame = radio + b"\xde\xad\xbe\xef" + _dot11_data(b"")
    assert _SEEN not in _text(frame, 127, decode.walk(frame, 127))
    # the 802.11 frame from there: one the walk did not reach, walked from its offset
    assert _SEEN in _moved(frame, 127, "Radiotap", 0, 12)


# ----------------------------------------------------------------------------- the tree

#: a tag after a cooked header's type: the frame's walk does not go into it
_SLL_TAGGED = struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\1\0\0", 0x8100) + bytes(
    Dot1Q(prio=5, vlan=321) / IP(src="10.9.8.7", dst="10.9.8.6") / ICMP()
)
#: nine tags: the walk reads MAX_VLAN_TAGS (8), the ninth is past its reach
_NINE_TAGS = bytes(
    Ether(**_E)
    / Dot1Q(vlan=11)
    / Dot1Q(vlan=12)
    / Dot1Q(vlan=13)
    / Dot1Q(vlan=14)
    / Dot1Q(vlan=15)
    / Dot1Q(vlan=16)
    / Dot1Q(vlan=17)
    / Dot1Q(vlan=18)
    / Dot1Q(vlan=19)
    / IP(src="10.9.8.7", dst="10.9.8.6")
    / ICMP()
)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
@pytest.mark.parametrize(
    ("frame", "lt"),
    [(_SLL_TAGGED, LINKTYPE_LINUX_SLL), (_NINE_TAGS, LINKTYPE_ETHERNET)],
    ids=["after a cooked header", "past MAX_VLAN_TAGS"],
)
def test_tree_tag_the_walk_does_not_reach_is_walked_from_the_tag(
    frame: bytes, lt: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[int] = []
    real = ws_tunnel.tags_walk

    def spy(d: bytes, p: int, t: int, out: Walk) -> None:
        walked.append(p)
        real(d, p, t, out)

    monkeypatch.setattr(ws_tunnel, "tags_walk", spy)
    tags = [n for n in detail(frame, lt) if n.label.startswith("802.1Q Virtual LAN")]
    path = tmp_path / "tagged.pcap"
    with PcapWriter(str(path), linktype=lt) as out:
        out.write(frame)
    ids = tshark_fields(path, "vlan.id")[0][0].split(",")
    assert [t.label.rsplit("ID: ", 1)[1] for t in tags] == ids
    reached = decode.walk(frame, lt)
    missed = [t.start for t in tags if not reached.has(t.start, "802.1Q")]
    assert missed and walked == missed  # the tree asked a walk from the tag, not a size
    for t in tags:  # each tag ends where the walk from it ends it; the next starts there
        sub = Walk(None, True, True)
        real(frame, t.start, 0x8100, sub)
        assert t.end == sub.header_end(t.start, "802.1Q") == t.start + 4
