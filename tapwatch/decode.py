"""Packet decoding: a fast one-line summary for the hot path, scapy for the tree.

Two very different jobs live here:

* :func:`summarize` and :func:`layers` run for every visible list row, every
  packet printed headless and every packet counted, so they are hand-written with
  ``struct`` and slicing and never touch scapy.  Measured on the 2-core dev box
  (CPython 3.11, ``timeit`` with ``time.process_time``, best of 25 x 40k calls,
  while other jobs shared the CPUs)::

      summarize  IPv4/UDP 2.9 us   IPv4/ICMP echo 3.0 us   IPv6/ICMPv6 echo 3.1 us
                 IPv4/UDP/DNS query 6.8 us   Ether/IPv4/TCP SYN with 5 options 7.8 us
      layers     IPv4/UDP 0.9 us   IPv4/ICMP echo 0.6 us   Ether/IPv4/TCP SYN 0.8 us
      format_line 0.5 us (local time cached per second)

  (tcpdump -nn itself prints ~330k lines/s; the summary is in the same league, and
  the list view only decodes the rows on screen.)

  Deliberate differences from ``tcpdump -nn`` (each decodes one packet with no
  flow state): TCP sequence numbers are absolute, as with ``-S``; IPv4 fragments
  get an old-style ``(frag ID:LEN@OFFSET+)`` note and IPv6 fragment headers the
  ``-v`` form ``frag (0xID:OFF|LEN)``; DHCP adds the message type (``, DHCP
  Discover``); routing headers print as ``RT6 (len=, type=, segleft=)``; protocols
  tcpdump dissects further (GRE, IGMP, LLDP, ...) print as ``GRE, length N``.
  With ``-e`` tcpdump drops the ``IP `` word after the link header; we keep it.

* :func:`detail` and :func:`verbose_text` dissect the one *selected* packet with
  scapy (imported lazily, only the layer modules needed: ~0.3 s) and map every layer
  and field back to byte offsets in the original frame, so the hex view can
  highlight what the tree selects.

Nothing in here may raise on hostile input: a capture is attacker-controlled
data.  Truncation is handled explicitly (tcpdump-style ``[|udp]`` markers and
``malformed=True``); a broad ``except`` stays behind that as the last resort.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import time
from socket import AF_INET6, inet_ntoa, inet_ntop
from typing import Any, NamedTuple

from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

__all__ = [
    "Node",
    "Summary",
    "detail",
    "format_line",
    "layers",
    "summarize",
    "verbose_text",
]


class Summary(NamedTuple):
    """What the packet list, the headless printer and the counters need of a packet.

    ``text`` is the tcpdump ``-nn`` body, ``link`` the ``-e`` prefix (empty for raw
    IP, and empty when ``text`` already had to describe the link header because the
    payload could not be decoded).
    """

    proto: str
    src: str
    dst: str
    info: str
    layers: tuple[str, ...]
    malformed: bool
    text: str
    link: str


#: ``Summary(...)`` goes through a Python-level ``__new__``; the hot path skips it.
_new_summary = tuple.__new__


class Node(NamedTuple):
    """One line of the protocol tree; ``start``/``end`` are byte offsets into the frame."""

    label: str
    start: int
    end: int
    children: list[Node]


# --------------------------------------------------------------------------- tables

_S_IP4 = struct.Struct("!BBHHHBBH4s4s")
_S_IP6 = struct.Struct("!HBB16s16s")
_S_UDP = struct.Struct("!HHH")
_S_TCP = struct.Struct("!HHIIHHHH")
_S_HH = struct.Struct("!HH")
_S_H = struct.Struct("!H")
_S_I = struct.Struct("!I")
_S_II = struct.Struct("!II")
_S_ARP = struct.Struct("!HHBBH")
_S_DNS = struct.Struct("!HHHHHH")
_S_RR = struct.Struct("!HHIH")
_S_SLL = struct.Struct("!HHH8sH")
_S_SLL2 = struct.Struct("!HHIHBB8s")

_VLAN_TYPES = {0x8100: "802.1Q", 0x88A8: "802.1ad", 0x9100: "802.1Q"}
_MAX_VLAN_TAGS = 8
_MAX_IP_DEPTH = 3  # IP-in-IP nesting we follow before giving up
_MAX_EXT_HEADERS = 16

#: ethertype -> tcpdump's name, used in the ``-e`` link text.
_ETHERTYPE_NAMES = {
    0x0800: "IPv4",
    0x0806: "ARP",
    0x86DD: "IPv6",
    0x8100: "802.1Q",
    0x88A8: "802.1Q-QinQ",
    0x9100: "802.1Q-9100",
    0x8035: "Reverse ARP",
    0x88CC: "LLDP",
    0x888E: "EAPOL",
    0x8863: "PPPoE D",
    0x8864: "PPPoE S",
    0x8847: "MPLS unicast",
    0x8848: "MPLS multicast",
    0x88F7: "PTP",
    0x8809: "Slow Protocols",
    0x8137: "IPX",
    0x88E5: "MACsec",
    0x8902: "CFM",
}
#: ethertypes recognised but not decoded further -> layer name.
_ETHER_OTHER_LAYERS = {
    0x88CC: "LLDP",
    0x888E: "EAPOL",
    0x8863: "PPPoE",
    0x8864: "PPPoE",
    0x8847: "MPLS",
    0x8848: "MPLS",
    0x88F7: "PTP",
    0x8809: "Slow",
    0x8137: "IPX",
    0x88E5: "MACsec",
    0x8902: "CFM",
}
#: IP protocol numbers recognised but not decoded further -> layer name.
_IPPROTO_NAMES = {
    2: "IGMP",
    4: "IPv4",
    41: "IPv6",
    47: "GRE",
    50: "ESP",
    51: "AH",
    89: "OSPF",
    103: "PIM",
    112: "VRRP",
    132: "SCTP",
    136: "UDPLite",
}
_IPPROTO_WS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", **_IPPROTO_NAMES}

_DNS_PORTS = frozenset((53, 5353))
_DHCP_PORTS = frozenset((67, 68))
_HTTP_PORTS = frozenset((80, 8000, 8080, 3128))
_HTTP_STARTS = (
    b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ",
    b"CONNECT ", b"TRACE ", b"HTTP/1.",
)

_SLL_PKTTYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}
_NULL_FAMILIES = {2: "IPv4", 10: "IPv6", 24: "IPv6", 28: "IPv6", 30: "IPv6"}


def _tcp_flag_tables() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Precompute tcpdump (``S.``) and Wireshark (``SYN, ACK``) flag strings for all 512 values.

    tcpdump prints FIN SYN RST PSH ACK URG ECE CWR in that order ("[SEW]"), and
    Wireshark lists names low bit first as well; a table lookup beats a loop per packet.
    """
    td_chars = "FSRP.UEW"
    ws_names = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE")
    td: list[str] = []
    ws: list[str] = []
    for v in range(512):
        td.append("".join(c for i, c in enumerate(td_chars) if v >> i & 1) or "none")
        ws.append(", ".join(n for i, n in enumerate(ws_names) if v >> i & 1) or "<None>")
    return tuple(td), tuple(ws)


_TCP_TD, _TCP_WS = _tcp_flag_tables()

_ICMP_UNREACH = {
    0: ("net {} unreachable", "Network unreachable"),
    1: ("host {} unreachable", "Host unreachable"),
    2: ("{} protocol {} unreachable", "Protocol unreachable"),
    3: ("{} port {} unreachable", "Port unreachable"),
    4: ("{} unreachable - need to frag", "Fragmentation needed"),
    5: ("{} unreachable - source route failed", "Source route failed"),
    6: ("net {} unreachable - unknown", "Destination network unknown"),
    7: ("host {} unreachable - unknown", "Destination host unknown"),
    8: ("{} unreachable - source host isolated", "Source host isolated"),
    9: ("net {} unreachable - admin prohibited", "Network administratively prohibited"),
    10: ("host {} unreachable - admin prohibited", "Host administratively prohibited"),
    11: ("net {} unreachable - tos prohibited", "Network unreachable for TOS"),
    12: ("host {} unreachable - tos prohibited", "Host unreachable for TOS"),
    13: ("host {} unreachable - admin prohibited filter",
         "Communication administratively filtered"),
    14: ("host {} unreachable - host precedence violation", "Host precedence violation"),
    15: ("host {} unreachable - precedence cutoff", "Precedence cutoff in effect"),
}
_ICMP_SIMPLE = {
    4: ("source quench", "Source quench (flow control)"),
    9: ("router advertisement", "Router advertisement"),
    10: ("router solicitation", "Router solicitation"),
    15: ("information request", "Information request"),
    16: ("information reply", "Information reply"),
    17: ("address mask request", "Address mask request"),
}
_ICMP6_NAMES = {
    1: ("destination unreachable", "Destination Unreachable"),
    2: ("packet too big", "Packet Too Big"),
    3: ("time exceeded", "Time Exceeded"),
    4: ("parameter problem", "Parameter Problem"),
    128: ("echo request", "Echo (ping) request"),
    129: ("echo reply", "Echo (ping) reply"),
    130: ("multicast listener query", "Multicast Listener Query"),
    131: ("multicast listener report", "Multicast Listener Report"),
    132: ("multicast listener done", "Multicast Listener Done"),
    133: ("router solicitation", "Router Solicitation"),
    134: ("router advertisement", "Router Advertisement"),
    135: ("neighbor solicitation", "Neighbor Solicitation"),
    136: ("neighbor advertisement", "Neighbor Advertisement"),
    137: ("redirect", "Redirect"),
    138: ("router renumbering", "Router Renumbering"),
    139: ("who-are-you request", "Node Information Query"),
    140: ("who-are-you reply", "Node Information Reply"),
    141: ("inverse neighbor solicitation", "Inverse Neighbor Discovery Solicitation"),
    142: ("inverse neighbor advertisement", "Inverse Neighbor Discovery Advertisement"),
    143: ("multicast listener report v2", "Multicast Listener Report Message v2"),
    144: ("ha discovery request", "Home Agent Address Discovery Request"),
    145: ("ha discovery reply", "Home Agent Address Discovery Reply"),
    146: ("mobile router solicitation", "Mobile Prefix Solicitation"),
    147: ("mobile router advertisement", "Mobile Prefix Advertisement"),
    151: ("multicast router advertisement", "Multicast Router Advertisement"),
    152: ("multicast router solicitation", "Multicast Router Solicitation"),
    153: ("multicast router termination", "Multicast Router Termination"),
}
_ICMP6_UNREACH = {
    0: ("unreachable route", "no route to destination"),
    1: ("unreachable prohibited", "communication with destination administratively prohibited"),
    2: ("beyond scope", "beyond scope of source address"),
    3: ("unreachable address", "address unreachable"),
    4: ("unreachable port", "port unreachable"),
    5: ("source address failed ingress/egress policy", "source address failed policy"),
    6: ("reject route to destination", "reject route to destination"),
}

