"""Find a packet: by text, by hex bytes or by a filter expression, forward or back.

Searches go over the rows the list shows (its order, its filter), starting
after the selected row and wrapping around once, as Wireshark's find does.
Text matches the packet's bytes (ASCII, any case) or its one-line summary,
so both ``GET /index`` and a DNS name (``example.com``, which the wire
spells with length bytes) are found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tapwatch.analysis import Progress

if TYPE_CHECKING:
    from tapwatch.filters import PacketFilter
    from tapwatch.ring import Record, Ring

FindKind = Literal["text", "hex", "filter"]
FIND_KINDS: tuple[FindKind, ...] = ("text", "hex", "filter")
_HEX_SEPARATORS = re.compile(r"[\s:.\-]")
CHUNK = 2048


class FindError(ValueError):
    """The query cannot be searched for; the message says why."""


@dataclass
class Query:
    """One thing to look for; build with :func:`parse_query`."""

    kind: FindKind
    text: str
    needle: bytes = b""
    lower: str = ""
    flt: PacketFilter | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.text!r}" if self.kind != "filter" else f"filter {self.text}"


def parse_hex(text: str) -> bytes:
    """``de ad be ef``, ``deadbeef``, ``de:ad:be:ef`` or ``0xdeadbeef`` as bytes."""
    t = text.strip()
    if t.lower().startswith("0x"):
        t = t[2:]
    t = _HEX_SEPARATORS.sub("", t)
    if not t:
        raise FindError("type some hex bytes, e.g. de ad be ef")
    if len(t) % 2:
        raise FindError(f"{len(t)} hex digits: bytes take two each")
    try:
        return bytes.fromhex(t)
    except ValueError:
        raise FindError("not hex: use the digits 0-9 and a-f") from None


def parse_query(kind: FindKind, text: str, linktypes: Sequence[int]) -> Query:
    """A query ready to search, or FindError with what is wrong."""
    if kind == "text":
        if not text:
            raise FindError("type the text to find")
        return Query(
            kind, text, needle=text.lower().encode("latin-1", "replace"), lower=text.lower()
        )
    if kind == "hex":
        return Query(kind, text, needle=parse_hex(text))
    from tapwatch.dfilter.language import compile_any
    from tapwatch.errors import TapwatchError

    try:  # BPF or Wireshark's language, told apart as the filter bar does
        flt = compile_any(text, linktypes)
    except TapwatchError as e:
        raise FindError(str(e)) from None
    if flt is None:
        raise FindError("type a filter expression, e.g. tcp port 80 or tcp.port == 80")
    return Query(kind, text, flt=flt)  # type: ignore[arg-type]


def matcher(
    query: Query, linktypes: Sequence[int], summary: Callable[[int, bytes, int], str] | None
) -> Callable[[Record], bool]:
    """A predicate on a ring record for the query.

    ``summary(seq, data, iface)`` gives a packet's one-line text, for text searches.
    """
    if query.kind == "hex":
        needle = query.needle
        return lambda rec: needle in rec.data
    if query.kind == "filter":
        assert query.flt is not None
        match = query.flt.match
        match_record = getattr(query.flt, "match_record", None)
        if match_record is not None:  # Wireshark's: the packet's number, time and direction
            return lambda rec: bool(match_record(rec, linktypes[rec.iface]))
        return lambda rec: match(rec.data, linktypes[rec.iface])
    needle, lower = query.needle, query.lower

    def text(rec: Record) -> bool:
        data = rec.data
        if needle in data.lower():
            return True
        return summary is not None and lower in summary(rec.seq, data, rec.iface).lower()

    return text


def find(
    rows: Sequence[int],
    start: int,
    forward: bool,
    ring: Ring,
    match: Callable[[Record], bool],
    progress: Progress | None = None,
) -> tuple[int, bool] | None:
    """The row index of the next match after row ``start``, and whether it wrapped.

    ``rows`` maps row index to seq (a snapshot of the list); records no
    longer held are skipped. None when nothing matches.
    """
    n = len(rows)
    if not n:
        return None
    if progress is not None:
        progress.total = n
    step = 1 if forward else -1
    get = ring.get
    i = start
    for checked in range(1, n + 1):
        i = (i + step) % n
        rec = get(rows[i])
        if progress is not None and checked % CHUNK == 0:
            progress.advance(CHUNK)
        if rec is not None and match(rec):
            return i, _wrapped(start, i, forward)
    return None


def _wrapped(start: int, found: int, forward: bool) -> bool:
    return found <= start if forward else found >= start
