"""tun/tap devices: create or attach through /dev/net/tun, configure with pyroute2.

A device created here is never made persistent (no TUNSETPERSIST), so the
kernel deletes it the moment tapwatch's descriptor closes, however tapwatch
exits — even on SIGKILL. An attached device was persistent before tapwatch
came and is left in place.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import socket
import stat
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

from tapwatch.errors import TapwatchError
from tapwatch.kinds import DeviceState
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
IFNAMSIZ = 16
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000


def cap_hint(cap: str = "CAP_NET_ADMIN") -> str:
    """Name the capability and the command that has it: the same command under sudo."""
    return f"this needs {cap}; {_root_hint()}"


class DeviceError(TapwatchError):
    """A device problem with a message that names the fix."""


class CannotAttach(DeviceError):
    """The device exists and cannot be attached to, but can be observed read-only."""


class DeviceBusy(CannotAttach):
    """Another program holds the device: attaching would take packets from it.

    A single-queue device refuses a second reader (TUNSETIFF says EBUSY). A
    multi-queue one accepts it and then spreads flows over the queues, so the
    program being debugged would lose whole flows: tapwatch refuses to attach
    to it, and observing it read-only is what is left.
    """


class PacketInfoDevice(CannotAttach):
    """The device was made with packet-info headers (IFF_NO_PI unset, as wireguard-go makes
    its own): tapwatch reads and writes bare frames only, so it observes it instead."""


Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def parse_addr(text: str) -> Interface:
    """Parse ``--addr`` (CIDR; a bare address gets /32 or /128)."""
    try:
        iface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise DeviceError(
            f"invalid address {text!r}: give an address with a prefix, "
            "e.g. 192.168.3.11/24 or fd00:3::1/64"
        ) from None
    return iface


def validate_name(name: str) -> str:
    """Linux interface names: 1-15 bytes, no '/', ':' or whitespace."""
    raw = name.encode("utf-8", "surrogateescape")
    if not raw:
        raise DeviceError("empty device name: give one such as tun1")
    if len(raw) > IFNAMSIZ - 1:
        raise DeviceError(
            f"device name {name!r} is {len(raw)} bytes; Linux allows at most 15 (e.g. tun1)"
        )
    if name in (".", "..") or any(c in name for c in "/: \t\n") or not name.isprintable():
        raise DeviceError(f"invalid device name {name!r}: no '/', ':' or whitespace allowed")
    return name


def ifindex(name: str) -> int:
    """The interface index in *this process's* network namespace, 0 if there is none.

    Deliberately not sysfs: /sys shows the namespace of whoever mounted it, which
    is wrong after --netns or --demo moved tapwatch into another namespace.
    """
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0


def exists(name: str) -> bool:
    """Whether a network interface of that name exists in this namespace."""
    return ifindex(name) != 0


@dataclass
class KernelLink:
    """The facts netlink gives about an interface that tapwatch decides on.

    The queue counts exist for multi-queue tun/tap devices only (the kernel
    reports none for single-queue ones): ``queues`` open descriptors that
    receive packets, ``disabled_queues`` open but detached ones - both are
    programs holding the device.
    """

    arphrd: int
    is_tun: bool
    tun_type: int  # 1 tun, 2 tap, 0 unknown
    pi: bool
    multi_queue: bool
    queues: int | None = None
    disabled_queues: int | None = None
    owner: int | None = None  # uid allowed to attach without CAP_NET_ADMIN (None: anyone capable)
    group: int | None = None
    up: bool = False  # IFF_UP: administratively up
    mtu: int | None = None
    txqueuelen: int | None = None

    @property
    def held_queues(self) -> int:
        """Queues some program holds open (multi-queue devices; 0 when unknown)."""
        return (self.queues or 0) + (self.disabled_queues or 0)


_NO_ID = 0xFFFFFFFF  # IFLA_TUN_OWNER / IFLA_TUN_GROUP when none was set (INVALID_UID)


def kernel_link(name: str) -> KernelLink | None:
    """Ask netlink what ``name`` is (None when it does not exist). Needs no privilege."""
    from pyroute2 import IPRoute

    index = ifindex(name)
    if not index:
        return None
    with IPRoute() as ipr:
        links = ipr.get_links(index)
    if not links:
        return None
    link = links[0]
    info = link.get("IFLA_LINKINFO")
    kind = info.get("IFLA_INFO_KIND") if info is not None else None
    data = info.get("IFLA_INFO_DATA") if info is not None else None

    def attr(key: str) -> int | None:
        value = data.get(key) if data is not None else None
        return None if value is None else int(value)

    owner, group = attr("IFLA_TUN_OWNER"), attr("IFLA_TUN_GROUP")
    return KernelLink(
        arphrd=int(link["ifi_type"]),
        is_tun=kind == "tun",
        tun_type=attr("IFLA_TUN_TYPE") or 0,
        pi=bool(attr("IFLA_TUN_PI")),
        multi_queue=bool(attr("IFLA_TUN_MULTI_QUEUE")),
        queues=attr("IFLA_TUN_NUM_QUEUES"),
        disabled_queues=attr("IFLA_TUN_NUM_DISABLED_QUEUES"),
        owner=None if owner in (None, _NO_ID) else owner,
        group=None if group in (None, _NO_ID) else group,
        up=bool(link["flags"] & IFF_UP),
        mtu=link.get("IFLA_MTU"),
        txqueuelen=link.get("IFLA_TXQLEN"),
    )


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


TUN_PATH = "/dev/net/tun"


def _tun_mode_text() -> str:
    """How /dev/net/tun is set up, for messages: "mode 0600, owner root"."""
    try:
        st = os.stat(TUN_PATH)
    except OSError:
        return "unknown mode"
    return f"mode {stat.S_IMODE(st.st_mode):04o}, owner {_user_name(st.st_uid)}"


def _open_tun_fd(what: str, *, needs_admin: bool) -> int:
    """Open /dev/net/tun to ``what`` ("create tun1", "attach to tap0").

    Opening it is a file permission, not a capability: a user who may not
    read and write it is told so, with the node's mode - to attach to a
    device they own, that is all they lack (many distributions ship the node
    as mode 0666).
    """
    try:
        return os.open(TUN_PATH, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DeviceError(
            f"{TUN_PATH} does not exist: load the tun module (sudo modprobe tun) "
            f"or, in a container, pass the device in (--device {TUN_PATH})"
        ) from None
    except PermissionError:
        where = f"{TUN_PATH} ({_tun_mode_text()}) is not readable and writable by you"
        if needs_admin:
            raise DeviceError(
                f"cannot {what}: {where}, and making a device needs CAP_NET_ADMIN "
                f"anyway; {_root_hint()}"
            ) from None
        raise DeviceError(
            f"cannot {what}: {where}; make it mode 0666 as most distributions do "
            f"(sudo chmod 0666 {TUN_PATH}), or {_root_hint()}"
        ) from None
    except OSError as e:
        raise DeviceError(f"cannot open {TUN_PATH}: {e.strerror}") from None


def _root_hint() -> str:
    """ "run it as root: sudo tapwatch ...", the same command under sudo."""
    import shlex
    import sys

    return f"run it as root: sudo {shlex.join(['tapwatch', *sys.argv[1:]])}"


@dataclass
class LinkInfo:
    """What the kernel says about the device right now."""

    state: DeviceState  # "up", "down", "no-carrier", "unknown" or "gone"
    mtu: int | None = None
    mac: str | None = None
    addresses: list[str] = field(default_factory=list)
    tx_dropped: int | None = None
    txqueuelen: int | None = None


class Device:
    """An open tun/tap queue. ``fd`` is what the capture thread reads."""

    def __init__(self, fd: int, name: str, tap: bool, created: bool) -> None:
        self.fd = fd
        self.name = name
        self.tap = tap
        self.created = created
        self.ifindex = 0
        self.netns: str | None = None
        self._refresh_index()

    @property
    def kind(self) -> Literal["tun", "tap"]:
        return "tap" if self.tap else "tun"

    @property
    def linktype(self) -> int:
        return LINKTYPE_ETHERNET if self.tap else LINKTYPE_RAW

    def _refresh_index(self) -> None:
        self.ifindex = ifindex(self.name)

    @classmethod
    def create(cls, name: str, *, tap: bool = False) -> Device:
        """Make a new, non-persistent device that vanishes with tapwatch."""
        validate_name(name)
        if "%" not in name and exists(name):
            raise DeviceError(
                f"device {name} already exists: watch it with --attach {name}, "
                "or pick another name for --create"
            )
        fd = _open_tun_fd(f"create {name}", needs_admin=True)
        flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI
        try:
            res = fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
        except OSError as e:
            os.close(fd)
            if e.errno == errno.EPERM:
                raise DeviceError(f"not permitted to create {name}: {cap_hint()}") from None
            if e.errno == errno.EBUSY:
                raise DeviceError(f"device {name} is busy: another program holds it") from None
            raise DeviceError(f"cannot create {name}: {e.strerror}") from None
        real = res[:IFNAMSIZ].rstrip(b"\0").decode()
        os.set_blocking(fd, False)
        return cls(fd, real, tap, created=True)

    @classmethod
    def attach(cls, name: str) -> Device:
        """Open an existing persistent tun/tap device, tun or tap as netlink says.

        Never takes a queue another program reads: a single-queue device
        refuses (EBUSY), and a multi-queue one that any program holds is
        refused here - DeviceBusy either way, and the caller observes instead.
        The owner of a device made with ``ip tuntap add ... user U`` may attach
        without any capability (the tun driver's rule).
        """
        validate_name(name)
        if not exists(name):
            raise DeviceError(
                f"device {name} does not exist: create it with --create {name}, or first "
                f"'ip tuntap add dev {name} mode tun'"
            )
        link = kernel_link(name)
        if link is None or not link.is_tun:
            raise DeviceError(
                f"{name} is not a tun/tap device: watch it read-only with --observe {name}"
            )
        tap = link.tun_type == 2 if link.tun_type else link.arphrd == 1
        if link.pi:
            raise PacketInfoDevice(
                f"{name} was made with packet-info headers (as wireguard-go makes its device), "
                "which tapwatch does not attach to"
            )
        if link.multi_queue and link.held_queues:
            raise _multi_queue_busy(name, link.held_queues)
        fd = _open_tun_fd(f"attach to {name}", needs_admin=False)
        flags = (
            (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI | (IFF_MULTI_QUEUE if link.multi_queue else 0)
        )
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
        except OSError as e:
            os.close(fd)
            if e.errno == errno.EBUSY:
                raise DeviceBusy(
                    f"{name} is held by another program; watch it read-only with --observe {name}"
                ) from None
            if e.errno == errno.EPERM:
                owner = ""
                if link.owner is not None and link.owner != os.geteuid():
                    owner = f" (it belongs to {_user_name(link.owner)})"
                elif link.group is not None:
                    owner = f" (it belongs to group {link.group})"
                raise DeviceError(
                    f"not permitted to attach to {name}{owner}: {cap_hint()}"
                ) from None
            if e.errno == errno.EINVAL:
                raise DeviceError(
                    f"cannot attach to {name}: its flags differ from tapwatch's "
                    "(it may use packet-info headers); recreate it or use --observe"
                ) from None
            raise DeviceError(f"cannot attach to {name}: {e.strerror}") from None
        if link.multi_queue:
            # a program that attached between the question and the attach: leave it alone
            now = kernel_link(name)
            if now is not None and now.held_queues > 1:
                os.close(fd)
                raise _multi_queue_busy(name, now.held_queues - 1)
        os.set_blocking(fd, False)
        return cls(fd, name, tap, created=False)

    def configure(
        self,
        addrs: list[Interface],
        *,
        mtu: int | None = None,
        up: bool = True,
        txqueuelen: int | None = None,
    ) -> None:
        """Addresses, MTU, queue length and link state, through netlink (pyroute2).

        Only what differs from what the kernel has is changed, so a user who
        may attach to a device they own (no CAP_NET_ADMIN) can use it as it is:
        nothing is asked of netlink when the link is up and has the addresses,
        MTU and queue length wanted. What such a user may not change is named,
        with the command that does it.
        """
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        self._refresh_index()
        link = kernel_link(self.name)
        if link is None:
            raise DeviceError(f"cannot configure {self.name}: it no longer exists")
        try:
            with IPRoute() as ipr:
                have = {
                    (str(a.get("IFA_ADDRESS")), a["prefixlen"])
                    for a in ipr.get_addr(index=self.ifindex)
                }
                for a in addrs:
                    if (str(a.ip), a.network.prefixlen) in have:
                        continue
                    try:
                        kw = {}
                        if a.version == 6:
                            kw["flags"] = 0x02  # IFA_F_NODAD: usable at once
                        ipr.addr(
                            "add",
                            index=self.ifindex,
                            address=str(a.ip),
                            prefixlen=a.network.prefixlen,
                            **kw,
                        )
                    except NetlinkError as e:
                        if e.code == errno.EEXIST:
                            continue
                        if e.code == errno.EPERM:
                            raise self._not_permitted(
                                f"adding address {a} to {self.name}",
                                f"sudo ip addr add {a} dev {self.name}",
                            ) from None
                        raise DeviceError(
                            f"cannot add address {a} to {self.name}: {os.strerror(e.code)}"
                        ) from None
                settings: dict[str, object] = {}
                if mtu is not None and mtu != link.mtu:
                    settings["mtu"] = mtu
                if txqueuelen is not None and txqueuelen != link.txqueuelen:
                    settings["txqlen"] = txqueuelen
                if up and not link.up:
                    settings["state"] = "up"
                if settings:
                    try:
                        ipr.link("set", index=self.ifindex, **settings)
                    except NetlinkError as e:
                        if e.code == errno.EPERM and "txqlen" in settings:
                            refused = self._refused_queue_length(ipr, link, txqueuelen)
                            if refused is not None:
                                raise refused from None
                        if e.code == errno.EPERM:
                            raise self._settings_not_permitted(settings) from None
                        what = f"MTU {mtu}" if mtu is not None and e.code == errno.EINVAL else ""
                        raise DeviceError(
                            f"cannot configure {self.name}{' ' + what if what else ''}: "
                            f"{os.strerror(e.code)}"
                        ) from None
        except NetlinkError as e:
            if e.code == errno.EPERM:
                raise DeviceError(f"not permitted to configure {self.name}: {cap_hint()}") from None
            raise DeviceError(f"cannot configure {self.name}: {os.strerror(e.code)}") from None

    def _refused_queue_length(
        self, ipr: Any, link: KernelLink, txqueuelen: int | None
    ) -> DeviceError | None:
        """The error when the kernel refused the queue length itself, None when it is a
        missing privilege after all.

        A tun/tap device's queue is allocated at the length asked for, and a length it
        cannot allocate is refused with EPERM, as if root lacked CAP_NET_ADMIN. Setting
        the length it has now tells the two apart: that works whenever the privilege is
        there.
        """
        from pyroute2.netlink.exceptions import NetlinkError

        if link.txqueuelen is None:
            return None
        try:
            ipr.link("set", index=self.ifindex, txqlen=link.txqueuelen)
        except NetlinkError:
            return None
        return DeviceError(
            f"--txqueuelen {txqueuelen}: the kernel refused that queue length for {self.name} "
            f"(it is too long to allocate; {link.txqueuelen} now): give a smaller one, "
            "such as 10000"
        )

    def _settings_not_permitted(self, settings: dict[str, object]) -> DeviceError:
        """What a user without CAP_NET_ADMIN must have done for them, in one line."""
        parts = []
        if "mtu" in settings:
            parts.append(f"mtu {settings['mtu']}")
        if "txqlen" in settings:
            parts.append(f"txqueuelen {settings['txqlen']}")
        if "state" in settings:
            parts.append("up")
        command = f"sudo ip link set {self.name} {' '.join(parts)}"
        if parts == ["up"]:
            return DeviceError(
                f"{self.name} is down: bring it up with `{command}`, or run tapwatch as root"
            )
        what = " and ".join(p for p in parts if p != "up")
        down = f" (and {self.name} is down)" if "state" in settings else ""
        return self._not_permitted(f"setting {what} on {self.name}{down}", command)

    def _not_permitted(self, what: str, command: str) -> DeviceError:
        return DeviceError(
            f"{what} needs CAP_NET_ADMIN: do it with `{command}`, or run tapwatch as root"
        )

    def link_info(self) -> LinkInfo:
        """Ask the kernel for state, addresses and its drop counters; "gone" if deleted."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            with IPRoute() as ipr:
                links = ipr.get_links(self.ifindex) if self.ifindex else []
                if not links or links[0].get("IFLA_IFNAME") != self.name:
                    return LinkInfo("gone")
                link = links[0]
                stats = link.get("IFLA_STATS64") or link.get("IFLA_STATS")
                addrs = [
                    f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}"
                    for a in ipr.get_addr(index=self.ifindex)
                    if not str(a.get("IFA_ADDRESS", "")).startswith("fe80:")
                ]
                # tun/tap report oper state UNKNOWN even when working; the flags tell
                flags = link["flags"]
                state: DeviceState
                if not flags & IFF_UP:
                    state = "down"
                elif not flags & IFF_LOWER_UP:  # no queue attached (carrier off)
                    state = "no-carrier"
                else:
                    state = "up"
                return LinkInfo(
                    state=state,
                    mtu=link.get("IFLA_MTU"),
                    mac=link.get("IFLA_ADDRESS"),
                    addresses=addrs,
                    tx_dropped=stats.get("tx_dropped") if stats else None,
                    txqueuelen=link.get("IFLA_TXQLEN"),
                )
        except NetlinkError as e:
            if e.code == errno.ENODEV:
                return LinkInfo("gone")
            return LinkInfo("unknown")
        except (OSError, RuntimeError):  # RuntimeError: pyroute2 inside a running event loop
            return LinkInfo("unknown")

    def write(self, data: bytes) -> None:
        """Hand one frame to the kernel, as if it arrived on the wire."""
        os.write(self.fd, data)

    def close(self) -> None:
        """Release the queue; a created device disappears now."""
        if self.fd >= 0:
            try:
                os.close(self.fd)
            finally:
                self.fd = -1


