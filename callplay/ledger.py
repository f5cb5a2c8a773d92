"""The journal of playbacks and events, behind one interface on two backends (docs/state.md).

SQLite (the default: a file in the state dir, or `state_url = "sqlite:///PATH"`): WAL mode and a busy timeout
make it safe for several callplay processes at once; a connection per operation. PostgreSQL (`state_url =
"postgresql://..."`, callplay.ledger_pg, psycopg imported only then): a team's shared ledger; a few pooled
connections per process, autocommit statements and short transactions. The SQL is written once, with `?`
placeholders the PostgreSQL side maps; the schema is callplay.migrations, run on first use.

Events are recorded once: each has a key, the digest of all that is recorded of it (event_key), UNIQUE,
inserted or ignored. A playback's state moves in event order (the provider's time, then its sequence),
whatever order the events arrive in, and a terminal state sticks (docs/state.md). Nothing secret is written
here: providers put only bookkeeping in Playback.extra.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from callplay import migrations
from callplay.model import TERMINAL_STATES, Event, Playback, PlaybackRecord, now_iso

if TYPE_CHECKING:
    from callplay.state_url import StateUrl

# An event's detail is what a provider posted: kept small, whatever arrives (a 1 MB body stays out of here).
MAX_DETAIL_BYTES = 4096
MAX_DETAIL_TEXT = 512  # characters of one string value
MAX_DETAIL_NESTED = 1024  # bytes of one object or array value, as compact JSON
TABLES = ("playbacks", "events", "seen_callbacks")  # what `state info` counts


@dataclass(frozen=True)
class Refusal:
    """Why the ledger would not take a callback: `foreign`, an event names a playback another provider started.
    (A callback received before is no refusal: see Recorded.duplicate.)"""

    reason: Literal["foreign"]
    message: str


@dataclass
class Recorded:
    """What one callback added: `new`, its events the ledger had not recorded before (a redelivered event is
    recorded once: it is not among them); `duplicate`, the callback itself was received before (a key seen
    within its window: the provider retrying, or a replay, which records nothing either way)."""

    new: list[Event] = field(default_factory=list)
    duplicate: bool = False


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Db(Protocol):
    """One connection, as the ledger uses it: SQL with `?` placeholders; rows read by column name."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor: ...


class Closeable(Protocol):
    def close(self) -> None: ...


class Backend(Protocol):
    name: str  # "sqlite" | "postgresql"
    where: str  # the file, or the URL with any password masked
    order: str  # the column that orders playbacks created in the same millisecond
    prune_sql: str  # deletes the callback keys that expired before `?`

    def connect(self) -> Any:  # a context manager yielding a Db in autocommit
        ...

    def transaction(self) -> Any:  # a context manager yielding a Db in a transaction, committed at the end
        ...

    def exclusive(self) -> Any:  # transaction() that no other migration shares (migrations run in it)
        ...

    def missing_table(self, exc: BaseException) -> bool: ...

    def keep_open(self) -> Closeable: ...


class SqliteBackend:
    name = "sqlite"
    order = "rowid"
    prune_sql = "DELETE FROM seen_callbacks WHERE expires_at < ?"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def connect(self) -> Iterator[Db]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.row_factory = sqlite3.Row
            yield _SqliteDb(db)
        finally:
            db.close()

    def exclusive(self) -> Any:
        return self.transaction()  # BEGIN IMMEDIATE already shuts out every other writer

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the write lock now, so that two writers never both read-then-write
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)

    def keep_open(self) -> Closeable:
        """A connection held idle: closing the last connection to a WAL database checkpoints it and removes
        the WAL, some 10 ms of file I/O each time; with one held open, the per-operation closes are not the
        last (core/fanout.py measures it)."""
        return sqlite3.connect(self.path, timeout=30, check_same_thread=False)


class _SqliteDb:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self.db.execute(sql, tuple(args))


