"""Expert information and transactions over the ring: what the Expert and Transactions
tools list, what the tree adds to a packet's TCP, HTTP, DNS and ICMP layers.

One incremental pass (:class:`ExpertIndex`) runs the display filter's in-order passes
-- TCP streams, reassembly, :mod:`~tapwatch.dfilter.protocols.tcp_analysis` and
:mod:`~tapwatch.dfilter.protocols.transactions` -- over the records, so the tools
and ``tcp.analysis.*`` / ``http.time`` filters agree by construction.  It catches up
with the ring from where it stopped (a live capture costs only its new packets) and
starts again when the ring is cleared.

Unlike a filter's single pass it keeps what only a later packet tells: a request's
response (``Response in``), so the tree of a request points at its answer.

Memory is bounded: per TCP packet a few numbers in arrays (about 24 bytes), per
flagged packet or transaction one small tuple, each list capped at :data:`MAX_ROWS`
(the rest counted, not kept).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tapwatch.analysis import Progress

if TYPE_CHECKING:
    from tapwatch.decode import Node
    from tapwatch.dfilter.packet import Capture, Layer, Packet
    from tapwatch.ring import Record, Ring

CHUNK: Final = 2048
#: expert items and transactions kept (beyond this they are counted only)
MAX_ROWS: Final = 200_000
#: requests waiting for a response whose description is kept
MAX_PENDING: Final = 1 << 16

PASSES: Final = ("tcp.analysis", "transactions", "transactions.http")


@dataclass(frozen=True)
class ExpertItem:
    """One flag on one packet, as Wireshark's Expert Information lists it."""

    seq: int
    severity: str  # "Warning", "Note", "Chat"
    group: str  # "Sequence"
    summary: str
    stream: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Transaction:
    """A request and its response: frames, time between, kind and what was asked."""

    kind: str  # "HTTP", "DNS", "ICMP", "ICMPv6"
    request: int
    response: int
    time_ns: int
    what: str


_KIND_NAMES: Final = {"http": "HTTP", "dns": "DNS", "icmp": "ICMP", "icmpv6": "ICMPv6"}


