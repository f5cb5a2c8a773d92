"""What `play --wait` and `loop --wait` show while they wait: the renderers of callplay.core.play.PlayWatcher.

The CLI opens `LiveWait.watching()` around its one call to the core; the watcher it yields depends on --output
and on where stderr goes:

- table, stderr a terminal: a rich Live display on stderr: the control ID, call and profile, a row per event
  (local time, event, state, detail) and a footer counting the seconds waited. Rows stay on screen after the
  end; free text (the detail) is cut at the terminal's width, never an ID.
- table, stderr not a terminal: plain lines on stderr, flushed (`accepted cp-... on CALL (profile, provider)`,
  then `HH:MM:SS  EVENT  STATE  DETAIL`).
- json: the single envelope at the end, as ever; the Live display on stderr only when stderr is a terminal.
- jsonl: one JSON object per line on stdout, flushed as it happens, and nothing live on stderr:
      {"version": 1, "command": "play", "kind": "accepted", "data": {the playback}}
      {"version": 1, "command": "play", "kind": "event", "data": {the event}}          (one per event)
      {"version": 1, "command": "play", "kind": "result", "ok": ..., "data": ..., "error": ...}
  The last line is the -o json envelope with `"kind": "result"` added, so that every line names its kind and a
  script dispatches on that one key. It is the only line when the play fails before the provider accepted it,
  and for a command that streams nothing (`events listen -o jsonl` streams `ready` and `event` lines).

When the Live display and the final tables share one terminal (stderr and stdout the same tty), the final
Playback table leaves out the events the live rows already show (`LiveWait.table_view`); JSON keeps them all.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from callplay import output as out
from callplay.redact import mask_url_secrets

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from callplay.core.play import PlayWatcher
    from callplay.model import Event, Playback
    from callplay.output import OutputMode

REFRESH_PER_SECOND = 4  # the footer's seconds counter; events redraw at once
EVENT_WIDTH = 18  # plain lines: room for the longest event names (ACTION_SUCCESSFUL) before the state
STATE_WIDTH = 9  # ... and for the longest state (canceled, stopping)
LIVE_CHROME_LINES = 4  # the Live display's header, column titles, "earlier" line and footer


class LiveWait:
    """One command's live view: the watcher for its output mode, and what the final tables then leave out."""

    def __init__(self, command: str, mode: OutputMode) -> None:
        self.command = command
        self.mode = mode
        self._rows: _LiveRows | None = None

    @contextmanager
    def watching(self, enabled: bool = True) -> Iterator[PlayWatcher | None]:
        """The watcher to hand the core (None: nothing to show), closed cleanly however the command ends."""
        if not enabled:
            yield None
            return
        if self.mode == "jsonl":
            yield _JsonLines(self.command)
            return
        console = out.stderr_console() if sys.stderr.isatty() else None  # rich only for a person to look at
        if console is not None and console.is_terminal and not console.is_dumb_terminal:
            self._rows = _LiveRows(console)
            try:
                yield self._rows
            finally:
                self._rows.close()
            return
        yield _PlainLines() if self.mode == "table" else None

    def table_view(self, result: Any) -> Any:
        """`result` as the final tables show it: without the events the live rows left on the same terminal."""
        rows = self._rows
        if rows is None or not rows.shown or not _same_terminal(sys.stdout, sys.stderr):
            return result
        if dataclasses.is_dataclass(result) and not isinstance(result, type) and hasattr(result, "events"):
            return dataclasses.replace(result, events=[])
        return result


# ---------------------------------------------------------------------------------------------- watchers


class _Lines:
    """A watcher that writes lines: once its reader has gone (`| head -1`), it goes quiet and the wait goes on.
    An error here must never reach the core mid-wait: it would end the command and leave the audio playing."""

    def __init__(self) -> None:
        self.closed = False

    def _write(self, line: Callable[[], None]) -> None:
        if self.closed:
            return
        try:
            line()
        except (OSError, ValueError):  # a closed pipe, or a closed stream
            self.closed = True


