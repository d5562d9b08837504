"""The protocol tree's words: field names and values as a protocol analyst reads them.

:mod:`tapwatch.decode.tree` dissects with scapy and maps every field to its
bytes; this module turns a field's value into its label, Wireshark's way:

* names, not scapy's attribute names (``Time to Live``, not ``ttl``);
* one base per kind of field: counts, lengths, ports and addresses as they are,
  decimal; identifiers decimal with the hex beside them; flags and checksums
  in hex, flags with their names spelled out (``0x02 (Don't fragment)``,
  ``0x012 [SYN, ACK]``), checksums with a verdict computed over the packet
  (``0x1c46 [correct]``, ``[incorrect, should be 0x...]``);
* enumerations named with their number (``ICMP (1)``, ``A (1)``, ``reply (2)``);
* nothing of Python's: no ``b'...'`` reprs, no ``None`` (a field that is not
  there is left out), no ``0 items`` (an empty list is left out).

Every label still goes through :func:`tapwatch.sanitize.printable` in the tree
(values such as DNS names come from the packet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from tapwatch.decode.names import (
    ARP_HARDWARE,
    ARP_OPS,
    DNS_CLASSES,
    DNS_OPS_WS,
    DNS_RCODES_WS,
    DNS_TYPES,
    ETHERTYPE_NAMES,
    ICMP6_NAMES,
    ICMP_UNREACH,
)
from tapwatch.decode.verbose import IPPROTO_TD, cksum, pseudo_sum, shouldbe
from tapwatch.linktypes import LINKTYPE_RAW

if TYPE_CHECKING:
    from tapwatch.decode.core import Walk

#: Bytes of a data field shown in hex before the rest is summed up by its length.
SHOWN_BYTES: Final = 24


class Net:
    """What checksums need of the nearest IP header: addresses and where its payload ends;
    and where the frame's headers end, as the decoder's one header walk read them
    (:meth:`header_end`): the tree's builders read the fields of a header, never where it
    ends or where the next layer begins."""

    def __init__(
        self, data: bytes, wire: int | None = None, walked: Walk | None = None, linktype: int = 1
    ) -> None:
        self.data = data
        #: the decoder's walk of ``data`` (the tree passes its own; else one is made on first
        #: use, of ``data`` as a frame of ``linktype``: Ethernet unless said)
        self.walked = walked
        self.linktype = linktype
        #: walks of datagrams the frame's walk does not enter (quoted in an ICMP error), by
        #: the offset they start at
        self._quoted: list[tuple[int, Walk]] = []
        #: the frame's length on the wire, when known: an IP header claiming more ends there
        #: (tshark's reported length); None: the IP header's length is believed
        self.wire = wire
        self.src = b""
        self.dst = b""
        self.end = -1  # end of the IP payload in ``data`` (-1: no IP header yet)
        self.fragment = False  # the payload is a fragment: its checksum cannot be verified

    def header_end(self, s: int, name: str, ip: bool = False, at: int = -1, proto: int = -1) -> int:
        """Where the header of the layer ``name`` (the walk's names: ``IPv4``, ``TCP``,
        ``GRE`` ...) that starts at ``s`` ends (its payload starts), as the walk read its
        length fields; -1 when the walk read no such header there.  ``ip``: an IP header,
        which the frame's walk may not have entered (a datagram an ICMP error quotes): the
        walk of that datagram from ``s`` answers, and answers later for what it carries.
        ``proto`` (with ``at``): the header is what the header of that IP protocol at ``at``
        carries (``at == s``: it is that header), walked from there when the frame's walk
        did not reach it (past its nesting bound, in a datagram it does not enter)."""
        return self._find(s, name, ip, 0, at, proto)

    def part_end(self, s: int, name: str) -> int:
        """Where the header that starts at ``s`` inside a layer ``name`` ends (an IPv6
        extension header, an MPLS label), as the walk read it; -1 when it read none there."""
        return self._find(s, name, False, 1, -1, -1)

    def layer_end(self, s: int, name: str, at: int = -1, proto: int = -1) -> int:
        """Where the layer ``name`` that starts at ``s`` ends by a length of its own (UDP's,
        an L2TP header's, an OpenVPN record's), as the walk read it, past the captured bytes
        if it says so; -1 when it read none there (``at``, ``proto``: as for
        :meth:`header_end`)."""
        return self._find(s, name, False, 2, at, proto)

    def _find(self, s: int, name: str, ip: bool, kind: int, at: int, proto: int) -> int:
        from tapwatch.decode.classify import walk, walk_from

        w = self.walked
        if w is None:
            w = self.walked = walk(self.data, self.linktype)
        got = _lookup(w, s, name, kind)
        if got >= 0:
            return got
        for base, sub in self._quoted:
            got = _lookup(sub, s - base, name, kind)
            if got >= 0:
                return got + base
        if len(self._quoted) >= 8 or s >= len(self.data):
            return -1
        if ip:
            sub = walk(self.data[s:], LINKTYPE_RAW)
            self._quoted.append((s, sub))
            got = _lookup(sub, 0, name, kind)
            return got + s if got >= 0 else -1
        if proto >= 0 and 0 <= at <= s:
            sub = walk_from(self.data, at, len(self.data), -1, proto)  # the frame's offsets
            self._quoted.append((0, sub))
            return _lookup(sub, s, name, kind)
        return -1


def _lookup(w: Walk, s: int, name: str, kind: int) -> int:
    """``w``'s header end (``kind`` 0), inner header end (1) or length end (2) at ``s``."""
    if kind == 1:
        return w.part_end(s, name)
    if kind == 2:
        return w.layer_end(s, name)
    return w.header_end(s, name)


