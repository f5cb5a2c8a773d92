"""Issue 12: global options anywhere on the line (-p/--profile, -o/--output, --debug), -h as --help, and TTS or
SSML text from a file (@FILE) or standard input (-)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from callplay.cli import main
from callplay.emulator.app import EmulatorServer
from tests.conftest import emulator_call, run_cli


def _same(data: dict[str, Any]) -> dict[str, Any]:
    """What two plays of the same request share (not their control IDs or times)."""
    return {key: data[key] for key in ("call_id", "profile", "provider", "state", "sources", "loop", "targets")}


@pytest.mark.parametrize(
    "before",
    [
        ("-p", "emulator-acs", "-o", "json"),
        ("--profile", "emulator-acs", "--output", "json"),
        ("--profile=emulator-acs", "--output=json"),
        ("-pemulator-acs", "-ojson"),
        ("-o", "json", "--debug", "-p", "emulator-acs"),
    ],
)
def test_global_options_before_the_command_mean_the_same_as_after(
    emulator: EmulatorServer, config_file: Path, call_id: str, before: tuple[str, ...]
) -> None:
    after = run_cli("play", call_id, "--tts", "hi", "-p", "emulator-acs", "-o", "json")
    first = run_cli(*before, "play", call_id, "--tts", "hi")
    assert after.exit_code == 0, after.stderr
    assert first.exit_code == 0, first.stderr
    assert _same(first.json()["data"]) == _same(after.json()["data"])
    assert first.json()["data"]["provider"] == "acs"
    assert [p["handle"] for p in emulator_call(emulator, call_id)["playbacks"]] == [
        after.json()["data"]["control_id"],
        first.json()["data"]["control_id"],
    ]


def test_global_options_go_after_a_group_command_path(emulator: EmulatorServer, config_file: Path) -> None:
    before = run_cli("-o", "json", "-p", "emulator-acs", "events", "list", "--limit", "1")
    after = run_cli("events", "list", "--limit", "1", "-o", "json", "-p", "emulator-acs")
    assert before.exit_code == after.exit_code == 0, before.stderr
    assert before.json() == after.json()


def test_a_later_option_wins_over_one_before_the_command(config_file: Path) -> None:
    result = run_cli("-o", "table", "play", "c1", "--tts", "hi", "--dry-run", "-p", "emulator-acs", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["state"] == "dry-run"


def test_debug_before_the_command_shows_the_traceback_for_this_call_only(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CALLPLAY_DEBUG", raising=False)
    argv = ["play", "c1", "--tts", "hi", "--dry-run", "-p", "no-such-profile"]
    assert main(["--debug", *argv]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "error: " in err
    assert "CALLPLAY_DEBUG" not in os.environ  # put back for the next in-process call
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: " in err and "hint: " in err


def test_debug_after_the_command_too(config_file: Path) -> None:
    result = run_cli("play", "c1", "--tts", "hi", "--dry-run", "-p", "no-such-profile", "--debug")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr


def test_debug_as_an_option_value_is_the_value(config_file: Path) -> None:
    result = run_cli("play", "c1", "--tts", "--debug", "--dry-run", "-p", "emulator-acs", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["sources"] == ["tts:--debug"]


@pytest.mark.parametrize(
    "argv",
    [("-p",), ("-o", "json", "-p"), ("--profile", "--output", "json", "play", "c1"), ("--output=", "status", "c1")],
)
def test_a_global_option_without_its_value_is_a_usage_error(config_file: Path, argv: tuple[str, ...]) -> None:
    result = run_cli(*argv)
    assert result.exit_code == 2
    assert "error: option " in result.stderr and "needs a value" in result.stderr
    assert "hint: " in result.stderr and "Traceback" not in result.stderr


def test_global_options_with_version_and_help(config_file: Path) -> None:
    assert run_cli("-p", "emulator-acs", "--version").stdout.startswith("callplay ")
    result = run_cli("-o", "json", "-h")
    assert result.exit_code == 0 and "Usage: callplay" in result.stdout
    result = run_cli("-p", "emulator-acs", "play", "-h")
    assert result.exit_code == 0 and "Usage: callplay play" in result.stdout


@pytest.mark.parametrize("argv", [(), ("play",), ("events",), ("events", "list"), ("chime", "lambda-package")])
def test_dash_h_is_help(argv: tuple[str, ...]) -> None:
    short, long = run_cli(*argv, "-h"), run_cli(*argv, "--help")
    assert short.exit_code == long.exit_code == 0, short.stderr
    assert short.stdout == long.stdout
    assert "-h, --help" in short.stdout


# ------------------------------------------------------------------------------------ text from files, stdin


def _sent(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()["data"]["request"]["body"]["playSources"]


P = ("-p", "emulator-acs", "-o", "json", "--dry-run")


def test_tts_from_stdin(config_file: Path) -> None:
    result = run_cli("play", "c1", "--tts", "-", *P, input="outage\n")
    assert _sent(result) == [{"kind": "text", "text": {"text": "outage"}}]


def test_tts_and_ssml_sources_from_files(config_file: Path, tmp_path: Path) -> None:
    text = tmp_path / "prompt.txt"
    text.write_text("We are aware of an outage.\n", encoding="utf-8")
    ssml = tmp_path / "prompt.xml"
    ssml.write_text("<speak>Hold</speak>", encoding="utf-8")
    result = run_cli("play", "c1", "--tts", f"@{text}", f"tts:@{text}", *P)
    assert _sent(result) == [{"kind": "text", "text": {"text": "We are aware of an outage."}}] * 2
    result = run_cli("play", "c1", "--ssml", "-", *P, input="<speak>Hold</speak>")
    assert _sent(result)[0]["kind"] == "ssml"
    assert _sent(run_cli("play", "c1", "--ssml", f"@{ssml}", *P)) == _sent(result)


def test_double_at_is_a_literal_at(config_file: Path) -> None:
    assert _sent(run_cli("play", "c1", "--tts", "@@home", *P)) == [{"kind": "text", "text": {"text": "@home"}}]
    assert _sent(run_cli("play", "c1", "tts:@@home", *P)) == [{"kind": "text", "text": {"text": "@home"}}]


@pytest.mark.parametrize(
    ("content", "word"), [(None, "cannot read TTS file"), ("", "needs some text"), (" \n", "needs some text")]
)
def test_a_missing_or_empty_text_file_is_a_usage_error(
    config_file: Path, tmp_path: Path, content: str | None, word: str
) -> None:
    path = tmp_path / "prompt.txt"
    if content is not None:
        path.write_text(content)
    result = run_cli("play", "c1", "--tts", f"@{path}", *P)
    assert result.exit_code == 2
    assert word in result.stderr and "hint: " in result.stderr