class ExpertIndex:
    """Expert items, transactions and per-packet TCP numbers of the records seen so far.

    Not thread-safe: one worker at a time updates it, under :class:`SharedExpert`'s lock.
    """

    #: take the header fast path (tests turn it off to compare)
    fast = True

    def __init__(self, linktypes: Sequence[int]) -> None:
        #: kept, not copied: a live session's list grows as interfaces are found
        self.linktypes = linktypes
        self.reset()

    def reset(self, next_seq: int = 1, cleared: int = 0) -> None:
        from tapwatch.dfilter import registry

        self.next_seq = next_seq
        self.cleared = cleared
        self.base = next_seq
        passes = registry.passes_for(set(PASSES))
        from tapwatch.dfilter.packet import Capture

        self.capture: Capture = Capture(passes)
        from tapwatch.dfilter.fastpath import FastPath

        #: the header fast walk feeds the passes where it can: not UDP (DNS is read by the
        #: generic walk), a fresh stack per packet (reassembly adds layers)
        self._fast = FastPath(True, True, frozenset({"udp"})) if self.fast else None
        self._pairing: list[Any] = [p for p in passes if p.name.startswith("transactions")]
        for tx in self._pairing:
            tx.record = True
        # per packet from ``base``: TCP stream (-1: not TCP), relative seq/ack, window
        self.stream = array("l")
        self.rel_seq = array("L")
        self.rel_ack = array("L")
        self.nxtseq = array("L")
        self.window = array("l")
        self.items: list[ExpertItem] = []
        #: seq -> (flags, acks frame, ack RTT ns, dup ack number, dup ack frame)
        self.flags: dict[int, tuple[int, int, int, int, int]] = {}
        #: seq -> (acks frame, RTT ns) for packets that acknowledge a segment
        self.acks: dict[int, tuple[int, int]] = {}
        self.counts: dict[str, int] = {}
        #: items by severity ("Warning", "Note", "Chat"), kept or not
        self.severities: dict[str, int] = {}
        self.transactions: list[Transaction] = []
        #: seq -> the Info of the IP datagram this fragment completed, or of the HTTP message
        #: this segment completed (Wireshark shows what was reassembled on the packet that
        #: completed it), or TCP's words for a retransmitted or out-of-order segment;
        #: capped at MAX_PENDING
        self.whole_info: dict[int, str] = {}
        self.response_of: dict[int, tuple[int, str]] = {}  # request -> (response, kind)
        self.request_of: dict[int, tuple[int, int, str]] = {}  # response -> (request, ns, kind)
        self._pending: dict[int, str] = {}
        #: (stream, address, port) of the sides that sent a FIN first
        self._closing: dict[tuple[int, bytes, int], bool] = {}
        self.dropped = 0  # items or transactions not kept (over MAX_ROWS)
        self.skipped = 0  # records evicted before the index got to them
        self.packets = 0

    @property
    def caught_up_to(self) -> int:
        """The newest record looked at."""
        return self.next_seq - 1

    def update(self, ring: Ring, progress: Progress | None = None, chunk: int = CHUNK) -> int:
        """Look at every record from where the last update stopped; returns how many.

        ``progress`` hears of each ``chunk`` of records (a smaller chunk lets a background
        pass pause sooner for the user's keys)."""
        if ring.cleared != self.cleared:
            self.reset(ring.first_seq, ring.cleared)
        stop = ring.next_seq
        if self.next_seq < ring.first_seq:
            self.skipped += ring.first_seq - self.next_seq
            self._pad(ring.first_seq)
            self.next_seq = ring.first_seq
        if progress is not None:
            progress.total = max(0, stop - self.next_seq)
        done = 0
        while self.next_seq < stop:
            records = ring.range(self.next_seq, min(stop, self.next_seq + chunk))
            if not records:
                if self.next_seq < ring.first_seq:
                    self.skipped += ring.first_seq - self.next_seq
                    self._pad(ring.first_seq)
                    self.next_seq = ring.first_seq
                    continue
                break
            self.feed(records)
            done += len(records)
            if progress is not None:
                progress.advance(len(records))
        return done

    def _pad(self, upto: int) -> None:
        """Fill the arrays for records never looked at (evicted), up to ``upto``."""
        n = upto - self.base - len(self.stream)
        if n > 0:
            self.stream.extend([-1] * n)
            for arr in (self.rel_seq, self.rel_ack, self.nxtseq):
                arr.extend([0] * n)
            self.window.extend([-1] * n)

    def feed(self, records: Sequence[Record]) -> None:
        from tapwatch.dfilter.protocols.tcp_analysis import (
            ALSO_RETRANSMISSION,
            DUPLICATE_ACK,
            FLAGS,
            OUT_OF_ORDER,
            RETRANSMISSION,
        )
        from tapwatch.dfilter.protocols.transport import TcpInfo

        #: a segment whose payload Wireshark leaves undissected (its Info keeps TCP's words)
        undissected = RETRANSMISSION | ALSO_RETRANSMISSION | OUT_OF_ORDER

        lts = self.linktypes
        cap = self.capture
        for rec in records:
            self._pad(rec.seq)
            self.packets += 1
            lt = lts[rec.iface]
            fast = self._fast
            got = (
                fast.packet(cap, rec.data, lt, rec.seq, rec.ts_ns, rec.iface, rec.direction, None)
                if fast is not None
                else None
            )
            pkt = got or cap.packet(rec.data, lt, rec.seq, rec.ts_ns, rec.iface, rec.direction)
            index = pkt.index()
            layers = pkt.layers()
            frame = layers[0].data
            for i in range(1, len(layers)):
                if layers[i].data is not frame:  # a reassembled payload starts here
                    if layers[i - 1].name in ("ip", "ipv6.fraghdr"):
                        self._whole_datagram(rec.seq, layers, i)
                    elif layers[i].name == "http" and len(self.whole_info) < MAX_PENDING:
                        self._whole_http(rec.seq, layers[i])
                    break
            tcps = index.get("tcp")
            tcp = tcps[0] if tcps else None
            info = tcp.extra if tcp is not None else None
            if tcp is not None and isinstance(info, TcpInfo) and info.stream >= 0:
                self._connection(pkt, tcp, info.stream)
                self.stream.append(info.stream)
                self.rel_seq.append(info.seq & 0xFFFFFFFF)
                self.rel_ack.append(info.ack & 0xFFFFFFFF)
                self.nxtseq.append(info.nxtseq & 0xFFFFFFFF)
                self.window.append(info.window)
                ta = info.analysis
                if ta is not None:
                    if ta.acks_frame:
                        self.acks[rec.seq] = (ta.acks_frame, ta.ack_rtt_ns)
                    if ta.flags & undissected and len(self.whole_info) < MAX_PENDING:
                        from tapwatch.decode.summary import transport_info

                        self.whole_info[rec.seq] = transport_info(rec.data, lt)
                    if ta.flags:
                        self.flags[rec.seq] = (
                            ta.flags,
                            ta.acks_frame,
                            ta.ack_rtt_ns,
                            ta.dupack_num,
                            ta.dupack_frame,
                        )
                        for bit, (name, text, severity) in FLAGS.items():
                            if not ta.flags & bit:
                                continue
                            if bit == DUPLICATE_ACK:
                                text = f"{text} (#{ta.dupack_num})"
                            item = ExpertItem(rec.seq, severity, "Sequence", text, info.stream)
                            self._add(name, item)
                            if bit & ALSO_RETRANSMISSION:  # Wireshark says both
                                name, text, severity = FLAGS[RETRANSMISSION]
                                item = ExpertItem(rec.seq, severity, "Sequence", text, info.stream)
                                self._add(name, item)
            else:
                self.stream.append(-1)
                for arr in (self.rel_seq, self.rel_ack, self.nxtseq):
                    arr.append(0)
                self.window.append(-1)
            if "http" in index:
                self._http_chat(pkt, index, info.stream if isinstance(info, TcpInfo) else -1)
            if "dns" in index:
                self._dns_retransmissions(pkt, index)
            self._requests(pkt, index)
            self._paired()
            self.next_seq = rec.seq + 1

    def _whole_http(self, seq: int, http: Layer) -> None:
        """Keep the Info of the HTTP message segment ``seq`` completed, when it starts with
        a request or status line (other bytes on an HTTP port keep TCP's words)."""
        line = http.data[http.off : min(http.end, http.off + 1024)].split(b"\r\n", 1)[0]
        if line.startswith(b"HTTP/") or b" HTTP/" in line:
            from tapwatch.decode.apps import http_info

            self.whole_info[seq] = http_info(http.data, http.off, http.end)

    def _whole_datagram(self, seq: int, layers: Sequence[Layer], at: int) -> None:
        """Keep the Info of the IP datagram that fragment ``seq`` completed: its last
        fragment's IP header, no longer a fragment, before the reassembled payload."""
        if len(self.whole_info) >= MAX_PENDING:
            return
        from tapwatch.decode import summarize
        from tapwatch.linktypes import LINKTYPE_RAW

        whole = layers[at].data
        frag = layers[at - 1]
        if frag.name == "ip":
            head = bytearray(frag.data[frag.off : frag.off + frag.hlen])
            total = len(head) + len(whole)
            if total > 0xFFFF:
                return
            head[2:4] = total.to_bytes(2, "big")
            head[6] &= 0x40  # the DF bit stays; more-fragments and the offset go
            head[7] = 0
        else:
            ip6 = next((x for x in reversed(layers[: at - 1]) if x.name == "ipv6"), None)
            if ip6 is None or len(whole) > 0xFFFF:
                return
            head = bytearray(ip6.data[ip6.off : ip6.off + 40])
            head[4:6] = len(whole).to_bytes(2, "big")
            head[6] = frag.data[frag.off]  # what the fragment header said follows
        self.whole_info[seq] = summarize(bytes(head) + whole, LINKTYPE_RAW).info

    def _add(self, name: str, item: ExpertItem) -> None:
        """Count an item by kind; keep it while under :data:`MAX_ROWS`."""
        self.counts[name] = self.counts.get(name, 0) + 1
        sev = self.severities
        sev[item.severity] = sev.get(item.severity, 0) + 1
        if len(self.items) >= MAX_ROWS:
            self.dropped += 1
            return
        self.items.append(item)

    def _connection(self, pkt: Packet, layer: Layer, stream: int) -> None:
        """What Wireshark's TCP says of a connection's SYN, FIN and RST (its Chat items,
        the closing notes and the reset warning), in its words."""
        d, o = layer.data, layer.off
        if o + 14 > layer.end:
            return
        flags = d[o + 13]
        if not flags & 7 and layer.hlen <= 20:
            return
        from tapwatch.dfilter.protocols.tcp_analysis import _quoted
        from tapwatch.dfilter.protocols.transport import _addresses, tcp_options

        if _quoted(pkt, layer):
            return
        seq = pkt.number
        if layer.hlen > 20:  # Wireshark reads options (and says these) only when there are some
            mss = any(k == 2 for k, _b in tcp_options(layer))
            if flags & 2 and not mss:
                text = "The SYN packet does not contain a MSS option"
                self._add("mss_absent", ExpertItem(seq, "Note", "Protocol", text, stream))
            elif mss and not flags & 2:
                text = "The non-SYN packet does contain a MSS option"
                self._add("mss_present", ExpertItem(seq, "Warning", "Protocol", text, stream))
        sport, dport = (d[o] << 8) | d[o + 1], (d[o + 2] << 8) | d[o + 3]
        if flags & 2:
            if flags & 0x10:
                text = f"Connection establish acknowledge (SYN+ACK): server port {sport}"
                self._add("syn_ack", ExpertItem(seq, "Chat", "Sequence", text, stream))
            else:
                text = f"Connection establish request (SYN): server port {dport}"
                self._add("syn", ExpertItem(seq, "Chat", "Sequence", text, stream))
        if flags & 1:
            self._add("fin", ExpertItem(seq, "Chat", "Sequence", "Connection finish (FIN)", stream))
            src, dst = _addresses(pkt, layer)
            me, peer = (stream, src, sport), (stream, dst, dport)
            if peer not in self._closing:
                self._closing[me] = True
                if len(self._closing) > MAX_PENDING:
                    del self._closing[next(iter(self._closing))]
                text = "This frame initiates the connection closing"
                self._add("fin_active", ExpertItem(seq, "Note", "Sequence", text, stream))
            else:
                text = "This frame undergoes the connection closing"
                self._add("fin_passive", ExpertItem(seq, "Note", "Sequence", text, stream))
        if flags & 4:
            text = "Connection reset (RST)"
            self._add("rst", ExpertItem(seq, "Warning", "Sequence", text, stream))

    def _dns_retransmissions(self, pkt: Packet, index: dict[str, list[Layer]]) -> None:
        """Wireshark's DNS warnings for a query or response seen again (same ID, same
        conversation), from the transactions pass."""
        from tapwatch.dfilter.protocols.transactions import pairing

        for layer in index["dns"]:
            p = pairing(pkt, layer)
            if p is None or not p.retransmit_of:
                continue
            if layer.data[layer.off + 2] & 0x80:
                name, text = "dns_response_retransmission", "DNS response retransmission"
                text += f". Original response in frame {p.retransmit_of}"
            else:
                name, text = "dns_query_retransmission", "DNS query retransmission"
                text += f". Original request in frame {p.retransmit_of}"
            self._add(name, ExpertItem(pkt.number, "Warning", "Protocol", text, -1, "DNS"))

    def _http_chat(self, pkt: Packet, index: dict[str, list[Layer]], stream: int) -> None:
        """Wireshark's HTTP Chat item: each request's and response's first line."""
        for layer in index.get("http", ()):
            msg = layer.extra
            if not isinstance(msg, dict) or not (msg.get("request") or msg.get("response")):
                continue
            d = layer.data[layer.off : layer.end]
            line = d[: d.find(b"\r\n")].decode("latin-1")
            item = ExpertItem(pkt.number, "Chat", "Sequence", line + "\\r\\n", stream, "HTTP")
            self._add("http", item)

    def _requests(self, pkt: Packet, index: dict[str, list[Layer]]) -> None:
        """Remember what a request asked, for the Transactions view's rows."""
        what = None
        for layer in index.get("http", ()):
            msg = layer.extra
            if isinstance(msg, dict) and msg.get("request"):
                what = f"{msg.get('method', '')} {msg.get('uri', '')}"
        for layer in index.get("dns", ()):
            d, o = layer.data, layer.off
            if o + 12 <= layer.end and not d[o + 2] & 0x80:
                from tapwatch.dfilter.protocols.datagrams import dns_message

                qs = dns_message(layer).queries
                what = " ".join(f"{_qtype(t)} {n}" for n, t, _c in qs[:2]) or "query"
        for kind, req in (("icmp", 8), ("icmpv6", 128)):
            for layer in index.get(kind, ()):
                d, o = layer.data, layer.off
                if o + 8 <= layer.end and d[o] == req:
                    ident, seq = (
                        int.from_bytes(d[o + 4 : o + 6], "big"),
                        int.from_bytes(d[o + 6 : o + 8], "big"),
                    )
                    what = f"echo id={ident:#06x} seq={seq}"
        if what is not None:
            self._pending[pkt.number] = what
            if len(self._pending) > MAX_PENDING:
                del self._pending[next(iter(self._pending))]

    def _paired(self) -> None:
        for tx in self._pairing:
            done = tx.done
            for kind, req, resp, time_ns in done:
                self.response_of.setdefault(req, (resp, kind))
                self.request_of[resp] = (req, time_ns, kind)
                if len(self.transactions) >= MAX_ROWS:
                    self.dropped += 1
                    continue
                self.transactions.append(
                    Transaction(
                        _KIND_NAMES.get(kind, kind), req, resp, time_ns, self._pending.pop(req, "")
                    )
                )
            done.clear()  # the pass's list is only read here: keep it short

    # ----- what the tree shows ---------------------------------------------------------------
    def tcp_of(self, seq: int) -> tuple[int, int, int, int, int] | None:
        """(stream, relative seq, relative ack, next seq, window) of a TCP packet seen."""
        i = seq - self.base
        if not 0 <= i < len(self.stream) or self.stream[i] < 0:
            return None
        return (self.stream[i], self.rel_seq[i], self.rel_ack[i], self.nxtseq[i], self.window[i])


