"""callplay's one retry policy (callplay/retry.py), end to end on every provider.

The CLI runs in-process against the emulator; faults are set on the emulator, never by patching an SDK. The
emulator's `after_effect` fault carries a request out and then drops the connection, which is how these tests
show that a play callplay cannot know the fate of is never sent twice. conftest.py makes the backoff waits
short (CALLPLAY_RETRY_BASE_S, CALLPLAY_RETRY_MAX_WAIT_S); a Retry-After the emulator sends is honoured in full.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from callplay import retry
from callplay.emulator.app import EmulatorServer
from callplay.errors import ConfigError
from tests.conftest import CliResult, admin, emulator_call, run_cli, wait_until

PROVIDERS = ("acs", "signalwire", "vonage", "chime")
WITH_STATUS = ("acs", "signalwire", "vonage")  # Chime has no call status API: stream-status sends nothing


def set_faults(emulator: EmulatorServer, **faults: Any) -> None:
    admin.post(f"{emulator.http_url}/_emulator/faults", json=faults).raise_for_status()


def fired(emulator: EmulatorServer) -> dict[str, int]:
    return dict(admin.get(f"{emulator.http_url}/_emulator/faults").json()["fired"])


def cli(provider: str, *args: str, env: dict[str, str] | None = None) -> CliResult:
    return run_cli(*args, "-p", f"emulator-{provider}", "-o", "json", env=env)


def play(provider: str, call_id: str, env: dict[str, str] | None = None) -> CliResult:
    return cli(provider, "play", call_id, "--tts", "Please hold", env=env)


def plays(emulator: EmulatorServer, provider: str, call_id: str, control_id: str) -> int:
    """How many times the emulator's face started this playback on the call."""
    call = emulator_call(emulator, call_id)
    if provider in ("acs", "signalwire"):  # the control ID is the operationContext / control_id
        return sum(p["handle"] == control_id for p in call["playbacks"])
    if provider == "vonage":  # no playback id: a fresh call, so every talk on it is ours
        return sum(p["handle"] == "talk" for p in call["playbacks"])
    return sum(  # Chime: each UpdateSipMediaApplicationCall that reached the call invokes the Lambda once
        e.get("invocation") == "CALL_UPDATE_REQUESTED"
        and (e.get("action_data") or {}).get("Parameters", {}).get("Arguments", {}).get("control_id") == control_id
        for e in call["log"]
    )


def settled_plays(emulator: EmulatorServer, provider: str, call_id: str, control_id: str) -> int:
    """plays(), once the face has seen at least one (Chime's Lambda runs after the 202) and a second would have
    arrived: callplay sends any retry before it exits, so a short settle is enough."""
    wait_until(lambda: plays(emulator, provider, call_id, control_id), timeout=10)
    time.sleep(0.1 if provider == "chime" else 0)
    return plays(emulator, provider, call_id, control_id)


def control_id_of(result: CliResult) -> str:
    envelope = result.json()
    if envelope["ok"]:
        return str(envelope["data"]["control_id"])
    hint = str(envelope["error"]["hint"])
    return hint.split("--control-id ")[1].split("`")[0]


