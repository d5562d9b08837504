"""Completion for Wireshark's language: field and protocol names from the registry.

The filter bar offers the rest of the word being typed: ``tcp.fl`` -> ``tcp.flags``,
``http.re`` -> ``http.request``.  Shorter names come first, so a protocol's own
fields are offered before their sub-fields.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from tapwatch.dfilter import registry

_LAST_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*$")
#: words of the language, offered like field names
_WORDS: Final = ("contains", "matches", "and", "or", "not", "in")
#: the end of the text a word is looked for in: longer than any name (36 characters).
#: Searched whole, a pasted run of letters not at the end made ``re`` try every start to
#: the end (quadratic: 10k letters took 2.2 s, on the UI thread, at every keystroke)
TAIL: Final = 128


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    names = [f.name for f in registry.fields()]
    return tuple(sorted(names + list(_WORDS), key=lambda n: (n.count("."), len(n), n)))


def complete(value: str) -> str | None:
    """``value`` with its last word completed to a known name, or None."""
    if value.count('"') % 2:
        return None  # inside a string
    tail = value[-TAIL:]
    m = _LAST_WORD.search(tail)
    if m is None or (m.start() == 0 and len(value) > TAIL):
        return None  # no word, or one longer than any name
    word = m.group(0)
    start = len(value) - len(tail) + m.start()
    if start and value[start - 1] in "0123456789:":
        return None  # inside an address or a byte string
    for name in _names():
        if name.startswith(word) and name != word:
            return value[:start] + name
    return None
