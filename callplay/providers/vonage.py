"""Vonage Voice API: play a URL (`PUT /v1/calls/{uuid}/stream`) or speech (`PUT .../talk`) into one call leg.

Built on the official `vonage-voice` + `vonage-http-client` packages (lighter than the `vonage` bundle),
imported inside methods only. Vonage has no playback id, no pause/resume, no volume change after start and
no playback events: callplay's control id stands for "the stream (or talk) callplay started on this leg",
and the ledger keeps which endpoint that was (`Playback.extra["endpoint"]`) so `stop` sends the right DELETE.

Volume: callplay's dB (-40..+40) maps linearly onto Vonage's `level` (-1..1, steps of 0.1):
`level = db / 40` rounded to Vonage's 0.1 steps (half steps away from zero), so one step is 4 dB and
0 dB is Vonage's default level 0.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

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
    Audio,
    CallStatus,
    CheckResult,
    ControlResult,
    Event,
    Participant,
    Playback,
    PlaybackRecord,
    PlayItem,
    PlayRequest,
    Ssml,
    Tts,
)
from callplay.providers.base import Capabilities, PlaybackStates, Provider, ended_with_call
from callplay.providers.facts import VOLUME_RANGE_DB
from callplay.providers.facts.vonage import CALL_ENDED, DB_PER_LEVEL_STEP, FACTS, LANGUAGES
from callplay.values import port_problem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from vonage_http_client import Auth
    from vonage_voice import Voice

# Vonage leg uuids are plain uuids; the emulator's call ids are word characters and dashes. Anything else
# (a slash, a question mark) would change the request path the SDK builds by string formatting.
CALL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
OPTIONS = ("style", "premium", "language")
ENDPOINTS = ("stream", "talk")
MAX_ERROR_DETAIL = 300
T = TypeVar("T")


class VonageSettings(BaseModel):
    """The `provider = "vonage"` profile table."""

    model_config = ConfigDict(extra="forbid")

    application_id: str = Field(min_length=1, description="The Vonage application's id (a uuid).")
    private_key: str = Field(
        min_length=1,
        description="Path to the application's private key, or the PEM text itself (PKCS#1 or PKCS#8).",
        json_schema_extra={"secret": True},
    )
    api_host: str = Field(
        "api.nexmo.com",
        min_length=1,
        pattern=r"^[A-Za-z0-9.\[\]:-]+$",  # host[:port], no scheme or path: the SDK builds https://{api_host}/...
        description="Voice API host[:port]; always https.",
    )
    ca_file: str | None = Field(None, description="A CA bundle to trust for api_host (the emulator's CA).")
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds per HTTP request.")
    signature_secret: str | None = Field(
        None,
        description="Signed-webhook secret: `events listen` rejects unsigned or forged events.",
        json_schema_extra={"secret": True},
    )
    language: str | None = Field(None, description="Default TTS language, e.g. en-GB.")
    style: int | None = Field(None, ge=0, description="Default TTS style (voice) number for the language.")
    premium: bool | None = Field(None, description="Use premium TTS voices by default.")

    @field_validator("api_host")
    @classmethod
    def _api_port(cls, value: str) -> str:
        problem = port_problem(value)
        if problem:
            raise ValueError(f"{value!r}: {problem}")
        return value

    @field_validator("private_key")
    @classmethod
    def _expandable_path(cls, value: str) -> str:
        """A key path under `~user` for no such user cannot be read (pathlib raises rather than answer)."""
        if not _is_pem_text(value) and value.startswith("~"):
            try:
                Path(value).expanduser()
            except RuntimeError:
                raise ValueError(f"cannot expand {value.split('/', 1)[0]}: no such user or home directory") from None
        return value


NOTES = {
    "pause": "Vonage has no pause: stop the playback with `callplay stop CALL` and play it again later",
    "resume": "Vonage has no pause or resume: play the audio again with `callplay play CALL SOURCE`",
    "volume": "Vonage sets the level only when a playback starts: stop it and play again with "
    "`callplay play CALL SOURCE --volume DB`",
    "silence": "Vonage cannot play silence: host a silent WAV or MP3 at an https URL and play that",
    "multi_items": "Vonage plays one source per request: run one `callplay play` per item",
    "targets": "Vonage plays into one call leg: pass that leg's uuid as CALL instead of --to",
    "events": "Vonage sends no playback events, so callplay cannot wait for the end of a playback: "
    "leave out --wait and check with `callplay stream-status CALL`",
    "local_files": "Vonage streams audio from a URL it can fetch: host the file at an https URL",
    "s3_sources": "Vonage fetches audio over http(s) only: pass a presigned https URL for the S3 object",
}
NOTES["wait"] = NOTES["events"]  # the core looks the --wait refusal up under "wait"


# ------------------------------------------------------------------------------------------ private key


def key_file_warning(path: Path) -> str | None:
    """A warning when the key file is readable by group or others (never mentions its content)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None  # a missing file is reported (as a ConfigError) when the key is loaded
    if mode & 0o044:
        return f"private key file {path} is readable by other users (mode {mode:04o}): run `chmod 600 {path}`"
    return None


