"""Build a packet to inject from a one-line scapy expression.

The UI's inject dialog takes expressions such as
``IP(dst="192.168.3.11")/UDP(dport=9)/b"hi"`` or ``Ether()/ARP(pdst="10.0.0.1")``,
previews them on every keystroke (:func:`preview`) and sends one only when the
user presses Enter (:func:`build`, then the session writes the bytes into the
device). Three guarantees make that safe to run while someone types:

* **Only a whitelist runs.** The expression is parsed and walked by a small
  evaluator of our own, not ``eval``: scapy layer classes and a few ``Rand*``
  value generators are the only names, calls go only to them, and the only
  syntax is literals, ``/`` between layers and a little arithmetic. No
  attribute access (packets have methods that write files or send), no ``**``.
  This is not a sandbox against the user, who runs tapwatch as root anyway; it
  keeps a half-typed expression from doing anything but building bytes.
* **Nothing is sent or resolved.** Every Ethernet layer, inner ones included,
  gets explicit addresses, so scapy never ARPs or solicits a neighbour to fill
  one in. While an expression is evaluated, built and dissected for the
  summary, the evaluating thread may not resolve a host name, open or use a
  socket, start a program or write a file: a Python audit hook refuses it at
  the C boundary, whichever scapy helper (or any other code) asks, and the
  refusal becomes the one-line error. Address fields that hold a name are
  refused before building, so the resolver is not even called.
* **Nothing can hang the UI or eat memory.** Every intermediate value is
  weighed before it is made (``b"x" * n``, ``1 << n``, ``"%300000000d" % 0``,
  huge ``f"{0:300000000}"`` widths, big literals, deep nesting), and
  evaluation, building and the summary together run under a time budget.

scapy is imported lazily: it costs over a second and only crafting needs it.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import logging
import operator
import os
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from tapwatch.errors import TapwatchError
from tapwatch.linktypes import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_RAW,
)
from tapwatch.linktypes import name as linktype_name

#: Default Ethernet addresses for frames built for a tap. The source matches
#: nothing in particular (locally administered); the destination is broadcast,
#: which Linux accepts for unicast IP unless drop_unicast_in_l2_multicast is set.
#: Callers that know better pass the responder's MAC and the tap's own MAC.
DEFAULT_ETH_SRC = "02:00:00:00:00:01"
DEFAULT_ETH_DST = "ff:ff:ff:ff:ff:ff"

#: Largest frame we hand to a device: an IP datagram cannot exceed 65535 bytes,
#: plus an Ethernet header with two VLAN tags.
MAX_FRAME = 65535 + 22
#: Longest expression accepted: room for a whole frame written as ``\xNN`` escapes.
MAX_EXPRESSION = 4 * MAX_FRAME + 1024
#: Most bytes any value made while evaluating may weigh (strings, lists, packets).
MAX_VALUE = 4 * MAX_FRAME
#: Largest integer, in bits: far beyond any field (an IPv6 address is 128 bits),
#: small enough that every arithmetic operation on it is instant.
MAX_INT_BITS = 8192
#: Deepest nesting of calls, operators and brackets.
MAX_DEPTH = 100
#: CPU seconds that evaluating, building and summarising one expression may take.
TIME_BUDGET = 1.0
#: Largest constant allowed in a ``*`` repetition (checked before anything runs).
_MAX_REPEAT = 65535

_RAND_NAMES = (
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

_lock = threading.Lock()
_namespace: dict[str, Any] | None = None


class CraftError(TapwatchError):
    """The expression could not be turned into a frame for this device; one-line message."""


# ---- refusing the network while an expression is evaluated ------------------------------


class _Abort(BaseException):
    """Stops an evaluation from inside scapy.

    A BaseException, so that scapy's ``except Exception`` (and ``except
    socket.error``, e.g. where a missing MAC falls back to broadcast) cannot
    swallow it; :func:`_guarded` turns it into a :class:`CraftError`.
    """


class _Refused(_Abort):
    """An operation a packet expression may not cause (resolving, sockets, programs)."""


class _TooSlow(_Abort):
    """The time budget ran out."""


class _Guard(threading.local):
    """Per thread: inside an evaluation or not, and the first thing refused there."""

    active = 0
    refused: str | None = None


_guard = _Guard()
_hook_installed = False
#: How many threads are evaluating right now: the audit hook's fast way out (a module
#: global is cheaper to read than a thread-local, and every audited event in every thread
#: of the process pays for that read).
_evaluating = 0
_evaluating_lock = threading.Lock()

#: Audit events that send or receive, or create the means to: always refused.
_SOCKET_EVENTS = frozenset(
    {
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
    }
)
#: Audit events that run another program.
_PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


_FAMILIES: dict[int, tuple[int, ...]] = {
    socket.AF_INET: (socket.AF_INET,),
    socket.AF_INET6: (socket.AF_INET6,),
}


def _is_literal(host: object, family: int = socket.AF_UNSPEC) -> bool:
    """Whether ``host`` is an address literal of ``family`` (or absent): nothing to resolve.

    The family matters: glibc asked for an IPv4 address of ``fd00::1`` goes to DNS.
    """
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        try:
            host = bytes(host).decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(host, str):
        return False
    for fam in _FAMILIES.get(family, (socket.AF_INET, socket.AF_INET6)):
        try:
            socket.inet_pton(fam, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def _is_address_text(text: str, families: tuple[int, ...]) -> bool:
    """An address literal, optionally with ``/prefix`` (a range) or ``%scope``, of ``families``."""
    host, slash, prefix = text.partition("/")
    if slash and not (prefix.isdigit() and len(prefix) <= 3):
        return False
    if socket.AF_INET6 in families:
        host = host.partition("%")[0]
    return any(_is_literal(host, fam) for fam in families)


def _name_message(host: object, version: str = "") -> str:
    text = host.decode("ascii", "replace") if isinstance(host, (bytes, bytearray)) else str(host)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text!r} is not an IP{version} address (tapwatch does not resolve host names)"


def _why_refused(event: str, args: tuple[Any, ...]) -> str | None:
    """The user's message if ``event`` may not happen during an evaluation, else None."""
    if event == "socket.getaddrinfo":
        host = args[0] if args else None
        family = args[2] if len(args) > 2 and isinstance(args[2], int) else socket.AF_UNSPEC
        return None if _is_literal(host, family) else _name_message(host)
    if event == "socket.gethostbyname":
        host = args[0] if args else None
        return None if _is_literal(host, socket.AF_INET) else _name_message(host)
    if event in ("socket.gethostbyaddr", "socket.getnameinfo"):
        return "looking up the name of an address is refused (tapwatch does not resolve)"
    if event in _SOCKET_EVENTS:
        return (
            "building this packet would use a network socket; a packet expression "
            "only makes bytes (give every address, MACs included, explicitly)"
        )
    if event in _PROCESS_EVENTS:
        return "a packet expression cannot start programs"
    if event == "open" and len(args) >= 3:
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            return "a packet expression cannot write files"
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Process-wide audit hook; does something only in a thread that is evaluating."""
    if not _evaluating or not _guard.active:
        return
    why = _why_refused(event, args)
    if why is not None:
        if _guard.refused is None:
            _guard.refused = why
        raise _Refused(why)


class _QuietWhileGuarded(logging.Filter):
    """Drops scapy's log records from a thread that is evaluating.

    scapy warns on stderr (a DNS decompression loop, a MAC it could not find),
    which would draw over the UI; the user gets the one-line error instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _guard.active