class Where:
    """A field's surroundings: the layer's class name, its start in the frame, the packet."""

    def __init__(self, layer: str, start: int, net: Net, pkt: Any) -> None:
        self.layer = layer
        self.start = start
        self.net = net
        self.pkt = pkt


# --------------------------------------------------------------------------- names

_NAMES: Final[dict[str, dict[str, str]]] = {
    "Ether": {"dst": "Destination", "src": "Source", "type": "Type"},
    "Dot1Q": {"prio": "Priority", "dei": "Drop Eligible Indicator", "vlan": "ID", "type": "Type"},
    "IP": {
        "version": "Version",
        "ihl": "Header Length",
        "tos": "Differentiated Services Field",
        "len": "Total Length",
        "id": "Identification",
        "flags": "Flags",
        "frag": "Fragment Offset",
        "ttl": "Time to Live",
        "proto": "Protocol",
        "chksum": "Header Checksum",
        "src": "Source Address",
        "dst": "Destination Address",
        "options": "Options",
    },
    "IPv6": {
        "version": "Version",
        "tc": "Traffic Class",
        "fl": "Flow Label",
        "plen": "Payload Length",
        "nh": "Next Header",
        "hlim": "Hop Limit",
        "src": "Source Address",
        "dst": "Destination Address",
    },
    "TCP": {
        "sport": "Source Port",
        "dport": "Destination Port",
        "seq": "Sequence Number",
        "ack": "Acknowledgment Number",
        "dataofs": "Header Length",
        "reserved": "Reserved",
        "flags": "Flags",
        "window": "Window",
        "chksum": "Checksum",
        "urgptr": "Urgent Pointer",
        "options": "Options",
    },
    "UDP": {
        "sport": "Source Port",
        "dport": "Destination Port",
        "len": "Length",
        "chksum": "Checksum",
    },
    "ICMP": {
        "type": "Type",
        "code": "Code",
        "chksum": "Checksum",
        "id": "Identifier",
        "seq": "Sequence Number",
        "gw": "Gateway Address",
        "ptr": "Pointer",
        "unused": "Unused",
        "nexthopmtu": "MTU of Next Hop",
        "length": "Length",
        "addr_mask": "Address Mask",
        "ts_ori": "Originate Timestamp",
        "ts_rx": "Receive Timestamp",
        "ts_tx": "Transmit Timestamp",
        "reserved": "Reserved",
    },
    "ICMPv6": {
        "type": "Type",
        "code": "Code",
        "cksum": "Checksum",
        "id": "Identifier",
        "seq": "Sequence Number",
        "data": "Data",
        "res": "Reserved",
        "tgt": "Target Address",
        "R": "Router",
        "S": "Solicited",
        "O": "Override",
        "mtu": "MTU",
        "len": "Length",
        "lladdr": "Link-layer Address",
        "mrd": "Maximum Response Delay",
        "mladdr": "Multicast Address",
        "reserved": "Reserved",
    },
    "ARP": {
        "hwtype": "Hardware Type",
        "ptype": "Protocol Type",
        "hwlen": "Hardware Size",
        "plen": "Protocol Size",
        "op": "Opcode",
        "hwsrc": "Sender MAC Address",
        "psrc": "Sender IP Address",
        "hwdst": "Target MAC Address",
        "pdst": "Target IP Address",
    },
    "DNS": {
        "length": "Length",
        "id": "Transaction ID",
        "qr": "Response",
        "opcode": "Opcode",
        "aa": "Authoritative",
        "tc": "Truncated",
        "rd": "Recursion Desired",
        "ra": "Recursion Available",
        "z": "Z (reserved)",
        "ad": "Authentic Data",
        "cd": "Checking Disabled",
        "rcode": "Reply Code",
        "qdcount": "Questions",
        "ancount": "Answer RRs",
        "nscount": "Authority RRs",
        "arcount": "Additional RRs",
        "qd": "Queries",
        "an": "Answers",
        "ns": "Authoritative Nameservers",
        "ar": "Additional Records",
    },
    "DNSQR": {
        "qname": "Name",
        "qtype": "Type",
        "unicastresponse": "Unicast Response",
        "qclass": "Class",
    },
    "DNSRR": {
        "rrname": "Name",
        "type": "Type",
        "cacheflush": "Cache Flush",
        "rclass": "Class",
        "ttl": "Time to Live",
        "rdlen": "Data Length",
        "rdata": "Data",
    },
    "OpenVPN": {
        "opcode": "Opcode",
        "key_id": "Key ID",
        "peer_id": "Peer ID",
        "session_id": "Session ID",
        "ack_count": "Message Packet-ID Array Length",
        "acks": "Packet-ID Array",
        "remote_session_id": "Remote Session ID",
        "packet_id": "Message Packet-ID",
    },
    "OpenVPNTCP": {"plen": "Packet Length"},
    "VXLAN": {
        "flags": "Flags",
        "reserved0": "Reserved",
        "reserved1": "Reserved",
        "reserved2": "Reserved",
        "vni": "VXLAN Network Identifier (VNI)",
        "NextProtocol": "Next Protocol",
        "gpflags": "Group Policy Flags",
        "gpid": "Group Policy ID",
    },
    "GRE": {
        "chksum_present": "Checksum Bit",
        "routing_present": "Routing Bit",
        "key_present": "Key Bit",
        "seqnum_present": "Sequence Number Bit",
        "strict_route_source": "Strict Source Route",
        "recursion_control": "Recursion Control",
        "flags": "Flags (reserved)",
        "version": "Version",
        "proto": "Protocol Type",
        "chksum": "Checksum",
        "offset": "Offset",
        "key": "Key",
        "sequence_number": "Sequence Number",
    },
    "BOOTP": {
        "op": "Message Type",
        "htype": "Hardware Type",
        "hlen": "Hardware Address Length",
        "hops": "Hops",
        "xid": "Transaction ID",
        "secs": "Seconds Elapsed",
        "flags": "Flags",
        "ciaddr": "Client IP Address",
        "yiaddr": "Your IP Address",
        "siaddr": "Next Server IP Address",
        "giaddr": "Relay Agent IP Address",
        "chaddr": "Client Hardware Address",
        "sname": "Server Host Name",
        "file": "Boot File Name",
        "options": "Magic Cookie",
    },
    "Raw": {"load": "Data"},
    "Padding": {"load": "Padding"},
}
_NAMES["Dot1AD"] = _NAMES["Dot1Q"]
_NAMES["IPerror"] = _NAMES["IP"]
_NAMES["IPerror6"] = _NAMES["IPv6"]
_NAMES["TCPerror"] = _NAMES["TCP"]
_NAMES["UDPerror"] = _NAMES["UDP"]
_NAMES["ICMPerror"] = _NAMES["ICMP"]
#: Words of field names other layers share (scapy's attribute -> the analyst's name).
_COMMON: Final = {
    "sport": "Source Port",
    "dport": "Destination Port",
    "src": "Source",
    "dst": "Destination",
    "len": "Length",
    "chksum": "Checksum",
    "cksum": "Checksum",
    "ttl": "Time to Live",
    "seq": "Sequence Number",
    "id": "Identifier",
    "type": "Type",
    "code": "Code",
    "flags": "Flags",
    "version": "Version",
    "load": "Data",
    "spi": "SPI",
    "nh": "Next Header",
}


