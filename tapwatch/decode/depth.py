"""What the tree shows beyond scapy's fields, worded as Wireshark's ``tshark -V``.

scapy gives each layer's fields; an analyst reading Wireshark's tree expects more:
TCP's flag bits one by one, its segment length, each option's kind and length; DNS's
flag bits under one Flags node; ICMPv6 neighbour-discovery options by name; an HTTP
layer instead of ``Data``; a TLS record layer; vendor names on MAC addresses.  Each
function here takes the frame's bytes and a layer's node and returns the node with
those children, read with ``struct``-level code from the bytes (never trusted lengths).

Vendor names come from the database scapy ships (``scapy.libs.manuf``, Wireshark's
``manuf`` file), never a hand-written list; a locally administered or unknown address
keeps its bare form, as tshark shows it.
"""

from __future__ import annotations

import functools
from typing import Final

from tapwatch.decode import tcpapps
from tapwatch.decode.node import Node, clip

# ----------------------------------------------------------------------------- bits


def bits_line(value: int, mask: int, width: int, name: str, shown: str) -> str:
    """Wireshark's bit-field line: ``.... ..1. = Syn: Set`` (``width`` bits, grouped by 4)."""
    chars = []
    for i in range(width - 1, -1, -1):
        bit = 1 << i
        chars.append(("1" if value & bit else "0") if mask & bit else ".")
    groups = ["".join(chars[max(0, j - 4) : j]) for j in range(len(chars), 0, -4)][::-1]
    return f"{' '.join(groups)} = {name}: {shown}"


def _set(v: int, mask: int) -> str:
    return "Set" if v & mask else "Not set"


def _said(v: int, mask: int, yes: str, no: str) -> str:
    return yes if v & mask else no


# ----------------------------------------------------------------------------- TCP

#: TCP's flag bits in tshark's words: (mask in the 12-bit field, name, which of the two
#: header bytes holds it).  The one place they are written: the tree's TCP builder
#: (``ws_transport``) and :func:`tcp` here both read them.
TCP_BITS: Final = (
    (0xE00, "Reserved", 0),
    (0x100, "Accurate ECN", 0),
    (0x080, "Congestion Window Reduced", 1),
    (0x040, "ECN-Echo", 1),
    (0x020, "Urgent", 1),
    (0x010, "Acknowledgment", 1),
    (0x008, "Push", 1),
    (0x004, "Reset", 1),
    (0x002, "Syn", 1),
    (0x001, "Fin", 1),
)
_OPTION_KINDS: Final = {
    0: "End of Option List",
    1: "No-Operation",
    2: "Maximum Segment Size",
    3: "Window Scale",
    4: "SACK Permitted",
    5: "SACK",
    8: "Time Stamp Option",
    19: "TCP MD5 Signature Option",
    28: "User Timeout",
    29: "TCP Authentication Option",
    30: "Multipath TCP",
    34: "TCP Fast Open Cookie",
}


def tcp(node: Node, data: bytes, segment_end: int, head: int = -1) -> Node:
    """Flag bits under Flags, ``[TCP Segment Len]``, kind and length under each option;
    ``head``: where the decoder's header walk read the header to end (its data offset; -1:
    not read, the 20 bytes of the fixed part)."""
    s = node.start
    if s + 20 > len(data):
        return node
    flags = (data[s + 12] << 8 | data[s + 13]) & 0x0FFF
    hlen = head - s if head >= s else 20
    seglen = max(0, segment_end - s - hlen)
    kids: list[Node] = []
    for child in node.children:
        label = child.label
        if label.startswith("Flags:"):
            bits = [
                Node(bits_line(flags, m, 12, n, _set(flags, m)), s + 12, s + 14, [])
                for m, n, _byte in TCP_BITS
            ]
            child = Node(label, child.start, child.end, [*child.children, *bits])
        elif label.startswith("Options") and child.children:
            child = Node(label, child.start, child.end, [_option(o, data) for o in child.children])
        kids.append(child)
        if label.startswith("Destination Port"):
            at = min(len(data), s + hlen)
            kids.append(Node(f"[TCP Segment Len: {seglen}]", at, min(len(data), at + seglen), []))
    return Node(node.label, node.start, node.end, kids)