_DNS_TYPES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC", 33: "SRV",
    35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 41: "OPT", 42: "APL",
    43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
    49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 59: "CDS", 60: "CDNSKEY",
    64: "SVCB", 65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG", 251: "IXFR",
    252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA",
}
_DNS_CLASSES = {1: "IN", 3: "CHAOS", 4: "HS", 254: "NONE", 255: "ANY"}
_DNS_OPS_TD = (
    "", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8",
    " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef",
)
_DNS_OPS_WS = {
    0: "Standard query", 1: "Inverse query", 2: "Server status request",
    4: "Zone change notification", 5: "Dynamic update",
}
_DNS_RCODES_TD = (
    "", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain",
    " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13",
    " Resp14", " NoChange",
)
_DNS_RCODES_WS = {
    1: "Format error", 2: "Server failure", 3: "No such name", 4: "Not implemented",
    5: "Refused", 6: "Name exists", 7: "RRset exists", 8: "RRset does not exist",
    9: "Not authoritative", 10: "Name out of zone",
}
_DNS_MAX_RECORDS = 64  # records parsed per message; beyond that the summary says "..."
_DNS_MAX_SHOWN = 8  # records listed in one summary line

_DHCP_TYPES = {
    1: "Discover", 2: "Offer", 3: "Request", 4: "Decline", 5: "ACK", 6: "NAK",
    7: "Release", 8: "Inform", 9: "Force Renew", 10: "Lease Query",
    11: "Lease Unassigned", 12: "Lease Unknown", 13: "Lease Active",
}
_ARP_OPS = {
    1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
    8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply",
}


class _Trunc(Exception):
    """Internal: the data ended inside a structure (maps to a ``[|proto]`` marker)."""


class _Bad(Exception):
    """Internal: a structure is present but invalid (maps to ``[malformed ...]``)."""


class _Acc:
    """Mutable scratch state of one summarize() call (cheaper than returning tuples)."""

    __slots__ = ("bad", "dst", "info", "layers", "src")

    def __init__(self) -> None:
        self.layers: list[str] = []
        self.src = ""
        self.dst = ""
        self.info = ""
        self.bad = False


def _ntop6(b: bytes) -> str:
    return inet_ntop(AF_INET6, b)


_ETYPE_STR = {t: f"ethertype {n} (0x{t:04x})" for t, n in _ETHERTYPE_NAMES.items()}


def _etype_str(t: int) -> str:
    """tcpdump's ``ethertype IPv4 (0x0800)``."""
    return _ETYPE_STR.get(t) or f"ethertype Unknown (0x{t:04x})"


# --------------------------------------------------------------------------- summarize


def summarize(data: bytes, linktype: int) -> Summary:
    """Decode ``data`` (one frame of ``linktype``) into a :class:`Summary`; never raises.

    Why hand-written: this runs for every packet printed and every visible row, where
    scapy's ~250 µs per packet would cap us at a few thousand packets per second.
    """
    try:
        if type(data) is not bytes:
            data = bytes(data)
        return _summarize(data, linktype)
    except Exception as exc:  # last resort, the explicit checks should win
        n = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
        return Summary(
            "unknown", "", "", f"[Malformed Packet: decoder error {type(exc).__name__}]",
            ("other",), True, f"[malformed: decoder error {type(exc).__name__}], length {n}", "",
        )


def _summarize(d: bytes, lt: int) -> Summary:
    a = _Acc()
    link = ""
    if lt == LINKTYPE_RAW:
        v = d[0] >> 4 if d else -1
        if v == 4:
            text = _ipv4(d, 0, len(d), a, 0)
        elif v == 6:
            text = _ipv6(d, 0, len(d), a, 0)
        else:
            a.layers.append("other")
            a.bad = True
            text = "[|ip]" if v < 0 else f"[malformed: not IP (version {v})], length {len(d)}"
    elif lt == LINKTYPE_ETHERNET:
        link, text = _ether(d, a)
    elif lt == LINKTYPE_IPV4:
        text = _ipv4(d, 0, len(d), a, 0)
    elif lt == LINKTYPE_IPV6:
        text = _ipv6(d, 0, len(d), a, 0)
    elif lt == LINKTYPE_LINUX_SLL:
        link, text = _sll(d, a)
    elif lt == LINKTYPE_LINUX_SLL2:
        link, text = _sll2(d, a)
    elif lt == LINKTYPE_NULL:
        link, text = _null(d, a)
    else:
        a.layers.append("other")
        text = f"link type {lt}, length {len(d)}"
    lay = a.layers
    proto = lay[-1] if lay and lay[-1] != "other" else (lay[-2] if len(lay) > 1 else "unknown")
    info = a.info or text
    if a.bad and not info.endswith("[Malformed Packet]"):
        info += " [Malformed Packet]"
    return _new_summary(Summary, (proto, a.src, a.dst, info, tuple(lay), a.bad, text, link))


def _ether(d: bytes, a: _Acc) -> tuple[str, str]:
    """Ethernet II / 802.3, with any number (up to 8) of 802.1Q/802.1ad tags."""
    a.layers.append("Ethernet")
    n = len(d)
    if n < 14:
        a.bad = True
        if n >= 12:
            a.dst = d[0:6].hex(":")
            a.src = d[6:12].hex(":")
            return "", f"{a.src} > {a.dst}, length {n}: [|ether]"
        return "", f"[|ether], length {n}"
    dst = d[0:6].hex(":")
    src = d[6:12].hex(":")
    a.src = src
    a.dst = dst
    t = d[12] << 8 | d[13]
    if t <= 1500:
        return _llc(d, 14, a, f"{src} > {dst}, 802.3, length {n}: ")
    link = f"{src} > {dst}, {_etype_str(t)}, length {n}: "
    off = 14
    tags = 0
    while t in _VLAN_TYPES and tags < _MAX_VLAN_TAGS:
        a.layers.append(_VLAN_TYPES[t])
        tags += 1
        if n < off + 4:
            a.bad = True
            return "", f"{link}[|vlan]"
        tci, t = _S_HH.unpack_from(d, off)
        off += 4
        dei = ", DEI" if tci & 0x1000 else ""
        link += f"vlan {tci & 0xFFF}, p {tci >> 13}{dei}, {_etype_str(t)}, "
    text = _ethertype(d, off, t, a)
    if text is None:
        return "", f"{link.rstrip(': ,')}, length {n - off}" if tags else link.rstrip(": ")
    return link, text


def _llc(d: bytes, off: int, a: _Acc, link: str) -> tuple[str, str]:
    """802.2 LLC (with SNAP carrying an ethertype, and STP recognised by its SAP)."""
    a.layers.append("LLC")
    n = len(d)
    if n < off + 3:
        a.bad = True
        return "", f"{link}[|llc]"
    dsap, ssap, ctrl = d[off], d[off + 1], d[off + 2]
    if dsap == 0xAA and ssap == 0xAA and ctrl == 3:
        if n < off + 8:
            a.bad = True
            return "", f"{link}LLC/SNAP [|snap]"
        oui = d[off + 3:off + 6]
        t = d[off + 6] << 8 | d[off + 7]
        if oui == b"\0\0\0":
            text = _ethertype(d, off + 8, t, a)
            if text is not None:
                return f"{link}LLC/SNAP, {_etype_str(t)}: ", text
        a.info = f"LLC/SNAP, oui 0x{oui.hex()}, type 0x{t:04x}"
        return "", f"{link}LLC/SNAP, oui 0x{oui.hex()}, type 0x{t:04x}"
    if dsap == 0x42:
        a.layers.append("STP")
        a.info = "Spanning Tree Protocol"
        return link, f"STP 802.1d, length {n - off - 3}"
    a.info = f"LLC, DSAP 0x{dsap:02x}, SSAP 0x{ssap:02x}"
    return link, f"LLC, dsap 0x{dsap:02x}, ssap 0x{ssap:02x}, ctrl 0x{ctrl:02x}, length {n - off}"


def _ethertype(d: bytes, off: int, t: int, a: _Acc) -> str | None:
    """Decode what an ethertype announces; ``None`` means "unknown, show the link header"."""
    if t == 0x0800:
        return _ipv4(d, off, len(d), a, 0)
    if t == 0x86DD:
        return _ipv6(d, off, len(d), a, 0)
    if t == 0x0806:
        return _arp(d, off, a, "ARP")
    if t == 0x8035:
        return _arp(d, off, a, "RARP")
    name = _ETHER_OTHER_LAYERS.get(t)
    if name is not None:
        a.layers.append(name)
        a.info = f"{_ETHERTYPE_NAMES[t]}, length {len(d) - off}"
        return f"{_ETHERTYPE_NAMES[t]}, length {len(d) - off}"
    a.layers.append("other")
    a.info = f"Ethertype 0x{t:04x}"
    return None


def _sll(d: bytes, a: _Acc) -> tuple[str, str]:
    """Linux cooked capture v1 (16-byte header), as tcpdump -i any writes it."""
    a.layers.append("SLL")
    n = len(d)
    if n < 16:
        a.bad = True
        return "", f"Linux cooked, length {n}: [|sll]"
    pkttype, _hatype, halen, addr, proto = _S_SLL.unpack_from(d, 0)
    return _cooked(d, 16, a, _SLL_PKTTYPES.get(pkttype, f"pkttype {pkttype}"), "", halen, addr,
                   proto)


def _sll2(d: bytes, a: _Acc) -> tuple[str, str]:
    """Linux cooked capture v2 (20-byte header with the interface index)."""
    a.layers.append("SLL2")
    n = len(d)
    if n < 20:
        a.bad = True
        return "", f"Linux cooked v2, length {n}: [|sll2]"
    proto, _res, ifindex, _hatype, pkttype, halen, addr = _S_SLL2.unpack_from(d, 0)
    return _cooked(d, 20, a, _SLL_PKTTYPES.get(pkttype, f"pkttype {pkttype}"),
                   f" ifindex {ifindex}", halen, addr, proto)


