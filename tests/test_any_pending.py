"""``-i any``: packets of links not adopted yet are held bounded, in count and in bytes.

The reader's holding queue is driven directly (no socket: the object is made without
its ``__init__``), with records as the ring reader hands them over.
"""

from __future__ import annotations

import threading

from tapwatch.capture import anylink
from tapwatch.capture.anylink import NewLinkReader


def _reader() -> NewLinkReader:
    r = object.__new__(NewLinkReader)
    r.skip, r.ignored, r.links, r.counts = set(), set(), {}, {}
    r.pending, r.pending_since = {}, {}
    r.pending_n = r.dropped = 0
    r.pending_bytes = 0
    r.hatypes, r.on_unnamed, r._asked = {}, None, set()
    r._lock = threading.Lock()
    return r


def test_a_flood_of_big_packets_for_unknown_links_is_held_within_bytes() -> None:
    r = _reader()
    big = bytes(65535)
    for ifindex in range(100, 140):  # links never adopted, 64 KB packets
        r._hand(ifindex, [(i, 0, big) for i in range(200)])
    held = sum(len(d) for recs in r.pending.values() for _ts, _dir, d in recs)
    assert held <= anylink.PENDING_BYTES and r.pending_n <= anylink.PENDING_MAX
    assert r.pending_bytes == held
    assert r.dropped == 40 * 200 - r.pending_n
    # a link that goes away lets its packets go, bytes and all
    r.forget(100)
    assert r.pending_bytes == sum(len(d) for recs in r.pending.values() for _t, _d, d in recs)
    assert r.pending_n == sum(len(v) for v in r.pending.values())
