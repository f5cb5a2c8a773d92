"""One retry policy for every provider: which failures are retried, how often, how long callplay waits.

Each provider runs every SDK request through `run()`, with the SDK's own retries switched off, so that two
retry layers never multiply and every provider retries the same failures the same way. The SDK still does
the HTTP (and signs each attempt afresh); this module only decides whether to send it again.

What is retried depends on what the request does (`Kind`):

- every request, a play included: 429 and 503 (the provider says it did not carry the request out), and a
  connection that could not be opened (nothing was sent);
- idempotent requests only (stop, status, pause, resume, volume, uploads to a content-addressed key): also
  500, 502 and 504, read timeouts and connections dropped after the request was sent. Doing those twice is
  harmless.

A play is never sent again once the provider may have acted on it: a second play would play the prompt
twice. callplay exits 6 instead, and the hint says the playback may have started and how to stop it.

A run over many calls (callplay.core.fanout) shares one `SharedBudget` among its requests: a retry is taken
from it or not made, a Retry-After holds back every request of the run, and retries are paced with first
attempts. So a provider in trouble meets a bounded number of retries, not one set per call.

The numbers live in `RetryPolicy` (the defaults below); CALLPLAY_RETRIES and CALLPLAY_RETRY_* environment
variables override them (tests make the waits short that way), and ACS's `retries` profile setting sets its
number of retries. README "Retries" describes all of it.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Literal, TypeVar

from callplay.errors import ConfigError

T = TypeVar("T")
log = logging.getLogger("callplay.retry")

# The defaults, in one place (README "Retries" describes them).
RETRIES = 2  # retries after the first attempt: 3 attempts in all
BASE_S = 0.5  # first backoff wait; it doubles per retry
MAX_WAIT_S = 4.0  # cap on one backoff wait
RETRY_AFTER_MAX_S = 20.0  # a provider asking for a longer wait is not waited for: exit 6, "retry in N s"
BUDGET_S = 30.0  # no retry is started that would end more than this long after the request's first attempt
# A run over many calls: its retries in all, max(SHARED_MIN, SHARED_FRACTION of its calls). A provider failing 10 %
# of requests costs about 11 % in retries (some fail twice), so a quarter leaves room for that and a burst of 429s,
# while one failing most requests spends it within a few seconds and the rest fail at once (exit 6), unretried.
SHARED_MIN = 20
SHARED_FRACTION = 0.25
# Retries of one request within such a run: its budget bounds the load, so one request may try harder than alone
# (3 attempts at a 10 % error rate leave 1 call in 1000 failed; 6 leave 1 in a million). Never more than 0 when
# the policy says 0 (a profile's `retries = 0`).
SHARED_RETRIES = 5

# CALLPLAY_RETRIES is also how the environment sets ACS's `retries` setting (config's CALLPLAY_<SETTING>).
ENV = {
    "retries": "CALLPLAY_RETRIES",
    "base_s": "CALLPLAY_RETRY_BASE_S",
    "max_wait_s": "CALLPLAY_RETRY_MAX_WAIT_S",
    "retry_after_max_s": "CALLPLAY_RETRY_AFTER_MAX_S",
    "budget_s": "CALLPLAY_RETRY_BUDGET_S",
}

THROTTLED = frozenset({429, 503})  # the provider turned the request away: it was not carried out
SERVER_ERRORS = frozenset({500, 502, 504})  # it may have been carried out: retried for idempotent requests


class Kind(Enum):
    PLAY = "play"  # starts audio: sending it twice would play twice
    IDEMPOTENT = "idempotent"  # stop, pause, resume, volume (an absolute level), uploads: twice is harmless
    READ = "read"  # status: changes nothing (retried as IDEMPOTENT; its hint need not warn of effects)


Cause = Literal["throttled", "server_error", "refused", "dropped", "timeout"]
GaveUp = Literal["not_retryable", "may_have_acted", "attempts", "budget", "retry_after", "shared_budget"]


@dataclass(frozen=True)
class Failure:
    """What one failed attempt says about the request, as far as retrying goes."""

    cause: Cause
    status: int | None = None
    retry_after: float | None = None  # seconds the provider asked for (Retry-After)

    @property
    def maybe_sent(self) -> bool:
        """True when the provider may have acted on the request (so a play must not be sent again)."""
        return self.cause in ("server_error", "dropped", "timeout")


@dataclass(frozen=True)
class Request:
    """One provider request: what it does and on which call (for the hint when it fails)."""

    kind: Kind
    call_id: str | None  # None for requests about no call (Chime's prompt uploads)
    control_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How the retries of a request that failed in the end went; attached to the exception `run` raises."""

    request: Request
    failure: Failure | None  # None: a failure that is never retried (auth, 4xx, TLS, a bug)
    attempts: int
    gave_up: GaveUp


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = RETRIES
    base_s: float = BASE_S
    max_wait_s: float = MAX_WAIT_S
    retry_after_max_s: float = RETRY_AFTER_MAX_S
    budget_s: float = BUDGET_S

    def retryable(self, kind: Kind, failure: Failure | None) -> bool:
        if failure is None:
            return False
        return kind is not Kind.PLAY or not failure.maybe_sent

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1, 2, ...): exponential, capped, with equal jitter (half
        fixed, half random) so that clients throttled together do not come back together."""
        wait: float = min(self.max_wait_s, self.base_s * 2.0 ** (retry - 1))
        return wait / 2 + random.uniform(0, wait / 2)


def policy(*, retries: int | None = None) -> RetryPolicy:
    """The policy for this process: the defaults, then CALLPLAY_RETRY_* variables, then a profile's
    own `retries` (ACS), which wins over both."""
    values: dict[str, float] = {}
    for name, var in ENV.items():  # every variable is checked, so a typo in one is never silently ignored
        raw = os.environ.get(var, "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (name == "retries" and value != int(value)):
            kind = "a whole number" if name == "retries" else "a number of seconds"
            raise ConfigError(f"{var}={raw!r} is not valid", f"set {var} to {kind} (0 or more), or unset it")
        values[name] = value
    return RetryPolicy(
        retries=retries if retries is not None else int(values.get("retries", RETRIES)),
        base_s=values.get("base_s", BASE_S),
        max_wait_s=values.get("max_wait_s", MAX_WAIT_S),
        retry_after_max_s=values.get("retry_after_max_s", RETRY_AFTER_MAX_S),
        budget_s=values.get("budget_s", BUDGET_S),
    )


@dataclass
class SharedBudget:
    """The retries one run over many calls may make in all, and the pause a Retry-After asks of all its requests.

    Thread-safe: the run's workers share one. `pace`, when set, is called before every retry so that retries
    keep to the run's request rate like first attempts (the fan-out's pacer, which also waits out `pause_until`).
    """

    retries: int
    used: int = 0
    pause_until: float = 0.0  # time.monotonic(): no request of the run is sent before this
    pace: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def for_calls(cls, calls: int) -> SharedBudget:
        return cls(retries=max(SHARED_MIN, math.ceil(SHARED_FRACTION * calls)))

    def take(self) -> bool:
        """One retry from the budget: False when it is spent."""
        with self._lock:
            if self.used >= self.retries:
                return False
            self.used += 1
            return True

    def hold(self, seconds: float) -> None:
        """A provider asked for `seconds` of quiet (Retry-After): no request of the run goes out before then."""
        with self._lock:
            self.pause_until = max(self.pause_until, time.monotonic() + seconds)


_shared: ContextVar[SharedBudget | None] = ContextVar("callplay_shared_retry_budget", default=None)


@contextmanager
def shared_budget(budget: SharedBudget) -> Iterator[SharedBudget]:
    """Within this block (in this thread), every request's retries come from `budget`."""
    token = _shared.set(budget)
    try:
        yield budget
    finally:
        _shared.reset(token)


