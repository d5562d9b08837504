"""The files tapwatch writes: private (0600), the sudo user's, and never the file being read.

``tapwatch -r X -w ./X`` truncated a 2M-packet capture and reported success;
the writer now compares device and inode with every file being read before it
truncates anything, through symlinks and hard links too.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW
from tapwatch.pcap import (
    FileId,
    PcapError,
    RotatingWriter,
    export,
    file_id,
    open_writer,
    read_capture,
    writer_like,
)
from tapwatch.ring import Record

ROOT = str(Path(__file__).resolve().parents[1])
TS0 = 1_700_000_000_000_000_000
PKT = bytes.fromhex("4500001c00010000400100000a0000010a000002") + bytes(8)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask 022, which would leave a plain open() file world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def make_capture(path: Path, count: int = 50, suffix_fmt: str | None = None) -> bytes:
    with open_writer(str(path), LINKTYPE_RAW, fmt=suffix_fmt) as w:
        for i in range(count):
            w.write(TS0 + i, PKT, Direction.OUTBOUND)
    return path.read_bytes()


def every_writer(tmp_path: Path) -> dict[str, Callable[[], list[str]]]:
    """Each way tapwatch creates a capture file; each returns the files it made."""

    def pcap() -> list[str]:
        with open_writer(str(tmp_path / "a.pcap"), LINKTYPE_RAW):
            pass
        return [str(tmp_path / "a.pcap")]

    def pcapng() -> list[str]:
        with open_writer(str(tmp_path / "a.pcapng"), LINKTYPE_RAW):
            pass
        return [str(tmp_path / "a.pcapng")]

    def exported() -> list[str]:
        export(str(tmp_path / "e.pcapng"), [Record(1, TS0, 2, PKT)], LINKTYPE_RAW)
        return [str(tmp_path / "e.pcapng")]

    def copied() -> list[str]:
        src = tmp_path / "src.pcap"
        make_capture(src, 2)
        with read_capture(str(src)) as cap, writer_like(cap, str(tmp_path / "c.pcap")) as w:
            for r in cap:
                w.write(r.ts_ns, r.data, r.direction, r.orig_len)
        return [str(tmp_path / "c.pcap")]

    def rotated() -> list[str]:
        with RotatingWriter(str(tmp_path / "r.pcapng"), LINKTYPE_RAW, file_size=200) as w:
            for i in range(8):
                w.write(TS0 + i, PKT)
        assert len(w.files) > 2
        return w.files

    return {
        "pcap": pcap,
        "pcapng": pcapng,
        "export": exported,
        "writer_like": copied,
        "rotating": rotated,
    }


@pytest.mark.parametrize("kind", ["pcap", "pcapng", "export", "writer_like", "rotating"])
def test_created_files_are_private(tmp_path: Path, kind: str, open_umask: None) -> None:
    """Captures hold secrets: mode 0600 whatever the umask, as Wireshark's dumpcap does."""
    for name in every_writer(tmp_path)[kind]():
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600, name


@needs_root
@pytest.mark.parametrize("kind", ["pcap", "pcapng", "export", "writer_like", "rotating"])
def test_created_files_belong_to_the_sudo_user(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_UID", "65534")
    monkeypatch.setenv("SUDO_GID", "65533")
    for name in every_writer(tmp_path)[kind]():
        st = os.stat(name)
        assert (st.st_uid, st.st_gid) == (65534, 65533), name
        assert stat.S_IMODE(st.st_mode) == 0o600


@needs_root
def test_sudo_owner_in_a_fresh_process(tmp_path: Path) -> None:
    """The whole path as `sudo tapwatch -w` runs it: environment set by sudo, not by the test."""
    out = tmp_path / "cap.pcapng"
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", PYTHONPATH=ROOT)
    code = (
        "import sys; from tapwatch.pcap import open_writer; "
        "w = open_writer(sys.argv[1], 101); w.write(1, bytes(20)); w.close()"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(out)], env=env, capture_output=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    st = out.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o600)


def test_overwriting_keeps_nothing_of_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "old.pcap"
    make_capture(path, 100)
    with open_writer(str(path), LINKTYPE_RAW) as w:
        w.write(TS0, PKT)
    with read_capture(str(path)) as cap:
        assert len(list(cap)) == 1 and not cap.truncated


# --------------------------------------------------------------------------- same file


