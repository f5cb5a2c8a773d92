"""ACS Call Automation callbacks: a JSON array of CloudEvents 1.0, as ACS posts them.

callplay carries its control ID as `operationContext`, so each play event names its playback. Real ACS
signs callbacks with an RS256 JWT whose keys must be fetched from the service; callplay instead protects
its receiver with an unguessable token in the callback URL's `token` query parameter: the profile's
`callback_token`, or one callplay mints and keeps per profile (core/callbacks.py). A request without a
matching token is rejected.

Replays: the token is the same on every callback, so it proves nothing about one delivery. Each CloudEvent
carries an `id` unique per `source` (CloudEvents 1.0): those are the delivery's keys, and the events' `time`
is held to the receiver's window. Neither is signed, so this stops a captured callback being posted again
rather than a forger who has the token: keep the callback URL as secret as the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from callplay.events import Delivery, EventRejected, Malformed, bounded_events, digest, load_json, text_field
from callplay.model import Event, now_iso

PREFIX = "Microsoft.Communication."
STATES = {
    "PlayStarted": "playing",
    "PlayCompleted": "finished",
    "PlayFailed": "failed",
    "PlayCanceled": "canceled",
}
# What a Play* event's detail keeps: the result, and the few extras ACS adds (small by construction).
RESULT_KEYS = ("code", "subCode", "message")


def read(body: bytes, headers: Mapping[str, str], *, url: str, secrets: Sequence[str]) -> Delivery:
    if secrets:
        check_token(url, secrets)
    payload = load_json(body)
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(item, dict) for item in items):
        raise Malformed("not ACS CloudEvents (a JSON array of objects)")
    events, keys, times = [], [], []
    for item in items:
        event, key, when = _event(item)
        events.append(event)
        keys.append(key)
        if when is not None:
            times.append(when)
    return Delivery(bounded_events(events), tuple(keys), tuple(times), verified=bool(secrets))


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    return read(body, headers, url=url, secrets=[secret] if secret else []).events


def check_token(url: str, secrets: Sequence[str]) -> None:
    token = parse_qs(urlsplit(url).query).get("token", [""])[0].encode()
    # Every secret is compared (no early exit), each in constant time.
    if not any([hmac.compare_digest(token, s.encode()) for s in secrets]):
        raise EventRejected("callback token missing or wrong", status=401)


def _event(cloud_event: dict[str, Any]) -> tuple[Event, str, float | None]:
    data = cloud_event.get("data")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise Malformed("a CloudEvent's data is not an object")
    event_id = text_field(cloud_event.get("id"), "id")
    if event_id is None:
        raise Malformed("a CloudEvent has no id")
    source = text_field(cloud_event.get("source"), "source") or ""
    full_type = text_field(cloud_event.get("type"), "type") or text_field(data.get("publicEventType"), "type")
    short = (full_type or "unknown").removeprefix(PREFIX)
    time_text = text_field(cloud_event.get("time"), "time")
    result = data.get("resultInformation") or {}
    if not isinstance(result, dict):
        raise Malformed("resultInformation is not an object")
    detail: dict[str, Any] = {k: result.get(k) for k in RESULT_KEYS}
    if "failedPlaySourceIndex" in data:
        detail["failedPlaySourceIndex"] = data["failedPlaySourceIndex"]
    if "mediaStreamingUpdate" in data:
        detail["mediaStreaming"] = data["mediaStreamingUpdate"]
    event = Event(
        type=short,
        time=time_text or now_iso(),
        provider="acs",
        call_id=text_field(data.get("callConnectionId"), "callConnectionId"),
        control_id=text_field(data.get("operationContext"), "operationContext"),
        state=STATES.get(short),
        detail={k: v for k, v in detail.items() if v is not None},
    )
    return event, digest("cloudevent", source, event_id), _epoch(time_text)


def _epoch(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed("a CloudEvent's time is not an RFC 3339 timestamp") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
