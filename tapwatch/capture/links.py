"""What happens to the namespace's links, addresses and routes, as it happens (rtnetlink).

A :class:`LinkMonitor` is a thread holding a netlink socket subscribed to the
kernel's link, address and route groups (``RTMGRP_LINK`` and friends, parsed
with pyroute2's rtnetlink marshal). It is opened in the namespace tapwatch
works in (after ``--netns``/``--demo`` moved the process), so it hears what
``ip monitor`` would there, and never polls.

It keeps a table of the links it knows (index -> name, flags, MTU, type) and
turns each message into a :class:`LinkChange`: what happened in words, the
link's name as it was then, and the raw message, which a pcapng file keeps
under LINKTYPE_NETLINK for Wireshark to decode. Messages that change nothing
it reports (a link's statistics, a flag it does not show) are dropped here.

The socket is bound *before* the table is filled from a dump, so a link
created in between is heard twice rather than missed; the table makes the
second hearing a no-op.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NETLINK_ROUTE = 0
# rtnetlink multicast groups (linux/rtnetlink.h, the RTMGRP_* bit masks)
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
GROUPS = (
    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
)

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
RT_TABLE_LOCAL = 255  # the kernel's own local and broadcast routes: noise for a reader
#: ifi_change of a link's first announcement (register_netdevice says "everything changed")
ALL_CHANGED = 0xFFFFFFFF

ARPHRD_NETLINK = 824
#: the 16-byte Linux cooked header LINKTYPE_NETLINK puts before each message (as the nlmon
#: device gives it): packet type, ARPHRD_NETLINK, no address, then the netlink family
_COOKED = struct.Struct("!HHH8sH")
COOKED_LEN = _COOKED.size
_NLMSG = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change

POLL_MS = 200
RECV_SIZE = 1 << 16


def cooked(raw: bytes) -> bytes:
    """``raw`` (one rtnetlink message) as a LINKTYPE_NETLINK record (from the kernel, route)."""
    return _COOKED.pack(0, ARPHRD_NETLINK, 0, bytes(8), NETLINK_ROUTE) + raw


@dataclass(frozen=True)
class LinkChange:
    """One thing that happened to a link (or an address or route on it).

    ``what``: "added", "removed", "renamed", "up", "down", "carrier", "no-carrier",
    "mtu", "address-added", "address-removed", "route-added", "route-removed".
    ``name`` is the link's name when it happened (for "renamed", the new one; ``old``
    the one before). ``text`` says it in words, without the name.
    """

    ts_ns: int
    what: str
    index: int
    name: str
    text: str
    raw: bytes
    old: str = ""
    arphrd: int = 0
    mtu: int = 0  # the link's MTU ("added": a link made later has it from here)

    @property
    def link(self) -> bool:
        """Whether this is about the link itself (it came, went, was renamed)."""
        return self.what in ("added", "removed", "renamed")


@dataclass
class _Link:
    name: str
    flags: int
    mtu: int
    arphrd: int


class LinkMonitor(threading.Thread):
    """Hears the namespace's link, address and route changes; calls ``handler`` with each.

    ``handler`` runs in this thread, in the order the kernel sent the messages.
    :meth:`links` is the table as it is now (index -> name), filled before the
    thread starts. The thread ends at :meth:`stop` or if the socket fails
    (``error`` says why).
    """

    def __init__(self, handler: Callable[[LinkChange], None]) -> None:
        super().__init__(name="tapwatch-links", daemon=True)
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl

        self.handler = handler
        self.stop_event = threading.Event()
        self.error: str | None = None
        self._marshal = MarshalRtnl()
        self._links: dict[int, _Link] = {}
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.sock.bind((0, GROUPS))  # subscribed first: nothing between dump and now is lost
            self._dump()
        except BaseException:
            self.sock.close()
            raise

    def _dump(self) -> None:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            for msg in ipr.get_links():
                self._links[int(msg["index"])] = _Link(
                    str(msg.get_attr("IFLA_IFNAME") or ""),
                    int(msg["flags"]),
                    int(msg.get_attr("IFLA_MTU") or 0),
                    int(msg["ifi_type"]),
                )

    def links(self) -> dict[int, tuple[str, int]]:
        """The links known now: index -> (name, ARPHRD type)."""
        with self._lock:
            return {i: (link.name, link.arphrd) for i, link in self._links.items()}

    def name_of(self, index: int) -> str | None:
        with self._lock:
            link = self._links.get(index)
            return link.name if link is not None else None

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        try:
            while not self.stop_event.is_set():
                if not poller.poll(POLL_MS):
                    continue
                try:
                    data = self.sock.recv(RECV_SIZE)
                except BlockingIOError:
                    continue
                except OSError as e:
                    if e.errno == 105:  # ENOBUFS: the kernel dropped messages; go on
                        continue
                    raise
                now = time.time_ns()
                for change in self.changes(data, now):
                    self.handler(change)
        except Exception as e:
            from tapwatch.threads import one_line

            self.error = f"interface events stopped: {one_line(e)}"
        finally:
            with contextlib.suppress(OSError):
                self.sock.close()

    # ----- turning messages into changes ---------------------------------------------------
    def changes(self, data: bytes, now: int) -> list[LinkChange]:
        """The changes one datagram of messages says (updating the table)."""
        out: list[LinkChange] = []
        for msg in self._marshal.parse(data):
            start = int(msg.offset)
            raw = bytes(data[start : start + int(msg["header"]["length"])])
            event = msg["event"]
            with self._lock:
                if event in ("RTM_NEWLINK", "RTM_DELLINK"):
                    out.extend(self._link_change(msg, event, raw, now))
                elif event in ("RTM_NEWADDR", "RTM_DELADDR"):
                    out.extend(self._addr_change(msg, event, raw, now))
                elif event in ("RTM_NEWROUTE", "RTM_DELROUTE"):
                    out.extend(self._route_change(msg, event, raw, now))
        return out

    def _link_change(self, msg: Any, event: str, raw: bytes, now: int) -> list[LinkChange]:
        index = int(msg["index"])
        name = str(msg.get_attr("IFLA_IFNAME") or "")
        flags = int(msg["flags"])
        mtu = int(msg.get_attr("IFLA_MTU") or 0)
        arphrd = int(msg["ifi_type"])
        known = self._links.get(index)
        if event == "RTM_DELLINK":
            if known is None:
                return []
            del self._links[index]
            return [LinkChange(now, "removed", index, known.name, "link removed", raw)]
        self._links[index] = _Link(name or (known.name if known else ""), flags, mtu, arphrd)
        if known is None:
            state = "up" if flags & IFF_UP else "down"
            text = f"link added (index {index}, mtu {mtu}, {state})"
            return [LinkChange(now, "added", index, name, text, raw, arphrd=arphrd, mtu=mtu)]
        out = []
        if name and name != known.name:
            out.append(
                LinkChange(
                    now,
                    "renamed",
                    index,
                    name,
                    f"link renamed from {known.name}",
                    raw,
                    old=known.name,
                    arphrd=arphrd,
                )
            )
        name = name or known.name
        if (flags ^ known.flags) & IFF_UP:
            what = "up" if flags & IFF_UP else "down"
            out.append(LinkChange(now, what, index, name, f"link {what}", raw))
        elif (flags ^ known.flags) & IFF_LOWER_UP:
            what = "carrier" if flags & IFF_LOWER_UP else "no-carrier"
            text = "carrier on" if flags & IFF_LOWER_UP else "carrier lost"
            out.append(LinkChange(now, what, index, name, text, raw))
        if mtu and mtu != known.mtu:
            out.append(
                LinkChange(now, "mtu", index, name, f"mtu {known.mtu} -> {mtu}", raw, mtu=mtu)
            )
        return out

    def _addr_change(self, msg: Any, event: str, raw: bytes, now: int) -> list[LinkChange]:
        index = int(msg["index"])
        link = self._links.get(index)
        if link is None:
            return []
        addr = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        text = f"{addr}/{int(msg['prefixlen'])}"
        peer = msg.get_attr("IFA_ADDRESS")
        if peer and msg.get_attr("IFA_LOCAL") and peer != addr:
            text += f" peer {peer}"
        added = event == "RTM_NEWADDR"
        what = "address-added" if added else "address-removed"
        words = "address added" if added else "address removed"
        return [LinkChange(now, what, index, link.name, f"{words} {text}", raw)]

    def _route_change(self, msg: Any, event: str, raw: bytes, now: int) -> list[LinkChange]:
        table = msg.get_attr("RTA_TABLE") or msg["table"]
        oif = msg.get_attr("RTA_OIF")
        if table == RT_TABLE_LOCAL or oif is None:
            return []
        link = self._links.get(int(oif))
        if link is None:
            return []
        dst = msg.get_attr("RTA_DST")
        if dst is None:
            dst = "default"
        else:
            dst = f"{dst}/{int(msg['dst_len'])}"
            with contextlib.suppress(ValueError):
                dst = str(ipaddress.ip_network(dst, strict=False))
        text = dst
        gateway = msg.get_attr("RTA_GATEWAY")
        if gateway:
            text += f" via {gateway}"
        added = event == "RTM_NEWROUTE"
        what = "route-added" if added else "route-removed"
        words = "route added" if added else "route removed"
        return [LinkChange(now, what, int(oif), link.name, f"{words} {text}", raw)]