def setns(netns: str) -> None:
    """Move this process into an existing named network namespace, before any thread starts.

    Doing it first means the device, its configuration and every socket tapwatch
    opens all live in that namespace, with no per-call plumbing.
    """
    path = netns if "/" in netns else f"/var/run/netns/{netns}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DeviceError(
            f"network namespace {netns!r} does not exist: create it with 'ip netns add {netns}'"
        ) from None
    except PermissionError:
        raise DeviceError(
            f"permission denied opening network namespace {netns!r} ({path}): "
            f"{cap_hint('CAP_SYS_ADMIN')}"
        ) from None
    try:
        _libc_call("setns", fd, 0x40000000)  # CLONE_NEWNET
    except OSError as e:
        if e.errno == errno.EPERM:
            raise DeviceError(
                f"not permitted to enter network namespace {netns!r}: {cap_hint('CAP_SYS_ADMIN')}"
            ) from None
        raise DeviceError(f"cannot enter network namespace {netns!r}: {e.strerror}") from None
    finally:
        os.close(fd)


def unshare_netns() -> None:
    """Give this process a fresh, private network namespace (for --demo)."""
    try:
        _libc_call("unshare", 0x40000000)  # CLONE_NEWNET
    except OSError as e:
        if e.errno == errno.EPERM:
            raise DeviceError(
                f"not permitted to make a private network namespace: {cap_hint('CAP_SYS_ADMIN')}"
            ) from None
        raise DeviceError(f"cannot make a private network namespace: {e.strerror}") from None


def _multi_queue_busy(name: str, held: int) -> DeviceBusy:
    queues = "a queue" if held == 1 else f"{held} queues"
    return DeviceBusy(
        f"{name} is a multi-queue device held by another program ({queues}): attaching one "
        "more would make the kernel spread flows over the queues and take whole flows from "
        f"it; watch it read-only with --observe {name}"
    )


def _libc_call(fn: str, *args: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, fn)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
