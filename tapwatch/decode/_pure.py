"""``TAPWATCH_PURE_PYTHON=1``: load the Python source of the compiled modules where both exist.

An installed tapwatch may carry mypyc-compiled copies of the per-packet modules
(the decoder, the pcap record loops) beside their source, and Python imports the
compiled ones first.  CI runs the tests both ways; this finder, put in front of
the import system before the first such module is imported, hands out the
``.py`` files instead.

The same finder guards a development checkout (``pip install -e .``): the
compiled copies are built once, at install time, so after an edit to one of
the sources they would silently run the old code.  :func:`stale` notices a
source newer than its compiled copy and the whole decoder then loads from
source (compiled and source modules are never mixed).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

#: The modules mypyc compiles: the decoder's per-packet ones (the scapy tree stays Python)
#: and the classic pcap record loops. The one list: setup.py reads it from this file.
COMPILED_MODULES = (
    *(
        f"tapwatch.decode.{m}"
        for m in ("core", "names", "link", "ip", "transport", "icmp", "dns", "dhcp", "line")
    ),
    *(
        f"tapwatch.decode.{m}"
        for m in ("isakmp", "isakmp_names", "services", "apps", "tunnels", "summary", "classify")
    ),
    *(
        f"tapwatch.decode.{m}"
        for m in (
            "verbose",
            "ospf",
            "multicast",
            "liveness",
            "ldp",
            "bgp",
            "ppp",
            "wan",
            "pptp",
            "overlay",
            "openflow",
            "openflow_names",
            "lan",
            "wifi",
            "wifi_names",
            "l2tpctl",
            "l2tp",
            "eapol",
        )
    ),
    "tapwatch.pcap.records",
)
#: What setup.py found when it built this install: why the decoder was not compiled, if not.
BUILD_NOTE = "_build.txt"

_PACKAGE = "tapwatch.decode."
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent.parent  # where the tapwatch package lies
#: The compiled modules by name, with their source files.
_SOURCES = {name: _ROOT / (name.replace(".", "/") + ".py") for name in COMPILED_MODULES}


class _SourceFirst(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = _SOURCES.get(fullname)
        if source is None:
            if not fullname.startswith(_PACKAGE) or "." in fullname[len(_PACKAGE) :]:
                return None
            source = _HERE / (fullname[len(_PACKAGE) :] + ".py")
        if not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


#: How much newer than its compiled copy a source must be to count as edited since the build:
#: ``pip install .`` unpacks the wheel's compiled module a moment before its source (measured:
#: 0.3 ms; longer on a loaded machine), and that is one install, not an edit.
EDIT_MARGIN_S = 10.0


def stale() -> bool:
    """Whether a compiled module is older than its source (an edited development checkout)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for source in _SOURCES.values():
        try:
            built = source.with_name(source.stem + suffix).stat().st_mtime
            if source.stat().st_mtime > built + EDIT_MARGIN_S:
                return True
        except OSError:  # no compiled copy (a pure install): nothing can be stale
            continue
    return False


def choose() -> None:
    """Load the sources when asked to (``TAPWATCH_PURE_PYTHON``) or the compiled ones are stale."""
    if os.environ.get("TAPWATCH_PURE_PYTHON") or stale():
        prefer_source()


def prefer_source() -> None:
    """Install the finder once (idempotent)."""
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())


def compiled() -> bool:
    """Whether the running decoder is the compiled one (for tests and benchmarks)."""
    core = sys.modules.get(_PACKAGE + "core")
    return core is not None and not str(getattr(core, "__file__", "")).endswith(".py")


def describe() -> str:
    """Which decoder runs, and why it is the pure-Python one when it is (``--version``).

    ``pip install -q`` hides the build's output: a compile that failed, or was
    never tried, is said here.
    """
    import tapwatch.decode  # noqa: F401 (loads the decoder as every run does)

    if compiled():
        return "compiled with mypyc"
    if os.environ.get("TAPWATCH_PURE_PYTHON"):
        return "pure Python (TAPWATCH_PURE_PYTHON is set)"
    if stale():
        return "pure Python (a source is newer than its compiled copy: reinstall to compile it)"
    try:
        note = (_HERE / BUILD_NOTE).read_text(encoding="utf-8").strip()
    except OSError:
        note = ""
    return f"pure Python ({note})" if note else "pure Python"
