"""``matches``: regular expressions that cannot hang, whatever is pasted.

Wireshark runs PCRE2, which backtracks: a pattern such as ``(a+)+$`` takes time
exponential in the input, and a filter runs over every packet of a capture.  RE2 (the
``google-re2`` binding) matches in time linear in the input, so a pattern from anyone
costs a bounded amount per packet.  What RE2 leaves out (back-references,
look-around) is refused with a message that says so.

As Wireshark 4.0's ``matches``, a pattern is case-insensitive unless it says
``(?-i)``, and it runs on the value's bytes (one character per byte: latin-1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

#: Longest pattern taken (RE2's memory is bounded too, by max_mem).
MAX_PATTERN: Final = 4096
#: Largest compiled program taken, in RE2's instructions: RE2's time is linear in the
#: input, times up to the program's size where its DFA gives up (``(a?){999}a{999}``,
#: 3001 instructions: 50-70 ms a 1500-byte packet, each packet).
MAX_PROGRAM: Final = 2500


class RegexError(ValueError):
    """The pattern cannot be used; the message says why."""


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A test ``search(value) -> bool`` for ``pattern`` (a filter string: one char per byte)."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"the pattern is longer than {MAX_PATTERN} characters")
    try:
        import re2
    except ImportError:  # pragma: no cover - a dependency of tapwatch
        raise RegexError("matches needs the google-re2 package (pip install google-re2)") from None
    opts = re2.Options()
    opts.encoding = re2.Options.Encoding.LATIN1
    opts.log_errors = False
    opts.max_mem = 8 << 20
    # a test needs no submatches: without groups to fill RE2 finds a match with its DFA
    # alone, and simplifies the pattern first (``(a*)*`` x 800 matched 1480 bytes of
    # "a" in 6 s with its groups, 0.1 ms without)
    opts.never_capture = True
    try:
        rx = re2.compile(b"(?i)" + pattern.encode("latin-1", "replace"), opts)
    except re2.error as e:
        why = e.args[0] if e.args else "invalid pattern"
        if isinstance(why, bytes):
            why = why.decode("latin-1")
        hint = ""
        if "escape" in str(why) or "(?=" in pattern or "(?!" in pattern or "(?<" in pattern:
            hint = " (back-references and look-around are not supported)"
        raise RegexError(f"invalid regular expression: {why}{hint}") from None
    if rx.programsize > MAX_PROGRAM:
        raise RegexError(
            f"the pattern is too complex ({rx.programsize} steps compiled, at most "
            f"{MAX_PROGRAM}): every packet would take long to test; write it shorter"
        )
    search = rx.search

    def test(value: str) -> bool:
        return search(value.encode("latin-1", "replace")) is not None

    return test
