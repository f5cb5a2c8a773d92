"""The provider contract: one class per provider, declared capabilities, keyword-only verbs.

A provider module imports its SDK inside methods only, so that importing the module (to read its Settings
or Capabilities) costs nothing. Providers never print and never touch the ledger: the core passes in what
the ledger knows (`record`) and records what they return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from callplay.model import CallStatus, ControlResult, Playback, PlaybackRecord, PlayRequest

ALL_VERBS = frozenset({"play", "loop", "stop", "pause", "resume", "volume", "status"})


@dataclass(frozen=True)
class Capabilities:
    verbs: frozenset[str]
    loop_forever: bool = False
    loop_count: bool = False
    max_loop: int | None = None  # largest count the provider takes, where it has a bound
    volume_at_start: bool = False
    volume_during: bool = False
    volume_range_db: tuple[float, float] = (-40.0, 40.0)
    targets: bool = False  # play to chosen participants
    tts: bool = True
    ssml: bool = False
    silence: bool = False
    multi_items: bool = False
    url_sources: bool = True
    local_files: bool = False  # uploads a local path itself (Chime: to S3)
    s3_sources: bool = False
    events: bool = False  # playback events reach callplay (webhooks)
    call_status: bool = False
    notes: dict[str, str] = field(default_factory=dict)  # verb -> what to do instead, for error messages


class Provider(Protocol):
    """What every provider class offers. `settings` is the profile's validated Settings model."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    Settings: ClassVar[type[BaseModel]]

    def __init__(self, settings: Any, *, profile: str) -> None: ...

    def describe_play(self, call_id: str, request: PlayRequest) -> dict[str, Any]:
        """The exact provider request play would send (method, path, body), without credentials."""
        ...

    def play(self, call_id: str, request: PlayRequest) -> Playback: ...

    def stop(self, call_id: str, *, control_id: str | None, record: PlaybackRecord | None) -> ControlResult: ...

    def pause(self, call_id: str, *, control_id: str, record: PlaybackRecord | None) -> ControlResult: ...

    def resume(self, call_id: str, *, control_id: str, record: PlaybackRecord | None) -> ControlResult: ...

    def volume(self, call_id: str, *, control_id: str, db: float, record: PlaybackRecord | None) -> ControlResult: ...

    def status(self, call_id: str) -> CallStatus: ...

    def close(self) -> None: ...
