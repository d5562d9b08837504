"""PPP (RFC 1661) and PPPoE (RFC 2516), as tcpdump 4.99 prints them: the PPP link types,
PPPoE discovery and session frames on Ethernet, and PPP inside PPTP's GRE and L2TP.

A PPP frame's protocol field selects IP, IPv6, MPLS, or a control protocol:
``LCP, Conf-Request (0x01), id 1, length 18`` (``-v``: the options, one a line),
``IPCP``/``IP6CP`` likewise, ``CHAP``/``PAP`` with their values.  The PPP handler
sits in the ethertype table under PPP's ethertype (0x880b, what GRE carries), so
every encapsulation reaches it the same way.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    ETHERTYPES,
    LINKTYPES,
    Acc,
    EtherHandler,
    LinkHandler,
    Trunc,
    Walk,
    bind,
    ethertype_text,
    ethertype_walk,
    fresh,
    hex_value,
    ip4,
    need,
    u16,
    u32,
    ws_text,
)
from tapwatch.decode.link import walked_from
from tapwatch.decode.verbose import hexdump, safe_char

#: PPP's ethertype: the key the PPP frame handler is bound under.
ETHERTYPE_PPP: Final = 0x880B

_PROTOS: Final = {
    0x0021: "IP",
    0x0023: "OSI",
    0x0025: "NS",
    0x0027: "DECNET",
    0x0029: "APPLE",
    0x002B: "IPX",
    0x002D: "VJC IP",
    0x002F: "VJNC IP",
    0x0031: "BRPDU",
    0x0033: "STII",
    0x0035: "VINES",
    0x0281: "MPLS",
    0x0283: "MPLS",
    0x00FD: "Compressed",
    0x003D: "MLPPP",
    0x0057: "IP6",
    0x0201: "HELLO",
    0x0231: "LUXCOM",
    0x0233: "SNS",
    0x8021: "IPCP",
    0x8023: "OSICP",
    0x8025: "NSCP",
    0x8027: "DECNETCP",
    0x8029: "APPLECP",
    0x802B: "IPXCP",
    0x8033: "STIICP",
    0x8035: "VINESCP",
    0x8057: "IP6CP",
    0x8281: "MPLSCP",
    0xC021: "LCP",
    0xC023: "PAP",
    0xC025: "LQM",
    0xC223: "CHAP",
    0xC227: "EAP",
    0xC027: "SPAP",
    0xC123: "Old-SPAP",
    0xC02B: "BACP",
    0xC02D: "BAP",
    0xC03D: "MLPPP-CP",
    0x80FD: "CCP",
}
_CONTROL: Final = frozenset((0xC021, 0x8021, 0x8023, 0x8281, 0x8057, 0x80FD, 0xC02B))
_CODES: Final = {
    1: "Conf-Request",
    2: "Conf-Ack",
    3: "Conf-Nack",
    4: "Conf-Reject",
    5: "Term-Request",
    6: "Term-Ack",
    7: "Code-Reject",
    8: "Prot-Reject",
    9: "Echo-Request",
    10: "Echo-Reply",
    11: "Disc-Req",
}
#: Wireshark's words for the control protocols' codes (the Info column's): every control
#: protocol knows 1-7, LCP 0-13, CCP also 14-15 (Reset-Request and -Ack)
_WS_CODES: Final = (
    "Vendor Specific",
    "Configuration Request",
    "Configuration Ack",
    "Configuration Nak",
    "Configuration Reject",
    "Termination Request",
    "Termination Ack",
    "Code Reject",
    "Protocol Reject",
    "Echo Request",
    "Echo Reply",
    "Discard Request",
    "Identification",
    "Time Remaining",
)
_WS_CCP_RESETS: Final = {14: "Reset Request", 15: "Reset Ack"}
_WS_CHAP: Final = {1: "Challenge", 2: "Response", 3: "Success", 4: "Failure"}
_WS_PAP: Final = {1: "Authenticate-Request", 2: "Authenticate-Ack", 3: "Authenticate-Nak"}
#: the longest CHAP name Wireshark's Info shows before ``...``
_WS_CHAP_NAME: Final = 20
_LCP_OPTS: Final = (
    "Vend-Ext",
    "MRU",
    "ACCM",
    "Auth-Prot",
    "Qual-Prot",
    "Magic-Num",
    "deprecated(6)",
    "PFC",
    "ACFC",
    "FCS-Alt",
    "SDP",
    "Num-Mode",
    "deprecated(12)",
    "Call-Back",
    "deprecated(14)",
    "deprecated(15)",
    "deprecated(16)",
    "MRRU",
    "12-Bit seq #",
    "End-Disc",
    "Proprietary",
    "DCE-Id",
    "MP+",
    "Link-Disc",
    "LCP-Auth-Opt",
    "COBS",
    "Prefix-elision",
    "Multilink-header-Form",
    "I18N",
    "SDL-over-SONET/SDH",
    "PPP-Muxing",
)
_IPCP_OPTS: Final = {
    1: "IP-Addrs",
    2: "IP-Comp",
    3: "IP-Addr",
    4: "Home-Addr",
    129: "Pri-DNS",
    130: "Pri-NBNS",
    131: "Sec-DNS",
    132: "Sec-NBNS",
}
_AUTHALG: Final = {5: "MD5", 128: "MS-CHAPv1", 129: "MS-CHAPv2"}
_CHAP: Final = {1: "Challenge", 2: "Response", 3: "Success", 4: "Fail"}
_PAP: Final = {1: "Auth-Req", 2: "Auth-ACK", 3: "Auth-NACK"}
_PPPOE_CODES: Final = {0x09: "PADI", 0x07: "PADO", 0x19: "PADR", 0x65: "PADS", 0xA7: "PADT", 0: ""}
#: Wireshark's names of PPPoE's codes (the Info column's)
_WS_PPPOE_CODES: Final = {
    0x09: "Active Discovery Initiation (PADI)",
    0x07: "Active Discovery Offer (PADO)",
    0x19: "Active Discovery Request (PADR)",
    0x65: "Active Discovery Session-confirmation (PADS)",
    0xA7: "Active Discovery Terminate (PADT)",
    0: "Session Data",
}
#: the bytes of an AC-Name kept for the Info column (which the list cuts far shorter)
_WS_AC_NAME_MAX: Final = 4096
#: the characters of tshark's Info column (COL_MAX_INFO_LEN): AC-Names past it are not said
_WS_INFO_MAX: Final = 4096
_PPPOE_TAGS: Final = {
    0: "EOL",
    0x0101: "Service-Name",
    0x0102: "AC-Name",
    0x0103: "Host-Uniq",
    0x0104: "AC-Cookie",
    0x0105: "Vendor-Specific",
    0x0110: "Relay-Session-ID",
    0x0120: "PPP-Max-Payload",
    0x0201: "Service-Name-Error",
    0x0202: "AC-System-Error",
    0x0203: "Generic-Error",
}


def _lcp_opt(d: bytes, p: int, length: int, end: int, out: list[str], verbose: int) -> int:
    if length < 2:
        return 0
    need(p, 2, end)
    opt, ln = d[p], d[p + 1]
    if length < ln:
        return 0
    known = opt < len(_LCP_OPTS)
    if ln < 2:
        if known:
            out.append(
                f"\n\t  {_LCP_OPTS[opt]} Option (0x{opt:02x}), length {ln} "
                "(length bogus, should be >= 2)"
            )
        else:
            out.append(f"\n\tunknown LCP option 0x{opt:02x}")
        return 0
    if not known:
        out.append(f"\n\tunknown LCP option 0x{opt:02x}")
        return ln
    out.append(f"\n\t  {_LCP_OPTS[opt]} Option (0x{opt:02x}), length {ln}")

    def bogus(word: str, ret: int) -> int:
        out.append(f" (length bogus, should be {word})")
        return ret

    if opt in (1, 17):
        if ln != 4:
            return bogus("= 4", ln if opt == 1 else 0)
        need(p + 2, 2, end)
        out.append(f": {u16(d, p + 2)}")
    elif opt in (2, 5):
        if ln != 6:
            return bogus("= 6", ln if opt == 2 else 0)
        need(p + 2, 4, end)
        out.append(f": 0x{u32(d, p + 2):08x}")
    elif opt == 3:
        if ln < 4:
            return bogus(">= 4", ln)
        need(p + 2, 2, end)
        ap = u16(d, p + 2)
        out.append(": " + _PROTOS.get(ap, "Unknown Auth Proto (0x04x)"))
        if ap == 0xC223:
            need(p + 4, 1, end)
            out.append(", " + _AUTHALG.get(d[p + 4], f"Unknown Auth Alg {d[p + 4]}"))
        elif ap not in (0xC023, 0xC227, 0xC027, 0xC123):
            out.append(hexdump(d[p : min(p + ln, end)], "\n\t"))
    elif opt == 4:
        if ln < 4:
            return bogus(">= 4", 0)
        need(p + 2, 2, end)
        out.append(": LQR" if u16(d, p + 2) == 0xC025 else ": unknown")
    elif opt == 23:
        if ln != 4:
            return bogus("= 4", 0)
        need(p + 2, 2, end)
        out.append(f": 0x{u16(d, p + 2):04x}")
    elif opt == 0:
        if ln < 6:
            return bogus(">= 6", ln)
    elif opt not in (7, 8) and verbose < 2:
        out.append(hexdump(d[p + 2 : min(p + ln, end)], "\n\t    "))
    if verbose > 1:
        out.append(hexdump(d[p + 2 : min(p + ln, end)], "\n\t    "))
    return ln


def _ipcp_opt(d: bytes, p: int, length: int, end: int, out: list[str], verbose: int) -> int:
    if length < 2:
        return 0
    need(p, 2, end)
    opt, ln = d[p], d[p + 1]
    if length < ln:
        return 0
    name = _IPCP_OPTS.get(opt, "unknown")
    if ln < 2:
        out.append(f"\n\t  {name} Option (0x{opt:02x}), length {ln} (length bogus, should be >= 2)")
        return 0
    out.append(f"\n\t  {name} Option (0x{opt:02x}), length {ln}")
    if opt == 1:
        if ln != 10:
            out.append(" (length bogus, should be = 10)")
            return ln
        need(p + 2, 8, end)
        out.append(f": src {ip4(d[p + 2 : p + 6])}, dst {ip4(d[p + 6 : p + 10])}")
    elif opt == 2:
        if ln < 4:
            out.append(" (length bogus, should be >= 4)")
            return 0
        need(p + 2, 2, end)
        cp = u16(d, p + 2)
        word = {0x002D: "VJ-Comp", 0x61: "IP Header Compression"}.get(cp, "Unknown")
        out.append(f": {word} (0x{cp:02x}):")
    elif opt in (3, 4, 129, 130, 131, 132):
        if ln != 6:
            out.append(" (length bogus, should be = 6)")
            return 0
        need(p + 2, 4, end)
        out.append(f": {ip4(d[p + 2 : p + 6])}")
    elif verbose < 2:
        out.append(hexdump(d[p + 2 : min(p + ln, end)], "\n\t    "))
    if verbose > 1:
        out.append(hexdump(d[p + 2 : min(p + ln, end)], "\n\t    "))
    return ln


def _ip6cp_opt(d: bytes, p: int, length: int, end: int, out: list[str], verbose: int) -> int:
    if length < 2:
        return 0
    need(p, 2, end)
    opt, ln = d[p], d[p + 1]
    if length < ln:
        return 0
    name = "Interface-ID" if opt == 1 else "unknown"
    if ln < 2:
        out.append(f"\n\t  {name} Option (0x{opt:02x}), length {ln} (length bogus, should be >= 2)")
        return 0
    out.append(f"\n\t  {name} Option (0x{opt:02x}), length {ln}")
    if opt == 1:
        if ln != 10:
            out.append(" (length bogus, should be = 10)")
            return ln
        need(p + 2, 8, end)
        out.append(": " + ":".join(f"{u16(d, p + 2 + i):04x}" for i in range(0, 8, 2)))
    elif verbose < 2:
        out.append(hexdump(d[p + 2 : min(p + ln, end)], "\n\t    "))
    if verbose > 1:
        out.append(hexdump(d[p + 2 : min(p + ln, end)], "\n\t    "))
    return ln


def _ctrl(
    d: bytes, p: int, end: int, length: int, proto: int, out: list[str], verbose: int
) -> None:
    typestr = _PROTOS.get(proto, f"unknown ctrl-proto (0x{proto:04x})")
    out.append(f"{typestr}, ")
    try:
        if length < 4:
            raise Trunc
        need(p, 2, end)
        code = d[p]
        name = _CODES.get(code, "Unknown Opcode")
        out.append(f"{name} (0x{code:02x}), id {d[p + 1]}, length {length + 2}")
        if not verbose:
            return
        need(p + 2, 2, end)
        ln = u16(d, p + 2)
        if ln < 4:
            out.append(f"\n\tencoded length {ln} (< 4))")
            return
        if ln > length:
            out.append(f"\n\tencoded length {ln} (> packet length {length}))")
            return
        out.append(f"\n\tencoded length {ln} (=Option(s) length {ln - 4})")
        if ln == 4:
            return
        if verbose > 1:
            out.append(hexdump(d[p - 2 : min(p + 4, end)], "\n\t"))
        q = p + 4
        if code in (1, 2, 3, 4):
            fn = {0xC021: _lcp_opt, 0x8021: _ipcp_opt, 0x8057: _ip6cp_opt}.get(proto)
            left = ln - 4
            while fn is not None and left:
                n = fn(d, q, ln, end, out, verbose)
                if n == 0:
                    break
                if left < n:
                    out.append(f" [remaining options length {left} < {n}] (invalid)")
                    break
                left -= n
                q += n
        elif code == 8:
            if ln >= 6:
                need(q, 2, end)
                rp = u16(d, q)
                out.append(f"\n\t  Rejected {_PROTOS.get(rp, 'unknown')} Protocol (0x{rp:04x})")
                if ln > 6:
                    out.append(
                        "\n\t  Rejected Packet"
                        + hexdump(d[q + 2 : min(q + ln - 2, end)], "\n\t    ")
                    )
        elif code in (9, 10, 11):
            if ln >= 8:
                need(q, 4, end)
                out.append(f"\n\t  Magic-Num 0x{u32(d, q):08x}")
                if ln > 8:
                    need(q + 4, ln - 8, end)
                    out.append(
                        "\n\t  -----trailing data-----" + hexdump(d[q + 4 : q + ln - 4], "\n\t  ")
                    )
        elif code not in (5, 6, 7) and verbose <= 1:
            out.append(hexdump(d[p - 2 : min(p + length, end)], "\n\t  "))
    except Trunc:
        out.append(f"[|{typestr}]")


def _chap(d: bytes, p: int, end: int, length: int, out: list[str]) -> None:
    if length < 1:
        out.append("[|chap]")
        return
    need(p, 1, end)
    if length < 4:
        out.append(f"[|chap 0x{d[p]:02x}]")
        return
    need(p, 4, end)
    code = d[p]
    out.append(f"CHAP, {_CHAP.get(code, 'unknown')} (0x{code:02x}), id {d[p + 1]}")
    ln = u16(d, p + 2)
    q = p + 4
    if code in (1, 2):
        if length < 5:
            return
        need(q, 1, end)
        vs = d[q]
        q += 1
        if length - (q - p) < vs:
            return
        need(q, vs, end)
        out.append(f", Value {d[q : q + vs].hex()}")
        q += vs
        n = ln - (q - p)
        need(q, max(n, 0), end)
        out.append(", Name " + "".join(safe_char(c) for c in d[q : q + max(n, 0)]))
    elif code in (3, 4):
        n = ln - 4
        need(q, max(n, 0), end)
        out.append(", Msg " + "".join(safe_char(c) for c in d[q : q + max(n, 0)]))


def _pap(d: bytes, p: int, end: int, length: int, out: list[str]) -> None:
    if length < 1:
        out.append("[|pap]")
        return
    need(p, 1, end)
    if length < 4:
        out.append(f"[|pap 0x{d[p]:02x}]")
        return
    need(p, 4, end)
    code = d[p]
    out.append(f"PAP, {_PAP.get(code, 'unknown')} (0x{code:02x}), id {d[p + 1]}")
    ln = u16(d, p + 2)
    if ln > length:
        out.append(f", length {ln} > packet size")
        return
    length = ln
    if length < 4:
        out.append(f", length {length} < PAP header length")
        return
    q = p + 4
    try:
        if code == 1:
            if ln < 6:
                raise Trunc
            for word in ("Peer", "Name"):
                if length - (q - p) < 1:
                    return
                need(q, 1, end)
                n = d[q]
                q += 1
                if length - (q - p) < n:
                    return
                need(q, n, end)
                out.append(f", {word} " + "".join(safe_char(c) for c in d[q : q + n]))
                q += n
        elif code in (2, 3):
            if ln < 5:
                raise Trunc
            need(q, 1, end)
            n = d[q]
            q += 1
            if length - (q - p) < n:
                return
            need(q, n, end)
            out.append(", Msg " + "".join(safe_char(c) for c in d[q : q + n]))
    except Trunc:
        out.append("[|pap]")


def _ws_info(d: bytes, p: int, end: int, proto: int) -> str:
    """The Info column's words for a control protocol, CHAP or PAP message (Wireshark's): the
    code's name, CHAP's name and value, PAP's peer and password or message."""
    if p >= end:
        return ""
    code = d[p]
    if proto in _CONTROL:
        if code == 0 or code > 13 or (code > 7 and proto != 0xC021):
            return _WS_CCP_RESETS.get(code, "Unknown") if proto == 0x80FD else "Unknown"
        return _WS_CODES[code]
    words = _WS_CHAP if proto == 0xC223 else _WS_PAP
    word = words.get(code, "Unknown")
    if end - p < 4 or code not in words:
        return word
    stop = min(end, p + max(u16(d, p + 2), 4))
    q = p + 4
    if proto == 0xC223 and code in (1, 2):
        if q >= stop or q + 1 + d[q] > stop:
            return word
        value = d[q + 1 : q + 1 + d[q]]
        name = d[q + 1 + d[q] : stop]
        more = "..." if len(name) > _WS_CHAP_NAME else ""
        shown = ws_text(name[:_WS_CHAP_NAME])
        return f"{word} (NAME='{shown}{more}', VALUE=0x{hex_value(value)})"
    if proto == 0xC223:
        return f"{word} (MESSAGE='{ws_text(d[q:stop])}')"
    fields: list[str] = []
    for label in ("Peer-ID", "Password") if code == 1 else ("Message",):
        if q >= stop or q + 1 + d[q] > stop:
            return word
        fields.append(f"{label}='{ws_text(d[q + 1 : q + 1 + d[q]])}'")
        q += 1 + d[q]
    return f"{word} ({', '.join(fields)})"


