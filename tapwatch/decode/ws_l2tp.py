"""L2TP (v2 and v3, control messages with their AVPs, data sessions) in tshark's words,
nesting and byte spans.

A control message's node spans its AVPs; each AVP is named and its value worded as tshark
4.0 words it where the value's layout is known, else shown as bytes. Every loop is bounded
by the message's bytes and by ``MAX_ITEMS``.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import bits_line
from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import MAX_ITEMS, node, u16, u32
from tapwatch.decode.ws_tunnel import payload_end

# ----------------------------------------------------------------------------- L2TP


def l2tp(data: bytes, s: int, net: Net) -> Node | None:
    """L2TP: version 2 over UDP, version 3 over UDP or over IP (whose header starts with a
    session ID, 0 for a control message).  A control message spans its AVPs; a version 2
    message's AVPs are worded as tshark words them (:func:`_l2tp_avps`)."""
    d = data
    if over_udp(d, s):
        return _l2tp(d, s, s, net, [])
    if s + 4 > len(d):
        return None
    sid = u32(d, s)
    kid = node(f"Session ID: 0x{sid:08x}", s, s + 4)
    if sid:  # a data session: its header ends where the walk read it to (the session ID)
        head = net.header_end(s, "L2TP", at=s, proto=115)
        return node("Layer 2 Tunneling Protocol version 3", s, min(len(d), max(head, s + 4)), [kid])
    return _l2tp(d, s + 4, s, net, [kid])


def over_udp(d: bytes, s: int) -> bool:
    """Whether the L2TP header at ``s`` is what UDP port 1701 carries."""
    return s >= 8 and 1701 in (u16(d, s - 8), u16(d, s - 6))


def _l2tp(d: bytes, s: int, title_at: int, net: Net, kids: list[Node]) -> Node | None:
    if s + 6 > len(d):
        return None
    f = u16(d, s)
    version = f & 15
    if version not in (2, 3) or (title_at < s and not f & 0x8000):
        return None
    control, has_len, has_seq, has_off, prio = (
        f & 0x8000,
        f & 0x4000,
        f & 0x0800,
        f & 0x0200 if version == 2 else 0,
        f & 0x0100 if version == 2 else 0,
    )
    size = 2 + 2 * bool(has_len) + (6 if version == 3 and not control else 4)
    if version == 2 or control:
        size += 4 * bool(has_seq) + 2 * bool(has_off)
    if s + size > len(d):
        return None  # every field read below is within the captured bytes
    words = ["Control Message" if control else "Data Message"]
    words += [
        w
        for bit, w in (
            (has_len, "Length Bit"),
            (has_seq, "Sequence Bit"),
            (has_off, "Offset bit"),
            (prio, "Priority"),
        )
        if bit
    ]
    bits = [
        bits_line(f, 0x8000, 16, "Type", "Control Message (1)" if control else "Data Message (0)"),
        bits_line(
            f,
            0x4000,
            16,
            "Length Bit",
            "Length field is present" if has_len else "Length field is not present",
        ),
        bits_line(
            f,
            0x0800,
            16,
            "Sequence Bit",
            "Ns and Nr fields are present" if has_seq else "Ns and Nr fields are not present",
        ),
    ]
    if version == 2:
        bits += [
            bits_line(
                f,
                0x0200,
                16,
                "Offset bit",
                "Offset Size field is present" if has_off else "Offset size field is not present",
            ),
            bits_line(
                f,
                0x0100,
                16,
                "Priority",
                "This data message has priority" if prio else "No priority",
            ),
        ]
    bits.append(bits_line(f, 0x000F, 16, "Version", str(version)))
    kids = [
        *kids,
        node(
            f"Flags: 0x{f:04x}, Type: {', '.join(words)}",
            s,
            s + 2,
            [node(b, s, s + 2) for b in bits],
        ),
    ]
    at = s + 2
    carried_end = payload_end(d, title_at, net)
    # where the header ends (its Length, Ns/Nr, Offset Size and padding) and where the
    # message ends by its Length: the decoder's walk read both, from UDP's header or the
    # IP protocol's if the frame's walk did not reach this one
    via, proto = (title_at, 115) if title_at < s or not over_udp(d, s) else (s - 8, 17)
    head = net.header_end(title_at, "L2TP", at=via, proto=proto)
    if head < 0:
        return None
    msg_end = net.layer_end(title_at, "L2TP", at=via, proto=proto)

    def field(label: str, n: int) -> bool:
        nonlocal at
        if at + n > len(d):
            return False
        kids.append(node(label, at, at + n))
        at += n
        return True

    length = -1
    if has_len and at + 2 <= len(d):
        length = u16(d, at)
    if has_len and not field(f"Length: {length}", 2):
        return None
    if version == 3 and not control:
        if not (
            field(f"Reserved: 0x{u16(d, at):04x}", 2)
            and field(f"Session ID: 0x{u32(d, at):08x}", 4)
        ):
            return None
        return node("Layer 2 Tunneling Protocol version 3", title_at, min(len(d), head), kids)
    if version == 3:
        if not field(f"Control Connection ID: 0x{u32(d, at):08x}", 4):
            return None
    elif not (field(f"Tunnel ID: {u16(d, at)}", 2) and field(f"Session ID: {u16(d, at)}", 2)):
        return None
    if has_seq and not (field(f"Ns: {u16(d, at)}", 2) and field(f"Nr: {u16(d, at)}", 2)):
        return None
    hdr = at
    if has_off:
        if at + 2 > len(d):
            return None
        off = u16(d, at)
        field(f"Offset: {off}", 2)
        hdr = at
        if head > at:
            pad = min(head, carried_end)
            kids.append(node("Offset Padding", at, pad))
            at = pad
    end = at
    if control:
        end = carried_end
        if has_len:
            if msg_end < at:
                return None
            if msg_end > len(d) and len(d) - at < 6:
                return None  # cut before its first AVP: tshark shows no L2TP node then
            end = min(msg_end, len(d))
        if end <= hdr:
            kids.append(node("Zero Length Body message", title_at, title_at))
        elif version == 2:
            kids += _l2tp_avps(d, at, end)
    title = "Layer 2 Tunneling Protocol" + (" version 3" if version == 3 else "")
    return node(title, title_at, end, kids)


