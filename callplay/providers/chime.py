"""Amazon Chime SDK PSTN audio: play, loop and stop on a live call through its SIP media application.

Chime plays only from S3 and only through the call's Lambda, so a play here is: check each local WAV
against Chime's limits, upload it once to the profile's bucket under a content-addressed key, then
`UpdateSipMediaApplicationCall` with string arguments that callplay's reference Lambda
(callplay/chime_lambda, see its README for the contract) turns into PlayAudio, Speak or Pause actions.
The CALL on the command line is the call's TransactionId; the participant is the leg, LEG-A or LEG-B.

boto3 is imported inside methods only: importing this module stays cheap.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callplay import retry
from callplay.errors import (
    AudioInvalid,
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
    Playback,
    PlaybackRecord,
    PlayItem,
    PlayRequest,
    Silence,
    Ssml,
    StillPlaying,
    Tts,
)
from callplay.providers.base import Capabilities, Provider
from callplay.providers.facts import CALLBACK_URL_PATTERN
from callplay.providers.facts.chime import (  # Chime's limits: one home, shared with validate-audio's rules
    DEFAULT_REPEAT_MAX,
    FACTS,
    INTERRUPTIBLE_ACTIONS,
    LEGS,
    MAX_ACTIONS,
    MAX_ARGUMENTS,
    MAX_SPEAK_CHARS,
    MAX_WAV_BYTES,
    RECOMMENDED_RATE,
    SPEAK_CHARS_PER_S,
    WAV_CONTENT_TYPE,
)
from callplay.values import file_problem

T = TypeVar("T")
DISPLAY = FACTS.display_name
CALL_STATUS_NOTE = (
    "Amazon Chime SDK has no call status API: the call's state is visible only to the SIP media application's Lambda"
)
# Clients this process has made, for profiles whose keys are in the profile itself (no file or environment
# variable can change them under us). Making a botocore client costs some 80 ms of CPU (its service model
# parsed, 700 event handlers registered) and a client is thread-safe, so a process that makes several providers
# (a library user, the in-process test suite) makes each client once.
_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CLIENTS_MAX = 32
_CLIENTS_LOCK = threading.Lock()

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class ChimeSettings(BaseModel):
    """A `provider = "chime"` profile. AWS credentials follow boto3's chain unless given here."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field("us-east-1", description="AWS region of the SIP media application and the bucket.")
    sip_media_application_id: str = Field("", description="ID of the SIP media application that runs the call.")
    bucket: str | None = Field(None, description="S3 bucket for uploaded prompts (same account as the SMA).")
    prefix: str = Field("callplay/prompts/", description="Key prefix for uploaded prompts.")
    aws_profile: str | None = Field(None, description="Named AWS profile (shared config/credentials files).")
    aws_access_key_id: str | None = Field(None, description="Access key ID; unset: the standard AWS chain.")
    aws_secret_access_key: str | None = Field(None, json_schema_extra={"secret": True})
    aws_session_token: str | None = Field(None, json_schema_extra={"secret": True})
    endpoint_url: str | None = Field(None, description="chime-sdk-voice endpoint (the emulator).")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (the emulator); path-style addressing.")
    ca_bundle: str | None = Field(None, description="CA file for https endpoints with a private CA.")
    voice: str = Field("Joanna", description="Default Polly voice for Speak.")
    engine: Literal["standard", "neural"] | None = Field(None, description="Default Polly engine for Speak.")
    language: str | None = Field(None, description="Default language code for Speak, e.g. en-US.")
    repeat_max: int = Field(DEFAULT_REPEAT_MAX, ge=1, le=10_000, description="Largest --times callplay sends.")
    callback_url: str | None = Field(
        None, pattern=CALLBACK_URL_PATTERN, description="Where the Lambda posts playback events (public URL)."
    )
    callback_secret: str | None = Field(
        None,
        description="Shared secret the Lambda signs events with (its CALLPLAY_EVENTS_SECRET).",
        json_schema_extra={"secret": True},
    )
    timeout: float = Field(15.0, gt=0, le=300, description="Seconds to wait for each AWS request.")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION_RE.match(value):
            raise ValueError(f"{value!r} is not an AWS region name like us-east-1")
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET_RE.match(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        """A CA bundle that is there, with ~ expanded: botocore reports a missing one only at the request."""
        problem = file_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return str(Path(value).expanduser()) if value else value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip().lstrip("/")
        return value if not value or value.endswith("/") else value + "/"


# ------------------------------------------------------------------------------------------ the plan


@dataclass
class Upload:
    """A local WAV that must be in S3 before the Lambda can play it."""

    path: Path
    bucket: str
    key: str
    size: int
    seconds: float = 0.0  # the WAV's length, for saying how long a playback may still go on

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass
class Plan:
    """Everything play would do, worked out (and checked) before anything is sent."""

    sma_id: str
    participant: str
    arguments: dict[str, str]
    uploads: list[Upload] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    actions: int = 0
    # Each item's length in seconds (a Speak's estimated), None when unknown (an s3:// object): stop uses it to
    # say which uninterruptible Speak may still be playing, and for how long.
    seconds: list[float | None] = field(default_factory=list)


def check_wav(path: Path) -> tuple[int, list[str], float]:
    """(size, warnings, seconds) for a local prompt; AudioInvalid when Chime would refuse it.

    The size is checked before anything is read, so an oversized file is refused at once.
    """
    from callplay.audio.probe import probe_path

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", "give a readable local WAV file") from None
    if size > MAX_WAV_BYTES:
        raise AudioInvalid(
            f"{path.name} is {size / 1e6:.1f} MB; {DISPLAY} plays WAV files of at most {MAX_WAV_BYTES // 10**6} MB",
            "shorten it, or convert it to 8 kHz mono 16-bit PCM WAV, which is much smaller",
        )
    probe = probe_path(path)
    problem, warnings = wav_problems(probe, path.name)
    if problem:
        raise AudioInvalid(problem, "convert it to 16-bit PCM WAV, 8 kHz mono (see `callplay convert --help`)")
    return size, warnings, float(probe.duration_s)


def wav_problems(probe: Any, name: str) -> tuple[str | None, list[str]]:
    """(why Chime would refuse it or None, warnings) from an audio probe.

    The refusals are validate-audio's errors for the chime target (the same rules, from the same facts), so
    `validate-audio --target chime` and `play` never disagree about a file.
    """
    from callplay.audio.rules import refusals

    problems = refusals(probe, FACTS.name)
    if problems:
        return f"{name}: {problems[0]}", []
    warnings = []
    if probe.sample_rate != RECOMMENDED_RATE or probe.channels != 1:
        layout = "mono" if probe.channels == 1 else ("stereo" if probe.channels == 2 else f"{probe.channels} channels")
        warnings.append(
            f"{name} is {probe.sample_rate} Hz {layout}; {DISPLAY} recommends {RECOMMENDED_RATE // 1000} kHz mono "
            "(convert it to avoid resampling and to upload less)"
        )
    return None, warnings


def content_key(path: Path, prefix: str) -> str:
    """`<prefix><sha256>.wav`: the same prompt always lands on the same key, so it is uploaded once."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"{prefix}{digest.hexdigest()}.wav"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not _BUCKET_RE.match(bucket) or not key:
        raise UsageError(f"{uri!r} is not s3://bucket/key", "e.g. s3://my-prompts/hold.wav")
    return bucket, key


# --------------------------------------------------------------------------------------- the provider


class ChimeProvider:
    name: ClassVar[str] = "chime"
    display_name: ClassVar[str] = DISPLAY
    Settings: ClassVar[type[BaseModel]] = ChimeSettings
    capabilities: Capabilities = Capabilities(
        verbs=frozenset({"play", "loop", "stop", "status"}),
        loop_forever=False,
        loop_count=True,
        max_loop=DEFAULT_REPEAT_MAX,
        targets=True,
        tts=True,
        ssml=True,
        silence=True,
        multi_items=True,
        local_files=True,
        s3_sources=True,
        events=True,
        callback_secret_setting="callback_secret",  # the reference Lambda signs events with it (HMAC)
        notes={
            "pause": "Amazon Chime SDK has no pause: use `callplay stop CALL` and play again",
            "resume": "Amazon Chime SDK has no resume: play the prompt again",
            "volume": "Amazon Chime SDK has no playback volume: adjust the file's level and play it again",
            "loop_forever": f"use --times N with N <= {DEFAULT_REPEAT_MAX} (PlayAudio's Repeat needs a count)",
            "wait": "deploy callplay's reference Lambda (callplay chime lambda-package) so events reach callplay",
            "playback_states": "Amazon Chime SDK has no API that returns a call's or a playback's state: "
            "callplay's reference Lambda posts playback events to `callplay events listen`",
        },
    )

    def __init__(self, settings: Any, *, profile: str) -> None:
        self.settings: ChimeSettings = settings
        self.profile = profile
        self.warnings: list[str] = []
        # The Repeat bound is the profile's (repeat_max), so the core's checks and messages use it too.
        bound = settings.repeat_max
        notes = {
            **ChimeProvider.capabilities.notes,
            "loop_forever": f"use --times N with N <= {bound}",
            "loop_count": f"use --times N with N <= {bound} (repeat_max in the profile)",
        }
        self.capabilities = replace(ChimeProvider.capabilities, max_loop=bound, notes=notes)
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    # -- verbs ------------------------------------------------------------------------------------------

    def describe_play(self, call_id: str, request: PlayRequest) -> dict[str, Any]:
        plan = self._plan(call_id, request)
        path = f"/sip-media-applications/{plan.sma_id}/calls/{call_id}"
        base = self.settings.endpoint_url or f"https://voice-chime.{self.settings.region}.amazonaws.com"
        return {
            "uploads": [
                {
                    "method": "PUT",
                    "object": u.uri,
                    "content_type": WAV_CONTENT_TYPE,
                    "source": str(u.path),
                    "size": u.size,
                    "skipped_if_present": True,
                }
                for u in plan.uploads
            ],
            "operation": "UpdateSipMediaApplicationCall",
            "method": "POST",
            "url": base.rstrip("/") + path,
            "path": path,
            "body": {"Arguments": plan.arguments},
        }

    def play(self, call_id: str, request: PlayRequest) -> Playback:
        plan = self._plan(call_id, request)
        uploaded = [u.uri for u in plan.uploads if self._ensure_uploaded(u)]
        self._update_call(plan.sma_id, call_id, plan.arguments)
        return Playback(
            control_id=request.control_id,
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            state="requested",
            sources=request.sources(),
            loop=request.loop,
            targets=[plan.participant],
            extra={
                "sip_media_application_id": plan.sma_id,
                "participant": plan.participant,
                "action": plan.arguments["action"],
                "actions": plan.actions,
                "objects": plan.objects,
                "uploaded": uploaded,
                "seconds": plan.seconds,
            },
            warnings=plan.warnings,
        )

    def stop(self, call_id: str, *, control_id: str | None, record: PlaybackRecord | None) -> ControlResult:
        sma_id = self._check_ids(call_id)
        participant = str((record.extra if record else {}).get("participant") or LEGS[0])
        arguments = {"callplay": "1", "action": "stop", "participant": participant}
        if control_id:
            arguments["control_id"] = control_id
        self._update_call(sma_id, call_id, arguments)
        # Measured once the update is on its way: what may be playing when it reaches the call.
        still = still_speaking(record, time.time())
        warnings = []
        if record is None:
            warnings.append(
                f"callplay has no record of {'playback ' + control_id if control_id else 'a playback on this call'}: "
                f"if a Speak (tts: or ssml:) of it is being spoken, {DISPLAY} plays that to its end"
            )
        return ControlResult(
            action="stop",
            call_id=call_id,
            profile=self.profile,
            provider=self.name,
            control_id=control_id,
            state="stopped",
            detail={
                "how": "the Lambda answers a short Pause, which replaces the rest of the playback: PlayAudio and "
                "Pause stop at once, a Speak plays to its end"
            },
            still_playing=still,
            warnings=warnings,
        )

    def status(self, call_id: str) -> CallStatus:
        # No request: Chime has no API that reports a call or a transaction.
        return CallStatus(
            call_id=call_id, profile=self.profile, provider=self.name, state=None, notes=[CALL_STATUS_NOTE]
        )

    def check(self) -> CheckResult:
        sma_id = self._check_ids("check")
        voice = self._client("chime-sdk-voice")
        step = f"GET /sip-media-applications/{sma_id}"
        try:
            self._aws(retry.Kind.READ, None, lambda: voice.get_sip_media_application(SipMediaApplicationId=sma_id))
        except Exception as exc:
            raise self._mapped(exc, what=f"reading SIP media application {sma_id}") from None
        detail = "Chime returned the SIP media application: the AWS credentials are accepted"
        return CheckResult(self.profile, self.name, step, reachable=True, authenticated=True, detail=detail)

    def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                close()
        self._clients.clear()

    # -- planning (no network) --------------------------------------------------------------------------

    def _plan(self, call_id: str, request: PlayRequest) -> Plan:
        sma_id = self._check_ids(call_id)
        participant = self._participant(request)
        # The core refused looping until stopped and counts over the profile's repeat_max (capabilities).
        repeat = request.loop
        plan = Plan(sma_id, participant, {})
        specs = [self._spec(item, request, plan) for item in request.items]
        plan.seconds = [_item_seconds(spec, plan) for spec in specs]
        if len(specs) == 1 and specs[0]["action"] == "play":
            specs[0]["repeat"] = str(repeat)  # PlayAudio repeats itself
        elif repeat > 1:
            specs = specs * repeat  # a sequence (or Speak/Pause) is repeated as actions
        if len(specs) > MAX_ACTIONS:
            raise UnsupportedError(
                f"{DISPLAY} runs at most {MAX_ACTIONS} actions per update; this play needs {len(specs)} "
                f"({len(request.items)} item(s) x {repeat} play(s))",
                "use fewer items or --times, or one WAV file with --times (PlayAudio repeats it)",
            )
        plan.actions = len(specs)
        plan.arguments = self._arguments(request, participant, specs)
        return plan

    def _check_ids(self, call_id: str) -> str:
        sma_id = self.settings.sip_media_application_id.strip()
        if not sma_id or re.search(r"[\s/]", sma_id):
            raise ConfigError(
                f"profile {self.profile!r} has no valid sip_media_application_id",
                "set it to your SIP media application's ID (aws chime-sdk-voice list-sip-media-applications)",
            )
        if not call_id.strip() or re.search(r"[\s/]", call_id):
            raise UsageError(
                f"{call_id!r} is not a call TransactionId",
                "pass the call's TransactionId (from the Lambda's event CallDetails.TransactionId)",
            )
        return sma_id

    def _participant(self, request: PlayRequest) -> str:
        targets = request.targets or [str(request.options.get("leg") or LEGS[0])]
        if len(targets) > 1:
            raise UsageError(f"{DISPLAY} plays to one leg at a time", "pass --to LEG-A or --to LEG-B once")
        leg = targets[0].strip().upper()
        if leg not in LEGS:
            raise UsageError(
                f"{DISPLAY} plays to a call leg, not {targets[0]!r}", "use --to LEG-A (the caller) or --to LEG-B"
            )
        return leg

    def _spec(self, item: PlayItem, request: PlayRequest, plan: Plan) -> dict[str, str]:
        if isinstance(item, Audio):
            return self._audio_spec(item, plan)
        if isinstance(item, Tts | Ssml):
            return self._speak_spec(item, request, plan)
        if isinstance(item, Silence):
            return {"action": "pause", "duration_ms": str(max(1, round(item.seconds * 1000)))}
        raise UsageError(f"cannot play {item!r} on {DISPLAY}", "use a WAV file, s3://, tts:, ssml: or silence:")

    def _audio_spec(self, item: Audio, plan: Plan) -> dict[str, str]:
        if item.is_url:
            raise UnsupportedError(
                f"{DISPLAY} plays audio only from S3, not from {item.uri}",
                "download it and pass the local WAV (callplay uploads it to the profile's bucket), "
                "or pass s3://bucket/key",
            )
        if item.is_s3:
            bucket, key = parse_s3_uri(item.uri)
        else:
            upload = self._local_upload(Path(item.uri), plan)
            bucket, key = upload.bucket, upload.key
        plan.objects.append(f"s3://{bucket}/{key}")
        return {"action": "play", "bucket": bucket, "key": key}

    def _local_upload(self, path: Path, plan: Plan) -> Upload:
        if not path.is_file():
            raise UsageError(f"no such file: {path}", "give a local WAV file, or s3://bucket/key")
        if not self.settings.bucket:
            raise ConfigError(
                f"profile {self.profile!r} has no bucket for uploading {path.name}",
                "set bucket (and prefix) in the profile, or pass an s3://bucket/key source",
            )
        size, warnings, seconds = check_wav(path)
        plan.warnings.extend(warnings)
        upload = Upload(path, self.settings.bucket, content_key(path, self.settings.prefix), size, seconds)
        if all(u.key != upload.key for u in plan.uploads):
            plan.uploads.append(upload)
        return upload

    def _speak_spec(self, item: Tts | Ssml, request: PlayRequest, plan: Plan) -> dict[str, str]:
        text = item.text if isinstance(item, Tts) else item.ssml
        if not text.strip() or len(text) > MAX_SPEAK_CHARS:
            raise UsageError(
                f"Speak text is {len(text)} characters; {DISPLAY} takes 1 to {MAX_SPEAK_CHARS}",
                "split it into several tts: items (up to 10 actions)",
            )
        opts = request.options
        spec = {
            "action": "speak",
            "text": text,
            "text_type": "ssml" if isinstance(item, Ssml) else str(opts.get("text_type") or "text"),
            "voice": (item.voice if isinstance(item, Tts) else None) or opts.get("voice") or self.settings.voice,
            "engine": opts.get("engine") or self.settings.engine,
            "language": (item.language if isinstance(item, Tts) else None) or self.settings.language,
        }
        if spec["engine"] not in (None, "standard", "neural"):
            raise UsageError(f"engine {spec['engine']!r} is not standard or neural", "--option engine=neural")
        if spec["text_type"] not in ("text", "ssml"):
            raise UsageError(f"text_type {spec['text_type']!r} is not text or ssml", "use ssml:TEXT for SSML")
        if isinstance(item, Tts) and item.gender:
            plan.warnings.append(f"{DISPLAY} ignores --gender: Polly voices have one; pick one with --voice")
        return {k: str(v) for k, v in spec.items() if v}

    def _arguments(self, request: PlayRequest, participant: str, specs: list[dict[str, str]]) -> dict[str, str]:
        args = {"callplay": "1", "control_id": request.control_id, "participant": participant}
        if request.callback_url:
            args["callback_url"] = request.callback_url
        if len(specs) == 1:
            args.update(specs[0])
        else:
            args["action"] = "sequence"
            args["items"] = json.dumps(specs, separators=(",", ":"))
        if len(args) > MAX_ARGUMENTS:  # cannot happen with the specs above; a guard for future keys
            raise UsageError(f"{len(args)} arguments exceed the API's {MAX_ARGUMENTS}", "play fewer options")
        return args

    # -- AWS (network) ----------------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        if service in self._clients:
            return self._clients[service]
        key = self._client_key(service)
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(key) if key is not None else None
        if client is None:
            client = self._new_client(service)
            if key is not None:
                with _CLIENTS_LOCK:
                    if len(_CLIENTS) >= _CLIENTS_MAX:
                        _CLIENTS.clear()
                    _CLIENTS[key] = client
        self._clients[service] = client
        return client

    def _client_key(self, service: str) -> tuple[Any, ...] | None:
        """What makes a client this process may share; None when the credentials come from elsewhere."""
        s = self.settings
        if not (s.aws_access_key_id and s.aws_secret_access_key) or s.aws_profile:
            return None
        secret = hashlib.sha256(f"{s.aws_secret_access_key}\0{s.aws_session_token}".encode()).hexdigest()
        endpoint = s.s3_endpoint_url if service == "s3" else s.endpoint_url
        return (service, endpoint, s.region, s.aws_access_key_id, secret, s.timeout, s.ca_bundle, s.s3_endpoint_url)

    def _new_client(self, service: str) -> Any:
        from botocore.config import Config

        s = self.settings
        s3 = service == "s3"
        config = Config(
            connect_timeout=s.timeout,
            read_timeout=s.timeout,
            # One attempt: callplay's retry policy (callplay/retry.py) retries above botocore, knowing a play
            # (never sent again once Chime may have acted) from a stop or an upload to a content key. Config's
            # `max_attempts` counts retries, not attempts (max_attempts 1 is two sends): total_max_attempts does.
            retries={"mode": "standard", "total_max_attempts": 1},
            s3={"addressing_style": "path"} if s3 and s.s3_endpoint_url else None,
            user_agent_extra="callplay",
        )
        endpoint = s.s3_endpoint_url if s3 else s.endpoint_url
        try:
            return self._boto_session().client(
                service, endpoint_url=endpoint or None, config=config, verify=s.ca_bundle or None
            )
        except Exception as exc:  # botocore raises a variety here (bad endpoint URL, unknown region)
            raise self._mapped(exc, what=f"{service} client") from None

    def _boto_session(self) -> Any:
        if self._session is not None:
            return self._session
        import boto3
        from botocore.exceptions import ProfileNotFound

        s = self.settings
        kwargs: dict[str, Any] = {"region_name": s.region}
        if bool(s.aws_access_key_id) != bool(s.aws_secret_access_key):
            raise ConfigError(
                "aws_access_key_id and aws_secret_access_key must be set together",
                "set both in the profile (the secret from a 0600 file or aws_secret_access_key_env), or neither",
            )
        if s.aws_access_key_id:
            kwargs.update(
                aws_access_key_id=s.aws_access_key_id,
                aws_secret_access_key=s.aws_secret_access_key,
                aws_session_token=s.aws_session_token or None,
            )
        if s.aws_profile:
            kwargs["profile_name"] = s.aws_profile
        try:
            self._session = boto3.session.Session(**kwargs)
        except ProfileNotFound:
            raise ConfigError(
                f"AWS profile {s.aws_profile!r} is not in the shared AWS config files",
                "fix aws_profile, or run `aws configure --profile NAME`",
            ) from None
        return self._session

    def _ensure_uploaded(self, upload: Upload) -> bool:
        """Put the prompt in S3 unless it is there already (HEAD first); True when it was uploaded."""
        s3 = self._client("s3")
        try:
            head = self._aws(retry.Kind.READ, None, lambda: s3.head_object(Bucket=upload.bucket, Key=upload.key))
            ctype = str(head.get("ContentType", "")).split(";")[0].strip().lower()
            if ctype == WAV_CONTENT_TYPE and int(head.get("ContentLength", -1)) == upload.size:
                return False
        except Exception as exc:
            # Without s3:ListBucket, S3 answers HEAD of a missing object 403: try the PUT, which tells.
            if _error_code(exc) not in ("404", "NoSuchKey", "NotFound", "403"):
                raise self._mapped(exc, what=f"checking {upload.uri}") from None

        def put() -> None:
            # The file is opened per attempt: a retry must send the whole body again.
            with upload.path.open("rb") as body:
                s3.put_object(Bucket=upload.bucket, Key=upload.key, Body=body, ContentType=WAV_CONTENT_TYPE)

        try:
            self._aws(retry.Kind.IDEMPOTENT, None, put)  # the key is the content's hash: a second PUT is the same
        except OSError as exc:
            raise UsageError(f"cannot read {upload.path}: {exc.strerror}", "give a readable local WAV") from None
        except Exception as exc:
            raise self._mapped(exc, what=f"uploading {upload.path.name} to {upload.uri}") from None
        return True

    def _update_call(self, sma_id: str, call_id: str, arguments: dict[str, str]) -> None:
        voice = self._client("chime-sdk-voice")
        # A stop replaces whatever runs with a short Pause: doing it twice is harmless. Anything else starts
        # audio, and is sent again only when Chime cannot have acted on it.
        kind = retry.Kind.IDEMPOTENT if arguments.get("action") == "stop" else retry.Kind.PLAY
        try:
            self._aws(
                kind,
                call_id,
                lambda: voice.update_sip_media_application_call(
                    SipMediaApplicationId=sma_id, TransactionId=call_id, Arguments=arguments
                ),
                arguments.get("control_id"),
            )
        except Exception as exc:
            raise self._mapped(exc, what=f"updating call {call_id} on SIP media application {sma_id}") from None

    def _aws(self, kind: retry.Kind, call_id: str | None, send: Callable[[], T], control_id: str | None = None) -> T:
        """One AWS request under callplay's retry policy."""
        return retry.run(
            send, request=retry.Request(kind, call_id, control_id), classify=_failure, retry_policy=retry.policy()
        )

    def _mapped(self, exc: Exception, *, what: str) -> CallplayError:
        return map_aws_error(exc, what=what, profile=self.profile)


# ------------------------------------------------------------------------------- what a stop leaves

SPEAK_SLACK = 1.25  # Polly may speak slower than the estimate (voice, SSML prosody): allow a quarter more
LATENCY_S = 1.0  # an update's trip through Chime and the Lambda: the call's timeline lags callplay's clock
CANNOT_INTERRUPT = (
    f"{DISPLAY} cannot interrupt a Speak (a new action list interrupts only "
    f"{', '.join(sorted(INTERRUPTIBLE_ACTIONS))}): the rest of the playback is canceled once it ends"
)
SPEAK_HINT = (
    f"to stop speech at once on {DISPLAY}, play it as a WAV file instead (PlayAudio is interruptible), e.g. "
    "rendered with Amazon Polly"
)
_BREAK_RE = re.compile(r"""<break\b[^>]*\btime\s*=\s*["']\s*([\d.]+)\s*(ms|s)\s*["']""", re.IGNORECASE)


def speak_seconds(text: str, *, ssml: bool) -> float:
    """About how long Polly speaks `text` (SPEAK_CHARS_PER_S; an SSML document's tags are not spoken, its
    <break time> pauses are)."""
    pauses = 0.0
    if ssml:
        pauses = sum(float(v) / (1000 if unit.lower() == "ms" else 1) for v, unit in _BREAK_RE.findall(text))
        text = re.sub(r"<[^>]+>", "", text)
    return len(text.strip()) / SPEAK_CHARS_PER_S + pauses


def _item_seconds(spec: dict[str, str], plan: Plan) -> float | None:
    action = spec["action"]
    if action == "speak":
        return round(speak_seconds(spec["text"], ssml=spec.get("text_type") == "ssml"), 3)
    if action == "pause":
        return int(spec["duration_ms"]) / 1000
    key = spec.get("key")
    return next((u.seconds for u in plan.uploads if u.key == key and u.seconds > 0), None)  # s3://: unknown


def _timeline(record: PlaybackRecord) -> list[tuple[str, float | None, str]]:
    """The playback's actions in order, as (Chime action, seconds or None, source), from the ledger's record."""
    known = record.extra.get("seconds")
    items: list[tuple[str, float | None, str]] = []
    for index, source in enumerate(record.sources):
        seconds = known[index] if isinstance(known, list) and index < len(known) else None
        if source.startswith(("tts:", "ssml:")):
            estimate = speak_seconds(source.partition(":")[2], ssml=source.startswith("ssml:"))
            items.append(("Speak", seconds if isinstance(seconds, int | float) else estimate, source))
        elif source.startswith("silence:"):
            items.append(("Pause", float(source.partition(":")[2] or 0), source))
        else:
            items.append(("PlayAudio", float(seconds) if isinstance(seconds, int | float) else None, source))
    loop = max(record.loop, 1)
    if len(items) == 1 and items[0][0] == "PlayAudio":  # one PlayAudio with Repeat
        kind, seconds, source = items[0]
        return [(kind, None if seconds is None else seconds * loop, source)]
    return items * loop


def still_speaking(record: PlaybackRecord | None, now: float) -> list[StillPlaying]:
    """The Speak of this playback that may be playing when a stop reaches the call: Chime lets it finish.

    Chime reports nothing to callplay about a running call, so this reckons from the playback's start (the
    ledger's created_at) along its items' lengths, with slack for latency and slow speech: [] when no Speak
    can be running then (the rest is interruptible), else the likeliest one with how long it may go on.
    """
    if record is None or record.state in TERMINAL_STATES:
        return []  # finished, failed or stopped as far as callplay heard; without a record nothing is known
    try:
        elapsed = now - datetime.datetime.fromisoformat(record.created_at).timestamp()
    except ValueError:
        return []
    earliest, latest = 0.0, LATENCY_S  # when the current action can have started, at the earliest and latest
    candidates: list[StillPlaying] = []
    for kind, seconds, source in _timeline(record):
        if kind in INTERRUPTIBLE_ACTIONS:
            earliest += seconds or 0.0
            latest = latest + seconds if seconds is not None else math.inf
            continue
        length = seconds or 0.0
        end = latest + length * SPEAK_SLACK
        if earliest <= elapsed + LATENCY_S and elapsed < end:
            left = min(end - elapsed, length * SPEAK_SLACK + LATENCY_S)
            likeliest = earliest <= elapsed < earliest + length + LATENCY_S
            candidates.append(StillPlaying(source, left, CANNOT_INTERRUPT, SPEAK_HINT, likely=likeliest))
        earliest += length
        latest = end
    if not candidates:
        return []
    return [next((c for c in candidates if c.likely), candidates[0])]


# ------------------------------------------------------------------------------------------- errors

AUTH_CODES = frozenset(
    {
        "UnauthorizedClientException",
        "ForbiddenException",
        "InvalidSignatureException",
        "AccessDenied",
        "AccessDeniedException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestTimeTooSkewed",
        "403",
        "401",
    }
)
THROTTLE_CODES = frozenset({"ThrottledClientException", "ThrottlingException", "SlowDown", "TooManyRequestsException"})
AUTH_HINT = (
    "check the profile's AWS credentials (aws_access_key_id/aws_secret_access_key, aws_profile or the AWS "
    "environment) and region"
)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def map_aws_error(exc: Exception, *, what: str, profile: str) -> CallplayError:
    """Turn a boto3/botocore failure into callplay's error (one line, a hint, the documented exit code)."""
    from botocore import exceptions as bx

    if isinstance(exc, CallplayError):
        return exc
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, what)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError):
        return ConfigError(
            f"{DISPLAY}: no usable AWS credentials for profile {profile!r} ({type(exc).__name__})",
            "set aws_access_key_id and aws_secret_access_key (secret via aws_secret_access_key_env or a 0600 "
            "file), aws_profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        )
    if isinstance(exc, bx.NoRegionError):
        return ConfigError(f"{DISPLAY}: no AWS region", "set region in the profile")
    if isinstance(exc, bx.ParamValidationError):
        return UsageError(f"{what}: {exc}", "check the call id and the profile's IDs")
    tried = retry.attempts_note(exc)
    if isinstance(exc, bx.SSLError):
        return ProviderUnavailable(f"{what}: TLS failed", "check the endpoint, or set ca_bundle for a private CA")
    if isinstance(exc, bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return ProviderUnavailable(
            f"{what}: timed out{tried}", retry.hint(exc, "try again; raise timeout in the profile if it persists")
        )
    if isinstance(exc, bx.ConnectionClosedError | bx.ResponseStreamingError):
        return ProviderUnavailable(
            f"{what}: the connection to AWS dropped ({type(exc).__name__}){tried}", retry.hint(exc, "try again")
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.HTTPClientError):
        return ProviderUnavailable(
            f"{what}: cannot reach AWS ({type(exc).__name__}){tried}",
            retry.hint(exc, "check the network, endpoint_url/s3_endpoint_url and region"),
        )
    if isinstance(exc, ValueError):  # e.g. a malformed endpoint URL
        return ConfigError(f"{what}: {exc}", "check endpoint_url and s3_endpoint_url in the profile")
    if isinstance(exc, bx.BotoCoreError):
        return ProviderUnavailable(f"{what}: {type(exc).__name__}", "try again")
    raise exc


def _client_error(exc: Any, what: str) -> CallplayError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).strip() or "no message"
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    detail = {"aws_code": code, "status": status}
    tried = retry.attempts_note(exc)
    if code in AUTH_CODES or status in (401, 403):
        return ProviderRejected(f"{what}: authentication failed ({code}: {message})", AUTH_HINT, detail=detail)
    if code in THROTTLE_CODES or status == 429:
        after = retry.retry_after_of(_headers(exc).get("retry-after"))
        fallback = f"retry in {math.ceil(after)} s" if after is not None else "wait a moment and try again"
        return ProviderUnavailable(f"{what}: throttled ({code}){tried}", retry.hint(exc, fallback), detail=detail)
    if status >= 500:
        return ProviderUnavailable(
            f"{what}: AWS failed ({status} {code}){tried}", retry.hint(exc, "try again later"), detail=detail
        )
    if code in ("NotFoundException", "NoSuchBucket", "NoSuchKey", "404"):
        return ProviderRejected(
            f"{what}: not found ({code}: {message})",
            "check sip_media_application_id and bucket, and that the call (TransactionId) is still up",
            detail=detail,
        )
    return ProviderRejected(f"{what}: {code or status}: {message}", "check the request and the profile", detail=detail)


def _headers(exc: Any) -> dict[str, str]:
    """A ClientError's response headers (botocore gives their names in lower case)."""
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders") or {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _failure(exc: Exception) -> retry.Failure | None:
    """What a failed AWS request means for retrying it (callplay/retry.py)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if _error_code(exc) in THROTTLE_CODES:
            status = 429  # some AWS APIs throttle with a 400: the code is what says so
        return retry.status_failure(status, _headers(exc).get("retry-after"))
    if isinstance(exc, bx.BotoCoreError):
        return retry.transport_failure(exc)
    return None


_CHECK: type[Provider] = ChimeProvider  # mypy checks the class against the protocol
