"""The argument parser, built one area of flags at a time.

Each ``add_*`` function adds one area's flags (its help group); ``build_parser``
calls them in the order ``--help`` shows them. A new area of flags is one more
function here and one more validator in :mod:`tapwatch.cli.validation`.
"""

from __future__ import annotations

import argparse

from tapwatch import __version__
from tapwatch.cli import argtypes
from tapwatch.cli.messages import PROG, UsageError

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class _Version(argparse.Action):
    """``--version``: the version, and which decoder this install runs (and why, when it is
    the pure-Python one: ``pip install -q`` shows nothing of a compile that failed)."""

    def __init__(self, option_strings: list[str], dest: str, **kw: object) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, help=str(kw["help"]))

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from tapwatch.decode._pure import describe
        from tapwatch.tunnelwire import describe_relay

        print(f"{PROG} {__version__}\ndecoder: {describe()}\ntunnel relay: {describe_relay()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Watch, record and answer the traffic of Linux tun/tap devices.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_flags(p)
    add_device_flags(p)
    add_peer_flags(p)
    add_tunnel_flags(p)
    add_tcpdump_flags(p)
    add_memory_flags(p)
    p.add_argument("--version", action=_Version, help="show program's version number and exit")
    p.add_argument("expression", nargs="*", help="tcpdump filter expression (e.g. icmp or arp)")
    return p


def add_source_flags(p: argparse.ArgumentParser) -> None:
    """Where packets come from: a device, observed interfaces, a file, the demo."""
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
        "device and leave it in place; falls back to --observe (and says so) if another "
        "program holds it or it has packet-info headers (wireguard-go's device)",
    )
    g.add_argument(
        "-r",
        dest="read",
        metavar="FILE",
        action="append",
        help="read a pcap or pcapng file ('-' for stdin); repeat it to read several files or "
        "live pipes as one capture, merged by time, each interface named after its input "
        "(hostA:tun0): each input keeps its order, and a record waits for every other "
        "input's next one - for a live pipe that has none, at most 0.2 s, so an idle pipe "
        "never holds the others back (its packets may then come out of time order); an "
        "input that is no capture or fails is said and the others go on (exit status 1)",
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


def add_device_flags(p: argparse.ArgumentParser) -> None:
    """How a created or attached device is set up."""
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
        type=argtypes.txqueuelen,
        metavar="N",
        help="device queue length (packets the kernel holds for tapwatch; "
        "default 1000 for created devices)",
    )
    dev.add_argument(
        "--netns",
        metavar="NAME",
        help="work in this existing network namespace (ip netns add NAME)",
    )


def add_peer_flags(p: argparse.ArgumentParser) -> None:
    """What tapwatch writes into the device it holds."""
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
        type=argtypes.speed,
        default=1.0,
        metavar="X",
        help="replay timing factor (2 = twice as fast, 0 = as fast as possible)",
    )


def add_tunnel_flags(p: argparse.ArgumentParser) -> None:
    """Being one end of a tunnel, and decoding others' tunnel streams."""
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
        type=argtypes.port,
        action="append",
        default=[],
        metavar="PORT",
        help="show the frames inside a simpletun-style stream on TCP/UDP PORT "
        "(someone else's tunnel, observed or in a file); repeatable",
    )
    tun.add_argument(
        "--tunnel-stats",
        action="store_true",
        help="at exit, per tunnel seen (VXLAN, GRE, Geneve, IP-in-IP, L2TP, MPLS, WireGuard, "
        "OpenVPN, ESP, framed streams) and direction: time inside, overhead, packets lost "
        "inside, too big for the MTU, counter gaps (on stderr)",
    )
    tun.add_argument(
        "--tunnel-max-frame",
        type=argtypes.max_frame,
        default=None,
        metavar="N",
        help="longest frame sent to the far end (default 2000: simpletun's buffer; "
        "longer frames are dropped and counted)",
    )
    _add_peer_guard_flags(tun)


