"""The typed options one run works from, one dataclass per area of flags.

:mod:`tapwatch.cli.validation` builds them from the parsed flags; the runners
(:mod:`tapwatch.cli.offline`, :mod:`tapwatch.cli.live`) read only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tapwatch.headless import LineFormat
    from tapwatch.sources import Options
    from tapwatch.tunnelwire import Endpoint, Network, Role, Transport


def _default_format() -> LineFormat:
    from tapwatch.headless import LineFormat

    return LineFormat()


@dataclass
class TunnelOptions:
    """``--tunnel-listen``/``--tunnel-connect`` and their companions, parsed."""

    role: Role
    endpoint: Endpoint
    transport: Transport = "tcp"
    max_frame: int = 2000
    allow: tuple[Network, ...] = ()  # --tunnel-allow: who may be a server's peer (empty: anyone)
    quiet_s: float = 2.0  # --tunnel-quiet: a UDP server's peer is replaced only after this
    silent_s: float = 10.0  # --tunnel-silent: a TCP client with no frame by then is closed


@dataclass
class OutputOptions:
    """``-w`` and its rotation (``-C``, ``-G``, ``-W``), and whose files they are (``-Z``)."""

    write: str | None = None
    file_size: int | None = None  # -C, in bytes
    file_count: int | None = None  # -W
    rotate_seconds: int | None = None  # -G
    user: str | None = None  # -Z
    owner: tuple[int, int] | None = None  # -Z's uid and gid

    @property
    def rotates(self) -> bool:
        """Whether -C or -G makes several files."""
        return bool(self.file_size or self.rotate_seconds)


@dataclass
class PrintOptions:
    """Per-packet lines: how each looks (``fmt``) and whether and how they are written."""

    fmt: LineFormat = field(default_factory=_default_format)
    headless: bool = False  # --headless, or --print beside -w
    quiet: bool = False  # -q
    line_buffered: bool = False  # -l


@dataclass
class RunOptions:
    """What one run does: where packets come from (``source``) and where they go."""

    source: Options
    expression: str = ""
    display_filter: str = ""  # -Y, Wireshark's language
    output: OutputOptions = field(default_factory=OutputOptions)
    printing: PrintOptions = field(default_factory=PrintOptions)
    tunnel: TunnelOptions | None = None
    tunnel_decode: list[int] = field(default_factory=list)  # --tunnel-decode ports
    tunnel_stats: bool = False  # --tunnel-stats: the links' summary at exit
    snaplen: int | None = None  # -s of a live capture
    count: int | None = None  # -c
    ring_packets: int | None = None
    ring_bytes: int | None = None
    replay: str | None = None
    replay_speed: float = 1.0

    @property
    def read(self) -> str | None:
        return self.source.read

    @property
    def reads(self) -> list[str]:
        """Every -r input (several are merged by time)."""
        return self.source.reads or ([self.source.read] if self.source.read else [])

    @property
    def write(self) -> str | None:
        return self.output.write

    @property
    def fmt(self) -> LineFormat:
        return self.printing.fmt

    @property
    def wants_ui(self) -> bool:
        """The UI unless asked for lines, or the output is no terminal.

        stdin may be a pipe (a capture fed to ``-r -``): keys then come from
        the controlling terminal.
        """
        p = self.printing
        if p.headless or self.write == "-" or p.quiet or p.fmt.verbose or self.count:
            return False
        from tapwatch.terminal import has_terminal

        return has_terminal()
