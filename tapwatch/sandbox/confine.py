"""The walls around the child that evaluates one expression, built right after it is forked.

Weighing values before they are made (``b"x" * n``, ``1 << n``, ``"%9999999999d"``...) always
misses a type or an operator; limits on the whole process do not. The child gets:

* **bounded work**: an address-space limit a little above what it inherits from the
  server (a huge value is a ``MemoryError`` at once, not gigabytes being written), a CPU
  limit (the kernel kills it), the lowest scheduling priority (capture and the UI keep the
  processor), and the server's wall clock, which kills it whatever it is doing;
* **nothing to reach**, as root: its own empty network namespace (no interface but a
  loopback that is down: nothing can be sent, received or resolved, abstract UNIX sockets
  included) and IPC namespace, an empty deleted directory as its root (no file, no UNIX
  socket, no program to open or run), no supplementary groups and an unprivileged user
  and group of its own, no capability, ``no_new_privs`` (nothing regains one), no free file
  descriptor (``RLIMIT_NOFILE`` 3 with 0-2 taken: ``open`` and ``socket`` fail) and no
  new process (``RLIMIT_NPROC`` 0). As root without ``CAP_SYS_ADMIN`` (a container), and
  not running as root, the namespaces and the empty root are made in a user namespace of
  the child's own, where the kernel allows one; the limits and the guard hold anyway.

As root, a wall that does not stand is an error: the child then evaluates nothing (fail
closed).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import tempfile
from dataclasses import dataclass

#: The user and group the child runs as: one no account uses (``nobody`` is shared with
#: daemons a child could otherwise signal).
SANDBOX_ID = 2**31 - 2

_CAPABILITY_VERSION_3 = 0x20080522
_CLONE_NEWNET = 0x40000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


@dataclass(frozen=True)
class Limits:
    """How much one evaluation may use.

    ``memory`` is address space on top of what the child inherits (scapy's own ~80 MB);
    building a 64 KiB frame needs a few MB. ``cpu`` is whole seconds (the kernel's unit).
    ``wall`` is generous next to it because at the lowest priority a busy machine may
    give the child little of its time.
    """

    memory: int = 96 << 20
    cpu: int = 1
    wall: float = 5.0
    nice: int = 19


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def empty_root() -> int:
    """A descriptor of an empty directory that no longer has a name: the children's ``/``.

    Made once by the server; deleted at once, so that nothing can be created in it and
    nothing is left behind however the server ends.
    """
    path = tempfile.mkdtemp(prefix="tapwatch-sandbox-")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        os.fchmod(fd, 0o111)  # a child that is no longer root must still enter it
        return fd
    finally:
        os.rmdir(path)


def _drop_capabilities() -> None:
    """No capability left, in whatever user namespace the child is.

    Leaving root clears them already; in a user namespace of its own the child holds every
    capability over its empty network namespace (a raw socket there reaches nothing, but
    there is no reason to keep one).
    """
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), data), "capset")


def _chroot(root_fd: int) -> None:
    os.fchdir(root_fd)
    os.chroot(".")


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def confine(devnull_fd: int, root_fd: int, limits: Limits) -> tuple[str, ...]:
    """Confine this freshly forked child, whose fd 1 is already the pipe for its reply.

    Afterwards fds 0 and 2 are ``devnull_fd`` and no other descriptor is open. Returns
    the names of the walls that stand. Raises OSError if one that must stand (every one,
    as root) cannot be built.
    """
    root = os.geteuid() == 0
    walls = ["limits"]
    os.dup2(devnull_fd, 0)
    os.dup2(devnull_fd, 2)
    _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    os.setpriority(os.PRIO_PROCESS, 0, limits.nice)
    space = _address_space()
    flags = _CLONE_NEWNET | _CLONE_NEWIPC
    netns = root and _libc.unshare(flags) == 0
    if netns:
        _chroot(root_fd)  # while root may still chroot
    if root:
        os.setgroups([])
        os.setresgid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID)
        os.setresuid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID)
        if os.getresuid() != (SANDBOX_ID,) * 3 or os.getgroups():
            raise OSError("the child kept a privileged user or group")
        walls.append("unprivileged user")
    if not netns and _libc.unshare(flags | _CLONE_NEWUSER) == 0:
        # not root, or root without CAP_SYS_ADMIN (a container): a user namespace of its own
        netns = True
        _chroot(root_fd)
    if netns:
        walls += ["network namespace", "empty root"]
    elif root:
        raise OSError(f"no network namespace of its own: {os.strerror(ctypes.get_errno())}")
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    _drop_capabilities()
    walls.append("no capabilities")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    walls.append("no new privileges")
    for which, value in (
        (resource.RLIMIT_AS, space + limits.memory),
        (resource.RLIMIT_CPU, limits.cpu),  # SIGXCPU here, SIGKILL a second later
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_NOFILE, 3),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ):
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        resource.setrlimit(which, (value, hard))
    walls.append("no descriptors")
    return tuple(walls)
