"""Helper processes started from one thread that lives as long as tapwatch.

The filter check's child and the protocol tree's child ask the kernel to kill them
when their parent goes (``PR_SET_PDEATHSIG``), so that a tapwatch killed outright
leaves none behind. The kernel reads "parent" as the *thread* that started the
child, though: started from a UI worker thread, a child was killed as soon as that
worker ended, and every check and every selected packet paid for a new child and its
imports (0.1 s a filter check, 0.5 s a tree). Started here, from one thread kept for
the life of the process, a child lives until tapwatch does.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: One thread, idle between starts, never ended before the interpreter is.
_KEEPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="child-keeper")


def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """:class:`subprocess.Popen` of ``args``, run on the keeper thread (its errors raised
    here, in the caller's thread)."""

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, **kwargs)

    return _KEEPER.submit(start).result()
