"""The status bar: where packets come from, what tapwatch does with them, and every loss.

Losses are the point of a capture tool's status line: packets evicted from the
ring, dropped by the kernel before tapwatch read them, or not processed because
the ring wrapped are always shown, in bold red as soon as they are non-zero,
and a pcap write error is never hidden. Everything time-dependent comes from
values the app passes in (the session's counters and the app's clock), so a
test can pin the whole bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from tapwatch.session import Session, Status

SEP = ("  │  ", "#5c6370")
LABEL = "#8a93a3"
VALUE = "bold #e6e6e6"
BAD = "bold #ffffff on #b3261e"
GOOD = "#98c379"


def human_bytes(n: int) -> str:
    """Byte counts the way people read them: 1.5 MB, not 1536000."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover - the loop always returns


@dataclass
class ViewState:
    """What the UI adds to the session's status: pause, filter, clock-derived rate."""

    paused: bool = False
    new_while_paused: int = 0
    shown: int = 0
    display_filter: str = ""
    scanning: float | None = None  # filter rebuild progress 0..1, None when idle
    pps: float = 0.0
    title: str = "tapwatch"


def capture_state(session: Session, st: Status) -> str:
    """live / stopped / offline: whether packets can still arrive."""
    if not session.live and session.device is None:
        return "offline"
    if st.device_state in ("gone", "error") or session.stop_requested.is_set():
        return "stopped"
    return "live"


def render_status(session: Session, st: Status, view: ViewState) -> Text:
    """The two status lines as one rich Text."""
    info = session.info
    t = Text(no_wrap=True, overflow="ellipsis")

    def sep() -> None:
        t.append(*SEP)

    def item(label: str, value: str, style: str = VALUE) -> None:
        t.append(f"{label} ", LABEL)
        t.append(value, style)

    # ---- line 1: the source and what tapwatch does ----
    t.append(f" {view.title} ", "bold #1e1e1e on #61afef")
    t.append(" ")
    t.append(info.name, "bold #e5c07b")
    t.append(f" ({info.kind})", LABEL)
    if info.addresses:
        t.append("  " + " ".join(info.addresses), "#e6e6e6")
    if info.mtu:
        t.append(f"  mtu {info.mtu}", LABEL)
    if st.device_state != "file":
        state = st.device_state
        t.append("  ")
        if state == "gone":
            t.append(" GONE ", BAD)
        elif state == "error":
            t.append(" ERROR ", BAD)
        elif state == "down":
            t.append("DOWN", "bold #e5c07b")
        else:
            t.append(state.upper(), f"bold {GOOD}")
    sep()
    if session.info.kind == "observe":
        item("mode", "read-only (observing)", "bold #e5c07b")
    elif session.device is None:
        item("mode", "n/a (no device)", LABEL)
    elif session.read_only:
        item("mode", "read-only", LABEL)
    else:
        item("mode", st.mode, "bold #c678dd" if st.mode != "drop" else VALUE)
        if st.replies_sent or st.mode != "drop":
            t.append(f" ({st.replies_sent:,} sent)", LABEL)
        if info.peer_mac and st.mode == "reply":
            t.append(f" as {info.peer_mac}", LABEL)
    sep()
    cap = capture_state(session, st)
    if view.paused:
        t.append(" PAUSED ", "bold #1e1e1e on #e5c07b")
        t.append(f" +{view.new_while_paused:,} new", "bold #e5c07b")
    elif cap == "live":
        t.append("● live", f"bold {GOOD}")
    elif cap == "stopped":
        t.append("■ stopped", "bold #e06c75")
    else:
        t.append("offline", "bold #abb2bf")
    if session.stop_reason and cap == "stopped":
        t.append(f" ({session.stop_reason})", LABEL)
    t.append("\n")

    # ---- line 2: counts and losses ----
    t.append(" ")
    item("packets", f"{st.captured:,}")
    t.append("  ")
    item("bytes", human_bytes(st.bytes))
    if cap == "live":
        t.append("  ")
        item("rate", f"{view.pps:,.0f}/s")
    sep()
    fill = st.ring_len / st.ring_max * 100 if st.ring_max else 0.0
    item("ring", f"{st.ring_len:,}/{st.ring_max:,} ({fill:.0f}%)",
         "bold #e5c07b" if fill >= 90 else VALUE)
    sep()
    for label, value in (("evicted", st.evicted), ("kernel drops", st.kernel_dropped),
                         ("missed", st.missed)):
        if value is None:
            item(label, "?", LABEL)
        else:
            item(label, f"{value:,}", BAD if value else GOOD)
        t.append("  ")
    if st.write_error:
        sep()
        t.append(f" pcap write error: {st.write_error} ", BAD)
    elif session.writer is not None:
        sep()
        item("pcap", f"{st.written:,} written")
    if view.display_filter or view.scanning is not None or session.capture_filter is not None:
        sep()
        item("shown", f"{view.shown:,}")
        if view.scanning is not None:
            t.append(f" filtering {view.scanning * 100:.0f}%", "bold #e5c07b")
    if session.action_error:
        sep()
        t.append(f"action failed: {session.action_error}", "bold #e06c75")
    return t


class StatusBar(Static):
    """Two lines at the top; updated by the app's timer only when the text changes."""

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        background: #21252b;
        color: #e6e6e6;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._last: Text | None = None

    def show(self, text: Text) -> None:
        if self._last is not None and self._last.plain == text.plain and \
                self._last.spans == text.spans:
            return
        self._last = text
        self.update(text)

    @property
    def text(self) -> str:
        """The plain text shown (for tests)."""
        return self._last.plain if self._last is not None else ""
