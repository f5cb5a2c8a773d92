"""A throwaway PostgreSQL cluster (tests/conftest.py's `pg_cluster`, benchmarks/shared_ledger.py): initdb into a
temporary folder, the server listening on a Unix socket in it and on no TCP port, trust authentication, and
everything stopped and removed at the end. Durability is traded for speed (fsync off): it is thrown away.

initdb and postgres refuse to run as root (as tests do here and in CI): then they run as the `postgres` user,
which Debian's postgresql package creates (.ci/run makes sure of it).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# "required" (set by .ci/run): a missing PostgreSQL fails the tests that need one instead of skipping them.
PG_REQUIRED_ENV = "CALLPLAY_TEST_PG"
SERVER_USER = "postgres"


class ClusterFailed(RuntimeError):
    pass


@dataclass
class PgCluster:
    socket_dir: Path

    def url(self, database: str) -> str:
        return f"postgresql://{SERVER_USER}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """A new empty database's URL (a few tens of ms: a copy of template1)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        for attempt in range(10):
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {name}")
                break
            except psycopg.errors.ObjectInUse:  # template1 busy with another test process's CREATE DATABASE
                if attempt == 9:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return self.url(name)


def pg_binary(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else Debian's /usr/lib/postgresql/VERSION/bin (the newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def pg_installed() -> bool:
    return bool(pg_binary("initdb") and pg_binary("pg_ctl"))


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


def start_cluster() -> PgCluster:
    """initdb and start a cluster in a new temporary folder (its socket_dir); stop_cluster removes it."""
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise ClusterFailed("PostgreSQL is not installed (no initdb)")
    root = Path(tempfile.mkdtemp(prefix="callplay-pg-"))  # short: a socket's path has at most 107 bytes
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER, SERVER_USER)
    data, log = root / "data", root / "log"

    def run(*argv: str) -> None:
        subprocess.run(_as_server_user(list(argv)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", SERVER_USER, "-E", "UTF8", "--no-sync")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = ''\nunix_socket_directories = '{root}'\nmax_connections = 300\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        run(pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "start")
    except (subprocess.CalledProcessError, OSError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        told = stderr.decode(errors="replace") + (log.read_text(errors="replace")[-2000:] if log.exists() else "")
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterFailed(f"could not start a throwaway PostgreSQL: {exc}: {told}") from None
    return PgCluster(root)


def stop_cluster(cluster: PgCluster) -> None:
    """Stop the cluster start_cluster made and remove its folder."""
    pg_ctl = pg_binary("pg_ctl") or "pg_ctl"
    stop = [pg_ctl, "-D", str(cluster.socket_dir / "data"), "-m", "immediate", "-w", "stop"]
    subprocess.run(_as_server_user(stop), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(cluster.socket_dir, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)
