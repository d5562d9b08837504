"""Requests paired with their responses: HTTP/1.x, DNS, ICMP and ICMPv6 echo.

In-order passes pair them -- ``transactions`` for DNS and echo, ``transactions.http``
after TCP reassembly for HTTP (so ``icmp.resptime`` does not pay for reassembly) -- as
Wireshark 4.0 does on its first
(and, for tshark's ``-Y`` without ``-2``, only) pass, so a filter selects what tshark
selects: what is known when the response arrives -- ``http.time`` and
``http.request_in``, ``dns.time`` and ``dns.response_to``, ``icmp.resptime`` and
``icmp.resp_to`` -- is on the response.  What only a later packet tells (a request's
``response_in``) is known after the whole capture; :mod:`tapwatch.analysis.expert`
keeps it for the tree and the Transactions view.

Wireshark's pairing rules:

* HTTP, per TCP connection: a response belongs to the latest request seen on that
  connection (no queue for pipelined requests: Wireshark 4.0 keeps none);
* DNS, per UDP conversation (addresses and ports, both ways): a response answers the
  latest request with its transaction ID that has no response yet; a request repeating
  an unanswered ID is a retransmission of the first (``dns.retransmission``);
* ICMP/ICMPv6 echo, per address pair: a reply answers the latest request with its
  identifier, sequence number and data (Wireshark keys on the checksum, which the
  data decides); a second reply to one request is not paired.

State is bounded: :data:`MAX_PENDING` open transactions at once, the oldest forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from tapwatch.dfilter import registry
from tapwatch.dfilter.dissect import u16
from tapwatch.dfilter.packet import Layer, Packet, Pass
from tapwatch.dfilter.protocols.transport import TcpInfo, _addresses

#: Requests (and connections) remembered at once, per protocol.
MAX_PENDING: Final = 1 << 16


class Pairing:
    """What the pass worked out for one message: the frame it pairs with and the time."""

    __slots__ = ("kind", "request", "retransmit_of", "time_ns")

    def __init__(self, kind: str, request: int, time_ns: int) -> None:
        self.kind = kind  # "http", "dns", "icmp", "icmpv6"
        self.request = request  # the request's frame (0: not a response / unpaired)
        self.time_ns = time_ns
        #: a retransmitted request: the frame of the first one
        self.retransmit_of = 0


def pairing(pkt: Packet, layer: Layer) -> Pairing | None:
    """The pass's word on ``layer`` of ``pkt`` (None when it said nothing)."""
    notes: Any = pkt.capture.state.get("transactions.notes") if pkt.capture is not None else None
    if not notes or notes[0] != pkt.number:
        return None
    got: Pairing | None = notes[1].get(id(layer))
    return got


class _Bounded(OrderedDict[Any, Any]):
    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_PENDING:
            self.popitem(last=False)


