"""The core layers' subtrees in Wireshark's words, nesting and byte spans, read from the bytes.

Ethernet, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP, ARP, DNS and VXLAN are what an analyst reads
most; their tree is checked node by node against ``tshark -T pdml`` on the same packets
(tests/test_tree_tshark.py): every line here is a line of tshark's tree, over the bytes
tshark gives it.  tapwatch leaves out what needs the whole capture (stream indexes, times,
relative sequence numbers: the expert pass adds those) and nothing else is invented.

Each builder takes the frame, where its header starts and the innermost IP header seen so
far (:class:`~tapwatch.decode.fields.Net`, for the checksums), reads the fields with plain
indexing (never trusting a length past the captured bytes) and returns the layer's node,
or None when the header is cut short (the scapy-based fields are shown instead).  Work is
bounded: a fixed number of fields per header, at most ``MAX_ITEMS`` options or records.

This module words the link layers (Ethernet, ARP, VXLAN) and holds the table of builders by
scapy's layer name; the others live by layer in :mod:`~tapwatch.decode.ws_ip`,
:mod:`~tapwatch.decode.ws_icmp`, :mod:`~tapwatch.decode.ws_transport` and
:mod:`~tapwatch.decode.ws_dns`, over the helpers of :mod:`~tapwatch.decode.ws_common`.
DHCP (:mod:`~tapwatch.decode.ws_dhcp`), DHCPv6 (:mod:`~tapwatch.decode.ws_dhcp6`) and the
routing protocols (:mod:`~tapwatch.decode.ws_ospf`: OSPFv2/v3 and OSPF's LLS block;
:mod:`~tapwatch.decode.ws_multicast`: IGMP and mtrace, PIM; :mod:`~tapwatch.decode.ws_bgp`;
:mod:`~tapwatch.decode.ws_routing`: RIP, VRRP, BFD, LDP) are messages read whole: scapy
splits them into layers that the tree then passes over (``WHOLE_MESSAGES``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from tapwatch.decode.depth import bits_line, mac_text
from tapwatch.decode.fields import Net
from tapwatch.decode.names import ARP_HARDWARE
from tapwatch.decode.node import Node
from tapwatch.decode.ws_apps import app_layer, http, tls
from tapwatch.decode.ws_bgp import bgp
from tapwatch.decode.ws_common import data_node, hex_value, ip4, node, u16
from tapwatch.decode.ws_dhcp import dhcp, dhcp_walked
from tapwatch.decode.ws_dhcp6 import dhcp6
from tapwatch.decode.ws_dns import dns, dns_tcp
from tapwatch.decode.ws_icmp import ICMP_ERRORS, icmp, icmpv6
from tapwatch.decode.ws_ip import IPV6_EXTENSIONS, ip_protocol, ipv4, ipv6, ipv6_extension
from tapwatch.decode.ws_l2tp import l2tp
from tapwatch.decode.ws_multicast import igmp, pim
from tapwatch.decode.ws_ntp import ntp
from tapwatch.decode.ws_ospf import ospf, ospf3
from tapwatch.decode.ws_routing import bfd, ldp, rip, vrrp
from tapwatch.decode.ws_transport import tcp, udp
from tapwatch.decode.ws_tunnel import (
    SPANNING,
    after,
    dot1ad,
    dot1q,
    esp,
    geneve,
    gre,
    mpls,
    non_esp,
    openvpn,
    openvpn_tcp,
    wireguard,
)

__all__ = [
    "BUILDERS",
    "ICMP_ERRORS",
    "IPV6_EXTENSIONS",
    "SPANNING",
    "after",
    "app_layer",
    "data_node",
    "dns",
    "dns_tcp",
    "hex_value",
    "icmpv6",
    "ip_protocol",
    "ipv6_extension",
]


# ----------------------------------------------------------------------------- Ethernet

ETHERTYPES: Final = {
    0x0800: "IPv4",
    0x0806: "ARP",
    0x86DD: "IPv6",
    0x8100: "802.1Q Virtual LAN",
    0x88A8: "802.1ad Provider Bridge (Q-in-Q)",
    0x8035: "RARP",
    0x88CC: "802.1 Link Layer Discovery Protocol (LLDP)",
    0x888E: "802.1X Authentication",
    0x8863: "PPPoE Discovery",
    0x8864: "PPPoE Session",
    0x8847: "MPLS label switched packet",
    0x8848: "MPLS multicast label switched packet",
    0x88F7: "PTPv2 over Ethernet (IEEE1588)",
    0x8809: "Slow Protocols",
    0x8137: "Netware IPX/SPX",
    0x88E5: "802.1AE (MACsec)",
    0x894F: "Network Service Header",
    0x6558: "Transparent Ethernet bridging",
}


def ethertype(t: int) -> str:
    return f"{ETHERTYPES.get(t, 'Unknown')} (0x{t:04x})"


def _mac_node(what: str, data: bytes, at: int) -> Node:
    mac = data[at : at + 6]
    shown = mac_text(mac)
    lg, ig = mac[0] & 2, mac[0] & 1
    return node(
        f"{what}: {shown}",
        at,
        at + 6,
        [
            node(f"Address: {shown}", at, at + 6),
            node(
                bits_line(
                    mac[0] << 16,
                    0x020000,
                    24,
                    "LG bit",
                    "Locally administered address (this is NOT the factory default)"
                    if lg
                    else "Globally unique address (factory default)",
                ),
                at,
                at + 3,
            ),
            node(
                bits_line(
                    mac[0] << 16,
                    0x010000,
                    24,
                    "IG bit",
                    "Group address (multicast/broadcast)" if ig else "Individual address (unicast)",
                ),
                at,
                at + 3,
            ),
        ],
    )


def ethernet(data: bytes, s: int, net: Net) -> Node | None:
    if s + 14 > len(data):
        return None
    t = u16(data, s + 12)
    return node(
        f"Ethernet II, Src: {mac_text(data[s + 6 : s + 12])}, Dst: {mac_text(data[s : s + 6])}",
        s,
        s + 14,
        [
            _mac_node("Destination", data, s),
            _mac_node("Source", data, s + 6),
            node(f"Type: {ethertype(t)}", s + 12, s + 14),
        ],
    )


# ----------------------------------------------------------------------------- ARP

_ARP_OPS: Final = {1: "request", 2: "reply", 3: "reverse request", 4: "reverse reply"}


def arp(data: bytes, s: int, net: Net) -> Node | None:
    if s + 8 > len(data):
        return None
    d = data
    hw, pt, hs, ps, op = u16(d, s), u16(d, s + 2), d[s + 4], d[s + 5], u16(d, s + 6)
    kids = [
        node(f"Hardware type: {ARP_HARDWARE.get(hw, 'Unknown')} ({hw})", s, s + 2),
        node(f"Protocol type: {ethertype(pt)}", s + 2, s + 4),
        node(f"Hardware size: {hs}", s + 4, s + 5),
        node(f"Protocol size: {ps}", s + 5, s + 6),
        node(f"Opcode: {_ARP_OPS.get(op, 'Unknown')} ({op})", s + 6, s + 8),
    ]
    end = s + 8 + 2 * (hs + ps)
    if hs == 6 and ps == 4 and end <= len(d):
        p = s + 8
        kids += [
            node(f"Sender MAC address: {mac_text(d[p : p + 6])}", p, p + 6),
            node(f"Sender IP address: {ip4(d[p + 6 : p + 10])}", p + 6, p + 10),
            node(f"Target MAC address: {mac_text(d[p + 10 : p + 16])}", p + 10, p + 16),
            node(f"Target IP address: {ip4(d[p + 16 : p + 20])}", p + 16, p + 20),
        ]
    what = _ARP_OPS.get(op, "opcode {op}")
    return node(f"Address Resolution Protocol ({what})", s, min(end, len(d)), kids)


# ----------------------------------------------------------------------------- VXLAN


def vxlan(data: bytes, s: int, net: Net) -> Node | None:
    """VXLAN's header (VXLAN-GPE's, on UDP port 4790, by :func:`vxlan_gpe`)."""
    if s + 8 > len(data):
        return None
    if s >= 8 and u16(data, s - 6) == 4790:
        return vxlan_gpe(data, s, net)
    d = data
    f = u16(d, s)
    words = [
        w for bit, w in ((0x8000, "GBP Extension"), (0x0800, "VXLAN Network ID (VNI)")) if f & bit
    ]
    flags = node(
        f"Flags: 0x{f:04x}" + "".join(f", {w}" for w in words),
        s,
        s + 2,
        [
            node(
                bits_line(
                    f, 0x8000, 16, "GBP Extension", "Defined" if f & 0x8000 else "Not defined"
                ),
                s,
                s + 2,
            ),
            node(
                bits_line(f, 0x0800, 16, "VXLAN Network ID (VNI)", str(bool(f & 0x0800))), s, s + 2
            ),
            node(bits_line(f, 0x0040, 16, "Don't Learn", str(bool(f & 0x0040))), s, s + 2),
            node(bits_line(f, 0x0008, 16, "Policy Applied", str(bool(f & 0x0008))), s, s + 2),
            node(bits_line(f, 0x77B7, 16, "Reserved(R)", f"0x{f & 0x77B7:04x}"), s, s + 2),
        ],
    )
    kids = [
        flags,
        node(f"Group Policy ID: {u16(d, s + 2)}", s + 2, s + 4),
    ]
    head = net.header_end(s, "VXLAN", at=s - 8, proto=17)  # the walk's, from UDP if need be
    return _vxlan_node(d, s, kids, min(len(d), head) if head >= s + 8 else s + 8)


def _vxlan_node(d: bytes, s: int, kids: list[Node], end: int = -1) -> Node:
    """VXLAN's (and VXLAN-GPE's) layer: ``kids`` then the VNI and the last reserved byte;
    the layer ends at ``end`` (-1: its fixed 8 bytes)."""
    vni = int.from_bytes(d[s + 4 : s + 7], "big")
    kids.append(node(f"VXLAN Network Identifier (VNI): {vni}", s + 4, s + 7))
    kids.append(node(f"Reserved: {d[s + 7]}", s + 7, s + 8))
    return node("Virtual eXtensible Local Area Network", s, end if end >= 0 else s + 8, kids)


#: VXLAN-GPE's next protocols, as tshark names them
_GPE_NEXT: Final = {1: "IPv4", 2: "IPv6", 3: "Ethernet", 4: "Network Service Header", 5: "MPLS"}


def vxlan_gpe(d: bytes, s: int, net: Net) -> Node:
    """VXLAN-GPE's header (RFC draft: 8 flag bits, 16 reserved, the next protocol, the VNI);
    where it ends is the walk's, as for VXLAN."""
    f = d[s]
    nxt = d[s + 3]
    flags = node(
        f"Flags: 0x{f:02x}",
        s,
        s + 1,
        [
            node(bits_line(f, 0x30, 8, "Version", str((f >> 4) & 3)), s, s + 1),
            node(bits_line(f, 0x08, 8, "Instance", str(f >> 3 & 1)), s, s + 1),
            node(bits_line(f, 0x04, 8, "Next Protocol Bit", str(f >> 2 & 1)), s, s + 1),
            node(bits_line(f, 0x01, 8, "OAM bit", str(f & 1)), s, s + 1),
            node(bits_line(f, 0xC2, 8, "Reserved(R)", str(f & 0xC2)), s, s + 1),
        ],
    )
    kids = [
        flags,
        node(f"Reserved: {u16(d, s + 1)}", s + 1, s + 3),
        node(f"Next Protocol: {_GPE_NEXT.get(nxt, 'Unknown')} ({nxt})", s + 3, s + 4),
    ]
    head = net.header_end(s, "VXLAN-GPE", at=s - 8, proto=17)  # the walk's, from UDP if need be
    return _vxlan_node(d, s, kids, min(len(d), head) if head >= s + 8 else s + 8)


