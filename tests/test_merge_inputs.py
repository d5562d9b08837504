"""Several -r inputs as one capture: files and live pipes merged by time, kept apart by input.

References: mergecap's merge of the same files (the order) and tshark reading what
tapwatch wrote (times, interface names); a pipe that stays open and idle (the ordering
guarantee: it never holds the others back).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from capture_checks import tshark_fields
from pcapng_build import ng_epb, ng_idb, ng_opt, ng_shb
from scapy.layers.inet import ICMP, IP
from scapy.utils import wrpcap

TAPWATCH = [sys.executable, "-m", "tapwatch"]
ENV = {**os.environ, "TZ": "UTC"}
T0 = 1_700_000_000
needs_tshark = pytest.mark.skipif(
    shutil.which("tshark") is None or shutil.which("mergecap") is None,
    reason="needs tshark and mergecap",
)


def run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TAPWATCH, *args], capture_output=True, text=True, timeout=60, env=ENV, **kw
    )


def pings(n: int, ttl: int, offset: float, step: float = 1.0) -> list[IP]:
    out = []
    for i in range(n):
        p = IP(src="10.9.0.1", dst="10.9.0.2", ttl=ttl) / ICMP(seq=i)
        p.time = T0 + i * step + offset
        out.append(p)
    return out


@pytest.fixture
def two_hosts(tmp_path: Path) -> tuple[Path, Path]:
    """The same five pings seen at host A's tun and, 1.2 ms later, one hop on, at host B's."""
    a, b = tmp_path / "hostA.pcap", tmp_path / "hostB.pcap"
    wrpcap(str(a), pings(5, 64, 0.0))
    wrpcap(str(b), pings(5, 63, 0.0012))
    return a, b


@needs_tshark
def test_files_merge_in_mergecaps_order_with_each_inputs_interfaces_apart(
    tmp_path: Path, two_hosts: tuple[Path, Path]
) -> None:
    a, b = two_hosts
    # two inputs that both call their interface tun0: the names must stay apart
    c = tmp_path / "c.pcap"
    wrpcap(str(c), pings(7, 64, 0.3, step=0.7))
    ref = tmp_path / "ref.pcapng"
    subprocess.run(["mergecap", "-w", str(ref), str(a), str(b), str(c)], check=True, timeout=60)
    out = tmp_path / "out.pcapng"
    r = run("-r", str(a), "-r", str(b), "-r", str(c), "-w", str(out))
    assert r.returncode == 0, r.stderr
    got = tshark_fields(out, "frame.time_epoch", "frame.interface_name")
    want = tshark_fields(ref, "frame.time_epoch")
    assert [g[0] for g in got] == [w[0] for w in want] and len(got) == 17
    assert {g[1] for g in got} == {"hostA", "hostB", "c"}
    info = subprocess.run(["capinfos", str(out)], capture_output=True, text=True, timeout=60)
    assert "Strict time order:   True" in info.stdout


def test_lines_name_each_input_and_the_delay_across(two_hosts: tuple[Path, Path]) -> None:
    a, b = two_hosts
    r = run("-r", str(a), "-r", str(b))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 10
    assert [ln.split()[1] for ln in lines[:2]] == ["hostA", "hostB"]
    assert lines[1].endswith("[left hostA (packet 1) 1.200 ms before]")
    assert "hostA -> hostB: 5 packets seen at both, delay median 1.200 ms" in r.stderr
    assert "reading from file" in r.stderr
    # --strict-tcpdump: tcpdump's lines alone
    strict = run("--strict-tcpdump", "-r", str(a), "-r", str(b))
    assert "[" not in strict.stdout


def _directed(path: Path, name: bytes, ts_us: list[int], flags: int) -> None:
    """A pcapng file of one tun interface whose packets all go one way (epb_flags)."""
    blob = ng_shb() + ng_idb(101, opts=ng_opt(2, name) + struct.pack("<HH", 0, 0))
    for i, ts in enumerate(ts_us):
        data = bytes(IP(src="10.9.0.1", dst="10.9.0.2") / ICMP(seq=i))
        blob += ng_epb(0, ts, data, ng_opt(2, struct.pack("<I", flags)))
    path.write_bytes(blob)


def test_a_packet_that_arrives_before_it_left_says_the_clocks_disagree(tmp_path: Path) -> None:
    sent, got = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    base = T0 * 1_000_000
    _directed(sent, b"tun0", [base + i * 1_000_000 for i in range(3)], 2)  # Out
    _directed(got, b"tun0", [base + i * 1_000_000 - 5000 for i in range(3)], 1)  # In, 5 ms early
    r = run("-r", str(sent), "-r", str(got))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split()[1] for ln in lines[:2]] == ["b:tun0", "a:tun0"]
    assert "arrived at b:tun0 (packet 1) 5.000 ms before it left here" in lines[1]
    assert "clocks disagree" in lines[1]
    assert "a:tun0 -> b:tun0: 3 packets seen at both" in r.stderr
    assert "cannot be trusted" in r.stderr


def test_an_idle_live_pipe_never_holds_back_a_file(two_hosts: tuple[Path, Path]) -> None:
    a, _b = two_hosts
    r, w = os.pipe()
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    os.write(w, header)  # a live capture that has started and has nothing yet
    proc = subprocess.Popen(
        [*TAPWATCH, "-r", str(a), "-r", f"/dev/fd/{r}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        pass_fds=(r,),
    )
    os.close(r)
    try:
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.extend(iter(proc.stdout.readline, "")))
        reader.daemon = True
        reader.start()
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(got) == 5 and proc.poll() is None  # every file packet, the pipe still open
        assert all(" hostA " in line for line in got)
    finally:
        os.close(w)
        proc.wait(timeout=30)
        reader.join(timeout=10)
    assert proc.returncode == 0


def test_a_pipe_that_has_not_even_written_its_header_holds_nothing_back(
    two_hosts: tuple[Path, Path],
) -> None:
    """ssh still connecting, tcpdump -w - keeping its header in a buffer: the file's packets
    come out meanwhile, and the pipe's interface is named when it starts."""
    a, b = two_hosts
    r, w = os.pipe()
    proc = subprocess.Popen(
        [*TAPWATCH, "-r", str(a), "-r", f"/dev/fd/{r}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        pass_fds=(r,),
    )
    os.close(r)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(iter(proc.stdout.readline, "")))
    reader.daemon = True
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(got) == 5 and proc.poll() is None, got
        os.write(w, b.read_bytes())  # the other host's capture begins at last
    finally:
        os.close(w)
        proc.wait(timeout=30)  # (communicate would read stdout too, beside the reader)
        reader.join(timeout=10)
        err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == 0, err
    assert len(got) == 10 and all(f" fd{r} " in ln for ln in got[5:]), got
    assert f"hostA -> fd{r}: 5 packets seen at both" in err


