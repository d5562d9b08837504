"""The flag words the tree shows, written once, are tshark's words for the same bits.

IPv4's flags and TCP's flags are worded in one place each (``fields.IP_FLAG_WORDS``,
``fields.TCP_FLAG_WORDS``, ``depth.TCP_BITS``): the tshark-worded builders and the
fallback formatters both read them.  tshark ``-V`` on a crafted packet with the bits set is
the reference.  Nothing is sent: the packet is written to a file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.utils import wrpcap

from tapwatch.decode import detail
from tapwatch.decode.depth import TCP_BITS
from tapwatch.decode.fields import IP_FLAG_WORDS, TCP_FLAG_WORDS, _ip_flags, _tcp_flags
from tapwatch.linktypes import LINKTYPE_RAW

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark is not installed: it is this test's oracle"
)


def _labels(nodes: list) -> list[str]:  # type: ignore[type-arg]
    out = []
    for n in nodes:
        out.append(n.label)
        out.extend(_labels(n.children))
    return out


def test_flag_words_are_tsharks(tmp_path: Path) -> None:
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", flags=6) / TCP(flags=0x1FF)
    path = tmp_path / "flags.pcap"
    wrpcap(str(path), [pkt])
    r = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-V"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    theirs = {line.strip().split(" = ", 1)[-1] for line in r.stdout.splitlines()}
    for bit, word in IP_FLAG_WORDS:
        assert f"{word}: {'Set' if 6 & bit else 'Not set'}" in theirs, word
    for mask, name, _byte in TCP_BITS:
        assert f"{name}: {'Set' if 0x1FF & mask else 'Not set'}" in theirs, name
    words = ", ".join(TCP_FLAG_WORDS)
    assert f"Flags: 0x1ff ({words})" in theirs
    # the fallback formatters (a header scapy words) say the same words
    assert _ip_flags(6) == "0x06 (Reserved bit, Don't fragment)"
    assert _tcp_flags(0x1FF) == f"0x1ff ({words})"
    # and the tree, built by the tshark-worded builders, shows tshark's lines
    ours = set()
    for label in _labels(detail(bytes(pkt), LINKTYPE_RAW)):
        ours.add(label.split(" = ", 1)[-1])
    for line in ("Flags: 0x6, Reserved bit, Don't fragment", f"Flags: 0x1ff ({words})"):
        assert line in theirs and line in ours, line
