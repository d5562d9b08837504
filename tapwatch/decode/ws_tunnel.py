"""The tunnel and encapsulation layers in tshark's words, nesting and byte spans.

802.1Q and 802.1ad tags, MPLS labels, GRE (PPTP's enhanced GRE, ERSPAN's header after
GRE), Geneve, ESP (and the marker before IKE on UDP 4500), WireGuard and
OpenVPN: what a VPN developer reads first in a tunnel host's capture (L2TP:
:mod:`tapwatch.decode.ws_l2tp`).
Each builder reads the header from the bytes (never trusting a length past the captured
bytes) and returns tshark's node for the layer, or None where tshark's tree would depend on
something this one does not read (a WireGuard message of the wrong size, an OpenVPN HMAC
tshark 4.0 does not expect): the scapy-based fields are shown then.

A node spans what tshark's spans: a WireGuard message, an OpenVPN message with the data it
carries, an L2TP control message with its AVPs.  The scapy layers inside that span (scapy
dissects a WireGuard message as two layers, OpenVPN's data as a third) are parts of it
(:func:`tapwatch.decode.tree._layer_nodes`).  What tshark leaves to the whole capture
(WireGuard's stream index, ESP's sequence analysis) and its generated status lines are left
out; no other word is invented.
"""

from __future__ import annotations

import base64
import time
from typing import Final

from tapwatch.decode.core import Walk
from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.link import tags_walk
from tapwatch.decode.node import Node
from tapwatch.decode.tunnels import OPENVPN_OPCODES
from tapwatch.decode.ws_common import MAX_ITEMS, hex_value, node, u16, u32

# ----------------------------------------------------------------------------- helpers


def payload_end(data: bytes, s: int, net: Net) -> int:
    """Where the bytes carried after ``s`` end: the IP payload's end (an Ethernet pad is
    not part of them), cut at what was captured."""
    return min(len(data), net.end) if net.end > s else len(data)


def _yes(v: int) -> str:
    return "Yes" if v else "No"


def _ethertype(t: int) -> str:
    from tapwatch.decode.wstree import ethertype

    return ethertype(t)


# ----------------------------------------------------------------------------- 802.1Q

_PRIORITIES: Final = (
    "Best Effort (default)",
    "Background",
    "Excellent Effort",
    "Critical Applications",
    "Video, < 100ms latency and jitter",
    "Voice, < 10ms latency and jitter",
    "Internetwork Control",
    "Network Control",
)


def tag_end(data: bytes, s: int, net: Net, name: str, tpid: int) -> int:
    """Where the VLAN tag ``name`` (the walk's: ``802.1Q``, ``802.1ad``) at ``s`` ends: the
    frame's walk's, or where the frame's walk did not reach it (after a cooked header's type,
    past its MAX_VLAN_TAGS) the walk from the tag (:func:`~tapwatch.decode.link.tags_walk`,
    ``tpid`` the type announcing it): never a size of the builder's own."""
    end = net.header_end(s, name)
    if end >= 0:
        return end
    sub = Walk(None, True, True)
    try:
        tags_walk(data, s, tpid, sub)
    except Exception:  # hostile bytes: no end read
        return -1
    return sub.header_end(s, name)


def dot1q(data: bytes, s: int, net: Net) -> Node | None:
    """An 802.1Q tag; None when a length (an 802.3 frame) follows it instead of a type."""
    e = tag_end(data, s, net, "802.1Q", 0x8100)
    if e < 0 or e > len(data) or u16(data, e - 2) < 0x0600:
        return None
    tci = u16(data, s)
    pri, dei, vid = tci >> 13, tci >> 12 & 1, tci & 0x0FFF
    return node(
        f"802.1Q Virtual LAN, PRI: {pri}, DEI: {dei}, ID: {vid}",
        s,
        e,
        [
            node(bits_line(tci, 0xE000, 16, "Priority", f"{_PRIORITIES[pri]} ({pri})"), s, s + 2),
            node(bits_line(tci, 0x1000, 16, "DEI", "Eligible" if dei else "Ineligible"), s, s + 2),
            node(bits_line(tci, 0x0FFF, 16, "ID", str(vid)), s, s + 2),
            node(f"Type: {_ethertype(u16(data, e - 2))}", e - 2, e),
        ],
    )


