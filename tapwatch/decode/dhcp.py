"""BOOTP/DHCP as tcpdump prints it: its first line, and with -v the fields and options."""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import S_I, UDP_PORTS, Acc, PortHandler, Trunc, Walk, bind, ip4, mac
from tapwatch.decode.names import DHCP_TYPES

#: tcpdump's ``tag2str``: each option's format letter (i addresses, l/s/b numbers, $ text,
#: B booleans, p address pairs) and its name.
_TAGS: Final = {
    1: "iSubnet-Mask",
    2: "LTime-Zone",
    3: "iDefault-Gateway",
    4: "iTime-Server",
    5: "iIEN-Name-Server",
    6: "iDomain-Name-Server",
    7: "iLOG",
    8: "iCS",
    9: "iLPR-Server",
    10: "iIM",
    11: "iRL",
    12: "$Hostname",
    13: "sBS",
    14: "$DP",
    15: "$Domain-Name",
    16: "iSS",
    17: "$RP",
    18: "$EP",
    19: "BIPF",
    20: "BSRT",
    21: "pPF",
    22: "sRSZ",
    23: "bTTL",
    24: "lMTU-Timeout",
    25: "sMTU-Table",
    26: "sMTU",
    27: "BLSN",
    28: "iBR",
    29: "BMD",
    30: "BMS",
    31: "BRouter-Discovery",
    32: "iRSA",
    33: "pStatic-Route",
    34: "BUT",
    35: "lAT",
    36: "BIE",
    37: "bTT",
    38: "lKI",
    39: "BKG",
    40: "$YD",
    41: "iYS",
    42: "iNTP",
    43: "bVendor-Option",
    44: "iNetbios-Name-Server",
    45: "iWDD",
    46: "bNetbios-Node",
    47: "$Netbios-Scope",
    48: "iXFS",
    49: "iXDM",
    50: "iRequested-IP",
    51: "lLease-Time",
    52: "bOO",
    53: " DHCP-Message",
    54: "iServer-ID",
    55: "bParameter-Request",
    56: "$MSG",
    57: "sMSZ",
    58: "lRN",
    59: "lRB",
    60: "$Vendor-Class",
    61: "xClient-ID",
    64: "$NIS-Domain",
    65: "iNIS-Server",
    66: "$TFTP",
    67: "$BF",
    68: "iMH",
    69: "iSMTP",
    70: "iPOP3",
    71: "iNNTP",
    72: "iWWW",
    73: "iFG",
    74: "iIRC",
    75: "iSTS",
    76: "iSTDA",
    81: "$FQDN",
    119: "$Domain-Search",
    121: "$Classless-Static-Route",
}
_DHCP_MSG: Final = {
    1: "Discover",
    2: "Offer",
    3: "Request",
    4: "Decline",
    5: "ACK",
    6: "NACK",
    7: "Release",
    8: "Inform",
}


