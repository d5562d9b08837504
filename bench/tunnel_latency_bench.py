"""Latency a tunnel end adds, tapwatch's beside a plain C relay, both directions.

Two private namespaces joined by a veth pair (10.200.0.1 - 10.200.0.2). In the first, the
tunnel end under test creates tun0 (10.0.0.1/24) and connects over TCP to a peer in the
second, which speaks simpletun's framing. Probes are UDP datagrams carrying the
CLOCK_MONOTONIC time they were sent (one clock: the namespaces share the machine):

* device -> peer: a socket in the first namespace sends to 10.0.0.2 (routed into tun0);
  the peer notes when the framed datagram arrives;
* peer -> device: the peer sends framed datagrams to 10.0.0.1; a socket in the first
  namespace notes when each arrives.

The reference is bench/tunrelay.c (compiled here with cc): one poll() loop, a read and
one write per frame. tapwatch runs as a user would run it (``--create tun0 --addr
10.0.0.1/24 --tunnel-connect 10.200.0.2 -q``, lines to /dev/null). Variants alternate,
``rounds`` times each; figures are the pooled median, p90 and p99 of the probes (the
first WARM of each run left out), and tapwatch's ratio to the relay's, pooled and for each
round alone (the relay's run of the same round: how much the ratio moves with the load).
Run (root): ``python bench/tunnel_latency_bench.py [probes] [rounds]``. With
``TAPWATCH_BENCH_BASE=/path/to/another/checkout`` a third variant, "tapwatch base", runs that
checkout's tapwatch in the same rounds (before and after a change, alternately). With
``TAPWATCH_BENCH_NO_RELAY=1`` another, "tapwatch no relay", runs this checkout with
``TAPWATCH_NO_RELAY=1``: tunnel.py's Python loops instead of the compiled relay
(tapwatch/_relay.c), the decoder as installed. With ``TAPWATCH_BENCH_RELAY_ALONE=1`` another,
"relay alone", runs tapwatch's compiled relay by itself in a small script (its thread, and a
recorder that drains the copies and keeps nothing): what the relay costs without the rest of
tapwatch (the ring, the pump, the decoder) wanting the same processors.
Each tapwatch variant says which relay it ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import env, in_netns, pct, private_netns, tapwatch_cmd, tempdir

GAP_S = 0.002  # between probes: one at a time in flight, never a burst
WARM = 20

_IP = """
import struct
def ip_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16); s = (s & 0xFFFF) + (s >> 16)
    return hdr[:10] + struct.pack("!H", ~s & 0xFFFF) + hdr[12:] + udp
"""

#: The peer, in the second namespace: accept the tunnel, time device->peer probes, then
#: send peer->device probes. Prints "listening", then one JSON line of delays (ns).
PEER = (
    _IP
    + """
import json, socket, sys, time
n, gap = int(sys.argv[1]), float(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("10.200.0.2", 55555)); srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept(); conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("connected", flush=True)
conn.settimeout(0.5)
got, buf, deadline = {}, b"", time.monotonic() + 10 + n * gap * 4
while len(got) < n and time.monotonic() < deadline:
    try:
        data = conn.recv(65536)
    except socket.timeout:
        continue
    now = time.monotonic_ns()
    if not data:
        break
    buf += data
    while len(buf) >= 2 and len(buf) - 2 >= (buf[0] << 8 | buf[1]):
        ln = buf[0] << 8 | buf[1]; frame = buf[2:2 + ln]; buf = buf[2 + ln:]
        if len(frame) >= 40 and frame[9] == 17 and frame[22:24] == b"\\x27\\x0f":
            seq, sent = struct.unpack_from("!IQ", frame, 28)
            got[seq] = now - sent
for i in range(n):
    p = ip_udp(bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]), 9998, 9998,
               struct.pack("!IQ", i, time.monotonic_ns()))
    conn.sendall(struct.pack("!H", len(p)) + p)
    time.sleep(gap)
print(json.dumps(got), flush=True)
time.sleep(1.0)
"""
)

#: The device side, in the first namespace: send device->peer probes, then time the
#: peer->device ones. Prints one JSON line of delays (ns).
DEVICE = """
import json, socket, struct, sys, time
n, gap = int(sys.argv[1]), float(sys.argv[2])
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rx.bind(("10.0.0.1", 9998))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    tx.sendto(struct.pack("!IQ", i, time.monotonic_ns()), ("10.0.0.2", 9999))
    time.sleep(gap)
