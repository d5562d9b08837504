"""pcap and pcapng, written and read in pure Python: the capture files of tapwatch.

* :mod:`~tapwatch.pcap.writer`: ``open_writer`` / ``PcapWriter`` / ``PcapngWriter``
  (one or more interfaces, ~1 us a packet), ``writer_like`` (faithful copies),
  ``export`` (ring records to a file);
* :mod:`~tapwatch.pcap.rotate`: ``RotatingWriter``, tcpdump's ``-C``/``-W``/``-G``;
* :mod:`~tapwatch.pcap.reader`: ``read_capture`` -> ``CaptureFile`` of
  ``PcapRecord``s, streaming, bounded against hostile files;
  :mod:`~tapwatch.pcap.pcapng_reader` has one handler per pcapng block type;
* :mod:`~tapwatch.pcap.files`: how outputs are opened as root among strangers (never
  through a symlink, created exclusively and 0600, another user's file or a file
  being read refused, opened as the ``-Z`` user, new files handed to the sudo user):
  ``start_run``, ``open_output``, ``FileId``;
* :mod:`~tapwatch.pcap.errors`: ``PcapError`` and its kinds.

Speed figures live in bench/NOTES.md (measured with bench/pcap_bench.py).
"""

from __future__ import annotations

from tapwatch.pcap.errors import FileLimitReached, PcapError, RecordDoesNotFit
from tapwatch.pcap.files import (
    FILE_MODE,
    FileId,
    OutputPolicy,
    file_id,
    give_files_to,
    open_output,
    start_run,
)
from tapwatch.pcap.formats import (
    DEFAULT_SNAPLEN,
    MAX_BLOCK,
    MAX_CAPLEN,
    PCAP_MAGIC_MODIFIED,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
)
from tapwatch.pcap.reader import CaptureFile, Interface, PcapRecord, read_capture
from tapwatch.pcap.rotate import RotatingWriter, parse_file_size, rotation_name
from tapwatch.pcap.writer import (
    FLUSH_INTERVAL,
    CaptureWriter,
    CopyResult,
    PacketWriter,
    PcapngWriter,
    PcapWriter,
    WriterInterface,
    add_missing_interfaces,
    check_holds,
    copy_records,
    export,
    open_writer,
    writer_like,
)
from tapwatch.ring import MAX_INTERFACES

__all__ = [
    "DEFAULT_SNAPLEN",
    "FILE_MODE",
    "FLUSH_INTERVAL",
    "MAX_BLOCK",
    "MAX_CAPLEN",
    "MAX_INTERFACES",
    "PCAP_MAGIC_MODIFIED",
    "PCAP_MAGIC_NS",
    "PCAP_MAGIC_US",
    "CaptureFile",
    "CaptureWriter",
    "CopyResult",
    "FileId",
    "FileLimitReached",
    "Interface",
    "OutputPolicy",
    "PacketWriter",
    "PcapError",
    "PcapRecord",
    "PcapWriter",
    "PcapngWriter",
    "RecordDoesNotFit",
    "RotatingWriter",
    "WriterInterface",
    "add_missing_interfaces",
    "check_holds",
    "copy_records",
    "export",
    "file_id",
    "give_files_to",
    "open_output",
    "open_writer",
    "parse_file_size",
    "read_capture",
    "rotation_name",
    "start_run",
    "writer_like",
]
