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

A command over many calls shows its progress through `FanoutView` instead (see there): a progress bar on a
terminal, a line per failed call off one, and a `"kind": "call"` line per call with -o jsonl.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from callplay import output as out
from callplay.model import TERMINAL_STATES
from callplay.redact import mask_url_secrets

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from callplay.core.play import PlayWatcher
    from callplay.model import CallOutcome, Event, Playback
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


# ------------------------------------------------------------------------------------------- many calls


class FanoutView:
    """What a command over many calls (callplay.core.fanout) shows while it runs, by --output and by where stderr
    goes; `watching()` yields the watcher to hand the core (its `result` is the core's `on_result`), or None.

    - table or json, stderr a terminal: a progress bar on stderr (calls done of all, failed, calls/s, ETA), and
      with --wait a second bar for the wait: how many are playing, finished and failed, and the seconds waited.
      The last frame stays on screen; the result's tables (or the envelope) follow on stdout.
    - table, stderr not a terminal: a plain line on stderr per call that failed (`failed CALL (profile):
      reason`), and with --wait one line when the wait starts and one per change of a playback's state
      (`HH:MM:SS  STATE  CALL  CONTROL-ID  (N playing, N finished, N failed)`), each flushed.
    - json, stderr not a terminal: nothing until the envelope.
    - jsonl: one line per call on stdout as it finishes, then with --wait one per event, then the envelope:
          {"version": 1, "command": "play", "kind": "call", "data": {call_id, profile, provider, ok,
                                                                     control_id, state, error}}
          {"version": 1, "command": "play", "kind": "event", "data": {the event}}
          {"version": 1, "command": "play", "kind": "result", "ok": ..., "data": {"results": [...], ...}, ...}
    """

    def __init__(self, command: str, mode: OutputMode, total: int | None) -> None:
        self.command = command
        self.mode = mode
        self.total = total  # None: not known before the run (stop --all)

    @contextmanager
    def watching(self) -> Iterator[ManyWatcher | None]:
        if self.mode == "jsonl":
            yield _ManyJsonLines(self.command)
            return
        console = out.stderr_console() if sys.stderr.isatty() else None
        if console is not None and console.is_terminal and not console.is_dumb_terminal:
            bars = _ManyBars(console, self.command, self.total)
            try:
                yield bars
            finally:
                bars.close()
            return
        yield _ManyPlain() if self.mode == "table" else None


class ManyWatcher(_Lines):
    """The core's `on_result` (`result`) and callplay.core.fanout.ManyWatcher (the wait), keeping the counts."""

    def __init__(self) -> None:
        super().__init__()
        self.done = self.failed = 0
        self.waited: dict[str, str] = {}  # control ID -> its state, for the playbacks waited for
        self.ended_ok = self.ended_failed = 0
        self.stops_done = self.stops_failed = 0  # interrupted: the stops that came back, and those that failed

    def result(self, outcome: CallOutcome) -> None:
        self.done += 1
        self.failed += not outcome.ok

    def waiting(self, outcomes: Sequence[CallOutcome]) -> None:
        self.waited = {o.control_id: o.state or "" for o in outcomes if o.control_id}

    def event(self, e: Event) -> None:
        if e.control_id in self.waited and e.state:
            self.waited[e.control_id] = e.state

    def ended(self, outcome: CallOutcome) -> None:
        if outcome.ok:
            self.ended_ok += 1
        else:
            self.ended_failed += 1
        if outcome.control_id in self.waited and outcome.state:
            self.waited[outcome.control_id] = outcome.state

    def stopping(self, count: int) -> None:
        """Nothing to count: the stops' total is the display's to show (a bar's total, a line)."""

    def stopped(self, outcome: CallOutcome) -> None:
        self.stops_done += 1
        self.stops_failed += not outcome.ok

    @property
    def playing(self) -> int:
        return len(self.waited) - self.ended_ok - self.ended_failed

    def counts(self) -> str:
        return f"{self.playing} playing, {self.ended_ok} finished, {self.ended_failed} failed"


class _ManyJsonLines(ManyWatcher):
    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def result(self, outcome: CallOutcome) -> None:
        super().result(outcome)
        self._write(lambda: out.stream_line(self.command, "call", outcome.to_dict()))

    def event(self, e: Event) -> None:
        super().event(e)
        self._write(lambda: out.stream_line(self.command, "event", e.to_dict()))


