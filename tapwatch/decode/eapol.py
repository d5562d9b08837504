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
#: Wireshark's names of EAP's types (the Info column's)
_WS_TYPES: Final = {
    1: "Identity",
    2: "Notification",
    3: "Legacy Nak (Response Only)",
    4: "MD5-Challenge EAP (EAP-MD5-CHALLENGE)",
    5: "One-Time Password EAP (EAP-OTP)",
    6: "Generic Token Card EAP (EAP-GTC)",
    7: "Allocated",
    8: "Allocated",
    9: "RSA Public Key Authentication EAP (EAP-RSA-PKA)",
    10: "DSS Unilateral EAP (EAP-DSS)",
    11: "KEA EAP (EAP-KEA)",
    12: "KEA Validate EAP (EAP-KEA-VALIDATE)",
    13: "TLS EAP (EAP-TLS)",
    14: "Defender Token EAP (EAP-AXENT)",
    15: "RSA Security SecurID EAP (EAP-RSA-SECURID)",
    16: "Arcot Systems EAP (EAP-ARCOT-SYSTEMS)",
    17: "Cisco Wireless EAP / Lightweight EAP (EAP-LEAP)",
    18: "GSM Subscriber Identity Modules EAP (EAP-SIM)",
    19: "Secure Remote Password SHA1 Part 1 EAP (EAP-SRP-SHA1-PART1)",
    20: "Secure Remote Password SHA1 Part 2 EAP (EAP-SRP-SHA1-PART2)",
    21: "Tunneled TLS EAP (EAP-TTLS)",
    22: "Remote Access Service EAP (EAP-RAS)",
    23: "UMTS Authentication and Key Agreement EAP (EAP-AKA)",
    24: "3Com Wireless EAP (EAP-3COM-WIRELESS)",
    25: "Protected EAP (EAP-PEAP)",
    26: "MS-Authentication EAP (EAP-MS-AUTH)",
    27: "Mutual Authentication w/Key Exchange EAP (EAP-MAKE)",
    28: "CRYPTOCard EAP (EAP-CRYPTOCARD)",
    29: "MS-CHAP-v2 EAP (EAP-MS-CHAP-V2)",
    30: "DynamID EAP (EAP-DYNAMID)",
    31: "Rob EAP (EAP-ROB)",
    32: "Protected One-Time Password EAP (EAP-POTP)",
    33: "MS-Authentication TLV EAP (EAP-MS-AUTH-TLV)",
    34: "SentriNET (EAP-SENTRINET)",
    35: "Actiontec Wireless EAP (EAP-ACTIONTEC-WIRELESS)",
    36: "Cogent Systems Biometrics Authentication EAP (EAP-COGENT-BIOMETRIC)",
    37: "AirFortress EAP (EAP-AIRFORTRESS)",
    38: "HTTP Digest EAP (EAP-HTTP-DIGEST)",
    39: "SecureSuite EAP (EAP-SECURESUITE)",
    40: "DeviceConnect EAP (EAP-DEVICECONNECT)",
    41: "Simple Password Exponential Key Exchange EAP (EAP-SPEKE)",
    42: "MOBAC EAP (EAP-MOBAC)",
    43: "Flexible Authentication via Secure Tunneling EAP (EAP-FAST)",
    44: "ZoneLabs EAP (EAP-ZLXEAP)",
    45: "Link EAP (EAP-LINK)",
    46: "Password Authenticated eXchange EAP (EAP-PAX)",
    47: "Pre-Shared Key EAP (EAP-PSK)",
    48: "Shared-secret Authentication and Key Establishment EAP (EAP-SAKE)",
    49: "Internet Key Exchange v2 EAP (EAP-IKEv2)",
    50: "UMTS Authentication and Key Agreement' EAP (EAP-AKA')",
    51: "Generalized Pre-Shared Key EAP (EAP-GPSK)",
    52: "Password EAP (EAP-pwd)",
    53: "Encrypted Key Exchange v1 EAP (EAP-EKEv1)",
    55: "Tunneled EAP protocol",
    254: "Expanded Type",
    255: "Experimental",
}
#: Wireshark's names of EAPOL's frame types and EAP's codes
_WS_FRAME_TYPES: Final = (
    None,  # an EAP packet: EAP's words
    "Start",
    "Logoff",
    "Key",
    "Encapsulated ASF Alert",
    "MKA",
    "Announcement (Generic)",
    "Announcement (Specific)",
    "Announcement Request",
)
_WS_CODES: Final = ("", "Request", "Response", "Success", "Failure", "Initiate", "Finish")
#: the EAP types whose first byte is TLS's flags (Wireshark reads a length after them when
#: the L bit says so): TLS, TTLS, PEAP, FAST
_WS_TLS_TYPES: Final = frozenset((13, 21, 25, 43))
_MALFORMED: Final = "[Malformed Packet]"
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


