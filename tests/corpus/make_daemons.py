"""Regenerate the corpus files that real daemons write.

``sudo .venv/bin/python tests/corpus/make_daemons.py [NAME...]``

Each scenario makes its own private network namespaces joined by veth pairs, runs
the real programs from Debian inside them (never on the host's network), captures
on one end of a veth with tcpdump, and deletes the namespaces afterwards:

* ``routing.pcap``: FRR's ospfd (MD5), ospf6d, bgpd (IPv4 and IPv6 sessions with BFD),
  bfdd, pimd (IGMP querier, PIM hellos) and ldpd between two routers on a bridge, and
  IGMP v1/v2/v3 reports from the kernel of a host on the same LAN.
* ``vrrp.pcap``: keepalived (VRRPv2 with a password, VRRPv3 over IPv4 and IPv6).
* ``vpn.pcap``: wireguard-go and OpenVPN (UDP and TCP) tunnels, pinged through.
* ``ike.pcap``: strongSwan's charon negotiating IKEv1 (main and quick mode).
* ``ntp.pcap``: chrony as server and client.
* ``snaplen.pcap``: OpenSSH, dnsmasq and HTTP captured with a snapshot length of 96.
* ``mptcp.pcap``: a multipath TCP connection from the kernel's own MPTCP over two paths
  (captured on ``any``: Linux cooked frames).

Packages: frr keepalived wireguard-go wireguard-tools openvpn chrony strongswan-charon
strongswan-swanctl openssh-server dnsmasq-base (Debian).  The kernel here has no PPP driver
(pppd cannot run): PPP is built from the RFCs instead (``ppp.py``).  Nothing here runs in
CI: CI reads the files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sh(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        raise SystemExit(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


class Lab:
    """Namespaces, the processes started in them, and the capture; all undone by ``close``."""

    def __init__(self, tmp: Path) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.tmp = tmp
        self.spaces: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def space(self, short: str) -> str:
        name = f"twd-{short}-{self.tag}"
        sh("ip", "netns", "add", name)
        self.spaces.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")
        return name

    def run(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", name, *args, check=check)

    def start(self, name: str, *args: str, log: str = "") -> subprocess.Popen[bytes]:
        out = open(self.tmp / log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        p = subprocess.Popen(
            ["ip", "netns", "exec", name, *args], stdout=out, stderr=subprocess.STDOUT
        )
        self.procs.append(p)
        return p

    def veth(self, a: str, adev: str, b: str, bdev: str, amac: str, bmac: str) -> None:
        sh(
            "ip", "link", "add", adev, "netns", a, "address", amac, "type", "veth",
            "peer", "name", bdev, "netns", b, "address", bmac,
        )  # fmt: skip
        self.run(a, "ip", "link", "set", adev, "up")
        self.run(b, "ip", "link", "set", bdev, "up")

    def addr(self, name: str, dev: str, *cidrs: str) -> None:
        for c in cidrs:
            extra = ("nodad",) if ":" in c else ()
            self.run(name, "ip", "addr", "add", c, "dev", dev, *extra)

    def capture(self, name: str, dev: str, path: Path, *filt: str) -> subprocess.Popen[bytes]:
        """tcpdump on ``dev`` (started and hooked in before returning)."""
        p = self.start(name, "tcpdump", "-i", dev, "-U", "-s", "0", "-w", str(path), *filt)
        wait(lambda: path.exists() and path.stat().st_size >= 24, 10)
        time.sleep(0.3)
        return p

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def close(self) -> None:
        for p in reversed(self.procs):
            self.stop(p)
        for name in self.spaces:
            # anything a daemon forked is still in the namespace: end it by its pid
            pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "del", name, check=False)


def wait(cond: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def lab() -> Iterator[Lab]:
    with tempfile.TemporaryDirectory(prefix="twd-") as tmp:
        os.chmod(tmp, 0o755)
        lb = Lab(Path(tmp))
        try:
            yield lb
        finally:
            lb.close()


# --------------------------------------------------------------------------- routing

FRR = Path("/usr/lib/frr")


def frr(lb: Lab, name: str, inst: str, confs: dict[str, str]) -> None:
    """zebra and the daemons named in ``confs`` (daemon -> its configuration), in ``name``."""
    run = lb.tmp / inst
    run.mkdir()
    shutil.chown(run, "frr", "frr")
    zsock = str(run / "zserv.api")
    for daemon in ("zebra", *confs):
        conf = run / f"{daemon}.conf"
        conf.write_text(confs.get(daemon, f"hostname {inst}\n"))
        shutil.chown(conf, "frr", "frr")
        lb.start(
            name,
            str(FRR / daemon),
            "-f", str(conf), "-i", str(run / f"{daemon}.pid"), "-z", zsock,
            "--vty_socket", str(run), "-A", "127.0.0.1", "-P", "0",
            log=f"{inst}-{daemon}.log",
        )  # fmt: skip
        if daemon == "zebra":
            wait(lambda: os.path.exists(zsock), 10)


def lan(lb: Lab, members: list[tuple[str, str, str]]) -> str:
    """A bridge in a namespace of its own, a veth to each member (namespace, device, MAC).

    The capture runs on the bridge, so it sees what every member says on the LAN.
    """
    sw = lb.space("sw")
    lb.run(sw, "ip", "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
    lb.run(sw, "ip", "link", "set", "br0", "up")
    for i, (name, dev, mac) in enumerate(members):
        lb.veth(name, dev, sw, f"p{i}", mac, f"02:00:00:00:ff:{i:02x}")
        lb.run(sw, "ip", "link", "set", f"p{i}", "master", "br0")
    lb.run(sw, "sysctl", "-qw", "net.ipv6.conf.br0.disable_ipv6=1")
    return sw


def routing(path: Path) -> None:
    with lab() as lb:
        a, b, h = lb.space("ra"), lb.space("rb"), lb.space("rh")
        sw = lan(
            lb,
            [
                (a, "a0", "02:00:00:00:01:01"),
                (b, "b0", "02:00:00:00:01:02"),
                (h, "h0", "02:00:00:00:01:03"),
            ],
        )
        lb.addr(a, "a0", "10.97.0.1/24", "fd97::1/64")
        lb.addr(b, "b0", "10.97.0.2/24", "fd97::2/64")
        lb.addr(h, "h0", "10.97.0.3/24")
        lb.addr(a, "lo", "10.200.1.1/32")
        lb.addr(b, "lo", "10.200.2.1/32")
        lb.run(h, "ip", "route", "add", "default", "via", "10.97.0.2")
        for n in (a, b):
            lb.run(n, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        cap = lb.capture(sw, "br0", path)
        for name, me, peer, peer6, asn, peer_asn, dev in (
            (a, "10.200.1.1", "10.97.0.2", "fd97::2", 65001, 65002, "a0"),
            (b, "10.200.2.1", "10.97.0.1", "fd97::1", 65002, 65001, "b0"),
        ):
            ospf_if = (
                f"interface {dev}\n ip ospf network point-to-point\n ip ospf hello-interval 2\n"
                f" ip ospf dead-interval 8\n ip ospf authentication message-digest\n"
                f" ip ospf message-digest-key 1 md5 corpus\n"
            )
            frr(
                lb,
                name,
                "a" if name == a else "b",
                {
                    "ospfd": f"hostname o\n{ospf_if}router ospf\n ospf router-id {me}\n"
                    f" network 10.97.0.0/24 area 0\n network {me}/32 area 0\n",
                    "ospf6d": f"hostname o6\ninterface {dev}\n ipv6 ospf6 area 0\n"
                    f" ipv6 ospf6 network point-to-point\n ipv6 ospf6 hello-interval 2\n"
                    f" ipv6 ospf6 dead-interval 8\nrouter ospf6\n ospf6 router-id {me}\n",
                    "bgpd": f"hostname g\nrouter bgp {asn}\n bgp router-id {me}\n"
                    f" no bgp ebgp-requires-policy\n timers bgp 3 9\n"
                    f" neighbor {peer} remote-as {peer_asn}\n neighbor {peer} timers connect 1\n"
                    f" neighbor {peer} bfd\n neighbor {peer6} remote-as {peer_asn}\n"
                    f" neighbor {peer6} timers connect 1\n neighbor {peer6} bfd\n"
                    f" address-family ipv4 unicast\n  network {me}/32\n"
                    f" exit-address-family\n address-family ipv6 unicast\n"
                    f"  neighbor {peer6} activate\n  network fd9{7 if name == a else 8}:1::/64\n"
                    f" exit-address-family\n",
                    "bfdd": f"hostname f\nbfd\n peer {peer}\n  transmit-interval 1000\n"
                    f"  receive-interval 1000\n peer {peer6}\n  transmit-interval 1000\n"
                    f"  receive-interval 1000\n",
                    "pimd": f"hostname p\ninterface lo\n ip pim\ninterface {dev}\n ip pim\n"
                    " ip pim hello 3\n ip igmp\n ip igmp query-interval 5\n"
                    "ip pim rp 10.200.1.1 224.0.0.0/4\n",
                    "ldpd": f"hostname l\nmpls ldp\n router-id {me}\n address-family ipv4\n"
                    f"  discovery transport-address {me}\n  interface {dev}\n",
                    "staticd": f"hostname s\nip route 10.200.{2 if name == a else 1}.1/32 {peer}\n",
                },
            )
        time.sleep(12)
        # a host on the LAN joins groups with IGMP v3, v2 and v1, then sends to one
        join = (
            "import socket, struct, sys, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for g in sys.argv[1:]:\n"
            "    m = struct.pack('4s4s', socket.inet_aton(g), socket.inet_aton('10.97.0.3'))\n"
            "    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, m)\n"
            "time.sleep(4)\n"
        )
        py = sys.executable
        for version, group in ((0, "239.1.1.1"), (2, "239.1.1.2"), (1, "239.1.1.3")):
            lb.run(h, "sysctl", "-qw", f"net.ipv4.conf.h0.force_igmp_version={version}")
            lb.run(h, py, "-c", join, group)
        send = (
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)\n"
            "for i in range(3): s.sendto(b'corpus', ('239.1.1.9', 5000))\n"
        )
        lb.run(h, py, "-c", send)
        time.sleep(4)
        lb.stop(cap)


KEEPALIVED = """global_defs {{
    router_id {name}
    script_user root
    enable_script_security
}}
vrrp_instance v2 {{
    state {state}
    interface {dev}
    virtual_router_id 51
    priority {prio}
    advert_int 1
    version 2
    authentication {{
        auth_type PASS
        auth_pass corpus
    }}
    virtual_ipaddress {{
        10.95.0.100/24
        10.95.0.101/24
    }}
}}
vrrp_instance v3 {{
    state {state}
    interface {dev}
    virtual_router_id 52
    priority {prio}
    advert_int 1
    version 3
    virtual_ipaddress {{
        10.95.0.102/24
    }}
}}
vrrp_instance v3six {{
    state {state}
    interface {dev}
    virtual_router_id 53
    priority {prio}
    advert_int 1
    version 3
    virtual_ipaddress {{
        fd95::100/64
    }}
}}
"""


def vrrp(path: Path) -> None:
    """keepalived on two routers: VRRPv2 (with a password), v3 over IPv4 and IPv6; the
    master stops and the backup takes over."""
    with lab() as lb:
        a, b = lb.space("va"), lb.space("vb")
        lb.veth(a, "a0", b, "b0", "02:00:00:00:02:01", "02:00:00:00:02:02")
        lb.addr(a, "a0", "10.95.0.1/24", "fd95::1/64")
        lb.addr(b, "b0", "10.95.0.2/24", "fd95::2/64")
        cap = lb.capture(b, "b0", path)
        procs = []
        for name, dev, state, prio in ((a, "a0", "MASTER", 200), (b, "b0", "BACKUP", 100)):
            conf = lb.tmp / f"{name}.conf"
            conf.write_text(KEEPALIVED.format(name=name, state=state, dev=dev, prio=prio))
            args = ["keepalived", "-n", "-l", "-P", "-f", str(conf), "-p"]
            args += [str(lb.tmp / f"{name}.pid"), "-r", str(lb.tmp / f"{name}.vrrp.pid")]
            procs.append(lb.start(name, *args, log=f"{name}-keepalived.log"))
        time.sleep(6)
        lb.stop(procs[0])  # the master says goodbye (priority 0); the backup takes over
        time.sleep(4)
        lb.stop(cap)


def _pki(tmp: Path) -> None:
    """A throwaway CA, server and client certificate for OpenVPN's TLS (openssl)."""

    def ssl(*args: str) -> None:
        sh("openssl", *args)

    ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(tmp / "ca.key"), "-out", str(tmp / "ca.crt"), "-days", "2",
        "-subj", "/CN=corpus-ca")  # fmt: skip
    for who in ("server", "client"):
        ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(tmp / f"{who}.key"), "-out", str(tmp / f"{who}.csr"),
            "-subj", f"/CN={who}")  # fmt: skip
        ext = tmp / f"{who}.ext"
        usage = "serverAuth" if who == "server" else "clientAuth"
        ext.write_text(f"extendedKeyUsage={usage}\nkeyUsage=digitalSignature,keyAgreement\n")
        ssl("x509", "-req", "-in", str(tmp / f"{who}.csr"), "-CA", str(tmp / "ca.crt"),
            "-CAkey", str(tmp / "ca.key"), "-CAcreateserial", "-out", str(tmp / f"{who}.crt"),
            "-days", "2", "-extfile", str(ext))  # fmt: skip