def _install_hook() -> None:
    """Add the audit hook and the log filter once per process (audit hooks cannot be removed)."""
    global _hook_installed
    with _lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            quiet = _QuietWhileGuarded()
            for name in ("scapy", "scapy.runtime", "scapy.loading", "scapy.interactive"):
                logging.getLogger(name).addFilter(quiet)
            _hook_installed = True


@contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`_TooSlow` in this thread's Python code once it has run ``seconds``.

    A trace function checks the clock at every Python call and line. The clock
    is the thread's own CPU time, so a machine busy with other work does not
    turn a legitimate preview into an error (nothing in an evaluation may
    block: lookups and sockets are refused). The budget is skipped when a
    tracer is already set (a debugger or coverage), rather than taking it
    over; the size limits still hold then.
    """
    if sys.gettrace() is not None:
        yield
        return
    clock = time.thread_time
    deadline = clock() + seconds

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if clock() > deadline:
            raise _TooSlow
        return tracer

    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(None)


@contextmanager
def _guarded() -> Iterator[None]:
    """Evaluate, build and dissect inside this: no network, bounded time, one-line errors."""
    global _evaluating
    _install_hook()
    outer = _guard.active == 0
    if outer:
        _guard.refused = None
        with _evaluating_lock:
            _evaluating += 1
    _guard.active += 1
    try:
        with _time_budget(TIME_BUDGET) if outer else contextlib.nullcontext():
            yield
    except _TooSlow:
        raise CraftError(
            f"building this packet takes more than {TIME_BUDGET:g} s; simplify the expression"
        ) from None
    except _Refused as exc:
        raise CraftError(_guard.refused or str(exc)) from None
    except (RecursionError, MemoryError):
        raise CraftError("the expression is nested too deeply or is too large") from None
    except CraftError:
        if outer and _guard.refused is not None:
            raise CraftError(_guard.refused) from None
        raise
    finally:
        _guard.active -= 1
        if outer:
            with _evaluating_lock:
                _evaluating -= 1
    if outer and _guard.refused is not None:
        # something asked and quietly fell back (scapy turns a failed MAC lookup into broadcast)
        raise CraftError(_guard.refused)


@contextmanager
def no_network() -> Iterator[None]:
    """While inside, this thread may not resolve names, use sockets or start programs.

    What :func:`build` and :func:`preview` run under; public so that tests and
    other code dissecting untrusted input with scapy can use the same guard.
    A refused operation raises :class:`CraftError` at the end of the block.
    """
    with _guarded():
        yield


# ---- scapy ------------------------------------------------------------------------------


def _scapy_namespace() -> dict[str, Any]:
    """Import scapy once and collect the names an expression may use."""
    global _namespace
    with _lock:
        if _namespace is not None:
            return _namespace
        import scapy.all as scapy_all
        from scapy.config import conf
        from scapy.packet import Packet

        # Routes and interfaces are read here, outside any guard, so that a
        # build only ever looks them up in memory.
        _ = conf.route.routes, conf.route6.routes, conf.ifaces
        ns: dict[str, Any] = {
            name: obj
            for name, obj in vars(scapy_all).items()
            if isinstance(obj, type) and issubclass(obj, Packet) and not name.startswith("_")
        }
        for name in _RAND_NAMES:
            obj = getattr(scapy_all, name, None)
            if obj is not None:
                ns[name] = obj
        _namespace = ns
        return ns


# ---- the evaluator ----------------------------------------------------------------------

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

#: printf-style conversion: %[(key)][flags][width][.precision][length]type
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.|$)", re.S)
_DIGITS = re.compile(r"\d+")


def _check_syntax(expr: str) -> ast.Expression:
    """Parse ``expr`` and allow only what building a packet needs, before anything runs.

    Layer calls with arguments, ``/`` between layers, literals and a little
    arithmetic. Attribute access is refused: scapy packets have methods that
    write files or touch the network (``pdfdump``, ``sr1``-style helpers), and
    a packet expression has no use for them. Power is refused and constant
    repetition bounded, because ``9**9**9`` or ``b"x" * 10**10`` would hang the
    UI; computed sizes are weighed by the evaluator.
    """
    if len(expr) > MAX_EXPRESSION:
        raise CraftError(f"the expression is {len(expr)} characters; at most {MAX_EXPRESSION}")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise CraftError(f"syntax error{where}: {_one_line(exc.msg)}") from None
    except (MemoryError, RecursionError):
        raise CraftError("the expression is nested too deeply") from None
    except ValueError as exc:  # e.g. a NUL character in the source
        raise CraftError(f"cannot parse the expression: {_one_line(exc)}") from None
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CraftError(f"the expression is nested too deeply (at most {MAX_DEPTH} levels)")
        _check_node(node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.Attribute):
        raise CraftError(f"attribute access (.{node.attr}) is not allowed in a packet expression")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise CraftError(f"name {node.id!r} is not allowed in a packet expression")
    if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
        raise CraftError(
            'calls other than layers are not allowed in a packet expression (IP(dst="..."))'
        )
    if isinstance(node, ast.keyword) and (node.arg is None or node.arg.startswith("_")):
        what = "**" if node.arg is None else node.arg
        raise CraftError(f"argument {what!r} is not allowed in a packet expression")
    if isinstance(node, ast.Dict) and any(k is None for k in node.keys):
        raise CraftError("** unpacking is not allowed in a packet expression")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for side in (node.left, node.right):
            if isinstance(side, ast.BinOp) and isinstance(side.op, ast.Mult):
                raise CraftError("nested repetition (a * b * c) is not allowed")
            if (
                isinstance(side, ast.Constant)
                and isinstance(side.value, int)
                and abs(side.value) > _MAX_REPEAT
            ):
                shown = str(side.value) if abs(side.value) < 10**12 else "a huge number"
                raise CraftError(f"repetition by {shown} is too large (max {_MAX_REPEAT})")
    if not isinstance(node, _ALLOWED_NODES):
        raise CraftError(f"{type(node).__name__} is not allowed in a packet expression")


def _weight(value: Any, limit: int = MAX_VALUE) -> int:
    """Roughly how many bytes ``value`` stands for; counting stops once past ``limit``.

    Shared references count every time (``[b"x" * 60000] * 60000`` is one
    string but builds 3.6 GB), which is why the count must stop early.
    """
    from scapy.packet import NoPayload, Packet

    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (str, bytes, bytearray)):
            total += len(v) + 1
        elif isinstance(v, int):
            total += v.bit_length() // 8 + 1
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += len(v) + 1
            stack.extend(v)
        elif isinstance(v, dict):
            total += len(v) + 1
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, Packet):
            while isinstance(v, Packet) and not isinstance(v, NoPayload):
                total += 16
                stack.extend(v.fields.values())
                v = v.payload
        else:
            total += 8
        if total > limit:
            break
    return total


def _too_big(what: str) -> CraftError:
    return CraftError(f"{what} would be too large (at most {MAX_VALUE} bytes per value)")


def _check_printf(fmt: str | bytes | bytearray) -> None:
    """Refuse ``%`` formatting whose widths or precisions would allocate a lot."""
    text = fmt.decode("latin-1") if isinstance(fmt, (bytes, bytearray)) else fmt
    for m in _PRINTF.finditer(text):
        for number in (m.group(1), m.group(2)):
            if number == "*":
                raise CraftError("a '*' width in % formatting is not allowed; write the number")
            if number and (len(number) > 7 or int(number) > MAX_VALUE):
                raise _too_big(f"a % format width of {number[:12]}")


def _check_format_spec(spec: str) -> None:
    for number in _DIGITS.findall(spec):
        if len(number) > 7 or int(number) > MAX_VALUE:
            raise _too_big(f"a format width of {number[:12]}")


def _check_binary(op: type[ast.operator], left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before computing it."""
    ints = isinstance(left, int) and isinstance(right, int)
    if op is ast.Mult:
        if ints:
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise CraftError(f"a product of more than {MAX_INT_BITS} bits is too large")
            return
        for count, thing in ((left, right), (right, left)):
            if (
                isinstance(count, int)
                and not isinstance(thing, (int, float, complex))
                and count > 0
                and _weight(thing) * count > MAX_VALUE
            ):
                raise _too_big(f"repeating a value {count} times")
    elif op is ast.LShift and ints:
        if right > MAX_INT_BITS or left.bit_length() + right > MAX_INT_BITS:
            raise CraftError(f"a number of more than {MAX_INT_BITS} bits is too large")
    elif op is ast.Mod and isinstance(left, (str, bytes, bytearray)):
        _check_printf(left)
    elif op is ast.Add and not ints and _weight(left) + _weight(right) > MAX_VALUE:
        raise _too_big("joining these values")


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


