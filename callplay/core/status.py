"""stream-status (the provider's view of the call plus callplay's playbacks on it) and events list."""

from __future__ import annotations

from callplay.core.session import session
from callplay.ledger import Ledger
from callplay.model import CallStatus, EventList


def stream_status(call_id: str, *, profile: str | None) -> CallStatus:
    with session(profile) as s:
        # Providers without a call status API (Chime) return state None with a note saying why.
        status = s.provider.status(call_id)
        status.playbacks = [r for r in s.ledger.for_call(call_id, s.profile.name) if r.state != "dry-run"]
        status.warnings = [*s.warnings, *status.warnings]
        return status


def events_list(*, control_id: str | None, call_id: str | None, profile: str | None, limit: int) -> EventList:
    ledger = Ledger.default()
    return EventList(ledger.events(control_id=control_id, call_id=call_id, profile=profile, limit=limit))
