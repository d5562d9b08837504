"""PPTP's control connection (TCP 1723, RFC 2637) as tcpdump 4.99 prints it.

Each message is the common 12-byte header then a fixed layout per control message type;
tcpdump prints the fields in the layout's order (``CTRL_MSGTYPE=SCCRQ PROTO_VER(1.0)
...``), the result and error codes' words with ``-v``, and reserved fields only when
they are not zero.  Its text fields (host name, vendor, phone numbers) are C strings
of a fixed size, printed up to their first NUL.  The data channel (PPP in enhanced
GRE) is :mod:`~tapwatch.decode.tunnels`' and :mod:`~tapwatch.decode.ppp`'s.

tcpdump hands the printer the rest of the capture, not the segment's length: a
message longer than its segment reads on into what follows, and the text stops with
``[|pptp]`` where the capture ends.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    TCP_PORTS,
    Acc,
    PortHandler,
    Trunc,
    Walk,
    bind,
    fresh,
    need,
    u16,
    u32,
)
from tapwatch.decode.verbose import safe_char

_TYPES: Final = (
    "NOT_DEFINED",
    "SCCRQ",
    "SCCRP",
    "StopCCRQ",
    "StopCCRP",
    "ECHORQ",
    "ECHORP",
    "OCRQ",
    "OCRP",
    "ICRQ",
    "ICRP",
    "ICCN",
    "CCRQ",
    "CDN",
    "WEN",
    "SLI",
)
_ERRORS: Final = {
    0: "None",
    1: "Not-Connected",
    2: "Bad-Format",
    3: "Bad-Value",
    4: "No-Resource",
    5: "Bad-Call-ID",
    6: "PAC-Error",
}
_ECHO: Final = {1: "OK", 2: "General Error"}
#: the result codes' words by message type (tcpdump's per-message dictionaries)
_RESULTS: Final = {
    2: {
        1: "Successful channel establishment",
        2: "General error",
        3: "Command channel already exists",
        4: "Requester is not authorized to establish a command channel",
        5: "The protocol version of the requester is not supported",
    },
    4: _ECHO,
    6: _ECHO,
    8: {
        1: "Connected",
        2: "General Error",
        3: "No Carrier",
        4: "Busy",
        5: "No Dial Tone",
        6: "Time-out",
        7: "Do Not Accept",
    },
    10: {1: "Connect", 2: "General Error", 3: "Do Not Accept"},
    13: {1: "Lost Carrier", 2: "General Error", 3: "Admin Shutdown", 4: "Request"},
}
_BEARER: Final = {1: "A", 2: "D", 3: "Any"}
_FRAMING: Final = {1: "A", 2: "S", 3: "E"}
_REASONS: Final = {1: "None", 2: "Stop-Protocol", 3: "Stop-Local-Shutdown"}


class _Out:
    """The message's text so far, kept when the data ends (tcpdump prints as it reads)."""

    def __init__(self, d: bytes, end: int, verbose: int) -> None:
        self.d = d
        self.end = end
        self.verbose = verbose
        self.parts: list[str] = []

    def u8(self, p: int) -> int:
        need(p, 1, self.end)
        return self.d[p]

    def u16(self, p: int) -> int:
        need(p, 2, self.end)
        return u16(self.d, p)

    def u32(self, p: int) -> int:
        need(p, 4, self.end)
        return u32(self.d, p)

    def put(self, s: str) -> None:
        self.parts.append(s)

    def string(self, label: str, p: int, size: int) -> None:
        """``LABEL(text)``: a fixed-size C string up to its NUL, as ``nd_printjnp``."""
        self.put(f" {label}(")
        chars: list[str] = []
        for q in range(p, p + size):
            if q >= self.end:  # the capture ends inside the string: what was read, then [|pptp]
                self.put("".join(chars))
                raise Trunc
            c = self.d[q]
            if c == 0:
                break
            chars.append(safe_char(c))
        self.put("".join(chars) + ")")

    def reserved1(self, p: int) -> None:
        v = self.u8(p)
        if v:
            self.put(f" [ERROR: reserved={v} must be zero]")

    def reserved2(self, p: int) -> None:
        v = self.u16(p)
        if v:
            self.put(f" [ERROR: reserved={v} must be zero]")

    def num(self, label: str, v: int) -> None:
        self.put(f" {label}({v})")

    def result(self, p: int, msg: int) -> None:
        v = self.u8(p)
        word = f":{_RESULTS[msg].get(v, '?')}" if self.verbose else ""
        self.put(f" RESULT_CODE({v}{word})")

    def error(self, p: int) -> None:
        v = self.u8(p)
        word = f":{_ERRORS.get(v, '?')}" if self.verbose else ""
        self.put(f" ERR_CODE({v}{word})")

    def caps(self, p: int) -> None:
        fr = self.u32(p)
        self.put(f" FRAME_CAP({'A' if fr & 1 else ''}{'S' if fr & 2 else ''})")
        br = self.u32(p + 4)
        self.put(f" BEARER_CAP({'D' if br & 2 else ''}{'A' if br & 1 else ''})")
        self.num("MAX_CHAN", self.u16(p + 8))
        self.num("FIRM_REV", self.u16(p + 10))
        self.string("HOSTNAME", p + 12, 64)
        self.string("VENDOR", p + 76, 64)

    def version(self, p: int) -> None:
        v = self.u16(p)
        self.put(f" PROTO_VER({v >> 8}.{v & 0xFF})")


