"""tapwatch: watch, record and answer the traffic of Linux tun/tap devices."""

__version__ = "0.1.0"
