"""NTP (RFC 5905) in the tree as tshark 4.0 words its header: the flags and their bit
fields, stratum, poll and precision in its words, root delay and dispersion as seconds,
the reference ID (an address, or a primary source's name) and the four timestamps with
NTP's eras: a seconds field under 2**31 is read in era 1 (from 2036), as tshark does.

Only what tshark's words are known for is built: a primary source this table does not
name, or a message other than a plain header (control, private, extension fields),
leaves the layer to the plainer tree."""

from __future__ import annotations

import time
from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.tree import Node
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
    """The NTP header of a client, server, symmetric or broadcast message."""
    d = data
    end = min(len(d), net.end) if net.end > s else len(d)
    if s + HEADER != end:
        return None
    flags = d[s]
    li, vn, mode = flags >> 6, (flags >> 3) & 7, flags & 7
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
    mname, lname = _MODES[mode], _LEAP[li]
    polled = f"{poll} ({2**poll} seconds)" if 4 <= poll <= 17 else f"invalid ({poll})"
    kids = [
        node(
            f"Flags: 0x{flags:02x}, Leap Indicator: {lname}, Version number: NTP Version {vn}, "
            f"Mode: {mname}",
            s,
            s + 1,
            [
                node(bits_line(flags, 0xC0, 8, "Leap Indicator", f"{lname} ({li})"), s, s + 1),
                node(
                    bits_line(flags, 0x38, 8, "Version number", f"NTP Version {vn} ({vn})"),
                    s,
                    s + 1,
                ),
                node(bits_line(flags, 0x07, 8, "Mode", f"{mname} ({mode})"), s, s + 1),
            ],
        ),
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
