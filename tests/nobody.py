"""Run a command as ``nobody`` in a private mount namespace set up like a common distribution.

Only that mount namespace changes: ``/dev/net/tun`` there is a new node with
the mode asked for (distributions ship 0666; this host's is 0600), and
directories nobody may not traverse on the way to this Python interpreter
(e.g. a /root that is 0700) are covered by a tmpfs that holds just that way
through. The host's nodes, modes and mounts are never changed.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from netns import Netns

NOBODY = 65534
_KEEP = "/mnt"  # a scratch tmpfs inside the private mount namespace


def _reach(targets: Sequence[str]) -> list[str]:
    """Shell commands that make each target path traversable by others."""
    cmds: list[str] = []
    covered: set[Path] = set()
    n = 0
    for target in targets:
        parts = Path(target).parts
        for i in range(1, len(parts) - 1):
            d = Path(*parts[: i + 1])
            if d in covered or os.stat(d).st_mode & 0o001:
                continue
            nxt = parts[i + 1]
            keep = f"{_KEEP}/{n}"
            n += 1
            is_dir = (d / nxt).is_dir()
            cmds += [
                f"{'mkdir' if is_dir else 'touch'} {keep}",
                f"mount --bind {shlex.quote(str(d / nxt))} {keep}",
                f"mount -t tmpfs -o mode=755 tw-reach {shlex.quote(str(d))}",
                f"{'mkdir' if is_dir else 'touch'} {shlex.quote(str(d / nxt))}",
                f"mount --bind {keep} {shlex.quote(str(d / nxt))}",
            ]
            covered.add(d)
    if cmds:
        cmds.insert(0, f"mount -t tmpfs tw-keep {_KEEP}")
    return cmds


def as_nobody(ns: Netns, args: Sequence[str], *, tun_mode: int | None = 0o666) -> list[str]:
    """The command that runs ``args`` as nobody inside ``ns`` (see the module's description).

    ``tun_mode`` None leaves /dev/net/tun as the host has it.
    """
    repo = str(Path(__file__).resolve().parent.parent)
    script = _reach([os.path.realpath(sys.executable), repo])
    if tun_mode is not None:
        script += [
            "mount -t tmpfs -o mode=755 tw-tun /dev/net",
            f"mknod -m {tun_mode:o} /dev/net/tun c 10 200",
        ]
    script.append('exec runuser -u nobody -- "$@"')
    return ns.cmd(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-ec",
            "; ".join(script),
            "sh",
            *args,
        ]
    )
