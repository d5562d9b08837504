"""Sources: where a session's packets come from, opened from typed options.

A session holds one or more sources: a tun/tap device tapwatch created or
attached to, interfaces it observes read-only through a packet socket, a
capture file (:mod:`tapwatch.filesource`), or records a test feeds in. Each
source numbers one or more *interfaces* (a pcapng file may hold several) and says what it can do: a
device tapwatch holds can be written to (replies, echoes, injected and
replayed packets, a tunnel's far end); an observed interface or a file
cannot, and ``read_only_reason`` says why, in words the status bar and the
error messages use as they are.

Everything that opens something - a device, a packet socket, a network
namespace - happens here, in the order the kernel needs (namespace first,
reader before the link comes up), and everything opened is released again
if a later step fails, so the command line only parses, runs and reports.
"""

from __future__ import annotations

import contextlib
import ipaddress
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapwatch.errors import TapwatchError
from tapwatch.kinds import DeviceState, Direction, PeerMode, SourceKind
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
from tapwatch.ring import MAX_INTERFACES, Ring
from tapwatch.snapshot import LoadStatus

if TYPE_CHECKING:
    from tapwatch.capture import CaptureReader, Reader
    from tapwatch.device import Device, Interface, LinkInfo
    from tapwatch.filters import PacketFilter
    from tapwatch.follow import Follow, LinkWatch
    from tapwatch.peer import Responder

#: ARPHRD values whose packet-socket frames start with an Ethernet header (ether, loopback)
_ARPHRD_LOOPBACK = 772
_ARPHRD_ETHERNET = frozenset((1, _ARPHRD_LOOPBACK))
#: ARPHRD values whose frames are bare IP: tun (NONE), IP-in-IP, SIT, GRE, IPv6-in-IPv6...
_ARPHRD_RAW = frozenset((65534, 768, 769, 776, 778, 823))


class SourceError(TapwatchError):
    """A source could not be opened; the message names the fix."""


@dataclass
class InterfaceInfo:
    """One interface of a session: what the status bar, the list and the files say about it.

    ``index`` is the number records of this interface carry in the ring
    (``Record.iface``) and the pcapng interface number they are written with.
    """

    name: str
    kind: SourceKind
    addresses: list[str] = field(default_factory=list)
    #: as read at the start (or said when the link appeared); later changes are interface
    #: events, which the links' "over MTU" follows by their stamps
    mtu: int | None = None
    mac: str | None = None
    peer_mac: str | None = None  # the MAC tapwatch answers with in reply mode (tap)
    read_only_reason: str | None = None
    linktype: int = LINKTYPE_RAW
    index: int = 0


@dataclass
class Options:
    """Everything the command line asks of the sources, validated already.

    The command line turns flags into this; scripts and benchmarks can build
    one directly.
    """

    create: str | None = None
    tap: bool = False
    attach: str | None = None
    observe: list[str] = field(default_factory=list)
    read: str | None = None  # a capture file, "-" for standard input (the first of reads)
    reads: list[str] = field(default_factory=list)  # every -r, merged by time when several
    demo: bool = False
    addrs: list[Interface] = field(default_factory=list)
    mtu: int | None = None
    txqueuelen: int | None = None
    netns: str | None = None
    mode: PeerMode = "drop"
    peers: list[str] = field(default_factory=list)
    tunnel: bool = False  # the device's frames go to a tunnel's far end

    @property
    def device_name(self) -> str | None:
        return self.create or self.attach