def _cooked(
    d: bytes, off: int, a: _Acc, direction: str, extra: str, halen: int, addr: bytes, proto: int
) -> tuple[str, str]:
    n = len(d)
    hw = addr[:min(halen, 8)].hex(":")
    a.src = hw
    link = f"{direction}{extra} {hw + ' ' if hw else ''}{_etype_str(proto)}, length {n}: "
    text = _ethertype(d, off, proto, a) if proto > 1500 else None
    if text is None:
        if proto <= 1500:
            a.layers.append("other")
            a.info = f"Linux cooked, protocol 0x{proto:04x}"
        return "", link.rstrip(": ")
    return link, text


def _null(d: bytes, a: _Acc) -> tuple[str, str]:
    """BSD loopback: a 4-byte address family in the *capturing* host's byte order."""
    a.layers.append("Null")
    n = len(d)
    if n < 4:
        a.bad = True
        return "", f"[|null], length {n}"
    fam = d[0] | d[1] << 8 | d[2] << 16 | d[3] << 24
    if fam & 0xFFFF0000:
        fam = d[3] | d[2] << 8 | d[1] << 16 | d[0] << 24
    name = _NULL_FAMILIES.get(fam)
    link = f"AF {name or 'Unknown'} ({fam}), length {n}: "
    if name == "IPv4":
        return link, _ipv4(d, 4, n, a, 0)
    if name == "IPv6":
        return link, _ipv6(d, 4, n, a, 0)
    a.layers.append("other")
    a.info = f"Null/Loopback, family {fam}"
    return "", link.rstrip(": ")


# --------------------------------------------------------------------------- ARP


def _arp(d: bytes, off: int, a: _Acc, name: str) -> str:
    a.layers.append(name)
    n = len(d) - off
    if n < 8:
        a.bad = True
        return f"{name}, [|arp]"
    hrd, pro, hln, pln, op = _S_ARP.unpack_from(d, off)
    opname = _ARP_OPS.get(op, f"Unknown ({op})")
    p = off + 8
    if n < 8 + 2 * (hln + pln):
        a.bad = True
        return f"{name}, {opname} [|arp]"
    sha = d[p:p + hln]
    spa = d[p + hln:p + hln + pln]
    p += hln + pln
    tha = d[p:p + hln]
    tpa = d[p + hln:p + hln + pln]
    sha_s = sha.hex(":")
    tha_s = tha.hex(":")
    spa_s = _proto_addr(pro, spa)
    tpa_s = _proto_addr(pro, tpa)
    if not a.src:
        a.src = sha_s
    if not a.dst:
        a.dst = tha_s
    if op == 1:
        paren = f" ({tha_s})" if any(tha) else ""
        body = f"Request who-has {tpa_s}{paren} tell {spa_s}"
        if spa == tpa:
            a.info = f"Gratuitous ARP for {spa_s} (Request)"
        elif not any(spa):
            a.info = f"Who has {tpa_s}? (ARP Probe)"
        else:
            a.info = f"Who has {tpa_s}? Tell {spa_s}"
    elif op == 2:
        body = f"Reply {spa_s} is-at {sha_s}"
        if spa == tpa:
            a.info = f"Gratuitous ARP for {spa_s} (Reply)"
        else:
            a.info = f"{spa_s} is at {sha_s}"
    elif op in (3, 8):
        body = f"{opname} who-is {tha_s} tell {sha_s}"
        a.info = f"Who is {tha_s}? Tell {sha_s}"
    elif op == 4:
        body = f"Reverse Reply {tha_s} at {tpa_s}"
        a.info = f"{tha_s} is at {tpa_s}"
    elif op == 9:
        body = f"Inverse Reply {sha_s} at {spa_s}"
        a.info = f"{sha_s} is at {spa_s}"
    else:
        body = opname
        a.info = f"ARP opcode {op}"
    if hrd != 1 and hrd != 6:
        body += f", hardware type {hrd}"
    return f"{name}, {body}, length {n}"


def _proto_addr(pro: int, b: bytes) -> str:
    if len(b) == 4 and pro == 0x0800:
        return inet_ntoa(b)
    if len(b) == 16 and pro == 0x86DD:
        return _ntop6(b)
    return b.hex(":") if b else "<none>"


# --------------------------------------------------------------------------- IP


def _ipv4(d: bytes, off: int, lim: int, a: _Acc, depth: int) -> str:
    """IPv4 header; ``lim`` bounds the packet (end of frame, or of the outer IP payload)."""
    a.layers.append("IPv4")
    avail = lim - off
    if avail < 20:
        a.bad = True
        return "IP [|ip]"
    vhl, _tos, tot, ident, fo, _ttl, proto, _csum, s, t = _S_IP4.unpack_from(d, off)
    if vhl >> 4 != 4:
        a.bad = True
        return f"IP [malformed: version {vhl >> 4}], length {avail}"
    hl = (vhl & 15) << 2
    src = inet_ntoa(s)
    dst = inet_ntoa(t)
    a.src = src
    a.dst = dst
    if hl < 20:
        a.bad = True
        return f"IP {src} > {dst}: [malformed: bad header length {hl}]"
    if avail < hl:
        a.bad = True
        return f"IP {src} > {dst}: [|ip]"
    if tot < hl:
        a.bad = True
        return f"IP {src} > {dst}: [malformed: total length {tot} < header length {hl}]"
    pre = ""
    if tot > avail:
        a.bad = True
        pre = f"truncated-ip - {tot - avail} bytes missing! "
        end = lim
    else:
        end = off + tot
    poff = off + hl
    clen = tot - hl
    foff = (fo & 0x1FFF) << 3
    if fo & 0x2000 or foff:  # more fragments follow, or not the first fragment
        frag = f" (frag {ident}:{clen}@{foff}{'+' if fo & 0x2000 else ''})"
        pname = _IPPROTO_WS.get(proto, "")
        if foff:
            a.info = (f"Fragmented IP protocol (proto={pname + ' ' if pname else ''}{proto}, "
                      f"off={foff}, ID={ident:04x})")
            return f"IP {pre}{src} > {dst}: ip-proto-{proto}{frag}"
        text = _upper(d, poff, end, clen, proto, a, ("IP", pre, src, dst, ""), True, depth)
        a.info = (f"Fragmented IP protocol (proto={pname + ' ' if pname else ''}{proto}, "
                  f"off=0, ID={ident:04x}) {a.info}").rstrip()
        return text + frag
    return _upper(d, poff, end, clen, proto, a, ("IP", pre, src, dst, ""), False, depth)


_EXT_HDRS = {0: "HBH", 60: "DSTOPT", 43: "RT6", 135: "MOBILITY", 139: "HIP", 140: "SHIM6"}


def _ipv6(d: bytes, off: int, lim: int, a: _Acc, depth: int) -> str:
    """IPv6 header, then the extension-header chain walked to the upper layer."""
    a.layers.append("IPv6")
    avail = lim - off
    if avail < 40:
        a.bad = True
        return "IP6 [|ip6]"
    if d[off] >> 4 != 6:
        a.bad = True
        return f"IP6 [malformed: version {d[off] >> 4}], length {avail}"
    plen, nh, _hlim, s, t = _S_IP6.unpack_from(d, off + 4)
    src = _ntop6(s)
    dst = _ntop6(t)
    a.src = src
    a.dst = dst
    cend = off + 40 + plen  # where the header says the packet ends
    if plen == 0 and nh == 0:  # jumbogram (RFC 2675): the length is in a HBH option
        cend = lim
    pre = ""
    if cend > lim:
        a.bad = True
        pre = f"truncated-ip6 - {cend - lim} bytes missing! "
        end = lim
    else:
        end = cend
    pos = off + 40
    exts: list[str] = []
    frag = False
    frag_info = ""
    for _ in range(_MAX_EXT_HEADERS):
        ext = _EXT_HDRS.get(nh)
        if ext is not None:
            if pos + 8 > end:
                a.bad = True
                return f"IP6 {pre}{src} > {dst}: {' '.join([*exts, ext])} [|{ext.lower()}]"
            hlen = (d[pos + 1] + 1) << 3
            if pos + hlen > end:
                a.bad = True
                return f"IP6 {pre}{src} > {dst}: {' '.join([*exts, ext])} [|{ext.lower()}]"
            if nh == 43:
                ext = f"RT6 (len={d[pos + 1]}, type={d[pos + 2]}, segleft={d[pos + 3]})"
            exts.append(ext)
            nh = d[pos]
            pos += hlen
        elif nh == 44:
            if pos + 8 > end:
                a.bad = True
                return f"IP6 {pre}{src} > {dst}: {' '.join([*exts, 'frag'])} [|frag]"
            fo = d[pos + 2] << 8 | d[pos + 3]
            ident = _S_I.unpack_from(d, pos + 4)[0]
            nh = d[pos]
            pos += 8
            foff = fo & 0xFFF8
            exts.append(f"frag (0x{ident:08x}:{foff}|{cend - pos})")
            if foff or fo & 1:
                frag = True
                pname = _IPPROTO_WS.get(nh, "")
                frag_info = (f"IPv6 fragment (off={foff} more={'y' if fo & 1 else 'n'} "
                             f"ident=0x{ident:08x} nxt={nh}{' ' + pname if pname else ''})")
                if foff:
                    a.info = frag_info
                    return f"IP6 {pre}{src} > {dst}: {' '.join(exts)}"
        elif nh == 51:  # AH: length in 4-octet units, minus 2
            if pos + 12 > end or pos + ((d[pos + 1] + 2) << 2) > end:
                a.bad = True
                return f"IP6 {pre}{src} > {dst}: {' '.join([*exts, 'AH'])} [|ah]"
            spi, seq = _S_II.unpack_from(d, pos + 4)
            exts.append(f"AH(spi=0x{spi:08x},seq=0x{seq:x}):")
            nh = d[pos]
            pos += (d[pos + 1] + 2) << 2
        else:
            break
    else:
        a.bad = True
        return f"IP6 {pre}{src} > {dst}: {' '.join(exts)} [malformed: too many extension headers]"
    ext_s = " ".join(exts) + " " if exts else ""
    if nh == 59:
        if not a.info:
            a.info = "IPv6 no next header"
        return f"IP6 {pre}{src} > {dst}: {ext_s}no next header"
    text = _upper(d, pos, end, cend - pos, nh, a, ("IP6", pre, src, dst, ext_s), frag, depth)
    if frag:
        a.info = f"{frag_info} {a.info}".rstrip()
    return text


