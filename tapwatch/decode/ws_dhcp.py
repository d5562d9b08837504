"""DHCP (BOOTP and its options) in Wireshark's words, nesting and byte spans, read from the bytes.

tshark shows one ``Dynamic Host Configuration Protocol (Type)`` layer over the fixed BOOTP
header, the magic cookie and every option; scapy splits it into ``BOOTP`` and ``DHCP``
layers, so the builder reads the whole message and the tree passes over scapy's options
layer (:data:`tapwatch.decode.wstree.WHOLE_MESSAGES`).

Each option is ``Option: (N) Name`` with its ``Length`` and, for the kinds tshark words
plainly (addresses, address lists, times, strings, flags, 8- and 16-bit numbers, the
message type, the parameter request list, the client identifier, relay agent information,
classless static routes), its value as tshark words it.  An option whose value tshark words
in ways that depend on other options or on vendor tables (vendor-specific information,
PXE, CableLabs...) shows its type and length only: tapwatch shows fewer lines, never other
words.  The option loop stops at the message's end and after ``MAX_OPTIONS`` options.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line, mac_text
from tapwatch.decode.fields import Net
from tapwatch.decode.names import DHCP_TYPES
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import hex_value, ip4, node, u16, u32

MAX_OPTIONS: Final = 300
COOKIE: Final = bytes.fromhex("63825363")
#: the fixed BOOTP header, before the magic cookie
HEADER: Final = 236

#: Wireshark's names of the options (what ``Parameter Request List Item`` says of each)
OPTION_NAMES: Final = {
    0: "Padding",
    1: "Subnet Mask",
    2: "Time Offset",
    3: "Router",
    4: "Time Server",
    5: "Name Server",
    6: "Domain Name Server",
    7: "Log Server",
    8: "Quotes Server",
    9: "LPR Server",
    10: "Impress Server",
    11: "Resource Location Server",
    12: "Host Name",
    13: "Boot File Size",
    14: "Merit Dump File",
    15: "Domain Name",
    16: "Swap Server",
    17: "Root Path",
    18: "Extensions Path",
    19: "IP Forwarding",
    20: "Non-Local Source Routing",
    21: "Policy Filter",
    22: "Maximum Datagram Reassembly Size",
    23: "Default IP Time-to-Live",
    24: "Path MTU Aging Timeout",
    25: "Path MTU Plateau Table",
    26: "Interface MTU",
    27: "All Subnets are Local",
    28: "Broadcast Address",
    29: "Perform Mask Discovery",
    30: "Mask Supplier",
    31: "Perform Router Discover",
    32: "Router Solicitation Address",
    33: "Static Route",
    34: "Trailer Encapsulation",
    35: "ARP Cache Timeout",
    36: "Ethernet Encapsulation",
    37: "TCP Default TTL",
    38: "TCP Keepalive Interval",
    39: "TCP Keepalive Garbage",
    40: "Network Information Service Domain",
    41: "Network Information Service Servers",
    42: "Network Time Protocol Servers",
    43: "Vendor-Specific Information",
    44: "NetBIOS over TCP/IP Name Server",
    45: "NetBIOS over TCP/IP Datagram Distribution Name Server",
    46: "NetBIOS over TCP/IP Node Type",
    47: "NetBIOS over TCP/IP Scope",
    48: "X Window System Font Server",
    49: "X Window System Display Manager",
    50: "Requested IP Address",
    51: "IP Address Lease Time",
    52: "Option Overload",
    53: "DHCP Message Type",
    54: "DHCP Server Identifier",
    55: "Parameter Request List",
    56: "Message",
    57: "Maximum DHCP Message Size",
    58: "Renewal Time Value",
    59: "Rebinding Time Value",
    60: "Vendor class identifier",
    61: "Client identifier",
    62: "Novell/Netware IP domain",
    63: "Novell Options",
    64: "Network Information Service+ Domain",
    65: "Network Information Service+ Servers",
    66: "TFTP Server Name",
    67: "Bootfile name",
    68: "Mobile IP Home Agent",
    69: "SMTP Server",
    70: "POP3 Server",
    71: "NNTP Server",
    72: "Default WWW Server",
    73: "Default Finger Server",
    74: "Default IRC Server",
    75: "StreetTalk Server",
    76: "StreetTalk Directory Assistance Server",
    77: "User Class Information",
    78: "Directory Agent Information",
    79: "Service Location Agent Scope",
    80: "Rapid commit",
    81: "Client Fully Qualified Domain Name",
    82: "Agent Information Option",
    83: "iSNS",
    84: "Removed/Unassigned",
    85: "Novell Directory Services Servers",
    86: "Novell Directory Services Tree Name",
    87: "Novell Directory Services Context",
    88: "BCMCS Controller Domain Name [TODO:RFC4280]",
    89: "BCMCS Controller IPv4 address [TODO:RFC4280]",
    90: "Authentication",
    91: "Client last transaction time",
    92: "Associated IP option",
    93: "Client System Architecture",
    94: "Client Network Device Interface",
    95: "LDAP [TODO:RFC3679]",
    96: "Removed/Unassigned",
    97: "UUID/GUID-based Client Identifier",
    98: "Open Group's User Authentication [TODO:RFC2485]",
    99: "Civic Addresses Configuration",
    100: "PCode",
    101: "TCode",
    102: "Removed/unassigned",
    103: "Removed/unassigned",
    104: "Removed/unassigned",
    105: "Removed/unassigned",
    106: "Removed/unassigned",
    107: "Removed/unassigned",
    108: "IPv6-Only Preferred",
    109: "Unassigned",
    110: "Removed/Unassigned",
    111: "Unassigned",
    112: "NetInfo Parent Server Address",
    113: "NetInfo Parent Server Tag",
    114: "DHCP Captive-Portal",
    115: "Removed/Unassigned",
    116: "DHCP Auto-Configuration",
    117: "Name Service Search",
    118: "Subnet Selection Option",
    119: "Domain Search",
    120: "SIP Servers",
    121: "Classless Static Route",
    122: "CableLabs Client Configuration [TODO:RFC3495]",
    123: "Coordinate-based Location Configuration",
    124: "V-I Vendor Class",
    125: "V-I Vendor-specific Information",
    126: "Removed/Unassigned",
    127: "Removed/Unassigned",
    128: "DOCSIS full security server IP [TODO]",
    129: "PXE - undefined (vendor specific)",
    130: "PXE - undefined (vendor specific)",
    131: "PXE - undefined (vendor specific)",
    132: "PXE - undefined (vendor specific)",
    133: "PXE - undefined (vendor specific)",
    134: "PXE - undefined (vendor specific)",
    135: "PXE - undefined (vendor specific)",
    136: "PANA Authentication Agent",
    137: "LoST Server Domain Name",
    138: "CAPWAP Access Controllers",
    139: "IPv4 Address-MoS",
    140: "IPv4 FQDN-MoS",
    141: "SIP UA Configuration Domains",
    142: "IPv4 Address ANDSF",
    143: "Zerotouch Redirect [TODO: draft-ietf-netconf-zerotouch]",
    144: "Geospatial Location [TODO:RFC6225]",
    145: "Forcerenew Nonce Capable",
    146: "RDNSS Selection",
    147: "Unassigned",
    148: "Unassigned",
    149: "Unassigned",
    150: "TFTP Server Address",
    151: "Leasequery Status code",
    152: "Leasequery Base Time",
    153: "Leasequery Start Time of State",
    154: "Leasequery Query Start Time",
    155: "Leasequery Query End Time",
    156: "Leasequery Dhcp State",
    157: "Leasequery Data Source",
    158: "PCP Server",
    159: "Portparams",
    160: "Unassigned (ex DHCP Captive-Portal)",
    161: "Manufacturer Usage Description",
    162: "Unassigned",
    163: "Unassigned",
    164: "Unassigned",
    165: "Unassigned",
    166: "Unassigned",
    167: "Unassigned",
    168: "Unassigned",
    169: "Unassigned",
    170: "Unassigned",
    171: "Unassigned",
    172: "Unassigned",
    173: "Unassigned",
    174: "Unassigned",
    175: "Etherboot",
    176: "IP Telephone",
    177: "Etherboot",
    178: "Unassigned",
    179: "Unassigned",
    180: "Unassigned",
    181: "Unassigned",
    182: "Unassigned",
    183: "Unassigned",
    184: "Unassigned",
    185: "Unassigned",
    186: "Unassigned",
    187: "Unassigned",
    188: "Unassigned",
    189: "Unassigned",
    190: "Unassigned",
    191: "Unassigned",
    192: "Unassigned",
    193: "Unassigned",
    194: "Unassigned",
    195: "Unassigned",
    196: "Unassigned",
    197: "Unassigned",
    198: "Unassigned",
    199: "Unassigned",
    200: "Unassigned",
    201: "Unassigned",
    202: "Unassigned",
    203: "Unassigned",
    204: "Unassigned",
    205: "Unassigned",
    206: "Unassigned",
    207: "Unassigned",
    208: "PXELINUX Magic",
    209: "PXE Configuration file",
    210: "PXE Path Prefix",
    211: "Reboot Time",
    212: "6RD",
    213: "V4 Access Domain",
    214: "Unassigned",
    215: "Unassigned",
    216: "Unassigned",
    217: "Unassigned",
    218: "Unassigned",
    219: "Unassigned",
    220: "Subnet Allocation",
    221: "Virtual Subnet Selection",
    222: "Unassigned",
    223: "Unassigned",
    224: "Private",
    225: "Private",
    226: "Private",
    227: "Private",
    228: "Private",
    229: "Private",
    230: "Private",
    231: "Private",
    232: "Private",
    233: "Private",
    234: "Private",
    235: "Private",
    236: "Private",
    237: "Private",
    238: "Private",
    239: "Private",
    240: "Private",
    241: "Private",
    242: "Private/Avaya IP Telephone",
    243: "Private",
    244: "Private",
    245: "Private",
    246: "Private",
    247: "Private",
    248: "Private",
    249: "Private/Classless Static Route (Microsoft)",
    250: "Private",
    251: "Private",
    252: "Private/Proxy autodiscovery",
    253: "Private",
    254: "Private",
    255: "End",
}

#: option 53's message types as tshark 4.0 words them: names.DHCP_TYPES' first nine
_MESSAGE_TYPES: Final = {k: v for k, v in DHCP_TYPES.items() if k <= 9}

#: options holding one IPv4 address, which tshark also puts in the option's title
_ONE_ADDRESS: Final = frozenset({1, 16, 28, 32, 50, 54})
#: options holding IPv4 addresses, by the words of each item: the option's name, but singular
#: where tshark names the option in the plural ("... Servers") and each item in the singular
_SINGULAR: Final = {
    41: "Network Information Service Server",
    42: "Network Time Protocol Server",
    65: "Network Information Service+ Server",
}
_ADDRESSES: Final = {
    code: _SINGULAR.get(code, OPTION_NAMES[code])
    for code in (
        *(3, 4, 5, 6, 7, 8, 9, 10, 11, 41, 42, 44, 45, 48, 49, 65, 68),
        *(69, 70, 71, 72, 73, 74, 75, 76, 92, 112, 118),
    )
}
#: options holding a time in seconds (2, the time offset, is signed)
_TIMES: Final = frozenset({2, 24, 35, 38, 51, 58, 59, 91})
#: options holding text
_TEXTS: Final = frozenset({12, 14, 15, 17, 18, 40, 47, 56, 60, 64, 66, 67, 86, 87, 113, 252})
#: one-byte flags: the words of 0 and of any other value
_FLAGS: Final = {
    19: ("Disabled", "Enabled"),
    20: ("Disabled", "Enabled"),
    27: ("No", "Yes"),
    29: ("Disabled", "Enabled"),
    30: ("No", "Yes"),
    31: ("Disabled", "Enabled"),
    34: ("Disabled", "Enabled"),
    36: ("Disabled", "Enabled"),
    39: ("Disabled", "Enabled"),
}
_BYTES: Final = frozenset({23, 37})
_SHORTS: Final = frozenset({13, 22, 26, 57})
_NODE_TYPES: Final = {1: "B-node", 2: "P-node", 4: "M-node", 8: "H-node"}
_AGENT_SUBOPTIONS: Final = {1: "Agent Circuit ID", 2: "Agent Remote ID"}


def secs_text(v: int) -> str:
    """Wireshark's words for a time in seconds: ``1 day, 1 second``, ``0 seconds``."""
    sign = "-" if v < 0 else ""
    v = abs(v)
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, v = divmod(v, size)
        if n:
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return sign + (", ".join(parts) if parts else "0 seconds")


