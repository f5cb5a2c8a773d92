"""SignalWire: the REST Calling API (`POST /api/calling/calls`, command `calling.play` and friends) through
the official `signalwire-sdk` RestClient, imported inside methods only.

SignalWire is the one provider with native control of a running playback: callplay's control ID is sent as
the play's `control_id`, and pause, resume, volume and stop address that one play. Outcomes are never in
the HTTP answer (a 200 is the call leg); they arrive at `status_url` as playing/paused/finished/error.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callplay import retry
from callplay.errors import (
    CallplayError,
    ConfigError,
    ProviderRejected,
    ProviderUnavailable,
    UnsupportedError,
    UsageError,
)
from callplay.model import (
    TERMINAL_STATES,
    Audio,
    CallStatus,
    CheckResult,
    ControlResult,
    Event,
    Playback,
    PlaybackRecord,
    PlayItem,
    PlayRequest,
    Silence,
    Tts,
)
from callplay.providers.base import (
    ALL_VERBS,
    Capabilities,
    PauseControl,
    PlaybackStates,
    Provider,
    VolumeControl,
    ended_with_call,
)
from callplay.providers.facts import CALLBACK_URL_PATTERN
from callplay.providers.facts.signalwire import CALL_ENDED, DIRECTIONS, FACTS, GENDERS, RINGTONES, VOLUME_RANGE
from callplay.values import port_problem

if TYPE_CHECKING:
    from signalwire.rest import RestClient

CALLS_PATH = "/api/calling/calls"
VOICE_LOGS_PATH = "/api/voice/logs"
OPTIONS = ("ringtone", "language", "voice", "gender")
OPTIONS_HINT = "SignalWire options: ringtone=NAME[:SECONDS], language=BCP-47, voice=NAME, gender=female|male"
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def is_loopback(space: str) -> bool:
    """The SDK's own rule (rest/_base.py), mirrored: loopback hosts get plain http, everything else https."""
    hostname = space.rsplit(":", 1)[0] if ":" in space else space
    return hostname in _LOOPBACK


class SignalWireSettings(BaseModel):
    """A `provider = "signalwire"` profile."""

    model_config = ConfigDict(extra="forbid")

    space: str = Field(description="Your space host[:port], e.g. example.signalwire.com (no scheme).")
    project: str = Field(min_length=1, description="Project ID (a UUID).")
    token: str = Field(min_length=1, description="API token with the Voice scope.", json_schema_extra={"secret": True})
    callback_url: str | None = Field(
        default=None, pattern=CALLBACK_URL_PATTERN, description="Where SignalWire posts play events (status_url)."
    )
    signing_key: str | None = Field(
        default=None,
        description="Signing Key: verifies X-SignalWire-Signature on events.",
        json_schema_extra={"secret": True},
    )
    voice: str | None = Field(default=None, description="Default TTS voice (request-level `voice`).")
    language: str | None = Field(default=None, description="Default TTS language (request-level `language`).")
    gender: Literal["female", "male"] | None = Field(default=None, description="Default TTS gender.")
    timeout: float = Field(default=15.0, gt=0, le=300, description="Seconds to wait for each REST request.")

    @field_validator("space")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        """host[:port] as the SDK wants it; a pasted https:// URL is forgiven, anything else is explained."""
        space = value.strip()
        if "://" in space:
            scheme, _, space = space.partition("://")
            if scheme.lower() not in ("http", "https"):
                raise ValueError(f"space must be host[:port], not a {scheme}:// URL")
            if scheme.lower() == "http" and not is_loopback(space.rstrip("/")):
                raise ValueError("the SDK speaks https to every host except 127.0.0.1/localhost; drop http://")
            space = space.rstrip("/")
        if not _HOST_RE.match(space):
            raise ValueError("space must be host[:port] with no path, e.g. example.signalwire.com")
        problem = port_problem(space)
        if problem:
            raise ValueError(f"{space!r}: {problem}")
        return space


def _capabilities() -> Capabilities:
    return Capabilities(
        verbs=ALL_VERBS,
        loop_forever=True,
        loop_count=True,
        volume_at_start=True,
        targets=False,
        tts=True,
        ssml=False,
        silence=True,
        multi_items=True,
        events=True,
        callback_secret_setting="signing_key",  # X-SignalWire-Signature, over the status_url and the body
        playback_states=True,  # from the call's voice log: an ended call ended every play on it
        notes={
            "targets": "SignalWire plays to the call, not to participants: use --direction listen|speak|both",
            "ssml": "SignalWire's calling.play has no SSML item: use --tts TEXT or an audio URL",
            "local_files": "SignalWire fetches audio from an http(s) URL: host the file and pass its URL",
            "s3_sources": "SignalWire fetches audio from an http(s) URL: pass a presigned https URL instead",
        },
    )


