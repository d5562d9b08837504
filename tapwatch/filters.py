"""tcpdump-syntax filters, compiled and run by libpcap itself.

Users already know tcpdump's filter language, so tapwatch does not invent one:
the expression is compiled by libpcap's `pcap_compile` and each packet is
tested with `pcap_offline_filter`, the same BPF interpreter tcpdump uses for
`-r`. The binding is a few ctypes declarations (scapy's own binding would
import all of scapy, ~1.2 s).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Iterable

from tapwatch.errors import TapwatchError
from tapwatch.linktypes import LINKTYPE_RAW, header_name, name

#: libpcap works with DLT_* values; they equal the LINKTYPE_* values except raw IP.
_DLT_RAW_LINUX = 12
_PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
_SNAPLEN = 262144


class FilterError(TapwatchError, ValueError):
    """The expression is not valid tcpdump syntax for this link type."""


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p)]


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _PktHdr(ctypes.Structure):
    _fields_ = [("ts", _Timeval), ("caplen", ctypes.c_uint32), ("len", ctypes.c_uint32)]


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _libpcap() -> ctypes.CDLL:
    """Load libpcap once; a missing library is a clear error, not an OSError."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = ctypes.util.find_library("pcap")
        candidates = [p for p in (path, "libpcap.so.1", "libpcap.so.0.8", "libpcap.so") if p]
        for candidate in candidates:
            try:
                lib = ctypes.CDLL(candidate)
                break
            except OSError:
                continue
        else:
            raise FilterError(
                "filters need libpcap, which is not installed "
                "(install it: apt-get install libpcap0.8)"
            )
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_compile.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(_BpfProgram),
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_uint32,
        ]
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        lib.pcap_close.argtypes = [ctypes.c_void_p]
        lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
        lib.pcap_offline_filter.restype = ctypes.c_int
        lib.pcap_offline_filter.argtypes = [
            ctypes.POINTER(_BpfProgram),
            ctypes.POINTER(_PktHdr),
            ctypes.c_char_p,
        ]
        lib.pcap_datalink_val_to_name.restype = ctypes.c_char_p
        lib.pcap_datalink_val_to_name.argtypes = [ctypes.c_int]
        lib.pcap_datalink_val_to_description.restype = ctypes.c_char_p
        lib.pcap_datalink_val_to_description.argtypes = [ctypes.c_int]
        _lib = lib
        return lib


def link_type_label(linktype: int) -> str:
    """A link type as tcpdump names it after "link-type " (``EN10MB (Ethernet)``): libpcap's
    name and description; tapwatch's own name where libpcap has none (or is missing)."""
    try:
        lib = _libpcap()
    except FilterError:
        return header_name(linktype)
    name = lib.pcap_datalink_val_to_name(_dlt(linktype))
    if not name:
        return header_name(linktype)
    desc = lib.pcap_datalink_val_to_description(_dlt(linktype))
    label = name.decode("ascii", "replace")
    return f"{label} ({desc.decode('ascii', 'replace')})" if desc else label


def _dlt(linktype: int) -> int:
    return _DLT_RAW_LINUX if linktype == LINKTYPE_RAW else linktype


class _BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


def _interruptible(compile_it: Callable[[], int]) -> int:
    """``compile_it()``, run so that Ctrl-C and SIGTERM still work meanwhile.

    libpcap's optimizer takes minutes on some expressions (a few thousand ``port N``
    terms), and a signal's Python handler runs only between bytecodes of the main
    thread: a main thread inside ``pcap_compile`` ignored Ctrl-C and SIGTERM until it
    returned (``tapwatch -r f 'port 1 or ... port 2999'`` outlived ``timeout 60`` by
    ten minutes). So the main thread waits for a daemon thread that compiles; the
    handler's KeyboardInterrupt leaves the wait, and the process, at once.
    """
    if threading.current_thread() is not threading.main_thread():
        return compile_it()
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(compile_it()), name="bpf-compile", daemon=True
    )
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
    if not done:
        raise FilterError("the filter could not be compiled")
    return done[0]


