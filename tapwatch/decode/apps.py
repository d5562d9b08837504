"""Application protocols tcpdump names on their well-known ports (its non-verbose first line).

Text protocols print their first line the way tcpdump's ``txtproto_print`` does:
only a complete line of printable ASCII is shown, anything else is left out.
"""

from __future__ import annotations

import re
import time
from typing import Final

from tapwatch.decode.core import (
    TCP_HEURISTICS,
    TCP_PORTS,
    UDP_PORTS,
    Acc,
    LayerOnly,
    PortHandler,
    Walk,
    bind,
)
from tapwatch.decode.tcpapps import TLS_ALERTS, TLS_HANDSHAKES, TLS_PORTS, by_port, starts_record
from tapwatch.decode.verbose import hexdump

_HTTP_CMDS: Final = frozenset(
    (
        "GET",
        "PUT",
        "COPY",
        "HEAD",
        "LOCK",
        "MOVE",
        "POLL",
        "POST",
        "BCOPY",
        "BMOVE",
        "MKCOL",
        "TRACE",
        "LABEL",
        "MERGE",
        "DELETE",
        "SEARCH",
        "UNLOCK",
        "REPORT",
        "UPDATE",
        "NOTIFY",
        "BDELETE",
        "CONNECT",
        "OPTIONS",
        "CHECKIN",
        "PROPFIND",
        "CHECKOUT",
        "CCM_POST",
        "SUBSCRIBE",
        "PROPPATCH",
        "BPROPFIND",
        "BPROPPATCH",
        "UNCHECKOUT",
        "MKACTIVITY",
        "MKWORKSPACE",
        "UNSUBSCRIBE",
        "RPC_CONNECT",
        "VERSION-CONTROL",
        "BASELINE-CONTROL",
    )
)
_RTSP_CMDS: Final = frozenset(
    (
        "DESCRIBE",
        "ANNOUNCE",
        "GET_PARAMETER",
        "OPTIONS",
        "PAUSE",
        "PLAY",
        "RECORD",
        "REDIRECT",
        "SETUP",
        "SET_PARAMETER",
        "TEARDOWN",
    )
)


_TOKEN: Final = re.compile(rb"[!-~]*")
_TEXT: Final = re.compile(rb"[\t -~]*")
#: tcpdump's token buffer: a longer run of printable bytes is no command and no code.
_MAX_TOKEN: Final = 127


def _token(d: bytes, p: int, end: int) -> tuple[str, int]:
    """tcpdump's ``fetch_token``: a run of printable non-blank bytes, then the blanks after it.

    ``("", -1)`` when there is no token: nothing printable there, a byte that is
    neither printable nor a blank right after it, or a run too long to be one.
    The scan is bounded by the longest token, whatever the payload holds.
    """
    m = _TOKEN.match(d, p, min(end, p + _MAX_TOKEN + 1))
    if m is None:  # cannot happen: the pattern matches the empty string
        return "", -1
    q = m.end()
    if q == p or q - p > _MAX_TOKEN:
        return "", -1
    if q < end and d[q] not in (0x20, 0x09, 0x0D, 0x0A):
        return "", -1
    tok = d[p:q].decode("ascii")
    while q < end and (d[q] == 0x20 or d[q] == 0x09):
        q += 1
    return tok, q


def _line(d: bytes, p: int, end: int, proto: str, stop: int = -1) -> str:
    """tcpdump's ``print_txt_line`` with the ``": "`` prefix: the first line, or nothing.

    ``stop``: where the segment ends by its headers, when the capture ends before it:
    running into the capture's end is then tcpdump's bare ``[|proto]``, where the
    segment's own end prints the line so far and the marker.
    """
    m = _TEXT.match(d, p, end)
    i = m.end() if m is not None else p
    if i >= end:
        if stop > end:
            return f" [|{proto}]"
        return f": {d[p:end].decode('ascii')} [|{proto}]"
    c = d[i]
    if c == 0x0A or (c == 0x0D and i + 1 < end and d[i + 1] == 0x0A):
        return ": " + d[p:i].decode("ascii")
    return ""


def _is_code(tok: str) -> bool:
    return len(tok) == 3 and tok.isdigit()


