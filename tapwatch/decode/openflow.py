"""OpenFlow (TCP 6653 and the old 6633) as tcpdump 4.99 prints it.

After ``length N: OpenFlow`` each message of the segment gets a line of its own
(``version 1.0, type FLOW_MOD, length 88, xid 0x00000006``); with ``-v`` the bodies
of OpenFlow 1.0 messages follow (matches, actions, ports, statistics, errors), with
``-vv`` the ports' details and hex dumps of carried data.  OpenFlow 1.3 prints its
header lines, its length checks and, with ``-v``, HELLO's elements; the other 1.3
bodies tcpdump decodes at ``-v`` are not (yet) decoded here, nor Big Switch's vendor
messages (their data is dumped), nor the frame ``-vvv`` decodes inside a PACKET_IN or
PACKET_OUT.

tcpdump's rules for a segment are kept: a message may run past the segment (its body
is checked against what was captured, ``[|openflow]`` where that ends); a header cut
by the segment's end says ``(end of TCP payload)``; a length below the header's size
fails the rest of the segment; a body of the wrong size for its type is ``(invalid)``
and the next message is decoded.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    MAX_BRIEF_ITEMS,
    TCP_PORTS,
    Acc,
    PortHandler,
    Trunc,
    Walk,
    bind,
    ip4,
    mac,
    u16,
    u32,
)
from tapwatch.decode.openflow_names import (
    ACTION_BITS,
    ACTIONS,
    ASYNC_PACKET_IN,
    ASYNC_PORT,
    CAPABILITIES,
    CAPABILITIES13,
    CONFIG,
    ERRORS,
    ERRORS13,
    FEATURES,
    FEATURES13,
    FIX,
    FLOW_CMDS,
    FLOW_FLAGS,
    MIN,
    MULTIPART13,
    PORT_CONFIG,
    PORT_CONFIG13,
    PORT_REASONS,
    PORT_STATE13,
    PORTS,
    PORTS13,
    REQ10,
    REQ13,
    ROLES,
    STATS,
    TABLES,
    TYPES10,
    TYPES13,
    VENDORS,
    VERSIONS,
    WILDCARDS,
)
from tapwatch.decode.verbose import hex_ascii, safe_char


class _Invalid(Exception):
    """A body whose inner lengths do not add up: ``(invalid)``, then the next message."""


def _bitmap(names: tuple[tuple[int, str], ...], v: int, known: int) -> str:
    """tcpdump's ``of_bitmap_print``: `` (A, B)``, `` (bogus)`` for unassigned bits."""
    if v == 0:
        return ""
    words = [name for bit, name in names if v & bit]
    out = " (" + ", ".join(words) + ")" if words else ""
    return out + (" (bogus)" if v & ~known & 0xFFFFFFFF else "")


def _known(names: tuple[tuple[int, str], ...]) -> int:
    k = 0
    for bit, _n in names:
        k |= bit
    return k


def _port(v: int) -> str:
    return PORTS.get(v, str(v))


def _vlan(v: int) -> str:
    if v == 0xFFFF:
        return "NONE"
    return str(v) if 0 < v < 0x0FFF else f"{v} (bogus)"


def _pcp(v: int) -> str:
    return str(v) if v <= 7 else f"{v} (bogus)"


