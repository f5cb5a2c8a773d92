"""The webhook receiver: POST /events/<provider> -> parse -> ledger -> waiters and live rows.

Always served from a background thread: `events listen --port P` (events/listen.py) waits in the main
thread and prints a row per event, and `play --wait` runs it on 127.0.0.1 (or --listen) and waits for the
playback's end.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from callplay.events import EventRejected, parser_for
from callplay.ledger import Ledger
from callplay.model import TERMINAL_STATES, Event

log = logging.getLogger("callplay.events")
# Call-level events that end every playback on the call (a hang-up sends no Play* event for them).
CALL_ENDED = frozenset({"CallDisconnected"})


class EventReceiver:
    def __init__(
        self,
        ledger: Ledger,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secrets: dict[str, str | None] | None = None,
        public_urls: dict[str, str] | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.host = host
        self.port = port
        self.secrets = secrets or {}
        self.public_urls = public_urls or {}  # provider -> the URL the provider was given (signature checks)
        self.on_event = on_event
        self.events: list[Event] = []
        self.rejected = 0
        self._cond = threading.Condition()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- the app -----------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            provider = request.path_params["provider"]
            parse = parser_for(provider)
            if parse is None:
                return JSONResponse({"error": f"unknown provider {provider}"}, status_code=404)
            body = await request.body()
            # A GET callback (Vonage can be set to send events that way) carries its data in the query string.
            url = str(request.url) if request.method == "GET" else self.public_urls.get(provider) or str(request.url)
            try:
                events = parse(body, dict(request.headers), url=url, secret=self.secrets.get(provider))
            except EventRejected as exc:
                self.rejected += 1
                log.warning("rejected %s callback: %s", provider, exc.reason)
                return JSONResponse({"error": exc.reason}, status_code=exc.status)
            except ValueError as exc:
                return JSONResponse({"error": f"malformed {provider} event: {exc}"}, status_code=400)
            await asyncio.to_thread(self._accept, events)
            return Response(status_code=200)

        async def health(request: Request) -> Response:
            return JSONResponse({"ok": True, "events": len(self.events)})

        return Starlette(
            routes=[
                Route("/events/{provider}", receive, methods=["POST", "GET"]),
                Route("/health", health, methods=["GET"]),
            ]
        )

    def _accept(self, events: list[Event]) -> None:
        for event in events:
            self.ledger.record_event(event)
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
            if self.on_event is not None:
                self.on_event(event)

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
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/events/{provider}"

    def _server_for(self, sock: socket.socket) -> Any:
        import uvicorn

        self._sock = sock
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        return self._server

    def start(self) -> EventReceiver:
        """Serve in a background thread (play --wait)."""
        server = self._server_for(self._bind())
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[self._sock])), name="callplay-events", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- waiting -----------------------------------------------------------------------------------------

    def wait_for(self, control_id: str, timeout: float | None, call_id: str | None = None) -> tuple[list[Event], bool]:
        """Events for `control_id` until one is terminal, or the call ends; (events, finished). Wakes often
        so that Ctrl-C and SIGTERM are handled promptly in the main thread."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                mine = [
                    e
                    for e in self.events
                    if e.control_id == control_id or (call_id and e.call_id == call_id and e.type in CALL_ENDED)
                ]
                if any(e.state in TERMINAL_STATES or e.type in CALL_ENDED for e in mine):
                    return mine, True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return mine, False
                self._cond.wait(0.2 if remaining is None else min(0.2, remaining))
