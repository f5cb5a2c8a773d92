"""The emulator's Azure Communication Services (ACS) Call Automation face.

Served at the root path under /calling/ (the SDK signs host + path, so a prefix would break the HMAC). It
checks HMAC-SHA256 like ACS (over the undecoded request target, the Host header and the hash of the raw body),
answers with ACS status codes and `{"error": {"code", "message"}}` bodies, validates play bodies against the
2026-03-12 REST definitions (schemas/acs-2026-03-12.schema.json, draft-4), and posts PlayStarted /
PlayCompleted / PlayFailed / PlayCanceled CloudEvents (a JSON array with one event) to the play's
operationCallbackUri, else the call's callbackUri.

Choices where ACS does not document its behaviour (or where an emulator must differ):
- Queueing: ACS queues play operations. A play that arrives while another ACS play on the call is active
  waits and starts when the earlier ones have ended (one runner per call plays them in order);
  `interruptCallMediaOperation: true` first cancels every active or queued ACS play (PlayCanceled each).
  cancelAllMediaOperations cancels the current play and the queued ones.
- Durations: a file lasts frames / rate of the downloaded audio (WAV 16 kHz mono 16-bit PCM, or MP3 with an
  ID3v2 tag; anything else is PlayFailed 8535, a failed download 8536); text about 15 characters per second
  (at least 0.5 s); SSML the same on its text with tags stripped, plus its <break> durations. Malformed SSML
  is PlayFailed 8565, empty text or SSML 8582. `loop: true` plays until cancelled.
- playSourceCacheId: successful downloads are cached per (cache id, URI) for the life of the world; failures
  are not cached, and a source without a cache id is fetched every time.
- Callback URLs: ACS requires HTTPS; the emulator also accepts http, because callplay's own receiver
  (`play --wait`) listens on plain http on 127.0.0.1. The callback's `Authorization: Bearer` JWT is an
  unsigned dummy (alg "none") with the real issuer, not an RS256 token from the ACS JWKS.
- Hangup (admin API): ACS sends no more events after CallDisconnected, so the playbacks that were active get
  no Play* event; CallDisconnected goes to the call's callbackUri and to their operationCallbackUris, so a
  waiting `play --wait` learns that the call ended.
- Auth is checked before anything else, then api-version (only 2026-03-12 is served: the bodies are checked
  against its definitions), then the call. Auth is the HMAC signature and then `x-ms-date`: an RFC 1123 date
  ("Wed, 13 Apr 2022 18:09:12 GMT", weekday included and right) at most 15 minutes either side of the
  emulator's clock, as Azure's HMAC scheme requires, so a captured request cannot be replayed later; either
  failure is 401 7509. start/stopMediaStreaming are idempotent (always 202 and an event).
- Hold and unhold (`POST {call}:hold` / `:unhold`, 200 with no body, as the SDK's `hold()`/`unhold()` send
  them) set the target participant's `isOnHold` in the participant list (and `on_hold` in the admin API's
  call); a target not in the call is 400 8523, like an unknown playTo. Both are idempotent. The hold music a
  `playSourceInfo` names is validated like a play source but not played, and no Hold* events are sent.
- A call's callbackUri can be given when the call is created through the admin API:
  `{"id": ..., "data": {"acs": {"callbackUri": "https://..."}}}`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import html
import io
import json
import logging
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from callplay.emulator.state import SimCall, SimItem, SimPlayback, StateListener, World

if TYPE_CHECKING:
    from callplay.emulator.app import EmulatorServer

log = logging.getLogger("callplay.emulator.acs")

API_VERSION = "2026-03-12"
CALL_PREFIX = "/calling/callConnections/"
SCHEMA_RESOURCE = "acs-2026-03-12.schema.json"
REQUIRED_SIGNED_HEADERS = ("x-ms-date", "host", "x-ms-content-sha256")
SIGNED_HEADERS_VALUE = ";".join(REQUIRED_SIGNED_HEADERS)
JWT_ISSUER = "https://acscallautomation.communication.azure.com"
EVENT_PREFIX = "Microsoft.Communication."
# Azure's HMAC scheme refuses a request whose x-ms-date is further than this from the server's clock.
MAX_DATE_SKEW_S = 15 * 60
# RFC 1123 (RFC 7231 IMF-fixdate) exactly as the SDK sends it: two-digit day, English names, GMT.
RFC1123_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT"
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STATUS_CODES = {400: "8523", 401: "7509", 403: "7504", 404: "8522", 405: "8520", 409: "8519", 412: "8583"}
CALL_STATES = {
    "unknown",
    "connecting",
    "connected",
    "transferring",
    "transferAccepted",
    "disconnecting",
    "disconnected",
}

# Result texts as ACS sends them (the 8508 typo included).
OK_RESULT = {"code": 200, "subCode": 0, "message": "Action completed successfully."}
CANCELED_RESULT = {"code": 400, "subCode": 8508, "message": "Action falied, the operation was cancelled."}
FORMAT_INVALID = (8535, "Action failed, file format is invalid.")
DOWNLOAD_FAILED = (8536, "Action failed, file could not be downloaded.")
EMPTY_TEXT = (8582, "Action failed, play source text or SSML is empty.")
BAD_SSML = (8565, "Action failed due to a bad request to Cognitive Services. Please check your input parameters.")

CHARS_PER_SECOND = 15.0
MIN_SPEECH_S = 0.5
# SSML <break strength=...> defaults (Azure Speech), in seconds.
BREAK_STRENGTH_S = {"none": 0.0, "x-weak": 0.25, "weak": 0.5, "medium": 0.75, "strong": 1.0, "x-strong": 1.25}


# ------------------------------------------------------------------------------------------ HMAC-SHA256


def content_hash(body: bytes) -> str:
    """x-ms-content-sha256: base64 of the SHA-256 of the raw body."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def hmac_b64(access_key: str, value: str) -> str:
    """base64(HMAC-SHA256(base64decode(key), utf8(value))), as the SDK's HMACCredentialsPolicy computes it."""
    digest = hmac.new(base64.b64decode(access_key), value.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign(access_key: str, method: str, path_and_query: str, date: str, host: str, body_hash: str) -> str:
    """The request signature ACS expects: HMAC-SHA256 over verb, path and query, and the signed headers."""
    string_to_sign = f"{method.upper()}\n{path_and_query}\n{date};{host};{body_hash}"
    return hmac_b64(access_key, string_to_sign)


def signed_headers(
    access_key: str, method: str, url: str, body: bytes = b"", *, date: str | None = None
) -> dict[str, str]:
    """The headers that authenticate one request to `url` (for raw HTTP clients and tests)."""
    parts = urlsplit(url)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    date = date or formatdate(usegmt=True)
    body_hash = content_hash(body)
    signature = sign(access_key, method, path_and_query, date, parts.netloc, body_hash)
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": body_hash,
        "Authorization": f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS_VALUE}&Signature={signature}",
    }


