"""--attach to wireguard-go's device: it has packet-info headers and wireguard-go holds it, so
tapwatch observes it read-only, says so, and sees what tcpdump beside it sees.

Two namespaces, a wireguard-go tunnel between them over a veth pair; wireguard-go's
control socket is named after the interface, outside any namespace, so each test gives
its devices names of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from netns import TAPWATCH, Netns, link_pair, needs_netns, netns
from test_live import stop

needs_wireguard = pytest.mark.skipif(
    shutil.which("wireguard-go") is None or shutil.which("wg") is None,
    reason="needs wireguard-go and wireguard-tools",
)


def _keys() -> tuple[str, str]:
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout
    public = subprocess.run(
        ["wg", "pubkey"], input=private, capture_output=True, text=True, check=True
    ).stdout
    return private.strip(), public.strip()


def _wireguard(ns: Netns, dev: str) -> subprocess.Popen[str]:
    proc = ns.popen(["wireguard-go", dev], env={**os.environ, "WG_PROCESS_FOREGROUND": "1"})
    assert ns.wait_link(dev), "wireguard-go made no device"
    return proc


@pytest.fixture
def tunnel(tmp_path: object) -> Iterator[tuple[Netns, str]]:
    """Namespace a's wireguard-go device, up at 10.77.0.1, with b's at 10.77.0.2 behind it."""
    tag = uuid.uuid4().hex[:6]
    dev_a, dev_b = f"wga{tag}", f"wgb{tag}"
    with netns("twwa") as a, netns("twwb") as b:
        link_pair(a, b, "10.200.7.1/24", "10.200.7.2/24")
        procs = []
        try:
            procs = [_wireguard(a, dev_a), _wireguard(b, dev_b)]
            (ka, pa), (kb, pb) = _keys(), _keys()
            for ns, dev, key, port, peer, addr, allowed, endpoint in (
                (a, dev_a, ka, "51820", pb, "10.77.0.1/24", "10.77.0.2/32", "10.200.7.2:51821"),
                (b, dev_b, kb, "51821", pa, "10.77.0.2/24", "10.77.0.1/32", "10.200.7.1:51820"),
            ):
                keyfile = f"/dev/shm/tw-{uuid.uuid4().hex}"
                fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.write(fd, key.encode())
                os.close(fd)
                try:
                    ns.run(
                        [
                            "wg",
                            "set",
                            dev,
                            "listen-port",
                            port,
                            "private-key",
                            keyfile,
                            "peer",
                            peer,
                            "allowed-ips",
                            allowed,
                            "endpoint",
                            endpoint,
                        ],
                        check=True,
                    )
                finally:
                    os.unlink(keyfile)
                ns.run(["ip", "addr", "add", addr, "dev", dev], check=True)
                ns.run(["ip", "link", "set", dev, "up"], check=True)
            yield a, dev_a
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)


@needs_netns
@needs_wireguard
@pytest.mark.netns
def test_attach_to_wireguard_go_falls_back_to_observing(tunnel: tuple[Netns, str]) -> None:
    a, dev = tunnel
    assert " pi on " in a.run(["ip", "-d", "link", "show", dev]).stdout  # what makes it differ
    before = a.packet_sockets(dev)
    dump = a.popen(["tcpdump", "-nn", "-l", "-i", dev, "icmp"])
    a.wait_capturing(dev, before)
    tw = a.popen([*TAPWATCH, "--attach", dev, "--headless", "icmp"])
    try:
        a.wait_capturing(dev, before + 1)
        ping = a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"])
        assert " 0% packet loss" in ping.stdout, ping.stdout  # the tunnel carries it
    finally:
        out, err = stop(tw)
        ref, _ = stop(dump)
    assert tw.returncode == 0, err
    assert "packet-info headers" in err and "observing read-only" in err
    assert "Traceback" not in err
    # what tcpdump beside it saw: the same six lines, after the time and direction word
    body = [ln.split(" ", 2)[2].strip() for ln in out.splitlines()]
    want = [ln.split(" ", 1)[1] for ln in ref.splitlines() if ln.strip()]
    assert len(body) == 6 and body == want, (out, ref)


@needs_netns
@needs_wireguard
@pytest.mark.netns
def test_what_needs_the_device_itself_says_why_it_cannot_have_it(
    tunnel: tuple[Netns, str],
) -> None:
    a, dev = tunnel
    r = a.run([*TAPWATCH, "--attach", dev, "--echo", "--headless", "-c", "1"])
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "packet-info headers" in r.stderr and "need the device itself" in r.stderr
