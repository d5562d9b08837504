"""Sources that live: interfaces followed by name as they come, go and come back.

A VPN's day is restarts: its tun device is deleted and made again under the
same name, and ``-i any`` should catch interfaces made after tapwatch started.
Here:

* :class:`Follow` follows one source's interface by name. When the link goes
  away the source's reader is stopped (what it held is kept) and the source
  waits; when a link of that name appears, a read-only packet-socket reader is
  opened on it, numbered as the interface was, so its packets continue the same
  interface in the list and in the file. A name that does not exist yet is
  waited for from the start.
* :class:`LinkWatch` is the session's ear on the namespace (a
  :class:`~tapwatch.capture.links.LinkMonitor`): it hands each link change to
  the follows it concerns, opens a source for each new interface under ``-i
  any``, and records what happened to watched links, addresses and routes as
  *event records* on an interface of their own (LINKTYPE_NETLINK: the raw
  rtnetlink message, which Wireshark decodes; the words are the record's side
  data).

A re-created device is never attached to again: a VPN opens its device right
after making it, and a descriptor tapwatch took first would take packets (or the
device itself) from it. It is observed read-only, which disturbs nobody.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_NETLINK, LINKTYPE_RAW
from tapwatch.ring import Extra, Ring
from tapwatch.sources import InterfaceInfo, Source, SourceError

if TYPE_CHECKING:
    from tapwatch.capture.anylink import NewLinkReader
    from tapwatch.capture.links import LinkChange, LinkMonitor
    from tapwatch.filters import PacketFilter
    from tapwatch.kinds import DeviceState

#: names that are tun-like (raw IP) by custom: the guess for a name that does not exist yet
_RAW_PREFIXES = ("tun", "wg", "ppp", "ipsec", "gre", "ipip", "sit", "ip6tnl", "utun", "tailscale")
#: what a source says while the interface it follows is away
WAITING: DeviceState = "waiting"


def guess_linktype(name: str) -> int:
    """The link type an interface that does not exist yet will most likely have."""
    return LINKTYPE_RAW if name.startswith(_RAW_PREFIXES) else LINKTYPE_ETHERNET


class Follow:
    """Following one source's interface by name (see the module's description).

    Counts what happened for the exit summary: how often the interface went
    away and came back, and the packets and drops of readers that ended.
    """

    def __init__(
        self,
        source: Source,
        ring: Ring,
        wake: threading.Event,
        capture_filter: PacketFilter | None,
        *,
        named_by_kernel: bool = False,
        present: bool = True,
    ) -> None:
        self.source = source
        self.name = source.interfaces[0].name
        self.ring = ring
        self.wake = wake
        self.capture_filter = capture_filter
        self.named_by_kernel = named_by_kernel
        self.present = present
        self.seen = present  # the interface existed at some time
        self.ifindex = 0
        self.went = 0  # times it went away
        self.came = 0  # times it came back after going
        self.late = False  # it first appeared after the start
        self.problem: str | None = None  # why it could not be read when it last appeared
        self.unnamed = False  # -i any: a link never announced, named by its index
        self.on_notice: Callable[[str], None] = lambda text: None
        #: a link of this name appeared with another link type: the session numbers a new
        #: interface for it (set by the LinkWatch)
        self.new_interface: Callable[[InterfaceInfo], None] | None = None
        #: ``-i any``'s unbound socket: a link that (re)appears is read there, from its first
        #: packet, not by a socket opened once its announcement is heard (set by the LinkWatch)
        self.shared: NewLinkReader | None = None
        self._shared_index = 0  # the link the shared socket reads for this source
        self._lock = threading.Lock()

    def appeared(self, ifindex: int, *, new: bool = False, arphrd: int = 0) -> None:
        """A link of the followed name exists (again): read it, from now on.

        ``new``: a link ``-i any`` met for the first time (not one that came back).
        ``arphrd``: its type, when the announcement said it (no need to ask the kernel).
        """
        from tapwatch import sources
        from tapwatch.filters import FilterError

        with self._lock:
            src = self.source
            if self.present and self.ifindex == ifindex:
                return
            if self.present:  # the old one went without a word: it is gone now
                self._retire()
            self.present = True
            self.seen = True
            self.ifindex = ifindex
            back = self.went > 0
            if back:
                self.came += 1
            elif not new:
                self.late = True
            info = src.interfaces[0]
            try:
                if arphrd:
                    linktype, loopback = sources.kind_of_link(self.name, arphrd)
                else:
                    linktype, loopback = sources.observed_kind(
                        self.name, named_by_kernel=self.named_by_kernel
                    )
                if linktype != info.linktype:
                    info = self._renumber(info, linktype)
                if self.shared is not None:
                    self._adopt(ifindex, info, linktype, loopback)
                    reader = None
                else:
                    reader = sources.observer_reader(
                        self.name,
                        self.ring,
                        self.wake,
                        index=info.index,
                        linktype=linktype,
                        loopback=loopback,
                        capture_filter=self.capture_filter,
                    )
            except (SourceError, FilterError) as e:
                # FilterError: the capture filter names what this link type has not (ether
                # host on a tun made after the start): libpcap cannot compile it for this link
                if self.shared is not None:  # its packets are let go, not held for it
                    self.shared.ignore(ifindex)
                self.problem = str(e)
                src.state = "error"
                self.on_notice(
                    f"{self.name} {'is back' if back else 'appeared'} but cannot be read: {e}"
                )
                return
            self.problem = None
            if src.device is not None:
                info.read_only_reason = (
                    f"{self.name} was made again by another program; observing read-only"
                )
            src.state = "up"
            if reader is not None:
                src.reader = reader
                reader.start()
        if back:
            self.on_notice(f"{self.name} is back: capturing on it again")
        elif not new:
            self.on_notice(f"{self.name} appeared: capturing on it")

    def _adopt(self, ifindex: int, info: InterfaceInfo, linktype: int, loopback: bool) -> None:
        """The shared socket hands ``ifindex``'s packets (those it holds too) to ``info``."""
        from tapwatch.capture.anylink import Adopted

        assert self.shared is not None
        flt = self.capture_filter.for_linktype(linktype) if self.capture_filter else None
        self._shared_index = ifindex
        self.shared.adopt(ifindex, Adopted(info.index, loopback, flt.match if flt else None))

    def _renumber(self, info: InterfaceInfo, linktype: int) -> InterfaceInfo:
        """Another link type under the same name: a new interface of the session."""
        new = InterfaceInfo(
            info.name,
            info.kind,
            read_only_reason=info.read_only_reason,
            linktype=linktype,
        )
        if self.new_interface is not None:
            self.new_interface(new)  # numbers it (index) everywhere before a packet has it
        self.source.interfaces[0] = new
        return new

    def vanished(self, ifindex: int) -> None:
        """The link went away: stop its reader (keeping what it read) and wait for the name."""
        with self._lock:
            if not self.present or (self.ifindex and ifindex != self.ifindex):
                return
            self.present = False
            self.went += 1
            self._retire()
            self.source.state = WAITING
        self.on_notice(
            f"{self.name} went away; capture goes on, and resumes on {self.name} when it is back"
        )

    def _retire(self) -> None:
        """Stop the reader of a link that went, without waiting for it: it hands over what
        it still holds and closes its socket on its own, while the monitor hears on (a VPN
        makes the next link at once)."""
        if self.shared is not None and self._shared_index:
            self.shared.forget(self._shared_index)
            self._shared_index = 0
        reader = self.source.reader
        if reader is None:
            return
        close_at_end = getattr(reader, "close_at_end", None)
        if close_at_end is not None:
            close_at_end()
        reader.stop()
        self.source.retired.append(reader)
        self.source.reader = None

    @property
    def packets(self) -> int:
        src = self.source
        now = src.reader.packets if src.reader is not None else 0
        if self.shared is not None:
            now += sum(self.shared.packets_of(i.index) for i in src.interfaces)
        return now + sum(r.packets for r in src.retired)

    def outcome(self) -> str | None:
        """What happened to this interface, for the exit summary; None when nothing did."""
        if not self.seen:
            return f"{self.name}: never appeared; nothing captured from it"
        parts = []
        if self.unnamed:
            parts.append("never announced (named by its index)")
        if self.late:
            parts.append("appeared after the start")
        if self.went:
            parts.append(f"went away {_times(self.went)}")
        if self.came:
            parts.append(f"came back {_times(self.came)}")
        if not parts and self.problem is None:
            return None
        if not self.present:
            parts.append("away at the end")
        if self.problem:
            parts.append(f"last time it could not be read ({self.problem})")
        return f"{self.name}: {', '.join(parts)}; {self.packets:,} packets captured from it"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


