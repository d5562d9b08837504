"""Follow a TCP or UDP stream: both ways, coloured by side, as text or hex.

The stream is reassembled in a thread worker (``analysis.streams``) over the
ring; meanwhile a progress bar shows how far it is, read from the shared
:class:`~tapwatch.analysis.Progress` by a timer rather than a message per
chunk. Closing the screen cancels the work. ``F`` dismisses with the
stream's filter expression (the main screen applies it), Escape with None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import ProgressBar, Static

from tapwatch.analysis import Cancelled, Progress
from tapwatch.analysis.conversations import SharedIndex, human_bytes
from tapwatch.analysis.streams import HEX_LINE_WIDTH, Stream, follow, hex_lines, text_lines
from tapwatch.sanitize import printable
from tapwatch.widgets.failures import ReportsWorkerFailures

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tapwatch.ring import Ring

#: how often the screen reads its worker's progress
PROGRESS_S = 0.1
#: payload up to this is made into lines at once; more, in a worker (16 MB: seconds)
INLINE_BYTES = 256 * 1024


class StreamView(ScrollView, can_focus=True):
    """The followed stream's lines, each coloured by the side that sent it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "stream-view--client",
        "stream-view--server",
        "stream-view--note",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[tuple[int, str]] = []  # (side: 0 client, 1 server, 2 note, text)

    def set_lines(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        width = max((len(t) for _, t in lines[:5000]), default=0)
        self.virtual_size = Size(width, len(lines))
        self.scroll_to(0, 0, animate=False, force=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if not 0 <= index < len(self.lines):
            return Strip.blank(width)
        side, text = self.lines[index]
        name = ("stream-view--client", "stream-view--server", "stream-view--note")[side]
        style: Style = self.get_component_rich_style(name)
        x = self.scroll_offset.x
        return Strip([Segment(text[x : x + width], style)]).adjust_cell_length(width, style)


def stream_lines(
    stream: Stream, mode: str, sides: tuple[int, ...] = (0, 1), width: int = 0
) -> list[tuple[int, str]]:
    """The stream as display lines: text (Wireshark's ASCII view) or a hex dump per chunk
    (16 bytes a row when ``width`` has room for them, the server's indented, else 8)."""
    out: list[tuple[int, str]] = []
    per_row = 16 if not width or width >= HEX_LINE_WIDTH[16] + 4 else 8
    offsets = [0, 0]
    for chunk in stream.chunks:
        if chunk.side not in sides:
            offsets[chunk.side] += len(chunk.data)
            continue
        if chunk.gap:
            out.append((2, f"[{chunk.gap:,} bytes missing: never captured]"))
        if mode == "hex":
            prefix = "    " if chunk.side else ""
            out.extend(
                (chunk.side, prefix + line)
                for line in hex_lines(chunk.data, offsets[chunk.side], per_row)
            )
        else:
            out.extend((chunk.side, line) for line in text_lines(chunk.data, width))
        offsets[chunk.side] += len(chunk.data)
    if stream.truncated:
        out.append((2, "[the rest is not shown: this view keeps the first 16 MB]"))
    if not out:
        if len(sides) == 1 and any(chunk.data for chunk in stream.chunks):
            who = "client" if sides == (0,) else "server"
            out.append((2, f"the {who} sent no payload in this stream"))
        else:
            out.append((2, "no payload in this stream (only headers)"))
    return out


class FollowScreen(ReportsWorkerFailures, ModalScreen["str | None"]):
    """The TCP or UDP stream of a packet: both ways, coloured, as text or hex."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        Binding("h", "toggle_hex", "Text / hex"),
        Binding("a", "sides('both')", "Both ways"),
        Binding("c", "sides('client')", "Client only"),
        Binding("s", "sides('server')", "Server only"),
        Binding("F,enter", "filter", "Filter the list to it"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"follow--client", "follow--server", "follow--note"}

    class Ready(Message):
        def __init__(self, stream: Stream | None, error: str | None = None) -> None:
            super().__init__()
            self.stream = stream
            self.error = error

    def __init__(
        self, shared: SharedIndex, ring: Ring, linktypes: Sequence[int], data: bytes, linktype: int
    ) -> None:
        super().__init__()
        self.shared = shared
        self.ring = ring
        self.linktypes = linktypes
        self.data = data
        self.linktype = linktype
        self.stream: Stream | None = None
        self.mode = "text"
        self.sides: tuple[int, ...] = (0, 1)
        self.progress = Progress()

    def compose(self) -> ComposeResult:
        box = Vertical(id="follow-box", classes="tool")
        box.border_title = "Follow stream"
        box.border_subtitle = "h text/hex · a c s both/client/server · F filter the list · Esc"
        with box:
            yield Static("reading the capture…", id="follow-head")
            yield ProgressBar(id="follow-progress", show_eta=False)
            yield StreamView(id="follow-view")

    def on_mount(self) -> None:
        self.query_one("#follow-view", StreamView).focus()
        self.set_interval(PROGRESS_S, self._show_progress)
        self._reassemble()

    def _show_progress(self) -> None:
        bar = self.query_one("#follow-progress", ProgressBar)
        if self.stream is None:
            bar.update(total=max(1, self.progress.total), progress=self.progress.done)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _reassemble(self) -> None:
        try:
            with self.shared.lock:
                index = self.shared.catch_up(self.ring, self.progress)
                conv = index.flow_of(self.data, self.linktype)
                seqs = list(conv.seqs) if conv is not None else []
            if conv is None:
                self.post_message(self.Ready(None, "the selected packet is not TCP or UDP"))
                return
            self.progress.total = len(seqs)
            self.progress.done = 0
            stream = follow(conv, map(self.ring.get, seqs), self.linktypes, progress=self.progress)
        except Cancelled:
            return
        self.post_message(self.Ready(stream))

    class LinesReady(Message):
        def __init__(self, lines: list[tuple[int, str]], key: tuple[str, tuple[int, ...]]) -> None:
            super().__init__()
            self.lines = lines
            self.key = key  # the mode and sides they were made for

    @work(thread=True, exclusive=True, group="follow-lines", exit_on_error=False)
    def _lines(self, st: Stream, mode: str, sides: tuple[int, ...], width: int) -> None:
        self.post_message(self.LinesReady(stream_lines(st, mode, sides, width), (mode, sides)))

    def on_follow_screen_lines_ready(self, message: FollowScreen.LinesReady) -> None:
        if message.key == (self.mode, self.sides):  # not lines a newer choice made stale
            self.query_one("#follow-view", StreamView).set_lines(message.lines)

    def on_follow_screen_ready(self, message: FollowScreen.Ready) -> None:
        self.query_one("#follow-progress", ProgressBar).display = False
        if message.stream is None:
            self.query_one("#follow-head", Static).update(Text(message.error or "nothing"))
            return
        self.stream = message.stream
        self._show()

    def _show(self) -> None:
        st = self.stream
        if st is None:
            return
        get = self.get_component_rich_style
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f"{st.proto_name} ", "bold")
        head.append(printable(st.client), get("follow--client"))
        head.append(" ⇄ ")
        head.append(printable(st.server), get("follow--server"))
        head.append(f"   {st.packets:,} packets · ")
        head.append(f"client {human_bytes(st.bytes_each_way[0])}", get("follow--client"))
        head.append(" · ")
        head.append(f"server {human_bytes(st.bytes_each_way[1])}", get("follow--server"))
        notes = []
        if st.gaps:
            notes.append(f"{st.gaps:,} bytes never captured")
        if st.missing:
            notes.append(f"{st.missing:,} packets no longer held")
        if st.flags_seen:
            notes.append(" ".join(sorted(st.flags_seen)))
        if notes:
            head.append("   " + " · ".join(notes))
        head.append(f"\nfilter: {st.filter_expr}", get("follow--note"))
        self.query_one("#follow-head", Static).update(head)
        view = self.query_one("#follow-view", StreamView)
        width = view.scrollable_content_region.width
        if sum(len(c.data) for c in st.chunks) <= INLINE_BYTES:
            view.set_lines(stream_lines(st, self.mode, self.sides, width))
        else:  # megabytes of payload are seconds of lines: never on the event loop
            self._lines(st, self.mode, self.sides, width)
        if len(self.sides) == 2:
            sides = "both ways"
        else:
            sides = "client only" if self.sides == (0,) else "server only"
        shown = "hex" if self.mode == "hex" else "text"
        self.query_one(
            "#follow-box"
        ).border_title = f"Follow {st.proto_name} stream · {shown} · {sides}"

    def on_resize(self) -> None:
        self._show()  # rows of 16 or 8 bytes, text wrapped, for the new width

    def action_toggle_hex(self) -> None:
        self.mode = "text" if self.mode == "hex" else "hex"
        self._show()

    def action_sides(self, which: str) -> None:
        self.sides = {"both": (0, 1), "client": (0,), "server": (1,)}[which]
        self._show()

    def action_filter(self) -> None:
        if self.stream is not None:
            self.dismiss(self.stream.filter_expr)

    def action_close(self) -> None:
        self.progress.cancel()
        self.dismiss(None)