#: RFC 2661's control message types, as tshark names them
_L2TP_MESSAGES: Final = {
    1: "Start_Control_Request",
    2: "Start_Control_Reply",
    3: "Start_Control_Connected",
    4: "Stop_Control_Notification",
    6: "Hello",
    7: "Outgoing_Call_Request",
    8: "Outgoing_Call_Reply",
    9: "Outgoing_Call_Connected",
    10: "Incoming_Call_Request",
    11: "Incoming_Call_Reply",
    12: "Incoming_Call_Connected",
    14: "Call_Disconnect_Notification",
    15: "WAN_Error_Notify",
    16: "Set_Link_Info",
}

#: RFC 2661's AVP types, as tshark names them (its "<name> AVP" subtree titles)
_L2TP_AVPS: Final = {
    0: "Control Message",
    1: "Result-Error Code",
    2: "Protocol Version",
    3: "Framing Capabilities",
    4: "Bearer Capabilities",
    5: "Tie Breaker",
    6: "Firmware Revision",
    7: "Host Name",
    8: "Vendor Name",
    9: "Assigned Tunnel ID",
    10: "Receive Window Size",
    11: "Challenge",
    12: "Cause Code",
    13: "Challenge Response",
    14: "Assigned Session",
    15: "Call Serial Number",
    16: "Minimum BPS",
    17: "Maximum BPS",
    18: "Bearer Type",
    19: "Framing Type",
    20: "Reserved",
    21: "Called Number",
    22: "Calling Number",
    23: "Sub-Address",
    24: "Connect Speed",
    25: "Physical Channel",
    26: "Initial Received LCP CONFREQ",
    27: "Last Sent LCP CONFREQ",
    28: "Last Received LCP CONFREQ",
    29: "Proxy Authen Type",
    30: "Proxy Authen Name",
    31: "Proxy Authen Challenge",
    32: "Proxy Authen ID",
    33: "Proxy Authen Response",
    34: "Call status AVPs",
    35: "ACCM",
    36: "Random Vector",
    37: "Private group ID",
    38: "RxConnect Speed",
    39: "Sequencing Required",
    46: "PPP Disconnect Cause Code",
}

#: AVPs whose value is one unsigned number of the value's exact size: tshark's label
_L2TP_NUMBERS: Final = {
    9: ("Assigned Tunnel ID", 2),
    10: ("Receive Window Size", 2),
    14: ("Assigned Session ID", 2),
    15: ("Call Serial Number", 4),
    16: ("Minimum BPS", 4),
    17: ("Maximum BPS", 4),
    24: ("Connect Speed", 4),
    25: ("Physical Channel", 4),
    38: ("Rx Connect Speed", 4),
}

