"""Whether SIGINT or SIGTERM arrived during this command, for code that must not miss one.

The CLI's signal handler raises KeyboardInterrupt, but Python drops an exception raised while it runs certain
callbacks (an import's, for one), so an interrupt can vanish: a `play --wait` then played to its end and exited
0 in about 1 of 50 trials. The handler also notes the signal here, and the core asks at the points where it
would otherwise carry on (after the provider accepted the play, after the wait).
"""

from __future__ import annotations

import threading

_pending = threading.Event()


def note() -> None:
    _pending.set()


def clear() -> None:
    _pending.clear()


def raise_if_pending() -> None:
    """Raise the KeyboardInterrupt that a signal handler raised where it was lost."""
    if _pending.is_set():
        raise KeyboardInterrupt
