"""Errors that end a command, and the exit codes they map to.

Every failure a user can cause or meet (bad input, a provider's refusal, a network fault) is raised as a
CallplayError: the CLI prints its one-line message and hint on stderr and exits with its code. Anything
else is a bug and exits 1 (with a traceback only when CALLPLAY_DEBUG=1).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented exit codes (README, "Exit codes"); one test covers each."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    UNSUPPORTED = 4
    REJECTED = 5
    UNAVAILABLE = 6
    AUDIO_INVALID = 7
    INTERRUPTED = 130


# The exit code of a command over many calls: the most severe of its calls' codes, in this order (README, "Exit
# codes"). An interrupt ends the run whatever else happened, and a bug (1) is never hidden behind a refusal. Then
# what would fail every call alike and is the user's to fix (usage, configuration, an unsupported request, audio
# no provider plays) before what one call met at the provider (a refusal, then an outage, which a retry may cure).
SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.INTERRUPTED,
    ExitCode.ERROR,
    ExitCode.USAGE,
    ExitCode.CONFIG,
    ExitCode.UNSUPPORTED,
    ExitCode.AUDIO_INVALID,
    ExitCode.REJECTED,
    ExitCode.UNAVAILABLE,
)


def most_severe(codes: Iterable[int]) -> ExitCode:
    """The code that ends a run whose calls ended with `codes`: OK when all are 0, else the first of SEVERITY
    among them (a code not listed there counts as ERROR)."""
    seen = {ExitCode(c) if c in ExitCode._value2member_map_ else ExitCode.ERROR for c in codes if c}
    return next((code for code in SEVERITY if code in seen), ExitCode.OK)


class CallplayError(Exception):
    """A failure with a stable machine code, a one-line message, a hint and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR
    code: str = "error"
    # What the failure was about (the call, the profile): the `data` of its JSON envelope (core.session.about).
    data: dict[str, Any] | None = None

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        code: str | None = None,
        exit_code: ExitCode | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code
        self.detail: dict[str, Any] = detail or {}

    def reworded(self, message: str, exit_code: ExitCode | None = None) -> CallplayError:
        """The same error (class, code, hint, detail) told with another message: a summary that names what
        it was about (a fan-out's first failed call) keeps the code scripts match on."""
        import copy

        other = copy.copy(self)
        other.args = (message,)
        other.message = message
        if exit_code is not None:
            other.exit_code = exit_code
        return other

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "hint": self.hint}
        if self.detail:
            out["detail"] = self.detail
        return out


class UsageError(CallplayError):
    exit_code = ExitCode.USAGE
    code = "usage"


class ConfigError(CallplayError):
    exit_code = ExitCode.CONFIG
    code = "config"


class UnsupportedError(CallplayError):
    """The provider cannot do what was asked; the message names it and the alternative."""

    exit_code = ExitCode.UNSUPPORTED
    code = "unsupported"


class ProviderRejected(CallplayError):
    """The provider (or the emulator) answered with a 4xx, or reported that the playback failed."""

    exit_code = ExitCode.REJECTED
    code = "rejected"


class ProviderUnavailable(CallplayError):
    """5xx, timeout, connection refused, TLS failure: the request may not have been carried out."""

    exit_code = ExitCode.UNAVAILABLE
    code = "unavailable"


class AudioInvalid(CallplayError):
    exit_code = ExitCode.AUDIO_INVALID
    code = "audio_invalid"


class Interrupted(CallplayError):
    exit_code = ExitCode.INTERRUPTED
    code = "interrupted"