def _lines(d: bytes, p: int, end: int, proto: str, cut: bool) -> str:
    """tcpdump -v's text lines, each after ``\\n\\t``, up to the first that is not one.

    ``cut``: the capture ends before the payload does; a line it cuts is not printed.
    """
    out = ""
    while p < end:
        m = _TEXT.match(d, p, end)
        i = m.end() if m is not None else p
        if i >= end:
            if cut:
                return f"{out} [|{proto}]"
            return f"{out}\n\t{d[p:end].decode('ascii')} [|{proto}]"
        c = d[i]
        if c == 0x0A:
            out += "\n\t" + d[p:i].decode("ascii")
            p = i + 1
        elif c == 0x0D and i + 1 < end and d[i + 1] == 0x0A:
            out += "\n\t" + d[p:i].decode("ascii")
            p = i + 2
        else:
            break
    return out


def txtproto(
    d: bytes,
    off: int,
    end: int,
    name: str,
    cmds: frozenset[str] | None,
    code_second: bool,
    verbose: int = 0,
    length: int = 0,
    claimed: int = -1,
) -> str:
    """``: NAME`` plus ``: first line`` when it is a request or a response line
    (``verbose``: ``, length: N`` and every text line, one a line)."""
    show = cmds is None
    if not show and cmds is not None:
        tok, p = _token(d, off, end)
        if p >= 0:
            if tok.upper() in cmds:
                show = True
            elif code_second:
                show = _is_code(_token(d, p, end)[0])
            else:
                show = _is_code(tok)
    if show:
        if verbose:
            cut = length < claimed
            return (
                f": {name}, length: {claimed if cut else length}"
                f"{_lines(d, off, end, name.lower(), cut)}"
            )
        stop = off + (claimed if claimed > length else length)
        return f": {name}{_line(d, off, end, name.lower(), stop)}"
    return f": {name}"


class _Http(LayerOnly):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        text = txtproto(d, off, end, "HTTP", _HTTP_CMDS, True, a.verbose, length, a.claimed)
        if len(text) > 6 and not a.verbose:
            a.info = http_info(d, off, end, text[8:])
        return text


#: what an HTTP head is searched in for its end and its headers (a longer head is told
#: by its first line only)
_HTTP_HEAD_MAX: Final = 8192


def http_info(d: bytes, off: int, end: int, first: str | None = None) -> str:
    """Wireshark's Info for an HTTP message starting at ``off``: its first line and a space,
    then `` (media type)`` when the body is all there, or `` [TCP segment of a reassembled
    PDU]`` when its Content-Length says more follows (Wireshark waits for it).

    ``first``: the first line as the caller already has it (tcpdump's text of it).  Per
    packet on port 80: the head is searched in place, its lines split only when it names a
    content header."""
    lim = min(end, off + _HTTP_HEAD_MAX)
    eol = d.find(b"\n", off, lim)
    if first is None:
        first = d[off : eol if eol >= 0 else lim].rstrip(b"\r").decode("latin-1")
    stop = d.find(b"\r\n\r\n", off, lim) if eol >= 0 else -1
    if stop < 0 or (d.find(b"ontent-", eol, stop) < 0 and d.find(b"ONTENT-", eol, stop) < 0):
        return first + " "
    body = end - stop - 4
    ctype = b""
    length = -1
    for line in d[eol + 1 : stop].split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == b"content-type":
            ctype = value.split(b";", 1)[0].strip()
        elif name == b"content-length" and value.strip().isdigit():
            length = int(value.strip()[:12])
    if length > body:
        return f"{first}  [TCP segment of a reassembled PDU]"
    if ctype and (body > 0 or length > 0):
        return f"{first}  ({ctype.decode('latin-1')})"
    return first + " "


class _Rtsp(LayerOnly):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        line = first_line(d, off, end)
        if line:
            a.info = line if line.split(" ", 1)[0] in _RTSP_CMDS else f"Reply: {line}"
        return txtproto(d, off, end, "RTSP", _RTSP_CMDS, True, a.verbose, length, a.claimed)


class _Ftp(LayerOnly):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        line = first_line(d, off, end)
        if line:
            a.info = f"{'Request' if dport == 21 else 'Response'}: {line}"
        return txtproto(d, off, end, "FTP", None, False, a.verbose, length, a.claimed)


class _Smtp(LayerOnly):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        line = first_line(d, off, end)
        if line:
            a.info = f"{'C' if dport == 25 else 'S'}: {line}"
        return txtproto(d, off, end, "SMTP", None, False, a.verbose, length, a.claimed)


