"""How far out of time order a tunnel end's records reach the ring, and what -w writes.

A tunnel end (``--create tun0 --tunnel-listen --observe veth0``) writes each inner
packet into its tun as it arrives from the far end, stamped then; the packet socket's
record of the outer packet that carried it, stamped earlier by the kernel, reaches the
ring after it. The reference, in the same run on the same traffic: a second file
written from the same session without the reordering window (``FileSink(hold=0)``:
ring order). Figures: records out of order (a stamp before its predecessor's) in each.

Runs as root: two private network namespaces on a veth pair, a simpletun-style peer
(tests/simpletun_peer.py) as the far end, pings through the tunnel. Nothing leaves the
namespaces. ``python bench/time_order_bench.py [--pings N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def child(windowed: str, ring_order: str) -> None:
    """Inside namespace a: the tunnel end, writing both files, until SIGINT."""
    from tapwatch import cli, pcap
    from tapwatch.linktypes import LINKTYPE_ETHERNET, LINKTYPE_RAW
    from tapwatch.sinks import FileSink

    argv = ["--create", "tun0", "--addr", "10.0.0.1/24", "--tunnel-listen", "55555"]
    argv += ["--observe", "veth0", "-w", windowed, "icmp or tcp port 55555"]
    session = cli.open_live_session(argv)
    raw = pcap.open_writer(ring_order, LINKTYPE_RAW, ifname="tun0", fmt="pcapng")
    raw.add_interface(LINKTYPE_ETHERNET, "veth0")
    session.sinks.append(FileSink(raw, hold=0))
    stop = [False]
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    session.start()
    print("ready", flush=True)
    while not stop[0]:
        time.sleep(0.05)
    session.close()


def out_of_order(path: str) -> tuple[int, int]:
    from tapwatch import pcap

    with pcap.read_capture(path) as cap:
        ts = [r.ts_ns for r in cap]
    return len(ts), sum(1 for a, b in itertools.pairwise(ts) if b < a)


def main() -> None:
    from netns import link_pair, netns
    from test_tunnel import A_OUT, B_IN, PEER, wait_connected, wait_listening

    p = argparse.ArgumentParser()
    p.add_argument("--pings", type=int, default=300)
    args = p.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"tw-order-{os.getpid()}"
    tmp.mkdir()
    windowed, ring_order = str(tmp / "windowed.pcapng"), str(tmp / "ring.pcapng")
    with netns("twba") as a, netns("twbb") as b:
        link_pair(a, b, f"{A_OUT}/24", "10.200.0.2/24")
        end = a.popen([sys.executable, __file__, "--child", windowed, ring_order])
        assert end.stdout is not None and end.stdout.readline().strip() == "ready"
        wait_listening(a)
        peer = b.popen([*PEER, "--dev", "tun0", "--connect", f"{A_OUT}:55555"])
        assert peer.stdout is not None and peer.stdout.readline().strip() == "device ready"
        b.run(["ip", "addr", "add", f"{B_IN}/24", "dev", "tun0"], check=True)
        b.run(["ip", "link", "set", "tun0", "up"], check=True)
        wait_connected(a)
        ping = a.run(["ping", "-c", str(args.pings), "-i", "0.005", "-W", "2", B_IN], timeout=120)
        end.send_signal(signal.SIGINT)
        end.communicate(timeout=60)
        peer.kill()
        peer.wait()
    n_ring, bad_ring = out_of_order(ring_order)
    n_win, bad_win = out_of_order(windowed)
    result = {
        "pings": args.pings,
        "ping": ping.stdout.strip().splitlines()[-2] if ping.stdout else "",
        "ring_order": {"records": n_ring, "out_of_order": bad_ring},
        "windowed": {"records": n_win, "out_of_order": bad_win},
    }
    print(json.dumps(result, indent=2))
    for f in (windowed, ring_order):
        os.unlink(f)
    tmp.rmdir()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
