"""The Typer app. Wiring only: each command lives in its own module and registers itself here.

Nothing imported here may import a provider SDK (tests check `callplay --help` with -X importtime).
"""

from __future__ import annotations

import signal
import sys

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


def register_all() -> None:
    """Every command (help, completions, an unknown word: they must see them all)."""
    for name in COMMAND_MODULES:
        _register_module(name)


def _register_module(name: str) -> None:
    import importlib

    if name not in _registered:
        _registered.add(name)
        importlib.import_module(f"callplay.cli.{name}").register(app)


def _register(argv: list[str]) -> None:
    first = next((arg for arg in argv[1:] if not arg.startswith("-")), None)
    owner = COMMAND_OWNERS.get(first or "")
    if owner is None:
        register_all()
    else:
        _register_module(owner)


_register(sys.argv)


def _sigterm(signum: int, frame: object) -> None:
    # SIGTERM is handled like Ctrl-C so a looping playback is stopped on the call before we exit 130.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit as done:
        from callplay.cli.options import end_now_if_asked

        end_now_if_asked(done.code)
        raise
