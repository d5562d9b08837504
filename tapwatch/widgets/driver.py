"""A terminal driver that survives the terminal going away.

When the terminal hangs up (its window closed, ssh dropped), every write to
it fails with EIO. Textual's writer thread does not expect that: it dies on
the first failed write, the next writes fill its bounded queue, and the
shutdown that follows waits forever for room in that queue - every thread
blocked, only SIGKILL ending the process. Here the stream under the writer
thread swallows the failure and drops what follows, so the UI ends
promptly and the capture is still flushed and reported.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class HangupSafeStream:
    """A text stream that stops writing (instead of raising) once the terminal is gone."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self.gone = True
            return len(text)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self.gone = True

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return not self.gone

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class TapwatchDriver(LinuxDriver):
    """Textual's Linux driver, drawing through a :class:`HangupSafeStream`."""

    hung_up = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stream = self._file if self._file is not None else sys.__stderr__
        assert stream is not None
        self._file = HangupSafeStream(stream)  # type: ignore[assignment]

    def hang_up(self) -> None:
        """The terminal is gone: drop further output, do not touch its settings again."""
        self.hung_up = True
        self.attrs_before = None
        if isinstance(self._file, HangupSafeStream):
            self._file.gone = True

    def _sigcont_application(self, *args: Any) -> None:
        if self.hung_up:
            return  # the kernel sends SIGCONT with SIGHUP: there is nothing to resume
        super()._sigcont_application(*args)

    def _sigtstp_application(self, *args: Any) -> None:
        if self.hung_up:
            return
        super()._sigtstp_application(*args)
