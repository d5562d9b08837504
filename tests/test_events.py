"""Interface event records without a namespace: the pump, the sinks, the words of a message.

The namespace tests (test_follow.py) make the events happen; these pin what the session
does with an event record once it is in the ring, and that a hostile message read from a
file is described without failing.
"""

from __future__ import annotations

import io
import random
import struct

from tapwatch import pcap
from tapwatch.capture.links import cooked
from tapwatch.decode.netlink import describe
from tapwatch.headless import LinePrinter
from tapwatch.linktypes import LINKTYPE_NETLINK, LINKTYPE_RAW
from tapwatch.ring import Extra
from tapwatch.session import Session
from tapwatch.sinks import FileSink, PrinterSink
from tapwatch.sources import InterfaceInfo, RecordSource

PING = bytes.fromhex("4500001c0001000040017cdc0a0000010a000002") + bytes.fromhex("0800f7ff00000000")


def link_message(kind: int, index: int, name: str, flags: int, change: int, mtu: int) -> bytes:
    def rta(t: int, value: bytes) -> bytes:
        return struct.pack("=HH", 4 + len(value), t) + value + b"\0" * (-len(value) & 3)

    attrs = rta(3, name.encode() + b"\0") + rta(4, struct.pack("=I", mtu))
    body = struct.pack("=BxHiII", 0, 65534, index, flags, change) + attrs
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def session_with(sinks: list[object], fmt: str = "pcapng") -> tuple[Session, io.BytesIO]:
    out = io.BytesIO()
    writer = pcap.open_writer(out, LINKTYPE_RAW, ifname="tun0", fmt=fmt)
    info = InterfaceInfo("tun0", "observe", linktype=LINKTYPE_RAW)
    s = Session([RecordSource(info)], sinks=[FileSink(writer), *sinks], limit=1)  # type: ignore[list-item]
    return s, out


def add_event(s: Session, ts: int, text: str, raw: bytes) -> None:
    info = next((i for i in s.interfaces if i.kind == "events"), None)
    if info is None:
        info = InterfaceInfo("netlink", "events", linktype=LINKTYPE_NETLINK)
        s.add_interface(info)
    s.ring.extend([(ts, 0, cooked(raw))], info.index, {0: Extra(comment=text)})


def test_events_pass_every_filter_and_limit_and_are_counted_apart() -> None:
    lines = io.StringIO()
    printer = LinePrinter([InterfaceInfo("tun0", "observe", linktype=LINKTYPE_RAW)], lines, hold=0)
    s, out = session_with([PrinterSink(printer)])
    s.feed(1_000, 2, PING)
    add_event(s, 2_000, "tun0: link removed", link_message(17, 3, "tun0", 0, 0, 1500))
    s.feed(3_000, 2, PING)  # past -c 1: not counted, not written
    add_event(s, 4_000, "tun0: link added (index 4, mtu 1500, down)", b"")
    s.pump()
    s.close()
    assert (s.matched, s.events) == (1, 2)
    assert "2 interface events" in s.exit_line()
    printed = lines.getvalue().splitlines()
    assert (
        len(printed) == 3
        and printed[1].startswith("# ")
        and "event tun0: link removed" in printed[1]
    )
    cap = pcap.read_capture(io.BytesIO(out.getvalue()))
    recs = list(cap)
    assert [i.linktype for i in cap.interfaces] == [LINKTYPE_RAW, LINKTYPE_NETLINK]
    assert [r.iface for r in recs] == [0, 1, 1]
    assert describe(recs[1].data) == "tun0: link removed"


def test_classic_pcap_cannot_hold_events_and_says_so() -> None:
    s, _out = session_with([], fmt="pcap")
    add_event(s, 1_000, "tun0: link up", link_message(16, 3, "tun0", 1, 1, 1500))
    s.pump()
    s.close()
    assert s.events == 1
    assert "1 interface events not written (classic pcap holds one link type" in s.exit_line()


def test_a_message_read_from_a_file_is_described_whatever_its_bytes() -> None:
    new = link_message(16, 7, "wg0", 1, 0xFFFFFFFF, 1420)
    assert describe(cooked(new)) == "wg0: link added (index 7, mtu 1420, up)"
    assert describe(cooked(link_message(16, 7, "wg0", 0, 1, 1420))) == "wg0: link down"
    rng = random.Random(18)
    for n in range(2000):  # cut short anywhere, or noise with a plausible header
        data = cooked(new)[: rng.randrange(len(new) + 16)]
        if n % 2:
            noise = bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
            data = cooked(
                struct.pack(
                    "=IHHII", rng.randrange(200), rng.choice((16, 17, 20, 21, 24, 25)), 0, 0, 0
                )
                + noise
            )
        assert isinstance(describe(data), str)


class _StubReader:
    """Just enough of a CaptureReader for the session's failure handling."""

    kernel_drops_meaning = "packets the capture ring had no room for"

    def __init__(self) -> None:
        self.failure: object = None
        self.ident = 1  # started
        self.packets = 0

    @property
    def error(self) -> str | None:
        return None if self.failure is None else str(self.failure)

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def is_alive(self) -> bool:
        return False

    def kernel_drops(self) -> int:
        return 0


def test_one_failing_source_leaves_the_session_live_and_the_last_one_ends_it() -> None:
    import time

    from tapwatch.capture import DeviceGone
    from tapwatch.sources import Source

    readers = [_StubReader(), _StubReader()]
    sources = [
        Source([InterfaceInfo(name, "observe", index=n)], reader=r)  # type: ignore[arg-type]
        for n, (name, r) in enumerate(zip(("tun9", "veth0"), readers, strict=True))
    ]
    s = Session(sources)
    s.start()
    try:
        readers[0].failure = DeviceGone()
        deadline = time.monotonic() + 10
        while not s.failed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert s.failed == ["tun9: device went away"]
        assert s.take_notices() == ["tun9: device went away; capture goes on on veth0"]
        assert s.capture_state() == "live" and not s.stop_requested.is_set()
        readers[1].failure = DeviceGone()
        assert s.stop_requested.wait(10)
        assert s.stop_reason == "veth0: device went away" and s.stop_error
        assert s.capture_state() == "stopped"
    finally:
        s.close()


def test_the_status_bar_shows_the_mtu_the_last_interface_event_said() -> None:
    """veth0's MTU read at the start is 1500; an interface event lowers it to 1400 and the
    status bar says 1400 from then on. An event about a link the session does not watch
    changes nothing; a file's interfaces (no MTU read) get none from events."""
    from tapwatch.widgets.status import ViewState, render_status

    info = InterfaceInfo("veth0", "observe", linktype=LINKTYPE_RAW, mtu=1500)
    s = Session([RecordSource(info)])
    assert "mtu 1500" in render_status(s.status(), ViewState()).plain
    add_event(s, 1_000, "eth9: mtu 1500 -> 9000", link_message(16, 9, "eth9", 1, 0, 9000))
    s.pump()
    assert s.status().mtu == 1500
    add_event(s, 2_000, "veth0: mtu 1500 -> 1400", link_message(16, 5, "veth0", 1, 0, 1400))
    s.pump()
    assert s.status().mtu == 1400
    text = render_status(s.status(), ViewState()).plain
    assert "mtu 1400" in text and "1500" not in text
    s.close()

    read = Session([RecordSource(InterfaceInfo("veth0", "file", linktype=LINKTYPE_RAW))])
    add_event(read, 1_000, "veth0: mtu 1500 -> 1400", link_message(16, 5, "veth0", 1, 0, 1400))
    read.pump()
    assert read.status().mtu is None
    read.close()
