"""A command's session: the resolved profile, its provider, the ledger, and the embedded demo emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callplay.config import Profile, resolve_profile
from callplay.errors import ConfigError
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
    profile = resolve_profile(profile_name)
    emulator = _embedded_emulator(profile)
    provider: Provider | None = None
    try:
        provider = _provider(profile)
        yield Session(profile, provider, Ledger.default(), [*profile.warnings, *provider.warnings])
    finally:
        if provider is not None:
            with suppress(Exception):
                provider.close()
        if emulator is not None:
            emulator.stop()


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
