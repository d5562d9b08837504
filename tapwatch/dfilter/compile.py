"""From syntax tree to a test over packets, with Wireshark 4.0's meaning.

Every value in a filter is a list: a field has one value per occurrence in the packet
(``ip.addr`` has two, four inside an ICMP error), none when it is not there.  So:

* ``a == b`` (``any_eq``): some value of ``a`` equals some value of ``b``;
* ``a != b`` (``all_ne``): ``a`` is present and none of its values equals ``b`` --
  the same as ``!(a == b)`` where ``a`` is present, as Wireshark has it since 3.6;
* ``a === b`` (``all_eq``): every value equals; ``a !== b`` / ``~=`` (``any_ne``): some
  value differs (the meaning ``!=`` had before 3.6);
* ``< > <= >= contains matches in``: some value; ``all``/``any`` in front of a relation
  say which explicitly;
* a field or protocol alone: it is present (a boolean field that is 0 is present).

Literals take the type of the field they meet (:mod:`tapwatch.dfilter.ftypes`); a
comparison between two literals, a word that is neither a field nor a literal of the
right type, an operator that does not apply to a type: each is an error at compile
time that names the token and its column.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tapwatch.dfilter import fastpath, ftypes, registry, syntax
from tapwatch.dfilter.packet import Capture, Layer, Packet
from tapwatch.dfilter.regex import RegexError, compile_pattern
from tapwatch.dfilter.syntax import DisplayFilterError

Values = Callable[[Packet], list[Any]]
Test = Callable[[Packet], bool]
_EMPTY: Final[list[Any]] = []


@dataclass
class Val:
    """A compiled value: its type (None: a literal not yet given one) and how to get it."""

    node: syntax.Node
    ftype: str | None
    get: Values | None = None
    literal: str | None = None  # the literal's text, to be read by the type it meets
    quoted: bool = False
    fields: tuple[registry.Field, ...] = ()


class Compiler:
    def __init__(self, text: str) -> None:
        self.text = text
        self.fields: dict[str, registry.Field] = {}

    def fail(self, node: syntax.Node, message: str) -> DisplayFilterError:
        return DisplayFilterError(message, node.start, node.end)

    def shown(self, node: syntax.Node) -> str:
        return self.text[node.start : node.end]

    # ------------------------------------------------------------------ tests
    def test(self, node: syntax.Node) -> Test:
        if isinstance(node, syntax.Logic):
            parts = [self.test(p) for p in node.parts]
            if node.op == "&&":
                return _all_of(parts)
            return _any_of(parts)
        if isinstance(node, syntax.Not):
            inner = self.test(node.value)
            return lambda pkt: not inner(pkt)
        if isinstance(node, syntax.Compare):
            return self.compare(node)
        if isinstance(node, syntax.Member):
            return self.member(node)
        if isinstance(node, syntax.Exists):
            return self.exists(node)
        raise self.fail(node, f'"{self.shown(node)}" is not a test')

    def exists(self, node: syntax.Exists) -> Test:
        v = self.value(node.value)
        if v.get is None:
            raise self.fail(
                node.value,
                f'"{self.shown(node.value)}" is neither a field nor a protocol tapwatch knows',
            )
        get = v.get
        if isinstance(node.value, (syntax.Arith, syntax.Call)):
            return lambda pkt: any(get(pkt))
        word = node.value
        if isinstance(word, syntax.Word) and word.layers is None and len(v.fields) == 1:
            f = v.fields[0]
            if f.is_protocol and not f.also:
                name = f.protocol  # present: a layer of it, without its bytes

                def present(pkt: Packet) -> bool:
                    index = pkt._index
                    return bool((pkt.index() if index is None else index).get(name))

                return present
        return lambda pkt: bool(get(pkt))

    # ------------------------------------------------------------------ values
    def value(self, node: syntax.Node) -> Val:
        if isinstance(node, syntax.Word):
            f = registry.lookup(node.text)
            if f is None:
                if node.layers is not None:
                    raise self.fail(node, f'"{node.text}" is not a field tapwatch knows')
                return Val(node, None, literal=node.text)
            self.fields[f.name] = f
            return Val(node, f.ftype, _field_values(f, node.layers), fields=(f,))
        if isinstance(node, syntax.String):
            return Val(node, None, literal=node.value, quoted=True)
        if isinstance(node, syntax.Char):
            return Val(node, None, literal=str(node.value))
        if isinstance(node, syntax.Slice):
            return self.slice(node)
        if isinstance(node, syntax.Call):
            return self.call(node)
        if isinstance(node, syntax.Arith):
            return self.arith(node)
        if isinstance(node, syntax.Negate):
            inner = self.value(node.value)
            if inner.get is None:
                assert inner.literal is not None
                return Val(node, None, literal="-" + inner.literal.lstrip("+"))
            self.need_numeric(node, inner)
            iget = inner.get
            return Val(node, inner.ftype, lambda pkt: [-x for x in iget(pkt)], fields=inner.fields)
        if isinstance(node, syntax.Reference):
            raise self.fail(
                node,
                "field references ${...} need a packet selected in Wireshark's window; "
                "tapwatch has none to read them from",
            )
        raise self.fail(node, f'"{self.shown(node)}" is not a value')

    def typed(self, v: Val, ftype: str) -> Val:
        """A literal read as a value of ``ftype`` (a field's value as it is)."""
        if v.get is not None:
            return v
        assert v.literal is not None
        try:
            lit = ftypes.convert(v.literal, ftype, v.quoted)
        except ftypes.LiteralError as e:
            raise self.fail(v.node, str(e)) from None
        const = [lit]
        return Val(v.node, ftype, lambda pkt: const)

    def need_numeric(self, node: syntax.Node, v: Val) -> None:
        if v.ftype is not None and ftypes.kind(v.ftype) not in ("int", "bool", "time", "double"):
            raise self.fail(node, f'"{self.shown(node)}" is not a number: arithmetic needs one')

    def slice(self, node: syntax.Slice) -> Val:
        inner = self.value(node.value)
        if inner.get is None:
            raise self.fail(node.value, f'"{self.shown(node.value)}" cannot be sliced: not a field')
        k = ftypes.kind(inner.ftype or "")
        if k not in ("bytes", "string", "ipv4", "ipv6"):
            raise self.fail(
                node,
                f'"{self.shown(node.value)}" cannot be sliced (only bytes, strings, addresses)',
            )
        iget = inner.get
        ranges = node.ranges

        def get(pkt: Packet) -> list[Any]:
            out = []
            for v in iget(pkt):
                b = _as_bytes(v, k)
                got = _slice(b, ranges)
                if got is not None:
                    out.append(got)
            return out

        return Val(node, ftypes.BYTES, get, fields=inner.fields)

    def call(self, node: syntax.Call) -> Val:
        name = node.name.lower()
        args = [self.value(a) for a in node.args]
        if name not in _FUNCTIONS:
            raise self.fail(node, f"there is no function {node.name}()")
        want = _FUNCTIONS[name]
        if not (want[0] <= len(args) <= want[1]):
            count = f"{want[0]}" if want[0] == want[1] else f"{want[0]} or more"
            raise self.fail(node, f"{name}() takes {count} argument(s)")
        fields = tuple(f for a in args for f in a.fields)
        if name in ("max", "min"):
            typed = [a for a in args if a.get is not None]
            if not typed:
                raise self.fail(node, f"{name}() needs a field among its arguments")
            ft = typed[0].ftype or ""
            getters = [self.typed(a, ft).get for a in args]
            pick = max if name == "max" else min

            def minmax(pkt: Packet) -> list[Any]:
                vals = [x for g in getters if g is not None for x in g(pkt)]
                return [pick(vals)] if vals else _EMPTY

            return Val(node, ft, minmax, fields=fields)
        arg = args[0]
        if arg.get is None:
            raise self.fail(node.args[0], f"{name}() needs a field, not a literal")
        aget = arg.get
        k = ftypes.kind(arg.ftype or "")
        if name == "len":
            if k not in ("bytes", "string"):
                raise self.fail(node.args[0], "len() takes a string, bytes or a protocol")
            return Val(
                node,
                "FT_UINT32",
                lambda pkt: [len(x) for x in aget(pkt)],
                fields=fields,
            )
        if name == "count":
            return Val(
                node,
                "FT_UINT32",
                lambda pkt: [n] if (n := len(aget(pkt))) else _EMPTY,
                fields=fields,
            )
        if name in ("upper", "lower"):
            if k != "string":
                raise self.fail(node.args[0], f"{name}() takes a string field")
            conv = str.upper if name == "upper" else str.lower
            return Val(node, "FT_STRING", lambda pkt: [conv(x) for x in aget(pkt)], fields=fields)
        if name == "string":
            if k in ("string", "bytes"):
                raise self.fail(node.args[0], "string() takes a field that is not already text")
            ft = arg.ftype or ""
            return Val(
                node,
                "FT_STRING",
                lambda pkt: [_to_string(x, ft) for x in aget(pkt)],
                fields=fields,
            )
        if name == "abs":
            self.need_numeric(node.args[0], arg)
            return Val(node, arg.ftype, lambda pkt: [abs(x) for x in aget(pkt)], fields=fields)
        raise self.fail(node, f"there is no function {node.name}()")  # pragma: no cover

    def arith(self, node: syntax.Arith) -> Val:
        left, right = self.value(node.left), self.value(node.right)
        if left.get is None and right.get is None:
            raise self.fail(node, "arithmetic needs a field on one side")
        ft = left.ftype if left.get is not None else right.ftype
        assert ft is not None
        left, right = self.typed(left, ft), self.typed(right, ft)
        k = ftypes.kind(ft)
        if node.op == "&":
            if k not in ("int", "bool", "bytes"):
                raise self.fail(node, f'"&" needs an integer or bytes, not {ft}')
            fn: Callable[[Any, Any], Any] = _bitand
        else:
            for side, v in ((node.left, left), (node.right, right)):
                self.need_numeric(side, v)
            fn = _ARITH[node.op]
        lget, rget = left.get, right.get
        assert lget is not None and rget is not None

        def get(pkt: Packet) -> list[Any]:
            out = []
            for a in lget(pkt):
                for b in rget(pkt):
                    r = fn(a, b)
                    if r is not None:
                        out.append(r)
            return out

        return Val(node, ft, get, fields=left.fields + right.fields)

    # ------------------------------------------------------------------ relations
    def compare(self, node: syntax.Compare) -> Test:
        op = node.op
        left, right = self.value(node.left), self.value(node.right)
        if left.get is None and right.get is None:
            raise self.fail(
                node.left,
                f'"{self.shown(node.left)}" is neither a field nor a protocol tapwatch knows',
            )
        if left.get is None:
            if op in ("contains", "matches"):
                raise self.fail(node.left, f"the left side of {op} must be a field")
            left, right = right, left
            op = _MIRROR.get(op, op)
        ft = left.ftype or ""
        k = ftypes.kind(ft)
        lget = left.get
        assert lget is not None
        if op == "matches":
            if right.get is not None or not right.quoted:
                raise self.fail(node.right, "matches takes a pattern in double quotes")
            if k not in ("string", "bytes"):
                raise self.fail(
                    node.left, f'"{self.shown(node.left)}" is not text: matches needs a string'
                )
            assert right.literal is not None
            try:
                search = compile_pattern(right.literal)
            except RegexError as e:
                raise self.fail(node.right, str(e)) from None
            as_text = _text_of(k)
            return self._quantified(node.quantifier or "any", lget, lambda v: search(as_text(v)))
        if k == "none":
            raise self.fail(
                node.left,
                f'"{self.shown(node.left)}" has no value to compare: test only that it is present',
            )
        if op == "contains":
            if k not in ("string", "bytes"):
                raise self.fail(
                    node.left, f'"{self.shown(node.left)}" is not text or bytes: contains needs one'
                )
            if right.get is None:
                assert right.literal is not None
                needle_ft = ftypes.BYTES if k == "bytes" else ft
                needle = self.typed(right, needle_ft).get
                assert needle is not None
                (n,) = needle(_NO_PACKET)
                return self._quantified(node.quantifier or "any", lget, lambda v: n in v)
            rk = ftypes.kind(right.ftype or "")
            if rk != k:
                raise self.fail(node.right, "contains needs values of the same kind on both sides")
            rget = right.get
            return lambda pkt: any(b in a for a in lget(pkt) for b in rget(pkt))
        if op in ("<", ">", "<=", ">=") and k in ("bool",):
            pass  # booleans order as 0 and 1, as Wireshark's
        if right.get is None:
            right = self.typed(right, ft)
            assert right.get is not None
            (lit,) = right.get(_NO_PACKET)
            pred = _literal_predicate(op, lit)
            quant = node.quantifier or _DEFAULT_QUANT[op]
            if op == "!=":
                quant = node.quantifier or "all"
            direct = _direct_any(left, quant)
            if direct is not None:
                return direct(pred)
            return self._quantified(quant, lget, pred)
        rk = ftypes.kind(right.ftype or "")
        if not _comparable(k, rk):
            raise self.fail(
                node,
                f'"{self.shown(node.left)}" ({ft}) and "{self.shown(node.right)}" '
                f"({right.ftype}) cannot be compared",
            )
        rget = right.get
        base = _OPS[_BASE_OP[op]]
        quant = node.quantifier or _DEFAULT_QUANT[op]
        to_bytes = k != rk  # bytes against a string: both as bytes

        def pairs(pkt: Packet) -> list[bool]:
            rs = rget(pkt)
            out = []
            for a in lget(pkt):
                for b in rs:
                    if to_bytes:
                        a2, b2 = _as_bytes(a, k), _as_bytes(b, rk)
                    else:
                        a2, b2 = a, b
                    out.append(base(a2, b2))
            return out

        negate = op in ("!=", "!==")
        if quant == "all":
            if negate:
                return lambda pkt: bool(r := pairs(pkt)) and not any(r)
            return lambda pkt: bool(r := pairs(pkt)) and all(r)
        if negate:
            return lambda pkt: any(not r for r in pairs(pkt))
        return lambda pkt: any(pairs(pkt))

    def _quantified(self, quant: str, get: Values, pred: Callable[[Any], bool]) -> Test:
        if quant == "all":

            def all_of(pkt: Packet) -> bool:
                vals = get(pkt)
                return bool(vals) and all(pred(v) for v in vals)

            return all_of

        def any_of(pkt: Packet) -> bool:
            return any(pred(v) for v in get(pkt))

        return any_of

    def member(self, node: syntax.Member) -> Test:
        left = self.value(node.value)
        if left.get is None:
            raise self.fail(
                node.value,
                f'"{self.shown(node.value)}" is neither a field nor a protocol tapwatch knows',
            )
        ft = left.ftype or ""
        if ftypes.kind(ft) == "none":
            raise self.fail(node.value, f'"{self.shown(node.value)}" has no value to compare')
        tests: list[Callable[[Any], bool]] = []
        for el in node.elements:
            low = self.typed(self.value(el.low), ft)
            if low.get is None or low.node is None:
                raise self.fail(el.low, "not a value")
            if el.high is None:
                if low.fields:
                    raise self.fail(el.low, "set elements must be values, not fields")
                (lit,) = low.get(_NO_PACKET)
                tests.append(_literal_predicate("==", lit))
                continue
            high = self.typed(self.value(el.high), ft)
            if low.fields or high.fields:
                raise self.fail(el.low, "set elements must be values, not fields")
            assert high.get is not None
            (lo,) = low.get(_NO_PACKET)
            (hi,) = high.get(_NO_PACKET)
            lo = lo.addr if isinstance(lo, ftypes.Network) else lo
            hi = hi.addr if isinstance(hi, ftypes.Network) else hi
            tests.append(_between(lo, hi))

        def in_set(v: Any) -> bool:
            return any(t(v) for t in tests)

        return self._quantified(node.quantifier or "any", left.get, in_set)


# ----------------------------------------------------------------------------- helpers

#: a stand-in packet for evaluating literals (which never look at it)
_NO_PACKET: Final = Packet(b"", -1)
_MIRROR: Final = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_BASE_OP: Final = {
    "==": "==",
    "!=": "==",
    "===": "==",
    "!==": "==",
    "<": "<",
    ">": ">",
    "<=": "<=",
    ">=": ">=",
}
_OPS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_DEFAULT_QUANT: Final = {
    "==": "any",
    "!=": "all",
    "===": "all",
    "!==": "any",
    "<": "any",
    ">": "any",
    "<=": "any",
    ">=": "any",
}
_FUNCTIONS: Final = {
    "len": (1, 1),
    "count": (1, 1),
    "upper": (1, 1),
    "lower": (1, 1),
    "string": (1, 1),
    "abs": (1, 1),
    "max": (1, 64),
    "min": (1, 64),
}


def _div(a: Any, b: Any) -> Any:
    if not b:
        return None
    return a // b if isinstance(a, int) and isinstance(b, int) else a / b


def _mod(a: Any, b: Any) -> Any:
    return None if not b else a % b


_ARITH: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _div,
    "%": _mod,
}


