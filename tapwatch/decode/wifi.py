"""802.11 as tcpdump 4.99 prints it: the plain 802.11 link type (105) and 802.11 behind a
radiotap header (127), the way monitor-mode interfaces capture a wireless link.

The radiotap header's fields print in their bit order, each aligned to its size from the
header's start (tcpdump's ``cpack``): TSFT, flags, rate, channel, signal and noise,
antenna, MCS and VHT; a field of unknown size ends the walk (``[bit N]``).  The frame then
prints as tcpdump's ``ieee802_11_print``: management frames by subtype (Beacon, Probe
Request/Response, Authentication, Association, Deauthentication ... with the SSID, rates
and channel of their elements), control frames by name with their addresses, data frames
as the LLC/SNAP payload they carry (an IP packet prints as usual).  The MAC header's
addresses print only with ``-e``, as tcpdump's do.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    LINKTYPES,
    Acc,
    LinkHandler,
    Walk,
    bind,
    ethertype_text,
    ethertype_walk,
    fresh,
    mac,
)
from tapwatch.decode.link import link_walked
from tapwatch.decode.names import ETHERTYPE_NAMES
from tapwatch.decode.verbose import hex_ascii, safe_char
from tapwatch.decode.wifi_names import (
    ACTION_PLAIN,
    ACTION_SUB,
    AUTH_ALGS,
    CTRL_HDRLEN,
    CTRL_NAMES,
    HT_BANDWIDTH,
    HT_KNOWN_BW,
    HT_KNOWN_GI,
    HT_KNOWN_INDEX,
    HT_RATES,
    MGMT_NAMES,
    REASONS,
    SELFPROT,
    STATUSES,
    VHT_BANDWIDTH,
    WS_FLAGS,
    WS_FRAMES,
)

_TRUNC: Final = " [|802.11]"
_RT_TRUNC: Final = " [|802.11_radio]"


def _le16(d: bytes, p: int) -> int:
    return d[p] | d[p + 1] << 8


def _le32(d: bytes, p: int) -> int:
    return d[p] | d[p + 1] << 8 | d[p + 2] << 16 | d[p + 3] << 24


def _s8(v: int) -> int:
    return v - 256 if v & 0x80 else v


# --------------------------------------------------------------------------- radiotap


class _Cursor:
    """tcpdump's ``cpack``: fields read in order, each aligned to its size from the header's
    start; ``ok`` turns false when a field would run past the header's length."""

    def __init__(self, d: bytes, start: int, end: int) -> None:
        self.d = d
        self.p = start
        self.end = end

    def take(self, size: int) -> int:
        """The offset of the next field of ``size`` bytes (aligned), or -1 past the end."""
        p = self.p
        if p % size:
            p += size - p % size
        if p + size > self.end:
            return -1
        self.p = p + size
        return p


def _chaninfo(freq: int, flags: int, present: int) -> str:
    out = f"{freq} MHz"
    if present & (1 << 19):
        out += " 11n"
    else:
        if flags & 0x880 == 0x880:
            out += " FHSS"
        if flags & 0x140 == 0x140:
            out += " 11a/10Mhz" if flags & 0x4000 else " 11a/5Mhz" if flags & 0x8000 else " 11a"
        if flags & 0xC0 == 0xC0 or flags & 0x480 == 0x480:
            out += " 11g/10Mhz" if flags & 0x4000 else " 11g/5Mhz" if flags & 0x8000 else " 11g"
        elif flags & 0xA0 == 0xA0:
            out += " 11b"
        if flags & 0x10:
            out += " Turbo"
    if flags & 0x10000:
        out += " ht/20"
    elif flags & 0x40000:
        out += " ht/40-"
    elif flags & 0x20000:
        out += " ht/40+"
    return out + " "


