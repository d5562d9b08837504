"""What tapwatch does with a packet the host sent into the device: drop, echo or reply.

tapwatch holds the device's file descriptor, so it *is* the other end of the
wire. In ``reply`` mode it behaves like a small host living behind the device:
it answers ARP, IPv6 neighbour solicitation and ICMP/ICMPv6 echo requests for
the addresses it was told to own (see :class:`Responder`), so ``ping`` works
against a device with nothing else attached.

Replies are assembled with :mod:`struct` rather than scapy: building one with
scapy costs a few hundred microseconds, so a ``ping -f`` flood would stall the
pump thread (bench/NOTES.md has the figures for this module).

In ``echo`` mode (:class:`Echo`) every frame goes straight back, except one
that is an echo of ours coming back: a host that forwards (``ip_forward=1``)
routes an echoed packet whose destination is not its own back into the device,
one hop older, and without that check one ping would circle until its TTL ran
out.

This module must stay free of scapy (and textual): it sits on the hot path.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

from tapwatch.decode import walk
from tapwatch.errors import TapwatchError
from tapwatch.kinds import PEER_MODES, Direction, PeerMode
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_RAW,
)
from tapwatch.linktypes import name as linktype_name
from tapwatch.ring import Record
from tapwatch.sinks import Sink
from tapwatch.wire import (
    ETH_P_ARP,
    ETH_P_IP,
    ETH_P_IPV6,
    IPPROTO_ICMPV6,
    checksum,
    mac_str,
    pseudo_header6,
)
from tapwatch.wire import parse_mac as _parse_mac

MODES = PEER_MODES
#: Ethernet address of the IPv6 all-nodes group ff02::1.
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
ALL_NODES_IP6 = IPv6Address("ff02::1").packed
UNSPECIFIED_IP6 = bytes(16)
LOOPBACK_IP6 = IPv6Address("::1").packed
ZERO_MAC = bytes(6)
SOLICITED_NODE_PREFIX = IPv6Address("ff02::1:ff00:0").packed[:13]

_IPV4_HDR = struct.Struct("!BBHHHBBH4s4s")
_IPV6_HDR = struct.Struct("!IHBB16s16s")

IPInterface = IPv4Interface | IPv6Interface
IPAddress = IPv4Address | IPv6Address


class PeerError(TapwatchError):
    """A reply/echo/drop configuration or write problem, with a one-line message for the user."""


class PeerStopped(PeerError):
    """The device can no longer be written for good (made again by another program, which
    owns it now: tapwatch observes it read-only). Said once; the peer answers no more."""


def echo(data: bytes) -> list[bytes]:
    """Write every frame straight back, the classic tun/tap loopback.

    Stateless: a host that forwards bounces such echoes back and forth; the
    session uses :class:`Echo`, which notices.
    """
    return [data]


def drop(data: bytes) -> list[bytes]:
    """Drop mode: stay silent, like a cable with nothing plugged in at the far end."""
    return []


def handler(
    mode: PeerMode | str,
    responder: Responder | None = None,
) -> Callable[[bytes], list[bytes]]:
    """The per-packet function for ``mode``, so callers need no if-chain per packet."""
    if mode == "drop":
        return drop
    if mode == "echo":
        return echo
    if mode == "reply":
        if responder is None:
            raise PeerError("reply mode needs addresses to answer for (see --addr / --peer)")
        return responder.respond
    raise PeerError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")


def stable_mac(seed: str) -> bytes:
    """A locally administered unicast MAC derived from ``seed`` (e.g. the device name).

    The same seed gives the same MAC on every run, so the host's neighbour cache
    and any capture the user compares against stay consistent across restarts.
    """
    digest = hashlib.sha256(b"tapwatch-peer:" + seed.encode("utf-8", "surrogatepass")).digest()
    first = (digest[0] & 0xFC) | 0x02  # locally administered, unicast
    return bytes((first,)) + digest[1:6]


def parse_mac(text: str | bytes) -> bytes:
    """A MAC from 6 raw bytes or ``aa:bb:cc:dd:ee:ff`` text; PeerError when it is none."""
    try:
        return _parse_mac(text)
    except ValueError as e:
        raise PeerError(str(e)) from None


class Responder:
    """Answer ARP, NDP and ICMP/ICMPv6 echo like a host on the far side of the device.

    Which addresses are answered:

    * Without ``peers``: every address inside the subnets of ``own`` except the
      device's own addresses (the kernel answers those itself; on a tun, traffic
      to them never even reaches the device), and, for IPv4 prefixes of /30 and
      wider, except the network and broadcast addresses. For IPv6 the
      subnet-router anycast address (host part all zero) is skipped too, for
      prefixes up to /126.
    * With ``peers``: exactly those addresses. A peer outside every subnet of
      ``own`` is accepted on purpose: on a tun the user may route more networks
      into the device (``ip route add 10.9.0.0/16 dev tun1``) and want a host
      there. On a tap the kernel only ARPs for on-link addresses, so such a peer
      only answers what reaches it. A peer equal to an own address, or a
      multicast/unspecified/broadcast peer, is an :class:`PeerError`.

    ``mac`` is the Ethernet address the imaginary host uses on a tap; it must be
    unicast. If omitted, a stable one is derived from ``own`` and ``peers`` —
    callers that know the device name should pass ``stable_mac(ifname)``.

    :meth:`respond` never raises: anything malformed, unexpected or not for
    us yields ``[]``, exactly as a real host stays silent.
    """

    def __init__(
        self,
        linktype: int,
        own: Iterable[IPInterface],
        peers: Iterable[IPAddress] | None = None,
        mac: bytes | str | None = None,
    ) -> None:
        if linktype not in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_ETHERNET):
            raise PeerError(
                f"reply mode works on tun (raw IP) and tap (Ethernet) devices, "
                f"not {linktype_name(linktype)}"
            )
        self.linktype = linktype
        self.own: list[IPInterface] = []
        for iface in own:
            if not isinstance(iface, (IPv4Interface, IPv6Interface)):
                try:
                    iface = ipaddress.ip_interface(iface)
                except ValueError:
                    raise PeerError(f"invalid device address {iface!r}") from None
            self.own.append(iface)
        own_addrs = {i.ip for i in self.own}
        self.peers: list[IPAddress] | None = None
        if peers is not None:
            self.peers = [self._check_peer(p, own_addrs, self.own) for p in peers]
            if not self.peers:
                self.peers = None
        if mac is None:
            seed = ",".join(map(str, self.own)) + "|" + ",".join(map(str, self.peers or ()))
            mac = stable_mac(seed)
        mac = parse_mac(mac)
        if mac[0] & 1:
            raise PeerError(f"the reply MAC {mac_str(mac)} is multicast; it must be unicast")
        if mac == bytes(6):
            raise PeerError("the reply MAC must not be 00:00:00:00:00:00")
        self.mac = mac
        self.replies = 0

        # Precomputed membership tests, keyed by packed address bytes / ints, so
        # the per-packet check is a set lookup or a couple of integer ANDs.
        self._peer_set: frozenset[bytes] | None = (
            frozenset(p.packed for p in self.peers) if self.peers is not None else None
        )
        self._nets: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        excluded: set[bytes] = {a.packed for a in own_addrs}
        # Sources a host never answers (see _martian4): beyond the fixed ones,
        # the network and broadcast addresses of the device's subnets.
        martian4: set[bytes] = {bytes(4), b"\xff\xff\xff\xff"}
        for iface in self.own:
            net = iface.network
            self._nets[net.version].append((int(net.network_address), int(net.netmask)))
            if net.version == 4 and net.prefixlen <= 30:
                excluded.add(net.network_address.packed)
                excluded.add(net.broadcast_address.packed)
                martian4.add(net.network_address.packed)
                martian4.add(net.broadcast_address.packed)
            if net.version == 6 and net.prefixlen <= 126:
                excluded.add(net.network_address.packed)
        self._excluded = frozenset(excluded)
        self._martian_src4 = frozenset(martian4)
        self._ip_id = 0

    @staticmethod
    def _check_peer(
        peer: IPAddress | str, own_addrs: set[IPAddress], own: list[IPInterface]
    ) -> IPAddress:
        """Validate one ``--peer``: a unicast address the device does not own itself."""
        if not isinstance(peer, (IPv4Address, IPv6Address)):
            try:
                peer = ipaddress.ip_address(peer)
            except ValueError:
                raise PeerError(f"invalid peer address {peer!r}") from None
        if peer in own_addrs:
            raise PeerError(
                f"peer {peer} is the device's own address; the kernel answers it itself"
            )
        if peer.is_multicast or peer.is_unspecified or peer == IPv4Address("255.255.255.255"):
            raise PeerError(f"peer {peer} is not a unicast address")
        if peer.version == 4 and peer.packed[0] >= 240:
            raise PeerError(f"peer {peer} is reserved (class E): no host sends from it")
        for iface in own:
            net = iface.network
            if (
                net.version == peer.version == 4
                and net.prefixlen <= 30
                and peer
                in (
                    net.network_address,
                    net.broadcast_address,
                )
            ):
                raise PeerError(f"peer {peer} is the network or broadcast address of {net}")
        return peer

    @property
    def answers_nothing(self) -> bool:
        """True when no address qualifies (e.g. only a /32 and no ``--peer``).

        Not an error at construction: a device may be watched with such an
        address and the user may never switch to reply mode; the UI can use
        this to explain why pings go unanswered.
        """
        if self._peer_set is not None:
            return False
        for iface in self.own:
            net = iface.network
            usable = net.num_addresses - 1  # minus the device's own address
            if net.version == 4 and net.prefixlen <= 30:
                usable -= 2
            if net.version == 6 and net.prefixlen <= 126:
                usable -= 1
            if usable > 0:
                return False
        return True

    @property
    def mac_str(self) -> str:
        """The reply MAC as text, for the status bar and logs."""
        return mac_str(self.mac)

    def describe(self) -> str:
        """One line saying what is answered, for the status bar and ``--help`` style logs."""
        if self.answers_nothing:
            return "replying for no address (the device's subnets hold no other address)"
        if self.peers is not None:
            who = ", ".join(map(str, self.peers))
        else:
            who = ", ".join(f"{i.network} except {i.ip}" for i in self.own)
        if self.linktype == LINKTYPE_ETHERNET:
            return f"replying for {who} as {self.mac_str}"
        return f"replying for {who}"

    def answers(self, addr: IPAddress | str) -> bool:
        """Whether ``addr`` is one of the addresses this responder plays."""
        return self._answers(ipaddress.ip_address(addr).packed)

    def _answers(self, packed: bytes) -> bool:
        if self._peer_set is not None:
            return packed in self._peer_set
        if packed in self._excluded:
            return False
        nets = self._nets[4 if len(packed) == 4 else 6]
        if not nets:
            return False
        value = int.from_bytes(packed, "big")
        return any(value & mask == network for network, mask in nets)

    def _martian4(self, src: bytes) -> bool:
        """Whether a host drops an IPv4 packet from ``src`` rather than answer it.

        As Linux does with the rp_filter Debian, Ubuntu and Fedora set (2):
        0.0.0.0, loopback, multicast, the limited broadcast and a subnet's
        broadcast address are martian sources, and so is an address the host
        owns itself (here: one the responder plays). A subnet's network
        address is refused too, as kernels did while they kept a broadcast
        route for it; recent ones (6.18, tested) answer it, but no host sends
        from it. Class E (240.0.0.0/4) is martian as RFC 1812 has it and as
        kernels before 5.x and every router treat it: recent Linux answers it,
        but it is reserved and no host is given one, so an echo request from
        it is a probe or a spoof, never a peer. 0.0.0.0/8 beyond 0.0.0.0 is
        unicast to recent kernels and is answered.
        """
        first = src[0]
        return first == 127 or first >= 224 or src in self._martian_src4 or self._answers(src)

    def _martian6(self, src: bytes) -> bool:
        """Whether a host drops an ICMPv6 echo request from ``src`` rather than answer it.

        Multicast and loopback sources are dropped by Linux on input (RFC 4291);
        an address the responder plays is its own, and a reply to the
        unspecified address could reach nobody.
        """
        return src[0] == 0xFF or src in (UNSPECIFIED_IP6, LOOPBACK_IP6) or self._answers(src)

    # -- the hot path ---------------------------------------------------------------

    def respond(self, data: bytes) -> list[bytes]:
        """Frames to write back into the device for ``data``; ``[]`` if none. Never raises."""
        try:
            if self.linktype == LINKTYPE_ETHERNET:
                out = self._respond_ethernet(data)
            else:
                out = self._respond_ip(data)
        except Exception:  # hostile bytes must never reach the user as a traceback
            return []
        if out is None:
            return []
        self.replies += 1
        return [out]

    def _respond_ip(self, data: bytes) -> bytes | None:
        """tun: the frame is a bare IPv4/IPv6 packet."""
        if not data:
            return None
        version = data[0] >> 4
        if version == 4:
            return self._echo4(data)
        if version == 6:
            return self._echo6(data)
        return None

    def _respond_ethernet(self, data: bytes) -> bytes | None:
        """tap: Ethernet II, possibly VLAN tagged; the reply keeps the tags."""
        if len(data) < 14:
            return None
        dst = data[0:6]
        if dst != self.mac and not dst[0] & 1:
            return None  # unicast to some other station: a NIC would filter it
        if data[6] & 1 or data[6:12] == ZERO_MAC:
            return None  # no station sends from a group or zero address: nobody to answer
        w = walk(data, LINKTYPE_ETHERNET, False)  # the decoder's header walk
        if not w.ethernet_ii():
            return None
        etype = w.ethertype
        l3 = w.net
        off = l3 - 2  # the ethertype field; the VLAN tags are data[12:off]
        answer: tuple[bytes, bytes] | None
        if etype == ETH_P_ARP:
            answer = self._arp(data, l3)
        elif (
            etype == ETH_P_IPV6
            and w.proto == 58
            and w.l4 == l3 + 40
            and len(data) >= l3 + 48
            and data[l3 + 40] == 135
        ):
            answer = self._neighbor_solicitation(data, l3)
        elif etype in (ETH_P_IP, ETH_P_IPV6):
            if dst != self.mac:
                return None  # echo requests must be addressed to us at layer 2
            packet = data[l3:]
            if not packet or packet[0] >> 4 != (4 if etype == ETH_P_IP else 6):
                return None
            reply = self._echo4(packet) if etype == ETH_P_IP else self._echo6(packet)
            answer = None if reply is None else (data[6:12], reply)
        else:
            return None
        if answer is None:
            return None
        reply_dst, payload = answer
        if reply_dst[0] & 1 and reply_dst != ALL_NODES_MAC:
            return None  # never answer to a group address posing as a sender
        tags = data[12:off]
        return reply_dst + self.mac + tags + struct.pack("!H", etype) + payload

    def _echo4(self, data: bytes) -> bytes | None:
        """ICMP echo request -> echo reply, with a fresh 20-byte IPv4 header."""
        if len(data) < 28:
            return None
        vihl = data[0]
        ihl = (vihl & 0x0F) * 4
        if vihl >> 4 != 4 or ihl < 20 or data[9] != 1:
            return None
        total = (data[2] << 8) | data[3]
        if total < ihl + 8 or total > len(data):
            return None
        frag = (data[6] << 8) | data[7]
        if frag & 0x3FFF:
            return None  # a fragment (MF set or offset): a real host would reassemble first
        icmp = data[ihl:total]
        if icmp[0] != 8 or icmp[1] != 0:
            return None
        src = data[12:16]
        dst = data[16:20]
        if not self._answers(dst):
            return None
        if self._martian4(src):
            return None  # a martian source: Linux drops it on input
        if checksum(data[:ihl]) or checksum(icmp):
            return None  # a host drops corrupt packets silently
        body = b"\x00\x00\x00\x00" + icmp[4:]
        body = b"\x00\x00" + struct.pack("!H", checksum(body)) + icmp[4:]
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        header = _IPV4_HDR.pack(
            0x45, data[1], 20 + len(body), self._ip_id, frag & 0x4000, 64, 1, 0, dst, src
        )
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return header + body

    def _echo6(self, data: bytes) -> bytes | None:
        """ICMPv6 echo request (128) -> echo reply (129)."""
        if len(data) < 48 or data[0] >> 4 != 6 or data[6] != 58:
            return None  # extension headers before ICMPv6 are not walked
        plen = (data[4] << 8) | data[5]
        if plen < 8 or 40 + plen > len(data):
            return None
        icmp = data[40 : 40 + plen]
        if icmp[0] != 128 or icmp[1] != 0:
            return None
        src = data[8:24]
        dst = data[24:40]
        if not self._answers(dst):
            return None
        if self._martian6(src):
            return None
        if checksum(pseudo_header6(src, dst, plen, IPPROTO_ICMPV6) + icmp):
            return None
        body = b"\x81\x00\x00\x00" + icmp[4:]
        ck = checksum(pseudo_header6(dst, src, plen, IPPROTO_ICMPV6) + body)
        body = b"\x81\x00" + struct.pack("!H", ck) + icmp[4:]
        # Keep the traffic class, as Linux does for echo replies; flow label 0.
        vtf = 0x60000000 | (((data[0] & 0x0F) << 4 | data[1] >> 4) << 20)
        return _IPV6_HDR.pack(vtf, plen, 58, 64, dst, src) + body

    def _arp(self, data: bytes, off: int) -> tuple[bytes, bytes] | None:
        """ARP who-has for one of our addresses -> is-at ``mac``, unicast to the asker.

        Answered as Linux does: a probe (sender IP 0.0.0.0, RFC 5227) gets a
        reply with target IP 0.0.0.0; a gratuitous request (sender IP = target
        IP) announces rather than asks, and a martian sender IP (see
        :meth:`_martian4`) gets nothing. Unlike Linux, which answers them too,
        a sender MAC that is zero or a group address gets nothing: the reply
        would go to no station, or to every one.
        """
        arp = data[off : off + 28]
        if len(arp) < 28 or arp[:8] != b"\x00\x01\x08\x00\x06\x04\x00\x01":
            return None  # Ethernet/IPv4 request only
        sha = arp[8:14]
        spa = arp[14:18]
        tpa = arp[24:28]
        if spa == tpa or not self._answers(tpa):
            return None  # gratuitous ARP announces, it does not ask
        if sha[0] & 1 or sha == ZERO_MAC:
            return None
        if spa != b"\x00\x00\x00\x00" and self._martian4(spa):
            return None
        payload = b"\x00\x01\x08\x00\x06\x04\x00\x02" + self.mac + tpa + sha + spa
        return sha, payload

    def _neighbor_solicitation(self, data: bytes, off: int) -> tuple[bytes, bytes] | None:
        """NS for one of our addresses -> NA with our MAC (RFC 4861 §7.2.4)."""
        ip6 = data[off:]
        plen = (ip6[4] << 8) | ip6[5]
        if ip6[0] >> 4 != 6 or ip6[7] != 255 or plen < 24 or 40 + plen > len(ip6):
            return None  # NDP must come with hop limit 255 (not forwarded)
        icmp = ip6[40 : 40 + plen]
        if icmp[1] != 0:
            return None
        src = ip6[8:24]
        dst = ip6[24:40]
        target = icmp[8:24]
        if target[0] == 0xFF or not self._answers(target):
            return None
        solicited_node = SOLICITED_NODE_PREFIX + target[13:]
        if dst != target and dst != solicited_node:
            return None
        if src[0] == 0xFF or src == LOOPBACK_IP6:
            return None
        # RFC 4861 7.1.1: every option has a length; duplicate address detection
        # (from ::) goes to the solicited-node group and carries no source address.
        pos = 24
        while pos + 2 <= len(icmp):
            if icmp[pos + 1] == 0:
                return None
            if icmp[pos] == 1 and src == UNSPECIFIED_IP6:
                return None
            pos += icmp[pos + 1] * 8
        if src == UNSPECIFIED_IP6 and dst != solicited_node:
            return None
        if checksum(pseudo_header6(src, dst, plen, IPPROTO_ICMPV6) + icmp):
            return None
        if src == UNSPECIFIED_IP6:
            # Duplicate address detection: defend the address to all nodes,
            # with the Solicited flag clear as the RFC demands.
            na_dst, eth_dst, flags = ALL_NODES_IP6, ALL_NODES_MAC, 0x20000000
        else:
            na_dst, eth_dst, flags = src, data[6:12], 0x60000000  # Solicited + Override
        body = struct.pack("!BBHI", 136, 0, 0, flags) + target + b"\x02\x01" + self.mac
        ck = checksum(pseudo_header6(target, na_dst, len(body), IPPROTO_ICMPV6) + body)
        body = body[:2] + struct.pack("!H", ck) + body[4:]
        header = _IPV6_HDR.pack(0x60000000, len(body), 58, 255, target, na_dst)
        return eth_dst, header + body


class Echo:
    """Echo mode: write every frame straight back, but never one of our echoes coming back.

    When the host forwards (``net.ipv4.ip_forward=1``, or IPv6 forwarding),
    an echoed packet whose destination is not one of the host's addresses is
    routed, and if the route points into the device it arrives here again
    with its TTL (hop limit) one lower and its header checksum adjusted, and
    nothing else changed. Echoing that too would bounce one ping until its TTL
    ran out (63 times). So each echoed IP packet is remembered by a key of the
    bytes forwarding leaves alone (addresses, length, IPv4 identification, the
    first bytes of what it carries) with its TTL; a packet with a known key and
    a lower TTL is ours coming back: it is not echoed, :attr:`loops` counts
    it and :attr:`warning` names the cause. A packet the host sends twice
    (same TTL) is echoed twice, as before.

    The memory is two generations of at most ``memory`` keys each (the older
    one is dropped when the newer fills up), so the cost per frame is two
    slices, a hash and two or three dict operations (bench/NOTES.md).
    """

    def __init__(
        self,
        linktype: int,
        *,
        ifname: str = "the device",
        on_loop: Callable[[str], object] | None = None,
        memory: int = 4096,
    ) -> None:
        if linktype not in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_ETHERNET):
            raise PeerError(
                f"echo mode works on tun (raw IP) and tap (Ethernet) devices, "
                f"not {linktype_name(linktype)}"
            )
        if memory < 1:
            raise PeerError("the echo memory must hold at least one frame")
        self.linktype = linktype
        self.ifname = ifname
        self.on_loop = on_loop
        self.loops = 0  # frames recognised as our own echoes and not written back
        self._cause = "net.ipv4.ip_forward"
        self._memory = memory
        self._recent: dict[bytes, int] = {}
        self._older: dict[bytes, int] = {}
        self._ethernet = linktype == LINKTYPE_ETHERNET

    @property
    def warning(self) -> str | None:
        """Why some frames were not echoed, for the status bar and stderr; None while all were."""
        if not self.loops:
            return None
        return (
            f"echo loop on {self.ifname}: the host forwards ({self._cause}=1) and routes "
            "echoed packets back into the device; tapwatch does not echo them again"
        )

    def respond(self, data: bytes) -> list[bytes]:
        """``[data]``, or ``[]`` when ``data`` is an echo of ours that the host sent back."""
        if self._ethernet:
            off = self._l3_offset(data)
            if off < 0:
                return [data]  # not IP (ARP...): nothing the host would route
        else:
            off = 0
        if len(data) < off + 20:
            return [data]
        version = data[off] >> 4
        if version == 4:
            # forwarding rewrites TTL (8) and checksum (10-11); tos (1) may get an ECN mark
            ttl = data[off + 8]
            key = data[off + 2 : off + 6] + data[off + 12 : off + 64]
        elif version == 6 and len(data) >= off + 40:
            # hop limit (7); traffic class and flow label are left out too
            ttl = data[off + 7]
            key = data[off + 4 : off + 7] + data[off + 8 : off + 72]
        else:
            return [data]
        recent = self._recent
        seen = recent.get(key)
        if seen is None:
            seen = self._older.get(key)
        if seen is not None and ttl < seen:
            self.loops += 1
            if self.loops == 1:
                self._cause = (
                    "net.ipv4.ip_forward" if version == 4 else ("net.ipv6.conf.all.forwarding")
                )
            if self.loops == 1 and self.on_loop is not None:
                self.on_loop(self.warning or "")
            return []
        if len(recent) >= self._memory:
            self._older = recent
            recent = self._recent = {}
        recent[key] = ttl
        return [data]

    @staticmethod
    def _l3_offset(data: bytes) -> int:
        """Where the IP header starts in an Ethernet frame (VLAN tags skipped), or -1."""
        w = walk(data, LINKTYPE_ETHERNET, False)  # the decoder's header walk
        if w.ethertype in (ETH_P_IP, ETH_P_IPV6) and w.ethernet_ii():
            return w.net
        return -1


#: the link types echo mode works on (what tun and tap devices carry)
ECHO_LINKTYPES = frozenset((LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_ETHERNET))


class Peer(Sink):
    """The device's peer in the session's pump: answers what the host sends into it.

    ``write`` puts one frame into the device (the source's ``inject``, which
    records it and raises PeerError when the device cannot take it); only
    records the host sent (OUTBOUND) on interface ``iface`` are answered, in
    the current ``mode``: drop (nothing), echo (:class:`Echo`), reply (the
    ``responder``). A write that fails is kept in ``action_error`` for the
    status bar; ``on_warning`` hears, once, that echoes come back (a host that
    forwards).
    """

    sees_every_record = True

    def __init__(
        self,
        write: Callable[[bytes], None],
        linktype: int,
        iface: int = 0,
        *,
        ifname: str = "the device",
        responder: Responder | None = None,
        on_warning: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__()
        self.write = write
        self.iface = iface
        self.responder = responder
        # echo mode's memory of what it echoed: a forwarding host would bounce echoes back
        self.echo: Echo | None = None
        if linktype in ECHO_LINKTYPES:
            self.echo = Echo(linktype, ifname=ifname, on_loop=on_warning)
        self.mode: PeerMode = "drop"
        self.replies_sent = 0
        self.action_error: str | None = None  # the last failed write, for the status bar
        #: why answering stopped for good (None while it may answer)
        self.stopped: str | None = None
        #: hears once that answering stopped (the session's notices: stderr, the status bar)
        self.on_notice: Callable[[str], object] | None = None

    def check(self, mode: PeerMode) -> None:
        """PeerError when this peer cannot work in ``mode``."""
        if mode == "reply" and self.responder is None:
            raise PeerError("reply mode needs the device's addresses (--addr)")

    def take(self, rec: Record, linktype: int) -> None:
        if self.mode != "drop" and rec.direction == Direction.OUTBOUND and rec.iface == self.iface:
            self.answer(rec.data)

    def answer(self, data: bytes) -> None:
        """Answer one frame the host sent, in the current mode."""
        if self.stopped is not None:
            return
        if self.mode == "echo":
            if self.echo is None:
                return
            out = self.echo.respond(data)
        elif self.mode == "reply" and self.responder is not None:
            out = self.responder.respond(data)
        else:
            return
        for frame in out:
            try:
                self.write(frame)
            except PeerStopped as e:
                self.stopped = self.action_error = str(e)
                if self.on_notice is not None:
                    self.on_notice(str(e))
                return
            except PeerError as e:
                self.action_error = str(e)
                return
            self.replies_sent += 1
