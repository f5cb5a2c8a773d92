"""The SignalWire face: the REST Calling API's play commands and the voice logs, over the shared World.

What it does, as the published API does it (signalwire/docs `fern/apis/signalwire-rest/openapi.yaml`):
HTTP Basic auth with project and token; `POST /api/calling/calls` dispatching calling.play and
calling.play.pause/.resume/.volume/.stop, validating params like `Calling.CallPlayRequest` (422 with an
`errors` array), answering 200 with the call leg; outcomes go to the play's `status_url` as JSON webhooks
(playing, paused, finished, error), signed with the space's Signing Key; `GET /api/voice/logs/{id}`, and
`GET /api/voice/logs`, which lists every log on one page: `links` has `self` and `first` (both required by
`Voice.LogPaginationResponse`) and never `next` or `prev`; the paging parameters are not applied.

Where the documentation is silent (say so, do not guess quietly): the webhook envelope (we use the
`calling.call.play` shape the stream webhook has), the error for an unknown control_id (422 naming
control_id), the `attribute` spelling for nested items (`play[0].params.url`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from callplay.emulator.state import SimCall, SimItem, SimPlayback, World

if TYPE_CHECKING:
    from callplay.emulator.app import EmulatorServer

NAME = "signalwire"
ERROR_DOCS_URL = "https://signalwire.com/docs/apis/error-codes"
TTS_CHARS_PER_S = 15.0
# A ringtone without `duration` "plays until stopped" (spec); a day stands in for forever so that the
# admin API's numbers stay finite JSON.
RINGTONE_UNTIL_STOPPED_S = 86400.0
MEDIA_FETCH_TIMEOUT_S = 10.0
EMULATOR_NUMBER = "+15550100000"

# SimPlayback state -> the `state` SignalWire reports; a stopped play reports `finished`.
WIRE_STATE = {
    "playing": "playing",
    "paused": "paused",
    "finished": "finished",
    "canceled": "finished",
    "failed": "error",
}
LOG_STATUS = {"connected": "in-progress", "disconnected": "completed"}
VOICE_LOG_STATUSES = frozenset(
    [
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "busy",
        "failed",
        "no-answer",
        "canceled",
        "completed",
        "ended",
        "answered",
        "created",
        "ending",
        "joined",
    ]
)

PLAY_COMMANDS = (
    "calling.play",
    "calling.play.pause",
    "calling.play.resume",
    "calling.play.stop",
    "calling.play.volume",
)
# Real commands of the same endpoint that this face does not emulate (a clear 422, not a 404).
# fmt: off
OTHER_COMMANDS = frozenset([
    "dial", "update", "calling.end", "calling.transfer", "calling.disconnect", "calling.record",
    "calling.record.pause", "calling.record.resume", "calling.record.stop", "calling.collect",
    "calling.collect.stop", "calling.collect.start_input_timers", "calling.detect", "calling.detect.stop",
    "calling.tap", "calling.tap.stop", "calling.transcribe", "calling.transcribe.stop", "calling.stream",
    "calling.stream.stop", "calling.denoise", "calling.denoise.stop", "calling.ai_hold",
    "calling.ai_unhold", "calling.ai_message", "calling.ai.stop", "calling.ai_sidecar",
    "calling.ai_sidecar.poke", "calling.ai_sidecar.ask", "calling.ai_sidecar.stop",
    "calling.ai_sidecar.status", "calling.live_transcribe", "calling.live_translate",
    "calling.send_fax.stop", "calling.receive_fax.stop", "calling.refer", "calling.user_event"
])
# fmt: on
PLAY_PARAMS = frozenset(
    {"control_id", "play", "volume", "direction", "loop", "language", "voice", "gender", "status_url"}
)
CONTROL_PARAMS = {
    "calling.play.pause": frozenset({"control_id"}),
    "calling.play.resume": frozenset({"control_id"}),
    "calling.play.stop": frozenset({"control_id"}),
    "calling.play.volume": frozenset({"control_id", "volume"}),
}
ITEM_PARAMS = {
    "audio": frozenset({"url"}),
    "tts": frozenset({"text", "language", "gender", "voice"}),
    "silence": frozenset({"duration"}),
    "ringtone": frozenset({"name", "duration"}),
}
VOLUME_RANGE_DB = (-40.0, 40.0)  # calling.play `volume`
DIRECTIONS = ("listen", "speak", "both")
GENDERS = ("male", "female")
# Calling.PlayRingtoneName in the published OpenAPI spec.
# fmt: off
RINGTONES = frozenset([
    "au", "be", "ca", "cn", "cy", "cz", "de", "dk", "dz", "eg", "es", "fi", "fr", "hu", "il", "in", "jp",
    "ko", "pk", "pl", "ro", "rs", "ru", "sa", "tr", "uk", "us", "at", "bg", "br", "ch", "cl", "ee", "gr",
    "it", "lt", "mx", "my", "nl", "no", "nz", "ph", "pt", "se", "sg", "th", "za", "tw", "ve", "bong",
])
# fmt: on
VOICE_RE = re.compile(r"^[A-Za-z0-9.\-]+$")  # "no special characters except . and -"


# ----------------------------------------------------------------------------------------- validation


class Invalid:
    """Collects validation errors in SignalWire's `errors[]` item shape."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, attribute: str, message: str, code: str = "invalid_parameter") -> None:
        self.errors.append(
            {
                "type": "validation_error",
                "code": code,
                "message": message,
                "attribute": attribute,
                "url": ERROR_DOCS_URL,
            }
        )

    def missing(self, attribute: str) -> None:
        self.add(attribute, f"{attribute} is required", "missing_required_parameter")

    def response(self) -> JSONResponse:
        return JSONResponse({"errors": self.errors}, status_code=422)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _unknown(obj: dict[str, Any], allowed: frozenset[str], at: str, inv: Invalid) -> None:
    for key in sorted(set(obj) - allowed):
        name = f"{at}.{key}" if at else key
        inv.add(name, f"{name} is not a permitted parameter")


