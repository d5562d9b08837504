"""Interface events read back: a LINKTYPE_NETLINK record (cooked header, rtnetlink message).

A live session says what changed with the link's history at hand (``tapwatch.capture.links``);
a record read from a file has only its message, so this says what the message itself
says: which link, what kind of change, the link's state, MTU, the address or the route.
Hostile bytes: every length is checked, nothing is trusted, the result is plain text for
the sanitizer like any decoded field.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import struct

COOKED_LEN = 16
_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, proto, scope, type
_RTA = struct.Struct("=HH")

RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = (
    16,
    17,
    20,
    21,
    24,
    25,
)
IFLA_IFNAME, IFLA_MTU = 3, 4
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
IFF_UP = 0x1
ALL_CHANGED = 0xFFFFFFFF


def _attrs(data: bytes, at: int, end: int) -> dict[int, bytes]:
    """The route attributes between ``at`` and ``end`` (the first of each type)."""
    out: dict[int, bytes] = {}
    while at + 4 <= end:
        length, kind = _RTA.unpack_from(data, at)
        if length < 4 or at + length > end:
            break
        out.setdefault(kind & 0x3FFF, data[at + 4 : at + length])
        at += (length + 3) & ~3
    return out


def _text(value: bytes | None) -> str:
    return value.split(b"\0", 1)[0].decode("utf-8", "replace") if value else ""


def _u32(value: bytes | None) -> int | None:
    return struct.unpack("=I", value)[0] if value is not None and len(value) == 4 else None


def _addr(family: int, value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        if family == socket.AF_INET and len(value) == 4:
            return str(ipaddress.IPv4Address(value))
        if family == socket.AF_INET6 and len(value) == 16:
            return str(ipaddress.IPv6Address(value))
    except ValueError:
        return None
    return value.hex()


_MTU_WORDS = re.compile(r": mtu (\d{1,10}) -> (\d{1,10})\Z")


def _mtu_before(comment: str | None, mtu: int | None) -> int | None:
    """The MTU before a change, as the record's comment says it (None when it does not, or
    names another new MTU than the message: the message is what is trusted)."""
    if comment is None or mtu is None or len(comment) > 512:
        return None
    m = _MTU_WORDS.search(comment)
    if m is None or int(m.group(2)) != mtu:
        return None
    return int(m.group(1))


def link_mtu(record: bytes) -> tuple[int, str, int] | None:
    """``(index, name, mtu)`` a LINKTYPE_NETLINK record's new-link message says (a link
    added, changed, up or down: each carries the MTU the link has then), None for any other
    record or one without an MTU. ``name`` is "" when the message names none."""
    msg = record[COOKED_LEN:]
    if len(msg) < _NLMSG.size + _IFINFO.size:
        return None
    length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(msg)
    if kind != RTM_NEWLINK:
        return None
    at = _NLMSG.size
    _fam, _type, index, _if_flags, _change = _IFINFO.unpack_from(msg, at)
    attrs = _attrs(msg, at + _IFINFO.size, min(length, len(msg)))
    mtu = _u32(attrs.get(IFLA_MTU))
    if not mtu:
        return None
    return index, _text(attrs.get(IFLA_IFNAME)), mtu


def describe(record: bytes, names: dict[int, str] | None = None, comment: str | None = None) -> str:
    """``NAME: what happened`` for one LINKTYPE_NETLINK record (a short word if unknown).

    ``names``: the links' names by index, as earlier records of the same capture told
    them (kept up to date here); address and route messages carry only the index.
    ``comment``: the record's pcapng comment, where tapwatch writes the words it said
    live; an MTU change is said as live (``mtu OLD -> NEW``) when the comment says the
    MTU it had before and its new MTU is the message's.
    """
    names = names if names is not None else {}
    msg = record[COOKED_LEN:]
    if len(msg) < _NLMSG.size:
        return "netlink: message cut short"
    length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(msg)
    end = min(length, len(msg))
    at = _NLMSG.size
    if kind in (RTM_NEWLINK, RTM_DELLINK) and end >= at + _IFINFO.size:
        _fam, _type, index, flags, change = _IFINFO.unpack_from(msg, at)
        attrs = _attrs(msg, at + _IFINFO.size, end)
        name = _text(attrs.get(IFLA_IFNAME)) or names.get(index, f"if{index}")
        if len(names) < 4096:
            names[index] = name
        if kind == RTM_DELLINK:
            return f"{name}: link removed"
        state = "up" if flags & IFF_UP else "down"
        mtu = _u32(attrs.get(IFLA_MTU))
        said = f"mtu {mtu}, {state}" if mtu is not None else state
        if change == ALL_CHANGED:
            return f"{name}: link added (index {index}, {said})"
        old = _mtu_before(comment, mtu)
        if old is not None:
            return f"{name}: mtu {old} -> {mtu}"
        return f"{name}: link {state}" if change & IFF_UP else f"{name}: link ({said})"
    if kind in (RTM_NEWADDR, RTM_DELADDR) and end >= at + _IFADDR.size:
        family, plen, _f, _scope, index = _IFADDR.unpack_from(msg, at)
        attrs = _attrs(msg, at + _IFADDR.size, end)
        name = _text(attrs.get(IFA_LABEL)) or names.get(index, f"if{index}")
        addr = _addr(family, attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)) or "?"
        words = "address added" if kind == RTM_NEWADDR else "address removed"
        return f"{name}: {words} {addr}/{plen}"
    if kind in (RTM_NEWROUTE, RTM_DELROUTE) and end >= at + _RTMSG.size:
        family, dst_len, *_rest = _RTMSG.unpack_from(msg, at)
        attrs = _attrs(msg, at + _RTMSG.size, end)
        oif = _u32(attrs.get(RTA_OIF))
        dst = _addr(family, attrs.get(RTA_DST))
        text = f"{dst}/{dst_len}" if dst is not None else "default"
        gateway = _addr(family, attrs.get(RTA_GATEWAY))
        if gateway:
            text += f" via {gateway}"
        words = "route added" if kind == RTM_NEWROUTE else "route removed"
        name = names.get(oif, f"if{oif}") if oif is not None else "?"
        return f"{name}: {words} {text}"
    return f"netlink: message type {kind}"
