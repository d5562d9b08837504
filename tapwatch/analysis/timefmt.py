"""Time display formats for the list and the frame layer, as tcpdump's -t flags name them.

``relative`` (seconds since the first packet: tcpdump -ttttt, Wireshark's
default), ``absolute`` (time of day: tcpdump's default), ``date`` (date and
time: -tttt), ``delta`` (since the previous packet shown: -ttt) and
``epoch`` (seconds since 1970: -tt). Absolute times are local, as tcpdump
prints them.
"""

from __future__ import annotations

import time
from enum import Enum


class TimeFormat(str, Enum):
    RELATIVE = "relative"
    ABSOLUTE = "absolute"
    DATE = "date"
    DELTA = "delta"
    EPOCH = "epoch"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]

    def next(self) -> TimeFormat:
        order = list(TimeFormat)
        return order[(order.index(self) + 1) % len(order)]


DESCRIPTIONS = {
    TimeFormat.RELATIVE: "seconds since the first packet (tcpdump -ttttt)",
    TimeFormat.ABSOLUTE: "time of day (tcpdump's default)",
    TimeFormat.DATE: "date and time of day (tcpdump -tttt)",
    TimeFormat.DELTA: "seconds since the previous packet shown (tcpdump -ttt)",
    TimeFormat.EPOCH: "seconds since 1970-01-01 UTC (tcpdump -tt)",
}

#: column width each format needs at most (relative grows past 99999 s, which is rare)
WIDTHS = {
    TimeFormat.RELATIVE: 11,
    TimeFormat.ABSOLUTE: 15,
    TimeFormat.DATE: 26,
    TimeFormat.DELTA: 10,
    TimeFormat.EPOCH: 17,
}


def _clock(ts_ns: int, with_date: bool) -> str:
    sec, ns = divmod(ts_ns, 1_000_000_000)
    tm = time.localtime(sec)
    day = time.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S", tm)
    return f"{day}.{ns // 1000:06d}"


def format_time(fmt: TimeFormat, ts_ns: int, first_ns: int, prev_ns: int | None) -> str:
    """One timestamp in ``fmt``; ``prev_ns`` is the previous shown packet's (None: first)."""
    if fmt is TimeFormat.RELATIVE:
        return f"{(ts_ns - first_ns) / 1e9:.6f}"
    if fmt is TimeFormat.DELTA:
        return f"{(ts_ns - prev_ns) / 1e9:.6f}" if prev_ns is not None else "0.000000"
    if fmt is TimeFormat.EPOCH:
        sec, ns = divmod(ts_ns, 1_000_000_000)
        return f"{sec}.{ns // 1000:06d}"
    return _clock(ts_ns, fmt is TimeFormat.DATE)


def precise_time(ts_ns: int) -> str:
    """Date, time to the nanosecond and the zone, for the frame layer."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    tm = time.localtime(sec)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', tm)}.{ns:09d} {time.strftime('%Z', tm)}"


def seconds(ns: int) -> str:
    return f"{ns / 1e9:.9f} seconds"
