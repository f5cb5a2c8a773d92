"""The Typer app and `main`, the entry point. Wiring only: each command lives in its own module and registers
itself here.

Nothing imported here may import a provider SDK (tests check `callplay --help` with -X importtime).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

from callplay import __version__

app = typer.Typer(
    name="callplay",
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
) -> None:
    """callplay: play audio into live phone calls and control the playback."""


COMMAND_MODULES = ("play", "control", "status", "audio", "events", "profiles", "emulator", "chime", "completions")
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
    "validate-audio": "audio",
    "convert": "audio",
    "events": "events",
    "profiles": "profiles",
    "emulator": "emulator",
    "chime": "chime",
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


def _sigterm(signum: int, frame: object) -> None:
    # SIGTERM is handled like Ctrl-C so a looping playback is stopped on the call before we exit 130.
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """The SIGTERM handler for the length of one main() call; the previous one is back afterwards."""
    try:
        previous: Any = signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # main() called off the main thread: signals are not ours to take there
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


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

    With argv=None main() is the process's entry point (the console script, `python -m callplay`): a command
    that asked for it (validate-audio, convert) then ends the process with os._exit, skipping interpreter
    teardown. Called with a list, main() leaves the process as it was: no exit, no signal handler, no hook.
    """
    from callplay.cli import options

    entry = argv is None
    args = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
    options.reset_teardown()
    register_for(args)
    excepthook = sys.excepthook  # Typer installs its own on every call
    try:
        with _sigterm_as_interrupt():
            # standalone_mode: click prints usage errors (exit 2) and "Aborted!" itself, as for a console
            # script; every ending then arrives here as SystemExit. For the real process Typer reads sys.argv
            # and detects the program name itself (and expands wildcards on Windows, as cmd.exe does not);
            # an in-process call is "callplay" in usage lines.
            if entry:
                app(standalone_mode=True)
            else:
                app(args=args, prog_name="callplay", standalone_mode=True)
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    except typer.Exit as done:
        code = done.exit_code
    except KeyboardInterrupt:  # one that got past the command and Typer (they turn theirs into exit 130)
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sys.excepthook = excepthook
    if entry:
        options.end_now_if_asked(code)
    return code
