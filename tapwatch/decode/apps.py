"""Application protocols tcpdump names on their well-known ports (its non-verbose first line).

Text protocols print their first line the way tcpdump's ``txtproto_print`` does:
only a complete line of printable ASCII is shown, anything else is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tapwatch.decode.core import TCP_PORTS, UDP_PORTS, Acc, Handler, bind

_HTTP_CMDS = frozenset((
    "GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL",
    "TRACE", "LABEL", "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY",
    "BDELETE", "CONNECT", "OPTIONS", "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST",
    "SUBSCRIBE", "PROPPATCH", "BPROPFIND", "BPROPPATCH", "UNCHECKOUT", "MKACTIVITY",
    "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL",
))
_RTSP_CMDS = frozenset((
    "DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD",
    "REDIRECT", "SETUP", "SET_PARAMETER", "TEARDOWN",
))
_SEP = b" \t\r\n"


_TOKEN = re.compile(rb"([!-~]*)[ \t]*")
_TEXT = re.compile(rb"[\t -~]*")


def _token(d: bytes, p: int, end: int) -> tuple[str, int]:
    """tcpdump's ``fetch_token``: a run of printable non-blank bytes, then the blanks after it."""
    m = _TOKEN.match(d, p, end)
    if m is None:  # cannot happen: the pattern matches the empty string
        return "", p
    return m.group(1)[:128].decode("ascii"), m.end()


def _line(d: bytes, p: int, end: int, proto: str) -> str:
    """tcpdump's ``print_txt_line`` with the ``": "`` prefix: the first line, or nothing."""
    m = _TEXT.match(d, p, end)
    i = m.end() if m is not None else p
    if i >= end:
        return f": {d[p:end].decode('ascii')} [|{proto}]"
    c = d[i]
    if c == 0x0A or (c == 0x0D and i + 1 < end and d[i + 1] == 0x0A):
        return ": " + d[p:i].decode("ascii")
    return ""


def _is_code(tok: str) -> bool:
    return len(tok) == 3 and tok.isdigit()


def txtproto(d: bytes, off: int, end: int, name: str, cmds: frozenset[str] | None,
             code_second: bool) -> str:
    """``: NAME`` plus ``: first line`` when it is a request or a response line."""
    show = cmds is None
    if not show and cmds is not None:
        tok, p = _token(d, off, end)
        if tok:
            if tok.upper() in cmds:
                show = True
            elif code_second:
                tok2, _ = _token(d, p, end)
                show = _is_code(tok2)
            else:
                show = _is_code(tok)
    if show:
        return f": {name}{_line(d, off, end, name.lower())}"
    return f": {name}"


def _walk_for(layer: str) -> Callable[[bytes, int, int, list[str], int, int], None]:
    """The layers walk of a protocol recognised by its port alone."""

    def walk(d: bytes, off: int, end: int, out: list[str], sport: int, dport: int) -> None:
        out.append(layer)

    return walk


def _http(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
          dport: int) -> str | None:
    a.layers.append("HTTP")
    text = txtproto(d, off, end, "HTTP", _HTTP_CMDS, True)
    if len(text) > 6:
        a.info = text[8:]
    return text


def _rtsp(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
          dport: int) -> str | None:
    a.layers.append("RTSP")
    return txtproto(d, off, end, "RTSP", _RTSP_CMDS, True)


def _ftp(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
         dport: int) -> str | None:
    a.layers.append("FTP")
    return txtproto(d, off, end, "FTP", None, False)


def _smtp(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
          dport: int) -> str | None:
    a.layers.append("SMTP")
    return txtproto(d, off, end, "SMTP", None, False)


def _ssh(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
         dport: int) -> str | None:
    a.layers.append("SSH")
    if d.startswith(b"SSH-", off):
        line = _line(d, off, end, "ssh")
        if line and not line.endswith("[|ssh]"):
            return ": SSH" + line
    return ""


def _bgp(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
         dport: int) -> str | None:
    a.layers.append("BGP")
    return ": BGP"


_NTP_MODES = ("unspecified", "symmetric active", "symmetric passive", "Client", "Server",
              "Broadcast", "Control Message", "Reserved")


def _ntp(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
         dport: int) -> str | None:
    if end - off < 1 or d[off] & 7 >= 6:
        return None
    a.layers.append("NTP")
    mode = d[off] & 7
    a.info = f"NTP Version {d[off] >> 3 & 7}, {_NTP_MODES[mode]}"
    return f"NTPv{d[off] >> 3 & 7}, {_NTP_MODES[mode]}, length {length}"


def _ntp_walk(d: bytes, off: int, end: int, out: list[str], sport: int, dport: int) -> None:
    if end - off >= 1 and d[off] & 7 < 6:
        out.append("NTP")


_SYSLOG_FAC = ("kernel", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
               "cron", "authpriv", "ftp", "ntp", "security", "console", "cron", "local0",
               "local1", "local2", "local3", "local4", "local5", "local6", "local7")
_SYSLOG_SEV = ("emerg", "alert", "crit", "error", "warning", "notice", "info", "debug")


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


def _syslog(d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
            dport: int) -> str | None:
    pri = _syslog_pri(d, off, end)
    if pri < 0:
        return None
    a.layers.append("Syslog")
    return f"SYSLOG {_SYSLOG_FAC[pri >> 3]}.{_SYSLOG_SEV[pri & 7]}, length: {length}"


def _syslog_walk(d: bytes, off: int, end: int, out: list[str], sport: int, dport: int) -> None:
    if _syslog_pri(d, off, end) >= 0:
        out.append("Syslog")


bind(TCP_PORTS, (25,), Handler("SMTP", _smtp, _walk_for("SMTP")))
bind(TCP_PORTS, (179,), Handler("BGP", _bgp, _walk_for("BGP")))
bind(TCP_PORTS, (22,), Handler("SSH", _ssh, _walk_for("SSH")))
bind(TCP_PORTS, (21,), Handler("FTP", _ftp, _walk_for("FTP")))
bind(TCP_PORTS, (80, 8080), Handler("HTTP", _http, _walk_for("HTTP")))
bind(TCP_PORTS, (554, 8554), Handler("RTSP", _rtsp, _walk_for("RTSP")))
bind(UDP_PORTS, (123,), Handler("NTP", _ntp, _ntp_walk))
bind(UDP_PORTS, (514,), Handler("Syslog", _syslog, _syslog_walk))
