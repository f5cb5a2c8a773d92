"""`events listen`: the receiver in the foreground, a row per event, until --count, --timeout or Ctrl-C.

Every provider's path is authenticated. Its callbacks are checked against the token or signing secret of
every profile in the config that names the provider (any one may match: several accounts can post to one
listener), or of the one profile `--profile` names. A path with no secret to check refuses every post (401)
unless `--allow-unsigned PROVIDER` says to take its callbacks unchecked. A token provider always has a secret:
callplay mints one per profile when the profile sets none (core/callbacks.py) - except on a shared ledger.

As a service (several replicas behind a load balancer, docs/deploy.md) the receiver keeps nothing a replica
needs from another: events and replay keys are in the ledger, and nothing is kept in memory. The one piece of
local state is a minted callback token (a file in this machine's state dir): with a shared ledger (PostgreSQL)
another replica would mint another one, so then a token provider's profile must set its token (a setting or
its *_env variable), and one that does not is left out with a warning instead of minting. A signal (SIGTERM,
Ctrl-C) is how a service is told to stop: the listener stops accepting, lets the requests in flight finish
(up to SHUTDOWN_GRACE_S) and ends normally (exit 0); a second signal stops it at once (exit 130).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from callplay import interrupts
from callplay.config import profile_list, resolve_profile
from callplay.core.callbacks import profile_secret
from callplay.errors import ConfigError, Interrupted, UsageError
from callplay.events import service_log
from callplay.events.receiver import EventReceiver
from callplay.ledger import Ledger
from callplay.model import Event
from callplay.providers import PROVIDER_NAMES, names_text, provider_class

log = logging.getLogger("callplay.events")
# How long a stopping listener lets the requests in flight finish (a callback is answered in milliseconds;
# a sender trickling its body is cut off after this). docs/deploy.md sets systemd's TimeoutStopSec above it.
SHUTDOWN_GRACE_S = 10.0


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
    stopped: str = "timeout"  # count | timeout | signal: why the listener ended

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "rejected": self.rejected,
            "urls": self.urls,
            "paths": self.paths,
            "stopped": self.stopped,
        }

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
    log_format: service_log.LogFormat = "text",
) -> ListenResult:
    unknown = sorted(set(allow_unsigned) - set(PROVIDER_NAMES))
    if unknown:
        raise UsageError(f"--allow-unsigned {unknown[0]!r} is not a provider", f"one of: {names_text()}")
    ledger = Ledger.default()
    found = listener_secrets(profile, shared=ledger_is_shared(ledger))
    tally = _Tally(on_event)
    receiver = EventReceiver(
        ledger,
        host=host,
        port=port,
        secrets=found.secrets,
        allow_unsigned=allow_unsigned,
        on_event=tally,
        keep_events=False,
        own_logging=log_format == "json",
    )
    known = frozenset(s for values in found.secrets.values() for s in values)
    with service_log.installed(log_format, known):
        return _serve(receiver, found, tally, count=count, timeout=timeout, on_ready=on_ready, log_format=log_format)


def _serve(
    receiver: EventReceiver,
    found: ListenerSecrets,
    tally: _Tally,
    *,
    count: int | None,
    timeout: float | None,
    on_ready: Callable[[ListenReady], None],
    log_format: service_log.LogFormat,
) -> ListenResult:
    deadline = None if timeout is None else time.monotonic() + timeout
    stopped = "signal"
    try:  # from the moment it may accept a callback: a signal from here on is a graceful stop
        # Signals are noted, not raised, while it starts and serves: raised into the imports below they
        # would come out as other errors (or be lost); the loop sees one within 0.1 s.
        with interrupts.deferred():

            def ready() -> None:
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
                warnings = [*_exposure_warning(receiver.host, paths), *found.warnings]
                on_ready(ListenReady(paths, warnings))
                _log_ready(receiver, paths, warnings, log_format)

            # Told once its port listens and before a callback is served: the log's first line is `ready`.
            receiver.start(before_serving=ready)
            stopped = _until_stopped(tally, count, deadline)
    except KeyboardInterrupt:  # from a handler not ours (a test runner's, in-process): `stopped` stays "signal"
        pass
    except BaseException:  # a failure of our own (a closed stdout, say): nothing to finish gracefully for
        receiver.force_stop()
        raise
    if stopped == "signal":
        log.info("stopping: finishing the requests in flight", extra={"event": "stopping"})
    _stop(receiver, tally)
    counts = {"received": tally.count, "rejected": receiver.rejected}
    log.info(
        "stopped (%s) after %d event(s), %d refused",
        stopped,
        tally.count,
        receiver.rejected,
        extra={"event": "stopped", **counts},
    )
    # From the receiver, not from `paths`: a signal may have come before they were made.
    urls = {name: receiver.url(name) for name in PROVIDER_NAMES}
    modes = {name: receiver.mode(name) for name in PROVIDER_NAMES}
    return ListenResult(tally.count, receiver.rejected, urls, modes, stopped)


def _until_stopped(tally: _Tally, count: int | None, deadline: float | None) -> str:
    """Serve until --count events, the --timeout deadline or a signal; which of them it was."""
    while not interrupts.pending():
        if count is not None and tally.count >= count:
            return "count"
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        time.sleep(0.1)
    interrupts.clear()  # handled: only a second signal from here on means "at once"
    return "signal"


def _stop(receiver: EventReceiver, tally: _Tally) -> None:
    """Stop gracefully; a second signal meanwhile stops at once, and that is an interruption (exit 130)."""
    try:
        interrupts.raise_if_pending()  # a second one while the handlers were being put back
        receiver.stop(grace=SHUTDOWN_GRACE_S)
    except KeyboardInterrupt:
        receiver.force_stop()
        log.info("stopped at once: a second signal", extra={"event": "stopped", "received": tally.count})
        raise Interrupted(
            f"stopped at once after {tally.count} event(s): requests in flight were not finished",
            "their senders retry them; one signal stops the listener gracefully",
        ) from None


class _Tally:
    """The on_event the receiver calls for each event it records (from its worker threads): counts it (for
    --count and the result), logs it, and hands it on to the printer."""

    def __init__(self, then: Callable[[Event], None] | None) -> None:
        self.then = then
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.count += 1
        fields = {k: getattr(event, k) for k in ("provider", "control_id", "call_id", "type", "state")}
        log.info("recorded %s %s", event.provider, event.type, extra={"event": "recorded", **fields})
        if self.then is not None:
            self.then(event)


def _log_ready(receiver: EventReceiver, paths: list[PathInfo], warnings: list[str], log_format: str) -> None:
    if log_format != "json":  # the text banner has said it all
        return
    modes = {p.provider: p.mode for p in paths}
    where = {"host": receiver.host, "port": receiver.port, "paths": modes}
    log.info("listening on %s:%s", receiver.host, receiver.port, extra={"event": "ready", **where})
    for warning in warnings:
        log.warning("%s", warning, extra={"event": "warning"})


def _exposure_warning(host: str, paths: list[PathInfo]) -> list[str]:
    """One line when the listener is reachable from other machines: what guards each path."""
    if _is_local(host):
        return []
    unchecked = [p.provider for p in paths if p.mode == "unchecked"]
    guard = (
        f"paths taken unchecked: {', '.join(unchecked)}"
        if unchecked
        else "every open path checks its provider's token or signature"
    )
    return [f"--host {host} is reachable from other machines: callbacks must be authenticated ({guard})"]


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def ledger_is_shared(ledger: Ledger) -> bool:
    """Whether other machines may use this ledger (Ledger.shared)."""
    return ledger.shared


def listener_secrets(profile: str | None, *, shared: bool = False) -> ListenerSecrets:
    """The secrets each provider's callbacks are checked with: from the one profile named, or from every
    profile in the config (a profile that does not resolve is skipped with a warning). The setting is the
    provider's declared `callback_secret_setting`; a token provider's minted token counts, unless the ledger
    is `shared`: then each replica would have its own, so the profile is left out with a warning."""
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
        if shared and caps.callback_auth == "url_token" and not resolved.get(setting or ""):
            found.warnings.append(_local_token_warning(name, resolved.provider, setting))
            continue
        secret = profile_secret(resolved, caps)
        if secret:
            found.secrets.setdefault(resolved.provider, []).append(secret)
            found.profiles.setdefault(resolved.provider, []).append(name)
    return found


def _local_token_warning(profile: str, provider: str, setting: str | None) -> str:
    return (
        f"profile {profile}: its {provider} callbacks are refused: no {setting} is set, and a token minted in "
        f"this machine's state dir would differ between replicas of a shared ledger (set {setting}, or "
        f"{setting}_env naming a variable, the same for every replica)"
    )
