"""The state URL, the schema's migrations, events recorded once and in order, and a ledger shared on PostgreSQL
(issue 15): `state info` and `state migrate`, old SQLite ledgers upgraded in place, processes migrating at
once, redelivered and out-of-order callbacks, two "machines" on one database, many processes writing at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from callplay import complete, migrations, state_url
from callplay.emulator.app import EmulatorServer
from callplay.errors import ExitCode
from callplay.events.receiver import EventReceiver
from callplay.ledger import Ledger
from callplay.model import Playback
from tests.conftest import emulator_call, run_cli, wait_until, web

LATEST = migrations.LATEST


# ------------------------------------------------------------------------------------------------ state URL


def test_info_on_the_default_sqlite_ledger_changes_nothing_and_migrate_does(tmp_path: Path) -> None:
    info = run_cli("state", "info", "-o", "json").data()
    assert info["backend"] == "sqlite" and info["location"] == str(tmp_path / "state" / "ledger.sqlite3")
    assert (info["schema_version"], info["latest_version"]) == (0, LATEST) and "migrated" not in info
    first = run_cli("state", "migrate", "-o", "json").data()
    assert first["migrated"] == list(range(1, LATEST + 1)) and first["schema_version"] == LATEST
    assert first["counts"] == {"playbacks": 0, "events": 0, "seen_callbacks": 0}
    assert run_cli("state", "migrate", "-o", "json").data()["migrated"] == []
    table = run_cli("state", "info").stdout
    assert "sqlite" in table and f"{LATEST} (the latest)" in table and "callback keys" in table


def test_the_config_file_names_the_ledger_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'state_url = "sqlite:///{tmp_path}/team/l.db"\n')
    env = {"CALLPLAY_CONFIG": str(config)}
    assert run_cli("state", "info", "-o", "json", env=env).data()["location"] == f"{tmp_path}/team/l.db"
    env["CALLPLAY_STATE_URL"] = f"sqlite:///{tmp_path}/other.db"
    assert run_cli("state", "info", "-o", "json", env=env).data()["location"] == f"{tmp_path}/other.db"


@pytest.mark.parametrize(
    "url",
    ["postgresql://ops:s3cr3t-pw@db.internal/callplay", "postgres://ops@db.internal/callplay?password=s3cr3t-pw"],
)
def test_a_password_in_the_url_is_refused_and_never_shown(url: str) -> None:
    result = run_cli("state", "info", "-o", "json", env={"CALLPLAY_STATE_URL": url})
    assert result.exit_code == 3
    assert "s3cr3t-pw" not in result.stdout + result.stderr
    assert "PGPASSWORD" in result.json()["error"]["hint"] and "***" in result.json()["error"]["message"]


def test_an_unknown_scheme_names_the_ones_callplay_knows() -> None:
    result = run_cli("playbacks", env={"CALLPLAY_STATE_URL": "mysql://db/x"})
    assert result.exit_code == 3 and "sqlite, postgresql, postgres" in result.stderr


def test_masked_hides_every_password() -> None:
    assert (
        state_url.masked("postgresql://u:pw@h:5432/d?sslmode=require") == "postgresql://u:***@h:5432/d?sslmode=require"
    )
    assert "pw" not in state_url.masked("postgresql://u@h/d?password=pw&sslmode=require")
    for unparsable in ("postgresql://u:pw@h:notaport/d", "postgresql://u:pw@[::1/d"):
        assert "pw" not in state_url.masked(unparsable)


def test_a_newer_schema_than_this_callplay_knows_is_a_config_error(tmp_path: Path) -> None:
    run_cli("state", "migrate")
    db = sqlite3.connect(tmp_path / "state" / "ledger.sqlite3")
    db.execute("INSERT INTO schema_version VALUES (?, 'from the future', 'now')", (LATEST + 1,))
    db.commit()
    db.close()
    result = run_cli("playbacks")
    assert result.exit_code == 3 and "upgrade callplay" in result.stderr


def test_an_unreachable_postgresql_is_unavailable(tmp_path: Path) -> None:
    result = run_cli("playbacks", env={"CALLPLAY_STATE_URL": f"postgresql://nobody@/x?host={tmp_path}/none"})
    assert result.exit_code == 6 and "cannot reach the ledger" in result.stderr, result.stderr


def test_tab_completion_offers_nothing_from_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "elsewhere" / "l.db"
    Ledger(path).record_playback(Playback("pb-tab", "call-tab", "demo", "acs", "playing", ["tts:hi"]))
    monkeypatch.setenv("CALLPLAY_STATE_URL", f"sqlite:///{path}")
    assert complete.main(["controls"]) == 0
    assert capsys.readouterr().out == "pb-tab\n"
    monkeypatch.setenv("CALLPLAY_STATE_URL", "postgresql://ops@db.invalid/callplay")
    assert complete.main(["controls"]) == 0
    assert capsys.readouterr() == ("", "")
    monkeypatch.delenv("CALLPLAY_STATE_URL")
    config = tmp_path / "c.toml"
    monkeypatch.setenv("CALLPLAY_CONFIG", str(config))
    for url, values in ((f"sqlite:///{path}", "pb-tab\n"), ("postgresql://ops@db.invalid/callplay", "")):
        config.write_text(f'state_url = "{url}"\n')
        assert complete.main(["controls"]) == 0
        assert capsys.readouterr().out == values


# ------------------------------------------------------------------------------------------------ migrations

# The schema callplay wrote before versions (no schema_version table): copied here as it was, on purpose.
OLD_SCHEMA = """
CREATE TABLE playbacks (control_id TEXT PRIMARY KEY, call_id TEXT NOT NULL, profile TEXT NOT NULL,
    provider TEXT NOT NULL, state TEXT NOT NULL, sources TEXT NOT NULL, loop INTEGER NOT NULL DEFAULT 1,
    volume_db REAL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_event TEXT,
    extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX playbacks_call ON playbacks (call_id, created_at);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, control_id TEXT, call_id TEXT, provider TEXT NOT NULL,
    type TEXT NOT NULL, state TEXT, time TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE seen_callbacks (provider TEXT NOT NULL, key TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (provider, key));
INSERT INTO playbacks VALUES ('pb-old', 'call-old', 'demo', 'acs', 'playing', '["tts:hi"]', 0, NULL,
    '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', 'PlayStarted', '{}');
INSERT INTO events (control_id, call_id, provider, type, state, time, detail) VALUES
    ('pb-old', 'call-old', 'acs', 'PlayStarted', 'playing', '2026-01-01T00:00:01+00:00', '{}');
"""


def test_an_old_sqlite_ledger_upgrades_in_place_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite3"
    path.parent.mkdir()
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    assert run_cli("state", "info", "-o", "json").data()["schema_version"] == 0
    listed = run_cli("playbacks", "-o", "json").data()["playbacks"]  # any command migrates on first use
    assert [(p["control_id"], p["state"]) for p in listed] == [("pb-old", "playing")]
    info = run_cli("state", "info", "-o", "json").data()
    assert info["schema_version"] == LATEST and info["counts"]["events"] == 1
    ledger = Ledger(path)
    from callplay.model import Event

    ledger.record_event(Event("PlayCompleted", "2026-01-01T00:00:05+00:00", "acs", "call-old", "pb-old", "finished"))
    ledger.record_event(Event("PlayCompleted", "2026-01-01T00:00:05+00:00", "acs", "call-old", "pb-old", "finished"))
    assert [e.type for e in ledger.events(control_id="pb-old")] == ["PlayStarted", "PlayCompleted"]
    assert ledger.get("pb-old").state == "finished"  # type: ignore[union-attr]


def _migrate_in_processes(url: str, n: int) -> list[dict[str, Any]]:
    env = {**os.environ, "CALLPLAY_STATE_URL": url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "callplay", "state", "migrate", "-o", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    return [json.loads(out)["data"] for out, _ in outs]


def test_processes_migrating_at_once_migrate_once(state_url: str) -> None:
    results = _migrate_in_processes(state_url, 4)
    assert sorted(len(r["migrated"]) for r in results) == [0, 0, 0, LATEST]
    assert all(r["schema_version"] == LATEST for r in results)
    ledger = Ledger.at(state_url, migrate=False)
    with ledger.backend.connect() as db:
        assert [r["version"] for r in db.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == [
            m.version for m in migrations.MIGRATIONS
        ]


# ------------------------------------------------------------------------------------------------ events once


def _signalwire(control_id: str, state: str, at: float) -> bytes:
    params = {"control_id": control_id, "call_id": "call-1", "node_id": "n1", "state": state}
    return json.dumps({"event_type": "calling.call.play", "timestamp": at, "params": params}).encode()


def _acs(control_id: str, event_id: str) -> bytes:
    event = {
        "id": event_id,
        "source": "calling/callConnections/call-1",
        "type": "Microsoft.Communication.PlayCompleted",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "data": {"callConnectionId": "call-1", "operationContext": control_id},
    }
    return json.dumps([event]).encode()


@pytest.fixture
def receiver(state_url: str) -> Any:
    r = EventReceiver(Ledger.at(state_url), allow_unsigned=["signalwire", "acs"]).start()
    yield r
    r.stop()


def test_an_event_delivered_twice_is_answered_ok_and_recorded_once(receiver: EventReceiver) -> None:
    ledger = receiver.ledger
    ledger.record_playback(Playback("cp-acs", "call-1", "p", "acs", "playing", ["tts:hi"]))
    base = f"http://127.0.0.1:{receiver.port}/events"
    body = _acs("cp-acs", str(uuid.uuid4()))
    assert [web.post(f"{base}/acs", content=body).status_code for _ in range(3)] == [200, 200, 200]
    assert [e.type for e in ledger.events(control_id="cp-acs")] == ["PlayCompleted"]
    assert len(receiver.events) == 1  # waiters and live rows saw it once
    assert ledger.get("cp-acs").state == "finished"  # type: ignore[union-attr]


def test_events_out_of_order_end_in_the_right_state(receiver: EventReceiver) -> None:
    ledger = receiver.ledger
    ledger.record_playback(Playback("cp-sw", "call-1", "p", "signalwire", "requested", ["tts:hi"]))
    url = f"http://127.0.0.1:{receiver.port}/events/signalwire"
    now = time.time()
    sent = [("paused", now - 3), ("playing", now - 5), ("playing", now - 2), ("paused", now - 3)]
    for state, at in sent:  # each arrives late or twice
        assert web.post(url, content=_signalwire("cp-sw", state, at)).status_code == 200
    assert ledger.get("cp-sw").state == "playing"  # type: ignore[union-attr]
    assert [e.type for e in ledger.events(control_id="cp-sw")] == ["playing", "paused", "playing"]
    web.post(url, content=_signalwire("cp-sw", "finished", now - 1))
    web.post(url, content=_signalwire("cp-sw", "playing", now))  # later, but the playback has ended
    assert ledger.get("cp-sw").state == "finished"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------- one ledger, many machines

SW = ("-p", "emulator-signalwire")


def _home(root: Path, name: str, url: str, config: Path) -> dict[str, str]:
    """Another machine: its own home, state directory and copy of the config; the same ledger."""
    home = root / name
    (home / "state").mkdir(parents=True)
    copy = home / "config.toml"
    copy.write_bytes(config.read_bytes())
    copy.chmod(0o600)
    return {
        "HOME": str(home),
        "CALLPLAY_STATE_DIR": str(home / "state"),
        "CALLPLAY_CONFIG": str(copy),
        "CALLPLAY_STATE_URL": url,
    }


def _playing(emulator: EmulatorServer, call_id: str) -> list[dict[str, Any]]:
    return [p for p in emulator_call(emulator, call_id)["playbacks"] if p["state"] in ("created", "playing", "paused")]


def test_a_loop_started_on_one_machine_is_stopped_from_another(
    emulator: EmulatorServer, config_file: Path, call_id: str, pg_url: str, tmp_path: Path
) -> None:
    laptop, runbook = _home(tmp_path, "laptop", pg_url, config_file), _home(tmp_path, "runbook", pg_url, config_file)
    started = run_cli("loop", call_id, "--tts", "hold music", *SW, "-o", "json", env=laptop).data()
    wait_until(lambda: _playing(emulator, call_id))
    listed = run_cli("playbacks", "--active", "-o", "json", env=runbook).data()["playbacks"]
    assert [p["control_id"] for p in listed] == [started["control_id"]]
    stopped = run_cli("stop", call_id, *SW, "-o", "json", env=runbook).data()
    assert stopped["control_id"] == started["control_id"]  # SignalWire: the control ID from the shared ledger
    wait_until(lambda: not _playing(emulator, call_id), describe=lambda: _playing(emulator, call_id))
    assert run_cli("playbacks", "--active", "-o", "json", env=laptop).data()["playbacks"] == []


def _plays_and_stops(args: tuple[dict[str, str], str, int]) -> list[str]:
    env, call_id, n = args
    os.environ.clear()  # a forkserver's child has the environment the forkserver started with
    os.environ.update(env)
    from callplay.cli import main

    control_ids = []
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (this process's stdout, for its whole short life)
    for _ in range(n):
        from callplay.ledger import Ledger

        assert main(["play", call_id, "--tts", "a long prompt to stop", *SW]) == 0
        record = Ledger.default().last_for_call(call_id, "emulator-signalwire")
        assert record is not None
        control_ids.append(record.control_id)
        assert main(["stop", call_id, *SW, "--control-id", record.control_id]) == 0
    return control_ids


# 16 processes at once, 2 plays and stops each: each command is a whole CLI run with its own database connections,
# some 150 ms of CPU counting the server's, so 16 x 5 took 23 s of the machine's CPU, an eighth of the suite's.
# benchmarks/shared_ledger.py runs the full 16 x 100 (or: CALLPLAY_TEST_PLAYS_EACH=100 pytest -k many_processes).
PROCESSES, PLAYS_EACH = 16, int(os.environ.get("CALLPLAY_TEST_PLAYS_EACH", "2"))
# What every child would import for itself (the SDK, the PostgreSQL driver): imported once, in the forkserver.
PRELOAD = [
    "callplay.cli",
    "callplay.cli.play",
    "callplay.cli.control",
    "callplay.core.play",
    "callplay.core.control",
    "callplay.live",
    "callplay.play_items",
    "callplay.ledger_pg",
    "callplay.providers.signalwire",
    "psycopg",
    "signalwire.rest",
]


def test_many_processes_playing_and_stopping_lose_and_duplicate_nothing(
    emulator: EmulatorServer, config_file: Path, new_call: Any, pg_url: str
) -> None:
    env = {**os.environ, "CALLPLAY_STATE_URL": pg_url, "CALLPLAY_CONFIG": str(config_file)}
    calls = [new_call() for _ in range(PROCESSES)]
    # Forked from a server that has imported the CLI once (not from this process: its threads run the emulator).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    with context.Pool(PROCESSES) as pool:
        started = pool.map(_plays_and_stops, [(env, call, PLAYS_EACH) for call in calls])
    everyone = [cid for ids in started for cid in ids]
    assert len(everyone) == len(set(everyone)) == PROCESSES * PLAYS_EACH
    ledger = Ledger.at(pg_url)
    rows = ledger.playbacks(limit=10 * PROCESSES * PLAYS_EACH)
    assert sorted(r.control_id for r in rows) == sorted(everyone)
    assert {r.state for r in rows} <= {"stopped", "canceled", "finished"}, {r.state for r in rows}
    assert not [c for c in calls if _playing(emulator, c)]


def test_a_fan_out_writes_from_many_threads_to_postgresql(
    emulator: EmulatorServer, config_file: Path, new_call: Any, pg_url: str, tmp_path: Path
) -> None:
    calls = [new_call() for _ in range(40)]
    listed = tmp_path / "calls.txt"
    listed.write_text("\n".join(calls) + "\n")
    env = {"CALLPLAY_STATE_URL": pg_url}
    argv = ("play", "--calls-from", str(listed), "--tts", "hi", *SW, "--concurrency", "16", "--rate", "0")
    data = run_cli(*argv, "-o", "json", env=env).data()
    assert data["ok"] == 40
    rows = Ledger.at(pg_url).playbacks(limit=100)
    assert sorted(r.call_id for r in rows) == sorted(calls)


def test_play_on_a_shared_ledger_needs_a_callback_token_the_team_shares(
    emulator: EmulatorServer, config_file: Path, call_id: str, pg_url: str
) -> None:
    # A token minted on this machine would be unknown to the team's receivers: refused, nothing sent.
    env = {"CALLPLAY_STATE_URL": pg_url, "CALLPLAY_CALLBACK_URL": "https://ops.example/events/acs"}
    refused = run_cli("play", call_id, "--tts", "hi", "-p", "emulator-acs", "-o", "json", env=env)
    assert refused.exit_code == ExitCode.CONFIG, refused.stderr
    assert "callback_token" in refused.json()["error"]["hint"]
    assert not emulator_call(emulator, call_id)["playbacks"]
    # With the token in the profile (here from the environment), the play goes out with it.
    shared = {**env, "CALLPLAY_CALLBACK_TOKEN": "team-token-1"}
    played = run_cli("play", call_id, "--tts", "hi", "-p", "emulator-acs", "-o", "json", env=shared)
    assert played.exit_code == 0, played.stderr
