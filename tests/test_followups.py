"""Small fixes: -o jsonl for click's usage errors and validate-audio (the envelope as one line), and
`emulator serve` on a port in use (one error line, no warning about a server never started)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from callplay.errors import ExitCode
from tests.audio import gen
from tests.conftest import run_cli, run_subprocess


def one_line_envelope(stdout: str) -> dict[str, object]:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    envelope: dict[str, object] = json.loads(lines[0])
    assert envelope["kind"] == "result"
    return envelope


@pytest.mark.parametrize(
    "argv",
    [("play", "--bogus", "-o", "jsonl"), ("--bogus", "-o", "jsonl"), ("play", "-ojsonl")],
    ids=["unknown-option", "no-command", "missing-argument"],
)
def test_click_usage_errors_print_the_envelope_with_jsonl(argv: tuple[str, ...]) -> None:
    result = run_cli(*argv)
    assert result.exit_code == ExitCode.USAGE
    envelope = one_line_envelope(result.stdout)
    assert envelope["ok"] is False and envelope["error"]["code"] == "usage"  # type: ignore[index]


def test_the_environment_variable_asks_for_jsonl_too() -> None:
    result = run_cli("stop", "c1", "--bogus", env={"CALLPLAY_OUTPUT": "jsonl"})
    assert one_line_envelope(result.stdout)["command"] == "stop"


def test_validate_audio_speaks_jsonl(tmp_path: Path) -> None:
    wav = tmp_path / "prompt.wav"
    gen.write(wav, 16000, seconds=0.2)  # as ACS takes it
    result = run_cli("validate-audio", str(wav), "--target", "acs", "-o", "jsonl")
    assert result.exit_code == ExitCode.OK, result.stderr
    envelope = one_line_envelope(result.stdout)
    assert envelope["ok"] is True and envelope["data"]["summary"]["files"] == 1  # type: ignore[index]


def test_validate_audio_refuses_an_unknown_output_naming_the_modes(tmp_path: Path) -> None:
    result = run_cli("validate-audio", str(tmp_path), "-o", "yaml")
    assert result.exit_code == ExitCode.USAGE
    assert "hint: use --output table, json or jsonl" in result.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A real process: the warning came from the interpreter's exit, after main() had returned.
@pytest.mark.parametrize("which", ["--port", "--tls-port"])
def test_emulator_serve_on_a_port_in_use_is_one_clean_error(busy_port: int, which: str) -> None:
    ports = {"--port": str(free_port()), "--tls-port": str(free_port()), which: str(busy_port)}
    result = run_subprocess("emulator", "serve", *(a for kv in ports.items() for a in kv), timeout=30)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert result.stderr.splitlines() == [
        f"error: cannot serve on 127.0.0.1:{busy_port} ({which}): Address already in use",
        "hint: choose other ports with --port and --tls-port (0 picks free ones)",
    ]
    assert result.stdout == ""
