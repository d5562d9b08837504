"""The tunnel a live run ends, and the view that follows tunnel streams for display."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapwatch.cli.messages import Failure, say

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tapwatch.analysis.links import Linker
    from tapwatch.cli.options import RunOptions
    from tapwatch.sinks import Sink
    from tapwatch.sources import Source
    from tapwatch.tunnel import Tunnel
    from tapwatch.tunnelview import TunnelView


def make_tunnel(opts: RunOptions, source: Source, printing: bool) -> Tunnel:
    """The tunnel's end, carrying ``source``'s frames; its news on stderr when headless."""
    from tapwatch.linktypes import LINKTYPE_ETHERNET
    from tapwatch.sources import DeviceSource
    from tapwatch.tunnel import Tunnel

    t = opts.tunnel
    assert t is not None
    if not isinstance(source, DeviceSource):
        raise Failure("a tunnel needs the device itself, not a read-only view of it")
    iface = source.interfaces[0]
    header = 14 if iface.linktype == LINKTYPE_ETHERNET else 0
    if iface.mtu and iface.mtu + header > t.max_frame:
        say(
            f"warning: {iface.name}'s MTU {iface.mtu}{' + 14' if header else ''} is "
            f"more than --tunnel-max-frame {t.max_frame}: longer frames are not sent (lower "
            "the MTU with --mtu, or raise the limit if the far end can take them)"
        )

    def event(text: str) -> None:
        if printing:  # the UI shows the tunnel's state in its status bar instead
            say(text)

    return Tunnel(
        t.role,
        t.endpoint,
        transport=t.transport,
        linktype=iface.linktype,
        max_frame=t.max_frame,
        deliver=source.inject,
        on_event=event,
        allow=t.allow,
        quiet_s=t.quiet_s,
        silent_s=t.silent_s,
        device=source,
    )


def linker_sink(opts: RunOptions, device_linktype: int | None) -> Sink:
    """What links inner and outer packets: a sink with a tunnel view of its own (it
    follows the framed streams apart from what the lines or the tree show)."""
    from tapwatch.analysis.links import Linker
    from tapwatch.sinks import LinkSink

    return LinkSink(Linker(view=tunnel_view(opts, device_linktype)))


def tunnel_stats_lines(linker: Linker, names: Sequence[str]) -> list[str]:
    """``--tunnel-stats``: the summary lines (interface names as the session has them)."""
    from tapwatch.analysis.tunnelstats import summary_lines

    def ifname(i: int) -> str:
        return names[i] if i < len(names) else f"if{i}"

    return summary_lines(linker.snapshot(), linker.unattributed_too_big(), ifname)


def tunnel_view(opts: RunOptions, device_linktype: int | None) -> TunnelView | None:
    """What follows tunnel streams for display: the session's own tunnel's port (its frames
    are the device's link type) and every --tunnel-decode port (frames judged one by one)."""
    from tapwatch.tunnelview import TunnelView

    if opts.tunnel is not None:
        return TunnelView([opts.tunnel.endpoint.port, *opts.tunnel_decode], device_linktype)
    if opts.tunnel_decode:
        return TunnelView(opts.tunnel_decode)
    return None
