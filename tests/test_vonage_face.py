"""The emulator's Vonage face over raw HTTPS (auth, status codes, RFC 7807 bodies, call status webhooks) and
callplay's parser for Vonage's signed event webhooks."""

from __future__ import annotations

import functools
import hashlib
import json
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from callplay.emulator.app import EmulatorServer
from callplay.emulator.vonage import VonageFace
from callplay.events import EventRejected
from callplay.events import vonage as vonage_events
from callplay.events.receiver import EventReceiver
from callplay.ledger import Ledger
from tests.conftest import emulator_call, media_url, tls_context, wait_until, web

PROFILE = "emulator-vonage"


def face_of(emulator: EmulatorServer) -> VonageFace:
    face = next(f for f in emulator.faces if f.name == "vonage")
    assert isinstance(face, VonageFace)
    return face


def profile_table(emulator: EmulatorServer) -> dict[str, Any]:
    return dict(emulator.config_dict()["profiles"][PROFILE])


def app_token(emulator: EmulatorServer, key_pem: str | None = None, **claims: Any) -> str:
    """An application JWT as the SDK mints it; claims override (None removes one)."""
    table = profile_table(emulator)
    now = int(time.time())
    body = {"application_id": table["application_id"], "iat": now, "jti": str(uuid.uuid4()), "exp": now + 900}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    key = key_pem if key_pem is not None else Path(table["private_key"]).read_text()
    return jwt.encode(body, signing_key(key), algorithm="RS256")


