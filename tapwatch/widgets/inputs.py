"""The one text field tapwatch uses: whatever goes into it comes out displayable.

Textual's ``Input`` draws its value as it is, and a value can come from
outside: pasted text, a default made of the working directory's name. An
escape in it would reach the terminal raw (``\\x1b]0;...`` retitles the
window). :class:`SafeInput` passes every value through the one sanitizer,
:func:`tapwatch.sanitize.printable`, whether typed, pasted or set, so a
control character shows as ``^[`` and the text shown is the text used.
"""

from __future__ import annotations

from textual.widgets import Input

from tapwatch.sanitize import printable

#: The longest text an input takes unless it says less (``max_length``). A longer edit
#: (a paste) is refused before it is escaped: escaping and drawing a pasted megabyte of
#: control characters held the UI thread for seconds.
MAX_INPUT = 65536


class SafeInput(Input):
    """An ``Input`` whose value never holds a character a terminal could act on."""

    def validate_value(self, value: str) -> str:
        """Every assignment (the first value, ``value = ...``, edits) is spelled out."""
        return printable(value)

    def replace(self, text: str, start: int, end: int) -> None:
        limit = self.max_length or MAX_INPUT
        if len(self.value) + len(text) - max(0, end - start) > limit:
            self.restricted()  # refused whole (a cut paste could mean something else)
            return
        # escaped before it goes in, so the cursor lands after what is shown
        super().replace(printable(text), start, end)