# ------------------------------------------------------------------------------------------- transient faults


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_429_and_a_503_on_play_are_retried_and_retry_after_honoured(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str
) -> None:
    # One command meets both: a 429 asking for 1 s, then a 503, then the play goes through (3 attempts).
    set_faults(emulator, rate_limit=1, retry_after=1, errors=1, error_status=503)
    started = time.monotonic()
    result = play(provider, call_id)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert fired(emulator) == {"rate_limit": 1, "error": 1}
    assert elapsed >= 1.0  # Retry-After honoured, not just the (short, in tests) backoff
    assert settled_plays(emulator, provider, call_id, control_id_of(result)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_503_and_a_dropped_connection_on_stop_are_absorbed(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str
) -> None:
    # Chime cannot interrupt a Speak (its stop says so, exit 4): stop a Pause there, which it can.
    source = ("silence:5",) if provider == "chime" else ("--tts", "Please hold")
    started = cli(provider, "play", call_id, *source)
    assert started.exit_code == 0, started.stderr
    # A 503 (not carried out), then a stop carried out whose answer is lost: a stop may be sent again.
    set_faults(emulator, errors=1, error_status=503, after_effect=1)
    result = cli(provider, "stop", call_id)
    assert result.exit_code == 0, result.stderr
    assert fired(emulator) == {"error": 1, "after_effect": 1}


@pytest.mark.parametrize("provider", WITH_STATUS)
def test_a_dropped_connection_and_a_503_on_status_are_absorbed(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str
) -> None:
    set_faults(emulator, drop=1, errors=1, error_status=503)
    result = cli(provider, "stream-status", call_id)
    assert result.exit_code == 0, result.stderr
    assert fired(emulator) == {"drop": 1, "error": 1}


def test_a_dropped_connection_on_pause_is_absorbed(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    started = cli("signalwire", "loop", call_id, "--tts", "hold on")
    assert started.exit_code == 0, started.stderr
    set_faults(emulator, after_effect=1)  # paused on the emulator, and the answer lost: the pause is sent again
    result = cli("signalwire", "pause", call_id, "--control-id", control_id_of(started))
    assert result.exit_code == 0, result.stderr
    assert fired(emulator) == {"after_effect": 1}


# ------------------------------------------------------------------------------ a play callplay cannot resend


@pytest.mark.parametrize("fault", [{"after_effect": 1}, {"after_effect": 1, "after_effect_status": 502}])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_play_that_may_have_been_carried_out_is_not_sent_again(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str, fault: dict[str, Any]
) -> None:
    set_faults(emulator, **fault)
    result = play(provider, call_id)
    assert result.exit_code == 6, result.stderr
    error = result.json()["error"]
    assert error["code"] == "unavailable"
    control_id = control_id_of(result)
    assert "may have started" in error["hint"]
    assert f"callplay stream-status {call_id}" in error["hint"]
    assert f"callplay stop {call_id} --control-id {control_id}" in error["hint"]
    assert "may have started" in result.stderr  # the hint reaches a person too
    assert fired(emulator) == {"after_effect": 1}
    assert settled_plays(emulator, provider, call_id, control_id) == 1  # played once, never twice
    # The ledger keeps it as "unknown", so a bare `callplay stop CALL` finds and stops it.
    status = cli(provider, "stream-status", call_id).json()["data"]
    assert [(p["control_id"], p["state"]) for p in status["playbacks"]] == [(control_id, "unknown")]
    stopped = cli(provider, "stop", call_id)
    assert stopped.exit_code in (0, 4), stopped.stderr  # 4: a Chime Speak says it keeps playing
    assert stopped.json()["data"]["control_id"] == control_id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_play_whose_connection_dropped_unanswered_is_not_sent_again(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str
) -> None:
    # The emulator dropped it before acting, but callplay cannot tell that from a drop after acting.
    set_faults(emulator, drop=1)
    result = play(provider, call_id)
    assert result.exit_code == 6, result.stderr
    assert "may have started" in result.json()["error"]["hint"]
    assert fired(emulator) == {"drop": 1}
    time.sleep(0.2 if provider == "chime" else 0)
    assert plays(emulator, provider, call_id, control_id_of(result)) == 0


# ------------------------------------------------------------------------------------------ bounded retrying


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_persistent_429_ends_in_exit_6_after_the_attempts(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str
) -> None:
    set_faults(emulator, rate_limit=100, retry_after=0)
    result = play(provider, call_id)
    assert result.exit_code == 6, result.stderr
    assert fired(emulator) == {"rate_limit": retry.RETRIES + 1}
    assert result.json()["error"]["message"].endswith(f", after {retry.RETRIES + 1} attempts")


def test_a_persistent_429_stops_within_the_time_budget(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    set_faults(emulator, rate_limit=100, retry_after=1)
    started = time.monotonic()
    result = play("signalwire", call_id, env={"CALLPLAY_RETRY_BUDGET_S": "1.5"})
    elapsed = time.monotonic() - started
    assert result.exit_code == 6, result.stderr
    # Waited 1 s once; a second wait would have ended past the budget, so callplay stopped there.
    assert fired(emulator) == {"rate_limit": 2}
    assert 1.0 <= elapsed < 1.5 + 1.0
    error = result.json()["error"]
    assert error["code"] == "unavailable" and error["hint"] == "retry in 1 s"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_retry_after_beyond_the_cap_is_reported_at_once(
    emulator: EmulatorServer, config_file: Path, call_id: str, provider: str
) -> None:
    set_faults(emulator, rate_limit=1, retry_after=600)
    started = time.monotonic()
    result = play(provider, call_id)
    assert time.monotonic() - started < 5
    assert result.exit_code == 6, result.stderr
    assert result.json()["error"]["hint"] == "retry in 600 s"
    assert "retry in 600 s" in result.stderr
    assert fired(emulator) == {"rate_limit": 1}


def test_acs_retries_setting_still_sets_the_number_of_retries(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    set_faults(emulator, rate_limit=100, retry_after=0)
    assert play("acs", call_id, env={"CALLPLAY_RETRIES": "0"}).exit_code == 6
    assert fired(emulator) == {"rate_limit": 1}


# ------------------------------------------------------------------------------------------------ acceptance


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plays_under_429s_and_after_effects_each_play_exactly_once(
    emulator: EmulatorServer, config_file: Path, new_call: Any, provider: str
) -> None:
    """One play in five is carried out and then loses its answer; the others meet one or two 429s first. Every
    call ends with exactly one playback: the lost answers exit 6 saying the playback may have started, the
    rest succeed."""
    rng = random.Random(f"retry-acceptance-{provider}")
    calls = 5
    after_effect = rng.randrange(calls)  # 20 % of the plays
    started = time.monotonic()
    for n in range(calls):
        call_id = new_call()
        throttled = rng.choice((0, 1, 2)) if n != after_effect else rng.choice((0, 1))
        set_faults(emulator, rate_limit=throttled, retry_after=0, after_effect=int(n == after_effect), fired={})
        result = play(provider, call_id)
        if n == after_effect:
            assert result.exit_code == 6, result.stderr
            assert "may have started" in result.json()["error"]["hint"]
            assert fired(emulator) == {"after_effect": 1, **({"rate_limit": throttled} if throttled else {})}
        else:
            assert result.exit_code == 0, result.stderr
            assert fired(emulator) == ({"rate_limit": throttled} if throttled else {})
        assert settled_plays(emulator, provider, call_id, control_id_of(result)) == 1
    assert time.monotonic() - started < calls * retry.BUDGET_S  # bounded: no command ran past its budget


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plays_under_a_rate_of_after_effects_are_never_doubled(
    emulator: EmulatorServer, config_file: Path, new_call: Any, provider: str
) -> None:
    """after_effect_rate as a provider's flaky network would give it: whatever fires, no call plays twice, and
    a command exits 6 exactly when its answer was lost."""
    set_faults(emulator, after_effect_rate=0.2, rate_limit=1, retry_after=0)
    for _ in range(3):
        call_id = new_call()
        before = fired(emulator).get("after_effect", 0)
        result = play(provider, call_id)
        lost = fired(emulator).get("after_effect", 0) - before
        assert result.exit_code == (6 if lost else 0), result.stderr
        assert settled_plays(emulator, provider, call_id, control_id_of(result)) == 1


# --------------------------------------------------------------------------------------- the policy on its own


def test_the_policy_reads_its_numbers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPLAY_RETRIES", "4")
    monkeypatch.setenv("CALLPLAY_RETRY_BUDGET_S", "7.5")
    p = retry.policy()
    assert (p.retries, p.budget_s, p.base_s, p.max_wait_s) == (4, 7.5, 0.01, 0.05)
    assert retry.policy(retries=0).retries == 0  # a profile's own setting (ACS retries) wins


@pytest.mark.parametrize(("var", "value"), [("CALLPLAY_RETRY_BASE_S", "fast"), ("CALLPLAY_RETRIES", "1.5")])
def test_a_bad_policy_variable_is_a_config_error(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        retry.policy()


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    p = retry.RetryPolicy(base_s=1.0, max_wait_s=4.0)
    for n, full in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)):
        waits = [p.backoff(n) for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits)
        assert len(set(waits)) > 1


def test_what_is_retried_for_a_play_and_for_an_idempotent_request() -> None:
    p = retry.RetryPolicy()
    for cause in ("throttled", "refused"):
        assert p.retryable(retry.Kind.PLAY, retry.Failure(cause))
    for cause in ("server_error", "dropped", "timeout"):
        assert not p.retryable(retry.Kind.PLAY, retry.Failure(cause))
        assert p.retryable(retry.Kind.IDEMPOTENT, retry.Failure(cause))
    assert not p.retryable(retry.Kind.IDEMPOTENT, None)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    from email.utils import formatdate

    assert retry.retry_after_of("3") == 3.0
    assert retry.retry_after_of(None) is None and retry.retry_after_of("soon") is None
    in_a_minute = retry.retry_after_of(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 55 <= in_a_minute <= 61
    assert retry.retry_after_of(formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_run_raises_the_last_exception_with_its_outcome() -> None:
    attempts: list[int] = []

    def send() -> None:
        attempts.append(1)
        raise RuntimeError("busy")

    with pytest.raises(RuntimeError) as err:
        retry.run(
            send,
            request=retry.Request(retry.Kind.IDEMPOTENT, "c1"),
            classify=lambda exc: retry.Failure("throttled", 429),
            retry_policy=retry.RetryPolicy(retries=3, base_s=0.0),
            sleep=lambda s: None,
        )
    outcome = retry.outcome(err.value)
    assert outcome is not None and (outcome.attempts, outcome.gave_up) == (4, "attempts") and len(attempts) == 4
