"""Section 1: capture keep-rate of a tun flooded with small UDP datagrams.

``run()`` (called by run.py) makes a private network namespace and starts this
file inside it with ``--child``; the child creates one tun per trial (address
10.77.0.1/24, txqueuelen as tapwatch sets it), points the C load generator at
10.77.0.2 - routed into the tun by the connected route, inside the namespace -
and counts what each reader kept:

* ``py-ref``: the bare Python loop ``os.read(fd, 65536)`` (bench/pyref_reader.py)
* ``c-ref``: the same loop in C (bench/loadgen.c ``read``)
* ``headless``: ``tapwatch --create ... --headless -q -w FILE`` (packets in the pcap)
* ``tui``: the Textual app under ``App.run_test()`` on a session built by
  ``cli.open_live_session``, as ``tapwatch --create`` builds it
* ``headless-process``, ``headless-thread``, ``tui-thread``: the same with
  ``TAPWATCH_CAPTURE`` forcing tapwatch's fallback capture paths, for comparison

The kernel's counters of the tun say where losses happened: ``tx_dropped``
counts datagrams the device queue had no room for (the reader was too slow to
drain it), ``tx_packets`` counts what was read from the device. tapwatch's
exit summary names its own drop count (for its tpacket path - the kernel's packet ring -
the ring's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

READERS = ("py-ref", "c-ref", "headless", "tui")
# the same with tapwatch's other capture paths forced (TAPWATCH_CAPTURE), for comparison
ALT_READERS = ("headless-process", "headless-thread", "tui-thread")
#: ``headless`` with ``-i any`` beside the device: what the other sockets of -i any cost
#: the device's capture (the tun is read by its own reader either way)
ANY_READERS = ("headless-any",)
PAYLOAD = 64
PACKET_LEN = 20 + 8 + PAYLOAD  # what one datagram is on a tun (raw IPv4)
DEFAULT_TXQ = 1000  # what cli gives a created device


# ----- the part that runs inside the namespace ----------------------------------------------------


def link_stats(name: str) -> dict[str, int]:
    """tx_packets / tx_dropped / txqueuelen of ``name`` through netlink (pyroute2)."""
    from pyroute2 import IPRoute

    idx = socket.if_nametoindex(name)
    with IPRoute() as ipr:
        link = ipr.get_links(idx)[0]
    st = link.get("IFLA_STATS64")
    return {
        "tx_packets": int(st["tx_packets"]),
        "tx_dropped": int(st["tx_dropped"]),
        "txqlen": int(link.get("IFLA_TXQLEN")),
    }


def wait_link_ready(name: str, timeout: float = 15) -> None:
    """Until ``name`` exists, is up and has its address (so the route into it exists)."""
    from pyroute2 import IPRoute

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            idx = socket.if_nametoindex(name)
            with IPRoute() as ipr:
                up = ipr.get_links(idx)[0]["flags"] & 1
                addrs = ipr.get_addr(index=idx)
            if up and addrs:
                return
        except (OSError, IndexError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{name} did not come up")


def wait_accounted(name: str, sent: int, timeout: float = 20) -> dict[str, int]:
    """Until the kernel has either handed out or dropped every datagram sent."""
    deadline = time.monotonic() + timeout
    st = link_stats(name)
    while time.monotonic() < deadline:
        st = link_stats(name)
        if st["tx_packets"] + st["tx_dropped"] >= sent:
            break
        time.sleep(0.05)
    return st


SENDER_CPUS: set[int] | None = None  # where the generator runs when pinned


def _pin_sender() -> None:
    if SENDER_CPUS:
        os.sched_setaffinity(0, SENDER_CPUS)


def send(loadgen: str, count: int, rate: int) -> dict[str, float]:
    out = subprocess.run(
        [loadgen, "send", common.SINK, str(common.SINK_PORT), str(count), str(rate), str(PAYLOAD)],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=_pin_sender,
    )
    return json.loads(out.stdout)


def _ref_trial(kind: str, loadgen: str, count: int, rate: int, txq: int, dev: str) -> dict:
    from tapwatch.device import Device, parse_addr

    d = Device.create(dev)
    try:
        d.configure([parse_addr(common.SUBNET_ADDR)], txqueuelen=txq)
        cmd = (
            [loadgen, "read", str(d.fd)]
            if kind == "c-ref"
            else [common.PY, str(common.BENCH / "pyref_reader.py"), str(d.fd)]
        )
        reader = subprocess.Popen(cmd, pass_fds=[d.fd], stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout is not None
            reader.stdout.readline()  # ready
            gen = send(loadgen, count, rate)
            st = wait_accounted(dev, int(gen["sent"]))
        finally:
            reader.send_signal(signal.SIGTERM)
            out, _ = reader.communicate(timeout=10)
        kept = json.loads(out.strip().splitlines()[-1])["packets"]
        return {"gen": gen, "kept": kept, **st}
    finally:
        d.close()


SUMMARY = re.compile(
    r"(\d+) packets captured, (\d+) evicted from ring, (\d+|kernel drops "
    r"unknown)(?: dropped by kernel)?(?:, (\d+) not processed)?"
)


def _parse_summary(stderr: str) -> dict:
    m = None
    for line in stderr.splitlines():
        m = SUMMARY.search(line) or m
    if m is None:
        return {"summary": stderr.strip()[-200:]}
    return {
        "summary_captured": int(m.group(1)),
        "summary_evicted": int(m.group(2)),
        "summary_kernel_dropped": int(m.group(3)) if m.group(3).isdigit() else None,
        "summary_missed": int(m.group(4) or 0),
    }


def count_pcap(path: str) -> tuple[int, int]:
    """(all records, records that are the generator's datagrams) in a pcap."""
    from tapwatch import pcap

    total = ours = 0
    for rec in pcap.read_capture(path):
        total += 1
        d = rec.data
        if len(d) == PACKET_LEN and d[9] == 17:
            ours += 1
    return total, ours


def _headless_trial(
    loadgen: str,
    count: int,
    rate: int,
    txq: int,
    dev: str,
    tmp: str,
    capture_path: str | None = None,
) -> dict:
    path = os.path.join(tmp, f"{dev}.pcap" + ("ng" if capture_path == "any" else ""))
    cmd = common.tapwatch_cmd(
        "--create", dev, "--addr", common.SUBNET_ADDR, "--headless", "-q", "-w", path
    )
    if capture_path == "any":
        cmd += ["-i", "any"]
        capture_path = None
    if txq != DEFAULT_TXQ:
        cmd += ["--txqueuelen", str(txq)]
    env = common.env()
    env.pop("TAPWATCH_CAPTURE", None)
    if capture_path:
        env["TAPWATCH_CAPTURE"] = capture_path
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        wait_link_ready(dev)
        time.sleep(0.5)  # let the reader and pump threads start
        gen = send(loadgen, count, rate)
        st = wait_accounted(dev, int(gen["sent"]))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    total, ours = count_pcap(path)
    os.unlink(path)
    return {"gen": gen, "kept": ours, "pcap_total": total, **st, **_parse_summary(err)}


def emulate_terminal(app: object) -> None:
    """Make a headless app pay for turning each screen update into terminal output.

    Under ``run_test()`` Textual computes every update but skips the last step,
    rendering segments to escape sequences; do it here (and discard the text) so
    the UI costs what it costs in a real terminal.
    """
    from textual._compositor import CompositorUpdate

    original = app._display  # type: ignore[attr-defined]

    def display(screen: object, renderable: object) -> None:
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # type: ignore[attr-defined]
        original(screen, renderable)

    app._display = display  # type: ignore[attr-defined]


def _tui_trial(
    loadgen: str, count: int, rate: int, txq: int, dev: str, capture_path: str | None = None
) -> dict:
    """The session is built before the event loop starts, exactly as cli does."""
    from tapwatch import cli

    if capture_path:
        os.environ["TAPWATCH_CAPTURE"] = capture_path
    else:
        os.environ.pop("TAPWATCH_CAPTURE", None)

    argv = ["--create", dev, "--addr", common.SUBNET_ADDR]
    if txq != DEFAULT_TXQ:
        argv += ["--txqueuelen", str(txq)]
    session = cli.open_live_session(argv)
    reader = session.sources[0].reader
    try:
        session.start()
        gen, st, rows = asyncio.run(_drive_app(session, loadgen, count, rate, dev))
    finally:
        session.close()
    ours = sum(1 for r in session.ring if len(r.data) == PACKET_LEN and r.data[9] == 17)
    return {
        "gen": gen,
        "kept": ours,
        "ui_rows": rows,
        **st,
        "capture_path": getattr(reader, "path", None),
        "kernel_drops_meaning": getattr(reader, "kernel_drops_meaning", None),
        "summary_kernel_dropped": session.kernel_dropped(),
        "summary_captured": session.stats.total_packets,
        "summary_evicted": session.ring.evicted,
        "summary_missed": session.missed,
    }


async def _drive_app(
    session: object, loadgen: str, count: int, rate: int, dev: str
) -> tuple[dict, dict, int]:
    from tapwatch.app import TapwatchApp
    from tapwatch.widgets.packet_list import PacketList

    app = TapwatchApp(session)  # type: ignore[arg-type]
    emulate_terminal(app)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause(0.5)
        proc = await asyncio.create_subprocess_exec(
            loadgen,
            "send",
            common.SINK,
            str(common.SINK_PORT),
            str(count),
            str(rate),
            str(PAYLOAD),
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=_pin_sender,
        )
        out, _ = await proc.communicate()
        gen = json.loads(out)
        deadline = time.monotonic() + 20
        # pyroute2's synchronous API cannot run inside a running event loop: use a thread
        st = await asyncio.to_thread(link_stats, dev)
        while time.monotonic() < deadline:
            st = await asyncio.to_thread(link_stats, dev)
            if st["tx_packets"] + st["tx_dropped"] >= gen["sent"]:
                break
            await asyncio.sleep(0.05)
        await pilot.pause(0.3)
        rows = app.screen_stack[0].query_one(PacketList).rows
    return gen, st, rows


def child(argv: Sequence[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--loadgen", required=True)
    p.add_argument("--packets", type=int, default=200_000)
    p.add_argument("--rates", default="50000,100000,200000,0")
    p.add_argument("--readers", default=",".join(READERS))
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--repeat-unpaced", type=int, default=3)
    p.add_argument("--txq", type=int, default=DEFAULT_TXQ)
    p.add_argument("--tmp", required=True)
    p.add_argument(
        "--pin",
        action="store_true",
        help="generator on CPU 0, everything else "
        "(readers, tapwatch and its children) on the other CPUs",
    )
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    global SENDER_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if a.pin and len(cpus) >= 2:
        SENDER_CPUS = {cpus[0]}
        os.sched_setaffinity(0, set(cpus[1:]))  # inherited by every reader started from here
    results = []
    n = 0
    for rate in [int(r) for r in a.rates.split(",")]:
        reps = a.repeat_unpaced if rate == 0 else a.repeat
        for rep in range(reps):
            for kind in a.readers.split(","):
                n += 1
                dev = f"twb{n}"
                t0 = time.monotonic()
                try:
                    if kind in ("py-ref", "c-ref"):
                        r = _ref_trial(kind, a.loadgen, a.packets, rate, a.txq, dev)
                    elif kind.startswith("headless"):
                        r = _headless_trial(
                            a.loadgen,
                            a.packets,
                            rate,
                            a.txq,
                            dev,
                            a.tmp,
                            kind.partition("-")[2] or None,
                        )
                    elif kind.startswith("tui"):
                        r = _tui_trial(
                            a.loadgen, a.packets, rate, a.txq, dev, kind.partition("-")[2] or None
                        )
                    else:
                        raise ValueError(kind)
                except Exception as e:  # one broken trial should not sink the section
                    r = {"error": f"{type(e).__name__}: {e}"}
                r.update(
                    reader=kind,
                    rate=rate,
                    rep=rep,
                    packets=a.packets,
                    seconds=round(time.monotonic() - t0, 2),
                )
                print(json.dumps(r), file=sys.stderr, flush=True)
                results.append(r)
                time.sleep(0.2)
    common.dump(results, a.out)


# ----- the part run.py calls --------------------------------------------------------------------


def run(
    loadgen: str,
    *,
    packets: int,
    rates: Sequence[int],
    readers: Sequence[str],
    repeat: int,
    repeat_unpaced: int,
    txq: int = DEFAULT_TXQ,
    pin: bool = True,
) -> list[dict]:
    """All trials, in a private namespace made (and removed) here."""
    with common.tempdir() as tmp, common.private_netns() as ns:
        out = os.path.join(tmp, "capture.json")
        cmd = common.in_netns(
            ns,
            [
                common.PY,
                str(Path(__file__).resolve()),
                "--child",
                "--loadgen",
                loadgen,
                "--packets",
                str(packets),
                "--rates",
                ",".join(map(str, rates)),
                "--readers",
                ",".join(readers),
                "--repeat",
                str(repeat),
                "--repeat-unpaced",
                str(repeat_unpaced),
                "--txq",
                str(txq),
                "--tmp",
                tmp,
                "--out",
                out,
                *(["--pin"] if pin else []),
            ],
        )
        subprocess.run(cmd, check=True, env=common.env(), timeout=3600)
        return json.loads(Path(out).read_text())


def _rate_name(rate: int) -> str:
    return "unpaced" if rate == 0 else f"{rate // 1000}k pps"


def summarize(results: list[dict]) -> list[dict]:
    """One row per (rate, reader): medians over repeats, ratios against py-ref."""
    from statistics import median

    rows: list[dict] = []
    order = {k: i for i, k in enumerate(READERS + ALT_READERS)}
    keys = sorted(
        {(r["rate"] or 10**9, r["reader"]) for r in results},
        key=lambda k: (k[0], order.get(k[1], 99)),
    )
    by = {}
    for rate_key, reader in keys:
        rate = 0 if rate_key == 10**9 else rate_key
        trials = [
            r for r in results if r["rate"] == rate and r["reader"] == reader and "error" not in r
        ]
        errors = [
            r["error"]
            for r in results
            if r["rate"] == rate and r["reader"] == reader and "error" in r
        ]
        if not trials:
            rows.append({"rate": rate, "reader": reader, "error": "; ".join(errors)})
            continue
        sent = median([t["gen"]["sent"] for t in trials])
        row = {
            "rate": rate,
            "reader": reader,
            "trials": len(trials),
            "gen_pps": median([t["gen"]["pps"] for t in trials]),
            "sent": sent,
            "kept": median([t["kept"] for t in trials]),
            "kept_pct": median([100 * t["kept"] / t["gen"]["sent"] for t in trials]),
            "kept_pct_all": [round(100 * t["kept"] / t["gen"]["sent"], 2) for t in trials],
            "queue_dropped": median([t["tx_dropped"] for t in trials]),
            "reported_dropped": median(
                [t.get("summary_kernel_dropped", t["tx_dropped"]) or 0 for t in trials]
            ),
            "read": median([t["tx_packets"] for t in trials]),
            "unaccounted": median(
                [
                    max(
                        0,
                        t["gen"]["sent"]
                        - t["kept"]
                        - (t.get("summary_kernel_dropped", t["tx_dropped"]) or 0),
                    )
                    for t in trials
                ]
            ),
            "txqlen": trials[0]["txqlen"],
            "evicted": median([t.get("summary_evicted", 0) or 0 for t in trials]),
            "missed": median([t.get("summary_missed", 0) or 0 for t in trials]),
        }
        if "summary_kernel_dropped" in trials[0]:
            row["summary_kernel_dropped"] = median(
                [t.get("summary_kernel_dropped") or 0 for t in trials]
            )
        if errors:
            row["error"] = "; ".join(errors)
        by[(rate, reader)] = row
        rows.append(row)
    for row in rows:
        ref = by.get((row["rate"], "py-ref"))
        if ref and "kept" in row and ref["kept"]:
            row["vs_pyref"] = row["kept"] / ref["kept"]
    return rows


def markdown(rows: list[dict], packets: int) -> list[str]:
    out = [
        f"{packets:,} UDP datagrams ({PAYLOAD}-byte payload, {PACKET_LEN} bytes on the tun) per "
        "trial, sent by the C generator at the given rate; median over the repeats (each "
        "repeat's keep-rate in brackets). Columns:",
        "",
        "- *device queue drops*: the tun's `tx_dropped` - datagrams its queue (txqueuelen) had "
        "no room for because the device was not read fast enough. For the reference readers "
        "and tapwatch's process/thread paths that is exactly what they lost; tapwatch's default "
        "(tpacket) path captures from the kernel's packet ring *before* that queue, so for it "
        "these are not capture losses (its drainer only keeps the device looking consumed).",
        '- *reported drops*: what tapwatch\'s exit summary / status calls "dropped by kernel" '
        "(tpacket path: the packet ring's own drop counter; other paths: the device queue's).",
        "- *unaccounted*: sent - kept - reported drops (losses nobody reported: should be 0).",
        "",
        "| rate | reader | generator achieved | kept | kept % | vs py-ref | device queue drops | "
        "reported drops | unaccounted |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    txq = set()
    for r in rows:
        if "kept" not in r:
            out.append(
                f"| {_rate_name(r['rate'])} | {r['reader']} | error: "
                f"{r.get('error', '')[:150]} | | | | | | |"
            )
            continue
        txq.add(r["txqlen"])
        vs = f"{r['vs_pyref']:.2f}x" if "vs_pyref" in r else "-"
        spread = ", ".join(f"{x:.1f}" for x in r["kept_pct_all"]) if r["trials"] > 1 else ""
        out.append(
            f"| {_rate_name(r['rate'])} | {r['reader']} | {r['gen_pps']:,.0f} pps | "
            f"{r['kept']:,.0f} / {r['sent']:,.0f} | {r['kept_pct']:.2f}"
            f"{f' [{spread}]' if spread else ''} | {vs} | {r['queue_dropped']:,.0f} | "
            f"{r['reported_dropped']:,.0f} | {r['unaccounted']:,.0f} |"
        )
    out += [
        "",
        f"Device txqueuelen in every trial: {', '.join(map(str, sorted(txq)))} "
        "(what tapwatch gives a device it creates).",
    ]
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        with contextlib.suppress(KeyboardInterrupt):
            child(sys.argv[2:])
    else:
        print("run bench/run.py --only capture", file=sys.stderr)
        sys.exit(2)