@functools.cache
def signing_key(pem: str) -> Any:
    """The private key, parsed once: parsing checks the key, some 50 ms each time on a slow machine."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem.encode(), password=None)


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[Callable[..., httpx.Response]]:
    """Requests to the Vonage face over TLS, trusting the emulator's CA, with a valid JWT unless told."""
    table = profile_table(emulator)
    tls = tls_context(table["ca_file"])
    client = httpx.Client(base_url=f"https://{table['api_host']}", verify=tls, timeout=30)

    def send(method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
        """token None: a valid JWT; "": no Authorization header at all."""
        headers = dict(kw.pop("headers", {}))
        if token != "":
            headers["Authorization"] = f"Bearer {token or app_token(emulator)}"
        return client.request(method, path, headers=headers, **kw)

    yield send
    client.close()


def other_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = dict(resp.json())
    assert {"type", "title", "detail", "instance"} <= set(body)
    assert body["type"].startswith("https://developer.nexmo.com/api-errors#")
    return body


# -------------------------------------------------------------------------------------------- the profile


def test_profile_points_at_the_tls_port_with_a_0600_pkcs8_key(emulator: EmulatorServer) -> None:
    table = profile_table(emulator)
    assert table["provider"] == "vonage"
    assert emulator.https_url == f"https://{table['api_host']}"
    assert Path(table["ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    key = Path(table["private_key"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, what the SDK takes
    assert str(uuid.UUID(table["application_id"])) == table["application_id"]
    assert table["signature_secret"]


def test_the_written_config_is_0600_and_holds_a_vonage_profile(emulator: EmulatorServer, tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "callplay.toml"
    emulator.write_config(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text())["profiles"][PROFILE]["provider"] == "vonage"


def test_bind_accepts_given_credentials() -> None:
    from callplay.emulator.state import World

    world = World()
    world.credentials["vonage"] = {"application_id": "app-1", "public_key": "PEM"}
    VonageFace().bind(world)
    creds = world.credentials["vonage"]
    assert (creds["application_id"], creds["public_key"]) == ("app-1", "PEM")
    assert creds["signature_secret"]


# ------------------------------------------------------------------------------------------------- auth


def test_plain_http_is_refused(emulator: EmulatorServer, call_id: str) -> None:
    resp = web.get(f"{emulator.http_url}/v1/calls/{call_id}", headers={"Authorization": "Bearer x"})
    assert "https" in assert_problem(resp, 403)["detail"]


@pytest.mark.parametrize(
    ("token_of", "words"),
    [
        (lambda e: "", "no Bearer token"),
        (lambda e: "not.a.jwt", "malformed"),
        (lambda e: app_token(e, other_private_key()), "not signed with this application's private key"),
        (lambda e: app_token(e, exp=int(time.time()) - 60, iat=int(time.time()) - 960), "expired"),
        (lambda e: app_token(e, iat=int(time.time()) + 600, exp=int(time.time()) + 1500), "future"),
        (lambda e: app_token(e, exp=None, iat=int(time.time()) - 960), "no exp and was issued more than 15 minutes"),
        (lambda e: app_token(e, application_id=str(uuid.uuid4())), "another application"),
        (lambda e: app_token(e, application_id=None), "no application_id claim"),
    ],
)
def test_bad_jwts_get_401_problem_json(
    emulator: EmulatorServer,
    api: Callable[..., httpx.Response],
    call_id: str,
    token_of: Callable[[EmulatorServer], str],
    words: str,
) -> None:
    token = token_of(emulator)
    resp = api("PUT", f"/v1/calls/{call_id}/talk", token=token, json={"text": "hello"})
    body = assert_problem(resp, 401)
    assert body["title"] == "Unauthorized" and words in body["detail"]
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_an_hs256_token_signed_with_the_public_key_is_refused(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], call_id: str
) -> None:
    import base64
    import hmac

    # The classic algorithm-confusion forgery: HMAC with the public key as the secret.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"application_id": profile_table(emulator)["application_id"], "iat": now, "exp": now + 60}
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    public = face_of(emulator).creds["public_key"].encode()
    token = head + "." + b64(hmac.new(public, head.encode(), hashlib.sha256).digest())
    assert_problem(api("GET", f"/v1/calls/{call_id}", token=token), 401)


# ------------------------------------------------------------------------------------- calls, stream, talk


def test_get_call_has_every_field_the_sdk_requires(api: Callable[..., httpx.Response], call_id: str) -> None:
    from vonage_voice.models.responses import CallInfo

    resp = api("GET", f"/v1/calls/{call_id}")
    assert resp.status_code == 200
    info = CallInfo.model_validate(resp.json())
    assert (info.uuid, info.status, info.link) == (call_id, "answered", f"/v1/calls/{call_id}")


def test_list_calls_parses_with_the_sdk(api: Callable[..., httpx.Response], call_id: str) -> None:
    from vonage_voice.models.responses import CallList

    seen: list[str] = []
    index = 0
    while True:  # the session's emulator may hold more calls than one page
        resp = api("GET", "/v1/calls", params={"status": "answered", "page_size": 100, "record_index": index})
        listed = CallList.model_validate(resp.json())
        seen += [c.uuid for c in listed.embedded.calls]
        index += listed.page_size
        if index >= listed.count:
            break
    assert call_id in seen and {c.status for c in listed.embedded.calls} == {"answered"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("PUT", "/stream"), ("DELETE", "/stream"), ("PUT", "/talk"), ("DELETE", "/talk")],
)
def test_unknown_calls_get_404_problem_json(api: Callable[..., httpx.Response], method: str, path: str) -> None:
    body = {"text": "hi"} if path == "/talk" else {"stream_url": ["https://example.com/a.mp3"]}
    resp = api(method, f"/v1/calls/no-such-leg{path}", json=body if method == "PUT" else None)
    assert assert_problem(resp, 404)["title"] == "Not Found"


@pytest.mark.parametrize(
    ("path", "body", "names"),
    [
        ("/stream", {}, ["stream_url"]),
        ("/stream", {"stream_url": "https://example.com/a.mp3"}, ["stream_url"]),
        ("/stream", {"stream_url": ["ftp://example.com/a.mp3"]}, ["stream_url"]),
        ("/stream", {"stream_url": ["https://e.com/a.mp3"], "loop": -1}, ["loop"]),
        ("/stream", {"stream_url": ["https://e.com/a.mp3"], "loop": "2"}, ["loop"]),
        ("/stream", {"stream_url": ["https://e.com/a.mp3"], "level": 1.5, "loop": True}, ["loop", "level"]),
        ("/stream", {"stream_url": ["https://e.com/a.mp3"], "level": "loud"}, ["level"]),
        ("/talk", {"language": "en-GB"}, ["text"]),
        ("/talk", {"text": "hi", "language": "klingon"}, ["language"]),
        ("/talk", {"text": "hi", "style": True, "premium": "yes"}, ["style", "premium"]),
    ],
)
def test_bad_bodies_get_400_with_invalid_parameters(
    emulator: EmulatorServer,
    api: Callable[..., httpx.Response],
    call_id: str,
    path: str,
    body: dict[str, Any],
    names: list[str],
) -> None:
    problem = assert_problem(api("PUT", f"/v1/calls/{call_id}{path}", json=body), 400)
    assert [p["name"] for p in problem["invalid_parameters"]] == names
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_a_body_that_is_not_json_gets_400(api: Callable[..., httpx.Response], call_id: str) -> None:
    resp = api("PUT", f"/v1/calls/{call_id}/talk", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_problem(resp, 400)


def test_level_may_be_a_numeric_string_as_the_spec_types_it(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], call_id: str
) -> None:
    resp = api("PUT", f"/v1/calls/{call_id}/stream", json={"stream_url": [media_url(emulator)], "level": "0.4"})
    assert resp.json() == {"message": "Stream started", "uuid": call_id}
    (pb,) = emulator_call(emulator, call_id)["playbacks"]
    assert (pb["detail"]["level"], pb["volume_db"], pb["loop"]) == (0.4, 16.0, 1)  # loop defaults to 1


def test_only_the_first_stream_url_plays(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], call_id: str
) -> None:
    urls = [media_url(emulator), media_url(emulator, "hold-16k.wav")]
    api("PUT", f"/v1/calls/{call_id}/stream", json={"stream_url": urls}).raise_for_status()
    (pb,) = emulator_call(emulator, call_id)["playbacks"]
    assert [i["url"] for i in pb["items"]] == urls[:1]
    assert pb["detail"]["ignored_urls"] == urls[1:]


def test_delete_answers_stopped_then_404_when_nothing_plays(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], call_id: str
) -> None:
    api("PUT", f"/v1/calls/{call_id}/talk", json={"text": "hold please", "loop": 0}).raise_for_status()
    first = api("DELETE", f"/v1/calls/{call_id}/talk")
    assert first.json() == {"message": "Talk stopped", "uuid": call_id}
    assert "No talk is playing" in assert_problem(api("DELETE", f"/v1/calls/{call_id}/talk"), 404)["detail"]