_QTYPES: Final = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA"}


def _qtype(t: int) -> str:
    return _QTYPES.get(t, f"TYPE{t}")


class SharedExpert:
    """One :class:`ExpertIndex` for the tools and the tree, caught up under a lock."""

    def __init__(self, linktypes: Sequence[int]) -> None:
        import threading

        self.linktypes = linktypes  # the session's own: it grows while capture runs
        #: made by the first catch-up, in a worker: loading the filter's protocols takes
        #: about half a second, which the UI's start must not wait for
        self.existing: ExpertIndex | None = None
        self.lock = threading.Lock()

    @property
    def index(self) -> ExpertIndex:
        if self.existing is None:
            self.existing = ExpertIndex(self.linktypes)
        return self.existing

    def caught_up_to(self) -> int:
        """The newest record the index has looked at (0: it has not started)."""
        got = self.existing
        return got.caught_up_to if got is not None else 0

    def catch_up(
        self, ring: Ring, progress: Progress | None = None, chunk: int = CHUNK
    ) -> ExpertIndex:
        """Bring the index up to the ring's newest record; call with ``lock`` held."""
        index = self.index
        index.update(ring, progress, chunk)
        return index


# ----- rows for the tools' tables --------------------------------------------------------------


def seconds(ns: int) -> str:
    """A time as Wireshark's tree shows relative times: seconds, nine decimals."""
    return f"{ns / 1e9:.9f}"


