"""Root's outputs among strangers: what an unprivileged user can plant cannot make root write.

Each case is played as in real life: the stranger (``nobody``, through
``runuser``) prepares names in a directory of their own or in a sticky
world-writable one like /tmp; root then runs tapwatch (as ``sudo`` leaves it:
SUDO_UID/SUDO_GID set, or as plain root). Root's files must come out untouched,
the refusal must be one line on stderr with a non-zero status, and what was
captured before the refusal must still be there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import TAPWATCH, Netns, needs_netns

from tapwatch import pcap
from tapwatch.kinds import Direction
from tapwatch.linktypes import LINKTYPE_RAW

NOBODY = 65534
ROOT_SECRET = b"root:secret:0:0\n" * 64
PKT = bytes.fromhex("4500001c00010000400100000a0000010a000002") + bytes(8)
T0 = 1_700_000_000_000_000_000

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root and runuser"
)
pytestmark = needs_root


def as_nobody(*args: str) -> None:
    """What the stranger does, with the stranger's rights."""
    subprocess.run(["runuser", "-u", "nobody", "--", *args], check=True, timeout=30)


def tapwatch(
    *args: str, sudo: int | None = NOBODY, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Root's tapwatch, run by ``sudo`` from user ``sudo`` (None: run by root itself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    if sudo is not None:
        env.update(SUDO_UID=str(sudo), SUDO_GID=str(sudo))
    return subprocess.run(
        [*TAPWATCH, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


class World:
    """A small file system of strangers: root's secret, nobody's home, a sticky /tmp."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.secret = base / "secret"  # root's, 0600: what the stranger wants destroyed or owned
        self.secret.write_bytes(ROOT_SECRET)
        self.secret.chmod(0o600)
        self.home = base / "home"  # nobody's own directory
        self.home.mkdir()
        os.chown(self.home, NOBODY, NOBODY)
        self.tmp = base / "tmp"  # sticky and world-writable, as /tmp
        self.tmp.mkdir()
        self.tmp.chmod(0o1777)
        self.rootonly = base / "rootonly"  # only root may create files here
        self.rootonly.mkdir()
        self.rootonly.chmod(0o755)
        self.capture = base / "in.pcap"  # what root reads; everyone may read it
        with pcap.open_writer(str(self.capture), LINKTYPE_RAW) as w:
            for i in range(40):
                w.write(T0 + i * 1000, PKT, Direction.OUTBOUND)
        self.capture.chmod(0o644)
        os.chown(self.capture, 0, 0)

    def secret_intact(self) -> None:
        st = self.secret.stat()
        assert self.secret.read_bytes() == ROOT_SECRET
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)


@pytest.fixture
def world() -> Iterator[World]:
    base = Path(tempfile.mkdtemp(prefix="tw-strangers-"))
    base.chmod(0o755)  # nobody may walk in, as into /home or /tmp
    try:
        yield World(base)
    finally:
        shutil.rmtree(base)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ----- -r ... -w ---------------------------------------------------------------------------


def test_a_symlink_in_the_users_directory_is_never_followed(world: World) -> None:
    """`ln -s /root/secret ~/cap.pcap; sudo tapwatch -r x -w ~/cap.pcap` truncated and gave
    away root's file."""
    link = world.home / "cap.pcap"
    as_nobody("ln", "-s", str(world.secret), str(link))
    r = tapwatch("-r", str(world.capture), "-w", str(link))
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert line.startswith(f"tapwatch: refusing to write {link}: it is a symbolic link"), line
    world.secret_intact()


def test_a_dangling_symlink_creates_nothing_where_it_points(world: World) -> None:
    """A link to a name that does not exist yet would let the user choose where root creates."""
    target = world.rootonly / "planted"
    link = world.home / "cap.pcap"
    as_nobody("ln", "-s", str(target), str(link))
    r = tapwatch("-r", str(world.capture), "-w", str(link))
    assert r.returncode == 1 and "symbolic link" in one_line(r.stderr)
    assert not target.exists()


def test_a_file_another_user_made_in_a_sticky_directory_is_refused(world: World) -> None:
    """nobody pre-creates /tmp/cap.pcap (0666, theirs); root's capture must not go into it."""
    planted = world.tmp / "cap.pcap"
    as_nobody("sh", "-c", f"umask 0; : > {planted}; chmod 666 {planted}")
    for sudo in (None, 1):  # plain root, and root through sudo by another user (daemon)
        r = tapwatch("-r", str(world.capture), "-w", str(planted), sudo=sudo)
        assert r.returncode == 1, r.stderr
        line = one_line(r.stderr)
        assert line.startswith(f"tapwatch: refusing to write {planted}: it exists and belongs to")
        assert "nobody" in line
        st = planted.stat()
        assert (st.st_uid, st.st_size) == (NOBODY, 0)
    # the same file is nobody's own: nobody's sudo tapwatch writes over it, as tcpdump -w over
    # an old capture of yours; it stays theirs, and a new file is made theirs, mode 0600
    r = tapwatch("-r", str(world.capture), "-w", str(planted))
    assert r.returncode == 0, r.stderr
    assert planted.stat().st_uid == NOBODY
    assert [rec.data for rec in pcap.read_capture(str(planted))] == [PKT] * 40
    new = world.tmp / "new.pcap"
    assert tapwatch("-r", str(world.capture), "-w", str(new)).returncode == 0
    st = new.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o600)


def test_a_fifo_another_user_made_is_refused_at_once(world: World) -> None:
    """Opening someone's FIFO for writing would wait forever for a reader they control."""
    fifo = world.tmp / "cap.pcap"
    as_nobody("mkfifo", "-m", "666", str(fifo))
    r = tapwatch("-r", str(world.capture), "-w", str(fifo), sudo=None, timeout=20)
    assert r.returncode == 1 and "belongs to nobody" in one_line(r.stderr)


def test_a_hard_link_to_roots_file_is_refused(world: World) -> None:
    """Where hard links to others' files are allowed (fs.protected_hardlinks=0), a link in
    /tmp to root's file is root's file: writing it would rewrite the original."""
    link = world.tmp / "cap.pcap"
    os.link(world.secret, link)  # what nobody could do without protected_hardlinks
    r = tapwatch("-r", str(world.capture), "-w", str(link), sudo=None)
    assert r.returncode == 1 and "hard links" in one_line(r.stderr)
    world.secret_intact()


def test_a_root_file_named_under_sudo_is_refused(world: World) -> None:
    """A user allowed to sudo tapwatch cannot name root's file as the output either."""
    r = tapwatch("-r", str(world.capture), "-w", str(world.secret))
    assert r.returncode == 1
    assert "belongs to root, not to nobody" in one_line(r.stderr)
    world.secret_intact()
    # root itself (no sudo) may still write over its own old capture
    old = world.rootonly / "old.pcap"
    old.write_bytes(b"old")
    assert tapwatch("-r", str(world.capture), "-w", str(old), sudo=None).returncode == 0
    assert len(list(pcap.read_capture(str(old)))) == 40


def test_a_directory_link_another_user_made_is_never_followed(world: World) -> None:
    """`ln -s /etc ~eve/out` by nobody, then root's `-w ~eve/out/x.pcap`: the last
    component was checked, the directories on the way were followed, and root created its
    file where the stranger pointed (here a directory only root may write)."""
    as_nobody("ln", "-s", str(world.rootonly), str(world.home / "out"))
    as_nobody("mkdir", str(world.home / "sub"))
    as_nobody("ln", "-s", "../out", str(world.home / "sub" / "up"))
    root_link = world.base / "rootlink"  # root's own link on the way, then nobody's
    root_link.symlink_to(world.home)
    for target in (
        world.home / "out" / "cap.pcap",
        world.home / "sub" / "up" / "cap.pcap",
        root_link / "out" / "cap.pcap",
        world.home / "sub" / ".." / "out" / "cap.pcap",
    ):
        for sudo in (None, 1):  # plain root, and root through sudo by another user (daemon)
            r = tapwatch("-r", str(world.capture), "-w", str(target), sudo=sudo)
            assert r.returncode == 1, (target, r.stderr)
            line = one_line(r.stderr)
            assert line.startswith(f"tapwatch: refusing to write {target}: "), line
            assert "is a symbolic link that belongs to nobody" in line, line
            assert list(world.rootonly.iterdir()) == []
    # links of root's and of the user who ran sudo are theirs to make: followed
    r = tapwatch("-r", str(world.capture), "-w", str(root_link / "mine.pcap"), sudo=None)
    assert r.returncode == 0, r.stderr
    assert len(list(pcap.read_capture(str(world.home / "mine.pcap")))) == 40
    r = tapwatch("-r", str(world.capture), "-w", str(world.home / "out" / "cap.pcap"))
    assert r.returncode == 0, r.stderr  # (sudo by nobody: nobody's own link)
    assert len(list(pcap.read_capture(str(world.rootonly / "cap.pcap")))) == 40


def test_the_ui_write_key_refuses_a_directory_link(world: World) -> None:
    """The w dialog's path goes through the same walk: nobody's link to root's directory."""
    as_nobody("ln", "-s", str(world.rootonly), str(world.tmp / "exports"))
    env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SUDO_")}
    try:
        errors = write_from_the_ui(world.tmp / "exports" / "x.pcapng")
    finally:
        os.environ.update(env)
    assert len(errors) == 1 and "exports on the way is a symbolic link" in errors[0], errors
    assert list(world.rootonly.iterdir()) == []


def test_rotation_refuses_a_planted_link_and_keeps_what_it_wrote(world: World) -> None:
    """-C opens files later: the second one is a symlink nobody planted in their directory."""
    first = world.home / "cap.pcap"
    as_nobody("ln", "-s", str(world.secret), str(world.home / "cap.pcap1"))
    r = tapwatch("-r", str(world.capture), "-w", str(first), "-C", "1k")
    assert r.returncode == 1
    assert "cap.pcap1: it is a symbolic link" in one_line(r.stderr)
    world.secret_intact()
    kept = list(pcap.read_capture(str(first)))
    assert kept and all(rec.data == PKT for rec in kept)
    assert first.stat().st_uid == NOBODY
    # -W's ring writes over the files this run made (they are the user's by then)
    big = world.base / "big.pcap"
    with pcap.open_writer(str(big), LINKTYPE_RAW) as w:
        for i in range(200):  # 8.8 kB: the ring of two 1 KiB files goes round several times
            w.write(T0 + i, PKT)
    r = tapwatch("-r", str(big), "-w", str(world.tmp / "ring.pcap"), "-C", "1k", "-W", "2")
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in world.tmp.iterdir())
    assert files == ["ring.pcap0", "ring.pcap1"]
    assert all(p.stat().st_uid == NOBODY for p in world.tmp.iterdir())


# ----- live: -Z and --replay ---------------------------------------------------------------


@needs_netns
def test_z_opens_the_live_output_as_that_user(ns: Netns, world: World) -> None:
    """The live -w opened as root before -Z dropped privileges: it could create files where
    the -Z user cannot, and write through links to root's files."""
    r = ns.run(
        [
            *TAPWATCH,
            "--create",
            "tun1",
            "-Z",
            "nobody",
            "--headless",
            "-w",
            str(world.rootonly / "x.pcap"),
        ]
    )
    assert r.returncode == 1
    assert "permission denied" in one_line(r.stderr)
    assert not (world.rootonly / "x.pcap").exists()
    link = world.home / "z.pcap"
    as_nobody("ln", "-s", str(world.secret), str(link))
    r = ns.run([*TAPWATCH, "--create", "tun1", "-Z", "nobody", "--headless", "-w", str(link)])
    assert r.returncode == 1 and "symbolic link" in one_line(r.stderr)
    world.secret_intact()
    assert not ns.link_exists("tun1")


@needs_netns
def test_replay_file_is_never_the_output(ns: Netns, world: World) -> None:
    """`--replay V.pcap -w V.pcap` destroyed V ("replay: 0 packets written")."""
    v = world.base / "V.pcap"
    shutil.copy(world.capture, v)
    original = v.read_bytes()
    (world.base / "V-link.pcap").symlink_to(v)
    os.link(v, world.base / "V-hard.pcap")
    for name in ("V.pcap", "V-link.pcap", "V-hard.pcap"):
        out = world.base / name
        r = ns.run(
            [*TAPWATCH, "--create", "tun1", "--headless", "--replay", str(v), "-w", str(out)],
            timeout=60,
        )
        assert r.returncode == 1, r.stderr
        line = one_line(r.stderr)
        assert "it is the capture being read" in line, line
        assert v.read_bytes() == original, name


# ----- the UI's write key ------------------------------------------------------------------


def write_from_the_ui(target: Path) -> list[str]:
    """Press w in the UI, write to ``target`` (saying yes to "overwrite?"); the errors shown."""
    pytest.importorskip("textual")
    from textual.worker import WorkerCancelled

    from tapwatch.app import TapwatchApp
    from tapwatch.session import Session
    from tapwatch.sources import InterfaceInfo
    from tapwatch.widgets.dialogs.confirm import ConfirmScreen
    from tapwatch.widgets.dialogs.export import ExportScreen

    records = [(T0 + i, Direction.OUTBOUND, PKT) for i in range(5)]
    session = Session.from_records(LINKTYPE_RAW, records, info=InterfaceInfo("tun1", "tun"))

    async def play() -> list[str]:
        app = TapwatchApp(session)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, ExportScreen)
            app.screen.query_one("#export-path").value = str(target)  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause()
            if isinstance(app.screen, ConfirmScreen):  # "exists. Overwrite it?"
                await pilot.press("y")
            for _ in range(200):
                with contextlib.suppress(WorkerCancelled):  # a stale worker another replaced
                    await app.workers.wait_for_complete()
                await pilot.pause(0.02)
                if app._notifications:
                    break
            return [str(n.message) for n in app._notifications if n.severity == "error"]

    return asyncio.run(play())