class _Msg:
    """One message body's walk: the bytes, where the capture ends, the text so far."""

    def __init__(self, d: bytes, end: int, verbose: int) -> None:
        self.d = d
        self.end = end
        self.v = verbose
        self.out: list[str] = []

    def need(self, p: int, n: int) -> None:
        if p + n > self.end:
            raise Trunc

    def b(self, p: int) -> int:
        self.need(p, 1)
        return self.d[p]

    def h(self, p: int) -> int:
        self.need(p, 2)
        return u16(self.d, p)

    def w(self, p: int) -> int:
        self.need(p, 4)
        return u32(self.d, p)

    def q(self, p: int) -> int:
        self.need(p, 8)
        return int.from_bytes(self.d[p : p + 8], "big")

    def put(self, s: str) -> None:
        self.out.append(s)

    def name(self, p: int, n: int) -> str:
        """A fixed-size NUL-padded string (``nd_printjnp``)."""
        self.need(p, n)
        raw = self.d[p : p + n].split(b"\0", 1)[0]
        return "".join(safe_char(c) for c in raw)

    def data(self, p: int, n: int) -> None:
        """``of_data_print``: `` data (N octets)``, and with ``-vv`` their dump."""
        if n <= 0:
            return
        self.put(f"\n\t data ({n} octets)")
        if self.v >= 2:
            have = max(0, min(n, self.end - p))
            self.put(hex_ascii(self.d[p : p + have], "\n\t  "))
        self.need(p, n)

    def frame(self, p: int, n: int) -> None:
        """A PACKET_IN's or PACKET_OUT's frame: its size (tcpdump decodes it at ``-vvv``)."""
        if n <= 0:
            return
        self.put(f"\n\t data ({n} octets)")
        self.need(p, n)

    def vendor(self, p: int, n: int) -> None:
        if n < 4:
            raise _Invalid
        v = self.w(p)
        self.put(f", vendor 0x{v:08x} ({VENDORS.get(v, 'unknown')})")
        self.data(p + 4, n - 4)

    # ------------------------------------------------------------ OpenFlow 1.0 structures

    def phy_ports(self, p: int, n: int) -> None:
        while n:
            if n < 48:
                raise _Invalid
            self.put(f"\n\t  port_no {_port(self.h(p))}")
            self.need(p + 2, 6)
            self.put(f", hw_addr {mac(self.d[p + 2 : p + 8])}")
            self.put(f", name '{self.name(p + 8, 16)}'")
            if self.v < 2:
                self.need(p + 24, 24)
            else:
                for i, (label, names) in enumerate(
                    (
                        ("config", PORT_CONFIG),
                        ("state", ()),
                        ("curr", FEATURES),
                        ("advertised", FEATURES),
                        ("supported", FEATURES),
                        ("peer", FEATURES),
                    )
                ):
                    v = self.w(p + 24 + 4 * i)
                    self.put(f"\n\t   {label} 0x{v:08x}")
                    if label == "state":
                        self.put(self._state(v))
                    else:
                        self.put(_bitmap(names, v, _known(names)))
            p += 48
            n -= 48

    @staticmethod
    def _state(v: int) -> str:
        """The port state: the STP state (a two-bit field) first, then LINK_DOWN."""
        stp = ("STP_LISTEN", "STP_LEARN", "STP_FORWARD", "STP_BLOCK")[(v >> 8) & 3]
        words = stp + (", LINK_DOWN" if v & 1 else "")
        return f" ({words})" + (" (bogus)" if v & ~0x301 & 0xFFFFFFFF else "")

    def match(self, pfx: str, p: int) -> int:
        d = self.d
        wc = self.w(p)
        if wc & ~0x3FFFFF & 0xFFFFFFFF:
            self.put(f"{pfx}wildcards 0x{wc:08x} (bogus)")
        if not wc & 1:
            self.put(f"{pfx}match in_port {_port(self.h(p + 4))}")
        self.need(p + 6, 12)
        if not wc & 4:
            self.put(f"{pfx}match dl_src {mac(d[p + 6 : p + 12])}")
        if not wc & 8:
            self.put(f"{pfx}match dl_dst {mac(d[p + 12 : p + 18])}")
        vlan = self.h(p + 18)
        if not wc & 2:
            self.put(f"{pfx}match dl_vlan {_vlan(vlan)}")
        pcp = self.b(p + 20)
        if not wc & (1 << 20):
            self.put(f"{pfx}match dl_vlan_pcp {_pcp(pcp)}")
        self.b(p + 21)
        dl_type = self.h(p + 22)
        if not wc & 16:
            self.put(f"{pfx}match dl_type 0x{dl_type:04x}")
        tos = self.b(p + 24)
        if not wc & (1 << 21):
            self.put(f"{pfx}match nw_tos 0x{tos:02x}")
        proto = self.b(p + 25)
        if not wc & 32:
            field = "arp_opcode" if not wc & 16 and dl_type == 0x0806 else "nw_proto"
            self.put(f"{pfx}match {field} {proto}")
        self.h(p + 26)
        self.need(p + 28, 8)
        bits = (wc >> 8) & 0x3F
        if bits < 32:
            self.put(f"{pfx}match nw_src {ip4(d[p + 28 : p + 32])}/{32 - bits}")
        bits = (wc >> 14) & 0x3F
        if bits < 32:
            self.put(f"{pfx}match nw_dst {ip4(d[p + 32 : p + 36])}/{32 - bits}")
        icmp = not wc & 16 and dl_type == 0x0800 and not wc & 32 and proto == 1
        src = self.h(p + 36)
        if not wc & 64:
            self.put(f"{pfx}match {'icmp_type' if icmp else 'tp_src'} {src}")
        dst = self.h(p + 38)
        if not wc & 128:
            self.put(f"{pfx}match {'icmp_code' if icmp else 'tp_dst'} {dst}")
        return p + 40

    def actions(self, pfx: str, p: int, n: int) -> int:
        d = self.d
        while n:
            if n < 8:
                raise _Invalid
            t = self.h(p)
            self.put(f"{pfx}action type ")
            self.put(ACTIONS[t] if t < len(ACTIONS) else "VENDOR" if t == 0xFFFF
                     else f"invalid (0x{t:04x})")  # fmt: skip
            alen = self.h(p + 2)
            self.put(f", len {alen}")
            if alen < 8 or alen > n:
                raise _Invalid
            if t in (0, 1, 2, 3, 6, 7, 8, 9, 10):
                bogus = alen != 8
            elif t in (4, 5, 11):
                bogus = alen != 16
            elif t == 0xFFFF:
                bogus = alen % 8 != 0
            else:
                bogus = False
                self.need(p + 4, alen - 4)
                p += alen
                n -= alen
                continue
            if bogus:
                self.put(" (bogus)")
                self.need(p + 4, alen - 4)
            elif t == 0:
                port = self.h(p + 4)
                self.put(f", port {_port(port)}")
                ml = self.h(p + 6)
                if port == 0xFFFD:
                    self.put(f", max_len {ml}")
            elif t == 1:
                self.put(f", vlan_vid {_vlan(self.h(p + 4))}")
                self.h(p + 6)
            elif t == 2:
                self.put(f", vlan_pcp {_pcp(self.b(p + 4))}")
                self.need(p + 5, 3)
            elif t in (4, 5):
                self.need(p + 4, 12)
                self.put(f", dl_addr {mac(d[p + 4 : p + 10])}")
            elif t in (6, 7):
                self.need(p + 4, 4)
                self.put(f", nw_addr {ip4(d[p + 4 : p + 8])}")
            elif t == 8:
                self.put(f", nw_tos 0x{self.b(p + 4):02x}")
                self.need(p + 5, 3)
            elif t in (9, 10):
                self.put(f", tp_port {self.h(p + 4)}")
                self.h(p + 6)
            elif t == 11:
                self.put(f", port {_port(self.h(p + 4))}")
                qid = self.w(p + 12)
                self.put(f", queue_id {'ALL' if qid == 0xFFFFFFFF else qid}")
            elif t == 0xFFFF:
                self.vendor(p + 4, alen - 4)
            elif t == 3:
                self.need(p + 4, 4)
            p += alen
            n -= alen
        return p

    # ------------------------------------------------------------ OpenFlow 1.0 messages

    def body10(self, t: int, p: int, n: int) -> None:
        """The body of a 1.0 message of type ``t``: ``n`` bytes from ``p``."""
        d = self.d
        if t in (0, 2, 3):
            self.data(p, n)
        elif t == 1:
            et, code = self.h(p), self.h(p + 2)
            if et < len(ERRORS):
                name, codes = ERRORS[et]
                word = codes[code] if code < len(codes) else f"invalid (0x{code:04x})"
            else:
                name, word = f"invalid (0x{et:04x})", f"invalid (0x{code:04x})"
            self.put(f"\n\t type {name}, code {word}")
            self.data(p + 4, n - 4)
        elif t == 4:
            self.vendor(p, n)
        elif t in (8, 9):
            flags = self.h(p)
            self.put(f"\n\t flags {CONFIG.get(flags, f'invalid (0x{flags:04x})')}")
            self.put(f", miss_send_len {self.h(p + 2)}")
        elif t == 6:
            self.put(f"\n\t dpid 0x{self.q(p):016x}, n_buffers {self.w(p + 8)}")
            self.put(f", n_tables {self.b(p + 12)}")
            self.need(p + 13, 3)
            cap = self.w(p + 16)
            self.put(f"\n\t capabilities 0x{cap:08x}")
            self.put(_bitmap(CAPABILITIES, cap, 0xEF))
            act = self.w(p + 20)
            self.put(f"\n\t actions 0x{act:08x}" + _bitmap(ACTION_BITS, act, 0xFFF))
            self.phy_ports(p + 24, n - 24)
        elif t == 10:
            buf = self.w(p)
            self.put(f"\n\t buffer_id {'NONE' if buf == 0xFFFFFFFF else f'0x{buf:08x}'}")
            self.put(f", total_len {self.h(p + 4)}, in_port {_port(self.h(p + 6))}")
            r = self.b(p + 8)
            self.put(f", reason {('NO_MATCH', 'ACTION')[r] if r < 2 else f'invalid (0x{r:02x})'}")
            self.b(p + 9)
            self.frame(p + 10, n - 10)
        elif t == 11:
            p = self.match("\n\t ", p)
            self.put(f"\n\t cookie 0x{self.q(p):016x}")
            prio = self.h(p + 8)
            if prio:
                self.put(f", priority {prio}")
            r = self.b(p + 10)
            words = ("IDLE_TIMEOUT", "HARD_TIMEOUT", "DELETE")
            self.put(f", reason {words[r] if r < 3 else f'unknown (0x{r:02x})'}")
            self.b(p + 11)
            self.put(f", duration_sec {self.w(p + 12)}, duration_nsec {self.w(p + 16)}")
            idle = self.h(p + 20)
            if idle:
                self.put(f", idle_timeout {idle}")
            self.h(p + 22)
            self.put(f", packet_count {self.q(p + 24)}, byte_count {self.q(p + 32)}")
        elif t == 12:
            r = self.b(p)
            self.put(
                f"\n\t reason {('ADD', 'DELETE', 'MODIFY')[r] if r < 3 else f'invalid (0x{r:02x})'}"
            )
            self.need(p + 1, 7)
            self.phy_ports(p + 8, 48)
        elif t == 13:
            self.put(f"\n\t buffer_id 0x{self.w(p):08x}, in_port {_port(self.h(p + 4))}")
            alen = self.h(p + 6)
            if alen > n - 8:
                raise _Invalid
            q = self.actions("\n\t ", p + 8, alen)
            self.frame(q, n - 8 - alen)
        elif t == 14:
            p = self.match("\n\t ", p)
            self.put(f"\n\t cookie 0x{self.q(p):016x}")
            cmd = self.h(p + 8)
            self.put(f", command {FLOW_CMDS[cmd] if cmd < 5 else f'invalid (0x{cmd:04x})'}")
            for i, label in enumerate(("idle_timeout", "hard_timeout", "priority")):
                v = self.h(p + 10 + 2 * i)
                if v:
                    self.put(f", {label} {v}")
            buf = self.w(p + 16)
            if cmd in (0, 1, 2):
                self.put(f", buffer_id {'NONE' if buf == 0xFFFFFFFF else f'0x{buf:08x}'}")
            out = self.h(p + 20)
            if cmd in (3, 4):
                self.put(f", out_port {_port(out)}")
            fl = self.h(p + 22)
            self.put(f", flags 0x{fl:04x}" + _bitmap(FLOW_FLAGS, fl, 7))
            self.actions("\n\t ", p + 24, n - 64)
        elif t == 15:
            self.put(f"\n\t port_no {_port(self.h(p))}")
            self.need(p + 2, 6)
            self.put(f", hw_addr {mac(d[p + 2 : p + 8])}")
            for i, (label, names) in enumerate(
                (("config", PORT_CONFIG), ("mask", PORT_CONFIG), ("advertise", FEATURES))
            ):
                v = self.w(p + 8 + 4 * i)
                self.put(f"\n\t {label} 0x{v:08x}" + _bitmap(names, v, _known(names)))
            self.need(p + 20, 4)
        elif t == 16:
            self.stats_request(p, n)
        elif t == 17:
            self.stats_reply(p, n)
        elif t == 20:
            self.put(f"\n\t port {_port(self.h(p))}")
            self.h(p + 2)
        elif t == 21:
            self.put(f"\n\t port {_port(self.h(p))}")
            self.need(p + 2, 6)
            self.queues(p + 8, n - 8)

    def queues(self, p: int, n: int) -> None:
        while n:
            if n < 8:
                raise _Invalid
            self.put(f"\n\t  queue_id {self.w(p)}")
            ql = self.h(p + 4)
            self.put(f", len {ql}")
            if ql < 8 or ql > n:
                raise _Invalid
            self.h(p + 6)
            if self.v < 2:
                self.need(p + 8, ql - 8)
            else:
                self.props(p + 8, ql - 8)
            p += ql
            n -= ql

    def props(self, p: int, n: int) -> None:
        while n:
            if n < 8:
                raise _Invalid
            prop = self.h(p)
            names = {0: "NONE", 1: "MIN_RATE"}
            self.put(f"\n\t   property {names.get(prop, f'invalid (0x{prop:04x})')}")
            pl = self.h(p + 2)
            self.put(f", len {pl}")
            if pl < 8 or pl > n:
                raise _Invalid
            self.w(p + 4)
            if prop in (0, 1) and pl != (8 if prop == 0 else 16):
                self.put(" (bogus)")
                self.need(p + 4, pl - 4)
            elif prop == 1:
                rate = self.h(p + 8)
                self.put(", rate disabled" if rate > 1000 else f", rate {rate // 10}.{rate % 10}%")
                self.need(p + 10, 6)
            else:
                self.need(p + 4, pl - 4)
            p += pl
            n -= pl

    def stats_request(self, p: int, n: int) -> None:
        t = self.h(p)
        self.put(f"\n\t type {STATS.get(t, 'VENDOR' if t == 0xFFFF else f'invalid (0x{t:04x})')}")
        fl = self.h(p + 2)
        self.put(f", flags 0x{fl:04x}" + (" (bogus)" if fl else ""))
        n -= 4
        p += 4
        if t in (0, 3):
            if n:
                raise _Invalid
        elif t in (1, 2):
            if n != 44:
                raise _Invalid
            p = self.match("\n\t ", p)
            tid = self.b(p)
            self.put(f"\n\t table_id {TABLES.get(tid, str(tid))}")
            self.b(p + 1)
            self.put(f", out_port {_port(self.h(p + 2))}")
        elif t == 4:
            if n != 8:
                raise _Invalid
            self.put(f"\n\t port_no {_port(self.h(p))}")
            self.need(p + 2, 6)
        elif t == 5:
            if n != 8:
                raise _Invalid
            self.put(f"\n\t port_no {_port(self.h(p))}")
            self.h(p + 2)
            qid = self.w(p + 4)
            self.put(f", queue_id {'ALL' if qid == 0xFFFFFFFF else qid}")
        elif t == 0xFFFF:
            self.vendor(p, n)

    def stats_reply(self, p: int, n: int) -> None:
        t = self.h(p)
        self.put(f"\n\t type {STATS.get(t, 'VENDOR' if t == 0xFFFF else f'invalid (0x{t:04x})')}")
        fl = self.h(p + 2)
        self.put(f", flags 0x{fl:04x}" + _bitmap(((1, "MORE"),), fl, 1))
        p += 4
        n -= 4
        if t == 0:
            if n != 1056:
                raise _Invalid
            for label, size in (
                ("mfr_desc", 256),
                ("hw_desc", 256),
                ("sw_desc", 256),
                ("serial_num", 32),
                ("dp_desc", 256),
            ):
                self.put(f"\n\t  {label} '{self.name(p, size)}'")
                p += size
        elif t == 1:
            self.flow_stats(p, n)
        elif t == 2:
            if n != 24:
                raise _Invalid
            self.put(f"\n\t packet_count {self.q(p)}, byte_count {self.q(p + 8)}")
            self.put(f", flow_count {self.w(p + 16)}")
            self.w(p + 20)
        elif t == 3:
            while n:
                if n < 64:
                    raise _Invalid
                tid = self.b(p)
                self.put(f"\n\t table_id {TABLES.get(tid, str(tid))}")
                self.need(p + 1, 3)
                self.put(f", name '{self.name(p + 4, 32)}'")
                wc = self.w(p + 36)
                self.put(f"\n\t  wildcards 0x{wc:08x}" + _bitmap(WILDCARDS, wc, 0x3FFFFF))
                self.put(f"\n\t  max_entries {self.w(p + 40)}, active_count {self.w(p + 44)}")
                self.put(f", lookup_count {self.q(p + 48)}, matched_count {self.q(p + 56)}")
                p += 64
                n -= 64
        elif t == 4:
            while n:
                if n < 104:
                    raise _Invalid
                self.put(f"\n\t  port_no {_port(self.h(p))}")
                if self.v < 2:
                    self.need(p + 2, 102)
                else:
                    self.need(p + 2, 6)
                    for i, label in enumerate(
                        (
                            *("rx_packets", "tx_packets", "rx_bytes", "tx_bytes"),
                            *("rx_dropped", "tx_dropped", "rx_errors", "tx_errors"),
                            *("rx_frame_err", "rx_over_err", "rx_crc_err", "collisions"),
                        )
                    ):
                        self.put(f", {label} {self.q(p + 8 + 8 * i)}")
                p += 104
                n -= 104
        elif t == 5:
            while n:
                if n < 32:
                    raise _Invalid
                self.put(f"\n\t  port_no {_port(self.h(p))}")
                self.h(p + 2)
                self.put(f", queue_id {self.w(p + 4)}, tx_bytes {self.q(p + 8)}")
                self.put(f", tx_packets {self.q(p + 16)}, tx_errors {self.q(p + 24)}")
                p += 32
                n -= 32
        elif t == 0xFFFF:
            self.vendor(p, n)
        else:
            self.need(p, n)

    def flow_stats(self, p: int, n: int) -> None:
        while n:
            if n < 88:
                raise _Invalid
            el = self.h(p)
            self.put(f"\n\t length {el}")
            if el < 88 or el > n:
                raise _Invalid
            tid = self.b(p + 2)
            self.put(f", table_id {TABLES.get(tid, str(tid))}")
            self.b(p + 3)
            q = self.match("\n\t  ", p + 4)
            self.put(f"\n\t  duration_sec {self.w(q)}, duration_nsec {self.w(q + 4)}")
            self.put(f", priority {self.h(q + 8)}, idle_timeout {self.h(q + 10)}")
            self.put(f", hard_timeout {self.h(q + 12)}")
            self.need(q + 14, 6)
            self.put(f", cookie 0x{self.q(q + 20):016x}, packet_count {self.q(q + 28)}")
            self.put(f", byte_count {self.q(q + 36)}")
            self.actions("\n\t  ", q + 44, el - 88)
            p += el
            n -= el

    # ------------------------------------------------------------ OpenFlow 1.3

    def body13(self, t: int, p: int, n: int) -> None:
        """The OpenFlow 1.3 bodies tcpdump 4.99 decodes at ``-v`` (PACKET_IN, PACKET_OUT,
        FLOW_MOD, FLOW_REMOVED, GROUP_MOD, MULTIPART, QUEUE_GET_CONFIG_REPLY and METER_MOD
        are still "to be done" there: their header line is all it prints)."""
        if t == 0:
            self.hello13(p, n)
        elif t == 1:
            et, code = self.h(p), self.h(p + 2)
            known = et < len(ERRORS13)
            word = ERRORS13[et][0] if known else "EXPERIMENTER" if et == 0xFFFF else ""
            self.put(f"\n\t type {word or f'invalid (0x{et:04x})'}")
            codes = ERRORS13[et][1] if known else ()
            self.put(f", code {codes[code] if code < len(codes) else f'invalid (0x{code:04x})'}")
            self.data(p + 4, n - 4)
        elif t in (2, 3):
            self.data(p, n)
        elif t == 4:
            v = self.w(p)
            self.put(f"\n\t experimenter 0x{v:08x} ({VENDORS.get(v, 'unknown')})")
            self.put(f", exp_type 0x{self.w(p + 4):08x}")
            self.data(p + 8, n - 8)
        elif t == 6:
            self.put(f"\n\t dpid 0x{self.q(p):016x}, n_buffers {self.w(p + 8)}")
            self.put(f", n_tables {self.b(p + 12)}, auxiliary_id {self.b(p + 13)}")
            cap = self.w(p + 16)
            self.put(f"\n\t capabilities 0x{cap:08x}" + _bitmap(CAPABILITIES13, cap, 0x16F))
            self.need(p + 20, 4)
        elif t in (8, 9):
            f = self.h(p)
            self.put(f"\n\t flags {CONFIG.get(f, f'invalid (0x{f:04x})')}")
            ml = self.h(p + 2)
            word = "MAX" if ml == 0xFFE5 else "NO_BUFFER" if ml == 0xFFFF else str(ml)
            self.put(f", miss_send_len {word}")
        elif t == 12:
            r = self.b(p)
            # (tcpdump's format for an unknown reason lacks its %: the words come out as is)
            self.put(f"\n\t reason {PORT_REASONS[r] if r < 3 else 'invalid (0x02x)'}")
            self.port13(p + 8)
        elif t == 16:
            self.put(f"\n\t port_no {PORTS13.get(self.w(p), str(self.w(p)))}")
            self.need(p + 8, 6)
            self.put(f", hw_addr {mac(self.d[p + 8 : p + 14])}")
            for i, (word, names) in enumerate(
                (("config", PORT_CONFIG13), ("mask", PORT_CONFIG13), ("advertise", FEATURES13))
            ):
                v = self.w(p + 16 + 4 * i)
                self.put(f"\n\t  {word} 0x{v:08x}" + _bitmap(names, v, _known(names)))
            self.need(p + 28, 4)
        elif t == 17:
            tid = self.b(p)
            word = "MAX" if tid == 0xFE else "ALL" if tid == 0xFF else str(tid)
            self.put(f"\n\t table_id {word}, config 0x{self.w(p + 4):08x}")
        elif t == 22:
            self.put(f"\n\t port {PORTS13.get(self.w(p), str(self.w(p)))}")
            self.need(p + 4, 4)
        elif t in (24, 25):
            r = self.w(p)
            self.put(f"\n\t role {ROLES[r] if r < 4 else f'invalid (0x{r:08x})'}")
            self.put(f", generation_id 0x{self.q(p + 8):016x}")
        elif t in (27, 28):
            for i, (word, names) in enumerate(
                (
                    ("packet_in_mask[EM]", ASYNC_PACKET_IN),
                    ("packet_in_mask[S]", ASYNC_PACKET_IN),
                    ("port_status_mask[EM]", ASYNC_PORT),
                    ("port_status_mask[S]", ASYNC_PORT),
                    ("flow_removed_mask[EM]", ASYNC_PORT),
                    ("flow_removed_mask[S]", ASYNC_PORT),
                )
            ):
                v = self.w(p + 4 * i)
                self.put(f"\n\t {word} 0x{v:08x}" + _bitmap(names, v, 7))

    def port13(self, p: int) -> None:
        """An OpenFlow 1.3 port (``ofp_port``): its number, address and name; with ``-vv``
        its configuration, state, features and speeds."""
        v = self.w(p)
        self.put(f"\n\t  port_no {PORTS13.get(v, str(v))}")
        self.need(p + 8, 6)
        self.put(f", hw_addr {mac(self.d[p + 8 : p + 14])}, name '{self.name(p + 16, 16)}'")
        if self.v < 2:
            self.need(p + 32, 32)
            return
        q = p + 32
        for word, names in (
            ("config", PORT_CONFIG13),
            ("state", PORT_STATE13),
            ("curr", FEATURES13),
            ("advertised", FEATURES13),
            ("supported", FEATURES13),
            ("peer", FEATURES13),
        ):
            v = self.w(q)
            self.put(f"\n\t   {word} 0x{v:08x}" + _bitmap(names, v, _known(names)))
            q += 4
        self.put(f"\n\t   curr_speed {self.w(q)}kbps")
        self.put(f"\n\t   max_speed {self.w(q + 4)}kbps")

    def hello13(self, p: int, n: int) -> None:
        while n:
            if n < 4:
                raise _Invalid
            t = self.h(p)
            self.put(f"\n\t type {'VERSIONBITMAP' if t == 1 else f'unknown (0x{t:04x})'}")
            ln = self.h(p + 2)
            self.put(f", length {ln}")
            p += 4
            n -= 4
            if ln < 4 or ln > 4 + n:
                raise _Invalid
            if t == 1 and ln == 8:
                bm = self.w(p)
                names = tuple((1 << i, f"1.{i}") for i in range(6))
                self.put(f", bitmap 0x{bm:08x}" + _bitmap(names, bm, 0x3F))
            else:
                if t == 1:
                    self.put(" (bogus)")
                self.need(p, ln - 4)
            p += ln - 4
            n -= ln - 4


