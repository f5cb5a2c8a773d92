"""`callplay __complete profiles|calls|controls [--profile P] [--call C] [PREFIX]`: the values a shell
completes, one per line, for the scripts callplay.completions generates.

A Tab must feel instant (< 150 ms, benchmarks/completion.py), so callplay._entry answers this before it
imports the CLI, and this module uses the standard library only: tomllib for the config file, a plain
read-only sqlite3 connection for the ledger (with a PostgreSQL state_url a Tab offers no IDs: a network round
trip is no Tab's business). A Tab must never print an error into the prompt line, nor
create or change anything: every failure (no file, bad TOML, a corrupt or locked ledger) prints nothing and
exits 0, and the ledger is opened `mode=ro`, so a Tab never creates, migrates or checkpoints it.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from callplay import paths
from callplay.paths import DEMO_PROFILE
from callplay.states import TERMINAL_STATES

MAX_VALUES = 50  # a Tab that offers more is no help; the prefix narrows it
LOCKED_WAIT_S = 0.05  # a ledger locked longer than this gives no values rather than a slow Tab


def main(argv: Sequence[str]) -> int:
    """Print the values for `argv` (what follows `__complete`); always 0, silent on any failure."""
    try:
        kind, options, prefix = _parse(argv)
        values = ANSWERS[kind](prefix, options.get("--profile"), options.get("--call"))
        text = "".join(f"{v}\n" for v in dict.fromkeys(values) if v and "\n" not in v and "\r" not in v)
        sys.stdout.write(text)
        sys.stdout.flush()
    except Exception:  # anything at all: the shell shows a Tab's stderr in the prompt line
        pass
    return 0


def _parse(argv: Sequence[str]) -> tuple[str, dict[str, str], str]:
    """(kind, {"--profile": P, "--call": C}, prefix); ValueError for anything else."""
    if not argv or argv[0] not in ANSWERS:
        raise ValueError("unknown kind")
    options: dict[str, str] = {}
    rest = list(argv[1:])
    while len(rest) >= 2 and rest[0] in ("--profile", "--call"):
        options[rest[0]] = rest[1]
        rest = rest[2:]
    if rest[:1] == ["--"]:  # the scripts put `--` before the prefix, which may start with a dash
        rest = rest[1:]
    if len(rest) > 1:
        raise ValueError("too many arguments")
    return argv[0], options, rest[0] if rest else ""


# ------------------------------------------------------------------------------------------- profiles


def profiles(prefix: str, profile: str | None = None, call: str | None = None) -> list[str]:
    """The config file's profile names, and the built-in demo profile (which -p always accepts)."""
    import tomllib

    path = paths.config_path(paths.env_path("CONFIG"))
    names: list[str] = []
    if path.is_file():  # not a FIFO, which would hang the Tab
        with path.open("rb") as f:
            table = tomllib.load(f).get("profiles", {})
        names = [name for name, value in table.items() if isinstance(value, dict)] if isinstance(table, dict) else []
    names.append(DEMO_PROFILE)
    return sorted(name for name in set(names) if name.startswith(prefix))


# --------------------------------------------------------------------------------------- ledger values


def calls(prefix: str, profile: str | None = None, call: str | None = None) -> list[str]:
    """Call IDs from the ledger, the most recently played first, of `profile` when given."""
    query = "SELECT call_id FROM playbacks WHERE substr(call_id, 1, ?) = ?"
    args: list[object] = [len(prefix), prefix]
    if profile:
        query += " AND profile = ?"
        args.append(profile)
    query += " GROUP BY call_id ORDER BY max(created_at) DESC LIMIT ?"
    return _select(query, [*args, MAX_VALUES])


def controls(prefix: str, profile: str | None = None, call: str | None = None) -> list[str]:
    """Control IDs from the ledger, playbacks not ended (nor dry runs) first, then the newest first; of `call`
    and `profile` when given."""
    query = "SELECT control_id FROM playbacks WHERE substr(control_id, 1, ?) = ?"
    args: list[object] = [len(prefix), prefix]
    for column, value in (("call_id", call), ("profile", profile)):
        if value:
            query += f" AND {column} = ?"
            args.append(value)
    ended = [*sorted(TERMINAL_STATES), "dry-run"]  # as Ledger.playbacks(active=True) tells them apart
    query += f" ORDER BY state IN ({','.join('?' * len(ended))}), created_at DESC, rowid DESC LIMIT ?"
    return _select(query, [*args, *ended, MAX_VALUES])


def ledger_path() -> Path | None:
    """The SQLite ledger, as callplay.config.state_location finds it; None when state_url names PostgreSQL."""
    text = next((v for k, v in sorted(os.environ.items()) if k.upper() == "CALLPLAY_STATE_URL" and v), None)
    if text is None:
        config = paths.config_path(paths.env_path("CONFIG"))
        raw = config.read_bytes() if config.is_file() else b""  # not a FIFO, which would hang the Tab
        if b"state_url" in raw:  # parsed only then: tomllib costs a Tab milliseconds
            import tomllib

            value = tomllib.loads(raw.decode()).get("state_url")
            text = value if isinstance(value, str) and value else None
    if text is None:
        return paths.state_dir_path(paths.env_path("STATE_DIR")) / paths.LEDGER_FILE
    from callplay import state_url  # only now: dataclasses and urllib cost a Tab some milliseconds

    return state_url.parse(text).path  # a bad URL raises: main prints nothing


def _select(query: str, args: Sequence[object]) -> list[str]:
    path = ledger_path()
    if path is None or not path.is_file():
        return []
    # Even read-only, SQLite creates a WAL database's -wal and -shm files when they are missing. Missing,
    # they hold nothing (the last writer checkpointed and removed them): then the file is read as immutable,
    # which touches nothing. Present, a writer may be using them, and the read must see its WAL.
    live = path.with_name(f"{path.name}-wal").exists()
    uri = f"{path.absolute().as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    db = sqlite3.connect(uri, uri=True, timeout=LOCKED_WAIT_S, isolation_level=None)
    try:
        return [str(row[0]) for row in db.execute(query, args)]
    finally:
        db.close()


ANSWERS: dict[str, Callable[[str, str | None, str | None], list[str]]] = {
    "profiles": profiles,
    "calls": calls,
    "controls": controls,
}
