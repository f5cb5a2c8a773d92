"""The acceptance checks of the SignalWire issue, as an operator runs them: callplay commands (run in-process
through callplay.cli.main) with the config `emulator serve --write-config` writes, against the in-process
emulator; `events listen` runs as its own process beside them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callplay.emulator.app import EmulatorServer
from tests.conftest import (
    CliResult,
    answers,
    emulator_call,
    emulator_playbacks,
    free_port,
    run_cli,
    spawn_cli,
    wait_until,
    web,
)
from tests.conftest import media_url as media

P = ("-p", "emulator-signalwire")


def sw(*args: str, env: dict[str, str] | None = None) -> CliResult:
    return run_cli(*args, *P, env=env)


def sw_json(*args: str) -> dict[str, Any]:
    return sw(*args, "-o", "json").data()


def sim(emulator: EmulatorServer, call_id: str, control_id: str) -> dict[str, Any]:
    (pb,) = emulator_playbacks(emulator, call_id, control_id)
    return pb


def secrets_of(config_file: Path) -> list[str]:
    import tomllib

    table = tomllib.loads(config_file.read_text())["profiles"]["emulator-signalwire"]
    return [table["token"], table["signing_key"]]


# ------------------------------------------------------------------------------------------- acceptance


def test_play_pause_resume_volume_stop_as_json(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    played = sw_json("play", call_id, media(emulator), "--tts", "Thank you for holding", "silence:3600")
    cid = played["control_id"]
    assert (played["state"], played["provider"], played["call_id"]) == ("requested", "signalwire", call_id)
    assert [i["kind"] for i in sim(emulator, call_id, cid)["items"]] == ["audio", "silence", "tts"]

    paused = sw_json("pause", call_id)
    assert (paused["control_id"], paused["state"]) == (cid, "paused")
    assert wait_until(lambda: sim(emulator, call_id, cid)["state"] == "paused")

    resumed = sw_json("resume", call_id, "--control-id", cid)
    assert (resumed["control_id"], resumed["state"]) == (cid, "playing")
    assert sim(emulator, call_id, cid)["state"] == "playing"

    turned = sw_json("volume", call_id, "-6")
    assert (turned["control_id"], turned["volume_db"]) == (cid, -6.0)
    assert sim(emulator, call_id, cid)["volume_db"] == -6.0
    raised = sw_json("volume", call_id, "+3")  # relative to the last level the ledger knows
    assert raised["volume_db"] == -3.0
    assert sim(emulator, call_id, cid)["volume_db"] == -3.0

    stopped = sw_json("stop", call_id)
    assert (stopped["control_id"], stopped["state"]) == (cid, "stopped")
    assert sim(emulator, call_id, cid)["state"] == "canceled"


def test_each_verb_prints_the_control_id_and_state_as_a_table(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    played = sw("play", call_id, "--tts", "Please hold", "silence:3600")
    assert played.exit_code == 0, played.stderr
    cid = sim_handles(emulator, call_id)[-1]
    assert cid in played.stdout and "requested" in played.stdout
    for args, state in (
        (("pause",), "paused"),
        (("resume",), "playing"),
        (("volume", "-6"), "playing"),
        (("stop",), "stopped"),
    ):
        result = sw(*args[:1], call_id, *args[1:])
        assert result.exit_code == 0, result.stderr
        assert cid in result.stdout and state in result.stdout


def sim_handles(emulator: EmulatorServer, call_id: str) -> list[str]:
    return [p["handle"] for p in emulator_call(emulator, call_id)["playbacks"]]


def test_loop_times_3_wait_returns_after_exactly_three_rounds(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    data = sw_json("loop", call_id, media(emulator), "silence:1", "--times", "3", "--wait")
    played = sim(emulator, call_id, data["control_id"])
    assert played["state"] == "finished"
    assert played["rounds_completed"] == 3
    assert played["loop"] == 3
    assert data["state"] == "finished"
    assert [e["state"] for e in data["events"]] == ["playing", "finished"]


def test_play_wait_ends_with_the_finished_event(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    data = sw_json("play", call_id, "silence:2", "--tts", "Goodbye", "--wait")
    assert data["state"] == "finished"
    assert [(e["type"], e["state"]) for e in data["events"]] == [("playing", "playing"), ("finished", "finished")]


def test_play_wait_reports_a_failed_playback(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    result = sw("play", call_id, media(emulator, "no-such-file.wav"), "--wait", "-o", "json")
    assert result.exit_code == 5, result.stderr
    assert result.json()["data"]["events"][-1]["state"] == "failed"


@pytest.fixture
def listener(config_file: Path) -> Iterator[int]:
    """`callplay events listen` in the background, checking signatures with the profile's signing key."""
    port = free_port()
    proc = spawn_cli("events", "listen", "--port", str(port), *P, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health") or proc.poll() is not None)
        assert proc.poll() is None, "events listen exited"
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_events_list_shows_playing_paused_playing_finished_in_order(
    emulator: EmulatorServer, config_file: Path, call_id: str, listener: int
) -> None:
    callback = f"http://127.0.0.1:{listener}/events/signalwire"
    cid = sw_json("play", call_id, "silence:3600", "--callback-url", callback)["control_id"]
    sw_json("pause", call_id, "--control-id", cid)
    # Make the rest of the 3600 simulated seconds pass quickly: the resumed run is timed at the new speed.
    web.post(f"{emulator.http_url}/_emulator/clock", json={"speed": 5000}).raise_for_status()
    sw_json("resume", call_id, "--control-id", cid)

    def listed() -> list[dict[str, Any]]:
        result = run_cli("events", "list", "--control-id", cid, "-o", "json")
        assert result.exit_code == 0, result.stderr
        events = list(result.json()["data"]["events"])
        return events if events and events[-1]["state"] == "finished" else []

    events = wait_until(listed)
    assert [e["type"] for e in events] == ["playing", "paused", "playing", "finished"]
    assert [e["state"] for e in events] == ["playing", "paused", "playing", "finished"]
    assert {e["control_id"] for e in events} == {cid}
    assert sim(emulator, call_id, cid)["position_s"] == pytest.approx(3600.0)


def test_stream_status_shows_the_call_and_its_playbacks(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    cid = sw_json("play", call_id, "silence:3600")["control_id"]
    data = sw_json("stream-status", call_id)
    assert (data["call_id"], data["provider"], data["state"]) == (call_id, "signalwire", "in-progress")
    assert [p["control_id"] for p in data["playbacks"]] == [cid]
    table = sw("stream-status", call_id)
    assert table.exit_code == 0 and call_id in table.stdout and cid in table.stdout and "in-progress" in table.stdout
    sw_json("stop", call_id)


# ---------------------------------------------------------------------------------------------- failures


def test_volume_50_is_exit_2_and_nothing_is_sent(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    cid = sw_json("play", call_id, "silence:3600")["control_id"]
    result = sw("volume", call_id, "50")
    assert result.exit_code == 2
    assert "volume" in result.stderr and "Traceback" not in result.stderr
    refused_play = sw("play", call_id, "silence:3600", "--volume", "50")
    assert refused_play.exit_code == 2
    pb = sim(emulator, call_id, cid)
    assert pb["volume_db"] == 0.0 and not [h for h in pb["history"] if "volume_db" in h]
    assert sim_handles(emulator, call_id) == [cid]
    sw_json("stop", call_id)


def test_wrong_token_is_exit_5_without_showing_secrets(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    result = sw("play", call_id, "silence:1", env={"CALLPLAY_TOKEN": "PTthis-is-not-the-token"})
    assert result.exit_code == 5
    assert "authentication failed" in result.stderr
    output = result.stdout + result.stderr
    assert "PTthis-is-not-the-token" not in output
    assert not any(secret in output for secret in secrets_of(config_file))
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_stop_of_a_playback_that_already_ended_exits_0_saying_so(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    """As on the other providers: nothing is playing afterwards, which is what stop is for. SignalWire answers
    422 on control_id for a play that is no longer active; callplay knows the play was its own."""
    played = sw_json("play", call_id, "silence:0.5", "--wait", "--timeout", "30")
    assert played["state"] == "finished"
    stopped = sw("stop", call_id, "-o", "json")
    assert stopped.exit_code == 0, stopped.stderr
    data = stopped.data()
    assert (data["control_id"], data["state"]) == (played["control_id"], "finished")
    assert "had already ended" in data["detail"]["note"]
    # Ended without callplay hearing of it (no --wait): the same.
    started = sw_json("play", call_id, "silence:0.2")
    assert wait_until(lambda: sim(emulator, call_id, started["control_id"])["state"] == "finished")
    stopped = sw("stop", call_id, "-o", "json")
    assert stopped.exit_code == 0, stopped.stderr
    assert "had already ended" in stopped.data()["detail"]["note"]


def test_unknown_control_id_is_exit_5_with_the_providers_message(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    for verb in ("pause", "resume", "stop"):
        result = sw(verb, call_id, "--control-id", "cp-000000000000")
        assert result.exit_code == 5, result.stderr
        assert "control_id does not match an active play on this call" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--to", "4:+14255550123"), "--direction"),
        (("--ssml", "<speak>Hello</speak>"), "SignalWire"),
        (("--option", "style=2"), "style"),
    ],
)
def test_what_signalwire_lacks_is_exit_4(
    emulator: EmulatorServer, config_file: Path, call_id: str, args: tuple[str, ...], words: str
) -> None:
    result = sw("play", call_id, "silence:1", *args)
    assert result.exit_code == 4, result.stderr
    assert words in result.stderr and "SignalWire" in result.stderr
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_dry_run_shows_the_request_with_a_ringtone_and_no_secrets(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    result = sw(
        "play",
        call_id,
        "--tts",
        "Ringing you now",
        "--option",
        "ringtone=us:4",
        "--direction",
        "both",
        "--volume",
        "-3",
        "--dry-run",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    request = result.json()["data"]["request"]
    params = request["body"]["params"]
    assert request["body"]["command"] == "calling.play"
    assert params["play"][-1] == {"type": "ringtone", "params": {"name": "us", "duration": 4.0}}
    assert (params["direction"], params["volume"]) == ("both", -3.0)
    assert not any(secret in result.stdout + result.stderr for secret in secrets_of(config_file))
    assert emulator_call(emulator, call_id)["playbacks"] == []
