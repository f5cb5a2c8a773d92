"""One verb on many calls: play, loop, stop, pause, resume and volume over a list of calls, and stop --all.

A run opens one session (profile, ledger, embedded emulator) per profile and runs its calls on a pool of
`concurrency` workers. Each worker has a provider of its own, so no SDK client (nor boto3 session, which is not
thread-safe) is shared between threads. One pacer spaces every request of the run, retries included, `rate` per
second apart (the provider's documented limit by default, from its facts), and one shared retry budget
(callplay.retry.SharedBudget) bounds the run's retries and holds it back while a provider asks (Retry-After).

Each call gets its own copy of the request with its own control ID, and is played by the code a single play
uses (callplay.core.play._play): the same ledger record, the same "unknown" record when the answer to a play is
lost, the same rule that a play is never sent twice. Every call's outcome is in the result, in the order the
calls were given; the ledger has each playback as always, and each failure as an event of type
`fanout-failed` (detail: the action, the profile and the error) on the call. `on_result` is called in the
caller's thread as each call finishes, for progress bars and streamed output.

Ctrl-C or SIGTERM: while a run goes, in the main thread, the signals are only noted (callplay.interrupts), and
the run takes one between outcomes, within POLL_S: raised wherever the main thread happened to be (the pool's
shutdown, say), a KeyboardInterrupt would lose what the run started. A KeyboardInterrupt raised by `on_result`
is taken the same way. Nothing more is sent, the requests in flight are let finish, and the result comes back
with `interrupted` set and the calls never sent failed as "interrupted" (exit 130); the caller may then stop
what was started with `stop_started(result)`.

`play_many(..., wait=WaitOptions(wait=True))` waits for the playbacks as `play --wait` does for one: one receiver
(callplay.core.callbacks.start_receiver) takes every playback's events, each call's outcome is then settled by
the single play's own rules (callplay.core.play._wait: finished, failed, the call ended, or "timeout" once
`timeout` has passed), and an interrupt (during the requests or the wait) stops every playback the run started
before the result comes back (`--rate 0`, NO_RATE_LIMIT: no pacing at all, only --concurrency).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, cast

from callplay import interrupts, retry
from callplay.config import resolve_profile
from callplay.core.callbacks import callback_url_for, start_receiver
from callplay.core.checks import check_request, check_verb, check_volume
from callplay.core.control import check_control, control_in, parse_volume, stop_in
from callplay.core.fanout_limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, NO_RATE_LIMIT, check_knobs
from callplay.core.play import WaitOptions, _dry_run, _play, _wait
from callplay.core.session import Session, session
from callplay.errors import CallplayError, Interrupted, UsageError
from callplay.ledger import Closeable, Ledger
from callplay.model import (
    TERMINAL_STATES,
    CallOutcome,
    ControlResult,
    Event,
    FanoutResult,
    Playback,
    PlaybackRecord,
    PlayRequest,
    mint_control_id,
    now_iso,
)
from callplay.providers import provider_class, provider_facts
from callplay.values import MAX_COUNT

if TYPE_CHECKING:
    from callplay.events.receiver import EventReceiver

log = logging.getLogger("callplay.fanout")

FAILED_EVENT = "fanout-failed"  # the ledger event a failed call of a run leaves
CONTROL_ACTIONS = ("stop", "pause", "resume", "volume")
POLL_S = 0.1  # how soon a run notices a signal while its requests are in flight or paced

OnResult = Callable[[CallOutcome], None]


# ------------------------------------------------------------------------------------------- entry points


def play_many(
    call_ids: Sequence[str],
    request: PlayRequest,
    *,
    profile: str | None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    on_result: OnResult | None = None,
    dry_run: bool = False,
    wait: WaitOptions | None = None,
    watcher: ManyWatcher | None = None,
) -> FanoutResult:
    """`request` played (or looped) on every call, each with its own control ID.

    With `wait.wait`, one receiver takes the events of every playback (each request's callback URL points at
    it), `watcher` is told of each event and of each call's end, and the result comes back once every playback
    has ended or `wait.timeout` has passed (the ones still going fail with code "timeout", exit 6). Ctrl-C or
    SIGTERM then stops every playback the run started before the result comes back, interrupted (exit 130)."""
    calls = _calls(call_ids)
    _check_knobs(concurrency, rate)
    waiting = wait is not None and wait.wait and not dry_run
    with session(profile) as s:
        # Once: what would fail every call fails before any is sent.
        check_request(s.provider, request, wait=waiting)
        action = "loop" if request.is_loop else "play"
        if dry_run:
            return _dry_runs(s, action, calls, request, on_result)
        if not waiting or wait is None:
            request.callback_url = callback_url_for(s, request.callback_url)
            tasks = [_play_task(call_id, _own_copy(request)) for call_id in calls]
            return _Run(s, action, concurrency, rate, on_result).run(tasks)
        receiver = start_receiver(s, request, wait.listen)  # points request.callback_url at itself
        # Signals only noted from here, and taken where the run can act on them: one that raised between the
        # requests and the wait (in the pool's shutdown, say) would leave every playback going (1 run in 40).
        with interrupts.deferred():
            try:
                tasks = [_play_task(call_id, _own_copy(request)) for call_id in calls]
                result = _Run(s, action, concurrency, rate, on_result).run(tasks)
                return _waited(s, result, receiver, wait.timeout, watcher, concurrency, rate)
            finally:
                receiver.stop()


def control_many(
    action: str,
    call_ids: Sequence[str],
    *,
    profile: str | None,
    control_id: str | None = None,
    level: str | None = None,
    relative: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    on_result: OnResult | None = None,
) -> FanoutResult:
    """stop, pause, resume or volume (`level`, as `callplay volume` takes it) on each call's playback: the one
    callplay started last on the call, as `callplay stop CALL` finds it."""
    if action not in CONTROL_ACTIONS:
        raise ValueError(f"unknown control action {action!r}")
    calls = _calls(call_ids)
    if control_id is not None and len(calls) > 1:
        raise UsageError("--control-id names one playback on one call", "give one call with --control-id, or drop it")
    _check_knobs(concurrency, rate)
    db, is_relative = 0.0, False
    if action == "volume":
        if level is None:
            raise UsageError("volume needs a level in dB", "e.g. callplay volume --calls-from calls.txt -6")
        db, is_relative = parse_volume(level, relative)
        if not is_relative:
            check_volume(db)  # before anything is sent: no call could take it
    with session(profile) as s:
        _check_control(s, action)

        def task(call_id: str) -> _Task:
            def do(ws: Session) -> CallOutcome:
                return _outcome(ws, _control_in(ws, action, call_id, control_id, db, is_relative))

            return _Task(call_id, control_id, do)

        return _Run(s, action, concurrency, rate, on_result).run([task(c) for c in calls])


def stop_all(
    *,
    profile: str | None,
    call_prefix: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    on_result: OnResult | None = None,
) -> FanoutResult:
    """Stop every playback callplay started that is not over (nor a dry run), from the ledger: of `profile`, or
    of every profile when it is None (at the end of an incident, everything callplay started), on calls whose ID
    starts with `call_prefix` if given. One session per profile; no playback at all is success."""
    _check_knobs(concurrency, rate)
    if profile is not None:
        profile = resolve_profile(profile).name  # an unknown name is exit 3, not "nothing to stop"
    records = _active_records(Ledger.default(), profile, call_prefix)
    result = _stop_records(records, concurrency=concurrency, rate=rate, on_result=on_result)
    if not records:
        where = f" with profile {profile}" if profile else ""
        prefix = f" on calls starting with {call_prefix!r}" if call_prefix else ""
        result.warnings.append(f"callplay has no playback to stop{where}{prefix}")
    return result


def stop_started(
    result: FanoutResult,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    on_result: OnResult | None = None,
) -> FanoutResult:
    """Stop what a run started and the ledger does not know to be over: its calls' playbacks that were accepted,
    that may have started (their answer lost), or that started as the run was interrupted."""
    _check_knobs(concurrency, rate)
    return _stop_records(_still_going(result), concurrency=concurrency, rate=rate, on_result=on_result)


def _still_going(result: FanoutResult) -> list[PlaybackRecord]:
    """The ledger's records of the playbacks `result` started that are not known to be over."""
    ledger = Ledger.default()
    return [r for r in (ledger.get(o.control_id) for o in result.results if o.control_id) if r and _active(r)]


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class _Task:
    """One call of a run: `do` sends its request with a worker's session and says how it went."""

    call_id: str
    control_id: str | None  # the playback it is about, when known before it runs
    do: Callable[[Session], CallOutcome]


