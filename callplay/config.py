"""Profiles from a TOML file, resolved with the precedence flag > env (CALLPLAY_*) > profile > default.

```toml
default_profile = "prod"
[profiles.prod]
provider = "acs"
endpoint = "https://contoso.communication.azure.com"
access_key_env = "ACS_ACCESS_KEY"     # a secret: from this env var...
# access_key = "..."                  # ...or from the file, only when the file's mode is 0600
[audio]                               # validate-audio thresholds (see docs)
```

Each provider declares its settings as a pydantic model (`Provider.Settings`); fields marked secret are
never printed (`profiles show` masks them) and may come only from the environment or a 0600 file.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from callplay.errors import ConfigError

if TYPE_CHECKING:
    from callplay.model import ProfileList, ProfileView

DEMO_PROFILE = "demo"
# Not a secret: the key the embedded demo emulator accepts (base64, as ACS access keys are).
DEMO_ACCESS_KEY = "Y2FsbHBsYXktZGVtby1rZXktbm90LWEtc2VjcmV0"


class GlobalSettings(BaseSettings):
    """Process-wide settings from CALLPLAY_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="CALLPLAY_", extra="ignore")

    config: Path | None = None
    profile: str | None = None
    state_dir: Path | None = None


def _platform_dir(kind: str) -> Path:
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "callplay"
    if sys.platform == "win32":
        base = os.environ.get("APPDATA" if kind == "config" else "LOCALAPPDATA") or str(home)
        return Path(base) / "callplay"
    xdg = {"config": "XDG_CONFIG_HOME", "state": "XDG_STATE_HOME"}[kind]
    default = {"config": home / ".config", "state": home / ".local" / "state"}[kind]
    return Path(os.environ.get(xdg) or default) / "callplay"


def config_path() -> Path:
    explicit = GlobalSettings().config
    return explicit if explicit else _platform_dir("config") / "config.toml"


def state_dir() -> Path:
    explicit = GlobalSettings().state_dir
    path = explicit if explicit else _platform_dir("state")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------ the raw file


@dataclass
class ConfigFile:
    path: Path | None  # None: no file, the built-in demo profile only
    data: dict[str, Any]
    private: bool  # mode 0600 (or stricter): secrets may be read from it

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        profiles = self.data.get("profiles", {})
        return profiles if isinstance(profiles, dict) else {}


def load_file(path: Path | None = None) -> ConfigFile:
    path = path or config_path()
    explicit = GlobalSettings().config is not None
    if not path.exists():
        if explicit:
            raise ConfigError(
                f"config file {path} does not exist",
                "fix CALLPLAY_CONFIG, or unset it to use the built-in demo profile",
            )
        return ConfigFile(None, {}, True)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: {exc}", "fix the TOML syntax at that line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}", "check the file's permissions and encoding") from None
    if not isinstance(data.get("profiles", {}), dict):
        raise ConfigError(f"config {path}: 'profiles' must be a table", "write profiles as [profiles.NAME]")
    mode = stat.S_IMODE(path.stat().st_mode)
    return ConfigFile(path, data, private=(mode & 0o077) == 0)


def audio_settings() -> dict[str, Any]:
    """The [audio] table (validate-audio thresholds); {} when there is none."""
    audio = load_file().data.get("audio", {})
    return audio if isinstance(audio, dict) else {}


# ------------------------------------------------------------------------------------------- resolution


@dataclass
class Profile:
    """A resolved profile: validated settings plus where each value came from."""

    name: str
    provider: str
    settings: BaseModel
    sources: dict[str, str]
    defined_in: str
    is_default: bool
    warnings: list[str] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self.settings, key, default)


def is_secret(model: type[BaseModel], name: str) -> bool:
    extra = model.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def _demo_profile_table() -> dict[str, Any]:
    return {"provider": "acs", "endpoint": "embedded", "access_key": DEMO_ACCESS_KEY}


def _profiles(cfg: ConfigFile) -> dict[str, tuple[dict[str, Any], str]]:
    where = str(cfg.path) if cfg.path else "built-in"
    found = {name: (table, where) for name, table in cfg.profiles.items() if isinstance(table, dict)}
    found.setdefault(DEMO_PROFILE, (_demo_profile_table(), "built-in"))
    return found


def default_profile_name(cfg: ConfigFile) -> str:
    named = cfg.data.get("default_profile")
    if isinstance(named, str) and named:
        return named
    user_profiles = list(cfg.profiles)
    if len(user_profiles) == 1:
        return user_profiles[0]
    if not user_profiles:
        return DEMO_PROFILE
    raise ConfigError(
        f"config {cfg.path} has {len(user_profiles)} profiles and no default_profile",
        f"pass --profile ({', '.join(sorted(user_profiles))}) or set default_profile at the top of the file",
    )