def dot1ad(data: bytes, s: int, net: Net) -> Node | None:
    """An 802.1ad (provider, Q-in-Q) tag: tshark spans its priority and DEI on one byte."""
    e = tag_end(data, s, net, "802.1ad", 0x88A8)
    if e < 0 or e > len(data) or u16(data, e - 2) < 0x0600:
        return None
    tci = u16(data, s)
    pri, dei, vid = tci >> 13, tci >> 12 & 1, tci & 0x0FFF
    return node(
        f"IEEE 802.1ad, ID: {vid}",
        s,
        e,
        [
            node(bits_line(tci, 0xE000, 16, "Priority", str(pri)), s, s + 1),
            node(bits_line(tci, 0x1000, 16, "DEI", str(dei)), s, s + 1),
            node(bits_line(tci, 0x0FFF, 16, "ID", str(vid)), s, s + 2),
            node(f"Type: {_ethertype(u16(data, e - 2))}", e - 2, e),
        ],
    )


# ----------------------------------------------------------------------------- MPLS

_MPLS_SPECIAL: Final = {
    0: "IPv4 Explicit-Null",
    1: "Router Alert",
    2: "IPv6 Explicit-Null",
    3: "Implicit-Null",
    7: "Entropy Label Indicator (ELI)",
    13: "Generic Associated Channel Label (GAL)",
    14: "OAM Alert",
}


def mpls(data: bytes, s: int, net: Net) -> Node | None:
    """One label stack entry (scapy makes one layer of each, as tshark makes one node): one
    the walk read in the stack (it stops at the bottom of the stack)."""
    end = net.part_end(s, "MPLS")
    if end < 0 or end > len(data):
        return None
    v = u32(data, s)
    label, exp, bottom, ttl = v >> 12, v >> 9 & 7, v >> 8 & 1, v & 0xFF
    special = _MPLS_SPECIAL.get(label, "Unknown" if label < 16 else "")
    named = f"{label} ({'Reserved - Unknown' if special == 'Unknown' else special})"
    if not special:
        named = str(label)
    shown = f"{special} ({label})" if special else f"{label} (0x{label:05x})"
    return node(
        f"MultiProtocol Label Switching Header, Label: {named}, Exp: {exp}, S: {bottom}, "
        f"TTL: {ttl}",
        s,
        end,
        [
            node(bits_line(v, 0xFFFFF000, 32, "MPLS Label", shown), s, end),
            node(bits_line(v, 0x00000E00, 32, "MPLS Experimental Bits", str(exp)), s, end),
            node(bits_line(v, 0x00000100, 32, "MPLS Bottom Of Label Stack", str(bottom)), s, end),
            node(bits_line(v, 0x000000FF, 32, "MPLS TTL", str(ttl)), s, end),
        ],
    )


# ----------------------------------------------------------------------------- GRE

#: GRE's own names for what it carries (not Ethernet's: IPv4 is "IP" here)
_GRE_PROTOCOLS: Final = {
    0x0800: "IP",
    0x86DD: "IPv6",
    0x6558: "Transparent Ethernet bridging",
    0x880B: "PPP",
    0x8847: "MPLS label switched packet",
    0x8848: "MPLS multicast label switched packet",
    0x88BE: "ERSPAN",
    0x22EB: "ERSPAN III",
    0x0806: "ARP",
    0x8137: "IPX",
    0x6559: "Frame Relay",
    0x894F: "Network Service Header",
    0x0000: "Possible GRE keepalive packet",
}