def _option(node: Node, data: bytes) -> Node:
    """``TCP Option - ...`` with Kind and Length, as Wireshark nests them."""
    p = node.start
    if p >= len(data) or node.end <= p:
        return node
    kind = data[p]
    name = _OPTION_KINDS.get(kind, "Unknown")
    kids = [Node(f"Kind: {name} ({kind})", p, p + 1, [])]
    if kind > 1 and p + 1 < len(data):
        kids.append(Node(f"Length: {data[p + 1]}", p + 1, p + 2, []))
    return Node(f"TCP Option - {node.label}", node.start, node.end, kids)


# ----------------------------------------------------------------------------- DNS

_DNS_FLAG_FIELDS: Final = (
    "Response:",
    "Opcode:",
    "Authoritative:",
    "Truncated:",
    "Recursion Desired:",
    "Recursion Available:",
    "Z (reserved):",
    "Authentic Data:",
    "Checking Disabled:",
    "Reply Code:",
)
_OPCODES: Final = {
    0: "Standard query",
    1: "Inverse query",
    2: "Server status request",
    4: "Zone change notification",
    5: "Dynamic update",
}
_RCODES: Final = {
    0: "No error",
    1: "Format error",
    2: "Server failure",
    3: "No such name",
    4: "Not implemented",
    5: "Refused",
}


def dns(node: Node, data: bytes) -> Node:
    """The flag fields grouped under one ``Flags: 0x0100 Standard query`` node, each a bit line."""
    kids = [c for c in node.children if not c.label.startswith(_DNS_FLAG_FIELDS)]
    start = _dns_start(node, data)
    if start is None or len(kids) == len(node.children):
        return node
    flags = dns_flags(data[start + 2] << 8 | data[start + 3], start + 2)
    at = next((i for i, c in enumerate(kids) if c.label.startswith("Transaction ID")), -1)
    kids.insert(at + 1, flags)
    return Node(node.label, node.start, node.end, kids)


def dns_flags(f: int, at: int) -> Node:
    """DNS's flags word at ``at`` as tshark shows it: ``Flags: 0x8180 Standard query response,
    No error`` over one bit line per flag."""
    response = bool(f & 0x8000)
    opcode = (f >> 11) & 0xF
    what = _OPCODES.get(opcode, f"Opcode {opcode}")
    rcode = f & 0xF
    if response:
        what += f" response, {_RCODES.get(rcode, 'Unknown error')}"
    rows = [
        (0x8000, "Response", "Message is a response" if response else "Message is a query"),
        (0x7800, "Opcode", f"{_OPCODES.get(opcode, 'Unknown')} ({opcode})"),
    ]
    if response:
        rows.append(
            (
                0x0400,
                "Authoritative",
                _said(
                    f,
                    0x0400,
                    "Server is an authority for domain",
                    "Server is not an authority for domain",
                ),
            )
        )
    rows.append(
        (0x0200, "Truncated", _said(f, 0x0200, "Message is truncated", "Message is not truncated"))
    )
    rows.append(
        (
            0x0100,
            "Recursion desired",
            _said(f, 0x0100, "Do query recursively", "Don't do query recursively"),
        )
    )
    if response:
        rows.append(
            (
                0x0080,
                "Recursion available",
                _said(
                    f,
                    0x0080,
                    "Server can do recursive queries",
                    "Server can't do recursive queries",
                ),
            )
        )
    rows.append((0x0040, "Z", "reserved (0)"))
    if response:
        rows.append(
            (
                0x0020,
                "Answer authenticated",
                _said(
                    f,
                    0x0020,
                    "Answer/authority portion was authenticated by the server",
                    "Answer/authority portion was not authenticated by the server",
                ),
            )
        )
    rows.append((0x0010, "Non-authenticated data", "Acceptable" if f & 0x10 else "Unacceptable"))
    if response:
        rows.append((0x000F, "Reply code", f"{_RCODES.get(rcode, 'Unknown')} ({rcode})"))
    return Node(
        f"Flags: 0x{f:04x} {what}",
        at,
        at + 2,
        [Node(bits_line(f, m, 16, n, v), at, at + 2, []) for m, n, v in rows],
    )