class SignalWireProvider:
    name: ClassVar[str] = "signalwire"
    display_name: ClassVar[str] = FACTS.display_name
    capabilities: Capabilities = _capabilities()
    Settings: ClassVar[type[BaseModel]] = SignalWireSettings

    def __init__(self, settings: Any, *, profile: str) -> None:
        self.settings: SignalWireSettings = settings
        self.profile = profile
        self.warnings: list[str] = []
        self._client: RestClient | None = None

    # -- the SDK ------------------------------------------------------------------------------------------

    def client(self) -> RestClient:
        if self._client is None:
            from signalwire.rest import RequestOptions, RestClient

            s = self.settings
            # The SDK falls back to SIGNALWIRE_PROJECT_ID/API_TOKEN/SPACE for an empty argument: refuse
            # empties so that a value from the environment can never stand in for the profile's.
            if not (s.project and s.token and s.space):
                raise ConfigError(f"profile {self.profile!r}: space, project and token are required")
            # retries=0: callplay's retry policy (callplay/retry.py) retries instead, knowing which requests
            # may be sent twice; the SDK's own would replay a play after a dropped connection.
            options = RequestOptions(timeout=s.timeout, retries=0)
            self._client = RestClient(project=s.project, token=s.token, host=s.space, request_options=options)
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        session = getattr(getattr(client, "_http", None), "_session", None)
        if session is not None:
            session.close()

    @property
    def base_url(self) -> str:
        scheme = "http" if is_loopback(self.settings.space) else "https"
        return f"{scheme}://{self.settings.space}"

    # -- building the play ----------------------------------------------------------------------------------

    def build_play(self, request: PlayRequest) -> dict[str, Any]:
        """The `params` of calling.play, checked before anything is sent."""
        self._refuse_unsupported(request)
        unknown = sorted(set(request.options) - set(OPTIONS))
        if unknown:
            raise UnsupportedError(f"SignalWire has no option {', '.join(unknown)}", OPTIONS_HINT)
        items = [_item(i) for i in request.items]
        ringtone = request.options.get("ringtone")
        if ringtone is not None:
            items.append(_ringtone(str(ringtone)))
        if not items:
            raise UsageError(
                "nothing to play", "give an audio URL, --tts TEXT, silence:SECONDS or --option ringtone=us"
            )
        params: dict[str, Any] = {"control_id": request.control_id, "play": items}
        if request.volume_db is not None:
            params["volume"] = check_volume(request.volume_db)
        if request.direction is not None:
            params["direction"] = _direction(request.direction)
        params["loop"] = _loop(request.loop)
        status_url = request.callback_url or self.settings.callback_url
        if status_url:
            params["status_url"] = status_url
        if any(i["type"] == "tts" for i in items):
            params.update(self._tts_defaults(request))
        return params

    def _refuse_unsupported(self, request: PlayRequest) -> None:
        # --to, SSML and non-URL sources are refused by the core from the capabilities.
        if request.cache_id:
            raise UnsupportedError(
                "SignalWire has no play source cache (--cache-id is an ACS option)", "drop --cache-id"
            )
        if request.interrupt:
            raise UnsupportedError(
                "SignalWire's calling.play has no interrupt flag: plays on a call run side by side",
                "stop the current playback first (callplay stop CALL --control-id ID), then play",
            )

    def _tts_defaults(self, request: PlayRequest) -> dict[str, Any]:
        """Request-level language/voice/gender (not in the SDK's signature: sent through `extras`)."""
        out: dict[str, Any] = {}
        for key in ("language", "voice", "gender"):
            value = request.options.get(key) or getattr(self.settings, key)
            if value:
                out[key] = _gender(str(value)) if key == "gender" else str(value)
        return out

    def describe_play(self, call_id: str, request: PlayRequest) -> dict[str, Any]:
        body = {"command": "calling.play", "params": self.build_play(request), "id": call_id}
        return {"method": "POST", "url": self.base_url + CALLS_PATH, "path": CALLS_PATH, "body": body}

    # -- verbs ----------------------------------------------------------------------------------------------

    def play(self, call_id: str, request: PlayRequest) -> Playback:
        params = self.build_play(request)
        sdk_keys = ("control_id", "play", "volume", "direction", "loop", "status_url")
        extras = {k: v for k, v in params.items() if k not in sdk_keys}
        kwargs = {k: params[k] for k in sdk_keys if k in params}
        leg = self._call(
            call_id,
            lambda c: c.calling.play(call_id, extras=extras or None, **kwargs),
            kind=retry.Kind.PLAY,
            control_id=request.control_id,
        )
        return Playback(
            control_id=request.control_id,
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state="requested",
            sources=_sources(params["play"]),
            loop=request.loop,
            volume_db=request.volume_db,
            extra=_leg_extra(leg, params),
        )

    def stop(self, call_id: str, *, control_id: str | None, record: PlaybackRecord | None) -> ControlResult:
        cid = control_id or (record.control_id if record else None)
        if not cid:
            raise UsageError(
                "SignalWire stops one playback by its control ID, and callplay knows none on this call",
                "pass --control-id ID (see callplay stream-status CALL)",
            )
        from signalwire.rest import SignalWireRestError

        def send(client: Any) -> Any:
            try:
                return client.calling.play_stop(call_id, control_id=cid)
            except SignalWireRestError as exc:
                if record is not None and _no_active_play(exc):
                    return _ENDED  # callplay's own playback, no longer on the call: it ended by itself
                raise

        if self._call(call_id, send, kind=retry.Kind.IDEMPOTENT) is _ENDED:
            # What ACS (cancel all) and Vonage (nothing to stop) answer too: the goal, nothing playing, holds.
            # Without a ledger record the same answer may be a mistyped ID, so that stays an error (exit 5).
            ended = record.state if record is not None and record.state in TERMINAL_STATES else "finished"
            result = self._result("stop", call_id, cid, ended, "calling.play.stop")
            result.detail["note"] = f"playback {cid} had already ended: nothing was playing to stop"
            return result
        return self._result("stop", call_id, cid, "stopped", "calling.play.stop")

    def pause(self, call_id: str, *, control_id: str, record: PlaybackRecord | None) -> ControlResult:
        self._call(call_id, lambda c: c.calling.play_pause(call_id, control_id=control_id), kind=retry.Kind.IDEMPOTENT)
        return self._result("pause", call_id, control_id, "paused", "calling.play.pause")

    def resume(self, call_id: str, *, control_id: str, record: PlaybackRecord | None) -> ControlResult:
        self._call(call_id, lambda c: c.calling.play_resume(call_id, control_id=control_id), kind=retry.Kind.IDEMPOTENT)
        return self._result("resume", call_id, control_id, "playing", "calling.play.resume")

    def volume(self, call_id: str, *, control_id: str, db: float, record: PlaybackRecord | None) -> ControlResult:
        level = check_volume(db)  # defence in depth: the core checks too, but nothing out of range is sent
        # An absolute level (the core works out relative changes): setting it twice is harmless.
        self._call(
            call_id,
            lambda c: c.calling.play_volume(call_id, control_id=control_id, volume=level),
            kind=retry.Kind.IDEMPOTENT,
        )
        state = record.state if record is not None and record.state == "paused" else "playing"
        result = self._result("volume", call_id, control_id, state, "calling.play.volume")
        result.volume_db = level
        return result

    def status(self, call_id: str) -> CallStatus:
        # The SDK joins the id into the path as is; quote it so an odd id cannot reach another endpoint.
        log = self._call(
            call_id, lambda c: c.logs.voice.get(quote(call_id, safe="")), what="voice log", kind=retry.Kind.READ
        )
        log = log if isinstance(log, dict) else {}
        detail = {k: log[k] for k in ("from", "to", "direction", "type", "duration") if log.get(k) is not None}
        return CallStatus(
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state=log.get("status"),
            detail=detail,
            notes=[
                "call state from SignalWire's voice logs (GET /api/voice/logs/{id}); its lag behind the live "
                "call is not documented",
                "SignalWire lists no participants: a play reaches the call by --direction",
            ],
        )

    def playback_states(
        self, call_id: str, records: list[PlaybackRecord], *, status: CallStatus | None = None
    ) -> list[Event]:
        # A voice log tells the call's status, not a play's (its events' details are not documented): while
        # the call is live nothing is known beyond the status_url webhooks; once it has ended, so has every play.
        status = status or self.status(call_id)
        return ended_with_call(self.name, status, records, CALL_ENDED, f"GET {VOICE_LOGS_PATH}/{{id}}")

    def check(self) -> CheckResult:
        # The smallest authenticated read there is: one voice log (nothing is created or changed).
        self._call("(list)", lambda c: c.logs.voice.list(page_size=1), what="voice logs", kind=retry.Kind.READ)
        step = f"GET {VOICE_LOGS_PATH}?page_size=1"
        detail = "SignalWire listed the voice logs: the project and token are accepted"
        return CheckResult(self.profile, self.name, step, reachable=True, authenticated=True, detail=detail)

    # -- plumbing -------------------------------------------------------------------------------------------

    def _result(self, action: str, call_id: str, control_id: str, state: str, command: str) -> ControlResult:
        return ControlResult(
            action=action,
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            control_id=control_id,
            state=state,
            detail={"command": command},
        )

    def _call(
        self,
        call_id: str,
        fn: Any,
        *,
        what: str = "call",
        kind: retry.Kind = retry.Kind.PLAY,  # the cautious default: never sent again once it may have acted
        control_id: str | None = None,
    ) -> Any:
        """Run one SDK request under callplay's retry policy; every SDK failure becomes a CallplayError."""
        from signalwire.rest import SignalWireRestError

        client = self.client()
        try:
            return retry.run(
                lambda: fn(client),
                request=retry.Request(kind, call_id, control_id),
                classify=_failure,
                retry_policy=retry.policy(),
            )
        except SignalWireRestError as exc:
            raise map_error(exc, call_id=call_id, space=self.settings.space, what=what) from None


