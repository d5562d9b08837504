"""Command line: parse flags, validate them into typed options, run, report.

Every failure a user can cause (flags, addresses, privileges, devices, files)
ends as one line on stderr and a non-zero exit status, never a traceback, and
never before what was captured has been written out. The modules raise
:class:`~tapwatch.errors.TapwatchError` subclasses with whole-sentence
messages; this module prints them once. Heavy imports (scapy, textual,
pyroute2) happen only on the paths that need them, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tapwatch import __version__
from tapwatch.errors import TapwatchError
from tapwatch.kinds import PeerMode
from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from tapwatch.filters import PacketFilter
    from tapwatch.headless import LineFormat, LinePrinter
    from tapwatch.pcap import CaptureFile, CaptureWriter, FileId
    from tapwatch.replay import Replayer
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo, Options, Source
    from tapwatch.tunnel import Endpoint, Role, Transport, Tunnel
    from tapwatch.tunnelview import TunnelView

PROG = "tapwatch"

#: Bounds for numbers whose meaning ends somewhere: a ring slot costs ~18 bytes before
#: any packet arrives, and the kernel keeps queue lengths in 32 bits.
MAX_RING_PACKETS = 100_000_000
MAX_RING_BYTES = 1 << 40
MAX_TXQUEUELEN = 0xFFFFFFFF

EXAMPLES = """\
examples:
  sudo tapwatch --demo                                   try it: private namespace, live traffic
  sudo tapwatch --create tun1 --addr 192.168.3.11/24     watch pings to 192.168.3.12 arrive
  sudo tapwatch --create tun1 --addr 192.168.3.11/24 --reply    ...and answer them
  sudo tapwatch --create tap0 --tap --addr 192.168.4.1/24 -w cap.pcapng
  sudo tapwatch --attach tun7 --headless icmp            tcpdump-style lines, filtered
  sudo tapwatch --observe wg0 --observe eth0             read-only view of two interfaces
  tapwatch -r cap.pcap                                   browse a capture
  tapwatch -r in.pcapng -w out.pcap 'icmp or arp'        filter and convert

directions are the host's, as tcpdump's: "Out" is what the host sent into the
device (what tapwatch reads), "In" what it received (what tapwatch, or the
program holding the device, wrote into it: replies, echoes, injected packets).
"""


class UsageError(Exception):
    """Bad flags: reported like argparse does, exit status 2."""


class Failure(TapwatchError):
    """Anything else that stops tapwatch: one line on stderr, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _whole(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least {low}")
    if value > high:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {what} allows ({high:,})")
    return value


def _positive_int(text: str) -> int:
    return _whole(text, 1, sys.maxsize, "a count")


def _ring_packets(text: str) -> int:
    return _whole(text, 1, MAX_RING_PACKETS, "--ring-packets")


def _txqueuelen(text: str) -> int:
    return _whole(text, 1, MAX_TXQUEUELEN, "--txqueuelen")


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    mult = 1
    if t and t[-1] in units:
        mult = units[t[-1]]
        t = t[:-1]
    try:
        number = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 256M, 1G)") from None
    if not math.isfinite(number) or number * mult > MAX_RING_BYTES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size tapwatch can hold (at most 1T)")
    value = int(number * mult)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _snaplen(text: str) -> int:
    return _whole(text, 0, 262144, "-s") or 262144


def _port(text: str) -> int:
    return _whole(text, 1, 65535, "a port")


