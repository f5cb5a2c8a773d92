"""A usage error found by click (missing argument, unknown option, bad value, unknown command): told like every
other callplay error, an `error:` line and a `hint:` line (with the usage) on stderr, exit 2, and with `-o json`
(or CALLPLAY_OUTPUT=json) the error envelope on stdout (`-o jsonl`: the same envelope as one line), so that a
script reading stdout gets an answer on every failure.

Click stops before it has parsed `--output`, so the format is read from the arguments as they were given.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from callplay.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from callplay.output import OutputMode

OUTPUT_ENV = "CALLPLAY_OUTPUT"


def report_usage_error(err: Exception, args: Sequence[str]) -> int:
    """Tell `err` (a click exception) on stderr, and as the envelope on stdout in JSON mode; the exit code."""
    from callplay import output

    ctx = getattr(err, "ctx", None)
    path = _command_path(ctx)
    if _is_missing_command(err):
        print(getattr(err, "format_message", lambda: "")(), file=sys.stderr)  # the group's help: its commands
    mode = envelope_mode(args) if _speaks_json(ctx) else "table"
    output.render_error(path, usage_error(err, ctx, path), mode)
    return int(getattr(err, "exit_code", ExitCode.USAGE))


def usage_error(err: Exception, ctx: Any, path: str) -> UsageError:
    """Click's message in callplay's style; the hint gives the usage line and where the full help is."""
    help_command = " ".join(["callplay", path]).strip()
    if _is_missing_command(err):
        return UsageError("missing command", f"choose one of the commands above (`{help_command} --help`)")
    message = str(getattr(err, "format_message", lambda: str(err))()).strip().removesuffix(".")
    if message[:1].isupper() and message[1:2].islower():  # "Missing argument" -> "missing argument"
        message = message[0].lower() + message[1:]
    usage = " ".join(str(ctx.get_usage()).split()).removeprefix("Usage: ") if ctx is not None else help_command
    return UsageError(message, f"usage: {usage} (`{help_command} --help` for more)")


def output_format(args: Sequence[str]) -> str | None:
    """The last --output/-o value among `args` (before `--`), else $CALLPLAY_OUTPUT, else None."""
    found: str | None = None
    words = iter(args)
    for word in words:
        if word == "--":
            break
        if word in ("-o", "--output"):
            found = next(words, found)
        elif word.startswith("--output="):
            found = word.partition("=")[2]
        elif word.startswith("-o") and not word.startswith("--"):
            found = word[2:]  # -ojson
    return found if found is not None else os.environ.get(OUTPUT_ENV)


def envelope_mode(args: Sequence[str]) -> OutputMode:
    """How a usage error is told: json and jsonl print the envelope (jsonl as its one line), else no envelope."""
    fmt = output_format(args)
    return "json" if fmt == "json" else "jsonl" if fmt == "jsonl" else "table"


def _is_missing_command(err: Exception) -> bool:
    # click's NoArgsIsHelpError (a group run with nothing after it); its message is the group's whole help.
    return type(err).__name__ == "NoArgsIsHelpError"


def _speaks_json(ctx: Any) -> bool:
    """Whether the command that failed has an output format (a group: the command is not known yet)."""
    if ctx is None:
        return True
    command = ctx.command
    return hasattr(command, "commands") or any(param.name == "output" for param in command.params)


def _command_path(ctx: Any) -> str:
    """The command as the envelope names it ("play", "events listen"); "" before a command was found."""
    if ctx is None:
        return ""
    root = ctx.find_root().info_name or ""
    return str(ctx.command_path)[len(root) :].strip()
