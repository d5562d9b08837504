"""Application protocols over TCP: ``http.*`` and ``tls.*`` (``dns.*`` and ``dhcp.*``, read
from one datagram: :mod:`tapwatch.dfilter.protocols.datagrams`).

HTTP and TLS messages may span TCP segments; as Wireshark (whose TCP reassembly is on by
default), a message is dissected in the frame whose segment completes it, so they come
from a pass, ``tcp.reassembly``, that follows each connection's bytes in order and
adds ``http``/``tls`` layers to the frames that complete messages.  Those fields cost
more: the pass runs over every TCP segment of the capture.
"""

from __future__ import annotations

from typing import Any, Final

from tapwatch.decode import tcpapps
from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import u16
from tapwatch.dfilter.packet import Layer, Packet, Pass
from tapwatch.dfilter.protocols import tcp_analysis
from tapwatch.dfilter.protocols.transport import TcpInfo

# ----------------------------------------------------------------------------- TCP reassembly

#: Wireshark's ports for HTTP and TLS over TCP; which segments are HTTP or TLS (TLS also by
#: its record header on a port no other protocol takes) is :mod:`tapwatch.decode.tcpapps`'s
#: rule, the protocol tree's too.
HTTP_PORTS: Final = tcpapps.HTTP_PORTS
TLS_PORTS: Final = tcpapps.TLS_PORTS
_BY_PORT: Final = tcpapps.BY_PORT
#: Bytes one message may gather before it is given up (Wireshark's bound: 1 MiB).
MAX_PENDING: Final = 1 << 20
#: Messages spanning segments remembered per direction (the oldest is forgotten).
MAX_MSPS: Final = 64
#: Pieces one message may gather (a 1 MiB body in full-size segments takes about 720).
MAX_FRAGMENTS: Final = 2048
#: What a dissector asks of the segments that follow, beside a byte count: Wireshark's
#: ``DESEGMENT_ONE_MORE_SEGMENT`` and ``DESEGMENT_UNTIL_FIN``.
ONE_MORE: Final = -1
UNTIL_FIN: Final = -2
#: The analysis flags after which Wireshark hands a segment to no dissector
#: (``tcp_no_subdissector_on_error``), and those after which it does not even reassemble it.
_NOT_DISSECTED: Final = tcp_analysis.RETRANSMISSION | tcp_analysis.OUT_OF_ORDER
_NOT_REASSEMBLED: Final = tcp_analysis.RETRANSMISSION | tcp_analysis.SPURIOUS_RETRANSMISSION


class _Msp:
    """A message spanning segments, Wireshark's ``tcp_multisegment_pdu``: its bytes run
    from ``seq`` to ``nxtpdu`` (relative sequence numbers), gathered as they come, in
    order or not, and handed on once every byte up to the last one is there.  What it
    holds is bounded (:data:`MAX_PENDING` bytes, :data:`MAX_FRAGMENTS` pieces): past
    that it is given up, and the segments it spans are taken by no one."""

    __slots__ = (
        "datalen",
        "done",
        "early",
        "entire",
        "frags",
        "have",
        "last_frame",
        "nxtpdu",
        "seq",
        "size",
    )

    def __init__(self, seq: int, nxtpdu: int, frame: int) -> None:
        self.seq = seq
        self.nxtpdu = nxtpdu
        self.frags: dict[int, bytes] = {}
        self.size = 0
        self.have = 0  # the bytes from the start all there
        self.early: dict[int, int] = {}  # pieces past a hole: where each ends
        self.datalen = -1  # known once the fragment that ends the message came
        self.entire = False  # take the whole next segment (ONE_MORE)
        self.done = False  # reassembled and handed on (or given up)
        self.last_frame = frame

    def add(self, at: int, data: bytes, more: bool) -> bool:
        """Add ``data`` at ``at``; whether the message is now whole (this frame completes it)."""
        if self.done:
            return False
        old = self.frags.get(at, b"")
        if len(old) < len(data):
            self.size += len(data) - len(old)
            self.frags[at] = data
        if self.size > MAX_PENDING or len(self.frags) > MAX_FRAGMENTS:
            self.done = True  # given up
            self.frags, self.early = {}, {}
            return False
        if at > self.have:
            self.early[at] = max(self.early.get(at, 0), at + len(data))
        else:
            self.have = max(self.have, at + len(data))
            while self.early:  # pieces that came early may continue it now
                off = min(self.early)
                if off > self.have:
                    break
                self.have = max(self.have, self.early.pop(off))
        if not more:
            self.datalen = at + len(data)
        return 0 <= self.datalen <= self.have

    def data(self) -> bytes:
        out = bytearray()
        for off in sorted(self.frags):
            piece = self.frags[off]
            if off + len(piece) > len(out):
                out += piece[len(out) - off :]
        return bytes(out)


