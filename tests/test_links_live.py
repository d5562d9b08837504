"""Inner and outer linked on real tunnels, in private namespaces: the kernel's VXLAN (exact
links) and wireguard-go (inferred), tapwatch observing the tunnel's interface and the veth
under it with ``--tunnel-stats``, tcpdump beside it as the reference for the outer packets."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from netns import TAPWATCH, Netns, link_pair, needs_netns, netns
from test_live import stop

pytestmark = [needs_netns, pytest.mark.netns]


@pytest.fixture
def pair() -> Iterator[tuple[Netns, Netns]]:
    with netns("twa") as a, netns("twb") as b:
        link_pair(a, b, "10.200.0.1/24", "10.200.0.2/24")
        yield a, b


def observe(ns: Netns, *ifaces: str) -> subprocess.Popen[str]:
    args = [*TAPWATCH, "--headless", "--tunnel-stats", "-nn"]
    for name in ifaces:
        args += ["--observe", name]
    proc = ns.popen(args)
    for name in ifaces:
        ns.wait_capturing(name)
    return proc


def tcpdump(ns: Netns, dev: str, expr: str) -> subprocess.Popen[str]:
    proc = ns.popen(["tcpdump", "-i", dev, "-nn", "-l", *expr.split()])
    before = time.monotonic()
    while ns.packet_sockets(dev) < 2 and time.monotonic() - before < 15:  # ours and its
        time.sleep(0.05)
    return proc


def direction(err: str, label: str) -> tuple[int, int]:
    m = re.search(rf"^tapwatch:   {label}: (\d+) outer, (\d+) linked", err, re.M)
    assert m, err
    return int(m.group(1)), int(m.group(2))


def wait_stats(proc: subprocess.Popen[str]) -> str:
    _out, err = stop(proc)
    assert proc.returncode == 0, err
    return err


@pytest.mark.parametrize("veth_mtu", [1500, 1000])
def test_vxlan_between_two_namespaces_links_exactly(
    pair: tuple[Netns, Netns], veth_mtu: int
) -> None:
    """The kernel's VXLAN; with veth0's MTU at 1000 under vx0's 1450 outer datagrams
    leave in IP fragments, reassembled before they are linked."""
    a, b = pair
    for ns in pair:
        ns.run(["ip", "link", "set", "veth0", "mtu", str(veth_mtu)], check=True)
    for ns, me, peer, addr in (
        (a, "10.200.0.1", "10.200.0.2", "10.9.0.1/24"),
        (b, "10.200.0.2", "10.200.0.1", "10.9.0.2/24"),
    ):
        ns.run(
            [
                "ip",
                "link",
                "add",
                "vx0",
                "mtu",  # over a veth0 of a smaller MTU, the outer datagrams are cut
                "1450",
                "type",
                "vxlan",
                "id",
                "42",
                "remote",
                peer,
                "local",
                me,
                "dstport",
                "4789",
                # no "dev veth0": that would cap vx0's MTU at veth0's less 50
            ],
            check=True,
        )
        # no IPv6 on vx0: its neighbour discovery would cross at moments of its own, between
        # the starts of tapwatch and tcpdump
        ns.run(["sysctl", "-qw", "net.ipv6.conf.vx0.disable_ipv6=1"], check=True)
        ns.run(["ip", "addr", "add", addr, "dev", "vx0"], check=True)
        ns.run(["ip", "link", "set", "vx0", "up"], check=True)
    tw = observe(a, "vx0", "veth0")
    fragmented = veth_mtu < 1450
    # tcpdump's filter: every fragment of the tunnel's datagrams (only the first has the port)
    td = tcpdump(a, "veth0", "udp port 4789 or (ip[6:2] & 0x3fff != 0)")
    size = ["-s", "1200"] if fragmented else []
    try:
        done = a.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", *size, "10.9.0.2"])
        assert " 0% packet loss" in done.stdout, done.stdout
    finally:
        err = wait_stats(tw)
        tdout, _ = stop(td)
    assert "tunnel VXLAN 10.200.0.1 <> 10.200.0.2 vni 42 on veth0 (inside: vx0; links exact)" in err
    out_outer, out_linked = direction(err, "Out")
    in_outer, in_linked = direction(err, "In")
    seen = sum(1 for ln in tdout.splitlines() if "VXLAN" in ln)
    assert out_outer + in_outer == seen  # every outer packet tcpdump saw, and no other
    assert out_linked == out_outer and in_linked == in_outer  # each carried frame found
    assert out_outer >= 5 and in_outer >= 5  # the pings (and ARP) both ways
    assert re.search(r"Out: .*overhead 50\.0 B \(50-50\)", err)
    assert "lost inside 0" in err and "lost inside 1" not in err
    if fragmented:
        # tcpdump: the first ping's datagrams leave in two pieces, the second without ports
        # (the kernel then lowers vx0's path MTU and cuts the inner packets instead, each
        # piece in a datagram of its own); tapwatch counts a datagram once, whole
        assert sum("ip-proto-17" in ln for ln in tdout.splitlines()) >= 2, tdout
        assert re.search(r"Out: .*over MTU [1-9]", err), err
        assert re.search(r"In: .*over MTU [1-9]", err), err


def _wg(
    ns: Netns, name: str, key: str, peer_pub: str, peer: str, inside: str, allowed: str
) -> subprocess.Popen[str]:
    daemon = ns.popen(
        ["wireguard-go", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert ns.wait_link(name), f"wireguard-go made no {name}"
    ns.run(
        [
            "wg",
            "set",
            name,
            "private-key",
            key,
            "listen-port",
            "51820",
            "peer",
            peer_pub,
            "endpoint",
            f"{peer}:51820",
            "allowed-ips",
            allowed,
        ],
        check=True,
    )
    ns.run(["ip", "addr", "add", inside, "dev", name], check=True)
    ns.run(["ip", "link", "set", name, "up"], check=True)
    return daemon


@pytest.mark.skipif(
    shutil.which("wireguard-go") is None or shutil.which("wg") is None,
    reason="needs wireguard-go and wireguard-tools",
)
@pytest.mark.parametrize("veth_mtu", [1500, 1000])
def test_wireguard_go_links_are_inferred(
    pair: tuple[Netns, Netns], tmp_path, veth_mtu: int
) -> None:  # type: ignore[no-untyped-def]
    """wireguard-go between two namespaces; with veth0's MTU at 1000 under the wg device's
    1420, 1,300-byte pings leave in two IP fragments (reassembled before linking)."""
    a, b = pair
    for ns in pair:
        ns.run(["ip", "link", "set", "veth0", "mtu", str(veth_mtu)], check=True)
    size = "1300" if veth_mtu < 1420 else "300"
    tag = uuid.uuid4().hex[:6]  # the control sockets live in one directory for every namespace
    names = (f"wga{tag}", f"wgb{tag}")
    keys = []
    for n in range(2):
        priv = subprocess.run(
            ["wg", "genkey"], capture_output=True, text=True, check=True
        ).stdout.strip()
        pub = subprocess.run(
            ["wg", "pubkey"], input=priv, capture_output=True, text=True, check=True
        ).stdout.strip()
        path = tmp_path / f"key{n}"
        path.write_text(priv + "\n")
        path.chmod(0o600)
        keys.append((str(path), pub))
    daemons = [
        _wg(a, names[0], keys[0][0], keys[1][1], "10.200.0.2", "10.9.0.1/24", "10.9.0.2/32"),
        _wg(b, names[1], keys[1][0], keys[0][1], "10.200.0.1", "10.9.0.2/24", "10.9.0.1/32"),
    ]
    try:
        tw = observe(a, names[0], "veth0")
        td = tcpdump(a, "veth0", "udp port 51820")
        try:
            done = a.run(["ping", "-c", "5", "-i", "0.2", "-W", "3", "-s", size, "10.9.0.2"])
            assert " 0% packet loss" in done.stdout, done.stdout
        finally:
            err = wait_stats(tw)
            tdout, _ = stop(td)
    finally:
        for d in daemons:
            d.terminate()
            d.wait(timeout=10)
    tunnel = "tunnel WireGuard 10.200.0.1:51820 <> 10.200.0.2:51820 on veth0"
    assert f"{tunnel} (inside: {names[0]}; links inferred)" in err
    out_outer, out_linked = direction(err, "Out")
    in_outer, in_linked = direction(err, "In")
    assert out_outer + in_outer == sum(1 for ln in tdout.splitlines() if " UDP, length" in ln)
    assert out_linked == 5 and in_linked == 5  # every echo request and reply; handshakes not
    if veth_mtu < 1420:  # tcpdump's filter sees the first pieces (the ports): one a datagram
        assert re.search(r"Out: .*over MTU 5\b", err) and re.search(r"In: .*over MTU 5\b", err)
    assert "handshakes 2" in err  # initiation and response
    assert re.search(r"Out: .*counter gaps 0 \(0 missing\), replays 0", err)


def _certs(tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A CA and the two ends' certificates and keys (EC, a day), made in the test's tmp dir."""

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=ca", "-days", "1")
    for end in ("server", "client"):
        ssl("req", *ec, "-keyout", f"{end}.key", "-out", f"{end}.csr", "-subj", f"/CN={end}")
        ssl(
            "x509", "-req", "-in", f"{end}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{end}.crt", "-days", "1",
        )  # fmt: skip
    return {name: str(tmp_path / name) for name in ("ca.crt",)}


