"""stream-status (the provider's view of the call plus callplay's playbacks on it), playbacks (the ledger's
playbacks across calls) and events list.

The ledger keeps what was observed: a playback whose events never arrived stays `requested` there. What a
person is shown is computed here, when listing: once such a playback's expected length (plus a grace period)
has passed, it is shown as `unknown (no events received)` and flagged `stale` in JSON, its stored `state`
unchanged. Only an answer from the provider (`--refresh`, stream-status) moves the stored state.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict

from callplay.core.session import Session, about_call, session
from callplay.errors import CallplayError
from callplay.ledger import Ledger
from callplay.model import (
    TERMINAL_STATES,
    CallStatus,
    EventList,
    ListedPlayback,
    PlaybackList,
    PlaybackRecord,
)
from callplay.providers import provider_class
from callplay.providers.base import PlaybackStates
from callplay.providers.facts import SPEECH_CHARS_PER_S

# How long a playback is expected to last, from what the ledger knows of it. Generous on purpose: a playback
# shown as unknown too early would be a false alarm, one shown late only a slow one.
# Speech is taken as slow as two thirds of the typical rate (SPEECH_CHARS_PER_S, 15 characters a second; the
# Chime Speak estimate uses that one, for its likeliest length): slow voices and SSML <prosody> rates.
SLOW_SPEECH_CHARS_PER_S = SPEECH_CHARS_PER_S * 2 / 3
AUDIO_SECONDS = 600.0  # an audio file or ringtone of unknown length: ten minutes
GRACE_SECONDS = 60.0  # on top: the provider's start-up latency and a late callback
STALE_STATE = "unknown (no events received)"
ENDED_SHOWN = 3  # stream-status's table: the newest ended playbacks shown after the active ones (--all: every one)
_TAG_RE = re.compile(r"<[^>]+>")


# ---------------------------------------------------------------------------------------- stream-status


def stream_status(call_id: str, *, profile: str | None, show_all: bool = False) -> CallStatus:
    with about_call(call_id), session(profile) as s:
        # Providers without a call status API (Chime) return state None with a note saying why.
        status = s.provider.status(call_id)
        records = _open(s.ledger.for_call(call_id, s.profile.name))
        if records and s.caps.playback_states and isinstance(s.provider, PlaybackStates):
            for event in s.provider.playback_states(call_id, records, status=status):
                s.ledger.record_event(event)
        now = time.time()
        listed = [listed_playback(r, now) for r in s.ledger.for_call(call_id, s.profile.name) if r.state != "dry-run"]
        # Active first, then the ended (or stale) ones; newest first within each.
        listed.reverse()
        listed.sort(key=lambda p: p.state in TERMINAL_STATES or p.stale)
        status.playbacks = list(listed)
        status.ended_shown = None if show_all else ENDED_SHOWN
        status.warnings = [*s.warnings, *status.warnings]
        return status


# -------------------------------------------------------------------------------------------- playbacks


def list_playbacks(
    *,
    call_id: str | None,
    profile: str | None,
    active: bool,
    since_seconds: float | None,
    limit: int,
    refresh: bool,
) -> PlaybackList:
    ledger = Ledger.default()
    since = None
    if since_seconds is not None:
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=since_seconds)).isoformat(timespec="milliseconds")

    def query() -> list[PlaybackRecord]:
        return ledger.playbacks(call_id=call_id, profile=profile, active=active, since=since, limit=limit)

    records = query()
    result = PlaybackList([], call_id=call_id)
    if refresh and records:
        _refresh(_open(records), result)
        records = query()  # as the ledger has them now (with --active, the ended ones drop out)
    now = time.time()
    result.playbacks = [listed_playback(r, now) for r in records]
    return result


def _refresh(records: list[PlaybackRecord], result: PlaybackList) -> None:
    """Ask each provider that can tell how the playbacks stand, one session per profile; record its answers.
    A provider that cannot be asked gets a note; a profile or call that fails, a warning (the list still shows)."""
    if not records:
        result.notes.append("nothing to refresh: every playback listed has ended")
        return
    by_profile: dict[str, list[PlaybackRecord]] = defaultdict(list)
    for record in records:
        by_profile[record.profile].append(record)
    cannot: dict[str, list[str]] = defaultdict(list)  # provider -> its profiles
    for name, group in by_profile.items():
        caps = provider_class(group[0].provider).capabilities
        if not caps.playback_states:
            cannot[group[0].provider].append(name)
            continue
        try:
            with session(name) as s:
                _refresh_profile(s, group, result)
        except CallplayError as err:
            result.warnings.append(f"profile {name}: not refreshed: {err.message}")
    for provider, profiles in cannot.items():
        cls = provider_class(provider)
        why = cls.capabilities.notes.get("playback_states", f"{cls.display_name} has no read of a playback's state")
        result.notes.append(f"{', '.join(profiles)}: not refreshed: {why}")


def _refresh_profile(s: Session, records: list[PlaybackRecord], result: PlaybackList) -> None:
    if not isinstance(s.provider, PlaybackStates) or s.provider.name != records[0].provider:
        result.warnings.append(f"profile {s.profile.name} is now a {s.provider.name} profile: not refreshed")
        return
    by_call: dict[str, list[PlaybackRecord]] = defaultdict(list)
    for record in records:
        by_call[record.call_id].append(record)
    moved = asked = 0
    for call_id, group in by_call.items():
        try:
            events = s.provider.playback_states(call_id, group)
        except CallplayError as err:
            result.warnings.append(f"call {call_id} (profile {s.profile.name}): not refreshed: {err.message}")
            continue
        for event in events:
            s.ledger.record_event(event)
        moved += len(events)
        asked += len(group)
    result.refreshed.append(s.profile.name)
    result.notes.append(
        f"{s.profile.name}: asked {s.provider.display_name} about {_count(asked, 'open playback')}: "
        f"{moved} had ended with the call"
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------- expected length


def listed_playback(record: PlaybackRecord, now: float) -> ListedPlayback:
    stale = is_stale(record, now)
    fields = {name: getattr(record, name) for name in PlaybackRecord.__dataclass_fields__}
    return ListedPlayback(**fields, display_state=STALE_STATE if stale else record.state, stale=stale)


def is_stale(record: PlaybackRecord, now: float) -> bool:
    """No event ever received, not ended, and older than its expected length plus the grace period."""
    if record.state in TERMINAL_STATES or record.state == "dry-run" or record.last_event is not None:
        return False
    expected = expected_seconds(record.sources, record.loop)
    if expected is None:
        return False
    try:
        started = dt.datetime.fromisoformat(record.created_at).timestamp()
    except ValueError:
        return False
    return now - started > expected + GRACE_SECONDS


def expected_seconds(sources: list[str], loop: int) -> float | None:
    """About how long the sources play `loop` times over (generously); None for a loop until stopped."""
    if loop == 0:
        return None
    return sum(_source_seconds(source) for source in sources) * max(loop, 1)


def _source_seconds(source: str) -> float:
    kind, _, rest = source.partition(":")
    if kind == "silence":
        return _number(rest, AUDIO_SECONDS)
    if kind in ("tts", "ssml"):
        text = _TAG_RE.sub("", rest) if kind == "ssml" else rest
        return len(text.strip()) / SLOW_SPEECH_CHARS_PER_S
    if kind == "ringtone":  # SignalWire's ringtone:NAME[:SECONDS]
        return _number(rest.partition(":")[2], AUDIO_SECONDS)
    return AUDIO_SECONDS  # a URL, a file or s3://: its length is not in the ledger


def _number(text: str, default: float) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return value if 0 <= value < float("inf") else default


def _open(records: list[PlaybackRecord]) -> list[PlaybackRecord]:
    """The playbacks that may still be playing: not ended, not a dry run."""
    return [r for r in records if r.state not in TERMINAL_STATES and r.state != "dry-run"]


# ------------------------------------------------------------------------------------------ events list


def events_list(*, control_id: str | None, call_id: str | None, profile: str | None, limit: int) -> EventList:
    ledger = Ledger.default()
    return EventList(ledger.events(control_id=control_id, call_id=call_id, profile=profile, limit=limit))
