"""The acceptance checks of the Vonage issue, as an operator runs them: callplay commands (in-process, through
callplay.cli.main) with the config `emulator serve --write-config` writes, against the in-process emulator's
Vonage face (TLS); `events listen` runs as its own process beside them."""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w

from callplay.emulator.app import EmulatorServer
from tests.conftest import (
    CliResult,
    answers,
    emulator_call,
    emulator_playbacks,
    free_port,
    run_cli,
    spawn_cli,
    tls_context,
    wait_until,
    web,
)
from tests.conftest import media_url as media

PROFILE = "emulator-vonage"
P = ("-p", PROFILE)


def vg(*args: str, env: dict[str, str] | None = None) -> CliResult:
    return run_cli(*args, *P, env=env)


def vg_json(*args: str) -> dict[str, Any]:
    return vg(*args, "-o", "json").data()


def sim(emulator: EmulatorServer, call_id: str, handle: str) -> dict[str, Any]:
    matches = emulator_playbacks(emulator, call_id, handle)
    assert matches, f"no {handle} on {call_id}"
    return matches[-1]


def vonage_requests(emulator: EmulatorServer, call_id: str) -> list[tuple[str, str, int]]:
    log = emulator_call(emulator, call_id)["log"]
    return [(e["method"], e["path"], e["status"]) for e in log if e.get("face") == "vonage" and "method" in e]


def vonage_table(config_file: Path) -> dict[str, Any]:
    return dict(tomllib.loads(config_file.read_text())["profiles"][PROFILE])


def key_lines(config_file: Path) -> list[str]:
    """The base64 lines of the profile's private key: none may ever appear in output."""
    return Path(vonage_table(config_file)["private_key"]).read_text().splitlines()[1:-1]


def rewrite_profile(config_file: Path, **changes: Any) -> None:
    data = tomllib.loads(config_file.read_text())
    table = data["profiles"][PROFILE]
    table.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del table[key]
    config_file.write_text(tomli_w.dumps(data))
    config_file.chmod(0o600)


def new_private_key(path: Path) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(pem)
    path.chmod(0o600)
    return pem


# ----------------------------------------------------------------------------------------- play and loop


