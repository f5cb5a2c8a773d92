"""The provider registry: the ONE list of providers callplay knows.

Every other list derives from `REGISTRY`: profile validation, the audio targets of `validate-audio` and
`convert`, completion choices, help strings, the docs' tables (tests/test_registry.py checks them all, and
the emulator's faces, which keep their own list on purpose). Adding a provider is its new modules plus one
line here: see docs/adding-a-provider.md.

Importing this module is cheap (no pydantic, no SDK): the backend and facts modules are imported on demand.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, cast

from callplay.errors import ConfigError

if TYPE_CHECKING:
    from callplay.providers.base import Provider
    from callplay.providers.facts import ProviderFacts


@dataclass(frozen=True)
class ProviderEntry:
    """One provider. Its modules follow the names: `callplay.providers.NAME` (the backend class),
    `callplay.providers.facts.NAME` (its limits and formats), `callplay.emulator.NAME` (the emulator face),
    `callplay.events.NAME` (its callback parser) and `docs/NAME.md`."""

    name: str  # `provider = "NAME"` in a profile, `--target NAME`, the emulator face NAME
    backend_class: str  # the Provider class in callplay.providers.NAME

    @property
    def backend(self) -> str:
        return f"callplay.providers.{self.name}:{self.backend_class}"

    @property
    def facts(self) -> str:
        return f"callplay.providers.facts.{self.name}"


REGISTRY: tuple[ProviderEntry, ...] = (
    ProviderEntry("acs", "AcsProvider"),
    ProviderEntry("signalwire", "SignalWireProvider"),
    ProviderEntry("vonage", "VonageProvider"),
    ProviderEntry("chime", "ChimeProvider"),
)

PROVIDER_NAMES: tuple[str, ...] = tuple(entry.name for entry in REGISTRY)
PROVIDERS: dict[str, ProviderEntry] = {entry.name: entry for entry in REGISTRY}


def entry(name: str) -> ProviderEntry:
    """The registry entry for `name`; an unknown name lists the valid ones (exit 3)."""
    found = PROVIDERS.get(name)
    if found is None:
        raise ConfigError(f"unknown provider {name!r}", f"valid providers: {', '.join(PROVIDER_NAMES)}")
    return found


def provider_class(name: str) -> type[Provider]:
    """The Provider class for `name` (importing its module, not its SDK)."""
    module_name, _, cls_name = entry(name).backend.partition(":")
    return cast("type[Provider]", getattr(importlib.import_module(module_name), cls_name))


@cache
def provider_facts(name: str) -> ProviderFacts:
    """`name`'s limits and formats."""
    module = importlib.import_module(entry(name).facts)
    return cast("ProviderFacts", module.FACTS)


def all_facts() -> tuple[ProviderFacts, ...]:
    return tuple(provider_facts(name) for name in PROVIDER_NAMES)


def names_text(extra: tuple[str, ...] = (), sep: str = ", ") -> str:
    """'acs, signalwire, vonage, chime' (plus extras such as 'all'), for help strings and hints."""
    return sep.join((*PROVIDER_NAMES, *extra))
