"""The protocol tree is built in a child process (tapwatch.treechild): scapy's pure-Python
dissection in a worker thread held the UI's GIL (4 KB of BGP attributes: 2.5 s of CPU,
UI stalls of 182-381 ms). Packets built by hand (struct), never sent. No timing here: the
tests check *where* scapy ran; the stall figures are in bench/RESULTS.md."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from tapwatch.app import TapwatchApp
from tapwatch.decode import Node, detail
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.session import Session
from tapwatch.sources import InterfaceInfo
from tapwatch.treechild import TreeChild, tree_child
from tests.test_app import ui
from tests.waiting import until, wait_for


def _tcp(sport: int, dport: int, payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2)))  # fmt: skip
    return ip + tcp


def _bgp_attributes() -> bytes:
    """A BGP UPDATE of 1,300 3-byte path attributes (thousands of tree lines, seconds of scapy).

    Its length claims one byte more than the segment holds (the message goes on in the next
    segment, which tshark would reassemble): the tree words it from scapy's fields, the
    slow path, rather than in Wireshark's words."""
    attrs = struct.pack("!BBB", 0x40, 200, 0) * 1300
    update = struct.pack("!HH", 0, len(attrs)) + attrs
    return _tcp(179, 40000, b"\xff" * 16 + struct.pack("!HB", 20 + len(update), 2) + update)


KEEPALIVE = _tcp(179, 40000, b"\xff" * 16 + struct.pack("!HB", 19, 4))


def _labels(nodes: list[Node]) -> list[str]:
    out: list[str] = []
    for n in nodes:
        out += [n.label, *_labels(n.children)]
    return out


def test_the_child_builds_the_same_tree() -> None:
    child = TreeChild()
    try:
        for data in (KEEPALIVE, _bgp_attributes(), b"\x45\x00\x00", b"\x60" + b"\xff" * 60):
            assert child.detail(data, LINKTYPE_RAW) == detail(data, LINKTYPE_RAW)
        assert child.served == 4
    finally:
        child.close()


def test_a_dissection_over_the_limit_is_given_up_and_the_next_one_works() -> None:
    child = TreeChild(limit_s=0.05)  # the BGP packet takes seconds
    try:
        got = child.detail(_bgp_attributes(), LINKTYPE_RAW)
        assert got is not None and len(got) == 1
        assert got[0].label.startswith("[Dissection given up after 0.05 s]")
        child.limit_s = 30.0
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) == detail(KEEPALIVE, LINKTYPE_RAW)
    finally:
        child.close()


def test_an_answer_too_large_is_said_as_such_not_as_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answer past MAX_ANSWER is given up on for its size: the tree says that, not
    "given up after 10 s" (the BGP packet's 500-line tree is far over 2 KB)."""
    from tapwatch import treechild

    monkeypatch.setattr(treechild, "MAX_ANSWER", 2048)
    child = TreeChild()
    try:
        data = _bgp_attributes()
        got = child.detail(data, LINKTYPE_RAW)
        assert got is not None and len(got) == 1
        assert got[0].label == (
            f"[Dissection given up: its tree is larger than 2 KB] ({len(data)} bytes)"
        )
        monkeypatch.setattr(treechild, "MAX_ANSWER", 1 << 20)
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) == detail(KEEPALIVE, LINKTYPE_RAW)
    finally:
        child.close()
    assert treechild._size(1 << 20) == "1 MB" and treechild._size(1000) == "1,000 bytes"


def test_a_child_that_dies_mid_dissection_is_said_as_such() -> None:
    """The child killed while it dissects (its memory limit, an outside kill): the tree
    says the dissecting process ended, not that it ran out of time."""
    import os
    import signal
    import threading

    child = TreeChild()
    try:
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) is not None  # started, warm
        proc = child._proc
        assert proc is not None
        got: list[Any] = []
        # stopped first, so the request waits in its pipe and no answer can come before the
        # kill, however long this thread is kept from running (a busy machine); killed once
        # the request is written and its answer waited for (a kill before the write is a
        # dead pipe, answered in this process instead)
        os.kill(proc.pid, signal.SIGSTOP)
        waiting = threading.Event()
        read_line = child._read_line

        def answer_awaited(started: float, ticket: int) -> str | None:
            waiting.set()
            return read_line(started, ticket)

        child._read_line = answer_awaited  # type: ignore[method-assign]
        slow = threading.Thread(target=lambda: got.append(child.detail(_bgp_attributes(), 101)))
        slow.start()
        assert wait_for(waiting.is_set)  # the BGP packet is in the child's pipe
        os.kill(proc.pid, signal.SIGKILL)
        slow.join()
        assert got[0] is not None and len(got[0]) == 1
        assert got[0][0].label.startswith("[Dissection failed: the dissecting process ended]")
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) == detail(KEEPALIVE, LINKTYPE_RAW)
    finally:
        child.close()