def _max_frame(text: str) -> int:
    return _whole(text, 1, 65535, "--tunnel-max-frame")


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            "the speed must be 0 (as fast as possible) or a positive number"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Watch, record and answer the traffic of Linux tun/tap devices.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("source (a device and/or observed interfaces, or a file)")
    g = src.add_mutually_exclusive_group()
    g.add_argument(
        "--create",
        metavar="NAME",
        help="create a tun device (with --tap: a tap device) that disappears when tapwatch exits",
    )
    g.add_argument(
        "--attach",
        metavar="NAME",
        help="open an existing persistent tun/tap "
        "device and leave it in place; falls back to --observe if another "
        "program holds it",
    )
    g.add_argument(
        "-r", dest="read", metavar="FILE", help="read a pcap or pcapng file ('-' for stdin)"
    )
    g.add_argument(
        "--demo",
        action="store_true",
        help="private network namespace with a tun "
        "device and generated traffic; touches nothing else",
    )
    src.add_argument(
        "--observe",
        metavar="NAME",
        action="append",
        help="read-only capture of any interface through a packet socket "
        "(repeatable; combines with --create/--attach)",
    )

    dev = p.add_argument_group("device")
    dev.add_argument(
        "--tap",
        action="store_true",
        help="with --create: layer-2 tap (Ethernet) instead of tun (raw IP)",
    )
    dev.add_argument(
        "--addr",
        metavar="CIDR",
        action="append",
        default=[],
        help="address to give the device, IPv4 or IPv6, repeatable (e.g. 192.168.3.11/24)",
    )
    dev.add_argument("--mtu", type=int, metavar="N", help="device MTU")
    dev.add_argument(
        "--txqueuelen",
        type=_txqueuelen,
        metavar="N",
        help="device queue length (packets the kernel holds for tapwatch; "
        "default 1000 for created devices)",
    )
    dev.add_argument(
        "--netns",
        metavar="NAME",
        help="work in this existing network namespace (ip netns add NAME)",
    )

    peer = p.add_argument_group("peer actions (what tapwatch writes back)")
    m = peer.add_mutually_exclusive_group()
    m.add_argument("--echo", action="store_true", help="write every frame back unchanged")
    m.add_argument(
        "--reply",
        action="store_true",
        help="answer ARP, neighbour solicitations and "
        "pings for addresses in the device's subnets, like a real host",
    )
    peer.add_argument(
        "--peer",
        metavar="ADDR",
        action="append",
        default=[],
        help="with --reply: answer only for this address (repeatable)",
    )
    peer.add_argument(
        "--replay",
        metavar="FILE",
        help="write the packets of a pcap into the device with their original timing",
    )
    peer.add_argument(
        "--replay-speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help="replay timing factor (2 = twice as fast, 0 = as fast as possible)",
    )

    tun = p.add_argument_group("tunnel (be one end of a simpletun-style tunnel)")
    t = tun.add_mutually_exclusive_group()
    t.add_argument(
        "--tunnel-listen",
        metavar="[ADDR:]PORT",
        nargs="?",
        const="55555",
        help="wait for the far end on PORT "
        "(default 55555) and carry the device's frames to it; a new client is "
        "accepted when one goes away",
    )
    t.add_argument(
        "--tunnel-connect",
        metavar="HOST[:PORT]",
        help="connect to the far end (an IP address; port 55555 by default), retrying with backoff",
    )
    tun.add_argument(
        "--tunnel-udp",
        action="store_true",
        help="one frame per UDP datagram instead of length-prefixed frames over TCP",
    )
    tun.add_argument(
        "--tunnel-decode",
        type=_port,
        action="append",
        default=[],
        metavar="PORT",
        help="show the frames inside a simpletun-style stream on TCP/UDP PORT "
        "(someone else's tunnel, observed or in a file); repeatable",
    )
    tun.add_argument(
        "--tunnel-max-frame",
        type=_max_frame,
        default=None,
        metavar="N",
        help="longest frame sent to the far end (default 2000: simpletun's buffer; "
        "longer frames are dropped and counted)",
    )

    td = p.add_argument_group("tcpdump's flags (lines, files, capture)")
    td.add_argument(
        "-i",
        dest="observe",
        metavar="IF",
        action="append",
        help="as --observe; '-i any' observes every interface of the namespace",
    )
    td.add_argument(
        "-w",
        dest="write",
        metavar="FILE",
        help="write packets to FILE (pcapng if it ends in .pcapng, else pcap; '-' for stdout)",
    )
    td.add_argument(
        "--print",
        dest="print_lines",
        action="store_true",
        help="print lines even while writing with -w",
    )
    td.add_argument(
        "-C",
        dest="file_size",
        metavar="SIZE",
        help="with -w: start a new file when one reaches SIZE million bytes "
        "(FILE, FILE1, FILE2...; as tcpdump)",
    )
    td.add_argument(
        "-W",
        dest="file_count",
        type=_positive_int,
        metavar="N",
        help="with -C: keep a ring of N files; with -G: stop after N files",
    )
    td.add_argument(
        "-G",
        dest="rotate_seconds",
        type=_positive_int,
        metavar="SECONDS",
        help="with -w: a new file every SECONDS (strftime %%-escapes in FILE "
        "name each one, as tcpdump)",
    )
    td.add_argument(
        "-c", dest="count", type=_positive_int, metavar="N", help="stop after N packets"
    )
    td.add_argument(
        "-s",
        dest="snaplen",
        type=_snaplen,
        metavar="SNAPLEN",
        help="bytes of each packet to keep (0: all, up to 262144)",
    )
    td.add_argument("-e", dest="link", action="store_true", help="print link-level headers")
    td.add_argument(
        "-S",
        dest="absolute",
        action="store_true",
        help="absolute TCP sequence numbers (relative to each connection's "
        "first by default, as tcpdump)",
    )
    td.add_argument(
        "--strict-tcpdump",
        dest="strict",
        action="store_true",
        help="print what tapwatch decodes further exactly as tcpdump 4.99 does "
        "(WireGuard, OpenVPN, ERSPAN as plain UDP/GRE; VXLAN's inner frame on a "
        "second line)",
    )
    td.add_argument(
        "-n",
        dest="numeric",
        action="count",
        default=0,
        help="accepted for tcpdump habits; tapwatch never resolves names",
    )
    td.add_argument("-q", dest="quiet", action="store_true", help="no per-packet lines")
    td.add_argument(
        "-v",
        dest="verbose",
        action="count",
        default=0,
        help="tcpdump's -v lines (-vv: tcpdump's -vv); -vvv adds the full field "
        "dissection of every packet (slow: for looking, not for floods)",
    )
    td.add_argument(
        "-t",
        dest="times",
        action="count",
        default=0,
        help="-t no time, -tt seconds since 1970, -ttt since the previous line, "
        "-tttt date and time, -ttttt since the first line",
    )
    td.add_argument(
        "-x",
        dest="hex",
        action="count",
        default=0,
        help="hex of each packet (-xx: with the link-level header)",
    )
    td.add_argument(
        "-X",
        dest="hex_ascii",
        action="count",
        default=0,
        help="hex and ASCII (-XX: with the link-level header)",
    )
    td.add_argument(
        "-A",
        dest="ascii",
        action="count",
        default=0,
        help="ASCII of each packet (-AA: with the link-level header)",
    )
    td.add_argument(
        "-l", dest="line_buffered", action="store_true", help="write each line at once (for | grep)"
    )
    td.add_argument(
        "-Z",
        dest="user",
        metavar="USER",
        help="drop root privileges to USER "
        "once the device is open (with -r: before the file is opened)",
    )

    out = p.add_argument_group("output and memory")
    out.add_argument(
        "--headless",
        action="store_true",
        help="print one line per packet instead "
        "of the terminal UI (automatic when stdout is not a terminal)",
    )
    out.add_argument(
        "--ring-packets",
        type=_ring_packets,
        metavar="N",
        help="packets held in memory (default 500000)",
    )
    out.add_argument(
        "--ring-bytes", type=_size, metavar="SIZE", help="bytes held in memory (default 256M)"
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument("expression", nargs="*", help="tcpdump filter expression (e.g. icmp or arp)")
    return p


def _default_format() -> LineFormat:
    from tapwatch.headless import LineFormat

    return LineFormat()


@dataclass
class TunnelOptions:
    """``--tunnel-listen``/``--tunnel-connect`` and their companions, parsed."""

    role: Role
    endpoint: Endpoint
    transport: Transport = "tcp"
    max_frame: int = 2000


@dataclass
class RunOptions:
    """What one run does: where packets come from (``source``) and where they go."""

    source: Options
    expression: str = ""
    fmt: LineFormat = field(default_factory=lambda: _default_format())
    print_lines: bool = False
    line_buffered: bool = False
    snaplen: int | None = None
    file_size: int | None = None  # -C, in bytes
    file_count: int | None = None  # -W
    rotate_seconds: int | None = None  # -G
    owner: tuple[int, int] | None = None  # -Z's uid and gid
    tunnel_decode: list[int] = field(default_factory=list)  # --tunnel-decode ports
    write: str | None = None
    headless: bool = False
    quiet: bool = False
    verbose: bool = False
    link: bool = False
    count: int | None = None
    ring_packets: int | None = None
    ring_bytes: int | None = None
    user: str | None = None
    replay: str | None = None
    replay_speed: float = 1.0
    tunnel: TunnelOptions | None = None

    @property
    def read(self) -> str | None:
        return self.source.read

    @property
    def wants_ui(self) -> bool:
        """The UI unless asked for lines, or the output is no terminal.

        stdin may be a pipe (a capture fed to ``-r -``): keys then come from
        the controlling terminal.
        """
        if self.headless or self.write == "-" or self.quiet or self.verbose or self.count:
            return False
        from tapwatch.terminal import has_terminal

        return has_terminal()


def validate(args: argparse.Namespace) -> RunOptions:
    """Check the combinations argparse cannot, and build the typed options."""
    from tapwatch.sources import Options

    tunnel = args.tunnel_listen or args.tunnel_connect
    if (args.tunnel_udp or args.tunnel_max_frame) and not tunnel:
        given = "--tunnel-udp" if args.tunnel_udp else "--tunnel-max-frame"
        raise UsageError(f"{given} goes with --tunnel-listen or --tunnel-connect")
    if tunnel and not (args.create or args.attach):
        raise UsageError("a tunnel carries a device's frames: add --create NAME or --attach NAME")
    args.observe = args.observe or []
    live = args.create or args.attach or args.observe or args.demo
    if not live and not args.read:
        raise UsageError(
            "nothing to watch: give --create NAME, --attach NAME, --observe NAME, -r FILE or --demo"
        )
    if args.read and live:
        raise UsageError("-r reads a file; it does not combine with a device or --observe")
    if args.demo and (args.create or args.attach or args.observe or args.netns):
        raise UsageError("--demo makes its own namespace and device; give no other source")
    if args.tap and not (args.create or args.demo):
        raise UsageError("--tap goes with --create (an attached device's kind is detected)")
    if args.read and (args.addr or args.mtu or args.txqueuelen or args.netns):
        raise UsageError(
            "device settings (--addr, --mtu, --txqueuelen, --netns) need a device, not -r"
        )
    if args.read and (args.echo or args.reply or args.replay):
        raise UsageError("--echo, --reply and --replay need a device; -r only reads a file")
    has_device = args.create or args.attach or args.demo
    if (
        args.observe
        and not has_device
        and (args.echo or args.reply or args.replay or args.addr or args.mtu or args.txqueuelen)
    ):
        raise UsageError("--observe is read-only: it cannot answer, replay or configure")
    if args.peer and not args.reply:
        raise UsageError("--peer narrows --reply; add --reply")
    if tunnel and (args.echo or args.reply):
        raise UsageError(
            "--echo and --reply answer in the device's place; with a tunnel the far "
            "end does: give one of them"
        )
    if args.mtu is not None and not 68 <= args.mtu <= 65535:
        raise UsageError(f"--mtu {args.mtu} is out of range (68-65535)")
    if args.read and args.write and args.read == args.write and args.read != "-":
        raise UsageError("-r and -w name the same file; write to another file")
    from tapwatch.device import parse_addr

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
    source = Options(
        create=create,
        tap=args.tap,
        attach=args.attach,
        observe=args.observe,
        read=args.read,
        demo=args.demo,
        addrs=addrs,
        mtu=args.mtu,
        txqueuelen=args.txqueuelen,
        netns=args.netns,
        mode=mode,
        peers=args.peer,
        tunnel=bool(tunnel),
    )
    tunnel_opts = None
    if tunnel:
        from tapwatch.tunnel import DEFAULT_MAX_FRAME, parse_endpoint

        listen = bool(args.tunnel_listen)
        tunnel_opts = TunnelOptions(
            role="server" if listen else "client",
            endpoint=parse_endpoint(tunnel, listen=listen),
            transport="udp" if args.tunnel_udp else "tcp",
            max_frame=args.tunnel_max_frame or DEFAULT_MAX_FRAME,
        )
    from tapwatch.headless import LineFormat

    dump = ""
    if args.hex_ascii:
        dump = "XX" if args.hex_ascii > 1 or args.hex > 1 else "X"
    elif args.hex:
        dump = "xx" if args.hex > 1 else "x"
    elif args.ascii:
        dump = "AA" if args.ascii > 1 else "A"
    # -s shapes a capture; reading a file, tcpdump shows what the file holds, and so do we
    fmt = LineFormat(
        time=min(args.times, 5),
        link=args.link,
        verbose=args.verbose,
        dump=dump,
        snaplen=None if args.read else args.snaplen,
        absolute=args.absolute,
        strict=args.strict,
    )
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
    owner = _user_ids(args.user) if args.user else None
    return RunOptions(
        source=source,
        expression=" ".join(args.expression),
        write=args.write,
        fmt=fmt,
        file_size=file_size,
        file_count=args.file_count,
        rotate_seconds=args.rotate_seconds,
        owner=owner,
        tunnel_decode=args.tunnel_decode,
        print_lines=args.print_lines,
        line_buffered=args.line_buffered,
        snaplen=None if args.read else args.snaplen,
        headless=args.headless or args.print_lines,
        quiet=args.quiet,
        verbose=args.verbose > 0,
        link=args.link,
        count=args.count,
        ring_packets=args.ring_packets,
        ring_bytes=args.ring_bytes,
        user=args.user,
        replay=args.replay,
        replay_speed=args.replay_speed,
        tunnel=tunnel_opts,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    try:
        opts = validate(parser.parse_args(argv))
    except UsageError as e:
        _say(f"{e} (see tapwatch --help)")
        return 2
    except TapwatchError as e:
        _say(f"{e}")
        return 1
    # until capture runs, a signal interrupts set-up like Ctrl-C does; what was made is undone
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        return run(opts)
    except TapwatchError as e:
        _say(f"{e}")
        return 1
    except KeyboardInterrupt:
        _say("interrupted before capture started")
        return 130


def _say(message: str) -> None:
    """One line on stderr, as every message of tapwatch's: escaped, since file names,
    interface names and packet-derived text may hold anything (see tapwatch.sanitize)."""
    print(f"{PROG}: {printable(message)}", file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run(opts: RunOptions) -> int:
    """Run what ``opts`` asks until it ends; returns the exit status."""
    if opts.read:
        return _run_file(opts)
    return _run_live(opts)


# ----- shared pieces --------------------------------------------------------------------------


def _packet_filter(opts: RunOptions, linktypes: Sequence[int]) -> PacketFilter | None:
    from tapwatch.filters import compile_packet_filter

    return compile_packet_filter(opts.expression, linktypes)


def _new_ring(opts: RunOptions, file_size: int | None = None) -> Ring:
    """The ring sized by --ring-packets / --ring-bytes, or the defaults.

    ``file_size``: a capture file to browse. A file is no live capture whose
    oldest packets may go: unless told otherwise, the ring is made big enough
    for the whole file when memory allows (at most half of what is available).
    """
    from tapwatch.ring import DEFAULT_MAX_BYTES, DEFAULT_MAX_PACKETS, Ring

    packets = opts.ring_packets or DEFAULT_MAX_PACKETS
    size = opts.ring_bytes or DEFAULT_MAX_BYTES
    if file_size is not None:
        room = _available_memory() // 2
        if not opts.ring_bytes:
            size = max(size, min(file_size, room))
        if not opts.ring_packets:
            # a record takes at least 16 bytes of header and, in practice, 40 of packet
            packets = max(packets, min(file_size // 56 + 1, MAX_RING_PACKETS, room // 80))
    try:
        return Ring(packets, size)
    except MemoryError:
        raise Failure(
            f"not enough memory for a ring of {packets:,} packets; "
            "ask for fewer with --ring-packets"
        ) from None


def _available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes (1 GiB when it cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 30


def _open_output(
    opts: RunOptions,
    interfaces: Sequence[tuple[int, str | None]],
    like: CaptureFile | None = None,
    inputs: Sequence[FileId | None] = (),
) -> CaptureWriter | None:
    """The -w writer (rotating with -C/-G), with every interface the capture has so far.

    ``like``: copy that file's format, header and interfaces exactly (``-r A -w B``
    of one format). ``inputs``: files being read, which the output must not be.
    """
    if not opts.write:
        return None
    from tapwatch import pcap

    if opts.owner is not None:
        pcap.give_files_to(*opts.owner)  # files are the -Z user's, not root's
    if like is not None and not (opts.file_size or opts.rotate_seconds):
        return pcap.writer_like(like, sys.stdout.buffer if opts.write == "-" else opts.write)
    (linktype, ifname), *more = interfaces
    writer: CaptureWriter
    if opts.file_size or opts.rotate_seconds:
        writer = pcap.RotatingWriter(
            opts.write,
            linktype,
            ifname=ifname,
            file_size=opts.file_size,
            file_count=opts.file_count,
            seconds=opts.rotate_seconds,
            inputs=inputs,
        )
    else:
        target = sys.stdout.buffer if opts.write == "-" else opts.write
        writer = pcap.open_writer(target, linktype, ifname=ifname, inputs=inputs)
    try:
        for lt, name in more:
            writer.add_interface(lt, name)
    except BaseException:
        _close_quietly(writer)
        raise
    return writer


def _close_quietly(writer: CaptureWriter | None) -> None:
    if writer is None:
        return
    try:
        writer.close()
    except Exception:  # the caller is already reporting a failure
        return


def _user_ids(user: str) -> tuple[int, int]:
    """-Z USER's uid and gid; an unknown user is an error before anything is opened."""
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise Failure(f"-Z {user}: no such user") from None
    return pw.pw_uid, pw.pw_gid


def _preload(opts: RunOptions, ui: bool) -> None:
    """Import now what the run will need, while tapwatch may still read every file.

    After ``-Z`` the interpreter's own files can be out of reach (a Python
    installed under /root, say), and a module imported lazily later would fail.
    """
    import importlib

    mods = [
        "tapwatch.filters",
        "tapwatch.headless",
        "tapwatch.pcap",
        "tapwatch.replay",
        "tapwatch.peer",
        "encodings.idna",
        "ctypes",
        "ctypes.util",
        "pwd",
    ]
    if ui:
        mods += ["tapwatch.app", "tapwatch.terminal"]
    for mod in mods:
        importlib.import_module(mod)
    if ui or opts.fmt.verbose > 2:
        from tapwatch.decode import tree

        tree._load_scapy()  # the protocol tree and -vvv dissect with scapy
    from tapwatch.filters import _libpcap

    with contextlib.suppress(TapwatchError):
        _libpcap()  # the shared library too


def _drop_privileges(user: str) -> None:
    uid, gid = _user_ids(user)
    try:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    except PermissionError:
        raise Failure(f"-Z {user}: cannot change user (tapwatch is not running as root)") from None


def _lines_out(opts: RunOptions) -> Any:
    """Where per-packet lines go: stdout, or stderr when stdout carries the pcap."""
    return sys.stderr if opts.write == "-" else sys.stdout


# ----- offline ------------------------------------------------------------------------------


def _run_file(opts: RunOptions) -> int:
    from tapwatch import pcap

    if opts.user:
        _preload(opts, opts.wants_ui and not opts.write)
        _drop_privileges(opts.user)  # before a byte of the file is read
    path = opts.read
    assert path is not None
    if not opts.wants_ui or opts.write:
        try:
            cap = pcap.read_capture(sys.stdin.buffer if path == "-" else path)
        except pcap.PcapError as e:
            raise Failure(str(e)) from None
        try:
            with cap:
                if opts.write:
                    return _convert(opts, cap)
                return _print_file(opts, cap)
        except KeyboardInterrupt:  # the lines (and records) read so far are out already
            return 130
    return _browse_file(opts)


def _browse_file(opts: RunOptions) -> int:
    """-r into the UI: the file loads in the background while the first screen shows."""
    import threading

    from tapwatch import terminal
    from tapwatch.session import Session
    from tapwatch.sources import open_file

    assert opts.read is not None
    size = None
    if opts.read != "-":
        with contextlib.suppress(OSError):
            size = os.stat(opts.read).st_size
    ring = _new_ring(opts, size)
    wake = threading.Event()
    stdin = None
    if opts.read == "-":  # the capture keeps its pipe; the UI gets the terminal as fd 0
        stdin = os.fdopen(terminal.take_stdin(), "rb")
    src = open_file(
        opts.read, ring, wake, stdin=stdin, capture_filter=lambda lts: _packet_filter(opts, lts)
    )
    session = Session(
        [src],
        ring=ring,
        wake=wake,
        capture_filter=src.capture_filter,
        tunnel_view=_tunnel_view(opts, None),
    )
    try:
        session.start()
        from tapwatch.app import run_ui

        with terminal.for_ui():
            outcome = run_ui(session)
    finally:
        session.close()
    if not outcome.hung_up:
        _say(session.summary_line())
    if src.truncated_at is not None:
        _say(
            f"{opts.read}: loaded the first {src.truncated_at:,} packets (the ring "
            "holds no more); raise --ring-packets / --ring-bytes to load more"
        )
    if src.error:
        raise Failure(src.error)
    return outcome.status


def _report_truncation(opts: RunOptions, cap: CaptureFile, n: int) -> int:
    """A file that ends inside a record: said, and the exit status is 1 as tcpdump's
    ("truncated dump file"), though everything before the cut was printed or written."""
    if cap.truncated:
        _say(f"{opts.read}: the last packet is cut short; kept the {n} before it")
        return 1
    return 0


def _print_file(opts: RunOptions, cap: CaptureFile) -> int:
    """-r without the UI: stream lines like tcpdump -r."""
    from tapwatch import pcap
    from tapwatch.headless import print_records
    from tapwatch.linktypes import header_name

    flt = _packet_filter(opts, [i.linktype for i in cap.interfaces])
    print(
        printable(f"reading from file {opts.read}, link-type {header_name(cap.linktype)}"),
        file=sys.stderr,
    )
    try:
        n = print_records(
            cap,
            cap.interfaces,
            _lines_out(opts),
            flt=flt,
            tunnel_view=_tunnel_view(opts, None),
            count=opts.count,
            quiet=opts.quiet,
            fmt=opts.fmt,
            follow=opts.read == "-" or opts.line_buffered,
        )
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    except BrokenPipeError:
        # the reader of our output went away (| head): that is an ending, not an error
        _silence_stdout()
        return 0
    except OSError as e:  # the lines could not be written (a full disk): read errors are PcapErrors
        _silence_stdout()
        raise Failure(f"cannot write the lines: {e.strerror or e}") from None
    return _report_truncation(opts, cap, n)


def _stdin_has_more() -> bool:
    """Whether standard input has bytes waiting (a pipe that would not block)."""
    import select

    try:
        return bool(select.select([sys.stdin.fileno()], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _silence_stdout() -> None:
    """What is still buffered for a stdout that cannot take it goes nowhere (no second
    complaint from the interpreter at exit)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _convert(opts: RunOptions, cap: CaptureFile) -> int:
    """-r A -w B: stream from reader to writer, keeping timestamps, lengths, interfaces.

    A packet the output format cannot hold (a pcapng timestamp before 1970 going
    to classic pcap) is skipped and counted; everything else goes through.
    """
    from tapwatch import pcap
    from tapwatch.headless import Renderer

    assert opts.write is not None
    same = (not opts.write.endswith(".pcapng")) == (cap.format == "pcap")
    ifaces = cap.interfaces  # grows when the file describes an interface late
    flt = _packet_filter(opts, [i.linktype for i in ifaces])
    try:
        writer = _open_output(
            opts,
            [(i.linktype, i.name) for i in ifaces],
            like=cap if same else None,
            inputs=[cap.identity],
        )
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    assert writer is not None
    lines = _lines_out(opts) if opts.headless and not opts.quiet else None
    piped = opts.read == "-"  # perhaps a live capture (ssh host tapwatch -w -): never held back
    names = [i.name or f"if{n}" for n, i in enumerate(ifaces)] if len(ifaces) > 1 else None
    renderer = Renderer(opts.fmt, names=names)
    n = skipped = 0
    try:
        for rec in cap:
            lt = ifaces[rec.iface].linktype
            if flt is not None and not flt.match(rec.data, lt):
                continue
            if rec.iface >= len(writer.interfaces):
                pcap.add_missing_interfaces(writer, ifaces)
            try:
                writer.write(rec.ts_ns, rec.data, rec.direction, rec.orig_len, rec.iface)
            except pcap.RecordDoesNotFit:
                skipped += 1
                continue
            n += 1
            if piped and not _stdin_has_more():
                writer.flush()  # the input is live: what it gave so far goes out now
            if lines is not None:
                try:
                    lines.write(renderer.line(rec.ts_ns, None, rec.data, lt, rec.iface) + "\n")
                    if opts.line_buffered or piped:
                        lines.flush()
                except BrokenPipeError:  # nobody reads the lines any more: the file goes on
                    _silence_stdout()
                    lines = None
            if opts.count and n >= opts.count:
                break
    except pcap.FileLimitReached as e:
        _say(f"{e}")
    except pcap.PcapError as e:
        _close_quietly(writer)
        raise Failure(str(e)) from None
    except OSError as e:  # the lines beside the file could not be written
        _close_quietly(writer)
        _silence_stdout()
        raise Failure(f"cannot write the lines: {e.strerror or e}") from None
    finally:
        if lines is not None:
            with contextlib.suppress(OSError):
                lines.flush()
    try:
        writer.close()
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    if skipped:
        _say(
            f"skipped {skipped} packets {opts.write}'s format cannot hold (their "
            "timestamps or lengths do not fit it)"
        )
    if opts.write != "-":
        _say(f"wrote {n} packets to {opts.write}")
    return _report_truncation(opts, cap, n)


# ----- live ---------------------------------------------------------------------------------


def open_live_session(argv: Sequence[str]) -> Session:
    """A live session built exactly as the command line builds it (scripts, benchmarks).

    The caller starts it (``session.start()``) and closes it; for ``--demo`` the
    caller also runs ``demo.Traffic``. Raises UsageError or a TapwatchError.
    """
    opts = validate(build_parser().parse_args(list(argv)))
    return _open_live(opts)


def _run_live(opts: RunOptions) -> int:
    if opts.replay and opts.replay != "-":  # a file that cannot be read: said before any device
        from tapwatch import pcap

        try:
            pcap.read_capture(opts.replay).close()
        except pcap.PcapError as e:
            raise Failure(f"--replay {e}") from None
    session = _open_live(opts, printing=not opts.wants_ui)
    return _drive(session, opts)


def _open_live(opts: RunOptions, *, printing: bool = False) -> Session:
    import threading

    from tapwatch.session import Session
    from tapwatch.sources import close_all, open_live, responder_for

    ring = _new_ring(opts)
    wake = threading.Event()
    from tapwatch.filters import compile_packet_filter

    # compiled now (an invalid expression is an error before anything opens); each source
    # compiles it for its own link type
    flt = compile_packet_filter(opts.expression, [])
    sources = open_live(opts.source, ring, wake, flt)
    writer = None
    try:
        writer = _open_output(opts, [(i.linktype, i.name) for s in sources for i in s.interfaces])
        responder = responder_for(sources[0], opts.source.mode, opts.source.peers)
        dev = sources[0].interfaces[0]
        view = _tunnel_view(opts, dev.linktype if sources[0].device is not None else None)
        printer = None
        if printing:
            printer = _printer(opts, [i for s in sources for i in s.interfaces], view)
        tunnel = _tunnel(opts, sources[0], printing) if opts.tunnel is not None else None
        return Session(
            sources,
            ring=ring,
            wake=wake,
            capture_filter=flt,
            writer=writer,
            responder=responder,
            mode=opts.source.mode,
            limit=opts.count,
            on_record=printer,
            on_batch=printer.flush if printer else None,
            tunnel=tunnel,
            snaplen=opts.snaplen,
            tunnel_view=None if printing else view,
            on_warning=(lambda text: _say(f"warning: {text}")) if printing else None,
        )
    except BaseException:
        _close_quietly(writer)
        close_all(sources)
        raise


def _tunnel(opts: RunOptions, source: Source, printing: bool) -> Tunnel:
    """The tunnel's end, carrying ``source``'s frames; its news on stderr when headless."""
    from tapwatch.linktypes import LINKTYPE_ETHERNET
    from tapwatch.sources import DeviceSource
    from tapwatch.tunnel import Tunnel

    t = opts.tunnel
    assert t is not None
    if not isinstance(source, DeviceSource):
        raise Failure("a tunnel needs the device itself, not a read-only view of it")
    info = source.interfaces[0]
    header = 14 if info.linktype == LINKTYPE_ETHERNET else 0
    if info.mtu and info.mtu + header > t.max_frame:
        _say(
            f"warning: {info.name}'s MTU {info.mtu}{' + 14' if header else ''} is "
            f"more than --tunnel-max-frame {t.max_frame}: longer frames are not sent (lower "
            "the MTU with --mtu, or raise the limit if the far end can take them)"
        )

    def event(text: str) -> None:
        if printing:  # the UI shows the tunnel's state in its status bar instead
            _say(text)

    return Tunnel(
        t.role,
        t.endpoint,
        transport=t.transport,
        linktype=info.linktype,
        max_frame=t.max_frame,
        deliver=source.inject,
        on_event=event,
    )


def _tunnel_view(opts: RunOptions, device_linktype: int | None) -> TunnelView | None:
    """What follows tunnel streams for display: the session's own tunnel's port (its frames
    are the device's link type) and every --tunnel-decode port (frames judged one by one)."""
    from tapwatch.tunnelview import TunnelView

    if opts.tunnel is not None:
        return TunnelView([opts.tunnel.endpoint.port, *opts.tunnel_decode], device_linktype)
    if opts.tunnel_decode:
        return TunnelView(opts.tunnel_decode)
    return None


def _printer(
    opts: RunOptions, interfaces: list[InterfaceInfo], view: TunnelView | None
) -> LinePrinter:
    from tapwatch.headless import LinePrinter

    return LinePrinter(
        interfaces,
        _lines_out(opts),
        quiet=opts.quiet or opts.write == "-",
        fmt=opts.fmt,
        line_buffered=opts.line_buffered,
        any_layout="any" in opts.source.observe,
        tunnel_view=view,
    )


def _drive(session: Session, opts: RunOptions) -> int:
    """Run a live session to its end, headless or in the UI, and always clean up."""
    from tapwatch.headless import LinePrinter

    ui = opts.wants_ui
    printer = session.on_record

    def on_signal(signum: int, _frame: object) -> None:
        if session.stop_requested.is_set():
            _quit_now(signum)
        session.request_stop(signal.Signals(signum).name)
        if isinstance(printer, LinePrinter):
            printer.hurry()

    if not ui:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
    replayer: Replayer | None = None
    demo_traffic = None
    status = 0
    hung_up = False
    try:
        if opts.user:
            _preload(opts, ui)
            _drop_privileges(opts.user)
        if opts.replay:
            from tapwatch.replay import start_replay

            replayer = start_replay(session, opts.replay, opts.replay_speed)
        session.start()
        if opts.source.demo:
            from tapwatch import demo

            demo_traffic = demo.Traffic(session)
            demo_traffic.start()
        if ui:
            from tapwatch import terminal
            from tapwatch.app import run_ui

            with terminal.for_ui():
                outcome = run_ui(session)
            status = outcome.status
            hung_up = outcome.hung_up
        else:
            for s in session.sources:
                if (
                    s.read_only_reason
                    and s.kind == "observe"
                    and s.device is None
                    and s.interfaces[0].index == 0
                    and opts.source.device_name
                ):
                    _say(s.read_only_reason)
            if sys.stderr.isatty() and not opts.quiet:
                print(printable(_listening(session)), file=sys.stderr)
            while not session.stop_requested.wait(0.2):
                pass
    finally:
        # winding down (pump, pcap, device) takes a moment; a second signal ends it at once
        session.request_stop("UI closed" if ui else "stopped")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        if isinstance(printer, LinePrinter):
            printer.hurry()
        if demo_traffic is not None:
            demo_traffic.stop()
        if replayer is not None:
            replayer.stop()
        session.close()
        if isinstance(printer, LinePrinter):
            printer.flush(final=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if session.write_error:
        _say(session.write_error)
        status = status or 1
    if replayer is not None and replayer.error:
        _say(f"replay: {replayer.error}")
        status = status or 1
    elif replayer is not None and replayer.result is not None:
        r = replayer.result
        skipped = f", {r.skipped} skipped (they cannot enter this device)" if r.skipped else ""
        _say(f"replay: {r.sent} packets written{skipped}")
    if session.written_out and session.stop_reason:  # -G with -W wrote its last file
        _say(session.stop_reason)
    if not hung_up:  # the UI's quit path says the same as headless does
        _say(session.summary_line())
    if session.stop_error and session.stop_reason:
        _say(f"{session.info.name}: {session.stop_reason}")
        status = status or 1
    return status


def _quit_now(signum: int) -> None:
    """A second Ctrl-C (or SIGTERM) while winding down: leave at once, say what that costs."""
    with contextlib.suppress(OSError):
        os.write(
            2,
            f"\n{PROG}: {signal.Signals(signum).name} again: quitting now; the last "
            "half second of a capture file may be missing\n".encode(),
        )
    os._exit(128 + signum)


def _listening(session: Session) -> str:
    from tapwatch.linktypes import header_name

    parts = []
    for iface in session.interfaces:
        what = "observing" if iface.kind == "observe" else "listening on"
        parts.append(f"{what} {iface.name}, link-type {header_name(iface.linktype)}")
    mode = f", mode {session.peer_mode}" if session.peer_mode != "drop" else ""
    return f"{PROG}: {'; '.join(parts)}{mode}, Ctrl-C to stop"
