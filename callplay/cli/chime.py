"""`callplay chime ...`: helpers for the Amazon Chime SDK provider (the reference Lambda's deployment zip)."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import OutputOpt, run

if TYPE_CHECKING:
    from callplay.chime_lambda.package import LambdaPackage


def _hooks_file(hooks: Path) -> Path:
    """--hooks, expanded and checked to be a regular file: reading a FIFO would block, a directory fails late."""
    from callplay.errors import UsageError
    from callplay.values import expand_path

    path = expand_path(str(hooks), "--hooks")
    if not path.exists():
        raise UsageError(f"--hooks {hooks}: no such file", "give your hooks.py (start from the default one)")
    if not path.is_file():
        raise UsageError(f"--hooks {hooks} is not a regular file", "give your hooks.py (start from the default one)")
    return path


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="chime",
        help="Amazon Chime SDK helpers: package the SIP media application's reference Lambda.",
        no_args_is_help=True,
    )

    @group.command("lambda-package")
    def lambda_package(
        out: Annotated[Path, typer.Option("--out", help="Zip file to write.")] = Path("callplay-chime-lambda.zip"),
        hooks: Annotated[
            Path | None, typer.Option("--hooks", help="Your hooks.py (your call flow) instead of the default.")
        ] = None,
        output: OutputOpt = "table",
    ) -> None:
        """Write a deployable zip of callplay's reference Lambda (handler + hooks + README).

        Deploy it as a Python 3.11+ function with handler `handler.lambda_handler`, set it as the SIP media
        application's endpoint, and optionally set CALLPLAY_EVENTS_SECRET to the profile's callback_secret.
        """
        from callplay.chime_lambda.package import build

        def work() -> "LambdaPackage":
            from callplay.values import expand_path

            # `--out=~/x.zip` reaches us unexpanded (a shell expands ~ only at the start of a word).
            return build(expand_path(str(out), "--out"), None if hooks is None else _hooks_file(hooks))

        run("chime lambda-package", output, work)

    app.add_typer(group, name="chime")