def openflow(d: bytes, off: int, end: int, length: int, verbose: int, most: int = -1) -> str:
    """``: OpenFlow`` and a line per message of the segment (``length``: its size);
    ``most`` >= 0: that many messages at most, then how many bytes were left out."""
    m = _Msg(d, end, verbose)
    put = m.put
    put(": OpenFlow")
    p, n = off, length
    try:
        while n > 0:
            if most == 0:
                put(f"\n\t... {n} bytes more")
                break
            most -= 1
            version = m.b(p)
            put(f"\n\tversion {VERSIONS.get(version, f'unknown (0x{version:02x})')}")
            p += 1
            n -= 1
            if n < 1:
                put(" (end of TCP payload)")
                return "".join(m.out)
            t = m.b(p)
            names = TYPES10 if version == 1 else TYPES13 if version == 4 else ()
            put(f", type {names[t] if t < len(names) else f'unknown (0x{t:02x})'}")
            p += 1
            n -= 1
            if n < 2:
                put(" (end of TCP payload)")
                m.need(p, n)
                return "".join(m.out)
            ml = m.h(p)
            put(f", length {ml}{' (too short!)' if ml < 8 else ''}")
            p += 2
            n -= 2
            if n < 4:
                put(" (end of TCP payload)")
                m.need(p, n)
                return "".join(m.out)
            put(f", xid 0x{m.w(p):08x}")
            p += 4
            n -= 4
            if ml < 8:
                put(" (invalid)")
                m.need(p, n)
                return "".join(m.out)
            body = ml - 8
            req = (REQ10 if version == 1 else REQ13 if version == 4 else {}).get(t)
            if req is not None and (
                (req[0] == FIX and ml != req[1]) or (req[0] == MIN and ml < req[1])
            ):
                put(" (invalid)")
            elif t < len(names) and verbose:
                try:
                    if version == 1:
                        m.body10(t, p, body)
                    else:
                        m.body13(t, p, body)
                except _Invalid:
                    put(" (invalid)")
            m.need(p, body)
            if body > n:
                break
            p += body
            n -= body
    except Trunc:
        put(" [|openflow]")
    return "".join(m.out)


