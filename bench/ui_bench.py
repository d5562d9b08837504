"""Section 3: the Textual UI under load, driven by ``App.run_test()`` (no terminal, no device).

* Key -> screen: 100k packets in the ring, 20k packets/s arriving through
  ``session.feed`` from a thread (the pump thread running as in a live
  session), the cursor keys pressed at random moments; latency is the time
  from posting the key to the first screen update that contains the packet
  list row the cursor moved to (Textual's compositor output, turned into
  terminal escape sequences as a real terminal would need).
* Frame cost: rendering every visible line of the packet list
  (``PacketList.render_line``, row caches cleared) and one refresh tick, with
  1k, 100k and 500k packets in the ring: it should not grow with the ring.
* The analyst's tools on a 500k-packet capture file (TCP connections with
  payload both ways, DNS, pings), each timed through the UI and against a
  reference that does the same work without the UI, in the same run: the
  first screen while the file loads (reference: the same for a 1k-packet
  file), the display filter (reference: the compiled filter over the same
  records), follow stream and conversations (reference: the analysis
  functions called directly), and cursor-to-tree (key press to the
  selected packet's protocol tree on screen; reference: one
  ``decode.detail`` call).
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.capture_bench import emulate_terminal

if TYPE_CHECKING:
    from textual.strip import Strip

    from tapwatch.session import Session

SIZE = (200, 50)


def _records(n: int, start_ns: int) -> list[tuple[int, int, bytes]]:
    from bench.offline_bench import templates

    tpl = templates(False)
    k = len(tpl)
    return [(start_ns + i * 50_000, 2, tpl[i % k]) for i in range(n)]  # 2: outbound


def _session(n: int, kind: str = "tun") -> Session:
    from tapwatch.linktypes import LINKTYPE_RAW
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo

    return Session.from_records(
        LINKTYPE_RAW, _records(n, time.time_ns() - n * 50_000), info=InterfaceInfo("bench", kind)
    )


class Feeder(threading.Thread):
    """Feeds ``rate`` packets/s into the session in 5 ms steps, like a reader would."""

    def __init__(self, session: object, rate: int) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.rate = rate
        self.stop = threading.Event()
        self.fed = 0

    def run(self) -> None:
        from bench.offline_bench import templates

        tpl = templates(False)
        feed = self.session.feed  # type: ignore[attr-defined]
        step = 0.005
        per = max(1, round(self.rate * step))
        start = time.monotonic()
        i = 0
        while not self.stop.is_set():
            due = start + i * step
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.time_ns()
            for j in range(per):
                feed(now, 0, tpl[(self.fed + j) % len(tpl)])
            self.fed += per
            i += 1


async def _key_latency(presses: int, backlog: int, rate: int) -> dict:
    from textual import events
    from textual._compositor import CompositorUpdate

    from tapwatch.app import TapwatchApp
    from tapwatch.widgets.packet_list import PacketList

    session = _session(backlog)
    session.start()  # the pump thread, as in a live session
    feeder = Feeder(session, rate)
    app = TapwatchApp(session)
    emulate_terminal(app)
    displays: list[float] = []
    inner = app._display

    def display(screen: object, renderable: object) -> None:
        inner(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            displays.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]
    lat: list[float] = []
    rng = random.Random(7)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            packets = app.screen_stack[0].query_one(PacketList)
            rendered: dict[int, float] = {}
            render_line = packets.render_line

            def traced(y: int) -> Strip:
                strip = render_line(y)
                if y > 0:
                    seq = packets.seq_at(packets.scroll_offset.y + y - 1)
                    if seq is not None and seq == packets.cursor_seq:
                        rendered.setdefault(seq, time.perf_counter())
                return strip

            packets.render_line = traced  # type: ignore[method-assign]
            if rate:
                feeder.start()
            await pilot.pause(0.3)
            for i in range(presses):
                key = "k" if (i // 10) % 2 == 0 else "j"
                await asyncio.sleep(rng.uniform(0.02, 0.08))
                idx = packets.cursor_index
                if idx is None:
                    continue
                target = packets.seq_at(idx - 1 if key == "k" else idx + 1)
                if target is None:
                    continue
                rendered.pop(target, None)
                # post the key as the terminal driver would; pilot.press() would also wait
                # for the process to go idle, which it never does under this load
                event = events.Key(key, key)
                event.set_sender(app)
                t0 = time.perf_counter()
                app._driver.send_message(event)  # type: ignore[union-attr]
                deadline = time.perf_counter() + 2
                while time.perf_counter() < deadline:
                    tr = rendered.get(target)
                    if tr is not None:
                        shown = [d for d in displays if d >= tr]
                        if shown:
                            lat.append(shown[0] - t0)
                            break
                    await asyncio.sleep(0.001)
            missed = presses - len(lat)
            fed = feeder.fed
            ring_len = len(session.ring)
    finally:
        feeder.stop.set()
        session.close()
    return {
        "presses": len(lat),
        "median_ms": common.median(lat) * 1e3,
        "p95_ms": common.pct(lat, 95) * 1e3,
        "max_ms": max(lat) * 1e3 if lat else None,
        "missed": missed,
        "fed": fed,
        "ring_len": ring_len,
        "backlog": backlog,
        "rate": rate,
    }


async def _frame_cost(n: int, reps: int) -> dict:
    from tapwatch.app import TapwatchApp
    from tapwatch.widgets.packet_list import PacketList

    session = _session(n)
    app = TapwatchApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            packets = app.screen_stack[0].query_one(PacketList)
            height = packets.size.height
            frame: list[float] = []
            ticks: list[float] = []
            for _ in range(5):  # warm-up: style and segment caches of a fresh app
                for y in range(height):
                    packets.render_line(y)
            for _ in range(reps):
                packets._cache.clear()
                summaries = getattr(session, "_summaries", None)
                if summaries is not None:
                    summaries.clear()
                t = time.perf_counter()
                for y in range(height):
                    packets.render_line(y)
                frame.append(time.perf_counter() - t)
                t = time.perf_counter()
                app.screen_stack[0].tick()
                ticks.append(time.perf_counter() - t)
            rows = packets.rows
    finally:
        session.close()
    return {
        "ring": n,
        "rows": rows,
        "lines": height,
        "frame_ms": common.median(frame) * 1e3,
        "tick_ms": common.median(ticks) * 1e3,
    }


def _analyst_frames() -> list[bytes]:
    """One cycle of varied traffic: a TCP connection with payload both ways, DNS, a ping."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.packet import Raw

    a, b = "10.77.0.1", "10.77.0.2"
    return [
        bytes(IP(src=a, dst=b) / TCP(sport=50000, dport=80, flags="S", seq=1000)),
        bytes(IP(src=b, dst=a) / TCP(sport=80, dport=50000, flags="SA", seq=5000, ack=1001)),
        bytes(
            IP(src=a, dst=b)
            / TCP(sport=50000, dport=80, flags="PA", seq=1001, ack=5001)
            / Raw(b"GET /index.html HTTP/1.1\r\nHost: bench\r\n\r\n")
        ),
        bytes(
            IP(src=b, dst=a)
            / TCP(sport=80, dport=50000, flags="PA", seq=5001, ack=1044)
            / Raw(b"H" * 1200)
        ),
        bytes(
            IP(src=a, dst="10.77.0.53")
            / UDP(sport=40001, dport=53)
            / DNS(id=7, rd=1, qd=DNSQR(qname="www.example.com"))
        ),
        bytes(IP(src=a, dst=b) / ICMP(type=8, id=1, seq=1) / Raw(b"p" * 56)),
    ]


