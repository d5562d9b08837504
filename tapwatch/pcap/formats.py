"""The on-disk facts of classic pcap and pcapng that the reader and the writers share.

Magic numbers, block types and option codes come from the libpcap savefile
format and the pcapng specification (draft-ietf-opsawg-pcapng). The bounds are
libpcap's: a record over 256 KiB or a pcapng block over 16 MiB is corruption,
not a packet, and is refused before anything is allocated for it.
"""

from __future__ import annotations

import struct

#: Default snapshot length (libpcap's MAXIMUM_SNAPLEN).
DEFAULT_SNAPLEN = 262144
#: Largest captured length a record may claim when reading (libpcap's limit); beyond is corrupt.
MAX_CAPLEN = 262144
#: Largest pcapng block accepted when reading (libpcap's limit); beyond is corrupt.
MAX_BLOCK = 16 * 1024 * 1024
#: Options parsed per pcapng block; the rest of a longer list is ignored.
MAX_OPTIONS = 64

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
#: Alexey Kuznetzov's patched libpcap: 8 extra bytes per record header.
PCAP_MAGIC_MODIFIED = 0xA1B2CD34
PCAP_MAGICS = {PCAP_MAGIC_US: "us", PCAP_MAGIC_NS: "ns", PCAP_MAGIC_MODIFIED: "modified"}
PCAP_HEADER_LEN = 24

SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
BOM_LE = b"\x4d\x3c\x2b\x1a"
BOM_BE = b"\x1a\x2b\x3c\x4d"

# block types
BT_SHB = 0x0A0D0D0A  # the same number in both byte orders
BT_IDB = 1
BT_PB = 2  # obsolete Packet Block
BT_SPB = 3
BT_EPB = 6

# option codes
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
OPT_SHB_USERAPPL = 4
OPT_IF_NAME = 2
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
OPT_EPB_FLAGS = 2  # also the obsolete PB's pack_flags

#: epb_flags direction bits (0-1) -> Direction value (the same numbers), None when unknown.
DIRECTION_FOR_FLAGS = (None, 1, 2, None)

#: The timestamps (ns since 1970) a signed 64-bit clock holds, as the ring and every consumer
#: do: 1677-09-21 to 2262-04-11. pcapng allows far more (64-bit ticks of any resolution, plus
#: an offset in seconds); what lies beyond is clamped and said (:func:`clamp_timestamp`).
TS_MIN = -(1 << 63)
TS_MAX = (1 << 63) - 1


def clamp_timestamp(ts_ns: int, comment: str | None) -> tuple[int, str]:
    """A timestamp out of range, clamped to the nearest one that can be held, and the
    record's comment with a line that says so (the frame layer shows it)."""
    near = TS_MAX if ts_ns > TS_MAX else TS_MIN
    when = "after 2262-04-11" if ts_ns > TS_MAX else "before 1677-09-21"
    note = (
        f"tapwatch: the file's timestamp ({ts_ns} ns since 1970) is {when}, beyond what can "
        f"be held; shown clamped to {near} ns"
    )
    return near, f"{comment}\n{note}" if comment else note


#: Padding to the next multiple of 4, indexed by ``len % 4``.
PADS = (b"", b"\0\0\0", b"\0\0", b"\0")


def pcap_magic_info(raw: bytes) -> tuple[str, int]:
    """Byte order and magic of a classic pcap header, or ('', 0) when it is not one."""
    le = struct.unpack("<I", raw)[0]
    if le in PCAP_MAGICS:
        return "<", le
    be = struct.unpack(">I", raw)[0]
    if be in PCAP_MAGICS:
        return ">", be
    return "", 0
