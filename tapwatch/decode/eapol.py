"""EAPOL (802.1X, ethertype 0x888e) as tcpdump 4.99 prints it: on wired ports and, above
all, inside 802.11 data frames, where WPA's four-way handshake travels as EAPOL-Key.

``EAP packet (0) v2, len 5`` names the frame type; with ``-v`` an EAP packet's code, id
and length follow, and for requests and responses the EAP type on a second line with what
tcpdump decodes of it (identity, notification, NAK's types, TLS/TTLS/FAST flags, SIM/AKA
subtype).
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import ETHERTYPES, Acc, EtherHandler, Walk, bind, u16
from tapwatch.decode.verbose import safe_char

_FRAME_TYPES: Final = (
    "EAP packet",
    "EAPOL start",
    "EAPOL logoff",
    "EAPOL key",
    "Encapsulated ASF alert",
)
_CODES: Final = ("unknown", "Request", "Response", "Success", "Failure")
_TYPES: Final = {
    0: "No proposed",
    1: "Identity",
    2: "Notification",
    3: "Nak",
    4: "MD5-challenge",
    5: "OTP",
    6: "GTC",
    13: "TLS",
    18: "SIM",
    21: "TTLS",
    23: "AKA",
    43: "FAST",
    254: "Expanded types",
    255: "Experimental",
}
_AKA: Final = {
    1: "Challenge",
    2: "Auth reject",
    4: "Sync failure",
    5: "Identity",
    10: "Start",
    11: "Challenge",
    12: "Notification",
    13: "Reauth",
    14: "Client error",
}
_TRUNC: Final = " [|eap]"


def _jnp(b: bytes) -> str:
    """``nd_printjnp``: up to the first NUL, escaped."""
    return "".join(safe_char(c) for c in b.split(b"\0", 1)[0])


def _tls_flags(f: int) -> str:
    bits = ((0x80, "L bit"), (0x40, "More fragments bit"), (0x20, "Start bit"))
    words = [n for bit, n in bits if f & bit]
    return f" flags [{', '.join(words) or 'none'}] 0x{f:02x}"


def eap(d: bytes, p: int, end: int, length: int) -> str:
    """tcpdump's ``eap_print`` of the EAP packet at ``p`` (``length``: what carries it says)."""
    if end - p < 4:
        return _TRUNC  # tcpdump reads the code and the length first
    code, ln = d[p], u16(d, p + 2)
    if ln != length:
        return "EAP fragment?"
    out = f"{_CODES[code] if 0 < code < 5 else 'unknown'} ({code}), id {d[p + 1]}, len {ln}"
    if ln < 4:
        return out + " (too short for EAP header)"
    if end - p < ln:
        return out + _TRUNC
    if code not in (1, 2):
        return out
    if ln < 5:
        return out + " (too short for EAP request/response)"
    t = d[p + 4]
    out += f"\n\t\t Type {_TYPES.get(t, 'unknown')} ({t})"
    body = d[p + 5 : p + ln]
    if t == 1:
        return out + (f", Identity: {_jnp(body)}" if body else "")
    if t == 2:
        if not body:
            return out + " (too short for EAP Notification request/response)"
        return out + f", Notification: {_jnp(body)}"
    if t == 3:
        if not body:
            return out + " (too short for EAP Legacy NAK request/response)"
        return out + ",".join(f" {_TYPES.get(x, 'unknown')} ({x})" for x in body)
    if t in (13, 21, 43):
        what = {13: "TLS/TTLS", 21: "TLS/TTLS", 43: "FAST"}[t]
        if not body:
            return out + f" (too short for EAP {what} request/response)"
        f = body[0]
        if t == 21:
            out += f" TTLSv{f & 7}"
        elif t == 43:
            out += f" FASTv{f & 7}"
        out += _tls_flags(f)
        if f & 0x80:
            if len(body) < 5:
                return out + f" (too short for EAP {what} request/response with length)"
            out += f", len {int.from_bytes(body[1:5], 'big')}"
        return out
    if t in (18, 23):
        if not body:
            return out + " (too short for EAP SIM/AKA request/response)"
        return out + f" subtype [{_AKA.get(body[0], 'unknown')}] 0x{body[0]:02x}"
    return out


class _Eapol(EtherHandler):
    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        a.layers.append("EAPOL")
        end = len(d)
        if end - off < 4:
            a.bad = True
            return _TRUNC
        t, ln = d[off + 1], u16(d, off + 2)
        out = f"{_FRAME_TYPES[t] if t < 5 else 'unknown'} ({t}) v{d[off]}, len {ln}"
        a.info = out
        if not a.verbose or t != 0:
            return out
        if ln == 0:
            a.bad = True
            return out + _TRUNC
        text = ", " + eap(d, off + 4, end, ln)
        if text.endswith(_TRUNC):
            a.bad = True
        return out + text

    def walk(self, d: bytes, off: int, out: Walk) -> None:
        out.append("EAPOL")


bind(ETHERTYPES, (0x888E,), _Eapol("EAPOL"))