def field_name(layer: str, name: str) -> str:
    """The analyst's name of a field of a scapy layer."""
    table = _NAMES.get(layer)
    if table is None and layer.startswith("ICMPv6"):
        table = _NAMES["ICMPv6"]
    if table is not None and name in table:
        return table[name]
    if name in _COMMON:
        return _COMMON[name]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


# --------------------------------------------------------------------------- values

_DSCP: Final = {
    0: "CS0",
    8: "CS1",
    10: "AF11",
    12: "AF12",
    14: "AF13",
    16: "CS2",
    18: "AF21",
    20: "AF22",
    22: "AF23",
    24: "CS3",
    26: "AF31",
    28: "AF32",
    30: "AF33",
    32: "CS4",
    34: "AF41",
    36: "AF42",
    38: "AF43",
    40: "CS5",
    44: "VOICE-ADMIT",
    46: "EF",
    48: "CS6",
    56: "CS7",
}
_ECN: Final = ("Not-ECT", "ECT(1)", "ECT(0)", "CE")
_ICMP_TYPES: Final = {
    0: "Echo (ping) reply",
    3: "Destination unreachable",
    4: "Source quench",
    5: "Redirect",
    8: "Echo (ping) request",
    9: "Router advertisement",
    10: "Router solicitation",
    11: "Time-to-live exceeded",
    12: "Parameter problem",
    13: "Timestamp",
    14: "Timestamp reply",
    15: "Information request",
    16: "Information reply",
    17: "Address mask request",
    18: "Address mask reply",
}
_ICMP_CODES: Final = {
    3: {code: ws for code, (_td, ws) in ICMP_UNREACH.items()},
    5: {
        0: "Redirect for network",
        1: "Redirect for host",
        2: "Redirect for TOS and network",
        3: "Redirect for TOS and host",
    },
    11: {0: "Time to live exceeded in transit", 1: "Fragment reassembly time exceeded"},
}
#: IPv4's three flag bits, highest first, in tshark's words: the one place they are written
#: (the tree's IPv4 builder, ``ws_ip``, and the fallback formatter here both read them)
IP_FLAG_WORDS: Final = ((4, "Reserved bit"), (2, "Don't fragment"), (1, "More fragments"))
#: TCP's flags in tshark's short words (``Flags: 0x018 (PSH, ACK)``), bit 0 first: the one
#: place they are written (``ws_transport`` and the fallback formatter here)
TCP_FLAG_WORDS: Final = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE")
_ARP_HW: Final = ARP_HARDWARE
_BOOTP_OPS: Final = {1: "Boot Request", 2: "Boot Reply"}


