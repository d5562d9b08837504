"""Inner and outer, linked: which outer packet carried which inner packet, and what the
tunnel did to it on the way.

The :class:`Linker` sees every record once, in ring order (the pump hands them
over, see :class:`tapwatch.sinks.LinkSink`), and links an inner packet (seen
on a tun, a tap, a vxlan or wg interface) to the outer packet that carried it
(seen on the interface underneath), both ways:

- exactly where the framing is visible: a cleartext encapsulation carries the
  inner packet's very bytes (:func:`~tapwatch.analysis.encap.decapsulate`), and
  a framed tunnel stream (tapwatch's own tunnel end, ``--tunnel-decode``) hands
  out whole frames; the bytes are the key.
- inferred where the tunnel encrypts (WireGuard, OpenVPN, ESP): the same
  direction, within a time window, the oldest inner packet whose length and the
  protocol's overhead make the outer payload's length. Such a link is marked
  inferred and never shown as certain.

What no tunnel costs: one call to :func:`~tapwatch.analysis.encap.outer_hint` a
record (a few byte reads). The stores of candidates fill only while tunnel
traffic is seen (the linker is *active*: an outer packet in the last
``ACTIVE_NS``); when it becomes active it looks back into the ring for the
inner packets that came just before. Everything held is bounded by time and
by count; links of records the ring evicted are forgotten.

The MTU an outer packet is held against is its interface's at the packet's time: the one
read when the interface was opened (or announced), then each MTU the interface events
(LINKTYPE_NETLINK records: a link changed, went up or down) say it had from their stamp on,
matched by the link's name as the session names it (:mod:`~tapwatch.analysis.mtus`): with several
merged inputs (``-r a -r b``) an input's events name its own host's links (``a:eth0``, never
``b:eth0``).

OpenVPN in static-key mode (``--secret``) has no opcode: its packets begin with their
HMAC, so a first byte that is no opcode (two in three are not) says the tunnel is one, and
then every packet of it is data, its overhead the HMAC and IV and the cipher's block
padding (:func:`~tapwatch.analysis.encap.static_key_base`). Until the mode is known
(``OPENVPN_SURE`` packets with opcodes make it TLS mode), packets that look like control
packets are held, and linked after all if the tunnel turns out static-key.

Outer packets cut in IPv4 fragments are put together first
(:mod:`~tapwatch.analysis.fragments`); OpenVPN over TCP is a stream of
length-prefixed packets, each an outer packet of its own.

What follows from each link, per tunnel and direction (time inside the tunnel,
overhead, packets that went in and never came out, outer packets too big for
the outer interface's MTU, ICMP "too big" tied to its flow, WireGuard's
handshakes, receiver indexes and counters, OpenVPN's packet-ids), and how it is
told, is :mod:`~tapwatch.analysis.tunnelstats`.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tapwatch.analysis.encap import (
    FRAMED,
    OPENVPN_DATA,
    OPENVPN_OPS,
    OPENVPN_TCP,
    OUTER_PORTS,
    OUTER_PROTOS,
    Encap,
    decapsulate,
    fits,
    inner_key,
    ip_view,
    openvpn,
    outer_hint,
    static_key_base,
)
from tapwatch.analysis.fragments import Reassembler
from tapwatch.analysis.headers import addr_text, transport
from tapwatch.analysis.mtus import MtuBook
from tapwatch.analysis.tunnelstats import (
    MAX_TOO_BIG,
    Link,
    TooBig,
    TunnelStats,
    about,
    dir_label,
    tunnel_name,
)
from tapwatch.kinds import Direction
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NETLINK,
    LINKTYPE_RAW,
)

if TYPE_CHECKING:
    from tapwatch.ring import Record, Ring
    from tapwatch.sources import InterfaceInfo
    from tapwatch.tunnelview import TunnelView

#: IP protocols the inactive linker's loop hands to ``take``: the encapsulations, and
#: IPv6's extension headers (the real protocol is behind them)
_LOOK_CLOSER = OUTER_PROTOS | frozenset((0, 43, 44, 60))

#: Per link type: where the IP header starts and where the ethertype's first byte is (-1:
#: none, raw IP) - a tun, Ethernet, Linux cooked v1 and v2 (``tcpdump -i any`` files)
_QUICK_HEADS = {
    LINKTYPE_RAW: (0, -1),
    LINKTYPE_ETHERNET: (14, 12),
    LINKTYPE_LINUX_SLL: (16, 14),
    LINKTYPE_LINUX_SLL2: (20, 0),
}

#: how long after the last outer packet the linker keeps collecting candidates
ACTIVE_NS = 10_000_000_000
#: how far apart an inner packet and its outer packet may be (exact, inferred)
EXACT_WINDOW_NS = 2_000_000_000
INFERRED_WINDOW_NS = 500_000_000
#: An inferred candidate this much older than its would-be other end is taken only when no
#: younger one fits: a VPN that restarts drops the inner packets sent while it was down, and
#: the oldest of equal length (a ping's) would otherwise link every later packet to the one
#: before it (seen: 408 ms "inside" across an OpenVPN restart, where 0.09 ms was true).
STALE_NS = 50_000_000
#: an outer packet may be stamped this much before its inner one (two readers' clocks)
SLACK_NS = 1_000_000
#: candidates held at most (each kind); the oldest go first
MAX_CANDIDATES = 8192
#: inferred candidates looked at for one packet
MAX_SCAN = 64
#: records looked back at in the ring when tunnel traffic starts
BACKFILL = 512
#: records with links held at most (the ring's evictions prune them sooner)
MAX_LINKED = 131_072
#: OpenVPN packets with valid opcodes after which a tunnel is taken to be in TLS mode (a
#: static-key tunnel's random first byte looks like one a time in three: 3**-16 by chance)
OPENVPN_SURE = 16
#: OpenVPN packets held per tunnel while its mode is not known
OPENVPN_HELD = 32
#: frames of one stream segment (framed, OpenVPN over TCP) linked at most; the rest are
#: counted in ``frames_skipped``. A 64 KB segment of 1400-byte packets holds ~46; one of
#: 4-byte frames 16,000, which took 1.3-3.6 s of the pump's time to link one by one.
MAX_FRAMES_LINKED = 256


@dataclass(slots=True)
class _Cand:
    """An inner packet waiting for its outer one (or an outer one for its inner)."""

    seq: int
    ts: int
    iface: int
    direction: int
    length: int  # IP length (inner), encrypted payload (outer)
    encap: Encap | None = None
    linked: bool = False


class Linker:
    """Links inner and outer records as they come (pump thread); read from any thread.

    ``linktypes`` and ``interfaces``: the session's (lists that grow when a file
    names another interface). ``inputs``: each interface's input where several
    captures are merged (``-r a -r b``: two hosts, two clocks); an inner packet is
    linked only to an outer packet of its own input (empty: one input). ``ring``:
    where to look back when tunnel traffic starts. ``view``: a framed tunnel stream
    follower (tapwatch's own tunnel, ``--tunnel-decode``), whose frames link exactly.
    """

    def __init__(
        self,
        linktypes: Sequence[int] = (),
        interfaces: Sequence[InterfaceInfo] = (),
        ring: Ring | None = None,
        view: TunnelView | None = None,
    ) -> None:
        self.linktypes = linktypes
        self.interfaces = interfaces
        self.inputs: Sequence[int] = ()
        self.ring = ring
        self.view = view
        self._ports = view.ports if view is not None else frozenset()
        self.lock = threading.Lock()
        self.active_until = -1
        self.links: OrderedDict[int, list[Link]] = OrderedDict()
        self.tunnels: dict[tuple[object, ...], TunnelStats] = {}
        self.too_big: deque[TooBig] = deque(maxlen=MAX_TOO_BIG)
        self._iface_tunnel: dict[int, tuple[object, ...]] = {}
        self._outer_ifaces: set[int] = set()  # where outer packets were seen
        self._exact_inner: dict[bytes, list[_Cand]] = {}
        self._exact_outer: dict[bytes, list[_Cand]] = {}
        self._exact_order: deque[tuple[int, bytes, bool]] = deque()
        self._inf_inner: deque[_Cand] = deque()
        self._inf_outer: deque[_Cand] = deque()
        self._last_seq = 0
        self._ovpn_view: TunnelView | None = None  # OpenVPN's TCP streams, once one is seen
        #: OpenVPN packets like control ones, of tunnels whose mode is not known yet
        self._ovpn_held: dict[tuple[object, ...], deque[tuple[Record, Encap]]] = {}
        self.fragments = Reassembler()  # outer datagrams the path's MTU cut in pieces
        self.mtus = MtuBook()  # the outer interfaces' MTUs over time, and who was held to them
        self.frames_skipped = 0  # stream frames past MAX_FRAMES_LINKED in their segment

    def bind(
        self,
        linktypes: Sequence[int],
        interfaces: Sequence[InterfaceInfo],
        ring: Ring,
        inputs: Sequence[int] = (),
    ) -> None:
        """The session's link types, interfaces, their inputs and ring (lists it grows in
        place)."""
        self.linktypes, self.interfaces, self.ring = linktypes, interfaces, ring
        self.inputs = inputs

    def _apart(self, a: int, b: int) -> bool:
        """Whether interfaces ``a`` and ``b`` come from two merged inputs (two hosts): the
        two ends of one tunnel hold the same inner bytes, and with one host's clock a
        millisecond behind, one host's inner packet was linked to the other's outer one."""
        inputs = self.inputs
        n = len(inputs)
        return n > 0 and (inputs[a] if a < n else -1) != (inputs[b] if b < n else -1)

    # ----- the pump's side ---------------------------------------------------------------
    def take_batch(self, records: Sequence[Record], linktypes: Sequence[int]) -> None:
        """A batch of records in ring order: the pump's call, once a batch.

        While no tunnel is in sight, ``_quick`` is all a record costs: a few byte
        reads rule out the common case (TCP, and UDP off the tunnels' ports, over IPv4
        or IPv6, on a tun or an Ethernet); anything else goes to ``take``. While
        tunnel traffic is seen, every record goes to ``take`` (each is a candidate).
        """
        i, n = 0, len(records)
        take = self.take
        while i < n:
            if self.active_until > 0:
                while i < n:
                    rec = records[i]
                    i += 1
                    take(rec, linktypes[rec[4]])
                    if self.active_until < 0:
                        break
            else:
                i = self._quick(records, i, linktypes)

    def _quick(self, records: Sequence[Record], i: int, linktypes: Sequence[int]) -> int:
        """The inactive linker's loop from ``records[i]``: returns where it stopped (after
        a record that made it active, or the end).

        Per interface the IP header's offset and the ethertype's (``_QUICK_HEADS``; other
        link types go to ``take``); TCP over IPv4 without options is ruled out after four
        byte reads.
        """
        ports = OUTER_PORTS
        framed = self._ports
        quick_skip = _LOOK_CLOSER
        take = self.take
        heads = [_QUICK_HEADS.get(lt, (-1, -1)) for lt in linktypes]
        for rec in records[i:] if i else records:
            i += 1
            data = rec[3]
            off, et = heads[rec[4]]
            try:
                if off >= 0 and (et < 0 or data[et] == 8 or data[et] == 0x86):
                    b = data[off]
                    if b == 0x45:
                        proto = data[off + 9]
                        p = off + 20
                    elif b >> 4 == 6:
                        proto = data[off + 6]
                        p = off + 40
                    else:
                        proto = p = -1
                    if proto == 6:
                        # OpenVPN's 1194 is 0x04AA: its low byte rules most ports out
                        if (
                            (data[p + 1] != 0xAA or data[p] != 4)
                            and (data[p + 3] != 0xAA or data[p + 2] != 4)
                            and (
                                not framed
                                or (
                                    (data[p] << 8 | data[p + 1]) not in framed
                                    and (data[p + 2] << 8 | data[p + 3]) not in framed
                                )
                            )
                        ):
                            continue
                    elif proto == 17:
                        # an IPv4 fragment goes on (a short last one has no UDP header)
                        if b != 0x45 or not (data[off + 6] & 0x3F or data[off + 7]):
                            sp = data[p] << 8 | data[p + 1]
                            dp = data[p + 2] << 8 | data[p + 3]
                            if (
                                sp not in ports
                                and dp not in ports
                                and not 0 < data[p + 8] < 5
                                and (not framed or (sp not in framed and dp not in framed))
                            ):
                                continue
                    elif proto == 1:  # ICMP: only "fragmentation needed" is of interest
                        if data[p] != 3 or data[p + 1] != 4:
                            continue
                    elif proto == 58:  # ICMPv6: only "packet too big"
                        if data[p] != 2:
                            continue
                    elif proto >= 0 and proto not in quick_skip:
                        continue
            except IndexError:
                continue
            take(rec, linktypes[rec[4]])
            if self.active_until > 0:
                return i
        return i

    def take(self, rec: Record, linktype: int) -> None:
        """One record, in ring order. Cheap unless it is (or comes near) tunnel traffic."""
        if linktype == LINKTYPE_NETLINK:  # an interface event, not a packet
            with self.lock:
                self.mtus.event(rec, self.interfaces)
            return
        hint = outer_hint(rec.data, linktype)
        if hint == 3:
            self._openvpn_tcp(rec, linktype)
            return
        if hint == 4:
            self._fragment(rec, linktype)
            return
        if hint == 0:
            if self._ports and self._framed(rec, linktype):
                return
            if rec.ts_ns < self.active_until:
                self._inner(rec, linktype)
            elif self.active_until > 0:  # no tunnel traffic for a while: back to the cheap loop
                self.active_until = -1
            return
        if hint == 2:
            self._icmp_too_big(rec, linktype)
            if rec.ts_ns < self.active_until:
                self._inner(rec, linktype)
            return
        encap = decapsulate(rec.data, linktype)
        if encap is None:
            if not (self._ports and self._framed(rec, linktype)) and rec.ts_ns < self.active_until:
                self._inner(rec, linktype)
            return
        self._keep_active(rec)
        with self.lock:
            self._outer(rec, encap)
        # (an outer packet carried by another tunnel, a tunnel in a tunnel, is not linked:
        # rare, and it would double what every outer packet costs)

    def _keep_active(self, rec: Record) -> None:
        """An outer packet: tunnel traffic goes on (or starts again) until ACTIVE_NS after it."""
        if rec.ts_ns >= self.active_until:
            self._activate(rec)
        self.active_until = rec.ts_ns + ACTIVE_NS

    def _activate(self, rec: Record) -> None:
        """Tunnel traffic starts: the inner packets just before it become candidates."""
        self._expire(1 << 62)  # what is left from an earlier stretch
        ring = self.ring
        if ring is None:
            return
        lo = max(rec.seq - BACKFILL, self._last_seq + 1 if self._last_seq else 0)
        for old in ring.range(lo, rec.seq):
            if rec.ts_ns - old.ts_ns <= EXACT_WINDOW_NS and old.iface < len(self.linktypes):
                self._inner(old, self.linktypes[old.iface])

    def _framed(self, rec: Record, linktype: int) -> bool:
        """A framed tunnel stream's segment: its frames are outer-carried inner packets.
        True when it is one (its frames, if it completes any, are linked)."""
        t = transport(rec.data, linktype)
        if t is None or (t.sport not in self._ports and t.dport not in self._ports):
            return False
        assert self.view is not None
        frames = self.view.frames(rec.data, linktype)
        if not frames:
            return frames is not None
        self._keep_active(rec)
        ends = ((t.src, t.sport), (t.dst, t.dport))
        forward = ends[0] <= ends[1]
        a, b = ends if forward else (ends[1], ends[0])
        key = (FRAMED, a, b)
        ip_len = t.end - (ip_view(rec.data, linktype)[0])
        if len(frames) > MAX_FRAMES_LINKED:
            self.frames_skipped += len(frames) - MAX_FRAMES_LINKED
            frames = frames[:MAX_FRAMES_LINKED]
        with self.lock:
            for frame in frames:
                lt = self.view.linktype_of(frame)
                enc = Encap(FRAMED, key, forward, frame, lt, 0, ip_len)
                self._outer(rec, enc)
        return True

    def _fragment(self, rec: Record, linktype: int) -> None:
        """An IPv4 fragment of a possible outer packet: the whole datagram, once its last
        piece came, is taken apart and linked to the record that completed it."""
        off, _v = ip_view(rec.data, linktype)
        with self.lock:
            datagram = self.fragments.add(rec.data, off, rec.ts_ns)
        encap = decapsulate(datagram, LINKTYPE_RAW) if datagram is not None else None
        if encap is None:
            # a fragment inside a tunnel (a big UDP datagram cut by the inner path) is an
            # inner packet of its own
            if rec.ts_ns < self.active_until and rec.iface not in self._outer_ifaces:
                self._inner(rec, linktype)
            return
        self._keep_active(rec)
        with self.lock:
            self._outer(rec, encap)

    def _openvpn_tcp(self, rec: Record, linktype: int) -> None:
        """A segment of an OpenVPN TCP stream: each OpenVPN packet it completes (2-byte
        length, then the packet; one may span segments) is an outer packet of its own."""
        t = transport(rec.data, linktype)
        if t is None:
            return
        view = self._ovpn_view
        if view is None:
            from tapwatch.tunnelview import TunnelView

            view = self._ovpn_view = TunnelView((OPENVPN_TCP,))
        frames = view.frames(rec.data, linktype)
        if not frames:
            return  # an ACK, or the start of a packet
        self._keep_active(rec)
        head = t.start - ip_view(rec.data, linktype)[0] + 2  # IP, TCP, the length
        if len(frames) > MAX_FRAMES_LINKED:
            self.frames_skipped += len(frames) - MAX_FRAMES_LINKED
            frames = frames[:MAX_FRAMES_LINKED]
        with self.lock:
            for frame in frames:
                if frame:
                    enc = openvpn(frame, 0, len(frame), t.src, t.dst, t.sport, t.dport, 0, True)
                    enc.ip_len = head + len(frame)
                    self._outer(rec, enc)

    def _inner(self, rec: Record, linktype: int) -> None:
        """A record that may be some tunnel's inner packet."""
        data = rec.data
        key = inner_key(data, linktype)
        size = len(key)
        if key is data and linktype == LINKTYPE_ETHERNET:  # not IP (ARP): what the link carries
            size -= 14
        c = _Cand(rec.seq, rec.ts_ns, rec.iface, rec.direction, size)
        with self.lock:
            self._last_seq = rec.seq
            self._expire(rec.ts_ns)
            waiting = self._exact_outer.get(key)
            if waiting:
                while waiting and waiting[0].linked:
                    waiting.pop(0)
                out = self._first_of_input(waiting, c)
                if out is not None:
                    out.linked = True
                    assert out.encap is not None
                    self._link(c, out, out.encap, True)
                    return
            if key[:1] and key[0] >> 4 in (4, 6):
                for out in self._scan(self._inf_outer, c):
                    assert out.encap is not None
                    self._link(c, out, out.encap, False)
                    out.linked = True
                    return
            self._exact_inner.setdefault(key, []).append(c)
            self._exact_order.append((c.ts, key, True))
            if rec.iface not in self._outer_ifaces:
                self._inf_inner.append(c)
            if len(self._inf_inner) > MAX_CANDIDATES:
                self._drop_inner(self._inf_inner.popleft())
            if len(self._exact_order) > 2 * MAX_CANDIDATES:
                self._expire_exact_one()

    def _outer(self, rec: Record, encap: Encap) -> None:
        """An outer packet (lock held): link it to a waiting inner one, or wait."""
        t = self._tunnel(rec, encap)
        self._outer_ifaces.add(rec.iface)
        label = dir_label(rec.direction, encap.forward)
        ds = t.dir(label)
        ds.packets += 1
        t.last_ns = rec.ts_ns
        if encap.kind == "WireGuard":
            if encap.message in (1, 2):
                t.last_handshake_ns = rec.ts_ns
                t.handshakes += 1
            if encap.message != 4 or encap.payload <= 32:
                return  # a handshake, a keepalive: no inner packet
            ds.counters.see(encap.index, encap.counter)
        elif encap.kind == "OpenVPN":
            if not self._openvpn_data(t, rec, encap):
                return  # the control channel (or held until the mode is known)
            if encap.counter >= 0 and not t.static_key:
                ds.counters.see(encap.index, encap.counter)
        elif encap.kind == "ESP":
            ds.counters.see(encap.index, encap.counter)
        self._outer_cand(rec, encap, t)

    def _openvpn_data(self, t: TunnelStats, rec: Record, encap: Encap) -> bool:
        """Whether an OpenVPN packet is a data packet to link now (lock held); learns the
        tunnel's mode.

        A first byte that is no opcode makes the tunnel static-key: its packet-ids were
        none (forgotten), and the packets held are data after all. While the mode is not
        known, a packet like a control one is held, and so is a data-like one after it
        (it may be static-key's too, and would take the inner packet of the one held);
        once the mode is sure (TLS) the data packets held are linked in their order."""
        if t.static_key:
            return True
        if encap.message not in OPENVPN_OPS:
            t.static_key = True
            for d in t.dirs.values():
                d.counters = type(d.counters)()  # what was read as packet-ids was HMAC
            for old, enc in self._ovpn_held.pop(t.key, ()):
                if rec.ts_ns - old.ts_ns <= EXACT_WINDOW_NS:
                    self._outer_cand(old, enc, t)
            return True
        data = encap.message in OPENVPN_DATA
        if t.valid_ops >= OPENVPN_SURE:
            return data
        t.valid_ops += 1
        if data:  # TLS's data packets repeat their peer-id; a static-key HMAC never does
            same = (encap.message, encap.index)
            t.ovpn_same = t.ovpn_same + 1 if same == t.ovpn_last and encap.index >= 0 else 1
            t.ovpn_last = same
            if t.ovpn_same >= 3:
                t.valid_ops = OPENVPN_SURE
        held = self._ovpn_held.get(t.key)
        if t.valid_ops >= OPENVPN_SURE:  # TLS mode: what was held is what it looked like
            self._tls_after_all(t, rec.ts_ns)
            return data
        if data and not held:
            return True
        if held is None:
            held = self._ovpn_held[t.key] = deque(maxlen=OPENVPN_HELD)
        held.append((rec, encap))
        return False

    def _tls_after_all(self, t: TunnelStats, now: int) -> None:
        """The data packets held while ``t``'s mode was not known, counted and linked in
        their order as TLS mode's (lock held)."""
        for old, enc in self._ovpn_held.pop(t.key, ()):
            if enc.message in OPENVPN_DATA and now - old.ts_ns <= EXACT_WINDOW_NS:
                ds = t.dir(dir_label(old.direction, enc.forward))
                if enc.counter >= 0:
                    ds.counters.see(enc.index, enc.counter)
                self._outer_cand(old, enc, t)

    def _outer_cand(self, rec: Record, encap: Encap, t: TunnelStats) -> None:
        """An outer packet that carries an inner one (lock held): link it, or let it wait."""
        if not encap.stream:
            ds = t.dir(dir_label(rec.direction, encap.forward))
            self.mtus.judge(rec.ts_ns, rec.iface, encap.ip_len, ds, self.interfaces)
        c = _Cand(rec.seq, rec.ts_ns, rec.iface, rec.direction, encap.payload, encap)
        if encap.inner is not None:
            key = inner_key(encap.inner, encap.inner_linktype)
            waiting = self._exact_inner.get(key)
            while waiting and waiting[0].linked:
                waiting.pop(0)
            inner = self._first_of_input(waiting, c) if waiting else None
            if inner is not None:
                inner.linked = True
                self._link(inner, c, encap, True)
                return
            self._exact_outer.setdefault(key, []).append(c)
            self._exact_order.append((c.ts, key, False))
            if len(self._exact_order) > 2 * MAX_CANDIDATES:
                # (bounded here too: a framed stream's segment can carry thousands of
                # frames, and a flood of them held 1M candidates, 290 MB, within the window)
                self._expire_exact_one()
            return
        for inner in self._scan(self._inf_inner, c, t):
            inner.linked = True
            self._link(inner, c, encap, False)
            return
        self._inf_outer.append(c)
        if len(self._inf_outer) > MAX_CANDIDATES:
            self._drop_outer(self._inf_outer.popleft())

    def _first_of_input(self, waiting: list[_Cand], c: _Cand) -> _Cand | None:
        """The oldest of ``waiting`` (exact candidates of one key) that can be ``c``'s other
        end, taken out of the list: not linked, not ``c`` itself, of ``c``'s input (lock
        held). Those of another input stay for their own host's packet."""
        for i, other in enumerate(waiting):
            if other.linked or other.seq == c.seq:
                continue
            if self.inputs and self._apart(other.iface, c.iface):
                continue
            del waiting[i]
            return other
        return None

    def _scan(self, cands: deque[_Cand], c: _Cand, t: TunnelStats | None = None) -> list[_Cand]:
        """The oldest candidate in ``cands`` that can be the other end of ``c`` by
        direction, time and length, passing over one :data:`STALE_NS` old when a younger one
        fits (a list of none or one)."""
        while cands and cands[0].linked:
            cands.popleft()
        looked = steps = 0
        stale: _Cand | None = None
        for other in cands:
            steps += 1
            if steps > 8 * MAX_SCAN:
                break
            if other.linked or other.iface == c.iface or other.direction != c.direction:
                continue
            if self.inputs and self._apart(other.iface, c.iface):
                continue
            if c.encap is not None:  # c is the outer one
                outer, inner = c, other
            else:
                outer, inner = other, c
            dt = outer.ts - inner.ts
            if c.direction == Direction.INBOUND:
                dt = -dt
            if dt < -SLACK_NS or dt > INFERRED_WINDOW_NS:
                continue
            looked += 1
            if looked > MAX_SCAN:
                break
            enc = outer.encap
            assert enc is not None
            tun = t if t is not None else self.tunnels.get(enc.tunnel)
            known = self._iface_tunnel.get(inner.iface)
            if known is not None and known != enc.tunnel and not self._quiet(known, inner.ts):
                continue  # the inner interface belongs to a tunnel that is still carrying
            if tun is not None and tun.static_key:
                fit = fits(
                    "OpenVPN static", enc.payload, inner.length, tun.learned, tun.learned_base
                )
            else:
                fit = fits(enc.kind, enc.payload, inner.length, tun.learned if tun else None)
            if fit:
                if dt <= STALE_NS:
                    return [other]
                if stale is None:
                    stale = other
        return [stale] if stale is not None else []

    def _quiet(self, tunnel: tuple[object, ...], ts_ns: int) -> bool:
        """Whether ``tunnel`` carried nothing in the window before ``ts_ns``: a VPN restarted
        over TCP comes back as a new connection (a new tunnel) and its inner interface moves
        to it once the old one has gone quiet."""
        old = self.tunnels.get(tunnel)
        return old is None or old.last_ns < ts_ns - INFERRED_WINDOW_NS

    def _link(self, inner: _Cand, outer: _Cand, encap: Encap, exact: bool) -> None:
        direction = outer.direction if outer.direction else inner.direction
        delay = inner.ts - outer.ts if direction == Direction.INBOUND else outer.ts - inner.ts
        link = Link(
            inner.seq,
            outer.seq,
            exact,
            encap.kind,
            encap.tunnel,
            inner.iface,
            outer.iface,
            direction,
            delay,
            encap.ip_len - inner.length,
        )
        for seq in (inner.seq, outer.seq):
            held = self.links.get(seq)
            if held is None:
                self.links[seq] = [link]
            else:
                held.append(link)
        while len(self.links) > MAX_LINKED:
            self.links.popitem(last=False)
        t = self.tunnels.get(encap.tunnel)
        if t is None:
            return
        t.inner_ifaces.add(inner.iface)
        if exact:
            self._iface_tunnel.setdefault(inner.iface, encap.tunnel)
        else:  # _scan let it through: the interface's tunnel, or one that took over from it
            self._iface_tunnel[inner.iface] = encap.tunnel
        if not exact and encap.kind != "WireGuard":  # WireGuard's overhead is its format's
            if t.static_key:
                t.learn_base(static_key_base(encap.payload, inner.length))
            t.learn(encap.payload - inner.length)
        t.dir(dir_label(outer.direction, encap.forward)).add_link(link)

    def _tunnel(self, rec: Record, encap: Encap) -> TunnelStats:
        t = self.tunnels.get(encap.tunnel)
        if t is None:
            t = self.tunnels[encap.tunnel] = TunnelStats(
                encap.kind, encap.tunnel, tunnel_name(encap.tunnel), rec.iface
            )
            for tb in self.too_big:  # an ICMP about this tunnel's outer flow, seen first
                if tb.tunnel is None and about(tb, t):
                    tb.tunnel = t.key
                    t.too_big_icmp.append(tb)
        return t

    # ----- expiry: what never found its other end ---------------------------------------
    def _expire(self, now: int) -> None:
        order = self._exact_order
        while order and order[0][0] < now - EXACT_WINDOW_NS:
            self._expire_exact_one()
        inner = self._inf_inner
        while inner and inner[0].ts < now - EXACT_WINDOW_NS:
            self._drop_inner(inner.popleft())
        outer = self._inf_outer
        while outer and outer[0].ts < now - INFERRED_WINDOW_NS:
            self._drop_outer(outer.popleft())

    def _expire_exact_one(self) -> None:
        _ts, key, is_inner = self._exact_order.popleft()
        store = self._exact_inner if is_inner else self._exact_outer
        waiting = store.get(key)
        if not waiting:
            store.pop(key, None)
            return
        c = waiting.pop(0)
        if not waiting:
            del store[key]
        if not is_inner:
            self._drop_outer(c)

    def _drop_inner(self, c: _Cand) -> None:
        """An inner packet that no outer one carried: lost inside the tunnel, when it went
        into a tunnel's inner interface on the way out."""
        if c.linked or c.direction == Direction.INBOUND:
            return
        key = self._iface_tunnel.get(c.iface)
        t = self.tunnels.get(key) if key is not None else None
        if t is None or (c.direction == Direction.UNKNOWN and not t.exact):
            return
        ds = t.dir(dir_label(c.direction, True))
        ds.lost += 1
        mtu = self.mtus.at(t.outer_iface, c.ts, self.interfaces)
        mean = ds.overhead_mean
        if mtu and mean is not None and c.length + mean > mtu:
            ds.too_big += 1

    def _drop_outer(self, c: _Cand) -> None:
        """An outer packet whose inner one never came out of the inner interface."""
        if c.linked or c.encap is None or c.direction == Direction.OUTBOUND:
            return
        t = self.tunnels.get(c.encap.tunnel)
        if t is None or not t.inner_ifaces:
            return  # nothing of this tunnel was ever seen inside: its inside is not watched
        t.dir(dir_label(c.direction, c.encap.forward)).lost += 1

    def _icmp_too_big(self, rec: Record, linktype: int) -> None:
        """ICMP "fragmentation needed" / ICMPv6 "packet too big": the flow it is about."""
        off, v = ip_view(rec.data, linktype)
        d = rec.data
        if v == 4:
            l4 = off + (d[off] & 15) * 4
            if len(d) < l4 + 28:
                return
            mtu = d[l4 + 6] << 8 | d[l4 + 7]
        else:
            l4 = off + 40
            if len(d) < l4 + 48:
                return
            mtu = struct.unpack_from("!I", d, l4 + 4)[0]
        t = transport(d[l4 + 8 :], 101)
        if t is None:
            return
        proto = {6: "TCP", 17: "UDP"}.get(t.proto, f"proto {t.proto}")
        src = addr_text(t.src) + (f":{t.sport}" if t.sport else "")
        dst = addr_text(t.dst) + (f":{t.dport}" if t.dport else "")
        tb = TooBig(rec.seq, rec.ts_ns, mtu, f"{proto} {src} > {dst}", None)
        with self.lock:
            for tun in self.tunnels.values():
                if about(tb, tun, t.src, t.sport, t.dst, t.dport):
                    tb.tunnel = tun.key
                    break
            else:
                key = self._iface_tunnel.get(rec.iface)
                if key is not None:  # about an inner flow, said on the inner interface
                    tb.tunnel = key
            self.too_big.append(tb)
            if tb.tunnel is not None:
                tun = self.tunnels[tb.tunnel]
                if len(tun.too_big_icmp) < MAX_TOO_BIG:
                    tun.too_big_icmp.append(tb)

    # ----- the readers' side ---------------------------------------------------------------
    def links_of(self, seq: int) -> list[Link]:
        """The links of record ``seq`` (it carried, or was carried by): [] for none."""
        with self.lock:
            return list(self.links.get(seq, ()))

    def has_links(self, seq: int) -> int:
        """0: none; 1: the record was carried (inner); 2: it carried (outer); 3: both."""
        held = self.links.get(seq)
        if not held:
            return 0
        mark = 0
        for link in held:
            mark |= 1 if link.inner == seq else 2
        return mark

    def prune(self, first_seq: int) -> None:
        """Forget the links of records the ring no longer holds."""
        with self.lock:
            links = self.links
            while links:
                seq = next(iter(links))
                if seq >= first_seq:
                    break
                links.popitem(last=False)

    def finish(self) -> None:
        """Capture is over: what still waits for its other end never gets it (lost)."""
        with self.lock:
            for key in list(self._ovpn_held):  # a mode never known: what they looked like
                t = self.tunnels.get(key)
                if t is not None:
                    self._tls_after_all(t, t.last_ns)
            self._expire(1 << 62)

    def snapshot(self) -> list[TunnelStats]:
        """The tunnels, copied for another thread (the Tunnels tool, the exit summary): the
        numbers and the delays (a C-level copy), not the counters' memory of recent values."""
        with self.lock:
            return [t.copy() for t in self.tunnels.values()]

    def unattributed_too_big(self) -> list[TooBig]:
        with self.lock:
            return [tb for tb in self.too_big if tb.tunnel is None]

    def reset(self) -> None:
        with self.lock:
            self.links.clear()
            self.tunnels.clear()
            self.too_big.clear()
            self._iface_tunnel.clear()
            self._outer_ifaces.clear()
            self._exact_inner.clear()
            self._exact_outer.clear()
            self._exact_order.clear()
            self._inf_inner.clear()
            self._inf_outer.clear()
            self._ovpn_held.clear()
            self.mtus.forget_judged()
            self.fragments.clear()  # (the MTUs the events said stay: they are the links')
            if self._ovpn_view is not None:
                self._ovpn_view.reset()
            self.active_until = -1
