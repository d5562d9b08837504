"""The packet list's line reads the frame's one header walk: its layers are the walk's
names (what the counters count), and its headers' boundaries are where the walk put them.

Before, the line's text path kept its own list of layers beside the walk: a PPP control
frame showed "PPP" in the list while the counters counted "LCP", a Cisco HDLC frame of an
unknown type had an "other" layer the counters did not have, and so on for 2% of tcpdump's
own test captures.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from capture_checks import tshark_fields

from tapwatch import decode, pcap

CORPUS = Path(__file__).resolve().parent / "corpus"


def _corpus() -> Iterator[tuple[str, int, bytes]]:
    for path in sorted(CORPUS.glob("*.pcap")):
        with pcap.read_capture(str(path)) as reader:
            for i, rec in enumerate(reader):
                if i >= 400:
                    break
                yield f"{path.name}#{i + 1}", reader.linktype, bytes(rec.data)


def _mutated(data: bytes, rnd: random.Random) -> Iterator[bytes]:
    yield data
    for _ in range(3):
        b = bytearray(data)
        if not b:
            return
        if rnd.random() < 0.3:
            del b[rnd.randrange(len(b) + 1) :]
        else:
            for _ in range(rnd.randrange(1, 4)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
        yield bytes(b)


def test_the_list_and_the_counters_name_the_same_layers() -> None:
    rnd = random.Random(22)
    seen = 0
    differ: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for name, lt, data in _corpus():
        for frame in _mutated(data, rnd):
            seen += 1
            listed = decode.summarize(frame, lt).layers
            counted = decode.layers(frame, lt)
            if listed != counted:
                differ.append((name, listed, counted))
    assert seen > 2000
    assert not differ, differ[:5]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_a_ppp_control_frame_is_listed_under_its_control_protocol_as_tshark_has_it() -> None:
    path = CORPUS / "ppp.pcap"
    theirs = [row[0].split(":")[-1] for row in tshark_fields(path, "frame.protocols")]
    with pcap.read_capture(str(path)) as reader:
        ours = [decode.summarize(bytes(r.data), reader.linktype).proto for r in reader]
    control = {"lcp", "ipcp", "ipv6cp", "chap", "pap"}
    pairs = [(t, o) for t, o in zip(theirs, ours, strict=True) if t in control]
    assert len(pairs) >= 15
    words = {"ipv6cp": "IP6CP"}
    assert [o for _t, o in pairs] == [words.get(t, t.upper()) for t, _o in pairs]
