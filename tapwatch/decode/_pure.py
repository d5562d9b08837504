"""``TAPWATCH_PURE_PYTHON=1``: load the Python source of the compiled modules where both exist.

An installed tapwatch may carry mypyc-compiled copies of the per-packet modules
(the decoder, the pcap record loops) beside their source, and Python imports the
compiled ones first.  CI runs the tests both ways; this finder, put in front of
the import system before the first such module is imported, hands out the
``.py`` files instead.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_PACKAGE = "tapwatch.decode."
_HERE = Path(__file__).resolve().parent
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


def prefer_source() -> None:
    """Install the finder once (idempotent)."""
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())


def compiled() -> bool:
    """Whether the running decoder is the compiled one (for tests and benchmarks)."""
    core = sys.modules.get(_PACKAGE + "core")
    return core is not None and not str(getattr(core, "__file__", "")).endswith(".py")
