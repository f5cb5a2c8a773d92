"""stream-status: the call's state and participants from the provider, and callplay's playbacks on it."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run


def stream_status(
    call: Annotated[str, typer.Argument(help="The call to describe.", metavar="CALL")],
    show_all: Annotated[
        bool, typer.Option("--all", help="Show every ended playback too (the table shows the newest few).")
    ] = False,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Show the call's state, media streaming state, participants and callplay's playbacks on it: the active
    ones first, then the newest ended ones (--all: every one; JSON always lists every one).

    Where the provider can tell how callplay's playbacks stand (a call that has ended ended them all),
    callplay's record is updated first.
    """
    from callplay.core.status import stream_status as call_status
    from callplay.values import check_call_id

    run("stream-status", output, lambda: call_status(check_call_id(call), profile=profile, show_all=show_all))


def register(app: typer.Typer) -> None:
    app.command("stream-status")(stream_status)