def _dhcp(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """BOOTP/DHCP: tcpdump's first line plus the DHCP message type.

    Read field by field as tcpdump reads them, so a capture cut short (a snapshot
    length) prints what it holds and then ``[|bootp]``.
    """
    n = end - off
    if n < 1:
        a.bad = True
        a.info = "DHCP [|bootp]"
        return " [|bootp]"
    op = d[off]
    opname = {1: "Request", 2: "Reply"}.get(op, f"unknown (0x{op:02x})")
    text = f"BOOTP/DHCP, {opname}"
    a.info = f"BOOTP {opname} [|bootp]"
    if n < 3:
        a.bad = True
        return text + " [|bootp]"
    htype, hlen = d[off + 1], d[off + 2]
    if htype == 1 and hlen == 6 and op == 1:
        if n < 34:
            a.bad = True
            return text + " [|bootp]"
        text += f" from {d[off + 28 : off + 34].hex(':')}"
    text += f", length {length}"
    mtype = None
    p = off + 240
    if n >= 240 and d[off + 236 : off + 240] == b"\x63\x82\x53\x63":
        while p < end:
            code = d[p]
            if code == 255:
                break
            if code == 0:
                p += 1
                continue
            if p + 2 > end or p + 2 + d[p + 1] > end:
                break
            if code == 53 and d[p + 1] >= 1 and mtype is None:
                mtype = d[p + 2]
            p += 2 + d[p + 1]
    if n >= 8:
        xid = S_I.unpack_from(d, off + 4)[0]
        if mtype is not None:
            tname = DHCP_TYPES.get(mtype, f"Unknown ({mtype})")
            a.info = f"DHCP {tname:<8} - Transaction ID 0x{xid:x}"  # Wireshark's words
        else:
            a.info = f"Boot {opname} - Transaction ID 0x{xid:08x}"
    if a.verbose:
        try:
            return text + _verbose(d, off, end, htype, hlen, a.verbose)
        except Trunc:
            a.bad = True
            return text + _verbose_partial(d, off, end, htype, hlen, a.verbose) + " [|bootp]"
    return text


def _verbose_partial(d: bytes, off: int, end: int, htype: int, hlen: int, verbose: int) -> str:
    """What -v prints of a message the capture cut short: the fields before the cut."""
    return _verbose(d, off, end, htype, hlen, verbose, partial=True)


def _verbose(
    d: bytes, off: int, end: int, htype: int, hlen: int, verbose: int, partial: bool = False
) -> str:
    """tcpdump -v's fields (those not zero) and its list of the vendor options.

    Each field is read only once the capture is known to hold it (``Trunc`` otherwise);
    ``partial``: return what was printed before the first field the capture lacks.
    """
    out = ""

    def have(p: int, size: int) -> bool:
        if off + p + size <= end:
            return True
        if partial:
            return False
        raise Trunc

    if htype != 1:
        out += f", htype {htype}"
    if htype != 1 or hlen != 6:
        out += f", hlen {hlen}"
    if not have(3, 1):
        return out
    if d[off + 3]:
        out += f", hops {d[off + 3]}"
    if not have(4, 4):
        return out
    xid = S_I.unpack_from(d, off + 4)[0]
    if xid:
        out += f", xid 0x{xid:x}"
    if not have(8, 2):
        return out
    secs = d[off + 8] << 8 | d[off + 9]
    if secs:
        out += f", secs {secs}"
    if not have(10, 2):
        return out
    out += ", Flags [" + ("Broadcast" if d[off + 10] & 0x80 else "none") + "]"
    if verbose > 1:
        out += f" (0x{d[off + 10] << 8 | d[off + 11]:04x})"
    for name, p in (("Client-IP", 12), ("Your-IP", 16), ("Server-IP", 20), ("Gateway-IP", 24)):
        if not have(p, 4):
            return out
        addr = d[off + p : off + p + 4]
        if any(addr):
            out += f"\n\t  {name} {ip4(addr)}"
    if htype == 1 and hlen == 6:
        if not have(28, 6):
            return out
        out += f"\n\t  Client-Ethernet-Address {mac(d[off + 28 : off + 34])}"
    for name, p, size in (("sname", 44, 64), ("file", 108, 128)):
        if not have(p, 1):
            return out
        if d[off + p]:
            if not have(p, size):
                return out
            field = d[off + p : off + p + size].split(b"\0", 1)[0]
            out += f'\n\t  {name} "{_text(field)}"'
    if not have(236, 4):
        return out
    if d[off + 236 : off + 240] == b"\x63\x82\x53\x63":
        out += "\n\t  Vendor-rfc1048 Extensions\n\t    Magic Cookie 0x63825363"
        out += _options(d, off + 240, end)
    return out


def _text(b: bytes) -> str:
    """tcpdump's ``nd_printn``: printable ASCII kept, the rest escaped."""
    return "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in b)


def _options(d: bytes, p: int, end: int) -> str:
    """The options' lines, gathered in a list: ``+=`` on one string copied it at each of
    a hostile packet's 30,000 empty options (3 s for one packet)."""
    out: list[str] = []
    while p < end:
        tag = d[p]
        p += 1
        if tag == 0:
            continue
        if tag == 255:
            break
        if p >= end:
            out.append(" [|bootp]")
            break
        ln = d[p]
        p += 1
        if p + ln > end:
            out.append(" [|bootp]")
            break
        name, text = option(tag, d[p : p + ln])
        sep = "\n\t      " if tag == 55 and ln else ""
        out.append(f"\n\t    {name} ({tag}), length {ln}{': ' if ln else ''}{sep}{text}")
        p += ln
    return "".join(out)


def option(tag: int, body: bytes, joiner: str = "\n\t      ") -> tuple[str, str]:
    """``(name, value)`` of one vendor option as tcpdump -v words it (the protocol tree too).

    ``joiner`` goes between every fourth requested parameter (tcpdump breaks the
    list of Parameter-Request into lines).
    """
    spec = _TAGS.get(tag)
    if spec is None:
        fmt = "b" if len(body) & 1 else "s" if len(body) & 2 else "l"
        name = f"Unknown {tag}"
    else:
        fmt, name = spec[0], spec[1:]
    if tag == 53 and body:
        return name, _DHCP_MSG.get(body[0], f"Unknown ({body[0]})")
    if tag == 55:
        parts = []
        for i, t in enumerate(body):
            inner = _TAGS.get(t)
            if i:
                parts.append(joiner if i % 4 == 0 else ", ")
            parts.append(f"{inner[1:]} ({t})" if inner else f"Unknown {t} ({t})")
        return name, "".join(parts)
    if tag == 61 and body:
        if body[0] == 0:
            return name, f'"{_text(body[1:])}"'
        kind = "ether " if body[0] == 1 else f"hardware-type {body[0]}, "
        return name, kind + body[1:].hex(":")
    return name, _values(fmt, body)


def _values(fmt: str, b: bytes) -> str:
    """An option's value by its format letter, as tcpdump's ``rfc1048_print`` prints it."""
    if fmt == "$":
        return f'"{_text(b)}"'
    if fmt == "i":
        return ",".join(ip4(b[i : i + 4]) for i in range(0, len(b) - 3, 4))
    if fmt == "p":
        return ",".join(
            f"{ip4(b[i : i + 4])}:{ip4(b[i + 4 : i + 8])}" for i in range(0, len(b) - 7, 8)
        )
    if fmt == "l" or fmt == "L":
        return ",".join(
            str(int.from_bytes(b[i : i + 4], "big", signed=fmt == "L"))
            for i in range(0, len(b) - 3, 4)
        )
    if fmt == "s":
        return ",".join(str(b[i] << 8 | b[i + 1]) for i in range(0, len(b) - 1, 2))
    if fmt == "B":
        return ",".join("Y" if v == 1 else "N" if v == 0 else "?" for v in b)
    if fmt == "x":
        return ":".join(f"{v:02x}" for v in b)
    return ".".join(str(v) for v in b)


class _Dhcp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        return _dhcp(d, off, end, length, a)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("DHCP")


bind(UDP_PORTS, (67, 68), _Dhcp("DHCP"))