def _check_layer_call(cls: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Before a layer is made: known fields only, and no host name in an address field.

    scapy resolves a name given to an address field (``IP(dst="host")``, an
    IPv6 routing header's ``addresses``, DHCPv6 server lists: some when the
    layer is made, some when it is built) or, where the field may also hold raw
    bytes (ARP ``pdst``), quietly puts the name's letters on the wire.
    """
    if len(args) > 1:
        raise CraftError(
            f"{cls.__name__}() takes field=value arguments (and at most the bytes to dissect)"
        )
    fields = {f.name: f for f in cls.fields_desc}
    for name, value in kwargs.items():
        fld = fields.get(name)
        if fld is None:
            if name in getattr(cls, "deprecated_fields", {}):
                continue
            raise CraftError(f"{cls.__name__} has no field {name!r}")
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
                raise CraftError(f"{cls.__name__} {name}: {_name_message(text, version)}")


class _Evaluator:
    """Walks a checked expression tree, weighing every value before and after it is made."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names

    def eval(self, node: ast.AST) -> Any:
        value = self._eval(node)
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise CraftError(f"a number of more than {MAX_INT_BITS} bits is too large")
        if _weight(value) > MAX_VALUE:
            raise _too_big("a value")
        return value

    def _eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            try:
                return self.names[node.id]
            except KeyError:
                raise CraftError(
                    f"unknown name {node.id!r}: only scapy layers like IP, UDP, Ether"
                ) from None
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left), self.eval(node.right)
            op = type(node.op)
            _check_binary(op, left, right)
            return _BINARY[op](left, right)
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
        raise CraftError(f"{type(node).__name__} is not allowed in a packet expression")

    def _call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # _check_syntax refused anything else
        func = self.eval(node.func)
        args = [self.eval(a) for a in node.args]
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords if k.arg}
        if isinstance(func, type) and hasattr(func, "fields_desc"):
            _check_layer_call(func, args, kwargs)
        if node.func.id in _SIZED_RANDS:
            size = kwargs.get("size", args[0] if args else None)
            if isinstance(size, int) and size > MAX_FRAME:
                raise CraftError(f"{node.func.id} of {size} bytes is too large (max {MAX_FRAME})")
            if size is not None and not isinstance(size, int):
                raise CraftError(f"{node.func.id} needs a number of bytes")
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
        _check_format_spec(spec)
        return format(value, spec)


