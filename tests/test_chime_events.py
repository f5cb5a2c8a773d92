"""Parsing and authenticating the events callplay's Chime Lambda posts."""

from __future__ import annotations

import json
import time

import pytest

from callplay.chime_lambda.handler import sign
from callplay.events import EventRejected, reader_for
from callplay.events import chime as chime_events

SECRET = "s3cr3t"
BODY = json.dumps(
    {
        "callplay": 1,
        "type": "ACTION_FAILED",
        "state": "failed",
        "control_id": "cp-1",
        "transaction_id": "tx-1",
        "action": "PlayAudio",
        "error_type": "InvalidAudioSource",
        "error_message": "Audio Source parameter value is invalid.",
        "time": "2026-01-01T00:00:00Z",
    }
).encode()


def test_signed_event_is_parsed() -> None:
    [event] = chime_events.parse(BODY, sign(SECRET, BODY), url="http://x/events/chime", secret=SECRET)
    assert (event.provider, event.type, event.state, event.control_id, event.call_id) == (
        "chime",
        "ACTION_FAILED",
        "failed",
        "cp-1",
        "tx-1",
    )
    assert event.detail == {
        "action": "PlayAudio",
        "code": "InvalidAudioSource",
        "message": "Audio Source parameter value is invalid.",
    }
    assert "code=InvalidAudioSource" in event.summary()


def test_registry_finds_the_reader() -> None:
    assert reader_for("chime") is chime_events.read
    assert reader_for("../etc") is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        sign("other-secret", BODY),
        sign(SECRET, BODY, timestamp=int(time.time()) - 3600),
        {**sign(SECRET, BODY), "X-Callplay-Signature": "v1=" + "0" * 64},
    ],
)
def test_unsigned_wrongly_signed_or_stale_events_are_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(EventRejected):
        chime_events.parse(BODY, headers, url="http://x/events/chime", secret=SECRET)


def test_tampered_body_is_rejected() -> None:
    headers = sign(SECRET, BODY)
    with pytest.raises(EventRejected):
        chime_events.parse(BODY.replace(b"failed", b"finish"), headers, url="http://x", secret=SECRET)


def test_without_a_secret_events_are_accepted_unchecked() -> None:
    assert len(chime_events.parse(BODY, {}, url="http://x", secret=None)) == 1


@pytest.mark.parametrize("body", [b"not json", b'{"type": "ACTION_SUCCESSFUL"}', b"[1]"])
def test_malformed_bodies_are_value_errors(body: bytes) -> None:
    with pytest.raises(ValueError):
        chime_events.parse(body, {}, url="http://x", secret=None)


def test_unknown_state_is_not_invented() -> None:
    body = json.dumps({"callplay": 1, "type": "SOMETHING", "state": "weird", "control_id": "cp-1"}).encode()
    [event] = chime_events.parse(body, {}, url="http://x", secret=None)
    assert event.state is None