def test_one_standard_input_only() -> None:
    r = run("-r", "-", "-r", "-")
    assert r.returncode == 2 and "standard input once" in r.stderr


def test_the_ui_shows_a_live_pipes_packets_as_they_arrive() -> None:
    """`slow-writer | tapwatch -r -`: each packet is in the list while the pipe is still open."""
    pytest.importorskip("textual")
    import asyncio

    from test_app import packet_list, settle

    from tapwatch.app import TapwatchApp
    from tapwatch.filesource import open_file
    from tapwatch.ring import Ring
    from tapwatch.session import Session

    r, w = os.pipe()
    os.write(w, struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))

    def write_packet(i: int) -> None:
        data = bytes(IP(src="10.9.0.1", dst="10.9.0.2") / ICMP(seq=i))
        os.write(w, struct.pack("<IIII", T0 + i, 0, len(data), len(data)) + data)

    ring, wake = Ring(), threading.Event()
    src = open_file("-", ring, wake, stdin=os.fdopen(r, "rb"))
    session = Session([src], ring=ring, wake=wake)

    async def shows(pilot, app: TapwatchApp, n: int) -> None:  # type: ignore[no-untyped-def]
        for _ in range(500):
            await settle(pilot, app)
            if packet_list(app).rows >= n:
                break
        assert packet_list(app).rows == n

    async def drive() -> None:
        app = TapwatchApp(session)
        async with app.run_test(size=(160, 40)) as pilot:
            write_packet(0)
            await shows(pilot, app, 1)  # one packet, the pipe open: it is there already
            for i in (1, 2):
                write_packet(i)
            await shows(pilot, app, 3)
            assert "live" in main_status(app)

    def main_status(app: TapwatchApp) -> str:
        from test_app import status_text

        return status_text(app)

    session.start()
    try:
        asyncio.run(drive())
    finally:
        os.close(w)
        session.close()


@needs_tshark
def test_a_file_of_several_link_types_names_every_one(tmp_path: Path) -> None:
    from scapy.layers.l2 import Ether

    tun, eth = tmp_path / "tun.pcap", tmp_path / "eth.pcap"
    wrpcap(str(tun), pings(2, 64, 0.0))
    wrpcap(str(eth), [Ether() / p for p in pings(2, 64, 0.5)])
    both = tmp_path / "both.pcapng"
    subprocess.run(["mergecap", "-w", str(both), str(tun), str(eth)], check=True, timeout=60)
    # the reference: the link types tshark finds in the file
    kinds = {row[0] for row in tshark_fields(both, "frame.encap_type")}
    assert len(kinds) == 2
    r = run("-r", str(both))
    assert r.returncode == 0, r.stderr
    assert f"reading from file {both}, link-types IPV4 (Raw IPv4), EN10MB (Ethernet)" in r.stderr
    # the same for two inputs of one type each
    r = run("-r", str(tun), "-r", str(eth), "-c", "1")
    types = "link-types IPV4 (Raw IPv4), EN10MB (Ethernet)"  # libpcap's names, as tcpdump's
    assert f"reading from file {tun}, {eth}, {types}" in r.stderr


