"""Wireshark's display-filter language, read into a syntax tree that knows where each token was.

The grammar is Wireshark 4.0's (``epan/dfilter/grammar.lemon`` and ``scanner.l``, and
the ``wireshark-filter(4)`` page of the tshark it is checked against):

* tests: a field or protocol alone (it is present), comparisons ``== != === !== ~= < > <=
  >=`` and their words (``eq ne all_eq any_ne gt lt ge le``, ``any_eq all_ne``),
  ``contains``, ``matches`` / ``~``, ``in {a, b, c..d}`` and ``not in``, optionally led
  by ``any`` or ``all``; ``and or not`` / ``&& || !``; parentheses;
* values: fields (``ip.src``, with a layer ``ip.src#2`` / ``#[1-2]``), slices
  (``eth.src[0:3]``, ``frame[-4:]``, ``[1,3-5,9:]``), functions (``len(x)``),
  arithmetic ``+ - * / % &`` grouped with ``{ }``, strings ``"..."`` and raw strings
  ``r"..."``, character constants ``'a'``, and unquoted literals (numbers, addresses,
  byte strings), whose meaning comes from what they are compared with.

Precedence, loosest first: ``or``, ``and``, ``not``, the relations, ``&``, ``+ -``,
``* / %``, unary minus.  A word is a field when the registry knows it, else a literal,
as Wireshark decides; that is left to :mod:`tapwatch.dfilter.compile`, which also
checks types.  Every node keeps the column span of its text, so an error points at
its token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from tapwatch.errors import TapwatchError

#: Longest filter read: a pasted screenful is fine, a pasted file is not.
MAX_LENGTH: Final = 8192
#: Deepest nesting of parentheses and negations (recursion stays far from Python's limit).
MAX_DEPTH: Final = 100


class DisplayFilterError(TapwatchError, ValueError):
    """The text is not a filter tapwatch can run; ``start``/``end`` are the columns (0-based)
    of the token at fault, so an input can mark it."""

    def __init__(self, message: str, start: int, end: int | None = None) -> None:
        self.message = message
        self.start = max(0, start)
        self.end = max(self.start + 1, end if end is not None else start + 1)
        super().__init__(f"column {self.start + 1}: {message}")


# ----------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # one of the KIND_* words below
    text: str  # as typed (for strings: the decoded value)
    start: int
    end: int


#: Token kinds.
WORD, STRING, CHAR, OP, EOF = "word", "string", "char", "op", "eof"

#: Words that are operators, by the operator they stand for.
KEYWORDS: Final = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "any_eq": "==",
    "ne": "!=",
    "all_ne": "!=",
    "all_eq": "===",
    "any_ne": "!==",
    "gt": ">",
    "lt": "<",
    "ge": ">=",
    "le": "<=",
    "contains": "contains",
    "matches": "matches",
    "in": "in",
    "any": "any",
    "all": "all",
    "bitwise_and": "&",
}
#: Symbols, longest first so that ``===`` is not read as ``==`` then ``=``.
_SYMBOLS: Final = (
    "===",
    "!==",
    "==",
    "!=",
    "~=",
    "<=",
    ">=",
    "&&",
    "||",
    "..",
    "<",
    ">",
    "!",
    "~",
    "&",
    "+",
    "-",
    "*",
    "/",
    "%",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "#",
    "$",
)
#: A literal or a field name: what Wireshark's scanner calls LiteralValue (no ``..`` inside,
#: never starting with ``-``, so ``1..5`` is a range and ``a -b`` a subtraction).
_WORD: Final = re.compile(r"[A-Za-z0-9_:][A-Za-z0-9_:/-]*(?:\.[A-Za-z0-9_:/-]+)*")
_SPACE: Final = re.compile(r"[ \t\r\n]+")
_ESCAPES: Final = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_OCTAL: Final = re.compile(r"[0-7]{1,3}")
_HEX2: Final = re.compile(r"[0-9A-Fa-f]{1,2}")


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an EOF token; DisplayFilterError at the first
    character that starts none."""
    if len(text) > MAX_LENGTH:
        raise DisplayFilterError(f"the filter is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    out: list[Token] = []
    i, n = 0, len(text)
    in_range = False  # inside [...]: a slice's ranges are read whole, as Wireshark's scanner
    while i < n:
        m = _SPACE.match(text, i)
        if m:
            i = m.end()
            continue
        c = text[i]
        if in_range:
            if c == "]":
                out.append(Token(OP, "]", i, i + 1))
                in_range = False
                i += 1
                continue
            if c == ",":
                out.append(Token(OP, ",", i, i + 1))
                i += 1
                continue
            j = i
            while j < n and text[j] not in "],":
                j += 1
            out.append(Token(WORD, text[i:j].strip(), i, j))
            i = j
            continue
        if c == '"' or (c in "rR" and text.startswith('"', i + 1)):
            tok, i = _string(text, i)
            out.append(tok)
            continue
        if c == "'":
            tok, i = _charconst(text, i)
            out.append(tok)
            continue
        m = _WORD.match(text, i)
        if m:
            out.append(Token(WORD, m.group(0), i, m.end()))
            i = m.end()
            continue
        for sym in _SYMBOLS:
            if text.startswith(sym, i):
                out.append(Token(OP, sym, i, i + len(sym)))
                i += len(sym)
                if sym == "[":
                    in_range = True
                break
        else:
            raise DisplayFilterError(f'"{c}" was unexpected in this context', i)
    if in_range:
        raise DisplayFilterError("the right bracket was missing from a slice", n)
    out.append(Token(EOF, "", n, n))
    return out


def _string(text: str, i: int) -> tuple[Token, int]:
    """A double-quoted string from ``text[i]``; ``r"..."`` keeps its backslashes (only
    ``\\"`` and ``\\\\`` are escapes there, and both keep the backslash).

    Strings are byte strings, as Wireshark's: the value holds one character per byte
    (an escape such as ``\\xff`` is that byte, a typed character its UTF-8 bytes)."""
    start = i
    raw = text[i] in "rR"
    i += 2 if raw else 1
    out: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return Token(STRING, "".join(out), start, i + 1), i + 1
        if c != "\\":
            out.append(c if c < "\x80" else _utf8(c))
            i += 1
            continue
        if i + 1 >= n:
            break
        nxt = text[i + 1]
        if raw:
            out.append("\\" + nxt)
            i += 2
            continue
        m = _OCTAL.match(text, i + 1)
        if m:
            value = int(m.group(0), 8)
            if value > 0xFF:
                raise DisplayFilterError(f"\\{m.group(0)} is larger than 255", i, m.end())
            out.append(chr(value))
            i = m.end()
            continue
        if nxt == "x":
            m = _HEX2.match(text, i + 2)
            if not m:
                raise DisplayFilterError("\\x takes one or two hex digits", i, i + 2)
            out.append(chr(int(m.group(0), 16)))
            i = m.end()
            continue
        if nxt in "uU":
            digits = 4 if nxt == "u" else 8
            hexa = text[i + 2 : i + 2 + digits]
            if len(hexa) != digits or not all(h in "0123456789abcdefABCDEF" for h in hexa):
                raise DisplayFilterError(f"\\{nxt} takes {digits} hex digits", i, i + 2 + len(hexa))
            code = int(hexa, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise DisplayFilterError(f"\\{nxt}{hexa} is not a character", i, i + 2 + digits)
            out.append(_utf8(chr(code)))
            i += 2 + digits
            continue
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        raise DisplayFilterError(f"\\{nxt} is not a valid escape sequence", i, i + 2)
    raise DisplayFilterError("the final quote was missing from a quoted string", start, n)


def _utf8(c: str) -> str:
    """A typed character as the bytes Wireshark compares: its UTF-8, one char per byte."""
    return c.encode("utf-8", "surrogatepass").decode("latin-1")


def _charconst(text: str, i: int) -> tuple[Token, int]:
    """``'a'``, ``'\\n'``, ``'\\x41'``, ``'\\101'``: one byte's value, as a C character."""
    start = i
    end = text.find("'", i + 3 if text.startswith("\\", i + 1) else i + 1)
    if end < 0:
        raise DisplayFilterError(
            "the final quote was missing from a character constant", start, len(text)
        )
    body = text[i + 1 : end]
    value: int | None = None
    if len(body) == 1 and body != "\\":
        value = ord(body)
    elif body.startswith("\\") and len(body) >= 2:
        esc = body[1:]
        if len(esc) == 1 and esc in _ESCAPES:
            value = ord(_ESCAPES[esc])
        elif esc[0] == "x" and 2 <= len(esc) <= 3 and _HEX2.fullmatch(esc[1:]):
            value = int(esc[1:], 16)
        elif _OCTAL.fullmatch(esc):
            value = int(esc, 8)
    if value is None or value > 0xFF:
        raise DisplayFilterError(
            f"{text[start : end + 1]} is not a valid character constant", start, end + 1
        )
    return Token(CHAR, str(value), start, end + 1), end + 1


# ----------------------------------------------------------------------------- syntax tree


@dataclass
class Node:
    start: int
    end: int


@dataclass
class Word(Node):
    """A field or protocol name, or an unquoted literal: the compiler decides."""

    text: str
    #: ``#N`` / ``#[...]`` after a field: the layers (1-based ranges) it is taken from
    layers: list[RangeNode] | None = None


@dataclass
class String(Node):
    value: str


@dataclass
class Char(Node):
    value: int


@dataclass
class RangeNode:
    """One part of a slice or layer range: Wireshark's ``i:j`` (length), ``i-j`` (end,
    inclusive), ``i`` (one), ``:j`` and ``i:`` (to the end); ``i`` may be negative."""

    start: int
    length: int | None = None  # None with end None: to the end of the value
    end: int | None = None


@dataclass
class Slice(Node):
    value: Node
    ranges: list[RangeNode]


@dataclass
class Call(Node):
    name: str
    args: list[Node]


@dataclass
class Arith(Node):
    op: str  # + - * / % &
    left: Node
    right: Node


@dataclass
class Negate(Node):
    value: Node


@dataclass
class Reference(Node):
    """``${field}``: a value of the packet selected in the UI."""

    field: Word


@dataclass
class Compare(Node):
    op: str  # == != === !== < > <= >= contains matches
    left: Node
    right: Node
    quantifier: str = ""  # "", "any" or "all"


@dataclass
class SetElement:
    low: Node
    high: Node | None = None  # a range low..high


@dataclass
class Member(Node):
    value: Node
    elements: list[SetElement]
    quantifier: str = ""


@dataclass
class Exists(Node):
    """A value alone as a test: a field or protocol is present, a ``&`` is not zero."""

    value: Node


@dataclass
class Logic(Node):
    op: str  # && or ||
    parts: list[Node] = field(default_factory=list)


@dataclass
class Not(Node):
    value: Node


# ----------------------------------------------------------------------------- parser

_COMPARE_OPS: Final = ("==", "!=", "===", "!==", "~=", "<", ">", "<=", ">=")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- helpers
    def peek(self, k: int = 0) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def op(self, tok: Token) -> str | None:
        """The operator a token stands for (a symbol, or a keyword), else None."""
        if tok.kind == OP:
            return tok.text
        if tok.kind == WORD:
            return KEYWORDS.get(tok.text)
        return None

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def expect(self, sym: str, what: str) -> Token:
        tok = self.peek()
        if self.op(tok) != sym:
            self.unexpected(tok, what)
        return self.take()

    def unexpected(self, tok: Token, hint: str = "") -> None:
        if tok.kind == EOF:
            msg = "unexpected end of filter expression"
            if hint:
                msg += f" ({hint})"
            raise DisplayFilterError(msg, tok.start)
        shown = self.text[tok.start : tok.end]
        msg = f'"{shown}" was unexpected in this context'
        if hint:
            msg += f" ({hint})"
        raise DisplayFilterError(msg, tok.start, tok.end)

    def deeper(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise DisplayFilterError(f"nested deeper than {MAX_DEPTH} levels", tok.start)

    # -- grammar
    def parse(self) -> Node | None:
        if self.peek().kind == EOF:
            return None
        node = self.expr()
        tok = self.peek()
        if tok.kind != EOF:
            self.unexpected(tok, "expected and, or, or the end")
        return node

    def expr(self) -> Node:
        return self.logic("||", self.and_expr)

    def and_expr(self) -> Node:
        return self.logic("&&", self.not_expr)

    def logic(self, sym: str, part: object) -> Node:
        assert callable(part)
        first: Node = part()
        parts = [first]
        while self.op(self.peek()) == sym:
            self.take()
            parts.append(part())
        if len(parts) == 1:
            return first
        return Logic(first.start, parts[-1].end, sym, parts)

    def not_expr(self) -> Node:
        tok = self.peek()
        if self.op(tok) == "!":
            self.take()
            self.deeper(tok)
            inner = self.not_expr()
            self.depth -= 1
            return Not(tok.start, inner.end, inner)
        if self.op(tok) == "(":
            self.take()
            self.deeper(tok)
            inner = self.expr()
            self.depth -= 1
            close = self.expect(")", "a ) to close the ( here")
            return _respan(inner, tok.start, close.end)
        return self.relation()

    def relation(self) -> Node:
        tok = self.peek()
        quant = ""
        if self.op(tok) in ("any", "all") and self._quantifier_here():
            quant = self.take().text
        left = self.arith()
        nxt = self.peek()
        o = self.op(nxt)
        if o in _COMPARE_OPS:
            node: Node | None = None
            pending = left
            chain: list[Node] = []
            while self.op(self.peek()) in _COMPARE_OPS:
                optok = self.take()
                cmp_op = self.op(optok) or ""
                if cmp_op == "~=":
                    cmp_op = "!=="
                right = self.arith()
                chain.append(Compare(pending.start, right.end, cmp_op, pending, right, quant))
                pending = right
            node = (
                chain[0] if len(chain) == 1 else Logic(chain[0].start, chain[-1].end, "&&", chain)
            )
            return node
        if o in ("contains", "matches", "~"):
            self.take()
            right = self.arith()
            name = "matches" if o == "~" else o
            return Compare(left.start, right.end, name, left, right, quant)
        if o == "in":
            self.take()
            elems, end = self.set_body()
            return Member(left.start, end, left, elems, quant)
        if o == "!" and self.op(self.peek(1)) == "in":
            nottok = self.take()
            self.take()
            elems, end = self.set_body()
            return Not(nottok.start, end, Member(left.start, end, left, elems, quant))
        if quant:
            self.unexpected(nxt, f"'{quant}' needs a comparison after it")
        return Exists(left.start, left.end, left)

    def _quantifier_here(self) -> bool:
        """``any``/``all`` lead a relation unless they are a field or literal themselves."""
        nxt = self.peek(1)
        return nxt.kind != EOF and self.op(nxt) not in (
            *_COMPARE_OPS,
            "&&",
            "||",
            ")",
            "contains",
            "matches",
            "~",
            "in",
        )

    def set_body(self) -> tuple[list[SetElement], int]:
        self.expect("{", "a set starts with {")
        elems: list[SetElement] = []
        while True:
            low = self.set_value()
            high = None
            if self.op(self.peek()) == "..":
                self.take()
                high = self.set_value()
            elems.append(SetElement(low, high))
            tok = self.peek()
            if self.op(tok) == ",":
                self.take()
                continue
            if self.op(tok) == "}":
                self.take()
                return elems, tok.end
            self.unexpected(tok, "set elements are separated by commas and end with }")

    def set_value(self) -> Node:
        tok = self.peek()
        if self.op(tok) == "-":
            self.take()
            inner = self.entity()
            return Negate(tok.start, inner.end, inner)
        if self.op(tok) == "+":
            self.take()
        return self.entity()

    # arithmetic: & loosest, then + -, then * / %, then unary
    # Each operator of a chain (``1+1+1``, ``f[0:2][0]``) nests the node before it one
    # level deeper, and the compiler walks the nesting recursively: a chain counts against
    # MAX_DEPTH as parentheses do (4,000 ``+`` in a row raised RecursionError).
    def arith(self) -> Node:
        depth = self.depth
        node = self.sum()
        while self.op(self.peek()) == "&":
            self.deeper(self.take())
            right = self.sum()
            node = Arith(node.start, right.end, "&", node, right)
        self.depth = depth
        return node

    def sum(self) -> Node:
        depth = self.depth
        node = self.product()
        while self.op(self.peek()) in ("+", "-"):
            tok = self.take()
            self.deeper(tok)
            right = self.product()
            node = Arith(node.start, right.end, self.op(tok) or "", node, right)
        self.depth = depth
        return node

    def product(self) -> Node:
        depth = self.depth
        node = self.unary()
        while self.op(self.peek()) in ("*", "/", "%"):
            tok = self.take()
            self.deeper(tok)
            right = self.unary()
            node = Arith(node.start, right.end, self.op(tok) or "", node, right)
        self.depth = depth
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if self.op(tok) == "-":
            self.take()
            inner = self.entity()
            return Negate(tok.start, inner.end, inner)
        if self.op(tok) == "+":
            self.take()
        return self.entity()

    def entity(self) -> Node:
        tok = self.peek()
        node: Node
        o = self.op(tok) if tok.kind == OP else None
        if tok.kind == STRING:
            self.take()
            node = String(tok.start, tok.end, tok.text)
        elif tok.kind == CHAR:
            self.take()
            node = Char(tok.start, tok.end, int(tok.text))
        elif tok.kind == WORD and tok.text not in KEYWORDS:
            self.take()
            if self.op(self.peek()) == "(" and self.peek().start == tok.end:
                node = self.call(tok)
            else:
                word = Word(tok.start, tok.end, tok.text)
                if self.op(self.peek()) == "#" and self.peek().start == tok.end:
                    self.take()
                    word.layers, word.end = self.layer_spec()
                node = word
        elif o == "{":
            self.take()
            self.deeper(tok)
            inner = self.arith()
            self.depth -= 1
            close = self.expect("}", "a } to close the { here")
            node = _respan(inner, tok.start, close.end)
        elif o == "$":
            self.take()
            self.expect("{", "a field reference is written ${field}")
            name = self.peek()
            if name.kind != WORD:
                self.unexpected(name, "a field reference is written ${field}")
            self.take()
            close = self.expect("}", "a field reference is written ${field}")
            node = Reference(tok.start, close.end, Word(name.start, name.end, name.text))
        else:
            self.unexpected(tok, "expected a field, a protocol or a value")
            raise AssertionError  # unexpected() always raises
        depth = self.depth
        while self.op(self.peek()) == "[":
            self.deeper(self.take())
            ranges, end = self.ranges()
            node = Slice(node.start, end, node, ranges)
        self.depth = depth
        return node

    def layer_spec(self) -> tuple[list[RangeNode], int]:
        tok = self.peek()
        if tok.kind == WORD and tok.text.isdigit():
            self.take()
            n = int(tok.text)
            if n < 1:
                raise DisplayFilterError("layers are counted from 1", tok.start, tok.end)
            return [RangeNode(n, length=1)], tok.end
        if self.op(tok) == "[":
            self.take()
            return self.ranges()
        raise DisplayFilterError('expected a layer number or "[" after #', tok.start, tok.end)

    def ranges(self) -> tuple[list[RangeNode], int]:
        """The inside of ``[...]`` (the ``[`` is taken): ranges separated by commas."""
        out: list[RangeNode] = []
        while True:
            tok = self.take()
            if tok.kind != WORD:
                self.unexpected(tok, "expected a range such as 0:3, 2-4 or 1")
            out.append(_range_node(tok))
            nxt = self.take()
            if nxt.text == "]" and nxt.kind == OP:
                return out, nxt.end
            if not (nxt.text == "," and nxt.kind == OP):
                self.unexpected(nxt, "ranges are separated by commas")

    def call(self, name: Token) -> Node:
        self.take()  # (
        self.deeper(name)
        args: list[Node] = []
        if self.op(self.peek()) != ")":
            while True:
                args.append(self.arith())
                if self.op(self.peek()) == ",":
                    self.take()
                    continue
                break
        close = self.expect(")", "a function's arguments end with )")
        self.depth -= 1
        return Call(name.start, close.end, name.text, args)


def _respan(node: Node, start: int, end: int) -> Node:
    """The node of a parenthesised expression, spanning its parentheses."""
    node.start, node.end = start, end
    return node


_RANGE_NUM: Final = r"[+-]?\d+"
_RANGE_FORMS: Final = (
    (re.compile(rf"({_RANGE_NUM}):(\d+)"), "length"),
    (re.compile(rf"({_RANGE_NUM})-({_RANGE_NUM})"), "end"),
    (re.compile(rf"({_RANGE_NUM}):"), "to_end"),
    (re.compile(r":(\d+)"), "head"),
    (re.compile(rf"({_RANGE_NUM})"), "one"),
)


def _range_node(tok: Token) -> RangeNode:
    text = tok.text.replace(" ", "")
    for pattern, kind in _RANGE_FORMS:
        m = pattern.fullmatch(text)
        if not m:
            continue
        if kind == "length":
            length = int(m.group(2))
            if length == 0:
                break
            return RangeNode(int(m.group(1)), length=length)
        if kind == "end":
            return RangeNode(int(m.group(1)), end=int(m.group(2)))
        if kind == "to_end":
            return RangeNode(int(m.group(1)))
        if kind == "head":
            length = int(m.group(1))
            if length == 0:
                break
            return RangeNode(0, length=length)
        return RangeNode(int(m.group(1)), length=1)
    raise DisplayFilterError(f'"{tok.text}" is not a valid range', tok.start, tok.end)


def parse(text: str) -> Node | None:
    """The syntax tree of ``text`` (None for an empty filter); DisplayFilterError says
    what is wrong and where."""
    return _Parser(text).parse()
