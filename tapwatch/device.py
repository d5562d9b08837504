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
import struct
from dataclasses import dataclass, field
from typing import Literal

from tapwatch.errors import TapwatchError
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW

TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
IFNAMSIZ = 16

def cap_hint(cap: str = "CAP_NET_ADMIN") -> str:
    """Name the capability and the command that has it: the same command under sudo."""
    import shlex
    import sys

    command = shlex.join(["tapwatch", *sys.argv[1:]])
    return f"this needs {cap}; run it as root: sudo {command}"


class DeviceError(TapwatchError):
    """A device problem with a message that names the fix."""


class DeviceBusy(DeviceError):
    """TUNSETIFF said EBUSY: another program holds the device's queue."""


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
    """The few facts netlink gives about an interface that tapwatch decides on."""

    arphrd: int
    is_tun: bool
    tun_type: int  # 1 tun, 2 tap, 0 unknown
    pi: bool
    multi_queue: bool


def kernel_link(name: str) -> KernelLink | None:
    """Ask netlink what ``name`` is (None when it does not exist)."""
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
    attrs = {} if data is None else {
        k: data.get(k) for k in ("IFLA_TUN_TYPE", "IFLA_TUN_PI", "IFLA_TUN_MULTI_QUEUE")
    }
    return KernelLink(
        arphrd=int(link["ifi_type"]),
        is_tun=kind == "tun",
        tun_type=int(attrs.get("IFLA_TUN_TYPE") or 0),
        pi=bool(attrs.get("IFLA_TUN_PI")),
        multi_queue=bool(attrs.get("IFLA_TUN_MULTI_QUEUE")),
    )


def _open_tun_fd(what: str) -> int:
    try:
        return os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DeviceError(
            "/dev/net/tun does not exist: load the tun module (sudo modprobe tun) "
            "or, in a container, pass the device in (--device /dev/net/tun)"
        ) from None
    except PermissionError:
        raise DeviceError(
            f"permission denied opening /dev/net/tun to {what}: {cap_hint()}"
        ) from None
    except OSError as e:
        raise DeviceError(f"cannot open /dev/net/tun: {e.strerror}") from None


@dataclass
class LinkInfo:
    """What the kernel says about the device right now."""

    state: str  # "up", "down", "unknown" (tun's normal oper state), or "gone"
    mtu: int | None = None
    mac: str | None = None
    addresses: list[str] = field(default_factory=list)
    tx_dropped: int | None = None
    rx_dropped: int | None = None
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
        fd = _open_tun_fd(f"create {name}")
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
        """Open an existing persistent tun/tap device, tun or tap detected from sysfs."""
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
            raise DeviceError(
                f"{name} was made with packet-info headers (no 'pi' flag wanted); recreate it "
                f"without, or watch it with --observe {name}"
            )
        fd = _open_tun_fd(f"attach to {name}")
        flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI | (IFF_MULTI_QUEUE if link.multi_queue
                                                             else 0)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
        except OSError as e:
            os.close(fd)
            if e.errno == errno.EBUSY:
                raise DeviceBusy(
                    f"{name} is held by another program; watch it read-only with --observe {name}"
                ) from None
            if e.errno == errno.EPERM:
                raise DeviceError(
                    f"not permitted to attach to {name} (it may belong to another user): "
                    f"{cap_hint()}"
                ) from None
            if e.errno == errno.EINVAL:
                raise DeviceError(
                    f"cannot attach to {name}: its flags differ from tapwatch's "
                    "(it may use packet-info headers); recreate it or use --observe"
                ) from None
            raise DeviceError(f"cannot attach to {name}: {e.strerror}") from None
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
        """Addresses, MTU, queue length and link state, through netlink (pyroute2)."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        self._refresh_index()
        try:
            with IPRoute() as ipr:
                for a in addrs:
                    try:
                        kw = {}
                        if a.version == 6:
                            kw["flags"] = 0x02  # IFA_F_NODAD: usable at once
                        ipr.addr(
                            "add", index=self.ifindex, address=str(a.ip),
                            prefixlen=a.network.prefixlen, **kw,
                        )
                    except NetlinkError as e:
                        if e.code == errno.EEXIST:
                            continue
                        raise DeviceError(
                            f"cannot add address {a} to {self.name}: {os.strerror(e.code)}"
                        ) from None
                settings: dict[str, object] = {}
                if mtu is not None:
                    settings["mtu"] = mtu
                if txqueuelen is not None:
                    settings["txqlen"] = txqueuelen
                if up:
                    settings["state"] = "up"
                if settings:
                    try:
                        ipr.link("set", index=self.ifindex, **settings)
                    except NetlinkError as e:
                        what = f"MTU {mtu}" if mtu is not None and e.code == errno.EINVAL else ""
                        raise DeviceError(
                            f"cannot configure {self.name}{' ' + what if what else ''}: "
                            f"{os.strerror(e.code)}"
                        ) from None
        except NetlinkError as e:
            if e.code == errno.EPERM:
                raise DeviceError(f"not permitted to configure {self.name}: {cap_hint()}") from None
            raise DeviceError(f"cannot configure {self.name}: {os.strerror(e.code)}") from None

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
                if not flags & 0x1:  # IFF_UP
                    state = "down"
                elif not flags & 0x10000:  # IFF_LOWER_UP: no queue attached (carrier off)
                    state = "no-carrier"
                else:
                    state = "up"
                return LinkInfo(
                    state=state,
                    mtu=link.get("IFLA_MTU"),
                    mac=link.get("IFLA_ADDRESS"),
                    addresses=addrs,
                    tx_dropped=stats.get("tx_dropped") if stats else None,
                    rx_dropped=stats.get("rx_dropped") if stats else None,
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
        raise DeviceError(f"permission denied opening network namespace {netns!r}: "
                          f"{cap_hint()}") from None
    try:
        _libc_call("setns", fd, 0x40000000)  # CLONE_NEWNET
    except OSError as e:
        raise DeviceError(f"cannot enter network namespace {netns!r}: {e.strerror}") from None
    finally:
        os.close(fd)


def unshare_netns() -> None:
    """Give this process a fresh, private network namespace (for --demo)."""
    try:
        _libc_call("unshare", 0x40000000)  # CLONE_NEWNET
    except OSError as e:
        if e.errno == errno.EPERM:
            raise DeviceError(f"not permitted to make a private network namespace: "
                              f"{cap_hint('CAP_SYS_ADMIN')}") from None
        raise DeviceError(f"cannot make a private network namespace: {e.strerror}") from None


def _libc_call(fn: str, *args: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, fn)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
