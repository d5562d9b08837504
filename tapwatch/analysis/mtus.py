"""The outer interfaces' MTUs over time, for the linker's "too big for the outer MTU".

An outer packet is held against its interface's MTU at the packet's time: the one read
when the interface was opened (or announced), then each MTU the interface events
(LINKTYPE_NETLINK records) say it had from their stamp on, matched by the link's name as
the session names it (:func:`event_link_name`). The link watch runs in its own thread, so
an event may come after packets stamped later than it: the packets lately judged are
kept and judged again when such an event arrives. The caller (the linker) holds its lock
around every call.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapwatch.analysis.tunnelstats import DirStats
    from tapwatch.ring import Record
    from tapwatch.sources import InterfaceInfo

#: MTUs remembered per link name, and link names (the oldest go first)
MAX_MTU_CHANGES = 64
MAX_MTU_NAMES = 1024
#: outer packets remembered to be judged again against an MTU an event says late
MAX_JUDGED = 1024


def event_link_name(events_iface: str, link: str) -> str:
    """The name the session gives the link ``link`` that an interface event read on the
    interface named ``events_iface`` speaks of.

    Why: several merged inputs (``-r a.pcapng -r b.pcapng``) each hold their own host's
    links, and the merge names their interfaces with the input's label in front
    (``a:tun0``, ``b:tun0``), the events' own interface too (``a:netlink``); the rtnetlink
    message inside says only ``tun0``. The label is what the events' interface has in front
    of its own name, which ends at its last ``:`` (Linux refuses ``:`` in a link's name, so
    no events interface has one: tapwatch's is ``netlink``, tcpdump's an ``nlmon``). One
    input, or a live session: no ``:``, the link's name as it is.
    """
    label, colon, _own = events_iface.rpartition(":")
    return f"{label}{colon}{link}" if colon else link


class MtuBook:
    """What each link's MTU was when, and the outer packets lately held against it."""

    def __init__(self) -> None:
        #: link name as the session names it -> (stamp, MTU) the interface events said, in
        #: time order
        self._mtus: dict[str, list[tuple[int, int]]] = {}
        #: interface -> its MTU before the first event said another (read at its start)
        self._mtu_before: dict[int, int | None] = {}
        #: outer packets lately held against an MTU: [stamp, interface, IP length, their
        #: direction's figures, over]; judged again when an event stamped before them
        #: comes after them (the link watch's thread was slower than the capture's)
        self._judged: deque[list[Any]] = deque(maxlen=MAX_JUDGED)

    def at(self, iface: int, ts: int, interfaces: Sequence[InterfaceInfo]) -> int | None:
        """``iface``'s MTU at ``ts``: the last one an interface event said before ``ts``,
        else the one read at its start; None when unknown."""
        if iface >= len(interfaces):
            return None
        info = interfaces[iface]
        start: int | None = getattr(info, "mtu", None)  # a file's interfaces have none
        said = self._mtus.get(info.name)
        if not said:
            return start
        before = self._mtu_before.setdefault(iface, start)
        at = bisect.bisect_right(said, (ts, 1 << 62))
        return said[at - 1][1] if at else before

    def judge(
        self, ts: int, iface: int, ip_len: int, ds: DirStats, interfaces: Sequence[InterfaceInfo]
    ) -> None:
        """An outer packet of ``ip_len`` bytes at ``ts``: counted in ``ds.too_big`` when
        over its interface's MTU then, and kept to be judged again."""
        mtu = self.at(iface, ts, interfaces)
        over = bool(mtu and ip_len > mtu)
        if over:
            ds.too_big += 1
        self._judged.append([ts, iface, ip_len, ds, over])

    def event(self, rec: Record, interfaces: Sequence[InterfaceInfo]) -> None:
        """An interface event: the MTU its link has from now on (by the name the session
        gives the link, see :func:`event_link_name`), if it says one."""
        from tapwatch.decode.netlink import link_mtu

        said = link_mtu(rec.data)
        if said is None or not said[1]:
            return
        _index, bare, mtu = said
        ifs = interfaces
        name = event_link_name((ifs[rec.iface].name or "") if rec.iface < len(ifs) else "", bare)
        for i, info in enumerate(ifs):  # what they had before: as read
            if info.name == name:
                self._mtu_before.setdefault(i, getattr(info, "mtu", None))
        known = self._mtus.get(name)
        if known is None:
            if len(self._mtus) >= MAX_MTU_NAMES:
                self._mtus.pop(next(iter(self._mtus)))
            known = self._mtus[name] = []
        bisect.insort(known, (rec.ts_ns, mtu))
        if len(known) > MAX_MTU_CHANGES:
            del known[0]
        self._judge_again(name, rec.ts_ns, interfaces)

    def _judge_again(self, name: str, since: int, interfaces: Sequence[InterfaceInfo]) -> None:
        """The outer packets of link ``name`` stamped from ``since`` on, held against the
        MTU of their time again."""
        if not self._judged or max(j[0] for j in self._judged) < since:
            return
        ifaces = {i for i, info in enumerate(interfaces) if info.name == name}
        for j in self._judged:
            if j[0] >= since and j[1] in ifaces:
                mtu = self.at(j[1], j[0], interfaces)
                over = bool(mtu and j[2] > mtu)
                if over != j[4]:
                    j[3].too_big += 1 if over else -1
                    j[4] = over

    def forget_judged(self) -> None:
        """The session was cleared: no packet is held any more (the MTUs the events said
        stay: they are the links')."""
        self._judged.clear()