def _one_line(exc: BaseException | str) -> str:
    """scapy messages can span lines; the UI has room for one."""
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return text or (type(exc).__name__ if isinstance(exc, BaseException) else "")


def _describe(exc: BaseException) -> str:
    """``Kind: message`` for an exception raised while evaluating or building."""
    if isinstance(exc, struct.error):
        # e.g. a payload too long for IP's 16-bit length field
        return f"a value does not fit its field ({_one_line(exc)})"
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _evaluate(expr: str) -> Any:
    if not expr or not expr.strip():
        raise CraftError(
            'empty expression: type a scapy expression such as IP(dst="10.0.0.1")/ICMP()'
        )
    tree = _check_syntax(expr.strip())
    try:
        return _Evaluator(_scapy_namespace()).eval(tree)
    except CraftError:
        raise
    except Exception as exc:
        raise CraftError(_describe(exc)) from None


# ---- from packet to frame ---------------------------------------------------------------


def _layers(pkt: Any) -> Iterator[Any]:
    """Every layer of ``pkt``: the payload chain and packets held in fields, at any depth."""
    from scapy.packet import NoPayload, Packet

    stack = [pkt]
    seen = 0
    while stack:
        layer = stack.pop()
        while isinstance(layer, Packet) and not isinstance(layer, NoPayload):
            seen += 1
            if seen > 10000:
                raise CraftError("the packet has too many layers")
            yield layer
            for value in layer.fields.values():
                if isinstance(value, Packet):
                    stack.append(value)
                elif isinstance(value, list):
                    stack.extend(v for v in value if isinstance(v, Packet))
            layer = layer.payload


