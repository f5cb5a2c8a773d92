"""The callback receiver's defences (issue 11): every path authenticated, replays and stale timestamps refused,
oversized bodies 413, malformed bodies 400 (never 500), events applied only to their own provider's playbacks.

Callbacks are signed with the emulator's and the Lambda's own signing code (what the emulator sends), posted
over real HTTP to callplay's real receiver, recorded in a real ledger.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from callplay.chime_lambda.handler import sign as chime_sign
from callplay.emulator.signalwire import sign as signalwire_sign
from callplay.events.receiver import MAX_BODY_BYTES, EventReceiver
from callplay.ledger import MAX_DETAIL_BYTES, Ledger
from callplay.model import Event, Playback
from callplay.providers import PROVIDER_NAMES
from tests.conftest import web

SECRETS = {
    "acs": "acs-token-" + "a" * 20,
    "signalwire": "PSK_" + "b" * 32,
    "vonage": "vonage-signature-secret-" + "c" * 10,
    "chime": "chime-events-secret-" + "d" * 12,
}
DEEP = b"[" * 100_000 + b"]" * 100_000  # json.loads: RecursionError


# ------------------------------------------------------------------------------------------ the callbacks


def body_for(provider: str, control_id: str = "cp-000000000001", call_id: str = "call-1", **extra: Any) -> bytes:
    """A well-formed callback body as each provider (or callplay's Lambda) posts it, now."""
    now = time.time()
    if provider == "acs":
        event = {
            "id": str(uuid.uuid4()),
            "source": f"calling/callConnections/{call_id}",
            "type": "Microsoft.Communication.PlayCompleted",
            "specversion": "1.0",
            "time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)),
            "data": {"callConnectionId": call_id, "operationContext": control_id, **extra},
        }
        return json.dumps([event]).encode()
    if provider == "signalwire":
        params = {"control_id": control_id, "call_id": call_id, "node_id": "n1", "state": "finished", **extra}
        return json.dumps({"event_type": "calling.call.play", "timestamp": now, "params": params}).encode()
    if provider == "vonage":
        return json.dumps(
            {"uuid": call_id, "status": "answered", "timestamp": "2026-01-01T00:00:00Z", **extra}
        ).encode()
    payload = {"callplay": 1, "type": "ACTION_SUCCESSFUL", "state": "finished", "control_id": control_id, **extra}
    return json.dumps({**payload, "transaction_id": call_id}).encode()


def vonage_headers(secret: str, raw: bytes, iat: float | None = None) -> dict[str, str]:
    """Vonage's signed-webhook header, as the emulator's face builds it, over these exact bytes."""
    now = int(time.time() if iat is None else iat)
    claims = {
        "iat": now,
        "exp": int(time.time()) + 300,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(raw).hexdigest(),
    }
    return {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256")}


def signed(provider: str, base: str, body: bytes, secret: str | None = None) -> tuple[str, dict[str, str]]:
    """(url, headers) that authenticate `body` on the provider's path of the receiver at `base`."""
    secret = secret or SECRETS[provider]
    url = f"{base}/events/{provider}"
    headers = {"Content-Type": "application/json"}
    if provider == "acs":
        return f"{url}?token={secret}", headers
    if provider == "signalwire":
        return url, {**headers, **signalwire_sign(secret, url, body)}
    if provider == "vonage":
        return url, {**headers, **vonage_headers(secret, body)}
    return url, {**headers, **chime_sign(secret, body)}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3")


@pytest.fixture
def receiver(ledger: Ledger) -> Iterator[EventReceiver]:
    r = EventReceiver(ledger, secrets=SECRETS).start()
    yield r
    r.stop()


@pytest.fixture
def post(receiver: EventReceiver) -> Iterator[Callable[..., httpx.Response]]:
    def send(provider: str, body: bytes, *, sign: bool = True, **kw: Any) -> httpx.Response:
        url, headers = signed(provider, base(receiver), body) if sign else (f"{base(receiver)}/events/{provider}", {})
        return web.post(url, content=body, headers={**headers, **kw.pop("headers", {})}, **{"timeout": 30, **kw})

    yield send


def base(receiver: EventReceiver) -> str:
    return receiver.url("acs").removesuffix("/events/acs")


# ------------------------------------------------------------------------------------------- authenticity


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_signed_callbacks_are_recorded(post: Callable[..., httpx.Response], ledger: Ledger, provider: str) -> None:
    assert post(provider, body_for(provider)).status_code == 200
    [event] = ledger.events()
    assert event.provider == provider and "unchecked" not in event.detail


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_unsigned_or_wrongly_signed_posts_are_refused(
    post: Callable[..., httpx.Response], receiver: EventReceiver, ledger: Ledger, provider: str
) -> None:
    body = body_for(provider)
    assert post(provider, body, sign=False).status_code == 401
    url, headers = signed(provider, base(receiver), body, secret="not-the-secret-at-all-but-long-enough")
    assert web.post(url, content=body, headers=headers).status_code == 401
    assert ledger.events() == [] and receiver.rejected == 2


def test_a_path_with_no_secret_is_refused_unless_allowed_unsigned(ledger: Ledger) -> None:
    receiver = EventReceiver(ledger, secrets={"signalwire": SECRETS["signalwire"]}, allow_unsigned=["chime"]).start()
    try:
        root = base(receiver)
        assert [receiver.mode(p) for p in PROVIDER_NAMES] == ["refused", "verified", "refused", "unchecked"]
        for provider in ("acs", "vonage"):
            signed_url, headers = signed(provider, root, body_for(provider))
            refused = web.post(signed_url, content=body_for(provider), headers=headers)
            assert refused.status_code == 401 and "no secret" in refused.json()["error"]
        assert web.post(f"{root}/events/chime", content=body_for("chime")).status_code == 200
    finally:
        receiver.stop()
    [event] = ledger.events()
    assert event.provider == "chime" and event.detail["unchecked"] is True  # the ledger says nobody vouched


def test_any_of_several_profiles_secrets_is_accepted(ledger: Ledger) -> None:
    keys = ["PSK_first_profile_key", "PSK_second_profile_key"]
    receiver = EventReceiver(ledger, secrets={"signalwire": keys}).start()
    try:
        statuses = []
        for key in [*keys, "PSK_a_third_key_nobody_has"]:
            body = body_for("signalwire")
            url, headers = signed("signalwire", base(receiver), body, secret=key)
            statuses.append(web.post(url, content=body, headers=headers).status_code)
    finally:
        receiver.stop()
    assert statuses == [200, 200, 401]


def test_an_unknown_path_is_404(post: Callable[..., httpx.Response], receiver: EventReceiver) -> None:
    assert web.post(f"{base(receiver)}/events/twilio", content=b"{}").status_code == 404


# ---------------------------------------------------------------------------------------------- replays


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_redelivered_callback_is_answered_ok_and_recorded_once(
    receiver: EventReceiver, ledger: Ledger, provider: str
) -> None:
    # Providers redeliver webhooks: the same callback again is answered 200 (so the provider stops retrying)
    # and recorded nothing new. A replay outside the time window is refused (tests/test_events_auth.py above).
    body = body_for(provider)
    url, headers = signed(provider, base(receiver), body)
    first = web.post(url, content=body, headers=headers)
    again = web.post(url, content=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    # The record is in the ledger: a new receiver (events listen restarted, another replica) records it once too.
    second = EventReceiver(ledger, secrets=SECRETS).start()
    try:
        url2, _ = signed(provider, base(second), body)
        headers2 = headers if provider != "signalwire" else signalwire_sign(SECRETS[provider], url2, body)
        assert web.post(url2, content=body, headers=headers2).status_code in (200, 401)
    finally:
        second.stop()
    assert len(ledger.events()) == 1


def test_a_signalwire_replay_to_another_url_fails_its_signature(receiver: EventReceiver, ledger: Ledger) -> None:
    """SignalWire signs the URL: the same callback posted to another receiver is not even authentic there."""
    body = body_for("signalwire")
    _, headers = signed("signalwire", base(receiver), body)
    second = EventReceiver(ledger, secrets=SECRETS).start()
    try:
        assert web.post(second.url("signalwire"), content=body, headers=headers).status_code == 401
    finally:
        second.stop()


def _stale(provider: str) -> tuple[bytes, Callable[[str], tuple[str, dict[str, str]]]]:
    """A body and a signer whose provider timestamp is an hour old (each otherwise valid)."""
    hour_ago = time.time() - 3600
    if provider == "acs":
        event = json.loads(body_for("acs"))[0]
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hour_ago))
        body = json.dumps([event]).encode()
        return body, lambda root: signed("acs", root, body)
    if provider == "signalwire":
        envelope = json.loads(body_for("signalwire"))
        envelope["timestamp"] = hour_ago
        body = json.dumps(envelope).encode()
        return body, lambda root: signed("signalwire", root, body)
    body = body_for(provider)
    if provider == "vonage":
        return body, lambda root: (f"{root}/events/vonage", vonage_headers(SECRETS["vonage"], body, iat=hour_ago))
    return body, lambda root: (f"{root}/events/chime", chime_sign(SECRETS["chime"], body, timestamp=int(hour_ago)))


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_callback_outside_the_time_window_is_refused(receiver: EventReceiver, ledger: Ledger, provider: str) -> None:
    body, signer = _stale(provider)
    url, headers = signer(base(receiver))
    refused = web.post(url, content=body, headers=headers)
    assert refused.status_code == 401 and ("stale" in refused.text or "from now" in refused.text)
    assert ledger.events() == []


# ------------------------------------------------------------------------------------- size and shape


@pytest.mark.parametrize("provider", ["acs", "signalwire"])
def test_a_20_mb_body_is_413_by_content_length_or_while_reading(
    post: Callable[..., httpx.Response], ledger: Ledger, provider: str
) -> None:
    big = b"x" * (20 * 1024 * 1024)
    assert post(provider, big).status_code == 413  # Content-Length says so

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length, found while reading
        for _ in range(20):
            yield b"y" * (1024 * 1024)

    assert post(provider, chunks(), sign=False).status_code == 413  # the size is checked before the signature
    assert ledger.events() == []


def test_a_huge_declared_body_is_refused_without_reading_it(receiver: EventReceiver) -> None:
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(
            b"POST /events/chime HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n" + b"{" * 1000
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_body_of_exactly_the_limit_is_read(post: Callable[..., httpx.Response], ledger: Ledger) -> None:
    body = body_for("chime", padding="")
    body = body_for("chime", padding="p" * (MAX_BODY_BYTES - len(body)))
    assert len(body) == MAX_BODY_BYTES
    assert post("chime", body).status_code == 200
    [event] = ledger.events()
    assert len(json.dumps(event.detail)) <= MAX_DETAIL_BYTES  # the padding is not stored


def _wrong_types(provider: str) -> list[bytes]:
    field = {"acs": "operationContext", "signalwire": "control_id", "vonage": "uuid", "chime": "control_id"}[provider]
    bodies = [body_for(provider, **{field: value}) for value in ({"a": 1}, [1, 2], True, "x" * 300)]
    if provider == "acs":
        bodies += [
            json.dumps([{"id": "1", "type": "Microsoft.Communication.PlayStarted", "data": [1]}]).encode(),
            json.dumps([{"type": "Microsoft.Communication.PlayStarted", "data": {}}]).encode(),  # no id
            json.dumps([{"id": "1", "time": "yesterday", "data": {}}]).encode(),
            json.dumps([{"id": "1", "data": {"resultInformation": "ok"}}]).encode(),
            json.dumps([{"id": str(i), "data": {}} for i in range(51)]).encode(),
        ]
    if provider == "signalwire":
        bodies.append(json.dumps({"params": {"state": ["finished"]}, "timestamp": time.time()}).encode())
    if provider == "chime":
        bodies += [b'{"callplay": 1}', b'{"callplay": 1, "type": {"x": 1}}', b"[]"]
    return bodies


MALFORMED = {
    "not-json": b"not json at all",
    "not-utf8": b"\xff\xfe\x00garbage",
    "list-of-numbers": b"[1, 2, 3]",
    "null": b"null",
    "string": b'"a string"',
    "huge-int": b"[" + b"9" * 5000 + b"]",
    "nested-100000-deep": DEEP,
    "objects-50000-deep": b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
}


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_malformed_bodies_are_400_never_500(
    post: Callable[..., httpx.Response], ledger: Ledger, caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    caplog.set_level(logging.DEBUG)
    statuses = {name: post(provider, body).status_code for name, body in MALFORMED.items()}  # each signed
    assert statuses == dict.fromkeys(MALFORMED, 400)
    assert ledger.events() == []
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_fields_of_the_wrong_type_or_size_are_400(
    post: Callable[..., httpx.Response], ledger: Ledger, caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    caplog.set_level(logging.DEBUG)
    statuses = [post(provider, body).status_code for body in _wrong_types(provider)]
    assert set(statuses) == {400}, statuses
    assert ledger.events() == []
    assert not [r for r in caplog.records if r.exc_info]


def test_odd_headers_are_refused_not_crashed_on(receiver: EventReceiver, ledger: Ledger) -> None:
    root, body = base(receiver), body_for("chime")
    # Header bytes beyond ASCII arrive as Latin-1 text: "²" passes str.isdigit() but not int().
    odd: list[dict[str, str | bytes]] = [
        {"X-Callplay-Timestamp": "²³".encode("latin-1"), "X-Callplay-Signature": "v1=00"},
        {"X-Callplay-Timestamp": "9" * 5000, "X-Callplay-Signature": "v1=00"},
        {**chime_sign(SECRETS["chime"], body), "X-Callplay-Signature": "v1=\u00e9\u00e9".encode("latin-1")},
    ]
    statuses = [web.post(f"{root}/events/chime", content=body, headers=h).status_code for h in odd]
    sw = web.post(
        f"{root}/events/signalwire",
        content=body_for("signalwire"),
        headers={"X-SignalWire-Signature": "\u00e9".encode("latin-1"), "X-Forwarded-Host": "host:notaport"},
    )
    assert statuses == [401, 401, 401] and sw.status_code == 401
    assert ledger.events() == []


def test_a_large_detail_is_capped_in_the_ledger(post: Callable[..., httpx.Response], ledger: Ledger) -> None:
    body = body_for("vonage", headers={"X-Big": "z" * 500_000}, note="n" * 5000)
    assert post("vonage", body).status_code == 200
    [event] = ledger.events()
    assert event.detail["status"] == "answered" and event.detail["truncated"] is True
    assert len(json.dumps(event.detail)) <= MAX_DETAIL_BYTES
    assert (ledger.path.stat().st_size + _wal_size(ledger)) < 2 * 1024 * 1024


def _wal_size(ledger: Ledger) -> int:
    wal = ledger.path.with_name(ledger.path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


# --------------------------------------------------------------------------------- across providers


def test_an_event_never_moves_another_providers_playback(
    post: Callable[..., httpx.Response], ledger: Ledger, receiver: EventReceiver
) -> None:
    ledger.record_playback(Playback("cp-5170a11ed0c1", "call-sw", "sw", "signalwire", "playing", ["tts:hi"]))
    forged = post("acs", body_for("acs", control_id="cp-5170a11ed0c1", call_id="call-sw"))
    assert forged.status_code == 422 and "signalwire playback" in forged.json()["error"]
    record = ledger.get("cp-5170a11ed0c1")
    assert record is not None and (record.state, record.last_event) == ("playing", None)
    assert ledger.events() == [] and receiver.events == []
    # Its own provider's event still does.
    assert post("signalwire", body_for("signalwire", control_id="cp-5170a11ed0c1")).status_code == 200
    assert ledger.get("cp-5170a11ed0c1").state == "finished"  # type: ignore[union-attr]


def test_the_ledger_applies_an_event_to_its_own_providers_playback_only(ledger: Ledger) -> None:
    ledger.record_playback(Playback("cp-1", "c1", "p", "signalwire", "playing", ["tts:hi"]))
    ledger.record_event(Event("PlayCompleted", "t", "acs", "c1", "cp-1", "finished"))
    assert ledger.get("cp-1").state == "playing"  # type: ignore[union-attr]


def test_waiting_ignores_another_providers_events(receiver: EventReceiver, ledger: Ledger) -> None:
    """play --wait on a SignalWire playback: a (genuine) ACS CallDisconnected for a call of the same id, or an
    ACS event naming the control ID, does not end the wait."""
    done: list[tuple[list[Event], bool]] = []
    waiter = threading.Thread(
        target=lambda: done.append(receiver.wait_for("cp-2", 10, "call-x", provider="signalwire")), daemon=True
    )
    waiter.start()
    root = base(receiver)
    ended = json.loads(body_for("acs", control_id="", call_id="call-x"))
    ended[0]["type"] = "Microsoft.Communication.CallDisconnected"
    url, headers = signed("acs", root, b"")
    assert web.post(url, content=json.dumps(ended).encode(), headers=headers).status_code == 200
    body = body_for("signalwire", control_id="cp-2", call_id="call-x")
    url, headers = signed("signalwire", root, body)
    assert web.post(url, content=body, headers=headers).status_code == 200
    waiter.join(10)
    [(events, finished)] = done
    assert finished and [e.provider for e in events] == ["signalwire"]