def _is_pem_text(value: str) -> bool:
    return "-----BEGIN" in value


def load_private_key(value: str) -> RSAPrivateKey:
    """The key, parsed, from a path or PEM text (PKCS#1 or PKCS#8). The file is read each time (it may have
    been replaced); the same bytes are parsed once (_parse_private_key).

    Errors name the file or say "PEM text", never any part of the key.
    """
    where = "the private_key PEM text"
    if _is_pem_text(value):
        data = value.replace("\\n", "\n").encode()  # env vars often carry the PEM on one line
    else:
        path = Path(value).expanduser()
        where = f"private key file {path}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read {where}: {exc.strerror or exc}",
                "set private_key to the application's key file, or private_key_env to a variable holding it",
            ) from None
    return _parse_private_key(data, where)


# Parsing a PEM RSA key checks the key (cryptography's RSA key validation): some 120 ms for a 2048-bit key, which
# PyJWT would spend on every JWT if it were handed the PEM text. Keyed by the key's bytes, so a changed file is
# parsed anew; failures are not cached (lru_cache keeps results only).
@functools.lru_cache(maxsize=8)
def _parse_private_key(data: bytes, where: str) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigError(
            f"{where} is encrypted",
            "decrypt it once: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem (then chmod 600)",
        ) from None
    except ValueError:
        raise ConfigError(
            f"{where} is not a PEM private key",
            "use the private.key file Vonage gave you when you created the application",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{where} is not an RSA key", "Vonage applications use RSA key pairs (RS256)")
    return key


# ---------------------------------------------------------------------------------------------------- JWT

JWT_LIFETIME_S = 15 * 60  # as the SDK mints them (vonage_jwt: exp = iat + 15 minutes)
# A token is reused until this long before its exp: a request in flight, a retry's wait, a clock a little ahead.
JWT_REUSE_MARGIN_S = 60


class ApplicationTokens:
    """The application's JWTs, as the SDK builds them (RS256; application_id, iat, jti, exp), signed with the
    parsed key and each reused until JWT_REUSE_MARGIN_S before its exp: Vonage checks a token's signature and
    times, and a jti is an ID for the token, not a nonce it must not see twice. The SDK signs a new token per
    request from the PEM text, which PyJWT parses (and checks) each time: 8 requests/s at most."""

    def __init__(self, application_id: str, key: RSAPrivateKey, clock: Callable[[], float] = time.time) -> None:
        self.application_id = application_id
        self._key = key
        self._clock = clock
        self._token = b""
        self._exp = 0
        self._lock = threading.Lock()  # a provider is used by one thread; the lock costs nothing and is safe

    def current(self) -> bytes:
        import jwt

        with self._lock:
            now = self._clock()
            if not self._token or now >= self._exp - JWT_REUSE_MARGIN_S:
                iat = int(now)
                claims = {"application_id": self.application_id, "iat": iat, "jti": str(uuid.uuid4())}
                self._exp = iat + JWT_LIFETIME_S
                token = jwt.encode({**claims, "exp": self._exp}, self._key, algorithm="RS256", headers={"typ": "JWT"})
                self._token = token.encode()
            return self._token


@functools.cache
def _auth_class() -> type[Auth]:
    """The SDK's Auth, whose JWTs come from ApplicationTokens (the SDK asks create_jwt_auth_string for each
    request's Authorization header)."""
    from vonage_http_client import Auth

    class TokenAuth(Auth):  # type: ignore[misc]  # the SDK has no type hints
        tokens: ApplicationTokens

        def create_jwt_auth_string(self) -> bytes:
            return b"Bearer " + self.tokens.current()

        def generate_application_jwt(self, claims: dict[str, Any] | None = None) -> bytes:
            return self.tokens.current() if not claims else bytes(super().generate_application_jwt(claims))

    return TokenAuth


def _token_auth(application_id: str, key: RSAPrivateKey) -> Auth:
    """The SDK's Auth for the application (it checks the values as always), with reused tokens."""
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    auth = _auth_class()(application_id=application_id, private_key=pem.decode())
    auth.tokens = ApplicationTokens(application_id, key)
    return auth


# -------------------------------------------------------------------------------------------- mapping


def db_to_level(db: float) -> float:
    """callplay's dB onto Vonage's level: db / 40 in steps of 0.1; outside -40..40 is a usage error."""
    low, high = VOLUME_RANGE_DB
    if not math.isfinite(db) or not low <= db <= high:
        raise UsageError(f"volume {db:g} dB is out of range", f"Vonage takes --volume from {low:g} to {high:+g} dB")
    steps = math.floor(abs(db) / DB_PER_LEVEL_STEP + 0.5)  # half steps round away from zero: -6 dB -> -0.2
    return math.copysign(steps / 10, db) if steps else 0.0


def level_to_db(level: float) -> float:
    return round(level * DB_PER_LEVEL_STEP * 10, 1)


def _check_call_id(call_id: str) -> None:
    if not CALL_ID_RE.match(call_id):
        raise UsageError(
            f"{call_id!r} is not a Vonage call id",
            "pass the call leg's uuid, e.g. 63f61863-4a51-4f6b-86e1-46edebcf9356",
        )


def _single_item(request: PlayRequest) -> PlayItem:
    # More than one item is refused by the core (multi_items is not declared).
    if not request.items:
        raise UsageError("nothing to play", "give a URL, --tts TEXT or --ssml TEXT")
    return request.items[0]


def _check_request(request: PlayRequest) -> None:
    """Refuse what Vonage cannot do and the core does not check, before anything is sent."""
    if request.direction:
        raise UnsupportedError(
            "Vonage has no playback direction (--direction)",
            "leave out --direction: Vonage plays into the call leg given as CALL",
        )
    if request.cache_id:
        raise UnsupportedError("Vonage has no media cache id (--cache-id)", "leave out --cache-id")
    if request.loop < 0:
        raise UsageError(f"loop {request.loop} is negative", "use --times N (N >= 1), or 0 for until stopped")
    unknown = sorted(set(request.options) - set(OPTIONS))
    if unknown:
        raise UsageError(
            f"unknown option(s) for Vonage: {', '.join(unknown)}",
            f"Vonage takes --option {', --option '.join(f'{o}=...' for o in OPTIONS)}",
        )


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"option {name}={value!r} is not a boolean", f"use --option {name}=true or {name}=false")


