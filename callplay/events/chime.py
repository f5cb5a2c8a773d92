"""Amazon Chime SDK events: what callplay's reference Lambda POSTs when callplay's action list ends.

Chime itself reports action results only to the Lambda; callplay's handler (callplay/chime_lambda) turns
them into small JSON events, signed with HMAC-SHA256 over "<timestamp>.<body>" when the Lambda has
CALLPLAY_EVENTS_SECRET (the profile's callback_secret). With a secret configured here, unsigned, stale
or wrongly signed posts are rejected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from callplay.events import EventRejected, lower_headers
from callplay.model import Event, now_iso

SIGNATURE_HEADER = "x-callplay-signature"
TIMESTAMP_HEADER = "x-callplay-timestamp"
MAX_SKEW_S = 300  # a signed event older (or newer) than this is a replay
STATES = frozenset({"playing", "paused", "finished", "failed", "canceled"})
DETAIL_KEYS = {
    "action": "action",
    "error_type": "code",
    "error_message": "message",
    "reason": "reason",
    "sequence": "sequence",
    "sip_media_application_id": "sip_media_application_id",
}


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    if secret:
        verify(body, lower_headers(headers), secret)
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("body is not JSON") from None
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(i, dict) and i.get("callplay") == 1 and i.get("type") for i in items):
        raise ValueError("not a callplay Chime event (needs callplay=1 and type)")
    return [_event(i) for i in items]


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float | None = None) -> None:
    signature = headers.get(SIGNATURE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not signature.startswith("v1=") or not timestamp.isdigit():
        raise EventRejected("missing X-Callplay-Signature/X-Callplay-Timestamp (set CALLPLAY_EVENTS_SECRET)")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW_S:
        raise EventRejected("stale X-Callplay-Timestamp")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature[3:]):
        raise EventRejected("bad X-Callplay-Signature")


def _event(item: dict[str, Any]) -> Event:
    state = item.get("state")
    return Event(
        type=str(item["type"]),
        time=str(item.get("time") or now_iso()),
        provider="chime",
        call_id=_str(item.get("transaction_id")),
        control_id=_str(item.get("control_id")),
        state=state if state in STATES else None,
        detail={out: item[key] for key, out in DETAIL_KEYS.items() if item.get(key) not in (None, "")},
    )


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