def _mcs(d: bytes, p: int) -> str:
    known, flags, index = d[p], d[p + 1], d[p + 2]
    out = ""
    if known & HT_KNOWN_INDEX:
        rate = 0.0
        if index < len(HT_RATES) and known & (HT_KNOWN_BW | HT_KNOWN_GI):
            rate = HT_RATES[index][(2 if flags & 3 == 1 else 0) + (1 if flags & 4 else 0)]
        out += f"{rate:.1f} Mb/s MCS {index} " if rate else f"MCS {index} "
    if known & HT_KNOWN_BW:
        out += HT_BANDWIDTH[flags & 3] + " "
    if known & HT_KNOWN_GI:
        out += "short GI " if flags & 4 else "long GI "
    if known & 0x08:
        out += "greenfield " if flags & 8 else "mixed "
    if known & 0x10:
        out += "LDPC FEC " if flags & 0x10 else "BCC FEC "
    if known & 0x20:
        out += f"RX-STBC{(flags & 0x60) >> 5} "
    return out


def _vht(d: bytes, p: int) -> str:
    known, flags, bw = _le16(d, p), d[p + 2], d[p + 3]
    coding = d[p + 8]
    out = ""
    for i in range(4):
        m = d[p + 4 + i]
        if m & 0x0F:
            out += f"User {i} MCS {m >> 4} " + ("LDPC FEC " if coding & (1 << i) else "BCC FEC ")
    if known & 0x40:
        out += VHT_BANDWIDTH[bw & 0x1F] + " "
    if known & 0x04:
        out += "short GI " if flags & 4 else "long GI "
    return out


#: the radiotap fields tcpdump knows: bit -> (alignment, size)
_FIELDS: Final = {
    0: (8, 8),
    1: (1, 1),
    2: (1, 1),
    3: (2, 4),
    4: (1, 2),
    5: (1, 1),
    6: (1, 1),
    7: (2, 2),
    8: (2, 2),
    9: (1, 1),
    10: (1, 1),
    11: (1, 1),
    12: (1, 1),
    13: (1, 1),
    14: (2, 2),
    18: (4, 8),
    19: (1, 3),
    20: (4, 8),
    21: (2, 12),
}


def _field(c: _Cursor, bit: int, present: int, out: list[str]) -> int:
    """One field's text into ``out``; returns its flags byte (bit 1), -1 when the walk ends."""
    spec = _FIELDS.get(bit)
    if spec is None:
        out.append(f"[bit {bit}] ")
        return -1
    align, size = spec
    # tcpdump reads a field as its parts, each aligned to its own size: the first part
    # sets the field's alignment, and every field here is laid out without inner gaps
    p = c.take(align)
    if p < 0 or p + size > c.end:
        out.append(_RT_TRUNC)
        return -1
    c.p = p + size
    d = c.d
    if bit == 0:
        out.append(f"{_le32(d, p) | _le32(d, p + 4) << 32}us tsft ")
    elif bit == 1:
        f = d[p]
        out.append(
            ("cfp " if f & 1 else "")
            + ("short preamble " if f & 2 else "")
            + ("wep " if f & 4 else "")
            + ("fragmented " if f & 8 else "")
            + ("bad-fcs " if f & 0x40 else "")
        )
        return 0x100 | f
    elif bit == 2:
        r = d[p]
        out.append(f"MCS {r & 0x7F} " if 0x80 <= r <= 0x8F else f"{0.5 * r:2.1f} Mb/s ")
    elif bit == 3:
        if not present & (1 << 18):
            out.append(_chaninfo(_le16(d, p), _le16(d, p + 2), present))
    elif bit == 4:
        out.append(f"fhset {d[p]} fhpat {d[p + 1]} ")
    elif bit == 5:
        out.append(f"{_s8(d[p])}dBm signal ")
    elif bit == 6:
        out.append(f"{_s8(d[p])}dBm noise ")
    elif bit == 7:
        out.append(f"{_le16(d, p)} sq ")
    elif bit == 8:
        v = _le16(d, p)
        out.append(f"{-(v - 65536 if v & 0x8000 else v)} tx power ")
    elif bit == 9:
        out.append(f"{-_s8(d[p])}dB tx attenuation ")
    elif bit == 10:
        out.append(f"{_s8(d[p])}dBm tx power ")
    elif bit == 11:
        out.append(f"antenna {d[p]} ")
    elif bit == 12:
        out.append(f"{d[p]}dB signal ")
    elif bit == 13:
        out.append(f"{d[p]}dB noise ")
    elif bit == 18:
        out.append(_chaninfo(_le16(d, p + 4), _le32(d, p), present))
    elif bit == 19:
        out.append(_mcs(d, p))
    elif bit == 21:
        out.append(_vht(d, p))
    return 0