class _Pacer:
    """Hands out send times `1 / rate` seconds apart (monotonic clock), to every worker of the run in turn, and
    none before the shared budget's Retry-After pause is over. With NO_RATE_LIMIT (--rate 0) every request may
    go at once: only the pool's size (--concurrency) and a Retry-After hold the run back."""

    def __init__(self, rate: float, budget: retry.SharedBudget, stop: threading.Event) -> None:
        self.interval = 1.0 / rate if rate != NO_RATE_LIMIT else 0.0
        self.budget = budget
        self.stop = stop
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> bool:
        """Block until this request's turn; False when the run was stopped meanwhile (send nothing)."""
        while not self.stop.is_set():
            with self._lock:
                now = time.monotonic()
                slot = max(now, self._next, self.budget.pause_until)
                self._next = slot + self.interval
            if slot > now and self.stop.wait(slot - now):
                return False
            if time.monotonic() >= self.budget.pause_until:  # a Retry-After that came meanwhile: wait it out too
                return True
        return False


class _Run:
    """The pool, the pacer and the shared budget of one run in one session, and the outcomes as they come."""

    def __init__(
        self, s: Session, action: str, concurrency: int, rate: float | None, on_result: OnResult | None
    ) -> None:
        self.s = s
        self.action = action
        self.concurrency = concurrency
        self.rate = provider_facts(s.provider.name).request_rate if rate is None else rate
        self.on_result = on_result
        self.stop = threading.Event()
        self.budget = retry.SharedBudget(0)
        self.pacer = _Pacer(self.rate, self.budget, self.stop)
        self.budget.pace = self._pace
        self.warnings: list[str] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[Session] = []
        self._finished: queue.SimpleQueue[Future[CallOutcome]] = queue.SimpleQueue()

    def run(self, tasks: Sequence[_Task]) -> FanoutResult:
        """Every task's outcome. A signal is only noted while the run goes (interrupts.deferred) and taken between
        outcomes: raised anywhere, in the pool's shutdown say, it would lose what the run started."""
        with interrupts.deferred():
            return self._run(tasks)

    def _run(self, tasks: Sequence[_Task]) -> FanoutResult:
        started = time.monotonic()
        self.budget.retries = retry.SharedBudget.for_calls(len(tasks)).retries
        outcomes: list[CallOutcome | None] = [None] * len(tasks)
        interrupted = False
        pool = ThreadPoolExecutor(max(1, min(self.concurrency, len(tasks))), thread_name_prefix="callplay-fanout")
        keep = _keep_open(self.s.ledger)
        try:
            futures = {pool.submit(self._one, task): i for i, task in enumerate(tasks)}
            for future in futures:
                future.add_done_callback(self._finished.put)
            try:
                self._collect(futures, outcomes, tasks)
            except KeyboardInterrupt:
                # Send nothing more; what is in flight finishes, so that the result says what was started.
                interrupted = True
                self.stop.set()
                for future in futures:
                    future.cancel()
                self._drain(futures, outcomes, tasks)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._close()
            keep.close()
        interrupted = interrupted or interrupts.pending()  # one noted after the last outcome came
        results = [o if o is not None else self._not_sent(t) for o, t in zip(outcomes, tasks, strict=True)]
        return FanoutResult(
            self.action,
            results,
            interrupted=interrupted,
            elapsed_s=round(time.monotonic() - started, 3),
            retries=self.budget.used,
            warnings=[*self.s.warnings, *self.warnings],
        )

    def _collect(
        self, futures: dict[Future[CallOutcome], int], outcomes: list[CallOutcome | None], tasks: Sequence[_Task]
    ) -> None:
        # Each future puts itself in self._finished when done: one look per outcome (concurrent.futures.wait
        # would look at every future still going each time, quadratic in the calls), and a poll every POLL_S.
        left = outcomes.count(None)
        while left:
            try:
                future = self._finished.get(timeout=POLL_S)
            except queue.Empty:
                future = None
            if future is not None and outcomes[i := futures[future]] is None:
                outcome = self._not_sent(tasks[i]) if future.cancelled() else future.result()
                outcomes[i] = outcome
                left -= 1
                if self.on_result is not None:
                    self.on_result(outcome)
            if not self.stop.is_set():
                interrupts.raise_if_pending()  # a signal noted meanwhile: taken here, between outcomes

    def _drain(
        self, futures: dict[Future[CallOutcome], int], outcomes: list[CallOutcome | None], tasks: Sequence[_Task]
    ) -> None:
        """After an interrupt: every outcome, however often Ctrl-C is pressed again (requests in flight end by
        their own timeouts; leaving before they do would lose what they started)."""
        while True:
            try:
                self._collect(futures, outcomes, tasks)
                return
            except KeyboardInterrupt:
                continue

    # -- in a worker --------------------------------------------------------------------------------------

    def _one(self, task: _Task) -> CallOutcome:
        if self.stop.is_set() or _pending() or not self.pacer.wait() or _pending():
            return self._not_sent(task)
        ws = self._session()
        with retry.shared_budget(self.budget):
            try:
                outcome = task.do(ws)
            except CallplayError as err:
                outcome = self._failed(ws, task, err)
            except Exception as exc:  # a bug met on one call must not lose the other calls' outcomes
                log.debug("unexpected error on call %s", task.call_id, exc_info=True)
                bug = CallplayError(f"unexpected error: {exc!r}", "run it with CALLPLAY_DEBUG=1 and report it")
                outcome = self._failed(ws, task, bug)
        if not outcome.ok:
            self._record(ws, outcome)
        return outcome

    def _pace(self) -> None:
        self.pacer.wait()

    def _session(self) -> Session:
        """This worker's session: the run's profile and ledger, and a provider (an SDK client) of its own."""
        ws: Session | None = getattr(self._local, "session", None)
        if ws is None:
            profile = self.s.profile
            ws = replace(self.s, provider=provider_class(profile.provider)(profile.settings, profile=profile.name))
            self._local.session = ws
            with self._lock:
                self._sessions.append(ws)
        return ws

    def _failed(self, ws: Session, task: _Task, err: CallplayError) -> CallOutcome:
        # The playback, when the ledger has it: a play whose answer was lost ("unknown"), a stop that failed.
        record = ws.ledger.get(task.control_id) if task.control_id else None
        return CallOutcome(
            task.call_id,
            ws.profile.name,
            ws.provider.name,
            ok=False,
            control_id=record.control_id if record else None,
            state=record.state if record else None,
            failure=err,
        )

    def _not_sent(self, task: _Task) -> CallOutcome:
        return CallOutcome(task.call_id, self.s.profile.name, self.s.provider.name, ok=False, failure=_not_sent())

    def _record(self, ws: Session, outcome: CallOutcome) -> None:
        failure: CallplayError = outcome.failure
        event = Event(
            type=FAILED_EVENT,
            time=now_iso(),
            provider=ws.provider.name,
            call_id=outcome.call_id,
            control_id=outcome.control_id,
            detail={
                "action": self.action,
                "profile": ws.profile.name,
                "exit_code": outcome.exit_code,
                **failure.to_dict(),
            },
        )
        try:
            ws.ledger.record_event(event)
        except Exception as exc:  # the outcome is still in the result; say the ledger lacks it
            with self._lock:
                if not self.warnings:
                    self.warnings.append(f"the ledger did not take every failure of this run: {exc}")

    def _close(self) -> None:
        for ws in self._sessions:
            try:
                ws.provider.close()
            except Exception:
                log.debug("closing a worker's provider failed", exc_info=True)