def _body(o: _Out, t: int, p: int) -> None:
    """The fields of control message ``t`` from ``p``, in tcpdump's order."""
    if t == 1:  # SCCRQ
        o.version(p)
        o.reserved2(p + 2)
        o.caps(p + 4)
    elif t == 2:  # SCCRP
        o.version(p)
        o.result(p + 2, t)
        o.error(p + 3)
        o.caps(p + 4)
    elif t == 3:  # StopCCRQ
        v = o.u8(p)
        word = f":{_REASONS.get(v, '?')}" if o.verbose else ""
        o.put(f" REASON({v}{word})")
        o.reserved1(p + 1)
        o.reserved2(p + 2)
    elif t == 4:  # StopCCRP
        o.result(p, t)
        o.error(p + 1)
        o.reserved2(p + 2)
    elif t == 5:  # ECHORQ
        o.num("ID", o.u32(p))
    elif t == 6:  # ECHORP
        o.num("ID", o.u32(p))
        o.result(p + 4, t)
        o.error(p + 5)
        o.reserved2(p + 6)
    elif t == 7:  # OCRQ
        o.num("CALL_ID", o.u16(p))
        o.num("CALL_SER_NUM", o.u16(p + 2))
        o.num("MIN_BPS", o.u32(p + 4))
        o.num("MAX_BPS", o.u32(p + 8))
        o.put(f" BEARER_TYPE({_BEARER.get(o.u32(p + 12), '?')})")
        o.put(f" FRAME_TYPE({_FRAMING.get(o.u32(p + 16), '?')})")
        o.num("RECV_WIN", o.u16(p + 20))
        o.num("PROC_DELAY", o.u16(p + 22))
        o.num("PHONE_NO_LEN", o.u16(p + 24))
        o.reserved2(p + 26)
        o.string("PHONE_NO", p + 28, 64)
        o.string("SUB_ADDR", p + 92, 64)
    elif t == 8:  # OCRP
        o.num("CALL_ID", o.u16(p))
        o.num("PEER_CALL_ID", o.u16(p + 2))
        o.result(p + 4, t)
        o.error(p + 5)
        o.num("CAUSE_CODE", o.u16(p + 6))
        o.num("CONN_SPEED", o.u32(p + 8))
        o.num("RECV_WIN", o.u16(p + 12))
        o.num("PROC_DELAY", o.u16(p + 14))
        o.num("PHY_CHAN_ID", o.u32(p + 16))
    elif t == 9:  # ICRQ
        o.num("CALL_ID", o.u16(p))
        o.num("CALL_SER_NUM", o.u16(p + 2))
        o.put(f" BEARER_TYPE({_BEARER.get(o.u32(p + 4), '?')})")
        o.num("PHY_CHAN_ID", o.u32(p + 8))
        o.num("DIALED_NO_LEN", o.u16(p + 12))
        o.num("DIALING_NO_LEN", o.u16(p + 14))
        o.string("DIALED_NO", p + 16, 64)
        o.string("DIALING_NO", p + 80, 64)
        o.string("SUB_ADDR", p + 144, 64)
    elif t == 10:  # ICRP
        o.num("CALL_ID", o.u16(p))
        o.num("PEER_CALL_ID", o.u16(p + 2))
        o.result(p + 4, t)
        o.error(p + 5)
        o.num("RECV_WIN", o.u16(p + 6))
        o.num("PROC_DELAY", o.u16(p + 8))
        o.reserved2(p + 10)
    elif t == 11:  # ICCN
        o.num("PEER_CALL_ID", o.u16(p))
        o.reserved2(p + 2)
        o.num("CONN_SPEED", o.u32(p + 4))
        o.num("RECV_WIN", o.u16(p + 8))
        o.num("PROC_DELAY", o.u16(p + 10))
        o.put(f" FRAME_TYPE({_FRAMING.get(o.u32(p + 12), '?')})")
    elif t == 12:  # CCRQ
        o.num("CALL_ID", o.u16(p))
        o.reserved2(p + 2)
    elif t == 13:  # CDN
        o.num("CALL_ID", o.u16(p))
        o.result(p + 2, t)
        o.error(p + 3)
        o.num("CAUSE_CODE", o.u16(p + 4))
        o.reserved2(p + 6)
        o.string("CALL_STATS", p + 8, 128)
    elif t == 14:  # WEN
        o.num("PEER_CALL_ID", o.u16(p))
        o.reserved2(p + 2)
        for i, label in enumerate(
            (
                "CRC_ERR",
                "FRAMING_ERR",
                "HARDWARE_OVERRUN",
                "BUFFER_OVERRUN",
                "TIMEOUT_ERR",
                "ALIGN_ERR",
            )
        ):
            o.num(label, o.u32(p + 4 + 4 * i))
    elif t == 15:  # SLI
        o.num("PEER_CALL_ID", o.u16(p))
        o.reserved2(p + 2)
        o.put(f" SEND_ACCM(0x{o.u32(p + 4):08x})")
        o.put(f" RECV_ACCM(0x{o.u32(p + 8):08x})")


