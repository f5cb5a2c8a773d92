"""The emulator's SignalWire face over raw HTTP: auth, status codes and error bodies, validation, voice logs,
webhook signatures, and shapes checked against the published spec (tests/specs)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from callplay.emulator.app import EmulatorServer
from callplay.emulator.signalwire import sign
from callplay.events import EventRejected
from callplay.events import signalwire as sw_events
from tests.conftest import emulator_call, web

SPEC = Path(__file__).parent / "specs" / "signalwire-rest-openapi.yaml"  # where it came from: specs/README.md


@pytest.fixture
def creds(emulator: EmulatorServer) -> dict[str, Any]:
    return dict(emulator.config_dict()["profiles"]["emulator-signalwire"])


def post(
    emulator: EmulatorServer, creds: dict[str, Any], body: Any, *, auth: tuple[str, str] | None = None
) -> httpx.Response:
    return web.post(
        f"{emulator.http_url}/api/calling/calls",
        json=body,
        auth=auth or (creds["project"], creds["token"]),
    )


def play_body(call_id: str, **params: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"control_id": "c-1", "play": [{"type": "silence", "params": {"duration": 600}}]}
    base.update(params)
    return {"command": "calling.play", "id": call_id, "params": {k: v for k, v in base.items() if v is not None}}


def errors_of(resp: httpx.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    for e in errors:
        assert set(e) == {"type", "code", "message", "attribute", "url"}
        assert e["type"] == "validation_error"
    return list(errors)


# ---------------------------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "auth",
    [None, ("wrong-project", "TOKEN"), ("PROJECT", "PTwrong"), ("PROJECT", "")],
)
def test_basic_auth_is_required(emulator: EmulatorServer, creds: dict[str, Any], call_id: str, auth: Any) -> None:
    if auth is None:
        resp = web.post(f"{emulator.http_url}/api/calling/calls", json=play_body(call_id))
    else:
        user = creds["project"] if auth[0] == "PROJECT" else auth[0]
        token = creds["token"] if auth[1] == "TOKEN" else auth[1]
        resp = post(emulator, creds, play_body(call_id), auth=(user, token))
    assert resp.status_code == 401
    assert resp.json() == {"error": "Unauthorized"}
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_voice_logs_need_auth_too(emulator: EmulatorServer, call_id: str) -> None:
    resp = web.get(f"{emulator.http_url}/api/voice/logs/{call_id}")
    assert (resp.status_code, resp.json()) == (401, {"error": "Unauthorized"})


# ------------------------------------------------------------------------------------------ commands


def test_play_answers_200_with_the_call_leg(emulator: EmulatorServer, creds: dict[str, Any], call_id: str) -> None:
    resp = post(emulator, creds, play_body(call_id))
    assert resp.status_code == 200
    leg = resp.json()
    assert (leg["id"], leg["source"], leg["type"], leg["status"]) == (
        call_id,
        "realtime_api",
        "relay_pstn_call",
        "answered",
    )
    assert "control_id" not in leg  # outcomes only arrive at status_url
    post(emulator, creds, {"command": "calling.play.stop", "id": call_id, "params": {"control_id": "c-1"}})


def test_unknown_call_is_404(emulator: EmulatorServer, creds: dict[str, Any]) -> None:
    resp = post(emulator, creds, play_body("no-such-call"))
    assert (resp.status_code, resp.json()) == (404, {"error": "Not Found"})


def test_hung_up_call_is_404(emulator: EmulatorServer, creds: dict[str, Any], call_id: str) -> None:
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    resp = post(emulator, creds, play_body(call_id))
    assert resp.status_code == 404


def test_invalid_json_is_400(emulator: EmulatorServer, creds: dict[str, Any]) -> None:
    resp = web.post(
        f"{emulator.http_url}/api/calling/calls",
        content=b"{not json",
        auth=(creds["project"], creds["token"]),
        headers={"Content-Type": "application/json"},
    )
    assert (resp.status_code, resp.json()) == (400, {"error": "Bad Request"})


@pytest.mark.parametrize(
    ("params", "attribute", "code"),
    [
        ({"control_id": None}, "control_id", "missing_required_parameter"),
        ({"control_id": ""}, "control_id", "invalid_parameter"),
        ({"play": []}, "play", "invalid_parameter"),
        ({"volume": 40.5}, "volume", "invalid_parameter"),
        ({"volume": "loud"}, "volume", "invalid_parameter"),
        ({"loop": -1}, "loop", "invalid_parameter"),
        ({"loop": 1.5}, "loop", "invalid_parameter"),
        ({"direction": "up"}, "direction", "invalid_parameter"),
        ({"gender": "robot"}, "gender", "invalid_parameter"),
        ({"voice": "bad voice!"}, "voice", "invalid_parameter"),
        ({"status_url": "ftp://x/y"}, "status_url", "invalid_parameter"),
        ({"colour": "red"}, "colour", "invalid_parameter"),
        ({"play": [{"type": "video", "params": {}}]}, "play[0].type", "invalid_parameter"),
        ({"play": [{"type": "audio", "params": {}}]}, "play[0].params.url", "missing_required_parameter"),
        (
            {"play": [{"type": "audio", "params": {"url": "file:///etc/passwd"}}]},
            "play[0].params.url",
            "invalid_parameter",
        ),
        (
            {"play": [{"type": "tts", "params": {"text": "hi", "gender": "x"}}]},
            "play[0].params.gender",
            "invalid_parameter",
        ),
        ({"play": [{"type": "silence", "params": {"duration": 0}}]}, "play[0].params.duration", "invalid_parameter"),
        ({"play": [{"type": "ringtone", "params": {"name": "zz"}}]}, "play[0].params.name", "invalid_parameter"),
        ({"play": [{"type": "silence"}]}, "play[0].params", "missing_required_parameter"),
        ({"play": ["silence"]}, "play[0]", "invalid_parameter"),
        ({"play": [{"type": "silence", "params": {"duration": 1, "x": 1}}]}, "play[0].params.x", "invalid_parameter"),
    ],
)
def test_play_params_are_validated_like_the_published_api(
    emulator: EmulatorServer, creds: dict[str, Any], call_id: str, params: dict[str, Any], attribute: str, code: str
) -> None:
    body = play_body(call_id, **{k: v for k, v in params.items() if v is not None})
    for key, value in params.items():
        if value is None:
            body["params"].pop(key)
    errors = errors_of(post(emulator, creds, body))
    assert (errors[0]["attribute"], errors[0]["code"]) == (attribute, code)
    assert attribute.split(".")[-1] in errors[0]["message"]
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_every_error_is_reported_at_once(emulator: EmulatorServer, creds: dict[str, Any], call_id: str) -> None:
    errors = errors_of(post(emulator, creds, play_body(call_id, volume=99, loop=-2, direction="up")))
    assert sorted(e["attribute"] for e in errors) == ["direction", "loop", "volume"]


@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        ({"id": "X", "params": {}}, "command"),
        ({"command": "calling.play.rewind", "id": "X", "params": {}}, "command"),
        ({"command": "calling.record", "id": "X", "params": {}}, "command"),
        ({"command": "calling.play.pause", "params": {"control_id": "c"}}, "id"),
        ({"command": "calling.play.pause", "id": "X"}, "params"),
        ({"command": "calling.play.volume", "id": "X", "params": {"control_id": "c"}}, "volume"),
        ({"command": "calling.play.volume", "id": "X", "params": {"control_id": "c", "volume": -41}}, "volume"),
        ({"command": "calling.play.stop", "id": "X", "params": {}}, "control_id"),
        ({"command": "calling.play.stop", "id": "X", "params": {"control_id": "c", "volume": 1}}, "volume"),
    ],
)
def test_envelope_and_control_params_are_validated(
    emulator: EmulatorServer, creds: dict[str, Any], call_id: str, body: dict[str, Any], attribute: str
) -> None:
    if body.get("id") == "X":
        body["id"] = call_id
    errors = errors_of(post(emulator, creds, body))
    assert errors[0]["attribute"] == attribute


def test_control_id_must_be_unique_per_active_play(
    emulator: EmulatorServer, creds: dict[str, Any], call_id: str
) -> None:
    assert post(emulator, creds, play_body(call_id)).status_code == 200
    errors = errors_of(post(emulator, creds, play_body(call_id)))
    assert errors[0]["attribute"] == "control_id"
    stop = {"command": "calling.play.stop", "id": call_id, "params": {"control_id": "c-1"}}
    assert post(emulator, creds, stop).status_code == 200
    # Once that play has ended, the id may be used again.
    assert post(emulator, creds, play_body(call_id)).status_code == 200
    assert post(emulator, creds, stop).status_code == 200


@pytest.mark.parametrize("command", ["calling.play.pause", "calling.play.resume", "calling.play.stop"])
def test_unknown_control_id_is_a_422_naming_control_id(
    emulator: EmulatorServer, creds: dict[str, Any], call_id: str, command: str
) -> None:
    errors = errors_of(post(emulator, creds, {"command": command, "id": call_id, "params": {"control_id": "nope"}}))
    assert errors[0]["attribute"] == "control_id"
    assert errors[0]["message"] == "control_id does not match an active play on this call"


def test_commands_drive_the_state_machine(emulator: EmulatorServer, creds: dict[str, Any], call_id: str) -> None:
    assert post(emulator, creds, play_body(call_id, volume=-3)).status_code == 200

    def send(command: str, **params: Any) -> None:
        body = {"command": command, "id": call_id, "params": {"control_id": "c-1", **params}}
        assert post(emulator, creds, body).status_code == 200

    def sim() -> dict[str, Any]:
        return dict(emulator_call(emulator, call_id)["playbacks"][-1])

    send("calling.play.pause")
    assert sim()["state"] == "paused"
    send("calling.play.volume", volume=12.5)
    assert sim()["volume_db"] == 12.5
    send("calling.play.resume")
    assert sim()["state"] == "playing"
    send("calling.play.stop")
    assert sim()["state"] == "canceled"
    assert sim()["volume_db"] == 12.5


# ------------------------------------------------------------------------------------------ voice logs


def test_voice_log_reports_the_call_state(emulator: EmulatorServer, creds: dict[str, Any], call_id: str) -> None:
    auth = (creds["project"], creds["token"])
    log = web.get(f"{emulator.http_url}/api/voice/logs/{call_id}", auth=auth).json()
    assert (log["id"], log["status"], log["source"]) == (call_id, "in-progress", "realtime_api")
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    assert web.get(f"{emulator.http_url}/api/voice/logs/{call_id}", auth=auth).json()["status"] == "completed"
    listed = web.get(f"{emulator.http_url}/api/voice/logs", auth=auth).json()
    assert call_id in [entry["id"] for entry in listed["data"]]


def test_unknown_voice_log_is_404(emulator: EmulatorServer, creds: dict[str, Any]) -> None:
    resp = web.get(f"{emulator.http_url}/api/voice/logs/nope", auth=(creds["project"], creds["token"]))
    assert (resp.status_code, resp.json()) == (404, {"error": "Not Found"})


def test_injected_faults_answer_in_signalwires_shape(
    emulator: EmulatorServer, creds: dict[str, Any], call_id: str
) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json={"rate_limit": 1, "retry_after": 3})
    resp = post(emulator, creds, play_body(call_id))
    assert (resp.status_code, resp.json(), resp.headers["retry-after"]) == (429, {"error": "Too Many Requests"}, "3")
    web.post(f"{emulator.http_url}/_emulator/faults", json={"error_rate": 1.0, "error_status": 500})
    resp = post(emulator, creds, play_body(call_id))
    assert (resp.status_code, resp.json()) == (500, {"error": "Internal Server Error"})


# ------------------------------------------------------------------------------------------ the profile


def test_write_config_gives_a_private_working_profile(emulator: EmulatorServer, tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "cfg.toml"
    emulator.write_config(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    table = tomllib.loads(path.read_text())["profiles"]["emulator-signalwire"]
    assert set(table) == {"provider", "space", "project", "token", "signing_key"}
    assert table["provider"] == "signalwire"
    assert table["space"] == emulator.http_url.removeprefix("http://")
    assert table["token"].startswith("PT")


# -------------------------------------------------------------------------------------------- signatures


def test_signatures_are_what_the_official_sdk_validator_accepts() -> None:
    from signalwire.core.security import validate_webhook_signature, validate_webhook_signature_sha256

    url, body, key = "https://cb.example/events/signalwire?x=1", b'{"params":{"state":"playing"}}', "PSK_key"
    headers = sign(key, url, body)
    assert validate_webhook_signature(key, headers["X-SignalWire-Signature"], url, body.decode())
    assert validate_webhook_signature_sha256(key, headers["X-SignalWire-Sha256-Signature"], url, body.decode())
    assert not validate_webhook_signature("PSK_other", headers["X-SignalWire-Signature"], url, body.decode())


def test_event_parser_checks_the_signature() -> None:
    url, key = "http://127.0.0.1:9/events/signalwire", "PSK_key"
    body = json.dumps({"params": {"control_id": "c", "call_id": "x", "node_id": "n", "state": "paused"}}).encode()
    headers = sign(key, url, body)
    assert [e.state for e in sw_events.parse(body, headers, url=url, secret=key)] == ["paused"]
    # A proxy may add or drop the default port: both spellings of the URL are accepted.
    assert sw_events.parse(body, sign(key, "https://cb.example:443/e", body), url="https://cb.example/e", secret=key)
    # Behind a TLS-terminating tunnel the receiver sees http://127.0.0.1; the forwarded headers give the real URL.
    public = "https://abc.tunnel.example/events/signalwire"
    forwarded = {**sign(key, public, body), "X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc.tunnel.example"}
    assert sw_events.parse(body, forwarded, url="http://127.0.0.1:8765/events/signalwire", secret=key)
    for bad_body, bad_headers in (
        (body.replace(b"paused", b"finished"), headers),  # tampered body
        (body, sign("PSK_other", url, body)),  # another key
        (body, {}),  # unsigned
        (
            body,
            {"X-SignalWire-Signature": headers["X-SignalWire-Signature"], "X-SignalWire-Sha256-Signature": "0" * 64},
        ),
    ):
        with pytest.raises(EventRejected):
            sw_events.parse(bad_body, bad_headers, url=url, secret=key)
    # Without a signing key configured, nothing is checked.
    assert sw_events.parse(body, {}, url=url, secret=None)[0].control_id == "c"


def test_event_parser_reads_flat_and_enveloped_bodies() -> None:
    flat = {"control_id": "c", "call_id": "x", "node_id": "n", "state": "error"}
    env = {"event_type": "calling.call.play", "timestamp": 1700000000.5, "params": {**flat, "state": "finished"}}
    other = {"event_type": "calling.call.state", "params": {"call_id": "x", "call_state": "ended"}}
    (e1,) = sw_events.parse(json.dumps(flat).encode(), {}, url="u", secret=None)
    (e2,) = sw_events.parse(json.dumps(env).encode(), {}, url="u", secret=None)
    (e3,) = sw_events.parse(json.dumps(other).encode(), {}, url="u", secret=None)
    assert (e1.type, e1.state, e1.control_id, e1.detail["node_id"]) == ("error", "failed", "c", "n")
    assert (e2.type, e2.state, e2.time) == ("finished", "finished", "2023-11-14T22:13:20.500+00:00")
    assert (e3.type, e3.state, e3.call_id) == ("calling.call.state", None, "x")
    with pytest.raises(EventRejected) as err:
        sw_events.parse(b"[1, 2]", {}, url="u", secret=None)
    assert err.value.status == 400


# ------------------------------------------------------------------------ against the published spec


@pytest.fixture(scope="module")
def spec(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The published spec, parsed; kept as JSON in pytest's cache (per version of the file), since parsing the
    2 MB of YAML takes about a second of CPU in each worker that needs it."""
    import hashlib

    text = SPEC.read_text()
    key = f"callplay/signalwire-spec-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    cached = cache.get(key, None) if cache is not None else None
    if isinstance(cached, dict):
        return cached
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parsed = dict(yaml.load(text, Loader=loader))
    if cache is not None:
        cache.set(key, parsed)
    return parsed