def test_a_request_made_stale_is_given_up_and_the_newer_one_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    import tapwatch.treechild

    # a grace far below the BGP packet's dissection (0.2-0.6 s here, depending on the
    # decoder's build): given up as stale whatever this machine's speed
    monkeypatch.setattr(tapwatch.treechild, "STALE_GRACE_S", 0.02)
    child = TreeChild()
    try:
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) is not None  # started, warm
        old: list[Any] = []
        slow = threading.Thread(target=lambda: old.append(child.detail(_bgp_attributes(), 101)))
        slow.start()
        assert wait_for(child._lock.locked)  # the BGP packet is in the child
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) == detail(KEEPALIVE, LINKTYPE_RAW)
        slow.join()
        assert old == [None]  # given up: nothing to cache as the packet's tree
    finally:
        child.close()


@ui
async def test_selecting_a_packet_dissects_it_out_of_the_ui_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tapwatch.decode.tree as tree_module

    here: list[int] = []
    real = tree_module._dissect

    def counted(data: bytes, linktype: int) -> Any:
        here.append(len(data))
        return real(data, linktype)

    monkeypatch.setattr(tree_module, "_dissect", counted)
    records = [
        (1_700_000_000_000_000_000 + i, 2, p) for i, p in enumerate((KEEPALIVE, _bgp_attributes()))
    ]
    info = InterfaceInfo("bgp.pcap", "file", read_only_reason="a file")
    app = TapwatchApp(Session.from_records(LINKTYPE_RAW, records, info=info))
    served = tree_child().served
    async with app.run_test(size=(140, 40)) as pilot:
        from tapwatch.widgets.detail import DetailTree

        tree = app.screen_stack[0].query_one(DetailTree)
        await until(pilot, lambda: tree.seq == 1 and not tree.pending, "the first tree")
        await pilot.press("down")
        await until(pilot, lambda: tree.seq == 2 and not tree.pending, "the BGP tree", 60)
        labels = [str(n.label) for n in tree.root.children]
        assert "UPDATE" in labels, labels
    assert here == []  # scapy never ran in the UI's process
    assert tree_child().served >= served + 2


def test_labels_from_the_child_pass_the_sanitizer_here_too() -> None:
    from tapwatch.treechild import _from_json

    got = _from_json([["\x1b[2J\u202eevil", 0, 4, [["ok", 0, 1, []]]]])
    assert got == [Node("^[[2J\\u202eevil", 0, 4, [Node("ok", 0, 1, [])])]
    with pytest.raises(ValueError):
        _from_json([["label", "0", 4, []]])


def test_the_children_outlive_the_worker_thread_that_asked_first() -> None:
    """The kernel kills a PR_SET_PDEATHSIG child when the *thread* that started it ends: the
    tree's and the filter check's children, started from a UI worker thread, died with it,
    and every selection and every check paid for a new child (0.5 s and 0.1 s)."""
    import threading

    from tapwatch import filtercheck

    tree, check = TreeChild(), filtercheck.FilterJudge()
    request = filtercheck.FilterRequest("tcp.port == 80", (LINKTYPE_RAW,))
    try:
        pids = []
        for _ in range(2):
            worker = threading.Thread(target=lambda: (tree.detail(KEEPALIVE, LINKTYPE_RAW),
                                                      check.check(request)))  # fmt: skip
            worker.start()
            worker.join()
            assert tree._proc is not None and check._proc is not None
            # the worker is gone: were the children killed with it, they would be within ms
            assert not wait_for(
                lambda: tree._proc.poll() is not None or check._proc.poll() is not None,  # type: ignore[union-attr]
                timeout=1.0,
            )
            pids.append((tree._proc.pid, check._proc.pid))
        assert pids[0] == pids[1]  # the second requests went to the same children
    finally:
        tree.close()
        check.close()


