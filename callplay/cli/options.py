"""Options shared by several commands, and the one place that turns results and errors into output + exit."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from callplay import interrupts
from callplay.core import fanout_limits as limits
from callplay.errors import CallplayError, ExitCode
from callplay.output import OUTPUT_MODES

if TYPE_CHECKING:
    from callplay.output import OutputMode

# What each --output mode is for (the modes themselves: callplay.output.OUTPUT_MODES).
_MODE_HELP = {
    "table": "for people",
    "json": "one envelope on stdout, for scripts",
    "jsonl": "a JSON line per step as it happens, then the envelope",
}
OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        envvar="CALLPLAY_OUTPUT",
        help="; ".join(f"{mode} ({_MODE_HELP[mode]})" for mode in OUTPUT_MODES) + ".",
        show_default=True,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", envvar="CALLPLAY_PROFILE", help="Profile from the config file (default: its default)."
    ),
]

# Many calls in one command (callplay.core.fanout): play, loop, stop, pause, resume, volume.
CallsOpt = Annotated[
    list[str] | None,
    typer.Option("--call", help="A call, as CALL (repeatable); with more than one call, each gets one request."),
]
CallsFromOpt = Annotated[
    str | None,
    typer.Option(
        "--calls-from", help="Read calls from FILE, one per line (# comments and blank lines ignored); - for stdin."
    ),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        help=f"With many calls: requests in flight at once, 1 to {limits.MAX_CONCURRENCY}.",
        show_default=True,
    ),
]
RateOpt = Annotated[
    float | None,
    typer.Option(
        "--rate",
        help="With many calls: requests per second, retries included (default: the provider's documented limit; "
        f"{limits.NO_RATE_LIMIT:g} = no limit).",
    ),
]


_skip_teardown = False  # set by the command, read by main() when it is the process's entry point


def skip_teardown() -> None:
    """Let main() end the process with os._exit once this command has finished and flushed its output.

    Interpreter teardown frees every object one at a time: after checking 2,000 files that is a tenth of a
    `validate-audio --quick` run. Only for commands that leave no threads, log handlers or unclosed files
    behind (validate-audio, convert), and only when main() is the entry point (never for an in-process call).
    """
    global _skip_teardown
    _skip_teardown = True


def reset_teardown() -> None:
    """Called by main() before each command: a request from an earlier in-process call does not carry over."""
    global _skip_teardown
    _skip_teardown = False


def end_now_if_asked(code: int) -> None:
    """Called by main() with the exit code; returns (letting Python exit normally) unless asked to skip."""
    if not _skip_teardown:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (| head): that output is lost either way
            stream.flush()
    os._exit(code)


def check_output(mode: str) -> str:
    if mode not in OUTPUT_MODES:
        raise CallplayError(
            f"unknown output format {mode!r}",
            "use --output " + ", ".join(OUTPUT_MODES[:-1]) + f" or {OUTPUT_MODES[-1]}",
            code="usage",
            exit_code=ExitCode.USAGE,
        )
    return mode


def output_mode(output: str) -> OutputMode:
    """The mode to render in: the one asked for, or table while an unknown one is reported (check_output)."""
    return next((mode for mode in OUTPUT_MODES if mode == output), "table")


def run(
    command: str, output: str, fn: Callable[[], Any], *, table_view: Callable[[Any], Any] | None = None
) -> NoReturn:
    """Call the core once, render its typed result, exit with the documented code.

    A result may carry `exit_code` (validation reports, failed playbacks): it is rendered in full and the
    envelope says ok=false. A CallplayError becomes one line plus a hint on stderr; anything else is a bug
    and exits 1, with the traceback only under CALLPLAY_DEBUG=1. With -o jsonl the envelope is the stream's
    last line (the only one, for a command that streams nothing). `table_view` picks what the tables show of
    the result (play --wait: not the events its live rows showed already); JSON always carries all of it.
    """
    from callplay import output as out

    mode = output_mode(output)
    try:
        check_output(output)
        with quiet_dropped_interrupts():
            result = fn()
    except CallplayError as err:
        if os.environ.get("CALLPLAY_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        out.render_error(command, err, mode, data=err.data)
        raise typer.Exit(int(err.exit_code)) from None
    except KeyboardInterrupt:
        _interrupted(command, mode)
    except Exception as exc:  # a bug, or a fault we did not foresee: still one line, exit 1
        from callplay.retry import chain

        if interrupts.pending() or any(isinstance(e, KeyboardInterrupt) for e in chain(exc)):
            # A Ctrl-C raised into an import comes out as another error: Python wraps one raised while a class
            # is built (an import's dataclass) in RuntimeError, pydantic-core reports one raised while it builds
            # a model's schema as a SchemaError with the interrupt only in its text. The signal handler noted
            # the signal: still an interrupt, exit 130.
            _interrupted(command, mode)
        if os.environ.get("CALLPLAY_DEBUG") == "1":
            raise
        bug = CallplayError(
            f"unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "),
            "run again with CALLPLAY_DEBUG=1 for the traceback, and report it",
            code="unexpected",
        )
        out.render_error(command, bug, mode)
        raise typer.Exit(int(ExitCode.ERROR)) from None
    code = int(getattr(result, "exit_code", 0) or 0)
    failure = getattr(result, "failure", None)
    failure = failure if isinstance(failure, CallplayError) else None
    for warning in getattr(result, "warnings", None) or []:
        out.warn(warning)
    shown = table_view(result) if table_view is not None and mode == "table" else result
    with out.reader_may_leave():
        out.render(command, shown, mode, ok=code == 0, error=failure)
        sys.stdout.flush()
    if code and failure is not None:
        out.render_error(command, failure, "table")  # the one-line reason on stderr; data is on stdout
    raise typer.Exit(code)


@contextlib.contextmanager
def quiet_dropped_interrupts() -> Iterator[None]:
    """No "Exception ignored in ..." traceback for a KeyboardInterrupt Python dropped.

    A signal that comes while the main thread runs a finalizer (weakref.finalize, __del__: a garbage collection
    can start anywhere) raises its KeyboardInterrupt in there, and Python prints it with a traceback and drops
    it. It is not lost: the handler noted it (callplay.interrupts), and the command acts on it. Other such
    exceptions are printed as before."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _interrupted(command: str, mode: OutputMode) -> NoReturn:
    from callplay import output as out

    stopped = CallplayError("interrupted", None, code="interrupted", exit_code=ExitCode.INTERRUPTED)
    out.render_error(command, stopped, mode)
    raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def fail(command: str, output: str, err: CallplayError) -> NoReturn:
    """Report an argument error found by the CLI itself, the same way as one from the core."""

    def _raise() -> Any:
        raise err

    run(command, output, _raise)
