"""Provider callbacks, parsed into callplay's common Event.

Each provider module here exposes

    def parse(body: bytes, headers: Mapping[str, str], *, url: str, secret: str | None) -> list[Event]

which checks the request's authenticity the way the provider documents it (raising EventRejected) and
returns the events it carries with `control_id` and `state` filled in where they can be known. The receiver
(receiver.py) routes POST /events/<provider> to it, records the events in the ledger and wakes waiters.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from callplay.model import Event

Parser = Callable[..., list[Event]]


class EventRejected(Exception):
    """The callback failed its authenticity check (answered 401/403, recorded nowhere)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def parser_for(provider: str) -> Parser | None:
    """The registered provider's `parse` (callplay.events.NAME); None for any other path word."""
    from callplay.providers import PROVIDER_NAMES

    if provider not in PROVIDER_NAMES:  # the word comes from the request path: never import what it names
        return None
    module = importlib.import_module(f"callplay.events.{provider}")
    parse: Any = getattr(module, "parse", None)
    return parse if callable(parse) else None


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
