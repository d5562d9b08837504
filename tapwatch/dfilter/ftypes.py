"""Field types, Wireshark's (``FT_UINT16``, ``FT_IPv4``...), and how literals become values.

A field's value is held as the cheapest Python value that compares as Wireshark's:

=====================================  ===========================================
types                                  value
=====================================  ===========================================
integers, frame numbers, booleans      ``int`` (booleans 0 or 1)
``FT_IPv4``, ``FT_IPv6``               ``int`` (the address, so ``<`` orders them)
``FT_ETHER``, ``FT_BYTES``, protocols  ``bytes``
strings                                ``str``, one character per byte (latin-1)
``FT_RELATIVE_TIME``/``ABSOLUTE_TIME`` ``int`` nanoseconds
``FT_DOUBLE``                          ``float``
``FT_NONE``                            no value: only present or not
=====================================  ===========================================

A literal is read by the type of what it is compared with, as Wireshark reads it:
``10.0.0.0/8`` is a network where an IPv4 address is expected, ``0a:63`` bytes where
bytes are, ``0100`` is octal and ``0b101`` binary where an integer is, ``True`` a
boolean.  Names are never looked up: tapwatch resolves nothing, so a host name where
an address is expected is an error that says so.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
import time
from dataclasses import dataclass
from typing import Final

# type names, as tshark -G fields prints them
INTEGERS: Final = frozenset(
    {
        "FT_UINT8",
        "FT_UINT16",
        "FT_UINT24",
        "FT_UINT32",
        "FT_UINT40",
        "FT_UINT48",
        "FT_UINT56",
        "FT_UINT64",
        "FT_INT8",
        "FT_INT16",
        "FT_INT24",
        "FT_INT32",
        "FT_INT40",
        "FT_INT48",
        "FT_INT56",
        "FT_INT64",
        "FT_FRAMENUM",
        "FT_CHAR",
    }
)
BOOLEAN: Final = "FT_BOOLEAN"
IPV4: Final = "FT_IPv4"
IPV6: Final = "FT_IPv6"
ETHER: Final = "FT_ETHER"
BYTES: Final = "FT_BYTES"
PROTOCOL: Final = "FT_PROTOCOL"
STRINGS: Final = frozenset({"FT_STRING", "FT_STRINGZ", "FT_UINT_STRING", "FT_STRINGZPAD"})
RELTIME: Final = "FT_RELATIVE_TIME"
ABSTIME: Final = "FT_ABSOLUTE_TIME"
DOUBLE: Final = frozenset({"FT_DOUBLE", "FT_FLOAT"})
NONE: Final = "FT_NONE"

#: Types whose values are bytes (slices, contains, and strings compared with them).
BYTELIKE: Final = frozenset({ETHER, BYTES, PROTOCOL})
#: Types that order and take arithmetic.
NUMERIC: Final = INTEGERS | {BOOLEAN, RELTIME, ABSTIME} | DOUBLE


def kind(ftype: str) -> str:
    """The family a type belongs to: int, bool, ipv4, ipv6, bytes, string, time, abstime,
    double or none (values of one family compare with each other)."""
    if ftype in INTEGERS:
        return "int"
    if ftype == BOOLEAN:
        return "bool"
    if ftype == IPV4:
        return "ipv4"
    if ftype == IPV6:
        return "ipv6"
    if ftype in BYTELIKE:
        return "bytes"
    if ftype in STRINGS:
        return "string"
    if ftype == RELTIME:
        return "time"
    if ftype == ABSTIME:
        return "abstime"
    if ftype in DOUBLE:
        return "double"
    return "none"


def integer_bounds(ftype: str) -> tuple[int, int]:
    """Smallest and largest value of an integer type."""
    if ftype in ("FT_FRAMENUM",):
        return 0, 0xFFFFFFFF
    if ftype == "FT_CHAR":
        return 0, 0xFF
    digits = re.search(r"\d+", ftype)
    bits = int(digits.group(0)) if digits else 64
    if ftype.startswith("FT_INT"):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


class LiteralError(ValueError):
    """A literal that does not fit the type it meets; the message is the sentence to show."""


@dataclass(frozen=True)
class Network:
    """An address with a prefix length: ``== 10.0.0.0/8`` tests membership."""

    addr: int
    prefix: int
    bits: int

    def contains(self, value: int) -> bool:
        shift = self.bits - self.prefix
        return (value >> shift) == (self.addr >> shift)


_INT_RE: Final = re.compile(r"[+-]?(?:0[xX][0-9A-Fa-f]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_BYTES_SEP_RE: Final = re.compile(r"[0-9A-Fa-f]{1,2}(?:([:.-])[0-9A-Fa-f]{1,2})*")
_HEX_RUN_RE: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_MAC_DOTQUAD_RE: Final = re.compile(r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")
_TIME_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_int(text: str) -> int:
    """C's integer syntax, as Wireshark's (``0x1f``, ``017`` octal, ``0b101``, ``-3``)."""
    t = text.strip()
    if not _INT_RE.fullmatch(t):
        raise LiteralError(f'"{text}" is not a valid number')
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    if t[:2] in ("0x", "0X"):
        return sign * int(t[2:], 16)
    if t[:2] in ("0b", "0B"):
        return sign * int(t[2:], 2)
    if len(t) > 1 and t.startswith("0"):
        return sign * int(t, 8)
    return sign * int(t)


def integer(text: str, ftype: str) -> int:
    value = parse_int(text)
    lo, hi = integer_bounds(ftype)
    if value > hi:
        raise LiteralError(f"{text} is too big for this field (the most is {hi})")
    if value < lo:
        raise LiteralError(f"{text} is too small for this field (the least is {lo})")
    return value


def boolean(text: str) -> int:
    if text in ("True", "TRUE"):
        return 1
    if text in ("False", "FALSE"):
        return 0
    try:
        return 1 if parse_int(text) else 0
    except LiteralError:
        raise LiteralError(f'"{text}" is not a boolean (write True, False, 1 or 0)') from None


def ipv4(text: str) -> int | Network:
    addr, _, prefix = text.partition("/")
    try:
        value = int(ipaddress.IPv4Address(addr))
    except ValueError:
        raise LiteralError(
            f'"{text}" is not a valid IPv4 address (tapwatch never looks up host names)'
        ) from None
    if not _:
        return value
    if not prefix.isdigit() or int(prefix) > 32:
        raise LiteralError(f'"{text}": the prefix after / must be 0 to 32')
    return Network(value, int(prefix), 32)


def ipv6(text: str) -> int | Network:
    addr, _, prefix = text.partition("/")
    try:
        value = int(ipaddress.IPv6Address(addr))
    except ValueError:
        raise LiteralError(
            f'"{text}" is not a valid IPv6 address (tapwatch never looks up host names)'
        ) from None
    if not _:
        return value
    if not prefix.isdigit() or int(prefix) > 128:
        raise LiteralError(f'"{text}": the prefix after / must be 0 to 128')
    return Network(value, int(prefix), 128)


def byte_string(text: str) -> bytes:
    """``aa:bb:cc``, ``aa-bb-cc``, ``aa.bb.cc`` (one separator kind), a single byte ``7a``,
    or, as Wireshark 4.0 also takes, a run of hex digits ``aabbcc``."""
    t = text[1:] if text.startswith(":") else text
    m = _BYTES_SEP_RE.fullmatch(t)
    if m:
        sep = m.group(1)
        parts = t.split(sep) if sep else [t]
        if all(len(p) in (1, 2) for p in parts) and (sep or len(t) <= 2):
            return bytes(int(p, 16) for p in parts)
    if _HEX_RUN_RE.fullmatch(t):
        return bytes.fromhex(t)
    raise LiteralError(f'"{text}" is not a valid byte string')


def ether(text: str) -> bytes:
    if _MAC_DOTQUAD_RE.fullmatch(text):
        return bytes.fromhex(text.replace(".", ""))
    try:
        value = byte_string(text)
    except LiteralError:
        value = b""
    if len(value) != 6:
        raise LiteralError(
            f'"{text}" is not a valid Ethernet address (tapwatch never looks up names)'
        )
    return value


def reltime(text: str) -> int:
    """Seconds, with a fraction, as nanoseconds (``1.5`` -> 1_500_000_000)."""
    t = text.strip()
    if not _TIME_RE.fullmatch(t):
        raise LiteralError(f'"{text}" is not a valid time in seconds')
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    whole, _, frac = t.partition(".")
    ns = int(whole or "0") * 1_000_000_000 + int((frac + "000000000")[:9] or "0")
    return sign * ns


_ABS_FORMATS: Final = (
    ("%Y-%m-%dT%H:%M:%S", True),
    ("%Y-%m-%d %H:%M:%S", True),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%d", False),
    ("%b %d, %Y %H:%M:%S", True),
    ("%b %d, %Y %H:%M", False),
    ("%b %d, %Y", False),
)


def abstime(text: str) -> int:
    """ISO 8601 (``2020-07-04T12:34:56.5``, ``Z`` or ``UTC`` for UTC) or Wireshark's legacy
    ``Sep 26, 2004 23:18:04.954975``; local time unless told UTC."""
    t = text.strip()
    utc = False
    for suffix in (" UTC", "UTC", "Z"):
        if t.endswith(suffix):
            t = t[: -len(suffix)].rstrip()
            utc = True
            break
    frac_ns = 0
    m = re.search(r"\.(\d+)$", t)
    if m:
        frac_ns = int((m.group(1) + "000000000")[:9])
        t = t[: m.start()]
    for fmt, _seconds in _ABS_FORMATS:
        try:
            st = time.strptime(t, fmt)
        except ValueError:
            continue
        secs = calendar.timegm(st) if utc else int(time.mktime(st))
        return secs * 1_000_000_000 + frac_ns
    raise LiteralError(
        f'"{text}" is not a valid date and time (write 2024-07-04 12:34:56 or '
        '"Jul 4, 2024 12:34:56")'
    )


def double(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise LiteralError(f'"{text}" is not a valid number') from None


def convert(text: str, ftype: str, quoted: bool = False) -> object:
    """A literal's value for a field of ``ftype``: an int, bytes, str, float or Network.

    ``quoted``: the literal was a string in double quotes (which bytes-like fields take
    as its bytes, and strings as it is).
    """
    k = kind(ftype)
    if k == "string":
        return text
    if k == "bytes":
        if quoted:
            return text.encode("latin-1", "replace")  # one character per byte (see syntax)
        if ftype == ETHER:
            return ether(text)
        if text.lower().startswith("0x"):
            n = parse_int(text)
            if 0 <= n <= 0xFF:
                return bytes([n])
            raise LiteralError(f"{text} is more than one byte: write bytes as aa:bb:cc")
        return byte_string(text)
    if k == "int":
        return integer(text, ftype)
    if k == "bool":
        return boolean(text)
    if k == "ipv4":
        return ipv4(text)
    if k == "ipv6":
        return ipv6(text)
    if k == "time":
        return reltime(text)
    if k == "abstime":
        return abstime(text)
    if k == "double":
        return double(text)
    raise LiteralError("this field has no value to compare: test only whether it is present")


def show(value: object, ftype: str) -> str:
    """A value as Wireshark writes it in a filter (completion and messages)."""
    k = kind(ftype)
    if k == "ipv4" and isinstance(value, int):
        return str(ipaddress.IPv4Address(value))
    if k == "ipv6" and isinstance(value, int):
        return str(ipaddress.IPv6Address(value))
    if isinstance(value, bytes):
        return value.hex(":")
    if k == "time" and isinstance(value, int):
        return f"{value / 1e9:.9f}"
    return str(value)
