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
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from callplay import paths
from callplay.errors import ConfigError, UsageError
from callplay.paths import DEMO_PROFILE as DEMO_PROFILE  # its home is stdlib-only, for shell completion

if TYPE_CHECKING:
    from callplay.model import ProfileList, ProfileSummary, ProfileView
    from callplay.state_url import StateUrl

# Not a secret: the key the embedded demo emulator accepts (base64, as ACS access keys are).
DEMO_ACCESS_KEY = "Y2FsbHBsYXktZGVtby1rZXktbm90LWEtc2VjcmV0"


class GlobalSettings(BaseSettings):
    """Process-wide settings from CALLPLAY_* environment variables (names in any case); an empty variable is
    unset (CALLPLAY_STATE_DIR= would otherwise be the current directory)."""

    model_config = SettingsConfigDict(env_prefix="CALLPLAY_", extra="ignore", env_ignore_empty=True)

    config: Path | None = None
    profile: str | None = None
    state_dir: Path | None = None
    state_url: str | None = None


def global_settings() -> GlobalSettings:
    """The CALLPLAY_* settings as the environment holds them now: built once per distinct environment, since
    a command reads them several times and building the model costs milliseconds each time."""
    key = tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith("CALLPLAY_")))
    return _global_settings(key)


@lru_cache(maxsize=8)
def _global_settings(key: tuple[tuple[str, str], ...]) -> GlobalSettings:
    return GlobalSettings()


def config_path() -> Path:
    explicit = global_settings().config
    try:
        return paths.config_path(explicit)
    except RuntimeError:  # ~user for no such user
        raise ConfigError(
            f"cannot expand CALLPLAY_CONFIG {explicit}: no such user or home directory",
            "give the config file's path without ~, or unset CALLPLAY_CONFIG for the demo profile",
        ) from None


def state_dir() -> Path:
    explicit = global_settings().state_dir
    path = explicit or paths.platform_dir("state")  # as the messages name it until it is expanded
    where = "CALLPLAY_STATE_DIR" if explicit else "the state directory"
    try:
        path = paths.state_dir_path(explicit)
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file, /dev/null, or a dangling symlink where the directory should be
        raise ConfigError(
            f"{where} {path} is not a directory",
            "point CALLPLAY_STATE_DIR at a directory callplay may create and write (or unset it)",
        ) from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: `~user` for a user that does not exist
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot create {where} {path}: {reason}",
            "point CALLPLAY_STATE_DIR at a directory callplay may create and write (or unset it)",
        ) from None
    if not path.is_dir():
        raise ConfigError(f"{where} {path} is not a directory", "point CALLPLAY_STATE_DIR at a directory")
    return path


def state_location() -> StateUrl:
    """Where the ledger is: CALLPLAY_STATE_URL, else the config file's top-level `state_url`, else the SQLite
    file in the state directory (docs/state.md)."""
    from callplay import state_url

    text = global_settings().state_url
    if text is None:
        value = load_file().data.get("state_url")
        text = value if isinstance(value, str) and value else None  # check_top_level has refused other types
    if text is None:
        return state_url.StateUrl("sqlite", path=state_dir() / paths.LEDGER_FILE)
    try:
        parsed = state_url.parse(text)
    except state_url.BadStateUrl as exc:
        raise ConfigError(exc.message, exc.hint) from None
    if parsed.path is not None:
        try:
            parsed.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder of the ledger {parsed.path}: {exc.strerror or exc}",
                "point state_url (CALLPLAY_STATE_URL) at a file in a folder callplay may write",
            ) from None
    return parsed


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
    explicit = global_settings().config is not None
    if not path.exists():
        if explicit:
            raise ConfigError(
                f"config file {path} does not exist",
                "fix CALLPLAY_CONFIG, or unset it to use the built-in demo profile",
            )
        return ConfigFile(None, {}, True)
    if not path.is_file() and not _is_devnull(path):  # a FIFO would block the read; a directory cannot be read
        raise ConfigError(
            f"config {path} is not a regular file", "point CALLPLAY_CONFIG at a TOML file (or unset it for the demo)"
        )
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: {exc}", "fix the TOML syntax at that line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}", "check the file's permissions and encoding") from None
    check_top_level(path, data)
    mode = stat.S_IMODE(path.stat().st_mode)
    return ConfigFile(path, data, private=(mode & 0o077) == 0)


def _is_devnull(path: Path) -> bool:
    """CALLPLAY_CONFIG=/dev/null: an empty config on purpose (no profiles but the demo)."""
    try:
        return os.path.samefile(path, os.devnull)
    except OSError:
        return False


# The keys a config file may have at its top level, and what each must be. Anything else is a typo that
# would otherwise be ignored without a word (README: unknown settings are errors).
TOP_LEVEL_KEYS = {
    "default_profile": (str, 'default_profile = "NAME" at the top of the file'),
    "profiles": (dict, "write profiles as [profiles.NAME] tables"),
    "audio": (dict, "write validate-audio thresholds as an [audio] table (see docs/validate-audio.md)"),
    "state_url": (str, 'state_url = "postgresql://USER@HOST/DB" (or sqlite:///PATH) at the top (docs/state.md)'),
}


def check_top_level(path: Path, data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ConfigError(
            f"config {path}: unknown top-level key(s) {', '.join(unknown)}",
            f"valid keys: {', '.join(TOP_LEVEL_KEYS)} (profile settings go in [profiles.NAME])",
        )
    for key, (kind, hint) in TOP_LEVEL_KEYS.items():
        if key in data and not isinstance(data[key], kind):
            what = "a table" if kind is dict else "a string"
            raise ConfigError(f"config {path}: '{key}' must be {what}, not {type(data[key]).__name__}", hint)
    for name, table in data.get("profiles", {}).items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"config {path}: profile {name!r} must be a table, not {type(table).__name__}",
                f"write it as [profiles.{name}] with provider = ... and its settings",
            )


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


