"""Which application protocol a TCP payload is: HTTP by port, TLS by port or by its record
header.  One rule for the display filter (``tapwatch.dfilter.protocols.apps``) and the
protocol tree (``tapwatch.decode.tree``), so that ``-Y tls`` and the tree's TLS layer agree
with each other and with Wireshark.

Wireshark (tshark 4.0, its default preferences) tries, for a TCP segment: the dissector
its conversation already has, then the lower port's dissector, then the higher port's,
then the TCP heuristics, of which TLS's accepts a segment that starts a plausible record
header (:func:`starts_record`) and gives the whole conversation, both directions, to TLS
from that frame on.  So TLS on 8443, 4433 or 12345 is TLS; a TLS-looking payload on a port
another dissector takes (80, 22, 25, 53, 3306) is not; on a TLS port (443, 993, ...) every
payload is TLS but a plaintext HTTP message, which is HTTP (tshark's TLS hands it on).

Known difference: tshark has port dissectors for some 550 TCP ports; some take whatever
they are given (then the heuristic is never tried), others refuse a payload that is not
theirs.  :data:`OTHER_PORTS` holds the ports checked to take a TLS-looking payload from
the heuristic; on the rest of tshark's ports a TLS-looking payload is TLS here and may be
another protocol there.
"""

from __future__ import annotations

from typing import Final

#: Wireshark's default ports for HTTP over TCP.
HTTP_PORTS: Final = frozenset({80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710})
#: The TCP ports Wireshark 4.0 gives TLS itself (tls.port, and the ports of the protocols
#: that run over TLS: IMAPS, POP3S, LDAPS, DNS over TLS, SIPS, AMQPS, MQTTS, ...).
TLS_PORTS: Final = frozenset(
    {324, 443, 465, 636, 802, 853, 993, 995, 1300, 2221, 2443, 3249, 3250, 3251, 3252}
    | {3496, 5061, 5671, 5684, 5868, 8883, 11207, 19999, 27017}
)
#: TCP ports whose dissector takes a segment before TLS's heuristic is tried (checked with
#: tshark 4.0 on a TLS record header): OpenVPN, SSH, SMTP, DNS, MySQL, X11, and HTTP's.
OTHER_PORTS: Final = HTTP_PORTS | frozenset({1194, 22, 25, 53, 3306}) | frozenset(range(6000, 6064))
#: Record versions the heuristic accepts: SSL 3.0, TLS 1.0-1.2 (TLS 1.3 records say 1.2),
#: and GM/T's 0x0101.  A TLS 1.3 (0x0304) record header is not taken.
HEURISTIC_VERSIONS: Final = frozenset({0x0300, 0x0301, 0x0302, 0x0303, 0x0101})
#: A record longer than this (2**14 and room for expansion) is not a record.
MAX_RECORD: Final = 16384 + 2048
#: TLS's record content types, as Wireshark names them
TLS_CONTENT_TYPES: Final = {
    20: "Change Cipher Spec",
    21: "Alert",
    22: "Handshake",
    23: "Application Data",
    24: "Heartbeat",
}
#: tshark 4.0's handshake message names (its ``ssl_31_handshake_type``): the Info column's, and
#: the trees' (which word the bodies of some of them only)
TLS_HANDSHAKES: Final[dict[int, str]] = {
    0: "Hello Request",
    1: "Client Hello",
    2: "Server Hello",
    3: "Hello Verify Request",
    4: "New Session Ticket",
    5: "End of Early Data",
    6: "Hello Retry Request",
    8: "Encrypted Extensions",
    11: "Certificate",
    12: "Server Key Exchange",
    13: "Certificate Request",
    14: "Server Hello Done",
    15: "Certificate Verify",
    16: "Client Key Exchange",
    20: "Finished",
    21: "Client Certificate URL",
    22: "Certificate Status",
    23: "Supplemental Data",
    24: "Key Update",
    25: "Compressed Certificate",
}
#: tshark 4.0's alert descriptions (any other is "Unknown")
TLS_ALERTS: Final[dict[int, str]] = {
    0: "Close Notify",
    10: "Unexpected Message",
    20: "Bad Record MAC",
    21: "Decryption Failed",
    22: "Record Overflow",
    30: "Decompression Failure",
    40: "Handshake Failure",
    41: "No Certificate",
    42: "Bad Certificate",
    43: "Unsupported Certificate",
    44: "Certificate Revoked",
    45: "Certificate Expired",
    46: "Certificate Unknown",
    47: "Illegal Parameter",
    48: "Unknown CA",
    49: "Access Denied",
    50: "Decode Error",
    51: "Decrypt Error",
    60: "Export Restriction",
    70: "Protocol Version",
    71: "Insufficient Security",
    80: "Internal Error",
    86: "Inappropriate Fallback",
    90: "User Canceled",
    100: "No Renegotiation",
    109: "Missing Extension",
    110: "Unsupported Extension",
    111: "Certificate Unobtainable",
    112: "Unrecognized Name",
    113: "Bad Certificate Status Response",
    114: "Bad Certificate Hash Value",
    115: "Unknown PSK Identity",
    116: "Certificate Required",
    120: "No Application Protocol",
}
#: Record content types a TLS port's dissector reads as records (20-24: change cipher
#: spec, alert, handshake, application data, heartbeat).
CONTENT_TYPES: Final = frozenset(TLS_CONTENT_TYPES)
#: HTTP/1.x's request methods
HTTP_METHODS: Final = (
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"TRACE",
    b"CONNECT",
)
#: How a plaintext HTTP message starts (tshark hands such a payload on a TLS connection
#: to HTTP).
_HTTP_STARTS: Final = (*(m + b" " for m in HTTP_METHODS), b"HTTP/1.")


