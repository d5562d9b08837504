"""scapy's fields as tree nodes: the tree's wording for what tshark's builders do not word.

Each layer scapy dissected becomes a node whose children are its fields, every field mapped
back to its bytes in the frame (bit fields to the byte that holds them), TCP's and DHCP's
options one node each, nested packets as nested nodes up to ``MAX_DEPTH``; labels escaped
and bounded (:func:`tapwatch.decode.node.clip`).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from tapwatch.decode.fields import (
    Net,
    Where,
    dns_class,
    dns_type,
    ethertype_name,
    field_name,
    icmp_type_name,
    tcp_option,
    text_value,
    value,
)
from tapwatch.decode.node import Node, clip

MAX_DEPTH = 6


def ether_label(data: bytes, start: int) -> str:
    from tapwatch.decode.depth import mac_text

    src, dst = mac_text(data[start + 6 : start + 12]), mac_text(data[start : start + 6])
    return f"Ethernet II, Src: {src}, Dst: {dst}"


def ether_fields(children: list[Node], data: bytes, start: int) -> list[Node]:
    """Source and Destination with the vendor's name, as Wireshark resolves them."""
    from tapwatch.decode.depth import mac_text

    out = []
    for c in children:
        if c.label.startswith("Destination:") and c.end - c.start == 6:
            c = Node(f"Destination: {mac_text(data[c.start : c.end])}", c.start, c.end, c.children)
        elif c.label.startswith("Source:") and c.end - c.start == 6:
            c = Node(f"Source: {mac_text(data[c.start : c.end])}", c.start, c.end, c.children)
        out.append(c)
    return out


def own_bytes(layer: Any) -> bytes:
    """The bytes of this layer's header alone (not its payload)."""
    cache = getattr(layer, "raw_packet_cache", None)
    if cache is not None:
        return bytes(cache)
    try:
        return bytes(layer.self_build())
    except Exception:
        return b""


def _bitpos(s: Any, total: int) -> int:
    """Bit offset reached, from a getfield() remainder (bytes, or (bytes, bits) mid-byte)."""
    if isinstance(s, tuple):
        return (total - len(s[0])) * 8 + s[1]
    return (total - len(s)) * 8


def _probe_for(pkt: Any) -> Any:
    """A blank instance of ``pkt``'s class wired like ``pkt`` (parent, underlayer, original).

    Dissected layers are not always left as dissected: scapy drops DNS ``rdlen``
    after parsing, for instance, which would make ``length_from`` read ``None``.
    Re-dissecting into a blank twin, storing each value as ``do_dissect`` does,
    reproduces the exact state every field saw.
    """
    try:
        probe = type(pkt)(_internal=1, _underlayer=pkt.underlayer, _parent=pkt.parent)
        object.__setattr__(probe, "original", pkt.original)
        return probe
    except Exception:
        return pkt


def _reported(net: Net, claimed: int) -> int:
    """Where an IP payload ends: where its header says, unless the frame ended sooner on the
    wire (tshark's reported length)."""
    return claimed if net.wire is None else min(claimed, net.wire)


def follow_ip(net: Net, name: str, start: int) -> None:
    """After an IP header: its addresses and the end of its payload, for the checksums."""
    d = net.data
    if name in ("IP", "IPerror") and start + 20 <= len(d) and d[start] >> 4 == 4:
        net.src = d[start + 12 : start + 16]
        net.dst = d[start + 16 : start + 20]
        net.end = _reported(net, start + (d[start + 2] << 8 | d[start + 3]))
        net.fragment = bool((d[start + 6] << 8 | d[start + 7]) & 0x3FFF)
    elif name in ("IPv6", "IPerror6") and start + 40 <= len(d) and d[start] >> 4 == 6:
        net.src = d[start + 8 : start + 24]
        net.dst = d[start + 24 : start + 40]
        net.end = _reported(net, start + 40 + (d[start + 4] << 8 | d[start + 5]))
        net.fragment = False
    elif name == "IPv6ExtHdrFragment" and start + 4 <= len(d):
        net.fragment = bool((d[start + 2] << 8 | d[start + 3]) & 0xFFF9)


