"""LAN link types beside Ethernet, as tcpdump 4.99 prints them: ARCNET (BSD's link type 7
and Linux's 129, RFC 1201 and RFC 1051 framing) and the switch-tag link types Linux's
DSA drivers capture on a switch's CPU port: Marvell DSA (284) and EDSA (285), and
Broadcom's tag after the MAC addresses (281) or before the frame (282).

tcpdump prints a Marvell or Broadcom tag before the carried packet even without ``-e``
(``DSA port 1.3 > CPU, VLAN 1u, IP ...``); with ``-e`` the tag's fields go between the
MAC addresses and the ethertype.  A prepended Broadcom tag shows only with ``-e``.
"""

from __future__ import annotations

import re
from typing import Final

from tapwatch.decode.core import (
    LINKTYPES,
    Acc,
    LinkHandler,
    Walk,
    bind,
    ethertype_text,
    ethertype_walk,
    u16,
)
from tapwatch.decode.link import ether, ether_walk, link_walk, link_walked
from tapwatch.decode.names import ETHERTYPE_NAMES
from tapwatch.decode.verbose import hex_ascii

# --------------------------------------------------------------------------- ARCNET

_ARC_NAMES: Final = {
    0xF0: "oldip",
    0xF1: "oldarp",
    0xD4: "ip",
    0xD5: "arp",
    0xD6: "rarp",
    0xDD: "atalk",
    0xF7: "banyan",
    0xFA: "ipx",
    0xC4: "ipv6",
    0x80: "diag",
}
#: system codes whose frames carry no split flag (RFC 1051, diagnostics)
_ARC_OLD: Final = (0xF0, 0xF1, 0x80)
#: what a system code carries, by the ethertype tapwatch decodes it as
_ARC_CARRIES: Final = {0xF0: 0x0800, 0xD4: 0x0800, 0xC4: 0x86DD, 0xF1: 0x0806, 0xD5: 0x0806}
_ARC_CARRIES_RARP: Final = 0xD6


def _arc_name(code: int) -> str:
    return _ARC_NAMES.get(code, f"{code:02x}")


def _arc_body(d: bytes, p: int, code: int, a: Acc) -> str:
    """The packet an ARCNET frame carries, or tcpdump's hex dump of an unknown one."""
    t = _ARC_CARRIES.get(code, 0x8035 if code == _ARC_CARRIES_RARP else -1)
    if t >= 0:
        text = ethertype_text(d, p, t, a)
        if text is not None:
            return text
    if a.strict or a.verbose:
        return hex_ascii(d[p:], "\n\t")
    return hex_ascii(d[p:], "\n\t").replace("\n\t", " ").lstrip()  # one packet, one line


