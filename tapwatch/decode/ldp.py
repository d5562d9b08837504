"""LDP (RFC 5036; UDP 646 for hellos, TCP 646 for sessions), as tcpdump 4.99 prints it.

Without ``-v`` the first PDU's header: ``LDP, Label-Space-ID: 10.0.0.1:0, pdu-length: 38``.
With ``-v`` every PDU, each message and its TLVs (hello parameters, transport
addresses, session parameters, address lists, FECs, labels, status).
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    TCP_PORTS,
    UDP_PORTS,
    Acc,
    PortHandler,
    Trunc,
    Walk,
    bind,
    ip4,
    need,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.names import AF_VALUES
from tapwatch.decode.verbose import hexdump

_MSGS: Final = {
    0x0001: "Notification",
    0x0100: "Hello",
    0x0200: "Initialization",
    0x0201: "Keepalive",
    0x0300: "Address",
    0x0301: "Address Withdraw",
    0x0400: "Label Mapping",
    0x0401: "Label Request",
    0x0402: "Label Withdraw",
    0x0403: "Label Release",
    0x0404: "Label Abort Request",
}
_DECODED: Final = frozenset((0x0001, 0x0100, 0x0200, 0x0201, 0x0300, 0x0400, 0x0301, 0x0402))
_TLVS: Final = {
    0x0100: "FEC",
    0x0101: "Address List",
    0x0103: "Hop Count",
    0x0104: "Path Vector",
    0x0200: "Generic Label",
    0x0201: "ATM Label",
    0x0202: "Frame-Relay Label",
    0x0300: "Status",
    0x0301: "Extended Status",
    0x0302: "Returned PDU",
    0x0303: "Returned Message",
    0x0400: "Common Hello Parameters",
    0x0401: "IPv4 Transport Address",
    0x0402: "Configuration Sequence Number",
    0x0403: "IPv6 Transport Address",
    0x0500: "Common Session Parameters",
    0x0501: "ATM Session Parameters",
    0x0502: "Frame-Relay Session Parameters",
    0x0503: "Fault-Tolerant Session Parameters",
    0x0600: "Label Request Message ID",
    0x0601: "MTU",
}
_FECS: Final = {1: "Wildcard", 2: "Prefix", 3: "Host address", 0x80: "Martini VC"}

_DONT: Final = "don't"
_DONT_: Final = "Don't "


class _Short(Exception):
    """A TLV shorter than its contents need (tcpdump's ``TLV_TCHECK``)."""


def _prefix(d: bytes, p: int, left: int, end: int, size: int) -> str | None:
    """tcpdump's ``decode_prefix4``/``6``: ``a.b.c.d/n``; None: invalid length; Trunc: short."""
    if left < 1:
        raise Trunc
    need(p, 1, end)
    plen = d[p]
    if plen > size * 8:
        return None
    nb = (plen + 7) // 8
    if left - 1 < nb:
        raise Trunc
    need(p + 1, nb, end)
    raw = bytearray(d[p + 1 : p + 1 + nb] + bytes(size - nb))
    if plen % 8:
        raw[nb - 1] &= (0xFF00 >> (plen % 8)) & 0xFF
    return f"{ip4(bytes(raw)) if size == 4 else ntop6(bytes(raw))}/{plen}"


def _tlv(d: bytes, p: int, left: int, end: int, out: list[str], verbose: int) -> int:
    need(p, 4, end)
    ln = u16(d, p + 2)
    if ln + 4 > left:
        out.append("\n\t\t TLV contents go past end of message")
        return 0
    raw = u16(d, p)
    t = raw & 0x3FFF
    out.append(
        f"\n\t    {_TLVS.get(t, 'Unknown')} TLV (0x{t:04x}), length: {ln}, Flags: ["
        f"{'continue processing' if raw & 0x8000 else 'ignore'} and "
        f"{'do' if raw & 0x4000 else _DONT} forward if unknown]"
    )
    q = p + 4
    tl = ln

    def check(n: int) -> None:
        if tl < n:
            out.append(f" [tlv length {tl} < {n}] (invalid)")
            raise _Short

    try:
        if t == 0x0400:
            check(4)
            need(q, 4, end)
            fl = u16(d, q + 2)
            out.append(
                f"\n\t      Hold Time: {u16(d, q)}s, Flags: ["
                f"{'Targeted' if fl & 0x8000 else 'Link'} Hello"
                f"{', Request for targeted Hellos' if fl & 0x4000 else ''}]"
            )
        elif t == 0x0401:
            check(4)
            need(q, 4, end)
            out.append(f"\n\t      IPv4 Transport Address: {ip4(d[q : q + 4])}")
        elif t == 0x0403:
            check(16)
            need(q, 16, end)
            out.append(f"\n\t      IPv6 Transport Address: {ntop6(d[q : q + 16])}")
        elif t == 0x0402:
            check(4)
            need(q, 4, end)
            out.append(f"\n\t      Sequence Number: {u32(d, q)}")
        elif t == 0x0101:
            check(2)
            need(q, 2, end)
            af = u16(d, q)
            q += 2
            tl -= 2
            out.append(
                f"\n\t      Address Family: {AF_VALUES.get(af, f'Unknown ({af})')}, addresses"
            )
            size = 4 if af == 1 else 16 if af == 2 else 0
            while size and tl >= size:
                need(q, size, end)
                out.append(" " + (ip4(d[q : q + 4]) if size == 4 else ntop6(d[q : q + 16])))
                tl -= size
                q += size
        elif t == 0x0500:
            check(8)
            need(q, 8, end)
            fl = u16(d, q + 6)
            out.append(
                f"\n\t      Version: {u16(d, q)}, Keepalive: {u16(d, q + 2)}s, Flags: [Downstream "
                f"{'On Demand' if fl & 0x8000 else 'Unsolicited'}, Loop Detection "
                f"{'Enabled' if fl & 0x4000 else 'Disabled'}]"
            )
        elif t == 0x0100:
            check(1)
            need(q, 1, end)
            fec = d[q]
            out.append(f"\n\t      {_FECS.get(fec, 'Unknown')} FEC (0x{fec:02x})")
            q += 1
            tl -= 1
            if fec == 2:
                check(2)
                need(q, 2, end)
                af = u16(d, q)
                q += 2
                tl -= 2
                if af in (1, 2):
                    word = "IPv4" if af == 1 else "IPv6"
                    text = _prefix(d, q, tl, end, 4 if af == 1 else 16)
                    out.append(
                        f": {word} prefix (invalid length)"
                        if text is None
                        else f": {word} prefix {text}"
                    )
                else:
                    out.append(f": Address family {af} prefix")
            elif fec == 0x80:
                check(7)
                need(q, 7, end)
                info = d[q + 2]
                pw = u16(d, q)
                cw = "" if pw & 0x8000 else "no "
                if info == 0:
                    out.append(
                        f": PW type 0x{pw & 0x7FFF:04x}, {cw}control word, group-ID "
                        f"{u32(d, q + 3)}, VC-info-length: 0"
                    )
        elif t == 0x0200:
            check(4)
            need(q, 4, end)
            out.append(f"\n\t      Label: {u32(d, q) & 0xFFFFF}")
        elif t == 0x0300:
            check(8)
            need(q, 8, end)
            ui = u32(d, q)
            out.append(
                f"\n\t      Status: 0x{ui & 0x3FFFFFFF:02x}, Flags: ["
                f"{'Fatal error' if ui & 0x80000000 else 'Advisory Notification'} and "
                f"{'do' if ui & 0x40000000 else _DONT} forward]"
            )
            if u32(d, q + 4):
                out.append(f", causing Message ID: 0x{u32(d, q + 4):08x}")
        elif t == 0x0503:
            check(12)
            need(q, 12, end)
            fl = u16(d, q)
            out.append(
                f"\n\t      Flags: [{'' if fl & 0x8000 else 'No '}Reconnect, "
                f"{'' if fl & 8 else _DONT_}Save State, {'' if fl & 4 else 'No '}All-Label "
                f"Protection, {'Sequence Numbered Label' if fl & 2 else 'All Labels'} Checkpoint, "
                f"{'' if fl & 1 else _DONT_}Re-Learn State]"
            )
            if u32(d, q + 4):
                out.append(f", Reconnect Timeout: {u32(d, q + 4)}ms")
            if u32(d, q + 8):
                out.append(f", Recovery Time: {u32(d, q + 8)}ms")
        elif t == 0x0601:
            check(2)
            need(q, 2, end)
            out.append(f"\n\t      MTU: {u16(d, q)}")
        elif verbose <= 1:
            out.append(hexdump(d[q : min(q + tl, end)], "\n\t      "))
    except _Short:
        pass
    return ln + 4


def _pdu(d: bytes, p: int, end: int, out: list[str], verbose: int) -> int:
    sep = "\n\t" if verbose else ""
    need(p, 10, end)
    if u16(d, p) != 1:
        out.append(f"{sep}LDP version {u16(d, p)} packet not supported")
        return 0
    plen = u16(d, p + 2)
    if plen < 6:
        out.append(f"{sep}LDP, pdu-length: {plen} (too short, < 6)")
        return 0
    out.append(
        f"{sep}LDP, Label-Space-ID: {ip4(d[p + 4 : p + 8])}:{u16(d, p + 8)}, pdu-length: {plen}"
    )
    if not verbose:
        return 0
    q = p + 10
    left = plen - 6
    while left > 0:
        need(q, 8, end)
        mlen = u16(d, q + 2)
        raw = u16(d, q)
        t = raw & 0x7FFF
        name = _MSGS.get(t, "Unknown")
        if mlen < 4:
            out.append(f"\n\t  {name} Message (0x{t:04x}), length: {mlen} (too short, < 4)")
            return 0
        out.append(
            f"\n\t  {name} Message (0x{t:04x}), length: {mlen}, Message ID: 0x{u32(d, q + 4):08x}, "
            f"Flags: [{'continue processing' if raw & 0x8000 else 'ignore'} if unknown]"
        )
        need(q, mlen, end)
        m = q + 8
        mleft = mlen - 4
        if t in _DECODED:
            while mleft >= 4:
                n = _tlv(d, m, mleft, end, out, verbose)
                if n == 0:
                    break
                mleft -= n
                m += n
        elif verbose <= 1:
            out.append(hexdump(d[m : min(m + mleft, end)], "\n\t  "))
        if verbose > 1:
            out.append(hexdump(d[q + 8 : min(q + 8 + mlen, end)], "\n\t  "))
        q += mlen + 4
        left -= mlen + 4
    return plen + 4


def ldp(d: bytes, p: int, end: int, length: int, verbose: int) -> str:
    out: list[str] = []
    try:
        while length > 18:
            n = _pdu(d, p, end, out, verbose)
            if n == 0:
                break
            if length < n:
                out.append(f" [remaining length {length} < {n}] (invalid)")
                break
            length -= n
            p += n
    except Trunc:
        out.append(" [|ldp]")
    return "".join(out)


class _Ldp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if a.claimed > length:
            length = a.claimed
        text = ldp(d, off, end, length, a.verbose)
        a.info = text.strip().split("\n")[0] if not a.lean else ""
        return text

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("LDP")


bind(UDP_PORTS, (646,), _Ldp("LDP"))
bind(TCP_PORTS, (646,), _Ldp("LDP"))
