"""profiles check: prove a profile's credentials with one harmless authenticated read through its provider."""

from __future__ import annotations

from callplay.core.session import session
from callplay.errors import ProviderRejected, ProviderUnavailable
from callplay.model import CheckResult


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