def analysis_lines(index: ExpertIndex, seq: int) -> list[str]:
    """The ``[SEQ/ACK analysis]`` lines for a TCP packet, Wireshark's words (empty: none)."""
    from tapwatch.dfilter.protocols.tcp_analysis import DUPLICATE_ACK, FLAGS, RETRANSMISSION

    out = []
    ack = index.acks.get(seq)
    if ack is not None:
        out.append(f"[This is an ACK to the segment in frame: {ack[0]}]")
        out.append(f"[The RTT to ACK the segment was: {seconds(ack[1])} seconds]")
    got = index.flags.get(seq)
    if got is not None:
        flags, _acks, _rtt, dupnum, dupframe = got
        if dupnum:
            out.append("[This is a TCP duplicate ack]")
            out.append(f"[Duplicate ACK #: {dupnum}]")
            out.append(f"[Duplicate to the ACK in frame: {dupframe}]")
        for bit, (_name, text, severity) in FLAGS.items():
            if flags & bit:
                if bit == DUPLICATE_ACK:
                    text = f"{text} (#{dupnum})"
                out.append(f"[Expert Info ({severity}/Sequence): {text}]")
                if bit != RETRANSMISSION and _name.endswith("retransmission"):
                    out.append(
                        "[Expert Info (Note/Sequence): This frame is a (suspected) retransmission]"
                    )
    return out


