"""One test per documented exit code (README, "Exit codes"), each through the real CLI: in-process through
callplay.cli.main, and a real process for the interrupt (the signal and the process's own exit status)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import numpy as np
import soundfile as sf

from callplay.errors import ExitCode
from callplay.ledger import Ledger
from tests.conftest import run_cli, spawn_cli, wait_until


def test_0_ok_demo_profile_plays_into_the_embedded_emulator() -> None:
    result = run_cli("play", "demo-call", "--tts", "Hello from callplay", "--wait", "-o", "json")
    assert result.exit_code == ExitCode.OK, result.stderr
    data = result.json()["data"]
    assert data["profile"] == "demo" and data["state"] == "finished"
    assert [e["type"] for e in data["events"]] == ["PlayStarted", "PlayCompleted"]


def test_1_unexpected_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    state = tmp_path / "corrupt-state"
    state.mkdir()
    (state / "ledger.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run_cli("play", "demo-call", "--tts", "hi", env={"CALLPLAY_STATE_DIR": str(state)})
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.startswith("error: unexpected error") and "Traceback" not in result.stderr
    assert "CALLPLAY_DEBUG=1" in result.stderr
    debug = run_cli("play", "demo-call", "--tts", "hi", env={"CALLPLAY_STATE_DIR": str(state), "CALLPLAY_DEBUG": "1"})
    assert "Traceback" in debug.stderr


def test_2_usage() -> None:
    for args in (("play", "c1"), ("volume", "c1", "50"), ("play", "c1", "silence:abc"), ("play", "c1", "-o", "xml")):
        result = run_cli(*args)
        assert result.exit_code == ExitCode.USAGE, (args, result.stderr)
        assert result.stderr.startswith("error: ") and "hint: " in result.stderr
    assert run_cli("play").exit_code == ExitCode.USAGE  # Typer's own: missing argument


def test_3_configuration(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[profiles.x\n")
    assert run_cli("profiles", "list", env={"CALLPLAY_CONFIG": str(cfg)}).exit_code == ExitCode.CONFIG


def test_4_not_supported_by_this_provider() -> None:
    result = run_cli("pause", "demo-call", "--control-id", "cp-1")
    assert result.exit_code == ExitCode.UNSUPPORTED
    assert "Azure Communication Services" in result.stderr


def test_5_provider_rejected(config_file: Path) -> None:
    result = run_cli("play", "no-such-call", "--tts", "hi", "-p", "emulator-acs")
    assert result.exit_code == ExitCode.REJECTED
    assert "8522" in result.stderr


def test_6_unavailable(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[profiles.d]\nprovider = "acs"\nendpoint = "http://127.0.0.1:{port}"\naccess_key = "a2V5"\nretries = 0\n'
    )
    cfg.chmod(0o600)
    assert run_cli("stop", "c1", env={"CALLPLAY_CONFIG": str(cfg)}).exit_code == ExitCode.UNAVAILABLE


def test_7_audio_validation_failed(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    sf.write(path, np.zeros((4410, 2)), 44100, subtype="PCM_16")
    result = run_cli("validate-audio", str(path), "--target", "acs")
    assert result.exit_code == ExitCode.AUDIO_INVALID, result.stderr


def test_130_interrupted_loop_is_stopped_on_the_call() -> None:
    proc = spawn_cli("loop", "demo-call", "--tts", "hold on", "--wait", "-o", "json")
    try:
        # The CLI records the playback once the embedded emulator has started it, just before it waits.
        wait_until(lambda: Ledger.default().for_call("demo-call", "demo") or proc.poll() is not None)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "stopped playback" in err
