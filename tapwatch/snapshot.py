"""One typed snapshot of a session, for the status bar and the exit line.

:meth:`tapwatch.session.Session.status` fills it in one go from the
session, its sources and its sinks; a reader of it (the status bar) needs
nothing else, so it never reaches into a source, a loader or a sink, and a
test can pin the whole bar by building one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapwatch.kinds import CaptureState, DeviceState, PeerMode, PeerRole, SourceKind


@dataclass(frozen=True)
class LoadStatus:
    """How far a capture file is in the ring."""

    loaded: int  # packets in the ring so far
    done: bool
    fraction: float | None  # of the file read, 0..1; None when it cannot be told (a pipe)
    follows_pipe: bool  # a pipe, perhaps a live capture from elsewhere
    truncated_at: int | None  # packets loaded when the ring filled up, None when all were
    error: str | None  # why loading stopped before the file's end


@dataclass(frozen=True)
class Status:
    """A consistent snapshot: what is watched, who answers, every count and every loss."""

    # ----- what is watched: the interfaces, the headline one's details, capture's state
    interfaces: tuple[tuple[str, SourceKind], ...]  # (name, kind), numbered as records are
    addresses: tuple[str, ...]
    mtu: int | None
    device_state: DeviceState | None  # None: no interface to ask (a file, fed records)
    capture: CaptureState
    stop_reason: str | None
    loading: LoadStatus | None  # a capture file still loading or cut short
    # ----- who answers what the host sends
    peer: PeerRole
    mode: PeerMode
    peer_mac: str | None  # the address reply mode answers from on a tap
    replies_sent: int
    action_error: str | None  # the last reply or echo that could not be written
    echo_warning: str | None
    echo_loops: int
    tunnel: str | None  # the tunnel's own status line
    # ----- counts
    captured: int
    bytes: int
    pps: float
    ring_len: int
    ring_max: int
    filtering: bool  # a capture filter keeps packets out
    writing: bool  # -w
    written: int
    write_error: str | None
    # ----- losses
    evicted: int
    kernel_dropped: int | None  # None: no source can tell
    kernel_drops_meaning: str  # what the kernel-drop figure counts, "" when nothing says
    missed: int
    # ----- sources that come and go
    notice: str | None = None  # the latest thing that happened to a source (went away...)
    events: int = 0  # interface events recorded
    # ----- each interface's link type, named, when a file's are not all the same (else empty)
    linktypes: tuple[str, ...] = ()
    # ----- read from the kernel, then let go by -i any's holding queue (links not announced)
    held_dropped: int = 0
    # ----- carried by the tunnel's relay, their copies let go by its full queue (never recorded)
    unrecorded: int = 0
    # ----- whose MTU ``mtu`` is (the headline interface), named when several are watched
    mtu_of: str = ""
