"""The webhook receiver: POST /events/<provider> -> read and check -> ledger -> waiters and live rows.

Always served from a background thread: `events listen --port P` (events/listen.py) waits in the main
thread and prints a row per event, and `play --wait` runs it on 127.0.0.1 (or --listen) and waits for the
playback's end.

What it refuses, in order (nothing refused is recorded; each refusal is one log line, never a traceback):
- a path that names no provider: 404;
- a body over MAX_BODY_BYTES, by Content-Length or while reading (never buffered): 413;
- a provider it holds no secret for, unless told to accept it unchecked (`allow_unsigned`): 401;
- a callback whose token or signature matches none of the provider's secrets: 401;
- anything malformed (not JSON, the wrong shape or types, nesting too deep to parse): 400;
- a provider timestamp outside REPLAY_WINDOW_S of now (a replay, or a clock far off): 401;
- (not refused: a callback the ledger has recorded before, by its keys (callplay.events.Delivery) or its
  events' (callplay.ledger.event_key), is answered 200 so that the provider stops retrying, and recorded once;
  a replay from outside the window was refused above);
- an event naming a playback callplay started on another provider: 422.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from callplay import interrupts
from callplay.asgi import QUIET_START
from callplay.events import MAX_FIELD_CHARS, Delivery, EventRejected, reader_for
from callplay.events.service_log import REQUEST_ID, request_id
from callplay.ledger import Ledger, Recorded, Refusal, cap_detail
from callplay.model import TERMINAL_STATES, Event

log = logging.getLogger("callplay.events")
# Call-level events that end every playback on the call (a hang-up sends no Play* event for them).
CALL_ENDED = frozenset({"CallDisconnected"})
MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a provider's callback is a few hundred bytes
REPLAY_WINDOW_S = 300  # a provider timestamp further than this from now is refused as a replay
# How long the key of a callback with no provider timestamp is remembered (nothing else can refuse its replay).
UNTIMED_KEY_TTL_S = 7 * 24 * 3600
REFUSED_STATUS = {"foreign": 422}  # a callback received before is answered 200: the provider stops retrying
HEALTH_TIMEOUT_S = 5.0  # /healthz answers 503 when the ledger takes longer than this
STOP_GRACE_S = 5.0  # how long stop() lets requests in flight finish (events listen: SHUTDOWN_GRACE_S)
SecretsArg = Mapping[str, str | Sequence[str] | None]


class EventReceiver:
    def __init__(
        self,
        ledger: Ledger,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secrets: SecretsArg | None = None,
        allow_unsigned: Iterable[str] = (),
        public_urls: dict[str, str] | None = None,
        on_event: Callable[[Event], None] | None = None,
        keep_events: bool = True,
        own_logging: bool = False,
    ) -> None:
        self.ledger = ledger
        self.host = host
        self.port = port
        # provider -> the tokens or signing secrets its callbacks may carry (one per profile naming it)
        self.secrets: dict[str, tuple[str, ...]] = {name: _secret_tuple(v) for name, v in (secrets or {}).items()}
        self.allow_unsigned = frozenset(allow_unsigned)  # providers whose callbacks are taken unchecked
        self.public_urls = public_urls or {}  # provider -> the URL the provider was given (signature checks)
        self.on_event = on_event
        # What the waiters read. A standing receiver (events listen) has none: it keeps nothing, or months of
        # events would pile up in memory (the ledger has them).
        self.events: list[Event] = [] if keep_events else _KeptNowhere()
        self.own_logging = own_logging  # the caller set up logging (JSON lines): uvicorn must not add its own
        self.rejected = 0
        self._cond = threading.Condition()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- the app -----------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            try:
                return await self._receive(request)
            except ClientDisconnect:
                return Response(status_code=400)  # the sender is gone; nobody reads this

        async def health(request: Request) -> Response:
            # Liveness only (the process answers): tests and scripts wait for it; /healthz also asks the ledger.
            return JSONResponse({"ok": True, "events": len(self.events)})

        async def healthz(request: Request) -> Response:
            problem = await self._ledger_problem()
            if problem is None:
                return JSONResponse({"status": "ok", "ledger": "ok"})
            return JSONResponse({"status": "unavailable", "ledger": problem}, status_code=503)

        return Starlette(
            routes=[
                Route("/events/{provider}", receive, methods=["POST", "GET"]),
                Route("/health", health, methods=["GET"]),
                Route("/healthz", healthz, methods=["GET"]),
            ],
            middleware=[Middleware(_RequestLog)],
        )

    async def _ledger_problem(self) -> str | None:
        """Why the ledger cannot be used now (for /healthz), or None. Only the kind of failure is answered (the
        endpoint is open to anyone who can reach it); the full message goes to the log."""
        try:
            await asyncio.wait_for(asyncio.to_thread(self.ledger.ping), HEALTH_TIMEOUT_S)
        except TimeoutError:
            reason = f"no answer in {HEALTH_TIMEOUT_S:g} s"
            log.warning("ledger unhealthy: %s", reason, extra={"event": "unhealthy", "reason": reason})
            return reason
        except Exception as exc:
            log.warning(
                "ledger unhealthy: %s: %s",
                type(exc).__name__,
                exc,
                extra={"event": "unhealthy", "reason": f"{type(exc).__name__}: {exc}"},
            )
            return f"unreachable ({type(exc).__name__})"
        return None

    def mode(self, provider: str) -> str:
        """How this receiver treats the provider's path: verified, unchecked or refused."""
        if self.secrets.get(provider):
            return "verified"
        return "unchecked" if provider in self.allow_unsigned else "refused"

    async def _receive(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        read = reader_for(provider)
        if read is None:
            return JSONResponse({"error": f"unknown provider {provider[:40]}"}, status_code=404)
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return self._too_large(provider)
        secrets = self.secrets.get(provider, ())
        if not secrets and provider not in self.allow_unsigned:
            return self._refuse(provider, 401, f"callplay holds no secret to check {provider} callbacks with")
        body = await _read_at_most(request, MAX_BODY_BYTES)
        if body is None:
            return self._too_large(provider)
        # A GET callback (Vonage can be set to send events that way) carries its data in the query string.
        url = str(request.url) if request.method == "GET" else self.public_urls.get(provider) or str(request.url)
        try:
            delivery = read(body, dict(request.headers), url=url, secrets=secrets)
            events = [_bounded(e, checked=delivery.verified) for e in delivery.events]
            _check_window(delivery.signed_at, time.time())
        except EventRejected as exc:
            return self._refuse(provider, exc.status, exc.reason)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError) as exc:
            # A shape the provider's reader did not foresee: still the sender's fault, and never a 500.
            return self._refuse(provider, 400, f"malformed {provider} callback ({type(exc).__name__})")
        try:
            refusal = await asyncio.to_thread(self._accept, provider, delivery, events)
        except Exception as exc:  # the ledger is busy or broken: the provider may retry
            log.warning("could not record a %s callback: %s: %s", provider, type(exc).__name__, exc)
            return JSONResponse({"error": "could not record the callback"}, status_code=503)
        if refusal is not None:
            return self._refuse(provider, REFUSED_STATUS[refusal.reason], refusal.message)
        return Response(status_code=200)

    def _refuse(self, provider: str, status: int, reason: str) -> Response:
        self.rejected += 1
        extra = {"event": "refused", "provider": provider, "status": status, "reason": reason}
        log.warning("rejected %s callback (%s): %s", provider, status, reason, extra=extra)
        return JSONResponse({"error": reason}, status_code=status)

    def _too_large(self, provider: str) -> Response:
        response = self._refuse(provider, 413, f"body over {MAX_BODY_BYTES} bytes")
        response.headers["Connection"] = "close"  # the rest of the body is never read
        return response

    def _accept(self, provider: str, delivery: Delivery, events: list[Event]) -> Refusal | None:
        now = time.time()
        expires = max(delivery.signed_at) + REPLAY_WINDOW_S if delivery.signed_at else now + UNTIMED_KEY_TTL_S
        recorded = self.ledger.record_delivery(provider, events, delivery.keys, expires)
        if not isinstance(recorded, Recorded):
            return recorded
        if recorded.duplicate or len(recorded.new) < len(events):
            log.info("%s callback delivered again: %d new event(s) of %d", provider, len(recorded.new), len(events))
        for event in recorded.new:  # waiters and live rows see each event once, however often delivered
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
            if self.on_event is not None:
                try:
                    self.on_event(event)
                except Exception as exc:  # recorded already: a printing problem must not make the sender retry
                    log.warning("could not show a %s event: %s: %s", provider, type(exc).__name__, exc)
        return None

    # -- serving -----------------------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP named so that asyncio turns Nagle off on accepted sockets (else 40 ms per answer).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            from callplay.errors import UsageError

            raise UsageError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                "choose another --port (or --listen HOST:PORT), or stop what is using it",
            ) from None
        sock.listen(128)
        self.port = sock.getsockname()[1]
        return sock

    def url(self, provider: str) -> str:
        # Bound to every interface: the URL this machine reaches it at.
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/events/{provider}"

    def _server_for(self, sock: socket.socket) -> Any:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        self._sock = sock
        config = uvicorn.Config(
            self.app(),
            log_level="warning",
            lifespan="off",
            access_log=False,
            **QUIET_START,
            # uvicorn's default logging config, or nothing when the caller set up (JSON) logging itself.
            log_config=None if self.own_logging else LOGGING_CONFIG,
        )
        self._server = uvicorn.Server(config)
        return self._server

    def start(self, before_serving: Callable[[], None] | None = None) -> EventReceiver:
        """Serve in a background thread (play --wait). `before_serving` runs once the port listens (connections
        wait in its backlog) and before the first request is served: a service says it is ready there."""
        sock = self._bind()
        if before_serving is not None:
            try:
                before_serving()
            except BaseException:
                sock.close()
                raise
        server = self._server_for(sock)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[self._sock])), name="callplay-events", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop accepting, let the requests in flight finish for up to `grace` seconds (uvicorn's graceful
        shutdown; then they are cancelled, and the sender, answered nothing, retries), and return."""
        if self._server is not None:
            self._server.config.timeout_graceful_shutdown = grace
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=grace + 5)
            self._thread = None

    def force_stop(self) -> None:
        """Stop at once, requests in flight or not (a second Ctrl-C or SIGTERM)."""
        if self._server is not None:
            self._server.should_exit = self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    # -- waiting -----------------------------------------------------------------------------------------

    def wait_for(
        self,
        control_id: str,
        timeout: float | None,
        call_id: str | None = None,
        provider: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> tuple[list[Event], bool]:
        """Events for `control_id` (from `provider`'s path, when given) until one is terminal, or the call
        ends; (events, finished). `on_event` sees each of them once, as it arrives, in this (the waiting)
        thread and outside the lock, so that a slow terminal never holds up the receiver. Wakes often so that
        Ctrl-C and SIGTERM are handled promptly in the main thread."""
        deadline = None if timeout is None else time.monotonic() + timeout
        told = 0
        while True:
            with self._cond:
                seen = len(self.events)
                mine = [e for e in self.events if _concerns(e, control_id, call_id, provider)]
            if on_event is not None:
                for event in mine[told:]:
                    on_event(event)
                told = len(mine)
            if any(e.state in TERMINAL_STATES or e.type in CALL_ENDED for e in mine):
                return mine, True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return mine, False
            with self._cond:
                if len(self.events) == seen:  # nothing arrived while on_event ran: sleep until something does
                    self._cond.wait(0.2 if remaining is None else min(0.2, remaining))
            interrupts.raise_if_pending()  # a Ctrl-C whose KeyboardInterrupt Python dropped

    def wait_for_many(
        self,
        playbacks: Mapping[str, str],
        timeout: float | None,
        provider: str | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_done: Callable[[str, list[Event]], None] | None = None,
    ) -> dict[str, tuple[list[Event], bool]]:
        """wait_for for many playbacks at once (`playbacks`: control ID -> call ID), until each has had a
        terminal event or its call ended, or `timeout` passed: control ID -> (events, finished). `on_event`
        sees each event that concerns one of them and `on_done` each playback as it ends, in this thread and
        outside the lock. Each event is looked at once, however many playbacks are waited for."""
        deadline = None if timeout is None else time.monotonic() + timeout
        events_of: dict[str, list[Event]] = {cid: [] for cid in playbacks}
        on_call: dict[str, list[str]] = {}
        for cid, call_id in playbacks.items():
            on_call.setdefault(call_id, []).append(cid)
        going = set(playbacks)
        read = 0
        while going:
            with self._cond:
                new, read = self.events[read:], len(self.events)
            for event in new:
                if provider is not None and event.provider != provider:
                    continue
                if event.control_id in events_of:
                    mine = [event.control_id]
                elif event.type in CALL_ENDED and event.call_id in on_call:
                    mine = on_call[event.call_id]
                else:
                    continue
                if on_event is not None:
                    on_event(event)
                for cid in mine:
                    events_of[cid].append(event)
                    if cid in going and (event.state in TERMINAL_STATES or event.type in CALL_ENDED):
                        going.discard(cid)
                        if on_done is not None:
                            on_done(cid, events_of[cid])
            remaining = None if deadline is None else deadline - time.monotonic()
            if not going or (remaining is not None and remaining <= 0):
                break
            with self._cond:
                if len(self.events) == read:  # nothing new meanwhile: sleep until something arrives
                    self._cond.wait(0.2 if remaining is None else min(0.2, remaining))
            interrupts.raise_if_pending()  # a Ctrl-C whose KeyboardInterrupt Python dropped
        return {cid: (events_of[cid], cid not in going) for cid in playbacks}


def _concerns(event: Event, control_id: str, call_id: str | None, provider: str | None) -> bool:
    """Whether `event` is one wait_for waits on: the playback's own, or its call's end."""
    if provider is not None and event.provider != provider:
        return False
    return event.control_id == control_id or bool(call_id and event.call_id == call_id and event.type in CALL_ENDED)


# -- helpers -------------------------------------------------------------------------------------------------


def _secret_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(v for v in values if v))  # once each, empty ones dropped


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (reading stops there: a chunked body declares no size)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _check_window(times: tuple[float, ...], now: float) -> None:
    for stamp in times:
        if abs(now - stamp) > REPLAY_WINDOW_S:
            raise EventRejected(f"timestamp more than {REPLAY_WINDOW_S} s from now (replayed, or a clock is off)")


def _bounded(event: Event, *, checked: bool) -> Event:
    """The event as stored and printed: fields of sane length, a small detail, and `unchecked: true` when no
    secret vouched for it (--allow-unsigned), so that the ledger says which events anyone could have sent."""
    for name in ("type", "time", "provider", "call_id", "control_id", "state"):
        value = getattr(event, name)
        if value is not None and len(value) > MAX_FIELD_CHARS:
            raise EventRejected(f"{name} is longer than {MAX_FIELD_CHARS} characters", status=400)
    event.detail = cap_detail(event.detail)
    if not checked:
        event.detail["unchecked"] = True
    return event


class _KeptNowhere(list[Event]):
    """The events list of a receiver nobody waits on: each event is recorded in the ledger and shown, and
    not kept here."""

    def append(self, event: Event) -> None:
        return None


class _RequestLog:
    """ASGI middleware: gives each request an id (the load balancer's X-Request-ID, or a new one), echoed in
    the answer and on every log line of the request, and logs one `received` line per callback with how it
    was answered. The query string is not logged: a token provider's callback URL carries its token there."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = request_id(headers.get(b"x-request-id", b"").decode("latin-1"))
        token = REQUEST_ID.set(rid)
        started, status = time.monotonic(), 0

        async def answer(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            path = str(scope.get("path", ""))
            if path.startswith("/events/"):  # not the health checks a load balancer makes every few seconds
                _log_received(scope, path, status, time.monotonic() - started)
            REQUEST_ID.reset(token)


def _log_received(scope: Any, path: str, status: int, took: float) -> None:
    provider = path.removeprefix("/events/")
    fields = {
        "event": "received",
        "provider": provider if reader_for(provider) is not None else None,
        "method": str(scope.get("method", ""))[:10],
        "path": path[:200],
        "status": status or None,  # 0: the sender went before an answer was sent
        "duration_ms": round(took * 1000, 1),
    }
    log.info("%s %s: %s", fields["method"], fields["path"], status or "no answer", extra=fields)
