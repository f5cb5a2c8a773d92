"""SQLite journal of playbacks and events, in the state dir ($CALLPLAY_STATE_DIR overrides).

WAL mode and a busy timeout make it safe for several callplay processes at once (a runbook looping over
calls in parallel, `events listen` in the background while an operator plays). Writes are short single
transactions. Nothing secret is written here: providers put only bookkeeping in Playback.extra.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from callplay.model import TERMINAL_STATES, Event, Playback, PlaybackRecord, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS playbacks (
    control_id TEXT PRIMARY KEY,
    call_id    TEXT NOT NULL,
    profile    TEXT NOT NULL,
    provider   TEXT NOT NULL,
    state      TEXT NOT NULL,
    sources    TEXT NOT NULL,
    loop       INTEGER NOT NULL DEFAULT 1,
    volume_db  REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_event TEXT,
    extra      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS playbacks_call ON playbacks (call_id, created_at);
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    control_id TEXT,
    call_id    TEXT,
    provider   TEXT NOT NULL,
    type       TEXT NOT NULL,
    state      TEXT,
    time       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_control ON events (control_id, id);
CREATE INDEX IF NOT EXISTS events_call ON events (call_id, id);
"""


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @classmethod
    def default(cls) -> Ledger:
        from callplay.config import state_dir

        return cls(state_dir() / "ledger.sqlite3")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    # -- playbacks ---------------------------------------------------------------------------------------

    def record_playback(self, pb: Playback) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO playbacks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    pb.control_id,
                    pb.call_id,
                    pb.profile,
                    pb.provider,
                    pb.state,
                    json.dumps(pb.sources),
                    pb.loop,
                    pb.volume_db,
                    pb.created_at,
                    now_iso(),
                    pb.events[-1].type if pb.events else None,
                    json.dumps(pb.extra),
                ),
            )

    def update_playback(
        self,
        control_id: str,
        *,
        state: str | None = None,
        volume_db: float | None = None,
        last_event: str | None = None,
    ) -> None:
        sets, args = ["updated_at = ?"], [now_iso()]
        for column, value in (("state", state), ("volume_db", volume_db), ("last_event", last_event)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)  # type: ignore[arg-type]
        with self._connect() as db:
            db.execute(f"UPDATE playbacks SET {', '.join(sets)} WHERE control_id = ?", (*args, control_id))

    def get(self, control_id: str) -> PlaybackRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM playbacks WHERE control_id = ?", (control_id,)).fetchone()
        return _record(row) if row else None

    def for_call(self, call_id: str, profile: str | None = None) -> list[PlaybackRecord]:
        query = "SELECT * FROM playbacks WHERE call_id = ?"
        args: tuple[Any, ...] = (call_id,)
        if profile:
            query += " AND profile = ?"
            args += (profile,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at, rowid", args).fetchall()
        return [_record(r) for r in rows]

    def last_for_call(self, call_id: str, profile: str, *, active_only: bool = False) -> PlaybackRecord | None:
        records = [r for r in self.for_call(call_id, profile) if r.state != "dry-run"]
        if active_only:
            records = [r for r in records if r.state not in TERMINAL_STATES]
        return records[-1] if records else None

    # -- events ------------------------------------------------------------------------------------------

    def record_event(self, event: Event) -> None:
        """Store one event and move its playback to the state it implies (terminal states stick)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO events (control_id, call_id, provider, type, state, time, detail) VALUES (?,?,?,?,?,?,?)",
                (
                    event.control_id,
                    event.call_id,
                    event.provider,
                    event.type,
                    event.state,
                    event.time,
                    json.dumps(event.detail),
                ),
            )
            if event.control_id:
                placeholders = ",".join("?" * len(TERMINAL_STATES))
                if event.state:
                    db.execute(
                        f"UPDATE playbacks SET state = ?, last_event = ?, updated_at = ? "
                        f"WHERE control_id = ? AND state NOT IN ({placeholders})",
                        (event.state, event.type, now_iso(), event.control_id, *sorted(TERMINAL_STATES)),
                    )
                else:
                    db.execute(
                        "UPDATE playbacks SET last_event = ?, updated_at = ? WHERE control_id = ?",
                        (event.type, now_iso(), event.control_id),
                    )

    def events(
        self,
        *,
        control_id: str | None = None,
        call_id: str | None = None,
        profile: str | None = None,
        limit: int = 200,
    ) -> list[Event]:
        query, args = "SELECT * FROM events", []
        clauses = []
        if profile:
            clauses.append("control_id IN (SELECT control_id FROM playbacks WHERE profile = ?)")
            args.append(profile)
        if control_id:
            clauses.append("control_id = ?")
            args.append(control_id)
        if call_id:
            clauses.append("call_id = ?")
            args.append(call_id)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [_event(r) for r in reversed(rows)]


def _record(row: sqlite3.Row) -> PlaybackRecord:
    return PlaybackRecord(
        control_id=row["control_id"],
        call_id=row["call_id"],
        profile=row["profile"],
        provider=row["provider"],
        state=row["state"],
        sources=json.loads(row["sources"]),
        loop=row["loop"],
        volume_db=row["volume_db"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_event=row["last_event"],
        extra=json.loads(row["extra"] or "{}"),
    )


def _event(row: sqlite3.Row) -> Event:
    return Event(
        type=row["type"],
        time=row["time"],
        provider=row["provider"],
        call_id=row["call_id"],
        control_id=row["control_id"],
        state=row["state"],
        detail=json.loads(row["detail"] or "{}"),
    )
