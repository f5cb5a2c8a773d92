"""SignalWire play webhooks (`status_url` of calling.play) into callplay's Event.

Body: `{control_id, call_id, node_id, state}` with state playing | paused | finished | error (the published
spec); the envelope around it is not documented, so both the flat form and the RELAY-style envelope
`{"event_type": "calling.call.play", "timestamp", "params": {...}}` are read.

Authenticity, as SignalWire documents it for webhooks: the request carries `X-SignalWire-Signature`, the
lowercase hex HMAC-SHA1 of (the full URL SignalWire posted to + the raw body) keyed with the project's
Signing Key (also sent as HMAC-SHA256 in `X-SignalWire-Sha256-Signature`). With a signing key configured,
a request without a valid signature is rejected. The URL checked is the one the receiver was reached at,
with and without the default port, and as X-Forwarded-Proto/-Host describe it (tunnels). The documentation
is silent on timestamps or replay windows. We do not accept the Compatibility (cXML form) scheme, whose
signature over a JSON body covers only the URL: it would let anyone who saw one callback forge others.

Replays: the signature covers the body, so the body's SHA-256 is the delivery's key (the receiver refuses
a body it has recorded before), and the envelope's `timestamp` (epoch seconds, inside the signed body) is
held to the receiver's window. A flat body carries no timestamp: only the key protects it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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

PROVIDER = "signalwire"
PLAY_EVENT = "calling.call.play"
STATE_OF = {"playing": "playing", "paused": "paused", "finished": "finished", "error": "failed"}
SIGNATURE_HEADER = "x-signalwire-signature"
SHA256_HEADER = "x-signalwire-sha256-signature"


def read(body: bytes, headers: Mapping[str, str], *, url: str, secrets: Sequence[str]) -> Delivery:
    """The events in one webhook request; EventRejected when the signature matches no signing key."""
    if secrets:
        lowered = lower_headers(headers)
        first_match(secrets, lambda key: verify(body, lowered, url=url, signing_key=key))
    data = load_json(body)
    if not isinstance(data, dict):
        raise Malformed("body is not a JSON object")
    stamp = data.get("timestamp")
    signed_at = (float(stamp),) if isinstance(stamp, (int, float)) and _is_number(stamp) else ()
    return Delivery([to_event(data)], (digest("body", body),), signed_at, verified=bool(secrets))


def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]:
    return read(body, headers, url=url, secrets=[secret] if secret else []).events


def to_event(data: dict[str, Any]) -> Event:
    params = data.get("params") if isinstance(data.get("params"), dict) else data
    assert isinstance(params, dict)
    event_type = text_field(data.get("event_type"), "event_type") or PLAY_EVENT
    wire_state = text_field(params.get("state"), "state")
    is_play = event_type == PLAY_EVENT
    detail: dict[str, Any] = {"event_type": event_type}
    for key in ("node_id", "error", "reason"):
        if params.get(key) is not None:
            detail[key] = params[key]
    return Event(
        type=wire_state if is_play and wire_state else event_type,
        time=_time(data.get("timestamp")),
        provider=PROVIDER,
        call_id=text_field(params.get("call_id"), "call_id"),
        control_id=text_field(params.get("control_id"), "control_id"),
        state=STATE_OF.get(str(wire_state)) if is_play else None,
        detail=detail,
    )


def verify(body: bytes, headers: Mapping[str, str], *, url: str, signing_key: str) -> None:
    """Check X-SignalWire-Signature (and the SHA-256 one when sent) against every spelling of the URL."""
    sha1_sig = headers.get(SIGNATURE_HEADER, "").strip().lower()
    sha256_sig = headers.get(SHA256_HEADER, "").strip().lower()
    if not sha1_sig and not sha256_sig:
        raise EventRejected("missing X-SignalWire-Signature header")
    key = signing_key.encode()
    for candidate in candidate_urls(url) + candidate_urls(forwarded_url(url, headers)):
        message = candidate.encode() + body
        # Compared as bytes: compare_digest refuses str with non-ASCII characters (a header may have them).
        ok_sha1 = not sha1_sig or hmac.compare_digest(
            hmac.new(key, message, hashlib.sha1).hexdigest().encode(), sha1_sig.encode()
        )
        ok_sha256 = not sha256_sig or hmac.compare_digest(
            hmac.new(key, message, hashlib.sha256).hexdigest().encode(), sha256_sig.encode()
        )
        if ok_sha1 and ok_sha256:
            return
    raise EventRejected("X-SignalWire-Signature does not match (wrong signing_key, or the URL differs)")


def forwarded_url(url: str, headers: Mapping[str, str]) -> str:
    """The URL as the sender saw it when a TLS-terminating proxy or tunnel says so (X-Forwarded-Proto/-Host).
    Safe to trust: a wrong URL only makes the HMAC check fail, it cannot make a forged one pass."""
    parts = urlsplit(url)
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    host = headers.get("x-forwarded-host", "").split(",")[0].strip()
    if proto not in ("http", "https"):
        proto = parts.scheme
    return urlunsplit(parts._replace(scheme=proto, netloc=host or parts.netloc))


def candidate_urls(url: str) -> list[str]:
    """The URL as given, and with the default port added or dropped: proxies and tunnels disagree on it."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a forwarded host may name a port that is not a number
    except ValueError:
        return [url]
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None:
        other = urlunsplit(parts._replace(netloc=f"{host}:{default}"))
    elif port == default:
        other = urlunsplit(parts._replace(netloc=host))
    else:
        return [url]
    return [url, other]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int of thousands of digits
        return False


def _time(value: Any) -> str:
    """SignalWire's timestamp is epoch seconds (a float); keep an ISO string as it came."""
    if _is_number(value):
        try:
            return _dt.datetime.fromtimestamp(float(value), _dt.UTC).isoformat(timespec="milliseconds")
        except (OverflowError, OSError, ValueError):
            return now_iso()
    return text_field(value, "timestamp") or now_iso()
