"""The only module that imports rich: tables on a terminal, one JSON envelope with --output json.

Data goes to stdout, everything else (warnings, errors, progress, live event rows) to stderr. Colour and
prompts are off when stdout is not a terminal or NO_COLOR is set.

A result is data with `to_dict()` (the envelope's `data`); how it looks as tables is decided here, by
`tables_for`, one function per result type.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
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
        FanoutResult,
        Playback,
        PlaybackList,
        PlaybackRecord,
        ProfileList,
        ProfileView,
    )

# rich is imported only where a table or a progress bar is drawn: JSON, JUnit and GitHub output (what CI
# runs) skip its ~50 ms import. json and callplay.model load when first needed too: JUnit and GitHub output
# use neither (the model's dataclasses alone take 10 ms to build).

OutputMode = Literal["table", "json", "jsonl"]
# The --output choices, in one place (help, completion, checks): jsonl streams progress lines before the envelope.
OUTPUT_MODES: tuple[OutputMode, ...] = ("table", "json", "jsonl")
ENVELOPE_VERSION = 1


def clock(iso: str | None) -> str:
    """An ISO 8601 time as local HH:MM:SS for a table cell (JSON keeps the full ISO text); text that is not a
    time is returned unchanged."""
    import datetime as dt

    if not iso:
        return ""
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone().strftime("%H:%M:%S")


class Renderable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class TableSpec:
    """A rich-free description of one table; stdout_console() draws it (rich on a terminal, plain text off one).

    The builder says once which cells must never be split: `ids` names the columns holding identifiers (control
    and call IDs, paths, URLs, commands) and, in a field/value table, the fields whose value is one (a row whose
    first cell is named). At 80 columns those stay whole and the other, free-text, cells are folded instead.
    `times` names the columns (or fields) holding ISO 8601 times, shown as local HH:MM:SS (JSON keeps ISO).
    A `terminal_only` table is a summary for a person, left out when stdout is a pipe (dry-run's Playback).
    Off a terminal the first table's title is left out (it names what the command prints) unless `keep_title`
    says it tells what the rows do not (the profile's name, the one call listed)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None
    ids: Collection[str] = ()
    times: Collection[str] = ()
    terminal_only: bool = False
    keep_title: bool = False


@dataclass
class TextBlock:
    """Text printed as it is, with no box, on a terminal and off one: something to copy (dry-run's request)."""

    text: str


Drawable = TableSpec | TextBlock
# The columns of a record (one row per field): drawn with no header, on a terminal or off (the fields say it all).
FIELD_VALUE = ["field", "value"]


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stdout_console() -> TablePrinter:
    """Where tables go, each prepared by _table(): rich at the terminal's width when stdout is one, plain aligned
    text otherwise (rich is not even imported then: validate-audio in a pipe stays quick)."""
    return _RichPrinter() if sys.stdout.isatty() else _PlainPrinter()


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


@dataclass
class _Grid:
    """A table ready to draw: secrets masked, times as HH:MM:SS, and for each cell whether it is kept whole."""

    spec: TableSpec
    rows: list[list[str]]
    keep: list[list[bool]]
    caption: str | None


def _table(spec: Drawable) -> _Grid | TextBlock:
    """`spec` ready for stdout_console().print(): no callback token leaves in a URL."""
    from callplay.redact import mask_url_secrets

    if isinstance(spec, TextBlock):
        return TextBlock(mask_url_secrets(spec.text))
    rows, keep = [], []
    for row in spec.rows:
        kinds = [_kind(spec, i, row) for i in range(len(row))]
        rows.append([mask_url_secrets(clock(c) if k == "time" else c) for c, k in zip(row, kinds, strict=True)])
        keep.append([k != "text" for k in kinds])
    caption = mask_url_secrets(spec.caption) if spec.caption else None
    return _Grid(spec, rows, keep, caption)


def _kind(spec: TableSpec, col: int, row: list[str]) -> Literal["id", "time", "text"]:
    names = [spec.columns[col] if col < len(spec.columns) else ""]
    if col > 0:
        names.append(row[0])  # a field/value row: the field names the kind of its value
    if any(n in spec.times for n in names):
        return "time"
    return "id" if any(n in spec.ids for n in names) else "text"


class TablePrinter(Protocol):
    def print(self, item: _Grid | TextBlock) -> None: ...


def print_tables(items: Sequence[Drawable], printer: TablePrinter | None = None) -> None:
    """Draw a result's tables on stdout (or with `printer`: tests draw on an 80-column rich console)."""
    out = printer or stdout_console()
    for item in items:
        out.print(_table(item))


class _PlainPrinter:
    """Off a terminal (a pipe, a file): a header row then one line per row, columns two spaces apart and
    padded, nothing cut (a pipe has no width), no box, no colour, so `grep cp-` finds whole rows. The first
    table goes without its title unless it keeps it (TableSpec.keep_title); each later one gets a blank line
    and its title. A caption follows its table."""

    def __init__(self) -> None:
        self.drawn = 0

    def print(self, item: _Grid | TextBlock) -> None:
        if isinstance(item, TextBlock):
            lines = [item.text]
        elif item.spec.terminal_only:
            return
        else:
            lines = _plain_lines(item)
            if self.drawn or item.spec.keep_title:
                lines.insert(0, item.spec.title)
        if self.drawn:
            lines.insert(0, "")
        self.drawn += 1
        sys.stdout.write("\n".join(lines) + "\n")


def _plain_lines(grid: _Grid) -> list[str]:
    header = [] if grid.spec.columns == FIELD_VALUE else [grid.spec.columns]
    body = header + [[_one_line(cell) for cell in row] for row in grid.rows]
    widths = [max((len(r[i]) for r in body if i < len(r)), default=0) for i in range(len(grid.spec.columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)).rstrip() for r in body]
    return lines + (grid.caption.splitlines() if grid.caption else [])


def _one_line(cell: str) -> str:
    """A multi-line cell on one line: lines joined with "; " (a TTS text may hold commas), an indented line
    continuing the one before."""
    out = ""
    for line in cell.splitlines():
        if not out:
            out = line.strip()
        else:
            out += (" " if line[:1].isspace() else "; ") + line.strip()
    return out


class _RichPrinter:
    """On a terminal: rich tables at its width, with no borders (a rule under the header) and a blank line
    between tables. Identifier columns get the width of their longest value and never wrap; free-text columns
    fold into what is left (see _id_widths for when the identifiers alone are too wide). A TextBlock is written
    as it is."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(file=sys.stdout, no_color=_no_color(), soft_wrap=False)
        self.drawn = 0

    def print(self, item: _Grid | TextBlock) -> None:
        if isinstance(item, TextBlock):  # as it is: no box, no wrapping, no highlighting, so it copies whole
            self.console.file.write(("\n" if self.drawn else "") + item.text + "\n")
            self.console.file.flush()
        else:
            if self.drawn:
                self.console.print()
            self.console.print(_rich_table(item, self.console.width))
        self.drawn += 1


# What a free-text column keeps at least beside identifiers: a comfortable width, or if that is too much, a
# narrow one (the verdict and format columns of validate-audio, a long path beside them).
TEXT_WIDTHS = (16, 10)


def _rich_table(grid: _Grid, width: int) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    spec = grid.spec
    table = Table(
        title=spec.title,
        caption=grid.caption,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,  # a rule under the header, no borders: 80 columns and 24 lines go to the data
        show_edge=False,
        pad_edge=False,
        show_header=spec.columns != FIELD_VALUE,  # a record's field names are its header
    )
    for i, (name, least) in enumerate(zip(spec.columns, _id_widths(grid, width), strict=True)):
        if least and all(keep[i] for keep in grid.keep):
            # A fixed width: rich narrows the other (free-text) columns to make the table fit, never this one.
            table.add_column(name, overflow="fold", width=max(least, _header_width(name)))
        else:  # free text, or a record's values (IDs and free text: rich narrows that column by no more than
            # the excess, which _id_widths made sure leaves its IDs whole)
            table.add_column(name, overflow="fold", min_width=least or None)
    for row in grid.rows:
        table.add_row(*(Text(cell, overflow="fold") for cell in row))  # Text: "[acs]" is not markup
    return table


def _header_width(name: str) -> int:
    return max((len(word) for word in name.split()), default=0)  # rich never splits a header's word


def _id_widths(grid: _Grid, width: int) -> list[int]:
    """For each column, the width that keeps its identifiers whole (0: none, or it may fold). Free text gives
    way first, down to the narrowest of TEXT_WIDTHS; when the identifiers still cannot all fit, the widest ID
    columns fold like free text (split in two still beats cut short) so that the others stay whole."""
    ncols = len(grid.spec.columns)
    ids, longest_text = [0] * ncols, [_header_width(name) for name in grid.spec.columns]
    for row, keep in zip(grid.rows, grid.keep, strict=True):
        for i, (cell, kept) in enumerate(zip(row, keep, strict=True)):
            longest = max((len(line) for line in cell.splitlines()), default=0)
            if kept:
                ids[i] = max(ids[i], longest)
            else:
                longest_text[i] = max(longest_text[i], longest)
    gaps = 3 * (ncols - 1)  # between two columns: a padding of 1 either side of an invisible border
    for room in TEXT_WIDTHS:
        if sum(max(i, min(t, room)) for i, t in zip(ids, longest_text, strict=True)) + gaps <= width:
            return ids
    room = TEXT_WIDTHS[0]
    while sum(max(i, min(t, room)) for i, t in zip(ids, longest_text, strict=True)) + gaps > width:
        widest = ids.index(max(ids))
        if ids[widest] <= room:  # no wider than free text: rich narrows the free text instead
            break
        ids[widest], longest_text[widest] = 0, ids[widest]  # it folds like free text, rich balances the rest
    return ids


def render(
    command: str, result: Renderable, mode: OutputMode, *, ok: bool = True, error: CallplayError | None = None
) -> None:
    if mode == "jsonl":  # the stream's last line: the same envelope, on one line, flushed
        json_line(envelope(command, ok, result.to_dict(), error), kind="result")
        return
    if mode == "json":
        print(_json(envelope(command, ok, result.to_dict(), error)))
        return
    console = stdout_console()
    for spec in tables_for(result):
        console.print(_table(spec))


def render_error(command: str, err: CallplayError, mode: OutputMode, data: Any = None) -> None:
    """One line with the message, one with the hint, on stderr; the envelope too on stdout in JSON mode (and as
    the last line of a JSON Lines stream)."""
    if mode == "jsonl":
        json_line(envelope(command, False, data, err), kind="result")
    elif mode == "json":
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


@contextmanager
def reader_may_leave() -> Iterator[None]:
    """Printing the result to a reader that may stop reading (`| head`): the exit code still says what
    happened to the calls (the plays were sent), not that the rest of the output had nowhere to go. What is
    left unprinted goes to /dev/null, so that the flush at exit fails neither."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def warn(message: str) -> None:
    from callplay.redact import mask_url_secrets

    print(f"warning: {mask_url_secrets(message)}", file=sys.stderr)


def json_line(obj: dict[str, Any], kind: str | None = None) -> None:
    """A live JSON line on stdout, flushed, for jq and friends: events listen -o json's envelopes, and every
    line of -o jsonl, which names its `kind` right after `command` (see callplay.live)."""
    if kind is not None:
        obj = {"version": obj["version"], "command": obj["command"], "kind": kind, **obj}
    print(_json(obj), flush=True)


def stream_line(command: str, kind: str, data: Any) -> None:
    """One progress line of -o jsonl (accepted, event, ready); the stream ends with render's envelope."""
    json_line({"version": ENVELOPE_VERSION, "command": command, "data": data}, kind=kind)


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
    """A callback printing each event as it arrives: a JSON Lines `event` object (jsonl), a JSON envelope per
    line (json, as before jsonl was its name), or a tab-separated row."""
    header_done = False

    def emit(event: Event) -> None:
        nonlocal header_done
        if mode == "jsonl":
            stream_line("events listen", "event", event.to_dict())
            return
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


def tables_for(result: object) -> list[Drawable]:
    """The tables `result` is drawn as. The model's results are drawn by the builders below; a result type
    defined elsewhere may still bring its own to_tables() (the audio reports, the listener, the emulator, the
    Chime Lambda package); one with neither has no table. A builder returns TableSpecs (saying which columns
    hold IDs and times) and, for text to copy as it is, TextBlocks."""
    build = _builders().get(type(result))
    if build is not None:
        return list(build(result))
    own = getattr(result, "to_tables", None)
    return list(own()) if callable(own) else []


@cache
def _builders() -> dict[type, Callable[[Any], Sequence[Drawable]]]:
    from callplay import model

    return {
        model.Playback: _playback,
        model.ControlResult: _control,
        model.CallStatus: _call_status,
        model.PlaybackList: _playback_list,
        model.EventList: _event_list,
        model.ProfileView: _profile_view,
        model.ProfileList: _profile_list,
        model.CheckResult: _check_result,
        model.FanoutResult: _fanout,
        model.StateInfo: _state_info,
    }


def _playback(pb: Playback) -> list[Drawable]:
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
    # A dry run's summary is for a person: a pipe gets the request alone, to copy or to feed to jq.
    dry_run = pb.request is not None
    ids = ("control id", "call", "sources", "to")
    tables: list[Drawable] = [TableSpec("Playback", FIELD_VALUE, rows, ids=ids, terminal_only=dry_run)]
    if pb.request is not None:
        tables.append(TextBlock(request_text(pb.request)))
    if pb.events:
        tables.append(events_table(pb.events))
    return tables


def request_text(request: dict[str, Any]) -> str:
    """A provider request as it would go out: `POST https://...` on the first line, then the body as JSON."""
    first = f"{request.get('method', '')} {request.get('url', '')}".strip()
    body = request.get("body")
    return first if body is None else f"{first}\n{_json(body, indent=2)}"


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
    ids = ("control id", "call", "still playing")
    tables = [TableSpec(result.action.capitalize(), FIELD_VALUE, rows, ids=ids)]
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
    notes = "\n".join(status.notes) or None
    tables = [TableSpec("Call", FIELD_VALUE, rows, caption=notes, ids=("call", "media streaming"))]
    if status.participants:
        participants = [
            [p.raw_id, p.kind, ", ".join(f"{k}={v}" for k, v in p.detail.items())] for p in status.participants
        ]
        tables.append(TableSpec("Participants", ["raw id", "kind", "detail"], participants, ids=("raw id",)))
    # Active playbacks first (the core's order), then the newest ended ones; --all (ended_shown None): every one.
    ended = [p for p in status.playbacks if _has_ended(p)]
    hide = {id(p) for p in ended[status.ended_shown :]} if status.ended_shown is not None else set()
    shown = [p for p in status.playbacks if id(p) not in hide]
    hidden = len(hide)
    rows = [[started(p.created_at), p.control_id, sources_text(p.sources), _state_text(p)] for p in shown]
    caption = f"{hidden} older playback{'s' if hidden != 1 else ''} not shown (--all)" if hidden else None
    columns = ["started", "control id", "sources", STATE_COLUMN]
    ids = ("started", "control id")
    tables.append(TableSpec("Playbacks (callplay's record)", columns, rows, caption=caption, ids=ids))
    return tables


# State and last event share a column: the event says why the state is what it is, and 80 columns hold six
# columns of a playback list with the IDs whole, not seven.
STATE_COLUMN = "state, last event"


# The longest call ID a playback list shows in a column of its own: with longer ones (UUIDs) the IDs of a row
# cannot all stay whole in 80 columns, so the list is drawn as one table per call, titled with its ID.
CALL_COLUMN_MAX = 16


def _playback_list(result: PlaybackList) -> list[TableSpec]:
    notes = "\n".join(([] if result.playbacks else ["no playbacks match"]) + result.notes) or None
    ids = ("started", "provider", "call", "control id")
    if result.call_id is None and all(len(p.call_id) <= CALL_COLUMN_MAX for p in result.playbacks):
        rows = [
            [started(p.created_at), p.provider, p.call_id, p.control_id, sources_text(p.sources), _state_text(p)]
            for p in result.playbacks
        ]
        columns = ["started", "provider", "call", "control id", "sources", STATE_COLUMN]
        return [TableSpec("Playbacks (callplay's record)", columns, rows, caption=notes, ids=ids)]
    # One table per call (and provider: the emulator's call IDs are shared by its faces), by its newest playback.
    groups: dict[tuple[str, str], list[list[str]]] = {}
    for p in result.playbacks:
        row = [started(p.created_at), p.control_id, sources_text(p.sources), _state_text(p)]
        groups.setdefault((p.call_id, p.provider), []).append(row)
    columns = ["started", "control id", "sources", STATE_COLUMN]
    tables = [
        TableSpec(f"Playbacks on call {call} ({provider})", columns, rows, ids=ids, keep_title=True)
        for (call, provider), rows in groups.items()
    ]
    if not tables:
        tables.append(TableSpec(f"Playbacks on call {result.call_id}", columns, [], ids=ids, keep_title=True))
    tables[-1].caption = notes
    return tables


def _state_text(p: PlaybackRecord) -> str:
    """The state a person is shown (a listed playback's display state, e.g. `unknown (no events received)`),
    with the last event that set it."""
    state = getattr(p, "display_state", "") or p.state
    return f"{state}\n{p.last_event}" if p.last_event else state


def _has_ended(p: PlaybackRecord) -> bool:
    from callplay.model import TERMINAL_STATES

    return p.state in TERMINAL_STATES or bool(getattr(p, "stale", False))


def started(iso: str) -> str:
    """A start time for a table: local HH:MM:SS today, the date (YYYY-MM-DD) before today."""
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    local = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone()
    return clock(iso) if local.date() == dt.datetime.now().astimezone().date() else local.date().isoformat()


SOURCE_CHARS = 24  # one source in a table cell; the JSON has them whole
SOURCES_SHOWN = 2


def sources_text(sources: list[str]) -> str:
    """A playback's sources, shortened for a table: the first few, a URL or path by its file name (a URL cut
    short would be split or wrong), each cut to SOURCE_CHARS, and how many more."""
    cut = [_short_source(s) for s in sources[:SOURCES_SHOWN]]
    more = len(sources) - SOURCES_SHOWN
    return "\n".join(cut + ([f"(+{more} more)"] if more > 0 else []))


def _short_source(source: str) -> str:
    if "/" in source and not source.startswith(("tts:", "ssml:")):
        source = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or source
    return source if len(source) <= SOURCE_CHARS else source[: SOURCE_CHARS - 3] + "..."


# A run over this many calls or fewer lists every call; a longer one lists only the calls that failed.
FANOUT_LISTED = 10


def _fanout(result: FanoutResult) -> list[TableSpec]:
    """A run over many calls: one summary row, then the calls that failed with the reason (every call, when
    there are few). The JSON has every call's outcome."""
    n, failed = len(result.results), result.failed
    summary = [[result.action, str(n), str(n - len(failed)), str(len(failed)), str(result.retries)]]
    summary[0].append(f"{result.elapsed_s:.1f}")
    notes = ["interrupted (Ctrl-C or SIGTERM): each call's error says what became of it"] if result.interrupted else []
    if not result.results:
        notes.append("no calls")
    columns = ["action", "calls", "ok", "failed", "retries", "seconds"]
    tables = [TableSpec("Summary", columns, summary, caption="\n".join(notes) or None)]
    listed = result.results if n <= FANOUT_LISTED else failed
    title = "Calls" if listed is result.results else f"Failed calls ({len(failed)} of {n})"
    # One table per profile (stop --all stops every profile's playbacks): a profile column beside a UUID call ID
    # and a control ID would not leave them whole at 80 columns.
    groups: dict[str, list[list[str]]] = {}
    for o in listed:
        reason = o.failure.message if not o.ok and o.failure is not None else ""
        groups.setdefault(f"{o.profile} ({o.provider})", []).append(
            [o.call_id, o.control_id or "-", o.state or "-", reason]
        )
    columns, ids = ["call", "control id", "state", "error"], ("call", "control id")
    if len(groups) == 1:
        return [*tables, TableSpec(title, columns, next(iter(groups.values())), ids=ids, keep_title=True)]
    return tables + [
        TableSpec(f"{title}, profile {p}", columns, rows, ids=ids, keep_title=True) for p, rows in groups.items()
    ]


def _state_info(info: Any) -> list[TableSpec]:
    """state info / state migrate (a model.StateInfo)."""
    behind = info.latest_version - info.schema_version
    version = f"{info.schema_version}" + (
        " (the latest)" if behind <= 0 else f" ({info.latest_version} is due: callplay state migrate)"
    )
    rows = [["backend", info.backend], ["where", info.location], ["schema version", version]]
    if info.migrated is not None:
        applied = ", ".join(str(v) for v in info.migrated)
        plural = "s" if len(info.migrated) > 1 else ""
        rows.append(["migrated", f"version{plural} {applied}" if applied else "nothing to do (up to date)"])
    labels = {"seen_callbacks": "callback keys"}
    rows += [[labels.get(table, table), str(n)] for table, n in info.counts.items()]
    return [TableSpec("Ledger", FIELD_VALUE, rows, ids=("where",))]


def _event_list(result: EventList) -> list[TableSpec]:
    return [events_table(result.events)]


def events_table(events: list[Event], title: str = "Events") -> TableSpec:
    return TableSpec(
        title,
        ["time", "type", "state", "control id", "detail"],
        [[e.time, e.type, e.state or "", e.control_id or "", e.summary()] for e in events],
        ids=("control id",),
        times=("time",),
    )


def _profile_view(view: ProfileView) -> list[TableSpec]:
    # Where each value came from, in a word; the file's path and the variables' names once, in the caption:
    # at 80 columns a URL beside them would not fit, and neither is ever split.
    rows, from_env = [], []
    for v in view.values:
        kind, _, where = v.source.partition(":")
        if kind == "env":
            from_env.append(f"{v.name}=${where}")
        shown = "file" if v.source == f"file:{view.source}" else (kind if kind == "env" else v.source)
        rows.append([v.name, "" if v.value is None else str(v.value), shown])
    caption = f"defined in {view.source}" + (" · default profile" if view.is_default else "")
    if from_env:
        caption += "\nfrom the environment: " + ", ".join(from_env)
    title = f"Profile {view.name} ({view.provider})"
    columns = ["setting", "value", "from"]
    return [TableSpec(title, columns, rows, caption=caption, ids=columns, keep_title=True)]


def _profile_list(result: ProfileList) -> list[TableSpec]:
    # The file's path once, in the caption, not on every row (80 columns, and a path is never split).
    rows = [
        [p.name, p.provider, "*" if p.is_default else "", "file" if p.source == result.config_path else p.source]
        for p in result.profiles
    ]
    columns = ["name", "provider", "default", "from"]
    if not all(p.valid for p in result.profiles):
        columns.append("problem")
        for row, p in zip(rows, result.profiles, strict=True):
            row.append(p.problem or "")
    if result.config_path:
        caption = f"config: {result.config_path}"
    else:
        caption = f"no config file at {result.looked_at}: the built-in demo profile is in use"
    return [TableSpec("Profiles", columns, rows, caption=caption)]


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
    return [TableSpec("Profile check", FIELD_VALUE, rows, ids=("read",))]


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
    """validate-audio's format: --format when given, else --output (jsonl: the report's envelope on one line, as
    the last line of every jsonl stream is); a UsageError names the bad one."""
    if fmt is None:
        if output not in OUTPUT_MODES:
            raise UsageError(
                f"unknown output format {output!r}",
                f"use --output {', '.join(OUTPUT_MODES[:-1])} or {OUTPUT_MODES[-1]}",
            )
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
    with reader_may_leave():
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
