"""HTTP/1.x and TLS records in Wireshark's words, nesting and byte spans, read from the bytes.

These are the application layers an analyst reads most; their subtrees are checked node by
node against ``tshark -T pdml`` (tests/test_tree_tshark.py).  Only what one TCP segment holds
is worded: an HTTP message whose head or body runs past the segment, or a TLS record cut by
it, needs tshark's reassembly and returns None (the tree keeps its plainer HTTP/TLS wording,
:mod:`tapwatch.decode.depth`).  What needs the conversation (``[HTTP request 1/1]``,
``[Response in frame: N]``, JA3 hashes, the expert info) is left out.

Work is bounded: at most ``MAX_LINES`` header lines, ``MAX_ITEMS`` records, cipher suites
and extensions; every length is checked against the segment before it is believed.
"""

from __future__ import annotations

from typing import Final

from tapwatch.decode.fields import Net
from tapwatch.decode.node import Node
from tapwatch.decode.tcpapps import (
    HTTP_METHODS,
    TLS_ALERTS,
    TLS_CONTENT_TYPES,
    TLS_HANDSHAKES,
    TLS_PORTS,
    TLS_RECORD_NAMES,
    TLS_VERSIONS,
)
from tapwatch.decode.ws_common import MAX_ITEMS, data_node, hex_value, node, u16

# ----------------------------------------------------------------------------- HTTP

_METHODS: Final = frozenset(HTTP_METHODS)
#: how a request or response starts
_STARTS: Final = (*(m + b" " for m in _METHODS), b"HTTP/1.")
#: header lines worded at most (a head with more is left to the plainer wording)
MAX_LINES: Final = 100

#: tshark's [Status Code Description] words
_STATUS: Final = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Time-out",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def _text(b: bytes) -> str:
    return b.decode("latin-1")


def _uri_parts(uri: bytes, at: int) -> list[Node]:
    """A request URI's path, query and query parameters (at most ``MAX_ITEMS``), as tshark
    splits a URI with a query."""
    path, mark, query = uri.partition(b"?")
    if not mark:
        return []
    q = at + len(path) + 1
    params: list[Node] = []
    for part in query.split(b"&", MAX_ITEMS)[:MAX_ITEMS]:
        params.append(node(f"Request URI Query Parameter: {_text(part)}", q, q + len(part)))
        q += len(part) + 1
    return [
        node(f"Request URI Path: {_text(path)}", at, at + len(path)),
        node(f"Request URI Query: {_text(query)}", at + len(path) + 1, at + len(uri), params),
    ]


def _cookie_pairs(line: bytes, at: int) -> list[Node]:
    """A Cookie header's pairs (at most ``MAX_ITEMS``) over their bytes, as tshark shows."""
    p = line.find(b":") + 1
    out: list[Node] = []
    for part in line[p:].split(b";", MAX_ITEMS)[:MAX_ITEMS]:
        lead = len(part) - len(part.lstrip(b" "))
        pair = part.strip(b" ")
        if pair:
            start = at + p + lead
            out.append(node(f"Cookie pair: {_text(pair)}", start, start + len(pair)))
        p += len(part) + 1
    return out


def _first_line(line: bytes, at: int, size: int) -> list[Node] | None:
    """The request or status line's children; None when it is neither."""
    parts = line.split(b" ", 2)
    if len(parts) != 3 or not all(parts[:2]):
        return None
    a, b, c = parts
    pa, pb = at, at + len(a) + 1
    pc = pb + len(b) + 1
    if a.startswith(b"HTTP/1.") and len(a) == 8:
        if len(b) != 3 or not b.isdigit():
            return None
        code = int(b)
        kids = [
            node(f"Response Version: {_text(a)}", pa, pa + len(a)),
            node(f"Status Code: {code}", pb, pb + 3),
        ]
        if code in _STATUS:
            kids.append(node(f"[Status Code Description: {_STATUS[code]}]", pb, pb + 3))
        if c:
            kids.append(node(f"Response Phrase: {_text(c)}", pc, pc + len(c)))
        return kids
    if a not in _METHODS or not c.startswith(b"HTTP/1.") or len(c) != 8:
        return None
    uri = node(f"Request URI: {_text(b)}", pb, pb + len(b), _uri_parts(b, pb))
    return [
        node(f"Request Method: {_text(a)}", pa, pa + len(a)),
        uri,
        node(f"Request Version: {_text(c)}", pc, pc + len(c)),
    ]


