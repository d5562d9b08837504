"""Capture file errors, and the sentences that tell the user what to do about them."""

from __future__ import annotations

import errno
import os

from tapwatch.errors import TapwatchError


class PcapError(TapwatchError):
    """A capture file problem, with one clear user-facing message (never a traceback)."""


class RecordDoesNotFit(PcapError):
    """One packet cannot be stored in this file format (say a pcapng timestamp before 1970
    or after 2106 going to classic pcap); nothing was written and the writer stays usable,
    so a converter can count the packet as skipped and go on."""

    def __init__(self, message: str, ts_ns: int, orig_len: int) -> None:
        super().__init__(message)
        self.ts_ns = ts_ns
        self.orig_len = orig_len


class FileLimitReached(Exception):
    """A time-rotating writer (tcpdump's ``-G`` with ``-W N``) has written its N files.

    Not a :class:`PcapError`: tcpdump ends successfully at this point ("Maximum
    file limit reached"), and so should the capture that owns the writer.
    """


_DENIED_WRITE = "permission denied (choose a writable directory or fix its permissions)"
_DENIED_READ = "permission denied (fix its permissions or use sudo)"

#: errno -> what went wrong and what to do, for outputs and for inputs.
_WRITE_REASONS = {
    errno.ENOSPC: "no space left on device (free some space or write elsewhere)",
    errno.EDQUOT: "disk quota exceeded (free some space or write elsewhere)",
    errno.EIO: "input/output error (the disk failed; write elsewhere)",
    errno.EACCES: _DENIED_WRITE,
    errno.EPERM: _DENIED_WRITE,
    errno.ENOTDIR: "a component of the path is not a directory",
    errno.EROFS: "read-only file system (write elsewhere)",
    errno.EFBIG: "file too large for this file system (use -C/rotate or split)",
}
_READ_REASONS = {
    errno.ENOENT: "no such file",
    errno.EACCES: _DENIED_READ,
    errno.EPERM: _DENIED_READ,
    errno.EISDIR: "it is a directory, not a capture file",
    errno.EIO: "input/output error (the disk failed)",
}


def describe_write_error(where: str, exc: OSError) -> str:
    """Turn an OSError from opening/writing an output into a message that says what to do."""
    code = exc.errno
    if isinstance(exc, BrokenPipeError) or code == errno.EPIPE:
        if where == "standard output":
            return "output pipe closed (the program reading -w - exited)"
        return f"output pipe closed while writing {where} (its reader exited)"
    if code == errno.ENOENT:
        parent = os.path.dirname(where) or "."
        if not os.path.isdir(parent):
            return f"cannot write {where}: directory {parent} does not exist (create it first)"
        return f"cannot write {where}: no such file or directory"
    if code == errno.EISDIR:
        return f"cannot write {where}: it is a directory (give a file name, e.g. {where}/out.pcap)"
    return f"cannot write {where}: {_WRITE_REASONS.get(code or 0) or exc.strerror or exc}"


def describe_read_error(where: str, exc: OSError) -> str:
    """Same as ``describe_write_error`` for capture files being read."""
    return f"cannot read {where}: {_READ_REASONS.get(exc.errno or 0) or exc.strerror or exc}"
