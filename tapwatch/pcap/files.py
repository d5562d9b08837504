"""Capture files on disk: how outputs are opened, for whom, and which files they spare.

tapwatch runs as root, often through ``sudo``, and writes where it is told:
into a user's directory, into ``/tmp``. Every name on the way is someone's
input. An output is therefore opened the way tcpdump and dumpcap open theirs:

* the last component of the name is never followed as a symbolic link
  (``O_NOFOLLOW``): ``ln -s /etc/shadow ~/cap.pcap`` gets a refusal, not a
  truncated shadow file;
* a directory on the way is followed through a symbolic link only when the link
  belongs to root or to the user tapwatch runs for (``sudo``'s, ``-Z``'s):
  ``ln -s /etc ~/dir`` by another user makes ``-w ~/dir/x.pcap`` a refusal, not
  a file root creates in /etc. The directories are walked one by one, each
  opened without following a link, and the file is opened in the last one
  (``openat``), so no link can be swapped in between the look and the open;
* a new file is created exclusively (``O_EXCL``), mode 0600 (captures hold
  secrets: passwords in clear, cookies, DNS history), so nothing can be
  slipped in between the check and the creation;
* an existing file is written over only when it belongs to the *writing user*
  (``/dev/null`` excepted) and has no other names (hard links), and never when
  it is one of the files being read (``-r``, ``--replay``): what
  ``fs.protected_regular`` does for sticky directories, everywhere. A file
  another user pre-created in ``/tmp`` is refused, and so is ``-w`` naming the
  capture being read, through any symlink or hard link; it is left untouched
  either way. The writing user is the ``-Z`` user, else the user who ran
  ``sudo`` (the files are for them), else whoever tapwatch runs as;
* ownership is handed over (to the ``-Z`` user, or the ``sudo`` user, as
  tcpdump does) only for files tapwatch created itself in this run;
* with ``-Z USER``, outputs are opened with that user's credentials, also
  those opened while tapwatch is still root (the live ``-w`` opens before
  privileges are dropped): the kernel then checks that user's permissions, as
  it does for every file opened after the drop (rotation, the UI's write key).

The run's facts (who writes, which files are read, which files were created)
live in one :class:`OutputPolicy`; the command line sets it up once with
:func:`start_run`. Code that never calls it gets the defaults: the current
user (or the sudo user), no inputs beyond those passed to :func:`open_output`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import io
import os
import platform
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, NamedTuple

from tapwatch.pcap.errors import PcapError, describe_write_error

#: Mode of the files tapwatch creates (before the umask, which can only narrow it).
FILE_MODE = 0o600
WRITE_BUFFER = 128 * 1024

#: Opening an existing name: never through a symlink, never waiting on a FIFO nobody reads.
_OPEN_EXISTING = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
_CREATE = _OPEN_EXISTING | os.O_CREAT | os.O_EXCL


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


@dataclass(frozen=True)
class Writer:
    """The user outputs are written for: their ids, supplementary groups and name.

    ``assume``: open files with this user's credentials while tapwatch is root
    (``-Z``); otherwise root opens them and hands new ones over (``sudo``).
    """

    uid: int
    gid: int
    name: str
    groups: tuple[int, ...] = ()
    assume: bool = False


@dataclass
class OutputPolicy:
    """One run's rules for outputs: who writes, what is read, what this run made."""

    user: Writer | None = None  # -Z; None: the sudo user or whoever runs tapwatch
    inputs: list[FileId] = field(default_factory=list)
    created: set[tuple[int, int]] = field(default_factory=set)

    def writer(self) -> Writer:
        """The writing user: ``-Z``'s, else the one who ran sudo, else the process's own."""
        if self.user is not None:
            return self.user
        euid = os.geteuid()
        if euid == 0:
            try:
                uid, gid = int(os.environ["SUDO_UID"]), int(os.environ["SUDO_GID"])
            except (KeyError, ValueError):
                pass
            else:
                return Writer(uid, gid, user_name(uid))
        return Writer(euid, os.getegid(), user_name(euid))


