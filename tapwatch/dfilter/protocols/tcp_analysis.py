"""TCP analysis, Wireshark's expert information on sequence and acknowledgment numbers.

A pass, ``tcp.analysis``, after the stream pass, follows each direction of each
connection as Wireshark 4.0's ``tcp_analyze_sequence_number`` does: the highest
sequence number sent (``nextseq``), the last acknowledgment and window, the
segments not acknowledged yet (for the ACK RTT), the duplicate-ACK count.  From them
each segment gets its flags -- retransmission (fast, spurious), out-of-order, previous
segment not captured, ACKed unseen segment, duplicate ACK, zero window (probe, probe
ACK), window full, window update, keep-alive (ACK), reused ports -- and, for an
acknowledgment, the frame it acknowledges and the time it took (``tcp.analysis.ack_rtt``).

The tests are Wireshark 4.0.17's, in its order (the Debian 12 tshark the tests compare
with); the reference is tshark on the same capture.  MPTCP subflows are tied to their
connection by token as Wireshark ties them, so an ACK repeated after an MPTCP operation
on any subflow is not a duplicate (RFC 8684 allows it).
Memory is bounded: the stream pass bounds connections, and each direction keeps at most
:data:`MAX_UNACKED` segments waiting for their acknowledgment (Wireshark's own bound).
"""

from __future__ import annotations

from typing import Any, Final

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import u32
from tapwatch.dfilter.packet import Layer, Packet, Pass
from tapwatch.dfilter.protocols.transport import TcpInfo, tcp_options

#: Segments of one direction kept waiting for their acknowledgment.
MAX_UNACKED: Final = 10000
#: Out-of-order threshold while the connection's initial RTT is unknown (3 ms).
OOO_DEFAULT_NS: Final = 3_000_000
#: A fast retransmission comes within this much of the last duplicate ACK (20 ms).
FAST_RETRANS_NS: Final = 20_000_000

# the flags, Wireshark's TCP_A_* (the order is the order the tree lists them)
RETRANSMISSION: Final = 0x0001
LOST_PACKET: Final = 0x0002
ACK_LOST_PACKET: Final = 0x0004
KEEP_ALIVE: Final = 0x0008
DUPLICATE_ACK: Final = 0x0010
ZERO_WINDOW: Final = 0x0020
ZERO_WINDOW_PROBE: Final = 0x0040
ZERO_WINDOW_PROBE_ACK: Final = 0x0080
KEEP_ALIVE_ACK: Final = 0x0100
OUT_OF_ORDER: Final = 0x0200
FAST_RETRANSMISSION: Final = 0x0400
WINDOW_UPDATE: Final = 0x0800
WINDOW_FULL: Final = 0x1000
REUSED_PORTS: Final = 0x2000
SPURIOUS_RETRANSMISSION: Final = 0x4000