rx.settimeout(10 + n * gap * 4)
got = {}
try:
    while len(got) < n:
        data = rx.recv(100)
        now = time.monotonic_ns()
        seq, sent = struct.unpack_from("!IQ", data)
        got[seq] = now - sent
        rx.settimeout(3)
except socket.timeout:
    pass
print(json.dumps(got), flush=True)
"""


BASE = os.environ.get("TAPWATCH_BENCH_BASE")
NO_RELAY = bool(os.environ.get("TAPWATCH_BENCH_NO_RELAY"))
RELAY_ALONE = bool(os.environ.get("TAPWATCH_BENCH_RELAY_ALONE"))

#: "relay alone": tapwatch's relay and a recorder that drops the copies, nothing else. Creates
#: the tun as bench/tunrelay.c does (prints "ready" once it exists), then connects.
ALONE = """
import fcntl, os, socket, struct, sys
from tapwatch._relay import Relay
tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(tun, 0x400454CA, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))
print("ready", flush=True)
sock = socket.create_connection((sys.argv[2], int(sys.argv[3])))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
relay = Relay(2000, True, queue=8192, linger_us=250)
relay.device(tun, True)
relay.attach(sock.fileno())
relay.start()
try:
    while True:
        relay.drain(200, 8192)
except KeyboardInterrupt:
    relay.stop()
