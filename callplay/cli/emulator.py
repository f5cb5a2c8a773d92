"""emulator serve: every provider face on one local server, for demos, runbook tests and CI."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from pathlib import Path
from typing import Annotated

import typer

from callplay.cli.options import run
from callplay.providers import names_text

emulator_app = typer.Typer(help="The local provider emulator.", no_args_is_help=True)


@emulator_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Plain-http port (ACS, SignalWire, Chime, S3, admin).")] = 8780,
    tls_port: Annotated[int, typer.Option("--tls-port", help="TLS port (Vonage; every face).")] = 8781,
    face: Annotated[
        list[str] | None, typer.Option("--face", help=f"Serve only these faces ({names_text()}). Repeatable.")
    ] = None,
    call: Annotated[list[str] | None, typer.Option("--call", help="Create a call with this id. Repeatable.")] = None,
    calls: Annotated[int, typer.Option("--calls", help="Create this many calls with generated ids.")] = 0,
    any_call: Annotated[bool, typer.Option("--any-call", help="Accept any call id (created on first use).")] = False,
    speed: Annotated[float, typer.Option("--speed", help="Simulated seconds per real second.")] = 1.0,
    write_config: Annotated[
        Path | None, typer.Option("--write-config", help="Write a callplay config (0600) with one profile per face.")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Keep the TLS CA and keys here (default: a folder under callplay's state dir, removed on exit).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Let --write-config replace a file the emulator did not write.")
    ] = False,
) -> None:
    """Serve the emulator in the foreground until Ctrl-C or SIGTERM."""
    from callplay import output
    from callplay.emulator.serve import serve_emulator

    run(
        "emulator serve",
        "table",
        lambda: serve_emulator(
            host=host,
            port=port,
            tls_port=tls_port,
            faces=face,
            calls=list(call or []),
            n_calls=calls,
            any_call=any_call,
            speed=speed,
            write_config=write_config,
            state_dir=state_dir,
            on_ready=output.emulator_banner,
            force=force,
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(emulator_app, name="emulator")