#: flag -> (field name, what Wireshark's expert info says, severity)
FLAGS: Final[dict[int, tuple[str, str, str]]] = {
    RETRANSMISSION: ("retransmission", "This frame is a (suspected) retransmission", "Note"),
    FAST_RETRANSMISSION: (
        "fast_retransmission",
        "This frame is a (suspected) fast retransmission",
        "Note",
    ),
    SPURIOUS_RETRANSMISSION: (
        "spurious_retransmission",
        "This frame is a (suspected) spurious retransmission",
        "Note",
    ),
    OUT_OF_ORDER: ("out_of_order", "This frame is a (suspected) out-of-order segment", "Warning"),
    LOST_PACKET: (
        "lost_segment",
        "Previous segment(s) not captured (common at capture start)",
        "Warning",
    ),
    ACK_LOST_PACKET: (
        "ack_lost_segment",
        "ACKed segment that wasn't captured (common at capture start)",
        "Warning",
    ),
    DUPLICATE_ACK: ("duplicate_ack", "Duplicate ACK", "Note"),
    ZERO_WINDOW: ("zero_window", "TCP Zero Window segment", "Warning"),
    ZERO_WINDOW_PROBE: ("zero_window_probe", "TCP Zero Window Probe", "Note"),
    ZERO_WINDOW_PROBE_ACK: ("zero_window_probe_ack", "ACK to a TCP Zero Window Probe", "Note"),
    WINDOW_FULL: (
        "window_full",
        "TCP window specified by the receiver is now completely full",
        "Warning",
    ),
    WINDOW_UPDATE: ("window_update", "TCP window update", "Chat"),
    KEEP_ALIVE: ("keep_alive", "TCP keep-alive segment", "Note"),
    KEEP_ALIVE_ACK: ("keep_alive_ack", "ACK to a TCP keep-alive segment", "Note"),
    REUSED_PORTS: (
        "reused_ports",
        "A new tcp session is started with the same ports as an earlier session in this trace",
        "Note",
    ),
}
#: the short words of Wireshark's Info column, by flag, in its order
INFO_WORDS: Final = (
    (SPURIOUS_RETRANSMISSION, "TCP Spurious Retransmission"),
    (FAST_RETRANSMISSION, "TCP Fast Retransmission"),
    (RETRANSMISSION, "TCP Retransmission"),
    (OUT_OF_ORDER, "TCP Out-Of-Order"),
    (LOST_PACKET, "TCP Previous segment not captured"),
    (ACK_LOST_PACKET, "TCP ACKed unseen segment"),
    (DUPLICATE_ACK, "TCP Dup ACK"),
    (ZERO_WINDOW_PROBE, "TCP ZeroWindowProbe"),
    (ZERO_WINDOW_PROBE_ACK, "TCP ZeroWindowProbeAck"),
    (ZERO_WINDOW, "TCP ZeroWindow"),
    (WINDOW_FULL, "TCP Window Full"),
    (WINDOW_UPDATE, "TCP Window Update"),
    (KEEP_ALIVE, "TCP Keep-Alive"),
    (KEEP_ALIVE_ACK, "TCP Keep-Alive ACK"),
    (REUSED_PORTS, "TCP Port numbers reused"),
)
#: flags that also say "retransmission" (Wireshark adds that field for them too)
ALSO_RETRANSMISSION: Final = FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION


class Analysis:
    """What the pass found for one segment (``TcpInfo.analysis``)."""

    __slots__ = ("ack_rtt_ns", "acks_frame", "dupack_frame", "dupack_num", "flags")

    def __init__(self) -> None:
        self.flags = 0
        self.acks_frame = 0
        self.ack_rtt_ns = -1
        self.dupack_num = 0
        self.dupack_frame = 0

    def words(self) -> list[str]:
        """Wireshark's Info-column words for the flags, most telling first."""
        return [w for bit, w in INFO_WORDS if self.flags & bit]


class _Dir:
    """One direction of a connection, Wireshark's ``tcp_flow_t`` with its seq info."""

    __slots__ = (
        "dupacknum",
        "is_first_ack",
        "lastack",
        "lastacktime",
        "lastnondupack",
        "lastsegmentflags",
        "maxseqtobeacked",
        "mp_ops",
        "nextseq",
        "nextseqtime",
        "segments",
        "window",
    )

    def __init__(self) -> None:
        self.nextseq = 0
        self.nextseqtime = 0
        self.maxseqtobeacked = 0
        self.lastack = 0
        self.lastacktime = 0
        #: duplicate ACKs in a row; -1 after an "ACKed unseen segment" in the other direction
        self.dupacknum = 0
        self.lastnondupack = 0
        self.window = -1  # raw, as the header says; -1 not seen
        self.is_first_ack = True
        self.lastsegmentflags = 0
        #: the MPTCP connection's operations as of this direction's last segment
        self.mp_ops = 0
        #: [frame, seq, nextseq, ts] of segments not acknowledged yet, newest first
        self.segments: list[list[int]] = []


class _Conn:
    __slots__ = ("dirs", "first_rtt", "mru_syn")

    def __init__(self) -> None:
        self.dirs = (_Dir(), _Dir())
        self.first_rtt = 0
        self.mru_syn = 0


class _Mptcp:
    """An MPTCP connection, shared by its subflows: the option subtypes seen on any of
    them (Wireshark's ``mp_operations``, a bit per subtype)."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops = 0


#: MPTCP connections remembered by token at once
MAX_MPTCP_TOKENS: Final = 1 << 16
_M32: Final = 0xFFFFFFFF


def _gt(a: int, b: int) -> bool:
    """Wireshark's GT_SEQ: ``a`` after ``b`` in sequence space."""
    return ((b - a) & 0xFFFFFFFF) > 0x7FFFFFFF


def _lt(a: int, b: int) -> bool:
    return _gt(b, a)


