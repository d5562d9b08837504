"""How much of tapwatch's text is tcpdump's: every packet of a set of captures printed by both.

``python bench/parity_bench.py [DIR ...]`` prints, for the committed corpus
(tests/corpus) and for each directory given, the share of packets whose text
(``--strict-tcpdump``: tcpdump's exact wording) is identical to ``tcpdump -nn``'s,
without ``-v``, with ``-v`` and with ``-vv``: over all packets, and over the
packets of the protocols the decoder claims (those it prints in full).  A packet
counts for the innermost protocol the decoder names.

A set of captures nobody here made is tcpdump's own test suite: ``apt-get source
tcpdump`` (with a deb-src line) unpacks ``tcpdump-4.99.3/tests``, several hundred
real and malformed captures of many link types.  The reference is the tcpdump
binary on this machine, run in the same script on the same files.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tapwatch import decode, pcap

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"

#: What the decoder prints in full (a packet of another protocol may print as tcpdump's only
#: by chance: ``UDP, length N`` where tcpdump names what the port carries).
CLAIMED = frozenset(
    (
        "ARP", "IPv4", "IPv6", "ICMP", "ICMPv6", "TCP", "UDP", "DNS", "DHCP", "DHCPv6", "HTTP",
        "RTSP", "FTP", "SMTP", "SSH", "BGP", "NTP", "Syslog", "SNMP", "RIP", "TFTP", "RADIUS",
        "ISAKMP", "Telnet", "GRE", "VXLAN", "Geneve", "L2TP", "MPLS", "ESP", "AH", "OSPF",
        "IGMP", "PIM", "VRRP", "BFD", "LDP", "BCM-LI", "WireGuard", "OpenVPN", "PPP", "PPPoE",
        "LCP", "IPCP", "IP6CP", "CHAP", "PAP", "CHDLC", "SLARP", "FR", "IPNET", "IPoIB",
        "PPTP", "VXLAN-GPE", "NSH", "LISP", "OpenFlow", "ARCNET", "DSA", "EDSA", "BRCM",
        "802.11", "EAPOL",
    )
)  # fmt: skip


def _tcpdump(path: Path, verbose: int) -> list[str] | None:
    flags = ["-" + "v" * verbose] if verbose else []
    try:
        out = subprocess.run(
            ["tcpdump", "-nn", *flags, "-r", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    packets: list[str] = []
    for line in out.splitlines():
        if len(line) > 15 and line[2] == ":" and line[5] == ":" and line[8] == ".":
            packets.append(line[16:])
        elif packets:
            packets[-1] += "\n" + line
    return packets


def _file(job: tuple[Path, int]) -> list[tuple[str, bool]]:
    """(innermost protocol, identical) per packet; nothing when the file cannot be compared."""
    path, verbose = job
    theirs = _tcpdump(path, verbose)
    if theirs is None:
        return []
    try:
        with pcap.read_capture(str(path)) as reader:
            lt = reader.linktype
            fmt = decode.LineFormatter(lt, strict=True, verbose=verbose)
            rows = [(rec.data, fmt.line(rec.ts_ns, rec.data, rec.orig_len)[16:]) for rec in reader]
    except Exception:  # a file tapwatch refuses is left out (tcpdump may refuse it too)
        return []
    if len(rows) != len(theirs):
        return []
    out = []
    for (data, ours), their in zip(rows, theirs, strict=True):
        lay = decode.layers(data, lt)
        proto = next((x for x in reversed(lay) if x not in ("other", "Ethernet")), "other")
        out.append((proto, ours == their))
    return out


def measure(paths: list[Path], verbose: int) -> tuple[int, int, int, int, dict[str, list[int]]]:
    """(identical, total, claimed identical, claimed total, per protocol [identical, total])."""
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    with ProcessPoolExecutor(2) as pool:
        for rows in pool.map(_file, [(p, verbose) for p in paths]):
            for proto, same in rows:
                per[proto][1] += 1
                per[proto][0] += same
    same = sum(s for s, _t in per.values())
    total = sum(t for _s, t in per.values())
    csame = sum(s for p, (s, _t) in per.items() if p in CLAIMED)
    ctotal = sum(t for p, (_s, t) in per.items() if p in CLAIMED)
    return same, total, csame, ctotal, dict(per)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "-"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="*", type=Path, help="more directories of captures")
    p.add_argument("--protocols", action="store_true", help="per-protocol figures too")
    a = p.parse_args()
    sets = [("committed corpus", sorted(CORPUS.glob("*.pcap")))]
    for d in a.dirs:
        sets.append((str(d), sorted([*d.glob("*.pcap"), *d.glob("*.pcapng")])))
    print("| captures | files | mode | all packets identical | claimed protocols identical |")
    print("| --- | --- | --- | --- | --- |")
    for name, paths in sets:
        for verbose in (0, 1, 2):
            same, total, csame, ctotal, per = measure(paths, verbose)
            mode = ("default", "-v", "-vv")[verbose]
            print(
                f"| {name} | {len(paths)} | {mode} | {_pct(same, total)} | {_pct(csame, ctotal)} |"
            )
            if a.protocols:
                for proto, (s, t) in sorted(per.items(), key=lambda x: -x[1][1]):
                    print(f"|  | | {proto} | {_pct(s, t)} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