def pptp(d: bytes, off: int, end: int, verbose: int, head: int) -> str:
    """``: pptp CTRL_MSGTYPE=SCCRQ PROTO_VER(1.0) ...`` (``[|pptp]`` where the data ends).
    ``head``: where the control header ends and the message's body starts, the walk's
    (:meth:`_Pptp.walk`)."""
    o = _Out(d, end, verbose)
    o.put(": pptp")
    try:
        if verbose:
            o.put(f" Length={o.u16(off)}")
            mt = o.u16(off + 2)
            o.put(" CTRL-MSG" if mt == 1 else " MGMT-MSG" if mt == 2 else " UNKNOWN-MSG-TYPE")
        mc = o.u32(off + 4)
        if mc != 0x1A2B3C4D:
            o.put(f" UNEXPECTED Magic-Cookie!!({mc:08x})")
        if verbose or mc != 0x1A2B3C4D:
            o.put(f" Magic-Cookie={mc:08x}")
        t = o.u16(off + 8)
        o.put(f" CTRL_MSGTYPE={_TYPES[t]}" if t < len(_TYPES) else f" UNKNOWN_CTRL_MSGTYPE({t})")
        o.reserved2(off + 10)
        _body(o, t, head)
    except Trunc:
        o.put(" [|pptp]")
    return "".join(o.parts)


class _Pptp(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        w = a.w
        head = w.header_end(off, "PPTP")
        if head < 0:  # a message the frame's walk did not reach: walked from here
            sub = fresh(off, w)
            self.walk(d, off, end, sub, sport, dport)
            head = a.adopt(sub).header_end(off, "PPTP")
        text = pptp(d, off, end, a.verbose, head)
        if not a.lean:
            a.info = text[2:]
        return text

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        """The control header is 12 bytes (length, message type, magic cookie, control
        message type, reserved): where the message's body starts, as its text reads it."""
        out.add("PPTP", off, off + 12)


bind(TCP_PORTS, (1723,), _Pptp("PPTP"))