def _le(a: int, b: int) -> bool:
    return a == b or _lt(a, b)


class TcpAnalysis(Pass):
    """Wireshark's sequence analysis, per segment in capture order (see the module)."""

    name = "tcp.analysis"
    after = ("tcp.stream",)

    def __init__(self) -> None:
        self.last_stream: dict[tuple[bytes, bytes, int, int], int] = {}
        #: MPTCP token -> connection, so a subflow that joins shares its connection's state
        self.mptcp_tokens: dict[int, _Mptcp] = {}

    def feed(self, pkt: Packet) -> None:
        index = pkt.index()
        tcps = index.get("tcp")
        if not tcps:
            return
        layer = tcps[0]
        info = layer.extra
        if not isinstance(info, TcpInfo) or info.flow is None:
            return
        if ("icmp" in index or "icmpv6" in index) and _quoted(pkt, layer):
            return
        self._segment(pkt, layer, info)

    def _segment(self, pkt: Packet, layer: Layer, info: TcpInfo) -> None:
        """Wireshark 4.0's ``tcp_analyze_sequence_number`` for one segment, its tests in
        its order, then what ``dissect_tcp`` does after it (initial RTT, first ACK, MPTCP)."""
        flow = info.flow
        hdr = info.hdr
        assert hdr is not None
        direction = info.direction
        conn: _Conn | None = flow.state.get("tcp.analysis")
        if conn is None:
            conn = flow.state["tcp.analysis"] = _Conn()
            key = flow.key
            before = self.last_stream.get(key)
            self.last_stream[key] = info.stream
            if len(self.last_stream) > (1 << 20):
                del self.last_stream[next(iter(self.last_stream))]
            reused = before is not None and before != info.stream
        else:
            reused = False
        fwd, rev = conn.dirs[direction], conn.dirs[1 - direction]
        _sport, _dport, seq, ack, flags, window = hdr
        flags &= 0x0FFF
        seglen = info.length
        now = pkt.ts_ns
        syn, fin, rst, has_ack = flags & 2, flags & 1, flags & 4, flags & 0x10
        ctl = flags & 7  # SYN FIN RST
        mp: _Mptcp | None = flow.state.get("mptcp")

        base = REUSED_PORTS if reused and syn else 0  # flags from before the analysis
        dupack_num = dupack_frame = acks_frame = 0
        ack_rtt_ns = -1
        f = 0
        if seglen == 1 and seq == fwd.nextseq and rev.window == 0:
            f |= ZERO_WINDOW_PROBE  # and on to "finished_fwd"
        else:
            if window == 0 and not ctl:
                f |= ZERO_WINDOW
            if fwd.nextseq and _gt(seq, fwd.nextseq) and not rst:
                f |= LOST_PACKET
            if seglen in (0, 1) and seq == (fwd.nextseq - 1) & _M32 and not ctl:
                f |= KEEP_ALIVE
            same = seglen == 0 and seq == fwd.nextseq and ack == fwd.lastack and not ctl
            if same and window and window != fwd.window:
                f |= WINDOW_UPDATE
            if seglen > 0 and not ctl and rev.window >= 0 and flow.sides[1 - direction].scale != -1:
                shift = 0 if rev.is_first_ack else _shift(flow, 1 - direction)
                if (seq + seglen) & _M32 == (rev.lastack + (rev.window << shift)) & _M32:
                    f |= WINDOW_FULL
            same = same and window == fwd.window
            if same and window and (rev.lastsegmentflags & KEEP_ALIVE):
                f |= KEEP_ALIVE_ACK
            elif same and window == 0 and rev.lastsegmentflags & ZERO_WINDOW_PROBE:
                f |= ZERO_WINDOW_PROBE_ACK
            elif same and window and (mp is None or mp.ops == fwd.mp_ops):
                # (MPTCP lets an ACK repeat after an operation on the connection: RFC 8684)
                fwd.dupacknum = 1 if fwd.dupacknum == -1 else fwd.dupacknum + 1
                f |= DUPLICATE_ACK
                dupack_num = fwd.dupacknum
                dupack_frame = fwd.lastnondupack
        # finished_fwd: a new acknowledgment number starts the duplicate count again
        if ack != fwd.lastack:
            fwd.lastnondupack = pkt.number
            fwd.dupacknum = 0
        if rev.maxseqtobeacked and _gt(ack, rev.maxseqtobeacked) and has_ack:
            if _lt(rev.maxseqtobeacked, rev.nextseq):
                rev.maxseqtobeacked = rev.nextseq
                f |= ACK_LOST_PACKET
            else:
                # the other direction sends pure ACKs only: said once for the same loss
                if rev.dupacknum == 0:
                    f |= ACK_LOST_PACKET
                rev.dupacknum = -1

        if (seglen > 0 or syn or fin) and not f & KEEP_ALIVE:
            behind = bool(fwd.nextseq) and _lt(seq, fwd.nextseq)
            if seglen > 1 and (fwd.nextseq - 1) & _M32 == seq:
                behind = False  # new data after a possible zero window probe
            if seglen > 0 and rev.lastack and _le((seq + seglen) & _M32, rev.lastack):
                f |= SPURIOUS_RETRANSMISSION
            elif (
                behind
                and rev.dupacknum >= 2
                and rev.lastack == seq
                and 0 <= now - rev.lastacktime < FAST_RETRANS_NS
            ):
                f |= FAST_RETRANSMISSION
            elif (
                behind
                and 0 <= now - fwd.nextseqtime < (conn.first_rtt or OOO_DEFAULT_NS)
                and fwd.nextseq != (seq + seglen + (1 if syn or fin else 0)) & _M32
            ):
                f |= OUT_OF_ORDER
            elif behind:
                f |= RETRANSMISSION

        nextseq = (seq + seglen) & _M32
        if (seglen or syn or fin) and len(fwd.segments) < MAX_UNACKED:
            if syn or fin:
                nextseq = (nextseq + 1) & _M32
            fwd.segments.insert(0, [pkt.number, seq, nextseq, now])
        if (_gt(nextseq, fwd.nextseq) or not fwd.nextseq) and not f & ZERO_WINDOW_PROBE:
            fwd.nextseq = nextseq
            fwd.nextseqtime = now
        if (seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked) and not f & ZERO_WINDOW_PROBE:
            fwd.maxseqtobeacked = fwd.nextseq
        fwd.window = window
        fwd.lastack = ack
        fwd.lastacktime = now
        if mp is not None:
            fwd.mp_ops = mp.ops
        f |= base
        fwd.lastsegmentflags = f

        # what this acknowledges: the RTT to the oldest segment it acknowledges exactly
        segs = rev.segments
        if segs:
            keep: list[list[int]] = []
            for ual in segs:
                if ack == ual[2]:
                    acks_frame = ual[0]
                    ack_rtt_ns = now - ual[3]
                    continue
                if _gt(ack, ual[1]) and _le(ack, ual[2]):
                    ual[1] = ack
                    keep.append(ual)
                    continue
                if _gt(ual[2], ack):
                    keep.append(ual)
                    continue
            rev.segments = keep

        # after the analysis, as dissect_tcp: the initial RTT (from the latest SYN to the
        # first pure ACK), whether the side has ACKed yet (its window scaled from then on)
        if syn and not has_ack:
            conn.mru_syn = now
        if syn:
            fwd.is_first_ack = True
        elif has_ack:
            if conn.mru_syn and not conn.first_rtt:
                conn.first_rtt = now - conn.mru_syn
            fwd.is_first_ack = False
        if layer.hlen > 20:
            self._mptcp(flow, layer, direction)
        if f or acks_frame:
            ta = info.analysis = Analysis()
            ta.flags = f
            ta.acks_frame = acks_frame
            ta.ack_rtt_ns = ack_rtt_ns
            ta.dupack_num = dupack_num
            ta.dupack_frame = dupack_frame

    def _mptcp(self, flow: Any, layer: Layer, direction: int) -> None:
        """What the segment's MPTCP options tell, after its analysis (as Wireshark reads
        options after it): the connection the subflow belongs to, found by token (the
        keys' hash of MP_CAPABLE, the token of MP_JOIN's SYN), and the operations seen."""
        ops = 0
        for kind, body in tcp_options(layer):
            if kind != 30 or not body:
                continue
            subtype, version = body[0] >> 4, body[0] & 15
            optlen = len(body) + 2
            mp: _Mptcp | None = flow.state.get("mptcp")
            if mp is None and (subtype > 1 or (subtype == 1 and optlen != 12)):
                flow.state["mptcp"] = _Mptcp()
            if subtype == 0 and optlen in (12, 20, 22, 24) and len(body) >= 10:
                self._token(flow, direction, _key_token(version, body[2:10]))
                if optlen >= 20 and len(body) >= 18:
                    self._token(flow, 1 - direction, _key_token(version, body[10:18]))
            elif subtype == 1 and optlen == 12 and len(body) >= 6:
                self._token(flow, 1 - direction, u32(body, 2))
            if subtype < 8:
                ops |= 1 << subtype
        mp = flow.state.get("mptcp")
        if mp is not None:
            mp.ops |= ops

    def _token(self, flow: Any, side: int, token: int) -> None:
        """Wireshark's ``mptcp_get_meta_from_token``: a side's first token attaches the
        subflow to the connection registered with it, or registers the subflow's own."""
        known = flow.state.setdefault("mptcp.sides", [False, False])
        if known[side]:
            return
        known[side] = True
        found = self.mptcp_tokens.get(token)
        if found is not None:
            flow.state["mptcp"] = found
            return
        mp = flow.state.get("mptcp")
        if mp is None:
            mp = flow.state["mptcp"] = _Mptcp()
        self.mptcp_tokens[token] = mp
        if len(self.mptcp_tokens) > MAX_MPTCP_TOKENS:
            del self.mptcp_tokens[next(iter(self.mptcp_tokens))]