def _upper(
    d: bytes, off: int, end: int, clen: int, proto: int, a: _Acc,
    ctx: tuple[str, str, str, str, str], frag: bool, depth: int,
) -> str:
    """Dispatch on the IP protocol number.  ``clen`` is the length the IP header claims.

    ``frag``: this is the first fragment of a fragmented datagram, so only the
    transport header is decoded (the application data is incomplete by design).
    """
    if proto == 17:
        return _udp(d, off, end, clen, a, ctx, frag)
    if proto == 6:
        return _tcp(d, off, end, a, ctx, frag)
    if proto == 1:
        return _icmp(d, off, end, clen, a, ctx)
    if proto == 58:
        return _icmp6(d, off, end, clen, a, ctx)
    fam, pre, src, dst, ext = ctx
    if not frag and depth < _MAX_IP_DEPTH:
        if proto == 4:
            return f"{fam} {pre}{src} > {dst}: {ext}" + _ipv4(d, off, end, a, depth + 1)
        if proto == 41:
            return f"{fam} {pre}{src} > {dst}: {ext}" + _ipv6(d, off, end, a, depth + 1)
    name = _IPPROTO_NAMES.get(proto)
    if name is not None:
        a.layers.append(name)
        a.info = a.info or f"{name}, length {clen}"
        return f"{fam} {pre}{src} > {dst}: {ext}{name}, length {clen}"
    a.layers.append("other")
    a.info = a.info or f"IP protocol {proto}, length {clen}"
    return f"{fam} {pre}{src} > {dst}: {ext}ip-proto-{proto} {clen}"


def _head(ctx: tuple[str, str, str, str, str], sport: int, dport: int) -> str:
    """``IP a.1 > b.2: `` -- or, after IPv6 extension headers, ``... HBH 1 > 2: `` like tcpdump."""
    fam, pre, src, dst, ext = ctx
    if ext:
        return f"{fam} {pre}{src} > {dst}: {ext}{sport} > {dport}: "
    return f"{fam} {pre}{src}.{sport} > {dst}.{dport}: "


# --------------------------------------------------------------------------- UDP / TCP


def _udp(
    d: bytes, off: int, end: int, clen: int, a: _Acc, ctx: tuple[str, str, str, str, str],
    frag: bool,
) -> str:
    a.layers.append("UDP")
    avail = end - off
    if avail < 8:
        a.bad = True
        if avail >= 4:
            sport, dport = _S_HH.unpack_from(d, off)
            return _head(ctx, sport, dport) + "[|udp]"
        fam, pre, src, dst, ext = ctx
        return f"{fam} {pre}{src} > {dst}: {ext}[|udp]"
    sport, dport, ulen = _S_UDP.unpack_from(d, off)
    head = _head(ctx, sport, dport)
    if frag:
        a.info = f"{sport} → {dport} Len={max(ulen - 8, 0)}"
        return f"{head}UDP, length {max(ulen - 8, 0)}"
    if ulen < 8:
        a.bad = True
        a.info = f"{sport} → {dport} [bad length {ulen}]"
        return f"{head}UDP, [malformed: bad length {ulen} < 8]"
    if ulen > avail:
        a.bad = True
        pend = end
        if ulen > clen:  # the UDP header lies about the size, not a short capture
            a.info = f"{sport} → {dport} [bad length {ulen} > IP payload length {clen}]"
            return f"{head}UDP, [malformed: bad length {ulen} > {clen}]"
    else:
        pend = off + ulen
    mlen = ulen - 8
    if sport in _DNS_PORTS or dport in _DNS_PORTS:
        a.layers.append("DNS")
        return head + _dns(d, off + 8, pend, mlen, a, sport == 5353 or dport == 5353)
    if sport in _DHCP_PORTS or dport in _DHCP_PORTS:
        a.layers.append("DHCP")
        return head + _dhcp(d, off + 8, pend, mlen, a)
    a.info = f"{sport} → {dport} Len={mlen}"
    if ulen > avail:
        return f"{head}UDP, length {mlen} [|udp]"
    return f"{head}UDP, length {mlen}"


def _tcp(
    d: bytes, off: int, end: int, a: _Acc, ctx: tuple[str, str, str, str, str], frag: bool
) -> str:
    a.layers.append("TCP")
    avail = end - off
    if avail < 20:
        a.bad = True
        if avail >= 4:
            sport, dport = _S_HH.unpack_from(d, off)
            return _head(ctx, sport, dport) + "[|tcp]"
        fam, pre, src, dst, ext = ctx
        return f"{fam} {pre}{src} > {dst}: {ext}[|tcp]"
    sport, dport, seq, ack, offflags, win, _csum, urp = _S_TCP.unpack_from(d, off)
    head = _head(ctx, sport, dport)
    doff = (offflags >> 12) << 2
    flags = offflags & 0x1FF
    fl = _TCP_TD[flags & 0xFF]
    if doff < 20:
        a.bad = True
        a.info = f"{sport} → {dport} [bad header length {doff}]"
        return f"{head}Flags [{fl}], [malformed: bad header length {doff} < 20]"
    if doff > avail:
        a.bad = True
        a.info = f"{sport} → {dport} [{_TCP_WS[flags]}] Seq={seq} Win={win} [|tcp]"
        opts = _tcp_options(d, off + 20, end, a, cut=True)[0] if avail > 20 else ""
        opts = f"options [{opts}] " if opts else ""
        return f"{head}Flags [{fl}], seq {seq}, win {win}, {opts}[|tcp]"
    plen = avail - doff
    if plen:
        seq_s = f", seq {seq}:{(seq + plen) & 0xFFFFFFFF}"
    elif flags & 7:
        seq_s = f", seq {seq}"
    else:
        seq_s = ""
    ack_td = ack_ws = urg_td = urg_ws = opt_td = opt_ws = ""
    if flags & 0x10:
        ack_td = f", ack {ack}"
        ack_ws = f" Ack={ack}"
    if flags & 0x20:
        urg_td = f", urg {urp}"
        urg_ws = f" Urg={urp}"
    if doff > 20:
        p = off + 20
        if doff == 32 and d.startswith(b"\x01\x01\x08\x0a", p):  # nop,nop,TS: most segments
            val, ecr = _S_II.unpack_from(d, p + 4)
            opt_td = f", options [nop,nop,TS val {val} ecr {ecr}]"
            opt_ws = f" TSval={val} TSecr={ecr}"
        else:
            o_td, o_ws = _tcp_options(d, p, off + doff, a)
            opt_td = f", options [{o_td}]"
            opt_ws = " " + o_ws if o_ws else ""
    parts = f"Flags [{fl}]{seq_s}{ack_td}, win {win}{urg_td}{opt_td}, length {plen}"
    ws = (f"{sport} → {dport} [{_TCP_WS[flags]}] Seq={seq}{ack_ws} Win={win} Len={plen}"
          f"{urg_ws}{opt_ws}")
    a.info = ws
    if plen and not frag:
        p = off + doff
        if (sport == 53 or dport == 53) and plen >= 2 and _S_H.unpack_from(d, p)[0] == plen - 2:
            a.layers.append("DNS")
            return f"{head}{parts}: " + _dns(d, p + 2, end, plen - 2, a, False)
        if (sport in _HTTP_PORTS or dport in _HTTP_PORTS) and d.startswith(_HTTP_STARTS, p):
            a.layers.append("HTTP")
            line = d[p:min(end, p + 200)].split(b"\r\n", 1)[0].split(b"\n", 1)[0]
            txt = _printable(line)
            a.info = txt
            return f"{head}{parts}: HTTP: {txt}"
    return head + parts


def _tcp_options(d: bytes, p: int, end: int, a: _Acc, cut: bool = False) -> tuple[str, str]:
    """TCP options as tcpdump prints them, plus Wireshark's info-column suffix.

    ``cut``: the header is known to be truncated at ``end``, so an option running
    past it just ends the list instead of being reported as a bad option.
    """
    td: list[str] = []
    ws: list[str] = []
    while p < end:
        kind = d[p]
        if kind == 0:
            td.append("eol")
            break
        if kind == 1:
            td.append("nop")
            p += 1
            continue
        if p + 1 >= end:
            if not cut:
                a.bad = True
                td.append("[bad opt]")
            break
        ln = d[p + 1]
        if cut and ln >= 2 and p + ln > end:
            break
        if ln < 2 or p + ln > end:
            a.bad = True
            td.append("[bad opt]")
            break
        body = d[p + 2:p + ln]
        if kind == 2 and ln == 4:
            v = body[0] << 8 | body[1]
            td.append(f"mss {v}")
            ws.append(f"MSS={v}")
        elif kind == 3 and ln == 3:
            td.append(f"wscale {body[0]}")
            ws.append(f"WS={1 << min(body[0], 14)}")
        elif kind == 4 and ln == 2:
            td.append("sackOK")
            ws.append("SACK_PERM")
        elif kind == 5 and (ln - 2) % 8 == 0:
            blocks = [_S_II.unpack_from(body, i) for i in range(0, ln - 2, 8)]
            td.append(f"sack {len(blocks)} " + "".join(f"{{{x}:{y}}}" for x, y in blocks))
            ws.extend(f"SLE={x} SRE={y}" for x, y in blocks)
        elif kind == 8 and ln == 10:
            val, ecr = _S_II.unpack_from(body)
            td.append(f"TS val {val} ecr {ecr}")
            ws.append(f"TSval={val} TSecr={ecr}")
        elif kind == 19:
            td.append("md5")
        elif kind == 28 and ln == 4:
            td.append(f"uto {body[0] << 8 | body[1]}")
        elif kind == 30:
            td.append("mptcp")
        elif kind == 34:
            td.append(f"tfo cookie {body.hex()}" if body else "tfo cookiereq")
        else:
            td.append(f"unknown-{kind} 0x{body.hex()}" if body else f"unknown-{kind}")
        p += ln
    return ",".join(td), " ".join(ws)


def _printable(b: bytes) -> str:
    s = b.decode("latin-1")
    if s.isprintable() and s.isascii():
        return s
    return "".join(c if " " <= c <= "~" else "." for c in s)


# --------------------------------------------------------------------------- ICMP


