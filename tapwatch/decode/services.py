"""Network services tcpdump names by their ports: SNMP, RIP, TFTP, RADIUS, DHCPv6 and
telnet's option negotiation, each as tcpdump 4.99 prints it without ``-v``.

These are the lines of management and VPN-control traffic: what a router, an
authentication server or an IKE daemon says on the wire.  Values quoted from the
packet (an SNMP community or string, a TFTP file name) are escaped here, as
tcpdump escapes them.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import TCP_PORTS, UDP_PORTS, Acc, PortHandler, Walk, bind, ip4, ntop6
from tapwatch.decode.names import WS_DHCP6_TYPES
from tapwatch.decode.verbose import hexdump

# --------------------------------------------------------------------------- SNMP

_SNMP_PDUS: Final = (
    "GetRequest",
    "GetNextRequest",
    "GetResponse",
    "SetRequest",
    "Trap",
    "GetBulk",
    "Inform",
    "V2Trap",
    "Report",
)
_SNMP_ERRORS: Final = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)
_SNMP_EXCEPTIONS: Final = ("noSuchObject", "noSuchInstance", "endOfMibView")


class _Short(Exception):
    """The BER element runs past the data (``args[0]``: tcpdump's words for it)."""


def _ber(d: bytes, p: int, end: int) -> tuple[int, int, int]:
    """``(tag, start of contents, end of contents)`` of the BER element at ``p``."""
    if p + 2 > end:
        raise _Short("[|snmp]")
    tag = d[p]
    ln = d[p + 1]
    p += 2
    if ln & 0x80:
        n = ln & 0x7F
        if n == 0 or n > 4 or p + n > end:
            raise _Short("[|snmp]")
        ln = int.from_bytes(d[p : p + n], "big")
        p += n
    if p + ln > end:
        raise _Short(f"[len{end - p}<asnlen{ln}]")
    return tag, p, p + ln


def _ber_int(d: bytes, p: int, e: int) -> int:
    """An INTEGER as tcpdump reads it into an ``int32_t``: its last four bytes, signed (a
    long one from a packet is no number of thousands of digits, which ``str`` refuses)."""
    return int.from_bytes(d[max(p, e - 4) : e], "big", signed=True) if e > p else 0


def _ber_uns(d: bytes, p: int, e: int, size: int = 4) -> int:
    """An unsigned value (Counter, Gauge, TimeTicks; Counter64 with ``size`` 8) as tcpdump
    keeps it: its last ``size`` bytes."""
    return int.from_bytes(d[max(p, e - size) : e], "big")


def _oid(d: bytes, p: int, e: int) -> str:
    """``.1.3.6.1...`` (tcpdump -nn's numeric form)."""
    out = []
    v = 0
    first = True
    for c in d[p:e]:
        # in 32 bits, as tcpdump's ``int``: a subidentifier of thousands of bytes from a
        # packet would be a number too long to print, built in quadratic time
        v = (v << 7 | c & 0x7F) & 0xFFFFFFFF
        if c & 0x80:
            continue
        if first:
            signed = v - (1 << 32) if v >> 31 else v
            s = min(signed // 40 if signed >= 0 else -(-signed // 40), 2)  # C's division
            out.append(str(s))
            v = (signed - s * 40) & 0xFFFFFFFF
            first = False
        out.append(str(v))
        v = 0
    return "." + ".".join(out) if out else ""


def _snmp_value(d: bytes, tag: int, p: int, e: int) -> str:
    """tcpdump's ``asn1_print`` of a varbind value."""
    if tag == 0x02:
        return str(_ber_int(d, p, e))
    if tag == 0x04:
        b = d[p:e]
        if all(0x20 <= c < 0x7F for c in b):
            return '"' + b.decode("ascii") + '"'
        return "_".join(f"{c:02x}" for c in b)
    if tag == 0x05:
        return ""
    if tag == 0x06:
        return _oid(d, p, e)
    if tag == 0x40:
        return ".".join(str(c) for c in d[p:e])
    if tag in (0x41, 0x42, 0x43, 0x46, 0x47):
        return str(_ber_uns(d, p, e, 8 if tag == 0x46 else 4))
    if 0x80 <= tag <= 0x82:
        return f"[{_SNMP_EXCEPTIONS[tag - 0x80]}]"
    if tag == 0x30:
        return f"Seq({e - p})"
    return "_".join(f"{c:02x}" for c in d[p:e])


def snmp(d: bytes, off: int, end: int, verbose: int = 0) -> str:
    """`` C="private" GetRequest(28)  .1.3.6.1.2.1.1.1.0`` (the community only when not public;
    ``verbose``: tcpdump -v's braces, version and request id)."""
    try:
        tag, p, e = _ber(d, off, end)
        if tag != 0x30:
            return " [!init SEQ]"
        tag, vp, ve = _ber(d, p, e)
        version = _ber_int(d, vp, ve)
        if tag != 0x02 or version not in (0, 1):
            return f" [version = {version}]" if tag == 0x02 else " [version!=INT]"
        tag, cp, ce = _ber(d, ve, e)
        community = d[cp:ce]
        out = " " + ("{ SNMPv1 " if version == 0 else "{ SNMPv2c ") if verbose else " "
        if community != b"public":
            text = "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in community)
            out += f'C="{text}" '
        tag, pp, pe = _ber(d, ce, e)
        kind = tag - 0xA0
        if not 0 <= kind < len(_SNMP_PDUS):
            return out + f"[P/C/{tag:#x}]"
        out += ("{ " if verbose else "") + f"{_SNMP_PDUS[kind]}({pe - pp}) "
        close = " } } " if verbose else ""
        if version == 0 and kind in (5, 6, 7, 8):
            return out + "[v2 PDU in v1 message]"
        if version == 1 and kind == 4:
            return out + "[v1 PDU in v2 message]"
        if kind == 4:
            return out + _trap(d, pp, pe) + close
        # request id, error status, error index, then the varbinds
        _t, rp, ie = _ber(d, pp, pe)
        if verbose:
            out += f"R={_ber_int(d, rp, ie)} "
        _t, sp, se = _ber(d, ie, pe)
        status = _ber_int(d, sp, se)
        _t, xp, xe = _ber(d, se, pe)
        index = _ber_int(d, xp, xe)
        request = kind in (0, 1, 3, 6, 7, 8)
        if request and status:
            out += f"[errorStatus({_error(status)})!=0]"
        elif kind == 5:
            out += f" N={status}"
        elif status:
            out += f" {_error(status)}"
        if request and index:
            out += f"[errorIndex({index})!=0]"
        elif kind == 5:
            out += f" M={index}"
        elif index:
            out += f"@{index}" if status else f"[errorIndex({index}) w/o errorStatus]"
        elif status:
            out += "[errorIndex==0]"
        return out + _varbinds(d, xe, pe, kind) + close
    except _Short as exc:
        return " " + str(exc.args[0])


#: Wireshark's names of the SNMP PDUs (the Info column's), by context tag
_WS_SNMP_PDUS: Final = (
    "get-request",
    "get-next-request",
    "get-response",
    "set-request",
    "trap",
    "getBulkRequest",
    "informRequest",
    "snmpV2-trap",
    "report",
)


#: Wireshark's names of an OID's first arc (without MIBs it names no other)
_WS_OID_ROOTS: Final = ("itu-t", "iso", "joint-iso-itu-t")


def snmp_info(d: bytes, off: int, end: int) -> str | None:
    """Wireshark's Info for an SNMP v1/v2c message: the PDU's name and each varbind's OID;
    a v1 trap's enterprise first; empty for what it does not read (v3), None for a message
    cut short (which tshark does not take for SNMP)."""
    try:
        tag, p, e = _ber(d, off, end)
        if tag != 0x30:
            return ""
        tag, vp, ve = _ber(d, p, e)
        if tag != 0x02 or _ber_int(d, vp, ve) not in (0, 1):
            return ""
        _t, _cp, ce = _ber(d, ve, e)
        tag, pp, pe = _ber(d, ce, e)
        kind = tag - 0xA0
        if not 0 <= kind < len(_WS_SNMP_PDUS):
            return ""
        q = pp
        head: list[str] = [_WS_SNMP_PDUS[kind]]
        if kind == 4:  # a v1 trap: its enterprise, named by its first arc as tshark does
            tag, op, oe = _ber(d, q, pe)
            if tag != 0x06:
                return ""
            oid = _oid(d, op, oe)[1:].split(".", 1)
            first = _WS_OID_ROOTS[int(oid[0])] if oid[0] else ""
            head.append(".".join([first, *oid[1:]]))
            q = oe
        # a request's id, error status and index; a trap's agent address, generic and
        # specific trap and time stamp
        for _ in range(4 if kind == 4 else 3):
            q = _ber(d, q, pe)[2]
        tag, q, ve = _ber(d, q, pe)
        if tag != 0x30:
            return ""
        oids: list[str] = []
        while q < ve and len(oids) < 64:
            tag, vp, vbe = _ber(d, q, ve)
            tag, op, oe = _ber(d, vp, vbe)
            if tag != 0x06:
                return ""
            oids.append(_oid(d, op, oe)[1:])
            q = vbe
        return " ".join([*head, *oids])
    except _Short:
        return None


def _error(status: int) -> str:
    return _SNMP_ERRORS[status] if 0 <= status < len(_SNMP_ERRORS) else f"err={status}"


def _varbinds(d: bytes, p: int, end: int, kind: int) -> str:
    tag, p, e = _ber(d, p, end)
    if tag != 0x30:
        return "[!SEQ of varbind]"
    out = ""
    get = kind in (0, 1, 5)
    while p < e:
        out += " "
        tag, vp, ve = _ber(d, p, e)
        if tag != 0x30:
            return out + "[!varbind]"
        tag, op, oe = _ber(d, vp, ve)
        if tag != 0x06:
            return out + "[objName!=OID]"
        out += _oid(d, op, oe)
        if not get:
            out += "="
        tag, xp, xe = _ber(d, oe, ve)
        if get:
            if tag != 0x05:
                out += "[objVal!=NULL]" + _snmp_value(d, tag, xp, xe)
        else:
            out += _snmp_value(d, tag, xp, xe)
        p = ve
    return out


def _trap(d: bytes, p: int, end: int) -> str:
    """A v1 trap: enterprise, agent, generic and specific trap, time stamp, varbinds."""
    generic = (
        "coldStart",
        "warmStart",
        "linkDown",
        "linkUp",
        "authenticationFailure",
        "egpNeighborLoss",
        "enterpriseSpecific",
    )
    _t, ep, ee = _ber(d, p, end)
    out = " " + _oid(d, ep, ee)
    _t, ap, ae = _ber(d, ee, end)
    out += " " + ".".join(str(c) for c in d[ap:ae])
    _t, gp, ge = _ber(d, ae, end)
    g = _ber_int(d, gp, ge)
    out += " " + (generic[g] if 0 <= g < len(generic) else str(g))
    _t, sp, se = _ber(d, ge, end)
    if g == 6:
        out += f" s={_ber_int(d, sp, se)}"
    _t, tp, te = _ber(d, se, end)
    out += f" {_ber_uns(d, tp, te)}"
    return out + _varbinds(d, te, end, 4)


class _Snmp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if not a.lean:
            info = snmp_info(d, off, end)
            if info is None:  # not SNMP to Wireshark: UDP's words
                a.info = f"{sport} → {dport} Len={length}"
            elif info:
                a.info = info
        return snmp(d, off, end, a.verbose)

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("SNMP")


# --------------------------------------------------------------------------- RIP

_RIP_CMDS: Final = {
    1: "Request",
    2: "Response",
    3: "Trace on",
    4: "Trace off",
    5: "Poll",
    6: "Poll Entry",
}


#: Wireshark's names of the RIP commands (the Info column's)
_WS_RIP_CMDS: Final = {
    1: "Request",
    2: "Response",
    3: "Traceon",
    4: "Traceoff",
    5: "Vendor specific (Sun)",
}


class _Rip(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if end - off < 4:
            return " [|rip]"
        cmd = _RIP_CMDS.get(d[off], f"unknown command ({d[off]})")
        vers = d[off + 1]
        a.info = _WS_RIP_CMDS.get(d[off], f"Unknown command ({d[off]})")
        if not a.verbose:
            return f"RIPv{vers}, {cmd}, length: {length}"
        out = f"\n\tRIPv{vers}, {cmd}, length: {length}"
        if vers != 2 or d[off] not in (1, 2):
            return out
        out += f", routes: {(length - 4) // 20} or less"
        p = off + 4
        while p + 20 <= end:
            fam = d[p] << 8 | d[p + 1]
            if fam == 0xFFFF:
                out += "\n\t  Auth"
                p += 20
                continue
            plen = bin(int.from_bytes(d[p + 8 : p + 12], "big")).count("1")
            hop = d[p + 12 : p + 16]
            out += (
                f"\n\t  AFI {'IPv4' if fam == 2 else str(fam)}, "
                f"{ip4(d[p + 4 : p + 8]):>15}/{plen:<2d}, tag 0x{d[p + 2] << 8 | d[p + 3]:04x}, "
                f"metric: {int.from_bytes(d[p + 16 : p + 20], 'big')}, next-hop: "
                + (ip4(hop) if any(hop) else "self")
            )
            p += 20
        if a.verbose > 1:
            out += hexdump(d[off : min(end, off + length)], "\n\t")
        return out

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("RIP")


# --------------------------------------------------------------------------- TFTP

_TFTP_OPS: Final = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}
_TFTP_ERRORS: Final = {
    0: "EUNDEF",
    1: "ENOTFOUND",
    2: "EACCESS",
    3: "ENOSPACE",
    4: "EBADOP",
    5: "EBADID",
    6: "EEXISTS",
    7: "ENOUSER",
    8: "EOPTNEG",
}


def _zstring(d: bytes, p: int, end: int) -> tuple[str, int, bool]:
    """A NUL-terminated string (escaped), the offset after it, and whether it was complete."""
    z = d.find(b"\0", p, end)
    stop = end if z < 0 else z
    text = "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in d[p:stop])
    return text, (stop + 1 if z >= 0 else end), z >= 0


#: Wireshark's names of the TFTP error codes (the Info column's)
_WS_TFTP_ERRORS: Final = {
    0: "Not defined",
    1: "File not found",
    2: "Access violation",
    3: "Disk full or allocation exceeded",
    4: "Illegal TFTP Operation",
    5: "Unknown transfer ID",
    6: "File already exists",
    7: "No such user",
    8: "Option negotiation failed",
}


def _tftp_info(d: bytes, off: int, end: int, op: int) -> str:
    """Wireshark's Info for a TFTP packet of opcode ``op`` (its block size taken as the
    default 512: a shorter data block is the last)."""
    p = off + 2
    if op in (1, 2):
        name, p, _ok = _zstring(d, p, end)
        mode, p, _ok = _zstring(d, p, end)
        what = "Read Request" if op == 1 else "Write Request"
        return f"{what}, File: {name}, Transfer type: {mode}"
    if op in (3, 4) and end - p >= 2:
        block = d[p] << 8 | d[p + 1]
        if op == 4:
            return f"Acknowledgement, Block: {block}"
        return f"Data Packet, Block: {block}" + (" (last)" if end - p - 2 < 512 else "")
    if op == 5 and end - p >= 2:
        code = d[p] << 8 | d[p + 1]
        msg, _p, _ok = _zstring(d, p + 2, end)
        return f"Error Code, Code: {_WS_TFTP_ERRORS.get(code, f'Unknown ({code})')}, Message: {msg}"
    if op == 6:
        return "Option Acknowledgement"
    return f"Unknown (0x{op:04x})"


class _Tftp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        out = f"TFTP, length {length}"
        if end - off < 2:
            return out + " [|tftp]"
        op = d[off] << 8 | d[off + 1]
        if not a.lean:
            a.info = _tftp_info(d, off, end, op)
        out += ", " + _TFTP_OPS.get(op, f"tftp-#{op}")
        p = off + 2
        if op in (1, 2, 6):
            if op != 6:
                name, p, ok = _zstring(d, p, end)
                out += f' "{name}"'
                if not ok:
                    return out + " [|tftp]"
            while p < end:
                word, p, ok = _zstring(d, p, end)
                out += " " + word
                if not ok:
                    return out + " [|tftp]"
            return out
        if op in (3, 4):
            if end - p < 2:
                return out + " [|tftp]"
            return out + f" block {d[p] << 8 | d[p + 1]}"
        if op == 5:
            if end - p < 2:
                return out + " [|tftp]"
            code = d[p] << 8 | d[p + 1]
            msg, _p, ok = _zstring(d, p + 2, end)
            out += " " + _TFTP_ERRORS.get(code, f'tftp-err-#{code} "') + f' "{msg}"'
            return out if ok else out + " [|tftp]"
        return out

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("TFTP")


# --------------------------------------------------------------------------- RADIUS

_RADIUS_CODES: Final = {
    1: "Access-Request",
    2: "Access-Accept",
    3: "Access-Reject",
    4: "Accounting-Request",
    5: "Accounting-Response",
    6: "Accounting-Status",
    7: "Password-Request",
    8: "Password-Accept",
    9: "Password-Reject",
    10: "Accounting-Message",
    11: "Access-Challenge",
    12: "Status-Server",
    13: "Status-Client",
    21: "Resource-Free-Request",
    22: "Resource-Free-Response",
    23: "Resource-Query-Request",
    24: "Resource-Query-Response",
    25: "Alternate-Resource-Reclaim-Request",
    26: "NAS-Reboot-Request",
    27: "NAS-Reboot-Response",
    29: "Next-Passcode",
    30: "New-Pin",
    31: "Terminate-Session",
    32: "Password-Expired",
    33: "Event-Request",
    34: "Event-Response",
    40: "Disconnect-Request",
    41: "Disconnect-ACK",
    42: "Disconnect-NAK",
    43: "CoA-Request",
    44: "CoA-ACK",
    45: "CoA-NAK",
    50: "IP-Address-Allocate",
    51: "IP-Address-Release",
}


#: RADIUS attributes tcpdump -v prints as text (s), an address (a) or a number (i).
_RADIUS_ATTRS: Final = {
    1: ("s", "User-Name"),
    4: ("a", "NAS-IP-Address"),
    5: ("i", "NAS-Port"),
    8: ("a", "Framed-IP-Address"),
    11: ("s", "Filter-ID"),
    18: ("s", "Reply-Message"),
    30: ("s", "Called-Station-ID"),
    31: ("s", "Calling-Station-ID"),
    32: ("s", "NAS-ID"),
}


class _Radius(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if end - off < 20:
            return "RADIUS [|radius]"
        code = d[off]
        name = _RADIUS_CODES.get(code, "Unknown Command")
        a.info = f"{name} id={d[off + 1]}"  # Wireshark's words
        if not a.verbose:
            return f"RADIUS, {name} ({code}), id: 0x{d[off + 1]:02x} length: {length}"
        out = (
            f"RADIUS, length: {length}\n\t{name} ({code}), id: 0x{d[off + 1]:02x}, "
            f"Authenticator: {d[off + 4 : off + 20].hex()}"
        )
        p = off + 20
        stop = min(end, off + (d[off + 2] << 8 | d[off + 3]))
        while p + 2 <= stop:
            t = d[p]
            ln = d[p + 1]
            if ln < 2 or p + ln > stop:
                return out + " [|radius]"
            spec = _RADIUS_ATTRS.get(t)
            body = d[p + 2 : p + ln]
            if spec is None:
                out += f"\n\t  Unknown Attribute ({t}), length: {ln}, Value: " + "".join(
                    f"0x{c:02x}" for c in body
                )
            else:
                kind, aname = spec
                if kind == "s":
                    value = "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in body)
                elif kind == "a" and len(body) == 4:
                    value = ip4(body)
                else:
                    value = str(int.from_bytes(body, "big"))
                out += f"\n\t  {aname} Attribute ({t}), length: {ln}, Value: {value}"
            if a.verbose > 1:
                out += hexdump(body, "\n\t    ")
            p += ln
        return out

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("RADIUS")


# --------------------------------------------------------------------------- DHCPv6

_DHCP6_TYPES: Final = {
    1: "solicit",
    2: "advertise",
    3: "request",
    4: "confirm",
    5: "renew",
    6: "rebind",
    7: "reply",
    8: "release",
    9: "decline",
    10: "reconfigure",
    11: "inf-req",
    12: "relay-fwd",
    13: "relay-reply",
    14: "leasequery",
    15: "leasequery-reply",
    16: "leasequery-done",
    17: "leasequery-data",
    18: "reconfigure-request",
    19: "reconfigure-reply",
    20: "dhcpv4-query",
    21: "dhcpv4-response",
}


_DHCP6_OPTS: Final = {
    1: "client-ID",
    2: "server-ID",
    3: "IA_NA",
    4: "IA_TA",
    5: "IA_ADDR",
    6: "option-request",
    7: "preference",
    8: "elapsed-time",
    9: "relay-message",
    11: "authentication",
    12: "server-unicast",
    13: "status-code",
    14: "rapid-commit",
    15: "user-class",
    16: "vendor-class",
    17: "vendor-specific-info",
    18: "interface-ID",
    19: "reconfigure-message",
    20: "reconfigure-accept",
    21: "SIP-servers-domain",
    22: "SIP-servers-address",
    23: "DNS-server",
    24: "DNS-search-list",
}


def _dhcp6_options(d: bytes, p: int, end: int) -> str:
    """tcpdump -v's `` (name value)`` per DHCPv6 option (the common ones with their value)."""
    out = ""
    while p + 4 <= end:
        code = d[p] << 8 | d[p + 1]
        ln = d[p + 2] << 8 | d[p + 3]
        body = d[p + 4 : p + 4 + ln]
        if len(body) < ln:
            return out + " [|dhcp6ext]"
        out += f" ({_DHCP6_OPTS.get(code, f'opt_{code}')}"
        if code in (1, 2):
            kind = body[0] << 8 | body[1] if ln >= 2 else -1
            if kind == 1 and ln >= 8:
                out += (
                    f" hwaddr/time type {body[2] << 8 | body[3]} "
                    f"time {int.from_bytes(body[4:8], 'big')} {body[8:].hex()})"
                )
            elif kind == 2 and ln >= 10:
                out += f" vid {body[2:10].hex()})"
            elif kind == 3 and ln >= 4:
                out += f" hwaddr type {body[2] << 8 | body[3]} {body[4:].hex()})"
            elif kind >= 0:
                out += f" type {kind})"
            else:
                out += " ?)"
        elif code == 8:
            out += f" {body[0] << 8 | body[1]})" if ln == 2 else " ?)"
        elif code == 23:
            out += "".join(" " + ntop6(body[i : i + 16]) for i in range(0, ln - 15, 16)) + ")"
        else:
            out += ")"
        p += 4 + ln
    return out


def _dhcp6_info(d: bytes, off: int, end: int, t: int) -> str:
    """Wireshark's Info for a DHCPv6 client/server message: its type, its transaction id
    and the client's DUID when it carries one, with Wireshark's trailing space."""
    xid = int.from_bytes(d[off + 1 : off + 4], "big")
    out = f"{WS_DHCP6_TYPES.get(t, f'Unknown ({t})')} XID: 0x{xid:06x} "
    p = off + 4
    for _ in range(64):
        if p + 4 > end:
            break
        code = d[p] << 8 | d[p + 1]
        ln = d[p + 2] << 8 | d[p + 3]
        if p + 4 + ln > end:
            break
        if code == 1:
            out += f"CID: {d[p + 4 : p + 4 + ln].hex()} "
            break
        p += 4 + ln
    return out


class _Dhcp6(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if end - off < 1:
            return "dhcp6 [|dhcp6]"
        t = d[off]
        out = "dhcp6 " + _DHCP6_TYPES.get(t, f"msgtype-{t}")
        if not a.lean and t not in (12, 13) and end - off >= 4:
            a.info = _dhcp6_info(d, off, end, t)
        if not a.verbose or t in (12, 13) or end - off < 4:
            return out
        xid = int.from_bytes(d[off + 1 : off + 4], "big")
        return f"{out} (xid={xid:x}{_dhcp6_options(d, off + 4, end)})"

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("DHCPv6")


# --------------------------------------------------------------------------- telnet

_TELCMDS: Final = (
    "EOF",
    "SUSP",
    "ABORT",
    "EOR",
    "SE",
    "NOP",
    "DMARK",
    "BRK",
    "IP",
    "AO",
    "AYT",
    "EC",
    "EL",
    "GA",
    "SB",
    "WILL",
    "WONT",
    "DO",
    "DONT",
    "IAC",
)
_TELOPTS: Final = (
    "BINARY",
    "ECHO",
    "RCP",
    "SUPPRESS GO AHEAD",
    "NAME",
    "STATUS",
    "TIMING MARK",
    "RCTE",
    "NAOL",
    "NAOP",
    "NAOCRD",
    "NAOHTS",
    "NAOHTD",
    "NAOFFD",
    "NAOVTS",
    "NAOVTD",
    "NAOLFD",
    "EXTEND ASCII",
    "LOGOUT",
    "BYTE MACRO",
    "DATA ENTRY TERMINAL",
    "SUPDUP",
    "SUPDUP OUTPUT",
    "SEND LOCATION",
    "TERMINAL TYPE",
    "END OF RECORD",
    "TACACS UID",
    "OUTPUT MARKING",
    "TTYLOC",
    "3270 REGIME",
    "X.3 PAD",
    "NAWS",
    "TSPEED",
    "LFLOW",
    "LINEMODE",
    "XDISPLOC",
    "OLD-ENVIRON",
    "AUTHENTICATION",
    "ENCRYPT",
    "NEW-ENVIRON",
)
_TELQUALS: Final = ("IS", "SEND", "INFO")


def _telnet_command(d: bytes, p: int, end: int) -> tuple[str, int]:
    """One IAC command as tcpdump words it, and the offset after it (-1: not a command)."""
    if p + 2 > end or d[p] != 0xFF:
        return "", -1
    c = d[p + 1]
    if c == 0xFF:
        return "IAC IAC", p + 2
    if c < 236:
        return "", -1
    name = _TELCMDS[c - 236]
    if c not in (250, 251, 252, 253, 254):
        return name, p + 2
    if p + 3 > end:
        return "", -1
    x = d[p + 2]
    text = f"{name} {_TELOPTS[x]}" if x < len(_TELOPTS) else f"{name} {_hex(x)}"
    if c != 250:
        return text, p + 3
    q = p + 3
    while q + 1 < end and not (d[q] == 0xFF and d[q + 1] == 0xF0):
        q += 1
    if q + 1 >= end:
        return "", -1
    body = d[p + 3 : q]
    if body:
        text += " " + (_TELQUALS[body[0]] if body[0] < 3 else _hex(body[0]))
        text += "".join(" " + _hex(b) for b in body[1:])
    return text + " SE", q + 2


def _hex(v: int) -> str:
    """C's ``%#x``: ``0x1f``, but plain ``0`` for zero."""
    return f"{v:#x}" if v else "0"


class _Telnet(PortHandler):
    """tcpdump prints telnet's option negotiation (the IAC commands a segment starts with)."""

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if end > off:
            a.info = "Telnet Data ..."  # Wireshark's words, whatever the segment carries
        words = []
        p = off
        while p < end and d[p] == 0xFF:
            word, nxt = _telnet_command(d, p, end)
            if nxt < 0:
                break
            words.append(word)
            p = nxt
        return f" [telnet {', '.join(words)}]" if words else ""

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        out.append("Telnet")


bind(UDP_PORTS, (69,), _Tftp("TFTP"))
bind(UDP_PORTS, (520,), _Rip("RIP"))
bind(UDP_PORTS, (161, 162), _Snmp("SNMP"))
bind(UDP_PORTS, (1645, 1646, 1812, 1813, 3799), _Radius("RADIUS"))
bind(UDP_PORTS, (546, 547), _Dhcp6("DHCPv6"))
bind(TCP_PORTS, (23,), _Telnet("Telnet"))
