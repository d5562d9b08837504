"""argparse ``type=`` converters: a number or size checked where the flag is parsed.

A bad value is argparse's own error (``argument -c: '0' must be at least 1``),
exit status 2, before anything else is looked at.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import sys

#: Bounds for numbers whose meaning ends somewhere: a ring slot costs ~18 bytes before
#: any packet arrives, and the kernel keeps queue lengths in 32 bits.
MAX_RING_PACKETS = 100_000_000
MAX_RING_BYTES = 1 << 40
MAX_TXQUEUELEN = 0x7FFFFFFF  # the kernel takes an int (ip link refuses more too)
#: The longest duration a flag takes (a day: longer is a typo).
MAX_SECONDS = 86400.0
#: An address or network a flag names.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: libpcap's largest snapshot length, and what ``-s 0`` means.
MAX_SNAPLEN = 262144

_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def whole(text: str, low: int, high: int, what: str) -> int:
    """``text`` as an integer (any base Python reads) in ``[low, high]``."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least {low}")
    if value > high:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {what} allows ({high:,})")
    return value


def positive_int(text: str) -> int:
    return whole(text, 1, sys.maxsize, "a count")


def ring_packets(text: str) -> int:
    return whole(text, 1, MAX_RING_PACKETS, "--ring-packets")


def txqueuelen(text: str) -> int:
    return whole(text, 1, MAX_TXQUEUELEN, "--txqueuelen")


def size(text: str) -> int:
    """A byte count with an optional k/M/G/T (binary) suffix, at most 1 TiB."""
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    mult = 1
    if t and t[-1] in _SIZE_UNITS:
        mult = _SIZE_UNITS[t[-1]]
        t = t[:-1]
    try:
        number = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 256M, 1G)") from None
    if not math.isfinite(number) or number * mult > MAX_RING_BYTES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size tapwatch can hold (at most 1T)")
    value = int(number * mult)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def snaplen(text: str) -> int:
    return whole(text, 0, MAX_SNAPLEN, "-s") or MAX_SNAPLEN


def port(text: str) -> int:
    return whole(text, 1, 65535, "a port")


def max_frame(text: str) -> int:
    return whole(text, 1, 65535, "--tunnel-max-frame")


def seconds(text: str) -> float:
    """A duration in seconds, 0 up to a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: want 0 to {MAX_SECONDS:g} seconds")
    return value


def network(text: str) -> Network:
    """``ADDR`` or ``ADDR/LEN``, IPv4 or IPv6 (``--tunnel-allow``)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an address or network (ADDR or ADDR/LEN, IPv4 or IPv6)"
        ) from None


def speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            "the speed must be 0 (as fast as possible) or a positive number"
        )
    return value
