"""Shared helpers for the benchmark: the machine, namespaces, the load generator, timing.

Safety: everything that creates a device or sends a packet goes through
:func:`private_netns`, which makes a namespace of its own (``tw-bench-<random>``)
and deletes it in a ``finally``; the sender only ever addresses the tun's own
subnet (10.77.0.0/24) inside that namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable

SUBNET_ADDR = "10.77.0.1/24"  # the tun's own address in the private namespace
SINK = "10.77.0.2"  # routed into the tun by the connected route; nobody answers
SINK_PORT = 9  # discard


def tapwatch_cmd(*args: str) -> list[str]:
    """How the benchmark launches tapwatch (the module, from this checkout)."""
    return [PY, "-m", "tapwatch", *args]


def env() -> dict[str, str]:
    """Environment for child processes: this checkout first on the import path."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


# ----- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """CPU, cores, RAM, kernel, Python and package versions, for the results header."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    virt = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        virt = subprocess.run(
            ["systemd-detect-virt"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    if "hypervisor" in _read("/proc/cpuinfo").split("flags", 1)[-1].split("\n", 1)[0]:
        virt = f"{virt} in a VM (hypervisor CPU flag)" if virt and virt != "none" else "VM"
    elif not virt:
        virt = "none detected"
    info = {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": mem,
        "virtualisation": virt,
        "kernel": platform.release(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    from importlib import metadata

    pkgs = []
    for name in ("tapwatch", "textual", "rich", "scapy", "pyroute2"):
        try:
            pkgs.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pkgs.append(f"{name} (not installed)")
    info["packages"] = ", ".join(pkgs)
    tools = []
    for cmd, flag in (("tcpdump", "--version"), ("tshark", "--version"), ("gcc", "--version")):
        path = shutil.which(cmd)
        if not path:
            tools.append(f"{cmd} (missing)")
            continue
        try:
            out = subprocess.run([path, flag], capture_output=True, text=True, timeout=10)
            first = (out.stdout or out.stderr).splitlines()[0]
            m = re.search(r"\d+\.\d+(\.\d+)?", first)
            tools.append(f"{cmd} {m.group(0) if m else first}")
        except (OSError, subprocess.SubprocessError, IndexError):
            tools.append(f"{cmd} (unknown version)")
    info["tools"] = ", ".join(tools)
    return info


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ----- namespaces -----------------------------------------------------------------------------


@contextlib.contextmanager
def private_netns() -> Iterator[str]:
    """A fresh named network namespace, deleted afterwards whatever happens.

    IPv6 is switched off inside it so the only packets reaching the tun are the
    benchmark's own datagrams (no router solicitations or MLD reports).
    """
    name = f"tw-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for cmd in (
            ["ip", "link", "set", "lo", "up"],
            ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"],
            ["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
        ):
            subprocess.run(["ip", "netns", "exec", name, *cmd], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def in_netns(ns: str, args: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *args]


# ----- the load generator -----------------------------------------------------------------------


def build_loadgen(tmpdir: str) -> str:
    """Compile bench/loadgen.c into ``tmpdir``; returns the binary's path."""
    out = os.path.join(tmpdir, "loadgen")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", out, str(BENCH / "loadgen.c")], check=True)
    return out


@contextlib.contextmanager
def tempdir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="tw-bench-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ----- timing -----------------------------------------------------------------------------------


def wall(
    cmd: Sequence[str],
    *,
    stdout: int | None = subprocess.DEVNULL,
    timeout: float = 600,
    **kw: object,
) -> float:
    """Wall time of one run of ``cmd``; raises if it fails."""
    t = time.perf_counter()
    res = subprocess.run(
        cmd, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, env=env(), **kw
    )  # type: ignore[call-overload]
    dt = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({res.returncode}): "
            f"{res.stderr.decode(errors='replace').strip()[-300:]}"
        )
    return dt


def best_of(n: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(n))


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def dump(obj: object, path: str) -> None:
    Path(path).write_text(json.dumps(obj, indent=1))