def _bitand(a: Any, b: Any) -> Any:
    if isinstance(a, bytes) and isinstance(b, bytes):
        if len(a) != len(b):
            return None
        return (
            bytes(x & y for x, y in zip(a, b, strict=True))
            if any(x & y for x, y in zip(a, b, strict=True))
            else 0
        )
    return a & b


def _literal_predicate(op: str, lit: Any) -> Callable[[Any], bool]:
    """The test one value must pass against a literal, for one operator."""
    if isinstance(lit, ftypes.Network):
        net = lit
        if op in ("==", "===", "!=", "!=="):
            inside = net.contains
            if op in ("!=", "!=="):
                return lambda v: not inside(v)
            return inside
        lit = net.addr
    if op in ("!=", "!=="):
        return lambda v: v != lit
    if op == "==":
        return lambda v: v == lit
    base = _OPS[_BASE_OP[op]]
    return lambda v: base(v, lit)


def _between(lo: Any, hi: Any) -> Callable[[Any], bool]:
    return lambda v: bool(lo <= v <= hi)


def _comparable(a: str, b: str) -> bool:
    numeric = {"int", "bool", "double"}
    if a == b:
        return True
    if a in numeric and b in numeric:
        return True
    return {a, b} == {"bytes", "string"}


def _as_bytes(v: Any, k: str) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("latin-1", "replace")
    if k == "ipv4":
        return int(v).to_bytes(4, "big")
    if k == "ipv6":
        return int(v).to_bytes(16, "big")
    return bytes(v)


