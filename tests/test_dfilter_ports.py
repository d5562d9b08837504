"""The display filter's dissection choices: one explicit port table, the decoder's walk
where tcpdump and Wireshark choose alike.

``dissect.PORT_CHOICES`` and ``dissect.HEURISTIC_ORDER`` are the display filter's
per-port and heuristic choices (Wireshark's); the protocol modules bind their walkers by
name through them.  What a port then selects is checked against tshark by
tests/test_dfilter.py; here, that the tables are what the choice table says and that a
binding the table does not make is refused at import.  Behind 802.3 LLC/SNAP and a
PPPoE session the IP header is where the decoder's walk finds it: what the filters
select there is what tshark -Y selects on the same crafted frames (never sent).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import LLC, SNAP, STP, Dot1Q, Dot3, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.packet import Raw
from test_dfilter import needs_tshark, selected, tshark_selected_many

from tapwatch import pcap
from tapwatch.dfilter import dissect, registry
from tapwatch.linktypes import LINKTYPE_ETHERNET


@pytest.fixture(autouse=True)
def _loaded() -> None:
    registry._load()


def test_every_port_goes_where_the_table_says() -> None:
    for transport, table in (("udp", dissect.UDP_PORTS), ("tcp", dissect.TCP_PORTS)):
        choices = dissect.PORT_CHOICES[transport]
        assert set(table) == set(choices), transport
        by_name: dict[str, set[object]] = {}
        for port, name in choices.items():
            by_name.setdefault(name, set()).add(table[port])
        # one walker per protocol name, a different one for each name
        assert all(len(fns) == 1 for fns in by_name.values()), by_name
        assert len({next(iter(f)) for f in by_name.values()}) == len(by_name)
    assert len(dissect.UDP_HEURISTICS) == len(dissect.HEURISTIC_ORDER)


def test_a_binding_the_table_does_not_make_is_refused() -> None:
    def walker(pkt: object, d: bytes, off: int, end: int) -> None:
        return None

    with pytest.raises(ValueError, match="gives it no udp port"):
        dissect.bind_ports("udp", "no-such-protocol", walker)
    # a second walker for a port the table gives another protocol's walker
    with pytest.raises(ValueError, match="already bound"):
        dissect.bind_ports("udp", "dns", walker)
    with pytest.raises(ValueError, match="already bound"):
        dissect.bind(dissect.ETHERTYPES, (0x0800,), walker)
    with pytest.raises(ValueError, match="not in HEURISTIC_ORDER"):
        dissect.bind_heuristic("no-such-heuristic", lambda p, d, o, e: False)
    with pytest.raises(ValueError, match="bound twice"):
        dissect.bind_heuristic("wg", lambda p, d, o, e: False)
    assert dissect.UDP_PORTS[53].__name__ == "dns"  # nothing changed


M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
PKT = IP(src="10.0.0.1", dst="10.0.0.2", ttl=9) / UDP(sport=1234, dport=5000) / Raw(b"abc")


@needs_tshark
def test_ip_behind_llc_snap_and_pppoe_is_selected_as_tshark_selects_it(tmp_path: Path) -> None:
    frames = [
        Ether(src=M1, dst=M2) / PKT,
        Dot3(src=M1, dst=M2) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / PKT,
        Ether(src=M1, dst=M2, type=0x8864) / PPPoE(code=0, sessionid=5) / PPP(proto=0x0021) / PKT,
        Dot3(src=M1, dst="01:80:c2:00:00:00") / LLC(dsap=0x42, ssap=0x42, ctrl=3) / STP(),
        Ether(src=M1, dst=M2, type=0x8863) / PPPoE(code=9, sessionid=0),
        Dot3(src=M1, dst=M2) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0806),
        Ether(src=M1, dst=M2) / Dot1Q(vlan=7, type=0x8864) / PPPoE(sessionid=5) / PPP() / PKT,
    ]
    path = tmp_path / "llc.pcap"
    w = pcap.open_writer(str(path), LINKTYPE_ETHERNET)
    for i, f in enumerate(frames):
        w.write(10**18 + i, bytes(f), None, None, 0)
    w.close()
    exprs = [
        "ip",
        "udp",
        "eth",
        "ip.src == 10.0.0.1",
        "ip.ttl == 9",
        "udp.dstport == 5000",
        "ip && eth.src == 02:00:00:00:00:01",
        "!ip",
        "ipv6",
        "vlan.id == 7 && ip.ttl == 9",
        "vlan",
    ]
    theirs = tshark_selected_many(path, exprs, tmp_path)
    assert theirs[0] == [1, 2, 3, 7]  # the frames are what they are meant to be
    ours = [selected(path, e) for e in exprs]
    wrong = [(e, o, t) for e, o, t in zip(exprs, ours, theirs, strict=True) if o != t]
    assert not wrong, wrong
