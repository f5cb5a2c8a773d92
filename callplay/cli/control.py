"""stop, pause, resume, volume: one playback by control ID, or the last one callplay started on the call; the
same on many calls at once (--call, --calls-from: callplay.core.fanout); and stop --all, every playback callplay
started that is not over."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import (
    CallsFromOpt,
    CallsOpt,
    ConcurrencyOpt,
    OutputOpt,
    ProfileOpt,
    RateOpt,
    output_mode,
    run,
)
from callplay.core.fanout_limits import DEFAULT_CONCURRENCY
from callplay.providers.facts import VOLUME_RANGE_TEXT

if TYPE_CHECKING:
    from callplay.model import CallOutcome, ControlResult, FanoutResult

CallArg = Annotated[
    str | None,
    typer.Argument(
        help="The call the playback is on (more calls: --call, --calls-from).", metavar="[CALL]", show_default=False
    ),
]
ControlIdOpt = Annotated[
    str | None,
    typer.Option(
        "--control-id", "-c", help="The playback's control ID (default: the last one callplay started); one call."
    ),
]
OnResult = Callable[["CallOutcome"], None] | None


def _check(call: str, control_id: str | None) -> None:
    """The call ID and control ID, checked before a profile is read or anything is sent."""
    from callplay.values import check_call_id, check_word

    check_call_id(call)
    if control_id is not None:
        check_word(control_id, "--control-id")


class _Calls:
    """The calls a control command was given (CALL, --call, --calls-from) and the fan-out's knobs."""

    def __init__(
        self, call: str | None, calls: list[str] | None, calls_from: str | None, concurrency: int, rate: float | None
    ) -> None:
        self.call, self.calls, self.calls_from = call, calls or [], calls_from
        self.concurrency, self.rate = concurrency, rate

    @property
    def given(self) -> bool:
        return self.call is not None or bool(self.calls) or self.calls_from is not None


def _control(
    action: str,
    output: str,
    given: _Calls,
    control_id: str | None,
    one: Callable[[str], "ControlResult"],
    many: Callable[[list[str], OnResult], "FanoutResult"],
) -> None:
    """One call (however given): `one(call)`, the single-call path as it always was; more: `many(calls, ...)`."""

    def work() -> "ControlResult | FanoutResult":
        from callplay.core.fanout_limits import check_knobs
        from callplay.values import call_list

        check_knobs(given.concurrency, given.rate)
        listed = call_list(given.call, given.calls, given.calls_from)
        if len(listed.ids) == 1:
            _check(listed.ids[0], control_id)
            result = one(listed.ids[0])
            result.warnings = [*listed.warnings, *result.warnings]
            return result
        outcome = _many(action, output, len(listed.ids), lambda on_result: many(listed.ids, on_result))
        outcome.warnings[:0] = listed.warnings
        return outcome

    run(action, output, work)


def _many(action: str, output: str, total: int | None, start: Callable[[OnResult], "FanoutResult"]) -> "FanoutResult":
    """A run over many calls with its progress shown (callplay.live.FanoutView) as it goes."""
    from callplay.live import FanoutView

    with FanoutView(action, output_mode(output), total).watching() as watcher:
        return start(watcher.result if watcher is not None else None)


def _fanout(
    action: str,
    given: _Calls,
    profile: str | None,
    control_id: str | None,
    level: str | None = None,
    relative: bool = False,
) -> Callable[[list[str], OnResult], "FanoutResult"]:
    """The fan-out of `action` over the calls, for _control."""

    def many(calls: list[str], on_result: OnResult) -> "FanoutResult":
        from callplay.core.fanout import control_many

        return control_many(
            action,
            calls,
            profile=profile,
            control_id=control_id,
            level=level,
            relative=relative,
            concurrency=given.concurrency,
            rate=given.rate,
            on_result=on_result,
        )

    return many


