"""callplay.cli.main, the entry point: what it returns, and that an in-process call leaves the process as it was
(the tests run the CLI in-process through it); and the console script, which calls it as a real process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from callplay import __version__
from callplay.cli import app, main
from tests.audio import gen
from tests.conftest import run_cli, run_subprocess, spawn_cli


def _stereo_wav(path: Path) -> Path:
    """Speech that ACS refuses (44.1 kHz stereo) and `convert` can fix."""
    return gen.write(path, 44100, 2, seconds=0.5)


def test_main_returns_the_exit_code_and_restores_what_it_changed() -> None:
    def before() -> tuple[object, object, object]:
        return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), sys.excepthook

    seen = before()
    assert main(["--version"]) == 0
    assert before() == seen
    assert main(["no-such-command"]) == 2
    assert before() == seen


def test_usage_errors_exit_2_with_clicks_message_as_error_and_hint_lines() -> None:
    result = run_cli("stream-status")
    assert result.exit_code == 2 and result.stdout == ""
    error, hint = result.stderr.splitlines()
    assert error == "error: missing argument 'CALL'"
    assert (
        hint.startswith("hint: usage: callplay stream-status [OPTIONS]") and "`callplay stream-status --help`" in hint
    )


def test_version_and_help() -> None:
    assert run_cli("--version").stdout == f"callplay {__version__}\n"
    assert "Usage: callplay [OPTIONS] COMMAND" in run_cli().stdout + run_cli().stderr  # no_args_is_help


def test_registration_is_idempotent() -> None:
    run_cli("--help")
    counts = len(app.registered_commands), len(app.registered_groups)
    run_cli("--help")
    run_cli("play", "--help")
    assert (len(app.registered_commands), len(app.registered_groups)) == counts


def test_help_lists_the_commands_in_one_order_whatever_ran_before() -> None:
    # A fresh interpreter, so that the commands really are registered one module at a time.
    code = (
        "import contextlib, io\n"
        "from callplay.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['validate-audio', '--help']), main(['events', '--help']), main(['chime', '--help'])\n"
        "main(['--help'])\n"
    )
    after_others = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    fresh = run_subprocess("--help")
    assert fresh.exit_code == 0
    assert after_others.stdout == fresh.stdout.replace("python -m callplay", "callplay")


def test_validate_audio_in_process_returns_instead_of_ending_the_process(tmp_path: Path) -> None:
    # The command asks main() for os._exit; only a process's own entry point may do that.
    path = _stereo_wav(tmp_path / "stereo.wav")
    assert run_cli("validate-audio", str(path), "--target", "acs", "-o", "json").exit_code == 7
    fixed = run_cli("convert", str(path), "--target", "acs", "--out", str(tmp_path / "out"), "-o", "json")
    assert fixed.exit_code == 0, fixed.stderr
    assert run_cli("validate-audio", str(tmp_path / "out"), "--target", "acs").exit_code == 0


def test_the_console_script_runs_main_as_the_process(tmp_path: Path) -> None:
    script = shutil.which("callplay", path=str(Path(sys.executable).parent))
    assert script is not None, "the callplay console script is not installed in this environment"
    version = subprocess.run([script, "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert (version.returncode, version.stdout) == (0, f"callplay {__version__}\n")
    path = _stereo_wav(tmp_path / "stereo.wav")
    checked = subprocess.run(
        [script, "validate-audio", str(path), "--target", "acs", "--format", "github"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert checked.returncode == 7, checked.stderr  # through os._exit: the exit code and the output survive
    assert checked.stdout.startswith("::error") and "1 file(s): 1 failed" in checked.stdout


def test_the_in_process_runner_puts_the_process_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # validate-audio sets BLAS thread variables for its workers; a subprocess would take them with it.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    env_before = dict(os.environ)
    streams = sys.stdin, sys.stdout, sys.stderr
    path = gen.write(tmp_path / "ok.wav", 16000)
    result = run_cli("validate-audio", str(path), "--target", "acs", "--jobs", "2", env={"CALLPLAY_DEBUG": "1"})
    assert result.exit_code == 0, result.stderr
    assert dict(os.environ) == env_before
    assert (sys.stdin, sys.stdout, sys.stderr) == streams


def test_a_reader_that_stops_reading_does_not_change_the_exit_code() -> None:
    # `| head -1`: the plays were sent and succeeded; the rest of the output has nowhere to go, and that is no
    # failure (click alone would exit 1, silently).
    proc = spawn_cli("play", "--call", "x1", "--call", "x2", "--tts", "hi", "-o", "jsonl")
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["kind"] == "call"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == ""