#: AVPs whose value is a string (shown when printable) or bytes in hex: tshark's label
_L2TP_STRINGS: Final = {
    7: "Host Name",
    8: "Vendor Name",
    21: "Called Number",
    22: "Calling Number",
    23: "Sub-Address",
    30: "Proxy Authen Name",
}
_L2TP_HEX: Final = {
    11: "CHAP Challenge",
    13: "CHAP Challenge Response",
    31: "Proxy Authen Challenge",
    33: "Proxy Authen Response",
    36: "Random Vector",
    37: "Private Group ID",
}

#: AVPs that are two bit flags in 32 bits: the names of the bits 0x2 and 0x1
_L2TP_FLAGS: Final = {
    3: ("Async Framing Supported", "Sync Framing Supported"),
    4: ("Analog Access Supported", "Digital Access Supported"),
    18: ("Analog Bearer Type", "Digital Bearer Type"),
    19: ("Async Framing Type", "Sync Framing Type"),
}


def _l2tp_value(d: bytes, t: int, v: int, e: int) -> list[Node]:
    """The value lines of a known AVP whose value (``v`` to ``e``) has the size tshark
    reads; none otherwise (its short-value and long-value words are not copied)."""
    n = e - v
    if t == 0 and n == 2:
        kind = u16(d, v)
        name = _L2TP_MESSAGES.get(kind, "Unknown" if kind >= 64 else "")
        return [node(f"Message Type: {name} ({kind})", v, e)] if name else []
    if t == 2 and n == 2:
        return [node(f"Version: {d[v]}", v, v + 1), node(f"Revision: {d[v + 1]}", v + 1, e)]
    if t == 5 and n == 8:
        return [node(f"Tie Breaker: 0x{d[v:e].hex()}", v, e)]
    if t == 6 and n == 2:
        rev = u16(d, v)
        return [node(f"Firmware Revision: {rev} (0x{rev:04x})", v, e)]
    if t in _L2TP_NUMBERS:
        label, size = _L2TP_NUMBERS[t]
        if n != size:
            return []
        return [node(f"{label}: {int.from_bytes(d[v:e], 'big')}", v, e)]
    if t in _L2TP_FLAGS and n == 4:
        word, (hi, lo) = u32(d, v), _L2TP_FLAGS[t]
        return [
            node(bits_line(word, 2, 32, hi, "True" if word & 2 else "False"), v, e),
            node(bits_line(word, 1, 32, lo, "True" if word & 1 else "False"), v, e),
        ]
    if t in _L2TP_STRINGS and n:
        text = d[v:e]
        if all(0x20 <= c < 0x7F for c in text):
            return [node(f"{_L2TP_STRINGS[t]}: {text.decode('ascii')}", v, e)]
        return []  # tshark's rendering of other bytes is not copied
    if t in _L2TP_HEX and (n == 16 if t == 13 else n > 0):  # an MD5 response: 16 bytes
        return [node(f"{_L2TP_HEX[t]}: {d[v:e].hex()}", v, e)]
    return []


def _l2tp_avps(d: bytes, at: int, end: int) -> list[Node]:
    """The AVPs of an L2TPv2 control message (RFC 2661 4.1), at most MAX_ITEMS of them, in
    tshark's words.  An AVP shorter than its header or past the message, a vendor's AVP
    or a challenge response not of 16 bytes ends the list (the message's node spans the
    rest: tshark's reading of them is not copied); a type this table does not name is left
    out and the next one read."""
    out: list[Node] = []
    while at + 6 <= end and len(out) < MAX_ITEMS:
        word = u16(d, at)
        n = word & 0x03FF
        if n < 6 or at + n > end:
            break
        vendor, t = u16(d, at + 2), u16(d, at + 4)
        if vendor:
            break  # tshark reads a vendor's AVP by the vendor's own layouts, past its length
        name = _L2TP_AVPS.get(t)
        if name is not None:
            kids = [
                node(
                    bits_line(word, 0x8000, 16, "Mandatory", str(bool(word & 0x8000))), at, at + 2
                ),
                node(bits_line(word, 0x4000, 16, "Hidden", str(bool(word & 0x4000))), at, at + 2),
                node(bits_line(word, 0x03FF, 16, "Length", str(n)), at, at + 2),
            ]
            if not word & 0x4000:  # a hidden AVP's type and value are not read by tshark
                kids += [
                    node("Vendor ID: Reserved (0)", at + 2, at + 4),
                    node(f"AVP Type: {name} ({t})", at + 4, at + 6),
                    *_l2tp_value(d, t, at + 6, at + n),
                ]
            out.append(node(f"{name} AVP", at, at + n, kids))
            if t == 13 and n != 22 and not word & 0x4000:
                break  # tshark reads 16 bytes of response whatever the length says
        at += n
    return out
