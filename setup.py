"""Build hook: compile the per-packet modules (the decoder, the pcap record loops) with mypyc.

``pip install .`` gets a compiled decoder when mypyc (a build requirement) and a C
compiler are available, and the pure-Python one otherwise: the modules are the
same source either way.  ``TAPWATCH_NO_COMPILE=1`` at build time skips compiling.
``TAPWATCH_PURE_PYTHON=1`` at run time makes an installed compiled decoder load
its Python source instead (how CI tests both).
"""

from __future__ import annotations

import os
import shutil
import sys

from setuptools import setup

#: The modules on the per-packet path: the decoder (the scapy tree stays Python) and the
#: classic pcap record loops.  Keep tapwatch/decode/_pure.py's list in step.
COMPILED = [
    *(
        f"tapwatch/decode/{m}.py"
        for m in (
            "core",
            "names",
            "link",
            "ip",
            "transport",
            "icmp",
            "dns",
            "dhcp",
            "services",
            "apps",
            "tunnels",
            "summary",
            "classify",
            "line",
            "verbose",
            "ospf",
            "multicast",
            "liveness",
            "ldp",
            "bgp",
            "ppp",
            "wan",
        )
    ),
    "tapwatch/pcap/records.py",
]


def _ext_modules() -> list:
    if os.environ.get("TAPWATCH_NO_COMPILE"):
        return []
    if not (shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")):
        print("tapwatch: no C compiler, installing the pure-Python decoder", file=sys.stderr)
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("tapwatch: mypyc not available, installing the pure-Python decoder", file=sys.stderr)
        return []
    try:
        return mypycify(COMPILED, opt_level="3", separate=False)
    except (Exception, SystemExit) as exc:  # a failed compile must not fail the install
        print(
            f"tapwatch: compiling the decoder failed ({exc}); pure Python instead", file=sys.stderr
        )
        return []


setup(ext_modules=_ext_modules())