def http(data: bytes, s: int, net: Net) -> Node | None:
    """One HTTP/1.x message that the segment holds whole, in tshark's words; None otherwise."""
    end = net.end if s < net.end <= len(data) else len(data)
    return http_message(data, s, end)


def http_message(data: bytes, s: int, end: int, cut: bool = False) -> Node | None:
    """The head's node (its File Data line over the body after it); ``cut``: the capture
    kept only the first ``end`` bytes of the segment (a snap length), whose head tshark
    words up to the cut."""
    head_end = data.find(b"\r\n\r\n", s, end)
    if head_end < 0:
        if not cut:
            return None  # the head runs on in the next segment
        head_end = end
    eol = data.find(b"\r\n", s, end)
    if eol < 0:
        return None
    line = data[s:eol]
    first = _first_line(line, s, eol + 2 - s)
    if first is None:
        return None
    is_request = not line.startswith(b"HTTP/")
    kids = [node(_text(line) + "\\r\\n", s, eol + 2, first)]
    at = eol + 2
    length: int | None = None
    host: str | None = None
    typed = False
    for _ in range(MAX_LINES):
        if at >= head_end + 2 or at >= end:
            break
        eol = data.find(b"\r\n", at, end)
        crlf, stop = "\\r\\n", eol + 2
        if eol < 0:  # the line the snap length cut
            eol, crlf, stop = end, "", end
        raw = data[at:eol]
        name, colon, value = raw.partition(b":")
        if not colon or not name or name != name.strip() or b" " in name:
            return None  # a continuation or a line tshark words otherwise
        low = name.lower()
        value = value.strip(b" \t")
        sub: list[Node] = []
        if low == b"content-length":
            if not value.isdigit() or len(value) > 12 or length is not None:
                return None
            length = int(value)
            sub = [node(f"[Content length: {length}]", at, stop)]
        elif low == b"transfer-encoding" or low == b"content-encoding":
            return None  # tshark de-chunks or inflates the body: more nodes than one segment's
        elif low == b"host":
            host = _text(value)
        elif low == b"content-type":
            typed = True
        elif low == b"cookie" and crlf:
            sub = _cookie_pairs(raw, at)
        kids.append(node(_text(raw) + crlf, at, stop, sub))
        at = stop
    else:
        return None
    if at + 2 <= end:
        kids.append(node("\\r\\n", at, at + 2))
    body = at + 2
    if is_request and host is not None and first[1].label.startswith("Request URI: /"):
        uri = first[1].label[len("Request URI: ") :]
        kids.append(node(f"[Full request URI: http://{host}{uri}]", s, s))
    if body > end:
        return node("Hypertext Transfer Protocol", s, end, kids)
    if length is None:
        # without a length a request has no body; a response's runs to the segment's end
        length = 0 if is_request else end - body
    if body + length > end:
        return None  # the body runs on in the next segment
    if not length:
        return node("Hypertext Transfer Protocol", s, body, kids)
    kids.append(node(f"File Data: {length} bytes", body, body + length))
    if not typed:
        # a body no media type names: tshark nests it as data in the HTTP layer
        kids.append(data_node(data, body, body + length))
        return node("Hypertext Transfer Protocol", s, body + length, kids)
    # a typed body is the media type's layer after HTTP's, which spans the head
    return node("Hypertext Transfer Protocol", s, body, kids)


def _continued(data: bytes, s: int, end: int) -> Node:
    """A segment a cut capture holds the middle of a message in: tshark shows it as the
    body of an HTTP layer of its own (it cannot reassemble a truncated segment)."""
    n = end - s
    return node(
        "Hypertext Transfer Protocol",
        s,
        end,
        [node(f"File Data: {n} bytes", s, end), data_node(data, s, end)],
    )


def _body(data: bytes, head: Node) -> list[Node]:
    """The layer tshark shows after an HTTP head with a body: data, for an octet stream
    (the other media types' dissectors are tshark's own: left undissected here)."""
    got = [c for c in head.children if c.label.startswith("File Data: ")]
    if not got or got[0].end <= head.end:
        return []
    types = [c.label for c in head.children if c.label.lower().startswith("content-type:")]
    if types[0].lower() != "content-type: application/octet-stream\\r\\n":
        return []
    return [data_node(data, got[0].start, got[0].end)]


# ----------------------------------------------------------------------------- TLS

