"""stream-status: the call's state and participants from the provider, and callplay's playbacks on it."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run


def stream_status(
    call: Annotated[str, typer.Argument(help="The call to describe.", metavar="CALL")],
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Show the call's state, media streaming state, participants and callplay's playbacks on it."""
    from callplay.core.status import stream_status as call_status
    from callplay.values import check_call_id

    run("stream-status", output, lambda: call_status(check_call_id(call), profile=profile))


def register(app: typer.Typer) -> None:
    app.command("stream-status")(stream_status)
