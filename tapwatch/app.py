"""The terminal UI: termshark's three linked panes, live, plus counters, the peer and the tools.

The app holds the theme, the command palette and the signals; the main
screen (``widgets.main_screen``, assembled from one class per tool in
``widgets.screen``) holds the panes, the refresh timer and the tools; each
dialog and analysis tool is a screen of its own (``widgets.dialogs``,
``widgets.follow``, ``widgets.conversations``). Styles live in
``widgets/*.tcss`` and use theme variables only.

Everything time-dependent goes through ``now_ns``: wall time for a live
capture, the newest packet's timestamp otherwise, so offline views and
tests render identically every time.

Signals: SIGTERM and SIGHUP end the UI like ``q`` does, at any moment
(also while a large file loads), so the command line flushes the pcap,
removes a created device and prints the summary. After a hangup nothing is
written to the terminal any more (it is gone); see :func:`run_ui`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen

from tapwatch.sanitize import printable, printable_lines
from tapwatch.widgets.failures import ReportsWorkerFailures, say_failures
from tapwatch.widgets.main_screen import MainScreen
from tapwatch.widgets.palette import ToolCommands
from tapwatch.widgets.theme import TAPWATCH_THEME, VARIABLES

if TYPE_CHECKING:
    from tapwatch.session import Session

REFRESH_HZ = 20
#: keys that leave a tool screen and do nothing on the main screen: one typed right after the
#: key that opens a tool, and read before that key was acted on, means the tool is not wanted
LEAVE_KEYS = frozenset({"escape"})
#: keys from the terminal remembered while they travel through the screens (a key a widget
#: keeps never comes back; the oldest are forgotten)
KEYS_IN_FLIGHT = 256


class TapwatchApp(ReportsWorkerFailures, App[int]):
    """One session, shown live. ``run_test()`` works with any Session, including fed ones."""

    TITLE = "tapwatch"
    CSS_PATH = ["widgets/main.tcss", "widgets/dialogs.tcss", "widgets/tools.tcss"]  # noqa: RUF012
    COMMANDS = {ToolCommands}  # noqa: RUF012 (the tools answer to the words users type)

    def __init__(
        self,
        session: Session,
        *,
        title: str | None = None,
        clock: Callable[[], int] | None = None,
        refresh_hz: float = REFRESH_HZ,
        handle_signals: bool = False,
        display_filter: str = "",
    ) -> None:
        self.session = session
        self.display_filter = display_filter
        self._clock = clock
        self.refresh_hz = refresh_hz
        self.handle_signals = handle_signals
        self.signalled: str | None = None  # the signal that ended the UI, if one did
        self.hung_up = False
        self._keys_read = 0  # keys from the terminal, counted
        self._in_flight: dict[int, int] = {}  # a key event's id: its count
        self._left_at = 0  # the count of the last leave key read
        self._key_in_hand: int | None = None  # the count of the key whose bindings run
        super().__init__()
        self.register_theme(TAPWATCH_THEME)
        self.theme = TAPWATCH_THEME.name
        self.title = printable(title or f"tapwatch {session.info.name}")

    def get_default_screen(self) -> Screen[Any]:
        # made here, while the app is the active one (not in __init__: a screen built
        # before its app runs would belong to whichever app was active then)
        return MainScreen(
            self.session,
            refresh_hz=self.refresh_hz,
            clock=self._clock,
            display_filter=self.display_filter,
        )

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLES)

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver is LinuxDriver:
            from tapwatch.widgets.driver import TapwatchDriver

            return TapwatchDriver
        return driver

    def on_mount(self) -> None:
        if self.signalled is not None:  # a signal came before the UI was up
            self.exit(0)
        # a thread that failed (loader, pump, tunnel, a worker) is said as it happens
        self.set_interval(0.5, partial(say_failures, self), name="tapwatch-failures")

    async def on_event(self, event: events.Event) -> None:
        """Count the keys as the terminal sends them, and know which one the bindings act on.

        A key goes from the app to the focused widget and back up before its binding runs; an
        Esc typed right after ``f`` is read meanwhile, while the main screen is still on top,
        and reached it instead of the Follow screen that ``f`` then opened (4 of 44 scripted
        runs, more while a file loads). :meth:`left_since_key` lets a tool see that and not
        open."""
        if not isinstance(event, events.Key):
            await super().on_event(event)
            return
        if not event.is_forwarded:  # from the terminal, on its way to the focused widget
            self._keys_read += 1
            self._in_flight[id(event)] = self._keys_read
            if len(self._in_flight) > KEYS_IN_FLIGHT:
                del self._in_flight[next(iter(self._in_flight))]
            if event.key in LEAVE_KEYS:
                self._left_at = self._keys_read
            await super().on_event(event)
            return
        self._key_in_hand = self._in_flight.pop(id(event), None)
        try:
            await super().on_event(event)  # back from the widgets: the bindings run
        finally:
            self._key_in_hand = None

    def left_since_key(self) -> bool:
        """A leave key (Esc) was read after the key whose binding is running now."""
        return self._key_in_hand is not None and self._left_at > self._key_in_hand

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification and toast passes the one sanitizer, and none is read as markup.

        Their text carries paths (the working directory's name), interface and
        file names, and error messages made of them: all from outside. Screens and
        widgets notify through here (Textual's ``Widget.notify`` calls the app's).
        ``markup`` is accepted for Textual's signature and ignored.
        """
        super().notify(
            printable_lines(str(message)),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_help_quit(self) -> None:
        """Ctrl+C's hint in plain words. Textual's own is markup ("Press [b]q[/b] to quit the
        app"), and tapwatch's notifications never read markup: the brackets showed as typed."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit", title="Do you want to quit?")
                return

    # ----- the command palette ---------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The tools by name (Ctrl+P), then Textual's theme and screenshot commands."""
        if isinstance(screen, MainScreen):
            for name, help_, action in screen.palette_commands():
                yield SystemCommand(name, help_, partial(self.run_action, action, screen))
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command

    # ----- signals --------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGHUP end the UI like ``q``; a hangup also silences the terminal."""
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # runs in the main thread between two bytecodes: only set flags and schedule
        self.signalled = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            self.hung_up = True
            hang_up = getattr(self._driver, "hang_up", None)
            if hang_up is not None:
                hang_up()
        loop = getattr(self, "_loop", None)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self.exit, 0)


