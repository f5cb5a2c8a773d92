"""What `state_url` (config top level, env CALLPLAY_STATE_URL) names: the SQLite file or a PostgreSQL database.

Standard library only: callplay.config turns a BadStateUrl into a ConfigError, and shell completion
(callplay.complete), which must answer a Tab without importing pydantic, reads the same setting through it.

A password is never taken from the URL: a URL is shown in `state info`, in logs and in process listings,
and libpq reads PGPASSWORD and ~/.pgpass itself. So one in the URL is refused, and every URL callplay shows
goes through `masked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

SQLITE_SCHEMES = ("sqlite",)
POSTGRES_SCHEMES = ("postgresql", "postgres")
SCHEMES = (*SQLITE_SCHEMES, *POSTGRES_SCHEMES)
PASSWORD_HINT = "give the password in PGPASSWORD or ~/.pgpass (libpq reads them), never in the URL"


class BadStateUrl(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class StateUrl:
    backend: Literal["sqlite", "postgresql"]
    path: Path | None = None  # sqlite: the file
    url: str | None = None  # postgresql: the libpq URL, which holds no password

    @property
    def where(self) -> str:
        """Where the ledger is, as callplay shows it."""
        return str(self.path) if self.path is not None else masked(self.url or "")


def parse(text: str) -> StateUrl:
    """The ledger `text` names; BadStateUrl for anything else."""
    scheme = text.partition(":")[0].lower()
    if scheme in SQLITE_SCHEMES:
        return StateUrl("sqlite", path=_sqlite_path(text))
    if scheme in POSTGRES_SCHEMES:
        _refuse_password(text)
        return StateUrl("postgresql", url=text)
    raise BadStateUrl(
        f"state_url {masked(text)!r} names no ledger callplay knows",
        f"use sqlite:///PATH or postgresql://USER@HOST/DB (schemes: {', '.join(SCHEMES)})",
    )


def _sqlite_path(text: str) -> Path:
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost") or not parts.path or parts.path == "/":
        raise BadStateUrl(
            f"state_url {text!r} names no file",
            "write sqlite:///absolute/path/ledger.sqlite3 (three slashes, then the absolute path)",
        )
    # sqlite:///abs/path as a file URL has it; sqlite:////abs/path as SQLAlchemy has it: the same file.
    return Path("/" + unquote(parts.path).lstrip("/"))


def _refuse_password(text: str) -> None:
    try:
        parts = urlsplit(text)
        has_password = parts.password is not None
        if "," not in parts.netloc:  # libpq's host1:port1,host2:port2 is no single port
            parts.port  # noqa: B018 (a port that is not a number raises here, not in libpq's name lookup)
    except ValueError:  # a port that is not a number, a bracket left open: libpq would refuse it too
        raise BadStateUrl(f"state_url {masked(text)!r} is not a URL", "write postgresql://USER@HOST:PORT/DB") from None
    in_query = any(key.lower() == "password" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    if has_password or in_query:
        raise BadStateUrl(f"state_url {masked(text)!r} holds a password", PASSWORD_HINT)


def masked(url: str) -> str:
    """`url` with any password replaced by ***, in the user part and in a `password=` query parameter."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url  # nothing before @ is shown: it may hold one
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query
    if any(k.lower() == "password" for k, _ in pairs):
        query = "&".join(f"{quote(k)}={'***' if k.lower() == 'password' else quote(v)}" for k, v in pairs)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
