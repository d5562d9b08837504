"""What an expression that escapes the evaluator and its guard can reach from the sandbox.

Run as root inside a test's private network namespace (``ip netns exec``), where tcpdump
listens on every interface and a route leads everywhere. Prints one JSON object:

* ``previews``: the reviewed expressions previewed through the front, as the dialog does;
* ``unguarded``: the same evaluated in a confined child with the evaluator's early checks
  taken away (names reach scapy's resolvers, Ether layers their neighbour lookup), once
  under the guard and once with the guard gone too;
* ``escaped``: Python code that reaches ``os`` through object introspection (no name, no
  builtin) and tries to open, send, resolve, start, regain root..., run in a confined
  child by Python's own ``eval``: the evaluator and the guard are not there at all;
* ``control``: the same introspection in this process, unconfined, where it works (and
  sends the one datagram tcpdump should see).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from waiting import TIMEOUT

from tapwatch import craft
from tapwatch.sandbox import expression, frame
from tapwatch.sandbox.confine import Limits
from tapwatch.sandbox.guard import BuildError
from tapwatch.sandbox.protocol import BUILT, Request, parse_built, parse_failed
from tapwatch.sandbox.server import Sandbox

#: ``os``'s globals, reached from an empty tuple: what an escape from any evaluator looks like.
OS = (
    "[c for c in ().__class__.__base__.__subclasses__() "
    "if c.__name__ == '_wrap_close'][0].__init__.__globals__"
)
SOCKET = OS + "['sys'].modules['socket']"

ESCAPES = {
    "open a file": OS + "['open']('/etc/hostname', 0)",
    "make a socket": SOCKET + ".socket(2, 2)",
    "resolve a name": SOCKET + ".getaddrinfo('tapwatch-test.invalid', 53)",
    "start a process": OS + "['fork']()",
    "run a program": OS + "['posix_spawn']('/bin/true', ['true'], {})",
    "regain root": OS + "['setuid'](0)",
    "signal another process": OS + "['kill'](1, 0)",
    "allow more descriptors": OS + "['sys'].modules['resource'].setrlimit(7, (64, 64))",
    "free a descriptor, then send": (
        f"({OS}['close'](0), {SOCKET}.socket(2, 2).sendto(b'escaped', ('10.77.9.53', 53)))"
    ),
    "free a descriptor, then read a file": OS + "['open']('/etc/hostname', 0)",
    "free a descriptor, then create a file": OS + "['open']('escaped', 0o101)",
    "free a descriptor, then a raw socket": SOCKET + ".socket(17, 3)",
    "free a descriptor, then a UNIX socket": SOCKET + ".socket(1, 1).connect('/dev/log')",
}


def attempt(code: str) -> str:
    """``ok`` or the error's kind (errno name where there is one) of evaluating ``code``."""
    me = os.getpid()
    try:
        eval(code, {"__builtins__": {}})
    except OSError as e:
        return f"{type(e).__name__} {errno.errorcode.get(e.errno or 0, e.errno)}"
    except Exception as e:
        return type(e).__name__
    finally:
        if os.getpid() != me:  # a fork that worked: the copy must not go on
            os._exit(0)
    return "ok"


def escapes(sandbox: Sandbox) -> Any:
    def work() -> tuple[bytes, bytes]:
        results: dict[str, Any] = {what: attempt(code) for what, code in ESCAPES.items()}
        results["walls"] = sandbox.walls
        return BUILT, b"\x00\x00" + json.dumps(results).encode()

    return work


def unguarded(exprs: list[tuple[str, int]], names: dict[str, Any], guard: bool) -> Any:
    def work() -> tuple[bytes, bytes]:
        from scapy.base_classes import Net

        # names reach scapy's resolver, Ether layers their neighbour lookup
        Net.name2addr = classmethod(  # type: ignore[method-assign,assignment]
            lambda cls, name: socket.getaddrinfo(name, None, cls.family)[0][-1][0]
        )
        expression._check_layer_call = lambda *a: None  # type: ignore[assignment]
        frame.fill_links = lambda *a: None  # type: ignore[assignment]
        if not guard:
            frame.no_network = contextlib.nullcontext  # type: ignore[assignment]
        out = {}
        for expr, lt in exprs:
            try:
                data, _ = frame.build(
                    Request(expr, lt, "02:00:00:00:00:aa", "52:54:00:00:00:01"), names
                )
                out[expr] = f"built {len(data)} bytes"
            except BuildError as e:
                out[expr] = f"error: {e}"
            except Exception as e:
                out[expr] = f"error: {type(e).__name__}: {e}"
        return BUILT, b"\x00\x00" + json.dumps(out).encode()

    return work


def run(sandbox: Sandbox, work: Any) -> Any:
    kind, payload = sandbox.run(work)
    if kind != BUILT:
        return {"failed": parse_failed(payload)}
    return json.loads(parse_built(payload)[0])


def main() -> None:
    exprs = [tuple(e) for e in json.loads(sys.argv[1])]
    result: dict[str, Any] = {"previews": {}}
    for expr, lt in exprs:
        try:
            data, _ = craft.preview(
                expr, lt, eth_src="02:00:00:00:00:aa", eth_dst="52:54:00:00:00:01"
            )
            result["previews"][expr] = f"built {len(data)} bytes"
        except craft.CraftError as e:
            result["previews"][expr] = f"error: {e}"
    names = expression.scapy_names()
    sandbox = Sandbox(Limits(wall=TIMEOUT))  # the tests' patience on a loaded machine
    result["unguarded"] = run(sandbox, unguarded(exprs, names, guard=True))
    result["no guard"] = run(sandbox, unguarded(exprs, names, guard=False))
    result["escaped"] = run(sandbox, escapes(sandbox))
    control = {what: attempt(ESCAPES[what]) for what in ("open a file", "make a socket")}
    with contextlib.suppress(OSError):  # (unreachable where no test set a route up)
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"control", ("10.77.9.9", 9))
    result["control"] = control
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