class Source:
    """Where packets come from: one or more interfaces, maybe a reader, maybe a device.

    The base holds what every source has; a source that tapwatch can write
    into has a ``device``; a live one has a ``reader`` filling the ring.
    """

    kind: SourceKind = "records"

    def __init__(
        self,
        interfaces: list[InterfaceInfo],
        *,
        device: Device | None = None,
        reader: CaptureReader | None = None,
    ) -> None:
        self.interfaces = interfaces
        self.device = device
        self.reader = reader
        #: the session numbers interfaces a source finds after it was opened (set by it)
        self.on_new_interface: Callable[[InterfaceInfo], None] | None = None
        #: what the kernel says about the interface; None when there is none to ask
        self.state: DeviceState | None = None if reader is None and device is None else "up"
        #: the interface is followed by name: it may go away and come back (tapwatch.follow)
        self.follow: Follow | None = None
        #: readers of earlier links of the same name (their drops still count)
        self.retired: list[CaptureReader] = []
        self.stopped = False

    @property
    def name(self) -> str:
        return self.interfaces[0].name

    @property
    def read_only_reason(self) -> str | None:
        """Why nothing can be written into this source, None when something can."""
        return self.interfaces[0].read_only_reason

    @property
    def writable(self) -> bool:
        return self.device is not None and self.read_only_reason is None

    @property
    def live(self) -> bool:
        """Packets can still come: a reader reads, or a followed interface may come back."""
        return self.reader is not None or (self.follow is not None and not self.stopped)

    def start(self) -> None:
        """Start reading (a live source's reader may have started already)."""
        if self.reader is not None and self.reader.ident is None:
            self.reader.start()

    def stop(self) -> None:
        self.stopped = True
        if self.reader is not None:
            self.reader.stop()

    def failure(self) -> str | None:
        """Why the reader stopped on its own (the device went away...), None while fine.

        A followed interface that went away is no failure: it is waited for.
        """
        reader = self.reader
        if reader is None or reader.failure is None:
            return None
        if self.follow is not None and reader.failure.gone:
            return None
        return str(reader.failure)

    def refresh(self) -> None:
        """Ask the kernel how the interface is (about once a second, from the pump thread)."""
        failed = self.reader.failure if self.reader is not None else None
        if failed is not None and self.state not in ("gone", "error", "waiting"):
            self.state = "gone" if failed.gone else "error"

    def kernel_drops(self) -> int | None:
        drops = self.reader.kernel_drops() if self.reader is not None else None
        for old in self.retired:
            more = old.kernel_drops()
            if more is not None:
                drops = (drops or 0) + more
        return drops

    def held_drops(self) -> int:
        """Packets tapwatch read from the kernel and then let go: ``-i any``'s holding queue
        for links not announced yet (full, or a link never taken); kept apart from
        :meth:`kernel_drops`, which counts what the kernel dropped before tapwatch read it."""
        return 0

    def load_status(self) -> LoadStatus | None:
        """How far a file is loaded; None for a source that loads nothing."""
        return None

    #: packets a capture filter kept out of the ring where no kernel counts them (a file's)
    filtered_out = 0

    @property
    def kernel_drops_meaning(self) -> str | None:
        """What :meth:`kernel_drops` counts on the capture path in use, in words."""
        return self.reader.kernel_drops_meaning if self.reader is not None else None

    def set_capture_filter(self, capture_filter: PacketFilter | None) -> None:
        """Keep what fails ``capture_filter`` out of the ring (None: keep everything)."""
        if self.reader is not None:
            lt = self.interfaces[0].linktype
            self.reader.set_capture_filter(
                capture_filter.for_linktype(lt) if capture_filter is not None else None
            )

    def write(self, frame: bytes) -> None:
        """Hand one frame to the device (the host receives it); OSError from the kernel."""
        if self.device is None:
            raise OSError("no device")
        self.device.write(frame)

    def _stop_reader(self) -> None:
        reader = self.reader
        if reader is not None:
            reader.stop()
            if reader.is_alive():
                reader.join(timeout=2)

    def close(self) -> None:
        """Stop reading and release what was opened (a created device disappears)."""
        self._stop_reader()
        if self.device is not None:
            self.device.close()