def tcp_lines(index: ExpertIndex, seq: int) -> list[str]:
    """Stream index and relative numbers, as Wireshark's TCP layer shows them."""
    got = index.tcp_of(seq)
    if got is None:
        return []
    stream, rseq, rack, nxt, window = got
    out = [f"[Stream index: {stream}]", f"Sequence Number: {rseq}    (relative sequence number)"]
    out.append(f"[Next Sequence Number: {nxt}    (relative sequence number)]")
    out.append(f"Acknowledgment Number: {rack}    (relative ack number)")
    if window >= 0:
        out.append(f"[Calculated window size: {window}]")
    return out


def transaction_lines(index: ExpertIndex, seq: int) -> list[str]:
    """Request in / response in and the time between, in each protocol's Wireshark words."""
    out = []
    resp = index.response_of.get(seq)
    if resp is not None:
        frame, kind = resp
        if kind == "http":
            out.append(f"[Response in frame: {frame}]")
        elif kind == "dns":
            out.append(f"[Response In: {frame}]")
        elif kind == "icmp":
            out.append(f"[Response frame: {frame}]")
        else:
            out.append(f"[Response In: {frame}]")
    req = index.request_of.get(seq)
    if req is not None:
        frame, ns, kind = req
        if kind == "http":
            out.append(f"[Time since request: {seconds(ns)} seconds]")
            out.append(f"[Request in frame: {frame}]")
        elif kind == "dns":
            out.append(f"[Request In: {frame}]")
            out.append(f"[Time: {seconds(ns)} seconds]")
        elif kind == "icmp":
            out.append(f"[Request frame: {frame}]")
            out.append(f"[Response time: {ns / 1e6:.3f} ms]")
        else:
            out.append(f"[Response To: {frame}]")
            out.append(f"[Response Time: {ns / 1e6:.3f} ms]")
    return out