def _keep_open(ledger: Ledger) -> Closeable:
    """Something of the ledger's held for the whole run, idle: for SQLite, a connection.

    The ledger opens and closes a connection per write; closing the last connection to a WAL database
    checkpoints it and removes the WAL, some 10 ms of file I/O each time. With one connection held open, the
    workers' closes are not the last: measured with 1,000 plays, 16 workers and 20 ms of latency, the run takes
    2.7 s instead of 6.3 s. (PostgreSQL's ledger keeps its pooled connections open anyway: nothing.)
    """
    return ledger.keep_open()


# ------------------------------------------------------------------------------------------------ plays


def _own_copy(request: PlayRequest) -> PlayRequest:
    """The request for one call: its own control ID, and lists of its own (a provider may add to them)."""
    return replace(
        request,
        control_id=mint_control_id(),
        items=list(request.items),
        targets=list(request.targets),
        options=dict(request.options),
    )


def _play_task(call_id: str, request: PlayRequest) -> _Task:
    def do(ws: Session) -> CallOutcome:
        pb = _play(ws, call_id, request, None, None, None)  # no receiver, no wait, no watcher
        return CallOutcome(call_id, pb.profile, pb.provider, ok=True, control_id=pb.control_id, state=pb.state)

    return _Task(call_id, request.control_id, do)


