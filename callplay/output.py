"""The only module that imports rich: tables on a terminal, one JSON envelope with --output json.

Data goes to stdout, everything else (warnings, errors, progress, live event rows) to stderr. Colour and
prompts are off when stdout is not a terminal or NO_COLOR is set.

A result is data with `to_dict()` (the envelope's `data`); how it looks as tables is decided here, by
`tables_for`, one function per result type.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from callplay.errors import CallplayError, ExitCode, UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from callplay.model import (
        CallStatus,
        CheckResult,
        ControlResult,
        Event,
        EventList,
        Playback,
        ProfileList,
        ProfileView,
    )

# rich is imported only where a table or a progress bar is drawn: JSON, JUnit and GitHub output (what CI
# runs) skip its ~50 ms import. json and callplay.model load when first needed too: JUnit and GitHub output
# use neither (the model's dataclasses alone take 10 ms to build).

OutputMode = Literal["table", "json"]
ENVELOPE_VERSION = 1


class Renderable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class TableSpec:
    """A rich-free description of one table; _table draws it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stdout_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, no_color=_no_color(), soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, no_color=_no_color() or not sys.stderr.isatty(), highlight=False)


def envelope(command: str, ok: bool, data: Any = None, error: CallplayError | None = None) -> dict[str, Any]:
    return {
        "version": ENVELOPE_VERSION,
        "command": command,
        "ok": ok,
        "data": data,
        "error": error.to_dict() if error else None,
    }


def _json(obj: Any, indent: int | None = None) -> str:
    import json

    from callplay.redact import mask_url_secrets

    # Every JSON line callplay prints passes here: no callback token (token=...) leaves in a URL.
    return mask_url_secrets(json.dumps(obj, default=str, indent=indent))


def _table(spec: TableSpec) -> Table:
    from rich.table import Table

    from callplay.redact import mask_url_secrets

    table = Table(title=spec.title, caption=spec.caption, title_justify="left", caption_justify="left")
    for col in spec.columns:
        table.add_column(col, overflow="fold")
    for row in spec.rows:
        table.add_row(*(mask_url_secrets(cell) for cell in row))  # no callback token leaves in a URL
    return table


def render(
    command: str, result: Renderable, mode: OutputMode, *, ok: bool = True, error: CallplayError | None = None
) -> None:
    if mode == "json":
        print(_json(envelope(command, ok, result.to_dict(), error)))
        return
    console = stdout_console()
    for spec in tables_for(result):
        console.print(_table(spec))


def render_error(command: str, err: CallplayError, mode: OutputMode, data: Any = None) -> None:
    """One line with the message, one with the hint, on stderr; the envelope too on stdout in JSON mode."""
    if mode == "json":
        print(_json(envelope(command, False, data, err)))
    print(_error_lines(err), file=sys.stderr)


def _error_lines(err: CallplayError) -> str:
    """The lines for stderr; every caller prints them, so this also notes the error as told (was_reported)."""
    from callplay.redact import mask_url_secrets

    _reported.add(err.code)
    return mask_url_secrets(f"error: {err.message}" + (f"\nhint: {err.hint}" if err.hint else ""))


# The codes of the errors told on stderr during this main() call: cli.main tells an interrupt nobody told.
_reported: set[str] = set()


def was_reported(code: str) -> bool:
    return code in _reported


def forget_reported() -> None:
    """Called by cli.main before each command (an in-process run starts afresh, as a new process would)."""
    _reported.clear()


def warn(message: str) -> None:
    from callplay.redact import mask_url_secrets

    print(f"warning: {mask_url_secrets(message)}", file=sys.stderr)


def json_line(obj: dict[str, Any]) -> None:
    """A live JSON line on stdout (events listen -o json): one event per line, for jq and friends."""
    print(_json(obj), flush=True)


@contextmanager
def progress(total: int, description: str) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; a no-op advance() otherwise."""
    if not sys.stderr.isatty() or total < 2:

        class _Null:
            def advance(self, n: int = 1) -> None:
                return None

        yield _Null()
        return
    from rich.progress import Progress

    with Progress(console=stderr_console(), transient=True) as bar:
        task = bar.add_task(description, total=total)

        class _Bar:
            def advance(self, n: int = 1) -> None:
                bar.advance(task, n)

        yield _Bar()


def listening_banner(text: str) -> None:
    """events listen's start-up banner (which paths are verified, unchecked or refused), on stderr."""
    print(text, file=sys.stderr, flush=True)


