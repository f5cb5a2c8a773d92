"""`callplay completions bash|zsh|fish`: print the script callplay.completions generates from every command."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from callplay.completions import SHELLS


def script(shell: str) -> str:
    """The completion script for `shell` over the whole app (tests compare completions/ with it)."""
    from callplay import completions

    return completions.script(shell, _command_tree())


def _command_tree() -> Any:
    from callplay.cli import app, register_all
    from callplay.cli.helptext import polish

    register_all()  # `callplay completions` registered only itself
    return polish(typer.main.get_command(app))


def completions(shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", metavar="SHELL")]) -> None:
    """Print a shell completion script for bash, zsh or fish, to save where your shell loads completions."""
    from callplay.cli.options import fail
    from callplay.errors import UsageError

    if shell not in SHELLS:
        fail("completions", "table", UsageError(f"unknown shell {shell!r}", f"choose one of {', '.join(SHELLS)}"))
    print(script(shell), end="")


def register(app: typer.Typer) -> None:
    app.command("completions")(completions)
