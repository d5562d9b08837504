"""The status bar: where packets come from, what tapwatch does with them, and every loss.

Losses are the point of a capture tool's status line: packets evicted from
the ring, dropped by the kernel before tapwatch read them, or not processed
because the ring wrapped are always shown, in bold red as soon as they are
non-zero, and a pcap write error is never hidden. The bar fits the width it
has: each item has a priority and the least important give way first
(addresses, the MTU, the byte count), never a loss. Everything
time-dependent comes from values the app passes in (the session's status
snapshot and the app's clock), so a test can pin the whole bar: the bar reads
one :class:`~tapwatch.snapshot.Status` and nothing else of the session.

A tunnel's end gets a third line, its own status.
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
    from tapwatch.snapshot import LoadStatus, Status

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


def loading_text(load: LoadStatus | None) -> tuple[str, str] | None:
    """(what, style key) for a file still loading or cut short: the user must know."""
    if load is None:
        return None
    if load.done and load.error:
        return f"loading stopped: {load.error}", "bad"
    if not load.done:
        if load.follows_pipe:
            return f"live input: {load.loaded:,} packets read", "good"
        pct = f" {min(load.fraction, 0.99) * 100:.0f}%" if load.fraction is not None else ""
        return f"loading{pct} ({load.loaded:,} packets)", "warn"
    if load.truncated_at is not None:
        return (
            f"loaded the first {load.truncated_at:,} packets: the ring is full "
            "(--ring-packets/--ring-bytes load more)",
            "warn",
        )
    return None


def render_status(
    st: Status,
    view: ViewState,
    width: int | None = None,
    styles: StatusStyles | None = None,
) -> Text:
    """The status lines as one rich Text, fitted to ``width`` cells when given."""
    s = styles or StatusStyles()
    t = Text(no_wrap=True, overflow="ellipsis")
    _line(t, _fit(_source_items(st, view, s), width), s)
    t.append("\n")
    _line(t, _fit(_count_items(st, view, s), width), s)
    if st.tunnel is not None:  # line 3: the tunnel's own
        t.append("\n ")
        t.append(printable(st.tunnel), s.value)
    return t


def _item(s: StatusStyles, priority: int, label: str, value: str, style: str | Style = "") -> _Item:
    return _Item(priority).add(f"{label} ", s.label).add(value, style or s.value)


def _source_items(st: Status, view: ViewState, s: StatusStyles) -> list[_Item]:
    """Line 1: the source and what tapwatch does."""
    items: list[_Item] = []
    head = _Item(ALWAYS).add(f" {view.title} ", s.title).add(" ")
    for n, (name, kind) in enumerate(st.interfaces):
        if n:
            head.add(" + ", s.label)
        # several link types (a pcapng of tun and Ethernet...): each interface names its own
        lt = f", {st.linktypes[n]}" if n < len(st.linktypes) else ""
        head.add(printable(name), s.name).add(f" ({kind}{lt})", s.label)
    items.append(head)
    if st.addresses:
        items.append(_Item(2).add(" ".join(st.addresses), s.value))
    if st.mtu:
        # with several interfaces, the MTU says whose it is (-i any's first is lo's 65536)
        whose = f"{printable(st.mtu_of)} mtu" if len(st.interfaces) > 1 and st.mtu_of else "mtu"
        items.append(_item(s, 1, whose, str(st.mtu), s.label))
    if st.device_state is not None:
        state = st.device_state
        word = _Item(9)
        if state == "gone":
            word.add(" GONE ", s.bad)
        elif state == "error":
            word.add(" ERROR ", s.bad)
        elif state == "down":
            word.add("DOWN", s.warn)
        elif state == "waiting":  # followed by name, absent now: read when it appears
            word.add("WAITING", s.warn)
        else:
            word.add(state.upper(), s.good)
        items.append(word)
    items += _peer_items(st, s)
    items.append(_capture_item(st, view, s))
    if st.notice:  # the latest thing that happened to a source (one went away, came back)
        items.append(_Item(ALWAYS).add(printable(st.notice), s.warn))
    loading = loading_text(st.loading)
    if loading is not None:
        text, key = loading
        style = s.bad if key == "bad" else s.warn if key == "warn" else s.good
        items.append(_Item(ALWAYS if key == "bad" else 9).add(printable(text), style))
    return items


def _peer_items(st: Status, s: StatusStyles) -> list[_Item]:
    """Who answers what the host sends, and how."""
    if st.peer == "observing":
        return [_item(s, 8, "mode", "read-only (observing)", s.warn)]
    if st.peer == "no-device":
        return [_item(s, 3, "mode", "n/a (no device)", s.label)]
    if st.peer == "file":
        return []
    if st.peer == "read-only":
        return [_item(s, 8, "mode", "read-only", s.label)]
    if st.peer == "tunnel":  # the far end answers; tapwatch carries every frame
        return [_item(s, 8, "mode", "tunnel", s.mode)]
    mode = _item(s, 8, "mode", st.mode, s.mode if st.mode != "drop" else s.value)
    if st.replies_sent or st.mode != "drop":
        mode.add(f" ({st.replies_sent:,} sent)", s.label)
    items = [mode]
    if st.peer_mac and st.mode == "reply":
        items.append(_Item(1).add(f"as {st.peer_mac}", s.label))
    if st.mode == "echo":
        items.append(
            _Item(5).add(
                "echoed requests come back as requests: the host drops them, so ping sees no reply",
                s.label,
            )
        )
    return items


def _capture_item(st: Status, view: ViewState, s: StatusStyles) -> _Item:
    """Paused, live, stopped (and why) or offline."""
    item = _Item(ALWAYS)
    if view.paused:
        item.add(" PAUSED ", s.paused).add(f" +{view.new_while_paused:,} new", s.warn)
    elif st.capture == "live":
        item.add("● live", s.good)
    elif st.capture == "stopped":
        item.add("■ stopped", s.stopped)
    else:
        item.add("offline", s.offline)
    if st.stop_reason and st.capture == "stopped":
        item.add(f" ({printable(st.stop_reason)})", s.label)
    return item


def _count_items(st: Status, view: ViewState, s: StatusStyles) -> list[_Item]:
    """Line 2: counts and losses, the file, the filter, what went wrong."""
    items: list[_Item] = [_item(s, ALWAYS, "packets", f"{st.captured:,}")]
    # bytes stay beside the packets (a filter's "shown" must not push them out); the ring's
    # fill gives way first unless it is nearly full
    items.append(_item(s, 8, "bytes", human_bytes(st.bytes)))
    if st.capture == "live":
        items.append(_item(s, 6, "rate", f"{view.pps:,.0f}/s"))
    fill = st.ring_len / st.ring_max * 100 if st.ring_max else 0.0
    ring = f"{st.ring_len:,}/{st.ring_max:,} ({fill:.0f}%)"
    items.append(_item(s, 9 if fill >= 90 else 5, "ring", ring, s.warn if fill >= 90 else s.value))
    items.append(_loss_item(st, s))
    if st.kernel_drops_meaning:
        items.append(_Item(3).add(f"kernel drops = {st.kernel_drops_meaning}", s.label))
    if st.write_error:
        items.append(_Item(ALWAYS).add(f" pcap write error: {printable(st.write_error)} ", s.bad))
    elif st.writing:
        items.append(_item(s, 7, "pcap", f"{st.written:,} written"))
    if view.display_filter or view.scanning is not None or st.filtering:
        shown = _item(s, 9, "shown", f"{view.shown:,}")
        if view.scanning is not None:
            shown.add(f" filtering {view.scanning * 100:.0f}%", s.warn)
        items.append(shown)
    if view.busy:
        items.append(_Item(9).add(view.busy, s.warn))
    if st.action_error:
        items.append(_Item(9).add(f"action failed: {printable(st.action_error)}", s.stopped))
    if st.echo_warning:
        items.append(_Item(9).add(f"{printable(st.echo_warning)} ({st.echo_loops:,})", s.stopped))
    return items


def _loss_item(st: Status, s: StatusStyles) -> _Item:
    """Every loss, in bold red when it is not zero."""
    losses = _Item(ALWAYS)
    counted: list[tuple[str, int | None]] = [("evicted", st.evicted)]
    if st.kernel_dropped is not None or st.capture != "offline":
        counted.append(("kernel drops", st.kernel_dropped))  # a file has none to count
    if st.held_dropped:  # -i any: let go while waiting for their link's announcement
        counted.append(("unannounced", st.held_dropped))
    if st.unrecorded:  # the tunnel carried them; its relay's full queue let their copies go
        counted.append(("unrecorded", st.unrecorded))
    counted.append(("missed", st.missed))
    for n, (label, value) in enumerate(counted):
        if n:
            losses.add("  ")
        losses.add(f"{label} ", s.label)
        if value is None:
            losses.add("?", s.label)
        else:
            losses.add(f"{value:,}", s.bad if value else s.good)
    return losses


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
