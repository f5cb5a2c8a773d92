"""The ledger on PostgreSQL, through psycopg 3: imported only when `state_url` names a PostgreSQL database, so
that start-up with SQLite never pays for it (tests/test_imports.py).

Connections: a few per process, pooled (a fan-out's workers share one Ledger), each in autocommit, so a
statement is its own transaction and the ledger's short transactions are explicit. A connection is never
shared between threads at once, nor across a fork. The password comes from PGPASSWORD or ~/.pgpass, which
libpq reads itself: callplay.state_url refuses one in the URL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from callplay import migrations
from callplay.errors import CallplayError, ExitCode
from callplay.ledger import Closeable, Cursor, Db
from callplay.state_url import masked

MAX_IDLE = 4  # connections kept per process between operations
CONNECT_TIMEOUT_S = 10


class PostgresBackend:
    name = "postgresql"
    order = "seq"
    # Workers pruning at once skip each other's rows instead of waiting on them (or deadlocking).
    prune_sql = (
        "DELETE FROM seen_callbacks WHERE ctid IN "
        "(SELECT ctid FROM seen_callbacks WHERE expires_at < ? FOR UPDATE SKIP LOCKED)"
    )

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = masked(url)
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _take(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections are the parent's
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and not conn.broken:
                    return conn
        try:
            return psycopg.connect(self.url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:
            raise _unavailable(self.where, exc) from None

    def _give(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE and not conn.broken and self._pid == os.getpid():
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def connect(self) -> Iterator[Db]:
        conn = self._take()
        try:
            yield _PgDb(conn, self.where)
        finally:
            self._give(conn)

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        with self.connect() as db:
            assert isinstance(db, _PgDb)
            with db.conn.transaction():
                yield db

    @contextmanager
    def exclusive(self) -> Iterator[Db]:
        with self.transaction() as db:
            # Held until this transaction ends: processes migrating at once take turns.
            db.execute("SELECT pg_advisory_xact_lock(?)", (migrations.ADVISORY_LOCK_KEY,))
            yield db

    def missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.errors.UndefinedTable)

    def keep_open(self) -> Closeable:
        return _Nothing()  # the pool keeps connections open already

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _PgDb:
    def __init__(self, conn: psycopg.Connection[Any], where: str) -> None:
        self.conn = conn
        self.where = where

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        # The ledger's SQL has no literal ? or %: its placeholders map one to one.
        try:
            return self.conn.execute(sql.replace("?", "%s"), tuple(args))
        except psycopg.OperationalError as exc:  # the server went away: the connection is not reused
            raise _unavailable(self.where, exc) from None


def _unavailable(where: str, exc: Exception) -> CallplayError:
    reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return CallplayError(
        f"cannot reach the ledger at {where or 'PostgreSQL'}: {reason}",
        "check state_url (CALLPLAY_STATE_URL), that the server is up, and PGPASSWORD or ~/.pgpass",
        code="state_unavailable",
        exit_code=ExitCode.UNAVAILABLE,
    )


class _Nothing:
    def close(self) -> None:
        pass


_backends: dict[str, PostgresBackend] = {}
_backends_lock = threading.Lock()


def backend_for(url: str) -> PostgresBackend:
    """One backend (one pool) per database per process: a command opens the ledger several times."""
    with _backends_lock:
        backend = _backends.get(url)
        if backend is None:
            backend = _backends[url] = PostgresBackend(url)
        return backend
