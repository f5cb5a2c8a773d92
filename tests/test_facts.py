"""Provider facts have one home (callplay.providers.facts.NAME); the copies kept apart on purpose agree with it.

The emulator and the reference Chime Lambda keep their own copies (a fake must not share code with what it
checks; the Lambda is deployed without callplay): these tests are what holds them to the same values.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from callplay.audio.probe import probe_path
from callplay.audio.rules import check
from callplay.chime_lambda import handler as lambda_handler
from callplay.core import status
from callplay.emulator import chime as emulator_chime
from callplay.emulator import signalwire as emulator_signalwire
from callplay.emulator import vonage as emulator_vonage
from callplay.emulator.app import EmulatorServer
from callplay.providers.facts import SPEECH_CHARS_PER_S, VOLUME_RANGE_DB
from callplay.providers.facts import chime as chime_facts
from callplay.providers.facts import signalwire as signalwire_facts
from callplay.providers.facts import vonage as vonage_facts
from tests.audio import gen
from tests.conftest import CliResult, run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_chime_limits_agree_with_the_emulator_and_the_lambda() -> None:
    assert emulator_chime.MAX_WAV_BYTES == chime_facts.MAX_WAV_BYTES == chime_facts.FACTS.audio.max_bytes
    assert emulator_chime.MAX_ACTIONS == lambda_handler.MAX_ACTIONS == chime_facts.MAX_ACTIONS
    assert emulator_chime.MAX_ARGUMENTS == chime_facts.MAX_ARGUMENTS
    assert emulator_chime.LEGS == lambda_handler.LEGS == chime_facts.LEGS


def test_chime_interruptible_actions_agree_with_the_emulator_and_the_lambda() -> None:
    """What a stop can cut short (the Developer Guide's list: not Speak), and the speaking rate behind how long
    callplay says an uninterruptible Speak may go on, which the emulator simulates."""
    assert emulator_chime.INTERRUPTIBLE == lambda_handler.INTERRUPTIBLE_ACTIONS == chime_facts.INTERRUPTIBLE_ACTIONS
    assert "Speak" not in chime_facts.INTERRUPTIBLE_ACTIONS
    assert emulator_chime.SPEAK_CHARS_PER_S == chime_facts.SPEAK_CHARS_PER_S


def test_signalwire_values_agree_with_the_emulator() -> None:
    assert emulator_signalwire.RINGTONES == signalwire_facts.RINGTONES
    assert set(emulator_signalwire.DIRECTIONS) == set(signalwire_facts.DIRECTIONS)
    assert set(emulator_signalwire.GENDERS) == set(signalwire_facts.GENDERS)
    assert emulator_signalwire.VOLUME_RANGE_DB == signalwire_facts.VOLUME_RANGE == VOLUME_RANGE_DB


def test_vonage_languages_agree_with_the_emulator() -> None:
    assert emulator_vonage.LANGUAGES == vonage_facts.LANGUAGES


def test_the_call_ended_statuses_cover_what_the_emulator_answers_for_an_ended_call() -> None:
    """`playbacks --refresh` marks a call's playbacks ended when the provider's call status is one of these."""
    assert emulator_signalwire.LOG_STATUS["disconnected"] in signalwire_facts.CALL_ENDED
    assert signalwire_facts.CALL_ENDED <= emulator_signalwire.VOICE_LOG_STATUSES  # each a status SignalWire has
    assert not {"in-progress", "ringing", "answered"} & signalwire_facts.CALL_ENDED
    assert emulator_vonage.STATUS_OF_STATE["disconnected"] in vonage_facts.CALL_ENDED
    assert emulator_vonage.STATUS_OF_STATE["connected"] not in vonage_facts.CALL_ENDED


def test_one_typical_speech_rate() -> None:
    """The Chime Speak estimate is the typical rate; stale playbacks allow for slower speech, on purpose."""
    assert chime_facts.SPEAK_CHARS_PER_S == SPEECH_CHARS_PER_S == emulator_chime.SPEAK_CHARS_PER_S
    assert status.SLOW_SPEECH_CHARS_PER_S < SPEECH_CHARS_PER_S


def test_the_emulator_imports_nothing_from_the_providers() -> None:
    for path in sorted((ROOT / "callplay" / "emulator").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any(n == "callplay.providers" or n.startswith("callplay.providers.") for n in names), path


def _sparse_wav(path: Path, size: int) -> Path:
    """An 8 kHz mono 16-bit WAV whose file is `size` bytes (its header still declares 0.5 s)."""
    gen.write(path, 8000, 1, "PCM_16", 0.5)
    with open(path, "r+b") as f:
        f.truncate(size)
    return path


def test_the_chime_size_limit_is_50_000_000_bytes(tmp_path: Path) -> None:
    at = probe_path(_sparse_wav(tmp_path / "at.wav", chime_facts.MAX_WAV_BYTES))
    over = probe_path(_sparse_wav(tmp_path / "over.wav", chime_facts.MAX_WAV_BYTES + 1))
    assert "file-size" not in {f.rule for f in check(at, None, ["chime"])}
    assert "file-size" in {f.rule for f in check(over, None, ["chime"]) if f.severity == "error"}


def _validate(path: Path) -> CliResult:
    return run_cli("validate-audio", str(path), "--target", "chime", "--quick", "-o", "json")


def _play(call_id: str, path: Path) -> CliResult:
    return run_cli("play", call_id, str(path), "-p", "emulator-chime", "-o", "json")


@pytest.mark.parametrize("size", [51_000_000, 52_000_000])
def test_validate_audio_and_play_refuse_the_same_oversized_wav(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path, size: int
) -> None:
    """Both sizes are over Chime's 50 MB and under 50 MiB: once the two disagreed (validate passed them)."""
    wav = _sparse_wav(tmp_path / "big.wav", size)
    checked = _validate(wav)
    assert checked.exit_code == 7, checked.stderr
    [result] = checked.json()["data"]["files"]
    assert "file-size" in {f["rule"] for f in result["findings"] if f["severity"] == "error"}
    played = _play(call_id, wav)
    assert played.exit_code == 7, played.stderr
    assert "50 MB" in played.json()["error"]["message"]


def test_validate_audio_and_play_both_take_a_wav_at_the_limit(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    wav = _sparse_wav(tmp_path / "at.wav", chime_facts.MAX_WAV_BYTES)
    checked = _validate(wav)
    assert checked.exit_code == 0, checked.stdout
    played = _play(call_id, wav)
    assert played.exit_code == 0, played.stderr
    assert played.json()["data"]["state"] == "requested"
