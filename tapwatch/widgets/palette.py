"""The command palette's commands answer to the words users type, not only to their names.

Textual's system commands provider matches the typed text against a
command's title alone: "go to packet" does not find "Go to". The tools'
provider also matches each tool's words (``widgets.keys``: "go to packet
number", "save pcap"), scored a little below a match on the name.
"""

from __future__ import annotations

from textual.command import Hit, Hits
from textual.system_commands import SystemCommandsProvider

from tapwatch.widgets.keys import words_for

#: a match found only through a tool's words ranks below one on its name
WORDS_WEIGHT = 0.9


class ToolCommands(SystemCommandsProvider):
    """The app's commands (the tools by name, then Textual's), found by name or words."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback, *_ in self.app.get_system_commands(self.screen):
            score = matcher.match(name)
            words = words_for(name)
            if words:
                score = max(score, matcher.match(f"{name} {words}") * WORDS_WEIGHT)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