def _text_of(k: str) -> Callable[[Any], str]:
    if k == "bytes":
        return lambda v: v.decode("latin-1")
    return lambda v: v


def _slice(b: bytes, ranges: Sequence[syntax.RangeNode]) -> bytes | None:
    """Wireshark's slice: every range must lie within the value, else there is no value."""
    n = len(b)
    out = []
    for r in ranges:
        s = r.start + n if r.start < 0 else r.start
        if r.length is not None:
            e = s + r.length
        elif r.end is not None:
            e = (r.end + n if r.end < 0 else r.end) + 1
        else:
            e = n
        if s < 0 or e > n or s >= e:
            return None
        out.append(b[s:e])
    return b"".join(out)


def _to_string(v: Any, ft: str) -> str:
    k = ftypes.kind(ft)
    if k == "ipv4":
        return str(ipaddress.IPv4Address(v))
    if k == "ipv6":
        return str(ipaddress.IPv6Address(v))
    if k == "time":
        return f"{v / 1e9:.9f}"
    return str(v)


def _field_values(f: registry.Field, layers: list[syntax.RangeNode] | None) -> Values:
    """How to get a field's values out of a packet (one per occurrence)."""
    protos = (f.protocol, *f.also)
    get = f.get
    multi = f.multi

    if get is None:  # a protocol: its bytes

        def proto_values(pkt: Packet) -> list[Any]:
            found = _layers(pkt, protos, layers)
            return [x.data[x.off : x.end] for x in found]

        return proto_values

    if len(protos) == 1 and layers is None and not multi:
        name = protos[0]

        def one_values(pkt: Packet) -> list[Any]:
            found = pkt.index().get(name)
            if not found:
                return _EMPTY
            if len(found) == 1:
                v = get(pkt, found[0])
                return _EMPTY if v is None else [v]
            out = []
            for layer in found:
                v = get(pkt, layer)
                if v is not None:
                    out.append(v)
            return out

        return one_values

    def values(pkt: Packet) -> list[Any]:
        out: list[Any] = []
        for layer in _layers(pkt, protos, layers):
            v = get(pkt, layer)
            if v is None:
                continue
            if multi:
                out.extend(v)
            else:
                out.append(v)
        return out

    return values