def _text(b: bytes) -> str | None:
    """The text up to its first NUL, or None when it holds bytes tshark would escape."""
    b = b.split(b"\0", 1)[0]
    if all(0x20 <= c < 0x7F for c in b):
        return b.decode("ascii")
    return None


def _name(code: int) -> str:
    return OPTION_NAMES.get(code, "Unknown")


def _value_nodes(code: int, d: bytes, v: int, n: int, vendor_class: bool) -> tuple[str, list[Node]]:
    """(what the option's title adds, the nodes of its value) for option ``code``, whose
    ``n`` value bytes start at ``v``."""
    name = _name(code)
    val = d[v : v + n]
    if code in _ONE_ADDRESS:
        if n != 4:
            return "", []
        return f" ({ip4(val)})", [node(f"{name}: {ip4(val)}", v, v + 4)]
    if code in _ADDRESSES:
        if n == 0 or n % 4:
            return "", []
        item = _ADDRESSES[code]
        return "", [node(f"{item}: {ip4(d[p : p + 4])}", p, p + 4) for p in range(v, v + n, 4)]
    if code in _TIMES:
        if n != 4:
            return "", []
        t = u32(d, v)
        if code == 2 and t >= 1 << 31:
            t -= 1 << 32
        shown = "infinity" if t == 0xFFFFFFFF else secs_text(t)
        return "", [node(f"{name}: ({t}s) {shown}", v, v + 4)]
    if code in _TEXTS:
        text = _text(val)
        if text is None or n == 0:
            return "", []
        return "", [node(f"{name}: {text}", v, v + n)]
    if code in _FLAGS:
        if n != 1:
            return "", []
        return "", [node(f"{name}: {_FLAGS[code][1 if d[v] else 0]}", v, v + 1)]
    if code in _BYTES:
        return ("", [node(f"{name}: {d[v]}", v, v + 1)]) if n == 1 else ("", [])
    if code in _SHORTS:
        return ("", [node(f"{name}: {u16(d, v)}", v, v + 2)]) if n == 2 else ("", [])
    if code == 25:  # Path MTU Plateau Table
        if n == 0 or n % 2:
            return "", []
        return "", [
            node(f"Path MTU Plateau Table Item: {u16(d, p)}", p, p + 2) for p in range(v, v + n, 2)
        ]
    if code == 46:
        if n != 1 or d[v] not in _NODE_TYPES:
            return "", []
        return "", [node(f"{name}: {_NODE_TYPES[d[v]]} ({d[v]})", v, v + 1)]
    if code == 53:
        if n != 1 or d[v] not in _MESSAGE_TYPES:
            return "", []
        what = _MESSAGE_TYPES[d[v]]
        return f" ({what})", [node(f"DHCP: {what} ({d[v]})", v, v + 1)]
    if code == 55:
        return "", [
            node(f"Parameter Request List Item: ({d[p]}) {_name(d[p])}", p, p + 1)
            for p in range(v, v + n)
        ]
    if code == 61:
        if n == 7 and d[v] == 1:
            mac = d[v + 1 : v + 7]
            return "", [
                node("Hardware type: Ethernet (0x01)", v, v + 1),
                node(f"Client MAC address: {mac_text(mac)}", v + 1, v + 7),
            ]
        return "", []
    if code == 82:
        return "", _agent_information(d, v, n)
    if code == 121:
        return "", _static_routes(d, v, n)
    if code == 43 and not vendor_class and n:
        return "", [node(f"Value: {hex_value(val)}", v, v + n)]
    return "", []


