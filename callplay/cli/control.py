"""stop, pause, resume, volume: one playback by control ID, or the last one callplay started on the call."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run
from callplay.providers.facts import VOLUME_RANGE_TEXT

if TYPE_CHECKING:
    from callplay.model import ControlResult

CallArg = Annotated[str, typer.Argument(help="The call the playback is on.", metavar="CALL")]
ControlIdOpt = Annotated[
    str | None,
    typer.Option("--control-id", "-c", help="The playback's control ID (default: the last one callplay started)."),
]


def _check(call: str, control_id: str | None) -> None:
    """The call ID and control ID, checked before a profile is read or anything is sent."""
    from callplay.values import check_call_id, check_word

    check_call_id(call)
    if control_id is not None:
        check_word(control_id, "--control-id")


def stop(
    call: CallArg, control_id: ControlIdOpt = None, profile: ProfileOpt = None, output: OutputOpt = "table"
) -> None:
    """Stop a playback (on ACS: every media operation on the call)."""
    from callplay.core.control import stop as stop_playback

    def work() -> "ControlResult":
        _check(call, control_id)
        return stop_playback(call, control_id=control_id, profile=profile)

    run("stop", output, work)


def pause(
    call: CallArg, control_id: ControlIdOpt = None, profile: ProfileOpt = None, output: OutputOpt = "table"
) -> None:
    """Pause a playback, keeping its position (SignalWire)."""
    from callplay.core.control import pause as pause_playback

    def work() -> "ControlResult":
        _check(call, control_id)
        return pause_playback(call, control_id=control_id, profile=profile)

    run("pause", output, work)


def resume(
    call: CallArg, control_id: ControlIdOpt = None, profile: ProfileOpt = None, output: OutputOpt = "table"
) -> None:
    """Resume a paused playback from where it stopped (SignalWire)."""
    from callplay.core.control import resume as resume_playback

    def work() -> "ControlResult":
        _check(call, control_id)
        return resume_playback(call, control_id=control_id, profile=profile)

    run("resume", output, work)


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

    def work() -> "ControlResult":
        _check(call, control_id)
        return set_volume(call, level, relative=relative, control_id=control_id, profile=profile)

    run("volume", output, work)


def register(app: typer.Typer) -> None:
    app.command("stop")(stop)
    app.command("pause")(pause)
    app.command("resume")(resume)
    # A negative level (volume CALL -6) must reach the argument, not be taken for an option.
    app.command("volume", context_settings={"ignore_unknown_options": True})(volume)
