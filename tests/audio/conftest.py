"""Drive validate-audio and convert through a private Typer app (register() only), so these tests do not
depend on the other command modules; test_cli.py also goes through callplay.cli.main (tests/conftest.run_cli)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from callplay.cli import audio as audio_cli


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def json(self) -> dict[str, Any]:
        import json

        return dict(json.loads(self.stdout))


@pytest.fixture
def audio_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    audio_cli.register(app)
    return app


@pytest.fixture
def cp(audio_app: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Callable[..., Run]:
    """cp("validate-audio", "dir", "--target", "acs") -> Run; no config file, one process unless --jobs."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    monkeypatch.delenv("CALLPLAY_CONFIG", raising=False)
    monkeypatch.delenv("CALLPLAY_OUTPUT", raising=False)
    monkeypatch.delenv("CALLPLAY_PROFILE", raising=False)

    def invoke(*args: str, input: str | None = None) -> Run:
        argv = [str(a) for a in args]
        if "--jobs" not in argv and "-j" not in argv:
            argv += ["--jobs", "1"]  # no forking inside pytest unless a test asks for it
        res = CliRunner().invoke(audio_app, argv, input=input)
        return Run(res.exit_code, res.stdout, res.stderr, res.exception)

    return invoke