@dataclass
class UiOutcome:
    """How the UI ended, for the command line.

    ``status``: the exit status. ``signal``: the signal that ended it (None
    for ``q``). ``hung_up``: the terminal went away; nothing more can be
    shown there (standard streams that were the terminal now go to
    /dev/null, so printing the summary is harmless).
    """

    status: int
    signal: str | None = None
    hung_up: bool = False


def run_ui(session: Session, *, title: str | None = None, display_filter: str = "") -> UiOutcome:
    """Run the UI until the user quits or a signal ends it; ``display_filter`` (-Y) is
    applied in the filter bar from the start, as tshark's -Y selects what it prints."""
    app = TapwatchApp(session, title=title, handle_signals=True, display_filter=display_filter)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    app.install_signal_handlers()
    try:
        result = app.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    if app.hung_up:
        _silence_terminal()
    status = app.return_code if app.return_code not in (None, 0) else int(result or 0)
    return UiOutcome(int(status or 0), app.signalled, app.hung_up)


def run_app(session: Session, *, title: str | None = None) -> int:
    """Run the UI until the user quits; returns the exit status for the command line."""
    return run_ui(session, title=title).status


def _silence_terminal() -> None:
    """The terminal hung up: point the standard streams that were it at /dev/null."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) or _is_dead_tty(fd):
                os.dup2(null, fd)
        except OSError:
            continue
    os.close(null)


def _is_dead_tty(fd: int) -> bool:
    """A descriptor whose terminal hung up answers isatty with EIO on some kernels."""
    try:
        os.fstat(fd)
    except OSError:
        return False
    try:
        os.ttyname(fd)
    except OSError as e:
        return e.errno == 5  # EIO
    return True
