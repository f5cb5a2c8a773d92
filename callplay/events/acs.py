"""ACS Call Automation callbacks: a JSON array of CloudEvents 1.0, as ACS posts them.

callplay carries its control ID as `operationContext`, so each play event names its playback. Real ACS
signs callbacks with an RS256 JWT whose keys must be fetched from the service; callplay instead protects
its receiver with an unguessable token it adds to the callback URL when the profile sets `callback_token`
(the `secret` here): a request without it is rejected.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from callplay.events import EventRejected
from callplay.model import Event, now_iso

PREFIX = "Microsoft.Communication."
STATES = {
    "PlayStarted": "playing",
    "PlayCompleted": "finished",
    "PlayFailed": "failed",
    "PlayCanceled": "canceled",
}


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    if secret:
        token = parse_qs(urlsplit(url).query).get("token", [""])[0]
        if not hmac.compare_digest(token.encode(), secret.encode()):
            raise EventRejected("callback token missing or wrong", status=401)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    items = payload if isinstance(payload, list) else [payload]
    return [_event(item) for item in items if isinstance(item, dict)]


def _event(cloud_event: dict[str, Any]) -> Event:
    data = cloud_event.get("data") or {}
    full_type = str(cloud_event.get("type") or data.get("publicEventType") or "unknown")
    short = full_type.removeprefix(PREFIX)
    result = data.get("resultInformation") or {}
    detail: dict[str, Any] = {
        "code": result.get("code"),
        "subCode": result.get("subCode"),
        "message": result.get("message"),
    }
    if "failedPlaySourceIndex" in data:
        detail["failedPlaySourceIndex"] = data["failedPlaySourceIndex"]
    if "mediaStreamingUpdate" in data:
        detail["mediaStreaming"] = data["mediaStreamingUpdate"]
    return Event(
        type=short,
        time=str(cloud_event.get("time") or now_iso()),
        provider="acs",
        call_id=data.get("callConnectionId"),
        control_id=data.get("operationContext"),
        state=STATES.get(short),
        detail={k: v for k, v in detail.items() if v is not None},
    )
