"""Writing captures: classic pcap and pcapng, one or more interfaces, by hand for speed.

Why hand-written instead of scapy's writers: the writer sits on the capture hot
path (``-w`` runs for every packet the pump hands over), and importing scapy
alone costs ~1.2 s. A precompiled ``struct.Struct`` plus one
``BufferedWriter.write`` per packet keeps a write near a microsecond or less
(bench/pcap_bench.py; figures in bench/NOTES.md).

Interfaces: a writer starts with interface 0 (the link type and name it is
opened with); ``add_interface`` numbers more, 1, 2, ... in the order added,
at any time, also after packets. pcapng writes one interface description
block (IDB) per interface, each with its own link type and ``if_name``, and
each packet names its interface. Classic pcap has one link type per file: a
second interface of the same link type is accepted (its packets go in the same
file, its name is lost), a different one is refused with a PcapError that
suggests a ``.pcapng`` name.

Durability: the writer buffers (128 KiB), but flushes by itself when a write
happens at least ``FLUSH_INTERVAL`` (0.5 s) after the previous flush; checking
``time.monotonic()`` on every write costs ~60 ns, cheaper than any policy
that would miss slow traffic. A SIGKILLed tapwatch therefore leaves a file
that is complete up to the last flush (plus possibly a cut-off final record,
which the reader reports as ``truncated``). When writes stop, nothing runs by
itself: the owner flushes (a session's pump flushes an idle file, see
:class:`tapwatch.sinks.FileSink`).

Directions are the host's, as libpcap records them: a record's
:class:`~tapwatch.kinds.Direction` value *is* its pcapng ``epb_flags``
direction, so a tapwatch pcapng and a ``tcpdump -i any`` capture of the same
traffic agree. Classic pcap has no place for the direction.

Byte order: pcapng is always written little-endian. Classic pcap is written
little-endian by default; ``writer_like`` copies the byte order (and the whole
24-byte header) of the file it was read from, so ``-r A -w B`` is
byte-identical for classic pcap in either byte order.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
from collections.abc import Callable, Iterable, Sequence
from time import monotonic as _monotonic
from typing import IO, TYPE_CHECKING, BinaryIO, NamedTuple, Protocol, TypeVar

from tapwatch import __version__
from tapwatch.kinds import Direction
from tapwatch.linktypes import name as linktype_name
from tapwatch.pcap.errors import PcapError, RecordDoesNotFit, describe_write_error
from tapwatch.pcap.files import WRITE_BUFFER, FileId, check_stream, open_output
from tapwatch.pcap.formats import (
    BOM_LE,
    BT_EPB,
    BT_IDB,
    BT_SHB,
    DEFAULT_SNAPLEN,
    OPT_COMMENT,
    OPT_ENDOFOPT,
    OPT_EPB_FLAGS,
    OPT_IF_NAME,
    OPT_IF_TSRESOL,
    OPT_SHB_USERAPPL,
    PADS,
    PCAP_MAGIC_MODIFIED,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    pcap_magic_info,
)
from tapwatch.ring import MAX_INTERFACES, Record

if TYPE_CHECKING:
    from tapwatch.pcap.reader import CaptureFile, PcapRecord

#: The writer flushes on a write that comes this long (seconds) after the last flush.
FLUSH_INTERVAL = 0.5


class WriterInterface(NamedTuple):
    """One interface of a writer: its number is its index in ``writer.interfaces``."""

    linktype: int
    name: str | None


class CaptureWriter(Protocol):
    """What every capture writer offers: a single file (PcapWriter, PcapngWriter) or a
    rotating series (RotatingWriter); the session's pump writes through this."""

    format: str
    count: int
    interfaces: list[WriterInterface]

    @property
    def path(self) -> str | None: ...

    @property
    def closed(self) -> bool: ...

    def write(
        self,
        ts_ns: int,
        data: bytes,
        direction: int | None = Direction.OUTBOUND,
        orig_len: int | None = None,
        iface: int = 0,
    ) -> None: ...

    def add_interface(self, linktype: int, name: str | None = None) -> int: ...

    def flush(self) -> None: ...

    def flush_if_due(self) -> None: ...

    def close(self) -> None: ...


_W = TypeVar("_W", bound="ClosesOnExit")


