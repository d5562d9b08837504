"""ISAKMP/IKE (UDP 500, and 4500 behind RFC 3948's non-ESP marker) as tcpdump 4.99 prints it.

Without ``-v`` one line names the phase, the initiator or responder and the exchange
(``isakmp: phase 1 I ident``).  With ``-v`` an IKEv1 message's payloads follow, one
per line, nested as tcpdump nests them: the SA's proposals and their transforms with
the Oakley or IPsec attribute names (RFC 2407/2409), key exchange, nonce, identities,
hashes, notifications and deletes (RFC 2408); an IKEv2 message's payloads likewise (RFC
7296: SA, proposals and transforms, KE, identities, authentication, nonce, notifications,
vendor ID, the encrypted payload's size).

tcpdump's quirks are kept where they change the text: a nonce's or a notification's
"some data" shows the last bytes of the *captured packet*, not of the payload; an SA with
a situation other than identity prints its DOI as ``ident``; the transform names stop
short of a table's last entry where tcpdump's count does.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    UDP_PORTS,
    Acc,
    PortHandler,
    Trunc,
    Walk,
    bind,
    ip4,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.isakmp_names import (
    CERT_TYPES,
    GROUPS,
    ID_TYPES,
    IKE1_EXCHANGES,
    IKE2_EXCHANGES,
    IPSEC_STATUS,
    NOTIFY_ERRORS,
    NP,
    OAKLEY,
    PROTO_IDS,
    TRANSFORMS,
    AttrMap,
)
from tapwatch.decode.verbose import safe_char


def _name(table: tuple[str, ...], v: int) -> str:
    """tcpdump's ``STR_OR_ID``: the table's word, else ``#v``."""
    return table[v] if v < len(table) and table[v] else f"#{v}"


def _np(v: int) -> str:
    return _name(NP, v)