def test_talk_lasts_as_long_as_its_text(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], call_id: str
) -> None:
    api("PUT", f"/v1/calls/{call_id}/talk", json={"text": "x" * 30}).raise_for_status()
    (pb,) = emulator_call(emulator, call_id)["playbacks"]
    assert pb["round_s"] == pytest.approx(2.0)  # 15 characters a second


def test_fault_injection_uses_vonage_error_bodies(emulator: EmulatorServer, api: Callable[..., httpx.Response]) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json={"rate_limit": 1, "retry_after": 3}).raise_for_status()
    resp = api("GET", "/v1/calls/anything")
    assert assert_problem(resp, 429)["title"] == "Too Many Requests"
    assert resp.headers["retry-after"] == "3"


def test_requests_are_logged_on_the_call(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], call_id: str
) -> None:
    api("GET", f"/v1/calls/{call_id}")
    api("GET", f"/v1/calls/{call_id}", token=app_token(emulator, other_private_key()))
    log = [(e["method"], e["status"]) for e in emulator_call(emulator, call_id)["log"] if e.get("face") == "vonage"]
    assert log == [("GET", 200), ("GET", 401)]


# --------------------------------------------------------------------------- call status events (webhooks)


@pytest.fixture
def receiver(emulator: EmulatorServer, tmp_path: Path) -> Iterator[EventReceiver]:
    secret = profile_table(emulator)["signature_secret"]
    r = EventReceiver(Ledger(tmp_path / "ledger.sqlite3"), secrets={"vonage": secret}).start()
    yield r
    r.stop()


def wait_for_events(receiver: EventReceiver, n: int, timeout: float = 30.0) -> list[Any]:
    """Poll until n events arrived. A deadline against hangs, not an assertion on timing."""
    wait_until(lambda: len(receiver.events) >= n, timeout, describe=lambda: f"{len(receiver.events)} of {n} events")
    return list(receiver.events)


def test_created_calls_send_signed_status_events_that_callplay_accepts(
    emulator: EmulatorServer, api: Callable[..., httpx.Response], receiver: EventReceiver
) -> None:
    body = {
        "to": [{"type": "phone", "number": "447700900000"}],
        "from": {"type": "phone", "number": "447700900001"},
        "ncco": [{"action": "talk", "text": "hello"}],
        "event_url": [receiver.url("vonage")],
    }
    created = api("POST", "/v1/calls", json=body)
    assert created.status_code == 201 and created.json()["status"] == "started"
    leg = created.json()["uuid"]
    events = wait_for_events(receiver, 3)
    assert [e.type for e in events] == ["started", "ringing", "answered"]
    assert {e.call_id for e in events} == {leg} and {e.state for e in events} == {None}
    assert events[0].detail["to"] == "447700900000"
    assert api("PUT", f"/v1/calls/{leg}", json={"action": "hangup"}).status_code == 204
    completed = wait_for_events(receiver, 4)[-1]
    assert (completed.type, completed.call_id) == ("completed", leg)
    assert api("GET", f"/v1/calls/{leg}").json()["status"] == "completed"
    assert receiver.rejected == 0
    refused = api("PUT", f"/v1/calls/{leg}/talk", json={"text": "too late"})
    assert "completed" in assert_problem(refused, 400)["detail"]


