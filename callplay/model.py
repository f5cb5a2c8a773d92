"""Typed requests and results shared by the CLI, the core, the providers, the ledger and the renderer.

Plain dataclasses (no pydantic) so that `callplay --help` stays fast. Every result knows how to become the
JSON envelope's `data` (`to_dict`); how it looks as tables is output.py's business.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# --------------------------------------------------------------------------------------------- play items


@dataclass(frozen=True)
class Audio:
    """An audio source: an http(s) URL, a local path (for providers that upload) or s3://bucket/key."""

    uri: str
    kind: Literal["audio"] = "audio"

    @property
    def is_url(self) -> bool:
        return self.uri.startswith(("http://", "https://"))

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def is_local(self) -> bool:
        return not (self.is_url or self.is_s3)

    def describe(self) -> str:
        return self.uri


@dataclass(frozen=True)
class Tts:
    text: str
    voice: str | None = None
    language: str | None = None
    gender: str | None = None
    kind: Literal["tts"] = "tts"

    def describe(self) -> str:
        return f"tts:{self.text}"


@dataclass(frozen=True)
class Ssml:
    ssml: str
    kind: Literal["ssml"] = "ssml"

    def describe(self) -> str:
        return f"ssml:{self.ssml}"


@dataclass(frozen=True)
class Silence:
    seconds: float
    kind: Literal["silence"] = "silence"

    def describe(self) -> str:
        return f"silence:{self.seconds:g}"


PlayItem = Audio | Tts | Ssml | Silence


def mint_control_id() -> str:
    """callplay's handle on one playback: short, URL-safe, unique enough to be a primary key."""
    return "cp-" + os.urandom(6).hex()  # not `secrets`: its import (hashlib, hmac) costs start-up time


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


# ------------------------------------------------------------------------------------------------ request


@dataclass
class PlayRequest:
    """What to play, how, and to whom. Built by the CLI, checked against capabilities by the core."""

    items: list[PlayItem]
    control_id: str = field(default_factory=mint_control_id)
    loop: int = 1  # number of plays in total; 0 = until stopped
    targets: list[str] = field(default_factory=list)  # raw participant ids; empty = everyone
    volume_db: float | None = None
    cache_id: str | None = None
    interrupt: bool = False
    callback_url: str | None = None  # where the provider posts this playback's events
    direction: str | None = None  # SignalWire: listen | speak | both
    options: dict[str, Any] = field(default_factory=dict)  # provider-specific extras (documented per provider)

    @property
    def is_loop(self) -> bool:
        return self.loop != 1

    def sources(self) -> list[str]:
        return [i.describe() for i in self.items]


# ------------------------------------------------------------------------------------------------ results


@dataclass
class Event:
    """One provider event, normalised. `type` is the provider's own name (PlayStarted, playing, ...);
    `state` is callplay's playback state it implies (playing, paused, finished, failed, canceled) or None."""

    type: str
    time: str
    provider: str
    call_id: str | None = None
    control_id: str | None = None
    state: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        d = self.detail
        parts = [f"{k}={d[k]}" for k in ("code", "subCode", "message", "error") if d.get(k) not in (None, "")]
        return " ".join(parts)


TERMINAL_STATES = frozenset({"finished", "failed", "canceled", "stopped"})


@dataclass
class Playback:
    """One playback callplay started (or would start, with --dry-run)."""

    control_id: str
    call_id: str
    profile: str
    provider: str
    state: str  # dry-run | requested | playing | paused | finished | failed | canceled | stopped | stopping
    sources: list[str]
    loop: int = 1
    targets: list[str] = field(default_factory=list)
    volume_db: float | None = None
    created_at: str = field(default_factory=now_iso)
    events: list[Event] = field(default_factory=list)
    request: dict[str, Any] | None = None  # the exact provider request (dry-run), never with credentials
    extra: dict[str, Any] = field(default_factory=dict)  # provider bookkeeping kept in the ledger
    warnings: list[str] = field(default_factory=list)
    exit_code: int = 0  # non-zero when --wait saw the playback fail
    failure: Any = field(default=None, repr=False, compare=False)  # the CallplayError behind exit_code

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("failure", "exit_code")}
        out["events"] = [e.to_dict() for e in self.events]
        return out


