"""SQLite journal of playbacks and events, in the state dir ($CALLPLAY_STATE_DIR overrides).

WAL mode and a busy timeout make it safe for several callplay processes at once (a runbook looping over
calls in parallel, `events listen` in the background while an operator plays). Writes are short single
transactions. Nothing secret is written here: providers put only bookkeeping in Playback.extra.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
CREATE INDEX IF NOT EXISTS playbacks_created ON playbacks (created_at);
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
CREATE TABLE IF NOT EXISTS seen_callbacks (
    provider   TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (provider, key)
);
CREATE INDEX IF NOT EXISTS seen_callbacks_expiry ON seen_callbacks (expires_at);
"""
# An event's detail is what a provider posted: kept small, whatever arrives (a 1 MB body stays out of here).
MAX_DETAIL_BYTES = 4096
MAX_DETAIL_TEXT = 512  # characters of one string value
MAX_DETAIL_NESTED = 1024  # bytes of one object or array value, as compact JSON


@dataclass(frozen=True)
class Refusal:
    """Why the ledger would not take a callback: `replayed` (a key it has seen) or `foreign` (an event names
    a playback another provider started)."""

    reason: Literal["replayed", "foreign"]
    message: str


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

    def playbacks(
        self,
        *,
        call_id: str | None = None,
        profile: str | None = None,
        active: bool = False,
        since: str | None = None,
        limit: int = 20,
    ) -> list[PlaybackRecord]:
        """Playbacks across calls, newest first. `active`: not ended (TERMINAL_STATES) and not a dry run;
        `since`: created at or after this ISO 8601 UTC time (now_iso's form, so text order is time order)."""
        clauses, args = ["1 = 1"], []
        for column, value in (("call_id", call_id), ("profile", profile)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if active:
            ended = (*sorted(TERMINAL_STATES), "dry-run")
            clauses.append(f"state NOT IN ({','.join('?' * len(ended))})")
            args.extend(ended)
        if since is not None:
            clauses.append("created_at >= ?")
            args.append(since)
        query = f"SELECT * FROM playbacks WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, rowid DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [_record(r) for r in rows]

    def last_for_call(self, call_id: str, profile: str, *, active_only: bool = False) -> PlaybackRecord | None:
        records = [r for r in self.for_call(call_id, profile) if r.state != "dry-run"]
        if active_only:
            records = [r for r in records if r.state not in TERMINAL_STATES]
        return records[-1] if records else None

    # -- events ------------------------------------------------------------------------------------------

    def record_event(self, event: Event) -> None:
        """Store one event and move its playback to the state it implies (terminal states stick). Only a
        playback of the event's own provider moves: a control ID is no proof across providers."""
        with self._connect() as db:
            _insert_event(db, event)

    def record_delivery(
        self, provider: str, events: list[Event], keys: tuple[str, ...], expires_at: float
    ) -> Refusal | None:
        """Record one callback's events unless it is a replay (a key seen before, until its expiry) or names
        another provider's playback; then nothing is recorded and the Refusal says why. One transaction, so
        two copies of a callback racing in (or two receivers sharing this ledger) record it once."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                refusal = self._check_delivery(db, provider, events, keys, expires_at)
                if refusal is None:
                    for event in events:
                        _insert_event(db, event)
                db.execute("COMMIT" if refusal is None else "ROLLBACK")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return refusal

    def _check_delivery(
        self, db: sqlite3.Connection, provider: str, events: list[Event], keys: tuple[str, ...], expires_at: float
    ) -> Refusal | None:
        now = time.time()
        # Past its expiry a key is refused by the receiver's time window instead: no need to keep it.
        db.execute("DELETE FROM seen_callbacks WHERE expires_at < ?", (now,))
        for control_id in sorted({e.control_id for e in events if e.control_id}):
            row = db.execute("SELECT provider FROM playbacks WHERE control_id = ?", (control_id,)).fetchone()
            if row is not None and row["provider"] != provider:
                return Refusal("foreign", f"{control_id} is a {row['provider']} playback, not {provider}")
        for key in dict.fromkeys(keys):  # once each, in order
            try:
                db.execute("INSERT INTO seen_callbacks VALUES (?,?,?)", (provider, key, max(expires_at, now)))
            except sqlite3.IntegrityError:
                return Refusal("replayed", "this callback was received before")
        return None

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


def _insert_event(db: sqlite3.Connection, event: Event) -> None:
    db.execute(
        "INSERT INTO events (control_id, call_id, provider, type, state, time, detail) VALUES (?,?,?,?,?,?,?)",
        (
            event.control_id,
            event.call_id,
            event.provider,
            event.type,
            event.state,
            event.time,
            json.dumps(cap_detail(event.detail)),
        ),
    )
    if not event.control_id:
        return
    if event.state:
        placeholders = ",".join("?" * len(TERMINAL_STATES))
        db.execute(
            f"UPDATE playbacks SET state = ?, last_event = ?, updated_at = ? "
            f"WHERE control_id = ? AND provider = ? AND state NOT IN ({placeholders})",
            (event.state, event.type, now_iso(), event.control_id, event.provider, *sorted(TERMINAL_STATES)),
        )
    else:
        db.execute(
            "UPDATE playbacks SET last_event = ?, updated_at = ? WHERE control_id = ? AND provider = ?",
            (event.type, now_iso(), event.control_id, event.provider),
        )


def cap_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """`detail` small enough to store and print: long strings cut, large or deeply nested values left out,
    at most MAX_DETAIL_BYTES in all; `truncated: true` says something was dropped or cut."""
    kept: dict[str, Any] = {}
    size, cut = 2, False
    for key, value in detail.items():
        name = str(key)[:64]
        small, shortened = _small_value(value)
        cut = cut or shortened or small is _DROP or name != key
        if small is _DROP:
            continue
        item_size = len(json.dumps({name: small})) + 1
        if size + item_size > MAX_DETAIL_BYTES - 20:  # room for the "truncated" marker
            cut = True
            break
        kept[name] = small
        size += item_size
    if cut:
        kept["truncated"] = True
    return kept


_DROP = object()


def _small_value(value: Any) -> tuple[Any, bool]:
    """(value to keep or _DROP, whether it was shortened)."""
    if value is None or isinstance(value, (bool, float)):
        return value, False
    if isinstance(value, int):
        return (value, False) if abs(value) < 10**18 else (_DROP, True)
    if isinstance(value, str):
        return (value, False) if len(value) <= MAX_DETAIL_TEXT else (value[:MAX_DETAIL_TEXT] + "...", True)
    try:
        text = json.dumps(value, separators=(",", ":"), default=str)
    except (RecursionError, ValueError, TypeError):
        return _DROP, True
    return (value, False) if len(text) <= MAX_DETAIL_NESTED else (_DROP, True)


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
