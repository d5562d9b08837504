"""Two filter languages behind one compile function: tcpdump's BPF and Wireshark's.

The rule that tells them apart, when the user has not chosen (:func:`detect`):

    Wireshark's when the text has something only Wireshark's language has -- a field
    name with a dot that tapwatch knows (``ip.src``, ``tcp.flags.syn``), a double-quoted
    string, a set ``{...}``, a slice of a protocol with a dot, or one of the words and
    operators ``contains matches ~ === !== ~= eq ne gt lt ge le in``; otherwise BPF,
    which tcpdump users type and which already means the same for bare protocol
    names (``tcp``, ``udp or arp``).  Text that BPF cannot compile but Wireshark's
    language can (``http``, ``dns``) is Wireshark's.

:func:`compile_any` returns a :class:`Compiled` for either: one object with the
language it was read in, how costly it is, and the matching methods the list,
find, ``-r`` and live printing call (``match``, ``match_packet``, ``match_record``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from tapwatch.dfilter import registry
from tapwatch.dfilter.compile import DisplayFilter, compile_filter
from tapwatch.dfilter.syntax import DisplayFilterError, tokenize
from tapwatch.errors import TapwatchError

Language = Literal["bpf", "wireshark"]
Choice = Literal["auto", "bpf", "wireshark"]
LANGUAGES: Final[tuple[Choice, ...]] = ("auto", "bpf", "wireshark")
#: what the bar and messages call each language
NAMES: Final = {"bpf": "BPF", "wireshark": "Wireshark"}

_WS_WORDS: Final = frozenset(
    {"contains", "matches", "eq", "ne", "gt", "lt", "ge", "le", "in", "any_eq", "all_ne"}
    | {"all_eq", "any_ne", "bitwise_and"}
)
_WS_OPS: Final = frozenset({"===", "!==", "~=", "~", "{", "}", "#", "$"})
_DOTTED: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+")


def detect(text: str) -> Language:
    """The language ``text`` is read in when the user has not said (see the module's rule)."""
    if wireshark_signals(text):
        return "wireshark"
    return "bpf"


def wireshark_signals(text: str) -> bool:
    """Whether ``text`` has something only Wireshark's language has."""
    try:
        tokens = tokenize(text)
    except DisplayFilterError:
        return '"' in text or bool(_DOTTED.search(text) and _known_dotted(text))
    for tok in tokens:
        if tok.kind == "string":
            return True
        if tok.kind == "op" and tok.text in _WS_OPS:
            return True
        if tok.kind == "word":
            if tok.text in _WS_WORDS:
                return True
            if "." in tok.text and _DOTTED.fullmatch(tok.text) and registry.lookup(tok.text):
                return True
    return False


def _known_dotted(text: str) -> bool:
    return any(registry.lookup(m.group(0)) for m in _DOTTED.finditer(text))


class Compiled:
    """A filter in either language: what the list, find and the printers call.

    ``match(data, linktype)`` needs nothing else (packets in capture order);
    ``match_packet`` takes a packet's frame number and time too, which Wireshark's
    ``frame.*`` fields read; ``match_record`` takes a ring record.
    """

    def __init__(
        self,
        language: Language,
        expr: str,
        bpf: Any = None,
        display: DisplayFilter | None = None,
    ) -> None:
        self.language = language
        self.expr = expr
        self.bpf = bpf
        self.display = display

    @property
    def cost(self) -> str:
        return self.display.cost if self.display is not None else registry.FAST

    def describe_cost(self) -> str:
        """What the user is told about the work the filter takes ("" when it is quick)."""
        if self.display is None or self.display.cost == registry.FAST:
            return ""
        slow = sorted({f.name for f in self.display.fields if f.cost != registry.FAST})
        if self.display.cost == registry.DEEP:
            return f"reads payloads ({', '.join(slow[:3])}): slower than header fields"
        return f"follows the capture in order ({', '.join(slow[:3])})"

    def set_interfaces(self, names: Sequence[str | None], numbered: bool = True) -> None:
        if self.display is not None:
            self.display.set_interfaces(names, numbered)

    def restart(self) -> None:
        if self.display is not None:
            self.display.restart()

    def match(self, data: bytes, linktype: int) -> bool:
        if self.bpf is not None and not self.bpf.match(data, linktype):
            if self.display is not None:
                self.display.match(data, linktype)  # the capture's state still sees it
            return False
        return self.display.match(data, linktype) if self.display is not None else True

    def match_packet(
        self,
        data: bytes,
        linktype: int,
        number: int,
        ts_ns: int = 0,
        iface: int = 0,
        orig_len: int | None = None,
        direction: int = 0,
    ) -> bool:
        passed = self.bpf is None or self.bpf.match(data, linktype)
        if self.display is None:
            return passed
        got = self.display.match_packet(data, linktype, number, ts_ns, iface, orig_len, direction)
        return passed and got

    def match_file_record(self, rec: Any, linktype: int, number: int) -> bool:
        """A capture file's record, the ``number``-th of the file."""
        if self.display is None:
            return bool(self.bpf.match(rec.data, linktype)) if self.bpf is not None else True
        return self.match_packet(
            rec.data,
            linktype,
            number,
            rec.ts_ns,
            rec.iface,
            getattr(rec, "orig_len", None),
            getattr(rec, "direction", None) or 0,
        )

    def match_record(self, rec: Any, linktype: int) -> bool:
        return self.match_packet(
            rec.data, linktype, rec.seq, rec.ts_ns, rec.iface, None, rec.direction
        )


@dataclass(frozen=True)
class Reading:
    """What the bar shows while text is typed: the language it is read in, and why."""

    language: Language
    chosen: bool  # the user chose it (else: detected)


def reading(text: str, choice: Choice = "auto") -> Reading:
    if choice != "auto":
        return Reading(choice, True)
    return Reading(detect(text), False)


def compile_any(
    text: str,
    linktypes: Iterable[int],
    choice: Choice = "auto",
    capture: str | None = None,
) -> Compiled | None:
    """``text`` compiled in the language chosen (or detected), None when blank.

    ``capture``: a BPF capture filter every packet must pass too.  Raises
    :class:`~tapwatch.filters.FilterError` (BPF) or
    :class:`~tapwatch.dfilter.syntax.DisplayFilterError` (Wireshark's) -- both
    :class:`~tapwatch.errors.TapwatchError` -- with one line saying what is wrong.
    """
    from tapwatch.filters import FilterError, compile_packet_filter

    linktypes = list(linktypes)
    stripped = text.strip()
    language: Language = choice if choice != "auto" else detect(stripped)
    if not stripped:
        if capture:
            return Compiled("bpf", "", compile_packet_filter(capture, linktypes))
        return None
    if language == "bpf":
        expr = f"({capture}) and ({stripped})" if capture else stripped
        try:
            return Compiled("bpf", stripped, compile_packet_filter(expr, linktypes))
        except FilterError as bpf_error:
            if choice == "bpf":
                raise
            try:  # BPF cannot read it: Wireshark's language may (``http``, ``dns``)
                display = compile_filter(stripped)
            except DisplayFilterError:
                raise bpf_error from None
            bpf = compile_packet_filter(capture, linktypes) if capture else None
            return Compiled("wireshark", stripped, bpf, display)
    display = compile_filter(stripped)
    bpf = compile_packet_filter(capture, linktypes) if capture else None
    return Compiled("wireshark", stripped, bpf, display)


def combine(bpf: Any, display_text: str) -> Compiled | None:
    """tcpdump's trailing expression (already compiled, or None) and ``-Y``'s filter, both."""
    display = compile_filter(display_text) if display_text.strip() else None
    if display is None and bpf is None:
        return None
    return Compiled(
        "wireshark" if display is not None else "bpf", display_text.strip(), bpf, display
    )


class OptionError(TapwatchError):
    """A filter given on the command line cannot be compiled; one line says where."""


def checked_option(flag: str, text: str) -> str:
    """``text`` if it compiles as a display filter, else OptionError naming the flag, the
    column and the filter (``-Y: column 11: "foo" is not ...: ip.src == foo``)."""
    try:
        compile_filter(text)
    except DisplayFilterError as e:
        raise OptionError(f"{flag}: {e}: {excerpt(text, e.start, e.end)}") from None
    return text


#: The most of a filter an error line repeats: the line stays one line.
EXCERPT: Final = 120


def excerpt(text: str, start: int, end: int) -> str:
    """``text`` whole when it is short, else the part around columns ``start``-``end``
    (where the error is) with an ellipsis where it was cut: a pasted 100 KB filter is not
    echoed whole on stderr."""
    if len(text) <= EXCERPT:
        return text
    end = min(max(end, start + 1), start + EXCERPT // 2)
    room = (EXCERPT - (end - start)) // 2
    lo = max(0, start - room)
    hi = min(len(text), max(end + room, lo + EXCERPT))
    lo = max(0, min(lo, hi - EXCERPT))
    return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")
