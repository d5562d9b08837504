"""Reading captures: open a pcap or pcapng file or stream, then one pass of records.

Records stream: each one is yielded as soon as its bytes have arrived, so
``ssh host tapwatch -w - | tapwatch -r -`` shows packets as they come. Only
:class:`PcapError` ever escapes, whatever the bytes; sizes are checked against
libpcap's bounds before anything is allocated for them (a record over 256 KiB,
a pcapng block over 16 MiB, more than 256 interfaces: corrupt).

Every record names its interface (``iface``, an index into
``CaptureFile.interfaces``); a classic pcap file has exactly one interface, a
pcapng file one per distinct interface description block, each with its own
link type, name and timestamp resolution.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import sys
from collections.abc import Iterator
from typing import IO, BinaryIO, NamedTuple

from tapwatch.decode._pure import choose
from tapwatch.linktypes import name as linktype_name
from tapwatch.pcap.errors import PcapError, describe_read_error
from tapwatch.pcap.files import FileId, file_id
from tapwatch.pcap.formats import (
    MAX_CAPLEN,
    PCAP_HEADER_LEN,
    PCAP_MAGIC_MODIFIED,
    PCAP_MAGIC_NS,
    SHB_MAGIC,
    pcap_magic_info,
)

choose()  # the source of the compiled record loops, too, when asked or stale

from tapwatch.pcap.records import (  # noqa: E402 (after the source-first finder)
    BadRecord,
    Chunk,
    Layout,
    Pass,
    PcapRecord,
    parse,
    read_records,
    scan,
)

_READ_BUFFER = 256 * 1024


class Interface(NamedTuple):
    """One interface of a capture, and its timestamp conversion ``ts * mul // div + off``.

    ``name`` is raw text from the file (escape it before display); ``tsresol``
    the raw if_tsresol byte (6 = microseconds when absent, 9 nanoseconds).
    """

    linktype: int
    snaplen: int
    name: str | None
    tsresol: int
    mul: int
    div: int
    offset_ns: int

    @property
    def units_per_second(self) -> int:
        """Timestamp ticks per second, from if_tsresol (decimal or binary power)."""
        if self.tsresol & 0x80:
            return 1 << (self.tsresol & 0x7F)
        return int(10**self.tsresol)


def make_interface(
    linktype: int, snaplen: int, name: str | None, tsresol: int, offset_s: int = 0
) -> Interface:
    """An Interface with its conversion to nanoseconds worked out from ``tsresol``."""
    if tsresol & 0x80:
        mul, div = 1_000_000_000, 1 << (tsresol & 0x7F)
    elif tsresol <= 9:
        mul, div = 10 ** (9 - tsresol), 1
    else:
        mul, div = 1, 10 ** (tsresol - 9)
    return Interface(linktype, snaplen, name, tsresol, mul, div, offset_s * 1_000_000_000)


class CaptureFile:
    """An open capture being read: header facts, then a single pass of ``PcapRecord``s.

    Attributes: ``format`` ("pcap"/"pcapng"), ``interfaces`` (one per
    interface; records index it; a pcapng block after packets adds one while
    iterating, before the first record that names it), ``linktype``,
    ``snaplen``, ``ifname`` and ``nanosecond`` (interface 0's), ``byteorder``,
    ``magic`` and raw ``header`` (classic: the 24 bytes ``writer_like`` copies;
    pcapng: the first SHB), ``version``, ``identity`` (device and inode of the
    file being read, for refusing to write over it), ``truncated`` (set when the
    input ends inside a record), ``count`` (records read; final once iteration
    ends). Iterating is a single pass over the stream, like reading a pipe.

    Leniency, chosen to read what other tools wrote: a record longer than the
    header's snaplen is returned whole (only beyond 256 KiB is it corruption);
    ``orig_len`` smaller than the captured length is passed through; malformed
    pcapng options end the option list instead of failing the packet; SPBs,
    which carry no timestamp, get the previous packet's.
    """

    def __init__(self, fh: IO[bytes], name: str, owned: bool, wrapped: bool = False) -> None:
        """``owned``: close ``fh`` when done; ``wrapped``: detach our buffer from the caller's."""
        self.path = name
        self.format = ""
        self.linktype = 0
        self.nanosecond = False
        self.snaplen = 0
        self.ifname: str | None = None
        self.truncated = False
        self.header = b""
        self.byteorder = "<"
        self.magic = 0
        self.version = (0, 0)
        self.interfaces: list[Interface] = []
        self.count = 0
        self.identity: FileId | None = file_id(fh, name)
        self._fh = fh
        self._owned = owned
        self._wrapped = wrapped
        self._layout: Layout | None = None  # a classic pcap regular file: records by ranges
        try:
            self._records = self._start()
        except BaseException:
            self.close()
            raise

    # -- open -----------------------------------------------------------------

    def _read(self, n: int) -> bytes:
        try:
            data = self._fh.read(n)
        except OSError as exc:
            raise PcapError(describe_read_error(self.path, exc)) from None
        if not isinstance(data, bytes):
            if data is None:  # non-blocking stream with nothing ready: treat as the end
                return b""
            data = bytes(data)
        return data

    def _start(self) -> Iterator[PcapRecord]:
        head = self._read(4)
        if not head:
            raise PcapError(f"{self.path} is empty (not a pcap or pcapng file)")
        if len(head) < 4:
            raise PcapError(f"{self.path} is too short to be a pcap or pcapng file")
        if head == SHB_MAGIC:
            return self._start_pcapng(head)
        byteorder, magic = pcap_magic_info(head)
        if magic:
            return self._start_pcap(head, byteorder, magic)
        if head[:2] == b"\x1f\x8b":
            raise PcapError(f"{self.path} is gzip-compressed: decompress it first (gunzip)")
        raise PcapError(f"{self.path}: not a pcap or pcapng file")

    def _start_pcap(self, head: bytes, e: str, magic: int) -> Iterator[PcapRecord]:
        rest = self._read(PCAP_HEADER_LEN - 4)
        if len(rest) < PCAP_HEADER_LEN - 4:
            raise PcapError(f"{self.path}: truncated pcap file header")
        self.header = head + rest
        major, minor, _zone, _sigfigs, snaplen, network = struct.unpack(e + "HHiIII", rest)
        self.format = "pcap"
        self.byteorder = e
        self.magic = magic
        self.version = (major, minor)
        self.snaplen = snaplen
        self.linktype = network & 0xFFFF  # upper bits: FCS length flags
        self.nanosecond = magic == PCAP_MAGIC_NS
        self.interfaces.append(
            make_interface(self.linktype, snaplen, None, 9 if self.nanosecond else 6)
        )
        rec = struct.Struct(e + ("IIII8x" if magic == PCAP_MAGIC_MODIFIED else "IIII"))
        mult = 1 if self.nanosecond else 1000
        if _regular_file(self._fh):
            self._layout = Layout(e == "<", rec.size, mult)
            return self._pcap_file_records(self._layout)
        return self._pcap_records(rec, mult)

    def _start_pcapng(self, head: bytes) -> Iterator[PcapRecord]:
        from tapwatch.pcap.pcapng_reader import PcapngReader

        self.format = "pcapng"
        reader = PcapngReader(self, self._fh, head)
        reader.read_header()
        if not self.interfaces:
            if self.truncated:
                raise PcapError(f"{self.path}: truncated pcapng header")
            raise PcapError(f"{self.path}: pcapng file has no interface description (no packets)")
        first_if = self.interfaces[0]
        self.linktype = first_if.linktype
        self.snaplen = first_if.snaplen
        self.ifname = first_if.name
        self.nanosecond = first_if.units_per_second > 1_000_000
        return reader.records()

    # -- classic pcap records --------------------------------------------------

    def _pcap_records(self, rec: struct.Struct, mult: int) -> Iterator[PcapRecord]:
        """Two buffered reads per record: measured faster here than slicing records out of
        a window (bench/NOTES.md); ``read(n)`` returns as soon as n bytes have arrived."""
        read = self._fh.read
        hsize = rec.size
        unpack = rec.unpack
        new = tuple.__new__  # PcapRecord(...) would run a Python-level __new__
        n = 0
        try:
            while True:
                h = read(hsize)
                if len(h) < hsize:
                    if h:
                        self.truncated = True
                    return
                sec, frac, caplen, orig = unpack(h)
                if caplen > MAX_CAPLEN:
                    raise PcapError(
                        f"{self.path}: record {n + 1}{self._offset(-hsize)} claims {caplen} "
                        f"captured bytes, over the {MAX_CAPLEN}-byte limit (corrupt file)"
                    )
                data = read(caplen)
                if len(data) < caplen:
                    self.truncated = True
                    return
                n += 1
                yield new(
                    PcapRecord, (sec * 1_000_000_000 + frac * mult, data, orig, None, 0, None)
                )
        except OSError as exc:
            raise PcapError(describe_read_error(self.path, exc)) from None
        except (TypeError, ValueError, struct.error) as exc:  # odd streams (None reads...)
            raise PcapError(f"{self.path}: unreadable record {n + 1} ({exc})") from None
        finally:
            self.count = n
            self.close()

    def _pcap_file_records(self, lay: Layout) -> Iterator[PcapRecord]:
        """A regular file's records, read in windows by the compiled loop (:mod:`records`)."""
        st = Pass(PCAP_HEADER_LEN)

        def end() -> None:
            self.count = st.count
            if st.truncated:
                self.truncated = True
            self.close()

        def convert(exc: Exception) -> Exception:
            if isinstance(exc, BadRecord):
                return PcapError(
                    f"{self.path}: record {exc.number} at offset {exc.offset} claims "
                    f"{exc.caplen} captured bytes, over the {MAX_CAPLEN}-byte limit (corrupt file)"
                )
            if isinstance(exc, OSError):
                return PcapError(describe_read_error(self.path, exc))
            return PcapError(f"{self.path}: unreadable record {st.count + 1} ({exc})")

        return read_records(self._fh.read, lay, st, end, convert)

    def _offset(self, delta: int) -> str:
        """Where the stream is, plus ``delta``, as " at offset N"; empty when the stream
        cannot tell (a pipe: the record number names the place then)."""
        try:
            return f" at offset {self._fh.tell() + delta}"
        except (OSError, ValueError):
            return ""

    # -- ranges of records (printing in several processes) -----------------------

    def chunks(self, per_chunk: int) -> Iterator[Chunk] | None:
        """The records as runs of up to ``per_chunk`` whole records, instead of one by one.

        For decoding a file in several processes: :meth:`read_chunk` reads a run
        back (in any process that has this file open).  Only a classic pcap
        regular file that has not been iterated can be read this way; otherwise
        None.  The same checks as iterating: a corrupt record raises
        :class:`PcapError` after the runs before it, a cut-short last record sets
        ``truncated``; ``count`` is final once the runs are exhausted.
        """
        lay = self._layout
        if lay is None or self.count:
            return None
        self._records = iter(())  # one pass: the records are the runs' now
        st = Pass(PCAP_HEADER_LEN)
        return self._chunks(lay, st, per_chunk)

    def _chunks(self, lay: Layout, st: Pass, per_chunk: int) -> Iterator[Chunk]:
        try:
            yield from scan(self._read, lay, st, per_chunk)
        except BadRecord as exc:
            raise PcapError(
                f"{self.path}: record {exc.number} at offset {exc.offset} claims "
                f"{exc.caplen} captured bytes, over the {MAX_CAPLEN}-byte limit (corrupt file)"
            ) from None
        finally:
            self.count = st.count
            if st.truncated:
                self.truncated = True

    def read_chunk(self, chunk: Chunk) -> list[tuple[int, bytes, int]]:
        """``(ts_ns, data, orig_len)`` of the records of one of :meth:`chunks`' runs."""
        assert self._layout is not None
        try:
            data = os.pread(self._fh.fileno(), chunk.end - chunk.start, chunk.start)
        except OSError as exc:
            raise PcapError(describe_read_error(self.path, exc)) from None
        return parse(data, self._layout)

    # -- public ---------------------------------------------------------------

    def progress(self) -> float | None:
        """How far through the file reading is (0..1), None for a pipe or stream."""
        try:
            size = os.fstat(self._fh.fileno()).st_size
            if size <= 0 or not hasattr(self._fh, "tell"):
                return None
            return min(1.0, self._fh.tell() / size)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None

    def __iter__(self) -> Iterator[PcapRecord]:
        return self._records

    def close(self) -> None:
        """Release the file if we opened it; a caller's stream is left open."""
        if self._owned:
            self._owned = False
            with contextlib.suppress(OSError):
                self._fh.close()
        elif self._wrapped:
            self._wrapped = False
            with contextlib.suppress(OSError, ValueError):
                self._fh.detach()  # type: ignore[attr-defined]

    def __enter__(self) -> CaptureFile:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<CaptureFile {self.path} {self.format} {linktype_name(self.linktype)} "
            f"count={self.count}{' truncated' if self.truncated else ''}>"
        )