# ------------------------------------------------------------------------------------------ helpers


def check_volume(db: float) -> float:
    low, high = VOLUME_RANGE
    if not isinstance(db, (int, float)) or isinstance(db, bool) or math.isnan(db) or not low <= db <= high:
        raise UsageError(f"volume {db} dB is outside SignalWire's range", f"give a level from {low:g} to {high:+g} dB")
    return float(db)


def _direction(value: str) -> str:
    if value not in DIRECTIONS:
        raise UsageError(f"unknown direction {value!r}", "use --direction listen, speak or both")
    return value


def _gender(value: str) -> str:
    gender = value.lower()
    if gender not in GENDERS:
        raise UsageError(f"unknown TTS gender {value!r} for SignalWire", "use female or male")
    return gender


def _loop(loop: int) -> int:
    if isinstance(loop, bool) or not isinstance(loop, int) or loop < 0:
        raise UsageError(f"loop {loop!r} is not a count", "give a number of plays (1 or more), or 0 for until stopped")
    return loop


def _item(item: PlayItem) -> dict[str, Any]:
    if isinstance(item, Audio):
        return {"type": "audio", "params": {"url": item.uri}}
    if isinstance(item, Tts):
        return {"type": "tts", "params": _tts_params(item)}
    if isinstance(item, Silence):
        if not item.seconds > 0 or math.isinf(item.seconds):
            raise UsageError(f"silence of {item.seconds:g} s", "give a positive number of seconds, e.g. silence:1.5")
        return {"type": "silence", "params": {"duration": float(item.seconds)}}
    raise UsageError(f"unknown play item {item!r}")