def run(
    send: Callable[[], T],
    *,
    request: Request,
    classify: Callable[[Exception], Failure | None],
    retry_policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`send()` until it succeeds or the policy gives up; then its last exception is raised as it was, with
    an `Outcome` attached (read it with `outcome(exc)`)."""
    shared = _shared.get()
    if shared is not None and retry_policy.retries > 0:
        retry_policy = replace(retry_policy, retries=max(retry_policy.retries, SHARED_RETRIES))
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return send()
        except Exception as exc:
            failure = classify(exc)
            wait, gave_up = _next_wait(retry_policy, request.kind, failure, attempt, time.monotonic() - started)
            if shared is not None:
                gave_up = _share(shared, retry_policy, failure, gave_up)
            if gave_up is not None:
                # On the exception itself: the providers map it to callplay's error, and the hint needs this.
                exc.callplay_retry = Outcome(request, failure, attempt, gave_up)  # type: ignore[attr-defined]
                raise
            log.debug(
                "%s request on %s: %s; retry %d in %.2f s", request.kind.value, request.call_id, failure, attempt, wait
            )
            sleep(wait)
            if shared is not None and shared.pace is not None:
                shared.pace()


def _share(shared: SharedBudget, p: RetryPolicy, failure: Failure | None, gave_up: GaveUp | None) -> GaveUp | None:
    """The run's part in a retry: a Retry-After holds back all its requests; a retry must come from its budget."""
    if failure is not None and failure.retry_after is not None:
        shared.hold(min(failure.retry_after, p.retry_after_max_s))
    if gave_up is None and not shared.take():
        return "shared_budget"
    return gave_up


def _next_wait(
    p: RetryPolicy, kind: Kind, failure: Failure | None, attempt: int, elapsed: float
) -> tuple[float, GaveUp | None]:
    """(seconds to wait before the next attempt, None) or (0, why callplay gives up)."""
    if failure is None:
        return 0.0, "not_retryable"
    if not p.retryable(kind, failure):
        return 0.0, "may_have_acted"
    if attempt > p.retries:
        return 0.0, "attempts"
    wait = p.backoff(attempt)
    if failure.retry_after is not None:
        if failure.retry_after > p.retry_after_max_s:
            return 0.0, "retry_after"
        wait = max(wait, failure.retry_after)  # honoured: never sooner than the provider asked
    if elapsed + wait > p.budget_s:
        return 0.0, "budget"
    return wait, None


def outcome(exc: BaseException) -> Outcome | None:
    """The retry outcome `run` attached to a request's final exception, if it came from `run`."""
    found = getattr(exc, "callplay_retry", None)
    return found if isinstance(found, Outcome) else None


# ----------------------------------------------------------------------------------- messages and hints


def retry_after_of(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def status_failure(status: int | None, retry_after: str | None = None) -> Failure | None:
    """The Failure an HTTP status means, or None for statuses that are never retried (4xx but 429)."""
    if status in THROTTLED:
        return Failure("throttled", status, retry_after_of(retry_after))
    if status in SERVER_ERRORS:
        return Failure("server_error", status, retry_after_of(retry_after))
    return None


def transport_failure(exc: BaseException) -> Failure | None:
    """A network failure, read from the exception's chain (requests, urllib3, http.client, socket).

    A connection that was never opened is `refused` (nothing was sent); a read timeout is `timeout` and a
    connection closed or reset once the request was on its way is `dropped` (the provider may have acted).
    TLS failures and unknown hosts are None: a retry would fail the same way.
    """
    import http.client
    import socket
    import ssl

    from urllib3 import exceptions as u3

    wrapped = list(chain(exc))
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError | u3.SSLError | u3.NameResolutionError) for e in wrapped):
        return None
    if any(isinstance(e, socket.gaierror) for e in wrapped):
        return None
    # Checked first: a connect timeout's chain also holds a TimeoutError.
    if any(
        isinstance(e, u3.ConnectTimeoutError | ConnectionRefusedError) or _named(e, "ConnectTimeout") for e in wrapped
    ):
        return Failure("refused")
    if any(isinstance(e, u3.ReadTimeoutError | TimeoutError) or _named(e, "ReadTimeout") for e in wrapped):
        return Failure("timeout")
    dropped = (
        u3.ProtocolError,
        http.client.HTTPException,
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
    )
    if any(isinstance(e, dropped) or _named(e, "ChunkedEncodingError") for e in wrapped):
        return Failure("dropped")
    return None