def _regular_file(fh: IO[bytes]) -> bool:
    """Whether ``fh`` reads a regular file from just after the classic pcap header (then the
    windowed loop may read ahead: nothing is waiting to arrive)."""
    try:
        return stat.S_ISREG(os.fstat(fh.fileno()).st_mode) and fh.tell() == PCAP_HEADER_LEN
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def read_capture(source: str | os.PathLike[str] | BinaryIO) -> CaptureFile:
    """Open a pcap or pcapng capture (path, ``"-"`` for stdin, or a binary stream).

    The header is parsed at once, so format errors surface here; packets are
    read lazily while iterating. Only ``PcapError`` ever escapes, whatever the
    bytes.
    """
    if isinstance(source, str) and source == "-":
        stdin = sys.stdin.buffer if sys.stdin is not None else None
        if stdin is None:
            raise PcapError("cannot read standard input: it is closed")
        return CaptureFile(stdin, "standard input", owned=False)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            fh = open(path, "rb", buffering=_READ_BUFFER)  # noqa: SIM115 - closed by CaptureFile
        except OSError as exc:
            raise PcapError(describe_read_error(path, exc)) from None
        return CaptureFile(fh, path, owned=True)
    if isinstance(source, io.TextIOBase) or not hasattr(source, "read"):
        raise PcapError("capture input must be a binary stream")
    name = getattr(source, "name", None)
    if isinstance(source, io.RawIOBase):
        # raw read() may return short counts on pipes; a BufferedReader loops.
        return CaptureFile(
            io.BufferedReader(source, _READ_BUFFER),
            name if isinstance(name, str) else "input stream",
            owned=False,
            wrapped=True,
        )
    return CaptureFile(source, name if isinstance(name, str) else "input stream", owned=False)