def spec_validator(spec: dict[str, Any], name: str) -> Any:
    import jsonschema

    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_answers_match_the_published_schemas(
    spec: dict[str, Any], emulator: EmulatorServer, creds: dict[str, Any], call_id: str
) -> None:
    auth = (creds["project"], creds["token"])
    leg = post(emulator, creds, play_body(call_id)).json()
    spec_validator(spec, "Calling.CallLeg").validate(leg)
    spec_validator(spec, "Voice.RelayVoiceLog").validate(
        web.get(f"{emulator.http_url}/api/voice/logs/{call_id}", auth=auth).json()
    )
    errors = post(emulator, creds, play_body(call_id, volume=99)).json()
    spec_validator(spec, "Calling.CallCreate422Error").validate(errors)
    spec_validator(spec, "Types.StatusCodes.StatusCode404").validate(post(emulator, creds, play_body("nope")).json())
    spec_validator(spec, "Types.StatusCodes.StatusCode401").validate(
        post(emulator, creds, play_body(call_id), auth=("x", "y")).json()
    )
    post(emulator, creds, {"command": "calling.play.stop", "id": call_id, "params": {"control_id": "c-1"}})


def test_what_the_provider_sends_matches_the_published_request_schema(spec: dict[str, Any], call_id: str) -> None:
    from callplay.model import Audio, PlayRequest, Silence, Tts
    from callplay.providers.signalwire import SignalWireProvider, SignalWireSettings

    settings = SignalWireSettings(space="127.0.0.1:9", project="p", token="t", language="en-GB", gender="male")
    provider = SignalWireProvider(settings, profile="x")
    request = PlayRequest(
        items=[Audio("https://example.com/a.wav"), Tts("hello", voice="en-GB-Wavenet-B"), Silence(2)],
        volume_db=-6,
        direction="both",
        loop=0,
        callback_url="https://cb.example/sw",
        options={"ringtone": "us:3"},
    )
    body = provider.describe_play(call_id, request)["body"]
    spec_validator(spec, "Calling.CallPlayRequest").validate(body)
    validator = spec_validator(spec, "Calling.CallPlayRequest")
    bad = json.loads(json.dumps(body))
    bad["params"]["volume"] = 41
    assert not validator.is_valid(bad)  # the schema check itself can fail


def test_voice_log_list_matches_the_published_schema(
    spec: dict[str, Any], emulator: EmulatorServer, creds: dict[str, Any], call_id: str
) -> None:
    auth = (creds["project"], creds["token"])
    listed = web.get(f"{emulator.http_url}/api/voice/logs", params={"page_size": 10}, auth=auth).json()
    spec_validator(spec, "Voice.LogListResponse").validate(listed)  # links.self and links.first are required
    assert call_id in {log["id"] for log in listed["data"]}
