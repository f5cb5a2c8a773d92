"""Vonage Voice event webhooks (call status) into callplay Events, with the signed-webhook check.

Vonage posts call statuses (started, ringing, answered, completed, ...) to the application's event_url as
JSON (or as query parameters when the application uses GET). It documents no stream or talk events, so
these events carry the call leg (`call_id`) but no control id and no playback state.

Signed webhooks: `Authorization: Bearer <JWT>` signed HS256 with the account's signature secret, whose
`payload_hash` claim is the hex SHA-256 of the body serialised as compact JSON. With a secret configured,
a request without a valid token, or whose body does not match `payload_hash`, is rejected.

Replays: the token's `jti` (unique per webhook) is the delivery's key, and its `iat` is held to the
receiver's window. Unsigned (--allow-unsigned), the body's SHA-256 is the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from callplay.events import (
    Delivery,
    EventRejected,
    Malformed,
    digest,
    first_match,
    load_json,
    lower_headers,
    text_field,
)
from callplay.model import Event, now_iso

JWT_LEEWAY_S = 30  # Vonage's clock and ours may differ a little


def read(body: bytes, headers: Mapping[str, str], *, url: str, secrets: Sequence[str]) -> Delivery:
    """The events one webhook request carries; EventRejected when it fails its authenticity check."""
    payload = _payload(body, url)
    event = _event(payload)
    if not secrets:
        source = body if body.strip() else urlsplit(url).query.encode()
        return Delivery([event], (digest("body", source),))
    claims = first_match(secrets, lambda secret: verify(body, payload, headers, secret))
    jti = claims.get("jti")
    key = digest("jti", jti) if isinstance(jti, str) and jti else digest("token", _bearer(headers))
    try:
        iat = float(claims["iat"])  # required by verify; PyJWT has checked that int() takes it
    except (TypeError, ValueError):
        raise EventRejected("Vonage webhook token's iat is not a time") from None
    return Delivery([event], (key,), (iat,), verified=True)


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    return read(body, headers, url=url, secrets=[secret] if secret else []).events


def verify(body: bytes, payload: dict[str, Any], headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The verified JWT claims of a signed webhook (raises EventRejected; never echoes the token)."""
    import jwt

    token = _bearer(headers)
    if not token:
        raise EventRejected("unsigned Vonage webhook: no Bearer token, and a signature secret is configured")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["iat"]},
            leeway=JWT_LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise EventRejected("Vonage webhook token has expired") from None
    except jwt.InvalidSignatureError:
        raise EventRejected("Vonage webhook signature does not match the signature secret") from None
    except (jwt.InvalidTokenError, TypeError, ValueError) as exc:  # odd claim types can escape PyJWT's own
        raise EventRejected(f"Vonage webhook token is invalid ({exc.__class__.__name__})") from None
    expected = claims.get("payload_hash")
    if not isinstance(expected, str):
        raise EventRejected("Vonage webhook token has no payload_hash claim")
    if not any(hmac.compare_digest(expected.lower().encode(), h.encode()) for h in _body_hashes(body, payload)):
        raise EventRejected("Vonage webhook body does not match its payload_hash (tampered in transit?)")
    return claims


def _bearer(headers: Mapping[str, str]) -> str:
    auth = lower_headers(headers).get("authorization", "")
    return auth[len("bearer ") :].strip() if auth.lower().startswith("bearer ") else ""


def _body_hashes(body: bytes, payload: dict[str, Any]) -> list[str]:
    """SHA-256 of the bytes received and of the compact JSON Vonage hashes (same content, other spacing)."""
    forms = [body] if body else []
    for ascii_only in (False, True):
        try:
            forms.append(json.dumps(payload, ensure_ascii=ascii_only, separators=(",", ":")).encode())
        except (RecursionError, ValueError):  # nesting json.loads took but cannot write back: not Vonage's
            continue
    return [hashlib.sha256(f).hexdigest() for f in forms]


def _payload(body: bytes, url: str) -> dict[str, Any]:
    if not body.strip():
        # event_method GET: the event comes as query parameters
        return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    payload = load_json(body, "Vonage webhook body")
    if not isinstance(payload, dict):
        raise Malformed("Vonage webhook body is not a JSON object")
    return payload


def _event(payload: dict[str, Any]) -> Event:
    # Call status events have `status`; others (input, transfer, record, ...) have neither status nor a
    # common type field, so they are named by what they carry.
    kind = text_field(payload.get("status"), "status") or text_field(payload.get("type"), "type")
    return Event(
        type=kind or _guess_kind(payload),
        time=text_field(payload.get("timestamp"), "timestamp") or now_iso(),
        provider="vonage",
        call_id=text_field(payload.get("uuid"), "uuid"),
        control_id=None,  # Vonage events name the call leg, never a playback
        state=None,  # call statuses are not playback states
        detail=payload,
    )


def _guess_kind(payload: dict[str, Any]) -> str:
    for key, kind in (("dtmf", "input"), ("speech", "input"), ("recording_url", "record"), ("destination", "transfer")):
        if key in payload:
            return kind
    return "event"
