"""The pcapng reader: a window over the stream, and one handler per block type.

The loop in :meth:`PcapngReader.records` finds each block, checks its length
against the bounds before reading it, and hands it to the handler for its type:
section header, interface description, enhanced / simple / obsolete packet
block; every other type (name resolution, statistics, decryption secrets,
custom...) is skipped. Adding a block type is one handler and one table entry.

The stream is read through a window (``refill``): one ``read1`` per ~1 MiB,
packets sliced straight out of it, and a block parsed as soon as its last byte
has arrived, so a live ``-r -`` pipe is never held back.

Why packet handlers are generators over *runs* of blocks: nearly every block
of a capture is an EPB, and a Python call per packet would cost a tenth of the
reading time; the EPB handler loops over the consecutive EPBs already in the
window and hands the next block back to the main loop.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

from tapwatch.pcap.errors import PcapError, describe_read_error
from tapwatch.pcap.formats import (
    BOM_BE,
    BOM_LE,
    BT_EPB,
    BT_IDB,
    BT_PB,
    BT_SHB,
    BT_SPB,
    DIRECTION_FOR_FLAGS,
    MAX_BLOCK,
    MAX_CAPLEN,
    MAX_OPTIONS,
    OPT_COMMENT,
    OPT_ENDOFOPT,
    OPT_EPB_FLAGS,
    OPT_IF_NAME,
    OPT_IF_TSOFFSET,
    OPT_IF_TSRESOL,
    TS_MAX,
    TS_MIN,
    clamp_timestamp,
)
from tapwatch.pcap.reader import Interface, PcapRecord, make_interface
from tapwatch.ring import MAX_INTERFACES

if TYPE_CHECKING:
    from tapwatch.pcap.reader import CaptureFile

_PACKET_BLOCKS = (BT_EPB, BT_SPB, BT_PB)
_CHUNK = 1024 * 1024  # window refill size

#: A packet block handler: (reader, window, offset of a complete block) -> records, new offset.
PacketHandler = Callable[["PcapngReader", bytes, int], Iterator[PcapRecord]]


def refill(read1: Callable[[int], bytes | None], buf: bytes, off: int, need: int) -> bytes:
    """``buf[off:]`` extended to at least ``need`` bytes (shorter only at the end of input).

    Why a window: one ``read1`` per ~1 MiB instead of two reads per block, and
    packets are sliced straight out of it. ``read1`` returns what is available,
    so a live pipe is never held back waiting for a full chunk: a block is
    parsed as soon as its last byte has arrived. ``need`` is checked against
    the bounds by the caller: nothing larger than a bounded block is gathered.
    """
    parts = [buf[off:]]
    have = len(parts[0])
    while have < need:
        more = read1(max(_CHUNK, need - have))
        if not more:
            break
        parts.append(more)
        have += len(more)
    return b"".join(parts)


class PcapngReader:
    """Parses one pcapng stream into a :class:`CaptureFile`'s header facts and records.

    State that outlives a block: the byte order of the current section, its
    interfaces (local number -> timestamp conversion and global number), the
    last timestamp (for SPBs), and the window ``buf`` whose byte 0 is at file
    offset ``pos``. Handlers read and update it.
    """

    def __init__(self, capture: CaptureFile, fh: IO[bytes], first: bytes) -> None:
        self.capture = capture
        self.path = capture.path
        self.read1: Callable[[int], bytes] = getattr(fh, "read1", fh.read)
        self.buf = first  # the 4 bytes the format sniffing already consumed
        self.off = 0
        self.pos = 0  # file offset of buf[0]
        self.count = 0
        self.last_ts = 0
        #: per interface of the current section: (mul, div, offset_ns, global number)
        self.section_ifaces: list[tuple[int, int, int, int]] = []
        #: every interface seen, to the numbers it got (several if a section repeats it)
        self._global: dict[Interface, list[int]] = {}
        self._set_byte_order("<")

    def _set_byte_order(self, e: str) -> None:
        self.e = e
        self.head = struct.Struct(e + "II").unpack_from
        self.u32 = struct.Struct(e + "I").unpack_from
        self.epb = struct.Struct(e + "7I").unpack_from
        self.flags_opt = struct.Struct(e + "HHI").unpack_from
        self.opt_head = struct.Struct(e + "HH").unpack_from

    # -- the window -----------------------------------------------------------

    def _have(self, need: int) -> bool:
        """Make ``buf[off:off + need]`` available; False at the end of the input."""
        if self.off + need <= len(self.buf):
            return True
        try:
            self.buf = refill(self.read1, self.buf, self.off, need)
        except OSError as exc:
            raise PcapError(describe_read_error(self.path, exc)) from None
        self.pos += self.off
        self.off = 0
        return len(self.buf) >= need

    def _where(self, off: int) -> str:
        return f"offset {self.pos + off}"

    # -- the main loop --------------------------------------------------------

    def _next_block(self) -> tuple[int, int] | None:
        """Type and length of the next block, all of it in the window; None at the end."""
        if not self._have(12):
            if len(self.buf) > self.off:
                self.capture.truncated = True
            return None
        buf, off = self.buf, self.off
        btype, total = self.head(buf, off)
        if btype == BT_SHB:  # the byte order is in the block: read it before the length
            bom = buf[off + 8 : off + 12]
            if bom == BOM_LE:
                self._set_byte_order("<")
            elif bom == BOM_BE:
                self._set_byte_order(">")
            else:
                raise PcapError(
                    f"{self.path}: bad byte-order magic in section header at {self._where(off)}"
                )
            total = self.u32(buf, off + 4)[0]
            if total < 28 or total & 3 or total > MAX_BLOCK:
                raise PcapError(
                    f"{self.path}: section header at {self._where(off)} has impossible length "
                    f"{total} (corrupt file)"
                )
        elif total < 12 or total & 3 or total > MAX_BLOCK:
            raise PcapError(
                f"{self.path}: block at {self._where(off)} has impossible length {total}"
                + (f", over the {MAX_BLOCK}-byte limit" if total > MAX_BLOCK else "")
                + " (corrupt file)"
            )
        if not self._have(total):
            self.capture.truncated = True
            return None
        buf, off = self.buf, self.off
        if self.u32(buf, off + total - 4)[0] != total:
            raise PcapError(f"{self.path}: corrupt block at {self._where(off)} (length mismatch)")
        return btype, total

    def read_header(self) -> None:
        """Run the non-packet blocks up to the first packet block (or the end), so the
        capture's interfaces are known before iteration starts."""
        self._guard(self._header_blocks)

    def _header_blocks(self) -> None:
        while (block := self._next_block()) is not None:
            btype, total = block
            if btype in _PACKET_BLOCKS:
                return
            self._other_block(btype, total)

    def records(self) -> Iterator[PcapRecord]:
        """Every packet, in file order; other blocks update the reader's state on the way."""
        try:
            while (block := self._next_block()) is not None:
                btype, total = block
                packets = _PACKET_HANDLERS.get(btype)
                if packets is None:
                    self._other_block(btype, total)
                    continue
                yield from packets(self, self.buf, self.off)
        except PcapError:
            raise
        except OSError as exc:
            raise PcapError(describe_read_error(self.path, exc)) from None
        except (TypeError, ValueError, IndexError, struct.error, OverflowError) as exc:
            raise PcapError(
                f"{self.path}: corrupt pcapng block at {self._where(self.off)} ({exc})"
            ) from None
        finally:
            self.capture.count = self.count
            self.capture.close()

    def _guard(self, step: Callable[[], None]) -> None:
        """Run ``step``, turning any parsing exception into a PcapError."""
        try:
            step()
        except PcapError:
            raise
        except (TypeError, ValueError, IndexError, struct.error, OverflowError) as exc:
            raise PcapError(
                f"{self.path}: corrupt pcapng block at {self._where(self.off)} ({exc})"
            ) from None

    def _other_block(self, btype: int, total: int) -> None:
        handler = _BLOCK_HANDLERS.get(btype)
        if handler is not None:
            handler(self, self.buf, self.off, total)
        self.off += total  # NRB, ISB, DSB, custom blocks...: skipped

    # -- non-packet blocks ----------------------------------------------------

    def section_header(self, buf: bytes, off: int, total: int) -> None:
        """SHB: a new section; byte order (already set) and interface numbering restart."""
        major, minor = self.opt_head(buf, off + 12)
        if major != 1:
            raise PcapError(
                f"{self.path}: unsupported pcapng version {major}.{minor} at {self._where(off)}"
            )
        self.section_ifaces = []
        cap = self.capture
        if not cap.header:
            cap.header = buf[off : off + total]
            cap.byteorder = self.e
            cap.version = (major, minor)

    def interface_description(self, buf: bytes, off: int, total: int) -> None:
        """IDB: one interface of this section, with its link type, name and resolution.

        The same interface described again in a later section (concatenated
        captures) keeps its number; more than 256 interfaces is refused.
        """
        if total < 20:
            raise PcapError(f"{self.path}: interface block at {self._where(off)} is too short")
        linktype, _reserved, snaplen = struct.unpack_from(self.e + "HHI", buf, off + 8)
        options = self._options(buf, off + 16, off + total - 4)
        raw_name = options.get(OPT_IF_NAME)
        name = None
        if raw_name is not None:
            name = raw_name.split(b"\0", 1)[0].decode("utf-8", "replace")
        resol_opt = options.get(OPT_IF_TSRESOL)
        offset_opt = options.get(OPT_IF_TSOFFSET)
        offset_s = 0
        if offset_opt is not None and len(offset_opt) >= 8:
            offset_s = struct.unpack(self.e + "q", offset_opt[:8])[0]
        iface = make_interface(linktype, snaplen, name, resol_opt[0] if resol_opt else 6, offset_s)
        in_section = {entry[3] for entry in self.section_ifaces}
        numbers = self._global.setdefault(iface, [])
        number = next((k for k in numbers if k not in in_section), None)
        if number is None:
            interfaces = self.capture.interfaces
            if len(interfaces) >= MAX_INTERFACES:
                raise PcapError(
                    f"{self.path}: interface block at {self._where(off)} is the file's "
                    f"{MAX_INTERFACES + 1}th interface; tapwatch reads at most {MAX_INTERFACES} "
                    "(corrupt file?)"
                )
            number = len(interfaces)
            interfaces.append(iface)
            numbers.append(number)
        self.section_ifaces.append((iface.mul, iface.div, iface.offset_ns, number))

    def _each_option(self, buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(code, value offset, value length) of each option in ``buf[start:end]``, leniently
        (a malformed tail just ends the list), at most MAX_OPTIONS of them."""
        opt_head = self.opt_head
        for _ in range(MAX_OPTIONS):
            if start + 4 > end:
                return
            code, length = opt_head(buf, start)
            if code == OPT_ENDOFOPT or start + 4 + length > end:
                return
            yield code, start + 4, length
            start += 4 + ((length + 3) & ~3)

    def _options(self, buf: bytes, start: int, end: int) -> dict[int, bytes]:
        """The first value of each option code."""
        out: dict[int, bytes] = {}
        for code, at, length in self._each_option(buf, start, end):
            out.setdefault(code, buf[at : at + length])
        return out

    # -- packet blocks --------------------------------------------------------

    def _interface(self, ifid: int, off: int) -> tuple[int, int, int, int]:
        if ifid >= len(self.section_ifaces):
            raise PcapError(
                f"{self.path}: packet at {self._where(off)} refers to undefined interface {ifid}"
            )
        return self.section_ifaces[ifid]

    def _too_big(self, what: str, off: int, caplen: int, room: int) -> PcapError:
        if caplen > MAX_CAPLEN:
            return PcapError(
                f"{self.path}: {what} at {self._where(off)} claims {caplen} captured bytes, "
                f"over the {MAX_CAPLEN}-byte limit (corrupt file)"
            )
        return PcapError(
            f"{self.path}: {what} at {self._where(off)} claims {caplen} bytes, holds {room} "
            "(corrupt file)"
        )

    def packet_options(self, buf: bytes, start: int, end: int) -> tuple[int | None, str | None]:
        """Direction (epb_flags / pack_flags) and comment(s) of a packet block's options."""
        direction = None
        comments: list[str] = []
        for code, at, length in self._each_option(buf, start, end):
            if code == OPT_EPB_FLAGS and length >= 4 and direction is None:
                direction = DIRECTION_FOR_FLAGS[self.u32(buf, at)[0] & 3]
            elif code == OPT_COMMENT:
                comments.append(buf[at : at + length].decode("utf-8", "replace"))
        return direction, "\n".join(comments) if comments else None

    def enhanced_packets(self, buf: bytes, off: int) -> Iterator[PcapRecord]:
        """EPBs: the run of consecutive, complete EPBs that starts at ``off`` (at least one).

        Stops at the first block that is not a complete EPB within the bounds and
        leaves it (at ``self.off``) to the main loop, which refills the window or
        reports the corruption.
        """
        blen = len(buf)
        epb = self.epb
        u32 = self.u32
        flags_opt = self.flags_opt
        ifaces = self.section_ifaces
        nif = len(ifaces)
        new = tuple.__new__  # PcapRecord(...) would run a Python-level __new__
        ts_max, ts_min = TS_MAX, TS_MIN
        first = off
        n = 0
        ts = self.last_ts
        try:
            while off + 28 <= blen:
                btype, total, ifid, hi, lo, caplen, orig = epb(buf, off)
                if btype != BT_EPB or total > blen - off or total & 3 or total > MAX_BLOCK:
                    break
                end = off + total - 4  # options end; then the trailing length
                if total < 32:
                    raise PcapError(f"{self.path}: packet block at {self._where(off)} is too short")
                if u32(buf, end)[0] != total:
                    break
                start = off + 28
                if start + caplen > end:
                    raise self._too_big("packet block", off, caplen, end - start)
                if caplen > MAX_CAPLEN:
                    raise self._too_big("packet block", off, caplen, end - start)
                if ifid >= nif:
                    self._interface(ifid, off)  # raises
                mul, div, offset, number = ifaces[ifid]
                opt = start + ((caplen + 3) & ~3)
                direction = None
                comment = None
                if opt + 8 <= end:
                    code, length, flags = flags_opt(buf, opt)
                    if code == OPT_EPB_FLAGS and length == 4 and end - opt <= 12:
                        direction = DIRECTION_FOR_FLAGS[flags & 3]  # the usual lone option
                    else:
                        direction, comment = self.packet_options(buf, opt, end)
                ts = ((hi << 32) | lo) * mul // div + offset
                if ts > ts_max or ts < ts_min:  # a hostile resolution or offset: never fatal
                    ts, comment = clamp_timestamp(ts, comment)
                n += 1
                off += total
                yield new(
                    PcapRecord,
                    (ts, buf[start : start + caplen], orig, direction, number, comment),
                )
            if off == first:  # a complete EPB shorter than its fixed fields
                raise PcapError(f"{self.path}: packet block at {self._where(off)} is too short")
        finally:
            self.off = off
            self.count += n
            self.last_ts = ts

    def simple_packet(self, buf: bytes, off: int) -> Iterator[PcapRecord]:
        """SPB: interface 0 of the section, no timestamp (the previous packet's is used)."""
        total = self.u32(buf, off + 4)[0]
        if total < 16:
            raise PcapError(f"{self.path}: simple packet block at {self._where(off)} is too short")
        if not self.section_ifaces:
            raise PcapError(f"{self.path}: packet at {self._where(off)} comes before any interface")
        _mul, _div, _offset, number = self.section_ifaces[0]
        snaplen = self.capture.interfaces[number].snaplen
        orig = self.u32(buf, off + 8)[0]
        caplen = min(orig, total - 16)
        if snaplen:
            caplen = min(caplen, snaplen)
        if caplen > MAX_CAPLEN:
            raise self._too_big("simple packet block", off, caplen, total - 16)
        self.off = off + total
        self.count += 1
        yield PcapRecord(self.last_ts, buf[off + 12 : off + 12 + caplen], orig, None, number)

    def packet(self, buf: bytes, off: int) -> Iterator[PcapRecord]:
        """Obsolete Packet Block: like an EPB with a 16-bit interface id and pack_flags."""
        total = self.u32(buf, off + 4)[0]
        if total < 32:
            raise PcapError(f"{self.path}: packet block at {self._where(off)} is too short")
        ifid, _drops, hi, lo, caplen, orig = struct.unpack_from(self.e + "HH4I", buf, off + 8)
        start = off + 28
        end = off + total - 4
        if start + caplen > end or caplen > MAX_CAPLEN:
            raise self._too_big("packet block", off, caplen, end - start)
        mul, div, offset, number = self._interface(ifid, off)
        direction, comment = self.packet_options(buf, start + ((caplen + 3) & ~3), end)
        ts = ((hi << 32) | lo) * mul // div + offset
        if ts > TS_MAX or ts < TS_MIN:
            ts, comment = clamp_timestamp(ts, comment)
        self.last_ts = ts
        self.off = off + total
        self.count += 1
        yield PcapRecord(
            self.last_ts, buf[start : start + caplen], orig, direction, number, comment
        )


#: Non-packet blocks with something to read; any other type is skipped.
_BLOCK_HANDLERS: dict[int, Callable[[PcapngReader, bytes, int, int], None]] = {
    BT_SHB: PcapngReader.section_header,
    BT_IDB: PcapngReader.interface_description,
}
#: Packet blocks: generators of records.
_PACKET_HANDLERS: dict[int, PacketHandler] = {
    BT_EPB: PcapngReader.enhanced_packets,
    BT_SPB: PcapngReader.simple_packet,
    BT_PB: PcapngReader.packet,
}