def _radiotap(d: bytes) -> tuple[str, int, int]:
    """``(fields' text, header length, flags byte)``; length -1: the header itself is cut."""
    n = len(d)
    if n < 8:
        return _RT_TRUNC, -1, 0
    rlen = _le16(d, 2)
    if rlen < 8 or n < rlen:
        return _RT_TRUNC, -1, 0
    last = 4
    while last + 4 <= rlen and d[last + 3] & 0x80:
        last += 4
    if last + 4 > rlen:
        return _RT_TRUNC, -1, 0
    c = _Cursor(d, last + 4, rlen)
    out: list[str] = []
    bit0 = 0
    vendor = False
    skip = 0
    flags = 0
    for w in range(4, last + 4, 4):
        present = _le32(d, w)
        if vendor:
            if c.p + skip > rlen:
                break
            c.p += skip
            skip = 0
        else:
            stop = False
            bits = present & 0x1FFFFFFF
            b = 0
            while bits:
                if bits & 1:
                    got = _field(c, bit0 + b, present, out)
                    if got < 0:
                        stop = True
                        break
                    if got:
                        flags = got & 0xFF
                bits >>= 1
                b += 1
            if stop:
                break
        ns = present & 0x60000000
        if ns == 0:
            bit0 += 32
        elif ns == 0x20000000:
            bit0, vendor, skip = 0, False, 0
        elif ns == 0x40000000:
            bit0, vendor = 0, True
            q = c.p + (c.p & 1)
            if q + 2 > rlen:  # tcpdump checks room for the item without moving there
                out.append(_RT_TRUNC)
                continue
            if c.p + 4 > rlen:  # the OUI and sub-namespace, read unaligned
                out.append(_RT_TRUNC)
                c.p = min(c.p + 4, rlen)
                continue
            c.p += 4
            q = c.take(2)
            if q < 0:
                out.append(_RT_TRUNC)
                continue
            skip = _le16(d, q)
    return "".join(out), rlen, flags


# --------------------------------------------------------------------------- 802.11


class _Elements:
    """What tcpdump keeps of a management frame's elements: the first SSID, rates, channel."""

    def __init__(self) -> None:
        self.ssid: bytes | None = None
        self.rates: bytes | None = None
        self.channel = -1

    def parse(self, d: bytes, p: int, end: int, length: int) -> bool:
        """tcpdump's ``parse_elements``: false where it gives up (cut short, oversized)."""
        while length > 0:
            if p + 2 > end or length < 2:
                return False
            eid, elen = d[p], d[p + 1]
            if p + 2 + elen > end or length < elen + 2:
                return False
            body = d[p + 2 : p + 2 + elen]
            if eid == 0:
                if elen > 32:
                    return False
                if self.ssid is None:
                    self.ssid = body
            elif eid == 1:
                if elen > 16:
                    return False
                if self.rates is None and elen:
                    self.rates = body
            elif eid == 3:
                if elen == 1 and self.channel < 0:
                    self.channel = body[0]
            elif eid == 5:
                if elen - 3 > 251:
                    return False
            elif eid == 16 and elen > 253:
                return False
            p += 2 + elen
            length -= 2 + elen
        return True

    def ssid_text(self) -> str:
        if self.ssid is None:
            return ""
        s = self.ssid.split(b"\0", 1)[0]
        return " (" + "".join(safe_char(c) for c in s) + ")"

    def rates_text(self) -> str:
        if not self.rates:
            return ""
        rates = " ".join(f"{0.5 * (r & 0x7F):2.1f}{'*' if r & 0x80 else ''}" for r in self.rates)
        return f" [{rates} Mbit]"

    def channel_text(self, cap: int) -> str:
        out = f" CH: {self.channel}" if self.channel >= 0 else ""
        return out + (", PRIVACY" if cap & 0x10 else "")


def _status(code: int) -> str:
    return STATUSES[code] if code < len(STATUSES) else "n/a"


