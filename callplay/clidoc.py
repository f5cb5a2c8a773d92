"""docs/cli.md, the CLI reference: every command's `--help` at 80 columns, in the order `callplay --help` lists
them, generated from the app (tests/test_clidoc.py fails when the committed file is stale).

Regenerate: uv run python -m callplay.clidoc > docs/cli.md
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

REGENERATE = "uv run python -m callplay.clidoc > docs/cli.md"
WIDTH = 80 - 2  # what click's formatter makes of an 80-column terminal (it keeps a 2-column margin)


def _walk(command: Any, ctx: Any) -> Iterator[tuple[str, str]]:
    yield ctx.command_path, command.get_help(ctx)
    for name in command.list_commands(ctx) if hasattr(command, "list_commands") else []:
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(sub, _context(sub, name, ctx))


def _context(command: Any, name: str, parent: Any) -> Any:
    """The context `callplay ... NAME --help` would have (its settings, e.g. -h; the parent's for the rest)."""
    settings = {"terminal_width": WIDTH, **(command.context_settings or {})}
    return command.context_class(command, info_name=name, parent=parent, **settings)


def render() -> str:
    """The whole of docs/cli.md."""
    from callplay.cli import _command, register_all

    register_all()
    root = _command()
    ctx = _context(root, "callplay", None)
    parts = [
        "# callplay command reference\n",
        f"Every command's `--help`, generated from the app. Do not edit by hand: regenerate it with\n`{REGENERATE}`.\n",
    ]
    for path, text in _walk(root, ctx):
        parts.append(f"## {path}\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