def _dry_runs(
    s: Session, action: str, calls: Sequence[str], request: PlayRequest, on_result: OnResult | None
) -> FanoutResult:
    """What each call's play would send; nothing is sent, so no pool and no pacing."""
    results = []
    for call_id in calls:
        pb = _dry_run(s, call_id, _own_copy(request))
        results.append(CallOutcome(call_id, pb.profile, pb.provider, ok=True, control_id=pb.control_id, state=pb.state))
        if on_result is not None:
            on_result(results[-1])
    return FanoutResult(action, results, warnings=list(s.warnings))


# ------------------------------------------------------------------------------------------ waiting for many


class ManyWatcher(Protocol):
    """Who follows the wait of a run over many calls (the CLI's live counts), in the caller's thread: told once
    which calls' playbacks it waits for, then of each of their events, and of each call whose playback ended
    (its outcome settled: ok, or failed with the reason)."""

    def waiting(self, outcomes: Sequence[CallOutcome]) -> None: ...

    def event(self, e: Event) -> None: ...

    def ended(self, outcome: CallOutcome) -> None: ...

    def stopping(self, count: int) -> None:
        """Interrupted: the run now stops the `count` playbacks it started that are still going."""

    def stopped(self, outcome: CallOutcome) -> None:
        """One of those stops came back (ok, or failed with the reason)."""


