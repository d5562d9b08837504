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

_PACKAGE = "tapwatch.decode."
_HERE = Path(__file__).resolve().parent
#: The compiled modules of this package (setup.py's list).
_COMPILED = (
    *("core", "names", "link", "ip", "transport", "icmp", "dns", "dhcp", "services", "apps"),
    *("tunnels", "summary", "classify", "line", "verbose"),
    *("ospf", "multicast", "liveness", "ldp", "bgp", "ppp", "wan"),
)
#: Compiled modules outside this package (setup.py's list), by module name.
_OTHERS = {"tapwatch.pcap.records": _HERE.parent / "pcap" / "records.py"}


class _SourceFirst(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = _OTHERS.get(fullname)
        if source is None:
            if not fullname.startswith(_PACKAGE) or "." in fullname[len(_PACKAGE) :]:
                return None
            source = _HERE / (fullname[len(_PACKAGE) :] + ".py")
        if not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def _sources() -> list[Path]:
    return [_HERE / f"{name}.py" for name in _COMPILED] + list(_OTHERS.values())


def stale() -> bool:
    """Whether a compiled module is older than its source (an edited development checkout)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for source in _sources():
        try:
            if source.stat().st_mtime > source.with_name(source.stem + suffix).stat().st_mtime:
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