def _dns_start(node: Node, data: bytes) -> int | None:
    """Where the DNS header is (after a TCP length prefix when there is one)."""
    for c in node.children:
        if c.label.startswith("Transaction ID"):
            return c.start if c.start + 4 <= len(data) else None
    return None


# ----------------------------------------------------------------------------- ICMPv6 ND

_ND_OPTIONS: Final = {
    1: "Source link-layer address",
    2: "Target link-layer address",
    3: "Prefix information",
    4: "Redirected header",
    5: "MTU",
    14: "Nonce",
    24: "Route Information",
    25: "Recursive DNS Server",
    31: "DNS Search List",
}
#: where options start, by ND message type
_ND_START: Final = {133: 8, 134: 16, 135: 24, 136: 24, 137: 40}


def icmpv6_nd(node: Node, data: bytes) -> Node:
    """ND options nested by name (``ICMPv6 Option (Source link-layer address : ...)``),
    each with Type and Length, read from the message bytes."""
    s = node.start
    if s >= len(data) or data[s] not in _ND_START:
        return node
    at, end = s + _ND_START[data[s]], min(node.end, len(data))
    options: list[Node] = []
    while at + 2 <= end and len(options) < 64:
        t, n = data[at], data[at + 1]
        if n == 0:
            break
        stop = min(end, at + n * 8)
        name = _ND_OPTIONS.get(t, f"Unknown ({t})")
        body = data[at + 2 : stop]
        title = name
        kids = [
            Node(f"Type: {name} ({t})", at, at + 1, []),
            Node(f"Length: {n} ({n * 8} bytes)", at + 1, at + 2, []),
        ]
        if t in (1, 2) and len(body) >= 6:
            title = f"{name} : {':'.join(f'{b:02x}' for b in body[:6])}"
            kids.append(Node(f"Link-layer address: {mac_text(body[:6])}", at + 2, at + 8, []))
        elif t == 5 and len(body) >= 6:
            mtu = int.from_bytes(body[2:6], "big")
            title = f"{name} : {mtu}"
            kids.append(Node("Reserved", at + 2, at + 4, []))
            kids.append(Node(f"MTU: {mtu}", at + 4, at + 8, []))
        elif t == 3 and len(body) >= 30:
            import ipaddress

            prefix = ipaddress.IPv6Address(body[14:30])
            title = f"{name} : {prefix}/{body[0]}"
            f = body[1]
            names = [
                w
                for bit, w in (
                    (0x80, "On-link flag(L)"),
                    (0x40, "Autonomous address-configuration flag(A)"),
                    (0x20, "Router address flag(R)"),
                )
                if f & bit
            ]
            flag = f"Flag: 0x{f:02x}" + "".join(f", {w}" for w in names)
            fbits = [
                bits_line(f, 0x80, 8, "On-link flag(L)", _set(f, 0x80)),
                bits_line(f, 0x40, 8, "Autonomous address-configuration flag(A)", _set(f, 0x40)),
                bits_line(f, 0x20, 8, "Router address flag(R)", _set(f, 0x20)),
                bits_line(f, 0x1F, 8, "Reserved", str(f & 0x1F)),
            ]
            kids += [
                Node(f"Prefix Length: {body[0]}", at + 2, at + 3, []),
                Node(flag, at + 3, at + 4, [Node(b, at + 3, at + 4, []) for b in fbits]),
                Node(f"Prefix: {prefix}", at + 16, at + 32, []),
            ]
        options.append(Node(clip(f"ICMPv6 Option ({title})"), at, stop, kids))
        at += n * 8
    if not options:
        return node
    kept = [
        c
        for c in node.children
        if not c.label.lower().startswith(
            ("icmpv6 nd", "options", "icmpv6 neighbor discovery option")
        )
    ]
    return Node(node.label, node.start, node.end, [*kept, *options])


# ----------------------------------------------------------------------------- HTTP

#: Wireshark's HTTP ports (which ports lead where is :mod:`tapwatch.decode.tcpapps`'s rule)
HTTP_PORTS: Final = tcpapps.HTTP_PORTS
_METHODS: Final = tuple(m + b" " for m in tcpapps.HTTP_METHODS)
MAX_HEADER_LINES: Final = 200


