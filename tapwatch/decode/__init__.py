"""Packet decoding: a fast one-line summary for the hot path, scapy for the tree.

Two very different jobs live in this package:

* :func:`summarize` and :func:`layers` run for every visible list row, every
  packet printed headless and every packet counted, so they are hand-written with
  ``struct`` and slicing and never touch scapy.  The protocol modules (``link``,
  ``ip``, ``transport``, ``icmp``, ``dns``, ``dhcp``, ``apps``, ``tunnels``) each
  bind handlers into the dispatch tables of :mod:`tapwatch.decode.core`, one
  table per layer boundary (link type, ethertype, IP protocol, UDP and TCP port),
  which both walks share.  :class:`LineFormatter` prints a capture's packets as
  ``tcpdump -nn`` does, with its per-connection TCP state.

* :func:`detail` and :func:`verbose_text` (:mod:`tapwatch.decode.tree`) dissect the
  one *selected* packet with scapy and map every field back to byte offsets.

Nothing in here may raise on hostile input: a capture is attacker-controlled
data.  Truncation is handled explicitly (tcpdump-style ``[|udp]`` markers and
``malformed=True``); a broad ``except`` stays behind that as the last resort.
"""

from __future__ import annotations

from tapwatch.decode import apps as _apps  # noqa: F401
from tapwatch.decode import dhcp as _dhcp  # noqa: F401

# Binding order is tcpdump's order of precedence when both ports of a segment are known.
from tapwatch.decode import dns as _dns  # noqa: F401  (binds its handlers)
from tapwatch.decode import icmp as _icmp  # noqa: F401
from tapwatch.decode import ip as _ip  # noqa: F401
from tapwatch.decode import link as _link  # noqa: F401
from tapwatch.decode import transport as _transport  # noqa: F401
from tapwatch.decode import tunnels as _tunnels  # noqa: F401
from tapwatch.decode.classify import layers
from tapwatch.decode.core import Summary
from tapwatch.decode.line import LineFormatter, format_line
from tapwatch.decode.summary import summarize
from tapwatch.decode.tree import Node, detail, verbose_text

__all__ = [
    "LineFormatter",
    "Node",
    "Summary",
    "detail",
    "format_line",
    "layers",
    "summarize",
    "verbose_text",
]
