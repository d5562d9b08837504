"""The status bar: where packets come from, what tapwatch does with them, and every loss.

Losses are the point of a capture tool's status line: packets evicted from
the ring, dropped by the kernel before tapwatch read them, or not processed
because the ring wrapped are always shown, in bold red as soon as they are
non-zero, and a pcap write error is never hidden. The bar fits the width it
has: each item has a priority and the least important give way first
(addresses, the MTU, the byte count), never a loss. Everything
time-dependent comes from values the app passes in (the session's counters
and the app's clock), so a test can pin the whole bar.

A session may carry an extra source of status, such as a tunnel: any
``session.tunnel`` with a ``status_text()`` method gets a line of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from tapwatch.analysis.conversations import human_bytes
from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from tapwatch.session import Session, Status

__all__ = ["BAD", "StatusBar", "StatusStyles", "ViewState", "human_bytes", "render_status"]

#: default styles (the bar in the app takes them from the theme through its component classes)
BAD = "bold #ffffff on #b3261e"


@dataclass
class StatusStyles:
    """The bar's styles: rich style strings or Styles, from the theme when in the app."""

    label: str | Style = "#8a93a3"
    value: str | Style = "bold #e6e6e6"
    bad: str | Style = BAD
    good: str | Style = "#98c379"
    warn: str | Style = "bold #e5c07b"
    name: str | Style = "bold #e5c07b"
    title: str | Style = "bold #1e1e1e on #61afef"
    mode: str | Style = "bold #c678dd"
    paused: str | Style = "bold #1e1e1e on #e5c07b"
    stopped: str | Style = "bold #e06c75"
    offline: str | Style = "bold #abb2bf"
    sep: str | Style = "#5c6370"


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
    busy: str | None = None  # a tool working in the background ("sorting 40%")


@dataclass
class _Item:
    priority: int  # 10: never dropped
    parts: list[tuple[str, str | Style]] = field(default_factory=list)

    def add(self, text: str, style: str | Style = "") -> _Item:
        self.parts.append((text, style))
        return self

    @property
    def width(self) -> int:
        return sum(len(t) for t, _ in self.parts)


SEP = "  │  "
ALWAYS = 10


def _fit(items: list[_Item], width: int | None, sep: str = SEP) -> list[_Item]:
    """Drop the least important items until the line fits ``width``."""
    kept = list(items)
    if width is None:
        return kept

    def total() -> int:
        return sum(i.width for i in kept) + len(sep) * max(0, len(kept) - 1) + 1

    while total() > width:
        candidates = [i for i in kept if i.priority < ALWAYS]
        if not candidates:
            break
        lowest = min(i.priority for i in candidates)
        victim = [i for i in candidates if i.priority == lowest][-1]
        kept.remove(victim)
    return kept


def _line(t: Text, items: Sequence[_Item], styles: StatusStyles) -> None:
    t.append(" ")
    for n, item in enumerate(items):
        if n:
            t.append(SEP, styles.sep)
        for text, style in item.parts:
            t.append(text, style)


def capture_state(session: Session, st: Status) -> str:
    """live / stopped / offline: whether packets can still arrive."""
    if not session.live and session.device is None:
        return "offline"
    if st.device_state in ("gone", "error") or session.stop_requested.is_set():
        return "stopped"
    return "live"


def drop_meaning(session: Session) -> str:
    """What the kernel-drop figure counts, in a few words, from how the sources read."""
    meanings = {s.kernel_drops_meaning for s in session.sources if s.kernel_drops_meaning}
    return " / ".join(sorted(meanings))


def file_progress(session: Session) -> tuple[str, str] | None:
    """(what, style key) for a file still loading or cut short: the user must know."""
    for s in session.sources:
        loader = getattr(s, "loader", None)
        if loader is None:
            continue
        done = getattr(s, "done", None)
        loaded = getattr(s, "loaded", 0)
        truncated = getattr(s, "truncated_at", None)
        error = getattr(s, "error", None)
        if error and done is not None and done.is_set():
            return f"loading stopped: {error}", "bad"
        if done is not None and not done.is_set():
            if getattr(s, "follows_pipe", False):
                return f"live input: {loaded:,} packets read", "good"
            frac = _load_fraction(s, session)
            pct = f" {frac * 100:.0f}%" if frac is not None else ""
            return f"loading{pct} ({loaded:,} packets)", "warn"
        if truncated is not None:
            return (
                f"loaded the first {truncated:,} packets: the ring is full "
                "(--ring-packets/--ring-bytes load more)",
                "warn",
            )
    return None


