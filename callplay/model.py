"""Typed requests and results shared by the CLI, the core, the providers, the ledger and the renderer.

Plain dataclasses (no pydantic) so that `callplay --help` stays fast. Every result knows how to become the
JSON envelope's `data` (`to_dict`); how it looks as tables is output.py's business.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from callplay.states import TERMINAL_STATES as TERMINAL_STATES  # its home is stdlib-only, for shell completion

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
class ListedPlayback(PlaybackRecord):
    """A ledger row as listed (stream-status, playbacks): `state` stays what was observed, `display_state` is
    what a person is shown; `stale` says no event ever came and the playback's expected length has passed."""

    display_state: str = ""
    stale: bool = False


@dataclass
class CallStatus:
    call_id: str
    profile: str
    provider: str
    state: str | None  # None when the provider has no call status API
    media_streaming: dict[str, Any] | None = None
    participants: list[Participant] = field(default_factory=list)
    playbacks: list[PlaybackRecord] = field(default_factory=list)  # active first, then newest first
    detail: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # How many ended playbacks the table shows after the active ones (None: all, --all); JSON has them all.
    ended_shown: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("ended_shown")
        return out


@dataclass
class PlaybackList:
    """`callplay playbacks`: the ledger's playbacks across calls, newest first, with what --refresh found."""

    playbacks: list[ListedPlayback]
    notes: list[str] = field(default_factory=list)  # e.g. a provider that cannot be asked for playback states
    refreshed: list[str] = field(default_factory=list)  # the profiles asked (--refresh)
    warnings: list[str] = field(default_factory=list)
    call_id: str | None = None  # the --call filter: the table names that call once, in its title

    def to_dict(self) -> dict[str, Any]:
        return {
            "playbacks": [p.to_dict() for p in self.playbacks],
            "notes": list(self.notes),
            "refreshed": list(self.refreshed),
        }


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
class ProfileSummary:
    """One row of `profiles list`: a profile that does not resolve has `valid` false and the reason."""

    name: str
    provider: str  # as the file gives it ("?" when it names none)
    source: str  # the config file's path, or built-in
    is_default: bool
    valid: bool = True
    problem: str | None = None
    hint: str | None = None  # what to do about the problem (on stderr, not in the envelope)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "provider": self.provider,
            "source": self.source,
            "default": self.is_default,
            "valid": self.valid,
            "problem": self.problem,
        }


@dataclass
class ProfileList:
    profiles: list[ProfileSummary]
    config_path: str | None  # the file read; None: there is none, the built-in demo profile is in use
    looked_at: str  # where callplay looked for it (config_path when there is one)
    warnings: list[str] = field(default_factory=list)
    exit_code: int = 0  # 3 when a profile is invalid (all are still listed)
    failure: Any = field(default=None, repr=False, compare=False)  # the ConfigError behind exit_code

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_path": self.config_path,
            "looked_at": self.looked_at,
            "profiles": [p.to_dict() for p in self.profiles],
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


# -------------------------------------------------------------------------------------- many calls at once


@dataclass
class CallOutcome:
    """How one call of a run over many calls ended: `ok`, or the error (a CallplayError) that failed it."""

    call_id: str
    profile: str
    provider: str
    ok: bool
    control_id: str | None = None
    state: str | None = None  # the playback's state as the request left it (playing, requested, stopped, ...)
    failure: Any = field(default=None, repr=False, compare=False)  # the CallplayError, when not ok

    @property
    def exit_code(self) -> int:
        return 0 if self.ok or self.failure is None else int(self.failure.exit_code)

    def to_dict(self) -> dict[str, Any]:
        error = None
        if not self.ok and self.failure is not None:
            error = {**self.failure.to_dict(), "exit_code": self.exit_code}
        return {
            "call_id": self.call_id,
            "profile": self.profile,
            "provider": self.provider,
            "ok": self.ok,
            "control_id": self.control_id,
            "state": self.state,
            "error": error,
        }