def _plain_field(fld: Any, layer: Any) -> Any:
    """The field that really encodes ``fld`` in ``layer``, through conditional/multi-type ones."""
    from scapy.fields import _FieldContainer

    for _ in range(16):
        find = getattr(fld, "_find_fld_pkt_val", None)
        if find is not None:
            # chooses as scapy does for the value held (ARP hwsrc is a MAC while hwlen is unset)
            fld = find(layer, layer.fields.get(fld.name))[0]
        elif isinstance(fld, _FieldContainer):
            fld = fld.fld
        else:
            break
    return fld


def _fill_links(pkt: Any, eth_src: str, eth_dst: str) -> None:
    """Give every link address scapy would look up an explicit value.

    An Ether/Dot3 without ``dst`` makes scapy resolve it on the network (ARP or
    neighbour solicitation on whatever interface routes there, even for an
    Ether inside GRE); a source MAC left out (Ether, ARP ``hwsrc``, the NDP
    link-layer option...) takes one of the host's. The peer's addresses are
    what belongs there: ``eth_dst`` for destinations, ``eth_src`` for sources.
    """
    from scapy.layers.l2 import DestMACField, SourceMACField

    for layer in _layers(pkt):
        for fld in layer.fields_desc:
            # Look at the raw field values: a None dst is what triggers resolution.
            if layer.fields.get(fld.name) is not None:
                continue
            plain = _plain_field(fld, layer)
            if isinstance(plain, DestMACField):
                layer.setfieldval(fld.name, eth_dst)
            elif isinstance(plain, SourceMACField):
                layer.setfieldval(fld.name, eth_src)