def vpn(path: Path) -> None:
    """wireguard-go and OpenVPN (UDP, then TCP) between two namespaces, pinged through; the
    capture is the underlay between them.  Pings of 1392 bytes fill a WireGuard packet."""
    with lab() as lb:
        a, b = lb.space("na"), lb.space("nb")
        lb.veth(a, "a0", b, "b0", "02:00:00:00:03:01", "02:00:00:00:03:02")
        lb.addr(a, "a0", "10.94.0.1/24")
        lb.addr(b, "b0", "10.94.0.2/24")
        cap = lb.capture(b, "b0", path, "not", "arp")
        keys = {}
        for n in (a, b):
            priv = sh("wg", "genkey").stdout.strip()
            pub = subprocess.run(
                ["wg", "pubkey"], input=priv, capture_output=True, text=True, check=True
            ).stdout.strip()
            keys[n] = (priv, pub)
        for n, me, peer, peer_ip in (
            (a, "10.93.0.1", b, "10.94.0.2"),
            (b, "10.93.0.2", a, "10.94.0.1"),
        ):
            # wireguard-go's control socket (/var/run/wireguard/NAME.sock) is on the shared
            # filesystem: a name of this run's own for each namespace
            dev = f"wc{'a' if n == a else 'b'}{lb.tag[:4]}"
            lb.start(n, "wireguard-go", "-f", dev, log=f"{n}-wg.log")
            wait(
                lambda n=n, dev=dev: (
                    lb.run(n, "ip", "link", "show", dev, check=False).returncode == 0
                ),
                10,
            )
            keyfile = lb.tmp / f"{n}.wgkey"
            keyfile.write_text(keys[n][0])
            lb.run(n, "wg", "set", dev, "private-key", str(keyfile), "listen-port", "51820",
                   "peer", keys[peer][1], "endpoint", f"{peer_ip}:51820",
                   "allowed-ips", "10.93.0.0/24")  # fmt: skip
            lb.addr(n, dev, f"{me}/24")
            lb.run(n, "ip", "link", "set", dev, "up")
        lb.run(b, "ping", "-c", "3", "-i", "0.2", "10.93.0.1", check=False)
        lb.run(b, "ping", "-c", "2", "-i", "0.2", "-s", "1392", "10.93.0.1", check=False)
        _pki(lb.tmp)
        t = lb.tmp
        for proto, port, net in (("udp", "1194", "10.92.0"), ("tcp", "1194", "10.91.0")):
            common = ["--dev", "tun", "--dev-type", "tun", "--proto", proto, "--port", port,
                      "--ca", str(t / "ca.crt"), "--verb", "3", "--data-ciphers", "AES-256-GCM",
                      "--ping", "1", "--topology", "subnet"]  # fmt: skip
            server = lb.start(a, "openvpn", *common, "--mode", "server", "--tls-server",
                              "--dh", "none", "--cert", str(t / "server.crt"),
                              "--key", str(t / "server.key"), "--server", f"{net}.0",
                              "255.255.255.0", "--local", "10.94.0.1",
                              log=f"ovpn-server-{proto}.log")  # fmt: skip
            time.sleep(1)
            proto_c = "tcp-client" if proto == "tcp" else "udp"
            common[5] = proto_c
            client = lb.start(b, "openvpn", *common, "--client", "--remote", "10.94.0.1",
                              "--cert", str(t / "client.crt"), "--key", str(t / "client.key"),
                              "--nobind", log=f"ovpn-client-{proto}.log")  # fmt: skip
            log = t / f"ovpn-client-{proto}.log"
            up = wait(
                lambda log=log: "Initialization Sequence Completed" in log.read_text("latin-1"),
                20,
            )
            if up:
                lb.run(b, "ping", "-c", "3", "-i", "0.3", f"{net}.1", check=False)
            lb.stop(client)
            lb.stop(server)
            time.sleep(0.5)
        time.sleep(0.5)
        lb.stop(cap)