def test_the_ui_session_keeps_the_delay_across_with_the_packet(
    two_hosts: tuple[Path, Path],
) -> None:
    """What the list's row and the frame layer show: where the packet left, how long before."""
    from tapwatch import pcap
    from tapwatch.analysis.crossing import Crossings
    from tapwatch.filesource import FileSource
    from tapwatch.pcap.merge import MergedCapture, unique_labels
    from tapwatch.ring import Ring
    from tapwatch.session import Session

    a, b = two_hosts
    cap = MergedCapture(
        [pcap.read_capture(str(a)), pcap.read_capture(str(b))], unique_labels([str(a), str(b)])
    )
    ring, wake = Ring(), threading.Event()
    src = FileSource(cap, "hostA.pcap", ring, wake)  # type: ignore[arg-type]
    src.crossings = Crossings(cap.input_of, [i.name or "" for i in cap.interfaces])
    session = Session([src], ring=ring, wake=wake)
    session.start()
    try:
        assert src.wait_loaded(30) and src.error is None
        assert [i.name for i in session.interfaces] == ["hostA", "hostB"]
        second = ring.get(ring.first_seq + 1)
        assert second is not None and second.iface == 1
        assert session.crossing(second) == "left hostA (packet 1) 1.200 ms before"
        assert session.comment(second) is None  # the file's comments stay the file's
    finally:
        session.close()


def test_the_status_bar_names_each_link_type_of_a_mixed_file(tmp_path: Path) -> None:
    pytest.importorskip("textual")
    from scapy.layers.l2 import Ether

    from tapwatch.filesource import open_file
    from tapwatch.ring import Ring
    from tapwatch.session import Session
    from tapwatch.widgets.status import ViewState, render_status

    both = tmp_path / "both.pcapng"
    from tapwatch import pcap

    w = pcap.open_writer(str(both), 101, ifname="tun0")
    w.add_interface(1, "eth0")
    w.write(T0 * 10**9, bytes(pings(1, 64, 0)[0]), None, None, 0)
    w.write(T0 * 10**9 + 1, bytes(Ether() / pings(1, 64, 0)[0]), None, None, 1)
    w.close()
    ring, wake = Ring(), threading.Event()
    session = Session([open_file(str(both), ring, wake)], ring=ring, wake=wake)
    session.start()
    try:
        text = render_status(session.status(), ViewState(title="tapwatch")).plain
    finally:
        session.close()
    assert "tun0 (file, raw IP) + eth0 (file, Ethernet)" in text


@pytest.mark.netns
def test_two_hosts_live_pipes_show_each_packet_leave_one_and_reach_the_other() -> None:
    """`-r <(host a: tapwatch -w -) -r <(host b: tapwatch -w -)`, the hosts two namespaces on
    a veth pair: while both captures still run, each ping shows at both ends, paired."""
    from netns import link_pair, needs_netns, netns

    if needs_netns.mark.args[0]:
        pytest.skip(needs_netns.mark.kwargs["reason"])
    with netns("twla") as a, netns("twlb") as b:
        link_pair(a, b, "10.55.0.1/24", "10.55.0.2/24")
        hosts = []
        for ns in (a, b):
            before = ns.packet_sockets("veth0")
            hosts.append(ns.popen([*TAPWATCH, "--observe", "veth0", "-w", "-", "icmp"], text=False))
            ns.wait_capturing("veth0", before)
        fds = [h.stdout.fileno() for h in hosts]  # type: ignore[union-attr]
        both = subprocess.Popen(
            [*TAPWATCH, "-r", f"/dev/fd/{fds[0]}", "-r", f"/dev/fd/{fds[1]}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            pass_fds=fds,
        )
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.extend(iter(both.stdout.readline, "")))
        reader.daemon = True
        reader.start()
        try:
            ping = a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.55.0.2"])
            assert " 0% packet loss" in ping.stdout, ping.stdout
            deadline = time.monotonic() + 30
            while len(got) < 12 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(got) == 12, got  # 3 requests and 3 replies, at both ends, live
        finally:
            for h in hosts:
                h.terminate()
                h.wait(timeout=30)
            both.wait(timeout=30)  # (communicate would read stdout too, beside the reader)
            reader.join(timeout=10)
            err = both.stderr.read()  # type: ignore[union-attr]
    requests = [ln for ln in got if "echo request" in ln]
    names = {f"fd{fds[0]}", f"fd{fds[1]}"}
    assert all({ln.split()[1] for ln in requests[i : i + 2]} == names for i in (0, 2, 4))
    assert all(" [left fd" in ln for ln in requests[1::2])
    # every packet is paired; which end saw a packet first is as the two stamps say, and on
    # one machine a veth's two ends stamp within a microsecond of each other, either way
    pairs = re.findall(r"fd\d+ -> fd\d+: (\d+) packets seen at both", err)
    assert sum(int(n) for n in pairs) == 6, err
    assert both.returncode == 0, err


