"""playbacks: callplay's playbacks across calls, from the ledger, newest first (--refresh asks the providers)."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import OutputOpt, run

if TYPE_CHECKING:
    from callplay.model import PlaybackList

DEFAULT_LIMIT = 20


def playbacks(
    call: Annotated[str | None, typer.Option("--call", help="Only playbacks on this call.")] = None,
    active: Annotated[
        bool, typer.Option("--active", help="Only playbacks not known to have ended (no dry runs).")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Only playbacks started within this long, e.g. 30m, 2h, 1d.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (the newest).")] = DEFAULT_LIMIT,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Ask each provider that can tell how the playbacks stand and update callplay's record "
            "(a note names those that cannot).",
        ),
    ] = False,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Only playbacks started with this profile.")
    ] = None,
    output: OutputOpt = "table",
) -> None:
    """List callplay's playbacks across calls, newest first: provider, call, control ID, sources, state and
    last event.

    A playback whose events never arrived is shown as `unknown (no events received)` once its expected
    length has passed (JSON keeps the recorded `state` and adds `stale: true`).
    """
    from callplay.core.status import list_playbacks

    def work() -> "PlaybackList":
        # Input checks before the ledger is read: its integers are 64-bit, its text UTF-8.
        from callplay.values import MAX_COUNT, check_count, check_word, parse_duration

        check_count(limit, "--limit", minimum=1, maximum=MAX_COUNT)
        for what, word in (("--call", call), ("--profile", profile)):
            if word is not None:
                check_word(word, what)
        seconds = parse_duration(since, "--since") if since is not None else None
        return list_playbacks(
            call_id=call, profile=profile, active=active, since_seconds=seconds, limit=limit, refresh=refresh
        )

    run("playbacks", output, work)


def register(app: typer.Typer) -> None:
    app.command("playbacks")(playbacks)
