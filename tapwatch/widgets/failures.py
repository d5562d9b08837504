"""Failed threads and workers, said in the UI: an error notification for each, once.

What a worker thread raises (a bug: expected problems are caught where they
happen and shown there) would end that worker in silence: Textual keeps the
error on the worker and nobody looks. Screens that start workers mix in
:class:`ReportsWorkerFailures` (so does the filter bar), which hands the error to
:mod:`tapwatch.threads` (so the exit status counts it); the app's timer shows
whatever that module holds, from workers and from every other thread (the
file loader, the pump, the tunnel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.worker import Worker, WorkerState

from tapwatch import threads
from tapwatch.sanitize import printable

if TYPE_CHECKING:
    from textual.app import App


class ReportsWorkerFailures:
    """Mixin for a screen with ``@work`` methods: a worker that raises is reported."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            threads.report(f"the {worker.group or worker.name} worker", worker.error)
            app: App[Any] = self.app  # type: ignore[attr-defined]
            say_failures(app)


def say_failures(app: App[Any]) -> None:
    """Notify each failure :mod:`tapwatch.threads` holds that this app has not shown yet."""
    failed = threads.failures()
    shown = getattr(app, "_failures_shown", 0)
    for failure in failed[shown:]:
        app.notify(
            printable(str(failure)),
            title="internal error",
            severity="error",
            timeout=30,
            markup=False,
        )
    app._failures_shown = len(failed)  # type: ignore[attr-defined]
