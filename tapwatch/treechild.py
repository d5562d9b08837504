"""The protocol tree is built in a child process, so scapy cannot hold the UI's GIL.

scapy's dissection is pure Python: a worker *thread* running it still takes the
interpreter from the event loop in slices, and 4 KB of 3-byte BGP attributes (2.5 s
of CPU) stalled the UI 182-381 ms. So the detail pane hands each frame to a warm
child (:class:`TreeChild`) that runs :func:`tapwatch.decode.detail` there and sends
back the plain tree (labels, already through the sanitizer, and byte spans) as one
JSON line. The child gets ``LIMIT_S`` seconds a frame and ``MAX_ANSWER`` bytes of
answer; one that runs longer or answers more is killed and the tree says which (a new
child starts for the next frame), as it says a child that died while it dissected. A request
that a newer one made stale is given up on, and the child killed, once it has run
``STALE_GRACE_S`` (ordinary frames take milliseconds: walking the list never waits
for a restart).

The child is started as filtercheck's is: ``python -I -c ...``, its own session, low
priority, an address-space limit, and it dies with its parent (PDEATHSIG, end of
file on its standard input). When it cannot start at all the frame is dissected in
the calling thread, as before.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from tapwatch import keeper

if TYPE_CHECKING:
    from tapwatch.decode.node import Node

#: Longest one frame's dissection may take before tapwatch gives up on it.
LIMIT_S = 10.0
#: Longest the child may take to start (scapy's imports under load), not in LIMIT_S.
START_S = 20.0
#: A stale request is given up on (the child killed) once it has run this long.
STALE_GRACE_S = 0.25
#: The child's address space.
MEMORY_BYTES = 2 << 30
#: Longest answer read: 500 lines of at most 240 characters fit, escaped (json.loads holds
#: the GIL while it parses, so the answer is bounded too).
MAX_ANSWER = 1 << 20
_READY = "ready"

_CHILD = "import sys; sys.path.append(sys.argv[1]); from tapwatch.treechild import serve; serve()"


def _to_json(nodes: list[Node]) -> list[Any]:
    return [[n.label, n.start, n.end, _to_json(n.children)] for n in nodes]


def _from_json(raw: Any, depth: int = 0) -> list[Node]:
    """The tree the child sent (checked: a malformed answer raises ValueError; every label
    through the sanitizer again, here, whatever the child sent)."""
    from tapwatch.decode.node import Node
    from tapwatch.sanitize import printable

    if not isinstance(raw, list) or depth > 64:
        raise ValueError("not a tree")
    out = []
    for item in raw:
        label, start, end, kids = item
        if not (isinstance(label, str) and type(start) is int and type(end) is int):
            raise ValueError("not a node")
        out.append(Node(printable(label), start, end, _from_json(kids, depth + 1)))
    return out


# ----- the child ----------------------------------------------------------------------------
def serve() -> None:
    """The child's program: one JSON request per line (the frame in base64, its link type,
    its length on the wire), one tree per line, until standard input closes."""
    import ctypes
    import resource

    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    with contextlib.suppress(Exception):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    with contextlib.suppress(Exception):
        os.nice(10)
    from tapwatch.decode.node import Node
    from tapwatch.decode.tree import _load_scapy, detail

    _load_scapy()  # once, before the first request is timed
    out = keeper.answer_channel()
    out.write(_READY + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            raw = json.loads(line)
            wire = raw["wire"]
            nodes = detail(
                base64.b64decode(raw["data"]),
                int(raw["linktype"]),
                None if wire is None else int(wire),
            )
        except Exception as e:  # a bug here must not look like a hung dissection
            nodes = [Node(f"[Dissection failed: {type(e).__name__}]", 0, 0, [])]
        out.write(json.dumps(_to_json(nodes)) + "\n")
        out.flush()


# ----- the front ----------------------------------------------------------------------------
class TreeChild(keeper.KeptChild):
    """The UI's end: one warm child, one frame at a time. :meth:`detail` blocks (call it
    from a worker thread)."""

    CODE = _CHILD

    def __init__(self, limit_s: float = LIMIT_S) -> None:
        super().__init__(limit_s)
        self._why = ""  # why _read_line gave up: "time", "stale", "size" or "ended"
        #: frames the child dissected (what the tests look at: the work left this process)
        self.served = 0

    def detail(self, data: bytes, linktype: int, wire_len: int | None = None) -> list[Node] | None:
        """:func:`tapwatch.decode.detail` of the frame, built in the child; never raises.

        None: a newer request made this one stale and it was given up on (a tree that
        says so would be cached as the packet's)."""
        from tapwatch.decode.node import Node
        from tapwatch.decode.tree import detail

        ticket = self._new_ticket()
        with self._lock:
            if ticket != self._ticket:
                # stale while it waited its turn (a key held over slow rows): never sent,
                # else each one would cost the grace, a kill and a new child, in turn
                return None
            if not self._ensure():
                return detail(data, linktype, wire_len)  # no child here: as before
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            req = {"data": base64.b64encode(bytes(data)).decode(), "linktype": linktype}
            req["wire"] = wire_len
            try:
                proc.stdin.write((json.dumps(req) + "\n").encode())
                proc.stdin.flush()
            except OSError:
                self._kill()
                return detail(data, linktype, wire_len)
            line = self._read_line(time.monotonic(), ticket)
            if line is None:
                why = self._why
                self._kill()
                if ticket != self._ticket:  # stale: nothing to cache as the packet's tree
                    return None
                n = len(data)
                return [Node(f"[{self._given_up(why)}] ({n} bytes)", 0, n, [])]
        try:
            nodes = _from_json(json.loads(line))
        except (ValueError, TypeError, RecursionError):
            return [Node("[Dissection failed: the dissector answered nonsense]", 0, 0, [])]
        self.served += 1
        return nodes

    def _given_up(self, why: str) -> str:
        """Why there is no tree, in words: each reason its own (a too large answer read as
        a timeout sent the user looking for a slow dissector)."""
        if why == "size":
            return f"Dissection given up: its tree is larger than {_size(MAX_ANSWER)}"
        if why == "ended":
            return "Dissection failed: the dissecting process ended"
        return f"Dissection given up after {self.limit_s:g} s"

    # -- under the lock --
    def _ensure(self) -> bool:
        if self._running():
            return True
        if not self._restart():
            return False
        if self._read_line(time.monotonic() - self.limit_s + START_S, -1) != _READY:
            self._kill()
            return False
        return True

    def _read_line(self, started: float, ticket: int) -> str | None:
        """The child's next line; None, with why in ``_why``: after ``limit_s`` from
        ``started`` ("time"), when ``ticket`` went stale (-1: never) and the request has run
        ``STALE_GRACE_S`` ("stale"), an answer past ``MAX_ANSWER`` ("size"), or the child
        died ("ended")."""
        proc = self._proc
        assert proc is not None

        def stale() -> bool:
            return (
                ticket >= 0
                and ticket != self._ticket
                and time.monotonic() - started > STALE_GRACE_S
            )

        line, self._buf, why = keeper.read_line(
            proc, self._buf, started + self.limit_s, stale, MAX_ANSWER
        )
        if why:
            self._why = why
        return line


def _size(n: int) -> str:
    """``n`` bytes in words: "1 MB", "2 KB", "500 bytes"."""
    for unit, shift in (("MB", 20), ("KB", 10)):
        if n >= 1 << shift and not n % (1 << shift):
            return f"{n >> shift} {unit}"
    return f"{n:,} bytes"


_TREE_CHILD: Final = keeper.PerProcess(TreeChild)


def tree_child() -> TreeChild:
    """The process's tree child (every detail pane shares one)."""
    return _TREE_CHILD.get()
