"""The decoder's dispatch tables: which handler wins is a stated rule, not an import order.

``core.bind`` places a handler by its name in ``core.PRECEDENCE`` (tcpdump's order of
tests); both ports of a segment bound, or one key bound twice, are resolved by that
place, then the name, then the port.  The tables are built here with the protocol
modules imported in the package's order and in the reverse order, in fresh
interpreters, and must come out the same.  Handlers are defined in subprocesses that
load the decoder's Python source (``TAPWATCH_PURE_PYTHON=1``): an interpreted class
cannot inherit a compiled one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tapwatch.decode import PROTOCOL_MODULES, core

_SNAPSHOT = textwrap.dedent(
    """
    import importlib, json, sys, types
    from pathlib import Path
    import tapwatch
    order = json.loads(sys.argv[1])
    # the package without its __init__ (which imports the modules in its own order)
    pkg = types.ModuleType("tapwatch.decode")
    pkg.__path__ = [str(Path(tapwatch.__file__).parent / "decode")]
    sys.modules["tapwatch.decode"] = pkg
    for name in order:
        importlib.import_module("tapwatch.decode." + name)
    core = sys.modules["tapwatch.decode.core"]
    def table(t):
        return {str(k): [h.name, h.prio, type(h).__qualname__] for k, h in sorted(t.items())}
    tables = {n: table(getattr(core, n))
              for n in ("LINKTYPES", "ETHERTYPES", "IP_PROTOS", "UDP_PORTS", "TCP_PORTS")}
    pairs = {}
    for n in ("UDP_PORTS", "TCP_PORTS"):
        keys = sorted(getattr(core, n))
        for s in keys:
            for d in keys:
                h1, h2 = core.by_port(getattr(core, n), s, d)
                pairs[f"{n} {s} {d}"] = [h1.name if h1 else None, h2.name if h2 else None]
    print(json.dumps({"tables": tables, "pairs": pairs,
                      "heuristics": [h.name for h in core.UDP_HEURISTICS]}))
    """
)

# the package's order (tapwatch/decode/__init__.py)
_ORDER = list(PROTOCOL_MODULES)


def _pure_env() -> dict[str, str]:
    return {**os.environ, "TAPWATCH_PURE_PYTHON": "1"}


def _snapshot(order: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT, json.dumps(order)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_pure_env(),
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_tables_do_not_depend_on_the_order_modules_are_imported() -> None:
    import tapwatch.decode as decode

    modules = sorted(
        m.removeprefix("tapwatch.decode.")
        for m in sys.modules
        if m.startswith("tapwatch.decode.") and hasattr(sys.modules[m], "bind")
    )
    assert set(modules) - {"core"} <= set(_ORDER), "a protocol module the test does not import"
    assert decode.layers  # the package's own import is the first order
    forward = _snapshot(_ORDER)
    backward = _snapshot(list(reversed(_ORDER)))
    assert forward["tables"] == backward["tables"]
    assert forward["pairs"] == backward["pairs"]
    assert forward["heuristics"] == backward["heuristics"]


def test_port_handlers_are_placed_by_precedence() -> None:
    """tcpdump's order where it matters today: DNS before DHCP and everything later; the
    Broadcom LI shim before BFD (UDP 49152 is the shim's source port); the decoding
    handlers of MPLS and PPPoE over the link module's stand-ins that only name them."""
    for table in (core.UDP_PORTS, core.TCP_PORTS):
        for h in table.values():
            assert h.prio == (
                core.PRECEDENCE.index(h.name) if h.name in core.PRECEDENCE else core.LAST
            )
    dns, dhcp = core.UDP_PORTS[53], core.UDP_PORTS[67]
    assert core.by_port(core.UDP_PORTS, 67, 53) == (dns, dhcp)
    assert core.by_port(core.UDP_PORTS, 53, 67) == (dns, dhcp)
    assert core.by_port(core.UDP_PORTS, 3784, 49152)[0] is core.UDP_PORTS[49152]
    assert core.ETHERTYPES[0x8847].prio < core.FALLBACK
    assert core.ETHERTYPES[0x8864].prio < core.FALLBACK
    # two handlers of one name (ISAKMP on 500 and NAT-T 4500): the lower port first
    assert core.by_port(core.UDP_PORTS, 4500, 500)[0] is core.UDP_PORTS[500]


_RULE = textwrap.dedent(
    """
    import json
    from tapwatch.decode import core
    class Toy(core.PortHandler):
        pass
    results = []
    for names, prios in ((("Zed", "Abe"), (-1, -1)), (("DNS", "Zed"), (-1, -1)),
                         (("Zed", "Abe"), (5, 3)), (("Same", "Same"), (-1, -1))):
        got = []
        for flip in (False, True):
            table = {}
            a, b = Toy(names[0]), Toy(names[1])
            pair = [(a, 7000, prios[0]), (b, 7001, prios[1])]
            shared = {}
            for h, port, prio in (reversed(pair) if flip else pair):
                core.bind(table, (port,), h, prio)
                if names[0] != names[1]:
                    core.bind(shared, (9,), h, prio)
            h1, h2 = core.by_port(table, 7001, 7000)
            got.append([h1 is a, shared.get(9, a) is a])
        results.append(got)
    shared = {}
    core.bind(shared, (9,), Toy("Same"))
    try:
        core.bind(shared, (9,), Toy("Same"))
    except ValueError:
        results.append("refused")
    print(json.dumps(results))
    """
)


def test_the_rule_holds_for_any_two_handlers_in_either_order() -> None:
    """Lower place first, then the name, then the port -- and the same for a key two
    handlers are bound to; whichever was bound first.  Two handlers no rule tells
    apart on one key are refused."""
    out = subprocess.run(
        [sys.executable, "-c", _RULE],
        capture_output=True,
        text=True,
        timeout=60,
        env=_pure_env(),
        check=True,
    )
    results = json.loads(out.stdout)
    assert results.pop() == "refused"  # one name, place and class twice on one key
    expected_a_first = [False, True, False, True]  # Abe < Zed; DNS listed; prio 3 < 5; port
    for (fwd, back), a_first in zip(results, expected_a_first, strict=True):
        assert fwd == back, "the outcome changed with the binding order"
        assert fwd == [a_first, a_first]


@pytest.mark.parametrize("name", ["TAP", "FlowTap"])
def test_no_global_changes_what_a_walk_finds(name: str) -> None:
    assert not hasattr(core, name)


_TOY = textwrap.dedent(
    """
    import json
    from scapy.layers.inet import IP, UDP
    from tapwatch import decode
    from tapwatch.decode import core
    from tapwatch.linktypes import LINKTYPE_RAW

    class Toy(core.PortHandler):
        def text(self, d, off, end, length, a, sport, dport):
            a.info = f"Toy message {d[off]}"
            return f"Toy message {d[off]}, length {length}"

        def walk(self, d, off, end, out, sport, dport):
            out.append(self.name)

    core.bind(core.UDP_PORTS, (7777,), Toy("Toy"))  # the one table entry
    frame = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=40000, dport=7777) / b"\\x05abc")
    s = decode.summarize(frame, LINKTYPE_RAW)
    w = decode.walk(frame, LINKTYPE_RAW)
    tree = decode.detail(frame, LINKTYPE_RAW)
    print(json.dumps({
        "text": s.text,
        "layers": list(s.layers),
        "counted": list(decode.layers(frame, LINKTYPE_RAW)),
        "spans": w.spans(len(frame)),
        "tree": [[n.label, n.start, n.end] for n in tree],
    }))
    """
)


def test_a_protocol_is_one_handler_and_one_table_entry() -> None:
    """A toy protocol on UDP 7777, bound in the subprocess and nowhere else, appears in
    the summary line, the counters' layers, the header walk's spans and the tree."""
    out = subprocess.run(
        [sys.executable, "-c", _TOY],
        capture_output=True,
        text=True,
        timeout=120,
        env=_pure_env(),
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["text"] == "IP 10.0.0.1.40000 > 10.0.0.2.7777: Toy message 5, length 4"
    assert got["layers"] == got["counted"] == ["IPv4", "UDP", "Toy"]
    assert got["spans"] == [["IPv4", 0, 20], ["UDP", 20, 28], ["Toy", 28, 32]]
    assert [n[0].split(",")[0] for n in got["tree"]] == [
        "Internet Protocol Version 4",
        "User Datagram Protocol",
        "Toy (4 bytes)",
    ]
    assert [n[1:] for n in got["tree"]] == [[0, 20], [20, 28], [28, 32]]