def _wep(d: bytes, p: int, end: int) -> str | None:
    if p + 4 > end:
        return None
    iv = _le32(d, p)
    return f" IV:{iv & 0xFFFFFF:3x} Pad {(iv >> 24) & 0x3F:x} KeyID {iv >> 30:x}"


def _mgmt(d: bytes, fc: int, hp: int, p: int, end: int, length: int, e: bool) -> str:
    """A management frame's body, tcpdump's ``mgmt_body_print`` (the trunc marker included)."""
    st = fc >> 4 & 0xF
    out = MGMT_NAMES.get(st, f"Unhandled Management subtype({st:x})")
    if fc & 0x4000:
        wep = _wep(d, p, end)
        return out + (wep if wep is not None else _TRUNC)
    el = _Elements()
    fixed = {0: 4, 1: 6, 2: 10, 3: 6, 4: 0, 5: 12, 8: 12, 10: 2, 11: 6, 12: 2, 13: 2}.get(st)
    if fixed is None:
        return out
    if p + fixed > end or length < fixed:
        return out + _TRUNC
    if st in (10, 12):
        reason = _le16(d, p)
        text = REASONS[reason] if reason < len(REASONS) else "Reserved"
        if st == 12 and not e:
            return f"{out} ({mac(d[hp + 10 : hp + 16])}): {text}"
        return f"{out}: {text}"
    if st == 13:
        out += ": " if e else f" ({mac(d[hp + 10 : hp + 16])}): "
        cat, act = d[p], d[p + 1]
        if cat in ACTION_PLAIN:
            return f"{out}{ACTION_PLAIN[cat]} Act#{act}"
        if cat in ACTION_SUB:
            word, names = ACTION_SUB[cat]
            return out + word + (names[act] if act < len(names) else f"Act#{act}")
        if cat == 15:
            sp = SELFPROT[act] if 0 < act < len(SELFPROT) else f"Act#{act}"
            return f"{out}SelfprotectAction {sp}"
        return f"{out}Reserved({cat}) Act#{act}"
    ok = el.parse(d, p + fixed, end, length - fixed)
    cap = _le16(d, p + 8) if st in (5, 8) else _le16(d, p) if st != 4 and st != 11 else 0
    if st in (0, 4):
        out += el.ssid_text() + el.rates_text()
    elif st in (1, 3):
        status = _le16(d, p + 2)
        aid = _le16(d, p + 4) & 0x3FFF
        out += f" AID({aid:x}) :{' PRIVACY ' if cap & 0x10 else ''}: {_status(status)}"
    elif st == 2:
        out += el.ssid_text() + f" AP : {mac(d[p + 4 : p + 10])}"
    elif st == 5:
        out += el.ssid_text() + el.rates_text() + el.channel_text(cap)
    elif st == 8:
        out += el.ssid_text() + el.rates_text() + (" ESS" if cap & 1 else " IBSS")
        out += el.channel_text(cap)
    else:  # 11: authentication
        alg, seq, status = _le16(d, p), _le16(d, p + 2), _le16(d, p + 4)
        name = AUTH_ALGS[alg] if alg < len(AUTH_ALGS) else "Reserved"
        verdict = _status(status) if seq % 2 else ""
        if alg == 1 and seq in (2, 3):
            out += f" ({name})-{seq:x} [Challenge Text] {verdict}"
        else:
            out += f" ({name})-{seq:x}: {verdict}"
    return out if ok else out + _TRUNC


def _ctrl(d: bytes, fc: int, hp: int, e: bool) -> str:
    st = fc >> 4 & 0xF
    out = CTRL_NAMES[st]
    if st == 10:
        return out + f" AID({_le16(d, hp + 2):x})"
    if e or st == 7:
        return out
    if st == 8:
        ra, ta = mac(d[hp + 4 : hp + 10]), mac(d[hp + 10 : hp + 16])
        return out + f" RA:{ra} TA:{ta} CTL({_le16(d, hp + 16):x}) SEQ({_le16(d, hp + 18)}) "
    if st == 11:
        return out + f" TA:{mac(d[hp + 10 : hp + 16])} "
    return out + f" RA:{mac(d[hp + 4 : hp + 10])} "


