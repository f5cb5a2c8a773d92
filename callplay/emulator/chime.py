r"""The emulator's Amazon Chime SDK face: Create/UpdateSipMediaApplicationCall, the SMA's Lambda, and S3.

`POST /sip-media-applications/{smaId}/calls/{transactionId}` is checked like AWS checks it (SigV4 with
service `chime`, the SMA and the call must exist) and answered 202. Then, as Chime does, the face
invokes the SIP media application's Lambda, here callplay's reference handler run in-process (in a
worker thread, with its environment and its HTTP poster injected), with a CALL_UPDATE_REQUESTED event,
and carries out the actions it returns on the simulated call: PlayAudio reads the object from the
face's S3 (missing, not audio/wav or not PCM WAV: ACTION_FAILED InvalidAudioSource), lasts the WAV's
length times Repeat; Speak lasts about 15 characters a second; Pause its duration. A new action list
replaces the running one as the Developer Guide says (INTERRUPTIBLE): what follows the running action is
dropped, a running PlayAudio or Pause is interrupted (ACTION_INTERRUPTED, whose answer is ignored), and a
running Speak plays to its end before the new list starts. When a list ends the Lambda gets
ACTION_SUCCESSFUL or ACTION_FAILED, which is how callplay's events are sent. Every invocation and action is
recorded in the call's `log` (GET /_emulator/calls/{id}).

`POST /sip-media-applications/{smaId}/calls` (CreateSipMediaApplicationCall) starts a simulated outbound call:
201 with its TransactionId (a UUID) at once, then, as Chime does, the Lambda gets NEW_OUTBOUND_CALL (with
the ArgumentsMap as ActionData.Parameters.Arguments, ActionData.Type "CallCreateRequest": the type name
is the emulator's), RINGING (both answers ignored, as the Developer Guide says) and, the callee answering
at once, CALL_ANSWERED, whose actions run; from then on the call takes updates. Its one participant is
LEG-A, Outbound, From/To the request's numbers (the emulator has no number inventory: any number that
matches the model's E.164 pattern is accepted). SipHeaders are checked (0-20 strings) and kept in the
call's data, not passed to the Lambda. Path IDs that do not match the model's pattern `.*\S.*` (blank,
whitespace) are 400 BadRequestException before any lookup; an unknown SMA is 404 NotFoundException.

S3 (callplay/emulator/s3.py) is served by this face too: requests signed for service `s3` are routed
here by their credential scope, whatever their path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import string
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from callplay.emulator.s3 import AuthFailure, S3Api, S3Store, check_sigv4, s3_error, scope_service
from callplay.emulator.state import Delivery, SimCall, SimItem, SimPlayback, World

log = logging.getLogger("callplay.emulator.chime")

NAME = "chime"
PREFIX = "/sip-media-applications"
LEGS = ("LEG-A", "LEG-B")
MAX_ACTIONS = 10
MAX_ARGUMENTS = 20
MAX_SIP_HEADERS = 20
# Patterns from the chime-sdk-voice model (2022-08-03), matched whole like Java's matches(): NonEmptyString
# (every ID in a path) and E164PhoneNumber.
NON_EMPTY = re.compile(r".*\S.*")
E164 = re.compile(r"\+?[1-9]\d{1,14}")
PATH_IDS = {"sma_id": "SipMediaApplicationId", "transaction_id": "TransactionId"}
MAX_INVOCATIONS = 1000  # Chime invokes the Lambda at most 1,000 times per call
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTES_BYTES = 20 * 1024
MAX_WAV_BYTES = 50_000_000
SPEAK_CHARS_PER_S = 15.0  # Polly's speaking rate, roughly: 150 words a minute
# What a new action list interrupts. Amazon Chime SDK Developer Guide, "Updating in-progress calls"
# (https://docs.aws.amazon.com/chime-sdk/latest/dg/update-sip-call.html): "If Action 2 is interruptible, we
# stop it and execute new Action 1 instead. If Action 2 is not interruptible, it completes before the new
# Action 1 starts ... Types of interruptible actions: PlayAudio, RecordAudio, Pause". So not Speak.
INTERRUPTIBLE = frozenset({"PlayAudio", "RecordAudio", "Pause"})
SIMULATED = frozenset({"PlayAudio", "Speak", "Pause", "Hangup"})
KNOWN_ACTIONS = SIMULATED | {
    "CallAndBridge",
    "JoinChimeMeeting",
    "ModifyChimeMeetingAttendees",
    "PlayAudioAndGetDigits",
    "ReceiveDigits",
    "RecordAudio",
    "SendDigits",
    "SpeakAndGetDigits",
    "StartBotConversation",
    "StartCallRecording",
    "StopCallRecording",
    "PauseCallRecording",
    "ResumeCallRecording",
    "VoiceFocus",
    "StartVoiceToneAnalysis",
    "StopVoiceToneAnalysis",
}
INVALID_AUDIO = "Audio Source parameter value is invalid."
INVALID_PARAMETER = "CallId or ParticipantTag parameter for action is invalid."
_CALL_NS = uuid.UUID("6b0c1a52-3d6e-4c35-9d9e-0a4f3f6b2c11")


def _random_key(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def chime_error(status: int, code: str, message: str) -> Response:
    """AWS's rest-json error: the code in the body and in x-amzn-ErrorType (botocore reads either)."""
    return JSONResponse(
        {"Code": code, "Message": message},
        status_code=status,
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())},
    )


