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


def test_a_paste_longer_than_a_filter_is_refused_before_it_is_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Escaping (and then drawing) a pasted megabyte held the UI thread for seconds (1.1 s
    for 1 MB of filter text, 2.2 s for 1.2 MB of control characters): a paste past the
    input's limit is refused whole, unread, and the bar says why."""
    pytest.importorskip("textual")
    from test_app import SIZE, filter_checked, filter_input, main, settle, tun_records
    from textual import events

    from tapwatch.app import TapwatchApp
    from tapwatch.widgets import inputs
    from tapwatch.widgets.filter_bar import FilterBar

    seen: list[int] = []
    real = inputs.printable

    def counting(text: str) -> str:
        seen.append(len(text))
        return real(text)

    monkeypatch.setattr(inputs, "printable", counting)

    async def run() -> None:
        app = TapwatchApp(tun_records(5))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            bar = main(app).query_one(FilterBar)
            await pilot.press("slash", *"udp")
            await filter_checked(pilot, app)
            flt = filter_input(app)
            seen.clear()
            for paste in ("ip.src == 1.2.3.4 or " * 50_000, "\x1b[31m\u202e" * 200_000):
                flt.post_message(events.Paste(paste))
                await pilot.pause()
                assert flt.value == "udp" and max(seen, default=0) <= inputs.MAX_INPUT
                assert "at most 16,384 characters" in str(bar._message.render())
            flt.post_message(events.Paste(" or \x1b"))
            await pilot.pause()
            assert flt.value == "udp or ^["

    asyncio.run(run())


@pytest.mark.parametrize(
    "text",
    [
        "frame.len == " + "+".join(["1"] * 4000),
        "frame.len == " + "*".join(["frame.len"] * 800),
        "frame[" + "0:1][" * 1000 + "0] == 1",
        "frame.len & " + " & ".join(["1"] * 1500) + " == 1",
    ],
    ids=["sum", "product", "slices", "bitand"],
)
def test_a_long_chain_of_operators_is_refused_not_a_recursion_error(text: str) -> None:
    """Operators in a row nest the tree as parentheses do; the compiler walked 4,000 of
    them recursively and raised RecursionError (a traceback for -Y)."""
    from tapwatch.dfilter.compile import compile_filter
    from tapwatch.dfilter.syntax import MAX_DEPTH, DisplayFilterError

    with pytest.raises(DisplayFilterError, match=f"deeper than {MAX_DEPTH}"):
        compile_filter(text)
    assert compile_filter("frame.len == " + "+".join(["frame.len"] * 50)) is not None
    assert compile_filter("frame[0:8][2:4][0] == 1") is not None
