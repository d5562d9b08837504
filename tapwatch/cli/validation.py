"""Flags to typed options, one area at a time: the checks argparse cannot make.

Each area's validator reads the parsed namespace and returns that area's typed
options (or raises :class:`UsageError`, exit status 2, or a
:class:`~tapwatch.errors.TapwatchError`, exit status 1, for a bad value such
as an address); each can be called, and tested, alone. :func:`validate` runs
them in the order their messages take precedence.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tapwatch.cli.messages import Failure, UsageError
from tapwatch.cli.options import OutputOptions, PrintOptions, RunOptions, TunnelOptions

if TYPE_CHECKING:
    from tapwatch.kinds import PeerMode
    from tapwatch.sources import Options


def checked_option(text: str) -> str:
    """-Y checked now: a bad filter is one line naming its token, before anything opens."""
    from tapwatch.dfilter.language import checked_option as check

    return check("-Y", text)


def validate(args: argparse.Namespace) -> RunOptions:
    """Check the combinations argparse cannot, and build the typed options."""
    tunnel = tunnel_options(args)
    source = source_options(args)
    printing = print_options(args)
    output = output_options(args)
    return RunOptions(
        source=source,
        expression=" ".join(args.expression),
        display_filter=checked_option(args.display_filter),
        output=output,
        printing=printing,
        tunnel=tunnel,
        tunnel_decode=args.tunnel_decode,
        tunnel_stats=args.tunnel_stats,
        # -s shapes a capture; reading a file, tcpdump shows what the file holds, and so do we
        snaplen=None if args.read else args.snaplen,
        count=args.count,
        ring_packets=args.ring_packets,
        ring_bytes=args.ring_bytes,
        replay=args.replay,
        replay_speed=args.replay_speed,
    )


# ----- tunnel -------------------------------------------------------------------------------


def tunnel_options(args: argparse.Namespace) -> TunnelOptions | None:
    """``--tunnel-listen``/``--tunnel-connect``: a device to carry, the far end's address."""
    tunnel = args.tunnel_listen or args.tunnel_connect
    if (args.tunnel_udp or args.tunnel_max_frame) and not tunnel:
        given = "--tunnel-udp" if args.tunnel_udp else "--tunnel-max-frame"
        raise UsageError(f"{given} goes with --tunnel-listen or --tunnel-connect")
    server_only = [
        name
        for name, given in (
            ("--tunnel-allow", args.tunnel_allow),
            ("--tunnel-quiet", args.tunnel_quiet is not None),
            ("--tunnel-silent", args.tunnel_silent is not None),
        )
        if given
    ]
    if server_only and not args.tunnel_listen:
        raise UsageError(f"{server_only[0]} goes with --tunnel-listen (it guards a server's peer)")
    if args.tunnel_quiet is not None and not args.tunnel_udp:
        raise UsageError("--tunnel-quiet goes with --tunnel-udp (a TCP peer holds its connection)")
    if args.tunnel_silent is not None and args.tunnel_udp:
        raise UsageError("--tunnel-silent is for a TCP server (UDP has no connection to close)")
    if not tunnel:
        return None
    if not (args.create or args.attach):
        raise UsageError("a tunnel carries a device's frames: add --create NAME or --attach NAME")
    if args.echo or args.reply:
        raise UsageError(
            "--echo and --reply answer in the device's place; with a tunnel the far "
            "end does: give one of them"
        )
    from tapwatch.tunnel import PEER_QUIET_S, SILENT_TIMEOUT_S
    from tapwatch.tunnelwire import DEFAULT_MAX_FRAME, parse_endpoint

    listen = bool(args.tunnel_listen)
    return TunnelOptions(
        role="server" if listen else "client",
        endpoint=parse_endpoint(tunnel, listen=listen),
        transport="udp" if args.tunnel_udp else "tcp",
        max_frame=args.tunnel_max_frame or DEFAULT_MAX_FRAME,
        allow=tuple(args.tunnel_allow),
        quiet_s=PEER_QUIET_S if args.tunnel_quiet is None else args.tunnel_quiet,
        silent_s=SILENT_TIMEOUT_S if args.tunnel_silent is None else args.tunnel_silent,
    )


# ----- sources: what is watched, the device's settings, the peer ----------------------------


def source_options(args: argparse.Namespace) -> Options:
    """One source (a device, perhaps with observed interfaces; a file; the demo), its
    device settings and peer actions, checked against each other."""
    from tapwatch.device import parse_addr
    from tapwatch.sources import Options

    args.observe = args.observe or []
    _check_sources(args)
    _check_device_settings(args)
    _check_peer_actions(args)
    addrs = [parse_addr(a) for a in args.addr]  # a bad address is a DeviceError: exit status 1
    mode: PeerMode = "echo" if args.echo else "reply" if args.reply else "drop"
    create = args.create
    if args.demo:
        from tapwatch import demo

        create = demo.DEVICE
        if not addrs:
            addrs = [parse_addr(a) for a in demo.ADDRESSES]
        if mode == "drop":
            mode = "reply"
    return Options(
        create=create,
        tap=args.tap,
        attach=args.attach,
        observe=args.observe,
        read=args.read[0] if args.read else None,
        reads=list(args.read or []),
        demo=args.demo,
        addrs=addrs,
        mtu=args.mtu,
        txqueuelen=args.txqueuelen,
        netns=args.netns,
        mode=mode,
        peers=args.peer,
        tunnel=bool(args.tunnel_listen or args.tunnel_connect),
    )


