"""Printing a file a chunk at a time and in worker processes prints what one pass prints.

The lines that depend on packets before them are tcpdump's relative TCP numbers,
so the captures here interleave long connections across many small chunks; the
reference is the record-at-a-time loop (a stream that cannot be read in ranges).
No root, no network: packets are built with scapy and written to tmp_path.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import wrpcap
from waiting import wait_for

from tapwatch import pcap
from tapwatch.decode import parallel
from tapwatch.headless import LineFormat, print_records

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
ROOT = Path(__file__).resolve().parent.parent


def _eth(p: object) -> Ether:
    return Ether(src=M1, dst=M2) / p  # type: ignore[operator]


def mixed_capture(path: Path, connections: int = 6, rounds: int = 40) -> int:
    """Connections that open, then exchange data interleaved with each other and with
    other traffic (one of them inside VXLAN), so that every chunk continues some."""
    pkts = []
    for c in range(connections):
        a, b, sp = f"10.0.{c}.1", f"10.0.{c}.2", 40000 + c
        pkts.append(_eth(IP(src=a, dst=b) / TCP(sport=sp, dport=80, flags="S", seq=1000 * c)))
        pkts.append(
            _eth(
                IP(src=b, dst=a)
                / TCP(sport=80, dport=sp, flags="SA", seq=7777 * c, ack=1000 * c + 1)
            )
        )
    inner = IP(src="192.168.9.1", dst="192.168.9.2")
    pkts.append(
        _eth(
            IP(src="10.9.0.1", dst="10.9.0.2")
            / UDP(sport=5555, dport=4789)
            / VXLAN(vni=7)
            / Ether(src=M1, dst=M2)
            / inner
            / TCP(sport=1234, dport=22, flags="SA", seq=99, ack=5)
        )
    )
    for r in range(rounds):
        for c in range(connections):
            a, b, sp = f"10.0.{c}.1", f"10.0.{c}.2", 40000 + c
            pkts.append(
                _eth(
                    IP(src=a, dst=b)
                    / TCP(
                        sport=sp, dport=80, flags="PA", seq=1000 * c + 1 + 10 * r, ack=7777 * c + 1
                    )
                    / (b"x" * 10)
                )
            )
        pkts.append(_eth(IP(src="10.1.1.1", dst="10.1.1.2") / ICMP(id=1, seq=r)))
        pkts.append(
            _eth(
                IP(src="10.9.0.1", dst="10.9.0.2")
                / UDP(sport=5555, dport=4789)
                / VXLAN(vni=7)
                / Ether(src=M1, dst=M2)
                / inner
                / TCP(sport=1234, dport=22, flags="A", seq=100 + r, ack=6)
            )
        )
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i / 1000
    wrpcap(str(path), pkts)
    return len(pkts)


def lines(path: Path, *, stream: bool = False, **kw: object) -> tuple[str, int]:
    """print_records over the file: read in ranges, or (``stream``) record by record."""
    out = io.StringIO()
    src = io.BytesIO(path.read_bytes()) if stream else str(path)
    with pcap.read_capture(src) as cap:
        n = print_records(cap, cap.interfaces, out, **kw)  # type: ignore[arg-type]
    return out.getvalue(), n


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_RECORDS", 7)
    monkeypatch.setattr(parallel, "CHUNK_RECORDS_HERE", 5)


@pytest.mark.parametrize("workers", ["1", "2", "3"])
def test_chunks_and_workers_print_what_one_pass_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None, workers: str
) -> None:
    f = tmp_path / "mixed.pcap"
    total = mixed_capture(f)
    want, n_want = lines(f, stream=True)
    assert "seq 11:21, ack 1" in want  # relative numbers, well after the connections opened
    monkeypatch.setenv(parallel.WORKERS_ENV, workers)
    got, n = lines(f)
    assert (got, n) == (want, n_want) and n == total


@pytest.mark.parametrize("workers", ["1", "2"])
def test_filter_count_and_formats_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None, workers: str
) -> None:
    from tapwatch.filters import PacketFilter

    f = tmp_path / "mixed.pcap"
    mixed_capture(f)
    flt = PacketFilter("tcp and port 80")
    cases: list[dict[str, object]] = [
        {"flt": flt},
        {"count": 23},
        {"flt": flt, "count": 9},
        {"fmt": LineFormat(link=True, snaplen=60, time=2)},
        {"fmt": LineFormat(absolute=True, strict=True)},
    ]
    for kw in cases:
        monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
        want = lines(f, stream=True, **kw)
        monkeypatch.setenv(parallel.WORKERS_ENV, workers)
        assert lines(f, **kw) == want, kw


def test_a_wrong_seed_is_caught_and_the_chunk_printed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    """If the walk missed connections, the check after printing puts the numbers right."""
    f = tmp_path / "mixed.pcap"
    mixed_capture(f)
    want = lines(f, stream=True)
    monkeypatch.setattr(parallel, "walk_records", lambda *a, **kw: None)
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    assert lines(f) == want


def test_more_connections_than_the_bound_are_printed_in_one_process(tmp_path: Path) -> None:
    """Past the printer's bound on connections, one pass forgets the oldest: so do chunks."""
    from tapwatch.decode import LineFormatter, TcpFlows

    f = tmp_path / "mixed.pcap"
    mixed_capture(f)
    with pcap.read_capture(str(f)) as cap:
        one = LineFormatter(cap.linktype)
        one.flows = TcpFlows(3)
        want = "".join(one.line(r.ts_ns, r.data) + "\n" for r in cap)
    for workers in (1, 2):
        with pcap.read_capture(str(f)) as cap:
            fmt = LineFormatter(cap.linktype)

            def render(
                recs: list[tuple[int, bytes]],
                keep: list[bool] | None,
                flows: TcpFlows | None,
                fmt: LineFormatter = fmt,
            ) -> list[str]:
                fmt.flows = flows
                return fmt.lines(recs, keep)

            job = parallel.Job(cap.read_chunk, cap.linktype, None, render, None, True, 3)
            out = io.StringIO()
            chunks = cap.chunks(7)
            assert chunks is not None
            parallel.print_chunks(chunks, job, out, workers)
        assert out.getvalue() == want, workers


