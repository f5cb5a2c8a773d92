"""One emulator process serving every provider face over one shared World.

The app is a small ASGI dispatcher: each face says which requests it owns (by path, or by the SigV4 scope
for S3), the admin API lives under /_emulator, and fault injection wraps the faces only. `EmulatorServer`
runs it on uvicorn, on a plain-http socket and optionally a TLS socket, in the foreground (`emulator serve`)
or in a background thread (the embedded demo profile, and the tests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callplay.asgi import QUIET_START
from callplay.emulator.state import World

log = logging.getLogger("callplay.emulator")
# The first line of the config `emulator serve --write-config` writes: it replaces only a file that starts so.
CONFIG_MARKER = "# Written by `callplay emulator serve`"
ADMIN_PREFIX = "/_emulator"
SHUTDOWN_GRACE = 2.0  # seconds stop() gives a request in flight


class Face(Protocol):
    """One provider's REST API, emulated."""

    name: str

    def owns(self, scope: Scope) -> bool:
        """True for requests this face answers (by path prefix, or header for S3)."""
        ...

    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """The face's ASGI app (usually a Starlette router)."""
        ...

    def error(self, status: int, message: str) -> Response:
        """An error answer in the provider's own shape (used by fault injection)."""
        ...

    def profile(self, server: EmulatorServer) -> dict[str, Any]:
        """The `emulator-<name>` profile table that points callplay at this face."""
        ...


def header(scope: Scope, name: str) -> str:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return ""


# --------------------------------------------------------------------------------------------- built-in media


def _tone_wav(rate: int, channels: int, seconds: float, hz: int) -> bytes:
    """A 16-bit PCM sine WAV, with the standard library only: the embedded emulator builds these at start, in
    the demo's first command, where numpy and soundfile would cost a third of a second to import. `hz` divides
    `rate`, so one period is computed and repeated."""
    import io
    import math
    import struct
    import wave

    period = rate // hz
    samples = [round(0.3 * 32767 * math.sin(2 * math.pi * i / period)) for i in range(period)]
    frames = b"".join(struct.pack("<" + "h" * channels, *([v] * channels)) for v in samples)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames * int(seconds * hz))
    return buf.getvalue()


def builtin_media() -> dict[str, tuple[bytes, str]]:
    """Prompts served at /_emulator/media/NAME for demos and runbook tests."""
    return {
        "hold-16k.wav": (_tone_wav(16000, 1, 3.0, 400), "audio/wav"),
        "prompt-8k.wav": (_tone_wav(8000, 1, 2.0, 400), "audio/wav"),
        "stereo-44k.wav": (_tone_wav(44100, 2, 2.0, 441), "audio/wav"),
    }


# ----------------------------------------------------------------------------------------------- admin API


