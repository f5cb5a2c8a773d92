"""The emulator's shared model of calls, participants and playbacks, and its simulated clock.

Every provider face keeps its calls here, so one `emulator serve` can answer for all four providers and the
admin API sees everything. A playback is a small state machine driven by an asyncio task on the server's
loop: it plays for `round_s * loop` simulated seconds (forever when loop is 0), can be paused (keeping its
position), resumed, stopped or failed, and reports each change to the face that owns it, which turns it into
the provider's own callback.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("callplay.emulator")

StateListener = Callable[["SimPlayback", str, dict[str, Any]], Awaitable[None]]


class Clock:
    """Simulated time: `speed` simulated seconds pass per real second (tests run at 20x or more)."""

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed

    def now(self) -> float:
        return time.monotonic()

    def sim_elapsed(self, since: float) -> float:
        return (time.monotonic() - since) * self.speed

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(max(0.0, sim_seconds) / self.speed)


@dataclass
class SimItem:
    kind: str  # audio | tts | ssml | silence | ringtone
    duration_s: float
    detail: dict[str, Any] = field(default_factory=dict)


_seq = itertools.count(1)


@dataclass
class SimPlayback:
    """One playback on a simulated call."""

    handle: str  # the face's name for it: operationContext, control_id, "stream"/"talk", transaction id
    call_id: str
    face: str
    items: list[SimItem]
    clock: Clock
    loop: int = 1  # plays in total; 0 = until stopped
    volume_db: float = 0.0
    targets: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    state: str = "created"  # created | playing | paused | finished | failed | canceled
    elapsed_s: float = 0.0  # simulated seconds played, across pauses
    seq: int = field(default_factory=lambda: next(_seq))
    history: list[dict[str, Any]] = field(default_factory=list)
    listener: StateListener | None = None
    _task: asyncio.Task[None] | None = None
    _run_started: float = 0.0

    @property
    def round_s(self) -> float:
        return sum(i.duration_s for i in self.items)

    @property
    def total_s(self) -> float:
        return math.inf if self.loop == 0 else self.round_s * self.loop

    @property
    def active(self) -> bool:
        return self.state in ("created", "playing", "paused")

    def position_s(self) -> float:
        if self.state == "playing":
            return min(self.total_s, self.elapsed_s + self.clock.sim_elapsed(self._run_started))
        return self.elapsed_s

    def rounds_completed(self) -> int:
        if self.round_s <= 0:
            return 0
        return int(self.position_s() // self.round_s + 1e-9)

    # -- transitions -------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._enter("playing", {})
        self._spawn()

    async def pause(self) -> None:
        if self.state != "playing":
            return
        self.elapsed_s = self.position_s()
        self._cancel_task()
        await self._enter("paused", {})

    async def resume(self) -> None:
        if self.state != "paused":
            return
        await self._enter("playing", {})
        self._spawn()

    async def stop(self, reason: str = "canceled", info: dict[str, Any] | None = None) -> None:
        if not self.active:
            return
        self.elapsed_s = self.position_s()
        self._cancel_task()
        await self._enter(reason, info or {})

    async def fail(self, info: dict[str, Any]) -> None:
        await self.stop("failed", info)

    async def set_volume(self, volume_db: float) -> None:
        self.volume_db = volume_db
        self.history.append({"state": self.state, "volume_db": volume_db, "at": time.time()})

    # -- internals ---------------------------------------------------------------------------------------

    def _spawn(self) -> None:
        self._run_started = self.clock.now()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _cancel_task(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _run(self) -> None:
        remaining = self.total_s - self.elapsed_s
        if math.isinf(remaining):
            return  # loops until stopped: nothing to schedule
        await self.clock.sleep(remaining)
        self.elapsed_s = self.total_s
        self._task = None
        await self._enter("finished", {})

    async def _enter(self, state: str, info: dict[str, Any]) -> None:
        self.state = state
        self.history.append({"state": state, "position_s": round(self.elapsed_s, 3), "at": time.time(), **info})
        if self.listener is not None:
            try:
                await self.listener(self, state, info)
            except Exception:  # a face's callback must never kill the playback task
                log.exception("state listener failed for %s", self.handle)

    def to_dict(self) -> dict[str, Any]:
        return {
            "handle": self.handle,
            "call_id": self.call_id,
            "face": self.face,
            "state": self.state,
            "items": [{"kind": i.kind, "duration_s": round(i.duration_s, 3), **i.detail} for i in self.items],
            "loop": self.loop,
            "volume_db": self.volume_db,
            "targets": self.targets,
            "round_s": round(self.round_s, 3),
            "position_s": round(self.position_s(), 3),
            "rounds_completed": self.rounds_completed(),
            "history": self.history,
            "detail": self.detail,
        }


DEFAULT_PARTICIPANTS = ["8:acs:emulator-agent-0001", "4:+14255550123"]


@dataclass
class SimCall:
    id: str
    participants: list[str] = field(default_factory=lambda: list(DEFAULT_PARTICIPANTS))
    on_hold: set[str] = field(default_factory=set)  # raw ids of the participants put on hold
    state: str = "connected"
    created_at: float = field(default_factory=time.time)
    playbacks: list[SimPlayback] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # per-face extras (media streaming state, ...)
    log: list[dict[str, Any]] = field(default_factory=list)  # actions carried out (e.g. Chime Lambda actions)

    def active_playbacks(self, face: str | None = None) -> list[SimPlayback]:
        return [p for p in self.playbacks if p.active and (face is None or p.face == face)]

    def find(self, handle: str, face: str | None = None, active_only: bool = False) -> SimPlayback | None:
        for p in reversed(self.playbacks):
            if p.handle == handle and (face is None or p.face == face) and (p.active or not active_only):
                return p
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "participants": self.participants,
            "on_hold": sorted(self.on_hold),
            "created_at": self.created_at,
            "playbacks": [p.to_dict() for p in self.playbacks],
            "data": self.data,
            "log": self.log,
        }


@dataclass
class Delivery:
    url: str
    status: int | None
    kind: str
    at: float
    error: str | None = None


@dataclass
class Faults:
    """Fault injection for tests and demos, applied to provider faces (never to the admin API)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    errors: int = 0  # answer the next N requests with error_status (nothing carried out)
    rate_limit: int = 0  # answer the next N requests with 429
    retry_after: int = 1
    drop: int = 0  # drop the connection of the next N requests (closed unanswered, nothing carried out)
    # Carry out the next N requests (or each with probability after_effect_rate) and then fail the answer: the
    # face acts, and the client sees a dropped connection (after_effect_status 0) or that status. This is
    # what shows a client never sends a play twice when it cannot know whether the first one was done.
    after_effect: int = 0
    after_effect_rate: float = 0.0
    after_effect_status: int = 0
    fired: dict[str, int] = field(default_factory=dict)  # how often each fault was injected, by name

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "fired": dict(self.fired)}

    def count(self, name: str) -> None:
        self.fired[name] = self.fired.get(name, 0) + 1