def test_the_ui_write_key_refuses_a_planted_link(world: World) -> None:
    """The w dialog writes where the user typed: here a link nobody planted in /tmp."""
    link = world.tmp / "export.pcapng"
    as_nobody("ln", "-s", str(world.secret), str(link))
    errors = write_from_the_ui(link)
    assert len(errors) == 1 and "it is a symbolic link" in errors[0], errors
    world.secret_intact()


def test_the_ui_write_key_spares_the_file_being_read(world: World) -> None:
    """`tapwatch -r X`, then w and X: the file being browsed is not an output."""
    pcap.start_run([str(world.capture)])  # as the command line does for -r X
    try:
        errors = write_from_the_ui(world.capture)
    finally:
        pcap.start_run()
    assert len(errors) == 1 and "it is the capture being read" in errors[0], errors
    assert len(list(pcap.read_capture(str(world.capture)))) == 40


def test_only_files_made_in_this_run_are_given_away(world: World) -> None:
    """Ownership is handed over only for files tapwatch created: an existing file of the
    user's is written, never chowned (and root's never becomes theirs)."""
    code = (
        "import sys; from tapwatch import pcap\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        pcap.open_writer(name, 101).close()\n"
        "    except pcap.PcapError as e:\n"
        "        print(e)\n"
    )
    mine = world.home / "mine.pcap"
    as_nobody("sh", "-c", f": > {mine}")
    env = dict(os.environ, SUDO_UID=str(NOBODY), SUDO_GID=str(NOBODY))
    r = subprocess.run(
        [sys.executable, "-c", code, str(mine), str(world.secret)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "belongs to root" in r.stdout
    assert mine.stat().st_uid == NOBODY and mine.stat().st_size > 0
    world.secret_intact()