def _pick_value(
    name: str, secret: bool, table: dict[str, Any], cfg: ConfigFile, where: str, overrides: dict[str, Any]
) -> tuple[Any, str | None, str | None]:
    """(value, source, warning) for one setting; source None means: use the model's default."""
    if overrides.get(name) is not None:
        return overrides[name], "flag", None
    env_name = f"CALLPLAY_{name.upper()}"
    if os.environ.get(env_name):
        return os.environ[env_name], f"env:{env_name}", None
    named_env = table.get(f"{name}_env")
    if isinstance(named_env, str) and named_env:
        if os.environ.get(named_env):
            return os.environ[named_env], f"env:{named_env}", None
        return None, None, f"{name}: environment variable {named_env} (named by {name}_env) is not set"
    if name in table:
        if secret and where != "built-in" and not cfg.private:
            return (
                None,
                None,
                f"{name} in {cfg.path} ignored: the file is readable by others; chmod 600 {cfg.path} "
                f"or set {name}_env to an environment variable",
            )
        return table[name], f"file:{where}" if where != "built-in" else "built-in", None
    return None, None, None


def resolve_profile(name: str | None = None, overrides: dict[str, Any] | None = None) -> Profile:
    from callplay.providers import provider_class

    cfg = load_file()
    name = name or GlobalSettings().profile or default_profile_name(cfg)
    profiles = _profiles(cfg)
    if name not in profiles:
        known = ", ".join(sorted(profiles))
        raise ConfigError(f"unknown profile {name!r}", f"known profiles: {known} (callplay profiles list)")
    table, where = profiles[name]
    provider_name = table.get("provider")
    if not isinstance(provider_name, str):
        raise ConfigError(f"profile {name!r} in {where} has no provider", _provider_hint())
    cls = provider_class(provider_name)
    model: type[BaseModel] = cls.Settings
    allowed = set(model.model_fields) | {f"{k}_env" for k in model.model_fields} | {"provider"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"profile {name!r} in {where}: unknown setting(s) {', '.join(unknown)} for provider {provider_name}",
            f"valid settings: {', '.join(sorted(model.model_fields))}",
        )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    for key in model.model_fields:
        value, source, warning = _pick_value(key, is_secret(model, key), table, cfg, where, overrides or {})
        if warning:
            warnings.append(warning)
        if source is not None:
            values[key] = value
            sources[key] = source
        else:
            sources[key] = "default"
    try:
        settings = model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "profile"
        hint = "; ".join(warnings) if warnings else f"see `callplay profiles show {name}`"
        raise ConfigError(f"profile {name!r} in {where}: {loc}: {first['msg']}", hint) from None
    is_default = name == _safe_default(cfg)
    return Profile(name, provider_name, settings, sources, where, is_default, warnings)


def _safe_default(cfg: ConfigFile) -> str | None:
    try:
        return default_profile_name(cfg)
    except ConfigError:
        return None


def _provider_hint() -> str:
    from callplay.providers import PROVIDER_NAMES

    return f'add provider = "NAME", one of: {", ".join(PROVIDER_NAMES)}'


def provider_of_profile(name: str | None) -> str:
    """The provider a profile names, without validating its settings (validate-audio --profile)."""
    cfg = load_file()
    name = name or GlobalSettings().profile or default_profile_name(cfg)
    profiles = _profiles(cfg)
    if name not in profiles:
        raise ConfigError(f"unknown profile {name!r}", f"known profiles: {', '.join(sorted(profiles))}")
    provider = profiles[name][0].get("provider")
    if not isinstance(provider, str):
        raise ConfigError(f"profile {name!r} has no provider", _provider_hint())
    return provider


# ------------------------------------------------------------------------------------ profiles list/show


def mask(value: Any) -> str:
    # Not even a suffix: a masked value only says that something is set.
    return "**** (set)" if str(value) else ""


def profile_view(name: str | None) -> ProfileView:
    from callplay.model import ProfileValue, ProfileView

    profile = resolve_profile(name)
    model = type(profile.settings)
    values = []
    for key in model.model_fields:
        secret = is_secret(model, key)
        raw = getattr(profile.settings, key)
        shown = mask(raw) if secret and raw is not None else raw
        values.append(ProfileValue(key, shown, profile.sources[key], secret))
    return ProfileView(profile.name, profile.provider, profile.defined_in, profile.is_default, values, profile.warnings)


def profile_list() -> ProfileList:
    from callplay.model import ProfileList, ProfileView

    cfg = load_file()
    default = _safe_default(cfg)
    views = [
        ProfileView(name, str(table.get("provider", "?")), where, name == default)
        for name, (table, where) in sorted(_profiles(cfg).items())
    ]
    return ProfileList(views, str(cfg.path) if cfg.path else None)
