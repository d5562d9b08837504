"""Replay a capture into a tun/tap device, converting link types and keeping the timing.

A capture taken on an Ethernet interface can be replayed into a tun (the
Ethernet header is stripped), a tun capture into a tap (an Ethernet header is
added), and Linux "cooked" captures (``tcpdump -i any``) into either. Frames
that cannot cross (ARP into a tun, an unknown protocol) are skipped and
counted, never silently lost.

Timing is scheduled against the start of the replay, not by accumulating
sleeps, so a long replay does not drift: packet *n* goes out at
``start + (ts_n - ts_0) / speed`` however late packet *n-1* was.
"""

from __future__ import annotations

import errno
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from tapwatch.decode import walk
from tapwatch.errors import TapwatchError
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_RAW,
    SUPPORTED,
)
from tapwatch.linktypes import name as linktype_name
from tapwatch.wire import ETH_P_IP, ETH_P_IPV6, parse_mac

if TYPE_CHECKING:
    from tapwatch.session import Session

DEFAULT_SRC_MAC = b"\x02\x00\x00\x00\x00\x01"
DEFAULT_DST_MAC = b"\xff" * 6

#: Link types a device can take: what tun (raw IP) and tap (Ethernet) carry.
TARGETS = frozenset((LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_ETHERNET))
_RAW_TYPES = (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6)
#: BSD loopback address-family values meaning IPv6 (NetBSD/OpenBSD, FreeBSD, macOS).
_NULL_AF_INET6 = frozenset((24, 28, 30))

#: Longest single sleep, so a stop request is noticed quickly even with a plain sleep().
_MAX_SLEEP = 0.1
#: Per-packet write errors: the kernel refused this frame, the device is still fine.
_PACKET_ERRNOS = frozenset((errno.EINVAL, errno.EMSGSIZE, errno.EAFNOSUPPORT))


class ReplayError(TapwatchError):
    """Replay cannot start or had to stop; one-line message for the user."""


class ReplayResult(NamedTuple):
    """How a replay went: frames written, frames skipped, seconds taken, stopped early."""

    sent: int
    skipped: int
    elapsed: float
    stopped: bool = False


def _mac(value: bytes | str | None, default: bytes) -> bytes:
    if value is None:
        return default
    try:
        return parse_mac(value)
    except ValueError as e:
        raise ReplayError(str(e)) from None


def check_convertible(from_lt: int, to_lt: int) -> None:
    """Raise :class:`ReplayError` unless frames of ``from_lt`` can be replayed into ``to_lt``.

    Individual frames may still be skipped (ARP into a tun); this only rejects
    combinations that can never work, before anything is written.
    """
    if to_lt not in TARGETS:
        raise ReplayError(
            f"cannot replay into a {linktype_name(to_lt)} device: "
            "only tun (raw IP) and tap (Ethernet) devices"
        )
    if from_lt not in SUPPORTED:
        raise ReplayError(
            f"cannot replay {linktype_name(from_lt)} captures: tapwatch converts "
            "Ethernet, raw IP, Linux cooked (SLL/SLL2) and BSD loopback"
        )


def _ip_version(packet: bytes | memoryview) -> int:
    return packet[0] >> 4 if len(packet) else 0


def _trim_ip(packet: bytes) -> bytes:
    """Drop Ethernet padding after an IP packet, using its own length field."""
    version = _ip_version(packet)
    if version == 4 and len(packet) >= 20:
        total = (packet[2] << 8) | packet[3]
        if 20 <= total < len(packet):
            return packet[:total]
    elif version == 6 and len(packet) >= 40:
        plen = (packet[4] << 8) | packet[5]
        if plen and 40 + plen < len(packet):  # plen 0 = jumbogram: leave as is
            return packet[: 40 + plen]
    return packet


def _split(data: bytes, from_lt: int) -> tuple[int, bytes, bytes] | None:
    """Split a frame into (ethertype, network-layer payload, Ethernet tags to keep).

    Read from the decoder's header walk: the first ethertype a link header names (after
    any VLAN tags) and where that layer starts.  Returns None when the frame carries no
    ethertype we can name (an 802.3 length field with LLC, a header cut short), or names
    IP and does not hold the IP version it names.
    """
    w = walk(data, from_lt, False)
    net = w.net
    etype = w.ethertype
    if net < 0 or etype < 0x0600:
        return None
    tags = b""
    if from_lt == LINKTYPE_ETHERNET:
        if not w.ethernet_ii():
            return None  # 802.3 with SNAP: no Ethernet II header to keep
        tags = data[12 : net - 2]
    payload = data[net:]
    if (etype == ETH_P_IP and _ip_version(payload) != 4) or (
        etype == ETH_P_IPV6 and _ip_version(payload) != 6
    ):
        return None
    return etype, payload, tags