def test_a_worker_that_fails_leaves_the_rest_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    f = tmp_path / "mixed.pcap"
    mixed_capture(f)
    want = lines(f, stream=True)
    parent = os.getpid()
    real = parallel._render
    seen = [0]

    def flaky(*a: object) -> object:
        seen[0] += 1
        if os.getpid() != parent and seen[0] == 3:
            os._exit(9)  # a worker dies in the middle of the file
        return real(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "_render", flaky)
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    assert lines(f) == want


def test_corrupt_and_cut_short_files_end_as_one_pass_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None
) -> None:
    f = tmp_path / "mixed.pcap"
    total = mixed_capture(f)
    raw = f.read_bytes()
    # walk to the 30th record and make it claim 1 MB
    pos = 24
    for _ in range(29):
        pos += 16 + struct.unpack_from("<I", raw, pos + 8)[0]
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(raw[: pos + 8] + struct.pack("<I", 1 << 20) + raw[pos + 12 :])
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[:-5])
    for workers in ("1", "2"):
        monkeypatch.setenv(parallel.WORKERS_ENV, workers)
        out = io.StringIO()
        with (
            pytest.raises(pcap.PcapError, match=r"record 30 at offset \d+ claims 1048576"),
            pcap.read_capture(str(bad)) as cap,
        ):
            print_records(cap, cap.interfaces, out)
        assert out.getvalue().count("\n") == 29
        with pcap.read_capture(str(cut)) as cap:
            n = print_records(cap, cap.interfaces, io.StringIO())
            assert cap.truncated and cap.count == n == total - 1


def test_workers_only_where_processors_are_idle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert 0 <= parallel.idle_processors() <= (os.cpu_count() or 1)
    small = tmp_path / "small.pcap"
    mixed_capture(small, 1, 1)
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    assert parallel.workers_for(str(small)) == 1  # too small to be worth a fork
    assert parallel.workers_for(None) == 1
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "idle_processors", lambda: 0)
    assert parallel.workers_for(str(small)) == 1
    monkeypatch.setattr(parallel, "idle_processors", lambda: 7)
    assert parallel.workers_for(str(small)) == 4
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    assert parallel.workers_for(str(small)) == 3