class FollowedSource(Source):
    """An observed interface followed by name: it may be absent at the start, go and come back."""

    kind = "observe"

    def __init__(self, info: InterfaceInfo) -> None:
        super().__init__([info])
        self.kind = "observe"
        self.state = "up"

    @property
    def live(self) -> bool:
        return not self.stopped


class LinkWatch(Source):
    """The session's ear on the namespace's links (see the module's description).

    It is a source of event records only: its one interface, numbered when the
    first event comes, holds them.
    """

    kind = "events"

    def __init__(
        self,
        ring: Ring,
        wake: threading.Event,
        capture_filter: PacketFilter | None,
        *,
        any_interface: bool = False,
        taken: set[str] | None = None,
    ) -> None:
        from tapwatch.capture.links import LinkMonitor

        super().__init__([])
        self.kind = "events"
        self.ring = ring
        self.wake = wake
        self.capture_filter = capture_filter
        #: -i any: every interface there is, and every one made later
        self.any_interface = any_interface
        self.follows: dict[str, Follow] = {}
        self.taken = set(taken or ())
        self.events = 0
        self.info: InterfaceInfo | None = None  # the events' interface, once numbered
        #: number a new interface (the session sets it); a new source for -i any
        self.on_new_source: Callable[[Source], None] | None = None
        self.on_notice: Callable[[str], None] = lambda text: None
        self._lock = threading.Lock()
        #: -i any: the unbound socket that reads links made after the start (open_new_links)
        self.newlinks: NewLinkReader | None = None
        self._said_held = False  # the holding queue's first loss was said
        try:
            self.monitor: LinkMonitor = LinkMonitor(self._changed)
        except Exception as e:  # OSError, or pyroute2's own errors from the first dump
            reason = getattr(e, "strerror", None) or e.__class__.__name__
            raise SourceError(f"cannot follow the interfaces' changes: {reason}") from None

    @property
    def name(self) -> str:
        return "netlink"

    @property
    def read_only_reason(self) -> str | None:
        return "interface events are not packets"

    @property
    def live(self) -> bool:
        return False  # it records events; packets come from the followed sources

    def open_new_links(self, skip: set[int]) -> None:
        """-i any: read every link not in ``skip`` (the links of the start) through one
        unbound socket, open from now on, so a link made later is read from its first packet.

        That socket reads through the kernel's packet ring: when ``TAPWATCH_CAPTURE``
        forces another path there is none, and a link made later gets a socket of its own
        on that path once announced (its first packets, sent before, are not seen)."""
        from tapwatch.capture.anylink import NewLinkReader
        from tapwatch.capture.base import requested_path

        if requested_path() not in (None, "tpacket"):
            # TAPWATCH_CAPTURE forces another path than the packet ring, which the shared
            # socket is: as for every observed interface, each new link is read by a
            # socket of its own on the forced path, once its announcement is heard
            return
        try:
            self.newlinks = NewLinkReader(self.ring, self.wake, skip)
        except OSError as e:  # no ring here? new links get their own sockets, when heard of
            self.on_notice(f"-i any: new links are read once announced ({e.strerror or e})")
            return
        for follow in self.follows.values():
            follow.shared = self.newlinks
        self.newlinks.on_unnamed = self._unnamed

    def kernel_drops(self) -> int | None:
        return self.newlinks.kernel_drops() if self.newlinks is not None else None

    def held_drops(self) -> int:
        return self.newlinks.held_drops() if self.newlinks is not None else 0

    def refresh(self) -> None:
        """Say once when -i any's holding queue first lets packets go (the pump's thread,
        about once a second): a loss of tapwatch's, named apart from the kernel's."""
        super().refresh()
        if not self._said_held and self.held_drops():
            from tapwatch.capture import anylink

            self._said_held = True
            self.on_notice(
                f"-i any: packets dropped while their link was not announced yet (more than "
                f"{anylink.PENDING_MAX} packets or {anylink.PENDING_BYTES >> 20} MB waited); "
                "not the kernel's drops"
            )

    def present(self) -> dict[str, int]:
        """The links there are now: name -> index."""
        return {name: index for index, (name, _t) in self.monitor.links().items()}

    def add_follow(self, follow: Follow) -> None:
        if not follow.named_by_kernel:  # -i any is as quiet as tcpdump's: its events say it
            follow.on_notice = lambda text: self.on_notice(text)
        follow.new_interface = self._number
        follow.shared = self.newlinks
        self.follows[follow.name] = follow
        if follow.present:
            follow.ifindex = self.present().get(follow.name, 0)

    def start(self) -> None:
        if self.monitor.ident is None:
            self.monitor.start()
        if self.newlinks is not None and self.newlinks.ident is None:
            self.newlinks.start()

    def stop(self) -> None:
        self.stopped = True
        self.monitor.stop()
        if self.newlinks is not None:
            self.newlinks.stop()

    def failure(self) -> str | None:
        return self.monitor.error

    def close(self) -> None:
        self.stop()
        if self.monitor.is_alive():
            self.monitor.join(timeout=2)
        if self.newlinks is not None:
            if self.newlinks.is_alive():
                self.newlinks.join(timeout=2)
            elif self.newlinks.ident is None:  # never started: its socket is closed here
                self.newlinks.tpacket.close()

    def _number(self, info: InterfaceInfo) -> None:
        if self.on_new_interface is not None:
            self.on_new_interface(info)

    # ----- what the monitor hears (its thread) -------------------------------------------------
    def _changed(self, change: LinkChange) -> None:
        try:
            self._handle(change)
        except Exception as e:  # a bug: said, and the monitor hears the next change
            from tapwatch.threads import one_line

            self.on_notice(f"{change.name}: following it failed: internal error ({one_line(e)})")

    def _handle(self, change: LinkChange) -> None:
        with self._lock:
            watched = (
                self.any_interface or change.name in self.follows or (change.old in self.follows)
            )
            if watched and not self.stopped:
                self._record(change)
            if change.what in ("removed", "renamed"):
                follow = self.follows.get(change.old or change.name)
                if follow is not None:
                    follow.vanished(change.index)
                elif self.newlinks is not None:
                    self.newlinks.forget(change.index)
            if change.what in ("added", "renamed"):
                follow = self.follows.get(change.name)
                if follow is not None:
                    follow.appeared(change.index, arphrd=change.arphrd)
                elif self.any_interface and change.name not in self.taken:
                    self._open_new(change.name, change.index, change.arphrd, change.mtu)

    def _unnamed(self, ifindex: int, arphrd: int) -> None:
        """-i any: a link whose packets waited long and that was never announced (netlink
        dropped the message): its packets are kept, under its index as name (``ifN``, as
        tcpdump names a link it cannot name), and it is said (the shared socket's thread)."""
        with self._lock:
            if self.stopped:
                return
            name = f"if{ifindex}"
            if name in self.follows or name in self.taken:
                return
            self._open_new(name, ifindex, arphrd, unnamed=True)
            if name in self.follows:  # (not a link type tapwatch decodes: let go, as announced)
                self.on_notice(
                    f"-i any: link index {ifindex} was never announced; "
                    f"its packets are kept as {name}"
                )

    def _open_new(
        self, name: str, ifindex: int, arphrd: int, mtu: int = 0, *, unnamed: bool = False
    ) -> None:
        """-i any: a link made after the start becomes a followed source of its own."""
        from tapwatch import sources

        try:
            linktype, _loopback = sources.kind_of_link(name, arphrd)
        except SourceError:
            if self.newlinks is not None:
                self.newlinks.ignore(ifindex)
            return  # a link type tapwatch does not decode (as at the start)
        info = InterfaceInfo(
            name,
            "observe",
            read_only_reason="observer mode is read-only",
            linktype=linktype,
            mtu=mtu or None,  # as the announcement says (later changes: the events)
        )
        src = FollowedSource(info)
        follow = Follow(
            src, self.ring, self.wake, self.capture_filter, named_by_kernel=True, present=False
        )
        follow.unnamed = unnamed
        src.follow = follow
        src.state = WAITING
        self.add_follow(follow)
        if self.on_new_source is not None:
            self.on_new_source(src)  # numbered before its reader can append anything
        follow.appeared(ifindex, new=True, arphrd=arphrd)

    def _record(self, change: LinkChange) -> None:
        from tapwatch.capture.links import cooked

        info = self.info
        if info is None:
            info = InterfaceInfo(
                "netlink",
                "events",
                read_only_reason="interface events are not packets",
                linktype=LINKTYPE_NETLINK,
            )
            self._number(info)
            self.interfaces.append(info)
            self.info = info
        text = f"{change.name}: {change.text}"
        self.ring.extend(
            [(change.ts_ns, 0, cooked(change.raw))], info.index, {0: Extra(comment=text)}
        )
        self.events += 1
        self.wake.set()
