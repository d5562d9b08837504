"""Build hook: compile the per-packet modules (the decoder, the pcap record loops) with mypyc.

``pip install .`` gets a compiled decoder when mypyc (a pinned build requirement) and
a C compiler are available, and the pure-Python one otherwise: the modules are the
same source either way.  ``TAPWATCH_NO_COMPILE=1`` at build time skips compiling;
``TAPWATCH_OPT_LEVEL`` (0-3, default 3) is the C compiler's optimisation level: CI builds
at 1, which compiles in about 60% of the time of 3 and runs the same code, only slower.
``TAPWATCH_PURE_PYTHON=1`` at run time makes an installed compiled decoder load
its Python source instead (how CI tests both).

Whatever keeps the decoder from being compiled (no compiler, no mypyc, a compile that
fails) never fails the install; it is written into the package (``_build.txt``), and
``tapwatch --version`` says it, since ``pip install -q`` shows no build output.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
_PURE = HERE / "tapwatch" / "decode" / "_pure.py"


def _pure_module():  # type: ignore[no-untyped-def]
    """tapwatch/decode/_pure.py, loaded alone (it needs nothing but the standard library)."""
    spec = importlib.util.spec_from_file_location("_tapwatch_pure", _PURE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_pure = _pure_module()
#: The modules on the per-packet path, as files (the list itself lives in _pure.py).
COMPILED = [name.replace(".", "/") + ".py" for name in _pure.COMPILED_MODULES]


def _note(why: str, *roots: Path) -> None:
    """Say why the decoder is pure Python: on stderr now, and in the package for later.

    The note is written into the source tree (build_py copies it into the wheel, and an
    editable install reads it there) and, once the package is built, into the build.
    """
    if why:
        print(f"tapwatch: {why}; installing the pure-Python decoder", file=sys.stderr)
    for root in roots or (HERE,):
        path = root / "tapwatch" / "decode" / _pure.BUILD_NOTE
        if path.parent.is_dir():
            path.write_text(why + "\n" if why else "", encoding="utf-8")


def _ext_modules() -> list:
    if os.environ.get("TAPWATCH_NO_COMPILE"):
        _note("not compiled: TAPWATCH_NO_COMPILE was set when it was installed")
        return []
    if not (shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")):
        _note("not compiled: there was no C compiler when it was installed")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _note("not compiled: mypyc was not available when it was installed")
        return []
    level = os.environ.get("TAPWATCH_OPT_LEVEL", "3")
    if level not in {"0", "1", "2", "3"}:
        _note(f"not compiled: TAPWATCH_OPT_LEVEL must be 0, 1, 2 or 3, not {level!r}")
        return []
    try:
        modules = mypycify(COMPILED, opt_level=level, separate=True)
    except (Exception, SystemExit) as exc:  # a failed compile must not fail the install
        _note(f"compiling it failed ({exc.__class__.__name__}: pip install -v shows why)")
        return []
    for ext in modules:  # no debugging symbols (Python's own CFLAGS ask for -g): debug info
        ext.extra_compile_args.append("-g0")  # for generated C took a third of the compile
    _note("")
    return modules


#: The tunnel end's frames moved without the GIL (tapwatch/_relay.c: hand-written, for a measured
#: hot path, bench/RESULTS.md). Built beside the mypyc modules whenever there is a C compiler;
#: without it (or when it fails to build) tunnel.py moves the frames itself, and
#: ``tapwatch --version`` says which.
RELAY = "tapwatch._relay"


def _relay_modules() -> list:
    if os.environ.get("TAPWATCH_NO_COMPILE"):
        return []
    if not (shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")):
        return []
    return [Extension(RELAY, ["tapwatch/_relay.c"], extra_compile_args=["-g0", "-O2"])]


class _BuildExt(build_ext):
    """Compiling C that fails leaves the pure-Python decoder, said, not a failed install.

    Each module is its own C file (``separate=True``), compiled on every processor at once:
    one big file kept one core busy for minutes while the others waited."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extension(self, ext: Extension) -> None:
        if ext.name != RELAY:
            super().build_extension(ext)
            return
        try:  # the relay failing to build leaves tunnel.py's own loop, never a failed install
            super().build_extension(ext)
        except Exception as exc:
            Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            print(f"tapwatch: the tunnel relay was not compiled ({exc})", file=sys.stderr)
            self._no_relay = True

    def copy_extensions_to_source(self) -> None:
        """An editable install copies what was built; a relay that failed is not there."""
        if getattr(self, "_no_relay", False):
            self.extensions = [e for e in self.extensions if e.name != RELAY]
        super().copy_extensions_to_source()

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            for ext in self.extensions:  # nothing half-built is left to be imported
                if ext.name != RELAY:  # (its own failure is caught in build_extension)
                    Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            why = f"compiling it failed ({exc.__class__.__name__}: pip install -v shows why)"
            _note(why, HERE, Path(self.build_lib))


setup(ext_modules=_ext_modules() + _relay_modules(), cmdclass={"build_ext": _BuildExt})