def _more_than_one(pkt: Any) -> bool:
    """Whether ``pkt`` stands for several packets (``IP(dst="10.0.0.0/8")``, ``dport=(1, 9)``).

    Looks at the first two only: scapy's own count enumerates every packet.
    """
    try:
        return len(list(itertools.islice(iter(pkt), 2))) > 1
    except Exception:
        return False


def _count(pkt: Any) -> int:
    """How many packets ``pkt`` stands for, from its address ranges and value lists, cheaply."""
    from scapy.base_classes import Net

    total = 1
    for layer in _layers(pkt):
        for fld in layer.fields_desc:
            value = layer.fields.get(fld.name)
            if isinstance(value, Net):
                total *= max(int(value.count), 1)
            elif (
                isinstance(value, tuple)
                and len(value) == 2
                and all(isinstance(v, int) for v in value)
            ):
                total *= max(value[1] - value[0] + 1, 1)
            elif isinstance(value, list) and not fld.islist:
                total *= max(len(value), 1)
    return total


def _mac_text(mac: str | bytes | None, default: str) -> str:
    if mac is None:
        return default
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise CraftError(f"a MAC address has 6 bytes, not {len(mac)}")
        return ":".join(f"{b:02x}" for b in mac)
    return mac


def _to_frame(pkt: Any, linktype: int, eth_src: str, eth_dst: str) -> bytes:
    """Turn the user's packet into exactly what the device takes, or explain why not."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Packet

    from tapwatch.replay import convert

    if not isinstance(pkt, Packet):
        what = type(pkt).__name__
        raise CraftError(
            f"the expression gives a value of type {what}, not a packet (try IP()/UDP()/Raw(...))"
        )
    top = pkt.__class__.__name__
    if _more_than_one(pkt):
        count = _count(pkt)
        many = f"{count} packets" if count > 1 else "more than one packet"
        raise CraftError(f"the expression makes {many}; build one at a time")

    try:
        if linktype == LINKTYPE_ETHERNET:
            if isinstance(pkt, (IP, IPv6, ARP)) or top in ("Dot3", "Dot1Q"):
                pkt = Ether(src=eth_src, dst=eth_dst) / pkt
            elif not isinstance(pkt, Ether):
                raise CraftError(
                    f"a tap device takes Ethernet frames; {top} is not one "
                    "(start with Ether(), IP(), IPv6() or ARP())"
                )
        _fill_links(pkt, eth_src, eth_dst)
        if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
            if isinstance(pkt, Ether):
                frame = convert(_build(pkt), LINKTYPE_ETHERNET, LINKTYPE_RAW)
                if frame is None:
                    raise CraftError("a tun device takes IP packets, not Ethernet/ARP")
            elif isinstance(pkt, ARP) or top in ("Dot3", "Dot1Q", "CookedLinux"):
                raise CraftError("a tun device takes IP packets, not Ethernet/ARP")
            else:
                frame = _build(pkt)
            version = frame[0] >> 4 if frame else 0
            wanted = {LINKTYPE_RAW: (4, 6), LINKTYPE_IPV4: (4,), LINKTYPE_IPV6: (6,)}[linktype]
            if version not in wanted:
                if version in (4, 6):
                    raise CraftError(
                        f"a {linktype_name(linktype)} device takes "
                        f"IPv{wanted[0]} packets, not IPv{version}"
                    )
                if isinstance(pkt, (IP, IPv6)):
                    raise CraftError(f"IP version {version} is neither IPv4 nor IPv6")
                raise CraftError(
                    f"a tun device takes IP packets; {top} is not one (start with IP() or IPv6())"
                )
            return frame
        if linktype == LINKTYPE_ETHERNET:
            return _build(pkt)
    except (CraftError, _Abort):
        raise
    except Exception as exc:
        raise CraftError(_describe(exc)) from None
    raise CraftError(f"cannot inject into a {linktype_name(linktype)} device")


def _build(pkt: Any) -> bytes:
    data = bytes(pkt)
    if not data:
        raise CraftError("the expression builds an empty packet")
    if len(data) > MAX_FRAME:
        raise CraftError(f"the packet is {len(data)} bytes; a device takes at most {MAX_FRAME}")
    return data


def _summary(data: bytes, linktype: int) -> str:
    try:
        if linktype == LINKTYPE_ETHERNET:
            from scapy.layers.l2 import Ether

            return str(Ether(data).summary())
        if data[0] >> 4 == 6:
            from scapy.layers.inet6 import IPv6

            return str(IPv6(data).summary())
        from scapy.layers.inet import IP

        return str(IP(data).summary())
    except Exception as exc:
        return f"{len(data)} bytes (no summary: {_one_line(exc)})"


def build(
    expr: str,
    linktype: int,
    *,
    eth_src: str | bytes | None = None,
    eth_dst: str | bytes | None = None,
) -> bytes:
    """Evaluate scapy expression ``expr`` and return the bytes to write into the device.

    For a tun (``LINKTYPE_RAW``) the result is an IPv4/IPv6 packet: an
    ``Ether()/IP()`` frame has its Ethernet header (and VLAN tags) stripped,
    anything that is not IP is a :class:`CraftError`. For a tap
    (``LINKTYPE_ETHERNET``) a bare ``IP``/``IPv6``/``ARP`` packet is wrapped in
    ``Ether(src=eth_src, dst=eth_dst)``; every Ethernet layer the user built,
    inner ones included, keeps the addresses they gave and gets
    ``eth_src``/``eth_dst`` for the ones left out.

    Sends nothing and resolves nothing (see the module docstring); every
    failure, including a refused lookup and the time budget, is a one-line
    :class:`CraftError`.
    """
    src = _mac_text(eth_src, DEFAULT_ETH_SRC)
    dst = _mac_text(eth_dst, DEFAULT_ETH_DST)
    _scapy_namespace()  # importing scapy reads routes over netlink: before the guard
    with _guarded():
        pkt = _evaluate(expr)
        return _to_frame(pkt, linktype, src, dst)


def preview(
    expr: str,
    linktype: int,
    *,
    eth_src: str | bytes | None = None,
    eth_dst: str | bytes | None = None,
) -> tuple[bytes, str]:
    """Bytes :func:`build` would give plus scapy's one-line summary of them.

    The summary is taken from re-dissecting the final bytes, so it shows what
    will actually go into the device (checksums, stripped/added Ethernet). The
    summary is scapy's text: sanitize it before display like any packet text.
    """
    _scapy_namespace()
    with _guarded():
        data = build(expr, linktype, eth_src=eth_src, eth_dst=eth_dst)
        return data, _summary(data, linktype)