class _ManyPlain(ManyWatcher):
    """For a log file or a pipe: what failed, and with --wait each change of state, one flushed line each."""

    def result(self, outcome: CallOutcome) -> None:
        super().result(outcome)
        if not outcome.ok:
            reason = outcome.failure.message if outcome.failure is not None else "failed"
            self._write(lambda: _err_line(f"failed {outcome.call_id} ({outcome.profile}): {reason}"))

    def waiting(self, outcomes: Sequence[CallOutcome]) -> None:
        super().waiting(outcomes)
        self._write(lambda: _err_line(f"waiting for {len(self.waited)} playbacks to end"))

    def event(self, e: Event) -> None:
        before = self.waited.get(e.control_id or "")
        super().event(e)
        # An end is told by ended(), once the counts include it.
        if e.control_id in self.waited and e.state and e.state != before and e.state not in TERMINAL_STATES:
            self._line(out.clock(e.time), e.state, e.call_id or "", e.control_id or "")

    def ended(self, outcome: CallOutcome) -> None:
        super().ended(outcome)
        now = time.strftime("%H:%M:%S")
        self._line(now, outcome.state or "-", outcome.call_id, outcome.control_id or "")
        if not outcome.ok:  # a failure (timeout, the call ended) says why
            reason = outcome.failure.message if outcome.failure is not None else "failed"
            self._write(lambda: _err_line(f"failed {outcome.call_id} ({outcome.profile}): {reason}"))

    def stopping(self, count: int) -> None:
        super().stopping(count)
        if count:
            self._write(lambda: _err_line(f"interrupted: stopping {count} playbacks ({AGAIN})"))

    def _line(self, clock: str, state: str, call_id: str, control_id: str) -> None:
        cells = f"{clock:<8}  {state:<{STATE_WIDTH}}  {call_id}  {control_id}  ({self.counts()})"
        self._write(lambda: _err_line(cells))


class _ManyBars(ManyWatcher):
    """rich progress bars on stderr: the requests, then (--wait) the playbacks' ends."""

    def __init__(self, console: Console, command: str, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        super().__init__()
        self.total = total
        self.started = time.monotonic()
        self.wait_started: float | None = None
        self.wait_task: Any = None
        self.closed_at: float | None = None
        self.sent_at: float | None = None
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=BAR_WIDTH),
            MofNCompleteColumn(),
            _info_column(self._info),
            console=console,
            refresh_per_second=REFRESH_PER_SECOND,
            redirect_stdout=False,  # stdout may be a pipe (-o json), and what goes there is not the display's
            redirect_stderr=False,
        )
        self.command = command
        self.sending: Any = None
        self.stop_task: Any = None
        self.interrupted_at: float | None = None

    def _start(self) -> None:
        """The bars appear with the first call's result: a run refused before it sends anything (a usage error,
        an unknown profile) leaves no empty bar above its error."""
        if self.sending is None:
            self.sending = self.progress.add_task(self.command, total=self.total)
            self.progress.start()

    def result(self, outcome: CallOutcome) -> None:
        super().result(outcome)
        self._start()
        self.progress.update(self.sending, completed=self.done)
        if self.done == self.total:
            self.sent_at = time.monotonic()  # the rate is of the requests: it stops when they are all sent

    def waiting(self, outcomes: Sequence[CallOutcome]) -> None:
        super().waiting(outcomes)
        self.wait_started = time.monotonic()
        self._start()
        if self.waited:
            self.wait_task = self.progress.add_task("waiting", total=len(self.waited))

    def ended(self, outcome: CallOutcome) -> None:
        super().ended(outcome)
        if self.wait_task is not None:
            self.progress.update(self.wait_task, completed=self.ended_ok + self.ended_failed)

    def stopping(self, count: int) -> None:
        super().stopping(count)
        self.interrupted_at = time.monotonic()  # the wait's clock stops
        if count:
            self._start()
            self.stop_task = self.progress.add_task("stopping", total=count)

    def stopped(self, outcome: CallOutcome) -> None:
        super().stopped(outcome)
        if self.stop_task is not None:
            self.progress.update(self.stop_task, completed=self.stops_done)

    def close(self) -> None:
        if self.closed_at is not None or self.sending is None:
            return
        self.closed_at = time.monotonic()
        with _signals_held():
            self.progress.stop()  # draws the last frame and shows the cursor again
            self.progress.console.print()  # a blank line between it and the result's tables

    def _info(self, task_id: Any) -> str:
        now = self.closed_at or time.monotonic()
        if task_id == self.stop_task:
            failed = f"{self.stops_failed} failed  " if self.stops_failed else ""
            return f"{failed}{AGAIN}" if self.closed_at is None else f"{failed}done"
        if task_id == self.wait_task:
            if self.interrupted_at is not None:  # the counts as they were: the stopping bar says what became of them
                waited = self.interrupted_at - (self.wait_started or self.interrupted_at)
                return f"interrupted after {waited:.0f} s: {self.playing} were playing"
            return f"{self.counts()}, {now - (self.wait_started or now):.0f} s"
        elapsed = max((self.sent_at or now) - self.started, 1e-6)
        rate = self.done / elapsed
        text = f"{self.failed} failed  {rate:.0f}/s"
        if self.total is not None and self.done < self.total and rate > 0 and self.closed_at is None:
            left = (self.total - self.done) / rate
            text += f"  ETA {int(left // 60)}:{int(left % 60):02d}"
        return text


BAR_WIDTH = 20  # the bar, the counts and the rest fit 80 columns
AGAIN = "Ctrl-C again quits, leaving the rest playing"  # while an interrupted run stops what it started


def _info_column(info: Callable[[Any], str]) -> Any:
    """A progress column whose text `info(task_id)` computes at each refresh (a rate and an ETA keep moving
    between results). Built here: rich is imported only once a bar is drawn."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class _Info(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(info(task.id), no_wrap=True, overflow="ellipsis")

    return _Info()


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
