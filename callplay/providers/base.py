"""The provider contract: one class per provider, declared capabilities, keyword-only verbs.

A provider module imports its SDK inside methods only, so that importing the module (to read its Settings
or Capabilities) costs nothing. Providers never print and never touch the ledger: the core passes in what
the ledger knows (`record`) and records what they return.

The core checks a request against `capabilities` (callplay/core/checks.py) before it calls a verb, so a
provider refuses only what it alone can judge (a value's format, a file's content, a combination of options).
Pause, resume and volume of a running playback are optional: a provider that declares the verb implements
`PauseControl` or `VolumeControl` as well, and the core reaches them only through checks.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from callplay.model import (
    CallStatus,
    CheckResult,
    ControlResult,
    Event,
    Playback,
    PlaybackRecord,
    PlayRequest,
    now_iso,
)

ALL_VERBS = frozenset({"play", "loop", "stop", "pause", "resume", "volume", "status"})


@dataclass(frozen=True)
class Capabilities:
    verbs: frozenset[str]
    loop_forever: bool = False
    loop_count: bool = False
    max_loop: int | None = None  # largest count the provider takes, where it has a bound
    volume_at_start: bool = False
    targets: bool = False  # play to chosen participants
    tts: bool = True
    ssml: bool = False
    silence: bool = False
    multi_items: bool = False
    local_files: bool = False  # uploads a local path itself (Chime: to S3)
    s3_sources: bool = False
    events: bool = False  # playback events reach callplay (webhooks)
    # What stop ends: the one playback named, or every media operation on the call (ACS).
    stop_scope: Literal["playback", "call"] = "playback"
    # How callplay's receiver knows a callback is genuine: a secret token in the callback URL's query
    # (callplay adds it; a random one per run when the profile sets none), or a signature the provider
    # computes with a shared secret. A signature may cover the URL the provider was given (SignalWire's
    # does), so the receiver checks signed callbacks against that URL rather than the one it sees.
    callback_auth: Literal["url_token", "signature"] = "signature"
    callback_secret_setting: str | None = None  # the profile setting holding the token or signing secret
    # The provider can be asked how callplay's playbacks stand (`playbacks --refresh`, stream-status): it
    # implements PlaybackStates too; otherwise notes["playback_states"] says why not and what to do instead.
    playback_states: bool = False
    notes: dict[str, str] = field(default_factory=dict)  # verb -> what to do instead, for error messages


class Provider(Protocol):
    """What every provider class offers. `settings` is the profile's validated Settings model."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]
    # An instance attribute (with a class-level default in each provider): a profile may narrow it (Chime's
    # repeat_max bounds its loops).
    capabilities: Capabilities
    warnings: list[str]  # found while setting up (e.g. a key file others can read); empty if none

    def __init__(self, settings: Any, *, profile: str) -> None: ...

    def describe_play(self, call_id: str, request: PlayRequest) -> dict[str, Any]:
        """The exact provider request play would send (method, path, body), without credentials."""
        ...

    def play(self, call_id: str, request: PlayRequest) -> Playback: ...

    def stop(self, call_id: str, *, control_id: str | None, record: PlaybackRecord | None) -> ControlResult: ...

    def status(self, call_id: str) -> CallStatus: ...

    def check(self) -> CheckResult:
        """One harmless authenticated read (`profiles check`): returns on success (reachable, authenticated);
        raises ProviderRejected when the credentials are refused, ProviderUnavailable when unreachable."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PauseControl(Protocol):
    """pause and resume of one running playback; offered by providers declaring those verbs."""

    def pause(self, call_id: str, *, control_id: str, record: PlaybackRecord | None) -> ControlResult: ...

    def resume(self, call_id: str, *, control_id: str, record: PlaybackRecord | None) -> ControlResult: ...


@runtime_checkable
class VolumeControl(Protocol):
    """A running playback's volume; offered by providers declaring the `volume` verb."""

    def volume(self, call_id: str, *, control_id: str, db: float, record: PlaybackRecord | None) -> ControlResult: ...


@runtime_checkable
class PlaybackStates(Protocol):
    """What the provider can tell of callplay's playbacks on one call; offered by providers declaring
    `playback_states`. Returns an Event (with the state it implies) for each playback it has news of, and
    none for the rest (still running, or not known). `status` is the call's status when the caller has just
    read it (stream-status), so that it is not read twice."""

    def playback_states(
        self, call_id: str, records: list[PlaybackRecord], *, status: CallStatus | None = None
    ) -> list[Event]: ...


def ended_with_call(
    provider: str, status: CallStatus, records: list[PlaybackRecord], ended: frozenset[str], source: str
) -> list[Event]:
    """A call that has ended took every playback on it along: a `canceled` Event for each record when the
    call's state is one of `ended` (the provider's own words), none while it is live. `source` names the read."""
    if status.state not in ended:
        return []
    return [
        Event(
            type="call ended",  # callplay's own event (no provider names one): the call's status is in detail
            time=now_iso(),
            provider=provider,
            call_id=status.call_id,
            control_id=record.control_id,
            state="canceled",
            detail={"call_status": status.state, "source": source},
        )
        for record in records
    ]
