"""Capture scenarios run inside a test's private network namespace (``ip netns exec``).

Each scenario builds its devices and readers with tapwatch's own API in this
process, makes its own traffic (only to addresses inside the namespace),
waits on conditions (never a fixed sleep) and prints one JSON object that the
test asserts on. ``TAPWATCH_CAPTURE`` in the environment picks the path.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from waiting import wait_for

from tapwatch import device as devmod
from tapwatch.capture import CaptureReader, PacketSocketReader, Reader, open_packet_socket
from tapwatch.filters import BpfFilter
from tapwatch.ring import Ring
from tapwatch.wire import ETH_P_ARP

PEER_MAC = "02:00:00:00:00:02"
TIMEOUT = 15.0


def no_ipv6() -> None:
    """Keep the namespace quiet: no router solicitations or MLD reports into the device."""
    for conf in ("all", "default"):
        Path(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6").write_text("1")


def kinds(ring: Ring, tap: bool) -> dict[str, int]:
    """How many ICMP, UDP, ARP and other records the ring holds."""
    out = {"icmp": 0, "udp": 0, "arp": 0, "other": 0}
    for rec in ring:
        d = rec.data
        if tap:
            if int.from_bytes(d[12:14], "big") == ETH_P_ARP:
                out["arp"] += 1
                continue
            d = d[14:]
        proto = d[9] if len(d) > 20 and d[0] >> 4 == 4 else -1
        out["icmp" if proto == 1 else "udp" if proto == 17 else "other"] += 1
    return out


def report(reader: CaptureReader, **extra: object) -> None:
    print(
        json.dumps(
            {
                "path": reader.path,
                "packets": reader.packets,
                "filter_in_kernel": reader.filter_in_kernel,
                "failure": type(reader.failure).__name__ if reader.failure else None,
                "gone": bool(reader.failure and reader.failure.gone),
                "error": reader.error,
                "kernel_drops": reader.kernel_drops(),
                "meaning": reader.kernel_drops_meaning,
                **extra,
            }
        ),
        flush=True,
    )


def make_device(name: str, tap: bool, subnet: str) -> devmod.Device:
    no_ipv6()
    dev = devmod.Device.create(name, tap=tap)
    dev.configure([devmod.parse_addr(f"{subnet}.1/24")])
    if tap:
        subprocess.run(
            [
                "ip",
                "neigh",
                "replace",
                f"{subnet}.2",
                "lladdr",
                PEER_MAC,
                "dev",
                name,
                "nud",
                "permanent",
            ],
            check=True,
        )
    return dev


def start_reader(dev: devmod.Device, ring: Ring, args: argparse.Namespace) -> CaptureReader:
    linktype = dev.linktype
    flt = BpfFilter(args.filter, linktype) if args.filter else None
    reader: CaptureReader
    if args.observe:
        reader = PacketSocketReader(open_packet_socket(dev.name), ring, iface=3, capture_filter=flt)
    else:
        reader = Reader(dev.fd, ring, iface=3, capture_filter=flt)
    reader.start()
    if not wait_for(lambda: reader.path == args.path):
        report(reader, stage="path never became " + args.path)
        sys.exit(1)
    return reader


def send_traffic(subnet: str, icmp: int, udp: int, dev: str) -> None:
    """UDP first, then pings: when the last ping is captured, every datagram would have been."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(udp):
        s.sendto(b"x" * 32, (f"{subnet}.2", 9000 + i))
    s.close()
    if icmp:
        subprocess.run(
            ["ping", "-c", str(icmp), "-i", "0.2", "-W", "1", "-I", dev, f"{subnet}.2"],
            capture_output=True,
            timeout=30,
        )


def capture(args: argparse.Namespace) -> None:
    """Created device, a reader on the forced path, pings and datagrams in."""
    dev = make_device(args.dev, args.tap, args.subnet)
    ring = Ring()
    reader = start_reader(dev, ring, args)
    send_traffic(args.subnet, args.icmp, args.udp, args.dev)
    wait_for(lambda: reader.packets >= args.expect)
    reader.stop()
    reader.join(10)
    report(reader, kinds=kinds(ring, args.tap), ifaces=sorted({r.iface for r in ring}))
    dev.close()


def vanish(args: argparse.Namespace) -> None:
    """The device is deleted while the reader runs: a typed failure, what was captured kept."""
    dev = make_device(args.dev, args.tap, args.subnet)
    ring = Ring()
    reader = start_reader(dev, ring, args)
    send_traffic(args.subnet, 2, 0, args.dev)
    wait_for(lambda: reader.packets >= 2)
    subprocess.run(["ip", "link", "del", args.dev], check=True)
    wait_for(lambda: reader.failure is not None)
    reader.stop()
    reader.join(10)
    report(reader, alive=reader.is_alive())
    dev.close()


