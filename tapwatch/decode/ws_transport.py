"""TCP (with its options) and UDP headers in tshark's words and spans."""

from __future__ import annotations

from typing import Final

from tapwatch.decode.depth import TCP_BITS, bits_line
from tapwatch.decode.fields import TCP_FLAG_WORDS, Net
from tapwatch.decode.node import Node
from tapwatch.decode.ws_common import MAX_ITEMS, node, set_word, u16, u32, verdict

# ----------------------------------------------------------------------------- TCP

# the flags' words: depth.TCP_BITS (the bits) and fields.TCP_FLAG_WORDS (the summary)


def tcp(data: bytes, s: int, net: Net, quoted: bool = False) -> Node | None:
    """TCP's header; a quoted one (in an ICMP error) has no segment length, as in tshark."""
    if s + 20 > len(data):
        return None
    d = data
    sport, dport = u16(d, s), u16(d, s + 2)
    seq, ack = u32(d, s + 4), u32(d, s + 8)
    hlen = (d[s + 12] >> 4) * 4
    flags = u16(d, s + 12) & 0x0FFF
    seg_end = net.end if net.end > s else len(d)  # the IP header's length, captured or not
    seglen = max(0, seg_end - s - hlen)
    words = ", ".join(w for i, w in enumerate(TCP_FLAG_WORDS) if flags >> i & 1)
    bits = [
        node(bits_line(flags, m, 12, name, set_word(flags & m)), s + 12 + lo, s + 13 + lo)
        for m, name, lo in TCP_BITS
    ]
    kids = [
        node(f"Source Port: {sport}", s, s + 2),
        node(f"Destination Port: {dport}", s + 2, s + 4),
        *([] if quoted else [node(f"[TCP Segment Len: {seglen}]", s, s)]),
        node(f"Sequence Number: {seq}", s + 4, s + 8),
        node(f"Acknowledgment Number: {ack}", s + 8, s + 12),
        node(
            bits_line(d[s + 12], 0xF0, 8, "Header Length", f"{hlen} bytes ({hlen // 4})"),
            s + 12,
            s + 13,
        ),
        node(f"Flags: 0x{flags:03x}" + (f" ({words})" if words else ""), s + 12, s + 14, bits),
        node(f"Window: {u16(d, s + 14)}", s + 14, s + 16),
        node(f"Checksum: {verdict(u16(d, s + 16), s, net, 'tcp')}", s + 16, s + 18),
        node(f"Urgent Pointer: {u16(d, s + 18)}", s + 18, s + 20),
    ]
    # where the walk read the header to end (its data offset); walked from this header when
    # the frame's walk did not reach it (past its nesting bound)
    head = net.header_end(s, "TCP", at=s, proto=6)
    stop = min(len(d), head if head >= 0 else s + 20)
    if stop > s + 20:
        kids.append(_tcp_options(d, s + 20, stop))
    title = f"Transmission Control Protocol, Src Port: {sport}, Dst Port: {dport}, Seq: {seq}"
    if flags & 0x10:
        title += f", Ack: {ack}"
    if not quoted:
        title += f", Len: {seglen}"
    return node(title, s, max(s + 20, stop), kids)


_OPTION_KINDS: Final = {
    0: "End of Option List",
    1: "No-Operation",
    2: "Maximum Segment Size",
    3: "Window Scale",
    4: "SACK Permitted",
    5: "SACK",
    8: "Time Stamp Option",
    19: "TCP MD5 Signature Option",
    28: "User Timeout",
    29: "TCP Authentication Option",
    30: "Multipath TCP",
    34: "TCP Fast Open Cookie",
}
_OPTION_SHORT: Final = {
    0: "End of Option List (EOL)",
    1: "No-Operation (NOP)",
    2: "Maximum segment size",
    3: "Window scale",
    4: "SACK permitted",
    5: "SACK",
    8: "Timestamps",
    19: "TCP MD5 signature",
    28: "User Timeout",
    30: "Multipath TCP",
    34: "TCP Fast Open",
}