def _header(d: bytes, fc: int, hp: int, verbose: int) -> str:
    """The MAC header as ``-e`` prints it (tcpdump's ``ieee_802_11_hdr_print``)."""
    out = ""
    ftype, st = fc >> 2 & 3, fc >> 4 & 0xF
    if verbose:
        for bit, word in (
            (0x2000, "More Data "),
            (0x0400, "More Fragments "),
            (0x1000, "Pwr Mgmt "),
            (0x0800, "Retry "),
            (0x8000, "Strictly Ordered "),
            (0x4000, "Protected "),
        ):
            if fc & bit:
                out += word
        if ftype != 1 or st != 10:
            out += f"{_le16(d, hp + 2)}us "

    def at(o: int) -> str:
        return mac(d[hp + o : hp + o + 6])

    if ftype == 0:
        return out + f"BSSID:{at(16)} DA:{at(4)} SA:{at(10)} "
    if ftype == 1:
        if st == 8:
            ctl, seq = _le16(d, hp + 16), _le16(d, hp + 18)
            return out + f" RA:{at(4)} TA:{at(10)} CTL({ctl:x}) SEQ({seq}) "
        if st in (9, 12, 13):
            return out + f"RA:{at(4)} "
        if st == 10:
            return out + f"BSSID:{at(4)} TA:{at(10)} "
        if st == 11:
            return out + f"RA:{at(4)} TA:{at(10)} "
        if st in (14, 15):
            return out + f"RA:{at(4)} BSSID:{at(10)} "
        return out
    if st & 0xB:
        out += "CF "
        if st & 1:
            out += "Ack/Poll" if st & 2 else "Ack"
        elif st & 2:
            out += "Poll"
        if st & 8:
            out += "+QoS"
        out += " "
    ds = fc >> 8 & 3
    if ds == 0:
        return out + f"DA:{at(4)} SA:{at(10)} BSSID:{at(16)} "
    if ds == 2:
        return out + f"DA:{at(4)} BSSID:{at(10)} SA:{at(16)} "
    if ds == 1:
        return out + f"BSSID:{at(4)} SA:{at(10)} DA:{at(16)} "
    return out + f"RA:{at(4)} TA:{at(10)} DA:{at(16)} SA:{at(24)} "


_PROTOCOL_WORDS: Final = ("IP ", "IP6 ", "ARP, ", "RARP, ")
#: what -e prints of an LLC header announcing SNAP
_LLC_SNAP_E: Final = "LLC, dsap SNAP (0xaa) Individual, ssap SNAP (0xaa) Command, ctrl 0x03: "


def _data(
    d: bytes, fc: int, hp: int, p: int, end: int, length: int, a: Acc, e: bool, w: Walk
) -> str:
    """A data frame's LLC/SNAP payload (tcpdump's ``llc_print`` then the ethertype); where
    the LLC and SNAP headers end is the walk ``w``'s (:func:`_frame_walk`)."""
    ds = fc >> 8 & 3
    so = (10, 10, 16, 24)[ds]
    do = (4, 16, 4, 16)[ds]
    h = w.part_end(p, "802.11")
    if h < 0 or end < h or length < h - p:
        a.bad = True
        a.info = _WS_BAD  # Wireshark's LLC leaves nothing else
        return " [|llc]" + _dump(d[p:end], a)
    dsap, ssap, ctrl = d[p], d[p + 1], d[p + 2]
    if dsap == 0xAA and ssap == 0xAA and ctrl == 3:
        s = w.part_end(h, "802.11")
        if s < 0 or end < s or length < s - p:
            a.bad = True
            a.info = "U, func=UI" + _WS_BAD
            return (_LLC_SNAP_E if e else "") + " [|snap]"
        oui = d[h] << 16 | d[h + 1] << 8 | d[h + 2]
        t = d[s - 2] << 8 | d[s - 1]
        name = ETHERTYPE_NAMES.get(t, "Unknown")
        if oui == 0:
            text = ethertype_text(d if end == len(d) else d[:end], s, t, a)
            if text is not None:
                if not e:
                    return text
                for word in _PROTOCOL_WORDS:
                    if text.startswith(word):
                        text = text[len(word) :]
                        break
                return (
                    f"{_LLC_SNAP_E}oui Ethernet (0x000000), ethertype {name} (0x{t:04x}), "
                    f"length {length - (s - p)}: {text}"
                )
        if e:
            head = (
                f"{_LLC_SNAP_E}oui {'Ethernet' if oui == 0 else 'Unknown'} (0x{oui:06x}), "
                f"{'ethertype' if oui == 0 else 'pid'} {name if oui == 0 else 'Unknown'} "
                f"(0x{t:04x}), length {length - (s - p)}: "
            )
        else:
            head = f"{mac(d[hp + so : hp + so + 6])} > {mac(d[hp + do : hp + do + 6])} "
            if oui == 0:
                head += f"SNAP, ethertype {name} (0x{t:04x}), length {length - (s - p)}: "
            else:
                head += f"SNAP, oui Unknown (0x{oui:06x}), pid Unknown (0x{t:04x}), "
                head += f"length {length - (s - p)}: "
        return head + _dump(d[p:end], a)
    return _dump(d[p:end], a).lstrip()


