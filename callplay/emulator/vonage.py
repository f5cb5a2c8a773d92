"""The Vonage Voice API face of the emulator: `/v1/calls` over TLS, RS256 application JWTs, RFC 7807 errors.

What it answers, and the choices made where Vonage documents nothing:
- HTTPS only (the SDK hard-codes https); over plain http every request gets 403 problem+json.
- Every request needs `Authorization: Bearer <JWT>` signed RS256 with the application's private key, with an
  `application_id` claim naming this application and an `iat` not in the future; anything else is 401. As on
  Vonage, `exp` is optional: a token without one is good for 15 minutes after `iat`, and no token is accepted
  more than 24 hours after its `iat`, whatever its `exp` says (each with 5 s leeway).
- `PUT /v1/calls/{uuid}/stream` fetches the first `stream_url` before answering to learn its length; a fetch
  or format failure still answers 200 (the real API reports nothing) and the failure lands in the call log.
  Further URLs in `stream_url` are recorded and ignored (multi-URL play is not documented).
- A second `PUT .../stream` (or `.../talk`) while one plays replaces it (not documented by Vonage).
- `DELETE .../stream` or `.../talk` when nothing of that kind plays answers 404 problem+json.
- Vonage sends no stream/talk events, so neither does the emulator. It does send call status events
  (started, ringing, answered, completed) to the `event_url` of calls created with `POST /v1/calls` (or the
  application's `event_url` in `world.credentials["vonage"]`), signed like Vonage's signed webhooks:
  `Authorization: Bearer <HS256 JWT>` with the signature secret and a `payload_hash` claim.
- Every request about a known call is appended to that call's log, so tests can see what was (not) sent.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from callplay.emulator.app import header
from callplay.emulator.state import SimCall, SimItem, World
from callplay.fileio import write_bytes

if TYPE_CHECKING:
    from callplay.emulator.app import EmulatorServer

ERRORS_URL = "https://developer.nexmo.com/api-errors"
TITLES = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    429: ("throttled", "Too Many Requests"),
    500: ("internal-error", "Internal Server Error"),
    502: ("bad-gateway", "Bad Gateway"),
    503: ("service-unavailable", "Service Unavailable"),
}
JWT_LEEWAY_S = 5
JWT_DEFAULT_LIFETIME_S = 15 * 60  # a token without exp expires this long after its iat
JWT_MAX_AGE_S = 24 * 60 * 60  # no token is accepted longer than this after its iat
FETCH_TIMEOUT_S = 10.0
MAX_MEDIA_BYTES = 50 * 1024 * 1024
TTS_CHARS_PER_S = 15.0  # simulated speaking rate: sets how long a talk plays
CALL_PATH = re.compile(r"^/v1/calls/([^/]+)")
LANGUAGES = frozenset(
    (
        "ar", "ca-ES", "cmn-CN", "cmn-TW", "cs-CZ", "cy-GB", "da-DK", "de-DE", "el-GR", "en-AU", "en-GB",
        "en-GB-WLS", "en-IN", "en-US", "en-ZA", "es-ES", "es-MX", "es-US", "eu-ES", "fi-FI", "fil-PH", "fr-CA",
        "fr-FR", "he-IL", "hi-IN", "hu-HU", "id-ID", "is-IS", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL",
        "no-NO", "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sv-SE", "th-TH", "tr-TR", "uk-UA",
        "vi-VN", "yue-CN",
    )
)  # fmt: skip
CALL_ACTIONS = frozenset({"hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer"})
STATUS_OF_STATE = {"connected": "answered", "disconnected": "completed"}


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 7807 body the way Vonage sends them."""
    slug, title = TITLES.get(status, ("error", "Error"))
    body = {"type": f"{ERRORS_URL}#{slug}", "title": title, "detail": detail, **extra, "instance": str(uuid.uuid4())}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class BadBody(Exception):
    """A request body that fails validation: 400 with `invalid_parameters`."""

    def __init__(self, invalid: list[dict[str, str]]) -> None:
        super().__init__("invalid body")
        self.invalid = invalid


