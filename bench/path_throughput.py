"""How fast a capture path moves packets into the ring, without a device or root.

``python bench/path_throughput.py PATH N`` pushes N 92-byte packets through a
SOCK_SEQPACKET socket pair (one read gives one whole packet, as on a tun) from
a sender process that blocks whenever the reader is behind, and exits once
the reader (``TAPWATCH_CAPTURE=PATH``: process or thread) has put all N in
the ring. Nothing is lost, so the whole process's time and CPU are the
path's cost: time two checkouts of this command against each other, pair by
pair (A B A B ...), to compare them. It only needs what both checkouts have:
``Reader(fd, ring, wake)`` and the reader's path (``path``, formerly ``mode``).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("TAPWATCH_TREE", str(Path(__file__).resolve().parent.parent)))

from tapwatch.capture import Reader
from tapwatch.ring import Ring


def main(path: str, n: int) -> None:
    os.environ["TAPWATCH_CAPTURE"] = path
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    ring = Ring(max(n, 1))
    reader = Reader(ours.fileno(), ring, threading.Event())
    reader.start()
    while getattr(reader, "path", getattr(reader, "mode", None)) != path:
        time.sleep(0.001)
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the sender: blocks while the socket's buffer is full
        ours.close()
        send, packet = theirs.send, b"E" + bytes(91)
        for _ in range(n):
            send(packet)
        os.close(done_w)
        os.read(done_r, 1)  # a hang-up must not race the last packets
        os._exit(0)
    theirs.close()
    while reader.packets < n:
        time.sleep(0.002)
    os.close(done_w)
    os.waitpid(pid, 0)
    reader.stop()
    reader.join(5)
    assert len(ring) == n, f"{len(ring)} of {n} in the ring"


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