FAULT_CODES = {429: "ThrottledClientException", 500: "ServiceFailureException", 503: "ServiceUnavailableException"}


class _FaceError(Response):
    """Fault injection's error, shaped at send time: S3's XML for S3 requests, Chime's JSON otherwise."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status_code=status)
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope_service(scope) == "s3":
            code = {429: "SlowDown", 503: "ServiceUnavailable"}.get(self.status_code, "InternalError")
            shaped = s3_error(self.status_code, code, self.message)
        else:
            code = FAULT_CODES.get(
                self.status_code, "BadRequestException" if self.status_code < 500 else "ServiceFailureException"
            )
            shaped = chime_error(self.status_code, code, self.message)
        for key, value in self.headers.items():  # e.g. Retry-After set by the fault injector
            if key.lower() not in ("content-length", "content-type"):
                shaped.headers[key] = value
        await shaped(scope, receive, send)


@dataclass
class _Session:
    """Chime's side of one call: invocation count, transaction attributes, the running action list."""

    sequence: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    runner: asyncio.Task[None] | None = None
    current: SimPlayback | None = None
    current_action: dict[str, Any] | None = None
    replacement: list[dict[str, Any]] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


Outcome = tuple[str, dict[str, str]]  # succeeded | failed | interrupted | hangup, error fields
Planned = tuple[SimItem, int, str]  # what plays, Repeat, the leg


