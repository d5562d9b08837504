"""No thread dies in silence: each failure is caught, said in the UI and counted in the exit.

The case that started it: a pcapng whose interface has if_tsresol 0 (seconds)
and a packet stamped 2^64-1, or an if_tsoffset of -2^62, overflowed the
ring's timestamp column in the UI's loader thread: 2 of 4 packets shown,
"loading 100%" for ever, a traceback after exit and exit status 0. Such
timestamps are now clamped and flagged on the packet; and any thread that
still fails (a bug) is reported the same way wherever it runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pcapng_build import ng_end, ng_epb, ng_idb, ng_opt, ng_shb

from tapwatch import threads
from tapwatch.filesource import open_file
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.pcap import read_capture
from tapwatch.pcap.formats import TS_MAX, TS_MIN
from tapwatch.ring import Ring
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo

pytest.importorskip("textual")

from waiting import until, wait_for

from tapwatch.app import TapwatchApp
from tapwatch.widgets.detail import DetailTree
from tapwatch.widgets.main_screen import MainScreen
from tapwatch.widgets.status import StatusBar

PKT = bytes.fromhex("4500001c00010000400100000a0000010a000002") + bytes(8)
ROOT = str(Path(__file__).resolve().parents[1])


def hostile(path: Path, kind: str) -> Path:
    """Four packets; the third one's time is beyond any 64-bit nanosecond clock."""
    if kind == "tsresol":  # if_tsresol 0: ticks are seconds; the third packet is 2^64-1 s
        idb = ng_idb(LINKTYPE_RAW, 0, ng_opt(9, b"\x00") + ng_end())
        times = [1, 2, 2**64 - 1, 3]
    else:  # if_tsoffset -2^62 seconds, on microsecond ticks
        idb = ng_idb(LINKTYPE_RAW, 0, ng_opt(14, struct.pack("<q", -(2**62))) + ng_end())
        times = [1, 2, 3, 4]
    blocks = [ng_shb(), idb] + [ng_epb(0, t, PKT) for t in times]
    path.write_bytes(b"".join(blocks))
    return path


@pytest.fixture(autouse=True)
def _fresh_failures() -> None:
    threads.reset()


def main_screen(app: TapwatchApp) -> MainScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


def tree(app: TapwatchApp) -> DetailTree:
    return main_screen(app).query_one(DetailTree)


def status(app: TapwatchApp) -> str:
    return main_screen(app).query_one(StatusBar).text


def run_ui(
    session: Session, play: Callable[[TapwatchApp, Any], Any], size: tuple[int, int]
) -> None:
    async def main() -> None:
        app = TapwatchApp(session)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await play(app, pilot)

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["tsresol", "tsoffset"])
def test_out_of_range_timestamps_load_whole_and_are_flagged(tmp_path: Path, kind: str) -> None:
    path = hostile(tmp_path / f"{kind}.pcapng", kind)
    recs = list(read_capture(str(path)))
    assert len(recs) == 4
    assert all(TS_MIN <= r.ts_ns <= TS_MAX for r in recs)
    flagged = [r for r in recs if r.comment and "clamped" in r.comment]
    assert len(flagged) == (1 if kind == "tsresol" else 4)

    ring, wake = Ring(), threading.Event()
    src = open_file(str(path), ring, wake)
    session = Session([src], ring=ring, wake=wake)
    session.start()

    async def play(app: TapwatchApp, pilot: Any) -> None:
        await until(pilot, lambda: src.done.is_set() and len(ring) == 4)
        main_screen(app).tick()
        await pilot.pause()
        assert "loading" not in status(app)
        main_screen(app).go_to(3)
        await until(pilot, lambda: tree(app).seq == 3 and not main_screen(app).detail_pending)
        await pilot.pause()
        frame = tree(app).root.children[0]
        labels = [str(n.label) for n in frame.children]
        assert any(lab.startswith("Comment: tapwatch: the file's timestamp") for lab in labels)
        assert any("clamped" in lab for lab in labels), labels

    try:
        run_ui(session, play, (140, 40))
    finally:
        session.close()
    assert src.error is None and src.loaded == 4
    assert threads.failures() == []