class _JsonLines(_Lines):
    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def accepted(self, pb: Playback) -> None:
        self._write(lambda: out.stream_line(self.command, "accepted", pb.to_dict()))

    def event(self, e: Event) -> None:
        self._write(lambda: out.stream_line(self.command, "event", e.to_dict()))


class _PlainLines(_Lines):
    """For a log file or a pipe: one flushed line per step, aligned, no colour, nothing redrawn."""

    def accepted(self, pb: Playback) -> None:
        self._write(lambda: _err_line(f"accepted {pb.control_id} on {pb.call_id} ({pb.profile}, {pb.provider})"))

    def event(self, e: Event) -> None:
        cells = f"{out.clock(e.time):<8}  {e.type:<{EVENT_WIDTH}}  {e.state or '-':<{STATE_WIDTH}}  {e.summary()}"
        self._write(lambda: _err_line(cells.rstrip()))


class _LiveRows:
    """The rich Live display on stderr, started once the provider has accepted the playback."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.pb: Playback | None = None
        self.rows: list[Event] = []
        self.started = time.monotonic()
        self.ended: float | None = None

    @property
    def shown(self) -> bool:
        return self.live is not None

    def accepted(self, pb: Playback) -> None:
        from rich.live import Live

        self.pb = pb
        self.started = time.monotonic()
        # stdout stays where it is: with -o json it may be a pipe, and what goes there is not the display's.
        self.live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=False,
            redirect_stdout=False,
        )
        self.live.start()

    def event(self, e: Event) -> None:
        self.rows.append(e)
        if self.live is not None:
            self.live.refresh()

    def close(self) -> None:
        if self.live is None or self.ended is not None:
            return
        self.ended = time.monotonic()
        with _signals_held():
            self.live.stop()  # draws the last frame (footer: "waited N s") and shows the cursor again

    def _render(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        pb = self.pb
        assert pb is not None  # the display starts in accepted()
        header = Text(no_wrap=True, overflow="ellipsis")  # the control ID comes first: whole, whatever is cut
        header.append(pb.control_id, style="bold")
        header.append(f"  call {pb.call_id}  profile {pb.profile} ({pb.provider})")
        room = max(self.console.height - LIVE_CHROME_LINES, 1)
        shown = self.rows[-room:]
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column()  # the detail: the column that gives way at 80 columns, each cell cut, never wrapped
        table.add_row(*(Text(title, style="bold") for title in ("time", "event", "state", "detail")))
        for e in shown:
            detail = Text(mask_url_secrets(e.summary()), no_wrap=True, overflow="ellipsis")
            table.add_row(out.clock(e.time), e.type, e.state or "-", detail)
        parts: list[RenderableType] = [header]
        if len(self.rows) > len(shown):
            parts.append(Text(f"... {len(self.rows) - len(shown)} earlier (callplay events list -c {pb.control_id})"))
        parts += [table, Text(self._footer(), style="dim", no_wrap=True, overflow="ellipsis")]
        if self.ended is not None:
            parts.append(Text())  # the last frame stays: a blank line between it and the result's tables
        return Group(*parts)

    def _footer(self) -> str:
        if self.ended is not None:
            return f"waited {self.ended - self.started:.0f} s"
        return f"waiting {time.monotonic() - self.started:.0f} s (Ctrl-C stops the playback)"


# ----------------------------------------------------------------------------------------------- helpers


def _err_line(text: str) -> None:
    print(mask_url_secrets(text), file=sys.stderr, flush=True)


def _same_terminal(a: Any, b: Any) -> bool:
    """Whether two streams are one terminal (a person sees both): then the Live rows sit above the tables."""
    try:
        fa, fb = a.fileno(), b.fileno()
        return os.isatty(fa) and os.isatty(fb) and os.path.samestat(os.fstat(fa), os.fstat(fb))
    except (AttributeError, OSError, ValueError):  # a stream with no descriptor (captured, closed)
        return False


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait while the display closes: an interrupt inside rich's stop would leave the cursor
    hidden and the last frame half drawn. A signal that came meanwhile is handled as usual right after."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
