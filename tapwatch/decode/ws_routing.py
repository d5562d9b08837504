"""RIPv1/v2, VRRP, BFD (with its authentication section) and LDP in Wireshark's words,
nesting and byte spans: what a tunnel host's other routing and redundancy daemons say.

OSPF, the multicast protocols and BGP have modules of their own (:mod:`ws_ospf`,
:mod:`ws_multicast`, :mod:`ws_bgp`).

The builders' contract (fewer lines rather than other words, None for a header cut short,
loops bounded) is :mod:`tapwatch.decode.ws_common`'s.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.liveness import BFD_FLAGS, BFD_STATES
from tapwatch.decode.node import Node
from tapwatch.decode.verbose import cksum, pseudo_sum, shouldbe
from tapwatch.decode.ws_common import (
    MAX_ITEMS,
    ip4,
    ip6,
    node,
    set_word,
    u16,
    u32,
)

# ----------------------------------------------------------------------------- RIP

_RIP_COMMANDS: Final = {1: "Request", 2: "Response", 3: "Traceon", 4: "Traceoff"}


def rip(data: bytes, s: int, net: Net) -> Node | None:
    """RIPv1 and RIPv2: the header, simple-password authentication and the route entries."""
    d = data
    end = s + u16(d, s - 4) - 8 if s >= 8 and u16(d, s - 4) >= 8 else len(d)
    end = min(end, len(d))
    if s + 4 > end:
        return None
    cmd, version = d[s], d[s + 1]
    if cmd not in _RIP_COMMANDS or version not in (1, 2):
        return None
    kids = [
        node(f"Command: {_RIP_COMMANDS[cmd]} ({cmd})", s, s + 1),
        node(f"Version: RIPv{version} ({version})", s + 1, s + 2),
    ]
    p = s + 4
    while p + 20 <= end and len(kids) < MAX_ITEMS:
        af = u16(d, p)
        if af == 0xFFFF and version == 2:
            if u16(d, p + 2) != 2:
                break  # keyed digests: tshark words them from its own tables
            pw = d[p + 4 : p + 20].split(b"\0", 1)[0]
            if not all(0x20 <= c < 0x7F for c in pw):
                break
            kids.append(
                node(
                    "Authentication: Simple Password",
                    p,
                    p + 20,
                    [
                        node("Authentication type: Simple Password (2)", p + 2, p + 4),
                        node(f"Password: {pw.decode()}", p + 4, p + 20),
                    ],
                )
            )
            p += 20
            continue
        if af not in (0, 2):
            break
        addr, metric = ip4(d[p + 4 : p + 8]), u32(d, p + 16)
        entry = [node(f"Address Family: {'IP' if af else 'Unspecified'} ({af})", p, p + 2)]
        if version == 2:
            entry.append(node(f"Route Tag: {u16(d, p + 2)}", p + 2, p + 4))
        if af:
            entry.append(node(f"IP Address: {addr}", p + 4, p + 8))
        if version == 2:
            entry += [
                node(f"Netmask: {ip4(d[p + 8 : p + 12])}", p + 8, p + 12),
                node(f"Next Hop: {ip4(d[p + 12 : p + 16])}", p + 12, p + 16),
            ]
        entry.append(node(f"Metric: {metric}", p + 16, p + 20))
        title = f"IP Address: {addr}" if af else "Address not specified"
        kids.append(node(f"{title}, Metric: {metric}", p, p + 20, entry))
        p += 20
    return node("Routing Information Protocol", s, end, kids)


# ----------------------------------------------------------------------------- VRRP

_VRRP_AUTH: Final = {
    0: "No Authentication",
    1: "Simple Text Authentication [RFC 2338] / Reserved [RFC 3768]",
    2: "IP Authentication Header [RFC 2338] / Reserved [RFC 3768]",
}


def _vrrp_priority(p: int) -> str:
    if p == 0:
        return "Current Master has stopped participating in VRRP"
    if p == 100:
        return "Default priority for a backup VRRP router"
    if p == 255:
        return "This VRRP router owns the virtual router's IP address(es)"
    return "Non-default backup priority"


def vrrp(data: bytes, s: int, net: Net) -> Node | None:
    """VRRPv2 and VRRPv3 advertisements over IPv4 and IPv6."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s + 8 > end:
        return None
    version, t = d[s] >> 4, d[s] & 15
    six = len(net.src) == 16
    if version not in (2, 3) or t != 1 or (version == 2 and six):
        return None
    count = d[s + 3]
    size = 16 if six else 4
    stop = s + 8 + count * size + (8 if version == 2 else 0)
    if stop > end or (version == 2 and d[s + 4] not in _VRRP_AUTH):
        return None
    prio = d[s + 2]
    kids = [
        node(
            f"Version {version}, Packet type 1 (Advertisement)",
            s,
            s + 1,
            [
                node(bits_line(d[s], 0xF0, 8, "VRRP protocol version", str(version)), s, s + 1),
                node(bits_line(d[s], 0x0F, 8, "VRRP packet type", "Advertisement (1)"), s, s + 1),
            ],
        ),
        node(f"Virtual Rtr ID: {d[s + 1]}", s + 1, s + 2),
        node(f"Priority: {prio} ({_vrrp_priority(prio)})", s + 2, s + 3),
        node(f"Addr Count: {count}", s + 3, s + 4),
    ]
    if version == 2:
        auth = d[s + 4]
        kids += [
            node(f"Auth Type: {_VRRP_AUTH[auth]} ({auth})", s + 4, s + 5),
            node(f"Adver Int: {d[s + 5]}", s + 5, s + 6),
        ]
        c = cksum(d[s:end])
    else:
        adv = u16(d, s + 4)
        kids += [
            node(bits_line(d[s + 4], 0xF0, 8, "Reserved", str(d[s + 4] >> 4)), s + 4, s + 5),
            node(bits_line(adv, 0x0FFF, 16, "Adver Int", str(adv & 0x0FFF)), s + 4, s + 6),
        ]
        c = pseudo_sum(net.src, net.dst, 112, d[s:end]) if net.src else -1
    field = u16(d, s + 6)
    if c == 0:
        shown = f"0x{field:04x} [correct]"
    elif c > 0:
        shown = f"0x{field:04x} incorrect, should be 0x{shouldbe(field, c):04x}"
    else:
        shown = f"0x{field:04x} [unverified]"
    kids.append(node(f"Checksum: {shown}", s + 6, s + 8))
    p = s + 8
    for _ in range(min(count, MAX_ITEMS)):
        if six:
            kids.append(node(f"IPv6 Address: {ip6(d[p : p + 16])}", p, p + 16))
        else:
            kids.append(node(f"IP Address: {ip4(d[p : p + 4])}", p, p + 4))
        p += size
    if version == 2 and d[s + 4] == 1:
        text = d[p : p + 8].split(b"\0", 1)[0]
        if all(0x20 <= c < 0x7F for c in text):
            kids.append(node(f"Authentication String: {text.decode()}", p, p + 8))
    return node("Virtual Router Redundancy Protocol", s, end, kids)