def admin_app(world: World, faces: list[Face], server: EmulatorServer | None) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "faces": [f.name for f in faces], "speed": world.clock.speed})

    async def list_calls(request: Request) -> Response:
        return JSONResponse({"calls": [c.to_dict() for c in world.calls.values()]})

    async def create_call(request: Request) -> Response:
        body = await _json_or_empty(request)
        if body is None:
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        call_id = body.get("id")
        if call_id in world.calls:
            return JSONResponse({"error": f"call {call_id} exists"}, status_code=409)
        call = world.create_call(call_id, body.get("participants"))
        if isinstance(body.get("data"), dict):
            call.data.update(body["data"])  # per-face extras, e.g. {"acs": {"callbackUri": ...}}
        return JSONResponse(call.to_dict(), status_code=201)

    async def get_call(request: Request) -> Response:
        call = world.calls.get(request.path_params["call_id"])
        if call is None:
            return JSONResponse({"error": "no such call"}, status_code=404)
        return JSONResponse(call.to_dict())

    async def hangup(request: Request) -> Response:
        call = await world.hangup(request.path_params["call_id"])
        if call is None:
            return JSONResponse({"error": "no such call"}, status_code=404)
        return JSONResponse(call.to_dict())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_or_empty(request)
            if body is None:
                return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
            for key, value in body.items():
                if not hasattr(world.faults, key):
                    return JSONResponse({"error": f"unknown fault {key}"}, status_code=400)
                setattr(world.faults, key, type(getattr(world.faults, key))(value))
        return JSONResponse(world.faults.to_dict())

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_or_empty(request) or {}
            world.clock.speed = float(body.get("speed", world.clock.speed))
        return JSONResponse({"speed": world.clock.speed})

    async def media(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "PUT":
            world.media[name] = (await request.body(), request.headers.get("content-type", "audio/wav"))
            return JSONResponse({"name": name, "url": _media_url(world, name)}, status_code=201)
        if name not in world.media:
            return Response(status_code=404, content=b"not found")
        data, ctype = world.media[name]
        return Response(data, media_type=ctype)

    async def deliveries(request: Request) -> Response:
        return JSONResponse({"deliveries": [d.__dict__ for d in world.deliveries]})

    async def config(request: Request) -> Response:
        # Profiles as `--write-config` would write them, including credentials: the admin API is for the
        # machine that runs the emulator, the same trust as the 0600 file.
        if server is None:
            return JSONResponse({"error": "not serving"}, status_code=503)
        return JSONResponse(server.config_dict())

    p = ADMIN_PREFIX
    return Starlette(
        routes=[
            Route(f"{p}/health", health),
            Route(f"{p}/calls", list_calls, methods=["GET"]),
            Route(f"{p}/calls", create_call, methods=["POST"]),
            Route(f"{p}/calls/{{call_id:path}}/hangup", hangup, methods=["POST"]),
            Route(f"{p}/calls/{{call_id:path}}", get_call, methods=["GET"]),
            Route(f"{p}/faults", faults, methods=["GET", "POST"]),
            Route(f"{p}/clock", clock, methods=["GET", "POST"]),
            Route(f"{p}/media/{{name:path}}", media, methods=["GET", "HEAD", "PUT"]),
            Route(f"{p}/deliveries", deliveries, methods=["GET"]),
            Route(f"{p}/config", config, methods=["GET"]),
        ]
    )


def _media_url(world: World, name: str) -> str:
    return f"{world.base_urls.get('http', '')}{ADMIN_PREFIX}/media/{name}"


async def _json_or_empty(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# ------------------------------------------------------------------------------------------ the dispatcher


class EmulatorApp:
    """ASGI entry point: admin API, then the face that owns the request, with fault injection."""

    def __init__(self, world: World, faces: list[Face], server: EmulatorServer | None = None) -> None:
        self.world = world
        self.faces = faces
        self.admin = admin_app(world, faces, server)
        self._face_apps = [(f, f.app()) for f in faces]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets: nothing to do
        if scope["path"].startswith(ADMIN_PREFIX):
            await self.admin(scope, receive, send)
            return
        for face, asgi in self._face_apps:
            if face.owns(scope):
                if await self._inject_fault(face, asgi, scope, receive, send):
                    return
                await asgi(scope, receive, send)
                return
        await JSONResponse({"error": "Not Found", "path": scope["path"]}, status_code=404)(scope, receive, send)

    async def _inject_fault(self, face: Face, asgi: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer with the fault due, if any (True), or leave the request to the face (False).

        Faults that turn a request away (drop, rate_limit, error_rate) come first and leave the face untouched;
        after_effect lets the face carry the request out and then fails the answer."""
        f = self.world.faults
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 1000)
        if f.drop > 0:
            f.drop -= 1
            f.count("drop")
            await _drop_connection(scope, send)
            return True
        if f.rate_limit > 0:
            f.rate_limit -= 1
            f.count("rate_limit")
            resp = face.error(429, "Too Many Requests")
            resp.headers["Retry-After"] = str(f.retry_after)
            await resp(scope, receive, send)
            return True
        if f.errors > 0 or (f.error_rate and random.random() < f.error_rate):
            f.errors = max(0, f.errors - 1)
            f.count("error")
            await face.error(f.error_status, "Injected failure")(scope, receive, send)
            return True
        if f.after_effect > 0 or (f.after_effect_rate and random.random() < f.after_effect_rate):
            f.after_effect = max(0, f.after_effect - 1)
            f.count("after_effect")

            async def discard(message: Message) -> None:
                return None  # the face's own answer never reaches the client

            await asgi(scope, receive, discard)
            if f.after_effect_status:
                await face.error(f.after_effect_status, "Injected failure after the request was carried out")(
                    scope, receive, send
                )
            else:
                await _drop_connection(scope, send)
            return True
        return False


async def _drop_connection(scope: Scope, send: Send) -> None:
    """Close the client's connection without an answer, as a crashed server or a cut network would.

    uvicorn's `send` is a method of the request's cycle, which holds the connection's transport; marking the
    cycle disconnected stops uvicorn from answering 500 for us. Under another server, the fallback promises a
    body and closes after one byte (a client that does not check Content-Length may not notice that one).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is not None and isinstance(transport, asyncio.BaseTransport):
        cycle.disconnected = True
        transport.close()
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})


# ------------------------------------------------------------------------------------------------ serving


# The faces, by name: the class in callplay.emulator.NAME. The emulator keeps its own list (it imports nothing
# from the provider backends or their facts, on purpose: a fake shares no code with what it checks);
# tests/test_registry.py holds it to the provider registry.
FACES: dict[str, str] = {
    "acs": "AcsFace",
    "signalwire": "SignalWireFace",
    "vonage": "VonageFace",
    "chime": "ChimeFace",
}
FACE_NAMES: tuple[str, ...] = tuple(FACES)


def default_faces(names: Iterable[str] | None = None) -> list[Face]:
    """The faces by name (all of them by default), each module imported on demand."""
    import importlib

    return [getattr(importlib.import_module(f"callplay.emulator.{name}"), FACES[name])() for name in names or FACES]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP,
    # and accepted sockets inherit proto 0 otherwise. With Nagle on, each answer on a keep-alive connection
    # waited for the client's delayed ACK, 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@dataclass
class Endpoints:
    http: str
    https: str | None


class EmulatorServer:
    """Runs the emulator on uvicorn: `start()` in a thread (tests, demo) or `serve_forever()`."""

    def __init__(
        self,
        world: World | None = None,
        faces: list[Face] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_port: int | None = 0,
        state_dir: Path | None = None,
        with_builtin_media: bool = True,
    ) -> None:
        self.world = world or World()
        self.faces = faces if faces is not None else default_faces()
        for face in self.faces:
            bind = getattr(face, "bind", None)
            if bind is not None:
                bind(self.world)  # faces keep their calls in the shared world
        self.host = host
        self.port = port
        self.tls_port = tls_port
        # Where the TLS CA and generated keys go, and stay. None: a folder of this server's own under callplay's
        # state dir, made on first use and removed when it stops (two emulators never share, or overwrite,
        # each other's keys; a stopped one's are no use to anybody).
        self.state_dir = state_dir
        self._temp_dir: Path | None = None
        self.tls: Any = None
        if with_builtin_media:
            self.world.media.update(builtin_media())
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[Any] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.endpoints: Endpoints | None = None

    # -- public ------------------------------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        assert self.endpoints is not None
        return self.endpoints.http

    @property
    def https_url(self) -> str | None:
        assert self.endpoints is not None
        return self.endpoints.https

    def start(self, timeout: float = 15.0) -> EmulatorServer:
        self._thread = threading.Thread(target=self._thread_main, name="callplay-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("emulator did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, promptly: requests in flight may finish, idle keep-alive connections are dropped."""
        thread, loop = self._thread, self._loop
        self._thread = None
        if thread is None:
            return
        if loop is not None and not loop.is_closed() and thread.is_alive():
            with suppress(RuntimeError):  # the loop has just ended by itself
                asyncio.run_coroutine_threadsafe(self._shut_down(), loop)
        thread.join(timeout)
        self.remove_temporary_keys()  # also when the thread is still winding down: uvicorn has read them

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, on_ready: Callable[[EmulatorServer], None] | None = None) -> None:
        try:
            asyncio.run(self._serve(on_ready))
        finally:  # however serving ended (Ctrl-C, SIGTERM, a port in use)
            self.remove_temporary_keys()

    def config_dict(self) -> dict[str, Any]:
        """A callplay config with one `emulator-<face>` profile per face served."""
        profiles = {f"emulator-{face.name}": face.profile(self) for face in self.faces}
        default = next(iter(profiles), None)
        out: dict[str, Any] = {"profiles": profiles}
        if default:
            out = {"default_profile": default, **out}
        return out

    def write_config(self, path: Path) -> None:
        """The config, mode 0600 (it holds every face's credentials), whole or not at all; OSError on failure."""
        import tomli_w

        from callplay.fileio import write_bytes

        header = f"{CONFIG_MARKER}; valid while that emulator runs.\n".encode()
        write_bytes(path, header + tomli_w.dumps(self.config_dict()).encode(), secret=True)

    def key_dir(self) -> Path:
        """The folder for the TLS files and generated keys (see state_dir), made 0700 on first use."""
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            return self.state_dir
        if self._temp_dir is None:
            import tempfile

            from callplay.config import state_dir

            base = state_dir() / "emulator"
            base.mkdir(parents=True, exist_ok=True)
            self._temp_dir = Path(tempfile.mkdtemp(prefix="keys-", dir=base))  # 0700
        return self._temp_dir

    def remove_temporary_keys(self) -> None:
        """Remove the folder key_dir() made (nothing when state_dir was given). Idempotent."""
        import shutil

        temp, self._temp_dir = self._temp_dir, None
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve(None))
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
        finally:
            self.remove_temporary_keys()

    async def _serve(self, on_ready: Callable[[EmulatorServer], None] | None) -> None:
        import uvicorn

        self._loop = asyncio.get_running_loop()
        app = EmulatorApp(self.world, self.faces, self)
        http_sock = _bind(self.host, self.port)
        host_for_url = f"[{self.host}]" if ":" in self.host else self.host
        http_url = f"http://{host_for_url}:{http_sock.getsockname()[1]}"
        https_url = None
        jobs = []
        common = {
            "log_level": "warning",
            "lifespan": "off",
            "access_log": False,
            "timeout_keep_alive": 5,
            **QUIET_START,
        }
        srv = uvicorn.Server(uvicorn.Config(app, **common))
        self._servers.append(srv)
        jobs.append(srv.serve(sockets=[http_sock]))
        if self.tls_port is not None:
            self.tls = self._make_tls()
            tls_sock = _bind(self.host, self.tls_port)
            https_url = f"https://{host_for_url}:{tls_sock.getsockname()[1]}"
            tls_srv = uvicorn.Server(
                uvicorn.Config(app, ssl_certfile=str(self.tls.cert_file), ssl_keyfile=str(self.tls.key_file), **common)
            )
            self._servers.append(tls_srv)
            jobs.append(tls_srv.serve(sockets=[tls_sock]))
        self.endpoints = Endpoints(http_url, https_url)
        self.world.base_urls = {"http": http_url, **({"https": https_url} if https_url else {})}
        tasks = [asyncio.ensure_future(j) for j in jobs]
        while not all(s.started for s in self._servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        self._ready.set()
        if on_ready is not None:
            on_ready(self)
        try:
            await asyncio.gather(*tasks)
        finally:
            await self.world.aclose()

    async def _shut_down(self, grace: float = SHUTDOWN_GRACE) -> None:
        """uvicorn's graceful shutdown, without its wait on connections that only the client could close.

        uvicorn closes each idle connection and then waits for all of them to go. Over TLS a close is a
        handshake (close_notify) that a client idling in its connection pool never answers, so stop() used to
        wait for its whole join timeout. A connection closing on our side with nothing left to send is aborted
        at once; one still answering a request gets `grace` seconds, and is aborted after that.
        """
        loop = asyncio.get_running_loop()
        for server in self._servers:
            server.should_exit = True
        deadline = loop.time() + grace
        while loop.time() < deadline:  # until uvicorn is done and asyncio.run() cancels this task
            for transport in self._open_transports():
                if transport.is_closing() and not transport.get_write_buffer_size():
                    transport.abort()
            await asyncio.sleep(0.02)
        for server in self._servers:
            server.force_exit = True
        for transport in self._open_transports():
            transport.abort()

    def _open_transports(self) -> list[asyncio.Transport]:
        protocols = [conn for server in self._servers for conn in server.server_state.connections]
        return [t for t in (getattr(conn, "transport", None) for conn in protocols) if t is not None]

    def _make_tls(self) -> Any:
        from callplay.emulator.tls import make_tls

        return make_tls(self.key_dir() / "tls")
