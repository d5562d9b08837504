"""ISAKMP/IKE's numbers as tcpdump 4.99 names them (exchanges, payloads, Oakley and IPsec
attributes, notifications): the tables isakmp.py prints from, kept apart from the payload walk.
"""

from __future__ import annotations

from typing import Final

IKE1_EXCHANGES: Final = {
    0: "none",
    1: "base",
    2: "ident",
    3: "auth",
    4: "agg",
    5: "inf",
    32: "oakley-quick",
    33: "oakley-newgroup",
}
IKE2_EXCHANGES: Final = {34: "ikev2_init", 35: "ikev2_auth", 36: "child_sa", 37: "inf2"}

#: payload names by next-payload number (tcpdump's ``npstr``)
NP: Final = (
    *("none", "sa", "p", "t", "ke", "id", "cert", "cr", "hash", "sig", "nonce", "n", "d", "vid"),
    *(f"pay{i}" for i in range(14, 33)),
    *("v2sa", "v2ke", "v2IDi", "v2IDr", "v2cert", "v2cr", "v2auth", "v2nonce", "v2n", "v2d"),
    *("v2vid", "v2TSi", "v2TSr", "v2e", "v2cp", "v2eap"),
)
PROTO_IDS: Final = ("", "isakmp", "ipsec-ah", "ipsec-esp", "ipcomp")
GROUPS: Final = (
    "",
    "modp768",
    "modp1024",
    "EC2N 2^155",
    "EC2N 2^185",
    "modp1536",
    "iana-grp06",
    "iana-grp07",
    "iana-grp08",
    "iana-grp09",
    "iana-grp10",
    "iana-grp11",
    "iana-grp12",
    "iana-grp13",
    "modp2048",
    "modp3072",
    "modp4096",
    "modp6144",
)  # tcpdump's table says 18 values: modp8192 (18) prints as its number
#: attribute names and value names by attribute type: (name, values)
#: one attribute table: (name, value words) by attribute type
AttrMap = tuple[tuple[str, tuple[str, ...]], ...]
OAKLEY: Final[AttrMap] = (
    ("", ()),
    ("enc", ("", "1des", "idea", "blowfish", "rc5", "3des", "cast", "aes")),
    ("hash", ("", "md5", "sha1", "tiger", "sha2-256", "sha2-384", "sha2-512")),
    ("auth", ("", "preshared", "dss", "rsa sig", "rsa enc", "rsa enc revised")),
    ("group desc", GROUPS),
    ("group type", ("", "MODP", "ECP", "EC2N")),
    ("group prime", ()),
    ("group gen1", ()),
    ("group gen2", ()),
    ("group curve A", ()),
    ("group curve B", ()),
    ("lifetype", ("", "sec", "kb")),
    ("lifeduration", ()),
    ("prf", ()),
    ("keylen", ()),
    ("field", ()),
    ("order", ()),
)
IPSEC: Final[AttrMap] = (
    ("", ()),
    ("lifetype", ("", "sec", "kb")),
    ("life", ()),
    ("group desc", GROUPS),
    ("enc mode", ("", "tunnel", "transport")),
    ("auth", ("", "hmac-md5", "hmac-sha1", "1des-mac", "keyed")),
    ("keylen", ()),
    ("rounds", ()),
    ("dictsize", ()),
    ("privalg", ()),
)
#: transform ids by protocol id: (names, attribute map)
TRANSFORMS: Final[dict[int, tuple[tuple[str, ...], AttrMap]]] = {
    1: (("", "ike"), OAKLEY),
    2: (("", "(reserved)", "md5", "sha", "1des", "sha2-256", "sha2-384", "sha2-512"), IPSEC),
    3: (
        (
            "",
            "1des-iv64",
            "1des",
            "3des",
            "rc5",
            "idea",
            "cast",
            "blowfish",
            "3idea",
            "1des-iv32",
            "rc4",
            "null",
            "aes",
        ),
        IPSEC,
    ),
    4: (("", "oui", "deflate", "lzs"), IPSEC),
}
ID_TYPES: Final = (
    "",
    "IPv4",
    "FQDN",
    "user FQDN",
    "IPv4net",
    "IPv6",
    "IPv6net",
    "IPv4range",
    "IPv6range",
    "ASN1 DN",
    "ASN1 GN",
    "keyid",
)
CERT_TYPES: Final = (
    "none",
    "pkcs7",
    "pgp",
    "dns",
    "x509sign",
    "x509ke",
    "kerberos",
    "crl",
    "arl",
    "spki",
    "x509attr",
)
NOTIFY_ERRORS: Final = (
    "",
    "INVALID-PAYLOAD-TYPE",
    "DOI-NOT-SUPPORTED",
    "SITUATION-NOT-SUPPORTED",
    "INVALID-COOKIE",
    "INVALID-MAJOR-VERSION",
    "INVALID-MINOR-VERSION",
    "INVALID-EXCHANGE-TYPE",
    "INVALID-FLAGS",
    "INVALID-MESSAGE-ID",
    "INVALID-PROTOCOL-ID",
    "INVALID-SPI",
    "INVALID-TRANSFORM-ID",
    "ATTRIBUTES-NOT-SUPPORTED",
    "NO-PROPOSAL-CHOSEN",
    "BAD-PROPOSAL-SYNTAX",
    "PAYLOAD-MALFORMED",
    "INVALID-KEY-INFORMATION",
    "INVALID-ID-INFORMATION",
    "INVALID-CERT-ENCODING",
    "INVALID-CERTIFICATE",
    "CERT-TYPE-UNSUPPORTED",
    "INVALID-CERT-AUTHORITY",
    "INVALID-HASH-INFORMATION",
    "AUTHENTICATION-FAILED",
    "INVALID-SIGNATURE",
    "ADDRESS-NOTIFICATION",
    "NOTIFY-SA-LIFETIME",
    "CERTIFICATE-UNAVAILABLE",
    "UNSUPPORTED-EXCHANGE-TYPE",
    "UNEQUAL-PAYLOAD-LENGTHS",
)
IPSEC_STATUS: Final = ("RESPONDER-LIFETIME", "REPLAY-STATUS", "INITIAL-CONTACT")
