"""The only module that imports rich: tables on a terminal, one JSON envelope with --output json.

Data goes to stdout, everything else (warnings, errors, progress, live event rows) to stderr. Colour and
prompts are off when stdout is not a terminal or NO_COLOR is set.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol

from callplay.errors import CallplayError
from callplay.model import TableSpec

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# rich is imported only where a table or a progress bar is drawn: JSON, JUnit and GitHub output (what CI
# runs) skip its ~50 ms import.

OutputMode = Literal["table", "json"]
ENVELOPE_VERSION = 1


class Renderable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    def to_tables(self) -> list[TableSpec]: ...


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


def _table(spec: TableSpec) -> Table:
    from rich.table import Table

    table = Table(title=spec.title, caption=spec.caption, title_justify="left", caption_justify="left")
    for col in spec.columns:
        table.add_column(col, overflow="fold")
    for row in spec.rows:
        table.add_row(*row)
    return table


def render(
    command: str, result: Renderable, mode: OutputMode, *, ok: bool = True, error: CallplayError | None = None
) -> None:
    if mode == "json":
        print(json.dumps(envelope(command, ok, result.to_dict(), error), default=str))
        return
    console = stdout_console()
    for spec in result.to_tables():
        console.print(_table(spec))


def render_error(command: str, err: CallplayError, mode: OutputMode, data: Any = None) -> None:
    """One line with the message, one with the hint, on stderr; the envelope too on stdout in JSON mode."""
    if mode == "json":
        print(json.dumps(envelope(command, False, data, err), default=str))
    line = f"error: {err.message}"
    if err.hint:
        line += f"\nhint: {err.hint}"
    print(line, file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def info(message: str) -> None:
    """Progress notes for a person; silent in scripts that capture stderr do not rely on them."""
    print(message, file=sys.stderr)


def event_row(cells: list[str]) -> None:
    """A live row (events listen, play --wait) on stderr in table mode; tab-separated, one per line."""
    print("\t".join(cells), file=sys.stderr, flush=True)


def json_line(obj: dict[str, Any]) -> None:
    """A live JSON line on stdout (events listen -o json): one event per line, for jq and friends."""
    print(json.dumps(obj, default=str), flush=True)


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


def listening_banner(urls: dict[str, str]) -> None:
    lines = ["listening for provider callbacks (Ctrl-C to stop):"]
    lines += [f"  {provider:<10} {url}" for provider, url in urls.items()]
    print("\n".join(lines), file=sys.stderr, flush=True)


def live_event_printer(mode: OutputMode) -> Any:
    """A callback printing each event as it arrives: a JSON envelope per line, or a tab-separated row."""
    header_done = False

    def emit(event: Any) -> None:
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
        print("\t".join(cells), flush=True)

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