def icmp_type_name(t: int) -> str:
    return _ICMP_TYPES.get(t, f"type {t}")


def dns_type(t: int) -> str:
    return DNS_TYPES.get(t, f"Unknown ({t})")


def dns_class(c: int) -> str:
    return DNS_CLASSES.get(c, f"Unknown ({c})")


def ethertype_name(t: int) -> str:
    return ETHERTYPE_NAMES.get(t, f"0x{t:04x}")


def _enum(names: dict[int, str], v: int, hexa: int = 0) -> str:
    """``NAME (number)``, the number in hex of ``hexa`` digits when that is the custom."""
    num = f"0x{v:0{hexa}x}" if hexa else str(v)
    name = names.get(v)
    return f"{name} ({num})" if name else f"Unknown ({num})"


def _dec_hex(v: int, digits: int) -> str:
    return f"{v} (0x{v:0{digits}x})"


def _flag_names(v: int, bits: tuple[tuple[int, str], ...]) -> str:
    return ", ".join(name for bit, name in bits if v & bit)


def data_value(b: bytes) -> str:
    """Bytes as hex: the first :data:`SHOWN_BYTES`, then an ellipsis and the length."""
    if not b:
        return "(empty)"
    shown = b[:SHOWN_BYTES].hex()
    return f"{shown}… ({len(b)} bytes)" if len(b) > SHOWN_BYTES else shown