def ospf_either(data: bytes, s: int, net: Net) -> Node | None:
    """OSPF named by the decoder's walk: version 2 or 3 by its first byte."""
    return ospf3(data, s, net) if s < len(data) and data[s] == 3 else ospf(data, s, net)


#: scapy's IGMP layers (its classes differ between versions) and the walk's name
IGMP_LAYERS: Final = (
    "IGMP",
    "IGMPv3",
    "IGMP_MQ",
    "IGMP_MR",
    "IGMPv2_LG",
    "IGMPv2_MR",
    "IGMPv3_MQ",
    "IGMPv3_MR",
    "IGMPv3_MRA",
)
#: scapy's DHCPv6 message layers (and the walk's name for a message scapy leaves undissected)
DHCP6_LAYERS: Final = (
    "DHCPv6",
    "DHCP6",
    "DHCP6_Solicit",
    "DHCP6_Advertise",
    "DHCP6_Request",
    "DHCP6_Confirm",
    "DHCP6_Renew",
    "DHCP6_Rebind",
    "DHCP6_Reply",
    "DHCP6_Release",
    "DHCP6_Decline",
    "DHCP6_Reconf",
    "DHCP6_InfoRequest",
    "DHCP6_RelayForward",
    "DHCP6_RelayReply",
)
#: scapy's BGP layers that start a message (the walk names them BGP)
BGP_LAYERS: Final = (
    "BGP",
    "BGPHeader",
    "BGPKeepAlive",
)