#: Each port's choice, for :func:`by_port`'s one lookup a port (the display filter's
#: reassembly reads it inline, once a TCP segment).
BY_PORT: Final[dict[int, str]] = (
    {p: "other" for p in OTHER_PORTS}
    | {p: "tls" for p in TLS_PORTS}
    | {p: "http" for p in HTTP_PORTS}
)


def by_port(sport: int, dport: int) -> str | None:
    """``"http"``, ``"tls"``, ``"other"`` (a port another dissector takes) or None (no port
    decides: the heuristic may), the lower port first as Wireshark tries it."""
    if sport <= dport:
        return BY_PORT.get(sport) or BY_PORT.get(dport)
    return BY_PORT.get(dport) or BY_PORT.get(sport)


def starts_record(d: bytes, off: int, end: int) -> bool:
    """Whether ``d[off:end]`` starts with what TLS's heuristic takes for a record header:
    a handshake or application data record, a version of :data:`HEURISTIC_VERSIONS`, a
    length from 1 to under :data:`MAX_RECORD` (the record itself may follow later)."""
    if end - off < 5:
        return False
    if d[off] != 22 and d[off] != 23:
        return False
    if ((d[off + 1] << 8) | d[off + 2]) not in HEURISTIC_VERSIONS:
        return False
    n = (d[off + 3] << 8) | d[off + 4]
    return 0 < n < MAX_RECORD


def looks_like_http(d: bytes, off: int, end: int) -> bool:
    """Whether a payload on a TLS connection starts a plaintext HTTP message instead."""
    head = d[off : min(end, off + 8)]
    return head.startswith(_HTTP_STARTS)


def app(
    sport: int,
    dport: int,
    d: bytes,
    off: int,
    end: int,
    tls_before: bool = False,
    fresh: bool = True,
) -> str | None:
    """The application protocol of a TCP segment's payload ``d[off:end]``: ``"http"``,
    ``"tls"`` or None (plaintext HTTP where TLS was expected is ``"http"``).

    ``tls_before``: the connection was taken for TLS by the heuristic in an earlier segment
    (Wireshark's conversation then stays TLS); ``fresh``: the payload starts at a message
    boundary (no record of the connection is pending), where plaintext HTTP on a TLS
    connection is told apart."""
    chosen = by_port(sport, dport)
    if chosen == "other":
        return None
    if chosen is None:
        if not (tls_before or starts_record(d, off, end)):
            return None
        chosen = "tls"
    if chosen == "tls" and fresh and looks_like_http(d, off, end):
        return "http"  # tshark's TLS hands a plaintext HTTP message to HTTP
    return chosen


# ----------------------------------------------------------------------------- words

#: TLS's versions and the record layer's name by version, as Wireshark words them (the
#: tree's two wordings read them, and the content types above, here)
TLS_VERSIONS: Final = {
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}
TLS_RECORD_NAMES: Final = {
    0x0300: "SSLv3",
    0x0301: "TLSv1",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
}