def text_value(b: bytes) -> str:
    """A name or text from the packet (DNS names, host names), without a trailing dot."""
    s = b.decode("latin-1")
    return s[:-1] if s.endswith(".") and len(s) > 1 else s


def _checksum(field: int, where: Where, kind: str) -> str:
    """``0x1c46 [correct]`` / ``[incorrect, should be 0x...]`` / ``[unverified]``: the
    checksum recomputed over the bytes it covers, when they were all captured."""
    net = where.net
    data = net.data
    start = where.start
    shown = f"0x{field:04x}"
    if kind == "ip":
        ihl = (data[start] & 15) << 2 if start < len(data) else 0
        if ihl < 20 or start + ihl > len(data):
            return shown + " [unverified]"
        c = cksum(data[start : start + ihl])
    else:
        end = net.end
        if end < 0 or end > len(data) or end <= start or net.fragment:
            return shown + " [unverified]"
        seg = data[start:end]
        if kind == "icmp":
            c = cksum(seg)
        else:
            if kind == "udp" and field == 0 and len(net.src) == 4:
                return shown + " [zero-value ignored]"
            c = pseudo_sum(net.src, net.dst, {"tcp": 6, "udp": 17, "icmp6": 58}[kind], seg)
    if c == 0:
        return shown + " [correct]"
    return f"{shown} [incorrect, should be 0x{shouldbe(field, c):04x}]"


def _zstring(v: Any) -> str:
    """A NUL-padded name field: its text, or "not given" when it is all zeros."""
    b = bytes(v).split(b"\0", 1)[0] if isinstance(v, (bytes, bytearray)) else b""
    return f'"{text_value(b)}"' if b else "not given"


def _ip_tos(v: int) -> str:
    dscp = v >> 2
    return f"0x{v:02x} (DSCP: {_DSCP.get(dscp, str(dscp))}, ECN: {_ECN[v & 3]})"


def _ip_flags(v: int) -> str:
    names = _flag_names(v, IP_FLAG_WORDS)
    return f"0x{v:02x} ({names})" if names else f"0x{v:02x}"


def _tcp_flags(v: int) -> str:
    names = ", ".join(n for i, n in enumerate(TCP_FLAG_WORDS) if v >> i & 1)
    return f"0x{v:03x} ({names})" if names else f"0x{v:03x}"


def _icmp_code(where: Where, v: int) -> str:
    t = _int(where.pkt.getfieldval("type"))
    name = _ICMP_CODES.get(t, {}).get(v)
    return f"{v} ({name})" if name else str(v)


def _dns_rdata(where: Where, v: Any) -> str:
    if isinstance(v, bytes):
        t = _int(where.pkt.getfieldval("type"))
        return text_value(v) if t in (2, 5, 12, 39) else data_value(v)
    if isinstance(v, list):
        return ", ".join(text_value(x) if isinstance(x, bytes) else str(x) for x in v)
    return str(v)


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return -1


Formatter = Callable[[Where, Any], "str | None"]