class _Arcnet(LinkHandler):
    """BSD ARCNET: source, destination, system code; RFC 1201 adds the split flag and
    sequence number (an exception frame repeats them after a 0xff flag)."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        """Where the header ends (and the RFC 1201 part before an exception frame's repeat)
        is the walk's: the text reads the fields before it."""
        n = len(d)
        length = n + a.cut
        w = link_walk(d, a, "ARCNET", self)
        hlen = w.header_end(0, "ARCNET")
        if hlen < 0:
            a.bad = True
            return "", " [|arcnet]"
        code = d[2]
        head = f"{d[0]:02x} {d[1]:02x} {_arc_name(code)}"
        if code in _ARC_OLD:
            flag, seq = 0, 0
            link = f"{head} {length}: "
        else:
            if n < w.part_end(0, "ARCNET"):
                a.bad = True
                return "", f"{head} {length}:  phds [|arcnet]"
            if n < hlen:
                a.bad = True
                return "", f"{head} {length}:  phds extended [|arcnet]"
            flag, seq = d[hlen - 3], u16(d, hlen - 2)  # the split flag and sequence number
            link = f"{head} seqid {seq:04x} "
            if flag == 0:
                link += f"{length}: "
            elif flag & 1:
                link += f"(first of {(flag + 3) // 2} fragments) {length}: "
            else:
                link += f"(fragment {flag // 2 + 1}) {length}: "
            if flag and not flag & 1:  # a later fragment: nothing to decode
                return link, ""
        return link, _arc_body(d, hlen, code, a)

    def walk(self, d: bytes, out: Walk) -> None:
        """The header: 3 bytes (RFC 1051), 6 (RFC 1201: split flag, sequence number; a part
        of its own), 10 (an exception frame repeats them after a 0xff flag)."""
        out.add("ARCNET", 0)
        if len(d) < 3:
            return
        code = d[2]
        if code in _ARC_OLD:
            out.head(3)
        else:
            out.part(0, 6)
            out.head(10 if len(d) >= 4 and d[3] == 0xFF else 6)
        if code in _ARC_OLD:
            p = 3
        elif len(d) < 6 or (d[3] == 0xFF and len(d) < 10):
            return
        else:
            flag = d[7] if d[3] == 0xFF else d[3]
            if flag and not flag & 1:
                return
            p = 10 if d[3] == 0xFF else 6
        t = _ARC_CARRIES.get(code, 0x8035 if code == _ARC_CARRIES_RARP else -1)
        if t >= 0:
            ethertype_walk(d, p, t, out)


class _ArcnetLinux(LinkHandler):
    """Linux ARCNET: source, destination, a 2-byte offset, the system code, and (RFC 1201)
    the split flag and sequence number; Linux hands over reassembled packets."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        n = len(d)
        hlen = link_walked(d, a, "ARCNET", self)  # by the system code: the walk's
        if hlen < 0 or n < hlen:
            a.bad = True
            return "", " [|arcnet_linux]"
        # tcpdump's -e reads BSD's layout here: the "system code" it names is the offset's
        # first byte (the packet's own is d[4])
        link = f"{d[0]:02x} {d[1]:02x} {_arc_name(d[2])} {n + a.cut}: "
        return link, _arc_body(d, hlen, d[4], a)

    def walk(self, d: bytes, out: Walk) -> None:
        out.add("ARCNET", 0)
        if len(d) < 5:
            return
        code = d[4]
        hlen = 5 if code in _ARC_OLD else 8
        out.head(hlen)
        t = _ARC_CARRIES.get(code, 0x8035 if code == _ARC_CARRIES_RARP else -1)
        if len(d) >= hlen and t >= 0:
            ethertype_walk(d, hlen, t, out)


# --------------------------------------------------------------------------- switch tags

_DSA_MODES: Final = ("To CPU", "From CPU", "To Sniffer", "Forward")
_DSA_CODES: Final = (
    "BPDU (MGMT) Trap",
    "Frame2Reg",
    "IGMP/MLD Trap",
    "Policy Trap",
    "ARP Mirror",
    "Policy Mirror",
)
_BRCM_TE: Final = ("None", "Untag", "Header", "Reserved")
_BRCM_RC: Final = {
    1: "mirror",
    2: "MAC learning",
    4: "switching",
    8: "prot term",
    16: "prot snoop",
    32: "exception",
}
_LENGTH: Final = re.compile(r"length \d+: $")


def _dsa(t: bytes, e: bool) -> str:
    """A Marvell DSA tag's text (``e``: tcpdump's -e wording)."""
    mode, tagged, dev = t[0] >> 6, t[0] & 0x20, t[0] & 0x1F
    port, bit2, cfi = t[1] >> 3, t[1] & 4, t[1] & 1
    vid = (t[2] & 0x0F) << 8 | t[3]
    if not e:
        if mode == 3:
            out = f"Forward {'trunk' if bit2 else 'port'} {dev}.{port}, "
        elif mode == 1:
            out = f"CPU > port {dev}.{port}, "
        elif mode == 0:
            out = f"port {dev}.{port} > CPU, "
        else:
            out = f"port {dev}.{port} > {'Rx' if bit2 else 'Tx'} Sniffer, "
        return out + f"VLAN {vid}{'t' if tagged else 'u'}, "
    out = f"mode {_DSA_MODES[mode]}, "
    if mode == 3:
        out += f"dev {dev}, {'trunk' if bit2 else 'port'} {port}, "
    elif mode == 1:
        out += f"target dev {dev}, port {port}, "
    elif mode == 0:
        code = (t[1] & 0x06) | (t[2] & 0x10) >> 4
        word = _DSA_CODES[code] if code < len(_DSA_CODES) else "reserved"
        out += f"source dev {dev}, port {port}, code {word}, "
    else:
        out += f"source dev {dev}, port {port}, {'ingress' if bit2 else 'egress'} sniff, "
    out += "tagged, " if tagged else "untagged, "
    return out + ("CFI, " if cfi else "") + f"VID {vid}, FPri {t[2] >> 5}, "


def _brcm(t: bytes) -> str:
    """A Broadcom tag's text: ingress (opcode 1) or egress fields, tcpdump's words."""
    out = f"BRCM tag OP: {'IG' if t[0] else 'EG'}"
    if t[0] & 0x20:
        out += f", TC: {(t[1] >> 2) & 7}, TE: {_BRCM_TE[t[1] & 3]}, TS: {t[1] >> 7}"
        out += f", DST map: 0x{(t[2] << 8 | t[3]) & 0x1FF:04x}"
    else:
        out += f", CID: {t[1]}, RC: {_BRCM_RC.get(t[2], 'reserved')}"
        out += f", TC: {(t[3] >> 5) & 7}, port: {t[3] & 0x1F}"
    return out + ", "


class _SwitchTag(LinkHandler):
    """Ethernet with a switch's tag between the MAC addresses and the ethertype."""

    def __init__(self, name: str, size: int, word: str) -> None:
        super().__init__(name)
        self.size = size
        self.word = word

    def tag(self, t: bytes, e: bool) -> str:
        if self.size == 4 and self.name == "BRCM":
            return _brcm(t)
        if self.size == 4:
            return ("Marvell DSA " if e else "DSA ") + _dsa(t, e)
        et = u16(t, 0)
        if e:
            head = f"Marvell EDSA ethertype 0x{et:04x} ({ETHERTYPE_NAMES.get(et, 'Unknown')}), "
            head += f"rsvd {t[2]} {t[3]}, "
        else:
            head = f"EDSA 0x{et:04x}, "
        return head + _dsa(t[4:], e)

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        size = self.size
        if len(d) < 14 + size:
            a.bad = True
            return "", f" [|{self.word}]"
        t = d[12 : 12 + size]
        inner = d[:12] + d[12 + size :]
        if a.lean:
            return "", self.tag(t, False) + ether(inner, 0, a)[1]
        link, text = ether(inner, 0, a)
        if not link:
            return "", self.tag(t, False) + text
        addrs, rest = link.split(", ", 1)
        rest = _LENGTH.sub(f"length {len(d) + a.cut}: ", rest)
        return f"{addrs}, {self.tag(t, True)}{rest}", text

    def walk(self, d: bytes, out: Walk) -> None:
        out.append(self.name)
        if len(d) >= 14 + self.size:
            ether_walk(d[:12] + d[12 + self.size :], 0, out)


class _BrcmPrepend(LinkHandler):
    """A Broadcom tag before the Ethernet frame: shown only with ``-e``."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        if len(d) < 4:
            a.bad = True
            return "", " [|brcm-tag-prepend]"
        link, text = ether(d[4:], 0, a)
        if a.lean:
            return "", text
        return _brcm(d[:4]) + link, text

    def walk(self, d: bytes, out: Walk) -> None:
        out.append("BRCM")
        if len(d) >= 4:
            ether_walk(d[4:], 0, out)


bind(LINKTYPES, (7,), _Arcnet("ARCNET"))
bind(LINKTYPES, (129,), _ArcnetLinux("ARCNET"))
bind(LINKTYPES, (284,), _SwitchTag("DSA", 4, "dsa"))
bind(LINKTYPES, (285,), _SwitchTag("EDSA", 8, "edsa"))
bind(LINKTYPES, (281,), _SwitchTag("BRCM", 4, "brcm-tag"))
bind(LINKTYPES, (282,), _BrcmPrepend("BRCM"))