def _dump(b: bytes, a: Acc) -> str:
    """tcpdump's hex and ASCII dump of what it cannot name (one line unless -v or strict)."""
    if not b:
        return ""
    if a.strict or a.verbose:
        return hex_ascii(b, "\n\t")
    return hex_ascii(b, "\n\t").replace("\n\t", " ")


def _hdrlen(fc: int) -> tuple[int, str]:
    """The MAC header's length by frame type, or 0 and tcpdump's word for an unknown one."""
    ftype, st = fc >> 2 & 3, fc >> 4 & 0xF
    if ftype == 0:
        return 24, ""
    if ftype == 1:
        n = CTRL_HDRLEN.get(st, 0)
        return n, "" if n else f"unknown 802.11 ctrl frame subtype ({st})"
    if ftype == 2:
        return (30 if fc & 0x300 == 0x300 else 24) + (2 if st & 8 else 0), ""
    return 0, f"unknown 802.11 frame type ({ftype})"


def _mac_walk(d: bytes, p: int, fcs: bool, pad: bool, a: Acc) -> Walk:
    """The walk that read the 802.11 frame at ``p``: the frame's, or for a frame it did not
    reach the walk from ``p`` (:meth:`~tapwatch.decode.core.Acc.adopt`)."""
    w = a.w
    if w.has(p, "802.11"):
        return w
    sub = fresh(p, w)
    try:  # noqa: SIM105 (compiled, a try costs nothing; contextlib.suppress is a call)
        _frame_walk(d, p, fcs, pad, sub)
    except Exception:  # hostile bytes: what was walked before stands
        pass
    return a.adopt(sub)


def _frame(d: bytes, p: int, length: int, pad: bool, fcs: bool, a: Acc) -> tuple[str, str]:
    """``(-e header, body)`` of the 802.11 frame at ``p``; ``length`` its length on the wire.
    Where its MAC header ends (by frame type, padded to 4 bytes when ``pad``: the radio
    header says so) is the walk's (:func:`_frame_walk`)."""
    end = len(d)
    if fcs:
        if length < 4:
            a.bad = True
            name = WS_FRAMES.get((d[p] >> 2 & 3, d[p] >> 4 & 0xF)) if end - p >= 2 else None
            a.info = (name or "") + _WS_BAD
            return "", _TRUNC
        length -= 4
        if end - p > length:
            end = p + length
    if end - p < 2:
        a.bad = True
        a.info = _WS_BAD
        return "", _TRUNC
    fc = _le16(d, p)
    hdrlen, unknown = _hdrlen(fc)
    if not hdrlen:
        return "", unknown
    w = _mac_walk(d, p, fcs, pad, a)
    body_at = w.header_end(p, "802.11")  # the MAC header's end (padded), as walked
    hdrlen = body_at - p
    if body_at < 0 or end < body_at:
        a.bad = True
        name = WS_FRAMES.get((fc >> 2 & 3, fc >> 4 & 0xF))
        if name is not None:
            a.info = name + _WS_BAD  # Wireshark names the frame, then gives up
        return "", _TRUNC
    e = not a.lean
    head = _header(d, fc, p, a.verbose) if e else ""
    if e:  # the list's address columns: the frame's source and destination (IP's if it has)
        _addresses(d, fc, p, hdrlen, a)
    rest = length - hdrlen
    ftype = fc >> 2 & 3
    if ftype == 0:
        text = _mgmt(d, fc, p, body_at, end, rest, e)
        a.info = text
    elif ftype == 1:
        text = _ctrl(d, fc, p, e)
        a.info = text.rstrip()
    elif fc >> 4 & 4:  # a data frame without data (Null, QoS Null, CF-Ack ...)
        text = ""
        a.info = "Null data"
    elif fc & 0x4000:
        wep = _wep(d, body_at, end)
        text = "Data" + (wep if wep is not None else _TRUNC)
        a.info = "Protected data"
    else:
        text = _data(d, fc, p, body_at, end, rest, a, e, w)
    if text.endswith(_TRUNC):
        a.bad = True
    if e:
        words = _ws_info(d, fc, p, body_at, end, fcs)
        if words is not None:
            a.info = words
    return head, text