def _add_peer_guard_flags(tun: argparse._ArgumentGroup) -> None:
    """Who may be the far end of a listening tunnel, and for how long."""
    tun.add_argument(
        "--tunnel-allow",
        type=argtypes.network,
        action="append",
        default=[],
        metavar="ADDR[/LEN]",
        help="with --tunnel-listen: only a peer from this address or network (IPv4 or IPv6) "
        "is taken; others are ignored and counted; repeatable (default: anyone)",
    )
    tun.add_argument(
        "--tunnel-quiet",
        type=argtypes.seconds,
        default=None,
        metavar="SECONDS",
        help="with --tunnel-listen --tunnel-udp: a well-formed frame from another address "
        "takes over only once the peer has sent nothing this long (default 2)",
    )
    tun.add_argument(
        "--tunnel-silent",
        type=argtypes.seconds,
        default=None,
        metavar="SECONDS",
        help="with --tunnel-listen over TCP: a client that sends no complete frame this long "
        "after connecting is closed, freeing the one slot (default 10; 0: never)",
    )


def add_tcpdump_flags(p: argparse.ArgumentParser) -> None:
    """tcpdump's own flags, with tcpdump's meanings, in one help group."""
    td = p.add_argument_group("tcpdump's flags (lines, files, capture)")
    _add_capture_file_flags(td)
    _add_line_flags(td)
    _add_dump_flags(td)
    td.add_argument(
        "-Z",
        dest="user",
        metavar="USER",
        help="drop root privileges to USER "
        "once the device is open (with -r: before the file is opened)",
    )


def _add_capture_file_flags(td: argparse._ArgumentGroup) -> None:
    """-i, and -w with its rotation (-C, -W, -G)."""
    td.add_argument(
        "-i",
        dest="observe",
        metavar="IF",
        action="append",
        help="as --observe; '-i any' observes every interface of the namespace, and those "
        "made later from their first packet (once announced when TAPWATCH_CAPTURE forces "
        "another path than tpacket)",
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
        type=argtypes.positive_int,
        metavar="N",
        help="with -C: keep a ring of N files; with -G: stop after N files",
    )
    td.add_argument(
        "-G",
        dest="rotate_seconds",
        type=argtypes.positive_int,
        metavar="SECONDS",
        help="with -w: a new file every SECONDS (strftime %%-escapes in FILE "
        "name each one, as tcpdump)",
    )


def _add_line_flags(td: argparse._ArgumentGroup) -> None:
    """-c, -s and what each printed line says (-e, -S, -n, -q, -v)."""
    td.add_argument(
        "-c", dest="count", type=argtypes.positive_int, metavar="N", help="stop after N packets"
    )
    td.add_argument(
        "-Y",
        dest="display_filter",
        metavar="FILTER",
        default="",
        help="print only what a Wireshark display filter selects, as tshark's -Y "
        "(e.g. 'tcp.flags.syn == 1 && ip.src == 10.0.0.1'); with a trailing tcpdump "
        "expression, packets pass both",
    )
    td.add_argument(
        "-s",
        dest="snaplen",
        type=argtypes.snaplen,
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


def _add_dump_flags(td: argparse._ArgumentGroup) -> None:
    """-t..-ttttt, the packet dumps (-x, -X, -A) and -l."""
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
        "-l",
        dest="line_buffered",
        action="store_true",
        help="write each line at once (for | grep); live lines still wait 50 ms for "
        "packets stamped before them, so they come out in time order",
    )


def add_memory_flags(p: argparse.ArgumentParser) -> None:
    """The UI or lines, and how much the ring holds."""
    out = p.add_argument_group("output and memory")
    out.add_argument(
        "--headless",
        action="store_true",
        help="print one line per packet instead "
        "of the terminal UI (automatic when stdout is not a terminal)",
    )
    out.add_argument(
        "--ring-packets",
        type=argtypes.ring_packets,
        metavar="N",
        help="packets held in memory (default 500000)",
    )
    out.add_argument(
        "--ring-bytes",
        type=argtypes.size,
        metavar="SIZE",
        help="bytes held in memory (default 256M)",
    )
