"""The help screen: every key and palette command, built from the bindings themselves.

The entries come from ``widgets.keys`` and the widgets' own bindings (see
:func:`help_sections`), so the help lists exactly what the keys do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static


@dataclass(frozen=True)
class HelpEntry:
    """One line of the help: the key(s), what it does, and whether it can act now."""

    keys: str
    what: str
    available: bool = True


@dataclass(frozen=True)
class HelpSection:
    title: str
    entries: tuple[HelpEntry, ...]


#: Widest the help's key column gets (columns), whatever the longest command name.
KEY_COLUMN = 18


def help_table(sections: Iterable[HelpSection]) -> Group:
    """Every key, grouped: a heading and a two-column grid per group."""
    sections = list(sections)
    parts: list[Text | Table] = []
    for i, sec in enumerate(sections):
        parts.append(Text(("\n" if i else "") + sec.title, style="bold"))
        # the key column as wide as this group's keys, but never more than KEY_COLUMN: a
        # palette command's long name wraps rather than squeeze every description
        width = min(max((len(e.keys) for e in sec.entries), default=4), KEY_COLUMN)
        table = Table.grid(padding=(0, 2))
        table.add_column(min_width=width, max_width=width, style="bold")
        table.add_column()
        for e in sec.entries:
            what = Text(e.what)
            if not e.available:
                what.append("  (not available here)", style="italic")
                table.add_row(Text(e.keys, style="dim"), Text(what.plain, style="dim"))
            else:
                table.add_row(e.keys, what)
        parts.append(table)
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """All keys and palette commands; Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", show=True),
    ]
    #: below this width the help takes the whole screen (a band of the panes beside it
    #: would read as part of it); wider, a 110-column box in the middle
    WHOLE_BELOW = 160

    def __init__(self, sections: Iterable[HelpSection]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        box = VerticalScroll(id="help-box")
        box.border_title = "tapwatch keys and commands"
        box.border_subtitle = "Escape closes"
        with box:
            yield Static(help_table(self.sections), id="help-text")

    def on_mount(self) -> None:
        self.on_resize()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < self.WHOLE_BELOW, "-narrow")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


def help_sections(screen: Screen[None]) -> list[HelpSection]:
    """Every key and palette command of the main screen, from the bindings and the tool table
    themselves; what ``screen.check_action`` refuses is marked not available here."""
    from tapwatch.widgets import keys
    from tapwatch.widgets.detail import DetailTree
    from tapwatch.widgets.filter_bar import FilterInput
    from tapwatch.widgets.packet_list import PacketList

    app = screen.app

    def shown(key: str) -> str:
        return " ".join(app.get_key_display(Binding(k.strip(), "")) for k in key.split(","))

    sections: list[HelpSection] = []
    by_section: dict[str, list[HelpEntry]] = {}
    for tool in keys.TOOLS:
        if tool.key is None:
            continue
        available = screen.check_action(tool.action.split("(")[0], ()) is not False
        key = tool.key_display or shown(tool.key)
        by_section.setdefault(tool.section, []).append(
            HelpEntry(key, f"{tool.name}: {tool.help}", available)
        )
    for title, entries in by_section.items():
        sections.append(HelpSection(title, tuple(entries)))
    for title, widget in (
        ("In the packet list", PacketList),
        ("In the protocol tree", DetailTree),
        ("In the filter", FilterInput),
    ):
        rows = [HelpEntry(shown(b.key), b.tooltip or b.description) for b in _bindings_of(widget)]
        if widget is DetailTree:
            rows.append(HelpEntry("click", "select a field: its bytes light up"))
        sections.append(HelpSection(title, tuple(rows)))
    sections.append(
        HelpSection(
            "Everywhere",
            (
                HelpEntry("Tab Shift+Tab", "next / previous pane"),
                HelpEntry(
                    shown(app.COMMAND_PALETTE_BINDING),
                    "command palette: every tool below by its name",
                ),
                HelpEntry(
                    "mouse",
                    "click a packet, a column header (sorts), a tree node; the wheel scrolls",
                ),
            ),
        )
    )
    palette = [HelpEntry(t.name, t.help) for t in keys.TOOLS]
    palette += [HelpEntry(name, help_) for name, help_, _ in keys.PALETTE_ONLY]
    sections.append(HelpSection("Command palette (Ctrl+P) commands", tuple(palette)))
    return sections


def _bindings_of(widget: type[Widget]) -> list[Binding]:
    out = []
    for b in getattr(widget, "BINDINGS", []):
        if isinstance(b, Binding):
            out.append(b)
        elif isinstance(b, tuple):
            out.append(Binding(*b))
    return out
