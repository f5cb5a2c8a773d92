"""stop, pause, resume, volume: one playback by control ID, or the last one callplay started on the call."""

from __future__ import annotations

from typing import Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run
from callplay.providers.facts import VOLUME_RANGE_TEXT

CallArg = Annotated[str, typer.Argument(help="The call the playback is on.", metavar="CALL")]
ControlIdOpt = Annotated[
    str | None,
    typer.Option("--control-id", "-c", help="The playback's control ID (default: the last one callplay started)."),
]


def stop(
    call: CallArg, control_id: ControlIdOpt = None, profile: ProfileOpt = None, output: OutputOpt = "table"
) -> None:
    """Stop a playback (on ACS: every media operation on the call)."""
    from callplay.core.control import stop as stop_playback

    run("stop", output, lambda: stop_playback(call, control_id=control_id, profile=profile))


def pause(
    call: CallArg, control_id: ControlIdOpt = None, profile: ProfileOpt = None, output: OutputOpt = "table"
) -> None:
    """Pause a playback, keeping its position (SignalWire)."""
    from callplay.core.control import pause as pause_playback

    run("pause", output, lambda: pause_playback(call, control_id=control_id, profile=profile))


def resume(
    call: CallArg, control_id: ControlIdOpt = None, profile: ProfileOpt = None, output: OutputOpt = "table"
) -> None:
    """Resume a paused playback from where it stopped (SignalWire)."""
    from callplay.core.control import resume as resume_playback

    run("resume", output, lambda: resume_playback(call, control_id=control_id, profile=profile))


def volume(
    call: CallArg,
    level: Annotated[
        str, typer.Argument(help=f"dB, {VOLUME_RANGE_TEXT}: -6 sets -6 dB; +3 raises by 3 dB.", metavar="DB")
    ],
    relative: Annotated[bool, typer.Option("--relative", help="Treat DB as a change, also when negative.")] = False,
    control_id: ControlIdOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Change a running playback's volume (SignalWire)."""
    from callplay.core.control import volume as set_volume

    run(
        "volume",
        output,
        lambda: set_volume(call, level, relative=relative, control_id=control_id, profile=profile),
    )


def register(app: typer.Typer) -> None:
    app.command("stop")(stop)
    app.command("pause")(pause)
    app.command("resume")(resume)
    # A negative level (volume CALL -6) must reach the argument, not be taken for an option.
    app.command("volume", context_settings={"ignore_unknown_options": True})(volume)
