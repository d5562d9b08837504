"""Each area of the command line's flags checked alone: sources, tunnel, output, printing.

The whole command line is covered end to end in test_cli.py; here each area's
validator gets a parsed namespace and must return its typed options or refuse
with the message a user reads.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from tapwatch.cli import UsageError, build_parser, validate
from tapwatch.cli.messages import Failure
from tapwatch.cli.parser import add_tunnel_flags
from tapwatch.cli.validation import (
    dump_style,
    output_options,
    print_options,
    source_options,
    tunnel_options,
)
from tapwatch.errors import TapwatchError


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


# ----- the parser --------------------------------------------------------------------------


def test_an_area_of_flags_can_be_added_to_a_parser_of_its_own() -> None:
    p = argparse.ArgumentParser()
    add_tunnel_flags(p)
    args = p.parse_args(["--tunnel-listen", "--tunnel-decode", "4000", "--tunnel-decode", "5000"])
    assert args.tunnel_listen == "55555" and args.tunnel_decode == [4000, 5000]


def test_bad_numbers_are_refused_where_they_are_parsed() -> None:
    with pytest.raises(UsageError, match="argument -c: '0' must be at least 1"):
        parse("-r", "f", "-c", "0")
    with pytest.raises(UsageError, match=r"--ring-bytes: '2T' is not a size tapwatch can hold"):
        parse("-r", "f", "--ring-bytes", "2T")
    assert parse("--create", "t", "--ring-bytes", "1k").ring_bytes == 1024
    assert parse("--create", "t", "-s", "0").snaplen == 262144  # tcpdump's "all"


# ----- tunnel ------------------------------------------------------------------------------


def test_no_tunnel_flags_no_tunnel() -> None:
    assert tunnel_options(parse("--create", "t")) is None


def test_a_listening_tunnel_takes_the_default_port_and_frame_limit() -> None:
    t = tunnel_options(parse("--attach", "t", "--tunnel-listen", "--tunnel-udp"))
    assert t is not None
    assert (t.role, t.endpoint.host, t.endpoint.port, t.transport, t.max_frame) == (
        "server",
        "",
        55555,
        "udp",
        2000,
    )


def test_a_connecting_tunnel_names_an_address() -> None:
    t = tunnel_options(
        parse("--create", "t", "--tunnel-connect", "[fd00::2]:4000", "--tunnel-max-frame", "1500")
    )
    assert t is not None and (t.role, t.endpoint.host, t.endpoint.port, t.max_frame) == (
        "client",
        "fd00::2",
        4000,
        1500,
    )
    with pytest.raises(TapwatchError, match="resolves no host names"):
        tunnel_options(parse("--create", "t", "--tunnel-connect", "peer.example"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--create", "t", "--tunnel-udp"], "--tunnel-udp goes with --tunnel-listen"),
        (["--create", "t", "--tunnel-max-frame", "9"], "--tunnel-max-frame goes with"),
        (["--observe", "e", "--tunnel-listen"], "a tunnel carries a device's frames"),
        (["--create", "t", "--tunnel-listen", "--reply"], "with a tunnel the far end does"),
    ],
)
def test_tunnel_flags_that_do_not_go_together(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        tunnel_options(parse(*argv))


# ----- sources -----------------------------------------------------------------------------


def test_the_demo_brings_its_own_device_addresses_and_replies() -> None:
    src = source_options(parse("--demo"))
    assert src.create and src.demo and src.mode == "reply"
    assert {a.version for a in src.addrs} == {4, 6}


def test_a_device_with_observed_interfaces_and_a_peer_mode() -> None:
    src = source_options(
        parse("--create", "t", "--tap", "-i", "eth0", "--observe", "wg0", "--echo", "--mtu", "68")
    )
    assert (src.device_name, src.tap, src.observe, src.mode, src.mtu) == (
        "t",
        True,
        ["eth0", "wg0"],
        "echo",
        68,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to watch"),
        (["-r", "f", "--observe", "e"], "-r reads a file"),
        (["--demo", "--netns", "n"], "--demo makes its own namespace"),
        (["--attach", "t", "--tap"], "--tap goes with --create"),
        (["-r", "f", "--netns", "n"], r"device settings \(--addr"),
        (["-r", "f", "--replay", "g"], "--echo, --reply and --replay need a device"),
        (["--observe", "e", "--mtu", "1400"], "--observe is read-only"),
        (["--create", "t", "--mtu", "65536"], r"--mtu 65536 is out of range \(68-65535\)"),
        (["--create", "t", "--peer", "10.0.0.1"], "--peer narrows --reply"),
    ],
)
def test_sources_that_do_not_go_together(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        source_options(parse(*argv))


def test_a_bad_address_is_an_error_not_a_usage_error() -> None:
    with pytest.raises(TapwatchError, match=r"invalid address '10\.0\.0\.1/33'") as info:
        source_options(parse("--create", "t", "--addr", "10.0.0.1/33"))
    assert not isinstance(info.value, UsageError)


# ----- output ------------------------------------------------------------------------------


def test_rotation_sizes_are_tcpdumps_millions_of_bytes() -> None:
    out = output_options(parse("--create", "t", "-w", "cap", "-C", "2", "-W", "3"))
    assert (out.write, out.file_size, out.file_count, out.rotates) == ("cap", 2_000_000, 3, True)
    assert not output_options(parse("--create", "t", "-w", "-")).rotates


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-r", "same", "-w", "same"], "-r and -w name the same file"),
        (["--create", "t", "-G", "60"], "-C, -G and -W rotate the file -w writes"),
        (["--create", "t", "-w", "-", "-C", "1"], "give -w a file name, not -"),
        (["--create", "t", "-w", "f", "-W", "2"], "-W goes with -C or -G"),
        (["--create", "t", "-w", "f", "-C", "0"], r"-C 0: invalid file size"),
    ],
)
def test_output_flags_that_do_not_go_together(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        output_options(parse(*argv))


def test_an_unknown_user_is_refused_before_anything_opens() -> None:
    with pytest.raises(Failure, match="-Z no-such-user-here: no such user"):
        output_options(parse("--create", "t", "-Z", "no-such-user-here"))
    out = output_options(parse("--create", "t", "-Z", "root"))
    assert out.owner == (0, 0)


# ----- printing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_count", "hex_ascii", "ascii_count", "style"),
    [
        (0, 0, 0, ""),
        (1, 0, 0, "x"),
        (2, 0, 0, "xx"),
        (0, 1, 0, "X"),
        (2, 1, 0, "XX"),  # -X with -xx: tcpdump shows the link header too
        (1, 1, 1, "X"),
        (0, 0, 2, "AA"),
        (1, 0, 1, "x"),
    ],
)
def test_the_dump_follows_tcpdumps_precedence(
    hex_count: int, hex_ascii: int, ascii_count: int, style: str
) -> None:
    assert dump_style(hex_count, hex_ascii, ascii_count) == style


def test_line_flags_make_the_line_format() -> None:
    p = print_options(parse("--create", "t", "-tttttt", "-e", "-vv", "-S", "-s", "96", "-l"))
    fmt = p.fmt
    assert (fmt.time, fmt.link, fmt.verbose, fmt.absolute, fmt.snaplen) == (5, True, 2, True, 96)
    assert p.line_buffered and not p.headless


def test_a_files_lines_show_what_the_file_holds_whatever_s_says() -> None:
    assert print_options(parse("-r", "f", "-s", "96")).fmt.snaplen is None
    assert validate(parse("-r", "f", "-s", "96")).snaplen is None


def test_print_beside_w_means_lines_not_the_ui() -> None:
    opts = validate(parse("-r", "f", "-w", "g", "--print"))
    assert opts.printing.headless and not opts.wants_ui
    assert not validate(parse("--create", "t", "-c", "5")).wants_ui


# ----- what the install is ------------------------------------------------------------------


def test_version_says_which_decoder_runs_and_why_it_is_pure_python() -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, TAPWATCH_PURE_PYTHON="1")
    r = subprocess.run(
        [sys.executable, "-m", "tapwatch", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0
    version, decoder, relay = r.stdout.splitlines()
    assert version.startswith("tapwatch ")
    assert decoder == "decoder: pure Python (TAPWATCH_PURE_PYTHON is set)"
    assert relay == "tunnel relay: Python (TAPWATCH_PURE_PYTHON is set)"


def test_a_fresh_install_s_compiled_decoder_is_not_taken_for_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install .`` unpacks each compiled module a moment before its source (the wheel
    lists ``core.cpython-311-...so`` before ``core.py``): a source that much newer is the
    same install, not an edit, so the compiled decoder runs. An edit made later is stale."""
    import importlib.machinery

    from tapwatch.decode import _pure

    source = tmp_path / "core.py"
    built = tmp_path / ("core" + importlib.machinery.EXTENSION_SUFFIXES[0])
    source.write_text("")
    built.write_bytes(b"")
    monkeypatch.setattr(_pure, "_SOURCES", {"tapwatch.decode.core": source})
    t = 1_800_000_000.0
    os.utime(built, (t, t))
    os.utime(source, (t + 0.0003, t + 0.0003))  # as pip unpacked them, measured
    assert not _pure.stale()
    os.utime(source, (t + 120, t + 120))  # edited two minutes after the build
    assert _pure.stale()


def test_a_filter_without_libpcap_is_one_line_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ctypes
    import ctypes.util

    from tapwatch import filters, pcap
    from tapwatch.cli import main

    path = tmp_path / "one.pcap"
    with pcap.open_writer(str(path), 101) as w:
        w.write(1_700_000_000_000_000_000, b"\x45" + bytes(19))

    def missing(*args: object, **kw: object) -> None:
        raise OSError("libpcap.so: cannot open shared object file")

    monkeypatch.setattr(filters, "_lib", None)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(ctypes, "CDLL", missing)
    assert main(["-r", str(path), "icmp"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "tapwatch: filters need libpcap, which is not installed "
        "(install it: apt-get install libpcap0.8)"
    )


def test_ctrl_c_while_the_flags_are_read_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under load the first second goes on imports; a Ctrl-C then must not be a traceback."""
    from tapwatch.cli import main, validation

    def interrupted(args: argparse.Namespace) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(validation, "validate", interrupted)
    assert main(["-r", "any.pcap"]) == 130
    assert capsys.readouterr().err == "tapwatch: interrupted before capture started\n"
