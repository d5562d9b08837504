"""Devices other programs hold or users own: tapwatch never takes, and asks only what it needs.

Every test runs in a private network namespace; the unprivileged ones run as
``nobody`` in a private mount namespace whose /dev/net/tun is mode 0666, as
common distributions ship it (tests/nobody.py). The host is left as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, needs_netns
from nobody import as_nobody

from tapwatch.capture import ENV_PATH

SCENARIOS = str(Path(__file__).with_name("capture_scenarios.py"))
pytestmark = [needs_netns, pytest.mark.netns]


def _json(cmd: list[str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != ENV_PATH}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    result: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def test_a_multi_queue_device_another_program_holds_is_watched_not_attached(ns: Netns) -> None:
    # the holder reads one queue of mq0 and counts the flows it gets; had tapwatch attached a
    # second queue, the kernel would have steered some of the 40 flows to it
    r = _json(
        ns.cmd(
            [
                sys.executable,
                SCENARIOS,
                "multi-queue",
                "--dev",
                "mq0",
                "--subnet",
                "10.63.0",
                "--flows",
                "40",
            ]
        )
    )
    assert "multi-queue" in str(r["busy"]) and "--observe mq0" in str(r["busy"])
    assert r["queues"] == 1  # the holder's queue only: none was added, even for a moment
    assert r["holder"] == 40
    assert r["observed"] == 40 and r["path"] == "tpacket"


def _owned_tap(ns: Netns, name: str, subnet: str | None) -> None:
    ns.run(["ip", "tuntap", "add", "dev", name, "mode", "tap", "user", "nobody"], check=True)
    if subnet:
        for conf in ("all", "default"):
            ns.run(["sysctl", "-q", "-w", f"net.ipv6.conf.{conf}.disable_ipv6=1"], check=True)
        ns.run(["ip", "addr", "add", f"{subnet}.1/24", "dev", name], check=True)
        ns.run(["ip", "link", "set", name, "up"], check=True)


def test_the_owner_of_a_persistent_tap_captures_its_arp_without_root(ns: Netns) -> None:
    _owned_tap(ns, "tap0", "10.64.0")
    r = _json(
        as_nobody(
            ns,
            [
                sys.executable,
                SCENARIOS,
                "owner",
                "--dev",
                "tap0",
                "--subnet",
                "10.64.0",
                "--expect",
                "3",
            ],
        )
    )
    assert r["uid"] == 65534
    assert r["path"] == "process"  # no CAP_NET_RAW: the packet ring was passed over quietly
    assert r["kinds"] == {"icmp": 0, "udp": 0, "arp": 3, "other": 0}
    assert r["failure"] is None

    # the same through the command line, as issue reporters ran it
    tw = subprocess.Popen(
        as_nobody(ns, [*TAPWATCH, "--attach", "tap0", "--headless", "-c", "2", "arp"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    n = 0
    while tw.poll() is None and n < 100:  # a new neighbour each time: an ARP request each time
        n += 1
        ns.run(["ping", "-c", "1", "-W", "0.2", f"10.64.0.{n + 1}"])
    out, err = tw.communicate(timeout=30)
    assert tw.returncode == 0, err
    # the packets; an interface event (the carrier coming on as tapwatch opens the tap) is a
    # '#' line of its own
    lines = [ln for ln in out.splitlines() if not ln.startswith("# ")]
    assert len(lines) == 2 and all("ARP, Request who-has 10.64.0." in ln for ln in lines), out
    assert "Operation not permitted" not in err


def test_what_a_user_without_privileges_may_not_do_is_named_with_its_fix(ns: Netns) -> None:
    _owned_tap(ns, "tap0", "10.65.0")
    _owned_tap(ns, "tap1", None)  # down
    r = _json(
        as_nobody(
            ns,
            [
                sys.executable,
                SCENARIOS,
                "errors",
                "--dev",
                "tap0",
                "--down",
                "tap1",
                "--netns",
                ns.name,
            ],
        )
    )
    assert r["attach"] == "ok"
    assert r["down"] == (
        "tap1 is down: bring it up with `sudo ip link set tap1 up`, or run tapwatch as root"
    )
    assert r["mtu"] == (
        "setting mtu 1400 on tap1 needs CAP_NET_ADMIN: do it with "
        "`sudo ip link set tap1 mtu 1400`, or run tapwatch as root"
    )
    assert str(r["setns"]).startswith(
        f"not permitted to enter network namespace '{ns.name}': "
        "this needs CAP_SYS_ADMIN; run it as root: sudo "
    )

    # with /dev/net/tun as this host has it (0600 here), the node is what is in the way
    if os.stat("/dev/net/tun").st_mode & 0o006 == 0o006:
        return  # a host whose node is open to all has nothing in the way to report
    r = _json(
        as_nobody(
            ns,
            [sys.executable, SCENARIOS, "errors", "--dev", "tap0", "--netns", ns.name],
            tun_mode=None,
        )
    )
    mode = f"{os.stat('/dev/net/tun').st_mode & 0o777:04o}"
    assert str(r["attach"]).startswith(
        f"cannot attach to tap0: /dev/net/tun (mode {mode}, owner root) is not readable and "
        "writable by you; make it mode 0666"
    )
    assert "CAP_NET_ADMIN" not in str(r["attach"])


def test_a_queue_length_the_kernel_refuses_is_named_as_the_problem(ns: Netns) -> None:
    """Root asking for a queue the kernel cannot allocate got "needs CAP_NET_ADMIN": the value
    is what is wrong, and the message says so; one beyond the kernel's int is a usage error."""
    r = ns.run([*TAPWATCH, "--create", "tun1", "--txqueuelen", "4294967295", "--headless"])
    assert r.returncode == 2, r.stderr
    assert "more than --txqueuelen allows (2,147,483,647)" in r.stderr
    r = ns.run([*TAPWATCH, "--create", "tun1", "--txqueuelen", "100000000", "--headless"])
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "CAP_NET_ADMIN" not in lines[0], lines
    assert lines[0].startswith(
        "tapwatch: --txqueuelen 100000000: the kernel refused that queue length for tun1"
    )
    assert not ns.link_exists("tun1")
