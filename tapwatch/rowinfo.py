"""The Info a packet-list row shows, in one place: the list draws it and the sort by Info
orders by it, so the order is the one the user reads (a retransmission sorts by its
"[TCP Retransmission]", not by the decoder's words under it).

A row's Info is the decoder's (stateless), with what the analysis knows of the capture
before it (relative TCP numbers, an echo reply's request, a reassembled message's text),
escaped; then tapwatch's word that another input saw the packet too, a tunnel segment's
inner frames, and the TCP analysis's words first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from tapwatch.analysis.expert import ExpertIndex, info_words, related_info
from tapwatch.sanitize import printable
from tapwatch.tunnelview import describe

if TYPE_CHECKING:
    from tapwatch.ring import Record
    from tapwatch.session import Session

#: Characters of a row's Info, at most: more than a terminal's line shows (the list cuts the
#: column to its width), and what the sort by Info compares. A tunnel segment's eight inner
#: frames' lines, each as long as the decoder allows, made 16 KB, alike to their last
#: characters in a stranger's capture: a sort compared them whole, holding the GIL.
MAX_ROW_INFO = 2048


def row_info(
    session: Session,
    rec: Record,
    info: str,
    related: Callable[[int, str], str] | None,
    words: str | None,
) -> str:
    """The escaped Info of ``rec``'s row, whose decoder Info is ``info``; ``related`` adds
    what the analysis knows (None: it has not looked yet), ``words`` are its TCP words."""
    if related is not None:  # may be text of reassembled bytes: escaped below
        info = related(rec.seq, info)
    info = printable(info)
    note, inner = session.side_words(rec)
    if note:  # another input saw it too (both ends of a tunnel): where, how long before
        info = f"[{printable(note)}] {info}"
    view = session.tunnel_view if inner is not None else None
    if inner is not None and view is not None:
        # a tunnel segment: what it carries comes first, the outer TCP details (long
        # with their options) after it, where the column may cut them
        info = f"{describe(view, inner)} | outer: {info}"
    info = f"{words} {info}" if words else info
    return info[:MAX_ROW_INFO]


def sort_info(session: Session, index: ExpertIndex | None) -> Callable[[Record, str], str]:
    """What the sort by Info orders a record by, given its decoder Info: :func:`row_info` with
    the analysis as ``index`` has it now (looked up once for the whole sort, not per row)."""
    if index is None:
        return lambda rec, info: row_info(session, rec, info, None, None)
    related = partial(related_info, index)
    return lambda rec, info: row_info(session, rec, info, related, info_words(index, rec.seq))
