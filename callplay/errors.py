"""Errors that end a command, and the exit codes they map to.

Every failure a user can cause or meet (bad input, a provider's refusal, a network fault) is raised as a
CallplayError: the CLI prints its one-line message and hint on stderr and exits with its code. Anything
else is a bug and exits 1 (with a traceback only when CALLPLAY_DEBUG=1).
"""

from __future__ import annotations

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


class CallplayError(Exception):
    """A failure with a stable machine code, a one-line message, a hint and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR
    code: str = "error"

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