MPTCP_SERVER = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.89.0.1", 8000))
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
total = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    total += len(b)
    c.sendall(b[:100])
c.close()
"""

MPTCP_CLIENT = r"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.connect(("10.89.0.1", 8000))
for i in range(20):
    s.sendall(b"m" * 3000)
    s.recv(100)
    time.sleep(0.1)
s.close()
time.sleep(1)
"""


def mptcp(path: Path) -> None:
    """The kernel's own multipath TCP: a client with two paths to a server (a second subflow
    joins on the second veth pair, its address announced), data both ways, then the close."""
    with lab() as lb:
        a, b = lb.space("ma"), lb.space("mb")
        lb.veth(a, "a0", b, "b0", "02:00:00:00:04:01", "02:00:00:00:04:02")
        lb.veth(a, "a1", b, "b1", "02:00:00:00:04:03", "02:00:00:00:04:04")
        lb.addr(a, "a0", "10.89.0.1/24")
        lb.addr(b, "b0", "10.89.0.2/24")
        lb.addr(a, "a1", "10.88.0.1/24")
        lb.addr(b, "b1", "10.88.0.2/24")
        for n in (a, b):
            lb.run(n, "sysctl", "-qw", "net.mptcp.enabled=1")
            lb.run(n, "ip", "mptcp", "limits", "set", "subflow", "2", "add_addr_accepted", "2")
        lb.run(a, "ip", "mptcp", "endpoint", "add", "10.88.0.1", "dev", "a1", "signal")
        lb.run(b, "ip", "mptcp", "endpoint", "add", "10.88.0.2", "dev", "b1", "subflow")
        cap = lb.capture(b, "any", path, "tcp")
        server = lb.start(a, sys.executable, "-c", MPTCP_SERVER, log="mptcp-server.log")
        time.sleep(0.5)
        lb.run(b, sys.executable, "-c", MPTCP_CLIENT, check=False)
        server.wait(10)
        time.sleep(0.5)
        lb.stop(cap)