def _openvpn(ns: Netns, tmp_path, end: str, proto: str, *args: str):  # type: ignore[no-untyped-def]
    log = tmp_path / f"{end}.log"
    common = [
        "openvpn", "--dev", "tun0", "--dev-type", "tun", "--disable-dco", "--dh", "none",
        "--ca", str(tmp_path / "ca.crt"), "--cert", str(tmp_path / f"{end}.crt"),
        "--key", str(tmp_path / f"{end}.key"), f"--tls-{end}", "--ping", "0", "--verb", "3",
        "--proto", proto,
    ]  # fmt: skip
    with log.open("w") as f:
        proc = ns.popen([*common, *args], stdout=f, stderr=subprocess.STDOUT)
    return proc, log


@pytest.mark.skipif(
    shutil.which("openvpn") is None or shutil.which("openssl") is None,
    reason="needs openvpn and openssl (for the certificates)",
)
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_openvpn_links_are_inferred(pair: tuple[Netns, Netns], tmp_path, proto: str) -> None:  # type: ignore[no-untyped-def]
    """OpenVPN 2.6 with TLS (certificates made here) between two namespaces, over UDP and
    over TCP (a stream of length-prefixed packets): each ping's inner packets on tun0 are
    linked to the outer packets on veth0, and the outer counts are tcpdump's."""
    from waiting import wait_for

    a, b = pair
    _certs(tmp_path)
    if proto == "udp":
        srv = ("udp", "--local", "10.200.0.1", "--lport", "1194", "--remote", "10.200.0.2")
        cli = ("udp", "--local", "10.200.0.2", "--lport", "1194", "--remote", "10.200.0.1")
    else:
        srv = ("tcp-server", "--local", "10.200.0.1", "--lport", "1194")
        cli = ("tcp-client", "--remote", "10.200.0.1", "1194")
    for ns in pair:  # no IPv6 on tun0: its router solicitations would cross at any moment
        for scope in ("all", "default"):
            ns.run(["sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1"], check=True)
    procs = []
    try:
        server, slog = _openvpn(a, tmp_path, "server", *srv, "--ifconfig", "10.9.0.1", "10.9.0.2")
        procs.append(server)
        client, clog = _openvpn(b, tmp_path, "client", *cli, "--ifconfig", "10.9.0.2", "10.9.0.1")
        procs.append(client)
        for log in (slog, clog):
            assert wait_for(
                lambda log=log: "Initialization Sequence Completed" in log.read_text(), 60
            ), log.read_text()
        tw = observe(a, "tun0", "veth0")
        td = tcpdump(a, "veth0", f"{'udp' if proto == 'udp' else 'tcp'} port 1194")
        ti = tcpdump(a, "tun0", "icmp")
        try:
            done = a.run(["ping", "-c", "5", "-i", "0.2", "-W", "3", "-s", "300", "10.9.0.2"])
            assert " 0% packet loss" in done.stdout, done.stdout
        finally:
            err = wait_stats(tw)
            tdout, _ = stop(td)
            tiout, _ = stop(ti)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
    over = " over TCP" if proto == "tcp" else ""
    assert "tunnel OpenVPN 10.200.0.1:1194 <> 10.200.0.2:" in err, err
    assert f"{over} on veth0 (inside: tun0; links inferred)" in err, err
    out_outer, out_linked = direction(err, "Out")
    in_outer, in_linked = direction(err, "In")
    carried = [ln for ln in tdout.splitlines() if re.search(r", length [1-9]\d*$", ln)]
    assert out_outer + in_outer == len(carried), tdout  # one OpenVPN packet each (no ACKs)
    assert (
        sum(" ICMP echo " in ln for ln in tiout.splitlines()) == 10
    )  # the echo requests and replies inside
    assert out_linked == 5 and in_linked == 5, err  # each linked to its outer packet
    assert re.search(r"Out: .*overhead .*packet-id gaps 0 \(0 missing\), replays 0", err)


