"""Shared fixtures: a private network namespace per device test."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from netns import Netns, netns

# The tests press Ctrl-C (SIGINT) on the tapwatch they start, as a terminal does. A shell
# script's background job starts with SIGINT ignored, and every program started from it
# would inherit that (Python then never raises KeyboardInterrupt): undo it here, once.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def ns() -> Iterator[Netns]:
    """A fresh network namespace, deleted after the test whatever happens."""
    with netns() as n:
        yield n


@pytest.fixture(autouse=True, scope="session")
def _scapy_never_touches_the_network() -> Iterator[None]:
    """No test may make scapy send anything (an Ether() without dst would ARP the gateway).

    Tests build packets with scapy but send them only through tapwatch, ping or sockets
    inside their own namespace; scapy's sockets are replaced by one that refuses.
    """
    from scapy.config import conf

    class _Refused:
        def __init__(self, *a: object, **kw: object) -> None:
            raise RuntimeError("tests must not send packets through scapy")

    saved = (conf.L2socket, conf.L3socket, conf.L2listen)
    conf.L2socket = conf.L3socket = conf.L2listen = _Refused  # type: ignore[assignment]
    try:
        yield
    finally:
        conf.L2socket, conf.L3socket, conf.L2listen = saved
