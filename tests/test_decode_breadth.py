"""Hostile input against the decoders of tunnel hosts' control protocols and link types: every
packet of their corpus files (tests/corpus/tunnelctl.py, links.py, wireless.py, l2tpctl.py
and openflow13.py), cut at every offset and mutated, through the one-line decoder at
tcpdump's -v levels. Nothing may reach the decoder's last resort ("decoder error"): the
explicit length checks must catch it all.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tapwatch import decode, pcap

CORPUS = Path(__file__).resolve().parent / "corpus"
#: the corpus files of these decoders, each with the layer its packets must name
FILES = {
    "pptp.pcap": "PPTP",
    "isakmp1.pcap": "ISAKMP",
    "ike.pcap": "ISAKMP",
    "overlay.pcap": "VXLAN-GPE",
    "lisp.pcap": "LISP",
    "openflow.pcap": "OpenFlow",
    "arcnet.pcap": "ARCNET",
    "arcnet-linux.pcap": "ARCNET",
    "dsa.pcap": "DSA",
    "edsa.pcap": "EDSA",
    "brcm.pcap": "BRCM",
    "brcm-prepend.pcap": "BRCM",
    "ikev2.pcap": "ISAKMP",
    "radiotap.pcap": "802.11",
    "dot11.pcap": "802.11",
    "l2tpctl.pcap": "L2TP",
    "openflow13.pcap": "OpenFlow",
    "eapol.pcap": "EAPOL",
}


def _records(name: str) -> tuple[int, list[bytes]]:
    with pcap.read_capture(str(CORPUS / name)) as reader:
        return reader.linktype, [rec.data for rec in reader]


def _text(data: bytes, lt: int, verbose: int) -> str:
    text = decode.line_text(data, lt, decode.TcpFlows(), True, verbose=verbose)
    # every byte of the packet reaches the line escaped: nothing outside ' '..'~' but the
    # line breaks and tabs of tcpdump's -v layout and hex dumps
    assert all(" " <= c <= "~" or c in "\n\t" for c in text), (data.hex(), text)
    return text


@pytest.mark.parametrize("name", sorted(FILES))
def test_corpus_names_the_layer(name: str) -> None:
    lt, frames = _records(name)
    assert sum(FILES[name] in decode.layers(f, lt) for f in frames) >= 4


@pytest.mark.parametrize("name", sorted(FILES))
def test_cut_at_every_offset_never_reaches_the_last_resort(name: str) -> None:
    lt, frames = _records(name)
    for frame in frames:
        for cut in range(len(frame)):
            for verbose in (0, 1, 2):
                text = _text(frame[:cut], lt, verbose)
                assert "decoder error" not in text, (name, frame.hex(), cut, text)
            decode.layers(frame[:cut], lt)


@pytest.mark.parametrize("name", sorted(FILES))
def test_seeded_mutations_never_reach_the_last_resort(name: str) -> None:
    lt, frames = _records(name)
    rng = random.Random(name)
    for i in range(3000):
        buf = bytearray(frames[i % len(frames)])
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            if op < 0.7 and buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            elif op < 0.85:
                del buf[rng.randrange(len(buf) + 1) :]
            else:
                buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 24)))
        data = bytes(buf)
        text = _text(data, lt, i % 3)
        assert "decoder error" not in text, (name, data.hex(), text)
        decode.layers(data, lt)


@pytest.mark.parametrize("name", ["radiotap.pcap", "dot11.pcap"])
def test_tree_of_wireless_frames(name: str) -> None:
    """scapy's layers dissect both link types for the tree; radiotap's fields get the bytes
    they sit in (aligned from the header's start), whatever the frame after it."""
    lt, frames = _records(name)
    for frame in frames:
        nodes = decode.detail(frame, lt)
        assert not any("failed" in n.label or "unavailable" in n.label for n in nodes), nodes
        assert all(0 <= n.start <= n.end <= len(frame) for n in nodes)
    first = decode.detail(frames[0], lt)
    if lt == 127:
        radio = first[0]
        assert radio.label.startswith("RadioTap")
        fields = {c.label.split(":")[0]: (c.start, c.end) for c in radio.children}
        assert fields["Mac timestamp"] == (8, 16)  # TSFT right after the presence word
        assert "123456789" in next(c.label for c in radio.children if "timestamp" in c.label)
    assert any(n.label.startswith("802.11") for n in first)