def _check_sources(args: argparse.Namespace) -> None:
    """Something to watch, and sources that go together."""
    live = args.create or args.attach or args.observe or args.demo
    if not live and not args.read:
        raise UsageError(
            "nothing to watch: give --create NAME, --attach NAME, --observe NAME, -r FILE or --demo"
        )
    if args.read and live:
        raise UsageError("-r reads a file; it does not combine with a device or --observe")
    if args.read and args.read.count("-") > 1:
        raise UsageError("-r - reads standard input once; name other inputs by path")
    if args.demo and (args.create or args.attach or args.observe or args.netns):
        raise UsageError("--demo makes its own namespace and device; give no other source")
    if args.tap and not (args.create or args.demo):
        raise UsageError("--tap goes with --create (an attached device's kind is detected)")


def _check_device_settings(args: argparse.Namespace) -> None:
    """Device settings need a device; a file and observed interfaces take none."""
    settings = args.addr or args.mtu or args.txqueuelen
    if args.read and (settings or args.netns):
        raise UsageError(
            "device settings (--addr, --mtu, --txqueuelen, --netns) need a device, not -r"
        )
    if args.read and (args.echo or args.reply or args.replay):
        raise UsageError("--echo, --reply and --replay need a device; -r only reads a file")
    has_device = args.create or args.attach or args.demo
    if args.observe and not has_device and (args.echo or args.reply or args.replay or settings):
        raise UsageError("--observe is read-only: it cannot answer, replay or configure")
    if args.mtu is not None and not 68 <= args.mtu <= 65535:
        raise UsageError(f"--mtu {args.mtu} is out of range (68-65535)")


def _check_peer_actions(args: argparse.Namespace) -> None:
    if args.peer and not args.reply:
        raise UsageError("--peer narrows --reply; add --reply")


# ----- output: -w, its rotation, -Z ---------------------------------------------------------


def output_options(args: argparse.Namespace) -> OutputOptions:
    """``-w`` and ``-C``/``-G``/``-W``; ``-Z``'s user, looked up before anything opens."""
    if args.read and args.write and args.write in args.read and args.write != "-":
        raise UsageError("-r and -w name the same file; write to another file")
    file_size = None
    if args.file_size is not None:
        from tapwatch.pcap import PcapError, parse_file_size

        try:
            file_size = parse_file_size(args.file_size)
        except PcapError as e:
            raise UsageError(f"-C {args.file_size}: {e}") from None
    if (file_size or args.rotate_seconds or args.file_count) and not args.write:
        raise UsageError("-C, -G and -W rotate the file -w writes: add -w FILE")
    if (file_size or args.rotate_seconds) and args.write == "-":
        raise UsageError("-C and -G write several files: give -w a file name, not -")
    if args.file_count and not (file_size or args.rotate_seconds):
        raise UsageError("-W goes with -C or -G")
    return OutputOptions(
        write=args.write,
        file_size=file_size,
        file_count=args.file_count,
        rotate_seconds=args.rotate_seconds,
        user=args.user,
        owner=user_ids(args.user) if args.user else None,
    )


def user_ids(user: str) -> tuple[int, int]:
    """-Z USER's uid and gid; an unknown user is an error before anything is opened."""
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise Failure(f"-Z {user}: no such user") from None
    return pw.pw_uid, pw.pw_gid


# ----- printing: what each line says, the dumps, and whether lines are printed --------------


def print_options(args: argparse.Namespace) -> PrintOptions:
    """tcpdump's line flags as a :class:`~tapwatch.headless.LineFormat`, and the UI or lines."""
    from tapwatch.headless import LineFormat

    fmt = LineFormat(
        time=min(args.times, 5),
        link=args.link,
        verbose=args.verbose,
        dump=dump_style(args.hex, args.hex_ascii, args.ascii),
        # -s shapes a capture; reading a file, tcpdump shows what the file holds
        snaplen=None if args.read else args.snaplen,
        absolute=args.absolute,
        strict=args.strict,
    )
    return PrintOptions(
        fmt=fmt,
        headless=args.headless or args.print_lines,
        quiet=args.quiet,
        line_buffered=args.line_buffered,
    )


def dump_style(hex_count: int, hex_ascii_count: int, ascii_count: int) -> str:
    """tcpdump's precedence of -x/-xx, -X/-XX and -A/-AA: -X wins (taking -xx's link
    header), then -x, then -A."""
    if hex_ascii_count:
        return "XX" if hex_ascii_count > 1 or hex_count > 1 else "X"
    if hex_count:
        return "xx" if hex_count > 1 else "x"
    if ascii_count:
        return "AA" if ascii_count > 1 else "A"
    return ""
