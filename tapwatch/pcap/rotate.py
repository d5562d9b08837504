"""A capture written as a series of files, rotated as tcpdump's ``-C``, ``-W`` and ``-G`` do.

tcpdump's rules (tcpdump.c: ``MakeFilename``, ``dump_packet_and_trunc``), kept
exactly, so scripts written for tcpdump's file names work unchanged:

* ``-C SIZE`` (``file_size`` bytes): before each packet, if the current file is
  already *larger* than SIZE, close it and open the next. The files are
  ``NAME``, ``NAME1``, ``NAME2``... (the number appended to the whole name,
  suffix included).
* ``-W N`` with ``-C``: a ring of N files, numbered with as many digits as
  N - 1 has (``NAME0``..``NAME9`` for N=10, ``NAME00``.. for N=11..100; N=1 keeps
  the bare NAME); after file N - 1 comes file 0 again, overwritten.
* ``-G SECONDS``: NAME is a ``strftime`` pattern (``cap-%H%M%S.pcapng``),
  expanded with the local time the file was opened; before each packet, if
  SECONDS have passed since then (whole seconds of the wall clock, as tcpdump's
  ``time(NULL)``, not packet timestamps), the next file begins. With ``-W N``
  and no ``-C``: after N files the capture ends (:class:`FileLimitReached`).
* ``-G`` with ``-C``: size rotation inside each time slot, numbered from 0 with
  ``-W``'s digits (``-W`` then bounds the ring of each slot, not the slot count).

Every file is a whole capture: pcapng ones begin with their section header and
every interface description, classic ones with their file header. Files are
created as every tapwatch output is (mode 0600, handed to the sudo user, never
one of the files being read).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable

from tapwatch.kinds import Direction
from tapwatch.pcap.errors import FileLimitReached, PcapError
from tapwatch.pcap.files import FileId
from tapwatch.pcap.formats import DEFAULT_SNAPLEN
from tapwatch.pcap.writer import (
    ClosesOnExit,
    PacketWriter,
    PcapngWriter,
    PcapWriter,
    WriterInterface,
    format_for,
)

#: tcpdump's -C unit: millions of bytes; the k/m/g suffixes are binary (KiB, MiB, GiB).
_SIZE_UNITS = {"": 1_000_000, "k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024}


def parse_file_size(text: str) -> int:
    """tcpdump's ``-C`` argument in bytes: ``10`` is 10,000,000; ``10k``/``10m``/``10g`` are
    KiB/MiB/GiB (tcpdump accepts lower-case suffixes only)."""
    raw = text.strip()
    unit = raw[-1:] if raw[-1:] in ("k", "m", "g") else ""
    digits = raw[: len(raw) - len(unit)]
    if not digits.isdigit() or int(digits) <= 0:
        raise PcapError(f"invalid file size {text!r} (-C takes millions of bytes, e.g. 10 or 512k)")
    size = int(digits) * _SIZE_UNITS[unit]
    if size > 2**63 - 1:
        raise PcapError(f"file size {text} is too large")
    return size


def count_digits(file_count: int) -> int:
    """Digits of the file numbers in a ring of ``file_count`` files (tcpdump's getWflagChars)."""
    digits = 0
    n = file_count - 1
    while n > 0:
        digits += 1
        n //= 10
    return digits


def rotation_name(template: str, number: int, digits: int, when: float | None) -> str:
    """A file name as tcpdump makes it: ``template`` through ``strftime`` (when a time is given,
    that is with -G), then ``number`` with ``digits`` digits appended unless both are 0."""
    if not template:
        raise PcapError("an empty string is not a valid file name")
    name = time.strftime(template, time.localtime(when)) if when is not None else template
    if not name:
        raise PcapError(f"the file name pattern {template!r} expands to nothing")
    if number == 0 and digits == 0:
        return name
    return f"{name}{number:0{digits}d}"


class RotatingWriter(ClosesOnExit):
    """The :class:`~tapwatch.pcap.CaptureWriter` of ``-w NAME`` with ``-C``/``-W``/``-G``.

    ``file_size``: bytes (see :func:`parse_file_size`); ``file_count``: ``-W``;
    ``seconds``: ``-G``. At least one of ``file_size`` and ``seconds``.
    ``fmt`` None picks pcapng when NAME ends in ``.pcapng``. ``clock`` gives
    the wall-clock time (seconds) and is there for tests. ``on_new_file`` is
    called with each file's name after it is opened (the first one included).

    ``files`` lists the names opened so far, in order; ``path`` is the
    current one. ``count`` counts packets over all files. Once a ``-G -W``
    capture has its N files, ``finished`` is True and ``write`` raises
    :class:`FileLimitReached` (the packet is not written).
    """

    def __init__(
        self,
        name: str,
        linktype: int,
        *,
        ifname: str | None = None,
        fmt: str | None = None,
        nanosecond: bool = False,
        snaplen: int = DEFAULT_SNAPLEN,
        file_size: int | None = None,
        file_count: int | None = None,
        seconds: int | None = None,
        inputs: Iterable[FileId | None] = (),
        clock: Callable[[], float] = time.time,
        on_new_file: Callable[[str], None] | None = None,
    ) -> None:
        if name == "-" or not isinstance(name, str):
            raise PcapError("file rotation (-C/-G) needs a file name, not standard output")
        if file_size is not None and file_size <= 0:
            raise PcapError(f"invalid file size {file_size}")
        if file_count is not None and file_count <= 0:
            raise PcapError(f"invalid number of output files {file_count}")
        if seconds is not None and seconds <= 0:
            raise PcapError(f"invalid number of seconds {seconds}")
        if not file_size and not seconds:
            raise PcapError("file rotation needs a size (-C) or a time (-G)")
        self.template = name
        self.format = format_for(name, fmt)
        self.linktype = linktype
        self.ifname = ifname
        self.interfaces: list[WriterInterface] = [WriterInterface(linktype, ifname)]
        self.files: list[str] = []
        self.count = 0
        self.finished = False
        self._nanosecond = nanosecond
        self._snaplen = snaplen
        self._file_size = file_size or 0
        self._file_count = file_count or 0
        self._seconds = seconds or 0
        self._inputs = list(inputs)
        self._clock = clock
        self._on_new_file = on_new_file
        # tcpdump numbers size-rotated files only with -C, with -W's digits
        self._digits = count_digits(self._file_count) if self._file_size and self._file_count else 0
        self._size_number = 0  # Cflag_count
        self._slots = 0  # Gflag_count
        self._slot_start = int(clock())  # Gflag_time
        self._closed = False
        self._writer: PacketWriter | None = None
        self._size = 0
        self._open(0)

    # -- files ----------------------------------------------------------------

    def _open(self, number: int) -> None:
        when = self._slot_start if self._seconds else None
        path = rotation_name(self.template, number, self._digits, when)
        writer: PacketWriter
        first = self.interfaces[0]
        if self.format == "pcapng":
            writer = PcapngWriter(
                path, first.linktype, snaplen=self._snaplen, ifname=first.name, inputs=self._inputs
            )
        else:
            writer = PcapWriter(
                path,
                first.linktype,
                snaplen=self._snaplen,
                nanosecond=self._nanosecond,
                ifname=first.name,
                inputs=self._inputs,
            )
        try:
            for iface in self.interfaces[1:]:
                writer.add_interface(iface.linktype, iface.name)
            self._size = writer.tell()
        except PcapError:
            with contextlib.suppress(PcapError):
                writer.close()
            raise
        self._writer = writer
        self._pad = self.format == "pcapng"
        self._overhead = writer.RECORD_OVERHEAD
        self._limit = self._snaplen or sys.maxsize  # where the writer cuts packets
        self.files.append(path)
        if self._on_new_file is not None:
            self._on_new_file(path)

    def _close_current(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _rotate(self) -> None:
        """tcpdump's checks before a packet: the time slot first, then the size."""
        if self._seconds:
            now = int(self._clock())
            if now - self._slot_start >= self._seconds:
                self._slot_start = now
                self._slots += 1
                self._close_current()
                if not self._file_size and self._file_count and self._slots >= self._file_count:
                    self.finished = True
                    raise FileLimitReached(f"Maximum file limit reached: {self._file_count}")
                self._size_number = 0
                self._open(0)
        if self._file_size and self._size > self._file_size:
            self._close_current()
            self._size_number += 1
            if self._file_count and self._size_number >= self._file_count:
                self._size_number = 0
            self._open(self._size_number)

    # -- the writer interface -------------------------------------------------

    def write(
        self,
        ts_ns: int,
        data: bytes,
        direction: int | None = Direction.OUTBOUND,
        orig_len: int | None = None,
        iface: int = 0,
    ) -> None:
        """Append one packet, to a new file first when the size or the time says so."""
        writer = self._due()
        writer.write(ts_ns, data, direction, orig_len, iface)
        n = len(data)
        if n > self._limit:
            n = self._limit
        self._size += self._overhead + n + (-n & 3 if self._pad else 0)
        self.count += 1

    def _due(self) -> PacketWriter:
        """The file to write the next record to (a new one when the size or time says so)."""
        if self._writer is None or self._seconds or self._size > self._file_size:
            if self._closed:
                raise PcapError(f"cannot write {self.template}: the capture writer is closed")
            if self.finished:
                raise FileLimitReached(f"Maximum file limit reached: {self._file_count}")
            self._rotate()
        writer = self._writer
        assert writer is not None
        return writer

    def write_commented(
        self, ts_ns: int, data: bytes, direction: int | None, iface: int, comment: str
    ) -> None:
        """One record with its comment (pcapng; classic pcap has no place for one)."""
        writer = self._due()
        commented = getattr(writer, "write_commented", None)
        if commented is not None:
            commented(ts_ns, data, direction, iface, comment)
        else:
            writer.write(ts_ns, data, direction, None, iface)
        n = min(len(data), self._limit)
        self._size += self._overhead + n + 8 + len(comment.encode("utf-8", "replace"))
        self.count += 1

    def add_interface(self, linktype: int, name: str | None = None) -> int:
        """Declare one more interface (in this file and every later one); returns its number."""
        writer = self._writer
        if writer is None:
            raise PcapError(f"cannot write {self.template}: the capture writer is closed")
        number = writer.add_interface(linktype, name)
        self.interfaces.append(WriterInterface(linktype, name))
        self._size = writer.tell()
        return number

    @property
    def path(self) -> str | None:
        """The file being written now."""
        return self.files[-1] if self.files else None

    @property
    def closed(self) -> bool:
        return self._closed

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def flush_if_due(self) -> None:
        if self._writer is not None:
            self._writer.flush_if_due()

    def close(self) -> None:
        """Flush and close the current file; idempotent."""
        self._closed = True
        self._close_current()

    def __repr__(self) -> str:
        return f"<RotatingWriter {self.template} files={len(self.files)} count={self.count}>"
