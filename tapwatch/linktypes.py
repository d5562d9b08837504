"""pcap link-layer type numbers tapwatch reads and writes.

These are the LINKTYPE_* values stored in pcap/pcapng files, which is what
tshark and tcpdump key on; libpcap's in-memory DLT_* values differ for raw IP
(DLT_RAW is 12 on Linux), so filters.py maps between them.
"""

from __future__ import annotations

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NETLINK = 253  # rtnetlink messages after a cooked header: interface events
LINKTYPE_LINUX_SLL2 = 276

NAMES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LINUX_SLL: "Linux cooked",
    LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2",
    LINKTYPE_NETLINK: "Linux netlink",
}

#: what tapwatch decodes as packets (an event record is none)
SUPPORTED = frozenset(NAMES) - {LINKTYPE_NETLINK}


def name(linktype: int) -> str:
    """Human name of a link type, for messages and the status bar."""
    return NAMES.get(linktype, f"link type {linktype}")


def header_name(linktype: int) -> str:
    """The link type after "link-type " in a "reading from file" line (no "link-type link type")."""
    return NAMES.get(linktype, str(linktype))
