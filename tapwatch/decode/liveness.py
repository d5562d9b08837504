"""The protocols that tell neighbours a router is alive: VRRP (IP protocol 112, v2 and v3) and
BFD (UDP 3784/3785/4784/6784), as tcpdump 4.99 prints them.

tcpdump takes a datagram *from* UDP port 49152 for a Broadcom LI shim
(``BCM-LI-SHIM: ...``) before it looks for BFD, and 49152 is the first source
port RFC 5881 gives BFD sessions, so FRR's first session prints that way;
tapwatch prints BFD there, ``--strict-tcpdump`` prints tcpdump's shim.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.core import (
    IP_PROTOS,
    UDP_PORTS,
    Acc,
    Ctx,
    IpHandler,
    PortHandler,
    Trunc,
    Walk,
    bind,
    bits,
    head_noport,
    ip4,
    ip_text,
    ip_walk,
    need,
    ntop6,
    u16,
    u32,
)
from tapwatch.decode.verbose import cksum, hexdump, pseudo_sum

# --------------------------------------------------------------------------- VRRP

_VRRP_AUTH: Final = {0: "none", 1: "simple", 2: "ah"}


def vrrp(d: bytes, p: int, end: int, length: int, a: Acc, ctx: Ctx, o: list[str]) -> None:
    """Appends to ``o`` as it reads, so a cut-short packet keeps what was printed."""
    need(p, 1, end)
    version = d[p] >> 4
    t = d[p] & 0x0F
    o.append(f"VRRPv{version}, " + ("Advertisement" if t == 1 else f"unknown type ({t})"))
    a.info = f"Announcement (v{version})"
    if a.ttl != 255:
        o.append(f", (ttl {a.ttl})")
    if version < 2 or version > 3 or t != 1:
        return
    need(p + 1, 2, end)
    o.append(f", vrid {d[p + 1]}, prio {d[p + 2]}")
    need(p + 4, 2, end)
    auth = d[p + 4]
    if version == 2:
        o.append(
            f", authtype {_VRRP_AUTH.get(auth, f'#{auth}')}, intvl {d[p + 5]}s, length {length}"
        )
    else:
        o.append(f", intvl {(d[p + 4] & 0x0F) << 8 | d[p + 5]}cs, length {length}")
    if not a.verbose:
        return
    need(p + 3, 1, end)
    naddrs = d[p + 3]
    if p + length <= end:
        seg = d[p : p + length]
        bad = cksum(seg) if version == 2 else pseudo_sum(ctx[5], ctx[6], 112, seg)
        if bad:
            o.append(f", (bad vrrp cksum {u16(d, p + 6):x})")
    o.append(", addrs" + (f"({naddrs})" if naddrs > 1 else "") + ":")
    q = p + 8
    sep = " "
    six = len(ctx[5]) == 16
    for _ in range(naddrs):
        need(q, 16 if six else 4, end)
        o.append(sep + (ntop6(d[q : q + 16]) if six else ip4(d[q : q + 4])))
        q += 16 if six else 4
        sep = ","
    if version == 2 and auth == 1:
        need(q, 8, end)
        pw = d[q : q + 8].split(b"\0", 1)[0]
        o.append(
            ' auth "' + "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in pw) + '"'
        )


class _Vrrp(IpHandler):
    def text(
        self, d: bytes, off: int, end: int, clen: int, a: Acc, ctx: Ctx, frag: bool
    ) -> str | None:
        hd = head_noport(ctx)
        out = [hd]
        try:
            vrrp(d, off, end, clen, a, ctx, out)
        except Trunc:
            a.bad = True
            out.append(" [|vrrp]")
        return "".join(out)

    def walk(self, d: bytes, off: int, end: int, clen: int, out: Walk, frag: bool) -> None:
        out.append("VRRP")


# --------------------------------------------------------------------------- BFD

_BFD_PORTS: Final = {3784: "Control", 4784: "Multihop", 6784: "Lag"}
_BFD_DIAG: Final = (
    "No Diagnostic",
    "Control Detection Time Expired",
    "Echo Function Failed",
    "Neighbor Signaled Session Down",
    "Forwarding Plane Reset",
    "Path Down",
    "Concatenated Path Down",
    "Administratively Down",
    "Reverse Concatenated Path Down",
)
_BFD_V0_FLAGS: Final = (
    (0x80, "I Hear You"),
    (0x40, "Demand"),
    (0x20, "Poll"),
    (0x10, "Final"),
    (0x08, "Control Plane Independent"),
    (0x04, "Authentication Present"),
    (0x02, "Reserved"),
    (0x01, "Reserved"),
)
#: BFD's (RFC 5880) flag bits and session states, as tcpdump and Wireshark both name them
BFD_FLAGS: Final = (
    (0x20, "Poll"),
    (0x10, "Final"),
    (0x08, "Control Plane Independent"),
    (0x04, "Authentication Present"),
    (0x02, "Demand"),
    (0x01, "Multipoint"),
)
BFD_STATES: Final = ("AdminDown", "Down", "Init", "Up")
_BFD_AUTH: Final = {
    1: "Simple Password",
    2: "Keyed MD5",
    3: "Meticulous Keyed MD5",
    4: "Keyed SHA1",
    5: "Meticulous Keyed SHA1",
}


def _bfd_auth(d: bytes, p: int, end: int) -> str:
    need(p, 2, end)
    t, ln = d[p], d[p + 1]
    need(p + 2, 1, end)
    out = (
        f"\n\tAuthentication: {_BFD_AUTH.get(t, 'Unknown')} ({t}), length: {ln}"
        f"\n\t  Auth Key ID: {d[p + 2]}"
    )
    if t == 1:
        if ln < 4 or ln > 19:
            return out + f"[invalid length {ln}]"
        pw = d[p + 3 : min(p + ln, end)]
        out += ", Password: " + "".join(chr(c) if 0x20 <= c < 0x7F else f"\\{c:03o}" for c in pw)
        need(p + 3, ln - 3, end)
    elif t in (2, 3, 4, 5):
        size, word = (16, "Digest") if t in (2, 3) else (20, "Hash")
        if ln != size + 8:
            return out + f"[invalid length {ln}]"
        need(p + 4, 4, end)
        out += f", Sequence Number: 0x{u32(d, p + 4):08x}"
        need(p + 8, size, end)
        out += f"\n\t  {word}: {d[p + 8 : p + 8 + size].hex()}"
    return out


def bfd(d: bytes, p: int, end: int, length: int, port: int, verbose: int) -> str:
    if port == 3785:
        out = f"BFD, Echo, length: {length}"
        return out + (hexdump(d[p : min(end, p + length)], "\n\t") if verbose else "")
    if port not in _BFD_PORTS:
        out = f"BFD, unknown ({port}), length: {length}"
        return out + (hexdump(d[p : min(end, p + length)], "\n\t") if verbose else "")
    need(p, 24, end)
    version = d[p] >> 5
    diag = d[p] & 0x1F
    flags = d[p + 1]
    if version == 0:
        head = f"Control, Flags: [{bits(_BFD_V0_FLAGS, flags)}]"
        if not verbose:
            return f"BFDv0, {head}, length: {length}"
        out = f"BFDv0, length: {length}\n\t{head}"
    elif version == 1:
        head = (
            f"{_BFD_PORTS[port]}, State {BFD_STATES[flags >> 6]}, "
            f"Flags: [{bits(BFD_FLAGS, flags & 0x3F)}]"
        )
        if not verbose:
            return f"BFDv1, {head}, length: {length}"
        out = f"BFDv1, length: {length}\n\t{head}"
    else:
        out = f"BFDv{version}, Control, length: {length}"
        return out + (hexdump(d[p : min(end, p + length)], "\n\t") if verbose else "")
    name = _BFD_DIAG[diag] if diag < len(_BFD_DIAG) else "unknown"
    mult = d[p + 2]
    tx = u32(d, p + 12)
    # tcpdump's u_int product, wrapped at 32 bits; in halves, each factor below 2**30: a
    # compiled product of a larger factor goes through Python's long multiplication, which
    # checks for signals, and a Ctrl-C there made mypyc abort the process
    detect = ((mult * (tx >> 16) & 0xFFFF) << 16) + mult * (tx & 0xFFFF) & 0xFFFFFFFF
    out += (
        f", Diagnostic: {name} (0x{diag:02x})"
        f"\n\tDetection Timer Multiplier: {mult} ({detect // 1000} ms Detection "
        f"time), BFD Length: {d[p + 3]}"
        f"\n\tMy Discriminator: 0x{u32(d, p + 4):08x}, Your Discriminator: 0x{u32(d, p + 8):08x}"
        f"\n\t  Desired min Tx Interval:    {tx // 1000:4d} ms"
        f"\n\t  Required min Rx Interval:   {u32(d, p + 16) // 1000:4d} ms"
        f"\n\t  Required min Echo Interval: {u32(d, p + 20) // 1000:4d} ms"
    )
    if flags & 0x04:
        out += _bfd_auth(d, p + 24, end)
    return out


class _Bfd(PortHandler):
    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if dport not in (3784, 3785, 4784, 6784):
            return None
        a.info = "BFD Control message" if dport != 3785 else "BFD Echo message"
        try:
            return bfd(d, off, end, length, dport, a.verbose)
        except Trunc:
            a.bad = True
            return " [|bfd]"

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        if dport in (3784, 3785, 4784, 6784):
            out.append("BFD")


_LI_DIR: Final = {1: "unused", 2: "egress", 3: "ingress"}
_LI_TYPE: Final = {4: "undecided", 5: "ipv4", 6: "ipv6", 7: "ethernet"}
_LI_SUB: Final = {1: "single VLAN tag", 2: "double VLAN tag", 3: "untagged"}


class _BcmLi(PortHandler):
    """Broadcom's lawful-intercept shim, which tcpdump looks for on UDP source port 49152."""

    def text(
        self, d: bytes, off: int, end: int, length: int, a: Acc, sport: int, dport: int
    ) -> str | None:
        if sport != 49152 or (not a.strict and dport in (3784, 3785, 4784, 6784)):
            return None
        if length < 4:
            return f" (length {length} < 4) (invalid)"
        if end - off < 4:
            a.bad = True
            return " [|bcm_li]"
        shim = u32(d, off)
        kind = shim >> 25 & 0xF
        sep = "\n    " if a.verbose else ""
        out = (
            f"{sep}BCM-LI-SHIM: direction {_LI_DIR.get(shim >> 29 & 7, 'unknown')}, pkt-type "
            f"{_LI_TYPE.get(kind, 'unknown')}, pkt-subtype {_LI_SUB.get(shim >> 22 & 7, 'unknown')}"
            f", li-id {shim & 0x3FFFFF}{sep}"
        )
        p = off + 4
        if not a.verbose:
            if off + length > end:
                a.bad = True
                return out + " [|bcm_li]"
            return out
        if a.w.full_before(p):  # the walk's count with the shim: no further in (a shim
            return out  # nested in shims recursed until the interpreter's stack ran out)
        if kind == 7:
            from tapwatch.decode.link import ether

            return out + ether(d[: min(end, off + length)], p, a)[1]
        if kind in (4, 5, 6):
            if p >= end:
                return out + " [|bcm_li]"
            v = d[p] >> 4
            if kind == 4 and v not in (4, 6):
                return out + "unknown payload"
            return out + ip_text(d, p, min(end, off + length), a)
        return out + " (invalid)"

    def walk(self, d: bytes, off: int, end: int, out: Walk, sport: int, dport: int) -> None:
        if sport != 49152 or dport in (3784, 3785, 4784, 6784):
            return
        out.append("BCM-LI")
        if end - off < 5 or out.full():  # (shims nested in shims: the walk had no bound)
            return
        kind = d[off] >> 1 & 0xF
        if kind == 7:
            from tapwatch.decode.link import ether_walk

            ether_walk(d[:end], off + 4, out)
        elif kind in (4, 5, 6) and d[off + 4] >> 4 in (4, 6):
            ip_walk(d, off + 4, end, out)


bind(IP_PROTOS, (112,), _Vrrp("VRRP"))
bind(UDP_PORTS, (49152,), _BcmLi("BCM-LI", tunnel=True))
bind(UDP_PORTS, (3784, 3785, 4784, 6784), _Bfd("BFD"))