def expert_table_rows(items: Sequence[ExpertItem]) -> list[tuple[str, ...]]:
    return [
        (
            f"{i.seq}",
            i.severity,
            i.group,
            i.protocol,
            i.summary,
            f"{i.stream}" if i.stream >= 0 else "",
        )
        for i in items
    ]


def transaction_rows(rows: Sequence[Transaction]) -> list[tuple[str, ...]]:
    return [
        (t.kind, f"{t.request}", f"{t.response}", f"{t.time_ns / 1e6:.3f}", t.what) for t in rows
    ]


def sort_transactions(
    rows: Sequence[Transaction], column: str, descending: bool
) -> list[Transaction]:
    keys: dict[str, Any] = {
        "Kind": lambda t: t.kind,
        "Request": lambda t: t.request,
        "Response": lambda t: t.response,
        "Time (ms)": lambda t: t.time_ns,
        "What": lambda t: t.what,
    }
    return sorted(rows, key=keys.get(column, keys["Time (ms)"]), reverse=descending)


def sort_items(items: Sequence[ExpertItem], column: str, descending: bool) -> list[ExpertItem]:
    order = {"Error": 0, "Warning": 1, "Note": 2, "Chat": 3}
    keys: dict[str, Any] = {
        "No.": lambda i: i.seq,
        "Severity": lambda i: (order.get(i.severity, 9), i.seq),
        "Group": lambda i: (i.group, i.seq),
        "Protocol": lambda i: (i.protocol, i.seq),
        "Summary": lambda i: (i.summary, i.seq),
        "Stream": lambda i: (i.stream, i.seq),
    }
    return sorted(items, key=keys.get(column, keys["No."]), reverse=descending)


