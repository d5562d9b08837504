"""What the UI draws holds no raw escape, whatever the names around it hold.

tapwatch runs as root in whatever directory it was started in, and that
directory's name is someone's choice: ``d\\e]0;X\\ax`` retitled the terminal
through the write dialog's default path and the "wrote N packets to PATH"
toast. Here the screen updates are turned into the bytes a terminal would get
(what Textual's driver writes), and no OSC, BEL, lone ESC sequence of ours or
bidi override may be among them: paths, notifications, toasts, pasted text.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")

from textual import events
from textual._compositor import CompositorUpdate
from waiting import until

from tapwatch.app import TapwatchApp
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo
from tapwatch.widgets.dialogs.export import ExportScreen
from tapwatch.widgets.filter_bar import FilterInput

PKT = bytes.fromhex("4500001c00010000400100000a0000010a000002") + bytes(8)
EVIL_DIR = "d\x1b]0;X\x07x"
PASTED = "icmp\x1b]52;c;aGk=\x07\u202e"


def terminal_bytes(app: TapwatchApp) -> list[str]:
    """Collect what each screen update would write to the terminal."""
    out: list[str] = []
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if isinstance(renderable, CompositorUpdate):
            out.append(renderable.render_segments(app.console))
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    return out


def raw_escapes(text: str) -> list[str]:
    """Escapes the UI's content must never produce: OSC, BEL, bidi overrides, C1 controls.

    Textual's own drawing uses CSI sequences (ESC [) only.
    """
    found = []
    for i, ch in enumerate(text):
        if ch == "\x1b" and text[i + 1 : i + 2] != "[":
            found.append(repr(text[i : i + 12]))
        elif ch == "\x07" or "\u202a" <= ch <= "\u202e" or "\x80" <= ch <= "\x9f":
            found.append(repr(text[max(0, i - 8) : i + 4]))
    return found


def test_a_hostile_working_directory_never_reaches_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = tmp_path / EVIL_DIR
    evil.mkdir()
    monkeypatch.chdir(evil)
    records = [(1_700_000_000_000_000_000 + i, Direction.OUTBOUND, PKT) for i in range(4)]
    session = Session.from_records(LINKTYPE_RAW, records, info=InterfaceInfo("tun\x1b[2J1", "tun"))

    async def play() -> tuple[list[str], list[str], list[str]]:
        app = TapwatchApp(session)
        async with app.run_test(size=(160, 40)) as pilot:
            out = terminal_bytes(app)
            await pilot.pause()
            # the write dialog's default path, then the toast that says where it wrote
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, ExportScreen)
            default = app.screen.query_one("#export-path").value  # type: ignore[attr-defined]
            await pilot.pause()
            await pilot.press("enter")
            await until(
                pilot, lambda: any("wrote 4 packets" in n.message for n in app._notifications)
            )
            seen = [n.message for n in app._notifications]
            # an error that names the path, and text pasted into the dialog and the filter bar
            await pilot.press("w")
            await pilot.pause()
            field = app.screen.query_one("#export-path")
            field.value = "missing/x.pcap"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
            seen += [n.message for n in app._notifications] + [n.title for n in app._notifications]
            await pilot.press("w")
            await pilot.pause()
            field = app.screen.query_one("#export-path")
            field.value = ""  # type: ignore[attr-defined]
            field.post_message(events.Paste(PASTED))
            await pilot.pause()
            pasted = field.value  # type: ignore[attr-defined]
            await pilot.press("escape")
            await pilot.press("slash")
            await pilot.pause()
            app.focused.post_message(events.Paste(PASTED))  # type: ignore[union-attr]
            await pilot.pause(0.3)
            return (
                out,
                [default, pasted, app.screen_stack[0].query_one(FilterInput).value, *seen],
                [],
            )

    out, texts, _ = asyncio.run(play())
    written = list(evil.iterdir())
    assert len(written) == 1 and written[0].name.endswith(".pcapng")  # the same directory
    assert raw_escapes("".join(out)) == []
    for text in texts:
        assert raw_escapes(text) == [], text
    assert any("wrote 4 packets to" in t for t in texts)
    assert any("^[]0;X^Gx" in t for t in texts), texts  # the path, spelled out
    assert "icmp^[]52;c;aGk=^G\\u202e" in texts  # pasted text, spelled out in the field


def test_an_interface_name_is_never_markup_in_the_craft_dialog() -> None:
    """A border title given as a str is markup: an interface called ``[b]x[/b]`` or
    ``[@click=app.quit]`` (both valid names) lost its brackets or became a link."""
    from tapwatch.widgets.dialogs.craft import CraftScreen

    for name in ("[b]x[/b]", "[@click=app.quit]"):
        session = Session.from_records(
            LINKTYPE_RAW, [(1, Direction.OUTBOUND, PKT)], info=InterfaceInfo(name, "tun")
        )

        async def play(session: Session) -> str:
            app = TapwatchApp(session)
            async with app.run_test(size=(120, 36)) as pilot:
                screen = CraftScreen(session)
                await app.push_screen(screen)
                await pilot.pause()
                box = screen.query_one(".dialog")
                title = box._border_title
                assert title is not None
                assert not [s for s in title.spans if "@click" in str(s.style)]
                return title.plain

        assert asyncio.run(play(session)) == f"Craft a packet to write into {name}"