class DeviceSource(Source):
    """A tun/tap device tapwatch holds: read by a reader, written by the peer and the tunnel."""

    def __init__(
        self,
        info: InterfaceInfo,
        device: Device,
        reader: Reader | None,
        ring: Ring,
        wake: threading.Event,
    ) -> None:
        """``reader`` None: a device fed by hand (tests write and read it themselves)."""
        super().__init__([info], device=device, reader=reader)
        self.kind = info.kind
        self.ring = ring
        self.wake = wake
        self._link: tuple[float, LinkInfo] | None = None
        self._lock = threading.Lock()

    def inject(self, frame: bytes) -> None:
        """Write one frame into the device and record it: the host receives it.

        The one way in for the peer's replies, echoes, injected and replayed
        packets and the tunnel's frames (from whichever thread they come).
        Raises PeerError with the reason when the device cannot take it.
        """
        device = self.device
        iface = self.interfaces[0]
        if device is None or device.fd < 0 or iface.read_only_reason is not None:
            from tapwatch.peer import PeerError, PeerStopped  # only on the way out: per frame,
            # the import statement's look-up is time before the write (the tunnel's latency)

            if device is None or device.fd < 0:
                raise PeerError("no device to write to")
            # made again by another program: not ours to write
            raise PeerStopped(f"replies and echoes stopped: {iface.read_only_reason}")
        try:  # stamped as the write begins, stored before anything it makes the host send
            self.ring.append_written(device.write, Direction.INBOUND, frame, iface.index)
        except OSError as e:
            from tapwatch.peer import PeerError

            raise PeerError(f"writing to {self.name} failed: {e.strerror}") from None
        self.wake.set()

    def writable_fd(self) -> int:
        """The device's descriptor while :meth:`inject` may write into it, -1 otherwise: a
        tunnel end's compiled relay writes the peer's frames there itself (tapwatch.tunnel)."""
        device = self.device
        if device is None or device.fd < 0 or self.interfaces[0].read_only_reason is not None:
            return -1
        return device.fd

    def written(self, records: list[tuple[int, int, bytes]]) -> None:
        """Record the frames the tunnel's relay moved, both ways, in the order it moved them:
        each stamped as it was read from the device, or as its write into it began (what
        :meth:`inject` stores, stored after the writes)."""
        self.ring.extend(records, self.interfaces[0].index)
        self.wake.set()

    def link_info(self, force: bool = False) -> LinkInfo | None:
        """What the kernel says about the device, asked at most once a second (kept after close).

        Netlink is never asked from the UI's event loop (pyroute2's synchronous
        calls refuse to run there): the pump thread keeps this fresh.
        """
        device = self.device
        assert device is not None
        with self._lock:
            now = time.monotonic()
            cached = self._link
            closed = device.fd < 0 and cached is not None
            if closed or not (force or cached is None or now - cached[0] > 1.0):
                return cached[1] if cached is not None else None
            info = device.link_info()
            if info.state == "gone":
                if self.state != "waiting":  # a followed device waits for its name
                    self.state = "gone"
            elif self.state not in ("gone", "error"):
                self.state = info.state
                iface = self.interfaces[0]
                iface.addresses = info.addresses or iface.addresses
                iface.mtu = info.mtu or iface.mtu
            self._link = (now, info)
            return info

    def refresh(self) -> None:
        self.link_info()
        super().refresh()

    def kernel_drops(self) -> int | None:
        """Packets the kernel dropped before tapwatch could capture them.

        With the packet-ring reader that is the ring's overflow counter (the
        device queue's own drops are then no capture loss); on the fallback
        readers it is the device queue's tx_dropped, as last read by the pump.
        """
        drops = super().kernel_drops()
        if drops is not None:
            return drops
        cached = self._link
        return cached[1].tx_dropped if cached is not None else None

    def close(self) -> None:
        self._stop_reader()
        if self.device is not None and self.device.fd >= 0:
            self.link_info(force=True)  # the kernel's final drop count, while the device exists
        super().close()


class RecordSource(Source):
    """Records fed by a test or a script (``Session.feed``): no reader, no device."""

    def __init__(self, info: InterfaceInfo) -> None:
        super().__init__([info])
        self.kind = info.kind


# ----- opening ---------------------------------------------------------------------------------


def close_all(sources: list[Source]) -> None:
    """Close what was opened, newest first; a failure here never hides the one being reported."""
    for s in reversed(sources):
        with contextlib.suppress(Exception):
            s.close()


