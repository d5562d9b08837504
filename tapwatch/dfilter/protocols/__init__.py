"""tapwatch's own protocols, each module binding its walker and registering its fields.

A key (port, ethertype, protocol) is bound once: binding it again is an error at import,
so the import order never decides which walker dissects a packet; a module added here is
all it takes to make a protocol filterable (see :mod:`tapwatch.dfilter.registry` for
modules elsewhere).
"""

from tapwatch.dfilter.protocols import (
    apps,
    datagrams,
    ip,
    link,
    tcp_analysis,
    transactions,
    transport,
    tunnels,
)

__all__ = [
    "apps",
    "datagrams",
    "ip",
    "link",
    "tcp_analysis",
    "transactions",
    "transport",
    "tunnels",
]
