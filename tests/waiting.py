"""Waiting for a condition, never for a fixed time: the tests' one way to synchronise.

A busy machine makes everything slower, so the bounds are generous; they only decide
how long a test that is going to fail takes to say so.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: How long a condition may take to come true on a loaded 2-core machine.
TIMEOUT = 30.0


def wait_for(cond: Callable[[], object], timeout: float = TIMEOUT, every: float = 0.01) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` passes; its last answer, as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return bool(cond())


async def until(
    pilot: Any, cond: Callable[[], object], what: str = "the condition", timeout: float = TIMEOUT
) -> None:
    """Let a Textual app run until ``cond()`` is true; fail naming ``what`` if it never is."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(0.02)


def device_counter(ns: Any, dev: str, name: str) -> int:
    """A device's counter in namespace ``ns`` (``rx_packets``: what the host received from it)."""
    return int(ns.run(["cat", f"/sys/class/net/{dev}/statistics/{name}"]).stdout.strip() or 0)


def text_of(path: Path) -> str:
    """What a file holds so far ("" before it exists): output a test waits on."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def records_on_disk(path: Path, keep: Callable[[bytes], object] = bool) -> int:
    """Whole records (those ``keep`` accepts) a capture file being written holds so far.

    0 before the file or its header exists: what a writer has flushed, to wait on.
    """
    from tapwatch.pcap import PcapError, read_capture

    try:
        with read_capture(str(path)) as cap:
            return sum(1 for r in cap if keep(r.data))
    except (OSError, PcapError):
        return 0


def wait_addr(ns: Any, dev: str, addr: str, timeout: float = TIMEOUT) -> None:
    """Wait until ``dev`` in namespace ``ns`` has ``addr`` and is up (tapwatch configured it).

    The address is added before the link is set up, so the address alone does not mean
    a packet sent now goes out of ``dev``: a ping in between fails "network unreachable".
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = ns.run(["ip", "-o", "addr", "show", "dev", dev]).stdout
        link = ns.run(["ip", "-o", "link", "show", "dev", dev]).stdout
        flags = link.split("<", 1)[-1].split(">", 1)[0].split(",") if "<" in link else []
        if addr in out and "UP" in flags:
            return
        time.sleep(0.05)
    raise AssertionError(f"{dev} never got {addr}")


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[str, str]:
    """Signal ``proc`` (Ctrl-C by default) and collect what it printed on its way out."""
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return out, err