def _write_analyst_file(path: str, n: int) -> None:
    """``n`` packets: the cycle above with ports and sequence numbers moving on, 1000 flows."""
    import struct

    from tapwatch import pcap

    tpl = _analyst_frames()
    w = pcap.open_writer(path, 101)
    t0 = 1_700_000_000_000_000_000
    cycle = len(tpl)
    for i in range(n):
        k, turn = i % cycle, i // cycle
        data = bytearray(tpl[k])
        if k < 4:  # the TCP connection: one of 1000 client ports, sequence numbers advancing
            port = 50000 + turn % 1000
            seq_step = (turn // 1000) * 1300
            client_port_at = 20 if k in (0, 2) else 22  # the client's side of the header
            struct.pack_into("!H", data, client_port_at, port)
            seq = struct.unpack_from("!I", data, 24)[0]
            struct.pack_into("!I", data, 24, (seq + seq_step) & 0xFFFFFFFF)
            if k in (2, 3):
                ack = struct.unpack_from("!I", data, 28)[0]
                struct.pack_into("!I", data, 28, (ack + seq_step) & 0xFFFFFFFF)
        w.write(t0 + i * 20_000, bytes(data))
    w.close()


async def _first_screen(path: str) -> dict:
    """Open a capture file as the command line does; time to the first frame showing rows."""
    import threading

    from textual._compositor import CompositorUpdate

    from tapwatch.app import TapwatchApp
    from tapwatch.filesource import open_file
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.widgets.packet_list import PacketList

    t0 = time.perf_counter()
    ring, wake = Ring(), threading.Event()
    src = open_file(path, ring, wake)
    session = Session([src], ring=ring, wake=wake)
    session.start()
    app = TapwatchApp(session)
    emulate_terminal(app)
    first: list[float] = []
    loaded_then: list[int] = []
    inner = app._display

    def display(screen: object, renderable: object) -> None:
        inner(screen, renderable)
        if not first and isinstance(renderable, CompositorUpdate):
            try:
                rows = app.screen_stack[0].query_one(PacketList).rows
            except Exception:
                return
            if rows:
                first.append(time.perf_counter() - t0)
                loaded_then.append(src.loaded)

    app._display = display  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            while not first and time.perf_counter() - t0 < 30:
                await pilot.pause(0.005)
            src.wait_loaded(120)
            loaded = time.perf_counter() - t0
    finally:
        session.close()
    return {
        "first_s": first[0] if first else None,
        "loaded_s": loaded,
        "packets_at_first": loaded_then[0] if loaded_then else 0,
    }


async def _tools(path: str, presses: int) -> dict:
    """Filter, follow, conversations and cursor-to-tree on the loaded 500k-packet file."""
    import threading

    from textual import events

    from tapwatch import decode
    from tapwatch.analysis.conversations import TrafficIndex, conversation_table
    from tapwatch.analysis.streams import follow
    from tapwatch.app import TapwatchApp
    from tapwatch.filesource import open_file
    from tapwatch.filters import compile_packet_filter
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.widgets.conversations import ConversationsScreen
    from tapwatch.widgets.detail import DetailTree
    from tapwatch.widgets.follow import FollowScreen
    from tapwatch.widgets.packet_list import PacketList

    ring, wake = Ring(), threading.Event()
    src = open_file(path, ring, wake)
    session = Session([src], ring=ring, wake=wake)
    session.start()
    src.wait_loaded(120)
    while session.processed < len(ring):
        time.sleep(0.05)
    out: dict = {"packets": len(ring)}
    expr = "tcp port 80 and greater 1000"
    # references: the same work without the UI
    flt = compile_packet_filter(expr, [101])
    assert flt is not None
    t = time.perf_counter()
    matched = sum(1 for r in ring if flt.match(r.data, 101))
    out["filter_ref_s"] = time.perf_counter() - t
    t = time.perf_counter()
    index = TrafficIndex([101])
    index.update(ring)
    indexed = time.perf_counter() - t
    table = conversation_table(list(index.flows.values()), 0)
    out["conv_ref_s"] = time.perf_counter() - t
    out["flows"] = table.total
    first = ring.get(3)
    assert first is not None
    conv = index.flow_of(first.data, 101)
    assert conv is not None
    t = time.perf_counter()
    follow(conv, map(ring.get, conv.seqs), [101])
    out["follow_ref_s"] = indexed + time.perf_counter() - t
    out["follow_packets"] = len(conv.seqs)
    details = []
    for seq in range(10, 10 + presses):
        rec = ring.get(seq)
        assert rec is not None
        t = time.perf_counter()
        decode.detail(rec.data, 101)
        details.append(time.perf_counter() - t)
    out["tree_ref_ms"] = common.median(details) * 1e3

    app = TapwatchApp(session)
    emulate_terminal(app)

    def key(k: str) -> float:
        # posted as the terminal driver would; pilot.press() would also wait for idle
        event = events.Key(k, k if len(k) == 1 else None)
        event.set_sender(app)
        t = time.perf_counter()
        app._driver.send_message(event)  # type: ignore[union-attr]
        return t

    tick = asyncio.sleep
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            packets = app.screen_stack[0].query_one(PacketList)
            # the display filter: applied by the list in time-boxed slices, the refresh ticking
            t = time.perf_counter()
            app.screen_stack[0].apply_filter(expr)
            while packets.scanning:
                await tick(0.001)
            out["filter_s"] = time.perf_counter() - t
            out["filter_rows"] = packets.rows
            assert packets.rows == matched
            app.screen_stack[0].apply_filter("")
            await pilot.pause(0.2)
            # follow stream from the key
            packets.go_to_seq(3)
            await pilot.pause(0.2)
            t = key("f")
            while not isinstance(app.screen, FollowScreen):
                await tick(0.001)
            screen = app.screen
            while screen.stream is None:
                await tick(0.001)
            out["follow_s"] = time.perf_counter() - t
            await pilot.press("escape")
            await pilot.pause(0.2)
            # conversations from the key (the index is already built by follow: a second,
            # cold measurement with a fresh index below)
            app.screen_stack[0].shared_index.index.reset()
            t = key("C")
            while not isinstance(app.screen, ConversationsScreen):
                await tick(0.001)
            screen = app.screen
            while "flows" not in screen.tables:
                await tick(0.001)
            out["conv_s"] = time.perf_counter() - t
            await pilot.press("escape")
            await pilot.pause(0.2)
            # cursor-to-tree: key press to the tree showing the new packet, walking the list
            packets.go_to_seq(1000)
            tree = app.screen_stack[0].query_one(DetailTree)
            await pilot.pause(0.5)
            lat = []
            for _ in range(presses):
                target = packets.seq_at(packets.index_of(packets.cursor_seq or 1) + 1)
                t = key("j")
                while tree.seq != target or tree.pending:
                    await tick(0.0002)
                lat.append(time.perf_counter() - t)
                await tick(0.1)  # a person reading: the neighbours get dissected
            out["tree_ms"] = common.median(lat) * 1e3
            out["tree_p95_ms"] = common.pct(lat, 95) * 1e3
            # held down: presses as fast as the app takes them, the tree catching up
            lat = []
            for _ in range(presses):
                target = packets.seq_at(packets.index_of(packets.cursor_seq or 1) + 1)
                t = key("j")
                while tree.seq != target or tree.pending:
                    await tick(0.0002)
                lat.append(time.perf_counter() - t)
            out["tree_held_ms"] = common.median(lat) * 1e3
    finally:
        session.close()
    return out


def analyst(n: int = 500_000, presses: int = 40) -> dict:
    """The tools on an ``n``-packet capture file, each with its reference."""
    with common.tempdir() as tmp:
        big = str(Path(tmp) / "analyst.pcap")
        small = str(Path(tmp) / "small.pcap")
        _write_analyst_file(big, n)
        _write_analyst_file(small, 1000)
        res = {
            "first": asyncio.run(_first_screen(big)),
            "first_small": asyncio.run(_first_screen(small)),
        }
        res.update(asyncio.run(_tools(big, presses)))
    return res


def run(*, presses: int, sizes: list[int], reps: int, analyst_packets: int = 500_000) -> dict:
    return {
        "latency": asyncio.run(_key_latency(presses, 100_000, 20_000)),
        "latency_idle": asyncio.run(_key_latency(presses, 100_000, 0)),
        "frames": [asyncio.run(_frame_cost(n, reps)) for n in sizes],
        "analyst": analyst(analyst_packets, max(10, presses // 2)),
    }


def markdown(res: dict) -> list[str]:
    lat = res["latency"]
    idle = res["latency_idle"]
    out = [
        f"Key -> screen: {lat['backlog']:,} packets in the ring, {lat['rate']:,} packets/s fed "
        f"through `session.feed` from a thread (pump thread running; {lat['fed']:,} fed during "
        f"the test, ring ended at {lat['ring_len']:,}), {lat['presses']} presses of k/j at random "
        "moments, terminal size 200x50.",
        "",
        "| key press -> screen update showing the moved cursor | median | p95 | max |",
        "|---|---:|---:|---:|",
        f"| under load | {lat['median_ms']:.1f} ms | "
        f"{lat['p95_ms']:.1f} ms | {lat['max_ms']:.1f} ms |",
        f"| reference: the same with nothing arriving | {idle['median_ms']:.1f} ms | "
        f"{idle['p95_ms']:.1f} ms | {idle['max_ms']:.1f} ms |",
        f"| under load / idle | {lat['median_ms'] / idle['median_ms']:.2f}x | "
        f"{lat['p95_ms'] / idle['p95_ms']:.2f}x | |",
        "",
        "Packet list frame cost (every visible line through `render_line`, row and summary "
        "caches cleared, so each row is decoded and formatted) and one refresh tick "
        "(`TapwatchApp.tick`: list sync, status bar, counters), median:",
        "",
        "| packets in ring | visible lines | frame | vs 1k | tick |",
        "|---:|---:|---:|---:|---:|",
    ]
    base = res["frames"][0]["frame_ms"] if res["frames"] else None
    for f in res["frames"]:
        out.append(
            f"| {f['ring']:,} | {f['lines']} | {f['frame_ms']:.2f} ms | "
            f"{f['frame_ms'] / base:.2f}x | {f['tick_ms']:.2f} ms |"
        )
    a = res.get("analyst")
    if a:
        out += analyst_markdown(a)
    return out


def analyst_markdown(a: dict) -> list[str]:
    f, fs = a["first"], a["first_small"]

    def ms(s: float | None) -> str:
        return "—" if s is None else f"{s * 1e3:,.0f} ms"

    def ratio(x: float | None, ref: float | None) -> str:
        return "—" if not x or not ref else f"{x / ref:.2f}x"

    return [
        "",
        f"The analyst's tools on a {a['packets']:,}-packet capture file ({a['flows']:,} TCP "
        "connections with payload both ways, DNS, pings), through the UI (terminal 200x50, "
        "keys posted as a terminal sends them) and, as the reference, the same work done by the "
        "analysis functions alone in the same run:",
        "",
        "| tool | through the UI | reference | UI / reference |",
        "|---|---:|---:|---:|",
        f"| first screen with rows (file opened, loading in the background; "
        f"{f['packets_at_first']:,} packets in by then) | {ms(f['first_s'])} | {ms(fs['first_s'])}"
        f" (a 1,000-packet file) | {ratio(f['first_s'], fs['first_s'])} |",
        f"| whole file loaded | {ms(f['loaded_s'])} | {ms(fs['loaded_s'])} (1,000 packets) | |",
        f"| display filter `tcp port 80 and greater 1000` over every packet "
        f"({a['filter_rows']:,} match) | {ms(a['filter_s'])} | {ms(a['filter_ref_s'])} (the "
        f"compiled filter over the ring) | {ratio(a['filter_s'], a['filter_ref_s'])} |",
        f"| follow stream (`f` to the stream shown; the flow index built first, "
        f"{a['follow_packets']:,} packets in the stream) | {ms(a['follow_s'])} | "
        f"{ms(a['follow_ref_s'])} (flow index and reassembly alone) | "
        f"{ratio(a['follow_s'], a['follow_ref_s'])} |",
        f"| conversations (`C` to the table, index built from nothing) | {ms(a['conv_s'])} | "
        f"{ms(a['conv_ref_s'])} (index and table alone) | {ratio(a['conv_s'], a['conv_ref_s'])}"
        " |",
        f"| cursor to tree (`j`, then reading; median, p95 {a['tree_p95_ms']:.1f} ms) | "
        f"{a['tree_ms']:.1f} ms | {a['tree_ref_ms']:.1f} ms (one `decode.detail`) | "
        f"{a['tree_ms'] / a['tree_ref_ms']:.2f}x |",
        f"| cursor to tree, key held down (median) | {a['tree_held_ms']:.1f} ms | "
        f"{a['tree_ref_ms']:.1f} ms | {a['tree_held_ms'] / a['tree_ref_ms']:.2f}x |",
    ]