def names_for_the_input(tmp_path: Path, src: Path) -> dict[str, str]:
    """Every way to name the file being read: itself, ./relative, a symlink, a hard link."""
    (tmp_path / "link.pcap").symlink_to(src)
    os.link(src, tmp_path / "hard.pcap")
    (tmp_path / "sub").mkdir()
    return {
        "same path": str(src),
        "relative": os.path.relpath(src),
        "dotted": str(tmp_path / "sub" / ".." / src.name),
        "symlink": str(tmp_path / "link.pcap"),
        "hard link": str(tmp_path / "hard.pcap"),
    }


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_writing_over_the_input_is_refused(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-r X -w X` in every spelling: refused before the input is touched."""
    monkeypatch.chdir(tmp_path)
    src = tmp_path / f"in.{fmt}"
    original = make_capture(src, suffix_fmt=fmt)
    for how, target in names_for_the_input(tmp_path, src).items():
        with read_capture(str(src)) as cap:
            with pytest.raises(PcapError) as exc:
                writer_like(cap, target)  # protects its own capture
            assert str(exc.value).startswith(f"refusing to write {target}: it is the capture"), how
            assert "\n" not in str(exc.value)
            with pytest.raises(PcapError, match="refusing to write"):
                open_writer(target, LINKTYPE_RAW, inputs=[cap.identity])
            with pytest.raises(PcapError, match="refusing to write"):
                RotatingWriter(target, LINKTYPE_RAW, file_size=1000, inputs=[cap.identity])
            assert [r.data for r in cap] == [PKT] * 50, how  # still readable, all of it
        assert src.read_bytes() == original, how


def test_input_read_from_stdin_is_protected(tmp_path: Path) -> None:
    """`tapwatch -r - -w X < X`: standard input's file is the one being read."""
    src = tmp_path / "in.pcap"
    original = make_capture(src)
    code = (
        "import sys; from tapwatch.pcap import read_capture, writer_like, PcapError\n"
        "cap = read_capture('-')\n"
        "try:\n"
        "    writer_like(cap, sys.argv[1])\n"
        "except PcapError as e:\n"
        "    print(e)\n"
    )
    with src.open("rb") as stdin:
        res = subprocess.run(
            [sys.executable, "-c", code, str(src)],
            stdin=stdin,
            env=dict(os.environ, PYTHONPATH=ROOT),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert res.stdout.startswith(f"refusing to write {src}: it is the capture being read"), res
    assert src.read_bytes() == original


@pytest.mark.parametrize("via_stdin", [False, True])
def test_standard_output_appending_to_the_input_is_refused(tmp_path: Path, via_stdin: bool) -> None:
    """`tapwatch -r V -w - >> V` would read what it writes, for ever."""
    src = tmp_path / "V.pcap"
    original = make_capture(src, 5)
    cmd = [sys.executable, "-m", "tapwatch", "-r", "-" if via_stdin else str(src), "-w", "-"]
    with src.open("rb") as stdin, src.open("ab") as stdout:
        res = subprocess.run(
            cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60
        )
    assert res.returncode == 1
    shown = "standard input" if via_stdin else str(src)
    assert res.stderr == (
        f"tapwatch: refusing to write standard output: it is the capture being read ({shown}); "
        "choose another output\n"
    )
    assert src.read_bytes() == original


def test_rotation_into_the_input_is_refused(tmp_path: Path) -> None:
    """`-r cap.pcap1 -w cap.pcap -C 1`: the second file would be the input."""
    src = tmp_path / "cap.pcap1"
    original = make_capture(src, 200)
    with read_capture(str(src)) as cap:
        w = RotatingWriter(
            str(tmp_path / "cap.pcap"), LINKTYPE_RAW, file_size=2000, inputs=[cap.identity]
        )
        with pytest.raises(PcapError, match=r"refusing to write .*cap\.pcap1"):
            for r in cap:
                w.write(r.ts_ns, r.data)
        w.close()
    assert src.read_bytes() == original


def test_file_identity() -> None:
    assert file_id(io.BytesIO(b"x")) is None
    assert file_id("/nonexistent/file") is None
    ident = file_id(os.devnull)
    assert isinstance(ident, FileId) and ident.name == os.devnull
    st = os.stat(os.devnull)
    assert ident.same(st) and (ident.dev, ident.ino) == (st.st_dev, st.st_ino)
    with read_capture(io.BytesIO(b"\xd4\xc3\xb2\xa1" + bytes(20))) as cap:
        assert cap.identity is None