_policy = OutputPolicy()


def policy() -> OutputPolicy:
    """This run's output policy (see :func:`start_run`)."""
    return _policy


def start_run(inputs: Iterable[str | None] = (), user: str | None = None) -> OutputPolicy:
    """Begin a run: ``inputs`` are the files it reads (paths, ``-`` for standard input),
    which no output may be; ``user`` is ``-Z``'s, whom outputs are written as and for.

    Called once, before anything is opened (the user is looked up while every
    file is still readable). Raises PcapError for an unknown user.
    """
    global _policy
    protected: list[FileId] = []
    for name in inputs:
        if not name:
            continue
        ident = file_id(0 if name == "-" else name, "standard input" if name == "-" else name)
        if ident is not None:
            protected.append(ident)
    writer = None
    if user is not None:
        import pwd

        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise PcapError(f"-Z {user}: no such user") from None
        try:
            groups = tuple(os.getgrouplist(pw.pw_name, pw.pw_gid))
        except OSError:
            groups = (pw.pw_gid,)
        writer = Writer(pw.pw_uid, pw.pw_gid, pw.pw_name, groups, assume=True)
    _policy = OutputPolicy(writer, protected)
    return _policy


def give_files_to(uid: int, gid: int) -> None:
    """Files created from now on are opened as, and belong to, this user (``-Z``)."""
    _policy.user = Writer(uid, gid, user_name(uid), (gid,), assume=True)


def user_name(uid: int) -> str:
    """A user's name for messages; ``uid N`` when the password database has none."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return f"uid {uid}"


# ----- acting as the -Z user while root -------------------------------------------------------

#: setgroups(2) by number: the C library's wrapper changes every thread, the call itself one.
_SYS_SETGROUPS = {"x86_64": 116, "aarch64": 159, "arm64": 159, "riscv64": 159}.get(
    platform.machine()
)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _set_thread_groups(libc: ctypes.CDLL, groups: Iterable[int]) -> None:
    if _SYS_SETGROUPS is None:
        return  # the thread keeps root's supplementary groups; uid and gid still change
    ids = list(groups)
    arr = (ctypes.c_uint * max(1, len(ids)))(*ids)
    if libc.syscall(_SYS_SETGROUPS, len(ids), arr) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


@contextlib.contextmanager
def _credentials(user: Writer) -> Iterator[None]:
    """This thread opens files as ``user`` (file-system ids and groups), then is root again.

    setfsuid/setfsgid and the raw setgroups call change the calling thread
    only, so capture threads running meanwhile keep root's rights. The kernel
    then checks the user's permissions on every directory on the way, as it
    would for tcpdump after ``-Z``.
    """
    if os.geteuid() != 0 or not user.assume or user.uid == 0:
        yield
        return
    libc = _libc()
    old_groups = os.getgroups()
    try:
        _set_thread_groups(libc, user.groups or (user.gid,))
        libc.setfsgid(user.gid)
        libc.setfsuid(user.uid)
        # both calls return the previous id; asking with -1 (invalid) tells the current one
        if libc.setfsuid(-1) != user.uid or libc.setfsgid(-1) != user.gid:
            raise PcapError(f"cannot open files as {user.name} (-Z): the system refused")
        yield
    finally:
        libc.setfsuid(0)
        libc.setfsgid(os.getegid())
        with contextlib.suppress(OSError):
            _set_thread_groups(libc, old_groups)


# ----- opening ------------------------------------------------------------------------------


def _refuse(path: str, why: str) -> PcapError:
    return PcapError(f"refusing to write {path}: {why}")


def _input_named(st: os.stat_result, inputs: Iterable[FileId | None]) -> FileId | None:
    for ident in inputs:
        if ident is not None and ident.same(st):
            return ident
    return None


def _is_input(path: str, ident: FileId) -> PcapError:
    shown = f" ({ident.name})" if ident.name and ident.name != path else ""
    return _refuse(path, f"it is the capture being read{shown}; choose another output file")


def _symlink(path: str, inputs: list[FileId | None]) -> PcapError:
    with contextlib.suppress(OSError):
        ident = _input_named(os.stat(path), inputs)
        if ident is not None:
            return _is_input(path, ident)
    return _refuse(
        path,
        "it is a symbolic link, and tapwatch never writes through one; "
        "name the file itself, or remove the link",
    )


def _is_devnull(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def _check_existing(
    path: str, st: os.stat_result, who: Writer, inputs: list[FileId | None]
) -> None:
    """Raise PcapError unless the existing file ``st`` may be written over by ``who``."""
    ident = _input_named(st, inputs)
    if ident is not None:
        raise _is_input(path, ident)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise PcapError(
            f"cannot write {path}: it is a directory (give a file name, e.g. {path}/out.pcap)"
        )
    if _is_devnull(st):
        return
    if stat.S_ISSOCK(mode):
        raise _refuse(path, "it is a socket, not a file; write to a file or to -w -")
    if (st.st_dev, st.st_ino) in _policy.created:
        return  # one of this run's own files (a -W ring starting over)
    if st.st_uid != who.uid:
        raise _refuse(
            path,
            f"it exists and belongs to {user_name(st.st_uid)}, not to {who.name} "
            "(tapwatch writes over its user's own files only); remove it or choose another name",
        )
    if stat.S_ISREG(mode) and st.st_nlink > 1:
        raise _refuse(
            path,
            f"it has {st.st_nlink} names (hard links), and writing it would change every one; "
            "remove it or choose another name",
        )


#: Links followed on the way to an output's directory, at most (the kernel's own limit).
_MAX_LINKS = 40
_WALK = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _link_owners(who: Writer) -> set[int]:
    """Whose symbolic links an output's path may go through: root's, the process's, the
    writing user's and the one who ran sudo (their own links lead where they chose)."""
    owners = {0, os.geteuid(), who.uid}
    with contextlib.suppress(KeyError, ValueError):
        owners.add(int(os.environ["SUDO_UID"]))
    return owners