def test_requests_stale_before_their_turn_never_reach_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key held over slow rows leaves a worker thread per row waiting for the child: each
    one sent its frame when its turn came, ran the grace and had the child killed and started
    again, so ten such rows put 11.5 s between the last key and its tree (2.0 s now)."""
    import threading

    from tapwatch import keeper

    child = TreeChild()
    try:
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) is not None  # started, warm
        starts: list[str] = []
        real = keeper.start_python
        monkeypatch.setattr(keeper, "start_python", lambda code: starts.append(code) or real(code))
        served, first = child.served, child._ticket
        answers: list[Any] = []
        with child._lock:  # a dissection in flight: the rows moved over queue behind it
            rows = [
                threading.Thread(
                    target=lambda: answers.append(child.detail(_bgp_attributes(), 101))
                )
                for _ in range(5)
            ]
            for row in rows:
                row.start()
            assert wait_for(lambda: child._ticket == first + 5)
            newest: list[Any] = []
            last = threading.Thread(target=lambda: newest.append(child.detail(KEEPALIVE, 101)))
            last.start()
            assert wait_for(lambda: child._ticket == first + 6)
        for t in [*rows, last]:
            t.join()
        assert answers == [None] * 5  # stale: nothing to cache
        assert newest == [detail(KEEPALIVE, LINKTYPE_RAW)]
        assert child.served == served + 1 and starts == []  # the warm child, one frame
    finally:
        child.close()


def _busy(pid: int) -> Any:
    """A condition: the process has run 0.2 s of processor since now (it is at work)."""
    from pathlib import Path

    def ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    start = ticks()
    return lambda: ticks() > start + 20


def test_a_child_that_dies_is_said_to_have_died_not_to_be_slow() -> None:
    """A child killed (a crash, the OOM killer, the address-space limit) was reported as
    "[Dissection given up after 10 s]" 0.33 s in (main says why since 415bceb), and the filter
    check's as "compiling this filter took longer than 3 s" 1 s in: the user was told to type
    fewer terms."""
    import os
    import signal
    import threading

    from tapwatch import filtercheck

    child = TreeChild()
    judge = filtercheck.FilterJudge()
    try:
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) is not None  # started, warm
        proc = child._proc
        assert proc is not None
        got: list[Any] = []
        asker = threading.Thread(target=lambda: got.append(child.detail(_bgp_attributes(), 101)))
        asker.start()
        assert wait_for(_busy(proc.pid))  # the BGP packet is being dissected
        os.kill(proc.pid, signal.SIGKILL)
        asker.join()
        label = got[0][0].label
        assert label.startswith("[Dissection failed:") and "ended" in label, got
        assert child.detail(KEEPALIVE, LINKTYPE_RAW) == detail(KEEPALIVE, LINKTYPE_RAW)

        judge.start()
        slow = filtercheck.FilterRequest(" or ".join(f"port {i}" for i in range(1, 1000)), (101,))
        verdicts: list[filtercheck.Verdict] = []
        checker = threading.Thread(target=lambda: verdicts.append(judge.check(slow)))
        checker.start()
        assert judge._proc is not None
        assert wait_for(_busy(judge._proc.pid))  # libpcap's optimizer at work
        os.kill(judge._proc.pid, signal.SIGKILL)
        checker.join()
        assert verdicts[0].gave_up and "the filter checker ended" in verdicts[0].error, verdicts
    finally:
        child.close()
        judge.close()


class _ChattyTreeChild(TreeChild):
    """A child whose dissection prints to standard output, as a library's ``print`` may."""

    CODE = (
        "import sys; sys.path.append(sys.argv[1]); import tapwatch.decode.tree as t\n"
        "real = t.detail\n"
        "def chatty(*args):\n"
        "    print('[+] dissected', flush=True)\n"
        "    return real(*args)\n"
        "t.detail = chatty\n"
        "from tapwatch.treechild import serve; serve()\n"
    )


def test_what_a_dissection_prints_is_never_taken_for_its_answer() -> None:
    """A line printed while dissecting was read as the answer ("answered nonsense"), and the
    answer, left behind, as the next packet's tree: each tree shown was the packet before's."""
    child = _ChattyTreeChild()
    try:
        for data in (KEEPALIVE, _tcp(80, 40000, b"HTTP/1.1 200 OK\r\n\r\n"), KEEPALIVE):
            assert child.detail(data, LINKTYPE_RAW) == detail(data, LINKTYPE_RAW)
    finally:
        child.close()
