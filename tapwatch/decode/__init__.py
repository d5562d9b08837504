"""Packet decoding: a fast one-line summary for the hot path, scapy for the tree.

Two very different jobs live in this package:

* :func:`summarize` and :func:`layers` run for every visible list row, every
  packet printed headless and every packet counted, so they are hand-written,
  reading header fields byte by byte, and never touch scapy (compiled with mypyc
  when ``pip install`` can).  The protocol modules (``link``, ``ip``,
  ``transport``, ``icmp``, ``dns``, ``dhcp``, ``isakmp``, ``services``, ``apps``, ``tunnels``,
  ``l2tp``, ``ospf``, ``multicast``, ``liveness``, ``ldp``, ``bgp``, ``ppp``, ``wan``, ``pptp``,
  ``overlay``, ``openflow``, ``lan``, ``wifi``, ``eapol``; ``l2tpctl`` prints L2TP's control
  messages for ``l2tp``; ``isakmp_names``, ``openflow_names`` and ``wifi_names`` hold tables)
  each bind handlers into the dispatch tables of :mod:`tapwatch.decode.core`, one
  table per layer boundary (link type, ethertype, IP protocol, UDP and TCP port),
  which both walks share.  :class:`LineFormatter` prints a capture's packets as
  ``tcpdump -nn`` does (``verbose=1``/``2``: as ``tcpdump -v``/``-vv``, see
  :mod:`~tapwatch.decode.verbose`), with its per-connection TCP state;
  :mod:`~tapwatch.decode.parallel` prints a file's chunks in worker processes.

* :func:`detail` and :func:`verbose_text` (:mod:`tapwatch.decode.tree`) dissect the
  one *selected* packet with scapy and map every field back to byte offsets; the
  labels are an analyst's (:mod:`tapwatch.decode.fields`).

The one header walk (:func:`walk`, every handler's ``walk`` method, compiled) is what
every consumer reads a frame's headers from:

* input: the frame's bytes and its link type (nothing else: no global changes what a walk
  finds; the TCP numbering of :func:`~tapwatch.decode.classify.walk_records` travels in
  the walk's own state);
* output, a :class:`~tapwatch.decode.core.Walk`: the layers as ``(name, offset)`` pairs,
  outermost first (``names``/``starts``; :meth:`~tapwatch.decode.core.Walk.spans` adds
  each layer's length), where each layer's header ends as its length fields say
  (``heads``: IPv4's IHL, TCP's data offset, GRE's flags, Geneve's options, the end of
  IPv6's extension headers and of an MPLS stack, L2TP's optional fields) and the headers
  inside a layer (``inner``: each IPv6 extension header, each MPLS label), where a layer
  ends by a length of its own (``ends``: UDP's, an L2TP message's, an OpenVPN record's),
  plus the few fields the consumers need:
  the first network layer's ethertype and offset (``ethertype``, ``net``: replay, the
  peer), the first IP header's version, offset, protocol and datagram end, and that
  header's TCP/UDP ports, payload offset, sequence number and flags (``version``, ``ip``,
  ``proto``, ``ip_end``, ``l4``, ``sport``, ``dport``, ``payload``, ``seq``, ``flags``:
  analysis);
* ``deep=False`` stops at the first transport header; :func:`first_ip` (``Walk.shallow``)
  at the first IP header, once its version, offset and datagram end are set.

Its consumers: :func:`layers` (the counters), the text (below), :mod:`tapwatch.analysis.headers`,
:mod:`tapwatch.replay`, :mod:`tapwatch.peer`, the byte spans of the tree's layers and where
their headers end (the builders read a header's fields, the walk where it ends:
:meth:`~tapwatch.decode.fields.Net.header_end`, and where a UDP datagram, an L2TP message
or an OpenVPN record ends by its length: ``Net.layer_end``), the display filter's link, IP,
MPLS, GRE, AH, UDP, VXLAN, Geneve, L2TP, ERSPAN, OpenVPN and ESP layers
(:func:`tapwatch.dfilter.dissect.walked` and ``carried_end``; :func:`walk_from` walks from a
header the frame's walk did not reach, such as a reassembled datagram or a tunnel's), and
(:func:`first_ip`: a walk that stops at the first IP header) the crossing key of
:mod:`tapwatch.analysis.crossing`.
The text (:func:`summarize`, :func:`line_text`, ``-v``) is a consumer too: each entry point
walks the frame first and hands the walk to the handlers' ``text`` (``Acc.w``).  The
line's layers (``Summary.layers``, the list's Protocol column) are the walk's names, the
counters' own; a ``text`` formats the fields of a header whose boundaries it takes from
the walk, and a header the frame's walk did not reach (one an ICMP error quotes) is walked
from there by the same handler's ``walk`` (``Walk.adopt``) before its text reads it.
When both ports of a segment are bound, the handler with the lower ``prio``
(:func:`~tapwatch.decode.core.bind`) is tried first, by the walk and the text alike.

Differences from ``tcpdump -nn`` (tcpdump 4.99.3), each a flag away:

* Relative TCP numbers need the packets before: the UI list (:func:`summarize`)
  prints absolute numbers, as ``tcpdump -S``; headless and ``-r`` lines
  (:class:`LineFormatter`) print them relative, as tcpdump (``absolute=True``: ``-S``).
* VXLAN's inner frame follows ``: `` on the same line (tcpdump starts a second line),
  so one packet is one line; ``strict=True`` prints tcpdump's two lines.  LISP's records
  and OpenFlow's messages follow on the line too (tcpdump starts a line for each), and
  so does the hex dump tcpdump prints of a payload it cannot name (an ARCNET system code).
* WireGuard (UDP 51820, or any port when the size and type fit), OpenVPN (UDP/TCP
  1194), ERSPAN I/II and L2TPv3 (IP protocol 115, UDP 1701 version 3) show their
  fields and the inner frame; tcpdump 4.99 prints ``UDP, length N``,
  ``gre-proto-0x88be``, ``ip-proto-115`` and ``Unknown Version``; ``strict=True``
  prints those.  WireGuard transport data on port 51820 is taken at any size (a
  full-size packet is not padded to 16 bytes).
* BFD from UDP port 49152 prints as BFD; tcpdump takes that source port for a
  Broadcom LI shim first; ``strict=True`` prints the shim.
* Not (yet) decoded as tcpdump does: the link types no module here binds; inside 802.11
  data frames, LLC other than SNAP and what SNAP carries for a vendor (CDP and the like
  print as a hex dump); BGP's VPN, labeled and EVPN routes; OSPF traffic-engineering
  LSAs; DVMRP and PIMv1; ICMPv6 node information payloads, a packet cut short *inside* a
  tunnel (tcpdump blames the inner header, tapwatch the outer one), the application
  protocols not named in :mod:`~tapwatch.decode.apps` and
  :mod:`~tapwatch.decode.services` (they print as ``UDP, length N``); with ``-v``, RIPv1
  routes.

Nothing in here may raise on hostile input: a capture is attacker-controlled
data.  Truncation is handled explicitly (tcpdump-style ``[|udp]`` markers and
``malformed=True``); a broad ``except`` stays behind that as the last resort.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING, Any

from tapwatch.decode._pure import choose as _choose

_choose()  # the sources instead of the compiled copies: asked for, or the copies are stale

#: The protocol modules, imported in this order: importing one binds its handlers.  The order
#: is tcpdump's order of precedence when both ports of a segment name a protocol (DNS before
#: DHCP ...); the tables themselves must not depend on it (a key is bound once).
PROTOCOL_MODULES = (
    "link",
    "ip",
    "transport",
    "icmp",
    "dns",
    "dhcp",
    "isakmp",
    "services",
    "apps",
    "tunnels",
    "l2tp",
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
    "lan",
    "wifi",
    "eapol",
)
for _name in PROTOCOL_MODULES:
    _importlib.import_module(f"tapwatch.decode.{_name}")

from tapwatch.decode.classify import first_ip, layers, walk, walk_from  # noqa: E402 (after the binding imports)
from tapwatch.decode.core import Cookies, Summary, TcpFlows, Walk  # noqa: E402 (after the binding imports)
from tapwatch.decode.framing import FramedStream, split_frames  # noqa: E402
from tapwatch.decode.line import (  # noqa: E402 (after the binding imports)
    LineFormatter,
    format_line,
    stamp,
)
from tapwatch.decode.summary import (  # noqa: E402 (after the binding imports)
    line_text,
    summarize,
    summarize_with,
)

if TYPE_CHECKING:
    from tapwatch.decode.node import Node
    from tapwatch.decode.tree import detail, verbose_text


def __getattr__(name: str) -> Any:
    """The scapy tree (``detail``, ``verbose_text``, ``Node``) loads on first use: printing
    lines never needs it, and its module costs a tenth of tapwatch's start."""
    if name in ("Node", "detail", "verbose_text", "tree"):
        tree = _importlib.import_module("tapwatch.decode.tree")
        return tree if name == "tree" else getattr(tree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PROTOCOL_MODULES",
    "Cookies",
    "FramedStream",
    "LineFormatter",
    "Node",
    "Summary",
    "TcpFlows",
    "Walk",
    "detail",
    "first_ip",
    "format_line",
    "layers",
    "line_text",
    "split_frames",
    "stamp",
    "summarize",
    "summarize_with",
    "verbose_text",
    "walk",
    "walk_from",
]
