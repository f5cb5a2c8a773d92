"""Vonage Voice event webhooks (call status) into callplay Events, with the signed-webhook check.

Vonage posts call statuses (started, ringing, answered, completed, ...) to the application's event_url as
JSON (or as query parameters when the application uses GET). It documents no stream or talk events, so
these events carry the call leg (`call_id`) but no control id and no playback state.

Signed webhooks: `Authorization: Bearer <JWT>` signed HS256 with the account's signature secret, whose
`payload_hash` claim is the hex SHA-256 of the body serialised as compact JSON. With a secret configured,
a request without a valid token, or whose body does not match `payload_hash`, is rejected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from callplay.events import EventRejected, lower_headers
from callplay.model import Event, now_iso

JWT_LEEWAY_S = 30  # Vonage's clock and ours may differ a little


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    """The events one webhook request carries; EventRejected when it fails its authenticity check."""
    payload = _payload(body, url)
    if secret:
        verify(body, payload, headers, secret)
    return [_event(payload)]


def verify(body: bytes, payload: dict[str, Any], headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The verified JWT claims of a signed webhook (raises EventRejected; never echoes the token)."""
    import jwt

    auth = lower_headers(headers).get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise EventRejected("unsigned Vonage webhook: no Bearer token, and a signature secret is configured")
    try:
        claims: dict[str, Any] = jwt.decode(
            auth[len("bearer ") :].strip(),
            secret,
            algorithms=["HS256"],
            options={"require": ["iat"]},
            leeway=JWT_LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise EventRejected("Vonage webhook token has expired") from None
    except jwt.InvalidSignatureError:
        raise EventRejected("Vonage webhook signature does not match the signature secret") from None
    except jwt.InvalidTokenError as exc:
        raise EventRejected(f"Vonage webhook token is invalid ({exc.__class__.__name__})") from None
    expected = claims.get("payload_hash")
    if not isinstance(expected, str):
        raise EventRejected("Vonage webhook token has no payload_hash claim")
    if not any(hmac.compare_digest(expected.lower(), h) for h in _body_hashes(body, payload)):
        raise EventRejected("Vonage webhook body does not match its payload_hash (tampered in transit?)")
    return claims


def _body_hashes(body: bytes, payload: dict[str, Any]) -> list[str]:
    """SHA-256 of the bytes received and of the compact JSON Vonage hashes (same content, other spacing)."""
    forms = [body] if body else []
    for ascii_only in (False, True):
        forms.append(json.dumps(payload, ensure_ascii=ascii_only, separators=(",", ":")).encode())
    return [hashlib.sha256(f).hexdigest() for f in forms]


def _payload(body: bytes, url: str) -> dict[str, Any]:
    if not body.strip():
        # event_method GET: the event comes as query parameters
        return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    try:
        payload = json.loads(body)
    except ValueError:
        raise EventRejected("Vonage webhook body is not JSON", status=400) from None
    if not isinstance(payload, dict):
        raise EventRejected("Vonage webhook body is not a JSON object", status=400)
    return payload


def _event(payload: dict[str, Any]) -> Event:
    # Call status events have `status`; others (input, transfer, record, ...) have neither status nor a
    # common type field, so they are named by what they carry.
    kind = payload.get("status") or payload.get("type") or _guess_kind(payload)
    return Event(
        type=str(kind),
        time=str(payload.get("timestamp") or now_iso()),
        provider="vonage",
        call_id=_str_or_none(payload.get("uuid")),
        control_id=None,  # Vonage events name the call leg, never a playback
        state=None,  # call statuses are not playback states
        detail=payload,
    )


def _guess_kind(payload: dict[str, Any]) -> str:
    for key, kind in (("dtmf", "input"), ("speech", "input"), ("recording_url", "record"), ("destination", "transfer")):
        if key in payload:
            return kind
    return "event"


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
