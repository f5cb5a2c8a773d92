"""Provider callbacks, parsed into callplay's common Event.

Each provider module here exposes

    def read(body: bytes, headers: Mapping[str, str], *, url: str, secrets: Sequence[str]) -> Delivery

which checks the request's authenticity the way the provider documents it against each of `secrets` in turn
(raising EventRejected when none matches; an empty `secrets` means unchecked, which only `events listen
--allow-unsigned` asks for), and returns the events it carries with `control_id` and `state` filled in where
they can be known, plus what identifies the delivery for the replay check. `parse(body, headers, *, url,
secret)` is the one-secret form returning just the events. Anything malformed raises Malformed (a
ValueError): the receiver answers 400, never 500.

The receiver (receiver.py) routes POST /events/<provider> to `read`, refuses stale and replayed deliveries
(receiver.REPLAY_WINDOW_S, and the ledger's record of delivery keys), records the events in the ledger and
wakes waiters.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from callplay.model import Event

MAX_EVENTS_PER_DELIVERY = 50  # real providers post one event (ACS: an array of one); more is an attack
MAX_FIELD_CHARS = 256  # ids, types and times longer than this are not a provider's
Reader = Callable[..., "Delivery"]
T = TypeVar("T")


class EventRejected(Exception):
    """The callback is refused (answered with `status`, 401 for a failed authenticity check; recorded nowhere)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Malformed(EventRejected, ValueError):
    """The body is not what the provider sends (not JSON, wrong shape, wrong types): answered 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=400)


@dataclass
class Delivery:
    """One callback request, read and checked.

    `keys` identify it for the replay check: a later delivery carrying any of them is a replay. They are what
    the provider's proof covers (a signature's input, a signed JWT's id) or, where nothing is signed, the
    provider's own event ids. `signed_at` holds the provider's timestamps (epoch seconds) the receiver holds to
    its window: signed ones where the provider signs a time, the events' own otherwise.
    """

    events: list[Event]
    keys: tuple[str, ...]
    signed_at: tuple[float, ...] = ()
    verified: bool = False  # a secret was checked (False: taken unchecked, --allow-unsigned)


def reader_for(provider: str) -> Reader | None:
    """The registered provider's `read` (callplay.events.NAME); None for any other path word."""
    from callplay.providers import PROVIDER_NAMES

    if provider not in PROVIDER_NAMES:  # the word comes from the request path: never import what it names
        return None
    module = importlib.import_module(f"callplay.events.{provider}")
    read: Any = getattr(module, "read", None)
    return read if callable(read) else None


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def load_json(body: bytes, what: str = "body") -> Any:
    """The body as JSON; Malformed for anything json cannot read, including nesting deep enough to exhaust
    the parser's recursion limit (RecursionError would otherwise surface as a 500)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise Malformed(f"{what} is not JSON") from None


def text_field(value: Any, name: str) -> str | None:
    """An id or name from a callback: a short string (numbers are taken as text), None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Malformed(f"{name} must be a string")
    text = str(value)
    if len(text) > MAX_FIELD_CHARS:
        raise Malformed(f"{name} is longer than {MAX_FIELD_CHARS} characters")
    return text


def digest(*parts: bytes | str) -> str:
    """A fixed-length delivery key from what identifies it (hashing keeps the ledger's record small)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)  # length-prefixed: ("ab","c") != ("a","bc")
    return h.hexdigest()


def first_match(secrets: Sequence[str], check: Callable[[str], T]) -> T:
    """check(secret) for each secret until one passes; the first failure's EventRejected when none does (the
    reason is the same kind for each: which secret was tried is never said)."""
    first: EventRejected | None = None
    for secret in secrets:
        try:
            return check(secret)
        except EventRejected as exc:
            first = first or exc
    assert first is not None, "first_match needs at least one secret"
    if len(secrets) > 1:
        first.reason += f" (checked against {len(secrets)} profiles' secrets)"
    raise first


def bounded_events(events: list[Event]) -> list[Event]:
    if len(events) > MAX_EVENTS_PER_DELIVERY:
        raise Malformed(f"more than {MAX_EVENTS_PER_DELIVERY} events in one callback")
    return events