def live_event_printer(mode: OutputMode) -> Callable[[Event], None]:
    """A callback printing each event as it arrives: a JSON envelope per line, or a tab-separated row."""
    header_done = False

    def emit(event: Event) -> None:
        nonlocal header_done
        if mode == "json":
            json_line(envelope("events listen", True, {"event": event.to_dict()}))
            return
        if not header_done:
            print("time\tprovider\ttype\tstate\tcontrol id\tcall\tdetail", flush=True)
            header_done = True
        cells = [
            event.time,
            event.provider,
            event.type,
            event.state or "",
            event.control_id or "",
            event.call_id or "",
            event.summary(),
        ]
        from callplay.redact import mask_url_secrets

        print(mask_url_secrets("\t".join(cells)), flush=True)

    return emit


def emulator_banner(info: dict[str, Any]) -> None:
    lines = [f"callplay emulator serving {', '.join(info['faces'])}", f"  http   {info['http']}"]
    if info.get("https"):
        lines.append(f"  https  {info['https']}  (CA: {info.get('ca_file')})")
    if info.get("calls"):
        lines.append(f"  calls  {', '.join(info['calls'])}")
    if info.get("config"):
        lines.append(f"  config {info['config']}  (profiles: {', '.join(info['profiles'])})")
    lines.append("Ctrl-C to stop")
    print("\n".join(lines), file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ tables


def tables_for(result: object) -> list[TableSpec]:
    """The tables `result` is drawn as. The model's results are drawn by the builders below; a result type
    defined elsewhere may still bring its own to_tables() (the audio reports, the listener, the emulator, the
    Chime Lambda package); one with neither has no table."""
    build = _builders().get(type(result))
    if build is not None:
        return build(result)
    own = getattr(result, "to_tables", None)
    return list(own()) if callable(own) else []


@cache
def _builders() -> dict[type, Callable[[Any], list[TableSpec]]]:
    from callplay import model

    return {
        model.Playback: _playback,
        model.ControlResult: _control,
        model.CallStatus: _call_status,
        model.EventList: _event_list,
        model.ProfileView: _profile_view,
        model.ProfileList: _profile_list,
        model.CheckResult: _check_result,
    }


def _playback(pb: Playback) -> list[TableSpec]:
    rows = [
        ["control id", pb.control_id],
        ["call", pb.call_id],
        ["profile", f"{pb.profile} ({pb.provider})"],
        ["state", pb.state],
        ["sources", "\n".join(pb.sources)],
    ]
    if pb.loop != 1:
        rows.append(["loop", "until stopped" if pb.loop == 0 else f"{pb.loop} times"])
    if pb.targets:
        rows.append(["to", ", ".join(pb.targets)])
    if pb.volume_db is not None:
        rows.append(["volume", f"{pb.volume_db:+g} dB"])
    tables = [TableSpec("Playback", ["field", "value"], rows)]
    if pb.request is not None:
        tables.append(TableSpec("Provider request (not sent)", ["request"], [[_json(pb.request, indent=2)]]))
    if pb.events:
        tables.append(events_table(pb.events))
    return tables


def _control(result: ControlResult) -> list[TableSpec]:
    rows = [
        ["action", result.action],
        ["control id", result.control_id or "(all media on the call)"],
        ["call", result.call_id],
        ["profile", f"{result.profile} ({result.provider})"],
        ["state", result.state],
    ]
    if result.volume_db is not None:
        rows.append(["volume", f"{result.volume_db:+g} dB"])
    rows += [[k, str(v)] for k, v in result.detail.items()]
    rows += [["still playing", item.describe()] for item in result.still_playing]
    tables = [TableSpec(result.action.capitalize(), ["field", "value"], rows)]
    if result.events:
        tables.append(events_table(result.events))
    return tables


def _call_status(status: CallStatus) -> list[TableSpec]:
    rows = [
        ["call", status.call_id],
        ["profile", f"{status.profile} ({status.provider})"],
        ["state", status.state or "(not available from this provider)"],
    ]
    if status.media_streaming is not None:
        ms = status.media_streaming
        rows.append(["media streaming", f"{ms.get('state', '?')} {ms.get('id') or ''}".strip()])
    rows += [[k, str(v)] for k, v in status.detail.items()]
    tables = [TableSpec("Call", ["field", "value"], rows, caption="\n".join(status.notes) or None)]
    if status.participants:
        participants = [
            [p.raw_id, p.kind, ", ".join(f"{k}={v}" for k, v in p.detail.items())] for p in status.participants
        ]
        tables.append(TableSpec("Participants", ["raw id", "kind", "detail"], participants))
    playbacks = [
        [p.control_id, "\n".join(p.sources), p.state, p.last_event or "", p.created_at] for p in status.playbacks
    ]
    columns = ["control id", "sources", "state", "last event", "started"]
    tables.append(TableSpec("Playbacks (callplay's record)", columns, playbacks))
    return tables


def _event_list(result: EventList) -> list[TableSpec]:
    return [events_table(result.events)]


def events_table(events: list[Event], title: str = "Events") -> TableSpec:
    return TableSpec(
        title,
        ["time", "type", "state", "control id", "detail"],
        [[e.time, e.type, e.state or "", e.control_id or "", e.summary()] for e in events],
    )


def _profile_view(view: ProfileView) -> list[TableSpec]:
    rows = [[v.name, "" if v.value is None else str(v.value), v.source] for v in view.values]
    caption = f"defined in {view.source}" + (" · default profile" if view.is_default else "")
    return [TableSpec(f"Profile {view.name} ({view.provider})", ["setting", "value", "from"], rows, caption=caption)]


def _profile_list(result: ProfileList) -> list[TableSpec]:
    rows = [[p.name, p.provider, "*" if p.is_default else "", p.source] for p in result.profiles]
    caption = f"config: {result.config_path or '(none: built-in demo profile)'}"
    return [TableSpec("Profiles", ["name", "provider", "default", "defined in"], rows, caption=caption)]


def _check_result(result: CheckResult) -> list[TableSpec]:
    def yes_no(value: bool | None) -> str:
        return "not tried" if value is None else ("yes" if value else "no")

    rows = [
        ["profile", f"{result.profile} ({result.provider})"],
        ["reachable", yes_no(result.reachable)],
        ["authenticated", yes_no(result.authenticated)],
    ]
    if result.step:
        rows.append(["read", result.step])
    if result.failed_step:
        rows.append(["failed step", result.failed_step])
    if result.detail:
        rows.append(["detail", result.detail])
    return [TableSpec("Profile check", ["field", "value"], rows)]


# -------------------------------------------------------------------- validate-audio's JUnit and GitHub


REPORT_FORMATS = ("table", "json", "junit", "github")


class PlainReport(Protocol):
    """A result that prints itself without rich (validate-audio's report)."""

    @property
    def exit_code(self) -> int: ...

    @property
    def failure(self) -> CallplayError | None: ...

    def junit(self) -> str: ...

    def github(self) -> str: ...


def report_format(fmt: str | None, output: str) -> str:
    """validate-audio's format: --format when given, else --output; a UsageError names the bad one."""
    if fmt is None:
        if output not in ("table", "json"):
            raise UsageError(f"unknown output format {output!r}", "use --output table or --output json")
        return output
    if fmt not in REPORT_FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", f"use one of: {', '.join(REPORT_FORMATS)}")
    return fmt


def render_plain(fmt: str, work: Callable[[], PlainReport]) -> int:
    """--format github, or junit on stdout: run `work` and print its report or its error, without rich (these
    formats are what CI runs, and rich's import is a tenth of a quick check); returns the exit code."""
    try:
        report = work()
    except CallplayError as err:
        return plain_error(err, fmt)
    except KeyboardInterrupt:
        return plain_error(CallplayError("interrupted", code="interrupted", exit_code=ExitCode.INTERRUPTED), fmt)
    except Exception as exc:  # a bug: one line and exit 1, like cli.options.run (traceback with CALLPLAY_DEBUG=1)
        if os.environ.get("CALLPLAY_DEBUG") == "1":
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        bug = CallplayError(
            f"unexpected error: {type(exc).__name__}: {first}".rstrip(": "),
            "run again with CALLPLAY_DEBUG=1 for the traceback, and report it",
            code="unexpected",
        )
        return plain_error(bug, fmt)
    sys.stdout.write(report.github() if fmt == "github" else report.junit())
    sys.stdout.flush()
    if report.failure is not None:
        print(_error_lines(report.failure), file=sys.stderr)
    return report.exit_code


def plain_error(err: CallplayError, fmt: str) -> int:
    """An error without rich: render_error's lines on stderr, after an ::error annotation for github."""
    if fmt == "github":
        print(f"::error title={err.code}::{err.message}", flush=True)
    print(_error_lines(err), file=sys.stderr)
    return int(err.exit_code)
