"""``summarize``: one frame to a :class:`~tapwatch.decode.core.Summary`, stateless, never raising.

Why hand-written: this runs for every packet printed and every visible row, where
scapy's ~250 µs per packet would cap us at a few thousand packets per second.
"""

from __future__ import annotations

import socket
from typing import Any, Final

from tapwatch.decode.classify import walk
from tapwatch.decode.core import LINKTYPES, Acc, Cookies, Summary, TcpFlows
from tapwatch.decode.names import SLL_PKTTYPES
from tapwatch.linktypes import LINKTYPE_LINUX_SLL2, LINKTYPE_RAW

#: ``Summary(...)`` goes through a Python-level ``__new__``; the hot path skips it.
_new_summary: Final = tuple.__new__


def summarize(data: Any, linktype: int) -> Summary:
    """Decode ``data`` (one frame of ``linktype``) into a :class:`Summary`; never raises.

    TCP sequence numbers are absolute (each call sees one packet); the stateful
    :class:`~tapwatch.decode.line.LinePrinter` prints them relative, as tcpdump.
    """
    try:
        if type(data) is not bytes:
            data = bytes(data)
        a = Acc(None, False)
        a.brief = True  # a line for the list: long runs of items cut short
        a.w = walk(data, linktype)
        s = _summarize(data, linktype, a)
        if len(s.text) > MAX_BRIEF_TEXT or len(s.info) > MAX_BRIEF_TEXT:
            s = s._replace(text=_cut(s.text), info=_cut(s.info))
        return s
    except Exception as exc:  # last resort, the explicit checks should win
        return _failed(data, exc)


#: The longest text and info of a :func:`summarize` (the packet list's, kept in the
#: session's cache of 4096 rows): a 60 KB TFTP name, LISP records or Telnet options
#: made lines of 140-270 KB.
MAX_BRIEF_TEXT = 2048


def _cut(text: str) -> str:
    if len(text) <= MAX_BRIEF_TEXT:
        return text
    return f"{text[:MAX_BRIEF_TEXT]} ... ({len(text) - MAX_BRIEF_TEXT} characters more)"


def transport_info(data: bytes, linktype: int) -> str:
    """The Info of :func:`summarize` with a TCP payload left to TCP's words (Wireshark does
    not hand a retransmitted or out-of-order segment to the application); never raises."""
    try:
        a = Acc(None, False)
        a.brief = True
        a.apps = False
        a.w = walk(data, linktype)
        return _cut(_summarize(data, linktype, a).info)
    except Exception as exc:  # last resort, the explicit checks should win
        return _failed(data, exc).info


def summarize_with(
    data: Any, linktype: int, flows: TcpFlows | None, strict: bool, lean: bool = False
) -> Summary:
    """:func:`summarize` with per-connection TCP state and tcpdump's exact wording on request.

    ``lean``: only ``text`` is wanted; ``info`` and (for Ethernet) ``link`` may be left out.
    """
    try:
        if type(data) is not bytes:
            data = bytes(data)
        a = Acc(flows, strict, lean)
        a.w = walk(data, linktype)
        return _summarize(data, linktype, a)
    except Exception as exc:  # last resort, the explicit checks should win
        return _failed(data, exc)


def line_text(
    data: Any,
    linktype: int,
    flows: TcpFlows | None,
    strict: bool,
    link: bool = False,
    verbose: int = 0,
    orig_len: int = -1,
    cookies: Cookies | None = None,
) -> str:
    """The tcpdump ``-nn`` body of one frame, and nothing else (the printers' hot path).

    ``link``: prefixed with the ``-e`` link-level text.  The same text as
    ``summarize_with(...).text`` (``link + text``), without building the Summary.
    ``verbose``: tcpdump's ``-v`` (1) or ``-vv`` (2) text, which may run over several
    lines (escape it with :func:`tapwatch.sanitize.printable_layout`).  ``orig_len``: the
    frame's length on the wire, when the capture kept less of it (a snapshot length): a
    header then claims more than was captured without the packet being cut short on the
    wire, and tcpdump says ``[|proto]`` where the data stops, not ``truncated-ip``.
    Never raises.
    """
    try:
        if type(data) is not bytes:
            data = bytes(data)
        a = Acc(flows, strict, not link, verbose)
        if orig_len > len(data):
            a.cut = orig_len - len(data)
        a.cookies = cookies
        a.w = walk(data, linktype)
        h = LINKTYPES.get(linktype)
        if h is None:
            return f"link type {linktype}, length {len(data)}"
        lk, text = h.text(data, a)
        if linktype == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
            # tcpdump prints the interface (named in the reader's own namespace, as
            # tcpdump does) and the packet type before every cooked v2 packet
            head = f"{_ifname(data[4] << 24 | data[5] << 16 | data[6] << 8 | data[7]):<5} "
            head += f"{SLL_PKTTYPES.get(data[10], '?'):<3} "
            if not link:
                return head + text
            return head + lk.partition(" ")[2] + _without_protocol_word(text)
        if not link:
            return text
        if linktype == LINKTYPE_RAW:
            lk = "ip: "
        return lk + _without_protocol_word(text)
    except Exception as exc:  # last resort, the explicit checks should win
        return _failed(data, exc).text


#: The words tcpdump's IP, IPv6 and ARP printers start with, which -e leaves out (the
#: link header before them already says what follows).
_PROTOCOL_WORDS: Final = ("IP ", "IP6 ", "ARP, ", "RARP, ")

_IFNAMES: dict[int, str] = {}


def _without_protocol_word(text: str) -> str:
    for word in _PROTOCOL_WORDS:
        if text.startswith(word):
            return text[len(word) :]
    return text


def _ifname(index: int) -> str:
    """The name of interface ``index`` here, "?" if there is none (cached: one per packet)."""
    name = _IFNAMES.get(index)
    if name is None:
        try:
            name = socket.if_indextoname(index)
        except (OSError, OverflowError, ValueError):
            name = "?"
        if len(_IFNAMES) < 4096:
            _IFNAMES[index] = name
    return name


def _failed(data: object, exc: Exception) -> Summary:
    n = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
    return Summary(
        "unknown",
        "",
        "",
        f"[Malformed Packet: decoder error {type(exc).__name__}]",
        ("other",),
        True,
        f"[malformed: decoder error {type(exc).__name__}], length {n}",
        "",
    )


def _summarize(d: bytes, lt: int, a: Acc) -> Summary:
    # the layers the one walk found (what the counters count), taken before the text runs:
    # a header the walk did not reach that the text walks from (Walk.adopt) is no layer
    lay = tuple(a.w.names)
    h = LINKTYPES.get(lt)
    if h is not None:
        link, text = h.text(d, a)
    else:
        link = ""
        text = f"link type {lt}, length {len(d)}"
    proto = lay[-1] if lay and lay[-1] != "other" else (lay[-2] if len(lay) > 1 else "unknown")
    info = a.info or text
    if a.bad and "[Malformed Packet" not in info:  # (Wireshark's words may say why after it)
        info += " [Malformed Packet]"
    return _new_summary(Summary, (proto, a.src, a.dst, info, lay, a.bad, text, link))
