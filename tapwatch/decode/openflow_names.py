"""OpenFlow's numbers and their names as tcpdump 4.99 prints them.

Message, action, match, error and statistics types of 1.0 and 1.3: the tables
:mod:`tapwatch.decode.openflow` reads, kept apart from its code.
"""

from __future__ import annotations

from typing import Final

VERSIONS: Final = {1: "1.0", 2: "1.1", 3: "1.2", 4: "1.3", 5: "1.4", 6: "1.5"}
TYPES10: Final = (
    *("HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "VENDOR", "FEATURES_REQUEST"),
    *("FEATURES_REPLY", "GET_CONFIG_REQUEST", "GET_CONFIG_REPLY", "SET_CONFIG"),
    *("PACKET_IN", "FLOW_REMOVED", "PORT_STATUS", "PACKET_OUT", "FLOW_MOD", "PORT_MOD"),
    *("STATS_REQUEST", "STATS_REPLY", "BARRIER_REQUEST", "BARRIER_REPLY"),
    *("QUEUE_GET_CONFIG_REQUEST", "QUEUE_GET_CONFIG_REPLY"),
)
TYPES13: Final = (
    *("HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "EXPERIMENTER", "FEATURES_REQUEST"),
    *("FEATURES_REPLY", "GET_CONFIG_REQUEST", "GET_CONFIG_REPLY", "SET_CONFIG"),
    *("PACKET_IN", "FLOW_REMOVED", "PORT_STATUS", "PACKET_OUT", "FLOW_MOD", "GROUP_MOD"),
    *("PORT_MOD", "TABLE_MOD", "MULTIPART_REQUEST", "MULTIPART_REPLY", "BARRIER_REQUEST"),
    *("BARRIER_REPLY", "QUEUE_GET_CONFIG_REQUEST", "QUEUE_GET_CONFIG_REPLY", "ROLE_REQUEST"),
    *("ROLE_REPLY", "GET_ASYNC_REQUEST", "GET_ASYNC_REPLY", "SET_ASYNC", "METER_MOD"),
)
#: OpenFlow 1.3's multipart types (the ``OFPMP_`` names Wireshark's Info adds)
MULTIPART13: Final = {
    **dict(enumerate(("DESC", "FLOW", "AGGREGATE", "TABLE", "PORT_STATS", "QUEUE", "GROUP"))),
    **{7: "GROUP_DESC", 8: "GROUP_FEATURES", 9: "METER", 10: "METER_CONFIG"},
    **{11: "METER_FEATURES", 12: "TABLE_FEATURES", 13: "PORT_DESC", 0xFFFF: "EXPERIMENTER"},
}
FIX, MIN = 1, 2
#: body-size rules by message type: (fixed or minimum, total length)
REQ10: Final = {
    0: (MIN, 8), 1: (MIN, 12), 2: (MIN, 8), 3: (MIN, 8), 4: (MIN, 12), 5: (FIX, 8),
    6: (MIN, 32), 7: (FIX, 8), 8: (FIX, 12), 9: (FIX, 12), 10: (MIN, 18),
    11: (FIX, 88), 12: (FIX, 64), 13: (MIN, 16), 14: (MIN, 72), 15: (FIX, 32),
    16: (MIN, 12), 17: (MIN, 12), 18: (FIX, 8), 19: (FIX, 8), 20: (FIX, 12),
    21: (MIN, 16),
}  # fmt: skip
REQ13: Final = {
    0: (MIN, 8), 1: (MIN, 12), 2: (MIN, 8), 3: (MIN, 8), 4: (MIN, 16), 5: (FIX, 8),
    6: (FIX, 32), 7: (FIX, 8), 8: (FIX, 12), 9: (FIX, 12), 12: (FIX, 80),
    16: (FIX, 40), 17: (FIX, 16), 20: (FIX, 8), 21: (FIX, 8), 22: (FIX, 16),
    24: (FIX, 24), 25: (FIX, 24), 26: (FIX, 8), 27: (FIX, 32), 28: (FIX, 32),
}  # fmt: skip

PORTS: Final = {
    0xFF00: "MAX", 0xFFF8: "IN_PORT", 0xFFF9: "TABLE", 0xFFFA: "NORMAL", 0xFFFB: "FLOOD",
    0xFFFC: "ALL", 0xFFFD: "CONTROLLER", 0xFFFE: "LOCAL", 0xFFFF: "NONE",
}  # fmt: skip
PORT_CONFIG: Final = (
    (1, "PORT_DOWN"), (2, "NO_STP"), (4, "NO_RECV"), (8, "NO_RECV_STP"), (16, "NO_FLOOD"),
    (32, "NO_FWD"), (64, "NO_PACKET_IN"),
)  # fmt: skip
PORT_STATE: Final = (
    (1, "LINK_DOWN"), (0, "STP_LISTEN"), (0x100, "STP_LEARN"), (0x200, "STP_FORWARD"),
    (0x300, "STP_BLOCK"),
)  # fmt: skip
FEATURES: Final = tuple(
    (1 << i, n)
    for i, n in enumerate(
        (
            *("10MB_HD", "10MB_FD", "100MB_HD", "100MB_FD", "1GB_HD", "1GB_FD", "10GB_FD"),
            *("COPPER", "FIBER", "AUTONEG", "PAUSE", "PAUSE_ASYM"),
        )
    )
)
ACTIONS: Final = (
    *("OUTPUT", "SET_VLAN_VID", "SET_VLAN_PCP", "STRIP_VLAN", "SET_DL_SRC", "SET_DL_DST"),
    *("SET_NW_SRC", "SET_NW_DST", "SET_NW_TOS", "SET_TP_SRC", "SET_TP_DST", "ENQUEUE"),
)
ACTION_BITS: Final = tuple((1 << i, n) for i, n in enumerate(ACTIONS))
CAPABILITIES: Final = (
    (1, "FLOW_STATS"), (2, "TABLE_STATS"), (4, "PORT_STATS"), (8, "STP"), (16, "RESERVED"),
    (32, "IP_REASM"), (64, "QUEUE_STATS"), (128, "ARP_MATCH_IP"),
)  # fmt: skip
WILDCARDS: Final = (
    (1, "IN_PORT"), (2, "DL_VLAN"), (4, "DL_SRC"), (8, "DL_DST"), (16, "DL_TYPE"),
    (32, "NW_PROTO"), (64, "TP_SRC"), (128, "TP_DST"), (1 << 20, "DL_VLAN_PCP"),
    (1 << 21, "NW_TOS"),
)  # fmt: skip
CONFIG: Final = {0: "FRAG_NORMAL", 1: "FRAG_DROP", 2: "FRAG_REASM"}
FLOW_CMDS: Final = ("ADD", "MODIFY", "MODIFY_STRICT", "DELETE", "DELETE_STRICT")
FLOW_FLAGS: Final = ((1, "SEND_FLOW_REM"), (2, "CHECK_OVERLAP"), (4, "EMERG"))
STATS: Final = {0: "DESC", 1: "FLOW", 2: "AGGREGATE", 3: "TABLE", 4: "PORT", 5: "QUEUE"}
TABLES: Final = {0xFE: "EMERG", 0xFF: "ALL"}
ERRORS: Final = (
    ("HELLO_FAILED", ("INCOMPATIBLE", "EPERM")),
    (
        "BAD_REQUEST",
        (
            *("BAD_VERSION", "BAD_TYPE", "BAD_STAT", "BAD_VENDOR", "BAD_SUBTYPE", "EPERM"),
            *("BAD_LEN", "BUFFER_EMPTY", "BUFFER_UNKNOWN"),
        ),
    ),
    (
        "BAD_ACTION",
        (
            *("BAD_TYPE", "BAD_LEN", "BAD_VENDOR", "BAD_VENDOR_TYPE", "BAD_OUT_PORT"),
            *("BAD_ARGUMENT", "EPERM", "TOO_MANY", "BAD_QUEUE"),
        ),
    ),
    (
        "FLOW_MOD_FAILED",
        (
            *("ALL_TABLES_FULL", "OVERLAP", "EPERM", "BAD_EMERG_TIMEOUT", "BAD_COMMAND"),
            "UNSUPPORTED",
        ),
    ),
    ("PORT_MOD_FAILED", ("BAD_PORT", "BAD_HW_ADDR")),
    ("QUEUE_OP_FAILED", ("BAD_PORT", "BAD_QUEUE", "EPERM")),
)
#: vendor and experimenter ids tcpdump names (its OUI table and ONF's experimenter ids)
VENDORS: Final = {
    0x000000: "Ethernet", 0x00000C: "Cisco", 0x00005E: "IANA", 0x000081: "Nortel Networks SONMP",
    0x0000F8: "Cisco bridged", 0x0080C2: "Ethernet bridged", 0x00A03E: "ATM Forum",
    0x00E02F: "DOCSIS Spanning Tree", 0x080007: "Appletalk", 0x009069: "Juniper",
    0x080009: "Hewlett-Packard", 0x00120F: "IEEE 802.3 Private", 0x0012BB: "ANSI/TIA",
    0x001B21: "DCBX", 0x002320: "Nicira Networks", 0x5C16C7: "Big Switch Networks",
    0xB0D2F5: "Vello Systems", 0x002481: "HP", 0x0004EA: "HP-Labs", 0x748771: "Infoblox Inc",
    0xA42305: "Open Networking Lab", 0x00049F: "Freescale", 0x0015AD: "Netronome",
    0x001018: "Broadcom", 0x00E004: "PMC-Sierra", 0xD0F0DB: "Ericsson",
    0x4F4E4600: "ONF Extensions",
    0xFF000001: "Budapest University of Technology and Economics", 0xFF000002: "NoviFlow",
    0xFF000003: "L3+ Extensions, Vendor Neutral", 0xFF000004: "L4-L7 Extensions",
    0xFF000005: "Wireless and Mobility Extensions",
    0xFF000006: "Forwarding Abstractions Extensions",
    0xFF000007: "Optical Transport Extensions", 0xFF000008: "Network Benchmarking Lab, NCTU",
    0xFF000009: "Mobile Packet Core Extensions",
    0xFF00000A: "MPLS-TP OpenFlow Extensions for SPTN",
}  # fmt: skip
#: OpenFlow 1.3 error types, each with its codes (tcpdump"s ofpet_str and code tables)
ERRORS13: Final = (
    ("HELLO_FAILED", ("INCOMPATIBLE", "EPERM")),
    (
        "BAD_REQUEST",
        (
            "BAD_VERSION",
            "BAD_TYPE",
            "BAD_MULTIPART",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "EPERM",
            "BAD_LEN",
            "BUFFER_EMPTY",
            "BUFFER_UNKNOWN",
            "BAD_TABLE_ID",
            "IS_SLAVE",
            "BAD_PORT",
            "BAD_PACKET",
            "MULTIPART_BUFFER_OVERFLOW",
        ),
    ),
    (
        "BAD_ACTION",
        (
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "BAD_OUT_PORT",
            "BAD_ARGUMENT",
            "EPERM",
            "TOO_MANY",
            "BAD_QUEUE",
            "BAD_OUT_GROUP",
            "MATCH_INCONSISTENT",
            "UNSUPPORTED_ORDER",
            "BAD_TAG",
            "BAD_SET_TYPE",
            "BAD_SET_LEN",
            "BAD_SET_ARGUMENT",
        ),
    ),
    (
        "BAD_INSTRUCTION",
        (
            "UNKNOWN_INST",
            "UNSUP_INST",
            "BAD_TABLE_ID",
            "UNSUP_METADATA",
            "UNSUP_METADATA_MASK",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "BAD_LEN",
            "EPERM",
        ),
    ),
    (
        "BAD_MATCH",
        (
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_TAG",
            "BAD_DL_ADDR_MASK",
            "BAD_NW_ADDR_MASK",
            "BAD_WILDCARDS",
            "BAD_FIELD",
            "BAD_VALUE",
            "BAD_MASK",
            "BAD_PREREQ",
            "DUP_FIELD",
            "EPERM",
        ),
    ),
    (
        "FLOW_MOD_FAILED",
        (
            "UNKNOWN",
            "TABLE_FULL",
            "BAD_TABLE_ID",
            "OVERLAP",
            "EPERM",
            "BAD_TIMEOUT",
            "BAD_COMMAND",
            "BAD_FLAGS",
        ),
    ),
    (
        "GROUP_MOD_FAILED",
        (
            "GROUP_EXISTS",
            "INVALID_GROUP",
            "WEIGHT_UNSUPPORTED",
            "OUT_OF_GROUPS",
            "OUT_OF_BUCKETS",
            "CHAINING_UNSUPPORTED",
            "WATCH_UNSUPPORTED",
            "LOOP",
            "UNKNOWN_GROUP",
            "CHAINED_GROUP",
            "BAD_TYPE",
            "BAD_COMMAND",
            "BAD_BUCKET",
            "BAD_MATCH",
            "EPERM",
        ),
    ),
    ("PORT_MOD_FAILED", ("BAD_PORT", "BAD_HW_ADDR", "BAD_CONFIG", "BAD_ADVERTISE", "EPERM")),
    ("TABLE_MOD_FAILED", ("BAD_TABLE", "BAD_CONFIG", "EPERM")),
    ("QUEUE_OP_FAILED", ("BAD_PORT", "BAD_QUEUE", "EPERM")),
    ("SWITCH_CONFIG_FAILED", ("BAD_FLAGS", "BAD_LEN", "EPERM")),
    ("ROLE_REQUEST_FAILED", ("STALE", "UNSUP", "BAD_ROLE")),
    (
        "METER_MOD_FAILED",
        (
            "UNKNOWN",
            "METER_EXISTS",
            "INVALID_METER",
            "UNKNOWN_METER",
            "BAD_COMMAND",
            "BAD_FLAGS",
            "BAD_RATE",
            "BAD_BURST",
            "BAD_BAND",
            "BAD_BAND_VALUE",
            "OUT_OF_METERS",
            "OUT_OF_BANDS",
        ),
    ),
    (
        "TABLE_FEATURES_FAILED",
        ("BAD_TABLE", "BAD_METADATA", "BAD_TYPE", "BAD_LEN", "BAD_ARGUMENT", "EPERM"),
    ),
)
PORTS13: Final = {
    0xFFFFFF00: "MAX", 0xFFFFFFF8: "IN_PORT", 0xFFFFFFF9: "TABLE", 0xFFFFFFFA: "NORMAL",
    0xFFFFFFFB: "FLOOD", 0xFFFFFFFC: "ALL", 0xFFFFFFFD: "CONTROLLER", 0xFFFFFFFE: "LOCAL",
    0xFFFFFFFF: "ANY",
}  # fmt: skip
CAPABILITIES13: Final = (
    (1, "FLOW_STATS"), (2, "TABLE_STATS"), (4, "PORT_STATS"), (8, "GROUP_STATS"),
    (0x20, "IP_REASM"), (0x40, "QUEUE_STATS"), (0x100, "PORT_BLOCKED"),
)  # fmt: skip
PORT_CONFIG13: Final = ((1, "PORT_DOWN"), (4, "NO_RECV"), (32, "NO_FWD"), (64, "NO_PACKET_IN"))
PORT_STATE13: Final = ((1, "LINK_DOWN"), (2, "BLOCKED"), (4, "LIVE"))
FEATURES13: Final = tuple(
    (1 << i, n)
    for i, n in enumerate(
        (
            *("10MB_HD", "10MB_FD", "100MB_HD", "100MB_FD", "1GB_HD", "1GB_FD", "10GB_FD"),
            *("40GB_FD", "100GB_FD", "1TB_FD", "OTHER", "COPPER", "FIBER", "AUTONEG", "PAUSE"),
            "PAUSE_ASYM",
        )
    )
)
ROLES: Final = ("NOCHANGE", "EQUAL", "MASTER", "SLAVE")
PORT_REASONS: Final = ("ADD", "DELETE", "MODIFY")
ASYNC_PACKET_IN: Final = ((1, "NO_MATCH"), (2, "ACTION"), (4, "INVALID_TTL"))
ASYNC_PORT: Final = ((1, "ADD"), (2, "DELETE"), (4, "MODIFY"))