def _key_token(version: int, key: bytes) -> int:
    """The token of an MPTCP key: the first 32 bits of its SHA-1 (version 0) or SHA-256
    (version 1) hash."""
    import hashlib

    if version == 0:
        return int.from_bytes(hashlib.sha1(key).digest()[:4], "big")  # RFC 6824
    if version == 1:
        return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")
    return 0


def _shift(flow: Any, side: int) -> int:
    """The window shift a side announced, 0 when either side does not scale."""
    a, b = flow.sides[side].scale, flow.sides[1 - side].scale
    if a < 0 or b == -2:
        return 0
    return int(a)


def _quoted(pkt: Packet, layer: Layer) -> bool:
    """A TCP header quoted in an ICMP error is no segment of its connection."""
    for lay in pkt.layers():
        if lay is layer:
            return False
        if lay.name in ("icmp", "icmpv6"):
            return True
    return False


registry.register_pass("tcp.analysis", TcpAnalysis, after=("tcp.stream",))
_NEEDS: Final = ("tcp.analysis",)


def analysis(layer: Layer) -> Analysis | None:
    """The pass's word on a TCP layer (None: nothing to say)."""
    info = layer.extra
    return info.analysis if isinstance(info, TcpInfo) else None


def _has(bit: int) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        ta = analysis(layer)
        return True if ta is not None and ta.flags & bit else None

    return get


