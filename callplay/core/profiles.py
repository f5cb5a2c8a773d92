"""profiles check: prove a profile's credentials with one harmless authenticated read through its provider;
profiles add: write or update one profile in the config file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from callplay import config
from callplay.core.session import session
from callplay.errors import ConfigError, ProviderRejected, ProviderUnavailable, UsageError
from callplay.model import CheckResult
from callplay.providers import PROVIDER_NAMES, names_text, provider_class

if TYPE_CHECKING:
    from callplay.config_write import ConfigDocument
    from callplay.model import ProfileView


def check_profile(name: str | None) -> CheckResult:
    """Resolve the profile (a ConfigError ends the command: exit 3), then ask the provider for its read.

    A refused read comes back as a result with `authenticated` false (exit 5), an unreachable provider
    with `reachable` false (exit 6); either way the failing step is named and the error told on stderr.
    """
    with session(name) as s:
        profile, provider = s.profile.name, s.provider.name
        try:
            result = s.provider.check()
        except ProviderRejected as err:
            result = CheckResult(profile, provider, "", reachable=True, authenticated=False, detail=err.message)
            result.failed_step, result.failure, result.exit_code = "authenticated read", err, int(err.exit_code)
        except ProviderUnavailable as err:
            result = CheckResult(profile, provider, "", reachable=False, detail=err.message)
            result.failed_step, result.failure, result.exit_code = "reach the provider", err, int(err.exit_code)
        result.warnings = [*s.warnings, *result.warnings]
        return result


# ------------------------------------------------------------------------------------------- profiles add

# A name `-p NAME` takes without shell quoting: no spaces, quotes or control characters.
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_SUFFIX = "_env"  # `<setting>_env = "VAR"`: the setting's value comes from VAR (config.py reads it so)


@dataclass(frozen=True)
class ProfileEdit:
    """`profiles add NAME`: what to write into the profile's table."""

    name: str
    provider: str | None = None
    settings: tuple[tuple[str, str], ...] = ()  # --set KEY=VALUE, in the order given
    unset: tuple[str, ...] = ()
    from_env: bool = False  # each setting from CALLPLAY_<SETTING> when that is set
    replace: bool = False  # the table afresh (needed to change its provider)
    make_default: bool = False


@dataclass
class _Given:
    value: Any  # typed as the provider's settings model types it
    source: str  # flag | env:NAME (ProfileValue.source's words)


def add_profile(edit: ProfileEdit) -> ProfileView:
    """Write or update one profile in the config file, keeping the other profiles and the comments.

    Nothing is written unless the resulting profile validates: an unknown key is a usage error (exit 2)
    that lists the valid ones; a value of the wrong type, or a profile that would not load, exit 3.
    """
    from callplay import config_write

    _check_name(edit.name)
    path = config.config_path()
    with config_write.editing(path):
        return _add_profile(edit, config_write.read_document(path))


def _add_profile(edit: ProfileEdit, document: ConfigDocument) -> ProfileView:
    from callplay import config_write

    old = document.profile(edit.name)
    provider = _provider_for(edit, old)
    model = provider_class(provider).Settings
    given = _given_values(edit, model, provider)
    fresh = edit.replace or old is None
    remove = set() if fresh else _removed_keys(edit, model, provider, old or {}, given)
    kept = {} if fresh else {k: v for k, v in (old or {}).items() if k not in remove}
    table = {**kept, "provider": provider, **{k: g.value for k, g in given.items()}}
    _check_table(edit.name, model, table, given, document.path)
    before = document.profile_names()
    changed = table if fresh else {k: v for k, v in table.items() if k in given or kept.get(k) != v}
    config_write.set_profile(document, edit.name, changed, remove, replace=fresh)
    _keep_default(document, edit, before)
    config_write.write_document(document, edit.name, table)
    return _view(edit.name, model, table, given, document)


def _check_name(name: str) -> None:
    if not name.strip():
        raise UsageError("the profile name is empty", "give a name, e.g. callplay profiles add prod --provider acs")
    if not PROFILE_NAME.fullmatch(name):
        raise UsageError(
            f"profile name {name!r} has characters a name may not have",
            "use letters, digits, '-', '_' and '.', starting with a letter or digit",
        )