# ------------------------------------------------------------------------------------------ key material


def _new_key_pair() -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM) of a fresh RSA 2048 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _write_private(path: Path, pem: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, pem.encode(), secret=True)  # 0600 from the first byte, and whole


# -------------------------------------------------------------------------------------- body validation


def _loop(body: dict[str, Any], bad: list[dict[str, str]]) -> int:
    loop = body.get("loop", 1)
    if isinstance(loop, bool) or not isinstance(loop, int) or loop < 0:
        bad.append({"name": "loop", "reason": "must be an integer >= 0 (0 plays until stopped)"})
        return 1
    return loop


def _level(body: dict[str, Any], bad: list[dict[str, str]]) -> float:
    raw = body.get("level", 0)
    try:
        if isinstance(raw, bool):
            raise ValueError
        level = float(raw)
    except (TypeError, ValueError):
        level = math.nan
    if not -1.0 <= level <= 1.0:
        bad.append({"name": "level", "reason": "must be a number from -1 to 1"})
        return 0.0
    return level


def parse_stream_body(body: dict[str, Any]) -> tuple[list[str], int, float]:
    bad: list[dict[str, str]] = []
    urls = body.get("stream_url")
    ok_urls = (
        isinstance(urls, list)
        and bool(urls)
        and all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls)
    )
    if not ok_urls:
        bad.append({"name": "stream_url", "reason": "must be an array of http(s) URLs"})
    loop, level = _loop(body, bad), _level(body, bad)
    if bad:
        raise BadBody(bad)
    return list(urls or []), loop, level


def parse_talk_body(body: dict[str, Any]) -> tuple[dict[str, Any], int, float]:
    bad: list[dict[str, str]] = []
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        bad.append({"name": "text", "reason": "is required and must be a non-empty string"})
    language = body.get("language")
    if language is not None and language not in LANGUAGES:
        bad.append({"name": "language", "reason": "is not a supported language code"})
    style = body.get("style")
    if style is not None and (isinstance(style, bool) or not isinstance(style, int) or style < 0):
        bad.append({"name": "style", "reason": "must be an integer >= 0"})
    premium = body.get("premium")
    if premium is not None and not isinstance(premium, bool):
        bad.append({"name": "premium", "reason": "must be a boolean"})
    voice_name = body.get("voice_name")
    if voice_name is not None and not isinstance(voice_name, str):
        bad.append({"name": "voice_name", "reason": "must be a string"})
    loop, level = _loop(body, bad), _level(body, bad)
    if bad:
        raise BadBody(bad)
    talk = {k: body[k] for k in ("text", "language", "style", "premium", "voice_name") if body.get(k) is not None}
    return talk, loop, level


def talk_seconds(text: str) -> float:
    spoken = re.sub(r"<[^>]*>", " ", text)  # SSML tags are not spoken
    return max(0.5, len(" ".join(spoken.split())) / TTS_CHARS_PER_S)


def _phone(participant: str) -> str | None:
    return participant[3:] if participant.startswith("4:+") else None


def _now_text() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# ---------------------------------------------------------------------------------------------- the face