def _register(name: str, ftype: str, get: Any, desc: str) -> None:
    registry.register_field(
        name, ftype, "tcp", get, needs=_NEEDS, cost=registry.STATEFUL, desc=desc
    )


_register(
    "tcp.analysis.flags",
    "FT_NONE",
    lambda p, layer: True if (ta := analysis(layer)) is not None and ta.flags else None,
    "TCP Analysis Flags",
)
for _bit, (_field, _desc, _sev) in FLAGS.items():
    _mask = _bit | (ALSO_RETRANSMISSION if _bit == RETRANSMISSION else 0)
    _register(f"tcp.analysis.{_field}", "FT_NONE", _has(_mask), _desc)


def _attr(attr: str, minimum: int) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        ta = analysis(layer)
        if ta is None:
            return None
        v = getattr(ta, attr)
        return v if v >= minimum else None

    return get


_register(
    "tcp.analysis.acks_frame",
    "FT_FRAMENUM",
    _attr("acks_frame", 1),
    "This is an ACK to the segment in frame",
)
_register(
    "tcp.analysis.ack_rtt",
    "FT_RELATIVE_TIME",
    _attr("ack_rtt_ns", 0),
    "The RTT to ACK the segment was",
)
_register("tcp.analysis.duplicate_ack_num", "FT_UINT32", _attr("dupack_num", 1), "Duplicate ACK #")
_register(
    "tcp.analysis.duplicate_ack_frame",
    "FT_FRAMENUM",
    _attr("dupack_frame", 1),
    "Duplicate to the ACK in frame",
)
