"""DNS messages over UDP in tshark's words and spans: header, flags, questions and the
common resource records.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import MAX_ITEMS, ip4, ip6, node, u16, u32

# ----------------------------------------------------------------------------- DNS

DNS_TYPES: Final = {
    1: "A (Host Address)",
    2: "NS (authoritative Name Server)",
    5: "CNAME (Canonical NAME for an alias)",
    6: "SOA (Start Of a zone of Authority)",
    12: "PTR (domain name PoinTeR)",
    13: "HINFO (host information)",
    15: "MX (Mail eXchange)",
    16: "TXT (Text strings)",
    28: "AAAA (IPv6 Address)",
    33: "SRV (Server Selection)",
    35: "NAPTR (Naming Authority Pointer)",
    41: "OPT",
    43: "DS (Delegation Signer)",
    46: "RRSIG (Resource Record Signature)",
    47: "NSEC (Next Secure)",
    48: "DNSKEY (DNS Public Key)",
    64: "SVCB (General Purpose Service Endpoints)",
    65: "HTTPS (HTTPS Specific Service Endpoints)",
    255: "* (A request for all records the server/cache has available)",
}
_DNS_CLASSES: Final = {1: "IN", 2: "CS", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
_SECTIONS: Final = ("Queries", "Answers", "Authoritative nameservers", "Additional records")


def _dns_type_short(t: int) -> str:
    long = DNS_TYPES.get(t)
    return long.split(" ", 1)[0] if long else f"Unknown ({t})"


def _dns_name(d: bytes, msg: int, at: int, end: int) -> tuple[str, int, int] | None:
    """(name, labels, end of the name in place) of a DNS name at ``at`` in the message that
    starts at ``msg``, following at most :data:`MAX_ITEMS` compression pointers (offsets
    from ``msg``); None when it runs off the message (``end``)."""
    labels: list[str] = []
    here, stop, jumps = at, -1, 0
    while True:
        if here >= end:
            return None
        n = d[here]
        if n == 0:
            if stop < 0:
                stop = here + 1
            break
        if n & 0xC0 == 0xC0:
            if here + 2 > end or jumps >= MAX_ITEMS:
                return None
            if stop < 0:
                stop = here + 2
            here = msg + ((n & 0x3F) << 8 | d[here + 1])
            jumps += 1
            continue
        if n & 0xC0 or here + 1 + n > end:
            return None
        labels.append(d[here + 1 : here + 1 + n].decode("latin-1"))
        here += 1 + n
    return (".".join(labels) if labels else "<Root>"), len(labels), stop


def _ttl_words(v: int) -> str:
    """Wireshark's duration words: ``5 minutes``, ``1 hour, 1 minute, 5 seconds``."""
    parts = []
    for size, word in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        k, v = divmod(v, size)
        if k:
            parts.append(f"{k} {word}{'' if k == 1 else 's'}")
    return ", ".join(parts) if parts else "0 seconds"


