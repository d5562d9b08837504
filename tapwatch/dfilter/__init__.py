"""Wireshark's display-filter language over tapwatch's fields, beside tcpdump's BPF.

``tcp.flags.syn == 1 && ip.src == 10.0.0.1``, ``http.request.method in {"GET", "HEAD"}``,
``dns.qry.name matches "example"``: the filter bar and ``-Y`` take what an analyst
types into Wireshark and select what tshark's ``-Y`` selects on the same capture.

* :mod:`~tapwatch.dfilter.syntax` reads the text (errors name the token and column);
* :mod:`~tapwatch.dfilter.compile` gives it Wireshark 4.0's meaning over
  multi-valued fields and turns it into a test;
* :mod:`~tapwatch.dfilter.registry` is the field registry that protocol modules
  (:mod:`~tapwatch.dfilter.protocols`) and other parts of tapwatch extend;
* :mod:`~tapwatch.dfilter.dissect` finds a packet's layers with ``struct``, never
  scapy, in the spirit of the fast decoder;
* :mod:`~tapwatch.dfilter.fastpath` walks the usual link/IP/transport stacks in one
  function for filters on header fields alone, and hands the rest to the generic walk;
* :mod:`~tapwatch.dfilter.language` tells the two languages apart.
"""

from tapwatch.dfilter.compile import DisplayFilter, compile_filter
from tapwatch.dfilter.syntax import DisplayFilterError

__all__ = ["DisplayFilter", "DisplayFilterError", "compile_filter"]