class _Direction:
    __slots__ = ("msps",)

    def __init__(self) -> None:
        self.msps: list[_Msp] = []

    def exact(self, seq: int) -> _Msp | None:
        for m in self.msps:
            if m.seq == seq:
                return m
        return None

    def holding(self, seq: int) -> _Msp | None:
        """The latest message that starts before ``seq`` (Wireshark's lookup at ``seq - 1``),
        when ``seq`` falls inside it."""
        best: _Msp | None = None
        for m in self.msps:
            if m.seq <= seq - 1 and (best is None or m.seq > best.seq):
                best = m
        if best is not None and best.seq <= seq < best.nxtpdu:
            return best
        return None

    def new(self, seq: int, nxtpdu: int, frame: int) -> _Msp:
        for m in self.msps:
            if m.seq == seq:
                self.msps.remove(m)
                break
        if len(self.msps) >= MAX_MSPS:
            del self.msps[0]
        m = _Msp(seq, nxtpdu, frame)
        self.msps.append(m)
        return m


class TcpReassembly(Pass):
    """Follows each HTTP and TLS connection's bytes as Wireshark's TCP reassembly does
    (out-of-order reassembly off, its 4.0 default) and adds the messages a segment
    completes to its frame as ``http`` / ``tls`` layers.

    As ``desegment_tcp``: a segment inside a message still gathering is added to it at
    its place, in order or not, and the segment that completes it (every byte up to
    the end it announced) gets the message; a segment that starts where a message began
    before, or that the TCP analysis calls a retransmission, is taken by no one; one it
    calls out of order (or a retransmission) that starts no message reaches no dissector,
    nor does a message such a segment completes; anything else is handed on as it is,
    and what its dissector finds incomplete starts a message that gathers what follows."""

    name = "tcp.reassembly"
    after = ("tcp.stream", "tcp.analysis")

    def feed(self, pkt: Packet) -> None:
        tcps = pkt.index().get("tcp")
        if not tcps:
            return
        for layer in tcps:
            info: TcpInfo = layer.extra
            if info.flow is None:
                continue
            d, o = layer.data, layer.off
            fin = d[o + 13] & 1 if o + 14 <= layer.end else 0
            if info.length <= 0 and not fin:
                continue
            sport, dport = u16(d, o), u16(d, o + 2)
            # tcpapps.by_port, inline: the lower port decides first
            if sport <= dport:
                by_port = _BY_PORT.get(sport) or _BY_PORT.get(dport)
            else:
                by_port = _BY_PORT.get(dport) or _BY_PORT.get(sport)
            if by_port == "other":
                continue
            start = o + layer.hlen
            stop = layer.end if info.length > 0 else start
            state = info.flow.state.get("tcp.reassembly")
            if by_port is None and state is None and not tcpapps.starts_record(d, start, stop):
                continue  # the fast way out for a connection nothing takes (most traffic)
            if state is None:
                state = info.flow.state["tcp.reassembly"] = {}
            key = (d[o : o + 2], sport)
            side = state.get(key)
            seq = info.seq
            fresh = side is None or side.holding(seq) is None
            app = "http"
            if by_port != "http":  # a TLS port, or a connection the heuristic took
                got = tcpapps.app(sport, dport, d, start, stop, True, fresh)
                if got is None:
                    continue
                app = got
            if side is None:
                side = state[key] = _Direction()
            payload = d[start:stop]
            if payload:
                self._segment(pkt, layer, info, side, state, app, payload, seq)
            if fin and app == "http":
                self._fin(pkt, layer, side, state)

    def _segment(
        self,
        pkt: Packet,
        layer: Layer,
        info: TcpInfo,
        side: _Direction,
        state: dict[Any, Any],
        app: str,
        payload: bytes,
        seq: int,
    ) -> None:
        """Wireshark's ``desegment_tcp`` for one segment's ``payload`` at ``seq``."""
        flags = info.analysis.flags if info.analysis is not None else 0
        nxtseq = seq + len(payload)
        anchor = layer
        if len(payload) < info.length:
            # the capture cut it (a snapshot length): its missing bytes never come, so, as
            # Wireshark (which cannot desegment then), what is there is the message as it
            # is, and nothing gathers after it
            if not flags & (_NOT_REASSEMBLED | _NOT_DISSECTED):
                self._dissect(pkt, anchor, payload, app, state, True, True)
            return
        cut = False
        for _ in range(64):  # each round takes a message's part of the segment
            rest = payload[seq - (nxtseq - len(payload)) :]
            if not rest:
                return
            m = side.exact(seq)
            if m is not None and nxtseq <= m.nxtpdu and m.last_frame != pkt.number:
                return  # the first segment of a message again
            if flags & _NOT_REASSEMBLED:
                return
            m = side.holding(seq)
            if m is None:
                if flags & _NOT_DISSECTED:
                    return
                anchor, at, need = self._dissect(pkt, anchor, rest, app, state, True, cut)
                if need:
                    start = seq + at
                    if need == ONE_MORE:
                        m = side.new(start, nxtseq + 1, pkt.number)
                        m.entire = True
                    elif need == UNTIL_FIN:
                        m = side.new(start, nxtseq + 0x40000000, pkt.number)
                    else:
                        m = side.new(start, nxtseq + need, pkt.number)
                    m.add(0, rest[at:], nxtseq < m.nxtpdu)
                return
            m.last_frame = pkt.number
            n = len(rest) if m.entire else min(nxtseq - seq, m.nxtpdu - seq)
            until_fin = m.nxtpdu - m.seq >= 0x40000000
            whole = m.add(seq - m.seq, rest[:n], nxtseq < m.nxtpdu or until_fin)
            if whole and m.entire:
                m.entire = False
                m.nxtpdu = max(m.nxtpdu, nxtseq)
            follows = m.nxtpdu - seq if seq <= m.nxtpdu < nxtseq and n > 0 else 0
            if whole:
                m.done = True
                if flags & _NOT_DISSECTED:
                    need = 0
                else:
                    data = m.data()
                    anchor, at, need = self._dissect(pkt, anchor, data, app, state, False, cut)
                if need:
                    if at == 0 or m.seq + at <= seq:
                        m.done = False
                        m.datalen = -1
                    else:  # what is left starts in this segment: a message of its own
                        old = m
                        m = side.new(m.seq + at, m.nxtpdu, pkt.number)
                        m.add(0, data[at:], True)
                        m.nxtpdu = old.nxtpdu
                    if need == ONE_MORE:
                        m.nxtpdu = max(seq + len(rest), m.nxtpdu) + 1
                        m.entire = True
                    elif need == UNTIL_FIN:
                        m.nxtpdu = m.seq + 0x40000000
                    elif seq + n >= m.nxtpdu:
                        m.nxtpdu = seq + n + need
                    else:
                        m.nxtpdu += need
                    seq += n
                    continue
            if not follows:
                return
            seq += follows

    def _fin(self, pkt: Packet, layer: Layer, side: _Direction, state: dict[Any, Any]) -> None:
        """A FIN ends a message that runs until the connection ends (an HTTP response
        without a length): it completes in the FIN's frame with what was gathered."""
        for m in side.msps:
            if not m.done and m.nxtpdu - m.seq >= 0x40000000 and m.frags:
                m.done = True
                data = m.data()
                at = 0
                anchor = layer
                while at < len(data):
                    msg, used = http_message(data[at:], state.get("method"), True)
                    if used == 0:
                        break
                    anchor = self._http_layer(pkt, anchor, data[at : at + used], msg, state)
                    at += used

    @staticmethod
    def _http_layer(
        pkt: Packet, anchor: Layer, data: bytes, msg: dict[str, Any], state: dict[Any, Any]
    ) -> Layer:
        if msg.get("request"):
            state["method"] = msg["method"]
            state["seen"] = True
        layer = Layer("http", data, 0, len(data))
        layer.extra = msg
        return pkt.insert_after(anchor, layer)

    def _dissect(
        self,
        pkt: Packet,
        anchor: Layer,
        buf: bytes,
        app: str,
        state: dict[Any, Any],
        fresh: bool,
        cut: bool,
    ) -> tuple[Layer, int, int]:
        """Hand ``buf`` to HTTP or TLS: the layer the messages were added after, where what
        is incomplete begins and how much more it needs (0: nothing is incomplete;
        :data:`ONE_MORE`, :data:`UNTIL_FIN`, or a byte count)."""
        if app == "http":
            at = 0
            while at < len(buf):
                part = buf[at:]
                # as Wireshark's dissect_http_message: bytes that are not text, or a first
                # line that is no request, response or header, are a continuation only
                # once a request was seen on the connection (else not HTTP); a first line
                # not ended yet waits for the next segment, whatever it turns out to be
                first = part[2:] if len(part) > 3 and part[:2] == b"\r\n" else part
                if not 0x20 <= first[0] < 0x7F:
                    if state.get("seen"):
                        anchor = self._http_layer(pkt, anchor, part, {"continuation": True}, state)
                    return anchor, len(buf), 0
                if not cut and _line_end(first) < 0:
                    return anchor, at, ONE_MORE
                msg, used = http_message(part, state.get("method"), cut)
                if cut and (used == 0 or msg.get("continuation")) and _starts_message(first):
                    # cut in its head: the fields of what is there
                    msg, used = http_message(part + b"\r\n\r\n", state.get("method"), True)
                    msg.pop("body", None)
                    if msg.get("continuation") and not first.startswith(b"HTTP/"):
                        words = first.split(b"\r", 1)[0].split(b" ")  # a request line cut
                        msg = {"request": 1, "method": words[0].decode("latin-1")}
                        msg["uri"] = words[1].decode("latin-1")
                        msg["headers"], msg["lines"] = {}, []
                    anchor = self._http_layer(pkt, anchor, part, msg, state)
                    return anchor, len(buf), 0
                if msg.get("continuation"):
                    # (its header loop takes a first line that is empty or has a colon
                    # for a header: HTTP, seen or not)
                    line = first[: _line_end(first)]
                    if state.get("seen") or not line or b":" in line:
                        anchor = self._http_layer(pkt, anchor, part, msg, state)
                    return anchor, len(buf), 0
                if used == 0:
                    return anchor, at, _http_need(part, state.get("method"))
                anchor = self._http_layer(pkt, anchor, part[:used], msg, state)
                at += used
            return anchor, len(buf), 0
        # TLS: as tshark, whatever is handed to TLS is TLS, even when it completes no
        # record (a segment, or a message whose reassembly it then asks to go on).  How
        # bytes that start no record are skipped depends on the connection's version, as
        # in dissect_ssl: once TLS 1.0-1.2 is known they are an unknown record that ends
        # the segment; before (or under TLS 1.3) a header with a version of its own must
        # open a record, and one of a known type with another version is taken as it is.
        records: list[tuple[int, int, bytes]] = []
        used, need = 0, 0
        known = state.get("tls.version")
        classic = known in _TLS_CLASSIC
        while used < len(buf):
            if used + 5 > len(buf):
                need = ONE_MORE
                break
            ctype = buf[used]
            version = u16(buf, used + 1)
            if classic and known != 0x0300 and ctype not in tcpapps.CONTENT_TYPES:
                used = len(buf)  # "Ignored Unknown Record"
                break
            if not classic and (
                ctype not in tcpapps.CONTENT_TYPES or version not in tcpapps.HEURISTIC_VERSIONS
            ):
                used = len(buf)  # "Continuation Data"
                break
            n = u16(buf, used + 3)
            if ctype not in tcpapps.CONTENT_TYPES:
                used = min(len(buf), used + 5 + n)  # a continuation it steps over
                continue
            if used + 5 + n > len(buf):
                need = used + 5 + n - len(buf)
                break
            body = buf[used + 5 : used + 5 + n]
            records.append((ctype, version, body))
            used += 5 + n
            known = _tls_version(known, ctype, version, body)
            classic = known in _TLS_CLASSIC
        state["tls.version"] = known
        if cut:
            need = 0
        layer = Layer("tls", buf, 0, used)
        layer.extra = records
        anchor = pkt.insert_after(anchor, layer)
        return anchor, used, need


