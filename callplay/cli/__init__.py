"""The Typer app and `main`, the entry point. Wiring only: each command lives in its own module and registers
itself here.

Nothing imported here may import a provider SDK (tests check `callplay --help` with -X importtime).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import typer

from callplay import __version__, interrupts
from callplay.errors import ExitCode

DEBUG_ENV = "CALLPLAY_DEBUG"

app = typer.Typer(
    name="callplay",
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Play audio into live phone calls (ACS, SignalWire, Vonage, Amazon Chime SDK) and control it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"callplay {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of an unexpected error (CALLPLAY_DEBUG=1); anywhere on the line."
    ),
) -> None:
    """callplay: play audio into live phone calls and control the playback."""


COMMAND_MODULES = (
    "play",
    "control",
    "status",
    "playbacks",
    "audio",
    "events",
    "profiles",
    "emulator",
    "chime",
    "completions",
    "state",
)
# The module behind each top-level command, so that running one command imports (and has Typer build) only
# its own module: start-up is most of `validate-audio --quick` on a CI run.
COMMAND_OWNERS = {
    "play": "play",
    "loop": "play",
    "stop": "control",
    "pause": "control",
    "resume": "control",
    "volume": "control",
    "stream-status": "status",
    "playbacks": "playbacks",
    "validate-audio": "audio",
    "convert": "audio",
    "events": "events",
    "profiles": "profiles",
    "emulator": "emulator",
    "chime": "chime",
    "state": "state",
}
_registered: set[str] = set()
# Which module added each command and group (by id): registration can happen in any order within one process
# (one command, then --help), and Typer lists commands in the order they were added.
_owner_rank: dict[int, int] = {}


def register_all() -> None:
    """Every command (help, completions, an unknown word: they must see them all)."""
    for name in COMMAND_MODULES:
        _register_module(name)


def register_for(args: Sequence[str]) -> None:
    """What running `callplay ARGS` needs: the first word's own module, or every module. Idempotent."""
    first = next((arg for arg in args if not arg.startswith("-")), None)
    owner = COMMAND_OWNERS.get(first or "")
    if owner is None:
        register_all()
    else:
        _register_module(owner)


def _register_module(name: str) -> None:
    import importlib

    if name in _registered:
        return
    before = len(app.registered_commands), len(app.registered_groups)
    importlib.import_module(f"callplay.cli.{name}").register(app)
    _registered.add(name)  # only once it worked: a module that failed to import is tried again next call
    rank = COMMAND_MODULES.index(name)
    for info in [*app.registered_commands[before[0] :], *app.registered_groups[before[1] :]]:
        _owner_rank[id(info)] = rank
    # The order a process that registered everything at once would have, whatever came first here.
    app.registered_commands.sort(key=lambda info: _owner_rank.get(id(info), -1))
    app.registered_groups.sort(key=lambda info: _owner_rank.get(id(info), -1))


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM is handled like Ctrl-C so a looping playback is stopped on the call before we exit 130.
    interrupts.note()  # in case Python drops the exception below (it does inside some callbacks)
    raise KeyboardInterrupt


def _signals_as_interrupt() -> AbstractContextManager[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt for the length of one main() call (the core stops what it
    started on one); the previous handlers are back afterwards (callplay._entry's, or a test runner's)."""
    return interrupts.handled_by(_interrupt)


def _exit_code(code: object) -> int:
    """A SystemExit code as the process would report it (None is 0; a message is printed and is 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run callplay with `argv` (default: this process's arguments) and return the exit code.

    With argv=None main() is the process's entry point (callplay._entry, for the console script and
    `python -m callplay`): a command that asked for it (validate-audio, convert) then ends the process with
    os._exit, skipping interpreter teardown. Called with a list, main() leaves the process as it was: no exit,
    no signal handler, no hook.
    """
    from callplay.cli import options

    entry = argv is None
    args = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
    options.reset_teardown()
    interrupts.clear()
    _forget_reported()
    excepthook = sys.excepthook  # Typer installs its own on every call
    try:
        with _signals_as_interrupt():
            code = _run(args, entry)
    except KeyboardInterrupt:  # one that got past the command and Typer
        code = int(ExitCode.INTERRUPTED)
    except Exception:
        if not interrupts.pending():
            raise
        code = int(ExitCode.INTERRUPTED)  # a Ctrl-C raised into an import, come out as another error
    finally:
        sys.excepthook = excepthook
    if code == ExitCode.INTERRUPTED and not _interrupt_reported():
        print("error: interrupted", file=sys.stderr)  # Typer ends an interrupt outside a command silently
    if entry:
        options.end_now_if_asked(code)
    return code


def _run(args: list[str], entry: bool) -> int:
    """Global options moved to after the command (callplay.cli.globalopts), then the app, under --debug."""
    from callplay.cli import globalopts
    from callplay.errors import UsageError

    try:
        leading = globalopts.take_leading(args)
        register_for(leading.rest)
        given, debug = globalopts.rewrite(args, leading, _command())
    except UsageError as err:
        from callplay import output
        from callplay.cli.usage import envelope_mode

        output.render_error("", err, envelope_mode(args))
        return int(ExitCode.USAGE)
    saved = os.environ.get(DEBUG_ENV)
    if debug:
        os.environ[DEBUG_ENV] = "1"
    try:
        return _invoke(given, entry and given == args, args)
    finally:
        if debug and not entry:  # an in-process caller gets its environment back
            if saved is None:
                os.environ.pop(DEBUG_ENV, None)
            else:
                os.environ[DEBUG_ENV] = saved


def _invoke(args: list[str], entry: bool, typed: Sequence[str]) -> int:
    """The app, not in click's standalone mode: a usage error comes here, to be told in the output format the
    user `typed` (`args` has the global options moved after the command, or dropped when there is none)."""
    try:
        # For the real process Typer reads sys.argv and detects the program name itself (and expands wildcards
        # on Windows, as cmd.exe does not); an in-process call is "callplay" in usage lines.
        named: dict[str, Any] = {} if entry else {"args": args, "prog_name": "callplay"}
        result = _command().main(standalone_mode=False, **named)
    except SystemExit as done:
        return _exit_code(done.code)
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:  # Typer's answer to an EOFError outside a command's run(): callplay never prompts
        print("error: unexpected end of input\nhint: callplay never prompts: this is a bug, report it", file=sys.stderr)
        return int(ExitCode.ERROR)
    except Exception as err:
        # click's own: usage errors (missing argument, bad value, ...). By shape, not class: typer 0.28 raises
        # its vendored click's, earlier versions click's.
        if getattr(err, "exit_code", None) is None or not callable(getattr(err, "format_message", None)):
            raise
        from callplay.cli.usage import report_usage_error

        return report_usage_error(err, typed)
    # Not standalone, Typer returns the exit code a command raised with typer.Exit, or what it returned (None).
    return result if isinstance(result, int) else 0


_built: dict[tuple[str, ...], Any] = {}


def _command() -> Any:
    """The click command Typer builds from the app, built once per set of registered modules: building it
    evaluates every parameter of every registered command (about 20 ms with all of them), and an in-process
    caller (tests, a runbook runner) calls main() many times. Typer's own app() would rebuild it every call."""
    key = tuple(sorted(_registered))
    command = _built.get(key)
    if command is None:
        from callplay.cli.helptext import polish

        command = _built[key] = polish(typer.main.get_command(app))
    return command


def _forget_reported() -> None:
    output = sys.modules.get("callplay.output")
    if output is not None:
        output.forget_reported()


def _interrupt_reported() -> bool:
    output = sys.modules.get("callplay.output")
    return output is not None and bool(output.was_reported("interrupted"))