@dataclass
class FanoutResult:
    """One verb (play, loop, stop, pause, resume, volume) on many calls: one outcome per call, in the order the
    calls were given. The run's exit code is the most severe of its calls' (callplay.errors.SEVERITY)."""

    action: str
    results: list[CallOutcome]
    interrupted: bool = False  # Ctrl-C or SIGTERM: calls not yet sent were not sent
    elapsed_s: float = 0.0
    retries: int = 0  # retries taken from the run's shared budget
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CallOutcome]:
        return [r for r in self.results if not r.ok]

    @property
    def exit_code(self) -> int:
        from callplay.errors import most_severe

        return int(most_severe([r.exit_code for r in self.results]))

    @property
    def failure(self) -> Any:
        """The error the run ends with (a CallplayError of its exit code), naming the first call that failed with
        that code and its profile; None when every call succeeded."""
        from callplay.errors import ExitCode

        code = self.exit_code
        if code == 0:
            return None
        if self.interrupted and code == ExitCode.INTERRUPTED:
            return self._interrupted()
        first = next(r for r in self.failed if r.exit_code == code)
        failed = self.failed
        what = f"{len(failed)} of {len(self.results)} calls failed" if len(self.results) > 1 else "the call failed"
        reason = first.failure
        return reason.reworded(
            f"{what}: call {first.call_id} (profile {first.profile}): {reason.message}", ExitCode(code)
        )

    def _interrupted(self) -> Any:
        """What a Ctrl-C did to the run, in one line: the playbacks it stopped (--wait), the calls it never sent,
        and the playbacks it could not stop, the first of which the hint says how to stop by hand."""
        from callplay.errors import Interrupted

        hit = [r for r in self.failed if r.failure is not None and r.failure.code == "interrupted"]
        stopped = sum(1 for r in hit if r.control_id and r.state == "stopped")
        unsent = sum(1 for r in hit if not r.control_id)
        left = [r for r in hit if r.control_id and r.state != "stopped"]
        parts = [f"{stopped} playback{'s' * (stopped != 1)} stopped"] if stopped else []
        if unsent:
            parts.append(f"{unsent} of {len(self.results)} calls not sent")
        if left:
            parts.append(f"{len(left)} not stopped")
        if len(self.failed) > len(hit):  # a 404 and the like, before the interrupt: the table says which
            parts.append(f"{len(self.failed) - len(hit)} failed")
        message = "interrupted: " + ", ".join(parts) if parts else "interrupted"
        hint: str | None
        if len(left) == 1 or (left and all(r.failure.detail.get("still_playing") for r in left)):
            hint = left[0].failure.hint  # one to stop by hand, or what the provider cannot stop (a Chime Speak)
        elif left:
            profiles = {r.profile for r in left}
            only = f" -p {profiles.pop()}" if len(profiles) == 1 else ""
            hint = f"stop what still plays: callplay stop --all{only}"  # the table names each
        elif unsent:
            hint = "nothing is left playing" if stopped else "run the command again for the calls not sent"
        else:
            hint = "nothing is left playing" if stopped else None
        return Interrupted(message, hint)

    def to_dict(self) -> dict[str, Any]:
        failed = len(self.failed)
        return {
            "results": [r.to_dict() for r in self.results],
            "total": len(self.results),
            "ok": len(self.results) - failed,
            "failed": failed,
        }


@dataclass
class StateInfo:
    """`callplay state info` and `state migrate`: which ledger this is, where (a file, or a URL with any
    password masked), its schema version against the latest this callplay knows, and its rows per table."""

    backend: str
    location: str
    schema_version: int
    latest_version: int
    counts: dict[str, int] = field(default_factory=dict)
    migrated: list[int] | None = None  # state migrate: the versions it applied now ([]: none were due)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.migrated is None:
            out.pop("migrated")
        return out