#: Versions under which tshark reads records as TLS 1.0-1.2 / SSL 3.0 / GM/T (its
#: session version; unknown and TLS 1.3 read otherwise).
_TLS_CLASSIC: Final = frozenset({0x0300, 0x0301, 0x0302, 0x0303, 0x0101})
_TLS_VERSIONS: Final = _TLS_CLASSIC | {0x0304}
#: Handshake types that say a connection's version (not a Client Hello: Wireshark's
#: ``ssl_is_authoritative_version_message``).
_AUTHORITATIVE: Final = frozenset(
    {0, 2, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 67}
)


def _tls_version(known: int | None, ctype: int, version: int, body: bytes) -> int | None:
    """The connection's version after a whole record, as Wireshark's
    ``ssl_try_set_version``: the first record other than a Client Hello gives it, and a
    Server Hello's (its supported_versions extension for TLS 1.3)."""
    if ctype == 22 and body[:1] == b"\x02":
        hello = body[4 : 4 + int.from_bytes(body[1:4], "big")]
        legacy, _suites, exts = _hello(hello, True)
        chosen = legacy
        for t, data in exts:
            if t == 43 and len(data) == 2:
                chosen = u16(data, 0)
        if chosen in _TLS_VERSIONS:
            return chosen
    if known is not None:
        return known
    if ctype == 22 and (not body or body[0] not in _AUTHORITATIVE):
        return None
    return version if version in _TLS_VERSIONS else None