def test_update_call_refuses_unknown_actions(api: Callable[..., httpx.Response], call_id: str) -> None:
    problem = assert_problem(api("PUT", f"/v1/calls/{call_id}", json={"action": "explode"}), 400)
    assert problem["invalid_parameters"][0]["name"] == "action"


# ------------------------------------------------------------------------------------------ events parser

SECRET = "a-signature-secret-of-decent-length"
EVENT = {
    "headers": {},
    "from": "447700900001",
    "to": "447700900000",
    "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
    "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
    "status": "answered",
    "direction": "outbound",
    "timestamp": "2026-01-01T12:00:00.000Z",
}


def signed(payload: dict[str, Any], secret: str = SECRET, **claims: Any) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    body = {"iat": int(time.time()), "jti": "j1", "iss": "Vonage", "payload_hash": hashlib.sha256(raw).hexdigest()}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return raw, {"Authorization": "Bearer " + jwt.encode(body, secret, algorithm="HS256")}


def test_a_signed_status_event_parses_into_a_call_event() -> None:
    raw, headers = signed(EVENT)
    (event,) = vonage_events.parse(raw, headers, url="http://127.0.0.1/events/vonage", secret=SECRET)
    assert (event.type, event.provider, event.call_id) == ("answered", "vonage", EVENT["uuid"])
    assert (event.control_id, event.state, event.time) == (None, None, EVENT["timestamp"])
    assert event.detail["direction"] == "outbound"


def test_the_same_content_with_other_spacing_still_verifies() -> None:
    _, headers = signed(EVENT)
    spaced = json.dumps(EVENT, indent=2).encode()
    assert vonage_events.parse(spaced, headers, url="/", secret=SECRET)[0].type == "answered"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: (json.dumps(EVENT).encode(), {}), "unsigned"),
        (lambda: signed(EVENT, secret="another-signature-secret-of-decent-length"), "does not match the signature"),
        (lambda: (json.dumps({**EVENT, "status": "completed"}).encode(), signed(EVENT)[1]), "payload_hash"),
        (lambda: signed(EVENT, payload_hash=None), "no payload_hash"),
        (lambda: signed(EVENT, exp=int(time.time()) - 120), "expired"),
        (lambda: signed(EVENT, iat=None), "invalid"),
        (lambda: (signed(EVENT)[0], {"Authorization": "Bearer garbage"}), "invalid"),
    ],
)
def test_forged_or_tampered_events_are_rejected(make: Callable[[], tuple[bytes, dict[str, str]]], words: str) -> None:
    raw, headers = make()
    with pytest.raises(EventRejected) as err:
        vonage_events.parse(raw, headers, url="/", secret=SECRET)
    assert words in err.value.reason and err.value.status == 401
    assert SECRET not in err.value.reason


def test_without_a_secret_unsigned_events_are_accepted() -> None:
    (event,) = vonage_events.parse(json.dumps(EVENT).encode(), {}, url="/", secret=None)
    assert event.call_id == EVENT["uuid"]


def test_get_style_events_come_from_the_query_string() -> None:
    url = f"http://127.0.0.1/events/vonage?uuid={EVENT['uuid']}&status=ringing"
    (event,) = vonage_events.parse(b"", {}, url=url, secret=None)
    assert (event.type, event.call_id) == ("ringing", EVENT["uuid"])


def test_a_body_that_is_not_json_is_a_400() -> None:
    with pytest.raises(EventRejected) as err:
        vonage_events.parse(b"<xml/>", {}, url="/", secret=None)
    assert err.value.status == 400


def test_non_status_events_are_named_by_what_they_carry() -> None:
    payload = {"uuid": "u1", "dtmf": {"digits": "12"}, "timestamp": "2026-01-01T12:00:00.000Z"}
    assert vonage_events.parse(json.dumps(payload).encode(), {}, url="/", secret=None)[0].type == "input"