def test_play_url_json(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    data = vg_json("play", call_id, media(emulator), "--volume", "-8")
    assert (data["call_id"], data["profile"], data["provider"], data["state"]) == (
        call_id,
        PROFILE,
        "vonage",
        "requested",
    )
    assert data["control_id"].startswith("cp-")
    assert data["extra"]["endpoint"] == "stream" and data["extra"]["level"] == -0.2
    stream = sim(emulator, call_id, "stream")
    assert (stream["loop"], stream["detail"]["level"]) == (1, -0.2)
    assert stream["history"][0]["state"] == "playing"  # at 20x it may have finished since


def test_play_tts_json(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    data = vg_json("play", call_id, "--tts", "Please hold", "--language", "en-GB", "--option", "style=2")
    assert data["extra"]["endpoint"] == "talk"
    talk = sim(emulator, call_id, "talk")
    assert talk["detail"] == {"level": 0.0, "text": "Please hold", "language": "en-GB", "style": 2}


def test_loop_json_times_and_forever(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    counted = vg_json("loop", call_id, "--tts", "one moment", "--times", "3")
    assert counted["loop"] == 3 and sim(emulator, call_id, "talk")["loop"] == 3
    forever = vg_json("loop", call_id, media(emulator))
    assert forever["loop"] == 0 and sim(emulator, call_id, "stream")["loop"] == 0


# ------------------------------------------------------------------------------------------ stop, status


def test_stop_json_stops_what_callplay_started(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    talk = vg_json("loop", call_id, "--tts", "hold music in words")["control_id"]
    stream = vg_json("loop", call_id, media(emulator))["control_id"]
    stopped = vg_json("stop", call_id)  # no id: the playback callplay started last
    assert (stopped["control_id"], stopped["state"], stopped["detail"]) == (
        stream,
        "stopped",
        {"stream": "Stream stopped"},
    )
    assert sim(emulator, call_id, "stream")["state"] == "canceled"
    assert sim(emulator, call_id, "talk")["state"] == "playing"
    vg_json("stop", call_id, "--control-id", talk)
    assert sim(emulator, call_id, "talk")["state"] == "canceled"


def test_stream_status_json(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    cid = vg_json("play", call_id, media(emulator))["control_id"]
    data = vg_json("stream-status", call_id)
    assert (data["call_id"], data["provider"], data["state"]) == (call_id, "vonage", "answered")
    assert [p["raw_id"] for p in data["participants"]] == [call_id]
    assert [p["control_id"] for p in data["playbacks"]] == [cid]
    assert data["playbacks"][0]["extra"]["endpoint"] == "stream"


# ------------------------------------------------------------------------------------ refusals and errors


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("pause",), "callplay stop"),
        (("resume",), "callplay play"),
        (("volume", "-6"), "--volume"),
    ],
)
def test_pause_resume_volume_exit_4_and_send_nothing(
    emulator: EmulatorServer, config_file: Path, call_id: str, args: tuple[str, ...], hint: str
) -> None:
    vg_json("loop", call_id, media(emulator))
    sent = vonage_requests(emulator, call_id)
    verb, *rest = args
    result = vg(verb, call_id, *rest)
    assert result.exit_code == 4, result.stderr
    assert "Vonage" in result.stderr and hint in result.stderr
    assert "Traceback" not in result.stderr
    assert vonage_requests(emulator, call_id) == sent  # nothing more reached the emulator


def test_pause_json_error_envelope(config_file: Path, call_id: str) -> None:
    result = vg("pause", call_id, "-o", "json")
    assert result.exit_code == 4
    error = result.json()["error"]
    assert error["code"] == "unsupported" and "Vonage" in error["message"] and "callplay stop" in error["hint"]


@pytest.mark.parametrize(
    "args",
    [("--wait",), ("silence:2",), ("--tts", "a", "--to", "4:+14255550123")],
)
def test_what_vonage_cannot_do_exits_4(emulator: EmulatorServer, config_file: Path, call_id: str, args: Any) -> None:
    source = () if args[0] in ("silence:2", "--tts") else ("--tts", "hello")
    result = vg("play", call_id, *source, *args)
    assert result.exit_code == 4, result.stderr
    assert "Vonage" in result.stderr
    assert vonage_requests(emulator, call_id) == []


def test_volume_out_of_range_exits_2_before_sending(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    result = vg("play", call_id, "--tts", "hi", "--volume", "41")
    assert result.exit_code == 2, result.stderr
    assert vonage_requests(emulator, call_id) == []


@pytest.mark.parametrize("command", [("play", "--tts", "hello"), ("stream-status",), ("stop",)])
def test_an_unknown_call_exits_5_without_sdk_noise(config_file: Path, command: tuple[str, ...]) -> None:
    verb, *rest = command
    result = vg(verb, "no-such-call-leg", *rest)
    assert result.exit_code == 5, result.stderr
    assert "404" in result.stderr and "no-such-call-leg" in result.stderr
    assert "Http Response Error" not in result.stderr and "Traceback" not in result.stderr


def test_a_key_that_does_not_match_the_application_exits_5_and_shows_nothing_of_it(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    pem = new_private_key(tmp_path / "wrong.key")
    rewrite_profile(config_file, private_key=str(tmp_path / "wrong.key"))
    for args in (("play", call_id, "--tts", "hello"), ("play", call_id, "--tts", "hello", "-o", "json")):
        result = vg(*args)
        assert result.exit_code == 5, result.stderr
        assert "401" in result.stdout + result.stderr
        assert not any(line in result.stdout + result.stderr for line in pem.splitlines()[1:-1])
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_dry_run_sends_nothing_and_shows_no_key(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    result = vg("play", call_id, media(emulator), "--volume", "4", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.stderr
    request = result.json()["data"]["request"]
    assert request["method"] == "PUT" and request["url"].endswith(f"/v1/calls/{call_id}/stream")
    assert request["body"] == {"stream_url": [media(emulator)], "loop": 1, "level": 0.1}
    assert not any(line in result.stdout + result.stderr for line in key_lines(config_file))
    assert vonage_requests(emulator, call_id) == []


def test_a_key_file_readable_by_others_warns_but_works(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    key = tmp_path / "shared.key"
    key.write_text(Path(vonage_table(config_file)["private_key"]).read_text())
    key.chmod(0o644)
    rewrite_profile(config_file, private_key=str(key))
    result = vg("play", call_id, "--tts", "hello", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert "readable by other users" in result.stderr and f"chmod 600 {key}" in result.stderr
    assert not any(line in result.stdout + result.stderr for line in key_lines(config_file))


def test_the_private_key_may_come_from_an_environment_variable(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    pem = Path(vonage_table(config_file)["private_key"]).read_text()
    rewrite_profile(config_file, private_key=None, private_key_env="CP_TEST_VONAGE_KEY")
    result = vg("play", call_id, "--tts", "hello", "-o", "json", env={"CP_TEST_VONAGE_KEY": pem})
    assert result.exit_code == 0, result.stderr
    assert sim(emulator, call_id, "talk")["history"][0]["state"] == "playing"
    shown = vg("stream-status", call_id, "-o", "json", env={"CP_TEST_VONAGE_KEY": pem})
    assert not any(line in shown.stdout + shown.stderr for line in pem.splitlines()[1:-1])


def test_without_the_ca_file_tls_fails_with_exit_6(config_file: Path, call_id: str) -> None:
    rewrite_profile(config_file, ca_file=None)
    result = vg("stream-status", call_id)
    assert result.exit_code == 6, result.stderr
    assert "ca_file" in result.stderr


def test_the_ledger_never_holds_the_key(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    vg_json("play", call_id, "--tts", "hello")
    state = Path(os.environ["CALLPLAY_STATE_DIR"])
    blobs = b"".join(p.read_bytes() for p in state.rglob("*") if p.is_file())
    assert blobs and not any(line.encode() in blobs for line in key_lines(config_file))


# ------------------------------------------------------------------------------------------- events listen


def create_call(config_file: Path, event_url: str) -> str:
    """POST /v1/calls as an application would (RS256 JWT), with the given event_url."""
    import uuid

    import jwt

    table = vonage_table(config_file)
    now = int(time.time())
    claims = {"application_id": table["application_id"], "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, Path(table["private_key"]).read_text(), algorithm="RS256")
    body = {"to": [{"type": "phone", "number": "447700900000"}], "ncco": [], "event_url": [event_url]}
    with httpx.Client(verify=tls_context(table["ca_file"])) as client:
        resp = client.post(
            f"https://{table['api_host']}/v1/calls", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["uuid"])


@pytest.fixture
def listener(config_file: Path) -> Iterator[int]:
    """`callplay events listen` in the background, checking signatures with the profile's secret."""
    port = free_port()
    proc = spawn_cli("events", "listen", "--port", str(port), *P, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health") or proc.poll() is not None)
        assert proc.poll() is None, "events listen exited"
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_events_listen_records_signed_vonage_events_and_rejects_forged_ones(
    emulator: EmulatorServer, config_file: Path, listener: int
) -> None:
    from callplay.emulator.vonage import VonageFace

    face = next(f for f in emulator.faces if isinstance(f, VonageFace))
    url = f"http://127.0.0.1:{listener}/events/vonage"
    # A call created through the Voice API with its event_url at the listener: the emulator signs its events.
    leg = create_call(config_file, url)

    def listed() -> list[dict[str, Any]]:
        result = run_cli("events", "list", "--call", leg, "-o", "json")
        assert result.exit_code == 0, result.stderr
        events = list(result.json()["data"]["events"])
        return events if len(events) >= 3 else []

    events = wait_until(listed)
    assert sorted(e["type"] for e in events) == ["answered", "ringing", "started"]
    forged = {"uuid": leg, "status": "completed", "timestamp": "2026-01-01T00:00:00.000Z"}
    unsigned = web.post(url, content=json.dumps(forged))
    assert unsigned.status_code == 401
    tampered_headers = face.signed_headers({**forged, "status": "answered"})
    assert web.post(url, content=json.dumps(forged, separators=(",", ":")), headers=tampered_headers).status_code == 401
    assert len(listed()) == 3  # neither forgery was recorded
