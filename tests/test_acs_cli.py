"""ACS end to end: the CLI (in-process; a real process for signals and `emulator serve`), the real ACS SDK, the
in-process emulator's ACS face."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

from callplay.emulator.app import EmulatorServer
from tests.conftest import emulator_call, emulator_playbacks, run_cli, spawn_cli, wait_until, web
from tests.conftest import media_url as media

P = ("-p", "emulator-acs")


def test_play_file_waits_for_completion(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, media(emulator, "hold-16k.wav"), "--wait", *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    env = result.json()
    assert env["ok"] is True and env["command"] == "play" and env["version"] == 1
    data = env["data"]
    assert data["state"] == "finished"
    assert [e["type"] for e in data["events"]] == ["PlayStarted", "PlayCompleted"]
    assert all(e["control_id"] == data["control_id"] for e in data["events"])
    record = emulator_call(emulator, call_id)["playbacks"][-1]
    assert record["handle"] == data["control_id"]  # the control ID travelled as operationContext
    assert record["state"] == "finished"


def test_tts_ssml_and_several_items_to_one_participant(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    ssml = '<speak version="1.0" xml:lang="en-US"><voice name="en-US-JennyNeural">Hi</voice></speak>'
    result = run_cli(
        "play", call_id, media(emulator, "prompt-8k.wav").replace("prompt-8k", "hold-16k"), f"ssml:{ssml}",
        "--tts", "Please hold", "--to", "4:+14255550123", "--wait", *P, "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["targets"] == ["4:+14255550123"]
    assert data["sources"][1].startswith("ssml:") and data["sources"][2] == "tts:Please hold"
    played = emulator_call(emulator, call_id)["playbacks"][-1]
    assert [i["kind"] for i in played["items"]] == ["audio", "ssml", "tts"]
    assert played["targets"] == ["4:+14255550123"]


def test_stereo_44k_wav_fails_with_8535(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, media(emulator, "stereo-44k.wav"), "--wait", *P, "-o", "json")
    assert result.exit_code == 5
    env = result.json()
    assert env["ok"] is False and env["error"]["code"] == "play_failed"
    failed = env["data"]["events"][-1]
    assert failed["type"] == "PlayFailed" and failed["detail"]["subCode"] == 8535
    assert "8535" in result.stderr and result.stderr.count("\n") == 2  # one line + hint, no traceback


def test_loop_then_stop(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    started = run_cli("loop", call_id, media(emulator, "hold-16k.wav"), *P, "-o", "json")
    assert started.exit_code == 0, started.stderr
    control_id = started.json()["data"]["control_id"]
    assert started.json()["data"]["loop"] == 0
    _wait_state(emulator, call_id, control_id, "playing")
    stopped = run_cli("stop", call_id, *P, "-o", "json")
    assert stopped.exit_code == 0, stopped.stderr
    data = stopped.json()["data"]
    assert data["control_id"] == control_id and data["state"] == "stopped"
    _wait_state(emulator, call_id, control_id, "canceled")
    status = run_cli("stream-status", call_id, *P, "-o", "json").json()["data"]
    assert [p["state"] for p in status["playbacks"] if p["control_id"] == control_id] == ["stopped"]


def test_loop_wait_sigterm_stops_the_music(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    proc = spawn_cli("loop", call_id, media(emulator, "hold-16k.wav"), "--wait", *P)
    try:
        handle = _wait_any_playing(emulator, call_id)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "stopped playback" in err
    _wait_state(emulator, call_id, handle, "canceled")


def test_stream_status_shows_call_participants_and_playbacks(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    run_cli("play", call_id, "--tts", "hello", "--wait", *P)
    result = run_cli("stream-status", call_id, *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["state"] == "connected"
    assert data["media_streaming"]["state"] in ("disabled", "inactive", "active")
    assert {p["raw_id"] for p in data["participants"]} >= {"4:+14255550123"}
    assert data["playbacks"][-1]["sources"] == ["tts:hello"]
    assert data["playbacks"][-1]["state"] == "finished"
    table = run_cli("stream-status", call_id, *P)
    assert "Participants" in table.stdout and "Playbacks" in table.stdout


def test_unsupported_verbs_name_acs_and_the_alternative(config_file: Path, call_id: str) -> None:
    for args in (("pause", call_id), ("resume", call_id), ("volume", call_id, "-6")):
        result = run_cli(*args, *P)
        assert result.exit_code == 4, (args, result.stderr)
        assert "Azure Communication Services" in result.stderr
        assert "callplay stop" in result.stderr


def test_dry_run_shows_the_exact_request_and_sends_nothing(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    result = run_cli("play", call_id, "--tts", "hi", "--to", "8:acs:emulator-agent-0001", "--dry-run", *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    request = data["request"]
    assert request["method"] == "POST"
    assert request["url"].endswith(f"/calling/callConnections/{call_id}:play?api-version=2026-03-12")
    assert request["body"]["operationContext"] == data["control_id"]
    assert request["body"]["playTo"] == [
        {"rawId": "8:acs:emulator-agent-0001", "communicationUser": {"id": "8:acs:emulator-agent-0001"}}
    ]
    assert emulator_call(emulator, call_id)["playbacks"] == []
    key = emulator.world.credentials["acs"]["access_key"]
    assert key not in result.stdout + result.stderr


def test_wrong_access_key_is_exit_5_about_authentication(
    emulator: EmulatorServer, tmp_path: Path, call_id: str
) -> None:
    cfg = _config(tmp_path, endpoint=emulator.http_url, access_key="d3Jvbmcta2V5LXdyb25nLWtleQ==")
    result = run_cli("play", call_id, "--tts", "hi", env={"CALLPLAY_CONFIG": str(cfg)})
    assert result.exit_code == 5
    assert "authentication" in result.stderr.lower() and "7509" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_call_is_exit_5(config_file: Path) -> None:
    result = run_cli("play", "no-such-call", "--tts", "hi", *P)
    assert result.exit_code == 5
    assert "not found" in result.stderr and "8522" in result.stderr


def test_stopped_emulator_is_exit_6(tmp_path: Path) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    cfg = _config(tmp_path, endpoint=f"http://127.0.0.1:{port}", access_key="a2V5", retries=0)
    result = run_cli("play", "c1", "--tts", "hi", env={"CALLPLAY_CONFIG": str(cfg)}, timeout=60)
    assert result.exit_code == 6, result.stderr
    assert "cannot reach ACS" in result.stderr and "hint:" in result.stderr


def test_emulator_serve_writes_a_working_config(tmp_path: Path) -> None:
    cfg = tmp_path / "emu.toml"
    proc = spawn_cli(
        "emulator", "serve", "--port", "0", "--tls-port", "0",
        "--call", "runbook-call", "--write-config", str(cfg), "--speed", "20",
    )  # fmt: skip
    try:
        wait_until(lambda: cfg.exists() or proc.poll() is not None)
        assert cfg.exists(), proc.communicate()[1]
        assert cfg.stat().st_mode & 0o777 == 0o600
        env = {"CALLPLAY_CONFIG": str(cfg)}
        result = run_cli(
            "play", "runbook-call", "--tts", "hello", "--wait", "-p", "emulator-acs", "-o", "json", env=env
        )
        assert result.exit_code == 0, result.stderr
        assert result.json()["data"]["state"] == "finished"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert proc.returncode == 0


# ----------------------------------------------------------------------------------------------- helpers


def _config(tmp_path: Path, **settings: Any) -> Path:
    lines = ["[profiles.acs]", 'provider = "acs"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path = tmp_path / "callplay.toml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def _playback(emulator: EmulatorServer, call_id: str, handle: str) -> dict[str, Any] | None:
    found = emulator_playbacks(emulator, call_id, handle)
    return found[0] if found else None


def _wait_state(emulator: EmulatorServer, call_id: str, handle: str, state: str) -> None:
    wait_until(
        lambda: (pb := _playback(emulator, call_id, handle)) is not None and pb["state"] == state,
        describe=lambda: f"{handle} never reached {state}: {_playback(emulator, call_id, handle)}",
    )


def _wait_any_playing(emulator: EmulatorServer, call_id: str) -> str:
    def playing() -> str:
        return next(
            (str(pb["handle"]) for pb in emulator_call(emulator, call_id)["playbacks"] if pb["state"] == "playing"), ""
        )

    return wait_until(playing, describe=lambda: "nothing started playing")


def test_admin_api_lists_calls(emulator: EmulatorServer, call_id: str) -> None:
    calls = web.get(f"{emulator.http_url}/_emulator/calls").json()["calls"]
    assert call_id in {c["id"] for c in calls}


def test_hangup_ends_a_waiting_play(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    def hang_up_once_playing() -> None:  # the caller hangs up while the CLI waits
        _wait_any_playing(emulator, call_id)
        web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()

    caller = threading.Thread(target=hang_up_once_playing)
    caller.start()
    try:
        result = run_cli("loop", call_id, media(emulator, "hold-16k.wav"), "--wait", *P, "-o", "json")
    finally:
        caller.join(timeout=30)
    assert result.exit_code == 5, result.stderr
    assert "ended before" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "call_ended"