def _provider_for(edit: ProfileEdit, old: dict[str, Any] | None) -> str:
    """--provider, or the existing profile's; changing an existing profile's provider takes --replace (its
    settings belong to the old provider, and mixing the two would not load)."""
    current = old.get("provider") if old else None
    if edit.provider is not None:
        if edit.provider not in PROVIDER_NAMES:
            raise UsageError(f"unknown provider {edit.provider!r}", f"--provider is one of: {names_text()}")
        if current is not None and current != edit.provider and not edit.replace:
            raise UsageError(
                f"profile {edit.name!r} is a {current} profile, not {edit.provider}",
                f"add --replace to write it afresh as a {edit.provider} profile (its current settings go)",
            )
        return edit.provider
    if old is None:
        raise UsageError(
            f"profile {edit.name!r} is new: give its provider",
            f"e.g. callplay profiles add {edit.name} --provider {PROVIDER_NAMES[0]} --from-env ({names_text()})",
        )
    if not isinstance(current, str) or current not in PROVIDER_NAMES:
        raise UsageError(
            f"profile {edit.name!r} has no valid provider ({current!r})",
            f"give --provider ({names_text()}) with --replace",
        )
    return current


def _valid_keys(model: type[BaseModel]) -> list[str]:
    return [*model.model_fields, *(key + ENV_SUFFIX for key in model.model_fields)]


def _unknown_key(key: str, model: type[BaseModel], provider: str) -> UsageError:
    if key == "provider":
        return UsageError("the provider is not a --set KEY", "give --provider NAME (with --replace to change it)")
    return UsageError(
        f"unknown setting {key!r} for {provider}",
        f"valid settings: {', '.join(model.model_fields)} (or SETTING{ENV_SUFFIX} naming an environment variable)",
    )


def _given_values(edit: ProfileEdit, model: type[BaseModel], provider: str) -> dict[str, _Given]:
    """The values to write, typed per the model: --from-env's first, then --set's (a flag wins, as it does
    over the environment everywhere else); a setting and its `_env` twin are one setting."""
    flags: dict[str, _Given] = {}
    for key, text in edit.settings:
        if key not in _valid_keys(model):
            raise _unknown_key(key, model, provider)
        if _twin(key) in flags:
            raise UsageError(f"--set gives both {key} and {_twin(key)}", f"give one of them for {_setting(key)}")
        flags[key] = _Given(_typed(model, key, text, f"--set {key}=..."), "flag")
    env = _from_env(model, provider) if edit.from_env else {}
    env = {k: g for k, g in env.items() if k not in flags and _twin(k) not in flags}
    return {**env, **flags}


def _from_env(model: type[BaseModel], provider: str) -> dict[str, _Given]:
    found: dict[str, _Given] = {}
    for key in model.model_fields:
        name = config.env_override_name(key)
        if os.environ.get(name):
            found[key] = _Given(_typed(model, key, os.environ[name], name), f"env:{name}")
    if not found:
        example = config.env_override_name(next(iter(model.model_fields)))
        raise UsageError(
            f"--from-env: no CALLPLAY_<SETTING> variable for a {provider} setting is set",
            f"export them first (e.g. {example}=...); settings: {', '.join(model.model_fields)}",
        )
    return found


def _typed(model: type[BaseModel], key: str, text: str, where: str) -> Any:
    """`text` as the model types the setting (10 -> 10.0 for a float, true -> True): TOML keeps the type,
    so the file reads back as what was meant. The model's limits are checked later, on the whole profile."""
    if key.endswith(ENV_SUFFIX) and key not in model.model_fields:
        if not ENV_VAR_NAME.fullmatch(text):
            raise ConfigError(
                f"{key}: {text!r} is not an environment variable name",
                f"fix {where}: e.g. {key}={_setting(key).upper()}",
            )
        return text
    try:
        return TypeAdapter(model.model_fields[key].annotation or Any).validate_python(text)
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"])
        shown = config.mask(text) if config.is_secret(model, key) else repr(text)  # never a secret, even a bad one
        raise ConfigError(f"{key}: {shown}: {reason}", f"fix {where}; nothing was written") from None