def _ws_eap(d: bytes, p: int, end: int) -> str:
    """Wireshark's Info for the EAP packet at ``p`` (``end``: what EAPOL's length leaves it):
    the code, and for a request or response its type; ``[Malformed Packet]`` where tshark
    finds the packet shorter than its fields."""
    if end - p < 1:
        return _MALFORMED
    code = d[p]
    word = _WS_CODES[code] if 0 < code < 7 else f"Unknown code (0x{code:02X})"
    if code not in (1, 2):
        return word
    if end - p < 5 or u16(d, p + 2) < 5:
        return word + _MALFORMED
    t = d[p + 4]
    word += ", " + (_WS_TYPES.get(t) or f"Unknown type (0x{t:02x})")
    stop = p + u16(d, p + 2)
    if stop > end:
        return word + _MALFORMED
    if t in _WS_TLS_TYPES and stop > p + 5:
        flags, q = d[p + 5], p + 6
        if flags & 0x80:  # the L bit: a length follows
            q += 4
            if q > stop:
                return word + _MALFORMED
        # EAP-FAST's start carries its authority's TLV
        if t == 43 and flags & 0x20 and (q + 4 > stop or q + 4 + u16(d, q + 2) > stop):
            return word + _MALFORMED
    return word


def _ws_key(d: bytes, p: int, end: int) -> str:
    """Wireshark's Info for an EAPOL-Key frame (RSN or WPA descriptor): which message of the
    four-way or the group handshake its key information bits (and key data) say it is."""
    if end - p < 1 or d[p] not in (2, 254):
        return "Key"
    if end - p < 95:
        return "Key" + _MALFORMED
    info = u16(d, p + 1)
    if not info & 0x0008:  # a group key
        return f"Key (Group Message {1 if info & 0x0080 else 2} of 2)"
    if info & 0x0080:  # from the authenticator: 1, or 3 with Install
        return f"Key (Message {3 if info & 0x0040 else 1} of 4)"
    return f"Key (Message {2 if u16(d, p + 93) else 4} of 4)"  # 2 carries key data


def _ws_info(d: bytes, off: int) -> str:
    """Wireshark's Info for the EAPOL frame at ``off``."""
    t = d[off + 1]
    if t == 0:
        return _ws_eap(d, off + 4, min(len(d), off + 4 + u16(d, off + 2)))
    if t == 3:
        return _ws_key(d, off + 4, min(len(d), off + 4 + u16(d, off + 2)))
    if t < len(_WS_FRAME_TYPES):
        return _WS_FRAME_TYPES[t] or ""
    return f"Unknown Type (0x{t:02X})"


class _Eapol(EtherHandler):
    def text(self, d: bytes, off: int, a: Acc) -> str | None:
        end = len(d)
        if end - off < 4:
            a.bad = True
            return _TRUNC
        t, ln = d[off + 1], u16(d, off + 2)
        out = f"{_FRAME_TYPES[t] if t < 5 else 'unknown'} ({t}) v{d[off]}, len {ln}"
        a.info = out if a.lean else _ws_info(d, off)
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