def handle(d: bytes, p: int, end: int, length: int, proto: int, a: Acc) -> str:
    """What a PPP protocol field announces (tcpdump's ``handle_ppp``)."""
    out: list[str] = []
    if (proto in _CONTROL or proto in (0xC223, 0xC023)) and not a.lean:
        a.info = _ws_info(d, p, min(end, p + length), proto) or a.info
    if proto in _CONTROL:
        _ctrl(d, p, end, length, proto, out, a.verbose)
        return "".join(out)
    if proto == 0xC223:
        _chap(d, p, end, length, out)
        return "".join(out)
    if proto == 0xC023:
        _pap(d, p, end, length, out)
        return "".join(out)
    lim = d if p + length >= len(d) else d[: p + length]
    if proto in (0x0021, 0x002F):
        return ethertype_text(lim, p, 0x0800, a) or ""
    if proto == 0x0057:
        return ethertype_text(lim, p, 0x86DD, a) or ""
    if proto in (0x0281, 0x0283):
        return ethertype_text(lim, p, 0x8847, a) or ""
    if proto == 0x00FD:
        return "compressed PPP data"
    name = _PROTOS.get(proto, f"unknown PPP protocol (0x{proto:04x})")
    return f"{name} " + hexdump(d[p : min(end, p + length)], "\n\t")