@dataclass
class StillPlaying:
    """Something a stop could not end (a Chime Speak plays to its end): the provider says what, for how long
    at most, why, and what to do instead; the core then says so and exits non-zero, never "stopped"."""

    source: str  # the play item as the user gave it (tts:..., a file, s3://...)
    seconds: float | None  # it may play for up to about this many seconds more; None: not known
    reason: str  # why it cannot be stopped, naming the provider
    hint: str  # what to do instead
    likely: bool = True  # False: it may have ended, or not have started (the provider cannot be asked)

    def describe(self) -> str:
        text = self.source if len(self.source) <= 60 else self.source[:57] + "..."
        how_long = f"for up to about {max(self.seconds, 1):.0f} s" if self.seconds is not None else "to its end"
        return f"{text} {'keeps' if self.likely else 'may keep'} playing {how_long}"


@dataclass
class ControlResult:
    """The outcome of stop, pause, resume or volume on one playback (or on all media, for ACS stop)."""

    action: str
    call_id: str
    profile: str
    provider: str
    control_id: str | None
    state: str
    volume_db: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    still_playing: list[StillPlaying] = field(default_factory=list)  # what the stop could not end
    exit_code: int = 0  # non-zero when something keeps playing
    failure: Any = field(default=None, repr=False, compare=False)  # the CallplayError behind exit_code

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("failure", "exit_code")}
        out["detail"] = dict(self.detail)
        out["events"] = [e.to_dict() for e in self.events]
        out["still_playing"] = [asdict(s) for s in self.still_playing]
        out["warnings"] = list(self.warnings)
        return out


@dataclass
class Participant:
    raw_id: str
    kind: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlaybackRecord:
    """The ledger's row for one playback."""

    control_id: str
    call_id: str
    profile: str
    provider: str
    state: str
    sources: list[str]
    loop: int
    volume_db: float | None
    created_at: str
    updated_at: str
    last_event: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallStatus:
    call_id: str
    profile: str
    provider: str
    state: str | None  # None when the provider has no call status API
    media_streaming: dict[str, Any] | None = None
    participants: list[Participant] = field(default_factory=list)
    playbacks: list[PlaybackRecord] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EventList:
    events: list[Event]

    def to_dict(self) -> dict[str, Any]:
        return {"events": [e.to_dict() for e in self.events]}


@dataclass
class ProfileValue:
    name: str
    value: Any  # already masked when secret
    source: str  # flag | env:NAME | file:PATH | default | built-in
    secret: bool = False


@dataclass
class ProfileView:
    name: str
    provider: str
    source: str
    is_default: bool
    values: list[ProfileValue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProfileList:
    profiles: list[ProfileView]
    config_path: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_path": self.config_path,
            "profiles": [
                {"name": p.name, "provider": p.provider, "source": p.source, "default": p.is_default}
                for p in self.profiles
            ],
        }


@dataclass
class CheckResult:
    """profiles check: one harmless authenticated read through the provider's SDK, and how it went."""

    profile: str
    provider: str
    step: str  # the read sent, e.g. "GET /calling/callConnections/{id} (a call that does not exist)"
    reachable: bool | None = None  # None: not tried (the profile failed before any request)
    authenticated: bool | None = None
    detail: str = ""
    failed_step: str | None = None
    exit_code: int = 0
    failure: Any = None  # the CallplayError that failed the check (rendered on stderr), not in the envelope
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "provider": self.provider,
            "ok": self.exit_code == 0,
            "reachable": self.reachable,
            "authenticated": self.authenticated,
            "step": self.step,
            "failed_step": self.failed_step,
            "detail": self.detail,
        }