_CONTENT: Final = TLS_CONTENT_TYPES
_VERSIONS: Final = TLS_VERSIONS
_RECORD_NAMES: Final = TLS_RECORD_NAMES
_HANDSHAKES: Final = TLS_HANDSHAKES
#: the handshake messages whose bodies are worded here (the others: their header only)
_WORDED_HANDSHAKES: Final = frozenset({1, 2})
#: what tshark calls the protocol TLS carries, by the server's port
_APP_PROTOCOLS: Final = {
    443: "Hypertext Transfer Protocol",
    853: "Domain Name System",
    993: "Internet Message Access Protocol",
    995: "Post Office Protocol",
    465: "Simple Mail Transfer Protocol",
    636: "Lightweight Directory Access Protocol",
}
_ALERT_LEVELS: Final = {1: "Warning", 2: "Fatal"}
_ALERTS: Final = TLS_ALERTS
_CIPHERS: Final = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x5600: "TLS_FALLBACK_SCSV",
}
_EXTENSIONS: Final = {
    0: "server_name",
    5: "status_request",
    10: "supported_groups",
    11: "ec_point_formats",
    13: "signature_algorithms",
    16: "application_layer_protocol_negotiation",
    18: "signed_certificate_timestamp",
    21: "padding",
    22: "encrypt_then_mac",
    23: "extended_master_secret",
    35: "session_ticket",
    43: "supported_versions",
    45: "psk_key_exchange_modes",
    27: "compress_certificate",
    28: "record_size_limit",
    34: "delegated_credentials",
    41: "pre_shared_key",
    42: "early_data",
    44: "cookie",
    49: "post_handshake_auth",
    50: "signature_algorithms_cert",
    51: "key_share",
    57: "quic_transport_parameters",
    17513: "application_settings",
    65281: "renegotiation_info",
}


def _grease(v: int) -> bool:
    """RFC 8701's reserved values (0x0a0a, 0x1a1a...), which tshark calls GREASE."""
    return v & 0x0F0F == 0x0A0A and v >> 8 == v & 0xFF


def _cipher(c: int) -> str | None:
    """tshark's name of a cipher suite; None for one not in this table (tshark's is longer:
    its line is left out rather than called unknown)."""
    if _grease(c):
        return f"Reserved (GREASE) (0x{c:04x})"
    return f"{_CIPHERS[c]} (0x{c:04x})" if c in _CIPHERS else None


def _version(v: int) -> str:
    return f"{_VERSIONS.get(v, 'Unknown')} (0x{v:04x})"


def _server_name(data: bytes, p: int, stop: int) -> Node | None:
    """server_name's one host name, as tshark's "Server Name Indication extension"."""
    if p + 5 > stop or data[p + 2] != 0:
        return None
    n = u16(data, p + 3)
    if u16(data, p) != n + 3 or p + 5 + n != stop:
        return None
    return node(
        "Server Name Indication extension",
        p,
        stop,
        [
            node(f"Server Name list length: {u16(data, p)}", p, p + 2),
            node("Server Name Type: host_name (0)", p + 2, p + 3),
            node(f"Server Name length: {n}", p + 3, p + 5),
            node(f"Server Name: {_text(data[p + 5 : stop])}", p + 5, stop),
        ],
    )


def _extension(data: bytes, p: int, server: bool) -> tuple[Node, int] | None:
    """One extension's node and the version it names (supported_versions in a Server
    Hello), or None for a type this table does not name.  The bodies worded are the server
    name, a Server Hello's version and an empty renegotiation_info; other bodies' lines are
    left out."""
    t, n = u16(data, p), u16(data, p + 2)
    if _grease(t):
        name, type_line = "Reserved (GREASE)", f"Reserved (GREASE) ({t})"
    elif t in _EXTENSIONS:
        name = _EXTENSIONS[t]
        type_line = f"{name} ({t})"
    else:
        return None  # tshark may know it by a name this table lacks: left out
    b, stop = p + 4, p + 4 + n
    kids = [node(f"Type: {type_line}", p, p + 2), node(f"Length: {n}", p + 2, p + 4)]
    chosen = 0
    if t == 0 and not server:
        sni = _server_name(data, b, stop)
        if sni is not None:
            kids.append(sni)
    elif t == 43 and server and n == 2:
        chosen = u16(data, b)
        kids.append(node(f"Supported Version: {_version(chosen)}", b, stop))
    elif t == 65281 and n == 1 and data[b] == 0:
        kids.append(
            node(
                "Renegotiation Info extension",
                b,
                stop,
                [node("Renegotiation info extension length: 0", b, stop)],
            )
        )
    # other bodies: tshark's subtree of them is left out (the tree may show fewer lines)
    return node(f"Extension: {name} (len={n})", p, stop, kids), chosen


