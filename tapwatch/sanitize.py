"""The one boundary where text that came from packets or files becomes display text.

Everything tapwatch shows may be attacker-controlled (a DNS name, a scapy
field repr, a capture file's name), and tapwatch often runs as root in the
user's terminal. A raw ESC could retitle the terminal, write the clipboard
(OSC 52) or erase lines; a bidi override could make a line read as something
it is not. Every such string passes :func:`printable` before it reaches a
terminal, a widget or a pipe, and comes out with its control characters
spelled the way tcpdump spells them (``^[`` for ESC, ``^?`` for DEL) and every
other non-printable character as a ``\\x``/``\\u`` escape.
"""

from __future__ import annotations

_CARET = {c: "^" + chr(c ^ 0x40) for c in range(0x20)}
_CARET[0x7F] = "^?"


def _escape(ch: str) -> str:
    c = ord(ch)
    caret = _CARET.get(c)
    if caret is not None:
        return caret
    if c < 0x100:
        return f"\\x{c:02x}"
    if c < 0x10000:
        return f"\\u{c:04x}"
    return f"\\U{c:08x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal could act on spelled out.

    Printable text (letters of any script, digits, punctuation, spaces) comes
    back unchanged - that is the common case and it costs one C-level scan.
    Control characters (C0, DEL, C1), format characters such as the bidi
    overrides U+202A-U+202E and U+2066-U+2069, line and paragraph
    separators, surrogates and unassigned code points are escaped.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def printable_lines(text: str) -> str:
    """Like :func:`printable`, for multi-line text that tapwatch itself laid out.

    The newlines between lines are kept; a carriage return, or any other
    control character inside a line, is escaped.
    """
    return "\n".join(printable(line) for line in text.split("\n"))


def printable_layout(text: str) -> str:
    """Like :func:`printable_lines`, keeping the tabs of tapwatch's own layout too.

    tcpdump's ``-v`` text indents continuation lines with tabs; a tab moves the
    cursor and nothing else, so it is kept wherever it is, and every other
    control character is escaped.
    """
    if text.isprintable():
        return text
    return "\n".join(
        "\t".join(printable(part) for part in line.split("\t")) for line in text.split("\n")
    )
