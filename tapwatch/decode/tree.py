"""The protocol tree (``detail``) and the ``-v`` dump (``verbose_text``), through scapy.

They dissect the one *selected* packet with scapy (imported lazily, only the
layer modules needed: ~0.3 s) and map every layer and field back to byte offsets
in the original frame, so the hex view can highlight what the tree selects.
Layers tshark's words are known for are built by :mod:`tapwatch.decode.wstree`; the
rest are scapy's fields (:mod:`tapwatch.decode.scapy_fields`). A tree's lines and bounds:
:mod:`tapwatch.decode.node`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from tapwatch.decode.fields import (
    Net,
)
from tapwatch.decode.node import MAX_NODES, Node, bounded, clip, dump_bounded
from tapwatch.decode.scapy_fields import (
    ether_fields,
    ether_label,
    field_nodes,
    follow_ip,
    layer_label,
    own_bytes,
)
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)
from tapwatch.sanitize import printable, printable_lines

if TYPE_CHECKING:
    from tapwatch.decode.core import Walk


# --------------------------------------------------------------------------- scapy detail

_scapy_ready = False


def _load_scapy() -> None:
    """Import the scapy layers the tree needs (about 0.3 s, vs 1.2 s for ``scapy.all``)."""
    global _scapy_ready
    if _scapy_ready:
        return
    import importlib
    import importlib.util

    # IGMP (v3 included) is one layer module in newer scapy, two contrib modules in older
    igmp: tuple[str, ...] = ("layers.igmp",)
    if importlib.util.find_spec("scapy.layers.igmp") is None:
        igmp = ("contrib.igmp", "contrib.igmpv3")
    # Importing a layer module is what binds it (UDP 53 -> DNS, 67/68 -> BOOTP, ...); the
    # tunnels' modules make their inner packets layers of the tree (~10 ms more).
    for mod in (
        "layers.l2",
        "layers.inet",
        "layers.inet6",
        "layers.dns",
        "layers.dhcp",
        "layers.dhcp6",
        "layers.ntp",
        "layers.vxlan",
        "layers.l2tp",
        "layers.ipsec",
        "layers.snmp",
        "layers.radius",
        "layers.rip",
        "layers.tftp",
        "layers.isakmp",
        "contrib.geneve",
        "contrib.mpls",
        "contrib.wireguard",
        # routing and redundancy: what a tunnel host's daemons say (~0.1 s more)
        "contrib.ospf",
        "layers.vrrp",
        "contrib.bfd",
        *igmp,
        "contrib.pim",
        "contrib.ldp",
        "contrib.bgp",
        "layers.ppp",
        "layers.pptp",
        "contrib.openflow",
        "layers.dot11",  # radiotap (127) and 802.11 (105) by their link types
    ):
        logger = logging.getLogger("scapy")
        level = logger.level
        logger.setLevel(logging.ERROR)  # contrib.bgp says which AS size it assumes, on stderr
        try:
            with contextlib.suppress(ImportError):  # contrib modules differ between versions
                importlib.import_module(f"scapy.{mod}")
        finally:
            logger.setLevel(level)

    importlib.import_module("tapwatch.decode.scapy_layers")  # OpenVPN
    _scapy_ready = True


_MIN_HEADER = {
    "Ether": 14,
    "CookedLinux": 16,
    "CookedLinuxV2": 20,
    "Loopback": 4,
    "LoopbackOpenBSD": 4,
}


def _dissect(data: bytes, linktype: int) -> Any:
    """Build the scapy packet for ``data``: the first layer is chosen from the link type."""
    _load_scapy()
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Ether, Loopback, LoopbackOpenBSD
    from scapy.packet import Raw

    cls: Any = Raw
    if linktype == LINKTYPE_ETHERNET:
        cls = Ether
    elif linktype == LINKTYPE_RAW:
        v = data[0] >> 4 if data else 0
        cls = IP if v == 4 else IPv6 if v == 6 else Raw
    elif linktype == LINKTYPE_IPV4:
        cls = IP
    elif linktype == LINKTYPE_IPV6:
        cls = IPv6
    elif linktype == LINKTYPE_LINUX_SLL:
        cls = CookedLinux
    elif linktype == LINKTYPE_LINUX_SLL2:
        cls = CookedLinuxV2
    elif linktype == LINKTYPE_NULL:
        # The family is in the capturing host's byte order; scapy's Loopback is little-endian.
        cls = LoopbackOpenBSD if len(data) >= 4 and data[0] == 0 and data[1] == 0 else Loopback
    else:  # what scapy binds to the link type (PPP, PPP in HDLC framing, PPPoE ...), if any
        from scapy.config import conf

        cls = conf.l2types.get(linktype, Raw)
    if len(data) < _MIN_HEADER.get(cls.__name__, 0):
        # Too short for the link header.  Besides, a half-dissected Ether would keep
        # dst=None, and displaying that makes scapy *send* an ARP request to find a
        # MAC: a decoder must never touch the network.
        cls = Raw
    logger = logging.getLogger("scapy")
    level = logger.level
    logger.setLevel(logging.ERROR)  # scapy warns on stderr about odd packets: noise in a TUI
    try:
        try:
            return cls(data)
        except Exception:  # the first layer itself did not parse
            return Raw(data)
    finally:
        logger.setLevel(level)


def detail(data: bytes, linktype: int, wire_len: int | None = None) -> list[Node]:
    """Protocol tree of one frame through scapy, with byte spans; never raises.

    One top node per layer, its children the fields (``ttl: 64``), nested for
    sub-packets such as IP/TCP options or DNS records.  On any failure the result
    is a single node that says so and spans the whole frame.  ``wire_len``: the frame's
    length on the wire when known (a snap length may have cut what was captured): an IP
    header that claims more than the frame had is measured by the frame, as tshark does.
    """
    try:
        if type(data) is not bytes:
            data = bytes(data)
        if not data:
            return [Node("Empty frame (0 bytes)", 0, 0, [])]
        head = data[:MAX_DISSECT]
        pkt = _dissect(head, linktype)
        logger = logging.getLogger("scapy")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            wire = max(wire_len, len(data)) if wire_len is not None else None
            from tapwatch.decode.classify import walk

            walked = walk(head, linktype)
            net = Net(data, wire, walked, linktype)
            nodes = _layer_nodes(pkt, head, net, _walked(walked))
        finally:
            logger.setLevel(level)
        nodes = bounded(nodes, [MAX_NODES])
        if len(data) > len(head):
            nodes.append(
                Node(
                    f"Not dissected: {len(data) - len(head)} bytes after the first {len(head)}",
                    len(head),
                    len(data),
                    [],
                )
            )
        return nodes
    except Exception as exc:  # the tree must never crash the UI
        n = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
        return [
            Node(clip(f"[Dissection failed: {type(exc).__name__}: {exc}] ({n} bytes)"), 0, n, [])
        ]


def verbose_text(data: bytes, linktype: int) -> str:
    """scapy's ``show2`` dump of the frame, for headless ``-vvv``; never raises.

    Bounded as the tree is (:func:`dump_bounded`): the dump runs in tapwatch's own
    process, and 4 KB of 3-byte BGP attributes made 9,136 lines, 200 nested IP-in-IP
    headers 800 KB of text, for one packet."""
    try:
        if type(data) is not bytes:
            data = bytes(data)
        head = data[:MAX_DISSECT]
        pkt = _dissect(head, linktype)
        logger = logging.getLogger("scapy")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            text = str(pkt.show2(dump=True)).rstrip("\n")
        finally:
            logger.setLevel(level)
        text = dump_bounded(printable_lines(text))
        if len(data) > len(head):
            text += f"\n[not dissected: {len(data) - len(head)} bytes after the first {len(head)}]"
        return text
    except Exception as exc:
        n = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
        return printable(f"[dissection failed: {type(exc).__name__}: {exc}] ({n} bytes)")


#: Bytes of a frame scapy is given.  Its cost grows faster than the size on hostile
#: input (a 60 KB DNS message full of compression pointers takes 5-11 s), and a
#: dissection cannot be interrupted, so the input itself is bounded; the rest of
#: the frame is shown as one node (and stays in the hex view).
MAX_DISSECT = 4096


#: scapy's layer classes by the decoder walk's names for the same layers
_WALK_NAMES = {
    "Ether": "Ethernet",
    "Dot1Q": "802.1Q",
    "Dot1AD": "802.1ad",
    "CookedLinux": "SLL",
    "CookedLinuxV2": "SLL2",
    "Loopback": "Null",
    "LoopbackOpenBSD": "Null",
    "ARP": "ARP",
    "IP": "IPv4",
    "IPv6": "IPv6",
    "TCP": "TCP",
    "UDP": "UDP",
    "ICMP": "ICMP",
    "GRE": "GRE",
    "VXLAN": "VXLAN",
    "GENEVE": "Geneve",
    "MPLS": "MPLS",
    "DNS": "DNS",
    "ESP": "ESP",
    "AH": "AH",
    "PPPoE": "PPPoE",
    "OpenVPN": "OpenVPN",
}


def _walked(w: Walk) -> list[tuple[str, int]]:
    """The decoder's header walk of the frame: ``(layer, offset)`` where it knows the offset
    (where each header ends, the builders ask the walk through :meth:`Net.header_end`)."""
    return [(name, st) for name, st in zip(w.names, w.starts, strict=True) if st >= 0]


def _layer_nodes(
    pkt: Any, data: bytes, net: Net, walked: list[tuple[str, int]] | None = None
) -> list[Node]:
    """Walk the layer chain; each layer's own bytes follow the previous layer's.

    Scapy dissects a frame front to back, and a layer's header bytes are exactly
    what ``do_dissect`` consumed (``raw_packet_cache``).  Padding/trailers come
    out as a ``Padding`` layer appended at the end of the chain, which is where
    those bytes sit, so a running offset stays correct.  ``net`` follows the
    innermost IP header so far (the checksums of what it carries need it).

    ``walked`` is the decoder's header walk of the frame (the spans the summary
    line, the counters and the tools read): a layer it names starts where the
    walk says, and bytes scapy leaves undissected (``Raw``) where the walk names a
    layer carry that layer's name -- a protocol bound in the decoder's tables shows
    in the tree with its span without a scapy layer of its own.
    """
    walked = walked or []
    wi = 0  # the walk's layers before this one are matched
    from scapy.packet import NoPayload

    from tapwatch.decode import depth, tcpapps, wstree

    n = len(data)
    nodes: list[Node] = []
    pos = 0
    layer = pkt
    count = 0
    ports: tuple[int, int] | None = None  # the TCP ports the payload is carried on
    while layer is not None and not isinstance(layer, NoPayload) and count < 64:
        count += 1
        kind = type(layer).__name__
        if kind == "Raw" and ports is not None:
            stop = min(n, net.end) if net.end > pos else n
            app = None
            choice = tcpapps.app(ports[0], ports[1], data, pos, stop)
            if choice is not None:
                # tshark's words where the segment holds the message or records whole
                # (wstree.app_layer), the plainer wording otherwise
                app = wstree.app_layer(data, pos, stop, choice, ports, cut=net.end > n)
            if app is None and choice == "http":
                app = depth.http(data, pos, stop)
            elif app is None and choice == "tls":
                app = depth.tls(data, pos, stop)
            if app:
                nodes.extend(app)
                pos = app[-1].end
                layer = layer.payload
                continue
        if (
            kind.startswith("ICMPv6NDOpt")
            and nodes
            and nodes[-1].label.startswith("Internet Control Message Protocol v6")
        ):
            # the options are nested in the ND message's node (depth.icmpv6_nd)
            pos = min(n, pos + len(own_bytes(layer)))
            layer = layer.payload
            continue
        own = own_bytes(layer)
        start = min(pos, n)
        wname = "Data" if kind == "Raw" else _WALK_NAMES.get(kind, "")
        at = -1
        for k in range(wi, len(walked)):
            if (
                (wname == "Data" and walked[k][1] == start)
                or walked[k][0] == wname
                or (wname == "VXLAN" and walked[k][0] == "VXLAN-GPE")  # scapy's one class
            ):
                at = k
                break
        if (
            at < 0
            and wname not in ("", "Data")
            and 0 < wi == len(walked)
            and walked[wi - 1][0] == "VXLAN-GPE"
            and start >= walked[wi - 1][1]
        ):
            # its next protocol names no packet the walk knows (tshark: data); scapy takes
            # the bytes for an Ethernet frame by the plain VXLAN binding
            nodes.append(_data_node(data, start, n))
            pos = n
            break
        if at >= 0 and walked[at][1] <= n:
            start = walked[at][1]  # where the decoder's walk has this layer
            wi = at + 1
            if wname == "Data" and walked[at][0] not in _WALK_NAMES.values():
                kind = walked[at][0]  # a layer scapy does not know: the walk's name
        elif own and data[start : start + len(own)] != own:
            # pre/post_dissect rewrote something: try to locate the header bytes.
            found = data.find(own, start, start + len(own) + 16)
            if found >= 0:
                start = found
        end = min(n, start + len(own))
        built = _wireshark_node(kind, data, start, net, _last_layer(nodes, data))
        if built is not None:
            follow_ip(net, kind, start)
            ports = _nest(nodes, built, kind, data, net, ports)
            pos = end
            if _fragment(kind, data, start):
                # a fragment: tshark shows what it carries as data until it is reassembled
                if pos < n:
                    nodes.append(_data_node(data, pos, n))
                pos = n
                break
            if kind in wstree.WHOLE_MESSAGES:
                layer, pos = _whole_message(nodes, built, kind, layer.payload, data, end, net)
            else:
                layer, pos = _parts(built, kind, layer.payload, pos, data, net, nodes)
            continue
        try:
            children = _within(field_nodes(layer, own, start, 0, net), n)
        except Exception as exc:
            children = [Node(f"[fields unavailable: {type(exc).__name__}]", start, end, [])]
        follow_ip(net, type(layer).__name__, start)
        if kind != type(layer).__name__ and kind != "Raw" and at >= 0:
            # bytes scapy left undissected, where the walk has a layer scapy does not know
            # (and maybe more inside it): one node per walked layer, over its own bytes
            nodes.extend(_walk_named(data, walked, at, end))
            pos = end
            layer = layer.payload
            continue
        if kind != type(layer).__name__:  # named by the walk
            label = f"{printable(kind)} ({end - start} bytes)"
        else:
            label = layer_label(layer, end - start)
        node = Node(clip(label), start, end, children)
        if kind == "Raw" and nodes and _takes_data(nodes[-1], data):
            # the bytes an ICMP echo carries are its Data, nested in it as tshark nests them
            from tapwatch.decode.wstree import data_node

            last = nodes[-1]
            stop = min(last.end, end) if last.end > start else end
            nodes[-1] = Node(
                last.label, last.start, last.end, [*last.children, data_node(data, start, stop)]
            )
            pos = end
            layer = layer.payload
            continue
        if (
            kind == "Padding"
            and nodes
            and nodes[0].label.startswith("Ethernet II,")
            and end > start
        ):
            # what fills a short frame up to Ethernet's minimum: tshark shows it in the
            # layer that named the last Ethernet type (Ethernet's, or the innermost VLAN
            # tag's), over those bytes
            from tapwatch.decode.wstree import hex_value

            at = max((i for i, m in enumerate(nodes) if m.label.startswith(_TAGS)), default=0)
            nodes[at] = _append(
                nodes[at], Node(f"Padding: {hex_value(data[start:end])}", start, end, [])
            )
            pos = end
            layer = layer.payload
            continue
        if kind == "Raw":
            from tapwatch.decode.wstree import data_node

            node = data_node(data, start, end)
        if kind == "TCP":
            seg_end = min(n, net.end) if net.end > start else n
            node = depth.tcp(node, data, seg_end, net.header_end(start, "TCP", at=start, proto=6))
            ports = (int(layer.sport), int(layer.dport))
        elif kind == "DNS":
            node = depth.dns(node, data)
        elif kind.startswith("ICMPv6ND_") or kind in ("ICMPv6NDRedirect",):
            stop = min(n, net.end) if net.end > start else n
            whole = Node(node.label, start, stop, node.children)
            nested = depth.icmpv6_nd(whole, data)
            if nested is not whole:  # the options are in it: it spans them
                node = nested
        elif kind == "Ether":
            node = Node(
                clip(ether_label(data, start)),
                start,
                end,
                ether_fields(node.children, data, start),
            )
        nodes.append(node)
        pos = end
        layer = layer.payload
    if pos < n:
        more = count >= 64 and layer is not None and not isinstance(layer, NoPayload)
        what = "Further layers, not shown" if more else "Trailing bytes"
        nodes.append(Node(clip(f"{what} ({n - pos} bytes)"), pos, n, []))
    return nodes


#: the VLAN tags' titles: an Ethernet pad is shown in the innermost one
_TAGS = ("802.1Q Virtual LAN,", "IEEE 802.1ad,")


def _parts(
    built: Node, kind: str, layer: Any, pos: int, data: bytes, net: Net, nodes: list[Node]
) -> tuple[Any, int]:
    """The scapy layer after a Wireshark-worded node, and where it starts.

    A tunnel's node may span more than scapy's layer did (a WireGuard message, which scapy
    dissects as a header layer and a message layer; the data an OpenVPN message carries; an
    L2TP control message's AVPs; the data GRE nests when tshark has no name for its type):
    the scapy layers whose bytes lie inside it or its children are parts of it and are not
    shown again.  The layers tshark shows after it (the TLS an OpenVPN control
    message carries, the further messages of a TCP segment) are added here."""
    from scapy.packet import NoPayload

    from tapwatch.decode import wstree

    if kind not in wstree.SPANNING:
        return layer, pos
    more = wstree.after(kind, built, data, net)
    nodes.extend(more)
    end = max([built.end, *(c.end for c in built.children), *(m.end for m in more)])
    for _ in range(64):
        if layer is None or isinstance(layer, NoPayload) or pos >= end:
            break
        size = len(own_bytes(layer))
        if pos + size > end:
            pos = end  # what is left of this layer is shown after the node
            break
        pos += size
        layer = layer.payload
    if kind == "GRE" and pos == built.end and data[built.start] & 0x40:
        # a source-routed GRE packet: scapy reads the route entries and leaves the packet
        # after them undissected, or reads the packet from the first entry
        g = built.start
        layer = _reparse(data, pos, len(data), data[g + 2] << 8 | data[g + 3]) or layer
    return layer, pos


def _reparse(data: bytes, at: int, end: int, ethertype: int) -> Any:
    """The packet from ``at`` to ``end`` dissected by scapy as its Ethernet type says
    (IPv4, IPv6, Ethernet), where scapy did not dissect it (or dissected it elsewhere);
    None for another type or what scapy cannot read."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    carried = {0x0800: IP, 0x86DD: IPv6, 0x6558: Ether}.get(ethertype)
    if carried is None:
        return None
    try:
        return carried(data[at:end])
    except Exception:  # a carried packet scapy cannot read stays data
        return None


def _whole_message(
    nodes: list[Node], built: Node, kind: str, layer: Any, data: bytes, end: int, net: Net
) -> tuple[Any, int]:
    """After the node of a message read whole (:data:`wstree.WHOLE_MESSAGES`): the layer and
    offset the walk goes on from.

    scapy splits such a message into layers of its own (BOOTP and its options, OSPF's header
    and its packet, RIP's entries): those inside the node are passed over.  Where the node
    ends before scapy's layer (a segment scapy leaves undissected holding several BGP
    messages), the messages that follow are built the same way, at most 64, and what no
    message claims is data.
    """
    from scapy.packet import NoPayload, Raw

    from tapwatch.decode import wstree

    if kind in ("PIMv2Hdr", "PIM") and data[built.start] == 0x21 and built.start + 8 < built.end:
        # a PIM register: the packet it carries is shown after PIM's layer, as tshark does
        carried = _reparse(
            data, built.start + 8, built.end, 0x0800 if data[built.start + 8] >> 4 == 4 else 0x86DD
        )
        if carried is not None:
            return carried, built.start + 8
    pos, stop, count = end, built.end, 0
    while built.start < stop < end and count < 64:
        count += 1
        more = wstree.BUILDERS[kind](data, stop, net)
        if more is None or more.end <= stop:
            break
        nodes.append(more)
        stop = more.end
    if stop < end:
        nodes.append(_data_node(data, stop, end))
        return layer, end
    while layer is not None and not isinstance(layer, NoPayload) and pos < stop:
        own = own_bytes(layer)
        if pos + len(own) > stop:
            if type(layer).__name__ != "Raw":
                return None, stop
            # bytes scapy left undissected that run past the message: what follows it
            layer = Raw(own[stop - pos :]) / layer.payload
            pos = stop
            break
        pos += len(own)
        layer = layer.payload
    pos = max(pos, stop)
    if type(layer).__name__ != "Raw":
        return layer, pos
    # undissected bytes right after the message: the messages that follow it (a second LDP
    # PDU in the segment), as long as they read whole; the rest stays data
    own = own_bytes(layer)
    stop = pos
    while stop < pos + len(own) and count < 64:
        count += 1
        more = wstree.BUILDERS[kind](data, stop, net)
        if more is None or more.end <= stop or more.end > pos + len(own):
            break
        nodes.append(more)
        stop = more.end
    if stop == pos:
        return layer, pos
    if stop < pos + len(own):
        return Raw(own[stop - pos :]) / layer.payload, stop
    return layer.payload, stop


def _fragment(kind: str, data: bytes, start: int) -> bool:
    """Whether this IP header (or IPv6 fragment header) starts a fragment: what it carries
    is shown as data, as tshark shows a fragment it cannot reassemble."""
    if kind == "IP" and start + 8 <= len(data):
        return bool((data[start + 6] << 8 | data[start + 7]) & 0x3FFF)
    if kind == "IPv6ExtHdrFragment" and start + 4 <= len(data):
        return data[start + 2 : start + 4] != b"\0\0"
    return False


def _within(nodes: list[Node], n: int) -> list[Node]:
    """The nodes with their spans cut at the frame's end ``n`` (scapy may own bytes that a
    layer before it has shown already)."""
    return [
        Node(c.label, min(c.start, n), min(c.end, n), _within(c.children, n))
        if c.end > n or c.children
        else c
        for c in nodes
    ]


def _walk_named(data: bytes, walked: list[tuple[str, int]], at: int, end: int) -> list[Node]:
    """The layers the walk found from ``walked[at]`` on, in bytes scapy left undissected up to
    ``end``: each named by the walk, from its offset to the next one's (a VXLAN-GPE frame's
    Network Service Header, then the packet it carries), its bytes as its data."""
    from tapwatch.decode.wstree import data_node

    out: list[Node] = []
    for k in range(at, len(walked)):
        name, st = walked[k]
        stop = walked[k + 1][1] if k + 1 < len(walked) else end
        if st >= end or stop <= st:
            break
        stop = min(stop, end)
        out.append(
            Node(
                clip(f"{printable(name)} ({stop - st} bytes)"),
                st,
                stop,
                [data_node(data, st, stop)],
            )
        )
    return out


def _data_node(data: bytes, start: int, end: int) -> Node:
    from tapwatch.decode.wstree import data_node

    return data_node(data, start, end)


def _last_layer(nodes: list[Node], data: bytes) -> str:
    """The title of the layer shown last (inside an ICMP error, the last quoted one)."""
    if not nodes:
        return ""
    host = _quoting(nodes, data)
    if host is not None and nodes[host].children:
        return nodes[host].children[-1].label
    return nodes[-1].label


def _wireshark_node(kind: str, data: bytes, start: int, net: Net, after: str) -> Node | None:
    """The layer's node in Wireshark's words (:mod:`tapwatch.decode.wstree`), or None when
    tapwatch words it from scapy's fields.  ``after``: the title of the layer before."""
    from tapwatch.decode import wstree

    build = wstree.BUILDERS.get(kind)
    if kind == "DNS":  # over TCP, a length prefix comes first
        build = wstree.dns if after.startswith("User Datagram Protocol,") else wstree.dns_tcp
    if build is None and kind.startswith("ICMPv6") and not kind.startswith("ICMPv6NDOpt"):
        build = wstree.icmpv6
    if build is None:
        if kind in wstree.IPV6_EXTENSIONS:
            return wstree.ipv6_extension(kind, data, start, net)
        return None
    return build(data, start, net)


_QUOTED = frozenset({"IPerror", "TCPerror", "UDPerror", "ICMPerror", "IPerror6"})


def _nest(
    nodes: list[Node], node: Node, kind: str, data: bytes, net: Net, ports: tuple[int, int] | None
) -> tuple[int, int] | None:
    """Put a layer's node where Wireshark puts it: a quoted packet inside the ICMP message
    that quotes it, an IPv6 extension header inside its IPv6 layer, others after the last
    layer.  Returns the TCP ports the payload that follows is carried on."""
    from tapwatch.decode import depth, wstree

    host = _quoting(nodes, data)
    if kind in _QUOTED and host is not None:
        nodes[host] = _append(nodes[host], node)
        return ports
    if (
        kind in wstree.IPV6_EXTENSIONS
        and nodes
        and nodes[-1].label.startswith("Internet Protocol Version 6")
    ):
        last = _append(nodes[-1], node)
        if kind != "IPv6ExtHdrFragment":  # tshark's IPv6 layer does not span that one
            last = Node(last.label, last.start, max(last.end, node.end), last.children)
        nodes[-1] = last
        return ports
    if kind.startswith("ICMPv6ND_") or kind == "ICMPv6NDRedirect":
        node = depth.icmpv6_nd(node, data)
    nodes.append(node)
    if kind == "TCP" and node.end - node.start >= 4:
        s = node.start
        return (data[s] << 8 | data[s + 1], data[s + 2] << 8 | data[s + 3])
    return ports


def _append(node: Node, child: Node) -> Node:
    return Node(node.label, node.start, node.end, [*node.children, child])


def _icmp_type(node: Node, data: bytes) -> tuple[int, int]:
    """(ICMP version 4 or 6, message type) of an ICMP layer's node; (0, -1) for other nodes."""
    if node.start >= len(data):
        return 0, -1
    if node.label == "Internet Control Message Protocol":
        return 4, data[node.start]
    if node.label == "Internet Control Message Protocol v6":
        return 6, data[node.start]
    return 0, -1


def _quoting(nodes: list[Node], data: bytes) -> int | None:
    """The index of the last top node when it is an ICMP error (which quotes a packet)."""
    from tapwatch.decode.wstree import ICMP_ERRORS

    if not nodes:
        return None
    version, t = _icmp_type(nodes[-1], data)
    if (version == 4 and t in ICMP_ERRORS) or (version == 6 and 1 <= t <= 4):
        return len(nodes) - 1
    return None


def _takes_data(node: Node, data: bytes) -> bool:
    """Whether the bytes after this layer are its own Data (an ICMP echo's, not a quote's)."""
    from tapwatch.decode.wstree import ICMP_ERRORS

    version, t = _icmp_type(node, data)
    return (version == 4 and t not in ICMP_ERRORS) or (version == 6 and t >= 128)