class _Collected:
    """The events the run's receiver collected for one playback, handed to callplay.core.play._wait as if it had
    waited for them itself: one home for what an end event means (finished, failed, the call ended)."""

    def __init__(self, events: list[Event], finished: bool) -> None:
        self.result = (events, finished)

    def wait_for(self, *args: object, **kwargs: object) -> tuple[list[Event], bool]:
        return self.result


def _waited(
    s: Session,
    result: FanoutResult,
    receiver: EventReceiver,
    timeout: float | None,
    watcher: ManyWatcher | None,
    concurrency: int,
    rate: float | None,
) -> FanoutResult:
    """`result` once every playback it started has ended (or `timeout` passed); interrupted: each one stopped."""
    started = time.monotonic()
    if not result.interrupted:
        try:
            _wait_all(s, result, receiver, timeout, watcher)
        except KeyboardInterrupt:
            result.interrupted = True
    if result.interrupted:
        _stop_on_interrupt(result, concurrency, rate, watcher)
    result.elapsed_s = round(result.elapsed_s + time.monotonic() - started, 3)
    return result


def _wait_all(
    s: Session, result: FanoutResult, receiver: EventReceiver, timeout: float | None, watcher: ManyWatcher | None
) -> None:
    playing = {o.control_id: o for o in result.results if o.ok and o.control_id}
    if watcher is not None:
        watcher.waiting(list(playing.values()))

    def done(control_id: str, events: list[Event]) -> None:
        outcome = playing[control_id]
        _settle(s, outcome, events, True, timeout)
        if watcher is not None:
            watcher.ended(outcome)

    waited = receiver.wait_for_many(
        {cid: o.call_id for cid, o in playing.items()},
        timeout,
        provider=s.provider.name,
        on_event=watcher.event if watcher is not None else None,
        on_done=done,
    )
    for control_id, (events, finished) in waited.items():
        if not finished:  # still going when the timeout passed
            outcome = playing[control_id]
            _settle(s, outcome, events, False, timeout)
            if watcher is not None:
                watcher.ended(outcome)


