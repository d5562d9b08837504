"""`--demo`: varied, harmless traffic into a tun device in a private namespace.

The CLI first moves tapwatch into a network namespace of its own, so every
packet generated here goes to an address that exists only in that namespace
and reaches nothing else; the namespace dies with the process. The traffic is
what people come to look at: pings (answered by reply mode), DNS queries, TCP
connection attempts and IPv6 pings.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading

from tapwatch.session import Session
from tapwatch.wire import checksum

DEVICE = "tun1"
ADDRESSES = ("192.168.3.11/24", "fd00:3::11/64")
PEER4 = "192.168.3.12"
PEER6 = "fd00:3::12"
DNS4 = "192.168.3.53"
NAMES = ("example.com", "tapwatch.test", "vpn.internal", "wiki.lan", "mail.example.org")


def echo_request(ident: int, seq: int, v6: bool = False) -> bytes:
    """An ICMP(v6) echo request with a 56-byte payload, like ping's default."""
    payload = bytes(range(56))
    kind = 128 if v6 else 8
    hdr = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if v6:
        return hdr + payload  # the kernel fills the ICMPv6 checksum on raw sockets
    csum = checksum(hdr + payload)
    return struct.pack("!BBHHH", kind, 0, csum, ident, seq) + payload


def dns_query(txid: int, name: str, qtype: int = 1) -> bytes:
    """A minimal recursive DNS query."""
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


class Traffic(threading.Thread):
    """Sends a mixed burst about once a second until stopped."""

    def __init__(self, session: Session, interval: float = 1.0) -> None:
        super().__init__(name="tapwatch-demo", daemon=True)
        self.session = session
        self.interval = interval
        self.stop_event = threading.Event()
        self.rng = random.Random(1)

    def run(self) -> None:
        socks: list[socket.socket] = []
        try:
            icmp4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks += [icmp4, icmp6, udp]
            for s in socks:
                s.setblocking(False)
        except OSError:
            return
        ident = 0x7477  # "tw"
        seq = 0
        tcp: list[socket.socket] = []
        while not self.stop_event.wait(self.interval):
            seq += 1
            with contextlib.suppress(OSError):
                icmp4.sendto(echo_request(ident, seq), (PEER4, 0))
            if seq % 2 == 0:
                with contextlib.suppress(OSError):
                    icmp6.sendto(echo_request(ident, seq, v6=True), (PEER6, 0))
            if seq % 3 == 1:
                name = self.rng.choice(NAMES)
                with contextlib.suppress(OSError):
                    udp.sendto(
                        dns_query(self.rng.randrange(65536), name, self.rng.choice((1, 28))),
                        (DNS4, 53),
                    )
            if seq % 4 == 2:
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                t.setblocking(False)
                with contextlib.suppress(OSError):
                    t.connect_ex((PEER4, self.rng.choice((22, 80, 443))))
                tcp.append(t)
                if len(tcp) > 3:
                    tcp.pop(0).close()
            for s in socks:  # drain answers so buffers never fill
                with contextlib.suppress(OSError):
                    while s.recv(65535):
                        pass
        for s in socks + tcp:
            s.close()

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout=2)
