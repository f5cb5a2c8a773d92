"""`events listen`: the receiver in the foreground, a row per event, until --count, --timeout or Ctrl-C.

Every provider's path is authenticated. Its callbacks are checked against the token or signing secret of
every profile in the config that names the provider (any one may match: several accounts can post to one
listener), or of the one profile `--profile` names. A path with no secret to check refuses every post (401)
unless `--allow-unsigned PROVIDER` says to take its callbacks unchecked. A token provider always has a secret:
callplay mints one per profile when the profile sets none (core/callbacks.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from callplay.config import profile_list, resolve_profile
from callplay.core.callbacks import profile_secret
from callplay.errors import ConfigError, Interrupted, UsageError
from callplay.events.receiver import EventReceiver
from callplay.ledger import Ledger
from callplay.model import Event
from callplay.providers import PROVIDER_NAMES, names_text, provider_class


@dataclass
class PathInfo:
    """How the listener treats one provider's path (in the banner and the JSON ready line; no secrets)."""

    provider: str
    url: str
    mode: str  # verified | unchecked | refused
    auth: str  # url_token | signature (the provider's Capabilities.callback_auth)
    setting: str | None  # the profile setting the secret comes from
    profiles: list[str] = field(default_factory=list)  # the profiles whose secrets are checked

    def describe(self) -> str:
        what = "callback token" if self.auth == "url_token" else "signature"
        if self.mode == "verified":
            return f"verified ({what}; profiles {', '.join(self.profiles)})"
        if self.mode == "unchecked":
            return "UNCHECKED: anyone who can reach it can post events (--allow-unsigned)"
        return (
            f"refused: no {self.setting or 'secret'} to check it with in the profile(s) read "
            f"(--allow-unsigned {self.provider} takes its callbacks unchecked)"
        )


@dataclass
class ListenReady:
    paths: list[PathInfo]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        paths = {p.provider: {k: v for k, v in asdict(p).items() if k != "provider"} for p in self.paths}
        return {"paths": paths, "warnings": self.warnings}

    def banner(self) -> str:
        width = max(len(p.url) for p in self.paths)
        lines = ["listening for provider callbacks (Ctrl-C to stop):"]
        lines += [f"  {p.provider:<10} {p.url:<{width}}  {p.describe()}" for p in self.paths]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class ListenResult:
    received: int
    rejected: int
    urls: dict[str, str]
    paths: dict[str, str] = field(default_factory=dict)  # provider -> mode

    def to_dict(self) -> dict[str, Any]:
        return {"received": self.received, "rejected": self.rejected, "urls": self.urls, "paths": self.paths}

    def to_tables(self) -> list[Any]:
        from callplay.output import TableSpec

        return [TableSpec("Listener", ["received", "rejected"], [[str(self.received), str(self.rejected)]])]


@dataclass
class ListenerSecrets:
    secrets: dict[str, list[str]] = field(default_factory=dict)  # provider -> tokens or signing secrets
    profiles: dict[str, list[str]] = field(default_factory=dict)  # provider -> the profiles they came from
    warnings: list[str] = field(default_factory=list)


def listen(
    *,
    host: str,
    port: int,
    count: int | None,
    timeout: float | None,
    profile: str | None,
    allow_unsigned: Sequence[str] = (),
    on_ready: Callable[[ListenReady], None],
    on_event: Callable[[Event], None] | None,
) -> ListenResult:
    unknown = sorted(set(allow_unsigned) - set(PROVIDER_NAMES))
    if unknown:
        raise UsageError(f"--allow-unsigned {unknown[0]!r} is not a provider", f"one of: {names_text()}")
    found = listener_secrets(profile)
    receiver = EventReceiver(
        Ledger.default(),
        host=host,
        port=port,
        secrets=found.secrets,
        allow_unsigned=allow_unsigned,
        on_event=on_event,
    )
    receiver.start()
    paths = [
        PathInfo(
            name,
            receiver.url(name),
            receiver.mode(name),
            provider_class(name).capabilities.callback_auth,
            provider_class(name).capabilities.callback_secret_setting,
            found.profiles.get(name, []),
        )
        for name in PROVIDER_NAMES
    ]
    on_ready(ListenReady(paths, found.warnings))
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while (count is None or len(receiver.events) < count) and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped listening after {len(receiver.events)} event(s)", None) from None
    finally:
        receiver.stop()
    urls = {p.provider: p.url for p in paths}
    return ListenResult(len(receiver.events), receiver.rejected, urls, {p.provider: p.mode for p in paths})


def listener_secrets(profile: str | None) -> ListenerSecrets:
    """The secrets each provider's callbacks are checked with: from the one profile named, or from every
    profile in the config (a profile that does not resolve is skipped with a warning). The setting is the
    provider's declared `callback_secret_setting`; a token provider's minted token counts."""
    found = ListenerSecrets()
    names = [profile] if profile else [view.name for view in profile_list().profiles]
    for name in names:
        try:
            resolved = resolve_profile(name)
        except ConfigError as err:
            if profile:
                raise
            found.warnings.append(f"profile {name} skipped: {err.message}")
            continue
        caps = provider_class(resolved.provider).capabilities
        setting = caps.callback_secret_setting
        # Only what bears on the secret (e.g. "ignored: the file is readable by others"): the rest is noise here.
        found.warnings += [f"profile {name}: {w}" for w in resolved.warnings if setting and setting in w]
        secret = profile_secret(resolved, caps)
        if secret:
            found.secrets.setdefault(resolved.provider, []).append(secret)
            found.profiles.setdefault(resolved.provider, []).append(name)
    return found