def _starts_message(buf: bytes) -> bool:
    """Whether ``buf`` begins as a request (a method and a space) or a response does."""
    word = buf[:20].split(b" ", 1)
    return (len(word) == 2 and word[0] in _METHODS) or buf.startswith(b"HTTP/1.")


def _line_end(buf: bytes) -> int:
    """Where the first line ends (a CR or LF, as ``tvb_find_line_end``); -1: not yet."""
    cr, lf = buf.find(b"\r", 0, MAX_HEADERS), buf.find(b"\n", 0, MAX_HEADERS)
    return lf if cr < 0 else cr if lf < 0 else min(cr, lf)


def _http_need(buf: bytes, method: str | None) -> int:
    """What HTTP asks of the segments that follow for the incomplete message at the start
    of ``buf`` (Wireshark's ``req_resp_hdrs_do_reassembly``): the missing bytes of a body
    of known length, one more segment for headers or chunks, the end of the connection
    for a response without a length."""
    head_end = buf.find(b"\r\n\r\n", 0, MAX_HEADERS)
    if head_end < 0:
        return ONE_MORE
    msg, _used = http_message(buf[: head_end + 4], method, True)
    headers = msg.get("headers") or {}
    length = headers.get("content-length", "")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return ONE_MORE
    if length.isdigit():
        return max(1, head_end + 4 + int(length) - len(buf))
    return UNTIL_FIN