# ----- the tree ----------------------------------------------------------------------------------

_TCP: Final = "Transmission Control Protocol"
_TRANSACTION_LAYERS: Final = (
    "Hypertext Transfer Protocol",
    "Domain Name System",
    "Internet Control Message Protocol",
    "Data",
)


def _tcp_node(node: Node, tcp: tuple[int, int, int, int, int], seqack: list[str]) -> Node:
    """The TCP layer in Wireshark's order, relative numbers first and raw ones after."""
    from tapwatch.decode import Node

    stream, rseq, rack, nxt, window = tcp
    kids: list[Node] = []
    seglen = None
    has_ack = False
    for c in node.children:
        label = c.label
        if label.startswith("[TCP Segment Len: "):
            seglen = label[18:-1]
        if label.startswith("Flags: ") and "ACK" in label:
            has_ack = True
    for c in node.children:
        label = c.label
        if label.startswith("Sequence Number: "):
            kids.append(
                Node(f"Sequence Number: {rseq}    (relative sequence number)", c.start, c.end, [])
            )
            kids.append(Node(f"Sequence Number (raw): {label[17:]}", c.start, c.end, []))
            kids.append(
                Node(f"[Next Sequence Number: {nxt}    (relative sequence number)]", 0, 0, [])
            )
            continue
        if label.startswith("Acknowledgment Number: "):
            if has_ack:
                kids.append(
                    Node(
                        f"Acknowledgment Number: {rack}    (relative ack number)",
                        c.start,
                        c.end,
                        [],
                    )
                )
            else:
                kids.append(Node(f"Acknowledgment Number: {label[23:]}", c.start, c.end, []))
            kids.append(Node(f"Acknowledgment number (raw): {label[23:]}", c.start, c.end, []))
            continue
        kids.append(c)
        if label.startswith("Destination Port"):
            kids.append(Node(f"[Stream index: {stream}]", 0, 0, []))
        elif label.startswith("Window: ") and window >= 0:
            kids.append(Node(f"[Calculated window size: {window}]", c.start, c.end, []))
    if seqack:
        kids.append(Node("[SEQ/ACK analysis]", 0, 0, [Node(t, 0, 0, []) for t in seqack]))
    title = node.label
    cut = title.find(", Seq: ")
    if cut >= 0:
        title = f"{title[:cut]}, Seq: {rseq}" + (f", Ack: {rack}" if has_ack else "")
        if seglen is not None:
            title += f", Len: {seglen}"
    return Node(title, node.start, node.end, kids)


