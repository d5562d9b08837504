"""Lines (-l) and files (-w) in time order, though records reach the ring out of it.

A tunnel end writes the inner packet into its tun (stamped as written, in the ring at
once) before the packet socket's record of the outer packet that carried it (stamped
earlier by the kernel) reaches the ring. capinfos' "Strict time order" and the printed
stamps are the reference.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, link_pair, needs_netns, netns
from test_live import stop, wait_addr
from test_tunnel import A_IN, A_OUT, B_IN, B_OUT, PEER, wait_connected, wait_listening

from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.reorder import Reorder
from tapwatch.ring import Record
from tapwatch.sinks import FileSink

needs_capinfos = pytest.mark.skipif(shutil.which("capinfos") is None, reason="needs capinfos")


def test_the_window_releases_in_stamp_order_what_arrived_out_of_it() -> None:
    r: Reorder[str] = Reorder(0.05)
    r.add(20, "inner", now=0.0)  # written, stamped late, in the ring first
    r.add(10, "outer", now=0.01)  # captured earlier, in the ring after it
    assert r.due(now=0.03) == []  # nothing has waited the window yet
    assert r.due(now=0.06) == ["outer", "inner"]  # the first is due: what precedes it too
    r.add(30, "late", now=0.07)
    assert r.due(final=True) == ["late"]


def test_a_file_sink_writes_in_time_order(tmp_path: Path) -> None:
    from tapwatch import pcap

    path = tmp_path / "x.pcap"
    sink = FileSink(pcap.open_writer(str(path), LINKTYPE_RAW), hold=10.0)
    data = bytes(20)
    for seq, ts in enumerate((3, 1, 2), 1):
        sink.take(Record(seq, ts * 1_000_000_000, 0, data), LINKTYPE_RAW)
    sink.end_batch(True)  # nothing has waited 10 s: nothing written yet
    assert sink.written == 0
    sink.close()
    with pcap.read_capture(str(path)) as cap:
        assert [r.ts_ns // 1_000_000_000 for r in cap] == [1, 2, 3]


@pytest.fixture
def pair() -> Iterator[tuple[Netns, Netns]]:
    with netns("twoa") as a, netns("twob") as b:
        link_pair(a, b, f"{A_OUT}/24", f"{B_OUT}/24")
        yield a, b


def _stamps(lines: str) -> list[datetime]:
    out = []
    for line in lines.splitlines():
        first = line.split(" ", 1)[0]
        if first.count(":") == 2:
            out.append(datetime.strptime(first, "%H:%M:%S.%f"))
    return out


@needs_netns
@needs_capinfos
@pytest.mark.netns
def test_a_tunnel_ends_lines_and_file_are_in_time_order(
    pair: tuple[Netns, Netns], tmp_path: Path
) -> None:
    a, b = pair
    both = tmp_path / "both.pcapng"
    tw = a.popen(
        [
            *TAPWATCH,
            "--create",
            "tun0",
            "--addr",
            f"{A_IN}/24",
            "--tunnel-listen",
            "55555",
            "--observe",
            "veth0",
            "-w",
            str(both),
            "--headless",
            "-l",
            "icmp or tcp port 55555",
        ]
    )
    client = None
    try:
        wait_addr(a, "tun0", A_IN)
        wait_listening(a)
        client = b.popen([*PEER, "--dev", "tun0", "--connect", f"{A_OUT}:55555"])
        assert client.stdout is not None and client.stdout.readline().strip() == "device ready"
        b.run(["ip", "addr", "add", f"{B_IN}/24", "dev", "tun0"], check=True)
        b.run(["ip", "link", "set", "tun0", "up"], check=True)
        wait_connected(a)
        # replies come back through the tunnel: tapwatch writes their inner packet into tun0
        # while the outer one is still on its way from the packet socket
        ping = a.run(["ping", "-c", "40", "-i", "0.01", "-W", "2", B_IN])
    finally:
        out, err = stop(tw)
        if client is not None:
            client.kill()
            client.wait()
    assert " 0% packet loss" in ping.stdout or "40 received" in ping.stdout, ping.stdout + err
    stamps = _stamps(out)
    assert len(stamps) >= 160, out  # 40 requests and 40 replies, each inner and outer
    assert stamps == sorted(stamps), "the -l lines are out of time order"
    info = subprocess.run(["capinfos", str(both)], capture_output=True, text=True, timeout=60)
    assert "Strict time order:   True" in info.stdout, info.stdout


def test_a_live_list_shows_its_newest_rows_in_time_order() -> None:
    pytest.importorskip("textual")
    import asyncio

    from test_app import packet_list, settle

    from tapwatch.app import TapwatchApp
    from tapwatch.kinds import Direction
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo, RecordSource

    tun = InterfaceInfo("tun0", "tun", linktype=LINKTYPE_RAW)
    session = Session([RecordSource(tun)])
    ping = bytes.fromhex("4500001c0001000040017cde0a0000010a0000020800f7ff00000000")
    t0 = 1_700_000_000_000_000_000
    # the ring's order: a written packet stamped last, then two captured before it
    for ms in (30, 10, 20):
        session.feed(t0 + ms * 1_000_000, Direction.OUTBOUND, ping)
    session.pump()

    async def drive() -> None:
        app = TapwatchApp(session)
        async with app.run_test(size=(160, 30)) as pilot:
            await settle(pilot, app)
            packets = packet_list(app)
            assert [packets.seq_at(i) for i in range(3)] == [2, 3, 1]
            assert [packets.index_of(s) for s in (1, 2, 3)] == [2, 0, 1]
            first = packets.render_line(1).text.split()
            assert first[0] == "2" and first[1] == "0.000000"  # relative to the first packet
            session.feed(t0 + 5 * 1_000_000, Direction.OUTBOUND, ping)  # later, stamped first
            session.pump()
            await settle(pilot, app)
            assert [packets.seq_at(i) for i in range(4)] == [4, 2, 3, 1]
            assert packets.cursor_seq == 1  # following: the newest by time, the last row

    asyncio.run(drive())