class Ledger:
    def __init__(self, path: Path | None = None, *, backend: Backend | None = None, migrate: bool = True) -> None:
        """The ledger in the SQLite file `path`, or on `backend`; its schema brought up to date unless
        `migrate` is False (`state info`, `state migrate`, which do it themselves)."""
        if backend is None:
            assert path is not None, "a Ledger needs a path or a backend"
            backend = SqliteBackend(path)
        self.backend = backend
        self.path = path if backend.name == "sqlite" else None
        if migrate:
            self.migrate()

    @classmethod
    def default(cls, *, migrate: bool = True) -> Ledger:
        """The ledger state_url names (callplay.config.state_location): the SQLite file in the state
        directory (LEDGER_FILE) unless it says otherwise."""
        from callplay.config import state_location

        return cls.at(state_location(), migrate=migrate)

    @classmethod
    def at(cls, where: StateUrl | str, *, migrate: bool = True) -> Ledger:
        """The ledger a state URL names (callplay.state_url: a ValueError for one it does not)."""
        from callplay import state_url

        where = state_url.parse(where) if isinstance(where, str) else where
        if where.backend == "postgresql":
            from callplay.ledger_pg import backend_for

            return cls(backend=backend_for(where.url or ""), migrate=migrate)
        return cls(where.path, migrate=migrate)

    @property
    def where(self) -> str:
        return self.backend.where

    @property
    def shared(self) -> bool:
        """Whether other machines may use this ledger (a database server, not this machine's SQLite file):
        then nothing kept in this machine's state dir (a minted callback token) may be relied on."""
        return self.backend.name != "sqlite"

    def keep_open(self) -> Closeable:
        """Something to close after a run of many writes, which keeps the database warm meanwhile."""
        return self.backend.keep_open()

    # -- schema ------------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """How many migrations this ledger has had (0: none, or a ledger from before versions)."""
        with self.backend.connect() as db:
            return self._version(db)

    def _version(self, db: Db) -> int:
        try:
            row = db.execute("SELECT max(version) AS v FROM schema_version").fetchone()
        except Exception as exc:
            if self.backend.missing_table(exc):
                return 0
            raise
        return int(row["v"] or 0)

    def migrate(self) -> list[int]:
        """Apply the migrations this ledger lacks, in one exclusive transaction; the versions applied."""
        version = self.schema_version()  # without a lock first: nearly always, nothing is due
        _check_not_newer(version, self.where)
        if version == migrations.LATEST:
            return []
        with self.backend.exclusive() as db:
            db.execute(migrations.VERSION_TABLE)
            current = self._version(db)  # again, under the lock: another process may have just done it
            _check_not_newer(current, self.where)
            applied = []
            for migration in migrations.MIGRATIONS[current:]:
                for statement in migration.statements(self.backend.name):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?,?,?)",
                    (migration.version, migration.name, now_iso()),
                )
                applied.append(migration.version)
        return applied

    def counts(self) -> dict[str, int]:
        """Rows per table (a table not yet created counts 0)."""
        out = {}
        with self.backend.connect() as db:
            for table in TABLES:
                try:
                    out[table] = int(db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])
                except Exception as exc:
                    if not self.backend.missing_table(exc):
                        raise
                    out[table] = 0
        return out

    # -- playbacks ---------------------------------------------------------------------------------------

    def record_playback(self, pb: Playback) -> None:
        columns = (
            "control_id, call_id, profile, provider, state, sources, loop, volume_db, created_at, updated_at, "
            "last_event, extra, state_at, state_seq"
        )
        updated = ", ".join(f"{c} = excluded.{c}" for c in columns.split(", ")[1:])
        with self.backend.transaction() as db:
            db.execute(
                f"INSERT INTO playbacks ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                f"ON CONFLICT (control_id) DO UPDATE SET {updated}",
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
                    None,
                    None,
                ),
            )
            # A fast provider's first callback can be recorded (by `events listen`, another replica) before play
            # has its answer and records the playback: apply what already arrived, in event order.
            early = db.execute(
                "SELECT * FROM events WHERE control_id = ? AND provider = ? AND state IS NOT NULL ORDER BY at, seq, id",
                (pb.control_id, pb.provider),
            ).fetchall()
            for row in early:
                _move_playback(db, _event(row), float(row["at"] or 0.0), int(row["seq"] or 0))

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
        if state is not None:
            # What callplay itself did (a pause, a stop) happened now: an event from before it must not undo it.
            sets.append("state_at = ?")
            args.append(time.time())  # type: ignore[arg-type]
        with self.backend.connect() as db:
            db.execute(f"UPDATE playbacks SET {', '.join(sets)} WHERE control_id = ?", (*args, control_id))

    def get(self, control_id: str) -> PlaybackRecord | None:
        with self.backend.connect() as db:
            row = db.execute("SELECT * FROM playbacks WHERE control_id = ?", (control_id,)).fetchone()
        return _record(row) if row else None

    def for_call(self, call_id: str, profile: str | None = None) -> list[PlaybackRecord]:
        query = "SELECT * FROM playbacks WHERE call_id = ?"
        args: tuple[Any, ...] = (call_id,)
        if profile:
            query += " AND profile = ?"
            args += (profile,)
        with self.backend.connect() as db:
            rows = db.execute(query + f" ORDER BY created_at, {self.backend.order}", args).fetchall()
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
        order = self.backend.order
        query = f"SELECT * FROM playbacks WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, {order} DESC LIMIT ?"
        with self.backend.connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [_record(r) for r in rows]

    def last_for_call(self, call_id: str, profile: str, *, active_only: bool = False) -> PlaybackRecord | None:
        records = [r for r in self.for_call(call_id, profile) if r.state != "dry-run"]
        if active_only:
            records = [r for r in records if r.state not in TERMINAL_STATES]
        return records[-1] if records else None

    # -- events ------------------------------------------------------------------------------------------

    def record_event(self, event: Event) -> bool:
        """Store one event, unless the ledger has it already (the same key), and move its playback to the
        state it implies when no later event has (terminal states stick); whether it was new. Only a
        playback of the event's own provider moves: a control ID is no proof across providers."""
        with self.backend.transaction() as db:
            return _insert_event(db, event)

    def record_delivery(
        self, provider: str, events: list[Event], keys: tuple[str, ...], expires_at: float
    ) -> Refusal | Recorded:
        """Record one callback's events, each once. Refused (nothing recorded, the Refusal says why) when an
        event names another provider's playback. A callback whose key was seen before (until its expiry)
        records nothing and is Recorded.duplicate. One transaction, so two copies of a callback racing in (or
        two receivers sharing this ledger) record it once."""
        now = time.time()
        with self.backend.connect() as db:
            # Past its expiry a key is refused by the receiver's time window instead: no need to keep it.
            db.execute(self.backend.prune_sql, (now,))
        try:
            with self.backend.transaction() as db:
                refusal = _foreign(db, provider, events)
                if refusal is not None:
                    return refusal
                for key in dict.fromkeys(keys):  # once each, in order
                    cur = db.execute(
                        "INSERT INTO seen_callbacks (provider, key, expires_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                        (provider, key, max(expires_at, now)),
                    )
                    if cur.rowcount == 0:
                        raise _Duplicate  # rolls back the keys inserted before it
                return Recorded([e for e in events if _insert_event(db, e)])
        except _Duplicate:
            return Recorded(duplicate=True)

    def events(
        self,
        *,
        control_id: str | None = None,
        call_id: str | None = None,
        profile: str | None = None,
        limit: int = 200,
    ) -> list[Event]:
        """The latest `limit` events, in event order (the provider's time, its sequence, then arrival)."""
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
        query += " ORDER BY at DESC, COALESCE(seq, 0) DESC, id DESC LIMIT ?"
        with self.backend.connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [_event(r) for r in reversed(rows)]

    def ping(self) -> None:
        """Raise when the ledger cannot be read now (the receiver's /healthz). A real query on a real table,
        through the public interface, so that it holds for every backend: one indexed row at most."""
        self.events(limit=1)