def test_a_loader_that_fails_says_so_in_the_status_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in loading stops it with a message, not with "loading 100%" for ever."""
    path = hostile(tmp_path / "f.pcapng", "tsoffset")
    ring, wake = Ring(), threading.Event()
    calls = []
    real = ring.extend

    def extend(*args: Any, **kw: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise OverflowError("signed integer is greater than maximum")
        real(*args, **kw)

    monkeypatch.setattr(ring, "extend", extend)
    monkeypatch.setattr("tapwatch.filesource._FileLoader.FIRST_BATCH", 2)
    src = open_file(str(path), ring, wake)
    session = Session([src], ring=ring, wake=wake)
    session.start()

    async def play(app: TapwatchApp, pilot: Any) -> None:
        await until(pilot, src.done.is_set)
        main_screen(app).tick()
        await pilot.pause()
        shown = status(app)
        assert "loading stopped" in shown and "internal error" in shown, shown
        assert "loading 100%" not in shown

    try:
        run_ui(session, play, (200, 40))
    finally:
        session.close()
    assert src.error is not None
    assert "loading stopped after 2 packets: internal error (OverflowError" in src.error
    assert len(ring) == 2


def test_a_worker_that_fails_is_said_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The UI's workers (here the one writing a file) end in an error notification."""

    def broken(*_a: Any, **_kw: Any) -> int:
        raise RuntimeError("the writer broke")

    monkeypatch.setattr("tapwatch.pcap.export", broken)
    records = [(1_700_000_000_000_000_000 + i, Direction.OUTBOUND, PKT) for i in range(3)]
    session = Session.from_records(LINKTYPE_RAW, records, info=InterfaceInfo("tun1", "tun"))

    async def play(app: TapwatchApp, pilot: Any) -> None:
        await pilot.press("w")
        await pilot.pause()
        app.screen.query_one("#export-path").value = "/nonexistent-dir/x.pcap"
        await pilot.press("enter")
        await until(pilot, lambda: any(n.title == "internal error" for n in app._notifications))
        note = next(n for n in app._notifications if n.title == "internal error")
        assert note.severity == "error"
        assert note.message == (
            "internal error in the export worker: RuntimeError: the writer broke (please report it)"
        )

    run_ui(session, play, (140, 40))
    assert [str(f) for f in threads.failures()] == [
        "internal error in the export worker: RuntimeError: the writer broke (please report it)"
    ]


def test_a_worker_of_the_app_itself_is_said_too() -> None:
    """Workers started on the app (not on a screen) report as the screens' do."""
    session = Session.from_records(LINKTYPE_RAW, [], info=InterfaceInfo("tun1", "tun"))

    def broken() -> None:
        raise RuntimeError("an app worker broke")

    async def play(app: TapwatchApp, pilot: Any) -> None:
        app.run_worker(broken, thread=True, exit_on_error=False, group="cleanup")
        await until(pilot, lambda: any(n.title == "internal error" for n in app._notifications))

    run_ui(session, play, (100, 30))
    assert [str(f) for f in threads.failures()] == [
        "internal error in the cleanup worker: RuntimeError: an app worker broke (please report it)"
    ]