Builder = Callable[[bytes, int, Net], "Node | None"]

#: scapy's layer class name -> the builder of its subtree
BUILDERS: Final[dict[str, Builder]] = {
    "Ether": ethernet,
    "IP": ipv4,
    "IPerror": ipv4,
    "IPv6": ipv6,
    "IPerror6": ipv6,
    "ICMP": icmp,
    "TCP": tcp,
    "TCPerror": lambda d, s, net: tcp(d, s, net, quoted=True),
    "UDP": udp,
    "UDPerror": udp,
    "ARP": arp,
    "VXLAN": vxlan,
    # the tunnel and encapsulation layers (ws_tunnel)
    "Dot1Q": dot1q,
    "Dot1AD": dot1ad,
    "MPLS": mpls,
    "GRE": gre,
    "GRE_PPTP": gre,
    "GENEVE": geneve,
    "L2TP": l2tp,
    "ESP": esp,
    "NON_ESP": non_esp,
    "Wireguard": wireguard,
    "OpenVPN": openvpn,
    "OpenVPNTCP": openvpn_tcp,
    # DHCP and the routing protocols (ws_dhcp, ws_ospf, ws_multicast, ws_bgp, ws_routing)
    "BOOTP": dhcp,
    "DHCP": dhcp_walked,
    **dict.fromkeys(DHCP6_LAYERS, dhcp6),
    "OSPF_Hdr": ospf,
    "OSPF": ospf_either,
    "OSPFv3_Hdr": ospf3,
    **dict.fromkeys(IGMP_LAYERS, igmp),
    "RIP": rip,
    "VRRP": vrrp,
    "VRRPv3": vrrp,
    **dict.fromkeys(BGP_LAYERS, bgp),
    "BFD": bfd,
    "PIMv2Hdr": pim,
    "PIM": pim,
    "LDP": ldp,
    # HTTP/1.x and TLS (ws_apps): named by the decoder's walk; a TCP segment's payload on
    # their ports is read by app_layer
    "HTTP": http,
    "TLS": tls,
    # NTP's header (ws_ntp)
    "NTPHeader": ntp,
    "NTPControl": ntp,
}

#: layers whose node is the whole message scapy splits into layers of its own (BOOTP and its
#: options...): the tree passes over those, and builds again where messages follow each other
WHOLE_MESSAGES: Final = frozenset(
    {
        "BOOTP",
        "DHCP",
        *DHCP6_LAYERS,
        "OSPF_Hdr",
        "OSPF",
        "OSPFv3_Hdr",
        *IGMP_LAYERS,
        "RIP",
        *BGP_LAYERS,
        "PIMv2Hdr",
        "PIM",
        "LDP",
    }
)