def _named(exc: BaseException, name: str) -> bool:
    """`requests`' own classes by name, so this module does not import requests for providers without it."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: causes, contexts, urllib3's `reason`, requests' first arg,
    azure-core's `inner_exception`."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        wrapped: list[object] = [e.__cause__, e.__context__, getattr(e, "reason", None)]
        wrapped.append(getattr(e, "inner_exception", None))
        wrapped.extend(a for a in e.args[:2])
        todo.extend(w for w in wrapped if isinstance(w, BaseException))


# How an unavailable error's hint begins when the play may have reached the provider (the core records such a
# playback as "unknown", so that `callplay stop CALL` finds it).
MAY_HAVE_STARTED = "the playback may have started"


def hint(exc: BaseException, fallback: str) -> str:
    """The hint for a request that failed as unavailable: when to retry, or that it may have been carried out
    and what to check; `fallback` when the retries say nothing more specific."""
    found = outcome(exc)
    if found is None or found.failure is None:
        return fallback
    failure, req = found.failure, found.request
    if failure.maybe_sent and req.kind is Kind.PLAY and req.call_id:
        stop = f"callplay stop {req.call_id}" + (f" --control-id {req.control_id}" if req.control_id else "")
        return (
            f"{MAY_HAVE_STARTED} (callplay did not send it again): check with "
            f"`callplay stream-status {req.call_id}`; stop it with `{stop}`"
        )
    if found.gave_up == "shared_budget":
        return (
            "this run's retries are spent (the provider failed many of its requests): run the failed calls again later"
        )
    if failure.retry_after is not None:
        return f"retry in {math.ceil(failure.retry_after)} s"
    if failure.maybe_sent and req.kind is Kind.IDEMPOTENT and req.call_id:
        return f"the request may have been carried out: check with `callplay stream-status {req.call_id}`"
    return fallback


def attempts_note(exc: BaseException) -> str:
    """', after 3 attempts' for a message, when the request was sent more than once."""
    found = outcome(exc)
    return f", after {found.attempts} attempts" if found is not None and found.attempts > 1 else ""
