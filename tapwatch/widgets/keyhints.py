"""The key hints line at the bottom: the keys that act here and now, as many as fit.

Textual's Footer lists every shown binding and cuts the line at 80
columns. This one reads the same active bindings (so a key the session
cannot use is not offered) and keeps the most useful that fit the width:
the focused widget's own keys first, then the tools by their rank in
``widgets.keys``, with help and quit always at the end.

The line also carries the screen's short messages (a key that cannot act
here, a search that wrapped): one at a time, each replacing the one before,
for a few seconds. A key pressed ten times says so once, and nothing
covers the panes.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from tapwatch.widgets.keys import tool_for

#: always shown last, whatever the width
TAIL = ("help", "quit")


class KeyHints(Static):
    """One line of ``key description`` pairs fitted to the width."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-hints--key",
        "key-hints--description",
        "key-hints--information",
        "key-hints--warning",
        "key-hints--error",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._items: list[tuple[int, str, str, str]] = []
        self._shown: list[tuple[int, str, str, str]] = []
        self._message: tuple[str, SeverityLevel] | None = None
        self._timer: Timer | None = None

    def say(self, text: str, severity: SeverityLevel = "information", timeout: float = 4) -> None:
        """Show ``text`` (already printable) instead of the hints for ``timeout`` seconds."""
        self._message = (text, severity)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(timeout, self._unsay)
        self._render_hints()

    def _unsay(self) -> None:
        self._message = None
        self._timer = None
        self._render_hints()

    @property
    def message(self) -> str | None:
        """The message shown now, if any."""
        return self._message[0] if self._message is not None else None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        # published once the new theme's stylesheet is applied (a watch of the app's theme
        # runs before it: the hints would be styled in the old theme's colours)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_hints())
        self.call_after_refresh(self._bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)
        self.app.theme_changed_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        items: list[tuple[int, str, str, str]] = []
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not active.enabled or binding.action in seen:
                continue
            tool = tool_for(binding.action)
            rank = tool.hint if tool is not None else 0  # the focused widget's keys come first
            seen.add(binding.action)
            items.append(
                (rank, self.app.get_key_display(binding), binding.description, binding.action)
            )
        if "command_palette" not in seen and self.app.ENABLE_COMMAND_PALETTE:
            items.append((5, "^p", "Palette", "command_palette"))
        items.sort(key=lambda i: i[0])
        self._items = items
        self._render_hints()

    def on_resize(self) -> None:
        self._render_hints()

    def _render_hints(self) -> None:
        width = self.size.width or 80
        if self._message is not None:
            text, severity = self._message
            style: Style = self.get_component_rich_style(f"key-hints--{severity}")
            line = Text(f" {text}", style=style, no_wrap=True, overflow="ellipsis", end="")
            line.truncate(width, overflow="ellipsis")
            self.update(line)
            return
        key_style: Style = self.get_component_rich_style("key-hints--key")
        desc_style: Style = self.get_component_rich_style("key-hints--description")
        tail = [i for i in self._items if i[3] in TAIL]
        body = [i for i in self._items if i[3] not in TAIL]

        def cells(item: tuple[int, str, str, str]) -> int:
            return len(item[1]) + len(item[2]) + 4

        room = width - sum(cells(i) for i in tail)
        chosen = []
        for item in body:
            if cells(item) <= room:
                chosen.append(item)
                room -= cells(item)
        self._shown = chosen + tail
        t = Text(no_wrap=True, overflow="crop")
        for _, key, desc, _action in self._shown:
            t.append(f" {key} ", key_style)
            t.append(f"{desc}  ", desc_style)
        self.update(t)

    @property
    def text(self) -> str:
        """The plain text shown (for tests)."""
        return "".join(f" {k} {d}  " for _, k, d, _ in self._shown)

    @property
    def actions(self) -> list[str]:
        """The actions offered now, in the order shown."""
        return [a for *_, a in self._shown]
