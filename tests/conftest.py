"""Shared fixtures: one in-process emulator (all faces, fast clock) and a CLI runner pointed at it.

Nothing here patches an SDK or a provider class: tests drive callplay's real code, which drives the real
SDKs over real HTTP to the emulator. The CLI runs in this process (`run_cli`, the `cli` fixture) through
`callplay.cli.main`, as the console script would run it; `run_subprocess` and `spawn_cli` start a real
`python -m callplay` for the tests whose subject is the process itself (signals, exit on interrupt, import
cost, os._exit, closed pipes) or that need the CLI running beside the test (events listen, emulator serve).
"""

from __future__ import annotations

import fcntl
import functools
import io
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from callplay.cli import main
from callplay.emulator.app import EmulatorServer
from callplay.emulator.state import World
from tests.pgcluster import PG_REQUIRED_ENV, ClusterFailed, PgCluster, pg_installed, start_cluster, stop_cluster

T = TypeVar("T")

# Bytecode caches, as on any machine where PYTHONDONTWRITEBYTECODE is not set (it is in some sandboxes and CI
# images): without them every worker recompiles pytest's rewritten test modules (about 2.5 s of CPU each) and
# every `python -m callplay` subprocess recompiles callplay. Set here, before the workers and test modules start.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

TEST_SPEED = 20.0  # simulated seconds per real second
# One client for the emulator's admin API (plain http): httpx.get() would build a TLS context per call, 35 ms,
# which adds up in polling loops and in the teardown of every test.
admin = httpx.Client(timeout=30)
# The same for the tests' own requests (callbacks, faces, healthz), as httpx.get()/post() would send them: each
# on its own connection, closed after the answer (an idle one would hold up a server's graceful stop), and
# only the TLS context made once.
web = httpx.Client(timeout=30, headers={"Connection": "close"}, limits=httpx.Limits(max_keepalive_connections=0))


