"""Hostile packets whose items repeat (thousands of OpenFlow messages, L2TP AVPs, DHCP
options in one packet): the packet list's line stays short; the printers say it all.

The list decodes its rows on the UI thread and keeps their summaries (text and info)
in the session's cache: a 64 KB segment of 8-byte OpenFlow messages made a 400 KB line
twice over in 150-210 ms.  Built by hand (struct), never sent.
"""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, TCP, UDP
from scapy.packet import Raw

from tapwatch.decode import Node, detail, summarize
from tapwatch.decode.core import MAX_BRIEF_ITEMS
from tapwatch.decode.summary import line_text
from tapwatch.decode.tree import MAX_NODES
from tapwatch.linktypes import LINKTYPE_RAW


def _tcp(sport: int, dport: int, payload: bytes) -> bytes:
    return bytes(
        IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=sport, dport=dport, flags="PA")
        / Raw(payload)
    )


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=sport, dport=dport) / Raw(payload))


HELLO = struct.pack("!BBHI", 4, 0, 8, 1)  # OpenFlow 1.3 HELLO, 8 bytes


def test_many_openflow_messages_make_a_short_list_line() -> None:
    data = _tcp(40000, 6653, HELLO * 8000)
    s = summarize(data, LINKTYPE_RAW)
    assert s.text.count("type HELLO") == MAX_BRIEF_ITEMS
    assert s.text.endswith(f"... {8 * (8000 - MAX_BRIEF_ITEMS)} bytes more")
    assert len(s.text) < 4096 and len(s.info) < 4096
    # a few messages: all of them, as before
    few = summarize(_tcp(40000, 6653, HELLO * 3), LINKTYPE_RAW)
    assert few.text.count("type HELLO") == 3 and "more" not in few.text
    # the printers (tcpdump's text) still say every message
    assert line_text(data, LINKTYPE_RAW, None, False).count("type HELLO") == 8000


def test_many_l2tp_avps_make_a_short_list_line() -> None:
    avps = struct.pack("!HHH", 0x8006, 0, 0) * 10000  # 10,000 empty AVPs
    data = _udp(1701, 1701, struct.pack("!HHHHHH", 0xC802, 12 + len(avps), 0, 0, 0, 0) + avps)
    s = summarize(data, LINKTYPE_RAW)
    assert s.text.endswith(f"... {6 * (10000 - MAX_BRIEF_ITEMS)} bytes more")
    assert len(s.text) < 4096 and not s.malformed
    assert line_text(data, LINKTYPE_RAW, None, False).count("(") >= 10000


def test_thirty_thousand_dhcp_options_print_in_linear_time() -> None:
    """-vv printed each option by growing one string: 3.2 s for this packet (0.44 s now).
    No timing here: the text is checked, the time is in the commit."""
    opts = b"\x0c\x00" * 30000  # Hostname, length 0
    data = _udp(67, 68, bytes(236) + b"\x63\x82\x53\x63" + opts)
    text = line_text(data, LINKTYPE_RAW, None, False, verbose=2)
    assert text.count("Hostname (12), length 0") == 30000


def _lines(nodes: list[Node]) -> int:
    return sum(1 + _lines(n.children) for n in nodes)


def test_a_tree_of_thousands_of_fields_is_bounded() -> None:
    """4 KB of 3-byte BGP path attributes made 9,150 tree lines, put in place on the UI
    thread (a 780 ms stall); the tree keeps MAX_NODES and says how many it left out."""
    attrs = struct.pack("!BBB", 0x40, 200, 0) * 1300
    update = struct.pack("!HH", 0, len(attrs)) + attrs
    bgp = b"\xff" * 16 + struct.pack("!HB", 19 + len(update), 2) + update
    nodes = detail(_tcp(179, 40000, bgp), LINKTYPE_RAW)
    assert _lines(nodes) <= MAX_NODES + 8  # (one "more" line per level cut)
    flat = [nodes]
    labels = []
    while flat:
        level = flat.pop()
        labels += [n.label for n in level]
        flat += [n.children for n in level]
    assert any(label.endswith("more lines not shown]") for label in labels)
    # an ordinary packet's tree is whole
    assert not any("not shown" in n.label for n in detail(_tcp(179, 40000, bgp[:60]), 101))