# ----------------------------------------------------------------------------- BFD

_BFD_DIAGNOSTICS: Final = {
    0: "No Diagnostic",
    1: "Control Detection Time Expired",
    2: "Echo Function Failed",
    3: "Neighbor Signaled Session Down",
    4: "Forwarding Plane Reset",
    5: "Path Down",
    6: "Concatenated Path Down",
    7: "Administratively Down",
    8: "Reverse Concatenated Path Down",
    9: "Mis-Connectivity Defect",
}


def _six_bits(v: int, mask: int, name: str, word: str) -> str:
    """A bit of BFD's 6-bit flags field as Wireshark draws it: ``.1.. .. = Final: Set``."""
    chars = "".join(("1" if v & b else "0") if mask & b else "." for b in (32, 16, 8, 4, 2, 1))
    return f"{chars[:4]} {chars[4:]} = {name}: {word}"


def bfd(data: bytes, s: int, net: Net) -> Node | None:
    """A BFD control message (RFC 5880), with its authentication section when the A bit
    says there is one."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s + 24 > end or d[s] >> 5 != 1 or d[s + 3] != end - s:
        return None
    diag, sta, flags = d[s] & 0x1F, d[s + 1] >> 6, d[s + 1] & 0x3F
    if diag not in _BFD_DIAGNOSTICS or (end != s + 24) != bool(flags & 0x04):
        return None
    auth = _bfd_auth(d, s + 24, end) if flags & 0x04 else None
    if flags & 0x04 and auth is None:
        return None
    tx, rx, echo = u32(d, s + 12), u32(d, s + 16), u32(d, s + 20)
    mult = d[s + 2]
    set_names = [name for bit, name in BFD_FLAGS if flags & bit]

    def interval(what: str, v: int, at: int) -> Node:
        return node(f"{what}: {v // 1000:4d} ms ({v} us)", at, at + 4)

    kids = [
        node(bits_line(d[s], 0xE0, 8, "Protocol Version", "1"), s, s + 1),
        node(
            bits_line(d[s], 0x1F, 8, "Diagnostic Code", f"{_BFD_DIAGNOSTICS[diag]} (0x{diag:02x})"),
            s,
            s + 1,
        ),
        node(
            bits_line(d[s + 1], 0xC0, 8, "Session State", f"{BFD_STATES[sta]} (0x{sta:x})"),
            s + 1,
            s + 2,
        ),
        node(
            f"Message Flags: 0x{d[s + 1]:02x}" + "".join(f", {n}: Set" for n in set_names),
            s + 1,
            s + 2,
            [
                node(_six_bits(flags, bit, name, set_word(flags & bit)), s + 1, s + 2)
                for bit, name in BFD_FLAGS
            ],
        ),
        node(
            f"Detect Time Multiplier: {mult} (= {mult * (tx // 1000)} ms Detection time)",
            s + 2,
            s + 3,
        ),
        node(f"Message Length: {end - s} bytes", s + 3, s + 4),
        node(f"My Discriminator: 0x{u32(d, s + 4):08x}", s + 4, s + 8),
        node(f"Your Discriminator: 0x{u32(d, s + 8):08x}", s + 8, s + 12),
        interval("Desired Min TX Interval", tx, s + 12),
        interval("Required Min RX Interval", rx, s + 16),
        interval("Required Min Echo Interval", echo, s + 20),
    ]
    if auth is not None:
        kids.append(auth)
    return node("BFD Control message", s, end, kids)


#: BFD's authentication types: (tshark's name, the section's length, 0: 4 to 19 bytes)
_BFD_AUTH: Final = {
    1: ("Simple Password", 0),
    2: ("Keyed MD5", 24),
    3: ("Meticulous Keyed MD5", 24),
    4: ("Keyed SHA1", 28),
    5: ("Meticulous Keyed SHA1", 28),
}


def _bfd_auth(d: bytes, a: int, end: int) -> Node | None:
    """The authentication section from ``a`` to the message's ``end``: a password tshark
    shows as text (printable ASCII only here), or a sequence number and digest."""
    if a + 3 > end or d[a] not in _BFD_AUTH:
        return None
    t, n = d[a], d[a + 1]
    name, size = _BFD_AUTH[t]
    if a + n != end or (size and n != size) or (not size and not 4 <= n <= 19):
        return None
    kids = [
        node(f"Authentication Type: {name} ({t})", a, a + 1),
        node(f"Authentication Length: {n} bytes", a + 1, a + 2),
        node(f"Authentication Key ID: {d[a + 2]}", a + 2, a + 3),
    ]
    if size:
        kids += [
            node(f"Sequence Number: 0x{u32(d, a + 4):08x}", a + 4, a + 8),
            node(f"Checksum: {d[a + 8 : end].hex()}", a + 8, end),
        ]
    else:
        word = d[a + 3 : end]
        if not all(0x20 <= c < 0x7F for c in word):
            return None
        kids.append(node(f"Password: {word.decode('ascii')}", a + 3, end))
    return node(f"Authentication: {name}", a, end, kids)


# ----------------------------------------------------------------------------- LDP

LDP_MESSAGES: Final = {
    0x1: "Notification Message",
    0x100: "Hello Message",
    0x200: "Initialization Message",
    0x201: "Keep Alive Message",
    0x202: "Capability Message",
    0x300: "Address Message",
    0x301: "Address Withdrawal Message",
    0x400: "Label Mapping Message",
    0x401: "Label Request Message",
    0x402: "Label Withdrawal Message",
    0x403: "Label Release Message",
    0x404: "Label Abort Request Message",
    0x500: "Call Setup Message",
    0x501: "Call Release Message",
    0x700: "RG Connect Message",
    0x701: "RG Disconnect Message",
    0x702: "RG Notification Message",
    0x703: "RG Application Data Message",
    0x3E00: "Vendor-Private Message",
    0x3F00: "Experimental Message",
}
#: Wireshark's names of LDP's TLVs
LDP_TLVS: Final = {
    0x1: "Sequence Number TLV",
    0x100: "FEC",
    0x101: "Address List",
    0x103: "Hop Count",
    0x104: "Path Vector",
    0x200: "Generic Label",
    0x201: "ATM Label",
    0x202: "Frame Relay Label",
    0x203: "FT Protection TLV",
    0x204: "LDP Upstream-Assigned Label TLV",
    0x205: "LDP Upstream-Assigned Label Request TLV",
    0x206: "Entropy Label Capability TLV",
    0x300: "Status",
    0x301: "Extended Status",
    0x302: "Returned PDU",
    0x303: "Returned Message",
    0x304: "Returned TLVs",
    0x400: "Common Hello Parameters",
    0x401: "IPv4 Transport Address",
    0x402: "Configuration Sequence Number",
    0x403: "IPv6 Transport Address",
    0x404: "MAC TLV",
    0x405: "Cryptographic Authentication TLV",
    0x406: "MAC Flush Parameters TLV",
    0x407: "PBB B-MAC List Sub-TLV",
    0x408: "PBB I-SID List Sub-TLV",
    0x500: "Common Session Parameters",
    0x501: "ATM Session Parameters",
    0x502: "Frame Relay Session Parameters",
    0x503: "FT Session TLV",
    0x504: "FT Ack TLV",
    0x505: "FT Cork TLV",
    0x506: "Dynamic Capability Announcement",
    0x507: "LDP Upstream Label Assignment Capability TLV",
    0x508: "P2MP Capability Parameter",
    0x509: "MP2MP Capability Parameter",
    0x50A: "MBB Capability Parameter",
    0x50B: "Typed Wildcard FEC Capability",
    0x50C: "Multi-Topology Capability",
    0x50D: "State Advertisement Control Capability",
    0x50F: "Targeted Application Capability",
    0x600: "Label Request Message ID",
    0x601: "MTU TLV",
    0x603: "Unrecognized Notification Capability",
    0x700: "ICCP capability TLV",
    0x701: "Dual-Stack capability",
    0x800: "Explicit Route TLV",
    0x801: "Ipv4 Prefix ER-Hop TLV",
    0x802: "Ipv6 Prefix ER-Hop TLV",
    0x803: "Autonomous System Number ER-Hop TLV",
    0x804: "LSP-ID ER-HOP TLV",
    0x805: "L2 PW Address of Switching Point",
    0x810: "Traffic Parameters TLV",
    0x820: "Preemption TLV",
    0x821: "LSPID TLV",
    0x822: "Resource Class TLV",
    0x823: "Route Pinning TLV",
    0x824: "Generalized Label Request TLV",
    0x825: "Generalized Label TLV",
    0x826: "Upstream Label TLV",
    0x827: "Label Set TLV",
    0x828: "Waveband Label TLV",
    0x829: "ER-Hop TLV",
    0x82A: "Acceptable Label Set TLV",
    0x82B: "Admin Status TLV",
    0x82C: "Interface ID TLV",
    0x82D: "IPV4 Interface ID TLV",
    0x82E: "IPV6 Interface ID TLV",
    0x82F: "IPv4 IF_ID Status TLV",
    0x830: "IPv6 IF_ID Status TLV",
    0x831: "Op-Sp Call ID TLV",
    0x832: "GU Call ID TLV",
    0x833: "Call Capability TLV",
    0x834: "Crankback TLV",
    0x835: "Protection TLV",
    0x836: "LSP_TUNNEL_INTERFACE_ID TLV",
    0x837: "Unnumbered Interface ID TLV",
    0x838: "SONET/SDH Traffic Parameters TLV",
    0x901: "Diff-Serv TLV",
    0x902: "HSMP LSP Capability Parameter",
    0x960: "IPv4 Source ID TLV",
    0x961: "IPv6 Source ID TLV",
    0x962: "NSAP Source ID TLV",
    0x963: "IPv4 Destination ID TLV",
    0x964: "IPv6 Destination ID TLV",
    0x965: "NSAP Destination ID TLV",
    0x966: "Egress Label TLV",
    0x967: "Local Connection ID TLV",
    0x968: "Diversity TLV",
    0x969: "Contract ID TLV",
    0x96A: "PW Status TLV",
    0x96B: "PW Interface Parameters TLV",
    0x96C: "PW Group ID TLV",
    0x96D: "Pseudowire Switching Point PE TLV",
    0x96E: "Bandwidth TLV",
    0x96F: "LDP MP Status TLV Type",
    0x970: "UNI Service Level TLV",
    0x971: "Queue Request TLV",
    0x972: "MP Node Protection Capability",
    0x973: "PSN Tunnel Binding TLV",
    0x974: "Egress Protection Capability",
    0x1C: "RSVP-TE P2MP LSP TLV",
    0x1D: "LDP P2MP LSP TLV",
    0x1E: "IP Multicast Tunnel TLV",
}
_TLV_UNKNOWN: Final = (
    "Known TLV, do not Forward",
    "Known TLV, do Forward",
    "Unknown TLV, do not Forward",
    "Unknown TLV, do Forward",
)


def _ldp_tlv(d: bytes, p: int, end: int) -> Node | None:
    """One TLV (its node spans ``p:end``); None for a type Wireshark does not name."""
    raw = u16(d, p)
    t, n = raw & 0x3FFF, u16(d, p + 2)
    if t not in LDP_TLVS:
        return None
    v = p + 4
    kids = [
        node(
            bits_line(
                d[p], 0xC0, 8, "TLV Unknown bits", f"{_TLV_UNKNOWN[d[p] >> 6]} (0x{d[p] >> 6:x})"
            ),
            p,
            p + 1,
        ),
        node(f"TLV Type: {LDP_TLVS[t]} (0x{t:X})", p, p + 2),
        node(f"TLV Length: {n}", p + 2, p + 4),
    ]
    if t == 0x400 and n == 4:
        flags = u16(d, v + 2)
        kids.append(node(f"Hold Time: {u16(d, v)}", v, v + 2))
        if not flags & 0xC000:
            kids += [
                node(bits_line(flags, 0x8000, 16, "Targeted Hello", "Link Hello"), v + 2, v + 4),
                node(
                    bits_line(
                        flags,
                        0x4000,
                        16,
                        "Hello Requested",
                        "Source does not request periodic hellos",
                    ),
                    v + 2,
                    v + 4,
                ),
                node(
                    bits_line(flags, 0x2000, 16, "GTSM Flag", set_word(flags & 0x2000)),
                    v + 2,
                    v + 4,
                ),
                node(
                    bits_line(flags, 0x1FFF, 16, "Reserved", f"0x{flags & 0x1FFF:04x}"),
                    v + 2,
                    v + 4,
                ),
            ]
    elif t == 0x401 and n == 4:
        kids.append(node(f"IPv4 Transport Address: {ip4(d[v : v + 4])}", v, v + 4))
    elif t == 0x402 and n == 4:
        kids.append(node(f"Configuration Sequence Number: {u32(d, v)}", v, v + 4))
    return node(LDP_TLVS[t], p, end, kids)


def ldp(data: bytes, s: int, net: Net) -> Node | None:
    """One LDP PDU: its header, its messages and their TLVs (the values of hello's)."""
    d = data
    limit = min(len(d), net.end) if net.end > s else len(d)
    if s + 10 > limit or u16(d, s) != 1:
        return None
    end = s + 4 + u16(d, s + 2)
    if end > limit or end < s + 10:
        return None
    kids = [
        node("Version: 1", s, s + 2),
        node(f"PDU Length: {u16(d, s + 2)}", s + 2, s + 4),
        node(f"LSR ID: {ip4(d[s + 4 : s + 8])}", s + 4, s + 8),
        node(f"Label Space ID: {u16(d, s + 8)}", s + 8, s + 10),
    ]
    p = s + 10
    while p + 8 <= end and len(kids) < MAX_ITEMS:
        t, n = u16(d, p) & 0x7FFF, u16(d, p + 2)
        stop = p + 4 + n
        if d[p] & 0x80 or t not in LDP_MESSAGES or stop > end or n < 4:
            return None
        msg = [
            node(bits_line(d[p], 0x80, 8, "U bit", "Unknown bit not set"), p, p + 1),
            node(f"Message Type: {LDP_MESSAGES[t]} (0x{t:x})", p, p + 2),
            node(f"Message Length: {n}", p + 2, p + 4),
            node(f"Message ID: 0x{u32(d, p + 4):08x}", p + 4, p + 8),
        ]
        q = p + 8
        while q + 4 <= stop and len(msg) < MAX_ITEMS:
            tend = q + 4 + u16(d, q + 2)
            if tend > stop:
                return None
            tlv = _ldp_tlv(d, q, tend)
            if tlv is not None:
                msg.append(tlv)
            q = tend
        kids.append(node(LDP_MESSAGES[t], p, stop, msg))
        p = stop
    return node("Label Distribution Protocol", s, end, kids)