def _agent_information(d: bytes, v: int, n: int) -> list[Node]:
    """Relay agent information's circuit and remote IDs; nothing when another suboption or a
    length past the option's end is met (tshark words those by tables of their own)."""
    out: list[Node] = []
    p, end = v, v + n
    while p < end and len(out) < MAX_OPTIONS:
        if p + 2 > end:
            return []
        sub, ln = d[p], d[p + 1]
        if sub not in _AGENT_SUBOPTIONS or p + 2 + ln > end or ln == 0:
            return []
        what = _AGENT_SUBOPTIONS[sub]
        out.append(
            node(
                f"Option 82 Suboption: ({sub}) {what}",
                p,
                p + 2 + ln,
                [
                    node(f"Length: {ln}", p + 1, p + 2),
                    node(f"{what}: {hex_value(d[p + 2 : p + 2 + ln])}", p + 2, p + 2 + ln),
                ],
            )
        )
        p += 2 + ln
    return out


def _static_routes(d: bytes, v: int, n: int) -> list[Node]:
    """Classless static routes: `` 10.1.0.0/16-10.0.0.1``, `` default-10.0.0.1``."""
    out: list[Node] = []
    p, end = v, v + n
    while p < end and len(out) < MAX_OPTIONS:
        width = d[p]
        size = (width + 7) // 8
        if width > 32 or p + 1 + size + 4 > end:
            return []
        net = d[p + 1 : p + 1 + size] + bytes(4 - size)
        router = ip4(d[p + 1 + size : p + 5 + size])
        where = "default" if width == 0 else f"{ip4(net)}/{width}"
        out.append(node(f" {where}-{router}", p, p + 5 + size))
        p += 5 + size
    return out