_VALUES: Final[dict[tuple[str, str], Formatter]] = {
    ("Ether", "type"): lambda w, v: _enum(ETHERTYPE_NAMES, _int(v), 4),
    ("Dot1Q", "type"): lambda w, v: _enum(ETHERTYPE_NAMES, _int(v), 4),
    ("IP", "ihl"): lambda w, v: f"{_int(v) * 4} bytes ({_int(v)})",
    ("IP", "tos"): lambda w, v: _ip_tos(_int(v)),
    ("IP", "id"): lambda w, v: _dec_hex(_int(v), 4),
    ("IP", "flags"): lambda w, v: _ip_flags(_int(v)),
    ("IP", "frag"): lambda w, v: f"{_int(v) * 8} ({_int(v)})" if _int(v) else "0",
    ("IP", "proto"): lambda w, v: _enum(IPPROTO_TD, _int(v)),
    ("IP", "chksum"): lambda w, v: _checksum(_int(v), w, "ip"),
    ("IPv6", "tc"): lambda w, v: _ip_tos(_int(v)),
    ("IPv6", "fl"): lambda w, v: f"0x{_int(v):05x}",
    ("IPv6", "nh"): lambda w, v: _enum(IPPROTO_TD, _int(v)),
    ("TCP", "dataofs"): lambda w, v: f"{_int(v) * 4} bytes ({_int(v)})",
    ("TCP", "flags"): lambda w, v: _tcp_flags(_int(v)),
    ("TCP", "chksum"): lambda w, v: _checksum(_int(v), w, "tcp"),
    ("UDP", "chksum"): lambda w, v: _checksum(_int(v), w, "udp"),
    ("ICMP", "type"): lambda w, v: _enum(_ICMP_TYPES, _int(v)),
    ("ICMP", "code"): lambda w, v: _icmp_code(w, _int(v)),
    ("ICMP", "chksum"): lambda w, v: _checksum(_int(v), w, "icmp"),
    ("ICMP", "id"): lambda w, v: _dec_hex(_int(v), 4),
    ("ICMP", "seq"): lambda w, v: _dec_hex(_int(v), 4),
    ("ARP", "hwtype"): lambda w, v: _enum(_ARP_HW, _int(v)),
    ("ARP", "ptype"): lambda w, v: _enum(ETHERTYPE_NAMES, _int(v), 4),
    ("ARP", "op"): lambda w, v: _enum({k: n.lower() for k, n in ARP_OPS.items()}, _int(v)),
    ("DNS", "id"): lambda w, v: f"0x{_int(v):04x}",
    ("DNS", "opcode"): lambda w, v: _enum(DNS_OPS_WS, _int(v)),
    ("DNS", "rcode"): lambda w, v: _enum({0: "No error", **DNS_RCODES_WS}, _int(v)),
    ("DNSQR", "qname"): lambda w, v: text_value(v) if isinstance(v, bytes) else str(v),
    ("DNSQR", "qtype"): lambda w, v: _enum(DNS_TYPES, _int(v)),
    ("DNSQR", "qclass"): lambda w, v: _enum(DNS_CLASSES, _int(v), 4),
    ("DNSRR", "rrname"): lambda w, v: text_value(v) if isinstance(v, bytes) else str(v),
    ("DNSRR", "type"): lambda w, v: _enum(DNS_TYPES, _int(v)),
    ("DNSRR", "rclass"): lambda w, v: _enum(DNS_CLASSES, _int(v), 4),
    ("DNSRR", "ttl"): lambda w, v: f"{_int(v)} seconds",
    ("DNSRR", "rdata"): _dns_rdata,
    ("VXLAN", "flags"): lambda w, v: (
        f"0x{_int(v):02x} (VNI valid)" if _int(v) & 8 else f"0x{_int(v):02x}"
    ),
    ("VXLAN", "vni"): lambda w, v: str(_int(v)),
    ("VXLAN", "reserved0"): lambda w, v: str(_int(v)),
    ("VXLAN", "reserved1"): lambda w, v: str(_int(v)),
    ("VXLAN", "reserved2"): lambda w, v: str(_int(v)),
    ("GRE", "proto"): lambda w, v: _enum(ETHERTYPE_NAMES, _int(v), 4),
    ("GRE", "chksum"): lambda w, v: f"0x{_int(v):04x}",
    ("GRE", "key"): lambda w, v: _dec_hex(_int(v), 8),
    ("BOOTP", "op"): lambda w, v: _enum(_BOOTP_OPS, _int(v)),
    ("BOOTP", "htype"): lambda w, v: _enum(_ARP_HW, _int(v)),
    ("BOOTP", "xid"): lambda w, v: f"0x{_int(v):08x}",
    ("BOOTP", "flags"): lambda w, v: (
        f"0x{_int(v):04x} (Broadcast)" if _int(v) & 0x8000 else f"0x{_int(v):04x} (Unicast)"
    ),
    ("BOOTP", "chaddr"): lambda w, v: v[:6].hex(":") if isinstance(v, bytes) else str(v),
    ("BOOTP", "sname"): lambda w, v: _zstring(v),
    ("BOOTP", "file"): lambda w, v: _zstring(v),
    ("BOOTP", "options"): lambda w, v: "DHCP" if v == b"c\x82Sc" else data_value(bytes(v)),
}
for _layer in ("TCP", "UDP"):
    for _port in ("sport", "dport"):
        _VALUES[(_layer, _port)] = lambda w, v: str(_int(v))
