"""Soak: tapwatch headless at a steady packet rate for minutes, ring wrapping many times.

Runs entirely inside a private network namespace it creates and deletes. A
paced UDP sender in the namespace sends to an address routed into a tun device
that tapwatch created; tapwatch keeps a small ring so it wraps constantly.
Every few seconds the resident memory of tapwatch is sampled from /proc; at the
end the samples, the exit summary and the verdict (flat or growing) are
printed.

    sudo python bench/soak.py --minutes 10 --rate 20000
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid

SENDER = textwrap.dedent("""
    import socket, sys, time
    rate, seconds = float(sys.argv[1]), float(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"x" * 64
    start = time.monotonic(); sent = 0; dst = ("10.99.0.2", 9)
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            break
        due = int(now * rate)
        while sent < due:
            try:
                s.sendto(payload, dst)
            except OSError:
                pass
            sent += 1
        time.sleep(0.001)
    print(sent)
""")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=20000.0, help="packets per second")
    ap.add_argument("--ring-packets", type=int, default=100_000)
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    args = ap.parse_args()
    seconds = args.minutes * 60
    ns = f"tw-soak-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    tw = sender = None
    try:
        tw = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-m",
                "tapwatch",
                "--create",
                "tun1",
                "--addr",
                "10.99.0.1/24",
                "-q",
                "--headless",
                "--ring-packets",
                str(args.ring_packets),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(200):
            out = subprocess.run(
                ["ip", "netns", "exec", ns, "ip", "-o", "addr"], capture_output=True, text=True
            ).stdout
            if "10.99.0.1" in out:
                break
            time.sleep(0.05)
        sender = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", SENDER, str(args.rate), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples: list[tuple[float, int]] = []
        t0 = time.monotonic()
        while sender.poll() is None:
            samples.append((time.monotonic() - t0, rss_kib(tw.pid)))
            print(f"  t={samples[-1][0]:7.1f}s  rss={samples[-1][1] / 1024:7.1f} MiB", flush=True)
            time.sleep(args.sample)
        sent = int(sender.communicate()[0].strip() or 0)
        time.sleep(0.5)
        tw.send_signal(signal.SIGINT)
        _, err = tw.communicate(timeout=30)
        m = re.search(r"(\d+) packets captured", err)
        captured = int(m.group(1)) if m else -1
        print(
            f"sent {sent}, captured {captured} ({captured / max(sent, 1):.4%}), "
            f"tapwatch exit {tw.returncode}"
        )
        print("summary:", err.strip().splitlines()[-1] if err.strip() else "(none)")
        if len(samples) > 4:
            warm = samples[len(samples) // 4 :]  # after the ring has filled
            lo, hi = min(s[1] for s in warm), max(s[1] for s in warm)
            print(
                f"RSS after warm-up: min {lo / 1024:.1f} MiB, max {hi / 1024:.1f} MiB, "
                f"spread {(hi - lo) / 1024:.1f} MiB over {warm[-1][0] - warm[0][0]:.0f} s"
            )
        return 0 if tw.returncode == 0 else 1
    finally:
        for p in (sender, tw):
            if p is not None and p.poll() is None:
                p.kill()
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    raise SystemExit(main())