def _children(pid: int) -> set[int]:
    """The decoding workers of ``pid``: its children that run tapwatch (not the short-lived
    programs its libraries start while importing, which have a command line of their own)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    workers = set()
    for child in text.split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"tapwatch" in cmdline:
            workers.add(int(child))
    return workers


def test_ctrl_c_with_workers_prints_whole_lines_and_leaves_no_worker(tmp_path: Path) -> None:
    big = tmp_path / "big.pcap"
    one = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=53) / (b"q" * 40))
    with pcap.open_writer(str(big), 101) as w:  # raw IP; one packet built, 20k written
        for i in range(20_000):
            w.write(1_700_000_000_000_000_000 + i * 1000, one)
    out = tmp_path / "out.txt"
    env = dict(os.environ, **{parallel.WORKERS_ENV: "2"})
    with out.open("w") as fh:  # -vvv: scapy's dump, slow enough to interrupt half-way
        proc = subprocess.Popen(
            [sys.executable, "-m", "tapwatch", "-r", str(big), "-vvv"],
            stdout=fh,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        workers: set[int] = set()
        deadline = time.monotonic() + 20
        while len(workers) < 2 and time.monotonic() < deadline:
            workers |= _children(proc.pid)
            time.sleep(0.05)
        # the workers' lines under way, far from the file's end
        assert wait_for(lambda: out.stat().st_size > 4096), "nothing was printed"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert len(workers) == 2
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )
    text = out.read_text()
    assert text.endswith("\n") and text.count(" IP 10.0.0.1.1 > 10.0.0.2.53: ") < 20_000


def test_the_pure_python_decoder_prints_the_same(tmp_path: Path) -> None:
    f = tmp_path / "mixed.pcap"
    mixed_capture(f)
    outs = []
    for pure in ("", "1"):
        env = dict(os.environ, TAPWATCH_PURE_PYTHON=pure, **{parallel.WORKERS_ENV: "2"})
        code = (
            "import sys, tapwatch.decode.core as c, tapwatch.pcap.records as r; "
            "print(c.__file__.endswith('.py'), r.__file__.endswith('.py'), file=sys.stderr); "
            "from tapwatch.cli import main; sys.exit(main())"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, "-r", str(f)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=True,
        )
        if pure:
            assert proc.stderr.startswith("True True"), proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1] and outs[0].count("\n") > 200


def test_an_edited_checkout_runs_its_edited_source_not_the_stale_compiled_copy(
    tmp_path: Path,
) -> None:
    """After ``pip install -e .`` the compiled copies stay as built: an edit must still count."""
    import tapwatch.decode._pure as pure

    if not pure.compiled():
        pytest.skip("this install has no compiled decoder")
    tree = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "tapwatch", tree / "tapwatch", ignore=shutil.ignore_patterns("__pycache__")
    )
    code = (
        "import tapwatch.decode.core as c, tapwatch.pcap.records as r; "
        "print(c.__file__.endswith('.py'), r.__file__.endswith('.py'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TAPWATCH_PURE_PYTHON"}
    env["PYTHONPATH"] = str(tree)

    def loaded() -> str:
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=True,
        ).stdout.strip()

    assert loaded() == "False False"  # as built: the compiled copies
    edited = tree / "tapwatch" / "decode" / "dns.py"
    os.utime(edited, (time.time() + 5, time.time() + 5))
    assert loaded() == "True True"  # one source edited: all of it from source, never mixed


def test_every_module_with_a_handler_is_compiled() -> None:
    """mypyc refuses an interpreted class that inherits a compiled one: a module that
    subclasses the decoder's handlers and is left off the list breaks a compiled install
    at import (``interpreted classes cannot inherit from compiled``)."""
    import importlib
    import inspect

    from tapwatch.decode import _pure
    from tapwatch.decode.core import Handler

    left_off = []
    for path in sorted((ROOT / "tapwatch" / "decode").glob("*.py")):
        name = f"tapwatch.decode.{path.stem}"
        module = importlib.import_module(name)
        subclasses = [
            c
            for c in vars(module).values()
            if inspect.isclass(c) and issubclass(c, Handler) and c.__module__ == name
        ]
        if subclasses and name not in _pure.COMPILED_MODULES:
            left_off.append(name)
    assert not left_off, left_off