class _Ssh(LayerOnly):
    """The version line an SSH peer opens with (tcpdump's ``ssh_print_version``).

    tcpdump reads up to the segment's length by the headers; a capture that stops
    before the line ends stops it there with ``[|ssh]``.
    """

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if a.claimed > length:
            length = a.claimed
        for i, c in enumerate(b"SSH-"):
            if off + i >= end:
                return " [|ssh]"
            if d[off + i] != c:
                return ""
        i = 4
        while i < length:
            if off + i >= end:
                return " [|ssh]"
            c = d[off + i]
            if c == 0x0A:
                return ": SSH: " + _ssh_banner(d[off : off + i].decode("ascii"), a, dport)
            if c == 0x0D:
                if i + 1 >= length:
                    return ""
                if off + i + 1 >= end:
                    return " [|ssh]"
                if d[off + i + 1] == 0x0A:
                    return ": SSH: " + _ssh_banner(d[off : off + i].decode("ascii"), a, dport)
                return ""
            if not 0x20 <= c < 0x7F:
                return ""
            i += 1
        return ""


def _ssh_banner(line: str, a: Acc, dport: int) -> str:
    """``line`` as it was; Wireshark's Info for it set on the way."""
    a.info = f"{'Client' if dport == 22 else 'Server'}: Protocol ({line})"
    return line


#: the longest first line the Info column takes of a text protocol's message
_FIRST_LINE_MAX: Final = 1024


def first_line(d: bytes, off: int, end: int) -> str:
    """A text protocol message's first line, without its line end (Wireshark's Info shows
    it after a word of its own: ``C:``, ``Request:``...); empty when there is none."""
    chunk = d[off : min(end, off + _FIRST_LINE_MAX)]
    eol = chunk.find(b"\n")
    if eol >= 0:
        chunk = chunk[:eol]
    return chunk.rstrip(b"\r").decode("latin-1")


#: Wireshark's names of NTP's modes (the Info column's; tcpdump's are ``_NTP_MODES``)
_NTP_WS_MODES: Final = (
    "reserved",
    "symmetric active",
    "symmetric passive",
    "client",
    "server",
    "broadcast",
    "reserved for NTP control message",
    "reserved for private use",
)
_NTP_MODES: Final = (
    "unspecified",
    "symmetric active",
    "symmetric passive",
    "Client",
    "Server",
    "Broadcast",
    "Control Message",
    "Reserved",
)


_NTP_LEAP: Final = ("", "+1s", "-1s", "clock unsynchronized")


def _ntp_times(d: bytes, off: int, length: int) -> str:
    """tcpdump -v's NTP time message: stratum, poll, delays, the four timestamps and the
    originator's offsets to the other two."""
    stratum = d[off + 1]
    poll = int.from_bytes(d[off + 2 : off + 3], "big", signed=True)
    precision = int.from_bytes(d[off + 3 : off + 4], "big", signed=True)
    kind = {0: "unspecified", 1: "primary reference"}.get(
        stratum, "secondary reference" if 2 <= stratum <= 15 else "reserved"
    )
    li = d[off] >> 6
    out = (
        f"\n\tLeap indicator: {_NTP_LEAP[li]} ({li << 6}), Stratum {stratum} ({kind}), poll {poll}"
    )
    if -32 < poll < 32:
        out += f" ({2.0**poll:g}s)"
    out += (
        f", precision {precision}\n\tRoot Delay: {_sfix(d, off + 4)}, "
        f"Root dispersion: {_sfix(d, off + 8)}, Reference-ID: "
    )
    ref = d[off + 12 : off + 16]
    if stratum == 0:
        out += "(unspec)"
    elif stratum == 1:
        out += "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in ref.rstrip(b"\0"))
    else:
        out += f"0x{int.from_bytes(ref, 'big'):08x}"
    org = off + 24
    out += (
        f"\n\t  Reference Timestamp:  {_ntp_time(d, off + 16)}"
        f"\n\t  Originator Timestamp: {_ntp_time(d, org)}"
        f"\n\t  Receive Timestamp:    {_ntp_time(d, off + 32)}"
        f"\n\t  Transmit Timestamp:   {_ntp_time(d, off + 40)}"
        f"\n\t    Originator - Receive Timestamp:  {_ntp_delta(d, org, off + 32)}"
        f"\n\t    Originator - Transmit Timestamp: {_ntp_delta(d, org, off + 40)}"
    )
    if length in (52, 68, 72):  # key id; with an MD5 (16-byte) or SHA-1 (20-byte) digest
        out += f"\n\tKey id: {int.from_bytes(d[off + 48 : off + 52], 'big')}"
        if length > 52:
            digest = d[off + 52 : off + length]
            if len(digest) < length - 52:
                return out + " [|ntp]"
            out += f"\n\tAuthentication: {digest.hex()}"
    elif length > 48:
        out += f"\n\t({length - 48} more bytes after the header)"
    return out