def _removed_keys(
    edit: ProfileEdit, model: type[BaseModel], provider: str, old: dict[str, Any], given: dict[str, _Given]
) -> set[str]:
    """--unset's keys (any the table has, so that a typo can go too) and the `_env` twin of each given key."""
    removable = set(_valid_keys(model)) | (set(old) - {"provider"})
    remove: set[str] = set()
    for key in edit.unset:
        if key not in removable:
            raise _unknown_key(key, model, provider)
        if key in given:
            raise UsageError(f"--set and --unset both name {key}", f"give {key} once")
        remove.add(key)
    return remove | {_twin(key) for key in given if _twin(key) in old}


def _check_table(
    name: str, model: type[BaseModel], table: dict[str, Any], given: dict[str, _Given], path: Path
) -> None:
    """Refuse (exit 3, nothing written) a profile that would not load: a key the provider does not have,
    a value out of range, a required setting missing (one named by `<setting>_env` counts as given)."""
    unknown = sorted(set(table) - set(_valid_keys(model)) - {"provider"})
    if unknown:
        raise ConfigError(
            f"profile {name!r} in {path}: unknown setting(s) {', '.join(unknown)}",
            f"remove them with --unset {unknown[0]}",
        )
    values = {k: v for k, v in table.items() if k in model.model_fields}
    try:
        model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "missing" and key + ENV_SUFFIX in table:
                continue
            message = str(error["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"profile {name!r}: {key}: {message}", _fix_hint(key, given, error["type"])) from None


def _fix_hint(key: str, given: dict[str, _Given], kind: str) -> str:
    if kind == "missing":
        return f"add --set {key}=VALUE, or --set {key}{ENV_SUFFIX}=VARIABLE to read it from the environment"
    source = given[key].source if key in given else None
    if source == "flag":
        return f"fix --set {key}=...; nothing was written"
    if source:
        return f"fix {source.removeprefix('env:')}; nothing was written"
    return f"fix {key} with --set {key}=VALUE (or --unset {key}); nothing was written"


def _keep_default(document: ConfigDocument, edit: ProfileEdit, before: list[str]) -> None:
    """--default names the profile; otherwise the default stays what it was. A file with one profile and
    no default_profile uses that one: adding a second would leave it with none, so it is written down."""
    from callplay import config_write

    if edit.make_default:
        config_write.set_default(document, edit.name)
    elif not document.doc.get("default_profile") and len(before) == 1 and before[0] != edit.name:
        config_write.set_default(document, before[0])


def _view(
    name: str, model: type[BaseModel], table: dict[str, Any], given: dict[str, _Given], document: ConfigDocument
) -> ProfileView:
    """What was written, secrets masked, each value with where it came from (kept ones: the file)."""
    from callplay.model import ProfileValue, ProfileView

    path = document.path
    values: list[ProfileValue] = []
    warnings: list[str] = []
    for key, value in table.items():
        if key == "provider":
            continue
        secret = key in model.model_fields and config.is_secret(model, key)
        source = given[key].source if key in given else f"file:{path}"
        values.append(ProfileValue(key, config.mask(value) if secret else value, source, secret))
        if secret and source == "flag":
            warnings.append(
                f"{key} given with --set is now in your shell history: next time, "
                f"use --from-env with {config.env_override_name(key)} set"
            )
    data = document.doc.unwrap()
    default = config.safe_default_name(config.ConfigFile(path, data, True))
    return ProfileView(name, str(table["provider"]), str(path), default == name, values, warnings)


def _twin(key: str) -> str:
    """endpoint <-> endpoint_env: the two ways of giving one setting."""
    return key.removesuffix(ENV_SUFFIX) if key.endswith(ENV_SUFFIX) else key + ENV_SUFFIX


def _setting(key: str) -> str:
    return key.removesuffix(ENV_SUFFIX)
