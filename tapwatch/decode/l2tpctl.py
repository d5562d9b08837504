"""L2TPv2's control messages (RFC 2661), as tcpdump 4.99 prints them: the AVPs of a
message with the T bit (SCCRQ/SCCRP/SCCCN, StopCCN, HELLO, ICRQ/ICRP/ICCN, OCRQ..., CDN,
WEN, SLI), each ``*`` when mandatory, ``?`` when hidden, by name with its value.

The L2TP handler (:mod:`tapwatch.decode.tunnels`, UDP 1701) calls :func:`avps` for the
bytes after a control message's header; this module only turns AVPs into text.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.verbose import safe_char

_MSGTYPES: Final = {
    1: "SCCRQ",
    2: "SCCRP",
    3: "SCCCN",
    4: "StopCCN",
    6: "HELLO",
    7: "OCRQ",
    8: "OCRP",
    9: "OCCN",
    10: "ICRQ",
    11: "ICRP",
    12: "ICCN",
    14: "CDN",
    15: "WEN",
    16: "SLI",
}
_NAMES: Final = (
    *("MSGTYPE", "RESULT_CODE", "PROTO_VER", "FRAMING_CAP", "BEARER_CAP", "TIE_BREAKER"),
    *("FIRM_VER", "HOST_NAME", "VENDOR_NAME", "ASSND_TUN_ID", "RECV_WIN_SIZE", "CHALLENGE"),
    *("Q931_CC", "CHALLENGE_RESP", "ASSND_SESS_ID", "CALL_SER_NUM", "MINIMUM_BPS"),
    *("MAXIMUM_BPS", "BEARER_TYPE", "FRAMING_TYPE", "PACKET_PROC_DELAY", "CALLED_NUMBER"),
    *("CALLING_NUMBER", "SUB_ADDRESS", "TX_CONN_SPEED", "PHY_CHANNEL_ID", "INI_RECV_LCP"),
    *("LAST_SENT_LCP", "LAST_RECV_LCP", "PROXY_AUTH_TYPE", "PROXY_AUTH_NAME"),
    *("PROXY_AUTH_CHAL", "PROXY_AUTH_ID", "PROXY_AUTH_RESP", "CALL_ERRORS", "ACCM"),
    *("RANDOM_VECTOR", "PRIVATE_GRP_ID", "RX_CONN_SPEED", "SEQ_REQUIRED"),
)
_AUTH_TYPES: Final = ("Reserved", "Textual", "CHAP", "PAP", "No Auth", "MS-CHAPv1")
_DIRECTIONS: Final = ("global error", "at peer", "at local")
#: AVPs whose value is text, bytes in hex, a 16-bit number, a 32-bit number
_STRINGS: Final = frozenset((7, 8, 21, 22, 23, 30, 37))
_OCTETS: Final = frozenset((11, 26, 27, 28, 31, 33, 36))
_U16: Final = frozenset((6, 9, 10, 14))
_U32: Final = frozenset((15, 16, 17, 24, 25, 38))
_SHORT: Final = "AVP too short"
_TRUNC: Final = " [|l2tp]"


def _string(v: bytes) -> str:
    return "".join(safe_char(c) for c in v)


def _u16(v: bytes, p: int = 0) -> int:
    return v[p] << 8 | v[p + 1]


def _u32(v: bytes, p: int = 0) -> int:
    return v[p] << 24 | v[p + 1] << 16 | v[p + 2] << 8 | v[p + 3]


def _two_bits(v: bytes, two: str, one: str) -> str:
    """The capability and type AVPs: a letter for bit 1, another for bit 0 (of 32 bits)."""
    if len(v) < 4:
        return _SHORT
    return (two if v[3] & 2 else "") + (one if v[3] & 1 else "")


def _value(t: int, v: bytes) -> str:
    """The value of AVP type ``t`` (IETF's, not hidden), tcpdump's wording."""
    n = len(v)
    if t in _STRINGS:
        return _string(v)
    if t in _OCTETS:
        return v.hex()
    if t in _U16:
        return str(_u16(v)) if n >= 2 else _SHORT
    if t in _U32:
        return str(_u32(v)) if n >= 4 else _SHORT
    if t == 0:
        return _MSGTYPES.get(_u16(v), f"MSGTYPE-#{_u16(v)}") if n >= 2 else _SHORT
    if t == 1:
        if n < 2:
            return _SHORT
        out = str(_u16(v))
        if n == 2:
            return out
        if n < 4:
            return out + " " + _SHORT
        out += f"/{_u16(v, 2)}"
        return out + " " + _string(v[4:]) if n > 4 else out
    if t == 2:
        return f"{v[0]}.{v[1]}" if n >= 2 else _SHORT
    if t in (3, 19):
        return _two_bits(v, "A", "S")
    if t in (4, 18):
        return _two_bits(v, "A", "D")
    if t == 5:
        return v[:8].hex() if n >= 8 else _SHORT
    if t == 12:
        if n < 3:
            return _SHORT
        out = f"{_u16(v)}, {v[2]:02x}"
        return out + " " + _string(v[3:]) if n > 3 else out
    if t == 13:
        return v[:16].hex() if n >= 16 else _SHORT
    if t == 20:
        return "obsolete"
    if t == 29:
        if n < 2:
            return _SHORT
        at = _u16(v)
        return _AUTH_TYPES[at] if at < len(_AUTH_TYPES) else f"AuthType-#{at}"
    if t == 32:
        return str(_u16(v) & 0xFF) if n >= 2 else _SHORT
    if t == 34:
        out = ""
        for i, word in enumerate(("CRCErr", "FrameErr", "HardOver", "BufOver", "Timeout")):
            if n < 6 + 4 * i:
                return out + _SHORT
            out += f"{word}={_u32(v, 2 + 4 * i)} "
        return out + (f"AlignErr={_u32(v, 22)} " if n >= 26 else _SHORT)
    if t == 35:
        if n < 6:
            return _SHORT
        out = f"send={_u32(v, 2):08x} "
        return out + (f"recv={_u32(v, 6):08x} " if n >= 10 else _SHORT)
    if t == 46:
        if n < 5:
            return _SHORT
        out = f"{_u16(v):04x}, {_u16(v, 2):04x} "
        out += _DIRECTIONS[v[4]] if v[4] < len(_DIRECTIONS) else f"Direction-#{v[4]}"
        return out + " " + _string(v[5:]) if n > 5 else out
    return ""


def avps(d: bytes, p: int, end: int, length: int, most: int = -1) -> tuple[str, bool]:
    """The AVPs of ``length`` bytes from ``p`` (captured up to ``end``), each after a space;
    and whether they ended cleanly (false: tcpdump's ``[|l2tp]`` closes the text).
    ``most`` >= 0: that many AVPs at most, then how many bytes were left out."""
    out: list[str] = []
    while length > 0:
        out.append(" ")
        if most == 0:
            out.append(f"... {length} bytes more")
            break
        most -= 1
        if p + 2 > end:
            out.append(_TRUNC)
            return "".join(out), False
        word = _u16(d, p)
        n = word & 0x3FF
        if n < 6 or n > length or p + n > end:
            out.append(_TRUNC)
            return "".join(out), False
        if word & 0x8000:
            out.append("*")
        hidden = word & 0x4000
        if hidden:
            out.append("?")
        vendor = _u16(d, p + 2)
        t = _u16(d, p + 4)
        v = d[p + 6 : p + n]
        if vendor:
            out.append(f"VENDOR{vendor:04x}:ATTR{t:04x}({v.hex()})")
        else:
            name = _NAMES[t] if t < len(_NAMES) else "PPP_DISCON_CC" if t == 46 else f"AVP-#{t}"
            out.append(f"{name}({'???' if hidden else _value(t, v)})")
        p += n
        length -= n
    return "".join(out), True