def _check_enum(params: dict[str, Any], key: str, allowed: Any, at: str, inv: Invalid) -> None:
    if key in params and params[key] not in allowed:
        inv.add(at, f"{at} must be one of {', '.join(sorted(allowed))}")


def _check_tts_defaults(params: dict[str, Any], at: str, inv: Invalid) -> None:
    """language / voice / gender: on a tts item, or request-level defaults on calling.play."""
    prefix = f"{at}." if at else ""
    if "language" in params and (not isinstance(params["language"], str) or not params["language"].strip()):
        inv.add(f"{prefix}language", f"{prefix}language must be a BCP-47 language tag")
    if "voice" in params and (not isinstance(params["voice"], str) or not VOICE_RE.match(params["voice"])):
        inv.add(f"{prefix}voice", f"{prefix}voice may contain letters, digits, '.' and '-' only")
    _check_enum(params, "gender", GENDERS, f"{prefix}gender", inv)


def _check_item(item: Any, at: str, inv: Invalid) -> None:
    if not isinstance(item, dict):
        inv.add(at, f"{at} must be an object with type and params")
        return
    kind = item.get("type")
    if kind not in ITEM_PARAMS:
        inv.add(f"{at}.type", f"{at}.type must be one of audio, ringtone, silence, tts")
        return
    _unknown(item, frozenset({"type", "params"}), at, inv)
    p = item.get("params")
    if not isinstance(p, dict):
        if "params" in item:
            inv.add(f"{at}.params", f"{at}.params must be an object")
        else:
            inv.missing(f"{at}.params")
        return
    at_p = f"{at}.params"
    _unknown(p, ITEM_PARAMS[kind], at_p, inv)
    if kind == "audio":
        if "url" not in p:
            inv.missing(f"{at_p}.url")
        elif not _is_http_url(p["url"]):
            inv.add(f"{at_p}.url", f"{at_p}.url must be a valid http or https url")
    elif kind == "tts":
        if "text" not in p:
            inv.missing(f"{at_p}.text")
        elif not isinstance(p["text"], str) or not p["text"].strip():
            inv.add(f"{at_p}.text", f"{at_p}.text must be a non-empty string")
        _check_tts_defaults(p, at_p, inv)
    elif kind == "silence":
        if "duration" not in p:
            inv.missing(f"{at_p}.duration")
        elif not _is_number(p["duration"]) or p["duration"] <= 0:
            inv.add(f"{at_p}.duration", f"{at_p}.duration must be a positive number of seconds")
    else:
        if "name" not in p:
            inv.missing(f"{at_p}.name")
        else:
            _check_enum(p, "name", RINGTONES, f"{at_p}.name", inv)
        if "duration" in p and (not _is_number(p["duration"]) or p["duration"] <= 0):
            inv.add(f"{at_p}.duration", f"{at_p}.duration must be a positive number of seconds")