def enrich(nodes: list[Node], index: ExpertIndex, seq: int) -> list[Node]:
    """The tree of packet ``seq`` with what the index knows added where Wireshark shows it:
    in TCP the stream, relative numbers and calculated window, then a ``[SEQ/ACK
    analysis]`` node; in the HTTP, DNS or ICMP layer the request or response it pairs with.
    Nodes not touched are returned as they are (the tree is cached; this makes a copy)."""
    from tapwatch.decode import Node

    tcp = index.tcp_of(seq)
    seqack = analysis_lines(index, seq)
    paired = transaction_lines(index, seq)
    if not (tcp or seqack or paired):
        return nodes
    out = list(nodes)
    for i, node in enumerate(out):
        if node.label.startswith(_TCP) and tcp is not None:
            out[i] = _tcp_node(node, tcp, seqack)
            break
    if paired:
        for i in range(len(out) - 1, -1, -1):
            node = out[i]
            if node.label.startswith(_TRANSACTION_LAYERS):
                kids = [Node(t, 0, 0, []) for t in paired]
                out[i] = Node(node.label, node.start, node.end, [*node.children, *kids])
                break
    return out


#: TCP's numbers in its Info, as the decoder writes them (an Ack only where the flag is)
_TCP_NUMBERS: Final = re.compile(" Seq=([0-9]+)(?: Ack=([0-9]+))? Win=([0-9]+)")


def _relative(info: str, seq: int, ack: int, window: int) -> str:
    """``info`` with TCP's sequence and acknowledgement numbers replaced by ``seq`` and
    ``ack``, and its window by ``window`` when that is known (>= 0): one search, one join
    (every TCP row of the list goes through here when drawn or sorted by Info)."""
    m = _TCP_NUMBERS.search(info)
    if m is None:
        return info
    out = [info[: m.start(1)], str(seq)]
    last = m.end(1)
    if m.start(2) >= 0:
        out += [info[last : m.start(2)], str(ack)]
        last = m.end(2)
    out += [info[last : m.start(3)], str(window) if window >= 0 else m[3], info[m.end(3) :]]
    return "".join(out)


def related_info(index: ExpertIndex, seq: int, info: str) -> str:
    """A packet's Info (the decoder's, stateless) with what only the capture before it tells,
    as Wireshark's one pass says it: a TCP segment's sequence and acknowledgement numbers
    relative to its stream's first and its window scaled as the handshake agreed, and an
    ICMP or ICMPv6 echo reply's request.  The packet list shows this; the tcpdump line keeps
    the absolute numbers (tcpdump's own relative ones are the line printer's)."""
    whole = index.whole_info.get(seq)
    if whole is not None:
        info = whole
    at = seq - index.base
    if 0 <= at < len(index.stream) and index.stream[at] >= 0 and " Seq=" in info:
        info = _relative(info, index.rel_seq[at], index.rel_ack[at], index.window[at])
    req = index.request_of.get(seq)
    if req is not None and req[2] in ("icmp", "icmpv6"):
        info = f"{info} (request in {req[0]})"
    return info


def info_column(index: ExpertIndex, seq: int, info: str) -> str:
    """The packet list's Info for a packet whose decoder Info is ``info``, once the analysis
    has looked at it: the TCP analysis's words first, then :func:`related_info`."""
    info = related_info(index, seq, info)
    words = info_words(index, seq)
    return f"{words} {info}" if words else info


_WORDED: list[int] = []


def _worded_bits() -> int:
    """The analysis flags that put words in the Info column (loaded on first use)."""
    if not _WORDED:
        from tapwatch.dfilter.protocols.tcp_analysis import INFO_WORDS

        bits = 0
        for bit, _word in INFO_WORDS:
            bits |= bit
        _WORDED.append(bits)
    return _WORDED[0]


def info_words(index: ExpertIndex, seq: int) -> str | None:
    """What Wireshark's Info column puts first for a flagged packet (``[TCP Dup ACK 4#1]``)."""
    got = index.flags.get(seq)
    if got is None:
        return None
    flags, _acks, _rtt, dupnum, dupframe = got
    if not flags & _worded_bits():  # most flagged segments (an ACK's RTT) have no words
        return None
    from tapwatch.dfilter.protocols.tcp_analysis import DUPLICATE_ACK, INFO_WORDS

    words = []
    for bit, word in INFO_WORDS:
        if flags & bit:
            words.append(f"{word} {dupframe}#{dupnum}" if bit == DUPLICATE_ACK else word)
    return f"[{', '.join(words)}]" if words else None