def _sfix(d: bytes, p: int) -> str:
    return f"{d[p] << 8 | d[p + 1]}.{int((d[p + 2] << 8 | d[p + 3]) / 65536.0 * 1000000.0):06d}"


def _ntp_time(d: bytes, p: int) -> str:
    """``seconds.nanoseconds (UTC date)``, as tcpdump's ``p_ntp_time``."""
    i = int.from_bytes(d[p : p + 4], "big")
    f = int(int.from_bytes(d[p + 4 : p + 8], "big") / 4294967296.0 * 1000000000.0)
    out = f"{i}.{f:09d}"
    if i:
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(i - 2208988800))
        except (OverflowError, OSError, ValueError):
            stamp = "[Time is too large to fit into a time_t]"
        out += f" ({stamp})"
    return out


def _ntp_delta(d: bytes, old: int, new: int) -> str:
    """``+seconds.nanoseconds`` from the timestamp at ``old`` to the one at ``new``."""
    u = int.from_bytes(d[new : new + 4], "big")
    uf = int.from_bytes(d[new + 4 : new + 8], "big")
    ou = int.from_bytes(d[old : old + 4], "big")
    ouf = int.from_bytes(d[old + 4 : old + 8], "big")
    if ou == 0 and ouf == 0:
        return _ntp_time(d, new)
    if u > ou:
        sign, i, f = "+", u - ou, (uf - ouf) & 0xFFFFFFFF
        if ouf > uf:
            i -= 1
    elif u < ou:
        sign, i, f = "-", ou - u, (ouf - uf) & 0xFFFFFFFF
        if uf > ouf:
            i -= 1
    else:
        sign, i, f = ("+", 0, uf - ouf) if uf > ouf else ("-", 0, ouf - uf)
    return f"{sign}{i}.{int(f / 4294967296.0 * 1000000000.0):09d}"


def _ntp_control(d: bytes, off: int, end: int, length: int) -> str:
    """A mode 6 control message at -v: flags, opcode and the header's counters."""
    if length < 12:
        return " (invalid)" + ("" if off + length <= end else " [|ntp]")
    if end - off < 12:
        return " [|ntp]"
    c = d[off + 1]
    status = d[off + 4] << 8 | d[off + 5]
    shown = f"{status:#x}" if status else "0"  # C's %#hx: no 0x before a zero
    count = d[off + 10] << 8 | d[off + 11]
    out = (
        f", {'Response' if c & 0x80 else 'Request'}, {'Error' if c & 0x40 else 'OK'}, "
        f"{'More' if c & 0x20 else 'Last'}, OpCode={c & 0x1F}\n"
        f"\tSequence={d[off + 2] << 8 | d[off + 3]}, Status={shown}, "
        f"Assoc.={d[off + 6] << 8 | d[off + 7]}, Offset={d[off + 8] << 8 | d[off + 9]}, "
        f"Count={count}"
    )
    if 12 + count > length:
        return out + " (invalid)" + ("" if off + length <= end else " [|ntp]")
    if count:
        if off + 12 + count > end:
            return out + " [|ntp]"
        out += "\n\tTO-BE-DONE: data not interpreted"
    return out


class _Ntp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if end - off < 1:
            return None
        mode = d[off] & 7
        a.info = f"NTP Version {d[off] >> 3 & 7}, {_NTP_WS_MODES[mode]}"
        text = f"NTPv{d[off] >> 3 & 7}, {_NTP_MODES[mode]}, length {length}"
        if not a.verbose:
            return text
        li = d[off] >> 6
        if mode <= 5:
            if end - off >= 48:
                return text + _ntp_times(d, off, length)
            return text + f"\n\tLeap indicator: {_NTP_LEAP[li]} ({li << 6}) [|ntp]"
        text += f"\n\tLeap indicator: {_NTP_LEAP[li]} ({li << 6})"
        if mode == 6:
            text += _ntp_control(d, off, end, length)
        return text

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        if end - off >= 1:
            out.append("NTP")