def _directory_of(path: str, who: Writer) -> tuple[int, str]:
    """An ``O_PATH`` descriptor of the directory ``path``'s file is in, and the file's name.

    Why walk by hand: the kernel follows every link in the directories of a name, and a
    link another user made (``~eve/out -> /etc``) would choose where root creates a file.
    Each directory is opened without following a link; a link met is followed only when
    it belongs to someone in :func:`_link_owners`, else PcapError. The caller closes the
    descriptor.
    """
    head, name = os.path.split(path)
    cur = os.open("/" if path.startswith("/") else ".", _WALK)
    try:
        parts = head.split("/")
        parts.reverse()  # a stack: a link's target is pushed in front of what follows it
        links = 0
        owners: set[int] | None = None
        while parts:
            part = parts.pop()
            if part in ("", "."):
                continue
            try:
                fd = os.open(part, _WALK, dir_fd=cur)
            except OSError as exc:
                if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise
                st = os.stat(part, dir_fd=cur, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    raise
                owners = owners if owners is not None else _link_owners(who)
                if st.st_uid not in owners:
                    raise _refuse(
                        path,
                        f"{part} on the way is a symbolic link that belongs to "
                        f"{user_name(st.st_uid)}, and tapwatch follows no other user's link "
                        "to a directory; name the directory itself",
                    ) from None
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP)) from None
                target = os.readlink(part, dir_fd=cur)
                if target.startswith("/"):
                    fd = os.open("/", _WALK)
                    os.close(cur)
                    cur = fd
                parts.extend(reversed(target.split("/")))
                continue
            os.close(cur)
            cur = fd
    except BaseException:
        os.close(cur)
        raise
    return cur, name


def _open_fd(path: str, who: Writer, inputs: list[FileId | None]) -> tuple[int, bool]:
    """The open descriptor for ``path`` and whether this call created the file."""
    if not os.path.basename(path):  # "dir/": the kernel says what it is
        return os.open(path, _CREATE, FILE_MODE), True
    where, name = _directory_of(path, who)
    try:
        return _open_in(where, name, path, who, inputs)
    finally:
        os.close(where)


