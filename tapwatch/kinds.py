"""The closed sets of values that pass between tapwatch's parts.

Directions, peer modes, source kinds, device states and capture paths were
plain strings and small integers spread over several modules; naming them
once here lets mypy check every comparison and keeps the words users see
(``In``/``Out``, ``drop``/``echo``/``reply``) in one place.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal


class Direction(IntEnum):
    """Which way a packet crossed an interface, seen from the host, as libpcap says it.

    A packet the host sends into a tun/tap device is OUTBOUND ("Out" in
    ``tcpdump -i any``); one the host receives from it - written by tapwatch,
    by a tunnel's far end, or by whatever program holds the device - is
    INBOUND ("In"). The values are pcapng's ``epb_flags`` direction bits, so a
    record's direction is written and read without a table.
    """

    UNKNOWN = 0
    INBOUND = 1
    OUTBOUND = 2

    @property
    def word(self) -> str:
        """tcpdump's word for it ("In", "Out", "" when unknown)."""
        return DIRECTION_WORDS[self]


#: tcpdump's words, indexed by the direction's value (hot paths index this tuple).
DIRECTION_WORDS = ("", "In", "Out")
#: the packet list's words, indexed the same way: "host→" the host sent it, "→host" it got it
DIRECTION_ARROWS = ("", "→host", "host→")

#: What tapwatch does with what the host sends into a device it holds.
PeerMode = Literal["drop", "echo", "reply"]
PEER_MODES: tuple[PeerMode, ...] = ("drop", "echo", "reply")

#: Where a source's packets come from.
SourceKind = Literal["tun", "tap", "observe", "file", "records", "events"]

#: What the kernel says about an interface a source reads (a file or fed records have none:
#: their state is None), or that the reader lost it ("gone") or failed ("error"), or that
#: it is followed by name and does not exist now ("waiting": it is read when it appears).
DeviceState = Literal["up", "down", "no-carrier", "unknown", "gone", "error", "waiting"]

#: How a live source is read: the kernel's TPACKET_V3 ring of a packet socket, a reader
#: child process with a shared buffer, a reader thread, or plain packet-socket reads.
CapturePath = Literal["tpacket", "process", "thread", "socket"]
CAPTURE_PATHS: tuple[CapturePath, ...] = ("tpacket", "process", "thread", "socket")

#: Whether packets can still arrive: "live" (a device, an interface or a pipe is read),
#: "stopped" (capture ended: the device went, -c was reached, a signal came), "offline"
#: (a finished file or fed records: nothing was ever going to arrive).
CaptureState = Literal["live", "stopped", "offline"]

#: Who answers what the host sends into the headline interface: tapwatch itself (in its
#: peer mode), a tunnel's far end, nobody because tapwatch only reads (a device held
#: read-only, an observed interface), or nothing at all (a file, fed records).
PeerRole = Literal["tapwatch", "tunnel", "read-only", "observing", "no-device", "file"]