class _V1:
    """One IKEv1 message's payload walk: the bytes, where the capture ends, the text."""

    def __init__(self, d: bytes, ep: int, verbose: int, phase: int) -> None:
        self.d = d
        self.ep = ep
        self.verbose = verbose
        self.phase = phase
        self.out: list[str] = []

    def check(self, p: int, n: int) -> None:
        if p + n > self.ep or p < 0:
            raise Trunc

    def raw(self, p: int, n: int) -> str:
        """tcpdump's ``rawprint``: hex, or :class:`Trunc` when not all was captured."""
        self.check(p, n)
        return self.d[p : p + n].hex()

    def somedata(self, cp: int) -> str:
        """``ike_show_somedata``: ten bytes from ``cp`` and the capture's last twenty."""
        ep = self.ep
        n = min(ep - cp, 10)
        end, elen = ep - 20, 20
        if end < cp + n:
            end = cp + n
            elen = ep - end
        out = " data=(" + self.raw(cp, n) + "..."
        if elen:
            out += self.raw(end, elen)
        return out + ")"

    def sub(self, np: int, p: int, depth: int, proto: int) -> int:
        """``ikev1_sub_print``: a chain of payloads from ``p``; -1 when it had to stop."""
        d = self.d
        while np:
            try:
                self.check(p, 4)
                ln = u16(d, p + 2)
                self.check(p, ln)
            except Trunc:
                self.out.append(f" [|{_np(np)}]")
                return -1
            self.out.append("\n" + "    " * (depth + 1) + "(")
            nxt = d[p]
            cp = -1
            if ln > 4:
                try:
                    cp = self.payload(np, p, ln, depth + 1, proto)
                except Trunc:
                    self.out.append(f" [|{_np(np)}]")
                    cp = -1
            self.out.append(")")
            if cp < 0:
                return -1
            np = nxt
            p = cp
        return p

    def payload(self, np: int, p: int, ln: int, depth: int, proto: int) -> int:
        """One payload's text (``ike_sub0_print``); where the next one starts."""
        d, out, v = self.d, self.out, self.verbose
        name = _np(np)
        if np == 1:  # SA
            out.append("sa:")
            self.check(p, 12)
            doi, sit = u32(d, p + 4), u32(d, p + 8)
            if doi != 1:
                out.append(f" doi={doi} situation={sit}")
                return p + 12
            words = [
                w for bit, w in ((1, "identity"), (2, "secrecy"), (4, "integrity")) if sit & bit
            ]
            out.append(" doi=ipsec situation=" + "+".join(words))
            q = p + 12
            if sit != 1:
                self.check(p + 4, 4)
                out.append(f" ident={u32(d, p + 4)}")
                q += 4
            self.check(q, 4)
            return self.sub(2, q, depth, proto)
        if np == 2:  # proposal
            out.append("p:")
            self.check(p, 8)
            spi = d[p + 6]
            out.append(f" #{d[p + 4]} protoid={_name(PROTO_IDS, d[p + 5])} transform={d[p + 7]}")
            if spi:
                out.append(" spi=" + self.raw(p + 8, spi))
            q = p + 8 + spi
            self.check(q, 4)
            return self.sub(3, q, depth, d[p + 5])
        if np == 3:  # transform
            out.append("t:")
            self.check(p, 8)
            names, amap = TRANSFORMS.get(proto, ((), ()))
            if names:
                out.append(f" #{d[p + 4]} id={_name(names, d[p + 5])} ")
            else:
                out.append(f" #{d[p + 4]} id={d[p + 5]} ")
            cp, ep2 = p + 8, p + ln
            while cp < self.ep and cp < ep2:
                cp = self.attr(cp, ep2, amap)
            if self.ep < ep2:
                out.append("...")
            return cp
        if np == 4:  # key exchange
            out.append(f"ke: key len={ln - 4}")
            if v > 2:
                out.append(" " + self.raw(p + 4, ln - 4))
            return p + ln
        if np == 5:
            return self.ident(p, ln)
        if np in (6, 7):  # certificate, certificate request
            self.check(p, 5)
            out.append(f"{name}: len={ln - 4} type={_name(CERT_TYPES, d[p + 4])}")
            if v > 2:
                out.append(" " + self.raw(p + 4, ln - 4))
            return p + ln
        if np in (8, 9, 13):  # hash, signature, vendor id
            out.append(f"{name}: len={ln - 4}")
            if v > 2:
                out.append(" " + self.raw(p + 4, ln - 4))
            return p + ln
        if np == 10:  # nonce
            out.append(f"nonce: n len={ln - 4}")
            if v > 2:
                out.append(" " + self.raw(p + 4, ln - 4))
            elif v > 1:
                out.append(" " + self.somedata(p + 4))
            return p + ln
        if np == 11:
            return self.notify(p, ln)
        if np == 12:  # delete
            out.append("d:")
            self.check(p, 12)
            doi, pid, size, n = u32(d, p + 4), d[p + 8], d[p + 9], u16(d, p + 10)
            out.append(
                f" doi={doi} proto={pid}"
                if doi != 1
                else f" doi=ipsec proto={_name(PROTO_IDS, pid)}"
            )
            out.append(f" spilen={size} nspi={n} spi=")
            q = p + 12
            for i in range(n):
                out.append(("," if i else "") + self.raw(q, size))
                q += size
            return q
        out.append(name)
        return p + ln

    def attr(self, p: int, ep2: int, amap: AttrMap) -> int:
        """``ikev1_attrmap_print``: one data attribute, ``(type=enc value=aes)``."""
        d, out = self.d, self.out
        self.check(p, 1)
        if d[p] & 0x80:
            total = 4
        else:
            self.check(p + 2, 2)
            total = 4 + u16(d, p + 2)
        if ep2 < p + total:
            out.append("[|attr]")
            return ep2 + 1
        self.check(p, 2)
        t = u16(d, p) & 0x7FFF
        named = t < len(amap) and amap[t][0]
        out.append(f"(type={amap[t][0]} " if named else f"(type=#{t} ")
        if d[p] & 0x80:
            out.append("value=")
            self.check(p + 2, 2)
            val = u16(d, p + 2)
            values = amap[t][1] if named else ()
            if val < len(values) and values[val]:
                out.append(values[val])
            else:
                out.append(d[p + 2 : p + 4].hex())
        else:
            out.append(f"len={total - 4} value=")
            try:
                out.append(self.raw(p + 4, total - 4))
            except Trunc:
                out.append(")")
                raise
        out.append(")")
        return p + total

    def ident(self, p: int, ln: int) -> int:
        d, out = self.d, self.out
        out.append("id:")
        self.check(p, 8)
        data, n = (p + 8, ln - 8) if ln > 8 else (-1, 0)
        t = d[p + 4]
        out.append(f" idtype={_name(ID_TYPES, t)} protoid={d[p + 5]} port={u16(d, p + 6)}")
        if n:
            self.check(data, n)
            b = d[data : data + n]
            if t == 1:
                out.append(f" len={n} [bad: < 4]" if n < 4 else f" len={n} {ip4(b[:4])}")
                n = 0
            elif t in (2, 3):
                out.append(f" len={n} " + "".join(safe_char(c) for c in b))
                n = 0
            elif t == 4:
                out.append(
                    f" len={n} [bad: < 8]"
                    if n < 8
                    else f" len={n} {ip4(b[:4])}/{b[4]}.{b[5]}.{b[6]}.{b[7]}"
                )
                n = 0
            elif t == 5:
                out.append(f" len={n} [bad: < 16]" if n < 16 else f" len={n} {ntop6(b[:16])}")
                n = 0
            elif t == 6:
                out.append(
                    f" len={n} [bad: < 32]"
                    if n < 32
                    else f" len={n} {ntop6(b[:16])}/0x{b[16:32].hex()}"
                )
                n = 0
            elif t == 7:
                out.append(
                    f" len={n} [bad: < 8]" if n < 8 else f" len={n} {ip4(b[:4])}-{ip4(b[4:8])}"
                )
                n = 0
            elif t == 8:
                out.append(
                    f" len={n} [bad: < 32]"
                    if n < 32
                    else f" len={n} {ntop6(b[:16])}-{ntop6(b[16:32])}"
                )
                n = 0
        if data >= 0 and n:
            out.append(f" len={n}")
            if self.verbose > 2:
                out.append(" " + self.raw(data, n))
        return p + ln

    def notify(self, p: int, ln: int) -> int:
        d, out = self.d, self.out
        out.append("n:")
        self.check(p, 12)
        doi, pid, spi, t = u32(d, p + 4), d[p + 8], d[p + 9], u16(d, p + 10)
        if doi != 1:
            if t < 8192:
                word = _name(NOTIFY_ERRORS, t)
            elif 16384 <= t < 24576:
                word = _name(("CONNECTED",), t - 16384)
            else:
                word = f"#{t}"
            out.append(f" doi={doi} proto={pid} type={word}")
            if spi:
                out.append(" spi=" + self.raw(p + 12, spi))
            return p + 12 + spi
        if t < 8192:
            word = _name(NOTIFY_ERRORS, t)
        elif t < 16384:
            word = _name(("RESERVED",), t - 8192)
        elif t < 24576:
            word = _name(("CONNECTED",), t - 16384)
        elif t < 32768:
            word = _name(IPSEC_STATUS, t - 24576)
        else:
            word = f"#{t}"
        out.append(f" doi=ipsec proto={_name(PROTO_IDS, pid)} type={word}")
        if spi:
            out.append(" spi=" + self.raw(p + 12, spi))
        cp, ep2 = p + 12 + spi, p + ln
        if cp < self.ep:
            if t == 24576:
                out.append(" attrs=(")
                try:
                    while cp < self.ep and cp < ep2:
                        cp = self.attr(cp, ep2, OAKLEY)
                finally:
                    out.append(")")
            elif t == 24577:
                self.check(cp, 4)
                out.append(f" status=(replay detection {'en' if u32(d, cp) else 'dis'}abled)")
            elif self.verbose > 3:
                out.append(" data=(" + self.raw(cp, self.ep - cp) + ")")
            else:
                out.append(self.somedata(cp))
        return p + ln


