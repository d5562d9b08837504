"""The display filter: what the filter bar applies, combined with the capture filter.

:meth:`DisplayFilter.compile_display` is the one function that turns the
bar's text into a filter; the bar calls it in a worker, once the child
process of :mod:`tapwatch.filtercheck` has compiled the same text in time.
Tools that want the list to show their subject (a conversation, a stream)
call :meth:`DisplayFilter.apply_filter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on

from tapwatch.filtercheck import FilterRequest, compile_request
from tapwatch.widgets.filter_bar import FilterBar
from tapwatch.widgets.screen.base import ScreenBase

if TYPE_CHECKING:
    from tapwatch.filters import PacketFilter


class DisplayFilter(ScreenBase):
    """``/`` edits the filter; Enter applies it to the list."""

    def filter_request(self, expr: str) -> FilterRequest:
        """What compiling ``expr`` for the list takes: the link types, the language the bar
        reads, the capture filter it is combined with."""
        capture = self.session.capture_filter
        linktypes = tuple(sorted({i.linktype for i in self.session.interfaces}))
        return FilterRequest(
            expr, linktypes, self.filter_bar.language, capture.expr if capture else None
        )

    def compile_display(self, expr: str) -> PacketFilter | None:
        """The list's filter: capture filter and display filter (BPF or Wireshark's, as the
        bar reads it) combined; raises a TapwatchError naming what is wrong."""
        got = compile_request(self.filter_request(expr))
        if got is not None:
            got.set_interfaces([i.name for i in self.session.interfaces])
        return got  # type: ignore[no-any-return]

    def action_filter(self) -> None:
        """Open the filter input (with the applied expression) for editing."""
        self.filter_bar.edit()

    def action_clear_filter(self) -> None:
        self.apply_filter("")

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.packet_list.set_filter(event.compiled)
        self.tick()

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        if not self.filter_bar.input.can_focus:  # not opened again since (a refused Enter)
            # now, not queued: a refused Enter's reopening may be queued already
            self.set_focus(self.packet_list)

    def apply_filter(self, expr: str, compiled: PacketFilter | None = None) -> None:
        """Show only what ``expr`` matches (with the capture filter); empty shows everything."""
        if compiled is None and (expr or self.session.capture_filter is not None):
            compiled = self.compile_display(expr)
        self.filter_bar.set_applied(expr, compiled)
        self.packet_list.set_filter(compiled)
        self.tick()