#: a management frame's fixed fields (before its elements), by subtype
_FIXED: Final = {0: 4, 1: 6, 2: 10, 3: 6, 4: 0, 5: 12, 8: 12, 9: 0, 10: 2, 11: 6, 12: 2}
_WS_BAD: Final = "[Malformed Packet]"
#: Wireshark's words for an element that runs past the frame
_WS_CUT_ELEMENT: Final = (
    "[Malformed Packet: length of contained item exceeds length of containing item]"
)
#: elements of one frame looked through for the SSID Wireshark's Info names
_WS_MOST_ELEMENTS: Final = 512


def _ws_ssid(b: bytes) -> str:
    """An SSID as Wireshark's Info gives it: quoted when it is printable UTF-8, in hex when
    not, ``Wildcard (Broadcast)`` when empty."""
    if not b:
        return "Wildcard (Broadcast)"
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        return b.hex()
    return f'"{text}"' if text.isprintable() else b.hex()


def _ws_info(d: bytes, fc: int, hp: int, body: int, end: int, fcs: bool) -> str | None:
    """Wireshark's Info for the 802.11 frame at ``hp`` whose body starts at ``body``: its
    type, sequence and fragment numbers and flags, a beacon's interval and the first SSID;
    None where its words are not these (a data frame's payload speaks, an action frame's
    fields, a reserved subtype)."""
    ftype, st = fc >> 2 & 3, fc >> 4 & 0xF
    name = WS_FRAMES.get((ftype, st))
    if name is None or (ftype == 0 and st not in _FIXED):
        return None
    if ftype == 2 and fc & 0x0400:  # more fragments: Wireshark waits for the rest
        return "Fragmented IEEE 802.11 frame"
    if ftype == 2 and not fc & 0x4000 and not st & 4:
        return None  # the payload's words
    bits = fc >> 8
    flags = "".join(c if bits & 0x80 >> i else "." for i, c in enumerate(WS_FLAGS))
    flags += "C" if fcs else ""
    if ftype == 1:
        if st == 7 and end - hp < 18:  # no room for the carried frame's control field
            return name + _WS_BAD
        return f"{name}, Flags={flags}"
    seq = _le16(d, hp + 22)
    out = f"{name}, SN={seq >> 4}, FN={seq & 0xF}, Flags={flags}"
    if ftype == 2 or fc & 0x4000:
        return out
    fixed = _FIXED[st]
    if end - body < fixed:
        return out + "[Malformed Packet]"
    if st in (5, 8):
        out += f", BI={_le16(d, body + 8)}"
    p = body + fixed
    for _ in range(_WS_MOST_ELEMENTS):
        if end - p < 2:
            break
        if p + 2 + d[p + 1] > end:
            return out + _WS_CUT_ELEMENT
        if d[p] == 0:
            return f"{out}, SSID={_ws_ssid(d[p + 2 : p + 2 + d[p + 1]])}"
        p += 2 + d[p + 1]
    return out


