"""events list (from the ledger) and events listen (a webhook receiver printing rows as events arrive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import OutputOpt, output_mode, run

if TYPE_CHECKING:
    from callplay.events.listen import ListenResult
    from callplay.model import EventList

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

    def work() -> EventList:
        # Input checks (issue 11, bad input): the ledger's SQLite integers are 64-bit and its text UTF-8.
        from callplay.values import MAX_COUNT, check_count, check_word

        check_count(limit, "--limit", minimum=1, maximum=MAX_COUNT)
        for what, word in (("--control-id", control_id), ("--call", call), ("--profile", profile)):
            if word is not None:
                check_word(word, what)
        return events_list(control_id=control_id, call_id=call, profile=profile, limit=limit)

    run("events list", output, work)


@events_app.command("listen")
def listen(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).")] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (0.0.0.0: every interface, as a service or behind a tunnel).")
    ] = "127.0.0.1",
    count: Annotated[int | None, typer.Option("--count", help="Exit 0 after this many events.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Exit 0 after this many seconds.")] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            envvar="CALLPLAY_PROFILE",
            help="Check callbacks with this profile's secret only (default: every profile's, per provider).",
        ),
    ] = None,
    allow_unsigned: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-unsigned",
            metavar="PROVIDER",
            help="Take this provider's callbacks unchecked when no profile has its secret (repeatable).",
        ),
    ] = None,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            metavar="text|json",
            help="The log on stderr: text (warnings, as lines), or json (one object per line, for a collector).",
        ),
    ] = "text",
    output: OutputOpt = "table",
) -> None:
    """Receive provider callbacks at http://HOST:PORT/events/<provider>, record them, print a row for each.

    Each path is checked with its provider's token or signing secret; a path with none refuses every post
    (401) unless --allow-unsigned names its provider. A callback delivered again is recorded once; bodies
    over 1 MiB and malformed bodies are refused.

    With -o jsonl, stdout is a stream for scripts: a `ready` line, an `event` line per event, and the result
    envelope when it stops (-o json prints the same steps as envelopes, as before jsonl).

    As a service: GET /healthz answers 200 while the ledger is reachable, 503 otherwise; SIGTERM (or Ctrl-C)
    stops accepting, finishes the requests in flight and exits 0. Deployment: docs/deploy.md.
    """
    from callplay import output as out
    from callplay.events.listen import ListenReady
    from callplay.events.listen import listen as listen_for_events

    mode = output_mode(output)

    def ready(info: ListenReady) -> None:
        # Which paths are open, verified or refused: on stderr, and first on stdout for scripts (-o json/jsonl).
        if log_format == "text":  # with json logs, a `ready` log line says it instead
            out.listening_banner(info.banner())
        if mode == "jsonl":
            out.stream_line("events listen", "ready", info.to_dict())
        elif mode == "json":
            out.json_line(out.envelope("events listen", True, {"ready": info.to_dict()}))

    def work() -> ListenResult:
        # Input checks (issue 11, bad input): before anything binds or the profile is read.
        from callplay.errors import UsageError
        from callplay.events.service_log import LOG_FORMATS
        from callplay.values import check_count, check_port, check_seconds, check_word

        if log_format not in LOG_FORMATS:
            raise UsageError(f"--log-format {log_format!r} is not a log format", f"one of: {', '.join(LOG_FORMATS)}")
        check_port(port, "--port")
        check_word(host, "--host")
        if count is not None:
            check_count(count, "--count", minimum=1)
        if timeout is not None:
            check_seconds(timeout, "--timeout")
        return listen_for_events(
            host=host,
            port=port,
            count=count,
            timeout=timeout,
            profile=profile,
            allow_unsigned=allow_unsigned or [],
            on_ready=ready,
            on_event=out.live_event_printer(mode),
            log_format="json" if log_format == "json" else "text",
        )

    run("events listen", output, work)


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