def http(data: bytes, start: int, end: int) -> list[Node] | None:
    """An HTTP/1.x message's layer (and its body as File Data) from a TCP payload that starts
    one; None when the payload does not start a request or response."""
    payload = data[start:end]
    if not (payload.startswith(_METHODS) or payload.startswith(b"HTTP/1.")):
        return None
    head_end = payload.find(b"\r\n\r\n")
    stop = head_end + 4 if head_end >= 0 else len(payload)
    lines = payload[:stop].split(b"\r\n")
    kids: list[Node] = []
    at = start
    first = True
    for raw in lines[:MAX_HEADER_LINES]:
        size = len(raw) + 2
        text = raw.decode("latin-1")
        if first:
            parts = text.split(" ", 2)
            sub: list[Node] = []
            if payload.startswith(b"HTTP/1.") and len(parts) >= 2:
                sub = [
                    Node(f"Response Version: {parts[0]}", at, at + len(parts[0]), []),
                    Node(f"Status Code: {parts[1]}", at, at + size, []),
                ]
                if len(parts) == 3:
                    sub.append(Node(f"Response Phrase: {parts[2]}", at, at + size, []))
            elif len(parts) == 3:
                sub = [
                    Node(f"Request Method: {parts[0]}", at, at + len(parts[0]), []),
                    Node(f"Request URI: {parts[1]}", at, at + size, []),
                    Node(f"Request Version: {parts[2]}", at, at + size, []),
                ]
            kids.append(Node(clip(text + "\\r\\n"), at, min(end, at + size), sub))
            first = False
        elif raw or at < start + stop:
            kids.append(
                Node(clip(text + "\\r\\n" if raw else "\\r\\n"), at, min(end, at + size), [])
            )
        at += size
        if not raw and not first:
            break
    body = end - (start + stop)
    if head_end >= 0 and body > 0:
        kids.append(Node(f"File Data: {body} bytes", start + stop, end, []))
    return [Node("Hypertext Transfer Protocol", start, end, kids)]


# ----------------------------------------------------------------------------- TLS

#: Wireshark's TLS ports; a payload on another port may be TLS too (:func:`tcpapps.app`)
TLS_PORTS: Final = tcpapps.TLS_PORTS
_CONTENT: Final = tcpapps.TLS_CONTENT_TYPES
_VERSIONS: Final = tcpapps.TLS_VERSIONS
#: how Wireshark names a record layer by its version
_RECORD_NAMES: Final = tcpapps.TLS_RECORD_NAMES
_HANDSHAKES: Final = tcpapps.TLS_HANDSHAKES
MAX_RECORDS: Final = 32


def tls(data: bytes, start: int, end: int) -> list[Node] | None:
    """The TLS layer of a TCP payload :func:`tcpapps.app` takes for TLS: its whole or
    starting records, none when it does not start a record (tshark's continuation data:
    a bare "Transport Layer Security"); None for an empty payload."""
    at = start
    records: list[Node] = []
    while at + 5 <= end and len(records) < MAX_RECORDS:
        ctype = data[at]
        version = data[at + 1] << 8 | data[at + 2]
        if ctype not in _CONTENT or version not in tcpapps.HEURISTIC_VERSIONS:
            break
        length = data[at + 3] << 8 | data[at + 4]
        vname = _VERSIONS.get(version, f"0x{version:04x}")
        stop = min(end, at + 5 + length)
        kids = [
            Node(f"Content Type: {_CONTENT[ctype]} ({ctype})", at, at + 1, []),
            Node(f"Version: {vname} (0x{version:04x})", at + 1, at + 3, []),
            Node(f"Length: {length}", at + 3, at + 5, []),
        ]
        what = _CONTENT[ctype]
        if ctype == 22 and at + 6 <= stop:
            htype = data[at + 5]
            hname = _HANDSHAKES.get(htype, f"Handshake type {htype}")
            hs = [Node(f"Handshake Type: {hname} ({htype})", at + 5, at + 6, [])]
            sni = _sni(data[at + 5 : stop]) if htype == 1 else None
            if sni is not None:
                hs.append(Node(clip(f"Server Name: {sni}"), at + 5, stop, []))
            kids.append(Node(f"Handshake Protocol: {hname}", at + 5, stop, hs))
            what = f"Handshake Protocol: {hname}"
        short = _RECORD_NAMES.get(version, vname)
        records.append(Node(f"{short} Record Layer: {what}", at, stop, kids))
        at += 5 + length
    if not records:
        return [Node("Transport Layer Security", start, end, [])] if end > start else None
    return [Node("Transport Layer Security", start, min(end, at), records)]


