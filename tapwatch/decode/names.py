"""Name tables: what tcpdump (and, for the info column, Wireshark) call numbers on the wire."""

from __future__ import annotations

from typing import Final

VLAN_TYPES: Final = {0x8100: "802.1Q", 0x88A8: "802.1ad", 0x9100: "802.1Q"}
MAX_VLAN_TAGS: Final = 8
MAX_EXT_HEADERS: Final = 16

#: ethertype -> tcpdump's name, used in the ``-e`` link text.
ETHERTYPE_NAMES: Final = {
    0x0800: "IPv4",
    0x0806: "ARP",
    0x86DD: "IPv6",
    0x8100: "802.1Q",
    0x88A8: "802.1Q-QinQ",
    0x9100: "802.1Q-9100",
    0x8035: "Reverse ARP",
    0x88CC: "LLDP",
    0x888E: "EAPOL",
    0x8863: "PPPoE D",
    0x8864: "PPPoE S",
    0x8847: "MPLS unicast",
    0x8848: "MPLS multicast",
    0x88F7: "PTP",
    0x8809: "Slow Protocols",
    0x8137: "IPX",
    0x88E5: "MACsec",
    0x8902: "CFM",
}
#: ethertypes recognised but not decoded further -> layer name.
ETHER_OTHER_LAYERS: Final = {
    0x88CC: "LLDP",
    0x888E: "EAPOL",
    0x8863: "PPPoE",
    0x8864: "PPPoE",
    0x8847: "MPLS",
    0x8848: "MPLS",
    0x88F7: "PTP",
    0x8809: "Slow",
    0x8137: "IPX",
    0x88E5: "MACsec",
    0x8902: "CFM",
}
#: IP protocol numbers recognised but not decoded further -> layer name.
IPPROTO_NAMES: Final = {
    2: "IGMP",
    4: "IPv4",
    41: "IPv6",
    47: "GRE",
    50: "ESP",
    51: "AH",
    89: "OSPF",
    103: "PIM",
    112: "VRRP",
    132: "SCTP",
    136: "UDPLite",
}
IPPROTO_WS: Final = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", **IPPROTO_NAMES}


SLL_PKTTYPES: Final = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}
NULL_FAMILIES: Final = {2: "IPv4", 10: "IPv6", 24: "IPv6", 28: "IPv6", 30: "IPv6"}