def verify(access_key: str, method: str, path_and_query: str, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the request is signed with `access_key`. `headers` has lower-case names (host included)."""
    fields = _auth_fields(headers.get("authorization", ""))
    if fields is None:
        return False
    names = [n.strip().lower() for n in fields.get("SignedHeaders", "").split(";")]
    if not set(REQUIRED_SIGNED_HEADERS) <= set(names) or any(n not in headers for n in names):
        return False
    if not _same(headers["x-ms-content-sha256"], content_hash(body)):
        return False  # the signature covers the claimed hash only: the body must match it
    string_to_sign = f"{method.upper()}\n{path_and_query}\n" + ";".join(headers[n] for n in names)
    try:
        expected = hmac_b64(access_key, string_to_sign)
    except (binascii.Error, ValueError):
        return False
    return _same(expected, fields.get("Signature", ""))


def date_problem(value: str | None, now: float | None = None) -> str | None:
    """Why an x-ms-date is not acceptable (missing, not RFC 1123, too far from now), or None."""
    if not value:
        return "the x-ms-date header is missing"
    if RFC1123_DATE.fullmatch(value) is None:
        return f"x-ms-date '{value}' is not an RFC 1123 date like 'Wed, 13 Apr 2022 18:09:12 GMT'"
    try:
        when = parsedate_to_datetime(value)
    except ValueError:
        return f"x-ms-date '{value}' is not a valid date"
    if WEEKDAYS[when.weekday()] != value[:3]:
        return f"x-ms-date '{value}' names the wrong day of the week"
    skew = when.timestamp() - (time.time() if now is None else now)
    if abs(skew) > MAX_DATE_SKEW_S:
        direction = "ahead of" if skew > 0 else "behind"
        return f"x-ms-date is {abs(skew) / 60:.0f} minutes {direction} the server's time (at most 15 allowed)"
    return None


def _auth_fields(authorization: str) -> dict[str, str] | None:
    scheme, _, params = authorization.partition(" ")
    if scheme != "HMAC-SHA256":
        return None
    # The signature is base64 and may end in "=": split each pair on its first "=" only.
    return dict(p.partition("=")[::2] for p in params.strip().split("&"))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ------------------------------------------------------------------------------------------- identifiers

TEAMS_USER_PREFIXES = ("8:orgid:", "8:dod:", "8:gcch:", "8:teamsvisitor:")
TEAMS_APP_PREFIXES = ("28:orgid:", "28:dod:", "28:gcch:", "28:dod-global:", "28:gcch-global:")
SUB_OBJECTS = ("communicationUser", "phoneNumber", "microsoftTeamsUser", "microsoftTeamsApp", "teamsExtensionUser")


def identifier_model(raw_id: str) -> dict[str, Any]:
    """A response identifier: `kind`, `rawId` and the sub-object the SDK deserializes."""
    out: dict[str, Any] = {"rawId": raw_id}
    if raw_id.startswith("4:"):
        return {"kind": "phoneNumber", **out, "phoneNumber": {"value": raw_id[2:]}}
    for prefix in TEAMS_APP_PREFIXES:
        if raw_id.startswith(prefix):
            cloud = prefix.split(":")[1].replace("orgid", "public").split("-")[0]
            app = {"appId": raw_id[len(prefix) :], "cloud": cloud}
            return {"kind": "microsoftTeamsApp", **out, "microsoftTeamsApp": app}
    for prefix in TEAMS_USER_PREFIXES:
        if raw_id.startswith(prefix):
            anonymous = prefix == "8:teamsvisitor:"
            cloud = "public" if anonymous or prefix == "8:orgid:" else prefix.split(":")[1]
            user = {"userId": raw_id[len(prefix) :], "isAnonymous": anonymous, "cloud": cloud}
            return {"kind": "microsoftTeamsUser", **out, "microsoftTeamsUser": user}
    if raw_id.startswith("8:"):
        return {"kind": "communicationUser", **out, "communicationUser": {"id": raw_id}}
    return {"kind": "unknown", **out}


def identifier_raw_id(model: Mapping[str, Any]) -> str:
    """The raw id a request identifier names; raises _AcsError when its parts disagree."""
    present = [name for name in SUB_OBJECTS if model.get(name) is not None]
    if len(present) > 1:
        raise _invalid(f"identifier has more than one of {', '.join(present)}")
    kind, raw_id = model.get("kind"), model.get("rawId")
    if kind not in (None, "unknown") and present and kind != present[0]:
        raise _invalid(f"identifier kind '{kind}' does not match its '{present[0]}' object")
    if not present:
        if not raw_id:
            raise _invalid("identifier has neither rawId nor an identifier object")
        return str(raw_id)
    name = present[0]
    if raw_id is None:
        return _raw_id_from(name, model[name])
    if not _raw_id_matches(name, model[name], str(raw_id)):
        raise _invalid(f"identifier rawId '{raw_id}' does not match its '{name}' object")
    return str(raw_id)


def _raw_id_from(name: str, sub: Mapping[str, Any]) -> str:
    if name == "communicationUser":
        return str(sub["id"])
    if name == "phoneNumber":
        return "4:anonymous" if sub.get("isAnonymous") else f"4:{sub['value']}"
    if name == "microsoftTeamsUser":
        prefix = "8:teamsvisitor:" if sub.get("isAnonymous") else _cloud_prefix("8", sub.get("cloud"))
        return prefix + str(sub["userId"])
    if name == "microsoftTeamsApp":
        return _cloud_prefix("28", sub.get("cloud")) + str(sub["appId"])
    acs = {"dod": "8:dod-acs:", "gcch": "8:gcch-acs:"}.get(str(sub.get("cloud")), "8:acs:")
    return f"{acs}{sub['resourceId']}_{sub['tenantId']}_{sub['userId']}"


def _cloud_prefix(head: str, cloud: Any) -> str:
    return f"{head}:{cloud}:" if cloud in ("dod", "gcch") else f"{head}:orgid:"


def _raw_id_matches(name: str, sub: Mapping[str, Any], raw_id: str) -> bool:
    if name == "phoneNumber":
        # The raw id may carry an asserted id after "_" (4:+14255550123_abc) or be 4:anonymous.
        value = f"4:{sub.get('value')}"
        return raw_id in (value, "4:anonymous") or raw_id.startswith(value + "_")
    return raw_id == _raw_id_from(name, sub)


# ------------------------------------------------------------------------------------------- validation


class _AcsError(Exception):
    """A synchronous ACS error answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(what: str) -> _AcsError:
    return _AcsError(400, "8523", f"Invalid request: {what}")


@cache
def _schema_document() -> dict[str, Any]:
    from importlib.resources import files

    text = files("callplay.emulator.schemas").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return dict(json.loads(text))


@cache
def _validator(definition: str) -> Any:
    from jsonschema import Draft4Validator

    # The document is the root, so its internal "#/definitions/..." references resolve; in draft 4 the
    # root's other keywords are ignored next to "$ref".
    return Draft4Validator({**_schema_document(), "$ref": f"#/definitions/{definition}"})


def check_schema(definition: str, body: Any) -> None:
    """Raise 8523 naming the first problem when `body` does not match the REST definition."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(definition).iter_errors(body))
    if error is None:
        return
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    raise _invalid(f"{where}: {error.message}" if where else error.message)


def parse_body(raw: bytes, definition: str, *, allow_empty: bool = False) -> dict[str, Any]:
    if not raw.strip() and allow_empty:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("the body is not valid JSON") from None
    check_schema(definition, body)
    return dict(body)


def check_play(body: Mapping[str, Any], call: SimCall) -> list[str]:
    """What the schema cannot say about a PlayRequest; returns the playTo raw ids."""
    if not body["playSources"]:
        raise _invalid("playSources must not be empty")
    for index, source in enumerate(body["playSources"]):
        _check_source(index, source)
    targets = [identifier_raw_id(model) for model in body.get("playTo", [])]
    missing = [t for t in targets if t not in call.participants]
    if missing:
        raise _invalid(f"playTo participant {missing[0]} is not in call {call.id}")
    uri = body.get("operationCallbackUri")
    if uri is not None and not _is_http_url(uri):
        raise _invalid(f"operationCallbackUri '{uri}' is not an absolute http(s) URI")
    return targets


def _check_source(index: int, source: Mapping[str, Any]) -> None:
    kind = source["kind"]
    extra = [k for k in ("file", "text", "ssml") if k != kind and k in source]
    if kind not in source:
        raise _invalid(f"playSources[{index}] of kind '{kind}' has no '{kind}' object")
    if extra:
        raise _invalid(f"playSources[{index}] of kind '{kind}' also has a '{extra[0]}' object")
    if kind == "file" and not _is_http_url(source["file"]["uri"]):
        raise _invalid(f"playSources[{index}].file.uri is not an absolute http(s) URI")


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# ---------------------------------------------------------------------------------------------- durations


class PlayFailure(Exception):
    """A play source that cannot be played: becomes a PlayFailed event."""

    def __init__(self, sub_code: int, message: str, index: int = 0) -> None:
        super().__init__(message)
        self.sub_code, self.message, self.index = sub_code, message, index


def probe_audio(data: bytes) -> float:
    """Seconds of audio in a file ACS accepts; PlayFailure 8535 for any other content."""
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(data))
    except Exception:  # libsndfile: not audio, truncated header, ...
        raise PlayFailure(*FORMAT_INVALID) from None
    if info.format == "MP3":
        ok = data[:3] == b"ID3"  # ACS plays MP3 with an ID3v2 tag only
    else:
        ok = (
            info.format in ("WAV", "WAVEX")
            and info.subtype == "PCM_16"
            and info.channels == 1
            and info.samplerate == 16000
        )
    if not ok or info.samplerate <= 0:
        raise PlayFailure(*FORMAT_INVALID)
    return float(info.frames) / float(info.samplerate)


def text_seconds(text: str) -> float:
    """Speaking time of plain text; PlayFailure 8582 when there is nothing to say."""
    if not text.strip():
        raise PlayFailure(*EMPTY_TEXT)
    return max(MIN_SPEECH_S, len(" ".join(text.split())) / CHARS_PER_SECOND)


def ssml_seconds(ssml: str) -> float:
    """Speaking time of SSML: its text (tags stripped) plus its <break> pauses."""
    import xml.etree.ElementTree as ET

    if not ssml.strip():
        raise PlayFailure(*EMPTY_TEXT)
    try:
        ET.fromstring(ssml)
    except ET.ParseError:
        raise PlayFailure(*BAD_SSML) from None
    pauses = sum(_break_seconds(attrs) for attrs in re.findall(r"<break\b([^>]*)>", ssml))
    words = " ".join(html.unescape(re.sub(r"<[^>]*>", " ", ssml)).split())
    if not words:
        if pauses <= 0:
            raise PlayFailure(*EMPTY_TEXT)
        return pauses
    return max(MIN_SPEECH_S, len(words) / CHARS_PER_SECOND) + pauses


def _break_seconds(attrs: str) -> float:
    timed = re.search(r"""time\s*=\s*["']\s*([\d.]+)\s*(ms|s)\s*["']""", attrs)
    if timed:
        value = float(timed.group(1))
        return value / 1000 if timed.group(2) == "ms" else value
    strength = re.search(r"""strength\s*=\s*["']([\w-]+)["']""", attrs)
    return BREAK_STRENGTH_S.get(strength.group(1) if strength else "medium", BREAK_STRENGTH_S["medium"])


async def download(uri: str) -> bytes:
    """Fetch a play source like ACS does; PlayFailure 8536 on any failure to get a 2xx body."""
    import httpx

    try:
        # verify=False: emulator users host prompts on local servers with their own certificates.
        async with httpx.AsyncClient(timeout=10.0, verify=False, follow_redirects=True) as client:
            resp = await client.get(uri)
    except httpx.HTTPError:
        raise PlayFailure(*DOWNLOAD_FAILED) from None
    if not resp.is_success:
        raise PlayFailure(*DOWNLOAD_FAILED)
    return resp.content


# ----------------------------------------------------------------------------------------------- events


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def dummy_jwt(audience: str) -> str:
    """An unsigned (alg "none") stand-in for the RS256 token ACS puts on its callbacks."""
    now = int(time.time())
    header = {"alg": "none", "typ": "JWT"}
    claims = {"iss": JWT_ISSUER, "aud": audience, "iat": now, "nbf": now, "exp": now + 300}
    parts = [_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    return ".".join(parts) + "."


def cloud_event(call: SimCall, event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """One ACS callback CloudEvent (CloudEvents 1.0, type Microsoft.Communication.*)."""
    acs = _acs_data(call)
    where = f"calling/callConnections/{call.id}"
    return {
        "id": str(uuid.uuid4()),
        "source": where,
        "subject": where,
        "type": EVENT_PREFIX + event,
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "time": datetime.now(UTC).isoformat(),
        "data": {
            "version": API_VERSION,
            "callConnectionId": call.id,
            "serverCallId": acs["serverCallId"],
            "correlationId": acs["correlationId"],
            **data,
            "publicEventType": EVENT_PREFIX + event,
        },
    }


def _acs_data(call: SimCall) -> dict[str, Any]:
    """This face's per-call state, kept in SimCall.data["acs"] (JSON-friendly: the admin API shows it)."""
    acs: dict[str, Any] = call.data.setdefault("acs", {})
    if "serverCallId" not in acs:
        acs["serverCallId"] = _b64url(f"https://emulator.callplay.local/conv/{uuid.uuid4()}?i=1".encode())
    acs.setdefault("correlationId", str(uuid.uuid4()))
    acs.setdefault(
        "mediaStreamingSubscription",
        {"id": str(uuid.uuid4()), "state": "disabled", "subscribedContentTypes": ["audio"]},
    )
    return acs


# -------------------------------------------------------------------------------------------------- face


@dataclass
class _PlayOp:
    """One accepted play: its playback, its sources and where its events go."""

    playback: SimPlayback
    sources: list[dict[str, Any]]
    context: str | None
    callback: str | None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Line:
    """The plays of one call, in order: ACS plays them one after the other."""

    queue: deque[_PlayOp] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


Handler = Callable[[Request, SimCall], Awaitable[Response]]


class AcsFace:
    """ACS Call Automation (api-version 2026-03-12) over the shared World."""

    name = "acs"

    def __init__(self) -> None:
        self.world = World()
        self._lines: dict[str, _Line] = {}
        self._cache: dict[tuple[str, str], float] = {}
        self._outbox: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the Face protocol ---------------------------------------------------------------------------

    def bind(self, world: World) -> None:
        self.world = world
        creds = world.credentials.setdefault("acs", {})
        if not creds.get("access_key"):
            creds["access_key"] = base64.b64encode(secrets.token_bytes(32)).decode()
        creds.setdefault("resource_id", str(uuid.uuid4()))  # the callback JWT's audience

    @property
    def access_key(self) -> str:
        return str(self.world.credentials["acs"]["access_key"])

    def owns(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return path == "/calling" or path.startswith("/calling/")

    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return self._asgi

    def error(self, status: int, message: str) -> Response:
        return _error(status, STATUS_CODES.get(status, str(status)), message)

    def profile(self, server: EmulatorServer) -> dict[str, Any]:
        # Plain http on purpose: CallAutomationClient(endpoint, AzureKeyCredential) works over http.
        return {"provider": "acs", "endpoint": server.http_url, "access_key": self.access_key}

    # -- request handling ----------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._handle(request)
        except _AcsError as exc:
            response = _error(exc.status, exc.code, exc.message)
        except Exception:  # a bug in the face must still answer in ACS shape
            log.exception("ACS face failed on %s %s", request.method, scope.get("path"))
            response = _error(500, "9999", "Unknown error.")
        request_id = request.headers.get("x-ms-client-request-id")
        if request_id:
            response.headers["x-ms-client-request-id"] = request_id
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        raw_path = _raw_path(request.scope)
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        target = raw_path + (f"?{query}" if query else "")
        if not verify(self.access_key, request.method, target, headers, body):
            raise _AcsError(401, "7509", "HMAC-SHA256 validation failed")
        stale = date_problem(headers.get("x-ms-date"))
        if stale is not None:  # checked once the signature holds, so the date is the one that was signed
            raise _AcsError(401, "7509", f"HMAC-SHA256 validation failed: {stale}")
        _check_api_version(request, raw_path)
        call_id, handler = self._route(request.method, raw_path)
        call = self.world.get_call(call_id)
        if call is None:
            raise _AcsError(404, "8522", "Call not found.")
        if request.method == "POST" and call.state == "disconnected":
            raise _AcsError(400, "8528", "Action is not supported, the call has been terminated.")
        return await handler(request, call)

    def _route(self, method: str, raw_path: str) -> tuple[str, Handler]:
        if not raw_path.startswith(CALL_PREFIX):
            raise _AcsError(404, "8522", f"Resource not found: {raw_path} is not emulated.")
        rest = raw_path[len(CALL_PREFIX) :]
        # The SDK percent-encodes the call id (":" and "/" included), so the first literal ":" or "/" ends it.
        cut = min((i for i in (rest.find(":"), rest.find("/")) if i >= 0), default=len(rest))
        call_id, suffix = unquote(rest[:cut]), rest[cut:]
        routes: dict[tuple[str, str], Handler] = {
            ("GET", ""): self._get_call,
            ("GET", "/participants"): self._participants,
            ("POST", ":play"): self._play,
            ("POST", ":cancelAllMediaOperations"): self._cancel_all,
            ("POST", ":startMediaStreaming"): self._start_streaming,
            ("POST", ":stopMediaStreaming"): self._stop_streaming,
            ("POST", ":hold"): self._hold,
            ("POST", ":unhold"): self._unhold,
        }
        handler = routes.get((method, suffix))
        if not call_id or handler is None:
            what = f"{method} {suffix or '(call)'}"
            raise _AcsError(405, "8520", f"Functionality not supported at this time: {what} is not emulated.")
        return call_id, handler

    # -- GET -----------------------------------------------------------------------------------------

    async def _get_call(self, request: Request, call: SimCall) -> Response:
        acs = _acs_data(call)
        body: dict[str, Any] = {
            "callConnectionId": call.id,
            "serverCallId": acs["serverCallId"],
            "targets": [identifier_model(p) for p in call.participants],
            "callConnectionState": call.state if call.state in CALL_STATES else "unknown",
            "correlationId": acs["correlationId"],
            "mediaStreamingSubscription": acs["mediaStreamingSubscription"],
        }
        if acs.get("callbackUri"):
            body["callbackUri"] = acs["callbackUri"]
        return JSONResponse(body)

    async def _participants(self, request: Request, call: SimCall) -> Response:
        value = [
            {"identifier": identifier_model(raw), "isMuted": False, "isOnHold": raw in call.on_hold}
            for raw in call.participants
        ]
        return JSONResponse({"value": value})  # no nextLink: the SDK follows any non-empty one

    # -- play ----------------------------------------------------------------------------------------

    async def _play(self, request: Request, call: SimCall) -> Response:
        body = parse_body(await request.body(), "PlayRequest")
        targets = check_play(body, call)
        context = body.get("operationContext")
        callback = body.get("operationCallbackUri") or _acs_data(call).get("callbackUri")
        loop = bool(body.get("playOptions", {}).get("loop", False))
        interrupt = bool(body.get("interruptCallMediaOperation", False))
        playback = self.world.new_playback(
            call,
            self.name,
            context or f"acs-{uuid.uuid4().hex[:12]}",
            [],
            loop=0 if loop else 1,
            targets=targets,
            detail={
                "operationContext": context,
                "callbackUri": callback,
                "interrupt": interrupt,
                "sources": body["playSources"],
            },
        )
        op = _PlayOp(playback, list(body["playSources"]), context, callback)
        playback.listener = self._listener(call, op)
        if interrupt:
            await self._cancel_active(call, keep=playback)
        line = self._lines.setdefault(call.id, _Line())
        line.queue.append(op)
        if line.task is None or line.task.done():
            line.task = self._spawn(self._run_line(call, line))
        return Response(status_code=202)

    async def _cancel_all(self, request: Request, call: SimCall) -> Response:
        await self._cancel_active(call)
        return Response(status_code=202)

    async def _cancel_active(self, call: SimCall, keep: SimPlayback | None = None) -> None:
        for playback in call.active_playbacks(self.name):
            if playback is not keep:
                await playback.stop("canceled", {})

    async def _run_line(self, call: SimCall, line: _Line) -> None:
        """Play the call's queued operations one after the other."""
        while line.queue:
            op = line.queue[0]
            try:
                await self._play_one(op)
            except Exception:  # never wedge the line behind one broken play
                log.exception("ACS play %s failed", op.playback.handle)
            finally:
                line.queue.popleft()

    async def _play_one(self, op: _PlayOp) -> None:
        playback = op.playback
        if playback.state != "created":
            return  # cancelled while queued
        try:
            items = [await self._item(index, source) for index, source in enumerate(op.sources)]
        except PlayFailure as failure:
            if playback.state == "created":
                await playback.fail(
                    {"subCode": failure.sub_code, "message": failure.message, "failedPlaySourceIndex": failure.index}
                )
            return
        if playback.state != "created":
            return  # cancelled while its audio was being fetched
        playback.items = items
        await playback.start()
        await op.done.wait()

    async def _item(self, index: int, source: Mapping[str, Any]) -> SimItem:
        try:
            kind = source["kind"]
            if kind == "file":
                uri = source["file"]["uri"]
                seconds = await self._file_seconds(uri, source.get("playSourceCacheId"))
                return SimItem("audio", seconds, {"uri": uri})
            if kind == "text":
                text = source["text"]["text"]
                return SimItem("tts", text_seconds(text), {"text": text})
            ssml = source["ssml"]["ssmlText"]
            return SimItem("ssml", ssml_seconds(ssml), {"ssml": ssml})
        except PlayFailure as failure:
            failure.index = index
            raise

    async def _file_seconds(self, uri: str, cache_id: str | None) -> float:
        key = (cache_id, uri) if cache_id else None
        if key is not None and key in self._cache:
            return self._cache[key]
        seconds = probe_audio(await download(uri))
        if key is not None:
            self._cache[key] = seconds
        return seconds

    # -- hold -----------------------------------------------------------------------------------------

    async def _hold(self, request: Request, call: SimCall) -> Response:
        body = parse_body(await request.body(), "HoldRequest")
        if "playSourceInfo" in body:
            _check_source(0, body["playSourceInfo"])
        call.on_hold.add(self._hold_target(body, call))
        return Response(status_code=200)

    async def _unhold(self, request: Request, call: SimCall) -> Response:
        body = parse_body(await request.body(), "UnholdRequest")
        call.on_hold.discard(self._hold_target(body, call))
        return Response(status_code=200)

    def _hold_target(self, body: Mapping[str, Any], call: SimCall) -> str:
        """The raw id of the participant a hold/unhold names; 8523 when it is not in the call."""
        uri = body.get("operationCallbackUri")
        if uri is not None and not _is_http_url(uri):
            raise _invalid(f"operationCallbackUri '{uri}' is not an absolute http(s) URI")
        target = identifier_raw_id(body["targetParticipant"])
        if target not in call.participants:
            raise _invalid(f"targetParticipant {target} is not in call {call.id}")
        return target

    # -- media streaming -----------------------------------------------------------------------------

    async def _start_streaming(self, request: Request, call: SimCall) -> Response:
        return await self._streaming(request, call, started=True)

    async def _stop_streaming(self, request: Request, call: SimCall) -> Response:
        return await self._streaming(request, call, started=False)

    async def _streaming(self, request: Request, call: SimCall, *, started: bool) -> Response:
        definition = "StartMediaStreamingRequest" if started else "StopMediaStreamingRequest"
        body = parse_body(await request.body(), definition, allow_empty=True)
        uri = body.get("operationCallbackUri")
        if uri is not None and not _is_http_url(uri):
            raise _invalid(f"operationCallbackUri '{uri}' is not an absolute http(s) URI")
        acs = _acs_data(call)
        acs["mediaStreamingSubscription"]["state"] = "active" if started else "inactive"
        word = "Started" if started else "Stopped"
        data: dict[str, Any] = {
            **({"operationContext": body["operationContext"]} if body.get("operationContext") else {}),
            "resultInformation": dict(OK_RESULT),
            "mediaStreamingUpdate": {
                "contentType": "Audio",
                "mediaStreamingStatus": f"mediaStreaming{word}",
                "mediaStreamingStatusDetails": f"subscription{word}",
            },
        }
        self._send(uri or acs.get("callbackUri"), [cloud_event(call, f"MediaStreaming{word}", data)])
        return Response(status_code=202)

    # -- playback state -> callbacks -----------------------------------------------------------------

    def _listener(self, call: SimCall, op: _PlayOp) -> StateListener:
        async def on_state(playback: SimPlayback, state: str, info: dict[str, Any]) -> None:
            if playback.active:
                if state == "playing":
                    self._play_event(call, op, "PlayStarted", {"resultInformation": dict(OK_RESULT)})
                return
            op.done.set()
            if info.get("reason") == "hangup":
                self._call_ended(call, op)
            elif state == "finished":
                self._play_event(call, op, "PlayCompleted", {"resultInformation": dict(OK_RESULT)})
            elif state == "failed":
                self._play_event(call, op, "PlayFailed", _failed_data(info))
            else:
                self._play_event(call, op, "PlayCanceled", {"resultInformation": dict(CANCELED_RESULT)})

        return on_state

    def _play_event(self, call: SimCall, op: _PlayOp, event: str, data: dict[str, Any]) -> None:
        context = {"operationContext": op.context} if op.context else {}
        self._send(op.callback, [cloud_event(call, event, {**context, **data})])

    def _call_ended(self, call: SimCall, op: _PlayOp) -> None:
        acs = _acs_data(call)
        data = {"resultInformation": {"code": 200, "subCode": 7000, "message": "The conversation has ended."}}
        sent = acs.setdefault("disconnectedSentTo", [])  # one CallDisconnected per receiver
        for url in (acs.get("callbackUri"), op.callback):
            if url and url not in sent:
                sent.append(url)
                self._send(url, [cloud_event(call, "CallDisconnected", data)])

    def _send(self, url: str | None, payload: list[dict[str, Any]]) -> None:
        """Deliver in the background, in order per URL, so a slow receiver never holds up a request."""
        if not url:
            log.info("ACS %s for %s not sent: no callback URI", payload[0]["type"], payload[0]["subject"])
            return
        previous = self._outbox.get(url)
        task = self._spawn(self._deliver(previous, url, payload))
        self._outbox[url] = task

    async def _deliver(self, previous: asyncio.Task[None] | None, url: str, payload: list[dict[str, Any]]) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        audience = str(self.world.credentials["acs"].get("resource_id", ""))
        kind = "acs:" + str(payload[0]["type"]).removeprefix(EVENT_PREFIX)
        auth = {"Authorization": f"Bearer {dummy_jwt(audience)}"}
        await self.world.post(url, payload, kind=kind, headers=auth)
        if self._outbox.get(url) is asyncio.current_task():
            del self._outbox[url]

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks weakly
        task.add_done_callback(self._tasks.discard)
        return task


# -------------------------------------------------------------------------------------------------- helpers


def _failed_data(info: Mapping[str, Any]) -> dict[str, Any]:
    sub_code = int(info.get("subCode", 8511))
    return {
        "resultInformation": {
            "code": int(info.get("code", 400)),
            "subCode": sub_code,
            "message": str(info.get("message", "Action failed, play prompt failed.")),
        },
        "failedPlaySourceIndex": int(info.get("failedPlaySourceIndex", 0)),
    }


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _raw_path(scope: Scope) -> str:
    """The request path as sent (percent-encoding kept), which is what the SDK signed."""
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1").split("?", 1)[0]
    return quote(str(scope.get("path", "")), safe="/:")


def _check_api_version(request: Request, raw_path: str) -> None:
    version = request.query_params.get("api-version")
    if not version:
        raise _AcsError(400, "ApiVersionUnspecified", "An API version is required, but was not specified.")
    if version != API_VERSION:
        raise _AcsError(
            400,
            "UnsupportedApiVersion",
            f"The HTTP resource that matches the request URI '{raw_path}' does not support the API version "
            f"'{version}'. The emulator serves api-version {API_VERSION}.",
        )


__all__ = [
    "API_VERSION",
    "AcsFace",
    "PlayFailure",
    "check_schema",
    "content_hash",
    "dummy_jwt",
    "hmac_b64",
    "identifier_model",
    "identifier_raw_id",
    "probe_audio",
    "sign",
    "signed_headers",
    "ssml_seconds",
    "text_seconds",
    "verify",
]