def _open_in(
    where: int, name: str, path: str, who: Writer, inputs: list[FileId | None]
) -> tuple[int, bool]:
    """:func:`_open_fd` in the directory ``where`` (a descriptor), for the file ``name``."""
    for _attempt in range(8):
        try:
            return os.open(name, _CREATE, FILE_MODE, dir_fd=where), True
        except FileExistsError:
            pass
        # there is something by that name: look before opening (a device must not even be
        # opened), open without following a link, then judge what was opened
        try:
            before = os.stat(name, dir_fd=where, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone meanwhile: create it after all
        if stat.S_ISLNK(before.st_mode):
            raise _symlink(path, inputs)
        _check_existing(path, before, who, inputs)
        try:
            fd = os.open(name, _OPEN_EXISTING, dir_fd=where)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _symlink(path, inputs) from None
            if exc.errno != errno.ENXIO or not stat.S_ISFIFO(before.st_mode):
                raise
            # the user's own FIFO with nobody reading yet: wait for its reader, as tcpdump
            fd = os.open(name, _OPEN_EXISTING & ~os.O_NONBLOCK, dir_fd=where)
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
                raise _refuse(path, "it was replaced while being opened; try again")
            _check_existing(path, st, who, inputs)
        except BaseException:
            os.close(fd)
            raise
        return fd, False
    raise _refuse(path, "it keeps appearing and vanishing; try again")


def check_stream(stream: int | IO[bytes], where: str, inputs: Iterable[FileId | None] = ()) -> None:
    """Refuse an output stream (``-w -``'s standard output) that is a file being read:
    ``tapwatch -r V -w - >> V`` would read its own output for ever."""
    ident = file_id(stream)
    if ident is None:
        return
    for known in (*_policy.inputs, *inputs):
        if known is not None and (known.dev, known.ino) == (ident.dev, ident.ino):
            where = "standard output" if where == "<stdout>" else where
            raise _refuse(
                where, f"it is the capture being read ({known.name}); choose another output"
            )


def open_output(path: str, inputs: Iterable[FileId | None] = ()) -> IO[bytes]:
    """Open ``path`` for a new capture, by the rules of this module; emptied, buffered.

    ``inputs``: files being read besides the run's own (see :func:`start_run`).
    Raises PcapError with one line that says why and what to do; the file
    named is left untouched then.
    """
    who = _policy.writer()
    protected: list[FileId | None] = [*_policy.inputs, *inputs]
    try:
        with _credentials(who):
            fd, created = _open_fd(path, who, protected)
    except OSError as exc:
        if who.assume and exc.errno in (errno.EACCES, errno.EPERM):
            raise PcapError(
                f"cannot write {path}: permission denied for {who.name} (-Z opens outputs "
                f"as that user): choose a directory {who.name} may write to"
            ) from None
        raise PcapError(describe_write_error(path, exc)) from None
    try:
        st = os.fstat(fd)
        if created:
            _policy.created.add((st.st_dev, st.st_ino))
            _hand_over(fd, who)
        elif stat.S_ISREG(st.st_mode):
            os.ftruncate(fd, 0)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return open(fd, "wb", buffering=WRITE_BUFFER)  # the writer closes it
    except OSError as exc:
        os.close(fd)
        raise PcapError(describe_write_error(path, exc)) from None
    except BaseException:
        os.close(fd)
        raise


def _hand_over(fd: int, who: Writer) -> None:
    """Give a file this run created to the user it is for, as tcpdump does under sudo.

    Why: ``sudo tapwatch -w cap.pcap`` otherwise leaves a root-owned file the
    user cannot delete or overwrite without sudo. Failures (NFS root squash,
    vfat) are ignored: ownership is a courtesy, not a requirement.
    """
    if os.geteuid() != 0 or who.uid == 0:
        return
    with contextlib.suppress(OSError):
        os.fchown(fd, who.uid, who.gid)