@functools.cache
def tls_context(ca_file: str) -> ssl.SSLContext:
    """A client TLS context that trusts only `ca_file` (the emulator's CA), made once: ssl.create_default_context
    also loads the system's CA store, some 50 ms each time."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca_file)
    return context


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    world = World(speed=TEST_SPEED)
    server = EmulatorServer(world, state_dir=tmp_path_factory.mktemp("emulator"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config, state or provider env vars."""
    monkeypatch.setenv("CALLPLAY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CALLPLAY_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("CALLPLAY_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in list(os.environ):
        if var.startswith(("CALLPLAY_PROFILE", "CALLPLAY_OUTPUT", "SIGNALWIRE_", "AWS_", "VONAGE_")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Retries as in production (same attempts, same rules), with short backoff waits so the suite stays fast;
    # a Retry-After the emulator sends is still honoured in full.
    monkeypatch.delenv("CALLPLAY_RETRIES", raising=False)
    monkeypatch.setenv("CALLPLAY_RETRY_BASE_S", "0.01")
    monkeypatch.setenv("CALLPLAY_RETRY_MAX_WAIT_S", "0.05")


@pytest.fixture(autouse=True)
def _reset_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        server: EmulatorServer = request.getfixturevalue("emulator")
        admin.post(
            f"{server.http_url}/_emulator/faults",
            json={
                "latency_ms": 0,
                "error_rate": 0.0,
                "rate_limit": 0,
                "retry_after": 1,
                "drop": 0,
                "error_status": 503,
                "errors": 0,
                "after_effect": 0,
                "after_effect_rate": 0.0,
                "after_effect_status": 0,
                "fired": {},
            },
        )
        admin.post(f"{server.http_url}/_emulator/clock", json={"speed": TEST_SPEED})


@pytest.fixture
def config_file(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config `emulator serve --write-config` would write, active for this test."""
    path = tmp_path / "callplay.toml"
    emulator.write_config(path)
    monkeypatch.setenv("CALLPLAY_CONFIG", str(path))
    return path


@pytest.fixture
def new_call(emulator: EmulatorServer) -> Any:
    """A factory for fresh simulated calls: new_call() -> call id."""

    def make(participants: list[str] | None = None) -> str:
        call_id = f"call-{uuid.uuid4().hex[:10]}"
        body: dict[str, Any] = {"id": call_id}
        if participants:
            body["participants"] = participants
        resp = admin.post(f"{emulator.http_url}/_emulator/calls", json=body)
        resp.raise_for_status()
        return call_id

    return make


@pytest.fixture
def call_id(new_call: Any) -> str:
    return str(new_call())


def emulator_call(emulator: EmulatorServer, call_id: str) -> dict[str, Any]:
    resp = admin.get(f"{emulator.http_url}/_emulator/calls/{call_id}")
    resp.raise_for_status()
    return dict(resp.json())


def emulator_playbacks(emulator: EmulatorServer, call_id: str, handle: str) -> list[dict[str, Any]]:
    """The emulator's playbacks on the call with this handle (control ID, operationContext, ...), oldest first."""
    return [dict(p) for p in emulator_call(emulator, call_id)["playbacks"] if p["handle"] == handle]


def media_url(emulator: EmulatorServer, name: str = "prompt-8k.wav") -> str:
    """A built-in (or uploaded) prompt the emulator serves, as a provider would fetch it."""
    return f"{emulator.http_url}/_emulator/media/{name}"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))

    def data(self) -> dict[str, Any]:
        """The envelope's data, after checking the command succeeded."""
        assert self.exit_code == 0, self.stderr
        envelope = self.json()
        assert envelope["ok"] is True and envelope["error"] is None
        return dict(envelope["data"])


class CliTimeout(BaseException):
    """A BaseException, so that no `except Exception` in callplay can mistake it for a fault of its own."""


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60, input: str | None = None) -> CliResult:
    """Run `callplay ARGS` in this process as a user would run it: no terminal, the test's environment plus
    `env`, stdin from `input` (or empty); stdout, stderr and the exit code as a subprocess would give them.

    Everything a call may change in the process is put back afterwards: the environment, the standard streams,
    logging and warnings setup, and the state callplay keeps between calls (the same as a fresh process).
    """
    out, err = _Capture(), _Capture()
    saved_env = dict(os.environ)
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    try:
        os.environ.update(env or {})
        for name, value in NO_TERMINAL.items():
            os.environ.setdefault(name, value)
        _fresh_process_state()
        sys.stdin = io.StringIO(input or "")
        sys.stdout, sys.stderr = out, err
        # As in a new process: no logging handlers (warnings go to stderr via logging's last resort, instead of
        # to pytest's log capture) and Python's default warning filters (pytest's would record them instead).
        root.handlers = []
        with warnings.catch_warnings(), _deadline(timeout, args):
            warnings.resetwarnings()
            for action, category in DEFAULT_WARNING_FILTERS:
                warnings.simplefilter(action, category)  # type: ignore[arg-type]
            warnings.showwarning = _print_warning
            try:
                code = main(list(args))
            except Exception:  # what the interpreter does with an exception nothing caught (CALLPLAY_DEBUG=1)
                traceback.print_exc()
                code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        root.handlers = saved_handlers
        _restore_env(saved_env)
    return CliResult(code, out.text(), err.text())


# What a subprocess with no terminal sees: click and rich size their output from these when there is no tty,
# and would otherwise measure the terminal pytest was started from.
NO_TERMINAL = {"COLUMNS": "80", "LINES": "24"}
DEFAULT_WARNING_FILTERS = [  # the interpreter's defaults (python -W not given), in reverse order of priority
    ("ignore", ResourceWarning),
    ("ignore", ImportWarning),
    ("ignore", PendingDeprecationWarning),
    ("ignore", DeprecationWarning),
]


def _print_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """How the interpreter shows a warning (pytest's own hook would record it instead)."""
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


class _Capture(io.TextIOWrapper):
    """A standard stream for one call: UTF-8 bytes underneath (for code that writes to .buffer)."""

    def __init__(self) -> None:
        self._bytes = io.BytesIO()
        super().__init__(self._bytes, encoding="utf-8", errors="backslashreplace", write_through=True)

    def text(self) -> str:
        self.flush()
        raw = self._bytes.getvalue().decode("utf-8", errors="replace")
        return raw.replace("\r\n", "\n").replace("\r", "\n")  # text=True in subprocess.run does the same