def _hello(data: bytes, h: int, stop: int, server: bool) -> tuple[list[Node], int] | None:
    """A Client or Server Hello's fields (after type and length) and the version a Server
    Hello picks; None when it does not read whole."""
    p = h + 4
    if p + 35 > stop:
        return None
    kids = [
        node(f"Version: {_version(u16(data, p))}", p, p + 2),
        node(f"Random: {data[p + 2 : p + 34].hex()}", p + 2, p + 34),
    ]
    p += 34
    sid = data[p]
    if sid > 32 or p + 1 + sid > stop:
        return None
    kids.append(node(f"Session ID Length: {sid}", p, p + 1))
    if sid:
        kids.append(node(f"Session ID: {data[p + 1 : p + 1 + sid].hex()}", p + 1, p + 1 + sid))
    p += 1 + sid
    if server:
        if p + 3 > stop:
            return None
        name = _cipher(u16(data, p))
        if data[p + 2] != 0:
            return None
        if name is not None:
            kids.append(node(f"Cipher Suite: {name}", p, p + 2))
        kids.append(node("Compression Method: null (0)", p + 2, p + 3))
        p += 3
    else:
        if p + 2 > stop:
            return None
        n = u16(data, p)
        if n % 2 or not n or n // 2 > MAX_ITEMS or p + 2 + n > stop:
            return None
        suites = []
        for q in range(p + 2, p + 2 + n, 2):
            name = _cipher(u16(data, q))
            if name is not None:
                suites.append(node(f"Cipher Suite: {name}", q, q + 2))
        kids.append(node(f"Cipher Suites Length: {n}", p, p + 2))
        what = "suite" if n == 2 else "suites"
        kids.append(node(f"Cipher Suites ({n // 2} {what})", p + 2, p + 2 + n, suites))
        p += 2 + n
        if p + 2 > stop or data[p] != 1 or data[p + 1] != 0:
            return None
        kids.append(node("Compression Methods Length: 1", p, p + 1))
        kids.append(
            node(
                "Compression Methods (1 method)",
                p + 1,
                p + 2,
                [node("Compression Method: null (0)", p + 1, p + 2)],
            )
        )
        p += 2
    chosen = 0
    if p == stop:
        return kids, chosen
    if p + 2 > stop or p + 2 + u16(data, p) != stop:
        return None
    kids.append(node(f"Extensions Length: {u16(data, p)}", p, p + 2))
    p += 2
    for _ in range(MAX_ITEMS):
        if p == stop:
            return kids, chosen
        if p + 4 > stop or p + 4 + u16(data, p + 2) > stop:
            return None
        got = _extension(data, p, server)
        if got is not None:
            kids.append(got[0])
            chosen = got[1] or chosen
        p += 4 + u16(data, p + 2)
    return None


#: every handshake type tshark knows (one of another type is taken for encrypted bytes): the
#: named ones, and three more (17, 67, 254) that tshark's tree knows and its Info does not name
_KNOWN_HANDSHAKES: Final = frozenset(TLS_HANDSHAKES) | {17, 67, 254}


def _encrypted(data: bytes, b: int, length: int) -> bool:
    """Whether tshark takes a handshake record's body for an encrypted message: shorter
    than a handshake header, or of no known type (under 6 bytes, only when the length it
    claims runs past the record: tshark calls those a fragment)."""
    if length < 4:
        return True
    if data[b] in _KNOWN_HANDSHAKES:
        return False
    return length >= 6 or 4 + int.from_bytes(data[b + 1 : b + 4], "big") > length