#: messages of one segment Wireshark's Info is looked for in (it names the last)
_WS_MOST: Final = 4096
#: what Wireshark adds to TCP's words for a segment that starts a message it does not hold
#: (it waits for the rest), and for one whose first message is shorter than its header
_WS_PART: Final = " [TCP segment of a reassembled PDU]"
_WS_BAD: Final = "[Malformed Packet]"


def _ws_short13(d: bytes, p: int, t: int, ml: int) -> bool:
    """An OpenFlow 1.3 message at ``p`` (whole in the segment) too short for what Wireshark
    reads of it: its fixed part, the offending header an error carries (8 bytes, but for
    HELLO_FAILED's text and an experimenter's data), a HELLO element's padded length."""
    req = REQ13.get(t)
    if req is not None and ml < req[1]:
        return True
    if t == 1:
        data = ml - 12
        return d[p + 8] << 8 | d[p + 9] not in (0, 0xFFFF) and 0 < data < 8
    if t == 0:
        q, stop = p + 8, p + ml
        for _ in range(_WS_MOST):
            if stop - q < 4:
                break
            size = d[q + 2] << 8 | d[q + 3]
            if size < 4:
                break
            q += (size + 7) & ~7
            if q > stop:
                return True
    return False


def ws_info(d: bytes, off: int, end: int) -> str:
    """Wireshark's Info for the OpenFlow messages of a segment: the last whole message's
    type (``Type: OFPT_HELLO``; a multipart message's kind after it), for the versions it
    reads (1.0, 1.3-1.5); ``""`` when it words none; what it adds to TCP's words (``_WS_PART``,
    ``_WS_BAD``) when the segment's first message is not there whole or is too short."""
    words = ""
    p = off
    for _ in range(_WS_MOST):
        if end - p < 8:
            return _WS_PART if p == off else words
        version, t, ml = d[p], d[p + 1], d[p + 2] << 8 | d[p + 3]
        if ml < 8:
            return words or _WS_BAD
        if p + ml > end:
            return _WS_PART if p == off else words
        names = TYPES10 if version == 1 else TYPES13 if version in (4, 5, 6) else None
        if names is None or (version > 4 and t >= len(names)):  # 1.4's own: not worded here
            return ""
        words = f"Type: OFPT_{names[t]}" if t < len(names) else "Type: Unknown message type"
        if version == 4 and t in (18, 19) and ml >= 10:
            mp = MULTIPART13.get(d[p + 8] << 8 | d[p + 9])
            words += f", OFPMP_{mp}" if mp else ", Unknown type"
        if version == 4 and _ws_short13(d, p, t, ml):
            return words + "[Malformed Packet]"  # Wireshark stops at the message
        p += ml
        if p >= end:
            break
    return words


class _OpenFlow(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if a.claimed > length:
            length = a.claimed
        text = openflow(d, off, end, length, a.verbose, MAX_BRIEF_ITEMS if a.brief else -1)
        if not a.strict and not a.verbose:  # one packet, one line
            text = text.replace("\n\t", " ")
        if not a.lean:
            words = ws_info(d, off, min(end, off + length))
            if words in (_WS_PART, _WS_BAD):
                if not a.info.endswith(words):
                    a.info += words  # after TCP's words
            else:
                a.info = words or text[2:].replace("\n\t", " ")
        return text

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("OpenFlow")


bind(TCP_PORTS, (6653, 6633), _OpenFlow("OpenFlow"))
