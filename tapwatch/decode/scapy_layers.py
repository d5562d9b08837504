"""scapy layers for what scapy does not dissect but the protocol tree should show: OpenVPN.

Imported by :mod:`tapwatch.decode.tree` when it loads scapy (never on the hot path).
The fields and their names follow tshark's OpenVPN dissector: opcode and key ID,
the session, the reliability layer of control messages (acknowledged packet-ids,
remote session, the message's own packet-id), the peer ID of ``P_DATA_V2``.  With
tls-auth or tls-crypt an HMAC or ciphertext follows the session; the reliability
fields are then read only where their sizes add up, as the line decoder does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from scapy.fields import (
    BitEnumField,
    BitField,
    ConditionalField,
    FieldLenField,
    FieldListField,
    IntField,
    ShortField,
    X3BytesField,
    XLongField,
)
from scapy.layers.inet import TCP, UDP
from scapy.packet import Packet, bind_layers

from tapwatch.decode.tunnels import OPENVPN_OPCODES

_OPCODES = dict(OPENVPN_OPCODES)


def _plain_control(pkt: Any) -> bool:
    """A control message whose reliability layer sits right after the session (no tls-auth):
    decided from the sizes of the bytes being dissected, as the line decoder does."""
    s = getattr(pkt, "original", None) or b""
    op = s[0] >> 3 if s else 0
    if op in (0, 6, 9) or len(s) < 10:
        return False
    n = s[9]
    need = 4 * n + (8 if n else 0) + (0 if op == 5 else 4)
    rest = len(s) - 10
    return n <= 8 and rest >= need and (op != 5 or rest == need)


class OpenVPN(Packet):
    name = "OpenVPN Protocol"
    fields_desc: ClassVar[list[Any]] = [
        BitEnumField("opcode", 7, 5, _OPCODES),
        BitField("key_id", 0, 3),
        ConditionalField(X3BytesField("peer_id", 0), lambda p: p.opcode == 9),
        ConditionalField(XLongField("session_id", 0), lambda p: p.opcode not in (6, 9)),
        ConditionalField(
            FieldLenField("ack_count", None, count_of="acks", fmt="B"), _plain_control
        ),
        ConditionalField(
            FieldListField("acks", [], IntField("", 0), count_from=lambda p: p.ack_count),
            _plain_control,
        ),
        ConditionalField(
            XLongField("remote_session_id", 0), lambda p: _plain_control(p) and p.ack_count
        ),
        ConditionalField(IntField("packet_id", 0), lambda p: _plain_control(p) and p.opcode != 5),
    ]

    def mysummary(self) -> str:
        return str(self.sprintf("%opcode%"))


class OpenVPNTCP(Packet):
    """OpenVPN over TCP: each message after a 2-byte length."""

    name = "OpenVPN over TCP"
    fields_desc: ClassVar[list[Any]] = [ShortField("plen", None)]

    def guess_payload_class(self, payload: bytes) -> type[Packet]:
        return OpenVPN


bind_layers(UDP, OpenVPN, dport=1194)
bind_layers(UDP, OpenVPN, sport=1194)
bind_layers(TCP, OpenVPNTCP, dport=1194)
bind_layers(TCP, OpenVPNTCP, sport=1194)