def _settle(s: Session, outcome: CallOutcome, events: list[Event], finished: bool, timeout: float | None) -> None:
    """The outcome of a call whose wait is over, as `play --wait` on that call alone would end."""
    pb = Playback(outcome.control_id or "", outcome.call_id, outcome.profile, outcome.provider, outcome.state or "", [])
    _wait(s, pb, cast("EventReceiver", _Collected(events, finished)), timeout, None)
    outcome.state = pb.state
    outcome.ok = pb.exit_code == 0
    outcome.failure = pb.failure


def _stop_on_interrupt(result: FanoutResult, concurrency: int, rate: float | None, watcher: ManyWatcher | None) -> None:
    """Ctrl-C or SIGTERM while a run with --wait played: stop what it started, and say so on each call. The
    watcher shows the stops going out (they are paced at the run's rate: seconds, for many calls), so that a
    second Ctrl-C, which sends no more of them, is a choice and not a reflex."""
    interrupts.clear()  # the signal is taken: the stops must go out (a pending one would send nothing)
    records = _still_going(result)
    if watcher is not None:
        watcher.stopping(len(records))
    on_result = watcher.stopped if watcher is not None else None
    # By call: a run has one playback per call, and a stop of all media on a call names no control ID.
    run = _stop_records(records, concurrency=concurrency, rate=rate, on_result=on_result)
    stops = {o.call_id: o for o in run.results}
    for outcome in result.results:
        stop = stops.get(outcome.call_id)
        if stop is None or not outcome.control_id:  # never started, or over before the interrupt
            continue
        cid, call = outcome.control_id, outcome.call_id
        outcome.ok = False
        if stop.ok:
            outcome.state = stop.state
            outcome.failure = Interrupted("interrupted: stopped", "nothing is left playing")  # its ID has a column
        else:
            failure = stop.failure
            code = failure.code if failure is not None else None
            by_hand = f"stop it by hand: callplay stop {call} --control-id {cid}"
            if code == "interrupted":  # a second Ctrl-C: this stop was never sent
                outcome.failure = Interrupted("interrupted twice: not stopped", by_hand)
            elif code == "still_playing":  # a Chime Speak: no stop ends it, by hand or not
                outcome.state = stop.state
                outcome.failure = Interrupted(f"interrupted: {failure.message}", failure.hint, detail=failure.detail)
            else:
                reason = failure.message if failure is not None else "unknown"
                outcome.failure = Interrupted(f"interrupted, and stopping it failed: {reason}", by_hand)


# ------------------------------------------------------------------------------------------ control verbs


def _check_control(s: Session, action: str) -> None:
    """The provider can do `action` at all: checked once, before any call's request."""
    check_control(s, action)


def _control_in(
    s: Session, action: str, call_id: str, control_id: str | None, db: float, relative: bool
) -> ControlResult:
    """One call's stop, pause, resume or volume, as `callplay stop` etc. do it, in a worker's open session."""
    return control_in(s, action, call_id, control_id, db, relative)


def _stop_in(s: Session, call_id: str, control_id: str | None) -> ControlResult:
    return stop_in(s, call_id, control_id)


def _outcome(s: Session, result: ControlResult) -> CallOutcome:
    return CallOutcome(
        result.call_id,
        s.profile.name,
        s.provider.name,
        ok=result.exit_code == 0,
        control_id=result.control_id,
        state=result.state,
        failure=result.failure,
    )


# ------------------------------------------------------------------------------------ stopping from the ledger


def _active(record: PlaybackRecord) -> bool:
    return record.state not in TERMINAL_STATES and record.state != "dry-run"


