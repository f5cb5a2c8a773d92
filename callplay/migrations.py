"""The ledger's schema, as an ordered list of migrations: version N is what N migrations have made of it.

Each migration has the statements for both backends (SQLite, PostgreSQL); the ledger runs the pending ones
in one exclusive transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock) and
records each in `schema_version`, so processes starting at once migrate once. Never edit a released
migration: append one. Version 1 is the schema callplay had before versions (every statement `IF NOT
EXISTS`), so a ledger without a `schema_version` table is taken as version 0 and upgrades in place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, backend: str) -> tuple[str, ...]:
        return self.sqlite if backend == "sqlite" else self.postgresql


VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS playbacks_call ON playbacks (call_id, created_at)",
    "CREATE INDEX IF NOT EXISTS playbacks_created ON playbacks (created_at)",
    "CREATE INDEX IF NOT EXISTS events_control ON events (control_id, id)",
    "CREATE INDEX IF NOT EXISTS events_call ON events (call_id, id)",
    "CREATE INDEX IF NOT EXISTS seen_callbacks_expiry ON seen_callbacks (expires_at)",
)

_V1_SQLITE = (
    """CREATE TABLE IF NOT EXISTS playbacks (
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
)""",
    """CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    control_id TEXT,
    call_id    TEXT,
    provider   TEXT NOT NULL,
    type       TEXT NOT NULL,
    state      TEXT,
    time       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
)""",
    """CREATE TABLE IF NOT EXISTS seen_callbacks (
    provider   TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (provider, key)
)""",
    *_INDEXES,
)

# PostgreSQL has no rowid: `seq` orders playbacks created in the same millisecond, as rowid does in SQLite.
_V1_POSTGRESQL = (
    """CREATE TABLE IF NOT EXISTS playbacks (
    control_id TEXT PRIMARY KEY,
    call_id    TEXT NOT NULL,
    profile    TEXT NOT NULL,
    provider   TEXT NOT NULL,
    state      TEXT NOT NULL,
    sources    TEXT NOT NULL,
    loop       BIGINT NOT NULL DEFAULT 1,
    volume_db  DOUBLE PRECISION,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_event TEXT,
    extra      TEXT NOT NULL DEFAULT '{}',
    seq        BIGSERIAL
)""",
    """CREATE TABLE IF NOT EXISTS events (
    id         BIGSERIAL PRIMARY KEY,
    control_id TEXT,
    call_id    TEXT,
    provider   TEXT NOT NULL,
    type       TEXT NOT NULL,
    state      TEXT,
    time       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
)""",
    """CREATE TABLE IF NOT EXISTS seen_callbacks (
    provider   TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (provider, key)
)""",
    *_INDEXES,
)


def _events_once(real: str, integer: str) -> tuple[str, ...]:
    """Version 2: an event's identity (event_key, UNIQUE: recorded once however often delivered) and its
    place in time (at: epoch seconds of the provider's time; seq: the provider's sequence), and the time of
    the event that set each playback's state, so that an older event never moves it back."""
    return (
        "ALTER TABLE events ADD COLUMN event_key TEXT",
        f"ALTER TABLE events ADD COLUMN at {real}",
        f"ALTER TABLE events ADD COLUMN seq {integer}",
        "CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (event_key)",
        "CREATE INDEX IF NOT EXISTS events_control_at ON events (control_id, at)",
        f"ALTER TABLE playbacks ADD COLUMN state_at {real}",
        f"ALTER TABLE playbacks ADD COLUMN state_seq {integer}",
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "playbacks, events and callback keys", _V1_SQLITE, _V1_POSTGRESQL),
    Migration(
        2,
        "events once, in event order",
        (
            *_events_once("REAL", "INTEGER"),
            # Rows from before: their provider time as epoch seconds where SQLite can read it (0: first).
            "UPDATE events SET at = COALESCE((julianday(time) - 2440587.5) * 86400.0, 0.0) WHERE at IS NULL",
        ),
        _events_once("DOUBLE PRECISION", "BIGINT"),
    ),
)
LATEST = MIGRATIONS[-1].version
# pg_advisory_xact_lock's key for migrations: any fixed number, the same in every callplay process.
ADVISORY_LOCK_KEY = 0x63616C6C706C6179  # "callplay"