_V2_TTYPES: Final = ("", "encr", "prf", "integ", "dh", "esn")
_V2_IDS: Final[dict[int, tuple[str, ...]]] = {
    1: TRANSFORMS[3][0],
    2: ("", "hmac-md5", "hmac-sha", "hmac-tiger", "aes128_xcbc"),
    3: ("", "hmac-md5", "hmac-sha", "dec-mac", "kpdk-md5", "aes-xcbc"),
    4: (*GROUPS, "modp8192"),
    5: ("no-esn", "esn"),
}
#: IKEv2's encryption transform attributes: only the key length (14) has a name
_V2_ENCR_ATTRS: Final[AttrMap] = (*((("", ()),) * 14), ("keylen", ()))
_V2_AUTH: Final = ("invalid", "rsasig", "shared-secret", "dsssig")
#: notification names, and whether the SPI is shown
_V2_NOTIFY: Final = {
    1: ("unsupported_critical_payload", False),
    4: ("invalid_ike_spi", True),
    5: ("invalid_major_version", False),
    7: ("invalid_syntax", True),
    9: ("invalid_message_id", True),
    11: ("invalid_spi", True),
    14: ("no_protocol_chosen", True),
    17: ("invalid_ke_payload", True),
    24: ("authentication_failed", True),
    34: ("single_pair_required", True),
    35: ("no_additional_sas", False),
    36: ("internal_address_failure", False),
    37: ("failed:cp_required", False),
    39: ("invalid_selectors", False),
    16384: ("initial_contact", False),
    16385: ("set_window_size", False),
    16386: ("additional_ts_possible", False),
    16387: ("ipcomp_supported", False),
    16388: ("nat_detection_source_ip", True),
    16389: ("nat_detection_destination_ip", True),
    16390: ("cookie", True),
    16391: ("use_transport_mode", False),
    16392: ("http_cert_lookup_supported", False),
    16393: ("rekey_sa", True),
    16394: ("tfc_padding_not_supported", False),
    16395: ("non_first_fragment_also", False),
}