class Transactions(Pass):
    """Pairs requests and responses in capture order (see the module's docstring)."""

    name = "transactions"
    after: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.http = _Bounded()  # tcp stream -> [request frame, request ts, answered]
        self.dns = _Bounded()  # (conversation, id) -> [request frame, ts, response frame]
        self.icmp = _Bounded()  # (proto, addresses, id, seq, data) -> [frame, ts, answered]
        #: every pairing made, (kind, request frame, response frame, time), when ``record``
        #: is set: the expert index reads and empties it (a filter leaves it off)
        self.record = False
        self.done: list[tuple[str, int, int, int]] = []

    def _done(self, pairing: tuple[str, int, int, int]) -> None:
        if self.record:
            self.done.append(pairing)

    def _note(self, pkt: Packet, layer: Layer, p: Pairing) -> None:
        assert pkt.capture is not None
        state = pkt.capture.state
        notes = state.get("transactions.notes")
        if not notes or notes[0] != pkt.number:  # type: ignore[index]
            notes = state["transactions.notes"] = (pkt.number, {})
        notes[1][id(layer)] = p  # type: ignore[index]

    def feed(self, pkt: Packet) -> None:
        index = pkt.index()
        if "dns" in index:
            for layer in index["dns"]:
                self._dns(pkt, layer)
        for kind, req, rep in (("icmp", 8, 0), ("icmpv6", 128, 129)):
            for layer in index.get(kind, ()):
                self._echo(pkt, layer, kind, req, rep)

    def _http(self, pkt: Packet, index: dict[str, list[Layer]]) -> None:
        tcps = index.get("tcp")
        if not tcps:
            return
        info = tcps[-1].extra
        if not isinstance(info, TcpInfo) or info.stream < 0:
            return
        stream = info.stream
        for layer in index["http"]:
            msg = layer.extra
            if not isinstance(msg, dict):
                continue
            if msg.get("request"):
                self.http.put(stream, [pkt.number, pkt.ts_ns, 0])
            elif msg.get("response"):
                got = self.http.get(stream)
                if got is None or got[2]:
                    continue
                frame, ts, _ = got
                got[2] = 1
                p = Pairing("http", frame, pkt.ts_ns - ts)
                self._note(pkt, layer, p)
                self._done(("http", frame, pkt.number, p.time_ns))

    def _dns(self, pkt: Packet, layer: Layer) -> None:
        d, o = layer.data, layer.off
        if o + 12 > layer.end:
            return
        if _in_error(pkt, layer):
            return
        ident, response = u16(d, o), d[o + 2] & 0x80
        udp = _enclosing(pkt, layer, "udp")
        if udp is None:
            return
        src, dst = _addresses(pkt, udp)
        sport, dport = u16(udp.data, udp.off), u16(udp.data, udp.off + 2)
        a, b = (src, sport), (dst, dport)
        conv = (a, b) if a <= b else (b, a)
        key = (conv, ident)
        got = self.dns.get(key)
        if not response:
            if got is not None and not got[2]:
                p = Pairing("dns", 0, 0)
                p.retransmit_of = got[0]
                self._note(pkt, layer, p)
                return
            self.dns.put(key, [pkt.number, pkt.ts_ns, 0])
            return
        if got is None:
            return
        if got[2]:  # a second answer: a retransmitted response, not paired again
            p = Pairing("dns", 0, 0)
            p.retransmit_of = got[2]
            self._note(pkt, layer, p)
            return
        got[2] = pkt.number
        p = Pairing("dns", got[0], pkt.ts_ns - got[1])
        self._note(pkt, layer, p)
        self._done(("dns", got[0], pkt.number, p.time_ns))

    def _echo(self, pkt: Packet, layer: Layer, kind: str, req: int, rep: int) -> None:
        d, o = layer.data, layer.off
        if o + 8 > layer.end:
            return
        t = d[o]
        if t not in (req, rep) or _in_error(pkt, layer):
            return
        src, dst = _addresses(pkt, layer)
        pair = (src, dst) if src <= dst else (dst, src)
        key = (kind, pair, d[o + 4 : layer.end])
        got = self.icmp.get(key)
        if t == req:
            self.icmp.put(key, [pkt.number, pkt.ts_ns, 0])
            return
        if got is None or got[2]:
            return
        got[2] = 1
        p = Pairing(kind, got[0], pkt.ts_ns - got[1])
        self._note(pkt, layer, p)
        self._done((kind, got[0], pkt.number, p.time_ns))


def _enclosing(pkt: Packet, layer: Layer, name: str) -> Layer | None:
    """The nearest ``name`` layer before ``layer`` in the stack."""
    layers = pkt.layers()
    at = layers.index(layer) if layer in layers else len(layers)
    for i in range(at - 1, -1, -1):
        if layers[i].name == name:
            return layers[i]
    return None


def _in_error(pkt: Packet, layer: Layer) -> bool:
    """Whether ``layer`` is quoted inside an ICMP error (Wireshark pairs nothing there)."""
    layers = pkt.layers()
    at = layers.index(layer) if layer in layers else len(layers)
    for i in range(at - 1, -1, -1):
        lay = layers[i]
        if lay.name == "icmp" and lay.data[lay.off] in (3, 4, 5, 11, 12):
            return True
        if lay.name == "icmpv6" and lay.data[lay.off] < 128:
            return True
    return False


