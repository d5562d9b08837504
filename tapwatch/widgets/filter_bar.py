"""The display filter: one line of tcpdump's BPF or Wireshark's language, checked as you type.

The bar compiles what is typed on every keystroke (through the function the
screen gives it, which adds the capture filter) and turns red or green; it
never applies anything itself. Enter posts :class:`FilterBar.Applied`, Escape
(or leaving the input any other way) posts :class:`FilterBar.Cancelled` and
puts the applied expression back. Up and Down walk through the expressions
applied before; the right arrow at the end takes the completion offered for
the last word (protocol names and tcpdump's keywords; Wireshark's field names).
The label says which language the text is read in: detected by the rule in
:mod:`tapwatch.dfilter.language` ("auto"), or chosen with Ctrl+T (auto, BPF,
Wireshark). An error in Wireshark's language marks its token in the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label

from tapwatch.analysis.completion import complete
from tapwatch.sanitize import printable
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.inputs import SafeInput

if TYPE_CHECKING:
    from tapwatch.dfilter.language import Choice
    from tapwatch.filters import PacketFilter

HISTORY_MAX = 100


def _load_registry() -> None:
    from tapwatch.dfilter import registry

    registry.fields()


class FilterSuggester(Suggester):
    """Offers the rest of the last word: ``ic`` -> ``icmp``, ``udp and po`` -> ``... port``,
    ``tcp.fl`` -> ``tcp.flags`` (Wireshark's names, for text read in its language)."""

    def __init__(self, bar: FilterBar | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.bar = bar

    async def get_suggestion(self, value: str) -> str | None:
        from tapwatch.dfilter import complete as ws
        from tapwatch.dfilter.language import reading

        choice = self.bar.language if self.bar is not None else "auto"
        if choice == "wireshark" or reading(value, choice).language == "wireshark":
            return ws.complete(value)
        return complete(value) or (ws.complete(value) if choice == "auto" else None)


class ErrorSpan(Highlighter):
    """Marks the span of the token an error points at (Wireshark's language names one)."""

    def __init__(self) -> None:
        self.span: tuple[int, int] | None = None

    def highlight(self, text: Text) -> None:
        if self.span is not None:
            start, end = self.span
            text.stylize("reverse", start, max(end, start + 1))


class FilterInput(SafeInput):
    """The input of the filter bar; focusable only while the user is editing it.

    Keeping it out of the focus chain otherwise means Tab moves between the
    panes and a stray key never lands in the filter. It says what the user
    did with messages; the bar decides.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_filter", "Cancel", show=True),
        Binding("up", "history(-1)", "Earlier filter", show=False),
        Binding("down", "history(1)", "Later filter", show=False),
        Binding("ctrl+t", "language", "Filter language", show=True),
    ]

    class Language(Message):
        """Ctrl+T: read the text in the next language (auto, BPF, Wireshark)."""

    def action_language(self) -> None:
        self.post_message(self.Language())

    class Cancel(Message):
        """Escape pressed."""

    class Recall(Message):
        """Up/Down: an earlier (-1) or later (1) expression from the history."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class Left(Message):
        """The input lost the focus (Tab, a click elsewhere)."""

    class Clicked(Message):
        """A click on the input while it was not being edited."""

    def action_cancel_filter(self) -> None:
        self.post_message(self.Cancel())

    def action_history(self, step: int) -> None:
        self.post_message(self.Recall(step))

    def on_blur(self) -> None:
        self.can_focus = False
        self.post_message(self.Left())

    def on_click(self) -> None:
        if not self.has_focus:
            self.post_message(self.Clicked())


class FilterBar(ReportsWorkerFailures, Horizontal):
    """Label, the capture filter (when there is one), the input and its message."""

    class Applied(Message):
        """Enter on a valid expression: show what it matches ("" shows everything)."""

        def __init__(self, expr: str, compiled: PacketFilter | None) -> None:
            super().__init__()
            self.expr = expr
            self.compiled = compiled

    class Closed(Message):
        """Editing ended (applied or cancelled): the screen gives the focus back."""

    def __init__(
        self,
        compile_filter: Callable[[str], PacketFilter | None],
        capture_expr: str | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._compile = compile_filter
        self.capture_expr = capture_expr
        self.applied = ""
        self.error: str | None = None
        self.history: list[str] = []
        self._recall_at: int | None = None
        self._draft = ""
        #: "auto" (detected, see tapwatch.dfilter.language), "bpf" or "wireshark"
        self.language: Choice = "auto"
        self._marks = ErrorSpan()
        self._input = FilterInput(
            placeholder="press / to filter (BPF: udp port 53, or Wireshark: tcp.port == 80)",
            id="filter",
            compact=True,
            suggester=FilterSuggester(self),
            highlighter=self._marks,
        )
        self._input.can_focus = False
        self._message = Label("", id="filter-msg")
        self._label = Label("filter", id="filter-label")

    def compose(self) -> ComposeResult:
        yield self._label
        if self.capture_expr is not None:
            yield Label(Text(f"capture: {printable(self.capture_expr)}  and"), id="capture-label")
        yield self._input
        yield self._message

    @property
    def input(self) -> FilterInput:
        return self._input

    def edit(self) -> None:
        """Open the input (with the applied expression) for editing."""
        flt = self.input
        flt.can_focus = True
        flt.focus()
        flt.cursor_position = len(flt.value)
        self._recall_at = None

    def on_mount(self) -> None:
        # Wireshark's field registry takes a few hundred ms to load: never on the UI thread
        self.run_worker(
            _load_registry,
            thread=True,
            exclusive=False,
            group="filter-registry",
            exit_on_error=False,  # a failure is reported (ReportsWorkerFailures), not fatal
        )

    def show_language(self, expr: str) -> None:
        """The label: the language the text is read in, and whether it was chosen."""
        from tapwatch.dfilter.language import NAMES, reading

        got = reading(expr, self.language)
        name = NAMES[got.language]
        self._label.update(name if got.chosen else f"auto: {name}" if expr.strip() else "filter")

    def check(self, expr: str) -> tuple[bool, PacketFilter | None]:
        """Compile and colour the input; (valid, filter)."""
        from tapwatch.dfilter.syntax import DisplayFilterError
        from tapwatch.errors import TapwatchError

        flt = self.input
        msg = self._message
        self.show_language(expr)
        try:
            compiled = self._compile(expr)
        except TapwatchError as e:
            self.error = str(e)
            flt.set_class(True, "-invalid")
            flt.set_class(False, "-valid")
            lead = len(expr) - len(expr.lstrip())  # the filter is compiled stripped
            self._marks.span = (
                (e.start + lead, e.end + lead) if isinstance(e, DisplayFilterError) else None
            )
            flt.refresh()
            msg.update(Text(printable(str(e))))
            msg.set_class(True, "-error")
            return False, None
        self.error = None
        self._marks.span = None
        flt.refresh()
        flt.set_class(False, "-invalid")
        flt.set_class(bool(expr.strip()), "-valid")
        note = getattr(compiled, "describe_cost", None)
        msg.update(Text(printable(note())) if note is not None else "")
        msg.set_class(False, "-error")
        return True, compiled

    def on_filter_input_language(self, event: FilterInput.Language) -> None:
        """Ctrl+T: auto -> BPF -> Wireshark -> auto."""
        from tapwatch.dfilter.language import LANGUAGES

        event.stop()
        self.language = LANGUAGES[(LANGUAGES.index(self.language) + 1) % len(LANGUAGES)]
        self.check(self.input.value)

    def on_filter_input_cancel(self, event: FilterInput.Cancel) -> None:
        event.stop()
        self.cancel()

    def on_filter_input_recall(self, event: FilterInput.Recall) -> None:
        event.stop()
        self.recall(event.step)

    def on_filter_input_left(self, event: FilterInput.Left) -> None:
        event.stop()
        if self.input.value != self.applied:
            self.restore()

    def on_filter_input_clicked(self, event: FilterInput.Clicked) -> None:
        event.stop()
        self.edit()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        expr = event.value.strip()
        ok, compiled = self.check(expr)
        if not ok:
            self.app.bell()
            return
        self.set_applied(expr)
        self.post_message(self.Applied(expr, compiled))
        self._close()

    def set_applied(self, expr: str) -> None:
        """Show ``expr`` as the applied filter (and remember it in the history)."""
        self.applied = expr
        if expr and (not self.history or self.history[-1] != expr):
            if expr in self.history:
                self.history.remove(expr)
            self.history.append(expr)
            del self.history[:-HISTORY_MAX]
        self.input.value = expr
        self.check(expr)

    def cancel(self) -> None:
        """Escape: forget the edit, keep the filter that was applied."""
        self.restore()
        self._close()

    def restore(self) -> None:
        self.input.value = self.applied
        self.check(self.applied)

    def recall(self, step: int) -> None:
        """Up/Down: the previous/next expression from the history (then back to the draft)."""
        if not self.history:
            return
        flt = self.input
        if self._recall_at is None:
            if step > 0:
                return
            self._draft = flt.value
            at = len(self.history)
        else:
            at = self._recall_at
        at += step
        if at >= len(self.history):
            self._recall_at = None
            flt.value = self._draft
        else:
            self._recall_at = max(0, at)
            flt.value = self.history[self._recall_at]
        flt.cursor_position = len(flt.value)

    def _close(self) -> None:
        self.input.can_focus = False
        self._recall_at = None
        self.post_message(self.Closed())
