"""Filter text pasted by anyone: what the UI thread does with it at each key is bounded.

The completion offered as the user types runs on the UI thread at every keystroke,
over the whole text in the input; these check that its work does not grow with
what was pasted (no timing: the length of what is searched, what comes back).
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tapwatch import filtercheck
from tapwatch.analysis import completion
from tapwatch.dfilter import complete as ws_complete


class _Recording:
    """A compiled pattern that records the length of each text it searches."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.lengths: list[int] = []

    def search(self, text: str) -> re.Match[str] | None:
        self.lengths.append(len(text))
        return self.pattern.search(text)


@pytest.mark.parametrize("module", [completion, ws_complete], ids=["bpf", "wireshark"])
def test_completion_searches_only_the_end_of_a_long_paste(
    module: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of letters that does not end the text made ``$`` try every start: 10k letters
    and a space took seconds, 1 MB hours."""
    rec = _Recording(module._LAST_WORD)  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "_LAST_WORD", rec)
    complete = module.complete  # type: ignore[attr-defined]
    assert complete("a" * 5000 + " ") is None
    assert max(rec.lengths) <= 1024
    assert complete("a" * 1_000_000 + " ") is None
    assert complete("a" * 1_000_000) is None  # a word longer than any name
    assert complete("x" * 1_000_000 + " and tc") == "x" * 1_000_000 + " and tcp"
    assert max(rec.lengths) <= 1024


def test_no_suggestion_for_text_too_long_to_be_a_filter() -> None:
    """Past the longest filter compiled the text is refused: it is not read (tokenized
    whole) for a suggestion at every key either."""
    from tapwatch.widgets.filter_bar import FilterSuggester

    sug = FilterSuggester()
    long = "tcp or " * (filtercheck.MAX_TEXT // 7 + 1) + "ud"
    assert asyncio.run(sug.get_suggestion(long)) is None
    assert asyncio.run(sug.get_suggestion("tcp or ud")) == "tcp or udp"
