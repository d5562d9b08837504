"""Render tapwatch's terminal UI and save SVG screenshots into this directory.

    python screenshots/make_screenshots.py            # writes screenshots/*.svg
    python screenshots/make_screenshots.py --out DIR  # somewhere else

How the pictures are made: the real ``TapwatchApp`` runs headless
(``App.run_test``) on a ``Session`` holding a deterministic minute of traffic
on a tap device (``tap0``, 192.168.3.11/24 and fd00:3::11/64) in reply mode:
the host ARPs for its peer 192.168.3.12 and pings it once a second (IPv4 and
IPv6), asks DNS questions, and tries a TCP connection that nobody answers.
Every packet is built with scapy; the "out" replies are produced by tapwatch's
own responder (``peer.Responder``) from the requests, exactly the frames
reply mode writes into a real tap. Timestamps are fixed and the device is a
stand-in object (no root, no device, no network), so anyone gets the same
SVGs on any machine.

``--live`` (root) takes the pictures from the real thing instead: ``tapwatch
--demo`` in a private network namespace of this script's own (tun1, generated
pings, DNS and TCP, reply mode answering), run for ``--seconds`` before the
shots. Those pictures differ from run to run.

Pictures: ``live.svg`` (the live ping session, following the newest packet),
``detail.svg`` (protocol tree and hex dump with the ICMP sequence number
highlighted), ``counters.svg`` (per-protocol counters and sparklines),
``follow.svg`` (a stream followed: TCP in the fixed session, a DNS exchange in
the live demo), ``conversations.svg``, ``small.svg`` (80x24) and
``two-interfaces.svg``: a tun and the Ethernet interface its tunnel runs over,
fed into one session (the demo has a single interface, so this one is always
built from fixed records).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import sys
from collections.abc import Callable
from pathlib import Path

from textual.worker import WorkerCancelled

from tapwatch.app import TapwatchApp
from tapwatch.device import LinkInfo
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_ETHERNET
from tapwatch.peer import Responder, stable_mac
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo
from tapwatch.widgets.counters import CountersPane
from tapwatch.widgets.detail import DetailTree
from tapwatch.widgets.packet_list import PacketList
from tapwatch.wire import mac_str

T0 = 1_718_000_000_000_000_000  # a fixed start time (ns)
SECOND = 1_000_000_000
DEVICE = "tap0"
ADDRS = ["192.168.3.11/24", "fd00:3::11/64"]
HOST4, PEER4, DNS4 = "192.168.3.11", "192.168.3.12", "192.168.3.53"
HOST6, PEER6 = "fd00:3::11", "fd00:3::12"
HOST_MAC = "3a:5e:91:0c:7d:11"
SIZE = (160, 45)


class StandInDevice:
    """What the session needs from a device to show it as up, with its drop counters."""

    fd = 99
    name = DEVICE

    def write(self, data: bytes) -> None:
        """Replies are precomputed; nothing is written anywhere."""

    def link_info(self) -> LinkInfo:
        return LinkInfo("up", mtu=1500, mac=HOST_MAC, addresses=list(ADDRS), tx_dropped=0)

    def close(self) -> None:
        """Nothing to release."""


def host_frames() -> list[tuple[int, bytes]]:
    """(time, frame) of what the host sends during one minute, oldest first."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Raw

    peer_mac = mac_str(stable_mac(DEVICE))
    out: list[tuple[int, bytes]] = []

    def add(at: float, pkt: object) -> None:
        out.append((T0 + int(at * SECOND), bytes(pkt)))  # type: ignore[call-overload]

    add(
        0.0,
        Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff")
        / ARP(op=1, hwsrc=HOST_MAC, psrc=HOST4, pdst=PEER4),
    )
    add(
        0.4,
        Ether(src=HOST_MAC, dst="33:33:ff:00:00:12")
        / IPv6(src=HOST6, dst="ff02::1:ff00:12", hlim=255)
        / ICMPv6ND_NS(tgt=PEER6)
        / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC),
    )
    names = ("example.com", "vpn.internal", "wiki.lan", "mail.example.org", "tapwatch.test")
    for s in range(60):
        at = 0.01 + s
        add(
            at,
            Ether(src=HOST_MAC, dst=peer_mac)
            / IP(src=HOST4, dst=PEER4, id=0x4000 + s, flags="DF")
            / ICMP(type=8, id=0x7477, seq=s + 1)
            / Raw(bytes(range(56))),
        )
        if s % 2 == 0:
            add(
                at + 0.31,
                Ether(src=HOST_MAC, dst=peer_mac)
                / IPv6(src=HOST6, dst=PEER6)
                / ICMPv6EchoRequest(id=0x7477, seq=s // 2 + 1)
                / Raw(bytes(range(32))),
            )
        if s % 5 == 1:
            qname = names[(s // 5) % len(names)]
            add(
                at + 0.52,
                Ether(src=HOST_MAC, dst=peer_mac)
                / IP(src=HOST4, dst=DNS4, id=0x5000 + s)
                / UDP(sport=40000 + s, dport=53)
                / DNS(id=0x1000 + s, rd=1, qd=DNSQR(qname=qname, qtype="A" if s % 2 else "AAAA")),
            )
        if s in (12, 13, 15, 19, 40, 41, 43):  # SYN and its retransmissions, unanswered
            add(
                at + 0.73,
                Ether(src=HOST_MAC, dst=peer_mac)
                / IP(src=HOST4, dst=PEER4, id=0x6000 + s, flags="DF")
                / TCP(
                    sport=51514 if s < 30 else 51602,
                    dport=443,
                    flags="S",
                    seq=0x1F2E3D4C,
                    window=64240,
                    options=[
                        ("MSS", 1460),
                        ("SAckOK", b""),
                        ("Timestamp", (1000 + s, 0)),
                        ("NOP", None),
                        ("WScale", 7),
                    ],
                ),
            )
        if s == 20:  # a web request to the peer and its answer (written by the peer)
            add(
                at + 0.2,
                Ether(src=HOST_MAC, dst=peer_mac)
                / IP(src=HOST4, dst=PEER4, id=0x6100)
                / TCP(sport=51700, dport=80, flags="PA", seq=0x1000, ack=0x9000)
                / Raw(b"GET /status HTTP/1.1\r\nHost: 192.168.3.12\r\nAccept: */*\r\n\r\n"),
            )
        if 30 <= s < 34:  # a short burst: a UDP app talking to the peer
            for k in range(6):
                add(
                    at + 0.6 + k * 0.05,
                    Ether(src=HOST_MAC, dst=peer_mac)
                    / IP(src=HOST4, dst=PEER4, id=0x7000 + s * 10 + k)
                    / UDP(sport=5004, dport=5004)
                    / Raw(b"RTP" + bytes(169)),
                )
    out.sort(key=lambda r: r[0])
    return out


def _http_answer(request: bytes) -> bytes:
    """The peer's answer to the web request, as the far end of the tap would write it."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    req = Ether(request)
    body = b'{"status": "ok", "uptime": 86400}\n'
    payload = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    return bytes(
        Ether(src=req.dst, dst=req.src)
        / IP(src=req[IP].dst, dst=req[IP].src, id=0x6200)
        / TCP(
            sport=80,
            dport=req[TCP].sport,
            flags="PA",
            seq=req[TCP].ack,
            ack=req[TCP].seq + len(req[TCP].payload),
        )
        / Raw(payload)
    )


def two_interface_session() -> Session:
    """tun0 and veth0, the tunnel's transport, fed with the same pings inside and outside."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from tapwatch.sources import RecordSource

    tun = InterfaceInfo("tun0", "tun", addresses=["10.0.0.2/24"], mtu=1400, index=0)
    eth = InterfaceInfo(
        "veth0",
        "observe",
        linktype=LINKTYPE_ETHERNET,
        index=1,
        read_only_reason="observer mode is read-only",
    )
    session = Session([RecordSource(tun), RecordSource(eth)])
    mac_a, mac_b = "02:5e:00:00:00:02", "02:5e:00:00:00:01"
    under_a, under_b = "2001:db8:200::2", "2001:db8:200::1"
    from scapy.layers.inet6 import IPv6

    for s in range(20):
        t = T0 + s * SECOND
        for n, (src, dst, kind) in enumerate(
            (("10.0.0.2", "10.0.0.1", 8), ("10.0.0.1", "10.0.0.2", 0))
        ):
            inner = bytes(
                IP(src=src, dst=dst, id=0x100 + s)
                / ICMP(type=kind, id=0x51, seq=s)
                / Raw(bytes(range(56)))
            )
            at = t + n * 700_000
            session.feed(at, Direction.OUTBOUND if n == 0 else Direction.INBOUND, inner, 0)
            a, b = (under_a, under_b) if n == 0 else (under_b, under_a)
            ma, mb = (mac_a, mac_b) if n == 0 else (mac_b, mac_a)
            outer = bytes(
                Ether(src=ma, dst=mb)
                / IPv6(src=a, dst=b)
                / UDP(sport=51000, dport=51000)
                / Raw(len(inner).to_bytes(2, "big") + inner)
            )
            session.feed(
                at + (60_000 if n == 0 else -60_000),
                Direction.OUTBOUND if n == 0 else Direction.INBOUND,
                outer,
                1,
            )
    session.pump()
    return session


def build_session() -> Session:
    """The tap session with requests and the responder's replies interleaved."""
    responder = Responder(
        LINKTYPE_ETHERNET, [ipaddress.ip_interface(a) for a in ADDRS], mac=stable_mac(DEVICE)
    )
    info = InterfaceInfo(
        DEVICE,
        "tap",
        addresses=list(ADDRS),
        mtu=1500,
        mac=HOST_MAC,
        peer_mac=mac_str(responder.mac),
    )
    records: list[tuple[int, int, bytes]] = []
    replies = 0
    for ts, frame in host_frames():
        records.append((ts, Direction.OUTBOUND, frame))
        if b"GET /status" in frame:
            records.append((ts + 900_000, Direction.INBOUND, _http_answer(frame)))
        for n, answer in enumerate(responder.respond(frame)):
            # 85 µs later, like a peer
            records.append((ts + 85_000 + n * 1000, Direction.INBOUND, answer))
            replies += 1
    session = Session.from_records(
        LINKTYPE_ETHERNET, records, info=info, device=StandInDevice(), responder=responder
    )
    # the replies above are what reply mode wrote; switch it on after the fact so the
    # pump does not answer (with wall-clock timestamps) a second time
    session.set_mode("reply")
    assert session.peer is not None
    session.peer.replies_sent = replies
    return session


async def settle(app: TapwatchApp, pilot) -> None:  # type: ignore[no-untyped-def]
    app.screen_stack[0].tick()
    await pilot.pause()
    for _ in range(300):
        with contextlib.suppress(WorkerCancelled):  # a newer request cancelled one: done
            await app.workers.wait_for_complete()
        await pilot.pause(0.02)
        if not app.screen_stack[0].detail_pending:
            break
    await pilot.pause()


def live_demo_session(seconds: float) -> Session:
    """The real ``tapwatch --demo`` session, after ``seconds`` of its traffic."""
    import time

    from tapwatch import demo
    from tapwatch.cli import open_live_session

    session = open_live_session(["--demo"])
    traffic = demo.Traffic(session, interval=0.3)
    session.start()
    traffic.start()
    time.sleep(seconds)
    traffic.stop()
    return session


async def shoot(out: Path, make: Callable[[], Session] = build_session) -> list[Path]:
    written: list[Path] = []

    # 1: the live ping session, following the newest packets
    app = TapwatchApp(make(), title="tapwatch")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        written.append(Path(app.save_screenshot("live.svg", str(out))))

    # 2: a ping request dissected, the ICMP sequence number highlighted in the hex dump
    app = TapwatchApp(make(), title="tapwatch")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        packets = app.screen_stack[0].query_one(PacketList)
        ring = app.session.ring
        target = next(
            rec.seq
            for rec in ring.range(ring.next_seq - 40, ring.next_seq)
            if app.session.summary(rec).info.startswith("Echo (ping) request")
            and app.session.summary(rec).proto == "ICMP"
        )
        packets.move_cursor(packets.index_of(target))
        await settle(app, pilot)
        tree = app.screen_stack[0].query_one(DetailTree)
        tree.focus()
        icmp = next(
            n
            for n in tree.root.children
            if str(n.label).startswith("Internet Control Message Protocol")
        )
        icmp.expand()
        await pilot.pause()
        seq_node = next(n for n in icmp.children if str(n.label).startswith("Sequence Number"))
        tree.move_cursor(seq_node)
        await pilot.pause()
        written.append(Path(app.save_screenshot("detail.svg", str(out))))

    # 3: the counters, focused
    app = TapwatchApp(make(), title="tapwatch")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen_stack[0].query_one(CountersPane).focus()
        await pilot.pause()
        written.append(Path(app.save_screenshot("counters.svg", str(out))))

    # 4: a stream followed (the web exchange when there is one, else a DNS query)
    from tapwatch.widgets.conversations import ConversationsScreen
    from tapwatch.widgets.follow import FollowScreen

    app = TapwatchApp(make(), title="tapwatch")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        ring = app.session.ring
        records = list(ring.range(ring.first_seq, ring.next_seq))
        target = next((r.seq for r in records if b"GET /status" in r.data), None)
        if target is None:
            target = next(r.seq for r in records if app.session.summary(r).proto == "DNS")
        app.screen_stack[0].query_one(PacketList).go_to_seq(target)
        await settle(app, pilot)
        await pilot.press("f")
        for _ in range(300):
            if isinstance(app.screen, FollowScreen) and app.screen.stream is not None:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        written.append(Path(app.save_screenshot("follow.svg", str(out))))

    # 5: conversations
    app = TapwatchApp(make(), title="tapwatch")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("C")
        for _ in range(300):
            if isinstance(app.screen, ConversationsScreen) and "flows" in app.screen.tables:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        written.append(Path(app.save_screenshot("conversations.svg", str(out))))

    # 6: an 80x24 terminal
    app = TapwatchApp(make(), title="tapwatch")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("k", "k")
        await settle(app, pilot)
        written.append(Path(app.save_screenshot("small.svg", str(out))))

    # 7: two interfaces in one session, on a wide terminal
    app = TapwatchApp(two_interface_session(), title="tapwatch")
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("g", "j", "j", "j")
        await settle(app, pilot)
        tree = app.screen_stack[0].query_one(DetailTree)
        tree.root.children[0].expand()
        await pilot.pause()
        app.screen_stack[0].refresh_counters()
        await pilot.pause()
        written.append(Path(app.save_screenshot("two-interfaces.svg", str(out))))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="directory for the SVG files (default: screenshots/)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="shoot the real --demo session (root; a private network namespace)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=8.0,
        help="with --live: how long the demo runs before the shots",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.live:
        session = live_demo_session(args.seconds)
        try:
            paths = asyncio.run(shoot(args.out, lambda: session))
        finally:
            session.close()
    else:
        paths = asyncio.run(shoot(args.out))
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