class _Duplicate(Exception):
    """A callback's key was seen before: roll back, record nothing."""


def _check_not_newer(version: int, where: str) -> None:
    if version > migrations.LATEST:
        from callplay.errors import ConfigError

        raise ConfigError(
            f"the ledger at {where} has schema version {version}, newer than this callplay knows ({migrations.LATEST})",
            "upgrade callplay on this machine (a newer one has migrated the shared ledger)",
        )


def _foreign(db: Db, provider: str, events: list[Event]) -> Refusal | None:
    for control_id in sorted({e.control_id for e in events if e.control_id}):
        row = db.execute("SELECT provider FROM playbacks WHERE control_id = ?", (control_id,)).fetchone()
        if row is not None and row["provider"] != provider:
            return Refusal("foreign", f"{control_id} is a {row['provider']} playback, not {provider}")
    return None


def event_key(event: Event) -> str:
    """An event's identity: the digest of everything recorded of it. A provider's redelivery carries the same
    event (the same id, time, type, playback and result), so the same key; two events differ in one of them."""
    canonical = json.dumps(
        [event.provider, event.type, event.time, event.call_id, event.control_id, event.state, event.detail],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_order(event: Event) -> tuple[float, int]:
    """Where the event stands in time: the provider's time as epoch seconds (now when it is not one), then
    the provider's sequence number where it sends one (Chime's invocation Sequence)."""
    sequence = event.detail.get("sequence")
    seq = sequence if isinstance(sequence, int) and not isinstance(sequence, bool) and abs(sequence) < 2**62 else 0
    return _epoch(event.time), seq


def _epoch(text: str) -> float:
    try:
        when = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        return time.time()
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _insert_event(db: Db, event: Event) -> bool:
    """Insert the event unless its key is there; when new, move its playback (see record_event)."""
    at, seq = event_order(event)
    cur = db.execute(
        "INSERT INTO events (control_id, call_id, provider, type, state, time, detail, event_key, at, seq) "
        "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (event_key) DO NOTHING",
        (
            event.control_id,
            event.call_id,
            event.provider,
            event.type,
            event.state,
            event.time,
            json.dumps(cap_detail(event.detail)),
            event_key(event),
            at,
            seq,
        ),
    )
    if cur.rowcount == 0:
        return False
    if event.control_id:
        _move_playback(db, event, at, seq)
    return True


def _move_playback(db: Db, event: Event, at: float, seq: int) -> None:
    """Apply the event to its playback: last_event always (what arrived last); the state only when the
    playback has not ended and, unless the event ends it, no later event has set it."""
    where = "WHERE control_id = ? AND provider = ?"
    if not event.state:
        db.execute(
            f"UPDATE playbacks SET last_event = ?, updated_at = ? {where}",
            (event.type, now_iso(), event.control_id, event.provider),
        )
        return
    ended = sorted(TERMINAL_STATES)
    conditions = f" AND state NOT IN ({','.join('?' * len(ended))})"
    args: list[Any] = [*ended]
    if event.state not in TERMINAL_STATES:
        conditions += " AND (state_at IS NULL OR state_at < ? OR (state_at = ? AND COALESCE(state_seq, 0) <= ?))"
        args += [at, at, seq]
    db.execute(
        f"UPDATE playbacks SET state = ?, last_event = ?, updated_at = ?, state_at = ?, state_seq = ? {where}"
        + conditions,
        (event.state, event.type, now_iso(), at, seq, event.control_id, event.provider, *args),
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


def _record(row: Any) -> PlaybackRecord:
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


def _event(row: Any) -> Event:
    return Event(
        type=row["type"],
        time=row["time"],
        provider=row["provider"],
        call_id=row["call_id"],
        control_id=row["control_id"],
        state=row["state"],
        detail=json.loads(row["detail"] or "{}"),
    )
