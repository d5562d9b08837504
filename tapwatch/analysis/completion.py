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
#: the end of the text a word is looked for in: longer than any word offered. Searched
#: whole, a pasted run of letters not at the end made ``re`` try every start to the end
#: (quadratic: 10k letters took 1.4 s, on the UI thread, at every keystroke)
TAIL = 128


def complete(value: str) -> str | None:
    """``value`` with its last word completed, or None when there is nothing to offer."""
    tail = value[-TAIL:]
    m = _LAST_WORD.search(tail)
    if m is None or (m.start() == 0 and len(value) > TAIL):
        return None  # no word, or one longer than any offered
    word = m.group(0)
    start = len(value) - len(tail) + m.start()
    if start and value[start - 1] in "[.:0123456789":
        return None  # inside an address or a byte offset, not a word
    lower = word.lower()
    for candidate in WORDS:
        if candidate.startswith(lower) and candidate != lower:
            return value[:start] + candidate
    return None
