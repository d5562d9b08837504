"""A paced UDP flood into a captured tun while the inject dialog's previews run: the losses.

Run inside a test's private network namespace (``ip netns exec``). It makes a live session
as ``tapwatch --create`` does (its capture thread in this process, as in the UI), then sends
the same paced flood twice from a separate process: once with nothing else going on (the
control), once while this process previews the given expressions again and again in a
thread, as the dialog's worker does. Each flood goes to its own port; what the ring kept
of it, what the kernel said it dropped and what the device queue dropped are counted per
flood, and printed as one JSON object. Waits on conditions, never a fixed sleep.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from waiting import wait_for

from tapwatch import cli, craft
from tapwatch.linktypes import LINKTYPE_RAW

DEV = "twflood0"
SINK = "10.77.0.2"  # routed into the tun by its connected route; nobody answers

SENDER = """
import socket, sys, time
port, count, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
payload, dst, sent, start = b"f" * 64, (SINK, port), 0, time.monotonic()
for i in range(count):
    if i % 16 == 0:
        while time.monotonic() < start + i / rate:
            pass
    try:
        s.sendto(payload, dst)
        sent += 1
    except OSError:
        pass
print(sent, time.monotonic() - start)
""".replace("SINK", repr(SINK))


def tx_dropped() -> int:
    return int(Path(f"/sys/class/net/{DEV}/statistics/tx_dropped").read_text())


def kept(session: object, port: int) -> int:
    """UDP datagrams to ``port`` in the ring (raw IPv4 on a tun)."""
    n = 0
    for rec in session.ring:  # type: ignore[attr-defined]
        d = rec.data
        if (
            len(d) >= 28
            and d[0] >> 4 == 4
            and d[9] == 17
            and int.from_bytes(d[22:24], "big") == port
        ):
            n += 1
    return n


def flood(session: object, port: int, count: int, rate: float) -> dict[str, float]:
    drops0, txq0 = session.kernel_dropped() or 0, tx_dropped()  # type: ignore[attr-defined]
    out = subprocess.run(
        [sys.executable, "-c", SENDER, str(port), str(count), str(rate)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    sent, seconds = int(out[0]), float(out[1])
    # everything sent is either in the ring or counted as dropped, once the capture caught up
    wait_for(
        lambda: kept(session, port) + (session.kernel_dropped() or 0) - drops0 >= sent,  # type: ignore[attr-defined]
        timeout=20,
    )
    got = kept(session, port)
    return {
        "sent": sent,
        "seconds": round(seconds, 3),
        "kept": got,
        "lost": sent - got,
        "kernel_dropped": (session.kernel_dropped() or 0) - drops0,  # type: ignore[attr-defined]
        "device_queue_dropped": tx_dropped() - txq0,
    }


def flood_while_previewing(
    session: object, port: int, a: argparse.Namespace, exprs: list[str], how: str
) -> dict[str, object]:
    """One flood while a thread previews ``exprs`` round and round, as the dialog's worker.

    In this process (``in-process``) only the first expression is evaluated: one such
    evaluation takes tens of seconds, and a thread cannot be stopped in the middle of one.
    """
    from tapwatch.sandbox import expression, frame
    from tapwatch.sandbox.protocol import Request

    names = expression.scapy_names() if how == "in-process" else {}
    if how == "in-process":
        exprs = exprs[:1]
    outcomes: dict[str, str] = {}
    previews = 0
    running = threading.Event()
    stop = threading.Event()

    def evaluate(expr: str) -> bytes:
        if how == "in-process":
            request = Request(expr, LINKTYPE_RAW, craft.DEFAULT_ETH_SRC, craft.DEFAULT_ETH_DST)
            return frame.build(request, names)[0]
        return craft.preview(expr, LINKTYPE_RAW).data

    def preview_loop() -> None:
        nonlocal previews
        while not stop.is_set():
            for expr in exprs:
                try:
                    outcomes[expr] = f"built {len(evaluate(expr))} bytes"
                except Exception as e:  # in-process: whatever the evaluation raised
                    outcomes[expr] = f"error: {e}"
                previews += 1
                running.set()
                if stop.is_set():
                    break

    worker = threading.Thread(target=preview_loop, daemon=True)
    worker.start()
    if how == "sandbox":
        running.wait(120)  # the first answer: the sandbox is warm, as once the dialog is open
    before = previews
    started = time.monotonic()
    result: dict[str, object] = dict(flood(session, port, a.count, a.rate))
    result["previews_during_flood"] = previews - before
    stop.set()
    worker.join(600)
    result["outcomes"] = outcomes
    result["preview_thread_done_after_s"] = round(time.monotonic() - started, 1)
    return result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=60_000)
    p.add_argument("--rate", type=float, default=20_000)
    p.add_argument(
        "--previews",
        default="sandbox",
        help="comma-separated: a flood for each, previewing through the sandbox ('sandbox') "
        "or evaluating in this process as craft did before ('in-process', the first "
        "expression only)",
    )
    p.add_argument("exprs", help="JSON list of expressions to preview during the floods")
    a = p.parse_args()
    exprs = json.loads(a.exprs)
    for conf in ("all", "default"):  # no router solicitations or MLD into the device
        Path(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6").write_text("1")
    session = cli.open_live_session(["--create", DEV, "--addr", "10.77.0.1/24"])
    session.start()
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if not wait_for(lambda: probe.sendto(b"p", (SINK, 7)) and kept(session, 7) > 0):
            raise SystemExit("the capture never saw the probe")
        result: dict[str, object] = {"control": flood(session, 9001, a.count, a.rate)}
        for port, how in enumerate(a.previews.split(","), 9002):
            result[how] = flood_while_previewing(session, port, a, exprs, how)
    finally:
        session.close()
    result["capture_path"] = getattr(session.sources[0].reader, "path", None)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
