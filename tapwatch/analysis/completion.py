"""Completion for filter expressions: protocol names and tcpdump's keywords.

The display filter speaks tcpdump (libpcap) syntax. Typing the start of a
word offers the rest of the first word of this vocabulary that starts with
it; the words most typed come first (``tcp`` before ``tcp-ack``...).
"""

from __future__ import annotations

import re

#: libpcap primitives and protocol names, the common ones first
WORDS: tuple[str, ...] = (
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "arp",
    "ip",
    "ip6",
    "host",
    "port",
    "net",
    "src",
    "dst",
    "and",
    "or",
    "not",
    "portrange",
    "vlan",
    "ether",
    "greater",
    "less",
    "len",
    "proto",
    "broadcast",
    "multicast",
    "gateway",
    "rarp",
    "igmp",
    "esp",
    "ah",
    "gre",
    "sctp",
    "pim",
    "vrrp",
    "mpls",
    "pppoed",
    "pppoes",
    "geneve",
    "inbound",
    "outbound",
    "ifname",
    "tcp-syn",
    "tcp-ack",
    "tcp-fin",
    "tcp-rst",
    "tcp-push",
    "tcpflags",
    "icmptype",
    "icmp-echo",
    "icmp-echoreply",
    "icmp-unreach",
)

_LAST_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*$")


def complete(value: str) -> str | None:
    """``value`` with its last word completed, or None when there is nothing to offer."""
    m = _LAST_WORD.search(value)
    if m is None:
        return None
    word = m.group(0)
    start = m.start()
    if start and value[start - 1] in "[.:0123456789":
        return None  # inside an address or a byte offset, not a word
    lower = word.lower()
    for candidate in WORDS:
        if candidate.startswith(lower) and candidate != lower:
            return value[:start] + candidate
    return None
