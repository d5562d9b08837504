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
from tapwatch.decode.node import MAX_NODES
from tapwatch.decode.summary import line_text
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


NEW_DECODERS = (
    "radiotap.pcap",
    "dot11.pcap",
    "eapol.pcap",
    "l2tpctl.pcap",
    "openflow.pcap",
    "openflow13.pcap",
    "routing.pcap",
    "ikev2.pcap",
    "isakmp1.pcap",
)


def test_fuzz_new_decoders_never_fall_back() -> None:
    """Seeded mutations of the corpus' 802.11, EAPOL, L2TP, OpenFlow, routing and IKE
    packets (lengths set to 0, 0xff, small values; cut; extended) through the list's line
    and the printers' -v/-vv text: never the last-resort line; one line in the list's
    info column."""
    import random
    from pathlib import Path

    from tapwatch.pcap.reader import read_capture

    corpus = Path(__file__).parent / "corpus"
    rng = random.Random(20261207)
    for name in NEW_DECODERS:
        cap = read_capture(str(corpus / name))
        lts = [i.linktype for i in cap.interfaces]
        recs = [(r.data, lts[r.iface]) for r in cap]
        cap.close()
        for data, lt in rng.sample(recs, min(16, len(recs))):
            for _ in range(16):
                buf = bytearray(data)
                for _ in range(rng.randint(1, 5)):
                    op = rng.random()
                    if op < 0.5 and buf:
                        p = rng.randrange(len(buf))
                        buf[p] = rng.choice((0, 0xFF, 0x7F, 1, 4, rng.randrange(256)))
                    elif op < 0.75:
                        del buf[rng.randrange(len(buf) + 1) :]
                    else:
                        buf += rng.randbytes(rng.randint(1, 32))
                m = bytes(buf)
                s = summarize(m, lt)
                assert "decoder error" not in s.text, (name, m.hex())
                assert "\n" not in s.info, (name, m.hex())  # the list's column
                for v in (1, 2):
                    text = line_text(m, lt, None, False, verbose=v)
                    assert "decoder error" not in text, (name, v, m.hex())


def test_any_list_line_is_cut_to_a_bound() -> None:
    """What no item bound covers (a TFTP request's 15,000 options: a 100 KB line) is cut
    at MAX_BRIEF_TEXT in the list's summary, saying how much more; the printers say it
    all."""
    from tapwatch.decode.summary import MAX_BRIEF_TEXT

    rrq = b"\x00\x01boot.img\x00octet\x00" + b"a\x00b\x00" * 15000
    data = _udp(40000, 69, rrq)
    s = summarize(data, LINKTYPE_RAW)
    assert len(s.text) <= MAX_BRIEF_TEXT + 40 and len(s.info) <= MAX_BRIEF_TEXT + 40
    assert s.text.endswith("characters more)") and s.text.startswith("IP 10.0.0.1.40000 > ")
    assert len(line_text(data, LINKTYPE_RAW, None, False)) > 10 * MAX_BRIEF_TEXT