class ChimeFace:
    name = NAME

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.store = S3Store()
        self.world: World | None = None
        self._sessions: dict[str, _Session] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.s3 = S3Api(self.store, region=region, lookup=self._lookup)
        self._router = self._make_router()

    # -- Face protocol -----------------------------------------------------------------------------------

    def bind(self, world: World) -> None:
        self.world = world
        creds = world.credentials.setdefault(NAME, {})
        creds.setdefault("region", self.region)
        creds.setdefault("access_key_id", "AKIA" + _random_key(string.ascii_uppercase + "234567", 16))
        creds.setdefault("secret_access_key", _random_key(string.ascii_letters + string.digits + "+/", 40))
        creds.setdefault("sip_media_application_id", str(uuid.uuid4()))
        creds.setdefault("bucket", "callplay-emulator-prompts")
        creds.setdefault("account_id", "".join(secrets.choice(string.digits) for _ in range(12)))
        creds.setdefault("events_secret", secrets.token_hex(16))
        self.region = creds["region"]
        self.s3.region = self.region
        self.store.create_bucket(creds["bucket"])

    def owns(self, scope: Scope) -> bool:
        return scope_service(scope) == "s3" or str(scope.get("path", "")).startswith(PREFIX)

    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return self._asgi

    def error(self, status: int, message: str) -> Response:
        return _FaceError(status, message)

    def profile(self, server: Any) -> dict[str, Any]:
        c = self._creds
        return {
            "provider": "chime",
            "region": c["region"],
            "sip_media_application_id": c["sip_media_application_id"],
            "bucket": c["bucket"],
            "prefix": "callplay/prompts/",
            "aws_access_key_id": c["access_key_id"],
            "aws_secret_access_key": c["secret_access_key"],
            "endpoint_url": server.http_url,
            "s3_endpoint_url": server.http_url,
            "callback_secret": c["events_secret"],
        }

    # -- routing -----------------------------------------------------------------------------------------

    @property
    def _creds(self) -> dict[str, Any]:
        assert self.world is not None, "ChimeFace.bind() was not called"
        return self.world.credentials[NAME]

    def _lookup(self, access_key: str) -> tuple[str, str | None] | None:
        c = self._creds
        if access_key != c["access_key_id"]:
            return None
        return str(c["secret_access_key"]), c.get("session_token")

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope_service(scope) == "s3":
            await self.s3(scope, receive, send)
        else:
            await self._router(scope, receive, send)

    def _make_router(self) -> Starlette:
        async def unknown(request: Request) -> Response:
            return chime_error(404, "NotFoundException", f"No operation at {request.method} {request.url.path}")

        return Starlette(
            routes=[
                Route(PREFIX + "/{sma_id}/calls", self._create_call, methods=["POST"]),
                # :path so that an empty or odd TransactionId reaches the pattern check (400), not a 404
                Route(PREFIX + "/{sma_id}/calls/{transaction_id:path}", self._update_call, methods=["POST"]),
                Route(PREFIX + "/{sma_id}", self._get_sma, methods=["GET"]),
                Route(PREFIX + "{rest:path}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            ]
        )

    async def _authorized(self, request: Request, body: bytes) -> Response | None:
        auth = check_sigv4(request, body, service="chime", region=self.region, lookup=self._lookup)
        if isinstance(auth, AuthFailure):
            return chime_error(403, "ForbiddenException", auth.message)
        for param, value in request.path_params.items():
            if NON_EMPTY.fullmatch(value) is None:
                name = PATH_IDS.get(param, param)
                return chime_error(400, "BadRequestException", f"{name} {value!r} does not match pattern .*\\S.*")
        sma_id = request.path_params["sma_id"]
        if sma_id != self._creds["sip_media_application_id"]:
            return chime_error(404, "NotFoundException", f"SipMediaApplication {sma_id} not found.")
        return None

    async def _get_sma(self, request: Request) -> Response:
        refused = await self._authorized(request, await request.body())
        if refused is not None:
            return refused
        c = self._creds
        arn = f"arn:aws:lambda:{c['region']}:{c['account_id']}:function:callplay-chime-handler"
        return JSONResponse(
            {
                "SipMediaApplication": {
                    "SipMediaApplicationId": c["sip_media_application_id"],
                    "AwsRegion": c["region"],
                    "Name": "callplay-emulator",
                    "Endpoints": [{"LambdaArn": arn}],
                }
            }
        )

    async def _update_call(self, request: Request) -> Response:
        body = await request.body()
        refused = await self._authorized(request, body)
        if refused is not None:
            return refused
        arguments = _arguments(body)
        if isinstance(arguments, str):
            return chime_error(400, "BadRequestException", arguments)
        assert self.world is not None
        transaction_id = request.path_params["transaction_id"]
        call = self.world.get_call(transaction_id)
        if call is None or call.state != "connected":
            return chime_error(404, "NotFoundException", f"Transaction {transaction_id} not found.")
        # 202 first: the Lambda runs afterwards, so a 202 does not mean it ran (as on AWS).
        self._spawn(self._on_update(call, arguments))
        return JSONResponse({"SipMediaApplicationCall": {"TransactionId": transaction_id}}, status_code=202)

    async def _create_call(self, request: Request) -> Response:
        body = await request.body()
        refused = await self._authorized(request, body)
        if refused is not None:
            return refused
        parsed = _create_request(body)
        if isinstance(parsed, str):
            return chime_error(400, "BadRequestException", parsed)
        assert self.world is not None
        call = self.world.create_call(str(uuid.uuid4()), [f"4:{parsed['to']}", f"4:{parsed['from']}"])
        call.state = "connecting"  # until the callee answers (at once, after RINGING)
        _chime_data(call)["outbound"] = parsed
        self._spawn(self._on_create(call, parsed["arguments"]))
        return JSONResponse({"SipMediaApplicationCall": {"TransactionId": call.id}}, status_code=201)

    async def _on_create(self, call: SimCall, arguments: dict[str, str]) -> None:
        """The outbound call's invocations: NEW_OUTBOUND_CALL and RINGING (answers ignored), CALL_ANSWERED."""
        session = self._session(call)
        async with session.lock:
            created = {"Type": "CallCreateRequest", "Parameters": {"Arguments": arguments}}
            await self._invoke(call, session, "NEW_OUTBOUND_CALL", created)
            await self._invoke(call, session, "RINGING", None)
            if call.state != "connecting":
                return  # hung up (admin API) while ringing
            call.state = "connected"
            response = await self._invoke(call, session, "CALL_ANSWERED", None)
            actions = await self._accept(call, session, response)
        if actions:
            await self._replace(call, session, actions)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("chime face task failed", exc_info=task.exception())

    # -- the Lambda --------------------------------------------------------------------------------------

    def _session(self, call: SimCall) -> _Session:
        return self._sessions.setdefault(call.id, _Session())

    async def _on_update(self, call: SimCall, arguments: dict[str, str]) -> None:
        session = self._session(call)
        async with session.lock:
            data = {"Type": "CallUpdateRequest", "Parameters": {"Arguments": arguments}}
            response = await self._invoke(call, session, "CALL_UPDATE_REQUESTED", data)
            actions = await self._accept(call, session, response)
        if actions:
            await self._replace(call, session, actions)

    async def _invoke(
        self, call: SimCall, session: _Session, kind: str, action_data: dict[str, Any] | None, **top: Any
    ) -> dict[str, Any] | None:
        """One Lambda invocation (callers hold session.lock, so a call's invocations are serialised)."""
        from callplay.chime_lambda import handler

        if session.sequence >= MAX_INVOCATIONS:
            call.log.append({"at": time.time(), "invocation": kind, "error": "invocation limit reached"})
            return None
        session.sequence += 1
        event: dict[str, Any] = {"SchemaVersion": "1.0", "Sequence": session.sequence, "InvocationEventType": kind}
        if action_data is not None:
            event["ActionData"] = action_data
        event.update(top)
        event["CallDetails"] = self._call_details(call, session)
        entry: dict[str, Any] = {
            "at": time.time(),
            "sequence": session.sequence,
            "invocation": kind,
            "action_data": action_data,
            **top,
        }
        env = {"CALLPLAY_EVENTS_SECRET": self._creds["events_secret"], "AWS_REGION": self.region}
        try:
            response = await asyncio.to_thread(handler.handle, event, env=env, post=self._post)
        except Exception as exc:  # a crashing Lambda: Chime logs it and carries on without new actions
            call.log.append({**entry, "lambda_error": f"{type(exc).__name__}: {exc}"})
            return None
        call.log.append({**entry, "response": response})
        return response if isinstance(response, dict) else None

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """The Lambda's HTTP poster, recorded in the emulator's deliveries."""
        from callplay.chime_lambda import handler

        assert self.world is not None
        try:
            handler.post_json(url, body, headers)
        except Exception as exc:
            self.world.deliveries.append(Delivery(url, None, "chime-lambda", time.time(), error=str(exc)))
            raise
        self.world.deliveries.append(Delivery(url, 200, "chime-lambda", time.time()))

    async def _accept(
        self, call: SimCall, session: _Session, response: dict[str, Any] | None, *, retry: bool = True
    ) -> list[dict[str, Any]]:
        """Validate a Lambda response; store its attributes; the new actions ([] keeps what runs)."""
        if response is None:
            return []
        problem = _invalid_response(response)
        if problem is not None:
            error_type, message = problem
            call.log.append({"at": time.time(), "invalid_lambda_response": error_type, "message": message})
            if not retry:
                return []
            again = await self._invoke(
                call, session, "INVALID_LAMBDA_RESPONSE", None, ErrorType=error_type, ErrorMessage=message
            )
            return await self._accept(call, session, again, retry=False)
        if isinstance(response.get("TransactionAttributes"), dict):
            session.attributes = dict(response["TransactionAttributes"])
            _chime_data(call)["transaction_attributes"] = session.attributes
        return list(response.get("Actions") or [])

    def _call_details(self, call: SimCall, session: _Session) -> dict[str, Any]:
        c = self._creds
        details: dict[str, Any] = {
            "TransactionId": call.id,
            "AwsAccountId": c["account_id"],
            "AwsRegion": c["region"],
            "SipMediaApplicationId": c["sip_media_application_id"],
            "Participants": self._participants(call),
        }
        if session.attributes:
            details["TransactionAttributes"] = dict(session.attributes)
        return details

    def _participants(self, call: SimCall) -> list[dict[str, Any]]:
        outbound = _chime_data(call).get("outbound")
        if outbound is not None:
            return [self._outbound_leg(call, outbound)]
        out = []
        for index, (tag, raw) in enumerate(zip(LEGS, call.participants[:2], strict=False)):
            number = _e164(raw) or f"+1555010000{index}"
            out.append(
                {
                    "CallId": str(uuid.uuid5(_CALL_NS, f"{call.id}/{tag}")),
                    "ParticipantTag": tag,
                    "To": "+18005550100" if tag == "LEG-A" else number,
                    "From": number if tag == "LEG-A" else "+18005550100",
                    "Direction": "Inbound" if tag == "LEG-A" else "Outbound",
                    "StartTimeInMilliseconds": str(int(call.created_at * 1000)),
                    "Status": "Connected" if call.state == "connected" else "Disconnected",
                }
            )
        return out

    def _outbound_leg(self, call: SimCall, outbound: dict[str, Any]) -> dict[str, Any]:
        """LEG-A of a call made with CreateSipMediaApplicationCall; no Status until it is answered."""
        leg: dict[str, Any] = {
            "CallId": str(uuid.uuid5(_CALL_NS, f"{call.id}/LEG-A")),
            "ParticipantTag": "LEG-A",
            "To": outbound["to"],
            "From": outbound["from"],
            "Direction": "Outbound",
            "StartTimeInMilliseconds": str(int(call.created_at * 1000)),
        }
        if call.state != "connecting":
            leg["Status"] = "Connected" if call.state == "connected" else "Disconnected"
        return leg

    # -- running actions ---------------------------------------------------------------------------------

    async def _replace(self, call: SimCall, session: _Session, actions: list[dict[str, Any]]) -> None:
        """A new action list: interrupt an interruptible action, or let a Speak finish, then run it."""
        if session.runner is not None and not session.runner.done():
            session.replacement = actions
            current, action = session.current, session.current_action
            if current is not None and action is not None and action.get("Type") in INTERRUPTIBLE:
                await current.stop("canceled", {"reason": "interrupted"})
            return
        session.runner = self._spawn(self._run(call, session, actions))

    async def _run(self, call: SimCall, session: _Session, actions: list[dict[str, Any]]) -> None:
        while actions:
            following = await self._run_list(call, session, actions)
            if session.replacement is not None:
                actions, session.replacement = session.replacement, None
            else:
                actions = following

    async def _run_list(self, call: SimCall, session: _Session, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run one list in order; the Lambda hears only its end (or the failure that ends it early)."""
        for action in actions:
            if session.replacement is not None:
                return []
            outcome, error = await self._execute(call, session, action)
            data = {"Type": action.get("Type"), "Parameters": action.get("Parameters") or {}}
            if outcome == "interrupted":  # informational: Chime ignores what the Lambda answers
                async with session.lock:
                    await self._invoke(call, session, "ACTION_INTERRUPTED", data)
                return []
            if outcome == "hangup":
                async with session.lock:
                    await self._invoke(call, session, "HANGUP", self._hangup_data(call))
                return []
            if session.replacement is not None:
                return []
            if outcome == "failed":
                async with session.lock:
                    response = await self._invoke(call, session, "ACTION_FAILED", {**data, **error})
                    return await self._accept(call, session, response)
        async with session.lock:
            data = {"Type": actions[-1].get("Type"), "Parameters": actions[-1].get("Parameters") or {}}
            response = await self._invoke(call, session, "ACTION_SUCCESSFUL", data)
            return await self._accept(call, session, response)

    def _hangup_data(self, call: SimCall) -> dict[str, Any]:
        leg = self._participants(call)[0]
        return {
            "Type": "Hangup",
            "Parameters": {"SipResponseCode": "0", "CallId": leg["CallId"], "ParticipantTag": leg["ParticipantTag"]},
        }

    async def _execute(self, call: SimCall, session: _Session, action: dict[str, Any]) -> Outcome:
        kind = str(action.get("Type"))
        params = action.get("Parameters") or {}
        entry: dict[str, Any] = {"at": time.time(), "action": kind, "parameters": params}
        call.log.append(entry)
        if call.state != "connected":
            entry["result"] = "HANGUP"
            return "hangup", {}
        if kind == "Hangup":
            assert self.world is not None
            await self.world.hangup(call.id)
            entry["result"] = "HANGUP"
            return "hangup", {}
        planned = self._plan(call, kind, params)
        if isinstance(planned, dict):
            entry.update(result="ACTION_FAILED", **planned)
            return "failed", planned
        if planned is None:
            entry["result"] = "ACTION_SUCCESSFUL (not simulated)"
            return "succeeded", {}
        item, repeat, leg = planned
        outcome = await self._play(call, session, action, item, repeat, leg)
        entry["result"] = {"succeeded": "ACTION_SUCCESSFUL", "interrupted": "ACTION_INTERRUPTED"}.get(outcome, "HANGUP")
        return outcome, {}

    async def _play(
        self, call: SimCall, session: _Session, action: dict[str, Any], item: SimItem, repeat: int, leg: str
    ) -> str:
        assert self.world is not None
        done: asyncio.Future[tuple[str, dict[str, Any]]] = asyncio.get_running_loop().create_future()

        async def listener(pb: SimPlayback, state: str, info: dict[str, Any]) -> None:
            if state in ("finished", "failed", "canceled") and not done.done():
                done.set_result((state, info))

        handle = f"{call.id}#{session.sequence}:{action.get('Type')}"
        pb = self.world.new_playback(
            call, NAME, handle, [item], loop=repeat, targets=[leg], detail={"action": action.get("Type")}
        )
        pb.listener = listener
        session.current, session.current_action = pb, action
        try:
            await pb.start()
            state, info = await done
        finally:
            session.current, session.current_action = None, None
        if state == "finished":
            return "succeeded"
        return "hangup" if info.get("reason") == "hangup" else "interrupted"

    # -- what each action does ---------------------------------------------------------------------------

    def _plan(self, call: SimCall, kind: str, params: dict[str, Any]) -> Planned | dict[str, str] | None:
        """(what plays, repeat, leg), or the ACTION_FAILED error fields, or None when not simulated."""
        if kind == "PlayAudio":
            return self._plan_play(call, params)
        if kind == "Speak":
            return self._plan_speak(call, params)
        if kind == "Pause":
            leg = self._leg(call, params)
            ms = str(params.get("DurationInMilliseconds", ""))
            if leg is None:
                return _failure("InvalidActionParameter", INVALID_PARAMETER)
            if not ms.isdigit() or int(ms) <= 0:
                return _failure("InvalidActionParameter", "DurationInMilliseconds must be an integer > 0.")
            return SimItem("silence", int(ms) / 1000), 1, leg
        return None

    def _plan_play(self, call: SimCall, params: dict[str, Any]) -> Planned | dict[str, str]:
        from callplay.audio.probe import probe_bytes

        leg = self._leg(call, params)
        if leg is None:
            return _failure("InvalidActionParameter", INVALID_PARAMETER)
        repeat = str(params.get("Repeat", "1"))
        if not repeat.isdigit() or int(repeat) <= 0:
            return _failure("InvalidActionParameter", "Repeat must be an integer > 0.")
        source = params.get("AudioSource") or {}
        bucket, key = str(source.get("BucketName", "")), str(source.get("Key", ""))
        obj = self.store.get(bucket, key) if source.get("Type") == "S3" else None
        if obj is None:
            return _failure("InvalidAudioSource", INVALID_AUDIO, f"no object s3://{bucket}/{key}")
        if obj.content_type.split(";")[0].strip().lower() != "audio/wav":
            return _failure("InvalidAudioSource", INVALID_AUDIO, f"ContentType is {obj.content_type}, not audio/wav")
        if len(obj.data) > MAX_WAV_BYTES:
            return _failure("InvalidAudioSource", INVALID_AUDIO, f"larger than {MAX_WAV_BYTES:,} bytes (50 MB)")
        probe = probe_bytes(obj.data, key)
        problem = _wav_refusal(probe, key)
        if problem:
            return _failure("InvalidAudioSource", INVALID_AUDIO, problem)
        item = SimItem(
            "audio",
            probe.duration_s,
            {"object": f"s3://{bucket}/{key}", "sample_rate": probe.sample_rate, "channels": probe.channels},
        )
        return item, int(repeat), leg

    def _plan_speak(self, call: SimCall, params: dict[str, Any]) -> Planned | dict[str, str]:
        leg = self._leg(call, {"CallId": params.get("CallId")}) if params.get("CallId") else None
        if leg is None:
            return _failure("InvalidActionParameter", INVALID_PARAMETER)
        text = str(params.get("Text") or "")
        if not text:
            return _failure("MissingRequiredActionParameter", "Text is a required parameter.")
        if len(text) > 1000:
            return _failure("MissingRequiredActionParameter", "Text is limited to 1,000 characters")
        if params.get("Engine") not in (None, "standard", "neural") or params.get("TextType") not in (
            None,
            "text",
            "ssml",
        ):
            return _failure("InvalidActionParameter", "Engine or TextType is not a valid value.")
        spoken = re.sub(r"<[^>]+>", "", text) if params.get("TextType") == "ssml" else text
        detail = {"text": text[:80], "voice": params.get("VoiceId") or "Joanna"}
        return SimItem("tts", max(0.5, len(spoken) / SPEAK_CHARS_PER_S), detail), 1, leg

    def _leg(self, call: SimCall, params: dict[str, Any]) -> str | None:
        """The participant an action addresses (CallId wins over ParticipantTag), if it is on the call."""
        legs = {p["CallId"]: p["ParticipantTag"] for p in self._participants(call)}
        if params.get("CallId"):
            return legs.get(str(params["CallId"]))
        tag = str(params.get("ParticipantTag") or "LEG-A")
        return tag if tag in legs.values() else None


# ------------------------------------------------------------------------------------------- helpers


def _failure(error_type: str, message: str, detail: str | None = None) -> dict[str, str]:
    out = {"ErrorType": error_type, "ErrorMessage": message}
    if detail:
        out["EmulatorDetail"] = detail  # not in Chime's events: the emulator's own explanation
    return out


def _arguments(body: bytes) -> dict[str, str] | str:
    """The request's Arguments, or the BadRequestException message."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return "The request body is not valid JSON."
    args = data.get("Arguments") if isinstance(data, dict) else None
    if not isinstance(args, dict):
        return "Arguments is required."
    if len(args) > MAX_ARGUMENTS:
        return f"Arguments can contain 0-{MAX_ARGUMENTS} key-value pairs."
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in args.items()):
        return "Arguments must map strings to strings."
    return args


def _string_map(value: Any, name: str, limit: int) -> dict[str, str] | str:
    """A model map of strings (0 to `limit` entries), or the BadRequestException message."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return f"{name} must map strings to strings."
    if len(value) > limit:
        return f"{name} can contain 0-{limit} key-value pairs."
    return dict(value)


def _create_request(body: bytes) -> dict[str, Any] | str:
    """A CreateSipMediaApplicationCall body checked against the model, or the BadRequestException message."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return "The request body is not valid JSON."
    if not isinstance(data, dict):
        return "The request body must be a JSON object."
    out: dict[str, Any] = {}
    for field_name, key in (("FromPhoneNumber", "from"), ("ToPhoneNumber", "to")):
        number = data.get(field_name)
        if not isinstance(number, str):
            return f"{field_name} is required."
        if E164.fullmatch(number) is None:
            return f"{field_name} must be an E.164 phone number (pattern ^\\+?[1-9]\\d{{1,14}}$)."
        out[key] = number
    for field_name, key, limit in (
        ("SipHeaders", "sip_headers", MAX_SIP_HEADERS),
        ("ArgumentsMap", "arguments", MAX_ARGUMENTS),
    ):
        checked = _string_map(data.get(field_name), field_name, limit)
        if isinstance(checked, str):
            return checked
        out[key] = checked
    return out


def _chime_data(call: SimCall) -> dict[str, Any]:
    """This face's per-call state, kept in SimCall.data["chime"] (JSON-friendly: the admin API shows it)."""
    data: dict[str, Any] = call.data.setdefault(NAME, {})
    return data


def _invalid_response(response: dict[str, Any]) -> tuple[str, str] | None:
    actions = response.get("Actions")
    if actions is not None and not isinstance(actions, list):
        return "InvalidActionsList", "Actions must be a list."
    actions = actions or []
    if len(actions) > MAX_ACTIONS:
        return "ActionsLimitExceeded", f"A response can contain at most {MAX_ACTIONS} actions."
    for action in actions:
        if not isinstance(action, dict) or action.get("Type") not in KNOWN_ACTIONS:
            kind = action.get("Type") if isinstance(action, dict) else action
            return "InvalidActionType", f"Action type {kind!r} is not valid."
        if not isinstance(action.get("Parameters", {}), dict):
            return "InvalidActionParameter", "Parameters must be an object."
    attrs = response.get("TransactionAttributes")
    if attrs is not None:
        if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
            return "TransactionAttributesInvalid", "TransactionAttributes must map strings to strings."
        if len(attrs) > MAX_ATTRIBUTES or len(json.dumps(attrs)) > MAX_ATTRIBUTES_BYTES:
            return "TransactionAttributesInvalidMapSize", (
                f"Transaction Attributes has too many mappings. Maximum number of mappings is {MAX_ATTRIBUTES}"
            )
    return None


def _e164(raw: str) -> str | None:
    match = re.search(r"\+\d{6,15}", raw)
    return match.group(0) if match else None


def _wav_refusal(probe: Any, name: str) -> str | None:
    """Why Chime's PlayAudio would fail this object with InvalidAudioSource, or None.

    The emulator's own reading of Chime's documented rule (uncompressed PCM WAV; 8 kHz mono is only a
    recommendation), kept apart from callplay's client-side check on purpose: a fake that shared the code it
    checks would agree with any mistake in it.
    """
    if probe.error:
        return f"{name} is not a readable audio file: {probe.error}"
    if probe.container != "WAV" or not str(probe.subtype).startswith("PCM_"):
        return f"{name} is {probe.container} {probe.subtype}".strip() + ", not uncompressed PCM WAV"
    if probe.truncated or probe.frames <= 0:
        return f"{name} has no complete audio data"
    return None
