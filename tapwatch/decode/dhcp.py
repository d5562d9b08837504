"""BOOTP/DHCP as tcpdump prints its first line."""

from __future__ import annotations

from tapwatch.decode.core import S_I, UDP_PORTS, Acc, PortHandler, bind
from tapwatch.decode.names import DHCP_TYPES


def _dhcp(d: bytes, off: int, end: int, length: int, a: Acc) -> str:
    """BOOTP/DHCP: tcpdump's first line plus the DHCP message type."""
    n = end - off
    if n < 1:
        a.bad = True
        a.info = "DHCP [|bootp]"
        return "BOOTP/DHCP [|bootp]"
    op = d[off]
    opname = {1: "Request", 2: "Reply"}.get(op, f"unknown (0x{op:02x})")
    if n < 236:
        a.bad = True
        a.info = f"BOOTP {opname} [|bootp]"
        return f"BOOTP/DHCP, {opname} [|bootp]"
    htype, hlen = d[off + 1], d[off + 2]
    xid = S_I.unpack_from(d, off + 4)[0]
    text = f"BOOTP/DHCP, {opname}"
    if htype == 1 and hlen == 6 and op == 1:
        text += f" from {d[off + 28:off + 34].hex(':')}"
    text += f", length {length}"
    mtype = None
    p = off + 240
    if n >= 240 and d[off + 236:off + 240] == b"\x63\x82\x53\x63":
        while p < end:
            code = d[p]
            if code == 255:
                break
            if code == 0:
                p += 1
                continue
            if p + 2 > end or p + 2 + d[p + 1] > end:
                a.bad = True
                text += " [|bootp]"
                break
            if code == 53 and d[p + 1] >= 1 and mtype is None:
                mtype = d[p + 2]
            p += 2 + d[p + 1]
    if mtype is not None:
        tname = DHCP_TYPES.get(mtype, f"Unknown ({mtype})")
        a.info = f"DHCP {tname} - Transaction ID 0x{xid:08x}"
    else:
        a.info = f"Boot {opname} - Transaction ID 0x{xid:08x}"
    return text


class _Dhcp(PortHandler):
    def text(self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int,
             dport: int) -> str | None:
        a.layers.append("DHCP")
        return _dhcp(d, off, end, length, a)

    def walk(self, d: bytes, off: int, end: int, out: list[str], sport: int, dport: int) -> None:
        out.append("DHCP")


bind(UDP_PORTS, (67, 68), _Dhcp("DHCP"))
