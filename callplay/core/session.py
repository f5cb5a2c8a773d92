"""A command's session: the resolved profile, its provider, the ledger, and the embedded demo emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callplay.config import Profile, resolve_profile
from callplay.errors import CallplayError, ConfigError
from callplay.ledger import Ledger
from callplay.providers import provider_class
from callplay.providers.base import Capabilities, Provider

if TYPE_CHECKING:
    from callplay.emulator.app import EmulatorServer


@dataclass
class Session:
    profile: Profile
    provider: Provider
    ledger: Ledger
    warnings: list[str] = field(default_factory=list)  # the profile's and the provider's, for every result

    @property
    def caps(self) -> Capabilities:
        return self.provider.capabilities


@contextmanager
def session(profile_name: str | None) -> Iterator[Session]:
    """The session of profile `profile_name` (None: the default one). A CallplayError raised in it names the
    profile in its envelope's data (`about`); one raised while resolving the profile does not: there is none."""
    profile = resolve_profile(profile_name)
    emulator: EmulatorServer | None = None
    provider: Provider | None = None
    try:
        emulator = _embedded_emulator(profile)
        provider = _provider(profile)
        yield Session(profile, provider, Ledger.default(), [*profile.warnings, *provider.warnings])
    except CallplayError as err:
        about(err, profile=profile.name)
        raise
    finally:
        if provider is not None:
            with suppress(Exception):
                provider.close()
        if emulator is not None:
            emulator.stop()


@contextmanager
def about_call(call_id: str) -> Iterator[None]:
    """A CallplayError raised in this block names `call_id` in its envelope's data (`about`)."""
    try:
        yield
    except CallplayError as err:
        about(err, call_id=call_id)
        raise


def about(err: CallplayError, **fields: str) -> None:
    """Note what `err` was about (the call, the profile) as the `data` of its JSON envelope, which
    callplay.cli.options.run passes on. The innermost note of a field wins: it is the most specific."""
    # The outer note's fields first (the call before the profile), the inner note's values.
    err.data = {**fields, **(err.data or {})}


def _embedded_emulator(profile: Profile) -> EmulatorServer | None:
    """`endpoint = "embedded"` (the demo profile): start the emulator in this process and point the profile at it."""
    if profile.get("endpoint") != "embedded":
        return None
    from callplay.emulator.serve import start_embedded  # only the demo profile pays for the emulator's import

    emulator = start_embedded(profile)
    profile.settings = profile.settings.model_copy(update={"endpoint": emulator.http_url})
    return emulator


def _provider(profile: Profile) -> Provider:
    try:
        return provider_class(profile.provider)(profile.settings, profile=profile.name)
    except ConfigError as err:
        if profile.warnings:  # e.g. a secret ignored in a world-readable file: that is the real cause
            err.hint = "; ".join([*profile.warnings, err.hint or ""]).strip("; ")
        raise