def open_live(
    opts: Options, ring: Ring, wake: threading.Event, capture_filter: PacketFilter | None = None
) -> list[Source]:
    """Open the device and/or observed interfaces ``opts`` names, in that order.

    The device (if any) is interface 0, observed interfaces follow in the
    order given. ``--netns`` and ``--demo`` move the whole process into the
    namespace first, so the device, its configuration and every socket live
    there. A device that another program holds (``--attach``) is observed
    read-only instead, when nothing was asked that needs the device itself.
    ``capture_filter`` keeps what fails it out of the ring, in the kernel where
    the capture path allows - except for a device whose frames the peer or a
    tunnel must all see (the session filters those itself).

    Observed interfaces and an attached device are followed by name
    (:mod:`tapwatch.follow`): one that does not exist yet is waited for, one
    that goes away is waited for again, and ``-i any`` takes interfaces made
    later too. The :class:`~tapwatch.follow.LinkWatch` that hears of them comes
    last in the list.
    """
    from tapwatch import device as devmod

    if opts.netns:
        devmod.setns(opts.netns)
    if opts.demo:
        devmod.unshare_netns()
    sources: list[Source] = []
    watch = None
    try:
        observe = list(opts.observe)
        if observe or opts.attach:
            from tapwatch.follow import LinkWatch

            try:
                watch = LinkWatch(ring, wake, capture_filter, any_interface="any" in observe)
            except SourceError:  # no netlink here (a sandbox?): interfaces as they are now
                watch = None
        name = opts.device_name
        if name is not None:
            sources.append(_device_or_observer(opts, ring, wake, capture_filter))
            if opts.attach and watch is not None:  # a VPN may delete it and make it again
                _follow(sources[-1], ring, wake, capture_filter, watch, named_by_kernel=False)
        kernel_names: set[str] = set()
        if "any" in observe:
            import socket

            there = socket.if_nameindex()  # read by sockets of their own; later ones: shared
            if watch is not None:
                watch.open_new_links({index for index, _name in there})
            observe, kernel_names = _every_interface(observe, {s.name for s in sources}, there)
        for obs in observe:
            if any(s.name == obs for s in sources):
                raise SourceError(f"{obs} is named twice: watch each interface once")
            if len(sources) >= MAX_INTERFACES:
                raise SourceError(f"at most {MAX_INTERFACES} interfaces in one session")
            by_kernel = obs in kernel_names
            if watch is not None and not by_kernel and not devmod.exists(obs):
                devmod.validate_name(obs)
                sources.append(_waiting(obs, ring, wake, len(sources), capture_filter, watch))
                continue
            try:
                src = open_observer(
                    obs,
                    ring,
                    wake,
                    index=len(sources),
                    capture_filter=capture_filter,
                    named_by_kernel=by_kernel,
                )
            except SourceError:
                # the link went between its check and its socket (a VPN restarting as
                # tapwatch starts): what a name that does not exist gets, never the end
                if watch is None or devmod.exists(obs):
                    raise
                if not by_kernel:  # --observe NAME: waited for, as one not made yet
                    sources.append(_waiting(obs, ring, wake, len(sources), capture_filter, watch))
                # -i any: left out, as a link gone before the start; one made again under
                # its name is a new link, which the shared socket reads from its first packet
                continue
            sources.append(src)
            if watch is not None:
                _follow(src, ring, wake, capture_filter, watch, named_by_kernel=by_kernel)
        if watch is not None:
            watch.taken = {s.name for s in sources}
            sources.append(watch)
    except BaseException:
        close_all(sources)
        if watch is not None:
            watch.close()
        raise
    return sources


def _device_or_observer(
    opts: Options, ring: Ring, wake: threading.Event, capture_filter: PacketFilter | None
) -> Source:
    """The device ``--create``/``--attach`` names; observed when another program holds it."""
    from tapwatch import device as devmod

    name = opts.device_name
    assert name is not None
    try:
        peer = opts.mode != "drop" or opts.tunnel
        return _open_device(
            opts, ring, wake, index=0, capture_filter=None if peer else capture_filter
        )
    except devmod.CannotAttach as busy:  # held by another program, packet-info...
        if opts.mode != "drop" or opts.tunnel or opts.addrs or opts.mtu or opts.txqueuelen:
            raise SourceError(
                f"{busy}; echo, reply, a tunnel, replay and configuration need the device itself"
            ) from None
        return open_observer(
            name, ring, wake, index=0, why=str(busy), capture_filter=capture_filter
        )


def _follow(
    src: Source,
    ring: Ring,
    wake: threading.Event,
    capture_filter: PacketFilter | None,
    watch: LinkWatch,
    *,
    named_by_kernel: bool,
) -> None:
    from tapwatch.follow import Follow

    src.follow = Follow(src, ring, wake, capture_filter, named_by_kernel=named_by_kernel)
    watch.add_follow(src.follow)