class _V2(_V1):
    """One IKEv2 message's payload walk (``ikev2_sub_print``)."""

    def sub2(self, np: int, p: int, depth: int) -> None:
        d = self.d
        while np:
            try:
                self.check(p, 4)
                ln = u16(d, p + 2)
                self.check(p, ln)
            except Trunc:
                self.out.append(f" [|{_np(np)}]")
                return
            self.out.append("\n" + "    " * (depth + 1) + "(")
            nxt = d[p]
            cp = -1
            if ln > 4:
                try:
                    cp = self.payload2(np, p, ln, depth + 1)
                except Trunc:
                    self.out.append(f" [|{_np(np)}]")
                    cp = -1
            self.out.append(")")
            if cp < 0:
                return
            np = nxt
            p = cp

    def head(self, name: str, p: int) -> None:
        """``ikev2_pay_print``: the payload's name, ``[C]`` when critical."""
        self.out.append(name + ("[C]:" if self.d[p + 1] & 0x80 else ":"))

    def payload2(self, np: int, p: int, ln: int, depth: int) -> int:
        d, out, v = self.d, self.out, self.verbose
        name = _np(np)
        if np < 33:  # tcpdump hands IKEv1's payload numbers to IKEv1's printers
            if np in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
                return self.payload(np, p, ln, depth, 0)
            out.append(name)
            return p + ln
        if np == 33:
            self.head("sa", p)
            left = ln - 4
            out.append(f" len={left}")
            cp, pn = p + 4, 2
            while pn:
                if left < 4:
                    out.append(" [|v2sa]")
                    return cp + left
                self.check(cp, 4)
                il = u16(d, cp + 2)
                if il <= 4:
                    out.append(" [|v2sa]")
                    return -1
                if left < il:
                    out.append(" [|v2sa]")
                    return cp + left
                self.check(cp, il)
                out.append("\n" + "    " * (depth + 1) + "(")
                nxt = d[cp]
                if pn == 2:
                    cp = self.prop2(cp, il, depth + 1)
                    if cp < 0:
                        return -1
                else:
                    out.append(_np(pn))
                    cp += il
                out.append(")")
                left -= il
                pn = nxt
            return cp
        if np == 34:
            self.check(p, 8)
            self.head(name, p)
            out.append(f" len={ln - 8} group={_name(_V2_IDS[4], u16(d, p + 4))}")
            if v > 2 and ln > 8:
                out.append(" " + self.raw(p + 8, ln - 8))
            return p + ln
        if np in (35, 36):
            self.check(p, 8)
            self.head(name, p)
            out.append(f" len={ln - 4}")
            if v > 2 and ln > 4:
                out.append(" " + self.raw(p + 4, ln - 4))
            t = d[p + 4]
            kind = {1: " ipv4:", 2: " fqdn:", 3: " rfc822:", 5: " ipv6:", 9: " dn:", 10: " gn:",
                    11: " keyid:"}.get(t, "")  # fmt: skip
            out.append(kind)
            if t in (2, 3):
                self.check(p + 8, ln - 8)
                out.append("".join(chr(c) if 0x20 <= c < 0x7F else "." for c in d[p + 8 : p + ln]))
            elif kind:
                out.append(self.raw(p + 8, ln - 8))
            return p + ln
        if np == 39:
            self.check(p, 8)
            self.head(name, p)
            out.append(f" len={ln - 4} method={_name(_V2_AUTH, d[p + 4])}")
            if v > 1:
                out.append(" authdata=(" + self.raw(p + 8, ln - 8) + ") ")
            elif v:
                out.append(self.somedata(p + 8))
            return p + ln
        if np == 40:
            self.head("nonce", p)
            out.append(f" len={ln - 4}")
            if v > 1:
                out.append(" nonce=(" + self.raw(p + 4, ln - 4) + ") ")
            elif v:
                out.append(self.somedata(p + 4))
            return p + ln
        if np == 41:
            self.check(p, 8)
            self.head("n", p)
            spi = d[p + 5]
            t = u16(d, p + 6)
            out.append(f" prot_id={_name(PROTO_IDS, d[p + 4])}")
            known = _V2_NOTIFY.get(t)
            if known is None:
                word = "error" if t < 8192 else "private-error" if t < 16384 else (
                    "status" if t < 40960 else "private-status")  # fmt: skip
                showspi, some = True, False
            else:
                word, showspi = known
                some = t == 16390
            out.append(f" type={t}({word})")
            if showspi and spi:
                out.append(" spi=" + self.raw(p + 8, spi))
            cp = p + 8 + spi
            if cp < self.ep:
                if v > 3 or (some and self.ep - cp < 30):
                    out.append(" data=(" + self.raw(cp, self.ep - cp) + ")")
                elif some:
                    out.append(self.somedata(cp))
            return p + ln
        if np == 43:
            self.head(name, p)
            out.append(f" len={ln - 4} vid=")
            self.check(p + 4, ln - 4)
            out.append("".join(chr(c) if 0x20 <= c < 0x7F else "." for c in d[p + 4 : p + ln]))
            if v > 2 and ln > 8:
                out.append(" " + self.raw(p + 4, ln - 4))
            return p + ln
        if np == 46:
            self.head(name, p)
            out.append(f" len={ln - 4}")
            if v > 2 and ln - 4 > 4:
                out.append(" " + self.raw(p + 4, ln - 4))
            self.check(p + 4, ln - 4)
            return -1  # tcpdump stops after the encrypted payload
        if 33 <= np <= 48:  # certificates, requests, deletes, selectors, configuration, EAP
            self.head(name, p)
            out.append(f" len={ln - 4}")
            if v > 2 and ln > 4:
                out.append(" " + self.raw(p + 4, ln - 4))
            return p + ln
        out.append(name)
        return p + ln

    def prop2(self, p: int, oln: int, depth: int) -> int:
        """A proposal and its transforms (``ikev2_p_print``); -1 when it had to stop."""
        d, out = self.d, self.out
        self.check(p, 8)
        self.head("p", p)
        left = oln - 4
        spi = d[p + 6]
        out.append(
            f" #{d[p + 4]} protoid={_name(PROTO_IDS, d[p + 5])} transform={d[p + 7]} len={oln}"
        )
        cp = p + 8
        if spi:
            if left < spi:
                out.append(" [|p]")
                return cp + left
            out.append(" spi=" + self.raw(cp, spi))
            cp += spi
            left -= spi
        tn, count = 3, 0
        while tn:
            count += 1
            if left < 4:
                out.append(" [|p]")
                return cp + left
            self.check(cp, 4)
            il = u16(d, cp + 2)
            if il <= 4:
                out.append(" [|p]")
                return -1
            if left < il:
                out.append(" [|p]")
                return cp + left
            self.check(cp, il)
            out.append("\n" + "    " * (depth + 1) + "(")
            nxt = d[cp]
            if tn == 3:
                try:
                    cp = self.trans2(cp, il, count)
                except Trunc:
                    out.append(" [|t]")
                    return -1
            else:
                out.append(_np(tn))
                cp += il
            out.append(")")
            left -= il
            tn = nxt
        return cp

    def trans2(self, p: int, il: int, count: int) -> int:
        d, out = self.d, self.out
        self.check(p, 8)
        self.head("t", p)
        tt, tid = d[p + 4], u16(d, p + 6)
        ids = _V2_IDS.get(tt)
        kind = _name(_V2_TTYPES, tt)
        out.append(f" #{count} type={kind} id={_name(ids, tid) if ids else tid} ")
        amap = _V2_ENCR_ATTRS if tt == 1 else ()
        cp, ep2 = p + 8, p + il
        while cp < self.ep and cp < ep2:
            cp = self.attr(cp, ep2, amap)
        if self.ep < ep2:
            out.append("...")
        return cp