def env_override_name(setting: str) -> str:
    """The environment variable that overrides `setting` of any profile (and that `profiles add --from-env`
    reads): CALLPLAY_<SETTING>."""
    return f"CALLPLAY_{setting.upper()}"


def _pick_value(
    name: str, secret: bool, table: dict[str, Any], cfg: ConfigFile, where: str, overrides: dict[str, Any]
) -> tuple[Any, str | None, str | None]:
    """(value, source, warning) for one setting; source None means: use the model's default."""
    if overrides.get(name) is not None:
        return overrides[name], "flag", None
    env_name = env_override_name(name)
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


def _check_given_name(name: str | None) -> None:
    """`-p ""` (or an empty NAME) is a mistake, not a request for the default profile."""
    if name is not None and not name.strip():
        raise UsageError("the profile name is empty", "give a profile name (callplay profiles list), or leave it out")


def resolve_profile(name: str | None = None, overrides: dict[str, Any] | None = None) -> Profile:
    _check_given_name(name)
    cfg = load_file()
    name = name or global_settings().profile or default_profile_name(cfg)
    return _resolve(cfg, name, overrides or {})


def _resolve(cfg: ConfigFile, name: str, overrides: dict[str, Any]) -> Profile:
    from callplay.providers import provider_class

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
    for key in sorted(k for k in table if k.endswith("_env")):
        if not isinstance(table[key], str) or not table[key].strip():
            raise ConfigError(
                f"profile {name!r} in {where}: {key} must name an environment variable, not {table[key]!r}",
                f'e.g. {key} = "{key[:-4].upper()}"',
            )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    for key in model.model_fields:
        value, source, warning = _pick_value(key, is_secret(model, key), table, cfg, where, overrides)
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
        # Where the value came from (not `profiles show`: it validates the same settings and stops here too).
        source = sources.get(str(first["loc"][0]) if first["loc"] else "", "")
        fix = f"fix {source[4:]}" if source.startswith("env:") else f"fix {loc} in [profiles.{name}] of {where}"
        hint = "; ".join(warnings) if warnings else fix
        message = str(first["msg"]).removeprefix("Value error, ")  # a validator's own words, without pydantic's
        raise ConfigError(f"profile {name!r} in {where}: {loc}: {message}", hint) from None
    is_default = name == safe_default_name(cfg)
    return Profile(name, provider_name, settings, sources, where, is_default, warnings)


def safe_default_name(cfg: ConfigFile) -> str | None:
    """The default profile's name, or None when there is none (several profiles, no default_profile)."""
    try:
        return default_profile_name(cfg)
    except ConfigError:
        return None


def _provider_hint() -> str:
    from callplay.providers import PROVIDER_NAMES

    return f'add provider = "NAME", one of: {", ".join(PROVIDER_NAMES)}'


def provider_of_profile(name: str | None) -> str:
    """The provider a profile names, without validating its settings (validate-audio --profile)."""
    _check_given_name(name)
    cfg = load_file()
    name = name or global_settings().profile or default_profile_name(cfg)
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
    """Every profile, each resolved as a command would resolve it now: one that would fail is listed with
    the reason, and the list then ends in exit 3 (README: invalid profiles are flagged)."""
    from callplay.model import ProfileList

    cfg = load_file()
    default = safe_default_name(cfg)
    summaries = [_summary(cfg, name, table, where, name == default) for name, (table, where) in _profiles(cfg).items()]
    summaries.sort(key=lambda s: s.name)
    result = ProfileList(summaries, str(cfg.path) if cfg.path else None, str(cfg.path or config_path()))
    result.warnings = [w for s in summaries for w in s.warnings]
    if default is None:
        result.warnings.append(
            f"{len(cfg.profiles)} profiles and no default_profile: commands need -p NAME "
            "(or make one the default: callplay profiles add NAME --default)"
        )
    problems = [f"profile {s.name}: {s.problem}" for s in summaries if not s.valid]
    if default is not None and default not in {s.name for s in summaries}:
        problems.append(f"default_profile {default!r} is not a profile")
    if problems:
        invalid = [s for s in summaries if not s.valid]
        # One invalid profile: its own hint (which variable is unset, what to fix); several: where to look.
        hint = invalid[0].hint if len(problems) == 1 and invalid else None
        result.exit_code = int(ConfigError.exit_code)
        result.failure = ConfigError(
            "; ".join(problems),
            hint or f"fix {cfg.path} (callplay profiles show NAME says what each profile lacks)",
        )
    return result


def _summary(cfg: ConfigFile, name: str, table: dict[str, Any], where: str, is_default: bool) -> ProfileSummary:
    from callplay.model import ProfileSummary

    summary = ProfileSummary(name, str(table.get("provider", "?")), where, is_default)
    try:
        profile = _resolve(cfg, name, {})
    except ConfigError as err:
        # The reason without "profile 'NAME' in PATH": the row already says which profile, the caption where.
        prefix = f"profile {name!r} in {where}"
        summary.valid, summary.problem = False, err.message.removeprefix(prefix).removeprefix(":").strip()
        summary.hint = err.hint
    else:
        summary.warnings = [f"profile {name}: {w}" for w in profile.warnings]
    return summary
