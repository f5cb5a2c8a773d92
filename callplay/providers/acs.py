"""Azure Communication Services Call Automation, through `azure-communication-callautomation`.

ACS has no playback ID: callplay mints the control ID and sends it as `operationContext`, which ACS echoes in
every play event. Stop is all-or-nothing (cancelAllMediaOperations). There is no pause, resume or volume, no
loop count (loop is a boolean) and no silence item: silence is rendered as an SSML break when a voice is set
(`voice` in the profile or --voice), and refused otherwise.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callplay import retry
from callplay.errors import ConfigError, ProviderRejected, ProviderUnavailable, UnsupportedError, UsageError
from callplay.model import (
    Audio,
    CallStatus,
    CheckResult,
    ControlResult,
    Participant,
    Playback,
    PlaybackRecord,
    PlayRequest,
    Silence,
    Ssml,
    Tts,
)
from callplay.providers.base import Capabilities, Provider
from callplay.providers.facts import CALLBACK_URL_PATTERN
from callplay.providers.facts.acs import FACTS
from callplay.values import file_problem, http_url_problem

T = TypeVar("T")
RAW_ID = re.compile(r"^(4:\+?\d{3,15}|8:(acs|spool|gcch-acs|dod-acs|orgid|teamsvisitor|gcch|dod):.+|28:.+)$")


class AcsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(None, description="https://NAME.communication.azure.com, or 'embedded' (demo)")
    access_key: str | None = Field(None, json_schema_extra={"secret": True})
    connection_string: str | None = Field(None, json_schema_extra={"secret": True})
    callback_url: str | None = Field(
        None, pattern=CALLBACK_URL_PATTERN, description="public URL ACS posts play events to (per operation)"
    )
    callback_token: str | None = Field(None, json_schema_extra={"secret": True})
    voice: str | None = Field(None, description="default TTS voice, e.g. en-US-JennyNeural")
    language: str | None = Field(None, description="default TTS locale, e.g. en-US")
    ca_file: str | None = None
    timeout: float = Field(10.0, gt=0, le=300, allow_inf_nan=False, description="seconds per HTTP request")
    retries: int = Field(
        retry.RETRIES, ge=0, le=10, description="retries of a failed request (callplay's retry policy, README)"
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        """An http(s) URL the SDK can reach (or the demo's "embedded"): anything else fails late, as a network
        error (exit 6) instead of the configuration error it is."""
        problem = None if value in (None, "embedded") else http_url_problem(str(value))
        if problem:
            raise ValueError(f"{value!r} is not an https://NAME.communication.azure.com URL: {problem}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        """A CA bundle that is there, with ~ expanded (the SDK would not expand it, and fail at the request)."""
        problem = file_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return str(Path(value).expanduser()) if value else value


class AcsProvider:
    name: ClassVar[str] = "acs"
    display_name: ClassVar[str] = FACTS.display_name
    Settings: ClassVar[type[BaseModel]] = AcsSettings
    capabilities: Capabilities = Capabilities(
        verbs=frozenset({"play", "loop", "stop", "status"}),
        loop_forever=True,
        loop_count=False,
        targets=True,
        tts=True,
        ssml=True,
        silence=True,  # as an SSML break, when a voice is configured
        multi_items=True,
        events=True,
        stop_scope="call",  # cancelAllMediaOperations: ACS cannot stop one playback
        callback_auth="url_token",
        callback_secret_setting="callback_token",
        notes={
            "pause": "ACS cannot pause a playback: stop it with `callplay stop CALL` and play it again",
            "resume": "ACS cannot pause or resume: `callplay stop CALL`, then play the prompt again from the start",
            "volume": "ACS has no playback volume: adjust the prompt's level (callplay convert --normalize) "
            "or stop it with `callplay stop CALL`",
            "loop_count": "ACS loops only until stopped: use `callplay loop` without --times and "
            "`callplay stop`, or list the source N times in one play",
            "volume_at_start": "ACS has no playback volume: adjust the file's level instead",
            "playback_states": "ACS has no read of a playback's state: its PlayCompleted, PlayFailed and "
            "PlayCanceled events reach callplay through `callplay events listen`",
            "local_files": "ACS plays from a URL it can fetch: host the file (e.g. Azure Blob Storage) and pass "
            "its https URL",
            "s3_sources": "ACS cannot read s3:// objects: pass an https URL (a presigned S3 URL works)",
        },
    )

    def __init__(self, settings: AcsSettings, *, profile: str) -> None:
        self.settings = settings
        self.profile = profile
        self.warnings: list[str] = []
        self.endpoint, self.key = self._credentials()
        self._client: Any = None

    # -- setup -------------------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        s = self.settings
        endpoint, key = s.endpoint, s.access_key
        if s.connection_string:
            # Parsed here rather than by from_connection_string(), which forces https (the emulator speaks http).
            parts = dict(p.split("=", 1) for p in s.connection_string.split(";") if "=" in p)
            endpoint = endpoint or parts.get("endpoint")
            key = key or parts.get("accesskey")
        if not endpoint:
            raise ConfigError(f"profile {self.profile!r}: ACS needs an endpoint", "set endpoint (or connection_string)")
        if not key:
            raise ConfigError(
                f"profile {self.profile!r}: ACS needs an access key",
                "set access_key_env to an environment variable holding it, or connection_string",
            )
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                f"profile {self.profile!r}: the ACS access key is not base64",
                "copy the key from the Azure portal (Keys blade) unchanged",
            ) from None
        return endpoint.rstrip("/"), key

    def client(self) -> Any:
        if self._client is None:
            from azure.communication.callautomation import CallAutomationClient
            from azure.core.credentials import AzureKeyCredential

            _quiet_transport_logger()
            kwargs: dict[str, Any] = {
                # callplay's retry policy (callplay/retry.py) retries, per request; azure-core's own would retry
                # a play on 500 and 504, when ACS may have started it, and not retry a 429 at all.
                "retry_total": 0,
                "connection_timeout": self.settings.timeout,
                "read_timeout": self.settings.timeout,
            }
            if self.settings.ca_file:
                kwargs["connection_verify"] = self.settings.ca_file
            self._client = CallAutomationClient(self.endpoint, AzureKeyCredential(self.key), **kwargs)
        return self._client

    def _send(self, kind: retry.Kind, call_id: str, send: Callable[[], T], control_id: str | None = None) -> T:
        """One SDK request under callplay's retry policy (with the profile's `retries`)."""
        return retry.run(
            send,
            request=retry.Request(kind, call_id, control_id),
            classify=_failure,
            retry_policy=retry.policy(retries=self.settings.retries),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- play --------------------------------------------------------------------------------------------

    def _sources(self, request: PlayRequest) -> list[Any]:
        from azure.communication.callautomation import FileSource, SsmlSource, TextSource

        out: list[Any] = []
        for item in request.items:
            if isinstance(item, Audio):
                out.append(FileSource(url=item.uri, play_source_cache_id=request.cache_id))
            elif isinstance(item, Tts):
                out.append(
                    TextSource(
                        text=item.text,
                        source_locale=item.language or self.settings.language,
                        voice_kind=item.gender,
                        voice_name=item.voice or self.settings.voice,
                        play_source_cache_id=request.cache_id,
                    )
                )
            elif isinstance(item, Ssml):
                out.append(SsmlSource(ssml_text=item.ssml, play_source_cache_id=request.cache_id))
            elif isinstance(item, Silence):
                out.append(SsmlSource(ssml_text=self._silence_ssml(item, request)))
        return out

    def _silence_ssml(self, item: Silence, request: PlayRequest) -> str:
        voice = request.options.get("voice") or self.settings.voice
        if not voice:
            raise UnsupportedError(
                "ACS has no silence source",
                "set a TTS voice (--voice en-US-JennyNeural, or voice in the profile) and callplay renders "
                "silence as an SSML break; or pad the audio file itself",
            )
        # Azure TTS caps one <break> at 5 s, so longer silences are a run of breaks.
        ms, breaks = round(item.seconds * 1000), []
        while ms > 0:
            breaks.append(f'<break time="{min(ms, 5000)}ms"/>')
            ms -= 5000
        lang = request.options.get("language") or self.settings.language or "en-US"
        return (
            f'<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="{escape(lang)}">'
            f'<voice name="{escape(voice)}">{"".join(breaks)}</voice></speak>'
        )

    def _targets(self, request: PlayRequest) -> list[Any]:
        from azure.communication.callautomation import CommunicationUserIdentifier, PhoneNumberIdentifier

        identifiers: list[Any] = []
        for raw in request.targets:
            if not RAW_ID.match(raw):
                raise UsageError(
                    f"{raw!r} is not an ACS raw participant id",
                    "use 4:+14255550123 for a phone, 8:acs:<id> for an ACS user (see callplay stream-status CALL)",
                )
            if raw.startswith("4:"):
                number = raw[2:] if raw[2:].startswith("+") else "+" + raw[2:]
                identifiers.append(PhoneNumberIdentifier(number))
            elif raw.startswith("8:acs:"):
                identifiers.append(CommunicationUserIdentifier(raw))
            else:
                from azure.communication.callautomation._shared.models import identifier_from_raw_id

                identifiers.append(identifier_from_raw_id(raw))
        return identifiers

    def _check(self, request: PlayRequest) -> None:
        # Loop counts, volume and local or s3:// sources are refused by the core from the capabilities.
        if request.interrupt and request.targets:
            raise UsageError(
                "ACS honours --interrupt only when playing to everyone",
                "drop --to, or drop --interrupt (ACS queues the play behind the current one)",
            )

    def _play_kwargs(self, request: PlayRequest) -> dict[str, Any]:
        self._check(request)
        kwargs: dict[str, Any] = {
            "play_source": self._sources(request),
            "loop": request.loop == 0,
            "operation_context": request.control_id,
            "operation_callback_url": request.callback_url,
        }
        if request.targets:
            kwargs["play_to"] = self._targets(request)
        else:
            kwargs["play_to"] = "all"
            kwargs["interrupt_call_media_operation"] = request.interrupt
        return kwargs

    def describe_play(self, call_id: str, request: PlayRequest) -> dict[str, Any]:
        """Run the SDK against a transport that records the request instead of sending it."""
        from callplay.providers._capture import capture_azure_request

        kwargs = self._play_kwargs(request)
        with capture_azure_request(self.endpoint, self.key, call_id) as (connection, captured):
            connection.play_media(**kwargs)
        return captured

    def play(self, call_id: str, request: PlayRequest) -> Playback:
        kwargs = self._play_kwargs(request)
        with self._errors(call_id):
            connection = self.client().get_call_connection(call_id)
            self._send(retry.Kind.PLAY, call_id, lambda: connection.play_media(**kwargs), request.control_id)
        return Playback(
            control_id=request.control_id,
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state="requested",
            sources=request.sources(),
            loop=request.loop,
            targets=list(request.targets),
            extra={"operation_context": request.control_id},
        )

    # -- control -----------------------------------------------------------------------------------------

    def stop(self, call_id: str, *, control_id: str | None, record: PlaybackRecord | None) -> ControlResult:
        with self._errors(call_id):
            connection = self.client().get_call_connection(call_id)
            self._send(retry.Kind.IDEMPOTENT, call_id, connection.cancel_all_media_operations, control_id)
        return ControlResult(
            action="stop",
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            control_id=control_id,
            state="stopped",
            detail={"scope": "all media operations on the call (ACS cannot stop one playback)"},
        )

    # -- status ------------------------------------------------------------------------------------------

    def status(self, call_id: str) -> CallStatus:
        with self._errors(call_id):
            connection = self.client().get_call_connection(call_id)
            props = self._send(retry.Kind.READ, call_id, connection.get_call_properties)
            participants = self._send(retry.Kind.READ, call_id, lambda: list(connection.list_participants()))
        streaming = None
        sub = getattr(props, "media_streaming_subscription", None)
        if sub is not None:
            streaming = {
                "id": sub.id,
                "state": str(sub.state) if sub.state else None,
                "content_types": [str(c) for c in (sub.subscribed_content_types or [])],
            }
        return CallStatus(
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state=str(props.call_connection_state),
            media_streaming=streaming or {"state": "disabled"},
            participants=[_participant(p) for p in participants],
            detail={"server call id": props.server_call_id, "correlation id": props.correlation_id},
        )

    # -- check -------------------------------------------------------------------------------------------

    def check(self) -> CheckResult:
        # A call that cannot exist: 404 proves the key was accepted (ACS checks the HMAC before the lookup),
        # 401 that it was not. Nothing is created or changed.
        probe = f"callplay-check-{uuid.uuid4().hex}"
        step = "GET /calling/callConnections/{id} (a call that does not exist)"
        try:
            with self._errors(probe):
                connection = self.client().get_call_connection(probe)
                self._send(retry.Kind.READ, probe, connection.get_call_properties)
        except ProviderRejected as err:
            if err.code != "not_found":
                raise
            detail = "ACS answered 404 for a call that does not exist: the access key is accepted"
        else:
            detail = "ACS answered"
        return CheckResult(self.profile, self.name, step, reachable=True, authenticated=True, detail=detail)

    # -- errors ------------------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, call_id: str) -> Iterator[None]:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            IncompleteReadError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
            ServiceResponseTimeoutError,
        )

        try:
            yield
        except ClientAuthenticationError as exc:
            raise ProviderRejected(
                f"ACS authentication failed ({_code(exc)}): {_message(exc)}",
                "check the profile's access key and endpoint (callplay profiles show)",
                code="auth_failed",
                detail={"status": exc.status_code, "provider_code": _code(exc)},
            ) from None
        except ResourceNotFoundError as exc:
            raise ProviderRejected(
                f"ACS: call {call_id} not found ({_code(exc)})",
                "check the call connection id; the call may have ended",
                code="not_found",
                detail={"status": exc.status_code, "provider_code": _code(exc)},
            ) from None
        except IncompleteReadError as exc:
            # An HttpResponseError by class, but no answer at all: the connection broke mid-response.
            raise ProviderUnavailable(
                f"the connection to ACS at {self.endpoint} dropped before the answer was complete"
                + retry.attempts_note(exc),
                retry.hint(exc, "retry shortly"),
            ) from None
        except HttpResponseError as exc:
            status = exc.status_code or 0
            unavailable = status >= 500 or status == 429 or not status
            raise (ProviderUnavailable if unavailable else ProviderRejected)(
                f"ACS answered {status or 'nothing'} ({_code(exc)}): {_message(exc)}" + retry.attempts_note(exc),
                retry.hint(exc, "retry shortly") if unavailable else "see the provider's message above",
                detail={"status": status, "provider_code": _code(exc)},
            ) from None
        except ServiceResponseTimeoutError as exc:
            raise ProviderUnavailable(
                f"ACS at {self.endpoint} did not answer within {self.settings.timeout:g} s" + retry.attempts_note(exc),
                retry.hint(exc, "retry; raise timeout in the profile if it keeps happening"),
            ) from None
        except ServiceResponseError as exc:
            raise ProviderUnavailable(
                f"the connection to ACS at {self.endpoint} dropped before an answer" + retry.attempts_note(exc),
                retry.hint(exc, "retry shortly"),
            ) from None
        except ServiceRequestError as exc:
            raise ProviderUnavailable(
                f"cannot reach ACS at {self.endpoint}: {_short(exc)}" + retry.attempts_note(exc),
                "check the endpoint and your network (is the emulator running?)",
            ) from None


def _failure(exc: Exception) -> retry.Failure | None:
    """What a failed ACS request means for retrying it (callplay/retry.py)."""
    from azure.core.exceptions import HttpResponseError, IncompleteReadError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, IncompleteReadError):
        return retry.Failure("dropped")
    if isinstance(exc, HttpResponseError) and exc.status_code:
        headers = getattr(exc.response, "headers", None) or {}
        return retry.status_failure(exc.status_code, headers.get("Retry-After"))
    if isinstance(exc, ServiceRequestError):
        return retry.transport_failure(exc)
    if isinstance(exc, ServiceResponseError):
        # The request was sent: whatever broke afterwards, ACS may have acted on it.
        return retry.transport_failure(exc) or retry.Failure("dropped")
    return None


def _quiet_transport_logger() -> None:
    # azure-core's transport logs a broken download as a bare warning ("Incomplete download."), which would
    # reach the terminal beside callplay's own message for the same failure.
    logger = logging.getLogger("azure.core.pipeline.transport")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _participant(p: Any) -> Participant:
    ident = p.identifier
    raw = getattr(ident, "raw_id", None) or str(ident)
    kind = getattr(ident, "kind", "")
    kind = str(getattr(kind, "value", kind))
    return Participant(raw, kind, {"muted": p.is_muted, "on hold": p.is_on_hold})


def _code(exc: Any) -> str:
    err = getattr(exc, "error", None)
    return str(getattr(err, "code", None) or exc.status_code or "?")


def _message(exc: Any) -> str:
    err = getattr(exc, "error", None)
    msg = getattr(err, "message", None) or getattr(exc, "message", None) or str(exc)
    return str(msg).splitlines()[0]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


_CHECK: type[Provider] = AcsProvider  # mypy checks the class against the protocol