class VonageFace:
    """Emulates the parts of the Vonage Voice API callplay uses (and what runbooks around it need)."""

    name = "vonage"

    def __init__(self) -> None:
        self.world: World | None = None
        self._private_pem: str | None = None
        self._key_path: Path | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- wiring ------------------------------------------------------------------------------------------

    def bind(self, world: World) -> None:
        """Accept credentials already in the world (application_id + public_key), else make a new application."""
        self.world = world
        creds = world.credentials.get(self.name) or {}
        if not (creds.get("application_id") and creds.get("public_key")):
            self._private_pem, public = _new_key_pair()
            creds = {"application_id": str(uuid.uuid4()), "public_key": public}
        else:
            self._private_pem = creds.pop("private_key", None)
        creds.setdefault("signature_secret", secrets.token_urlsafe(24))
        creds.setdefault("api_key", "emulator")
        creds.setdefault("event_url", None)
        world.credentials[self.name] = creds

    @property
    def creds(self) -> dict[str, Any]:
        return self._world.credentials[self.name]

    @property
    def _world(self) -> World:
        if self.world is None:
            raise RuntimeError("VonageFace used before bind()")
        return self.world

    def owns(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return path == "/v1/calls" or path.startswith("/v1/calls/")

    def error(self, status: int, message: str) -> Response:
        return problem(status, message)

    def profile(self, server: EmulatorServer) -> dict[str, Any]:
        """The `emulator-vonage` profile; writes the application's private key (0600) for it."""
        if server.https_url is None or server.tls is None:
            raise RuntimeError("the Vonage face needs the emulator's TLS port: the Vonage SDK only speaks https")
        if self._private_pem is None:
            raise RuntimeError("the Vonage face was given a public key only: no private key to write a profile")
        if self._key_path is None:
            self._key_path = server.key_dir() / "vonage-private.key"
            _write_private(self._key_path, self._private_pem)
        return {
            "provider": "vonage",
            "application_id": self.creds["application_id"],
            "private_key": str(self._key_path),
            "api_host": _tls_host(server.https_url),
            "ca_file": str(server.tls.ca_file),
            "signature_secret": self.creds["signature_secret"],
        }

    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        router = Starlette(
            routes=[
                Route("/v1/calls", self.list_calls, methods=["GET"]),
                Route("/v1/calls", self.create_call, methods=["POST"]),
                Route("/v1/calls/{uuid}", self.get_call, methods=["GET"]),
                Route("/v1/calls/{uuid}", self.update_call, methods=["PUT"]),
                Route("/v1/calls/{uuid}/stream", self.start_stream, methods=["PUT"]),
                Route("/v1/calls/{uuid}/stream", self.stop_stream, methods=["DELETE"]),
                Route("/v1/calls/{uuid}/talk", self.start_talk, methods=["PUT"]),
                Route("/v1/calls/{uuid}/talk", self.stop_talk, methods=["DELETE"]),
            ],
            exception_handlers={HTTPException: self._http_exception},  # type: ignore[dict-item]
        )

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            seen: dict[str, int] = {}

            async def recording_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    seen["status"] = int(message["status"])
                await send(message)

            if scope.get("scheme") != "https":
                resp: Response = problem(403, "The Voice API is served over https only: use https")
                await resp(scope, receive, recording_send)
            elif (reason := self.auth_failure(scope)) is not None:
                await problem(401, f"You did not provide correct credentials: {reason}")(scope, receive, recording_send)
            else:
                await router(scope, receive, recording_send)
            self._log_request(scope, seen.get("status"))

        return asgi

    async def _http_exception(self, request: Request, exc: HTTPException) -> Response:
        return problem(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")

    # -- auth --------------------------------------------------------------------------------------------

    def auth_failure(self, scope: Scope) -> str | None:
        """Why the request's application JWT is not acceptable, or None when it is."""
        import jwt

        auth = header(scope, "authorization")
        if not auth.startswith("Bearer "):
            return "no Bearer token in the Authorization header"
        try:
            claims = jwt.decode(
                auth[len("Bearer ") :].strip(),
                self.creds["public_key"],
                algorithms=["RS256"],
                options={"require": ["iat", "application_id"]},
                leeway=JWT_LEEWAY_S,
            )
        except jwt.ExpiredSignatureError:
            return "the JWT has expired"
        except jwt.ImmatureSignatureError:
            return "the JWT is issued in the future"
        except jwt.MissingRequiredClaimError as exc:
            return f"the JWT has no {exc.claim} claim"
        except jwt.InvalidSignatureError:
            return "the JWT is not signed with this application's private key"
        except jwt.InvalidTokenError:
            return "the JWT is malformed or not RS256"
        if claims.get("application_id") != self.creds["application_id"]:
            return "the JWT is for another application"
        return _age_problem(claims, time.time())

    # -- calls -------------------------------------------------------------------------------------------

    def _call_or_404(self, request: Request) -> SimCall | Response:
        call_id = request.path_params["uuid"]
        call = self._world.get_call(call_id)
        if call is None:
            return problem(404, f"Call {call_id} was not found")
        return call

    def call_info(self, call: SimCall) -> dict[str, Any]:
        """The GET call resource, with every field the SDK's CallInfo requires."""
        data = self._data(call)
        status = data.get("status_override") or STATUS_OF_STATE.get(call.state, call.state)
        numbers = [n for n in (_phone(p) for p in call.participants) if n]
        to = data.get("to") or {"type": "phone", "number": numbers[0] if numbers else "447700900000"}
        frm = data.get("from") or {"type": "phone", "number": numbers[1] if len(numbers) > 1 else "447700900001"}
        info: dict[str, Any] = {
            "_links": {"self": {"href": f"/v1/calls/{call.id}"}},
            "uuid": call.id,
            "conversation_uuid": data["conversation_uuid"],
            "to": to,
            "from": frm,
            "status": status,
            "direction": data.get("direction", "outbound"),
            "start_time": _dt.datetime.fromtimestamp(call.created_at, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "network": "65512",
        }
        if status == "completed":
            ended = data.get("ended_at", time.time())
            info.update(
                end_time=_dt.datetime.fromtimestamp(ended, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                duration=str(int(ended - call.created_at)),
                rate="0.00000000",
                price="0.00000000",
            )
        return info

    def _data(self, call: SimCall) -> dict[str, Any]:
        data: dict[str, Any] = call.data.setdefault(self.name, {})
        data.setdefault("conversation_uuid", "CON-" + str(uuid.uuid5(uuid.NAMESPACE_URL, call.id)))
        return data

    async def get_call(self, request: Request) -> Response:
        call = self._call_or_404(request)
        if isinstance(call, Response):
            return call
        return JSONResponse(self.call_info(call))

    async def list_calls(self, request: Request) -> Response:
        wanted = request.query_params.get("status")
        calls = [self.call_info(c) for c in self._world.calls.values()]
        if wanted:
            calls = [c for c in calls if c["status"] == wanted]
        try:
            page_size = max(1, min(100, int(request.query_params.get("page_size", 10))))
            index = max(0, int(request.query_params.get("record_index", 0)))
        except ValueError:
            return problem(400, "page_size and record_index must be integers")
        page = calls[index : index + page_size]
        return JSONResponse(
            {
                "count": len(calls),
                "page_size": page_size,
                "record_index": index,
                "_links": {"self": {"href": f"/v1/calls?page_size={page_size}&record_index={index}"}},
                "_embedded": {"calls": page},
            }
        )

    async def create_call(self, request: Request) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        to, event_url = body.get("to"), body.get("event_url")
        bad = []
        if not (isinstance(to, list) and to and isinstance(to[0], dict)):
            bad.append({"name": "to", "reason": "must be a non-empty array of endpoints"})
        if "ncco" not in body and "answer_url" not in body:
            bad.append({"name": "ncco", "reason": "ncco or answer_url is required"})
        if event_url is not None and not (isinstance(event_url, list) and all(isinstance(u, str) for u in event_url)):
            bad.append({"name": "event_url", "reason": "must be an array of URLs"})
        if bad:
            return problem(400, "The request failed due to validation errors", invalid_parameters=bad)
        assert isinstance(to, list)
        call = self._world.create_call(str(uuid.uuid4()))
        data = self._data(call)
        data.update(to=to[0], direction="outbound", event_url=(event_url or [None])[0])
        data["from"] = body.get("from") or {"type": "phone", "number": "447700900001"}
        self._spawn(self._announce(call, ["started", "ringing", "answered"]))
        return JSONResponse(
            {
                "uuid": call.id,
                "status": "started",
                "direction": "outbound",
                "conversation_uuid": data["conversation_uuid"],
            },
            status_code=201,
        )

    async def update_call(self, request: Request) -> Response:
        call = self._call_or_404(request)
        if isinstance(call, Response):
            return call
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        action = body.get("action")
        if action not in CALL_ACTIONS:
            bad = [{"name": "action", "reason": f"must be one of {', '.join(sorted(CALL_ACTIONS))}"}]
            return problem(400, "The request failed due to validation errors", invalid_parameters=bad)
        if action == "hangup":
            await self._world.hangup(call.id)
            self._data(call)["ended_at"] = time.time()
            self._spawn(self._announce(call, ["completed"]))
        else:
            self._data(call).setdefault("actions", []).append(action)
        return Response(status_code=204)

    # -- stream and talk ---------------------------------------------------------------------------------

    def _playable_call(self, request: Request) -> SimCall | Response:
        call = self._call_or_404(request)
        if isinstance(call, SimCall) and call.state != "connected":
            status = STATUS_OF_STATE.get(call.state, call.state)
            return problem(400, f"Call {call.id} is {status}: audio can only be played into an answered call")
        return call

    async def start_stream(self, request: Request) -> Response:
        call = self._playable_call(request)
        if isinstance(call, Response):
            return call
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        try:
            urls, loop, level = parse_stream_body(body)
        except BadBody as exc:
            return problem(400, "The request failed due to validation errors", invalid_parameters=exc.invalid)
        item, failure = await self._fetch(urls[0])
        detail: dict[str, Any] = {"level": level, "stream_url": urls}
        if len(urls) > 1:
            detail["ignored_urls"] = urls[1:]
        await self._replace(call, "stream", [item], loop, level, detail, failure)
        return JSONResponse({"message": "Stream started", "uuid": call.id})

    async def start_talk(self, request: Request) -> Response:
        call = self._playable_call(request)
        if isinstance(call, Response):
            return call
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        try:
            talk, loop, level = parse_talk_body(body)
        except BadBody as exc:
            return problem(400, "The request failed due to validation errors", invalid_parameters=exc.invalid)
        kind = "ssml" if talk["text"].lstrip().startswith("<speak") else "tts"
        item = SimItem(kind, talk_seconds(talk["text"]), dict(talk))
        await self._replace(call, "talk", [item], loop, level, {"level": level, **talk}, None)
        return JSONResponse({"message": "Talk started", "uuid": call.id})

    async def _replace(
        self,
        call: SimCall,
        handle: str,
        items: list[SimItem],
        loop: int,
        level: float,
        detail: dict[str, Any],
        failure: dict[str, Any] | None,
    ) -> None:
        """Start a stream or talk, ending the one of the same kind that plays (a new PUT replaces it)."""
        for old in call.active_playbacks(self.name):
            if old.handle == handle:
                await old.stop("canceled", {"reason": "replaced"})
        pb = self._world.new_playback(call, self.name, handle, items, loop=loop, volume_db=level * 40, detail=detail)
        if failure is not None:
            call.log.append({"face": self.name, "at": time.time(), "event": "stream_failed", **failure})
            await pb.fail(failure)
            return
        await pb.start()

    async def _fetch(self, url: str) -> tuple[SimItem, dict[str, Any] | None]:
        """The stream's item (its length from the file) and, when it cannot be played, why."""
        import httpx

        from callplay.audio.probe import probe_bytes

        try:
            # verify=False: the emulator stands in for Vonage's fetcher, not for a TLS check of the user's host.
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, verify=False, follow_redirects=True) as client:
                resp = await client.get(url)
        except httpx.HTTPError as exc:
            return SimItem("audio", 0.0, {"url": url}), {"url": url, "error": f"fetch failed: {exc!r}"}
        if resp.status_code != 200:
            return SimItem("audio", 0.0, {"url": url}), {"url": url, "error": f"fetch answered {resp.status_code}"}
        if len(resp.content) > MAX_MEDIA_BYTES:
            return SimItem("audio", 0.0, {"url": url}), {"url": url, "error": "file larger than 50 MB"}
        probe = probe_bytes(resp.content, url)
        item = SimItem("audio", probe.duration_s, {"url": url, "format": probe.describe()})
        if probe.error:
            return item, {"url": url, "error": f"not audio: {probe.error}"}
        if probe.container not in ("WAV", "MP3") or (probe.container == "WAV" and probe.subtype != "PCM_16"):
            return item, {"url": url, "error": f"Vonage plays MP3 or 16-bit WAV, not {probe.describe()}"}
        return item, None

    async def stop_stream(self, request: Request) -> Response:
        return await self._stop(request, "stream", "Stream stopped")

    async def stop_talk(self, request: Request) -> Response:
        return await self._stop(request, "talk", "Talk stopped")

    async def _stop(self, request: Request, handle: str, message: str) -> Response:
        call = self._call_or_404(request)
        if isinstance(call, Response):
            return call
        playing = [p for p in call.active_playbacks(self.name) if p.handle == handle]
        if not playing:
            return problem(404, f"No {handle} is playing on call {call.id}")
        for pb in playing:
            await pb.stop("canceled", {"reason": "stopped"})
        return JSONResponse({"message": message, "uuid": call.id})

    # -- call status events ------------------------------------------------------------------------------

    async def _announce(self, call: SimCall, statuses: list[str]) -> None:
        url = self._data(call).get("event_url") or self.creds.get("event_url")
        if not url:
            return
        for status in statuses:
            payload = self.event_payload(call, status)
            await self._world.post(url, payload, kind=f"vonage:{status}", headers=self.signed_headers(payload))

    def event_payload(self, call: SimCall, status: str) -> dict[str, Any]:
        info = self.call_info(call)
        payload: dict[str, Any] = {
            "headers": {},
            "from": info["from"].get("number", ""),
            "to": info["to"].get("number", ""),
            "uuid": call.id,
            "conversation_uuid": info["conversation_uuid"],
            "status": status,
            "direction": info["direction"],
            "timestamp": _now_text(),
        }
        if status == "completed":
            payload.update({k: info[k] for k in ("start_time", "end_time", "duration", "rate", "price", "network")})
        return payload

    def signed_headers(self, payload: dict[str, Any]) -> dict[str, str]:
        """Vonage's signed-webhook header: HS256 JWT over the compact JSON body's SHA-256."""
        import jwt

        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()  # what httpx sends
        now = int(time.time())
        claims = {
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "iss": "Vonage",
            "payload_hash": hashlib.sha256(raw).hexdigest(),
            "api_key": self.creds["api_key"],
            "application_id": self.creds["application_id"],
        }
        token = jwt.encode(claims, self.creds["signature_secret"], algorithm="HS256")
        return {"Authorization": f"Bearer {token}"}

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- request log -------------------------------------------------------------------------------------

    def _log_request(self, scope: Scope, status: int | None) -> None:
        match = CALL_PATH.match(str(scope.get("path", "")))
        call = self._world.calls.get(match.group(1)) if match else None
        if call is not None:
            entry = {"face": self.name, "at": time.time(), "method": scope.get("method"), "path": scope.get("path")}
            call.log.append({**entry, "status": status})


def _age_problem(claims: dict[str, Any], now: float) -> str | None:
    """Vonage's limits on a token's age, which PyJWT's exp check does not cover: 24 h after iat at most,
    and 15 minutes after iat when there is no exp."""
    age = now - float(claims["iat"])
    if age > JWT_MAX_AGE_S + JWT_LEEWAY_S:
        return "the JWT was issued more than 24 hours ago (iat), whatever its exp says"
    if "exp" not in claims and age > JWT_DEFAULT_LIFETIME_S + JWT_LEEWAY_S:
        return "the JWT has no exp and was issued more than 15 minutes ago"
    return None


def _tls_host(https_url: str) -> str:
    """host:port for api_host; a wildcard bind address becomes loopback (the certificate names loopback)."""
    host_port = https_url.removeprefix("https://")
    for wildcard, loopback in (("0.0.0.0:", "127.0.0.1:"), ("[::]:", "[::1]:")):
        if host_port.startswith(wildcard):
            return loopback + host_port[len(wildcard) :]
    return host_port


async def _json_object(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return problem(400, "The request body is not valid JSON")
    if not isinstance(body, dict):
        return problem(400, "The request body must be a JSON object")
    return body
