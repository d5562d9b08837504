"""Capture files on disk: how outputs are created, whose they are, and which inputs they spare.

Captures hold secrets (passwords in clear, session cookies, DNS history), so a
file tapwatch creates is mode 0600, as Wireshark's dumpcap makes them; under
``sudo`` it is handed to the invoking user, as tcpdump does, so the user can
read and delete it without sudo.

An output is never truncated before it is known not to be an input:
``tapwatch -r X -w ./X`` (or ``-w`` naming a symlink or a hard link to X)
would otherwise destroy X before reading it. The file is opened without
``O_TRUNC``, its device and inode compared with those of every file being
read, and only then truncated.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterable
from typing import IO, NamedTuple

from tapwatch.pcap.errors import PcapError, describe_write_error

#: Mode of the files tapwatch creates (before the umask, which can only narrow it).
FILE_MODE = 0o600
WRITE_BUFFER = 128 * 1024


class FileId(NamedTuple):
    """What makes two names the same file: device and inode. ``name`` is for messages only."""

    dev: int
    ino: int
    name: str = ""

    def same(self, st: os.stat_result) -> bool:
        """True when ``st`` (an ``os.stat``/``os.fstat`` result) describes this file."""
        return st.st_ino == self.ino and st.st_dev == self.dev


def file_id(source: int | str | os.PathLike[str] | IO[bytes], name: str = "") -> FileId | None:
    """The identity of a file (an fd, a path, or an open stream), None when it has none.

    Streams without a descriptor (``BytesIO``) and paths that do not exist have
    no identity, and need none: nothing on disk can be destroyed through them.
    """
    try:
        if isinstance(source, int):
            st = os.fstat(source)
        elif isinstance(source, (str, os.PathLike)):
            st = os.stat(source)
            name = name or os.fspath(source)
        else:
            st = os.fstat(source.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return FileId(st.st_dev, st.st_ino, name)


_owner: tuple[int, int] | None = None


def give_files_to(uid: int, gid: int) -> None:
    """Files created from now on belong to this user (``-Z USER``), not to the sudo user."""
    global _owner
    _owner = (uid, gid)


def chown_for_sudo(fd: int) -> None:
    """Give a file created as root to the user it is for, as tcpdump does.

    That is the ``-Z`` user when one was given, else the invoking user under
    sudo. Why: ``sudo tapwatch -w cap.pcap`` otherwise leaves a root-owned file
    the user cannot delete or overwrite without sudo. Only regular files are
    touched (never ``/dev/null`` or a FIFO), and failures (NFS root squash,
    vfat) are ignored: ownership is a courtesy, not a requirement.
    """
    if os.geteuid() != 0:
        return
    if _owner is not None:
        uid, gid = _owner
    else:
        try:
            uid = int(os.environ["SUDO_UID"])
            gid = int(os.environ["SUDO_GID"])
        except (KeyError, ValueError):
            return
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchown(fd, uid, gid)


def open_output(path: str, inputs: Iterable[FileId | None] = ()) -> IO[bytes]:
    """Open ``path`` for a new capture: created 0600, never one of ``inputs``, then emptied.

    Raises PcapError naming the input when ``path`` (through any symlink or
    hard link) is a file being read; the file is left untouched then.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise PcapError(describe_write_error(path, exc)) from None
    try:
        st = os.fstat(fd)
        for ident in inputs:
            if ident is not None and ident.same(st):
                shown = f" ({ident.name})" if ident.name and ident.name != path else ""
                raise PcapError(
                    f"refusing to write {path}: it is the capture being read{shown}; "
                    "choose another output file"
                )
        if stat.S_ISREG(st.st_mode):
            os.ftruncate(fd, 0)
            chown_for_sudo(fd)
        return open(fd, "wb", buffering=WRITE_BUFFER)  # the writer closes it
    except OSError as exc:
        os.close(fd)
        raise PcapError(describe_write_error(path, exc)) from None
    except BaseException:
        os.close(fd)
        raise