def _waiting(
    name: str,
    ring: Ring,
    wake: threading.Event,
    index: int,
    capture_filter: PacketFilter | None,
    watch: LinkWatch,
) -> Source:
    """A source for an interface that does not exist yet: it starts reading when it appears."""
    from tapwatch import device as devmod
    from tapwatch.follow import WAITING, Follow, FollowedSource, guess_linktype

    devmod.validate_name(name)
    info = InterfaceInfo(
        name,
        "observe",
        read_only_reason="observer mode is read-only",
        linktype=guess_linktype(name),
        index=index,
    )
    src = FollowedSource(info)
    src.state = WAITING
    src.follow = Follow(src, ring, wake, capture_filter, present=False)
    watch.add_follow(src.follow)
    return src


def _every_interface(
    observe: list[str], taken: set[str], there: list[tuple[int, str]]
) -> tuple[list[str], set[str]]:
    """``-i any``: every interface of the namespace tapwatch can decode, in index order, and
    which of the names came from the kernel.

    tcpdump's ``any`` is one Linux cooked capture of all of them; tapwatch
    observes each on its own (its own link type, its own name on every line),
    which prints the same ``-i any`` lines. A name the kernel gives is taken as
    it is, however odd (the kernel allows escapes and any bytes but '/', ':' and
    whitespace); it is escaped wherever it is shown, like every other name.
    ``there``: the links there are (``socket.if_nameindex()``), read once: a link made
    after it is read by ``-i any``'s shared socket (:mod:`tapwatch.capture.anylink`).
    """
    names = [n for n in observe if n != "any"]
    found: set[str] = set()
    for _index, name in sorted(there):
        if name in taken or name in names:
            continue
        try:
            observed_kind(name, named_by_kernel=True)
        except SourceError:
            continue  # a link type tapwatch does not decode: tcpdump's cooked any would show it
        names.append(name)
        found.add(name)
    return names, found


def _open_device(
    opts: Options,
    ring: Ring,
    wake: threading.Event,
    index: int,
    capture_filter: PacketFilter | None,
) -> DeviceSource:
    from tapwatch import device as devmod
    from tapwatch.capture import Reader, ThreadReader, requested_path

    if opts.create:
        dev = devmod.Device.create(opts.create, tap=opts.tap)
    else:
        assert opts.attach is not None
        dev = devmod.Device.attach(opts.attach)
    reader = None
    try:
        # read from before the link is up, so not even the first packet can slip by
        flt = capture_filter.for_linktype(dev.linktype) if capture_filter is not None else None
        # a tunnel's end reads the device itself, a packet at a time: the kernel's packet
        # ring hands a block over only when it is full or its timeout (2 ms) ends, which
        # made device -> peer 1.2 ms slower at the median than a plain relay
        # (bench/tunnel_latency_bench.py); a tunnel is paced by its peer anyway
        make = ThreadReader if opts.tunnel and requested_path() is None else Reader
        reader = make(dev.fd, ring, wake, iface=index, capture_filter=flt)
        reader.start()
        txq = opts.txqueuelen or (1000 if dev.created else None)
        dev.configure(list(opts.addrs), mtu=opts.mtu, up=True, txqueuelen=txq)
        link = dev.link_info()
        addresses = link.addresses or [str(a) for a in opts.addrs]
        info = InterfaceInfo(
            dev.name,
            dev.kind,
            addresses=addresses,
            mtu=link.mtu,
            mac=link.mac,
            linktype=dev.linktype,
            index=index,
        )
        return DeviceSource(info, dev, reader, ring, wake)
    except BaseException:
        if reader is not None:
            reader.stop()
            reader.join(timeout=2)
        dev.close()
        raise


def observed_linktype(name: str) -> int:
    """The link type a packet socket on ``name`` delivers (Ethernet or raw IP)."""
    return observed_kind(name)[0]


def observed_kind(name: str, *, named_by_kernel: bool = False) -> tuple[int, bool]:
    """The link type a packet socket on ``name`` delivers, and whether it is a loopback.

    ``named_by_kernel``: the name came from the kernel's list (``-i any``), not from
    the user, and is not held to what a user may type.
    """
    from tapwatch import device as devmod

    if not named_by_kernel:
        devmod.validate_name(name)
    link = devmod.kernel_link(name)
    if link is None:
        raise SourceError(f"interface {name} does not exist (ip link shows the ones there are)")
    return kind_of_link(name, link.arphrd)


