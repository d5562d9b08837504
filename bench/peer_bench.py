"""Per-packet cost of the peer (echo and reply modes), which runs on the pump's hot path.

    python bench/peer_bench.py                      # this checkout
    python bench/peer_bench.py --compare OLD.py     # and another peer.py, frame by frame

Needs no root and sends nothing: frames are built in memory (scapy, explicit
MACs) and handed to ``Echo.respond`` / ``Responder.respond`` by ``timeit``.
Every figure is the best of ``--repeat`` runs of a loop over 1,000 distinct
frames, divided per frame, and is also given as a ratio to the reference in
the same run: the stateless ``echo`` (``[frame]``), which is what echo mode
cost before loop detection.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import timeit
import types
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tapwatch import peer  # noqa: E402
from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW  # noqa: E402

HOST_MAC = "52:54:00:12:34:56"
OWN = [ipaddress.ip_interface("192.168.3.11/24"), ipaddress.ip_interface("fd00:3::11/64")]
COUNT = 1000


def frames() -> dict[str, list[bytes]]:
    """COUNT distinct frames of each kind (sequence numbers / IP ids differ)."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import ARP, Ether

    tap_mac = peer.mac_str(peer.stable_mac("tap0"))
    out: dict[str, list[bytes]] = {}

    def many(name: str, make: Callable[[int], object]) -> None:
        out[name] = [bytes(make(i)) for i in range(COUNT)]  # type: ignore[call-overload]

    many(
        "tun ICMP echo request, 84 B",
        lambda i: IP(src="192.168.3.11", dst="192.168.3.12", id=i) / ICMP(id=7, seq=i) / bytes(56),
    )
    many(
        "tun TCP segment, 1500 B",
        lambda i: (
            IP(src="192.168.3.11", dst="192.168.3.12", id=i)
            / TCP(sport=40000, dport=80, seq=i * 1448)
            / bytes(1460)
        ),
    )
    many(
        "tun ICMPv6 echo request, 104 B",
        lambda i: (
            IPv6(src="fd00:3::11", dst="fd00:3::12")
            / ICMPv6EchoRequest(id=7, seq=i, data=bytes(56))
        ),
    )
    many(
        "tun UDP datagram, not answered, 64 B",
        lambda i: (
            IP(src="192.168.3.11", dst="192.168.3.12", id=i) / UDP(sport=i, dport=9) / bytes(36)
        ),
    )
    many(
        "tap ICMP echo request, 98 B",
        lambda i: (
            Ether(src=HOST_MAC, dst=tap_mac)
            / IP(src="192.168.3.11", dst="192.168.3.12", id=i)
            / ICMP(id=7, seq=i)
            / bytes(56)
        ),
    )
    many(
        "tap ARP request, 42 B",
        lambda i: (
            Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff")
            / ARP(hwsrc=HOST_MAC, psrc="192.168.3.11", pdst=f"192.168.3.{12 + i % 200}")
        ),
    )
    many(
        "tap neighbour solicitation, 86 B",
        lambda i: (
            Ether(src=HOST_MAC, dst="33:33:ff:00:00:12")
            / IPv6(src="fd00:3::11", dst="ff02::1:ff00:12", hlim=255)
            / ICMPv6ND_NS(tgt="fd00:3::12")
            / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC)
        ),
    )
    return out


def per_frame(fn: Callable[[bytes], object], data: list[bytes], repeat: int) -> float:
    """Best seconds per frame of ``fn`` over ``data``."""

    def loop() -> None:
        for frame in data:
            fn(frame)

    return min(timeit.repeat(loop, number=20, repeat=repeat)) / (20 * len(data))


def load(path: str) -> types.ModuleType:
    module = types.ModuleType("peer_compared")
    exec(compile(Path(path).read_text(), path, "exec"), module.__dict__)
    return module


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--compare", metavar="PEER_PY", help="another peer.py to time alongside")
    a = p.parse_args(argv)
    data = frames()
    other = load(a.compare) if a.compare else None
    print(f"per frame, best of {a.repeat} x 20 loops over {COUNT} distinct frames")
    print(
        "| frame | reference echo | Echo.respond | Responder.respond |"
        + (" compared Responder |" if other else "")
    )
    print("|---|---:|---:|---:|" + ("---:|" if other else ""))
    for name, frs in data.items():
        lt = LINKTYPE_ETHERNET if name.startswith("tap") else LINKTYPE_RAW
        ref = per_frame(peer.echo, frs, a.repeat)
        echo = peer.Echo(lt)
        echoed = per_frame(echo.respond, frs, a.repeat)
        responder = peer.Responder(lt, OWN, mac=peer.stable_mac("tap0"))
        replied = per_frame(responder.respond, frs, a.repeat)
        row = (
            f"| {name} | {ref * 1e6:.2f} µs | {echoed * 1e6:.2f} µs ({echoed / ref:.1f}x) "
            f"| {replied * 1e6:.2f} µs ({replied / ref:.1f}x) |"
        )
        if other is not None:
            old = other.Responder(lt, OWN, mac=peer.stable_mac("tap0"))
            then = per_frame(old.respond, frs, a.repeat)
            row += f" {then * 1e6:.2f} µs ({replied / then:.2f}x of it) |"
        print(row)
    # a loop coming back: every frame is a known key with a lower TTL
    frs = data["tun ICMP echo request, 84 B"]
    echo = peer.Echo(LINKTYPE_RAW)
    for f in frs:
        echo.respond(f)
    back = [f[:8] + bytes([f[8] - 1]) + f[9:] for f in frs]
    dropped = per_frame(echo.respond, back, a.repeat)
    ref = per_frame(peer.echo, back, a.repeat)
    print(
        f"| tun ICMP echo request coming back (loop) | {ref * 1e6:.2f} µs "
        f"| {dropped * 1e6:.2f} µs ({dropped / ref:.1f}x), not echoed | | "
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