def _options(d: bytes, at: int, end: int) -> tuple[list[Node], str, int] | None:
    """The option nodes, the message type's words and where the options end; None where an
    option runs past the message or overloads the name fields (options elsewhere)."""
    vendor_class = _has_option(d, at, end, 60)
    out: list[Node] = []
    what = ""
    p = at
    while p < end and len(out) < MAX_OPTIONS:
        code = d[p]
        if code == 0:
            out.append(node("Option: (0) Padding", p, p + 1, [node("Padding: 00", p, p + 1)]))
            p += 1
            continue
        if code == 255:
            out.append(node("Option: (255) End", p, p + 1, [node("Option End: 255", p, p + 1)]))
            p += 1
            if p < end:
                out.append(node(f"Padding: {hex_value(d[p:end])}", p, end))
                p = end
            break
        if p + 2 > end:
            return None
        n = d[p + 1]
        if p + 2 + n > end or code == 52:
            return None
        extra, kids = _value_nodes(code, d, p + 2, n, vendor_class)
        if code == 53 and extra:
            what = extra
        out.append(
            node(
                f"Option: ({code}) {_name(code)}{extra}",
                p,
                p + 2 + n,
                [node(f"Length: {n}", p + 1, p + 2), *kids],
            )
        )
        p += 2 + n
    return out, what, p


