"""`callplay playbacks` (the ledger's playbacks across calls), the `unknown (no events received)` display,
`--refresh` (SignalWire voice logs, Vonage call status; ACS and Chime say they cannot), and stream-status's
order (active first, older ones collapsed, --all).

Rows with an old `created_at` are written straight into the ledger, so that nothing sleeps; refreshes run
against the session's emulator, whose calls are hung up through its admin API."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest

from callplay.core.status import GRACE_SECONDS, STALE_STATE, expected_seconds
from callplay.emulator.app import EmulatorServer
from callplay.ledger import Ledger
from callplay.model import Playback
from tests.conftest import CliResult, admin, run_cli


def ago(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def record(
    control_id: str,
    *,
    call: str = "c1",
    profile: str = "emulator-signalwire",
    provider: str = "signalwire",
    state: str = "requested",
    sources: tuple[str, ...] = ("tts:hello",),
    loop: int = 1,
    age: float = 0.0,
    last_event: str | None = None,
) -> None:
    ledger = Ledger.default()
    pb = Playback(control_id, call, profile, provider, state, list(sources), loop=loop, created_at=ago(age))
    ledger.record_playback(pb)
    if last_event is not None:
        ledger.update_playback(control_id, last_event=last_event)


def listed(*args: str) -> dict[str, Any]:
    return run_cli("playbacks", *args, "-o", "json").data()


def ids(data: dict[str, Any]) -> list[str]:
    return [p["control_id"] for p in data["playbacks"]]


def hang_up(emulator: EmulatorServer, call_id: str) -> None:
    admin.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()


def play(profile: str, call_id: str, *sources: str) -> str:
    result = run_cli("play", call_id, *sources, "-p", profile, "-o", "json")
    return str(result.data()["control_id"])


# ------------------------------------------------------------------------------------------- the list


def test_newest_first_across_calls_and_profiles() -> None:
    record("cp-old", age=300, call="c1")
    record("cp-mid", age=200, call="c2", profile="emulator-vonage", provider="vonage")
    record("cp-new", age=100, call="c1")
    data = listed()
    assert ids(data) == ["cp-new", "cp-mid", "cp-old"]
    first = data["playbacks"][0]
    assert (first["call_id"], first["profile"], first["provider"], first["sources"]) == (
        "c1",
        "emulator-signalwire",
        "signalwire",
        ["tts:hello"],
    )


def test_filters_call_profile_active_since_and_limit() -> None:
    record("cp-a", age=7200, call="c1")
    record("cp-b", age=600, call="c2", state="finished", last_event="finished")
    record("cp-c", age=300, call="c1", state="dry-run")
    record("cp-d", age=60, call="c2", profile="emulator-vonage", provider="vonage")
    record("cp-e", age=30, call="c1", state="stopped")
    assert ids(listed("--call", "c1")) == ["cp-e", "cp-c", "cp-a"]
    assert ids(listed("-p", "emulator-vonage")) == ["cp-d"]
    assert ids(listed("--active")) == ["cp-d", "cp-a"]  # not ended, not a dry run
    assert ids(listed("--since", "30m")) == ["cp-e", "cp-d", "cp-c", "cp-b"]
    assert ids(listed("--since", "2m")) == ["cp-e", "cp-d"]
    assert ids(listed("--limit", "2")) == ["cp-e", "cp-d"]
    assert ids(listed("--call", "c2", "--active", "--since", "1h")) == ["cp-d"]
    assert listed("--call", "nowhere")["playbacks"] == []


def test_the_limit_defaults_to_20() -> None:
    for n in range(25):
        record(f"cp-{n:02d}", age=1000 - n)
    data = listed()
    assert ids(data) == [f"cp-{n:02d}" for n in range(24, 4, -1)]


def test_the_table_shows_every_control_id_whole_and_the_time_of_day() -> None:
    record("cp-aaaaaaaaaaaa", age=60, sources=("https://example.com/" + "x" * 60 + ".wav",))
    record("cp-bbbbbbbbbbbb", age=30, call="c2", state="playing", last_event="playing")
    result = run_cli("playbacks")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    for cid in ("cp-aaaaaaaaaaaa", "cp-bbbbbbbbbbbb"):
        assert any(cid in line for line in lines)
    assert "x" * 60 not in result.stdout  # a long source is shortened in the table (JSON has it whole)
    assert "playing" in result.stdout


def test_an_empty_list_says_so() -> None:
    result = run_cli("playbacks")
    assert result.exit_code == 0, result.stderr
    assert "no playbacks match" in result.stdout
    assert listed()["playbacks"] == []


# --------------------------------------------------------------------------- unknown (no events received)


def test_a_playback_with_no_events_past_its_expected_length_shows_as_unknown() -> None:
    record("cp-stale-tts", age=GRACE_SECONDS + 30, sources=("tts:hi",))
    record("cp-fresh-tts", age=5, sources=("tts:hi",))
    record("cp-silence-running", age=1800, sources=("silence:3600",))
    record("cp-silence-over", age=3600 + GRACE_SECONDS + 10, sources=("silence:3600",))
    record("cp-forever", age=86400, sources=("tts:hi",), loop=0)  # loops until stopped: never expires
    record("cp-heard", age=3600, sources=("tts:hi",), state="playing", last_event="playing")
    record("cp-ended", age=3600, sources=("tts:hi",), state="finished", last_event="finished")
    by_id = {p["control_id"]: p for p in listed()["playbacks"]}
    stale = {cid for cid, p in by_id.items() if p["stale"]}
    assert stale == {"cp-stale-tts", "cp-silence-over"}
    for cid in stale:  # JSON keeps the recorded state: scripts reading `state` see what was observed
        assert (by_id[cid]["state"], by_id[cid]["display_state"]) == ("requested", STALE_STATE)
    assert by_id["cp-heard"]["display_state"] == "playing"
    assert by_id["cp-forever"]["display_state"] == "requested"
    table = run_cli("playbacks").stdout
    assert STALE_STATE in table
    # Only computed for display: the ledger itself still says requested.
    stored = Ledger.default().get("cp-stale-tts")
    assert stored is not None and stored.state == "requested"


def test_expected_length_from_sources_and_loop() -> None:
    assert expected_seconds(["silence:5"], 1) == 5
    assert expected_seconds(["silence:5"], 3) == 15
    assert expected_seconds(["silence:5"], 0) is None
    speech = expected_seconds(["tts:" + "x" * 100], 1)
    assert speech is not None and 5 < speech < 30
    assert expected_seconds(["ssml:<speak>" + "x" * 100 + "</speak>"], 1) == speech  # tags are not spoken
    audio = expected_seconds(["https://example.com/a.wav"], 1)
    assert audio is not None and audio >= 300  # unknown length: generous
    assert expected_seconds(["silence:nan"], 1) == audio


def test_active_still_lists_a_stale_playback() -> None:
    # Stale means no news, not ended: --active keeps it (shown as unknown) until a provider says it ended.
    record("cp-stale", age=3600, sources=("tts:hi",))
    data = listed("--active")
    assert ids(data) == ["cp-stale"] and data["playbacks"][0]["stale"] is True


# ------------------------------------------------------------------------------------------- --refresh


@pytest.mark.parametrize("profile", ["emulator-signalwire", "emulator-vonage"])
def test_refresh_ends_the_playbacks_of_a_call_that_has_ended(
    emulator: EmulatorServer, config_file: Path, new_call: Any, profile: str
) -> None:
    ended_call, live_call = new_call(), new_call()
    source = ("--tts", "Please hold")
    gone = play(profile, ended_call, *source)  # no receiver runs: its callback never reaches the ledger
    running = play(profile, live_call, *source)
    hang_up(emulator, ended_call)
    assert {p["control_id"]: p["state"] for p in listed()["playbacks"]} == {gone: "requested", running: "requested"}

    data = listed("--refresh")
    states = {p["control_id"]: (p["state"], p["last_event"]) for p in data["playbacks"]}
    assert states == {gone: ("canceled", "call ended"), running: ("requested", None)}
    assert data["refreshed"] == [profile]
    assert any(note.startswith(f"{profile}: asked") for note in data["notes"])
    assert ids(listed("--active")) == [running]
    # The answer is recorded: the events journal says where the state came from.
    events = run_cli("events", "list", "--control-id", gone, "-o", "json").data()["events"]
    assert [(e["type"], e["state"]) for e in events] == [("call ended", "canceled")]


def test_one_refresh_asks_every_profile_once(emulator: EmulatorServer, config_file: Path, new_call: Any) -> None:
    calls = {profile: new_call() for profile in ("emulator-signalwire", "emulator-vonage")}
    played = {profile: play(profile, call, "--tts", "Please hold") for profile, call in calls.items()}
    for call in calls.values():
        hang_up(emulator, call)
    record("cp-acs", profile="emulator-acs", provider="acs")
    data = listed("--refresh")
    assert sorted(data["refreshed"]) == sorted(calls)
    states = {p["control_id"]: p["state"] for p in data["playbacks"]}
    assert states == {**{cid: "canceled" for cid in played.values()}, "cp-acs": "requested"}
    assert any(note.startswith("emulator-acs: not refreshed") for note in data["notes"])


def test_refresh_on_acs_and_chime_says_they_cannot(emulator: EmulatorServer, config_file: Path) -> None:
    record("cp-acs", profile="emulator-acs", provider="acs")
    record("cp-chime", profile="emulator-chime", provider="chime")
    result = run_cli("playbacks", "--refresh", "-o", "json")
    data = result.data()
    assert data["refreshed"] == []
    notes = "\n".join(data["notes"])
    assert "emulator-acs: not refreshed: ACS" in notes
    assert "emulator-chime: not refreshed: Amazon Chime SDK" in notes
    assert {p["state"] for p in data["playbacks"]} == {"requested"}
    table = run_cli("playbacks", "--refresh")
    assert "emulator-acs: not refreshed" in table.stdout and "emulator-chime: not refreshed" in table.stdout


def test_refresh_of_a_profile_that_is_gone_warns_and_still_lists(config_file: Path) -> None:
    record("cp-orphan", profile="removed-profile")
    result = run_cli("playbacks", "--refresh", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert ids(result.json()["data"]) == ["cp-orphan"]
    assert "removed-profile: not refreshed" in result.stderr


def test_refresh_with_nothing_open_sends_nothing(config_file: Path) -> None:
    record("cp-done", state="finished", last_event="finished")
    data = listed("--refresh")
    assert data["refreshed"] == [] and "nothing to refresh" in data["notes"][0]


# --------------------------------------------------------------------------------------- stream-status


def sw_status(call_id: str, *extra: str) -> CliResult:
    return run_cli("stream-status", call_id, "-p", "emulator-signalwire", *extra)


def test_stream_status_shows_active_first_and_collapses_older_ones(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    oldest = play("emulator-signalwire", call_id, "silence:3600")  # still playing, behind five ended ones
    stopped = []
    for _ in range(5):
        cid = play("emulator-signalwire", call_id, "silence:3600")
        assert run_cli("stop", call_id, "-c", cid, "-p", "emulator-signalwire").exit_code == 0
        stopped.append(cid)
    active = [play("emulator-signalwire", call_id, "silence:3600"), oldest]
    data = sw_status(call_id, "-o", "json").data()
    # JSON lists every one: the active ones first, then the ended ones, newest first within each.
    assert [p["control_id"] for p in data["playbacks"]] == [*active, *reversed(stopped)]
    table = sw_status(call_id)
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    shown = [next(i for i, line in enumerate(lines) if cid in line) for cid in [*active, *reversed(stopped[2:])]]
    assert shown == sorted(shown)  # in that order on the screen too
    assert not any(cid in table.stdout for cid in stopped[:2])  # past the three newest ended ones
    assert "2 older playbacks not shown (--all)" in table.stdout
    every = sw_status(call_id, "--all")
    assert all(cid in every.stdout for cid in [*active, *stopped])
    assert "not shown" not in every.stdout
    for cid in active:
        run_cli("stop", call_id, "-c", cid, "-p", "emulator-signalwire")


def test_stream_status_records_that_a_hung_up_call_ended_its_playbacks(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    cid = play("emulator-signalwire", call_id, "silence:3600")
    hang_up(emulator, call_id)
    data = sw_status(call_id, "-o", "json").data()
    assert [(p["control_id"], p["state"], p["last_event"]) for p in data["playbacks"]] == [
        (cid, "canceled", "call ended")
    ]
    stored = Ledger.default().get(cid)
    assert stored is not None and stored.state == "canceled"


def test_stream_status_shows_a_stale_playback_as_unknown(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    record("cp-long-ago", call=call_id, age=3600, sources=("tts:hi",))
    data = sw_status(call_id, "-o", "json").data()
    (pb,) = data["playbacks"]
    assert (pb["state"], pb["display_state"], pb["stale"]) == ("requested", STALE_STATE, True)
    assert STALE_STATE in sw_status(call_id).stdout


# ------------------------------------------------------------------------------------ on a terminal, 80x24

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def on_terminal(*args: str) -> list[str]:
    """`callplay ARGS` on a pseudo-terminal of 80x24 (the terminal is the subject): the screen's lines."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "callplay", *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process has closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        assert proc.wait(timeout=60) == 0, screen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = ANSI.sub("", screen.decode(errors="replace")).replace("\r\n", "\n")
    return text.split("\n")