def convert(
    data: bytes,
    from_lt: int,
    to_lt: int,
    src_mac: bytes | str | None = None,
    dst_mac: bytes | str | None = None,
) -> bytes | None:
    """``data`` (a frame of link type ``from_lt``) as a frame of ``to_lt``, or None.

    * same link type: unchanged.
    * raw IP / IPv4 / IPv6 / SLL / SLL2 / BSD loopback -> Ethernet: a new header
      ``dst_mac, src_mac, ethertype`` (defaults: broadcast and 02:00:00:00:00:01).
    * Ethernet / SLL / SLL2 / BSD loopback -> raw IP: the IPv4/IPv6 packet inside,
      Ethernet padding trimmed and VLAN tags dropped; anything else (ARP...) None.
    * into LINKTYPE_IPV4 / IPV6: only packets of that IP version.

    Never raises on hostile bytes (a malformed frame gives None); an impossible
    link type pair raises :class:`ReplayError` like :func:`check_convertible`.
    """
    if from_lt == to_lt:
        return data
    check_convertible(from_lt, to_lt)
    try:
        split = _split(data, from_lt)
    except (struct.error, IndexError):
        return None
    if split is None:
        return None
    etype, payload, _tags = split
    if to_lt == LINKTYPE_ETHERNET:
        header = _mac(dst_mac, DEFAULT_DST_MAC) + _mac(src_mac, DEFAULT_SRC_MAC)
        return header + struct.pack("!H", etype) + payload
    if etype == ETH_P_IP and _ip_version(payload) == 4 and to_lt in (LINKTYPE_RAW, LINKTYPE_IPV4):
        return _trim_ip(bytes(payload))
    if (
        etype == ETH_P_IPV6
        and _ip_version(payload) == 6
        and to_lt
        in (
            LINKTYPE_RAW,
            LINKTYPE_IPV6,
        )
    ):
        return _trim_ip(bytes(payload))
    return None


_convert_frame = convert  # replay() has a parameter of the same name


def _record_parts(record: Sequence[object]) -> tuple[int, bytes]:
    """(ts_ns, data) from a 2-tuple or from a longer record such as pcap's PcapRecord."""
    ts_ns = record[0]
    data = record[1]
    if not isinstance(ts_ns, int) or not isinstance(data, (bytes, bytearray, memoryview)):
        raise ReplayError("replay records must be (timestamp_ns, bytes)")
    return ts_ns, bytes(data)