def _icmp(
    d: bytes, off: int, end: int, clen: int, a: _Acc, ctx: tuple[str, str, str, str, str]
) -> str:
    a.layers.append("ICMP")
    fam, pre, src, dst, ext = ctx
    head = f"{fam} {pre}{src} > {dst}: {ext}ICMP "
    avail = end - off
    if avail < 4:
        a.bad = True
        return head + "[|icmp]"
    typ = d[off]
    code = d[off + 1]
    if typ == 0 or typ == 8:
        what = "echo reply" if typ == 0 else "echo request"
        if avail < 8:
            a.bad = True
            a.info = f"Echo (ping) {what[5:]}"
            return f"{head}{what} [|icmp]"
        ident, seq = _S_HH.unpack_from(d, off + 4)
        a.info = f"Echo (ping) {what[5:]} id=0x{ident:04x}, seq={seq}"
        return f"{head}{what}, id {ident}, seq {seq}, length {clen}"
    if typ == 3 or typ == 5 or typ == 11 or typ == 12:
        return head + _icmp_error(d, off, end, typ, code, clen, a)
    if typ == 13 or typ == 14:
        if avail < 8:
            a.bad = True
            return head + "time stamp [|icmp]"
        ident, seq = _S_HH.unpack_from(d, off + 4)
        what = "query" if typ == 13 else "reply"
        a.info = f"Timestamp {'request' if typ == 13 else 'reply'} id=0x{ident:04x}, seq={seq}"
        return f"{head}time stamp {what} id {ident} seq {seq}, length {clen}"
    if typ == 18:
        if avail < 12:
            a.bad = True
            return head + "address mask reply [|icmp]"
        mask = _S_I.unpack_from(d, off + 8)[0]
        a.info = "Address mask reply"
        return f"{head}address mask is 0x{mask:08x}, length {clen}"
    simple = _ICMP_SIMPLE.get(typ)
    if simple is not None:
        a.info = simple[1]
        return f"{head}{simple[0]}, length {clen}"
    a.info = f"Unknown ICMP type {typ} code {code}"
    return f"{head}type-#{typ}, length {clen}"


