"""events list (from the ledger) and events listen (a webhook receiver printing rows as events arrive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run

if TYPE_CHECKING:
    from callplay.output import OutputMode

events_app = typer.Typer(
    help="Playback events: recorded ones, and a receiver for provider callbacks.", no_args_is_help=True
)


@events_app.command("list")
def list_events(
    control_id: Annotated[str | None, typer.Option("--control-id", "-c", help="Only this playback's events.")] = None,
    call: Annotated[str | None, typer.Option("--call", help="Only events of this call.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (the newest).")] = 200,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Only events of playbacks started with this profile.")
    ] = None,
    output: OutputOpt = "table",
) -> None:
    """List recorded events, oldest first."""
    from callplay.core.status import events_list

    run(
        "events list",
        output,
        lambda: events_list(control_id=control_id, call_id=call, profile=profile, limit=limit),
    )


@events_app.command("listen")
def listen(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to bind (0.0.0.0 behind a tunnel).")] = "127.0.0.1",
    count: Annotated[int | None, typer.Option("--count", help="Exit 0 after this many events.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Exit 0 after this many seconds.")] = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Receive provider callbacks at http://HOST:PORT/events/<provider>, record them, print a row for each."""
    from callplay import output as out
    from callplay.events.listen import listen as listen_for_events

    mode: OutputMode = "json" if output == "json" else "table"
    run(
        "events listen",
        output,
        lambda: listen_for_events(
            host=host,
            port=port,
            count=count,
            timeout=timeout,
            profile=profile,
            on_ready=out.listening_banner,
            on_event=out.live_event_printer(mode),
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