class World:
    """All simulated calls, media and credentials of one emulator process."""

    def __init__(self, *, speed: float = 1.0, auto_create: bool = False) -> None:
        self.clock = Clock(speed)
        self.calls: dict[str, SimCall] = {}
        self.auto_create = auto_create  # the embedded demo accepts any call id
        self.media: dict[str, tuple[bytes, str]] = {}
        self.faults = Faults()
        self.deliveries: list[Delivery] = []
        self.credentials: dict[str, dict[str, Any]] = {}  # face name -> what it accepts
        self.base_urls: dict[str, str] = {}  # "http" / "https" -> base URL once serving
        self._client: Any = None

    # -- calls -------------------------------------------------------------------------------------------

    def create_call(self, call_id: str | None = None, participants: list[str] | None = None) -> SimCall:
        call_id = call_id or f"call-{secrets.token_hex(4)}"
        call = SimCall(call_id, participants=list(participants or DEFAULT_PARTICIPANTS))
        self.calls[call_id] = call
        return call

    def get_call(self, call_id: str) -> SimCall | None:
        call = self.calls.get(call_id)
        if call is None and self.auto_create:
            call = self.create_call(call_id)
        return call

    async def hangup(self, call_id: str) -> SimCall | None:
        call = self.calls.get(call_id)
        if call is None:
            return None
        for p in call.active_playbacks():
            await p.stop("canceled", {"reason": "hangup"})
        call.state = "disconnected"
        return call

    def new_playback(self, call: SimCall, face: str, handle: str, items: list[SimItem], **kw: Any) -> SimPlayback:
        pb = SimPlayback(handle=handle, call_id=call.id, face=face, items=items, clock=self.clock, **kw)
        call.playbacks.append(pb)
        return pb

    # -- callbacks ---------------------------------------------------------------------------------------

    async def post(
        self,
        url: str,
        payload: Any,
        *,
        kind: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> None:
        """Deliver one callback; failures are recorded, never raised (a real provider retries or drops).

        `content`, when given, is sent as the body byte for byte instead of `payload` as JSON: a face that
        signs the raw body (SignalWire's X-SignalWire-Signature) must send exactly the bytes it signed.
        """
        import httpx

        if self._client is None:
            # verify=False: callbacks go to the user's receiver, often a local tunnel with its own cert.
            self._client = httpx.AsyncClient(timeout=5.0, verify=False)
        try:
            if content is not None:
                resp = await self._client.post(url, content=content, headers=headers or {})
            else:
                resp = await self._client.post(url, json=payload, headers=headers or {})
            self.deliveries.append(Delivery(url, resp.status_code, kind, time.time()))
        except Exception as exc:  # unreachable receiver: keep going like the real service
            self.deliveries.append(Delivery(url, None, kind, time.time(), error=str(exc)))
            log.info("callback to %s failed: %s", url, exc)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