def field_nodes(pkt: Any, own: bytes, base: int, depth: int, net: Net) -> list[Node]:
    """Field nodes of one layer, by re-running each field's ``getfield`` over its bytes.

    Re-dissecting (rather than rebuilding with ``addfield``) measures what the
    frame really contains: a wrong checksum or a compressed DNS name keeps its
    original size.  Bit fields come back as ``(rest, bits)`` tuples; a field
    gets the byte(s) that contain its bits.
    """
    probe = _probe_for(pkt)
    if type(pkt).__name__ == "RadioTap" and probe is not pkt:
        # radiotap's fields are aligned from the header's start: scapy measures how far
        # in a field is by the packet's original bytes, which here are the header's own
        object.__setattr__(probe, "original", own)
    where = Where(type(pkt).__name__, base, net, probe)
    total = len(own)
    s: Any = own
    nodes: list[Node] = []
    for f in pkt.fields_desc:
        before = _bitpos(s, total)
        try:
            s2, fval = f.getfield(probe, s)
        except Exception:  # attribute the rest of the header to this field
            broken = _field_label(where, f, pkt.getfieldval(f.name))
            if broken is not None:
                nodes.append(Node(clip(broken), base + before // 8, base + total, []))
            break
        if getattr(f, "isconditional", False) and fval is None:
            s = s2
            continue
        probe.fields[f.name] = fval
        after = _bitpos(s2, total)
        start = base + before // 8
        end = base + (after + 7) // 8
        children: list[Node] = []
        kind = type(f).__name__
        if depth < MAX_DEPTH:
            if getattr(f, "holds_packets", False):
                children = _packet_children(fval, start, end, depth + 1, net)
            elif kind == "TCPOptionsField" and isinstance(fval, list):
                children = _tcp_option_nodes(own, start - base, end - base, base)
            elif kind == "DHCPOptionsField":
                children = _dhcp_option_nodes(own, start - base, end - base, base)
        if children or (getattr(f, "holds_packets", False) and fval):
            label: str | None = f"{field_name(where.layer, f.name)} ({end - start} bytes)"
        else:
            label = _field_label(where, f, fval)
        if label is not None:
            nodes.append(Node(clip(label), start, end, children))
        s = s2
        if not (s[0] if isinstance(s, tuple) else s) and (
            getattr(f, "ismayend", False)
            or (
                fval is not None
                and getattr(f, "isconditional", False)
                and getattr(getattr(f, "fld", None), "ismayend", False)
            )
        ):
            break
    return nodes


def _tcp_option_nodes(own: bytes, start: int, end: int, base: int) -> list[Node]:
    """One child per TCP option (kind, length, value), from the option bytes themselves."""
    out: list[Node] = []
    p = start
    while p < end:
        kind = own[p]
        ln = 1 if kind in (0, 1) else (own[p + 1] if p + 1 < end else 0)
        if ln < 1 or p + ln > end:
            out.append(Node(clip(f"[bad option kind {kind}]"), base + p, base + end, []))
            break
        out.append(
            Node(
                clip(tcp_option(kind, own[p + 2 : p + ln] if ln > 2 else b"")),
                base + p,
                base + p + ln,
                [],
            )
        )
        p += ln
        if kind == 0:
            if p < end:
                out.append(Node(f"Padding ({end - p} bytes)", base + p, base + end, []))
            break
    return out


def _dhcp_option_nodes(own: bytes, start: int, end: int, base: int) -> list[Node]:
    """One child per DHCP option, worded as tcpdump -v words it, with its bytes."""
    from tapwatch.decode.dhcp import option

    out: list[Node] = []
    p = start
    while p < end:
        tag = own[p]
        if tag == 0:
            p += 1
            continue
        if tag == 255:
            out.append(Node("End (255)", base + p, base + p + 1, []))
            break
        if p + 2 > end or p + 2 + own[p + 1] > end:
            out.append(Node(f"[option {tag} cut short]", base + p, base + end, []))
            break
        ln = own[p + 1]
        name, text = option(tag, own[p + 2 : p + 2 + ln], " ")
        out.append(
            Node(
                clip(f"{name} ({tag}): {text}" if text else f"{name} ({tag})"),
                base + p,
                base + p + 2 + ln,
                [],
            )
        )
        p += 2 + ln
    return out


def _packet_children(val: Any, start: int, end: int, depth: int, net: Net) -> list[Node]:
    """Nodes for the packets held by a PacketField/PacketListField, laid out in order."""
    from scapy.packet import Packet

    items = val if isinstance(val, list) else [val]
    out: list[Node] = []
    pos = start
    for item in items:
        if not isinstance(item, Packet):
            continue
        own = own_bytes(item)
        size = len(own)
        pay = item.payload
        if pay is not None and type(pay).__name__ not in ("NoPayload", "Padding"):
            with contextlib.suppress(Exception):
                size += len(bytes(pay))
        s = min(pos, end)
        e = min(end, s + size)
        try:
            kids = field_nodes(item, own, s, depth, net)
        except Exception:
            kids = []
        out.append(Node(clip(layer_label(item, e - s)), s, e, kids))
        pos = e
    return out


def _field_label(where: Where, f: Any, val: Any) -> str | None:
    """``Name: value`` in the analyst's words (:mod:`tapwatch.decode.fields`); None: the
    field is not there (an absent option, an empty list)."""
    try:
        shown = value(where, f, val)
    except Exception:
        shown = "?"
    if shown is None:
        return None
    return f"{field_name(where.layer, f.name)}: {shown}"


_REPR_BYTES = re.compile(r"""\bb['"](.*?)['"]""")


def layer_label(layer: Any, size: int) -> str:
    """Wireshark-style title for well-known layers, scapy's name and summary otherwise."""
    name = type(layer).__name__
    try:
        g = layer.getfieldval
        if name == "Ether":
            if g("src") is None or g("dst") is None:  # an empty frame field (OpenFlow's data)
                return f"Ethernet II, {size} bytes"
            return f"Ethernet II, Src: {g('src')}, Dst: {g('dst')}"
        if name in ("Dot1Q", "Dot1AD"):
            kind = "802.1ad" if name == "Dot1AD" else "802.1Q Virtual LAN"
            return f"{kind}, PRI: {g('prio')}, DEI: {g('dei')}, ID: {g('vlan')}"
        if name in ("IP", "IPerror"):
            pre = "" if name == "IP" else "[quoted] "
            return f"{pre}Internet Protocol Version 4, Src: {g('src')}, Dst: {g('dst')}"
        if name in ("IPv6", "IPerror6"):
            pre = "" if name == "IPv6" else "[quoted] "
            return f"{pre}Internet Protocol Version 6, Src: {g('src')}, Dst: {g('dst')}"
        if name in ("TCP", "TCPerror"):
            pre = "" if name == "TCP" else "[quoted] "
            return (
                f"{pre}Transmission Control Protocol, Src Port: {g('sport')}, "
                f"Dst Port: {g('dport')}, Seq: {g('seq')}, Ack: {g('ack')}"
            )
        if name in ("UDP", "UDPerror"):
            pre = "" if name == "UDP" else "[quoted] "
            return f"{pre}User Datagram Protocol, Src Port: {g('sport')}, Dst Port: {g('dport')}"
        if name in ("ICMP", "ICMPerror"):
            pre = "" if name == "ICMP" else "[quoted] "
            return f"{pre}Internet Control Message Protocol, {icmp_type_name(int(g('type')))}"
        if name == "DNSQR":
            return (
                f"{text_value(g('qname'))}: type {dns_type(int(g('qtype')))}, "
                f"class {dns_class(int(g('qclass')))}"
            )
        if name == "DNSRR":
            rdata = g("rdata")
            shown = text_value(rdata) if isinstance(rdata, bytes) else str(rdata)
            kind = dns_type(int(g("type")))
            what = {
                "A": "addr",
                "AAAA": "addr",
                "CNAME": "cname",
                "NS": "ns",
                "PTR": "ptr",
                "MX": "mx",
                "TXT": "txt",
            }.get(kind, "data")
            return (
                f"{text_value(g('rrname'))}: type {kind}, class "
                f"{dns_class(int(g('rclass')))}, {what} {shown}"
            )
        if name == "VXLAN":
            return f"Virtual eXtensible Local Area Network, VNI: {int(g('vni'))}"
        if name == "OpenVPN":
            return f"OpenVPN Protocol, {layer.sprintf('%opcode%')}"
        if name == "GRE":
            return f"Generic Routing Encapsulation ({ethertype_name(int(g('proto')))})"
        if name == "ARP":
            op = {1: "request", 2: "reply"}.get(g("op"), f"opcode {g('op')}")
            return f"Address Resolution Protocol ({op})"
        if name == "DNS":
            return f"Domain Name System ({'response' if g('qr') else 'query'})"
        if name == "BOOTP":
            return "Bootstrap Protocol"
        if name == "DHCP":
            return "DHCP options"
        if name == "CookedLinux":
            return "Linux cooked capture v1"
        if name == "CookedLinuxV2":
            return "Linux cooked capture v2"
        if name in ("Loopback", "LoopbackOpenBSD"):
            return f"Null/Loopback, family {g('type')}"
        if name == "Raw":
            return f"Data ({size} bytes)"
        if name == "Padding":
            return f"Padding ({size} bytes)"
        if name.startswith("ICMPv6"):
            return f"Internet Control Message Protocol v6: {layer.name}"
        summary = layer.mysummary()
        if isinstance(summary, tuple):
            summary = summary[0]
        # scapy's summaries quote bytes as Python does (b'boot.img'): as text instead
        summary = _REPR_BYTES.sub(r'"\1"', str(summary)).replace("None", "-")
        return f"{layer.name}: {summary}" if summary and summary != layer.name else layer.name
    except Exception:
        return str(getattr(layer, "name", name))
