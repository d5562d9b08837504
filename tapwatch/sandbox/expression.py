"""The whitelist evaluator: a packet expression becomes a scapy object, and nothing else runs.

The inject dialog takes expressions such as ``IP(dst="192.168.3.11")/UDP(dport=9)/b"hi"``.
They are parsed and walked by this small evaluator, not ``eval``: scapy layer classes and a
few ``Rand*`` value generators are the only names, calls go only to them, and the only
syntax is literals, ``/`` between layers and a little arithmetic. No attribute access
(packets have methods that write files or send), no ``**``. Address fields that hold a
name are refused before the layer is made, so the resolver is not even called.

How big or slow a value may be is not weighed here: the process evaluating runs under
memory, CPU and time limits (:mod:`tapwatch.sandbox.confine`), which bound every value,
known type or not.
"""

from __future__ import annotations

import ast
import operator
import socket
from collections.abc import Callable
from typing import Any

from tapwatch.sandbox.guard import BuildError, is_literal, name_message
from tapwatch.sandbox.protocol import MAX_FRAME, one_line

#: Deepest nesting of calls, operators and brackets.
MAX_DEPTH = 100

RAND_NAMES = (
    "RandShort",
    "RandInt",
    "RandLong",
    "RandByte",
    "RandNum",
    "RandIP",
    "RandIP6",
    "RandMAC",
    "RandString",
    "RandBin",
    "RandChoice",
    "RandSShort",
    "RandSInt",
)
#: Generators whose first argument (or ``size``) is how many bytes they make.
_SIZED_RANDS = frozenset({"RandString", "RandBin"})

_ALLOWED_NODES = (
    ast.Expression, ast.Call, ast.keyword, ast.Name, ast.Load, ast.Constant,
    ast.BinOp, ast.UnaryOp, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.JoinedStr, ast.FormattedValue,
    ast.Div, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod,
    ast.BitOr, ast.BitAnd, ast.BitXor, ast.LShift, ast.RShift,
    ast.USub, ast.UAdd, ast.Invert,
)  # fmt: skip

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Div: operator.truediv, ast.Add: operator.add, ast.Sub: operator.sub,
    ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}


def scapy_names() -> dict[str, Any]:
    """Import scapy and collect the names an expression may use.

    Routes and interfaces are read here, before any child is confined, so that building
    only ever looks them up in memory (the child's own network namespace is empty).
    """
    import scapy.all as scapy_all
    from scapy.config import conf
    from scapy.packet import Packet

    _ = conf.route.routes, conf.route6.routes, conf.ifaces
    names: dict[str, Any] = {
        name: obj
        for name, obj in vars(scapy_all).items()
        if isinstance(obj, type) and issubclass(obj, Packet) and not name.startswith("_")
    }
    for name in RAND_NAMES:
        obj = getattr(scapy_all, name, None)
        if obj is not None:
            names[name] = obj
    return names


def syntax_message(exc: SyntaxError, expr: str, lead: int = 0) -> str:
    """``syntax error at column N (near '...'): why``; ``lead`` characters were stripped
    from the front of ``expr``, so the column counts from 1 in the text as typed."""
    where = ""
    if exc.offset and (exc.lineno or 1) == 1:
        near = expr[max(exc.offset - 6, 0) : exc.offset + 3]
        where = f" at column {exc.offset + lead}" + (f" (near {near!r})" if near.strip() else "")
    return f"syntax error{where}: {one_line(exc.msg or 'invalid syntax', 80)}"


def check_syntax(expr: str) -> ast.Expression:
    """Parse ``expr`` and allow only what building a packet needs, before anything runs.

    Attribute access is refused: scapy packets have methods that write files or touch
    the network (``pdfdump``, ``sr1``-style helpers), and a packet expression has no use
    for them. Power is refused: ``9**9**9`` has no place in a packet.
    """
    lead = len(expr) - len(expr.lstrip())
    expr = expr.strip()
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise BuildError(syntax_message(exc, expr, lead)) from None
    except (MemoryError, RecursionError):
        raise BuildError("the expression is nested too deeply") from None
    except ValueError as exc:  # e.g. a NUL character in the source
        raise BuildError(f"cannot parse the expression: {one_line(str(exc), 120)}") from None
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BuildError(f"the expression is nested too deeply (at most {MAX_DEPTH} levels)")
        _check_node(node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.Attribute):
        raise BuildError(f"attribute access (.{node.attr}) is not allowed in a packet expression")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise BuildError(f"name {node.id!r} is not allowed in a packet expression")
    if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
        raise BuildError(
            'calls other than layers are not allowed in a packet expression (IP(dst="..."))'
        )
    if isinstance(node, ast.keyword) and (node.arg is None or node.arg.startswith("_")):
        what = "**" if node.arg is None else node.arg
        raise BuildError(f"argument {what!r} is not allowed in a packet expression")
    if isinstance(node, ast.Dict) and any(k is None for k in node.keys):
        raise BuildError("** unpacking is not allowed in a packet expression")
    if not isinstance(node, _ALLOWED_NODES):
        raise BuildError(f"{type(node).__name__} is not allowed in a packet expression")