def _fresh_process_state() -> None:
    """Forget what callplay caches per process, so each call starts as a new process would."""
    inputs = sys.modules.get("callplay.audio.inputs")
    if inputs is not None:
        inputs.reset_s3_client()  # a boto3 client keeps the endpoint and credentials it was made with


def _restore_env(saved: dict[str, str]) -> None:
    for name in [n for n in os.environ if n not in saved]:
        del os.environ[name]
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


@contextmanager
def _deadline(seconds: float | None, args: tuple[str, ...]) -> Iterator[None]:
    """Raise CliTimeout in the call after `seconds`, keeping (and re-arming) pytest-timeout's own alarm."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CliTimeout(f"callplay {' '.join(args)} still running after {seconds} s")

    outer_handler = signal.signal(signal.SIGALRM, expire) or signal.SIG_DFL  # None: not set from Python
    outer_left, outer_interval = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    if outer_left and outer_left <= seconds:  # the outer alarm comes first: it alone stays armed
        signal.signal(signal.SIGALRM, outer_handler)
        signal.setitimer(signal.ITIMER_REAL, outer_left, outer_interval)
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            left = max(outer_left - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


def run_subprocess(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, input: str | None = None
) -> CliResult:
    """Run `python -m callplay ARGS` as a separate process: no terminal, the test's environment plus `env`."""
    proc = subprocess.run(
        [sys.executable, "-m", "callplay", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def spawn_cli(*args: str, **popen: Any) -> subprocess.Popen[Any]:
    """`python -m callplay ARGS` started in the background: stdin empty, stdout and stderr piped as text, unless
    `popen` (subprocess.Popen's arguments) says otherwise."""
    options: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen([sys.executable, "-m", "callplay", *args], **{**options, "text": True, **popen})


def wait_until(check: Callable[[], T], timeout: float = 30.0, *, describe: Callable[[], object] | None = None) -> T:
    """Poll until `check()` is truthy and return that value. A deadline against hangs, not a timing assertion;
    `describe()` says what was seen instead when the deadline passes."""
    deadline = time.monotonic() + timeout
    pause = 0.005  # quick at first (most waits are short), then every 50 ms: some checks list a whole emulator
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = describe() if describe is not None else value
            raise AssertionError(f"the expected state was never reached in {timeout:g} s: {seen!r}")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)


def free_port() -> int:
    """A port nothing listens on now (for a server a test starts itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    """True once something answers GET url with 200 (a server started in the background is up)."""
    try:
        return admin.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


# ------------------------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> PgCluster:
    """One throwaway PostgreSQL cluster for the whole run, shared by the xdist workers (initdb and a start cost
    some 2 s of CPU each): the first worker that needs it starts it, under a lock, and notes where it is in the
    run's temporary folder; pytest_sessionfinish in the controlling process stops and removes it. initdb in a
    temporary folder, a Unix socket there and no TCP. No PostgreSQL installed: the tests that need it skip, or
    fail where CALLPLAY_TEST_PG=required (CI)."""
    if not pg_installed():
        reason = "PostgreSQL is not installed (no initdb): apt-get install postgresql"
        if os.environ.get(PG_REQUIRED_ENV) == "required":
            pytest.fail(f"{reason}, and {PG_REQUIRED_ENV}=required")
        pytest.skip(reason)
    noted = _run_folder(tmp_path_factory.getbasetemp()) / PG_NOTE
    with (noted.parent / "pg.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if noted.exists():
            return PgCluster(Path(noted.read_text()))
        try:
            cluster = start_cluster()
        except ClusterFailed as exc:
            pytest.fail(str(exc))
        noted.write_text(str(cluster.socket_dir))
        return cluster


PG_NOTE = "pg-cluster"  # in the run's temporary folder: where the shared cluster is


def _run_folder(basetemp: Path) -> Path:
    """The temporary folder of the whole run: an xdist worker's basetemp is a folder in it."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controlling process (or the only one, with -n 0) stops the cluster a worker started, if any."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    noted = factory.getbasetemp() / PG_NOTE
    if noted.exists():
        stop_cluster(PgCluster(Path(noted.read_text())))
        noted.unlink()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the test cluster, as a state_url."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state_url on each backend: a new SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger' / 'ledger.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))