def ppp(d: bytes, p: int, end: int, length: int, a: Acc) -> str:
    """A PPP frame from its address field, if any (tcpdump's ``ppp_print``); ``length``:
    ``end - p``.  Where its header (address and control, the protocol field) ends is the
    walk's (:func:`_ppp_walk`): the text reads the protocol's value before it."""
    try:
        h = _ppp_head(d, p, end, a)
        if h < 0:  # the walk read no protocol field: cut short
            raise Trunc
        q = p + 2 if u16(d, p) in (0xFF03, 0x0003, 0x0103) else p
        proto = d[q] if h - q == 1 else u16(d, q)
        length -= h - p
        p = h
        a.info = _PROTOS.get(proto, f"PPP protocol 0x{proto:04x}")
        return handle(d, p, end, length, proto, a)
    except Trunc:
        a.bad = True
        return " [|ppp]"


def _ppp_head(d: bytes, p: int, end: int, a: Acc) -> int:
    """Where the PPP header at ``p`` ends, as the frame's walk read it; a PPP frame the walk
    did not reach is walked from ``p`` (:meth:`~tapwatch.decode.core.Acc.adopt`); -1: cut
    short (the walk read no protocol field)."""
    w = a.w
    h = w.header_end(p, "PPP")
    if h >= 0 or w.has(p, "PPP"):
        return h
    sub = fresh(p, w)
    try:  # noqa: SIM105 (compiled, a try costs nothing; contextlib.suppress is a call)
        _ppp_walk(d, p, end, sub)
    except Exception:  # hostile bytes: what was walked before stands (as the frame's walk)
        pass
    return a.adopt(sub).header_end(p, "PPP")