def _tts_params(item: Tts) -> dict[str, Any]:
    if not item.text.strip():
        raise UsageError("empty TTS text", "give the words to speak: --tts 'Hello'")
    params: dict[str, Any] = {"text": item.text}
    if item.language:
        params["language"] = item.language
    if item.gender:
        params["gender"] = _gender(item.gender)
    if item.voice:
        params["voice"] = item.voice
    return params


def _ringtone(value: str) -> dict[str, Any]:
    """`--option ringtone=us` or `ringtone=us:5` (name[:seconds]); without seconds it rings until stopped."""
    name, _, seconds = value.partition(":")
    name = name.strip().lower()
    if name not in RINGTONES:
        raise UsageError(f"unknown ringtone {name!r}", f"SignalWire ringtones: {', '.join(sorted(RINGTONES))}")
    params: dict[str, Any] = {"name": name}
    if seconds:
        try:
            duration = float(seconds)
        except ValueError:
            duration = -1.0
        if not 0 < duration < math.inf:
            raise UsageError(f"ringtone duration {seconds!r}", "use ringtone=NAME:SECONDS, e.g. ringtone=us:5")
        params["duration"] = duration
    return {"type": "ringtone", "params": params}


def _sources(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for item in items:
        p = item["params"]
        kind = item["type"]
        out.append(
            p["url"]
            if kind == "audio"
            else f"tts:{p['text']}"
            if kind == "tts"
            else f"silence:{p['duration']:g}"
            if kind == "silence"
            else f"ringtone:{p['name']}" + (f":{p['duration']:g}" if "duration" in p else "")
        )
    return out


def _leg_extra(leg: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What the ledger keeps: the leg's answer and how the play was addressed (no credentials)."""
    extra: dict[str, Any] = {"direction": params.get("direction", "listen")}
    if isinstance(leg, dict):
        for key in ("status", "type"):
            if leg.get(key) is not None:
                extra[f"leg_{key}"] = leg[key]
    return extra  # not the status_url: its query string may carry the user's own token


def _validation_messages(body: Any) -> list[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]


def _error_word(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return str(body)[:200] if body else ""


def _failure(exc: Exception) -> retry.Failure | None:
    """What a failed SignalWire request means for retrying it (callplay/retry.py)."""
    from signalwire.rest import SignalWireRestError

    if not isinstance(exc, SignalWireRestError):
        return None
    if exc.status_code is None:
        return retry.transport_failure(exc)
    if 200 <= exc.status_code < 300:
        return retry.Failure("dropped")  # answered, with a body cut short: SignalWire did act on it
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return retry.status_failure(exc.status_code, headers.get("retry-after"))


_ENDED = object()  # stop's answer when SignalWire has no active play with the control ID


def _no_active_play(exc: Any) -> bool:
    """SignalWire's answer to a play command naming a control ID that has no active play on the call: 422 with
    a validation error on `control_id` (the play finished, failed or was stopped, or the ID is not the call's)."""
    body = getattr(exc, "body", None)
    errors = body.get("errors") if isinstance(body, dict) else None
    return getattr(exc, "status_code", None) == 422 and any(
        isinstance(e, dict) and e.get("attribute") == "control_id" for e in errors or []
    )


def map_error(exc: Any, *, call_id: str, space: str, what: str = "call") -> CallplayError:
    """SignalWireRestError (and its transport subclass) -> the CallplayError a user can act on."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    tried = retry.attempts_note(exc)
    if status is None:
        reason, hint = _transport_reason(exc)
        return ProviderUnavailable(f"SignalWire at {space} did not answer: {reason}{tried}", retry.hint(exc, hint))
    if status in (401, 403):
        return ProviderRejected(
            f"SignalWire authentication failed ({status} {_error_word(body)})".replace(" )", ")"),
            "check the profile's project and token; the token needs the Voice scope",
        )
    if status == 404:
        return ProviderRejected(
            f"SignalWire has no {what} {call_id!r} (404)",
            "check the call id (the call leg id SignalWire gave you); the call may have ended",
        )
    if status == 422:
        messages = _validation_messages(body) or [_error_word(body) or "invalid parameters"]
        return ProviderRejected(f"SignalWire rejected the request: {'; '.join(messages)}", _hint_422(messages))
    if status == 429:
        headers = {k.lower(): v for k, v in (getattr(exc, "headers", None) or {}).items()}
        after = retry.retry_after_of(headers.get("retry-after"))
        return ProviderUnavailable(
            f"SignalWire is rate limiting this project (429){tried}",
            retry.hint(exc, f"retry in {math.ceil(after)} s" if after is not None else "retry in a moment"),
        )
    if 200 <= status < 300 or status >= 500:
        return ProviderUnavailable(
            f"SignalWire failed with {status} {_error_word(body)}".strip() + tried,
            retry.hint(exc, "retry shortly"),
        )
    return ProviderRejected(f"SignalWire rejected the request ({status} {_error_word(body)})".replace(" )", ")"))


def _transport_reason(exc: Any) -> tuple[str, str]:
    """A short reason from the requests exception under SignalWireRestTransportError (its text is a URL soup)."""
    import requests

    cause = exc.__cause__
    hint = "check the profile's space and your network; the request may not have been carried out"
    if isinstance(cause, requests.exceptions.SSLError):
        return "TLS failed", "for a private CA (a TLS emulator, a proxy) set SIGNALWIRE_REST_CA_FILE to its bundle"
    if isinstance(cause, requests.exceptions.Timeout):
        return "timed out", "raise the profile's timeout, or retry; the request may have been carried out"
    failure = retry.transport_failure(exc)
    if failure is not None and failure.cause == "dropped":
        return "the connection dropped", "retry; the request may have been carried out"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(getattr(exc, "body", "")))
    return (found.group(1).strip() if found else "connection failed"), hint


def _hint_422(messages: list[str]) -> str:
    if any("control_id" in m for m in messages):
        return "see the call's playbacks and their control IDs: callplay stream-status CALL"
    return "fix the parameter named above and try again"


# mypy checks the class against the protocols: it declares pause, resume and volume, so it offers them.
_CHECK: type[Provider] = SignalWireProvider
_CHECK_PAUSE: type[PauseControl] = SignalWireProvider
_CHECK_VOLUME: type[VolumeControl] = SignalWireProvider
_CHECK_STATES: type[PlaybackStates] = SignalWireProvider