"""


def _run(ns_a: str, ns_b: str, variant: str, relay: str, n: int) -> tuple[list[int], list[int]]:
    run = {"env": env(), "text": True}
    end_env = env()
    if variant == "tapwatch base" and BASE:
        end_env["PYTHONPATH"] = BASE  # that checkout's package first on the path
    if variant == "tapwatch no relay":
        end_env["TAPWATCH_NO_RELAY"] = "1"
    peer = subprocess.Popen(
        in_netns(ns_b, [sys.executable, "-c", PEER, str(n), str(GAP_S)]),
        stdout=subprocess.PIPE,
        **run,  # type: ignore[call-overload]
    )
    assert peer.stdout is not None
    assert peer.stdout.readline().strip() == "listening"
    if variant in ("C relay", "relay alone"):
        cmd = [relay] if variant == "C relay" else [sys.executable, "-c", ALONE]
        end = subprocess.Popen(
            in_netns(ns_a, [*cmd, "tun0", "10.200.0.2", "55555"]),
            stdout=subprocess.PIPE,
            **run,  # type: ignore[call-overload]
        )
        assert end.stdout is not None and end.stdout.readline().strip() == "ready"
        for cmd in (
            ["ip", "addr", "add", "10.0.0.1/24", "dev", "tun0"],
            ["ip", "link", "set", "tun0", "up"],
        ):
            subprocess.run(in_netns(ns_a, cmd), check=True)
    else:
        end = subprocess.Popen(
            in_netns(
                ns_a,
                tapwatch_cmd(
                    "--create",
                    "tun0",
                    "--addr",
                    "10.0.0.1/24",
                    "--tunnel-connect",
                    "10.200.0.2",
                    "-q",
                ),
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=end_env,
            text=True,
            # ``-m`` puts the working directory first on the path: the checkout under test
            cwd=BASE if variant == "tapwatch base" and BASE else None,
        )
    try:
        assert peer.stdout.readline().strip() == "connected"
        deadline = time.monotonic() + 20
        while (
            "10.0.0.1"
            not in subprocess.run(
                in_netns(ns_a, ["ip", "-o", "addr", "show", "dev", "tun0"]),
                capture_output=True,
                text=True,
            ).stdout
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("tun0 never got its address")
            time.sleep(0.05)
        dev = subprocess.run(
            in_netns(ns_a, [sys.executable, "-c", DEVICE, str(n), str(GAP_S)]),
            capture_output=True,
            timeout=120,
            **run,  # type: ignore[call-overload]
        )
        to_peer = json.loads(peer.stdout.readline())
        to_device = json.loads(dev.stdout.strip().splitlines()[-1])
    finally:
        end.send_signal(2)
        try:
            end.wait(timeout=10)
        except subprocess.TimeoutExpired:
            end.kill()
        peer.kill()
        peer.wait()
    keep = lambda d: [v for k, v in d.items() if int(k) >= WARM]  # noqa: E731
    return keep(to_peer), keep(to_device)


def _versions(variant: str) -> str:
    """What ``tapwatch --version`` says of the variant's decoder and relay."""
    if variant == "relay alone":
        return "tapwatch._relay from this checkout, nothing else of tapwatch"
    e = env()
    if variant == "tapwatch base" and BASE:
        e["PYTHONPATH"] = BASE
    if variant == "tapwatch no relay":
        e["TAPWATCH_NO_RELAY"] = "1"
    out = subprocess.run(
        tapwatch_cmd("--version"),
        capture_output=True,
        text=True,
        env=e,
        cwd=BASE if variant == "tapwatch base" and BASE else None,
    ).stdout
    return "; ".join(out.strip().splitlines()[1:])


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("needs root (it makes namespaces and a tun device)")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    variants: tuple[str, ...] = (
        ("C relay", "tapwatch")
        + (("tapwatch base",) if BASE else ())
        + (("tapwatch no relay",) if NO_RELAY else ())
        + (("relay alone",) if RELAY_ALONE else ())
    )
    pooled: dict[str, tuple[list[int], list[int]]] = {v: ([], []) for v in variants}
    per_round: list[dict[str, tuple[list[int], list[int]]]] = []
    load0 = os.getloadavg()[0]
    with tempdir() as tmp:
        relay = os.path.join(tmp, "tunrelay")
        subprocess.run(
            ["cc", "-O2", "-Wall", "-o", relay, str(Path(__file__).with_name("tunrelay.c"))],
            check=True,
        )
        for _ in range(rounds):
            per_round.append({})
            for v in variants:
                with private_netns() as ns_a, private_netns() as ns_b:
                    subprocess.run(
                        in_netns(
                            ns_a,
                            [
                                "ip",
                                "link",
                                "add",
                                "veth0",
                                "type",
                                "veth",
                                "peer",
                                "name",
                                "veth0p",
                            ],
                        ),
                        check=True,
                    )
                    subprocess.run(
                        in_netns(ns_a, ["ip", "link", "set", "veth0p", "netns", ns_b]), check=True
                    )
                    subprocess.run(
                        in_netns(ns_b, ["ip", "link", "set", "veth0p", "name", "veth0"]), check=True
                    )
                    for ns, addr in ((ns_a, "10.200.0.1/24"), (ns_b, "10.200.0.2/24")):
                        subprocess.run(
                            in_netns(ns, ["ip", "addr", "add", addr, "dev", "veth0"]), check=True
                        )
                        subprocess.run(
                            in_netns(ns, ["ip", "link", "set", "veth0", "up"]), check=True
                        )
                    a, b = _run(ns_a, ns_b, v, relay, n)
                    per_round[-1][v] = (a, b)
                    pooled[v][0].extend(a)
                    pooled[v][1].extend(b)
    for v in variants[1:]:
        print(f"{v}: {_versions(v)}")
    print(
        f"{n} probes each way, {GAP_S * 1e3:g} ms apart, {rounds} rounds; "
        f"load {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print("| end | direction | probes | median | p90 | p99 |")
    print("|---|---|---:|---:|---:|---:|")
    stats = {}
    for v in variants:
        for name, values in (("device -> peer", pooled[v][0]), ("peer -> device", pooled[v][1])):
            ms = [x / 1e6 for x in values]
            stats[v, name] = (pct(ms, 50), pct(ms, 90), pct(ms, 99))
            print(
                f"| {v} | {name} | {len(ms)} | {pct(ms, 50):.3f} ms | {pct(ms, 90):.3f} ms "
                f"| {pct(ms, 99):.3f} ms |"
            )
    for v in variants[1:]:
        for name in ("device -> peer", "peer -> device"):
            t, c = stats[v, name], stats["C relay", name]
            print(
                f"{v} / C relay, {name}: median {t[0] / c[0]:.2f}x, p90 {t[1] / c[1]:.2f}x, "
                f"p99 {t[2] / c[2]:.2f}x"
            )
            each: list[tuple[float, ...]] = []
            for r in per_round:
                side = 0 if name == "device -> peer" else 1
                mine, ref = r[v][side], r["C relay"][side]
                if mine and ref:
                    each.append(tuple(pct(mine, q) / pct(ref, q) for q in (50, 90, 99)))
            shown = ["/".join(f"{x:.2f}" for x in e) for e in each]
            print(f"  each round (median/p90/p99): {'  '.join(shown)}")
            if each:  # the load moves from round to round: the middle round is the steadier figure
                mid = [pct([e[i] for e in each], 50) for i in range(3)]
                print(
                    f"  median of the rounds' ratios: median {mid[0]:.2f}x, p90 {mid[1]:.2f}x, "
                    f"p99 {mid[2]:.2f}x"
                )


if __name__ == "__main__":
    main()