def _layers(
    pkt: Packet, protos: tuple[str, ...], ranges: list[syntax.RangeNode] | None
) -> list[Layer]:
    index = pkt.index()
    if len(protos) == 1:
        found = index.get(protos[0]) or _EMPTY
    else:
        found = [x for x in pkt.layers() if x.name in protos]
    if ranges is None or not found:
        return found
    n = len(found)
    keep: list[Layer] = []
    for r in ranges:
        s = r.start + n + 1 if r.start < 0 else r.start
        if r.length is not None:
            e = s + r.length - 1
        elif r.end is not None:
            e = r.end + n + 1 if r.end < 0 else r.end
        else:
            e = n
        for i in range(max(1, s), min(n, e) + 1):
            if found[i - 1] not in keep:
                keep.append(found[i - 1])
    return keep


def _direct_any(v: Val, quant: str) -> Callable[[Callable[[Any], bool]], Test] | None:
    """For a plain field with one value per layer, "some value passes" without building the
    list of values: the common case, on every packet of a capture."""
    if quant != "any" or len(v.fields) != 1 or not isinstance(v.node, syntax.Word):
        return None
    f = v.fields[0]
    if f.also or f.get is None or v.node.layers is not None:
        return None
    if f.multi:
        return _direct_parts(f)
    name, get = f.protocol, f.get

    def make(pred: Callable[[Any], bool]) -> Test:
        def test(pkt: Packet) -> bool:
            index = pkt._index
            if index is None:
                index = pkt.index()
            found = index.get(name)
            if not found:
                return False
            for layer in found:
                x = get(pkt, layer)
                if x is not None and pred(x):
                    return True
            return False

        return test

    return make