def isakmp(
    d: bytes, off: int, end: int, verbose: int = 0, a: Acc | None = None, length: int = -1
) -> str:
    """``isakmp: phase 1 I ident`` / ``isakmp: parent_sa ikev2_init``, with ``-v`` IKEv1's
    payloads on the lines after.

    The initiator/responder letter of IKEv1 needs the exchange's first packet
    (tcpdump remembers cookies); a line decoded alone says ``I`` for a first
    packet (no responder cookie) and ``?`` otherwise.  ``length``: the UDP payload's
    length, which ``-v`` compares with the ISAKMP header's.
    """
    if end - off < 28:
        return "isakmp: [|isakmp]"
    major = d[off + 17] >> 4
    etype = d[off + 18]
    flags = d[off + 19]
    phase1 = d[off + 20 : off + 24] == b"\0\0\0\0"
    head = "isakmp:"
    if verbose:
        head = f"isakmp {major}.{d[off + 17] & 15} msgid {d[off + 20 : off + 24].hex()}"
        if verbose > 1:
            head += f" cookie {d[off : off + 8].hex()}->{d[off + 8 : off + 16].hex()}"
        head += ":"
    if major == 1:
        out = head + (" phase 1" if phase1 else " phase 2/others")
        first = d[off + 8 : off + 16] == bytes(8)
        if a is not None and a.cookies is not None:
            out += " " + a.cookies.side(d[off : off + 8], first, a.src, a.dst)
        else:
            out += " I" if first else " ?"
        out += " " + IKE1_EXCHANGES.get(etype, f"#{etype}")
        if flags:
            out += "[" + ("E" if flags & 1 else "") + ("C" if flags & 2 else "") + "]"
        if not verbose:
            return out
        out += ":"
        if flags & 1:
            out += f" [encrypted {_np(d[off + 16])}]"
        else:
            walk = _V1(d, end, verbose, 1 if phase1 else 2)
            walk.sub(d[off + 16], off + 28, 0, 0)
            out += "".join(walk.out)
        return out + _mismatch(d, off, length)
    if major == 2:
        out = head + (" parent_sa" if phase1 else " child_sa ")
        out += " " + IKE2_EXCHANGES.get(etype, f"#{etype}")
        if flags:
            out += (
                "["
                + ("I" if flags & 8 else "")
                + ("V" if flags & 0x10 else "")
                + ("R" if flags & 0x20 else "")
                + "]"
            )
        if verbose:
            out += ":"
            np = d[off + 16]
            if flags & 1:
                out += f" [encrypted {_np(np)}]"
            else:
                walk2 = _V2(d, end, verbose, 1 if phase1 else 2)
                walk2.sub2(np, off + 28, 0)
                out += "".join(walk2.out)
            out += _mismatch(d, off, length)
        return out
    return head


