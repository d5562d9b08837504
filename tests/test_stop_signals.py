"""How a live capture takes stop signals: the first winds it down (the capture file
completed, the summary said); a user's second one quits at once; the same stop delivered
twice is one stop. No device and no signal sent here: the handler is called as the
interpreter would call it."""

from __future__ import annotations

import signal
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from tapwatch.cli import live


class _Session:
    """What the signal handler touches of a session."""

    def __init__(self) -> None:
        self.stop_requested = threading.Event()
        self.reasons: list[str] = []

    def sink(self, _kind: Any) -> None:
        return None

    def request_stop(self, reason: str) -> None:
        self.reasons.append(reason)
        self.stop_requested.set()


def _run(monkeypatch: pytest.MonkeyPatch) -> tuple[live.LiveRun, _Session, list[int], list[float]]:
    quits: list[int] = []
    clock = [100.0]
    monkeypatch.setattr(live, "quit_now", quits.append)
    # live's clock only (raising=False: a module without one ignores it)
    monkeypatch.setattr(live, "time", SimpleNamespace(monotonic=lambda: clock[0]), raising=False)
    session = _Session()
    run = live.LiveRun(session, SimpleNamespace(wants_ui=False))  # type: ignore[arg-type]
    return run, session, quits, clock


def test_the_same_stop_sent_to_the_process_and_its_group_is_one_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``timeout -s INT 26 tapwatch -i any -w cap.pcapng`` (and ``kill -- -PGID``, service
    managers) signal tapwatch and then its process group: the twin was taken for a second
    Ctrl-C, so tapwatch left at once ("the last half second of a capture file may be missing",
    no summary; 1 run in 3 with a flood going)."""
    run, session, quits, _clock = _run(monkeypatch)
    run._on_signal(signal.SIGINT, None)
    run._on_signal(signal.SIGINT, None)  # the group's copy, microseconds later
    assert session.reasons == ["SIGINT"] and quits == []


def test_a_second_ctrl_c_while_winding_down_still_quits_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run, _session, quits, clock = _run(monkeypatch)
    run._on_signal(signal.SIGINT, None)
    clock[0] += live.SAME_STOP_S + 0.5  # a person pressing again
    run._on_signal(signal.SIGINT, None)
    assert quits == [signal.SIGINT]


def test_a_signal_while_winding_down_for_another_reason_quits_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run, session, quits, _clock = _run(monkeypatch)
    session.request_stop("stopped")  # -c reached, or the UI closed
    run._on_signal(signal.SIGTERM, None)
    assert quits == [signal.SIGTERM]
