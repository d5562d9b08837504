"""Where a run's packets and lines go: the -w writer and the stream lines are printed on."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tapwatch.cli.options import RunOptions
    from tapwatch.pcap import CaptureFile, CaptureWriter, FileId


def open_output(
    opts: RunOptions,
    interfaces: Sequence[tuple[int, str | None]],
    like: CaptureFile | None = None,
    inputs: Sequence[FileId | None] = (),
) -> CaptureWriter | None:
    """The -w writer (rotating with -C/-G), with every interface the capture has so far.

    ``like``: copy that file's format, header and interfaces exactly (``-r A -w B``
    of one format). ``inputs``: files being read, which the output must not be.
    """
    out = opts.output
    if not out.write:
        return None
    from tapwatch import pcap

    if like is not None and not out.rotates:
        return pcap.writer_like(like, sys.stdout.buffer if out.write == "-" else out.write)
    (linktype, ifname), *more = interfaces
    # refused before the name is opened: opening truncates the user's existing file
    pcap.check_holds(out.write, None, (linktype, ifname), more)
    writer: CaptureWriter
    if out.rotates:
        writer = pcap.RotatingWriter(
            out.write,
            linktype,
            ifname=ifname,
            file_size=out.file_size,
            file_count=out.file_count,
            seconds=out.rotate_seconds,
            inputs=inputs,
        )
    else:
        target = sys.stdout.buffer if out.write == "-" else out.write
        writer = pcap.open_writer(target, linktype, ifname=ifname, inputs=inputs)
    try:
        for lt, name in more:
            writer.add_interface(lt, name)
    except BaseException:
        close_quietly(writer)
        raise
    return writer


def close_quietly(writer: CaptureWriter | None) -> None:
    if writer is None:
        return
    try:
        writer.close()
    except Exception:  # the caller is already reporting a failure
        return


def lines_out(opts: RunOptions) -> TextIO:
    """Where per-packet lines go: stdout, or stderr when stdout carries the pcap."""
    return sys.stderr if opts.write == "-" else sys.stdout