def dns(data: bytes, s: int, net: Net) -> Node | None:
    """A DNS message over UDP: header, flags, and the A, AAAA, CNAME, NS, PTR and MX records
    (other records keep their name, type and class lines only)."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s >= 8 and u16(d, s - 4) >= 8:  # the UDP datagram's own length bounds the message
        end = min(end, s - 8 + u16(d, s - 4))
    if s + 12 > end:
        return None
    return node(f"Domain Name System ({_what(d, s)})", s, end, _message(d, s, end))


def dns_tcp(data: bytes, s: int, net: Net) -> Node | None:
    """A DNS message over TCP: its two-byte length, then the message (whole in this segment;
    a message that starts a segment and goes on in the next is left to scapy's words)."""
    d = data
    if s + 14 > len(d):
        return None
    length = u16(d, s)
    end = s + 2 + length
    if end > min(len(d), net.end if net.end > s else len(d)):
        return None
    kids = [node(f"Length: {length}", s, s + 2), *_message(d, s + 2, end)]
    return node(f"Domain Name System ({_what(d, s + 2)})", s, end, kids)


def _what(d: bytes, msg: int) -> str:
    return "response" if d[msg + 2] & 0x80 else "query"


def _message(d: bytes, s: int, end: int) -> list[Node]:
    """The header, flags and sections of the message at ``s`` (compression pointers are
    offsets from there), up to ``end``."""
    from tapwatch.decode.depth import dns_flags

    counts = [u16(d, s + 4 + 2 * i) for i in range(4)]
    kids = [
        node(f"Transaction ID: 0x{u16(d, s):04x}", s, s + 2),
        dns_flags(u16(d, s + 2), s + 2),
        node(f"Questions: {counts[0]}", s + 4, s + 6),
        node(f"Answer RRs: {counts[1]}", s + 6, s + 8),
        node(f"Authority RRs: {counts[2]}", s + 8, s + 10),
        node(f"Additional RRs: {counts[3]}", s + 10, s + 12),
    ]
    at = s + 12
    items = 0
    for section, count in zip(_SECTIONS, counts, strict=True):
        records: list[Node] = []
        first = at
        for _ in range(count):
            items += 1
            got = _dns_record(d, s, at, end, section == "Queries") if items <= MAX_ITEMS else None
            if got is None:
                break
            record, at = got
            if record is not None:
                records.append(record)
        else:
            if count and records:
                kids.append(node(section, first, at, records))
            continue
        break
    return kids


def _dns_record(
    d: bytes, msg: int, at: int, end: int, question: bool
) -> tuple[Node | None, int] | None:
    """One question or resource record at ``at``: its node (None: shown by no line) and
    where the next one starts; None when it runs off the message."""
    got = _dns_name(d, msg, at, end)
    if got is None:
        return None
    name, labels, p = got
    if p + 4 > end:
        return None
    t, c = u16(d, p), u16(d, p + 2)
    cls = _DNS_CLASSES.get(c, f"Unknown (0x{c:04x})")
    title = f"{name}: type {_dns_type_short(t)}, class {cls}"
    kids = [node(f"Name: {name}", at, p)]
    if question:
        kids += [
            node(f"[Name Length: {len(name)}]", at, p),
            node(f"[Label Count: {labels}]", at, p),
        ]
    kids += [
        node(f"Type: {DNS_TYPES.get(t, 'Unknown')} ({t})", p, p + 2),
        node(f"Class: {cls} (0x{c:04x})", p + 2, p + 4),
    ]
    if question:
        return node(title, at, p + 4, kids), p + 4
    if p + 10 > end:
        return None
    ttl, rdlen = u32(d, p + 4), u16(d, p + 8)
    r, stop = p + 10, p + 10 + rdlen
    if stop > end:
        return None
    if t == 41 or c & 0x8000:  # EDNS's OPT and mDNS's cache-flush records: worded otherwise
        return None, stop
    kids += [
        node(f"Time to live: {ttl} ({_ttl_words(ttl)})", p + 4, p + 8),
        node(f"Data length: {rdlen}", p + 8, p + 10),
    ]
    if t == 1 and rdlen == 4:
        value = ip4(d[r:stop])
        title += f", addr {value}"
        kids.append(node(f"Address: {value}", r, stop))
    elif t == 28 and rdlen == 16:
        value = ip6(d[r:stop])
        title += f", addr {value}"
        kids.append(node(f"AAAA Address: {value}", r, stop))
    elif t in (2, 5, 12):
        target = _dns_name(d, msg, r, stop)
        if target is None:
            return None, stop
        word, field = {2: ("ns", "Name Server"), 5: ("cname", "CNAME"), 12: ("", "Domain Name")}[t]
        title += f", {word} {target[0]}" if word else f", {target[0]}"
        kids.append(node(f"{field}: {target[0]}", r, stop))
    elif t == 15 and rdlen >= 3:
        target = _dns_name(d, msg, r + 2, stop)
        if target is None:
            return None, stop
        title += f", preference {u16(d, r)}, mx {target[0]}"
        kids.append(node(f"Preference: {u16(d, r)}", r, r + 2))
        kids.append(node(f"Mail Exchange: {target[0]}", r + 2, stop))
    else:
        return node(title, at, stop, kids[:3]), stop
    return node(title, at, stop, kids), stop