def _active_records(ledger: Ledger, profile: str | None, call_prefix: str | None) -> list[PlaybackRecord]:
    """The ledger's playbacks that are not over (nor dry runs), oldest first."""
    newest_first = ledger.playbacks(profile=profile, active=True, limit=MAX_COUNT)
    return [r for r in reversed(newest_first) if not call_prefix or r.call_id.startswith(call_prefix)]


def _stop_records(
    records: Sequence[PlaybackRecord], *, concurrency: int, rate: float | None, on_result: OnResult | None
) -> FanoutResult:
    """Stop each playback, grouped by profile (one session and one run each, one after the other)."""
    started = time.monotonic()
    results: list[CallOutcome] = []
    warnings: list[str] = []
    interrupted, retries = False, 0
    for name, group in _by_profile(records).items():
        if interrupted:  # a run was interrupted: the other profiles' playbacks are not sent a stop either
            results.extend(_unsent(group, on_result))
            continue
        part = _stop_profile(name, group, concurrency, rate, on_result)
        results.extend(part.results)
        warnings.extend(w for w in part.warnings if w not in warnings)
        interrupted, retries = interrupted or part.interrupted, retries + part.retries
    elapsed = round(time.monotonic() - started, 3)
    return FanoutResult("stop", results, interrupted, elapsed, retries, warnings)


def _by_profile(records: Iterable[PlaybackRecord]) -> dict[str, list[PlaybackRecord]]:
    groups: dict[str, list[PlaybackRecord]] = {}
    for record in records:
        groups.setdefault(record.profile, []).append(record)
    return groups


def _stop_profile(
    name: str, records: list[PlaybackRecord], concurrency: int, rate: float | None, on_result: OnResult | None
) -> FanoutResult:
    try:
        with session(name) as s:
            check_verb(s.provider, "stop")
            if s.caps.stop_scope == "call":  # one stop ends every playback on the call: one per call is enough
                records = list({r.call_id: r for r in records}.values())
            tasks = [_stop_task(r) for r in records]
            return _Run(s, "stop", concurrency, rate, on_result).run(tasks)
    except CallplayError as err:  # the profile is gone from the config, or cannot stop: each playback says so
        results = [CallOutcome(r.call_id, r.profile, r.provider, False, r.control_id, r.state, err) for r in records]
        for outcome in results:
            if on_result is not None:
                on_result(outcome)
        return FanoutResult("stop", results)


def _stop_task(record: PlaybackRecord) -> _Task:
    def do(ws: Session) -> CallOutcome:
        return _outcome(ws, _stop_in(ws, record.call_id, record.control_id))

    return _Task(record.call_id, record.control_id, do)


def _unsent(records: Iterable[PlaybackRecord], on_result: OnResult | None) -> list[CallOutcome]:
    err = _not_sent()
    out = [CallOutcome(r.call_id, r.profile, r.provider, False, r.control_id, r.state, err) for r in records]
    for outcome in out:
        if on_result is not None:
            on_result(outcome)
    return out


def _pending() -> bool:
    """A signal arrived (noted by the CLI's handler), even if its KeyboardInterrupt has not reached the caller."""
    try:
        interrupts.raise_if_pending()
    except KeyboardInterrupt:
        return True
    return False


def _not_sent() -> Interrupted:
    return Interrupted("not sent: the run was interrupted first", "run the command again for the calls not sent")


# ------------------------------------------------------------------------------------------------ checks


def _calls(call_ids: Sequence[str]) -> list[str]:
    """Each call once, in order (the CLI's call list already is; a caller's list may not be)."""
    calls = list(dict.fromkeys(call_ids))
    if not calls:
        raise UsageError("no call given", "give CALL, --call ID (repeatable) or --calls-from FILE")
    return calls


def _check_knobs(concurrency: int, rate: float | None) -> None:
    check_knobs(concurrency, rate)


__all__ = [
    "DEFAULT_CONCURRENCY",
    "FAILED_EVENT",
    "MAX_CONCURRENCY",
    "control_many",
    "play_many",
    "stop_all",
    "stop_started",
]
