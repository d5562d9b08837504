"""tapwatch's colours: a theme, and the variables its style sheets use beyond Textual's own.

Every colour the UI draws with is a theme variable in the ``.tcss`` files:
the base palette (``$primary``, ``$error``...) comes from the theme, and
the ones a packet analyser needs in addition - one colour per protocol,
the two directions, a marked packet - are tapwatch's own variables with
defaults here, so any Textual theme (Ctrl+P, "Theme") works and a theme
may override them.
"""

from __future__ import annotations

from textual.theme import Theme

#: tapwatch's own theme variables and their defaults (Wireshark-like protocol colours,
#: chosen to read on a dark background)
VARIABLES: dict[str, str] = {
    "tw-icmp": "#f2a0e6",
    "tw-icmpv6": "#c9a7ff",
    "tw-arp": "#f0d264",
    "tw-tcp": "#86c5ff",
    "tw-udp": "#9ee29a",
    "tw-dns": "#6fe0d2",
    "tw-dhcp": "#c6e06f",
    "tw-ntp": "#b5e0a0",
    "tw-ipv4": "#d0d0d0",
    "tw-ipv6": "#b8bfff",
    "tw-link": "#a0a0a0",
    "tw-other": "#c8c8c8",
    "tw-malformed": "#ff5f5f",
    "tw-inbound-background": "#1d2b3f",
    "tw-inbound": "#ffb86c",
    "tw-outbound": "#7f8c9d",
    "tw-marked-background": "#4b3a12",
    "tw-cursor-background": "#3b5a86",
    "tw-cursor-blur-background": "#2e3c52",
    "tw-stream-client": "#f28b82",
    "tw-stream-server": "#8ab4f8",
}

TAPWATCH_THEME = Theme(
    name="tapwatch",
    primary="#61afef",
    secondary="#c678dd",
    accent="#e5c07b",
    warning="#e5c07b",
    error="#e06c75",
    success="#98c379",
    foreground="#d7dae0",
    background="#1b1e23",
    surface="#21252b",
    panel="#282c34",
    dark=True,
    variables={"footer-key-foreground": "#e5c07b", "block-cursor-background": "#3b5a86"},
)

#: protocol label of the one-line summary -> the component class its rows are drawn with
PROTO_CLASSES: dict[str, str] = {
    "ICMP": "icmp",
    "ICMPv6": "icmpv6",
    "ARP": "arp",
    "RARP": "arp",
    "TCP": "tcp",
    "HTTP": "tcp",
    "TLS": "tcp",
    "UDP": "udp",
    "DNS": "dns",
    "MDNS": "dns",
    "DHCP": "dhcp",
    "DHCPv6": "dhcp",
    "BOOTP": "dhcp",
    "NTP": "ntp",
    "IPv4": "ipv4",
    "IPv6": "ipv6",
    "Ethernet": "link",
    "802.1Q": "link",
    "802.1ad": "link",
    "Linux cooked": "link",
}
PROTO_CLASS_NAMES = (
    "icmp",
    "icmpv6",
    "arp",
    "tcp",
    "udp",
    "dns",
    "dhcp",
    "ntp",
    "ipv4",
    "ipv6",
    "link",
    "other",
    "malformed",
)


def proto_class(proto: str, malformed: bool = False) -> str:
    """The colour class of a protocol label; malformed packets are red whatever they claim."""
    if malformed or proto == "malformed":
        return "malformed"
    return PROTO_CLASSES.get(proto, "other")
