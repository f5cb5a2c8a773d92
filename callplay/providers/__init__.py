"""The provider registry: name -> class, imported on demand (the modules import their SDKs lazily too)."""

from __future__ import annotations

import importlib
from typing import Any

from callplay.errors import ConfigError

PROVIDERS: dict[str, str] = {
    "acs": "callplay.providers.acs:AcsProvider",
    "signalwire": "callplay.providers.signalwire:SignalWireProvider",
    "vonage": "callplay.providers.vonage:VonageProvider",
    "chime": "callplay.providers.chime:ChimeProvider",
}


def provider_class(name: str) -> Any:
    """The Provider class for `name`; an unknown name lists the valid ones (exit 3)."""
    target = PROVIDERS.get(name)
    if target is None:
        raise ConfigError(f"unknown provider {name!r}", f"valid providers: {', '.join(sorted(PROVIDERS))}")
    module_name, _, cls_name = target.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)
