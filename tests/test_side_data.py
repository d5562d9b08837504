"""What is kept beside each packet leaves with it: an endless pipe holds what the ring holds.

A capture file (or a live pipe: ``ssh host tapwatch -w - | tapwatch -r -``) can
cut packets short and comment on each; the length on the wire and the comment
are kept for the frame layer, and tunnel segments keep the frames they
complete. All of it used to live in dictionaries nothing ever emptied: RSS
grew from 66 MB to 569 MB while the ring held 1000 packets. Now it is the
ring's, evicted with its record and counted against ``--ring-bytes``.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import tracemalloc

from tapwatch.filesource import open_file
from tapwatch.kinds import Direction
from tapwatch.ring import EXTRA_BYTES, Extra, Ring
from tapwatch.session import Session

PKT = bytes.fromhex("4500005400010000400100000a0000010a000002") + bytes(64)


def block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def commented(n: int, comment: bytes, start: int = 0) -> bytes:
    """``n`` EPBs, each cut to 60 bytes of its 84 and carrying ``comment``."""
    opts = struct.pack("<HH", 1, len(comment)) + comment + struct.pack("<HH", 0, 0)
    out = []
    for i in range(start, start + n):
        body = struct.pack("<5I", 0, 0, 1000 + i, 60, len(PKT)) + PKT[:60] + opts
        out.append(block(6, body))
    return b"".join(out)


def header() -> bytes:
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)) + block(
        1, struct.pack("<HHI", 101, 0, 0)
    )


def test_side_data_is_evicted_with_its_record_and_counted_in_bytes() -> None:
    ring = Ring(10, 100_000)
    for i in range(100):
        ring.extend([(i, Direction.OUTBOUND, b"x" * 10)], extras={0: Extra(99, f"c{i}")})
    assert len(ring) == 10 and ring.first_seq == 91
    assert ring.extra(90) is None and ring.extra(95) == Extra(99, "c94")
    assert len(ring._extra) == 10  # nothing of the 90 evicted records is left
    assert ring.nbytes == 10 * (10 + EXTRA_BYTES + 3)
    ring.clear()
    assert ring._extra == {} and ring.nbytes == 0


def test_side_data_counts_against_the_byte_bound() -> None:
    """Comments of 2 kB in a ring of 100 kB: it holds fewer records, never more bytes."""
    ring = Ring(1000, 100_000)
    for i in range(200):
        ring.extend([(i, Direction.OUTBOUND, b"x" * 50)], extras={0: Extra(None, "c" * 2000)})
        assert ring.nbytes <= ring.max_bytes
    assert 40 <= len(ring) <= 50 and len(ring._extra) == len(ring)
    # tunnel frames kept with a segment count too, and go with it
    seq = ring.next_seq - 1
    assert ring.set_inner(seq, (b"f" * 30_000,))
    assert ring.nbytes <= ring.max_bytes and ring.extra(seq).inner == (b"f" * 30_000,)
    assert ring.extra(seq).comment == "c" * 2000
    for i in range(60):
        ring.append(i, Direction.OUTBOUND, b"y" * 2000)
    assert ring.extra(seq) is None and not ring.set_inner(seq, (b"late",))


def test_an_endless_commented_pipe_holds_what_the_ring_holds() -> None:
    """The pipe `-r -` reads: Python memory after 4k and after 25k commented records is the
    same, with a ring of 200 (it grew by 20k records' comments before)."""
    r, w = os.pipe()
    ring, wake = Ring(200), threading.Event()
    comment = b"c" * 1000
    # the loader hands records over in batches (256 first, then 4096): whole ones here
    first, later = 256 + 4096, 256 + 6 * 4096
    allowed = [first]  # opening reads up to the first packet: some must be there
    more = threading.Event()

    def feed() -> None:  # the far end of the pipe: as many records as the test allows
        sent = 0
        with os.fdopen(w, "wb") as out:
            out.write(header())
            out.flush()
            while allowed[0] >= 0:
                while sent < allowed[0]:
                    n = min(512, allowed[0] - sent)
                    out.write(commented(n, comment, sent))
                    out.flush()
                    sent += n
                more.wait(1)
                more.clear()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    tracemalloc.start()
    try:
        src = open_file("-", ring, wake, stdin=os.fdopen(r, "rb"))
        session = Session([src], ring=ring, wake=wake)
        session.start()
        src.shown.set()
        try:
            held = []
            for target in (first, later):
                allowed[0] = target
                more.set()
                deadline = time.monotonic() + 60
                while src.loaded < target:
                    assert time.monotonic() < deadline, "the loader stopped reading"
                    time.sleep(0.01)
                held.append(tracemalloc.get_traced_memory()[0])
            last = ring.get(ring.next_seq - 1)
            assert last is not None
            assert session.comment(last) == comment.decode()
            assert session.wire_length(last) == len(PKT) and len(last.data) == 60
        finally:
            allowed[0] = -1
            more.set()
            session.close()
    finally:
        tracemalloc.stop()
    assert len(ring) == 200
    # 20k more records of 1 kB comments would be over 20 MB; what the ring holds is 0.25 MB,
    # and a batch on its way to the ring (4096 records at most) 4 MB
    assert held[1] - held[0] < 6_000_000, held
