"""Section 5: start-up - ``--help``, and launch to the first packet line.

* ``tapwatch --help`` (the installed console script, and ``python -m tapwatch``)
  against ``python -c pass``, best of N.
* Offline: launch of ``tapwatch -r FILE --headless`` to its first line on
  stdout, for a one-packet file and a 200k-packet file; ``tcpdump -nn -r`` as
  the reference.
* Live: launch of ``tapwatch --create tun --addr 10.77.0.1/24 --headless`` to
  its first packet line while a sender in the same private namespace sends a
  datagram into the subnet every millisecond (the first can only arrive once
  the device exists and has its address, so this is set-up plus first read).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def first_line(cmd: list[str], timeout: float = 30) -> float:
    """Seconds from launch to the first complete line on the command's stdout."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=common.env())
    try:
        assert p.stdout is not None
        fd = p.stdout.fileno()
        buf = b""
        deadline = t0 + timeout
        while b"\n" not in buf:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"no output from {' '.join(cmd)}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"{' '.join(cmd)} ended without output")
                buf += chunk
        return time.perf_counter() - t0
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def console_script() -> str | None:
    path = os.path.join(os.path.dirname(common.PY), "tapwatch")
    return path if os.access(path, os.X_OK) else shutil.which("tapwatch")


def run(*, repeat: int, loadgen: str | None) -> dict:
    from bench.offline_bench import make_pcap

    res: dict = {"repeat": repeat}
    res["python_pass"] = common.best_of(repeat, lambda: common.wall([common.PY, "-c", "pass"]))
    res["help_module"] = common.best_of(repeat, lambda: common.wall(common.tapwatch_cmd("--help")))
    script = console_script()
    if script:
        res["help_script"] = common.best_of(repeat, lambda: common.wall([script, "--help"]))
        res["script"] = script
    with common.tempdir() as tmp:
        one = os.path.join(tmp, "one.pcap")
        many = os.path.join(tmp, "many.pcap")
        make_pcap(one, 1, False)
        make_pcap(many, 200_000, False)
        for name, path in (("one", one), ("many", many)):
            res[f"first_{name}"] = common.best_of(
                repeat, lambda p=path: first_line(common.tapwatch_cmd("-r", p, "--headless"))
            )
            if shutil.which("tcpdump"):
                res[f"first_{name}_tcpdump"] = common.best_of(
                    repeat, lambda p=path: first_line(["tcpdump", "-nn", "-r", p])
                )
    if loadgen:
        with common.private_netns() as ns:
            times = []
            for i in range(repeat):
                sender = subprocess.Popen(
                    common.in_netns(
                        ns,
                        [
                            loadgen,
                            "send",
                            common.SINK,
                            str(common.SINK_PORT),
                            "60000",
                            "1000",
                            "64",
                        ],
                    ),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    times.append(
                        first_line(
                            common.in_netns(
                                ns,
                                common.tapwatch_cmd(
                                    "--create",
                                    f"tws{i}",
                                    "--addr",
                                    common.SUBNET_ADDR,
                                    "--headless",
                                ),
                            )
                        )
                    )
                finally:
                    sender.kill()
                    sender.wait()
                time.sleep(0.2)
            res["first_live"] = min(times)
            # what `ip netns exec` itself adds to every launch, measured to subtract it
            res["netns_exec"] = common.best_of(
                repeat, lambda: common.wall(common.in_netns(ns, [common.PY, "-c", "pass"]))
            )
    return res


def markdown(res: dict) -> list[str]:
    ref = res["python_pass"]
    rows = [
        ("`python -c pass` (reference)", ref),
        ("`tapwatch --help` (console script)", res.get("help_script")),
        ("`python -m tapwatch --help`", res["help_module"]),
        ("`tapwatch -r` 1-packet file -> first line", res.get("first_one")),
        ("reference: `tcpdump -nn -r` same file -> first line", res.get("first_one_tcpdump")),
        ("`tapwatch -r` 200k-packet file -> first line", res.get("first_many")),
        ("reference: `tcpdump -nn -r` same file -> first line", res.get("first_many_tcpdump")),
        (
            "`tapwatch --create` in a netns, sender at 1k pps -> first packet line "
            "(incl. `ip netns exec`)",
            res.get("first_live"),
        ),
        ("reference: `ip netns exec NS python -c pass`", res.get("netns_exec")),
    ]
    out = [
        f"Best of {res['repeat']} wall times.",
        "",
        "| what | time | vs `python -c pass` |",
        "|---|---:|---:|",
    ]
    for name, t in rows:
        if t is not None:
            out.append(f"| {name} | {t * 1e3:.0f} ms | {t / ref:.2f}x |")
    return out