def _as_style(value: Any) -> int:
    try:
        style = int(str(value))
    except ValueError:
        raise UsageError(f"option style={value!r} is not a number", "use --option style=N (N >= 0)") from None
    if style < 0:
        raise UsageError(f"option style={style} is negative", "use --option style=N (N >= 0)")
    return style


# ------------------------------------------------------------------------------------------- provider


class VonageProvider:
    name: ClassVar[str] = "vonage"
    display_name: ClassVar[str] = FACTS.display_name
    Settings: ClassVar[type[BaseModel]] = VonageSettings
    capabilities: Capabilities = Capabilities(
        verbs=frozenset({"play", "loop", "stop", "status"}),
        loop_forever=True,
        loop_count=True,
        volume_at_start=True,
        targets=False,
        tts=True,
        ssml=True,  # sent as talk text inside <speak>, as Vonage documents for the NCCO talk action
        silence=False,
        multi_items=False,
        local_files=False,
        s3_sources=False,
        events=False,
        callback_secret_setting="signature_secret",  # signed webhooks: a JWT over the body's hash
        playback_states=True,  # from GET call: a call that has ended ended every stream and talk on it
        notes=dict(NOTES),
    )

    def __init__(self, settings: Any, *, profile: str) -> None:
        self.settings: VonageSettings = (
            settings if isinstance(settings, VonageSettings) else VonageSettings.model_validate(settings)
        )
        self.profile = profile
        self.warnings: list[str] = []
        self._voice: Voice | None = None
        key = self.settings.private_key
        if not _is_pem_text(key):
            warning = key_file_warning(Path(key).expanduser())
            if warning:
                self.warnings.append(warning)

    # -- the SDK client ----------------------------------------------------------------------------------

    def _client(self) -> Voice:
        if self._voice is None:
            self._voice = self._make_client()
        return self._voice

    def _make_client(self) -> Voice:
        _silence_sdk_logger()
        key = load_private_key(self.settings.private_key)
        from vonage_http_client import HttpClient, HttpClientOptions
        from vonage_utils.errors import VonageError
        from vonage_voice import Voice

        options = HttpClientOptions(
            api_host=self.settings.api_host,
            timeout=max(1, math.ceil(self.settings.timeout)),
            # No retries below callplay's own policy (callplay/retry.py), which alone knows a play from a stop.
            max_retries=0,
            # pool_maxsize also bounds the SDK's own loop that resends a request whose connection closed
            # without an answer: 1 turns it off, since Vonage may have started a play before closing.
            pool_maxsize=1,
        )
        try:
            http = HttpClient(_token_auth(self.settings.application_id, key), options)
        except VonageError:
            raise ConfigError(
                "the Vonage SDK refused application_id or private_key",
                "check both in the profile (callplay profiles show)",
            ) from None
        _mount_adapter(http, self.settings.ca_file or None, options)
        return Voice(http)

    def close(self) -> None:
        if self._voice is not None:
            self._voice.http_client._session.close()
            self._voice = None

    # -- play --------------------------------------------------------------------------------------------

    def _plan(self, call_id: str, request: PlayRequest) -> tuple[str, dict[str, Any], list[str]]:
        """(endpoint, body, warnings) for one play, checked; nothing is sent."""
        _check_call_id(call_id)
        _check_request(request)
        item = _single_item(request)
        warnings: list[str] = []
        body: dict[str, Any]
        if isinstance(item, Audio):
            endpoint, body = "stream", {"stream_url": [item.uri]}  # the core lets only URLs through
        elif isinstance(item, Tts | Ssml):
            endpoint, body = "talk", self._talk_body(item, request)
        else:  # silence: refused by the core (silence is not declared)
            raise UsageError(f"cannot play {item!r}", "give a URL, --tts or --ssml")
        body["loop"] = request.loop
        if request.volume_db is not None:
            body["level"] = db_to_level(request.volume_db)
            warnings += _rounding_warning(request.volume_db, body["level"])
        if request.callback_url:
            warnings.append(
                "Vonage sends no playback events, so the callback URL is not used for this playback "
                "(call status events go to the event_url set on the Vonage application)"
            )
        return endpoint, body, warnings

    def _talk_body(self, item: Tts | Ssml, request: PlayRequest) -> dict[str, Any]:
        opts = request.options
        if isinstance(item, Tts):
            if item.voice or item.gender:
                raise UnsupportedError(
                    "Vonage picks TTS voices by language and style, not --voice or --gender",
                    "use --language CODE and --option style=N (see Vonage's TTS voice list)",
                )
            text, language = item.text, item.language
        else:
            text, language = _speak(item.ssml), None
        if not text.strip():
            raise UsageError("the text to speak is empty", "give --tts TEXT with some words in it")
        body: dict[str, Any] = {"text": text}
        language = language or opts.get("language") or self.settings.language
        if language is not None:
            if language not in LANGUAGES:
                raise UsageError(
                    f"Vonage has no TTS language {language!r}",
                    "use a code such as en-US, en-GB, de-DE, fr-FR",
                )
            body["language"] = language
        style = opts.get("style", self.settings.style)
        if style is not None:
            body["style"] = _as_style(style)
        premium = opts.get("premium", self.settings.premium)
        if premium is not None:
            body["premium"] = _as_bool(premium, "premium")
        return body

    def describe_play(self, call_id: str, request: PlayRequest) -> dict[str, Any]:
        endpoint, body, warnings = self._plan(call_id, request)
        out: dict[str, Any] = {
            "method": "PUT",
            "url": f"https://{self.settings.api_host}/v1/calls/{call_id}/{endpoint}",
            "body": body,
            "auth": "Bearer JWT (RS256) for the application, reused until a minute before it expires",
        }
        if request.interrupt:
            other = "talk" if endpoint == "stream" else "stream"
            out["before"] = [
                {"method": "DELETE", "url": f"https://{self.settings.api_host}/v1/calls/{call_id}/{other}"}
            ]
        if warnings:
            out["warnings"] = warnings
        return out

    def play(self, call_id: str, request: PlayRequest) -> Playback:
        endpoint, body, warnings = self._plan(call_id, request)
        voice = self._client()
        if request.interrupt:
            # A new PUT replaces the current playback of the same kind; --interrupt also ends the other kind.
            self._delete(voice, call_id, "talk" if endpoint == "stream" else "stream")
        message = self._send_play(voice, call_id, endpoint, body, request.control_id)
        return Playback(
            control_id=request.control_id,
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state="requested",
            sources=request.sources(),
            loop=request.loop,
            volume_db=request.volume_db,
            extra={
                "endpoint": endpoint,
                "vonage_handle": f"{call_id}/{endpoint}",
                "level": body.get("level"),
                "message": message,
                "note": "Vonage returns no playback id: this control id stands for the "
                f"{endpoint} callplay started on call leg {call_id}",
            },
            warnings=warnings,
        )

    def _send_play(
        self, voice: Voice, call_id: str, endpoint: str, body: dict[str, Any], control_id: str | None = None
    ) -> str:
        from vonage_voice import AudioStreamOptions, TtsStreamOptions

        def send() -> Any:
            if endpoint == "stream":
                return voice.play_audio_into_call(call_id, AudioStreamOptions(**body))
            return voice.play_tts_into_call(call_id, TtsStreamOptions(**body))

        result = self._call("play", call_id, send, control_id)
        return str(getattr(result, "message", ""))

    # -- stop --------------------------------------------------------------------------------------------

    def stop(self, call_id: str, *, control_id: str | None, record: PlaybackRecord | None) -> ControlResult:
        _check_call_id(call_id)
        endpoint = (record.extra.get("endpoint") if record is not None else None) or None
        endpoints = [endpoint] if endpoint in ENDPOINTS else list(ENDPOINTS)
        voice = self._client()
        detail: dict[str, Any] = {}
        for name in endpoints:
            detail[name] = self._delete(voice, call_id, name)
        if all(v == "nothing playing" for v in detail.values()):
            detail["note"] = "nothing was playing on this call leg (it may have finished already)"
        return ControlResult(
            action="stop",
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            control_id=control_id,
            state="stopped",
            detail=detail,
        )

    def _delete(self, voice: Voice, call_id: str, endpoint: str) -> str:
        """DELETE stream or talk; "nothing playing" answers are fine when the call itself exists."""
        from vonage_http_client.errors import HttpRequestError

        send = voice.stop_audio_stream if endpoint == "stream" else voice.stop_tts
        try:
            return str(self._retried("stop", call_id, lambda: send(call_id)).message)
        except HttpRequestError as exc:
            status = exc.response.status_code
            if status in (400, 404, 409, 410):
                # Vonage does not document its answer when nothing plays; the call's existence decides.
                self._call("stop", call_id, lambda: voice.get_call(call_id))
                return "nothing playing"
            self._raise(exc, "stop", call_id)
        except CallplayError:
            raise  # e.g. a bad CALLPLAY_RETRY_* variable (exit 3), not a failure of the request
        except Exception as exc:
            self._raise(exc, "stop", call_id)

    # -- status ------------------------------------------------------------------------------------------

    def status(self, call_id: str) -> CallStatus:
        _check_call_id(call_id)
        voice = self._client()
        info = self._call("status", call_id, lambda: voice.get_call(call_id))
        data = info.model_dump(exclude_none=True, mode="json")
        leg = Participant(
            raw_id=info.uuid,
            kind="call leg",
            detail={"from": _endpoint_text(data.get("from_")), "to": _endpoint_text(data.get("to"))},
        )
        detail = {
            k: data[k]
            for k in (
                "conversation_uuid",
                "direction",
                "start_time",
                "end_time",
                "duration",
                "network",
                "rate",
                "price",
            )
            if k in data
        }
        return CallStatus(
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state=info.status,
            participants=[leg],
            detail=detail,
            notes=[
                "Vonage does not report whether a stream or talk is playing: "
                "the playbacks listed are callplay's record of what it started.",
            ],
        )

    def playback_states(
        self, call_id: str, records: list[PlaybackRecord], *, status: CallStatus | None = None
    ) -> list[Event]:
        # Vonage has no "is it playing" read: only the call's status tells, and only that the call is over.
        status = status or self.status(call_id)
        return ended_with_call(self.name, status, records, CALL_ENDED, "GET /v1/calls/{uuid}")

    # -- check -------------------------------------------------------------------------------------------

    def check(self) -> CheckResult:
        from vonage_voice.models import ListCallsFilter

        voice = self._client()
        # One page of one call: the smallest authenticated read of the Voice API (nothing changes).
        self._call("list calls", "(any)", lambda: voice.list_calls(ListCallsFilter(page_size=1)))
        step = "GET /v1/calls?page_size=1"
        detail = "Vonage listed the calls: the application id and private key are accepted"
        return CheckResult(self.profile, self.name, step, reachable=True, authenticated=True, detail=detail)

    # -- errors ------------------------------------------------------------------------------------------

    def _call(self, verb: str, call_id: str, fn: Any, control_id: str | None = None) -> Any:
        try:
            return self._retried(verb, call_id, fn, control_id)
        except CallplayError:
            raise
        except Exception as exc:
            self._raise(exc, verb, call_id)

    def _retried(self, verb: str, call_id: str, fn: Callable[[], T], control_id: str | None = None) -> T:
        """One SDK request under callplay's retry policy: a play is a PUT that starts audio (sent again only
        when Vonage cannot have acted on it); stop's DELETEs and status's GET may be repeated."""
        kind = {"play": retry.Kind.PLAY, "status": retry.Kind.READ}.get(verb, retry.Kind.IDEMPOTENT)
        return retry.run(
            fn, request=retry.Request(kind, call_id, control_id), classify=_failure, retry_policy=retry.policy()
        )

    def _raise(self, exc: Exception, verb: str, call_id: str) -> NoReturn:
        raise _translate(exc, verb, call_id, self.settings) from None