registry.register_pass("tcp.reassembly", TcpReassembly, after=("tcp.stream", "tcp.analysis"))

# ----------------------------------------------------------------------------- HTTP

_NEEDS: Final = ("tcp.reassembly",)
registry.register_protocol("http", "Hypertext Transfer Protocol", needs=_NEEDS, cost=registry.DEEP)
#: the decoder's methods and the WebDAV and SSDP ones Wireshark's HTTP takes too
_METHODS: Final = frozenset(
    {
        *tcpapps.HTTP_METHODS,
        b"PROPFIND",
        b"PROPPATCH",
        b"MKCOL",
        b"COPY",
        b"MOVE",
        b"LOCK",
        b"UNLOCK",
        b"NOTIFY",
        b"SUBSCRIBE",
        b"M-SEARCH",
    }
)
#: Longest header block read: more than this is not taken for HTTP.
MAX_HEADERS: Final = 64 * 1024


def http_message(
    buf: bytes, method: str | None = None, end_of_stream: bool = False
) -> tuple[dict[str, Any], int]:
    """One message from the start of ``buf``: its fields and how many bytes it took
    (0: incomplete, wait for more).  Bytes that do not start a message are taken whole
    as a continuation (an ``http`` layer without request or response), as Wireshark.

    As Wireshark 4.0 (``req_resp_hdrs_do_reassembly``): a response to ``method`` HEAD
    (or a 2xx to CONNECT), 1xx, 204 and 304 have no body; a response with neither a
    length nor chunks runs until the connection ends; at ``end_of_stream`` (the segment
    has FIN) the body is what is there."""
    head_end = buf.find(b"\r\n\r\n", 0, MAX_HEADERS)
    eol = buf.find(b"\r\n", 0, MAX_HEADERS)
    first_line = buf[:eol] if eol >= 0 else buf[:MAX_HEADERS]  # (not a copy of the body)
    parts = first_line.split(b" ", 2)
    is_request = len(parts) == 3 and parts[0] in _METHODS and parts[2].startswith(b"HTTP/")
    is_response = len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1][:3].isdigit()
    if not (is_request or is_response):
        return {"continuation": True}, len(buf)
    if head_end < 0:
        return {}, 0 if len(buf) < MAX_HEADERS else len(buf)
    head = buf[:head_end].decode("latin-1")
    lines = head.split("\r\n")
    msg: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), value.strip())
    msg["lines"] = [line + "\r\n" for line in lines[1:]]
    body_start = head_end + 4
    if is_request:
        msg["request"] = 1
        msg["method"] = parts[0].decode("latin-1")
        msg["uri"] = parts[1].decode("latin-1")
        msg["version"] = parts[2].decode("latin-1")
    else:
        msg["response"] = 1
        msg["version"] = parts[0].decode("latin-1")
        msg["code"] = int(parts[1][:3])
        msg["phrase"] = parts[2].decode("latin-1") if len(parts) > 2 else ""
    msg["headers"] = headers
    length = 0
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    no_body = is_response and (
        method == "HEAD"
        or (msg["code"] // 100 == 2 and method in ("CONNECT", "SSTP_DUPLEX_POST"))
        or msg["code"] // 100 == 1
        or msg["code"] in (204, 304)
    )
    if no_body:
        pass
    elif "content-length" in headers and headers["content-length"].isdigit():
        length = int(headers["content-length"])
    elif chunked:
        end = _chunked_end(buf, body_start)
        if end < 0:
            if not end_of_stream:
                return {}, 0
            end = len(buf)
        msg["body"] = buf[body_start:end]
        return msg, end
    elif is_response:
        if not end_of_stream:
            return {}, 0  # no length given: the body runs until the connection ends
        length = len(buf) - body_start
    if len(buf) < body_start + length:
        if not end_of_stream:
            return {}, 0
        length = len(buf) - body_start
    msg["body"] = buf[body_start : body_start + length]
    return msg, body_start + length


def _chunked_end(buf: bytes, at: int) -> int:
    """Where a chunked body starting at ``at`` ends (-1: not all here yet)."""
    for _ in range(100_000):
        eol = buf.find(b"\r\n", at)
        if eol < 0:
            return -1
        size_text = buf[at:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return len(buf)
        at = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", at - 2)
            return -1 if end < 0 else end + 4
        at += size + 2
        if at > len(buf):
            return -1
    return len(buf)


def _http_get(name: str, ftype: str, fn: Any, multi: bool = False, desc: str = "") -> None:
    registry.register_field(
        name, ftype, "http", fn, multi=multi, needs=_NEEDS, cost=registry.DEEP, desc=desc
    )


_http_get("http.request", "FT_BOOLEAN", lambda p, layer: layer.extra.get("request"))
_http_get("http.response", "FT_BOOLEAN", lambda p, layer: layer.extra.get("response"))
_http_get("http.request.method", "FT_STRING", lambda p, layer: layer.extra.get("method"))
_http_get("http.request.uri", "FT_STRING", lambda p, layer: layer.extra.get("uri"))
_http_get(
    "http.request.version",
    "FT_STRING",
    lambda p, layer: layer.extra.get("version") if layer.extra.get("request") else None,
)
_http_get(
    "http.response.version",
    "FT_STRING",
    lambda p, layer: layer.extra.get("version") if layer.extra.get("response") else None,
)
_http_get("http.response.code", "FT_UINT16", lambda p, layer: layer.extra.get("code"))
_http_get("http.response.phrase", "FT_STRING", lambda p, layer: layer.extra.get("phrase"))


def _full_uri(pkt: Packet, layer: Layer) -> Any:
    x = layer.extra
    if not x.get("request"):
        return None
    host = x["headers"].get("host")
    uri = x["uri"]
    return f"http://{host}{uri}" if host and uri.startswith("/") else uri


_http_get("http.request.full_uri", "FT_STRING", _full_uri)


def _lines(kind: str) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        x = layer.extra
        return list(x.get("lines", ())) if x.get(kind) else []

    return get


_http_get("http.request.line", "FT_STRING", _lines("request"), multi=True)
_http_get("http.response.line", "FT_STRING", _lines("response"), multi=True)


def _header(name: str) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        h = layer.extra.get("headers")
        return None if h is None else h.get(name)

    return get


for _field, _hname in (
    ("http.host", "host"),
    ("http.user_agent", "user-agent"),
    ("http.accept", "accept"),
    ("http.referer", "referer"),
    ("http.cookie", "cookie"),
    ("http.authorization", "authorization"),
    ("http.connection", "connection"),
    ("http.content_type", "content-type"),
    ("http.content_length_header", "content-length"),
    ("http.transfer_encoding", "transfer-encoding"),
    ("http.server", "server"),
    ("http.location", "location"),
    ("http.date", "date"),
    ("http.last_modified", "last-modified"),
    ("http.cache_control", "cache-control"),
    ("http.upgrade", "upgrade"),
):
    _http_get(_field, "FT_STRING", _header(_hname))


def _content_length(pkt: Packet, layer: Layer) -> Any:
    h = layer.extra.get("headers")
    v = None if h is None else h.get("content-length")
    return int(v) if v is not None and v.isdigit() else None


def _file_data(pkt: Packet, layer: Layer) -> Any:
    body = layer.extra.get("body")
    return body.decode("latin-1") if body else None


_http_get("http.content_length", "FT_UINT64", _content_length)
_http_get("http.file_data", "FT_STRING", _file_data)

# ----------------------------------------------------------------------------- TLS

registry.register_protocol("tls", "Transport Layer Security", needs=_NEEDS, cost=registry.DEEP)


def _tls(name: str, ftype: str, fn: Any, desc: str = "") -> None:
    registry.register_field(
        name, ftype, "tls", fn, multi=True, needs=_NEEDS, cost=registry.DEEP, desc=desc
    )


def _handshakes(layer: Layer) -> list[tuple[int, int, bytes]]:
    """``(type, length, body)`` of each handshake message of the layer's records."""
    out: list[tuple[int, int, bytes]] = []
    for ctype, _v, body in layer.extra:
        if ctype != 22:
            continue
        at = 0
        while at + 4 <= len(body) and len(out) < 64:
            n = int.from_bytes(body[at + 1 : at + 4], "big")
            out.append((body[at], n, body[at + 4 : at + 4 + n]))
            at += 4 + n
    return out


def _hello(body: bytes, server: bool) -> tuple[int, list[int], list[tuple[int, bytes]]]:
    """A hello's version, cipher suites and extensions ``(type, data)``."""
    at = 2 + 32
    if at >= len(body):
        return (u16(body, 0) if len(body) >= 2 else -1), [], []
    at += 1 + body[at]  # session id
    suites: list[int] = []
    if server:
        if at + 2 <= len(body):
            suites.append(u16(body, at))
        at += 3
    else:
        if at + 2 > len(body):
            return u16(body, 0), suites, []
        n = u16(body, at)
        suites = [u16(body, at + 2 + i) for i in range(0, min(n, len(body) - at - 2) - 1, 2)]
        at += 2 + n
        if at < len(body):
            at += 1 + body[at]  # compression methods
    exts: list[tuple[int, bytes]] = []
    if at + 2 <= len(body):
        end = min(len(body), at + 2 + u16(body, at))
        at += 2
        while at + 4 <= end and len(exts) < 128:
            t, n = u16(body, at), u16(body, at + 2)
            exts.append((t, body[at + 4 : at + 4 + n]))
            at += 4 + n
    return u16(body, 0), suites, exts


def _sni(data: bytes) -> list[str]:
    out = []
    at = 2
    while at + 3 <= len(data):
        t, n = data[at], u16(data, at + 1)
        if t == 0:
            out.append(data[at + 3 : at + 3 + n].decode("latin-1"))
        at += 3 + n
    return out


def _hellos(layer: Layer) -> list[tuple[int, list[int], list[tuple[int, bytes]]]]:
    return [_hello(b, t == 2) for t, _n, b in _handshakes(layer) if t in (1, 2)]


_tls("tls.record.content_type", "FT_UINT8", lambda p, layer: [r[0] for r in layer.extra])
_tls("tls.record.version", "FT_UINT16", lambda p, layer: [r[1] for r in layer.extra])
_tls("tls.record.length", "FT_UINT16", lambda p, layer: [len(r[2]) for r in layer.extra])
_tls("tls.record", "FT_NONE", lambda p, layer: [True for _r in layer.extra])
_tls("tls.handshake", "FT_NONE", lambda p, layer: [True for r in layer.extra if r[0] == 22])
_tls("tls.handshake.type", "FT_UINT8", lambda p, layer: [h[0] for h in _handshakes(layer)])
_tls("tls.handshake.length", "FT_UINT24", lambda p, layer: [h[1] for h in _handshakes(layer)])
_tls("tls.handshake.version", "FT_UINT16", lambda p, layer: [h[0] for h in _hellos(layer)])
_tls(
    "tls.handshake.ciphersuite",
    "FT_UINT16",
    lambda p, layer: [s for h in _hellos(layer) for s in h[1]],
)
_tls(
    "tls.handshake.extension.type",
    "FT_UINT16",
    lambda p, layer: [t for h in _hellos(layer) for t, _d in h[2]],
)
_tls(
    "tls.handshake.extensions_server_name",
    "FT_STRING",
    lambda p, layer: [n for h in _hellos(layer) for t, d in h[2] if t == 0 for n in _sni(d)],
)
_tls(
    "tls.app_data", "FT_BYTES", lambda p, layer: [r[2] for r in layer.extra if r[0] == 23 and r[2]]
)
_tls("tls.alert_message", "FT_NONE", lambda p, layer: [True for r in layer.extra if r[0] == 21])
_tls(
    "tls.alert_message.level",
    "FT_UINT8",
    lambda p, layer: [r[2][0] for r in layer.extra if r[0] == 21 and len(r[2]) == 2],
)
_tls(
    "tls.alert_message.desc",
    "FT_UINT8",
    lambda p, layer: [r[2][1] for r in layer.extra if r[0] == 21 and len(r[2]) == 2],
)
_tls(
    "tls.change_cipher_spec", "FT_NONE", lambda p, layer: [True for r in layer.extra if r[0] == 20]
)