def tcp_flag_tables() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Precompute tcpdump (``S.``) and Wireshark (``SYN, ACK``) flag strings for all 512 values.

    tcpdump prints FIN SYN RST PSH ACK URG ECE CWR in that order ("[SEW]"), and
    Wireshark lists names low bit first as well; a table lookup beats a loop per packet.
    """
    td_chars = "FSRP.UEW"
    ws_names = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE")
    td: list[str] = []
    ws: list[str] = []
    for v in range(512):
        td.append("".join(c for i, c in enumerate(td_chars) if v >> i & 1) or "none")
        ws.append(", ".join(n for i, n in enumerate(ws_names) if v >> i & 1) or "<None>")
    return tuple(td), tuple(ws)


_TABLES = tcp_flag_tables()
TCP_TD: Final = _TABLES[0]
TCP_WS: Final = _TABLES[1]

ICMP_UNREACH: Final = {
    0: ("net {} unreachable", "Network unreachable"),
    1: ("host {} unreachable", "Host unreachable"),
    2: ("{} protocol {} unreachable", "Protocol unreachable"),
    3: ("{} port {} unreachable", "Port unreachable"),
    4: ("{} unreachable - need to frag", "Fragmentation needed"),
    5: ("{} unreachable - source route failed", "Source route failed"),
    6: ("net {} unreachable - unknown", "Destination network unknown"),
    7: ("host {} unreachable - unknown", "Destination host unknown"),
    8: ("{} unreachable - source host isolated", "Source host isolated"),
    9: ("net {} unreachable - admin prohibited", "Network administratively prohibited"),
    10: ("host {} unreachable - admin prohibited", "Host administratively prohibited"),
    11: ("net {} unreachable - tos prohibited", "Network unreachable for TOS"),
    12: ("host {} unreachable - tos prohibited", "Host unreachable for TOS"),
    13: (
        "host {} unreachable - admin prohibited filter",
        "Communication administratively filtered",
    ),
    14: ("host {} unreachable - host precedence violation", "Host precedence violation"),
    15: ("host {} unreachable - precedence cutoff", "Precedence cutoff in effect"),
}
ICMP_SIMPLE: Final = {
    4: ("source quench", "Source quench (flow control)"),
    9: ("router advertisement", "Router advertisement"),
    10: ("router solicitation", "Router solicitation"),
    15: ("information request", "Information request"),
    16: ("information reply", "Information reply"),
    17: ("address mask request", "Address mask request"),
}
ICMP6_NAMES: Final = {
    1: ("destination unreachable", "Destination Unreachable"),
    2: ("packet too big", "Packet Too Big"),
    3: ("time exceeded", "Time Exceeded"),
    4: ("parameter problem", "Parameter Problem"),
    128: ("echo request", "Echo (ping) request"),
    129: ("echo reply", "Echo (ping) reply"),
    130: ("multicast listener query", "Multicast Listener Query"),
    131: ("multicast listener report", "Multicast Listener Report"),
    132: ("multicast listener done", "Multicast Listener Done"),
    133: ("router solicitation", "Router Solicitation"),
    134: ("router advertisement", "Router Advertisement"),
    135: ("neighbor solicitation", "Neighbor Solicitation"),
    136: ("neighbor advertisement", "Neighbor Advertisement"),
    137: ("redirect", "Redirect"),
    138: ("router renumbering", "Router Renumbering"),
    139: ("who-are-you request", "Node Information Query"),
    140: ("who-are-you reply", "Node Information Reply"),
    141: ("inverse neighbor solicitation", "Inverse Neighbor Discovery Solicitation"),
    142: ("inverse neighbor advertisement", "Inverse Neighbor Discovery Advertisement"),
    143: ("multicast listener report v2", "Multicast Listener Report Message v2"),
    144: ("ha discovery request", "Home Agent Address Discovery Request"),
    145: ("ha discovery reply", "Home Agent Address Discovery Reply"),
    146: ("mobile router solicitation", "Mobile Prefix Solicitation"),
    147: ("mobile router advertisement", "Mobile Prefix Advertisement"),
    151: ("multicast router advertisement", "Multicast Router Advertisement"),
    152: ("multicast router solicitation", "Multicast Router Solicitation"),
    153: ("multicast router termination", "Multicast Router Termination"),
}
ICMP6_UNREACH: Final = {
    0: ("unreachable route", "no route to destination"),
    1: ("unreachable prohibited", "Administratively prohibited"),
    2: ("beyond scope", "Beyond scope of source address"),
    3: ("unreachable address", "Address unreachable"),
    4: ("unreachable port", "Port unreachable"),
    5: (
        "source address failed ingress/egress policy",
        "Source address failed ingress/egress policy",
    ),
    6: ("reject route to destination", "Reject route to destination"),
}

DNS_TYPES: Final = {
    1: "A",
    2: "NS",
    3: "MD",
    4: "MF",
    5: "CNAME",
    6: "SOA",
    7: "MB",
    8: "MG",
    9: "MR",
    10: "NULL",
    11: "WKS",
    12: "PTR",
    13: "HINFO",
    14: "MINFO",
    15: "MX",
    16: "TXT",
    17: "RP",
    18: "AFSDB",
    24: "SIG",
    25: "KEY",
    28: "AAAA",
    29: "LOC",
    33: "SRV",
    35: "NAPTR",
    36: "KX",
    37: "CERT",
    38: "A6",
    39: "DNAME",
    41: "OPT",
    42: "APL",
    43: "DS",
    44: "SSHFP",
    45: "IPSECKEY",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    49: "DHCID",
    50: "NSEC3",
    51: "NSEC3PARAM",
    52: "TLSA",
    59: "CDS",
    60: "CDNSKEY",
    64: "SVCB",
    65: "HTTPS",
    99: "SPF",
    249: "TKEY",
    250: "TSIG",
    251: "IXFR",
    252: "AXFR",
    253: "MAILB",
    254: "MAILA",
    255: "ANY",
    256: "URI",
    257: "CAA",
}
DNS_CLASSES: Final = {1: "IN", 3: "CHAOS", 4: "HS", 254: "NONE", 255: "ANY"}
DNS_OPS_TD: Final = (
    "",
    " inv_q",
    " stat",
    " op3",
    " notify",
    " update",
    " op6",
    " op7",
    " op8",
    " updateA",
    " updateD",
    " updateDA",
    " updateM",
    " updateMA",
    " zoneInit",
    " zoneRef",
)
DNS_OPS_WS: Final = {
    0: "Standard query",
    1: "Inverse query",
    2: "Server status request",
    4: "Zone change notification",
    5: "Dynamic update",
}
DNS_RCODES_TD: Final = (
    "",
    " FormErr",
    " ServFail",
    " NXDomain",
    " NotImp",
    " Refused",
    " YXDomain",
    " YXRRSet",
    " NXRRSet",
    " NotAuth",
    " NotZone",
    " Resp11",
    " Resp12",
    " Resp13",
    " Resp14",
    " NoChange",
)
DNS_RCODES_WS: Final = {
    1: "Format error",
    2: "Server failure",
    3: "No such name",
    4: "Not implemented",
    5: "Refused",
    6: "Name exists",
    7: "RRset exists",
    8: "RRset does not exist",
    9: "Not authoritative",
    10: "Name out of zone",
}
DNS_MAX_RECORDS: Final = 64  # records parsed per message; beyond that the summary says "..."
DNS_MAX_SHOWN: Final = 8  # records listed in one summary line

DHCP_TYPES: Final = {
    1: "Discover",
    2: "Offer",
    3: "Request",
    4: "Decline",
    5: "ACK",
    6: "NAK",
    7: "Release",
    8: "Inform",
    9: "Force Renew",
    10: "Lease Query",
    11: "Lease Unassigned",
    12: "Lease Unknown",
    13: "Lease Active",
}
#: ARP's hardware types as Wireshark names them (ARP, BOOTP, DHCPv6 DUIDs)
ARP_HARDWARE: Final = {1: "Ethernet", 6: "IEEE 802", 32: "InfiniBand"}
#: Wireshark's names of the DHCPv6 message types (the Info column's and the tree's)
WS_DHCP6_TYPES: Final = {
    1: "Solicit",
    2: "Advertise",
    3: "Request",
    4: "Confirm",
    5: "Renew",
    6: "Rebind",
    7: "Reply",
    8: "Release",
    9: "Decline",
    10: "Reconfigure",
    11: "Information-request",
    12: "Relay-forw",
    13: "Relay-reply",
}
ARP_OPS: Final = {
    1: "Request",
    2: "Reply",
    3: "Reverse Request",
    4: "Reverse Reply",
    8: "Inverse Request",
    9: "Inverse Reply",
    10: "NACK Reply",
}

#: Address family numbers as tcpdump names them (``af_values``: BGP, LDP, ...).
AF_VALUES: Final = {
    0: "Reserved",
    1: "IPv4",
    2: "IPv6",
    3: "NSAP",
    4: "HDLC",
    5: "BBN 1822",
    6: "802",
    7: "E.163",
    8: "E.164",
    9: "F.69",
    10: "X.121",
    11: "Novell IPX",
    12: "Appletalk",
    13: "Decnet IV",
    14: "Banyan Vines",
    15: "E.164 with NSAP subaddress",
    196: "Layer-2 VPN",
    25: "VPLS",
}