def _internet_sum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    total = sum(int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def gre(data: bytes, s: int, net: Net) -> Node | None:
    """GRE (version 0) and PPTP's enhanced GRE (version 1), with RFC 1701's source route
    entries (SREs) up to the NULL one.  What GRE carries under a type tshark does not
    dissect is data inside GRE's node, as tshark nests it."""
    d = data
    if s + 4 > len(d):
        return None
    f = u16(d, s)
    version = f & 7
    proto = u16(d, s + 2)
    name = _GRE_PROTOCOLS.get(proto)
    if version > 1 or (version == 1 and f & 0xC000):
        return None
    # the walk's: the optional fields the flags announce, and the source route entries
    head = net.header_end(s, "GRE")
    if head < 0 or head > len(d):
        return None
    bits = [
        node(bits_line(f, 0x8000, 16, "Checksum Bit", _yes(f & 0x8000)), s, s + 2),
        node(bits_line(f, 0x4000, 16, "Routing Bit", _yes(f & 0x4000)), s, s + 2),
        node(bits_line(f, 0x2000, 16, "Key Bit", _yes(f & 0x2000)), s, s + 2),
        node(bits_line(f, 0x1000, 16, "Sequence Number Bit", _yes(f & 0x1000)), s, s + 2),
        node(bits_line(f, 0x0800, 16, "Strict Source Route Bit", _yes(f & 0x0800)), s, s + 2),
        node(bits_line(f, 0x0700, 16, "Recursion control", str(f >> 8 & 7)), s, s + 2),
    ]
    if version == 1:
        bits += [
            node(bits_line(f, 0x0080, 16, "Acknowledgment", _yes(f & 0x0080)), s, s + 2),
            node(bits_line(f, 0x0078, 16, "Flags (Reserved)", str(f >> 3 & 15)), s, s + 2),
            node(bits_line(f, 0x0007, 16, "Version", "Enhanced GRE (1)"), s, s + 2),
        ]
    else:
        bits += [
            node(bits_line(f, 0x00F8, 16, "Flags (Reserved)", str(f >> 3 & 31)), s, s + 2),
            node(bits_line(f, 0x0007, 16, "Version", "GRE (0)"), s, s + 2),
        ]
    kids = [
        node(f"Flags and Version: 0x{f:04x}", s, s + 2, bits),
        node(f"Protocol Type: {name or 'Unknown'} (0x{proto:04x})", s + 2, s + 4),
    ]
    at = s + 4
    if f & 0xC000:
        got = u16(d, at)
        end = net.end if net.end > s else len(d)
        if not f & 0x8000:  # there for the routing offset only
            kids.append(node(f"Checksum: 0x{got:04x} [unverified]", at, at + 2))
        elif end <= len(d):  # the whole packet is there: the checksum can be verified
            body = d[s:at] + b"\0\0" + d[at + 2 : end]
            want = _internet_sum(body)
            verdict = "[correct]" if want == got else f"incorrect, should be 0x{want:04x}"
            kids.append(node(f"Checksum: 0x{got:04x} {verdict}", at, at + 2))
        kids.append(node(f"Offset: {u16(d, at + 2)}", at + 2, at + 4))
        at += 4
    if f & 0x2000:
        if version == 1:
            kids.append(node(f"Payload Length: {u16(d, at)}", at, at + 2))
            kids.append(node(f"Call ID: {u16(d, at + 2)}", at + 2, at + 4))
        else:
            kids.append(node(f"Key: 0x{u32(d, at):08x}", at, at + 4))
        at += 4
    if f & 0x1000:
        kids.append(node(f"Sequence Number: {u32(d, at)}", at, at + 4))
        at += 4
    if version == 1 and f & 0x0080:
        kids.append(node(f"Acknowledgment Number: {u32(d, at)}", at, at + 4))
        at += 4
    stop = payload_end(d, s, net)
    if f & 0x4000:  # the entries' fields (where they end: the walk's head)
        at = _gre_routing(d, at, stop, kids)
        if at < 0:
            return None
    if (name is None or proto == 0) and stop > head:
        from tapwatch.decode.ws_common import data_node

        kids.append(data_node(d, head, stop))
    title = name or f"0x{proto:04X} - unknown"
    return node(f"Generic Routing Encapsulation ({title})", s, head, kids)


def _gre_routing(d: bytes, at: int, end: int, kids: list[Node]) -> int:
    """RFC 1701's source route entries up to the NULL one (at most ``MAX_ITEMS``), each a
    ``Routing`` line with its fields beside it, as tshark's PDML has them; where they end,
    or -1 when the list runs past ``end``."""
    for _ in range(MAX_ITEMS):
        if at + 4 > end:
            return -1
        af, n = u16(d, at), d[at + 3]
        if at + 4 + n > end:
            return -1
        kids += [
            node("Routing", at, at + 4 + n),
            node(f"Address Family: {af}", at, at + 2),
            node(f"SRE Offset: {d[at + 2]}", at + 2, at + 3),
            node(f"SRE Length: {n}", at + 3, at + 4),
        ]
        if af == 0 and n == 0:
            return at + 4
        kids.append(
            node(f"Routing Information: {d[at + 4 : at + 4 + n].hex()}", at + 4, at + 4 + n)
        )
        at += 4 + n
    return -1


# ----------------------------------------------------------------------------- Geneve

#: option class ranges by the names tshark gives them (first, last, name); a class in no
#: range is "Unknown"
_GENEVE_CLASSES: Final = (
    (0x0000, 0x00FF, "Standard"),
    (0x0100, 0x0100, "Linux"),
    (0x0101, 0x0101, "Open vSwitch"),
    (0x0102, 0x0102, "Open Virtual Networking (OVN)"),
    (0x0103, 0x0103, "In-band Network Telemetry (INT)"),
    (0x0104, 0x0104, "VMware"),
    (0x0105, 0x0105, "Amazon.com, Inc."),
    (0x0106, 0x0106, "Cisco Systems, Inc."),
    (0x0107, 0x0107, "Oracle Corporation"),
    (0x0108, 0x0110, "Amazon.com, Inc."),
    (0x0111, 0x0118, "IBM"),
    (0x0119, 0x0128, "Ericsson"),
    (0x0129, 0x0129, "Oxide Computer Company"),
    (0x0130, 0x0131, "Cisco Systems, Inc."),
    (0x0132, 0x0135, "Google LLC"),
    (0x0136, 0x0136, "InfoQuick Global Connection Tech Ltd."),
    (0x0137, 0xFEFF, "Unassigned"),
    (0xFFF0, 0xFFFF, "Experimental"),
)


def _geneve_class(c: int) -> str:
    return next((name for lo, hi, name in _GENEVE_CLASSES if lo <= c <= hi), "Unknown")


def geneve(data: bytes, s: int, net: Net) -> Node | None:
    d = data
    if s + 8 > len(d) or d[s] >> 6 != 0:
        return None
    optlen = (d[s] & 0x3F) * 4  # the field's value; where the header ends is the walk's
    end = net.header_end(s, "Geneve")
    if end < 0 or end > len(d):
        return None
    f = d[s + 1]
    proto = u16(d, s + 2)
    vni = int.from_bytes(d[s + 4 : s + 7], "big")
    words = [
        w
        for bit, w in (
            (0x80, "Operations, Administration and Management Frame"),
            (0x40, "Critical Options Present"),
        )
        if f & bit
    ]
    kids = [
        node(f"Version: {d[s] >> 6}", s, s + 1),
        node(f"Length: {optlen} bytes", s, s + 1),
        node(
            f"Flags: 0x{f:02x}" + "".join(f", {w}" for w in words),
            s + 1,
            s + 2,
            [
                node(
                    bits_line(
                        f,
                        0x80,
                        8,
                        "Operations, Administration and Management Frame",
                        str(bool(f & 0x80)),
                    ),
                    s + 1,
                    s + 2,
                ),
                node(
                    bits_line(f, 0x40, 8, "Critical Options Present", str(bool(f & 0x40))),
                    s + 1,
                    s + 2,
                ),
                node(bits_line(f, 0x3F, 8, "Reserved", str(bool(f & 0x3F))), s + 1, s + 2),
            ],
        ),
        node(f"Protocol Type: {_ethertype(proto)}", s + 2, s + 4),
        node(f"Virtual Network Identifier (VNI): 0x{vni:06x} ({vni})", s + 4, s + 7),
    ]
    if optlen:
        options = _geneve_options(d, s + 8, end)
        if options is not None:
            kids.append(options)
    title = f"Generic Network Virtualization Encapsulation, VNI: 0x{vni:06x}"
    return node(title + (", OAM" if f & 0x80 else ""), s, end, kids)


def _geneve_options(d: bytes, start: int, end: int) -> Node | None:
    """The options (tshark 4.0 decodes none of their data: each is "Unknown"); None (no
    node) when one runs past the header or there are too many."""
    out: list[Node] = []
    at = start
    while at < end:
        if at + 4 > end or len(out) >= MAX_ITEMS:
            return None
        cls, t, n = u16(d, at), d[at + 2], (d[at + 3] & 0x1F) * 4 + 4
        name = _geneve_class(cls)
        if at + n > end:
            return None
        crit = "Critical" if t & 0x80 else "Non-critical"
        kids = [
            node(f"Class: {name} (0x{cls:04x})", at, at + 2),
            node(f"Type: 0x{t:02x} ({crit})", at + 2, at + 3),
            node(f"Length: {n} bytes", at + 3, at + 4),
        ]
        if n > 4:
            kids.append(node(f"Unknown Option Data: {d[at + 4 : at + n].hex()}", at + 4, at + n))
        out.append(
            node(f"Unknown, Class: {name} (0x{cls:04x}) Type: 0x{t:02x} ({crit})", at, at + n, kids)
        )
        at += n
    return node(f"Options: ({end - start} bytes)", start, end, out)


# ----------------------------------------------------------------------------- ESP


def esp(data: bytes, s: int, net: Net) -> Node | None:
    """ESP: the SPI and sequence number; the rest is encrypted, and tshark's node spans it."""
    if s + 8 > len(data):
        return None
    spi = u32(data, s)
    head = net.header_end(s, "ESP", at=s, proto=50)  # the walk's: SPI and sequence number
    return node(
        "Encapsulating Security Payload",
        s,
        max(min(len(data), head) if head >= 0 else s + 8, payload_end(data, s, net)),
        [
            node(f"ESP SPI: 0x{spi:08x} ({spi})", s, s + 4),
            node(f"ESP Sequence: {u32(data, s + 4)}", s + 4, s + 8),
        ],
    )


def non_esp(data: bytes, s: int, net: Net) -> Node | None:
    """The four zero bytes before IKE on UDP port 4500 (what tells it from ESP there)."""
    if s + 4 > len(data) or data[s : s + 4] != bytes(4):
        return None
    return node("UDP Encapsulation of IPsec Packets", s, s + 4, [node("Non-ESP Marker", s, s + 4)])


# ----------------------------------------------------------------------------- WireGuard

_WG_TYPES: Final = {
    1: "Handshake Initiation",
    2: "Handshake Response",
    3: "Cookie Reply",
    4: "Transport Data",
}
_WG_SIZES: Final = {1: 148, 2: 92, 3: 64}


def _le32(d: bytes, at: int) -> int:
    return int.from_bytes(d[at : at + 4], "little")


def wireguard(data: bytes, s: int, net: Net) -> Node | None:
    """A WireGuard message (scapy's header layer and its message layer are one node here);
    None for a message tshark would not take as WireGuard (its type and reserved bytes; a
    handshake message's exact size)."""
    d = data
    end = payload_end(d, s, net)
    if end <= s + 4 or end > len(d):
        return None
    t, size = d[s], end - s
    if t not in _WG_TYPES or d[s + 1 : s + 4] != b"\0\0\0":
        return None
    if (t == 4 and size < 32) or (t != 4 and size != _WG_SIZES[t]):
        return None
    kids = [
        node(f"Type: {_WG_TYPES[t]} ({t})", s, s + 1),
        node(f"Reserved: {d[s + 1 : s + 4].hex()}", s + 1, s + 4),
    ]
    at = net.header_end(s, "WireGuard", at=s - 8, proto=17)  # the walk's: type, reserved
    if at < 0:
        return None  # not a message the decoder's walk takes as WireGuard

    def field(label: str, n: int) -> None:
        nonlocal at
        kids.append(node(label, at, at + n))
        at += n

    if t in (1, 2):
        field(f"Sender: 0x{_le32(d, at):08x}", 4)
        if t == 2:
            field(f"Receiver: 0x{_le32(d, at):08x}", 4)
        field(f"Ephemeral: {base64.b64encode(d[at : at + 32]).decode()}", 32)
        if t == 1:
            field("Encrypted Static", 48)
            field("Encrypted Timestamp", 28)
        else:
            field("Encrypted Empty", 16)
        field(f"mac1: {d[at : at + 16].hex()}", 16)
        field(f"mac2: {d[at : at + 16].hex()}", 16)
    elif t == 3:
        field(f"Receiver: 0x{_le32(d, at):08x}", 4)
        field(f"Nonce: {d[at : at + 24].hex()}", 24)
        field(f"Encrypted Cookie: {d[at : at + 32].hex()}", 32)
    else:
        field(f"Receiver: 0x{_le32(d, at):08x}", 4)
        field(f"Counter: {int.from_bytes(d[at : at + 8], 'little')}", 8)
        field("Encrypted Packet", end - at)
    return node("WireGuard Protocol", s, end, kids)


# ----------------------------------------------------------------------------- OpenVPN

#: the opcodes tshark 4.0 names (1-9); the others fall back to scapy's words
_OPENVPN_OPCODES: Final = {k: v for k, v in OPENVPN_OPCODES.items() if k <= 9}
#: the opcode whose payload is TLS (shown as a layer of its own after OpenVPN's)
P_CONTROL_V1: Final = 4


def openvpn(data: bytes, s: int, net: Net) -> Node | None:
    """An OpenVPN message over UDP: the datagram's payload."""
    return _openvpn(data, s, payload_end(data, s, net), [])


def openvpn_tcp(data: bytes, s: int, net: Net) -> Node | None:
    """An OpenVPN message over TCP: its 2-byte length, then the message (any of the
    segment's; one cut by the segment's end is not worded).  Where it ends is the walk's,
    which records every record of the segment (a part of its OpenVPN layer)."""
    if s + 3 > len(data):
        return None
    end = net.part_end(s, "OpenVPN")
    plen = end - s - 2
    if end < 0 or plen < 1 or end > payload_end(data, s, net):
        return None
    return _openvpn(data, s + 2, end, [node(f"Packet Length: {plen}", s, s + 2)], s)


def _openvpn(data: bytes, s: int, end: int, kids: list[Node], title_at: int = -1) -> Node | None:
    d = data
    if s >= end or end > len(d):
        return None
    t = d[s]
    op, key = t >> 3, t & 7
    name = _OPENVPN_OPCODES.get(op)
    if name is None:
        return None
    kids = [
        *kids,
        node(
            f"Type: 0x{t:02x} [opcode/key_id]",
            s,
            s + 1,
            [
                node(bits_line(t, 0xF8, 8, "Opcode", f"{name} (0x{op:02x})"), s, s + 1),
                node(bits_line(t, 0x07, 8, "Key ID", str(key)), s, s + 1),
            ],
        ),
    ]
    at = s + 1
    if op == 9:
        if at + 3 > end:
            return None
        kids.append(node(f"Peer ID: {int.from_bytes(d[at : at + 3], 'big')}", at, at + 3))
        at += 3
    elif op != 6:
        control = _openvpn_control(d, at, end, op)
        if control is None:
            return None
        kids += control
        at = control[-1].end
    if at < end and op != P_CONTROL_V1:
        n = end - at
        kids.append(
            node(f"Data ({n} bytes)", at, end, [node(f"Data: {hex_value(d[at:end])}", at, end)])
        )
    return node("OpenVPN Protocol", title_at if title_at >= 0 else s, end, kids)


#: the HMAC size tshark 4.0 assumes for tls-auth (its preference's default: SHA-1)
TLS_AUTH_HMAC: Final = 20


def tls_auth_guess(d: bytes, at: int) -> bool:
    """tshark's guess that a control message carries tls-auth: the byte after the session
    id (an HMAC's first, else the acknowledgement count) is not zero and the four bytes
    from it have two or more bytes that are not zero (an HMAC's entropy)."""
    word = d[at : at + 4]
    return len(word) == 4 and word[0] != 0 and sum(1 for b in word if b) > 1


def _openvpn_control(d: bytes, at: int, end: int, op: int) -> list[Node] | None:
    """A control or acknowledgement message's session, tls-auth and reliability fields, as
    tshark reads them (its tls-auth guess, a 20-byte HMAC, the replay packet id and net
    time); None when their sizes do not add up (a longer HMAC, tls-crypt's ciphertext)."""
    if at + 9 > end:
        return None
    out = [node(f"Session ID: {int.from_bytes(d[at : at + 8], 'big')}", at, at + 8)]
    at += 8
    if tls_auth_guess(d, at):
        if at + TLS_AUTH_HMAC + 1 > end:
            return None
        out.append(node(f"HMAC: {d[at : at + TLS_AUTH_HMAC].hex()}", at, at + TLS_AUTH_HMAC))
        at += TLS_AUTH_HMAC
        if end - at >= 8:
            out.append(node(f"Replay-Packet-ID: {u32(d, at)}", at, at + 4))
            stamp = time.gmtime(u32(d, at + 4))
            when = time.strftime("%b ", stamp) + f"{stamp.tm_mday:2d}, "
            when += time.strftime("%Y %H:%M:%S", stamp) + ".000000000 UTC"
            out.append(node(f"Net Time: {when}", at + 4, at + 8))
            at += 8
    if at + 1 > end:
        return None
    n = d[at]
    need = 1 + 4 * n + (8 if n else 0) + (0 if op == 5 else 4)
    if n > 8 or at + need > end or (op == 5 and at + need != end):
        return None
    out.append(node(f"Message Packet-ID Array Length: {n}", at, at + 1))
    at += 1
    if n:
        out.append(
            node(
                "Packet-ID Array",
                at,
                at,
                [
                    node(f"Message Packet-ID Array Element: {u32(d, p)}", p, p + 4)
                    for p in range(at, at + 4 * n, 4)
                ],
            )
        )
        at += 4 * n
        out.append(node(f"Remote Session ID: {int.from_bytes(d[at : at + 8], 'big')}", at, at + 8))
        at += 8
    if op != 5:
        out.append(node(f"Message Packet-ID: {u32(d, at)}", at, at + 4))
    return out


#: the scapy layers whose node may span the scapy layers after it (their parts)
SPANNING: Final = frozenset({"Wireguard", "OpenVPN", "OpenVPNTCP", "L2TP", "GRE"})


def after(kind: str, built: Node, data: bytes, net: Net) -> list[Node]:
    """The layers tshark shows after an OpenVPN message: the TLS a control message carries
    (the records when the payload starts one; else a fragment, shown as tshark shows one
    awaiting reassembly), and over TCP the segment's further messages.  After GRE: the
    ERSPAN header of a mirrored frame (the frame itself is shown as data: scapy leaves it
    undissected)."""
    if kind == "GRE":
        return _erspan(built, data, net)
    out: list[Node] = []
    seg_end = payload_end(data, built.start, net)
    msg: Node | None = built
    while msg is not None and len(out) < MAX_ITEMS:
        out += _tls_of(msg, data)
        if kind != "OpenVPNTCP" or msg.end >= seg_end:
            break
        msg = openvpn_tcp(data, msg.end, net)
        if msg is not None:
            out.append(msg)
    return out


def _tls_of(msg: Node, data: bytes) -> list[Node]:
    from tapwatch.decode.depth import tls
    from tapwatch.decode.ws_apps import tls_records

    if msg.label != "OpenVPN Protocol" or not msg.children:
        return []
    first = (
        msg.children[1] if msg.children[0].label.startswith("Packet Length") else msg.children[0]
    )
    at = max(c.end for c in msg.children)
    if data[first.start] >> 3 != P_CONTROL_V1 or at >= msg.end:
        return []
    records = tls_records(data, at, msg.end, (0, 0), partial=True)  # tshark's words
    if records is not None:
        return [records]
    return tls(data, at, msg.end) or [node("Transport Layer Security", at, msg.end)]


def _erspan(gre_node: Node, data: bytes, net: Net) -> list[Node]:
    """ERSPAN type II (GRE with a sequence number; type I has no header of its own): its
    header, spanning the mirrored frame as tshark's does, then that frame as data."""
    d, s = data, gre_node.end
    g = gre_node.start
    if not gre_node.label.endswith("(ERSPAN)"):
        return []
    head = net.header_end(s, "ERSPAN", at=g, proto=47)  # the walk's, from GRE's flags
    if head <= s or head > len(d):
        return []  # type I (no header of its own), or cut inside the header
    end = payload_end(d, g, net)
    a, b, c = u16(d, s), u16(d, s + 2), u32(d, s + 4)
    if a >> 12 != 1 or b & 0x1C00:
        return []  # another version, or a frame encapsulated or cut: words not read here
    kids = [
        node(bits_line(a, 0xF000, 16, "Version", "Type II (1)"), s, s + 2),
        node(bits_line(a, 0x0FFF, 16, "Vlan", str(a & 0xFFF)), s, s + 2),
        node(bits_line(b, 0xE000, 16, "COS", str(b >> 13)), s + 2, s + 4),
        node(bits_line(b, 0x1800, 16, "Encap", "Originally without VLAN tag (0)"), s + 2, s + 4),
        node(bits_line(b, 0x0400, 16, "Truncated", "Not truncated (0)"), s + 2, s + 4),
        node(bits_line(b, 0x03FF, 16, "SpanID", str(b & 0x3FF)), s + 2, s + 4),
        node(bits_line(c, 0xFFF00000, 32, "Reserved", str(c >> 20)), s + 4, s + 8),
        node(bits_line(c, 0x000FFFFF, 32, "Index", str(c & 0xFFFFF)), s + 4, s + 8),
    ]
    out = [node("Encapsulated Remote Switch Packet ANalysis Type II", s, end, kids)]
    if end > head:
        from tapwatch.decode.ws_common import data_node

        out.append(data_node(d, head, end))
    return out