class BpfFilter:
    """An expression compiled for one link type; ``match`` is safe from any thread.

    libpcap runs the program without the interpreter lock, so each thread gets
    its own packet header: with one shared header, a thread could run the
    program with another thread's length (wrong answers, or a read past the
    end of a shorter buffer).
    """

    def __init__(self, expr: str, linktype: int) -> None:
        self.expr = expr
        self.linktype = linktype
        lib = _libpcap()
        self._lib = lib
        handle = lib.pcap_open_dead(_dlt(linktype), _SNAPLEN)
        if not handle:
            raise FilterError(f"libpcap cannot filter {name(linktype)} packets")
        self._prog = _BpfProgram()
        try:
            rc = _interruptible(
                lambda: lib.pcap_compile(
                    handle,
                    ctypes.byref(self._prog),
                    expr.encode("utf-8", "replace"),
                    1,
                    _PCAP_NETMASK_UNKNOWN,
                )
            )
            if rc != 0:
                err = (lib.pcap_geterr(handle) or b"syntax error").decode("utf-8", "replace")
                raise FilterError(f"invalid filter {expr!r}: {err}")
        finally:
            lib.pcap_close(handle)
        self._prog_ref = ctypes.byref(self._prog)
        self._run = lib.pcap_offline_filter
        self._local = threading.local()

    def match(self, data: bytes) -> bool:
        """True when the packet passes the filter."""
        local = self._local
        try:
            hdr = local.hdr
            ref = local.ref
        except AttributeError:
            hdr = local.hdr = _PktHdr()
            ref = local.ref = ctypes.byref(hdr)
        hdr.caplen = hdr.len = len(data)
        return bool(self._run(self._prog_ref, ref, data))

    def program(self) -> list[tuple[int, int, int, int]]:
        """The compiled classic BPF, ``(code, jt, jf, k)`` per instruction.

        What a packet socket takes with SO_ATTACH_FILTER, so a capture filter
        can drop packets in the kernel, as libpcap does for live captures.
        """
        n = self._prog.bf_len
        insns = ctypes.cast(self._prog.bf_insns, ctypes.POINTER(_BpfInsn * n)).contents
        return [(i.code, i.jt, i.jf, i.k) for i in insns]

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        prog = getattr(self, "_prog", None)
        if lib is not None and prog is not None and prog.bf_insns:
            lib.pcap_freecode(ctypes.byref(prog))


class PacketFilter:
    """One expression over packets of several link types, compiled once for each.

    A session may hold a tun (raw IP) and an Ethernet interface at once; the
    same tcpdump expression means the same thing on both, but libpcap compiles
    it per link type. Link types met later are compiled on first use.
    """

    def __init__(self, expr: str, linktypes: Iterable[int] = ()) -> None:
        self.expr = expr
        self._lock = threading.Lock()
        self._by_type: dict[int, BpfFilter] = {}
        for lt in linktypes:
            self.for_linktype(lt)  # an invalid expression fails now, not on the first packet

    def for_linktype(self, linktype: int) -> BpfFilter:
        flt = self._by_type.get(linktype)
        if flt is None:
            with self._lock:
                flt = self._by_type.get(linktype)
                if flt is None:
                    flt = self._by_type[linktype] = BpfFilter(self.expr, linktype)
        return flt

    def match(self, data: bytes, linktype: int) -> bool:
        """True when a packet of ``linktype`` passes."""
        flt = self._by_type.get(linktype)
        if flt is None:
            flt = self.for_linktype(linktype)
        return flt.match(data)


def compile_filter(expr: str, linktype: int) -> BpfFilter | None:
    """Compile ``expr``; an empty or blank expression means "everything" (None)."""
    if not expr or not expr.strip():
        return None
    return BpfFilter(expr.strip(), linktype)


def compile_packet_filter(expr: str, linktypes: Iterable[int]) -> PacketFilter | None:
    """Compile ``expr`` for every link type given; blank means "everything" (None)."""
    if not expr or not expr.strip():
        return None
    return PacketFilter(expr.strip(), linktypes)