def _ppp_walk(d: bytes, p: int, end: int, out: Walk) -> None:
    """PPP's walk from ``p`` (its bytes end at ``end``): its header ends after the address and
    control bytes, if any, and a protocol field of one byte (compressed: an odd first byte)
    or two; no end recorded: cut short before the protocol field."""
    out.add("PPP", p)
    if end - p >= 2 and u16(d, p) in (0xFF03, 0x0003, 0x0103):
        p += 2
    if end - p < 2:
        return
    if d[p] % 2:
        proto = d[p]
        p += 1
    else:
        proto = u16(d, p)
        p += 2
    out.head(p)
    lim = d if end >= len(d) else d[:end]
    if proto in (0x0021, 0x002F):
        ethertype_walk(lim, p, 0x0800, out)
    elif proto == 0x0057:
        ethertype_walk(lim, p, 0x86DD, out)
    elif proto in (0x0281, 0x0283):
        ethertype_walk(lim, p, 0x8847, out)
    elif proto in _CONTROL or proto in (0xC223, 0xC023):
        out.append(_PROTOS[proto])


class _Ppp(EtherHandler):
    """A PPP frame where an ethertype says PPP (GRE's 0x880b; L2TP and PPPoE hand theirs here)."""

    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return ppp(d, off, len(d), len(d) - off, a)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        _ppp_walk(d, off, len(d), out)