def test_tapwatchs_own_tunnel_end_links_exactly(pair: tuple[Netns, Netns]) -> None:
    """tapwatch as the tunnel's server (its tun0 and the stream it writes) with veth0
    observed: every ping's frame is linked exactly to the segment that carried it; the
    simpletun-style client writes each frame in two segments (length, then frame), as
    tcpdump beside it sees."""
    from test_tunnel import A_IN, B_IN, peer_process, wait_connected, wait_listening

    a, b = pair
    for ns in pair:  # no IPv6 on the tuns: their router solicitations would cross any time
        ns.run(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"], check=True)
    args = [*TAPWATCH, "--create", "tun0", "--addr", f"{A_IN}/24", "--tunnel-listen", "55555"]
    tw = a.popen([*args, "--observe", "veth0", "--headless", "--tunnel-stats", "-nn"])
    client = td = None
    try:
        a.wait_capturing("veth0")
        wait_listening(a)
        client = peer_process(b, ["--connect", "10.200.0.1:55555", "--split"], "tun0", f"{B_IN}/24")
        wait_connected(a)
        td = tcpdump(a, "veth0", "tcp port 55555")
        done = a.run(["ping", "-c", "5", "-i", "0.2", "-W", "3", B_IN])
        assert " 0% packet loss" in done.stdout, done.stdout
    finally:
        err = wait_stats(tw)
        tdout, _ = stop(td) if td is not None else ("", "")
        if client is not None:
            client.kill()
            client.wait()
    assert "tunnel simpletun 10.200.0.1:55555 <> 10.200.0.2:" in err, err
    assert "on veth0 (inside: tun0; links exact)" in err, err
    out_outer, out_linked = direction(err, "Out")
    in_outer, in_linked = direction(err, "In")
    carrying = [ln for ln in tdout.splitlines() if re.search(r", length [1-9]\d*$", ln)]
    sent = [ln for ln in carrying if " 10.200.0.1.55555 > " in ln]
    assert out_outer == out_linked == len(sent) == 5, (err, tdout)  # one segment a frame
    assert in_outer == in_linked == 5, err  # a frame in two segments: linked once, whole
    assert len(carrying) - len(sent) == 10, tdout


def _vx0(ns: Netns, me: str, peer: str, addr: str) -> None:
    """A VXLAN link vx0 (MTU 1450, vni 42) from ``me`` to ``peer``, addressed and up."""
    ns.run(
        ["ip", "link", "add", "vx0", "mtu", "1450", "type", "vxlan", "id", "42", "remote", peer,
         "local", me, "dstport", "4789"],
        check=True,
    )  # fmt: skip
    ns.run(["sysctl", "-qw", "net.ipv6.conf.vx0.disable_ipv6=1"], check=True)
    ns.run(["ip", "addr", "add", addr, "dev", "vx0"], check=True)
    ns.run(["ip", "link", "set", "vx0", "up"], check=True)


def _over_mtu(err: str, label: str) -> int:
    m = re.search(rf"^tapwatch:   {label}: .*over MTU (\d+)", err, re.M)
    assert m, err
    return int(m.group(1))


def test_over_mtu_follows_an_mtu_change_mid_capture(pair: tuple[Netns, Netns], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """veth0 under vx0 at 1500, then lowered to 1000 with ``ip link set`` while tapwatch runs:
    the 1,278-byte outer datagrams of 1,200-byte pings fit before, not after (they leave in
    IP fragments, reassembled and counted once); tcpdump beside it sees the pieces."""
    from waiting import wait_for

    a, b = pair
    _vx0(a, "10.200.0.1", "10.200.0.2", "10.9.0.1/24")
    _vx0(b, "10.200.0.2", "10.200.0.1", "10.9.0.2/24")
    out = tmp_path / "tw.txt"
    tw = a.popen(
        [*TAPWATCH, "--headless", "--tunnel-stats", "-nn", "-l", "--observe", "vx0",
         "--observe", "veth0"],
        stdout=out.open("w"),
    )  # fmt: skip
    a.wait_capturing("vx0")
    a.wait_capturing("veth0")
    td = tcpdump(a, "veth0", "udp port 4789 or (ip[6:2] & 0x3fff != 0)")
    try:
        done = a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1200", "10.9.0.2"])
        assert " 0% packet loss" in done.stdout, done.stdout
        for ns in (b, a):
            ns.run(["ip", "link", "set", "veth0", "mtu", "1000"], check=True)
        # the change is an interface event of tapwatch's: its stamp is where the MTU changes
        assert wait_for(lambda: "event veth0: mtu 1500 -> 1000" in out.read_text()), out.read_text()
        done = a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1200", "10.9.0.2"])
        assert " 0% packet loss" in done.stdout, done.stdout
    finally:
        err = wait_stats(tw)
        tdout, _ = stop(td)
    # tcpdump: datagrams in pieces after the change only (the one without ports: a last piece)
    assert sum("ip-proto-17" in ln for ln in tdout.splitlines()) >= 1, tdout
    # the three pings before the change fit 1500 and count for nothing; after it, the first
    # datagram each way went over 1000 (the kernel then lowers vx0's path MTU and cuts the
    # inner packets instead, each piece a datagram of its own that fits)
    assert 1 <= _over_mtu(err, "Out") < 3, err
    assert 1 <= _over_mtu(err, "In") < 3, err


def test_any_gives_a_link_made_later_its_mtu(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """-i any started before veth0 (made with MTU 1000) and vx0 exist: the links it meets
    later have their MTU from their announcement, and the over-MTU count uses it."""
    from waiting import wait_for

    with netns("twa") as a, netns("twb") as b:
        out = tmp_path / "tw.txt"
        tw = a.popen(
            [*TAPWATCH, "--headless", "--tunnel-stats", "-nn", "-l", "-i", "any"],
            stdout=out.open("w"),
        )
        a.wait_capturing("lo")
        try:
            a.run(["ip", "link", "add", "veth0", "mtu", "1000", "type", "veth", "peer", "name",
                   "veth0p", "mtu", "1000"], check=True)  # fmt: skip
            a.run(["ip", "link", "set", "veth0p", "netns", b.name], check=True)
            b.run(["ip", "link", "set", "veth0p", "name", "veth0"], check=True)
            for ns, addr in ((a, "10.200.0.1/24"), (b, "10.200.0.2/24")):
                ns.run(["ip", "addr", "add", addr, "dev", "veth0"], check=True)
                ns.run(["ip", "link", "set", "veth0", "up"], check=True)
            _vx0(a, "10.200.0.1", "10.200.0.2", "10.9.0.1/24")
            _vx0(b, "10.200.0.2", "10.200.0.1", "10.9.0.2/24")
            assert wait_for(lambda: "event vx0: link up" in out.read_text()), out.read_text()
            done = a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1200", "10.9.0.2"])
            assert " 0% packet loss" in done.stdout, done.stdout
        finally:
            err = wait_stats(tw)
    assert "mtu 1500 -> " not in out.read_text()  # no change: the MTU it was made with
    assert "(inside: vx0; links exact)" in err, err
    assert _over_mtu(err, "Out") >= 1 and _over_mtu(err, "In") >= 1, err


@pytest.mark.skipif(shutil.which("openvpn") is None, reason="needs openvpn")
@pytest.mark.parametrize(
    "crypto", [("--cipher", "AES-256-CBC"), ("--cipher", "none", "--auth", "none")]
)
def test_openvpn_static_key_links_are_inferred(
    pair: tuple[Netns, Netns], tmp_path, crypto: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    """OpenVPN 2.6 in static-key mode (--secret) between two namespaces: its packets have no
    opcode (they begin with the HMAC, or the packet-id without one), so tapwatch tells the
    mode from the first bytes and takes every packet as data; pings of several sizes (the
    CBC padding varies with them) are each linked, and the outer counts are tcpdump's."""
    from waiting import wait_for

    a, b = pair
    key = tmp_path / "static.key"
    subprocess.run(["openvpn", "--genkey", "secret", str(key)], check=True, capture_output=True)
    for ns in pair:  # no IPv6 on tun0: its router solicitations would cross at any moment
        for scope in ("all", "default"):
            ns.run(["sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1"], check=True)
    procs, logs = [], []
    try:
        for ns, me, peer, local, remote in (
            (a, "10.200.0.1", "10.200.0.2", "10.9.0.1", "10.9.0.2"),
            (b, "10.200.0.2", "10.200.0.1", "10.9.0.2", "10.9.0.1"),
        ):
            log = tmp_path / f"{ns.name}.log"
            logs.append(log)
            with log.open("w") as f:
                procs.append(
                    ns.popen(
                        ["openvpn", "--dev", "tun0", "--dev-type", "tun", "--disable-dco",
                         "--secret", str(key), *crypto, "--proto", "udp", "--local", me,
                         "--lport", "1194", "--remote", peer, "--rport", "1194",
                         "--ifconfig", local, remote, "--ping", "0", "--verb", "3"],
                        stdout=f,
                        stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
        for log in logs:
            assert wait_for(
                lambda log=log: "Initialization Sequence Completed" in log.read_text(), 60
            ), log.read_text()
        tw = observe(a, "tun0", "veth0")
        td = tcpdump(a, "veth0", "udp port 1194")
        try:
            for size in ("100", "301", "1000", "57"):
                done = a.run(["ping", "-c", "2", "-i", "0.2", "-W", "3", "-s", size, "10.9.0.2"])
                assert " 0% packet loss" in done.stdout, done.stdout
        finally:
            err = wait_stats(tw)
            tdout, _ = stop(td)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
    assert "tunnel OpenVPN 10.200.0.1:1194 <> 10.200.0.2:1194 static key on veth0" in err, err
    assert "(inside: tun0; links inferred)" in err, err
    out_outer, out_linked = direction(err, "Out")
    in_outer, in_linked = direction(err, "In")
    assert out_outer + in_outer == sum(" UDP, length" in ln for ln in tdout.splitlines()), tdout
    assert out_linked == 8 and in_linked == 8, err  # every echo request and reply
    assert "lost inside 0" in err and "lost inside 1" not in err, err
    assert "packet-id gaps" not in err  # encrypted (or absent): never read from the HMAC