def _icmp_error(d: bytes, off: int, end: int, typ: int, code: int, clen: int, a: _Acc) -> str:
    """Unreachable / redirect / time exceeded / parameter problem, quoting the inner header."""
    if typ == 11:
        a.info = ("Time-to-live exceeded (Time to live exceeded in transit)" if code == 0 else
                  "Time-to-live exceeded (Fragment reassembly time exceeded)")
        what = {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(
            code, f"time exceeded-#{code}")
        return f"{what}, length {clen}"
    if typ == 12:
        a.info = "Parameter problem"
        if end - off < 5:
            a.bad = True
            return "parameter problem [|icmp]"
        return f"parameter problem - octet {d[off + 4]}, length {clen}"
    # 3 and 5 name the inner destination: need the quoted IP header.
    inner = off + 8
    if end - inner < 20 or d[inner] >> 4 != 4 or (d[inner] & 15) < 5:
        a.bad = True
        a.info = "Destination unreachable" if typ == 3 else "Redirect"
        return ("unreachable" if typ == 3 else "redirect") + " [|icmp]"
    idst = inet_ntoa(d[inner + 16:inner + 20])
    if typ == 5:
        gw = inet_ntoa(d[off + 4:off + 8])
        kind = "host" if code & 1 else "net"
        tos = "-tos" if code >= 2 else ""
        a.info = f"Redirect (Redirect for {'host' if code & 1 else 'network'})"
        return f"redirect{tos} {idst} to {kind} {gw}, length {clen}"
    td, ws = _ICMP_UNREACH.get(code, ("{} unreachable - #" + str(code), f"code {code}"))
    a.info = f"Destination unreachable ({ws})"
    if code == 2:
        return td.format(idst, d[inner + 9]) + f", length {clen}"
    if code == 3:
        ihl = (d[inner] & 15) << 2
        iproto = d[inner + 9]
        tp = inner + ihl
        if end - tp < 4:
            a.bad = True
            return f"{idst} port unreachable [|icmp]"
        dport = d[tp + 2] << 8 | d[tp + 3]
        pname = {6: "tcp", 17: "udp"}.get(iproto)
        port = f"{pname} port {dport}" if pname else f"protocol {iproto} port {dport}"
        return f"{idst} {port} unreachable, length {clen}"
    if code == 4:
        mtu = d[off + 6] << 8 | d[off + 7]
        return (f"{idst} unreachable - need to frag (mtu {mtu}), length {clen}" if mtu
                else f"{idst} unreachable - need to frag, length {clen}")
    return td.format(idst) + f", length {clen}"


def _icmp6(
    d: bytes, off: int, end: int, clen: int, a: _Acc, ctx: tuple[str, str, str, str, str]
) -> str:
    a.layers.append("ICMPv6")
    fam, pre, src, dst, ext = ctx
    head = f"{fam} {pre}{src} > {dst}: {ext}ICMP6, "
    avail = end - off
    if avail < 4:
        a.bad = True
        return head + "[|icmp6]"
    typ = d[off]
    code = d[off + 1]
    names = _ICMP6_NAMES.get(typ)
    if names is None:
        a.info = f"Unknown ICMPv6 type {typ}"
        return f"{head}unknown icmp6 type ({typ}), length {clen}"
    td, ws = names
    a.info = ws
    if typ == 128 or typ == 129:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        ident, seq = _S_HH.unpack_from(d, off + 4)
        a.info = f"{ws} id=0x{ident:04x}, seq={seq}"
        return f"{head}{td}, id {ident}, seq {seq}, length {clen}"
    if typ == 135 or typ == 136:
        if avail < 24:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        tgt = _ntop6(d[off + 8:off + 24])
        lla = _nd_lladdr(d, off + 24, end, 1 if typ == 135 else 2, a)
        if typ == 135:
            a.info = f"{ws} for {tgt}" + (f" from {lla}" if lla else "")
            return f"{head}{td}, who has {tgt}, length {clen}"
        fl = d[off + 4]
        names_fl = [n for bit, n in ((0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")) if fl & bit]
        a.info = (f"{ws} {tgt}" + (f" ({', '.join(names_fl)})" if names_fl else "")
                  + (f" is at {lla}" if lla else ""))
        return f"{head}{td}, tgt is {tgt}, length {clen}"
    if typ == 133 or typ == 134:
        hdr = 8 if typ == 133 else 16
        if avail < hdr:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        lla = _nd_lladdr(d, off + hdr, end, 1, a)
        if lla:
            a.info = f"{ws} from {lla}"
        return f"{head}{td}, length {clen}"
    if typ == 137:
        if avail < 40:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return (f"{head}{td}, {_ntop6(d[off + 8:off + 24])} to {_ntop6(d[off + 24:off + 40])}, "
                f"length {clen}")
    if typ == 143:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return f"{head}{td}, {d[off + 6] << 8 | d[off + 7]} group record(s), length {clen}"
    if typ == 2:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        return f"{head}{td}, mtu {_S_I.unpack_from(d, off + 4)[0]}, length {clen}"
    if typ == 4:
        if avail < 8:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        ptr = _S_I.unpack_from(d, off + 4)[0]
        what = {0: "errorneous", 1: "next header", 2: "option"}.get(code)
        a.info = f"{ws} ({what or 'code ' + str(code)})"
        detail_ = f"{what} - octet {ptr}" if what else f"code-#{code}"
        return f"{head}{td}, {detail_}, length {clen}"
    if typ == 1 or typ == 3:
        inner = off + 8
        if end - inner < 40:
            a.bad = True
            return f"{head}{td} [|icmp6]"
        idst = _ntop6(d[inner + 24:inner + 40])
        if typ == 3:
            a.info = ("Time Exceeded (hop limit exceeded in transit)" if code == 0 else
                      "Time Exceeded (fragment reassembly time exceeded)")
            if code == 0:
                return f"{head}{td} in-transit for {idst}, length {clen}"
            return f"{head}{td} reassembly, length {clen}"
        ctd, cws = _ICMP6_UNREACH.get(code, (f"unknown unreach code ({code})", f"code {code}"))
        a.info = f"{ws} ({cws})"
        if code == 4:
            nh, tp = _ext_walk(d, inner, end)
            if tp < 0 or end - tp < 4:
                a.bad = True
                return f"{head}{td}, {ctd}, {idst} [|icmp6]"
            dport = d[tp + 2] << 8 | d[tp + 3]
            pname = {6: "tcp", 17: "udp"}.get(nh)
            if pname:
                return f"{head}{td}, {ctd}, {idst} {pname} port {dport}, length {clen}"
            return f"{head}{td}, {ctd}, {idst} protocol {nh} port {dport}, length {clen}"
        return f"{head}{td}, {ctd} {idst}, length {clen}"
    return f"{head}{td}, length {clen}"


def _ext_walk(d: bytes, ip6: int, end: int) -> tuple[int, int]:
    """Upper-layer protocol and offset of an IPv6 packet quoted in an ICMPv6 error (-1: cut)."""
    nh = d[ip6 + 6]
    pos = ip6 + 40
    for _ in range(_MAX_EXT_HEADERS):
        if nh in (0, 60, 43):
            if pos + 2 > end:
                return nh, -1
            nh, pos = d[pos], pos + ((d[pos + 1] + 1) << 3)
        elif nh == 44:
            if pos + 8 > end:
                return nh, -1
            nh, pos = d[pos], pos + 8
        else:
            return nh, pos
    return nh, -1


def _nd_lladdr(d: bytes, p: int, end: int, want: int, a: _Acc) -> str:
    """The source/target link-layer address option of an ND message, if any."""
    found = ""
    while p + 2 <= end:
        ln = d[p + 1] << 3
        if ln == 0 or p + ln > end:
            a.bad = True
            break
        if d[p] == want and ln >= 8 and not found:
            found = d[p + 2:p + ln].rstrip(b"\0").hex(":") if ln > 8 else d[p + 2:p + 8].hex(":")
        p += ln
    return found


# --------------------------------------------------------------------------- DNS


def _dns_name(d: bytes, pos: int, base: int, end: int) -> tuple[str, int]:
    """Read a (possibly compressed) name; returns (name without trailing dot, next offset).

    Compression pointers are followed at most 64 times, and names are capped at
    255 octets, so a pointer loop or a pointer into garbage cannot spin or explode.
    """
    labels: list[str] = []
    nxt = -1
    hops = 0
    total = 0
    while True:
        if pos >= end:
            raise _Trunc
        ln = d[pos]
        if ln == 0:
            pos += 1
            break
        if ln >= 0xC0:
            if pos + 1 >= end:
                raise _Trunc
            if nxt < 0:
                nxt = pos + 2
            hops += 1
            if hops > 64:
                raise _Bad("compression loop")
            pos = base + ((ln & 0x3F) << 8 | d[pos + 1])
            if pos >= end:
                raise _Bad("compression pointer out of range")
            continue
        if ln > 63:
            raise _Bad(f"bad label type 0x{ln:02x}")
        if pos + 1 + ln > end:
            raise _Trunc
        total += ln + 1
        if total > 255:
            raise _Bad("name too long")
        lab = d[pos + 1:pos + 1 + ln].decode("latin-1")
        if not (lab.isascii() and lab.isprintable()) or "." in lab or " " in lab or "\\" in lab:
            lab = "".join(c if "!" <= c <= "~" and c not in ".\\" else f"\\{ord(c):03d}"
                          for c in lab)
        labels.append(lab)
        pos += 1 + ln
    return ".".join(labels), (nxt if nxt >= 0 else pos)


def _dns(d: bytes, off: int, end: int, length: int, a: _Acc, mdns: bool) -> str:
    """DNS message as tcpdump prints it (``1234+ A? example.com. (29)``), info as Wireshark."""
    if length < 12:
        a.bad = True
        a.info = f"DNS [length {length} < 12]"
        return f"domain [length {length} < 12] (invalid)"
    if end - off < 12:
        a.bad = True
        a.info = "DNS [|domain]"
        return "[|domain]"
    ident, flags, qd, an, ns, ar = _S_DNS.unpack_from(d, off)
    resp = flags & 0x8000
    opcode = flags >> 11 & 15
    rcode = flags & 15
    pos = off + 12
    questions: list[tuple[str, int, int]] = []
    records: list[tuple[int, str, int, int, str, str]] = []  # section, name, type, class, td, ws
    err = ""
    more = False
    try:
        for _ in range(qd):
            name, pos = _dns_name(d, pos, off, end)
            if pos + 4 > end:
                raise _Trunc
            qt, qc = _S_HH.unpack_from(d, pos)
            pos += 4
            questions.append((name, qt, qc))
            if len(questions) >= _DNS_MAX_RECORDS:
                more = qd > len(questions)
                break
        if not more:
            for section, count in ((1, an), (2, ns), (3, ar)):
                for _ in range(count):
                    if len(records) >= _DNS_MAX_RECORDS:
                        more = True
                        break
                    name, pos = _dns_name(d, pos, off, end)
                    if pos + 10 > end:
                        raise _Trunc
                    rt, rc, _ttl, rdlen = _S_RR.unpack_from(d, pos)
                    pos += 10
                    if pos + rdlen > end:
                        raise _Trunc
                    td, ws = _dns_rdata(d, pos, pos + rdlen, rt, off, end)
                    records.append((section, name, rt, rc, td, ws))
                    pos += rdlen
    except _Trunc:
        err = "[|domain]"
        a.bad = True
    except _Bad as exc:
        err = f"[malformed domain: {exc}]"
        a.bad = True

    # Wireshark-like info column.
    opn = _DNS_OPS_WS.get(opcode, f"Unknown operation ({opcode})")
    ws_parts = [f"{opn}{' response' if resp else ''} 0x{ident:04x}"]
    if resp and rcode:
        ws_parts.append(_DNS_RCODES_WS.get(rcode, f"Unknown error ({rcode})"))
    for name, qt, _qc in questions[:_DNS_MAX_SHOWN]:
        ws_parts.append(f"{_DNS_TYPES.get(qt, f'Unknown ({qt})')} {name or '<Root>'}")
    shown = 0
    for section, _name, rt, _rc, _td, ws in records:
        if section == 3 and rt != 41:
            continue
        if shown >= _DNS_MAX_SHOWN:
            ws_parts.append("...")
            break
        ws_parts.append(_DNS_TYPES.get(rt, f"Unknown ({rt})") + (f" {ws}" if ws else ""))
        shown += 1
    if err:
        ws_parts.append(err)
    a.info = " ".join(ws_parts)

    # tcpdump -nn body.
    if resp:
        out = (f"{ident}{_DNS_OPS_TD[opcode]}{_DNS_RCODES_TD[rcode]}{'*' if flags & 0x400 else ''}"
               f"{'' if flags & 0x80 else '-'}{'|' if flags & 0x200 else ''}"
               f"{'$' if flags & 0x20 else ''}")
        if qd != 1:
            out += f" [{qd}q]"
        out += f" {an}/{ns}/{ar}"
        answers = [r for r in records if r[0] == 1]
        rr_txt = []
        for _s, _n, rt, rc, td, _ws in answers[:_DNS_MAX_SHOWN * 2]:
            rr_txt.append(" " + _dns_type_class(rt, rc, mdns, cache_flush=True) +
                          (f" {td}" if td else ""))
        if len(answers) > _DNS_MAX_SHOWN * 2:
            rr_txt.append(" ...")
        out += ",".join(rr_txt)
    else:
        out = f"{ident}{_DNS_OPS_TD[opcode]}{'+' if flags & 0x100 else ''}"
        out += "%" if flags & 0x10 else ""
        if flags & 0x6CF:
            out += f" [b2&3=0x{flags:x}]"
        if opcode == 1:
            if qd:
                out += f" [{qd}q]"
            if an != 1:
                out += f" [{an}a]"
        else:
            if an:
                out += f" [{an}a]"
            if qd != 1:
                out += f" [{qd}q]"
        if ns:
            out += f" [{ns}n]"
        if ar:
            out += f" [{ar}au]"
        for name, qt, qc in questions[:_DNS_MAX_SHOWN * 2]:
            out += f" {_dns_type_class(qt, qc, mdns, cache_flush=False)}? {name}."
        if more or len(questions) > _DNS_MAX_SHOWN * 2:
            out += " ..."
    if err:
        return f"{out} {err}"
    return f"{out} ({length})"


def _dns_type_class(t: int, c: int, mdns: bool, *, cache_flush: bool) -> str:
    """``A``, ``PTR (QM)``, ``TXT CHAOS`` ... the type/class part tcpdump prints."""
    s = _DNS_TYPES.get(t) or f"Type{t}"
    cls = c & 0x7FFF if mdns else c
    if cls != 1:
        s += " " + (_DNS_CLASSES.get(cls) or f"(Class {cls})")
    if mdns:
        if cache_flush:
            if c & 0x8000:
                s += " (Cache flush)"
        else:
            s += " (QU)" if c & 0x8000 else " (QM)"
    return s


def _dns_rdata(d: bytes, p: int, e: int, t: int, base: int, end: int) -> tuple[str, str]:
    """Resource data as (tcpdump text, Wireshark text); empty when neither shows it."""
    n = e - p
    if t == 1:
        if n != 4:
            raise _Bad("bad A record length")
        s = inet_ntoa(d[p:e])
        return s, s
    if t == 28:
        if n != 16:
            raise _Bad("bad AAAA record length")
        s = _ntop6(d[p:e])
        return s, s
    if t in (2, 5, 12, 39):
        name = _dns_name(d, p, base, end)[0]
        return f"{name}.", name
    if t == 15:
        if n < 3:
            raise _Bad("bad MX record")
        pref = d[p] << 8 | d[p + 1]
        name = _dns_name(d, p + 2, base, end)[0]
        return f"{name}. {pref}", f"{pref} {name}"
    if t == 33:
        if n < 7:
            raise _Bad("bad SRV record")
        prio, weight, port = struct.unpack_from("!HHH", d, p)
        name = _dns_name(d, p + 6, base, end)[0]
        return f"{name}.:{port} {prio} {weight}", f"{prio} {weight} {port} {name}"
    if t == 16:
        parts = []
        q = p
        while q < e:
            ln = d[q]
            if q + 1 + ln > e:
                raise _Bad("bad TXT record")
            parts.append('"' + _printable(d[q + 1:q + 1 + ln]) + '"')
            q += 1 + ln
        return " ".join(parts), ""
    if t == 6:
        return "", _dns_name(d, p, base, end)[0]
    return "", ""


# --------------------------------------------------------------------------- DHCP


def _dhcp(d: bytes, off: int, end: int, length: int, a: _Acc) -> str:
    """BOOTP/DHCP: tcpdump's first line plus the DHCP message type."""
    n = end - off
    if n < 1:
        a.bad = True
        a.info = "DHCP [|bootp]"
        return "BOOTP/DHCP [|bootp]"
    op = d[off]
    opname = {1: "Request", 2: "Reply"}.get(op, f"unknown (0x{op:02x})")
    if n < 236:
        a.bad = True
        a.info = f"BOOTP {opname} [|bootp]"
        return f"BOOTP/DHCP, {opname} [|bootp]"
    htype, hlen = d[off + 1], d[off + 2]
    xid = _S_I.unpack_from(d, off + 4)[0]
    text = f"BOOTP/DHCP, {opname}"
    if htype == 1 and hlen == 6 and op == 1:
        text += f" from {d[off + 28:off + 34].hex(':')}"
    text += f", length {length}"
    mtype = None
    p = off + 240
    if n >= 240 and d[off + 236:off + 240] == b"\x63\x82\x53\x63":
        while p < end:
            code = d[p]
            if code == 255:
                break
            if code == 0:
                p += 1
                continue
            if p + 2 > end or p + 2 + d[p + 1] > end:
                a.bad = True
                text += " [|bootp]"
                break
            if code == 53 and d[p + 1] >= 1 and mtype is None:
                mtype = d[p + 2]
            p += 2 + d[p + 1]
    if mtype is not None:
        tname = _DHCP_TYPES.get(mtype, f"Unknown ({mtype})")
        text += f", DHCP {tname}"
        a.info = f"DHCP {tname} - Transaction ID 0x{xid:08x}"
    else:
        a.info = f"Boot {opname} - Transaction ID 0x{xid:08x}"
    return text


# --------------------------------------------------------------------------- layers


def layers(data: bytes, linktype: int) -> tuple[str, ...]:
    """Protocol stack names for the per-protocol counters; same names as ``Summary.layers``.

    A separate, leaner walk than :func:`summarize` (no strings built), because the
    statistics see every captured packet, not just the visible ones.  Never raises.
    """
    try:
        out: list[str] = []
        d = data if type(data) is bytes else bytes(data)
        lt = linktype
        n = len(d)
        if lt == LINKTYPE_RAW:
            v = d[0] >> 4 if n else -1
            if v == 4:
                _l_ip4(d, 0, n, out, 0)
            elif v == 6:
                _l_ip6(d, 0, n, out, 0)
            else:
                out.append("other")
        elif lt == LINKTYPE_ETHERNET:
            out.append("Ethernet")
            if n >= 14:
                t = d[12] << 8 | d[13]
                if t <= 1500:
                    _l_llc(d, 14, out)
                else:
                    off = 14
                    tags = 0
                    while t in _VLAN_TYPES and tags < _MAX_VLAN_TAGS:
                        out.append(_VLAN_TYPES[t])
                        tags += 1
                        if n < off + 4:
                            return tuple(out)
                        t = d[off + 2] << 8 | d[off + 3]
                        off += 4
                    _l_etype(d, off, t, out)
        elif lt == LINKTYPE_IPV4:
            _l_ip4(d, 0, n, out, 0)
        elif lt == LINKTYPE_IPV6:
            _l_ip6(d, 0, n, out, 0)
        elif lt == LINKTYPE_LINUX_SLL:
            out.append("SLL")
            if n >= 16:
                t = d[14] << 8 | d[15]
                if t > 1500:
                    _l_etype(d, 16, t, out)
                else:
                    out.append("other")
        elif lt == LINKTYPE_LINUX_SLL2:
            out.append("SLL2")
            if n >= 20:
                t = d[0] << 8 | d[1]
                if t > 1500:
                    _l_etype(d, 20, t, out)
                else:
                    out.append("other")
        elif lt == LINKTYPE_NULL:
            out.append("Null")
            if n >= 4:
                fam = d[0] | d[1] << 8 | d[2] << 16 | d[3] << 24
                if fam & 0xFFFF0000:
                    fam = d[3] | d[2] << 8 | d[1] << 16 | d[0] << 24
                name = _NULL_FAMILIES.get(fam)
                if name == "IPv4":
                    _l_ip4(d, 4, n, out, 0)
                elif name == "IPv6":
                    _l_ip6(d, 4, n, out, 0)
                else:
                    out.append("other")
        else:
            out.append("other")
        return tuple(out)
    except Exception:  # never take the capture loop down
        return ("other",)


def _l_llc(d: bytes, off: int, out: list[str]) -> None:
    out.append("LLC")
    n = len(d)
    if n < off + 3:
        return
    if d[off] == 0xAA and d[off + 1] == 0xAA and d[off + 2] == 3:
        if n >= off + 8 and d[off + 3:off + 6] == b"\0\0\0":
            _l_etype(d, off + 8, d[off + 6] << 8 | d[off + 7], out)
        return
    if d[off] == 0x42:
        out.append("STP")


def _l_etype(d: bytes, off: int, t: int, out: list[str]) -> None:
    if t == 0x0800:
        _l_ip4(d, off, len(d), out, 0)
    elif t == 0x86DD:
        _l_ip6(d, off, len(d), out, 0)
    elif t == 0x0806:
        out.append("ARP")
    elif t == 0x8035:
        out.append("RARP")
    else:
        out.append(_ETHER_OTHER_LAYERS.get(t, "other"))


def _l_ip4(d: bytes, off: int, lim: int, out: list[str], depth: int) -> None:
    out.append("IPv4")
    if lim - off < 20:
        return
    vhl = d[off]
    hl = (vhl & 15) << 2
    tot = d[off + 2] << 8 | d[off + 3]
    if vhl >> 4 != 4 or hl < 20 or lim - off < hl or tot < hl:
        return
    end = off + tot if off + tot <= lim else lim
    fo = d[off + 6] << 8 | d[off + 7]
    if fo & 0x1FFF:
        return
    _l_upper(d, off + hl, end, tot - hl, d[off + 9], out, fo & 0x2000 != 0, depth)


def _l_ip6(d: bytes, off: int, lim: int, out: list[str], depth: int) -> None:
    out.append("IPv6")
    if lim - off < 40 or d[off] >> 4 != 6:
        return
    plen = d[off + 4] << 8 | d[off + 5]
    nh = d[off + 6]
    cend = off + 40 + plen
    if plen == 0 and nh == 0:
        cend = lim
    end = cend if cend <= lim else lim
    pos = off + 40
    frag = False
    for _ in range(_MAX_EXT_HEADERS):
        if nh in _EXT_HDRS:
            if pos + 8 > end:
                return
            hlen = (d[pos + 1] + 1) << 3
            if pos + hlen > end:
                return
            nh = d[pos]
            pos += hlen
        elif nh == 44:
            if pos + 8 > end:
                return
            fo = d[pos + 2] << 8 | d[pos + 3]
            if fo & 0xFFF8:
                return
            frag = frag or bool(fo & 1)
            nh = d[pos]
            pos += 8
        elif nh == 51:
            if pos + 12 > end or pos + ((d[pos + 1] + 2) << 2) > end:
                return
            nh, pos = d[pos], pos + ((d[pos + 1] + 2) << 2)
        else:
            break
    else:
        return
    if nh == 59:
        return
    _l_upper(d, pos, end, cend - pos, nh, out, frag, depth)


def _l_upper(
    d: bytes, off: int, end: int, clen: int, proto: int, out: list[str], frag: bool, depth: int
) -> None:
    if proto == 17:
        out.append("UDP")
        if frag or end - off < 8:
            return
        sport = d[off] << 8 | d[off + 1]
        dport = d[off + 2] << 8 | d[off + 3]
        ulen = d[off + 4] << 8 | d[off + 5]
        if ulen < 8 or (ulen > end - off and ulen > clen):
            return
        if sport in _DNS_PORTS or dport in _DNS_PORTS:
            out.append("DNS")
        elif sport in _DHCP_PORTS or dport in _DHCP_PORTS:
            out.append("DHCP")
    elif proto == 6:
        out.append("TCP")
        if frag or end - off < 20:
            return
        doff = (d[off + 12] >> 4) << 2
        plen = end - off - doff
        if doff < 20 or plen <= 0:
            return
        sport = d[off] << 8 | d[off + 1]
        dport = d[off + 2] << 8 | d[off + 3]
        p = off + doff
        if (sport == 53 or dport == 53) and plen >= 2 and (d[p] << 8 | d[p + 1]) == plen - 2:
            out.append("DNS")
        elif (sport in _HTTP_PORTS or dport in _HTTP_PORTS) and d.startswith(_HTTP_STARTS, p):
            out.append("HTTP")
    elif proto == 1:
        out.append("ICMP")
    elif proto == 58:
        out.append("ICMPv6")
    elif proto == 4 and not frag and depth < _MAX_IP_DEPTH:
        _l_ip4(d, off, end, out, depth + 1)
    elif proto == 41 and not frag and depth < _MAX_IP_DEPTH:
        _l_ip6(d, off, end, out, depth + 1)
    else:
        out.append(_IPPROTO_NAMES.get(proto, "other"))


# --------------------------------------------------------------------------- format_line

_tcache: tuple[int, str] = (-1, "")


def format_line(ts_ns: int, summary: Summary, *, link: bool = False) -> str:
    """``HH:MM:SS.ffffff `` (local time, like tcpdump) + optional ``-e`` link text + body.

    The H:M:S string is cached per second: ``time.localtime`` + ``strftime`` cost
    ~2 µs, while a capture prints thousands of lines within the same second.
    """
    global _tcache
    sec, ns = divmod(ts_ns, 1_000_000_000)
    cached = _tcache
    if cached[0] == sec:
        hms = cached[1]
    else:
        try:
            hms = time.strftime("%H:%M:%S", time.localtime(sec))
        except (OverflowError, OSError, ValueError):
            hms = "??:??:??"
        _tcache = (sec, hms)
    if link:
        return f"{hms}.{ns // 1000:06d} {summary.link}{summary.text}"
    return f"{hms}.{ns // 1000:06d} {summary.text}"


# --------------------------------------------------------------------------- scapy detail

_scapy_ready = False


def _load_scapy() -> None:
    """Import the scapy layers the tree needs (about 0.3 s, vs 1.2 s for ``scapy.all``)."""
    global _scapy_ready
    if _scapy_ready:
        return
    import importlib

    # Importing a layer module is what binds it (UDP 53 -> DNS, 67/68 -> BOOTP, ...).
    for mod in ("l2", "inet", "inet6", "dns", "dhcp", "dhcp6", "ntp", "vxlan"):
        importlib.import_module(f"scapy.layers.{mod}")

    _scapy_ready = True


_MIN_HEADER = {"Ether": 14, "CookedLinux": 16, "CookedLinuxV2": 20, "Loopback": 4,
               "LoopbackOpenBSD": 4}


def _dissect(data: bytes, linktype: int) -> Any:
    """Build the scapy packet for ``data``: the first layer is chosen from the link type."""
    _load_scapy()
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Ether, Loopback, LoopbackOpenBSD
    from scapy.packet import Raw

    cls: Any = Raw
    if linktype == LINKTYPE_ETHERNET:
        cls = Ether
    elif linktype == LINKTYPE_RAW:
        v = data[0] >> 4 if data else 0
        cls = IP if v == 4 else IPv6 if v == 6 else Raw
    elif linktype == LINKTYPE_IPV4:
        cls = IP
    elif linktype == LINKTYPE_IPV6:
        cls = IPv6
    elif linktype == LINKTYPE_LINUX_SLL:
        cls = CookedLinux
    elif linktype == LINKTYPE_LINUX_SLL2:
        cls = CookedLinuxV2
    elif linktype == LINKTYPE_NULL:
        # The family is in the capturing host's byte order; scapy's Loopback is little-endian.
        cls = LoopbackOpenBSD if len(data) >= 4 and data[0] == 0 and data[1] == 0 else Loopback
    if len(data) < _MIN_HEADER.get(cls.__name__, 0):
        # Too short for the link header.  Besides, a half-dissected Ether would keep
        # dst=None, and displaying that makes scapy *send* an ARP request to find a
        # MAC: a decoder must never touch the network.
        cls = Raw
    logger = logging.getLogger("scapy")
    level = logger.level
    logger.setLevel(logging.ERROR)  # scapy warns on stderr about odd packets: noise in a TUI
    try:
        try:
            return cls(data)
        except Exception:  # the first layer itself did not parse
            return Raw(data)
    finally:
        logger.setLevel(level)


def detail(data: bytes, linktype: int) -> list[Node]:
    """Protocol tree of one frame through scapy, with byte spans; never raises.

    One top node per layer, its children the fields (``ttl: 64``), nested for
    sub-packets such as IP/TCP options or DNS records.  On any failure the result
    is a single node that says so and spans the whole frame.
    """
    try:
        if type(data) is not bytes:
            data = bytes(data)
        if not data:
            return [Node("Empty frame (0 bytes)", 0, 0, [])]
        pkt = _dissect(data, linktype)
        logger = logging.getLogger("scapy")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return _layer_nodes(pkt, data)
        finally:
            logger.setLevel(level)
    except Exception as exc:  # the tree must never crash the UI
        n = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
        return [Node(f"[Dissection failed: {type(exc).__name__}: {exc}] ({n} bytes)", 0, n, [])]


def verbose_text(data: bytes, linktype: int) -> str:
    """scapy's ``show2`` dump of the frame, for headless ``-v``; never raises."""
    try:
        if type(data) is not bytes:
            data = bytes(data)
        pkt = _dissect(data, linktype)
        logger = logging.getLogger("scapy")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return str(pkt.show2(dump=True)).rstrip("\n")
        finally:
            logger.setLevel(level)
    except Exception as exc:
        n = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
        return f"[dissection failed: {type(exc).__name__}: {exc}] ({n} bytes)"


_MAX_LABEL = 160
_MAX_DEPTH = 6


def _layer_nodes(pkt: Any, data: bytes) -> list[Node]:
    """Walk the layer chain; each layer's own bytes follow the previous layer's.

    Scapy dissects a frame front to back, and a layer's header bytes are exactly
    what ``do_dissect`` consumed (``raw_packet_cache``).  Padding/trailers come
    out as a ``Padding`` layer appended at the end of the chain, which is where
    those bytes sit, so a running offset stays correct.
    """
    from scapy.packet import NoPayload

    n = len(data)
    nodes: list[Node] = []
    pos = 0
    layer = pkt
    count = 0
    while layer is not None and not isinstance(layer, NoPayload) and count < 64:
        count += 1
        own = _own_bytes(layer)
        start = min(pos, n)
        if own and data[start:start + len(own)] != own:
            # pre/post_dissect rewrote something: try to locate the header bytes.
            found = data.find(own, start, start + len(own) + 16)
            if found >= 0:
                start = found
        end = min(n, start + len(own))
        try:
            children = _field_nodes(layer, own, start, 0)
        except Exception as exc:
            children = [Node(f"[fields unavailable: {type(exc).__name__}]", start, end, [])]
        nodes.append(Node(_clip(_layer_label(layer, end - start)), start, end, children))
        pos = end
        layer = layer.payload
    if pos < n:
        more = count >= 64 and layer is not None and not isinstance(layer, NoPayload)
        what = "Further layers, not shown" if more else "Trailing bytes"
        nodes.append(Node(f"{what} ({n - pos} bytes)", pos, n, []))
    return nodes


def _own_bytes(layer: Any) -> bytes:
    """The bytes of this layer's header alone (not its payload)."""
    cache = getattr(layer, "raw_packet_cache", None)
    if cache is not None:
        return bytes(cache)
    try:
        return bytes(layer.self_build())
    except Exception:
        return b""


def _bitpos(s: Any, total: int) -> int:
    """Bit offset reached, from a getfield() remainder (bytes, or (bytes, bits) mid-byte)."""
    if isinstance(s, tuple):
        return (total - len(s[0])) * 8 + s[1]
    return (total - len(s)) * 8


def _probe_for(pkt: Any) -> Any:
    """A blank instance of ``pkt``'s class wired like ``pkt`` (parent, underlayer, original).

    Dissected layers are not always left as dissected: scapy drops DNS ``rdlen``
    after parsing, for instance, which would make ``length_from`` read ``None``.
    Re-dissecting into a blank twin, storing each value as ``do_dissect`` does,
    reproduces the exact state every field saw.
    """
    try:
        probe = type(pkt)(_internal=1, _underlayer=pkt.underlayer, _parent=pkt.parent)
        object.__setattr__(probe, "original", pkt.original)
        return probe
    except Exception:
        return pkt


def _field_nodes(pkt: Any, own: bytes, base: int, depth: int) -> list[Node]:
    """Field nodes of one layer, by re-running each field's ``getfield`` over its bytes.

    Re-dissecting (rather than rebuilding with ``addfield``) measures what the
    frame really contains: a wrong checksum or a compressed DNS name keeps its
    original size.  Bit fields come back as ``(rest, bits)`` tuples; a field
    gets the byte(s) that contain its bits.
    """
    probe = _probe_for(pkt)
    total = len(own)
    s: Any = own
    nodes: list[Node] = []
    for f in pkt.fields_desc:
        before = _bitpos(s, total)
        try:
            s2, fval = f.getfield(probe, s)
        except Exception:  # attribute the rest of the header to this field
            nodes.append(Node(_clip(_field_label(pkt, f, pkt.getfieldval(f.name))),
                              base + before // 8, base + total, []))
            break
        if getattr(f, "isconditional", False) and fval is None:
            s = s2
            continue
        probe.fields[f.name] = fval
        after = _bitpos(s2, total)
        start = base + before // 8
        end = base + (after + 7) // 8
        children: list[Node] = []
        if depth < _MAX_DEPTH:
            if getattr(f, "holds_packets", False):
                children = _packet_children(fval, start, end, depth + 1)
            elif type(f).__name__ == "TCPOptionsField" and isinstance(fval, list):
                children = _tcp_option_nodes(probe, f, own, start - base, end - base, base)
        nodes.append(Node(_clip(_field_label(probe, f, fval)), start, end, children))
        s = s2
        if not (s[0] if isinstance(s, tuple) else s) and (
            getattr(f, "ismayend", False)
            or (fval is not None and getattr(f, "isconditional", False)
                and getattr(getattr(f, "fld", None), "ismayend", False))
        ):
            break
    return nodes


def _tcp_option_nodes(
    pkt: Any, f: Any, own: bytes, start: int, end: int, base: int
) -> list[Node]:
    """One child per TCP option (kind, length, value), from the option bytes themselves."""
    out: list[Node] = []
    p = start
    while p < end:
        kind = own[p]
        ln = 1 if kind in (0, 1) else (own[p + 1] if p + 1 < end else 0)
        if ln < 1 or p + ln > end:
            out.append(Node(f"[bad option kind {kind}]", base + p, base + end, []))
            break
        shown = f"kind {kind}"
        with contextlib.suppress(Exception):
            name, val = f.m2i(pkt, own[p:p + ln])[0]
            shown = str(name) if val is None or val == b"" else f"{name}: {val}"
        out.append(Node(_clip(str(shown)), base + p, base + p + ln, []))
        p += ln
        if kind == 0:
            if p < end:
                out.append(Node(f"padding ({end - p} bytes)", base + p, base + end, []))
            break
    return out


def _packet_children(val: Any, start: int, end: int, depth: int) -> list[Node]:
    """Nodes for the packets held by a PacketField/PacketListField, laid out in order."""
    from scapy.packet import Packet

    items = val if isinstance(val, list) else [val]
    out: list[Node] = []
    pos = start
    for item in items:
        if not isinstance(item, Packet):
            continue
        own = _own_bytes(item)
        size = len(own)
        pay = item.payload
        if pay is not None and type(pay).__name__ not in ("NoPayload", "Padding"):
            with contextlib.suppress(Exception):
                size += len(bytes(pay))
        s = min(pos, end)
        e = min(end, s + size)
        try:
            kids = _field_nodes(item, own, s, depth)
        except Exception:
            kids = []
        out.append(Node(_clip(_layer_label(item, e - s)), s, e, kids))
        pos = e
    return out


def _field_label(pkt: Any, f: Any, val: Any) -> str:
    """``name: value`` as scapy shows it; lists of sub-packets are summarised by count."""
    try:
        if getattr(f, "holds_packets", False) and isinstance(val, list):
            return f"{f.name}: {len(val)} item{'' if len(val) == 1 else 's'}"
        shown = f.i2repr(pkt, val)
        return f"{f.name}: {shown if shown != '' else '(none)'}"
    except Exception:
        return f"{f.name}: ?"


def _clip(s: str) -> str:
    s = s.replace("\n", " ")
    return s if len(s) <= _MAX_LABEL else s[:_MAX_LABEL - 1] + "…"


def _layer_label(layer: Any, size: int) -> str:
    """Wireshark-style title for well-known layers, scapy's name and summary otherwise."""
    name = type(layer).__name__
    try:
        g = layer.getfieldval
        if name == "Ether":
            return f"Ethernet II, Src: {g('src')}, Dst: {g('dst')}"
        if name in ("Dot1Q", "Dot1AD"):
            kind = "802.1ad" if name == "Dot1AD" else "802.1Q Virtual LAN"
            return f"{kind}, PRI: {g('prio')}, DEI: {g('dei')}, ID: {g('vlan')}"
        if name in ("IP", "IPerror"):
            pre = "" if name == "IP" else "[quoted] "
            return f"{pre}Internet Protocol Version 4, Src: {g('src')}, Dst: {g('dst')}"
        if name in ("IPv6", "IPerror6"):
            pre = "" if name == "IPv6" else "[quoted] "
            return f"{pre}Internet Protocol Version 6, Src: {g('src')}, Dst: {g('dst')}"
        if name in ("TCP", "TCPerror"):
            return (f"Transmission Control Protocol, Src Port: {g('sport')}, "
                    f"Dst Port: {g('dport')}, Seq: {g('seq')}, Ack: {g('ack')}")
        if name in ("UDP", "UDPerror"):
            return f"User Datagram Protocol, Src Port: {g('sport')}, Dst Port: {g('dport')}"
        if name in ("ICMP", "ICMPerror"):
            return f"Internet Control Message Protocol, type {g('type')}, code {g('code')}"
        if name == "ARP":
            op = {1: "request", 2: "reply"}.get(g("op"), f"opcode {g('op')}")
            return f"Address Resolution Protocol ({op})"
        if name == "DNS":
            return f"Domain Name System ({'response' if g('qr') else 'query'})"
        if name == "BOOTP":
            return "Bootstrap Protocol"
        if name == "DHCP":
            return "DHCP options"
        if name == "CookedLinux":
            return "Linux cooked capture v1"
        if name == "CookedLinuxV2":
            return "Linux cooked capture v2"
        if name in ("Loopback", "LoopbackOpenBSD"):
            return f"Null/Loopback, family {g('type')}"
        if name == "Raw":
            return f"Data ({size} bytes)"
        if name == "Padding":
            return f"Padding ({size} bytes)"
        if name.startswith("ICMPv6"):
            return f"Internet Control Message Protocol v6: {layer.name}"
        summary = layer.mysummary()
        if isinstance(summary, tuple):
            summary = summary[0]
        summary = str(summary)
        return f"{layer.name}: {summary}" if summary and summary != layer.name else layer.name
    except Exception:
        return str(getattr(layer, "name", name))