def _has_option(d: bytes, at: int, end: int, want: int) -> bool:
    p, count = at, 0
    while p < end and count < MAX_OPTIONS:
        count += 1
        code = d[p]
        if code == 255:
            return False
        if code == 0:
            p += 1
            continue
        if code == want:
            return True
        if p + 2 > end:
            return False
        p += 2 + d[p + 1]
    return False


def message_end(d: bytes, s: int) -> int:
    """Where the DHCP message ends: its UDP datagram's end (UDP's header is before it)."""
    if s >= 8:
        ulen = u16(d, s - 4)
        if ulen >= 8:
            return min(len(d), s - 8 + ulen)
    return len(d)


def dhcp(data: bytes, s: int, net: Net) -> Node | None:
    """The whole DHCP message from its BOOTP header; None when the header is cut short,
    except by the capture's snap length: then, as tshark does, the fields captured whole."""
    if s + HEADER > message_end(data, s) and s < len(data):
        wire = net.wire if net.wire is not None else len(data)
        if wire <= len(data) or data[s] not in (1, 2):
            return None
        # cut by the snap length: the fields read from the bytes captured, and no others
        whole = _whole(data + bytes(s + HEADER - len(data)), s, net)
        if whole is None:
            return None
        kids = whole.children
        cut = next((i for i, k in enumerate(kids) if k.end > len(data)), len(kids))
        return node(whole.label, s, len(data), kids[:cut])
    return _whole(data, s, net)