def _check_control_id(params: dict[str, Any], inv: Invalid) -> None:
    if "control_id" not in params:
        inv.missing("control_id")
    elif not isinstance(params["control_id"], str) or not params["control_id"].strip():
        inv.add("control_id", "control_id must be a non-empty string")


def _check_volume(params: dict[str, Any], inv: Invalid, required: bool) -> None:
    if "volume" not in params:
        if required:
            inv.missing("volume")
        return
    low, high = VOLUME_RANGE_DB
    if not _is_number(params["volume"]) or not low <= params["volume"] <= high:
        inv.add("volume", f"volume must be a number between {low:g} and {high:g}")


def check_play(params: dict[str, Any], inv: Invalid) -> None:
    """Calling.CallPlayRequest.params."""
    _unknown(params, PLAY_PARAMS, "", inv)
    _check_control_id(params, inv)
    play = params.get("play")
    if "play" not in params:
        inv.missing("play")
    elif not isinstance(play, list) or not play:
        inv.add("play", "play must be a non-empty array of media items")
    else:
        for i, item in enumerate(play):
            _check_item(item, f"play[{i}]", inv)
    _check_volume(params, inv, required=False)
    _check_enum(params, "direction", DIRECTIONS, "direction", inv)
    loop = params.get("loop")
    if "loop" in params and (isinstance(loop, bool) or not isinstance(loop, int) or loop < 0):
        inv.add("loop", "loop must be an integer of 0 or more (0 loops forever)")
    _check_tts_defaults(params, "", inv)
    if "status_url" in params and not _is_http_url(params["status_url"]):
        inv.add("status_url", "status_url must be a valid http or https url")


def check_control(command: str, params: dict[str, Any], inv: Invalid) -> None:
    """Calling.CallPlayPause/Resume/Stop/VolumeRequest.params."""
    _unknown(params, CONTROL_PARAMS[command], "", inv)
    _check_control_id(params, inv)
    if command == "calling.play.volume":
        _check_volume(params, inv, required=True)


def check_envelope(body: dict[str, Any], inv: Invalid) -> None:
    _unknown(body, frozenset({"id", "command", "params"}), "", inv)
    command = body.get("command")
    if "command" not in body:
        inv.missing("command")
    elif command in OTHER_COMMANDS:
        inv.add("command", f"command {command} is not emulated by callplay (play commands only)")
    elif command not in PLAY_COMMANDS:
        inv.add("command", f"command {command!r} is not a supported command")
    if "id" not in body:
        inv.missing("id")
    elif not isinstance(body["id"], str) or not body["id"]:
        inv.add("id", "id must be the id of an existing call")
    if "params" not in body:
        inv.missing("params")
    elif not isinstance(body["params"], dict):
        inv.add("params", "params must be an object")
    if inv.errors or not isinstance(command, str):
        return
    if command == "calling.play":
        check_play(body["params"], inv)
    else:
        check_control(command, body["params"], inv)


# ------------------------------------------------------------------------------------------- media


class MediaError(Exception):
    """An audio item SignalWire could not play: reported by an `error` webhook, never in the HTTP answer."""


def audio_seconds(data: bytes) -> float:
    """Duration of a WAV/MP3/... file from its bytes (libsndfile detects the format by content)."""
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(data))
    except Exception as exc:  # LibsndfileError and friends: the file is not audio we can read
        raise MediaError(f"unreadable audio: {exc}") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise MediaError("the audio file holds no samples")
    return float(info.frames) / float(info.samplerate)


