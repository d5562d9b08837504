"""What a tunnel end says of itself: its problem counters in words, the exit summary's
line, a peer's address as the status line writes it.

Kept apart from :mod:`tapwatch.tunnel` (which moves frames and decides about peers) because
the words are read by the status bar, the exit summary and the events, and change for other
reasons than the moving does. A count of zero is never said.
"""

from __future__ import annotations

from tapwatch.tunnelwire import TunnelCounters


def plural(n: int) -> str:
    return "" if n == 1 else "s"


def worded(named: tuple[tuple[int, str], ...]) -> list[str]:
    """``(count, words with {s})`` pairs as "3 frames ...", the zero counts left out."""
    return [f"{n:,} {what.format(s=plural(n))}" for n, what in named if n]


def framing_counts(c: TunnelCounters) -> tuple[int, int, int, int]:
    """The framing problems from the peer, in :func:`framing_named`'s order."""
    return (c.zero_length, c.too_long_in, c.length_mismatch, c.cut_short)


def framing_named(
    c: TunnelCounters, max_frame: int, since: tuple[int, int, int, int] = (0, 0, 0, 0)
) -> tuple[tuple[int, str], ...]:
    """The framing problems from the peer (``TunnelCounters.framing_errors``), with words;
    ``since``: the counts to leave out (those of the peers before this one)."""
    zero, too_long, mismatch, cut = (
        n - base for n, base in zip(framing_counts(c), since, strict=True)
    )
    return (
        (zero, "zero-length frame{s}"),
        (too_long, f"frame{{s}} over {max_frame} B from the peer"),
        (mismatch, "frame{s} whose IP length disagrees"),
        (cut, "frame{s} cut short by the peer leaving"),
    )


def problems(c: TunnelCounters, max_frame: int) -> list[str]:
    """Every non-zero problem counter, in words."""
    named = (
        *framing_named(c, max_frame),
        (c.too_long_out, f"device frame{{s}} over {max_frame} B not sent"),
        (c.empty_out, "empty device frame{s} not sent"),
        (c.no_peer, "device frame{s} with no peer connected"),
        (c.backlog_full, "device frame{s} dropped: the peer did not keep up"),
        (c.foreign, "datagram{s} from other addresses ignored"),
        (c.refused, "client{s} turned away (one peer at a time)"),
        (c.not_allowed, "connection{s} or datagram{s} from addresses not allowed"),
        (c.unfit, "malformed datagram{s} from others (never a peer)"),
        (c.silent_closed, "silent client{s} closed"),
        (c.unreachable, "datagram{s} the peer's host refused (port unreachable)"),
        (c.write_errors, "frame{s} the device refused"),
        (c.unrecorded, "frame{s} carried but not recorded (the relay's queue was full)"),
    )
    return worded(named)


def summary_text(c: TunnelCounters, max_frame: int) -> str:
    """The exit summary's tunnel line: connections, frames each way, framing errors, and
    the problems in words."""
    text = (
        f"tunnel: {c.connections} connection{plural(c.connections)}, "
        f"{c.frames_out} frame{plural(c.frames_out)} sent, {c.frames_in} received, "
        f"{c.framing_errors} framing error{plural(c.framing_errors)}"
    )
    said = problems(c, max_frame)
    return text + (f" ({'; '.join(said)})" if said else "")


def addr_text(addr: tuple[object, ...]) -> str:
    """A socket address as the status line writes it: ``host:port``, ``[v6]:port``, an
    IPv4-mapped IPv6 address as IPv4."""
    host, port = str(addr[0]), addr[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
