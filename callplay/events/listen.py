"""`events listen`: the receiver in the foreground, a row per event, until --count, --timeout or Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callplay.config import resolve_profile
from callplay.errors import ConfigError, Interrupted
from callplay.events.receiver import EventReceiver
from callplay.ledger import Ledger
from callplay.model import Event
from callplay.providers import PROVIDER_NAMES, provider_class


@dataclass
class ListenResult:
    received: int
    rejected: int
    urls: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"received": self.received, "rejected": self.rejected, "urls": self.urls}

    def to_tables(self) -> list[Any]:
        from callplay.output import TableSpec

        return [TableSpec("Listener", ["received", "rejected"], [[str(self.received), str(self.rejected)]])]


def listen(
    *,
    host: str,
    port: int,
    count: int | None,
    timeout: float | None,
    profile: str | None,
    on_ready: Callable[[dict[str, str]], None],
    on_event: Callable[[Event], None] | None,
) -> ListenResult:
    receiver = EventReceiver(
        Ledger.default(), host=host, port=port, secrets=_listen_secrets(profile), on_event=on_event
    )
    receiver.start()
    urls = {name: receiver.url(name) for name in PROVIDER_NAMES}
    on_ready(urls)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while (count is None or len(receiver.events) < count) and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped listening after {len(receiver.events)} event(s)", None) from None
    finally:
        receiver.stop()
    return ListenResult(len(receiver.events), receiver.rejected, urls)


def _listen_secrets(profile: str | None) -> dict[str, str | None]:
    """The profile's callback token or signing secret, when there is a profile to read; the receiver checks
    what it can. The setting's name is the provider's declared `callback_secret_setting`."""
    try:
        p = resolve_profile(profile)
    except ConfigError:
        if profile:
            raise
        return {}
    setting = provider_class(p.provider).capabilities.callback_secret_setting
    value = p.get(setting) if setting else None
    return {p.provider: str(value)} if value else {}