def _direct_parts(f: registry.Field) -> Callable[[Callable[[Any], bool]], Test] | None:
    """``_direct_any`` for a field that is either of two (``tcp.port``): each part's value
    tested in turn, as the list of both would be."""
    if len(f.parts) != 2 or any(p.get is None for p in f.parts):
        return None
    name = f.protocol
    g1, g2 = f.parts[0].get, f.parts[1].get
    assert g1 is not None and g2 is not None

    def make(pred: Callable[[Any], bool]) -> Test:
        def test(pkt: Packet) -> bool:
            index = pkt._index
            if index is None:
                index = pkt.index()
            found = index.get(name)
            if not found:
                return False
            for layer in found:
                x = g1(pkt, layer)
                if x is not None and pred(x):
                    return True
                x = g2(pkt, layer)
                if x is not None and pred(x):
                    return True
            return False

        return test

    return make


def _all_of(parts: list[Test]) -> Test:
    if len(parts) == 2:
        a, b = parts
        return lambda pkt: a(pkt) and b(pkt)
    return lambda pkt: all(p(pkt) for p in parts)


def _any_of(parts: list[Test]) -> Test:
    if len(parts) == 2:
        a, b = parts
        return lambda pkt: a(pkt) or b(pkt)
    return lambda pkt: any(p(pkt) for p in parts)