def test_an_input_that_is_no_capture_is_said_and_the_others_go_on(
    tmp_path: Path, two_hosts: tuple[Path, Path]
) -> None:
    """A bad header, an empty file, a pipe that closes empty: each said in one line naming
    it; every packet of the good inputs printed (as tcpdump -r prints them); status 1; the
    summary says what happened to each input."""
    a, b = two_hosts
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is no capture header at all")
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    r_fd, w_fd = os.pipe()
    os.close(w_fd)  # a live pipe whose writer closes before its header
    reads = [str(a), str(bad), str(b), str(empty), f"/dev/fd/{r_fd}"]
    proc = subprocess.run(
        [*TAPWATCH, *(arg for path in reads for arg in ("-r", path))],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        pass_fds=(r_fd,),
    )
    os.close(r_fd)
    ref = subprocess.run(
        ["tcpdump", "-nn", "-r", str(a)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 10  # hostA's five and hostB's five
    assert len(ref.stdout.splitlines()) == 5
    err = proc.stderr.splitlines()
    for name in (str(bad), str(empty), f"/dev/fd/{r_fd}"):
        told = [ln for ln in err if ln.startswith(f"tapwatch: {name}") and "other inputs" in ln]
        assert len(told) == 1, proc.stderr
    assert f"tapwatch: input {a} (hostA): 5 packets, read to its end" in err
    assert f"tapwatch: input {b} (hostB): 5 packets, read to its end" in err
    assert any(ln.startswith(f"tapwatch: input {bad} (bad): not read") for ln in err)
    assert "Traceback" not in proc.stderr


def test_a_pipe_that_fails_part_way_leaves_the_live_one_running(
    two_hosts: tuple[Path, Path],
) -> None:
    """One live pipe sends garbage after its packets: said once, its packets kept; the other
    pipe, still open, goes on being printed."""
    a, _b = two_hosts
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    os.write(w1, a.read_bytes() + struct.pack("<IIII", T0 + 9, 0, 10**7, 10**7))  # absurd size
    os.close(w1)
    os.write(w2, header)
    proc = subprocess.Popen(
        [*TAPWATCH, "-r", f"/dev/fd/{r1}", "-r", f"/dev/fd/{r2}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        pass_fds=(r1, r2),
    )
    os.close(r1)
    os.close(r2)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(iter(proc.stdout.readline, "")))
    reader.daemon = True
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(got) == 5 and proc.poll() is None, got  # the other pipe keeps it running
        data = bytes(IP(src="10.9.0.1", dst="10.9.0.2") / ICMP(seq=77))
        os.write(w2, struct.pack("<IIII", T0 + 20, 0, len(data), len(data)) + data)
        while len(got) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(got) == 6 and "seq 77" in got[5], got
    finally:
        os.close(w2)
        proc.wait(timeout=30)
        reader.join(timeout=10)
        err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == 1, err
    told = [ln for ln in err.splitlines() if ln.startswith(f"tapwatch: /dev/fd/{r1}")]
    assert len(told) == 1 and "kept its 5 packets" in told[0], err
    assert f"(fd{r2}): 1 packets, read to its end" in err


def test_the_merge_tells_an_inputs_trouble_once_as_it_comes(
    tmp_path: Path, two_hosts: tuple[Path, Path]
) -> None:
    """What the UI's status bar hears (on_trouble) and the summary after it."""
    from tapwatch import pcap
    from tapwatch.pcap.merge import MergedCapture, pipe_input

    a, _b = two_hosts
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"no capture")
    told: list[str] = []
    cap = MergedCapture(
        [pcap.read_capture(str(a)), pipe_input(str(bad))], ["hostA", "bad"], on_trouble=told.append
    )
    with cap:
        assert len(list(cap)) == 5
    assert len(told) == 1 and told[0].startswith(str(bad)) and "other inputs" in told[0]
    assert cap.failed == [str(bad)]
    assert cap.summary()[0] == f"input {a} (hostA): 5 packets, read to its end"