def _speak(ssml: str) -> str:
    text = ssml.strip()
    return text if text.startswith("<speak") else f"<speak>{text}</speak>"


def _rounding_warning(db: float, level: float) -> list[str]:
    if abs(level_to_db(level) - db) < 0.05:
        return []
    sent = level_to_db(level)
    return [f"Vonage sets the level in steps of 4 dB: {db:+g} dB is sent as level {level:g} ({sent:+g} dB)"]


def _endpoint_text(endpoint: Any) -> str:
    if not isinstance(endpoint, dict):
        return ""
    value = endpoint.get("number") or endpoint.get("uri") or endpoint.get("extension") or ""
    return f"{endpoint.get('type', '')}:{value}"


def _silence_sdk_logger() -> None:
    # The SDK logs every HTTP error as a warning on "vonage" (and its debug lines carry the Authorization
    # header): keep both off the user's terminal. callplay reports errors itself.
    logger = logging.getLogger("vonage")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _mount_adapter(http: Any, ca_file: str | None, options: Any) -> None:
    """Replace the SDK's https adapter: no urllib3 retries, and `ca_file` trusted for this client only.

    The SDK's urllib3 Retry also retries 413/429/503 answers after sleeping their Retry-After (capped at
    six hours), which would hang a command silently, and resends after connection errors whatever the
    request; callplay's retry policy (callplay/retry.py) retries instead, above the SDK.
    """
    if ca_file is not None and not os.path.isfile(ca_file):
        raise ConfigError(f"ca_file {ca_file} does not exist", "point ca_file at a PEM CA bundle, or remove it")
    from requests.adapters import HTTPAdapter
    from urllib3 import Retry

    class _Adapter(HTTPAdapter):
        # requests lets REQUESTS_CA_BUNDLE override Session.verify; the adapter has the last word.
        def send(
            self,
            request: Any,
            stream: bool = False,
            timeout: Any = None,
            verify: Any = True,
            cert: Any = None,
            proxies: Any = None,
        ) -> Any:
            verify = ca_file if ca_file is not None else verify
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    no_retry = Retry(
        total=options.max_retries, connect=options.max_retries, read=0, status=0, other=0,
        backoff_factor=0.1, respect_retry_after_header=False,
    )  # fmt: skip
    adapter = _Adapter(
        pool_connections=options.pool_connections, pool_maxsize=options.pool_maxsize, max_retries=no_retry
    )
    http._session.mount("https://", adapter)


