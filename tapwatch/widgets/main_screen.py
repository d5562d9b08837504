"""The main screen: status, filter, the three linked panes, counters, key hints, and the tools.

The screen is assembled from one class per tool (``widgets.screen``): the
detail panes and their worker, the display filter and the analysis tools,
find and sort, export and marks, the peer's actions. This module holds what
is the screen's own: the layout, the UI state that shapes it, and the keys
that change that state (pause, time format, clear, zoom, layout, help).

UI state lives in reactives whose watchers act when it changes: the list's
share of the screen, whether the lower panes are stacked, whether the
counters show, the time format (the list's ``paused`` and ``follow`` are
the list's own). The refresh timer only catches up with the ring (see
``widgets.screen.base``).

The layout adapts to the terminal: below 100 columns the tree and the bytes
stack under the list; the counters appear from 140 columns (they give way
first); the hex view shows 16 bytes a line from 190 columns (or when it
spans the width). Panes can be zoomed (``\\``), the list made taller or
shorter (``>`` ``<``) and the lower panes put side by side or stacked
(``|``); the status and filter rows stay at the top and the key hints at
the bottom whatever is zoomed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container, Vertical
from textual.reactive import var

from tapwatch.analysis.timefmt import TimeFormat
from tapwatch.widgets import keys
from tapwatch.widgets.counters import CountersPane
from tapwatch.widgets.detail import DetailTree
from tapwatch.widgets.dialogs.confirm import ConfirmScreen
from tapwatch.widgets.dialogs.help import HelpScreen, help_sections
from tapwatch.widgets.hexview import HexView
from tapwatch.widgets.packet_list import PacketList
from tapwatch.widgets.screen.analysis import AnalysisTools
from tapwatch.widgets.screen.detail import DetailPanes
from tapwatch.widgets.screen.export_marks import ExportAndMarks
from tapwatch.widgets.screen.find_sort import FindAndSort
from tapwatch.widgets.screen.peer import REFUSING_BINDINGS, PeerActions

#: the packet list's share of the screen, in percent, that ``<`` and ``>`` step through
LIST_SHARES = (25, 35, 45, 55, 65, 75)


class MainScreen(AnalysisTools, FindAndSort, ExportAndMarks, PeerActions, DetailPanes):
    """Everything one session shows; the app's default screen."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.bindings(), *REFUSING_BINDINGS]

    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Screen declares it an instance variable)
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
        (190, "-huge"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    ALLOW_IN_MAXIMIZED_VIEW = "#top, KeyHints"

    #: the packet list's share of the height (percent)
    list_share = var(45, init=False)
    #: the tree and the bytes stacked (True), side by side (False), or by the width (None)
    stacked: var[bool | None] = var(None, init=False)
    #: the counters shown (True), hidden (False), or by the width (None)
    counters_shown: var[bool | None] = var(None, init=False)
    #: how times are shown in the list and the frame layer
    time_format = var(TimeFormat.RELATIVE, init=False)

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield self.status_bar
            yield self.filter_bar
        with Container(id="panes"):
            yield self.packet_list
            with Container(id="lower"):
                yield self.detail_tree
                with Vertical(id="side"):
                    yield self.hex_view
                    yield self.counters
        yield self.key_hints

    def on_mount(self) -> None:
        # the panes inside containers may mount after the screen: start once they have
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        packets = self.packet_list
        if self.file_mode:
            packets.follow = False  # a file opens at its first packet, like Wireshark
        if self.initial_filter:  # -Y: the command line checked it, in Wireshark's language
            self.filter_bar.language = "wireshark"
            self.apply_filter(self.initial_filter)
        elif self.session.capture_filter is not None:
            packets.set_filter(self.session.capture_filter)
        self._apply_share()
        self.watch(self, "maximized", self._apply_share, init=False)
        packets.focus()
        self._ready = True
        self.tick()
        self.set_interval(1 / self.refresh_hz, self.tick, name="tapwatch-refresh")

    def on_resize(self) -> None:
        self._apply_share()

    def watch_list_share(self) -> None:
        self._apply_share()

    def _apply_share(self, *_: object) -> None:
        """The list's share of the screen; all of it while zoomed (a share would leave a band)."""
        zoomed = self.maximized is self.packet_list
        self.packet_list.styles.height = "1fr" if zoomed else f"{self.list_share}%"

    def watch_stacked(self, stacked: bool | None) -> None:
        self.set_class(stacked is True, "-stacked")
        self.set_class(stacked is False, "-side-by-side")

    def watch_counters_shown(self, shown: bool | None) -> None:
        self.set_class(shown is False, "-counters-off")
        self.set_class(shown is True, "-counters-on")
        self.refresh_counters()

    def watch_time_format(self, fmt: TimeFormat) -> None:
        self.packet_list.time_format = fmt
        self.refresh_frame()

    def action_toggle_events(self) -> None:
        """Hide or show the interface events among the packets (a filter never hides them)."""
        hidden = not self.packet_list.events_hidden
        self.packet_list.hide_events(hidden)
        self.say("interface events hidden (L shows them)" if hidden else "interface events shown")

    def action_toggle_counters(self) -> None:
        self.counters_shown = not self.counters.display

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        pane = (
            focused
            if isinstance(focused, (PacketList, DetailTree, HexView, CountersPane))
            else self.packet_list
        )
        self.maximize(pane, container=False)

    def action_toggle_layout(self) -> None:
        lower = self.query_one("#lower")
        layout = lower.styles.layout
        self.stacked = not (layout is not None and layout.name == "vertical")

    def action_resize(self, step: int) -> None:
        shares = LIST_SHARES
        at = min(range(len(shares)), key=lambda i: abs(shares[i] - self.list_share))
        self.list_share = shares[max(0, min(len(shares) - 1, at + step))]

    # ----- the view ------------------------------------------------------------------------
    def action_pause(self) -> None:
        packets = self.packet_list
        packets.paused = not packets.paused
        self.tick()

    def action_cycle_time(self) -> None:
        self.time_format = self.time_format.next()

    def action_time_format(self, name: str) -> None:
        self.time_format = TimeFormat(name)

    def action_clear(self) -> None:
        if not self.file_mode:
            self._clear()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._clear()

        self.app.push_screen(
            ConfirmScreen(
                "Clear every packet held? This is a file: they come back only by opening it again.",
                "Clear",
                "Keep them",
            ),
            answered,
        )

    def _clear(self) -> None:
        self.session.clear()
        self.packet_list.reset()
        self.clear_detail()
        self.tick()
        self.refresh_counters()
        self.say("cleared: the ring is empty, capture goes on")

    # ----- help and the palette ------------------------------------------------------------
    def action_quit(self) -> None:
        self.app.exit(0)

    def action_help(self) -> None:
        self.open_tool(HelpScreen(help_sections(self)))

    def palette_commands(self) -> Iterator[tuple[str, str, str]]:
        """(name, help, action) of every palette command that can act now."""
        for tool in keys.TOOLS:
            if self.check_action(tool.action.split("(")[0], ()) is False:
                continue
            yield tool.name, tool.help, tool.action
        yield from keys.PALETTE_ONLY
