"""Independent pcapng and pcap builders for tests (deliberately not using tapwatch.pcap).

Files built here check the reader against the format itself, not only against
tapwatch's own writer.
"""

from __future__ import annotations

import struct

LINKTYPE_RAW = 101


def ng_block(btype: int, body: bytes, e: str = "<") -> bytes:
    body += b"\0" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def ng_opt(code: int, value: bytes, e: str = "<") -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def ng_end(e: str = "<") -> bytes:
    return struct.pack(e + "HH", 0, 0)


def ng_shb(e: str = "<") -> bytes:
    return ng_block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1), e)


def ng_idb(linktype: int, snaplen: int = 0, opts: bytes = b"", e: str = "<") -> bytes:
    return ng_block(1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts, e)


def ng_epb(
    ifid: int, ts: int, data: bytes, opts: bytes = b"", e: str = "<", orig: int | None = None
) -> bytes:
    body = struct.pack(
        e + "5I", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data) if orig is None else orig
    )
    body += data + b"\0" * (-len(data) % 4) + opts
    return ng_block(6, body, e)


def ng_flags(direction_bits: int, e: str = "<") -> bytes:
    return ng_opt(2, struct.pack(e + "I", direction_bits), e) + ng_end(e)


def pcap_header(e: str, magic: int, snaplen: int = 65535, linktype: int = LINKTYPE_RAW) -> bytes:
    return struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