# ------------------------------------------------------------------------------------- error translation


def _translate(exc: Exception, verb: str, call_id: str, settings: VonageSettings) -> CallplayError:
    from pydantic import ValidationError
    from requests import exceptions as rex
    from vonage_http_client.errors import HttpRequestError
    from vonage_utils.errors import VonageError

    host = settings.api_host
    tried = retry.attempts_note(exc)
    if isinstance(exc, HttpRequestError):
        return _http_error(exc, verb, call_id)
    if isinstance(exc, rex.SSLError):
        return ProviderUnavailable(
            f"TLS to {host} failed for {verb}",
            "for the emulator, set ca_file to its CA (emulator serve --write-config does this)",
        )
    if isinstance(exc, rex.RequestException):
        # requests reports a read timeout under urllib3's retries as a ConnectionError: read the chain.
        failure = retry.transport_failure(exc)
        cause = failure.cause if failure is not None else ("timeout" if isinstance(exc, rex.Timeout) else None)
        if cause == "timeout":
            return ProviderUnavailable(
                f"Vonage ({host}) did not answer {verb} in {settings.timeout:g} s{tried}",
                retry.hint(exc, "try again; raise timeout in the profile if it keeps happening"),
            )
        if cause == "dropped":
            return ProviderUnavailable(
                f"the connection to Vonage ({host}) dropped during {verb}{tried}",
                retry.hint(exc, "try again shortly"),
            )
        return ProviderUnavailable(
            f"cannot reach Vonage at {host} for {verb}{tried}",
            "check api_host and the network (or that the emulator is running)",
        )
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return UsageError(
            f"Vonage refuses {'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
            "fix that value and try again",
        )
    if isinstance(exc, VonageError):
        return ConfigError("the Vonage SDK could not sign the request", "check application_id and private_key")
    return ProviderUnavailable(f"Vonage {verb} failed: {exc.__class__.__name__}", "try again with CALLPLAY_DEBUG=1")


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _http_error(exc: Any, verb: str, call_id: str) -> CallplayError:
    response = exc.response
    status = int(response.status_code)
    body = _problem(response)
    what = str(body.get("detail") or body.get("title") or response.reason or "error")[:MAX_ERROR_DETAIL]
    detail: dict[str, Any] = {"status": status}
    detail.update({k: body[k] for k in ("type", "title", "instance") if k in body})
    if body.get("invalid_parameters"):
        detail["invalid_parameters"] = body["invalid_parameters"]
        what += ": " + ", ".join(f"{p.get('name')} ({p.get('reason')})" for p in body["invalid_parameters"][:5])
    message = f"Vonage rejected {verb} on call {call_id}: {status} {what}"
    tried = retry.attempts_note(exc)
    if status >= 500:
        return ProviderUnavailable(
            f"Vonage failed {verb} on call {call_id}: {status} {what}{tried}",
            retry.hint(exc, "a Vonage-side error: try again shortly"),
            detail=detail,
        )
    if status == 429:  # the README's "unavailable" (exit 6): nothing is wrong with the request
        after = retry.retry_after_of(response.headers.get("Retry-After"))
        return ProviderUnavailable(
            f"Vonage is rate limiting {verb} on call {call_id} (429){tried}",
            retry.hint(exc, f"retry in {math.ceil(after)} s" if after is not None else "retry in a few seconds"),
            detail=detail,
        )
    hints = {
        401: "check application_id, and that private_key is the key of that application "
        "(Vonage keeps only its public half)",
        403: "the application may not use the Voice API: enable the Voice capability in the dashboard",
        404: f"this application has no call leg {call_id}: CALL must be the uuid of a Vonage call leg in progress",
    }
    return ProviderRejected(
        message, hints.get(status, "check the request (callplay play --dry-run shows it)"), detail=detail
    )


def _failure(exc: Exception) -> retry.Failure | None:
    """What a failed Vonage request means for retrying it (callplay/retry.py)."""
    from requests import exceptions as rex
    from vonage_http_client.errors import HttpRequestError

    if isinstance(exc, HttpRequestError):
        return retry.status_failure(exc.response.status_code, exc.response.headers.get("Retry-After"))
    if isinstance(exc, rex.RequestException):
        return retry.transport_failure(exc)
    return None


_CHECK: type[Provider] = VonageProvider  # mypy checks the class against the protocol
_CHECK_STATES: type[PlaybackStates] = VonageProvider