# --------------------------------------------------------------------------- PPPoE


def pppoe(d: bytes, p: int, a: Acc) -> str:
    """A PPPoE header and its payload (discovery tags, or a session's PPP frame).  Where the
    header ends and where its length field ends the payload are the walk's
    (:func:`_pppoe_walk`)."""
    w = a.w
    h = w.header_end(p, "PPPoE")
    if h < 0:  # a PPPoE header the walk did not reach
        w = walked_from(d, p, a, _PPPOE)
        h = w.header_end(p, "PPPoE")
    e = w.layer_end(p, "PPPoE")
    length = len(d) - p
    if h < 0 or e < 0 or len(d) < h:
        a.bad = True
        return f" (length {length} < 6) (invalid)"
    length = len(d) - h
    ver, typ, code = d[p] >> 4, d[p] & 0xF, d[p + 1]
    sid, plen = u16(d, p + 2), e - h
    out = ""
    if ver != 1:
        out += f" [ver {ver}]"
    if typ != 1:
        out += f" [type {typ}]"
    name = _PPPOE_CODES.get(code, f"PAD-{code:x}")
    out += f"PPPoE {name}"
    a.info = _WS_PPPOE_CODES.get(code, "Unknown")
    if code == 0x09 and plen > 1484 - 6:
        out += f" [len {plen}!]"
    if plen > length:
        out += f" [len {plen} > {length}!]"
        plen = length
    if sid:
        out += f" [ses 0x{sid:x}]"
    q = h
    if code:
        t = 0xFFFF
        stop = q + plen
        # each tag's words joined once: a string grown at each tag is copied each time (a
        # 64 KB packet has 16,000 tags: 150-200 ms), compiled or not
        said: list[str] = [out]
        try:
            while t and q < stop:
                need(q, 4, len(d))
                t, tl = u16(d, q), u16(d, q + 2)
                q += 4
                tag = _PPPOE_TAGS.get(t, f"TAG-0x{t:x}")
                # every AC-Name, as tshark, within its Info column's 4096 characters (it
                # had all of 16,000, 192 KB, the Info copied at each)
                if t == 0x0102 and q + tl <= len(d) and not a.lean and len(a.info) < _WS_INFO_MAX:
                    ac = d[q : q + min(tl, _WS_AC_NAME_MAX)].decode("ascii", "replace")
                    a.info += f" AC-Name='{ac}'"
                if tl:
                    need(q, tl, len(d))
                    v = d[q : q + tl]
                    shown = "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in v[:79])
                    printable = sum(1 for c in v[:79] if 0x20 <= c < 0x7F)
                    if printable > len(shown) - printable:
                        said.append(f' [{tag} "{shown}"]')
                    else:
                        said.append(f" [{tag} 0x{v.hex().upper()}]")
                else:
                    said.append(f" [{tag}]")
                q += tl
        except Trunc:
            a.bad = True
            said.append(" [|pppoe]")
        return "".join(said)
    lim = d if q + plen >= len(d) else d[: q + plen]
    return out + " " + ppp(lim, q, len(lim), plen, a)


