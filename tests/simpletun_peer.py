"""A small simpletun-compatible peer for the tunnel tests (run inside a test's namespace).

It does what the classic simpletun program does: opens a tun or tap device
(no packet-info header), connects to or accepts one peer over TCP, and
carries frames both ways, each as a 2-byte big-endian length and the bytes.
Like simpletun it writes the prefix and the frame with two separate writes
(``--split``, with Nagle off so they really leave as two segments), so the
far end must reassemble by byte count. With ``--udp`` each datagram is one
frame. It exits when the peer goes away, as simpletun does.

    python simpletun_peer.py --dev tun0 (--connect ADDR:PORT | --listen PORT) [--tap]
                             [--udp] [--split]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000


def open_device(name: str, tap: bool) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
    return fd


def read_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--dev", required=True)
    p.add_argument("--tap", action="store_true")
    p.add_argument("--connect")
    p.add_argument("--listen", type=int)
    p.add_argument("--udp", action="store_true")
    p.add_argument("--split", action="store_true")
    a = p.parse_args()
    fd = open_device(a.dev, a.tap)
    print("device ready", flush=True)
    if a.udp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if a.listen:
            sock.bind(("0.0.0.0", a.listen))
            peer = None
        else:
            host, port = a.connect.split(":")
            peer = (host, int(port))
        while True:
            ready, _, _ = select.select([fd, sock], [], [])
            if fd in ready:
                frame = os.read(fd, 2000)
                if peer is not None:
                    sock.sendto(frame, peer)
            if sock in ready:
                frame, src = sock.recvfrom(2000)
                peer = peer or src
                os.write(fd, frame)
    if a.listen:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", a.listen))
        server.listen(1)
        print("listening", flush=True)
        sock, _ = server.accept()
    else:
        host, port = a.connect.split(":")
        sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("connected", flush=True)
    while True:
        ready, _, _ = select.select([fd, sock], [], [])
        if fd in ready:
            frame = os.read(fd, 2000)
            prefix = struct.pack("!H", len(frame))
            if a.split:  # simpletun: two write() calls
                sock.sendall(prefix)
                sock.sendall(frame)
            else:
                sock.sendall(prefix + frame)
        if sock in ready:
            head = read_exactly(sock, 2)
            if head is None:
                return 0
            (n,) = struct.unpack("!H", head)
            frame = read_exactly(sock, n)
            if frame is None:
                return 0
            os.write(fd, frame)


if __name__ == "__main__":
    sys.exit(main())