_SYSLOG_FAC: Final = (
    "kernel",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
)
#: Wireshark's short names of syslog's facilities and severities (the Info column's)
_WS_SYSLOG_FAC: Final = (
    *("KERN", "USER", "MAIL", "DAEMON", "AUTH", "SYSLOG", "LPR", "NEWS", "UUCP", "CRON"),
    *("AUTHPRIV", "FTP", "NTP", "AUDIT", "ALERT", "CRON2"),
    *(f"LOCAL{i}" for i in range(8)),
)
_WS_SYSLOG_SEV: Final = ("EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG")
_SYSLOG_SEV: Final = ("emerg", "alert", "crit", "error", "warning", "notice", "info", "debug")


def _syslog_pri(d: bytes, off: int, end: int) -> int:
    """The ``<PRI>`` value, or -1 when the message does not start with one."""
    if end - off < 3 or d[off] != 0x3C:
        return -1
    p = off + 1
    pri = 0
    while p < end and p < off + 5 and 0x30 <= d[p] <= 0x39:
        pri = pri * 10 + d[p] - 0x30
        p += 1
    if p == off + 1 or p >= end or d[p] != 0x3E or pri > 191:
        return -1
    return pri


class _Syslog(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        pri = _syslog_pri(d, off, end)
        if pri < 0:
            return None
        fac = _SYSLOG_FAC[pri >> 3]
        sev = _SYSLOG_SEV[pri & 7]
        if not a.lean:  # Wireshark's words: FACILITY.SEVERITY: the message
            msg_at = d.index(b">", off) + 1
            a.info = f"{_WS_SYSLOG_FAC[pri >> 3]}.{_WS_SYSLOG_SEV[pri & 7]}: " + first_line(
                d, msg_at, min(end, off + length)
            )
        if not a.verbose:
            return f"SYSLOG {fac}.{sev}, length: {length}"
        msg = d[d.index(b">", off) + 1 : min(end, off + length)]
        text = "".join(chr(c) if 0x20 <= c < 0x7F else f"\\0x{c:02x}" for c in msg)
        text = (
            f"SYSLOG, length: {length}\n\tFacility {fac} ({pri >> 3}), "
            f"Severity {sev} ({pri & 7})\n\tMsg: {text}"
        )
        if a.verbose > 1:
            text += hexdump(d[off : min(end, off + length)], "\n\t")
        return text

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        if _syslog_pri(d, off, end) >= 0:
            out.append("Syslog")


# ----------------------------------------------------------------------------- TLS Info

#: record versions tshark reads a record under (SSL 3.0, TLS 1.0-1.3, GM/T's 0x0101)
_TLS_VERSIONS: Final = frozenset({0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0101})
#: the fewest bytes an encrypted handshake message takes (a MAC or an AEAD tag): tshark
#: reads a shorter record's bytes as handshake messages, whatever their type
_TLS_MIN_SEALED: Final = 16
#: the most names one segment's Info lists (bounds the work on a hostile payload)
_TLS_MAX_NAMES: Final = 64


def _tls_handshake(d: bytes, p: int, stop: int, out: list[str]) -> None:
    """The names of the handshake messages in one record ``d[p:stop]``, as tshark's Info
    lists them: an unknown first type in a record long enough to be sealed is an
    encrypted message; a message longer than the record is a fragment (named only when
    it is the record's first); an unknown type after the first ends the list."""
    n = stop - p
    if n >= _TLS_MIN_SEALED and d[p] not in TLS_HANDSHAKES:
        out.append("Encrypted Handshake Message")
        return
    first = True
    while p < stop and len(out) < _TLS_MAX_NAMES:
        name = TLS_HANDSHAKES.get(d[p])
        if stop - p < 4 or p + 4 + (d[p + 1] << 16 | d[p + 2] << 8 | d[p + 3]) > stop:
            if first:
                out.append(f"[{name or 'Encrypted Handshake Message'} Fragment]")
            return
        if name is None:
            if first:
                out.append("Encrypted Handshake Message")
            return
        out.append(name)
        p += 4 + (d[p + 1] << 16 | d[p + 2] << 8 | d[p + 3])
        first = False


def tls_info(d: bytes, off: int, end: int) -> str | None:
    """tshark's Info for a TCP payload ``d[off:end]`` its TLS dissector reads (a TLS port):
    each whole record's name (``Server Hello, Change Cipher Spec, Application Data``),
    ``Continuation Data`` for a payload that starts no record, ``[TCP segment of a
    reassembled PDU]`` for a first record the segment does not hold whole.

    None where tshark says TCP's words or what this does not tell (printable text, which
    tshark's TLS passes over; SSLv2 headers; empty records, which it calls malformed).
    Stateless: a segment that continues an earlier one's record is taken for one that
    starts none, as tshark does for the first segment it sees of a connection."""
    if end - off < 5:
        return None
    c0 = d[off]
    if c0 >= 0x80:
        return None  # an SSLv2 record header: its own rules
    if (
        0x20 <= c0 < 0x7F
        and 0x20 <= d[off + 1] < 0x7F
        and 0x20 <= d[off + 2] < 0x7F
        and 0x20 <= d[off + 3] < 0x7F
    ):
        return None  # text: tshark's TLS leaves it to TCP
    out: list[str] = []
    at = off
    while at + 5 <= end and len(out) < _TLS_MAX_NAMES:
        ctype = d[at]
        if ctype < 20 or ctype > 24 or ((d[at + 1] << 8) | d[at + 2]) not in _TLS_VERSIONS:
            out.append("Ignored Unknown Record" if out else "Continuation Data")
            break
        n = (d[at + 3] << 8) | d[at + 4]
        b = at + 5
        stop = b + n
        if n == 0:
            return None  # tshark: malformed
        if stop > end:
            if not out:
                return "[TCP segment of a reassembled PDU]"
            break  # tshark waits for the rest of a later record
        if ctype == 23:
            out.append("Application Data")
        elif ctype == 20:
            out.append("Change Cipher Spec")
        elif ctype == 22:
            _tls_handshake(d, b, stop, out)
        elif ctype == 21:
            if n != 2:
                out.append("Encrypted Alert")
            elif d[b] == 1 or d[b] == 2:
                level = "Warning" if d[b] == 1 else "Fatal"
                desc = TLS_ALERTS.get(d[b + 1], "Unknown")
                out.append(f"Alert (Level: {level}, Description: {desc})")
            else:
                return None
        elif n >= 3 and (d[b] == 1 or d[b] == 2) and 3 + ((d[b + 1] << 8) | d[b + 2]) + 16 <= n:
            out.append("Heartbeat Request" if d[b] == 1 else "Heartbeat Response")
        else:
            out.append("Encrypted Heartbeat")
        at = stop
    return ", ".join(out) if out else None


class _Tls(PortHandler):
    """TLS on its ports: tcpdump names nothing there (its line stays TCP's); the Info is
    tshark's (:func:`tls_info`).  The layer is named by ``tcpapps`` for the filter and
    the tree, so the walk adds nothing."""

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if not a.lean and not a.verbose:
            info = tls_info(d, off, end)
            if info is not None:
                a.info = info
        return None

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        return None


class _TlsHeuristic(_Tls):
    """TLS on a port no dissector of Wireshark's takes: a segment that starts a record
    header its heuristic accepts (later segments of the connection need its state)."""

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if starts_record(d, off, end) and by_port(sport, dport) is None:
            return super().text(d, off, end, length, a, sport, dport)
        return None


bind(TCP_PORTS, (25,), _Smtp("SMTP"))
bind(TCP_PORTS, (22,), _Ssh("SSH"))
bind(TCP_PORTS, (21,), _Ftp("FTP"))
bind(TCP_PORTS, (80, 8080), _Http("HTTP"))
bind(TCP_PORTS, (554, 8554), _Rtsp("RTSP"))
bind(UDP_PORTS, (123,), _Ntp("NTP"))
bind(UDP_PORTS, (514,), _Syslog("Syslog"))
bind(TCP_PORTS, tuple(sorted(TLS_PORTS)), _Tls("TLS"))
TCP_HEURISTICS.append(_TlsHeuristic("TLS"))