def _mismatch(d: bytes, off: int, length: int) -> str:
    """``-v``: the ISAKMP header's length when it is not the UDP payload's."""
    claimed = u32(d, off + 24)
    if length < 0 or claimed == length:
        return ""
    return f" (len mismatch: isakmp {claimed}/ip {length})"


#: Wireshark's names of the exchange types (the Info column's)
_WS_EXCHANGES: Final = {
    1: "Base",
    2: "Identity Protection (Main Mode)",
    3: "Authentication Only",
    4: "Aggressive",
    5: "Informational",
    6: "Transaction (Config Mode)",
    32: "Quick Mode",
    33: "New Group Mode",
    34: "IKE_SA_INIT",
    35: "IKE_AUTH",
    36: "CREATE_CHILD_SA",
    37: "INFORMATIONAL",
    38: "IKE_SESSION_RESUME",
    43: "IKE_INTERMEDIATE",
}


def isakmp_info(d: bytes, off: int, end: int) -> str:
    """Wireshark's Info for an ISAKMP message: its exchange, and for IKEv2 the message id
    and which side sent it, asking or answering; empty when the header is cut."""
    if end - off < 28:
        return ""
    etype = d[off + 18]
    name = _WS_EXCHANGES.get(etype, f"Unknown ({etype})")
    if d[off + 17] >> 4 != 2:
        return name
    flags = d[off + 19]
    side = "Initiator" if flags & 0x08 else "Responder"
    kind = "Response" if flags & 0x20 else "Request"
    return f"{name} MID={u32(d, off + 20):02d} {side} {kind}"