class ClosesOnExit:
    """``with writer:`` closes it; when the block raised, a close error does not hide that."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            # the exception already in flight is the one to report
            with contextlib.suppress(PcapError):
                self.close()


class PacketWriter(ClosesOnExit):
    """Base of the pcap and pcapng writers: target handling, interfaces, flushing, errors.

    Not thread-safe: one thread (the session's pump) owns a writer. After an
    I/O error every further ``write``/``flush`` raises the same ``PcapError``
    and ``close`` releases the target quietly. A :class:`RecordDoesNotFit`
    from ``write`` wrote nothing and leaves the writer usable.

    ``inputs``: identities (:class:`~tapwatch.pcap.FileId`) of the files being
    read; a path target that is one of them is refused before it is touched.
    """

    format = ""
    #: Bytes a record adds to the file beyond its captured data (pcapng: before padding).
    RECORD_OVERHEAD = 0

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        linktype: int,
        *,
        snaplen: int = DEFAULT_SNAPLEN,
        ifname: str | None = None,
        truncate: bool = True,
        inputs: Iterable[FileId | None] = (),
    ) -> None:
        _check_linktype(linktype)
        if not 0 <= snaplen <= 0x7FFFFFFF:
            raise PcapError(f"snapshot length {snaplen} is out of range")
        self.linktype = linktype
        self.snaplen = snaplen
        self.ifname = ifname
        #: The interfaces packets may name, numbered by position (0 is the one opened with).
        self.interfaces: list[WriterInterface] = [WriterInterface(linktype, ifname)]
        self.count = 0
        self.path: str | None = None
        self._where = "output"
        self._fh: IO[bytes]
        self._owned = False  # we opened it: close it
        self._wrapped_raw = False  # we wrapped the caller's raw stream: detach, don't close
        self._closed = False
        self._error: PcapError | None = None
        self._deadline = 0.0
        self._nif = 1
        #: Packets longer than this are cut (orig_len keeps the real length).
        self._limit = snaplen if truncate and snaplen else sys.maxsize
        self._prepare()
        self._open(target, inputs)
        self._write = self._fh.write
        try:
            self._write(self._file_header())
        except OSError as exc:
            err = self._fail(exc)
            self._release()
            raise err from None
        # Header on disk at once: a capture killed before its first packet is
        # still a valid (empty) file rather than a zero-byte one.
        try:
            self.flush()
        except PcapError:
            self._release()
            raise

    # -- target ---------------------------------------------------------------

    def _open(
        self, target: str | os.PathLike[str] | BinaryIO, inputs: Iterable[FileId | None]
    ) -> None:
        if isinstance(target, str) and target == "-":
            check_stream(1, "standard output", inputs)
            self._open_stdout()
            return
        if isinstance(target, (str, os.PathLike)):
            path = os.fspath(target)
            self.path = path
            self._where = path
            self._fh = open_output(path, inputs)
            self._owned = True
            return
        if isinstance(target, io.TextIOBase):
            raise PcapError("capture output must be a binary stream, not a text stream")
        if not hasattr(target, "write"):
            raise PcapError(f"cannot write packets to {target!r}")
        name = getattr(target, "name", None)
        self.path = name if isinstance(name, str) else None
        self._where = self.path or "output stream"
        check_stream(target, self._where, inputs)
        if isinstance(target, io.RawIOBase):
            # raw write() may write partially; a BufferedWriter loops for us.
            self._fh = io.BufferedWriter(target, buffer_size=WRITE_BUFFER)
            self._wrapped_raw = True
        else:
            self._fh = target

    def _open_stdout(self) -> None:
        self.path = "-"
        self._where = "standard output"
        try:
            if os.isatty(1):
                raise PcapError(
                    "refusing to write binary capture data to a terminal; "
                    "redirect it (-w - | tshark -r -, or -w - > FILE)"
                )
        except OSError as exc:
            raise PcapError(f"cannot write standard output: {exc.strerror or exc}") from None
        try:
            if sys.stdout is not None:
                sys.stdout.flush()  # keep anything printed before ahead of the header
        except (OSError, ValueError):
            pass
        # Our own buffer over fd 1 with closefd=False: close() flushes it and
        # leaves fd 1 (and sys.stdout) to the interpreter.
        try:
            self._fh = open(1, "wb", buffering=WRITE_BUFFER, closefd=False)  # noqa: SIM115
        except OSError as exc:
            raise PcapError(describe_write_error(self._where, exc)) from None
        self._owned = True

    # -- format hooks ---------------------------------------------------------

    def _prepare(self) -> None:
        """Set up what ``write`` needs (precompiled structs), before the file is opened."""

    def _file_header(self) -> bytes:
        raise NotImplementedError

    def _interface_added(self, iface: WriterInterface) -> None:
        """Record a new interface in the file (pcapng: an IDB); raise PcapError to refuse it."""
        raise NotImplementedError

    def write(
        self,
        ts_ns: int,
        data: bytes,
        direction: int | None = Direction.OUTBOUND,
        orig_len: int | None = None,
        iface: int = 0,
    ) -> None:
        """Append one packet: ``ts_ns`` since the epoch, ``data`` as captured, on ``iface``."""
        raise NotImplementedError

    # -- interfaces -----------------------------------------------------------

    def add_interface(self, linktype: int, name: str | None = None) -> int:
        """Declare one more interface and return its number (1, 2, ... in the order added).

        Allowed at any point, also after packets were written. Raises
        PcapError when the format cannot hold it (classic pcap and a second
        link type) or past 256 interfaces.
        """
        _check_linktype(linktype)
        if self._closed:
            raise PcapError(f"cannot write {self._where}: the capture writer is closed")
        if self._nif >= MAX_INTERFACES:
            raise PcapError(
                f"cannot write {self._where}: more than {MAX_INTERFACES} interfaces in one capture"
            )
        iface = WriterInterface(linktype, name)
        self._interface_added(iface)
        self.interfaces.append(iface)
        self._nif = len(self.interfaces)
        return self._nif - 1

    def _no_such_interface(self, iface: int) -> PcapError:
        return PcapError(
            f"cannot write {self._where}: interface {iface} was never added "
            f"(the capture has {self._nif})"
        )

    # -- buffering and errors -------------------------------------------------

    def _fail(self, exc: OSError) -> PcapError:
        """Remember an I/O failure; all later writes re-raise it."""
        err = PcapError(describe_write_error(self._where, exc))
        self._error = err

        def _raise(_chunk: bytes) -> int:
            raise err

        self._write = _raise
        return err

    def _does_not_fit(self, ts_ns: int, orig_len: int) -> RecordDoesNotFit:
        return RecordDoesNotFit(
            f"cannot write {self._where}: timestamp {ts_ns} ns or length {orig_len} "
            f"does not fit the {self.format} format",
            ts_ns,
            orig_len,
        )

    def tell(self) -> int:
        """Bytes written to the target so far, buffered ones included (a file position)."""
        try:
            return self._fh.tell()
        except (OSError, ValueError) as exc:
            raise PcapError(f"cannot tell the size of {self._where}: {exc}") from None

    def flush(self) -> None:
        """Push buffered packets to the OS. Harmless to call repeatedly or after close."""
        if self._closed:
            return
        if self._error is not None:
            raise self._error
        try:
            self._fh.flush()
        except OSError as exc:
            raise self._fail(exc) from None
        self._deadline = _monotonic() + FLUSH_INTERVAL

    def flush_if_due(self) -> None:
        """Flush when the last flush is ``FLUSH_INTERVAL`` old; for owners with an idle timer."""
        if _monotonic() >= self._deadline:
            self.flush()

    def close(self) -> None:
        """Flush and release the target; idempotent. Never closes fd 1 or a caller's stream."""
        if self._closed:
            return
        err: PcapError | None = None
        if self._error is None:
            try:
                self._fh.flush()
            except OSError as exc:
                err = self._fail(exc)
        self._closed = True

        def _raise_closed(_chunk: bytes) -> int:
            raise PcapError(f"cannot write {self._where}: the capture writer is closed")

        self._write = _raise_closed
        self._release()
        if err is not None:
            raise err

    def _release(self) -> None:
        self._closed = True
        try:
            if self._owned:
                self._fh.close()  # closefd=False for stdout: fd 1 stays open
            elif self._wrapped_raw:
                self._fh.detach()  # type: ignore[attr-defined]
        except (OSError, ValueError):
            pass  # already reported through _fail; the buffer is lost either way

    @property
    def closed(self) -> bool:
        """True once ``close`` ran (or opening failed)."""
        return self._closed

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._where} {linktype_name(self.linktype)} "
            f"count={self.count}{' closed' if self._closed else ''}>"
        )


