"""The frame layer at the top of the protocol tree: when, how long, where, which way.

Wireshark starts every tree with "Frame N: ... on interface X"; people look
there first for the arrival time and the interface. Built from the record
and the session's interface table alone (no dissection), so it shows at
once. Names that came from a capture file (interface names, comments) pass
the sanitizer like every other text from a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapwatch.analysis.timefmt import TimeFormat, format_time, precise_time, seconds
from tapwatch.decode import Node
from tapwatch.kinds import Direction
from tapwatch.linktypes import name as linktype_name
from tapwatch.ring import Record
from tapwatch.sanitize import printable


def direction_sentence(direction: int, ifname: str) -> str:
    """The direction in words, with tcpdump's word, for the frame layer."""
    if direction == Direction.OUTBOUND:
        return f"outbound: the host sent it into {ifname} (tcpdump: Out)"
    if direction == Direction.INBOUND:
        return f"inbound: the host received it from {ifname} (tcpdump: In)"
    return "unknown (the capture does not say)"


@dataclass
class FrameInfo:
    """What the frame layer says beyond the record itself."""

    ifname: str
    iface_kind: str
    linktype: int
    first_ns: int  # the first packet's time: "since first"
    prev_ns: int | None  # the previous shown packet's time: "since previous"
    time_format: TimeFormat
    wire_length: int | None = None  # the length on the wire, when the capture cut it
    comment: str | None = None
    note: str | None = None  # another input saw the same packet: where, how long before


def frame_node(rec: Record, info: FrameInfo) -> Node:
    """The frame layer of ``rec`` as a tree node spanning the whole frame."""
    n = len(rec.data)
    wire = info.wire_length if info.wire_length is not None else n
    ifname = printable(info.ifname)
    end = n
    when = format_time(info.time_format, rec.ts_ns, info.first_ns, info.prev_ns)
    children = [
        Node(
            f"Interface: {ifname} (id {rec.iface}, {info.iface_kind}, "
            f"{linktype_name(info.linktype)})",
            0,
            end,
            [],
        ),
        Node(f"Direction: {direction_sentence(rec.direction, ifname)}", 0, end, []),
        Node(f"Arrival time: {when} ({info.time_format.description})", 0, end, []),
    ]
    if info.note:  # the delay across two inputs (both ends of a tunnel): said early
        children.insert(2, Node(f"Also seen: {printable(info.note)}", 0, end, []))
    if info.time_format is not TimeFormat.DATE:
        children.append(Node(f"Date and time: {precise_time(rec.ts_ns)}", 0, end, []))
    if info.time_format is not TimeFormat.EPOCH:
        sec, ns = divmod(rec.ts_ns, 1_000_000_000)
        children.append(Node(f"Epoch time: {sec}.{ns:09d} seconds", 0, end, []))
    if info.time_format is not TimeFormat.RELATIVE:
        children.append(
            Node(f"Time since first packet: {seconds(rec.ts_ns - info.first_ns)}", 0, end, [])
        )
    if info.time_format is not TimeFormat.DELTA and info.prev_ns is not None:
        children.append(
            Node(
                f"Time since previous shown packet: {seconds(rec.ts_ns - info.prev_ns)}", 0, end, []
            )
        )
    children.append(Node(f"Frame length: {wire} bytes ({wire * 8} bits)", 0, end, []))
    children.append(Node(f"Capture length: {n} bytes ({n * 8} bits)", 0, end, []))
    if info.comment:
        children.append(Node(f"Comment: {printable(info.comment)}", 0, end, []))
    label = (
        f"Frame {rec.seq}: {wire} bytes on wire ({wire * 8} bits), {n} bytes captured "
        f"({n * 8} bits) on interface {ifname}, id {rec.iface}"
    )
    return Node(label, 0, end, children)
