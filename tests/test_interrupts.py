"""Ctrl-C during `play --wait` leaves nothing playing on the call, on every provider, or callplay says what does.

Each trial is a real `callplay play ... --wait` process (the process and its signal are the subject) against the
in-process emulator, interrupted with SIGINT either as soon as the provider has heard of the play (the request
may still be in flight for callplay) or while it plays; then the emulator's call (its admin API) is looked at.
benchmarks/interrupt_trials.py runs the same trials by the hundred against `callplay emulator serve`.
"""

from __future__ import annotations

import io
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callplay.emulator.app import EmulatorServer
from tests.conftest import CliResult, emulator_call, run_cli, spawn_cli, wait_until, web
from tests.test_chime_provider import actions

# 600 characters: about 40 s of speech, 2 s at the tests' clock; long enough to be interrupted.
LONG_TEXT = ("Thank you for calling. All of our agents are busy helping other callers. " * 9)[:600]
WHEN = ("early", "playing")


def audible(emulator: EmulatorServer, call_id: str) -> list[dict[str, Any]]:
    """The call's playbacks still going that are not silence (Chime's stop answers with a short Pause)."""
    return [
        p
        for p in emulator_call(emulator, call_id)["playbacks"]
        if p["state"] in ("created", "playing", "paused") and any(i["kind"] != "silence" for i in p["items"])
    ]


def heard_of(emulator: EmulatorServer, call_id: str) -> bool:
    call = emulator_call(emulator, call_id)
    return bool(call["playbacks"] or call["log"])


