"""Issue 13: every failure envelope names the call and the profile it was about (`data`), the profile as
resolved (the demo profile when -p is not given), and no profile when the failure came before one was."""

from __future__ import annotations

from pathlib import Path

import pytest

from callplay.errors import ExitCode
from tests.conftest import run_cli


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("play", "no-such-call", "--tts", "hi"), id="play"),
        pytest.param(("stop", "no-such-call", "--control-id", "cp-000000000000"), id="stop"),
        pytest.param(("stream-status", "no-such-call"), id="stream-status"),
    ],
)
def test_a_provider_failure_names_the_call_and_profile(config_file: Path, argv: tuple[str, ...]) -> None:
    result = run_cli(*argv, "-p", "emulator-signalwire", "-o", "json")
    assert result.exit_code == ExitCode.REJECTED, result.stderr
    envelope = result.json()
    assert envelope["ok"] is False
    assert envelope["data"] == {"call_id": "no-such-call", "profile": "emulator-signalwire"}


def test_the_default_profile_is_named_when_no_profile_was_given() -> None:
    result = run_cli("pause", "demo-call", "-o", "json")  # the demo profile is ACS, which cannot pause
    assert result.exit_code == ExitCode.UNSUPPORTED
    assert result.json()["data"] == {"call_id": "demo-call", "profile": "demo"}


def test_a_failure_inside_the_core_before_any_request_names_both(config_file: Path) -> None:
    result = run_cli("volume", "no-such-call", "-6", "-p", "emulator-signalwire", "-o", "jsonl")
    assert result.exit_code == ExitCode.USAGE  # no playback to set the volume of
    assert result.json()["data"] == {"call_id": "no-such-call", "profile": "emulator-signalwire"}


def test_no_profile_is_named_when_none_could_be_resolved(config_file: Path) -> None:
    result = run_cli("stop", "c1", "-p", "no-such-profile", "-o", "json")
    assert result.exit_code == ExitCode.CONFIG
    assert result.json()["data"] == {"call_id": "c1"}
