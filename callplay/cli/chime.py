"""`callplay chime ...`: helpers for the Amazon Chime SDK provider (the reference Lambda's deployment zip)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callplay.cli.options import OutputOpt, run


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

        run("chime lambda-package", output, lambda: build(out, hooks))

    app.add_typer(group, name="chime")
