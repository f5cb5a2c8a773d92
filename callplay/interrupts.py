"""Whether SIGINT or SIGTERM arrived during this command, for code that must not miss one.

The CLI's signal handler raises KeyboardInterrupt, but Python drops an exception raised while it runs certain
callbacks (an import's, for one), so an interrupt can vanish: a `play --wait` then played to its end and exited
0 in about 1 of 50 trials. The handler also notes the signal here, and the core asks at the points where it
would otherwise carry on (after the provider accepted the play, after the wait).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

_pending = threading.Event()


def note() -> None:
    _pending.set()


def clear() -> None:
    _pending.clear()


def raise_if_pending() -> None:
    """Raise the KeyboardInterrupt that a signal handler raised where it was lost."""
    if _pending.is_set():
        raise KeyboardInterrupt


def pending() -> bool:
    return _pending.is_set()


def _note_only(signum: int, frame: object) -> None:
    note()


@contextmanager
def handled_by(handler: Callable[[int, object], None]) -> Iterator[None]:
    """SIGINT and SIGTERM go to `handler` for the block; the previous handlers are back afterwards. In the main
    thread only (signals are not ours to take elsewhere). A signal ignored by whoever started us (a background
    job in a script, nohup) stays ignored. The handlers to put back are read before any is replaced: a signal
    between installing one handler and noting the one it replaced must not leave ours installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    taken = [signum for signum, handler in previous.items() if handler is not signal.SIG_IGN]
    try:
        for signum in taken:
            signal.signal(signum, handler)
        yield
    finally:
        for signum in taken:
            before = previous[signum]
            signal.signal(signum, signal.SIG_DFL if before is None else before)


def deferred() -> AbstractContextManager[None]:
    """SIGINT and SIGTERM are only noted (pending()) for the block, not raised: for a loop that polls, such as
    a service's. A KeyboardInterrupt raised into an import is turned into other errors or lost (pydantic-core
    reports it as a SchemaError; in about 1 start of 50 a listener signalled as it came up exited 1 or 130)."""
    return handled_by(_note_only)