def replay(
    records: Iterable[Sequence[object]],
    write: Callable[[bytes], object],
    *,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
    from_lt: int | None = None,
    to_lt: int | None = None,
    src_mac: bytes | str | None = None,
    dst_mac: bytes | str | None = None,
    max_gap: float | None = None,
    convert: Callable[[tuple[int, bytes]], tuple[int, bytes] | None] | None = None,
) -> ReplayResult:
    """Write ``records`` (``(ts_ns, data, ...)``) with ``write``, keeping their timing.

    ``speed`` scales time (2.0 = twice as fast); 0 sends as fast as possible.
    When ``from_lt`` and ``to_lt`` are given and differ, every frame goes
    through :func:`convert` (with ``src_mac``/``dst_mac``) and frames that
    cannot be converted are skipped and counted. Instead, a caller may pass its
    own ``convert(record) -> (ts_ns, frame) | None`` hook (applied after the
    timing, so a skipped frame keeps its slot in the schedule; None skips).
    ``max_gap`` (seconds, after scaling) caps any single pause, for captures
    with idle hours in them.

    ``stop`` ends the replay early (``stopped=True`` in the result); waiting
    uses ``stop.wait`` so it reacts at once. ``clock``/``sleep`` are injectable
    for tests. An ``OSError`` from ``write`` means the device went away (or the
    fd broke) and raises :class:`ReplayError`, except EINVAL/EMSGSIZE, which
    the kernel returns for one unacceptable frame: that frame counts as skipped.
    """
    if speed < 0 or speed != speed:
        raise ReplayError(f"replay speed must be 0 (as fast as possible) or positive, not {speed}")
    if max_gap is not None and max_gap < 0:
        raise ReplayError("the maximum gap must not be negative")
    converting = from_lt is not None and to_lt is not None and from_lt != to_lt
    if converting:
        assert from_lt is not None and to_lt is not None
        check_convertible(from_lt, to_lt)
        smac = _mac(src_mac, DEFAULT_SRC_MAC)
        dmac = _mac(dst_mac, DEFAULT_DST_MAC)
    if sleep is not None:
        wait: Callable[[float], object] = sleep
    elif stop is not None:
        wait = stop.wait
    else:
        wait = time.sleep

    sent = skipped = 0
    start = clock()
    base_ts: int | None = None
    shift = 0.0  # seconds removed from the schedule by max_gap
    prev_offset = 0.0
    stopped = False
    for record in records:
        if stop is not None and stop.is_set():
            stopped = True
            break
        ts_ns, data = _record_parts(record)
        if base_ts is None:
            base_ts = ts_ns
        if speed > 0:
            offset = (ts_ns - base_ts) / 1e9 / speed
            if max_gap is not None and offset - prev_offset > max_gap:
                shift += offset - prev_offset - max_gap
            prev_offset = max(prev_offset, offset)
            target = start + offset - shift
            while True:
                remaining = target - clock()
                if remaining <= 0:
                    break
                if stop is not None and stop.is_set():
                    break
                wait(min(remaining, _MAX_SLEEP))
            if stop is not None and stop.is_set():
                stopped = True
                break
        frame: bytes | None = data
        if convert is not None:
            hooked = convert((ts_ns, data))
            frame = None if hooked is None else hooked[1]
        if converting and frame is not None:
            frame = _convert_frame(frame, from_lt, to_lt, smac, dmac)  # type: ignore[arg-type]
        if frame is None:
            skipped += 1
            continue
        try:
            write(frame)
        except OSError as exc:
            if exc.errno in _PACKET_ERRNOS:
                skipped += 1
                continue
            reason = exc.strerror or str(exc)
            raise ReplayError(
                f"replay stopped after {sent} packets: cannot write to the device: {reason}"
            ) from None
        sent += 1
    return ReplayResult(sent, skipped, clock() - start, stopped)


class Replayer(threading.Thread):
    """``--replay``: writes a capture's packets into the session's device, in a thread.

    The file is streamed, never loaded whole; frames that cannot enter the
    device (ARP into a tun, a frame the kernel refuses) are skipped and
    counted. A corrupt record ends the replay with an error that says how far
    it got. What is written is captured like every other frame tapwatch
    writes (the host receives it).
    """

    def __init__(self, session: Session, path: str, speed: float) -> None:
        super().__init__(name="tapwatch-replay", daemon=True)
        from tapwatch.pcap import PcapError, read_capture

        self.session = session
        self.speed = speed
        self.stop_event = threading.Event()
        self.error: str | None = None
        self.result: ReplayResult | None = None
        try:
            self.capture = read_capture(path)
        except PcapError as e:  # its message names the file
            raise ReplayError(f"--replay {e}") from None
        try:
            check_convertible(self.capture.linktype, session.linktype)
        except ReplayError as e:
            self.capture.close()
            raise ReplayError(f"--replay {path}: {e}") from None
        self.path = path

    def run(self) -> None:
        from tapwatch.pcap import PcapError
        from tapwatch.peer import PeerError

        s = self.session
        # frames for a tap come from the peer's stable MAC to the device's own MAC
        responder = s.peer.responder if s.peer is not None else None
        peer = responder.mac if responder is not None else None

        def write(frame: bytes) -> None:
            try:
                s.inject(frame)
            except PeerError as e:
                raise ReplayError(str(e)) from None

        try:
            with self.capture:
                self.result = replay(
                    ((r.ts_ns, r.data) for r in self.capture),
                    write,
                    speed=self.speed,
                    stop=self.stop_event,
                    from_lt=self.capture.linktype,
                    to_lt=s.linktype,
                    src_mac=peer,
                    dst_mac=s.info.mac,
                )
        except (ReplayError, PcapError) as e:
            self.error = str(e)
        except Exception as e:  # a bug: the command line says it and exits non-zero
            from tapwatch.threads import one_line

            self.error = f"{self.path}: stopped: internal error ({one_line(e)})"

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout=2)


def start_replay(session: Session, path: str, speed: float) -> Replayer:
    """Open ``path`` for replay into the session's device and start writing it."""
    r = Replayer(session, path, speed)
    r.start()
    return r