HOLDER = r"""
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000 | 0x0100))
print("ready", flush=True)
ports = set()
while True:
    pkt = os.read(fd, 65536)
    if len(pkt) >= 28 and pkt[0] >> 4 == 4 and pkt[9] == 17:
        ports.add(int.from_bytes(pkt[22:24], "big"))
        print(len(ports), flush=True)
"""


def multi_queue(args: argparse.Namespace) -> None:
    """A program holds one queue of a multi-queue tun; tapwatch must only watch."""
    no_ipv6()
    name, subnet, flows = args.dev, args.subnet, args.flows
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tun", "multi_queue"], check=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, name], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    out = holder.stdout
    counted = [0]  # the holder's running count of flows, as it prints it

    def follow() -> None:
        for line in out:
            counted.append(int(line))

    try:
        assert out.readline().strip() == "ready"
        threading.Thread(target=follow, daemon=True).start()
        subprocess.run(["ip", "addr", "add", f"{subnet}.1/24", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        busy = ""
        attached = None
        try:
            # had it attached, the device stays attached while the flows pass (as it would
            # under a running tapwatch)
            attached = devmod.Device.attach(name)
        except devmod.DeviceBusy as e:
            busy = str(e)
        link = devmod.kernel_link(name)
        ring = Ring()
        reader = PacketSocketReader(open_packet_socket(name), ring, iface=1)
        reader.start()
        wait_for(lambda: reader.path == "tpacket" and reader.is_alive())
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(flows):  # one flow each: its own destination port
            s.sendto(b"flow", (f"{subnet}.2", 20000 + i))
        s.close()
        wait_for(lambda: counted[-1] >= flows)
        wait_for(lambda: kinds(ring, False)["udp"] >= flows)
        reader.stop()
        reader.join(10)
        if attached is not None:
            attached.close()
        report(
            reader,
            busy=busy,
            holder=counted[-1],
            observed=kinds(ring, False)["udp"],
            queues=getattr(link, "queues", None),
        )
    finally:
        holder.terminate()
        holder.wait(10)


def owner(args: argparse.Namespace) -> None:
    """Run as the owner of a persistent tap (no capability): attach, configure, capture ARP."""
    name, subnet = args.dev, args.subnet
    dev = devmod.Device.attach(name)
    dev.configure([])  # nothing asked and the link is up: nothing to do, nothing denied
    ring = Ring()
    reader = Reader(dev.fd, ring)
    reader.start()
    wait_for(lambda: reader.path == "process")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # each datagram to a new neighbour makes the host ask for its address (an ARP request)
    for n in range(1, args.expect + 1):
        s.sendto(b"who", (f"{subnet}.{10 + n}", 9))
    wait_for(lambda: kinds(ring, True)["arp"] >= args.expect)
    reader.stop()
    reader.join(10)
    report(reader, uid=os.geteuid(), kinds=kinds(ring, True))
    dev.close()


def errors(args: argparse.Namespace) -> None:
    """What a user without capabilities is told; one line per attempt, in a JSON object."""
    out: dict[str, str] = {}
    attempts: dict[str, Callable[[], object]] = {
        "attach": lambda: devmod.Device.attach(args.dev),
        "setns": lambda: devmod.setns(args.netns),
    }
    if args.down:

        def configure_down() -> None:
            dev = devmod.Device.attach(args.down)
            try:
                dev.configure([])
            finally:
                dev.close()

        def configure_mtu() -> None:
            dev = devmod.Device.attach(args.down)
            try:
                dev.configure([], mtu=1400, up=False)
            finally:
                dev.close()

        attempts["down"] = configure_down
        attempts["mtu"] = configure_mtu
    for key, attempt in attempts.items():
        try:
            attempt()
            out[key] = "ok"
        except devmod.DeviceError as e:
            out[key] = str(e)
    print(json.dumps(out), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="scenario", required=True)
    for name, fn in (
        ("capture", capture),
        ("vanish", vanish),
        ("multi-queue", multi_queue),
        ("owner", owner),
        ("errors", errors),
    ):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        sp.add_argument("--dev", default="tun1")
        sp.add_argument("--subnet", default="10.61.0")
        sp.add_argument("--tap", action="store_true")
        sp.add_argument("--observe", action="store_true")
        sp.add_argument("--path", default="tpacket")
        sp.add_argument("--filter", default="")
        sp.add_argument("--icmp", type=int, default=3)
        sp.add_argument("--udp", type=int, default=5)
        sp.add_argument("--expect", type=int, default=8)
        sp.add_argument("--flows", type=int, default=40)
        sp.add_argument("--netns", default="")
        sp.add_argument("--down", default="")
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
