"""Amazon Chime SDK events: what callplay's reference Lambda POSTs when callplay's action list ends.

Chime itself reports action results only to the Lambda; callplay's handler (callplay/chime_lambda) turns
them into small JSON events, signed with HMAC-SHA256 over "<timestamp>.<body>" when the Lambda has
CALLPLAY_EVENTS_SECRET (the profile's callback_secret). With a secret configured here, unsigned, stale
or wrongly signed posts are rejected.

Replays: the signed "<timestamp>.<body>" is the delivery's key, and X-Callplay-Timestamp is held to the
window (here and in the receiver). Unsigned (--allow-unsigned), the body's SHA-256 is the key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from typing import Any

from callplay.events import (
    Delivery,
    EventRejected,
    Malformed,
    bounded_events,
    digest,
    first_match,
    load_json,
    lower_headers,
    text_field,
)
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


def read(body: bytes, headers: Mapping[str, str], *, url: str, secrets: Sequence[str]) -> Delivery:
    lowered = lower_headers(headers)
    if secrets:
        first_match(secrets, lambda secret: verify(body, lowered, secret))
    data = load_json(body)
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, dict) and i.get("callplay") == 1 and i.get("type") for i in items):
        raise Malformed("not a callplay Chime event (needs callplay=1 and type)")
    events = bounded_events([_event(i) for i in items])
    if not secrets:
        return Delivery(events, (digest("body", body),))
    timestamp = lowered[TIMESTAMP_HEADER]  # verify has checked it is digits
    return Delivery(events, (digest("signed", timestamp, body),), (float(timestamp),), verified=True)


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    return read(body, headers, url=url, secrets=[secret] if secret else []).events


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float | None = None) -> None:
    signature = headers.get(SIGNATURE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    # ASCII digits only, and few of them: str.isdigit() takes "²", which int() refuses.
    if not signature.startswith("v1=") or not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 16):
        raise EventRejected("missing X-Callplay-Signature/X-Callplay-Timestamp (set CALLPLAY_EVENTS_SECRET)")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW_S:
        raise EventRejected("stale X-Callplay-Timestamp")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature[3:].encode()):  # bytes: str refuses non-ASCII
        raise EventRejected("bad X-Callplay-Signature")


def _event(item: dict[str, Any]) -> Event:
    state = item.get("state")
    return Event(
        type=text_field(item["type"], "type") or "",
        time=text_field(item.get("time"), "time") or now_iso(),
        provider="chime",
        call_id=text_field(item.get("transaction_id"), "transaction_id"),
        control_id=text_field(item.get("control_id"), "control_id"),
        state=state if isinstance(state, str) and state in STATES else None,
        detail={out: item[key] for key, out in DETAIL_KEYS.items() if item.get(key) not in (None, "")},
    )
