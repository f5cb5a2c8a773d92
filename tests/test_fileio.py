"""callplay.fileio: the files callplay writes where the user said (--report, --out, --write-config, convert).

Whole or not at all for a regular file; a FIFO, a device or /dev/stdout is written through, never replaced;
a directory or a missing folder is a usage error (exit 2) that names the path.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from contextlib import suppress
from pathlib import Path

import pytest

from callplay import fileio
from callplay.emulator.app import EmulatorServer
from callplay.errors import ExitCode, UsageError
from tests.audio import gen
from tests.conftest import run_cli


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _only(folder: Path) -> list[str]:
    """What is in `folder`: a temporary file left behind would show here."""
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return gen.write(tmp_path / "in" / "ok.wav", 16000)


# ------------------------------------------------------------------------------------------ regular files


def test_a_new_file_gets_the_umask_mode_and_nothing_else_is_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fileio.write_bytes(out / "report.xml", b"<x/>")
    assert (out / "report.xml").read_bytes() == b"<x/>"
    assert _mode(out / "report.xml") == 0o666 & ~_umask()
    assert _only(out) == ["report.xml"]


def test_a_replaced_file_is_a_new_inode_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_bytes(b"old")
    path.chmod(0o640)
    before = path.stat().st_ino
    fileio.write_bytes(path, b"new")
    # A new inode: a reader that had the old file open keeps the old, whole contents.
    assert path.read_bytes() == b"new" and path.stat().st_ino != before
    assert _mode(path) == 0o640
    assert _only(tmp_path) == ["report.xml"]


def test_a_secret_is_0600_new_or_replacing_a_readable_file(tmp_path: Path) -> None:
    fresh, wide = tmp_path / "fresh.toml", tmp_path / "wide.toml"
    wide.write_bytes(b"old")
    wide.chmod(0o644)
    fileio.write_bytes(fresh, b"key = 1", secret=True)
    fileio.write_bytes(wide, b"key = 2", secret=True)
    assert (_mode(fresh), _mode(wide)) == (0o600, 0o600)
    assert wide.read_bytes() == b"key = 2"


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, failure: type[BaseException]
) -> None:
    path = tmp_path / "emulator.toml"
    path.write_bytes(b"whole")
    with pytest.raises(failure), fileio.open_output(path, secret=True) as stream:
        stream.write(b"half")
        raise failure()
    assert path.read_bytes() == b"whole"
    assert _only(tmp_path) == ["emulator.toml"]


def test_through_a_symlink_the_file_it_names_is_replaced_and_the_link_kept(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "report.xml"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "report.xml"
    link.symlink_to(target)
    fileio.write_bytes(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


# ------------------------------------------------------------------------------ what is not a regular file


def _read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as fifo:
            into.append(fifo.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def _unblock(path: Path, reader: threading.Thread) -> None:
    """A reader still waiting for a writer (the command failed first) gets EOF instead of hanging the run."""
    reader.join(5)  # after a write it ends by itself: the writer's close is its EOF
    if reader.is_alive():
        with suppress(OSError):  # ENXIO: it has just let go of the FIFO after all
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)


def test_validate_audio_report_into_a_fifo_leaves_the_fifo(tmp_path: Path, wav: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    try:
        result = run_cli("validate-audio", str(wav), "--target", "acs", "--report", str(fifo))
    finally:
        _unblock(fifo, reader)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert ET.fromstring(got[0]).tag == "testsuites"
    assert _only(tmp_path) == ["in", "report.fifo"]


def test_a_character_device_is_written_through() -> None:
    fileio.write_bytes("/dev/null", b"nothing")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dash_is_standard_output(wav: Path) -> None:
    result = run_cli("validate-audio", str(wav), "--target", "acs", "--report", "-", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert "<testsuites" in result.stdout and not Path("-").exists()


def test_report_to_dev_stdout_appends_to_what_stdout_already_is(tmp_path: Path, wav: Path) -> None:
    # A real process: /dev/stdout is the process's own descriptor 1, here a file with a line in it already
    # (opening /dev/stdout again would start at offset 0 over that line; os.replace would swap /dev/stdout).
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    args = ["validate-audio", str(wav), "--target", "acs", "--format", "github", "--report", "/dev/stdout"]
    with open(log, "ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "callplay", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert text.startswith("before\n") and "<testsuites" in text
    assert os.path.islink("/dev/stdout") or not os.path.exists("/dev/stdout")  # never a regular file


# --------------------------------------------------------------------------------- refused, with a hint


def test_a_directory_is_exit_2_for_every_output_option(tmp_path: Path, wav: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for args in (
        ("validate-audio", str(wav), "--target", "acs", "--report", str(folder)),
        ("chime", "lambda-package", "--out", str(folder)),
        ("emulator", "serve", "--port", "0", "--tls-port", "0", "--write-config", str(folder)),
    ):
        result = run_cli(*args)
        assert result.exit_code == ExitCode.USAGE, (args, result.stderr)
        assert f"{folder} is a directory" in result.stderr and "hint: give a file name" in result.stderr
        assert "Traceback" not in result.stderr
    assert _only(tmp_path) == ["a-folder", "in"]  # no a-folder.tmp beside it
    assert _only(folder) == []


def test_a_missing_folder_is_created_for_the_report(tmp_path: Path, wav: Path) -> None:
    report = tmp_path / "reports" / "sub" / "report.xml"
    result = run_cli("validate-audio", str(wav), "--target", "acs", "--report", str(report), "-o", "json")
    assert result.exit_code in (ExitCode.OK, ExitCode.AUDIO_INVALID), result.stderr
    assert report.read_text().startswith("<?xml")


def test_a_folder_under_a_regular_file_is_exit_2_naming_it(tmp_path: Path, wav: Path) -> None:
    (tmp_path / "file").write_text("x")
    report = tmp_path / "file" / "sub" / "report.xml"
    result = run_cli("validate-audio", str(wav), "--target", "acs", "--report", str(report), "-o", "json")
    assert result.exit_code == ExitCode.USAGE
    error = result.json()["error"]
    assert error["code"] == "usage" and str(report) in error["message"]


def test_an_unwritable_folder_names_the_path_and_says_what_to_do(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root: permissions do not stop it, so ask the message-maker directly
            err = fileio.output_error(
                locked / "r.xml", PermissionError(13, "Permission denied"), option="--report", example="r.xml"
            )
        else:
            with pytest.raises(UsageError) as raised:
                fileio.write_output(locked / "r.xml", b"x", option="--report", example="r.xml")
            err = raised.value
    finally:
        locked.chmod(0o700)
    assert err.exit_code == ExitCode.USAGE
    assert err.message == f"cannot write --report {locked / 'r.xml'}: Permission denied"
    assert err.hint == f"the folder {locked} is not writable here: choose another path for --report"


# ------------------------------------------------------------------------------------ the emulator's config


def test_write_config_replaces_a_readable_file_with_a_whole_0600_one(emulator: EmulatorServer, tmp_path: Path) -> None:
    path = tmp_path / "emu.toml"
    path.write_text("# an old config anyone could read\n")
    path.chmod(0o644)
    emulator.write_config(path)
    assert _mode(path) == 0o600
    assert path.read_text().startswith("# Written by `callplay emulator serve`")
    assert _only(tmp_path) == ["emu.toml"]