def _addresses(d: bytes, fc: int, p: int, hdrlen: int, a: Acc) -> None:
    """Source and destination MAC as tcpdump's ``get_*_src_dst_mac`` pick them."""
    ftype = fc >> 2 & 3
    if ftype == 2:
        ds = fc >> 8 & 3
        so, do = (10, 10, 16, 24)[ds], (4, 16, 4, 16)[ds]
    elif ftype == 0:
        so, do = 10, 4
    else:  # control frames: the transmitter where there is one, the receiver
        so, do = (10 if hdrlen >= 16 else -1), 4
    if so >= 0 and p + so + 6 <= len(d):
        a.src = mac(d[p + so : p + so + 6])
    if p + do + 6 <= len(d):
        a.dst = mac(d[p + do : p + do + 6])


def _frame_walk(d: bytes, p: int, fcs: bool, pad: bool, out: Walk) -> None:
    """802.11's walk: where the MAC header ends (its length by frame type, padded to 4 bytes
    when the radio header says so) and a data frame's LLC and SNAP headers (inside the
    frame's layer: the LLC layer is named only where the bytes after the FCS hold its
    header) -- what :func:`_frame`'s and :func:`_data`'s texts read -- and what SNAP
    carries."""
    out.add("802.11", p)
    if len(d) - p < 2:
        return
    fc = _le16(d, p)
    hdrlen, _unknown = _hdrlen(fc)
    if not hdrlen:
        return
    if pad:
        hdrlen = (hdrlen + 3) & ~3
    out.head(p + hdrlen)
    if fc >> 2 & 3 != 2 or fc >> 4 & 4 or fc & 0x4000:
        return
    q = p + hdrlen
    if out.keep:  # a data frame's LLC header and SNAP's, as headers inside the frame's layer
        out.part(q, q + 3)
        if len(d) >= q + 3 and d[q] == 0xAA and d[q + 1] == 0xAA and d[q + 2] == 3:
            out.part(q + 3, q + 8)
    end = len(d) - (4 if fcs else 0)
    if end - q < 3:
        return
    out.append("LLC")
    snap = d[q] == 0xAA and d[q + 1] == 0xAA and d[q + 2] == 3 and end - q >= 8
    if snap and d[q + 3] == 0 and d[q + 4] == 0 and d[q + 5] == 0:
        ethertype_walk(d if end == len(d) else d[:end], q + 8, d[q + 6] << 8 | d[q + 7], out)


class _Dot11(LinkHandler):
    """Plain 802.11 (link type 105): the frame, no radio header."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        head, body = _frame(d, 0, len(d) + a.cut, False, False, a)
        if a.lean:
            return "", body
        return head, body

    def walk(self, d: bytes, out: Walk) -> None:
        _frame_walk(d, 0, False, False, out)


class _Radiotap(LinkHandler):
    """802.11 behind a radiotap header (link type 127): the radio's fields, then the frame."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        radio, _rlen, flags = _radiotap(d)  # its fields; where it ends: the walk's
        rlen = link_walked(d, a, "Radiotap", self)
        if rlen < 0:
            a.bad = True
            if len(d) >= 4:  # the header's version and length, as Wireshark reads them
                a.info = f"Radiotap Capture v{d[0]}, Length {_le16(d, 2)}{_WS_BAD}"
            return "", radio
        head, body = _frame(
            d, rlen, len(d) + a.cut - rlen, bool(flags & 0x20), bool(flags & 0x10), a
        )
        if a.lean:
            return "", radio + body
        return radio + head, body

    def walk(self, d: bytes, out: Walk) -> None:
        out.append("Radiotap")
        if len(d) < 8:
            return
        rlen = _le16(d, 2)
        if rlen < 8 or len(d) < rlen:
            return
        _text, rlen, flags = _radiotap(d)
        if rlen >= 0:
            out.head(rlen)
            _frame_walk(d, rlen, bool(flags & 0x10), bool(flags & 0x20), out)


bind(LINKTYPES, (105,), _Dot11("802.11"))
bind(LINKTYPES, (127,), _Radiotap("Radiotap"))