def _sni(hs: bytes) -> str | None:
    """The server name of a Client Hello (handshake message bytes), if it has one."""
    try:
        p = 4 + 2 + 32
        p += 1 + hs[p]
        p += 2 + (hs[p] << 8 | hs[p + 1])
        p += 1 + hs[p]
        stop = p + 2 + (hs[p] << 8 | hs[p + 1])
        p += 2
        while p + 4 <= min(stop, len(hs)):
            etype, elen = hs[p] << 8 | hs[p + 1], hs[p + 2] << 8 | hs[p + 3]
            if etype == 0 and p + 9 <= len(hs):
                n = hs[p + 7] << 8 | hs[p + 8]
                return hs[p + 9 : p + 9 + n].decode("latin-1")
            p += 4 + elen
    except IndexError:
        return None
    return None


# ----------------------------------------------------------------------------- MAC vendors


#: Wireshark's own databases, where Wireshark is installed (tshark resolves with them):
#: vendors' prefixes, and well-known addresses (broadcast, multicast ranges)
WIRESHARK_MANUF: Final = "/usr/share/wireshark/manuf"
WIRESHARK_WKA: Final = "/usr/share/wireshark/wka"


@functools.lru_cache(maxsize=4096)
def vendor(mac: bytes) -> str | None:
    """The name Wireshark gives an address: a well-known address's own name
    (``Broadcast``), a named range and the rest (``IPv6mcast_16``), or the vendor's short
    name and the last three bytes (``IntelCor_12:34:56``); None when nothing names it."""
    if len(mac) != 6:
        return None
    table = _names()
    whole = int.from_bytes(mac, "big")
    exact = table.get(48, {}).get(whole)
    if exact is not None:
        return exact
    for bits in sorted(table, reverse=True):
        if bits == 48 or (bits == 24 and mac[0] & 0x02):
            continue
        name = table[bits].get(whole >> (48 - bits))
        if name is None:
            continue
        if bits == 24:
            return f"{name}_{mac[3:].hex(':')}"
        rest = mac[bits // 8 :].lstrip(b"\0") or b"\0"
        return f"{name}_{rest.hex(':')}"
    return None


@functools.lru_cache(maxsize=1)
def _names() -> dict[int, dict[int, str]]:
    """Prefixes by their length in bits (48: whole addresses), parsed once from Wireshark's
    ``manuf`` and ``wka`` files (``00:00:0C<tab>Cisco``, ``01-00-5E/25<tab>IPv4mcast``),
    else from the copy of ``manuf`` scapy ships."""
    texts = []
    for path in (WIRESHARK_MANUF, WIRESHARK_WKA):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read(8 << 20))
        except OSError:
            continue
    if not texts:
        try:
            from scapy.libs.manuf import DATA

            texts.append(str(DATA))
        except Exception:
            return {}
    out: dict[int, dict[int, str]] = {}
    for text in texts:
        for line in text.splitlines():
            if not line or line[0] == "#":
                continue
            parts = [p.strip() for p in line.split("\t") if p.strip()]
            if len(parts) < 2:
                continue
            prefix, _, mask = parts[0].strip().partition("/")
            digits = prefix.replace(":", "").replace("-", "").replace(".", "")
            try:
                value = int(digits, 16)
            except ValueError:
                continue
            bits = int(mask) if mask.isdigit() else len(digits) * 4
            if not 0 < bits <= 48 or len(digits) > 12:
                continue
            value = (value << (48 - len(digits) * 4)) >> (48 - bits)
            out.setdefault(bits, {}).setdefault(value, parts[1])
    return out


def mac_text(mac: bytes) -> str:
    """``IntelCor_12:34:56 (00:1b:21:12:34:56)`` as Wireshark resolves it; an address it cannot
    name shows as itself twice, as tshark shows it (``02:00:00:00:00:01 (02:00:...)``)."""
    bare = ":".join(f"{b:02x}" for b in mac)
    name = vendor(mac)
    return f"{name} ({bare})" if name is not None else f"{bare} ({bare})"
