"""tapwatch's own protocols, each module binding its walker and registering its fields.

The import order is the binding order; a module added here is all it takes to make a
protocol filterable (see :mod:`tapwatch.dfilter.registry` for modules elsewhere).
"""

from tapwatch.dfilter.protocols import (
    apps,
    ip,
    link,
    tcp_analysis,
    transactions,
    transport,
    tunnels,
)

__all__ = ["apps", "ip", "link", "tcp_analysis", "transactions", "transport", "tunnels"]