def _address_families(fld: Any) -> tuple[tuple[int, ...], bool]:
    """Address families field ``fld`` may hold, and whether it may hold raw bytes instead.

    Seen through scapy's wrappers: conditional fields, lists of addresses and
    multi-type fields (ARP ``pdst`` is IPv4, IPv6 or raw bytes by ``ptype``).
    """
    from scapy.fields import FieldListField, IP6Field, IPField, _FieldContainer
    from scapy.layers.inet6 import IP6ListField

    families: set[int] = set()
    raw = False
    todo = [fld]
    for _ in range(64):
        if not todo:
            break
        f = todo.pop()
        alternatives = getattr(f, "flds", None)
        if alternatives is not None:  # MultipleTypeField
            todo.extend(alt for alt, _cond in alternatives)
            todo.append(f.dflt)
        elif isinstance(f, _FieldContainer):
            todo.append(f.fld)
        elif isinstance(f, FieldListField):
            todo.append(f.field)
        elif isinstance(f, IPField):
            families.add(socket.AF_INET)
        elif isinstance(f, (IP6Field, IP6ListField)):
            families.add(socket.AF_INET6)
        else:
            raw = True
    return tuple(sorted(families)), raw


def _is_address_text(text: str, families: tuple[int, ...]) -> bool:
    """An address literal, optionally with ``/prefix`` (a range) or ``%scope``, of ``families``."""
    host, slash, prefix = text.partition("/")
    if slash and not (prefix.isdigit() and len(prefix) <= 3):
        return False
    if socket.AF_INET6 in families:
        host = host.partition("%")[0]
    return any(is_literal(host, fam) for fam in families)


def _check_layer_call(cls: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Before a layer is made: known fields only, and no host name in an address field.

    scapy resolves a name given to an address field (``IP(dst="host")``, an IPv6 routing
    header's ``addresses``, DHCPv6 server lists: some when the layer is made, some when it
    is built) or, where the field may also hold raw bytes (ARP ``pdst``), quietly puts the
    name's letters on the wire.
    """
    if len(args) > 1:
        raise BuildError(
            f"{cls.__name__}() takes field=value arguments (and at most the bytes to dissect)"
        )
    fields = {f.name: f for f in cls.fields_desc}
    for name, value in kwargs.items():
        fld = fields.get(name)
        if fld is None:
            if name in getattr(cls, "deprecated_fields", {}):
                continue
            raise BuildError(f"{cls.__name__} has no field {name!r}")
        families, raw = _address_families(fld)
        if not families:
            continue
        version = ""
        if len(families) == 1:
            version = "v4" if families[0] == socket.AF_INET else "v6"
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            text = item
            if isinstance(item, (bytes, bytearray)):
                if raw:
                    continue  # raw bytes where the field allows them
                text = bytes(item).decode("latin-1")
            if isinstance(text, str) and not _is_address_text(text, families):
                raise BuildError(f"{cls.__name__} {name}: {name_message(text, version)}")


class Evaluator:
    """Walks a checked expression tree; names are the only way to reach anything."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            try:
                return self.names[node.id]
            except KeyError:
                raise BuildError(
                    f"unknown name {node.id!r}: only scapy layers like IP, UDP, Ether"
                ) from None
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left), self.eval(node.right)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self.eval(node.operand))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.List):
            return [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e) for e in node.elts)
        if isinstance(node, ast.Set):
            return {self.eval(e) for e in node.elts}
        if isinstance(node, ast.Dict):
            pairs = zip(node.keys, node.values, strict=True)
            return {self.eval(k): self.eval(v) for k, v in pairs if k is not None}
        if isinstance(node, ast.JoinedStr):
            return "".join(str(self.eval(v)) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self._format(node)
        raise BuildError(f"{type(node).__name__} is not allowed in a packet expression")

    def _call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # check_syntax refused anything else
        func = self.eval(node.func)
        args = [self.eval(a) for a in node.args]
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords if k.arg}
        if isinstance(func, type) and hasattr(func, "fields_desc"):
            _check_layer_call(func, args, kwargs)
        if node.func.id in _SIZED_RANDS:
            size = kwargs.get("size", args[0] if args else None)
            if size is not None and not isinstance(size, int):
                raise BuildError(f"{node.func.id} needs a number of bytes")
            if isinstance(size, int) and size > MAX_FRAME:
                raise BuildError(f"{node.func.id} of {size} bytes is too big (max {MAX_FRAME})")
        return func(*args, **kwargs)

    def _format(self, node: ast.FormattedValue) -> str:
        value = self.eval(node.value)
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("s"):
            value = str(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        spec = self.eval(node.format_spec) if node.format_spec is not None else ""
        return format(value, spec)


def evaluate(expr: str, names: dict[str, Any]) -> Any:
    """The scapy object ``expr`` stands for; a :class:`BuildError` for what is not allowed."""
    if not expr.strip():
        raise BuildError(
            'empty expression: type a scapy expression such as IP(dst="10.0.0.1")/ICMP()'
        )
    return Evaluator(names).eval(check_syntax(expr))
