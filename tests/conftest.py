"""Shared fixtures: one in-process emulator (all faces, fast clock) and a CLI runner pointed at it.

Nothing here patches an SDK or a provider class: tests drive callplay's real code, which drives the real
SDKs over real HTTP to the emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from callplay.emulator.app import EmulatorServer
from callplay.emulator.state import World

TEST_SPEED = 20.0  # simulated seconds per real second


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


@pytest.fixture(autouse=True)
def _reset_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        server: EmulatorServer = request.getfixturevalue("emulator")
        httpx.post(
            f"{server.http_url}/_emulator/faults",
            json={"latency_ms": 0, "error_rate": 0.0, "rate_limit": 0, "drop": 0, "error_status": 503},
        )
        httpx.post(f"{server.http_url}/_emulator/clock", json={"speed": TEST_SPEED})


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
        resp = httpx.post(f"{emulator.http_url}/_emulator/calls", json=body)
        resp.raise_for_status()
        return call_id

    return make


@pytest.fixture
def call_id(new_call: Any) -> str:
    return str(new_call())


def emulator_call(emulator: EmulatorServer, call_id: str) -> dict[str, Any]:
    resp = httpx.get(f"{emulator.http_url}/_emulator/calls/{call_id}")
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


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60, input: str | None = None) -> CliResult:
    """Run callplay as a user would: a subprocess, no terminal, the test's environment."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "callplay", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Any:
    return run_cli