def _record(
    data: bytes, at: int, end: int, ports: tuple[int, int], tls13: bool
) -> tuple[Node, bool] | None:
    """One whole record's node, and whether the session is TLS 1.3 after it."""
    ctype, version, length = data[at], u16(data, at + 1), u16(data, at + 3)
    stop = at + 5 + length
    if ctype not in _CONTENT or version not in _VERSIONS or stop > end or not length:
        return None
    short = "TLSv1.3" if tls13 else _RECORD_NAMES[version]
    what = "Opaque Type" if tls13 and ctype == 23 else "Content Type"
    b = at + 5
    kids = [
        node(f"{what}: {_CONTENT[ctype]} ({ctype})", at, at + 1),
        node(f"Version: {_version(version)}", at + 1, at + 3),
        node(f"Length: {length}", at + 3, b),
    ]
    if ctype == 23:
        proto = next((_APP_PROTOCOLS[p] for p in ports if p in _APP_PROTOCOLS), "Application Data")
        if proto == "Application Data" and any(p in TLS_PORTS for p in ports):
            return None  # a TLS port whose protocol this table does not name
        title = f"Application Data Protocol: {proto}"
        kids.append(node(f"Encrypted Application Data: {hex_value(data[b:stop])}", b, stop))
    elif ctype == 20:
        if length != 1:
            return None
        title = "Change Cipher Spec Protocol: Change Cipher Spec"
        kids.append(node("Change Cipher Spec Message", b, stop))
    elif ctype == 21:
        lv, desc = data[b], data[b + 1] if length > 1 else 0
        if length != 2 or lv not in _ALERT_LEVELS or desc not in _ALERTS:
            return None
        title = f"Alert (Level: {_ALERT_LEVELS[lv]}, Description: {_ALERTS[desc]})"
        kids.append(
            node(
                "Alert Message",
                b,
                stop,
                [
                    node(f"Level: {_ALERT_LEVELS[lv]} ({lv})", b, b + 1),
                    node(f"Description: {_ALERTS[desc]} ({desc})", b + 1, stop),
                ],
            )
        )
    elif ctype == 22 and _encrypted(data, b, length):
        title = "Handshake Protocol: Encrypted Handshake Message"
        if length < 6:
            title += " (fragment)"
        kids.append(node(title, b, stop))
    elif ctype == 22:
        if length < 4:
            return None
        htype, hlen = data[b], int.from_bytes(data[b + 1 : b + 4], "big")
        if htype not in _WORDED_HANDSHAKES or b + 4 + hlen != stop or tls13:
            return None
        got = _hello(data, b, stop, server=htype == 2)
        if got is None:
            return None
        hname = _HANDSHAKES[htype]
        title = f"Handshake Protocol: {hname}"
        hs = [
            node(f"Handshake Type: {hname} ({htype})", b, b + 1),
            node(f"Length: {hlen}", b + 1, b + 4),
            *got[0],
        ]
        kids.append(node(title, b, stop, hs))
        tls13 = got[1] == 0x0304
    else:
        return None
    return node(f"{short} Record Layer: {title}", at, stop, kids), tls13


def tls_records(
    data: bytes, s: int, end: int, ports: tuple[int, int], partial: bool = False
) -> Node | None:
    """The TLS layer of a segment made of whole records (at most ``MAX_ITEMS``); None when
    a record is cut, or worded otherwise.

    ``partial``: a last record the payload holds only the start of ends the list instead
    (the layer still spans the payload), as tshark shows an OpenVPN control message whose
    last record the next message continues."""
    at, tls13 = s, False
    records: list[Node] = []
    while at < end:
        if len(records) >= MAX_ITEMS:
            return None
        if partial and records and (at + 5 > end or at + 5 + u16(data, at + 3) > end):
            break
        if at + 5 > end:
            return None
        got = _record(data, at, end, ports, tls13)
        if got is None:
            return None
        records.append(got[0])
        tls13 = got[1]
        at = got[0].end
    if not records:
        return None
    return node("Transport Layer Security", s, end, records)


def tls(data: bytes, s: int, net: Net) -> Node | None:
    """TLS records without the ports (the application data's protocol unnamed)."""
    end = net.end if s < net.end <= len(data) else len(data)
    return tls_records(data, s, end, (0, 0))


def app_layer(
    data: bytes, s: int, end: int, choice: str, ports: tuple[int, int], cut: bool = False
) -> list[Node] | None:
    """The HTTP message or TLS records (``choice``, :func:`tapwatch.decode.tcpapps.app`'s)
    a TCP segment holds whole; None when it holds a part, or what is worded otherwise
    (the plainer wording)."""
    if s >= end or end > len(data):
        return None
    if choice == "http":
        head = http_message(data, s, end, cut)
        if head is None and cut:
            # the middle of a message, or a start the cut leaves unread (shown as data)
            return [] if data.startswith(_STARTS, s, end) else [_continued(data, s, end)]
        return None if head is None else [head, *_body(data, head)]
    if choice == "tls":
        got = tls_records(data, s, end, ports)
        return None if got is None else [got]
    return None
