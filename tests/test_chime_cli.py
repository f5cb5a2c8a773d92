"""Amazon Chime SDK end to end: the CLI (in-process; a real process for signals and `emulator serve`), boto3,
the emulator's Chime and S3 faces, the Lambda."""

from __future__ import annotations

import signal
import tomllib
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from callplay.emulator.app import EmulatorServer
from callplay.ledger import Ledger
from tests.conftest import emulator_call, run_cli, spawn_cli, wait_until, web
from tests.test_chime_provider import actions, chime_face, invocations, wav_bytes, write_wav

P = ("-p", "emulator-chime")


def s3_client(table: dict[str, Any]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=table["s3_endpoint_url"],
        region_name=table["region"],
        aws_access_key_id=table["aws_access_key_id"],
        aws_secret_access_key=table["aws_secret_access_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_play_local_wav_uploads_and_plays(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    prompt = write_wav(tmp_path / "prompt.wav", seconds=0.4)
    result = run_cli("play", call_id, str(prompt), *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert (data["provider"], data["state"], data["targets"]) == ("chime", "requested", ["LEG-A"])
    [obj] = data["extra"]["objects"]
    bucket, key = obj[len("s3://") :].split("/", 1)
    head = s3_client(chime_face(emulator).profile(emulator)).head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "audio/wav" and head["ContentLength"] == prompt.stat().st_size
    assert wait_until(lambda: "ACTION_SUCCESSFUL" in invocations(emulator, call_id))
    [played] = actions(emulator, call_id)
    assert played["action"] == "PlayAudio" and played["parameters"]["AudioSource"]["Key"] == key


def test_tts_wait_reports_the_lambdas_event(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, "--tts", "Thanks for holding", "--wait", "--timeout", "30", *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["state"] == "finished"
    assert [(e["type"], e["state"], e["control_id"]) for e in data["events"]] == [
        ("ACTION_SUCCESSFUL", "finished", data["control_id"])
    ]
    assert [a["action"] for a in actions(emulator, call_id)] == ["Speak"]
    listed = run_cli("events", "list", "--control-id", data["control_id"], "-o", "json")
    assert [e["type"] for e in listed.json()["data"]["events"]] == ["ACTION_SUCCESSFUL"]


def test_loop_times_and_stop(emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path) -> None:
    prompt = write_wav(tmp_path / "hold.wav", seconds=5.0)  # x 100 = 25 s at 20x: outlasts a slow `stop`
    started = run_cli("loop", call_id, str(prompt), "--times", "100", *P, "-o", "json")
    assert started.exit_code == 0, started.stderr
    control_id = started.json()["data"]["control_id"]
    assert wait_until(lambda: any(s["state"] == "playing" for s in emulator_call(emulator, call_id)["playbacks"]))
    stopped = run_cli("stop", call_id, *P, "-o", "json")
    assert stopped.exit_code == 0, stopped.stderr
    data = stopped.json()["data"]
    assert (data["action"], data["state"], data["control_id"]) == ("stop", "stopped", control_id)
    assert wait_until(lambda: [a["action"] for a in actions(emulator, call_id)] == ["PlayAudio", "Pause"])
    played = actions(emulator, call_id)[0]
    assert played["parameters"]["Repeat"] == "100" and played["result"] == "ACTION_INTERRUPTED"
    update = emulator_call(emulator, call_id)["log"][0]
    assert update["action_data"]["Parameters"]["Arguments"]["control_id"] == control_id


LONG_TEXT = ("Thank you for calling. All of our agents are busy helping other callers. " * 14)[:1000]


def audible(emulator: EmulatorServer, call_id: str) -> list[dict[str, Any]]:
    """The call's playbacks still going that are not silence (a stop answers with a short Pause)."""
    return [
        p
        for p in emulator_call(emulator, call_id)["playbacks"]
        if p["state"] in ("created", "playing", "paused") and any(i["kind"] != "silence" for i in p["items"])
    ]


def test_stop_of_a_speak_says_it_keeps_playing_and_cancels_the_rest(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    """Chime cannot interrupt a Speak (the Developer Guide's interruptible actions are PlayAudio, RecordAudio and
    Pause): stop says what keeps playing and for how long, exits 4, and what follows the Speak never plays."""
    prompt = write_wav(tmp_path / "after.wav", seconds=5.0)
    started = run_cli("play", call_id, f"tts:{LONG_TEXT}", str(prompt), *P, "-o", "json")
    assert started.exit_code == 0, started.stderr
    control_id = started.json()["data"]["control_id"]
    assert wait_until(lambda: audible(emulator, call_id))
    stopped = run_cli("stop", call_id, *P, "-o", "json")
    speaking = audible(emulator, call_id)
    assert stopped.exit_code == 4, stopped.stderr
    envelope = stopped.json()
    assert envelope["ok"] is False and envelope["error"]["code"] == "still_playing"
    assert "cannot interrupt a Speak" in envelope["error"]["message"]
    assert "keeps playing for up to about" in stopped.stderr and "Amazon Chime SDK" in stopped.stderr
    assert (envelope["data"]["state"], envelope["data"]["control_id"]) == ("stopping", control_id)
    [still] = envelope["data"]["still_playing"]
    assert still["source"] == f"tts:{LONG_TEXT}"
    # What callplay said is what the emulator shows: the Speak still going, for no longer than callplay said
    # (callplay reckons in real seconds; the emulator's clock runs faster, so its Speak ends sooner).
    [speak] = speaking
    assert speak["detail"]["action"] == "Speak"
    assert speak["round_s"] - speak["position_s"] <= still["seconds"]
    status = run_cli("stream-status", call_id, *P, "-o", "json").json()["data"]
    assert [p["state"] for p in status["playbacks"] if p["control_id"] == control_id] == ["stopping"]
    # The Speak plays to its end, then the stop's Pause; the PlayAudio after it never starts.
    assert wait_until(lambda: [a["action"] for a in actions(emulator, call_id)] == ["Speak", "Pause"], timeout=30)
    assert actions(emulator, call_id)[0]["result"] == "ACTION_SUCCESSFUL"
    assert wait_until(lambda: not audible(emulator, call_id))
    assert [p["detail"]["action"] for p in emulator_call(emulator, call_id)["playbacks"]] == ["Speak", "Pause"]


def test_stop_after_the_speak_ended_exits_0(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    """Once the Speak is over (here: --wait saw its end), there is nothing a stop cannot end."""
    done = run_cli("play", call_id, "--tts", "Thanks", "--wait", "--timeout", "30", *P, "-o", "json")
    assert done.exit_code == 0, done.stderr
    stopped = run_cli("stop", call_id, *P, "-o", "json")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.json()["data"]["still_playing"] == []


def test_sigterm_during_wait_stops_the_playback(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    prompt = write_wav(tmp_path / "hold.wav", seconds=5.0)
    proc = spawn_cli("loop", call_id, str(prompt), "--times", "100", "--wait", *P)
    try:
        assert wait_until(
            lambda: any(s["state"] == "playing" for s in emulator_call(emulator, call_id)["playbacks"]), timeout=30
        )
        # The CLI records the playback just before it starts waiting (and stopping on a signal).
        assert wait_until(lambda: Ledger.default().for_call(call_id, "emulator-chime"), timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "stopped playback" in err
    assert wait_until(lambda: [a["action"] for a in actions(emulator, call_id)] == ["PlayAudio", "Pause"]), err


def test_failed_playback_exits_5_with_the_error_type(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    bucket = chime_face(emulator).profile(emulator)["bucket"]
    result = run_cli(
        "play", call_id, f"s3://{bucket}/missing/prompt.wav", "--wait", "--timeout", "30", *P, "-o", "json"
    )
    assert result.exit_code == 5, result.stderr
    [event] = result.json()["data"]["events"]
    assert (event["type"], event["state"], event["detail"]["code"]) == ("ACTION_FAILED", "failed", "InvalidAudioSource")


def test_wrong_secret_key_exits_5_without_printing_it(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    wrong = "WrongSecretKeyWrongSecretKeyWrongSecret1"
    result = run_cli("play", call_id, "--tts", "hi", *P, env={"CALLPLAY_AWS_SECRET_ACCESS_KEY": wrong})
    assert result.exit_code == 5, result.stderr
    assert "authentication failed" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.stderr


def test_loop_forever_exits_4_with_the_bound(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    result = run_cli("loop", call_id, str(write_wav(tmp_path / "p.wav")), *P)
    assert result.exit_code == 4
    assert "Amazon Chime SDK" in result.stderr and "100" in result.stderr
    assert emulator_call(emulator, call_id)["log"] == []


def test_60_mb_file_exits_7_before_upload(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(wav_bytes()[:44])
    big.open("r+b").truncate(60_000_000)
    before = sum(chime_face(emulator).store.puts.values())
    result = run_cli("play", call_id, str(big), *P)
    assert result.exit_code == 7 and "50 MB" in result.stderr
    assert sum(chime_face(emulator).store.puts.values()) == before


def test_blank_sma_id_exits_3_before_anything_is_sent(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    result = run_cli("play", call_id, "--tts", "hi", *P, env={"CALLPLAY_SIP_MEDIA_APPLICATION_ID": " "})
    assert result.exit_code == 3 and "sip_media_application_id" in result.stderr
    assert emulator_call(emulator, call_id)["log"] == []


def test_pause_and_volume_exit_4_naming_chime(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    run_cli("play", call_id, "--tts", "hi", *P)
    for args in (("pause", call_id), ("resume", call_id), ("volume", call_id, "-6")):
        result = run_cli(*args, *P)
        assert result.exit_code == 4, (args, result.stderr)
        assert "Amazon Chime SDK" in result.stderr


def test_stream_status_shows_the_ledger_and_says_why_no_state(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    played = run_cli("play", call_id, "--tts", "hello", *P, "-o", "json").json()["data"]
    result = run_cli("stream-status", call_id, *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["state"] is None
    assert "no call status API" in data["notes"][0]
    assert [p["control_id"] for p in data["playbacks"]] == [played["control_id"]]


def test_dry_run_sends_nothing_and_shows_no_secret(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    table = chime_face(emulator).profile(emulator)
    before = sum(chime_face(emulator).store.puts.values())
    result = run_cli("play", call_id, str(write_wav(tmp_path / "d.wav", seconds=0.33)), "--dry-run", *P, "-o", "json")
    assert result.exit_code == 0, result.stderr
    request = result.json()["data"]["request"]
    assert request["operation"] == "UpdateSipMediaApplicationCall"
    assert request["body"]["Arguments"]["action"] == "play"
    assert table["aws_secret_access_key"] not in result.stdout and table["callback_secret"] not in result.stdout
    assert sum(chime_face(emulator).store.puts.values()) == before
    assert emulator_call(emulator, call_id)["log"] == []


def test_emulator_serve_writes_a_working_chime_profile(tmp_path: Path) -> None:
    cfg = tmp_path / "emulator.toml"
    proc = spawn_cli(
        "emulator", "serve", "--port", "0", "--tls-port", "0",
        "--call", "chime-runbook-call", "--write-config", str(cfg), "--speed", "20",
    )  # fmt: skip
    try:
        assert wait_until(cfg.exists, timeout=30), proc.stderr
        assert cfg.stat().st_mode & 0o777 == 0o600
        table = tomllib.loads(cfg.read_text())["profiles"]["emulator-chime"]
        assert table["provider"] == "chime"
        env = {"CALLPLAY_CONFIG": str(cfg), "CALLPLAY_STATE_DIR": str(tmp_path / "state")}
        prompt = write_wav(tmp_path / "prompt.wav", seconds=0.5)
        runs = [
            run_cli(*args, *P, "-o", "json", env=env)
            for args in (
                ("play", "chime-runbook-call", str(prompt)),
                ("play", "chime-runbook-call", "--tts", "Hello from the runbook", "--wait", "--timeout", "30"),
                ("stop", "chime-runbook-call"),
            )
        ]
        assert [r.exit_code for r in runs] == [0, 0, 0], [r.stderr for r in runs]
        [obj] = runs[0].json()["data"]["extra"]["objects"]
        bucket, key = obj[len("s3://") :].split("/", 1)
        assert s3_client(table).head_object(Bucket=bucket, Key=key)["ContentType"] == "audio/wav"
        call = web.get(f"{table['endpoint_url']}/_emulator/calls/chime-runbook-call").json()
        assert "PlayAudio" in [a.get("action") for a in call["log"]]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        finally:
            proc.kill()


def test_repeat_max_from_the_profile_bounds_times(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    prompt = str(write_wav(tmp_path / "p.wav"))
    refused = run_cli("loop", call_id, prompt, "--times", "6", *P, env={"CALLPLAY_REPEAT_MAX": "5"})
    assert refused.exit_code == 4 and "at most 5" in refused.stderr
    forever = run_cli("loop", call_id, prompt, *P, env={"CALLPLAY_REPEAT_MAX": "5"})
    assert forever.exit_code == 4 and "5" in forever.stderr
    assert emulator_call(emulator, call_id)["log"] == []
    allowed = run_cli("loop", call_id, prompt, "--times", "150", *P, "-o", "json", env={"CALLPLAY_REPEAT_MAX": "200"})
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.json()["data"]["loop"] == 150
