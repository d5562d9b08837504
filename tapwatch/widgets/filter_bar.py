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
from textual.timer import Timer
from textual.widgets import Input, Label

from tapwatch import filtercheck
from tapwatch.analysis.completion import complete
from tapwatch.filtercheck import FilterJudge, FilterRequest, Verdict
from tapwatch.sanitize import printable
from tapwatch.widgets.failures import ReportsWorkerFailures
from tapwatch.widgets.inputs import SafeInput

if TYPE_CHECKING:
    from tapwatch.dfilter.language import Choice
    from tapwatch.filters import PacketFilter

HISTORY_MAX = 100
#: Quiet time after a keystroke before the text is compiled (a paste is one edit).
DEBOUNCE_S = 0.12
#: A compile still running after this long says "compiling…".
SLOW_NOTE_S = 0.4
#: Checks remembered by (text, language): the applied filter, the history recalled.
KNOWN_MAX = 16


#: a check's outcome: (ok, language, error, error span, the filter)
Known = tuple[bool, str, str | None, tuple[int, int] | None, object]


def _language_of(compiled: object) -> str:
    return str(getattr(compiled, "language", "bpf"))


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

        if len(value) > filtercheck.MAX_TEXT:
            return None  # refused anyway; reading it would tokenize it all at each key
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
        """The input lost the focus (Tab, a click elsewhere) while open as ``opened``."""

        def __init__(self, opened: int) -> None:
            super().__init__()
            self.opened = opened

    #: which opening of the input this is (the bar counts them): a blur that arrives after
    #: the input was opened again belongs to the earlier opening and is stale
    opened = 0

    class Clicked(Message):
        """A click on the input while it was not being edited."""

    class TooLong(Message):
        """An edit (a paste) would make the text longer than a filter may be: refused."""

    def restricted(self) -> None:
        self.post_message(self.TooLong())

    def action_cancel_filter(self) -> None:
        self.post_message(self.Cancel())

    def action_history(self, step: int) -> None:
        self.post_message(self.Recall(step))

    def on_blur(self) -> None:
        self.post_message(self.Left(self.opened))

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
        describe: Callable[[str], FilterRequest],
        capture_expr: str | None = None,
        *,
        judge: FilterJudge | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._compile = compile_filter
        self._describe = describe
        self._judge = judge or filtercheck.judge()
        self._judge_started = False
        self._gen = 0  # bumped by every edit: a check for an older one is dropped
        self._result: tuple[int, bool, object] | None = (0, True, None)  # (gen, ok, filter)
        self._known: dict[tuple[str, str], Known] = {}
        self._debounce: Timer | None = None
        self._slow_timer: Timer | None = None
        self._submit_gen: int | None = None  # Enter waits for this check
        self._opened = 0  # how many times the input was opened (see FilterInput.opened)
        self._reopening = False  # a refused Enter opens the input again (queued)
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
            # the bar sets -valid/-invalid from its check; Input's own validation (no
            # validators: always valid) would overwrite them on blur, change and Enter
            validate_on=[],
        )
        self._input.can_focus = False
        self._input.max_length = filtercheck.MAX_TEXT
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
        self._opened += 1
        self._reopening = False
        flt.opened = self._opened
        flt.can_focus = True
        flt.focus()
        flt.cursor_position = len(flt.value)
        self._recall_at = None
        if not self._judge_started:  # the checking child starts with the first edit, not
            self._judge_started = True  # with the UI (it would compete with a file's loading)
            self.run_worker(
                self._judge.start, thread=True, group="filter-judge", exit_on_error=False
            )

    def on_mount(self) -> None:
        # Wireshark's field registry takes a few hundred ms to load: never on the UI thread
        self.run_worker(
            _load_registry,
            thread=True,
            exclusive=False,
            group="filter-registry",
            exit_on_error=False,  # a failure is reported (ReportsWorkerFailures), not fatal
        )

    def show_language(self, language: str, text: str) -> None:
        """The label: the language the text is read in (the compile said), and whether it was
        chosen."""
        from tapwatch.dfilter.language import NAMES

        name = NAMES.get(language, language)
        if self.language != "auto":
            self._label.update(NAMES[self.language])
        else:
            self._label.update(f"auto: {name}" if text.strip() else "filter")

    @property
    def pending(self) -> bool:
        """A compile of the text in the input is still to come (debounced or running)."""
        return self._result is None or self._result[0] != self._gen

    def request_check(self, text: str, *, now: bool = False) -> None:
        """Check ``text`` off the UI thread: after DEBOUNCE_S without another edit (``now``:
        at once), in the child process first (bounded, see :mod:`tapwatch.filtercheck`), then
        compiled here in a worker. What an older request would answer is dropped."""
        self._gen += 1
        gen = self._gen
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self._result = None
        if not text.strip():  # blank: everything (the capture filter compiled long ago)
            self._neutral()
        known = self._known.get((text, self.language))
        if known is not None:
            self._show(gen, text, *known)
            return
        if now:
            self._launch(gen, text)
        else:
            self._debounce = self.set_timer(DEBOUNCE_S, lambda: self._launch(gen, text))
        if self._slow_timer is not None:
            self._slow_timer.stop()
        self._slow_timer = self.set_timer(SLOW_NOTE_S, lambda: self._say_compiling(gen))

    def _neutral(self) -> None:
        from tapwatch.dfilter.language import NAMES

        self.error = None
        self._marks.span = None
        self.input.set_class(False, "-invalid")
        self.input.set_class(False, "-valid")
        self._message.update("")
        self._message.set_class(False, "-error")
        self._label.update(NAMES[self.language] if self.language != "auto" else "filter")

    def _say_compiling(self, gen: int) -> None:
        if gen == self._gen and self.pending:
            self._message.update("compiling…")
            self._message.set_class(False, "-error")

    def _launch(self, gen: int, text: str) -> None:
        self._debounce = None
        if gen != self._gen:
            return
        self.run_worker(
            lambda: self._check_in_thread(gen, text),
            thread=True,
            group="filter-compile",
            exit_on_error=False,  # a failure is reported (ReportsWorkerFailures), not fatal
        )

    def _check_in_thread(self, gen: int, text: str) -> None:
        """In a worker: the child's verdict, then (valid and still wanted) the filter itself."""
        from tapwatch.errors import TapwatchError
        from tapwatch.filtercheck import Verdict

        verdict = self._judge.check(self._describe(text))
        if verdict.stale or gen != self._gen:
            return
        compiled = None
        if verdict.ok:
            try:
                compiled = self._compile(text)
            except TapwatchError as e:  # the child said it compiles; say why it did not here
                verdict = Verdict(False, verdict.language, str(e))
        if gen == self._gen:
            self.post_message(self.Checked(gen, text, verdict, compiled))

    class Checked(Message):
        """A check finished (posted from the worker): the verdict and the filter."""

        def __init__(self, gen: int, text: str, verdict: Verdict, compiled: object) -> None:
            super().__init__()
            self.gen = gen
            self.text = text
            self.verdict = verdict
            self.compiled = compiled

    def on_filter_bar_checked(self, event: FilterBar.Checked) -> None:
        event.stop()
        if event.gen != self._gen:
            return  # stale: the text changed since
        v = event.verdict
        known = (v.ok, v.language, v.error or None, v.span, event.compiled)
        if not v.gave_up:
            self._known[(event.text, self.language)] = known
            while len(self._known) > KNOWN_MAX:
                del self._known[next(iter(self._known))]
        self._show(event.gen, event.text, *known)

    def _show(
        self,
        gen: int,
        text: str,
        ok: bool,
        language: str,
        error: str | None,
        span: tuple[int, int] | None,
        compiled: object,
    ) -> None:
        """Colour the input, mark the error's token, say the error or the filter's cost."""
        if self._slow_timer is not None:
            self._slow_timer.stop()
            self._slow_timer = None
        self._result = (gen, ok, compiled)
        flt = self.input
        msg = self._message
        self.show_language(language, text)
        if not ok:
            self.error = error or "invalid filter"
            flt.set_class(True, "-invalid")
            flt.set_class(False, "-valid")
            lead = len(text) - len(text.lstrip())  # the filter is compiled stripped
            self._marks.span = (span[0] + lead, span[1] + lead) if span is not None else None
            flt.refresh()
            msg.update(Text(printable(self.error)))
            msg.set_class(True, "-error")
        else:
            self.error = None
            self._marks.span = None
            flt.refresh()
            flt.set_class(False, "-invalid")
            flt.set_class(bool(text.strip()), "-valid")
            note = getattr(compiled, "describe_cost", None)
            msg.update(Text(printable(note())) if note is not None else "")
            msg.set_class(False, "-error")
        if self._submit_gen == gen:
            self._submit_gen = None
            self._submit(text)

    def on_filter_input_language(self, event: FilterInput.Language) -> None:
        """Ctrl+T: auto -> BPF -> Wireshark -> auto."""
        from tapwatch.dfilter.language import LANGUAGES

        event.stop()
        self.language = LANGUAGES[(LANGUAGES.index(self.language) + 1) % len(LANGUAGES)]
        self.request_check(self.input.value)

    def on_filter_input_too_long(self, event: FilterInput.TooLong) -> None:
        """A paste refused for its length: said where errors are; the text stays as it was."""
        event.stop()
        self._message.update(f"refused: a filter is at most {filtercheck.MAX_TEXT:,} characters")
        self._message.set_class(True, "-error")
        self.app.bell()

    def on_filter_input_cancel(self, event: FilterInput.Cancel) -> None:
        event.stop()
        self.cancel()

    def on_filter_input_recall(self, event: FilterInput.Recall) -> None:
        event.stop()
        self.recall(event.step)

    def on_filter_input_left(self, event: FilterInput.Left) -> None:
        event.stop()
        if event.opened != self._opened or self._reopening:
            return  # opened again since (a refused Enter): the blur is stale, the edit goes on
        self.input.can_focus = False
        if self.input.value != self.applied and self._submit_gen != self._gen:
            self.restore()  # left without Enter (an Enter waiting for its check keeps it)

    def on_filter_input_clicked(self, event: FilterInput.Clicked) -> None:
        event.stop()
        self.edit()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.request_check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: apply what the input holds once its check is through (now, if it is)."""
        event.stop()
        if self.pending:
            # applied once the check is through; the keys typed next go to the panes
            if self._debounce is not None:  # no need to wait for the pause in typing
                self.request_check(self.input.value, now=True)
            self._submit_gen = self._gen
            self._close()
            return
        self._submit(self.input.value)

    def _submit(self, text: str) -> None:
        assert self._result is not None
        _, ok, compiled = self._result
        if not ok:
            self.app.bell()
            if not self.input.can_focus:  # closed by an Enter before the check was through
                # after the focus move the close asked for (queued on the app), not before it:
                # that move's blur is then stale when it arrives (see on_filter_input_left)
                self._reopening = True
                self.app.call_later(self.edit)
            return
        expr = text.strip()
        self.set_applied(expr, compiled)
        self.post_message(self.Applied(expr, compiled))  # type: ignore[arg-type]
        self._close()

    def set_applied(self, expr: str, compiled: object = None) -> None:
        """Show ``expr`` as the applied filter (and remember it in the history); the caller
        compiled it (``compiled``), so it is known to be valid."""
        self.applied = expr
        if expr and (not self.history or self.history[-1] != expr):
            if expr in self.history:
                self.history.remove(expr)
            self.history.append(expr)
            del self.history[:-HISTORY_MAX]
        self._known[(expr, self.language)] = (True, _language_of(compiled), None, None, compiled)
        self.input.value = expr
        self.request_check(expr)

    def cancel(self) -> None:
        """Escape: forget the edit, keep the filter that was applied."""
        self.restore()
        self._close()

    def restore(self) -> None:
        self.input.value = self.applied
        self.request_check(self.applied)

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
