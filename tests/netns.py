"""Private network namespaces for tests that create devices or send packets.

Every such test gets a namespace of its own, made here and deleted afterwards,
so nothing a test does can reach the host's interfaces or any other address.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

IS_ROOT = os.geteuid() == 0
HAVE_TUN = os.path.exists("/dev/net/tun")
HAVE_IP = shutil.which("ip") is not None

needs_netns = pytest.mark.skipif(
    not (IS_ROOT and HAVE_TUN and HAVE_IP),
    reason="needs root, /dev/net/tun and iproute2 to make a private network namespace",
)

TAPWATCH = [sys.executable, "-m", "tapwatch"]


class Netns:
    """A named namespace; ``run``/``popen`` execute commands inside it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def cmd(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(
        self, args: Sequence[str], timeout: float = 30, check: bool = False, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.cmd(args), capture_output=True, text=True, timeout=timeout, check=check, **kw
        )  # type: ignore[call-overload]

    def popen(self, args: Sequence[str], **kw: object) -> subprocess.Popen[str]:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        return subprocess.Popen(self.cmd(args), **kw)  # type: ignore[call-overload]

    def link_exists(self, dev: str) -> bool:
        return self.run(["ip", "link", "show", dev]).returncode == 0

    def packet_sockets(self, dev: str) -> int:
        """Packet sockets receiving on ``dev`` in this namespace (tcpdump, tapwatch: captures).

        /proc/net/packet: sk RefCnt Type Proto Iface R ...; R is 1 once the socket is hooked
        into the interface (bound with a protocol), which is when it starts seeing packets.
        """
        index = self.run(["cat", f"/sys/class/net/{dev}/ifindex"]).stdout.strip()
        rows = self.run(["cat", "/proc/net/packet"]).stdout.splitlines()[1:]
        return sum(1 for row in rows if row.split()[4] == index and row.split()[5] == "1")

    def wait_capturing(self, dev: str, before: int = 0, timeout: float = 15) -> None:
        """Wait until one more capture than ``before`` is bound to ``dev`` (no fixed sleep)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.packet_sockets(dev) > before:
                return
            time.sleep(0.05)
        raise AssertionError(f"nothing started capturing on {dev}")

    def wait_link(self, dev: str, present: bool = True, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.link_exists(dev) == present:
                return True
            time.sleep(0.05)
        return False


@contextmanager
def netns(prefix: str = "tw") -> Iterator[Netns]:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield Netns(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def link_pair(a: Netns, b: Netns, addr_a: str, addr_b: str, name: str = "veth0") -> None:
    """A veth pair between two private namespaces, ``name`` on both sides, addressed and up.

    Created in ``a`` and one end moved into ``b``, so nothing of it ever exists in the
    host's namespace.
    """
    peer = f"{name}p"
    a.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    a.run(["ip", "link", "set", peer, "netns", b.name], check=True)
    b.run(["ip", "link", "set", peer, "name", name], check=True)
    for ns, addr in ((a, addr_a), (b, addr_b)):
        ns.run(["ip", "addr", "add", addr, "dev", name], check=True)
        ns.run(["ip", "link", "set", name, "up"], check=True)