async def fetch_audio_seconds(url: str) -> float:
    import httpx

    # verify=False: emulator-hosted media is served with the emulator's own local CA.
    async with httpx.AsyncClient(timeout=MEDIA_FETCH_TIMEOUT_S, verify=False, follow_redirects=True) as client:
        try:
            resp = await client.get(url)
        except httpx.HTTPError as exc:
            raise MediaError(f"fetching {url} failed: {exc.__class__.__name__}") from None
    if resp.status_code != 200:
        raise MediaError(f"fetching {url} answered {resp.status_code}")
    return await asyncio.to_thread(audio_seconds, resp.content)


def sim_items(play: list[dict[str, Any]], params: dict[str, Any]) -> list[SimItem]:
    """The play's items with their durations; audio lengths are filled in once fetched."""
    items = []
    for item in play:
        kind, p = item["type"], item["params"]
        if kind == "audio":
            items.append(SimItem("audio", 0.0, {"url": p["url"]}))
        elif kind == "tts":
            detail = {
                "text": p["text"],
                "language": p.get("language") or params.get("language") or "en-US",
                "gender": p.get("gender") or params.get("gender") or "female",
            }
            voice = p.get("voice") or params.get("voice")
            if voice:
                detail["voice"] = voice
            items.append(SimItem("tts", max(0.1, len(p["text"]) / TTS_CHARS_PER_S), detail))
        elif kind == "silence":
            items.append(SimItem("silence", float(p["duration"])))
        else:
            seconds = float(p.get("duration") or RINGTONE_UNTIL_STOPPED_S)
            items.append(SimItem("ringtone", seconds, {"name": p["name"]}))
    return items


# --------------------------------------------------------------------------------------------- signing