def _tcp_options(d: bytes, start: int, end: int) -> Node:
    out: list[Node] = []
    names: list[str] = []
    p = start
    while p < end and len(out) < MAX_ITEMS:
        kind = d[p]
        ln = 1 if kind in (0, 1) else (d[p + 1] if p + 1 < end else 0)
        if (ln < 2 and kind not in (0, 1)) or p + ln > end:
            break
        names.append(_OPTION_SHORT.get(kind, "Unknown"))
        out.append(_tcp_option(d, p, ln))
        p += ln  # past an End of Option List each byte left is one more, as tshark reads it
    label = f"Options: ({end - start} bytes)" + "".join(f", {n}" for n in names)
    return node(label, start, end, out)


def _tcp_option(d: bytes, p: int, ln: int) -> Node:
    kind = d[p]
    body = d[p + 2 : p + ln]
    kids = [node(f"Kind: {_OPTION_KINDS.get(kind, 'Unknown')} ({kind})", p, p + 1)]
    if ln > 1:
        kids.append(node(f"Length: {ln}", p + 1, p + 2))
    title = _OPTION_SHORT.get(kind, f"Unknown (0x{kind:02x})")
    if kind == 2 and ln == 4:
        mss = u16(body, 0)
        title = f"Maximum segment size: {mss} bytes"
        kids.append(node(f"MSS Value: {mss}", p + 2, p + 4))
    elif kind == 3 and ln == 3:
        shift = body[0]
        title = f"Window scale: {shift} (multiply by {1 << min(shift, 14)})"
        kids.append(node(f"Shift count: {shift}", p + 2, p + 3))
        kids.append(node(f"[Multiplier: {1 << min(shift, 14)}]", p + 2, p + 3))
    elif kind == 5 and ln >= 10 and (ln - 2) % 8 == 0:
        blocks = [(u32(body, i), u32(body, i + 4)) for i in range(0, ln - 2, 8)]
        title = "SACK " + " ".join(f"{a}-{b}" for a, b in blocks)
        for i, (a, b) in enumerate(blocks):
            kids.append(node(f"left edge = {a}", p + 2 + 8 * i, p + 6 + 8 * i))
            kids.append(node(f"right edge = {b}", p + 6 + 8 * i, p + 10 + 8 * i))
        kids.append(node(f"[TCP SACK Count: {len(blocks)}]", p, p))
    elif kind == 8 and ln == 10:
        tsval, tsecr = u32(body, 0), u32(body, 4)
        title = f"Timestamps: TSval {tsval}, TSecr {tsecr}"
        kids.append(node(f"Timestamp value: {tsval}", p + 2, p + 6))
        kids.append(node(f"Timestamp echo reply: {tsecr}", p + 6, p + 10))
    return node(f"TCP Option - {title}", p, p + ln, kids)


# ----------------------------------------------------------------------------- UDP


def udp(data: bytes, s: int, net: Net) -> Node | None:
    if s + 8 > len(data):
        return None
    d = data
    sport, dport = u16(d, s), u16(d, s + 2)
    length = u16(d, s + 4)
    csum = u16(d, s + 6)
    avail = (net.end if net.end > s else len(d)) - s  # what the IP header says, as tshark
    bogus = length > avail
    if csum == 0 and len(net.src) == 4:
        shown = "0x0000 [zero-value ignored]"
    elif bogus:
        shown = f"0x{csum:04x} [unverified]"
    else:
        shown = verdict(csum, s, net, "udp")
    kids = [
        node(f"Source Port: {sport}", s, s + 2),
        node(f"Destination Port: {dport}", s + 2, s + 4),
        node(
            f"Length: {length}" + (f" (bogus, payload length {avail})" if bogus else ""),
            s + 4,
            s + 6,
        ),
        node(f"Checksum: {shown}", s + 6, s + 8),
    ]
    stop = net.layer_end(s, "UDP", at=s, proto=17)  # the walk's: the length, within IP's
    end = min(len(d), stop if stop >= 0 else len(d))
    if end > s + 8:
        size = end - s - 8
        kids.append(node(f"UDP payload ({size} byte{'' if size == 1 else 's'})", s + 8, end))
    return node(f"User Datagram Protocol, Src Port: {sport}, Dst Port: {dport}", s, s + 8, kids)
