"""Every tool of the main screen, once: its key, its palette name and what it does.

The main screen's bindings, the command palette (Ctrl+P), the key hints at
the bottom and the help screen (``?``) are all built from :data:`TOOLS`, so
they cannot disagree. A tool the current session cannot use (writing into
a device that is a file, say) is left out of all of them at once by the
screen's ``check_action``; its key still answers, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Tool:
    """One thing the user can do from the main screen.

    ``key`` None: reachable from the palette only. ``hint``: the key hints
    line shows it when there is room, lower numbers first (0: never).
    """

    section: str
    key: str | None
    action: str
    name: str
    help: str
    hint: int = 0
    key_display: str | None = None
    #: other words users type for it (the palette finds the tool by them too)
    words: str = ""


CAPTURE = "Capture and view"
FIND = "Find and go"
ANALYSE = "Analyse"
LAYOUT = "Layout"
PEER = "Act as the peer (a device tapwatch holds)"
GENERAL = "General"

TOOLS: tuple[Tool, ...] = (
    Tool(
        CAPTURE,
        "slash",
        "filter",
        "Filter",
        "display filter, BPF (tcpdump's) or Wireshark's language (Ctrl+T chooses): red while "
        "invalid, Enter applies, Esc cancels, Up/Down recall earlier ones, → completes",
        1,
        "/",
    ),
    Tool(
        CAPTURE,
        "space",
        "pause",
        "Pause",
        "pause / resume the display (capture goes on; new packets are counted)",
        9,
    ),
    Tool(
        CAPTURE,
        "t",
        "cycle_time",
        "Time format",
        "next time format: relative, absolute, date and time, delta, epoch",
        12,
    ),
    Tool(
        CAPTURE,
        "w",
        "export",
        "Write",
        "write a pcap/pcapng file: everything, what the filter shows, or the marked packets "
        "(asks before overwriting)",
        6,
    ),
    Tool(
        CAPTURE,
        "c",
        "clear",
        "Clear",
        "forget every packet held (capture and the pcap output go on); asks first on a file",
        0,
    ),
    Tool(
        CAPTURE,
        "p",
        "toggle_counters",
        "Counters",
        "show / hide the protocol and interface counters",
        13,
    ),
    Tool(
        CAPTURE,
        "L",
        "toggle_events",
        "Link events",
        "hide / show interface events (links that come and go, addresses, routes)",
        0,
    ),
    Tool(
        FIND,
        "ctrl+g",
        "goto",
        "Go to",
        "go to a packet by its number",
        10,
        words="go to packet number jump frame",
    ),
    Tool(
        FIND,
        "ctrl+f",
        "find",
        "Find",
        "find a packet by text (bytes or summary), hex bytes or a filter expression",
        2,
    ),
    Tool(FIND, "n", "find_next", "Find next", "find the next match (after ctrl+f)", 0),
    Tool(FIND, "N", "find_previous", "Find previous", "find the previous match", 0),
    Tool(FIND, "m", "toggle_mark", "Mark", "mark / unmark the selected packet", 8),
    Tool(FIND, "M", "clear_marks", "Unmark all", "unmark every packet", 0),
    Tool(
        FIND,
        "right_square_bracket",
        "next_mark",
        "Next mark",
        "go to the next marked packet",
        0,
        "]",
    ),
    Tool(
        FIND,
        "left_square_bracket",
        "previous_mark",
        "Previous mark",
        "go to the previous marked packet",
        0,
        "[",
    ),
    Tool(
        ANALYSE,
        "f",
        "follow",
        "Follow stream",
        "the TCP or UDP stream of the selected packet, both ways, as text or hex",
        3,
    ),
    Tool(
        ANALYSE,
        "C",
        "conversations",
        "Conversations",
        "IP pairs and TCP/UDP conversations: packets, bytes each way, duration, rate; "
        "Enter filters the list to one",
        4,
    ),
    Tool(
        ANALYSE,
        "E",
        "endpoints",
        "Endpoints",
        "addresses with what each sent and received; Enter filters the list to one",
        11,
    ),
    Tool(
        ANALYSE,
        "X",
        "expert",
        "Expert info",
        "TCP analysis as Wireshark's expert information: retransmissions, duplicate ACKs, "
        "lost segments, zero windows... counted by kind; Enter goes to the packet",
        0,
    ),
    Tool(
        ANALYSE,
        "R",
        "transactions",
        "Transactions",
        "requests and their responses (HTTP, DNS, ping) with the response time, slowest "
        "first; Enter goes to the response",
        0,
    ),
    Tool(
        ANALYSE,
        "T",
        "tunnels",
        "Tunnels",
        "per tunnel and direction: time inside, overhead, packets lost inside, too big for "
        "the MTU, ICMP too big, WireGuard handshakes and counters, OpenVPN packet-ids; "
        "Enter filters the list to a tunnel",
        0,
    ),
    Tool(
        ANALYSE,
        "J",
        "linked",
        "Inner/outer",
        "jump between an inner packet and the outer packet that carried it (again: the "
        "next link); rows marked ⊂ were carried, ⊃ carried one",
        0,
    ),
    Tool(
        ANALYSE,
        "o",
        "sort",
        "Sort",
        "sort the list by a column (or click the column's header; again reverses)",
        7,
    ),
    Tool(ANALYSE, "O", "unsort", "Arrival order", "back to arrival order", 0),
    Tool(ANALYSE, "escape", "cancel_work", "Stop", "stop a sort or a find that is running", 0),
    Tool(
        LAYOUT,
        "backslash",
        "zoom",
        "Zoom",
        "zoom the focused pane to the whole screen / back",
        14,
        "\\",
    ),
    Tool(
        LAYOUT,
        "vertical_line",
        "toggle_layout",
        "Layout",
        "tree and bytes side by side / stacked",
        0,
        "|",
    ),
    Tool(
        LAYOUT,
        "greater_than_sign",
        "resize(1)",
        "Taller list",
        "give the packet list more room",
        0,
        ">",
    ),
    Tool(
        LAYOUT,
        "less_than_sign",
        "resize(-1)",
        "Shorter list",
        "give the tree and the bytes more room",
        0,
        "<",
    ),
    Tool(
        PEER,
        "e",
        "mode('echo')",
        "Echo",
        "echo mode: every frame the host sends is written back",
        20,
    ),
    Tool(
        PEER,
        "r",
        "mode('reply')",
        "Reply",
        "reply mode: answer ARP / neighbour solicitation and pings like a host",
        21,
    ),
    Tool(PEER, "d", "mode('drop')", "Drop", "drop mode: stay silent (the default)", 22),
    Tool(PEER, "s", "resend", "Resend", "send the selected packet again into the device", 0),
    Tool(
        PEER,
        "i",
        "craft",
        "Inject",
        "craft a packet from a scapy expression (hex preview), Enter sends it",
        0,
    ),
    Tool(GENERAL, "question_mark", "help", "Help", "every key and palette command", 90, "?"),
    Tool(GENERAL, "q", "quit", "Quit", "quit (a device tapwatch created disappears)", 91),
)

#: palette-only commands: (name, help, action)
PALETTE_ONLY: tuple[tuple[str, str, str], ...] = (
    (
        "Time format: relative",
        "seconds since the first packet (tcpdump -ttttt)",
        "time_format('relative')",
    ),
    ("Time format: absolute", "time of day (tcpdump's default)", "time_format('absolute')"),
    ("Time format: date and time", "date and time of day (tcpdump -tttt)", "time_format('date')"),
    (
        "Time format: delta",
        "since the previous packet shown (tcpdump -ttt)",
        "time_format('delta')",
    ),
    ("Time format: epoch", "seconds since 1970 (tcpdump -tt)", "time_format('epoch')"),
    ("Sort by number", "the list in arrival order", "unsort"),
    ("Sort by time", "the list by arrival time", "sort_by('Time')"),
    ("Sort by source", "the list by source address", "sort_by('Source')"),
    ("Sort by destination", "the list by destination address", "sort_by('Destination')"),
    ("Sort by protocol", "the list by protocol", "sort_by('Proto')"),
    ("Sort by length", "the list by packet length", "sort_by('Len')"),
    ("Sort by info", "the list by its summary text", "sort_by('Info')"),
    (
        "Filter to the stream of the selected packet",
        "show only the TCP/UDP conversation of the selected packet",
        "filter_stream",
    ),
    ("Clear the display filter", "show every packet held", "clear_filter"),
    ("Find hex bytes", "find a packet holding these bytes", "find('hex')"),
    ("Find by filter", "find the next packet a filter expression matches", "find('filter')"),
)


def bindings() -> list[Binding]:
    """The main screen's bindings, built from :data:`TOOLS`."""
    return [
        Binding(t.key, t.action, t.name, show=t.hint > 0, tooltip=t.help, key_display=t.key_display)
        for t in TOOLS
        if t.key is not None
    ]


#: words users type, by tool action, for the tools whose name alone does not say them
WORDS: dict[str, str] = {
    "filter": "display filter wireshark bpf tcpdump expression",
    "pause": "freeze stop scrolling",
    "cycle_time": "time format timestamps clock",
    "export": "save write pcap pcapng file export",
    "find": "find search packet text bytes",
    "toggle_mark": "mark packet bookmark",
    "follow": "follow tcp udp stream conversation payload",
    "conversations": "conversations flows statistics talkers",
    "endpoints": "endpoints hosts addresses statistics",
    "sort": "sort order column",
    "toggle_counters": "counters statistics protocols",
    "help": "help keys keyboard shortcuts",
    "zoom": "zoom maximize pane full screen",
}


def words_for(name: str) -> str:
    """The words the palette also matches for the tool called ``name``."""
    for t in TOOLS:
        if t.name == name:
            return t.words or WORDS.get(t.action, "")
    return ""


def tool_for(action: str) -> Tool | None:
    for t in TOOLS:
        if t.action == action:
            return t
    return None