def sign(signing_key: str, url: str, raw_body: bytes) -> dict[str, str]:
    """SignalWire's JSON-webhook signature: hex HMAC of (URL + raw body) with the Signing Key, SHA-1 in
    X-SignalWire-Signature and SHA-256 in X-SignalWire-Sha256-Signature."""
    message = url.encode() + raw_body
    key = signing_key.encode()
    return {
        "X-SignalWire-Signature": hmac.new(key, message, hashlib.sha1).hexdigest(),
        "X-SignalWire-Sha256-Signature": hmac.new(key, message, hashlib.sha256).hexdigest(),
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------ face


class SignalWireFace:
    name = NAME

    def __init__(self) -> None:
        self.world: World | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._chains: dict[int, asyncio.Task[None]] = {}

    # -- Face protocol --------------------------------------------------------------------------------------

    def bind(self, world: World) -> None:
        self.world = world
        creds = world.credentials.setdefault(NAME, {})
        creds.setdefault("project", str(uuid.uuid4()))
        creds.setdefault("token", "PT" + secrets.token_hex(24))
        creds.setdefault("signing_key", "PSK_" + secrets.token_hex(16))
        creds.setdefault("space_id", str(uuid.uuid4()))

    def owns(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return path.startswith(("/api/calling/", "/api/voice/"))

    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return Starlette(
            routes=[
                Route("/api/calling/calls", self.calls, methods=["POST"]),
                Route("/api/voice/logs", self.voice_logs, methods=["GET"]),
                Route("/api/voice/logs/{log_id:path}", self.voice_log, methods=["GET"]),
                Route("/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    def error(self, status: int, message: str) -> Response:
        if status == 422:
            inv = Invalid()
            inv.add("params", message)
            return inv.response()
        try:
            word = HTTPStatus(status).phrase
        except ValueError:
            word = message
        return JSONResponse({"error": word}, status_code=status)

    def profile(self, server: EmulatorServer) -> dict[str, Any]:
        host = server.http_url.split("://", 1)[1]
        # A wildcard bind is reached on loopback, which is also what makes the SDK speak plain http.
        host = host.replace("0.0.0.0", "127.0.0.1", 1).replace("[::]", "[::1]", 1)
        creds = self._creds()
        return {
            "provider": "signalwire",
            "space": host,
            "project": creds["project"],
            "token": creds["token"],
            "signing_key": creds["signing_key"],
        }

    # -- routes ---------------------------------------------------------------------------------------------

    async def calls(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.error(401, "Unauthorized")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.error(400, "Bad Request")
        if not isinstance(body, dict):
            return self.error(400, "Bad Request")
        inv = Invalid()
        check_envelope(body, inv)
        if inv.errors:
            return inv.response()
        call = self._world().get_call(body["id"])
        if call is None or call.state != "connected":
            return self.error(404, "Not Found")
        command, params = body["command"], body["params"]
        if command == "calling.play":
            return await self._play(call, params)
        return await self._control(call, command, params)

    async def voice_logs(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.error(401, "Unauthorized")
        data = [self._log(c) for c in self._world().calls.values()]
        # One page holds every log, so there is no next or prev; `first` (required by the spec's
        # Voice.LogPaginationResponse) is this URL without the page cursor.
        first = request.url.remove_query_params(["page_number", "page_token"])
        return JSONResponse({"links": {"self": str(request.url), "first": str(first)}, "data": data})

    async def voice_log(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.error(401, "Unauthorized")
        call = self._world().get_call(request.path_params["log_id"])
        if call is None:
            return self.error(404, "Not Found")
        return JSONResponse(self._log(call))

    async def not_found(self, request: Request) -> Response:
        return self.error(404, "Not Found")

    # -- commands -------------------------------------------------------------------------------------------

    async def _play(self, call: SimCall, params: dict[str, Any]) -> Response:
        control_id = params["control_id"]
        if call.find(control_id, face=NAME, active_only=True) is not None:
            inv = Invalid()
            inv.add("control_id", "control_id is already used by an active play on this call")
            return inv.response()
        detail: dict[str, Any] = {
            "direction": params.get("direction", "listen"),
            "node_id": self._node_id(call),
        }
        if "status_url" in params:
            detail["status_url"] = params["status_url"]
        pb = self._world().new_playback(
            call,
            NAME,
            control_id,
            sim_items(params["play"], params),
            loop=int(params.get("loop", 1)),
            volume_db=float(params.get("volume", 0.0)),
            detail=detail,
        )
        pb.listener = self._on_state
        self._spawn(self._begin(pb))
        return JSONResponse(self._leg(call))

    async def _control(self, call: SimCall, command: str, params: dict[str, Any]) -> Response:
        pb = call.find(params["control_id"], face=NAME, active_only=True)
        if pb is None:
            # The real answer is not documented; a validation error naming control_id is the closest shape.
            inv = Invalid()
            inv.add("control_id", "control_id does not match an active play on this call")
            return inv.response()
        if command == "calling.play.pause":
            await self._pause(pb)
        elif command == "calling.play.resume":
            pb.detail.pop("start_paused", None)
            await pb.resume()
        elif command == "calling.play.stop":
            await pb.stop("canceled", {"reason": "calling.play.stop"})
        else:
            await pb.set_volume(float(params["volume"]))
        return JSONResponse(self._leg(call))

    async def _pause(self, pb: SimPlayback) -> None:
        if pb.state == "created":
            pb.detail["start_paused"] = True  # media still loading: it starts, then pauses at position 0
        else:
            await pb.pause()

    async def _begin(self, pb: SimPlayback) -> None:
        """Measure the audio items, then start; a fetch or decode failure ends the play with `error`."""
        failure: str | None = None
        try:
            for item in pb.items:
                if item.kind == "audio":
                    item.duration_s = await fetch_audio_seconds(item.detail["url"])
        except MediaError as exc:
            failure = str(exc)
        except Exception as exc:  # any other fetch problem (an odd URL, ...) must still end the play with `error`
            failure = f"fetching the audio failed: {exc.__class__.__name__}"
        if pb.state != "created":
            return  # stopped while its media loaded
        if failure is not None:
            await pb.fail({"error": failure})
            return
        await pb.start()
        if pb.detail.pop("start_paused", False):
            await pb.pause()

    # -- callbacks ------------------------------------------------------------------------------------------

    async def _on_state(self, pb: SimPlayback, state: str, info: dict[str, Any]) -> None:
        url = pb.detail.get("status_url")
        wire_state = WIRE_STATE.get(state)
        if not url or wire_state is None:
            return
        creds = self._creds()
        payload = {
            "event_type": "calling.call.play",
            "event_channel": f"signalwire_{creds['space_id']}_{creds['project']}",
            "timestamp": time.time(),
            "project_id": creds["project"],
            "space_id": creds["space_id"],
            "params": {
                "control_id": pb.handle,
                "call_id": pb.call_id,
                "node_id": pb.detail.get("node_id"),
                "state": wire_state,
            },
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if creds.get("signing_key"):
            headers.update(sign(creds["signing_key"], url, raw))
        self._deliver_in_order(pb, url, payload, raw, headers)

    def _deliver_in_order(
        self, pb: SimPlayback, url: str, payload: dict[str, Any], raw: bytes, headers: dict[str, str]
    ) -> None:
        """Post without holding up the command that caused the change, but one after another per play, so
        the receiver sees playing, paused, playing, finished in that order."""
        previous = self._chains.get(pb.seq)

        async def deliver() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self._world().post(url, payload, kind="signalwire.play", headers=headers, content=raw)

        task = self._spawn(deliver())
        self._chains[pb.seq] = task
        task.add_done_callback(lambda t: self._chains.pop(pb.seq, None) if self._chains.get(pb.seq) is t else None)

    # -- helpers --------------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks weakly
        task.add_done_callback(self._tasks.discard)
        return task

    def _world(self) -> World:
        if self.world is None:
            raise RuntimeError("SignalWireFace used before bind()")
        return self.world

    def _creds(self) -> dict[str, Any]:
        return self._world().credentials[NAME]

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        project, sep, token = decoded.partition(":")
        creds = self._creds()
        ok_project = hmac.compare_digest(project.encode(), str(creds["project"]).encode())
        ok_token = hmac.compare_digest(token.encode(), str(creds["token"]).encode())
        return bool(sep) and ok_project and ok_token

    def _node_id(self, call: SimCall) -> str:
        data = call.data.setdefault(NAME, {})
        node: str = data.setdefault("node_id", str(uuid.uuid4()))
        return node

    def _numbers(self, call: SimCall) -> tuple[str, str]:
        phones = [p.split(":", 1)[1] for p in call.participants if p.startswith("4:")]
        return EMULATOR_NUMBER, (phones[0] if phones else "+15550100001")

    def _leg(self, call: SimCall) -> dict[str, Any]:
        """Calling.CallLeg: what SignalWire answers to every command on a call."""
        from_, to = self._numbers(call)
        return {
            "id": call.id,
            "from": from_,
            "to": to,
            "direction": "outbound-api",
            "source": "realtime_api",
            "url": None,
            "charge": 0.0,
            "created_at": _iso(call.created_at),
            "charge_details": [],
            "status": "answered" if call.state == "connected" else "ended",
            "duration": None,
            "duration_ms": None,
            "billing_ms": None,
            "type": "relay_pstn_call",
            "parent_id": None,
        }

    def _log(self, call: SimCall) -> dict[str, Any]:
        """Voice.RelayVoiceLog for a simulated call."""
        from_, to = self._numbers(call)
        status = LOG_STATUS.get(call.state, call.state)
        duration_ms = None
        if status == "completed":
            # The World does not keep the hangup time: the first log read after it stands in for it.
            ended_at = call.data.setdefault(NAME, {}).setdefault("ended_at", time.time())
            duration_ms = int((ended_at - call.created_at) * 1000)
        return {
            "id": call.id,
            "from": from_,
            "to": to,
            "source": "realtime_api",
            "charge": 0.0,
            "charge_details": [],
            "created_at": _iso(call.created_at),
            "type": "relay_pstn_call",
            "url": None,
            "direction": "outbound",
            "status": status if status in VOICE_LOG_STATUSES else "in-progress",
            "duration": None if duration_ms is None else duration_ms // 1000,
            "duration_ms": duration_ms,
            "billing_ms": duration_ms,
            "parent_id": None,
        }
