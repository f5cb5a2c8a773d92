"""Runs over many calls (callplay.core.fanout), the call lists that feed them (callplay.values.call_list), the
shared retry budget (callplay.retry.SharedBudget) and the order of exit codes (callplay.errors.SEVERITY).

The core functions are called directly against the session emulator (the CLI is wired to them elsewhere);
faults are set on the emulator, and what it played is read back from its admin API.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from callplay import interrupts, retry
from callplay.core import fanout
from callplay.emulator.app import EmulatorServer
from callplay.errors import SEVERITY, ConfigError, ExitCode, UsageError, most_severe
from callplay.ledger import Ledger
from callplay.model import CallOutcome, PlayRequest, Tts
from callplay.providers import PROVIDER_NAMES, provider_facts
from callplay.values import CallList, call_list
from tests.conftest import admin, emulator_call

SW = "emulator-signalwire"


def set_faults(emulator: EmulatorServer, **faults: Any) -> None:
    admin.post(f"{emulator.http_url}/_emulator/faults", json=faults).raise_for_status()


def fired(emulator: EmulatorServer) -> dict[str, int]:
    return dict(admin.get(f"{emulator.http_url}/_emulator/faults").json()["fired"])


def hold(loop: int = 1) -> PlayRequest:
    return PlayRequest(items=[Tts("Please hold")], loop=loop)


def handles(emulator: EmulatorServer, call_id: str) -> list[str]:
    return [p["handle"] for p in emulator_call(emulator, call_id)["playbacks"]]


def active(emulator: EmulatorServer, call_id: str) -> list[str]:
    return [p["handle"] for p in emulator_call(emulator, call_id)["playbacks"] if p["state"] in ("playing", "paused")]


# ----------------------------------------------------------------------------------------------- call lists


def test_a_call_list_merges_call_options_and_file_in_order_once_each(tmp_path: Path) -> None:
    listed = tmp_path / "calls.txt"
    listed.write_text("# bridges\n\n  c3  \nc1\r\nc4 # the war room\n\t\nc3\n", encoding="utf-8")
    got = call_list("c1", ["c2", "c1"], str(listed))
    assert got.ids == ["c1", "c2", "c3", "c4"]
    [warning] = got.warnings
    assert warning.startswith("3 duplicate call IDs ignored") and "c1, c3" in warning


def test_a_single_call_has_no_warnings() -> None:
    assert call_list("only") == CallList(["only"], [])


def test_calls_from_stdin_text_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a\nb\n"))
    assert call_list(calls_from="-").ids == ["a", "b"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"x\ny\n")))
    assert call_list(calls_from="-").ids == ["x", "y"]


def test_calls_from_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "calls.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("p1\np2\n", encoding="utf-8"))
    writer.start()
    assert call_list(calls_from=str(fifo)).ids == ["p1", "p2"]
    writer.join()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"good\n\xff\xfe\n", "line 2 is not UTF-8"),
        (b"good\nbad\tcall\n", "line 2: the call ID 'bad\\tcall' contains control characters"),
        (b"# nothing\n\n", "lists no calls"),
    ],
    ids=["not-utf8", "control-char", "only-comments"],
)
def test_a_bad_list_names_the_line(tmp_path: Path, content: bytes, message: str) -> None:
    listed = tmp_path / "calls.txt"
    listed.write_bytes(content)
    with pytest.raises(UsageError, match=re.escape(message)) as caught:
        call_list(calls_from=str(listed))
    assert caught.value.hint


def test_unreadable_lists_are_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"cannot read --calls-from .*: No such file"):
        call_list(calls_from=str(tmp_path / "missing.txt"))
    with pytest.raises(UsageError, match="is a directory"):
        call_list(calls_from=str(tmp_path))
    big = tmp_path / "big.txt"
    big.write_text("c\n" * 100, encoding="utf-8")
    monkeypatch.setattr("callplay.values.MAX_CALLS_BYTES", 50)
    with pytest.raises(UsageError, match="longer than"):
        call_list(calls_from=str(big))
    with pytest.raises(UsageError, match="no call given"):
        call_list()


# ------------------------------------------------------------------------------------- facts and exit codes


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_every_provider_has_a_default_rate_and_says_where_it_comes_from(name: str) -> None:
    facts = provider_facts(name)
    assert facts.request_rate > 0 and facts.request_rate_source


def test_the_most_severe_exit_code_wins_in_the_documented_order() -> None:
    assert most_severe([0, 0]) is ExitCode.OK
    assert most_severe([6, 5, 0]) is ExitCode.REJECTED
    assert most_severe([6, 5, 4, 3]) is ExitCode.CONFIG
    assert most_severe([6, 2, 3]) is ExitCode.USAGE
    assert most_severe([2, 130]) is ExitCode.INTERRUPTED
    assert SEVERITY.index(ExitCode.USAGE) < SEVERITY.index(ExitCode.CONFIG) < SEVERITY.index(ExitCode.UNSUPPORTED)
    assert (
        SEVERITY.index(ExitCode.UNSUPPORTED) < SEVERITY.index(ExitCode.REJECTED) < SEVERITY.index(ExitCode.UNAVAILABLE)
    )


def test_the_shared_budget_is_a_quarter_of_the_calls_and_at_least_its_minimum() -> None:
    assert retry.SharedBudget.for_calls(1).retries == retry.SHARED_MIN
    assert retry.SharedBudget.for_calls(1000).retries == 250
    budget = retry.SharedBudget(2)
    assert [budget.take() for _ in range(3)] == [True, True, False]


# ------------------------------------------------------------------------------------------------- plays


def test_fifty_calls_with_one_unknown_play_49_and_name_the_unknown_one(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    calls = [new_call() for _ in range(49)]
    calls.insert(17, "call-nobody-has")
    seen: list[CallOutcome] = []
    result = fanout.play_many(calls, hold(), profile=SW, on_result=seen.append)
    assert [r.call_id for r in result.results] == calls  # in the order given
    assert len(seen) == 50 and {o.call_id for o in seen} == set(calls)
    assert result.to_dict()["total"] == 50 and result.to_dict()["ok"] == 49 and result.to_dict()["failed"] == 1
    assert result.exit_code == 5
    [bad] = result.failed
    assert bad.call_id == "call-nobody-has" and bad.profile == SW and bad.control_id is None
    entry = bad.to_dict()
    assert entry["error"]["exit_code"] == 5 and entry["error"]["message"]
    assert "call call-nobody-has (profile emulator-signalwire)" in result.failure.message
    ids = [r.control_id for r in result.results if r.ok]
    assert len(set(ids)) == 49
    for call_id, control_id in zip([c for c in calls if c != bad.call_id], ids, strict=True):
        assert handles(emulator, call_id) == [control_id]
    [event] = Ledger.default().events(call_id="call-nobody-has")
    assert event.type == fanout.FAILED_EVENT and event.detail["profile"] == SW and event.detail["exit_code"] == 5


@pytest.mark.parametrize("profile", ["emulator-signalwire", "emulator-acs"])
def test_with_503s_and_429s_every_call_plays_exactly_once(
    emulator: EmulatorServer, config_file: Path, new_call: Any, profile: str
) -> None:
    # 200 calls: the budget (25 % of the calls) then holds the random 503s (10 % of the attempts, about 22) and
    # the forced faults by more than four standard deviations; with 60 calls it was spent in about 1 run in 50.
    calls = [new_call() for _ in range(200)]
    set_faults(emulator, errors=3, error_rate=0.1, error_status=503, rate_limit=4, retry_after=1)
    result = fanout.play_many(calls, hold(), profile=profile, rate=0)
    set_faults(emulator, error_rate=0.0, rate_limit=0)
    assert result.exit_code == 0, [r.to_dict() for r in result.failed]
    assert fired(emulator).get("rate_limit") == 4 and fired(emulator).get("error", 0) > 0
    assert 0 < result.retries <= retry.SharedBudget.for_calls(200).retries
    assert result.elapsed_s >= 1.0  # the Retry-After held the run back
    for outcome in result.results:
        assert handles(emulator, outcome.call_id) == [outcome.control_id]  # exactly one playback each


def test_a_provider_that_fails_everything_gets_the_budget_of_retries_and_no_more(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    calls = [new_call() for _ in range(30)]
    set_faults(emulator, error_rate=1.0, error_status=503)
    result = fanout.play_many(calls, hold(), profile=SW)
    set_faults(emulator, error_rate=0.0)
    budget = retry.SharedBudget.for_calls(30).retries
    assert result.exit_code == 6 and len(result.failed) == 30
    assert result.retries == budget
    assert fired(emulator)["error"] == 30 + budget  # one first attempt per call, plus the budget: no more
    assert any("retries are spent" in (r.failure.hint or "") for r in result.failed)
    assert all(handles(emulator, c) == [] for c in calls)


def test_the_rate_spaces_the_requests(emulator: EmulatorServer, config_file: Path, new_call: Any) -> None:
    calls = [new_call() for _ in range(11)]
    started = time.monotonic()
    result = fanout.play_many(calls, hold(), profile=SW, rate=20.0)
    assert result.exit_code == 0
    assert time.monotonic() - started >= 10 / 20.0  # 11 requests, 1/20 s apart


def test_a_request_that_fails_every_call_alike_fails_before_any_is_sent(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    calls = [new_call() for _ in range(3)]
    with pytest.raises(UsageError):
        fanout.play_many(calls, PlayRequest(items=[]), profile=SW)
    with pytest.raises(UsageError, match="--concurrency 0"):
        fanout.play_many(calls, hold(), profile=SW, concurrency=0)
    assert all(handles(emulator, c) == [] for c in calls)


def test_dry_run_sends_nothing(emulator: EmulatorServer, config_file: Path, new_call: Any) -> None:
    calls = [new_call() for _ in range(3)]
    result = fanout.play_many(calls, hold(), profile=SW, dry_run=True)
    assert [r.state for r in result.results] == ["dry-run"] * 3 and result.exit_code == 0
    assert all(handles(emulator, c) == [] for c in calls)


# ------------------------------------------------------------------------------------ interrupts and stops


def test_an_interrupt_stops_sending_and_stop_started_leaves_nothing_playing(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    calls = [new_call() for _ in range(40)]
    seen: list[CallOutcome] = []

    def ctrl_c_after_five(outcome: CallOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 5:
            raise KeyboardInterrupt

    result = fanout.play_many(calls, hold(loop=0), profile=SW, rate=20.0, on_result=ctrl_c_after_five)
    assert result.interrupted and result.exit_code == 130
    sent = [r for r in result.results if r.ok]
    unsent = [r for r in result.results if not r.ok]
    assert 5 <= len(sent) < 40 and all(r.failure.code == "interrupted" for r in unsent)
    assert all(handles(emulator, r.call_id) == [] for r in unsent)  # nothing more was sent
    assert sum(bool(active(emulator, c)) for c in calls) == len(sent)
    stopped = fanout.stop_started(result)
    assert stopped.exit_code == 0 and len(stopped.results) == len(sent)
    assert not any(active(emulator, c) for c in calls)


def test_stop_all_leaves_nothing_playing_and_keeps_to_the_prefix(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    calls = [new_call() for _ in range(12)]
    for profile in (SW, "emulator-acs"):
        assert fanout.play_many(calls[:6], hold(loop=0), profile=profile).exit_code == 0
    assert fanout.play_many(calls[6:], hold(loop=0), profile=SW).exit_code == 0
    spared = calls[0]
    prefix = spared[: len("call-") + 1]
    others = [c for c in calls if not c.startswith(prefix)]
    assert others and others != calls  # the prefix picks some of the calls, not all
    kept = [c for c in calls if c.startswith(prefix)]
    result = fanout.stop_all(profile=None, call_prefix=prefix)
    assert result.exit_code == 0 and {r.call_id for r in result.results} == set(kept)
    assert not any(active(emulator, c) for c in kept) and all(active(emulator, c) for c in others)
    everything = fanout.stop_all(profile=None)
    assert everything.exit_code == 0 and {r.profile for r in everything.results} == {SW, "emulator-acs"}
    assert not any(active(emulator, c) for c in calls)
    again = fanout.stop_all(profile=SW)
    assert again.results == [] and again.exit_code == 0 and "no playback to stop" in again.warnings[-1]


def test_pause_resume_and_volume_on_many_calls(emulator: EmulatorServer, config_file: Path, new_call: Any) -> None:
    calls = [new_call() for _ in range(5)]
    fanout.play_many(calls, hold(loop=0), profile=SW)
    paused = fanout.control_many("pause", calls, profile=SW)
    assert paused.exit_code == 0 and {r.state for r in paused.results} == {"paused"}
    assert all(emulator_call(emulator, c)["playbacks"][0]["state"] == "paused" for c in calls)
    assert fanout.control_many("resume", calls, profile=SW).exit_code == 0
    louder = fanout.control_many("volume", calls, profile=SW, level="+3")
    assert louder.exit_code == 0
    assert all(emulator_call(emulator, c)["playbacks"][0]["volume_db"] == 3.0 for c in calls)
    stopped = fanout.control_many("stop", [*calls, "call-never-played"], profile=SW)
    # As `callplay stop CALL` on a call callplay played nothing on: a usage error, for that call alone.
    assert stopped.exit_code == 2 and [r.call_id for r in stopped.failed] == ["call-never-played"]
    assert "call-never-played" in stopped.failure.message
    assert not any(active(emulator, c) for c in calls)


def test_control_id_goes_with_one_call_only() -> None:
    with pytest.raises(UsageError, match="--control-id"):
        fanout.control_many("stop", ["a", "b"], profile=SW, control_id="cp-1")


def test_a_signal_whose_keyboard_interrupt_was_lost_still_stops_the_run(
    emulator: EmulatorServer, config_file: Path, new_call: Any
) -> None:
    calls = [new_call() for _ in range(30)]
    seen: list[CallOutcome] = []

    def signal_noted_only(outcome: CallOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            interrupts.note()  # what the CLI's handler does before raising (Python may drop the raise)

    try:
        result = fanout.play_many(calls, hold(loop=0), profile=SW, rate=20.0, on_result=signal_noted_only)
    finally:
        interrupts.clear()
    assert result.interrupted and result.exit_code == 130
    assert fanout.stop_started(result).exit_code == 0
    assert not any(active(emulator, c) for c in calls)


def test_stop_all_with_an_unknown_profile_is_a_config_error(config_file: Path) -> None:
    with pytest.raises(ConfigError):
        fanout.stop_all(profile="no-such-profile")


def _interrupted_run(*outcomes: tuple[str | None, str | None, bool]) -> Any:
    """A run interrupted by Ctrl-C: (control ID, state, ok) per call, each failed call failed as the run fails it."""
    from callplay.errors import Interrupted
    from callplay.model import FanoutResult

    def outcome(i: int, control_id: str | None, state: str | None, ok: bool) -> CallOutcome:
        if ok:
            return CallOutcome(f"c{i}", SW, "signalwire", True, control_id, state)
        if control_id is None:
            failure = fanout._not_sent()
        elif state == "stopped":
            failure = Interrupted("interrupted: stopped", "nothing is left playing")
        else:
            failure = Interrupted("interrupted, and stopping it failed: 503", f"stop it by hand: callplay stop c{i}")
        return CallOutcome(f"c{i}", SW, "signalwire", False, control_id, state, failure)

    return FanoutResult("loop", [outcome(i, *o) for i, o in enumerate(outcomes)], interrupted=True)


def test_an_interrupted_run_says_in_one_line_what_the_interrupt_did() -> None:
    stopped, unsent = ("cp-1", "stopped", False), (None, None, False)
    kept, sent = ("cp-2", "playing", False), ("cp-3", "playing", True)
    every = _interrupted_run(stopped, stopped, stopped).failure
    assert (every.message, every.hint, every.exit_code) == (
        "interrupted: 3 playbacks stopped",
        "nothing is left playing",
        ExitCode.INTERRUPTED,
    )
    partly = _interrupted_run(stopped, unsent, unsent).failure
    assert (partly.message, partly.hint) == (
        "interrupted: 1 playback stopped, 2 of 3 calls not sent",
        "nothing is left playing",
    )
    # Without --wait the calls sent play on, as asked: only those not sent failed.
    plain = _interrupted_run(sent, unsent).failure
    assert (plain.message, plain.hint) == (
        "interrupted: 1 of 2 calls not sent",
        "run the command again for the calls not sent",
    )
    one_left = _interrupted_run(stopped, kept).failure
    assert one_left.message == "interrupted: 1 playback stopped, 1 not stopped"
    assert one_left.hint == "stop it by hand: callplay stop c1"
    left = _interrupted_run(stopped, kept, kept).failure
    assert left.message == "interrupted: 1 playback stopped, 2 not stopped"
    assert left.hint == f"stop what still plays: callplay stop --all -p {SW}"
    assert all(len(f"error: {f.message}") <= 80 and len(f"hint: {f.hint}") <= 80 for f in (every, partly, plain, left))
    # A call that failed on its own before the interrupt (a 404) is counted too; its row says why.
    from callplay.errors import ProviderRejected

    run = _interrupted_run(stopped, stopped)
    run.results.append(CallOutcome("gone", SW, "signalwire", False, failure=ProviderRejected("call not found")))
    assert run.failure.message == "interrupted: 2 playbacks stopped, 1 failed"
