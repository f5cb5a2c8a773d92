"""Where callplay's config file and state directory are: the platform's folders, or CALLPLAY_CONFIG and
CALLPLAY_STATE_DIR.

Standard library only, and nothing is created or checked here: callplay.config builds on these (and turns
their failures into ConfigErrors), and shell completion (callplay.complete), which must answer a Tab without
importing pydantic, reads the same places (and the built-in profile's name) through them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG_FILE = "config.toml"
LEDGER_FILE = "ledger.sqlite3"  # in the state directory
DEMO_PROFILE = "demo"  # the built-in profile (callplay.config), there whatever the config file says


def platform_dir(kind: str) -> Path:
    """callplay's folder of `kind` ("config" or "state") where the platform keeps such folders."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "callplay"
    if sys.platform == "win32":
        base = os.environ.get("APPDATA" if kind == "config" else "LOCALAPPDATA") or str(home)
        return Path(base) / "callplay"
    xdg = {"config": "XDG_CONFIG_HOME", "state": "XDG_STATE_HOME"}[kind]
    default = {"config": home / ".config", "state": home / ".local" / "state"}[kind]
    return Path(os.environ.get(xdg) or default) / "callplay"


def config_path(explicit: Path | None) -> Path:
    """The config file: `explicit` (CALLPLAY_CONFIG) with ~ expanded, else the platform's. RuntimeError for
    `~user` of no such user."""
    return explicit.expanduser() if explicit else platform_dir("config") / CONFIG_FILE


def state_dir_path(explicit: Path | None) -> Path:
    """The state directory, as config_path finds the config file (CALLPLAY_STATE_DIR for `explicit`)."""
    return (explicit if explicit else platform_dir("state")).expanduser()


def env_path(name: str) -> Path | None:
    """CALLPLAY_<NAME> as callplay.config.GlobalSettings reads it without pydantic: the name in any case, an
    empty value unset."""
    wanted = f"CALLPLAY_{name}".upper()
    value = next((v for k, v in sorted(os.environ.items()) if k.upper() == wanted and v), None)
    return Path(value) if value else None
