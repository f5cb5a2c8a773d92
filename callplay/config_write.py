"""Edit one profile in the user's config file (`profiles add`), leaving the rest of the file as it was.

tomlkit, not tomli-w: the file is the user's, and a round trip through a plain dict would drop their
comments and reorder their tables. Only the edited [profiles.NAME] table (and `default_profile`, when asked)
changes; every other byte stays. The file is read with tomllib first so that a broken file is refused with
the same words every other command uses, and written whole or not at all, mode 0600 (it may hold secrets).
tomlkit is imported here only, and this module only by `profiles add`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callplay.config import check_top_level
from callplay.errors import ConfigError
from callplay.fileio import write_bytes

if TYPE_CHECKING:
    from tomlkit import TOMLDocument
    from tomlkit.items import InlineTable, Table

NEW_FOLDER_MODE = 0o700  # the config's folder, when callplay creates it: the file in it may hold secrets


@dataclass
class ConfigDocument:
    path: Path
    text: str  # as read ("" for a new file)
    doc: TOMLDocument

    def profile(self, name: str) -> dict[str, Any] | None:
        """The profile's table as plain values, or None when the file has no such profile."""
        profiles = self.doc.get("profiles")
        table = profiles.get(name) if profiles is not None else None
        return dict(table.unwrap()) if table is not None else None

    def profile_names(self) -> list[str]:
        profiles = self.doc.get("profiles")
        return list(profiles) if profiles is not None else []


def read_document(path: Path) -> ConfigDocument:
    """The config at `path` for editing; a new empty document when there is no file yet. A file callplay
    would refuse to read (not TOML, unknown top-level keys, not a regular file) is a ConfigError, untouched."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ConfigDocument(path, "", tomlkit.document())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}", "check the path and its folders") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO, /dev/null or a directory: nothing callplay could replace
        raise ConfigError(
            f"config {path} is not a regular file", "point CALLPLAY_CONFIG at a TOML file (or a path to create one)"
        )
    try:
        text = path.read_text(encoding="utf-8")
        check_top_level(path, tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config {path}: {exc}", "fix the TOML syntax at that line; the file was not changed"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}", "check the file's permissions and encoding") from None
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:  # what tomllib accepts and tomlkit does not (rare)
        raise ConfigError(f"config {path}: {exc}", "fix the TOML at that line; the file was not changed") from None
    return ConfigDocument(path, text, doc)


def set_profile(config: ConfigDocument, name: str, values: dict[str, Any], remove: set[str], *, replace: bool) -> None:
    """Give profile `name` these `values` and drop the keys in `remove`; with `replace`, the table is written
    afresh (its old keys and comments go). Keys it keeps stay where they are, with their comments."""
    import tomlkit
    from tomlkit.items import InlineTable

    profiles = config.doc.get("profiles")
    if profiles is None:
        profiles = tomlkit.table(is_super_table=True)  # [profiles.NAME] headers, no bare [profiles]
        config.doc.add("profiles", profiles)
    if replace or name not in profiles:
        profiles[name] = _new_table(values, inline=isinstance(profiles, InlineTable))
        return
    table = profiles[name]
    for key in remove:
        if key in table:
            del table[key]
    for key, value in values.items():
        if key in table:
            table[key] = value  # in place: the line keeps its position and its comment
        else:
            _append_key(table, key, value)


def _new_table(values: dict[str, Any], *, inline: bool) -> Table | InlineTable:
    """A [profiles.NAME] table, or an inline one inside a `profiles = { ... }` (a table cannot go there)."""
    import tomlkit

    table = tomlkit.inline_table() if inline else tomlkit.table()
    for key, value in values.items():
        table.append(key, value)
    if not inline:
        # A blank line after it, as between hand-written tables; a final one is taken off in `render`.
        table.add(tomlkit.nl())
    return table


def _append_key(table: Any, key: str, value: Any) -> None:
    """Add `key` after the table's last key rather than at its very end: the comments and blank lines that
    end a table usually introduce the next one, and must stay with it."""
    container = getattr(table, "value", None)
    keyed = [k for k, _ in getattr(container, "body", None) or [] if k is not None]
    # tomlkit has no public "insert after"; its Container's own method does it (tests/test_profiles_add.py
    # checks the result). An inline table, or a tomlkit without the method: at the end, still valid TOML.
    insert_after = getattr(container, "_insert_after", None)
    if not keyed or insert_after is None:
        table[key] = value
        return
    insert_after(keyed[-1], key, value)


def set_default(config: ConfigDocument, name: str) -> None:
    config.doc["default_profile"] = name  # tomlkit puts a new top-level key before the first table


def render(config: ConfigDocument) -> str:
    text = config.doc.as_string()
    if not config.text.endswith("\n\n") and text.endswith("\n\n"):
        text = text.rstrip("\n") + "\n"  # the blank line after a new last table: the file ends as it did
    if text and not text.endswith("\n"):
        text += "\n"  # tomlkit drops it after a dotted key it replaced
    return text


@contextmanager
def editing(path: Path) -> Iterator[None]:
    """One edit of the config at `path` at a time, across processes: read, change and write it inside the block.
    Twelve `profiles add` run at once kept one profile of twelve without it (each wrote over the others).

    The lock is flock on the config's folder (made 0700 first), not on the file, which each write replaces,
    nor on a lock file, which would be left beside it. Where there is no flock (Windows), no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    try:
        _make_folders(path.parent)
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError as exc:
        raise ConfigError(
            f"cannot open the config's folder {path.parent}: {exc.strerror or exc}",
            "point CALLPLAY_CONFIG at a file in a folder you may write; the file was not changed",
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_document(config: ConfigDocument, name: str, table: dict[str, Any]) -> None:
    """Write the edited document over the file (mode 0600), creating its folder (0700) when there is none,
    once it is sure to read back as the old file with profile `name` set to `table` and nothing else changed."""
    text = render(config)
    _check_round_trip(config, text, name, table)
    path = config.path
    try:
        _make_folders(path.parent)
        write_bytes(path, text.encode("utf-8"), secret=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot write config {path}: {exc.filename or path}: {reason}",
            "point CALLPLAY_CONFIG at a file in a folder you may write; the file was not changed",
        ) from None


def _check_round_trip(config: ConfigDocument, text: str, name: str, table: dict[str, Any]) -> None:
    """tomlkit keeps a file's layout, and some layouts (a profile in dotted keys spread over the file) it
    cannot extend without moving a key into another table: rather than write that, refuse."""
    expected = tomllib.loads(config.text)
    expected.setdefault("profiles", {})[name] = table
    default = config.doc.get("default_profile")
    if default is not None:
        expected["default_profile"] = str(default)
    if tomllib.loads(text) != expected:
        raise ConfigError(
            f"cannot edit profile {name!r} in {config.path} without changing its meaning",
            f"the file writes its profiles in a way callplay cannot extend (dotted keys?): write [profiles.{name}] "
            "by hand; the file was not changed",
        )


def _make_folders(folder: Path) -> None:
    """Each missing folder with mode 0700 (Path.mkdir(parents=True) would give the parents the umask's mode)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for each in reversed(missing):
        try:
            each.mkdir(mode=NEW_FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile; a file there fails the write after
            if not each.is_dir():
                raise
