"""Command line: parse flags, build the session, run headless or the UI.

Every failure a user can cause (flags, addresses, privileges, devices, files)
ends as one line on stderr and a non-zero exit status, never a traceback, and
never before what was captured has been written out. Heavy imports (scapy,
textual, pyroute2) happen only on the paths that need them, so `--help`
stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tapwatch import __version__
from tapwatch.errors import TapwatchError

if TYPE_CHECKING:
    from tapwatch.ring import Ring
    from tapwatch.session import Session

PROG = "tapwatch"

EXAMPLES = """\
examples:
  sudo tapwatch --demo                                   try it: private namespace, live traffic
  sudo tapwatch --create tun1 --addr 192.168.3.11/24     watch pings to 192.168.3.12 arrive
  sudo tapwatch --create tun1 --addr 192.168.3.11/24 --reply    ...and answer them
  sudo tapwatch --create tap0 --tap --addr 192.168.4.1/24 -w cap.pcapng
  sudo tapwatch --attach tun7 --headless icmp            tcpdump-style lines, filtered
  sudo tapwatch --observe wg0                            read-only view of a busy device
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


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    mult = 1
    if t and t[-1] in units:
        mult = units[t[-1]]
        t = t[:-1]
    try:
        value = int(float(t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 256M, 1G)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError("the speed must be 0 (as fast as possible) or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Watch, record and answer the traffic of Linux tun/tap devices.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("source (one of)")
    g = src.add_mutually_exclusive_group()
    g.add_argument("--create", metavar="NAME", help="create a tun device (with --tap: a tap "
                   "device) that disappears when tapwatch exits")
    g.add_argument("--attach", metavar="NAME", help="open an existing persistent tun/tap device "
                   "and leave it in place; falls back to --observe if another program holds it")
    g.add_argument("--observe", metavar="NAME", help="read-only capture of any interface through "
                   "a packet socket (no echo/reply/inject)")
    g.add_argument("-r", dest="read", metavar="FILE", help="read a pcap or pcapng file ('-' for "
                   "stdin)")
    g.add_argument("--demo", action="store_true", help="private network namespace with a tun "
                   "device and generated traffic; touches nothing else")

    dev = p.add_argument_group("device")
    dev.add_argument("--tap", action="store_true", help="with --create: layer-2 tap (Ethernet) "
                     "instead of tun (raw IP)")
    dev.add_argument("--addr", metavar="CIDR", action="append", default=[],
                     help="address to give the device, IPv4 or IPv6, repeatable "
                     "(e.g. 192.168.3.11/24)")
    dev.add_argument("--mtu", type=int, metavar="N", help="device MTU")
    dev.add_argument("--txqueuelen", type=_positive_int, metavar="N",
                     help="device queue length (packets the kernel holds for tapwatch; "
                     "default 1000 for created devices)")
    dev.add_argument("--netns", metavar="NAME", help="work in this existing network namespace "
                     "(ip netns add NAME)")

    peer = p.add_argument_group("peer actions (what tapwatch writes back)")
    m = peer.add_mutually_exclusive_group()
    m.add_argument("--echo", action="store_true", help="write every frame back unchanged")
    m.add_argument("--reply", action="store_true", help="answer ARP, neighbour solicitations and "
                   "pings for addresses in the device's subnets, like a real host")
    peer.add_argument("--peer", metavar="ADDR", action="append", default=[],
                      help="with --reply: answer only for this address (repeatable)")
    peer.add_argument("--replay", metavar="FILE", help="write the packets of a pcap into the "
                      "device with their original timing")
    peer.add_argument("--replay-speed", type=_speed, default=1.0, metavar="X",
                      help="replay timing factor (2 = twice as fast, 0 = as fast as possible)")

    out = p.add_argument_group("output")
    out.add_argument("-w", dest="write", metavar="FILE", help="write packets to FILE (pcapng if "
                     "it ends in .pcapng, else pcap; '-' for stdout)")
    out.add_argument("--headless", action="store_true", help="print one line per packet instead "
                     "of the terminal UI (automatic when stdout is not a terminal)")
    out.add_argument("-c", dest="count", type=_positive_int, metavar="N",
                     help="stop after N packets")
    out.add_argument("-q", dest="quiet", action="store_true", help="no per-packet lines")
    out.add_argument("-v", dest="verbose", action="store_true", help="full dissection of every "
                     "packet (slow: for looking, not for floods)")
    out.add_argument("-e", dest="link", action="store_true", help="print link-level headers")
    out.add_argument("-n", dest="numeric", action="count", default=0,
                     help="accepted for tcpdump habits; tapwatch never resolves names")
    out.add_argument("--ring-packets", type=_positive_int, metavar="N",
                     help="packets held in memory (default 500000)")
    out.add_argument("--ring-bytes", type=_size, metavar="SIZE",
                     help="bytes held in memory (default 256M)")
    out.add_argument("-Z", dest="user", metavar="USER", help="drop root privileges to USER "
                     "once the device is open")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument("expression", nargs="*", help="tcpdump filter expression (e.g. icmp or arp)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_combinations(args)
    except UsageError as e:
        print(f"{PROG}: {e} (see tapwatch --help)", file=sys.stderr)
        return 2
    # until capture runs, a signal interrupts set-up like Ctrl-C does; what was made is undone
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        return _run(args)
    except Failure as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted before capture started", file=sys.stderr)
        return 130


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _check_combinations(args: argparse.Namespace) -> None:
    live = args.create or args.attach or args.observe or args.demo
    if not live and not args.read:
        raise UsageError("nothing to watch: give --create NAME, --attach NAME, --observe NAME, "
                         "-r FILE or --demo")
    if args.tap and not (args.create or args.demo):
        raise UsageError("--tap goes with --create (an attached device's kind is detected)")
    if args.read and (args.addr or args.mtu or args.txqueuelen or args.netns):
        raise UsageError("device settings (--addr, --mtu, --txqueuelen, --netns) need a device, "
                         "not -r")
    if args.read and (args.echo or args.reply or args.replay):
        raise UsageError("--echo, --reply and --replay need a device; -r only reads a file")
    if args.observe and (args.echo or args.reply or args.replay or args.addr or args.mtu):
        raise UsageError("--observe is read-only: it cannot answer, replay or configure")
    if args.peer and not args.reply:
        raise UsageError("--peer narrows --reply; add --reply")
    if args.mtu is not None and not 68 <= args.mtu <= 65535:
        raise UsageError(f"--mtu {args.mtu} is out of range (68-65535)")
    if args.read and args.write and args.read == args.write and args.read != "-":
        raise UsageError("-r and -w name the same file; write to another file")


def _compile(args: argparse.Namespace, linktype: int) -> object | None:
    from tapwatch.filters import FilterError, compile_filter

    expr = " ".join(args.expression)
    try:
        return compile_filter(expr, linktype)
    except FilterError as e:
        raise Failure(str(e)) from None


def _open_output(args: argparse.Namespace, linktype: int, ifname: str | None,
                 like: object | None = None) -> object | None:
    if not args.write:
        return None
    from tapwatch import pcap

    try:
        if like is not None:
            target = sys.stdout.buffer if args.write == "-" else args.write
            return pcap.writer_like(like, target)
        target = sys.stdout.buffer if args.write == "-" else args.write
        return pcap.open_writer(target, linktype, ifname=ifname)
    except pcap.PcapError as e:
        raise Failure(str(e)) from None


def _want_ui(args: argparse.Namespace) -> bool:
    if args.headless or args.write == "-" or args.quiet or args.verbose or args.count:
        return False
    return sys.stdout.isatty() and sys.stdin.isatty()


def _run(args: argparse.Namespace) -> int:
    if args.read:
        return _run_file(args)
    return _run_live(args)


# ----- offline ------------------------------------------------------------------------------

def _run_file(args: argparse.Namespace) -> int:
    from tapwatch import pcap
    from tapwatch.session import Session, SourceInfo

    try:
        cap = pcap.read_capture(sys.stdin.buffer if args.read == "-" else args.read)
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    flt = _compile(args, cap.linktype)
    if args.write:
        return _convert(args, cap, flt)
    if not _want_ui(args):
        return _print_file(args, cap, flt)

    info = SourceInfo(os.path.basename(args.read) if args.read != "-" else "stdin", "file",
                      read_only_reason="this is a capture file, not a device")
    ring = _new_ring(args)
    session = Session(cap.linktype, info, ring=ring, capture_filter=flt)  # type: ignore[arg-type]
    batch: list[tuple[int, int, bytes]] = []
    error = None
    try:
        for rec in cap:
            batch.append((rec.ts_ns, rec.direction if rec.direction is not None else 0, rec.data))
            if len(batch) >= 4096:
                ring.extend(batch)
                batch.clear()
                session.pump()
    except pcap.PcapError as e:
        error = str(e)  # show what was read; the problem is named once the UI closes
    ring.extend(batch)
    session.pump()
    _report_truncation(args, cap, session.stats.total_packets)
    from tapwatch.app import run_app

    status = run_app(session)
    if error:
        raise Failure(error)
    return status


def _report_truncation(args: argparse.Namespace, cap: object, n: int) -> None:
    if getattr(cap, "truncated", False):
        print(f"{PROG}: {args.read}: the last packet is cut short; kept the {n} before it",
              file=sys.stderr)


def _print_file(args: argparse.Namespace, cap: object, flt: object | None) -> int:
    """-r without the UI: stream lines like tcpdump -r."""
    from tapwatch import pcap
    from tapwatch.headless import print_records
    from tapwatch.linktypes import name

    print(f"reading from file {args.read}, link-type {name(cap.linktype)}", file=sys.stderr)  # type: ignore[attr-defined]
    out = sys.stderr if args.write == "-" else sys.stdout
    try:
        n = print_records(cap, cap.linktype, out, flt=flt, count=args.count,  # type: ignore[arg-type, attr-defined]
                          quiet=args.quiet, verbose=args.verbose, link=args.link)
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    except BrokenPipeError:
        # the reader of our output went away (| head): that is an ending, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    _report_truncation(args, cap, n)
    return 0


def _new_ring(args: argparse.Namespace) -> Ring:
    """The ring sized by --ring-packets / --ring-bytes, or the defaults."""
    from tapwatch.ring import DEFAULT_MAX_BYTES, DEFAULT_MAX_PACKETS, Ring

    return Ring(args.ring_packets or DEFAULT_MAX_PACKETS, args.ring_bytes or DEFAULT_MAX_BYTES)


def _convert(args: argparse.Namespace, cap: object, flt: object | None) -> int:
    """-r A -w B: stream from reader to writer, keeping timestamps and original lengths."""
    from tapwatch import pcap

    same = (not args.write.endswith(".pcapng")) == (cap.format == "pcap")  # type: ignore[attr-defined]
    writer = _open_output(args, cap.linktype, cap.ifname, like=cap if same else None)  # type: ignore[attr-defined]
    n = 0
    try:
        for rec in cap:  # type: ignore[attr-defined]
            if flt is not None and not flt.match(rec.data):  # type: ignore[attr-defined]
                continue
            writer.write(rec.ts_ns, rec.data,  # type: ignore[attr-defined]
                         rec.direction if rec.direction is not None else 0, rec.orig_len)
            n += 1
            if args.count and n >= args.count:
                break
    except pcap.PcapError as e:
        _close_quietly(writer)
        raise Failure(str(e)) from None
    try:
        writer.close()  # type: ignore[attr-defined]
    except pcap.PcapError as e:
        raise Failure(str(e)) from None
    if args.write != "-":
        print(f"{PROG}: wrote {n} packets to {args.write}", file=sys.stderr)
    return 0


def _close_quietly(writer: object) -> None:
    try:
        writer.close()  # type: ignore[attr-defined]
    except Exception:  # the caller is already reporting a failure
        return


def _attach_printer(session: Session, args: argparse.Namespace) -> object:
    from tapwatch.headless import LinePrinter

    quiet = args.quiet or args.write == "-"
    printer = LinePrinter(session, sys.stdout if args.write != "-" else sys.stderr, quiet=quiet,
                          verbose=args.verbose, link=args.link)
    session.on_record = printer
    session.on_batch = printer.flush
    return printer


# ----- live ---------------------------------------------------------------------------------

def open_live_session(argv: Sequence[str]) -> Session:
    """A live session built exactly as the command line builds it (scripts, benchmarks).

    The caller starts it (``session.start()``) and closes it; for ``--demo`` the
    caller also runs ``demo.Traffic``. Raises UsageError, Failure or DeviceError.
    """
    args = build_parser().parse_args(list(argv))
    _check_combinations(args)
    return _open_live(args)


def _run_live(args: argparse.Namespace) -> int:
    from tapwatch.device import DeviceError

    try:
        session = _open_live(args)
    except DeviceError as e:
        raise Failure(str(e)) from None
    return _drive(session, args)


def _open_live(args: argparse.Namespace) -> Session:
    from tapwatch import device as devmod
    from tapwatch.capture import Reader
    from tapwatch.peer import PeerError
    from tapwatch.session import Session, SourceInfo

    addrs = [devmod.parse_addr(a) for a in args.addr]
    if args.netns:
        devmod.setns(args.netns)
    if args.demo:
        from tapwatch import demo

        devmod.unshare_netns()
        args.create = args.create or demo.DEVICE
        if not addrs:
            addrs = [devmod.parse_addr(a) for a in demo.ADDRESSES]
        if not (args.echo or args.reply):
            args.reply = True
    if args.observe:
        return _open_observer(args, args.observe, None)
    if args.create:
        dev = devmod.Device.create(args.create, tap=args.tap)
    else:
        try:
            dev = devmod.Device.attach(args.attach)
        except devmod.DeviceBusy as busy:
            if args.echo or args.reply or args.replay or addrs or args.mtu:
                raise Failure(f"{busy}; echo, reply, replay and configuration need the device "
                              "itself") from None
            return _open_observer(args, args.attach, str(busy))
    reader = None
    writer = None
    try:
        flt = _compile(args, dev.linktype)
        writer = _open_output(args, dev.linktype, dev.name)
        ring = _new_ring(args)
        # read from before the link is up, so not even the first packet can slip by
        reader = Reader(dev.fd, ring)
        reader.start()
        txq = args.txqueuelen or (1000 if dev.created else None)
        dev.configure(addrs, mtu=args.mtu, up=True, txqueuelen=txq)
        link = dev.link_info()
        addresses = link.addresses or [str(a) for a in addrs]
        info = SourceInfo(dev.name, "demo" if args.demo else dev.kind, addresses=addresses,
                          mtu=link.mtu, mac=link.mac)
        responder = _responder(args, dev, addresses)
        if responder is not None and dev.tap:
            info.peer_mac = responder.mac_str
        session = Session(dev.linktype, info, ring=ring, device=dev, reader=reader,
                          capture_filter=flt, writer=writer, responder=responder)  # type: ignore[arg-type]
        mode = "echo" if args.echo else "reply" if args.reply else "drop"
        try:
            session.set_mode(mode)
        except PeerError as e:
            raise Failure(str(e)) from None
    except BaseException:
        if reader is not None:
            reader.stop()
            reader.join(timeout=2)
        if writer is not None:
            _close_quietly(writer)
        dev.close()
        raise
    return session


def _responder(args: argparse.Namespace, dev: object, addresses: list[str]) -> object | None:
    """A responder for reply mode, built whenever the device has addresses to answer for."""
    import ipaddress

    from tapwatch.peer import PeerError, Responder, stable_mac

    own = []
    for a in addresses:
        try:
            own.append(ipaddress.ip_interface(a))
        except ValueError:
            continue
    if not own:
        if args.reply:
            raise Failure("--reply answers for addresses in the device's subnets: give the "
                          "device one with --addr (e.g. --addr 192.168.3.11/24)")
        return None
    try:
        peers = [ipaddress.ip_address(p) for p in args.peer] or None
    except ValueError as e:
        raise Failure(f"invalid --peer: {e}") from None
    try:
        return Responder(dev.linktype, own, peers,  # type: ignore[attr-defined]
                         stable_mac(dev.name))  # type: ignore[attr-defined]
    except PeerError as e:
        raise Failure(str(e)) from None


def _open_observer(args: argparse.Namespace, name: str, why: str | None) -> Session:
    """Passive capture through AF_PACKET: any interface, both directions, read-only."""
    from tapwatch import device as devmod
    from tapwatch.capture import PacketSocketReader, open_packet_socket
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
    from tapwatch.session import Session, SourceInfo

    devmod.validate_name(name)
    link = devmod.kernel_link(name)
    if link is None:
        raise Failure(f"interface {name} does not exist (ip link shows the ones there are)")
    arphrd = link.arphrd
    # ARPHRD_ETHER 1, ARPHRD_LOOPBACK 772 carry Ethernet headers; NONE (tun), IP tunnels don't
    if arphrd in (1, 772):
        linktype = LINKTYPE_ETHERNET
    elif arphrd in (65534, 768, 769, 776, 778, 823):
        linktype = LINKTYPE_RAW
    else:
        raise Failure(f"cannot observe {name}: link type {arphrd} is not one tapwatch decodes")
    try:
        sock = open_packet_socket(name)
    except PermissionError:
        hint = devmod.cap_hint("CAP_NET_RAW")
        raise Failure(f"not permitted to observe {name}: {hint}") from None
    except OSError as e:
        raise Failure(f"cannot observe {name}: {e.strerror}") from None
    flt = _compile(args, linktype)
    writer = _open_output(args, linktype, name)
    ring = _new_ring(args)
    reason = (why + "; observing read-only") if why else "observer mode is read-only"
    info = SourceInfo(name, "observe", read_only_reason=reason)
    reader = PacketSocketReader(sock, ring)
    session = Session(linktype, info, ring=ring, reader=reader, capture_filter=flt,
                      writer=writer)  # type: ignore[arg-type]
    session.observe_ifname = name  # type: ignore[attr-defined]
    return session


def _drop_privileges(user: str) -> None:
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise Failure(f"-Z {user}: no such user") from None
    try:
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    except PermissionError:
        raise Failure(f"-Z {user}: cannot change user (tapwatch is not running as root)") from None


def _drive(session: Session, args: argparse.Namespace) -> int:
    """Run a live session to its end, headless or in the UI, and always clean up."""
    if args.count:
        session.limit = args.count
    ui = _want_ui(args)
    printer = None if ui else _attach_printer(session, args)

    def on_signal(signum: int, _frame: object) -> None:
        session.request_stop(signal.Signals(signum).name)

    if not ui:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
    replayer: _Replay | None = None
    demo_traffic = None
    status = 0
    try:
        if args.user:
            _drop_privileges(args.user)
        if args.replay:
            replayer = _start_replay(args, session)
        session.start()
        if args.demo:
            from tapwatch import demo

            demo_traffic = demo.Traffic(session)
            demo_traffic.start()
        if ui:
            from tapwatch.app import run_app

            status = run_app(session)
        else:
            if session.read_only and session.info.kind == "observe":
                print(f"{PROG}: {session.info.read_only_reason}", file=sys.stderr)
            elif sys.stderr.isatty() and not args.quiet:
                print(_listening(session, args), file=sys.stderr)
            while not session.stop_requested.wait(0.2):
                pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if demo_traffic is not None:
            demo_traffic.stop()
        if replayer is not None:
            replayer.stop()
        session.close()
        if printer is not None:
            printer.flush()  # type: ignore[attr-defined]
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if session.write_error:
        print(f"{PROG}: {session.write_error}", file=sys.stderr)
        status = status or 1
    if replayer is not None and replayer.error:
        print(f"{PROG}: replay: {replayer.error}", file=sys.stderr)
        status = status or 1
    if not ui or args.write:
        print(f"{PROG}: {session.summary_line()}", file=sys.stderr)
    if session.stop_error and session.stop_reason:
        print(f"{PROG}: {session.info.name}: {session.stop_reason}", file=sys.stderr)
        status = status or 1
    return status


def _listening(session: Session, args: argparse.Namespace) -> str:
    from tapwatch.linktypes import name

    what = "observing" if session.info.kind == "observe" else "listening on"
    mode = f", mode {session.mode}" if session.mode != "drop" else ""
    return (f"{PROG}: {what} {session.info.name}, link-type {name(session.linktype)}"
            f"{mode}, Ctrl-C to stop")


class _Replay(threading.Thread):
    def __init__(self, session: Session, records: list[tuple[int, bytes]], from_lt: int,
                 speed: float) -> None:
        super().__init__(name="tapwatch-replay", daemon=True)
        self.session = session
        self.records = records
        self.from_lt = from_lt
        self.speed = speed
        self.stop_event = threading.Event()
        self.error: str | None = None
        self.result: object | None = None

    def run(self) -> None:
        from tapwatch import replay
        from tapwatch.peer import PeerError

        s = self.session
        # frames for a tap come from the peer's stable MAC to the device's own MAC
        peer = s.responder.mac if s.responder is not None else None

        def write(frame: bytes) -> None:
            try:
                s.inject(frame)
            except PeerError as e:
                raise replay.ReplayError(str(e)) from None

        try:
            self.result = replay.replay(
                self.records, write, speed=self.speed, stop=self.stop_event,
                from_lt=self.from_lt, to_lt=s.linktype, src_mac=peer, dst_mac=s.info.mac,
            )
        except replay.ReplayError as e:
            self.error = str(e)

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout=2)


def _start_replay(args: argparse.Namespace, session: Session) -> _Replay:
    from tapwatch import pcap, replay

    try:
        cap = pcap.read_capture(args.replay)
        replay.check_convertible(cap.linktype, session.linktype)
        records = [(r.ts_ns, r.data) for r in cap]
    except (pcap.PcapError, replay.ReplayError) as e:
        raise Failure(f"--replay {args.replay}: {e}") from None
    r = _Replay(session, records, cap.linktype, args.replay_speed)
    r.start()
    return r