def _check_linktype(linktype: int) -> None:
    if not 0 <= linktype <= 0xFFFF:
        raise PcapError(f"link type {linktype} cannot be stored in a capture file")


def _pcapng_name(where: str) -> str:
    """The name to suggest for the same capture in pcapng."""
    stem, ext = os.path.splitext(where)
    if ext.lower() in (".pcap", ".cap", ".dmp"):
        return stem + ".pcapng"
    return (where if where not in ("-", "output stream", "output") else "capture") + ".pcapng"


def _one_linktype(
    where: str, first: tuple[int, str | None], other: WriterInterface | tuple[int, str | None]
) -> PcapError:
    """Why classic pcap cannot hold ``other`` beside the first interface."""
    linktype, name = other
    return PcapError(
        f"cannot write {where}: classic pcap holds one link type, and "
        f"{name or 'the new interface'} is {linktype_name(linktype)} while "
        f"{first[1] or 'the first'} is {linktype_name(first[0])}; "
        f"write pcapng instead (-w {_pcapng_name(where)})"
    )


def check_holds(
    target: object,
    fmt: str | None,
    first: tuple[int, str | None],
    interfaces: Iterable[tuple[int, str | None]],
) -> None:
    """Raise PcapError when ``target``'s format cannot hold ``interfaces`` beside ``first``
    (classic pcap and a second link type): said before the file is opened, since opening
    an existing file truncates it and a refused capture must not cost the user their file."""
    if format_for(target, fmt) != "pcap":
        return
    for other in interfaces:
        if other[0] != first[0]:
            if isinstance(target, (str, os.PathLike)):
                where = "standard output" if target == "-" else os.fspath(target)
            else:
                where = getattr(target, "name", None) or "output stream"
            raise _one_linktype(str(where), first, other)