def kind_of_link(name: str, arphrd: int) -> tuple[int, bool]:
    """The link type a packet socket delivers for a link of type ``arphrd``, and whether
    it is a loopback (SourceError for a type tapwatch does not decode)."""
    if arphrd in _ARPHRD_ETHERNET:
        return LINKTYPE_ETHERNET, arphrd == _ARPHRD_LOOPBACK
    if arphrd in _ARPHRD_RAW:
        return LINKTYPE_RAW, False
    raise SourceError(f"cannot observe {name}: link type {arphrd} is not one tapwatch decodes")


def observer_reader(
    name: str,
    ring: Ring,
    wake: threading.Event,
    *,
    index: int,
    linktype: int,
    loopback: bool,
    capture_filter: PacketFilter | None = None,
) -> CaptureReader:
    """A packet-socket reader of ``name`` (not started), its records numbered ``index``."""
    from tapwatch import device as devmod
    from tapwatch.capture import PacketSocketReader, open_packet_socket

    try:
        sock = open_packet_socket(name)
    except PermissionError:
        hint = devmod.cap_hint("CAP_NET_RAW")
        raise SourceError(f"not permitted to observe {name}: {hint}") from None
    except OSError as e:
        raise SourceError(f"cannot observe {name}: {e.strerror}") from None
    flt = capture_filter.for_linktype(linktype) if capture_filter is not None else None
    try:
        return PacketSocketReader(
            sock, ring, wake, iface=index, capture_filter=flt, loopback=loopback
        )
    except OSError as e:  # the link went between the name's check and the socket's start
        sock.close()
        raise SourceError(f"cannot observe {name}: {e.strerror}") from None


def _link_mtu(name: str) -> int | None:
    """An interface's MTU as the kernel says it now, asked through a socket of the
    namespace tapwatch works in (``--netns`` moves the process, not /sys); None when it
    cannot be had."""
    import fcntl
    import socket

    siocgifmtu = 0x8921
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16si20x", name.encode()[:15], 0)
            return int(struct.unpack_from("16si", fcntl.ioctl(s.fileno(), siocgifmtu, ifreq))[1])
    except (OSError, UnicodeError):
        return None


def open_observer(
    name: str,
    ring: Ring,
    wake: threading.Event,
    *,
    index: int,
    why: str | None = None,
    capture_filter: PacketFilter | None = None,
    named_by_kernel: bool = False,
) -> Source:
    """Passive capture through AF_PACKET: any interface, both directions, read-only."""
    linktype, loopback = observed_kind(name, named_by_kernel=named_by_kernel)
    reader = observer_reader(
        name,
        ring,
        wake,
        index=index,
        linktype=linktype,
        loopback=loopback,
        capture_filter=capture_filter,
    )
    reason = (why + "; observing read-only") if why else "observer mode is read-only"
    info = InterfaceInfo(name, "observe", read_only_reason=reason, linktype=linktype, index=index)
    info.mtu = _link_mtu(name)  # what the links' "over MTU" compares outer packets with
    src = Source([info], reader=reader)
    src.kind = "observe"
    return src


def responder_for(source: Source, mode: PeerMode, peers: list[str]) -> Responder | None:
    """A responder for reply mode, built whenever the device has addresses to answer for."""
    from tapwatch.peer import PeerError, Responder, stable_mac

    if source.device is None:
        return None
    info = source.interfaces[0]
    own = []
    for a in info.addresses:
        try:
            own.append(ipaddress.ip_interface(a))
        except ValueError:
            continue
    if not own:
        if mode == "reply":
            raise SourceError(
                "--reply answers for addresses in the device's subnets: give the "
                "device one with --addr (e.g. --addr 192.168.3.11/24)"
            )
        return None
    try:
        peer_addrs = [ipaddress.ip_address(p) for p in peers] or None
    except ValueError as e:
        raise SourceError(f"invalid --peer: {e}") from None
    try:
        responder = Responder(info.linktype, own, peer_addrs, stable_mac(info.name))
    except PeerError as e:
        raise SourceError(str(e)) from None
    if info.linktype == LINKTYPE_ETHERNET:
        info.peer_mac = responder.mac_str
    return responder