def test_the_pump_goes_on_after_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug on one batch is reported once; later packets are still counted and written."""
    ring, wake = Ring(), threading.Event()
    from tapwatch.sources import RecordSource

    src = RecordSource(InterfaceInfo("tun1", "tun"))
    session = Session([src], ring=ring, wake=wake)
    real = session.stats.add
    broken = {"on": True}

    def add(*args: Any) -> None:
        if broken["on"]:
            broken["on"] = False
            raise ValueError("a decoder bug")
        real(*args)

    monkeypatch.setattr(session.stats, "add", add)
    session.start()
    try:
        session.feed(1, Direction.OUTBOUND, PKT)
        assert wait_for(threads.failures)
        for i in range(5):
            session.feed(2 + i, Direction.OUTBOUND, PKT)
        assert wait_for(lambda: session.matched >= 6)
    finally:
        session.close()
    assert session.matched == 6 and session.pump_failures == 1
    assert [str(f) for f in threads.failures()] == [
        "internal error in the packet pump: ValueError: a decoder bug (please report it)"
    ]


def test_a_reader_that_fails_is_a_capture_failure() -> None:
    from tapwatch.capture.base import CaptureReader

    class Broken(CaptureReader):
        def _capture(self) -> None:
            raise KeyError("a reader bug")

    reader = Broken(Ring())
    reader.start()
    reader.join(10)
    assert reader.error == "capture stopped: internal error (KeyError: 'a reader bug')"


def test_a_replay_that_fails_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tapwatch import replay

    path = hostile(tmp_path / "r.pcapng", "tsresol")
    session = Session.from_records(LINKTYPE_RAW, [], info=InterfaceInfo("tun1", "tun"))

    def broken(*_a: Any, **_kw: Any) -> None:
        raise ZeroDivisionError("a replay bug")

    monkeypatch.setattr(replay, "replay", broken)
    r = replay.Replayer(session, str(path), 1.0)
    r.start()
    r.join(10)
    assert r.error == f"{path}: stopped: internal error (ZeroDivisionError: a replay bug)"


def test_any_other_thread_is_caught_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """Threads with no handler of their own (the tunnel, the demo) report through the hook."""
    threads.install()

    def boom() -> None:
        raise OSError(5, "Input/output error")

    t = threading.Thread(target=boom, name="tapwatch-tunnel")
    t.start()
    t.join()
    assert [str(f) for f in threads.failures()] == [
        "internal error in the tunnel: OSError: [Errno 5] Input/output error (please report it)"
    ]
    assert "Traceback" not in capsys.readouterr().err


# ----- the real program in a real terminal -------------------------------------------------

INJECT = """
import sys
from tapwatch import cli, session

real = session.Session._process
def _process(self, records):
    real(self, [r for r in records if r.seq != 3])
    if any(r.seq == 3 for r in records):
        raise RuntimeError("a bug on packet 3")
session.Session._process = _process
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_in_a_terminal_the_file_loads_and_a_failure_sets_the_exit_status(tmp_path: Path) -> None:
    """`tapwatch -r hostile.pcapng`: 4 of 4 packets, not "loading", exit 0, no traceback;
    with a pump that fails (injected), the UI says so and the exit status is 1."""
    socket = f"tw-threads-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=20, env=env,
        ).stdout  # fmt: skip

    def shows(name: str, text: str) -> bool:
        return wait_for(lambda: text in tmux("capture-pane", "-p", "-t", name), every=0.2)

    path = hostile(tmp_path / "h.pcapng", "tsresol")
    inject = tmp_path / "inject.py"
    inject.write_text(INJECT)
    try:
        for name, cmd, status in (
            ("plain", f"{sys.executable} -m tapwatch -r {path}", "EXITED 0"),
            ("broken", f"{sys.executable} {inject} -r {path}", "EXITED 1"),
        ):
            tmux(
                "new-session", "-d", "-x", "200", "-y", "40", "-s", name,
                f"cd {ROOT}; {cmd}; echo EXITED $?; sleep 30",
            )  # fmt: skip
            if name == "plain":
                assert shows(name, "packets 4"), tmux("capture-pane", "-p", "-t", name)
            else:
                assert shows(name, "internal error"), tmux("capture-pane", "-p", "-t", name)
            assert "loading" not in tmux("capture-pane", "-p", "-t", name)
            tmux("send-keys", "-t", name, "q")
            assert shows(name, status), tmux("capture-pane", "-p", "-t", name)
            after = tmux("capture-pane", "-p", "-J", "-t", name)
            assert "Traceback" not in after
            if name == "broken":
                assert (
                    "tapwatch: internal error in the packet pump: RuntimeError: a bug on packet 3"
                    in after
                )
    finally:
        tmux("kill-server")