class HttpTransactions(Transactions):
    """HTTP's pairs, a pass of its own: it needs TCP reassembly, which DNS and ping don't."""

    name = "transactions.http"
    after = ("tcp.stream", "tcp.reassembly")

    def feed(self, pkt: Packet) -> None:
        index = pkt.index()
        if "http" in index:
            self._http(pkt, index)


registry.register_pass("transactions", Transactions)
registry.register_pass(
    "transactions.http", HttpTransactions, after=("tcp.stream", "tcp.reassembly")
)

_NEEDS: Final = ("transactions",)
_HTTP_NEEDS: Final = ("transactions.http",)


def _time(kind: str) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        p = pairing(pkt, layer)
        return p.time_ns if p is not None and p.request else None

    return get


def _request(pkt: Packet, layer: Layer) -> Any:
    p = pairing(pkt, layer)
    return p.request if p is not None and p.request else None


def _ms(pkt: Packet, layer: Layer) -> Any:
    p = pairing(pkt, layer)
    return round(p.time_ns / 1e6, 3) if p is not None and p.request else None


def _retransmitted(pkt: Packet, layer: Layer) -> Any:
    p = pairing(pkt, layer)
    return p.retransmit_of if p is not None and p.retransmit_of else None


def _retransmitted_as(response: bool) -> Any:
    def get(pkt: Packet, layer: Layer) -> Any:
        d, o = layer.data, layer.off
        if o + 3 > layer.end or bool(d[o + 2] & 0x80) != response:
            return None
        return _retransmitted(pkt, layer)

    return get


for _name, _ftype, _proto, _get, _cost, _desc in (
    ("http.time", "FT_RELATIVE_TIME", "http", _time("http"), registry.DEEP, "Time since request"),
    ("http.request_in", "FT_FRAMENUM", "http", _request, registry.DEEP, "Request in frame"),
    ("dns.time", "FT_RELATIVE_TIME", "dns", _time("dns"), registry.DEEP, "Time"),
    ("dns.response_to", "FT_FRAMENUM", "dns", _request, registry.DEEP, "Request In"),
    (
        "dns.retransmit_request_in",
        "FT_FRAMENUM",
        "dns",
        _retransmitted_as(False),
        registry.DEEP,
        "Retransmitted request. Original request in",
    ),
    (
        "dns.retransmit_response_in",
        "FT_FRAMENUM",
        "dns",
        _retransmitted_as(True),
        registry.DEEP,
        "Retransmitted response. Original response in",
    ),
    (
        "dns.retransmission",
        "FT_BOOLEAN",
        "dns",
        lambda p, layer: 1 if _retransmitted(p, layer) else None,
        registry.DEEP,
        "Retransmission",
    ),
    ("icmp.resptime", "FT_DOUBLE", "icmp", _ms, registry.STATEFUL, "Response time"),
    ("icmp.resp_to", "FT_FRAMENUM", "icmp", _request, registry.STATEFUL, "Request frame"),
    ("icmpv6.resptime", "FT_DOUBLE", "icmpv6", _ms, registry.STATEFUL, "Response Time"),
    ("icmpv6.resp_to", "FT_FRAMENUM", "icmpv6", _request, registry.STATEFUL, "Response To"),
):
    needs = _HTTP_NEEDS if _proto == "http" else _NEEDS
    registry.register_field(_name, _ftype, _proto, _get, needs=needs, cost=_cost, desc=_desc)


# What only a later packet tells: a request's response.  tshark's -Y (one pass) never
# sees them on the request either, so they select nothing here too; the tree and the
# Transactions view show them (analysis.expert keeps the whole capture's pairs).
for _name, _proto, _desc in (
    ("http.response_in", "http", "Response in frame"),
    ("dns.response_in", "dns", "Response In"),
    ("icmp.resp_in", "icmp", "Response frame"),
    ("icmpv6.resp_in", "icmpv6", "Response In"),
):
    registry.register_field(
        _name,
        "FT_FRAMENUM",
        _proto,
        lambda p, layer: None,
        needs=_HTTP_NEEDS if _proto == "http" else _NEEDS,
        cost=registry.STATEFUL,
        desc=_desc + " (known after the response: in the tree, not in a one-pass filter)",
    )
