"""NTP (RFC 5905) in the tree as tshark 4.0 words its header: the flags and their bit
fields, stratum, poll and precision in its words, root delay and dispersion as seconds,
the reference ID (an address, or a primary source's name) and the four timestamps with
NTP's eras: a seconds field under 2**31 is read in era 1 (from 2036), as tshark does.

Control messages (mode 6, :func:`control`) are read too: their header, the system or peer
status word of a response, and the association list a read-status response carries.

Only what tshark's words are known for is built: a primary source this table does not
name, or a message other than a plain header or a control message (private, extension
fields, a control message's authentication), leaves the layer to the plainer tree."""

from __future__ import annotations

import time
from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import ip4, node, u32

_LEAP: Final = {
    0: "no warning",
    1: "last minute of the day has 61 seconds",
    2: "last minute of the day has 59 seconds",
    3: "unknown (clock unsynchronized)",
}
_MODES: Final = {
    1: "symmetric active",
    2: "symmetric passive",
    3: "client",
    4: "server",
    5: "broadcast",
}
#: the primary sources' names tshark gives (checked with tshark 4.0)
_SOURCES: Final = {
    b"GPS\0": "Global Position System",
    b"PPS\0": "Generic pulse-per-second",
    b"\0\0\0\0": "NULL",
}
#: seconds from NTP's era 0 (1900) to the Unix epoch
_UNIX: Final = 2208988800
#: the header's size: a longer datagram carries extension fields or a MAC
HEADER: Final = 48


def _flags(flags: int, s: int, mname: str) -> Node:
    """The first byte's node (leap indicator, version, mode), ``mname`` the mode's name."""
    li, vn, mode = flags >> 6, flags >> 3 & 7, flags & 7
    lname = _LEAP[li]
    return node(
        f"Flags: 0x{flags:02x}, Leap Indicator: {lname}, Version number: NTP Version {vn}, "
        f"Mode: {mname}",
        s,
        s + 1,
        [
            node(bits_line(flags, 0xC0, 8, "Leap Indicator", f"{lname} ({li})"), s, s + 1),
            node(bits_line(flags, 0x38, 8, "Version number", f"NTP Version {vn} ({vn})"), s, s + 1),
            node(bits_line(flags, 0x07, 8, "Mode", f"{mname} ({mode})"), s, s + 1),
        ],
    )


def _stratum(s: int) -> str:
    if s == 0:
        return "unspecified or invalid"
    if s == 1:
        return "primary reference"
    if s < 16:
        return "secondary reference"
    return "unsynchronized" if s == 16 else "reserved"


def timestamp(d: bytes, at: int) -> str:
    """A 64-bit NTP timestamp as tshark prints it: NULL for zero seconds (whatever the
    fraction), else the UTC date with nanoseconds (truncated), era 1 when the seconds' top
    bit is clear."""
    secs, frac = u32(d, at), u32(d, at + 4)
    if secs == 0:
        return "NULL"
    unix = secs - _UNIX if secs & 0x80000000 else secs + (1 << 32) - _UNIX
    t = time.gmtime(unix)
    day = f"{t.tm_mday:2d}"
    ns = (frac * 1_000_000_000) >> 32
    return (
        f"{time.strftime('%b', t)} {day}, {t.tm_year} {time.strftime('%H:%M:%S', t)}.{ns:09d} UTC"
    )


