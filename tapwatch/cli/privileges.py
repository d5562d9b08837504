"""``-Z``: everything the run will need loaded, then root given up."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from tapwatch.cli.messages import Failure
from tapwatch.cli.validation import user_ids
from tapwatch.errors import TapwatchError

if TYPE_CHECKING:
    from tapwatch.cli.options import RunOptions

#: What a run may import after -Z, loaded while every file can still be read.
_PRELOAD = (
    "tapwatch.filters",
    "tapwatch.headless",
    "tapwatch.pcap",
    "tapwatch.pcap.merge",
    "tapwatch.analysis.crossing",
    "tapwatch.replay",
    "tapwatch.peer",
    "encodings.idna",
    "ctypes",
    "ctypes.util",
    "pwd",
)


def preload(opts: RunOptions, ui: bool) -> None:
    """Import now what the run will need, while tapwatch may still read every file.

    After ``-Z`` the interpreter's own files can be out of reach (a Python
    installed under /root, say), and a module imported lazily later would fail.
    """
    import importlib

    mods = list(_PRELOAD)
    if ui:
        mods += ["tapwatch.app", "tapwatch.terminal"]
    for mod in mods:
        importlib.import_module(mod)
    if ui or opts.fmt.verbose > 2:
        from tapwatch.decode import tree

        tree._load_scapy()  # the protocol tree and -vvv dissect with scapy
    from tapwatch.filters import _libpcap

    with contextlib.suppress(TapwatchError):
        _libpcap()  # the shared library too


def drop_privileges(user: str) -> None:
    uid, gid = user_ids(user)
    try:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    except PermissionError:
        raise Failure(f"-Z {user}: cannot change user (tapwatch is not running as root)") from None


def become_user(opts: RunOptions, ui: bool) -> None:
    """With -Z: preload, then drop to the user (nothing to do without it)."""
    if opts.output.user:
        preload(opts, ui)
        drop_privileges(opts.output.user)