def whole_on_one_line(lines: list[str], control_ids: list[str]) -> None:
    assert all(len(line) <= 80 for line in lines), lines
    for cid in control_ids:
        assert any(cid in line for line in lines), (cid, lines)


def test_every_control_id_is_whole_at_80_columns(config_file: Path) -> None:
    uuids = ["4d2d3c15-ad83-442e-90a7-24e72edcf693", "c78b1ce8-ff3e-4a04-8007-2da5d5a6a7eb"]
    short = [f"cp-{n:012d}" for n in range(3)]
    long = [f"cp-{n:012d}" for n in range(3, 5)]
    for n, cid in enumerate(short):
        record(cid, call=f"c{n}", age=60 * n, sources=("https://example.com/prompts/" + "x" * 50 + ".wav",))
    lines = on_terminal("playbacks")
    whole_on_one_line(lines, short)
    for cid, call in zip(long, uuids, strict=True):  # UUID call IDs: one table per call, the call in its title
        record(cid, call=call, provider="vonage", profile="emulator-vonage", age=3600, sources=("tts:" + "y" * 80,))
    lines = on_terminal("playbacks")
    whole_on_one_line(lines, short + long)
    for call in uuids:
        assert any(line.startswith(f"Playbacks on call {call} (vonage)") for line in lines), lines


def test_stream_status_control_ids_are_whole_at_80_columns(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    played = [play("emulator-signalwire", call_id, "--tts", "Please hold, " * 8) for _ in range(3)]
    lines = on_terminal("stream-status", call_id, "-p", "emulator-signalwire", "--all")
    whole_on_one_line(lines, played)