def long_wav(seconds: float = 60.0, rate: int = 16000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    buf = io.BytesIO()
    sf.write(buf, 0.2 * np.sin(2 * np.pi * 440.0 * t), rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


@pytest.fixture(scope="module")
def hold_url(emulator: EmulatorServer) -> str:
    """A minute of 16 kHz mono WAV (what ACS plays) at a URL the emulator fetches like a provider."""
    url = f"{emulator.http_url}/_emulator/media/interrupt-hold.wav"
    web.put(url, content=long_wav(), headers={"Content-Type": "audio/wav"}).raise_for_status()
    return url


def interrupt_play(emulator: EmulatorServer, call_id: str, when: str, *args: str) -> CliResult:
    """`callplay play CALL ARGS --wait` as a process, SIGINT when the provider heard of it or once it plays."""
    proc = spawn_cli("play", call_id, *args, "--wait", "--timeout", "120")
    try:
        reached = heard_of if when == "early" else (lambda e, c: bool(audible(e, c)))
        wait_until(lambda: reached(emulator, call_id) or proc.poll() is not None, timeout=60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return CliResult(proc.returncode, out, err)


@pytest.mark.parametrize(("when", "tts"), [("early", True), ("playing", False)])
@pytest.mark.parametrize("provider", ["acs", "signalwire"])
def test_interrupted_wait_leaves_nothing_playing(
    emulator: EmulatorServer, config_file: Path, call_id: str, hold_url: str, provider: str, when: str, tts: bool
) -> None:
    source = ["--tts", LONG_TEXT] if tts else [hold_url]
    result = interrupt_play(emulator, call_id, when, *source, "-p", f"emulator-{provider}")
    assert result.exit_code == 130, result.stderr
    assert wait_until(lambda: not audible(emulator, call_id), timeout=10), result.stderr
    assert "stopped playback" in result.stderr and "nothing is left playing" in result.stderr


@pytest.mark.parametrize("when", WHEN)
def test_interrupted_chime_wav_leaves_nothing_playing(
    emulator: EmulatorServer, config_file: Path, new_call: Any, tmp_path: Path, when: str
) -> None:
    call_id = new_call()
    wav = tmp_path / "hold.wav"
    wav.write_bytes(long_wav(rate=8000))
    result = interrupt_play(emulator, call_id, when, str(wav), "-p", "emulator-chime")
    assert result.exit_code == 130, result.stderr
    assert "nothing is left playing" in result.stderr
    assert wait_until(lambda: not audible(emulator, call_id), timeout=10), result.stderr
    played = actions(emulator, call_id)
    assert [a["action"] for a in played] in (["PlayAudio", "Pause"], ["Pause"]), played
    assert played[0]["result"] in ("ACTION_INTERRUPTED", "ACTION_SUCCESSFUL")  # the Pause alone: never started


@pytest.mark.parametrize("when", WHEN)
def test_interrupted_chime_speak_says_what_keeps_playing(
    emulator: EmulatorServer, config_file: Path, new_call: Any, when: str
) -> None:
    """Chime cannot interrupt a Speak: the interrupt stops the rest and says the Speak plays on, never that
    nothing is left playing; the Speak then ends by itself and nothing follows it but the stop's Pause."""
    call_id = new_call()
    result = interrupt_play(emulator, call_id, when, f"tts:{LONG_TEXT}", "silence:30", "-p", "emulator-chime")
    assert result.exit_code == 130, result.stderr
    assert "nothing is left playing" not in result.stderr
    assert "cannot interrupt a Speak" in result.stderr
    assert "keeps playing for up to about" in result.stderr or "may keep playing" in result.stderr
    assert wait_until(lambda: not audible(emulator, call_id), timeout=30), result.stderr
    assert [a["action"] for a in actions(emulator, call_id)] in (["Speak", "Pause"], ["Pause"])


def test_an_interrupted_chime_run_of_speech_says_each_speak_plays_on(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    """Many calls, the same rule: the run's interrupt stops what it can, and the summary names the Speak that
    plays on and Chime's way around it, never "nothing is left playing" nor a stop by hand that cannot help."""
    from callplay.core import fanout
    from callplay.core.play import WaitOptions
    from callplay.model import CallOutcome, PlayRequest, Tts

    calls = [new_call() for _ in range(3)]
    seen: list[CallOutcome] = []

    def ctrl_c_once_all_started(outcome: CallOutcome) -> None:
        seen.append(outcome)
        if len(seen) == len(calls):
            raise KeyboardInterrupt

    speech = PlayRequest(items=[Tts(LONG_TEXT)], loop=2)
    result = fanout.play_many(
        calls, speech, profile="emulator-chime", on_result=ctrl_c_once_all_started, wait=WaitOptions(wait=True)
    )
    assert result.interrupted and result.exit_code == 130
    for outcome in result.results:
        assert outcome.state == "stopping" and "cannot interrupt a Speak" in outcome.failure.message
        assert outcome.failure.detail["still_playing"], outcome.failure.detail
    summary = result.failure
    assert summary.message == "interrupted: 3 not stopped"
    assert "WAV" in summary.hint and "nothing is left playing" not in summary.hint
    assert all(wait_until(lambda c=c: not audible(emulator, c), timeout=30) for c in calls)


def test_vonage_refuses_wait_before_anything_plays_and_its_stop_leaves_nothing(
    emulator: EmulatorServer, config_file: Path, call_id: str, hold_url: str
) -> None:
    """Vonage sends no playback events, so there is no `play --wait` to interrupt: it is refused up front."""
    refused = run_cli("play", call_id, hold_url, "--wait", "-p", "emulator-vonage")
    assert refused.exit_code == 4, refused.stderr
    assert emulator_call(emulator, call_id)["playbacks"] == []
    for source in ([hold_url], ["--tts", LONG_TEXT]):
        assert run_cli("play", call_id, *source, "-p", "emulator-vonage").exit_code == 0
        assert wait_until(lambda: audible(emulator, call_id))
        stopped = run_cli("stop", call_id, "-p", "emulator-vonage")
        assert stopped.exit_code == 0, stopped.stderr
        assert wait_until(lambda: not audible(emulator, call_id), timeout=10)