# ----------------------------------------------------------------------------- the filter


class DisplayFilter:
    """A compiled display filter.

    Packets must be given in capture order (stream numbers, reassembly and
    ``frame.time_delta`` depend on the packets before): :meth:`match_packet` with each
    packet's frame number and time, or :meth:`match` when only the bytes are known.
    Giving a packet numbered at or before the last one starts the capture state again
    (a list that is filtered anew).  ``cost`` is the costliest of the fields used
    (:data:`~tapwatch.dfilter.registry.FAST` ...), ``passes`` the in-order passes run.
    """

    language = "wireshark"

    def __init__(self, expr: str, test: Test, fields: list[registry.Field]) -> None:
        self.expr = expr
        self._test = test
        self.fields = fields
        self.needs = sorted({n for f in fields for n in f.needs})
        self.cost = registry.costliest([f.cost for f in fields])
        #: the filter reads more than the frame's own fields: dissect every packet in order
        self.dissects = any(f.protocol != "frame" for f in fields)
        #: header fields only: the fast walk (tapwatch.dfilter.fastpath) with the generic
        #: walk where it gives up; None: every packet through the generic walk
        self._fast = (
            fastpath.FastPath(
                self.dissects,
                any(p.name in fastpath.ADDING for p in registry.passes_for(set(self.needs))),
            )
            if fastpath.eligible(fields)
            else None
        )
        self.interfaces: list[str | None] = []
        self.numbered_interfaces = False
        self._capture = self.new_capture()
        self._last = 0

    @property
    def passes(self) -> list[str]:
        return [p.name for p in self._capture.passes]

    def new_capture(self) -> Capture:
        return Capture(
            registry.passes_for(set(self.needs)),
            self.interfaces,
            numbered_interfaces=self.numbered_interfaces,
            eager=self.dissects,
        )

    def set_interfaces(self, names: Sequence[str | None], numbered: bool = True) -> None:
        """The capture's interface names by number (``frame.interface_name``)."""
        self.interfaces = list(names)
        self.numbered_interfaces = numbered
        self._capture.interfaces = self.interfaces
        self._capture.numbered_interfaces = numbered

    def restart(self) -> None:
        """Forget what the packets given so far left (a new pass over a capture)."""
        self._capture = self.new_capture()
        self._last = 0

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
        if number <= self._last:
            self.restart()
        self._last = number
        fast = self._fast
        if fast is not None:
            got = fast.packet(
                self._capture, data, linktype, number, ts_ns, iface, direction, orig_len
            )
            if got is not None:
                return self._test(got)
        pkt = self._capture.packet(data, linktype, number, ts_ns, iface, direction, orig_len)
        return self._test(pkt)

    def match_record(self, rec: Any, linktype: int) -> bool:
        """A ring record (its ``seq`` is its frame number)."""
        return self.match_packet(
            rec.data, linktype, rec.seq, rec.ts_ns, rec.iface, None, rec.direction
        )

    def match(self, data: bytes, linktype: int) -> bool:
        """The next packet, numbered after the last one given (its time unknown: 0)."""
        return self.match_packet(data, linktype, self._last + 1)

    def test(self, pkt: Packet) -> bool:
        """The test alone, on a packet already made (by this filter's kind of capture)."""
        return self._test(pkt)


def compile_filter(text: str) -> DisplayFilter | None:
    """``text`` compiled (None for an empty filter); DisplayFilterError says what and where."""
    tree = syntax.parse(text)
    if tree is None:
        return None
    c = Compiler(text)
    test = c.test(tree)
    return DisplayFilter(text, test, list(c.fields.values()))