class _Isakmp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        a.info = isakmp_info(d, off, end)
        return isakmp(d, off, end, a.verbose, a, length)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("ISAKMP")


class _NatT(PortHandler):
    """UDP 4500: IKE behind a zero "non-ESP marker", ESP otherwise (RFC 3948)."""

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if length == 1 and end > off and d[off] == 0xFF:
            return "isakmp-nat-keep-alive"
        if end - off < 4:
            return None
        if d[off : off + 4] == b"\0\0\0\0":
            a.info = isakmp_info(d, off + 4, end)
            return "NONESP-encap: " + isakmp(d, off + 4, end, a.verbose, a, length - 4)
        if end - off < 8:
            return None
        spi = int.from_bytes(d[off : off + 4], "big")
        seq = int.from_bytes(d[off + 4 : off + 8], "big")
        a.info = f"ESP (SPI=0x{spi:08x})"
        return f"UDP-encap: ESP(spi=0x{spi:08x},seq=0x{seq:x}), length {length}"

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        if end - off >= 4 and d[off : off + 4] == b"\0\0\0\0":
            out.append("ISAKMP")
        elif end - off >= 8:
            out.append("ESP")
            out.head(off + 8)  # the SPI and sequence number; the rest is encrypted


bind(UDP_PORTS, (500,), _Isakmp("ISAKMP"))
bind(UDP_PORTS, (4500,), _NatT("ISAKMP"))
