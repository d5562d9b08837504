"""The classic pcap record loops: reading a file's records, finding and reading ranges of them.

They run once per packet, like the decoder, so they are compiled with it when a
compiler is available (``setup.py``); the source is the same either way.  Regular
files are read in windows of :data:`WINDOW` bytes and the records sliced out of
them (a buffered ``read`` per header and per packet costs more than the packet's
decoding once both are compiled); pipes keep :mod:`tapwatch.pcap.reader`'s
record-at-a-time loop, which hands each record over as soon as it has arrived.

Every loop applies the reader's bounds and reports the same facts: a record over
:data:`~tapwatch.pcap.formats.MAX_CAPLEN` is :class:`BadRecord` (the reader turns it
into its one-line error), an input that ends inside a record sets ``truncated``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final, NamedTuple

from tapwatch.pcap.formats import MAX_CAPLEN

#: Bytes read at a time from a regular file.
WINDOW: Final = 1 << 20
_MAX_CAPLEN: Final = MAX_CAPLEN


class PcapRecord(NamedTuple):
    """One packet read from a file.

    ``direction``: a Direction value, None when the file has none. ``iface``:
    the index of its interface in ``CaptureFile.interfaces``. ``comment``: the
    packet's pcapng comment(s), raw text from the file (escape it with
    ``tapwatch.sanitize`` before display), None when it has none.
    """

    ts_ns: int
    data: bytes
    orig_len: int
    direction: int | None
    iface: int = 0
    comment: str | None = None


#: ``PcapRecord(...)`` would run a Python-level ``__new__``; the loops skip it.
_new = tuple.__new__


class BadRecord(Exception):
    """Record ``number`` (1-based), whose header starts at ``offset``, claims ``caplen`` bytes."""

    def __init__(self, number: int, offset: int, caplen: int) -> None:
        super().__init__(number, offset, caplen)
        self.number = number
        self.offset = offset
        self.caplen = caplen


class Layout:
    """How one classic pcap file lays out its record headers."""

    def __init__(self, little: bool, hsize: int, mult: int) -> None:
        #: byte order of the header fields
        self.little = little
        #: 16, or 24 for the modified-libpcap magic
        self.hsize = hsize
        #: nanoseconds per fraction unit (1000 for microsecond files)
        self.mult = mult

    def fields(self, b: bytes, p: int) -> tuple[int, int, int, int]:
        """``(seconds, fraction, caplen, orig_len)`` of the header at ``b[p:]``."""
        if self.little:
            return (
                b[p] | b[p + 1] << 8 | b[p + 2] << 16 | b[p + 3] << 24,
                b[p + 4] | b[p + 5] << 8 | b[p + 6] << 16 | b[p + 7] << 24,
                b[p + 8] | b[p + 9] << 8 | b[p + 10] << 16 | b[p + 11] << 24,
                b[p + 12] | b[p + 13] << 8 | b[p + 14] << 16 | b[p + 15] << 24,
            )
        return (
            b[p] << 24 | b[p + 1] << 16 | b[p + 2] << 8 | b[p + 3],
            b[p + 4] << 24 | b[p + 5] << 16 | b[p + 6] << 8 | b[p + 7],
            b[p + 8] << 24 | b[p + 9] << 16 | b[p + 10] << 8 | b[p + 11],
            b[p + 12] << 24 | b[p + 13] << 16 | b[p + 14] << 8 | b[p + 15],
        )


def stamp_ns(sec: int, frac: int, mult: int) -> int:
    """Nanoseconds since the epoch of a record header's seconds and fraction.

    Written in halves so that, compiled, every step stays on C integers: mypyc multiplies
    on its fast path only when both factors are below 2**30 (seconds since 2004 are not),
    and otherwise calls Python's long multiplication, which checks for signals; a Ctrl-C
    arriving there made the compiled loop abort the process ("fatal: out of memory")
    instead of raising KeyboardInterrupt. The halves cost less than that call.
    """
    ns = ((sec >> 15) * 1_000_000_000 << 15) + (sec & 0x7FFF) * 1_000_000_000
    if frac < 1 << 29:  # any fraction a well-formed file holds
        return ns + frac * mult
    return ns + ((frac >> 15) * mult << 15) + (frac & 0x7FFF) * mult


class Pass:
    """What one pass over records found: ``count`` records, ``truncated`` when the input
    ended inside one, ``offset`` of the first byte not consumed (when known)."""

    def __init__(self, offset: int) -> None:
        self.count = 0
        self.truncated = False
        self.offset = offset


def read_records(
    read: Callable[[int], bytes],
    lay: Layout,
    st: Pass,
    on_end: Callable[[], None],
    convert: Callable[[Exception], Exception],
) -> Iterator[PcapRecord]:
    """Every record of a regular file from the current position, read in windows.

    ``st.offset`` is the file offset of the first byte ``read`` returns; it names
    where a corrupt record starts.  What goes wrong (a :class:`BadRecord`, an
    ``OSError``) is raised as ``convert`` makes it; ``on_end`` runs once, however
    the pass ends.
    """
    hsize = lay.hsize
    mult = lay.mult
    buf = b""
    pos = 0
    n = 0
    base = st.offset  # file offset of buf[0]
    try:
        while True:
            if len(buf) - pos < hsize:
                buf = buf[pos:] + read(WINDOW)
                base += pos
                pos = 0
                if len(buf) < hsize:
                    if buf:
                        st.truncated = True
                    return
            sec, frac, caplen, orig = lay.fields(buf, pos)
            if caplen > _MAX_CAPLEN:
                raise BadRecord(n + 1, base + pos, caplen)
            start = pos + hsize
            if len(buf) - start < caplen:
                buf = buf[pos:] + read(max(WINDOW, caplen + hsize))
                base += pos
                pos = 0
                start = hsize
                if len(buf) - start < caplen:
                    st.truncated = True
                    return
            pos = start + caplen
            n += 1
            st.count = n
            yield _new(PcapRecord, (stamp_ns(sec, frac, mult), buf[start:pos], orig, None, 0, None))
    except Exception as exc:
        raise convert(exc) from None
    finally:
        st.offset = base + pos
        on_end()


class Chunk(NamedTuple):
    """A run of whole records: file bytes ``[start, end)``, ``records`` of them, the first
    being record number ``first`` (0-based)."""

    start: int
    end: int
    records: int
    first: int


def scan(read: Callable[[int], bytes], lay: Layout, st: Pass, per_chunk: int) -> Iterator[Chunk]:
    """Chunks of up to ``per_chunk`` whole records, found by walking the headers alone.

    The same bounds as :func:`read_records`: it stops at a record that is cut
    short (``st.truncated``) and raises :class:`BadRecord` where that would,
    after handing out the chunks before it.
    """
    hsize = lay.hsize
    buf = b""
    pos = 0
    base = st.offset
    n = 0
    cstart = base
    ccount = 0
    while True:
        if len(buf) - pos < hsize:
            buf = buf[pos:] + read(WINDOW)
            base += pos
            pos = 0
            if len(buf) < hsize:
                if buf:
                    st.truncated = True
                break
        p = pos + 8
        if lay.little:
            caplen = buf[p] | buf[p + 1] << 8 | buf[p + 2] << 16 | buf[p + 3] << 24
        else:
            caplen = buf[p] << 24 | buf[p + 1] << 16 | buf[p + 2] << 8 | buf[p + 3]
        if caplen > _MAX_CAPLEN:
            if ccount:
                yield Chunk(cstart, base + pos, ccount, n - ccount)
            st.count = n
            st.offset = base + pos
            raise BadRecord(n + 1, base + pos, caplen)
        nxt = pos + hsize + caplen
        while len(buf) < nxt:  # the record runs past the window: skip through it
            more = read(max(WINDOW, nxt - len(buf)))
            if not more:
                break
            buf = buf[pos:] + more
            base += pos
            nxt -= pos
            pos = 0
        if len(buf) < nxt:
            st.truncated = True
            break
        pos = nxt
        n += 1
        ccount += 1
        if ccount == per_chunk:
            yield Chunk(cstart, base + pos, ccount, n - ccount)
            cstart = base + pos
            ccount = 0
    if ccount:
        yield Chunk(cstart, base + pos, ccount, n - ccount)
    st.count = n
    st.offset = base + pos


def parse(buf: bytes, lay: Layout) -> list[tuple[int, bytes, int]]:
    """``(ts_ns, data, orig_len)`` of every record in ``buf``, whole records as :func:`scan`
    found them (``orig_len``: the packet's length on the wire, more than ``data`` when the
    capture kept less of it)."""
    hsize = lay.hsize
    mult = lay.mult
    out: list[tuple[int, bytes, int]] = []
    pos = 0
    n = len(buf)
    while pos + hsize <= n:
        sec, frac, caplen, orig = lay.fields(buf, pos)
        start = pos + hsize
        pos = start + caplen
        if pos > n:  # the file changed under us: no half records
            break
        out.append((stamp_ns(sec, frac, mult), buf[start:pos], orig))
    return out
