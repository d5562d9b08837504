"""The command line as a user meets it: offline reading, conversion, and every bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapNgWriter, wrpcap
from waiting import wait_for

from tapwatch import pcap
from tapwatch.cli import main

TAPWATCH = [sys.executable, "-m", "tapwatch"]
# Even commands meant to fail run in a throw-away network namespace when we are root: should a
# check ever let one through, it must not create anything on the host.
ISOLATE = ["unshare", "--net"] if os.geteuid() == 0 and shutil.which("unshare") else []


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ISOLATE, *TAPWATCH, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    pkts = [
        Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff")
        / ARP(pdst="192.168.4.2", psrc="192.168.4.1"),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="192.168.4.1", dst="192.168.4.2")
        / ICMP(id=7, seq=1)
        / (b"x" * 56),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="192.168.4.1", dst="192.168.4.2")
        / UDP(sport=5000, dport=9)
        / b"hello",
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i / 10
    path = tmp_path / "mixed.pcap"
    wrpcap(str(path), pkts)
    return path


def test_reads_a_capture_like_tcpdump(mixed: Path) -> None:
    r = run("-r", str(mixed))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("ARP, Request who-has 192.168.4.2 tell 192.168.4.1, length 28")
    assert lines[1].endswith(
        "IP 192.168.4.1 > 192.168.4.2: ICMP echo request, id 7, seq 1, length 64"
    )
    tcpdump = subprocess.run(
        ["tcpdump", "-nn", "-r", str(mixed)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [ln.split(" ", 1)[1] for ln in lines] == [ln.split(" ", 1)[1] for ln in tcpdump]
    assert "reading from file" in r.stderr


def test_filter_count_and_link_level_headers(mixed: Path) -> None:
    r = run("-r", str(mixed), "-e", "icmp or udp", "-c", "1")
    assert r.returncode == 0
    (line,) = r.stdout.splitlines()
    assert "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800)" in line


def test_verbose_adds_the_full_dissection(mixed: Path) -> None:
    r = run("-r", str(mixed), "-vvv", "-c", "1", "arp")
    assert r.returncode == 0
    assert "who-has" in r.stdout and "hwsrc" in r.stdout


def test_verbose_prints_tcpdumps_verbose_lines(mixed: Path) -> None:
    r = run("-r", str(mixed), "-v", "-c", "1", "arp")
    assert r.returncode == 0
    assert "ARP, Ethernet (len 6), IPv4 (len 4), Request who-has" in r.stdout
    assert "hwsrc" not in r.stdout
    r = run("-r", str(mixed), "-v", "-c", "1", "icmp")
    assert r.returncode == 0
    first, second = r.stdout.splitlines()[:2]
    assert " IP (tos 0x0, ttl " in first and ", proto ICMP (1), length " in first
    assert second.startswith("    ") and " > " in second and "ICMP echo" in second


def test_copy_is_byte_and_timestamp_identical(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.pcap"
    r = run("-r", str(mixed), "-w", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == mixed.read_bytes()
    assert "wrote 3 packets" in r.stderr


def test_pcapng_in_filtered_pcap_out(tmp_path: Path) -> None:
    src = tmp_path / "in.pcapng"
    w = PcapNgWriter(str(src))
    for i in range(4):
        p = IP(src="10.0.0.1", dst="10.0.0.2") / (ICMP(seq=i) if i % 2 else UDP(dport=9))
        p.time = 1_700_000_000 + i
        w.write(p)
    w.close()
    out = tmp_path / "out.pcap"
    r = run("-r", str(src), "-w", str(out), "icmp or arp")
    assert r.returncode == 0, r.stderr
    got = list(pcap.read_capture(str(out)))
    assert len(got) == 2
    assert [g.ts_ns for g in got] == [1_700_000_001 * 10**9, 1_700_000_003 * 10**9]
    tshark = subprocess.run(
        ["tshark", "-r", str(out), "-T", "fields", "-e", "icmp.seq"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tshark == ["1", "3"]


def test_reads_stdin(mixed: Path) -> None:
    r = subprocess.run(
        [*TAPWATCH, "-r", "-"], stdin=mixed.open("rb"), capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3


@pytest.mark.parametrize(
    "args, status, message",
    [
        ([], 2, "nothing to watch"),
        (["--create", "tun1", "--attach", "tun2"], 2, "not allowed with argument"),
        (["--create", "averyveryverylongname"], 1, "Linux allows at most 15"),
        (["--create", "tun1", "--addr", "192.168.3.300/24"], 1, "invalid address"),
        (["--create", "tun1", "--addr", "nonsense"], 1, "invalid address"),
        (["--create", "tun1", "--mtu", "20"], 2, "out of range"),
        (["--create", "tun1", "-c", "0"], 2, "must be at least 1"),
        (["--create", "tun1", "--ring-bytes", "lots"], 2, "is not a size"),
        (["--attach", "tun1", "--tap"], 2, "--tap goes with --create"),
        (["-r", "x.pcap", "--reply"], 2, "need a device"),
        (["--create", "tun1", "--peer", "10.0.0.2"], 2, "--peer narrows --reply"),
        (["--observe", "lo", "--echo"], 2, "read-only"),
        (["-r", "/nonexistent.pcap"], 1, "/nonexistent.pcap"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_status(
    args: list[str], status: int, message: str
) -> None:
    r = run(*args)
    assert r.returncode == status, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert message in r.stderr


def test_corrupt_and_non_pcap_files(tmp_path: Path, mixed: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all, just text\n" * 3)
    r = run("-r", str(junk))
    assert r.returncode == 1 and "not a pcap or pcapng file" in r.stderr
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    r = run("-r", str(empty))
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(mixed.read_bytes()[:-10])
    r = run("-r", str(cut))
    assert r.returncode == 1  # as tcpdump's "truncated dump file", after every good line
    assert len(r.stdout.splitlines()) == 2
    assert "cut short" in r.stderr
    r = run("-r", str(cut), "-w", str(tmp_path / "kept.pcap"))
    assert r.returncode == 1 and "cut short" in r.stderr and "wrote 2 packets" in r.stderr


def test_output_that_cannot_be_written_is_one_line_not_a_traceback(mixed: Path) -> None:
    for flags in ([], ["-X"], ["-v"], ["-c", "1"]):
        with open("/dev/full", "w") as full:
            r = subprocess.run(
                [*TAPWATCH, "-r", str(mixed), *flags],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        assert r.returncode == 1, r.stderr
        assert (
            r.stderr.splitlines()[-1] == "tapwatch: cannot write the lines: No space left on device"
        )
        assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


def test_invalid_filter_is_a_clear_error(mixed: Path) -> None:
    r = run("-r", str(mixed), "udp", "prt", "53")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "tapwatch: invalid filter 'udp prt 53': can't parse filter expression: syntax error"
    )


def test_same_file_for_read_and_write_is_refused(mixed: Path) -> None:
    r = run("-r", str(mixed), "-w", str(mixed))
    assert r.returncode == 2
    assert mixed.stat().st_size > 24  # nothing was clobbered


def test_help_names_the_main_ways_in(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--create", "--attach", "--observe", "--demo", "--reply", "-w FILE"):
        assert flag in out


def test_closed_pipe_ends_quietly(mixed: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.pcap"
    one = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP())
    with pcap.open_writer(str(big), 101) as w:  # raw IP; one packet built, 5,000 written
        for i in range(5000):
            w.write(1_700_000_000_000_000_000 + i * 1000, one)
    r = subprocess.run(
        f"{sys.executable} -m tapwatch -r {big} | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(r.stdout.splitlines()) == 2
    assert "Traceback" not in r.stderr and "Broken pipe" not in r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ring-bytes", "inf"], "not a size tapwatch can hold"),
        (["--ring-bytes", "1e400"], "not a size tapwatch can hold"),
        (["--ring-bytes", "nan"], "not a size tapwatch can hold"),
        (["--ring-packets", "10000000000000"], "more than --ring-packets allows"),
        (["--txqueuelen", "99999999999999"], "more than --txqueuelen allows"),
        (["--replay-speed", "inf"], "positive number"),
    ],
)
def test_numbers_that_make_no_sense_are_one_clear_line(args: list[str], message: str) -> None:
    r = run("--create", "tun1", *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr


def test_unknown_user_for_z_is_an_error_before_reading(mixed: Path) -> None:
    r = run("-r", str(mixed), "-Z", "no-such-user-here")
    assert r.returncode == 1 and "no such user" in r.stderr and r.stdout == ""


def test_headless_conversion_prints_lines_too(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.pcapng"
    r = run("-r", str(mixed), "-w", str(out), "--headless")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3 and "ICMP echo request" in r.stdout
    quiet = run("-r", str(mixed), "-w", str(tmp_path / "q.pcapng"), "--headless", "-q")
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_a_file_that_goes_bad_prints_the_good_packets_first(tmp_path: Path) -> None:
    good = tmp_path / "good.pcap"
    wrpcap(str(good), [IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(seq=i) for i in range(1000)])
    raw = good.read_bytes()
    bad = tmp_path / "bad.pcap"
    # one more record whose header claims 4 GB: corrupt, not merely cut short
    bad.write_bytes(raw + b"\0" * 8 + b"\xff\xff\xff\x7f" * 2 + b"junk" * 10)
    r = run("-r", str(bad))
    assert len(r.stdout.splitlines()) == 1000
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("tapwatch: ")


def test_live_pipe_lines_appear_as_packets_arrive(mixed: Path) -> None:
    """`... -w - | tapwatch -r -`: each packet is printed before the next one is written."""
    raw = mixed.read_bytes()
    header, records = raw[:24], raw[24:]
    import struct as st

    chunks = []
    off = 0
    while off < len(records):
        caplen = st.unpack_from("<I", records, off + 8)[0]
        chunks.append(records[off : off + 16 + caplen])
        off += 16 + caplen
    proc = subprocess.Popen(
        [*TAPWATCH, "-r", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(header + chunks[0])
        proc.stdin.flush()
        first = proc.stdout.readline()  # blocks until the first line is out
        assert b"ARP, Request who-has 192.168.4.2" in first
        proc.stdin.write(chunks[1])
        proc.stdin.flush()
        assert b"ICMP echo request" in proc.stdout.readline()
        proc.stdin.write(chunks[2])
        proc.stdin.close()
        assert b"UDP" in proc.stdout.readline()
    finally:
        proc.kill() if proc.poll() is None else None
        proc.wait(timeout=10)


def test_a_live_pipe_converted_to_a_pipe_is_not_held_back(mixed: Path) -> None:
    """`ssh host tapwatch -w - | tapwatch -r - -w - | wireshark -k -i -`: each packet read
    goes out before the next one arrives."""
    import select
    import struct as st
    import time

    raw = mixed.read_bytes()
    first_len = 24 + 16 + st.unpack_from("<I", raw, 24 + 8)[0]
    proc = subprocess.Popen(
        [*TAPWATCH, "-r", "-", "-w", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(raw[:first_len])  # the header and one packet, and then nothing
        proc.stdin.flush()
        got = b""
        deadline = time.monotonic() + 20
        while len(got) < first_len and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                got += os.read(proc.stdout.fileno(), 65536)
        assert got == raw[:first_len]  # classic pcap in, the same bytes out, at once
    finally:
        proc.kill() if proc.poll() is None else None
        proc.wait(timeout=10)


def test_ctrl_c_stops_a_verbose_read_promptly_with_whole_lines(tmp_path: Path) -> None:
    import signal
    import time

    big = tmp_path / "big.pcap"
    one = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=53) / (b"q" * 40))
    with pcap.open_writer(str(big), 101) as w:  # raw IP
        for i in range(20_000):
            w.write(1_700_000_000_000_000_000 + i * 1000, one)
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        proc = subprocess.Popen(
            [*TAPWATCH, "-r", str(big), "-vvv"], stdout=fh, stderr=subprocess.PIPE, text=True
        )
        # scapy's dump under way (a few packets printed), far from the file's end
        assert wait_for(lambda: out.stat().st_size > 4096), "nothing was printed"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - t0
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert took < 5, f"took {took:.1f} s to stop"  # generous: this is no benchmark
    text = out.read_text()
    assert text.endswith("\n") and text.count(" IP 10.0.0.1.1 > 10.0.0.2.53: ") < 20_000


def test_x_leaves_out_the_link_header_tcpdump_does(tmp_path: Path) -> None:
    """-x prints from where tcpdump's does: after VLAN tags and an 802.2 LLC/SNAP header."""
    from scapy.layers.l2 import LLC, SNAP, STP, Dot1Q, Dot3

    ip = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=9) / b"ab"
    macs = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
    pkts = [
        Ether(**macs) / ip,
        Ether(**macs) / Dot1Q(vlan=5) / ip,
        Ether(**macs) / Dot1Q(vlan=5) / Dot1Q(vlan=6) / ARP(psrc="10.0.0.1", pdst="10.0.0.2"),
        Dot3(**macs) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(code=0x0800) / ip,
        Dot3(src=macs["src"], dst="01:80:c2:00:00:00") / LLC(dsap=0x42, ssap=0x42, ctrl=3) / STP(),
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i / 10
    path = tmp_path / "links.pcap"
    wrpcap(str(path), pkts)

    def dumps(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("\t0x")]

    theirs = subprocess.run(
        ["tcpdump", "-nn", "-x", "-r", str(path)], capture_output=True, text=True, timeout=60
    )
    assert theirs.returncode == 0, theirs.stderr
    r = run("-nn", "-x", "-r", str(path))
    assert r.returncode == 0, r.stderr
    assert dumps(r.stdout) == dumps(theirs.stdout)
    assert len(dumps(r.stdout)) >= len(pkts)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_a_filter_libpcap_takes_minutes_to_compile(mixed: Path, sig: str) -> None:
    """libpcap's optimizer takes minutes on a few thousand ``port N`` terms; compiled in the
    main thread, the Python signal handlers never ran: Ctrl-C did nothing and ``timeout 60``
    (SIGTERM) was outlived by ten minutes. Now each ends it at once, as tcpdump's would."""
    import signal

    expr = " or ".join(f"port {i}" for i in range(1, 1500))
    proc = subprocess.Popen(
        [*TAPWATCH, "-nn", "-r", str(mixed), expr],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        maps = Path(f"/proc/{proc.pid}/maps")
        assert wait_for(lambda: "libpcap" in maps.read_text()), "libpcap never loaded"
        start = _cpu_ticks(proc.pid)
        assert wait_for(lambda: _cpu_ticks(proc.pid) > start + 100)  # a second in the compile
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=20)  # generous: it used to take minutes
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "Traceback" not in err, err