class PcapWriter(PacketWriter):
    """Classic libpcap format: 24-byte header, 16-byte record headers, no direction."""

    format = "pcap"
    RECORD_OVERHEAD = 16

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        linktype: int,
        *,
        snaplen: int = DEFAULT_SNAPLEN,
        nanosecond: bool = False,
        byteorder: str = "<",
        header: bytes | None = None,
        ifname: str | None = None,
        truncate: bool = True,
        inputs: Iterable[FileId | None] = (),
    ) -> None:
        """``header``: a raw 24-byte pcap file header to write verbatim (see ``writer_like``);
        its magic decides byte order and resolution, overriding those arguments."""
        if header is not None:
            header = bytes(header)
            if len(header) != 24:
                raise PcapError("a pcap file header is 24 bytes")
            byteorder, magic = pcap_magic_info(header[:4])
            if magic not in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
                raise PcapError("can only write the microsecond or nanosecond pcap format")
            nanosecond = magic == PCAP_MAGIC_NS
        if byteorder not in ("<", ">"):
            raise PcapError(f"byte order must be '<' or '>', not {byteorder!r}")
        self.nanosecond = nanosecond
        self.byteorder = byteorder
        self._header = header
        self._pack = struct.Struct(byteorder + "IIII").pack
        self._fdiv = 1 if nanosecond else 1000
        super().__init__(
            target, linktype, snaplen=snaplen, ifname=ifname, truncate=truncate, inputs=inputs
        )

    def _file_header(self) -> bytes:
        if self._header is not None:
            return self._header
        magic = PCAP_MAGIC_NS if self.nanosecond else PCAP_MAGIC_US
        return struct.pack(
            self.byteorder + "IHHiIII", magic, 2, 4, 0, 0, self.snaplen, self.linktype
        )

    def _interface_added(self, iface: WriterInterface) -> None:
        if iface.linktype != self.linktype:
            raise _one_linktype(self._where, (self.linktype, self.ifname), iface)

    def write(
        self,
        ts_ns: int,
        data: bytes,
        direction: int | None = Direction.OUTBOUND,
        orig_len: int | None = None,
        iface: int = 0,
    ) -> None:
        """Append one packet; longer than snaplen is cut, ``orig_len`` keeps the real size.

        The file has no interface numbers: ``iface`` is only checked.
        """
        # the same first lines as PcapngWriter.write: a shared helper would cost a call
        # per packet on the capture's hot path
        n = len(data)
        if orig_len is None:
            orig_len = n
        if n > self._limit:
            n = self._limit
            data = data[:n]
        if iface and not 0 <= iface < self._nif:
            raise self._no_such_interface(iface)
        sec, frac = divmod(ts_ns, 1_000_000_000)
        try:
            self._write(self._pack(sec, frac // self._fdiv, n, orig_len) + data)
        except struct.error:
            raise self._does_not_fit(ts_ns, orig_len) from None
        except OSError as exc:
            raise self._fail(exc) from None
        self.count += 1
        if _monotonic() >= self._deadline:
            self.flush()


class PcapngWriter(PacketWriter):
    """pcapng: SHB, one IDB per interface (if_name, if_tsresol=9), one EPB with epb_flags
    per packet.

    Timestamps are always nanoseconds (``if_tsresol`` 9): tapwatch stamps in
    ns, and pcapng lets us keep them at no cost.
    """

    format = "pcapng"
    RECORD_OVERHEAD = 44  # 28 fixed + 8 epb_flags + 4 endofopt + 4 total; then data + padding
    nanosecond = True
    byteorder = "<"

    def _prepare(self) -> None:
        self._head = struct.Struct("<7I").pack  # type, total, ifid, ts hi, ts lo, caplen, origlen
        # data padding + epb_flags option + opt_endofopt + total length, one struct per
        # padding size so the padding costs no extra concatenation
        self._tails = tuple(struct.Struct(f"<{pad}xHHIII").pack for pad in range(4))

    @staticmethod
    def _option(code: int, value: bytes) -> bytes:
        return struct.pack("<HH", code, len(value)) + value + PADS[len(value) & 3]

    @staticmethod
    def _block(btype: int, body: bytes) -> bytes:
        total = 12 + len(body)
        return struct.pack("<II", btype, total) + body + struct.pack("<I", total)

    def _idb(self, iface: WriterInterface) -> bytes:
        opts = b""
        if iface.name:
            # if_name is at most 65535 bytes (a 16-bit option length); names are short
            opts += self._option(OPT_IF_NAME, iface.name.encode("utf-8", "replace")[:0xFFFF])
        opts += self._option(OPT_IF_TSRESOL, b"\x09")
        opts += struct.pack("<HH", OPT_ENDOFOPT, 0)
        return self._block(BT_IDB, struct.pack("<HHI", iface.linktype, 0, self.snaplen) + opts)

    def _file_header(self) -> bytes:
        shb_opts = self._option(OPT_SHB_USERAPPL, f"tapwatch {__version__}".encode())
        shb_opts += struct.pack("<HH", OPT_ENDOFOPT, 0)
        shb = self._block(BT_SHB, BOM_LE + struct.pack("<HHq", 1, 0, -1) + shb_opts)
        return shb + b"".join(self._idb(iface) for iface in self.interfaces)

    def _interface_added(self, iface: WriterInterface) -> None:
        try:
            self._write(self._idb(iface))
        except OSError as exc:
            raise self._fail(exc) from None

    def write(
        self,
        ts_ns: int,
        data: bytes,
        direction: int | None = Direction.OUTBOUND,
        orig_len: int | None = None,
        iface: int = 0,
    ) -> None:
        """Append one EPB on interface ``iface``; ``direction`` (a Direction value) is its
        epb_flags direction."""
        n = len(data)
        if orig_len is None:
            orig_len = n
        if n > self._limit:
            n = self._limit
            data = data[:n]
        if iface and not 0 <= iface < self._nif:
            raise self._no_such_interface(iface)
        pad = -n & 3
        total = 44 + n + pad  # 28 fixed + data + pad + 8 epb_flags + 4 endofopt + 4 total
        flags = direction & 3 if direction else 0
        try:
            self._write(
                self._head(BT_EPB, total, iface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, n, orig_len)
                + data
                + self._tails[pad](OPT_EPB_FLAGS, 4, flags, 0, total)
            )
        except struct.error:
            raise self._does_not_fit(ts_ns, orig_len) from None
        except OSError as exc:
            raise self._fail(exc) from None
        self.count += 1
        if _monotonic() >= self._deadline:
            self.flush()

    def write_commented(
        self, ts_ns: int, data: bytes, direction: int | None, iface: int, comment: str
    ) -> None:
        """One EPB with an opt_comment too (Wireshark shows it as the packet's comment):
        an interface event's words, which say more than its message alone (the MTU it
        had before). Not on the packets' path: events are few."""
        n = min(len(data), self._limit)
        if iface and not 0 <= iface < self._nif:
            raise self._no_such_interface(iface)
        text = comment.encode("utf-8", "replace")[:0xFFFF]
        opts = self._option(OPT_COMMENT, text)
        opts += struct.pack("<HHI", OPT_EPB_FLAGS, 4, direction & 3 if direction else 0)
        opts += struct.pack("<HH", OPT_ENDOFOPT, 0)
        body = struct.pack("<5I", iface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, n, len(data))
        try:
            block = self._block(BT_EPB, body + data[:n] + PADS[n & 3] + opts)
            self._write(block)
        except struct.error:
            raise self._does_not_fit(ts_ns, len(data)) from None
        except OSError as exc:
            raise self._fail(exc) from None
        self.count += 1


def format_for(target: object, fmt: str | None) -> str:
    """The format to write: ``fmt``, else pcapng for a ``.pcapng`` name, else classic pcap."""
    if fmt is None:
        if isinstance(target, (str, os.PathLike)):
            return "pcapng" if os.fspath(target).lower().endswith(".pcapng") else "pcap"
        return "pcap"
    if fmt not in ("pcap", "pcapng"):
        raise PcapError(f"unknown capture format {fmt!r} (use pcap or pcapng)")
    return fmt


def open_writer(
    target: str | os.PathLike[str] | BinaryIO,
    linktype: int,
    *,
    ifname: str | None = None,
    fmt: str | None = None,
    nanosecond: bool = False,
    snaplen: int = DEFAULT_SNAPLEN,
    inputs: Iterable[FileId | None] = (),
) -> PacketWriter:
    """Open a capture writer. ``target`` is a path, ``"-"`` (stdout) or a binary stream.

    ``linktype``/``ifname`` are interface 0; add more with ``add_interface``.
    ``fmt`` None picks pcapng for a ``.pcapng`` suffix, classic pcap otherwise.
    ``nanosecond`` selects the ns-magic classic format; pcapng is always ns.
    ``inputs``: identities of the files being read (``CaptureFile.identity``),
    which a path target must not be. A caller-supplied stream is flushed but not
    closed by ``close()``.
    """
    if format_for(target, fmt) == "pcapng":
        return PcapngWriter(target, linktype, snaplen=snaplen, ifname=ifname, inputs=inputs)
    return PcapWriter(
        target, linktype, snaplen=snaplen, nanosecond=nanosecond, ifname=ifname, inputs=inputs
    )


def writer_like(
    capture: CaptureFile,
    target: str | os.PathLike[str] | BinaryIO,
    *,
    fmt: str | None = None,
    inputs: Iterable[FileId | None] = (),
) -> PacketWriter:
    """A writer that reproduces ``capture``'s format, so ``-r A -w B`` copies faithfully.

    The capture itself is always among the protected inputs: ``-w`` naming the
    file being read is refused. Classic pcap -> classic pcap copies the 24-byte
    header verbatim (magic, byte order, version, thiszone, sigfigs, snaplen,
    link type with FCS bits) and does not re-truncate, so with per-record
    ``orig_len`` the output is byte-identical. The modified (Kuznetzov) format is
    written as standard microsecond pcap in the same byte order. pcapng output
    keeps every interface (link type, name), snaplen, ns timestamps, directions
    and each packet's interface number, not the blocks. pcapng -> classic pcap
    takes interface 0's link type and refuses interfaces of another.
    """
    fmt = fmt or capture.format
    if fmt not in ("pcap", "pcapng"):
        raise PcapError(f"unknown capture format {fmt!r} (use pcap or pcapng)")
    protect = [capture.identity, *inputs]
    writer: PacketWriter
    if fmt == "pcap" and capture.format == "pcap":
        header = capture.header
        if capture.magic == PCAP_MAGIC_MODIFIED:
            header = struct.pack(capture.byteorder + "I", PCAP_MAGIC_US) + header[4:]
        return PcapWriter(
            target,
            capture.linktype,
            snaplen=min(capture.snaplen, 0x7FFFFFFF),  # informational: header is verbatim
            header=header,
            ifname=capture.ifname,
            truncate=False,
            inputs=protect,
        )
    # a copy never re-truncates: what the source holds was already within its snaplen
    snaplen = capture.snaplen if 0 < capture.snaplen <= 0x7FFFFFFF else DEFAULT_SNAPLEN
    if fmt == "pcapng":
        writer = PcapngWriter(
            target,
            capture.linktype,
            snaplen=snaplen,
            ifname=capture.ifname,
            truncate=False,
            inputs=protect,
        )
    else:
        writer = PcapWriter(
            target,
            capture.linktype,
            snaplen=snaplen,
            nanosecond=capture.nanosecond,
            ifname=capture.ifname,
            truncate=False,
            inputs=protect,
        )
    try:
        for iface in capture.interfaces[1:]:
            writer.add_interface(iface.linktype, iface.name)
    except PcapError:
        with contextlib.suppress(PcapError):
            writer.close()
        raise
    return writer


class _Described(Protocol):
    @property
    def linktype(self) -> int: ...

    @property
    def name(self) -> str | None: ...


def add_missing_interfaces(writer: CaptureWriter, interfaces: Sequence[_Described]) -> None:
    """Give ``writer`` the interfaces of ``interfaces`` (say ``CaptureFile.interfaces``) it
    does not have yet, in order, so the numbers stay the same on both sides.

    A pcapng file may describe an interface after packets; a copy calls this
    when a record names an interface the writer has not seen.
    """
    for iface in interfaces[len(writer.interfaces) :]:
        writer.add_interface(iface.linktype, iface.name)


class CopyResult(NamedTuple):
    """What ``copy_records`` did: packets written, and packets the output format could not
    hold (counted, not written)."""

    written: int
    skipped: int


def copy_records(
    capture: Iterable[PcapRecord] | CaptureFile,
    writer: CaptureWriter,
    *,
    keep: Callable[[PcapRecord], bool] | None = None,
    limit: int | None = None,
) -> CopyResult:
    """Copy a capture's records into ``writer`` (``-r A -w B``): timestamps, original
    lengths, directions and interfaces kept.

    ``keep`` chooses records (a filter; ``capture.interfaces[rec.iface].linktype``
    is each record's link type); ``limit`` stops after that many written (``-c``).
    A record the output cannot hold (``RecordDoesNotFit``, e.g. a pcapng timestamp
    before 1970 going to classic pcap) is skipped and counted; any other
    PcapError ends the copy. Interfaces the capture describes late are added to
    the writer as their first packet comes.
    """
    interfaces: Sequence[_Described] = getattr(capture, "interfaces", ())
    known = len(writer.interfaces)
    write = writer.write
    written = skipped = 0
    if limit is not None and limit <= 0:
        return CopyResult(0, 0)
    for rec in capture:
        if keep is not None and not keep(rec):
            continue
        if rec.iface >= known:
            add_missing_interfaces(writer, interfaces)
            known = len(writer.interfaces)
        try:
            write(rec.ts_ns, rec.data, rec.direction or 0, rec.orig_len, rec.iface)
        except RecordDoesNotFit:
            skipped += 1
            continue
        written += 1
        if limit is not None and written >= limit:
            break
    return CopyResult(written, skipped)


def export(
    path: str | os.PathLike[str] | BinaryIO,
    records: Iterable[Record],
    linktype: int,
    ifname: str | None = None,
    *,
    nanosecond: bool = False,
    interfaces: Iterable[tuple[int, str | None]] = (),
) -> int:
    """Write ring ``Record``s to ``path`` (format by suffix) and return how many were written.

    ``linktype``/``ifname`` are interface 0, ``interfaces`` the session's
    further ones (1, 2, ...), so each record keeps its interface. Used by the
    UI's export key; a failure closes the file and raises PcapError.
    """
    interfaces = list(interfaces)
    check_holds(path, None, (linktype, ifname), interfaces)
    writer = open_writer(path, linktype, ifname=ifname, nanosecond=nanosecond)
    try:
        for more_linktype, more_name in interfaces:
            writer.add_interface(more_linktype, more_name)
        write = writer.write
        for rec in records:
            write(rec.ts_ns, rec.data, rec.direction, None, rec.iface)
    except BaseException:
        with contextlib.suppress(PcapError):
            writer.close()
        raise
    writer.close()
    return writer.count