def _load_fraction(src: object, session: Session) -> float | None:
    """How much of a capture file is in, by bytes: the records' bytes over the file's size."""
    progress = getattr(src, "progress", None)
    if callable(progress):
        value = progress()
        return float(value) if value is not None else None
    capture = getattr(src, "capture", None)
    path = getattr(capture, "path", None)
    if not isinstance(path, str):
        return None
    import os

    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    if size <= 0:
        return None
    loaded = getattr(src, "loaded", 0)
    per_record = 32 if getattr(capture, "format", "") == "pcapng" else 16
    return min(0.99, (session.ring.total_bytes + loaded * per_record) / size)


def render_status(
    session: Session,
    st: Status,
    view: ViewState,
    width: int | None = None,
    styles: StatusStyles | None = None,
) -> Text:
    """The status lines as one rich Text, fitted to ``width`` cells when given."""
    s = styles or StatusStyles()
    info = session.info
    t = Text(no_wrap=True, overflow="ellipsis")

    def item(priority: int, label: str, value: str, style: str | Style = s.value) -> _Item:
        return _Item(priority).add(f"{label} ", s.label).add(value, style)

    # ---- line 1: the source and what tapwatch does ----
    line1: list[_Item] = []
    head = _Item(ALWAYS).add(f" {view.title} ", s.title).add(" ")
    for n, iface in enumerate(session.interfaces):
        if n:
            head.add(" + ", s.label)
        head.add(printable(iface.name), s.name).add(f" ({iface.kind})", s.label)
    line1.append(head)
    if info.addresses:
        line1.append(_Item(2).add(" ".join(info.addresses), s.value))
    if info.mtu:
        line1.append(item(1, "mtu", str(info.mtu), s.label))
    if st.device_state != "file":
        state = st.device_state
        word = _Item(9)
        if state == "gone":
            word.add(" GONE ", s.bad)
        elif state == "error":
            word.add(" ERROR ", s.bad)
        elif state == "down":
            word.add("DOWN", s.warn)
        else:
            word.add(state.upper(), s.good)
        line1.append(word)
    if session.info.kind == "observe":
        line1.append(item(8, "mode", "read-only (observing)", s.warn))
    elif session.device is None:
        if session.info.kind != "file":
            line1.append(item(3, "mode", "n/a (no device)", s.label))
    elif session.read_only:
        line1.append(item(8, "mode", "read-only", s.label))
    elif session.tunnel is not None:  # the far end answers; tapwatch carries every frame
        line1.append(item(8, "mode", "tunnel", s.mode))
    else:
        mode = item(8, "mode", st.mode, s.mode if st.mode != "drop" else s.value)
        if st.replies_sent or st.mode != "drop":
            mode.add(f" ({st.replies_sent:,} sent)", s.label)
        line1.append(mode)
        if info.peer_mac and st.mode == "reply":
            line1.append(_Item(1).add(f"as {info.peer_mac}", s.label))
        if st.mode == "echo":
            line1.append(
                _Item(5).add(
                    "echoed requests come back as requests: the host drops "
                    "them, so ping sees no reply",
                    s.label,
                )
            )
    cap = capture_state(session, st)
    state_item = _Item(ALWAYS)
    if view.paused:
        state_item.add(" PAUSED ", s.paused).add(f" +{view.new_while_paused:,} new", s.warn)
    elif cap == "live":
        state_item.add("● live", s.good)
    elif cap == "stopped":
        state_item.add("■ stopped", s.stopped)
    else:
        state_item.add("offline", s.offline)
    if session.stop_reason and cap == "stopped":
        state_item.add(f" ({printable(session.stop_reason)})", s.label)
    line1.append(state_item)
    loading = file_progress(session)
    if loading is not None:
        text, key = loading
        style = s.bad if key == "bad" else s.warn if key == "warn" else s.good
        line1.append(_Item(ALWAYS if key == "bad" else 9).add(printable(text), style))
    _line(t, _fit(line1, width), s)
    t.append("\n")

    # ---- line 2: counts and losses ----
    line2: list[_Item] = [item(ALWAYS, "packets", f"{st.captured:,}")]
    line2.append(item(4, "bytes", human_bytes(st.bytes)))
    if cap == "live":
        line2.append(item(6, "rate", f"{view.pps:,.0f}/s"))
    fill = st.ring_len / st.ring_max * 100 if st.ring_max else 0.0
    line2.append(
        item(
            7,
            "ring",
            f"{st.ring_len:,}/{st.ring_max:,} ({fill:.0f}%)",
            s.warn if fill >= 90 else s.value,
        )
    )
    losses = _Item(ALWAYS)
    counted: list[tuple[str, int | None]] = [("evicted", st.evicted)]
    if st.kernel_dropped is not None or session.live:
        counted.append(("kernel drops", st.kernel_dropped))  # a file has none to count
    counted.append(("missed", st.missed))
    for n, (label, value) in enumerate(counted):
        if n:
            losses.add("  ")
        losses.add(f"{label} ", s.label)
        if value is None:
            losses.add("?", s.label)
        else:
            losses.add(f"{value:,}", s.bad if value else s.good)
    line2.append(losses)
    meaning = drop_meaning(session)
    if meaning:
        line2.append(_Item(3).add(f"kernel drops = {meaning}", s.label))
    if st.write_error:
        line2.append(_Item(ALWAYS).add(f" pcap write error: {printable(st.write_error)} ", s.bad))
    elif session.writer is not None:
        line2.append(item(7, "pcap", f"{st.written:,} written"))
    if view.display_filter or view.scanning is not None or session.capture_filter is not None:
        shown = item(9, "shown", f"{view.shown:,}")
        if view.scanning is not None:
            shown.add(f" filtering {view.scanning * 100:.0f}%", s.warn)
        line2.append(shown)
    if view.busy:
        line2.append(_Item(9).add(view.busy, s.warn))
    if session.action_error:
        line2.append(_Item(9).add(f"action failed: {printable(session.action_error)}", s.stopped))
    echo = getattr(session, "echo", None)
    if echo is not None and echo.warning:
        line2.append(_Item(9).add(f"{printable(echo.warning)} ({echo.loops:,})", s.stopped))
    _line(t, _fit(line2, width), s)

    # ---- line 3: a tunnel (or any other extra source of status) ----
    extra = extra_status(session)
    if extra is not None:
        t.append("\n ")
        t.append(printable(extra), s.value)
    return t