def stop(
    call: CallArg = None,
    control_id: ControlIdOpt = None,
    calls: CallsOpt = None,
    calls_from: CallsFromOpt = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", help="Stop every playback callplay started that is not over (of -p PROFILE, else of every one)."
        ),
    ] = False,
    call_prefix: Annotated[
        str | None, typer.Option("--call-prefix", help="With --all: only calls whose ID starts with PREFIX.")
    ] = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    rate: RateOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Stop a playback (on ACS: every media operation on the call), on one call or many; --all: every playback
    callplay started that is not over."""
    from callplay.core.control import stop as stop_playback

    given = _Calls(call, calls, calls_from, concurrency, rate)
    if all_ or call_prefix is not None:
        run("stop", output, lambda: _stop_all(given, all_, call_prefix, control_id, profile, output))
        return
    _control(
        "stop",
        output,
        given,
        control_id,
        lambda c: stop_playback(c, control_id=control_id, profile=profile),
        _fanout("stop", given, profile, control_id),
    )


def _stop_all(
    given: _Calls, all_: bool, call_prefix: str | None, control_id: str | None, profile: str | None, output: str
) -> "FanoutResult":
    from callplay.core.fanout import stop_all
    from callplay.core.fanout_limits import check_knobs
    from callplay.errors import UsageError
    from callplay.values import check_text, check_word

    if not all_:
        raise UsageError("--call-prefix goes with --all", "e.g. callplay stop --all --call-prefix bridge-")
    if given.given or control_id is not None:
        raise UsageError(
            "stop --all stops every playback callplay started: it takes no CALL, --call, --calls-from or --control-id",
            "drop --all to stop the calls given, or drop the calls (--call-prefix P picks calls by their ID)",
        )
    check_knobs(given.concurrency, given.rate)
    if call_prefix is not None:
        check_word(call_prefix, "--call-prefix")
    if profile is not None:
        check_text(profile, "--profile")
    return _many(
        "stop",
        output,
        None,
        lambda on_result: stop_all(
            profile=profile,
            call_prefix=call_prefix,
            concurrency=given.concurrency,
            rate=given.rate,
            on_result=on_result,
        ),
    )


def pause(
    call: CallArg = None,
    control_id: ControlIdOpt = None,
    calls: CallsOpt = None,
    calls_from: CallsFromOpt = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    rate: RateOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Pause a playback, keeping its position (SignalWire)."""
    from callplay.core.control import pause as pause_playback

    given = _Calls(call, calls, calls_from, concurrency, rate)
    _control(
        "pause",
        output,
        given,
        control_id,
        lambda c: pause_playback(c, control_id=control_id, profile=profile),
        _fanout("pause", given, profile, control_id),
    )


def resume(
    call: CallArg = None,
    control_id: ControlIdOpt = None,
    calls: CallsOpt = None,
    calls_from: CallsFromOpt = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    rate: RateOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Resume a paused playback from where it stopped (SignalWire)."""
    from callplay.core.control import resume as resume_playback

    given = _Calls(call, calls, calls_from, concurrency, rate)
    _control(
        "resume",
        output,
        given,
        control_id,
        lambda c: resume_playback(c, control_id=control_id, profile=profile),
        _fanout("resume", given, profile, control_id),
    )


def volume(
    call: CallArg = None,
    level: Annotated[
        str | None,
        typer.Argument(
            help=f"dB, {VOLUME_RANGE_TEXT}: -6 sets -6 dB; +3 raises by 3 dB. With --call or --calls-from, a "
            "single word is DB.",
            metavar="DB",
            show_default=False,
        ),
    ] = None,
    relative: Annotated[bool, typer.Option("--relative", help="Treat DB as a change, also when negative.")] = False,
    control_id: ControlIdOpt = None,
    calls: CallsOpt = None,
    calls_from: CallsFromOpt = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    rate: RateOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Change a running playback's volume (SignalWire)."""
    from callplay.core.control import volume as set_volume

    if level is None and (calls or calls_from is not None):
        call, level = None, call  # `volume --calls-from FILE -6`: the one word is the level
    given = _Calls(call, calls, calls_from, concurrency, rate)
    if level is None:
        from callplay.cli.options import fail
        from callplay.errors import UsageError

        fail("volume", output, UsageError("volume needs a level in dB", "e.g. callplay volume bridge-1 -6"))
    db = level

    def one(c: str) -> "ControlResult":
        return set_volume(c, db, relative=relative, control_id=control_id, profile=profile)

    many = _fanout("volume", given, profile, control_id, db, relative)
    _control("volume", output, given, control_id, one, many)


def register(app: typer.Typer) -> None:
    app.command("stop")(stop)
    app.command("pause")(pause)
    app.command("resume")(resume)
    # A negative level (volume CALL -6) must reach the argument, not be taken for an option.
    app.command("volume", context_settings={"ignore_unknown_options": True})(volume)