DHCP_CLIENT = r"""
import socket, sys, time
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
dev, mac = sys.argv[1:3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((dev, 0))
s.settimeout(5)
chaddr = bytes.fromhex(mac.replace(":", ""))
def frame(opts):
    return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
                 / UDP(sport=68, dport=67) / BOOTP(chaddr=chaddr, xid=0x5EED, flags=0x8000)
                 / DHCP(options=opts + ["end"]))
s.send(frame([("message-type", "discover"), ("hostname", "snaplen-client")]))
end = time.monotonic() + 5
while time.monotonic() < end:
    try:
        reply = Ether(s.recv(2048))
    except OSError:
        break
    if reply.haslayer(BOOTP) and reply[BOOTP].op == 2:
        s.send(frame([("message-type", "request"), ("requested_addr", reply[BOOTP].yiaddr),
                      ("server_id", reply[IP].src)]))
        break
time.sleep(1)
"""


def snaplen(path: Path) -> None:
    """A capture with a snapshot length (``tcpdump -s 96``): OpenSSH's banners and key
    exchange, dnsmasq answering a DHCP client, an HTTP exchange.  Headers claim more than
    each record holds, so tcpdump prints ``[|ssh]``, ``[|bootp]``, ``[|http]`` where the
    data stops, and no ``truncated-ip``."""
    with lab() as lb:
        a, b = lb.space("sa"), lb.space("sb")
        lb.veth(a, "a0", b, "b0", "02:00:00:00:05:01", "02:00:00:00:05:02")
        lb.addr(a, "a0", "10.87.0.1/24")
        cap = lb.start(b, "tcpdump", "-i", "b0", "-U", "-s", "96", "-w", str(path))
        wait(lambda: path.exists() and path.stat().st_size >= 24, 10)
        time.sleep(0.3)
        t = lb.tmp
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(t / "hostkey"))
        (t / "sshd_config").write_text(
            f"Port 22\nListenAddress 10.87.0.1\nHostKey {t}/hostkey\nPidFile {t}/sshd.pid\n"
            "UsePAM no\nPasswordAuthentication no\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        lb.start(a, "/usr/sbin/sshd", "-D", "-e", "-f", str(t / "sshd_config"), log="sshd.log")
        lb.start(
            a, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=a0",
            "--bind-interfaces", "--dhcp-range=10.87.0.50,10.87.0.60,255.255.255.0,1h",
            f"--dhcp-leasefile={t}/leases", f"--pid-file={t}/dnsmasq.pid", log="dnsmasq.log",
        )  # fmt: skip
        lb.start(
            a, sys.executable, "-m", "http.server", "--bind", "10.87.0.1", "80", log="http.log"
        )
        time.sleep(1.5)
        lb.run(b, sys.executable, "-c", DHCP_CLIENT, "b0", "02:00:00:00:05:02", check=False)
        lb.addr(b, "b0", "10.87.0.2/24")
        lb.run(
            b, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
            "nobody@10.87.0.1", "true", check=False,
        )  # fmt: skip
        lb.run(b, "curl", "-s", "-o", "/dev/null", "http://10.87.0.1/", check=False)
        time.sleep(0.5)
        lb.stop(cap)


def ntp(path: Path) -> None:
    """chrony as a server (local stratum 8) and as a client polling it with iburst, with and
    without a symmetric key; neither touches the host's clock (chronyd -x)."""
    with lab() as lb:
        a, b = lb.space("ta"), lb.space("tb")
        lb.veth(a, "a0", b, "b0", "02:00:00:00:06:01", "02:00:00:00:06:02")
        lb.addr(a, "a0", "10.86.0.1/24")
        lb.addr(b, "b0", "10.86.0.2/24")
        cap = lb.capture(b, "b0", path, "udp", "port", "123")
        t = lb.tmp
        (t / "keys").write_text("1 SHA1 HEX:0123456789abcdef0123456789abcdef01234567\n")
        for name, conf in (
            (a, "allow all\nlocal stratum 8\nbindaddress 10.86.0.1\n"),
            (
                b,
                "server 10.86.0.1 iburst minpoll 0 maxpoll 1\n"
                "server 10.86.0.1 iburst key 1 minpoll 0 maxpoll 1 port 123\n",
            ),
        ):
            path_conf = t / f"{name}.chrony.conf"
            path_conf.write_text(
                conf + f"keyfile {t}/keys\npidfile {t}/{name}.pid\ndriftfile {t}/{name}.drift\n"
                f"bindcmdaddress /\ncmdport 0\n"
            )
            lb.start(name, "chronyd", "-x", "-d", "-f", str(path_conf), log=f"{name}-chrony.log")
        time.sleep(8)
        lb.stop(cap)


STRONGSWAN_CONF = """charon {{
  load_modular = yes
  plugins {{
    include /etc/strongswan.d/charon/*.conf
    vici {{
      socket = unix://{dir}/charon.vici
    }}
  }}
  install_routes = no
  install_virtual_ip = no
}}
"""

SWANCTL_CONF = """connections {{
  v1 {{
    version = 1
    local_addrs = {me}
    remote_addrs = {peer}
    proposals = aes128-sha256-modp2048
    local {{
      auth = psk
      id = {me}
    }}
    remote {{
      auth = psk
      id = {peer}
    }}
    children {{
      net {{
        local_ts = {mine}
        remote_ts = {theirs}
        esp_proposals = aes128-sha256-modp2048
        mode = tunnel
      }}
    }}
  }}
}}
secrets {{
  ike-1 {{
    secret = corpus-secret
  }}
}}
"""


def ike(path: Path) -> None:
    """strongSwan's charon negotiating IKEv1 with a pre-shared key: main mode, quick mode
    (this kernel has no IPsec SAs to install, so the child is then deleted: informational).
    Each charon runs in a mount namespace of its own with a private /run (its pid file)."""
    with lab() as lb:
        a, b = lb.space("ia"), lb.space("ib")
        lb.veth(a, "a0", b, "b0", "02:00:00:00:07:01", "02:00:00:00:07:02")
        lb.addr(a, "a0", "10.85.0.1/24")
        lb.addr(b, "b0", "10.85.0.2/24")
        cap = lb.capture(b, "b0", path, "udp")
        peers = (
            (a, "10.85.0.1", "10.85.0.2", "10.85.1.0/24", "10.85.2.0/24"),
            (b, "10.85.0.2", "10.85.0.1", "10.85.2.0/24", "10.85.1.0/24"),
        )
        for name, me, peer, mine, theirs in peers:
            d = lb.tmp / name
            d.mkdir()
            (d / "strongswan.conf").write_text(STRONGSWAN_CONF.format(dir=d))
            (d / "swanctl.conf").write_text(
                SWANCTL_CONF.format(me=me, peer=peer, mine=mine, theirs=theirs)
            )
            lb.start(
                name, "unshare", "-m", "sh", "-c",
                f"mount -t tmpfs none /run && STRONGSWAN_CONF={d}/strongswan.conf "
                "exec /usr/lib/ipsec/charon",
                log=f"{name}-charon.log",
            )  # fmt: skip
        for name, *_rest in peers:
            d = lb.tmp / name
            wait(lambda d=d: (d / "charon.vici").exists(), 10)
            lb.run(name, "swanctl", "--load-all", "--file", str(d / "swanctl.conf"),
                   "--uri", f"unix://{d}/charon.vici", check=False)  # fmt: skip
        lb.run(b, "swanctl", "--initiate", "--child", "net",
               "--uri", f"unix://{lb.tmp / b}/charon.vici", check=False)  # fmt: skip
        time.sleep(1)
        lb.stop(cap)


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "ike": ike,
    "ntp": ntp,
    "snaplen": snaplen,
    "routing": routing,
    "vrrp": vrrp,
    "vpn": vpn,
    "mptcp": mptcp,
}


def main() -> int:
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    names = sys.argv[1:] or list(SCENARIOS)
    for name in names:
        path = HERE / f"{name}.pcap"
        tmp = path.with_suffix(".tmp")
        SCENARIOS[name](tmp)
        tmp.replace(path)
        lines = sh("tcpdump", "-r", str(path), check=False).stdout.count("\n")
        print(f"{path.name}: {lines} packets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