def _whole(data: bytes, s: int, net: Net) -> Node | None:
    d = data
    end = message_end(d, s)
    if s + HEADER > end or d[s] not in (1, 2):
        return None
    op, htype, hlen = d[s], d[s + 1], d[s + 2]
    flags = u16(d, s + 10)
    bc = flags & 0x8000
    kids = [node(f"Message type: Boot {'Request' if op == 1 else 'Reply'} ({op})", s, s + 1)]
    if htype == 1:
        kids.append(node("Hardware type: Ethernet (0x01)", s + 1, s + 2))
    kids += [
        node(f"Hardware address length: {hlen}", s + 2, s + 3),
        node(f"Hops: {d[s + 3]}", s + 3, s + 4),
        node(f"Transaction ID: 0x{u32(d, s + 4):08x}", s + 4, s + 8),
        node(f"Seconds elapsed: {u16(d, s + 8)}", s + 8, s + 10),
        node(
            f"Bootp flags: 0x{flags:04x}"
            + (", Broadcast flag (Broadcast)" if bc else " (Unicast)"),
            s + 10,
            s + 12,
            [
                node(
                    bits_line(
                        flags, 0x8000, 16, "Broadcast flag", "Broadcast" if bc else "Unicast"
                    ),
                    s + 10,
                    s + 12,
                ),
                node(
                    bits_line(flags, 0x7FFF, 16, "Reserved flags", f"0x{flags & 0x7FFF:04x}"),
                    s + 10,
                    s + 12,
                ),
            ],
        ),
        node(f"Client IP address: {ip4(d[s + 12 : s + 16])}", s + 12, s + 16),
        node(f"Your (client) IP address: {ip4(d[s + 16 : s + 20])}", s + 16, s + 20),
        node(f"Next server IP address: {ip4(d[s + 20 : s + 24])}", s + 20, s + 24),
        node(f"Relay agent IP address: {ip4(d[s + 24 : s + 28])}", s + 24, s + 28),
    ]
    if htype == 1 and hlen == 6:
        kids += [
            node(f"Client MAC address: {mac_text(d[s + 28 : s + 34])}", s + 28, s + 34),
            node(f"Client hardware address padding: {d[s + 34 : s + 44].hex()}", s + 34, s + 44),
        ]
    for what, at, size in (("Server host name", 44, 64), ("Boot file name", 108, 128)):
        field = d[s + at : s + at + size]
        if field[0] == 0:
            kids.append(node(f"{what} not given", s + at, s + at + size))
        else:
            text = _text(field)
            if text is not None:
                kids.append(node(f"{what}: {text}", s + at, s + at + size))
    title = "Dynamic Host Configuration Protocol"
    stop = s + HEADER
    if s + HEADER + 4 <= end and d[s + HEADER : s + HEADER + 4] == COOKIE:
        kids.append(node("Magic cookie: DHCP", s + HEADER, s + HEADER + 4))
        got = _options(d, s + HEADER + 4, end)
        if got is None:
            return None
        options, what, stop = got
        kids += options
        title += what
    return node(title, s, stop, kids)


def dhcp_walked(data: bytes, s: int, net: Net) -> Node | None:
    """A message scapy left undissected (a port it does not bind), named by the decoder's
    walk; None for scapy's own options layer (what follows the cookie), which is read with
    its BOOTP header or not at all."""
    if s >= 4 and data[s - 4 : s] == COOKIE:
        return None
    return dhcp(data, s, net)
