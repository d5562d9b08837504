"""802.11 frames built with scapy's own layers (never sent): regenerate with
``.venv/bin/python tests/corpus/wireless.py`` (no privileges needed).

``radiotap.pcap`` (link type 127): frames behind radiotap headers as monitor-mode drivers
write them (``scapy.layers.dot11``'s ``RadioTap``: TSFT, flags, rate, channel, signal and
noise in dBm and dB, lock quality, TX attenuation and power, antenna, RX flags, MCS, A-MPDU,
VHT, extended bitmaps, a vendor namespace, an FCS at the end, Atheros padding): the
management frames of a station joining a network (Beacon with SSID, rates and channel,
Probe Request/Response, Authentication, Association and Reassociation, Disassociation,
Deauthentication, Action), the control frames (RTS, CTS, Acknowledgment, Block Ack and
its request, PS-Poll, CF-End), data frames carrying IPv4, IPv6 and ARP over LLC/SNAP in
each To/From-DS direction, QoS data, null data, protected data, and cut-short frames.
``dot11.pcap`` (link type 105): some of the same frames without a radio header.
``eapol.pcap``: 802.1X on a wired port (EAPOL start and logoff, EAP identity,
notification, NAK, MD5, TLS, TTLS, FAST, SIM and AKA, success and failure), then lengths
that disagree and frames cut short; ``radiotap.pcap`` ends with WPA's four-way handshake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AP, STA, DST = "02:00:00:00:00:0a", "02:00:00:00:00:01", "02:00:00:00:00:02"
BCAST = "ff:ff:ff:ff:ff:ff"


def _frames() -> list[Any]:
    from scapy.layers.dot11 import (
        Dot11,
        Dot11AssoReq,
        Dot11AssoResp,
        Dot11Auth,
        Dot11Beacon,
        Dot11CCMP,
        Dot11Deauth,
        Dot11Disas,
        Dot11Elt,
        Dot11EltDSSSet,
        Dot11EltRates,
        Dot11ProbeReq,
        Dot11ProbeResp,
        Dot11QoS,
        Dot11ReassoReq,
        Dot11ReassoResp,
    )
    from scapy.layers.eap import EAPOL, EAPOL_KEY
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import ARP, LLC, SNAP
    from scapy.packet import Raw

    def mgmt(sub: int, addr1: str = BCAST, addr2: str = AP) -> Any:
        return Dot11(type=0, subtype=sub, addr1=addr1, addr2=addr2, addr3=AP, SC=16)

    def ctrl(sub: int, **kw: Any) -> Any:
        return Dot11(type=1, subtype=sub, **kw)

    ssid = Dot11Elt(ID="SSID", info=b"tunnel-lab")
    rates = Dot11EltRates(rates=[0x82, 0x84, 0x8B, 0x96, 0x0C, 0x12, 0x18, 0x24])
    chan = Dot11EltDSSSet(channel=6)
    ip = IP(src="192.168.3.11", dst="192.168.3.12") / ICMP(id=7, seq=1) / (b"x" * 16)
    bodies: list[Any] = [
        mgmt(8) / Dot11Beacon(cap=0x0401, beacon_interval=100) / ssid / rates / chan,
        mgmt(8) / Dot11Beacon(cap=0x0011) / Dot11Elt(ID="SSID", info=b"") / rates / chan,
        mgmt(8) / Dot11Beacon(cap=0x0002) / Dot11Elt(ID="SSID", info=b"caf\xc3\xa9\x01\x7f") / chan,
        mgmt(4, BCAST, STA) / Dot11ProbeReq() / ssid / rates,
        mgmt(4, BCAST, STA) / Dot11ProbeReq() / Dot11Elt(ID="SSID", info=b"") / rates,
        mgmt(5, STA, AP) / Dot11ProbeResp(cap=0x0431) / ssid / rates / chan,
        mgmt(11, AP, STA) / Dot11Auth(algo=0, seqnum=1, status=0),
        mgmt(11, STA, AP) / Dot11Auth(algo=0, seqnum=2, status=0),
        mgmt(11, STA, AP) / Dot11Auth(algo=1, seqnum=2, status=0) / Dot11Elt(ID=16, info=b"c" * 8),
        mgmt(11, AP, STA) / Dot11Auth(algo=1, seqnum=3, status=15),
        mgmt(11, STA, AP) / Dot11Auth(algo=7, seqnum=4, status=200),
        mgmt(0, AP, STA) / Dot11AssoReq(cap=0x0431, listen_interval=10) / ssid / rates,
        mgmt(1, STA, AP) / Dot11AssoResp(cap=0x0431, status=0, AID=0xC001) / rates,
        mgmt(1, STA, AP) / Dot11AssoResp(cap=0x0401, status=17, AID=0) / rates,
        mgmt(2, AP, STA) / Dot11ReassoReq(cap=0x0431, current_AP=AP) / ssid / rates,
        mgmt(3, STA, AP) / Dot11ReassoResp(cap=0x0431, status=0, AID=2),
        mgmt(10, STA, AP) / Dot11Disas(reason=8),
        mgmt(12, STA, AP) / Dot11Deauth(reason=3),
        mgmt(12, BCAST, AP) / Dot11Deauth(reason=200),
        mgmt(13, STA, AP) / Raw(b"\x03\x00\x01\x02\x10\x00\x00"),
        mgmt(13, STA, AP) / Raw(b"\x07\x01"),
        mgmt(13, STA, AP) / Raw(b"\x0f\x02"),
        mgmt(13, STA, AP) / Raw(b"\x7f\x05\x00\x10\x18"),
        mgmt(13, STA, AP) / Raw(b"\x20\x01"),
        mgmt(9, STA, AP),
        mgmt(14, STA, AP) / Raw(b"\x00\x01"),
        ctrl(11, addr1=AP, addr2=STA, ID=0x0100),
        ctrl(12, addr1=STA, ID=0x00F0),
        ctrl(13, addr1=STA),
        ctrl(9, addr1=STA, addr2=AP) / Raw(b"\x05\x00\x10\x00" + b"\xff" * 8),
        ctrl(8, addr1=AP, addr2=STA) / Raw(b"\x04\x00\x30\x01"),
        ctrl(10, addr1=AP, addr2=STA, ID=0xC005),
        ctrl(14, addr1=BCAST, addr2=AP),
        ctrl(15, addr1=BCAST, addr2=AP),
        ctrl(7, addr1=STA) / Raw(b"\x00" * 6),
        Dot11(type=2, subtype=0, FCfield=0x01, addr1=AP, addr2=STA, addr3=DST)
        / LLC()
        / SNAP()
        / ip,
        Dot11(type=2, subtype=0, FCfield=0x02, addr1=STA, addr2=AP, addr3=DST)
        / LLC()
        / SNAP()
        / IP(src="192.168.3.12", dst="192.168.3.11")
        / UDP(sport=5353, dport=9999)
        / b"hello",
        Dot11(type=2, subtype=0, addr1=STA, addr2=DST, addr3=AP)
        / LLC()
        / SNAP()
        / IPv6(src="fd00::1", dst="fd00::2")
        / ICMPv6EchoRequest(id=1, seq=2),
        Dot11(type=2, subtype=0, FCfield=0x03, addr1=AP, addr2=DST, addr3=STA, addr4=DST)
        / LLC()
        / SNAP()
        / ARP(hwsrc=STA, psrc="192.168.3.11", pdst="192.168.3.12"),
        Dot11(type=2, subtype=8, FCfield=0x01, addr1=AP, addr2=STA, addr3=DST)
        / Dot11QoS(TID=5)
        / LLC()
        / SNAP()
        / ip,
        Dot11(type=2, subtype=4, FCfield=0x11, addr1=AP, addr2=STA, addr3=AP),
        Dot11(type=2, subtype=12, FCfield=0x01, addr1=AP, addr2=STA, addr3=AP) / Dot11QoS(),
        Dot11(type=2, subtype=0, FCfield=0x41, addr1=AP, addr2=STA, addr3=DST)
        / Dot11CCMP(PN0=5, key_id=1, ext_iv=1, data=b"\x11" * 24),
        Dot11(type=2, subtype=0, FCfield=0x01, addr1=AP, addr2=STA, addr3=DST)
        / LLC()
        / SNAP(OUI=0, code=0x88B5)
        / Raw(b"\x01\x02\x03\x04"),
        Dot11(type=2, subtype=0, FCfield=0x01, addr1=AP, addr2=STA, addr3=DST)
        / LLC()
        / SNAP(OUI=0x00AABB, code=0x2000)
        / Raw(b"\x02\xb4"),
        Dot11(type=2, subtype=0, FCfield=0x0D, addr1=AP, addr2=STA, addr3=DST, ID=44)
        / LLC()
        / SNAP()
        / ip,
        Dot11(type=3, subtype=0, addr1=AP),
        ctrl(3, addr1=AP),
    ]
    # WPA's four-way handshake: EAPOL-Key frames in data frames (scapy.layers.eap)
    for i, (fc, a1, a2, key) in enumerate(
        (
            (0x02, STA, AP, EAPOL_KEY(key_descriptor_type=2, key_ack=1, key_type=1)),
            (0x01, AP, STA, EAPOL_KEY(key_descriptor_type=2, has_key_mic=1, key_type=1)),
            (0x02, STA, AP, EAPOL_KEY(key_descriptor_type=2, install=1, key_ack=1, key_type=1)),
            (0x01, AP, STA, EAPOL_KEY(key_descriptor_type=2, secure=1, key_type=1)),
        )
    ):
        data = Dot11(type=2, subtype=8, FCfield=fc, addr1=a1, addr2=a2, addr3=AP, SC=i << 4)
        bodies.append(data / Dot11QoS() / LLC() / SNAP() / EAPOL(version=2, type=3) / key)
    return bodies


def _radio(i: int) -> Any:
    """A different radiotap header for each frame, cycling through the field sets drivers use."""
    from scapy.layers.dot11 import RadioTap

    kinds = [
        dict(
            present="TSFT+Flags+Rate+Channel+dBm_AntSignal+dBm_AntNoise+Antenna",
            mac_timestamp=123456789 + i,
            Flags="ShortPreamble",
            Rate=2,
            ChannelFrequency=2437,
            ChannelFlags="CCK+2GHz",
            dBm_AntSignal=-42,
            dBm_AntNoise=-90,
            Antenna=1,
        ),
        dict(
            present="Flags+Channel+dBm_AntSignal+Antenna+RXFlags+MCS",
            Flags=0,
            ChannelFrequency=5180,
            ChannelFlags="OFDM+5GHz",
            dBm_AntSignal=-60,
            Antenna=0,
            RXFlags=0,
            knownMCS=0x3F,
            MCS_bandwidth=1,
            guard_interval=1,
            MCS_index=7,
            FEC_type=1,
            STBC_streams=1,
        ),
        dict(
            present="TSFT+Rate+Channel+Lock_Quality+ChannelPlus",
            mac_timestamp=2**40 + i,
            Rate=108,
            ChannelFrequency=2412,
            ChannelFlags="OFDM+2GHz",
            Lock_Quality=77,
            ChannelPlusFlags=0x10000 | 0xC0,
            ChannelPlusFrequency=2422,
            ChannelPlusNumber=3,
        ),
        dict(
            present="Flags+Rate+Channel+dBm_AntSignal+A_MPDU+VHT",
            Flags="CFP+wep+fragment",
            Rate=54,
            ChannelFrequency=5745,
            ChannelFlags="OFDM+5GHz+Turbo",
            dBm_AntSignal=-71,
            A_MPDU_ref=9,
            A_MPDU_flags=0,
            KnownVHT=0x44,
            PresentVHT=0x04,
            VHT_bandwidth=4,
            mcs_nss=[0x92, 0x31, 0, 0],
        ),
        dict(
            present="TSFT+Channel+Antenna+TXFlags",
            mac_timestamp=1,
            ChannelFrequency=2484,
            ChannelFlags="2GHz+Dynamic_CCK_OFDM",
            Antenna=2,
            TXFlags=0,
        ),
    ]
    return RadioTap(**kinds[i % len(kinds)])


def radiotap(path: Path) -> None:
    from scapy.layers.dot11 import RadioTap
    from scapy.utils import wrpcap

    frames = [bytes(_radio(i) / body) for i, body in enumerate(_frames())]
    beacon = bytes(_frames()[0])
    extra = [
        # an FCS at the end of the frame (radiotap flags 0x10), with and without Atheros padding
        bytes(RadioTap(present="Flags+Rate", Flags="FCS", Rate=12)) + beacon + b"\x12\x34\x56\x78",
        bytes(RadioTap(present="Flags+Rate", Flags="FCS+pad", Rate=12))
        + bytes(_frames()[40])[:26]
        + b"\0\0"
        + bytes(_frames()[40])[26:]
        + b"\x12\x34\x56\x78",
        bytes(RadioTap(present="Flags", Flags="badFCS+FCS")) + bytes(_frames()[28]) + b"\0\0\0\0",
        # a second presence word (radiotap namespace again), then a vendor namespace
        bytes.fromhex("0000 1800 0e000080 02000000 00000000")[:0] + _ext_header() + beacon,
        _vendor_header() + bytes(_frames()[29]),
        _hand_header() + bytes(_frames()[3]),
        # cut short: inside the radiotap header, inside a field, inside the frame
        bytes(_radio(0))[:6],
        bytes.fromhex("00001000") + bytes(12),
        bytes(RadioTap(present="TSFT", mac_timestamp=5))[:8] + b"\x08\x00",
        bytes(_radio(1) / _frames()[0])[: len(bytes(_radio(1))) + 30],
        bytes(_radio(1) / _frames()[0])[: len(bytes(_radio(1))) + 1],
        bytes(_radio(2) / _frames()[6])[: len(bytes(_radio(2))) + 27],
        bytes(_radio(3) / _frames()[35])[: len(bytes(_radio(3))) + 26],
        bytes(_radio(4) / _frames()[35])[: len(bytes(_radio(4))) + 30],
        bytes(_radio(4) / _frames()[41])[: len(bytes(_radio(4))) + 26],
        bytes(RadioTap(present="Flags", Flags="FCS")) + b"\x08\x00",
        bytes(RadioTap(present="Rate+TXFlags", Rate=2, TXFlags=0)) + bytes(_frames()[27]),
    ]
    wrpcap(str(path), frames + extra, linktype=127)  # raw bytes: some are cut short


def _ext_header() -> bytes:
    """Radiotap with three presence words: TSFT and rate, then radiotap again (bit 29)
    with the antenna signal, then an unknown bit of the next namespace."""
    words = [0x80000003 | 1 << 29, 0x80000020, 0x00000001]
    body = b"".join(w.to_bytes(4, "little") for w in words)
    fields = b"\0\0\0\0" + (77).to_bytes(8, "little") + b"\x04" + b"\xd6"
    hdr = b"\x00\x00" + (8 + 8 + len(fields)).to_bytes(2, "little") + body + fields
    return hdr


def _hand_header() -> bytes:
    """Radiotap fields scapy 2.x does not build: an MCS index in the rate byte, FHSS, TX
    attenuation (plain and in dB), TX power, antenna signal and noise in dB."""
    bits = 1 << 2 | 1 << 4 | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 12 | 1 << 13
    fields = b"\x87" + b"\x02\x05" + b"\x00" + (0xFFFD).to_bytes(2, "little") + b"\x80\xf6\x28\x06"
    return (
        b"\x00\x00" + (8 + len(fields)).to_bytes(2, "little") + bits.to_bytes(4, "little") + fields
    )


def _vendor_header() -> bytes:
    """Radiotap: rate, then a vendor namespace (bit 30) whose 4 bytes are skipped, then
    back to the radiotap namespace with the antenna signal."""
    w1 = 0x00000004 | 1 << 30 | 1 << 31
    w2 = 0x00000000 | 1 << 29 | 1 << 31
    w3 = 0x00000020
    words = b"".join(w.to_bytes(4, "little") for w in (w1, w2, w3))
    fields = b"\x0c" + b"\x00" + b"\x00\x10\x18\x01" + (4).to_bytes(2, "little") + b"ABCD" + b"\xc9"
    return b"\x00\x00" + (4 + len(words) + len(fields)).to_bytes(2, "little") + words + fields


def dot11(path: Path) -> None:
    from scapy.utils import wrpcap

    bodies = _frames()
    picks = [
        bodies[i] for i in (0, 3, 5, 6, 11, 12, 17, 19, 26, 27, 28, 29, 35, 36, 37, 38, 40, 41, 43)
    ]
    frames = [bytes(b) for b in picks] + [bytes(bodies[0])[:1], bytes(bodies[0])[:20]]
    wrpcap(str(path), frames, linktype=105)


def eapol(path: Path) -> None:
    """802.1X on a wired port (scapy.layers.eap): start, identity, MD5, TLS, TTLS, FAST and
    PEAP exchanges, success, failure, logoff, and the malformed lengths tcpdump names."""
    from scapy.layers.eap import EAP, EAP_FAST, EAP_MD5, EAP_TLS, EAP_TTLS, EAPOL
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    sup, auth, pae = "02:00:00:00:00:01", "02:00:00:00:00:0a", "01:80:c2:00:00:03"

    def out(frame: Any, src: str = sup, dst: str = pae) -> bytes:
        return bytes(Ether(src=src, dst=dst) / frame)

    frames = [
        out(EAPOL(version=1, type=1)),
        out(EAPOL(version=2) / EAP(code=1, id=1, type=1), auth, sup),
        out(EAPOL(version=2) / EAP(code=2, id=1, type=1, identity=b"alice@example.org")),
        out(EAPOL(version=2) / EAP(code=1, id=2, type=2) / b"hello\x01", auth, sup),
        out(EAPOL(version=2) / EAP(code=2, id=2, type=3, desired_auth_types=[13, 21, 99])),
        out(EAPOL(version=2) / EAP_MD5(code=1, id=3, value=b"\x11" * 16), auth, sup),
        out(EAPOL(version=2) / EAP_TLS(code=1, id=4, S=1), auth, sup),
        out(EAPOL(version=2) / EAP_TLS(code=2, id=4, L=1, M=1, tls_message_len=3000) / (b"t" * 40)),
        out(EAPOL(version=2) / EAP_TTLS(code=1, id=5, S=1, version=1), auth, sup),
        out(EAPOL(version=2) / EAP_FAST(code=1, id=6, S=1, version=1), auth, sup),
        out(EAPOL(version=2) / EAP(code=1, id=7, type=18) / b"\x0a\x00\x00", auth, sup),
        out(EAPOL(version=2) / EAP(code=2, id=7, type=23) / b"\x01\x00\x00"),
        out(EAPOL(version=2) / EAP(code=3, id=8), auth, sup),
        out(EAPOL(version=2) / EAP(code=4, id=9), auth, sup),
        out(EAPOL(version=2) / EAP(code=9, id=9), auth, sup),
        out(EAPOL(version=2) / EAP(code=1, id=10, type=4), auth, sup),
        out(EAPOL(version=1, type=2)),
        out(EAPOL(version=3, type=4) / (b"\x00" * 4)),
        out(EAPOL(version=2, type=9)),
        # the EAPOL length disagrees with EAP's; EAP's length under its header; cut short
        out(EAPOL(version=2, len=9) / EAP(code=2, id=1, type=1, identity=b"bob")),
        out(EAPOL(version=2, len=2) / b"\x01\x01\x00\x02"),
        out(EAPOL(version=2, len=4) / b"\x01\x01\x00\x04"),
        out(EAPOL(version=2, len=0)),
        out(EAPOL(version=2) / EAP(code=2, id=1, type=1, identity=b"carol"))[:22],
        out(EAPOL(version=2) / EAP_TLS(code=1, id=4, L=1) / b"\x00\x00")[:25],
        out(EAPOL(version=2) / b"\x02\x01\x00\x06\x02"),
        out(EAPOL(version=2) / b"\x02\x01\x00\x05\x0d"),
        out(EAPOL(version=2) / b"\x02\x01\x00\x07\x15\x80\x00"),
    ]
    wrpcap(str(path), frames, linktype=1)


if __name__ == "__main__":
    radiotap(HERE / "radiotap.pcap")
    dot11(HERE / "dot11.pcap")
    eapol(HERE / "eapol.pcap")