def extra_status(session: Session) -> str | None:
    """The tunnel's line, when the session carries one with a ``status_text()``."""
    tunnel = getattr(session, "tunnel", None)
    if tunnel is None:
        return None
    status_text = getattr(tunnel, "status_text", None)
    if not callable(status_text):
        return None
    try:
        text = status_text()
    except Exception as e:  # a status line must never take the UI down
        return f"tunnel: status unavailable ({e.__class__.__name__})"
    return str(text) if text else None


class StatusBar(Static):
    """The status lines at the top; updated by the screen's timer only when the text changes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status--label",
        "status--value",
        "status--bad",
        "status--good",
        "status--warn",
        "status--name",
        "status--title",
        "status--mode",
        "status--paused",
        "status--stopped",
        "status--offline",
        "status--sep",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._last: Text | None = None
        self._styles: StatusStyles | None = None

    def styles_for_render(self) -> StatusStyles:
        """The bar's styles, from the theme (cached until the theme changes)."""
        if self._styles is None:
            get = self.get_component_rich_style
            self._styles = StatusStyles(
                **{
                    name: get(f"status--{name}", partial=True)
                    for name in StatusStyles.__dataclass_fields__
                }
            )
        return self._styles

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        self._styles = None
        self._last = None

    def show(self, text: Text) -> None:
        lines = text.plain.count("\n") + 1
        if self.styles.height is None or self.styles.height.value != lines:
            self.styles.height = lines
        if (
            self._last is not None
            and self._last.plain == text.plain
            and self._last.spans == text.spans
        ):
            return
        self._last = text
        self.update(text)

    @property
    def text(self) -> str:
        """The plain text shown (for tests)."""
        return self._last.plain if self._last is not None else ""