_VALUES[("Raw", "load")] = lambda w, v: data_value(bytes(v))
_VALUES[("Padding", "load")] = lambda w, v: data_value(bytes(v))
for _k in [k for k in _VALUES if k[0] in ("IP", "TCP", "UDP", "ICMP", "IPv6")]:
    _VALUES[(_k[0] + "error" if _k[0] != "IPv6" else "IPerror6", _k[1])] = _VALUES[_k]
for _k in [k for k in _VALUES if k[0] == "Dot1Q"]:
    _VALUES[("Dot1AD", _k[1])] = _VALUES[_k]


def _icmp6_value(where: Where, name: str, v: Any) -> str | None:
    if name == "type":
        t = _int(v)
        names = ICMP6_NAMES.get(t)
        return f"{t} ({names[1]})" if names else str(t)
    if name == "cksum":
        return _checksum(_int(v), where, "icmp6")
    if name in ("id", "seq"):
        return _dec_hex(_int(v), 4)
    return None


def value(where: Where, field: Any, v: Any) -> str | None:
    """The value part of a field's label; None: leave the field out (it is not there)."""
    if v is None:
        return None
    layer = where.layer
    name = field.name
    special = _VALUES.get((layer, name))
    if special is not None:
        return special(where, v)
    if layer.startswith("ICMPv6") and not layer.startswith("ICMPv6NDOpt"):
        got = _icmp6_value(where, name, v)
        if got is not None:
            return got
    return generic(field, v, where.pkt)


def generic(field: Any, v: Any, pkt: Any) -> str | None:
    """A value by its kind, for the fields no table names."""
    if isinstance(v, (bytes, bytearray)):
        b = bytes(v)
        if not b:
            return None
        if all(0x20 <= c < 0x7F for c in b) and len(b) <= 64:
            return f'"{b.decode("ascii")}"'
        return data_value(b)
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, list):
        if not v:
            return None
        shown = [generic(field, x, pkt) or "-" for x in v[:8]]
        return ", ".join(shown) + (", …" if len(v) > 8 else "")
    if isinstance(v, int) or type(v).__name__ == "FlagValue":
        n = int(v)
        kind = type(field).__name__
        if "Flags" in kind:
            try:
                names = str(field.i2repr(pkt, v))
            except Exception:
                names = ""
            return f"0x{n:02x} ({names})" if names and names != str(n) else f"0x{n:02x}"
        if "Enum" in kind:
            try:
                named = str(field.i2repr(pkt, v))
            except Exception:
                named = str(n)
            if named == "None":  # an enumeration's own word (ISAKMP's "no next payload")
                named = "none"
            return named if named == str(n) or named.startswith("0x") else f"{named} ({n})"
        if kind.startswith("X"):
            return f"0x{n:x}"
        return str(n)
    if isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return ", ".join(generic(field, x, pkt) or "-" for x in v)
    if hasattr(v, "fields_desc"):  # a packet inside a field: its summary, not its repr
        try:
            return str(v.summary())
        except Exception:
            return type(v).__name__
    return str(v)


def tcp_option(kind: int, body: bytes) -> str:
    """One TCP option from its bytes (kind, then the bytes after the length)."""
    if kind == 0:
        return "End of Option List (EOL)"
    if kind == 1:
        return "No-Operation (NOP)"
    if kind == 2 and len(body) == 2:
        return f"Maximum segment size: {body[0] << 8 | body[1]} bytes"
    if kind == 3 and len(body) == 1:
        return f"Window scale: {body[0]} (multiply by {1 << min(body[0], 14)})"
    if kind == 4:
        return "SACK permitted"
    if kind == 5 and len(body) % 8 == 0:
        edges = [int.from_bytes(body[i : i + 4], "big") for i in range(0, len(body), 4)]
        return "SACK: " + ", ".join(f"{edges[i]}-{edges[i + 1]}" for i in range(0, len(edges), 2))
    if kind == 8 and len(body) == 8:
        return (
            f"Timestamps: TSval {int.from_bytes(body[:4], 'big')}, "
            f"TSecr {int.from_bytes(body[4:], 'big')}"
        )
    names = {
        19: "MD5 signature",
        28: "User Timeout",
        29: "TCP Authentication Option",
        30: "Multipath TCP",
        34: "TCP Fast Open",
    }
    name = names.get(kind, f"Unknown option (kind {kind})")
    return f"{name}: {body.hex()}" if body else name
