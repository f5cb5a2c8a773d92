"""Many calls in one command on the command line (issue 13): play, loop, stop, pause, resume and volume over
CALL, --call and --calls-from; --wait for many; stop --all; progress and outcome in every output mode.

In-process (`run_cli`) against emulators in this process; one subprocess test, where a signal to the process
is the subject. The acceptance runs use an emulator that takes any call ID (`emulator serve --any-call`), with
--rate 0 so that 500 calls take about a second; what each call got is read back from the emulator's admin API.
"""

from __future__ import annotations

import io
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from callplay import output
from callplay.emulator.app import EmulatorServer
from callplay.emulator.state import World
from callplay.errors import ExitCode
from callplay.ledger import Ledger
from tests.conftest import TEST_SPEED, CliResult, admin, emulator_call, run_cli, spawn_cli, wait_until

ACS, SW = "emulator-acs", "emulator-signalwire"
ACTIVE = ("playing", "paused")


@pytest.fixture(scope="module")
def any_call(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """An emulator that takes any call ID, as `callplay emulator serve --any-call`."""
    server = EmulatorServer(World(speed=TEST_SPEED, auto_create=True), state_dir=tmp_path_factory.mktemp("any"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def any_config(any_call: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "any-call.toml"
    any_call.write_config(path)
    monkeypatch.setenv("CALLPLAY_CONFIG", str(path))
    yield path
    set_faults(any_call, error_rate=0.0, rate_limit=0, errors=0, latency_ms=0)


def set_faults(server: EmulatorServer, **faults: Any) -> None:
    admin.post(f"{server.http_url}/_emulator/faults", json=faults).raise_for_status()


def calls_file(tmp_path: Path, n: int, prefix: str | None = None) -> tuple[Path, list[str]]:
    prefix = prefix or f"br-{uuid.uuid4().hex[:6]}-"
    ids = [f"{prefix}{i:04d}" for i in range(n)]
    path = tmp_path / "calls.txt"
    path.write_text("# the bridges\n" + "\n".join(ids) + "\n\n", encoding="utf-8")
    return path, ids


def playbacks_by_call(server: EmulatorServer, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The emulator's playbacks on each of `ids`, from one listing of its calls."""
    wanted = set(ids)
    calls = admin.get(f"{server.http_url}/_emulator/calls").json()["calls"]
    return {c["id"]: list(c["playbacks"]) for c in calls if c["id"] in wanted}


def still_playing(server: EmulatorServer, ids: list[str]) -> list[str]:
    return [c for c, pbs in playbacks_by_call(server, ids).items() if any(p["state"] in ACTIVE for p in pbs)]


def assert_one_playback_each(server: EmulatorServer, results: list[dict[str, Any]], ids: list[str]) -> None:
    assert [r["call_id"] for r in results] == ids  # one entry per call, in the order given
    control_ids = [r["control_id"] for r in results]
    assert len(set(control_ids)) == len(ids) and None not in control_ids
    played = playbacks_by_call(server, ids)
    for r in results:
        assert [p["handle"] for p in played[r["call_id"]]] == [r["control_id"]], r["call_id"]


def lines(result: CliResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# ---------------------------------------------------------------------------------------------- acceptance


def test_500_calls_from_a_file_each_get_exactly_one_playback(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path
) -> None:
    path, ids = calls_file(tmp_path, 500)
    started = time.monotonic()
    result = run_cli("play", "--calls-from", str(path), "--tts", "hi", "-p", SW, "-o", "json", "--rate", "0")
    assert time.monotonic() - started < 30  # seconds, not minutes (about 4 s here, the emulator in this process)
    data = result.data()
    assert data["total"] == 500 and data["ok"] == 500 and data["failed"] == 0
    assert all(r["ok"] and r["error"] is None and r["profile"] == SW for r in data["results"])
    assert_one_playback_each(any_call, data["results"], ids)


def test_with_503s_and_429s_every_call_still_plays_exactly_once(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path
) -> None:
    path, ids = calls_file(tmp_path, 500)
    set_faults(any_call, error_rate=0.1, error_status=503, rate_limit=5, retry_after=1, fired={})
    result = run_cli("play", "--calls-from", str(path), "--tts", "hi", "-p", ACS, "-o", "json", "--rate", "0")
    fired = admin.get(f"{any_call.http_url}/_emulator/faults").json()["fired"]
    set_faults(any_call, error_rate=0.0, rate_limit=0)
    assert fired.get("rate_limit") == 5 and fired.get("error", 0) > 20, fired
    data = result.data()  # every call ok, within the run's retry budget
    assert data["ok"] == 500
    assert_one_playback_each(any_call, data["results"], ids)


def test_one_unknown_call_among_fifty_is_named_and_exits_5(
    emulator: EmulatorServer, config_file: Path, new_call: Any, tmp_path: Path
) -> None:
    ids = [new_call() for _ in range(50)]
    ids.insert(20, "call-nobody-has")
    path = tmp_path / "calls.txt"
    path.write_text("\n".join(ids), encoding="utf-8")
    result = run_cli("play", "--calls-from", str(path), "--tts", "hi", "-p", SW, "-o", "json", "--rate", "0")
    assert result.exit_code == ExitCode.REJECTED, result.stderr
    envelope = result.json()
    assert envelope["ok"] is False and envelope["error"]["code"] == "rejected"
    assert "call-nobody-has" in envelope["error"]["message"] and SW in envelope["error"]["message"]
    data = envelope["data"]
    assert data["ok"] == 50 and data["failed"] == 1
    [bad] = [r for r in data["results"] if not r["ok"]]
    assert bad["call_id"] == "call-nobody-has" and bad["error"]["exit_code"] == 5 and bad["error"]["message"]
    assert "error: 1 of 51 calls failed: call call-nobody-has" in result.stderr
    for r in data["results"]:
        if r["ok"]:
            assert [p["handle"] for p in emulator_call(emulator, r["call_id"])["playbacks"]] == [r["control_id"]]


def test_jsonl_streams_a_line_per_call_then_the_envelope(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path
) -> None:
    path, ids = calls_file(tmp_path, 40)
    result = run_cli("play", "--calls-from", str(path), "--tts", "hi", "-p", SW, "-o", "jsonl", "--rate", "0")
    assert result.exit_code == 0, result.stderr
    got = lines(result)
    assert len(got) == 41 and [g["kind"] for g in got] == ["call"] * 40 + ["result"]
    assert {g["data"]["call_id"] for g in got[:-1]} == set(ids)
    assert all(g["version"] == 1 and g["command"] == "play" for g in got)
    assert got[-1]["data"]["total"] == 40


def test_stop_all_leaves_nothing_playing(any_call: EmulatorServer, any_config: Path, tmp_path: Path) -> None:
    path, ids = calls_file(tmp_path, 30)
    assert run_cli("loop", "--calls-from", str(path), "--tts", "hold", "-p", SW, "--rate", "0").exit_code == 0
    assert run_cli("loop", "--call", ids[0], "--call", ids[1], "--tts", "hold", "-p", ACS).exit_code == 0
    assert len(still_playing(any_call, ids)) == 30
    kept = run_cli("stop", "--all", "--call-prefix", ids[0][:-2] + "1", "-o", "json")  # ...10 to ...19
    assert {r["call_id"] for r in kept.data()["results"]} == set(ids[10:20])
    assert sorted(still_playing(any_call, ids)) == sorted(ids[:10] + ids[20:])
    result = run_cli("stop", "--all", "-o", "json")
    data = result.data()
    assert {r["profile"] for r in data["results"]} == {SW, ACS} and data["failed"] == 0
    assert still_playing(any_call, ids) == []
    again = run_cli("stop", "--all", "-p", SW, "-o", "json")
    assert again.data()["results"] == [] and "no playback to stop" in again.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_loop_with_wait_interrupted_leaves_nothing_playing(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path, signum: int
) -> None:
    path, ids = calls_file(tmp_path, 25)
    proc = spawn_cli("loop", "--calls-from", str(path), "--tts", "hold on", "--wait", "-p", SW, "--rate", "0")
    try:
        wait_until(lambda: len(still_playing(any_call, ids)) == 25 or proc.poll() is not None)
        # Every playback in the ledger: the run is waiting (a signal during the requests is another test's).
        wait_until(lambda: len(Ledger.default().playbacks(active=True, limit=100)) == 25 or proc.poll() is not None)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == ["error: interrupted: 25 playbacks stopped"] and "hint: nothing is left playing" in err
    assert "interrupted: stopping 25 playbacks (Ctrl-C again quits, leaving the rest playing)" in err
    assert still_playing(any_call, ids) == []


def test_an_interrupt_while_the_requests_of_a_wait_go_out_stops_what_started(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    from callplay.core import fanout
    from callplay.core.play import WaitOptions
    from callplay.model import CallOutcome, PlayRequest, Tts

    ids = [new_call() for _ in range(30)]
    seen: list[CallOutcome] = []

    def ctrl_c_after_five(outcome: CallOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 5:
            raise KeyboardInterrupt

    class Stops:
        """What the watcher is told once the run is interrupted: how many stops go out, and each coming back."""

        def __init__(self) -> None:
            self.count: int | None = None
            self.back: list[CallOutcome] = []

        def waiting(self, outcomes: Any) -> None: ...
        def event(self, e: Any) -> None: ...
        def ended(self, outcome: CallOutcome) -> None: ...
        def stopping(self, count: int) -> None:
            self.count = count

        def stopped(self, outcome: CallOutcome) -> None:
            self.back.append(outcome)

    hold = PlayRequest(items=[Tts("Please hold")], loop=0)
    stops = Stops()
    result = fanout.play_many(
        ids, hold, profile=SW, rate=20.0, on_result=ctrl_c_after_five, wait=WaitOptions(wait=True), watcher=stops
    )
    assert result.interrupted and result.exit_code == ExitCode.INTERRUPTED
    assert all(r.failure is not None and r.failure.code == "interrupted" for r in result.results)
    stopped = [r for r in result.results if r.control_id]
    assert 5 <= len(stopped) < 30 and {r.state for r in stopped} == {"stopped"}
    assert stops.count == len(stopped) and sorted(o.call_id for o in stops.back) == sorted(r.call_id for r in stopped)
    assert (
        result.failure.message
        == f"interrupted: {len(stopped)} playbacks stopped, {30 - len(stopped)} of 30 calls not sent"
    )
    assert not any(p["state"] in ACTIVE for c in ids for p in emulator_call(emulator, c)["playbacks"])


# ----------------------------------------------------------------------------------------- which is a call


def test_with_call_options_a_first_word_that_names_a_source_is_a_source(
    any_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def calls_and_sources(*argv: str) -> tuple[list[str], list[list[str]]]:
        result = run_cli("play", *argv, "-p", SW, "--dry-run", "-o", "json")
        data = result.data()
        if "results" not in data:  # one call: the single-call path, its Playback
            return [data["call_id"]], [data["sources"]]
        return [r["call_id"] for r in data["results"]], []

    assert calls_and_sources("tts:hello", "--call", "c1", "--call", "c2")[0] == ["c1", "c2"]
    assert calls_and_sources("c0", "--call", "c1", "--tts", "hi")[0] == ["c0", "c1"]
    # One call however given: today's single-call path, and the word before is its SOURCE.
    assert calls_and_sources("silence:1", "--call", "c1") == (["c1"], [["silence:1"]])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notice").write_bytes(b"")  # an existing file, whatever its name
    missing_wav = run_cli("play", "hold.WAV", "--call", "c1", "--dry-run", "-p", SW)
    assert missing_wav.exit_code == 2 and "no such file: hold.WAV" in missing_wav.stderr  # a source, not a call
    # Without --call or --calls-from the first word is the call, as always.
    assert calls_and_sources("tts-bridge", "--tts", "hi") == (["tts-bridge"], [["tts:hi"]])
    url = run_cli("play", "https://example.com/a.wav", "--call", "c1", "--call", "c2", "-p", SW, "--dry-run")
    assert url.exit_code == 0 and "c1" in url.stdout and "https" not in url.stdout.split("Calls")[-1]


def test_volume_with_calls_takes_a_single_word_as_the_level(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    ids = [new_call() for _ in range(3)]
    assert run_cli("loop", *(f"--call={c}" for c in ids), "--tts", "hold", "-p", SW).exit_code == 0
    result = run_cli("volume", *(f"--call={c}" for c in ids), "-6", "-p", SW, "-o", "json")
    assert result.data()["ok"] == 3
    assert [emulator_call(emulator, c)["playbacks"][0]["volume_db"] for c in ids] == [-6.0] * 3
    paused = run_cli("pause", ids[0], "--call", ids[1], "--call", ids[2], "-p", SW, "-o", "json")
    assert {r["state"] for r in paused.data()["results"]} == {"paused"}
    assert run_cli("stop", *(f"--call={c}" for c in ids), "-p", SW).exit_code == 0
    assert not any(emulator_call(emulator, c)["playbacks"][0]["state"] in ACTIVE for c in ids)


def test_one_call_given_with_call_keeps_the_single_call_path(any_config: Path) -> None:
    data = run_cli("loop", "--call", "solo", "--tts", "hi", "-p", SW, "-o", "json").data()
    assert data["call_id"] == "solo" and data["control_id"].startswith("cp-") and "results" not in data
    stopped = run_cli("stop", "--call", "solo", "-p", SW, "-o", "json").data()
    assert stopped["action"] == "stop" and stopped["state"] == "stopped"


def test_a_call_given_twice_gets_one_request_and_a_warning(any_call: EmulatorServer, any_config: Path) -> None:
    call = f"twice-{uuid.uuid4().hex[:6]}"
    result = run_cli("play", call, "--call", call, "--call", call + "-b", "--tts", "hi", "-p", SW, "-o", "json")
    assert result.data()["total"] == 2 and "duplicate call IDs ignored" in result.stderr
    assert len(playbacks_by_call(any_call, [call])[call]) == 1


# ------------------------------------------------------------------------------------------- --wait for many


def test_wait_for_many_streams_events_and_ends_when_all_have_finished(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path
) -> None:
    path, _ = calls_file(tmp_path, 12)
    result = run_cli("play", "--calls-from", str(path), "--tts", "hi", "--wait", "-p", SW, "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    got = lines(result)
    kinds = Counter(g["kind"] for g in got)
    assert kinds["call"] == 12 and kinds["event"] >= 12 and got[-1]["kind"] == "result"
    assert {g["data"]["control_id"] for g in got if g["kind"] == "event"} == {
        r["control_id"] for r in got[-1]["data"]["results"]
    }
    assert {r["state"] for r in got[-1]["data"]["results"]} == {"finished"}


def test_wait_for_many_off_a_terminal_prints_a_line_per_state_change(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path
) -> None:
    path, _ = calls_file(tmp_path, 3)
    result = run_cli("play", "--calls-from", str(path), "--tts", "hi", "--wait", "-p", SW)
    assert result.exit_code == 0, result.stderr
    err = result.stderr.splitlines()
    assert err[0] == "waiting for 3 playbacks to end"
    finished = [line for line in err if " finished " in line]
    assert len(finished) == 3 and finished[-1].endswith("(0 playing, 3 finished, 0 failed)")
    assert result.stdout.splitlines()[0].split() == ["action", "calls", "ok", "failed", "retries", "seconds"]


def test_wait_for_many_times_out_the_unfinished_ones_with_exit_6(
    any_call: EmulatorServer, any_config: Path, tmp_path: Path
) -> None:
    path, _ = calls_file(tmp_path, 4)
    result = run_cli("loop", "--calls-from", str(path), "--tts", "hold", "--wait", "--timeout", "0.5", "-p", SW)
    try:
        assert result.exit_code == ExitCode.UNAVAILABLE, result.stderr
        assert result.stderr.count("failed br-") == 4 and "no end event" in result.stderr
        assert "Failed calls" not in result.stdout and result.stdout.count(" timeout") == 0  # few: all listed
        assert "no end event for" in result.stdout
    finally:
        run_cli("stop", "--all")


# ----------------------------------------------------------------------------------------------- output


def test_table_off_a_terminal_lists_failures_on_stderr_and_sums_up_on_stdout(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    ids = [new_call() for _ in range(11)] + ["call-gone-1"]
    result = run_cli("play", *(f"--call={c}" for c in ids), "--tts", "hi", "-p", SW, "--rate", "0")
    assert result.exit_code == ExitCode.REJECTED
    assert result.stderr.startswith(f"failed call-gone-1 ({SW}): ")
    out = result.stdout.splitlines()
    assert out[:2] == [
        "action  calls  ok  failed  retries  seconds",
        f"play    12     11  1       0        {out[1].split()[-1]}",
    ]
    assert "Failed calls (1 of 12)" in out and sum("call-gone-1" in line for line in out) == 1
    assert not any(c in result.stdout for c in ids[:-1])  # more than a few: the successful ones are not listed


def test_the_outcome_tables_fit_80_columns_with_every_id_whole() -> None:
    from callplay.errors import ProviderRejected, ProviderUnavailable
    from callplay.model import CallOutcome, FanoutResult

    uuid_call = "421f0b00-0c2d-4e4f-9a1b-5c6d7e8f9a0b"  # ACS call connection IDs are UUIDs
    long_reason = "the provider answered 404 CallNotFound: the call connection does not exist or has ended already"
    outcomes = [
        CallOutcome(f"{uuid_call[:-3]}{i:03d}", "production-eastus", "acs", True, f"cp-{i:012x}") for i in range(20)
    ]
    outcomes[7] = CallOutcome(uuid_call, "production-eastus", "acs", False, None, None, ProviderRejected(long_reason))
    timed_out = ProviderUnavailable("no end event within 300 s", code="timeout")
    outcomes.append(
        CallOutcome(
            uuid_call[:-1] + "f", "sw-westeurope-prod", "signalwire", False, "cp-7a1aaad76ea1", "playing", timed_out
        )
    )
    texts = []
    for result in (FanoutResult("stop", outcomes), FanoutResult("play", outcomes[5:9])):
        buf = io.StringIO()
        console = Console(file=buf, width=80, force_terminal=True, color_system=None, legacy_windows=False)
        output.print_tables(output.tables_for(result), output._RichPrinter(console))
        text = buf.getvalue()
        texts.append(text)
        assert all(cell_len(line) <= 80 for line in text.splitlines()), "\n" + text
        shown = (
            [o for o in result.results if not o.ok] if len(result.results) > output.FANOUT_LISTED else result.results
        )
        for o in shown:
            assert any(o.call_id in line for line in text.splitlines()), f"{o.call_id} split or missing:\n{text}"
            assert o.control_id is None or any(o.control_id in line for line in text.splitlines()), "\n" + text
    # Many calls: the failed ones, a table per profile; a few: every call, the successful ones without an error.
    assert (
        "Failed calls (2 of 21), profile sw-westeurope-prod (signalwire)" in texts[0]
        and "cp-000000000003" not in texts[0]
    )
    assert texts[1].count("cp-00000000000") == 3 and "Calls" in texts[1]


def test_a_keyboard_interrupt_dropped_in_a_finalizer_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a signal during a garbage collection in the main thread does (the wait of many calls met it): Python
    # hands the dropped KeyboardInterrupt to sys.unraisablehook, which prints "Exception ignored in" and a traceback.
    import gc
    import sys
    import weakref

    from callplay.cli.options import quiet_dropped_interrupts

    reported: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(type(u.exc_value)))

    class Garbage:
        pass

    def drop_one(exc: type[BaseException]) -> None:
        def raise_it() -> None:
            raise exc

        thing = Garbage()
        weakref.finalize(thing, raise_it)
        del thing
        gc.collect()

    with quiet_dropped_interrupts():
        drop_one(KeyboardInterrupt)
        drop_one(ValueError)  # anything else is reported as ever
    assert reported == [ValueError]
    drop_one(KeyboardInterrupt)  # outside a command too
    assert reported == [ValueError, KeyboardInterrupt]


def test_on_a_terminal_the_stops_of_an_interrupted_run_have_a_bar_that_fits_80_columns() -> None:
    from callplay import live
    from callplay.model import CallOutcome

    screen = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None, legacy_windows=False)
    bars = live._ManyBars(screen, "loop", 40)
    try:
        started = [CallOutcome(f"bridge-{i}", SW, "signalwire", True, f"cp-{i:012x}", "playing") for i in range(40)]
        for outcome in started:
            bars.result(outcome)
        bars.waiting(started)
        bars.stopping(40)
        for outcome in started[:12]:
            bars.stopped(outcome)
        frame = io.StringIO()
        Console(file=frame, width=80, force_terminal=True, color_system=None).print(bars.progress.get_renderable())
    finally:
        bars.close()
    lines = frame.getvalue().splitlines()
    assert all(cell_len(line) <= 80 for line in lines), "\n".join(lines)
    [stopping] = [line for line in lines if line.startswith("stopping")]
    assert "12/40" in stopping and "Ctrl-C again quits" in stopping
    [waiting] = [line for line in lines if line.startswith("waiting")]
    assert "interrupted after 0 s: 40 were playing" in waiting