def ntp(data: bytes, s: int, net: Net) -> Node | None:
    """The NTP header of a client, server, symmetric or broadcast message, or a control
    message."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s < end and d[s] & 7 == 6:
        return control(d, s, end)
    if s + HEADER != end:
        return None
    flags = d[s]
    vn, mode = (flags >> 3) & 7, flags & 7
    if mode not in _MODES or not 1 <= vn <= 4:
        return None
    stratum, poll = d[s + 1], d[s + 2]
    prec = d[s + 3] - 256 if d[s + 3] & 0x80 else d[s + 3]
    ref = d[s + 12 : s + 16]
    if stratum <= 1:
        if ref in _SOURCES:
            ref_s = _SOURCES[ref]
        elif all(0x41 <= c <= 0x5A for c in ref):  # a kiss code or a source tshark may name
            if stratum == 1:
                return None
            ref_s = f"Unidentified reference source '{ref.decode('ascii')}'"
        else:
            return None
    else:
        ref_s = ip4(ref)
    mname = _MODES[mode]
    polled = f"{poll} ({2**poll} seconds)" if 4 <= poll <= 17 else f"invalid ({poll})"
    kids = [
        _flags(flags, s, mname),
        node(f"Peer Clock Stratum: {_stratum(stratum)} ({stratum})", s + 1, s + 2),
        node(f"Peer Polling Interval: {polled}", s + 2, s + 3),
        node(f"Peer Clock Precision: {2.0**prec:8.6f} seconds", s + 3, s + 4),
        node(f"Root Delay: {u32(d, s + 4) / 65536:8.6f} seconds", s + 4, s + 8),
        node(f"Root Dispersion: {u32(d, s + 8) / 65536:8.6f} seconds", s + 8, s + 12),
        node(f"Reference ID: {ref_s}", s + 12, s + 16),
    ]
    for i, name in enumerate(("Reference", "Origin", "Receive", "Transmit")):
        at = s + 16 + 8 * i
        kids.append(node(f"{name} Timestamp: {timestamp(d, at)}", at, at + 8))
    return node(f"Network Time Protocol (NTP Version {vn}, {mname})", s, end, kids)


# ----------------------------------------------------------------------------- control

_CTRL_MODE: Final = "reserved for NTP control message"
_OPCODES: Final = {
    0: "reserved",
    1: "read status",
    2: "read variables",
    3: "write variables",
    4: "read clock variables",
    5: "write clock variables",
    6: "set trap address/port",
    7: "asynchronous message",
    8: "runtime configuration",
    9: "save config to file",
    10: "retrieve MRU (mrulist)",
    11: "retrieve ordered list",
    12: "request a client nonce",
    31: "unset trap address/port",
}
_CLOCK_SOURCES: Final = {
    0: "unspecified or unknown",
    1: "Calibrated atomic clock (e.g. HP 5061)",
    2: "VLF (band 4) or LF (band 5) radio (e.g. OMEGA, WWVB)",
    3: "HF (band 7) radio (e.g. CHU, MSF, WWV/H)",
    4: "UHF (band 9) satellite (e.g. GOES, GPS)",
    5: "local net (e.g. DCN, TSP, DTS)",
    6: "UDP/NTP",
    7: "UDP/TIME",
    8: "eyeball-and-wristwatch",
    9: "telephone modem (e.g. NIST)",
}
_SYSTEM_EVENTS: Final = (
    "unspecified",
    "frequency correction (drift) file not available",
    "frequency correction started (frequency stepped)",
    "spike detected and ignored, starting stepout timer",
    "frequency training started",
    "clock synchronized",
    "system restart",
    "panic stop (required step greater than panic threshold)",
    "no system peer",
    "leap second insertion/deletion armed",
    "leap second disarmed",
    "leap second inserted or deleted",
    "clock stepped (stepout timer expired)",
    "kernel loop discipline status changed",
    "leapseconds table loaded from file",
    "leapseconds table outdated, updated file needed",
)
#: a peer status word's flags: (bit, tshark's words when set, when clear)
_PEER_BITS: Final = (
    (0x8000, "configured (peer.config)", "not configured (peer.config)"),
    (
        0x4000,
        "authentication enabled (peer.authenable)",
        "authentication disabled (peer.authenable)",
    ),
    (0x2000, "authentication okay (peer.authentic)", "authentication not okay (peer.authentic)"),
    (0x1000, "reachability okay (peer.reach != 0)", "reachability not okay (peer.reach != 0)"),
)
_SELECTIONS: Final = (
    "rejected",
    "passed sanity checks (tests 1 through 8 in Section 3.4.3)",
    "passed correctness checks (intersection algorithm in Section 4.2.1)",
    "passed candidate checks (if limit check implemented)",
    "passed outlier checks (clustering algorithm in Section 4.2.2)",
    "current synchronization source; max distance exceeded (if limit check implemented)",
    "current synchronization source; max distance okay",
    "reserved",
)
_PEER_EVENTS: Final = (
    "unspecified",
    "association mobilized",
    "association demobilized",
    "peer unreachable (peer.reach was nonzero now zero)",
    "peer reachable (peer.reach was zero now nonzero)",
    "association restarted or timed out",
    "no server found (ntpdate mode)",
    "rate exceeded (kiss code RATE)",
    "access denied (kiss code DENY)",
    "leap armed from server LI code",
    "become system peer",
    "reference clock event (see clock status word)",
    "authentication failure",
    "popcorn spike suppressor",
    "entering interleave mode",
    "interleave error (recovered)",
)
#: the control header's size
CONTROL_HEADER: Final = 12


def control(d: bytes, s: int, end: int) -> Node | None:
    """A control message (mode 6): its header, the status word a response carries (the
    system's for association 0, else the peer's), and the data: a read-status response's
    association list item by item (each peer's status word beside the data, where tshark
    4.0 puts it), another's data as one line (tshark parses the variables' text into
    lines of its own, some over bytes outside the packet: those are left out).  None for
    an error response, an unknown opcode, or data or bytes past the count it does not
    account for (padding to 4 bytes excepted)."""
    if s + CONTROL_HEADER > end:
        return None
    flags, f2 = d[s], d[s + 1]
    vn, op = (flags >> 3) & 7, f2 & 0x1F
    count = int.from_bytes(d[s + 10 : s + 12], "big")
    data_end = s + CONTROL_HEADER + count
    if f2 & 0x40 or op not in _OPCODES or not 1 <= vn <= 4 or data_end > end:
        return None
    if end - data_end > 3 or any(d[data_end:end]):
        return None
    if count and (op not in (1, 2) or (op == 1 and (not f2 & 0x80 or count % 4))):
        return None
    status, assoc = int.from_bytes(d[s + 4 : s + 6], "big"), int.from_bytes(d[s + 6 : s + 8], "big")
    response = "Response" if f2 & 0x80 else "Request"
    kids = [
        _flags(flags, s, _CTRL_MODE),
        node(
            f"Flags 2: 0x{f2:02x}, Response bit: {response}, Opcode: {_OPCODES[op]}",
            s + 1,
            s + 2,
            [
                node(
                    bits_line(f2, 0x80, 8, "Response bit", f"{response} ({f2 >> 7})"), s + 1, s + 2
                ),
                node(bits_line(f2, 0x40, 8, "Error bit", "0"), s + 1, s + 2),
                node(bits_line(f2, 0x20, 8, "More bit", str(f2 >> 5 & 1)), s + 1, s + 2),
                node(bits_line(f2, 0x1F, 8, "Opcode", f"{_OPCODES[op]} ({op})"), s + 1, s + 2),
            ],
        ),
        node(f"Sequence: {int.from_bytes(d[s + 2 : s + 4], 'big')}", s + 2, s + 4),
    ]
    if not f2 & 0x80:
        kids.append(node(f"Status: 0x{status:04x}", s + 4, s + 6))
    else:
        kids.append((_peer_status if assoc else _system_status)(status, s + 4))
    kids += [
        node(f"AssociationID: {assoc}", s + 6, s + 8),
        node(f"Offset: {int.from_bytes(d[s + 8 : s + 10], 'big')}", s + 8, s + 10),
        node(f"Count: {count}", s + 10, s + 12),
    ]
    at = s + CONTROL_HEADER
    if count and op == 1:
        items = []
        for p in range(at, data_end, 4):
            a = int.from_bytes(d[p : p + 2], "big")
            items.append(node("Item", p, p + 4, [node(f"AssociationID: {a}", p, p + 2)]))
        kids.append(node("Data", at, data_end, items[:64]))
        kids += [
            _peer_status(int.from_bytes(d[p + 2 : p + 4], "big"), p + 2)
            for p in range(at, data_end, 4)
        ][:64]
    elif count:
        kids.append(node("Data", at, data_end))
    return node(f"Network Time Protocol (NTP Version {vn}, control)", s, end, kids)


def _system_status(v: int, at: int) -> Node:
    li, src, code = v >> 14, v >> 8 & 0x3F, v & 15
    source = _CLOCK_SOURCES.get(src, "Unknown")
    words = f"Leap Indicator: {_LEAP[li]}, Clock Source: {source}, "
    words += f"System Event Code: {_SYSTEM_EVENTS[code]}"
    return node(
        f"Status: 0x{v:04x}, {words}",
        at,
        at + 2,
        [
            node(bits_line(v, 0xC000, 16, "Leap Indicator", f"{_LEAP[li]} ({li})"), at, at + 2),
            node(bits_line(v, 0x3F00, 16, "Clock Source", f"{source} ({src})"), at, at + 2),
            node(bits_line(v, 0x00F0, 16, "System Event Counter", str(v >> 4 & 15)), at, at + 2),
            node(
                bits_line(v, 0x000F, 16, "System Event Code", f"{_SYSTEM_EVENTS[code]} ({code})"),
                at,
                at + 2,
            ),
        ],
    )


def _peer_status(v: int, at: int) -> Node:
    sel, code = v >> 8 & 7, v & 15
    shown = ["Peer Status" for bit, _, _ in _PEER_BITS if v & bit]
    if v & 0x0800:
        shown.append("Peer Status broadcast association")
    shown += [f"Peer Selection: {_SELECTIONS[sel]}", f"Peer Event Code: {_PEER_EVENTS[code]}"]
    bits = [
        node(bits_line(v, bit, 16, "Peer Status", yes if v & bit else no), at, at + 2)
        for bit, yes, no in _PEER_BITS
    ]
    bits += [
        node(
            bits_line(
                v,
                0x0800,
                16,
                "Peer Status broadcast association",
                "Set" if v & 0x800 else "Not set",
            ),
            at,
            at + 2,
        ),
        node(bits_line(v, 0x0700, 16, "Peer Selection", f"{_SELECTIONS[sel]} ({sel})"), at, at + 2),
        node(bits_line(v, 0x00F0, 16, "Peer Event Counter", str(v >> 4 & 15)), at, at + 2),
        node(
            bits_line(v, 0x000F, 16, "Peer Event Code", f"{_PEER_EVENTS[code]} ({code})"),
            at,
            at + 2,
        ),
    ]
    return node(f"Status: 0x{v:04x}, " + ", ".join(shown), at, at + 2, bits)