class _PppoeEther(EtherHandler):
    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        return pppoe(d, off, a)

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        _pppoe_walk(d, off, out)


def _pppoe_walk(d: bytes, off: int, out: Walk) -> None:
    """PPPoE's walk: a 6-byte header, and the end its length field gives the payload (past the
    captured bytes if it says so): what :func:`pppoe`'s text reads of them."""
    out.add("PPPoE", off, off + 6)
    if len(d) - off >= 6:
        end = off + 6 + u16(d, off + 4)
        out.extent(end)
        if d[off + 1] == 0:
            _ppp_walk(d, off + 6, min(len(d), end), out)


_PPPOE: Final = _PppoeEther("PPPoE")


# --------------------------------------------------------------------------- link types


class _PppLink(LinkHandler):
    """LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50): a PPP frame, address and control first."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        if len(d) < 4:
            a.bad = True
            return "", "[|ppp]"
        if self.name == "PPP_HDLC" and d[0] == 0xFF:
            proto = u16(d, 2)
            name = _PROTOS.get(proto, f"unknown PPP protocol (0x{proto:04x})")
            return "", f"{name}: " + handle(d, 4, len(d), len(d) - 4, proto, a)
        if self.name == "PPP_HDLC":
            return "", f"unknown addr {d[2]:02x}; ctrl {d[3]:02x}"
        return "", ppp(d, 0, len(d), len(d), a)

    def walk(self, d: bytes, out: Walk) -> None:
        _ppp_walk(d, 0, len(d), out)


class _PppoeLink(LinkHandler):
    """LINKTYPE_PPP_ETHER (51): a PPPoE header and what it carries, no Ethernet header."""

    def text(self, d: bytes, a: Acc) -> tuple[str, str]:
        return "", pppoe(d, 0, a)

    def walk(self, d: bytes, out: Walk) -> None:
        _pppoe_walk(d, 0, out)


bind(ETHERTYPES, (ETHERTYPE_PPP,), _Ppp("PPP"))
bind(ETHERTYPES, (0x8863, 0x8864, 0x3C12, 0x3C13), _PppoeEther("PPPoE"))
bind(LINKTYPES, (9,), _PppLink("PPP"))
bind(LINKTYPES, (50,), _PppLink("PPP_HDLC"))
bind(LINKTYPES, (51,), _PppoeLink("PPPoE"))
